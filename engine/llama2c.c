/*
 * NAME
 *	llama2c - llama2.c checkpoint + tokenizer to GGUF
 * DESIGN NOTES
 *	1. Checkpoint layout (llama2.c run.c, memory_map_weights): Config
 *	   {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 *	   seq_len} as int32; vocab_size < 0 means a separate classifier
 *	   follows at the end. Then float32 arrays, each layer-major:
 *	   token_embedding (vocab, dim), rms_att (L, dim), wq (L, dim, dim),
 *	   wk (L, kv_dim, dim), wv (L, kv_dim, dim), wo (L, dim, dim),
 *	   rms_ffn (L, dim), w1 (L, hidden, dim), w2 (L, dim, hidden),
 *	   w3 (L, hidden, dim), rms_final (dim), freq_cis_real and _imag
 *	   (seq_len, head_size/2 each; skipped), wcls (vocab, dim) if separate.
 *	   Matrices are (out, in) row-major, which is exactly GGUF's
 *	   [ne0 = in, ne1 = out]: data is copied unchanged.
 *	2. No row permutation of wq/wk: llama2.c rotates adjacent pairs
 *	   (2i, 2i+1), which is llama.cpp's RoPE NORM mode used by arch llama
 *	   (checked against the oracle's stories260K-F32.gguf, whose attn_q
 *	   and attn_k bytes equal the checkpoint's).
 *	3. Tokens: llama.cpp's converter names ids 0/1/2 "<unk>", "<s>",
 *	   "</s>" (types UNKNOWN, CONTROL, CONTROL), types "<0xNN>" as BYTE,
 *	   empty text as CONTROL, the rest NORMAL, and writes ' ' as U+2581.
 *	4. The input is untrusted: every size is checked against the file
 *	   before a pointer into it is formed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "engine/llama2c.h"

#define MAX_DIM (1 << 16)
#define MAX_VOCAB (1 << 20)

struct l2c_config {
	int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
};

struct mapped {
	const uint8_t *p;
	size_t size;
};

static int map_file(const char *path, struct mapped *m, struct dk_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	m->p = NULL;
	m->size = 0;
	if (fd < 0)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return dk_err_set(err, DK_EFORMAT, "'%s' is not a non-empty regular file", path);
	}
	m->size = (size_t)st.st_size;
	m->p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		return dk_err_set(err, DK_EIO, "cannot map '%s': %s", path, strerror(errno));
	}
	return 0;
}

static void unmap_file(struct mapped *m)
{
	if (m->p != NULL)
		munmap((void *)m->p, m->size);
}

static int in_range(int32_t v, int32_t lo, int32_t hi)
{
	return v >= lo && v <= hi;
}

/* read_config - the header, checked for shapes run.c could use (note 4) */
static int read_config(const struct mapped *m, const char *path, struct l2c_config *c,
		       struct dk_err *err)
{
	if (m->size < sizeof *c)
		return dk_err_set(err, DK_EFORMAT, "'%s' is too short for a llama2.c header", path);
	memcpy(c, m->p, sizeof *c);
	if (!in_range(c->dim, 1, MAX_DIM) || !in_range(c->hidden, 1, 4 * MAX_DIM) ||
	    !in_range(c->n_layers, 1, 1024) || !in_range(c->n_heads, 1, c->dim) ||
	    !in_range(c->n_kv_heads, 1, c->n_heads) || c->dim % c->n_heads != 0 ||
	    c->n_heads % c->n_kv_heads != 0 || (c->dim / c->n_heads) % 2 != 0 ||
	    !in_range(c->vocab < 0 ? -c->vocab : c->vocab, 1, MAX_VOCAB) ||
	    !in_range(c->seq_len, 1, 1 << 24))
		return dk_err_set(err, DK_EFORMAT, "'%s': implausible llama2.c header", path);
	return 0;
}

/* the float arrays of note 1, as offsets (in floats) from the end of the header */
struct l2c_layout {
	uint64_t emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, wcls, end;
};

static void layout(const struct l2c_config *c, struct l2c_layout *l)
{
	uint64_t d = (uint64_t)c->dim, h = (uint64_t)c->hidden, L = (uint64_t)c->n_layers;
	uint64_t v = (uint64_t)(c->vocab < 0 ? -c->vocab : c->vocab);
	uint64_t hs = d / (uint64_t)c->n_heads, kvd = hs * (uint64_t)c->n_kv_heads;

	l->emb = 0;
	l->rms_att = l->emb + v * d;
	l->wq = l->rms_att + L * d;
	l->wk = l->wq + L * d * d;
	l->wv = l->wk + L * kvd * d;
	l->wo = l->wv + L * kvd * d;
	l->rms_ffn = l->wo + L * d * d;
	l->w1 = l->rms_ffn + L * d;
	l->w2 = l->w1 + L * h * d;
	l->w3 = l->w2 + L * d * h;
	l->rms_final = l->w3 + L * h * d;
	/* freq_cis_real and freq_cis_imag: seq_len * head_size / 2 floats each */
	l->wcls = l->rms_final + d + (uint64_t)c->seq_len * hs;
	l->end = c->vocab < 0 ? l->wcls + v * d : l->wcls;
	if (c->vocab >= 0)
		l->wcls = l->emb;
}

struct token {
	char *text;
	size_t len;
	float score;
	int32_t type;
};

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };

/* escape_spaces - ' ' becomes U+2581 (SentencePiece's visible space) */
static char *escape_spaces(const uint8_t *s, size_t n, size_t *out_len)
{
	size_t spaces = 0, k = 0;
	char *o;

	for (size_t i = 0; i < n; i++)
		spaces += s[i] == ' ';
	o = malloc(n + 2 * spaces + 1);
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			memcpy(o + k, "\xe2\x96\x81", 3);
			k += 3;
		} else {
			o[k++] = (char)s[i];
		}
	}
	o[k] = 0;
	*out_len = k;
	return o;
}

static int is_byte_token(const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEFabcdef";

	return n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
	       memchr(hex, s[3], sizeof hex - 1) != NULL && memchr(hex, s[4], sizeof hex - 1) != NULL;
}

/* name_token - text and type of token i as llama.cpp's converter sets them (note 3) */
static int name_token(struct token *t, uint32_t i, const uint8_t *s, size_t n)
{
	static const char *const special[] = { "<unk>", "<s>", "</s>" };

	if (i < 3) {
		t->text = strdup(special[i]);
		t->len = strlen(special[i]);
		t->type = i == 0 ? TT_UNKNOWN : TT_CONTROL;
	} else {
		t->text = escape_spaces(s, n, &t->len);
		t->type = n == 0 ? TT_CONTROL : is_byte_token(s, n) ? TT_BYTE : TT_NORMAL;
	}
	return t->text == NULL ? DK_ENOMEM : 0;
}

static void free_tokens(struct token *t, uint32_t n)
{
	for (uint32_t i = 0; t != NULL && i < n; i++)
		free(t[i].text);
	free(t);
}

/* read_tokens - n_vocab entries of a llama2.c tokenizer.bin (note 4) */
static int read_tokens(const struct mapped *m, const char *path, uint32_t n_vocab,
		       struct token **out, struct dk_err *err)
{
	struct token *t = calloc(n_vocab, sizeof *t);
	size_t off = 4;
	int rc = 0;

	*out = NULL;
	if (t == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (m->size < 4)
		rc = dk_err_set(err, DK_EFORMAT, "'%s' is too short for a tokenizer", path);
	for (uint32_t i = 0; i < n_vocab && rc == 0; i++) {
		int32_t len;

		if (m->size - off < 8) {
			rc = dk_err_set(err, DK_EFORMAT, "'%s': token %u is truncated", path, i);
			break;
		}
		memcpy(&t[i].score, m->p + off, 4);
		memcpy(&len, m->p + off + 4, 4);
		off += 8;
		if (len < 0 || (size_t)len > m->size - off) {
			rc = dk_err_set(err, DK_EFORMAT, "'%s': token %u has a bad length", path, i);
			break;
		}
		if (name_token(&t[i], i, m->p + off, (size_t)len) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		off += (size_t)len;
	}
	if (rc != 0) {
		free_tokens(t, n_vocab);
		return rc;
	}
	*out = t;
	return 0;
}

static int write_vocab(struct gguf_writer *w, const struct token *t, uint32_t n,
		       struct dk_err *err)
{
	const char **strs = malloc(n * sizeof *strs);
	size_t *lens = malloc(n * sizeof *lens);
	float *scores = malloc(n * sizeof *scores);
	int32_t *types = malloc(n * sizeof *types);
	int rc = 0;

	if (strs == NULL || lens == NULL || scores == NULL || types == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		strs[i] = t[i].text;
		lens[i] = t[i].len;
		scores[i] = t[i].score;
		types[i] = t[i].type;
	}
	if (rc == 0)
		rc = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", strs, lens, n, err);
	if (rc == 0)
		rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores, n, err);
	if (rc == 0)
		rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, n, err);
	free(strs);
	free(lens);
	free(scores);
	free(types);
	return rc;
}

/* write_meta - the keys llama.cpp's converter writes, in its order */
static int write_meta(struct gguf_writer *w, const struct l2c_config *c, struct dk_err *err)
{
	const struct { const char *key; uint32_t v; } u32s[] = {
		{ "tokenizer.ggml.unknown_token_id", 0 },
		{ "tokenizer.ggml.bos_token_id", 1 },
		{ "tokenizer.ggml.eos_token_id", 2 },
		{ "tokenizer.ggml.seperator_token_id", UINT32_MAX },
		{ "tokenizer.ggml.padding_token_id", UINT32_MAX },
		{ "llama.context_length", (uint32_t)c->seq_len },
		{ "llama.embedding_length", (uint32_t)c->dim },
		{ "llama.feed_forward_length", (uint32_t)c->hidden },
		{ "llama.attention.head_count", (uint32_t)c->n_heads },
		{ "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads },
		{ "llama.block_count", (uint32_t)c->n_layers },
		{ "llama.rope.dimension_count", (uint32_t)(c->dim / c->n_heads) },
	};
	int rc = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", 5, err);

	if (rc == 0)
		rc = gguf_writer_set_str(w, "general.architecture", "llama", 5, err);
	if (rc == 0)
		rc = gguf_writer_set_str(w, "general.name", "llama", 5, err);
	for (size_t i = 0; i < sizeof u32s / sizeof u32s[0] && rc == 0; i++)
		rc = gguf_writer_set_u32(w, u32s[i].key, u32s[i].v, err);
	if (rc == 0)
		rc = gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f, err);
	return rc;
}

struct l2c_tensor {
	char name[64];
	uint64_t ne[2];
	uint32_t n_dims;
	uint64_t src;		/* float offset into the checkpoint's arrays */
};

/* plan_tensors - names, shapes and sources in llama.cpp's converter's order */
static size_t plan_tensors(const struct l2c_config *c, const struct l2c_layout *l,
			   struct l2c_tensor *t)
{
	uint64_t d = (uint64_t)c->dim, h = (uint64_t)c->hidden;
	uint64_t v = (uint64_t)(c->vocab < 0 ? -c->vocab : c->vocab);
	uint64_t kvd = d / (uint64_t)c->n_heads * (uint64_t)c->n_kv_heads;
	size_t n = 0;

#define T(nm, a, b, nd, off) do { snprintf(t[n].name, sizeof t[n].name, "%s", nm); \
		t[n].ne[0] = (a); t[n].ne[1] = (b); t[n].n_dims = (nd); t[n].src = (off); n++; } while (0)
	T("token_embd.weight", d, v, 2, l->emb);
	T("output_norm.weight", d, 1, 1, l->rms_final);
	T("output.weight", d, v, 2, l->wcls);
	for (uint64_t i = 0; i < (uint64_t)c->n_layers; i++) {
		char nm[64];

#define B(what, a, b, nd, off) do { snprintf(nm, sizeof nm, "blk.%llu.%s", \
		(unsigned long long)i, what); T(nm, a, b, nd, off); } while (0)
		B("attn_q.weight", d, d, 2, l->wq + i * d * d);
		B("attn_k.weight", d, kvd, 2, l->wk + i * kvd * d);
		B("attn_v.weight", d, kvd, 2, l->wv + i * kvd * d);
		B("attn_output.weight", d, d, 2, l->wo + i * d * d);
		B("attn_norm.weight", d, 1, 1, l->rms_att + i * d);
		B("ffn_gate.weight", d, h, 2, l->w1 + i * h * d);
		B("ffn_down.weight", h, d, 2, l->w2 + i * d * h);
		B("ffn_up.weight", d, h, 2, l->w3 + i * h * d);
		B("ffn_norm.weight", d, 1, 1, l->rms_ffn + i * d);
#undef B
	}
#undef T
	return n;
}

static int write_gguf(const struct l2c_config *c, const struct l2c_layout *l,
		      const uint8_t *weights, const struct token *tok, const char *out,
		      struct dk_err *err)
{
	size_t nt = 3 + 9 * (size_t)c->n_layers;
	struct l2c_tensor *t = calloc(nt, sizeof *t);
	struct gguf_writer *w = NULL;
	int rc;

	if (t == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	plan_tensors(c, l, t);
	rc = gguf_writer_new(&w, GGUF_WRITE_DEFAULT_ALIGNMENT, err);
	if (rc == 0)
		rc = write_vocab(w, tok, (uint32_t)(c->vocab < 0 ? -c->vocab : c->vocab), err);
	if (rc == 0)
		rc = write_meta(w, c, err);
	for (size_t i = 0; i < nt && rc == 0; i++)
		rc = gguf_writer_add_tensor(w, t[i].name, t[i].n_dims, t[i].ne, GGML_TYPE_F32,
					    t[i].ne[0] * t[i].ne[1] * sizeof(float), err);
	if (rc == 0)
		rc = gguf_writer_begin(w, out, err);
	for (size_t i = 0; i < nt && rc == 0; i++)
		rc = gguf_writer_write(w, weights + t[i].src * sizeof(float),
				       t[i].ne[0] * t[i].ne[1] * sizeof(float), err);
	if (rc == 0)
		rc = gguf_writer_commit(w, err);
	gguf_writer_free(w);
	free(t);
	return rc;
}

/* llama2c_convert - checkpoint + tokenizer to an F32 GGUF at out */
int llama2c_convert(const char *checkpoint, const char *tokenizer, const char *out,
		    struct dk_err *err)
{
	struct mapped ck = { 0 }, tk = { 0 };
	struct l2c_config c;
	struct l2c_layout l;
	struct token *tok = NULL;
	uint32_t n_vocab = 0;
	int rc = map_file(checkpoint, &ck, err);

	if (rc == 0)
		rc = read_config(&ck, checkpoint, &c, err);
	if (rc == 0) {
		layout(&c, &l);
		n_vocab = (uint32_t)(c.vocab < 0 ? -c.vocab : c.vocab);
		if ((ck.size - sizeof c) / sizeof(float) < l.end)
			rc = dk_err_set(err, DK_EFORMAT,
					"'%s' holds fewer weights than its header promises", checkpoint);
	}
	if (rc == 0)
		rc = map_file(tokenizer, &tk, err);
	if (rc == 0)
		rc = read_tokens(&tk, tokenizer, n_vocab, &tok, err);
	/* weights are streamed straight from the mapping as bytes (note 1) */
	if (rc == 0)
		rc = write_gguf(&c, &l, ck.p + sizeof c, tok, out, err);
	free_tokens(tok, n_vocab);
	unmap_file(&tk);
	unmap_file(&ck);
	return rc;
}
