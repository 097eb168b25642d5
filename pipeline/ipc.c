/*
 * NAME
 *	ipc - frames and fields over stream sockets
 * DESIGN NOTES
 *	1. The reader never trusts a length before checking it against the
 *	   cap: a hostile or broken peer cannot make us allocate more than
 *	   cap + one read's worth of bytes.
 *	2. The frame's length prefix is reserved at ipc_msg_init() and filled
 *	   in by ipc_send(), so building a message never copies the payload.
 *	3. Passed descriptors arrive with the first byte of their frame; the
 *	   reader keeps the last one until ipc_reader_take_fd(). Protocols
 *	   using fd passing keep one request outstanding per socket, so a
 *	   descriptor cannot be attributed to the wrong frame. A second one
 *	   arriving before the first is taken closes the first (no leak).
 *	4. Sockets between docket processes are created with MSG_NOSIGNAL
 *	   sends: a dead peer is an error return (DK_EIO), never SIGPIPE.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pipeline/ipc.h"

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ipc_msg_init - reserve the length prefix (note 2) and write the type */
void ipc_msg_init(struct ipc_msg *m, unsigned char type, size_t cap)
{
	static const char head[4];

	dk_buf_init(&m->b, cap ? cap + 4 : 0);
	if (dk_buf_add(&m->b, head, 4) == 0)
		dk_buf_addch(&m->b, type);
}

void ipc_msg_release(struct ipc_msg *m)
{
	dk_buf_release(&m->b);
}

void ipc_msg_set_type(struct ipc_msg *m, unsigned char type)
{
	if (m->b.len >= 5)
		m->b.buf[4] = (char)type;
}

/* ipc_put - append one field */
int ipc_put(struct ipc_msg *m, unsigned char tag, const void *data, size_t len)
{
	unsigned char h[5];
	size_t old = m->b.len;
	int rc;

	if (len > UINT32_MAX || m->b.len < 5)
		return DK_ENOMEM;
	h[0] = tag;
	put_u32(h + 1, (uint32_t)len);
	rc = dk_buf_add(&m->b, h, 5);
	if (rc == 0 && (rc = dk_buf_add(&m->b, data, len)) != 0)
		dk_buf_truncate(&m->b, old);
	return rc;
}

int ipc_put_str(struct ipc_msg *m, unsigned char tag, const char *s)
{
	return ipc_put(m, tag, s ? s : "", s ? strlen(s) : 0);
}

int ipc_put_i64(struct ipc_msg *m, unsigned char tag, int64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof num, "%" PRId64, v);

	return ipc_put(m, tag, num, (size_t)n);
}

/* ipc_send - write the frame, the descriptor riding on its first byte */
int ipc_send(int fd, struct ipc_msg *m, int passfd, struct dk_err *err)
{
	const char *p = m->b.buf;
	size_t left = m->b.len;
	int first = 1;

	if (m->b.len < 5)
		return dk_err_set(err, DK_ENOMEM, "ipc message incomplete (out of memory)");
	put_u32((unsigned char *)m->b.buf, (uint32_t)(m->b.len - 4));
	while (left > 0) {
		struct iovec iov = { (void *)p, left };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t k;

		if (first && passfd >= 0) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof u);
			mh.msg_control = u.buf;
			mh.msg_controllen = sizeof u.buf;
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &passfd, sizeof(int));
		}
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pf = { fd, POLLOUT, 0 };

				poll(&pf, 1, -1);
				continue;
			}
			return dk_err_set(err, DK_EIO, "cannot send message: %s", strerror(errno));
		}
		first = 0;
		p += k;
		left -= (size_t)k;
	}
	return 0;
}

void ipc_reader_init(struct ipc_reader *r, size_t cap)
{
	dk_buf_init(&r->in, 0);
	r->used = 0;
	r->cap = cap;
	r->fd_passed = -1;
}

void ipc_reader_release(struct ipc_reader *r)
{
	dk_buf_release(&r->in);
	if (r->fd_passed >= 0)
		close(r->fd_passed);
	r->fd_passed = -1;
	r->used = 0;
}

/* keep_fd - remember a received descriptor (note 3) */
static void keep_fd(struct ipc_reader *r, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (r->fd_passed >= 0)
				close(r->fd_passed);
			r->fd_passed = fd;
		}
	}
}

/* ipc_reader_fill - one recvmsg() into the buffer */
int ipc_reader_fill(struct ipc_reader *r, int fd, struct dk_err *err)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t k;

	if (r->used > 0) {	/* drop consumed frames before growing */
		memmove(r->in.buf, r->in.buf + r->used, r->in.len - r->used);
		dk_buf_truncate(&r->in, r->in.len - r->used);
		r->used = 0;
	}
	if (dk_buf_grow(&r->in, 65536) != 0)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	iov.iov_base = r->in.buf + r->in.len;
	iov.iov_len = r->in.alloc - r->in.len - 1;
	do
		k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		if (errno == EAGAIN)
			return DK_EAGAIN;
		return dk_err_set(err, DK_EIO, "cannot receive message: %s", strerror(errno));
	}
	keep_fd(r, &mh);
	if (k == 0)
		return dk_err_set(err, DK_ENOTFOUND, "peer closed the connection");
	r->in.len += (size_t)k;
	r->in.buf[r->in.len] = 0;
	return 0;
}

/* ipc_reader_next - a complete frame, if buffered (note 1) */
int ipc_reader_next(struct ipc_reader *r, const char **payload, size_t *len,
		    struct dk_err *err)
{
	size_t avail = r->in.len - r->used;
	uint32_t n;

	if (avail < 4)
		return 0;
	n = get_u32((const unsigned char *)r->in.buf + r->used);
	if (n > r->cap || n == 0)
		return dk_err_set(err, DK_EFORMAT, "ipc frame of %" PRIu32 " bytes refused (cap %zu)",
				  n, r->cap);
	if (avail - 4 < n)
		return 0;
	*payload = r->in.buf + r->used + 4;
	*len = n;
	r->used += 4 + (size_t)n;
	return 1;
}

/* ipc_reader_take_fd - hand over the passed descriptor */
int ipc_reader_take_fd(struct ipc_reader *r)
{
	int fd = r->fd_passed;

	r->fd_passed = -1;
	return fd;
}

/* ipc_recv - blocking: fill until a frame is complete */
int ipc_recv(struct ipc_reader *r, int fd, const char **payload, size_t *len,
	     struct dk_err *err)
{
	for (;;) {
		int rc = ipc_reader_next(r, payload, len, err);

		if (rc != 0)
			return rc < 0 ? rc : 0;
		rc = ipc_reader_fill(r, fd, err);
		if (rc == DK_EAGAIN) {
			struct pollfd pf = { fd, POLLIN, 0 };

			poll(&pf, 1, -1);
			continue;
		}
		if (rc != 0)
			return rc;
	}
}

/* ipc_parse - split into fields, refusing anything that overruns */
int ipc_parse(const char *payload, size_t len, struct ipc_view *v, struct dk_err *err)
{
	const unsigned char *p = (const unsigned char *)payload;
	size_t at = 1;

	v->n = 0;
	if (len < 1)
		return dk_err_set(err, DK_EFORMAT, "empty ipc message");
	v->type = p[0];
	while (at < len) {
		uint32_t n;

		if (len - at < 5)
			return dk_err_set(err, DK_EFORMAT, "truncated ipc field header");
		n = get_u32(p + at + 1);
		if (len - at - 5 < n)
			return dk_err_set(err, DK_EFORMAT, "ipc field overruns its message");
		if (v->n == IPC_MAX_FIELDS)
			return dk_err_set(err, DK_EFORMAT, "too many ipc fields");
		v->f[v->n].tag = p[at];
		v->f[v->n].len = n;
		v->f[v->n].data = payload + at + 5;
		v->n++;
		at += 5 + (size_t)n;
	}
	return 0;
}

const struct ipc_field *ipc_get(const struct ipc_view *v, unsigned char tag)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].tag == tag)
			return &v->f[i];
	return NULL;
}

const char *ipc_get_str(const struct ipc_view *v, unsigned char tag, char *out, size_t n)
{
	const struct ipc_field *f = ipc_get(v, tag);
	size_t k = f ? f->len : 0;

	if (n == 0)
		return out;
	if (k >= n)
		k = n - 1;
	if (k)
		memcpy(out, f->data, k);
	out[k] = 0;
	return out;
}

int64_t ipc_get_i64(const struct ipc_view *v, unsigned char tag, int64_t def)
{
	const struct ipc_field *f = ipc_get(v, tag);
	char num[32], *end;
	long long x;

	if (f == NULL || f->len == 0 || f->len >= sizeof num)
		return def;
	memcpy(num, f->data, f->len);
	num[f->len] = 0;
	errno = 0;
	x = strtoll(num, &end, 10);
	if (errno != 0 || *end != 0)
		return def;
	return x;
}
