/*
 * NAME
 *	dk_buf - length-counted, self-growing byte strings (git's strbuf)
 * INVARIANTS
 *	1. buf is never NULL: an empty dk_buf points at a shared "" until the
 *	   first write, so it can always be printed.
 *	2. buf[len] == 0 always; the contents may hold NUL bytes.
 *	3. Only dk_buf_detach() hands ownership of the bytes to the caller.
 *	4. Growth past cap (when cap != 0) fails with DK_ENOMEM and leaves the
 *	   string unchanged: every document-sized string has a byte cap.
 * OWNERSHIP
 *	The dk_buf owns buf; dk_buf_release() frees it and re-initialises.
 * THREADS
 *	Per-object.
 * ERRORS
 *	Appending functions return 0 or DK_ENOMEM (allocation failed or cap hit).
 */
#ifndef DK_BUF_H
#define DK_BUF_H

#include <stddef.h>

struct dk_buf {
	char *buf;
	size_t len;
	size_t alloc;	/* 0 while buf points at the shared "" */
	size_t cap;	/* maximum len, 0 = unlimited */
};

extern char dk_buf_empty[];
#define DK_BUF_INIT { dk_buf_empty, 0, 0, 0 }

void dk_buf_init(struct dk_buf *b, size_t cap);
void dk_buf_release(struct dk_buf *b);
void dk_buf_reset(struct dk_buf *b);
char *dk_buf_detach(struct dk_buf *b, size_t *len);
int dk_buf_grow(struct dk_buf *b, size_t extra);
int dk_buf_add(struct dk_buf *b, const void *data, size_t n);
int dk_buf_adds(struct dk_buf *b, const char *s);
int dk_buf_addch(struct dk_buf *b, int c);
int dk_buf_addf(struct dk_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dk_buf_truncate(struct dk_buf *b, size_t len);
/* dk_buf_add_json_str - append s[0..n) as a quoted, escaped JSON string */
int dk_buf_add_json_str(struct dk_buf *b, const char *s, size_t n);

#endif
