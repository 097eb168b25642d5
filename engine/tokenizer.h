/*
 * NAME
 *	tokenizer - text <-> token ids, the way llama.cpp does it
 * SUMMARY
 *	A struct tok_vocab is built once per model, either from the
 *	tokenizer.ggml.* metadata of a GGUF file (tok_vocab_from_gguf) or from
 *	plain arrays (tok_vocab_build, used by tests and fixture tools). It
 *	then encodes UTF-8 text to ids and decodes ids back to bytes.
 *	Three algorithms, chosen by tokenizer.ggml.model:
 *	  "llama"  SentencePiece-style merge by score with <0xNN> byte
 *	           fallback (llama, mistral, phi-3, gemma3, baichuan);
 *	  "gpt2"   byte-level BPE with merge ranks and a pre-tokenizer chosen
 *	           by tokenizer.ggml.pre (gpt-2, llama-bpe, qwen2, deepseek-*,
 *	           falcon, starcoder, refact, mpt, olmo, ..., default);
 *	  "bert"   WordPiece (greedy longest match, lower-cased, NFD).
 *	Control, user-defined and unknown tokens are split out of the text
 *	before the algorithm runs (user-defined always, control only with
 *	TOK_PARSE_SPECIAL), as llama.cpp's tokenizer_st_partition does.
 * OWNERSHIP
 *	The caller owns the struct tok_vocab and frees it with
 *	tok_vocab_free(). tok_vocab_build() and tok_vocab_from_gguf() copy
 *	every string they need: the spec arrays and the GGUF mapping may go
 *	away afterwards. struct tok_ids is caller storage; its array is
 *	released with tok_ids_release().
 * LIFETIME
 *	Pointers returned by tok_token_text() live as long as the vocab.
 * THREADS
 *	A built vocab is read-only: encode and decode may run from any
 *	number of threads at once. Building is single-threaded.
 * ERRORS
 *	DK_ENOMEM (allocation), DK_EFORMAT (inconsistent metadata: missing
 *	token list, arrays of the wrong length or type, merges absent for
 *	gpt2), DK_EUNSUPPORTED (unknown tokenizer model or pre-tokenizer).
 */
#ifndef DK_TOKENIZER_H
#define DK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

struct gguf;
struct tok_vocab;

/* token types as GGUF stores them in tokenizer.ggml.token_type */
enum tok_type {
	TOK_TYPE_UNDEFINED = 0,
	TOK_TYPE_NORMAL = 1,
	TOK_TYPE_UNKNOWN = 2,
	TOK_TYPE_CONTROL = 3,
	TOK_TYPE_USER_DEFINED = 4,
	TOK_TYPE_UNUSED = 5,
	TOK_TYPE_BYTE = 6,
};

/* encode flags */
#define TOK_ADD_SPECIAL   0x1u	/* add BOS/EOS (CLS/SEP) as the vocab asks */
#define TOK_PARSE_SPECIAL 0x2u	/* "<s>" in the text becomes the control token */

/* decode flags */
#define TOK_REMOVE_SPECIAL  0x1u	/* drop a leading BOS / trailing EOS the vocab adds */
#define TOK_UNPARSE_SPECIAL 0x2u	/* render control tokens as their text */

/*
 * tok_vocab_spec - a vocabulary given as arrays (all borrowed during the
 * build call only). Ids absent from the model are -1. The add_* fields
 * are -1 for "the model type's default".
 */
struct tok_vocab_spec {
	const char *model;		/* "llama", "gpt2", "bert" */
	const char *pre;		/* tokenizer.ggml.pre or NULL */
	const char *name;		/* general.name or NULL */
	uint32_t n_tokens;
	const char *const *tokens;	/* n_tokens strings ... */
	const uint32_t *token_lens;	/* ... of these byte lengths (NULL: strlen) */
	const float *scores;		/* NULL: all 0 */
	const int32_t *types;		/* enum tok_type; NULL: all NORMAL */
	uint32_t n_merges;
	const char *const *merges;	/* "left right" ... */
	const uint32_t *merge_lens;	/* ... of these byte lengths (NULL: strlen) */
	int32_t bos, eos, unk, sep, pad, eot, eom;
	int add_bos, add_eos, add_space_prefix;
};

#define TOK_VOCAB_SPEC_INIT { NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, NULL, \
	-2, -2, -2, -2, -2, -2, -2, -1, -1, -1 }
/* -2 in an id field means "not given: use the model type's default id" */

/* tok_vocab_build - build a vocab from arrays */
int tok_vocab_build(const struct tok_vocab_spec *spec, struct tok_vocab **out,
		    struct dk_err *err);

/* tok_vocab_from_gguf - build a vocab from a GGUF file's tokenizer.ggml.* keys */
int tok_vocab_from_gguf(const struct gguf *g, struct tok_vocab **out,
			struct dk_err *err);

/* tok_vocab_free - free a vocab (NULL is fine) */
void tok_vocab_free(struct tok_vocab *v);

/* growable id array; {NULL, 0, 0} is empty */
struct tok_ids {
	int32_t *v;
	size_t n;
	size_t alloc;
};
#define TOK_IDS_INIT { NULL, 0, 0 }

void tok_ids_release(struct tok_ids *ids);
int tok_ids_push(struct tok_ids *ids, int32_t id);

/* tok_encode - append the ids of text[0..len) to out; DK_ENOMEM on failure */
int tok_encode(const struct tok_vocab *v, const char *text, size_t len,
	       unsigned flags, struct tok_ids *out, struct dk_err *err);

/*
 * tok_decode - append the bytes of ids to out, as llama_detokenize does
 * (leading-space removal for SPM, clean-up of spaces where the vocab asks).
 * Ids out of range are an error (DK_EINVAL).
 */
int tok_decode(const struct tok_vocab *v, const int32_t *ids, size_t n,
	       unsigned flags, struct dk_buf *out, struct dk_err *err);

/*
 * tok_piece - append the bytes of one token to out (llama_token_to_piece):
 * byte tokens give their byte, "▁" becomes a space, byte-level BPE text is
 * mapped back to bytes. Control tokens give nothing unless special is set.
 */
int tok_piece(const struct tok_vocab *v, int32_t id, int special, struct dk_buf *out);

uint32_t tok_n_tokens(const struct tok_vocab *v);
int32_t tok_bos(const struct tok_vocab *v);	/* -1 when none */
int32_t tok_eos(const struct tok_vocab *v);
int32_t tok_eot(const struct tok_vocab *v);
int tok_add_bos(const struct tok_vocab *v);
int tok_add_eos(const struct tok_vocab *v);
/* tok_is_eog - does this id end generation (EOS, EOT, <|im_end|>, ...) */
int tok_is_eog(const struct tok_vocab *v, int32_t id);
/* tok_token_text - the stored text of an id (NUL-terminated), NULL if out of range */
const char *tok_token_text(const struct tok_vocab *v, int32_t id, size_t *len);
/* tok_find - the id whose stored text is exactly s[0..n), or -1 */
int32_t tok_find(const struct tok_vocab *v, const char *s, size_t n);
/* tok_model_name - "llama", "gpt2" or "bert"; tok_pre_name - the pre-tokenizer */
const char *tok_model_name(const struct tok_vocab *v);
const char *tok_pre_name(const struct tok_vocab *v);

#endif
