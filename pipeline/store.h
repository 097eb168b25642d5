/*
 * NAME
 *	store - docket's SQLite results database
 * SUMMARY
 *	store_open() opens (or creates) the database in WAL mode with foreign
 *	keys on, a busy timeout and synchronous=FULL, and applies the numbered
 *	migrations in schemas/ that it has not applied yet (PRAGMA
 *	user_version). store_put_document() writes one document - its row,
 *	text, pages, stage timings, receipt and audit record - in ONE
 *	transaction, and decides by itself whether the bytes are new, a
 *	duplicate of a document already stored, or a replay of a claim that
 *	was already committed (crash between commit and rename to done/).
 *
 *	The pipeline's writer process is the only writer; readers (export,
 *	show, list, audit verify) may run at the same time thanks to WAL.
 *
 *	Typical writer loop (spool):
 *	    store_open(&st, cfg.db_path, STORE_CREATE, &err);
 *	    store_run_begin(&st, "batch", &run_id, &err);
 *	    for each document the workers return:
 *	        struct store_doc d;
 *	        store_doc_init(&d);
 *	        d.id = sha256hex; d.claim = work_name; d.source_name = name; ...
 *	        d.run_id = run_id;
 *	        store_put_document(&st, &d, &outcome, &err);  (0 = committed)
 *	        only now rename work/<claim> to done/ or failed/
 *	    store_run_end(&st, run_id, &summary, &err);
 *	    store_close(&st);
 *	A duplicate detected before extraction (store_has_document() says
 *	yes) needs no extraction: store_put_receipt() records it.
 *	Later stages add their results with store_put_results() and each LLM
 *	call with store_put_decision(). The read side (views, export) is in
 *	schemas/002_views.sql and pipeline/query.h.
 * OWNERSHIP
 *	struct store is caller storage; store_close() releases what it holds.
 *	Every pointer inside struct store_doc is BORROWED for the duration of
 *	the call only; the store copies what it keeps. struct store_run_summary
 *	is caller storage filled by the store; store_run_summary_release()
 *	frees its contents.
 * LIFETIME
 *	A struct store is valid from a successful store_open() to
 *	store_close(). Nothing returned points into the store.
 * THREADS
 *	One struct store per thread (it wraps one sqlite3 connection). Several
 *	processes may open the same file; writes are serialised by SQLite's
 *	lock and wait up to STORE_BUSY_TIMEOUT_MS.
 * ERRORS
 *	0 or a negative DK_E* code with err filled:
 *	DK_EIO (SQLite I/O error, disk full, cannot open), DK_EINVAL (bad
 *	argument, e.g. an id that is not 64 lower-case hex digits),
 *	DK_ENOTFOUND (no such document / database absent without
 *	STORE_CREATE), DK_EAGAIN (database busy past the timeout),
 *	DK_ECORRUPT (database newer than this program or malformed),
 *	DK_ENOMEM. After an error inside store_put_document() nothing of that
 *	document is in the database (the transaction was rolled back), with
 *	one exception SQLite cannot rule out: if the commit's fsync itself
 *	failed, the commit may have reached the disk. The caller keeps the file
 *	in work/ and retries the same claim, which then reports STORE_REPLAY:
 *	either way the document is stored once. If a rollback itself failed,
 *	every later put returns DK_EIO until the store is reopened.
 */
#ifndef DK_STORE_H
#define DK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

struct store {
	sqlite3 *db;
	char *path;			/* owned copy of the file name */
	int group;			/* store_begin() is in effect */
	sqlite3_stmt *rollback;		/* prepared at open: undo needs no allocation */
};

enum {
	STORE_CREATE = 1 << 0,		/* create the file if absent */
	STORE_READONLY = 1 << 1,	/* open read-only; fails if migrations are due */
};

#define STORE_BUSY_TIMEOUT_MS 10000

/* store_open - open path; apply pending migrations */
int store_open(struct store *st, const char *path, int flags, struct dk_err *err);

/* store_close - close the connection (NULL db is fine); st can be reopened */
void store_close(struct store *st);

/* store_schema_version - the user_version the migrations reach */
int store_schema_version(void);

enum store_status { STORE_DONE = 0, STORE_FAILED = 1 };

/* What store_put_document() and store_put_receipt() did. */
enum store_outcome {
	STORE_NEW = 0,		/* document stored (done or failed) */
	STORE_DUPLICATE = 1,	/* same bytes already stored: receipt only */
	STORE_REPLAY = 2,	/* this claim was already committed: nothing written */
};

struct store_timing {
	const char *stage;	/* "extract", "normalize", ... */
	double ms;		/* wall-clock milliseconds */
};

/*
 * store_doc - everything a stage-1 result record needs. All pointers are
 * borrowed for the call. Fields marked "may be NULL" are stored as NULL.
 */
struct store_doc {
	const char *id;			/* 64 lower-case hex: SHA-256 of the bytes */
	const char *claim;		/* unique per claimed file (e.g. its work/
					   name); a second put with the same claim
					   is STORE_REPLAY. May be NULL: then every
					   put is a new receipt */
	const char *source_name;	/* name as dropped; any bytes (invalid
					   UTF-8 is kept in source_name_bytes and
					   shown with U+FFFD) */
	const char *received_at;	/* RFC 3339, any offset (stored as UTC
					   "YYYY-MM-DDTHH:MM:SS.sssZ"); NULL = now */
	int64_t run_id;			/* from store_run_begin(), 0 = none */
	enum store_status status;
	const char *error_code;		/* STORE_FAILED: slug (dk_err.slug), required */
	const char *error_message;	/* STORE_FAILED: one line; may be NULL */
	const char *error_stage;	/* STORE_FAILED: "extract", ...; may be NULL */
	const char *parent;		/* id of the containing e-mail; may be NULL */
	int64_t size_bytes;		/* file size, -1 = unknown */
	const char *mime;		/* may be NULL */
	const char *format;		/* may be NULL */
	const char *text;		/* normalized UTF-8 text; may be NULL (failed) */
	size_t text_len;		/* bytes of text */
	int pages;			/* 0 for unpaged formats */
	const size_t *page_start;	/* (pages) byte offset of each page in text,
					   ascending; page i ends where page i+1
					   starts, the last at text_len */
	const char *title;		/* may be NULL */
	const char *author;		/* may be NULL */
	const char *source_charset;	/* may be NULL */
	const struct store_timing *timings;	/* (n_timings) may be NULL */
	size_t n_timings;
	const struct store_results *results;	/* text analysis of a new done
						   document, stored in the same
						   transaction; may be NULL */
};

/* store_doc_init - all fields empty/NULL, size_bytes = -1, status done */
void store_doc_init(struct store_doc *d);

/*
 * store_put_document - store one document with its receipt and audit
 * record in one durable transaction (or inside the caller's transaction,
 * see store_begin()). Sets *outcome (may be NULL). A document whose id is
 * already stored becomes a duplicate receipt (its text etc. are ignored).
 * d->results, when set on a done document with text, is written in the
 * same transaction (checked as store_put_results() checks it) and the
 * document's audit record carries "results_sha256" (store_results_sha256)
 * and, if the analysis failed, "analysis_error".
 */
int store_put_document(struct store *st, const struct store_doc *d,
		       enum store_outcome *outcome, struct dk_err *err);

/*
 * store_put_receipt - record a file whose bytes are already stored
 * (d->id must exist; only id, claim, source_name, received_at and run_id
 * are read). Outcome is STORE_DUPLICATE or STORE_REPLAY. DK_ENOTFOUND if
 * the document is not stored.
 */
int store_put_receipt(struct store *st, const struct store_doc *d,
		      enum store_outcome *outcome, struct dk_err *err);

/* store_has_document - 1 if id is stored, 0 if not, <0 on error */
int store_has_document(struct store *st, const char *id, struct dk_err *err);

/* store_has_claim - 1 if a receipt with this claim is committed, 0 if not */
int store_has_claim(struct store *st, const char *claim, struct dk_err *err);

/*
 * store_begin/store_commit/store_rollback - group several puts (an e-mail
 * and its attachments) into one transaction. BEGIN IMMEDIATE: the write
 * lock is taken at once. Without them, each put is its own transaction.
 * If a put fails inside a group, that put's changes are already undone;
 * the caller decides between store_commit() and store_rollback().
 */
int store_begin(struct store *st, struct dk_err *err);
int store_commit(struct store *st, struct dk_err *err);
void store_rollback(struct store *st);

struct store_results;

/*
 * Later-stage results. Both calls need the document stored already, run
 * in one transaction (or inside the caller's store_begin() group) and
 * append an audit record: kind "results" or kind "decision".
 */
struct store_entity {
	const char *type;	/* person, organization, address, date, ... */
	const char *text;	/* exactly the stored text's bytes [start, end) */
	const char *value;	/* normalized value or NULL */
	size_t start, end;	/* UTF-8 byte offsets into the stored text */
	const char *method;	/* "rules" or "llm" */
	double confidence;	/* 0..1 */
};

/* what became of one model stage (schemas/004_llm_stages.sql) */
struct store_llm_stage {
	const char *stage;	/* "classify", "entities" or "summarize" */
	const char *status;	/* "done", "skipped" or "failed" */
	const char *reason;	/* skipped/failed: slug or one-line message; may be NULL */
};

struct store_results {
	const char *language;		/* ISO 639-1, NULL = keep what is stored */
	double language_confidence;
	const char *language_method;	/* e.g. "cld2"; NULL = "langid" */
	const char *label;		/* classification, NULL = keep what is stored */
	double label_confidence;
	const char *label_method;	/* "llm", "classifier" or "rules" */
	int needs_review;
	int set_entities;		/* 1: replace the document's entities by these */
	const struct store_entity *entities;	/* (n_entities) */
	size_t n_entities;
	const char *summary;		/* NULL = keep what is stored */
	const char *summary_language;	/* may be NULL */
	const char *summary_method;	/* "llm" or "extractive" */
	const char *error_stage;	/* analysis failed: stage, code and message */
	const char *error_code;		/* go into the audit record; NULL = none */
	const char *error_message;
	const struct store_llm_stage *llm_stages;	/* (n_llm_stages) rows replaced */
	size_t n_llm_stages;
};

/* store_results_init - nothing set (every part "keep what is stored") */
void store_results_init(struct store_results *r);

/*
 * store_put_results - write the parts of r that are set for document id.
 * Entity offsets are checked against the stored text: text must equal
 * that slice exactly (DK_EINVAL otherwise, nothing written).
 */
int store_put_results(struct store *st, const char *id, const struct store_results *r,
		      struct dk_err *err);

/*
 * store_results_sha256 - SHA-256 (hex) of the document's results as stored
 * (language, classification, entities, summary: the JSON text of
 * doc_records, before reviews; "llm_stages" is added only when the
 * document has such rows, so hashes recorded before migration 004 still
 * verify). audit_verify() compares it with the
 * newest audit record that carries "results_sha256".
 */
int store_results_sha256(sqlite3 *db, const char *id, char out[65], struct dk_err *err);

/*
 * store_put_review - a caseworker's decision on document id: field
 * "classification" (value a label), "language", "needs_review" or
 * "note"; reviewer required, reason may be NULL. One reviews row and one
 * audit record of kind "review" (payload: review_id, doc_id, field,
 * value, reviewer, reason, at), atomically. *review_id may be NULL.
 */
int store_put_review(struct store *st, const char *id, const char *field, const char *value,
		     const char *reviewer, const char *reason, int64_t *review_id,
		     struct dk_err *err);

/* An LLM decision: what replay needs to re-run it and compare output bytes. */
struct store_decision {
	const char *stage;		/* "classify", "entities", "summarize" */
	const char *model_sha256;	/* 64 hex */
	const char *prompt_sha256;	/* 64 hex: template and filled prompt */
	const char *params;		/* JSON: seed, sampler, grammar, ... */
	const char *input_sha256;	/* 64 hex: the text the prompt was built from */
	const char *output;		/* the model's output, exactly */
};

/*
 * store_put_decision - record one decision for document id; hash (65
 * bytes, may be NULL) receives the audit record's hash, the id export
 * lists in "decisions". params must be valid JSON (stored canonical).
 */
int store_put_decision(struct store *st, const char *id, const struct store_decision *dec,
		       char *hash, struct dk_err *err);

/* store_run_begin - insert a runs row (command: "batch", "watch") */
int store_run_begin(struct store *st, const char *command, int64_t *run_id,
		    struct dk_err *err);

struct store_count {
	char *status;		/* "done", "failed", "duplicate" */
	char *format;		/* "pdf", ... or "unknown" */
	int64_t n;
};

struct store_stage_time {
	char *stage;
	int64_t n;		/* documents timed */
	double total_ms;
	double max_ms;
};

struct store_run_summary {
	int64_t n_new, n_done, n_failed, n_duplicate;
	double seconds;			/* started_at to ended_at */
	struct store_count *counts;	/* (n_counts) by status and format */
	size_t n_counts;
	struct store_stage_time *stages;	/* (n_stages) by stage name */
	size_t n_stages;
};

/*
 * store_run_end - close the run: counts come from the receipts and timings
 * stored with its documents. summary may be NULL; otherwise it is filled
 * and must be released with store_run_summary_release().
 */
int store_run_end(struct store *st, int64_t run_id,
		  struct store_run_summary *summary, struct dk_err *err);

/* store_run_summary_get - the same summary for any run, ended or not */
int store_run_summary_get(struct store *st, int64_t run_id,
			  struct store_run_summary *summary, struct dk_err *err);
void store_run_summary_release(struct store_run_summary *s);

/* store_db - the underlying connection, for audit_* and later stages */
static inline sqlite3 *store_db(struct store *st) { return st->db; }

/* store_now - the current time as RFC 3339 UTC with milliseconds */
void store_now(char buf[32]);

/* store_sha256_hex - SHA-256 of data as 64 lower-case hex digits + NUL */
void store_sha256_hex(const void *data, size_t len, char out[65]);

/* store_valid_id - 1 if s is 64 lower-case hex digits */
int store_valid_id(const char *s);

#endif
