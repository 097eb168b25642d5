/*
 * NAME
 *	langid - language and script of a text
 * SUMMARY
 *	langid_open() loads the n-gram fingerprints of libexttextcat once
 *	(before a worker enters its sandbox); langid_detect() combines CLD2,
 *	those fingerprints restricted to the expected languages, function-word
 *	evidence taken from the same data and ICU script detection into one
 *	ISO 639-1 code with a confidence, plus the other languages found in a
 *	mixed text.
 *
 *	Languages outside the expected list are reported only on strong
 *	evidence: CLD2 sure of it and the fingerprints agreeing. This is what
 *	keeps Danish from being read as Norwegian when nb is not expected.
 * OWNERSHIP
 *	struct langid is owned by the caller of langid_open() and freed by
 *	langid_free(). Results are plain values in caller storage.
 * THREADS
 *	One struct langid may be used by one thread at a time.
 * ERRORS
 *	langid_open(): DK_ENOTFOUND (fingerprint data missing), DK_ECONFIG
 *	(an expected code has no data), DK_ENOMEM. langid_detect(): DK_EINVAL
 *	for invalid UTF-8.
 */
#ifndef DK_LANGID_H
#define DK_LANGID_H

#include <stddef.h>

#include "util/dk_err.h"

#define LANGID_MAX_EXPECTED 48
#define LANGID_MAX_OTHERS 3

struct langid;

struct langid_guess {
	char code[12];		/* ISO 639-1, or "und" when nothing could be said */
	double confidence;	/* 0..1 */
};

struct langid_result {
	struct langid_guess lang;		/* the dominant language */
	char script[24];			/* dominant ICU script name, e.g. "Latin" */
	struct langid_guess others[LANGID_MAX_OTHERS];	/* mixed text: the rest */
	int n_others;
};

/*
 * langid_open - load detector data
 * expected: comma- or space-separated ISO 639-1 codes; NULL or "" means the
 * 24 official EU languages. datadir: libexttextcat's data, NULL for the
 * system default.
 */
int langid_open(struct langid **lid, const char *expected, const char *datadir,
		struct dk_err *err);
void langid_free(struct langid *lid);

/* langid_detect - detect the language of text[0..len) (UTF-8) */
int langid_detect(struct langid *lid, const char *text, size_t len,
		  struct langid_result *res, struct dk_err *err);

#endif
