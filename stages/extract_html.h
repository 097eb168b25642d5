/*
 * NAME
 *	extract_html - text of an HTML document (libxml2's HTML parser)
 * SUMMARY
 *	extract_html() (declared in extract.h) is the format extractor.
 *	extract_html_enc() is the same with the character encoding imposed by
 *	the caller (EML hands over HTML parts already decoded to UTF-8, whose
 *	own meta charset may claim otherwise); NULL lets libxml2 decide from
 *	the BOM and meta tags.
 *	Appends paragraphs to res->text; sets res->title (the <title>) and
 *	res->author (<meta name="author">) only where still NULL.
 * OWNERSHIP
 *	data is borrowed; everything stored goes into res.
 * LIFETIME
 *	As extract.h.
 * THREADS
 *	Single-thread (see xmlwalk.h).
 * ERRORS
 *	malformed_html (nothing parseable), text_too_large, out_of_memory,
 *	too_large (over 2 GiB).
 */
#ifndef DK_EXTRACT_HTML_H
#define DK_EXTRACT_HTML_H

#include "stages/extract.h"

int extract_html_enc(const unsigned char *data, size_t len, const char *encoding,
		     const struct extract_limits *lim, struct extract_result *res,
		     struct dk_err *err);

#endif
