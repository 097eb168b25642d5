/*
 * NAME
 *	classify_rules - taxonomy cue words as a classifier
 * DESIGN NOTES
 *	1. Folding: NFD, combining marks removed, lower case; words are runs
 *	   of letters. "Widerspruchsbescheid" and "widerspruchsbescheid",
 *	   "déménagé" and "demenage" are the same word here.
 *	2. A document word counts once however often it occurs: a long annex
 *	   full of amounts must not outvote the letter's subject line.
 *	3. Prefix matching (5 letters or more) is what lets short cue lists
 *	   cover Slavic/Baltic/Finnish inflection, suffix matching (6 letters or
 *	   more) German and Dutch compounds, whose head word comes last
 *	   ("Gewerbesteuer", "afvalstoffenheffing"); cues shorter than 4
 *	   letters are not kept at all (too many false hits).
 *	4. Temperature 2 makes one strong cue worth a clear but not certain
 *	   probability; the review threshold then sends weak cases to a human.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "stages/classify_rules.h"

#define MIN_CUE 4
#define MIN_PREFIX 5
#define MIN_SUFFIX 6
#define TEMPERATURE 2.0

struct rules_clf {
	char **labels;
	int n_labels;
	GHashTable *cues;	/* folded word (UTF-8) -> uint64_t* label mask */
};

/* fold_words - call fn(word, user) for each folded word of text (note 1) */
static int fold_words(const char *text, size_t len,
		      void (*fn)(const UChar *w, int32_t n, void *user), void *user,
		      struct dk_err *err)
{
	UErrorCode ec = U_ZERO_ERROR;
	const UNormalizer2 *nfd = unorm2_getNFDInstance(&ec);
	UChar *u = NULL, *d = NULL;
	int32_t n16 = 0, nd, start = -1, o = 0;

	if (len > INT32_MAX / 4)
		return dk_err_set(err, DK_EINVAL, "text too long to classify");
	u_strFromUTF8(NULL, 0, &n16, text, (int32_t)len, &ec);
	if (ec != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ec))
		return dk_err_setx(err, DK_EINVAL, "bad_encoding", "text is not valid UTF-8");
	ec = U_ZERO_ERROR;
	u = malloc(((size_t)n16 + 1) * sizeof *u);
	d = malloc(((size_t)n16 * 3 + 1) * sizeof *d);	/* NFD grows by at most 3x */
	if (!u || !d) {
		free(u);
		free(d);
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	u_strFromUTF8(u, n16 + 1, NULL, text, (int32_t)len, &ec);
	nd = unorm2_normalize(nfd, u, n16, d, n16 * 3 + 1, &ec);
	if (U_FAILURE(ec)) {
		free(u);
		free(d);
		return dk_err_set(err, DK_EIO, "icu normalization: %s", u_errorName(ec));
	}
	for (int32_t i = 0; i <= nd; i++) {	/* strip marks and fold case in place */
		UChar c = i < nd ? d[i] : 0;

		if (i < nd && u_charType(c) == U_NON_SPACING_MARK)
			continue;
		if (i < nd && u_isalpha(c)) {
			if (start < 0)
				start = o;
			d[o++] = (UChar)u_tolower(c);
		} else if (start >= 0) {
			fn(d + start, o - start, user);
			start = -1;
		}
	}
	free(u);
	free(d);
	return 0;
}

static char *utf8_of(const UChar *w, int32_t n)
{
	UErrorCode ec = U_ZERO_ERROR;
	int32_t len = 0;
	char *s;

	u_strToUTF8(NULL, 0, &len, w, n, &ec);
	s = g_malloc((size_t)len + 1);
	ec = U_ZERO_ERROR;
	u_strToUTF8(s, len + 1, NULL, w, n, &ec);
	return s;
}

struct add_ctx {
	GHashTable *cues;
	int label;
};

static void add_cue(const UChar *w, int32_t n, void *user)
{
	struct add_ctx *a = user;
	char *key;
	uint64_t *mask;

	if (n < MIN_CUE)
		return;
	key = utf8_of(w, n);
	if ((mask = g_hash_table_lookup(a->cues, key)) == NULL) {
		mask = g_new0(uint64_t, 1);
		g_hash_table_insert(a->cues, key, mask);
	} else {
		g_free(key);
	}
	*mask |= 1ull << a->label;
}

/* rules_clf_build - cue table from every description of the taxonomy */
int rules_clf_build(const struct taxonomy *t, struct rules_clf **out, struct dk_err *err)
{
	struct rules_clf *r;
	int rc = 0;

	*out = NULL;
	if (t->n_labels < 2 || t->n_labels > RULES_MAX_LABELS)
		return dk_err_set(err, DK_EINVAL, "taxonomy has %zu labels; 2 to %d are supported",
				  t->n_labels, RULES_MAX_LABELS);
	r = g_new0(struct rules_clf, 1);
	r->n_labels = (int)t->n_labels;
	r->labels = g_new0(char *, t->n_labels);
	r->cues = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (size_t i = 0; i < t->n_labels; i++)
		r->labels[i] = g_strdup(t->labels[i]);
	for (size_t i = 0; rc == 0 && i < t->n_entries; i++) {
		struct add_ctx a = { r->cues, taxonomy_label_index(t, t->entries[i].label) };

		rc = fold_words(t->entries[i].description, strlen(t->entries[i].description),
				add_cue, &a, err);
	}
	if (rc) {
		rules_clf_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void rules_clf_free(struct rules_clf *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->n_labels; i++)
		g_free(r->labels[i]);
	g_free(r->labels);
	if (r->cues)
		g_hash_table_destroy(r->cues);
	g_free(r);
}

int rules_clf_n_labels(const struct rules_clf *r)
{
	return r->n_labels;
}

const char *rules_clf_label(const struct rules_clf *r, int i)
{
	return i >= 0 && i < r->n_labels ? r->labels[i] : NULL;
}

struct score_ctx {
	const struct rules_clf *r;
	GHashTable *seen;	/* distinct document words (note 2) */
	double *score;
};

static void score_key(struct score_ctx *s, const char *key)
{
	const uint64_t *mask = g_hash_table_lookup(s->r->cues, key);
	int shared;

	if (mask == NULL)
		return;
	shared = __builtin_popcountll(*mask);
	for (int k = 0; k < s->r->n_labels; k++)
		if (*mask >> k & 1)
			s->score[k] += log((double)s->r->n_labels / shared);
}

static void score_word(const UChar *w, int32_t n, void *user)
{
	struct score_ctx *s = user;
	char *key = utf8_of(w, n);

	if (!g_hash_table_add(s->seen, key))
		return;	/* already counted; the table freed key */
	score_key(s, key);
	for (int32_t p = MIN_PREFIX; p < n; p++) {	/* note 3 */
		char *part = utf8_of(w, p);

		score_key(s, part);
		g_free(part);
	}
	for (int32_t p = 1; n - p >= MIN_SUFFIX; p++) {
		char *part = utf8_of(w + p, n - p);

		score_key(s, part);
		g_free(part);
	}
}

/* rules_clf_predict - probabilities per label; the best index */
int rules_clf_predict(const struct rules_clf *r, const char *text, size_t len, double *prob,
		      struct dk_err *err)
{
	struct score_ctx s = { r, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), prob };
	double mx = -INFINITY, sum = 0;
	int rc, best = 0;

	for (int k = 0; k < r->n_labels; k++)
		prob[k] = 0;
	rc = fold_words(text, len, score_word, &s, err);
	g_hash_table_destroy(s.seen);
	if (rc)
		return rc;
	for (int k = 0; k < r->n_labels; k++) {
		if (prob[k] > prob[best])
			best = k;	/* ties: the earlier label, deterministic */
		mx = prob[k] > mx ? prob[k] : mx;
	}
	for (int k = 0; k < r->n_labels; k++)
		sum += (prob[k] = exp((prob[k] - mx) / TEMPERATURE));
	for (int k = 0; k < r->n_labels; k++)
		prob[k] /= sum;
	return best;
}
