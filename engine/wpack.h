/*
 * NAME
 *	wpack - K-quant weights in the matrix tiles' layout, packed once
 * SUMMARY
 *	eng_wpack_model() rewrites, in place and once per model, every
 *	matrix whose type the kernel table has a packed tile for
 *	(mm_packed: Q4_K, Q6_K on AVX-512) into the tile layout of
 *	engine/wpack.c note 1, and marks it (struct eng_mat packed).
 *	eng_mat_row() and eng_mat_dequant_row() read one row of a matrix in
 *	either layout, as the file has it; eng_wpack_tile() and
 *	eng_wpack_block() are the layout rule itself (tests, kbench).
 * OWNERSHIP
 *	eng_wpack_model() writes the model's resident weights (engine/gguf.c
 *	note 6); the row readers write only the caller's buffer.
 * LIFETIME
 *	A packed matrix stays packed until the model is freed.
 * THREADS
 *	eng_wpack_model() runs its own workers, during eng_model_load() (the
 *	model is immutable from then on); the readers are safe.
 * ERRORS
 *	eng_wpack_model(): DK_ENOMEM, DK_EIO (the weights cannot be made
 *	writable, no worker thread).
 */
#ifndef ENGINE_WPACK_H
#define ENGINE_WPACK_H

#include "engine/model.h"

/* eng_wpack_tile - 16 rows of nb blocks of bs bytes at w (row stride
 * nb * bs) into the tile layout, in place; tmp holds 16 * nb * bs bytes */
void eng_wpack_tile(uint8_t *w, size_t bs, int64_t nb, uint8_t *tmp);

/* eng_wpack_block - row r's block (bs bytes, as in the file) from the
 * tile layout's super-block sb (16 * bs bytes) into dst */
void eng_wpack_block(const uint8_t *sb, size_t bs, int r, uint8_t *dst);

/* eng_mat_row - row r of w as the file has it: in place, or unpacked into
 * buf (row_bytes) */
const uint8_t *eng_mat_row(const struct eng_mat *w, int64_t r, uint8_t *buf);

/* eng_mat_dequant_row - row r of w as n_in floats, bitwise
 * ref_dequant_row of the file's row */
void eng_mat_dequant_row(const struct eng_mat *w, int64_t r, float *dst);

int eng_wpack_model(struct eng_model *m, const struct eng_kernels *k, struct dk_err *err);

#endif
