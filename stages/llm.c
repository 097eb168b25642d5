/*
 * NAME
 *	llm - the model stages of one document (see llm.h)
 * DESIGN NOTES
 *	1. Prompt layout. Every stage's prompt is one user turn of the model's
 *	   chat template: HEAD + prefix.txt(filled) + "\n\n" + <stage>.txt(filled)
 *	   + TAIL, where HEAD and TAIL are what chat_render() puts around a
 *	   message (found by rendering "X" and "Y" and diffing). The document
 *	   sits in the shared part, so its tokens are evaluated once, on
 *	   sequence 0, and each stage forks that KV prefix (eng_kv_copy_prefix)
 *	   onto sequence 1. HEAD and TAIL are tokenized with special-token
 *	   parsing; the filled templates never are, so a letter that contains
 *	   "<|im_start|>" cannot forge a turn.
 *	2. Sequences: 0 = shared prefix, 1 = the stage in hand, 2..L = label
 *	   forks while classifying (n_seq_max = 1 + number of labels).
 *	3. Fitting: when prefix + the largest stage suffix + the largest
 *	   generation budget exceed n_ctx, the document is cut (at a line or
 *	   sentence end) for classify and entities; summarize maps over chunks
 *	   of that size and reduces the joined chunk summaries (repeatedly,
 *	   while they do not fit).
 *	4. Classification: score(label) = sum of the log-probabilities of the
 *	   label's tokens after the prompt (no length normalisation: this is
 *	   the probability of the whole answer); confidence = softmax over the
 *	   labels. Output bytes: {"label":...,"logprobs":[...]} in taxonomy
 *	   order, %.9g.
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
 *	   ties in ordering go to the smaller id, and every choice here is a
 *	   pure function of logits, so a replay gives the same bytes.
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
#include "util/dk_path.h"

enum { ST_CLASSIFY, ST_ENTITIES, ST_SUMMARIZE, ST_N };
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
	struct gram_node *gram;
	char gram_sha[65];
	char *entity_types;	/* "person, organization, address" */
	struct dk_buf head, tail;	/* chat framing around one user message */
	uint32_t n_vocab;
	char *pieces;		/* bytes of every token, (piece_off[n_vocab]) */
	uint32_t *piece_off;	/* (n_vocab + 1) */
	float *lg;		/* (n_vocab) scratch copy of a logits row */
	uint32_t last;		/* batch entry of the last feed()'s logits */
	struct job *jobs, **jobs_tail;	/* submitted, in order (llm_submit) */
	size_t n_jobs;
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
	int done, rc;
	struct dk_err err;
	struct llm_result r;
	struct job *next;
};

static void job_free(struct job *j);

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
	uint32_t n_prefix;	/* tokens on sequence 0 */
};

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
	l->lg = malloc(l->n_vocab * sizeof *l->lg);
	if (l->piece_off == NULL || l->lg == NULL)
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
	cp.n_seq_max = 1 + (uint32_t)(l->tax.n_labels > 1 ? l->tax.n_labels : 1);
	return eng_ctx_new(l->m, &cp, &l->c, err);
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
	if (rc != 0) {
		llm_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* llm_close - see llm.h */
void llm_close(struct llm *l)
{
	if (l == NULL)
		return;
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
	taxonomy_release(&l->tax);
	gram_node_free(l->gram);
	g_free(l->entity_types);
	dk_buf_release(&l->head);
	dk_buf_release(&l->tail);
	free(l->pieces);
	free(l->piece_off);
	free(l->lg);
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

/* taxonomy_block - "- label: description" lines in lang, else English */
static char *taxonomy_block(const struct llm *l, const char *lang)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < l->tax.n_labels; i++) {
		const char *lab = l->tax.labels[i], *d = NULL, *en = NULL;

		for (size_t j = 0; j < l->tax.n_entries; j++) {
			const struct taxonomy_entry *e = &l->tax.entries[j];

			if (strcmp(e->label, lab) != 0)
				continue;
			if (lang && strcmp(e->lang, lang) == 0 && d == NULL)
				d = e->description;
			if (strcmp(e->lang, "en") == 0 && en == NULL)
				en = e->description;
		}
		d = d ? d : en;
		g_string_append_printf(s, "%s- %s%s%s", i ? "\n" : "", lab, d ? ": " : "", d ? d : "");
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

/* task_text - the filled <stage>.txt */
static int task_text(const struct llm *l, int st, const struct call *k, struct dk_buf *out,
		     struct dk_err *err)
{
	char words[16], sum_lang[64];
	char *tax = taxonomy_block(l, k->lang);
	struct var vars[] = {
		{ "language", k->lang ? k->lang : "unknown" },
		{ "summary_language", sum_lang },
		{ "taxonomy", tax },
		{ "entity_types", l->entity_types },
		{ "max_words", words },
	};
	int rc;

	snprintf(words, sizeof words, "%u", k->max_words);
	language_name(k->summary_lang, sum_lang, sizeof sum_lang);
	rc = fill(l->task[st].text, vars, sizeof vars / sizeof vars[0], out, err);
	g_free(tax);
	return rc;
}

static int encode(const struct llm *l, const char *s, size_t n, unsigned flags,
		  struct tok_ids *ids, struct dk_err *err)
{
	return tok_encode(l->v, s, n, flags, ids, err);
}

/* prefix_ids - BOS, HEAD (specials parsed) and the filled prefix + "\n\n" */
static int prefix_ids(const struct llm *l, const char *text, size_t len, const struct call *k,
		      struct dk_buf *filled, struct tok_ids *ids, struct dk_err *err)
{
	char *doc = g_strndup(text, len);
	struct var vars[] = {
		{ "language", k->lang ? k->lang : "unknown" },
		{ "document", doc },
	};
	int rc;

	dk_buf_reset(filled);
	rc = fill(l->prefix.text, vars, 2, filled, err);
	g_free(doc);
	if (rc == 0 && dk_buf_adds(filled, "\n\n") != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0 && tok_add_bos(l->v) && tok_bos(l->v) >= 0 && tok_ids_push(ids, tok_bos(l->v)))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = encode(l, l->head.buf, l->head.len, TOK_PARSE_SPECIAL, ids, err);
	if (rc == 0)
		rc = encode(l, filled->buf, filled->len, 0, ids, err);
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

		rc = prefix_ids(l, text, n, k, &filled, &ids, err);
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

/* feed - decode ids on seq from pos; the last entry's logits become readable */
static int feed(struct llm *l, int32_t seq, uint32_t pos, const int32_t *ids, size_t n,
		struct dk_err *err)
{
	int32_t p[512], s[512];
	int rc = 0;

	for (size_t o = 0; rc == 0 && o < n; o += 512) {
		size_t m = n - o < 512 ? n - o : 512;
		struct eng_batch b = { (uint32_t)m, ids + o, p, s, NULL };

		for (size_t i = 0; i < m; i++) {
			p[i] = (int32_t)(pos + o + i);
			s[i] = seq;
		}
		rc = eng_decode(l->c, &b, err);
		l->last = (uint32_t)m - 1;
	}
	return rc;
}

/* eval_prefix - note 1: the shared prefix on sequence 0 */
static int eval_prefix(struct llm *l, const char *text, size_t len, const struct call *k,
		       struct doc *d, struct dk_err *err)
{
	struct tok_ids ids = TOK_IDS_INIT;
	int rc;

	d->text = text;
	d->len = len;
	eng_kv_clear(l->c, -1);
	rc = prefix_ids(l, text, len, k, &d->filled, &ids, err);
	if (rc == 0)
		rc = feed(l, 0, 0, ids.v, ids.n, err);
	d->n_prefix = (uint32_t)ids.n;
	tok_ids_release(&ids);
	return rc;
}

/* fork_stage - sequence 1 = prefix + this stage's suffix; *pos = next position */
static int fork_stage(struct llm *l, int st, const struct call *k, const struct doc *d,
		      GChecksum *ck, uint32_t *pos, struct dk_err *err)
{
	struct tok_ids ids = TOK_IDS_INIT;
	int rc;

	eng_kv_clear(l->c, 1);
	rc = eng_kv_copy_prefix(l->c, 0, 1, d->n_prefix, err);
	if (rc == 0)
		rc = suffix_ids(l, st, k, d, &ids, ck, err);
	if (rc == 0)
		rc = feed(l, 1, d->n_prefix, ids.v, ids.n, err);
	*pos = d->n_prefix + (uint32_t)ids.n;
	tok_ids_release(&ids);
	return rc;
}

/* log_softmax_at - log p(id) under a logits row */
static double log_softmax_at(const float *lg, uint32_t n, int32_t id)
{
	return (double)lg[id] - eng_logsumexp(lg, n);
}

/* ------------------------------------------------------------ classify */

struct label_scores {
	double *lp;		/* (n_labels) */
	size_t best;
	double conf;
};

/* score_labels - note 4; sequence 1 holds prefix + suffix up to pos */
static int score_labels(struct llm *l, uint32_t pos, struct label_scores *sc, struct dk_err *err)
{
	size_t L = l->tax.n_labels, n = 0;
	struct tok_ids *lab = calloc(L, sizeof *lab);
	int32_t tok[512], ps[512], sq[512];
	int8_t want[512];
	size_t *first = calloc(L, sizeof *first);
	int rc = 0;

	sc->lp = calloc(L, sizeof *sc->lp);
	if (lab == NULL || first == NULL || sc->lp == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory scoring labels");
	if (rc == 0)
		memcpy(l->lg, eng_logits(l->c, l->last), l->n_vocab * sizeof *l->lg);
	for (size_t i = 0; rc == 0 && i < L; i++) {
		rc = encode(l, l->tax.labels[i], strlen(l->tax.labels[i]), 0, &lab[i], err);
		if (rc == 0 && lab[i].n == 0)
			rc = dk_err_set(err, DK_EFORMAT, "label '%s' has no tokens", l->tax.labels[i]);
		if (rc == 0 && i > 0)
			rc = eng_kv_copy_prefix(l->c, 1, (int32_t)(1 + i), pos, err);
		if (rc == 0)
			sc->lp[i] = log_softmax_at(l->lg, l->n_vocab, lab[i].v[0]);
		first[i] = n;
		for (size_t j = 0; rc == 0 && j + 1 < lab[i].n; j++, n++) {
			if (n == 512) {
				rc = dk_err_set(err, DK_ELIMIT, "label verbalisations exceed one batch");
				break;
			}
			tok[n] = lab[i].v[j];
			ps[n] = (int32_t)(pos + j);
			sq[n] = (int32_t)(1 + i);
			want[n] = 1;
		}
	}
	if (rc == 0 && n > 0) {
		struct eng_batch b = { (uint32_t)n, tok, ps, sq, want };

		rc = eng_decode(l->c, &b, err);
	}
	for (size_t i = 0; rc == 0 && i < L; i++)
		for (size_t j = 1; j < lab[i].n; j++)
			sc->lp[i] += log_softmax_at(eng_logits(l->c, (uint32_t)(first[i] + j - 1)),
						    l->n_vocab, lab[i].v[j]);
	if (rc == 0) {
		double z = 0;

		sc->best = 0;
		for (size_t i = 1; i < L; i++)
			if (sc->lp[i] > sc->lp[sc->best])
				sc->best = i;
		for (size_t i = 0; i < L; i++)
			z += exp(sc->lp[i] - sc->lp[sc->best]);
		sc->conf = 1.0 / z;
	}
	for (size_t i = 0; lab && i < L; i++)
		tok_ids_release(&lab[i]);
	free(lab);
	free(first);
	return rc;
}

static int run_classify(struct llm *l, const struct call *k, const struct doc *d,
			GChecksum *ck, struct dk_buf *out, struct label_scores *sc,
			struct dk_err *err)
{
	uint32_t pos;
	int rc = fork_stage(l, ST_CLASSIFY, k, d, ck, &pos, err);

	if (rc == 0)
		rc = score_labels(l, pos, sc, err);
	if (rc == 0) {
		rc |= dk_buf_adds(out, "{\"label\":");
		rc |= dk_buf_add_json_str(out, l->tax.labels[sc->best], strlen(l->tax.labels[sc->best]));
		rc |= dk_buf_adds(out, ",\"logprobs\":[");
		for (size_t i = 0; i < l->tax.n_labels; i++)
			rc |= dk_buf_addf(out, "%s%.9g", i ? "," : "", sc->lp[i]);
		rc |= dk_buf_adds(out, "]}");
		if (rc != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	return rc;
}

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

static int run_entities(struct llm *l, const struct call *k, const struct doc *d,
			GChecksum *ck, struct dk_buf *out, struct dk_err *err)
{
	struct gram_state g;
	uint32_t pos, n = 0;
	int rc = fork_stage(l, ST_ENTITIES, k, d, ck, &pos, err);
	const float *lg = rc == 0 ? eng_logits(l->c, l->last) : NULL;

	gram_init(&g, l->gram);
	while (rc == 0 && !gram_complete(&g) && n < k->entity_max_tokens && pos < k->n_ctx) {
		int32_t id = pick(l, lg, &g);

		if (id < 0)
			break;
		if (gram_feed(&g, l->pieces + l->piece_off[id], l->piece_off[id + 1] - l->piece_off[id]) != 0 ||
		    dk_buf_add(out, l->pieces + l->piece_off[id], l->piece_off[id + 1] - l->piece_off[id]) != 0)
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		n++;
		if (gram_complete(&g))
			break;
		rc = feed(l, 1, pos++, &id, 1, err);
		lg = eng_logits(l->c, l->last);
	}
	if (rc == 0)
		rc = close_value(&g, out, err);
	return rc;
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

/* generate - greedy continuation on sequence 1 from pos, stopping at EOG */
static int generate(struct llm *l, uint32_t pos, const struct call *k, struct dk_buf *out,
		    struct dk_err *err)
{
	struct samp_params sp = { 0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0 };
	struct samp s;
	struct tok_ids ids = TOK_IDS_INIT;
	const float *lg = eng_logits(l->c, l->last);
	int rc = samp_init(&s, &sp, err);

	while (rc == 0 && ids.n < k->summary_max_tokens && pos < k->n_ctx) {
		int32_t id = samp_sample(&s, lg, l->n_vocab);

		if (id < 0 || tok_ids_push(&ids, id) != 0) {
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
			break;
		}
		if (tok_is_eog(l->v, id)) {
			ids.n--;
			break;
		}
		samp_accept(&s, id);
		rc = feed(l, 1, pos++, &id, 1, err);
		lg = eng_logits(l->c, l->last);
	}
	if (rc == 0)
		rc = tok_decode(l->v, ids.v, ids.n, 0, out, err);
	if (rc == 0) {
		/* a cut multi-byte character or invalid bytes must not reach the store */
		gchar *ok = g_utf8_make_valid(out->buf, (gssize)out->len);
		char *t = g_strstrip(ok);

		dk_buf_reset(out);
		if (dk_buf_adds(out, t) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		g_free(ok);
	}
	samp_release(&s);
	tok_ids_release(&ids);
	return rc;
}

/* summarize_window - one summary of text[0..len), which fits (prefix re-evaluated) */
static int summarize_window(struct llm *l, const char *text, size_t len, const struct call *k,
			    GChecksum *ck, struct dk_buf *out, struct dk_err *err)
{
	struct doc d = { NULL, 0, DK_BUF_INIT, 0 };
	uint32_t pos;
	int rc = eval_prefix(l, text, len, k, &d, err);

	if (rc == 0)
		rc = fork_stage(l, ST_SUMMARIZE, k, &d, ck, &pos, err);
	if (rc == 0)
		rc = generate(l, pos, k, out, err);
	dk_buf_release(&d.filled);
	return rc;
}

/* run_summarize - note 3: map-reduce while the text does not fit */
static int run_summarize(struct llm *l, const struct call *k, const struct doc *d,
			 const char *text, size_t len, uint32_t room, GChecksum *ck,
			 struct dk_buf *out, int *chunks, struct dk_err *err)
{
	char *cur = g_strndup(text, len);
	size_t cur_len = len, n;
	int rc = 0;

	*chunks = 0;
	if (d->len == len) {
		uint32_t pos;

		g_free(cur);
		rc = fork_stage(l, ST_SUMMARIZE, k, d, ck, &pos, err);
		return rc ? rc : generate(l, pos, k, out, err);
	}
	while (rc == 0 && (rc = fit(l, cur, cur_len, k, room, &n, err)) == 0 && n < cur_len) {
		GString *joined = g_string_new(NULL);

		for (size_t o = 0; rc == 0 && o < cur_len;) {
			struct dk_buf part = DK_BUF_INIT;

			rc = fit(l, cur + o, cur_len - o, k, room, &n, err);
			if (rc == 0 && n == 0)
				rc = dk_err_set(err, DK_ELIMIT, "a sentence does not fit the context");
			if (rc == 0)
				rc = summarize_window(l, cur + o, n, k, ck, &part, err);
			if (rc == 0)
				g_string_append_printf(joined, "%s%s", joined->len ? "\n" : "", part.buf);
			dk_buf_release(&part);
			o += n;
			++*chunks;
		}
		g_free(cur);
		cur_len = joined->len;
		cur = g_string_free(joined, FALSE);
	}
	if (rc == 0)
		rc = summarize_window(l, cur, cur_len, k, ck, out, err);
	g_free(cur);
	return rc;
}

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
	/* call_defaults() let only a code through */
	if (st == ST_SUMMARIZE && k->summary_lang)
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
		   size_t len, size_t doc_bytes, int chunks, double t0, GChecksum *ck,
		   struct dk_buf *out, struct llm_decision *dec)
{
	g_strlcpy(dec->stage, stage_names[st], sizeof dec->stage);
	g_strlcpy(dec->prompt_sha256, g_checksum_get_string(ck), sizeof dec->prompt_sha256);
	sha_hex(text, len, dec->input_sha256);
	dec->ms = now_ms() - t0;
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

/* run_doc - the three stages of one document */
static int run_doc(struct llm *l, const char *text, size_t len, const char *lang,
	    const struct llm_rule_span *rules, size_t n_rules,
	    const char *clf_label, double clf_conf,
	    struct llm_result *r, struct dk_err *err)
{
	struct call k;
	struct doc d = { NULL, 0, DK_BUF_INIT, 0 };
	struct label_scores sc = { NULL, 0, 0 };
	uint32_t room = 0;
	size_t n = 0;
	int rc, chunks = 0;

	memset(r, 0, sizeof *r);
	call_defaults(l, lang, &k);
	rc = reserve(l, &k, &room, err);
	if (rc == 0)
		rc = fit(l, text, len, &k, room, &n, err);
	r->prefix_ms = now_ms();
	if (rc == 0)
		rc = eval_prefix(l, text, n, &k, &d, err);
	r->prefix_ms = now_ms() - r->prefix_ms;
	for (int st = 0; rc == 0 && st < ST_N; st++) {
		GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
		struct dk_buf out = DK_BUF_INIT;
		double t0 = now_ms();

		if (st == ST_CLASSIFY)
			rc = run_classify(l, &k, &d, ck, &out, &sc, err);
		else if (st == ST_ENTITIES)
			rc = run_entities(l, &k, &d, ck, &out, err);
		else
			rc = run_summarize(l, &k, &d, text, len, room, ck, &out, &chunks, err);
		if (rc == 0)
			finish(l, st, &k, text, len, n, chunks, t0, ck, &out, &r->dec[r->n_dec++]);
		dk_buf_release(&out);
		g_checksum_free(ck);
	}
	if (rc == 0) {
		r->label = g_strdup(l->tax.labels[sc.best]);
		r->confidence = sc.conf;
		r->needs_review = sc.conf < l->o.review_threshold;
		combine(l, clf_label, clf_conf, r);
		rc = locate(r->dec[ST_ENTITIES].output, text, len, rules, n_rules, r, err);
	}
	if (rc == 0) {
		g_strlcpy(r->summary_language, k.summary_lang ? k.summary_lang : "",
			  sizeof r->summary_language);
		r->summary = g_strdup(r->dec[ST_SUMMARIZE].output);
		if (llm_faithfulness(r->summary, text, len, &r->summary_flags) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	if (rc == 0) {
		/* kept with the decision (audited); replay ignores it, as it does "ms" */
		char *p = r->dec[ST_SUMMARIZE].params;

		p[strlen(p) - 1] = 0;
		r->dec[ST_SUMMARIZE].params = g_strdup_printf("%s,\"unfaithful\":%s}", p, r->summary_flags);
		g_free(p);
	}
	free(sc.lp);
	dk_buf_release(&d.filled);
	if (rc != 0)
		llm_result_release(r);
	return rc;
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
	j->text = g_strndup(d->text, d->len);
	j->len = d->len;
	j->lang = d->lang ? g_strdup(d->lang) : NULL;
	j->clf = d->clf_label ? g_strdup(d->clf_label) : NULL;
	j->clf_conf = d->clf_conf;
	if (job_rules(j, d->rules, d->n_rules) != 0) {
		job_free(j);
		return dk_err_set(err, DK_ENOMEM, "out of memory queueing a document");
	}
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
	l->n_jobs++;
	return 0;
}

/* llm_step - see llm.h */
int llm_step(struct llm *l, struct dk_err *err)
{
	struct job *j = l->jobs;

	(void)err;
	while (j && j->done)
		j = j->next;
	if (j == NULL)
		return 0;
	j->rc = run_doc(l, j->text, j->len, j->lang, j->rules, j->n_rules, j->clf, j->clf_conf,
			&j->r, &j->err);
	j->done = 1;
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

/* llm_replay - see llm.h */
int llm_replay(struct llm *l, const char *stage, const char *params, const char *text,
	       size_t len, struct dk_buf *out, char prompt_sha256[65], struct dk_err *err)
{
	JsonParser *p = json_parser_new();
	GError *ge = NULL;
	struct call k;
	struct doc d = { NULL, 0, DK_BUF_INIT, 0 };
	struct label_scores sc = { NULL, 0, 0 };
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	uint32_t room = 0;
	size_t n = 0;
	int st, rc = 0, chunks;

	for (st = 0; st < ST_N && strcmp(stage, stage_names[st]) != 0; st++)
		;
	if (st == ST_N)
		rc = dk_err_set(err, DK_EINVAL, "unknown stage '%s'", stage);
	else if (!json_parser_load_from_data(p, params, -1, &ge) ||
		 !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		rc = dk_err_set(err, DK_EINVAL, "params are not a JSON object");
	if (rc == 0)
		rc = replay_call(l, st, json_node_get_object(json_parser_get_root(p)), &k, err);
	if (rc == 0)
		rc = reserve(l, &k, &room, err);
	if (rc == 0)
		rc = fit(l, text, len, &k, room, &n, err);
	if (rc == 0)
		rc = eval_prefix(l, text, n, &k, &d, err);
	if (rc == 0 && st == ST_CLASSIFY)
		rc = run_classify(l, &k, &d, ck, out, &sc, err);
	else if (rc == 0 && st == ST_ENTITIES)
		rc = run_entities(l, &k, &d, ck, out, err);
	else if (rc == 0)
		rc = run_summarize(l, &k, &d, text, len, room, ck, out, &chunks, err);
	if (rc == 0)
		g_strlcpy(prompt_sha256, g_checksum_get_string(ck), 65);
	if (ge)
		g_error_free(ge);
	g_checksum_free(ck);
	free(sc.lp);
	dk_buf_release(&d.filled);
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
		rc = prefix_ids(l, text, n, &k, &d.filled, &ids, err);
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
