/*
 * fuzz_entities - libFuzzer harness for the rule-based entity recognizers.
 * The first byte picks a language hint (or none); the rest is the text,
 * random UTF-8 or not. Every entity must lie inside the text, start before
 * it ends, sit on character boundaries (as a UTF-8 decoder steps through
 * the text: never inside a valid multi-byte character; a stray invalid
 * byte is a step of its own) and have a value; a violation traps so that
 * libFuzzer (and the corpus replay) report it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/utf8.h>

#include "stages/entities.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* boundaries - 1 at every offset where a UTF-8 decoder starts a step, and at n */
static uint8_t *boundaries(const uint8_t *s, size_t n)
{
	uint8_t *b = calloc(n + 1, 1);
	int32_t i = 0, len = (int32_t)n;
	UChar32 cp;

	if (b == NULL)
		return NULL;
	while (i < len) {
		b[i] = 1;
		U8_NEXT(s, i, len, cp);
		(void)cp;
	}
	b[n] = 1;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = { NULL, "de", "pl", "hr", "el", "en", "fr", "hu" };
	static const char *const pats[] = { "\\b([A-Z]{2}-\\d+)" };
	struct ent_config cfg = { NULL, pats, 1, NULL, 0 };
	struct ent_list l = ENT_LIST_INIT;
	struct dk_err err = DK_ERR_INIT;
	uint8_t *text, *edge;
	size_t n;

	if (size == 0)
		return 0;
	cfg.lang = langs[data[0] % (sizeof langs / sizeof langs[0])];
	n = size - 1;
	/* an exact-size copy without terminator: a read past the end is an ASan report */
	text = malloc(n ? n : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, n);
	edge = boundaries(text, n);
	if (edge != NULL && ent_extract((const char *)text, n, &cfg, &l, &err) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			const struct ent_entity *e = &l.v[i];

			if (e->start >= e->end || e->end > n || e->value == NULL ||
			    !edge[e->start] || !edge[e->end] ||
			    (i > 0 && l.v[i - 1].start > e->start))
				__builtin_trap();
		}
	}
	ent_list_release(&l);
	free(edge);
	free(text);
	return 0;
}
