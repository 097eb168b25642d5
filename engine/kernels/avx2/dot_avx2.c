/*
 * NAME
 *	dot_avx2 - AVX2/FMA/F16C dot products of weight rows with activations
 * DESIGN NOTES
 *	1. Integer types: per 32 elements, |x| (unsigned) times sign-adjusted y
 *	   with maddubs, pairs summed to int32 with madd, scaled in float with
 *	   one FMA per block into 8 lanes; the lanes are summed at the end in
 *	   a fixed order. Same blocks and scales as engine/ref/dot.c.
 *	2. maddubs saturates at int16: operands stay in range (|x| <= 127 and
 *	   |y| <= 127 give 2*127*127 = 32258; Q4_K 15*127*2; Q5_* 31*127*2;
 *	   Q6_K 63*127*2).
 *	3. Q6_K's offset -32 is applied through the Q8_K block sums:
 *	   sum((q - 32) y) = sum(q y) - 32 sum(y).
 *	4. dot4_*: one weight row against 4 activation rows (prompt
 *	   processing), decoding each weight block once for the 4. Every
 *	   column keeps its own accumulator and runs exactly the single-row
 *	   kernel's operations in the same order, so each result is bitwise
 *	   the vec_dot result: batching never changes a logit.
 */
#include <immintrin.h>
#include <string.h>

#include "engine/kernels/kernels.h"

/* hsum - lanes 0..7 summed in a fixed order */
static inline float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* dot_i8 - 8 int32 partial sums of x[0..32) * y[0..32) (signed bytes) */
static inline __m256i dot_i8(__m256i x, __m256i y)
{
	__m256i ax = _mm256_sign_epi8(x, x), sy = _mm256_sign_epi8(y, x);
	return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

static inline __m256i load32(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc);
	float s = hsum(acc);
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w, *y = a;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 vx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
		__m256 vy = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i)));
		acc = _mm256_fmadd_ps(vx, vy, acc);
	}
	float s = hsum(acc);
	for (; i < n; i++)
		s += _cvtsh_ss(x[i]) * _cvtsh_ss(y[i]);
	return s;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const uint16_t *x = w, *y = a;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i wx = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + i)));
		__m256i wy = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(y + i)));
		acc = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(wx, 16)),
				      _mm256_castsi256_ps(_mm256_slli_epi32(wy, 16)), acc);
	}
	float s = hsum(acc);
	for (; i < n; i++)
		s += ggml_bf16_to_fp32(x[i]) * ggml_bf16_to_fp32(y[i]);
	return s;
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	const struct block_q8_0 *x = w, *y = a;
	__m256 acc = _mm256_setzero_ps();

	for (int64_t i = 0; i < n / QK8_0; i++) {
		__m256 d = _mm256_set1_ps(_cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d));
		__m256i p = dot_i8(load32(x[i].qs), load32(y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	return hsum(acc);
}

/* nibbles - 32 bytes: low nibbles of q[0..16) then high nibbles */
static inline __m256i nibbles(const uint8_t *q)
{
	__m128i b = _mm_loadu_si128((const __m128i *)q);
	__m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	const struct block_q4_0 *x = w;
	const struct block_q8_0 *y = a;
	__m256 acc = _mm256_setzero_ps();

	for (int64_t i = 0; i < n / QK4_0; i++) {
		__m256 d = _mm256_set1_ps(_cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d));
		__m256i q = _mm256_sub_epi8(nibbles(x[i].qs), _mm256_set1_epi8(8));
		__m256i p = dot_i8(q, load32(y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	return hsum(acc);
}

/* bit4 - byte j is 0x10 where bit j of the 32-bit qh is set */
static inline __m256i bit4(const uint8_t qh_bytes[4])
{
	uint32_t qh;

	memcpy(&qh, qh_bytes, 4);
	/* byte j of the result looks at byte j/8 of qh, under mask 1 << (j % 8) */
	__m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
					_mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
							  0x0101010101010101LL, 0));
	__m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
	__m256i on = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_and_si256(on, _mm256_set1_epi8(0x10));
}

/* sum_u8_i8 - 8 int32 partial sums of unsigned x times signed y */
static inline __m256i sum_u8_i8(__m256i x, __m256i y)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	const struct block_q4_1 *x = w;
	const struct block_q8_1 *y = a;
	__m256 acc = _mm256_setzero_ps();
	float summ = 0.0f;

	for (int64_t i = 0; i < n / QK4_1; i++) {
		__m256 d = _mm256_set1_ps(_cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d));
		__m256i p = sum_u8_i8(nibbles(x[i].qs), load32(y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
		summ += _cvtsh_ss(x[i].m) * _cvtsh_ss(y[i].s);
	}
	return hsum(acc) + summ;
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	const struct block_q5_0 *x = w;
	const struct block_q8_0 *y = a;
	__m256 acc = _mm256_setzero_ps();

	for (int64_t i = 0; i < n / QK5_0; i++) {
		__m256 d = _mm256_set1_ps(_cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d));
		__m256i q = _mm256_or_si256(nibbles(x[i].qs), bit4(x[i].qh));
		__m256i p = dot_i8(_mm256_sub_epi8(q, _mm256_set1_epi8(16)), load32(y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	return hsum(acc);
}

static float dot_q5_1(int64_t n, const void *w, const void *a)
{
	const struct block_q5_1 *x = w;
	const struct block_q8_1 *y = a;
	__m256 acc = _mm256_setzero_ps();
	float summ = 0.0f;

	for (int64_t i = 0; i < n / QK5_1; i++) {
		__m256 d = _mm256_set1_ps(_cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d));
		__m256i q = _mm256_or_si256(nibbles(x[i].qs), bit4(x[i].qh));
		__m256i p = sum_u8_i8(q, load32(y[i].qs));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
		summ += _cvtsh_ss(x[i].m) * _cvtsh_ss(y[i].s);
	}
	return hsum(acc) + summ;
}

/* k_scales - the 8 scales and 8 mins of a Q4_K/Q5_K block */
static inline void k_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = q[j] & 63;
		mn[j] = q[j + 4] & 63;
		sc[j + 4] = (uint8_t)((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
		mn[j + 4] = (uint8_t)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
	}
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		k_scales(x[i].scales, sc, mn);
		int imin = 0;
		for (int j = 0; j < 8; j++)
			imin += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		__m256i acc = _mm256_setzero_si256();
		const uint8_t *q = x[i].qs;
		const int8_t *q8 = y[i].qs;
		for (int j = 0; j < 8; j += 2, q += 32, q8 += 64) {
			__m256i b = load32(q), m = _mm256_set1_epi8(0x0F);
			__m256i lo = _mm256_and_si256(b, m), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m);
			__m256i p0 = _mm256_maddubs_epi16(lo, load32(q8));
			__m256i p1 = _mm256_maddubs_epi16(hi, load32(q8 + 32));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[j])));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[j + 1])));
		}
		__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
		s = _mm_hadd_epi32(s, s);
		s = _mm_hadd_epi32(s, s);
		int isum = _mm_cvtsi128_si32(s);
		sum += y[i].d * _cvtsh_ss(x[i].d) * (float)isum -
		       y[i].d * _cvtsh_ss(x[i].dmin) * (float)imin;
	}
	return sum;
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	const struct block_q5_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		k_scales(x[i].scales, sc, mn);
		int imin = 0;
		for (int j = 0; j < 8; j++)
			imin += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		__m256i acc = _mm256_setzero_si256(), m = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
		__m256i qh = load32(x[i].qh);
		const uint8_t *q = x[i].qs;
		const int8_t *q8 = y[i].qs;
		for (int j = 0; j < 8; j += 2, q += 32, q8 += 64) {
			/* the fifth bit of element l of sub-block j is bit j of qh[l] */
			__m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, j), one);
			__m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, j + 1), one);
			__m256i b = load32(q);
			__m256i lo = _mm256_or_si256(_mm256_and_si256(b, m), _mm256_slli_epi16(h0, 4));
			__m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m),
						     _mm256_slli_epi16(h1, 4));
			__m256i p0 = _mm256_maddubs_epi16(lo, load32(q8));
			__m256i p1 = _mm256_maddubs_epi16(hi, load32(q8 + 32));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[j])));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[j + 1])));
		}
		__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
		s = _mm_hadd_epi32(s, s);
		s = _mm_hadd_epi32(s, s);
		int isum = _mm_cvtsi128_si32(s);
		sum += y[i].d * _cvtsh_ss(x[i].d) * (float)isum -
		       y[i].d * _cvtsh_ss(x[i].dmin) * (float)imin;
	}
	return sum;
}

static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *sc = x[i].scales;
		int ioff = 0;
		for (int j = 0; j < 16; j++)
			ioff += sc[j] * y[i].bsums[j];
		__m256i acc = _mm256_setzero_si256(), m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
		for (int h = 0; h < 2; h++) {
			__m256i qh = load32(x[i].qh + 32 * h);
			for (int k = 0; k < 4; k++) {
				__m256i ql = load32(x[i].ql + 64 * h + 32 * (k & 1));
				if (k >= 2)
					ql = _mm256_srli_epi16(ql, 4);
				__m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
				__m256i q = _mm256_or_si256(_mm256_and_si256(ql, m4), _mm256_slli_epi16(hi, 4));
				__m256i p = _mm256_maddubs_epi16(q, load32(y[i].qs + 128 * h + 32 * k));
				int s0 = sc[8 * h + 2 * k], s1 = sc[8 * h + 2 * k + 1];
				__m256i scv = _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
				acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scv));
			}
		}
		__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
		s = _mm_hadd_epi32(s, s);
		s = _mm_hadd_epi32(s, s);
		int isum = _mm_cvtsi128_si32(s) - 32 * ioff;	/* note 3 */
		sum += y[i].d * _cvtsh_ss(x[i].d) * (float)isum;
	}
	return sum;
}

/* DOT4 - a dot4 kernel from a per-block weight decode: WQ(xb) yields the
 * signed bytes of weight block xb (note 4) */
#define DOT4(name, wblock, QK, WQ)						\
static void name(int64_t n, const void *w, const void *a, size_t a_stride, float out[4]) \
{										\
	const struct wblock *x = w;						\
	const struct block_q8_0 *y[4];						\
	__m256 acc[4];								\
										\
	for (int j = 0; j < 4; j++) {						\
		y[j] = (const void *)((const uint8_t *)a + (size_t)j * a_stride); \
		acc[j] = _mm256_setzero_ps();					\
	}									\
	for (int64_t i = 0; i < n / QK; i++) {					\
		__m256i q = WQ(&x[i]);						\
		__m256i aq = _mm256_sign_epi8(q, q);				\
		float dx = _cvtsh_ss(x[i].d);					\
		for (int j = 0; j < 4; j++) {					\
			__m256 d = _mm256_set1_ps(dx * _cvtsh_ss(y[j][i].d));	\
			__m256i sy = _mm256_sign_epi8(load32(y[j][i].qs), q);	\
			__m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, sy), \
						      _mm256_set1_epi16(1));	\
			acc[j] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[j]); \
		}								\
	}									\
	for (int j = 0; j < 4; j++)						\
		out[j] = hsum(acc[j]);						\
}

static inline __m256i wq_q8_0(const struct block_q8_0 *b)
{
	return load32(b->qs);
}

static inline __m256i wq_q4_0(const struct block_q4_0 *b)
{
	return _mm256_sub_epi8(nibbles(b->qs), _mm256_set1_epi8(8));
}

static inline __m256i wq_q5_0(const struct block_q5_0 *b)
{
	return _mm256_sub_epi8(_mm256_or_si256(nibbles(b->qs), bit4(b->qh)), _mm256_set1_epi8(16));
}

DOT4(dot4_q8_0, block_q8_0, QK8_0, wq_q8_0)
DOT4(dot4_q4_0, block_q4_0, QK4_0, wq_q4_0)
DOT4(dot4_q5_0, block_q5_0, QK5_0, wq_q5_0)

/* hsum_i32 - the 8 lanes summed (integer: exact in any order) */
static inline int hsum_i32(__m256i acc)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
	s = _mm_hadd_epi32(s, s);
	s = _mm_hadd_epi32(s, s);
	return _mm_cvtsi128_si32(s);
}

/* dot4_q4_K - note 4: nibbles and scales decoded once per block for 4 columns */
static void dot4_q4_K(int64_t n, const void *w, const void *a, size_t a_stride, float out[4])
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y[4];
	float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };

	for (int c = 0; c < 4; c++)
		y[c] = (const void *)((const uint8_t *)a + (size_t)c * a_stride);
	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		__m256i lo[4], hi[4], acc[4];
		k_scales(x[i].scales, sc, mn);
		for (int j = 0; j < 4; j++) {
			__m256i b = load32(x[i].qs + 32 * j), m = _mm256_set1_epi8(0x0F);
			lo[j] = _mm256_and_si256(b, m);
			hi[j] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m);
		}
		for (int c = 0; c < 4; c++) {
			const struct block_q8_K *yc = &y[c][i];
			int imin = 0;
			for (int j = 0; j < 8; j++)
				imin += mn[j] * (yc->bsums[2 * j] + yc->bsums[2 * j + 1]);
			acc[c] = _mm256_setzero_si256();
			for (int j = 0; j < 4; j++) {
				__m256i p0 = _mm256_maddubs_epi16(lo[j], load32(yc->qs + 64 * j));
				__m256i p1 = _mm256_maddubs_epi16(hi[j], load32(yc->qs + 64 * j + 32));
				acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * j])));
				acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * j + 1])));
			}
			int isum = hsum_i32(acc[c]);
			sum[c] += yc->d * _cvtsh_ss(x[i].d) * (float)isum -
				  yc->d * _cvtsh_ss(x[i].dmin) * (float)imin;
		}
	}
	for (int c = 0; c < 4; c++)
		out[c] = sum[c];
}

/* dot4_q6_K - note 4: the 6-bit values and scales decoded once per block */
static void dot4_q6_K(int64_t n, const void *w, const void *a, size_t a_stride, float out[4])
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y[4];
	float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
	__m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);

	for (int c = 0; c < 4; c++)
		y[c] = (const void *)((const uint8_t *)a + (size_t)c * a_stride);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *sc = x[i].scales;
		__m256i q[8], scv[8];
		for (int h = 0; h < 2; h++) {
			__m256i qh = load32(x[i].qh + 32 * h);
			for (int k = 0; k < 4; k++) {
				__m256i ql = load32(x[i].ql + 64 * h + 32 * (k & 1));
				if (k >= 2)
					ql = _mm256_srli_epi16(ql, 4);
				__m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
				q[4 * h + k] = _mm256_or_si256(_mm256_and_si256(ql, m4), _mm256_slli_epi16(hb, 4));
				int s0 = sc[8 * h + 2 * k], s1 = sc[8 * h + 2 * k + 1];
				scv[4 * h + k] = _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
			}
		}
		for (int c = 0; c < 4; c++) {
			const struct block_q8_K *yc = &y[c][i];
			int ioff = 0;
			for (int j = 0; j < 16; j++)
				ioff += sc[j] * yc->bsums[j];
			__m256i acc = _mm256_setzero_si256();
			for (int j = 0; j < 8; j++) {
				__m256i p = _mm256_maddubs_epi16(q[j], load32(yc->qs + 32 * j));
				acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scv[j]));
			}
			int isum = hsum_i32(acc) - 32 * ioff;	/* note 3 */
			sum[c] += yc->d * _cvtsh_ss(x[i].d) * (float)isum;
		}
	}
	for (int c = 0; c < 4; c++)
		out[c] = sum[c];
}

/* axpy_f16 - y += x * w; mul then add, never fused (ref_axpy_f16 bitwise) */
static void axpy_f16(int64_t n, float w, const ggml_half *x, float *y)
{
	__m256 vw = _mm256_set1_ps(w);
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 p = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), vw);
		_mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), p));
	}
	for (; i < n; i++) {
		float p = _cvtsh_ss(x[i]) * w;
		y[i] += p;
	}
}

/* eng_kernels_avx2_fill - the types with an AVX2 kernel */
void eng_kernels_avx2_fill(struct eng_kernels *k)
{
	k->vec_dot[GGML_TYPE_F32] = dot_f32;
	k->vec_dot[GGML_TYPE_F16] = dot_f16;
	k->vec_dot[GGML_TYPE_BF16] = dot_bf16;
	k->vec_dot[GGML_TYPE_Q8_0] = dot_q8_0;
	k->vec_dot[GGML_TYPE_Q4_0] = dot_q4_0;
	k->vec_dot[GGML_TYPE_Q4_1] = dot_q4_1;
	k->vec_dot[GGML_TYPE_Q5_0] = dot_q5_0;
	k->vec_dot[GGML_TYPE_Q5_1] = dot_q5_1;
	k->vec_dot[GGML_TYPE_Q5_K] = dot_q5_K;
	k->vec_dot[GGML_TYPE_Q4_K] = dot_q4_K;
	k->vec_dot[GGML_TYPE_Q6_K] = dot_q6_K;
	k->vec_dot4[GGML_TYPE_Q8_0] = dot4_q8_0;
	k->vec_dot4[GGML_TYPE_Q4_0] = dot4_q4_0;
	k->vec_dot4[GGML_TYPE_Q5_0] = dot4_q5_0;
	k->vec_dot4[GGML_TYPE_Q4_K] = dot4_q4_K;
	k->vec_dot4[GGML_TYPE_Q6_K] = dot4_q6_K;
	k->axpy_f16 = axpy_f16;
}
