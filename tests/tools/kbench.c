/*
 * NAME
 *	kbench - the K-quant matrix tiles alone, one thread
 * SUMMARY
 *	kbench [-r R] [--type q4_K|q5_K|q6_K] [--n LIST] [--shape INxOUT] [--l2-only]
 *	       [--file-layout]
 *	Times the kernel table's Q4_K, Q5_K and Q6_K tiles (engine/kernels/
 *	avx512/mm_k.c) on random weights of a model's shapes (gemma3-4b:
 *	2560x10240, 10240x2560, 2560x2048, 2560x262144 Q6_K; qwen2.5-0.5b:
 *	4864x896, its only K-quant shape (896 is no multiple of 256); Q5_K
 *	there too), for batches of N tokens (default 16, 24,
 *	32, 40, 48, 64; at most 64). One row per type, shape and N: ns per
 *	token per 16 rows per super-block (256 inputs), the weights
 *	from L2 (a slice of <= 256 KB, walked again and again) and from DRAM
 *	(>= 256 MB of rows, walked once per repetition), median of R, and a
 *	hash of the outputs of the shape's first 64 rows, so two builds of
 *	the tiles can be compared bitwise in one glance.
 * DESIGN NOTES
 *	1. The tile is called directly, 16 rows at a time, as matmul does,
 *	   on activations quantized once by the table's own quantize; only
 *	   the tile calls are timed.
 *	2. Each L2 repetition repeats the slice until 20 ms have passed; a
 *	   DRAM repetition is one walk over the whole buffer (not cached:
 *	   8x the 32 MB L3). Time is the thread's CPU time, so a loaded
 *	   machine (cores shared by time slices) changes the figures little;
 *	   DRAM figures still feel the other core's memory traffic.
 *	3. The weights sit in huge pages where the kernel grants them, as
 *	   the engine's do (engine/gguf.c).
 *	5. Types the table has a packed tile for (mm_packed) run as the
 *	   engine runs them: the weights packed once into the tile layout
 *	   (engine/wpack.c) before timing, outside it; --file-layout keeps the
 *	   file's layout and the ordinary tile (the hashes must agree).
 *	4. Weights are random bytes with fixed d and dmin (the tiles' work
 *	   does not depend on the values), activations random in [-1, 1);
 *	   one fixed seed, so the hashes are the same from run to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "engine/ggml_types.h"
#include "engine/kernels/kernels.h"
#include "engine/wpack.h"

#define MAX_LIST 16	/* batch sizes per run */
#define MAX_TOK 64	/* tokens per batch */
#define MAX_REPS 15
#define L2_BYTES (256u << 10)
#define DRAM_BYTES (256u << 20)

struct shape {
	int64_t in, out;
	int type;
};

/* now_s - this thread's CPU time (note 2) */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* rnd - xorshift64, fixed seed (note 4) */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* fill_rows - nr random rows of type t and n inputs, finite scales */
static void fill_rows(uint8_t *w, int t, int64_t n, size_t nr, uint64_t *s)
{
	size_t rb = ggml_row_size(t, n), bs = ggml_type_traits((uint32_t)t)->type_size, nb = (size_t)n / QK_K;

	for (size_t i = 0; i < nr * rb; i += 8) {
		uint64_t v = rnd(s);
		memcpy(w + i, &v, nr * rb - i < 8 ? nr * rb - i : 8);
	}
	for (size_t i = 0; i < nr * nb; i++) {
		uint8_t *b = w + i * bs;
		ggml_half d = ggml_fp32_to_fp16(1e-3f * (float)(1 + rnd(s) % 8));
		ggml_half dm = ggml_fp32_to_fp16(1e-4f * (float)(1 + rnd(s) % 8));
		if (t == GGML_TYPE_Q6_K) {
			memcpy(b + offsetof(struct block_q6_K, d), &d, sizeof d);
		} else {
			memcpy(b, &d, sizeof d);
			memcpy(b + sizeof d, &dm, sizeof dm);
		}
	}
}

/* run_rows - the tile over rows [0, nr) of w, 16 at a time (nr a
 * multiple of 16) */
static void run_rows(eng_tile_fn tile, int64_t n, const uint8_t *w, size_t rb, size_t nr,
		     const void *act, size_t as, uint32_t nt, float *out, size_t os)
{
	for (size_t r = 0; r < nr; r += 16)
		tile(n, w + r * rb, rb, 16, act, as, nt, out + (r % os), os, NULL);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* measure - median ns per token per 16 rows per super-block */
static double measure(eng_tile_fn tile, int64_t n, const uint8_t *w, size_t rb, size_t nr,
		      const void *act, size_t as, uint32_t nt, float *out, size_t os, int reps, int once)
{
	double t[MAX_REPS];
	double units = (double)nt * (double)(nr / 16) * (double)(n / QK_K);

	for (int r = 0; r < reps; r++) {
		int calls = 0;
		double t0 = now_s(), t1;
		do {
			run_rows(tile, n, w, rb, nr, act, as, nt, out, os);
			calls++;
			t1 = now_s();
		} while (!once && t1 - t0 < 0.02);
		t[r] = (t1 - t0) * 1e9 / (units * calls);
	}
	qsort(t, (size_t)reps, sizeof t[0], cmp_d);
	return t[reps / 2];
}

/* hash - FNV-1a over the float bits of nt rows of 64 outputs */
static uint64_t hash(const float *out, size_t os, uint32_t nt)
{
	uint64_t h = 1469598103934665603ull;

	for (uint32_t t = 0; t < nt; t++) {
		const uint8_t *p = (const uint8_t *)(out + (size_t)t * os);
		for (size_t i = 0; i < 64 * sizeof(float); i++)
			h = (h ^ p[i]) * 1099511628211ull;
	}
	return h;
}

static int bench_shape(const struct eng_kernels *k, struct shape sh, const uint32_t *ns, int n_ns,
		       int reps, int l2_only, int file_layout)
{
	const struct eng_mm *mm = &k->mm[sh.type];
	eng_tile_fn tile = file_layout || k->mm_packed[sh.type] == NULL ? mm->tile : k->mm_packed[sh.type];
	size_t rb = ggml_row_size(sh.type, sh.in), as = mm->act_bytes(sh.in);
	size_t nl2 = L2_BYTES / rb / 16 * 16, nd = l2_only ? 0 : DRAM_BYTES / rb / 16 * 16;
	uint64_t s = 0x9E3779B97F4A7C15ull;

	if (nl2 < 64)
		nl2 = 64;
	if (nd < nl2)
		nd = nl2;
	size_t wb = (nd * rb + (2u << 20) - 1) / (2u << 20) * (2u << 20);
	uint8_t *w = aligned_alloc(2u << 20, wb);
	float *x = malloc((size_t)sh.in * MAX_TOK * sizeof *x);
	uint8_t *act = malloc(as * MAX_TOK);
	float *out = malloc(64 * sizeof *out * MAX_TOK);
	if (w == NULL || x == NULL || act == NULL || out == NULL) {
		fprintf(stderr, "kbench: out of memory\n");
		free(w), free(x), free(act), free(out);
		return -1;
	}
	(void)madvise(w, wb, MADV_HUGEPAGE);	/* note 3 */
	fill_rows(w, sh.type, sh.in, nd, &s);
	if (tile != mm->tile) {	/* note 5 */
		uint8_t *tmp = malloc(16 * rb);
		if (tmp == NULL) {
			fprintf(stderr, "kbench: out of memory\n");
			free(w), free(x), free(act), free(out);
			return -1;
		}
		for (size_t r = 0; r < nd; r += 16)
			eng_wpack_tile(w + r * rb, ggml_type_traits((uint32_t)sh.type)->type_size,
				       sh.in / QK_K, tmp);
		free(tmp);
	}
	for (int64_t i = 0; i < sh.in * MAX_TOK; i++)
		x[i] = (float)(int64_t)(rnd(&s) % 2000001 - 1000000) * 1e-6f;
	for (int t = 0; t < MAX_TOK; t++)
		mm->quantize(x + (size_t)t * (size_t)sh.in, act + (size_t)t * as, sh.in);
	for (int i = 0; i < n_ns; i++) {
		uint32_t nt = ns[i];
		run_rows(tile, sh.in, w, rb, 64, act, as, nt, out, 64);
		uint64_t h = hash(out, 64, nt);
		double l2 = measure(tile, sh.in, w, rb, nl2, act, as, nt, out, 64, reps, 0);
		double dr = l2_only ? 0 : measure(tile, sh.in, w, rb, nd, act, as, nt, out, 64, reps, 1);
		printf("%-5s %6lldx%-6lld N=%-3u l2 %7.2f ns  dram %7.2f ns  hash %016llx\n",
		       ggml_type_name((uint32_t)sh.type), (long long)sh.in, (long long)sh.out, nt, l2, dr,
		       (unsigned long long)h);
		fflush(stdout);
	}
	free(w), free(x), free(act), free(out);
	return 0;
}

static int parse_list(const char *s, uint32_t *v, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *e;
		unsigned long x = strtoul(s, &e, 10);
		if (e == s || x == 0 || x > MAX_TOK)
			return -1;
		v[n++] = (uint32_t)x;
		s = *e == ',' ? e + 1 : e;
	}
	return *s ? -1 : n;
}

int main(int argc, char **argv)
{
	static const struct shape all[] = {
		{ 2560, 10240, GGML_TYPE_Q4_K }, { 10240, 2560, GGML_TYPE_Q4_K },
		{ 2560, 2048, GGML_TYPE_Q4_K }, { 4864, 896, GGML_TYPE_Q4_K },
		{ 2560, 262144, GGML_TYPE_Q6_K }, { 10240, 2560, GGML_TYPE_Q6_K },
		{ 4864, 896, GGML_TYPE_Q6_K }, { 4864, 896, GGML_TYPE_Q5_K },
	};
	uint32_t ns[MAX_LIST] = { 16, 24, 32, 40, 48, 64 };
	int n_ns = 6, reps = 3, l2_only = 0, type = -1, file_layout = 0;
	int64_t in = 0, out = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--l2-only") == 0) {
			l2_only = 1;
		} else if (strcmp(argv[i], "--file-layout") == 0) {
			file_layout = 1;
		} else if (v != NULL && strcmp(argv[i], "-r") == 0) {
			reps = atoi(v), i++;
		} else if (v != NULL && strcmp(argv[i], "--n") == 0) {
			n_ns = parse_list(v, ns, MAX_LIST), i++;
		} else if (v != NULL && strcmp(argv[i], "--type") == 0) {
			type = strcmp(v, "q4_K") == 0 ? GGML_TYPE_Q4_K : strcmp(v, "q5_K") == 0 ? GGML_TYPE_Q5_K
				: strcmp(v, "q6_K") == 0 ? GGML_TYPE_Q6_K : -2;
			i++;
		} else if (v != NULL && strcmp(argv[i], "--shape") == 0) {
			if (sscanf(v, "%lldx%lld", (long long *)&in, (long long *)&out) != 2 || in % QK_K || in <= 0)
				in = -1;
			i++;
		} else {
			in = -1;
		}
	}
	if (n_ns <= 0 || reps < 1 || reps > MAX_REPS || type == -2 || in < 0) {
		fprintf(stderr, "usage: kbench [-r R] [--type q4_K|q5_K|q6_K] [--n LIST] [--shape INxOUT] [--l2-only] [--file-layout]\n");
		return 64;
	}
	const struct eng_kernels *k = eng_kernels_select(0);
	printf("kbench: kernels %s, 1 thread, ns per token per 16 rows per super-block, median of %d\n",
	       k->name, reps);
	if (in > 0) {
		struct shape sh = { in, out, type < 0 ? GGML_TYPE_Q4_K : type };
		return bench_shape(k, sh, ns, n_ns, reps, l2_only, file_layout) ? 70 : 0;
	}
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if ((type < 0 || all[i].type == type) && bench_shape(k, all[i], ns, n_ns, reps, l2_only, file_layout))
			return 70;
	return 0;
}
