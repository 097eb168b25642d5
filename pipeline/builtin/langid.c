/*
 * NAME
 *	docket langid - language of each line on stdin
 * SUMMARY
 *	docket langid [--expected CODES] [--others]
 * DESCRIPTION
 *	Reads one text per line and prints "LANG<TAB>CONFIDENCE" for each
 *	(ISO 639-1, confidence with two decimals; "und" when the line has no
 *	letters). --others appends the other languages of a mixed line as
 *	further "LANG:CONFIDENCE" fields. --expected overrides the configured
 *	list of expected languages (default: the 24 official EU languages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "stages/langid.h"

static const char langid_usage[] =
	"usage: docket langid [--expected CODES] [--others]\n"
	"  reads one text per line on stdin, prints LANG<TAB>CONFIDENCE per line\n";

static void print_line(struct langid *lid, const char *line, size_t n, int others)
{
	struct langid_result res;
	struct dk_err err = DK_ERR_INIT;

	if (langid_detect(lid, line, n, &res, &err) != 0) {
		printf("und\t0.00\n");
		return;
	}
	printf("%s\t%.2f", res.lang.code, res.lang.confidence);
	for (int i = 0; others && i < res.n_others; i++)
		printf("\t%s:%.2f", res.others[i].code, res.others[i].confidence);
	putchar('\n');
}

int cmd_langid(int argc, char **argv)
{
	const char *expected = NULL;
	struct dk_err err = DK_ERR_INIT;
	struct langid *lid;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int others = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(langid_usage, stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--others") == 0) {
			others = 1;
		} else if (strcmp(argv[i], "--expected") == 0 && i + 1 < argc) {
			expected = argv[++i];
		} else {
			fprintf(stderr, "docket langid: unknown option '%s'\n%s", argv[i], langid_usage);
			return EX_USAGE;
		}
	}
	if (langid_open(&lid, expected, NULL, &err) != 0) {
		fprintf(stderr, "docket langid: %s\n", err.msg);
		return dk_err_sysexit(err.code);
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		print_line(lid, line, (size_t)n, others);
	}
	free(line);
	langid_free(lid);
	return EX_OK;
}
