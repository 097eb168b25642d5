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

#include <stdint.h>

void ref_gelu_init(void);
const float *ref_gelu_table(void);
void ref_geglu(int64_t n, const float *g, const float *u, float *out);

#endif
