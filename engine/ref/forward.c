/*
 * NAME
 *	forward - the reference transformer forward pass (llama2.c's forward())
 * SUMMARY
 *	eng_forward() evaluates a checked batch: embeddings, then one loop
 *	over layers (norm, QKV, RoPE, KV-cache write, attention, output
 *	projection, residual; norm, FFN, residual), then final norm and
 *	output projection for the entries that asked for logits. The five
 *	architectures differ only in the marked steps.
 * DESIGN NOTES
 *	1. eng_matmul() (engine/matmul.c) is the hot spot; its result does
 *	   not depend on the thread count or on how the batch is split.
 *	2. Attention work items are (call, KV head) pairs. A run is up to
 *	   ENG_ATTN_TOKENS consecutive batch entries of one sequence at
 *	   consecutive positions (a prefill chunk), so a kernel call reads
 *	   the sequence's cache rows once for all its tokens and for the
 *	   query heads sharing the KV head. A call is consecutive runs
 *	   holding at most ENG_ATTN_TOKENS tokens together: a generation
 *	   step's one-token runs (one per sequence in flight) go in one call,
 *	   and the kernel reads the cells they share (the shared head, a
 *	   document's prefix: ctx.c note 4) once for all of them
 *	   (attn_avx512.c note 12). Where a layer has fewer KV heads than
 *	   threads, calls hold fewer tokens so that every thread gets work.
 *	   Items go to threads by their estimated cost (tokens times
 *	   positions seen), contiguously, so a prompt's late tokens do not
 *	   all land on one thread. Each item uses only its thread's scratch
 *	   (att, att16, q16, qf) and is one call of the table's attn kernel
 *	   (struct eng_attn) or, where the table has none, attend_dots() per
 *	   row; either is one fixed order of operations per (token, head)
 *	   whatever the runs and calls around it, so neither the packing nor
 *	   the split ever change a logit.
 *	   SwiGLU and the F16 stores into the KV cache go through the table
 *	   too (vectorized; the F16 stores bitwise the reference).
 *	3. RoPE angles come from engine/rope.c (ggml's recipe), one table
 *	   per token and rope configuration, computed before the layer loop.
 *	4. Numerics mimic llama.cpp where it rounds: Q and the attention
 *	   probabilities go to F16 before meeting the F16 KV cache; RMS norm
 *	   sums squares in double; gemma3's GELU goes through F16 as ggml's
 *	   lookup table does.
 *	5. Nothing here allocates: all buffers come from struct eng_ctx.
 *	6. Everything between the matrix products is per token (norms,
 *	   residual adds, RoPE, KV stores) or per element (the gates), so it
 *	   runs on the pool split by tokens or by output rows, and it rides in
 *	   the matmul runs where it can (matmul.h hooks): a layer's residual
 *	   add and the next norm are the prep of the matmul that reads them,
 *	   the gate is the epilogue of gate/up. A single token's steps run on
 *	   the caller: a pool run would cost more than the work. Each
 *	   token's and element's operations are the same whoever runs them,
 *	   so none of this changes a logit.
 */
#include <math.h>
#include <string.h>

#include "engine/matmul.h"
#include "engine/model.h"
#include "engine/ref/quants.h"
#include "engine/rope.h"
#include "engine/wpack.h"

/* ---------------------------------------------------------------- blocks */

/* add - x += y over n values */
static void add(float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] += y[i];
}

/* ------------------------------------------------------------- attention */

struct att_job {
	struct eng_ctx *c;
	const struct eng_layer *L;
	uint32_t layer, n_tok;
	const int32_t *pos, *seq;
};

/* attend_dots - row (t, h) of struct eng_attn by the table's vec_dot and axpy_f16 */
static void attend_dots(struct eng_ctx *c, const struct eng_attn *a, int t, int h, ggml_half *q16,
			ggml_half *p16)
{
	ref_vec_dot_fn dot16 = c->kern->vec_dot[GGML_TYPE_F16];	/* F16 . F16 */
	size_t off = (size_t)t * a->tok_stride + (size_t)h * (size_t)a->D;
	float *att = a->att, *out = a->out + off;
	int32_t lo = eng_attn_lo(a, t), hi = a->p + t;

	c->kern->f32_to_f16(a->D, a->q + off, q16);
	const ggml_half *kb, *vb;
	float max = -INFINITY;
	for (int32_t k = lo; k <= hi; k++) {
		eng_attn_part(a, k, &kb, &vb);
		float sc = dot16(a->D, kb + (size_t)k * a->kv_stride, q16) * a->scale;
		if (a->softcap > 0.0f)
			sc = a->softcap * tanhf(sc / a->softcap);
		att[k] = sc;
		max = fmaxf(max, sc);
	}
	double sum = 0.0;
	for (int32_t k = lo; k <= hi; k++) {
		att[k] = expf(att[k] - max);
		sum += att[k];
	}
	float inv = (float)(1.0 / sum);
	for (int32_t k = lo; k <= hi; k++)
		p16[k] = ggml_fp32_to_fp16(att[k] * inv);
	memset(out, 0, (size_t)a->D * sizeof *out);
	for (int32_t k = lo; k <= hi; k++) {
		eng_attn_part(a, k, &kb, &vb);
		c->kern->axpy_f16(a->D, ggml_fp16_to_fp32(p16[k]), vb + (size_t)k * a->kv_stride, out);
	}
}

static int32_t seq_of(const struct att_job *j, uint32_t t)
{
	return j->seq ? j->seq[t] : 0;
}

/* run_end - one past the run from token t (note 2) */
static uint32_t run_end(const struct att_job *j, uint32_t t)
{
	uint32_t e = t + 1;

	while (e < j->n_tok && e - t < ENG_ATTN_TOKENS && seq_of(j, e) == seq_of(j, t) &&
	       j->pos[e] == j->pos[e - 1] + 1)
		e++;
	return e;
}

/* window - positions a token of this layer sees at most; 0: all (a window
 * past n_ctx never binds, and clamping it keeps position sums in range) */
static int32_t window(const struct eng_ctx *c, const struct att_job *j)
{
	uint32_t w = c->m->hp.n_swa;

	return j->L->swa && w <= c->p.n_ctx ? (int32_t)w : 0;
}

/* run_cost - tokens t..e-1 times the positions token t sees: the split's weight */
static int64_t run_cost(const struct eng_ctx *c, const struct att_job *j, uint32_t t, uint32_t e)
{
	int32_t w = window(c, j), lo = w > 0 && j->pos[t] >= w ? j->pos[t] - w + 1 : 0;

	return (int64_t)(e - t) * (j->pos[e - 1] - lo + 1);
}

/* call_end - one past the call from token t: whole runs while they hold
 * at most cap tokens together (note 2) */
static uint32_t call_end(const struct att_job *j, uint32_t t, uint32_t cap)
{
	uint32_t e = run_end(j, t), f;

	while (e < j->n_tok && (f = run_end(j, e)) - t <= cap)
		e = f;
	return e;
}

/* call_cap - the most tokens a call packs: ENG_ATTN_TOKENS, or where the
 * layer has fewer KV heads than threads, about the batch's tokens times
 * KV heads over threads, so that every thread gets items (note 2) */
static uint32_t call_cap(const struct eng_ctx *c, const struct att_job *j, int nth)
{
	uint64_t H = c->m->hp.n_head_kv, share = ((uint64_t)j->n_tok * H + (uint64_t)nth - 1) / (uint64_t)nth;

	if (H >= (uint64_t)nth || share >= ENG_ATTN_TOKENS)
		return ENG_ATTN_TOKENS;
	return share > 0 ? (uint32_t)share : 1;
}

/* call_cost - the runs' costs from token t to e: the split's weight */
static int64_t call_cost(const struct eng_ctx *c, const struct att_job *j, uint32_t t, uint32_t e)
{
	int64_t w = 0;

	for (uint32_t f; t < e; t = f) {
		f = run_end(j, t);
		w += run_cost(c, j, t, f);
	}
	return w;
}

/* run_attn - struct eng_attn of the run t..t+nt-1 for KV head kvh, its
 * shared ranges in seg, its scratch at token u of the call on thread ith */
static struct eng_attn run_attn(struct eng_ctx *c, const struct att_job *j, uint32_t t, uint32_t nt,
				uint32_t kvh, uint32_t u, int ith, struct eng_attn_seg *seg)
{
	const struct eng_model *m = c->m;
	const struct eng_hparams *hp = &m->hp;
	uint32_t D = hp->head_dim, G = hp->n_head / hp->n_head_kv;
	int32_t s = seq_of(j, t);
	size_t base = eng_kv_cell(c, j->layer, s, kvh);
	size_t qoff = (size_t)t * m->q_dim + (size_t)kvh * G * D;
	size_t row0 = ((size_t)ith * ENG_ATTN_TOKENS + u) * G;	/* the call's scratch rows */
	int n_seg = c->kv_nparts[s];

	/* positions shared from other sequences: their owners' cells (ctx.c note 4) */
	for (int i = 0; i < n_seg; i++) {
		const struct eng_kv_part *pt = &c->kv_part[(size_t)s * ENG_KV_PARTS + i];
		size_t ob = eng_kv_cell(c, j->layer, pt->owner, kvh);
		seg[i] = (struct eng_attn_seg){ (int32_t)pt->end, c->k_cache + ob, c->v_cache + ob };
	}
	return (struct eng_attn){
		.D = D, .nq = (int)G, .nt = (int)nt, .q = c->q + qoff, .tok_stride = m->q_dim,
		.k = c->k_cache + base, .v = c->v_cache + base, .kv_stride = D, .seg = seg, .n_seg = n_seg,
		.j0 = 0, .p = j->pos[t], .window = window(c, j),
		.scale = hp->attn_scale, .softcap = hp->attn_softcap,
		.att = c->att + row0 * c->p.n_ctx, .att_stride = c->p.n_ctx,
		.qf = c->qf + row0 * D, .out = c->xb + qoff,
	};
}

/* attend - one (call t..e-1, KV head): its runs' query heads that share
 * the KV head, in one kernel call so that runs reading the same cells
 * read them once (note 2) */
static void attend(struct eng_ctx *c, const struct att_job *j, uint32_t t, uint32_t e,
		   uint32_t kvh, int ith)
{
	struct eng_attn a[ENG_ATTN_TOKENS];
	struct eng_attn_seg seg[ENG_ATTN_TOKENS][ENG_KV_PARTS];
	int n = 0;

	for (uint32_t u = t, f; u < e; u = f, n++) {
		f = run_end(j, u);
		a[n] = run_attn(c, j, u, f - u, kvh, u - t, ith, seg[n]);
	}
	if (c->kern->attn != NULL) {
		c->kern->attn(a, n);
		return;
	}
	uint32_t D = c->m->hp.head_dim;
	for (int i = 0; i < n; i++)
		for (int r = 0; r < a[i].nt * a[i].nq; r++)
			attend_dots(c, &a[i], r / a[i].nq, r % a[i].nq, c->q16 + (size_t)ith * D,
				    c->att16 + (size_t)ith * c->p.n_ctx);
}

/* att_worker - the items whose cost midpoint falls in this thread's share
 * of the total (note 2): calls in batch order, KV heads within a call */
static void att_worker(void *arg, int ith, int nth)
{
	const struct att_job *j = arg;
	struct eng_ctx *c = j->c;
	uint32_t H = c->m->hp.n_head_kv, cap = call_cap(c, j, nth);
	int64_t total = 0, done = 0;

	for (uint32_t t = 0, e; t < j->n_tok; t = e) {
		e = call_end(j, t, cap);
		total += call_cost(c, j, t, e) * H;
	}
	for (uint32_t t = 0, e; t < j->n_tok; t = e) {
		e = call_end(j, t, cap);
		int64_t w = call_cost(c, j, t, e);
		for (uint32_t h = 0; h < H; h++, done += w)
			if ((2 * done + w) * nth / (2 * total) == ith)
				attend(c, j, t, e, h, ith);
	}
}

/* --------------------------------------------------------------- forward */

/* struct fwd - one eng_forward() call, shared with its pool jobs (note 6) */
struct fwd {
	struct eng_ctx *c;
	uint32_t n, l;
	const int32_t *token, *pos, *seq;
	const int8_t *want;
	const struct eng_layer *L;	/* layer l */
	const struct eng_layer *prev;	/* layer whose FFN branch xb2 still holds, or NULL */
	int gemma;
};

typedef void (*tok_fn)(const struct fwd *f, uint32_t t);

struct tok_job {
	const struct fwd *f;
	tok_fn fn;
};

static void tok_worker(void *arg, int ith, int nth)
{
	const struct tok_job *j = arg;
	int64_t lo, hi;

	thr_split(j->f->n, ith, nth, &lo, &hi);
	for (int64_t t = lo; t < hi; t++)
		j->fn(j->f, (uint32_t)t);
}

/* per_token - fn for every token, on the pool unless there is one (note 6) */
static void per_token(const struct fwd *f, tok_fn fn)
{
	struct tok_job j = { f, fn };

	if (f->n == 1)
		fn(f, 0);
	else
		thr_pool_run(f->c->pool, tok_worker, &j);
}

/* embed - token t's embedding (gemma3 scales it by sqrt(n_embd)) and its
 * RoPE tables: [0] global layers, [1] gemma3 local layers (note 3) */
static void embed(const struct fwd *f, uint32_t t)
{
	const struct eng_model *m = f->c->m;
	const struct eng_hparams *hp = &m->hp;
	size_t E = hp->n_embd, R = hp->n_rot;
	float *x = f->c->x + t * E, *cs = f->c->rope_cs + t * 2 * R;

	eng_mat_dequant_row(&m->tok_embd, f->token[t], x);	/* either layout (engine/wpack.c) */
	if (f->gemma) {
		float s = sqrtf((float)E);
		for (size_t i = 0; i < E; i++)
			x[i] *= s;
	}
	rope_table(hp, m->rope_freqs, hp->rope_base, hp->rope_freq_scale, f->pos[t], cs);
	rope_table(hp, m->rope_freqs, hp->rope_base_swa, f->gemma ? 1.0f : hp->rope_freq_scale,
		   f->pos[t], cs + R);
}

/* norm_rows - rows t0 .. t1 - 1 of dst = rows of src / rms * w (n_embd wide) */
static void norm_rows(const struct fwd *f, float *dst, const float *src, const float *w, uint32_t t0,
		      uint32_t t1)
{
	size_t E = f->c->m->hp.n_embd;

	f->c->kern->rmsnorm((int64_t)E, (int)(t1 - t0), src + t0 * E, E, w, dst + t0 * E, E,
			    f->c->m->hp.rms_eps);
}

/* branch_add - x += the branch in xb2 for tokens t0 .. t1 - 1 (gemma3 norms it first with post) */
static void branch_add(const struct fwd *f, uint32_t t0, uint32_t t1, const float *post)
{
	size_t E = f->c->m->hp.n_embd;

	if (post != NULL)
		norm_rows(f, f->c->xb2, f->c->xb2, post, t0, t1);
	add(f->c->x + t0 * E, f->c->xb2 + t0 * E, (t1 - t0) * E);
}

/* attn_in - QKV prep: the previous layer's FFN residual, then the attention norm */
static void attn_in(void *arg, uint32_t t0, uint32_t t1)
{
	const struct fwd *f = arg;

	if (f->prev != NULL)
		branch_add(f, t0, t1, f->prev->post_ffw_norm);
	norm_rows(f, f->c->xb, f->c->x, f->L->attn_norm, t0, t1);
}

/* ffn_in - gate/up prep: the attention residual, then the FFN norm */
static void ffn_in(void *arg, uint32_t t0, uint32_t t1)
{
	const struct fwd *f = arg;

	branch_add(f, t0, t1, f->L->post_attn_norm);
	norm_rows(f, f->c->xb, f->c->x, f->L->ffn_norm, t0, t1);
}

/* gate - hb2 = act(hb) * hb2 over rows [r0, r1) of every token (gate/up epilogue) */
static void gate(void *arg, uint32_t n_tok, int64_t r0, int64_t r1)
{
	const struct fwd *f = arg;
	const struct eng_ctx *c = f->c;
	size_t F = c->m->hp.n_ff;

	for (uint32_t t = 0; t < n_tok; t++) {
		const float *g = c->hb + t * F + r0;
		float *u = c->hb2 + t * F + r0;
		if (f->gemma)
			c->kern->geglu(r1 - r0, g, u, u);
		else
			c->kern->swiglu(r1 - r0, g, u, u);
	}
}

/* qkv - Q, K, V projections for all tokens (phi3: one fused matrix) */
static void qkv(struct fwd *f)
{
	struct eng_ctx *c = f->c;
	const struct eng_layer *L = f->L;
	size_t E = c->m->hp.n_embd, Q = c->m->q_dim, KV = c->m->kv_dim;
	struct eng_mm_hooks h = { attn_in, NULL, f };

	if (L->wqkv.data != NULL) {
		struct eng_mm_part p = { &L->wqkv, c->qkv, Q + 2 * KV, NULL };
		eng_matmul_group(c, &p, 1, c->xb, E, f->n, &h);
		return;
	}
	struct eng_mm_part p[3] = {
		{ &L->wq, c->q, Q, L->bq }, { &L->wk, c->k, KV, L->bk }, { &L->wv, c->v, KV, L->bv },
	};
	eng_matmul_group(c, p, 3, c->xb, E, f->n, &h);
}

/* qk_token - token t after the projections: phi3's split, per-head q/k
 * norms, RoPE, gemma3's query scale, then K and V into the cache */
static void qk_token(const struct fwd *f, uint32_t t)
{
	struct eng_ctx *c = f->c;
	const struct eng_layer *L = f->L;
	const struct eng_hparams *hp = &c->m->hp;
	size_t Q = c->m->q_dim, KV = c->m->kv_dim, R = hp->n_rot, D = hp->head_dim;
	float *q = c->q + t * Q, *k = c->k + t * KV, *v = c->v + t * KV;

	if (L->wqkv.data != NULL) {
		const float *r = c->qkv + t * (Q + 2 * KV);
		memcpy(q, r, Q * sizeof(float));
		memcpy(k, r + Q, KV * sizeof(float));
		memcpy(v, r + Q + KV, KV * sizeof(float));
	}
	if (L->q_norm != NULL) {
		c->kern->rmsnorm((int64_t)D, (int)hp->n_head, q, D, L->q_norm, q, D, hp->rms_eps);
		c->kern->rmsnorm((int64_t)D, (int)hp->n_head_kv, k, D, L->k_norm, k, D, hp->rms_eps);
	}
	const float *cs = c->rope_cs + t * 2 * R + (f->gemma && L->swa ? R : 0);
	rope_apply(hp, q, (int)hp->n_head, cs);
	rope_apply(hp, k, (int)hp->n_head_kv, cs);
	if (f->gemma) {
		float s = 1.0f / sqrtf((float)D);
		for (size_t i = 0; i < Q; i++)
			q[i] *= s;
	}
	/* write K and V into this sequence's cells at pos, head by head (ctx.c note 2) */
	for (uint32_t h = 0; h < hp->n_head_kv; h++) {
		size_t cell = eng_kv_cell(c, f->l, f->seq ? f->seq[t] : 0, h) + (size_t)f->pos[t] * D;
		c->kern->f32_to_f16((int64_t)D, k + h * D, c->k_cache + cell);
		c->kern->f32_to_f16((int64_t)D, v + h * D, c->v_cache + cell);
	}
}

/* phi3_gate - token t of phi3's fused up: [0, F) gate, [F, 2F) up */
static void phi3_gate(const struct fwd *f, uint32_t t)
{
	size_t F = f->c->m->hp.n_ff;
	float *h = f->c->hb + t * 2 * F;

	f->c->kern->swiglu((int64_t)F, h, h + F, f->c->hb2 + t * F);
}

/* ffn - attention residual and norm (prep), gate/up, gate, down -> xb2 */
static void ffn(struct fwd *f)
{
	struct eng_ctx *c = f->c;
	const struct eng_layer *L = f->L;
	size_t E = c->m->hp.n_embd, F = c->m->hp.n_ff;
	struct eng_mm_hooks h = { ffn_in, gate, f };

	if (L->w_gate.data == NULL) {
		struct eng_mm_part p = { &L->w_up, c->hb, 2 * F, NULL };
		h.epi = NULL;
		eng_matmul_group(c, &p, 1, c->xb, E, f->n, &h);
		per_token(f, phi3_gate);
	} else {
		struct eng_mm_part p[2] = { { &L->w_gate, c->hb, F, NULL }, { &L->w_up, c->hb2, F, NULL } };
		eng_matmul_group(c, p, 2, c->xb, E, f->n, &h);
	}
	eng_matmul(c, &L->w_down, c->hb2, F, f->n, c->xb2, E, NULL);
}

/* out_in - output prep for logits rows i0 .. i1 - 1: each one's token's
 * last residual and the final norm */
static void out_in(void *arg, uint32_t i0, uint32_t i1)
{
	const struct fwd *f = arg;
	size_t E = f->c->m->hp.n_embd;
	uint32_t t = 0, seen = 0;

	for (uint32_t i = i0; i < i1; i++, t++) {
		for (;; t++)	/* the i-th token that wants logits */
			if (f->want[t] && seen++ == i)
				break;
		branch_add(f, t, t + 1, f->prev->post_ffw_norm);
		f->c->kern->rmsnorm((int64_t)E, 1, f->c->x + t * E, E, f->c->m->out_norm, f->c->out_x + i * E,
				    E, f->c->m->hp.rms_eps);
	}
}

/* eng_forward - see model.h; the whole model in one pass (notes 5, 6) */
void eng_forward(struct eng_ctx *c, uint32_t n, const int32_t *token, const int32_t *pos,
		 const int32_t *seq, const int8_t *want)
{
	const struct eng_model *m = c->m;
	const struct eng_hparams *hp = &m->hp;
	size_t E = hp->n_embd, Q = m->q_dim;
	struct fwd f = { c, n, 0, token, pos, seq, want, NULL, NULL, hp->arch == ENG_ARCH_GEMMA3 };

	per_token(&f, embed);
	for (uint32_t l = 0; l < hp->n_layer; l++) {
		f.l = l;
		f.L = &m->layers[l];
		qkv(&f);
		per_token(&f, qk_token);
		struct att_job aj = { c, f.L, l, n, pos, seq };
		thr_pool_run(c->pool, att_worker, &aj);
		eng_matmul(c, &f.L->wo, c->xb, Q, n, c->xb2, E, NULL);
		ffn(&f);
		f.prev = f.L;
	}
	/* final norm and output projection, only for entries that want logits */
	uint32_t n_out = 0;
	for (uint32_t t = 0; t < n; t++)
		n_out += want[t] != 0;
	if (n_out == 0)
		return;
	struct eng_mm_hooks h = { out_in, NULL, &f };
	struct eng_mm_part p = { &m->output, c->logits, hp->n_vocab, NULL };
	eng_matmul_group(c, &p, 1, c->out_x, E, n_out, &h);
	if (hp->final_softcap > 0.0f)
		for (size_t i = 0; i < (size_t)n_out * hp->n_vocab; i++)
			c->logits[i] = hp->final_softcap * tanhf(c->logits[i] / hp->final_softcap);
}
