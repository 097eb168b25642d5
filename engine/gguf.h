/*
 * NAME
 *	gguf - validating reader of GGUF v2/v3 model files
 * SUMMARY
 *	gguf_open() reads a file into read-only resident memory (2 MB pages
 *	where the kernel gives them) and checks all of it before
 *	returning: magic, version, counts against the file size, every key
 *	and value (types, string and array lengths), every tensor (name,
 *	n_dims <= 4, element count without overflow, type, row length a
 *	multiple of the block size, offset aligned to general.alignment and
 *	data inside the file), duplicate keys and tensor names. After a
 *	successful open every pointer in the structures below points inside
 *	the mapping and every length fits: callers need no further bounds
 *	checks. gguf_open_buffer() does the same over caller memory (tests,
 *	fuzzing).
 *	Lookups: gguf_find_key()/gguf_find_tensor(); typed getters accept any
 *	integer type for integers (range-checked) and F32/F64 for floats.
 * OWNERSHIP
 *	struct gguf owns the mapping and its tables; gguf_free() releases
 *	them. Strings (struct gguf_str) are NOT NUL-terminated and borrow the
 *	mapping. gguf_open_buffer() borrows buf, which must outlive the gguf.
 * LIFETIME
 *	Everything returned (kv, tensors, strings, tensor data) lives until
 *	gguf_free().
 * THREADS
 *	A struct gguf is immutable after open: any number of threads may read.
 * ERRORS
 *	DK_EIO (cannot open/map), DK_EFORMAT (malformed: one line naming the
 *	offending key, tensor or field), DK_EUNSUPPORTED (valid GGUF we do not
 *	read: v1, big-endian, unknown tensor type), DK_ENOMEM. Getters return
 *	DK_ENOTFOUND when the key is absent and DK_EFORMAT on a type mismatch.
 */
#ifndef GGUF_H
#define GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 64		/* tensor names are shorter (ggml's limit) */
#define GGUF_DEFAULT_ALIGNMENT 32

enum gguf_vtype {
	GGUF_VT_U8 = 0, GGUF_VT_I8 = 1, GGUF_VT_U16 = 2, GGUF_VT_I16 = 3,
	GGUF_VT_U32 = 4, GGUF_VT_I32 = 5, GGUF_VT_F32 = 6, GGUF_VT_BOOL = 7,
	GGUF_VT_STRING = 8, GGUF_VT_ARRAY = 9, GGUF_VT_U64 = 10,
	GGUF_VT_I64 = 11, GGUF_VT_F64 = 12, GGUF_VT_COUNT = 13,
};

struct gguf_str {
	const char *s;	/* not NUL-terminated; borrows the mapping */
	size_t len;
};

struct gguf_kv {
	struct gguf_str key;
	uint32_t type;		/* enum gguf_vtype */
	uint32_t arr_type;	/* element type when type == ARRAY */
	uint64_t n;		/* element count (1 for scalars) */
	const uint8_t *val;	/* value bytes (arrays: the first element) */
	const uint64_t *str_off;	/* string arrays: offset of element i from val */
};

struct gguf_tensor {
	struct gguf_str name;
	uint32_t n_dims;
	int64_t ne[GGUF_MAX_DIMS];	/* unused dims are 1; ne[0] is the row length */
	uint32_t type;			/* enum ggml_type */
	uint64_t offset;		/* from the start of the data section */
	uint64_t n_elem;
	uint64_t nbytes;
	const void *data;		/* inside the mapping */
};

struct gguf {
	uint32_t version;
	uint64_t n_kv;
	struct gguf_kv *kv;
	uint64_t n_tensors;
	struct gguf_tensor *tensors;
	uint64_t alignment;
	uint64_t data_offset;	/* file offset of the data section */
	const uint8_t *base;	/* the whole file */
	size_t size;
	size_t mapped;		/* length of our mapping at base; 0: borrowed */
	int resident;		/* base is our anonymous copy (gguf_open), not the file's pages */
	char sha256[65];	/* of the file's bytes (gguf.c note 7); "" for a buffer */
};

int gguf_open(const char *path, struct gguf **out, struct dk_err *err);
int gguf_open_buffer(const void *buf, size_t size, struct gguf **out, struct dk_err *err);
/* gguf_open_mapped - the same checks over the file mapped read-only: its
 * pages are the page cache's, nothing is copied; for inspecting a file
 * (docket batch's check before a run), not for running it (note 6) */
int gguf_open_mapped(const char *path, struct gguf **out, struct dk_err *err);
/* gguf_sha256 - SHA-256 of the file's bytes as read at open, 64 lowercase
 * hex digits (note 7); "" for gguf_open_buffer() */
const char *gguf_sha256(const struct gguf *g);
void gguf_free(struct gguf *g);
/* gguf_set_writable - our resident copy writable (on) or read-only again,
 * for an in-place transform of the weights (engine/wpack.c): 0, or -1 for
 * a borrowed buffer, a mapped file or a failed mprotect */
int gguf_set_writable(struct gguf *g, int on);

/* gguf_find_key - the kv with that key, or NULL */
const struct gguf_kv *gguf_find_key(const struct gguf *g, const char *key);
/* gguf_find_tensor - the tensor of that name, or NULL */
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name);

int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, struct dk_err *err);
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, struct dk_err *err);
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, struct dk_err *err);
int gguf_get_f32(const struct gguf *g, const char *key, float *out, struct dk_err *err);
int gguf_get_bool(const struct gguf *g, const char *key, int *out, struct dk_err *err);
int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, struct dk_err *err);
/* gguf_get_arr - the array under key whose elements have type elem_type */
int gguf_get_arr(const struct gguf *g, const char *key, uint32_t elem_type,
		 const struct gguf_kv **out, struct dk_err *err);

/* element access for arrays (i < kv->n, element type as named) */
struct gguf_str gguf_arr_str(const struct gguf_kv *kv, uint64_t i);
float gguf_arr_f32(const struct gguf_kv *kv, uint64_t i);
int32_t gguf_arr_i32(const struct gguf_kv *kv, uint64_t i);
/* gguf_arr_int - any integer element type widened to int64 */
int64_t gguf_arr_int(const struct gguf_kv *kv, uint64_t i);

/* gguf_str_eq - s equals the C string c */
int gguf_str_eq(struct gguf_str s, const char *c);
/* gguf_vtype_name - "u32", "string", "array", ... */
const char *gguf_vtype_name(uint32_t t);
/* gguf_vtype_size - bytes of a fixed-size value type, 0 for string/array */
size_t gguf_vtype_size(uint32_t t);

#endif
