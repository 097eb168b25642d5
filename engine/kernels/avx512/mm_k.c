/*
 * NAME
 *	mm_k - AVX-512 VNNI matrix tiles for Q4_K, Q5_K and Q6_K weights
 * DESIGN NOTES
 *	1. As in mm_q8_0.c: 16 weight rows are repacked, one 256-element
 *	   super-block at a time, into byte columns (lane = row, unsigned
 *	   6-bit or 4-bit values), followed by the rows' integer sub-block
 *	   scales and float super-block scales. Each token then costs 64
 *	   vpdpbusd per super-block with its activation bytes broadcast.
 *	2. Integer part, exact: Q4_K (and Q5_K, its values 5 bits) isum = sum_j sc[j] * dot_j(q, a) over 8
 *	   sub-blocks of 32, imin = sum_j mn[j] * sum_j(a) (vpdpwssd on int16
 *	   pairs); Q6_K isum = sum_j sc[j] * (dot_j(q, a) - 32 * sum_j(a))
 *	   over 16 sub-blocks of 16, the -32 sums coming with the activations.
 *	3. Float part, one fixed chain per output over super-blocks i:
 *	   Q4_K acc = fma(d * da, isum, acc), acc = acc - (dmin * da) * imin
 *	   (fused); Q6_K acc = fma(d * da, isum, acc); then + bias. Lanes are
 *	   independent outputs and the super-block order is fixed, so a result
 *	   never depends on n_tok, the tile's other rows or the thread: one
 *	   token gives bitwise what a batch gives (test_kernels).
 *	4. Activation layout of a row of n elements (nb = n / 256): float
 *	   d[nb]; int32_t aux[nb][16]; int8_t qs[n], quantized bitwise as the
 *	   reference Q8_K. Q4_K's aux[g] (g < 4) holds the int16 pair (sum of sub-block
 *	   2g, sum of 2g + 1); Q6_K's aux[j] is -32 * (sum of sub-block j).
 *	5. Generation (one token) does not repay the repacking: one_q45_K
 *	   and one_q6_K take row pairs as loaded (rows p and p + 8 in the two
 *	   halves, the same unpacking as the repacking), dot them with the
 *	   token's 32 bytes broadcast to both halves and sum the partials per
 *	   row and sub-block with transposing reductions (reduce16, dots2).
 *	   The sub-block dots are the same exact integers, scales and the
 *	   float step (fin_q4_K, fin_q6_K) the same code, so one token gives
 *	   bitwise what the tile gives (test_kernels).
 *	6. Scales are decoded for all 16 rows at once: dword gathers of the
 *	   packed scale bytes (lane = row), then shifts and masks (scalar
 *	   decoding per row cost as much as the transposes).
 *	7. Between super-blocks a tile's float accumulators wait in acc, a
 *	   contiguous 4 KB scratch for a chunk of up to TCH tokens, and go
 *	   to out once at the end. Waiting in out itself, at the caller's
 *	   row stride (n_out floats, often a multiple of 4 KB), put every
 *	   token's 64 bytes into the same few L1 sets, so each super-block's
 *	   reload missed: the Q4_K and Q6_K tiles ran ~20% slower on 1024 to
 *	   2048 rows than on 16. The stored values are the same floats.
 */
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/avx512/tile16.h"

#define PK 81	/* vectors per repacked super-block: 64 columns + scales */
#define TCH 64	/* tokens per chunk of a tile's accumulators (note 7) */

static size_t act_bytes(int64_t n)
{
	return (size_t)(n / QK_K) * (4 + 16 * 4) + (size_t)n;
}

/* q8_K - the reference Q8_K quantization of 256 values, vectorized and
 * bitwise equal: max is the first value of largest magnitude, the products
 * x * (-127 / max) round to nearest even, clamped at 127 */
static inline float q8_K(const float *x, int8_t *qs, int16_t bsums[16])
{
	__m512 a = _mm512_setzero_ps();

	for (int j = 0; j < QK_K; j += 16)
		a = _mm512_max_ps(a, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
	float amax = _mm512_reduce_max_ps(a), max = 0.0f;
	if (amax == 0.0f) {
		memset(qs, 0, QK_K);
		memset(bsums, 0, 16 * sizeof *bsums);
		return 0.0f;
	}
	for (int j = 0; j < QK_K; j += 16) {
		__mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)),
						   _mm512_set1_ps(amax), _CMP_EQ_OQ);
		if (hit) {
			max = x[j + __builtin_ctz(hit)];
			break;
		}
	}
	float iscale = -127.0f / max;
	for (int j = 0; j < QK_K; j += 16) {
		__m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + j), _mm512_set1_ps(iscale)));
		q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
		bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(q);
		_mm_storeu_si128((__m128i *)(qs + j), _mm512_cvtepi32_epi8(q));
	}
	return 1.0f / iscale;
}

/* quantize - Q8_K super-blocks into the layout of note 4 */
static inline void quantize(const float *x, void *dst, int64_t n, int six)
{
	int64_t nb = n / QK_K;
	float *d = dst;
	int32_t *aux = (int32_t *)(d + nb);
	int8_t *qs = (int8_t *)(aux + 16 * nb);
	int16_t bs[16];

	for (int64_t i = 0; i < nb; i++) {
		int32_t *ai = aux + 16 * i;
		d[i] = q8_K(x + i * QK_K, qs + i * QK_K, bs);
		memset(ai, 0, 16 * sizeof *ai);
		for (int j = 0; j < 16 && six; j++)
			ai[j] = -32 * bs[j];
		for (int g = 0; g < 4 && !six; g++) {
			uint16_t s0 = (uint16_t)(bs[4 * g] + bs[4 * g + 1]);
			uint16_t s1 = (uint16_t)(bs[4 * g + 2] + bs[4 * g + 3]);
			ai[g] = (int32_t)((uint32_t)s0 | (uint32_t)s1 << 16);
		}
	}
}

static void quantize_q4_K(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 0);
}

static void quantize_q6_K(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 1);
}

/* ---------------------------------------------------------- repacking */

static inline __m512i pair32(const uint8_t *a, const uint8_t *b)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)a)),
				  _mm256_loadu_si256((const void *)b), 1);
}

/* scales_q45_K - from the 16 rows' block at p (row 0): sk[0..7] sub-block
 * scales, sk[8..11] min pairs (mn[2g] low, mn[2g + 1] high int16, for
 * vpdpwssd), sk[12] d, sk[13] dmin, lane = row (note 6) */
static inline __attribute__((always_inline)) void scales_q45_K(__m512i vo, const uint8_t *p, __m512i *sk)
{
	/* scales bytes 0-3, 4-7, 8-11 of each row as dword lanes */
	__m512i qa = _mm512_i32gather_epi32(vo, (const void *)(p + 4), 1);
	__m512i qb = _mm512_i32gather_epi32(vo, (const void *)(p + 8), 1);
	__m512i qc = _mm512_i32gather_epi32(vo, (const void *)(p + 12), 1);
	__m512i m6 = _mm512_set1_epi32(63), m4d = _mm512_set1_epi32(15), sc[8], mn[8];
	UNROLL for (int j = 0; j < 4; j++) {
		__m512i a = _mm512_srli_epi32(qa, 8 * j), b = _mm512_srli_epi32(qb, 8 * j);
		__m512i c = _mm512_srli_epi32(qc, 8 * j);
		sc[j] = _mm512_and_si512(a, m6);
		mn[j] = _mm512_and_si512(b, m6);
		sc[j + 4] = _mm512_or_si512(_mm512_and_si512(c, m4d),
					    _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(a, 6), _mm512_set1_epi32(3)), 4));
		mn[j + 4] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(c, 4), m4d),
					    _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(b, 6), _mm512_set1_epi32(3)), 4));
	}
	UNROLL for (int k = 0; k < 8; k++)
		sk[k] = sc[k];
	UNROLL for (int g = 0; g < 4; g++)
		sk[8 + g] = _mm512_or_si512(mn[2 * g], _mm512_slli_epi32(mn[2 * g + 1], 16));
	__m512i dd = _mm512_i32gather_epi32(vo, (const void *)p, 1);	/* d, dmin */
	sk[12] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)));
	sk[13] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
}

/* cols_q45_K - row pairs (p, p + 8) of the block at at, group g of 64
 * elements: lo[p] sub-block 2g, hi[p] sub-block 2g + 1, unsigned; Q5_K
 * (FIVE) adds bit 4 of element l of sub-block j from bit j of qh[l] */
static inline __attribute__((always_inline)) void
cols_q45_K(const int FIVE, const uint8_t *const r[16], size_t at, int g, __m512i lo[8], __m512i hi[8])
{
	__m512i m4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
	size_t o = at + (FIVE ? 48 : 16) + 32 * (size_t)g;

	UNROLL for (int p = 0; p < 8; p++) {
		__m512i v = pair32(r[p] + o, r[p + 8] + o);
		lo[p] = _mm512_and_si512(v, m4);
		hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
		if (FIVE) {
			__m512i h = pair32(r[p] + at + 16, r[p + 8] + at + 16);
			lo[p] = _mm512_or_si512(lo[p], _mm512_slli_epi16(
				_mm512_and_si512(_mm512_srli_epi16(h, 2 * g), one), 4));
			hi[p] = _mm512_or_si512(hi[p], _mm512_slli_epi16(
				_mm512_and_si512(_mm512_srli_epi16(h, 2 * g + 1), one), 4));
		}
	}
}

/* pack_q45_K - pk: 64 columns (sub-block j at 8j), then scales_q45_K:
 * 78 of the PK vectors */
static inline __attribute__((always_inline)) void
pack_q45_K(const int FIVE, const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t bs = FIVE ? sizeof(struct block_q5_K) : sizeof(struct block_q4_K);
	size_t at = (size_t)b * bs;

	for (size_t o = 0; o < bs; o += 64)
		prefetch_next(r, rb, at + o);
	for (int g = 0; g < 4; g++) {
		__m512i lo[8], hi[8];
		cols_q45_K(FIVE, r, at, g, lo, hi);
		transpose8(lo, pk + 16 * g);
		transpose8(hi, pk + 16 * g + 8);
	}
	scales_q45_K(vo, r[0] + at, pk + 64);
}

static void pack_q4_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	pack_q45_K(0, w, rb, nr, b, pk);
}

static void pack_q5_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	pack_q45_K(1, w, rb, nr, b, pk);
}

/* scales_q6_K - from the 16 rows' block at p (row 0): sk[0..15] int8
 * sub-block scales sign-extended, sk[16] d, lane = row (note 6) */
static inline __attribute__((always_inline)) void scales_q6_K(__m512i vo, const uint8_t *p, __m512i *sk)
{
	UNROLL for (int q = 0; q < 4; q++) {
		__m512i v = _mm512_i32gather_epi32(vo, (const void *)(p + 192 + 4 * q), 1);
		UNROLL for (int j = 0; j < 4; j++)
			sk[4 * q + j] = _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * j), 24);
	}
	/* the dword ending with d, so the gather stays inside the block */
	__m512i dd = _mm512_i32gather_epi32(vo, (const void *)(p + 206), 1);
	sk[16] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
}

/* cols_q6_K - row pairs (p, p + 8) of the block at at: elements
 * 128h + 32k + l, low 4 bits from ql, high 2 from qh (ggml), unsigned */
static inline __attribute__((always_inline)) void
cols_q6_K(const uint8_t *const r[16], size_t at, int h, int k, __m512i z[8])
{
	__m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
	size_t ol = at + 64 * (size_t)h + 32 * (size_t)(k & 1), oh = at + 128 + 32 * (size_t)h;

	UNROLL for (int p = 0; p < 8; p++) {
		__m512i ql = pair32(r[p] + ol, r[p + 8] + ol);
		if (k >= 2)
			ql = _mm512_srli_epi16(ql, 4);
		__m512i qh = _mm512_srli_epi16(pair32(r[p] + oh, r[p + 8] + oh), 2 * k);
		z[p] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(qh, m2), 4));
	}
}

/* pack_q6_K - pk: 64 columns (sub-block s of 16 at 4s), 16 scales, d */
static void pack_q6_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t at = (size_t)b * sizeof(struct block_q6_K);

	for (int k = 0; k < 4; k++)
		prefetch_next(r, rb, at + 64 * (size_t)k);
	for (int h = 0; h < 2; h++)
		UNROLL for (int k = 0; k < 4; k++) {
			__m512i z[8];
			cols_q6_K(r, at, h, k, z);
			transpose8(z, pk + 8 * (4 * h + k));
		}
	scales_q6_K(vo, r[0] + at, pk + 64);
}

/* ------------------------------------------------------------- compute */

/* struct tok - one token's row; its d, aux and qs sit at offsets shared by
 * all tokens (note 4), so 8 tokens take 8 registers, not 24 */
struct tok {
	const uint8_t *row;
	size_t od, oa, oq;	/* bytes to this super-block's d, aux[0], qs[0] */
};

static inline struct tok tok_at(const struct acts *A, uint32_t t, int64_t b)
{
	struct tok k;

	k.row = A->a + (size_t)t * A->stride;
	k.od = 4 * (size_t)b;
	k.oa = 4 * (size_t)A->nb + 64 * (size_t)b;
	k.oq = 68 * (size_t)A->nb + QK_K * (size_t)b;
	return k;
}

/* fin_q4_K, fin_q6_K - the float step of note 3 for one super-block, sk
 * its scales (scales_q45_K, scales_q6_K), da the token's scale: the one
 * sequence of float operations both paths share */
static inline __m512 fin_q4_K(const __m512i *sk, __m512i isum, __m512i imin, float da, __m512 f)
{
	__m512 d = _mm512_castsi512_ps(_mm512_load_si512(sk + 12));
	__m512 dm = _mm512_castsi512_ps(_mm512_load_si512(sk + 13));
	__m512 va = _mm512_set1_ps(da);

	f = _mm512_fmadd_ps(_mm512_mul_ps(d, va), _mm512_cvtepi32_ps(isum), f);
	return _mm512_fnmadd_ps(_mm512_mul_ps(dm, va), _mm512_cvtepi32_ps(imin), f);
}

static inline __m512 fin_q6_K(const __m512i *sk, __m512i isum, float da, __m512 f)
{
	__m512 d = _mm512_castsi512_ps(_mm512_load_si512(sk + 16));

	return _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(da)), _mm512_cvtepi32_ps(isum), f);
}

/* run_q4_K - TT tokens at their super-block (note 3) */
static inline __attribute__((always_inline)) void
run_q4_K(const int TT, const __m512i *pk, const struct tok *k, __m512 *f)
{
	__m512i isum[8], imin[8], dp[8];

	UNROLL for (int u = 0; u < TT; u++)
		isum[u] = imin[u] = _mm512_setzero_si512();
	for (int j = 0; j < 8; j++) {
		UNROLL for (int u = 0; u < TT; u++)
			dp[u] = _mm512_setzero_si512();
		UNROLL for (int c = 0; c < 8; c++) {
			__m512i w = _mm512_load_si512(pk + 8 * j + c);
			UNROLL for (int u = 0; u < TT; u++)
				dp[u] = _mm512_dpbusd_epi32(dp[u], w, _mm512_set1_epi32(ld32(k[u].row + k[u].oq + 32 * j + 4 * c)));
		}
		__m512i sc = _mm512_load_si512(pk + 64 + j);
		UNROLL for (int u = 0; u < TT; u++)
			isum[u] = _mm512_add_epi32(isum[u], _mm512_mullo_epi32(dp[u], sc));
	}
	for (int g = 0; g < 4; g++) {
		__m512i mn = _mm512_load_si512(pk + 72 + g);
		UNROLL for (int u = 0; u < TT; u++)
			imin[u] = _mm512_dpwssd_epi32(imin[u], mn, _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * g)));
	}
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin_q4_K(pk + 64, isum[u], imin[u], ldf(k[u].row + k[u].od), f[u]);
}

/* run_q6_K - TT tokens at their super-block (note 3) */
static inline __attribute__((always_inline)) void
run_q6_K(const int TT, const __m512i *pk, const struct tok *k, __m512 *f)
{
	__m512i isum[8], dp[8];

	UNROLL for (int u = 0; u < TT; u++)
		isum[u] = _mm512_setzero_si512();
	for (int s = 0; s < 16; s++) {
		UNROLL for (int u = 0; u < TT; u++)
			dp[u] = _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * s));
		UNROLL for (int c = 0; c < 4; c++) {
			__m512i w = _mm512_load_si512(pk + 4 * s + c);
			UNROLL for (int u = 0; u < TT; u++)
				dp[u] = _mm512_dpbusd_epi32(dp[u], w, _mm512_set1_epi32(ld32(k[u].row + k[u].oq + 16 * s + 4 * c)));
		}
		__m512i sc = _mm512_load_si512(pk + 64 + s);
		UNROLL for (int u = 0; u < TT; u++)
			isum[u] = _mm512_add_epi32(isum[u], _mm512_mullo_epi32(dp[u], sc));
	}
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin_q6_K(pk + 64, isum[u], ldf(k[u].row + k[u].od), f[u]);
}

/* -------------------------------------------------- one token (note 5) */

/* dots2 - per half (rows p, p + 8) dwords 0-3 and 4-7 are partials of two
 * sub-blocks of 16: lo gets lane r = dot of row r with the first, hi
 * with the second (reduce16's first two steps, then no final add) */
static inline void dots2(const __m512i acc[8], __m512i *lo, __m512i *hi)
{
	__m512i s[4], t[2];

	UNROLL for (int p = 0; p < 4; p++)
		s[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(acc[2 * p], acc[2 * p + 1]),
					_mm512_unpackhi_epi32(acc[2 * p], acc[2 * p + 1]));
	UNROLL for (int p = 0; p < 2; p++)
		t[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(s[2 * p], s[2 * p + 1]),
					_mm512_unpackhi_epi64(s[2 * p], s[2 * p + 1]));
	/* 128-bit units of t[0]: rows 0-3 first, 0-3 second, 8-11 first,
	 * 8-11 second; t[1] the same for rows 4-7 and 12-15 */
	*lo = _mm512_permutex2var_epi64(t[0], _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), t[1]);
	*hi = _mm512_permutex2var_epi64(t[0], _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2), t[1]);
}

/* one_q45_K - 16 rows times one token: per super-block and group of 64,
 * row pairs dotted with the token's 32 bytes broadcast to both halves,
 * reduce16 to lane = row, then the tile's integer and float steps */
static inline __attribute__((always_inline)) void
one_q45_K(const int FIVE, const uint8_t *w, size_t rb, int nr, const struct acts *A, float *out,
	  __mmask16 m, __m512 bias)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t bs = FIVE ? sizeof(struct block_q5_K) : sizeof(struct block_q4_K);
	__m512 f = _mm512_setzero_ps();

	for (int64_t b = 0; b < A->nb; b++) {
		struct tok k = tok_at(A, 0, b);
		const uint8_t *qa = k.row + k.oq;
		size_t at = (size_t)b * bs;
		alignas(64) __m512i sk[14];
		__m512i isum = _mm512_setzero_si512(), imin = _mm512_setzero_si512();
		for (size_t o = 0; o < bs; o += 64)
			prefetch_next(r, rb, at + o);
		scales_q45_K(vo, r[0] + at, sk);
		for (int g = 0; g < 4; g++) {
			__m512i lo[8], hi[8];
			__m512i alo = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(qa + 64 * g)));
			__m512i ahi = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(qa + 64 * g + 32)));
			cols_q45_K(FIVE, r, at, g, lo, hi);
			UNROLL for (int p = 0; p < 8; p++) {
				lo[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[p], alo);
				hi[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[p], ahi);
			}
			isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(reduce16(lo), sk[2 * g]));
			isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(reduce16(hi), sk[2 * g + 1]));
		}
		for (int g = 0; g < 4; g++)
			imin = _mm512_dpwssd_epi32(imin, sk[8 + g], _mm512_set1_epi32(ld32(k.row + k.oa + 4 * g)));
		f = fin_q4_K(sk, isum, imin, ldf(k.row + k.od), f);
	}
	_mm512_mask_storeu_ps(out, m, _mm512_add_ps(f, bias));
}

static void one_q4_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, float *out,
		     __mmask16 m, __m512 bias)
{
	one_q45_K(0, w, rb, nr, A, out, m, bias);
}

static void one_q5_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, float *out,
		     __mmask16 m, __m512 bias)
{
	one_q45_K(1, w, rb, nr, A, out, m, bias);
}

/* one_q6_K - as one_q45_K with 32 bytes per row holding two sub-blocks
 * of 16 (dots2) and the -32 sums added before the scales */
static void one_q6_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, float *out,
		     __mmask16 m, __m512 bias)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	__m512 f = _mm512_setzero_ps();

	for (int64_t b = 0; b < A->nb; b++) {
		struct tok k = tok_at(A, 0, b);
		size_t at = (size_t)b * sizeof(struct block_q6_K);
		alignas(64) __m512i sk[17];
		__m512i isum = _mm512_setzero_si512();
		for (int o = 0; o < 4; o++)
			prefetch_next(r, rb, at + 64 * (size_t)o);
		scales_q6_K(vo, r[0] + at, sk);
		for (int h = 0; h < 2; h++)
			UNROLL for (int q = 0; q < 4; q++) {
				int s = 8 * h + 2 * q;
				__m512i z[8], d0, d1;
				__m512i a = _mm512_broadcast_i64x4(
					_mm256_loadu_si256((const void *)(k.row + k.oq + 16 * (size_t)s)));
				cols_q6_K(r, at, h, q, z);
				UNROLL for (int p = 0; p < 8; p++)
					z[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), z[p], a);
				dots2(z, &d0, &d1);
				d0 = _mm512_add_epi32(d0, _mm512_set1_epi32(ld32(k.row + k.oa + 4 * (size_t)s)));
				d1 = _mm512_add_epi32(d1, _mm512_set1_epi32(ld32(k.row + k.oa + 4 * (size_t)s + 4)));
				isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(d0, sk[s]));
				isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(d1, sk[s + 1]));
			}
		f = fin_q6_K(sk, isum, ldf(k.row + k.od), f);
	}
	_mm512_mask_storeu_ps(out, m, _mm512_add_ps(f, bias));
}

/* TILE - tokens in chunks of TCH (note 7); per super-block: repack, then
 * the chunk's tokens in groups of 8 */
#define TILE(name, pack, RUN, one)							\
static inline __attribute__((always_inline)) void				\
name##_tok(const int TT, const __m512i *pk, int64_t b, const struct acts *A, uint32_t t, \
	   float (*acc)[16], __m512 bias)						\
{										\
	struct tok k[8];							\
	__m512 f[8];								\
										\
	UNROLL for (int u = 0; u < TT; u++) {						\
		k[u] = tok_at(A, t + u, b);					\
		f[u] = b == 0 ? _mm512_setzero_ps() : _mm512_load_ps(acc[u]);	\
	}									\
	RUN(TT, pk, k, f);							\
	UNROLL for (int u = 0; u < TT; u++) {						\
		if (b + 1 == A->nb)						\
			f[u] = _mm512_add_ps(f[u], bias);			\
		_mm512_store_ps(acc[u], f[u]);					\
	}									\
}										\
										\
static void name(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as, \
		 uint32_t n_tok, float *out, size_t os, const float *bias)	\
{										\
	alignas(64) __m512i pk[PK];						\
	alignas(64) float acc[TCH][16];						\
	struct acts A = { act, as, n / QK_K };					\
	__mmask16 m = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);		\
	__m512 vb = bias ? _mm512_maskz_loadu_ps(m, bias) : _mm512_setzero_ps(); \
										\
	if (n_tok == 1) {							\
		one(w, rb, nr, &A, out, m, vb);					\
		return;								\
	}									\
	for (uint32_t t0 = 0; t0 < n_tok; t0 += TCH) {				\
		uint32_t nt = n_tok - t0 < TCH ? n_tok - t0 : TCH;		\
		for (int64_t b = 0; b < A.nb; b++) {				\
			uint32_t t = 0;						\
			pack(w, rb, nr, b, pk);					\
			for (; t + 8 <= nt; t += 8)				\
				name##_tok(8, pk, b, &A, t0 + t, acc + t, vb);	\
			for (; t < nt; t++)					\
				name##_tok(1, pk, b, &A, t0 + t, acc + t, vb);	\
		}								\
		for (uint32_t t = 0; t < nt; t++)				\
			_mm512_mask_storeu_ps(out + (size_t)(t0 + t) * os, m, _mm512_load_ps(acc[t])); \
	}									\
}

TILE(tile_q4_K, pack_q4_K, run_q4_K, one_q4_K)
TILE(tile_q5_K, pack_q5_K, run_q4_K, one_q5_K)
TILE(tile_q6_K, pack_q6_K, run_q6_K, one_q6_K)

/* eng_kernels_mm_k_fill - the K-quant tiles */
void eng_kernels_mm_k_fill(struct eng_kernels *k)
{
	k->mm[GGML_TYPE_Q4_K] = (struct eng_mm){ act_bytes, quantize_q4_K, tile_q4_K };
	k->mm[GGML_TYPE_Q5_K] = (struct eng_mm){ act_bytes, quantize_q4_K, tile_q5_K };
	k->mm[GGML_TYPE_Q6_K] = (struct eng_mm){ act_bytes, quantize_q6_K, tile_q6_K };
}
