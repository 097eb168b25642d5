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
 *	3. Where the table has a matrix tile (struct eng_mm), the activations
 *	   go to the tile's own layout and threads take contiguous ranges of
 *	   16-row tiles instead. Tokens go in chunks of TOK_CHUNK over all of
 *	   a thread's tiles, so a chunk's activations stay in L2 while the
 *	   weights stream past them. A tile's outputs do not depend on the
 *	   chunk or tile boundaries (kernels.h), so note 1 holds as well.
 */
#include "engine/matmul.h"

#include "engine/ref/quants.h"

/* tokens per pass over a thread's tiles: 64 rows of the widest input
 * (n_ff 4864 int8) keep well inside a 1 MB L2 */
#define TOK_CHUNK 64

struct quant_job {
	void (*quantize)(const float *x, void *dst, int64_t n);	/* NULL: by vdt */
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
	for (int64_t t = lo; t < hi; t++) {
		const float *x = j->x + (size_t)t * j->x_stride;
		uint8_t *dst = j->dst + (size_t)t * j->dst_stride;
		if (j->quantize != NULL)
			j->quantize(x, dst, j->n_in);
		else
			ref_quantize_act(j->vdt, x, dst, j->n_in);
	}
}

struct mm_job {
	ref_vec_dot_fn dot;
	eng_vec_dot4_fn dot4;	/* NULL: none for this type */
	const struct eng_mm *mm;	/* tile_worker only */
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

/* tile_worker - note 3: this thread's 16-row tiles, token chunk by chunk */
static void tile_worker(void *arg, int ith, int nth)
{
	const struct mm_job *j = arg;
	const struct eng_mat *w = j->w;
	int64_t lo, hi;

	thr_split((w->n_out + 15) / 16, ith, nth, &lo, &hi);
	for (uint32_t t0 = 0; t0 < j->n_tok; t0 += TOK_CHUNK) {
		uint32_t nt = j->n_tok - t0 < TOK_CHUNK ? j->n_tok - t0 : TOK_CHUNK;
		for (int64_t tile = lo; tile < hi; tile++) {
			int64_t r = tile * 16;
			int nr = w->n_out - r < 16 ? (int)(w->n_out - r) : 16;
			j->mm->tile(w->n_in, w->data + (size_t)r * w->row_bytes, w->row_bytes, nr,
				    j->act + (size_t)t0 * j->act_stride, j->act_stride, nt,
				    j->out + (size_t)t0 * j->out_stride + r, j->out_stride,
				    j->bias ? j->bias + r : NULL);
		}
	}
}

/* eng_matmul - see matmul.h (notes 1-3) */
void eng_matmul(struct eng_ctx *c, const struct eng_mat *w, const float *x, size_t x_stride,
		uint32_t n_tok, float *out, size_t out_stride, const float *bias)
{
	const struct eng_mm *mm = &c->kern->mm[w->type];
	enum ggml_type vdt = ggml_type_traits(w->type)->vec_dot_type;
	size_t arow = vdt == GGML_TYPE_F32 ? (size_t)w->n_in * sizeof(float)
					   : ggml_row_size(vdt, (uint64_t)w->n_in);

	if (mm->tile != NULL) {
		struct quant_job qj = { mm->quantize, vdt, x, x_stride, c->act_q, mm->act_bytes(w->n_in),
					w->n_in, n_tok };
		struct mm_job mj = { NULL, NULL, mm, w, c->act_q, qj.dst_stride, out, out_stride, bias, n_tok };
		thr_pool_run(c->pool, quant_worker, &qj);
		thr_pool_run(c->pool, tile_worker, &mj);
		return;
	}
	struct quant_job qj = { NULL, vdt, x, x_stride, c->act_q, arow, w->n_in, n_tok };
	struct mm_job mj = { c->kern->vec_dot[w->type], c->kern->vec_dot4[w->type], NULL, w, c->act_q, arow,
			     out, out_stride, bias, n_tok };

	thr_pool_run(c->pool, quant_worker, &qj);
	thr_pool_run(c->pool, mm_worker, &mj);
}
