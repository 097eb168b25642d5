/*
 * fuzz_extract_html - libFuzzer harness for extract_html (see fuzz_common.h)
 */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run(extract_html, data, size);
}
