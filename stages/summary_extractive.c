/*
 * NAME
 *	summary_extractive - centroid sentence extraction
 * DESIGN NOTES
 *	1. Offsets: ICU works in UTF-16; map16[i] is the UTF-8 byte offset of
 *	   UTF-16 unit i, so sentences are copied from the original bytes and
 *	   the summary is byte-for-byte source text.
 *	2. Candidates are real sentences: 5 to 60 words, at most 400 UTF-16
 *	   units, and either ending in sentence punctuation or short (<= 30
 *	   words). Salutations and run-together header blocks fail this.
 *	3. Words are hashed (FNV-1a of the lower-cased UTF-16) into a fixed
 *	   table of counters; collisions only blur weights a little.
 *	4. Ties keep the earlier sentence, so the result is deterministic. A
 *	   sentence equal to one already kept (a title repeated as a heading)
 *	   is skipped, and one without closing punctuation (a heading) scores
 *	   a fifth less than a finished sentence.
 *	5. ICU breaks at every line feed and after abbreviations it does not
 *	   know ("ul.", "Nr.", "Az."). A single line feed inside a paragraph
 *	   is folded to a space in the UTF-16 copy (same length, offsets
 *	   unchanged), and a break after what looks like an abbreviation (see
 *	   after_abbreviation) is not taken as a sentence end.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include "stages/summary_extractive.h"

#define NBUCKET 4096

struct sentence {
	int32_t b16, e16;	/* UTF-16 range */
	int words;
	int finished;		/* ends in sentence punctuation */
	double score;
	int keep;
};

struct doc {
	UChar *u;
	int32_t n16;
	size_t *map16;			/* (n16 + 1) UTF-8 offsets */
	struct sentence *s;
	int ns;
	uint32_t *sent_buckets;		/* per word occurrence: bucket id */
	int32_t *sent_first;		/* (ns + 1) index into sent_buckets */
	int32_t nw;
};

static uint32_t word_bucket(const UChar *w, int32_t n)
{
	uint32_t h = 2166136261u;

	for (int32_t i = 0; i < n; i++) {
		h ^= (uint32_t)u_tolower(w[i]);
		h *= 16777619u;
	}
	return h % NBUCKET;
}

static int to_utf16(struct doc *d, const char *text, size_t len, struct dk_err *err)
{
	UErrorCode ec = U_ZERO_ERROR;
	int32_t n8 = (int32_t)len, i8 = 0, i16 = 0;

	if (len > INT32_MAX / 2)
		return dk_err_set(err, DK_ELIMIT, "text too long to summarize");
	u_strFromUTF8(NULL, 0, &d->n16, text, n8, &ec);
	if (ec != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ec))
		return dk_err_setx(err, DK_EINVAL, "bad_encoding", "text is not valid UTF-8");
	d->u = malloc(((size_t)d->n16 + 1) * sizeof *d->u);
	d->map16 = malloc(((size_t)d->n16 + 1) * sizeof *d->map16);
	if (d->u == NULL || d->map16 == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	while (i8 < n8) {
		UChar32 c;
		int32_t start = i8;

		U8_NEXT(text, i8, n8, c);
		if (c < 0)
			return dk_err_setx(err, DK_EINVAL, "bad_encoding", "text is not valid UTF-8");
		d->map16[i16] = (size_t)start;
		if (U_IS_BMP(c)) {
			d->u[i16++] = (UChar)c;
		} else {
			d->u[i16++] = U16_LEAD(c);
			d->map16[i16] = (size_t)start;
			d->u[i16++] = U16_TRAIL(c);
		}
	}
	d->map16[i16] = len;
	for (int32_t i = 0; i < d->n16; i++)	/* DESIGN NOTE 5 */
		if (d->u[i] == '\n' && (i == 0 || d->u[i - 1] != '\n') &&
		    (i + 1 == d->n16 || d->u[i + 1] != '\n'))
			d->u[i] = ' ';
	return 0;
}

static int is_sentence_end(UChar c)
{
	return c == '.' || c == '!' || c == '?' || c == ';' || c == 0x3002 || c == 0x0589;
}

/*
 * after_abbreviation - does u[b..e) end in "x." with x a one-letter initial
 * or a one- or two-letter lower-case token ("ul.", "nr.") and the next
 * word start with a capital or a digit? Longer words ("bei.") end
 * sentences too often to be guessed at.
 */
static int after_abbreviation(const UChar *u, int32_t n, int32_t b, int32_t e)
{
	int32_t k, next = e, len;

	while (next < n && u_isspace(u[next]))
		next++;
	while (e > b && u_isspace(u[e - 1]))
		e--;
	if (e <= b || u[e - 1] != '.' || next == n || !(u_isupper(u[next]) || u_isdigit(u[next])))
		return 0;
	k = e - 1;
	while (k > b && u_isalpha(u[k - 1]))
		k--;
	if (k > b && !u_isspace(u[k - 1]))
		return 0;
	len = e - 1 - k;
	return (len == 1 && u_isupper(u[k])) || (len >= 1 && len <= 2 && u_islower(u[k]));
}

/* split - sentences and their words (DESIGN NOTE 2) */
static int split(struct doc *d, const char *lang, struct dk_err *err)
{
	UErrorCode ec = U_ZERO_ERROR;
	char locale[32];
	UBreakIterator *sb, *wb;
	int32_t b, e, cap_s = 64, cap_w = 1024;

	snprintf(locale, sizeof locale, "%s@ss=standard", lang ? lang : "en");
	sb = ubrk_open(UBRK_SENTENCE, locale, d->u, d->n16, &ec);
	wb = ubrk_open(UBRK_WORD, locale, d->u, d->n16, &ec);
	d->s = malloc((size_t)cap_s * sizeof *d->s);
	d->sent_buckets = malloc((size_t)cap_w * sizeof *d->sent_buckets);
	d->sent_first = malloc(((size_t)cap_s + 1) * sizeof *d->sent_first);
	if (U_FAILURE(ec) || !d->s || !d->sent_buckets || !d->sent_first) {
		ubrk_close(sb);
		ubrk_close(wb);
		return U_FAILURE(ec) ? dk_err_set(err, DK_EIO, "icu break iterator: %s", u_errorName(ec))
				     : dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	for (b = ubrk_first(sb), e = ubrk_next(sb); e != UBRK_DONE; b = e, e = ubrk_next(sb)) {
		struct sentence *s;
		int32_t last;

		while (e != UBRK_DONE && e < d->n16 && after_abbreviation(d->u, d->n16, b, e))
			e = ubrk_next(sb);
		if (e == UBRK_DONE)
			e = d->n16;
		last = e;

		if (d->ns + 1 >= cap_s) {
			void *p = realloc(d->s, (size_t)cap_s * 2 * sizeof *d->s);
			void *q = realloc(d->sent_first, ((size_t)cap_s * 2 + 1) * sizeof *d->sent_first);
			if (p) d->s = p;
			if (q) d->sent_first = q;
			if (!p || !q)
				goto nomem;
			cap_s *= 2;
		}
		s = &d->s[d->ns];
		memset(s, 0, sizeof *s);
		s->b16 = b;
		d->sent_first[d->ns] = d->nw;
		/* a sentence boundary is also a word boundary: words are [w0, w1) */
		for (int32_t w0 = b, w1 = ubrk_following(wb, b); w1 != UBRK_DONE && w1 <= e;
		     w0 = w1, w1 = ubrk_next(wb)) {
			if (ubrk_getRuleStatus(wb) < UBRK_WORD_LETTER)
				continue;
			if (d->nw == cap_w) {
				void *p = realloc(d->sent_buckets, (size_t)cap_w * 2 * sizeof *d->sent_buckets);
				if (!p)
					goto nomem;
				d->sent_buckets = p;
				cap_w *= 2;
			}
			d->sent_buckets[d->nw++] = word_bucket(d->u + w0, w1 - w0);
			s->words++;
		}
		while (last > b && u_isspace(d->u[last - 1]))
			last--;
		s->e16 = last;
		s->finished = last > b && is_sentence_end(d->u[last - 1]);
		if (s->words >= 5 && s->words <= 60 && last - b <= 400 &&
		    ((last > b && is_sentence_end(d->u[last - 1])) || s->words <= 30))
			d->ns++;
		else
			d->nw = d->sent_first[d->ns];
	}
	d->sent_first[d->ns] = d->nw;
	ubrk_close(sb);
	ubrk_close(wb);
	return 0;
nomem:
	ubrk_close(sb);
	ubrk_close(wb);
	return dk_err_set(err, DK_ENOMEM, "out of memory");
}

/* score - cosine of each sentence's TF-IDF vector with the document's */
static void score(struct doc *d)
{
	static const double eps = 1e-12;
	double *idf = calloc(NBUCKET, sizeof *idf), *dv = calloc(NBUCKET, sizeof *dv);
	double *sv = calloc(NBUCKET, sizeof *sv);
	double dnorm = 0;

	if (!idf || !dv || !sv)
		goto out;
	for (int i = 0; i < d->ns; i++) {
		for (int32_t k = d->sent_first[i]; k < d->sent_first[i + 1]; k++)
			if (sv[d->sent_buckets[k]] == 0) {
				sv[d->sent_buckets[k]] = 1;
				idf[d->sent_buckets[k]] += 1;	/* document frequency */
			}
		for (int32_t k = d->sent_first[i]; k < d->sent_first[i + 1]; k++)
			sv[d->sent_buckets[k]] = 0;
	}
	for (int b = 0; b < NBUCKET; b++)
		idf[b] = idf[b] > 0 ? log(1.0 + d->ns / idf[b]) : 0;
	for (int32_t k = 0; k < d->nw; k++)
		dv[d->sent_buckets[k]] += idf[d->sent_buckets[k]];
	for (int b = 0; b < NBUCKET; b++)
		dnorm += dv[b] * dv[b];
	for (int i = 0; i < d->ns; i++) {
		double dot = 0, snorm = 0;

		for (int32_t k = d->sent_first[i]; k < d->sent_first[i + 1]; k++)
			sv[d->sent_buckets[k]] += idf[d->sent_buckets[k]];
		for (int32_t k = d->sent_first[i]; k < d->sent_first[i + 1]; k++) {
			uint32_t bk = d->sent_buckets[k];

			if (sv[bk] != 0) {
				dot += sv[bk] * dv[bk];
				snorm += sv[bk] * sv[bk];
				sv[bk] = 0;
			}
		}
		d->s[i].score = dot / (sqrt(snorm * dnorm) + eps) * (d->s[i].finished ? 1.0 : 0.8);
	}
out:
	free(idf);
	free(dv);
	free(sv);
}

/* same_text - do two sentences hold the same UTF-16 text? */
static int same_text(const struct doc *d, const struct sentence *a, const struct sentence *b)
{
	return a->e16 - a->b16 == b->e16 - b->b16 &&
	       memcmp(d->u + a->b16, d->u + b->b16, (size_t)(a->e16 - a->b16) * sizeof *d->u) == 0;
}

static int repeats_kept(const struct doc *d, int i)
{
	for (int k = 0; k < d->ns; k++)
		if (d->s[k].keep && same_text(d, &d->s[k], &d->s[i]))
			return 1;
	return 0;
}

/* pick - best sentences within the budgets (DESIGN NOTE 4) */
static void pick(struct doc *d, const struct summary_opts *o)
{
	size_t used = 0;

	for (int taken = 0; taken < o->max_sentences;) {
		int best = -1;

		for (int i = 0; i < d->ns; i++) {
			size_t n = d->map16[d->s[i].e16] - d->map16[d->s[i].b16];

			if (!d->s[i].keep && used + n + 1 <= o->max_chars &&
			    (best < 0 || d->s[i].score > d->s[best].score) && !repeats_kept(d, i))
				best = i;
		}
		if (best < 0)
			break;
		d->s[best].keep = 1;
		used += d->map16[d->s[best].e16] - d->map16[d->s[best].b16] + 1;
		taken++;
	}
}

/* append_kept - kept sentences in document order, whitespace folded */
static int append_kept(const struct doc *d, const char *text, struct dk_buf *out)
{
	int rc = 0, first = 1;

	for (int i = 0; rc == 0 && i < d->ns; i++) {
		size_t b = d->map16[d->s[i].b16], e = d->map16[d->s[i].e16];
		int space = 0;

		if (!d->s[i].keep)
			continue;
		if (!first)
			rc = dk_buf_addch(out, ' ');
		first = 0;
		for (size_t k = b; rc == 0 && k < e; k++) {
			if (text[k] == ' ' || text[k] == '\n' || text[k] == '\t' || text[k] == '\r') {
				space = 1;
				continue;
			}
			if (space)
				rc = dk_buf_addch(out, ' ');
			space = 0;
			if (rc == 0)
				rc = dk_buf_addch(out, text[k]);
		}
	}
	return rc;
}

/* summary_extractive - append the summary of text[0..len) to out */
int summary_extractive(const char *text, size_t len, const struct summary_opts *opts,
		       struct dk_buf *out, struct dk_err *err)
{
	struct summary_opts o = { 600, 3, NULL };
	struct doc d;
	int rc;

	if (opts) {
		o = *opts;
		if (o.max_chars == 0)
			o.max_chars = 600;
		if (o.max_sentences <= 0)
			o.max_sentences = 3;
	}
	memset(&d, 0, sizeof d);
	rc = to_utf16(&d, text, len, err);
	if (rc == 0)
		rc = split(&d, o.language, err);
	if (rc == 0) {
		score(&d);
		pick(&d, &o);
		if (append_kept(&d, text, out) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "summary exceeds its buffer");
	}
	free(d.u);
	free(d.map16);
	free(d.s);
	free(d.sent_buckets);
	free(d.sent_first);
	return rc;
}
