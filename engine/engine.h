/*
 * NAME
 *	engine - docket's CPU LLM engine: models, contexts, batched evaluation
 * SUMMARY
 *	eng_model_load() maps a GGUF file and checks that it is a model docket
 *	runs (architectures llama, qwen2, qwen3, gemma3, phi3; tensor types
 *	F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K). Weights stay
 *	in the read-only mapping in ggml's block layout, except K-quant
 *	matrices the CPU's matrix tiles read packed: those are rewritten once,
 *	in place, at load (engine/wpack.c).
 *	eng_ctx_new() allocates everything evaluation needs (KV cache for
 *	n_seq_max sequences of n_ctx positions, scratch for n_batch tokens,
 *	logits for n_batch outputs, n_threads - 1 worker threads); eng_decode()
 *	allocates nothing.
 *	A batch is a list of (token, pos, seq, want_logits). Within one
 *	sequence, positions must continue that sequence exactly: the first
 *	entry for seq s has pos == eng_kv_seq_len(ctx, s), the next pos + 1,
 *	and so on (entries of different sequences may interleave). Rewind
 *	with eng_kv_truncate(); fork a shared prefix with eng_kv_share_prefix()
 *	(by reference) or eng_kv_copy_prefix() (a copy).
 * NUMERICS
 *	Activations are quantized per matrix product to the weight type's
 *	ggml "vec_dot_type" (Q8_0/Q8_1/Q8_K blocks, F16/BF16 rows), as
 *	llama.cpp does. The KV cache is F16; queries and attention
 *	probabilities are rounded to F16 before their dot products (again
 *	llama.cpp's arithmetic). Logits are bitwise identical for any
 *	n_threads and for any split of the same tokens into batches: work is
 *	split by output rows, each dot product runs in one fixed order.
 * OWNERSHIP
 *	eng_model_free()/eng_ctx_free() release what load/new returned. A
 *	context borrows its model: free every context first. Pointers returned
 *	by eng_model_hparams(), eng_model_gguf() and eng_logits() are borrowed.
 * LIFETIME
 *	eng_logits() rows stay valid until the next eng_decode() or
 *	eng_ctx_free() on that context. hparams and gguf live as the model.
 *	A sequence given positions by eng_kv_share_prefix() reads them from
 *	the cells of the sequences that evaluated them (resolved at the call)
 *	until it is cleared or truncated below them: meanwhile such an owner
 *	cannot be cleared or truncated below the positions read, nor be the
 *	destination of a copy or share (DK_EINVAL naming the reader; see
 *	eng_kv_shared_len()). Clear or truncate the readers first;
 *	eng_kv_clear(c, -1) clears everything at once.
 * THREADS
 *	A model is immutable after load: share it freely between contexts and
 *	threads. A context is single-caller (it runs its own workers inside
 *	eng_decode()); use one context per calling thread.
 * ERRORS
 *	Functions returning int give 0 or a negative DK_E* code and fill err:
 *	DK_EIO/DK_ENOTFOUND (file), DK_EFORMAT (malformed GGUF or model),
 *	DK_EUNSUPPORTED (architecture, tensor type or RoPE variant docket does
 *	not run; the message names what is supported), DK_EINVAL (bad batch:
 *	token out of range, position gap, unknown sequence, context full),
 *	DK_ENOMEM. After a failed eng_decode() the KV cache of every sequence
 *	in the batch is as before the call.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdint.h>

#include "engine/gguf.h"
#include "util/dk_err.h"

struct eng_model;
struct eng_ctx;

enum eng_arch { ENG_ARCH_LLAMA, ENG_ARCH_QWEN2, ENG_ARCH_QWEN3, ENG_ARCH_GEMMA3, ENG_ARCH_PHI3 };

enum eng_rope_scaling { ENG_ROPE_NONE, ENG_ROPE_LINEAR, ENG_ROPE_YARN };

/* hyperparameters as read from the GGUF (defaults applied) */
struct eng_hparams {
	enum eng_arch arch;
	const char *arch_name;	/* "llama", ... (static string) */
	uint32_t n_vocab;
	uint32_t n_embd;
	uint32_t n_layer;
	uint32_t n_head;
	uint32_t n_head_kv;
	uint32_t head_dim;	/* key_length == value_length */
	uint32_t n_ff;
	uint32_t n_ctx_train;	/* context_length from the metadata */
	uint32_t n_rot;		/* rope.dimension_count (<= head_dim) */
	float rms_eps;
	int rope_neox;		/* 1: pairs (i, i + n_rot/2); 0: (2i, 2i+1) */
	float rope_base;	/* global layers */
	float rope_base_swa;	/* sliding-window layers */
	enum eng_rope_scaling rope_scaling;
	float rope_freq_scale;	/* 1 / rope.scaling.factor (global layers) */
	uint32_t rope_ctx_orig;	/* YaRN original context */
	float yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
	int has_rope_freqs;	/* rope_freqs.weight (Llama 3.1+) */
	uint32_t n_swa;		/* sliding window, 0 = none */
	uint32_t swa_pattern;	/* gemma3: layer il is global iff il % pattern == pattern-1 */
	float attn_scale;	/* softmax scale applied to Q.K */
	float attn_softcap;	/* 0 = none */
	float final_softcap;	/* 0 = none */
	int tied_output;	/* output projection is token_embd */
};

struct eng_ctx_params {
	uint32_t n_ctx;		/* positions per sequence (0: n_ctx_train) */
	uint32_t n_threads;	/* 0: 1 */
	uint32_t n_seq_max;	/* sequences (0: 1) */
	uint32_t n_batch;	/* most tokens per eng_decode() and most outputs (0: 512) */
};

struct eng_batch {
	uint32_t n;
	const int32_t *token;	/* [n] */
	const int32_t *pos;	/* [n] */
	const int32_t *seq;	/* [n], NULL: all sequence 0 */
	const int8_t *logits;	/* [n], NULL: logits for the last entry only */
};

int eng_model_load(const char *path, struct eng_model **out, struct dk_err *err);
/* eng_model_inspect - the same checks, the file mapped as it is (nothing
 * copied or packed): for looking at a model, not for a context */
int eng_model_inspect(const char *path, struct eng_model **out, struct dk_err *err);
/* eng_model_sha256 - SHA-256 of the file's bytes as loaded (64 hex) */
const char *eng_model_sha256(const struct eng_model *m);
void eng_model_free(struct eng_model *m);
const struct eng_hparams *eng_model_hparams(const struct eng_model *m);
/* eng_model_gguf - the parsed file: tokenizer.* keys for the tokenizer */
const struct gguf *eng_model_gguf(const struct eng_model *m);

int eng_ctx_new(struct eng_model *m, const struct eng_ctx_params *p,
		struct eng_ctx **out, struct dk_err *err);
void eng_ctx_free(struct eng_ctx *c);
/* eng_ctx_use_ref_kernels - on: scalar reference dot products from now on
 * (tests compare them with the SIMD kernels chosen at creation) */
void eng_ctx_use_ref_kernels(struct eng_ctx *c, int on);
/* eng_ctx_kernels - name of the dot-product kernels in use ("ref", "avx2", "avx512") */
const char *eng_ctx_kernels(const struct eng_ctx *c);
/* eng_ctx_params - the effective parameters (defaults filled in) */
const struct eng_ctx_params *eng_ctx_params(const struct eng_ctx *c);

/* eng_decode - evaluate a batch; logits of marked entries become readable */
int eng_decode(struct eng_ctx *c, const struct eng_batch *b, struct dk_err *err);
/* eng_logits - n_vocab logits of batch entry i of the last decode, NULL if not requested */
const float *eng_logits(const struct eng_ctx *c, uint32_t i);

/* eng_kv_seq_len - positions held for seq (the next pos to decode) */
uint32_t eng_kv_seq_len(const struct eng_ctx *c, int32_t seq);
/* eng_kv_clear - forget seq, or every sequence when seq < 0 (refused
 * while another sequence reads seq: LIFETIME) */
int eng_kv_clear(struct eng_ctx *c, int32_t seq, struct dk_err *err);
/* eng_kv_truncate - keep positions [0, pos) of seq (refused below what
 * another sequence reads of seq: LIFETIME) */
int eng_kv_truncate(struct eng_ctx *c, int32_t seq, uint32_t pos, struct dk_err *err);
/* eng_kv_copy_prefix - dst becomes a copy of positions [0, n) of src */
int eng_kv_copy_prefix(struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
		       struct dk_err *err);
/* eng_kv_share_prefix - dst becomes positions [0, n) of src by reference:
 * no copy, the same logits as eng_kv_copy_prefix(); dst's own cells from n
 * on. Chains resolve to the cells' owners; DK_ELIMIT past ENG_KV_PARTS
 * (engine/model.h) ranges of different owners */
int eng_kv_share_prefix(struct eng_ctx *c, int32_t src, int32_t dst, uint32_t n,
			struct dk_err *err);
/* eng_kv_shared_len - most positions of seq another sequence reads (0: none) */
uint32_t eng_kv_shared_len(const struct eng_ctx *c, int32_t seq);

/* eng_logsumexp - log(sum(exp(logits))) computed in double */
double eng_logsumexp(const float *logits, uint32_t n);
/* eng_top_k - ids of the k largest logits, descending, ties to the smaller
 * id (NaN never selected); returns how many were written (<= k) */
uint32_t eng_top_k(const float *logits, uint32_t n, uint32_t k, int32_t *ids);

#endif
