/*
 * NAME
 *	mkmodel - random-weight GGUF models of every supported architecture
 * SUMMARY
 *	Test fixtures and benchmark models that llama.cpp and docket both
 *	load: the tensor names, shapes and metadata keys llama.cpp expects for
 *	llama, qwen2, qwen3, gemma3 and phi3, weights drawn like the oracle's
 *	(matrices N(0, 1/fan_in), norms 1 + N(0, 0.1^2), biases N(0, 0.2^2),
 *	token embeddings N(0, s^2) with the oracle's s per architecture at
 *	n_embd 256, times sqrt(256/n_embd) at other widths so logits keep the
 *	oracle's spread), stored in any
 *	tensor type or llama-quantize mixture.
 *
 *	Shapes come from a preset (real models' dimensions), or from an
 *	architecture's defaults (the oracle's tiny shapes), then "--dims"
 *	overrides. Types: the 13 tensor type names, and llama-quantize's file
 *	types (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S,
 *	Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K), whose per-tensor
 *	choices are llama-quantize's (commit c392e509, the oracle's): the
 *	output tensor (the token embedding when tied) to Q6_K or Q8_0,
 *	attn_v/ffn_down/attn_output/attn_qkv bumps, and the fallback of K
 *	types to Q5_0/Q5_1/Q8_0/Q4_0 for rows that are not a multiple of 256.
 *	The bare names Q3_K, Q4_K, Q5_K, and any type with pure set, put every
 *	matrix in that one type (fallbacks still apply).
 *
 *	The tokenizer metadata (every "tokenizer.*" key) is copied from a
 *	vocab GGUF, or, without one, a built-in SentencePiece-style vocab
 *	(<unk> <s> </s>, 256 byte tokens, ASCII pieces, unused fillers, and
 *	<|endoftext|> last) of n_vocab tokens is written; every token text is
 *	unique, as llama.cpp requires.
 *
 *	The same seed gives the same bytes whatever the thread count: every
 *	row draws from its own generator seeded by (seed, tensor, row).
 * OWNERSHIP
 *	struct mkmodel_spec is plain caller storage. mkmodel_plan() fills a
 *	plan that mkmodel_plan_release() frees.
 * LIFETIME
 *	Strings in a spec are borrowed for the duration of the call.
 * THREADS
 *	mkmodel_write() starts spec->threads threads of its own and joins
 *	them before returning. Distinct calls are independent.
 * ERRORS
 *	DK_EINVAL (unknown preset, architecture, type, dimension key or bad
 *	value, shape a type cannot hold), DK_ENOTFOUND / DK_EFORMAT (vocab
 *	file), DK_EIO, DK_ENOMEM.
 */
#ifndef DK_MKMODEL_H
#define DK_MKMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/ggml_types.h"
#include "util/dk_err.h"

enum mkmodel_arch { MK_LLAMA, MK_QWEN2, MK_QWEN3, MK_GEMMA3, MK_PHI3 };

struct mkmodel_dims {
	enum mkmodel_arch arch;
	uint32_t n_embd, n_ff, n_head, n_head_kv, head_dim, n_layer, n_ctx;
	uint32_t n_vocab;	/* 0: the vocab file's size */
	float rope_base;
	float rms_eps;
	uint32_t sliding_window;	/* gemma3, phi3; 0 = key not written */
	float rope_scale_linear;	/* 0 = no rope.scaling keys (gemma3 4B: 8) */
	bool rope_freqs;	/* Llama 3.1+ frequency factors tensor */
	bool tied;		/* no output.weight: output uses token_embd */
};

struct mkmodel_spec {
	struct mkmodel_dims d;
	const char *type;	/* "Q4_K_M", "F16", ... */
	bool pure;		/* one type for every matrix */
	const char *vocab;	/* vocab GGUF, or NULL for the built-in vocab */
	uint64_t seed;
	int threads;		/* >= 1 */
	const char *name;	/* general.name; NULL: derived */
};

struct mkmodel_tensor {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[2];		/* GGUF order: ne[0] is the row length */
	enum ggml_type type;
	int dist;		/* how values are drawn (mkmodel.c) */
	float sigma;
};

struct mkmodel_plan {
	struct mkmodel_tensor *t;
	size_t n;
	uint32_t file_type;	/* general.file_type (llama_ftype) */
};

/* mkmodel_arch_name - "llama", ...; mkmodel_arch_parse - the reverse, or -1 */
const char *mkmodel_arch_name(enum mkmodel_arch a);
int mkmodel_arch_parse(const char *s);

/* mkmodel_arch_defaults - the oracle's tiny shape for an architecture */
void mkmodel_arch_defaults(enum mkmodel_arch a, struct mkmodel_dims *d);

/* mkmodel_preset - real dimensions of a named model; DK_EINVAL if unknown */
int mkmodel_preset(const char *name, struct mkmodel_dims *d, struct dk_err *err);
/* mkmodel_preset_names - NULL-terminated list of the preset names */
const char *const *mkmodel_preset_names(void);

/* mkmodel_set_dims - apply "key=value,key=value" overrides (see docket mkmodel --help) */
int mkmodel_set_dims(struct mkmodel_dims *d, const char *kv, struct dk_err *err);

/* mkmodel_plan - tensor list with types; n_vocab is the vocabulary size to use */
int mkmodel_plan(const struct mkmodel_spec *s, uint32_t n_vocab, struct mkmodel_plan *out,
		 struct dk_err *err);
void mkmodel_plan_release(struct mkmodel_plan *p);

/* mkmodel_write - build the model and write it to path (temp name + rename) */
int mkmodel_write(const struct mkmodel_spec *s, const char *path, struct dk_err *err);

#endif
