/*
 * NAME
 *	tinymodel.h - write small random-weight llama-style GGUF models for
 *	unit tests, so engine tests run where ../shared is absent
 * SUMMARY
 *	tiny_write(path, &opts) writes arch opts.arch ("llama" by default)
 *	with F32 norms and matrices of opts.type (F32, F16 or Q8_0), optional
 *	rope scaling keys and a rope_freqs tensor. Weights come from a fixed
 *	LCG seeded by opts.seed, scaled 1/sqrt(fan_in).
 */
#ifndef TINYMODEL_H
#define TINYMODEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "engine/ref/quants.h"
#include "util/dk_buf.h"

struct tiny_opts {
	const char *arch;	/* NULL: "llama" */
	uint32_t n_embd, n_ff, n_head, n_head_kv, n_layer, n_vocab, n_ctx;
	enum ggml_type type;	/* matrices: F32, F16 or Q8_0 */
	const char *rope_type;	/* NULL: no rope.scaling keys */
	float rope_factor;
	uint32_t rope_orig_ctx;
	int rope_freqs;		/* write rope_freqs.weight */
	uint32_t seed;
};

static const struct tiny_opts tiny_default = {
	NULL, 64, 96, 4, 2, 2, 64, 128, GGML_TYPE_F32, NULL, 0.0f, 0, 0, 1
};

struct tiny_w {
	struct dk_buf hdr, data;
	uint32_t n_kv, n_t;
	uint32_t rng;
};

static float tiny_rnd(struct tiny_w *w)
{
	w->rng = w->rng * 1664525u + 1013904223u;
	return (float)((w->rng >> 8) % 20001) / 10000.0f - 1.0f;
}

static void tiny_str(struct dk_buf *b, const char *s)
{
	uint64_t n = strlen(s);

	dk_buf_add(b, &n, 8);
	dk_buf_add(b, s, n);
}

static void tiny_kv_str(struct tiny_w *w, const char *k, const char *v)
{
	uint32_t t = GGUF_VT_STRING;

	tiny_str(&w->hdr, k);
	dk_buf_add(&w->hdr, &t, 4);
	tiny_str(&w->hdr, v);
	w->n_kv++;
}

static void tiny_kv_u32(struct tiny_w *w, const char *arch, const char *k, uint32_t v)
{
	char key[128];
	uint32_t t = GGUF_VT_U32;

	snprintf(key, sizeof key, "%s.%s", arch, k);
	tiny_str(&w->hdr, key);
	dk_buf_add(&w->hdr, &t, 4);
	dk_buf_add(&w->hdr, &v, 4);
	w->n_kv++;
}

static void tiny_kv_f32(struct tiny_w *w, const char *arch, const char *k, float v)
{
	char key[128];
	uint32_t t = GGUF_VT_F32;

	snprintf(key, sizeof key, "%s.%s", arch, k);
	tiny_str(&w->hdr, key);
	dk_buf_add(&w->hdr, &t, 4);
	dk_buf_add(&w->hdr, &v, 4);
	w->n_kv++;
}

/* tiny_tensor - info into hdr, values (scale * rnd + bias) into data */
static void tiny_tensor(struct tiny_w *w, const char *name, uint32_t ne0, uint32_t ne1,
			enum ggml_type type, float scale, float bias)
{
	uint32_t nd = ne1 ? 2 : 1, tt = type;
	uint64_t d0 = ne0, d1 = ne1, off = w->data.len;
	float row[4096];
	uint8_t q[4096 * 4];

	tiny_str(&w->hdr, name);
	dk_buf_add(&w->hdr, &nd, 4);
	dk_buf_add(&w->hdr, &d0, 8);
	if (ne1)
		dk_buf_add(&w->hdr, &d1, 8);
	dk_buf_add(&w->hdr, &tt, 4);
	dk_buf_add(&w->hdr, &off, 8);
	for (uint32_t r = 0; r < (ne1 ? ne1 : 1); r++) {
		for (uint32_t i = 0; i < ne0; i++)
			row[i] = scale * tiny_rnd(w) + bias;
		ref_quantize_act(type, row, q, ne0);
		dk_buf_add(&w->data, type == GGML_TYPE_F32 ? (const void *)row : (const void *)q,
			   ggml_row_size(type, ne0));
	}
	while (w->data.len % 32)
		dk_buf_addch(&w->data, 0);
	w->n_t++;
}

/* tiny_write - the whole file; 0 or -1 */
static int tiny_write(const char *path, const struct tiny_opts *o)
{
	struct tiny_w w = { DK_BUF_INIT, DK_BUF_INIT, 0, 0, o->seed * 2654435761u + 1 };
	const char *a = o->arch ? o->arch : "llama";
	uint32_t E = o->n_embd, F = o->n_ff, hd = E / o->n_head, KV = hd * o->n_head_kv;
	float se = 1.0f / sqrtf((float)E), sf = 1.0f / sqrtf((float)F);
	char n[96];

	tiny_kv_str(&w, "general.architecture", a);
	tiny_kv_u32(&w, a, "embedding_length", E);
	tiny_kv_u32(&w, a, "feed_forward_length", F);
	tiny_kv_u32(&w, a, "block_count", o->n_layer);
	tiny_kv_u32(&w, a, "attention.head_count", o->n_head);
	tiny_kv_u32(&w, a, "attention.head_count_kv", o->n_head_kv);
	tiny_kv_u32(&w, a, "context_length", o->n_ctx);
	tiny_kv_f32(&w, a, "attention.layer_norm_rms_epsilon", 1e-5f);
	if (o->rope_type) {
		char key[128];
		snprintf(key, sizeof key, "%s.rope.scaling.type", a);
		tiny_kv_str(&w, key, o->rope_type);
		tiny_kv_f32(&w, a, "rope.scaling.factor", o->rope_factor);
		if (o->rope_orig_ctx)
			tiny_kv_u32(&w, a, "rope.scaling.original_context_length", o->rope_orig_ctx);
	}
	tiny_tensor(&w, "token_embd.weight", E, o->n_vocab, o->type, 0.5f, 0.0f);
	tiny_tensor(&w, "output_norm.weight", E, 0, GGML_TYPE_F32, 0.1f, 1.0f);
	if (o->rope_freqs)
		tiny_tensor(&w, "rope_freqs.weight", hd / 2, 0, GGML_TYPE_F32, 0.5f, 2.0f);
	for (uint32_t l = 0; l < o->n_layer; l++) {
#define N(s) (snprintf(n, sizeof n, "blk.%u." s, l), n)
		tiny_tensor(&w, N("attn_norm.weight"), E, 0, GGML_TYPE_F32, 0.1f, 1.0f);
		tiny_tensor(&w, N("attn_q.weight"), E, E, o->type, se, 0.0f);
		tiny_tensor(&w, N("attn_k.weight"), E, KV, o->type, se, 0.0f);
		tiny_tensor(&w, N("attn_v.weight"), E, KV, o->type, se, 0.0f);
		tiny_tensor(&w, N("attn_output.weight"), E, E, o->type, se, 0.0f);
		tiny_tensor(&w, N("ffn_norm.weight"), E, 0, GGML_TYPE_F32, 0.1f, 1.0f);
		tiny_tensor(&w, N("ffn_gate.weight"), E, F, o->type, se, 0.0f);
		tiny_tensor(&w, N("ffn_up.weight"), E, F, o->type, se, 0.0f);
		tiny_tensor(&w, N("ffn_down.weight"), F, E, o->type, sf, 0.0f);
#undef N
	}
	FILE *f = fopen(path, "wb");
	uint32_t ver = 3;
	uint64_t nt = w.n_t, nkv = w.n_kv;
	int bad = f == NULL;
	if (f != NULL) {
		size_t len = 24 + w.hdr.len;
		fwrite("GGUF", 1, 4, f);
		fwrite(&ver, 4, 1, f);
		fwrite(&nt, 8, 1, f);
		fwrite(&nkv, 8, 1, f);
		fwrite(w.hdr.buf, 1, w.hdr.len, f);
		for (; len % 32; len++)
			fputc(0, f);
		fwrite(w.data.buf, 1, w.data.len, f);
		bad = fclose(f) != 0;
	}
	dk_buf_release(&w.hdr);
	dk_buf_release(&w.data);
	return bad ? -1 : 0;
}

#endif
