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
 *	4. A group's matrices share one input: each distinct activation
 *	   layout (quantize function, type, row bytes) is written once, into
 *	   its own slot of c->act_q, and all products run in one pool
 *	   generation. Every part is split into 16-row units by thr_split on
 *	   its own, so thread ith holds the same rows of parts with equal
 *	   n_out (what the epi hook relies on) and each part is balanced.
 *	5. A generation costs a wake-up and a barrier (engine/threads.c), a
 *	   large share of one token's serial work: a single token is
 *	   quantized (and prepped) by the caller itself, which the split
 *	   would have given all of it anyway.
 *	6. A packed matrix (engine/wpack.c note 1) runs the table's packed
 *	   tile on its full 16-row tiles and the ordinary tile on a tail; with
 *	   no packed tile (the reference table) it goes row by row, each row
 *	   unpacked into the thread's c->wrow first: the same bytes, so the
 *	   same results as before the packing.
 */
#include "engine/matmul.h"

#include "engine/ref/quants.h"
#include "engine/wpack.h"

/* tokens per pass over a thread's tiles: 64 rows of the widest input
 * (n_ff 4864 int8) keep well inside a 1 MB L2 */
#define TOK_CHUNK 64

/* struct layout - one activation layout of a group (note 4) */
struct layout {
	void (*quantize)(const float *x, void *dst, int64_t n);	/* NULL: by vdt */
	enum ggml_type vdt;
	size_t stride;		/* bytes */
	uint8_t *dst;
};

/* struct part - one matrix: tiles (mm) or rows (dot, dot4) */
struct part {
	const struct eng_mat *w;
	const struct eng_mm *mm;	/* NULL: vec_dot per row */
	eng_tile_fn packed;		/* w packed: mm's tile for full tiles (note 6) */
	ref_vec_dot_fn dot;
	eng_vec_dot4_fn dot4;		/* NULL: none for this type */
	const struct layout *act;
	float *out;
	size_t out_stride;	/* floats */
	const float *bias;
};

struct group_job {
	const float *x;
	size_t x_stride;	/* floats */
	int64_t n_in;
	uint32_t n_tok;
	struct layout lay[ENG_MM_PARTS];
	int n_lay;
	struct part part[ENG_MM_PARTS];
	int n_parts;
	const struct eng_mm_hooks *hooks;
	uint8_t *wrow;		/* (nth, wrow_bytes) packed rows unpacked (note 6) */
	size_t wrow_bytes;
};

/* quant_tokens - prep tokens [t0, t1) in runs of ENG_PREP_ROWS, then write
 * each in every layout */
static void quant_tokens(const struct group_job *j, uint32_t t0, uint32_t t1)
{
	for (uint32_t r = t0; r < t1; r += ENG_PREP_ROWS) {
		uint32_t e = t1 - r < ENG_PREP_ROWS ? t1 : r + ENG_PREP_ROWS;
		if (j->hooks != NULL && j->hooks->prep != NULL)
			j->hooks->prep(j->hooks->arg, r, e);
		for (uint32_t t = r; t < e; t++)
			for (int i = 0; i < j->n_lay; i++) {
				const struct layout *l = &j->lay[i];
				const float *x = j->x + (size_t)t * j->x_stride;
				uint8_t *dst = l->dst + (size_t)t * l->stride;
				if (l->quantize != NULL)
					l->quantize(x, dst, j->n_in);
				else
					ref_quantize_act(l->vdt, x, dst, j->n_in);
			}
	}
}

static void quant_worker(void *arg, int ith, int nth)
{
	const struct group_job *j = arg;
	int64_t lo, hi;

	thr_split(j->n_tok, ith, nth, &lo, &hi);
	quant_tokens(j, (uint32_t)lo, (uint32_t)hi);
}

/* run_rows - output rows [r0, r1) of a part by vec_dot (notes 1, 2, 6),
 * buf a row's room */
static void run_rows(const struct part *p, uint32_t n_tok, int64_t r0, int64_t r1, uint8_t *buf)
{
	const uint8_t *act = p->act->dst;
	size_t as = p->act->stride;

	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *row = eng_mat_row(p->w, r, buf);
		float b = p->bias ? p->bias[r] : 0.0f, o4[4];
		uint32_t t = 0;
		for (; p->dot4 != NULL && t + 4 <= n_tok; t += 4) {
			p->dot4(p->w->n_in, row, act + (size_t)t * as, as, o4);
			for (uint32_t k = 0; k < 4; k++)
				p->out[(size_t)(t + k) * p->out_stride + r] = o4[k] + b;
		}
		for (; t < n_tok; t++)
			p->out[(size_t)t * p->out_stride + r] = p->dot(p->w->n_in, row, act + (size_t)t * as) + b;
	}
}

/* run_tiles - output rows [r0, r1) (whole tiles) of a part, token chunk by chunk (note 3) */
static void run_tiles(const struct part *p, uint32_t n_tok, int64_t r0, int64_t r1)
{
	const struct eng_mat *w = p->w;
	size_t as = p->act->stride;

	for (uint32_t t0 = 0; t0 < n_tok; t0 += TOK_CHUNK) {
		uint32_t nt = n_tok - t0 < TOK_CHUNK ? n_tok - t0 : TOK_CHUNK;
		for (int64_t r = r0; r < r1; r += 16) {
			int nr = r1 - r < 16 ? (int)(r1 - r) : 16;
			eng_tile_fn tile = w->packed && nr == 16 ? p->packed : p->mm->tile;
			tile(w->n_in, w->data + (size_t)r * w->row_bytes, w->row_bytes, nr,
			     p->act->dst + (size_t)t0 * as, as, nt, p->out + (size_t)t0 * p->out_stride + r,
			     p->out_stride, p->bias ? p->bias + r : NULL);
		}
	}
}

/* group_worker - this thread's 16-row units of every part, then epi (note 4) */
static void group_worker(void *arg, int ith, int nth)
{
	const struct group_job *j = arg;
	int64_t r0 = 0, r1 = 0;

	for (int i = 0; i < j->n_parts; i++) {
		const struct part *p = &j->part[i];
		int64_t lo, hi;
		thr_split((p->w->n_out + 15) / 16, ith, nth, &lo, &hi);
		r0 = lo * 16;
		r1 = hi * 16 < p->w->n_out ? hi * 16 : p->w->n_out;
		if (p->mm != NULL)
			run_tiles(p, j->n_tok, r0, r1);
		else
			run_rows(p, j->n_tok, r0, r1, p->w->packed ? j->wrow + (size_t)ith * j->wrow_bytes : NULL);
	}
	if (j->hooks != NULL && j->hooks->epi != NULL && r0 < r1)
		j->hooks->epi(j->hooks->arg, j->n_tok, r0, r1);
}

/* layout_for - the slot of w's activation layout, added if new (note 4) */
static const struct layout *layout_for(struct eng_ctx *c, struct group_job *j, const struct eng_mm *mm,
				       enum ggml_type vdt, int64_t n_in)
{
	struct layout l = { NULL, vdt, 0, NULL };

	if (mm != NULL) {
		l.quantize = mm->quantize;
		l.stride = mm->act_bytes(n_in);
	} else {
		l.stride = vdt == GGML_TYPE_F32 ? (size_t)n_in * sizeof(float)
						: ggml_row_size(vdt, (uint64_t)n_in);
	}
	for (int i = 0; i < j->n_lay; i++)
		if (j->lay[i].quantize == l.quantize && j->lay[i].vdt == vdt && j->lay[i].stride == l.stride)
			return &j->lay[i];
	l.dst = (uint8_t *)c->act_q + (size_t)j->n_lay * c->p.n_batch * c->act_row_bytes;
	j->lay[j->n_lay] = l;
	return &j->lay[j->n_lay++];
}

/* eng_matmul_group - see matmul.h (notes 4, 5) */
void eng_matmul_group(struct eng_ctx *c, const struct eng_mm_part *parts, int n_parts,
		      const float *x, size_t x_stride, uint32_t n_tok,
		      const struct eng_mm_hooks *hooks)
{
	struct group_job j = { .x = x, .x_stride = x_stride, .n_in = parts[0].w->n_in,
			       .n_tok = n_tok, .n_parts = n_parts, .hooks = hooks, .wrow = c->wrow,
			       .wrow_bytes = c->act_row_bytes };

	for (int i = 0; i < n_parts; i++) {
		const struct eng_mat *w = parts[i].w;
		eng_tile_fn packed = c->kern->mm_packed[w->type];
		const struct eng_mm *mm = c->kern->mm[w->type].tile != NULL && (!w->packed || packed != NULL)
						  ? &c->kern->mm[w->type] : NULL;
		enum ggml_type vdt = ggml_type_traits(w->type)->vec_dot_type;
		j.part[i] = (struct part){ w, mm, packed, c->kern->vec_dot[w->type], c->kern->vec_dot4[w->type],
					   layout_for(c, &j, mm, vdt, w->n_in), parts[i].out,
					   parts[i].out_stride, parts[i].bias };
	}
	if (n_tok == 1)
		quant_tokens(&j, 0, 1);
	else
		thr_pool_run(c->pool, quant_worker, &j);
	thr_pool_run(c->pool, group_worker, &j);
}

/* eng_matmul - see matmul.h: a group of one */
void eng_matmul(struct eng_ctx *c, const struct eng_mat *w, const float *x, size_t x_stride,
		uint32_t n_tok, float *out, size_t out_stride, const float *bias)
{
	struct eng_mm_part p = { w, out, out_stride, bias };

	eng_matmul_group(c, &p, 1, x, x_stride, n_tok, NULL);
}
