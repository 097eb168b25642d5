/*
 * NAME
 *	model - load a GGUF model: hyperparameters, per-arch rules, weights
 * DESIGN NOTES
 *	1. Everything forward() relies on is checked here, once: every
 *	   tensor it reads exists with the exact shape and a type it can
 *	   multiply, norms and biases are F32, dimensions are consistent
 *	   (head_dim even, n_rot <= head_dim, n_head a multiple of
 *	   n_head_kv). forward() then has no error paths.
 *	2. Per-architecture facts follow llama.cpp (see the oracle README):
 *	   NORM RoPE for llama, NEOX for the others; gemma3 scales Q by
 *	   1/sqrt(head_dim) and runs attention with scale 1, uses a fixed
 *	   rope base 10000 on its sliding-window layers (every layer except
 *	   each 6th) and rope scaling only on global layers.
 *	3. Unknown metadata that changes the arithmetic (another rope
 *	   scaling type, per-layer head counts) is refused with a message
 *	   naming what is supported, never ignored.
 */
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ref/quants.h"
#include "engine/wpack.h"

static const char *const arch_names[] = { "llama", "qwen2", "qwen3", "gemma3", "phi3" };

/* key - "<arch>.<suffix>" */
static const char *key(char *buf, size_t cap, const char *arch, const char *suffix)
{
	snprintf(buf, cap, "%s.%s", arch, suffix);
	return buf;
}

/* opt_u32 / opt_f32 - read a key or keep the default (and err) when absent */
static int opt_u32(const struct gguf *g, const char *k, uint32_t *v, struct dk_err *err)
{
	return gguf_find_key(g, k) ? gguf_get_u32(g, k, v, err) : 0;
}

static int opt_f32(const struct gguf *g, const char *k, float *v, struct dk_err *err)
{
	return gguf_find_key(g, k) ? gguf_get_f32(g, k, v, err) : 0;
}

/* read_rope_scaling - type, factor, YaRN parameters (note 3) */
static int read_rope_scaling(const struct gguf *g, const char *a, struct eng_hparams *hp,
			     struct dk_err *err)
{
	char k[128];
	struct gguf_str type;
	float factor = 0.0f;
	int rc;

	hp->rope_scaling = ENG_ROPE_NONE;
	hp->rope_freq_scale = 1.0f;
	hp->rope_ctx_orig = hp->n_ctx_train;
	hp->yarn_attn_factor = 1.0f;
	hp->yarn_beta_fast = 32.0f;
	hp->yarn_beta_slow = 1.0f;
	key(k, sizeof k, a, "rope.scaling.type");
	rc = gguf_find_key(g, k) ? gguf_get_str(g, k, &type, err) : DK_ENOTFOUND;
	if (rc == 0) {
		if (gguf_str_eq(type, "linear"))
			hp->rope_scaling = ENG_ROPE_LINEAR;
		else if (gguf_str_eq(type, "yarn"))
			hp->rope_scaling = ENG_ROPE_YARN;
		else if (!gguf_str_eq(type, "none"))
			return dk_err_set(err, DK_EUNSUPPORTED,
					  "unsupported rope scaling '%.*s' (none, linear, yarn are supported)",
					  (int)(type.len > 40 ? 40 : type.len), type.s);
	} else if (rc != DK_ENOTFOUND) {
		return rc;
	}
	if ((rc = opt_f32(g, key(k, sizeof k, a, "rope.scaling.factor"), &factor, err)) != 0)
		return rc;
	if (factor == 0.0f) {
		/* older files: rope.scale_linear */
		if ((rc = opt_f32(g, key(k, sizeof k, a, "rope.scale_linear"), &factor, err)) != 0)
			return rc;
		if (factor != 0.0f && hp->rope_scaling == ENG_ROPE_NONE)
			hp->rope_scaling = ENG_ROPE_LINEAR;
	}
	if (hp->rope_scaling != ENG_ROPE_NONE && factor != 0.0f) {
		if (!(factor > 0.0f) || !isfinite(factor))
			return dk_err_set(err, DK_EFORMAT, "bad rope scaling factor %g", (double)factor);
		hp->rope_freq_scale = 1.0f / factor;
	}
	if ((rc = opt_u32(g, key(k, sizeof k, a, "rope.scaling.original_context_length"),
			  &hp->rope_ctx_orig, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "rope.scaling.attn_factor"),
			  &hp->yarn_attn_factor, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "rope.scaling.yarn_beta_fast"),
			  &hp->yarn_beta_fast, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "rope.scaling.yarn_beta_slow"),
			  &hp->yarn_beta_slow, err)) != 0)
		return rc;
	hp->yarn_ext_factor = hp->rope_scaling == ENG_ROPE_YARN ? 1.0f : 0.0f;
	return 0;
}

/* read_hparams - architecture and dimensions (note 2) */
static int read_hparams(const struct gguf *g, struct eng_hparams *hp, struct dk_err *err)
{
	struct gguf_str as;
	char k[128];
	const char *a;
	int rc;

	memset(hp, 0, sizeof *hp);
	if ((rc = gguf_get_str(g, "general.architecture", &as, err)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof arch_names / sizeof arch_names[0]; i++)
		if (gguf_str_eq(as, arch_names[i])) {
			hp->arch = (enum eng_arch)i;
			hp->arch_name = arch_names[i];
		}
	if (hp->arch_name == NULL)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported architecture '%.*s' (llama, qwen2, qwen3, gemma3, phi3 are supported)",
				  (int)(as.len > 40 ? 40 : as.len), as.s);
	a = hp->arch_name;
	if ((rc = gguf_get_u32(g, key(k, sizeof k, a, "embedding_length"), &hp->n_embd, err)) != 0 ||
	    (rc = gguf_get_u32(g, key(k, sizeof k, a, "block_count"), &hp->n_layer, err)) != 0 ||
	    (rc = gguf_get_u32(g, key(k, sizeof k, a, "feed_forward_length"), &hp->n_ff, err)) != 0)
		return rc;
	rc = gguf_get_u32(g, key(k, sizeof k, a, "attention.head_count"), &hp->n_head, err);
	if (rc == DK_EFORMAT && gguf_find_key(g, k)->type == GGUF_VT_ARRAY)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported per-layer head counts in '%s' (one count for all layers is supported)", k);
	if (rc != 0)
		return rc;
	hp->n_head_kv = hp->n_head;
	hp->n_ctx_train = 2048;
	hp->rms_eps = 1e-5f;
	hp->rope_base = 10000.0f;
	if ((rc = opt_u32(g, key(k, sizeof k, a, "attention.head_count_kv"), &hp->n_head_kv, err)) != 0 ||
	    (rc = opt_u32(g, key(k, sizeof k, a, "context_length"), &hp->n_ctx_train, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "attention.layer_norm_rms_epsilon"), &hp->rms_eps, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "rope.freq_base"), &hp->rope_base, err)) != 0 ||
	    (rc = opt_u32(g, key(k, sizeof k, a, "attention.sliding_window"), &hp->n_swa, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "attn_logit_softcapping"), &hp->attn_softcap, err)) != 0 ||
	    (rc = opt_f32(g, key(k, sizeof k, a, "final_logit_softcapping"), &hp->final_softcap, err)) != 0)
		return rc;
	if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_ff == 0 || hp->n_head == 0 ||
	    hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0 || hp->n_embd > (1u << 20) ||
	    hp->n_ff > (1u << 22) || hp->n_layer > 4096 || hp->n_head > 4096)
		return dk_err_set(err, DK_EFORMAT,
				  "bad model dimensions: n_embd %u, n_layer %u, n_ff %u, n_head %u, n_head_kv %u",
				  hp->n_embd, hp->n_layer, hp->n_ff, hp->n_head, hp->n_head_kv);
	hp->head_dim = hp->n_embd / hp->n_head;
	if ((rc = opt_u32(g, key(k, sizeof k, a, "attention.key_length"), &hp->head_dim, err)) != 0)
		return rc;
	uint32_t vdim = hp->head_dim;
	if ((rc = opt_u32(g, key(k, sizeof k, a, "attention.value_length"), &vdim, err)) != 0)
		return rc;
	hp->n_rot = hp->head_dim;
	if ((rc = opt_u32(g, key(k, sizeof k, a, "rope.dimension_count"), &hp->n_rot, err)) != 0)
		return rc;
	if (vdim != hp->head_dim || hp->head_dim == 0 || hp->head_dim % 2 || hp->head_dim > 1024 ||
	    hp->n_rot == 0 || hp->n_rot % 2 || hp->n_rot > hp->head_dim)
		return dk_err_set(err, DK_EFORMAT,
				  "bad attention dimensions: key %u, value %u, rope %u",
				  hp->head_dim, vdim, hp->n_rot);
	if (!(hp->rms_eps > 0.0f) || !(hp->rope_base > 0.0f) || !isfinite(hp->rope_base))
		return dk_err_set(err, DK_EFORMAT, "bad rms epsilon %g or rope base %g",
				  (double)hp->rms_eps, (double)hp->rope_base);
	if ((rc = read_rope_scaling(g, a, hp, err)) != 0)
		return rc;
	hp->rope_neox = hp->arch != ENG_ARCH_LLAMA;
	hp->rope_base_swa = hp->rope_base;
	hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
	if (hp->arch == ENG_ARCH_PHI3)
		hp->n_swa = 0;	/* llama.cpp disabled Phi-3 SWA; 2047 is past these contexts anyway */
	if (hp->arch == ENG_ARCH_GEMMA3) {
		hp->rope_base_swa = 10000.0f;	/* fixed in llama.cpp */
		hp->swa_pattern = 6;
		hp->attn_scale = 1.0f;		/* Q is pre-scaled (note 2) */
	}
	return 0;
}

/* tensor - find name, check type class and shape [ne0, ne1] (ne1 0 = 1-D) */
static int tensor(const struct gguf *g, const char *name, int64_t ne0, int64_t ne1,
		  int required, const struct gguf_tensor **out, struct dk_err *err)
{
	const struct gguf_tensor *t = gguf_find_tensor(g, name);

	*out = t;
	if (t == NULL)
		return required ? dk_err_set(err, DK_EFORMAT, "model lacks tensor '%s'", name) : 0;
	if (t->ne[0] != ne0 || t->ne[1] != (ne1 ? ne1 : 1) || t->ne[2] != 1 || t->ne[3] != 1)
		return dk_err_set(err, DK_EFORMAT,
				  "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
				  name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
				  (long long)t->ne[3], (long long)ne0, (long long)(ne1 ? ne1 : 1));
	return 0;
}

/* vec - an F32 vector of n */
static int vec(const struct gguf *g, const char *name, int64_t n, int required,
	       const float **out, struct dk_err *err)
{
	const struct gguf_tensor *t;
	int rc = tensor(g, name, n, 0, required, &t, err);

	*out = NULL;
	if (rc != 0 || t == NULL)
		return rc;
	if (t->type != GGML_TYPE_F32)
		return dk_err_set(err, DK_EUNSUPPORTED, "tensor '%s' has type %s; norms and biases must be F32",
				  name, ggml_type_name(t->type));
	*out = t->data;
	return 0;
}

/* mat - a weight matrix n_in -> n_out of a type docket multiplies */
static int mat(const struct gguf *g, const char *name, int64_t n_in, int64_t n_out,
	       int required, struct eng_mat *out, struct dk_err *err)
{
	const struct gguf_tensor *t;
	int rc = tensor(g, name, n_in, n_out, required, &t, err);
	const struct ggml_type_traits *tt;

	memset(out, 0, sizeof *out);
	if (rc != 0 || t == NULL)
		return rc;
	tt = ggml_type_traits(t->type);
	if (tt == NULL || !tt->is_weight)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "tensor '%s' has type %s (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K are supported)",
				  name, ggml_type_name(t->type));
	out->data = t->data;
	out->type = (enum ggml_type)t->type;
	out->n_in = n_in;
	out->n_out = n_out;
	out->row_bytes = ggml_row_size(out->type, (uint64_t)n_in);
	return 0;
}

/* load_layer - the tensors of block il for the model's architecture */
static int load_layer(struct eng_model *m, uint32_t il, struct dk_err *err)
{
	const struct gguf *g = m->g;
	const struct eng_hparams *hp = &m->hp;
	struct eng_layer *L = &m->layers[il];
	int64_t E = hp->n_embd, F = hp->n_ff, Q = m->q_dim, KV = m->kv_dim, D = hp->head_dim;
	int gemma = hp->arch == ENG_ARCH_GEMMA3, phi = hp->arch == ENG_ARCH_PHI3;
	int qk_norm = gemma || hp->arch == ENG_ARCH_QWEN3;
	char n[96];
	int rc;

#define T(suffix) (snprintf(n, sizeof n, "blk.%u." suffix, il), n)
	if ((rc = vec(g, T("attn_norm.weight"), E, 1, &L->attn_norm, err)) != 0 ||
	    (rc = mat(g, T("attn_output.weight"), Q, E, 1, &L->wo, err)) != 0 ||
	    (rc = vec(g, T("ffn_norm.weight"), E, 1, &L->ffn_norm, err)) != 0 ||
	    (rc = mat(g, T("ffn_down.weight"), F, E, 1, &L->w_down, err)) != 0)
		return rc;
	if (phi) {
		if ((rc = mat(g, T("attn_qkv.weight"), E, Q + 2 * KV, 1, &L->wqkv, err)) != 0 ||
		    (rc = mat(g, T("ffn_up.weight"), E, 2 * F, 1, &L->w_up, err)) != 0)
			return rc;
	} else {
		if ((rc = mat(g, T("attn_q.weight"), E, Q, 1, &L->wq, err)) != 0 ||
		    (rc = mat(g, T("attn_k.weight"), E, KV, 1, &L->wk, err)) != 0 ||
		    (rc = mat(g, T("attn_v.weight"), E, KV, 1, &L->wv, err)) != 0 ||
		    (rc = mat(g, T("ffn_gate.weight"), E, F, 1, &L->w_gate, err)) != 0 ||
		    (rc = mat(g, T("ffn_up.weight"), E, F, 1, &L->w_up, err)) != 0)
			return rc;
	}
	if (hp->arch == ENG_ARCH_QWEN2 &&
	    ((rc = vec(g, T("attn_q.bias"), Q, 1, &L->bq, err)) != 0 ||
	     (rc = vec(g, T("attn_k.bias"), KV, 1, &L->bk, err)) != 0 ||
	     (rc = vec(g, T("attn_v.bias"), KV, 1, &L->bv, err)) != 0))
		return rc;
	if (qk_norm &&
	    ((rc = vec(g, T("attn_q_norm.weight"), D, 1, &L->q_norm, err)) != 0 ||
	     (rc = vec(g, T("attn_k_norm.weight"), D, 1, &L->k_norm, err)) != 0))
		return rc;
	if (gemma &&
	    ((rc = vec(g, T("post_attention_norm.weight"), E, 1, &L->post_attn_norm, err)) != 0 ||
	     (rc = vec(g, T("post_ffw_norm.weight"), E, 1, &L->post_ffw_norm, err)) != 0))
		return rc;
#undef T
	/* note 2: sliding-window layers and their rope settings */
	L->swa = hp->n_swa > 0 && (hp->swa_pattern == 0 || il % hp->swa_pattern < hp->swa_pattern - 1);
	L->rope_base = hp->rope_base;
	L->rope_freq_scale = hp->rope_freq_scale;
	if (gemma && L->swa) {
		L->rope_base = hp->rope_base_swa;
		L->rope_freq_scale = 1.0f;
	}
	return 0;
}

/* load_weights - global tensors, then each layer (note 1) */
static int load_weights(struct eng_model *m, struct dk_err *err)
{
	struct eng_hparams *hp = &m->hp;
	const struct gguf_tensor *te = gguf_find_tensor(m->g, "token_embd.weight");
	const struct gguf_tensor *rf;
	int rc;

	if (te == NULL)
		return dk_err_set(err, DK_EFORMAT, "model lacks tensor 'token_embd.weight'");
	if (te->ne[1] < 1 || te->ne[1] > (1 << 24))
		return dk_err_set(err, DK_EFORMAT, "bad vocabulary size %lld", (long long)te->ne[1]);
	hp->n_vocab = (uint32_t)te->ne[1];
	m->q_dim = hp->n_head * hp->head_dim;
	m->kv_dim = hp->n_head_kv * hp->head_dim;
	if ((rc = mat(m->g, "token_embd.weight", hp->n_embd, hp->n_vocab, 1, &m->tok_embd, err)) != 0 ||
	    (rc = vec(m->g, "output_norm.weight", hp->n_embd, 1, &m->out_norm, err)) != 0 ||
	    (rc = mat(m->g, "output.weight", hp->n_embd, hp->n_vocab, 0, &m->output, err)) != 0)
		return rc;
	if (m->output.data == NULL) {
		m->output = m->tok_embd;
		hp->tied_output = 1;
	}
	if ((rc = tensor(m->g, "rope_freqs.weight", hp->n_rot / 2, 0, 0, &rf, err)) != 0)
		return rc;
	if (rf != NULL) {
		if ((rc = vec(m->g, "rope_freqs.weight", hp->n_rot / 2, 1, &m->rope_freqs, err)) != 0)
			return rc;
		hp->has_rope_freqs = 1;
	}
	if (gguf_find_tensor(m->g, "rope_factors_long.weight") != NULL)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported rope variant: long/short rope factors (LongRoPE); supported: none, linear, yarn, rope_freqs");
	m->layers = calloc(hp->n_layer, sizeof *m->layers);
	if (m->layers == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory loading %u layers", hp->n_layer);
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if ((rc = load_layer(m, il, err)) != 0)
			return rc;
	return 0;
}

/* open_model - open path with open_gguf, validate, describe; pack what
 * is ours to rewrite (a resident copy, not a mapped file: wpack.c) */
static int open_model(const char *path, int (*open_gguf)(const char *, struct gguf **, struct dk_err *),
		      struct eng_model **out, struct dk_err *err)
{
	struct eng_model *m = calloc(1, sizeof *m);
	int rc;

	*out = NULL;
	if (m == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory loading '%s'", path);
	if ((rc = open_gguf(path, &m->g, err)) != 0 ||
	    (rc = read_hparams(m->g, &m->hp, err)) != 0 ||
	    (rc = load_weights(m, err)) != 0 ||
	    (rc = eng_wpack_model(m, eng_kernels_select(0), err)) != 0) {
		eng_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* eng_model_load - read, validate, describe, pack */
int eng_model_load(const char *path, struct eng_model **out, struct dk_err *err)
{
	return open_model(path, gguf_open, out, err);
}

/* eng_model_inspect - see engine.h */
int eng_model_inspect(const char *path, struct eng_model **out, struct dk_err *err)
{
	return open_model(path, gguf_open_mapped, out, err);
}

const char *eng_model_sha256(const struct eng_model *m)
{
	return gguf_sha256(m->g);
}

void eng_model_free(struct eng_model *m)
{
	if (m == NULL)
		return;
	free(m->layers);
	gguf_free(m->g);
	free(m);
}

const struct eng_hparams *eng_model_hparams(const struct eng_model *m)
{
	return &m->hp;
}

const struct gguf *eng_model_gguf(const struct eng_model *m)
{
	return m->g;
}
