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
 *	2. Attention work items are (token, KV head) pairs, split the same
 *	   way: the query heads sharing a KV head go together, so a kernel
 *	   reads each cache row once for all of them. Each item uses only its
 *	   thread's scratch (att, att16, q16, qf) and is one call of the
 *	   table's attn kernel (struct eng_attn) or, where the table has none,
 *	   attend_dots() per head; either is one fixed order of operations per
 *	   head, so the split never changes a logit.
 *	   SwiGLU and the F16 stores into the KV cache go through the table
 *	   too (vectorized; the F16 stores bitwise the reference).
 *	3. RoPE angles come from engine/rope.c (ggml's recipe), one table
 *	   per token and rope configuration, computed before the layer loop.
 *	4. Numerics mimic llama.cpp where it rounds: Q and the attention
 *	   probabilities go to F16 before meeting the F16 KV cache; RMS norm
 *	   sums squares in double; gemma3's GELU goes through F16 as ggml's
 *	   lookup table does.
 *	5. Nothing here allocates: all buffers come from struct eng_ctx.
 */
#include <math.h>
#include <string.h>

#include "engine/matmul.h"
#include "engine/model.h"
#include "engine/ref/quants.h"
#include "engine/rope.h"

/* ---------------------------------------------------------------- blocks */

/* rmsnorm - o = x / rms(x) * w over n values (w NULL: no weight) */
static void rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
	double ss = 0.0;

	for (int i = 0; i < n; i++)
		ss += (double)(x[i] * x[i]);
	float mean = (float)(ss / n);
	float scale = 1.0f / sqrtf(mean + eps);
	for (int i = 0; i < n; i++)
		o[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
}

/* gelu_f16 - GELU-tanh through binary16 in and out (note 4) */
static float gelu_f16(float x)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	float v = ggml_fp16_to_fp32(ggml_fp32_to_fp16(x));
	float g = 0.5f * v * (1.0f + tanhf(0.79788456080286535587989211986876f * v *
					   (1.0f + 0.044715f * v * v)));
	return ggml_fp16_to_fp32(ggml_fp32_to_fp16(g));
}

/* ------------------------------------------------------------- attention */

struct att_job {
	struct eng_ctx *c;
	const struct eng_layer *L;
	uint32_t layer, n_tok;
	const int32_t *pos, *seq;
};

/* attend_dots - row r of struct eng_attn by the table's vec_dot and axpy_f16 */
static void attend_dots(struct eng_ctx *c, const struct eng_attn *a, int r, ggml_half *q16,
			ggml_half *p16)
{
	ref_vec_dot_fn dot16 = c->kern->vec_dot[GGML_TYPE_F16];	/* F16 . F16 */
	float *att = a->att, *out = a->out + (size_t)r * a->D;

	c->kern->f32_to_f16(a->D, a->q + (size_t)r * a->D, q16);
	float max = -INFINITY;
	for (int32_t k = a->j0; k <= a->p; k++) {
		float sc = dot16(a->D, a->k + (size_t)k * a->kv_stride, q16) * a->scale;
		if (a->softcap > 0.0f)
			sc = a->softcap * tanhf(sc / a->softcap);
		att[k] = sc;
		max = fmaxf(max, sc);
	}
	double sum = 0.0;
	for (int32_t k = a->j0; k <= a->p; k++) {
		att[k] = expf(att[k] - max);
		sum += att[k];
	}
	float inv = (float)(1.0 / sum);
	for (int32_t k = a->j0; k <= a->p; k++)
		p16[k] = ggml_fp32_to_fp16(att[k] * inv);
	memset(out, 0, (size_t)a->D * sizeof *out);
	for (int32_t k = a->j0; k <= a->p; k++)
		c->kern->axpy_f16(a->D, ggml_fp16_to_fp32(p16[k]), a->v + (size_t)k * a->kv_stride, out);
}

/* attend - one (token, KV head): the G query heads that share it */
static void attend(struct eng_ctx *c, const struct att_job *j, uint32_t t, uint32_t kvh, int ith)
{
	const struct eng_model *m = c->m;
	const struct eng_hparams *hp = &m->hp;
	uint32_t D = hp->head_dim, G = hp->n_head / hp->n_head_kv;
	int32_t s = j->seq ? j->seq[t] : 0, p = j->pos[t];
	size_t base = ((size_t)j->layer * c->p.n_seq_max + (size_t)s) * c->p.n_ctx;
	size_t qoff = (size_t)t * m->q_dim + (size_t)kvh * G * D;
	struct eng_attn a = {
		.D = D, .nq = (int)G, .q = c->q + qoff,
		.k = c->k_cache + base * m->kv_dim + (size_t)kvh * D,
		.v = c->v_cache + base * m->kv_dim + (size_t)kvh * D,
		.kv_stride = m->kv_dim, .j0 = 0, .p = p,
		.scale = hp->attn_scale, .softcap = hp->attn_softcap,
		.att = c->att + (size_t)ith * G * c->p.n_ctx, .att_stride = c->p.n_ctx,
		.qf = c->qf + (size_t)ith * G * D, .out = c->xb + qoff,
	};

	if (j->L->swa && (int32_t)hp->n_swa <= p)
		a.j0 = p - (int32_t)hp->n_swa + 1;	/* sees p - n_swa + 1 .. p */
	if (c->kern->attn != NULL) {
		c->kern->attn(&a);
		return;
	}
	for (int r = 0; r < a.nq; r++)
		attend_dots(c, &a, r, c->q16 + (size_t)ith * D, c->att16 + (size_t)ith * c->p.n_ctx);
}

static void att_worker(void *arg, int ith, int nth)
{
	const struct att_job *j = arg;
	uint32_t H = j->c->m->hp.n_head_kv;
	int64_t lo, hi;

	thr_split((int64_t)j->n_tok * H, ith, nth, &lo, &hi);
	for (int64_t i = lo; i < hi; i++)
		attend(j->c, j, (uint32_t)(i / H), (uint32_t)(i % H), ith);
}

/* --------------------------------------------------------------- forward */

/* qkv - Q, K, V projections for all tokens (phi3: one fused matrix) */
static void qkv(struct eng_ctx *c, const struct eng_layer *L, uint32_t n)
{
	const struct eng_model *m = c->m;
	size_t E = m->hp.n_embd, Q = m->q_dim, KV = m->kv_dim;

	if (L->wqkv.data != NULL) {
		eng_matmul(c, &L->wqkv, c->xb, E, n, c->qkv, Q + 2 * KV, NULL);
		for (uint32_t t = 0; t < n; t++) {
			const float *r = c->qkv + t * (Q + 2 * KV);
			memcpy(c->q + t * Q, r, Q * sizeof(float));
			memcpy(c->k + t * KV, r + Q, KV * sizeof(float));
			memcpy(c->v + t * KV, r + Q + KV, KV * sizeof(float));
		}
		return;
	}
	eng_matmul(c, &L->wq, c->xb, E, n, c->q, Q, L->bq);
	eng_matmul(c, &L->wk, c->xb, E, n, c->k, KV, L->bk);
	eng_matmul(c, &L->wv, c->xb, E, n, c->v, KV, L->bv);
}

/* ffn - gate/up, activation, down: xb (normed) -> xb2 */
static void ffn(struct eng_ctx *c, const struct eng_layer *L, uint32_t n)
{
	const struct eng_model *m = c->m;
	size_t E = m->hp.n_embd, F = m->hp.n_ff;
	int gelu = m->hp.arch == ENG_ARCH_GEMMA3;

	if (L->w_gate.data == NULL) {
		/* phi3: fused up, outputs [0, F) gate and [F, 2F) up */
		eng_matmul(c, &L->w_up, c->xb, E, n, c->hb, 2 * F, NULL);
		for (uint32_t t = 0; t < n; t++)
			c->kern->swiglu((int64_t)F, c->hb + t * 2 * F, c->hb + t * 2 * F + F, c->hb2 + t * F);
	} else {
		eng_matmul(c, &L->w_gate, c->xb, E, n, c->hb, F, NULL);
		eng_matmul(c, &L->w_up, c->xb, E, n, c->hb2, F, NULL);
		if (gelu)
			for (size_t i = 0; i < n * F; i++)
				c->hb2[i] *= gelu_f16(c->hb[i]);
		else
			c->kern->swiglu((int64_t)(n * F), c->hb, c->hb2, c->hb2);
	}
	eng_matmul(c, &L->w_down, c->hb2, F, n, c->xb2, E, NULL);
}

/* eng_forward - see model.h; the whole model in one pass (note 5) */
void eng_forward(struct eng_ctx *c, uint32_t n, const int32_t *token, const int32_t *pos,
		 const int32_t *seq, const int8_t *want)
{
	const struct eng_model *m = c->m;
	const struct eng_hparams *hp = &m->hp;
	size_t E = hp->n_embd, Q = m->q_dim, KV = m->kv_dim, R = hp->n_rot;
	int gemma = hp->arch == ENG_ARCH_GEMMA3;

	/* token embeddings (gemma3 scales them by sqrt(n_embd)) */
	for (uint32_t t = 0; t < n; t++) {
		float *x = c->x + t * E;
		ref_dequant_row(m->tok_embd.type, m->tok_embd.data + (size_t)token[t] * m->tok_embd.row_bytes,
				x, (int64_t)E);
		if (gemma)
			for (size_t i = 0; i < E; i++)
				x[i] *= sqrtf((float)E);
	}
	/* RoPE tables per token: [0] global layers, [1] gemma3 local layers */
	for (uint32_t t = 0; t < n; t++) {
		rope_table(hp, m->rope_freqs, hp->rope_base, hp->rope_freq_scale, pos[t],
			   c->rope_cs + t * 2 * R);
		rope_table(hp, m->rope_freqs, hp->rope_base_swa, gemma ? 1.0f : hp->rope_freq_scale,
			   pos[t], c->rope_cs + t * 2 * R + R);
	}
	for (uint32_t l = 0; l < hp->n_layer; l++) {
		const struct eng_layer *L = &m->layers[l];
		int local = gemma && L->swa;

		/* attention: norm, QKV (+ per-head q/k norm), RoPE */
		for (uint32_t t = 0; t < n; t++)
			rmsnorm(c->xb + t * E, c->x + t * E, L->attn_norm, (int)E, hp->rms_eps);
		qkv(c, L, n);
		for (uint32_t t = 0; t < n; t++) {
			float *q = c->q + t * Q, *k = c->k + t * KV;
			if (L->q_norm != NULL) {
				for (uint32_t h = 0; h < hp->n_head; h++)
					rmsnorm(q + h * hp->head_dim, q + h * hp->head_dim, L->q_norm,
						(int)hp->head_dim, hp->rms_eps);
				for (uint32_t h = 0; h < hp->n_head_kv; h++)
					rmsnorm(k + h * hp->head_dim, k + h * hp->head_dim, L->k_norm,
						(int)hp->head_dim, hp->rms_eps);
			}
			const float *cs = c->rope_cs + t * 2 * R + (local ? R : 0);
			rope_apply(hp, q, (int)hp->n_head, cs);
			rope_apply(hp, k, (int)hp->n_head_kv, cs);
			if (gemma)
				for (size_t i = 0; i < Q; i++)
					q[i] *= 1.0f / sqrtf((float)hp->head_dim);
			/* write K and V into this sequence's cells at pos */
			size_t cell = (((size_t)l * c->p.n_seq_max + (size_t)(seq ? seq[t] : 0)) *
				       c->p.n_ctx + (size_t)pos[t]) * KV;
			c->kern->f32_to_f16((int64_t)KV, k, c->k_cache + cell);
			c->kern->f32_to_f16((int64_t)KV, c->v + t * KV, c->v_cache + cell);
		}
		struct att_job aj = { c, L, l, n, pos, seq };
		thr_pool_run(c->pool, att_worker, &aj);
		eng_matmul(c, &L->wo, c->xb, Q, n, c->xb2, E, NULL);
		/* residual (gemma3 norms the branch first) */
		for (uint32_t t = 0; t < n; t++) {
			if (L->post_attn_norm != NULL)
				rmsnorm(c->xb2 + t * E, c->xb2 + t * E, L->post_attn_norm, (int)E, hp->rms_eps);
			for (size_t i = 0; i < E; i++)
				c->x[t * E + i] += c->xb2[t * E + i];
		}
		/* feed-forward */
		for (uint32_t t = 0; t < n; t++)
			rmsnorm(c->xb + t * E, c->x + t * E, L->ffn_norm, (int)E, hp->rms_eps);
		ffn(c, L, n);
		for (uint32_t t = 0; t < n; t++) {
			if (L->post_ffw_norm != NULL)
				rmsnorm(c->xb2 + t * E, c->xb2 + t * E, L->post_ffw_norm, (int)E, hp->rms_eps);
			for (size_t i = 0; i < E; i++)
				c->x[t * E + i] += c->xb2[t * E + i];
		}
	}
	/* final norm and output projection, only for entries that want logits */
	uint32_t n_out = 0;
	for (uint32_t t = 0; t < n; t++)
		if (want[t])
			rmsnorm(c->out_x + (n_out++) * E, c->x + t * E, m->out_norm, (int)E, hp->rms_eps);
	if (n_out == 0)
		return;
	eng_matmul(c, &m->output, c->out_x, E, n_out, c->logits, hp->n_vocab, NULL);
	if (hp->final_softcap > 0.0f)
		for (size_t i = 0; i < (size_t)n_out * hp->n_vocab; i++)
			c->logits[i] = hp->final_softcap * tanhf(c->logits[i] / hp->final_softcap);
}
