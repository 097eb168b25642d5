/*
 * NAME
 *	ggml_types - the type table and binary16 rounding
 * DESIGN NOTES
 *	1. The table is indexed by the GGUF type id; a row with name NULL is a
 *	   type docket does not know, and ggml_type_traits() hides it.
 *	2. is_weight marks the types the engine multiplies with; I8..F64 are
 *	   known (so "model info" can name them) but never run.
 *	3. vec_dot_type follows ggml-cpu: Q4_1/Q5_1 take Q8_1 activations,
 *	   the other legacy quants Q8_0, the K-quants Q8_K, F16 and BF16 their
 *	   own 16-bit type. Matching it keeps our rounding close to llama.cpp.
 */
#include "engine/ggml_types.h"

#include <math.h>

static const struct ggml_type_traits type_table[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { "F32", 1, 4, 0, 1, GGML_TYPE_F32 },
	[GGML_TYPE_F16] = { "F16", 1, 2, 0, 1, GGML_TYPE_F16 },
	[GGML_TYPE_BF16] = { "BF16", 1, 2, 0, 1, GGML_TYPE_BF16 },
	[GGML_TYPE_Q4_0] = { "Q4_0", QK4_0, sizeof(struct block_q4_0), 1, 1, GGML_TYPE_Q8_0 },
	[GGML_TYPE_Q4_1] = { "Q4_1", QK4_1, sizeof(struct block_q4_1), 1, 1, GGML_TYPE_Q8_1 },
	[GGML_TYPE_Q5_0] = { "Q5_0", QK5_0, sizeof(struct block_q5_0), 1, 1, GGML_TYPE_Q8_0 },
	[GGML_TYPE_Q5_1] = { "Q5_1", QK5_1, sizeof(struct block_q5_1), 1, 1, GGML_TYPE_Q8_1 },
	[GGML_TYPE_Q8_0] = { "Q8_0", QK8_0, sizeof(struct block_q8_0), 1, 1, GGML_TYPE_Q8_0 },
	[GGML_TYPE_Q8_1] = { "Q8_1", QK8_1, sizeof(struct block_q8_1), 1, 0, GGML_TYPE_Q8_1 },
	[GGML_TYPE_Q2_K] = { "Q2_K", QK_K, sizeof(struct block_q2_K), 1, 1, GGML_TYPE_Q8_K },
	[GGML_TYPE_Q3_K] = { "Q3_K", QK_K, sizeof(struct block_q3_K), 1, 1, GGML_TYPE_Q8_K },
	[GGML_TYPE_Q4_K] = { "Q4_K", QK_K, sizeof(struct block_q4_K), 1, 1, GGML_TYPE_Q8_K },
	[GGML_TYPE_Q5_K] = { "Q5_K", QK_K, sizeof(struct block_q5_K), 1, 1, GGML_TYPE_Q8_K },
	[GGML_TYPE_Q6_K] = { "Q6_K", QK_K, sizeof(struct block_q6_K), 1, 1, GGML_TYPE_Q8_K },
	[GGML_TYPE_Q8_K] = { "Q8_K", QK_K, sizeof(struct block_q8_K), 1, 0, GGML_TYPE_Q8_K },
	[GGML_TYPE_I8] = { "I8", 1, 1, 0, 0, GGML_TYPE_I8 },
	[GGML_TYPE_I16] = { "I16", 1, 2, 0, 0, GGML_TYPE_I16 },
	[GGML_TYPE_I32] = { "I32", 1, 4, 0, 0, GGML_TYPE_I32 },
	[GGML_TYPE_I64] = { "I64", 1, 8, 0, 0, GGML_TYPE_I64 },
	[GGML_TYPE_F64] = { "F64", 1, 8, 0, 0, GGML_TYPE_F64 },
};

/* ggml_type_traits - table row, or NULL for unknown ids (note 1) */
const struct ggml_type_traits *ggml_type_traits(uint32_t type)
{
	if (type >= GGML_TYPE_COUNT || type_table[type].name == NULL)
		return NULL;
	return &type_table[type];
}

/* ggml_type_name - printable name */
const char *ggml_type_name(uint32_t type)
{
	const struct ggml_type_traits *t = ggml_type_traits(type);

	return t ? t->name : "unknown";
}

/* ggml_row_size - bytes of n elements */
size_t ggml_row_size(enum ggml_type type, uint64_t n)
{
	const struct ggml_type_traits *t = ggml_type_traits(type);

	return t ? (size_t)(n / t->blck_size * t->type_size) : 0;
}

/* ggml_fp32_to_fp16 - round to nearest even, as vcvtps2ph does */
ggml_half ggml_fp32_to_fp16(float f)
{
	uint32_t x = ggml_fp32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);

	x &= 0x7fffffffu;
	if (x > 0x7f800000u)
		return sign | 0x7e00;	/* NaN */
	if (x >= 0x477ff000u)
		return sign | 0x7c00;	/* rounds beyond 65504: inf */
	if (x < 0x38800000u) {
		/* below 2^-14: subnormal result, units of 2^-24; the default
		 * rounding mode is nearest even, and 0x400 is the smallest normal */
		return sign | (uint16_t)nearbyintf(ggml_bits_fp32(x) * 0x1p24f);
	}
	x += 0xfffu + ((x >> 13) & 1);
	return sign | (uint16_t)((x - 0x38000000u) >> 13);
}
