/* libFuzzer harness: JSON Schema compilation, then a short walk of the grammar. */
#include <stdint.h>
#include <string.h>

#include "engine/grammar.h"
#include "stages/schema_grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gram_node *g = NULL;
	struct gram_state s;
	unsigned seed = (unsigned)size;

	if (schema_grammar_compile((const char *)data, size, &g, NULL) != 0)
		return 0;
	gram_init(&s, g);
	for (int step = 0; step < 256 && !gram_complete(&s); step++) {
		unsigned char ok[256];
		int n_ok = 0;

		for (int c = 1; c < 256; c++) {
			struct gram_state t = s;
			char ch = (char)c;

			if (gram_feed(&t, &ch, 1) == 0)
				ok[n_ok++] = (unsigned char)c;
		}
		if (n_ok == 0)
			__builtin_trap();	/* a dead end would trap the decoder */
		seed = seed * 1103515245u + 12345u;
		gram_feed(&s, (const char *)&ok[(seed >> 16) % (unsigned)n_ok], 1);
	}
	gram_node_free(g);
	return 0;
}
