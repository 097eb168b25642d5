/*
 * fuzz_extract_pdf - libFuzzer harness for the PDF extractor and the PDF
 * normalization that follows it (page offsets, furniture, hyphenation).
 * Any input must end in a clean error or a text whose page offsets lie
 * inside it, ascending; the text is touched end to end for ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stages/extract.h"
#include "stages/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* pages - normalize res as extract_buffer does, and check the offsets */
static void pages(struct extract_result *res)
{
	struct dk_buf out;
	struct dk_err err = DK_ERR_INIT;
	volatile char sink = 0;

	for (int p = res->pages - 1; p >= 0; p--)
		res->page_start[p] = p ? res->page_start[p - 1] : 0;
	dk_buf_init(&out, res->text.cap);
	if (normalize_text(res->text.buf, res->text.len, res->page_start, res->pages,
			   NORMALIZE_PDF, &out, res->page_start, &err) == 0) {
		for (int p = 0; p < res->pages; p++)
			if (res->page_start[p] > out.len || (p && res->page_start[p] < res->page_start[p - 1]))
				abort();
		for (size_t i = 0; i < out.len; i++)	/* touch every byte: ASan checks */
			sink ^= out.buf[i];
		(void)sink;
	}
	dk_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	/* an exact-size copy: reading past the end is an ASan report */
	uint8_t *mem = malloc(size ? size : 1);

	if (mem == NULL)
		return 0;
	memcpy(mem, data, size);
	extract_limits_default(&lim);
	lim.max_pages = 50;
	lim.max_text_bytes = 1 << 20;
	extract_result_init(&res, &lim);
	if (extract_pdf(mem, size, &lim, &res, &err) == 0)
		pages(&res);
	extract_result_release(&res);
	free(mem);
	return 0;
}
