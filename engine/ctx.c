/*
 * NAME
 *	ctx - evaluation contexts: allocation, batch checks, KV cache ops
 * DESIGN NOTES
 *	1. All memory is allocated in eng_ctx_new(); eng_decode() only checks
 *	   the batch (at most n_batch entries) and calls eng_forward().
 *	2. The KV cache gives each sequence its own n_ctx cells per layer and
 *	   KV head, indexed by position: a sequence's state is exactly its
 *	   length seq_len[s]. Truncating is lowering the length; copying a
 *	   prefix is a memcpy per layer and KV head. No cell is shared, so no
 *	   refcounts. A KV head's positions are contiguous because attention
 *	   reads them in order, one head at a time (engine/kernels/avx512/
 *	   attn_avx512.c note 10).
 *	3. A batch is checked completely before any state changes (positions
 *	   continue each sequence, tokens in range, room left), so a refused
 *	   batch leaves the cache untouched; eng_forward() cannot fail.
 */
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

#include "engine/matmul.h"

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* act_bytes - widest quantized activation row any matmul of the model needs */
static size_t act_bytes(const struct eng_model *m)
{
	const struct eng_hparams *hp = &m->hp;
	size_t n = max_sz(max_sz(hp->n_embd, m->q_dim), hp->n_ff);

	/* Q8_K and F32 are the widest layouts per element; F32 bounds them all */
	return n * sizeof(float);
}

static void *alloc(size_t n, size_t size, int *fail)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		*fail = 1;
	return p;
}

int eng_ctx_new(struct eng_model *m, const struct eng_ctx_params *p,
		struct eng_ctx **out, struct dk_err *err)
{
	const struct eng_hparams *hp = &m->hp;
	struct eng_ctx *c = calloc(1, sizeof *c);
	int fail = 0, rc;

	*out = NULL;
	if (c == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory creating a context");
	c->m = m;
	c->p = *p;
	if (c->p.n_ctx == 0)
		c->p.n_ctx = hp->n_ctx_train;
	if (c->p.n_threads == 0)
		c->p.n_threads = 1;
	if (c->p.n_seq_max == 0)
		c->p.n_seq_max = 1;
	if (c->p.n_batch == 0)
		c->p.n_batch = 512;
	if (c->p.n_ctx > (1u << 20) || c->p.n_threads > 256 || c->p.n_seq_max > 4096 ||
	    c->p.n_batch > (1u << 16)) {
		free(c);
		return dk_err_set(err, DK_EINVAL, "context parameters out of range: n_ctx %u, threads %u, sequences %u, batch %u",
				  p->n_ctx, p->n_threads, p->n_seq_max, p->n_batch);
	}
	size_t B = c->p.n_batch, T = c->p.n_threads, C = c->p.n_ctx;
	size_t kv = (size_t)hp->n_layer * c->p.n_seq_max * C * m->kv_dim;
	c->k_cache = alloc(kv, sizeof(ggml_half), &fail);
	c->v_cache = alloc(kv, sizeof(ggml_half), &fail);
	c->seq_len = alloc(c->p.n_seq_max, sizeof(uint32_t), &fail);
	c->seq_next = alloc(c->p.n_seq_max, sizeof(uint32_t), &fail);
	c->want = alloc(B, sizeof(int8_t), &fail);
	c->x = alloc(B * hp->n_embd, sizeof(float), &fail);
	c->xb = alloc(B * max_sz(hp->n_embd, m->q_dim), sizeof(float), &fail);
	c->xb2 = alloc(B * hp->n_embd, sizeof(float), &fail);
	c->q = alloc(B * m->q_dim, sizeof(float), &fail);
	c->k = alloc(B * m->kv_dim, sizeof(float), &fail);
	c->v = alloc(B * m->kv_dim, sizeof(float), &fail);
	c->qkv = alloc(B * (m->q_dim + 2 * m->kv_dim), sizeof(float), &fail);
	c->hb = alloc(B * 2 * hp->n_ff, sizeof(float), &fail);
	c->hb2 = alloc(B * 2 * hp->n_ff, sizeof(float), &fail);
	c->act_row_bytes = act_bytes(m);
	c->act_q = alloc(ENG_MM_PARTS * B, c->act_row_bytes, &fail);	/* a slot per layout */
	c->wrow = alloc(T, c->act_row_bytes, &fail);	/* F32 bounds any quantized row too */
	c->rope_cs = alloc(B * 2 * hp->n_rot, sizeof(float), &fail);
	size_t G = hp->n_head / hp->n_head_kv;	/* heads per KV head */
	size_t R = ENG_ATTN_TOKENS * G;		/* rows of one attention call */
	c->att = alloc(T * R * C, sizeof(float), &fail);
	c->att16 = alloc(T * C, sizeof(ggml_half), &fail);
	c->q16 = alloc(T * hp->head_dim, sizeof(ggml_half), &fail);
	c->qf = alloc(T * R * hp->head_dim, sizeof(float), &fail);
	c->logits = alloc(B * (size_t)hp->n_vocab, sizeof(float), &fail);
	c->out_idx = alloc(B, sizeof(int32_t), &fail);
	c->out_x = alloc(B * hp->n_embd, sizeof(float), &fail);
	if (fail) {
		eng_ctx_free(c);
		return dk_err_set(err, DK_ENOMEM,
				  "out of memory for a context of %u positions x %u sequences, batch %u",
				  c->p.n_ctx, c->p.n_seq_max, c->p.n_batch);
	}
	c->kern = eng_kernels_select(0);
	if ((rc = thr_pool_new((int)c->p.n_threads, &c->pool, err)) != 0) {
		eng_ctx_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void eng_ctx_free(struct eng_ctx *c)
{
	if (c == NULL)
		return;
	thr_pool_free(c->pool);
	free(c->k_cache);
	free(c->v_cache);
	free(c->seq_len);
	free(c->seq_next);
	free(c->want);
	free(c->x);
	free(c->xb);
	free(c->xb2);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->qkv);
	free(c->hb);
	free(c->hb2);
	free(c->act_q);
	free(c->wrow);
	free(c->rope_cs);
	free(c->att);
	free(c->att16);
	free(c->q16);
	free(c->qf);
	free(c->logits);
	free(c->out_idx);
	free(c->out_x);
	free(c);
}

void eng_ctx_use_ref_kernels(struct eng_ctx *c, int on)
{
	c->kern = eng_kernels_select(on);
}

const char *eng_ctx_kernels(const struct eng_ctx *c)
{
	return c->kern->name;
}

const struct eng_ctx_params *eng_ctx_params(const struct eng_ctx *c)
{
	return &c->p;
}

/* check_batch - note 3; the sequence lengths are simulated in next[] */
static int check_batch(struct eng_ctx *c, const struct eng_batch *b, uint32_t *next,
		       struct dk_err *err)
{
	uint32_t n_out = 0;

	if (b->n == 0 || b->token == NULL || b->pos == NULL)
		return dk_err_set(err, DK_EINVAL, "empty batch");
	memcpy(next, c->seq_len, c->p.n_seq_max * sizeof *next);
	for (uint32_t i = 0; i < b->n; i++) {
		int32_t s = b->seq ? b->seq[i] : 0;
		if (b->token[i] < 0 || (uint32_t)b->token[i] >= c->m->hp.n_vocab)
			return dk_err_set(err, DK_EINVAL, "token %d at batch entry %u is outside the vocabulary of %u",
					  b->token[i], i, c->m->hp.n_vocab);
		if (s < 0 || (uint32_t)s >= c->p.n_seq_max)
			return dk_err_set(err, DK_EINVAL, "sequence %d at batch entry %u: the context has %u sequences",
					  s, i, c->p.n_seq_max);
		if (b->pos[i] < 0 || (uint32_t)b->pos[i] != next[s])
			return dk_err_set(err, DK_EINVAL, "position %d at batch entry %u does not continue sequence %d (next position %u)",
					  b->pos[i], i, s, next[s]);
		if (next[s] >= c->p.n_ctx)
			return dk_err_set(err, DK_EINVAL, "context full: sequence %d has %u positions", s, c->p.n_ctx);
		next[s]++;
		if (b->logits ? b->logits[i] != 0 : i == b->n - 1)
			n_out++;
	}
	if (n_out > c->p.n_batch)
		return dk_err_set(err, DK_EINVAL, "%u outputs requested; the context holds %u", n_out, c->p.n_batch);
	return 0;
}

/* eng_decode - check everything, then evaluate (note 1) */
int eng_decode(struct eng_ctx *c, const struct eng_batch *b, struct dk_err *err)
{
	uint32_t n_out = 0;
	int rc;

	c->n_out_batch = 0;
	if (b->n > c->p.n_batch)
		return dk_err_set(err, DK_EINVAL, "batch of %u tokens exceeds the context's n_batch %u",
				  b->n, c->p.n_batch);
	if ((rc = check_batch(c, b, c->seq_next, err)) != 0)
		return rc;
	for (uint32_t i = 0; i < b->n; i++) {
		c->want[i] = b->logits ? b->logits[i] != 0 : i == b->n - 1;
		c->out_idx[i] = c->want[i] ? (int32_t)n_out++ : -1;
	}
	eng_forward(c, b->n, b->token, b->pos, b->seq, c->want);
	memcpy(c->seq_len, c->seq_next, c->p.n_seq_max * sizeof *c->seq_len);
	c->n_out_batch = b->n;
	return 0;
}

const float *eng_logits(const struct eng_ctx *c, uint32_t i)
{
	if (i >= c->n_out_batch || c->out_idx[i] < 0)
		return NULL;
	return c->logits + (size_t)c->out_idx[i] * c->m->hp.n_vocab;
}

uint32_t eng_kv_seq_len(const struct eng_ctx *c, int32_t seq)
{
	if (seq < 0 || (uint32_t)seq >= c->p.n_seq_max)
		return 0;
	return c->seq_len[seq];
}

void eng_kv_clear(struct eng_ctx *c, int32_t seq)
{
	for (uint32_t s = 0; s < c->p.n_seq_max; s++)
		if (seq < 0 || (uint32_t)seq == s)
			c->seq_len[s] = 0;
}

int eng_kv_truncate(struct eng_ctx *c, int32_t seq, uint32_t pos, struct dk_err *err)
{
	if (seq < 0 || (uint32_t)seq >= c->p.n_seq_max)
		return dk_err_set(err, DK_EINVAL, "no sequence %d (the context has %u)", seq, c->p.n_seq_max);
	if (pos < c->seq_len[seq])
		c->seq_len[seq] = pos;
	return 0;
}

int eng_kv_copy_prefix(struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
		       struct dk_err *err)
{
	const struct eng_model *m = c->m;

	if (src < 0 || dst < 0 || (uint32_t)src >= c->p.n_seq_max || (uint32_t)dst >= c->p.n_seq_max)
		return dk_err_set(err, DK_EINVAL, "no sequence %d or %d (the context has %u)", src, dst, c->p.n_seq_max);
	if (n > c->seq_len[src])
		return dk_err_set(err, DK_EINVAL, "sequence %d holds %u positions, not %u", src, c->seq_len[src], n);
	if (src != dst) {
		size_t D = m->hp.head_dim, bytes = (size_t)n * D * sizeof(ggml_half);
		for (uint32_t l = 0; l < m->hp.n_layer; l++)
			for (uint32_t h = 0; h < m->hp.n_head_kv; h++) {	/* note 2 */
				size_t so = eng_kv_cell(c, l, src, h), d_o = eng_kv_cell(c, l, dst, h);
				memcpy(c->k_cache + d_o, c->k_cache + so, bytes);
				memcpy(c->v_cache + d_o, c->v_cache + so, bytes);
			}
	}
	c->seq_len[dst] = n;
	return 0;
}
