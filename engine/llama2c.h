/*
 * NAME
 *	llama2c - convert a llama2.c checkpoint and tokenizer to an F32 GGUF
 * SUMMARY
 *	llama2c_convert() reads Karpathy's llama2.c formats (run.c's
 *	checkpoint: a 7-int Config header then float32 weights; tokenizer.bin:
 *	max_token_length then per token score, length, bytes) and writes an
 *	arch-llama GGUF with every tensor F32, as llama.cpp's
 *	convert-llama2c-to-ggml does: same tensor names, shapes, order and
 *	data, same metadata keys and values, except llama.context_length,
 *	which is the checkpoint's seq_len (llama.cpp's tool writes its own
 *	default of 128 instead).
 * OWNERSHIP
 *	Paths are borrowed. Nothing is returned but the file.
 * LIFETIME
 *	No state outlives the call.
 * THREADS
 *	Safe: no shared state.
 * ERRORS
 *	DK_EIO (cannot read or write), DK_EFORMAT (bad header, sizes that do
 *	not match the file, bad tokenizer), DK_ENOMEM.
 */
#ifndef DK_LLAMA2C_H
#define DK_LLAMA2C_H

#include "util/dk_err.h"

int llama2c_convert(const char *checkpoint, const char *tokenizer, const char *out,
		    struct dk_err *err);

#endif
