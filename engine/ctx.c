/*
 * NAME
 *	ctx - evaluation contexts: allocation, batch checks, KV cache ops
 * DESIGN NOTES
 *	1. All memory is allocated in eng_ctx_new(); eng_decode() only checks
 *	   the batch (at most n_batch entries) and calls eng_forward().
 *	2. The KV cache gives each sequence its own n_ctx cells per layer and
 *	   KV head, indexed by position: a sequence's state is its length
 *	   seq_len[s] and the positions it reads from other sequences (note
 *	   4). Truncating is lowering the length; copying a prefix is a
 *	   memcpy per layer and KV head. A KV head's positions are contiguous
 *	   because attention reads them in order, one head at a time
 *	   (engine/kernels/avx512/attn_avx512.c note 10).
 *	3. A batch is checked completely before any state changes (positions
 *	   continue each sequence, tokens in range, room left), so a refused
 *	   batch leaves the cache untouched; eng_forward() cannot fail.
 *	4. Shared prefixes. eng_kv_share_prefix() gives dst positions [0, n)
 *	   of src by reference: dst's parts (kv_part, at most ENG_KV_PARTS)
 *	   say which owner's cells hold each range of its positions, resolved
 *	   at the call (src's own parts clipped to n, then src's own cells),
 *	   so a chain head -> base -> stage reads every cell from the
 *	   sequence that wrote it and an owner never reads through another
 *	   reader. Positions from the end of the last part on are the
 *	   sequence's own cells, at the same offsets as ever; the cells under
 *	   its parts stay unwritten (calloc'd pages never touched cost no
 *	   memory). Attention gets the parts as struct eng_attn_seg ranges and
 *	   reads the same cells' bits in the same order as from a copy, so
 *	   the logits are bitwise those of eng_kv_copy_prefix().
 *	5. Lifetime: an owner's cells [0, e) stay as they are while some
 *	   other sequence's part reads them up to e (kv_pin, found by a scan:
 *	   no count to drift). Clearing or truncating an owner below e, and
 *	   making a read sequence the destination of a copy or a share, are
 *	   refused with DK_EINVAL naming the reader; readers go first
 *	   (clearing or truncating a reader drops or clips its parts).
 *	   Clearing every sequence at once is always allowed. So no part can
 *	   outlive the cells it names, and no sequence reads itself.
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
	c->kv_part = alloc((size_t)c->p.n_seq_max * ENG_KV_PARTS, sizeof *c->kv_part, &fail);
	c->kv_nparts = alloc(c->p.n_seq_max, sizeof *c->kv_nparts, &fail);
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
	free(c->kv_part);
	free(c->kv_nparts);
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

/* own_from - first position seq holds in its own cells (note 4) */
static uint32_t own_from(const struct eng_ctx *c, uint32_t s)
{
	uint32_t n = c->kv_nparts[s];

	return n ? c->kv_part[(size_t)s * ENG_KV_PARTS + n - 1].end : 0;
}

/* kv_pin - note 5: *end = the most positions of o any other sequence reads
 * (0: none), *reader = one that reads that far */
static void kv_pin(const struct eng_ctx *c, uint32_t o, uint32_t *end, uint32_t *reader)
{
	*end = 0;
	*reader = 0;
	for (uint32_t s = 0; s < c->p.n_seq_max; s++)
		for (uint32_t i = 0; i < c->kv_nparts[s]; i++) {
			const struct eng_kv_part *pt = &c->kv_part[(size_t)s * ENG_KV_PARTS + i];
			if ((uint32_t)pt->owner == o && pt->end > *end) {
				*end = pt->end;
				*reader = s;
			}
		}
}

/* refuse_pinned - note 5: an error unless positions [from, ...) of seq are read by nobody */
static int refuse_pinned(const struct eng_ctx *c, uint32_t seq, uint32_t from, const char *what,
			 struct dk_err *err)
{
	uint32_t end, reader;

	kv_pin(c, seq, &end, &reader);
	if (end > from)
		return dk_err_set(err, DK_EINVAL, "cannot %s sequence %u: sequence %u reads its positions up to %u",
				  what, seq, reader, end);
	return 0;
}

/* clip - the parts of pt[0..k) below position n, ends clipped to n; their count */
static uint32_t clip(struct eng_kv_part *pt, uint32_t k, uint32_t n)
{
	uint32_t i = 0;

	for (uint32_t start = 0; i < k && start < n; start = pt[i++].end)
		if (pt[i].end > n)
			pt[i].end = n;
	return i;
}

uint32_t eng_kv_shared_len(const struct eng_ctx *c, int32_t seq)
{
	uint32_t end = 0, reader;

	if (seq >= 0 && (uint32_t)seq < c->p.n_seq_max)
		kv_pin(c, (uint32_t)seq, &end, &reader);
	return end;
}

int eng_kv_clear(struct eng_ctx *c, int32_t seq, struct dk_err *err)
{
	int rc;

	if (seq < 0) {
		memset(c->seq_len, 0, c->p.n_seq_max * sizeof *c->seq_len);
		memset(c->kv_nparts, 0, c->p.n_seq_max * sizeof *c->kv_nparts);
		return 0;
	}
	if ((uint32_t)seq >= c->p.n_seq_max)
		return dk_err_set(err, DK_EINVAL, "no sequence %d (the context has %u)", seq, c->p.n_seq_max);
	if ((rc = refuse_pinned(c, (uint32_t)seq, 0, "clear", err)) != 0)
		return rc;
	c->seq_len[seq] = 0;
	c->kv_nparts[seq] = 0;
	return 0;
}

int eng_kv_truncate(struct eng_ctx *c, int32_t seq, uint32_t pos, struct dk_err *err)
{
	int rc;

	if (seq < 0 || (uint32_t)seq >= c->p.n_seq_max)
		return dk_err_set(err, DK_EINVAL, "no sequence %d (the context has %u)", seq, c->p.n_seq_max);
	if (pos >= c->seq_len[seq])
		return 0;
	if ((rc = refuse_pinned(c, (uint32_t)seq, pos, "truncate", err)) != 0)
		return rc;
	c->seq_len[seq] = pos;
	c->kv_nparts[seq] = (uint8_t)clip(&c->kv_part[(size_t)seq * ENG_KV_PARTS], c->kv_nparts[seq], pos);
	return 0;
}

/* check_fork - the arguments of a copy or a share: n positions of src, dst read by nobody */
static int check_fork(const struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
		      struct dk_err *err)
{
	if (src < 0 || dst < 0 || (uint32_t)src >= c->p.n_seq_max || (uint32_t)dst >= c->p.n_seq_max)
		return dk_err_set(err, DK_EINVAL, "no sequence %d or %d (the context has %u)", src, dst, c->p.n_seq_max);
	if (n > c->seq_len[src])
		return dk_err_set(err, DK_EINVAL, "sequence %d holds %u positions, not %u", src, c->seq_len[src], n);
	return src == dst ? 0 : refuse_pinned(c, (uint32_t)dst, 0, "overwrite", err);
}

/* copy_range - dst's own cells [from, to) = owner's own cells there, every layer and KV head */
static void copy_range(struct eng_ctx *c, uint32_t owner, uint32_t dst, uint32_t from, uint32_t to)
{
	const struct eng_model *m = c->m;
	size_t D = m->hp.head_dim, off = (size_t)from * D, bytes = (size_t)(to - from) * D * sizeof(ggml_half);

	for (uint32_t l = 0; l < m->hp.n_layer; l++)
		for (uint32_t h = 0; h < m->hp.n_head_kv; h++) {	/* note 2 */
			size_t so = eng_kv_cell(c, l, (int32_t)owner, h) + off;
			size_t d_o = eng_kv_cell(c, l, (int32_t)dst, h) + off;
			memcpy(c->k_cache + d_o, c->k_cache + so, bytes);
			memcpy(c->v_cache + d_o, c->v_cache + so, bytes);
		}
}

int eng_kv_copy_prefix(struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
		       struct dk_err *err)
{
	int rc = check_fork(c, src, dst, n, err);

	if (rc != 0)
		return rc;
	if (src == dst)
		return eng_kv_truncate(c, src, n, err);
	/* each range from the cells that hold it (note 4): dst owns them all */
	uint32_t from = 0;
	for (uint32_t i = 0; i < c->kv_nparts[src] && from < n; i++) {
		const struct eng_kv_part *pt = &c->kv_part[(size_t)src * ENG_KV_PARTS + i];
		uint32_t to = pt->end < n ? pt->end : n;
		copy_range(c, (uint32_t)pt->owner, (uint32_t)dst, from, to);
		from = to;
	}
	if (from < n)
		copy_range(c, (uint32_t)src, (uint32_t)dst, from, n);
	c->kv_nparts[dst] = 0;
	c->seq_len[dst] = n;
	return 0;
}

int eng_kv_share_prefix(struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
			struct dk_err *err)
{
	struct eng_kv_part parts[ENG_KV_PARTS + 1];
	uint32_t k;
	int rc = check_fork(c, src, dst, n, err);

	if (rc != 0)
		return rc;
	if (src == dst)
		return eng_kv_truncate(c, src, n, err);
	/* note 4: src's parts, then src's own cells, all below n */
	k = c->kv_nparts[src];
	memcpy(parts, &c->kv_part[(size_t)src * ENG_KV_PARTS], k * sizeof *parts);
	if (own_from(c, (uint32_t)src) < n)
		parts[k++] = (struct eng_kv_part){ n, src };
	k = clip(parts, k, n);
	if (k > ENG_KV_PARTS)
		return dk_err_set(err, DK_ELIMIT, "sequence %d would read %u other sequences' cells; at most %d",
				  dst, k, ENG_KV_PARTS);
	memcpy(&c->kv_part[(size_t)dst * ENG_KV_PARTS], parts, k * sizeof *parts);
	c->kv_nparts[dst] = (uint8_t)k;
	c->seq_len[dst] = n;
	return 0;
}
