/*
 * NAME
 *	attn_avx512 - AVX-512 attention, SwiGLU gate and F16 stores
 * DESIGN NOTES
 *	1. attn() is runs of tokens' query heads of one KV head. Q is rounded
 *	   to F16 once (into qf) and widened back: F16 times F16 is exact in
 *	   float, so each score is the exact products summed in one fixed
 *	   order (16 lanes per chunk of the head, chunks in order, then the
 *	   lane reduction). Probabilities are rounded to F16 the same way
 *	   before meeting V. Every output is one fixed chain of operations
 *	   over its row's positions lo..hi, whoever calls and however the
 *	   batch is split: threads never change a logit.
 *	2. The V sum of an output element is one chain of FMAs in ascending
 *	   position from +0, as the reference's axpy loop. A 16-lane chunk of
 *	   it stays in a register over a block of positions and goes back to
 *	   out between blocks: a float stored and loaded is the same float,
 *	   so blocking does not change the chain.
 *	3. v_exp is 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 in two
 *	   parts (|r| <= ln 2 / 2), e^r by its Taylor polynomial of degree 7
 *	   (truncation below 2^-26 relative) and scalef for 2^n, which also
 *	   gives inf above ~88.7 and 0 below ~-103.9. Within 2 ulp of expf:
 *	   the results stay inside the oracle tolerances, not bitwise ref.
 *	4. Head dims that are not a multiple of 16 run with masked tails.
 *	5. Rows (token, head) go through in groups of up to MAX_ROWS: each K
 *	   and V row is widened from F16 once for the whole group. Row r's
 *	   chain of operations is the same whatever the other rows, so
 *	   grouping never changes a result.
 *	6. Each score is a chain of dependent FMAs over the head and each
 *	   output element one over the positions, so one chain at a time
 *	   waits on FMA latency. With few rows, several positions' score
 *	   chains (P) and several chunks' output chains (C) go side by side;
 *	   every chain keeps its own order of operations, so the results are
 *	   bitwise those of one chain at a time.
 *	7. Prefill is why a call holds many tokens: a sequence's K and V
 *	   (4 KB a position a layer for gemma3-4b) outgrow L2 within a few
 *	   hundred positions, and reading them once per token made attention
 *	   memory bound. Scores and V sums walk the positions in blocks of
 *	   BLOCK (32 KB of F16 at head dim 256, within L1) and every row group
 *	   uses a block before the next is touched, so K and V come from
 *	   memory once per call.
 *	8. Rows of a group see different positions (causal limit p + t, the
 *	   sliding window). Scores run over the group's union: a score
 *	   outside a row's range lands in an att cell that row never reads
 *	   unmasked. The V sum runs the positions every row of the group
 *	   sees without masks and the ragged head and tail with a per-row
 *	   mask, so a row's chain holds exactly its own positions.
 *	9. A score's lane reduction is the tree of _mm512_reduce_add_ps (GCC's
 *	   avx512fintrin.h: high half + low half, then the quarters, then
 *	   lanes 0+2 and 1+3, then their sum), taken for 16 accumulators at
 *	   once by transposing them (hsum16): the same adds of the same
 *	   operands, a quarter of the instructions. A row's maximum is taken
 *	   16 lanes at a time: the largest of the same set, and where that
 *	   could differ (the sign of a zero maximum) x - max is the same, so
 *	   the probabilities are.
 *	10. A generated token's call has one row group: every K and V row is
 *	   used once and the loops wait on memory. The cache keeps a KV
 *	   head's positions contiguous (engine/ctx.c note 2) and the rows PF
 *	   positions ahead are prefetched toward L2 as each row is used:
 *	   2x on such calls (10 to 21 GB/s where a plain read streams 30;
 *	   the prefetch alone gained nothing when a head's 512 bytes sat in
 *	   2 KB rows of all heads), no change to prefill, none to a result.
 *	11. A shared prefix (struct eng_attn seg, engine/ctx.c note 4) sits in
 *	   other sequences' cells: a block never spans two owners, it ends
 *	   where a range does. Where blocks start changes no result: a score
 *	   is one position's chain, and the V chains go through out between
 *	   blocks (note 2). Prefetches past a range's end touch the owner's
 *	   later cells, in the cache and harmless.
 *	12. A call holds several runs (a generation step: one token of each
 *	   sequence in flight), and where runs read the same cells (a shared
 *	   head or document prefix: the same owner's k) their rows go through
 *	   each block of those positions together, in row groups as one
 *	   run's rows do, so the block's K and V come from memory once for
 *	   all of them; each run's other positions follow in their own
 *	   blocks. Blocks end where any run's range or visibility changes
 *	   (block_end), so within a block every run reads one owner's cells
 *	   or none. Scores are per position (note 1), softmax per row after
 *	   all scores, and the V chains walk the blocks in ascending position
 *	   through out (note 2): a row's operations are those of its run
 *	   alone, whichever rows share its blocks. Runs go together only
 *	   where a token has at most MAX_ROWS / 2 rows (gemma3-4b: 2); with
 *	   more (qwen2.5-0.5b: 7) a run's own row group already widens each K
 *	   and V row for nearly MAX_ROWS rows, and a call over all runs at
 *	   once measured 2-5% slower (every run's scores live at once, 400 KB
 *	   at 13 tokens, against 30 KB a run), so those runs go one by one.
 */
#include <assert.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "engine/kernels/kernels.h"

#define MAX_ROWS 8	/* note 5: accumulators stay within the 32 registers */
#define BLOCK 64	/* positions per K/V block (note 7) */
#define PF 32		/* positions ahead that K and V rows are prefetched (note 10) */
#define UNROLL _Pragma("GCC unroll 16")	/* constant trip counts: arrays in registers */

/* v_exp - e^x in 16 lanes (note 3) */
static inline __m512 v_exp(__m512 x)
{
	const __m512 ln2_hi = _mm512_set1_ps(0.693145751953125f);
	const __m512 ln2_lo = _mm512_set1_ps(1.42860682030941723212e-6f);

	x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-110.0f)), _mm512_set1_ps(100.0f));
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, ln2_lo, _mm512_fnmadd_ps(n, ln2_hi, x));
	__m512 y = _mm512_set1_ps(1.0f / 5040.0f);
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 720.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 120.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 24.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 6.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(0.5f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(y, n);
}

static inline __mmask16 tail_mask(int64_t left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* swiglu - out = silu(g) * u, g / (1 + e^-g) as the reference */
static void swiglu(int64_t n, const float *g, const float *u, float *out)
{
	const __m512 one = _mm512_set1_ps(1.0f);

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m512 x = _mm512_maskz_loadu_ps(m, g + i);
		__m512 e = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
		__m512 s = _mm512_div_ps(x, _mm512_add_ps(one, e));
		_mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
	}
}

/* f32_to_f16 - round to nearest even, as ggml_fp32_to_fp16 */
static void f32_to_f16(int64_t n, const float *x, ggml_half *y)
{
	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
					    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		_mm256_mask_storeu_epi16(y + i, m, h);
	}
}

static inline __m512 load_f16(__mmask16 m, const ggml_half *p)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* softmax16 - att[j0..p] = F16(e^(att - max) / sum), widened back; notes 1, 3 */
static void softmax16(float *att, int32_t j0, int32_t p, float max)
{
	__m512 vmax = _mm512_set1_ps(max), sum = _mm512_setzero_ps();
	int64_t n = (int64_t)p - j0 + 1;
	float *a = att + j0;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m512 e = v_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), vmax));
		e = _mm512_maskz_mov_ps(m, e);
		sum = _mm512_add_ps(sum, e);
		_mm512_mask_storeu_ps(a + i, m, e);
	}
	__m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m256i h = _mm512_cvtps_ph(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), inv),
					    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		_mm512_mask_storeu_ps(a + i, m, _mm512_cvtph_ps(h));
	}
}

/* chunk_mask - lanes of the 16-lane chunk at d of a head of D (none past D) */
static inline __mmask16 chunk_mask(int64_t D, int64_t d)
{
	return d >= D ? (__mmask16)0 : tail_mask(D - d);
}

/* row_off - where row r (token r / nq, head r % nq) sits in q and in out */
static inline size_t row_off(const struct eng_attn *a, int r)
{
	return (size_t)(r / a->nq) * a->tok_stride + (size_t)(r % a->nq) * (size_t)a->D;
}

/* hsum16 - res[i] = _mm512_reduce_add_ps(v[i]) * scale for i < n <= 16,
 * the same tree of adds for all n at once (note 9): lane 4 L + e of the
 * last sum is v[4 e + L] */
static inline __attribute__((always_inline)) void
hsum16(const __m512 *v, const int n, float scale, float *res)
{
	__m512 s[8], u[4], w[2], z;
	float out[16];

	UNROLL for (int k = 0; k < 8; k++) {	/* 8 lanes: high half + low half */
		__m512 x = 2 * k < n ? v[2 * k] : _mm512_setzero_ps();
		__m512 y = 2 * k + 1 < n ? v[2 * k + 1] : _mm512_setzero_ps();
		s[k] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0xee), _mm512_shuffle_f32x4(x, y, 0x44));
	}
	UNROLL for (int k = 0; k < 4; k++)	/* 4 lanes: high quarter + low quarter */
		u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * k], s[2 * k + 1], 0xdd),
				     _mm512_shuffle_f32x4(s[2 * k], s[2 * k + 1], 0x88));
	UNROLL for (int k = 0; k < 2; k++)	/* lanes 0 + 2 and 1 + 3 */
		w[k] = _mm512_add_ps(_mm512_unpacklo_ps(u[2 * k], u[2 * k + 1]),
				     _mm512_unpackhi_ps(u[2 * k], u[2 * k + 1]));
	z = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x44), _mm512_shuffle_ps(w[0], w[1], 0xee));
	_mm512_storeu_ps(out, _mm512_mul_ps(z, _mm512_set1_ps(scale)));
	UNROLL for (int i = 0; i < n; i++)
		res[i] = out[4 * (i % 4) + i / 4];
}

/* struct grp - a row group (note 5): up to MAX_ROWS rows of runs that read
 * the same cells over a block (note 12), each row's F16-rounded query,
 * scores and output, the positions lo..hi it sees, their union ulo..uhi
 * and the part clo..chi all of them see (note 8) */
struct grp {
	const float *qf[MAX_ROWS];
	float *att[MAX_ROWS], *out[MAX_ROWS];
	int32_t lo[MAX_ROWS], hi[MAX_ROWS];
	int32_t ulo, uhi, clo, chi;
};

/* grp_row - row (t, h) of run a into slot i of g; lo: eng_attn_lo(a, t) */
static inline void grp_row(struct grp *g, int i, const struct eng_attn *a, int t, int h, int32_t lo)
{
	size_t r = (size_t)t * (size_t)a->nq + (size_t)h;

	g->qf[i] = a->qf + r * (size_t)a->D;
	g->att[i] = a->att + r * a->att_stride;
	g->out[i] = a->out + (size_t)t * a->tok_stride + (size_t)h * (size_t)a->D;
	g->lo[i] = lo;
	g->hi[i] = a->p + t;
}

/* grp_span - the union and common part of the n rows' positions */
static void grp_span(struct grp *g, int n)
{
	g->ulo = INT32_MAX;
	g->uhi = -1;
	g->clo = -1;
	g->chi = INT32_MAX;
	for (int r = 0; r < n; r++) {
		g->ulo = g->lo[r] < g->ulo ? g->lo[r] : g->ulo;
		g->clo = g->lo[r] > g->clo ? g->lo[r] : g->clo;
		g->uhi = g->hi[r] > g->uhi ? g->hi[r] : g->uhi;
		g->chi = g->hi[r] < g->chi ? g->hi[r] : g->chi;
	}
}

/* score_pos - att[r][j..j+P) for the NR rows of g: each K row of b's cells
 * widened once for all NR rows, P positions' chains interleaved (note 6) */
static inline __attribute__((always_inline)) void
score_pos(const struct eng_attn *b, const struct grp *g, const int NR, int32_t j, const int P)
{
	int64_t D = b->D;
	__m512 acc[2 * MAX_ROWS];

	UNROLL for (int i = 0; i < P * NR; i++)
		acc[i] = _mm512_setzero_ps();
	for (int64_t d = 0; d < D; d += 16) {
		__mmask16 m = tail_mask(D - d);
		__m512 kv[8];
		UNROLL for (int p = 0; p < P; p++)
			kv[p] = load_f16(m, b->k + (size_t)(j + p) * b->kv_stride + d);
		if ((d & 31) == 0)	/* a cache line: 32 halves */
			UNROLL for (int p = 0; p < P; p++)
				_mm_prefetch((const char *)(b->k + (size_t)(j + p + PF) * b->kv_stride + d),
					     _MM_HINT_T2);
		UNROLL for (int r = 0; r < NR; r++) {
			__m512 q = _mm512_maskz_loadu_ps(m, g->qf[r] + d);
			UNROLL for (int p = 0; p < P; p++)
				acc[r * P + p] = _mm512_fmadd_ps(q, kv[p], acc[r * P + p]);
		}
	}
	float sc[2 * MAX_ROWS];
	hsum16(acc, P * NR, b->scale, sc);
	UNROLL for (int r = 0; r < NR; r++)
		UNROLL for (int p = 0; p < P; p++) {
			float x = sc[r * P + p];
			if (b->softcap > 0.0f)
				x = b->softcap * tanhf(x / b->softcap);
			g->att[r][j + p] = x;
		}
}

/* score_block - att[r][j] for the NR rows of g over the positions of
 * jb..je any of them sees (notes 5, 6, 8); always inlined so that the
 * accumulators live in registers */
static inline __attribute__((always_inline)) void
score_block(const struct eng_attn *b, const struct grp *g, const int NR, int32_t jb, int32_t je)
{
	const int P = NR <= 2 ? 8 : NR <= 4 ? 4 : 2;	/* P * NR <= 2 MAX_ROWS */
	int32_t j = jb > g->ulo ? jb : g->ulo, hi = je < g->uhi ? je : g->uhi;

	for (; j + P - 1 <= hi; j += P)
		score_pos(b, g, NR, j, P);
	for (; j <= hi; j++)
		score_pos(b, g, NR, j, 1);
}

/* vsum_run - C chunks at d of NR rows' V sums over positions j..je;
 * masked: row r only where it sees j (note 8) */
static inline __attribute__((always_inline)) void
vsum_run(const struct eng_attn *b, const struct grp *g, const int NR, const int C, int64_t d,
	 const __mmask16 *m, __m512 *acc, int32_t j, int32_t je, const int masked)
{
	for (; j <= je; j++) {
		const ggml_half *v = b->v + (size_t)j * b->kv_stride + d;
		__m512 vv[8];
		UNROLL for (int c = 0; c < C; c++)
			vv[c] = load_f16(m[c], v + 16 * c);
		UNROLL for (int c = 0; c < C; c += 2)
			_mm_prefetch((const char *)(v + (size_t)PF * b->kv_stride + 16 * c), _MM_HINT_T2);
		UNROLL for (int r = 0; r < NR; r++) {
			__m512 w = _mm512_set1_ps(g->att[r][j]);
			if (masked) {
				__mmask16 k = j >= g->lo[r] && j <= g->hi[r] ? (__mmask16)0xffff : 0;
				UNROLL for (int c = 0; c < C; c++)
					acc[r * C + c] = _mm512_mask3_fmadd_ps(w, vv[c], acc[r * C + c], k);
			} else {
				UNROLL for (int c = 0; c < C; c++)
					acc[r * C + c] = _mm512_fmadd_ps(w, vv[c], acc[r * C + c]);
			}
		}
	}
}

/* vsum_block - the NR rows of g: out[r] += att[r][j] V[j] over the
 * positions of jb..je each row sees, each V row of b's cells widened once
 * for all NR rows, C 16-lane chunks of every out row in registers across
 * the block (notes 2, 6, 8) */
static inline __attribute__((always_inline)) void
vsum_block(const struct eng_attn *b, const struct grp *g, const int NR, int32_t jb, int32_t je)
{
	int64_t D = b->D;
	const int C = NR <= 2 ? 8 : NR <= 4 ? 4 : 2;	/* C * NR <= 2 MAX_ROWS */
	int32_t lo = jb > g->ulo ? jb : g->ulo, hi = je < g->uhi ? je : g->uhi;
	int32_t c0 = lo > g->clo ? lo : g->clo, c1 = hi < g->chi ? hi : g->chi;

	if (lo > hi)
		return;
	if (c0 > c1) {	/* no position every row sees: all of lo..hi masked */
		c0 = hi + 1;
		c1 = hi;
	}
	for (int64_t d = 0; d < D; d += 16 * C) {
		__mmask16 m[8];
		__m512 acc[2 * MAX_ROWS];
		UNROLL for (int c = 0; c < C; c++)
			m[c] = chunk_mask(D, d + 16 * c);
		UNROLL for (int r = 0; r < NR; r++)
			UNROLL for (int c = 0; c < C; c++)
				acc[r * C + c] = _mm512_maskz_loadu_ps(m[c], g->out[r] + d + 16 * c);
		vsum_run(b, g, NR, C, d, m, acc, lo, c0 - 1, 1);
		vsum_run(b, g, NR, C, d, m, acc, c0, c1, 0);
		vsum_run(b, g, NR, C, d, m, acc, c1 + 1, hi, 1);
		UNROLL for (int r = 0; r < NR; r++)
			UNROLL for (int c = 0; c < C; c++)
				_mm512_mask_storeu_ps(g->out[r] + d + 16 * c, m[c], acc[r * C + c]);
	}
}

/* BY_NR - fn(b, g, NR, jb, je) with NR a constant in each call, so that
 * fn's arrays stay in registers */
#define BY_NR(fn, b, g, n, jb, je)					\
	switch (n) {							\
	case 1: fn(b, g, 1, jb, je); break;				\
	case 2: fn(b, g, 2, jb, je); break;				\
	case 3: fn(b, g, 3, jb, je); break;				\
	case 4: fn(b, g, 4, jb, je); break;				\
	case 5: fn(b, g, 5, jb, je); break;				\
	case 6: fn(b, g, 6, jb, je); break;				\
	case 7: fn(b, g, 7, jb, je); break;				\
	default: fn(b, g, 8, jb, je); break;				\
	}

typedef void (*grp_fn)(const struct eng_attn *b, const struct grp *g, int n, int32_t jb,
		       int32_t je);

static void score_grp(const struct eng_attn *b, const struct grp *g, int n, int32_t jb, int32_t je)
{
	BY_NR(score_block, b, g, n, jb, je)
}

static void vsum_grp(const struct eng_attn *b, const struct grp *g, int n, int32_t jb, int32_t je)
{
	BY_NR(vsum_block, b, g, n, jb, je)
}

/* softmax_row - row r's probabilities: its max over lo..hi (note 9; a
 * NaN score is passed over, as a scalar x > max would), then softmax16 */
static void softmax_row(const struct eng_attn *a, int r)
{
	float *att = a->att + (size_t)r * a->att_stride;
	int32_t lo = eng_attn_lo(a, r / a->nq), hi = a->p + r / a->nq;
	__m512 ninf = _mm512_set1_ps(-INFINITY), max = ninf;

	for (int32_t j = lo; j <= hi; j += 16)
		max = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, tail_mask(hi + 1 - j), att + j), max);
	softmax16(att, lo, hi, _mm512_reduce_max_ps(max));
}

/* block_end - the last position of the block from jb (at most BLOCK of
 * them, none past end), such that every run sees all of it or none of it
 * and reads all of it from one owner's cells; on[i] says whether run i
 * sees it, k[i], v[i] its cells there (notes 11, 12) */
static int32_t block_end(const struct eng_attn *a, int n, int32_t jb, int32_t end, int8_t *on,
			 const ggml_half **k, const ggml_half **v)
{
	int32_t je = end - jb < BLOCK ? end : jb + BLOCK - 1;

	for (int i = 0; i < n; i++) {
		int32_t lo = eng_attn_lo(&a[i], 0), hi = a[i].p + a[i].nt - 1;
		on[i] = lo <= jb && jb <= hi;
		if (lo > jb && lo - 1 < je)
			je = lo - 1;
		if (!on[i])
			continue;
		int32_t e = eng_attn_part(&a[i], jb, &k[i], &v[i]) - 1;
		je = e < je ? e : je;
		je = hi < je ? hi : je;
	}
	return je;
}

/* over - fn for every block of positions, ascending, and in it for the
 * rows of every set of runs that read the same cells there, MAX_ROWS
 * rows at a time (notes 7, 12): one pass over each block's K or V for
 * all of them. Same k means the same owner's cells, so the same v */
static void over(const struct eng_attn *a, int n, grp_fn fn)
{
	int32_t jb = INT32_MAX, end = -1, je;
	int8_t on[ENG_ATTN_TOKENS];
	const ggml_half *k[ENG_ATTN_TOKENS], *v[ENG_ATTN_TOKENS];

	for (int i = 0; i < n; i++) {
		int32_t lo = eng_attn_lo(&a[i], 0), hi = a[i].p + a[i].nt - 1;
		jb = lo < jb ? lo : jb;
		end = hi > end ? hi : end;
	}
	for (; jb <= end; jb = je + 1) {
		je = block_end(a, n, jb, end, on, k, v);
		for (int i = 0; i < n; i++) {
			if (!on[i])
				continue;
			struct eng_attn b = a[i];
			struct grp g;
			int nr = 0;
			b.k = k[i];
			b.v = v[i];
			for (int x = i; x < n; x++) {
				if (!on[x] || k[x] != k[i])
					continue;
				on[x] = 0;
				for (int t = 0; t < a[x].nt; t++) {
					int32_t lo = eng_attn_lo(&a[x], t);
					for (int h = 0; h < a[x].nq; h++) {
						grp_row(&g, nr++, &a[x], t, h, lo);
						if (nr == MAX_ROWS) {
							grp_span(&g, nr);
							fn(&b, &g, nr, jb, je);
							nr = 0;
						}
					}
				}
			}
			if (nr > 0) {
				grp_span(&g, nr);
				fn(&b, &g, nr, jb, je);
			}
		}
	}
}

/* attn_runs - runs a[0..n) together: Q to F16 and outputs to +0, scores
 * block by block, softmax per row, V sums block by block (notes 1, 2, 5,
 * 7, 12) */
static void attn_runs(const struct eng_attn *a, int n)
{
	int64_t D = a->D;

	for (int i = 0; i < n; i++)
		for (int r = 0; r < a[i].nt * a[i].nq; r++) {
			const float *q = a[i].q + row_off(&a[i], r);
			float *out = a[i].out + row_off(&a[i], r), *qf = a[i].qf + (size_t)r * D;
			for (int64_t d = 0; d < D; d += 16) {
				__mmask16 m = tail_mask(D - d);
				__m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, q + d),
							    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
				_mm512_mask_storeu_ps(qf + d, m, _mm512_cvtph_ps(h));
			}
			for (int64_t d = 0; d < D; d += 16)	/* +0: where every V chain starts */
				_mm512_mask_storeu_ps(out + d, tail_mask(D - d), _mm512_setzero_ps());
		}
	over(a, n, score_grp);
	for (int i = 0; i < n; i++)
		for (int r = 0; r < a[i].nt * a[i].nq; r++)
			softmax_row(&a[i], r);
	over(a, n, vsum_grp);
}

/* attn - see struct eng_attn: the runs together, or one by one where a
 * token has more than MAX_ROWS / 2 rows (note 12) */
static void attn(const struct eng_attn *a, int n)
{
	assert(n >= 1 && n <= ENG_ATTN_TOKENS);
	if (2 * a->nq <= MAX_ROWS) {
		attn_runs(a, n);
		return;
	}
	for (int i = 0; i < n; i++)
		attn_runs(&a[i], 1);
}

void eng_kernels_attn_avx512_fill(struct eng_kernels *k)
{
	k->swiglu = swiglu;
	k->f32_to_f16 = f32_to_f16;
	k->attn = attn;
}
