/*
 * test_kernels - every SIMD dot product against the scalar reference on
 * random rows of 1, 2, 3 and 7 blocks (odd counts, tails for the float
 * types). K-quant kernels sum integers exactly and must be bitwise equal;
 * float-accumulating ones agree within rounding of the magnitude.
 * vec_dot4 kernels (one weight row, 4 activation rows) must give bitwise
 * the vec_dot results, column by column: batching never changes a logit.
 * Matrix tiles (struct eng_mm) are checked against the reference dot per
 * output within rounding, and one token alone, or a tile cut at other
 * rows, must give bitwise what a many-token tile gives; so must every
 * batch size from 1 to 9 at odd tile heights (mm_splits), and every
 * token of batches of 9 to 130 must equal it alone (mm_batches).
 * Weights packed into the tile layout (engine/wpack.c) must give through
 * the packed tile bitwise what the file's layout gives through the
 * ordinary tile, for every batch size, and read back as the file's rows
 * (eng_mat_row, eng_mat_dequant_row).
 * The GEGLU gate (table lookup) must be bitwise the per-element GELU
 * through F16 on every F16 input, the clamps and values between halves.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/kernels.h"
#include "engine/wpack.h"
#include "tests/test.h"

static uint32_t rng = 99;

static uint32_t rnd(void)
{
	rng = rng * 1664525u + 1013904223u;
	return rng >> 8;
}

static float rndf(void)
{
	return (float)(rnd() % 20001) / 10000.0f - 1.0f;
}

/* random_row - random payload bytes, sane fp16 scales, floats for float types */
static void random_row(enum ggml_type t, uint8_t *buf, int64_t n)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t);
	int64_t nb = n / tt->blck_size;

	for (int64_t i = 0; i < nb * tt->type_size; i++)
		buf[i] = (uint8_t)rnd();
	for (int64_t i = 0; i < n && !tt->is_quantized; i++) {
		float f = rndf();
		if (t == GGML_TYPE_F32)
			memcpy(buf + 4 * i, &f, 4);
		else if (t == GGML_TYPE_F16) {
			ggml_half h = ggml_fp32_to_fp16(f);
			memcpy(buf + 2 * i, &h, 2);
		} else {
			ggml_bf16 h = ggml_fp32_to_bf16(f);
			memcpy(buf + 2 * i, &h, 2);
		}
	}
	for (int64_t i = 0; i < nb && tt->is_quantized; i++) {
		uint8_t *b = buf + i * tt->type_size;
		ggml_half d = ggml_fp32_to_fp16(0.01f + 0.001f * (float)(rnd() % 10));
		ggml_half m = ggml_fp32_to_fp16(0.02f * rndf());
		size_t at = t == GGML_TYPE_Q2_K ? 80 : t == GGML_TYPE_Q3_K ? 108 : t == GGML_TYPE_Q6_K ? 208 : 0;
		memcpy(b + at, &d, 2);
		if (t == GGML_TYPE_Q4_1 || t == GGML_TYPE_Q5_1 || t == GGML_TYPE_Q4_K ||
		    t == GGML_TYPE_Q5_K || t == GGML_TYPE_Q2_K)
			memcpy(b + at + 2, &m, 2);
	}
}

static void test_vs_ref(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	static const int blocks[] = { 1, 2, 3, 7 };
	static uint8_t w[7 * 256 * 4], act[7 * 256 * 4];
	float x[7 * 256];
	int compared = 0;

	if (fast == ref)
		SKIP("no SIMD kernels on this CPU (reference only)");
	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		if (tt == NULL || !tt->is_weight || fast->vec_dot[t] == ref->vec_dot[t])
			continue;
		for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
			/* float types: 1, 2, 3, 7 blocks of 37 elements, to exercise tails */
			int64_t n = (int64_t)blocks[k] * (tt->is_quantized ? tt->blck_size : 37);
			if (tt->is_quantized == 0 && tt->blck_size != 1)
				continue;
			random_row(t, w, n);
			double mag = 0;
			for (int64_t i = 0; i < n; i++)
				x[i] = rndf();
			ref_quantize_act(tt->vec_dot_type, x, act, n);
			float a = ref->vec_dot[t](n, w, act), b = fast->vec_dot[t](n, w, act);
			float wf[7 * 256];
			ref_dequant_row((enum ggml_type)t, w, wf, n);
			for (int64_t i = 0; i < n; i++)
				mag += fabs((double)wf[i] * x[i]);
			int exact = t >= GGML_TYPE_Q2_K && t <= GGML_TYPE_Q6_K;
			CHECKF(exact ? a == b : fabs(a - b) <= 1e-5 * mag + 1e-6,
			       "%s n=%lld: ref %.9g %s %.9g", tt->name, (long long)n, (double)a,
			       fast->name, (double)b);
			compared++;
		}
	}
	printf("kernels: %s compared with ref on %d rows\n", fast->name, compared);
	CHECK(compared >= 4);
}

static void test_dot4(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int blocks[] = { 1, 2, 3, 7, 28 };
	static uint8_t w[28 * 256 * 2], act[4][28 * 256 * 2];
	static float x[28 * 256];
	int compared = 0;

	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		if (tt == NULL || fast->vec_dot4[t] == NULL)
			continue;
		for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
			int64_t n = (int64_t)blocks[k] * tt->blck_size;
			float o4[4];
			random_row(t, w, n);
			for (int j = 0; j < 4; j++) {
				for (int64_t i = 0; i < n; i++)
					x[i] = rndf() * (float)(j + 1);
				ref_quantize_act(tt->vec_dot_type, x, act[j], n);
			}
			fast->vec_dot4[t](n, w, act[0], sizeof act[0], o4);
			for (int j = 0; j < 4; j++) {
				float one = fast->vec_dot[t](n, w, act[j]);
				CHECKF(memcmp(&one, &o4[j], sizeof one) == 0, "%s n=%lld col %d: vec_dot %.9g vec_dot4 %.9g",
				       tt->name, (long long)n, j, (double)one, (double)o4[j]);
			}
			compared++;
		}
	}
	if (compared == 0)
		SKIP("no vec_dot4 kernels on this CPU");
	printf("kernels: %s vec_dot4 compared with vec_dot on %d rows\n", fast->name, compared);
}

/* axpy_f16 (attention's V sum) must equal the reference bitwise, tails included */
static void test_axpy_f16(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	static const int64_t lens[] = { 1, 7, 8, 64, 67, 128 };
	ggml_half x[128];
	float a[128], b[128];

	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		int64_t n = lens[k];
		for (int64_t i = 0; i < n; i++) {
			x[i] = ggml_fp32_to_fp16(rndf() * 3.0f);
			a[i] = b[i] = rndf();
		}
		for (int rep = 0; rep < 5; rep++) {
			float w = rndf();
			ref->axpy_f16(n, w, x, a);
			fast->axpy_f16(n, w, x, b);
		}
		CHECKF(memcmp(a, b, (size_t)n * sizeof *a) == 0, "axpy_f16 n=%lld: %s differs from ref",
		       (long long)n, fast->name);
	}
}

/* gelu_f16 - GELU-tanh through binary16 in and out, per element, as
 * ggml_vec_gelu_f32 defines it (the formula the table must reproduce) */
static float gelu_f16(float x)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	float v = ggml_fp16_to_fp32(ggml_fp32_to_fp16(x));
	float g = 0.5f * v * (1.0f + tanhf(0.79788456080286535587989211986876f * v *
					   (1.0f + 0.044715f * v * v)));
	return ggml_fp16_to_fp32(ggml_fp32_to_fp16(g));
}

static void test_geglu(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	enum { N = (1 << 16) + 1000 + 7 };	/* every half, then other floats, and a tail */
	float *g = malloc(N * sizeof *g), *u = malloc(N * sizeof *u), *want = malloc(N * sizeof *want);
	float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
	size_t bad = 0;

	REQUIRE(g && u && want && a && b);
	for (uint32_t i = 0; i < N; i++) {
		g[i] = i < (1u << 16) ? ggml_fp16_to_fp32((ggml_half)i) : rndf() * 12.0f;
		if (i >= N - 7)
			g[i] = i % 2 ? -10.0f : 10.0f;
		u[i] = rndf();
		if (!isnan(g[i]))
			want[i] = u[i] * gelu_f16(g[i]);
	}
	ref->geglu(N, g, u, a);
	fast->geglu(N, g, u, b);
	for (uint32_t i = 0; i < N; i++)
		if (!isnan(g[i]) && (memcmp(&a[i], &want[i], 4) != 0 || memcmp(&b[i], &want[i], 4) != 0))
			bad++;
	CHECKF(bad == 0, "geglu: %zu of %d outputs differ from the per-element gelu (%s)", bad, N,
	       fast->name);
	free(g);
	free(u);
	free(want);
	free(a);
	free(b);
}

enum { MM_ROWS = 37, MM_TOK = 19 };	/* tiles of 16, 16, 5; 2 x 8 tokens + 3 */

/* mm_tokens - nt tokens from k, in tiles starting at row r0: bitwise the
 * outputs of the MM_TOK-token tiles (want) */
static int mm_tokens(const struct eng_mm *mm, enum ggml_type t, int64_t n, const uint8_t *w, size_t rb,
		     const uint8_t *act, size_t ab, const float *bias, int k, int nt, int r0,
		     float want[][MM_ROWS])
{
	float got[9][MM_ROWS];

	for (int r = r0; r < MM_ROWS; r += 16)
		mm->tile(n, w + r * rb, rb, MM_ROWS - r < 16 ? MM_ROWS - r : 16, act + k * ab, ab,
			 (uint32_t)nt, &got[0][r], MM_ROWS, bias + r);
	for (int u = 0; u < nt; u++)
		for (int r = r0; r < MM_ROWS; r++)
			if (memcmp(&got[u][r], &want[k + u][r], sizeof got[u][r]) != 0) {
				CHECKF(0, "%s n=%lld tokens %d..%d from row %d: token %d row %d %.9g, batch %.9g",
				       ggml_type_traits(t)->name, (long long)n, k, k + nt - 1, r0, k + u, r,
				       (double)got[u][r], (double)want[k + u][r]);
				return 0;
			}
	return 1;
}

/* mm_case - one weight type, n elements per row: tiles vs reference and
 * vs themselves token by token and at shifted row starts */
static int mm_case(const struct eng_kernels *fast, enum ggml_type t, int64_t n)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t);
	const struct eng_mm *mm = &fast->mm[t];
	size_t rb = ggml_row_size(t, (uint64_t)n), ab = mm->act_bytes(n);
	uint8_t *w = malloc(MM_ROWS * rb), *act = malloc(MM_TOK * ab);
	uint8_t *ra = malloc(ggml_row_size(tt->vec_dot_type, (uint64_t)n));
	float *x = malloc((size_t)MM_TOK * n * sizeof *x), *wf = malloc((size_t)n * sizeof *wf);
	float out[MM_TOK][MM_ROWS], one[MM_ROWS], bias[MM_ROWS];
	int bad = 0;

	for (int r = 0; r < MM_ROWS; r++) {
		random_row(t, w + r * rb, n);
		bias[r] = rndf();
	}
	for (int k = 0; k < MM_TOK; k++) {
		for (int64_t i = 0; i < n; i++)
			x[k * n + i] = rndf() * (float)(k % 3 + 1);
		mm->quantize(x + k * n, act + k * ab, n);
	}
	for (int r = 0; r < MM_ROWS; r += 16)
		mm->tile(n, w + r * rb, rb, MM_ROWS - r < 16 ? MM_ROWS - r : 16, act, ab, MM_TOK,
			 &out[0][r], MM_ROWS, bias + r);
	for (int k = 0; k < MM_TOK && !bad; k++) {
		ref_quantize_act(tt->vec_dot_type, x + k * n, ra, n);
		for (int r = 0; r < MM_ROWS; r++) {
			double mag = fabs(bias[r]);
			ref_dequant_row(t, w + r * rb, wf, n);
			for (int64_t i = 0; i < n; i++)
				mag += fabs((double)wf[i] * x[k * n + i]);
			float want = ref_vec_dot(t)(n, w + r * rb, ra) + bias[r];
			if (fabs(want - out[k][r]) > 1e-5 * mag + 1e-6) {
				CHECKF(0, "%s n=%lld token %d row %d: ref %.9g tile %.9g", tt->name,
				       (long long)n, k, r, (double)want, (double)out[k][r]);
				bad = 1;
			}
		}
		/* tokens k .. k + N - 1 for N = 1 .. 9 (the generation and small
		 * batch paths, then the repacking), rows from an odd start: other
		 * tile boundaries, odd row counts */
		for (int nt = 1; nt <= 9 && k + nt <= MM_TOK && !bad; nt++)
			bad = !mm_tokens(mm, t, n, w, rb, act, ab, bias, k, nt, 5 + 2 * (nt % 3), out);
		/* token k alone, rows from 3 on: other tile boundaries, fewer tokens */
		for (int r = 3; r < MM_ROWS; r += 16)
			mm->tile(n, w + r * rb, rb, MM_ROWS - r < 16 ? MM_ROWS - r : 16, act + k * ab, ab, 1,
				 one + r, MM_ROWS, bias + r);
		if (memcmp(one + 3, &out[k][3], (MM_ROWS - 3) * sizeof *one) != 0) {
			CHECKF(0, "%s n=%lld token %d: alone differs from the batch", tt->name,
			       (long long)n, k);
			bad = 1;
		}
	}
	free(w);
	free(act);
	free(ra);
	free(x);
	free(wf);
	return !bad;
}

/* mm_fixture - MM_ROWS random rows of type t (n elements) into w with a
 * bias each, MM_TOK activation rows into act (mm's layout), and all = the
 * whole batch through mm's tile, 16 rows at a time */
static void mm_fixture(const struct eng_mm *mm, enum ggml_type t, int64_t n, uint8_t *w, uint8_t *act,
		       float bias[MM_ROWS], float all[MM_TOK][MM_ROWS])
{
	size_t rb = ggml_row_size(t, (uint64_t)n), ab = mm->act_bytes(n);
	float *x = malloc((size_t)n * sizeof *x);

	for (int r = 0; r < MM_ROWS; r++) {
		random_row(t, w + r * rb, n);
		bias[r] = rndf();
	}
	for (int k = 0; k < MM_TOK; k++) {
		for (int64_t i = 0; i < n; i++)
			x[i] = rndf() * (float)(k % 5 + 1);
		mm->quantize(x, act + k * ab, n);
	}
	for (int r = 0; r < MM_ROWS; r += 16)
		mm->tile(n, w + r * rb, rb, MM_ROWS - r < 16 ? MM_ROWS - r : 16, act, ab, MM_TOK,
			 &all[0][r], MM_ROWS, bias + r);
	free(x);
}

/* mm_splits - one weight type, n elements per row: every batch size 1..9
 * (the few-token paths and the repacking tile) at odd row starts and tile
 * heights gives bitwise what one batch of MM_TOK tokens gives */
static int mm_splits(const struct eng_kernels *fast, enum ggml_type t, int64_t n)
{
	const struct eng_mm *mm = &fast->mm[t];
	size_t rb = ggml_row_size(t, (uint64_t)n), ab = mm->act_bytes(n);
	uint8_t *w = malloc(MM_ROWS * rb), *act = malloc(MM_TOK * ab);
	float all[MM_TOK][MM_ROWS], part[9][MM_ROWS], bias[MM_ROWS];
	int bad = 0;

	mm_fixture(mm, t, n, w, act, bias, all);
	for (uint32_t nt = 1; nt <= 9 && !bad; nt++) {
		uint32_t t0 = (nt * 7) % (MM_TOK - nt + 1);	/* tokens t0 .. t0 + nt - 1 */
		int h = 2 * (int)nt - 1 < 16 ? 2 * (int)nt - 1 : 15;	/* odd tile heights */
		for (int r = (int)nt; r < MM_ROWS; r += h)
			mm->tile(n, w + r * rb, rb, MM_ROWS - r < h ? MM_ROWS - r : h, act + t0 * ab, ab, nt,
				 &part[0][r], MM_ROWS, bias + r);
		for (uint32_t k = 0; k < nt && !bad; k++)
			if (memcmp(&part[k][nt], &all[t0 + k][nt], (MM_ROWS - nt) * sizeof(float)) != 0) {
				CHECKF(0, "%s n=%lld: %u tokens (token %u) differ from the batch",
				       ggml_type_traits(t)->name, (long long)n, nt, t0 + k);
				bad = 1;
			}
	}
	free(w);
	free(act);
	return !bad;
}

/* the tiles' activation quantization is bitwise the reference one: same
 * int8 values and scales (layouts in engine/kernels/avx512/mm_*.c note 4) */
static void test_mm_quantize(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static float x[4 * 256];
	static uint8_t mine[4 * 256 * sizeof(float)], ref[4 * 256 * sizeof(float)];
	int compared = 0;

	for (int i = 0; i < 4 * 256; i++)
		x[i] = rndf() * (float)(i % 7);
	for (int i = 256; i < 512; i++)
		x[i] = 0.0f;			/* an all-zero block */
	x[600] = 1.5f;
	x[601] = -1.5f;				/* a tie of magnitudes: first one wins */
	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		if (tt == NULL || fast->mm[t].tile == NULL)
			continue;
		int64_t n = 4 * 256, nb = n / (tt->vec_dot_type == GGML_TYPE_Q8_K ? 256 : 32);
		size_t aux = tt->vec_dot_type == GGML_TYPE_Q8_K ? 64 : 8;	/* Q8_0, Q8_1: s, corr */
		fast->mm[t].quantize(x, mine, n);
		ref_quantize_act(tt->vec_dot_type, x, ref, n);
		compared++;
		if (tt->vec_dot_type == GGML_TYPE_F16 || tt->vec_dot_type == GGML_TYPE_BF16) {
			/* floats holding exactly the reference's F16 / BF16 values */
			for (int64_t i = 0; i < n; i++) {
				uint16_t h = ((const uint16_t *)ref)[i];
				float want = tt->vec_dot_type == GGML_TYPE_F16 ? ggml_fp16_to_fp32(h)
									       : ggml_bf16_to_fp32(h);
				CHECKF(((const float *)mine)[i] == want,
				       "%s: element %lld rounded differently from ref", tt->name, (long long)i);
			}
			continue;
		}
		const float *d = (const float *)mine;
		const int8_t *qs = (const int8_t *)(mine + (size_t)nb * (4 + aux));
		for (int64_t i = 0; i < nb; i++) {
			float rd;
			const int8_t *rq;
			if (tt->vec_dot_type == GGML_TYPE_Q8_K) {
				const struct block_q8_K *b = (const struct block_q8_K *)ref + i;
				rd = b->d;
				rq = b->qs;
			} else if (tt->vec_dot_type == GGML_TYPE_Q8_1) {
				const struct block_q8_1 *b = (const struct block_q8_1 *)ref + i;
				rd = ggml_fp16_to_fp32(b->d);
				rq = b->qs;
				CHECKF(d[nb + i] == ggml_fp16_to_fp32(b->s), "%s: block %lld sum differs from ref",
				       tt->name, (long long)i);
			} else {
				const struct block_q8_0 *b = (const struct block_q8_0 *)ref + i;
				rd = ggml_fp16_to_fp32(b->d);
				rq = b->qs;
			}
			CHECKF(d[i] == rd && memcmp(qs + i * (n / nb), rq, (size_t)(n / nb)) == 0,
			       "%s: block %lld quantized differently from ref", tt->name, (long long)i);
		}
	}
	if (compared == 0)
		SKIP("no matrix tiles on this CPU");
}

static void test_mm_tiles(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int blocks[] = { 1, 3, 17, 40 };	/* 17, 40: past one repacking chunk */
	int compared = 0;

	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		if (tt == NULL || fast->mm[t].tile == NULL)
			continue;
		for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
			compared += mm_case(fast, (enum ggml_type)t, (int64_t)blocks[k] * tt->blck_size);
			mm_splits(fast, (enum ggml_type)t, (int64_t)blocks[k] * tt->blck_size);
		}
		/* F16, BF16: long rows take 4 at a time for few tokens (mm_f16.c note 3) */
		if (tt->blck_size == 1)
			compared += mm_case(fast, (enum ggml_type)t, 4096 + 40);
	}
	if (compared == 0)
		SKIP("no matrix tiles on this CPU");
	printf("kernels: %s tiles compared with ref and token by token on %d matrices\n", fast->name,
	       compared);
}

/* pk_case - one packable type, n elements per row: MM_ROWS rows (two
 * full tiles packed, a tail of 5 left as in the file) through the packed
 * and the ordinary tile, batches of 1..9 and MM_TOK tokens; the packed
 * rows read back as the file's */
static int pk_case(const struct eng_kernels *fast, enum ggml_type t, int64_t n)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t);
	const struct eng_mm *mm = &fast->mm[t];
	size_t rb = ggml_row_size(t, (uint64_t)n), ab = mm->act_bytes(n);
	uint8_t *w = malloc(MM_ROWS * rb), *wp = malloc(MM_ROWS * rb), *act = malloc(MM_TOK * ab);
	uint8_t *tmp = malloc(16 * rb), *row = malloc(rb);
	float *f0 = malloc((size_t)n * sizeof *f0), *f1 = malloc((size_t)n * sizeof *f1);
	float all[MM_TOK][MM_ROWS], got[MM_TOK][MM_ROWS], bias[MM_ROWS];
	int bad = 0;

	mm_fixture(mm, t, n, w, act, bias, all);
	memcpy(wp, w, MM_ROWS * rb);
	for (int r = 0; r + 16 <= MM_ROWS; r += 16)
		eng_wpack_tile(wp + r * rb, tt->type_size, n / tt->blck_size, tmp);
	CHECKF(memcmp(wp, w, 32 * rb) != 0, "%s: packing changed nothing", tt->name);
	for (uint32_t nt = 1; nt <= MM_TOK && !bad; nt = nt == 9 ? MM_TOK : nt + 1) {
		uint32_t t0 = (nt * 7) % (MM_TOK - nt + 1);
		for (int r = 0; r < MM_ROWS; r += 16)
			(r + 16 <= MM_ROWS ? fast->mm_packed[t] : mm->tile)(n, wp + r * rb, rb,
				MM_ROWS - r < 16 ? MM_ROWS - r : 16, act + t0 * ab, ab, nt, &got[0][r], MM_ROWS,
				bias + r);
		for (uint32_t k = 0; k < nt && !bad; k++)
			if (memcmp(got[k], all[t0 + k], sizeof got[k]) != 0) {
				CHECKF(0, "%s n=%lld: packed, %u tokens (token %u) differ from the file's layout",
				       tt->name, (long long)n, nt, t0 + k);
				bad = 1;
			}
	}
	struct eng_mat m = { wp, t, n, MM_ROWS, rb, 1 };
	for (int r = 0; r < MM_ROWS && !bad; r++) {
		ref_dequant_row(t, w + r * rb, f0, n);
		eng_mat_dequant_row(&m, r, f1);
		if (memcmp(eng_mat_row(&m, r, row), w + r * rb, rb) != 0 || memcmp(f0, f1, (size_t)n * sizeof *f0)) {
			CHECKF(0, "%s n=%lld: packed row %d reads back differently", tt->name, (long long)n, r);
			bad = 1;
		}
	}
	free(w), free(wp), free(act), free(tmp), free(row), free(f0), free(f1);
	return !bad;
}

static void test_mm_packed(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	int compared = 0;

	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++)
		if (fast->mm_packed[t] != NULL) {
			compared += pk_case(fast, (enum ggml_type)t, 256);
			compared += pk_case(fast, (enum ggml_type)t, 3 * 256);
		}
	if (compared == 0)
		SKIP("no packed tiles on this CPU");
	printf("kernels: %s packed tiles bitwise the file layout's on %d matrices\n", fast->name, compared);
}

/* Q2_K and Q3_K at the ends of their ranges: every scale and value at its
 * largest and smallest (Q3_K: scale -32 times value -4, the one product
 * of +128), activations at +-127: SIMD dot and tile against the reference */
static void test_q23_extremes(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	static const enum ggml_type types[] = { GGML_TYPE_Q2_K, GGML_TYPE_Q3_K };
	enum { N = 512, ROWS = 4, TOK = 3 };
	float x[TOK][N];
	int compared = 0;

	if (fast == ref)
		SKIP("no SIMD kernels on this CPU (reference only)");
	for (int k = 0; k < TOK; k++)
		for (int i = 0; i < N; i++)	/* token 0 all -max, 1 all +max, 2 alternating */
			x[k][i] = k == 0 ? -1.0f : k == 1 ? 1.0f : (i & 1 ? 2.0f : -2.0f);
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		enum ggml_type t = types[ti];
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		const struct eng_mm *mm = &fast->mm[t];
		size_t rb = ggml_row_size(t, N);
		uint8_t w[ROWS * 2 * 110], ra[2 * 292], act[TOK * 2 * 1024];
		float out[TOK][ROWS], bias[ROWS] = { 0 };
		/* row 0 all bits clear, 1 all set, 2 and 3 bytes 0x55 / 0xAA */
		static const uint8_t fill[ROWS] = { 0x00, 0xFF, 0x55, 0xAA };
		for (int r = 0; r < ROWS; r++) {
			memset(w + r * rb, fill[r], rb);
			for (int b = 0; b < N / QK_K; b++) {
				ggml_half d = ggml_fp32_to_fp16(0.5f), m = ggml_fp32_to_fp16(0.25f);
				uint8_t *blk = w + r * rb + b * tt->type_size;
				memcpy(blk + (t == GGML_TYPE_Q2_K ? 80 : 108), &d, 2);
				if (t == GGML_TYPE_Q2_K)
					memcpy(blk + 82, &m, 2);
			}
		}
		if (mm->tile != NULL) {
			for (int k = 0; k < TOK; k++)
				mm->quantize(x[k], act + k * mm->act_bytes(N), N);
			mm->tile(N, w, rb, ROWS, act, mm->act_bytes(N), TOK, out[0], ROWS, bias);
		}
		for (int k = 0; k < TOK; k++) {
			ref_quantize_act(tt->vec_dot_type, x[k], ra, N);
			for (int r = 0; r < ROWS; r++) {
				float want = ref->vec_dot[t](N, w + r * rb, ra);
				float dot = fast->vec_dot[t](N, w + r * rb, ra);
				CHECKF(dot == want, "%s row %d token %d: ref %.9g %s %.9g", tt->name, r, k,
				       (double)want, fast->name, (double)dot);
				CHECKF(mm->tile == NULL || fabsf(out[k][r] - want) <= 1e-5f * fabsf(want) + 1e-6f,
				       "%s row %d token %d: ref %.9g tile %.9g", tt->name, r, k, (double)want,
				       (double)out[k][r]);
				compared++;
			}
		}
	}
	printf("kernels: %s Q2_K/Q3_K extremes against ref: %d dots\n", fast->name, compared);
}

enum { MB_ROWS = 21, MB_TOK = 130 };	/* tiles of 16 and 5; past a 128-token chunk */

/* mb_case - one weight type: every token of batches of 9 to 130 tokens
 * (groups of 8, tails, the tiles' 128-token chunks) bitwise equal to the
 * same token alone, at an odd row count */
static int mb_case(const struct eng_kernels *fast, enum ggml_type t, int64_t n)
{
	static const uint32_t batches[] = { 9, 15, 17, 63, 64, 65, 130 };
	const struct eng_mm *mm = &fast->mm[t];
	size_t rb = ggml_row_size(t, (uint64_t)n), ab = mm->act_bytes(n);
	uint8_t *w = malloc(MB_ROWS * rb), *act = malloc(MB_TOK * ab);
	float *x = malloc((size_t)n * sizeof *x), *one = malloc(MB_TOK * MB_ROWS * sizeof *one);
	float *out = malloc(MB_TOK * MB_ROWS * sizeof *out), bias[MB_ROWS];
	int bad = 0;

	for (int r = 0; r < MB_ROWS; r++) {
		random_row(t, w + r * rb, n);
		bias[r] = rndf();
	}
	for (int k = 0; k < MB_TOK; k++) {
		for (int64_t i = 0; i < n; i++)
			x[i] = rndf() * (float)(k % 5 + 1);
		mm->quantize(x, act + k * ab, n);
		for (int r = 0; r < MB_ROWS; r += 16)
			mm->tile(n, w + r * rb, rb, MB_ROWS - r < 16 ? MB_ROWS - r : 16, act + k * ab, ab, 1,
				 one + k * MB_ROWS + r, MB_ROWS, bias + r);
	}
	for (size_t i = 0; i < sizeof batches / sizeof batches[0] && !bad; i++) {
		uint32_t nt = batches[i];
		memset(out, 0, MB_TOK * MB_ROWS * sizeof *out);
		for (int r = 0; r < MB_ROWS; r += 16)
			mm->tile(n, w + r * rb, rb, MB_ROWS - r < 16 ? MB_ROWS - r : 16, act, ab, nt,
				 out + r, MB_ROWS, bias + r);
		for (uint32_t k = 0; k < nt && !bad; k++)
			if (memcmp(out + k * MB_ROWS, one + k * MB_ROWS, MB_ROWS * sizeof *out) != 0) {
				CHECKF(0, "%s n=%lld: token %u of a batch of %u differs from it alone",
				       ggml_type_traits(t)->name, (long long)n, k, nt);
				bad = 1;
			}
	}
	free(w);
	free(act);
	free(x);
	free(one);
	free(out);
	return !bad;
}

static void test_mm_batches(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	int compared = 0;

	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		if (tt == NULL || fast->mm[t].tile == NULL)
			continue;
		compared += mb_case(fast, (enum ggml_type)t, 3 * 256);
	}
	if (compared == 0)
		SKIP("no matrix tiles on this CPU");
	printf("kernels: %s tiles, batches of 9..130 tokens vs each token alone on %d types\n", fast->name,
	       compared);
}

/* same_float - bitwise equal, or both NaN */
static int same_float(float a, float b)
{
	return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* four_squares - a[0..3] whose squares add up to s (Lagrange: always) */
static int four_squares(int s, int a[4])
{
	for (a[0] = 0; a[0] * a[0] <= s; a[0]++)
		for (a[1] = 0; a[0] * a[0] + a[1] * a[1] <= s; a[1]++)
			for (a[2] = 0; a[0] * a[0] + a[1] * a[1] + a[2] * a[2] <= s; a[2]++) {
				int r = s - a[0] * a[0] - a[1] * a[1] - a[2] * a[2];
				for (a[3] = 0; a[3] * a[3] < r; a[3]++)
					;
				if (a[3] * a[3] == r)
					return 1;
			}
	return 0;
}

/* order_row - 16 values whose squares, summed in ascending order, give
 * exactly 16 * (m + 2^-24) with m = 1 + k 2^-23 (four 2s, then four
 * multiples of 2^-10 whose squares add up to (2k + 1) 2^-20, then eight
 * 2^-25s whose squares are each under half an ulp of the sum and vanish):
 * the mean is a tie that rounds to m, k even. Summed in any other grouping,
 * the 2^-50s first make 2^-47 that stays, and the mean rounds up to the
 * next float; k is the first one whose scale 1 / sqrt(mean) differs there.
 * Returns the first output of a row normed in order (eps 0, no weight) */
static float order_row(float *x)
{
	int k = 0, a[4];

	while (1.0f / sqrtf(1.0f + ldexpf((float)k, -23)) == 1.0f / sqrtf(1.0f + ldexpf((float)k + 1, -23)))
		k += 2;
	if (!four_squares(2 * k + 1, a))
		return NAN;
	for (int i = 0; i < 16; i++)
		x[i] = i < 4 ? 2.0f : i < 8 ? ldexpf((float)a[i - 4], -10) : ldexpf(1.0f, -25);
	return 2.0f * (1.0f / sqrtf(1.0f + ldexpf((float)k, -23)));
}

static void test_rmsnorm(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	static const int64_t ns[] = { 1, 7, 8, 15, 16, 17, 256, 2560, 2567 };
	static const int rows[] = { 1, 3, 8, 9, 17 };
	enum { MAXN = 2567, MAXR = 17 };
	float *x = malloc(MAXN * MAXR * sizeof *x), *w = malloc(MAXN * sizeof *w);
	float *a = malloc(MAXN * MAXR * sizeof *a), *b = malloc(MAXN * MAXR * sizeof *b);
	size_t bad = 0, cases = 0;

	REQUIRE(x && w && a && b);
	for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
		for (size_t ir = 0; ir < sizeof rows / sizeof rows[0]; ir++)
			for (int wt = 0; wt < 2; wt++) {
				int64_t n = ns[in];
				int R = rows[ir];
				for (int64_t i = 0; i < n * R; i++)	/* magnitudes 2^-20 .. 2^20 */
					x[i] = ldexpf(rndf(), (int)(rnd() % 41) - 20);
				for (int64_t i = 0; i < n; i++)
					w[i] = rndf();
				if (R > 2) {
					x[2 * n] = INFINITY;	/* row 2: an infinity, row 1 a NaN */
					x[n + n / 2] = NAN;
				}
				ref->rmsnorm(n, R, x, (size_t)n, wt ? w : NULL, a, (size_t)n, 1e-6f);
				memcpy(b, x, (size_t)(n * R) * sizeof *b);	/* in place */
				fast->rmsnorm(n, R, b, (size_t)n, wt ? w : NULL, b, (size_t)n, 1e-6f);
				for (int64_t i = 0; i < n * R; i++)
					bad += !same_float(a[i], b[i]);
				cases++;
			}
	CHECKF(bad == 0, "rmsnorm: %zu outputs in %zu cases differ from the reference (%s)", bad, cases,
	       fast->name);
	/* the chain's order: row 3 of 9 is the order row */
	for (int64_t i = 0; i < 16 * 9; i++)
		x[i] = rndf();
	float want = order_row(x + 3 * 16);
	REQUIRE(!isnan(want));
	ref->rmsnorm(16, 9, x, 16, NULL, a, 16, 0.0f);
	fast->rmsnorm(16, 9, x, 16, NULL, b, 16, 0.0f);
	CHECKF(a[3 * 16] == want && b[3 * 16] == want,
	       "rmsnorm: squares not summed in ascending order (ref %.9g, %s %.9g, want %.9g)", a[3 * 16],
	       fast->name, b[3 * 16], want);
	free(x);
	free(w);
	free(a);
	free(b);
}

int main(void)
{
	RUN(test_axpy_f16);
	RUN(test_geglu);
	RUN(test_rmsnorm);
	RUN(test_vs_ref);
	RUN(test_dot4);
	RUN(test_mm_quantize);
	RUN(test_mm_tiles);
	RUN(test_mm_packed);
	RUN(test_q23_extremes);
	RUN(test_mm_batches);
	return TEST_END();
}
