/*
 * NAME
 *	dk_buf - length-counted strings
 * DESIGN NOTES
 *	Growth doubles, so appends are amortised O(1). A failed growth leaves
 *	the string as it was (invariant 4 in dk_buf.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

char dk_buf_empty[1];

/* dk_buf_init - empty string with an optional byte cap */
void dk_buf_init(struct dk_buf *b, size_t cap)
{
	b->buf = dk_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

/* dk_buf_release - free the bytes, keep the cap */
void dk_buf_release(struct dk_buf *b)
{
	if (b->alloc)
		free(b->buf);
	dk_buf_init(b, b->cap);
}

/* dk_buf_reset - empty the string, keep the allocation */
void dk_buf_reset(struct dk_buf *b)
{
	dk_buf_truncate(b, 0);
}

/* dk_buf_detach - hand the bytes to the caller (never NULL) */
char *dk_buf_detach(struct dk_buf *b, size_t *len)
{
	char *p = b->alloc ? b->buf : calloc(1, 1);

	if (len)
		*len = b->len;
	dk_buf_init(b, b->cap);
	return p;
}

/* dk_buf_grow - make room for extra more bytes plus the NUL */
int dk_buf_grow(struct dk_buf *b, size_t extra)
{
	size_t want, n;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return DK_ENOMEM;
	want = b->len + extra;
	if (b->cap && want > b->cap)
		return DK_ENOMEM;
	if (want + 1 <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want + 1)
		n = n > SIZE_MAX / 2 ? want + 1 : n * 2;
	p = realloc(b->alloc ? b->buf : NULL, n);
	if (p == NULL)
		return DK_ENOMEM;
	if (!b->alloc)
		p[0] = 0;
	b->buf = p;
	b->alloc = n;
	return 0;
}

/* dk_buf_add - append n bytes */
int dk_buf_add(struct dk_buf *b, const void *data, size_t n)
{
	int rc = dk_buf_grow(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = 0;
	return 0;
}

/* dk_buf_adds - append a C string */
int dk_buf_adds(struct dk_buf *b, const char *s)
{
	return dk_buf_add(b, s, strlen(s));
}

/* dk_buf_addch - append one byte */
int dk_buf_addch(struct dk_buf *b, int c)
{
	char ch = (char)c;

	return dk_buf_add(b, &ch, 1);
}

/* dk_buf_addf - append printf-formatted text */
int dk_buf_addf(struct dk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return DK_EINVAL;
	if ((rc = dk_buf_grow(b, (size_t)n)) != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* dk_buf_truncate - shorten to len bytes */
void dk_buf_truncate(struct dk_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->buf[len] = 0;	/* len < old len, so buf is allocated */
}

/* dk_buf_add_json_str - append a quoted JSON string */
int dk_buf_add_json_str(struct dk_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = dk_buf_addch(b, '"');

	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = "\\u00";

		switch (c) {
		case '"': rc = dk_buf_add(b, "\\\"", 2); break;
		case '\\': rc = dk_buf_add(b, "\\\\", 2); break;
		case '\n': rc = dk_buf_add(b, "\\n", 2); break;
		case '\r': rc = dk_buf_add(b, "\\r", 2); break;
		case '\t': rc = dk_buf_add(b, "\\t", 2); break;
		default:
			if (c < 0x20) {
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				rc = dk_buf_add(b, esc, 6);
			} else {
				rc = dk_buf_addch(b, c);
			}
		}
	}
	return rc ? rc : dk_buf_addch(b, '"');
}
