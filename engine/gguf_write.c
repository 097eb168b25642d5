/*
 * NAME
 *	gguf_write - GGUF v3 writer
 * DESIGN NOTES
 *	File layout (all integers little-endian, strings = u64 length + bytes):
 *	  "GGUF" u32 version=3 u64 n_tensors u64 n_kv
 *	  n_kv x (string key, u32 type, value)
 *	  n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 type,
 *	               u64 offset relative to the data section)
 *	  zero padding to the alignment, then the data section, where every
 *	  tensor starts at an aligned offset and is followed by zero padding
 *	  up to the next multiple of the alignment (llama.cpp pads the last
 *	  tensor too, so the file size is data start + sum of aligned sizes).
 *
 *	1. Metadata and tensor infos are encoded into memory buffers as they
 *	   are declared; nothing touches the disk before gguf_writer_begin().
 *	2. States: DECLARE -> (begin) -> DATA -> (commit) -> DONE; any error
 *	   moves to FAILED, where only gguf_writer_free() is accepted. In DATA,
 *	   cur indexes the tensor being filled and cur_done its bytes so far.
 *	3. The temporary file is "<path>.tmp.<pid>", created O_EXCL; commit is
 *	   fsync + rename (+ directory fsync), the mail_queue.c pattern. Free
 *	   before commit unlinks it.
 *	4. The host is little-endian (checked at compile time), so values are
 *	   written as their in-memory bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf_write.h"
#include "util/dk_buf.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write assumes a little-endian host"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION 3u
#define WBUF_SIZE (1u << 20)

/* GGUF value types on disk (engine/gguf.h names them enum gguf_vtype) */
enum {
	VT_U8 = 0, VT_I8 = 1, VT_U16 = 2, VT_I16 = 3, VT_U32 = 4, VT_I32 = 5,
	VT_F32 = 6, VT_BOOL = 7, VT_STRING = 8, VT_ARRAY = 9, VT_U64 = 10,
	VT_I64 = 11, VT_F64 = 12,
};

enum wstate { ST_DECLARE, ST_DATA, ST_DONE, ST_FAILED };

struct wtensor {
	char *name;
	uint64_t nbytes;
	uint64_t offset;	/* relative to the data section, aligned */
};

struct gguf_writer {
	enum wstate state;
	uint32_t alignment;
	struct dk_buf kv;	/* encoded key/value pairs (note 1) */
	uint64_t n_kv;
	char **keys;		/* for duplicate checks */
	struct dk_buf infos;	/* encoded tensor infos */
	struct wtensor *t;
	uint64_t n_t, alloc_t;
	uint64_t data_size;	/* aligned end of the last declared tensor */
	uint64_t data_offset;	/* file offset of the data section */
	/* DATA state (note 2) */
	int fd;
	char *path, *tmp;
	uint64_t cur, cur_done;
	unsigned char *wbuf;
	size_t wlen;
};

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

static int fail(struct gguf_writer *w, int code)
{
	w->state = ST_FAILED;
	return code;
}

/* gguf_writer_new - an empty writer */
int gguf_writer_new(struct gguf_writer **out, uint32_t alignment, struct dk_err *err)
{
	struct gguf_writer *w;

	*out = NULL;
	if (alignment == 0 || (alignment & (alignment - 1)) != 0)
		return dk_err_set(err, DK_EINVAL, "gguf alignment %u is not a power of two",
				  alignment);
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	w->alignment = alignment;
	w->fd = -1;
	dk_buf_init(&w->kv, 0);
	dk_buf_init(&w->infos, 0);
	*out = w;
	return 0;
}

/* gguf_writer_free - release; removes an uncommitted temporary file (note 3) */
void gguf_writer_free(struct gguf_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp != NULL && w->state != ST_DONE)
		unlink(w->tmp);
	for (uint64_t i = 0; i < w->n_kv; i++)
		free(w->keys[i]);
	free(w->keys);
	for (uint64_t i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->t);
	dk_buf_release(&w->kv);
	dk_buf_release(&w->infos);
	free(w->path);
	free(w->tmp);
	free(w->wbuf);
	free(w);
}

static int put_str(struct dk_buf *b, const char *s, size_t n)
{
	uint64_t len = n;

	if (dk_buf_add(b, &len, sizeof len) != 0 || dk_buf_add(b, s, n) != 0)
		return DK_ENOMEM;
	return 0;
}

static int oom(struct gguf_writer *w, struct dk_err *err)
{
	return fail(w, dk_err_set(err, DK_ENOMEM, "out of memory"));
}

/* new_key - check the key and encode "key, type" into the kv buffer */
static int new_key(struct gguf_writer *w, const char *key, uint32_t type,
		   struct dk_err *err)
{
	char **keys;

	if (w->state != ST_DECLARE)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf metadata '%s' set after the header was written", key));
	if (key[0] == 0)
		return fail(w, dk_err_set(err, DK_EINVAL, "empty gguf metadata key"));
	if (strcmp(key, "general.alignment") == 0)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf key 'general.alignment' is set by the writer"));
	for (uint64_t i = 0; i < w->n_kv; i++)
		if (strcmp(w->keys[i], key) == 0)
			return fail(w, dk_err_set(err, DK_EINVAL,
						  "duplicate gguf metadata key '%s'", key));
	keys = realloc(w->keys, (w->n_kv + 1) * sizeof *keys);
	if (keys == NULL)
		return oom(w, err);
	w->keys = keys;
	keys[w->n_kv] = strdup(key);
	if (keys[w->n_kv] == NULL)
		return oom(w, err);
	w->n_kv++;
	if (put_str(&w->kv, key, strlen(key)) != 0 ||
	    dk_buf_add(&w->kv, &type, sizeof type) != 0)
		return oom(w, err);
	return 0;
}

static int set_scalar(struct gguf_writer *w, const char *key, uint32_t type,
		      const void *v, size_t n, struct dk_err *err)
{
	int rc = new_key(w, key, type, err);

	if (rc == 0 && dk_buf_add(&w->kv, v, n) != 0)
		rc = oom(w, err);
	return rc;
}

int gguf_writer_set_u8(struct gguf_writer *w, const char *key, uint8_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_U8, &v, sizeof v, err);
}

int gguf_writer_set_i8(struct gguf_writer *w, const char *key, int8_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_I8, &v, sizeof v, err);
}

int gguf_writer_set_u16(struct gguf_writer *w, const char *key, uint16_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_U16, &v, sizeof v, err);
}

int gguf_writer_set_i16(struct gguf_writer *w, const char *key, int16_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_I16, &v, sizeof v, err);
}

int gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_U32, &v, sizeof v, err);
}

int gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_I32, &v, sizeof v, err);
}

int gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint64_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_U64, &v, sizeof v, err);
}

int gguf_writer_set_i64(struct gguf_writer *w, const char *key, int64_t v, struct dk_err *err)
{
	return set_scalar(w, key, VT_I64, &v, sizeof v, err);
}

int gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v, struct dk_err *err)
{
	return set_scalar(w, key, VT_F32, &v, sizeof v, err);
}

int gguf_writer_set_f64(struct gguf_writer *w, const char *key, double v, struct dk_err *err)
{
	return set_scalar(w, key, VT_F64, &v, sizeof v, err);
}

int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v, struct dk_err *err)
{
	uint8_t b = v ? 1 : 0;

	return set_scalar(w, key, VT_BOOL, &b, sizeof b, err);
}

static size_t elem_size(uint32_t t);

int gguf_writer_set_val(struct gguf_writer *w, const char *key, uint32_t type,
			const void *v, struct dk_err *err)
{
	size_t n = elem_size(type);

	if (n == 0)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf key '%s': type %u is not a fixed-size scalar", key, type));
	return set_scalar(w, key, type, v, n, err);
}

int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *s,
			size_t n, struct dk_err *err)
{
	int rc = new_key(w, key, VT_STRING, err);

	if (rc == 0 && put_str(&w->kv, s, n) != 0)
		rc = oom(w, err);
	return rc;
}

/* elem_size - bytes of one array element of a numeric or bool wire type, 0 if not one */
static size_t elem_size(uint32_t t)
{
	switch (t) {
	case VT_U8: case VT_I8: case VT_BOOL: return 1;
	case VT_U16: case VT_I16: return 2;
	case VT_U32: case VT_I32: case VT_F32: return 4;
	case VT_U64: case VT_I64: case VT_F64: return 8;
	}
	return 0;
}

int gguf_writer_set_arr(struct gguf_writer *w, const char *key, uint32_t elem_type,
			const void *vals, uint64_t n, struct dk_err *err)
{
	size_t es = elem_size(elem_type);
	int rc;

	if (es == 0)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf array '%s': element type %u is not a number or bool",
					  key, elem_type));
	if (n > SIZE_MAX / es)
		return oom(w, err);
	rc = new_key(w, key, VT_ARRAY, err);
	if (rc != 0)
		return rc;
	if (dk_buf_add(&w->kv, &elem_type, sizeof elem_type) != 0 ||
	    dk_buf_add(&w->kv, &n, sizeof n) != 0 ||
	    dk_buf_add(&w->kv, vals, (size_t)n * es) != 0)
		return oom(w, err);
	return 0;
}

int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key,
			    const char *const *strs, const size_t *lens, uint64_t n,
			    struct dk_err *err)
{
	uint32_t et = VT_STRING;
	int rc = new_key(w, key, VT_ARRAY, err);

	if (rc != 0)
		return rc;
	if (dk_buf_add(&w->kv, &et, sizeof et) != 0 || dk_buf_add(&w->kv, &n, sizeof n) != 0)
		return oom(w, err);
	for (uint64_t i = 0; i < n; i++)
		if (put_str(&w->kv, strs[i], lens[i]) != 0)
			return oom(w, err);
	return 0;
}

static int check_tensor(struct gguf_writer *w, const char *name, uint32_t n_dims,
			const uint64_t *ne, struct dk_err *err)
{
	if (w->state != ST_DECLARE)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf tensor '%s' added after the header was written", name));
	if (name[0] == 0)
		return fail(w, dk_err_set(err, DK_EINVAL, "empty gguf tensor name"));
	if (n_dims < 1 || n_dims > GGUF_WRITE_MAX_DIMS)
		return fail(w, dk_err_set(err, DK_EINVAL, "gguf tensor '%s': %u dimensions",
					  name, n_dims));
	for (uint32_t i = 0; i < n_dims; i++)
		if (ne[i] == 0 || ne[i] > INT64_MAX)
			return fail(w, dk_err_set(err, DK_EINVAL,
						  "gguf tensor '%s': bad dimension %u", name, i));
	for (uint64_t i = 0; i < w->n_t; i++)
		if (strcmp(w->t[i].name, name) == 0)
			return fail(w, dk_err_set(err, DK_EINVAL,
						  "duplicate gguf tensor '%s'", name));
	return 0;
}

/* gguf_writer_add_tensor - declare the next tensor and encode its info */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t n_dims,
			   const uint64_t *ne, uint32_t type, uint64_t nbytes,
			   struct dk_err *err)
{
	struct wtensor *t;
	int rc = check_tensor(w, name, n_dims, ne, err);

	if (rc != 0)
		return rc;
	if (w->n_t == w->alloc_t) {
		uint64_t na = w->alloc_t ? 2 * w->alloc_t : 64;

		t = realloc(w->t, na * sizeof *t);
		if (t == NULL)
			return oom(w, err);
		w->t = t;
		w->alloc_t = na;
	}
	t = &w->t[w->n_t];
	t->name = strdup(name);
	if (t->name == NULL)
		return oom(w, err);
	t->nbytes = nbytes;
	t->offset = w->data_size;
	w->n_t++;
	w->data_size = align_up(t->offset + nbytes, w->alignment);
	if (put_str(&w->infos, name, strlen(name)) != 0 ||
	    dk_buf_add(&w->infos, &n_dims, sizeof n_dims) != 0 ||
	    dk_buf_add(&w->infos, ne, n_dims * sizeof *ne) != 0 ||
	    dk_buf_add(&w->infos, &type, sizeof type) != 0 ||
	    dk_buf_add(&w->infos, &t->offset, sizeof t->offset) != 0)
		return oom(w, err);
	return 0;
}

static int flush_buf(struct gguf_writer *w, struct dk_err *err)
{
	size_t off = 0;

	while (off < w->wlen) {
		ssize_t k = write(w->fd, w->wbuf + off, w->wlen - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(w, dk_err_set(err, DK_EIO, "cannot write '%s': %s",
						  w->tmp, strerror(errno)));
		off += (size_t)k;
	}
	w->wlen = 0;
	return 0;
}

static int out(struct gguf_writer *w, const void *p, size_t n, struct dk_err *err)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = WBUF_SIZE - w->wlen;

		if (k > n)
			k = n;
		memcpy(w->wbuf + w->wlen, s, k);
		w->wlen += k;
		s += k;
		n -= k;
		if (w->wlen == WBUF_SIZE && flush_buf(w, err) != 0)
			return DK_EIO;
	}
	return 0;
}

static int zeros(struct gguf_writer *w, uint64_t n, struct dk_err *err)
{
	static const unsigned char z[64];

	while (n > 0) {
		size_t k = n < sizeof z ? (size_t)n : sizeof z;

		if (out(w, z, k, err) != 0)
			return DK_EIO;
		n -= k;
	}
	return 0;
}

static int make_tmp(struct gguf_writer *w, const char *path, struct dk_err *err)
{
	struct dk_buf b = DK_BUF_INIT;

	w->path = strdup(path);
	if (w->path == NULL || dk_buf_addf(&b, "%s.tmp.%ld", path, (long)getpid()) != 0) {
		dk_buf_release(&b);
		return oom(w, err);
	}
	w->tmp = dk_buf_detach(&b, NULL);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int e = errno;

		free(w->tmp);
		w->tmp = NULL;	/* not ours: never unlink it */
		return fail(w, dk_err_set(err, DK_EIO, "cannot create '%s.tmp.%ld': %s",
					  path, (long)getpid(), strerror(e)));
	}
	return 0;
}

/* gguf_writer_begin - create the temporary file and write everything before the data */
int gguf_writer_begin(struct gguf_writer *w, const char *path, struct dk_err *err)
{
	uint32_t version = GGUF_VERSION;
	uint64_t n_kv = w->n_kv, header;
	int rc;

	if (w->state != ST_DECLARE)
		return fail(w, dk_err_set(err, DK_EINVAL, "gguf header for '%s' written twice", path));
	if (w->alignment != GGUF_WRITE_DEFAULT_ALIGNMENT) {
		static const char k[] = "general.alignment";
		uint32_t t = VT_U32;

		if (put_str(&w->kv, k, sizeof k - 1) != 0 ||
		    dk_buf_add(&w->kv, &t, sizeof t) != 0 ||
		    dk_buf_add(&w->kv, &w->alignment, sizeof w->alignment) != 0)
			return oom(w, err);
		n_kv++;
	}
	w->wbuf = malloc(WBUF_SIZE);
	if (w->wbuf == NULL)
		return oom(w, err);
	rc = make_tmp(w, path, err);
	if (rc != 0)
		return rc;
	w->state = ST_DATA;
	header = 4 + sizeof version + 2 * sizeof n_kv + w->kv.len + w->infos.len;
	w->data_offset = align_up(header, w->alignment);
	if (out(w, GGUF_MAGIC, 4, err) != 0 || out(w, &version, sizeof version, err) != 0 ||
	    out(w, &w->n_t, sizeof w->n_t, err) != 0 || out(w, &n_kv, sizeof n_kv, err) != 0 ||
	    out(w, w->kv.buf, w->kv.len, err) != 0 ||
	    out(w, w->infos.buf, w->infos.len, err) != 0 ||
	    zeros(w, w->data_offset - header, err) != 0)
		return DK_EIO;
	/* the encoded metadata is on its way to disk: give the memory back */
	dk_buf_release(&w->kv);
	dk_buf_release(&w->infos);
	return 0;
}

/* finish_tensors - pad every tensor that is complete and move past it */
static int finish_tensors(struct gguf_writer *w, struct dk_err *err)
{
	while (w->cur < w->n_t && w->cur_done == w->t[w->cur].nbytes) {
		const struct wtensor *t = &w->t[w->cur];
		uint64_t end = t->offset + t->nbytes;

		if (zeros(w, align_up(end, w->alignment) - end, err) != 0)
			return DK_EIO;
		w->cur++;
		w->cur_done = 0;
	}
	return 0;
}

/* gguf_writer_write - append data bytes to the tensors in order */
int gguf_writer_write(struct gguf_writer *w, const void *data, size_t n,
		      struct dk_err *err)
{
	const unsigned char *p = data;

	if (w->state != ST_DATA)
		return fail(w, dk_err_set(err, DK_EINVAL, "gguf data written outside the data phase"));
	if (finish_tensors(w, err) != 0)
		return DK_EIO;
	while (n > 0) {
		uint64_t room;
		size_t k;

		if (w->cur == w->n_t)
			return fail(w, dk_err_set(err, DK_EINVAL,
						  "more gguf tensor data than declared for '%s'", w->path));
		room = w->t[w->cur].nbytes - w->cur_done;
		k = room < n ? (size_t)room : n;
		if (out(w, p, k, err) != 0)
			return DK_EIO;
		w->cur_done += k;
		p += k;
		n -= k;
		if (finish_tensors(w, err) != 0)
			return DK_EIO;
	}
	return 0;
}

static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* gguf_writer_commit - check completeness, fsync, rename into place (note 3) */
int gguf_writer_commit(struct gguf_writer *w, struct dk_err *err)
{
	if (w->state != ST_DATA)
		return fail(w, dk_err_set(err, DK_EINVAL, "gguf commit outside the data phase"));
	if (finish_tensors(w, err) != 0)
		return DK_EIO;
	if (w->cur != w->n_t)
		return fail(w, dk_err_set(err, DK_EINVAL,
					  "gguf tensor '%s' short of data (%llu of %llu bytes)",
					  w->t[w->cur].name, (unsigned long long)w->cur_done,
					  (unsigned long long)w->t[w->cur].nbytes));
	if (flush_buf(w, err) != 0)
		return DK_EIO;
	if (fsync(w->fd) != 0 || close(w->fd) != 0) {
		w->fd = -1;
		return fail(w, dk_err_set(err, DK_EIO, "cannot sync '%s': %s", w->tmp,
					  strerror(errno)));
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) != 0)
		return fail(w, dk_err_set(err, DK_EIO, "cannot rename '%s' to '%s': %s",
					  w->tmp, w->path, strerror(errno)));
	w->state = ST_DONE;
	if (sync_dir(w->path) != 0)
		return dk_err_set(err, DK_EIO, "cannot sync the directory of '%s': %s",
				  w->path, strerror(errno));
	return 0;
}

uint64_t gguf_writer_data_offset(const struct gguf_writer *w)
{
	return w->data_offset;
}
