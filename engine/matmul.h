/*
 * NAME
 *	matmul - the forward pass's weight-matrix products, threaded
 * SUMMARY
 *	eng_matmul(c, w, x, x_stride, n_tok, out, out_stride, bias) sets
 *	out[t][r] = W[r] . x[t] (+ bias[r]) for n_tok input rows, on the
 *	context's thread pool with the context's kernel table.
 *	eng_matmul_group() does the same for up to ENG_MM_PARTS matrices that
 *	read the same input (Q, K, V; gate, up): the input is quantized once
 *	per activation layout and all products share one pool run. Hooks fuse
 *	elementwise work into those runs: prep(arg, t0, t1) writes input rows
 *	t0 .. t1 - 1 (up to ENG_PREP_ROWS of them) just before they are
 *	quantized (norms, residual adds), epi(arg, n_tok, r0, r1)
 *	runs on each thread after it has finished its rows [r0, r1) of every
 *	part for all tokens (all parts must then have the same n_out).
 * OWNERSHIP
 *	Borrows everything; writes c->act_q (scratch) and the outputs.
 * THREADS
 *	One caller per context (it drives the context's pool). Hooks run on
 *	pool threads: prep only touches rows [t0, t1), epi only rows [r0, r1).
 * ERRORS
 *	None.
 */
#ifndef ENGINE_MATMUL_H
#define ENGINE_MATMUL_H

#include "engine/model.h"

#define ENG_MM_PARTS 3	/* c->act_q holds this many activation layouts */
#define ENG_PREP_ROWS 8	/* rows a prep call gets at most: the rmsnorm kernel's lanes */

/* struct eng_mm_part - one matrix of a group and where its products go */
struct eng_mm_part {
	const struct eng_mat *w;
	float *out;
	size_t out_stride;	/* floats */
	const float *bias;	/* NULL: none */
};

/* struct eng_mm_hooks - elementwise work fused into a group's pool runs */
struct eng_mm_hooks {
	void (*prep)(void *arg, uint32_t t0, uint32_t t1);
	void (*epi)(void *arg, uint32_t n_tok, int64_t r0, int64_t r1);
	void *arg;
};

void eng_matmul(struct eng_ctx *c, const struct eng_mat *w, const float *x, size_t x_stride,
		uint32_t n_tok, float *out, size_t out_stride, const float *bias);
void eng_matmul_group(struct eng_ctx *c, const struct eng_mm_part *parts, int n_parts,
		      const float *x, size_t x_stride, uint32_t n_tok,
		      const struct eng_mm_hooks *hooks);

#endif
