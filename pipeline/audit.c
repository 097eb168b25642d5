/*
 * NAME
 *	audit - hash-chained, append-only audit log
 * DESIGN NOTES
 *	1. A record is only ever appended inside a transaction the caller
 *	   opened; the chain head (the newest row) is read inside that same
 *	   transaction, so with SQLite's single writer two appends can never
 *	   share a prev_hash.
 *	2. The hash covers every stored column (seq, at, kind, doc_id and the
 *	   payload bytes) through the canonical record, so changing any of
 *	   them, or removing or inserting a row, breaks the chain at that row
 *	   or at the next one.
 *	3. Payloads are stored canonical. audit_verify() re-canonicalises
 *	   each payload and requires the same bytes, so a payload rewritten
 *	   to an equivalent but different text is also reported.
 *	4. Table triggers refuse UPDATE and DELETE; the chain is what makes
 *	   tampering visible when someone bypasses them.
 *	5. The canonicaliser is a recursive-descent parser bounded by
 *	   AUDIT_MAX_DEPTH, so hostile nesting cannot exhaust the stack.
 *	6. A "document" record's payload holds what was stored, including the
 *	   text's SHA-256; audit_verify() compares the documents, pages and
 *	   texts rows with it, so the results themselves are tamper-evident,
 *	   not only the log.
 *	7. The text analysis (languages, classifications, entities, summaries
 *	   rows) is covered by "results_sha256" in the newest "document" or
 *	   "results" record of the document (store_results_sha256()). Each
 *	   reviews row must equal its "review" record, and each "review"
 *	   record must still have its row.
 */
#include <glib.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/audit.h"
#include "pipeline/store.h"

#define AUDIT_MAX_DEPTH 64

/* ---------------------------------------------------------------- JSON */

struct jp {
	const unsigned char *p, *end;
	struct dk_err *err;
};

struct member {
	struct dk_buf key;	/* decoded key bytes */
	struct dk_buf val;	/* canonical value text */
};

static int jp_fail(struct jp *j, const char *what)
{
	return dk_err_setx(j->err, DK_EFORMAT, "bad_json", "invalid json: %s", what);
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int parse_value(struct jp *j, int depth, struct dk_buf *out);

/* hex4 - four hex digits of a \u escape */
static int hex4(struct jp *j, unsigned *cp)
{
	unsigned v = 0;

	if (j->end - j->p < 4)
		return jp_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = *j->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return jp_fail(j, "bad \\u escape");
	}
	*cp = v;
	return 0;
}

static int add_utf8(struct dk_buf *b, unsigned cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return dk_buf_add(b, u, n);
}

/* escape - a backslash escape; j->p is just past the backslash */
static int escape(struct jp *j, struct dk_buf *s)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	unsigned cp, lo;

	if (j->p >= j->end)
		return jp_fail(j, "unterminated string");
	k = *j->p ? strchr(from, *j->p) : NULL;
	if (k) {
		j->p++;
		return dk_buf_addch(s, to[k - from]) ? DK_ENOMEM : 0;
	}
	if (*j->p++ != 'u')
		return jp_fail(j, "bad escape");
	if (hex4(j, &cp))
		return DK_EFORMAT;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jp_fail(j, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return jp_fail(j, "lone high surrogate");
		j->p += 2;
		if (hex4(j, &lo))
			return DK_EFORMAT;
		if (lo < 0xdc00 || lo > 0xdfff)
			return jp_fail(j, "lone high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return add_utf8(s, cp) ? DK_ENOMEM : 0;
}

/* utf8_len - length of the valid UTF-8 sequence at p, 0 if invalid */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* parse_string - decode a JSON string into s (raw bytes) */
static int parse_string(struct jp *j, struct dk_buf *s)
{
	j->p++;	/* opening quote */
	while (j->p < j->end && *j->p != '"') {
		size_t n;
		int rc;

		if (*j->p == '\\') {
			j->p++;
			if ((rc = escape(j, s)) != 0)
				return rc;
			continue;
		}
		if (*j->p < 0x20)
			return jp_fail(j, "control character in string");
		if ((n = utf8_len(j->p, j->end)) == 0)
			return jp_fail(j, "invalid utf-8");
		if (dk_buf_add(s, j->p, n))
			return DK_ENOMEM;
		j->p += n;
	}
	if (j->p >= j->end)
		return jp_fail(j, "unterminated string");
	j->p++;
	return 0;
}

static int string_value(struct jp *j, struct dk_buf *out)
{
	struct dk_buf s = DK_BUF_INIT;
	int rc = parse_string(j, &s);

	if (rc == 0 && dk_buf_add_json_str(out, s.buf, s.len))
		rc = DK_ENOMEM;
	dk_buf_release(&s);
	return rc;
}

static int digits(struct jp *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

/* number - validate RFC 8259 number grammar and copy it verbatim */
static int number(struct jp *j, struct dk_buf *out)
{
	const unsigned char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!digits(j))
		return jp_fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return jp_fail(j, "bad number");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return jp_fail(j, "bad number");
	}
	return dk_buf_add(out, s, (size_t)(j->p - s)) ? DK_ENOMEM : 0;
}

static int literal(struct jp *j, struct dk_buf *out)
{
	static const char *const lits[] = { "true", "false", "null" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);

		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i], n) == 0) {
			j->p += n;
			return dk_buf_add(out, lits[i], n) ? DK_ENOMEM : 0;
		}
	}
	return jp_fail(j, "unexpected character");
}

static int array(struct jp *j, int depth, struct dk_buf *out)
{
	int rc, first = 1;

	j->p++;
	if (dk_buf_addch(out, '['))
		return DK_ENOMEM;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return dk_buf_addch(out, ']') ? DK_ENOMEM : 0;
	}
	for (;;) {
		if (!first && dk_buf_addch(out, ','))
			return DK_ENOMEM;
		first = 0;
		if ((rc = parse_value(j, depth + 1, out)) != 0)
			return rc;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return dk_buf_addch(out, ']') ? DK_ENOMEM : 0;
		}
		return jp_fail(j, "expected ',' or ']'");
	}
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.buf, y->key.buf, n);

	if (c)
		return c;
	return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

static void members_free(struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dk_buf_release(&m[i].key);
		dk_buf_release(&m[i].val);
	}
	free(m);
}

/* read_members - the object's members, unsorted, into *mp */
static int read_members(struct jp *j, int depth, struct member **mp, size_t *np)
{
	struct member *m = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;

	for (;;) {
		skip_ws(j);
		if (j->p >= j->end || *j->p != '"') {
			rc = jp_fail(j, "expected a key");
			break;
		}
		if (n == alloc) {
			struct member *t = realloc(m, (alloc = alloc ? 2 * alloc : 8) * sizeof *m);

			if (t == NULL) {
				rc = DK_ENOMEM;
				break;
			}
			m = t;
		}
		dk_buf_init(&m[n].key, 0);
		dk_buf_init(&m[n].val, 0);
		n++;
		if ((rc = parse_string(j, &m[n - 1].key)) != 0)
			break;
		skip_ws(j);
		if (j->p >= j->end || *j->p++ != ':') {
			rc = jp_fail(j, "expected ':'");
			break;
		}
		if ((rc = parse_value(j, depth + 1, &m[n - 1].val)) != 0)
			break;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		rc = jp_fail(j, "expected ',' or '}'");
		break;
	}
	*mp = m;
	*np = n;
	return rc;
}

static int object(struct jp *j, int depth, struct dk_buf *out)
{
	struct member *m = NULL;
	size_t n = 0;
	int rc;

	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return dk_buf_add(out, "{}", 2) ? DK_ENOMEM : 0;
	}
	rc = read_members(j, depth, &m, &n);
	if (rc == 0)
		qsort(m, n, sizeof *m, member_cmp);
	for (size_t i = 1; rc == 0 && i < n; i++)
		if (member_cmp(&m[i - 1], &m[i]) == 0)
			rc = jp_fail(j, "duplicate key");
	if (rc == 0 && dk_buf_addch(out, '{'))
		rc = DK_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((i && dk_buf_addch(out, ',')) ||
		    dk_buf_add_json_str(out, m[i].key.buf, m[i].key.len) ||
		    dk_buf_addch(out, ':') || dk_buf_add(out, m[i].val.buf, m[i].val.len))
			rc = DK_ENOMEM;
	}
	if (rc == 0 && dk_buf_addch(out, '}'))
		rc = DK_ENOMEM;
	members_free(m, n);
	return rc;
}

static int parse_value(struct jp *j, int depth, struct dk_buf *out)
{
	if (depth > AUDIT_MAX_DEPTH)
		return jp_fail(j, "nested too deeply");
	skip_ws(j);
	if (j->p >= j->end)
		return jp_fail(j, "unexpected end");
	switch (*j->p) {
	case '{': return object(j, depth, out);
	case '[': return array(j, depth, out);
	case '"': return string_value(j, out);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return number(j, out);
	}
	return literal(j, out);
}

/* audit_canonical - canonical form of one JSON text */
int audit_canonical(const char *json, size_t len, struct dk_buf *out,
		    struct dk_err *err)
{
	struct jp j = { (const unsigned char *)json, (const unsigned char *)json + len, err };
	size_t mark = out->len;
	int rc = parse_value(&j, 0, out);

	if (rc == 0) {
		skip_ws(&j);
		if (j.p != j.end)
			rc = jp_fail(&j, "trailing characters");
	}
	if (rc == DK_ENOMEM)
		dk_err_set(err, rc, "out of memory canonicalising json");
	if (rc)
		dk_buf_truncate(out, mark);
	return rc;
}

/* ---------------------------------------------------------------- chain */

/* record_text - the canonical record the hash covers (see audit.h) */
static int record_text(struct dk_buf *r, int64_t seq, const char *at, const char *kind,
		       const char *doc_id, const char *payload, size_t payload_len)
{
	int rc = dk_buf_adds(r, "{\"at\":");

	if (rc == 0)
		rc = dk_buf_add_json_str(r, at, strlen(at));
	if (rc == 0)
		rc = dk_buf_adds(r, ",\"doc_id\":");
	if (rc == 0)
		rc = doc_id ? dk_buf_add_json_str(r, doc_id, strlen(doc_id))
			    : dk_buf_adds(r, "null");
	if (rc == 0)
		rc = dk_buf_adds(r, ",\"kind\":");
	if (rc == 0)
		rc = dk_buf_add_json_str(r, kind, strlen(kind));
	if (rc == 0)
		rc = dk_buf_adds(r, ",\"payload\":");
	if (rc == 0)
		rc = dk_buf_add(r, payload, payload_len);
	if (rc == 0)
		rc = dk_buf_addf(r, ",\"seq\":%lld}", (long long)seq);
	return rc;
}

static void chain_hash(const char *prev, const struct dk_buf *rec, char out[65])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(c, (const guchar *)prev, 64);
	g_checksum_update(c, (const guchar *)rec->buf, (gssize)rec->len);
	memcpy(out, g_checksum_get_string(c), 65);
	g_checksum_free(c);
}

static int sql_err(sqlite3 *db, struct dk_err *err, const char *what)
{
	int code = sqlite3_errcode(db) == SQLITE_BUSY ? DK_EAGAIN : DK_EIO;

	return dk_err_set(err, code, "cannot %s: %s", what, sqlite3_errmsg(db));
}

/* chain_head - seq and hash of the newest record, or 0 and the genesis */
static int chain_head(sqlite3 *db, int64_t *seq, char prev[65], struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the audit log");
	*seq = 0;
	memcpy(prev, AUDIT_GENESIS, 65);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1);

		*seq = sqlite3_column_int64(st, 0);
		if (h == NULL || strlen((const char *)h) != 64) {
			sqlite3_finalize(st);
			return dk_err_set(err, DK_ECORRUPT, "audit record %lld has a malformed hash",
					  (long long)*seq);
		}
		memcpy(prev, h, 65);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_err(db, err, "read the audit log");
	return 0;
}

static int insert_record(sqlite3 *db, int64_t seq, const char *at, const char *kind,
			 const char *doc_id, const struct dk_buf *payload,
			 const char *prev, const char *hash, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO audit_log(seq, at, kind, doc_id, payload, "
			       "prev_hash, hash) VALUES (?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "append to the audit log");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (doc_id)
		sqlite3_bind_text(st, 4, doc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, payload->buf, (int)payload->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, prev, 64, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hash, 64, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(db, err, "append to the audit log");
	return 0;
}

/* audit_append - append one record inside the caller's transaction */
int audit_append(sqlite3 *db, const char *kind, const char *doc_id,
		 const char *payload, size_t payload_len,
		 int64_t *seq, char *hash, struct dk_err *err)
{
	struct dk_buf canon = DK_BUF_INIT, rec = DK_BUF_INIT;
	char prev[65], h[65], at[32];
	int64_t last = 0;
	int rc;

	if (sqlite3_get_autocommit(db))
		return dk_err_set(err, DK_EINVAL, "audit record '%s' appended outside a transaction", kind);
	if (payload_len > INT32_MAX)
		return dk_err_set(err, DK_ELIMIT, "audit payload of %zu bytes is too large", payload_len);
	if ((rc = audit_canonical(payload, payload_len, &canon, err)) != 0)
		return rc;
	rc = chain_head(db, &last, prev, err);
	store_now(at);
	if (rc == 0 && record_text(&rec, last + 1, at, kind, doc_id, canon.buf, canon.len) != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory building an audit record");
	if (rc == 0) {
		chain_hash(prev, &rec, h);
		rc = insert_record(db, last + 1, at, kind, doc_id, &canon, prev, h, err);
	}
	if (rc == 0 && seq)
		*seq = last + 1;
	if (rc == 0 && hash)
		memcpy(hash, h, 65);
	dk_buf_release(&canon);
	dk_buf_release(&rec);
	return rc;
}

/* broken - record where and why the chain breaks */
static int broken(struct audit_break *brk, struct dk_err *err, int64_t seq,
		  const char *fmt, const char *arg)
{
	char reason[sizeof brk->reason];

	snprintf(reason, sizeof reason, fmt, arg);
	if (brk) {
		brk->seq = seq;
		memcpy(brk->reason, reason, sizeof reason);
	}
	if (seq)
		return dk_err_setx(err, DK_ECORRUPT, "audit_broken",
				   "audit chain broken at seq %lld: %s", (long long)seq, reason);
	return dk_err_setx(err, DK_ECORRUPT, "audit_broken", "audit chain broken: %s", reason);
}

#define COL(i) ((const char *)sqlite3_column_text(st, (i)))

/* check_row - one record against the running chain state */
static int check_row(sqlite3_stmt *st, int64_t want, const char *prev,
		     struct audit_break *brk, struct dk_err *err)
{
	struct dk_buf rec = DK_BUF_INIT, canon = DK_BUF_INIT;
	int64_t seq = sqlite3_column_int64(st, 0);
	const char *payload = COL(4), *hash = COL(6);
	int plen = sqlite3_column_bytes(st, 4);
	char h[65], num[32];
	int rc = 0;

	snprintf(num, sizeof num, "%lld", (long long)(want - 1));
	if (seq != want)
		return broken(brk, err, seq, seq > want ? "records before it are missing (expected seq %s+1)"
			      : "out of order after seq %s", num);
	if (COL(1) == NULL || COL(2) == NULL || payload == NULL || COL(5) == NULL || hash == NULL)
		return broken(brk, err, seq, "%s", "a required column is null");
	if (strcmp(COL(5), prev) != 0)
		return want == 1 ? broken(brk, err, seq, "%s", "prev_hash is not the genesis value")
				 : broken(brk, err, seq, "prev_hash does not match the hash of seq %s", num);
	if (audit_canonical(payload, (size_t)plen, &canon, NULL) != 0 ||
	    canon.len != (size_t)plen || memcmp(canon.buf, payload, canon.len) != 0)
		rc = broken(brk, err, seq, "%s", "payload is not canonical json");
	else if (record_text(&rec, seq, COL(1), COL(2), COL(3), payload, (size_t)plen) != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory verifying the audit log");
	else {
		chain_hash(prev, &rec, h);
		if (strcmp(h, hash) != 0)
			rc = broken(brk, err, seq, "%s", "hash does not match the record");
	}
	dk_buf_release(&rec);
	dk_buf_release(&canon);
	return rc;
}

/* walk_chain - every record in seq order */
static int walk_chain(sqlite3 *db, struct audit_break *brk, int64_t *n, struct dk_err *err)
{
	sqlite3_stmt *st;
	char prev[65];
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, "SELECT seq, at, kind, doc_id, payload, prev_hash, hash "
			       "FROM audit_log ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the audit log");
	memcpy(prev, AUDIT_GENESIS, 65);
	*n = 0;
	while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		rc = check_row(st, *n + 1, prev, brk, err);
		if (rc == 0) {
			snprintf(prev, sizeof prev, "%s", COL(6));
			++*n;
		}
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = sql_err(db, err, "read the audit log");
	sqlite3_finalize(st);
	return rc;
}

/* unaudited - a stored document must have its "document" record */
static int unaudited(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, "SELECT id FROM documents WHERE id NOT IN "
			       "(SELECT doc_id FROM audit_log WHERE kind = 'document' "
			       "AND doc_id IS NOT NULL) ORDER BY rowid LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the documents");
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = broken(brk, err, 0, "document %s has no audit record", COL(0));
	else if (s != SQLITE_DONE)
		rc = sql_err(db, err, "read the documents");
	sqlite3_finalize(st);
	return rc;
}

/*
 * altered - every document row must still say what its audit record
 * says (invariant 6). The comparison is SQL over the payload's fields.
 */
static int altered(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
			"SELECT d.id, a.seq FROM documents d "
			"JOIN audit_log a ON a.doc_id = d.id AND a.kind = 'document' "
			"LEFT JOIN texts t ON t.doc_id = d.id WHERE "
			"json_extract(a.payload, '$.status') IS NOT d.status "
			"OR json_extract(a.payload, '$.source_name') IS NOT d.source_name "
			"OR json_extract(a.payload, '$.received_at') IS NOT d.received_at "
			"OR json_extract(a.payload, '$.error.code') IS NOT d.error_code "
			"OR json_extract(a.payload, '$.error.message') IS NOT d.error_message "
			"OR json_extract(a.payload, '$.error.stage') IS NOT d.error_stage "
			"OR json_extract(a.payload, '$.parent') IS NOT d.parent_id "
			"OR json_extract(a.payload, '$.mime') IS NOT d.mime "
			"OR json_extract(a.payload, '$.format') IS NOT d.format "
			"OR json_extract(a.payload, '$.size_bytes') IS NOT coalesce(d.size_bytes, -1) "
			"OR json_extract(a.payload, '$.pages') IS NOT coalesce(d.pages, 0) "
			"OR json_extract(a.payload, '$.text_chars') IS NOT coalesce(d.text_chars, 0) "
			"OR json_extract(a.payload, '$.text_sha256') IS NOT t.sha256 "
			"OR json(json_extract(a.payload, '$.page_start')) IS NOT (SELECT "
			"json_group_array(start_byte) FROM (SELECT start_byte FROM pages p "
			"WHERE p.doc_id = d.id ORDER BY page_no)) "
			"ORDER BY a.seq LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the documents");
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = broken(brk, err, sqlite3_column_int64(st, 1), "document %.64s differs "
			    "from this record", COL(0));
	else if (s != SQLITE_DONE)
		rc = sql_err(db, err, "read the documents");
	sqlite3_finalize(st);
	return rc;
}

/* texts_intact - each stored text still hashes to the sha256 kept (and audited) */
static int texts_intact(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, "SELECT t.doc_id, t.text, t.sha256, (SELECT min(seq) FROM "
			       "audit_log a WHERE a.doc_id = t.doc_id AND a.kind = 'document') "
			       "FROM texts t ORDER BY 4", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the texts");
	while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const void *text = sqlite3_column_blob(st, 1);
		GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);

		g_checksum_update(c, text ? text : (const void *)"", sqlite3_column_bytes(st, 1));
		if (COL(2) == NULL || strcmp(g_checksum_get_string(c), COL(2)) != 0)
			rc = broken(brk, err, sqlite3_column_int64(st, 3), "text of document %.64s "
				    "was altered", COL(0));
		g_checksum_free(c);
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = sql_err(db, err, "read the texts");
	sqlite3_finalize(st);
	return rc;
}

/* results_altered - invariant 7: stored results hash as last audited */
static int results_altered(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db, "SELECT a.doc_id, a.seq, json_extract(a.payload, "
			       "'$.results_sha256') FROM audit_log a WHERE a.seq = (SELECT max(seq) "
			       "FROM audit_log x WHERE x.doc_id = a.doc_id AND x.kind IN "
			       "('document', 'results') AND json_extract(x.payload, "
			       "'$.results_sha256') IS NOT NULL) ORDER BY a.seq", -1, &st,
			       NULL) != SQLITE_OK)
		return sql_err(db, err, "read the audit log");
	while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char h[65];

		rc = store_results_sha256(db, COL(0), h, err);
		if (rc == 0 && (COL(2) == NULL || strcmp(h, COL(2)) != 0))
			rc = broken(brk, err, sqlite3_column_int64(st, 1), "results of document "
				    "%.64s were altered", COL(0));
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = sql_err(db, err, "read the audit log");
	sqlite3_finalize(st);
	return rc;
}

/* reviews_altered - invariant 7: reviews rows and "review" records agree */
static int reviews_altered(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
			"SELECT r.id, coalesce(a.seq, 0) FROM reviews r LEFT JOIN audit_log a "
			"ON a.kind = 'review' AND json_extract(a.payload, '$.review_id') = r.id "
			"WHERE a.seq IS NULL OR a.doc_id IS NOT r.doc_id "
			"OR json_extract(a.payload, '$.doc_id') IS NOT r.doc_id "
			"OR json_extract(a.payload, '$.field') IS NOT r.field "
			"OR json_extract(a.payload, '$.value') IS NOT r.value "
			"OR json_extract(a.payload, '$.reviewer') IS NOT r.reviewer "
			"OR json_extract(a.payload, '$.reason') IS NOT r.reason "
			"OR json_extract(a.payload, '$.at') IS NOT r.at "
			"UNION ALL SELECT json_extract(a.payload, '$.review_id'), a.seq "
			"FROM audit_log a WHERE a.kind = 'review' AND NOT EXISTS (SELECT 1 FROM "
			"reviews r WHERE r.id = json_extract(a.payload, '$.review_id')) "
			"ORDER BY 2 LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the reviews");
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = broken(brk, err, sqlite3_column_int64(st, 1), "review %s differs from "
			    "this record or has none", COL(0));
	else if (s != SQLITE_DONE)
		rc = sql_err(db, err, "read the reviews");
	sqlite3_finalize(st);
	return rc;
}

/*
 * decisions_altered - every llm_decisions row must still say what its
 * "decision" record says: replay trusts these columns.
 */
static int decisions_altered(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
			"SELECT l.id, l.audit_seq FROM llm_decisions l "
			"LEFT JOIN audit_log a ON a.seq = l.audit_seq AND a.kind = 'decision' WHERE "
			"a.seq IS NULL OR a.doc_id IS NOT l.doc_id "
			"OR json_extract(a.payload, '$.stage') IS NOT l.stage "
			"OR json_extract(a.payload, '$.model_sha256') IS NOT l.model_sha256 "
			"OR json_extract(a.payload, '$.prompt_sha256') IS NOT l.prompt_sha256 "
			"OR json_extract(a.payload, '$.input_sha256') IS NOT l.input_sha256 "
			"OR json_extract(a.payload, '$.output') IS NOT l.output "
			"OR json(json_extract(a.payload, '$.params')) IS NOT json(l.params) "
			"ORDER BY l.id LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the decisions");
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = broken(brk, err, sqlite3_column_int64(st, 1), "decision %s differs from "
			    "this record", COL(0));
	else if (s != SQLITE_DONE)
		rc = sql_err(db, err, "read the decisions");
	sqlite3_finalize(st);
	return rc;
}

/* audit_verify - walk the chain; name the first broken link */
int audit_verify(sqlite3 *db, struct audit_break *brk, struct dk_err *err)
{
	int64_t n = 0;
	int rc, own;

	if (brk) {
		brk->seq = 0;
		brk->reason[0] = 0;
	}
	/* One read transaction: a concurrent writer cannot shift the view. */
	own = sqlite3_get_autocommit(db);
	if (own && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return sql_err(db, err, "read the audit log");
	rc = walk_chain(db, brk, &n, err);
	if (rc == 0)
		rc = unaudited(db, brk, err);
	if (rc == 0)
		rc = altered(db, brk, err);
	if (rc == 0)
		rc = texts_intact(db, brk, err);
	if (rc == 0)
		rc = results_altered(db, brk, err);
	if (rc == 0)
		rc = reviews_altered(db, brk, err);
	if (rc == 0)
		rc = decisions_altered(db, brk, err);
	if (own)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (brk)
		brk->n_records = n;
	return rc;
}
