/*
 * NAME
 *	ipc - length-prefixed messages between docket processes
 * SUMMARY
 *	A frame is a 4-byte little-endian payload length followed by the
 *	payload. A payload is one type byte followed by fields, each a tag
 *	byte, a 4-byte little-endian length and that many bytes. Tags may
 *	repeat (lists). Integers are fields holding decimal text, so a
 *	message is printable in a debugger and has no alignment rules.
 *	A file descriptor may ride along with a frame (SCM_RIGHTS).
 *
 *	Build:   struct ipc_msg m; ipc_msg_init(&m, TYPE); ipc_put_str(&m, T, s);
 *	Send:    ipc_send(fd, &m, passfd, err);
 *	Receive: ipc_reader_fill() (non-blocking or blocking), then
 *	         ipc_reader_next() for each complete frame, ipc_parse() it.
 * OWNERSHIP
 *	struct ipc_msg and struct ipc_reader own their buffers (release them).
 *	A struct ipc_view borrows the payload it was parsed from. A passed
 *	descriptor returned by ipc_reader_take_fd() belongs to the caller.
 * LIFETIME
 *	A payload from ipc_reader_next() stays valid until the next
 *	ipc_reader_fill() or ipc_reader_next() on that reader.
 * THREADS
 *	Per-object.
 * ERRORS
 *	DK_EIO (system call failed; err->msg says which), DK_EFORMAT (frame
 *	over the cap or malformed fields), DK_ENOMEM, DK_ENOTFOUND (peer closed).
 */
#ifndef DK_IPC_H
#define DK_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

#define IPC_MAX_FIELDS 4096

struct ipc_msg {
	struct dk_buf b;	/* frame being built: length prefix, type, fields */
};

struct ipc_field {
	unsigned char tag;
	uint32_t len;
	const char *data;	/* borrowed from the payload */
};

struct ipc_view {
	unsigned char type;
	size_t n;
	struct ipc_field f[IPC_MAX_FIELDS];
};

struct ipc_reader {
	struct dk_buf in;	/* bytes received, not yet consumed */
	size_t used;		/* bytes of in consumed by ipc_reader_next() */
	size_t cap;		/* largest payload accepted */
	int fd_passed;		/* last SCM_RIGHTS descriptor received, or -1 */
};

/* ipc_msg_init - empty message of a type, payload capped at cap bytes (0: none) */
void ipc_msg_init(struct ipc_msg *m, unsigned char type, size_t cap);
void ipc_msg_release(struct ipc_msg *m);
/* ipc_msg_set_type - change the type of a message being built */
void ipc_msg_set_type(struct ipc_msg *m, unsigned char type);
int ipc_put(struct ipc_msg *m, unsigned char tag, const void *data, size_t len);
int ipc_put_str(struct ipc_msg *m, unsigned char tag, const char *s);
int ipc_put_i64(struct ipc_msg *m, unsigned char tag, int64_t v);

/* ipc_send - write the whole frame (blocking), with passfd attached if >= 0 */
int ipc_send(int fd, struct ipc_msg *m, int passfd, struct dk_err *err);

void ipc_reader_init(struct ipc_reader *r, size_t cap);
void ipc_reader_release(struct ipc_reader *r);
/* ipc_reader_fill - one read(); 0, DK_EAGAIN (nothing now), DK_ENOTFOUND (EOF) or DK_EIO */
int ipc_reader_fill(struct ipc_reader *r, int fd, struct dk_err *err);
/* ipc_reader_next - 1 and the payload if a whole frame is buffered, 0 if not, DK_EFORMAT */
int ipc_reader_next(struct ipc_reader *r, const char **payload, size_t *len,
		    struct dk_err *err);
/* ipc_reader_take_fd - the descriptor that came with the frames, or -1 */
int ipc_reader_take_fd(struct ipc_reader *r);
/* ipc_recv - block until one frame is buffered (workers' serve loop) */
int ipc_recv(struct ipc_reader *r, int fd, const char **payload, size_t *len,
	     struct dk_err *err);

/* ipc_parse - split a payload into fields (borrowing it) */
int ipc_parse(const char *payload, size_t len, struct ipc_view *v, struct dk_err *err);
/* ipc_get - the first field with tag, or NULL */
const struct ipc_field *ipc_get(const struct ipc_view *v, unsigned char tag);
/* ipc_get_str - copy a field as a NUL-terminated string into out (truncating); "" if absent */
const char *ipc_get_str(const struct ipc_view *v, unsigned char tag, char *out, size_t n);
/* ipc_get_i64 - a decimal field, or def if absent or malformed */
int64_t ipc_get_i64(const struct ipc_view *v, unsigned char tag, int64_t def);

#endif
