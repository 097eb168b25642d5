/*
 * NAME
 *	store - the SQLite results database
 * DESIGN NOTES
 *	1. Durability: journal_mode=WAL with synchronous=FULL. In WAL mode
 *	   NORMAL survives a process crash but may lose the newest commits on
 *	   power loss; the spool renames a file to done/ right after its
 *	   commit, so a commit that could still vanish would lose that
 *	   document. FULL syncs the WAL at every commit (one fsync per
 *	   document), which is the price of invariant 2.
 *	2. A file leaves work/ only after store_put_document() returned 0:
 *	   at that moment its document row (or duplicate receipt), text,
 *	   pages, timings and audit record are all committed, or none is.
 *	3. Exactly once: the same claim twice is a STORE_REPLAY (nothing
 *	   written); the same bytes under a new claim are STORE_DUPLICATE (a
 *	   receipt, never a second documents row). Both decisions are made
 *	   inside the write transaction, so they cannot race another writer.
 *	4. Migrations: user_version is re-read after taking the write lock,
 *	   so two processes opening a fresh file apply each migration once.
 *	5. Every put validates its input before writing; text must be valid
 *	   UTF-8 without NUL bytes because export emits it as JSON.
 *	6. No transaction outlives a failed call: the ROLLBACK statement is
 *	   prepared at open, so it runs even when SQLite is out of memory.
 *	   A connection still inside a transaction it could not undo refuses
 *	   further puts (DK_EIO) instead of nesting them in a transaction
 *	   that would never commit (pager.c's ERROR state).
 */
#include <glib.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/audit.h"
#include "pipeline/store.h"
#include "pipeline/store_schema.h"

/* ---------------------------------------------------------------- helpers */

/* store_now - RFC 3339 UTC with milliseconds */
void store_now(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* store_sha256_hex - SHA-256 as lower-case hex */
void store_sha256_hex(const void *data, size_t len, char out[65])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(c, data, (gssize)len);
	memcpy(out, g_checksum_get_string(c), 65);
	g_checksum_free(c);
}

/* store_valid_id - 64 lower-case hex digits */
int store_valid_id(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

static int sql_fail(struct store *st, struct dk_err *err, const char *what)
{
	int ext = sqlite3_extended_errcode(st->db);
	int code = (ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED ? DK_EAGAIN
		 : (ext & 0xff) == SQLITE_CORRUPT || (ext & 0xff) == SQLITE_NOTADB ? DK_ECORRUPT
		 : (ext & 0xff) == SQLITE_NOMEM ? DK_ENOMEM : DK_EIO;

	return dk_err_set(err, code, "cannot %s in '%s': %s", what, st->path,
			  sqlite3_errmsg(st->db));
}

/*
 * run - prepare sql, bind arguments described by types, step once.
 * Types: 't' text (const char *, NULL binds NULL), 'T' text with length
 * (const char *, size_t), 'b' blob (const void *, size_t), 'i' int64_t,
 * 'n' int64_t bound as NULL when negative, 'd' double. A row result is ignored; use the statement API to read.
 */
static int run(struct store *st, struct dk_err *err, const char *what,
	       const char *sql, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc, i = 1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return sql_fail(st, err, what);
	va_start(ap, types);
	for (const char *t = types; *t; t++, i++) {
		const char *p;
		size_t n;

		switch (*t) {
		case 't':
			p = va_arg(ap, const char *);
			sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
			break;
		case 'T':
			p = va_arg(ap, const char *);
			n = va_arg(ap, size_t);
			sqlite3_bind_text64(s, i, p, n, SQLITE_STATIC, SQLITE_UTF8);
			break;
		case 'b':
			p = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			sqlite3_bind_blob64(s, i, p, n, SQLITE_STATIC);
			break;
		case 'i':
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);

			if (v >= 0)
				sqlite3_bind_int64(s, i, v);
			break;
		}
		case 'd':
			sqlite3_bind_double(s, i, va_arg(ap, double));
			break;
		}
	}
	va_end(ap);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sql_fail(st, err, what);
	return 0;
}

/* query_int - first column of the first row of sql with one text arg, or dflt */
static int query_int(struct store *st, const char *sql, const char *arg,
		     int64_t dflt, int64_t *out, struct dk_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return sql_fail(st, err, "read");
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : dflt;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(st, err, "read");
	return 0;
}

/* ---------------------------------------------------------------- open */

int store_schema_version(void)
{
	return store_migrations[store_n_migrations - 1].version;
}

/* migrate_one - apply migration m unless another process already did */
static int migrate_one(struct store *st, const struct store_migration *m, struct dk_err *err)
{
	int64_t v;
	char pragma[48];
	int rc;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(st, err, "lock the database for migration");
	rc = query_int(st, "PRAGMA user_version", NULL, 0, &v, err);
	if (rc == 0 && v < m->version) {
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
		if (sqlite3_exec(st->db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK)
			rc = dk_err_set(err, DK_EIO, "cannot apply '%s' to '%s': %s", m->file,
					st->path, sqlite3_errmsg(st->db));
	}
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_fail(st, err, "commit a migration");
	if (rc)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int migrate(struct store *st, int readonly, struct dk_err *err)
{
	int64_t v;
	int rc = query_int(st, "PRAGMA user_version", NULL, 0, &v, err);

	if (rc)
		return rc;
	if (v > store_schema_version())
		return dk_err_set(err, DK_ECORRUPT, "database '%s' has schema version %lld, newer "
				  "than this docket's %d", st->path, (long long)v,
				  store_schema_version());
	if (v < store_schema_version() && readonly)
		return dk_err_set(err, DK_EINVAL, "database '%s' needs migrating; open it "
				  "read-write once", st->path);
	for (size_t i = 0; rc == 0 && i < store_n_migrations; i++)
		if (store_migrations[i].version > v)
			rc = migrate_one(st, &store_migrations[i], err);
	return rc;
}

static int configure(struct store *st, int readonly, struct dk_err *err)
{
	int64_t fk;
	char mode[16] = "";
	sqlite3_stmt *s;

	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	if (!readonly) {
		if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
			return sql_fail(st, err, "set journal mode");
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
		if (strcmp(mode, "wal") != 0)
			return dk_err_set(err, DK_EIO, "cannot use write-ahead logging for '%s'",
					  st->path);
	}
	if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
			 NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(st, err, "configure");
	if (query_int(st, "PRAGMA foreign_keys", NULL, 0, &fk, err) || fk != 1)
		return dk_err_set(err, DK_EIO, "sqlite without foreign key support");
	return 0;
}

/* store_open - open path; apply pending migrations */
int store_open(struct store *st, const char *path, int flags, struct dk_err *err)
{
	int readonly = (flags & STORE_READONLY) != 0;
	int oflags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	int rc;

	st->db = NULL;
	st->rollback = NULL;
	st->group = 0;
	st->path = strdup(path ? path : "");
	if (st->path == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (path == NULL || *path == 0)
		rc = dk_err_set(err, DK_EINVAL, "no database path given");
	else if (!(flags & STORE_CREATE) && access(path, F_OK) != 0)
		rc = dk_err_set(err, DK_ENOTFOUND, "database '%s' does not exist", path);
	else if (sqlite3_open_v2(path, &st->db, oflags | ((flags & STORE_CREATE) && !readonly ?
			SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		rc = st->db ? sql_fail(st, err, "open the database")
			    : dk_err_set(err, DK_ENOMEM, "out of memory opening '%s'", path);
	else
		rc = configure(st, readonly, err);
	if (rc == 0)
		rc = migrate(st, readonly, err);
	if (rc == 0 && sqlite3_prepare_v2(st->db, "ROLLBACK", -1, &st->rollback, NULL) != SQLITE_OK)
		rc = sql_fail(st, err, "prepare");
	if (rc)
		store_close(st);
	return rc;
}

/* store_close - close the connection */
void store_close(struct store *st)
{
	sqlite3_finalize(st->rollback);
	st->rollback = NULL;
	if (st->db)
		sqlite3_close_v2(st->db);
	st->db = NULL;
	free(st->path);
	st->path = NULL;
}

/* ---------------------------------------------------------------- transactions */

/*
 * undo - roll back whatever transaction is open. The statement was
 * prepared at open, so undoing needs no new allocation: after an
 * out-of-memory error the rollback itself still runs (invariant 6).
 */
static void undo(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->rollback);
		sqlite3_reset(st->rollback);
	}
}

/* begin - BEGIN IMMEDIATE on a connection that must not be inside a transaction */
static int begin(struct store *st, struct dk_err *err)
{
	if (!sqlite3_get_autocommit(st->db))
		undo(st);
	if (!sqlite3_get_autocommit(st->db))
		return dk_err_set(err, DK_EIO, "cannot roll back a failed transaction in '%s'; "
				  "reopen the database", st->path);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(st, err, "begin a transaction");
	return 0;
}

int store_begin(struct store *st, struct dk_err *err)
{
	int rc;

	if (st->group)
		return dk_err_set(err, DK_EINVAL, "a transaction is already open on '%s'", st->path);
	if ((rc = begin(st, err)) == 0)
		st->group = 1;
	return rc;
}

int store_commit(struct store *st, struct dk_err *err)
{
	int rc = 0;

	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sql_fail(st, err, "commit");
		undo(st);
	}
	st->group = 0;
	return rc;
}

void store_rollback(struct store *st)
{
	undo(st);
	st->group = 0;
}

/* tx_open - own transaction unless a group is open, then a savepoint */
static int tx_open(struct store *st, int *own, struct dk_err *err)
{
	*own = !st->group;
	if (*own)
		return begin(st, err);
	if (sqlite3_exec(st->db, "SAVEPOINT put", NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(st, err, "open a savepoint");
	return 0;
}

/* tx_close - commit (rc == 0) or undo exactly what tx_open() started */
static int tx_close(struct store *st, int own, int rc, struct dk_err *err)
{
	if (own && rc)
		undo(st);
	else if (own)
		rc = store_commit(st, err);
	else {
		if (rc)
			sqlite3_exec(st->db, "ROLLBACK TO put", NULL, NULL, NULL);
		if (sqlite3_exec(st->db, "RELEASE put", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
			rc = sql_fail(st, err, "release a savepoint");
	}
	return rc;
}

/* ---------------------------------------------------------------- documents */

void store_doc_init(struct store_doc *d)
{
	memset(d, 0, sizeof *d);
	d->status = STORE_DONE;
	d->size_bytes = -1;
}

static int has(struct store *st, const char *sql, const char *arg, struct dk_err *err)
{
	int64_t n;
	int rc = query_int(st, sql, arg, 0, &n, err);

	return rc ? rc : n != 0;
}

int store_has_document(struct store *st, const char *id, struct dk_err *err)
{
	return has(st, "SELECT count(*) FROM documents WHERE id = ?", id, err);
}

int store_has_claim(struct store *st, const char *claim, struct dk_err *err)
{
	return has(st, "SELECT count(*) FROM receipts WHERE claim = ?", claim, err);
}

static int check_doc(const struct store_doc *d, struct dk_err *err)
{
	if (!store_valid_id(d->id))
		return dk_err_set(err, DK_EINVAL, "document id '%s' is not 64 lower-case hex digits",
				  d->id ? d->id : "(null)");
	if (d->source_name == NULL)
		return dk_err_set(err, DK_EINVAL, "document %.12s has no source name", d->id);
	if (d->parent && !store_valid_id(d->parent))
		return dk_err_set(err, DK_EINVAL, "document %.12s has a malformed parent id", d->id);
	if (d->status == STORE_FAILED && (d->error_code == NULL || !*d->error_code))
		return dk_err_set(err, DK_EINVAL, "failed document %.12s has no error code", d->id);
	if (d->status != STORE_FAILED && d->status != STORE_DONE)
		return dk_err_set(err, DK_EINVAL, "document %.12s has an unknown status", d->id);
	if (d->text_len && d->text == NULL)
		return dk_err_set(err, DK_EINVAL, "document %.12s has a length but no text", d->id);
	if (d->text && !g_utf8_validate_len(d->text, d->text_len, NULL))
		return dk_err_set(err, DK_EINVAL, "text of document %.12s is not valid utf-8 "
				  "or holds a nul byte", d->id);
	if (d->pages < 0 || (d->pages > 0 && d->page_start == NULL))
		return dk_err_set(err, DK_EINVAL, "document %.12s has malformed pages", d->id);
	for (int i = 0; i < d->pages; i++)
		if (d->page_start[i] > d->text_len || (i && d->page_start[i] < d->page_start[i - 1]))
			return dk_err_set(err, DK_EINVAL, "page %d of document %.12s starts at "
					  "byte %zu, out of order or past the text", i + 1,
					  d->id, d->page_start[i]);
	return 0;
}

/* json_opt - a JSON string or null */
static int json_opt(struct dk_buf *b, const char *key, const char *s)
{
	int rc = dk_buf_addf(b, ",\"%s\":", key);

	if (rc == 0)
		rc = s ? dk_buf_add_json_str(b, s, strlen(s)) : dk_buf_adds(b, "null");
	return rc;
}

/* json_error - ,"key":{code, message, stage}, or ,"key":null without a code */
static int json_error(struct dk_buf *b, const char *key, const char *code,
		      const char *message, const char *stage)
{
	int rc;

	if (code == NULL)
		return dk_buf_addf(b, ",\"%s\":null", key);
	rc = dk_buf_addf(b, ",\"%s\":{\"code\":", key);
	if (rc == 0)
		rc = dk_buf_add_json_str(b, code, strlen(code));
	if (rc == 0)
		rc = json_opt(b, "message", message);
	if (rc == 0)
		rc = json_opt(b, "stage", stage);
	if (rc == 0)
		rc = dk_buf_addch(b, '}');
	return rc;
}

/*
 * doc_payload - the document's audit payload: what was stored, its text
 * hash and the hash of its results
 */
static int doc_payload(struct dk_buf *b, const struct store_doc *d, const char *name,
		       const char *received_at, int64_t text_chars, const char *text_sha,
		       const char *results_sha)
{
	int rc = dk_buf_addf(b, "{\"id\":\"%s\"", d->id);

	if (rc == 0)
		rc = json_opt(b, "source_name", name);
	if (rc == 0)
		rc = json_opt(b, "received_at", received_at);
	if (rc == 0)
		rc = json_opt(b, "status", d->status == STORE_FAILED ? "failed" : "done");
	if (rc == 0)
		rc = json_error(b, "error", d->status == STORE_FAILED ? d->error_code : NULL,
				d->error_message, d->error_stage);
	if (rc == 0)
		rc = json_opt(b, "parent", d->parent);
	if (rc == 0)
		rc = json_opt(b, "mime", d->mime);
	if (rc == 0)
		rc = json_opt(b, "format", d->format);
	if (rc == 0)
		rc = dk_buf_addf(b, ",\"size_bytes\":%lld,\"pages\":%d,\"text_chars\":%lld",
				 (long long)d->size_bytes, d->pages, (long long)text_chars);
	if (rc == 0)
		rc = json_opt(b, "text_sha256", text_sha);
	if (rc == 0)
		rc = json_opt(b, "results_sha256", results_sha);
	if (rc == 0)
		rc = json_error(b, "analysis_error", d->results ? d->results->error_code : NULL,
				d->results ? d->results->error_message : NULL,
				d->results ? d->results->error_stage : NULL);
	if (rc == 0)
		rc = dk_buf_adds(b, ",\"page_start\":[");
	for (int i = 0; rc == 0 && i < d->pages; i++)
		rc = dk_buf_addf(b, "%s%zu", i ? "," : "", d->page_start[i]);
	if (rc == 0)
		rc = dk_buf_adds(b, "]}");
	return rc;
}

/* receipt - one receipts row */
static int receipt(struct store *st, const struct store_doc *d, const char *name,
		   const char *received_at, const char *outcome, struct dk_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO receipts(claim, source_name, "
			       "source_name_bytes, received_at, doc_id, outcome, run_id) "
			       "VALUES (?,?,?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return sql_fail(st, err, "record a receipt");
	sqlite3_bind_text(s, 1, d->claim, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, d->source_name, (int)strlen(d->source_name), SQLITE_STATIC);
	sqlite3_bind_text(s, 4, received_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, outcome, -1, SQLITE_STATIC);
	if (d->run_id > 0)
		sqlite3_bind_int64(s, 7, d->run_id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(st, err, "record a receipt");
}

/* put_duplicate - receipt plus audit record for bytes already stored */
static int put_duplicate(struct store *st, const struct store_doc *d, const char *name,
			 const char *received_at, struct dk_err *err)
{
	struct dk_buf p = DK_BUF_INIT;
	int rc = receipt(st, d, name, received_at, "duplicate", err);

	if (rc == 0 && (dk_buf_addf(&p, "{\"duplicate_of\":\"%s\"", d->id) ||
			json_opt(&p, "source_name", name) ||
			json_opt(&p, "received_at", received_at) || dk_buf_addch(&p, '}')))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = audit_append(st->db, "duplicate", d->id, p.buf, p.len, NULL, NULL, err);
	dk_buf_release(&p);
	return rc;
}

static int put_row(struct store *st, const struct store_doc *d, const char *name,
		   const char *received_at, int64_t chars, struct dk_err *err)
{
	int failed = d->status == STORE_FAILED;
	char now[32];

	store_now(now);
	return run(st, err, "store a document",
		   "INSERT INTO documents(id, source_name, source_name_bytes, received_at, "
		   "status, error_code, error_message, error_stage, parent_id, size_bytes, "
		   "mime, format, pages, text_chars, title, author, source_charset, run_id, "
		   "stored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		   "ttbttttttnttnntttnt", d->id, name, d->source_name, strlen(d->source_name),
		   received_at, failed ? "failed" : "done",
		   failed ? d->error_code : NULL, failed ? d->error_message : NULL,
		   failed ? d->error_stage : NULL, d->parent, d->size_bytes, d->mime,
		   d->format, failed && d->pages == 0 ? (int64_t)-1 : (int64_t)d->pages,
		   d->text ? chars : (int64_t)-1, d->title, d->author,
		   d->source_charset, d->run_id > 0 ? d->run_id : (int64_t)-1, now);
}

/* put_parts - text, pages and timings of a new document */
static int put_parts(struct store *st, const struct store_doc *d, const char *text_sha,
		     struct dk_err *err)
{
	int64_t run_id = d->run_id > 0 ? d->run_id : -1;
	int rc = 0;

	if (d->text)
		rc = run(st, err, "store a text", "INSERT INTO texts(doc_id, text, sha256) "
			 "VALUES (?,?,?)", "tTt", d->id, d->text, d->text_len, text_sha);
	for (int i = 0; rc == 0 && i < d->pages; i++) {
		size_t end = i + 1 < d->pages ? d->page_start[i + 1] : d->text_len;

		rc = run(st, err, "store a page", "INSERT INTO pages(doc_id, page_no, start_byte, "
			 "end_byte) VALUES (?,?,?,?)", "tiii", d->id, (int64_t)i + 1,
			 (int64_t)d->page_start[i], (int64_t)end);
	}
	for (size_t i = 0; rc == 0 && i < d->n_timings; i++)
		rc = run(st, err, "store a timing", "INSERT OR REPLACE INTO stage_timings(doc_id, "
			 "run_id, stage, ms) VALUES (?,?,?,?)", "tntd", d->id, run_id,
			 d->timings[i].stage, d->timings[i].ms);
	return rc;
}

static int check_results(struct store *st, const char *id, const struct store_results *r,
			 struct dk_err *err);
static int put_result_rows(struct store *st, const char *id, const struct store_results *r,
			   struct dk_err *err);

/* put_analysis - the results of a new done document, and their hash */
static int put_analysis(struct store *st, const struct store_doc *d, char results_sha[65],
			struct dk_err *err)
{
	int rc = 0;

	if (d->results && d->status == STORE_DONE && d->text) {
		rc = check_results(st, d->id, d->results, err);
		if (rc == 0)
			rc = put_result_rows(st, d->id, d->results, err);
	}
	if (rc == 0)
		rc = store_results_sha256(st->db, d->id, results_sha, err);
	return rc;
}

/* put_new - a document not stored before */
static int put_new(struct store *st, const struct store_doc *d, const char *name,
		   const char *received_at, struct dk_err *err)
{
	struct dk_buf p = DK_BUF_INIT;
	char text_sha[65], results_sha[65];
	int64_t chars = d->text ? g_utf8_strlen(d->text, (gssize)d->text_len) : 0;
	int rc;

	store_sha256_hex(d->text ? d->text : "", d->text_len, text_sha);
	rc = put_row(st, d, name, received_at, chars, err);
	if (rc == 0)
		rc = put_parts(st, d, text_sha, err);
	if (rc == 0)
		rc = put_analysis(st, d, results_sha, err);
	if (rc == 0)
		rc = receipt(st, d, name, received_at,
			     d->status == STORE_FAILED ? "failed" : "new", err);
	if (rc == 0 && doc_payload(&p, d, name, received_at, chars, d->text ? text_sha : NULL,
				   results_sha))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = audit_append(st->db, "document", d->id, p.buf, p.len, NULL, NULL, err);
	dk_buf_release(&p);
	return rc;
}

/* make_valid - replace *s by a valid UTF-8 copy if it is not; keep the copy in owned */
static void make_valid(const char **s, char **owned, size_t *n)
{
	if (*s && !g_utf8_validate(*s, -1, NULL)) {
		owned[*n] = g_utf8_make_valid(*s, -1);
		*s = owned[(*n)++];
	}
}

/* utc_time - an RFC 3339 time as UTC "YYYY-MM-DDTHH:MM:SS.sssZ" */
static int utc_time(struct store *st, const char *t, char out[32], struct dk_err *err)
{
	sqlite3_stmt *q;
	const char *u;
	int rc = DK_EINVAL;

	if (strlen(t) < 20 || t[10] != 'T')
		return dk_err_set(err, DK_EINVAL, "received_at '%s' is not an RFC 3339 time", t);
	if (sqlite3_prepare_v2(st->db, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?)", -1, &q,
			       NULL) != SQLITE_OK)
		return sql_fail(st, err, "read");
	sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && (u = (const char *)sqlite3_column_text(q, 0)) != NULL) {
		snprintf(out, 32, "%s", u);
		rc = 0;
	}
	sqlite3_finalize(q);
	if (rc)
		dk_err_set(err, DK_EINVAL, "received_at '%s' is not an RFC 3339 time", t);
	return rc;
}

/* decide - inside the transaction: replay, duplicate or new (invariant 3) */
static int decide(struct store *st, const struct store_doc *d, const char *name,
		  const char *received_at, int receipt_only, enum store_outcome *outcome,
		  struct dk_err *err)
{
	int rc = d->claim ? store_has_claim(st, d->claim, err) : 0;

	if (rc < 0)
		return rc;
	if (rc > 0) {
		*outcome = STORE_REPLAY;
		return 0;
	}
	if ((rc = store_has_document(st, d->id, err)) < 0)
		return rc;
	if (rc > 0) {
		*outcome = STORE_DUPLICATE;
		return put_duplicate(st, d, name, received_at, err);
	}
	if (receipt_only)
		return dk_err_set(err, DK_ENOTFOUND, "document %s is not stored", d->id);
	*outcome = STORE_NEW;
	return put_new(st, d, name, received_at, err);
}

/*
 * put - the body shared by store_put_document and store_put_receipt.
 * receipt_only: the bytes must already be stored.
 */
static int put(struct store *st, const struct store_doc *d, int receipt_only,
	       enum store_outcome *outcome, struct dk_err *err)
{
	struct store_doc v = *d;
	enum store_outcome o = STORE_NEW;
	char now[32], *name, *owned[8];
	size_t n_owned = 0;
	int rc, own;

	rc = receipt_only && store_valid_id(d->id) && d->source_name ? 0 : check_doc(d, err);
	if (rc || (rc = tx_open(st, &own, err)) != 0)
		return rc;
	/* invariant 5: export writes these as JSON, so they must be UTF-8 */
	make_valid(&v.error_code, owned, &n_owned);
	make_valid(&v.error_message, owned, &n_owned);
	make_valid(&v.error_stage, owned, &n_owned);
	make_valid(&v.mime, owned, &n_owned);
	make_valid(&v.format, owned, &n_owned);
	make_valid(&v.title, owned, &n_owned);
	make_valid(&v.author, owned, &n_owned);
	make_valid(&v.source_charset, owned, &n_owned);
	name = g_utf8_make_valid(d->source_name, -1);
	store_now(now);
	rc = d->received_at ? utc_time(st, d->received_at, now, err) : 0;
	if (rc == 0)
		rc = decide(st, &v, name, now, receipt_only, &o, err);
	g_free(name);
	while (n_owned)
		g_free(owned[--n_owned]);
	rc = tx_close(st, own, rc, err);
	if (rc == 0 && outcome)
		*outcome = o;
	return rc;
}

/* store_put_document - one document, its receipt and audit record, atomically */
int store_put_document(struct store *st, const struct store_doc *d,
		       enum store_outcome *outcome, struct dk_err *err)
{
	return put(st, d, 0, outcome, err);
}

/* store_put_receipt - a new arrival of bytes already stored */
int store_put_receipt(struct store *st, const struct store_doc *d,
		      enum store_outcome *outcome, struct dk_err *err)
{
	return put(st, d, 1, outcome, err);
}

/* ---------------------------------------------------------------- runs */

int store_run_begin(struct store *st, const char *command, int64_t *run_id,
		    struct dk_err *err)
{
	char now[32];
	int rc;

	store_now(now);
	rc = run(st, err, "start a run", "INSERT INTO runs(command, host, pid, started_at) "
		 "VALUES (?,?,?,?)", "ttit", command, g_get_host_name(), (int64_t)getpid(), now);
	if (rc == 0)
		*run_id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

static int read_counts(struct store *st, int64_t run_id, struct store_run_summary *s,
		       struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			"SELECT CASE r.outcome WHEN 'new' THEN 'done' ELSE r.outcome END, "
			"coalesce(d.format, 'unknown'), count(*) FROM receipts r "
			"JOIN documents d ON d.id = r.doc_id WHERE r.run_id = ? "
			"GROUP BY 1, 2 ORDER BY 1, 2", -1, &q, NULL) != SQLITE_OK)
		return sql_fail(st, err, "read run counts");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_count *c = realloc(s->counts, (s->n_counts + 1) * sizeof *c);
		int64_t n = sqlite3_column_int64(q, 2);
		const char *status = (const char *)sqlite3_column_text(q, 0);

		if (c == NULL)
			break;
		s->counts = c;
		c += s->n_counts++;
		c->status = g_strdup(status);
		c->format = g_strdup((const char *)sqlite3_column_text(q, 1));
		c->n = n;
		if (strcmp(status, "done") == 0)
			s->n_done += n;
		else if (strcmp(status, "failed") == 0)
			s->n_failed += n;
		else
			s->n_duplicate += n;
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc != SQLITE_DONE)
		return sql_fail(st, err, "read run counts");
	s->n_new = s->n_done + s->n_failed;
	return 0;
}

static int read_stages(struct store *st, int64_t run_id, struct store_run_summary *s,
		       struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT stage, count(*), sum(ms), max(ms) FROM "
			       "stage_timings WHERE run_id = ? GROUP BY stage ORDER BY stage",
			       -1, &q, NULL) != SQLITE_OK)
		return sql_fail(st, err, "read run timings");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_stage_time *t = realloc(s->stages, (s->n_stages + 1) * sizeof *t);

		if (t == NULL)
			break;
		s->stages = t;
		t += s->n_stages++;
		t->stage = g_strdup((const char *)sqlite3_column_text(q, 0));
		t->n = sqlite3_column_int64(q, 1);
		t->total_ms = sqlite3_column_double(q, 2);
		t->max_ms = sqlite3_column_double(q, 3);
	}
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc != SQLITE_DONE)
		return sql_fail(st, err, "read run timings");
	return 0;
}

static int read_seconds(struct store *st, int64_t run_id, double *sec, struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT (julianday(coalesce(ended_at, "
			       "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) - julianday(started_at)) "
			       "* 86400.0 FROM runs WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return sql_fail(st, err, "read a run");
	sqlite3_bind_int64(q, 1, run_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*sec = sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return dk_err_set(err, DK_ENOTFOUND, "no run %lld in '%s'", (long long)run_id,
				  st->path);
	return rc == SQLITE_ROW ? 0 : sql_fail(st, err, "read a run");
}

/* store_run_summary_get - counts by status and format, time per stage */
int store_run_summary_get(struct store *st, int64_t run_id,
			  struct store_run_summary *s, struct dk_err *err)
{
	int rc;

	memset(s, 0, sizeof *s);
	rc = read_seconds(st, run_id, &s->seconds, err);
	if (rc == 0)
		rc = read_counts(st, run_id, s, err);
	if (rc == 0)
		rc = read_stages(st, run_id, s, err);
	if (rc)
		store_run_summary_release(s);
	return rc;
}

void store_run_summary_release(struct store_run_summary *s)
{
	for (size_t i = 0; i < s->n_counts; i++) {
		g_free(s->counts[i].status);
		g_free(s->counts[i].format);
	}
	for (size_t i = 0; i < s->n_stages; i++)
		g_free(s->stages[i].stage);
	free(s->counts);
	free(s->stages);
	memset(s, 0, sizeof *s);
}

/* store_run_end - stamp the end and the counts of a run */
int store_run_end(struct store *st, int64_t run_id,
		  struct store_run_summary *summary, struct dk_err *err)
{
	struct store_run_summary s;
	char now[32];
	int rc;

	store_now(now);
	rc = run(st, err, "end a run", "UPDATE runs SET ended_at = ? WHERE id = ?", "ti",
		 now, run_id);
	if (rc == 0)
		rc = store_run_summary_get(st, run_id, &s, err);
	if (rc)
		return rc;
	rc = run(st, err, "end a run", "UPDATE runs SET n_new = ?, n_done = ?, n_failed = ?, "
		 "n_duplicate = ? WHERE id = ?", "iiiii", s.n_new, s.n_done, s.n_failed,
		 s.n_duplicate, run_id);
	if (rc == 0 && summary)
		*summary = s;
	else
		store_run_summary_release(&s);
	return rc;
}

/* ---------------------------------------------------------------- later stages */

void store_results_init(struct store_results *r)
{
	memset(r, 0, sizeof *r);
}

/* entity_ok - 1 if e->text is exactly bytes [start, end) of the stored text */
static int entity_ok(struct store *st, const char *id, const struct store_entity *e,
		     struct dk_err *err)
{
	sqlite3_stmt *q;
	int ok = 0;

	if (e->type == NULL || e->text == NULL || e->method == NULL || e->end < e->start ||
	    e->end - e->start != strlen(e->text) || !(e->confidence >= 0 && e->confidence <= 1))
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT substr(CAST(text AS BLOB), ? + 1, ?) = "
			       "CAST(? AS BLOB) FROM texts WHERE doc_id = ?", -1, &q, NULL) != SQLITE_OK)
		return sql_fail(st, err, "read a text");
	sqlite3_bind_int64(q, 1, (int64_t)e->start);
	sqlite3_bind_int64(q, 2, (int64_t)(e->end - e->start));
	sqlite3_bind_text(q, 3, e->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		ok = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return ok;
}

/* llm_stage_ok - the table's CHECKs, tested first so a bad row is DK_EINVAL */
static int llm_stage_ok(const struct store_llm_stage *s)
{
	static const char *const stages[] = { "classify", "entities", "summarize" };
	static const char *const states[] = { "done", "skipped", "failed" };
	int a = 0, b = 0;

	for (size_t i = 0; i < 3 && s->stage && s->status; i++) {
		a |= strcmp(s->stage, stages[i]) == 0;
		b |= strcmp(s->status, states[i]) == 0;
	}
	return a && b;
}

static int check_results(struct store *st, const char *id, const struct store_results *r,
			 struct dk_err *err)
{
	int rc = store_has_document(st, id, err);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return dk_err_set(err, DK_ENOTFOUND, "document %.64s is not stored", id);
	if ((r->label && r->label_method == NULL) || (r->summary && r->summary_method == NULL))
		return dk_err_set(err, DK_EINVAL, "results for %.12s lack a method", id);
	for (size_t i = 0; i < r->n_llm_stages; i++)
		if (!llm_stage_ok(&r->llm_stages[i]))
			return dk_err_set(err, DK_EINVAL, "model stage %zu of %.12s is not a known "
					  "stage and status", i, id);
	for (size_t i = 0; r->set_entities && i < r->n_entities; i++) {
		rc = entity_ok(st, id, &r->entities[i], err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return dk_err_set(err, DK_EINVAL, "entity %zu of %.12s does not match the "
					  "stored text at [%zu, %zu)", i, id, r->entities[i].start,
					  r->entities[i].end);
	}
	return 0;
}

static int put_entities(struct store *st, const char *id, const struct store_results *r,
			struct dk_err *err)
{
	int rc = run(st, err, "store entities", "DELETE FROM entities WHERE doc_id = ?", "t", id);

	for (size_t i = 0; rc == 0 && i < r->n_entities; i++) {
		const struct store_entity *e = &r->entities[i];

		rc = run(st, err, "store entities", "INSERT INTO entities(doc_id, type, text, value, "
			 "start_byte, end_byte, method, confidence) VALUES (?,?,?,?,?,?,?,?)",
			 "ttttiitd", id, e->type, e->text, e->value, (int64_t)e->start,
			 (int64_t)e->end, e->method, e->confidence);
	}
	return rc;
}

/* put_result_rows - the rows of every part that is set */
static int put_result_rows(struct store *st, const char *id, const struct store_results *r,
			   struct dk_err *err)
{
	int rc = 0;

	if (r->language)
		rc = run(st, err, "store a language", "INSERT OR REPLACE INTO languages(doc_id, "
			 "code, confidence, method) VALUES (?,?,?,?)", "ttdt", id, r->language,
			 r->language_confidence, r->language_method ? r->language_method : "langid");
	if (rc == 0 && r->label)
		rc = run(st, err, "store a classification", "INSERT OR REPLACE INTO "
			 "classifications(doc_id, label, confidence, method, needs_review) "
			 "VALUES (?,?,?,?,?)", "ttdti", id, r->label, r->label_confidence,
			 r->label_method, (int64_t)(r->needs_review != 0));
	if (rc == 0 && r->set_entities)
		rc = put_entities(st, id, r, err);
	if (rc == 0 && r->summary)
		rc = run(st, err, "store a summary", "INSERT OR REPLACE INTO summaries(doc_id, text, "
			 "language, method) VALUES (?,?,?,?)", "tttt", id, r->summary,
			 r->summary_language, r->summary_method);
	for (size_t i = 0; rc == 0 && i < r->n_llm_stages; i++)
		rc = run(st, err, "store a model stage", "INSERT OR REPLACE INTO llm_stages(doc_id, "
			 "stage, status, reason) VALUES (?,?,?,?)", "tttt", id,
			 r->llm_stages[i].stage, r->llm_stages[i].status, r->llm_stages[i].reason);
	return rc;
}

/* results_json - the document's results as now stored, one JSON object */
static int results_json(sqlite3 *db, const char *id, struct dk_buf *b, struct dk_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT CASE WHEN s.stages IS NULL THEN r.j ELSE "
			       "json_insert(r.j, '$.llm_stages', json(s.stages)) END FROM "
			       "(SELECT json_object('language', language_json, "
			       "'classification', classification_json, 'entities', entities_json, "
			       "'summary', summary_json) AS j FROM doc_records WHERE id = ?1) AS r "
			       "LEFT JOIN llm_stages_json s ON s.doc_id = ?1",
			       -1, &q, NULL) != SQLITE_OK)
		return dk_err_set(err, DK_EIO, "cannot read results: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_ROW ? 0 : dk_err_set(err, DK_EIO, "cannot read results: "
							     "%s", sqlite3_errmsg(db));
	if (rc == 0) {
		const unsigned char *j = sqlite3_column_text(q, 0);

		/* NULL here is SQLite out of memory */
		if (j == NULL || dk_buf_add(b, j, (size_t)sqlite3_column_bytes(q, 0)))
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	sqlite3_finalize(q);
	return rc;
}

/* store_results_sha256 - the hash of results_json() */
int store_results_sha256(sqlite3 *db, const char *id, char out[65], struct dk_err *err)
{
	struct dk_buf b = DK_BUF_INIT;
	int rc = results_json(db, id, &b, err);

	if (rc == 0)
		store_sha256_hex(b.buf, b.len, out);
	dk_buf_release(&b);
	return rc;
}

/* results_payload - the audit payload: the results as now stored, and their hash */
static int results_payload(struct store *st, const char *id, struct dk_buf *b,
			   struct dk_err *err)
{
	char h[65];
	int rc = results_json(st->db, id, b, err);

	if (rc == 0 && (b->len < 2 || b->buf[b->len - 1] != '}'))
		rc = dk_err_set(err, DK_EIO, "cannot read results of %.12s", id);
	if (rc == 0) {
		store_sha256_hex(b->buf, b->len, h);
		dk_buf_truncate(b, b->len - 1);
		if (dk_buf_addf(b, ",\"results_sha256\":\"%s\"}", h))
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	return rc;
}

/* store_put_results - later-stage results and their audit record, atomically */
int store_put_results(struct store *st, const char *id, const struct store_results *r,
		      struct dk_err *err)
{
	struct dk_buf p = DK_BUF_INIT;
	int rc, own;

	if (!store_valid_id(id))
		return dk_err_set(err, DK_EINVAL, "document id '%s' is not 64 lower-case hex "
				  "digits", id ? id : "(null)");
	if ((rc = tx_open(st, &own, err)) != 0)
		return rc;
	rc = check_results(st, id, r, err);
	if (rc == 0)
		rc = put_result_rows(st, id, r, err);
	if (rc == 0)
		rc = results_payload(st, id, &p, err);
	if (rc == 0)
		rc = audit_append(st->db, "results", id, p.buf, p.len, NULL, NULL, err);
	dk_buf_release(&p);
	return tx_close(st, own, rc, err);
}

static int decision_payload(struct dk_buf *b, const char *id, const struct store_decision *d)
{
	int rc = dk_buf_addf(b, "{\"doc_id\":\"%s\"", id);

	if (rc == 0)
		rc = json_opt(b, "stage", d->stage);
	if (rc == 0)
		rc = json_opt(b, "model_sha256", d->model_sha256);
	if (rc == 0)
		rc = json_opt(b, "prompt_sha256", d->prompt_sha256);
	if (rc == 0)
		rc = json_opt(b, "input_sha256", d->input_sha256);
	if (rc == 0)
		rc = json_opt(b, "output", d->output);
	if (rc == 0)
		rc = dk_buf_adds(b, ",\"params\":");
	if (rc == 0)
		rc = dk_buf_adds(b, d->params);
	if (rc == 0)
		rc = dk_buf_addch(b, '}');
	return rc;
}

/* store_put_decision - one replayable LLM decision */
int store_put_decision(struct store *st, const char *id, const struct store_decision *dec,
		       char *hash, struct dk_err *err)
{
	struct dk_buf p = DK_BUF_INIT, params = DK_BUF_INIT;
	char h[65];
	int64_t seq = 0;
	int rc, own;

	if (!store_valid_id(id) || dec->stage == NULL || !store_valid_id(dec->model_sha256) ||
	    !store_valid_id(dec->prompt_sha256) || !store_valid_id(dec->input_sha256) ||
	    dec->output == NULL || dec->params == NULL ||
	    !g_utf8_validate(dec->output, -1, NULL))
		return dk_err_set(err, DK_EINVAL, "decision for '%.64s' is incomplete or malformed",
				  id ? id : "(null)");
	if ((rc = audit_canonical(dec->params, strlen(dec->params), &params, err)) != 0)
		return rc;
	if ((rc = tx_open(st, &own, err)) != 0) {
		dk_buf_release(&params);
		return rc;
	}
	rc = store_has_document(st, id, err);
	if (rc == 0)
		rc = dk_err_set(err, DK_ENOTFOUND, "document %.64s is not stored", id);
	else if (rc > 0)
		rc = 0;
	if (rc == 0 && decision_payload(&p, id, dec))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = audit_append(st->db, "decision", id, p.buf, p.len, &seq, h, err);
	if (rc == 0)
		rc = run(st, err, "store a decision", "INSERT INTO llm_decisions(doc_id, stage, "
			 "audit_seq, model_sha256, prompt_sha256, params, input_sha256, output) "
			 "VALUES (?,?,?,?,?,?,?,?)", "ttittttt", id, dec->stage, seq,
			 dec->model_sha256, dec->prompt_sha256, params.buf, dec->input_sha256,
			 dec->output);
	dk_buf_release(&p);
	dk_buf_release(&params);
	rc = tx_close(st, own, rc, err);
	if (rc == 0 && hash)
		memcpy(hash, h, 65);
	return rc;
}

/* ---------------------------------------------------------------- reviews */

static int review_payload(struct dk_buf *b, int64_t review_id, const char *id,
			  const char *field, const char *value, const char *reviewer,
			  const char *reason, const char *at)
{
	int rc = dk_buf_addf(b, "{\"review_id\":%lld,\"doc_id\":\"%s\"", (long long)review_id, id);

	if (rc == 0)
		rc = json_opt(b, "field", field);
	if (rc == 0)
		rc = json_opt(b, "value", value);
	if (rc == 0)
		rc = json_opt(b, "reviewer", reviewer);
	if (rc == 0)
		rc = json_opt(b, "reason", reason);
	if (rc == 0)
		rc = json_opt(b, "at", at);
	if (rc == 0)
		rc = dk_buf_addch(b, '}');
	return rc;
}

/* store_put_review - one caseworker decision and its audit record, atomically */
int store_put_review(struct store *st, const char *id, const char *field, const char *value,
		     const char *reviewer, const char *reason, int64_t *review_id,
		     struct dk_err *err)
{
	static const char *const fields[] = { "classification", "language", "needs_review", "note" };
	struct dk_buf p = DK_BUF_INIT;
	char now[32];
	int64_t rid;
	int rc, own, known = 0;

	for (size_t i = 0; field && i < sizeof fields / sizeof fields[0]; i++)
		known |= strcmp(field, fields[i]) == 0;
	if (!store_valid_id(id) || !known || reviewer == NULL || !*reviewer ||
	    !g_utf8_validate(reviewer, -1, NULL) || (value && !g_utf8_validate(value, -1, NULL)) ||
	    (reason && !g_utf8_validate(reason, -1, NULL)))
		return dk_err_set(err, DK_EINVAL, "review of '%.64s' is incomplete or malformed",
				  id ? id : "(null)");
	if ((rc = tx_open(st, &own, err)) != 0)
		return rc;
	rc = store_has_document(st, id, err);
	if (rc == 0)
		rc = dk_err_set(err, DK_ENOTFOUND, "document %.64s is not stored", id);
	else if (rc > 0)
		rc = 0;
	store_now(now);
	if (rc == 0)
		rc = run(st, err, "store a review", "INSERT INTO reviews(doc_id, field, value, "
			 "reviewer, reason, at) VALUES (?,?,?,?,?,?)", "tttttt", id, field, value,
			 reviewer, reason, now);
	rid = sqlite3_last_insert_rowid(st->db);
	if (rc == 0 && review_payload(&p, rid, id, field, value, reviewer, reason, now))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = audit_append(st->db, "review", id, p.buf, p.len, NULL, NULL, err);
	dk_buf_release(&p);
	rc = tx_close(st, own, rc, err);
	if (rc == 0 && review_id)
		*review_id = rid;
	return rc;
}
