/*
 * NAME
 *	quants - scalar reference: dequantize rows, quantize activations, dot
 *	products of one weight row with one activation row
 * SUMMARY
 *	ref_dequant_row() expands n elements of any weight type to floats
 *	(used for embedding lookups and by tests). ref_quantize_act() turns an
 *	activation row into the layout the weight type's dot product takes
 *	(ggml_type_traits(T)->vec_dot_type). ref_vec_dot(T) returns the dot of
 *	one T row with one such activation row. These are the definitions the
 *	SIMD kernels are tested against.
 *	Every n must be a multiple of the type's block size (callers check:
 *	the GGUF reader refuses rows that are not).
 * OWNERSHIP
 *	Callers own every buffer.
 * THREADS
 *	Safe: pure functions.
 * ERRORS
 *	ref_dequant_row() returns DK_EUNSUPPORTED for a type it cannot expand.
 */
#ifndef REF_QUANTS_H
#define REF_QUANTS_H

#include <stdint.h>

#include "engine/ggml_types.h"

typedef float (*ref_vec_dot_fn)(int64_t n, const void *w, const void *act);

int ref_dequant_row(enum ggml_type type, const void *src, float *dst, int64_t n);

/* ref_quantize_act - x[n] into n elements of layout vdt (F32, F16, BF16, Q8_0, Q8_1, Q8_K) */
void ref_quantize_act(enum ggml_type vdt, const float *x, void *dst, int64_t n);

/* ref_vec_dot - the dot product for weight type T, NULL if T is not a weight type */
ref_vec_dot_fn ref_vec_dot(enum ggml_type type);

/* ref_axpy_f16 - y[i] += x[i] * w, product and sum each rounded to float
 * (no fused multiply-add), so SIMD versions agree bitwise */
void ref_axpy_f16(int64_t n, float w, const ggml_half *x, float *y);

/* ref_swiglu - out[i] = silu(g[i]) * u[i] (out may be u) */
void ref_swiglu(int64_t n, const float *g, const float *u, float *out);

/* ref_f32_to_f16 - y[i] = ggml_fp32_to_fp16(x[i]) */
void ref_f32_to_f16(int64_t n, const float *x, ggml_half *y);

void ref_quantize_row_q8_0(const float *x, struct block_q8_0 *y, int64_t n);
void ref_quantize_row_q8_1(const float *x, struct block_q8_1 *y, int64_t n);
void ref_quantize_row_q8_K(const float *x, struct block_q8_K *y, int64_t n);

#endif
