/* Unit tests for pipeline/store: migrations, puts, duplicates, atomicity, faults. */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/audit.h"
#include "pipeline/query.h"
#include "pipeline/store.h"
#include "pipeline/store_schema.h"
#include "tests/test.h"

static char *db_path(const char *name)
{
	static char p[512];

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	unlink(p);
	return p;
}

static int64_t count(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void make_id(const char *seed, char id[65])
{
	store_sha256_hex(seed, strlen(seed), id);
}

/* sample - a two-page document with non-ASCII text */
static void sample(struct store_doc *d, const char *id, const char *claim)
{
	static const char text[] = "Grüße aus Köln\n\nSeite zwei";
	static const size_t starts[] = { 0, 19 };
	static const struct store_timing t[] = { { "extract", 12.5 }, { "normalize", 1.0 } };

	store_doc_init(d);
	d->id = id;
	d->claim = claim;
	d->source_name = "brief.pdf";
	d->received_at = "2025-03-12T09:30:00.000Z";
	d->mime = "application/pdf";
	d->format = "pdf";
	d->size_bytes = 1234;
	d->text = text;
	d->text_len = strlen(text);
	d->pages = 2;
	d->page_start = starts;
	d->title = "Brief";
	d->timings = t;
	d->n_timings = 2;
}

/* slurp - a whole file as a NUL-terminated string (malloc), or NULL */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

static void embedded_schema_matches_files(void)
{
	for (size_t i = 0; i < store_n_migrations; i++) {
		char path[512], *data;

		CHECKF(store_migrations[i].version == (int)i + 1, "migration %zu out of order", i);
		snprintf(path, sizeof path, "%s/%s", getenv("DOCKET_TOP") ? getenv("DOCKET_TOP") : "..",
			 store_migrations[i].file);
		data = slurp(path);
		REQUIRE(data != NULL);
		CHECKF(strcmp(data, store_migrations[i].sql) == 0,
		       "%.200s differs from the embedded copy: rebuild pipeline/store_schema.o", path);
		free(data);
	}
}

static void migrations_fresh_and_reopen(void)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	const char *p = db_path("mig.db");

	REQUIRE(store_open(&st, p, STORE_CREATE, &e) == 0);
	CHECK(count(&st, "PRAGMA user_version") == store_schema_version());
	CHECK(count(&st, "SELECT count(*) FROM sqlite_master WHERE name = 'audit_log'") == 1);
	CHECK(count(&st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 2);
	store_close(&st);
	REQUIRE(store_open(&st, p, 0, &e) == 0);
	CHECK(count(&st, "PRAGMA user_version") == store_schema_version());
	CHECK(count(&st, "PRAGMA foreign_keys") == 1);
	CHECK(count(&st, "PRAGMA synchronous") == 2);	/* FULL */
	store_close(&st);
}

static void open_refuses_missing_and_newer(void)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	const char *p = db_path("newer.db");

	CHECK(store_open(&st, p, 0, &e) == DK_ENOTFOUND);
	CHECK(strstr(e.msg, "does not exist") != NULL);
	REQUIRE(store_open(&st, p, STORE_CREATE, &e) == 0);
	REQUIRE(sqlite3_exec(store_db(&st), "PRAGMA user_version = 999", NULL, NULL, NULL) == SQLITE_OK);
	store_close(&st);
	CHECK(store_open(&st, p, 0, &e) == DK_ECORRUPT);
	CHECK(strstr(e.msg, "newer") != NULL);
}

static void put_and_read_back(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	enum store_outcome o = STORE_REPLAY;
	char id[65];

	REQUIRE(store_open(&st, db_path("put.db"), STORE_CREATE, &e) == 0);
	make_id("one", id);
	sample(&d, id, "claim-1");
	CHECK(store_has_document(&st, id, &e) == 0);
	REQUIRE(store_put_document(&st, &d, &o, &e) == 0);
	CHECK(o == STORE_NEW);
	CHECK(store_has_document(&st, id, &e) == 1);
	CHECK(store_has_claim(&st, "claim-1", &e) == 1);
	CHECK(count(&st, "SELECT text_chars FROM documents") == 26);	/* code points */
	CHECK(count(&st, "SELECT length(CAST(text AS BLOB)) FROM texts") == (int64_t)d.text_len);
	CHECK(count(&st, "SELECT count(*) FROM pages") == 2);
	CHECK(count(&st, "SELECT end_byte FROM pages WHERE page_no = 1") == 19);
	CHECK(count(&st, "SELECT end_byte FROM pages WHERE page_no = 2") == (int64_t)d.text_len);
	CHECK(count(&st, "SELECT count(*) FROM receipts WHERE outcome = 'new'") == 1);
	CHECK(count(&st, "SELECT count(*) FROM stage_timings") == 2);
	CHECK(count(&st, "SELECT count(*) FROM audit_log WHERE kind = 'document'") == 1);
	CHECK(count(&st, "SELECT size_bytes FROM documents") == 1234);
	CHECK(count(&st, "SELECT run_id IS NULL FROM documents") == 1);
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
}

static void duplicates_and_replays(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	enum store_outcome o;
	char id[65];

	REQUIRE(store_open(&st, db_path("dup.db"), STORE_CREATE, &e) == 0);
	make_id("dup", id);
	sample(&d, id, "c1");
	REQUIRE(store_put_document(&st, &d, &o, &e) == 0);
	CHECK(o == STORE_NEW);
	d.claim = "c2";
	d.source_name = "copy of brief.pdf";
	REQUIRE(store_put_document(&st, &d, &o, &e) == 0);
	CHECK(o == STORE_DUPLICATE);
	d.claim = "c2";
	REQUIRE(store_put_document(&st, &d, &o, &e) == 0);
	CHECK(o == STORE_REPLAY);
	d.claim = "c3";
	REQUIRE(store_put_receipt(&st, &d, &o, &e) == 0);
	CHECK(o == STORE_DUPLICATE);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 1);
	CHECK(count(&st, "SELECT count(*) FROM texts") == 1);
	CHECK(count(&st, "SELECT count(*) FROM receipts") == 3);
	CHECK(count(&st, "SELECT count(*) FROM receipts WHERE outcome = 'duplicate'") == 2);
	CHECK(count(&st, "SELECT count(*) FROM audit_log WHERE kind = 'duplicate'") == 2);
	make_id("never stored", id);
	d.claim = "c4";
	CHECK(store_put_receipt(&st, &d, &o, &e) == DK_ENOTFOUND);
	CHECK(count(&st, "SELECT count(*) FROM receipts") == 3);
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
}

static void failed_document_row(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("failed.db"), STORE_CREATE, &e) == 0);
	make_id("enc", id);
	store_doc_init(&d);
	d.id = id;
	d.source_name = "secret.pdf";
	d.status = STORE_FAILED;
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EINVAL);	/* no error code */
	d.error_code = "encrypted_pdf";
	d.error_message = "pdf 'secret.pdf' is encrypted";
	d.error_stage = "extract";
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(count(&st, "SELECT count(*) FROM documents WHERE status = 'failed' AND "
		    "error_code = 'encrypted_pdf' AND error_stage = 'extract'") == 1);
	CHECK(count(&st, "SELECT count(*) FROM receipts WHERE outcome = 'failed'") == 1);
	CHECK(count(&st, "SELECT count(*) FROM texts") == 0);
	store_close(&st);
}

static void bad_input_writes_nothing(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	static const size_t backwards[] = { 10, 2 };
	char id[65];

	REQUIRE(store_open(&st, db_path("bad.db"), STORE_CREATE, &e) == 0);
	make_id("bad", id);
	sample(&d, "ABC", NULL);
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EINVAL);
	sample(&d, id, NULL);
	d.text = "ok\xff";
	d.text_len = 3;
	d.pages = 0;
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EINVAL);
	CHECK(strstr(e.msg, "utf-8") != NULL);
	sample(&d, id, NULL);
	d.page_start = backwards;
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EINVAL);
	sample(&d, id, NULL);
	d.source_name = "bad\xffname\n.txt";
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(count(&st, "SELECT source_name = 'bad' || char(65533) || 'name' || char(10) || '.txt' "
		    "FROM documents") == 1);
	CHECK(count(&st, "SELECT hex(source_name_bytes) = '626164FF6E616D650A2E747874' "
		    "FROM documents") == 1);
	CHECK(count(&st, "SELECT count(*) FROM receipts") == 1);
	store_close(&st);
}

/* A failure at the last step (the audit record) leaves nothing behind. */
static void put_is_atomic(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("atomic.db"), STORE_CREATE, &e) == 0);
	REQUIRE(sqlite3_exec(store_db(&st), "CREATE TEMP TRIGGER boom BEFORE INSERT ON audit_log "
			     "BEGIN SELECT RAISE(ABORT, 'injected'); END", NULL, NULL, NULL) == SQLITE_OK);
	make_id("atomic", id);
	sample(&d, id, "c1");
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EIO);
	CHECK(strstr(e.msg, "injected") != NULL);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 0);
	CHECK(count(&st, "SELECT count(*) FROM texts") == 0);
	CHECK(count(&st, "SELECT count(*) FROM pages") == 0);
	CHECK(count(&st, "SELECT count(*) FROM receipts") == 0);
	CHECK(count(&st, "SELECT count(*) FROM stage_timings") == 0);
	CHECK(sqlite3_get_autocommit(store_db(&st)));
	REQUIRE(sqlite3_exec(store_db(&st), "DROP TRIGGER temp.boom", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 1);
	store_close(&st);
}

/* An e-mail and its attachment in one transaction: all or nothing. */
static void group_transaction(void)
{
	struct store st;
	struct store_doc d, c;
	struct dk_err e = DK_ERR_INIT;
	char pid[65], cid[65];

	REQUIRE(store_open(&st, db_path("group.db"), STORE_CREATE, &e) == 0);
	make_id("mail", pid);
	make_id("attachment", cid);
	sample(&d, pid, "m1");
	sample(&c, cid, NULL);
	c.parent = pid;
	REQUIRE(store_begin(&st, &e) == 0);
	CHECK(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(store_put_document(&st, &c, NULL, &e) == 0);
	store_rollback(&st);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 0);
	REQUIRE(store_begin(&st, &e) == 0);
	CHECK(store_put_document(&st, &c, NULL, &e) == 0);	/* child first is fine */
	c.id = "bad";
	CHECK(store_put_document(&st, &c, NULL, &e) == DK_EINVAL);
	CHECK(store_put_document(&st, &d, NULL, &e) == 0);
	REQUIRE(store_commit(&st, &e) == 0);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 2);
	CHECK(count(&st, "SELECT count(*) FROM documents WHERE parent_id IS NOT NULL") == 1);
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
}

/* Disk full (max_page_count): a clean error, nothing partial, still usable. */
static void disk_full_is_clean(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65], sql[64];
	size_t n = 2u << 20;
	char *big = malloc(n + 1);

	REQUIRE(big != NULL);
	memset(big, 'x', n);
	big[n] = 0;
	REQUIRE(store_open(&st, db_path("full.db"), STORE_CREATE, &e) == 0);
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
		 (long long)count(&st, "PRAGMA page_count") + 20);
	REQUIRE(sqlite3_exec(store_db(&st), sql, NULL, NULL, NULL) == SQLITE_OK);
	make_id("big", id);
	sample(&d, id, "c1");
	d.text = big;
	d.text_len = n;
	d.pages = 0;
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EIO);
	CHECK(strstr(e.msg, "full") != NULL);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 0);
	CHECK(count(&st, "SELECT count(*) FROM receipts") == 0);
	CHECK(count(&st, "SELECT count(*) FROM audit_log") == 0);
	make_id("small", id);
	sample(&d, id, "c2");
	CHECK(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
	free(big);
}

static void readonly_refuses_writes(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	const char *p = db_path("ro.db");
	char id[65];

	REQUIRE(store_open(&st, p, STORE_CREATE, &e) == 0);
	store_close(&st);
	REQUIRE(store_open(&st, p, STORE_READONLY, &e) == 0);
	make_id("ro", id);
	sample(&d, id, NULL);
	CHECK(store_put_document(&st, &d, NULL, &e) != 0);
	CHECKF(strstr(e.msg, "readonly") != NULL || strstr(e.msg, "read-only") != NULL, "%.200s", e.msg);
	store_close(&st);
	REQUIRE(store_open(&st, p, 0, &e) == 0);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 0);
	store_close(&st);
}

static void runs_count_and_time(void)
{
	struct store st;
	struct store_doc d;
	struct store_run_summary s;
	struct dk_err e = DK_ERR_INIT;
	int64_t run;
	char a[65], b[65];

	REQUIRE(store_open(&st, db_path("runs.db"), STORE_CREATE, &e) == 0);
	REQUIRE(store_run_begin(&st, "batch", &run, &e) == 0);
	make_id("a", a);
	make_id("b", b);
	sample(&d, a, "r1");
	d.run_id = run;
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	d.claim = "r2";
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);	/* duplicate */
	store_doc_init(&d);
	d.id = b;
	d.claim = "r3";
	d.source_name = "empty.txt";
	d.status = STORE_FAILED;
	d.error_code = "empty_file";
	d.run_id = run;
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	REQUIRE(store_run_end(&st, run, &s, &e) == 0);
	CHECK(s.n_done == 1 && s.n_failed == 1 && s.n_duplicate == 1 && s.n_new == 2);
	CHECK(s.n_counts == 3);
	CHECK(s.n_stages == 2);
	CHECK(s.n_stages == 2 && strcmp(s.stages[0].stage, "extract") == 0 &&
	      s.stages[0].total_ms == 12.5 && s.stages[0].n == 1);
	CHECK(s.seconds >= 0);
	CHECK(count(&st, "SELECT n_done + 10 * n_failed + 100 * n_duplicate FROM runs") == 111);
	CHECK(count(&st, "SELECT ended_at IS NOT NULL FROM runs") == 1);
	store_run_summary_release(&s);
	CHECK(store_run_summary_get(&st, run + 7, &s, &e) == DK_ENOTFOUND);
	store_close(&st);
}

static void audit_log_refuses_update(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("trig.db"), STORE_CREATE, &e) == 0);
	make_id("t", id);
	sample(&d, id, NULL);
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(sqlite3_exec(store_db(&st), "UPDATE audit_log SET kind = 'x'", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(store_db(&st), "DELETE FROM audit_log", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(count(&st, "SELECT count(*) FROM audit_log") == 1);
	store_close(&st);
}

/* The export record of DESIGN section 4, byte for byte. */
static void export_record_shape(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	struct query_filter f = { 0 };
	sqlite3_stmt *q;
	char id[65], want[1024];
	int n = 0;

	REQUIRE(store_open(&st, db_path("export.db"), STORE_CREATE, &e) == 0);
	make_id("x", id);
	store_doc_init(&d);
	d.id = id;
	d.claim = "c1";
	d.source_name = "a\"b.pdf";
	d.received_at = "2025-03-12T10:30:00+01:00";
	d.status = STORE_FAILED;
	d.error_code = "encrypted_pdf";
	d.error_message = "pdf is encrypted";
	d.mime = "application/pdf";
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	d.claim = "c2";
	d.source_name = "again.pdf";
	d.received_at = "2025-03-13T00:00:00Z";
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	REQUIRE(query_records(&st, "record, status", &f, &q, &e) == 0);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *rec = (const char *)sqlite3_column_text(q, 0);
		struct dk_buf b = DK_BUF_INIT;

		CHECKF(audit_canonical(rec, strlen(rec), &b, &e) == 0, "record %d is not json", n);
		dk_buf_release(&b);
		if (n++ == 0) {
			snprintf(want, sizeof want, "{\"id\":\"%s\",\"source_name\":\"a\\\"b.pdf\","
				 "\"received_at\":\"2025-03-12T09:30:00.000Z\",\"status\":\"failed\","
				 "\"error\":{\"code\":\"encrypted_pdf\",\"message\":\"pdf is encrypted\"},"
				 "\"parent\":null,\"mime\":\"application/pdf\",\"pages\":null,"
				 "\"text_chars\":null,\"language\":null,\"classification\":null,"
				 "\"entities\":[],\"summary\":null,\"decisions\":[],\"llm_stages\":[]}", id);
			CHECKF(strcmp(rec, want) == 0, "%.400s", rec);
		} else {
			CHECK(strcmp((const char *)sqlite3_column_text(q, 1), "duplicate") == 0);
			CHECK(strstr(rec, "\"source_name\":\"again.pdf\"") != NULL);
		}
	}
	sqlite3_finalize(q);
	CHECK(n == 2);
	f.status = "duplicate";
	REQUIRE(query_records(&st, "id", &f, &q, &e) == 0);
	n = 0;
	while (sqlite3_step(q) == SQLITE_ROW)
		n++;
	sqlite3_finalize(q);
	CHECK(n == 1);
	f.status = NULL;
	f.until = "2025-03-12";
	f.since = "2025-03-12";
	REQUIRE(query_records(&st, "id", &f, &q, &e) == 0);
	n = 0;
	while (sqlite3_step(q) == SQLITE_ROW)
		n++;
	sqlite3_finalize(q);
	CHECK(n == 1);
	f.since = "yesterday";
	CHECK(query_records(&st, "id", &f, &q, &e) == DK_EINVAL);
	d.received_at = "12.03.2025";
	d.claim = "c3";
	CHECK(store_put_document(&st, &d, NULL, &e) == DK_EINVAL);
	store_close(&st);
}

static void id_prefix(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65], got[65];

	REQUIRE(store_open(&st, db_path("prefix.db"), STORE_CREATE, &e) == 0);
	make_id("p", id);
	sample(&d, id, NULL);
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(query_resolve_id(&st, id, got, &e) == 0 && strcmp(got, id) == 0);
	id[6] = 0;
	CHECK(query_resolve_id(&st, id, got, &e) == 0);
	id[3] = 0;
	CHECK(query_resolve_id(&st, id, got, &e) == DK_EINVAL);
	make_id("p", got);
	got[0] = got[0] == '0' ? '1' : '0';
	CHECK(query_resolve_id(&st, got, got, &e) == DK_ENOTFOUND);
	store_close(&st);
}

/* same_text - 1 if two one-value queries (same text argument) give the same text */
static int same_text(struct store *st, const char *sql1, const char *sql2, const char *arg)
{
	sqlite3_stmt *a, *b;
	int same = 0;

	if (sqlite3_prepare_v2(store_db(st), sql1, -1, &a, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_prepare_v2(store_db(st), sql2, -1, &b, NULL) != SQLITE_OK) {
		sqlite3_finalize(a);
		return 0;
	}
	sqlite3_bind_text(a, 1, arg, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 1, arg, -1, SQLITE_STATIC);
	/* arg is the text of a schema file, read by the caller */
	if (sqlite3_step(a) == SQLITE_ROW && sqlite3_step(b) == SQLITE_ROW &&
	    sqlite3_column_text(a, 0) && sqlite3_column_text(b, 0))
		same = strcmp((const char *)sqlite3_column_text(a, 0),
			      (const char *)sqlite3_column_text(b, 0)) == 0;
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return same;
}

/* The JSON Schemas in schemas/ list exactly the keys the store writes. */
static void schemas_match_records(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65], rec[512], aud[512];
	const char *top = getenv("DOCKET_TOP") ? getenv("DOCKET_TOP") : "..";

	char *rec_json, *aud_json;

	snprintf(rec, sizeof rec, "%s/schemas/result-record.schema.json", top);
	snprintf(aud, sizeof aud, "%s/schemas/audit-record.schema.json", top);
	rec_json = slurp(rec);
	aud_json = slurp(aud);
	REQUIRE(rec_json != NULL && aud_json != NULL);
	REQUIRE(store_open(&st, db_path("schema.db"), STORE_CREATE, &e) == 0);
	make_id("schema", id);
	sample(&d, id, NULL);
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(same_text(&st, "SELECT group_concat(value) FROM json_each(?1, "
			"'$.required')", "SELECT group_concat(key) FROM result_records, "
			"json_each(record) WHERE ?1 IS NOT NULL", rec_json));
	CHECK(same_text(&st, "SELECT group_concat(value) FROM (SELECT value FROM json_each("
			"?1, '$.$defs.document.required') ORDER BY value)",
			"SELECT group_concat(key) FROM (SELECT key FROM audit_log, json_each(payload) "
			"WHERE kind = 'document' AND ?1 IS NOT NULL ORDER BY key)", aud_json));
	CHECK(same_text(&st, "SELECT group_concat(value) FROM (SELECT value FROM json_each("
			"?1, '$.required') ORDER BY value)",
			"SELECT 'at,doc_id,kind,payload,seq' WHERE ?1 IS NOT NULL", aud_json));
	store_close(&st);
	free(rec_json);
	free(aud_json);
}

/* A transaction someone left open is undone, never nested into (invariant 6). */
static void stale_transaction_undone(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("stale.db"), STORE_CREATE, &e) == 0);
	REQUIRE(sqlite3_exec(store_db(&st), "BEGIN; INSERT INTO runs(command, started_at) "
			     "VALUES ('stale', 'x')", NULL, NULL, NULL) == SQLITE_OK);
	make_id("stale", id);
	sample(&d, id, NULL);
	CHECK(store_put_document(&st, &d, NULL, &e) == 0);
	CHECK(sqlite3_get_autocommit(store_db(&st)));
	CHECK(count(&st, "SELECT count(*) FROM runs") == 0);
	CHECK(count(&st, "SELECT count(*) FROM documents") == 1);
	REQUIRE(store_begin(&st, &e) == 0);
	CHECK(store_begin(&st, &e) == DK_EINVAL);
	store_rollback(&st);
	store_close(&st);
}

/* record_of - the export record of id (static buffer) */
static const char *record_of(struct store *st, const char *id)
{
	static char out[2048];
	struct query_filter f = { 0 };
	struct dk_err e = DK_ERR_INIT;
	sqlite3_stmt *q;

	f.id = id;
	f.status = "done";
	out[0] = 0;
	if (query_records(st, "record", &f, &q, &e) != 0)
		return out;
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return out;
}

static void results_and_decisions(void)
{
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity ent = { "date", "Grüße", NULL, 0, 7, "rules", 1.0 };
	struct store_decision dec = { "classify", NULL, NULL, "{\"seed\": 7, \"temp\": 0}", NULL,
				      "{\"label\":\"invoice\"}" };
	struct dk_err e = DK_ERR_INIT;
	char id[65], h[65], want[256];

	REQUIRE(store_open(&st, db_path("results.db"), STORE_CREATE, &e) == 0);
	make_id("results", id);
	sample(&d, id, NULL);
	REQUIRE(store_put_document(&st, &d, NULL, &e) == 0);
	store_results_init(&r);
	r.language = "de";
	r.language_confidence = 0.99;
	r.label = "invoice";
	r.label_confidence = 0.5;
	r.label_method = "classifier";
	r.needs_review = 1;
	r.set_entities = 1;
	r.entities = &ent;
	r.n_entities = 1;
	REQUIRE(store_put_results(&st, id, &r, &e) == 0);
	CHECKF(strstr(record_of(&st, id), "\"language\":{\"code\":\"de\",\"confidence\":0.99},"
		      "\"classification\":{\"label\":\"invoice\",\"confidence\":0.5,\"method\":"
		      "\"classifier\",\"needs_review\":true},\"entities\":[{\"type\":\"date\","
		      "\"text\":\"Grüße\",\"value\":null,\"start\":0,\"end\":7,\"method\":"
		      "\"rules\",\"confidence\":1.0}],\"summary\":null") != NULL,
	       "%.400s", record_of(&st, id) + 200);
	/* a slice that is not the stored text: refused, nothing changed */
	store_results_init(&r);
	r.language = "en";
	r.set_entities = 1;
	ent.start = 1;
	ent.end = 8;
	r.entities = &ent;
	r.n_entities = 1;
	CHECK(store_put_results(&st, id, &r, &e) == DK_EINVAL);
	CHECK(strstr(record_of(&st, id), "\"code\":\"de\"") != NULL);
	CHECK(count(&st, "SELECT count(*) FROM entities") == 1);
	make_id("m", h);
	dec.model_sha256 = dec.prompt_sha256 = dec.input_sha256 = h;
	CHECK(store_put_decision(&st, "0123", &dec, NULL, &e) == DK_EINVAL);
	dec.params = "{bad";
	CHECK(store_put_decision(&st, id, &dec, NULL, &e) == DK_EFORMAT);
	dec.params = "{\"seed\": 7, \"temp\": 0}";
	REQUIRE(store_put_decision(&st, id, &dec, want, &e) == 0);
	CHECK(count(&st, "SELECT count(*) FROM llm_decisions WHERE params = '{\"seed\":7,\"temp\":0}' "
		    "AND audit_seq = (SELECT seq FROM audit_log WHERE kind = 'decision')") == 1);
	memcpy(h, want, 65);
	snprintf(want, sizeof want, "\"decisions\":[\"%s\"],\"llm_stages\":[]}", h);
	CHECK(strstr(record_of(&st, id), want) != NULL);
	CHECK(count(&st, "SELECT count(*) FROM audit_log WHERE kind = 'results'") == 1);
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
}

int main(void)
{
	RUN(embedded_schema_matches_files);
	RUN(migrations_fresh_and_reopen);
	RUN(open_refuses_missing_and_newer);
	RUN(put_and_read_back);
	RUN(duplicates_and_replays);
	RUN(failed_document_row);
	RUN(bad_input_writes_nothing);
	RUN(put_is_atomic);
	RUN(group_transaction);
	RUN(disk_full_is_clean);
	RUN(readonly_refuses_writes);
	RUN(runs_count_and_time);
	RUN(audit_log_refuses_update);
	RUN(export_record_shape);
	RUN(id_prefix);
	RUN(schemas_match_records);
	RUN(stale_transaction_undone);
	RUN(results_and_decisions);
	return TEST_END();
}
