/*
 * NAME
 *	textfeat - hashed word and character n-gram features of a text
 * SUMMARY
 *	textfeat_extract() turns UTF-8 text into a sparse, L2-normalised
 *	vector over 2^TEXTFEAT_BITS buckets: lower-cased words (ICU word
 *	boundaries), word bigrams, and character 3-5-grams of each word with
 *	boundary marks. Digits are folded to one shape so that amounts and
 *	dates do not each become a feature. The same text always gives the
 *	same vector (FNV-1a hashing, no randomness).
 * OWNERSHIP
 *	struct textfeat owns idx/val; textfeat_release() frees them.
 * THREADS
 *	Safe.
 * ERRORS
 *	DK_EINVAL (invalid UTF-8), DK_ENOMEM, DK_EIO (ICU).
 */
#ifndef DK_TEXTFEAT_H
#define DK_TEXTFEAT_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

#define TEXTFEAT_BITS 18
#define TEXTFEAT_DIM (1u << TEXTFEAT_BITS)

struct textfeat {
	uint32_t *idx;	/* (n) bucket ids, ascending, unique */
	float *val;	/* (n) weights, sum of squares 1 */
	size_t n;
};

int textfeat_extract(const char *text, size_t len, struct textfeat *out, struct dk_err *err);
void textfeat_release(struct textfeat *f);

#endif
