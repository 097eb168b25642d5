/*
 * fuzz_gguf - libFuzzer harness for the GGUF reader. Any input must give
 * either a clean error or a struct whose every tensor and value can be
 * read in full (we touch them all, so ASan catches a lying bound).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dk_err err = DK_ERR_INIT;
	struct gguf *g;
	/* an exact-size copy: reading past the end is an ASan report */
	uint8_t *mem = malloc(size ? size : 1);
	volatile uint8_t sink = 0;

	if (mem == NULL)
		return 0;
	memcpy(mem, data, size);
	if (gguf_open_buffer(mem, size, &g, &err) == 0) {
		for (uint64_t i = 0; i < g->n_tensors; i++) {
			const uint8_t *p = g->tensors[i].data;
			if (g->tensors[i].nbytes > 0)
				sink ^= p[0] ^ p[g->tensors[i].nbytes - 1];
			sink ^= (uint8_t)g->tensors[i].name.s[g->tensors[i].name.len ? 0 : 0];
		}
		for (uint64_t i = 0; i < g->n_kv; i++) {
			const struct gguf_kv *kv = &g->kv[i];
			if (kv->type == GGUF_VT_ARRAY && kv->arr_type == GGUF_VT_STRING)
				for (uint64_t j = 0; j < kv->n; j++) {
					struct gguf_str s = gguf_arr_str(kv, j);
					if (s.len)
						sink ^= (uint8_t)s.s[s.len - 1];
				}
			else if (kv->type == GGUF_VT_ARRAY && kv->n > 0 && kv->arr_type != GGUF_VT_BOOL)
				sink ^= (uint8_t)gguf_arr_int(kv, kv->n - 1);
		}
		gguf_free(g);
	}
	free(mem);
	(void)sink;
	return 0;
}
