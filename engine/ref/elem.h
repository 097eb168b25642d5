/*
 * NAME
 *	elem - scalar reference of the elementwise activations kept in tables
 * SUMMARY
 *	ref_gelu_init() fills the GELU table once (idempotent, thread safe);
 *	ref_gelu_table() is that table: for every binary16 bit pattern h,
 *	F16(gelu_tanh(h)) widened to float, what ggml's table_gelu_f16 holds.
 *	ref_geglu(n, g, u, out) sets out[i] = u[i] * gelu(g[i]) with gelu as
 *	ggml_vec_gelu_f32 computes it: 0 at or below -10, the input itself at
 *	or above 10, else the table at the F16 bits of the input.
 *	ref_rmsnorm(n, rows, x, xs, w, o, os, eps) sets each of rows rows of
 *	n values, row r at x + r * xs, to x / rms(x) * w at o + r * os (w
 *	NULL: no weight; o may be x): squares summed in double in ascending
 *	order, as ggml_compute_forward_rms_norm does.
 * OWNERSHIP
 *	The table is static; callers own the other buffers.
 * LIFETIME
 *	The table lives as long as the process, valid after ref_gelu_init().
 * THREADS
 *	Safe.
 * ERRORS
 *	None.
 */
#ifndef REF_ELEM_H
#define REF_ELEM_H

#include <stddef.h>
#include <stdint.h>

void ref_gelu_init(void);
const float *ref_gelu_table(void);
void ref_geglu(int64_t n, const float *g, const float *u, float *out);
void ref_rmsnorm(int64_t n, int rows, const float *x, size_t xs, const float *w, float *o, size_t os,
		 float eps);

#endif
