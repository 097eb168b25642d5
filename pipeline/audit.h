/*
 * NAME
 *	audit - the tamper-evident audit log (a SHA-256 hash chain in SQLite)
 * SUMMARY
 *	Every record in table audit_log is (seq, at, kind, doc_id, payload,
 *	prev_hash, hash). Its canonical form is the JSON object
 *	    {"at":AT,"doc_id":ID|null,"kind":KIND,"payload":PAYLOAD,"seq":SEQ}
 *	with keys sorted, no whitespace, UTF-8, PAYLOAD being the stored
 *	canonical JSON verbatim, and
 *	    hash = sha256_hex(prev_hash || canonical record)
 *	where prev_hash is the previous record's hash as 64 hex characters
 *	("0" x 64 for seq 1) and || is byte concatenation. An auditor can
 *	recompute it with sqlite3 and sha256sum alone.
 *
 *	audit_append() adds a record inside the caller's open transaction, so
 *	a result and its audit record commit or vanish together.
 *	audit_verify() walks the chain and names the first broken link.
 *	audit_canonical() turns any JSON text into its canonical form.
 * OWNERSHIP
 *	The sqlite3 connection is borrowed. Output dk_bufs are caller-owned.
 * LIFETIME
 *	Nothing returned refers to audit's memory.
 * THREADS
 *	As the connection: one thread at a time per sqlite3 handle.
 * ERRORS
 *	0 or a negative DK_E* code with err filled: DK_EFORMAT (payload is not
 *	valid JSON, has duplicate keys or invalid UTF-8), DK_EINVAL (no
 *	transaction open for audit_append), DK_EIO (SQLite failed), DK_ENOMEM,
 *	DK_ECORRUPT (audit_verify: the chain is broken; brk says where).
 */
#ifndef DK_AUDIT_H
#define DK_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

typedef struct sqlite3 sqlite3;

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * audit_canonical - append the canonical form of JSON text json[0..len):
 * object keys sorted by their UTF-8 bytes, no insignificant whitespace,
 * strings re-escaped minimally (\" \\ \n \r \t, \u00XX for other control
 * characters, everything else as raw UTF-8), numbers copied as written
 * (after validation: producers must print numbers deterministically).
 * Duplicate keys, invalid UTF-8, lone surrogates and nesting deeper than
 * 64 are DK_EFORMAT. On error out is left as it was.
 */
int audit_canonical(const char *json, size_t len, struct dk_buf *out,
		    struct dk_err *err);

/*
 * audit_append - append one record inside the caller's transaction.
 * kind: short lower-case word ("document", "duplicate", "decision", ...);
 * doc_id may be NULL; payload is any JSON text (canonicalised here).
 * seq and hash (65 bytes incl. NUL) may be NULL.
 */
int audit_append(sqlite3 *db, const char *kind, const char *doc_id,
		 const char *payload, size_t payload_len,
		 int64_t *seq, char *hash, struct dk_err *err);

struct audit_break {
	int64_t seq;		/* first broken record (0 when intact) */
	char reason[160];	/* "hash mismatch", "prev_hash does not match seq 41", ... */
	int64_t n_records;	/* records checked (all of them when intact) */
};

/*
 * audit_verify - walk the whole chain in seq order. 0 if intact;
 * DK_ECORRUPT with brk filled if a record was changed, removed or
 * inserted, if a stored document has no "document" audit record, or if
 * a document's row, page offsets or text, or an llm_decisions row, no
 * longer match that record
 * (then brk->seq is the record's seq and the reason names the document).
 * brk may be NULL. Removing the newest records cannot be seen from the
 * chain alone; compare n_records with an externally kept count for that.
 */
int audit_verify(sqlite3 *db, struct audit_break *brk, struct dk_err *err);

#endif
