/*
 * test_mkmodel - the model generator and the llama2.c converter, read back
 * with the engine's GGUF reader: every architecture's tensors and keys,
 * every type, llama-quantize's mixture choices (the oracle README's table,
 * and with ../shared the oracle files themselves), determinism across
 * thread counts, weight scales, vocab copying, and stories260K converted
 * from llama2.c against llama.cpp's conversion.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>

#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "engine/llama2c.h"
#include "engine/mkmodel.h"
#include "engine/ref/quants.h"
#include "tests/test.h"

static const char *tmp_path(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", test_tmpdir(), name);
	return p[k];
}

/* tiny - an architecture with the smallest shape every type can hold */
static void tiny(struct mkmodel_spec *s, enum mkmodel_arch a, const char *type)
{
	memset(s, 0, sizeof *s);
	mkmodel_arch_defaults(a, &s->d);
	s->d.n_embd = 256;
	s->d.n_ff = 256;
	s->d.n_head = 2;
	s->d.n_head_kv = 1;
	s->d.head_dim = 128;
	s->d.n_layer = 2;
	s->d.n_vocab = 300;
	s->type = type;
	s->seed = 7;
	s->threads = 2;
}

static int key_u32(const struct gguf *g, const char *arch, const char *suffix, uint32_t *v)
{
	char key[128];

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	return gguf_get_u32(g, key, v, NULL);
}

/* check_file - g holds exactly the plan's tensors and the hparams of s */
static void check_file(const struct gguf *g, const struct mkmodel_spec *s)
{
	struct mkmodel_plan p;
	struct dk_err e = DK_ERR_INIT;
	const char *arch = mkmodel_arch_name(s->d.arch);
	struct gguf_str str;
	const struct gguf_kv *kv;
	uint32_t v;

	REQUIRE(mkmodel_plan(s, s->d.n_vocab, &p, &e) == 0);
	CHECK(g->n_tensors == p.n);
	for (size_t i = 0; i < p.n; i++) {
		const struct gguf_tensor *t = gguf_find_tensor(g, p.t[i].name);

		CHECKF(t != NULL, "%s %s: no tensor %s", arch, s->type, p.t[i].name);
		if (t == NULL)
			continue;
		CHECKF(t->type == p.t[i].type && (uint64_t)t->ne[0] == p.t[i].ne[0] &&
		       (uint64_t)t->ne[1] == p.t[i].ne[1] && t->n_dims == p.t[i].n_dims,
		       "%s %s: tensor %s", arch, s->type, p.t[i].name);
	}
	mkmodel_plan_release(&p);
	CHECK(gguf_get_str(g, "general.architecture", &str, NULL) == 0 && gguf_str_eq(str, arch));
	CHECK(key_u32(g, arch, "block_count", &v) == 0 && v == s->d.n_layer);
	CHECK(key_u32(g, arch, "embedding_length", &v) == 0 && v == s->d.n_embd);
	CHECK(key_u32(g, arch, "attention.head_count_kv", &v) == 0 && v == s->d.n_head_kv);
	CHECK(key_u32(g, arch, "attention.key_length", &v) == 0 && v == s->d.head_dim);
	CHECK((key_u32(g, arch, "attention.sliding_window", &v) == 0) ==
	      (s->d.arch == MK_GEMMA3 || s->d.arch == MK_PHI3));
	CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STRING, &kv, NULL) == 0 &&
	      kv->n == s->d.n_vocab);
	CHECK(gguf_get_u32(g, "general.file_type", &v, NULL) == 0);
}

/* arch_features - the tensors that tell the architectures apart */
static void check_features(const struct gguf *g, enum mkmodel_arch a)
{
	int qkv = gguf_find_tensor(g, "blk.1.attn_qkv.weight") != NULL;
	int bias = gguf_find_tensor(g, "blk.0.attn_k.bias") != NULL;
	int qnorm = gguf_find_tensor(g, "blk.1.attn_q_norm.weight") != NULL;
	int post = gguf_find_tensor(g, "blk.0.post_ffw_norm.weight") != NULL;
	int out = gguf_find_tensor(g, "output.weight") != NULL;

	CHECKF(qkv == (a == MK_PHI3) && out == (a == MK_PHI3), "%s: fused/output", mkmodel_arch_name(a));
	CHECKF(bias == (a == MK_QWEN2), "%s: biases", mkmodel_arch_name(a));
	CHECKF(qnorm == (a == MK_QWEN3 || a == MK_GEMMA3), "%s: q norm", mkmodel_arch_name(a));
	CHECKF(post == (a == MK_GEMMA3), "%s: post norms", mkmodel_arch_name(a));
	if (a == MK_PHI3) {
		const struct gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_up.weight");

		CHECK(t != NULL && t->ne[1] == 512);	/* gate and up fused */
		t = gguf_find_tensor(g, "blk.0.attn_qkv.weight");
		CHECK(t != NULL && t->ne[1] == 256 + 2 * 128);
	}
}

static void write_and_check(enum mkmodel_arch a, const char *type)
{
	struct mkmodel_spec s;
	struct dk_err e = DK_ERR_INIT;
	struct gguf *g = NULL;
	const char *path = tmp_path("m.gguf");

	tiny(&s, a, type);
	REQUIRE(!test_failed_now);
	CHECKF(mkmodel_write(&s, path, &e) == 0, "%s %s: %.200s", mkmodel_arch_name(a), type, e.msg);
	REQUIRE(!test_failed_now);
	CHECKF(gguf_open(path, &g, &e) == 0, "%s %s: reader: %.200s", mkmodel_arch_name(a),
	       type, e.msg);
	REQUIRE(!test_failed_now);
	check_file(g, &s);
	check_features(g, a);
	gguf_free(g);
}

static void every_arch_writes_valid_files(void)
{
	for (int a = MK_LLAMA; a <= MK_PHI3; a++) {
		write_and_check((enum mkmodel_arch)a, "F16");
		write_and_check((enum mkmodel_arch)a, "Q4_K_M");
	}
}

static void every_type_writes_valid_files(void)
{
	static const char *const types[] = {
		"F32", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K",
		"Q4_K", "Q5_K", "Q6_K", "Q3_K_M", "Q5_K_M",
	};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		write_and_check(MK_LLAMA, types[i]);
}

/* count - how many layer matrices (2-D blk.* tensors) of type t the plan has */
static int count(const struct mkmodel_plan *p, enum ggml_type t)
{
	int n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->t[i].n_dims == 2 && strncmp(p->t[i].name, "blk.", 4) == 0 &&
		     p->t[i].type == t;
	return n;
}

static int type_of(const struct mkmodel_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->t[i].name, name) == 0)
			return (int)p->t[i].type;
	return -1;
}

/* the oracle README's per-file table, built from the oracle's shapes */
static void mixtures_match_oracle_table(void)
{
	static const struct {
		enum mkmodel_arch a;
		const char *type;
		int embd, output;	/* -1: no output.weight */
		struct { enum ggml_type t; int n; } m[3];
	} rows[] = {
		{ MK_LLAMA, "Q4_K_M", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_K, 12 }, { GGML_TYPE_Q6_K, 2 } } },
		{ MK_LLAMA, "Q3_K_M", GGML_TYPE_Q6_K, -1,
		  { { GGML_TYPE_Q3_K, 8 }, { GGML_TYPE_Q4_K, 4 }, { GGML_TYPE_Q5_K, 2 } } },
		{ MK_LLAMA, "Q5_K_M", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q5_K, 12 }, { GGML_TYPE_Q6_K, 2 } } },
		{ MK_LLAMA, "Q2_K", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q2_K, 8 }, { GGML_TYPE_Q3_K, 6 } } },
		{ MK_LLAMA, "Q4_0", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_0, 14 } } },
		{ MK_LLAMA, "Q4_1", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_1, 14 } } },
		{ MK_LLAMA, "Q5_0", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q5_0, 14 } } },
		{ MK_LLAMA, "Q5_1", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q5_1, 14 } } },
		{ MK_LLAMA, "Q6_K", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q6_K, 14 } } },
		{ MK_LLAMA, "Q8_0", GGML_TYPE_Q8_0, -1, { { GGML_TYPE_Q8_0, 14 } } },
		{ MK_LLAMA, "F16", GGML_TYPE_F16, -1, { { GGML_TYPE_F16, 14 } } },
		{ MK_LLAMA, "BF16", GGML_TYPE_BF16, -1, { { GGML_TYPE_BF16, 14 } } },
		{ MK_LLAMA, "F32", GGML_TYPE_F32, -1, { { GGML_TYPE_F32, 14 } } },
		{ MK_QWEN2, "Q4_K_M", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_K, 12 }, { GGML_TYPE_Q6_K, 2 } } },
		{ MK_QWEN3, "Q4_K_M", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_K, 12 }, { GGML_TYPE_Q6_K, 2 } } },
		{ MK_GEMMA3, "Q4_K_M", GGML_TYPE_Q6_K, -1, { { GGML_TYPE_Q4_K, 38 }, { GGML_TYPE_Q6_K, 4 } } },
		{ MK_PHI3, "Q4_K_M", GGML_TYPE_Q4_K, GGML_TYPE_Q6_K,
		  { { GGML_TYPE_Q4_K, 5 }, { GGML_TYPE_Q5_K, 2 }, { GGML_TYPE_Q6_K, 1 } } },
		{ MK_PHI3, "Q8_0", GGML_TYPE_Q8_0, GGML_TYPE_Q8_0, { { GGML_TYPE_Q8_0, 8 } } },
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct mkmodel_spec s = { .type = rows[r].type, .threads = 1 };
		struct mkmodel_plan p;
		int total = 0, want = 0;

		mkmodel_arch_defaults(rows[r].a, &s.d);
		REQUIRE(mkmodel_plan(&s, 32000, &p, NULL) == 0);
		CHECKF(type_of(&p, "token_embd.weight") == rows[r].embd, "%s %s: token_embd %s",
		       mkmodel_arch_name(rows[r].a), rows[r].type,
		       ggml_type_name((uint32_t)type_of(&p, "token_embd.weight")));
		CHECKF(type_of(&p, "output.weight") == rows[r].output, "%s %s: output",
		       mkmodel_arch_name(rows[r].a), rows[r].type);
		for (int k = 0; k < 3 && rows[r].m[k].n; k++) {
			CHECKF(count(&p, rows[r].m[k].t) == rows[r].m[k].n, "%s %s: %s x%d, not x%d",
			       mkmodel_arch_name(rows[r].a), rows[r].type,
			       ggml_type_name(rows[r].m[k].t), count(&p, rows[r].m[k].t),
			       rows[r].m[k].n);
			want += rows[r].m[k].n;
		}
		for (size_t i = 0; i < p.n; i++)
			total += p.t[i].n_dims == 2 && strncmp(p.t[i].name, "blk.", 4) == 0;
		CHECK(total == want);
		/* norms and biases stay F32 in every file */
		for (size_t i = 0; i < p.n; i++)
			if (p.t[i].n_dims == 1)
				CHECKF(p.t[i].type == GGML_TYPE_F32, "%s is not F32", p.t[i].name);
		mkmodel_plan_release(&p);
	}
}

/* rows of 896 (Qwen2.5-0.5B) are no multiple of 256: llama-quantize's fallbacks */
static void k_types_fall_back_on_odd_rows(void)
{
	struct mkmodel_spec s = { .type = "Q4_K_M", .threads = 1 };
	struct mkmodel_plan p;
	struct dk_err e = DK_ERR_INIT;

	REQUIRE(mkmodel_preset("qwen2.5-0.5b", &s.d, &e) == 0);
	REQUIRE(mkmodel_plan(&s, s.d.n_vocab, &p, &e) == 0);
	CHECK(type_of(&p, "token_embd.weight") == GGML_TYPE_Q8_0);
	CHECK(type_of(&p, "blk.5.attn_q.weight") == GGML_TYPE_Q5_0);
	CHECK(type_of(&p, "blk.0.attn_v.weight") == GGML_TYPE_Q8_0);	/* Q6_K -> Q8_0 */
	CHECK(type_of(&p, "blk.4.attn_v.weight") == GGML_TYPE_Q5_0);
	CHECK(type_of(&p, "blk.0.ffn_down.weight") == GGML_TYPE_Q6_K);	/* rows of 4864 */
	CHECK(type_of(&p, "blk.4.ffn_down.weight") == GGML_TYPE_Q4_K);
	CHECK(type_of(&p, "blk.4.attn_q.bias") == GGML_TYPE_F32);
	CHECK(p.n == 1 + 24 * 12 + 1);
	mkmodel_plan_release(&p);
	s.type = "Q4_0";
	REQUIRE(mkmodel_plan(&s, s.d.n_vocab, &p, &e) == 0);
	CHECK(type_of(&p, "token_embd.weight") == GGML_TYPE_Q8_0);
	CHECK(type_of(&p, "blk.4.ffn_down.weight") == GGML_TYPE_Q4_0);
	mkmodel_plan_release(&p);
	/* a 32-block type that cannot hold the rows is an error, not a silent change */
	s.d.n_embd = 100;
	CHECK(mkmodel_plan(&s, 1000, &p, &e) == DK_EINVAL);
}

static void presets_have_real_shapes(void)
{
	struct mkmodel_dims d;
	struct mkmodel_spec s = { .type = "Q4_K_M", .threads = 1 };
	struct mkmodel_plan p;
	int n = 0;

	for (const char *const *name = mkmodel_preset_names(); *name; name++, n++) {
		REQUIRE(mkmodel_preset(*name, &s.d, NULL) == 0);
		CHECKF(mkmodel_plan(&s, s.d.n_vocab, &p, NULL) == 0, "preset %s", *name);
		mkmodel_plan_release(&p);
	}
	CHECK(n == 7);
	REQUIRE(mkmodel_preset("llama-3.2-1b", &d, NULL) == 0);
	CHECK(d.n_embd == 2048 && d.n_layer == 16 && d.n_head_kv == 8 && d.rope_freqs && d.tied);
	REQUIRE(mkmodel_preset("gemma3-4b", &d, NULL) == 0);
	CHECK(d.head_dim == 256 && d.sliding_window == 1024 && d.rope_scale_linear == 8.f);
	REQUIRE(mkmodel_preset("phi3-mini", &d, NULL) == 0);
	CHECK(!d.tied && d.head_dim == 96 && d.n_vocab == 32064);
	CHECK(mkmodel_preset("gpt-5", &d, NULL) == DK_EINVAL);
	CHECK(mkmodel_set_dims(&d, "n_layer=3,rope_base=5e5,tied=1", NULL) == 0);
	CHECK(d.n_layer == 3 && d.rope_base == 5e5f && d.tied);
	CHECK(mkmodel_set_dims(&d, "n_layer=x", NULL) == DK_EINVAL);
	CHECK(mkmodel_set_dims(&d, "colour=red", NULL) == DK_EINVAL);
	CHECK(mkmodel_set_dims(&d, "n_layer", NULL) == DK_EINVAL);
}

static int same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int ca, cb, same = fa != NULL && fb != NULL;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		if (ca != cb)
			same = 0;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

static void same_seed_same_bytes_any_threads(void)
{
	struct mkmodel_spec s;
	const char *a = tmp_path("t1.gguf"), *b = tmp_path("t3.gguf"), *c = tmp_path("s2.gguf");

	tiny(&s, MK_QWEN2, "Q4_K_M");
	s.threads = 1;
	REQUIRE(mkmodel_write(&s, a, NULL) == 0);
	s.threads = 3;
	REQUIRE(mkmodel_write(&s, b, NULL) == 0);
	CHECK(same_file(a, b));
	s.seed = 8;
	REQUIRE(mkmodel_write(&s, c, NULL) == 0);
	CHECK(!same_file(a, c));
}

static void stats(const struct gguf *g, const char *name, double *mean, double *sd)
{
	const struct gguf_tensor *t = gguf_find_tensor(g, name);
	const float *x;
	double s = 0, s2 = 0;

	*mean = *sd = -1;
	if (t == NULL || t->type != GGML_TYPE_F32)
		return;
	x = t->data;
	for (uint64_t i = 0; i < t->n_elem; i++) {
		s += x[i];
		s2 += (double)x[i] * x[i];
	}
	*mean = s / (double)t->n_elem;
	*sd = sqrt(s2 / (double)t->n_elem - *mean * *mean);
}

/* the oracle's weight scales, so logits are neither flat nor saturated */
static void weights_scaled_like_oracle(void)
{
	struct mkmodel_spec s;
	struct gguf *g = NULL;
	const char *path = tmp_path("f32.gguf");
	double m, sd;

	tiny(&s, MK_QWEN2, "F32");
	REQUIRE(mkmodel_write(&s, path, NULL) == 0);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	stats(g, "token_embd.weight", &m, &sd);
	CHECKF(fabs(m) < 0.01 && fabs(sd - 0.125) < 0.006, "token_embd %g %g", m, sd);
	stats(g, "blk.1.ffn_down.weight", &m, &sd);
	CHECKF(fabs(m) < 0.01 && fabs(sd - 1 / 16.0) < 0.003, "ffn_down %g %g", m, sd);
	stats(g, "blk.0.attn_norm.weight", &m, &sd);
	CHECKF(fabs(m - 1) < 0.03 && fabs(sd - 0.1) < 0.02, "attn_norm %g %g", m, sd);
	stats(g, "blk.0.attn_q.bias", &m, &sd);
	CHECKF(fabs(m) < 0.06 && fabs(sd - 0.2) < 0.04, "attn_q.bias %g %g", m, sd);
	gguf_free(g);
	/* at 4x the width, embeddings shrink by 2x: logits keep the oracle's spread */
	tiny(&s, MK_PHI3, "F32");
	s.d.n_embd = 1024;
	REQUIRE(mkmodel_write(&s, path, NULL) == 0);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	stats(g, "token_embd.weight", &m, &sd);
	CHECKF(fabs(sd - 0.25) < 0.01, "phi3 token_embd %g", sd);
	stats(g, "output.weight", &m, &sd);
	CHECKF(fabs(sd - 0.0625) < 0.003, "phi3 output %g", sd);
	gguf_free(g);
}

/* Llama 3.1+ rope factors and gemma3 4B's linear rope scaling keys */
static void rope_variants(void)
{
	struct mkmodel_spec s;
	struct gguf *g = NULL;
	const char *path = tmp_path("rope.gguf");
	const struct gguf_tensor *t;
	struct gguf_str str;
	float f;

	tiny(&s, MK_LLAMA, "Q8_0");
	s.d.head_dim = 64;
	s.d.n_head = 4;
	s.d.n_head_kv = 1;
	s.d.rope_base = 500000.f;
	s.d.rope_freqs = true;
	REQUIRE(mkmodel_write(&s, path, NULL) == 0);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	t = gguf_find_tensor(g, "rope_freqs.weight");
	REQUIRE(t != NULL && t->type == GGML_TYPE_F32 && t->ne[0] == 32 && t->n_dims == 1);
	/* high frequencies untouched, low ones divided by 32, smooth between */
	CHECK(((const float *)t->data)[0] == 1.0f && ((const float *)t->data)[31] == 32.0f);
	CHECK(((const float *)t->data)[16] > 1.0f && ((const float *)t->data)[16] < 32.0f);
	gguf_free(g);

	tiny(&s, MK_GEMMA3, "F16");
	s.d.rope_scale_linear = 8;
	REQUIRE(mkmodel_write(&s, path, NULL) == 0);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	CHECK(gguf_get_str(g, "gemma3.rope.scaling.type", &str, NULL) == 0 &&
	      gguf_str_eq(str, "linear"));
	CHECK(gguf_get_f32(g, "gemma3.rope.scaling.factor", &f, NULL) == 0 && f == 8.f);
	gguf_free(g);
}

static int cmp_str(const void *a, const void *b)
{
	const struct gguf_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* the built-in vocab: unique texts (llama.cpp asserts it), llama.cpp's token types */
static void builtin_vocab_unique(void)
{
	struct mkmodel_spec s;
	struct gguf *g = NULL;
	const struct gguf_kv *tok, *ty;
	struct gguf_str *v;
	const char *path = tmp_path("vocab.gguf");

	tiny(&s, MK_LLAMA, "Q8_0");
	s.d.n_vocab = 1000;
	REQUIRE(mkmodel_write(&s, path, NULL) == 0);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	REQUIRE(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STRING, &tok, NULL) == 0);
	REQUIRE(gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_VT_I32, &ty, NULL) == 0);
	v = calloc(tok->n, sizeof *v);
	REQUIRE(v != NULL);
	for (uint64_t i = 0; i < tok->n; i++)
		v[i] = gguf_arr_str(tok, i);
	CHECK(gguf_str_eq(v[0], "<unk>") && gguf_str_eq(v[1], "<s>") && gguf_str_eq(v[3], "<0x00>"));
	CHECK(gguf_arr_int(ty, 0) == 2 && gguf_arr_int(ty, 2) == 3 && gguf_arr_int(ty, 258) == 6 &&
	      gguf_arr_int(ty, 259) == 1 && gguf_arr_int(ty, 998) == 5 && gguf_arr_int(ty, 999) == 3);
	CHECK(gguf_str_eq(v[999], "<|endoftext|>"));
	qsort(v, tok->n, sizeof *v, cmp_str);
	for (uint64_t i = 1; i < tok->n; i++)
		CHECKF(cmp_str(&v[i - 1], &v[i]) != 0, "duplicate token '%.*s'", (int)v[i].len, v[i].s);
	free(v);
	gguf_free(g);
}

static void bad_specs_refused(void)
{
	struct mkmodel_spec s;
	struct dk_err e = DK_ERR_INIT;

	tiny(&s, MK_LLAMA, "Q4_K_MM");
	CHECK(mkmodel_write(&s, tmp_path("x.gguf"), &e) == DK_EINVAL);
	CHECK(strstr(e.msg, "Q4_K_MM") != NULL);
	tiny(&s, MK_LLAMA, "F16");
	s.d.n_head_kv = 3;
	CHECK(mkmodel_write(&s, tmp_path("x.gguf"), &e) == DK_EINVAL);
	tiny(&s, MK_LLAMA, "F16");
	s.vocab = "/nonexistent.gguf";
	CHECK(mkmodel_write(&s, tmp_path("x.gguf"), &e) != 0);
	CHECK(access(tmp_path("x.gguf"), F_OK) != 0);
}

static int kv_equal(const struct gguf_kv *a, const struct gguf_kv *b)
{
	if (a->type != b->type || a->arr_type != b->arr_type || a->n != b->n)
		return 0;
	if (a->type == GGUF_VT_ARRAY && a->arr_type == GGUF_VT_STRING) {
		for (uint64_t i = 0; i < a->n; i++) {
			struct gguf_str x = gguf_arr_str(a, i), y = gguf_arr_str(b, i);

			if (x.len != y.len || memcmp(x.s, y.s, x.len) != 0)
				return 0;
		}
		return 1;
	}
	if (a->type == GGUF_VT_STRING) {
		uint64_t la, lb;

		memcpy(&la, a->val, 8);
		memcpy(&lb, b->val, 8);
		return la == lb && memcmp(a->val + 8, b->val + 8, la) == 0;
	}
	return memcmp(a->val, b->val, a->type == GGUF_VT_ARRAY ?
		      a->n * gguf_vtype_size(a->arr_type) : gguf_vtype_size(a->type)) == 0;
}

static int key_is(const struct gguf_kv *kv, const char *prefix)
{
	size_t n = strlen(prefix);

	return kv->key.len >= n && memcmp(kv->key.s, prefix, n) == 0;
}

/* every tokenizer.* key of a vocab file lands in the model unchanged */
static void vocab_keys_copied(void)
{
	static const char *const vocabs[] = { "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf" };
	const char *shared = test_shared_dir();

	if (shared == NULL)
		SKIP("../shared absent");
	for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
		char vpath[1024];
		struct mkmodel_spec s;
		struct gguf *v = NULL, *g = NULL;
		const char *path = tmp_path("voc.gguf");
		struct dk_err e = DK_ERR_INIT;
		uint64_t n = 0;

		snprintf(vpath, sizeof vpath, "%s/oracle/tokenizers/%s", shared, vocabs[i]);
		tiny(&s, i == 0 ? MK_LLAMA : MK_PHI3, "F16");
		s.d.n_embd = 32;
		s.d.n_ff = 32;
		s.d.head_dim = 16;
		s.d.n_layer = 1;
		s.vocab = vpath;
		CHECKF(mkmodel_write(&s, path, &e) == 0, "%.200s", e.msg);
		REQUIRE(!test_failed_now);
		REQUIRE(gguf_open(vpath, &v, NULL) == 0 && gguf_open(path, &g, NULL) == 0);
		for (uint64_t k = 0; k < v->n_kv; k++) {
			char key[256];
			const struct gguf_kv *mine;

			if (!key_is(&v->kv[k], "tokenizer."))
				continue;
			snprintf(key, sizeof key, "%.*s", (int)v->kv[k].key.len, v->kv[k].key.s);
			mine = gguf_find_key(g, key);
			CHECKF(mine != NULL && kv_equal(mine, &v->kv[k]), "%s: key %s", vocabs[i], key);
			n++;
		}
		CHECK(n >= 8);
		CHECK(gguf_find_tensor(g, "token_embd.weight")->ne[1] ==
		      (int64_t)gguf_find_key(v, "tokenizer.ggml.tokens")->n);
		gguf_free(v);
		gguf_free(g);
	}
}

static int parse_oracle_name(const char *file, enum mkmodel_arch *a, char *type, size_t n)
{
	const char *dash = strchr(file, '-'), *dot = strstr(file, ".gguf");
	char arch[32];
	int ai;

	if (dash == NULL || dot == NULL || dot < dash || (size_t)(dash - file) >= sizeof arch ||
	    (size_t)(dot - dash) > n)
		return -1;
	snprintf(arch, sizeof arch, "%.*s", (int)(dash - file), file);
	ai = mkmodel_arch_parse(arch);
	if (ai < 0)
		return -1;
	*a = (enum mkmodel_arch)ai;
	snprintf(type, n, "%.*s", (int)(dot - dash - 1), dash + 1);
	return 0;
}

/* dims_of - the oracle file's own hyperparameters */
static void dims_of(const struct gguf *g, enum mkmodel_arch a, struct mkmodel_dims *d)
{
	const char *arch = mkmodel_arch_name(a);

	mkmodel_arch_defaults(a, d);
	key_u32(g, arch, "block_count", &d->n_layer);
	key_u32(g, arch, "embedding_length", &d->n_embd);
	key_u32(g, arch, "feed_forward_length", &d->n_ff);
	key_u32(g, arch, "attention.head_count", &d->n_head);
	key_u32(g, arch, "attention.head_count_kv", &d->n_head_kv);
	key_u32(g, arch, "attention.key_length", &d->head_dim);
	d->n_vocab = (uint32_t)gguf_find_key(g, "tokenizer.ggml.tokens")->n;
}

/* check_oracle_file - our plan for the oracle's shape and type is its tensor table */
static void check_oracle_file(const char *dir, const char *file)
{
	char path[2400], type[16];
	struct mkmodel_spec s = { .threads = 1 };
	struct mkmodel_plan p;
	struct gguf *g = NULL;
	enum mkmodel_arch a;

	if (parse_oracle_name(file, &a, type, sizeof type) != 0)
		return;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	REQUIRE(gguf_open(path, &g, NULL) == 0);
	dims_of(g, a, &s.d);
	s.type = type;
	REQUIRE(mkmodel_plan(&s, s.d.n_vocab, &p, NULL) == 0);
	CHECKF(p.n == g->n_tensors, "%s: %zu tensors, oracle %llu", file, p.n,
	       (unsigned long long)g->n_tensors);
	for (size_t i = 0; i < p.n; i++) {
		const struct gguf_tensor *t = gguf_find_tensor(g, p.t[i].name);

		CHECKF(t != NULL && t->type == p.t[i].type && (uint64_t)t->ne[0] == p.t[i].ne[0] &&
		       (uint64_t)t->ne[1] == p.t[i].ne[1], "%s: %s is %s here, %s in the oracle",
		       file, p.t[i].name, ggml_type_name(p.t[i].type),
		       t ? ggml_type_name(t->type) : "absent");
	}
	mkmodel_plan_release(&p);
	gguf_free(g);
}

static void oracle_files_same_tensor_table(void)
{
	const char *shared = test_shared_dir();
	char dir[1024];
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (shared == NULL)
		SKIP("../shared absent");
	snprintf(dir, sizeof dir, "%s/oracle/models", shared);
	d = opendir(dir);
	REQUIRE(d != NULL);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 5 && strcmp(de->d_name + len - 5, ".gguf") == 0 &&
		    strncmp(de->d_name, "stories", 7) != 0) {
			check_oracle_file(dir, de->d_name);
			n++;
		}
	}
	closedir(d);
	CHECKF(n >= 10, "only %d oracle models", n);
}

/* a model's non-tokenizer keys are the oracle's, with the oracle's types */
static void oracle_keys_present(void)
{
	const char *shared = test_shared_dir();
	static const char *const files[] = { "gemma3-Q4_K_M.gguf", "phi3-Q4_K_M.gguf",
					     "qwen2-Q4_K_M.gguf", "qwen3-Q4_K_M.gguf",
					     "llama-Q4_K_M.gguf" };

	if (shared == NULL)
		SKIP("../shared absent");
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		char path[1024], type[16];
		struct mkmodel_spec s = { .threads = 2, .seed = 3 };
		struct gguf *o = NULL, *g = NULL;
		const char *mine = tmp_path("keys.gguf");
		enum mkmodel_arch a;

		snprintf(path, sizeof path, "%s/oracle/models/%s", shared, files[f]);
		REQUIRE(parse_oracle_name(files[f], &a, type, sizeof type) == 0);
		REQUIRE(gguf_open(path, &o, NULL) == 0);
		dims_of(o, a, &s.d);
		s.d.n_vocab = 300;	/* keys only: a small vocab and a cheap type keep this fast */
		s.type = "Q4_0";
		REQUIRE(mkmodel_write(&s, mine, NULL) == 0);
		REQUIRE(gguf_open(mine, &g, NULL) == 0);
		for (uint64_t k = 0; k < o->n_kv; k++) {
			const struct gguf_kv *kv = &o->kv[k], *m;
			char key[256];

			if (key_is(kv, "tokenizer."))
				continue;
			snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.s);
			m = gguf_find_key(g, key);
			CHECKF(m != NULL && m->type == kv->type, "%s: key %s", files[f], key);
			if (m != NULL && !key_is(kv, "general.name") && !key_is(kv, "general.file_type"))
				CHECKF(kv_equal(m, kv), "%s: value of %s", files[f], key);
		}
		CHECK(g->n_kv - 10 <= o->n_kv);
		gguf_free(o);
		gguf_free(g);
	}
}

/* stories260K through our converter equals llama.cpp's conversion (note: context 512, not 128) */
static void llama2c_matches_llama_cpp(void)
{
	const char *shared = test_shared_dir();
	char bin[1024], tok[1024], ref[1024];
	const char *out = tmp_path("stories.gguf");
	struct gguf *o = NULL, *g = NULL;
	struct dk_err e = DK_ERR_INIT;
	uint32_t ctx;

	if (shared == NULL)
		SKIP("../shared absent");
	snprintf(bin, sizeof bin, "%s/oracle/models/stories260K.bin", shared);
	snprintf(tok, sizeof tok, "%s/oracle/models/tok512.bin", shared);
	snprintf(ref, sizeof ref, "%s/oracle/models/stories260K-F32.gguf", shared);
	CHECKF(llama2c_convert(bin, tok, out, &e) == 0, "%.200s", e.msg);
	REQUIRE(!test_failed_now);
	REQUIRE(gguf_open(ref, &o, NULL) == 0);
	REQUIRE(gguf_open(out, &g, &e) == 0);
	CHECK(g->n_kv == o->n_kv && g->n_tensors == o->n_tensors);
	for (uint64_t k = 0; k < o->n_kv && k < g->n_kv; k++) {
		const struct gguf_kv *a = &o->kv[k], *b = &g->kv[k];

		CHECKF(a->key.len == b->key.len && memcmp(a->key.s, b->key.s, a->key.len) == 0,
		       "key %llu: %.*s", (unsigned long long)k, (int)a->key.len, a->key.s);
		if (!key_is(a, "llama.context_length"))
			CHECKF(kv_equal(a, b), "value of %.*s", (int)a->key.len, a->key.s);
	}
	CHECK(gguf_get_u32(g, "llama.context_length", &ctx, NULL) == 0 && ctx == 512);
	for (uint64_t i = 0; i < o->n_tensors && i < g->n_tensors; i++) {
		const struct gguf_tensor *a = &o->tensors[i], *b = &g->tensors[i];

		CHECKF(a->name.len == b->name.len && memcmp(a->name.s, b->name.s, a->name.len) == 0 &&
		       a->type == b->type && a->n_dims == b->n_dims && a->ne[0] == b->ne[0] &&
		       a->ne[1] == b->ne[1] && a->offset == b->offset &&
		       memcmp(a->data, b->data, a->nbytes) == 0,
		       "tensor %.*s differs", (int)a->name.len, a->name.s);
	}
	gguf_free(o);
	gguf_free(g);
}

static void llama2c_refuses_bad_input(void)
{
	const char *bad = tmp_path("bad.bin");
	FILE *f = fopen(bad, "wb");
	int32_t hdr[7] = { 64, 172, 5, 8, 4, 512, 512 };
	struct dk_err e = DK_ERR_INIT;

	REQUIRE(f != NULL);
	fwrite(hdr, sizeof hdr, 1, f);	/* a header promising weights that are absent */
	fclose(f);
	CHECK(llama2c_convert(bad, bad, tmp_path("o.gguf"), &e) == DK_EFORMAT);
	CHECK(strstr(e.msg, "fewer weights") != NULL);
	hdr[3] = 7;	/* 64 not divisible by 7 heads */
	f = fopen(bad, "wb");
	REQUIRE(f != NULL);
	fwrite(hdr, sizeof hdr, 1, f);
	fclose(f);
	CHECK(llama2c_convert(bad, bad, tmp_path("o.gguf"), &e) == DK_EFORMAT);
	CHECK(llama2c_convert("/nonexistent", bad, tmp_path("o.gguf"), &e) == DK_ENOTFOUND);
	CHECK(access(tmp_path("o.gguf"), F_OK) != 0);
}

int main(void)
{
	RUN(every_arch_writes_valid_files);
	RUN(every_type_writes_valid_files);
	RUN(mixtures_match_oracle_table);
	RUN(k_types_fall_back_on_odd_rows);
	RUN(presets_have_real_shapes);
	RUN(same_seed_same_bytes_any_threads);
	RUN(weights_scaled_like_oracle);
	RUN(rope_variants);
	RUN(builtin_vocab_unique);
	RUN(bad_specs_refused);
	RUN(vocab_keys_copied);
	RUN(oracle_files_same_tensor_table);
	RUN(oracle_keys_present);
	RUN(llama2c_matches_llama_cpp);
	RUN(llama2c_refuses_bad_input);
	return TEST_END();
}
