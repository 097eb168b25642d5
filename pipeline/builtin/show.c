/*
 * NAME
 *	show - one document, for a caseworker
 * SUMMARY
 *	docket show [--config F] [--db F] [--json | --text] ID
 * DESCRIPTION
 *	ID is the document id or a unique prefix of at least 4 digits.
 *	Default: labelled lines (file, arrival, status, type, pages, language,
 *	category with any caseworker override, error, parent and attachments,
 *	every copy received, entities, summary, what became of the model
 *	stages: done, skipped or failed, and why). --json prints the document's
 *	export record; --text prints its stored text exactly, the text every
 *	entity offset refers to.
 * DIAGNOSTICS
 *	One line on stderr; sysexits status (EX_NOINPUT: no such document,
 *	EX_TEMPFAIL: ambiguous prefix).
 */
#include <sqlite3.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"

static const char show_usage[] =
	"usage: docket show [--config F] [--db F] [--json | --text] ID\n"
	"  ID is a document id or a unique prefix of at least 4 digits\n"
	"  --json            the document's export record\n"
	"  --text            the stored text, exactly\n";

#define COL(i) ((const char *)sqlite3_column_text(q, (i)))

/* field - "label       value" with control characters made visible */
static void field(const char *label, const char *value)
{
	if (value == NULL || *value == 0)
		return;
	printf("%-13s", label);
	cli_print_safe(stdout, value);
	putchar('\n');
}

static int prepare(struct store *st, const char *sql, const char *id, sqlite3_stmt **q,
		   struct dk_err *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK)
		return dk_err_set(err, DK_EIO, "cannot read '%s': %s", st->path,
				  sqlite3_errmsg(st->db));
	sqlite3_bind_text(*q, 1, id, -1, SQLITE_STATIC);
	return 0;
}

static int show_main(struct store *st, const char *id, struct dk_err *err)
{
	sqlite3_stmt *q;
	char buf[256];
	int rc = prepare(st, "SELECT d.id, d.source_name, d.received_at, d.status, "
			 "coalesce(d.mime, '') || CASE WHEN d.format IS NULL THEN '' ELSE ' (' || "
			 "d.format || ')' END, d.size_bytes || ' bytes', d.pages, d.text_chars, d.title, "
			 "d.author, d.error_code || ': ' || coalesce(d.error_message, '') || "
			 "coalesce(' (stage ' || d.error_stage || ')', ''), d.parent_id, "
			 "cw.language || coalesce((SELECT printf(' (%.2f)', l.confidence) FROM languages l "
			 "WHERE l.doc_id = d.id AND l.code = cw.language), ''), cw.category || CASE WHEN cw.category_confidence IS NULL THEN '' "
			 "ELSE printf(' (%.2f)', cw.category_confidence) END || CASE WHEN cw.needs_review THEN "
			 "', needs review' ELSE '' END, cw.reviewed_by, cw.summary, "
			 "(SELECT json_extract(a.payload, '$.analysis_error.code') || ': ' || "
			 "coalesce(json_extract(a.payload, '$.analysis_error.message'), '') FROM audit_log a "
			 "WHERE a.doc_id = d.id AND a.kind = 'document') "
			 "FROM documents d JOIN caseworker_documents cw ON cw.document_id = d.id "
			 "WHERE d.id = ?", id, &q, err);

	if (rc)
		return rc;
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return dk_err_set(err, DK_EIO, "cannot read '%s': %s", st->path, sqlite3_errmsg(st->db));
	}
	field("id", COL(0));
	field("file", COL(1));
	field("received", COL(2));
	field("status", COL(3));
	field("error", COL(10));
	field("type", COL(4));
	field("size", COL(5));
	field("pages", COL(6));
	field("characters", COL(7));
	field("title", COL(8));
	field("author", COL(9));
	field("attached to", COL(11));
	field("language", COL(12));
	field("category", COL(13));
	if (COL(14)) {
		snprintf(buf, sizeof buf, "overridden by %s", COL(14));
		field("review", buf);
	}
	field("summary", COL(15));
	/* text stored, its analysis failed (pipeline/worker_extract.c note 3) */
	field("analysis", COL(16));
	sqlite3_finalize(q);
	return 0;
}

/* show_list - one line per row of sql (two columns), under a label */
static int show_list(struct store *st, const char *label, const char *sql, const char *id,
		     struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc = prepare(st, sql, id, &q, err), n = 0;

	if (rc)
		return rc;
	while (sqlite3_step(q) == SQLITE_ROW) {
		printf("%-13s%s  ", n++ ? "" : label, COL(0));
		cli_print_safe(stdout, COL(1));
		putchar('\n');
	}
	sqlite3_finalize(q);
	return 0;
}

static int show_all(struct store *st, const char *id, struct dk_err *err)
{
	int rc = show_main(st, id, err);

	if (rc == 0)
		rc = show_list(st, "attachments", "SELECT substr(id, 1, 12), source_name "
			       "FROM documents WHERE parent_id = ? ORDER BY received_at", id, err);
	if (rc == 0)
		rc = show_list(st, "received as", "SELECT received_at || '  ' || outcome, "
			       "source_name FROM receipts WHERE doc_id = ? ORDER BY id", id, err);
	if (rc == 0)
		rc = show_list(st, "entities", "SELECT type || ' [' || start_byte || ',' || "
			       "end_byte || ') ' || method || coalesce(' = ' || value, ''), "
			       "'\"' || text || '\"' FROM entities WHERE doc_id = ? "
			       "ORDER BY start_byte, id", id, err);
	/* one line per outcome: "classify, entities, summarize: skipped  (no_model)" */
	if (rc == 0)
		rc = show_list(st, "model stages", "SELECT group_concat(stage, ', ') || ': ' || status, "
			       "coalesce('(' || reason || ')', '') FROM (SELECT * FROM llm_stages "
			       "WHERE doc_id = ?1 ORDER BY CASE stage WHEN 'classify' THEN 1 WHEN "
			       "'entities' THEN 2 ELSE 3 END) GROUP BY status, reason", id, err);
	return rc;
}

static int show_one(struct store *st, const char *id, const char *sql, struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc = prepare(st, sql, id, &q, err);

	if (rc)
		return rc;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		fwrite(sqlite3_column_text(q, 0), 1, (size_t)sqlite3_column_bytes(q, 0), stdout);
	} else {
		rc = dk_err_set(err, DK_ENOTFOUND, "document %.12s has no stored text", id);
	}
	sqlite3_finalize(q);
	return rc;
}

int cmd_show(int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct dk_err err = DK_ERR_INIT;
	const char *want = NULL, *mode = "all";
	char id[65];
	int rc;

	if ((rc = cli_setup("show", &argc, argv, &cfg)) != 0)
		return rc;
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s", show_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		} else if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--text") == 0) {
			mode = argv[i] + 2;
		} else if (argv[i][0] != '-' && want == NULL) {
			want = argv[i];
		} else {
			fprintf(stderr, "docket show: unexpected argument '%s'\n%s", argv[i], show_usage);
			rc = EX_USAGE;
		}
	}
	if (rc == 0 && want == NULL) {
		fprintf(stderr, "docket show: no document id given\n%s", show_usage);
		rc = EX_USAGE;
	}
	if (rc == 0 && (rc = cli_open_store("show", &cfg, &st)) == 0) {
		int e = query_resolve_id(&st, want, id, &err);

		if (e == 0 && strcmp(mode, "json") == 0)
			e = show_one(&st, id, "SELECT record || char(10) FROM result_records "
				     "WHERE id = ? AND status != 'duplicate'", &err);
		else if (e == 0 && strcmp(mode, "text") == 0)
			e = show_one(&st, id, "SELECT text FROM texts WHERE doc_id = ?", &err);
		else if (e == 0)
			e = show_all(&st, id, &err);
		if (e == 0 && (fflush(stdout) || ferror(stdout)))
			e = dk_err_set(&err, DK_EIO, "cannot write the output");
		if (e)
			rc = cli_fail("show", &err);
		store_close(&st);
	}
	config_release(&cfg);
	return rc;
}
