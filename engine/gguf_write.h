/*
 * NAME
 *	gguf_write - write GGUF v3 files (metadata, tensor infos, aligned data)
 * SUMMARY
 *	A writer collects the metadata key/value pairs and the tensor
 *	descriptions (name, shape, type, byte size) in memory, then streams:
 *	gguf_writer_begin() creates "<path>.tmp.<pid>" and writes the header,
 *	gguf_writer_write() appends tensor bytes in declaration order (the
 *	writer inserts the alignment padding between tensors), and
 *	gguf_writer_commit() checks every byte arrived, fsyncs and renames the
 *	file into place. Readers of the path see the old file or the whole new
 *	one, never a torn one.
 *
 *	Array element types are enum gguf_vtype of engine/gguf.h (GGUF's wire
 *	numbers). The writer does not know tensor types: the caller gives each tensor's type id
 *	and byte size (engine/ggml_types computes them).
 * OWNERSHIP
 *	gguf_writer_new() returns a writer owned by the caller; gguf_writer_free()
 *	releases it and, if it was not committed, removes the temporary file.
 *	Keys, strings, names and arrays passed in are copied.
 * LIFETIME
 *	The writer lives until gguf_writer_free().
 * THREADS
 *	Per-object.
 * ERRORS
 *	DK_EINVAL (bad key, duplicate key or tensor name, bad shape, calls out
 *	of order, more or fewer data bytes than declared), DK_ENOMEM, DK_EIO.
 *	After any error the writer refuses further work except gguf_writer_free().
 */
#ifndef DK_GGUF_WRITE_H
#define DK_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

#define GGUF_WRITE_DEFAULT_ALIGNMENT 32
#define GGUF_WRITE_MAX_DIMS 4

struct gguf_writer;

/*
 * gguf_writer_new - an empty writer; alignment is a power of two (32 is
 * GGUF's default; any other value is recorded as general.alignment)
 */
int gguf_writer_new(struct gguf_writer **out, uint32_t alignment,
		    struct dk_err *err);
void gguf_writer_free(struct gguf_writer *w);

/* scalar metadata; keys are unique, non-empty, and not general.alignment */
int gguf_writer_set_u8(struct gguf_writer *w, const char *key, uint8_t v, struct dk_err *err);
int gguf_writer_set_i8(struct gguf_writer *w, const char *key, int8_t v, struct dk_err *err);
int gguf_writer_set_u16(struct gguf_writer *w, const char *key, uint16_t v, struct dk_err *err);
int gguf_writer_set_i16(struct gguf_writer *w, const char *key, int16_t v, struct dk_err *err);
int gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v, struct dk_err *err);
int gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v, struct dk_err *err);
int gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint64_t v, struct dk_err *err);
int gguf_writer_set_i64(struct gguf_writer *w, const char *key, int64_t v, struct dk_err *err);
int gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v, struct dk_err *err);
int gguf_writer_set_f64(struct gguf_writer *w, const char *key, double v, struct dk_err *err);
int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v, struct dk_err *err);
/*
 * gguf_writer_set_val - a scalar of any fixed-size type (enum gguf_vtype),
 * v pointing at its little-endian bytes (used to copy keys between files)
 */
int gguf_writer_set_val(struct gguf_writer *w, const char *key, uint32_t type,
			const void *v, struct dk_err *err);
/* gguf_writer_set_str - a string value of n bytes (may hold any bytes) */
int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *s,
			size_t n, struct dk_err *err);

/*
 * gguf_writer_set_arr - an array of n numbers or bools of type elem_type
 * (enum gguf_vtype), packed little-endian C values (bool: one byte each)
 */
int gguf_writer_set_arr(struct gguf_writer *w, const char *key, uint32_t elem_type,
			const void *vals, uint64_t n, struct dk_err *err);
/* gguf_writer_set_arr_str - an array of n strings, strs[i] of lens[i] bytes */
int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key,
			    const char *const *strs, const size_t *lens, uint64_t n,
			    struct dk_err *err);

/*
 * gguf_writer_add_tensor - declare the next tensor: ne[0] is the fastest
 * dimension (GGUF order), 1 <= n_dims <= 4, every ne[i] >= 1; nbytes is its
 * data size for that type
 */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t n_dims,
			   const uint64_t *ne, uint32_t type, uint64_t nbytes,
			   struct dk_err *err);

/* gguf_writer_begin - create the temporary file beside path, write the header */
int gguf_writer_begin(struct gguf_writer *w, const char *path, struct dk_err *err);

/* gguf_writer_write - append n data bytes; tensors are filled in declaration order */
int gguf_writer_write(struct gguf_writer *w, const void *data, size_t n,
		      struct dk_err *err);

/* gguf_writer_commit - all data written: flush, fsync, rename to path */
int gguf_writer_commit(struct gguf_writer *w, struct dk_err *err);

/* gguf_writer_data_offset - file offset of the data section (valid after begin) */
uint64_t gguf_writer_data_offset(const struct gguf_writer *w);

#endif
