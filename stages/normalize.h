/*
 * NAME
 *	normalize - turn an extractor's raw text into docket's stored text
 * SUMMARY
 *	normalize_text() reads raw UTF-8 made of pages and writes the text
 *	that the store keeps and every later offset refers to:
 *	  - valid UTF-8 (invalid bytes become U+FFFD), Unicode NFC;
 *	  - CR LF and CR become LF; tabs and Unicode spaces become one space;
 *	    control and invisible format characters are dropped;
 *	  - no leading or trailing spaces on a line, no runs of spaces;
 *	  - paragraphs separated by exactly one blank line, no blank lines at
 *	    the start or end; pages joined by one blank line.
 *	With NORMALIZE_FURNITURE (paged formats): page-number lines and
 *	header/footer lines repeated on most pages are removed (a repeated
 *	header that is not a page number is kept where it first appears, so
 *	an organization named only there still reaches the stored text).
 *	With NORMALIZE_DEHYPHENATE (PDF): a word broken across lines
 *	("Verwal-" / "tung") is joined ("Verwaltung"); a hyphen before a
 *	capital stays and the parts are joined ("Baden-Württemberg").
 * OWNERSHIP
 *	in and page_start are borrowed. out is the caller's dk_buf; its cap
 *	bounds the result. out_start is caller storage of max(pages, 1) slots.
 * LIFETIME
 *	Nothing is kept between calls.
 * THREADS
 *	Safe: no shared state besides ICU's immutable NFC data.
 * ERRORS
 *	DK_ENOMEM with slug text_too_large when out's cap is hit, slug
 *	out_of_memory when an allocation fails; DK_EINVAL for bad arguments.
 */
#ifndef DK_NORMALIZE_H
#define DK_NORMALIZE_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

enum {
	NORMALIZE_DEHYPHENATE = 1 << 0,	/* join words broken across lines */
	NORMALIZE_FURNITURE = 1 << 1,	/* drop page numbers, running heads */
	NORMALIZE_PDF = NORMALIZE_DEHYPHENATE | NORMALIZE_FURNITURE,
};

/*
 * normalize_text - normalize in[0..len) into out (which must be empty)
 *	pages 0 means one unpaged text. Otherwise page i of the input starts
 *	at page_start[i] (ascending, page 0 at 0) and ends where page i+1
 *	starts; on success out_start[i] is where page i starts in out.
 */
int normalize_text(const char *in, size_t len, const size_t *page_start,
		   int pages, unsigned flags, struct dk_buf *out,
		   size_t *out_start, struct dk_err *err);

#endif
