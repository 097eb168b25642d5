/*
 * NAME
 *	cli - shared plumbing of the store commands
 * DESIGN NOTES
 *	1. Commands that only read never create a database: a mistyped --db
 *	   must say "does not exist", not show an empty result.
 *	2. Names are printed for terminals with control characters replaced,
 *	   since a file name may hold a newline or an escape sequence.
 */
#include <string.h>
#include <sysexits.h>

#include "pipeline/cli.h"

const char cli_filter_usage[] =
	"  --status S        done, failed or duplicate\n"
	"  --since DATE      received on or after DATE (YYYY-MM-DD or RFC 3339)\n"
	"  --until DATE      received on or before DATE (a date includes the whole day)\n"
	"  --language L      ISO 639-1 code\n"
	"  --type T          MIME type or format (pdf, html, xml, docx, odt, eml, txt)\n";

int cli_fail(const char *cmd, const struct dk_err *err)
{
	fprintf(stderr, "docket %s: %s\n", cmd, err->msg);
	return dk_err_sysexit(err->code ? err->code : DK_EIO);
}

int cli_setup(const char *cmd, int *argc, char **argv, struct config *cfg)
{
	struct dk_err err = DK_ERR_INIT;

	if (config_setup(cfg, argc, argv, &err) != 0)
		return cli_fail(cmd, &err);
	return 0;
}

int cli_open_store(const char *cmd, const struct config *cfg, struct store *st)
{
	struct dk_err err = DK_ERR_INIT;

	if (store_open(st, cfg->db, 0, &err) != 0)
		return cli_fail(cmd, &err);
	return 0;
}

int cli_filter_option(int argc, char **argv, int *i, struct query_filter *f)
{
	static const char *const names[] = { "status", "since", "until", "language", "type" };
	const char **fields[] = { &f->status, &f->since, &f->until, &f->language, &f->type };
	const char *a = argv[*i];

	if (strncmp(a, "--", 2) != 0)
		return 0;
	a += 2;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t n = strlen(names[k]);

		if (strncmp(a, names[k], n) != 0 || (a[n] != 0 && a[n] != '='))
			continue;
		if (a[n] == '=') {
			*fields[k] = a + n + 1;
			return 1;
		}
		if (*i + 1 >= argc)
			return -1;
		*fields[k] = argv[++*i];
		return 1;
	}
	return 0;
}

void cli_print_safe(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}
