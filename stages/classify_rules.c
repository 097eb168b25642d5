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
 *	5. Cue stems: a cue of 6 letters or more is also kept without its last
 *	   letters (down to 5, at most 2 removed), so the inflected form in a
 *	   description ("zezwolenie", "odwołanie") still meets the document's
 *	   other forms ("zezwolenia", "odwołania") through note 3's prefixes.
 *	6. What a letter is about is said in its subject line and its title:
 *	   words on a line that opens with a subject marker ("Betreff:",
 *	   "Oggetto:", "Dotyczy:", a mail's "Subject:") or whose letters are
 *	   all capitals count TITLE_WEIGHT times. A word found on several
 *	   lines counts once, with its best line's weight (note 2).
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
#define MAX_STEM_CUT 2
#define TITLE_WEIGHT 3.0

/* subject markers of administrative letters and mail, lower case (note 6) */
static const char *const subject_markers[] = {
	"subject", "re", "regarding", "betreff", "betrifft", "objet", "oggetto", "asunto",
	"assunto", "onderwerp", "betreft", "dotyczy", "temat", "věc", "předmět", "vec",
	"predmet", "zadeva", "tárgy", "subiect", "referitor", "относно", "тема", "θέμα",
	"ämne", "angående", "emne", "vedrørende", "vedr", "aihe", "asia", "teema", "pealkiri",
	"temats", "tema", "dėl", "suġġett", "ábhar", "ref",
};

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

static void add_key(struct add_ctx *a, char *key)
{
	uint64_t *mask = g_hash_table_lookup(a->cues, key);

	if (mask == NULL) {
		mask = g_new0(uint64_t, 1);
		g_hash_table_insert(a->cues, key, mask);
	} else {
		g_free(key);
	}
	*mask |= 1ull << a->label;
}

/* add_cue - the word and its stems (note 5) */
static void add_cue(const UChar *w, int32_t n, void *user)
{
	if (n < MIN_CUE)
		return;
	add_key(user, utf8_of(w, n));
	for (int32_t cut = 1; cut <= MAX_STEM_CUT && n > MIN_PREFIX && n - cut >= MIN_PREFIX; cut++)
		add_key(user, utf8_of(w, n - cut));
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
	GHashTable *seen;	/* distinct document word -> double* best weight (note 2) */
	double weight;		/* of the current line (note 6) */
	double *score;
};

static void score_key(struct score_ctx *s, const char *key, double weight)
{
	const uint64_t *mask = g_hash_table_lookup(s->r->cues, key);
	int shared;

	if (mask == NULL)
		return;
	shared = __builtin_popcountll(*mask);
	for (int k = 0; k < s->r->n_labels; k++)
		if (*mask >> k & 1)
			s->score[k] += weight * log((double)s->r->n_labels / shared);
}

/* score_word - the word, its prefixes and its suffixes (note 3) */
static void score_word(struct score_ctx *s, const char *key, double weight)
{
	glong n = g_utf8_strlen(key, -1);

	score_key(s, key, weight);
	for (glong p = MIN_PREFIX; p < n; p++) {
		char *part = g_strndup(key, (gsize)(g_utf8_offset_to_pointer(key, p) - key));

		score_key(s, part, weight);
		g_free(part);
	}
	for (glong p = 1; n - p >= MIN_SUFFIX; p++)
		score_key(s, g_utf8_offset_to_pointer(key, p), weight);
}

/* see_word - remember the word with the best weight it was seen with */
static void see_word(const UChar *w, int32_t n, void *user)
{
	struct score_ctx *s = user;
	char *key = utf8_of(w, n);
	double *best = g_hash_table_lookup(s->seen, key);

	if (best) {
		*best = s->weight > *best ? s->weight : *best;
		g_free(key);
		return;
	}
	best = g_new(double, 1);
	*best = s->weight;
	g_hash_table_insert(s->seen, key, best);
}

/* is_marker - does the line open with a subject marker and a colon */
static int is_marker(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len < 32 ? len : 32);
	char *word;
	int hit = 0;

	if (colon == NULL)
		return 0;
	word = g_utf8_casefold(line, colon - line);
	g_strstrip(word);
	for (size_t i = 0; !hit && i < sizeof subject_markers / sizeof *subject_markers; i++)
		hit = strcmp(word, subject_markers[i]) == 0;
	g_free(word);
	return hit;
}

/* line_weight - TITLE_WEIGHT for a subject or an all-capitals line (note 6) */
static double line_weight(const char *line, size_t len)
{
	int letters = 0, lower = 0;

	if (is_marker(line, len))
		return TITLE_WEIGHT;
	for (const char *p = line; p < line + len; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		letters += g_unichar_isalpha(c);
		lower += g_unichar_islower(c);
	}
	return letters >= 4 && lower == 0 ? TITLE_WEIGHT : 1.0;
}

/* rules_clf_predict - probabilities per label; the best index */
int rules_clf_predict(const struct rules_clf *r, const char *text, size_t len, double *prob,
		      struct dk_err *err)
{
	struct score_ctx s = { r, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
			       1.0, prob };
	double mx = -INFINITY, sum = 0;
	GHashTableIter it;
	gpointer key, val;
	int rc = 0, best = 0;

	if (!g_utf8_validate(text, (gssize)len, NULL)) {
		g_hash_table_destroy(s.seen);
		return dk_err_setx(err, DK_EINVAL, "bad_encoding", "text is not valid UTF-8");
	}
	for (int k = 0; k < r->n_labels; k++)
		prob[k] = 0;
	for (size_t at = 0, end; rc == 0 && at < len; at = end + 1) {
		const char *nl = memchr(text + at, '\n', len - at);

		end = nl ? (size_t)(nl - text) : len;
		s.weight = line_weight(text + at, end - at);
		rc = fold_words(text + at, end - at, see_word, &s, err);
	}
	g_hash_table_iter_init(&it, s.seen);
	while (rc == 0 && g_hash_table_iter_next(&it, &key, &val))
		score_word(&s, key, *(double *)val);
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
