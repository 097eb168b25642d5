/*
 * NAME
 *	model - internal structures shared by model loading, contexts and
 *	the forward pass (not part of the public API: see engine.h)
 * SUMMARY
 *	Split by lifetime, as llama2.c does: struct eng_model is read-only
 *	after load (hyperparameters plus weight views into the mapping);
 *	struct eng_ctx holds the KV cache and the scratch state, allocated
 *	once in eng_ctx_new(); forward() touches nothing else.
 * OWNERSHIP
 *	eng_model owns the gguf (mapping) and the layer table; eng_ctx owns
 *	its buffers and thread pool and borrows the model.
 */
#ifndef ENGINE_MODEL_H
#define ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/ggml_types.h"
#include "engine/kernels/kernels.h"
#include "engine/threads.h"

/* a weight matrix: n_out rows of n_in elements, row-major, ggml blocks */
struct eng_mat {
	const uint8_t *data;	/* in the mapping */
	enum ggml_type type;
	int64_t n_in, n_out;
	size_t row_bytes;
	int packed;		/* full 16-row tiles in the tile layout (engine/wpack.c) */
};

struct eng_layer {
	const float *attn_norm;		/* (n_embd) */
	struct eng_mat wq, wk, wv;	/* (n_embd -> q_dim / kv_dim); phi3: unused */
	struct eng_mat wqkv;		/* phi3 fused (n_embd -> q_dim + 2 kv_dim) */
	const float *bq, *bk, *bv;	/* qwen2 biases, else NULL */
	const float *q_norm, *k_norm;	/* (head_dim) qwen3, gemma3 */
	struct eng_mat wo;		/* (q_dim -> n_embd) */
	const float *post_attn_norm;	/* gemma3 (n_embd) */
	const float *ffn_norm;		/* (n_embd) */
	struct eng_mat w_gate, w_up;	/* (n_embd -> n_ff); phi3: w_up fused 2 n_ff */
	struct eng_mat w_down;		/* (n_ff -> n_embd) */
	const float *post_ffw_norm;	/* gemma3 (n_embd) */
	int swa;			/* sliding-window layer */
	float rope_base, rope_freq_scale;
};

struct eng_model {
	struct gguf *g;
	struct eng_hparams hp;
	struct eng_mat tok_embd;	/* (n_embd) x n_vocab rows */
	const float *out_norm;		/* (n_embd) */
	struct eng_mat output;		/* (n_embd -> n_vocab), tok_embd when tied */
	const float *rope_freqs;	/* (n_rot/2) frequency divisors or NULL */
	struct eng_layer *layers;	/* (n_layer) */
	uint32_t q_dim, kv_dim;		/* n_head * head_dim, n_head_kv * head_dim */
};

/* ENG_KV_PARTS - most ranges a sequence reads from other sequences'
 * cells (ctx.c note 4): a chain head -> base -> stage -> label needs 3 */
#define ENG_KV_PARTS 6

/* struct eng_kv_part - a sequence's positions from the previous part's end
 * (0 for the first) up to end are owner's own cells there (ctx.c note 4) */
struct eng_kv_part {
	uint32_t end;
	int32_t owner;
};

struct eng_ctx {
	struct eng_model *m;
	struct eng_ctx_params p;
	struct thr_pool *pool;
	const struct eng_kernels *kern;	/* dot products, chosen at creation */
	/* KV cache: (n_layer, n_seq_max, n_head_kv, n_ctx, head_dim) F16 (ctx.c note 2) */
	ggml_half *k_cache, *v_cache;
	uint32_t *seq_len;	/* (n_seq_max) */
	uint32_t *seq_next;	/* (n_seq_max) lengths after the batch being checked */
	struct eng_kv_part *kv_part;	/* (n_seq_max, ENG_KV_PARTS) shared ranges, ascending */
	uint8_t *kv_nparts;	/* (n_seq_max) parts in use; own cells from the last one's end */
	int8_t *want;		/* (n_batch) entry wants logits */
	/* run state for one ubatch of up to n_batch tokens */
	float *x;	/* (n_batch, n_embd) residual stream */
	float *xb;	/* (n_batch, max(n_embd, q_dim)) normed input / attention out */
	float *xb2;	/* (n_batch, n_embd) branch output */
	float *q;	/* (n_batch, q_dim) */
	float *k, *v;	/* (n_batch, kv_dim) */
	float *qkv;	/* (n_batch, q_dim + 2 kv_dim) phi3 fused output */
	float *hb, *hb2; /* (n_batch, 2 n_ff) */
	void *act_q;	/* (ENG_MM_PARTS, n_batch, act_row_bytes): widest input, any act type */
	size_t act_row_bytes;
	uint8_t *wrow;	/* (n_threads, act_row_bytes) a packed weight row as in the file (matmul.c) */
	float *rope_cs;	/* (n_batch, 2 configs, n_rot/2, cos+sin) */
	float *att;	/* (n_threads, ENG_ATTN_TOKENS * n_head / n_head_kv, n_ctx) scores */
	ggml_half *att16;	/* (n_threads, n_ctx) probabilities in F16 */
	ggml_half *q16;		/* (n_threads, head_dim) */
	float *qf;	/* (n_threads, ENG_ATTN_TOKENS * n_head / n_head_kv, head_dim) Q through F16 */
	/* logits: (n_batch, n_vocab); out_idx[i] = row of batch entry i or -1 */
	float *logits;
	int32_t *out_idx;	/* (n_batch) */
	uint32_t n_out_batch;	/* entries in the last batch */
	float *out_x;		/* (n_batch, n_embd) rows that want logits */
};

/* eng_kv_cell - offset in k_cache and v_cache of position 0 of KV head h
 * of sequence s in layer l; the head's positions follow, head_dim halves
 * apart (ctx.c note 2) */
static inline size_t eng_kv_cell(const struct eng_ctx *c, uint32_t l, int32_t s, uint32_t h)
{
	size_t heads = c->m->hp.n_head_kv;

	return (((size_t)l * c->p.n_seq_max + (size_t)s) * heads + h) * c->p.n_ctx * c->m->hp.head_dim;
}

/* eng_forward - evaluate n <= n_batch checked tokens; logits of the entries
 * with want[i] go to consecutive rows of c->logits (engine/ref/forward.c) */
void eng_forward(struct eng_ctx *c, uint32_t n, const int32_t *token, const int32_t *pos,
		 const int32_t *seq, const int8_t *want);

#endif
