/*
 * NAME
 *	llm_prompt - render, tokenize and fit the stages' prompts
 * SUMMARY
 *	The shared prefix (head + the letter), the stage suffixes, the
 *	room the stages need after the prefix, and where a long letter is
 *	cut (notes 1, 3, 8); llm_prompt() renders one stage for others.
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N").
 */
#include <stdio.h>
#include <string.h>

#include "stages/llm_impl.h"

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
	if (llm_lang_code(k->lang))
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
 * llm_prefix_ids - BOS, HEAD (specials parsed) and the filled prefix + "\n\n";
 * note 8: the part of prefix.txt before {{document}} is tokenized on its
 * own, and *n_fixed (may be NULL) counts the tokens up to its end
 */
int llm_prefix_ids(const struct llm *l, const char *text, size_t len, const struct call *k,
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

/* llm_suffix_ids - the filled task text and TAIL; hashes the whole prompt into ck */
int llm_suffix_ids(const struct llm *l, int st, const struct call *k, const struct doc *d,
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

/* llm_reserve - positions the stages need after the prefix (note 3) */
int llm_reserve(const struct llm *l, const struct call *k, uint32_t *out, struct dk_err *err)
{
	uint32_t most = 0, label_most = 0;
	struct doc d = { "", 0, DK_BUF_INIT, 0 };
	int rc = 0;

	for (int st = 0; rc == 0 && st < ST_N; st++) {
		struct tok_ids ids = TOK_IDS_INIT;
		GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);

		rc = llm_suffix_ids(l, st, k, &d, &ids, ck, err);
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

/* llm_fit - bytes of text[0..len) whose prefix leaves room for the stages */
int llm_fit(const struct llm *l, const char *text, size_t len, const struct call *k,
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

		rc = llm_prefix_ids(l, text, n, k, &filled, &ids, NULL, err);
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

	for (st = 0; st < ST_N && strcmp(stage, llm_stage_names[st]) != 0; st++)
		;
	if (st == ST_N)
		return dk_err_set(err, DK_EINVAL, "unknown stage '%s'", stage);
	llm_call_defaults(l, lang, &k);
	rc = llm_reserve(l, &k, &room, err);
	if (rc == 0)
		rc = llm_fit(l, text, len, &k, room, &n, err);
	if (rc == 0)
		rc = llm_prefix_ids(l, text, n, &k, &d.filled, &ids, NULL, err);
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
