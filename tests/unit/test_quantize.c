/*
 * test_quantize - the reference quantizers against the engine's
 * dequantizer: round-trip error bounds per type on Gaussian data, exact
 * bytes on hand-picked blocks (where ggml's algorithm has one obvious
 * answer: scales that are powers of two, levels that are the inputs),
 * the refusals of quant_row(), and with ../shared the oracle's
 * llama-quantize blocks.
 */
#include <math.h>
#include <stdint.h>

#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "engine/quantize.h"
#include "engine/ref/quants.h"
#include "tests/test.h"
#include "util/dk_err.h"

#define N 4096

static uint64_t rng_state = 0x1234567;

static float gauss(void)
{
	double u1, u2;

	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	u1 = ((rng_state >> 11) + 1) * 0x1p-53;
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	u2 = (rng_state >> 11) * 0x1p-53;
	return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

/* rel_rmse - quantize x, dequantize with the engine, RMS error over RMS of x */
static double rel_rmse(enum ggml_type t, const float *x, int64_t n)
{
	static unsigned char q[N * 4];
	static float y[N];
	double e = 0, s = 0;

	if (quant_row(t, x, q, n) != 0 || ref_dequant_row(t, q, y, n) != 0)
		return 1e9;
	for (int64_t i = 0; i < n; i++) {
		e += (double)(x[i] - y[i]) * (x[i] - y[i]);
		s += (double)x[i] * x[i];
	}
	return sqrt(e / s);
}

static void round_trip_error_bounds(void)
{
	/* bounds about 1.3x what ggml's algorithms reach on this data */
	static const struct { enum ggml_type t; double bound; } cases[] = {
		{ GGML_TYPE_F32, 0 }, { GGML_TYPE_F16, 3e-4 }, { GGML_TYPE_BF16, 2.5e-3 },
		{ GGML_TYPE_Q8_0, 0.008 }, { GGML_TYPE_Q6_K, 0.025 }, { GGML_TYPE_Q5_1, 0.05 },
		{ GGML_TYPE_Q5_0, 0.055 }, { GGML_TYPE_Q5_K, 0.048 }, { GGML_TYPE_Q4_1, 0.1 },
		{ GGML_TYPE_Q4_0, 0.115 }, { GGML_TYPE_Q4_K, 0.093 }, { GGML_TYPE_Q3_K, 0.2 },
		{ GGML_TYPE_Q2_K, 0.38 },
	};
	static float x[N];

	for (int i = 0; i < N; i++)
		x[i] = gauss() * 0.05f;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		double r = rel_rmse(cases[c].t, x, N);

		CHECKF(r <= cases[c].bound, "%s: relative rms error %.4f > %.4f",
		       ggml_type_name(cases[c].t), r, cases[c].bound);
	}
	/* more bits, less error: the ladder a model's quality follows */
	CHECK(rel_rmse(GGML_TYPE_Q2_K, x, N) > rel_rmse(GGML_TYPE_Q3_K, x, N));
	CHECK(rel_rmse(GGML_TYPE_Q3_K, x, N) > rel_rmse(GGML_TYPE_Q4_K, x, N));
	CHECK(rel_rmse(GGML_TYPE_Q4_K, x, N) > rel_rmse(GGML_TYPE_Q5_K, x, N));
	CHECK(rel_rmse(GGML_TYPE_Q5_K, x, N) > rel_rmse(GGML_TYPE_Q6_K, x, N));
	CHECK(rel_rmse(GGML_TYPE_Q6_K, x, N) > rel_rmse(GGML_TYPE_Q8_0, x, N));
}

static void zeros_give_zero_blocks(void)
{
	static const enum ggml_type types[] = {
		GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, GGML_TYPE_Q5_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K,
		GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
	};
	static float x[256], y[256];
	static unsigned char q[1024];

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		memset(q, 0xAA, sizeof q);
		REQUIRE(quant_row(types[i], x, q, 256) == 0);
		REQUIRE(ref_dequant_row(types[i], q, y, 256) == 0);
		for (int j = 0; j < 256; j++)
			CHECKF(y[j] == 0, "%s: zero input dequantizes to %g",
			       ggml_type_name(types[i]), y[j]);
	}
}

/* Q8_0: inputs q/128 for q in -127..127 give d = 2^-7 exactly and levels q */
static void q8_0_exact_block(void)
{
	float x[32];
	struct block_q8_0 b;

	for (int j = 0; j < 32; j++)
		x[j] = (float)(j * 8 - 127) / 128.0f;	/* -127, -119, ... 121 */
	quant_row_q8_0(x, &b, 32);
	CHECK(b.d == 0x2000);
	for (int j = 0; j < 32; j++)
		CHECKF(b.qs[j] == j * 8 - 127, "qs[%d] = %d", j, b.qs[j]);
}

/* Q4_0 / Q5_0: the most negative value -2^(b-1) makes d = 1; q = x + 2^(b-1) */
static void q4_0_q5_0_exact_blocks(void)
{
	float x[32];
	struct block_q4_0 b4;
	struct block_q5_0 b5;
	uint32_t qh;

	for (int j = 0; j < 32; j++)
		x[j] = (float)(j % 16) - 8;	/* -8..7 twice */
	quant_row_q4_0(x, &b4, 32);
	CHECK(b4.d == 0x3C00);
	for (int j = 0; j < 16; j++)
		CHECKF(b4.qs[j] == (uint8_t)(j | j << 4), "q4_0 qs[%d] = %#x", j, b4.qs[j]);

	for (int j = 0; j < 32; j++)
		x[j] = (float)j - 16;		/* -16..15 */
	quant_row_q5_0(x, &b5, 32);
	CHECK(b5.d == 0x3C00);
	memcpy(&qh, b5.qh, 4);
	CHECK(qh == 0xFFFF0000u);	/* q = j: bit 4 set for j >= 16 */
	for (int j = 0; j < 16; j++)
		CHECKF(b5.qs[j] == (uint8_t)(j | j << 4), "q5_0 qs[%d] = %#x", j, b5.qs[j]);
}

/* Q4_1 / Q5_1: min and max integers 2^b - 1 apart give d = 1, m = min */
static void q4_1_q5_1_exact_blocks(void)
{
	float x[32];
	struct block_q4_1 b4;
	struct block_q5_1 b5;
	uint32_t qh;

	for (int j = 0; j < 32; j++)
		x[j] = (float)((j * 5) % 16) - 1;
	quant_row_q4_1(x, &b4, 32);
	CHECK(b4.d == 0x3C00 && b4.m == 0xBC00);
	for (int j = 0; j < 16; j++)
		CHECK(b4.qs[j] == (uint8_t)(((j * 5) % 16) | (((j + 16) * 5) % 16) << 4));

	for (int j = 0; j < 32; j++)
		x[j] = (float)(31 - j);
	quant_row_q5_1(x, &b5, 32);
	CHECK(b5.d == 0x3C00 && b5.m == 0);
	memcpy(&qh, b5.qh, 4);
	CHECK(qh == 0x0000FFFFu);
	CHECK(b5.qs[0] == (uint8_t)(15 | 15 << 4) && b5.qs[15] == 0);
}

/*
 * Q4_K / Q5_K / Q2_K: each sub-block spans exactly 0..nmax, so the fit is
 * scale 1, min 0: 6-bit (4-bit for Q2_K) scales all at their maximum, mins
 * 0, d = fp16(1/63) (1/15), and the levels are the inputs
 */
static void k_affine_exact_blocks(void)
{
	float x[256], y[256];
	struct block_q4_K b4;
	struct block_q5_K b5;
	struct block_q2_K b2;

	for (int j = 0; j < 256; j++)
		x[j] = (float)((j * 7) % 16);
	quant_row_q4_K(x, &b4, 256);
	CHECK(b4.d == ggml_fp32_to_fp16(1.0f / 63) && b4.dmin == 0);
	for (int j = 0; j < 4; j++)
		CHECKF(b4.scales[j] == 0xFF && b4.scales[j + 4] == 0 && b4.scales[j + 8] == 0x0F,
		       "q4_K scales[%d..]", j);
	for (int l = 0; l < 32; l++)
		CHECK(b4.qs[l] == (uint8_t)((int)x[l] | (int)x[l + 32] << 4));
	REQUIRE(ref_dequant_row(GGML_TYPE_Q4_K, &b4, y, 256) == 0);
	for (int j = 0; j < 256; j++)
		CHECK(fabsf(y[j] - x[j]) < 2e-3f * (x[j] + 1));

	for (int j = 0; j < 256; j++)
		x[j] = (float)((j * 13) % 32);
	quant_row_q5_K(x, &b5, 256);
	CHECK(b5.d == ggml_fp32_to_fp16(1.0f / 63) && b5.dmin == 0);
	for (int l = 0; l < 32; l++) {
		int lo = (int)x[l], hi = (int)x[l + 32];

		CHECK(b5.qs[l] == (uint8_t)((lo & 15) | (hi & 15) << 4));
		CHECK((b5.qh[l] & 3) == ((lo >> 4) | (hi >> 4) << 1));
	}

	for (int j = 0; j < 256; j++)
		x[j] = (float)((j * 3 + j / 16) % 4);
	quant_row_q2_K(x, &b2, 256);
	CHECK(b2.d == ggml_fp32_to_fp16(1.0f / 15) && b2.dmin == 0);
	for (int j = 0; j < 16; j++)
		CHECKF(b2.scales[j] == 15, "q2_K scales[%d] = %#x", j, b2.scales[j]);
	for (int l = 0; l < 32; l++)
		CHECK(b2.qs[l] == (uint8_t)((int)x[l] | (int)x[l + 32] << 2 |
					    (int)x[l + 64] << 4 | (int)x[l + 96] << 6));
}

/*
 * Q3_K / Q6_K: integers with the most negative level in every sub-block
 * fit scale 1; the block scale is then -1/32 (-1/128), every 6-bit (8-bit)
 * sub-scale the most negative one, and dequantization is exact
 */
static void k_symmetric_exact_blocks(void)
{
	float x[256], y[256];
	struct block_q3_K b3;
	struct block_q6_K b6;

	for (int j = 0; j < 256; j++)
		x[j] = j % 16 == 0 ? -4.0f : (float)((j * 5) % 8) - 4;
	quant_row_q3_K(x, &b3, 256);
	CHECK(b3.d == 0xA800);	/* -2^-5 */
	for (int j = 0; j < 12; j++)
		CHECKF(b3.scales[j] == 0, "q3_K scales[%d] = %#x", j, b3.scales[j]);
	for (int l = 0; l < 32; l++) {
		int hm = 0;

		for (int k = 0; k < 8; k++)
			hm |= (x[l + 32 * k] >= 0) << k;
		CHECKF(b3.hmask[l] == hm, "q3_K hmask[%d]", l);
	}
	REQUIRE(ref_dequant_row(GGML_TYPE_Q3_K, &b3, y, 256) == 0);
	for (int j = 0; j < 256; j++)
		CHECKF(y[j] == x[j], "q3_K y[%d] = %g, not %g", j, y[j], x[j]);

	for (int j = 0; j < 256; j++)
		x[j] = j % 16 == 3 ? -32.0f : (float)((j * 11) % 64) - 32;
	quant_row_q6_K(x, &b6, 256);
	CHECK(b6.d == 0xA000);	/* -2^-7 */
	for (int j = 0; j < 16; j++)
		CHECKF(b6.scales[j] == -128, "q6_K scales[%d] = %d", j, b6.scales[j]);
	for (int l = 0; l < 32; l++)
		CHECK(b6.ql[l] == (uint8_t)(((int)x[l] + 32) % 16 | (((int)x[l + 64] + 32) % 16) << 4));
	REQUIRE(ref_dequant_row(GGML_TYPE_Q6_K, &b6, y, 256) == 0);
	for (int j = 0; j < 256; j++)
		CHECKF(y[j] == x[j], "q6_K y[%d] = %g, not %g", j, y[j], x[j]);
}

static void fp16_bf16_round_to_nearest_even(void)
{
	float x[4] = { 1.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -2.5f };
	ggml_half h[4];
	ggml_bf16 b[4];

	quant_row_f16(x, h, 4);
	CHECK(h[0] == 0x3C00 && h[1] == 0x3C00 && h[2] == 0x3C02 && h[3] == 0xC100);
	x[1] = 1.0f + 0x1p-8f;
	x[2] = 1.0f + 3 * 0x1p-8f;
	quant_row_bf16(x, b, 4);
	CHECK(b[0] == 0x3F80 && b[1] == 0x3F80 && b[2] == 0x3F82 && b[3] == 0xC020);
}

static void quant_row_refuses(void)
{
	float x[64] = { 0 };
	unsigned char q[512];

	CHECK(quant_row(GGML_TYPE_Q4_K, x, q, 64) == DK_EINVAL);
	CHECK(quant_row(GGML_TYPE_Q8_0, x, q, 33) == DK_EINVAL);
	CHECK(quant_row(GGML_TYPE_Q8_K, x, q, 256) == DK_EUNSUPPORTED);
	CHECK(quant_row((enum ggml_type)99, x, q, 32) == DK_EUNSUPPORTED);
	CHECK(quant_supported(GGML_TYPE_Q5_1) && !quant_supported(GGML_TYPE_Q8_1));
}

/* the same floats always give the same bytes (llama-quantize's "ref" promise) */
static void deterministic(void)
{
	static float x[N];
	static unsigned char a[N * 2], b[N * 2];

	for (int i = 0; i < N; i++)
		x[i] = gauss();
	quant_row(GGML_TYPE_Q4_K, x, a, N);
	quant_row(GGML_TYPE_Q4_K, x, b, N);
	CHECK(memcmp(a, b, ggml_row_size(GGML_TYPE_Q4_K, N)) == 0);
}

/* count_same - blocks identical to ref's when quantizing src's F16 rows to ref's type */
static void count_same(const struct gguf_tensor *src, const struct gguf_tensor *ref,
		       uint64_t same[], uint64_t total[])
{
	const struct ggml_type_traits *tt = ggml_type_traits(ref->type);
	size_t rb = ggml_row_size(ref->type, (uint64_t)ref->ne[0]);
	float *x = malloc((size_t)ref->ne[0] * sizeof *x);
	unsigned char *q = malloc(rb);

	for (int64_t r = 0; x != NULL && q != NULL && r < ref->ne[1]; r++) {
		const ggml_half *h = (const ggml_half *)src->data + r * src->ne[0];
		const unsigned char *want = (const unsigned char *)ref->data + (size_t)r * rb;

		for (int64_t k = 0; k < ref->ne[0]; k++)
			x[k] = ggml_fp16_to_fp32(h[k]);
		quant_row((enum ggml_type)ref->type, x, q, ref->ne[0]);
		for (size_t b = 0; b < rb / tt->type_size; b++) {
			same[ref->type] += memcmp(q + b * tt->type_size, want + b * tt->type_size,
						  tt->type_size) == 0;
			total[ref->type]++;
		}
	}
	free(x);
	free(q);
}

/*
 * llama-quantize's blocks: the oracle's quantized llama files were made
 * from F32 weights we do not have; quantizing the F16 file's weights (the
 * same weights, rounded) with ggml's algorithm must reproduce most of the
 * oracle's blocks byte for byte (measured: Q4_0 98%, Q5_0 96%, Q4_1 80%,
 * Q5_1 77%, Q3_K 73%, Q4_K 62%, Q2_K 57%, Q5_K 45%, Q6_K 42%; the rest
 * differ by the input rounding). A different algorithm matches almost none.
 */
static void matches_llama_quantize_blocks(void)
{
	static const char *const files[] = { "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M",
					     "Q4_K_M", "Q5_K_M", "Q6_K" };
	static const struct { enum ggml_type t; double min; } bars[] = {
		{ GGML_TYPE_Q4_0, 0.90 }, { GGML_TYPE_Q5_0, 0.88 }, { GGML_TYPE_Q4_1, 0.70 },
		{ GGML_TYPE_Q5_1, 0.68 }, { GGML_TYPE_Q3_K, 0.62 }, { GGML_TYPE_Q4_K, 0.52 },
		{ GGML_TYPE_Q2_K, 0.48 }, { GGML_TYPE_Q5_K, 0.38 }, { GGML_TYPE_Q6_K, 0.36 },
	};
	const char *shared = test_shared_dir();
	uint64_t same[GGML_TYPE_COUNT] = { 0 }, total[GGML_TYPE_COUNT] = { 0 };
	struct gguf *f16 = NULL;
	char path[4200];

	if (shared == NULL)
		SKIP("../shared absent");
	snprintf(path, sizeof path, "%s/oracle/models/llama-F16.gguf", shared);
	REQUIRE(gguf_open(path, &f16, NULL) == 0);
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct gguf *q = NULL;

		snprintf(path, sizeof path, "%s/oracle/models/llama-%s.gguf", shared, files[f]);
		REQUIRE(gguf_open(path, &q, NULL) == 0);
		/* layer 0's matrices: every type of the file, small enough for ASan runs */
		for (uint64_t i = 0; i < q->n_tensors; i++) {
			const struct gguf_tensor *t = &q->tensors[i], *s;
			char name[GGUF_MAX_NAME + 1];

			snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.s);
			s = gguf_find_tensor(f16, name);
			if (strncmp(name, "blk.0.", 6) == 0 && t->n_dims == 2 && s != NULL &&
			    s->type == GGML_TYPE_F16 && quant_supported(t->type))
				count_same(s, t, same, total);
		}
		gguf_free(q);
	}
	gguf_free(f16);
	for (size_t b = 0; b < sizeof bars / sizeof bars[0]; b++) {
		double share = total[bars[b].t] ? (double)same[bars[b].t] / total[bars[b].t] : 0;

		CHECKF(share >= bars[b].min, "%s: %.1f%% of %llu blocks identical, want >= %.0f%%",
		       ggml_type_name(bars[b].t), 100 * share,
		       (unsigned long long)total[bars[b].t], 100 * bars[b].min);
	}
}

int main(void)
{
	RUN(round_trip_error_bounds);
	RUN(zeros_give_zero_blocks);
	RUN(q8_0_exact_block);
	RUN(q4_0_q5_0_exact_blocks);
	RUN(q4_1_q5_1_exact_blocks);
	RUN(k_affine_exact_blocks);
	RUN(k_symmetric_exact_blocks);
	RUN(fp16_bf16_round_to_nearest_even);
	RUN(quant_row_refuses);
	RUN(deterministic);
	RUN(matches_llama_quantize_blocks);
	return TEST_END();
}
