/*
 * NAME
 *	llm_output - what logits and output bytes become
 * SUMMARY
 *	Label log-probabilities (note 4), grammar-constrained greedy picks
 *	and closing an unfinished value, entities located verbatim in the
 *	text (note 5), and the summary's faithfulness check.
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N").
 */
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "stages/llm_impl.h"

/* ------------------------------------------------------------ decoding */

/* llm_log_softmax_at - log p(id) under a logits row */
double llm_log_softmax_at(const float *lg, uint32_t n, int32_t id)
{
	return (double)lg[id] - eng_logsumexp(lg, n);
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
 * llm_pick - note 5: the best token the grammar accepts (highest logit, ties to
 * the smaller id), or -1. The top 32 usually hold it; otherwise one scan
 * of the vocabulary probes only tokens that would beat the best so far
 * and whose first byte the grammar can take.
 */
int32_t llm_pick(struct llm *l, const float *lg, const struct gram_state *g)
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

/* llm_close_value - note 5: complete the value byte by byte */
int llm_close_value(struct gram_state *g, struct dk_buf *out, struct dk_err *err)
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

/* llm_locate - note 5: keep the items found verbatim in text */
int llm_locate(const char *json, const char *text, size_t len, const struct llm_rule_span *rules,
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
