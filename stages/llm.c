/*
 * NAME
 *	llm - the model stages of one document (see llm.h)
 * DESIGN NOTES
 *	1. Prompt layout. Every stage's prompt is one user turn of the model's
 *	   chat template: HEAD + prefix.txt(filled) + "\n\n" + <stage>.txt(filled)
 *	   + TAIL, where HEAD and TAIL are what chat_render() puts around a
 *	   message (found by rendering "X" and "Y" and diffing). The document
 *	   sits in the shared part, so its tokens are evaluated once, on the
 *	   document's first sequence, and classify and entities fork that KV
 *	   prefix (eng_kv_copy_prefix) onto their own sequences; summarize
 *	   goes on on the first one. HEAD and TAIL are tokenized with special-token
 *	   parsing; the filled templates never are, so a letter that contains
 *	   "<|im_start|>" cannot forge a turn. Every template may use every
 *	   variable (fill_call).
 *	2. Sequences: each of the opts.parallel slots owns 3 sequences from
 *	   base = slot * 3: base + 0 the prefix, then summarize; base + 1
 *	   entities; base + 2 classify and its labels. n_seq_max = parallel *
 *	   3 + N_FIXED. The KV cache is allocated for all of them, but only
 *	   the positions written are ever touched.
 *	3. Fitting: when prefix + the largest stage suffix + the largest
 *	   generation budget exceed n_ctx, the document is cut (at a line or
 *	   sentence end) for classify and entities; summarize maps over chunks
 *	   of that size and reduces the joined chunk summaries (repeatedly,
 *	   while they do not fit and each round shortens them; a round that
 *	   does not, as when the prompt leaves room for only a few bytes per
 *	   window, ends with the part that fits as the final window). Each
 *	   summary window generates at most summary_max_tokens tokens. The
 *	   room depends on every stage's prompt, so the summary's language is
 *	   in every stage's params: a classify replay cuts where the run did.
 *	4. Classification: score(label) = sum of the log-probabilities of the
 *	   label's tokens after the prompt (no length normalisation: this is
 *	   the probability of the whole answer); confidence = softmax over the
 *	   labels. Output bytes: {"label":...,"logprobs":[...]} in taxonomy
 *	   order, %.9g. Every label's first token is scored from the prompt's
 *	   logits; a longer label then puts its tokens but the last after the
 *	   prompt on the classify sequence, one label per step (riding in the
 *	   steps of the other documents), and truncates them away again: no
 *	   copy of the prefix per label, whose KV (139 KB per position for
 *	   gemma3-4b) would cost more memory traffic than the tokens.
 *	5. Entities: greedy over the tokens the grammar accepts: candidates in
 *	   descending logit order (top 32, then the whole vocabulary) are
 *	   probed on a copy of the gram_state; a token with no bytes or an
 *	   end-of-generation token is never chosen, generation ends when the
 *	   grammar is complete. When the token budget or the context runs out,
 *	   the value is closed byte by byte with the first byte of a fixed
 *	   order ('"', '}', ']', ',', letters, printable, continuation bytes)
 *	   that the grammar accepts, so the output is schema-valid whatever
 *	   the model. Each item is then searched verbatim in the whole text
 *	   (first occurrence; repeats of the same type and offset are merged).
 *	6. Determinism: the engine's logits do not depend on the thread count,
 *	   nor on which other sequences share a batch or how a sequence's
 *	   tokens are split into batches; ties in ordering go to the smaller
 *	   id, and every choice here is a pure function of one stream's own
 *	   logits, so a decision's bytes do not depend on the documents it was
 *	   batched with, and a replay (the same scheduler, one stage of one
 *	   document) gives the same bytes.
 *	7. Scheduling. A job (one document) waits for a free slot, then:
 *	       prefix tokens --all evaluated--> three streams, one per stage:
 *	       FEED (its prompt suffix) --last logits--> GEN (one token per
 *	       step; classify: LABELS, one label per step) --> DONE
 *	   llm_step() builds one batch from every slot, in priority order:
 *	   label scoring (one label of a document), the next
 *	   token of each generating stream, prompt suffixes, prefixes; logits
 *	   only where a choice is made (no logits for prefixes, one per
 *	   prompt). One eng_decode() then advances all of them: one pass over
 *	   the weights serves every document in flight. The job ends when its
 *	   streams are done (or at its first error, which fails that document
 *	   only); its result is assembled in stage order. A step costs one
 *	   pass over the weights plus its tokens (gemma3-4b: ~80 ms + ~12 ms a
 *	   token), and a document needs ~120 steps of one summary token, so
 *	   more documents in flight mean fewer, fuller steps: 16 letters of
 *	   eval/dev took 589 steps at llm_parallel 4, 466 at 6, 349 at 8 for
 *	   the same tokens (the default is 8; the KV cache grows with it).
 *	8. Shared head. The part of prefix.txt before {{document}} holds all
 *	   three tasks' instructions, the entity types and the taxonomy (one
 *	   description per label, English first: taxonomy_block), and no
 *	   per-document variable: the letter's language comes after the
 *	   letter and the summary's language in summarize.txt. It is
 *	   tokenized on its own, so its tokens are the same for every
 *	   document of a run and it is evaluated once per run, not once per
 *	   language. The first job with a head claims an entry of l->fix
 *	   (N_FIXED of them, for replays under another configuration; the
 *	   least recently used one nobody waits for goes) and the head is
 *	   evaluated there, on a sequence of its own, ahead of job prefixes;
 *	   every job with that head, the first included, waits for it
 *	   (wait_fix: its prefix stays out of the batches) and then copies it
 *	   (eng_kv_copy_prefix), as does a summary window. So the head is
 *	   evaluated once even when the first llm_parallel documents start
 *	   together; only with every entry busy does a job evaluate its head
 *	   itself. The copied cells are the very bits evaluation would write
 *	   (same tokens, same positions), so the output bytes do not depend on
 *	   the cache. A failed decode drops the heads it held. The per-stage
 *	   suffixes are a few tokens each ("Task: class.").
 *	9. Accounting. llm_close() logs where the engine's work went: steps,
 *	   tokens evaluated per step and per document, heads evaluated,
 *	   tokens evaluated by kind (prefix and heads, copied heads, stage prompts,
 *	   labels, generated per stage), logit rows, and the wall time of the
 *	   decodes and of the choices made on their logits. Batched decoding
 *	   is compute bound from a few sequences on, so tokens evaluated per
 *	   document is what sets documents per minute.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "engine/chat.h"
#include "engine/engine.h"
#include "engine/grammar.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "stages/llm.h"
#include "stages/schema_grammar.h"
#include "stages/taxonomy.h"
#include "util/dk_log.h"
#include "util/dk_path.h"

enum { ST_CLASSIFY, ST_ENTITIES, ST_SUMMARIZE, ST_N };
enum { N_FIXED = 2 };	/* fixed prompt heads kept evaluated (note 8) */
static const char *const stage_names[ST_N] = { "classify", "entities", "summarize" };

struct tmpl {
	char *text;		/* file contents, trailing white space removed */
	char id[32];		/* file name */
	char sha[65];		/* of the file's bytes */
};

struct llm {
	struct llm_opts o;
	struct eng_model *m;
	struct eng_ctx *c;
	struct tok_vocab *v;
	enum chat_tmpl chat;
	char model_sha[65];
	struct tmpl prefix, task[ST_N];
	struct taxonomy tax;
	struct tok_ids *lab;	/* (tax.n_labels) each label's tokens (note 4) */
	struct gram_node *gram;
	char gram_sha[65];
	char *entity_types;	/* "person, organization, address" */
	struct dk_buf head, tail;	/* chat framing around one user message */
	uint32_t n_vocab;
	char *pieces;		/* bytes of every token, (piece_off[n_vocab]) */
	uint32_t *piece_off;	/* (n_vocab + 1) */
	struct job *jobs, **jobs_tail;	/* submitted, in order (llm_submit) */
	size_t n_jobs;
	/* the scheduler (note 7) */
	struct job **slot;	/* (o.parallel) the job holding each block of sequences */
	uint32_t seqs_per_slot;	/* 3 (note 2) */
	uint32_t b_cap, b_n;	/* entries the batch holds / has */
	int32_t *b_tok, *b_pos, *b_seq;	/* (b_cap) */
	int8_t *b_want;		/* (b_cap) */
	/* note 8: evaluated heads of the prefix, shared by every document */
	struct fixed_kv {
		struct tok_ids ids;	/* the head's tokens; n == 0: empty */
		size_t fed;		/* ids put in batches; < ids.n: being evaluated */
		uint32_t waiters;	/* jobs waiting for it (job.wait_fix) */
		int in_batch;		/* some of ids are in the batch being decoded */
		uint64_t used;		/* clock of the last use */
	} fix[N_FIXED];
	uint64_t clock;
	struct llm_stats {	/* note 9 */
		uint64_t steps, docs, heads;
		uint64_t tok_prefix, tok_fixed, tok_prompt, tok_label, tok_gen[ST_N], rows;
		double ms_decode, ms_choose[ST_N], ms_start, ms_fork;
	} st;
};

/* one stage call: what params record and replay restores */
struct call {
	const char *lang;		/* may be NULL */
	const char *summary_lang;	/* the summary's language code; NULL: the letter's own */
	uint32_t n_ctx;
	uint32_t entity_max_tokens;
	uint32_t summary_max_tokens;
	uint32_t max_words;
};

/* the evaluated shared prefix */
struct doc {
	const char *text;
	size_t len;		/* bytes of text in the prompt (note 3) */
	struct dk_buf filled;	/* prefix.txt filled */
	uint32_t n_prefix;	/* tokens on the slot's first sequence */
};

enum phase { PH_IDLE, PH_FEED, PH_GEN, PH_LABELS, PH_DONE };

/* one stage of one document, decoding on its own sequence (note 7) */
struct stream {
	enum phase ph;
	int32_t seq;
	struct tok_ids in;	/* PH_FEED: prompt tokens, in.v[fed..] still to evaluate */
	size_t fed;
	uint32_t pos;		/* next position of seq */
	int32_t next;		/* PH_GEN: the token chosen, evaluated in the next batch */
	int32_t at;		/* batch entry holding this stream's logits, or -1 */
	GChecksum *ck;		/* the stage's prompt text(s) */
	struct dk_buf out;	/* the output bytes */
	struct gram_state g;	/* entities */
	struct samp samp;	/* summarize, per window */
	int samp_on;
	struct tok_ids gen;	/* summarize: this window's tokens */
	uint32_t n_gen;		/* entities: tokens chosen */
	double t0, ms;		/* start; wall time from start to done (the stages overlap) */
	/* summarize map-reduce (note 3): window cur[off, off + win) */
	char *cur;
	size_t cur_len, off, win;
	GString *joined;	/* a map round's summaries so far; NULL: the final window */
	int chunks;
};

/* one submitted document: owned copies of the request, then its outcome */
struct job {
	uint64_t tag;
	char *text;
	size_t len;
	char *lang;
	struct llm_rule_span *rules;	/* (n_rules), types point into types */
	char *types;			/* the rule types, NUL-separated */
	size_t n_rules;
	char *clf;
	double clf_conf;
	int only;		/* replay: the one stage to run; -1: all three */
	int slot;		/* index into l->slot, -1: none (waiting or finished) */
	int started, forked, in_batch;
	struct call k;
	uint32_t room;		/* positions the stages need after the prefix */
	struct doc d;
	struct tok_ids pre;	/* the prefix tokens, pre.v[pre_fed..] still to evaluate */
	size_t pre_fed;
	size_t n_fixed;		/* note 8: tokens of pre before the document */
	int wait_fix;		/* the l->fix entry being evaluated for it, or -1 */
	double t_start, prefix_ms;
	struct stream s[ST_N];
	size_t lab_i;		/* classify: the label being scored (note 4) */
	double *lp;		/* (n_labels) label log-likelihoods */
	size_t best;
	double conf;
	int done, rc;
	struct dk_err err;
	struct llm_result r;
	struct job *next;
};

static void job_free(struct job *j);

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* llm_file_sha256 - see llm.h */
int llm_file_sha256(const char *path, char out[65], struct dk_err *err)
{
	FILE *f = fopen(path, "rb");
	GChecksum *ck;
	unsigned char *buf;
	size_t n;
	int rc = 0;

	if (f == NULL)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open '%s': %s", path, strerror(errno));
	ck = g_checksum_new(G_CHECKSUM_SHA256);
	buf = malloc(1 << 20);
	if (buf == NULL) {
		rc = dk_err_set(err, DK_ENOMEM, "out of memory hashing '%s'", path);
	} else {
		while ((n = fread(buf, 1, 1 << 20, f)) > 0)
			g_checksum_update(ck, buf, n);
		if (ferror(f))
			rc = dk_err_set(err, DK_EIO, "cannot read '%s'", path);
		else
			g_strlcpy(out, g_checksum_get_string(ck), 65);
	}
	free(buf);
	g_checksum_free(ck);
	fclose(f);
	return rc;
}

static void sha_hex(const void *p, size_t n, char out[65])
{
	gchar *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, p, n);

	g_strlcpy(out, s, 65);
	g_free(s);
}

/* lang_code - s if it is a language code that params can record as is, else NULL */
static const char *lang_code(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n < 16 && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == n ? s : NULL;
}

/* load_tmpl - read DATADIR/prompts/name */
static int load_tmpl(const char *dir, const char *name, struct tmpl *t, struct dk_err *err)
{
	char path[4096];
	gchar *s;
	gsize n;
	GError *ge = NULL;

	snprintf(path, sizeof path, "%s/prompts/%s", dir, name);
	if (!g_file_get_contents(path, &s, &n, &ge)) {
		int rc = dk_err_set(err, DK_ENOTFOUND, "cannot read prompt template '%s': %s",
				    path, ge->message);
		g_error_free(ge);
		return rc;
	}
	sha_hex(s, n, t->sha);
	g_strchomp(s);
	t->text = s;
	g_strlcpy(t->id, name, sizeof t->id);
	return 0;
}

struct var {
	const char *name;
	const char *value;
};

/* fill - append t with every {{name}} replaced; values are not rescanned */
static int fill(const char *t, const struct var *vars, size_t n, struct dk_buf *out,
		struct dk_err *err)
{
	const char *p = t, *o, *c;
	int rc = 0;

	while (rc == 0 && (o = strstr(p, "{{")) != NULL && (c = strstr(o, "}}")) != NULL) {
		size_t i;

		rc = dk_buf_add(out, p, (size_t)(o - p));
		for (i = 0; i < n; i++)
			if (strlen(vars[i].name) == (size_t)(c - o - 2) &&
			    memcmp(vars[i].name, o + 2, (size_t)(c - o - 2)) == 0)
				break;
		if (i == n)
			return dk_err_set(err, DK_EFORMAT, "unknown template variable '%.*s'",
					  (int)(c - o - 2), o + 2);
		if (rc == 0)
			rc = dk_buf_adds(out, vars[i].value);
		p = c + 2;
	}
	if (rc == 0)
		rc = dk_buf_adds(out, p);
	return rc ? dk_err_set(err, DK_ENOMEM, "out of memory filling a prompt") : 0;
}

/* framing - HEAD and TAIL around one user message (note 1) */
static int framing(struct llm *l, struct dk_err *err)
{
	struct dk_buf x = DK_BUF_INIT, y = DK_BUF_INIT;
	struct chat_msg mx = { "user", "X" }, my = { "user", "Y" };
	size_t h = 0;
	int rc;

	rc = chat_render(l->chat, &mx, 1, 1, &x, err);
	if (rc == 0)
		rc = chat_render(l->chat, &my, 1, 1, &y, err);
	if (rc == 0) {
		while (h < x.len && x.buf[h] == y.buf[h])
			h++;
		if (h == x.len || x.len != y.len || strcmp(x.buf + h + 1, y.buf + h + 1) != 0)
			rc = dk_err_set(err, DK_EFORMAT, "chat template '%s' has no single message slot",
					chat_name(l->chat));
	}
	if (rc == 0 && (dk_buf_add(&l->head, x.buf, h) || dk_buf_adds(&l->tail, x.buf + h + 1)))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	dk_buf_release(&x);
	dk_buf_release(&y);
	return rc;
}

/* entity_types - the values of the first enum in the grammar (the "type" field) */
static const struct gram_node *first_enum(const struct gram_node *n)
{
	const struct gram_node *r = NULL;

	if (n == NULL)
		return NULL;
	if (n->kind == GRAM_ENUM)
		return n;
	for (int i = 0; r == NULL && i < n->n_props; i++)
		r = first_enum(n->props[i]);
	return r ? r : first_enum(n->items);
}

static int load_grammar(struct llm *l, const char *dir, struct dk_err *err)
{
	char path[4096];
	const struct gram_node *en;
	GString *s;
	int rc;

	snprintf(path, sizeof path, "%s/schemas/llm-entities.schema.json", dir);
	rc = llm_file_sha256(path, l->gram_sha, err);
	if (rc == 0)
		rc = schema_grammar_load(path, &l->gram, err);
	if (rc != 0)
		return rc;
	en = first_enum(l->gram);
	if (en == NULL)
		return dk_err_set(err, DK_EFORMAT, "entity schema '%s' has no type enum", path);
	s = g_string_new(NULL);
	for (int i = 0; i < en->n_values; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", en->values[i]);
	l->entity_types = g_string_free(s, FALSE);
	return 0;
}

/* pieces - the bytes of every token, once, for grammar probing */
static int load_pieces(struct llm *l, struct dk_err *err)
{
	struct dk_buf b = DK_BUF_INIT;
	uint32_t n_tok = tok_n_tokens(l->v);

	l->piece_off = calloc(l->n_vocab + 1, sizeof *l->piece_off);
	if (l->piece_off == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory for the token table");
	for (uint32_t id = 0; id < l->n_vocab; id++) {
		if (id < n_tok && tok_piece(l->v, (int32_t)id, 0, &b) != 0) {
			dk_buf_release(&b);
			return dk_err_set(err, DK_ENOMEM, "out of memory for the token table");
		}
		l->piece_off[id + 1] = (uint32_t)b.len;
	}
	l->pieces = dk_buf_detach(&b, NULL);
	return 0;
}

static int open_model(struct llm *l, struct dk_err *err)
{
	struct eng_ctx_params cp = { 0, 0, 0, 512 };
	int rc;

	rc = llm_file_sha256(l->o.model, l->model_sha, err);
	if (rc != 0)
		return rc;
	if (l->o.model_sha256 && *l->o.model_sha256 &&
	    g_ascii_strcasecmp(l->o.model_sha256, l->model_sha) != 0)
		return dk_err_setx(err, DK_ECONFIG, "model_sha256_mismatch",
				   "model '%s' has sha256 %s, not the pinned model_sha256 %s",
				   l->o.model, l->model_sha, l->o.model_sha256);
	rc = eng_model_load(l->o.model, &l->m, err);
	if (rc == 0)
		rc = tok_vocab_from_gguf(eng_model_gguf(l->m), &l->v, err);
	if (rc == 0)
		rc = chat_from_gguf(eng_model_gguf(l->m), &l->chat, err);
	if (rc != 0)
		return rc;
	l->n_vocab = eng_model_hparams(l->m)->n_vocab;
	cp.n_ctx = l->o.n_ctx;
	cp.n_threads = l->o.n_threads;
	l->seqs_per_slot = 3;
	cp.n_seq_max = l->o.parallel * l->seqs_per_slot + N_FIXED;
	rc = eng_ctx_new(l->m, &cp, &l->c, err);
	if (rc != 0)
		return rc;
	l->b_cap = eng_ctx_params(l->c)->n_batch;
	l->slot = calloc(l->o.parallel, sizeof *l->slot);
	l->b_tok = calloc(l->b_cap, sizeof *l->b_tok);
	l->b_pos = calloc(l->b_cap, sizeof *l->b_pos);
	l->b_seq = calloc(l->b_cap, sizeof *l->b_seq);
	l->b_want = calloc(l->b_cap, sizeof *l->b_want);
	if (!l->slot || !l->b_tok || !l->b_pos || !l->b_seq || !l->b_want)
		return dk_err_set(err, DK_ENOMEM, "out of memory for the scheduler");
	return 0;
}

/* label_tokens - note 4: every label's verbalisation, tokenized once */
static int label_tokens(struct llm *l, struct dk_err *err)
{
	int rc = 0;

	l->lab = calloc(l->tax.n_labels, sizeof *l->lab);
	if (l->lab == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < l->tax.n_labels; i++) {
		rc = tok_encode(l->v, l->tax.labels[i], strlen(l->tax.labels[i]), 0, &l->lab[i], err);
		if (rc == 0 && l->lab[i].n == 0)
			rc = dk_err_set(err, DK_EFORMAT, "label '%s' has no tokens", l->tax.labels[i]);
	}
	return rc;
}

/* llm_open - see llm.h */
int llm_open(struct llm **out, const struct llm_opts *opts, struct dk_err *err)
{
	struct llm *l = calloc(1, sizeof *l);
	char tax[4096];
	const char *dir;
	int rc;

	*out = NULL;
	if (l == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	l->o = *opts;
	if (l->o.n_ctx == 0)
		l->o.n_ctx = 2048;
	if (l->o.entity_max_tokens == 0)
		l->o.entity_max_tokens = 256;
	if (l->o.summary_max_tokens == 0)
		l->o.summary_max_tokens = 120;
	if (l->o.summary_max_words == 0)
		l->o.summary_max_words = 60;
	if (l->o.summary_language == NULL)
		l->o.summary_language = "";
	if (*l->o.summary_language && lang_code(l->o.summary_language) == NULL) {
		free(l);
		return dk_err_setx(err, DK_ECONFIG, "bad_summary_language", "summary_language '%s' "
				   "is not a language code such as 'de'", opts->summary_language);
	}
	if (l->o.parallel == 0)
		l->o.parallel = 1;
	dk_buf_init(&l->head, 0);
	dk_buf_init(&l->tail, 0);
	l->jobs_tail = &l->jobs;
	dir = opts->datadir ? opts->datadir : dk_datadir();
	snprintf(tax, sizeof tax, "%s/prompts/taxonomy.tsv", dir);
	rc = taxonomy_load(&l->tax, opts->taxonomy ? opts->taxonomy : tax, err);
	if (rc == 0 && l->tax.n_labels == 0)
		rc = dk_err_set(err, DK_EFORMAT, "the taxonomy has no labels");
	if (rc == 0)
		rc = load_tmpl(dir, "prefix.txt", &l->prefix, err);
	for (int s = 0; rc == 0 && s < ST_N; s++) {
		char name[32];

		snprintf(name, sizeof name, "%s.txt", stage_names[s]);
		rc = load_tmpl(dir, name, &l->task[s], err);
	}
	if (rc == 0)
		rc = load_grammar(l, dir, err);
	if (rc == 0)
		rc = open_model(l, err);
	if (rc == 0)
		rc = framing(l, err);
	if (rc == 0)
		rc = load_pieces(l, err);
	if (rc == 0)
		rc = label_tokens(l, err);
	if (rc != 0) {
		llm_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* log_stats - note 9: where the engine's time went */
static void log_stats(const struct llm *l)
{
	const struct llm_stats *s = &l->st;
	uint64_t evaluated = s->tok_prefix + s->tok_prompt + s->tok_label + s->tok_gen[ST_ENTITIES] +
			     s->tok_gen[ST_SUMMARIZE];

	log_info("stage=engine docs=%llu steps=%llu tokens_per_step=%.1f tokens_per_doc=%.0f heads_evaluated=%llu decode_s=%.1f "
		 "prefix_tokens=%llu head_tokens_copied=%llu prompt_tokens=%llu label_tokens=%llu "
		 "gen_entities=%llu gen_summarize=%llu logit_rows=%llu start_s=%.2f fork_s=%.2f "
		 "classify_s=%.2f entities_s=%.2f summarize_s=%.2f",
		 (unsigned long long)s->docs, (unsigned long long)s->steps,
		 (double)evaluated / (double)s->steps,
		 (double)evaluated / (double)(s->docs ? s->docs : 1), (unsigned long long)s->heads,
		 s->ms_decode / 1e3,
		 (unsigned long long)s->tok_prefix, (unsigned long long)s->tok_fixed,
		 (unsigned long long)s->tok_prompt, (unsigned long long)s->tok_label,
		 (unsigned long long)s->tok_gen[ST_ENTITIES], (unsigned long long)s->tok_gen[ST_SUMMARIZE],
		 (unsigned long long)s->rows, s->ms_start / 1e3, s->ms_fork / 1e3,
		 s->ms_choose[ST_CLASSIFY] / 1e3, s->ms_choose[ST_ENTITIES] / 1e3,
		 s->ms_choose[ST_SUMMARIZE] / 1e3);
}

/* llm_close - see llm.h */
void llm_close(struct llm *l)
{
	if (l == NULL)
		return;
	if (l->st.steps > 0)
		log_stats(l);
	while (l->jobs) {
		struct job *j = l->jobs;

		l->jobs = j->next;
		job_free(j);
	}
	eng_ctx_free(l->c);
	tok_vocab_free(l->v);
	eng_model_free(l->m);
	g_free(l->prefix.text);
	for (int s = 0; s < ST_N; s++)
		g_free(l->task[s].text);
	for (size_t i = 0; l->lab && i < l->tax.n_labels; i++)
		tok_ids_release(&l->lab[i]);
	free(l->lab);
	taxonomy_release(&l->tax);
	gram_node_free(l->gram);
	g_free(l->entity_types);
	dk_buf_release(&l->head);
	dk_buf_release(&l->tail);
	free(l->pieces);
	free(l->piece_off);
	for (int i = 0; i < N_FIXED; i++)
		tok_ids_release(&l->fix[i].ids);
	free(l->slot);
	free(l->b_tok);
	free(l->b_pos);
	free(l->b_seq);
	free(l->b_want);
	free(l);
}

const char *llm_model_sha256(const struct llm *l)
{
	return l->model_sha;
}

const char *const *llm_labels(const struct llm *l, size_t *n)
{
	*n = l->tax.n_labels;
	return (const char *const *)l->tax.labels;
}

/* ------------------------------------------------------------ prompts */

/*
 * taxonomy_block - "- label: description" lines, the English description
 * (else the label's first): the same for every document, so the head
 * that holds it is evaluated once per run (note 8)
 */
static char *taxonomy_block(const struct llm *l)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < l->tax.n_labels; i++) {
		const char *lab = l->tax.labels[i], *d = NULL, *first = NULL;

		for (size_t j = 0; j < l->tax.n_entries && d == NULL; j++) {
			const struct taxonomy_entry *e = &l->tax.entries[j];

			if (strcmp(e->label, lab) != 0)
				continue;
			if (first == NULL)
				first = e->description;
			if (strcmp(e->lang, "en") == 0)
				d = e->description;
		}
		d = d ? d : first;
		g_string_append_printf(s, "%s- %s%s%s", i ? "\n" : "", lab, d && *d ? ": " : "",
				       d ? d : "");
	}
	return g_string_free(s, FALSE);
}

/*
 * language_name - "German (de)" for the codes langid reports (the EU's 24
 * languages), the bare code otherwise. A fixed table, not ICU's display
 * names: the prompt's bytes must not change with a library upgrade, or
 * recorded decisions would no longer replay.
 */
static void language_name(const char *code, char *out, size_t n)
{
	static const char *const names[][2] = {
		{ "bg", "Bulgarian" }, { "cs", "Czech" }, { "da", "Danish" }, { "de", "German" },
		{ "el", "Greek" }, { "en", "English" }, { "es", "Spanish" }, { "et", "Estonian" },
		{ "fi", "Finnish" }, { "fr", "French" }, { "ga", "Irish" }, { "hr", "Croatian" },
		{ "hu", "Hungarian" }, { "it", "Italian" }, { "lt", "Lithuanian" },
		{ "lv", "Latvian" }, { "mt", "Maltese" }, { "nl", "Dutch" }, { "pl", "Polish" },
		{ "pt", "Portuguese" }, { "ro", "Romanian" }, { "sk", "Slovak" },
		{ "sl", "Slovenian" }, { "sv", "Swedish" },
	};

	if (code == NULL) {
		g_strlcpy(out, "the letter's own language", n);
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(code, names[i][0]) == 0) {
			snprintf(out, n, "%s (%s)", names[i][1], code);
			return;
		}
	g_strlcpy(out, code, n);
}

/*
 * fill_call - append template t filled with a call's variables (every
 * template may use any of them); text[0..len) is {{document}}
 */
static int fill_call(const struct llm *l, const char *t, const struct call *k, const char *text,
		     size_t len, struct dk_buf *out, struct dk_err *err)
{
	char words[16], sum_lang[64], lang[64];
	char *tax = taxonomy_block(l), *doc = g_strndup(text, len);
	struct var vars[] = {
		{ "language", lang },
		{ "summary_language", sum_lang },
		{ "taxonomy", tax },
		{ "entity_types", l->entity_types },
		{ "max_words", words },
		{ "document", doc },
	};
	int rc;

	snprintf(words, sizeof words, "%u", k->max_words);
	language_name(k->summary_lang, sum_lang, sizeof sum_lang);
	/* params record only a code (params_json): replay must fill the same bytes */
	if (lang_code(k->lang))
		language_name(k->lang, lang, sizeof lang);
	else
		g_strlcpy(lang, "unknown", sizeof lang);
	rc = fill(t, vars, sizeof vars / sizeof vars[0], out, err);
	g_free(tax);
	g_free(doc);
	return rc;
}

/* task_text - the filled <stage>.txt */
static int task_text(const struct llm *l, int st, const struct call *k, struct dk_buf *out,
		     struct dk_err *err)
{
	return fill_call(l, l->task[st].text, k, "", 0, out, err);
}

static int encode(const struct llm *l, const char *s, size_t n, unsigned flags,
		  struct tok_ids *ids, struct dk_err *err)
{
	return tok_encode(l->v, s, n, flags, ids, err);
}

/*
 * prefix_ids - BOS, HEAD (specials parsed) and the filled prefix + "\n\n";
 * note 8: the part of prefix.txt before {{document}} is tokenized on its
 * own, and *n_fixed (may be NULL) counts the tokens up to its end
 */
static int prefix_ids(const struct llm *l, const char *text, size_t len, const struct call *k,
		      struct dk_buf *filled, struct tok_ids *ids, size_t *n_fixed,
		      struct dk_err *err)
{
	const char *at = strstr(l->prefix.text, "{{document}}");
	char *fixed = g_strndup(l->prefix.text, at ? (size_t)(at - l->prefix.text) : 0);
	size_t split;
	int rc;

	dk_buf_reset(filled);
	rc = fill_call(l, fixed, k, text, len, filled, err);
	split = filled->len;
	if (rc == 0)
		rc = fill_call(l, l->prefix.text + strlen(fixed), k, text, len, filled, err);
	g_free(fixed);
	if (rc == 0 && dk_buf_adds(filled, "\n\n") != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0 && tok_add_bos(l->v) && tok_bos(l->v) >= 0 && tok_ids_push(ids, tok_bos(l->v)))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = encode(l, l->head.buf, l->head.len, TOK_PARSE_SPECIAL, ids, err);
	if (rc == 0)
		rc = encode(l, filled->buf, split, 0, ids, err);
	if (n_fixed)
		*n_fixed = ids->n;
	if (rc == 0)
		rc = encode(l, filled->buf + split, filled->len - split, 0, ids, err);
	return rc;
}

/* suffix_ids - the filled task text and TAIL; hashes the whole prompt into ck */
static int suffix_ids(const struct llm *l, int st, const struct call *k, const struct doc *d,
		      struct tok_ids *ids, GChecksum *ck, struct dk_err *err)
{
	struct dk_buf t = DK_BUF_INIT;
	int rc = task_text(l, st, k, &t, err);

	if (rc == 0)
		rc = encode(l, t.buf, t.len, 0, ids, err);
	if (rc == 0)
		rc = encode(l, l->tail.buf, l->tail.len, TOK_PARSE_SPECIAL, ids, err);
	if (rc == 0) {
		g_checksum_update(ck, (const guchar *)l->head.buf, (gssize)l->head.len);
		g_checksum_update(ck, (const guchar *)d->filled.buf, (gssize)d->filled.len);
		g_checksum_update(ck, (const guchar *)t.buf, (gssize)t.len);
		g_checksum_update(ck, (const guchar *)l->tail.buf, (gssize)l->tail.len);
	}
	dk_buf_release(&t);
	return rc;
}

/* reserve - positions the stages need after the prefix (note 3) */
static int reserve(const struct llm *l, const struct call *k, uint32_t *out, struct dk_err *err)
{
	uint32_t most = 0, label_most = 0;
	struct doc d = { "", 0, DK_BUF_INIT, 0 };
	int rc = 0;

	for (int st = 0; rc == 0 && st < ST_N; st++) {
		struct tok_ids ids = TOK_IDS_INIT;
		GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);

		rc = suffix_ids(l, st, k, &d, &ids, ck, err);
		if (ids.n > most)
			most = (uint32_t)ids.n;
		g_checksum_free(ck);
		tok_ids_release(&ids);
	}
	for (size_t i = 0; rc == 0 && i < l->tax.n_labels; i++) {
		struct tok_ids ids = TOK_IDS_INIT;

		rc = encode(l, l->tax.labels[i], strlen(l->tax.labels[i]), 0, &ids, err);
		if (ids.n > label_most)
			label_most = (uint32_t)ids.n;
		tok_ids_release(&ids);
	}
	if (k->entity_max_tokens > label_most)
		label_most = k->entity_max_tokens;
	if (k->summary_max_tokens > label_most)
		label_most = k->summary_max_tokens;
	*out = most + label_most + 4;
	return rc;
}

/* cut - the longest prefix of text[0..n) ending at a line or sentence end, or a char */
static size_t cut(const char *text, size_t n)
{
	size_t i;

	for (i = n; i > n / 2; i--)
		if (text[i - 1] == '\n' || (i >= 2 && text[i - 1] == ' ' && strchr(".!?", text[i - 2])))
			return i;
	for (i = n; i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80; i--)
		;
	return i;
}

/* fit - bytes of text[0..len) whose prefix leaves room for the stages */
static int fit(const struct llm *l, const char *text, size_t len, const struct call *k,
	       uint32_t room, size_t *out, struct dk_err *err)
{
	size_t n = len;
	struct dk_buf filled = DK_BUF_INIT;
	int rc = 0;

	if (room >= k->n_ctx)
		return dk_err_set(err, DK_ELIMIT, "context of %u positions leaves no room for a document",
				  k->n_ctx);
	if (n > (size_t)k->n_ctx * 8)
		n = cut(text, (size_t)k->n_ctx * 4);
	for (;;) {
		struct tok_ids ids = TOK_IDS_INIT;

		size_t have;

		rc = prefix_ids(l, text, n, k, &filled, &ids, NULL, err);
		have = ids.n;
		tok_ids_release(&ids);
		if (rc != 0 || have + room <= k->n_ctx || n == 0)
			break;
		n = cut(text, n * 4 / 5);
	}
	dk_buf_release(&filled);
	*out = n;
	return rc;
}

/* ------------------------------------------------------------ decoding */

/* log_softmax_at - log p(id) under a logits row */
static double log_softmax_at(const float *lg, uint32_t n, int32_t id)
{
	return (double)lg[id] - eng_logsumexp(lg, n);
}

/* ------------------------------------------------------------ classify */

/* ------------------------------------------------------------ entities */

/* accepts - would the grammar take token id's bytes? */
static int accepts(const struct llm *l, const struct gram_state *g, int32_t id)
{
	struct gram_state t = *g;
	uint32_t a = l->piece_off[id], b = l->piece_off[id + 1];

	if (a == b || tok_is_eog(l->v, id))
		return 0;
	return gram_feed(&t, l->pieces + a, b - a) == 0;
}

/*
 * pick - note 5: the best token the grammar accepts (highest logit, ties to
 * the smaller id), or -1. The top 32 usually hold it; otherwise one scan
 * of the vocabulary probes only tokens that would beat the best so far
 * and whose first byte the grammar can take.
 */
static int32_t pick(struct llm *l, const float *lg, const struct gram_state *g)
{
	int32_t top[32], best = -1;
	uint32_t k = eng_top_k(lg, l->n_vocab, 32, top);
	unsigned char first[256];

	for (uint32_t i = 0; i < k; i++)
		if (accepts(l, g, top[i]))
			return top[i];
	for (int c = 0; c < 256; c++) {
		struct gram_state t = *g;
		char b = (char)c;

		first[c] = gram_feed(&t, &b, 1) == 0;
	}
	for (uint32_t id = 0; id < l->n_vocab; id++) {
		uint32_t a = l->piece_off[id];

		if (a == l->piece_off[id + 1] || !first[(unsigned char)l->pieces[a]])
			continue;
		if (best >= 0 && !(lg[id] > lg[best]))
			continue;
		if (accepts(l, g, (int32_t)id))
			best = (int32_t)id;
	}
	return best;
}

/* close_value - note 5: complete the value byte by byte */
static int close_value(struct gram_state *g, struct dk_buf *out, struct dk_err *err)
{
	static const char pref[] = "\"}],abcdefghijklmnopqrstuvwxyz";

	for (int steps = 0; !gram_complete(g); steps++) {
		int c, ok = 0;

		for (int i = 0; !ok && i < 256 + (int)sizeof pref - 1; i++) {
			struct gram_state t = *g;

			c = i < (int)sizeof pref - 1 ? pref[i] : i - ((int)sizeof pref - 1);
			if (c == 0)
				continue;
			ok = gram_feed(&t, (char *)&(char){ (char)c }, 1) == 0;
			if (ok) {
				*g = t;
				if (dk_buf_addch(out, c) != 0)
					return dk_err_set(err, DK_ENOMEM, "out of memory");
			}
		}
		if (DK_NEVER(!ok || steps > 65536))
			return dk_err_set(err, DK_ECORRUPT, "entity grammar cannot be completed");
	}
	return 0;
}

static int add_entity(struct llm_result *r, const char *type, const char *text, size_t start,
		      size_t end)
{
	struct llm_entity *e;

	for (size_t i = 0; i < r->n_entities; i++)
		if (r->entities[i].start == start && strcmp(r->entities[i].type, type) == 0)
			return 0;
	e = realloc(r->entities, (r->n_entities + 1) * sizeof *e);
	if (e == NULL)
		return -1;
	r->entities = e;
	e += r->n_entities++;
	e->type = g_strdup(type);
	e->text = g_strndup(text + start, end - start);
	e->start = start;
	e->end = end;
	return 0;
}

/* ruled_out - a rule entity of the same type overlaps, or rules own the type */
static int ruled_out(const char *type, size_t s, size_t e, const struct llm_rule_span *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].type, type) == 0 && r[i].start < e && s < r[i].end)
			return 1;
	return 0;
}

/* locate - note 5: keep the items found verbatim in text */
static int locate(const char *json, const char *text, size_t len, const struct llm_rule_span *rules,
		  size_t n_rules, struct llm_result *r, struct dk_err *err)
{
	JsonParser *p = json_parser_new();
	GError *ge = NULL;
	JsonArray *a;
	int rc = 0;

	if (!json_parser_load_from_data(p, json, -1, &ge)) {
		rc = dk_err_set(err, DK_ECORRUPT, "entity output is not JSON: %s", ge->message);
		g_error_free(ge);
		g_object_unref(p);
		return rc;
	}
	a = json_object_get_array_member(json_node_get_object(json_parser_get_root(p)), "entities");
	for (guint i = 0; rc == 0 && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		const char *type = json_object_get_string_member(o, "type");
		const char *t = json_object_get_string_member(o, "text");
		const char *hit = memmem(text, len, t, strlen(t));

		if (hit == NULL) {
			r->n_not_found++;
			continue;
		}
		if (ruled_out(type, (size_t)(hit - text), (size_t)(hit - text) + strlen(t), rules, n_rules)) {
			r->n_rule_overlap++;
			continue;
		}
		if (add_entity(r, type, text, (size_t)(hit - text), (size_t)(hit - text) + strlen(t)) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	g_object_unref(p);
	return rc;
}

/* ------------------------------------------------------------ summarize */

/* unfaithful - is w a checkable word (digit, or capital not opening a sentence) absent from text? */
static int unfaithful(const char *w, size_t n, int sentence_start, const char *text, size_t len)
{
	int digit = 0;

	for (size_t i = 0; i < n; i++)
		digit |= g_ascii_isdigit(w[i]);
	if (!digit && (sentence_start || !g_unichar_isupper(g_utf8_get_char_validated(w, (gssize)n))))
		return 0;
	return memmem(text, len, w, n) == NULL;
}

/* llm_faithfulness - see llm.h */
int llm_faithfulness(const char *sum, const char *text, size_t len, char **out)
{
	struct dk_buf s = DK_BUF_INIT;
	const char *p = sum;
	int start = 1, n = 0, rc = dk_buf_addch(&s, '[');

	while (rc == 0 && *p) {
		const char *b, *e;

		while (*p && g_ascii_isspace(*p))
			p++;
		for (b = p; *p && !g_ascii_isspace(*p); p++)
			;
		e = p;
		/* strip ASCII punctuation around the word; other bytes belong to it */
		while (b < e && g_ascii_ispunct(*b))
			b++;
		while (e > b && g_ascii_ispunct(e[-1]))
			e--;
		if (e > b && unfaithful(b, (size_t)(e - b), start, text, len)) {
			rc |= dk_buf_adds(&s, n++ ? "," : "");
			rc |= dk_buf_add_json_str(&s, b, (size_t)(e - b));
		}
		if (p > sum)
			start = strchr(".!?", p[-1]) != NULL;
	}
	rc |= dk_buf_addch(&s, ']');
	*out = dk_buf_detach(&s, NULL);
	return rc;
}

/* ------------------------------------------------------------ decisions */

/* params - note 6: everything that shapes a stage's output bytes */
static char *params_json(const struct llm *l, int st, const struct call *k, size_t doc_bytes,
			 int chunks, double ms)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "{\"stage\":\"%s\",\"engine\":\"docket %s\",\"model_sha256\":\"%s\","
			       "\"chat\":\"%s\",\"prefix_template\":\"%s\",\"prefix_sha256\":\"%s\","
			       "\"template\":\"%s\",\"template_sha256\":\"%s\",",
			       stage_names[st], DOCKET_VERSION, l->model_sha, chat_name(l->chat),
			       l->prefix.id, l->prefix.sha, l->task[st].id, l->task[st].sha);
	if (st == ST_ENTITIES)
		g_string_append_printf(s, "\"grammar_sha256\":\"%s\",", l->gram_sha);
	if (k->lang && strspn(k->lang, "abcdefghijklmnopqrstuvwxyz-") == strlen(k->lang))
		g_string_append_printf(s, "\"language\":\"%s\",", k->lang);
	/*
	 * call_defaults() let only a code through; every stage records it: the
	 * summarize prompt's length sets where a long document is cut (note 3)
	 */
	if (k->summary_lang)
		g_string_append_printf(s, "\"summary_language\":\"%s\",", k->summary_lang);
	g_string_append_printf(s, "\"n_ctx\":%u,\"entity_max_tokens\":%u,\"summary_max_tokens\":%u,"
			       "\"max_words\":%u,\"sampler\":{\"temp\":0,\"top_k\":0,\"top_p\":1,"
			       "\"min_p\":0,\"repeat_penalty\":1,\"seed\":0},\"doc_bytes\":%zu,"
			       "\"chunks\":%d,\"ms\":%.1f}",
			       k->n_ctx, k->entity_max_tokens, k->summary_max_tokens, k->max_words,
			       doc_bytes, chunks, ms);
	return g_string_free(s, FALSE);
}

static void finish(const struct llm *l, int st, const struct call *k, const char *text,
		   size_t len, size_t doc_bytes, int chunks, double ms, GChecksum *ck,
		   struct dk_buf *out, struct llm_decision *dec)
{
	g_strlcpy(dec->stage, stage_names[st], sizeof dec->stage);
	g_strlcpy(dec->prompt_sha256, g_checksum_get_string(ck), sizeof dec->prompt_sha256);
	sha_hex(text, len, dec->input_sha256);
	dec->ms = ms;
	dec->params = params_json(l, st, k, doc_bytes, chunks, dec->ms);
	dec->output = dk_buf_detach(out, NULL);
}

/* combine - the configured rule between the model and the trained classifier */
static void combine(const struct llm *l, const char *clf, double clf_conf, struct llm_result *r)
{
	r->label_method = "llm";
	if (l->o.combine != LLM_COMBINE_CONFIDENT || clf == NULL)
		return;
	if (strcmp(clf, r->label) == 0) {
		r->confidence = r->confidence > clf_conf ? r->confidence : clf_conf;
		r->needs_review = r->confidence < l->o.review_threshold;
		return;
	}
	r->needs_review = 1;
	if (clf_conf > r->confidence) {
		g_free(r->label);
		r->label = g_strdup(clf);
		r->confidence = clf_conf;
		r->label_method = "classifier";
	}
}

static void call_defaults(const struct llm *l, const char *lang, struct call *k)
{
	k->lang = lang;
	k->summary_lang = *l->o.summary_language ? l->o.summary_language : lang_code(lang);
	k->n_ctx = l->o.n_ctx;
	k->entity_max_tokens = l->o.entity_max_tokens;
	k->summary_max_tokens = l->o.summary_max_tokens;
	k->max_words = l->o.summary_max_words;
}

/* ------------------------------------------------------------ scheduler */

enum { SQ_SUM, SQ_ENT, SQ_CLS };	/* a slot's sequences (note 2) */

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

/* job_end - the job leaves its slot, finished (rc 0) or failed (err set) */
static void job_end(struct llm *l, struct job *j, int rc)
{
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
 * evaluated entry nobody waits for goes), or -1 when every entry is busy
 */
static int fixed_claim(struct llm *l, const struct job *j, int *out, struct dk_err *err)
{
	int v = -1;

	for (int i = 0; i < N_FIXED; i++)
		if ((l->fix[i].ids.n == 0 || (fixed_ready(l, i) && l->fix[i].waiters == 0)) &&
		    (v < 0 || l->fix[i].used < l->fix[v].used))
			v = i;
	*out = v;
	if (v < 0)
		return 0;
	l->fix[v].ids.n = 0;
	l->fix[v].fed = 0;
	eng_kv_clear(l->c, fixed_seq(l, v));
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

/* fixed_copy - note 8: the job's prefix starts from the evaluated head l->fix[i] */
static int fixed_copy(struct llm *l, struct job *j, int i, struct dk_err *err)
{
	int rc = eng_kv_copy_prefix(l->c, fixed_seq(l, i), slot_seq(l, j, SQ_SUM),
				    (uint32_t)j->n_fixed, err);

	if (rc == 0) {
		j->pre_fed = j->n_fixed;
		l->st.tok_fixed += j->n_fixed;
		l->fix[i].used = ++l->clock;
	}
	return rc;
}

/*
 * fixed_use - note 8: copy the job's head when it is evaluated; else wait
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
		return fixed_copy(l, j, i, err);
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
	j->t_start = now_ms();
	l->st.docs++;
	for (uint32_t k = 0; k < l->seqs_per_slot; k++)
		eng_kv_clear(l->c, slot_seq(l, j, k));
	rc = reserve(l, &j->k, &j->room, err);
	if (rc == 0)
		rc = fit(l, j->text, j->len, &j->k, j->room, &n, err);
	j->d.text = j->text;
	j->d.len = n;
	if (rc == 0)
		rc = prefix_ids(l, j->text, n, &j->k, &j->d.filled, &j->pre, &j->n_fixed, err);
	j->d.n_prefix = (uint32_t)j->pre.n;
	if (rc == 0)
		rc = fixed_use(l, j, err);
	j->lp = calloc(l->tax.n_labels, sizeof *j->lp);
	if (rc == 0 && j->lp == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	l->st.ms_start += now_ms() - j->t_start;
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
		rc = fit(l, s->cur + s->off, s->cur_len - s->off, &j->k, j->room, &n, err);
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
		rc = prefix_ids(l, wd.text, n, &j->k, &wd.filled, &s->in, &n_fixed, err);
	if (rc == 0)
		rc = suffix_ids(l, ST_SUMMARIZE, &j->k, &wd, &s->in, s->ck, err);
	dk_buf_release(&wd.filled);
	if (s->samp_on)
		samp_release(&s->samp);
	s->samp_on = rc == 0 && samp_init(&s->samp, &sp, err) == 0;
	if (rc == 0 && !s->samp_on)
		rc = DK_ENOMEM;
	eng_kv_clear(l->c, s->seq);
	/* note 8: the window's head is the documents' shared head */
	if (rc == 0 && (i = fixed_find(l, &s->in, n_fixed)) >= 0 && fixed_ready(l, i)) {
		rc = eng_kv_copy_prefix(l->c, fixed_seq(l, i), s->seq, (uint32_t)n_fixed, err);
		s->fed = s->pos = (uint32_t)n_fixed;
		l->st.tok_fixed += n_fixed;
		l->fix[i].used = ++l->clock;
	}
	s->ph = PH_FEED;
	return rc;
}

/*
 * stream_start - a stage forks the prefix (note 1). Summarize keeps the
 * prefix's own sequence; a document that does not fit maps over windows,
 * the first of which is exactly the prefix already evaluated.
 */
static int stream_start(struct llm *l, struct job *j, int st, struct dk_err *err)
{
	static const uint32_t seq_of[ST_N] = { SQ_CLS, SQ_ENT, SQ_SUM };
	struct samp_params sp = { 0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0 };
	struct stream *s = &j->s[st];
	int rc = 0;

	s->t0 = now_ms();
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
	if (st != ST_SUMMARIZE)
		rc = eng_kv_copy_prefix(l->c, slot_seq(l, j, SQ_SUM), s->seq, j->d.n_prefix, err);
	if (st == ST_ENTITIES)
		gram_init(&s->g, l->gram);
	if (rc == 0 && st == ST_SUMMARIZE) {
		rc = samp_init(&s->samp, &sp, err);
		s->samp_on = rc == 0;
	}
	if (rc == 0)
		rc = suffix_ids(l, st, &j->k, &j->d, &s->in, s->ck, err);
	return rc;
}

/* prefix_done - every stage of the job starts from the evaluated prefix */
static int prefix_done(struct llm *l, struct job *j, struct dk_err *err)
{
	double t = now_ms();
	int rc = 0;

	j->prefix_ms = t - j->t_start;
	/* classify and entities copy the prefix before summarize appends to it */
	for (int st = 0; rc == 0 && st < ST_N; st++)
		if (j->only < 0 || j->only == st)
			rc = stream_start(l, j, st, err);
	l->st.ms_fork += now_ms() - t;
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

/* add_label - note 4: label lab_i's tokens but the last after the classify prompt */
static void add_label(struct llm *l, struct job *j, struct stream *s)
{
	const struct tok_ids *lab = &l->lab[j->lab_i];

	s->at = (int32_t)l->b_n;
	for (size_t t = 0; t + 1 < lab->n; t++)
		add(l, j, lab->v[t], (int32_t)(s->pos + t), s->seq, 1);
	l->st.tok_label += lab->n - 1;
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

/*
 * build_batch - note 7: label scoring first (it must fit one batch), then
 * one token of every generating stream, then prompts, then shared heads
 * (note 8), then prefixes of jobs not waiting for theirs, while the batch
 * has room
 */
static void build_batch(struct llm *l)
{
	l->b_n = 0;
	for (uint32_t k = 0; k < l->o.parallel; k++) {
		struct stream *s = l->slot[k] ? &l->slot[k]->s[ST_CLASSIFY] : NULL;

		if (s && s->ph == PH_LABELS && s->at < 0 &&
		    l->lab[l->slot[k]->lab_i].n - 1 <= l->b_cap - l->b_n)
			add_label(l, l->slot[k], s);
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
			add(l, j, j->pre.v[j->pre_fed], (int32_t)j->pre_fed, slot_seq(l, j, SQ_SUM), 0);
			j->pre_fed++;
			l->st.tok_prefix++;
		}
	}
}

/* ---- what the logits decide */

static void finish_stream(struct stream *s)
{
	s->ms = now_ms() - s->t0;
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

/* labels_from - note 4: score from label i on, or end when no label has tokens left */
static int labels_from(struct llm *l, struct job *j, struct stream *s, size_t i,
		       struct dk_err *err)
{
	while (i < l->tax.n_labels && l->lab[i].n < 2)
		i++;
	j->lab_i = i;
	s->ph = PH_LABELS;
	s->at = -1;
	if (i == l->tax.n_labels)
		return labels_end(l, j, s, err);
	if (l->lab[i].n - 1 > l->b_cap)
		return dk_err_set(err, DK_ELIMIT, "label '%s' exceeds one batch", l->tax.labels[i]);
	return 0;
}

/* labels_first - note 4: every label's first token from the prompt's logits */
static int labels_first(struct llm *l, struct job *j, struct stream *s, const float *lg,
			struct dk_err *err)
{
	double z = eng_logsumexp(lg, l->n_vocab);

	for (size_t i = 0; i < l->tax.n_labels; i++)
		j->lp[i] = (double)lg[l->lab[i].v[0]] - z;
	return labels_from(l, j, s, 0, err);
}

/* label_next - note 4: the rest of label lab_i's tokens; the sequence drops them again */
static int label_next(struct llm *l, struct job *j, struct stream *s, struct dk_err *err)
{
	const struct tok_ids *lab = &l->lab[j->lab_i];
	int rc;

	for (size_t t = 1; t < lab->n; t++)
		j->lp[j->lab_i] += log_softmax_at(eng_logits(l->c, (uint32_t)(s->at + (int32_t)t - 1)),
						  l->n_vocab, lab->v[t]);
	rc = eng_kv_truncate(l->c, s->seq, s->pos, err);
	return rc ? rc : labels_from(l, j, s, j->lab_i + 1, err);
}

/* entities_next - note 5: one grammar-constrained greedy choice */
static int entities_next(struct llm *l, struct job *j, struct stream *s, const float *lg,
			 struct dk_err *err)
{
	int32_t id = -1;

	if (!gram_complete(&s->g) && s->n_gen < j->k.entity_max_tokens && s->pos < j->k.n_ctx)
		id = pick(l, lg, &s->g);
	if (id >= 0) {
		const char *b = l->pieces + l->piece_off[id];
		uint32_t n = l->piece_off[id + 1] - l->piece_off[id];

		if (gram_feed(&s->g, b, n) != 0 || dk_buf_add(&s->out, b, n) != 0)
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		s->n_gen++;
		if (!gram_complete(&s->g)) {
			s->next = id;
			s->ph = PH_GEN;
			return 0;
		}
	}
	finish_stream(s);
	return close_value(&s->g, &s->out, err);
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
		rc = fit(l, s->cur, s->cur_len, &j->k, j->room, &n, err);
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

static int stream_logits(struct llm *l, struct job *j, int st, struct dk_err *err)
{
	struct stream *s = &j->s[st];
	const float *lg;
	double t = now_ms();
	int rc;

	if (s->ph == PH_IDLE || s->ph == PH_DONE || s->at < 0)
		return 0;
	if (s->ph == PH_LABELS) {
		rc = label_next(l, j, s, err);
	} else {
		lg = eng_logits(l->c, (uint32_t)s->at);
		s->at = -1;
		rc = st == ST_CLASSIFY ? labels_first(l, j, s, lg, err) :
		     st == ST_ENTITIES ? entities_next(l, j, s, lg, err) : summary_next(l, j, s, lg, err);
	}
	l->st.ms_choose[st] += now_ms() - t;
	return rc;
}

/* job_result - note 6 of llm.h's result: decisions in stage order, then label, entities, summary */
static int job_result(struct llm *l, struct job *j, struct dk_err *err)
{
	struct llm_result *r = &j->r;
	char *p;
	int rc = 0;

	for (int st = 0; st < ST_N; st++)
		finish(l, st, &j->k, j->text, j->len, j->d.len, st == ST_SUMMARIZE ? j->s[st].chunks : 0,
		       j->s[st].ms, j->s[st].ck, &j->s[st].out, &r->dec[st]);
	r->n_dec = ST_N;
	r->prefix_ms = j->prefix_ms;
	r->label = g_strdup(l->tax.labels[j->best]);
	r->confidence = j->conf;
	r->needs_review = j->conf < l->o.review_threshold;
	combine(l, j->clf, j->clf_conf, r);
	rc = locate(r->dec[ST_ENTITIES].output, j->text, j->len, j->rules, j->n_rules, r, err);
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

/* heads_copy - note 8: jobs whose head is now evaluated copy it */
static void heads_copy(struct llm *l)
{
	for (uint32_t k = 0; k < l->o.parallel; k++) {
		struct job *j = l->slot[k];
		int rc;

		if (j == NULL || j->wait_fix < 0 || !fixed_ready(l, j->wait_fix))
			continue;
		rc = fixed_copy(l, j, j->wait_fix, &j->err);
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
	heads_copy(l);
	build_batch(l);
	if (l->b_n == 0)
		return 0;
	b = (struct eng_batch){ l->b_n, l->b_tok, l->b_pos, l->b_seq, l->b_want };
	t = now_ms();
	rc = eng_decode(l->c, &b, &e);
	l->st.ms_decode += now_ms() - t;
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

static void job_free(struct job *j)
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
		job_free(j);
		return dk_err_set(err, DK_ENOMEM, "out of memory queueing a document");
	}
	call_defaults(l, j->lang, &j->k);
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
	l->n_jobs++;
	return 0;
}

size_t llm_pending(const struct llm *l)
{
	return l->n_jobs;
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
		job_free(j);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ replay */

static int want_str(JsonObject *o, const char *key, const char *have, struct dk_err *err)
{
	const char *v = json_object_has_member(o, key) ? json_object_get_string_member(o, key) : NULL;

	if (v == NULL || strcmp(v, have) != 0)
		return dk_err_set(err, DK_EINVAL, "params '%s' is %s, now %s", key, v ? v : "missing", have);
	return 0;
}

static uint32_t get_u32(JsonObject *o, const char *key)
{
	return json_object_has_member(o, key) ? (uint32_t)json_object_get_int_member(o, key) : 0;
}

/* replay_call - restore the call of a decision and check what must not have changed */
static int replay_call(const struct llm *l, int st, JsonObject *o, struct call *k, struct dk_err *err)
{
	int rc = want_str(o, "model_sha256", l->model_sha, err);

	if (rc == 0)
		rc = want_str(o, "chat", chat_name(l->chat), err);
	if (rc == 0)
		rc = want_str(o, "prefix_sha256", l->prefix.sha, err);
	if (rc == 0)
		rc = want_str(o, "template_sha256", l->task[st].sha, err);
	if (rc == 0 && st == ST_ENTITIES)
		rc = want_str(o, "grammar_sha256", l->gram_sha, err);
	if (rc != 0)
		return rc;
	k->lang = json_object_has_member(o, "language") ? json_object_get_string_member(o, "language") : NULL;
	k->summary_lang = json_object_has_member(o, "summary_language") ?
		json_object_get_string_member(o, "summary_language") : NULL;
	k->n_ctx = get_u32(o, "n_ctx");
	k->entity_max_tokens = get_u32(o, "entity_max_tokens");
	k->summary_max_tokens = get_u32(o, "summary_max_tokens");
	k->max_words = get_u32(o, "max_words");
	if (k->n_ctx == 0 || k->n_ctx > eng_ctx_params(l->c)->n_ctx)
		return dk_err_set(err, DK_EINVAL, "params 'n_ctx' %u exceeds this context's %u",
				  k->n_ctx, eng_ctx_params(l->c)->n_ctx);
	return 0;
}

/* replay_job - the one stage of a decision as a job of its own (note 7) */
static struct job *replay_job(struct llm *l, int st, JsonObject *o, const char *text, size_t len,
			      struct dk_err *err)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL) {
		dk_err_set(err, DK_ENOMEM, "out of memory");
		return NULL;
	}
	j->slot = -1;
	j->wait_fix = -1;
	j->only = st;
	dk_buf_init(&j->d.filled, 0);
	j->text = g_strndup(text, len);
	j->len = len;
	if (replay_call(l, st, o, &j->k, err) != 0) {
		job_free(j);
		return NULL;
	}
	/* params' strings live in the parsed JSON: the job keeps its own copy */
	j->lang = j->k.lang ? g_strdup(j->k.lang) : NULL;
	j->k.lang = j->lang;
	return j;
}

/* unlink_job - take j out of the submitted list (it may not be finished) */
static void unlink_job(struct llm *l, struct job *j)
{
	for (struct job **p = &l->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			if (l->jobs_tail == &j->next)
				l->jobs_tail = p;
			l->n_jobs--;
			return;
		}
}

/* llm_replay - see llm.h: the same scheduler as llm_run(), one stage only */
int llm_replay(struct llm *l, const char *stage, const char *params, const char *text,
	       size_t len, struct dk_buf *out, char prompt_sha256[65], struct dk_err *err)
{
	JsonParser *p = json_parser_new();
	GError *ge = NULL;
	struct job *j = NULL;
	int st, rc = 0;

	for (st = 0; st < ST_N && strcmp(stage, stage_names[st]) != 0; st++)
		;
	if (st == ST_N)
		rc = dk_err_set(err, DK_EINVAL, "unknown stage '%s'", stage);
	else if (!json_parser_load_from_data(p, params, -1, &ge) ||
		 !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		rc = dk_err_set(err, DK_EINVAL, "params are not a JSON object");
	if (rc == 0 && (j = replay_job(l, st, json_node_get_object(json_parser_get_root(p)), text,
				       len, err)) == NULL)
		rc = err->code;
	if (j != NULL) {
		*l->jobs_tail = j;
		l->jobs_tail = &j->next;
		l->n_jobs++;
		while (!j->done)
			llm_step(l, err);
		unlink_job(l, j);
		rc = j->rc;
		if (rc != 0)
			*err = j->err;
		else if (dk_buf_add(out, j->s[st].out.buf, j->s[st].out.len) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		else
			g_strlcpy(prompt_sha256, g_checksum_get_string(j->s[st].ck), 65);
		job_free(j);
	}
	if (ge)
		g_error_free(ge);
	g_object_unref(p);
	return rc;
}

/* ------------------------------------------------------------ prompts for others */

/* llm_prompt - see llm.h */
int llm_prompt(struct llm *l, const char *stage, const char *text, size_t len, const char *lang,
	       struct dk_buf *out, uint32_t *max_tokens, struct dk_err *err)
{
	struct call k;
	struct doc d = { NULL, 0, DK_BUF_INIT, 0 };
	struct tok_ids ids = TOK_IDS_INIT;
	uint32_t room = 0, most = 0;
	size_t n = 0;
	int st, rc = 0;

	for (st = 0; st < ST_N && strcmp(stage, stage_names[st]) != 0; st++)
		;
	if (st == ST_N)
		return dk_err_set(err, DK_EINVAL, "unknown stage '%s'", stage);
	call_defaults(l, lang, &k);
	rc = reserve(l, &k, &room, err);
	if (rc == 0)
		rc = fit(l, text, len, &k, room, &n, err);
	if (rc == 0)
		rc = prefix_ids(l, text, n, &k, &d.filled, &ids, NULL, err);
	if (rc == 0 && (dk_buf_add(out, l->head.buf, l->head.len) ||
			dk_buf_add(out, d.filled.buf, d.filled.len)))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = task_text(l, st, &k, out, err);
	if (rc == 0 && dk_buf_add(out, l->tail.buf, l->tail.len))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	/* classify generates nothing here: a generator would need the longest label */
	for (size_t i = 0; rc == 0 && st == ST_CLASSIFY && i < l->tax.n_labels; i++) {
		tok_ids_release(&ids);
		rc = encode(l, l->tax.labels[i], strlen(l->tax.labels[i]), 0, &ids, err);
		if (ids.n > most)
			most = (uint32_t)ids.n;
	}
	*max_tokens = st == ST_CLASSIFY ? most : st == ST_ENTITIES ? k.entity_max_tokens :
		      k.summary_max_tokens;
	tok_ids_release(&ids);
	dk_buf_release(&d.filled);
	return rc;
}
