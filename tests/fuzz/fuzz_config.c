/*
 * fuzz_config - libFuzzer harness for the configuration parser: any INI
 * text gives a clean error or a configuration whose every numeric setting
 * is inside the table's range (a broken promise traps).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ranges(struct config *c)
{
	size_t n;
	const struct config_setting *s = config_settings(&n);

	for (size_t i = 0; i < n; i++) {
		const char *f = (const char *)c + s[i].offset;
		double v;

		switch (s[i].type) {
		case CONFIG_INT: v = (double)*(const long *)f; break;
		case CONFIG_SIZE: v = (double)*(const size_t *)f; break;
		case CONFIG_SECONDS: case CONFIG_REAL: v = *(const double *)f; break;
		case CONFIG_BOOL: v = *(const int *)f; break;
		case CONFIG_STR:
			if (*(char *const *)f == NULL)
				__builtin_trap();
			continue;
		default:
			/* a type this harness does not know is its own bug */
			__builtin_trap();
		}
		if (!(v >= s[i].min && v <= s[i].max))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dk_err err = DK_ERR_INIT;
	struct config c;
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	config_init(&c);
	if (config_load_data(&c, copy, size, "fuzz", &err) != 0 && err.code == 0)
		__builtin_trap();
	check_ranges(&c);
	config_release(&c);
	free(copy);
	return 0;
}
