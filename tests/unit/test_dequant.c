/*
 * test_dequant - ggml block layouts, fp16/bf16 rounding, dot products.
 * Blocks are packed here from per-element values following the layout
 * description (the inverse direction of the decoder), then decoded.
 */
#include <math.h>

#include "engine/ggml_types.h"
#include "engine/ref/quants.h"
#include "tests/test.h"

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return rng_state >> 8;
}

static float rndf(void)
{
	return (float)(rnd() % 20001) / 10000.0f - 1.0f;
}

static void test_fp16(void)
{
	/* every finite half survives the round trip */
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00) == 0x7c00)
			continue;
		CHECKF(ggml_fp32_to_fp16(ggml_fp16_to_fp32((ggml_half)h)) == h, "half 0x%04x", h);
	}
	CHECK(ggml_fp16_to_fp32(0x3c00) == 1.0f);
	CHECK(ggml_fp16_to_fp32(0xc000) == -2.0f);
	CHECK(ggml_fp16_to_fp32(0x0001) == 0x1p-24f);
	CHECK(ggml_fp32_to_fp16(65504.0f) == 0x7bff);
	CHECK(ggml_fp32_to_fp16(65520.0f) == 0x7c00);
	CHECK(ggml_fp32_to_fp16(1.0f + 0x1p-11f) == 0x3c00);	/* tie to even */
	CHECK(ggml_fp32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02);
	CHECK((ggml_fp32_to_fp16(NAN) & 0x7c00) == 0x7c00 && (ggml_fp32_to_fp16(NAN) & 0x3ff));
	/* against the compiler's own conversion on random values of all scales */
	for (int i = 0; i < 200000; i++) {
		float f = ggml_bits_fp32(rnd() << 8 ^ rnd());
		if (isnan(f))
			continue;
		_Float16 h = (_Float16)f;
		uint16_t bits;
		memcpy(&bits, &h, 2);
		CHECKF(ggml_fp32_to_fp16(f) == bits, "%a", (double)f);
	}
}

static void test_bf16(void)
{
	CHECK(ggml_fp32_to_bf16(1.0f) == 0x3f80);
	CHECK(ggml_bf16_to_fp32(0x3f80) == 1.0f);
	CHECK(ggml_fp32_to_bf16(ggml_bits_fp32(0x3f808000)) == 0x3f80);	/* tie, even */
	CHECK(ggml_fp32_to_bf16(ggml_bits_fp32(0x3f818000)) == 0x3f82);	/* tie, up to even */
	CHECK(ggml_fp32_to_bf16(ggml_bits_fp32(0x3f808001)) == 0x3f81);
}

static void test_traits(void)
{
	CHECK(ggml_type_traits(GGML_TYPE_Q4_K)->type_size == 144);
	CHECK(ggml_type_traits(GGML_TYPE_Q4_K)->blck_size == 256);
	CHECK(ggml_type_traits(GGML_TYPE_Q5_1)->vec_dot_type == GGML_TYPE_Q8_1);
	CHECK(ggml_type_traits(GGML_TYPE_BF16)->type_size == 2);
	CHECK(ggml_type_traits(4) == NULL && ggml_type_traits(999) == NULL);
	CHECK(strcmp(ggml_type_name(GGML_TYPE_Q6_K), "Q6_K") == 0);
	CHECK(ggml_row_size(GGML_TYPE_Q8_0, 64) == 68);
}

static void test_q4_0(void)
{
	struct block_q4_0 b;
	float y[32];

	b.d = ggml_fp32_to_fp16(0.5f);
	for (int j = 0; j < 16; j++)
		b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
	REQUIRE(ref_dequant_row(GGML_TYPE_Q4_0, &b, y, 32) == 0);
	for (int j = 0; j < 16; j++) {
		CHECK(y[j] == (float)(j - 8) * 0.5f);
		CHECK(y[j + 16] == (float)(7 - j) * 0.5f);
	}
}

static void test_q4_1_q5(void)
{
	struct block_q4_1 b1;
	struct block_q5_0 b5;
	struct block_q5_1 b51;
	int q[32];
	float y[32];

	b1.d = ggml_fp32_to_fp16(0.25f);
	b1.m = ggml_fp32_to_fp16(-1.0f);
	for (int j = 0; j < 16; j++)
		b1.qs[j] = (uint8_t)((j & 15) | (3 << 4));
	ref_dequant_row(GGML_TYPE_Q4_1, &b1, y, 32);
	CHECK(y[5] == 5 * 0.25f - 1.0f && y[20] == 3 * 0.25f - 1.0f);

	/* 5-bit values 0..31: low nibbles in qs, bit 4 of element j in bit j of qh */
	uint32_t qh = 0;
	memset(b5.qs, 0, sizeof b5.qs);
	for (int j = 0; j < 32; j++) {
		q[j] = (j * 7 + 3) % 32;
		b5.qs[j % 16] |= (uint8_t)((q[j] & 15) << (j < 16 ? 0 : 4));
		qh |= (uint32_t)(q[j] >> 4) << j;
	}
	memcpy(b5.qh, &qh, 4);
	b5.d = ggml_fp32_to_fp16(2.0f);
	ref_dequant_row(GGML_TYPE_Q5_0, &b5, y, 32);
	for (int j = 0; j < 32; j++)
		CHECKF(y[j] == (float)(q[j] - 16) * 2.0f, "q5_0 element %d: %g", j, (double)y[j]);
	b51.d = b5.d;
	b51.m = ggml_fp32_to_fp16(0.5f);
	memcpy(b51.qh, b5.qh, 4);
	memcpy(b51.qs, b5.qs, 16);
	ref_dequant_row(GGML_TYPE_Q5_1, &b51, y, 32);
	for (int j = 0; j < 32; j++)
		CHECK(y[j] == (float)q[j] * 2.0f + 0.5f);
}

static void test_q8_0(void)
{
	struct block_q8_0 b;
	float y[32];

	b.d = ggml_fp32_to_fp16(0.125f);
	for (int j = 0; j < 32; j++)
		b.qs[j] = (int8_t)(j * 8 - 128);
	ref_dequant_row(GGML_TYPE_Q8_0, &b, y, 32);
	CHECK(y[0] == -16.0f && y[31] == (float)(31 * 8 - 128) * 0.125f);
}

/* pack_k_scales - 6-bit scales sc[8] and mins m[8] into the 12-byte field */
static void pack_k_scales(const int sc[8], const int m[8], uint8_t out[12])
{
	memset(out, 0, 12);
	for (int j = 0; j < 4; j++) {
		out[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
		out[j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
		out[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
	}
}

static void test_q4_K_q5_K(void)
{
	struct block_q4_K b;
	struct block_q5_K b5;
	int sc[8], m[8], q[256];
	float y[256];

	for (int j = 0; j < 8; j++) {
		sc[j] = (j * 9 + 5) % 64;
		m[j] = (j * 13 + 60) % 64;
	}
	for (int i = 0; i < 256; i++)
		q[i] = (int)(rnd() % 32);
	b.d = ggml_fp32_to_fp16(0.5f);
	b.dmin = ggml_fp32_to_fp16(0.25f);
	pack_k_scales(sc, m, b.scales);
	/* 64-element groups: low nibbles are the first 32, high the next 32 */
	for (int g = 0; g < 4; g++)
		for (int l = 0; l < 32; l++)
			b.qs[32 * g + l] = (uint8_t)((q[64 * g + l] & 15) | ((q[64 * g + 32 + l] & 15) << 4));
	ref_dequant_row(GGML_TYPE_Q4_K, &b, y, 256);
	for (int i = 0; i < 256; i++)
		CHECKF(y[i] == 0.5f * (float)sc[i / 32] * (float)(q[i] & 15) - 0.25f * (float)m[i / 32],
		       "q4_K element %d", i);

	b5.d = b.d;
	b5.dmin = b.dmin;
	memcpy(b5.scales, b.scales, 12);
	memcpy(b5.qs, b.qs, 128);
	memset(b5.qh, 0, 32);
	for (int i = 0; i < 256; i++)
		b5.qh[i % 32] |= (uint8_t)((q[i] >> 4) << (i / 32));
	ref_dequant_row(GGML_TYPE_Q5_K, &b5, y, 256);
	for (int i = 0; i < 256; i++)
		CHECKF(y[i] == 0.5f * (float)sc[i / 32] * (float)q[i] - 0.25f * (float)m[i / 32],
		       "q5_K element %d", i);
}

static void test_q6_K(void)
{
	struct block_q6_K b;
	int q[256];
	float y[256];

	memset(&b, 0, sizeof b);
	b.d = ggml_fp32_to_fp16(0.5f);
	for (int j = 0; j < 16; j++)
		b.scales[j] = (int8_t)(j * 17 - 128);
	/* element i = 128h + 32k + l: low nibble in ql[64h + l + 32(k&1)]
	 * (high half when k >= 2), 2 high bits in qh[32h + l] at bit 2k */
	for (int i = 0; i < 256; i++) {
		int h = i / 128, k = (i % 128) / 32, l = i % 32;
		q[i] = (int)(rnd() % 64);
		b.ql[64 * h + l + 32 * (k & 1)] |= (uint8_t)((q[i] & 15) << (k >= 2 ? 4 : 0));
		b.qh[32 * h + l] |= (uint8_t)((q[i] >> 4) << (2 * k));
	}
	ref_dequant_row(GGML_TYPE_Q6_K, &b, y, 256);
	for (int i = 0; i < 256; i++)
		CHECKF(y[i] == 0.5f * (float)b.scales[i / 16] * (float)(q[i] - 32), "q6_K element %d", i);
}

static void test_q2_K_q3_K(void)
{
	struct block_q2_K b;
	struct block_q3_K b3;
	int q[256], sc3[16];
	float y[256];

	memset(&b, 0, sizeof b);
	memset(&b3, 0, sizeof b3);
	b.d = ggml_fp32_to_fp16(0.5f);
	b.dmin = ggml_fp32_to_fp16(0.125f);
	for (int j = 0; j < 16; j++)
		b.scales[j] = (uint8_t)((j & 15) | (((15 - j) & 15) << 4));
	/* element i = 128h + 32k + l: bits 2k..2k+1 of qs[32h + l] */
	for (int i = 0; i < 256; i++) {
		int h = i / 128, k = (i % 128) / 32, l = i % 32;
		q[i] = (int)(rnd() % 8);
		b.qs[32 * h + l] |= (uint8_t)((q[i] & 3) << (2 * k));
		/* Q3_K: third bit in hmask[l] bit (4h + k); set means no -4 */
		b3.hmask[l] |= (uint8_t)((q[i] >> 2) << (4 * h + k));
	}
	ref_dequant_row(GGML_TYPE_Q2_K, &b, y, 256);
	for (int i = 0; i < 256; i++) {
		int s = b.scales[i / 16];
		CHECKF(y[i] == 0.5f * (float)(s & 15) * (float)(q[i] & 3) - 0.125f * (float)(s >> 4),
		       "q2_K element %d", i);
	}
	memcpy(b3.qs, b.qs, 64);
	b3.d = ggml_fp32_to_fp16(0.25f);
	/* 16 six-bit scales (stored +32): low nibbles in bytes 0..7, 2 high
	 * bits of scale j in byte 8 + j%4 at bit 2*(j/4) */
	for (int j = 0; j < 16; j++) {
		sc3[j] = (j * 11) % 64 - 32;
		int u = sc3[j] + 32;
		b3.scales[j % 8] |= (uint8_t)((u & 15) << (j < 8 ? 0 : 4));
		b3.scales[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
	}
	ref_dequant_row(GGML_TYPE_Q3_K, &b3, y, 256);
	for (int i = 0; i < 256; i++)
		CHECKF(y[i] == 0.25f * (float)sc3[i / 16] * (float)(q[i] - 4), "q3_K element %d", i);
}

/* fill_random_blocks - random bytes with every fp16 scale field set sanely */
static void fill_random_blocks(enum ggml_type t, uint8_t *buf, int nb)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t);

	for (size_t i = 0; i < (size_t)nb * tt->type_size; i++)
		buf[i] = (uint8_t)rnd();
	for (int i = 0; i < nb; i++) {
		uint8_t *b = buf + (size_t)i * tt->type_size;
		ggml_half d = ggml_fp32_to_fp16(0.01f + 0.001f * (float)(rnd() % 10));
		ggml_half m = ggml_fp32_to_fp16(0.02f * rndf());
		switch (t) {
		case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0: case GGML_TYPE_Q8_0:
			memcpy(b, &d, 2); break;
		case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K:
			memcpy(b, &d, 2); memcpy(b + 2, &m, 2); break;
		case GGML_TYPE_Q2_K:
			memcpy(b + 80, &d, 2); memcpy(b + 82, &m, 2); break;
		case GGML_TYPE_Q3_K:
			memcpy(b + 108, &d, 2); break;
		case GGML_TYPE_Q6_K:
			memcpy(b + 208, &d, 2); break;
		case GGML_TYPE_F16:
			for (int k = 0; k < 1; k++) { ggml_half h = ggml_fp32_to_fp16(rndf()); memcpy(b, &h, 2); }
			break;
		case GGML_TYPE_BF16:
			{ ggml_bf16 h = ggml_fp32_to_bf16(rndf()); memcpy(b, &h, 2); }
			break;
		case GGML_TYPE_F32:
			{ float f = rndf(); memcpy(b, &f, 4); }
			break;
		default:
			break;
		}
	}
}

/* every weight type: dot(w, quant(x)) ~ sum(dequant(w) * x) */
static void test_dot_vs_dequant(void)
{
	static const enum ggml_type types[] = {
		GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
		GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K,
		GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
	};
	enum { N = 512 };
	static uint8_t w[N * 4], act[N * 4];
	float x[N], wf[N];

	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		enum ggml_type t = types[k];
		const struct ggml_type_traits *tt = ggml_type_traits(t);
		fill_random_blocks(t, w, N / (int)tt->blck_size);
		for (int i = 0; i < N; i++)
			x[i] = rndf();
		REQUIRE(ref_dequant_row(t, w, wf, N) == 0);
		double exact = 0, mag = 0;
		for (int i = 0; i < N; i++) {
			exact += (double)wf[i] * x[i];
			mag += fabs((double)wf[i] * x[i]);
		}
		ref_quantize_act(tt->vec_dot_type, x, act, N);
		float got = ref_vec_dot(t)(N, w, act);
		/* 8-bit activations: relative error about 1/127 of the magnitude */
		CHECKF(fabs(got - exact) <= 0.01 * mag + 1e-6, "%s: dot %g vs %g (mag %g)",
		       tt->name, (double)got, exact, mag);
	}
}

static void test_q8_K_act(void)
{
	float x[256], y[256];
	struct block_q8_K b;

	for (int i = 0; i < 256; i++)
		x[i] = (float)(i - 100) / 10.0f;
	ref_quantize_row_q8_K(x, &b, 256);
	CHECK(b.qs[255] == -127);	/* max (15.5) maps to -127 */
	int s = 0;
	for (int i = 0; i < 16; i++)
		s += b.qs[i];
	CHECK(b.bsums[0] == s);
	ref_dequant_row(GGML_TYPE_Q8_K, &b, y, 256);
	for (int i = 0; i < 256; i++)
		CHECK(fabsf(y[i] - x[i]) <= 15.5f / 127.0f);
}

int main(void)
{
	RUN(test_fp16);
	RUN(test_bf16);
	RUN(test_traits);
	RUN(test_q4_0);
	RUN(test_q4_1_q5);
	RUN(test_q8_0);
	RUN(test_q4_K_q5_K);
	RUN(test_q6_K);
	RUN(test_q2_K_q3_K);
	RUN(test_dot_vs_dequant);
	RUN(test_q8_K_act);
	return TEST_END();
}
