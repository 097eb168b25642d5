/*
 * NAME
 *	replay - run a fuzz harness over its stored corpus as a unit test
 * SUMMARY
 *	Linked with one tests/fuzz/fuzz_NAME.c. Runs LLVMFuzzerTestOneInput on
 *	every file in tests/fuzz/corpus/NAME/ (relative to tests/, where
 *	tests/run.sh starts us). A crash or sanitizer report fails the binary;
 *	reaching the end prints one PASS line per corpus file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc(n > 0 ? (size_t)n : 1);
	if (data == NULL || (n > 0 && fread(data, 1, (size_t)n, f) != (size_t)n)) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	const char *name = self ? self + 1 : argv[0];
	char dir[512], path[1024];
	struct dirent **ents;
	int n, failed = 0;

	(void)argc;
	name += strlen("test_fuzzreplay_");
	snprintf(dir, sizeof dir, "fuzz/corpus/%s", name);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		printf("SKIP fuzzreplay:%s: no corpus at tests/%s\n", name, dir);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
			if (replay_file(path) != 0) {
				printf("FAIL fuzzreplay:%s:%s: cannot read\n", name, ents[i]->d_name);
				failed = 1;
			} else {
				printf("PASS fuzzreplay:%s:%s\n", name, ents[i]->d_name);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return failed;
}
