/*
 * NAME
 *	matmul - weight matrix times a batch of activation rows
 * DESIGN NOTES
 *	1. The input rows are quantized once to the weight's vec_dot_type,
 *	   then threads take contiguous ranges of output rows (thr_split) and
 *	   compute whole dot products with the context's kernel table
 *	   (engine/kernels: reference or SIMD). No dot product is ever split,
 *	   so the result does not depend on n_threads.
 *	2. Where the table has a vec_dot4 kernel, each row meets 4 tokens at
 *	   a time; it returns bitwise the vec_dot values, so the batch split
 *	   cannot change a logit either.
 */
#include "engine/matmul.h"

#include "engine/ref/quants.h"

struct quant_job {
	enum ggml_type vdt;
	const float *x;
	size_t x_stride;	/* floats */
	uint8_t *dst;
	size_t dst_stride;	/* bytes */
	int64_t n_in;
	uint32_t n_tok;
};

static void quant_worker(void *arg, int ith, int nth)
{
	const struct quant_job *j = arg;
	int64_t lo, hi;

	thr_split(j->n_tok, ith, nth, &lo, &hi);
	for (int64_t t = lo; t < hi; t++)
		ref_quantize_act(j->vdt, j->x + (size_t)t * j->x_stride,
				 j->dst + (size_t)t * j->dst_stride, j->n_in);
}

struct mm_job {
	ref_vec_dot_fn dot;
	eng_vec_dot4_fn dot4;	/* NULL: none for this type */
	const struct eng_mat *w;
	const uint8_t *act;
	size_t act_stride;	/* bytes */
	float *out;
	size_t out_stride;	/* floats */
	const float *bias;
	uint32_t n_tok;
};

static void mm_worker(void *arg, int ith, int nth)
{
	const struct mm_job *j = arg;
	ref_vec_dot_fn dot = j->dot;
	int64_t lo, hi;

	thr_split(j->w->n_out, ith, nth, &lo, &hi);
	for (int64_t r = lo; r < hi; r++) {
		const uint8_t *row = j->w->data + (size_t)r * j->w->row_bytes;
		float b = j->bias ? j->bias[r] : 0.0f, o4[4];
		uint32_t t = 0;
		for (; j->dot4 != NULL && t + 4 <= j->n_tok; t += 4) {
			j->dot4(j->w->n_in, row, j->act + (size_t)t * j->act_stride, j->act_stride, o4);
			for (uint32_t k = 0; k < 4; k++)
				j->out[(size_t)(t + k) * j->out_stride + r] = o4[k] + b;
		}
		for (; t < j->n_tok; t++)
			j->out[(size_t)t * j->out_stride + r] =
				dot(j->w->n_in, row, j->act + (size_t)t * j->act_stride) + b;
	}
}

/* eng_matmul - see matmul.h (notes 1-2) */
void eng_matmul(struct eng_ctx *c, const struct eng_mat *w, const float *x, size_t x_stride,
		uint32_t n_tok, float *out, size_t out_stride, const float *bias)
{
	enum ggml_type vdt = ggml_type_traits(w->type)->vec_dot_type;
	size_t arow = vdt == GGML_TYPE_F32 ? (size_t)w->n_in * sizeof(float)
					   : ggml_row_size(vdt, (uint64_t)w->n_in);
	struct quant_job qj = { vdt, x, x_stride, c->act_q, arow, w->n_in, n_tok };
	struct mm_job mj = { c->kern->vec_dot[w->type], c->kern->vec_dot4[w->type], w, c->act_q, arow, out, out_stride, bias, n_tok };

	thr_pool_run(c->pool, quant_worker, &qj);
	thr_pool_run(c->pool, mm_worker, &mj);
}
