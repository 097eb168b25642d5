/*
 * Unit tests for the text-analysis paths of pipeline/store: results stored
 * with the document (store_doc.results), their hash in the audit record,
 * caseworker reviews (store_put_review) and their override in exports,
 * and audit_verify() catching altered results and reviews.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/audit.h"
#include "pipeline/query.h"
#include "pipeline/store.h"
#include "tests/test.h"

static const char text[] = "Grüße aus Köln, 12. März 2025. Zweiter Satz.";

static char *db_path(const char *name)
{
	static char p[512];

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	unlink(p);
	return p;
}

/* str - first column of the first row of sql, as text (static buffer) */
static const char *str(struct store *st, const char *sql)
{
	static char out[2048];
	sqlite3_stmt *s;

	out[0] = 0;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return "(sql error)";
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return out;
}

/* analysed - a done document with every kind of result */
static void analysed(struct store_doc *d, struct store_results *r, struct store_entity *e,
		     char id[65])
{
	store_sha256_hex("analysed", 8, id);
	store_doc_init(d);
	d->id = id;
	d->source_name = "brief.txt";
	d->received_at = "2025-03-12T09:30:00.000Z";
	d->format = "txt";
	d->text = text;
	d->text_len = strlen(text);
	store_results_init(r);
	r->language = "de";
	r->language_confidence = 0.98;
	r->language_method = "cld2+textcat";
	r->label = "complaint";
	r->label_confidence = 0.4;
	r->label_method = "classifier";
	r->needs_review = 1;
	*e = (struct store_entity){ "date", "12. März 2025", "2025-03-12", 19, 33, "rules", 0.99 };
	r->entities = e;
	r->n_entities = 1;
	r->set_entities = 1;
	r->summary = "Zweiter Satz.";
	r->summary_language = "de";
	r->summary_method = "extractive";
	d->results = r;
}

static void results_with_document(void)
{
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity e;
	struct dk_err err = DK_ERR_INIT;
	char id[65], h[65], sql[256];

	REQUIRE(store_open(&st, db_path("r.db"), STORE_CREATE, &err) == 0);
	analysed(&d, &r, &e, id);
	REQUIRE(store_put_document(&st, &d, NULL, &err) == 0);
	CHECK(strcmp(str(&st, "SELECT code || ' ' || confidence || ' ' || method FROM languages"),
		     "de 0.98 cld2+textcat") == 0);
	CHECK(strcmp(str(&st, "SELECT text || '|' || value || '|' || start_byte || '|' || end_byte "
			 "FROM entities"), "12. März 2025|2025-03-12|19|33") == 0);
	CHECK(strcmp(str(&st, "SELECT label || needs_review FROM classifications"), "complaint1") == 0);
	CHECK(strcmp(str(&st, "SELECT method FROM summaries"), "extractive") == 0);
	/* the document's audit record holds the hash of exactly these results */
	REQUIRE(store_results_sha256(store_db(&st), id, h, &err) == 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE kind = 'document' AND "
		 "json_extract(payload, '$.results_sha256') = '%s'", h);
	CHECK(strcmp(str(&st, sql), "1") == 0);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM audit_log"), "1") == 0);
	CHECK(audit_verify(store_db(&st), NULL, &err) == 0);
	store_close(&st);
}

static void bad_results_write_nothing(void)
{
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity e;
	struct dk_err err = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("bad.db"), STORE_CREATE, &err) == 0);
	analysed(&d, &r, &e, id);
	e.start = 18;		/* not the slice e.text */
	e.end = 32;
	CHECK(store_put_document(&st, &d, NULL, &err) == DK_EINVAL);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM documents"), "0") == 0);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM languages"), "0") == 0);
	/* a failed document's results are ignored: there is no text to refer to */
	d.status = STORE_FAILED;
	d.error_code = "no_text_layer";
	d.text = NULL;
	d.text_len = 0;
	REQUIRE(store_put_document(&st, &d, NULL, &err) == 0);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM languages"), "0") == 0);
	CHECK(audit_verify(store_db(&st), NULL, &err) == 0);
	store_close(&st);
}

static void analysis_error_recorded(void)
{
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity e;
	struct dk_err err = DK_ERR_INIT;
	char id[65];

	REQUIRE(store_open(&st, db_path("ae.db"), STORE_CREATE, &err) == 0);
	analysed(&d, &r, &e, id);
	store_results_init(&r);
	r.error_stage = "analyze";
	r.error_code = "results_too_large";
	r.error_message = "analysis results do not fit the message cap";
	REQUIRE(store_put_document(&st, &d, NULL, &err) == 0);
	CHECK(strcmp(str(&st, "SELECT status FROM documents"), "done") == 0);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM texts"), "1") == 0);
	CHECK(strcmp(str(&st, "SELECT json_extract(payload, '$.analysis_error.code') FROM "
			 "audit_log"), "results_too_large") == 0);
	store_close(&st);
}

static void review_overrides_and_is_audited(void)
{
	struct store st;
	struct store_doc d;
	struct store_results r;
	struct store_entity e;
	struct dk_err err = DK_ERR_INIT;
	struct audit_break brk;
	char id[65], other[65];
	int64_t rid = 0;

	REQUIRE(store_open(&st, db_path("rv.db"), STORE_CREATE, &err) == 0);
	analysed(&d, &r, &e, id);
	REQUIRE(store_put_document(&st, &d, NULL, &err) == 0);
	store_sha256_hex("absent", 6, other);
	CHECK(store_put_review(&st, other, "classification", "appeal", "anna", NULL, NULL,
			       &err) == DK_ENOTFOUND);
	CHECK(store_put_review(&st, id, "colour", "red", "anna", NULL, NULL, &err) == DK_EINVAL);
	CHECK(store_put_review(&st, id, "classification", "appeal", "", NULL, NULL, &err) ==
	      DK_EINVAL);
	CHECK(strcmp(str(&st, "SELECT count(*) FROM reviews"), "0") == 0);
	REQUIRE(store_put_review(&st, id, "classification", "appeal", "anna", "late objection",
				 &rid, &err) == 0);
	CHECK(rid == 1);
	CHECK(strstr(str(&st, "SELECT record FROM result_records"), "\"classification\":{\"label\":"
		     "\"appeal\",\"confidence\":1.0,\"method\":\"review\",\"needs_review\":false}")
	      != NULL);
	CHECK(strcmp(str(&st, "SELECT category || needs_review FROM caseworker_documents"),
		     "appeal0") == 0);
	/* the pipeline's own label is kept beneath the override */
	CHECK(strcmp(str(&st, "SELECT label FROM classifications"), "complaint") == 0);
	CHECK(strcmp(str(&st, "SELECT json_extract(payload, '$.reason') FROM audit_log WHERE "
			 "kind = 'review'"), "late objection") == 0);
	CHECK(audit_verify(store_db(&st), NULL, &err) == 0);
	REQUIRE(sqlite3_exec(store_db(&st), "UPDATE reviews SET value = 'invoice'", NULL, NULL,
			     NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &err) == DK_ECORRUPT);
	CHECKF(brk.seq == 2, "seq %lld: %s", (long long)brk.seq, brk.reason);
	REQUIRE(sqlite3_exec(store_db(&st), "UPDATE reviews SET value = 'appeal'; "
			     "UPDATE languages SET confidence = 0.5", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &err) == DK_ECORRUPT);
	CHECKF(strstr(brk.reason, "results of document") != NULL, "%s", brk.reason);
	REQUIRE(sqlite3_exec(store_db(&st), "UPDATE languages SET confidence = 0.98; "
			     "DELETE FROM reviews", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &err) == DK_ECORRUPT);
	store_close(&st);
}

int main(void)
{
	RUN(results_with_document);
	RUN(bad_results_write_nothing);
	RUN(analysis_error_recorded);
	RUN(review_overrides_and_is_audited);
	return TEST_END();
}
