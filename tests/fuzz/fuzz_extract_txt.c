/*
 * fuzz_extract_txt - libFuzzer harness for type detection, the TXT
 * extractor (BOMs, UTF-8 validation, ICU charset detection and
 * conversion) and plain normalization, through extract_buffer() as the
 * pipeline calls it. Any input must end in a clean error or a valid
 * UTF-8 text without control characters other than newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stages/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	uint8_t *mem = malloc(size ? size : 1);

	if (mem == NULL)
		return 0;
	memcpy(mem, data, size);
	extract_limits_default(&lim);
	lim.max_text_bytes = 1 << 20;
	extract_result_init(&res, &lim);
	if (extract_buffer(mem, size, &lim, &res, &err) == 0 && strcmp(res.format, "txt") == 0) {
		if (!g_utf8_validate(res.text.buf, (gssize)res.text.len, NULL))
			abort();
		for (size_t i = 0; i < res.text.len; i++)
			if ((unsigned char)res.text.buf[i] < 0x20 && res.text.buf[i] != '\n')
				abort();
	}
	extract_result_release(&res);
	free(mem);
	return 0;
}
