/* Unit tests for pipeline/audit: canonical JSON, the hash chain, tamper detection. */
#include <glib.h>
#include <sqlite3.h>
#include <string.h>

#include "pipeline/audit.h"
#include "pipeline/store.h"
#include "tests/test.h"

/* canon - canonical form of s, or NULL (static buffer) */
static const char *canon(const char *s)
{
	static char out[1024];
	struct dk_buf b = DK_BUF_INIT;
	struct dk_err e = DK_ERR_INIT;
	int rc = audit_canonical(s, strlen(s), &b, &e);

	snprintf(out, sizeof out, "%s", b.buf);
	dk_buf_release(&b);
	return rc ? NULL : out;
}

static void canonical_sorts_and_strips(void)
{
	const char *c = canon(" { \"b\" : 1 , \"a\" : [ true, null, \"x\\u00e9\\/\" ],"
			      " \"c\" : { \"z\" : -1.5e3, \"y\" : {} } , \"\" : [] } ");

	REQUIRE(c != NULL);
	CHECKF(strcmp(c, "{\"\":[],\"a\":[true,null,\"x\xc3\xa9/\"],\"b\":1,"
		      "\"c\":{\"y\":{},\"z\":-1.5e3}}") == 0, "%.300s", c);
	CHECK(strcmp(canon("\"\\ud83d\\ude00\\u0001\\b\""), "\"\xf0\x9f\x98\x80\\u0001\\u0008\"") == 0);
	/* keys sort by UTF-8 bytes: "Z" < "a" < "é" */
	CHECK(strcmp(canon("{\"\xc3\xa9\":1,\"a\":2,\"Z\":3}"), "{\"Z\":3,\"a\":2,\"\xc3\xa9\":1}") == 0);
	/* idempotent */
	CHECK(strcmp(canon("{\"Z\":3,\"a\":2,\"\xc3\xa9\":1}"), "{\"Z\":3,\"a\":2,\"\xc3\xa9\":1}") == 0);
}

static void canonical_rejects_bad_json(void)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":1,\"a\":2}", "[1,]", "01", "1.", "-", "\"\xff\"",
		"\"\xc0\xaf\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\nb\"", "tru", "{} x",
		"{\"a\" 1}", "\"\\x\"", "\"\xed\xa0\x80\"", "NaN",
	};
	char deep[300];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECKF(canon(bad[i]) == NULL, "accepted bad json #%zu", i);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = 0;
	CHECK(canon(deep) == NULL);
	deep[30] = 0;
	memset(deep + 30, ']', 30);
	deep[60] = 0;
	CHECK(canon(deep) != NULL);
}

static sqlite3 *chain_db(struct store *st, const char *name, int n)
{
	static char p[512];
	struct dk_err e = DK_ERR_INIT;

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	unlink(p);
	if (store_open(st, p, STORE_CREATE, &e) != 0)
		return NULL;
	sqlite3_exec(store_db(st), "BEGIN", NULL, NULL, NULL);
	for (int i = 0; i < n; i++) {
		char payload[64];

		snprintf(payload, sizeof payload, "{\"n\": %d, \"what\": \"test\"}", i);
		if (audit_append(store_db(st), "test", NULL, payload, strlen(payload),
				 NULL, NULL, &e) != 0)
			return NULL;
	}
	sqlite3_exec(store_db(st), "COMMIT", NULL, NULL, NULL);
	return store_db(st);
}

static void chain_verifies(void)
{
	struct store st;
	struct audit_break brk;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, "ok.db", 5);

	REQUIRE(db != NULL);
	CHECK(audit_verify(db, &brk, &e) == 0);
	CHECK(brk.seq == 0 && brk.n_records == 5);
	store_close(&st);
}

/* The documented formula, recomputed independently for seq 1. */
static void hash_formula_is_documented(void)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, "formula.db", 0);
	sqlite3_stmt *s;
	int64_t seq;
	char hash[65], *rec, *want;

	REQUIRE(db != NULL);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	REQUIRE(audit_append(db, "note", "ab", "{\"b\":2,\"a\":1}", 13, &seq, hash, &e) == 0);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	CHECK(seq == 1);
	REQUIRE(sqlite3_prepare_v2(db, "SELECT at, payload FROM audit_log", -1, &s, NULL) == SQLITE_OK);
	REQUIRE(sqlite3_step(s) == SQLITE_ROW);
	CHECK(strcmp((const char *)sqlite3_column_text(s, 1), "{\"a\":1,\"b\":2}") == 0);
	rec = g_strdup_printf("%s{\"at\":\"%s\",\"doc_id\":\"ab\",\"kind\":\"note\","
			      "\"payload\":{\"a\":1,\"b\":2},\"seq\":1}", AUDIT_GENESIS,
			      sqlite3_column_text(s, 0));
	want = g_compute_checksum_for_string(G_CHECKSUM_SHA256, rec, -1);
	CHECK(strcmp(want, hash) == 0);
	sqlite3_finalize(s);
	g_free(rec);
	g_free(want);
	store_close(&st);
}

/* tamper - run sql with the append-only triggers removed, then verify */
static int tamper(const char *name, const char *sql, struct audit_break *brk)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, name, 6);
	int rc;

	if (db == NULL || sqlite3_exec(db, "DROP TRIGGER audit_log_no_update; "
				       "DROP TRIGGER audit_log_no_delete", NULL, NULL, NULL) ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return 99;
	rc = audit_verify(db, brk, &e);
	if (rc == DK_ECORRUPT && strstr(e.msg, "audit chain broken") == NULL)
		rc = 98;
	store_close(&st);
	return rc;
}

static void tampered_payload_named(void)
{
	struct audit_break brk;

	CHECK(tamper("p.db", "UPDATE audit_log SET payload = '{\"n\":9,\"what\":\"test\"}' "
		     "WHERE seq = 3", &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 3);
	CHECKF(strstr(brk.reason, "hash does not match") != NULL, "%.100s", brk.reason);
	CHECK(brk.n_records == 2);
}

static void tampered_hash_named(void)
{
	struct audit_break brk;

	CHECK(tamper("h.db", "UPDATE audit_log SET hash = substr(hash, 2) || 'x' WHERE seq = 2", &brk)
	      == DK_ECORRUPT);
	CHECK(brk.seq == 2);
	/* rewriting a hash and the next prev_hash still breaks at the rewritten one */
	CHECK(tamper("h2.db", "UPDATE audit_log SET hash = '" AUDIT_GENESIS "' WHERE seq = 4; "
		     "UPDATE audit_log SET prev_hash = '" AUDIT_GENESIS "' WHERE seq = 5", &brk)
	      == DK_ECORRUPT);
	CHECK(brk.seq == 4);
}

static void removed_record_named(void)
{
	struct audit_break brk;

	CHECK(tamper("d.db", "DELETE FROM audit_log WHERE seq = 2", &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 3);
	CHECK(strstr(brk.reason, "missing") != NULL);
	CHECK(tamper("d1.db", "DELETE FROM audit_log WHERE seq = 1", &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 2);
}

static void other_columns_covered(void)
{
	struct audit_break brk;

	CHECK(tamper("k.db", "UPDATE audit_log SET kind = 'other' WHERE seq = 6", &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 6);
	CHECK(tamper("a.db", "UPDATE audit_log SET at = '2000-01-01T00:00:00.000Z' WHERE seq = 1",
		     &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 1);
	CHECK(tamper("w.db", "UPDATE audit_log SET payload = ' ' || payload WHERE seq = 5", &brk)
	      == DK_ECORRUPT);
	CHECK(brk.seq == 5 && strstr(brk.reason, "canonical") != NULL);
}

static void unaudited_document_named(void)
{
	struct store st;
	struct audit_break brk;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, "doc.db", 2);

	REQUIRE(db != NULL);
	REQUIRE(sqlite3_exec(db, "INSERT INTO documents(id, source_name, source_name_bytes, "
			     "received_at, status, stored_at) VALUES (printf('%064d', 7), 'x', "
			     "x'78', 'now', 'done', 'now')", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(audit_verify(db, &brk, &e) == DK_ECORRUPT);
	CHECK(strstr(e.msg, "0000007 has no audit record") != NULL);
	store_close(&st);
}

static void append_needs_transaction(void)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, "tx.db", 0);

	REQUIRE(db != NULL);
	CHECK(audit_append(db, "x", NULL, "{}", 2, NULL, NULL, &e) == DK_EINVAL);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	CHECK(audit_append(db, "x", NULL, "{\"a\":", 5, NULL, NULL, &e) == DK_EFORMAT);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	store_close(&st);
}

/* result_tamper - store two documents, run sql on the results, verify */
static int result_tamper(const char *name, const char *sql, struct audit_break *brk)
{
	static const char text[] = "Bescheid vom 1. April";
	static const size_t starts[] = { 0, 9 };
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	sqlite3 *db = chain_db(&st, name, 2);
	char id[65];
	int rc;

	if (db == NULL)
		return 99;
	for (int i = 0; i < 2; i++) {
		store_doc_init(&d);
		store_sha256_hex(i ? "two" : "one", 3, id);
		d.id = id;
		d.source_name = i ? "two.pdf" : "one.pdf";
		d.text = text;
		d.text_len = strlen(text);
		d.pages = 2;
		d.page_start = starts;
		if (store_put_document(&st, &d, NULL, &e) != 0)
			return 98;
	}
	if (audit_verify(db, brk, &e) != 0 || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return 97;
	rc = audit_verify(db, brk, &e);
	store_close(&st);
	return rc;
}

static void altered_results_named(void)
{
	struct audit_break brk;

	CHECK(result_tamper("r1.db", "UPDATE documents SET status = 'failed', error_code = 'x' "
			    "WHERE source_name = 'two.pdf'", &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 4 && strstr(brk.reason, "differs") != NULL);
	CHECK(result_tamper("r2.db", "UPDATE texts SET text = 'Bescheid vom 2. April' "
			    "WHERE doc_id = (SELECT id FROM documents WHERE source_name = 'one.pdf')",
			    &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 3 && strstr(brk.reason, "text of document") != NULL);
	CHECK(result_tamper("r3.db", "UPDATE pages SET start_byte = 8 WHERE page_no = 2 AND "
			    "doc_id = (SELECT id FROM documents WHERE source_name = 'one.pdf')",
			    &brk) == DK_ECORRUPT);
	CHECK(brk.seq == 3);
	CHECK(result_tamper("r4.db", "UPDATE documents SET source_name = 'other.pdf' "
			    "WHERE source_name = 'one.pdf'", &brk) == DK_ECORRUPT);
	CHECK(result_tamper("r5.db", "UPDATE texts SET sha256 = 'x'", &brk) == DK_ECORRUPT);
	CHECK(result_tamper("r6.db", "SELECT 1", &brk) == 0);
}

int main(void)
{
	RUN(canonical_sorts_and_strips);
	RUN(canonical_rejects_bad_json);
	RUN(chain_verifies);
	RUN(hash_formula_is_documented);
	RUN(tampered_payload_named);
	RUN(tampered_hash_named);
	RUN(removed_record_named);
	RUN(other_columns_covered);
	RUN(unaudited_document_named);
	RUN(append_needs_transaction);
	RUN(altered_results_named);
	return TEST_END();
}
