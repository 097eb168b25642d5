/*
 * NAME
 *	dot_q23_avx2 - AVX2 dot products of Q2_K and Q3_K weight rows with
 *	Q8_K activations
 * DESIGN NOTES
 *	1. Both types hold 16 sub-blocks of 16 elements per super-block: byte
 *	   l of the 32-byte group g holds elements 128g + 32k + l in its bits
 *	   2k, 2k + 1 (k = 0..3), so one 32-byte load and a shift give the 32
 *	   elements of sub-blocks 8g + 2k and 8g + 2k + 1, which maddubs pairs
 *	   with 32 activation bytes (low half one sub-block, high half the
 *	   other). madd with the two scales as int16 (a shuffle puts scale s
 *	   in the low 128 bits, s + 1 in the high) gives int32 partial sums.
 *	2. Integers are exact, so isum equals the reference's whatever the
 *	   order; the float step is the reference's expression, operand for
 *	   operand (the file is built without contraction, -std=c17), so each
 *	   result is bitwise engine/ref/dot.c's (tests/unit/test_kernels.c).
 *	3. Q3_K's values are u - 4 with u = two low bits | third bit << 2 in
 *	   [0, 7]: maddubs takes u (unsigned), and the -4 comes back through
 *	   the Q8_K block sums: isum = sum_j sc_j dot_j(u) - 4 sum_j sc_j bsum_j.
 *	4. maddubs cannot saturate: |u| <= 7 and |a| <= 127 give 2*7*127.
 */
#include <immintrin.h>
#include <string.h>

#include "engine/kernels/kernels.h"

static inline __m256i load32(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* UNROLL - constant shifts and shuffle controls in the loops over k */
#define UNROLL _Pragma("GCC unroll 8")

/* hsum2 - the 8 lanes of a and of b summed, both at once (integers:
 * exact in any order) */
static inline void hsum2(__m256i a, __m256i b, int *sa, int *sb)
{
	__m256i t = _mm256_hadd_epi32(a, b);
	__m128i u = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));

	u = _mm_hadd_epi32(u, u);
	*sa = _mm_cvtsi128_si32(u);
	*sb = _mm_extract_epi32(u, 1);
}

/* pick16 - int16 lanes: byte s of each 128-bit half of v (the 16 scales
 * twice) in the low half, byte s + 1 in the high half, zero-extended */
static inline __m256i pick16(__m256i v, int s)
{
	__m256i ctl = _mm256_add_epi16(_mm256_set1_epi16((short)(0x8000 | s)),
				       _mm256_setr_epi64x(0, 0, 0x0001000100010001, 0x0001000100010001));
	return _mm256_shuffle_epi8(v, ctl);
}

static float dot_q2_K(int64_t n, const void *w, const void *a)
{
	const struct block_q2_K *x = w;
	const struct block_q8_K *y = a;
	const __m256i m3 = _mm256_set1_epi8(3);
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		__m128i sc = _mm_loadu_si128((const __m128i *)x[i].scales);
		__m128i mn = _mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(0x0F));
		__m256i ms = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mn), load32(y[i].bsums));
		__m256i lo = _mm256_broadcastsi128_si256(_mm_and_si128(sc, _mm_set1_epi8(0x0F)));
		__m256i acc = _mm256_setzero_si256();
		UNROLL for (int g = 0; g < 2; g++) {
			__m256i q = load32(x[i].qs + 32 * g);
			UNROLL for (int k = 0; k < 4; k++) {
				__m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
				__m256i p = _mm256_maddubs_epi16(v, load32(y[i].qs + 128 * g + 32 * k));
				acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pick16(lo, 8 * g + 2 * k)));
			}
		}
		int isum, summs;
		hsum2(acc, ms, &isum, &summs);
		float dall = y[i].d * _cvtsh_ss(x[i].d);
		float dmin = y[i].d * _cvtsh_ss(x[i].dmin);
		sum += dall * (float)isum - dmin * (float)summs;
	}
	return sum;
}

/* q3_scales - the 16 signed 6-bit scales of a Q3_K block, as int8 (the
 * reference's unpacking done on 32-bit words) */
static inline __m128i q3_scales(const uint8_t *s)
{
	uint32_t a[3];

	memcpy(a, s, 12);
	/* built in registers: a store and reload of the words would stall */
	__m128i v = _mm_setr_epi32((int)((a[0] & 0x0F0F0F0F) | ((a[2] & 0x03030303) << 4)),
				   (int)((a[1] & 0x0F0F0F0F) | (((a[2] >> 2) & 0x03030303) << 4)),
				   (int)(((a[0] >> 4) & 0x0F0F0F0F) | (((a[2] >> 4) & 0x03030303) << 4)),
				   (int)(((a[1] >> 4) & 0x0F0F0F0F) | (((a[2] >> 6) & 0x03030303) << 4)));
	return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

static float dot_q3_K(int64_t n, const void *w, const void *a)
{
	const struct block_q3_K *x = w;
	const struct block_q8_K *y = a;
	const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		__m256i sc16 = _mm256_cvtepi8_epi16(q3_scales(x[i].scales));	/* sc0..7 | sc8..15 */
		__m256i cs = _mm256_madd_epi16(sc16, load32(y[i].bsums));
		__m256i hm = load32(x[i].hmask), acc = _mm256_setzero_si256();
		/* the half of sc16 holding sub-blocks 8g..8g + 7, in both halves */
		__m256i sgs[2] = { _mm256_permute2x128_si256(sc16, sc16, 0x00),
				   _mm256_permute2x128_si256(sc16, sc16, 0x11) };
		UNROLL for (int g = 0; g < 2; g++) {
			__m256i sg = sgs[g];
			__m256i q = load32(x[i].qs + 32 * g);
			UNROLL for (int k = 0; k < 4; k++) {
				int j = 4 * g + k;
				__m256i h = _mm256_and_si256(_mm256_srli_epi16(hm, j), one);
				__m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3),
							    _mm256_slli_epi16(h, 2));
				__m256i p = _mm256_maddubs_epi16(u, load32(y[i].qs + 32 * j));
				/* int16 scale 2k in the low half, 2k + 1 in the high half */
				__m256i ctl = _mm256_add_epi16(_mm256_set1_epi16((short)(0x0100 * (4 * k + 1) + 4 * k)),
							       _mm256_setr_epi64x(0, 0, 0x0202020202020202,
										  0x0202020202020202));
				acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_shuffle_epi8(sg, ctl)));
			}
		}
		int isum, corr;
		hsum2(acc, cs, &isum, &corr);
		isum -= 4 * corr;	/* note 3 */
		sum += y[i].d * _cvtsh_ss(x[i].d) * (float)isum;
	}
	return sum;
}

/* eng_kernels_q23_avx2_fill - the Q2_K and Q3_K dots */
void eng_kernels_q23_avx2_fill(struct eng_kernels *k)
{
	k->vec_dot[GGML_TYPE_Q2_K] = dot_q2_K;
	k->vec_dot[GGML_TYPE_Q3_K] = dot_q3_K;
}
