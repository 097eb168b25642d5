/*
 * NAME
 *	bench - docket bench: prompt and generation speed of the engine
 * SUMMARY
 *	docket bench --model F [-p N] [-n N] [-t T] [-b B] [-r R]
 *	Measures, like llama-bench, prompt processing (one eng_decode() of N
 *	random tokens into an empty cache: pp tokens/s) and generation (N
 *	single-token steps from an empty cache: tg tokens/s). With -b B, B
 *	sequences advance together, one batch of B entries per step, and tg is
 *	the aggregate rate (B * N / time); with -p as well, a prefix-reuse line
 *	follows: the prompt evaluated once into sequence 0 and its KV cache
 *	forked to the other B - 1 sequences (eng_kv_copy_prefix), against
 *	evaluating it B times (B x the pp median), and a shared-prefix
 *	generation line (tg-shared): the prompt in sequence 0, shared with the
 *	other B - 1 by reference (eng_kv_share_prefix), then N steps of one
 *	token of each of the B sequences, aggregate tokens/s, as the pipeline's
 *	stage streams generate over their document's prefix (engine/kernels/
 *	avx512/attn_avx512.c note 12). Each figure is the median of R runs
 *	(after one untimed warm-up run) with its min and max. Then it reports
 *	peak RSS (before the probe below), a memory-read bandwidth probe with T
 *	threads, and the generation bound for the file (file bytes / bandwidth:
 *	every weight byte is read once per generated token).
 *	The last line is machine-readable:
 *	docket-bench model=F type=T threads=T pp=N pp_tps=X tg=N tg_tps=Y rss_mb=Z
 * DESIGN NOTES
 *	1. Tokens come from a fixed LCG, so every run decodes the same ids
 *	   (random weights make their values irrelevant to speed).
 *	2. The probe buffer (256 MiB) is far larger than the last-level cache
 *	   and is touched before timing, so page faults stay out of the figure;
 *	   the best of several passes is reported, as a machine limit should be.
 *	   It sits on 2 MB pages where the kernel gives them, as the model's
 *	   weights do (engine/gguf.c note 6), so the bound is the one the
 *	   weights can reach.
 * DIAGNOSTICS
 *	One line on stderr; exit status from sysexits.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <immintrin.h>

#include "engine/engine.h"
#include "engine/ggml_types.h"
#include "engine/threads.h"
#include "pipeline/builtin.h"

static const char usage_text[] =
	"usage: docket bench --model F [-p N] [-n N] [-t T] [-b B] [-r R]\n"
	"  -p N  prompt tokens (default 512; 0 skips)   -n N  generated tokens (default 128; 0 skips)\n"
	"  -t T  threads (default 2)   -b B  sequences decoding together (default 1)\n"
	"  -r R  timed runs, median reported (default 3)\n";

#define PROBE_BYTES ((size_t)256 << 20)
#define PROBE_PASSES 5

struct opts {
	const char *model;
	uint32_t pp, tg, threads, nseq, reps;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* lcg_tokens - n deterministic ids in [0, n_vocab) (note 1) */
static void lcg_tokens(int32_t *tok, uint32_t n, uint32_t n_vocab)
{
	uint64_t s = 0x9e3779b97f4a7c15u;

	for (uint32_t i = 0; i < n; i++) {
		s = s * 6364136223846793005u + 1442695040888963407u;
		tok[i] = (int32_t)((s >> 33) % n_vocab);
	}
}

/* run_pp - seconds for one prompt of o->pp tokens into an empty cache */
static int run_pp(struct eng_ctx *c, const struct opts *o, const int32_t *tok,
		  int32_t *pos, double *secs, struct dk_err *err)
{
	for (uint32_t i = 0; i < o->pp; i++)
		pos[i] = (int32_t)i;
	struct eng_batch b = { o->pp, tok, pos, NULL, NULL };
	int rc = eng_kv_clear(c, -1, err);
	double t0 = now_s();
	if (rc == 0)
		rc = eng_decode(c, &b, err);
	*secs = now_s() - t0;
	return rc;
}

/* run_tg - seconds for o->tg steps of o->nseq sequences, one token each,
 * from position p0: from an empty cache (0), or going on from the prompt
 * every sequence holds (o->pp), the cache cut back to it first; tok holds
 * tg * nseq ids, pos 2 * nseq slots */
static int run_tg(struct eng_ctx *c, const struct opts *o, uint32_t p0, const int32_t *tok,
		  int32_t *pos, int32_t *seq, int8_t *want, double *secs, struct dk_err *err)
{
	int32_t *step_tok = pos + o->nseq;
	int rc = p0 == 0 ? eng_kv_clear(c, -1, err) : 0;

	for (uint32_t s = 0; s < o->nseq && p0 > 0 && rc == 0; s++)
		rc = eng_kv_truncate(c, (int32_t)s, p0, err);
	double t0 = now_s();
	for (uint32_t t = 0; t < o->tg && rc == 0; t++) {
		for (uint32_t s = 0; s < o->nseq; s++) {
			step_tok[s] = tok[t * o->nseq + s];
			pos[s] = (int32_t)(p0 + t);
			seq[s] = (int32_t)s;
			want[s] = 1;
		}
		struct eng_batch b = { o->nseq, step_tok, pos, seq, want };
		rc = eng_decode(c, &b, err);
	}
	*secs = now_s() - t0;
	return rc;
}

/* prefix_reuse - print the prefix-reuse line (SUMMARY): one prompt
 * evaluation plus B - 1 timed forks against B evaluations */
static int prefix_reuse(struct eng_ctx *c, const struct opts *o, const int32_t *tok,
			int32_t *pos, double pp_tps, struct dk_err *err)
{
	double eval_s, t0, fork_s;
	int rc;

	if ((rc = run_pp(c, o, tok, pos, &eval_s, err)) != 0)
		return rc;
	t0 = now_s();
	for (uint32_t s = 1; s < o->nseq && rc == 0; s++)
		rc = eng_kv_copy_prefix(c, 0, (int32_t)s, o->pp, err);
	fork_s = now_s() - t0;
	if (rc != 0)
		return rc;
	double once = o->pp / pp_tps + fork_s, each = o->nseq * (o->pp / pp_tps);
	printf("prefix %u tokens for %u sequences: evaluated once + %u forks %.1f ms "
	       "(forks %.2f ms), evaluated %u times %.1f ms: %.1fx\n", o->pp, o->nseq, o->nseq - 1,
	       once * 1e3, fork_s * 1e3, o->nseq, each * 1e3, each / once);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* report - median, min, max tokens/s of r runs of n tokens; returns the median */
static double report(const char *what, uint32_t n, double *secs, uint32_t r)
{
	qsort(secs, r, sizeof *secs, cmp_double);
	double med = n / secs[r / 2], lo = n / secs[r - 1], hi = n / secs[0];

	printf("%-5s %5u tokens  %9.2f t/s  (min %.2f, max %.2f, %u runs)\n", what, n, med, lo, hi, r);
	return med;
}

/* shared_gen - the tg-shared line (SUMMARY): the prompt evaluated once and
 * shared, then a warm-up and R timed runs of run_tg going on from it */
static int shared_gen(struct eng_ctx *c, const struct opts *o, const int32_t *tok, int32_t *pos,
		      int32_t *seq, int8_t *want, double *secs, struct dk_err *err)
{
	double eval_s;
	int rc = run_pp(c, o, tok, pos, &eval_s, err);

	for (uint32_t s = 1; s < o->nseq && rc == 0; s++)
		rc = eng_kv_share_prefix(c, 0, (int32_t)s, o->pp, err);
	for (uint32_t r = 0; r <= o->reps && rc == 0; r++)
		rc = run_tg(c, o, o->pp, tok, pos, seq, want, &secs[r ? r - 1 : 0], err);
	if (rc == 0)
		report("tg-shared", o->tg * o->nseq, secs, o->reps);
	return rc;
}

struct probe {
	const uint8_t *buf;
	size_t bytes;
	uint64_t sink[64];	/* per thread, keeps the loads alive */
};

/* probe_slice - read this thread's slice of the buffer with 256-bit loads */
__attribute__((target("avx2"))) static void probe_slice(void *arg, int ith, int nth)
{
	struct probe *p = arg;
	int64_t lo, hi;

	thr_split((int64_t)(p->bytes / 128), ith, nth, &lo, &hi);
	const __m256i *v = (const __m256i *)(const void *)p->buf;
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
	for (int64_t i = lo * 4; i < hi * 4; i += 4) {
		a0 = _mm256_xor_si256(a0, _mm256_load_si256(v + i));
		a1 = _mm256_xor_si256(a1, _mm256_load_si256(v + i + 1));
		a2 = _mm256_xor_si256(a2, _mm256_load_si256(v + i + 2));
		a3 = _mm256_xor_si256(a3, _mm256_load_si256(v + i + 3));
	}
	a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
	p->sink[ith % 64] ^= (uint64_t)_mm256_extract_epi64(a0, 0) ^ (uint64_t)_mm256_extract_epi64(a0, 3);
}

/* bandwidth_probe - best memory-read GB/s over several passes (note 2); 0 if unavailable */
static double bandwidth_probe(struct thr_pool *pool)
{
	struct probe p = { 0 };
	double best = 0;

	if (!__builtin_cpu_supports("avx2"))
		return 0;
	void *buf = aligned_alloc((size_t)2 << 20, PROBE_BYTES);
	if (buf == NULL)
		return 0;
	(void)madvise(buf, PROBE_BYTES, MADV_HUGEPAGE);
	memset(buf, 1, PROBE_BYTES);
	p.buf = buf;
	p.bytes = PROBE_BYTES;
	for (int i = 0; i < PROBE_PASSES; i++) {
		double t0 = now_s();
		thr_pool_run(pool, probe_slice, &p);
		double gbs = (double)PROBE_BYTES / (now_s() - t0) / 1e9;
		if (gbs > best)
			best = gbs;
	}
	free(buf);
	return best;
}

/* type_name - llama.cpp's file type (general.file_type) or the bulk tensor type */
static const char *type_name(const struct gguf *g)
{
	static const struct { uint32_t ft; const char *name; } ftypes[] = {
		{ 0, "F32" }, { 1, "F16" }, { 2, "Q4_0" }, { 3, "Q4_1" }, { 7, "Q8_0" },
		{ 8, "Q5_0" }, { 9, "Q5_1" }, { 10, "Q2_K" }, { 11, "Q3_K_S" }, { 12, "Q3_K_M" },
		{ 13, "Q3_K_L" }, { 14, "Q4_K_S" }, { 15, "Q4_K_M" }, { 16, "Q5_K_S" },
		{ 17, "Q5_K_M" }, { 18, "Q6_K" }, { 32, "BF16" },
	};
	struct dk_err err = DK_ERR_INIT;
	uint64_t bytes[GGML_TYPE_COUNT] = { 0 };
	uint32_t ft, top = 0;

	if (gguf_find_key(g, "general.file_type") != NULL &&
	    gguf_get_u32(g, "general.file_type", &ft, &err) == 0)
		for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
			if (ftypes[i].ft == ft)
				return ftypes[i].name;
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].type < GGML_TYPE_COUNT)
			bytes[g->tensors[i].type] += g->tensors[i].nbytes;
	for (uint32_t t = 1; t < GGML_TYPE_COUNT; t++)
		if (bytes[t] > bytes[top])
			top = t;
	return ggml_type_name(top);
}

/* measure - warm-up plus o->reps timed runs of a phase; median t/s into *tps */
static int measure(struct eng_ctx *c, const struct opts *o, int tg, const int32_t *tok,
		   int32_t *pos, int32_t *seq, int8_t *want, double *secs, double *tps,
		   struct dk_err *err)
{
	for (uint32_t r = 0; r <= o->reps; r++) {
		int rc = tg ? run_tg(c, o, 0, tok, pos, seq, want, &secs[r ? r - 1 : 0], err)
			    : run_pp(c, o, tok, pos, &secs[r ? r - 1 : 0], err);
		if (rc != 0)
			return rc;
	}
	*tps = tg ? report("tg", o->tg * o->nseq, secs, o->reps) : report("pp", o->pp, secs, o->reps);
	return 0;
}

static int run(const struct opts *o)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct thr_pool *pool = NULL;
	uint32_t ntok = o->pp > o->tg * o->nseq ? o->pp : o->tg * o->nseq;
	uint32_t npos = o->pp > 2 * o->nseq ? o->pp : 2 * o->nseq;
	int32_t *tok = malloc(ntok * sizeof *tok), *pos = malloc(npos * sizeof *pos);
	int32_t *seq = malloc(o->nseq * sizeof *seq);
	int8_t *want = malloc(o->nseq);
	double *secs = malloc(o->reps * sizeof *secs), pp_tps = 0, tg_tps = 0;
	struct stat st;
	int rc;

	if (tok == NULL || pos == NULL || seq == NULL || want == NULL || secs == NULL) {
		rc = dk_err_set(&err, DK_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = eng_model_load(o->model, &m, &err)) != 0)
		goto out;
	const struct eng_hparams *hp = eng_model_hparams(m);
	struct eng_ctx_params cp = { 0 };
	cp.n_ctx = o->pp + o->tg + 1;	/* the shared-prefix steps go on from the prompt */
	cp.n_threads = o->threads;
	cp.n_seq_max = o->nseq;
	cp.n_batch = o->pp > o->nseq ? o->pp : o->nseq;
	if ((rc = eng_ctx_new(m, &cp, &c, &err)) != 0)
		goto out;
	lcg_tokens(tok, ntok, hp->n_vocab);
	const char *type = type_name(eng_model_gguf(m));
	printf("model %s: %s %s, %u layers, n_embd %u, kernels %s, %u threads, %u sequences\n",
	       o->model, hp->arch_name, type, hp->n_layer, hp->n_embd, eng_ctx_kernels(c),
	       o->threads, o->nseq);
	if (o->pp > 0 && (rc = measure(c, o, 0, tok, pos, seq, want, secs, &pp_tps, &err)) != 0)
		goto out;
	if (o->tg > 0 && (rc = measure(c, o, 1, tok, pos, seq, want, secs, &tg_tps, &err)) != 0)
		goto out;
	if (o->pp > 0 && o->nseq > 1 && (rc = prefix_reuse(c, o, tok, pos, pp_tps, &err)) != 0)
		goto out;
	if (o->pp > 0 && o->tg > 0 && o->nseq > 1 &&
	    (rc = shared_gen(c, o, tok, pos, seq, want, secs, &err)) != 0)
		goto out;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double rss_mb = (double)ru.ru_maxrss / 1024.0;
	printf("peak RSS %.1f MB\n", rss_mb);
	if ((rc = thr_pool_new((int)o->threads, &pool, &err)) != 0)
		goto out;
	double gbs = bandwidth_probe(pool);
	if (gbs > 0 && stat(o->model, &st) == 0) {
		double bound = gbs * 1e9 / (double)st.st_size;
		printf("memory read %.1f GB/s with %u threads; generation bound %.1f t/s for %.1f MB",
		       gbs, o->threads, bound, (double)st.st_size / 1e6);
		if (o->tg > 0 && o->nseq == 1)
			printf(" (tg at %.0f%%)", 100.0 * tg_tps / bound);
		putchar('\n');
	}
	printf("docket-bench model=%s type=%s threads=%u pp=%u pp_tps=%.2f tg=%u tg_tps=%.2f rss_mb=%.1f\n",
	       o->model, type, o->threads, o->pp, pp_tps, o->tg, tg_tps, rss_mb);
out:
	if (rc != 0)
		fprintf(stderr, "docket bench: %s\n", err.msg);
	thr_pool_free(pool);
	eng_ctx_free(c);
	eng_model_free(m);
	free(tok);
	free(pos);
	free(seq);
	free(want);
	free(secs);
	return rc;
}

/* num_arg - an integer option value in [min, 1 << 20] */
static int num_arg(const char *s, uint32_t min, uint32_t *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (*s == 0 || *end != 0 || x < (long)min || x > 1 << 20)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct opts o = { NULL, 512, 128, 2, 1, 3 };

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (v == NULL)
			goto usage;
		if (strcmp(a, "--model") == 0 || strcmp(a, "-m") == 0)
			o.model = v;
		else if ((strcmp(a, "-p") != 0 || num_arg(v, 0, &o.pp) != 0) &&
			 (strcmp(a, "-n") != 0 || num_arg(v, 0, &o.tg) != 0) &&
			 (strcmp(a, "-t") != 0 || num_arg(v, 1, &o.threads) != 0) &&
			 (strcmp(a, "-b") != 0 || num_arg(v, 1, &o.nseq) != 0) &&
			 (strcmp(a, "-r") != 0 || num_arg(v, 1, &o.reps) != 0))
			goto usage;
	}
	if (o.model == NULL || o.threads > 256 || o.nseq > 256 || o.reps > 100)
		goto usage;
	int rc = run(&o);
	return rc == 0 ? EX_OK : dk_err_sysexit(rc);
usage:
	fputs(usage_text, stderr);
	return EX_USAGE;
}
