/*
 * NAME
 *	mm_q23 - AVX-512 VNNI matrix tiles for Q2_K and Q3_K weights
 * DESIGN NOTES
 *	1. Both types hold 16 sub-blocks of 16 two-bit values per super-block
 *	   (Q3_K a third bit in hmask) with small sub-block scales: Q2_K
 *	   sc in [0, 15] times q in [0, 3] is at most 45; Q3_K sc in [-32, 31]
 *	   times q - 4 in [-4, 3] lies in [-124, 128]. So the scale goes into
 *	   the weight bytes once, when a super-block's 16 rows are decoded,
 *	   and every token then costs vpdpbusd only, no multiply per
 *	   sub-block: Q2_K bytes w = sc * q, Q3_K bytes w = sc * (q - 4) + 124
 *	   in [0, 252] (16-bit multiplies keeping the low byte of each
 *	   product), the activation row carrying -124 * sum(a) as the
 *	   accumulator's start.
 *	2. Integer part, exact: isum = sum_j sc_j * dot_j(q, a) as the
 *	   reference; Q2_K imin = sum_j m_j * bsum_j (vpdpwssd on int16
 *	   pairs). Float part, one fixed chain per output over super-blocks i:
 *	   acc = fma(d * da, isum, acc), Q2_K then acc = acc - (dmin * da) *
 *	   imin (fused), then + bias (fin). Lanes are independent outputs and
 *	   the order is fixed, so a result never depends on n_tok, the tile's
 *	   other rows or the thread.
 *	3. dec() turns super-blocks a and b into 8 vectors [a | b] of 32
 *	   prescaled bytes each: elements 128g + 32k + l (l < 32) in vector
 *	   4g + k, which meet the activation bytes at 32 (4g + k). Three ways
 *	   to use them, one set of numbers (the integers are exact, fin() the
 *	   same code):
 *	   - up to SMALL_MAX tokens (note 7): a and b are one row's blocks
 *	     b and b + 1, the token's bytes of both blocks side by side, and
 *	     reduce16 sums the 8 rows' partials to lane = (row, block); one
 *	     token dots the vectors as decoded, 2..SMALL_MAX tokens decode a
 *	     block pair once into a stack buffer and take it in turn;
 *	   - more: a and b are rows p and p + 8 of a super-block, transposed
 *	     into byte columns (lane = row, column c holding elements 4c..4c
 *	     + 3, as mm_k note 1) and tokens go 8 at a time, their 4
 *	     activation bytes broadcast per column.
 *	4. Activation layout of a row of n elements (nb = n / 256): float
 *	   d[nb]; int32_t aux[nb][16]; int8_t qs[n], d and qs bitwise the
 *	   reference Q8_K (as mm_k.c). aux[0..7] hold the 16 sub-block sums
 *	   as int16 (the pairs vpdpwssd takes), aux[8] = -124 * their total.
 *	5. Loads stay inside a block: Q3_K's scales come with the 16 bytes
 *	   ending at d, its d with the dword ending at d (gathers).
 *	6. Q3_K's prescaling costs more than a token saves when there is one
 *	   token (signed products: two multiplies per vector), so the one-token
 *	   path takes u = q + 4 * third bit in [0, 7] unsigned into maddubs,
 *	   the int16 scales by vpdpwssd, and the -4 through the block sums:
 *	   isum = sum_j sc_j dot_j(u) - 4 sum_j sc_j bsum_j, the same integer.
 *	7. Few tokens stream the weights: a tile is read as two halves of 8
 *	   rows, each row two blocks at a time (8 streams of 2 contiguous
 *	   blocks, prefetched 8 rows ahead). Reading the 16 rows' block b side
 *	   by side, as the repacking does, ran 3x slower once the matrix left
 *	   the caches (16 streams; one token 2 GB/s against 6 GB/s, measured
 *	   side by side on a loaded machine). The float chain of each row
 *	   still runs block by block: lanes 8..15 (block b + 1) are moved down
 *	   for the second fin().
 */
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/avx512/tile16.h"

#define SMALL_MAX 8	/* up to this many tokens stream the rows (notes 3, 7) */
#define PK 74		/* tile vectors per super-block: 64 columns, 8 min pairs, d, dmin */

/* quantize - Q8_K super-blocks into the layout of note 4 (both types) */
static void quantize(const float *x, void *dst, int64_t n)
{
	int64_t nb = n / QK_K;
	float *d = dst;
	int32_t *aux = (int32_t *)(d + nb);
	int8_t *qs = (int8_t *)(aux + 16 * nb);
	int16_t bs[16];

	for (int64_t i = 0; i < nb; i++) {
		int32_t *ai = aux + 16 * i, total = 0;
		d[i] = q8_K(x + i * QK_K, qs + i * QK_K, bs);
		for (int j = 0; j < 16; j++)
			total += bs[j];
		memset(ai, 0, 16 * sizeof *ai);
		memcpy(ai, bs, sizeof bs);
		ai[8] = -124 * total;
	}
}

/* ----------------------------------------------------------- decoding */

/* ld2x16 - [a | a | b | b], 16 bytes each; ld2x32 - [a | b], 32 each */
static inline __m512i ld2x16(const uint8_t *a, const uint8_t *b)
{
	return _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(_mm_loadu_si128((const void *)a)), 0xFF00,
					   _mm_loadu_si128((const void *)b));
}

static inline __m512i ld2x32(const uint8_t *a, const uint8_t *b)
{
	return _mm512_mask_broadcast_i64x4(_mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)a)), 0xF0,
					   _mm256_loadu_si256((const void *)b));
}

/* pick - from v = [16 bytes of row p twice | of row p + 8 twice], byte s
 * of each row in its first 128-bit quarter, byte s + 1 in its second: the
 * scales of the two sub-blocks a decoded vector holds per row. wide: as
 * zero-extended int16 lanes, else in every byte */
static inline __m512i pick(__m512i v, int s, int wide)
{
	const long long one = wide ? 0x0001000100010001 : 0x0101010101010101;
	__m512i ctl = wide ? _mm512_set1_epi16((short)(0x8000 | s)) : _mm512_set1_epi8((char)s);

	return _mm512_shuffle_epi8(v, _mm512_add_epi8(ctl, _mm512_set_epi64(one, one, 0, 0, one, one, 0, 0)));
}

/* dec_q2_K - row pair (a, b) of one super-block into z[8] (note 3) and
 * mn = [row a's 16 mins | row b's] as int16 */
static inline __attribute__((always_inline)) void
dec_q2_K(const uint8_t *a, const uint8_t *b, __m512i z[8], __m512i *mn)
{
	__m512i sc = _mm512_and_si512(ld2x16(a, b), _mm512_set1_epi8(0x0F)), m3 = _mm512_set1_epi8(3);
	__m256i m = _mm256_mask_broadcast_i32x4(_mm256_broadcast_i32x4(_mm_loadu_si128((const void *)a)), 0xF0,
						_mm_loadu_si128((const void *)b));

	UNROLL for (int g = 0; g < 2; g++) {
		__m512i q = ld2x32(a + 16 + 32 * g, b + 16 + 32 * g);
		/* q * sc <= 45: the low byte's product never carries into the high one */
		UNROLL for (int k = 0; k < 4; k++)
			z[4 * g + k] = _mm512_mullo_epi16(_mm512_and_si512(_mm512_srli_epi16(q, 2 * k), m3),
							  pick(sc, 8 * g + 2 * k, 1));
	}
	*mn = _mm512_cvtepu8_epi16(_mm256_and_si256(_mm256_srli_epi16(m, 4), _mm256_set1_epi8(0x0F)));
}

/* sc_q3_K - rows a, b's 16 signed scales as int8, [a | a | b | b]: the 12
 * packed bytes sit at 2..13 of the 16 ending with d (note 5) */
static inline __m512i sc_q3_K(const uint8_t *a, const uint8_t *b)
{
	__m512i r = ld2x16(a + 94, b + 94);
	/* scale j: low 4 bits from byte j & 7 (its high nibble for j >= 8),
	 * high 2 bits from byte 8 + (j & 3) shifted by 2 (j >> 2) */
	__m512i lo = _mm512_shuffle_epi8(r, _mm512_broadcast_i32x4(_mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9,
										   2, 3, 4, 5, 6, 7, 8, 9)));
	__m512i hi = _mm512_shuffle_epi8(r, _mm512_broadcast_i32x4(_mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13,
										   10, 11, 12, 13, 10, 11, 12, 13)));
	lo = _mm512_mask_srli_epi16(lo, 0xF0F0F0F0, lo, 4);
	hi = _mm512_srlv_epi32(hi, _mm512_broadcast_i32x4(_mm_setr_epi32(0, 2, 4, 6)));
	__m512i v = _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi8(0x0F)),
				    _mm512_and_si512(_mm512_slli_epi16(hi, 4), _mm512_set1_epi8(0x30)));
	return _mm512_sub_epi8(v, _mm512_set1_epi8(32));
}

/* dec_q3_K - row pair (a, b) of one super-block into z[8] (note 3) */
static inline __attribute__((always_inline)) void dec_q3_K(const uint8_t *a, const uint8_t *b, __m512i z[8])
{
	__m512i sc = sc_q3_K(a, b), hm = ld2x32(a, b), m3 = _mm512_set1_epi8(3);

	UNROLL for (int g = 0; g < 2; g++) {
		__m512i q = ld2x32(a + 32 + 32 * g, b + 32 + 32 * g);
		UNROLL for (int k = 0; k < 4; k++) {
			__m512i v = _mm512_and_si512(_mm512_srli_epi16(q, 2 * k), m3);
			/* third bit clear: q - 4, else q (as int8) */
			__mmask64 h0 = _mm512_testn_epi8_mask(hm, _mm512_set1_epi8((char)(1 << (4 * g + k))));
			v = _mm512_mask_sub_epi8(v, h0, v, _mm512_set1_epi8(4));
			/* v * sc mod 256 per byte: the even bytes' products, then the
			 * odd bytes' (their low neighbours masked out); + 124 */
			__m512i s = pick(sc, 8 * g + 2 * k, 0);
			__m512i e = _mm512_mullo_epi16(v, s);
			__m512i o = _mm512_mullo_epi16(_mm512_and_si512(v, _mm512_set1_epi16((short)0xFF00)), s);
			z[4 * g + k] = _mm512_add_epi8(_mm512_mask_mov_epi8(e, 0xAAAAAAAAAAAAAAAAull, o),
						       _mm512_set1_epi8(124));
		}
	}
}

/* dec - super-blocks a and b (two rows' or one row's two, note 3) */
static inline __attribute__((always_inline)) void
dec(const int THREE, const uint8_t *a, const uint8_t *b, __m512i z[8], __m512i *mn)
{
	if (THREE)
		dec_q3_K(a, b, z);
	else
		dec_q2_K(a, b, z, mn);
}

/* block_bytes, dm_at - a super-block's size and the dword holding d
 * (Q2_K: d low, dmin high; Q3_K: d high, note 5) */
static inline size_t block_bytes(const int THREE)
{
	return THREE ? sizeof(struct block_q3_K) : sizeof(struct block_q2_K);
}

static inline __m512 d16(const int THREE, __m512i dd)
{
	return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(THREE ? _mm512_srli_epi32(dd, 16) : dd));
}

static inline __m512i dd16(const int THREE, __m512i vo, const uint8_t *r0)
{
	return _mm512_i32gather_epi32(vo, (const void *)(r0 + (THREE ? 106 : 80)), 1);
}

/* ---------------------------------------------------------- float step */

/* struct tok - one token's row and its super-block's offsets (note 4) */
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

/* fin - note 2's float step for one super-block: every path's only one */
static inline __m512 fin(const int THREE, __m512 d, __m512 dmin, __m512i isum, __m512i imin, float da,
			 __m512 f)
{
	__m512 va = _mm512_set1_ps(da);

	f = _mm512_fmadd_ps(_mm512_mul_ps(d, va), _mm512_cvtepi32_ps(isum), f);
	if (!THREE)
		f = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, va), _mm512_cvtepi32_ps(imin), f);
	return f;
}

/* dots_q3_K - one token against one row's super-blocks a and b as
 * loaded (bytes qa, qb; n4a, n4b: -4 * their block sums as int16 pairs,
 * sub-blocks 0..7 in n4a's quarters 0 and 2, 8..15 in n4b's), without
 * prescaling (note 6): partial sums, dwords 0..7 a's, 8..15 b's */
static inline __attribute__((always_inline)) __m512i
dots_q3_K(const uint8_t *a, const uint8_t *b, const uint8_t *qa, const uint8_t *qb, __m512i n4a, __m512i n4b)
{
	__m512i sc = sc_q3_K(a, b), hm = ld2x32(a, b), m3 = _mm512_set1_epi8(3);
	/* int16 scales of sub-blocks 8g..8g + 7, [a | a | b | b] */
	__m512i s16[2] = { _mm512_srai_epi16(_mm512_unpacklo_epi8(sc, sc), 8),
			   _mm512_srai_epi16(_mm512_unpackhi_epi8(sc, sc), 8) };
	/* -4 sum_j sc_j bsum_j, once per block: quarters 0 and 2 */
	__m512i acc = _mm512_mask_dpwssd_epi32(_mm512_setzero_si512(), 0x0F0F, s16[0], n4a);

	acc = _mm512_mask_dpwssd_epi32(acc, 0x0F0F, s16[1], n4b);
	UNROLL for (int g = 0; g < 2; g++) {
		__m512i q = ld2x32(a + 32 + 32 * g, b + 32 + 32 * g);
		UNROLL for (int k = 0; k < 4; k++) {
			int j = 4 * g + k;
			__m512i v = _mm512_and_si512(_mm512_srli_epi16(q, 2 * k), m3);
			__mmask64 h1 = _mm512_test_epi8_mask(hm, _mm512_set1_epi8((char)(1 << j)));
			v = _mm512_mask_add_epi8(v, h1, v, _mm512_set1_epi8(4));
			__m512i p = _mm512_maddubs_epi16(v, ld2x32(qa + 32 * j, qb + 32 * j));
			/* int16 scale 2k in quarters 0 and 2, 2k + 1 in 1 and 3 */
			__m512i ctl = _mm512_add_epi8(_mm512_set1_epi16((short)(0x0100 * (4 * k + 1) + 4 * k)),
						      _mm512_set_epi64(0x0202020202020202, 0x0202020202020202, 0, 0,
								       0x0202020202020202, 0x0202020202020202, 0, 0));
			acc = _mm512_dpwssd_epi32(acc, p, _mm512_shuffle_epi8(s16[g], ctl));
		}
	}
	return acc;
}

/* neg4 - -4 * the int16 pairs of v */
static inline __m512i neg4(__m512i v)
{
	return _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(v, 2));
}

/* pair_dots - one token's super-blocks b (k0) and b + 1 (k1) against the
 * half tile's 8 rows, decoded pairs z[8 p + v] (zb) or, zb NULL, the rows
 * as loaded: isum and imin, lane p row p at b, lane p + 8 at b + 1 */
static inline __attribute__((always_inline)) void
pair_dots(const int THREE, const uint8_t *const r[8], size_t at, size_t nx, const __m512i *zb,
	  const __m512i *mb, const struct tok *k0, const struct tok *k1, __m512i *isum, __m512i *imin)
{
	__m512i acc[8], accm[8];
	const uint8_t *qa = k0->row + k0->oq, *qb = k1->row + k1->oq;
	const uint8_t *xa = k0->row + k0->oa, *xb = k1->row + k1->oa;

	UNROLL for (int p = 0; p < 8; p++) {
		__m512i z[8], mn = _mm512_setzero_si512();
		if (THREE && zb == NULL) {
			acc[p] = dots_q3_K(r[p] + at, r[p] + at + nx, qa, qb, neg4(ld2x16(xa, xb)),
					   neg4(ld2x16(xa + 16, xb + 16)));
			continue;
		}
		if (zb == NULL)
			dec(THREE, r[p] + at, r[p] + at + nx, z, &mn);
		UNROLL for (int v = 0; v < 8; v++)
			z[v] = zb ? _mm512_load_si512(zb + 8 * p + v) : z[v];
		acc[p] = _mm512_setzero_si512();
		UNROLL for (int v = 0; v < 8; v++)
			acc[p] = _mm512_dpbusd_epi32(acc[p], z[v], ld2x32(qa + 32 * v, qb + 32 * v));
		if (!THREE)
			accm[p] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mb ? _mm512_load_si512(mb + p) : mn,
						      ld2x32(xa, xb));
	}
	*isum = reduce16(acc);
	if (THREE && zb != NULL)
		*isum = _mm512_add_epi32(*isum, _mm512_mask_mov_epi32(_mm512_set1_epi32(ld32(xa + 32)), 0xFF00,
								      _mm512_set1_epi32(ld32(xb + 32))));
	if (!THREE)
		*imin = reduce16(accm);
}

/* ---------------------------------------------------- up to 8 tokens */

/* rows8 - rows 8h..8h + 7 of a tile (past nr the last row again) and
 * the gather offsets of their blocks b (lanes 0..7) and b + 1 (8..15) */
static inline __m512i rows8(const uint8_t *w, size_t rb, int nr, int h, size_t bs, const uint8_t *r[8])
{
	alignas(64) int32_t off[16];

	for (int j = 0; j < 8; j++) {
		int jj = 8 * h + j < nr ? 8 * h + j : nr - 1;
		r[j] = w + (size_t)jj * rb;
		off[j] = (int32_t)((size_t)jj * rb);
		off[j + 8] = off[j] + (int32_t)bs;
	}
	return _mm512_load_si512(off);
}

/* hi8 - lanes 8..15 moved to 0..7 */
static inline __m512i hi8(__m512i v)
{
	return _mm512_shuffle_i64x2(v, v, 0xEE);
}

/* half - rows 8h..8h + 7 of a tile times nt tokens (note 7): res[u]
 * lanes 0..7 get token u's sums. Without BUF the rows are dotted as
 * loaded (one token), with BUF each block pair is decoded once into a
 * stack buffer that every token takes in turn */
static inline __attribute__((always_inline)) void
half(const int THREE, const int BUF, uint32_t nt, const uint8_t *w, size_t rb, int nr, int h,
     const struct acts *A, __m512 *res)
{
	const uint8_t *r[8];
	size_t bs = block_bytes(THREE);
	__m512i vo = rows8(w, rb, nr, h, bs, r);
	alignas(64) __m512i zb[BUF ? 64 : 1], mb[8];

	for (uint32_t u = 0; u < nt; u++)
		res[u] = _mm512_setzero_ps();
	for (int64_t b = 0; b < A->nb; b += 2) {
		int two = b + 1 < A->nb;
		size_t at = (size_t)b * bs, nx = two ? bs : 0;
		for (int j = 0; j < 8; j++)
			for (size_t o = 0; o < 2 * bs; o += 64)
				_mm_prefetch((const char *)r[j] + at + o + 8 * rb, _MM_HINT_T1);
		if (BUF)
			for (int p = 0; p < 8; p++)
				dec(THREE, r[p] + at, r[p] + at + nx, zb + 8 * p, mb + p);
		__m512i dd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), two ? 0xFFFF : 0x00FF, vo,
							 (const void *)(w + at + (THREE ? 106 : 80)), 1);
		__m512 d = d16(THREE, dd), dmin = d16(0, _mm512_srli_epi32(dd, 16));
		for (uint32_t u = 0; u < nt; u++) {
			struct tok k0 = tok_at(A, u, b), k1 = tok_at(A, u, b + two);
			__m512i isum, imin = _mm512_setzero_si512();
			pair_dots(THREE, r, at, nx, BUF ? zb : NULL, BUF ? mb : NULL, &k0, &k1, &isum, &imin);
			res[u] = fin(THREE, d, dmin, isum, imin, ldf(k0.row + k0.od), res[u]);
			if (two)
				res[u] = fin(THREE, _mm512_castsi512_ps(hi8(_mm512_castps_si512(d))),
					     _mm512_castsi512_ps(hi8(_mm512_castps_si512(dmin))), hi8(isum), hi8(imin),
					     ldf(k1.row + k1.od), res[u]);
		}
	}
}

/* few - 16 rows times nt <= SMALL_MAX tokens, in two halves of 8 rows
 * (note 7) */
static inline __attribute__((always_inline)) void
few(const int THREE, const int BUF, uint32_t nt, const uint8_t *w, size_t rb, int nr, const struct acts *A,
    float *out, size_t os, __mmask16 m, __m512 bias)
{
	__m512 lo[SMALL_MAX], hi[SMALL_MAX];

	half(THREE, BUF, nt, w, rb, nr, 0, A, lo);
	if (nr > 8)
		half(THREE, BUF, nt, w, rb, nr, 1, A, hi);
	for (uint32_t u = 0; u < nt; u++) {
		/* rows 0..7 from lo, 8..15 from hi's lanes 0..7 */
		__m512 f = nr > 8 ? _mm512_shuffle_f32x4(lo[u], hi[u], 0x44) : lo[u];
		_mm512_mask_storeu_ps(out + (size_t)u * os, m, _mm512_add_ps(f, bias));
	}
}

/* ------------------------------------------------------- many tokens */

/* pack - the super-block at b of 16 rows as byte columns: pk[0..63]
 * column c = elements 4c..4c + 3 (lane = row), pk[64..71] the min pairs
 * (2i, 2i + 1) as int16 (Q2_K), pk[72], pk[73] d and dmin as floats */
static inline __attribute__((always_inline)) void
pack(const int THREE, const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t bs = block_bytes(THREE), at = (size_t)b * bs;
	__m512i z[8][8], mn[8];

	for (size_t o = 0; o < bs; o += 64)
		prefetch_next(r, rb, at + o);
	UNROLL for (int p = 0; p < 8; p++)
		dec(THREE, r[p] + at, r[p + 8] + at, z[p], &mn[p]);
	UNROLL for (int v = 0; v < 8; v++) {
		__m512i c[8];
		UNROLL for (int p = 0; p < 8; p++)
			c[p] = z[p][v];
		transpose8(c, pk + 8 * v);
	}
	if (!THREE)
		transpose8(mn, pk + 64);
	__m512i dd = dd16(THREE, vo, r[0] + at);
	pk[72] = _mm512_castps_si512(d16(THREE, dd));
	pk[73] = _mm512_castps_si512(d16(0, _mm512_srli_epi32(dd, 16)));
}

/* run - TT tokens at their super-block against its columns; a lone token
 * splits its sum over 4 chains (integers: exact in any order) */
static inline __attribute__((always_inline)) void
run(const int THREE, const int TT, const __m512i *pk, const struct tok *k, __m512 *f)
{
	const int CH = TT == 1 ? 4 : 1;
	__m512i acc[8][4], imin[8];

	UNROLL for (int u = 0; u < TT; u++) {
		UNROLL for (int h = 0; h < CH; h++)
			acc[u][h] = _mm512_setzero_si512();
		if (THREE)
			acc[u][0] = _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 32));
	}
	for (int c = 0; c < 64; c += CH)
		UNROLL for (int h = 0; h < CH; h++) {
			__m512i w = _mm512_load_si512(pk + c + h);
			UNROLL for (int u = 0; u < TT; u++)
				acc[u][h] = _mm512_dpbusd_epi32(acc[u][h], w,
					_mm512_set1_epi32(ld32(k[u].row + k[u].oq + 4 * (size_t)(c + h))));
		}
	UNROLL for (int u = 0; u < TT; u++) {
		UNROLL for (int h = 1; h < CH; h++)
			acc[u][0] = _mm512_add_epi32(acc[u][0], acc[u][h]);
		imin[u] = _mm512_setzero_si512();
	}
	UNROLL for (int i = 0; i < 8 && !THREE; i++) {
		__m512i mn = _mm512_load_si512(pk + 64 + i);
		UNROLL for (int u = 0; u < TT; u++)
			imin[u] = _mm512_dpwssd_epi32(imin[u], mn, _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * i)));
	}
	__m512 d = _mm512_castsi512_ps(_mm512_load_si512(pk + 72));
	__m512 dmin = _mm512_castsi512_ps(_mm512_load_si512(pk + 73));
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin(THREE, d, dmin, acc[u][0], imin[u], ldf(k[u].row + k[u].od), f[u]);
}

/* many_tok - TT tokens from t at super-block b; the accumulators wait in
 * out between super-blocks (stored exactly) */
static inline __attribute__((always_inline)) void
many_tok(const int THREE, const int TT, const __m512i *pk, int64_t b, const struct acts *A, uint32_t t,
	 float *out, size_t os, __mmask16 m, __m512 bias)
{
	struct tok k[8];
	__m512 f[8];

	UNROLL for (int u = 0; u < TT; u++) {
		k[u] = tok_at(A, t + u, b);
		f[u] = b == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, out + (size_t)(t + u) * os);
	}
	run(THREE, TT, pk, k, f);
	UNROLL for (int u = 0; u < TT; u++) {
		if (b + 1 == A->nb)
			f[u] = _mm512_add_ps(f[u], bias);
		_mm512_mask_storeu_ps(out + (size_t)(t + u) * os, m, f[u]);
	}
}

static inline __attribute__((always_inline)) void
tile(const int THREE, int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
     uint32_t n_tok, float *out, size_t os, const float *bias)
{
	alignas(64) __m512i pk[PK];
	struct acts A = { act, as, n / QK_K };
	__mmask16 m = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
	__m512 vb = bias ? _mm512_maskz_loadu_ps(m, bias) : _mm512_setzero_ps();

	if (n_tok == 1) {
		few(THREE, 0, 1, w, rb, nr, &A, out, os, m, vb);
		return;
	}
	if (n_tok <= SMALL_MAX) {
		few(THREE, 1, n_tok, w, rb, nr, &A, out, os, m, vb);
		return;
	}
	for (int64_t b = 0; b < A.nb; b++) {
		uint32_t t = 0;
		pack(THREE, w, rb, nr, b, pk);
		for (; t + 8 <= n_tok; t += 8)
			many_tok(THREE, 8, pk, b, &A, t, out, os, m, vb);
		for (; t < n_tok; t++)
			many_tok(THREE, 1, pk, b, &A, t, out, os, m, vb);
	}
}

static void tile_q2_K(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
		      uint32_t n_tok, float *out, size_t os, const float *bias)
{
	tile(0, n, w, rb, nr, act, as, n_tok, out, os, bias);
}

static void tile_q3_K(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
		      uint32_t n_tok, float *out, size_t os, const float *bias)
{
	tile(1, n, w, rb, nr, act, as, n_tok, out, os, bias);
}

/* eng_kernels_mm_q23_fill - the Q2_K and Q3_K tiles */
void eng_kernels_mm_q23_fill(struct eng_kernels *k)
{
	k->mm[GGML_TYPE_Q2_K] = (struct eng_mm){ q8_K_act_bytes, quantize, tile_q2_K };
	k->mm[GGML_TYPE_Q3_K] = (struct eng_mm){ q8_K_act_bytes, quantize, tile_q3_K };
}
