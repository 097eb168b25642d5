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
 *	5. Generation (up to FEW_MAX tokens) does not repay the repacking:
 *	   few_K reads each row's super-block as it lies in memory, once for
 *	   all tokens (in passes of FEW tokens, the block then in L1), as
 *	   four vectors of 64 values (nib_q45_K, nib_q6_K) matched by the
 *	   token's bytes in the same order (Q4_K, Q5_K: 64-bit lanes of the
 *	   activations permuted). vpmaddubsw, then vpdpwssd with the row's
 *	   sub-block scales expanded to words (ex_q45_K, ex_q6_K), keep one
 *	   vector of int32 partials per row and token for the whole
 *	   super-block; rows are reduced 4 at a time (red4), then into lane =
 *	   row (red16). The integers are the tile's exact isum, the minimum
 *	   and -32 terms come lane = row as in the tile, and the float step is
 *	   the same code (fin_q4_K, fin_q6_K): any n_tok gives bitwise what
 *	   the tile gives (test_kernels, every batch size 1..9).
 *	6. Scales are decoded for all 16 rows at once: the packed scale
 *	   bytes as dwords, lane = row (rows4x4; Q6_K's d by a gather), then
 *	   shifts and masks (scalar decoding per row cost as much as the
 *	   transposes).
 *	7. A tile's 16 rows are contiguous in memory, so both paths prefetch
 *	   the next tile as one sequential stream, a super-block's share per
 *	   step (prefetch_tile): 16 interleaved row streams left the hardware
 *	   prefetchers behind (one-token Q4_K from DRAM ran at a third of the
 *	   speed it reached from L2). The tile issues them after packing,
 *	   not before: a burst of 36-53 prefetches in front of the packing's
 *	   own loads held those up, and Q6_K from DRAM ran 10-15% slower
 *	   than from L2 at 16..32 tokens (now even; tests/tools/kbench).
 *	8. Between super-blocks a tile's float accumulators wait in acc, a
 *	   contiguous scratch for a chunk of up to TCH tokens, and go
 *	   to out once at the end. Waiting in out itself, at the caller's
 *	   row stride (n_out floats, often a multiple of 4 KB), put every
 *	   token's 64 bytes into the same few L1 sets, so each super-block's
 *	   reload missed: the Q4_K and Q6_K tiles ran ~20% slower on 1024 to
 *	   2048 rows than on 16. The stored values are the same floats.
 *	   Chunks of 128 tokens (8 KB) repack half as often as chunks of 64:
 *	   +4-10% where the caller hands over that many (matmul TOK_CHUNK).
 *	9. The tile runs a chunk's tokens 8 at a time and the rest (1..7) as
 *	   one group, each weight column loaded once per group: run one at a
 *	   time, a rest of 7 tokens cost as much as 7 groups of 8.
 *	10. Packing costs as much as running 3 to 4 tokens, so it moves
 *	   bytes as they lie: the scale bytes by rows4x4 (dword gathers
 *	   were a third of it), Q4_K's packed nibbles transposed once for
 *	   both sub-blocks that share them, Q6_K's ql and qh transposed
 *	   before they are combined.
 *	11. This machine is Zen 4 (family 25): a 512-bit vpdpbusd, vpmulld,
 *	   vpdpwssd or vfmadd issues once a cycle, and they share the pipes,
 *	   while a 512-bit store takes 2 cycles; logic, shifts and broadcast
 *	   loads in a loop of vpdpbusd alone cost nothing (but see Q6_K
 *	   below). Per token and 16-row super-block Q4_K needs 64 vpdpbusd + 8 vpmulld + 4
 *	   vpdpwssd + 4 float multiplies, 80 cycles (~23 ns); the tile runs
 *	   at ~24 ns from 64 tokens on, so what is left is the packing. Q4_K
 *	   stores its packed bytes as they are, 32 columns instead of 64,
 *	   and run_q45_K takes the nibbles (packing 85 -> 59 ns, tile 1-3%
 *	   faster at 8..32 tokens, tests/tools/kbench). Tried and dropped:
 *	   raw8 by masked broadcast loads instead of inserts (even); Q6_K
 *	   storing ql and qh as they lie and assembling the values in
 *	   run_q6_K (packing 118 -> 79 ns, but the tile 15-20% slower:
 *	   the assembly there is not free); embedded {1to16} broadcasts
 *	   would save nothing (vpbroadcastd beside vpdpbusd is free).
 *	   Narrower products do not help either: int16 partial sums of a
 *	   32-element sub-block overflow (15 * 127 * 32 > 32767), so any
 *	   form needs one multiply per sub-block and token, as vpmulld does.
 *	12. Packed weights (engine/wpack.c note 1: a full tile's super-block
 *	   as dword columns, lane = row, the file's size): tile_q4_K_p and
 *	   tile_q6_K_p run the same code as the tiles above on what
 *	   pack_q4_K_p / pack_q6_K_p give. Q4_K reads its nibble columns
 *	   where they lie and decodes only the scales (4 columns, note 6
 *	   without the transposes); Q6_K still combines ql and qh into pk
 *	   (the tile needs whole 6-bit values, note 11) but from columns
 *	   loaded as they are. Same integers, same float chain: bitwise the
 *	   file layout's results (test_kernels). They serve every n_tok (but
 *	   Q4_K's one token, note 13): a token's work no longer carries a
 *	   repacking, and from L2 one token costs less than few_K's
 *	   (Q4_K 66 vs 101 ns per 16-row super-block, Q6_K 128 vs 172;
 *	   tests/tools/kbench). few_K stays for tail tiles and Q5_K.
 *	13. One token on a packed Q4_K tile (generation) skips the tile's
 *	   staging: gemv_q4_K_p decodes the scales in registers (the tile
 *	   stores 14 vectors of them a super-block, 2 cycles a store),
 *	   keeps the accumulator in a register (not acc) and masks each
 *	   nibble column in place, the high nibbles by & 0xF0 (16 x the
 *	   value, still a byte) and the sub-block's sum shifted back once:
 *	   one operation a column less than the tile's shift and mask. The
 *	   integers are the tile's and the float step is fin_q4_K, so one
 *	   token alone gives the batch's bits (test_kernels). It issues no
 *	   software prefetch: a packed tile is one ascending stream and the
 *	   hardware prefetchers keep up (with the tile's prefetch_tile it
 *	   ran 10-30% slower from DRAM). Per 16-row super-block (kbench,
 *	   2048x8192, loaded machine): from L2 62 -> 44-50 ns; from DRAM,
 *	   one kbench per core as generation's 2 threads stream, 94-108 ->
 *	   85-92 ns (8192x2048: 87-108 -> 89-91). Tried and dropped: the
 *	   same for Q6_K (ql and qh combined in registers, as comb_q6_K, and
 *	   used at once): from L2 113 -> 75-79 ns, but from DRAM 140-167 ->
 *	   180-195 ns with two kbench, whatever the prefetching (the tile's,
 *	   2 or 4 super-blocks ahead, the current one first;
 *	   T0 hints 2x slower, T2 even with T1), presumably because the
 *	   tile's burst of all 53 column loads up front keeps more misses in
 *	   flight than loads spread over the computation; with none at all
 *	   370 ns: the hardware prefetchers do not follow Q6_K's three
 *	   interleaved column streams.
 *	14. A chunk of 4..15 tokens (DIRECT_MIN, DIRECT_MAX) on a packed
 *	   Q6_K tile skips pack_q6_K_p (TILE's DIRECT): run_q6_K_r combines
 *	   ql and qh per column with comb_q6_K's operations (w_q6_K) and
 *	   decodes each sub-block's scale in registers as it goes, storing
 *	   nothing (pack stores 81 vectors a super-block, 2 cycles a store),
 *	   each group of 8 again; the first group spreads the next tile's
 *	   prefetches over its sub-blocks, 4 lines each, instead of
 *	   prefetch_tile's burst of 53. Same integers, same float chain
 *	   (fin_q6_K_d): bitwise the packed tile's results (test_kernels,
 *	   kbench hashes). kbench 2560x262144, loaded machine (load 2.7,
 *	   alternated, min of 3), ns from L2 / DRAM, before -> after:
 *	   N=4 41.4/45.5 -> 29.5/32.1, 5 37.9/40.9 -> 28.1/29.6, 8 32.8/35.5
 *	   -> 25.4/25.3, 9 33.1/34.8 -> 29.1/29.0, 12 29.1/30.7 -> 26.1/25.9,
 *	   15 28.0/29.3 -> 25.2/25.2; 1..3 and 16.. unchanged (pack path).
 *	   Measured and dropped: the direct path for 1..3 tokens (from L2
 *	   15-25% faster, from DRAM up to 40% slower at 1-2 tokens, with
 *	   the burst or spread prefetches alike: one token's work is too
 *	   short to hide the misses); for 16 tokens and more (two or more
 *	   full groups each combining again: 16 tokens 28 -> 29-34, 64
 *	   24.5 -> 26); the first group combining and storing pk for the
 *	   others (8% slower at 64, even at 12-16); prefetching 1..8
 *	   super-blocks ahead in the tile's own stream instead of the next
 *	   tile (from L2 5-15% faster, from DRAM 1-2 tokens 50% slower:
 *	   fewer misses in flight); prefetcht2 or prefetchnta for t1 (even).
 *	   For Q4_K, its scales decoded in registers per group (gemv_q4_K_sb's
 *	   way) ran 1-5% slower at every N from 8, and so did decoding them
 *	   in the first group and storing them for the rest: its fixed cost
 *	   per super-block is small (quiet machine, from L2, N=8 25.7 vs N=64
 *	   23.0 ns; the brief's ~90 ns was mostly load), and without the
 *	   prefetch burst it is unchanged (25.7).
 *	15. sub_q45_K pins each sub-block's isum in its register (an empty
 *	   asm), as run_q6_K_r does: gcc otherwise reassociates the integer
 *	   sums and defers some multiplies through the stack. Q4_K tiles
 *	   2-5% faster at 4..64 tokens (kbench 2560x10240 and 10240x2560 from
 *	   L2 and DRAM, alternated: N=4 28.9-30.4 -> 27.2-28.1, 8 25.6-26.4
 *	   -> 24.8-25.3, 12 25.0-25.6 -> 24.0-24.4, 32 23.3-23.9 -> 23.0-23.3),
 *	   bitwise unchanged (on a quieter machine later 1-2%: 8 tokens
 *	   25.2-25.6 -> 24.9-25.2). The same pin in run_q6_c changed nothing.
 *	16. Notes 14-15 together against e9e95cc, kbench ns L2 / DRAM, min of
 *	   2 alternated runs, load 2-3:
 *	   Q6_K 2560x262144 N=8 32.6/34.4 -> 25.4/25.4, 12 29.3/30.5 ->
 *	   26.1/26.0, 13 28.9/29.9 -> 26.1/26.0; Q6_K 10240x2560 N=8 32.3/34.4
 *	   -> 25.0/25.3, 12 29.2/30.6 -> 25.9/26.0; N=1 and 16..64 even;
 *	   Q4_K 2560x10240 N=8 25.5/25.6 -> 25.2/25.2, 13 24.6/24.8 ->
 *	   24.1/24.3, others within 1%. docket bench gemma3-4b Q4_K_M -p 512
 *	   -n 32 -t 2 (pp unchanged), alternated on a loaded machine (load
 *	   4-5: another engine and builds): -b 8 tg 29.6, 30.2 -> 32.2, 33.1
 *	   t/s aggregate (+9%); -b 16 34.5 -> 34.8 (16-token steps keep the
 *	   Q6_K pack path).
 */
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/avx512/tile16.h"

#define PK 81	/* vectors per repacked super-block: 64 columns + scales */
#define DIRECT_MIN 4	/* packed Q6_K tiles of 4..15 tokens run straight */
#define DIRECT_MAX 15	/* from the tile layout (note 14) */
#define TCH 128	/* tokens per chunk of a tile's accumulators (note 8) */
#define FEW_MAX 3	/* up to this many tokens take few_K (note 5); from 4 on
			 * the repacking tile is faster now that its remainder
			 * tokens go together (note 9): per token and 16-row
			 * super-block, from L2, 4 tokens 41 vs 52 ns (Q4_K),
			 * 59 vs 67 (Q6_K) */
#define FEW_Q4_K 2	/* Q4_K, its packing cheaper (note 11), takes the
			 * tile from 3 tokens: there 43-49 vs 52-66 ns from
			 * L2, 44-53 vs 53-64 from DRAM (kbench on a loaded
			 * machine); at 2 tokens the paths are even, at 1
			 * few_K wins */

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

/* prefetch_tile - the next tile's bytes in memory order, the share of
 * super-block offset at (of block size bs): 16 rows are contiguous, so the
 * whole tile arrives as one sequential stream while this one is computed
 * (16 interleaved row streams left the hardware prefetchers behind). An
 * asm statement, because gcc 12's dead code elimination deletes a loop of
 * nothing but _mm_prefetch (it did so in 5 of the 6 places here) */
static inline void prefetch_tile(const uint8_t *w, size_t rb, size_t at, size_t bs)
{
	const char *p = (const char *)w + 16 * rb + 16 * at;

	for (size_t o = 0; o < 16 * bs; o += 64)
		__asm__ volatile("prefetcht1 %0" : : "m"(*(p + o)));
}

/* ---------------------------------------------------------- repacking */

static inline __m512i pair32(const uint8_t *a, const uint8_t *b)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const void *)a)),
				  _mm256_loadu_si256((const void *)b), 1);
}

/* rows4x4 - the 16 bytes at offset o of each of the 16 rows as four
 * vectors: v[d] lane r = dword d of row r's bytes (note 6) */
static inline __attribute__((always_inline)) void rows4x4(const uint8_t *const r[16], size_t o, __m512i v[4])
{
	__m512i x[4], lo01, hi01, lo23, hi23;

	/* x[k] 128-bit unit u: row 4u + k, so the 4x4 transposes of the
	 * units put dword d of row 4u + e at lane 4u + e */
#define LD16(j) _mm_loadu_si128((const void *)(r[j] + o))
	UNROLL for (int k = 0; k < 4; k++)
		x[k] = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(
			_mm512_castsi128_si512(LD16(k)), LD16(4 + k), 1), LD16(8 + k), 2), LD16(12 + k), 3);
#undef LD16
	lo01 = _mm512_unpacklo_epi32(x[0], x[1]);
	hi01 = _mm512_unpackhi_epi32(x[0], x[1]);
	lo23 = _mm512_unpacklo_epi32(x[2], x[3]);
	hi23 = _mm512_unpackhi_epi32(x[2], x[3]);
	v[0] = _mm512_unpacklo_epi64(lo01, lo23);
	v[1] = _mm512_unpackhi_epi64(lo01, lo23);
	v[2] = _mm512_unpacklo_epi64(hi01, hi23);
	v[3] = _mm512_unpackhi_epi64(hi01, hi23);
}

/* dec_q45_K, scales_q45_K - from the 16 rows' headers (v[k] lane r = dword k
 * of row r's d, dmin and scales: rows4x4 of the blocks at at, or columns
 * 0..3 of the tile layout): sk[0..7] sub-block scales, sk[8..11] min pairs
 * (mn[2g] low, mn[2g + 1] high int16, for vpdpwssd), sk[12] d, sk[13]
 * dmin, lane = row (note 6) */
static inline __attribute__((always_inline)) void dec_q45_K(const __m512i v[4], __m512i *sk)
{
	/* d and dmin, then scales bytes 0-3, 4-7, 8-11 of each row */
	__m512i dd = v[0], qa = v[1], qb = v[2], qc = v[3];
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
	sk[12] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)));
	sk[13] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
}

static inline __attribute__((always_inline)) void scales_q45_K(const uint8_t *const r[16], size_t at, __m512i *sk)
{
	__m512i v[4];

	rows4x4(r, at, v);
	dec_q45_K(v, sk);
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

/* raw8 - bytes o..o + 31 of the 16 rows as 8 columns of dwords (lane =
 * row): c[k] dword k, i.e. bytes 4k..4k + 3, of each row */
static inline __attribute__((always_inline)) void raw8(const uint8_t *const r[16], size_t o, __m512i c[8])
{
	__m512i z[8];

	UNROLL for (int p = 0; p < 8; p++)
		z[p] = pair32(r[p] + o, r[p + 8] + o);
	transpose8(z, c);
}

/* pack_q45_K - pk: Q5_K 64 columns (sub-block j at 8j), Q4_K the 32
 * columns of packed bytes (sub-blocks 2g and 2g + 1 share those at 8g,
 * note 11), then scales_q45_K at 64: up to 78 of the PK vectors */
static inline __attribute__((always_inline)) const uint8_t *
pack_q45_K(const int FIVE, const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *r[16];
	size_t bs = FIVE ? sizeof(struct block_q5_K) : sizeof(struct block_q4_K);
	size_t at = (size_t)b * bs;

	rows16(w, rb, nr, r);
	for (int g = 0; g < 4; g++) {
		if (FIVE) {
			__m512i lo[8], hi[8];
			cols_q45_K(FIVE, r, at, g, lo, hi);
			transpose8(lo, pk + 16 * g);
			transpose8(hi, pk + 16 * g + 8);
			continue;
		}
		raw8(r, at + 16 + 32 * (size_t)g, pk + 8 * g);
	}
	scales_q45_K(r, at, pk + 64);
	return (const uint8_t *)pk;
}

static const uint8_t *pack_q4_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	return pack_q45_K(0, w, rb, nr, b, pk);
}

static const uint8_t *pack_q5_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	return pack_q45_K(1, w, rb, nr, b, pk);
}

/* col - column k of a super-block in the tile layout (engine/wpack.c):
 * dword k of the 16 rows, lane = row */
static inline __m512i col(const uint8_t *p, int k)
{
	return _mm512_loadu_si512((const void *)(p + 64 * (size_t)k));
}

/* pack_q4_K_p - a full tile in the tile layout (note 12): the scales
 * decoded from columns 0..3 into pk + 64; the tile reads the nibble
 * columns 4..35 where they lie */
static const uint8_t *pack_q4_K_p(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *p = w + 16 * (size_t)b * sizeof(struct block_q4_K);
	__m512i v[4] = { col(p, 0), col(p, 1), col(p, 2), col(p, 3) };

	(void)rb, (void)nr;
	dec_q45_K(v, pk + 64);
	return p + 64 * 4;
}

/* dec_q6_K - the 16 rows' scale bytes (v[q] lane r = dword q of row r's
 * scales) as sk[0..15], int8 sign-extended, lane = row */
/* sc_q6_K - the signed scale byte j (0..3) of each dword lane of v */
static inline __m512i sc_q6_K(__m512i v, const int j)
{
	return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * j), 24);
}

static inline __attribute__((always_inline)) void dec_q6_K(const __m512i v[4], __m512i *sk)
{
	UNROLL for (int q = 0; q < 4; q++)
		UNROLL for (int j = 0; j < 4; j++)
			sk[4 * q + j] = sc_q6_K(v[q], j);
}

/* scales_q6_K - from the 16 rows' blocks at at: sk[0..15] int8
 * sub-block scales sign-extended, sk[16] d, lane = row (note 6) */
static inline __attribute__((always_inline)) void scales_q6_K(__m512i vo, const uint8_t *const r[16], size_t at,
							    __m512i *sk)
{
	__m512i v[4];

	rows4x4(r, at + 192, v);
	dec_q6_K(v, sk);
	/* the dword ending with d, so the gather stays inside the block */
	__m512i dd = _mm512_i32gather_epi32(vo, (const void *)(r[0] + at + 206), 1);
	sk[16] = _mm512_castps_si512(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
}

/* comb1_q6_K - a column of sub-block pair kk (0..3) of 6-bit values: the
 * low nibbles of l (its high ones for kk >= 2) and bits 4, 5 from qh
 * shifted by 4, 2, 0 or -2 */
static inline __attribute__((always_inline)) __m512i comb1_q6_K(__m512i l, __m512i qh, const int kk)
{
	if (kk >= 2)
		l = _mm512_srli_epi16(l, 4);
	qh = kk == 0 ? _mm512_slli_epi16(qh, 4) : kk == 1 ? _mm512_slli_epi16(qh, 2)
		: kk == 3 ? _mm512_srli_epi16(qh, 2) : qh;
	/* (A & C) | B with B already masked to bits 4, 5 */
	return _mm512_ternarylogic_epi32(l, _mm512_and_si512(qh, _mm512_set1_epi8(0x30)),
					 _mm512_set1_epi8(0x0F), 0xEC);
}

/* comb_q6_K - half h of pk from its transposed ql (l0: bytes 64h..64h+31,
 * l1: the next 32) and qh (bytes 128 + 32h..) columns. ggml's layout:
 * element 128h + 32k + l has its low 4 bits in ql byte 64h + 32(k & 1) + l
 * (high nibble for k >= 2), its high 2 bits at bit 2k of qh byte 32h + l */
static inline __attribute__((always_inline)) void
comb_q6_K(const __m512i l0[8], const __m512i l1[8], const __m512i qh[8], __m512i *o)
{
	UNROLL for (int c = 0; c < 8; c++) {
		o[c] = comb1_q6_K(l0[c], qh[c], 0);
		o[8 + c] = comb1_q6_K(l1[c], qh[c], 1);
		o[16 + c] = comb1_q6_K(l0[c], qh[c], 2);
		o[24 + c] = comb1_q6_K(l1[c], qh[c], 3);
	}
}

/* pack_q6_K - pk: 64 columns (sub-block s of 16 at 4s), 16 scales, d;
 * the packed bytes transposed as they lie (ql twice, qh once per half) */
static const uint8_t *pack_q6_K(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t at = (size_t)b * sizeof(struct block_q6_K);

	for (int h = 0; h < 2; h++) {
		__m512i l0[8], l1[8], qh[8];
		raw8(r, at + 64 * (size_t)h, l0);
		raw8(r, at + 64 * (size_t)h + 32, l1);
		raw8(r, at + 128 + 32 * (size_t)h, qh);
		comb_q6_K(l0, l1, qh, pk + 32 * h);
	}
	scales_q6_K(vo, r, at, pk + 64);
	return (const uint8_t *)pk;
}

/* pack_q6_K_p - a full tile in the tile layout (note 12): ql and qh
 * already transposed (columns 16h.. and 32 + 8h..), so only combined as
 * pack_q6_K does; scales from columns 48..51, d from the 16 halves after */
static const uint8_t *pack_q6_K_p(const uint8_t *w, size_t rb, int nr, int64_t b, __m512i *pk)
{
	const uint8_t *p = w + 16 * (size_t)b * sizeof(struct block_q6_K);
	__m512i v[4] = { col(p, 48), col(p, 49), col(p, 50), col(p, 51) };

	(void)rb, (void)nr;
	for (int h = 0; h < 2; h++) {
		__m512i l0[8], l1[8], qh[8];
		UNROLL for (int c = 0; c < 8; c++) {
			l0[c] = col(p, 16 * h + c);
			l1[c] = col(p, 16 * h + 8 + c);
			qh[c] = col(p, 32 + 8 * h + c);
		}
		comb_q6_K(l0, l1, qh, pk + 32 * h);
	}
	dec_q6_K(v, pk + 64);
	pk[80] = _mm512_castps_si512(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 64 * 52))));
	return (const uint8_t *)pk;
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

static inline __m512 fin_q6_K_d(__m512 d, __m512i isum, float da, __m512 f)
{
	return _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(da)), _mm512_cvtepi32_ps(isum), f);
}

static inline __m512 fin_q6_K(const __m512i *sk, __m512i isum, float da, __m512 f)
{
	return fin_q6_K_d(_mm512_castsi512_ps(_mm512_load_si512(sk + 16)), isum, da, f);
}

/* sub_q45_K - sub-block j of TT tokens into isum, the columns at nib, the
 * scales sk (scales_q45_K); Q4_K (RAW) takes its nibbles from the packed
 * bytes at column 8(j / 2), the high ones for odd j */
static inline __attribute__((always_inline)) void
sub_q45_K(const int RAW, const int TT, const uint8_t *nib, const __m512i *sk, const struct tok *k, int j,
	  int hi, __m512i *isum)
{
	__m512i dp[8];

	UNROLL for (int u = 0; u < TT; u++)
		dp[u] = _mm512_setzero_si512();
	UNROLL for (int c = 0; c < 8; c++) {
		__m512i w = col(nib, (RAW ? 8 * (j / 2) : 8 * j) + c);
		if (RAW)
			w = _mm512_and_si512(hi ? _mm512_srli_epi16(w, 4) : w, _mm512_set1_epi8(0x0F));
		UNROLL for (int u = 0; u < TT; u++)
			dp[u] = _mm512_dpbusd_epi32(dp[u], w,
						    _mm512_set1_epi32(ld32(k[u].row + k[u].oq + 32 * j + 4 * c)));
	}
	__m512i sc = _mm512_load_si512(sk + j);
	UNROLL for (int u = 0; u < TT; u++) {
		isum[u] = _mm512_add_epi32(isum[u], _mm512_mullo_epi32(dp[u], sc));
		__asm__("" : "+v"(isum[u]));	/* note 15 */
	}
}

/* run_q45_K - TT tokens at their super-block (note 3); RAW as sub_q45_K,
 * its two sub-blocks of a byte column in one pass (the shift an
 * immediate: by a register count the Q4_K tile ran 10% slower); Q5_K one
 * sub-block a pass (two ran 20% slower) */
static inline __attribute__((always_inline)) void
run_q45_K(const int RAW, const int TT, const uint8_t *nib, const __m512i *sk, const struct tok *k, __m512 *f)
{
	__m512i isum[8], imin[8];

	UNROLL for (int u = 0; u < TT; u++)
		isum[u] = imin[u] = _mm512_setzero_si512();
	if (RAW) {
		for (int g = 0; g < 4; g++) {
			sub_q45_K(RAW, TT, nib, sk, k, 2 * g, 0, isum);
			sub_q45_K(RAW, TT, nib, sk, k, 2 * g + 1, 1, isum);
		}
	} else {
		for (int j = 0; j < 8; j++)
			sub_q45_K(RAW, TT, nib, sk, k, j, 0, isum);
	}
	for (int g = 0; g < 4; g++) {
		__m512i mn = _mm512_load_si512(sk + 8 + g);
		UNROLL for (int u = 0; u < TT; u++)
			imin[u] = _mm512_dpwssd_epi32(imin[u], mn, _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * g)));
	}
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin_q4_K(sk, isum[u], imin[u], ldf(k[u].row + k[u].od), f[u]);
}

static inline __attribute__((always_inline)) void
run_q4_K(const int TT, const int ST, const uint8_t *nib, const __m512i *pk, size_t rb, const struct tok *k,
         __m512 *f)
{
	(void)ST, (void)rb;
	run_q45_K(1, TT, nib, pk + 64, k, f);
}

static inline __attribute__((always_inline)) void
run_q5_K(const int TT, const int ST, const uint8_t *nib, const __m512i *pk, size_t rb, const struct tok *k,
         __m512 *f)
{
	(void)ST, (void)rb;
	run_q45_K(0, TT, nib, pk + 64, k, f);
}

/* run_q6_c - TT tokens at their super-block (note 3), the 64 columns at
 * nib, the scales sk (scales_q6_K) */
static inline __attribute__((always_inline)) void
run_q6_c(const int TT, const uint8_t *nib, const __m512i *sk, const struct tok *k, __m512 *f)
{
	__m512i isum[8], dp[8];

	UNROLL for (int u = 0; u < TT; u++)
		isum[u] = _mm512_setzero_si512();
	for (int s = 0; s < 16; s++) {
		UNROLL for (int u = 0; u < TT; u++)
			dp[u] = _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * s));
		UNROLL for (int c = 0; c < 4; c++) {
			__m512i w = col(nib, 4 * s + c);
			UNROLL for (int u = 0; u < TT; u++)
				dp[u] = _mm512_dpbusd_epi32(dp[u], w, _mm512_set1_epi32(ld32(k[u].row + k[u].oq + 16 * s + 4 * c)));
		}
		__m512i sc = _mm512_load_si512(sk + s);
		UNROLL for (int u = 0; u < TT; u++)
			isum[u] = _mm512_add_epi32(isum[u], _mm512_mullo_epi32(dp[u], sc));
	}
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin_q6_K(sk, isum[u], ldf(k[u].row + k[u].od), f[u]);
}

/* w_q6_K - combined column c (0..7) of sub-block pair kk (0..3) of half h
 * of a packed Q6_K super-block p, as comb_q6_K makes it */
static inline __attribute__((always_inline)) __m512i w_q6_K(const uint8_t *p, int h, const int kk, int c)
{
	return comb1_q6_K(col(p, 16 * h + 8 * (kk & 1) + c), col(p, 32 + 8 * h + c), kk);
}

/* run_q6_K_r - TT tokens at a packed Q6_K super-block p (note 14): as
 * run_q6_c, ql and qh combined and the scales decoded in registers; with
 * PF, 4 lines of the next tile's share (pf) prefetched per sub-block. The
 * empty asm keeps each sub-block's isum in its register: without it gcc
 * reassociated the sums, kept all 16 sub-blocks' dp of every token on the
 * stack and multiplied at the end (8 tokens 33 -> 26 ns) */
static inline __attribute__((always_inline)) void
run_q6_K_r(const int TT, const uint8_t *p, const int PF, const char *pf, const struct tok *k, __m512 *f)
{
	__m512i isum[8], dp[8];

	UNROLL for (int u = 0; u < TT; u++)
		isum[u] = _mm512_setzero_si512();
	for (int h = 0; h < 2; h++) {
		UNROLL for (int kk = 0; kk < 4; kk++) {
			UNROLL for (int e = 0; e < 2; e++) {
				int s = 8 * h + 2 * kk + e;
				if (PF) {
					UNROLL for (int i = 0; i < 4; i++)
						__asm__ volatile("prefetcht1 %0" : : "m"(*(pf + 256 * s + 64 * i)));
				}
				UNROLL for (int u = 0; u < TT; u++)
					dp[u] = _mm512_set1_epi32(ld32(k[u].row + k[u].oa + 4 * s));
				UNROLL for (int c = 0; c < 4; c++) {
					__m512i w = w_q6_K(p, h, kk, 4 * e + c);
					UNROLL for (int u = 0; u < TT; u++)
						dp[u] = _mm512_dpbusd_epi32(dp[u], w, _mm512_set1_epi32(
							ld32(k[u].row + k[u].oq + 16 * s + 4 * c)));
				}
				/* dec_q6_K's sk[s] */
				__m512i sc = sc_q6_K(col(p, 48 + 2 * h + kk / 2), 2 * (kk & 1) + e);
				UNROLL for (int u = 0; u < TT; u++) {
					isum[u] = _mm512_add_epi32(isum[u], _mm512_mullo_epi32(dp[u], sc));
					__asm__("" : "+v"(isum[u]));
				}
			}
		}
	}
	__m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(p + 64 * 52)));
	UNROLL for (int u = 0; u < TT; u++)
		f[u] = fin_q6_K_d(d, isum[u], ldf(k[u].row + k[u].od), f[u]);
}

static inline __attribute__((always_inline)) void
run_q6_K(const int TT, const int ST, const uint8_t *nib, const __m512i *pk, size_t rb, const struct tok *k,
         __m512 *f)
{
	(void)ST, (void)rb;
	run_q6_c(TT, nib, pk + 64, k, f);
}

/* run_q6_K_p - a group at a packed super-block (note 14): with ST,
 * straight from the tile at nib (run_q6_K_r; ST 1, the chunk's first
 * group, also prefetches the next tile's share at rb), else from what
 * pack_q6_K_p made of it */
static inline __attribute__((always_inline)) void
run_q6_K_p(const int TT, const int ST, const uint8_t *nib, const __m512i *pk, size_t rb, const struct tok *k,
           __m512 *f)
{
	if (ST)
		run_q6_K_r(TT, nib, ST == 1, (const char *)nib + 16 * rb, k, f);
	else
		run_q6_c(TT, nib, pk + 64, k, f);
}

/* --------------------------------------------- few tokens (note 5) */

/* FEW - tokens per pass over a super-block's rows (4 rows x FEW tokens of
 * accumulators stay in registers, up to 4); more would go in further
 * passes, but FEW_MAX fits one */
#define FEW FEW_MAX

/* red4 - per-row dword partials a[i] of rows i < 4 into one vector whose
 * 128-bit units each hold [row 0, 1, 2, 3] (a quarter of each row's sum) */
static inline __m512i red4(const __m512i a[4])
{
	__m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a[0], a[1]), _mm512_unpackhi_epi32(a[0], a[1]));
	__m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2], a[3]), _mm512_unpackhi_epi32(a[2], a[3]));

	return _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
}

/* red16 - p[g] from red4 of rows 4g..4g+3 into lane r = sum of row r:
 * integer, so the order is free */
static inline __m512i red16(const __m512i p[4])
{
	__m512i y01 = _mm512_add_epi32(_mm512_shuffle_i64x2(p[0], p[1], _MM_SHUFFLE(1, 0, 1, 0)),
				       _mm512_shuffle_i64x2(p[0], p[1], _MM_SHUFFLE(3, 2, 3, 2)));
	__m512i y23 = _mm512_add_epi32(_mm512_shuffle_i64x2(p[2], p[3], _MM_SHUFFLE(1, 0, 1, 0)),
				       _mm512_shuffle_i64x2(p[2], p[3], _MM_SHUFFLE(3, 2, 3, 2)));

	return _mm512_add_epi32(_mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(2, 0, 2, 0)),
				_mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* halves16 - word shift counts: lo in the low 256 bits, hi in the high */
static inline __m512i halves16(short lo, short hi)
{
	return _mm512_inserti64x4(_mm512_set1_epi16(lo), _mm256_set1_epi16(hi), 1);
}

/* nib_q45_K - one row's super-block at blk as four vectors of unsigned
 * values: v[0] sub-blocks 0 | 2, v[1] 1 | 3, v[2] 4 | 6, v[3] 5 | 7
 * (32 bytes each); Q5_K (FIVE) adds bit 4 of sub-block j from bit j of qh */
static inline __attribute__((always_inline)) void nib_q45_K(const int FIVE, const uint8_t *blk, __m512i v[4])
{
	const uint8_t *qs = blk + (FIVE ? 48 : 16);
	__m512i m4 = _mm512_set1_epi8(0x0F);
	__m512i a = _mm512_loadu_si512((const void *)qs), b = _mm512_loadu_si512((const void *)(qs + 64));

	v[0] = _mm512_and_si512(a, m4);
	v[1] = _mm512_and_si512(_mm512_srli_epi16(a, 4), m4);
	v[2] = _mm512_and_si512(b, m4);
	v[3] = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4);
	if (FIVE) {
		/* bit j of qh to bit 4: left 4 - j or right j - 4 per half */
		__m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(blk + 16)));
		__m512i b4 = _mm512_set1_epi8(0x10);
		__m512i e[4] = { _mm512_sllv_epi16(h, halves16(4, 2)), _mm512_sllv_epi16(h, halves16(3, 1)),
				 _mm512_srlv_epi16(h, halves16(0, 2)), _mm512_srlv_epi16(h, halves16(1, 3)) };
		UNROLL for (int q = 0; q < 4; q++)
			v[q] = _mm512_ternarylogic_epi32(v[q], e[q], b4, 0xF8);	/* A | (B & C) */
	}
}

/* nib_q6_K - one row's super-block at blk as four vectors of unsigned
 * 6-bit values, v[q] = elements 64q..64q+63 in order (ggml layout) */
static inline __attribute__((always_inline)) void nib_q6_K(const uint8_t *blk, __m512i v[4])
{
	__m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);

	UNROLL for (int h = 0; h < 2; h++) {
		__m512i ql = _mm512_loadu_si512((const void *)(blk + 64 * h));
		__m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(blk + 128 + 32 * h)));
		/* qh bits 2k, 2k + 1 of element 32k + l to bits 4, 5 */
		__m512i e0 = _mm512_and_si512(_mm512_sllv_epi16(qh, halves16(4, 2)), m30);
		__m512i e1 = _mm512_and_si512(_mm512_srlv_epi16(qh, halves16(0, 2)), m30);
		v[2 * h] = _mm512_ternarylogic_epi32(ql, e0, m4, 0xEC);	/* (A & C) | B */
		v[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), e1, m4, 0xEC);
	}
}

/* sc_q45_K - the sub-block scales sk[0..7] (lane = row) as one qword of
 * bytes per row, row r at q[r] */
static inline void sc_q45_K(const __m512i *sk, uint64_t q[16])
{
	__m512i lo = sk[0], hi = sk[4];

	UNROLL for (int j = 1; j < 4; j++) {
		lo = _mm512_or_si512(lo, _mm512_slli_epi32(sk[j], 8 * j));
		hi = _mm512_or_si512(hi, _mm512_slli_epi32(sk[4 + j], 8 * j));
	}
	/* 128-bit unit k: rows 4k, 4k + 1 (lo) and 4k + 2, 4k + 3 (hi) */
	__m512i a = _mm512_unpacklo_epi32(lo, hi), b = _mm512_unpackhi_epi32(lo, hi);
	_mm512_storeu_si512(q, _mm512_permutex2var_epi64(a, _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), b));
	_mm512_storeu_si512(q + 8, _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4), b));
}

/* ex_q45_K - one row's scale bytes (sc_q45_K) as word vectors matching
 * nib_q45_K's v[q]: words of sub-block j hold sc[j] */
static inline __attribute__((always_inline)) void ex_q45_K(uint64_t q, __m512i s[4])
{
	__m512i b = _mm512_set1_epi64((long long)q);

	/* byte j, then zero, in each word: low 256 bits sub-block j0, high j1 */
#define SCX(j0, j1) _mm512_inserti64x4(_mm512_set1_epi16((short)(0xFF00 | (j0))), \
				       _mm256_set1_epi16((short)(0xFF00 | (j1))), 1)
	s[0] = _mm512_shuffle_epi8(b, SCX(0, 2));
	s[1] = _mm512_shuffle_epi8(b, SCX(1, 3));
	s[2] = _mm512_shuffle_epi8(b, SCX(4, 6));
	s[3] = _mm512_shuffle_epi8(b, SCX(5, 7));
#undef SCX
}

/* ex_q6_K - one row's 16 int8 scales at p as word vectors matching
 * nib_q6_K's v[q]: 128-bit unit i of s[q] holds sc[4q + i] */
static inline __attribute__((always_inline)) void ex_q6_K(const uint8_t *p, __m512i s[4])
{
	__m512i w = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)p)));

	UNROLL for (int q = 0; q < 4; q++)
		s[q] = _mm512_permutexvar_epi16(_mm512_set_epi64(
			0x0001000100010001LL * (4 * q + 3), 0x0001000100010001LL * (4 * q + 3),
			0x0001000100010001LL * (4 * q + 2), 0x0001000100010001LL * (4 * q + 2),
			0x0001000100010001LL * (4 * q + 1), 0x0001000100010001LL * (4 * q + 1),
			0x0001000100010001LL * (4 * q), 0x0001000100010001LL * (4 * q)), w);
}

/* few_dots - TT tokens times the 16 rows r[] at super-block offset at:
 * isum[t] (lane = row) = sum_j sc[j] * dot_j, exact. KIND 0 Q4_K, 1 Q5_K,
 * 2 Q6_K; av[t] the token's vectors matching v[q] of nib_*; scq the rows'
 * scale bytes (sc_q45_K). A row's products stay in one vector over the
 * whole super-block (maddubs, then dpwssd with the scales) and rows are
 * summed 4 at a time (red4), then all 16 (red16) */
static inline __attribute__((always_inline)) void
few_dots(const int KIND, const int TT, const uint8_t *const r[16], size_t at, const __m512i av[][4],
	 const uint64_t scq[16], __m512i isum[])
{
	alignas(64) __m512i part[FEW][4];

	/* a loop, not unrolled: gcc hoists an unrolled one's loads and spills */
	_Pragma("GCC unroll 1") for (int g = 0; g < 4; g++) {
		__m512i acc[4][FEW];
		UNROLL for (int i = 0; i < 4; i++) {
			__m512i v[4], s[4];
			if (KIND == 2) {
				nib_q6_K(r[4 * g + i] + at, v);
				ex_q6_K(r[4 * g + i] + at + 192, s);
			} else {
				nib_q45_K(KIND, r[4 * g + i] + at, v);
				ex_q45_K(scq[4 * g + i], s);
			}
			UNROLL for (int t = 0; t < TT; t++) {
				acc[i][t] = _mm512_madd_epi16(_mm512_maddubs_epi16(v[0], av[t][0]), s[0]);
				UNROLL for (int q = 1; q < 4; q++)
					acc[i][t] = _mm512_dpwssd_epi32(acc[i][t], _mm512_maddubs_epi16(v[q], av[t][q]), s[q]);
			}
		}
		UNROLL for (int t = 0; t < TT; t++) {
			__m512i a4[4] = { acc[0][t], acc[1][t], acc[2][t], acc[3][t] };
			part[t][g] = red4(a4);
		}
	}
	UNROLL for (int t = 0; t < TT; t++)
		isum[t] = red16(part[t]);
}

/* sb_K - TT tokens from t0 at super-block b: few_dots, then the tile's
 * integer minimum (Q4_K, Q5_K) or -32 (Q6_K, sp the scale pairs of
 * pairs_q6_K) terms and the float step of note 3 into f[t] */
static inline __attribute__((always_inline)) void
sb_K(const int KIND, const int TT, const uint8_t *const r[16], size_t at, const __m512i *sk,
     const uint64_t *scq, const __m512i *sp, const struct acts *A, uint32_t t0, int64_t b, __m512 *f)
{
	alignas(64) __m512i av[FEW][4];
	__m512i isum[FEW];
	struct tok k[FEW];

	UNROLL for (int t = 0; t < TT; t++) {
		k[t] = tok_at(A, t0 + t, b);
		const uint8_t *qa = k[t].row + k[t].oq;
		UNROLL for (int h = 0; h < 2; h++) {
			__m512i x0 = _mm512_loadu_si512((const void *)(qa + 128 * h));
			__m512i x1 = _mm512_loadu_si512((const void *)(qa + 128 * h + 64));
			if (KIND == 2) {
				av[t][2 * h] = x0;
				av[t][2 * h + 1] = x1;
			} else {	/* elements 0-31 | 64-95, 32-63 | 96-127 of the half */
				av[t][2 * h] = _mm512_permutex2var_epi64(x0, _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), x1);
				av[t][2 * h + 1] = _mm512_permutex2var_epi64(x0, _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4), x1);
			}
		}
	}
	few_dots(KIND, TT, r, at, av, scq, isum);
	UNROLL for (int t = 0; t < TT; t++) {
		const uint8_t *aux = k[t].row + k[t].oa;
		float da = ldf(k[t].row + k[t].od);
		if (KIND == 2) {
			/* aux[j] = -32 * bsum_j: sum_j sc_j * aux_j = 32 * sum_j sc_j * (aux_j / 32) */
			alignas(32) int32_t bp[8];
			__m512i c = _mm512_setzero_si512();
			_mm256_store_si256((void *)bp, _mm512_cvtepi32_epi16(
				_mm512_srai_epi32(_mm512_loadu_si512((const void *)aux), 5)));
			UNROLL for (int p = 0; p < 8; p++)
				c = _mm512_dpwssd_epi32(c, sp[p], _mm512_set1_epi32(bp[p]));
			f[t] = fin_q6_K(sk, _mm512_add_epi32(isum[t], _mm512_slli_epi32(c, 5)), da, f[t]);
		} else {
			__m512i imin = _mm512_setzero_si512();
			UNROLL for (int g = 0; g < 4; g++)
				imin = _mm512_dpwssd_epi32(imin, sk[8 + g], _mm512_set1_epi32(ld32(aux + 4 * g)));
			f[t] = fin_q4_K(sk, isum[t], imin, da, f[t]);
		}
	}
}

/* pairs_q6_K - the int8 scales sk[0..15] (lane = row) as int16 pairs
 * (sc[2p] low, sc[2p + 1] high) for vpdpwssd */
static inline void pairs_q6_K(const __m512i *sk, __m512i sp[8])
{
	UNROLL for (int p = 0; p < 8; p++)
		sp[p] = _mm512_or_si512(_mm512_and_si512(sk[2 * p], _mm512_set1_epi32(0xFFFF)),
					_mm512_slli_epi32(sk[2 * p + 1], 16));
}

/* few_K - n_tok <= FEW_MAX tokens times a tile of 16 rows, each weight
 * super-block read once for all tokens and never repacked (note 5) */
static inline __attribute__((always_inline)) void
few_K(const int KIND, const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
      float *out, size_t os, __mmask16 m, __m512 bias)
{
	const uint8_t *r[16];
	__m512i vo = rows16(w, rb, nr, r);
	size_t bs = KIND == 2 ? sizeof(struct block_q6_K) : KIND ? sizeof(struct block_q5_K)
								  : sizeof(struct block_q4_K);
	__m512 f[FEW_MAX];

	for (uint32_t t = 0; t < n_tok; t++)
		f[t] = _mm512_setzero_ps();
	for (int64_t b = 0; b < A->nb; b++) {
		size_t at = (size_t)b * bs;
		alignas(64) __m512i sk[17], sp[8];
		alignas(64) uint64_t scq[16];
		prefetch_tile(w, rb, at, bs);
		if (KIND == 2) {
			scales_q6_K(vo, r, at, sk);
			pairs_q6_K(sk, sp);
		} else {
			scales_q45_K(r, at, sk);
			sc_q45_K(sk, scq);
		}
		for (uint32_t t = 0; t < n_tok; t += FEW) {
			switch (n_tok - t) {
			case 1:
				sb_K(KIND, 1, r, at, sk, scq, sp, A, t, b, f + t);
				break;
			case 2:
				sb_K(KIND, 2, r, at, sk, scq, sp, A, t, b, f + t);
				break;
			default:
				sb_K(KIND, 3, r, at, sk, scq, sp, A, t, b, f + t);
				break;
			}
		}
	}
	for (uint32_t t = 0; t < n_tok; t++)
		_mm512_mask_storeu_ps(out + (size_t)t * os, m, _mm512_add_ps(f[t], bias));
}

static void few_q4_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
		     float *out, size_t os, __mmask16 m, __m512 bias)
{
	few_K(0, w, rb, nr, A, n_tok, out, os, m, bias);
}

static void few_q5_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
		     float *out, size_t os, __mmask16 m, __m512 bias)
{
	few_K(1, w, rb, nr, A, n_tok, out, os, m, bias);
}

static void few_q6_K(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
		     float *out, size_t os, __mmask16 m, __m512 bias)
{
	few_K(2, w, rb, nr, A, n_tok, out, os, m, bias);
}

/* ------------------------------------------------ one token (note 13) */

/* gemv_q4_K_sb - one token k times a packed tile's super-block at p into
 * f (note 13): the scales decoded in registers, each nibble column masked
 * in place (the high nibbles as 16 x value, scaled back once per
 * sub-block), two chains per sub-block */
static inline __attribute__((always_inline)) __m512 gemv_q4_K_sb(const uint8_t *p, const struct tok *k, __m512 f)
{
	__m512i v[4] = { col(p, 0), col(p, 1), col(p, 2), col(p, 3) };
	alignas(64) __m512i sk[14];
	const uint8_t *qa = k->row + k->oq, *aux = k->row + k->oa;
	__m512i m4 = _mm512_set1_epi8(0x0F), mh = _mm512_set1_epi8((char)0xF0);
	__m512i isum = _mm512_setzero_si512(), imin = _mm512_setzero_si512();

	dec_q45_K(v, sk);
	UNROLL for (int g = 0; g < 4; g++) {
		__m512i dl[2] = { _mm512_setzero_si512(), _mm512_setzero_si512() }, dh[2] = { dl[0], dl[1] };
		UNROLL for (int c = 0; c < 8; c++) {
			__m512i w = col(p, 4 + 8 * g + c);
			dl[c & 1] = _mm512_dpbusd_epi32(dl[c & 1], _mm512_and_si512(w, m4),
							_mm512_set1_epi32(ld32(qa + 64 * g + 4 * c)));
			dh[c & 1] = _mm512_dpbusd_epi32(dh[c & 1], _mm512_and_si512(w, mh),
							_mm512_set1_epi32(ld32(qa + 64 * g + 32 + 4 * c)));
		}
		/* dh: 16 x the high nibbles' dot, a multiple of 16: exact shift */
		isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(dl[0], dl[1]), sk[2 * g]));
		isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(
			_mm512_srai_epi32(_mm512_add_epi32(dh[0], dh[1]), 4), sk[2 * g + 1]));
		imin = _mm512_dpwssd_epi32(imin, sk[8 + g], _mm512_set1_epi32(ld32(aux + 4 * g)));
	}
	return fin_q4_K(sk, isum, imin, ldf(k->row + k->od), f);
}

/* gemv_q4_K_p - one token times a full packed tile (note 13), the
 * accumulator in a register over the super-blocks; no software prefetch:
 * the tile is one ascending stream the hardware prefetchers follow */
static void gemv_q4_K_p(const uint8_t *w, size_t rb, int nr, const struct acts *A, uint32_t n_tok,
			float *out, size_t os, __mmask16 m, __m512 bias)
{
	__m512 f = _mm512_setzero_ps();

	(void)rb, (void)nr, (void)n_tok, (void)os;
	for (int64_t b = 0; b < A->nb; b++) {
		struct tok k = tok_at(A, 0, b);
		f = gemv_q4_K_sb(w + 16 * (size_t)b * sizeof(struct block_q4_K), &k, f);
	}
	_mm512_mask_storeu_ps(out, m, _mm512_add_ps(f, bias));
}

/* REST - the last 1..8 tokens from t of a chunk as one group, ST as in
 * TILE */
#define REST(name, ST, nib, pk, b, A, t, acc, vb, left)						\
	switch (left) {										\
	case 1: name##_tok(1, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 2: name##_tok(2, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 3: name##_tok(3, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 4: name##_tok(4, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 5: name##_tok(5, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 6: name##_tok(6, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	case 7: name##_tok(7, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	default: name##_tok(8, ST, nib, pk, rb, b, A, t, acc, vb); break;				\
	}

/* TILE - tokens in chunks of TCH (note 8); per super-block: repack (pack
 * returns where the columns are, the scales at pk + 64), the next tile's
 * share prefetched (note 7), then the chunk's tokens in groups of 8 by
 * RUN(TT, ST, nib, pk, rb, k, f). With DIRECT (note 14) a chunk of
 * DIRECT_MIN..DIRECT_MAX tokens skips the repacking and the prefetch
 * burst: RUN gets the super-block as it lies in the tile layout, ST 1 for
 * the first group (which prefetches), 2 for the others */
#define TILE(name, pack, RUN, DIRECT, few, bsz, fewmax)					\
static inline __attribute__((always_inline)) void				\
name##_tok(const int TT, const int ST, const uint8_t *nib, const __m512i *pk, size_t rb, int64_t b, \
	   const struct acts *A, uint32_t t, float (*acc)[16], __m512 bias)			\
{										\
	struct tok k[8];							\
	__m512 f[8];								\
										\
	UNROLL for (int u = 0; u < TT; u++) {						\
		k[u] = tok_at(A, t + u, b);					\
		f[u] = b == 0 ? _mm512_setzero_ps() : _mm512_load_ps(acc[u]);	\
	}									\
	RUN(TT, ST, nib, pk, rb, k, f);						\
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
	if (fewmax > 0 && n_tok <= fewmax) {					\
		few(w, rb, nr, &A, n_tok, out, os, m, vb);			\
		return;								\
	}									\
	for (uint32_t t0 = 0; t0 < n_tok; t0 += TCH) {				\
		uint32_t nt = n_tok - t0 < TCH ? n_tok - t0 : TCH;		\
		for (int64_t b = 0; b < A.nb; b++) {				\
			uint32_t t = 0;						\
			if (DIRECT && nt >= DIRECT_MIN && nt <= DIRECT_MAX) {	\
				const uint8_t *p = w + 16 * (size_t)b * bsz;	\
				if (nt > 8) {					\
					name##_tok(8, 1, p, pk, rb, b, &A, t0, acc, vb);	\
					for (t = 8; t + 8 < nt; t += 8)		\
						name##_tok(8, 2, p, pk, rb, b, &A, t0 + t, acc + t, vb); \
					REST(name, 2, p, pk, b, &A, t0 + t, acc + t, vb, nt - t) \
				} else {					\
					REST(name, 1, p, pk, b, &A, t0, acc, vb, nt) \
				}						\
				continue;					\
			}							\
			const uint8_t *nib = pack(w, rb, nr, b, pk);		\
			prefetch_tile(w, rb, (size_t)b * bsz, bsz);		\
			for (; t + 8 <= nt; t += 8)				\
				name##_tok(8, 0, nib, pk, rb, b, &A, t0 + t, acc + t, vb);	\
			if (t < nt)						\
				REST(name, 0, nib, pk, b, &A, t0 + t, acc + t, vb, nt - t)	\
		}								\
		for (uint32_t t = 0; t < nt; t++)				\
			_mm512_mask_storeu_ps(out + (size_t)(t0 + t) * os, m, _mm512_load_ps(acc[t])); \
	}									\
}

TILE(tile_q4_K, pack_q4_K, run_q4_K, 0, few_q4_K, sizeof(struct block_q4_K), FEW_Q4_K)
TILE(tile_q5_K, pack_q5_K, run_q5_K, 0, few_q5_K, sizeof(struct block_q5_K), FEW_MAX)
TILE(tile_q6_K, pack_q6_K, run_q6_K, 0, few_q6_K, sizeof(struct block_q6_K), FEW_MAX)
TILE(tile_q4_K_p, pack_q4_K_p, run_q4_K, 0, gemv_q4_K_p, sizeof(struct block_q4_K), 1)
TILE(tile_q6_K_p, pack_q6_K_p, run_q6_K_p, 1, few_q6_K, sizeof(struct block_q6_K), 0)

/* eng_kernels_mm_k_fill - the K-quant tiles */
void eng_kernels_mm_k_fill(struct eng_kernels *k)
{
	k->mm[GGML_TYPE_Q4_K] = (struct eng_mm){ q8_K_act_bytes, quantize_q4_K, tile_q4_K };
	k->mm[GGML_TYPE_Q5_K] = (struct eng_mm){ q8_K_act_bytes, quantize_q4_K, tile_q5_K };
	k->mm[GGML_TYPE_Q6_K] = (struct eng_mm){ q8_K_act_bytes, quantize_q6_K, tile_q6_K };
	k->mm_packed[GGML_TYPE_Q4_K] = tile_q4_K_p;
	k->mm_packed[GGML_TYPE_Q6_K] = tile_q6_K_p;
}
