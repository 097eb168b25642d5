/*
 * NAME
 *	query - filtered reads of result records
 * DESIGN NOTES
 *	1. Filters are bound parameters, never spliced into SQL text; only
 *	   the caller's constant column list is.
 *	2. Times are compared with julianday(), so "2025-03-12" and
 *	   "2025-03-12T09:30:00.000Z" mean what a reader expects; a bare
 *	   --until date includes that whole day.
 *	3. An id prefix must be unique among documents; with fewer than 4
 *	   characters it is refused, so "docket show a" cannot pick a random
 *	   document in a small database.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/query.h"

#define MIN_PREFIX 4

static int sql_fail(struct store *st, struct dk_err *err)
{
	return dk_err_set(err, DK_EIO, "cannot read '%s': %s", st->path, sqlite3_errmsg(st->db));
}

/* valid_time - 1 if SQLite understands s as a date or time */
static int valid_time(struct store *st, const char *s)
{
	sqlite3_stmt *q;
	int ok = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT julianday(?) IS NOT NULL", -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		ok = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return ok;
}

static int check_filter(struct store *st, const struct query_filter *f, struct dk_err *err)
{
	if (f->status && strcmp(f->status, "done") && strcmp(f->status, "failed") &&
	    strcmp(f->status, "duplicate"))
		return dk_err_set(err, DK_EINVAL, "unknown status '%s' (done, failed, duplicate)",
				  f->status);
	if (f->since && !valid_time(st, f->since))
		return dk_err_set(err, DK_EINVAL, "invalid date '%s'", f->since);
	if (f->until && !valid_time(st, f->until))
		return dk_err_set(err, DK_EINVAL, "invalid date '%s'", f->until);
	return 0;
}

/* query_records - prepare the filtered, ordered statement */
int query_records(struct store *st, const char *columns, const struct query_filter *f,
		  sqlite3_stmt **out, struct dk_err *err)
{
	static const struct query_filter none;
	char sql[2048];
	int rc, n;

	f = f ? f : &none;
	if ((rc = check_filter(st, f, err)) != 0)
		return rc;
	/* invariant 1: only parameters vary; absent filters compare NULL */
	n = snprintf(sql, sizeof sql, "SELECT %s FROM result_records WHERE "
		     "(?1 IS NULL OR status = ?1) "
		     "AND (?2 IS NULL OR julianday(received_at) >= julianday(?2)) "
		     "AND (?3 IS NULL OR julianday(received_at) < CASE WHEN length(?3) = 10 "
		     "THEN julianday(?3, '+1 day') ELSE julianday(?3) + 1e-9 END) "
		     "AND (?4 IS NULL OR language = ?4) "
		     "AND (?5 IS NULL OR mime = ?5 OR format = ?5) "
		     "AND (?6 IS NULL OR id = ?6) "
		     "ORDER BY julianday(ord_time), ord_time, ord_seq, id", columns);
	if (n < 0 || (size_t)n >= sizeof sql)
		return dk_err_set(err, DK_EINVAL, "column list too long");
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return sql_fail(st, err);
	sqlite3_bind_text(*out, 1, f->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(*out, 2, f->since, -1, SQLITE_STATIC);
	sqlite3_bind_text(*out, 3, f->until, -1, SQLITE_STATIC);
	sqlite3_bind_text(*out, 4, f->language, -1, SQLITE_STATIC);
	sqlite3_bind_text(*out, 5, f->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(*out, 6, f->id, -1, SQLITE_STATIC);
	return 0;
}

/* query_resolve_id - expand a unique prefix (invariant 3) */
int query_resolve_id(struct store *st, const char *prefix, char id[65], struct dk_err *err)
{
	sqlite3_stmt *q;
	size_t len = strlen(prefix);
	int n = 0, rc;

	if (len < MIN_PREFIX || len > 64 || strspn(prefix, "0123456789abcdef") != len)
		return dk_err_set(err, DK_EINVAL, "'%s' is not a document id (%d to 64 lower-case "
				  "hex digits)", prefix, MIN_PREFIX);
	if (sqlite3_prepare_v2(st->db, "SELECT id FROM documents WHERE id >= ?1 AND "
			       "id < ?1 || 'g' ORDER BY id LIMIT 2", -1, &q, NULL) != SQLITE_OK)
		return sql_fail(st, err);
	sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(id, 65, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sql_fail(st, err);
	if (n == 0)
		return dk_err_set(err, DK_ENOTFOUND, "no document '%s' in '%s'", prefix, st->path);
	if (n > 1)
		return dk_err_set(err, DK_EAGAIN, "id prefix '%s' is ambiguous; give more digits",
				  prefix);
	return 0;
}
