/*
 * NAME
 *	mkmodel - random-weight GGUF model generator
 * DESIGN NOTES
 *	1. A model is first a plan: the ordered list of tensors with shape,
 *	   type and value distribution (mkmodel_plan). Writing walks the plan:
 *	   metadata, tensor infos, then each tensor's rows generated,
 *	   converted and streamed through gguf_write in chunks, so memory stays
 *	   at a few chunks whatever the model size.
 *	2. Determinism: row r of tensor "name" draws from a generator seeded
 *	   by hash(seed, name, r). Threads split the rows of a chunk; which
 *	   thread makes a row changes nothing, and a tensor's floats do not
 *	   depend on its type (the F16 and Q4_K_M files of one seed hold the
 *	   same weights before rounding).
 *	3. Type choice follows llama-quantize (src/llama-quant.cpp of commit
 *	   c392e509, the oracle's) for the file types it offers, written from
 *	   its rules, not its code: choose_type() below. i_attention_wv and
 *	   i_ffn_down equal the layer index because every layer has exactly
 *	   one attn_v (or attn_qkv) and one ffn_down. The fallback of K types
 *	   on rows that are not multiples of 256 uses Q4_0 for Q2_K/Q3_K
 *	   (newer llama.cpp; c392e509 picked IQ4_NL, a type docket does not run).
 *	4. Tensor order follows llama.cpp's converters: token_embd,
 *	   rope_freqs, the blocks in order, output_norm, output.
 */
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/mkmodel.h"
#include "engine/quantize.h"

#define CHUNK_BYTES (8u << 20)	/* output bytes generated per round of threads */

enum dist { DIST_NORMAL, DIST_ONE_PLUS, DIST_ROPE_FREQS };

/* Llama 3.1+ rope frequency factors (Llama 3.2 values) */
#define L3_FACTOR 32.0
#define L3_LOW_FREQ 1.0
#define L3_HIGH_FREQ 4.0
#define L3_ORIG_CTX 8192.0

static const char *const arch_names[] = { "llama", "qwen2", "qwen3", "gemma3", "phi3" };

const char *mkmodel_arch_name(enum mkmodel_arch a)
{
	return arch_names[a];
}

int mkmodel_arch_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof arch_names / sizeof arch_names[0]); i++)
		if (strcmp(s, arch_names[i]) == 0)
			return i;
	return -1;
}

/* mkmodel_arch_defaults - the oracle's random models' shapes (oracle README) */
void mkmodel_arch_defaults(enum mkmodel_arch a, struct mkmodel_dims *d)
{
	memset(d, 0, sizeof *d);
	d->arch = a;
	d->n_embd = 256;
	d->n_ff = 768;
	d->n_head = 4;
	d->n_head_kv = 2;
	d->head_dim = 64;
	d->n_layer = a == MK_GEMMA3 ? 6 : 2;
	d->n_ctx = 512;
	d->n_vocab = 32000;
	d->rope_base = a == MK_QWEN2 || a == MK_QWEN3 || a == MK_GEMMA3 ? 1e6f : 10000.f;
	d->rms_eps = a == MK_LLAMA || a == MK_PHI3 ? 1e-5f : 1e-6f;
	d->sliding_window = a == MK_GEMMA3 ? 64 : a == MK_PHI3 ? 2047 : 0;
	d->tied = a != MK_PHI3;
}

struct preset {
	const char *name;
	enum mkmodel_arch arch;
	uint32_t n_embd, n_ff, n_head, n_head_kv, head_dim, n_layer, n_ctx, n_vocab;
	float rope_base, rms_eps;
	uint32_t sliding_window;
	float rope_scale_linear;
	bool rope_freqs, tied;
};

/* real models' config.json values */
static const struct preset presets[] = {
	{ "qwen2.5-0.5b", MK_QWEN2, 896, 4864, 14, 2, 64, 24, 32768, 151936,
	  1e6f, 1e-6f, 0, 0, false, true },
	{ "qwen2.5-1.5b", MK_QWEN2, 1536, 8960, 12, 2, 128, 28, 32768, 151936,
	  1e6f, 1e-6f, 0, 0, false, true },
	{ "qwen3-0.6b", MK_QWEN3, 1024, 3072, 16, 8, 128, 28, 40960, 151936,
	  1e6f, 1e-6f, 0, 0, false, true },
	{ "llama-3.2-1b", MK_LLAMA, 2048, 8192, 32, 8, 64, 16, 131072, 128256,
	  500000.f, 1e-5f, 0, 0, true, true },
	{ "gemma3-1b", MK_GEMMA3, 1152, 6912, 4, 1, 256, 26, 32768, 262144,
	  1e6f, 1e-6f, 512, 0, false, true },
	{ "gemma3-4b", MK_GEMMA3, 2560, 10240, 8, 4, 256, 34, 131072, 262208,
	  1e6f, 1e-6f, 1024, 8.f, false, true },
	{ "phi3-mini", MK_PHI3, 3072, 8192, 32, 32, 96, 32, 4096, 32064,
	  10000.f, 1e-5f, 2047, 0, false, false },
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

const char *const *mkmodel_preset_names(void)
{
	static const char *names[N_PRESETS + 1];

	for (size_t i = 0; i < N_PRESETS; i++)
		names[i] = presets[i].name;
	return names;
}

int mkmodel_preset(const char *name, struct mkmodel_dims *d, struct dk_err *err)
{
	for (size_t i = 0; i < N_PRESETS; i++) {
		const struct preset *p = &presets[i];

		if (strcmp(p->name, name) != 0)
			continue;
		memset(d, 0, sizeof *d);
		d->arch = p->arch;
		d->n_embd = p->n_embd;
		d->n_ff = p->n_ff;
		d->n_head = p->n_head;
		d->n_head_kv = p->n_head_kv;
		d->head_dim = p->head_dim;
		d->n_layer = p->n_layer;
		d->n_ctx = p->n_ctx;
		d->n_vocab = p->n_vocab;
		d->rope_base = p->rope_base;
		d->rms_eps = p->rms_eps;
		d->sliding_window = p->sliding_window;
		d->rope_scale_linear = p->rope_scale_linear;
		d->rope_freqs = p->rope_freqs;
		d->tied = p->tied;
		return 0;
	}
	return dk_err_set(err, DK_EINVAL, "unknown preset '%s'", name);
}

enum dim_kind { DIM_U32, DIM_F32, DIM_BOOL };

static const struct dim_key {
	const char *key;
	enum dim_kind kind;
	size_t off;
} dim_keys[] = {
	{ "n_embd", DIM_U32, offsetof(struct mkmodel_dims, n_embd) },
	{ "n_ff", DIM_U32, offsetof(struct mkmodel_dims, n_ff) },
	{ "n_head", DIM_U32, offsetof(struct mkmodel_dims, n_head) },
	{ "n_head_kv", DIM_U32, offsetof(struct mkmodel_dims, n_head_kv) },
	{ "head_dim", DIM_U32, offsetof(struct mkmodel_dims, head_dim) },
	{ "n_layer", DIM_U32, offsetof(struct mkmodel_dims, n_layer) },
	{ "n_ctx", DIM_U32, offsetof(struct mkmodel_dims, n_ctx) },
	{ "n_vocab", DIM_U32, offsetof(struct mkmodel_dims, n_vocab) },
	{ "sliding_window", DIM_U32, offsetof(struct mkmodel_dims, sliding_window) },
	{ "rope_base", DIM_F32, offsetof(struct mkmodel_dims, rope_base) },
	{ "rms_eps", DIM_F32, offsetof(struct mkmodel_dims, rms_eps) },
	{ "rope_scale", DIM_F32, offsetof(struct mkmodel_dims, rope_scale_linear) },
	{ "tied", DIM_BOOL, offsetof(struct mkmodel_dims, tied) },
	{ "rope_freqs", DIM_BOOL, offsetof(struct mkmodel_dims, rope_freqs) },
};

/* set_dim - one key=value override */
static int set_dim(struct mkmodel_dims *d, const char *key, const char *val,
		   struct dk_err *err)
{
	for (size_t i = 0; i < sizeof dim_keys / sizeof dim_keys[0]; i++) {
		const struct dim_key *k = &dim_keys[i];
		char *field = (char *)d + k->off, *end = NULL;
		unsigned long u;
		float f;

		if (strcmp(key, k->key) != 0)
			continue;
		switch (k->kind) {
		case DIM_U32:
			u = strtoul(val, &end, 10);
			if (*val == 0 || *end != 0 || u > UINT32_MAX)
				break;
			*(uint32_t *)(void *)field = (uint32_t)u;
			return 0;
		case DIM_F32:
			f = strtof(val, &end);
			if (*val == 0 || *end != 0 || !(f >= 0) || isinf(f))
				break;
			*(float *)(void *)field = f;
			return 0;
		case DIM_BOOL:
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
				break;
			*(bool *)(void *)field = val[0] == '1';
			return 0;
		}
		return dk_err_set(err, DK_EINVAL, "dims: bad value '%s' for '%s'", val, key);
	}
	return dk_err_set(err, DK_EINVAL, "dims: unknown key '%s'", key);
}

/* mkmodel_set_dims - parse "key=value,..." */
int mkmodel_set_dims(struct mkmodel_dims *d, const char *kv, struct dk_err *err)
{
	char *copy = strdup(kv), *save = NULL;
	int rc = 0;

	if (copy == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL) {
			rc = dk_err_set(err, DK_EINVAL, "dims: '%s' is not key=value", tok);
			break;
		}
		*eq = 0;
		rc = set_dim(d, tok, eq + 1, err);
	}
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------- types */

enum ftype_id {
	FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8,
	FT_Q5_1 = 9, FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13,
	FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18,
	FT_BF16 = 32,
};

struct ftype {
	const char *name;
	enum ftype_id ft;	/* general.file_type */
	enum ggml_type base;	/* default type of a matrix */
	bool pure;		/* no per-tensor rules */
};

static const struct ftype ftypes[] = {
	{ "F32", FT_F32, GGML_TYPE_F32, false },
	{ "F16", FT_F16, GGML_TYPE_F16, false },
	{ "BF16", FT_BF16, GGML_TYPE_BF16, false },
	{ "Q4_0", FT_Q4_0, GGML_TYPE_Q4_0, false },
	{ "Q4_1", FT_Q4_1, GGML_TYPE_Q4_1, false },
	{ "Q5_0", FT_Q5_0, GGML_TYPE_Q5_0, false },
	{ "Q5_1", FT_Q5_1, GGML_TYPE_Q5_1, false },
	{ "Q8_0", FT_Q8_0, GGML_TYPE_Q8_0, false },
	{ "Q2_K", FT_Q2_K, GGML_TYPE_Q2_K, false },
	{ "Q3_K_S", FT_Q3_K_S, GGML_TYPE_Q3_K, false },
	{ "Q3_K_M", FT_Q3_K_M, GGML_TYPE_Q3_K, false },
	{ "Q3_K_L", FT_Q3_K_L, GGML_TYPE_Q3_K, false },
	{ "Q4_K_S", FT_Q4_K_S, GGML_TYPE_Q4_K, false },
	{ "Q4_K_M", FT_Q4_K_M, GGML_TYPE_Q4_K, false },
	{ "Q5_K_S", FT_Q5_K_S, GGML_TYPE_Q5_K, false },
	{ "Q5_K_M", FT_Q5_K_M, GGML_TYPE_Q5_K, false },
	{ "Q6_K", FT_Q6_K, GGML_TYPE_Q6_K, false },
	/* tensor type names that are no llama-quantize file type: one type throughout */
	{ "Q3_K", FT_Q3_K_S, GGML_TYPE_Q3_K, true },
	{ "Q4_K", FT_Q4_K_S, GGML_TYPE_Q4_K, true },
	{ "Q5_K", FT_Q5_K_S, GGML_TYPE_Q5_K, true },
};

static const struct ftype *find_ftype(const char *name)
{
	for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
		if (strcmp(ftypes[i].name, name) == 0)
			return &ftypes[i];
	return NULL;
}

enum category { CAT_OTHER, CAT_TOKEN_EMBD, CAT_OUTPUT, CAT_ATTN_V, CAT_ATTN_QKV,
		CAT_ATTN_OUTPUT, CAT_FFN_DOWN };

static enum category categorize(const char *name)
{
	if (strcmp(name, "token_embd.weight") == 0)
		return CAT_TOKEN_EMBD;
	if (strcmp(name, "output.weight") == 0)
		return CAT_OUTPUT;
	if (strstr(name, "attn_v.weight") != NULL)
		return CAT_ATTN_V;
	if (strstr(name, "attn_qkv.weight") != NULL)
		return CAT_ATTN_QKV;
	if (strstr(name, "attn_output.weight") != NULL)
		return CAT_ATTN_OUTPUT;
	if (strstr(name, "ffn_down") != NULL)
		return CAT_FFN_DOWN;
	return CAT_OTHER;
}

/* use_more_bits - llama-quantize's choice of layers that get a bigger type */
static bool use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

struct type_ctx {
	const struct ftype *ft;
	bool pure;
	bool tied;
	int n_layer, n_gqa;
};

static enum ggml_type attn_v_type(const struct type_ctx *c, int i, enum ggml_type t)
{
	switch (c->ft->ft) {
	case FT_Q2_K: return c->n_gqa >= 4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q3_K;
	case FT_Q3_K_M: return i < 2 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
	case FT_Q3_K_L: return GGML_TYPE_Q5_K;
	case FT_Q4_K_M: case FT_Q5_K_M:
		return use_more_bits(i, c->n_layer) ? GGML_TYPE_Q6_K : t;
	case FT_Q4_K_S: return i < 4 ? GGML_TYPE_Q5_K : t;
	default: return t;
	}
}

static enum ggml_type ffn_down_type(const struct type_ctx *c, int i, enum ggml_type t)
{
	int n = c->n_layer;

	switch (c->ft->ft) {
	case FT_Q2_K: return GGML_TYPE_Q3_K;
	case FT_Q3_K_M: return i < n / 16 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
	case FT_Q3_K_L: return GGML_TYPE_Q5_K;
	case FT_Q4_K_M: case FT_Q5_K_M:
		return use_more_bits(i, n) ? GGML_TYPE_Q6_K : t;
	case FT_Q4_K_S: return i < n / 8 ? GGML_TYPE_Q5_K : t;
	default: return t;
	}
}

/* mixture_type - llama-quantize's per-tensor rules (note 3) */
static enum ggml_type mixture_type(const struct type_ctx *c, enum category cat, int layer,
				   uint64_t ne0)
{
	enum ggml_type t = c->ft->base;
	enum ftype_id f = c->ft->ft;

	/* a tied embedding is quantized as the output tensor it also is */
	if (cat == CAT_TOKEN_EMBD && c->tied)
		cat = CAT_OUTPUT;
	switch (cat) {
	case CAT_OUTPUT:
		if (ne0 % QK_K != 0)
			return GGML_TYPE_Q8_0;
		return t == GGML_TYPE_Q8_0 ? t : GGML_TYPE_Q6_K;
	case CAT_ATTN_V:
		return attn_v_type(c, layer, t);
	case CAT_FFN_DOWN:
		return ffn_down_type(c, layer, t);
	case CAT_ATTN_OUTPUT:
		return f == FT_Q2_K ? GGML_TYPE_Q3_K : f == FT_Q3_K_M ? GGML_TYPE_Q4_K :
		       f == FT_Q3_K_L ? GGML_TYPE_Q5_K : t;
	case CAT_ATTN_QKV:
		return f == FT_Q3_K_M || f == FT_Q3_K_L ? GGML_TYPE_Q4_K :
		       f == FT_Q4_K_M ? GGML_TYPE_Q5_K : f == FT_Q5_K_M ? GGML_TYPE_Q6_K : t;
	default:
		return t;
	}
}

/* fallback_type - a type whose block fits rows of ne0 elements, or -1 */
static int fallback_type(enum ggml_type t, uint64_t ne0)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t);

	if (ne0 % tt->blck_size == 0)
		return (int)t;
	switch (t) {
	case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: t = GGML_TYPE_Q4_0; break;
	case GGML_TYPE_Q4_K: t = GGML_TYPE_Q5_0; break;
	case GGML_TYPE_Q5_K: t = GGML_TYPE_Q5_1; break;
	case GGML_TYPE_Q6_K: t = GGML_TYPE_Q8_0; break;
	default: return -1;
	}
	return ne0 % ggml_type_traits(t)->blck_size == 0 ? (int)t : (int)GGML_TYPE_F16;
}

/* quantizable - llama-quantize converts only 2-D weights that are not norms */
static bool quantizable(const struct mkmodel_tensor *t)
{
	size_t n = strlen(t->name);

	return t->n_dims >= 2 && n > 6 && strcmp(t->name + n - 6, "weight") == 0 &&
	       strstr(t->name, "_norm.weight") == NULL;
}

static int choose_type(const struct type_ctx *c, struct mkmodel_tensor *t,
		       struct dk_err *err)
{
	int layer = 0, r;
	enum ggml_type ty = c->ft->base;

	if (!quantizable(t)) {
		t->type = GGML_TYPE_F32;
		return 0;
	}
	if (ggml_type_traits(ty)->is_quantized) {
		sscanf(t->name, "blk.%d.", &layer);
		if (!c->pure)
			ty = mixture_type(c, categorize(t->name), layer, t->ne[0]);
	}
	r = fallback_type(ty, t->ne[0]);
	if (r < 0)
		return dk_err_set(err, DK_EINVAL,
				  "tensor '%s': rows of %llu elements do not fit type %s",
				  t->name, (unsigned long long)t->ne[0], ggml_type_name(ty));
	t->type = (enum ggml_type)r;
	return 0;
}

/* ---------------------------------------------------------------- plan */

struct plan_builder {
	struct mkmodel_plan *p;
	size_t alloc;
	int rc;
	struct dk_err *err;
};

static void add(struct plan_builder *b, const char *name, uint64_t ne0, uint64_t ne1,
		int dist, float sigma)
{
	struct mkmodel_tensor *t;

	if (b->rc != 0)
		return;
	if (b->p->n == b->alloc) {
		size_t na = b->alloc ? 2 * b->alloc : 64;

		t = realloc(b->p->t, na * sizeof *t);
		if (t == NULL) {
			b->rc = dk_err_set(b->err, DK_ENOMEM, "out of memory");
			return;
		}
		b->p->t = t;
		b->alloc = na;
	}
	t = &b->p->t[b->p->n++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->n_dims = ne1 ? 2 : 1;
	t->ne[0] = ne0;
	t->ne[1] = ne1 ? ne1 : 1;
	t->dist = dist;
	t->sigma = sigma;
}

static void add_blk(struct plan_builder *b, uint32_t il, const char *what,
		    uint64_t ne0, uint64_t ne1, int dist, float sigma)
{
	char name[64];

	snprintf(name, sizeof name, "blk.%u.%s", il, what);
	add(b, name, ne0, ne1, dist, sigma);
}

/* matrix - N(0, 1/fan_in), fan_in being the row length */
static void matrix(struct plan_builder *b, uint32_t il, const char *what,
		   uint64_t ne0, uint64_t ne1)
{
	add_blk(b, il, what, ne0, ne1, DIST_NORMAL, (float)(1.0 / sqrt((double)ne0)));
}

static void norm(struct plan_builder *b, uint32_t il, const char *what, uint64_t n)
{
	add_blk(b, il, what, n, 0, DIST_ONE_PLUS, 0.1f);
}

/* add_layer - one block's tensors in llama.cpp's names and shapes */
static void add_layer(struct plan_builder *b, const struct mkmodel_dims *d, uint32_t il)
{
	uint64_t e = d->n_embd, q = (uint64_t)d->n_head * d->head_dim;
	uint64_t kv = (uint64_t)d->n_head_kv * d->head_dim, f = d->n_ff;

	norm(b, il, "attn_norm.weight", e);
	if (d->arch == MK_PHI3) {
		matrix(b, il, "attn_qkv.weight", e, q + 2 * kv);
	} else {
		matrix(b, il, "attn_q.weight", e, q);
		matrix(b, il, "attn_k.weight", e, kv);
		matrix(b, il, "attn_v.weight", e, kv);
	}
	if (d->arch == MK_QWEN2) {
		add_blk(b, il, "attn_q.bias", q, 0, DIST_NORMAL, 0.2f);
		add_blk(b, il, "attn_k.bias", kv, 0, DIST_NORMAL, 0.2f);
		add_blk(b, il, "attn_v.bias", kv, 0, DIST_NORMAL, 0.2f);
	}
	if (d->arch == MK_QWEN3 || d->arch == MK_GEMMA3) {
		norm(b, il, "attn_q_norm.weight", d->head_dim);
		norm(b, il, "attn_k_norm.weight", d->head_dim);
	}
	matrix(b, il, "attn_output.weight", q, e);
	if (d->arch == MK_GEMMA3)
		norm(b, il, "post_attention_norm.weight", e);
	norm(b, il, "ffn_norm.weight", e);
	if (d->arch == MK_PHI3) {
		matrix(b, il, "ffn_up.weight", e, 2 * f);
	} else {
		matrix(b, il, "ffn_gate.weight", e, f);
		matrix(b, il, "ffn_up.weight", e, f);
	}
	matrix(b, il, "ffn_down.weight", f, e);
	if (d->arch == MK_GEMMA3)
		norm(b, il, "post_ffw_norm.weight", e);
}

/*
 * vocab_sigma - std of token_embd (and a separate output): the oracle's
 * per architecture at n_embd 256, scaled by sqrt(256/n_embd) so that
 * logits (sums over n_embd) keep the oracle's spread at real widths
 */
static float vocab_sigma(enum mkmodel_arch a, uint32_t n_embd, bool output)
{
	float base = output ? 0.125f : a == MK_GEMMA3 ? 0.06f : a == MK_PHI3 ? 0.5f : 0.125f;

	return base * sqrtf(256.0f / (float)n_embd);
}

static int check_dims(const struct mkmodel_dims *d, uint32_t n_vocab, struct dk_err *err)
{
	if (d->n_embd == 0 || d->n_ff == 0 || d->n_head == 0 || d->n_head_kv == 0 ||
	    d->head_dim == 0 || d->n_layer == 0 || d->n_ctx == 0 || n_vocab == 0)
		return dk_err_set(err, DK_EINVAL, "model dimensions must be positive");
	if (d->n_head % d->n_head_kv != 0)
		return dk_err_set(err, DK_EINVAL, "n_head %u is not a multiple of n_head_kv %u",
				  d->n_head, d->n_head_kv);
	if (d->head_dim % 2 != 0)
		return dk_err_set(err, DK_EINVAL, "head_dim %u is odd", d->head_dim);
	if (d->n_layer > 1000 || d->n_embd > 65536 || d->n_ff > 262144 ||
	    d->n_head > 1024 || d->head_dim > 1024)
		return dk_err_set(err, DK_EINVAL, "model dimensions out of range");
	if (!(d->rope_base > 0) || !(d->rms_eps > 0))
		return dk_err_set(err, DK_EINVAL, "rope_base and rms_eps must be positive");
	return 0;
}

/* mkmodel_plan - every tensor of the model, typed */
int mkmodel_plan(const struct mkmodel_spec *s, uint32_t n_vocab, struct mkmodel_plan *out,
		 struct dk_err *err)
{
	const struct mkmodel_dims *d = &s->d;
	const struct ftype *ft = find_ftype(s->type ? s->type : "");
	struct plan_builder b = { out, 0, 0, err };
	struct type_ctx c;
	int rc;

	memset(out, 0, sizeof *out);
	if (ft == NULL)
		return dk_err_set(err, DK_EINVAL, "unknown model type '%s'", s->type ? s->type : "");
	rc = check_dims(d, n_vocab, err);
	if (rc != 0)
		return rc;
	out->file_type = ft->ft;
	add(&b, "token_embd.weight", d->n_embd, n_vocab, DIST_NORMAL,
	    vocab_sigma(d->arch, d->n_embd, false));
	if (d->rope_freqs)
		add(&b, "rope_freqs.weight", d->head_dim / 2, 0, DIST_ROPE_FREQS, 0);
	for (uint32_t il = 0; il < d->n_layer; il++)
		add_layer(&b, d, il);
	add(&b, "output_norm.weight", d->n_embd, 0, DIST_ONE_PLUS, 0.1f);
	if (!d->tied)
		add(&b, "output.weight", d->n_embd, n_vocab, DIST_NORMAL,
		    vocab_sigma(d->arch, d->n_embd, true));
	if (b.rc != 0) {
		mkmodel_plan_release(out);
		return b.rc;
	}
	c.ft = ft;
	c.pure = ft->pure || s->pure;
	c.tied = d->tied;
	c.n_layer = (int)d->n_layer;
	c.n_gqa = (int)(d->n_head / d->n_head_kv);
	for (size_t i = 0; i < out->n && rc == 0; i++)
		rc = choose_type(&c, &out->t[i], err);
	if (rc != 0)
		mkmodel_plan_release(out);
	return rc;
}

void mkmodel_plan_release(struct mkmodel_plan *p)
{
	free(p->t);
	p->t = NULL;
	p->n = 0;
}

/* ---------------------------------------------------------------- vocab */

/*
 * builtin_piece - the text of NORMAL piece k of the built-in vocab, or -1
 * past the end; every text is unique (llama.cpp refuses duplicate tokens)
 */
static int builtin_piece(uint32_t k, char *buf, size_t size)
{
	static const char *const words[] = {
		"the", "and", "to", "of", "in", "is", "was", "it", "for", "on",
		"with", "he", "she", "they", "you", "that", "this", "at", "by", "from",
		"Once", "upon", "time", "there", "little", "day", "big", "happy", "said",
	};
	const uint32_t n_ascii = 0x7e - 0x21 + 1;

	if (k == 0)
		return snprintf(buf, size, "\xe2\x96\x81");	/* "▁", SentencePiece's space */
	k--;
	if (k < n_ascii)
		return snprintf(buf, size, "%c", (char)(0x21 + k));
	k -= n_ascii;
	if (k < 26)
		return snprintf(buf, size, "\xe2\x96\x81%c", (char)('a' + k));
	k -= 26;
	if (k < sizeof words / sizeof words[0])
		return snprintf(buf, size, "\xe2\x96\x81%s", words[k]);
	return -1;
}

/* token types as llama.cpp numbers them */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_UNUSED = 5, TT_BYTE = 6 };

/* write_builtin_vocab - <unk> <s> </s>, <0xNN> bytes, pieces, <unused_N>, <|endoftext|> */
static int write_builtin_vocab(struct gguf_writer *w, uint32_t n, struct dk_err *err)
{
	char **strs = calloc(n, sizeof *strs);
	size_t *lens = calloc(n, sizeof *lens);
	float *scores = calloc(n, sizeof *scores);
	int32_t *types = calloc(n, sizeof *types);
	int rc = 0;

	if (strs == NULL || lens == NULL || scores == NULL || types == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		char buf[32];
		int len;

		if (i < 3) {
			len = snprintf(buf, sizeof buf, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
			types[i] = i == 0 ? TT_UNKNOWN : TT_CONTROL;
		} else if (i < 3 + 256) {
			len = snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
			types[i] = TT_BYTE;
		} else if ((len = builtin_piece(i - 259, buf, sizeof buf)) >= 0) {
			types[i] = TT_NORMAL;
			scores[i] = -(float)(i - 259);
		} else if (i == n - 1) {
			/* llama.cpp looks this one up by text in models named "phi3" */
			len = snprintf(buf, sizeof buf, "<|endoftext|>");
			types[i] = TT_CONTROL;
		} else {
			len = snprintf(buf, sizeof buf, "<unused_%u>", i);
			types[i] = TT_UNUSED;
			scores[i] = -1e9f;
		}
		strs[i] = strdup(buf);
		lens[i] = (size_t)len;
		if (strs[i] == NULL)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	if (rc == 0 && n < 259)
		rc = dk_err_set(err, DK_EINVAL, "the built-in vocab needs n_vocab >= 259, not %u", n);
	if (rc == 0)
		rc = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", 5, err);
	if (rc == 0)
		rc = gguf_writer_set_str(w, "tokenizer.ggml.pre", "default", 7, err);
	if (rc == 0)
		rc = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
					     (const char *const *)strs, lens, n, err);
	if (rc == 0)
		rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores, n, err);
	if (rc == 0)
		rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, n, err);
	if (rc == 0)
		rc = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1, err);
	if (rc == 0)
		rc = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2, err);
	if (rc == 0)
		rc = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0, err);
	if (rc == 0)
		rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true, err);
	if (rc == 0)
		rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false, err);
	for (uint32_t i = 0; strs != NULL && i < n; i++)
		free(strs[i]);
	free(strs);
	free(lens);
	free(scores);
	free(types);
	return rc;
}

/* copy_kv - one metadata pair from a reader to the writer, same type */
static int copy_kv(struct gguf_writer *w, const struct gguf_kv *kv, const char *key,
		   struct dk_err *err)
{
	if (kv->type == GGUF_VT_STRING) {
		uint64_t len;

		memcpy(&len, kv->val, sizeof len);
		return gguf_writer_set_str(w, key, (const char *)kv->val + 8, (size_t)len, err);
	}
	if (kv->type != GGUF_VT_ARRAY)
		return gguf_writer_set_val(w, key, kv->type, kv->val, err);
	if (kv->arr_type == GGUF_VT_STRING) {
		const char **strs = malloc((kv->n ? kv->n : 1) * sizeof *strs);
		size_t *lens = malloc((kv->n ? kv->n : 1) * sizeof *lens);
		int rc;

		if (strs == NULL || lens == NULL) {
			free(strs);
			free(lens);
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		}
		for (uint64_t i = 0; i < kv->n; i++) {
			struct gguf_str s = gguf_arr_str(kv, i);

			strs[i] = s.s;
			lens[i] = s.len;
		}
		rc = gguf_writer_set_arr_str(w, key, strs, lens, kv->n, err);
		free(strs);
		free(lens);
		return rc;
	}
	if (kv->arr_type == GGUF_VT_ARRAY)
		return dk_err_set(err, DK_EUNSUPPORTED, "vocab key '%s' is an array of arrays", key);
	return gguf_writer_set_arr(w, key, kv->arr_type, kv->val, kv->n, err);
}

/* copy_vocab - every tokenizer.* key of the vocab file, in its order */
static int copy_vocab(struct gguf_writer *w, const struct gguf *v, struct dk_err *err)
{
	int rc = 0;

	for (uint64_t i = 0; i < v->n_kv && rc == 0; i++) {
		const struct gguf_kv *kv = &v->kv[i];
		char key[256];

		if (kv->key.len < 10 || kv->key.len >= sizeof key ||
		    memcmp(kv->key.s, "tokenizer.", 10) != 0)
			continue;
		memcpy(key, kv->key.s, kv->key.len);
		key[kv->key.len] = 0;
		rc = copy_kv(w, kv, key, err);
	}
	return rc;
}

/* vocab_size - token count of a vocab GGUF */
static int vocab_size(const struct gguf *v, const char *path, uint32_t *n, struct dk_err *err)
{
	const struct gguf_kv *kv;
	int rc = gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_VT_STRING, &kv, err);

	if (rc == DK_ENOTFOUND)
		return dk_err_set(err, DK_EFORMAT, "'%s' has no tokenizer.ggml.tokens", path);
	if (rc != 0)
		return rc;
	if (kv->n == 0 || kv->n > UINT32_MAX)
		return dk_err_set(err, DK_EFORMAT, "'%s': bad vocabulary size", path);
	*n = (uint32_t)kv->n;
	return 0;
}

/* ---------------------------------------------------------------- metadata */

struct kw {
	struct gguf_writer *w;
	const char *arch;
	int rc;
	struct dk_err *err;
};

static void arch_u32(struct kw *k, const char *suffix, uint32_t v)
{
	char key[128];

	snprintf(key, sizeof key, "%s.%s", k->arch, suffix);
	if (k->rc == 0)
		k->rc = gguf_writer_set_u32(k->w, key, v, k->err);
}

static void arch_f32(struct kw *k, const char *suffix, float v)
{
	char key[128];

	snprintf(key, sizeof key, "%s.%s", k->arch, suffix);
	if (k->rc == 0)
		k->rc = gguf_writer_set_f32(k->w, key, v, k->err);
}

static int write_general(struct gguf_writer *w, const struct mkmodel_spec *s,
			 struct dk_err *err)
{
	const char *arch = mkmodel_arch_name(s->d.arch);
	char name[160];
	int rc;

	/*
	 * the default leaves the architecture out: llama.cpp looks up
	 * "<|endoftext|>" in any model whose name contains "phi3"
	 */
	if (s->name != NULL)
		snprintf(name, sizeof name, "%s", s->name);
	else
		snprintf(name, sizeof name, "docket-mkmodel-%s", s->type);
	rc = gguf_writer_set_str(w, "general.architecture", arch, strlen(arch), err);
	if (rc == 0)
		rc = gguf_writer_set_str(w, "general.type", "model", 5, err);
	if (rc == 0)
		rc = gguf_writer_set_str(w, "general.name", name, strlen(name), err);
	return rc;
}

/* write_hparams - "<arch>.*" keys, as llama.cpp's converters name them */
static int write_hparams(struct gguf_writer *w, const struct mkmodel_dims *d,
			 struct dk_err *err)
{
	struct kw k = { w, mkmodel_arch_name(d->arch), 0, err };

	arch_u32(&k, "block_count", d->n_layer);
	arch_u32(&k, "context_length", d->n_ctx);
	arch_u32(&k, "embedding_length", d->n_embd);
	arch_u32(&k, "feed_forward_length", d->n_ff);
	arch_u32(&k, "attention.head_count", d->n_head);
	arch_u32(&k, "attention.head_count_kv", d->n_head_kv);
	arch_u32(&k, "attention.key_length", d->head_dim);
	arch_u32(&k, "attention.value_length", d->head_dim);
	arch_u32(&k, "rope.dimension_count", d->head_dim);
	arch_f32(&k, "attention.layer_norm_rms_epsilon", d->rms_eps);
	arch_f32(&k, "rope.freq_base", d->rope_base);
	if (d->sliding_window != 0)
		arch_u32(&k, "attention.sliding_window", d->sliding_window);
	if (d->rope_scale_linear != 0 && k.rc == 0) {
		char key[128];

		snprintf(key, sizeof key, "%s.rope.scaling.type", k.arch);
		k.rc = gguf_writer_set_str(w, key, "linear", 6, err);
		arch_f32(&k, "rope.scaling.factor", d->rope_scale_linear);
	}
	return k.rc;
}

/* ---------------------------------------------------------------- weights */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* fill_normal - n values N(mean, sigma^2) by Box-Muller (note 2) */
static void fill_normal(float *x, uint64_t n, uint64_t *rng, float mean, float sigma)
{
	const float two_pi = 6.28318530717958647692f;

	for (uint64_t i = 0; i < n; i += 2) {
		uint64_t r = splitmix(rng);
		/* two 24-bit uniforms; u1 in (0, 1] keeps the log finite */
		float u1 = (float)((r >> 40) + 1) * 0x1p-24f;
		float u2 = (float)((r >> 16) & 0xffffff) * 0x1p-24f;
		float rad = sqrtf(-2.0f * logf(u1)) * sigma;

		x[i] = mean + rad * cosf(two_pi * u2);
		if (i + 1 < n)
			x[i + 1] = mean + rad * sinf(two_pi * u2);
	}
}

/* rope_freq_factors - Llama 3.1+ per-frequency divisors, as convert_hf_to_gguf computes */
static void rope_freq_factors(float *x, uint64_t n, double base)
{
	double dim = 2.0 * (double)n;
	double low_wl = L3_ORIG_CTX / L3_LOW_FREQ, high_wl = L3_ORIG_CTX / L3_HIGH_FREQ;

	for (uint64_t i = 0; i < n; i++) {
		double freq = 1.0 / pow(base, (double)(2 * i) / dim);
		double wl = 2.0 * M_PI / freq;

		if (wl < high_wl) {
			x[i] = 1.0f;
		} else if (wl > low_wl) {
			x[i] = (float)L3_FACTOR;
		} else {
			double smooth = (L3_ORIG_CTX / wl - L3_LOW_FREQ) / (L3_HIGH_FREQ - L3_LOW_FREQ);

			x[i] = (float)(1.0 / ((1.0 - smooth) / L3_FACTOR + smooth));
		}
	}
}

/* gen_row - the floats of row r of tensor t (note 2) */
static void gen_row(const struct mkmodel_tensor *t, uint64_t seed, float rope_base,
		     uint64_t r, float *x)
{
	uint64_t rng = seed ^ name_hash(t->name);

	rng = splitmix(&rng) ^ (r * 0xd1342543de82ef95ull);
	switch (t->dist) {
	case DIST_ROPE_FREQS:
		rope_freq_factors(x, t->ne[0], rope_base);
		break;
	case DIST_ONE_PLUS:
		fill_normal(x, t->ne[0], &rng, 1.0f, t->sigma);
		break;
	default:
		fill_normal(x, t->ne[0], &rng, 0.0f, t->sigma);
		break;
	}
}

struct job {
	const struct mkmodel_tensor *t;
	uint64_t seed;
	float rope_base;
	uint64_t row0, row1;	/* rows [row0, row1) of the tensor */
	unsigned char *out;	/* where row0 goes */
	size_t row_bytes;
	float *scratch;		/* ne[0] floats */
};

static void *run_job(void *arg)
{
	struct job *j = arg;

	for (uint64_t r = j->row0; r < j->row1; r++) {
		gen_row(j->t, j->seed, j->rope_base, r, j->scratch);
		quant_row(j->t->type, j->scratch, j->out + (r - j->row0) * j->row_bytes,
			  (int64_t)j->t->ne[0]);
	}
	return NULL;
}

struct gen {
	int threads;
	struct job *jobs;
	pthread_t *tid;
	unsigned char *buf;
	size_t buf_size;
};

/* gen_chunk - rows [r0, r1) into g->buf, split over the threads */
static int gen_chunk(struct gen *g, uint64_t r0, uint64_t r1, struct dk_err *err)
{
	uint64_t n = r1 - r0, per = (n + (uint64_t)g->threads - 1) / (uint64_t)g->threads;
	int started = 0, rc = 0;

	for (int i = 0; i < g->threads; i++) {
		struct job *j = &g->jobs[i];
		uint64_t a = r0 + per * (uint64_t)i, b = a + per;

		j->row0 = a < r1 ? a : r1;
		j->row1 = b < r1 ? b : r1;
		j->out = g->buf + (j->row0 - r0) * j->row_bytes;
	}
	for (int i = 1; i < g->threads; i++) {
		if (pthread_create(&g->tid[i], NULL, run_job, &g->jobs[i]) != 0) {
			rc = dk_err_set(err, DK_ENOMEM, "cannot start a thread");
			break;
		}
		started = i;
	}
	if (rc == 0)
		run_job(&g->jobs[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(g->tid[i], NULL);
	return rc;
}

/* write_tensor - generate, convert and stream one tensor (note 1) */
static int write_tensor(struct gguf_writer *w, struct gen *g, const struct mkmodel_tensor *t,
			const struct mkmodel_spec *s, struct dk_err *err)
{
	size_t row_bytes = ggml_row_size(t->type, t->ne[0]);
	uint64_t rows_per = g->buf_size / row_bytes;
	int rc = 0;

	if (rows_per == 0)
		rows_per = 1;
	for (int i = 0; i < g->threads; i++) {
		struct job *j = &g->jobs[i];

		j->t = t;
		j->seed = s->seed;
		j->rope_base = s->d.rope_base;
		j->row_bytes = row_bytes;
	}
	for (uint64_t r = 0; r < t->ne[1] && rc == 0; r += rows_per) {
		uint64_t r1 = r + rows_per < t->ne[1] ? r + rows_per : t->ne[1];

		rc = gen_chunk(g, r, r1, err);
		if (rc == 0)
			rc = gguf_writer_write(w, g->buf, (size_t)(r1 - r) * row_bytes, err);
	}
	return rc;
}

static int gen_init(struct gen *g, const struct mkmodel_plan *p, int threads,
		    struct dk_err *err)
{
	size_t max_row = 0, max_ne0 = 0;

	memset(g, 0, sizeof *g);
	g->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	for (size_t i = 0; i < p->n; i++) {
		size_t rb = ggml_row_size(p->t[i].type, p->t[i].ne[0]);

		max_row = rb > max_row ? rb : max_row;
		max_ne0 = p->t[i].ne[0] > max_ne0 ? p->t[i].ne[0] : max_ne0;
	}
	g->buf_size = max_row > CHUNK_BYTES ? max_row : CHUNK_BYTES;
	g->buf = malloc(g->buf_size);
	g->jobs = calloc((size_t)g->threads, sizeof *g->jobs);
	g->tid = calloc((size_t)g->threads, sizeof *g->tid);
	if (g->buf == NULL || g->jobs == NULL || g->tid == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (int i = 0; i < g->threads; i++) {
		g->jobs[i].scratch = malloc((max_ne0 + 1) * sizeof(float));
		if (g->jobs[i].scratch == NULL)
			return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	return 0;
}

static void gen_release(struct gen *g)
{
	for (int i = 0; g->jobs != NULL && i < g->threads; i++)
		free(g->jobs[i].scratch);
	free(g->jobs);
	free(g->tid);
	free(g->buf);
}

/* write_model - metadata, tensor infos, data */
static int write_model(struct gguf_writer *w, const struct mkmodel_spec *s,
		       const struct mkmodel_plan *p, const struct gguf *vocab,
		       uint32_t n_vocab, const char *path, struct dk_err *err)
{
	struct gen g;
	int rc = write_general(w, s, err);

	if (rc == 0)
		rc = write_hparams(w, &s->d, err);
	if (rc == 0)
		rc = vocab ? copy_vocab(w, vocab, err) : write_builtin_vocab(w, n_vocab, err);
	if (rc == 0)
		rc = gguf_writer_set_u32(w, "general.quantization_version", 2, err);
	if (rc == 0)
		rc = gguf_writer_set_u32(w, "general.file_type", p->file_type, err);
	for (size_t i = 0; i < p->n && rc == 0; i++)
		rc = gguf_writer_add_tensor(w, p->t[i].name, p->t[i].n_dims, p->t[i].ne,
					    p->t[i].type,
					    ggml_row_size(p->t[i].type, p->t[i].ne[0]) * p->t[i].ne[1],
					    err);
	if (rc == 0)
		rc = gguf_writer_begin(w, path, err);
	if (rc != 0)
		return rc;
	rc = gen_init(&g, p, s->threads, err);
	for (size_t i = 0; i < p->n && rc == 0; i++)
		rc = write_tensor(w, &g, &p->t[i], s, err);
	gen_release(&g);
	if (rc == 0)
		rc = gguf_writer_commit(w, err);
	return rc;
}

/* mkmodel_write - plan, then write through a temporary file */
int mkmodel_write(const struct mkmodel_spec *s, const char *path, struct dk_err *err)
{
	struct gguf *vocab = NULL;
	struct gguf_writer *w = NULL;
	struct mkmodel_plan p = { 0 };
	uint32_t n_vocab = s->d.n_vocab;
	int rc = 0;

	if (s->vocab != NULL) {
		rc = gguf_open(s->vocab, &vocab, err);
		if (rc == 0)
			rc = vocab_size(vocab, s->vocab, &n_vocab, err);
	}
	if (rc == 0)
		rc = mkmodel_plan(s, n_vocab, &p, err);
	if (rc == 0)
		rc = gguf_writer_new(&w, GGUF_WRITE_DEFAULT_ALIGNMENT, err);
	if (rc == 0)
		rc = write_model(w, s, &p, vocab, n_vocab, path, err);
	gguf_writer_free(w);
	mkmodel_plan_release(&p);
	gguf_free(vocab);
	return rc;
}
