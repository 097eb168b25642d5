/*
 * NAME
 *	matmul - the forward pass's weight-matrix products, threaded
 * SUMMARY
 *	eng_matmul(c, w, x, x_stride, n_tok, out, out_stride, bias) sets
 *	out[t][r] = W[r] . x[t] (+ bias[r]) for n_tok input rows, on the
 *	context's thread pool with the context's kernel table.
 * OWNERSHIP
 *	Borrows everything; writes c->act_q (scratch) and out.
 * THREADS
 *	One caller per context (it drives the context's pool).
 * ERRORS
 *	None.
 */
#ifndef ENGINE_MATMUL_H
#define ENGINE_MATMUL_H

#include "engine/model.h"

void eng_matmul(struct eng_ctx *c, const struct eng_mat *w, const float *x, size_t x_stride,
		uint32_t n_tok, float *out, size_t out_stride, const float *bias);

#endif
