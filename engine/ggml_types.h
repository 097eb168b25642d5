/*
 * NAME
 *	ggml_types - ggml tensor types: ids, block layouts, traits, fp16/bf16
 * SUMMARY
 *	The type ids are the numbers GGUF files carry (ggml's enum ggml_type).
 *	Block structs reproduce ggml's byte layouts exactly, so weights are
 *	used in place inside the read-only mapping of a GGUF file. A tensor
 *	row of ne0 elements of type T holds ne0 / blck_size(T) blocks of
 *	type_size(T) bytes each. Q8_0, Q8_1 and Q8_K are also the layouts the
 *	engine quantizes activations into (ggml's "vec_dot_type").
 *	ggml_fp16/bf16 conversions round to nearest even, as F16C and ggml do.
 * OWNERSHIP
 *	Nothing is allocated; names are static strings.
 * LIFETIME
 *	Static.
 * THREADS
 *	Safe: pure functions over constant tables.
 * ERRORS
 *	ggml_type_traits() returns NULL for an unknown or unsupported id.
 */
#ifndef GGML_TYPES_H
#define GGML_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ggml_type ids as stored in GGUF (the gaps are types docket does not run) */
enum ggml_type {
	GGML_TYPE_F32 = 0,
	GGML_TYPE_F16 = 1,
	GGML_TYPE_Q4_0 = 2,
	GGML_TYPE_Q4_1 = 3,
	GGML_TYPE_Q5_0 = 6,
	GGML_TYPE_Q5_1 = 7,
	GGML_TYPE_Q8_0 = 8,
	GGML_TYPE_Q8_1 = 9,
	GGML_TYPE_Q2_K = 10,
	GGML_TYPE_Q3_K = 11,
	GGML_TYPE_Q4_K = 12,
	GGML_TYPE_Q5_K = 13,
	GGML_TYPE_Q6_K = 14,
	GGML_TYPE_Q8_K = 15,
	GGML_TYPE_I8 = 24,
	GGML_TYPE_I16 = 25,
	GGML_TYPE_I32 = 26,
	GGML_TYPE_I64 = 27,
	GGML_TYPE_F64 = 28,
	GGML_TYPE_BF16 = 30,
	GGML_TYPE_COUNT = 40,	/* ids at or above this are rejected */
};

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t ggml_half;	/* IEEE binary16 bits */
typedef uint16_t ggml_bf16;	/* bfloat16 bits */

/* x = d * (q - 8), q 4-bit: qs[j] low nibble is x[j], high nibble x[j+16] */
struct block_q4_0 { ggml_half d; uint8_t qs[QK4_0 / 2]; };
/* x = d * q + m */
struct block_q4_1 { ggml_half d; ggml_half m; uint8_t qs[QK4_1 / 2]; };
/* x = d * (q - 16), bit 4 of q[j] is bit j of qh (little-endian uint32) */
struct block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };
struct block_q5_1 { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
struct block_q8_0 { ggml_half d; int8_t qs[QK8_0]; };
/* s = d * sum(qs): lets Q4_1/Q5_1 dots add their offsets m once per block */
struct block_q8_1 { ggml_half d; ggml_half s; int8_t qs[QK8_1]; };
/* 16 sub-blocks of 16: x = d * (scales & 15) * q - dmin * (scales >> 4) */
struct block_q2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; ggml_half d; ggml_half dmin; };
/* 16 sub-blocks of 16, 6-bit signed scales packed in 12 bytes, 3-bit q */
struct block_q3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; ggml_half d; };
/* 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes */
struct block_q4_K { ggml_half d; ggml_half dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct block_q5_K { ggml_half d; ggml_half dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
/* 16 sub-blocks of 16, int8 scales, 6-bit q - 32 */
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; ggml_half d; };
/* activations for the K-quant dots: bsums[j] = sum of qs[16j..16j+15] */
struct block_q8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };

_Static_assert(sizeof(struct block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(struct block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(struct block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(struct block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(struct block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(struct block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(struct block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(struct block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(struct block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(struct block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(struct block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(struct block_q8_K) == 292, "q8_K layout");

struct ggml_type_traits {
	const char *name;	/* "Q4_K", as llama.cpp prints it */
	uint32_t blck_size;	/* elements per block */
	uint32_t type_size;	/* bytes per block */
	int is_quantized;
	int is_weight;		/* docket runs matrices of this type */
	enum ggml_type vec_dot_type;	/* activation layout its dot product takes */
};

/* ggml_type_traits - traits of a type id, NULL when unknown */
const struct ggml_type_traits *ggml_type_traits(uint32_t type);

/* ggml_type_name - "Q4_K", or "unknown" */
const char *ggml_type_name(uint32_t type);

/* ggml_row_size - bytes of a row of n elements; n must be a block multiple */
size_t ggml_row_size(enum ggml_type type, uint64_t n);

/* ggml_fp32_bits / ggml_bits_fp32 - type punning without aliasing trouble */
static inline uint32_t ggml_fp32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	return u;
}

static inline float ggml_bits_fp32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof f);
	return f;
}

/* ggml_fp16_to_fp32 - exact widening of binary16 */
static inline float ggml_fp16_to_fp32(ggml_half h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0) {
		/* zero or subnormal: man * 2^-24 is exact in binary32 */
		float v = (float)man * 0x1p-24f;
		return sign ? -v : v;
	}
	if (exp == 31)
		return ggml_bits_fp32(sign | 0x7f800000u | (man << 13));
	return ggml_bits_fp32(sign | ((exp + 112) << 23) | (man << 13));
}

/* ggml_fp32_to_fp16 - round to nearest even; overflow gives inf, NaN stays NaN */
ggml_half ggml_fp32_to_fp16(float f);

static inline float ggml_bf16_to_fp32(ggml_bf16 h)
{
	return ggml_bits_fp32((uint32_t)h << 16);
}

/* ggml_fp32_to_bf16 - round to nearest even, quiet NaN kept (ggml's rule) */
static inline ggml_bf16 ggml_fp32_to_bf16(float f)
{
	uint32_t u = ggml_fp32_bits(f);

	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (ggml_bf16)((u >> 16) | 64);
	return (ggml_bf16)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#endif
