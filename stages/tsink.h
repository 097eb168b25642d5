/*
 * NAME
 *	tsink - paragraph-aware text writer shared by the markup extractors
 * SUMMARY
 *	Extractors walking a tree (HTML, XML, DOCX, ODT, EML) push text runs
 *	and structural boundaries; tsink collapses whitespace the way a
 *	browser would, merges adjacent boundaries into the strongest one and
 *	writes a separator only between two pieces of text, never at the
 *	start or the end. Paragraphs come out separated by a blank line, as
 *	extract.h asks of every extractor.
 * OWNERSHIP
 *	struct tsink is caller storage; it borrows the output dk_buf.
 * LIFETIME
 *	While the dk_buf lives.
 * THREADS
 *	Per-object.
 * ERRORS
 *	The first failed append is kept in s->err (DK_ELIMIT when the buffer's
 *	byte cap would be passed, DK_ENOMEM when allocation failed); later
 *	calls do nothing. tsink_fail() turns it into text_too_large or
 *	out_of_memory.
 */
#ifndef DK_TSINK_H
#define DK_TSINK_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

/* boundary strengths, weakest first: the strongest pending one is written */
enum {
	TSINK_NONE = 0,
	TSINK_SPACE,		/* " " */
	TSINK_CELL,		/* "\t" between table cells */
	TSINK_LINE,		/* "\n" line break inside a paragraph */
	TSINK_PARA,		/* "\n\n" between paragraphs */
};

struct tsink {
	struct dk_buf *out;
	int pending;		/* strongest boundary seen since the last text */
	int written;		/* out already holds text: separators are due */
	int preserve;		/* keep whitespace verbatim (pre, text/plain) */
	int err;		/* first failure, 0 while all went well */
};

/* tsink_init - start writing at the end of out (a paragraph after any old text) */
void tsink_init(struct tsink *s, struct dk_buf *out);

/* tsink_sep - note a boundary of the given strength */
void tsink_sep(struct tsink *s, int level);

/* tsink_text - append n bytes of UTF-8, collapsing whitespace unless preserving */
int tsink_text(struct tsink *s, const char *p, size_t n);

/* tsink_fail - 0, or report s->err into err with its slug */
int tsink_fail(const struct tsink *s, struct dk_err *err);

#endif
