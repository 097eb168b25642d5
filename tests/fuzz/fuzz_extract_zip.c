/*
 * fuzz_extract_zip - libFuzzer harness for the ZIP containers: every input
 * goes through both extract_docx and extract_odt (see fuzz_common.h), so
 * the zip reader, the caps and both XML walkers see it.
 */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(extract_docx, data, size);
	return fuzz_run(extract_odt, data, size);
}
