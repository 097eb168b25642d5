/*
 * NAME
 *	export - print one result record per document (DESIGN section 4)
 * SUMMARY
 *	docket export [--config F] [--db F] [--format jsonl|csv] [FILTERS]
 * DESCRIPTION
 *	jsonl: one JSON object per line, exactly the record of DESIGN section
 *	4, built by the result_records view (schemas/002_views.sql). Later
 *	copies of the same bytes appear as records with status "duplicate".
 *	csv: RFC 4180, a header row, the same fields flattened; entities,
 *	decisions and llm_stages are JSON text in their cells. Records come in arrival order.
 * DIAGNOSTICS
 *	One line on stderr; sysexits status (EX_NOINPUT: no database,
 *	EX_USAGE: bad option, EX_IOERR: cannot write the output).
 */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"

static const char export_usage[] =
	"usage: docket export [--config F] [--db F] [--format jsonl|csv] [FILTERS]\n"
	"  prints one result record per document (and per duplicate copy)\n"
	"  --format jsonl    one JSON object per line (default)\n"
	"  --format csv      a header row, then one row per record\n";

#define CSV_COLUMNS "id, source_name, received_at, status, error_code, error_message, " \
	"parent, mime, pages, text_chars, language, language_confidence, classification, " \
	"classification_confidence, classification_method, needs_review, summary, " \
	"entities_json, decisions_json, llm_stages_json"

/* csv_field - one RFC 4180 field; quoted when it holds , " CR or LF */
static void csv_field(const char *s, int first)
{
	if (!first)
		putchar(',');
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void csv_header(void)
{
	static const char *const names[] = {
		"id", "source_name", "received_at", "status", "error_code", "error_message",
		"parent", "mime", "pages", "text_chars", "language", "language_confidence",
		"classification", "classification_confidence", "classification_method",
		"needs_review", "summary", "entities", "decisions", "llm_stages",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		csv_field(names[i], i == 0);
	fputs("\r\n", stdout);
}

static void csv_row(sqlite3_stmt *q)
{
	int n = sqlite3_column_count(q);

	for (int i = 0; i < n; i++) {
		const char *v = (const char *)sqlite3_column_text(q, i);

		/* needs_review is stored 0/1; CSV readers expect true/false */
		if (v && i == 15)
			v = sqlite3_column_int(q, i) ? "true" : "false";
		csv_field(v, i == 0);
	}
	fputs("\r\n", stdout);
}

static int write_records(struct store *st, int csv, const struct query_filter *f,
			 struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc = query_records(st, csv ? CSV_COLUMNS : "record", f, &q, err);

	if (rc)
		return rc;
	if (csv)
		csv_header();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (csv) {
			csv_row(q);
		} else {
			fwrite(sqlite3_column_text(q, 0), 1, (size_t)sqlite3_column_bytes(q, 0), stdout);
			putchar('\n');
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dk_err_set(err, DK_EIO, "cannot read '%s': %s", st->path, sqlite3_errmsg(st->db));
	if (fflush(stdout) != 0 || ferror(stdout))
		return dk_err_set(err, DK_EIO, "cannot write the output: %s", strerror(errno));
	return 0;
}

int cmd_export(int argc, char **argv)
{
	struct query_filter f = { 0 };
	struct config cfg;
	struct store st;
	struct dk_err err = DK_ERR_INIT;
	const char *format = "jsonl";
	int rc;

	if ((rc = cli_setup("export", &argc, argv, &cfg)) != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		int k = cli_filter_option(argc, argv, &i, &f);

		if (k == 1)
			continue;
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s%s", export_usage, cli_filter_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		}
		if (k == 0 && strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (k == 0 && strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else {
			fprintf(stderr, "docket export: %s '%s'\n%s", k < 0 ? "missing value for" :
				"unknown option", argv[i], export_usage);
			config_release(&cfg);
			return EX_USAGE;
		}
	}
	if (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0) {
		fprintf(stderr, "docket export: unknown format '%s' (jsonl or csv)\n", format);
		config_release(&cfg);
		return EX_USAGE;
	}
	if ((rc = cli_open_store("export", &cfg, &st)) == 0) {
		if (write_records(&st, strcmp(format, "csv") == 0, &f, &err) != 0)
			rc = cli_fail("export", &err);
		store_close(&st);
	}
	config_release(&cfg);
	return rc;
}
