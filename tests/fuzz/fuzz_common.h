/*
 * fuzz_common - shared body of the extractor fuzz harnesses: run one
 * extractor on an exact-size copy of the input (reading past the end is an
 * ASan report) under small limits, and check the contract of extract.h:
 * success leaves valid UTF-8 text within the cap and sane children;
 * failure leaves a slug. A broken promise traps, which libFuzzer reports.
 */
#ifndef DK_FUZZ_COMMON_H
#define DK_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stages/extract.h"

typedef int (*fuzz_extract_fn)(const unsigned char *, size_t, const struct extract_limits *,
			       struct extract_result *, struct dk_err *);

static void fuzz_check(int rc, const struct extract_result *res, const struct dk_err *err,
		       const struct extract_limits *lim)
{
	if (rc != 0) {
		if (rc > 0 || err->slug[0] == 0)
			__builtin_trap();
		return;
	}
	if (res->text.len > lim->max_text_bytes || res->text.buf[res->text.len] != 0 ||
	    !g_utf8_validate(res->text.buf, (gssize)res->text.len, NULL))
		__builtin_trap();
	if (res->n_children > (size_t)lim->max_children)
		__builtin_trap();
	for (size_t i = 0; i < res->n_children; i++)
		if (res->children[i].name == NULL || (res->children[i].len && res->children[i].data == NULL))
			__builtin_trap();
}

static int fuzz_run(fuzz_extract_fn fn, const uint8_t *data, size_t size)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	unsigned char *mem = malloc(size ? size : 1);

	if (mem == NULL)
		return 0;
	memcpy(mem, data, size);
	extract_limits_default(&lim);
	lim.max_text_bytes = 1u << 20;
	lim.max_member_bytes = 4u << 20;
	lim.max_total_bytes = 8u << 20;
	lim.max_children = 8;
	extract_result_init(&res, &lim);
	fuzz_check(fn(mem, size, &lim, &res, &err), &res, &err, &lim);
	extract_result_release(&res);
	free(mem);
	return 0;
}

#endif
