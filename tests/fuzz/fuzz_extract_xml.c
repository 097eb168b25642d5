/*
 * fuzz_extract_xml - libFuzzer harness for extract_xml (see fuzz_common.h)
 */
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run(extract_xml, data, size);
}
