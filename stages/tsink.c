/*
 * NAME
 *	tsink - paragraph-aware text writer shared by the markup extractors
 * DESIGN NOTES
 *	1. Whitespace inside a text run never reaches the output directly
 *	   (unless preserving): it raises the pending boundary to TSINK_SPACE,
 *	   so "a  \n b" becomes "a b" and runs split across elements
 *	   ("Hel" "lo") join without a space, as in a browser.
 *	2. A boundary is written only when the next non-blank text arrives and
 *	   only if text was written before, so the output never starts or ends
 *	   with a separator and never holds two in a row.
 *	3. Appends are checked against the dk_buf cap first, so passing it is
 *	   reported as DK_ELIMIT (text_too_large), not as an allocation failure.
 */
#include "stages/tsink.h"

#include <string.h>

static const char *const sep_text[] = { "", " ", "\t", "\n", "\n\n" };

/* tsink_init - start writing at the end of out */
void tsink_init(struct tsink *s, struct dk_buf *out)
{
	s->out = out;
	s->pending = TSINK_PARA;
	s->written = out->len > 0;
	s->preserve = 0;
	s->err = 0;
}

/* tsink_sep - note a boundary of the given strength */
void tsink_sep(struct tsink *s, int level)
{
	if (level > s->pending)
		s->pending = level;
}

/* put - append raw bytes, cap checked first (note 3) */
static int put(struct tsink *s, const char *p, size_t n)
{
	if (s->err)
		return s->err;
	if (s->out->cap && n > s->out->cap - s->out->len)
		return s->err = DK_ELIMIT;
	if (dk_buf_add(s->out, p, n) != 0)
		return s->err = DK_ENOMEM;
	return 0;
}

/* flush_sep - write the pending boundary before new text (note 2) */
static int flush_sep(struct tsink *s)
{
	int rc = 0;

	if (s->written && s->pending != TSINK_NONE)
		rc = put(s, sep_text[s->pending], strlen(sep_text[s->pending]));
	s->pending = TSINK_NONE;
	s->written = 1;
	return rc;
}

/* is_blank - ASCII whitespace, the only kind that collapses (NBSP stays) */
static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* tsink_text - append n bytes of UTF-8 (note 1) */
int tsink_text(struct tsink *s, const char *p, size_t n)
{
	size_t i = 0, j;

	if (s->err || n == 0)
		return s->err;
	if (s->preserve) {
		if (flush_sep(s) != 0)
			return s->err;
		return put(s, p, n);
	}
	while (i < n) {
		if (is_blank((unsigned char)p[i])) {
			tsink_sep(s, TSINK_SPACE);
			i++;
			continue;
		}
		for (j = i; j < n && !is_blank((unsigned char)p[j]); j++)
			;
		if (flush_sep(s) != 0 || put(s, p + i, j - i) != 0)
			return s->err;
		i = j;
	}
	return 0;
}

/* tsink_fail - 0, or report s->err into err with its slug */
int tsink_fail(const struct tsink *s, struct dk_err *err)
{
	if (s->err == DK_ELIMIT)
		return dk_err_setx(err, DK_ELIMIT, "text_too_large",
				   "extracted text exceeds %zu bytes", s->out->cap);
	if (s->err)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory",
				   "out of memory while extracting text");
	return 0;
}
