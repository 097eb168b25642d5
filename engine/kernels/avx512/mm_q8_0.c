/*
 * NAME
 *	mm_q8_0 - AVX-512 VNNI matrix tiles for the 32-element weight types
 *	(Q8_0, Q4_0, Q5_0, and with a per-block min Q4_1, Q5_1)
 * DESIGN NOTES
 *	1. One tile is 16 weight rows times n_tok activation rows. The rows
 *	   are repacked, KB blocks at a time, into a stack buffer: per block
 *	   8 vectors, vector k holding bytes 4k..4k+3 of each of the 16 rows
 *	   (lane = row) as unsigned bytes u = w + OFF, then the 16 row scales
 *	   as floats. Each token then costs 8 vpdpbusd per block, with its 4
 *	   activation bytes broadcast from memory; the repacking is paid once
 *	   per KB blocks for all n_tok tokens.
 *	2. vpdpbusd multiplies unsigned by signed bytes, so weights carry an
 *	   offset OFF (Q8_0 128, Q4_0 8, Q5_0 16) that the activation row
 *	   takes back: its layout stores corr = -OFF * sum(a) per block, the
 *	   starting value of the integer accumulator. The block's integer dot
 *	   is therefore exact, whatever the order of the additions.
 *	3. The float part is one fixed chain per output (row r, token t):
 *	   acc = fma(dw[r][i] * da[t][i], (float)isum[r][t][i], acc) for
 *	   blocks i in order (Q4_1/Q5_1 then acc = fma(m[r][i], s[t][i], acc)
 *	   with s = d * sum(a) in F16, ggml's Q8_1), then + bias. Lanes are independent outputs, so
 *	   a result never depends on n_tok, on the tile's other rows, on the
 *	   KB chunking (acc waits in out between chunks, stored exactly) or on
 *	   the thread that computes it: batching and threads never change a
 *	   logit (tests/unit/test_kernels.c checks one token against many).
 *	4. Activation layout of a row of n elements (nb = n / 32 blocks):
 *	   float d[nb], s[nb]; int32_t corr[nb]; int8_t qs[n]. The quantization is
 *	   bitwise the reference Q8_0 one, so results stay within the
 *	   reference's rounding (oracle tests).
 *	5. Repacking reads 16 rows side by side, more streams than the
 *	   hardware prefetcher follows (one token ran 3x slower than row by
 *	   row dots): it prefetches the same blocks of the next 16 rows, the
 *	   matrix's next tile (harmless past the end: prefetches never fault).
 *	6. Tail tiles (nr < 16 rows) repeat their last row in the unused lanes
 *	   and store under a mask.
 *	7. Generation and small batches (n_tok <= SN_RUNS * SN_MAX, in
 *	   passes of up to SN_MAX tokens) do not repay the repacking:
 *	   stream() decodes each block of the 16 rows into the
 *	   byte columns of note 1 in registers (Q8_0: row pairs, transpose4s;
 *	   Q4_0/Q4_1/Q5_0/Q5_1 transpose the packed bytes before splitting
 *	   nibbles, 8 shuffles instead of 24, and Q5 adds its fifth bits
 *	   with shifts and logic, high5) and runs all n_tok tokens on them,
 *	   so each weight byte is read once per call. Q5 scales and qh words
 *	   come from 16-byte loads of the block heads (load_dh); the other
 *	   types' row scales reach their lanes by scalar moves through a ring
 *	   on the stack, SC_AHEAD blocks before use (a gather cost more than
 *	   the rest of a Q4_0 block; head loads were slower for Q8_0). Same exact integer block dot, same float
 *	   chain of note 3: bitwise the results of the repacked tiles. It
 *	   prefetches (T1) the next tile in memory order, at least 16 KB
 *	   ahead: the hardware prefetcher does not follow 16 interleaved row
 *	   streams.
 *	8. On this Zen 4 a zmm vpdpbusd, FMA or multiply issues once a cycle
 *	   on one pipe and every other vector op shares the second (measured:
 *	   vpermt2q, vpshufb, kmov from a register and masked broadcasts also
 *	   take cycles from the vpdpbusd pipe, unpack, shift, logic, vcvtdq2ps
 *	   and vshufi64x2 barely do). At 8 tokens a block costs 64 vpdpbusd
 *	   plus 8 multiplies and 8 FMAs on that pipe, so the decoding keeps
 *	   to the other ops, and stream() loads the next block's weight bytes
 *	   before this block's dots (their latency showed at 1 and 8 tokens).
 */
#include <immintrin.h>
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/avx512/tile16.h"

#define KB 16	/* blocks repacked at a time: 16 * 576 bytes stay in L1 */
#define PK 10	/* vectors per repacked block: 8 byte columns, scales, mins */
#define SN_MAX 8	/* tokens per streaming pass (note 7) */
#define SN_RUNS 2	/* passes before the repacking wins (measured: even at 16) */

static size_t act_bytes(int64_t n)
{
	return (size_t)(n / QK8_0) * 12 + (size_t)n;
}

/* quantize - the reference Q8_0 quantization, vectorized, into the layout
 * of note 4: same amax (exact), same x * (127 / amax) products rounded to
 * nearest even, same fp16 scale; bitwise the ref_quantize_row_q8_0 blocks */
static inline void quantize(const float *x, void *dst, int64_t n, int off)
{
	int64_t nb = n / QK8_0;
	float *d = dst, *s = d + nb;
	int32_t *corr = (int32_t *)(s + nb);
	int8_t *qs = (int8_t *)(corr + nb);

	for (int64_t i = 0; i < nb; i++, x += QK8_0) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
		__m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
		__m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
		__m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
		int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
		d[i] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(amax / 127.0f));
		s[i] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(amax / 127.0f * (float)sum));
		corr[i] = -off * sum;
		_mm_storeu_si128((__m128i *)(qs + i * QK8_0), _mm512_cvtepi32_epi8(q0));
		_mm_storeu_si128((__m128i *)(qs + i * QK8_0 + 16), _mm512_cvtepi32_epi8(q1));
	}
}

static void quantize_q8_0(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 128);
}

static void quantize_q4_0(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 8);
}

static void quantize_q5_0(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 16);
}

static void quantize_q4_1(const float *x, void *dst, int64_t n)
{
	quantize(x, dst, n, 0);
}

/* ---------------------------------------------------------- repacking */

/* row pairs: [row p bytes 0..31 | row p+8 bytes 0..31] as unsigned u */

static inline __m512i pair_q8_0(const struct block_q8_0 *a, const struct block_q8_0 *b)
{
	__m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)a->qs)),
				       _mm256_loadu_si256((const void *)b->qs), 1);
	return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
}

/* nibbles2 - [lo(a) hi(a) lo(b) hi(b)]: element j is the low nibble of
 * qs[j], element j + 16 the high one */
static inline __m512i nibbles2(const uint8_t *a, const uint8_t *b)
{
	/* two broadcast loads (the second under a mask), no shuffle */
	__m512i v = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(_mm_loadu_si128((const void *)a)),
						0xFF00, _mm_loadu_si128((const void *)b));
	v = _mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4);	/* 128-bit quarters 1 and 3 */
	return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

static inline __m512i pair_q4_0(const struct block_q4_0 *a, const struct block_q4_0 *b)
{
	return nibbles2(a->qs, b->qs);
}

static inline __m512i pair_q4_1(const struct block_q4_1 *a, const struct block_q4_1 *b)
{
	return nibbles2(a->qs, b->qs);
}

/* PAIR5 - Q5_0 and Q5_1: nibbles plus bit 4 of element j from bit j of qh,
 * the two qh words joined in the mask registers (kunpackd) and added
 * under that mask: no 64-bit assembly in general registers, no or */
#define PAIR5(name, blk)							\
static inline __m512i name(const struct blk *a, const struct blk *b)		\
{										\
	uint32_t ha, hb;							\
										\
	memcpy(&ha, a->qh, 4);							\
	memcpy(&hb, b->qh, 4);							\
	__mmask64 h = _mm512_kunpackd(_cvtu64_mask64(hb), _cvtu64_mask64(ha)); \
	__m512i v = nibbles2(a->qs, b->qs);					\
	return _mm512_mask_add_epi8(v, h, v, _mm512_set1_epi8(0x10));		\
}

PAIR5(pair_q5_0, block_q5_0)
PAIR5(pair_q5_1, block_q5_1)


/* scales16 - the 16 rows' fp16 d of a block as floats from the gathered
 * dwords at the block start (d, then m for Q4_1/Q5_1: mins16) */
static inline __m512 scales16(__m512i dm)
{
	return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
}

static inline __m512 mins16(__m512i dm)
{
	return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
}

/* PACK - per weight type: repack blocks [i0, i0 + kb) (note 1) */
#define PACK(pack, blk, PAIR, MIN)						\
static void pack(const uint8_t *w, size_t rb, int nr, int64_t i0, int kb, __m512i *pk) \
{										\
	const uint8_t *r[16];							\
	__m512i vo = rows16(w, rb, nr, r);					\
										\
	for (int i = 0; i < kb; i++, pk += PK) {				\
		size_t at = (size_t)(i0 + i) * sizeof(struct blk);		\
		__m512i z[8];							\
		prefetch_next(r, rb, at);					\
		UNROLL for (int p = 0; p < 8; p++)					\
			z[p] = PAIR((const void *)(r[p] + at), (const void *)(r[p + 8] + at)); \
		transpose8(z, pk);						\
		__m512i dm = _mm512_i32gather_epi32(vo, (const void *)(r[0] + at), 1); \
		pk[8] = _mm512_castps_si512(scales16(dm));			\
		pk[9] = _mm512_castps_si512(MIN ? mins16(dm) : _mm512_setzero_ps()); \
	}									\
}

PACK(pack_q8_0, block_q8_0, pair_q8_0, 0)
PACK(pack_q4_0, block_q4_0, pair_q4_0, 0)
PACK(pack_q5_0, block_q5_0, pair_q5_0, 0)
PACK(pack_q4_1, block_q4_1, pair_q4_1, 1)
PACK(pack_q5_1, block_q5_1, pair_q5_1, 1)

/* ----------------------------------------------------------- streaming */

typedef __m512i (*pair_fn)(const void *a, const void *b);

#define SC_AHEAD 2	/* blocks between copying scales and loading them */
#define SC_RING 8

/* rowp - row j of the tile at byte at: a full tile computes it (few
 * registers), a tail tile reads it from r (rows16) */
static inline __attribute__((always_inline)) const uint8_t *
rowp(const int FULL, const uint8_t *const r[16], const uint8_t *w, size_t rb, int j, size_t at)
{
	return FULL ? w + at + (size_t)j * rb : r[j] + at;
}

/* copy_scales - the F16 d (and m: MIN) at the start of the 16 rows'
 * blocks at byte at into sd (sm), by scalar moves (volatile: gcc would
 * otherwise build the vector with inserts on the shuffle ports the
 * transposition needs; a gather cost more than the rest of the block) */
static inline __attribute__((always_inline)) void
copy_scales(const int MIN, const int FULL, const uint8_t *const r[16], const uint8_t *w, size_t rb, size_t at,
	    uint16_t sd[16], uint16_t sm[16])
{
	UNROLL for (int j = 0; j < 16; j++) {
		const uint8_t *p = rowp(FULL, r, w, rb, j, at);
		uint16_t d, mn;
		memcpy(&d, p, 2);
		*(volatile uint16_t *)&sd[j] = d;
		if (MIN) {
			memcpy(&mn, p + 2, 2);
			*(volatile uint16_t *)&sm[j] = mn;
		}
	}
}

static inline __attribute__((always_inline)) __m128i
ld128(const int FULL, const uint8_t *const r[16], const uint8_t *w, size_t rb, int j, size_t at)
{
	return _mm_loadu_si128((const void *)rowp(FULL, r, w, rb, j, at));
}

/* load_q4 - the 16 bytes of 4-bit weights (qs at byte at) of the 16 rows:
 * unit q of v[j] is row j + 4q. Loaded a block ahead of split_q4 (note 8) */
static inline __attribute__((always_inline)) void
load_q4(const int FULL, const uint8_t *const r[16], const uint8_t *w, size_t rb, size_t at, __m512i v[4])
{
	UNROLL for (int j = 0; j < 4; j++) {
		__m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(FULL, r, w, rb, j, at)),
						    ld128(FULL, r, w, rb, j + 4, at), 1);
		__m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(FULL, r, w, rb, j + 8, at)),
						    ld128(FULL, r, w, rb, j + 12, at), 1);
		v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
	}
}

/* load_dh - the 16 rows' Q5 block heads (block at byte at), lane = row:
 * dm = d (Q5_1: and m above it), h = the qh word (at byte QH). 16-byte
 * loads as load_q4, dwords 0 and 1 gathered by 4 unpacks (measured 6%
 * faster at 8 tokens than scalar copies through the ring, for qh alone) */
static inline __attribute__((always_inline)) void
load_dh(const int FULL, const size_t QH, const uint8_t *const r[16], const uint8_t *w, size_t rb, size_t at,
	__m512i *dm, __m512i *h)
{
	__m512i v[4];
	load_q4(FULL, r, w, rb, at, v);
	__m512i a = _mm512_unpacklo_epi32(v[0], v[1]), c = _mm512_unpacklo_epi32(v[2], v[3]);
	__m512i x0 = _mm512_unpacklo_epi64(a, c), x1 = _mm512_unpackhi_epi64(a, c);
	*dm = x0;
	*h = QH == 4 ? x1 : _mm512_or_si512(_mm512_srli_epi32(x0, 16), _mm512_slli_epi32(x1, 16));
}

/* split_q4 - load_q4's bytes into o[k] = weights 4k..4k+3 of every row
 * as unsigned values, lane = row: the packed bytes are transposed first
 * (4 x 4 dwords per 128-bit unit), then split into nibbles, 8 shuffles
 * where the row pairs need 24 */
static inline __attribute__((always_inline)) void
split_q4(const __m512i v[4], __m512i o[8])
{
	__m512i t[4];
	const __m512i lo = _mm512_set1_epi8(0x0F);
	__m512i a0 = _mm512_unpacklo_epi32(v[0], v[1]), a1 = _mm512_unpackhi_epi32(v[0], v[1]);
	__m512i a2 = _mm512_unpacklo_epi32(v[2], v[3]), a3 = _mm512_unpackhi_epi32(v[2], v[3]);
	t[0] = _mm512_unpacklo_epi64(a0, a2);
	t[1] = _mm512_unpackhi_epi64(a0, a2);
	t[2] = _mm512_unpacklo_epi64(a1, a3);
	t[3] = _mm512_unpackhi_epi64(a1, a3);
	/* byte i of qs holds element i (low nibble) and i + 16 (high) */
	UNROLL for (int k = 0; k < 4; k++) {
		o[k] = _mm512_and_si512(t[k], lo);
		o[k + 4] = _mm512_and_si512(_mm512_srli_epi16(t[k], 4), lo);
	}
}

/* transpose4s - z[p] = [row a(p) dwords 0..7 | row a(p) + 4 dwords 0..7],
 * a(p) = p for p < 4, p + 4 after, into o[k] = dword k of rows 0..15.
 * transpose8 with its rows paired so that the last step is vshufi64x2, not
 * vpermt2q (which takes the vpdpbusd pipe, note 8): 8% at 8 tokens */
static inline __attribute__((always_inline)) void transpose4s(const __m512i z[8], __m512i o[8])
{
	__m512i u[8];

	unpack4x4(z, u);
	UNROLL for (int k = 0; k < 4; k++) {
		o[k] = _mm512_shuffle_i64x2(u[k], u[k + 4], 0x88);
		o[k + 4] = _mm512_shuffle_i64x2(u[k], u[k + 4], 0xDD);
	}
}

/* high5 - bit 4 of the Q5_0/Q5_1 weights into the byte columns of
 * split_q4: h holds the 16 rows' qh words (lane = row, bit e = element
 * e), o[j] byte b needs bit 4j + b at bit 4. Two delta swaps (index bits
 * 0<->3, 1<->4) move bit 4j + b to bit 8b + c(j), c(j) = j1 + 2 j2 + 4 j0
 * for j = j0 + 2 j1 + 4 j2; then one shift by 4 - c(j) per column lines
 * all four bytes up. Shifts and logic only: none of it competes with
 * vpdpbusd for its pipe (the mask registers of the row pairs did) */
static inline __attribute__((always_inline)) void high5(__m512i h, __m512i o[8])
{
	__m512i t;

	/* (a ^ b) & c is 0x28, a ^ b ^ c 0x96, a | (b & c) 0xF8 */
	t = _mm512_ternarylogic_epi32(_mm512_srli_epi32(h, 7), h, _mm512_set1_epi32(0x00AA00AA), 0x28);
	h = _mm512_ternarylogic_epi32(h, t, _mm512_slli_epi32(t, 7), 0x96);
	t = _mm512_ternarylogic_epi32(_mm512_srli_epi32(h, 14), h, _mm512_set1_epi32(0x0000CCCC), 0x28);
	h = _mm512_ternarylogic_epi32(h, t, _mm512_slli_epi32(t, 14), 0x96);
	const __m512i b4 = _mm512_set1_epi8(0x10);
	o[0] = _mm512_ternarylogic_epi32(o[0], _mm512_slli_epi32(h, 4), b4, 0xF8);
	o[1] = _mm512_ternarylogic_epi32(o[1], h, b4, 0xF8);
	o[2] = _mm512_ternarylogic_epi32(o[2], _mm512_slli_epi32(h, 3), b4, 0xF8);
	o[3] = _mm512_ternarylogic_epi32(o[3], _mm512_srli_epi32(h, 1), b4, 0xF8);
	o[4] = _mm512_ternarylogic_epi32(o[4], _mm512_slli_epi32(h, 2), b4, 0xF8);
	o[5] = _mm512_ternarylogic_epi32(o[5], _mm512_srli_epi32(h, 2), b4, 0xF8);
	o[6] = _mm512_ternarylogic_epi32(o[6], _mm512_slli_epi32(h, 1), b4, 0xF8);
	o[7] = _mm512_ternarylogic_epi32(o[7], _mm512_srli_epi32(h, 3), b4, 0xF8);
}

/* dots - acc[u] = the exact integer block dots of TT tokens (rows row[u],
 * corrections at oc, bytes at oq) with the byte columns o. Few tokens
 * split each into two chains of 4 (the vpdpbusd latency); from 4 tokens
 * on, the column loop runs outside the token loop: TT independent chains
 * side by side (measured 5% faster at 8 tokens than token after token) */
static inline __attribute__((always_inline)) void
dots(const int TT, const uint8_t *const row[], size_t oc, size_t oq, const __m512i o[8], __m512i acc[])
{
	UNROLL for (int u = 0; u < TT; u++)
		acc[u] = _mm512_set1_epi32(ld32(row[u] + oc));
	if (TT >= 4) {
		UNROLL for (int k = 0; k < 8; k++)
			UNROLL for (int u = 0; u < TT; u++)
				acc[u] = _mm512_dpbusd_epi32(acc[u], o[k], _mm512_set1_epi32(ld32(row[u] + oq + 4 * k)));
		return;
	}
	UNROLL for (int u = 0; u < TT; u++) {
		__m512i acc1 = _mm512_setzero_si512();
		UNROLL for (int k = 0; k < 8; k += 2) {
			acc[u] = _mm512_dpbusd_epi32(acc[u], o[k], _mm512_set1_epi32(ld32(row[u] + oq + 4 * k)));
			acc1 = _mm512_dpbusd_epi32(acc1, o[k + 1], _mm512_set1_epi32(ld32(row[u] + oq + 4 * k + 4)));
		}
		acc[u] = _mm512_add_epi32(acc[u], acc1);
	}
}

/* stream - TT <= SN_MAX tokens from t over all blocks, the weights
 * decoded in registers once per block for all of them (note 7) */
static inline __attribute__((always_inline)) void
stream(const int MIN, const int FULL, const int TT, pair_fn pair, const size_t QS, const size_t QH, const size_t bs,
       const uint8_t *w,
       size_t rb, int nr, const struct acts *A, uint32_t t, float *out, size_t os, __mmask16 m,
       __m512 bias)
{
	const uint8_t *r[16];
	const uint8_t *row[SN_MAX];
	__m512 f[SN_MAX];
	size_t oc = 8 * (size_t)A->nb, oq = 12 * (size_t)A->nb;
	alignas(32) uint16_t sd[SC_RING][16], sm[SC_RING][16];
	/* prefetch at least 16 KB ahead: one tile of short rows is too close */
	size_t ahead = 16 * rb < 16384 ? 32 * rb : 16 * rb;

	if (!FULL)
		(void)rows16(w, rb, nr, r);
	UNROLL for (int u = 0; u < TT; u++) {
		row[u] = A->a + (size_t)(t + u) * A->stride;
		f[u] = _mm512_setzero_ps();
	}
	for (int64_t b = 0; b < SC_AHEAD && b < A->nb && !QH; b++)
		copy_scales(MIN, FULL, r, w, rb, (size_t)b * bs, sd[b], sm[b]);
	__m512i vq[4], vz[8], vdm = _mm512_setzero_si512(), vh = _mm512_setzero_si512();
	if (QS) {
		load_q4(FULL, r, w, rb, QS, vq);
		if (QH)
			load_dh(FULL, QH, r, w, rb, 0, &vdm, &vh);
	} else {
		UNROLL for (int p = 0; p < 8; p++)
			vz[p] = pair(rowp(FULL, r, w, rb, p + (p & 4), 0), rowp(FULL, r, w, rb, p + (p & 4) + 4, 0));
	}
	for (int64_t b = 0; b < A->nb; b++) {
		size_t at = (size_t)b * bs;
		__m512i o[8], acc[SN_MAX];
		if (b + SC_AHEAD < A->nb && !QH)
			copy_scales(MIN, FULL, r, w, rb, at + SC_AHEAD * bs, sd[(b + SC_AHEAD) % SC_RING],
				    sm[(b + SC_AHEAD) % SC_RING]);
		/* the tile is 16 * rb contiguous bytes, walked 16 * bs at a time;
		 * T1 measured 2x the DRAM rate of T0 here */
		UNROLL for (size_t l = 0; l < 16 * bs; l += 64)
			_mm_prefetch((const char *)w + ahead + 16 * at + l, _MM_HINT_T1);
		__m512 dw, mw = _mm512_setzero_ps();
		if (QH) {
			dw = scales16(vdm);
			if (MIN)
				mw = mins16(vdm);
		} else {
			dw = _mm512_cvtph_ps(_mm256_load_si256((const void *)sd[b % SC_RING]));
			if (MIN)
				mw = _mm512_cvtph_ps(_mm256_load_si256((const void *)sm[b % SC_RING]));
		}
		if (QS) {
			split_q4(vq, o);
			if (QH)
				high5(vh, o);
			if (b + 1 < A->nb) {
				load_q4(FULL, r, w, rb, at + bs + QS, vq);
				if (QH)
					load_dh(FULL, QH, r, w, rb, at + bs, &vdm, &vh);
			}
		} else {
			transpose4s(vz, o);
			if (b + 1 < A->nb)
				UNROLL for (int p = 0; p < 8; p++)
					vz[p] = pair(rowp(FULL, r, w, rb, p + (p & 4), at + bs),
						     rowp(FULL, r, w, rb, p + (p & 4) + 4, at + bs));
		}
		dots(TT, row, oc + 4 * (size_t)b, oq + 32 * (size_t)b, o, acc);
		UNROLL for (int u = 0; u < TT; u++) {
			__m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(ldf(row[u] + 4 * (size_t)b)));
			f[u] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(acc[u]), f[u]);
			if (MIN)
				f[u] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ldf(row[u] + 4 * (size_t)(A->nb + b))), f[u]);
		}
	}
	UNROLL for (int u = 0; u < TT; u++)
		_mm512_mask_storeu_ps(out + (size_t)(t + u) * os, m, _mm512_add_ps(f[u], bias));
}

/* STREAM - per weight type: the streaming path for 1..SN_MAX tokens; a
 * tail tile goes token by token (rare: row counts are multiples of 16) */
#define SN(name, blk, MIN, QS, QH, TT) \
	stream(MIN, 1, TT, name##_pair, QS, QH, sizeof(struct blk), w, rb, nr, A, 0, out, os, m, bias)
#define STREAM(name, blk, PAIR, MIN, QS, QH)					\
static __m512i name##_pair(const void *a, const void *b)			\
{										\
	return PAIR(a, b);							\
}										\
										\
static void name(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok, \
		 float *out, size_t os, __mmask16 m, __m512 bias)		\
{										\
	if (nr < 16) {								\
		for (uint32_t t = 0; t < n_tok; t++)				\
			stream(MIN, 0, 1, name##_pair, QS, QH, sizeof(struct blk), w, rb, nr, A, t, out, os, m, bias); \
		return;								\
	}									\
	switch (n_tok) {							\
	case 1: SN(name, blk, MIN, QS, QH, 1); break;				\
	case 2: SN(name, blk, MIN, QS, QH, 2); break;				\
	case 3: SN(name, blk, MIN, QS, QH, 3); break;				\
	case 4: SN(name, blk, MIN, QS, QH, 4); break;				\
	case 5: SN(name, blk, MIN, QS, QH, 5); break;				\
	case 6: SN(name, blk, MIN, QS, QH, 6); break;				\
	case 7: SN(name, blk, MIN, QS, QH, 7); break;				\
	default: SN(name, blk, MIN, QS, QH, 8); break;				\
	}									\
}

STREAM(sn_q8_0, block_q8_0, pair_q8_0, 0, 0, 0)
STREAM(sn_q4_0, block_q4_0, pair_q4_0, 0, offsetof(struct block_q4_0, qs), 0)
STREAM(sn_q5_0, block_q5_0, pair_q5_0, 0, offsetof(struct block_q5_0, qs), offsetof(struct block_q5_0, qh))
STREAM(sn_q4_1, block_q4_1, pair_q4_1, 1, offsetof(struct block_q4_1, qs), 0)
STREAM(sn_q5_1, block_q5_1, pair_q5_1, 1, offsetof(struct block_q5_1, qs), offsetof(struct block_q5_1, qh))

#undef SN

/* ------------------------------------------------------------- compute */

/* run - TT tokens from t over repacked blocks [i0, i0 + kb): note 3 */
static inline __attribute__((always_inline)) void
run(const int MIN, const int TT, const __m512i *pk, int64_t i0, int kb, const struct acts *A, uint32_t t,
    float *out, size_t os, __mmask16 m, int first, int last, __m512 bias)
{
	__m512 f[8];
	const uint8_t *row[8];	/* one pointer per token, shared offsets: fits the registers */

	UNROLL for (int u = 0; u < TT; u++) {
		row[u] = A->a + (size_t)(t + u) * A->stride;
		f[u] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, out + (size_t)(t + u) * os);
	}
	for (int i = 0; i < kb; i++, pk += PK) {
		int64_t b = i0 + i;
		size_t od = 4 * (size_t)b, osa = 4 * (size_t)(A->nb + b);
		size_t oc = 4 * (size_t)(2 * A->nb + b), oq = 12 * (size_t)A->nb + 32 * (size_t)b;
		__m512i w[8];
		UNROLL for (int k = 0; k < 8; k++)
			w[k] = _mm512_load_si512(pk + k);
		__m512 dw = _mm512_castsi512_ps(_mm512_load_si512(pk + 8));
		__m512 mw = _mm512_castsi512_ps(_mm512_load_si512(pk + 9));
		UNROLL for (int u = 0; u < TT; u++) {
			/* two chains of 4 halve the dpbusd latency chain; integers, so exact */
			__m512i acc = _mm512_set1_epi32(ld32(row[u] + oc)), acc1 = _mm512_setzero_si512();
			UNROLL for (int k = 0; k < 8; k += 2) {
				acc = _mm512_dpbusd_epi32(acc, w[k], _mm512_set1_epi32(ld32(row[u] + oq + 4 * k)));
				acc1 = _mm512_dpbusd_epi32(acc1, w[k + 1],
							   _mm512_set1_epi32(ld32(row[u] + oq + 4 * k + 4)));
			}
			acc = _mm512_add_epi32(acc, acc1);
			__m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(ldf(row[u] + od)));
			f[u] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(acc), f[u]);
			if (MIN)
				f[u] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ldf(row[u] + osa)), f[u]);
		}
	}
	UNROLL for (int u = 0; u < TT; u++) {
		if (last)
			f[u] = _mm512_add_ps(f[u], bias);
		_mm512_mask_storeu_ps(out + (size_t)(t + u) * os, m, f[u]);
	}
}

typedef void (*pack_fn)(const uint8_t *w, size_t rb, int nr, int64_t i0, int kb, __m512i *pk);
typedef void (*sn_fn)(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
		      float *out, size_t os, __mmask16 m, __m512 bias);

static inline void tile(const int MIN, pack_fn pack, sn_fn sn, int64_t n, const uint8_t *w, size_t rb, int nr,
			const void *act, size_t as, uint32_t n_tok, float *out, size_t os,
			const float *bias)
{
	alignas(64) __m512i pk[KB * PK];
	struct acts A = { act, as, n / QK8_0 };
	__mmask16 m = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
	__m512 vb = bias ? _mm512_maskz_loadu_ps(m, bias) : _mm512_setzero_ps();

	if (n_tok <= SN_RUNS * SN_MAX) {
		for (uint32_t t = 0; t < n_tok; t += SN_MAX) {
			struct acts At = { A.a + (size_t)t * as, as, A.nb };
			sn(w, rb, nr, &At, n_tok - t < SN_MAX ? n_tok - t : SN_MAX, out + (size_t)t * os, os, m, vb);
		}
		return;
	}
	for (int64_t i0 = 0; i0 < A.nb; i0 += KB) {
		int kb = A.nb - i0 < KB ? (int)(A.nb - i0) : KB;
		int first = i0 == 0, last = i0 + kb == A.nb;
		uint32_t t = 0;
		pack(w, rb, nr, i0, kb, pk);
		for (; t + 8 <= n_tok; t += 8)
			run(MIN, 8, pk, i0, kb, &A, t, out, os, m, first, last, vb);
		for (; t < n_tok; t++)
			run(MIN, 1, pk, i0, kb, &A, t, out, os, m, first, last, vb);
	}
}

#define TILE(name, pack, sn, MIN)					\
static void name(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as, \
		 uint32_t n_tok, float *out, size_t os, const float *bias)	\
{										\
	tile(MIN, pack, sn, n, w, rb, nr, act, as, n_tok, out, os, bias);		\
}

TILE(tile_q8_0, pack_q8_0, sn_q8_0, 0)
TILE(tile_q4_0, pack_q4_0, sn_q4_0, 0)
TILE(tile_q5_0, pack_q5_0, sn_q5_0, 0)
TILE(tile_q4_1, pack_q4_1, sn_q4_1, 1)
TILE(tile_q5_1, pack_q5_1, sn_q5_1, 1)

/* eng_kernels_mm_q8_0_fill - the Q8_0-activation types' tiles */
void eng_kernels_mm_q8_0_fill(struct eng_kernels *k)
{
	k->mm[GGML_TYPE_Q8_0] = (struct eng_mm){ act_bytes, quantize_q8_0, tile_q8_0 };
	k->mm[GGML_TYPE_Q4_0] = (struct eng_mm){ act_bytes, quantize_q4_0, tile_q4_0 };
	k->mm[GGML_TYPE_Q5_0] = (struct eng_mm){ act_bytes, quantize_q5_0, tile_q5_0 };
	k->mm[GGML_TYPE_Q4_1] = (struct eng_mm){ act_bytes, quantize_q4_1, tile_q4_1 };
	k->mm[GGML_TYPE_Q5_1] = (struct eng_mm){ act_bytes, quantize_q4_1, tile_q5_1 };
}
