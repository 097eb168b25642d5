/*
 * fuzz_normalize - libFuzzer harness for normalize_text() with the PDF
 * rules (furniture, de-hyphenation) on arbitrary bytes: a form feed
 * starts a new page, as in the golden tests. The output must be valid
 * UTF-8 without control characters other than newline, never hold two
 * blank lines in a row, and its page offsets must ascend inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stages/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort on an output that breaks normalize.h's promises */
static void check(const struct dk_buf *out, const size_t *start, int pages)
{
	if (!g_utf8_validate(out->buf, (gssize)out->len, NULL) || strstr(out->buf, "\n\n\n") ||
	    (out->len && (out->buf[0] == '\n' || out->buf[out->len - 1] == '\n')))
		abort();
	for (size_t i = 0; i < out->len; i++)
		if ((unsigned char)out->buf[i] < 0x20 && out->buf[i] != '\n')
			abort();
	for (int p = 0; p < pages; p++)
		if (start[p] > out->len || (p && start[p] < start[p - 1]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t *start = malloc((size + 1) * sizeof *start), *out_start;
	char *text = malloc(size + 1);
	struct dk_buf out;
	struct dk_err err = DK_ERR_INIT;
	size_t len = 0;
	int pages = 1;

	out_start = malloc((size + 1) * sizeof *out_start);
	if (start == NULL || text == NULL || out_start == NULL)
		goto done;
	start[0] = 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\f')
			start[pages++] = len;
		else
			text[len++] = (char)data[i];
	dk_buf_init(&out, 1 << 20);
	if (normalize_text(text, len, start, pages, NORMALIZE_PDF, &out, out_start, &err) == 0)
		check(&out, out_start, pages);
	dk_buf_release(&out);
done:
	free(start);
	free(out_start);
	free(text);
	return 0;
}
