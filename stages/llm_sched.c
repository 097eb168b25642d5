/*
 * NAME
 *	llm_sched - the documents in flight, one batched decode a step
 * SUMMARY
 *	Jobs, slots and streams (notes 2, 7), shared heads (note 8), batch
 *	assembly and what each step's logits decide; llm_submit(),
 *	llm_step(), llm_take() and llm_run().
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/llm_impl.h"

/* ------------------------------------------------------------ scheduler */

enum { SQ_SUM, SQ_ENT, SQ_CLS, SQ_PRE };	/* a slot's sequences (note 2) */

static int32_t slot_seq(const struct llm *l, const struct job *j, uint32_t k)
{
	return (int32_t)((uint32_t)j->slot * l->seqs_per_slot + k);
}

static void stream_release(struct stream *s)
{
	tok_ids_release(&s->in);
	tok_ids_release(&s->gen);
	if (s->ck)
		g_checksum_free(s->ck);
	dk_buf_release(&s->out);
	if (s->samp_on)
		samp_release(&s->samp);
	g_free(s->cur);
	if (s->joined)
		g_string_free(s->joined, TRUE);
	memset(s, 0, sizeof *s);
}

/* fixed_unwait - the job no longer waits for its head */
static void fixed_unwait(struct llm *l, struct job *j)
{
	if (j->wait_fix >= 0)
		l->fix[j->wait_fix].waiters--;
	j->wait_fix = -1;
}

/* slot_clear - note 2: the job's sequences forget everything, the
 * stages (readers of the prefix) first; the heads they read are free again */
static int slot_clear(struct llm *l, const struct job *j, struct dk_err *err)
{
	int rc = 0;

	for (uint32_t k = 0; rc == 0 && k < l->seqs_per_slot; k++)
		rc = eng_kv_clear(l->c, slot_seq(l, j, k), err);
	return rc;
}

/* lab_seq - the sequence of the q-th label of more than one token (note 4) */
static int32_t lab_seq(const struct llm *l, uint32_t q)
{
	return (int32_t)(l->o.parallel * l->seqs_per_slot + N_FIXED + q);
}

/* labels_release - note 4: the label pass's sequences are free again */
static int labels_release(struct llm *l, struct dk_err *err)
{
	int rc = 0;

	for (uint32_t q = 0; rc == 0 && q < l->n_lab_seq; q++)
		rc = eng_kv_clear(l->c, lab_seq(l, q), err);
	l->lab_slot = -1;
	return rc;
}

/* job_end - the job leaves its slot, finished (rc 0) or failed (err set) */
static void job_end(struct llm *l, struct job *j, int rc)
{
	struct dk_err e = DK_ERR_INIT;

	if (j->slot >= 0 && j->slot == l->lab_slot && labels_release(l, &e) != 0 && rc == 0) {
		j->err = e;
		rc = e.code;
	}
	if (j->slot >= 0 && slot_clear(l, j, &e) != 0 && rc == 0) {
		j->err = e;
		rc = e.code;
	}
	if (j->slot >= 0)
		l->slot[j->slot] = NULL;
	j->slot = -1;
	fixed_unwait(l, j);
	j->rc = rc;
	j->done = 1;
	if (rc != 0)
		llm_result_release(&j->r);
}

/* fixed_seq - the sequence holding l->fix[i] (after every slot's) */
static int32_t fixed_seq(const struct llm *l, int i)
{
	return (int32_t)(l->o.parallel * l->seqs_per_slot) + i;
}

/* fixed_ready - note 8: l->fix[i] holds the evaluated KV of all its tokens */
static int fixed_ready(const struct llm *l, int i)
{
	return l->fix[i].ids.n > 0 && l->fix[i].fed == l->fix[i].ids.n && !l->fix[i].in_batch;
}

/* fixed_find - note 8: the entry holding the first n tokens of ids (evaluated or not), or -1 */
static int fixed_find(const struct llm *l, const struct tok_ids *ids, size_t n)
{
	for (int i = 0; i < N_FIXED; i++)
		if (n > 0 && l->fix[i].ids.n == n && memcmp(l->fix[i].ids.v, ids->v, n * sizeof *ids->v) == 0)
			return i;
	return -1;
}

/*
 * fixed_claim - note 8: *out = an entry for the job's head, evaluated on
 * its own sequence from the next batch on (the least recently used
 * evaluated entry that nobody waits for and no document reads goes), or
 * -1 when every entry is busy
 */
static int fixed_claim(struct llm *l, const struct job *j, int *out, struct dk_err *err)
{
	int v = -1, rc;

	for (int i = 0; i < N_FIXED; i++)
		if ((l->fix[i].ids.n == 0 || (fixed_ready(l, i) && l->fix[i].waiters == 0)) &&
		    eng_kv_shared_len(l->c, fixed_seq(l, i)) == 0 &&
		    (v < 0 || l->fix[i].used < l->fix[v].used))
			v = i;
	*out = v;
	if (v < 0)
		return 0;
	l->fix[v].ids.n = 0;
	l->fix[v].fed = 0;
	if ((rc = eng_kv_clear(l->c, fixed_seq(l, v), err)) != 0) {
		*out = -1;
		return rc;
	}
	for (size_t t = 0; t < j->n_fixed; t++)
		if (tok_ids_push(&l->fix[v].ids, j->pre.v[t]) != 0) {
			l->fix[v].ids.n = 0;
			*out = -1;
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		}
	l->fix[v].used = ++l->clock;
	l->st.heads++;
	return 0;
}

/* fixed_share - note 8: the job's prefix starts from the evaluated head l->fix[i] */
static int fixed_share(struct llm *l, struct job *j, int i, struct dk_err *err)
{
	int rc = eng_kv_share_prefix(l->c, fixed_seq(l, i), slot_seq(l, j, SQ_PRE),
				     (uint32_t)j->n_fixed, err);

	if (rc == 0) {
		j->pre_fed = j->n_fixed;
		l->st.tok_fixed += j->n_fixed;
		l->fix[i].used = ++l->clock;
	}
	return rc;
}

/*
 * fixed_use - note 8: share the job's head when it is evaluated; else wait
 * for it, claiming an entry to evaluate it in when none has it yet; with
 * every entry busy the job evaluates its head itself
 */
static int fixed_use(struct llm *l, struct job *j, struct dk_err *err)
{
	int i = fixed_find(l, &j->pre, j->n_fixed), rc = 0;

	if (i < 0 && j->n_fixed > 0)
		rc = fixed_claim(l, j, &i, err);
	if (rc != 0 || i < 0)
		return rc;
	if (fixed_ready(l, i))
		return fixed_share(l, j, i, err);
	j->wait_fix = i;
	l->fix[i].waiters++;
	return 0;
}

/* job_start - note 3: cut the text to fit, tokenize the shared prefix */
static int job_start(struct llm *l, struct job *j, struct dk_err *err)
{
	size_t n = 0;
	int rc;

	j->started = 1;
	j->t_start = llm_now_ms();
	l->st.docs++;
	rc = slot_clear(l, j, err);
	if (rc == 0)
		rc = llm_reserve(l, &j->k, &j->room, err);
	if (rc == 0)
		rc = llm_fit(l, j->text, j->len, &j->k, j->room, &n, err);
	j->d.text = j->text;
	j->d.len = n;
	if (rc == 0)
		rc = llm_prefix_ids(l, j->text, n, &j->k, &j->d.filled, &j->pre, &j->n_fixed, err);
	j->d.n_prefix = (uint32_t)j->pre.n;
	if (rc == 0)
		rc = fixed_use(l, j, err);
	j->lp = calloc(l->tax.n_labels, sizeof *j->lp);
	if (rc == 0 && j->lp == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	l->st.ms_start += llm_now_ms() - j->t_start;
	return rc;
}

/* window_start - note 3: the next summarize window, prompt from position 0 */
static int window_start(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	struct doc wd = { NULL, 0, DK_BUF_INIT, 0 };
	struct samp_params sp = { 0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0 };
	size_t n = s->cur_len - s->off, n_fixed = 0;
	int rc = 0, i;

	if (s->joined != NULL)
		rc = llm_fit(l, s->cur + s->off, s->cur_len - s->off, &j->k, j->room, &n, err);
	/* the final window is the whole of cur, even empty; a map window must hold something */
	if (rc == 0 && n == 0 && s->joined != NULL)
		rc = dk_err_set(err, DK_ELIMIT, "a sentence does not fit the context");
	s->win = n;
	s->in.n = 0;
	s->gen.n = 0;
	s->fed = 0;
	s->pos = 0;
	wd.text = s->cur + s->off;
	wd.len = n;
	if (rc == 0)
		rc = llm_prefix_ids(l, wd.text, n, &j->k, &wd.filled, &s->in, &n_fixed, err);
	if (rc == 0)
		rc = llm_suffix_ids(l, ST_SUMMARIZE, &j->k, &wd, &s->in, s->ck, err);
	dk_buf_release(&wd.filled);
	if (s->samp_on)
		samp_release(&s->samp);
	s->samp_on = rc == 0 && samp_init(&s->samp, &sp, err) == 0;
	if (rc == 0 && !s->samp_on)
		rc = DK_ENOMEM;
	if (rc == 0)
		rc = eng_kv_clear(l->c, s->seq, err);
	/* note 8: the window's head is the documents' shared head */
	if (rc == 0 && (i = fixed_find(l, &s->in, n_fixed)) >= 0 && fixed_ready(l, i)) {
		rc = eng_kv_share_prefix(l->c, fixed_seq(l, i), s->seq, (uint32_t)n_fixed, err);
		s->fed = s->pos = (uint32_t)n_fixed;
		l->st.tok_fixed += n_fixed;
		l->fix[i].used = ++l->clock;
	}
	s->ph = PH_FEED;
	return rc;
}

/*
 * stream_start - a stage shares the prefix (notes 1, 2); a document that
 * does not fit maps its summary over windows, the first of which is
 * exactly the prefix already evaluated.
 */
static int stream_start(struct llm *l, struct job *j, int st, struct dk_err *err)
{
	static const uint32_t seq_of[ST_N] = { SQ_CLS, SQ_ENT, SQ_SUM };
	struct samp_params sp = { 0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0 };
	struct stream *s = &j->s[st];
	int rc = 0;

	s->t0 = llm_now_ms();
	s->ck = g_checksum_new(G_CHECKSUM_SHA256);
	s->seq = slot_seq(l, j, seq_of[st]);
	s->at = -1;
	s->pos = j->d.n_prefix;
	s->ph = PH_FEED;
	dk_buf_init(&s->out, 0);
	if (st == ST_SUMMARIZE && j->d.len < j->len) {
		s->cur = g_strndup(j->text, j->len);
		s->cur_len = j->len;
		s->joined = g_string_new(NULL);
		s->win = j->d.len;
	}
	rc = eng_kv_share_prefix(l->c, slot_seq(l, j, SQ_PRE), s->seq, j->d.n_prefix, err);
	if (st == ST_ENTITIES)
		gram_init(&s->g, l->gram);
	if (rc == 0 && st == ST_SUMMARIZE) {
		rc = samp_init(&s->samp, &sp, err);
		s->samp_on = rc == 0;
	}
	if (rc == 0)
		rc = llm_suffix_ids(l, st, &j->k, &j->d, &s->in, s->ck, err);
	return rc;
}

/* prefix_done - every stage of the job starts from the evaluated prefix */
static int prefix_done(struct llm *l, struct job *j, struct dk_err *err)
{
	double t = llm_now_ms();
	int rc = 0;

	j->prefix_ms = t - j->t_start;
	for (int st = 0; rc == 0 && st < ST_N; st++)
		if (j->only < 0 || j->only == st)
			rc = stream_start(l, j, st, err);
	l->st.ms_fork += llm_now_ms() - t;
	return rc;
}

/* ---- batch assembly */

static int32_t add_entry(struct llm *l, int32_t tok, int32_t pos, int32_t seq, int want)
{
	uint32_t i = l->b_n++;

	l->b_tok[i] = tok;
	l->b_pos[i] = pos;
	l->b_seq[i] = seq;
	l->b_want[i] = (int8_t)want;
	return (int32_t)i;
}

static int32_t add(struct llm *l, struct job *j, int32_t tok, int32_t pos, int32_t seq, int want)
{
	j->in_batch = 1;
	return add_entry(l, tok, pos, seq, want);
}

/* add_labels - note 4: every longer label's tokens but the last, each on
 * its own sequence sharing the classify prompt, from batch entry s->at on */
static int add_labels(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	uint32_t q = 0;
	int rc = 0;

	l->lab_slot = j->slot;
	for (size_t i = 0; rc == 0 && i < l->tax.n_labels; i++)
		if (l->lab[i].n > 1)
			rc = eng_kv_share_prefix(l->c, s->seq, lab_seq(l, q++), s->pos, err);
	if (rc != 0)
		return rc;
	s->at = (int32_t)l->b_n;
	q = 0;
	for (size_t i = 0; i < l->tax.n_labels; i++) {
		const struct tok_ids *lab = &l->lab[i];

		for (size_t t = 0; t + 1 < lab->n; t++)
			add(l, j, lab->v[t], (int32_t)(s->pos + t), lab_seq(l, q), 1);
		q += lab->n > 1;
	}
	l->st.tok_label += l->lab_tokens;
	return 0;
}

/* add_prompt - as much of the prompt tokens as the batch holds; logits at the very end only */
static void add_prompt(struct llm *l, struct job *j, struct stream *s)
{
	size_t m = s->in.n - s->fed;

	if (m > l->b_cap - l->b_n)
		m = l->b_cap - l->b_n;
	l->st.tok_prompt += m;
	for (size_t t = 0; t < m; t++, s->fed++) {
		int last = s->fed + 1 == s->in.n;
		int32_t i = add(l, j, s->in.v[s->fed], (int32_t)s->pos++, s->seq, last);

		if (last)
			s->at = i;
	}
}

/* draft_room - note 10: drafts stop where the stream's budget or context does */
static uint32_t draft_room(const struct llm *l, const struct job *j, int st, const struct stream *s)
{
	uint32_t budget = st == ST_ENTITIES ? j->k.entity_max_tokens : j->k.summary_max_tokens;
	uint32_t room = budget > s->gen.n ? budget - (uint32_t)s->gen.n : 0;

	if (s->pos + room > j->k.n_ctx)
		room = j->k.n_ctx > s->pos ? j->k.n_ctx - s->pos : 0;
	return room < l->o.draft ? room : l->o.draft;
}

/* add_draft - note 10: the stream's guesses after its next token, from batch entry s->dat */
static void add_draft(struct llm *l, struct job *j, int st, struct stream *s, uint32_t max)
{
	const struct tok_ids *src[2] = { &s->in, &j->pre };
	uint32_t room = draft_room(l, j, st, s);

	s->n_draft = llm_draft_lookup(&s->gen, src, 2, s->draft, max < room ? max : room);
	s->dat = (int32_t)l->b_n;
	for (uint32_t k = 0; k < s->n_draft; k++)
		add(l, j, s->draft[k], (int32_t)s->pos++, s->seq, 1);
	l->st.tok_draft += s->n_draft;
}

/* add_drafts - note 10: a batch of fewer than DRAFT_FILL tokens is filled
 * with drafts, shared evenly by the streams generating in it */
static void add_drafts(struct llm *l)
{
	uint32_t n = 0, i = 0, each, extra;

	if (l->o.draft == 0 || l->b_n >= DRAFT_FILL)
		return;
	for (uint32_t k = 0; k < l->o.parallel; k++)
		for (int st = 0; l->slot[k] && st < ST_N; st++)
			n += l->slot[k]->s[st].ph == PH_GEN && l->slot[k]->s[st].at >= 0;
	if (n == 0)
		return;
	each = (DRAFT_FILL - l->b_n) / n;
	extra = (DRAFT_FILL - l->b_n) % n;	/* one more for the first streams */
	for (uint32_t k = 0; k < l->o.parallel; k++)
		for (int st = 0; l->slot[k] && st < ST_N; st++) {
			struct stream *s = &l->slot[k]->s[st];

			if (s->ph == PH_GEN && s->at >= 0)
				add_draft(l, l->slot[k], st, s, each + (i++ < extra));
		}
}

/*
 * build_batch - note 7: one document's label pass first (it must fit one batch), then
 * one token of every generating stream, then prompts, then shared heads
 * (note 8), then prefixes of jobs not waiting for theirs, while the batch
 * has room; a batch still small then takes drafts (note 10)
 */
static void build_batch(struct llm *l)
{
	l->b_n = 0;
	for (uint32_t k = 0; k < l->o.parallel && l->lab_slot < 0; k++) {
		struct job *j = l->slot[k];
		struct stream *s = j ? &j->s[ST_CLASSIFY] : NULL;

		if (s && s->ph == PH_LABELS && s->at < 0 && l->lab_tokens <= l->b_cap - l->b_n &&
		    (j->rc = add_labels(l, j, s, &j->err)) != 0)
			job_end(l, j, j->rc);
	}
	for (uint32_t k = 0; k < l->o.parallel; k++)
		for (int st = 0; l->slot[k] && st < ST_N; st++) {
			struct stream *s = &l->slot[k]->s[st];

			if (s->ph == PH_GEN && l->b_n < l->b_cap) {
				s->at = add(l, l->slot[k], s->next, (int32_t)s->pos++, s->seq, 1);
				l->st.tok_gen[st]++;
			}
		}
	for (uint32_t k = 0; k < l->o.parallel; k++)
		for (int st = 0; l->slot[k] && st < ST_N; st++)
			if (l->slot[k]->s[st].ph == PH_FEED && l->b_n < l->b_cap)
				add_prompt(l, l->slot[k], &l->slot[k]->s[st]);
	for (int i = 0; i < N_FIXED; i++) {
		struct fixed_kv *f = &l->fix[i];

		for (; f->fed < f->ids.n && l->b_n < l->b_cap; f->fed++, f->in_batch = 1) {
			add_entry(l, f->ids.v[f->fed], (int32_t)f->fed, fixed_seq(l, i), 0);
			l->st.tok_prefix++;
		}
	}
	for (uint32_t k = 0; k < l->o.parallel; k++) {
		struct job *j = l->slot[k];

		while (j && j->wait_fix < 0 && j->pre_fed < j->pre.n && l->b_n < l->b_cap) {
			add(l, j, j->pre.v[j->pre_fed], (int32_t)j->pre_fed, slot_seq(l, j, SQ_PRE), 0);
			j->pre_fed++;
			l->st.tok_prefix++;
		}
	}
	add_drafts(l);
}

/* ---- what the logits decide */

static void finish_stream(struct stream *s)
{
	s->ms = llm_now_ms() - s->t0;
	s->ph = PH_DONE;
	s->at = -1;
}

/* labels_end - note 4: softmax over the label scores; output bytes */
static int labels_end(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	size_t L = l->tax.n_labels;
	double z = 0;
	int rc = 0;

	j->best = 0;
	for (size_t i = 1; i < L; i++)
		if (j->lp[i] > j->lp[j->best])
			j->best = i;
	for (size_t i = 0; i < L; i++)
		z += exp(j->lp[i] - j->lp[j->best]);
	j->conf = 1.0 / z;
	rc |= dk_buf_adds(&s->out, "{\"label\":");
	rc |= dk_buf_add_json_str(&s->out, l->tax.labels[j->best], strlen(l->tax.labels[j->best]));
	rc |= dk_buf_adds(&s->out, ",\"logprobs\":[");
	for (size_t i = 0; i < L; i++)
		rc |= dk_buf_addf(&s->out, "%s%.9g", i ? "," : "", j->lp[i]);
	rc |= dk_buf_adds(&s->out, "]}");
	finish_stream(s);
	return rc ? dk_err_set(err, DK_ENOMEM, "out of memory") : 0;
}

/* labels_first - note 4: every label's first token from the prompt's
 * logits; the longer labels wait for their pass */
static int labels_first(struct llm *l, struct job *j, struct stream *s, const float *lg,
			struct dk_err *err)
{
	double z = eng_logsumexp(lg, l->n_vocab);

	for (size_t i = 0; i < l->tax.n_labels; i++)
		j->lp[i] = (double)lg[l->lab[i].v[0]] - z;
	s->at = -1;
	if (l->n_lab_seq == 0)
		return labels_end(l, j, s, err);
	if (l->lab_tokens > l->b_cap)
		return dk_err_set(err, DK_ELIMIT, "the labels' %u tokens exceed one batch of %u",
				  l->lab_tokens, l->b_cap);
	s->ph = PH_LABELS;
	return 0;
}

/* labels_scored - note 4: the longer labels' other tokens from their pass,
 * in taxonomy order; their sequences are free again */
static int labels_scored(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	uint32_t at = (uint32_t)s->at;
	int rc;

	for (size_t i = 0; i < l->tax.n_labels; i++) {
		const struct tok_ids *lab = &l->lab[i];

		for (size_t t = 1; t < lab->n; t++)
			j->lp[i] += llm_log_softmax_at(eng_logits(l->c, at + (uint32_t)t - 1), l->n_vocab,
						       lab->v[t]);
		at += lab->n > 1 ? (uint32_t)lab->n - 1 : 0;
	}
	rc = labels_release(l, err);
	return rc ? rc : labels_end(l, j, s, err);
}

/* entities_next - note 5: one grammar-constrained greedy choice */
static int entities_next(struct llm *l, struct job *j, struct stream *s, const float *lg,
			 struct dk_err *err)
{
	int32_t id = -1;

	if (!gram_complete(&s->g) && s->gen.n < j->k.entity_max_tokens && s->pos < j->k.n_ctx)
		id = llm_pick(l, lg, &s->g);
	if (id >= 0) {
		const char *b = l->pieces + l->piece_off[id];
		uint32_t n = l->piece_off[id + 1] - l->piece_off[id];

		if (gram_feed(&s->g, b, n) != 0 || dk_buf_add(&s->out, b, n) != 0 ||
		    tok_ids_push(&s->gen, id) != 0)
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		if (!gram_complete(&s->g)) {
			s->next = id;
			s->ph = PH_GEN;
			return 0;
		}
	}
	finish_stream(s);
	return llm_close_value(&s->g, &s->out, err);
}

/* window_text - the window's tokens as valid, trimmed UTF-8 */
static int window_text(struct llm *l, struct stream *s, struct dk_buf *out, struct dk_err *err)
{
	int rc = tok_decode(l->v, s->gen.v, s->gen.n, 0, out, err);

	if (rc == 0) {
		/* a cut multi-byte character or invalid bytes must not reach the store */
		gchar *ok = g_utf8_make_valid(out->buf, (gssize)out->len);
		char *t = g_strstrip(ok);

		dk_buf_reset(out);
		if (dk_buf_adds(out, t) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		g_free(ok);
	}
	return rc;
}

/* window_done - note 3: the map round goes on, the next round begins, or this was the summary */
static int window_done(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	struct dk_buf part = DK_BUF_INIT;
	size_t n;
	int rc;

	if (s->joined == NULL) {
		finish_stream(s);
		return window_text(l, s, &s->out, err);
	}
	rc = window_text(l, s, &part, err);
	if (rc == 0)
		g_string_append_printf(s->joined, "%s%s", s->joined->len ? "\n" : "", part.buf);
	dk_buf_release(&part);
	s->off += s->win;
	s->chunks++;
	if (rc == 0 && s->off >= s->cur_len) {
		size_t before = s->cur_len;

		g_free(s->cur);
		s->cur_len = s->joined->len;
		s->cur = g_string_free(s->joined, FALSE);
		s->joined = NULL;
		s->off = 0;
		rc = llm_fit(l, s->cur, s->cur_len, &j->k, j->room, &n, err);
		/* note 3: a round that did not shrink the text would repeat forever */
		if (rc == 0 && n < s->cur_len && s->cur_len >= before)
			s->cur_len = n;
		else if (rc == 0 && n < s->cur_len)
			s->joined = g_string_new(NULL);
	}
	return rc ? rc : window_start(l, j, s, err);
}

/* summary_next - one greedy token of the window in hand */
static int summary_next(struct llm *l, struct job *j, struct stream *s, const float *lg,
			struct dk_err *err)
{
	int32_t id;

	if (s->gen.n >= j->k.summary_max_tokens || s->pos >= j->k.n_ctx)
		return window_done(l, j, s, err);
	id = samp_sample(&s->samp, lg, l->n_vocab);
	if (id < 0)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (tok_is_eog(l->v, id))
		return window_done(l, j, s, err);
	if (tok_ids_push(&s->gen, id) != 0)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	samp_accept(&s->samp, id);
	s->next = id;
	s->ph = PH_GEN;
	return 0;
}

static int choose(struct llm *l, struct job *j, int st, const float *lg, struct dk_err *err)
{
	struct stream *s = &j->s[st];

	return st == ST_CLASSIFY ? labels_first(l, j, s, lg, err) :
	       st == ST_ENTITIES ? entities_next(l, j, s, lg, err) : summary_next(l, j, s, lg, err);
}

/*
 * choose_drafted - note 10: the choice from the next token's logits, then
 * one from each draft's while the draft is the choice before it; the
 * cells of the drafts not taken are cut
 */
static int choose_drafted(struct llm *l, struct job *j, int st, struct dk_err *err)
{
	struct stream *s = &j->s[st];
	uint32_t nd = s->n_draft, k;
	int rc;

	s->n_draft = 0;
	s->pos -= nd;
	rc = choose(l, j, st, eng_logits(l->c, (uint32_t)s->at), err);
	for (k = 0; rc == 0 && k < nd && s->ph == PH_GEN && s->next == s->draft[k]; k++) {
		s->pos++;
		l->st.draft_ok++;
		rc = choose(l, j, st, eng_logits(l->c, (uint32_t)s->dat + k), err);
	}
	if (rc == 0 && k < nd && s->ph == PH_GEN)
		rc = eng_kv_truncate(l->c, s->seq, s->pos, err);
	return rc;
}

static int stream_logits(struct llm *l, struct job *j, int st, struct dk_err *err)
{
	struct stream *s = &j->s[st];
	double t = llm_now_ms();
	int rc;

	if (s->ph == PH_IDLE || s->ph == PH_DONE || s->at < 0)
		return 0;
	if (s->ph == PH_LABELS)
		rc = labels_scored(l, j, s, err);
	else
		rc = choose_drafted(l, j, st, err);
	s->at = -1;
	l->st.ms_choose[st] += llm_now_ms() - t;
	return rc;
}

/* job_result - note 6 of llm.h's result: decisions in stage order, then label, entities, summary */
static int job_result(struct llm *l, struct job *j, struct dk_err *err)
{
	struct llm_result *r = &j->r;
	char *p;
	int rc = 0;

	for (int st = 0; st < ST_N; st++)
		llm_finish(l, st, &j->k, j->text, j->len, j->d.len, st == ST_SUMMARIZE ? j->s[st].chunks : 0,
			   j->s[st].ms, j->s[st].ck, &j->s[st].out, &r->dec[st]);
	r->n_dec = ST_N;
	r->prefix_ms = j->prefix_ms;
	r->label = g_strdup(l->tax.labels[j->best]);
	r->confidence = j->conf;
	r->needs_review = j->conf < l->o.review_threshold;
	llm_combine_labels(l, j->clf, j->clf_conf, r);
	rc = llm_locate(r->dec[ST_ENTITIES].output, j->text, j->len, j->rules, j->n_rules, r, err);
	if (rc == 0) {
		g_strlcpy(r->summary_language, j->k.summary_lang ? j->k.summary_lang : "",
			  sizeof r->summary_language);
		r->summary = g_strdup(r->dec[ST_SUMMARIZE].output);
		if (llm_faithfulness(r->summary, j->text, j->len, &r->summary_flags) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	if (rc == 0) {
		/* kept with the decision (audited); replay ignores it, as it does "ms" */
		p = r->dec[ST_SUMMARIZE].params;
		p[strlen(p) - 1] = 0;
		r->dec[ST_SUMMARIZE].params = g_strdup_printf("%s,\"unfaithful\":%s}", p, r->summary_flags);
		g_free(p);
	}
	return rc;
}

/* job_progress - after a decode: consume the job's logits; finish it when its stages are done */
static int job_progress(struct llm *l, struct job *j, struct dk_err *err)
{
	int rc = 0, open = 0;

	for (int st = 0; rc == 0 && st < ST_N; st++)
		rc = stream_logits(l, j, st, err);
	if (rc == 0 && !j->forked && j->pre_fed == j->pre.n) {
		j->forked = 1;
		rc = prefix_done(l, j, err);
	}
	for (int st = 0; st < ST_N; st++)
		open |= j->s[st].ph != PH_IDLE && j->s[st].ph != PH_DONE;
	if (rc == 0 && !open && j->forked) {
		if (j->only < 0)
			rc = job_result(l, j, err);
		if (rc == 0)
			job_end(l, j, 0);
	}
	return rc;
}

/* admit - note 7: waiting jobs take free slots, in submission order */
static void admit(struct llm *l)
{
	struct job *j = l->jobs;
	int rc;

	for (uint32_t k = 0; k < l->o.parallel; k++) {
		if (l->slot[k] != NULL)
			continue;
		while (j && (j->started || j->done))
			j = j->next;
		if (j == NULL)
			return;
		l->slot[k] = j;
		j->slot = (int)k;
		rc = job_start(l, j, &j->err);
		if (rc == 0 && j->pre.n == 0)
			rc = job_progress(l, j, &j->err);
		if (rc != 0)
			job_end(l, j, rc);
	}
}

/* heads_share - note 8: jobs whose head is now evaluated share it */
static void heads_share(struct llm *l)
{
	for (uint32_t k = 0; k < l->o.parallel; k++) {
		struct job *j = l->slot[k];
		int rc;

		if (j == NULL || j->wait_fix < 0 || !fixed_ready(l, j->wait_fix))
			continue;
		rc = fixed_share(l, j, j->wait_fix, &j->err);
		fixed_unwait(l, j);
		if (rc != 0)
			job_end(l, j, rc);
	}
}

/* heads_decoded - note 8: a failed decode leaves the heads in it unusable */
static void heads_decoded(struct llm *l, int rc)
{
	for (int i = 0; i < N_FIXED; i++) {
		if (!l->fix[i].in_batch)
			continue;
		l->fix[i].in_batch = 0;
		if (rc == 0)
			continue;
		l->fix[i].ids.n = 0;
		l->fix[i].fed = 0;
		/* its waiters evaluate their heads themselves */
		for (uint32_t k = 0; k < l->o.parallel; k++)
			if (l->slot[k] && l->slot[k]->wait_fix == i)
				fixed_unwait(l, l->slot[k]);
	}
}

/* llm_step - see llm.h and note 7 */
int llm_step(struct llm *l, struct dk_err *err)
{
	struct eng_batch b;
	struct dk_err e = DK_ERR_INIT;
	double t;
	int rc, jrc;

	admit(l);
	heads_share(l);
	build_batch(l);
	if (l->b_n == 0)
		return 0;
	b = (struct eng_batch){ l->b_n, l->b_tok, l->b_pos, l->b_seq, l->b_want };
	t = llm_now_ms();
	rc = eng_decode(l->c, &b, &e);
	l->st.ms_decode += llm_now_ms() - t;
	l->st.steps++;
	heads_decoded(l, rc);
	for (uint32_t i = 0; i < l->b_n; i++)
		l->st.rows += l->b_want[i] != 0;
	for (uint32_t k = 0; k < l->o.parallel; k++) {
		struct job *j = l->slot[k];

		if (j == NULL || !j->in_batch)
			continue;
		j->in_batch = 0;
		if (rc != 0) {
			j->err = e;
			job_end(l, j, rc);
		} else if ((jrc = job_progress(l, j, &j->err)) != 0) {
			job_end(l, j, jrc);
		}
	}
	(void)err;
	return 0;
}

/* llm_run - see llm.h */
int llm_run(struct llm *l, const char *text, size_t len, const char *lang,
	    const struct llm_rule_span *rules, size_t n_rules,
	    const char *clf_label, double clf_conf,
	    struct llm_result *r, struct dk_err *err)
{
	struct llm_doc d = { text, len, lang, rules, n_rules, clf_label, clf_conf };
	uint64_t tag = 0;
	int rc = llm_submit(l, 0, &d, err), doc_rc = 0;

	while (rc == 0 && llm_take(l, &tag, &doc_rc, r, err) == 0)
		rc = llm_step(l, err);
	return rc ? rc : doc_rc;
}

/* llm_result_release - see llm.h */
void llm_result_release(struct llm_result *r)
{
	g_free(r->label);
	for (size_t i = 0; i < r->n_entities; i++) {
		g_free(r->entities[i].type);
		g_free(r->entities[i].text);
	}
	free(r->entities);
	g_free(r->summary);
	free(r->summary_flags);
	for (size_t i = 0; i < r->n_dec; i++) {
		g_free(r->dec[i].params);
		free(r->dec[i].output);
	}
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ jobs */

void llm_job_free(struct job *j)
{
	for (int st = 0; st < ST_N; st++)
		stream_release(&j->s[st]);
	tok_ids_release(&j->pre);
	dk_buf_release(&j->d.filled);
	free(j->lp);
	g_free(j->text);
	g_free(j->lang);
	free(j->rules);
	free(j->types);
	g_free(j->clf);
	llm_result_release(&j->r);
	free(j);
}

/* job_rules - copy the rule spans; their types into one NUL-separated block */
static int job_rules(struct job *j, const struct llm_rule_span *r, size_t n)
{
	size_t bytes = 0, o = 0;

	for (size_t i = 0; i < n; i++)
		bytes += strlen(r[i].type) + 1;
	j->rules = calloc(n + 1, sizeof *j->rules);
	j->types = malloc(bytes + 1);
	if (j->rules == NULL || j->types == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(r[i].type) + 1;

		memcpy(j->types + o, r[i].type, k);
		j->rules[i] = r[i];
		j->rules[i].type = j->types + o;
		o += k;
	}
	j->n_rules = n;
	return 0;
}

/* llm_submit - see llm.h */
int llm_submit(struct llm *l, uint64_t tag, const struct llm_doc *d, struct dk_err *err)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory queueing a document");
	j->tag = tag;
	j->slot = -1;
	j->wait_fix = -1;
	j->only = -1;
	dk_buf_init(&j->d.filled, 0);
	j->text = g_strndup(d->text, d->len);
	j->len = d->len;
	j->lang = d->lang ? g_strdup(d->lang) : NULL;
	j->clf = d->clf_label ? g_strdup(d->clf_label) : NULL;
	j->clf_conf = d->clf_conf;
	if (job_rules(j, d->rules, d->n_rules) != 0) {
		llm_job_free(j);
		return dk_err_set(err, DK_ENOMEM, "out of memory queueing a document");
	}
	llm_call_defaults(l, j->lang, &j->k);
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
	l->n_jobs++;
	return 0;
}

size_t llm_pending(const struct llm *l)
{
	return l->n_jobs;
}

/* llm_drafts - see llm.h */
void llm_drafts(const struct llm *l, uint64_t *evaluated, uint64_t *accepted)
{
	*evaluated = l->st.tok_draft;
	*accepted = l->st.draft_ok;
}

/* llm_take - see llm.h: finished jobs leave in any order */
int llm_take(struct llm *l, uint64_t *tag, int *doc_rc, struct llm_result *r,
	     struct dk_err *doc_err)
{
	for (struct job **p = &l->jobs; *p; p = &(*p)->next) {
		struct job *j = *p;

		if (!j->done)
			continue;
		*p = j->next;
		if (l->jobs_tail == &j->next)
			l->jobs_tail = p;
		l->n_jobs--;
		*tag = j->tag;
		*doc_rc = j->rc;
		*doc_err = j->err;
		*r = j->r;
		memset(&j->r, 0, sizeof j->r);
		llm_job_free(j);
		return 1;
	}
	return 0;
}
