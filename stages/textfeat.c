/*
 * NAME
 *	textfeat - hashed n-gram features
 * DESIGN NOTES
 *	1. Features are counted in a dense scratch array of TEXTFEAT_DIM
 *	   counters plus a list of touched buckets, so a text costs O(its
 *	   length) and the 1 MiB of counters is reset through that list.
 *	2. Weight = 1 + log(count), then the vector is L2-normalised, so long
 *	   documents do not dominate training.
 *	3. Texts past 256 KiB are cut: classification needs the letter's
 *	   opening and body, not its annexes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include "stages/textfeat.h"

#define MAX_TEXT (256u * 1024u)

struct counter {
	uint16_t *count;	/* (TEXTFEAT_DIM) */
	uint32_t *touched;
	size_t n, cap;
};

static uint32_t fnv(uint32_t seed, const UChar *s, int32_t n)
{
	uint32_t h = 2166136261u ^ seed;

	for (int32_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h & (TEXTFEAT_DIM - 1);
}

static int bump(struct counter *c, uint32_t b)
{
	if (c->count[b] == 0) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 1024;
			void *p = realloc(c->touched, cap * sizeof *c->touched);

			if (p == NULL)
				return DK_ENOMEM;
			c->touched = p;
			c->cap = cap;
		}
		c->touched[c->n++] = b;
	}
	if (c->count[b] < UINT16_MAX)
		c->count[b]++;
	return 0;
}

/* word_features - the word, its character n-grams and the bigram with prev */
static int word_features(struct counter *c, const UChar *w, int32_t n,
			 const UChar *prev, int32_t pn)
{
	UChar marked[66], pair[130];
	int32_t m = n > 64 ? 64 : n;
	int rc = bump(c, fnv(1, w, n));

	marked[0] = '<';
	memcpy(marked + 1, w, (size_t)m * sizeof *w);
	marked[m + 1] = '>';
	for (int g = 3; rc == 0 && g <= 5; g++)
		for (int32_t i = 0; rc == 0 && i + g <= m + 2; i++)
			rc = bump(c, fnv(2 + (uint32_t)g, marked + i, g));
	if (rc == 0 && prev && pn + n + 1 <= 130) {
		memcpy(pair, prev, (size_t)pn * sizeof *prev);
		pair[pn] = ' ';
		memcpy(pair + pn + 1, w, (size_t)n * sizeof *w);
		rc = bump(c, fnv(9, pair, pn + n + 1));
	}
	return rc;
}

static int count_words(struct counter *c, UChar *u, int32_t n16, struct dk_err *err)
{
	UErrorCode ec = U_ZERO_ERROR;
	UBreakIterator *wb = ubrk_open(UBRK_WORD, "", u, n16, &ec);
	int32_t prev_b = -1, prev_n = 0, b = 0, e;
	int rc = 0;

	if (U_FAILURE(ec))
		return dk_err_set(err, DK_EIO, "icu word iterator: %s", u_errorName(ec));
	for (e = ubrk_next(wb); rc == 0 && e != UBRK_DONE; b = e, e = ubrk_next(wb)) {
		int status = ubrk_getRuleStatus(wb);

		if (status < UBRK_WORD_NUMBER || e - b > 64)
			continue;
		for (int32_t i = b; i < e; i++)
			u[i] = u_isdigit(u[i]) ? '0' : (UChar)u_tolower(u[i]);
		rc = word_features(c, u + b, e - b, prev_b >= 0 ? u + prev_b : NULL, prev_n);
		prev_b = b;
		prev_n = e - b;
	}
	ubrk_close(wb);
	return rc ? dk_err_set(err, DK_ENOMEM, "out of memory") : 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* finish - sorted, weighted, normalised vector; resets the counters */
static int finish(struct counter *c, struct textfeat *out, struct dk_err *err)
{
	double norm = 0;

	qsort(c->touched, c->n, sizeof *c->touched, cmp_u32);
	out->idx = malloc((c->n ? c->n : 1) * sizeof *out->idx);
	out->val = malloc((c->n ? c->n : 1) * sizeof *out->val);
	if (out->idx == NULL || out->val == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n; i++) {
		double v = 1.0 + log((double)c->count[c->touched[i]]);

		out->idx[i] = c->touched[i];
		out->val[i] = (float)v;
		norm += v * v;
	}
	out->n = c->n;
	norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
	for (size_t i = 0; i < out->n; i++)
		out->val[i] = (float)(out->val[i] * norm);
	return 0;
}

/* textfeat_extract - feature vector of text[0..len) */
int textfeat_extract(const char *text, size_t len, struct textfeat *out, struct dk_err *err)
{
	struct counter c = { NULL, NULL, 0, 0 };
	UErrorCode ec = U_ZERO_ERROR;
	UChar *u = NULL;
	int32_t n16 = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (len > MAX_TEXT) {
		len = MAX_TEXT;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;	/* do not cut a character in half */
	}
	u_strFromUTF8(NULL, 0, &n16, text, (int32_t)len, &ec);
	if (ec != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ec))
		return dk_err_setx(err, DK_EINVAL, "bad_encoding", "text is not valid UTF-8");
	ec = U_ZERO_ERROR;
	u = malloc(((size_t)n16 + 1) * sizeof *u);
	c.count = calloc(TEXTFEAT_DIM, sizeof *c.count);
	if (u == NULL || c.count == NULL) {
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		goto out;
	}
	u_strFromUTF8(u, n16 + 1, NULL, text, (int32_t)len, &ec);
	rc = count_words(&c, u, n16, err);
	if (rc == 0)
		rc = finish(&c, out, err);
out:
	if (rc)
		textfeat_release(out);
	free(u);
	free(c.count);
	free(c.touched);
	return rc;
}

/* textfeat_release - free the vector */
void textfeat_release(struct textfeat *f)
{
	free(f->idx);
	free(f->val);
	memset(f, 0, sizeof *f);
}
