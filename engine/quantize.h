/*
 * NAME
 *	quantize - reference quantizers: float rows into ggml's block layouts
 * SUMMARY
 *	quant_row() turns n floats into n elements of a weight type (F32, F16,
 *	BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K),
 *	written as the block structs of engine/ggml_types.h. The algorithms
 *	are ggml's reference ones (quantize_row_*_ref, what llama-quantize
 *	runs without an importance matrix), so a docket-made Q4_K_M file has
 *	the blocks llama-quantize would write for the same floats. The
 *	per-type functions are public for block-exact tests.
 *	n must be a multiple of the type's block size (32, or 256 for the
 *	K-quants); quant_row() checks, the per-type functions assert.
 * OWNERSHIP
 *	Callers own x and dst; dst holds ggml_row_size(type, n) bytes.
 * THREADS
 *	Safe: no state.
 * ERRORS
 *	quant_row(): DK_EUNSUPPORTED for a type it cannot produce, DK_EINVAL
 *	when n is not a block multiple.
 */
#ifndef DK_QUANTIZE_H
#define DK_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/ggml_types.h"

/* quant_supported - quant_row() can produce this type */
bool quant_supported(uint32_t type);

int quant_row(enum ggml_type type, const float *x, void *dst, int64_t n);

void quant_row_f16(const float *x, ggml_half *y, int64_t n);
void quant_row_bf16(const float *x, ggml_bf16 *y, int64_t n);
void quant_row_q4_0(const float *x, struct block_q4_0 *y, int64_t n);
void quant_row_q4_1(const float *x, struct block_q4_1 *y, int64_t n);
void quant_row_q5_0(const float *x, struct block_q5_0 *y, int64_t n);
void quant_row_q5_1(const float *x, struct block_q5_1 *y, int64_t n);
void quant_row_q8_0(const float *x, struct block_q8_0 *y, int64_t n);
void quant_row_q2_K(const float *x, struct block_q2_K *y, int64_t n);
void quant_row_q3_K(const float *x, struct block_q3_K *y, int64_t n);
void quant_row_q4_K(const float *x, struct block_q4_K *y, int64_t n);
void quant_row_q5_K(const float *x, struct block_q5_K *y, int64_t n);
void quant_row_q6_K(const float *x, struct block_q6_K *y, int64_t n);

#endif
