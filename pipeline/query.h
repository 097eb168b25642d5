/*
 * NAME
 *	query - read-side queries over the store for export, list and show
 * SUMMARY
 *	query_records() prepares a statement over the result_records view
 *	(schemas/002_views.sql: one row per result record, duplicates
 *	included) restricted by a filter and ordered by arrival.
 *	query_resolve_id() expands a unique id prefix, as git does for
 *	abbreviated object names.
 * OWNERSHIP
 *	The statement returned belongs to the caller: sqlite3_finalize() it.
 *	It borrows the filter's strings until finalized.
 * LIFETIME
 *	The statement is valid while the store is open.
 * THREADS
 *	As the store: one thread per struct store.
 * ERRORS
 *	0 or DK_EINVAL (bad status, date or prefix), DK_ENOTFOUND (no
 *	document with that id prefix), DK_EAGAIN (prefix is ambiguous),
 *	DK_EIO (SQLite failed).
 */
#ifndef DK_QUERY_H
#define DK_QUERY_H

#include "pipeline/store.h"

struct query_filter {
	const char *status;	/* "done", "failed", "duplicate" or NULL */
	const char *since;	/* YYYY-MM-DD or RFC 3339, inclusive, or NULL */
	const char *until;	/* the same; a bare date includes that whole day */
	const char *language;	/* ISO 639-1 code or NULL */
	const char *type;	/* MIME type ("application/pdf") or format ("pdf") */
	const char *id;		/* full document id or NULL */
};

/*
 * query_records - SELECT columns FROM result_records WHERE filter, in
 * arrival order. columns is trusted SQL text (a constant of the caller).
 */
int query_records(struct store *st, const char *columns, const struct query_filter *f,
		  sqlite3_stmt **out, struct dk_err *err);

/* query_resolve_id - the full id of the one document whose id starts with prefix */
int query_resolve_id(struct store *st, const char *prefix, char id[65], struct dk_err *err);

#endif
