/*
 * NAME
 *	summary_extractive - the few most central sentences of a text
 * SUMMARY
 *	Used when no model is configured. ICU splits the text into sentences
 *	and words; each sentence is scored by the cosine between its TF-IDF
 *	vector and the whole document's; the best sentences are kept, within
 *	a sentence and a character budget, and printed in document order.
 *	The output never contains a word that is not in the source.
 * OWNERSHIP
 *	The summary is appended to the caller's dk_buf.
 * THREADS
 *	Safe.
 * ERRORS
 *	DK_EINVAL (invalid UTF-8), DK_ENOMEM, DK_EIO (ICU failure).
 */
#ifndef DK_SUMMARY_EXTRACTIVE_H
#define DK_SUMMARY_EXTRACTIVE_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

struct summary_opts {
	size_t max_chars;	/* bytes of UTF-8 output at most (default 600) */
	int max_sentences;	/* at most this many sentences (default 3) */
	const char *language;	/* ISO 639-1 for sentence rules, or NULL */
};

/* summary_extractive - append the summary of text[0..len) to out */
int summary_extractive(const char *text, size_t len, const struct summary_opts *opts,
		       struct dk_buf *out, struct dk_err *err);

#endif
