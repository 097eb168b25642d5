/*
 * NAME
 *	blasbench - OpenBLAS against docket's own kernels, case by case
 * SUMMARY
 *	blasbench [-t LIST] [-r R] [--core LIST] [--tiny]
 *	The float work of prompt processing, timed through the engine and
 *	through Debian's OpenBLAS, one table row per case and thread count:
 *	(mm) F16 weight matrix (n_in x n_out) times n tokens: eng_matmul()
 *	with the kernel table's F16 tile against cblas_sgemm on weights
 *	widened to F32 once (sgemm), widened inside the timed call (+conv),
 *	and cblas_sgemv for one token (gemv); (att) attention of n tokens
 *	over a context of L positions at a model's head layout (head dim 64:
 *	qwen2.5-0.5b, 2 KV heads of 7 query heads; 256: gemma3-4b, 4 of 2):
 *	the table's attn kernel against Q.K^T and P.V by cblas_sgemm on an
 *	F32 copy of the F16 cache (sgemm) or widening it inside the call
 *	(+conv). Figures are GFLOP/s (2 per multiply-add), median of R.
 *	-t threads (default 1,2), -r repetitions (default 3), --core the
 *	OPENBLAS_CORETYPE values to try ("unset": the variable removed;
 *	default unset,SkylakeX,Zen), --tiny small shapes in no time (the
 *	smoke test). Exit 1 when OpenBLAS and the engine disagree beyond
 *	rounding or the engine breaks its own bitwise rule; the last line is
 *	docket-bench-blas rows=R blas_faster=K blas_faster_conv=K blas_faster_bitwise=K
 *	  blas_faster_n1=K best_ratio=X best_row=CASE/THREADS engine_bitwise=yes|no
 *	counting rows where some core type's sgemm (or gemv) beats the engine,
 *	where it does so with the conversion, where the winning sgemm also
 *	keeps split and thr (note 1), and one-token rows it wins; best_ratio
 *	is the largest sgemm / engine figure.
 * DESIGN NOTES
 *	1. The bits columns hold split/gemv/thr: split, rows 0 and n-1 of
 *	   the n-token call bitwise equal to one-token calls of the same
 *	   routine (sgemm with M = 1; the engine's own path); gemv, equal to
 *	   cblas_sgemv; thr, equal to the first thread count's result. '='
 *	   same, 'x' differs, '-' does not apply. docket's rule (kernels.h)
 *	   needs split and thr '=' for every n that a wired-in routine would
 *	   serve: a logit must not depend on the batch a token came in.
 *	2. OpenBLAS reads OPENBLAS_CORETYPE when it loads, so each core type
 *	   runs in a child (this binary again, --child, the variable set);
 *	   the children run one after the other and the engine after them in
 *	   this process, so no two measurements share the cores.
 *	3. OpenBLAS gets the benefit of every doubt: activations are rounded
 *	   through F16 (as the engine's F16 tile does) outside its timing,
 *	   and in attention the softmax between its two products is not
 *	   timed, while the engine's figure includes its softmax.
 *	4. Each repetition repeats the call until 50 ms have passed (not with
 *	   --tiny) and counts the time per call.
 *	5. Findings (make bench-blas twice, 2026-11-21, load 3.5-6 on the
 *	   2 cores, so the engine's 2-thread rows barely beat 1 thread and
 *	   single figures are rough; these held in both runs):
 *	   - F16 matmul: the engine's tile wins n = 8 and 64 everywhere (2-5x
 *	     at n = 8) and n = 1 from 896x4864 up (sgemm 5-20x behind, gemv
 *	     2-4x); at n = 512 sgemm on weights kept in F32 (twice the F16
 *	     file's memory) is even to 1.9x ahead, with the conversion even
 *	     to 1.8x.
 *	   - Attention of 64 tokens over 512-4096 positions: the two sgemm
 *	     run 1.5-5x the engine's attn kernel, which takes one token at a
 *	     time and so reads a KV head's cache (2 MB at head dim 256 and
 *	     2048 positions, past L2) once per token. One token: the engine
 *	     wins from 2048 positions at head dim 256, sgemm at 512 positions
 *	     with head dim 64.
 *	   - Bitwise: gemv never equals sgemm; sgemm's one-token rows differ
 *	     from its n-token rows in several shapes (896x896, attention at
 *	     512 positions); with OPENBLAS_CORETYPE=Zen results change with
 *	     the thread count; in causal prompt processing each token has its
 *	     own context length, on which OpenBLAS's split of the sum over
 *	     positions (GEMM_Q blocks) depends.
 *	   The wins that keep split and thr here (matmul at n = 512 from
 *	   896x4864 up, attention at 2048-4096 positions; Cooperlake and
 *	   SkylakeX kernels) would need the same sgemm for one token too:
 *	   5-20x behind the engine in matmul, even to 5x behind in
 *	   attention, whose causal lengths break the rule anyway. Not wired
 *	   in (the weights would also need an F32 copy). The attention rows
 *	   show what our own kernel lacks: blocking over tokens (a K/V tile
 *	   read once for many tokens, every output's chain of operations
 *	   unchanged).
 */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/kernels/kernels.h"
#include "engine/matmul.h"
#include "engine/model.h"
#include "engine/threads.h"

extern char **environ;

#define MAX_CASES 40
#define MAX_THR 4
#define MAX_CORES 4
#define MAX_REPS 15

enum kind { MM, ATT };

/* struct kase - one case; MM: a = n_in, b = n_out; ATT: a = head dim, b = context */
struct kase {
	enum kind kind;
	int64_t a, b;
	uint32_t n;		/* tokens */
	int h, g;		/* ATT: KV heads, query heads per KV head */
};

struct opts {
	int thr[MAX_THR], n_thr, reps, tiny;
	const char *core[MAX_CORES];
	int n_core;
	double min_s;
};

/* struct fig - one row's figures for one implementation */
struct fig {
	double gf, conv, gemv;	/* GFLOP/s; 0: not measured */
	char bits[4];		/* split, gemv, thr (note 1) */
	double err;		/* OpenBLAS: largest difference from the engine / largest |value| */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ cases */

static int make_cases(int tiny, struct kase *k)
{
	static const int64_t mm[5][2] = { { 896, 896 }, { 896, 4864 }, { 4864, 896 },
					    { 2560, 10240 }, { 10240, 2560 } };
	static const int64_t mm_tiny[2][2] = { { 40, 24 }, { 24, 40 } };
	static const uint32_t nt[4] = { 1, 8, 64, 512 }, nt_tiny[3] = { 1, 3, 8 };
	static const int64_t ctx[3] = { 512, 2048, 4096 };
	int c = 0;

	for (int s = 0; s < (tiny ? 2 : 5); s++)
		for (int i = 0; i < (tiny ? 3 : 4); i++)
			k[c++] = (struct kase){ MM, tiny ? mm_tiny[s][0] : mm[s][0],
						tiny ? mm_tiny[s][1] : mm[s][1], tiny ? nt_tiny[i] : nt[i], 0, 0 };
	for (int d = 0; d < 2; d++)
		for (int l = 0; l < (tiny ? 1 : 3); l++)
			for (int i = 0; i < 2; i++)
				k[c++] = (struct kase){ ATT, d ? 256 : 64, tiny ? 20 : ctx[l],
							i ? (tiny ? 3 : 64) : 1, d ? 4 : 2, d ? 2 : 7 };
	return c;
}

static double case_flop(const struct kase *k)
{
	if (k->kind == MM)
		return 2.0 * (double)k->n * (double)k->a * (double)k->b;
	return 4.0 * (double)k->n * k->h * k->g * (double)k->a * (double)k->b;
}

static void case_name(const struct kase *k, char *buf, size_t len)
{
	if (k->kind == MM)
		snprintf(buf, len, "mm %lldx%lld n=%u", (long long)k->a, (long long)k->b, k->n);
	else
		snprintf(buf, len, "att d=%lld ctx=%lld n=%u", (long long)k->a, (long long)k->b, k->n);
}

/* ------------------------------------------------------------------- data */

/* struct data - one case's inputs and outputs (all 64-byte aligned) */
struct data {
	const struct kase *k;
	ggml_half *w16;		/* MM (n_out, n_in); ATT: K then V, each (ctx, h * d) */
	float *w32;		/* w16 widened */
	float *x;		/* MM (n, n_in) activations; ATT (n, h * g * d) queries */
	float *xr;		/* x through F16 (MM: what the tile sees) */
	float *out;		/* MM (n, n_out); ATT (n, h * g * d) */
	float *s, *qh, *oh;	/* ATT OpenBLAS scratch: scores (n g, ctx), Q and O of one head (n g, d) */
};

static void *alloc(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) / 64 * 64);

	if (p == NULL) {
		fprintf(stderr, "blasbench: out of memory\n");
		exit(71);
	}
	return p;
}

static size_t w_elems(const struct kase *k)
{
	return k->kind == MM ? (size_t)(k->a * k->b) : 2 * (size_t)(k->b * k->h * k->a);
}

static size_t row_elems(const struct kase *k)
{
	return k->kind == MM ? (size_t)k->a : (size_t)(k->h * k->g * k->a);
}

static size_t out_elems(const struct kase *k)
{
	return k->kind == MM ? (size_t)k->b : row_elems(k);
}

__attribute__((target("avx2,f16c"))) static void widen_f16c(const ggml_half *h, float *f, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
	for (; i < n; i++)
		f[i] = ggml_fp16_to_fp32(h[i]);
}

/* widen - F16 to F32, as fast as the CPU allows (the +conv figures) */
static void widen(const ggml_half *h, float *f, size_t n)
{
	if (__builtin_cpu_supports("f16c")) {
		widen_f16c(h, f, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		f[i] = ggml_fp16_to_fp32(h[i]);
}

static float lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005u + 1442695040888963407u;
	return (float)((*s >> 40) & 0xffffff) / 8388608.0f - 1.0f;	/* [-1, 1) */
}

static void data_init(struct data *d, const struct kase *k)
{
	size_t nw = w_elems(k), nx = (size_t)k->n * row_elems(k);
	uint64_t s = 0x9e3779b97f4a7c15u;

	memset(d, 0, sizeof *d);
	d->k = k;
	d->w16 = alloc(nw * sizeof *d->w16);
	d->w32 = alloc(nw * sizeof *d->w32);
	d->x = alloc(nx * sizeof *d->x);
	d->xr = alloc(nx * sizeof *d->xr);
	d->out = alloc((size_t)k->n * out_elems(k) * sizeof *d->out);
	for (size_t i = 0; i < nw; i++)
		d->w16[i] = ggml_fp32_to_fp16(lcg(&s) * (k->kind == MM ? 0.05f : 1.0f));
	widen(d->w16, d->w32, nw);
	for (size_t i = 0; i < nx; i++) {
		d->x[i] = lcg(&s);
		d->xr[i] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(d->x[i]));
	}
	if (k->kind == ATT) {
		size_t m = (size_t)k->n * k->g;
		d->s = alloc(m * (size_t)k->b * sizeof *d->s);
		d->qh = alloc(m * (size_t)k->a * sizeof *d->qh);
		d->oh = alloc(m * (size_t)k->a * sizeof *d->oh);
	}
}

static void data_release(struct data *d)
{
	free(d->w16);
	free(d->w32);
	free(d->x);
	free(d->xr);
	free(d->out);
	free(d->s);
	free(d->qh);
	free(d->oh);
}

/* -------------------------------------------------------------- the engine */

/* struct eng_run - the engine on rows [t0, t0 + n) of a case */
struct eng_run {
	const struct data *d;
	const struct eng_kernels *kern;
	struct thr_pool *pool;
	uint32_t t0, n;
	float *out;
	struct eng_ctx c;		/* MM: what eng_matmul() reads (pool, kern, act_q) */
	float *att, *qf;		/* ATT: per-thread scratch (engine/ref/forward.c note 2) */
};

static void eng_run_init(struct eng_run *e, const struct data *d, const struct eng_kernels *kern,
			 struct thr_pool *pool, uint32_t t0, uint32_t n, float *out)
{
	const struct kase *k = d->k;
	int nth = thr_pool_size(pool);

	*e = (struct eng_run){ .d = d, .kern = kern, .pool = pool, .t0 = t0, .n = n, .out = out };
	if (k->kind == MM) {
		const struct eng_mm *mm = &kern->mm[GGML_TYPE_F16];
		e->c.pool = pool;
		e->c.kern = kern;
		e->c.p.n_batch = n;
		e->c.act_row_bytes = mm->tile ? mm->act_bytes(k->a) : ggml_row_size(GGML_TYPE_F16, (uint64_t)k->a);
		e->c.act_q = alloc(ENG_MM_PARTS * (size_t)n * e->c.act_row_bytes);
	} else {
		e->att = alloc((size_t)nth * k->g * (size_t)k->b * sizeof *e->att);
		e->qf = alloc((size_t)nth * k->g * (size_t)k->a * sizeof *e->qf);
	}
}

static void eng_run_release(struct eng_run *e)
{
	free(e->c.act_q);
	free(e->att);
	free(e->qf);
}

/* att_worker - (token, KV head) items split by thread as the forward pass does */
static void att_worker(void *arg, int ith, int nth)
{
	const struct eng_run *e = arg;
	const struct kase *k = e->d->k;
	size_t row = row_elems(k), kv = (size_t)(k->h * k->a);
	int64_t lo, hi;

	thr_split((int64_t)e->n * k->h, ith, nth, &lo, &hi);
	for (int64_t i = lo; i < hi; i++) {
		size_t t = (size_t)(i / k->h), h = (size_t)(i % k->h), off = h * k->g * k->a;
		struct eng_attn a = {
			.D = k->a, .nq = k->g, .nt = 1, .q = e->d->x + (e->t0 + t) * row + off,
			.k = e->d->w16 + h * k->a, .v = e->d->w16 + (size_t)k->b * kv + h * k->a,
			.kv_stride = kv, .j0 = 0, .p = (int32_t)k->b - 1,
			.scale = 1.0f / sqrtf((float)k->a),
			.att = e->att + (size_t)ith * k->g * k->b, .att_stride = (size_t)k->b,
			.qf = e->qf + (size_t)ith * k->g * k->a, .out = e->out + t * row + off,
		};
		e->kern->attn(&a, 1);
	}
}

static double eng_call(void *arg)
{
	struct eng_run *e = arg;
	const struct kase *k = e->d->k;
	double t0 = now_s();

	if (k->kind == MM) {
		struct eng_mat w = { (const uint8_t *)e->d->w16, GGML_TYPE_F16, k->a, k->b, (size_t)k->a * 2, 0 };
		eng_matmul(&e->c, &w, e->d->x + (size_t)e->t0 * k->a, (size_t)k->a, e->n, e->out,
			   (size_t)k->b, NULL);
	} else {
		thr_pool_run(e->pool, att_worker, e);
	}
	return now_s() - t0;
}

/* ---------------------------------------------------------------- OpenBLAS */

enum blas_mode { SGEMM, CONV, GEMV };

struct blas_run {
	struct data *d;
	enum blas_mode mode;
	uint32_t t0, n;
	float *out;
};

/* softmax_f16 - a row of scores to probabilities rounded through F16 (the
 * engine's numerics, engine/ref/forward.c note 4) */
static void softmax_f16(float *s, int64_t n)
{
	float max = -INFINITY;
	double sum = 0.0;

	for (int64_t j = 0; j < n; j++)
		max = s[j] > max ? s[j] : max;
	for (int64_t j = 0; j < n; j++) {
		s[j] = expf(s[j] - max);
		sum += s[j];
	}
	float inv = (float)(1.0 / sum);
	for (int64_t j = 0; j < n; j++)
		s[j] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(s[j] * inv));
}

/* blas_att - attention of rows [t0, t0 + n) by two sgemm per KV head;
 * returns the seconds outside the softmax (note 3) */
static double blas_att(struct blas_run *b)
{
	const struct data *d = b->d;
	const struct kase *k = d->k;
	int64_t D = k->a, L = k->b, M = (int64_t)b->n * k->g, kv = k->h * D;
	size_t row = row_elems(k);
	double t0 = now_s(), soft = 0.0;

	if (b->mode == CONV)
		widen(d->w16, d->w32, w_elems(k));
	for (int h = 0; h < k->h; h++) {
		const float *K = d->w32 + h * D, *V = d->w32 + L * kv + h * D;
		for (int64_t r = 0; r < M; r++)	/* (token, head) rows of this KV head */
			memcpy(d->qh + r * D, d->xr + (b->t0 + r / k->g) * row + (h * k->g + r % k->g) * D,
			       (size_t)D * sizeof *d->qh);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)L, (int)D,
			    1.0f / sqrtf((float)D), d->qh, (int)D, K, (int)kv, 0.0f, d->s, (int)L);
		double s0 = now_s();
		for (int64_t r = 0; r < M; r++)
			softmax_f16(d->s + r * L, L);
		soft += now_s() - s0;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)D, (int)L, 1.0f,
			    d->s, (int)L, V, (int)kv, 0.0f, d->oh, (int)D);
		for (int64_t r = 0; r < M; r++)
			memcpy(b->out + (r / k->g) * row + (h * k->g + r % k->g) * D, d->oh + r * D,
			       (size_t)D * sizeof *d->oh);
	}
	return now_s() - t0 - soft;
}

static double blas_call(void *arg)
{
	struct blas_run *b = arg;
	const struct data *d = b->d;
	const struct kase *k = d->k;
	const float *x = d->xr + (size_t)b->t0 * k->a;
	double t0 = now_s();

	if (k->kind == ATT)
		return blas_att(b);
	if (b->mode == CONV)
		widen(d->w16, d->w32, w_elems(k));
	if (b->mode == GEMV)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)k->b, (int)k->a, 1.0f, d->w32, (int)k->a,
			    x, 1, 0.0f, b->out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b->n, (int)k->b, (int)k->a,
			    1.0f, x, (int)k->a, d->w32, (int)k->a, 0.0f, b->out, (int)k->b);
	return now_s() - t0;
}

/* ------------------------------------------------------------------ timing */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* gflops - median GFLOP/s of o->reps repetitions of fn after a warm-up (note 4) */
static double gflops(double flop, double (*fn)(void *), void *arg, const struct opts *o)
{
	double per[MAX_REPS];

	fn(arg);
	for (int r = 0; r < o->reps; r++) {
		double start = now_s(), counted = 0.0;
		long calls = 0;
		do {
			counted += fn(arg);
			calls++;
		} while (now_s() - start < o->min_s);
		per[r] = counted / (double)calls;
	}
	qsort(per, (size_t)o->reps, sizeof *per, cmp_double);
	return flop / per[o->reps / 2] * 1e-9;
}

static int same(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof *a) == 0;
}

/* rel_err - largest |a - b| over the largest |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
	double d = 0.0, m = 0.0;

	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);
		d = e > d || isnan(e) ? e : d;
		m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
	}
	return m > 0.0 ? d / m : d;
}

/* ----------------------------------------------------------------- one case */

/* blas_figs - OpenBLAS on d with T threads: figures into g, the n-token
 * result left in d->out, one-token sgemm rows 0 and n-1 in one, gemv in gv */
static void blas_figs(struct data *d, int T, const struct opts *o, struct fig *g, float *one, float *gv)
{
	const struct kase *k = d->k;
	size_t ro = out_elems(k);
	struct blas_run b = { d, SGEMM, 0, k->n, d->out };

	openblas_set_num_threads(T);
	g->gf = gflops(case_flop(k), blas_call, &b, o);
	b.mode = CONV;
	g->conv = gflops(case_flop(k), blas_call, &b, o);
	b.mode = SGEMM;
	blas_call(&b);
	for (int i = 0; i < 2; i++) {
		struct blas_run b1 = { d, SGEMM, i ? k->n - 1 : 0, 1, one + i * ro };
		blas_call(&b1);
		if (k->kind == MM) {
			struct blas_run v = { d, GEMV, i ? k->n - 1 : 0, 1, gv + i * ro };
			if (k->n == 1 && i == 0)
				g->gemv = gflops(case_flop(k), blas_call, &v, o);
			blas_call(&v);
		}
	}
}

/* eng_figs - the engine on d with pool: figure into g, the n-token result
 * left in out, one-token rows 0 and n-1 in one */
static void eng_figs(const struct data *d, const struct eng_kernels *kern, struct thr_pool *pool,
		     const struct opts *o, struct fig *g, float *out, float *one)
{
	const struct kase *k = d->k;
	struct eng_run e;

	eng_run_init(&e, d, kern, pool, 0, k->n, out);
	if (g != NULL)
		g->gf = gflops(case_flop(k), eng_call, &e, o);
	eng_call(&e);
	eng_run_release(&e);
	for (int i = 0; g != NULL && i < 2; i++) {
		eng_run_init(&e, d, kern, pool, i ? k->n - 1 : 0, 1, one + i * out_elems(k));
		eng_call(&e);
		eng_run_release(&e);
	}
}

/* measure - one case for every thread count with OpenBLAS (blas) or the
 * engine: f[thread index] (note 1) */
static void measure(const struct kase *k, int blas, const struct opts *o, struct fig *f)
{
	const struct eng_kernels *kern = eng_kernels_select(0);
	size_t ro = out_elems(k), nout = (size_t)k->n * ro, last = (k->n - 1) * ro;
	float *first = alloc(nout * sizeof *first), *one = alloc(2 * ro * sizeof *one);
	float *gv = alloc(2 * ro * sizeof *gv), *ref = alloc(nout * sizeof *ref);
	struct data d;

	data_init(&d, k);
	for (int ti = 0; ti < o->n_thr; ti++) {
		struct thr_pool *pool;
		struct dk_err err = DK_ERR_INIT;
		struct fig *g = &f[ti];
		if (thr_pool_new(blas ? 1 : o->thr[ti], &pool, &err) != 0) {
			fprintf(stderr, "blasbench: %s\n", err.msg);
			exit(71);
		}
		memset(g, 0, sizeof *g);
		if (blas && ti == 0)	/* the engine's values, one thread, untimed */
			eng_figs(&d, kern, pool, o, NULL, ref, NULL);
		if (blas)
			blas_figs(&d, o->thr[ti], o, g, one, gv);
		else
			eng_figs(&d, kern, pool, o, g, d.out, one);
		thr_pool_free(pool);
		g->bits[0] = k->n == 1 ? '-' : same(d.out, one, ro) && same(d.out + last, one + ro, ro) ? '=' : 'x';
		g->bits[1] = !blas || k->kind != MM ? '-' :
			     same(d.out, gv, ro) && same(d.out + last, gv + ro, ro) ? '=' : 'x';
		g->bits[2] = ti == 0 ? '-' : same(d.out, first, nout) ? '=' : 'x';
		g->err = blas ? rel_err(d.out, ref, nout) : 0.0;
		if (ti == 0)
			memcpy(first, d.out, nout * sizeof *first);
	}
	data_release(&d);
	free(first);
	free(one);
	free(gv);
	free(ref);
}

/* ------------------------------------------------------------ the children */

/* child - run the OpenBLAS side of every case; one line per row (note 2) */
static int child(const struct opts *o, const struct kase *k, int nk)
{
	struct fig f[MAX_THR];

	printf("core %s\n", openblas_get_corename());
	for (int c = 0; c < nk; c++) {
		if (k[c].kind == ATT && eng_kernels_select(0)->attn == NULL)
			continue;
		measure(&k[c], 1, o, f);
		for (int t = 0; t < o->n_thr; t++)
			printf("%d %d %.6g %.6g %.6g %s %.3g\n", c, t, f[t].gf, f[t].conv, f[t].gemv,
			       f[t].bits, f[t].err);
		fflush(stdout);
	}
	return 0;
}

/* spawn_core - run this binary as the child for core type core, read its
 * rows into f[case][thread]; name gets the core OpenBLAS chose */
static int spawn_core(const char *core, char **argv, int argc, struct fig f[][MAX_THR], char *name,
		      size_t name_len)
{
	char *args[32], *env[512], var[64], line[256], cn[48];
	int fd[2], n = 0, e = 0, st;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	args[n++] = "/proc/self/exe";
	args[n++] = "--child";
	for (int i = 1; i < argc && n < 31; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	for (char **v = environ; *v != NULL && e < 510; v++)
		if (strncmp(*v, "OPENBLAS_CORETYPE=", 18) != 0)
			env[e++] = *v;
	snprintf(var, sizeof var, "OPENBLAS_CORETYPE=%s", core);
	if (strcmp(core, "unset") != 0)
		env[e++] = var;
	env[e] = NULL;
	if (pipe(fd) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, env);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (rc != 0) {
		close(fd[0]);
		return -1;
	}
	FILE *in = fdopen(fd[0], "r");
	while (in != NULL && fgets(line, sizeof line, in) != NULL) {
		struct fig g;
		int c, t;
		if (sscanf(line, "core %47s", cn) == 1 && strcmp(core, "unset") == 0)
			snprintf(name, name_len, "(%s)", cn);
		else if (sscanf(line, "core %47s", cn) == 1)
			snprintf(name, name_len, "%s", cn);
		else if (sscanf(line, "%d %d %lf %lf %lf %3s %lf", &c, &t, &g.gf, &g.conv, &g.gemv, g.bits,
				&g.err) == 7 && c >= 0 && c < MAX_CASES && t >= 0 && t < MAX_THR)
			f[c][t] = g;
	}
	if (in != NULL)
		fclose(in);
	else
		close(fd[0]);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* -------------------------------------------------------------------- main */

static int parse_list(const char *s, int *v, int max)
{
	int n = 0;

	for (char *end; *s != '\0' && n < max; s = *end == ',' ? end + 1 : end) {
		long x = strtol(s, &end, 10);
		if (end == s || x < 1 || x > 64 || (*end != ',' && *end != '\0'))
			return 0;
		v[n++] = (int)x;
	}
	return n;
}

static int parse(int argc, char **argv, struct opts *o, int *is_child)
{
	static char cores[128];

	*o = (struct opts){ .thr = { 1, 2 }, .n_thr = 2, .reps = 3, .min_s = 0.05,
			    .core = { "unset", "SkylakeX", "Zen" }, .n_core = 3 };
	*is_child = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--child") == 0) {
			*is_child = 1;
		} else if (strcmp(a, "--tiny") == 0) {
			o->tiny = 1;
			o->min_s = 0.0;
		} else if (strcmp(a, "-t") == 0 && v != NULL) {
			if ((o->n_thr = parse_list(v, o->thr, MAX_THR)) == 0)
				return -1;
			i++;
		} else if (strcmp(a, "-r") == 0 && v != NULL) {
			o->reps = atoi(v);
			if (o->reps < 1 || o->reps > MAX_REPS)
				return -1;
			i++;
		} else if (strcmp(a, "--core") == 0 && v != NULL) {
			snprintf(cores, sizeof cores, "%s", v);
			o->n_core = 0;
			for (char *s = strtok(cores, ","); s != NULL && o->n_core < MAX_CORES; s = strtok(NULL, ","))
				o->core[o->n_core++] = s;
			if (o->n_core == 0)
				return -1;
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

static struct fig res[MAX_CORES + 1][MAX_CASES][MAX_THR];	/* [0]: the engine */

/* report - the table and the summary line; returns 1 when a check failed */
static int report(const struct opts *o, const struct kase *k, int nk, char names[][64])
{
	int rows = 0, faster = 0, faster_conv = 0, faster_bit = 0, faster_n1 = 0, eng_bit = 1, bad = 0;
	double best = 0.0;
	char best_row[80] = "-", name[64];

	printf("%-26s %3s %7s %5s", "case (GFLOP/s)", "thr", "engine", "bits");
	for (int c = 0; c < o->n_core; c++)
		printf(" | %-12.12s %6s %6s %5s", names[c], "+conv", "gemv", "bits");
	printf("\n");
	for (int i = 0; i < nk; i++)
		for (int t = 0; t < o->n_thr; t++) {
			const struct fig *e = &res[0][i][t];
			int win = 0, win_conv = 0, win_bit = 0;
			if (e->gf <= 0.0)
				continue;
			case_name(&k[i], name, sizeof name);
			printf("%-26s %3d %7.1f %5s", name, o->thr[t], e->gf, e->bits);
			eng_bit &= strchr(e->bits, 'x') == NULL;
			for (int c = 0; c < o->n_core; c++) {
				const struct fig *b = &res[c + 1][i][t];
				printf(" | %12.1f %6.1f ", b->gf, b->conv);
				if (b->gemv > 0.0)
					printf("%6.1f", b->gemv);
				else
					printf("%6s", "-");
				printf(" %5s", b->bits);
				bad |= !(b->err <= (k[i].kind == MM ? 1e-5 : 2e-4));	/* measured: below 1e-6, 3e-5 */
				win |= b->gf > e->gf || b->gemv > e->gf;
				win_conv |= b->conv > e->gf;
				win_bit |= b->gf > e->gf && b->bits[0] != 'x' && b->bits[2] != 'x';
				if (b->gf / e->gf > best) {
					best = b->gf / e->gf;
					snprintf(best_row, sizeof best_row, "%s/%d", name, o->thr[t]);
				}
			}
			printf("\n");
			rows++;
			faster += win;
			faster_conv += win_conv;
			faster_bit += win_bit;
			faster_n1 += win && k[i].n == 1;
		}
	for (char *p = best_row; *p != '\0'; p++)
		*p = *p == ' ' ? '_' : *p;
	printf("docket-bench-blas rows=%d blas_faster=%d blas_faster_conv=%d blas_faster_bitwise=%d "
	       "blas_faster_n1=%d best_ratio=%.2f best_row=%s engine_bitwise=%s\n", rows, faster,
	       faster_conv, faster_bit, faster_n1, best, best_row, eng_bit ? "yes" : "no");
	if (bad)
		fprintf(stderr, "blasbench: openblas and the engine disagree beyond rounding\n");
	if (!eng_bit)
		fprintf(stderr, "blasbench: the engine's results depend on the batch split or thread count\n");
	return bad || !eng_bit;
}

int main(int argc, char **argv)
{
	static char names[MAX_CORES][64];
	struct kase k[MAX_CASES];
	struct opts o;
	int is_child, nk;

	if (parse(argc, argv, &o, &is_child) != 0) {
		fprintf(stderr, "usage: blasbench [-t LIST] [-r R] [--core LIST] [--tiny]\n");
		return 64;
	}
	nk = make_cases(o.tiny, k);
	if (is_child)
		return child(&o, k, nk);
	for (int c = 0; c < o.n_core; c++) {
		if (spawn_core(o.core[c], argv, argc, res[c + 1], names[c], sizeof names[c]) != 0) {
			fprintf(stderr, "blasbench: the openblas run for core type '%s' failed\n", o.core[c]);
			return 70;
		}
	}
	const struct eng_kernels *kern = eng_kernels_select(0);
	for (int i = 0; i < nk; i++)
		if (k[i].kind == MM || kern->attn != NULL)
			measure(&k[i], 0, &o, res[0][i]);
	printf("%s; engine kernels %s; median of %d; (NAME): the core OpenBLAS picks with "
	       "OPENBLAS_CORETYPE unset; bits: split/gemv/thr (= same, x differs, - n/a)\n",
	       openblas_get_config(), kern->name, o.reps);
	return report(&o, k, nk, names);
}
