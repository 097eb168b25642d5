/*
 * NAME
 *	list - one line per result record, for caseworkers
 * SUMMARY
 *	docket list [--config F] [--db F] [--status S] [--since DATE]
 *	            [--until DATE] [--language L] [--type T] [--full-id]
 * DESCRIPTION
 *	Columns: id (12 digits, or 64 with --full-id), received, status,
 *	type, pages, language, name. Control characters in names are shown
 *	as '?'. The id prefix is enough for "docket show".
 * DIAGNOSTICS
 *	One line on stderr; sysexits status.
 */
#include <sqlite3.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"

static const char list_usage[] =
	"usage: docket list [--config F] [--db F] [FILTERS] [--full-id]\n"
	"  one line per document (and per duplicate copy), in arrival order\n"
	"  --full-id         print the 64-digit id\n";

#define COL(i) ((const char *)sqlite3_column_text(q, (i)))

static int print_list(struct store *st, const struct query_filter *f, int full,
		      struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc = query_records(st, "id, received_at, status, coalesce(format, mime, '-'), "
			       "pages, coalesce(language, '-'), source_name, coalesce(classification "
			       "|| CASE WHEN needs_review THEN '?' ELSE '' END, '-')", f, &q, err);
	int n = 0;

	if (rc)
		return rc;
	/* CLASS: the label (reviewed if a caseworker did), '?' when it needs review */
	printf("%-*s  %-24s  %-9s  %-6s  %5s  %-4s  %-20s  %s\n", full ? 64 : 12, "ID", "RECEIVED",
	       "STATUS", "TYPE", "PAGES", "LANG", "CLASS", "NAME");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		printf("%-*.*s  %-24s  %-9s  %-6.20s  %5s  %-4s  %-20s  ", full ? 64 : 12,
		       full ? 64 : 12, COL(0), COL(1), COL(2), COL(3), COL(4) ? COL(4) : "-", COL(5),
		       COL(7));
		cli_print_safe(stdout, COL(6));
		putchar('\n');
		n++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dk_err_set(err, DK_EIO, "cannot read '%s': %s", st->path, sqlite3_errmsg(st->db));
	printf("%d record%s\n", n, n == 1 ? "" : "s");
	return fflush(stdout) ? dk_err_set(err, DK_EIO, "cannot write the output") : 0;
}

int cmd_list(int argc, char **argv)
{
	struct query_filter f = { 0 };
	struct config cfg;
	struct store st;
	struct dk_err err = DK_ERR_INIT;
	int rc, full = 0;

	if ((rc = cli_setup("list", &argc, argv, &cfg)) != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		int k = cli_filter_option(argc, argv, &i, &f);

		if (k == 1)
			continue;
		if (k == 0 && strcmp(argv[i], "--full-id") == 0) {
			full = 1;
			continue;
		}
		if (k == 0 && strcmp(argv[i], "--help") == 0) {
			printf("%s%s%s", list_usage, cli_filter_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		}
		fprintf(stderr, "docket list: %s '%s'\n%s", k < 0 ? "missing value for" :
			"unknown option", argv[i], list_usage);
		config_release(&cfg);
		return EX_USAGE;
	}
	if ((rc = cli_open_store("list", &cfg, &st)) == 0) {
		if (print_list(&st, &f, full, &err) != 0)
			rc = cli_fail("list", &err);
		store_close(&st);
	}
	config_release(&cfg);
	return rc;
}
