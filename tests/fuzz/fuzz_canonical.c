/*
 * fuzz_canonical - libFuzzer harness for audit_canonical(), the JSON
 * parser behind every audit record: any input is either refused with
 * DK_EFORMAT and the output untouched, or canonicalised into valid UTF-8
 * that is itself a fixed point (canonical(canonical(x)) == canonical(x)).
 */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dk_buf a = DK_BUF_INIT, b = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	char *copy = malloc(size ? size : 1);
	int rc;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	dk_buf_adds(&a, "x");
	rc = audit_canonical(copy, size, &a, &err);
	if (rc != 0 && (rc != DK_EFORMAT || a.len != 1))
		__builtin_trap();
	if (rc == 0) {
		if (!g_utf8_validate(a.buf + 1, (gssize)a.len - 1, NULL))
			__builtin_trap();
		if (audit_canonical(a.buf + 1, a.len - 1, &b, &err) != 0 || b.len != a.len - 1 ||
		    memcmp(a.buf + 1, b.buf, b.len) != 0)
			__builtin_trap();
	}
	dk_buf_release(&a);
	dk_buf_release(&b);
	free(copy);
	return 0;
}
