/*
 * NAME
 *	test_tokenizer - tokenizers against llama.cpp's test vectors, plus
 *	tiny hand-built vocabularies that need no reference data
 * SUMMARY
 *	For every X.gguf in DOCKET_SHARED/oracle/tokenizers with X.gguf.inp
 *	and X.gguf.out: every case must give exactly the reference ids
 *	(no BOS/EOS, special text as plain text), and decoding must give the
 *	input back where the vocabulary is lossless (SPM, byte-level BPE).
 *	Each vocab is loaded once (the large ones dominate the ASan run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/tok_impl.h"
#include "engine/tokenizer.h"
#include "tests/test.h"

/* ---- file helpers ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* pieces_text - concatenated pieces, SPM's prefix space removed (no clean-up) */
static void pieces_text(const struct tok_vocab *v, const struct tok_ids *ids, struct dk_buf *out)
{
	for (size_t i = 0; i < ids->n; i++) {
		size_t before = out->len;

		tok_piece(v, ids->v[i], 0, out);
		if (i == 0 && v->add_space_prefix && out->len > before && out->buf[before] == ' ') {
			memmove(out->buf, out->buf + 1, out->len - 1);
			dk_buf_truncate(out, out->len - 1);
		}
	}
}

/* vpath - path of ggml-vocab-NAME.ggufEXT under shared; NULL if too long */
static const char *vpath(char *buf, size_t n, const char *shared, const char *name, const char *ext)
{
	int k = snprintf(buf, n, "%s/oracle/tokenizers/ggml-vocab-%s.gguf%s", shared, name, ext);

	return (k > 0 && (size_t)k < n) ? buf : NULL;
}

/* run_vectors - one oracle vocab: every case of X.inp against X.out */
static void run_vectors(const char *name, int roundtrip, void (*extra)(const struct tok_vocab *))
{
	const char *shared = test_shared_dir();
	char path[4096];
	struct gguf *g = NULL;
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	char *inp, *outp, *ip, *op;
	size_t ilen, olen;
	int cases = 0, pass = 0, rt_fail = 0;
	static const char sep[] = "\n__ggml_vocab_test__\n";

	if (shared == NULL)
		SKIP("no shared reference data (../shared)");
	if (vpath(path, sizeof path, shared, name, "") == NULL || gguf_open(path, &g, &err) != 0)
		SKIP("cannot open ggml-vocab-%s.gguf: %.200s", name, err.msg);
	REQUIRE(tok_vocab_from_gguf(g, &v, &err) == 0 || (printf("  %s: %s\n", name, err.msg), 0));
	inp = vpath(path, sizeof path, shared, name, ".inp") ? slurp(path, &ilen) : NULL;
	outp = vpath(path, sizeof path, shared, name, ".out") ? slurp(path, &olen) : NULL;
	REQUIRE(inp != NULL && outp != NULL);
	ip = inp;
	op = outp;
	for (;;) {
		char *end = strstr(ip, sep), *eol;
		struct tok_ids ids = TOK_IDS_INIT, want = TOK_IDS_INIT;
		int same;

		if (end == NULL)
			break;
		eol = strchr(op, '\n');
		if (eol == NULL)
			break;
		*eol = 0;
		for (char *q = op; *q;) {
			char *e;
			long id = strtol(q, &e, 10);

			if (e == q)
				break;
			tok_ids_push(&want, (int32_t)id);
			q = e;
		}
		tok_encode(v, ip, (size_t)(end - ip), 0, &ids, &err);
		same = ids.n == want.n && (ids.n == 0 || memcmp(ids.v, want.v, ids.n * 4) == 0);
		cases++;
		pass += same;
		if (!same) {
			CHECKF(same, "%s case %d: got %zu ids, want %zu", name, cases, ids.n, want.n);
			if (getenv("TOK_VERBOSE")) {
				printf("  case %d: %.*s\n  got:", cases, (int)(end - ip), ip);
				for (size_t i = 0; i < ids.n; i++)
					printf(" %d", ids.v[i]);
				printf("\n want:%s\n", op);
			}
		}
		if (roundtrip) {
			struct dk_buf b = DK_BUF_INIT;

			pieces_text(v, &ids, &b);
			if (b.len != (size_t)(end - ip) || memcmp(b.buf, ip, b.len) != 0)
				rt_fail++;
			dk_buf_release(&b);
		}
		tok_ids_release(&ids);
		tok_ids_release(&want);
		ip = end + sizeof sep - 1;
		op = eol + 1;
	}
	printf("  %s: %d/%d cases match", name, pass, cases);
	if (roundtrip)
		printf(", %d/%d round trips", cases - rt_fail, cases);
	printf("\n");
	CHECKF(cases == 46, "%s: %d cases read", name, cases);
	CHECKF(rt_fail == 0, "%s: %d round trips differ", name, rt_fail);
	if (extra)
		extra(v);
	free(inp);
	free(outp);
	tok_vocab_free(v);
	gguf_free(g);
}


/* ---- tiny hand-built vocabularies (no reference data needed) ---- */

/* tiny_spm - <unk> <s> </s>, 256 byte tokens, then a few pieces with scores */
static struct tok_vocab *tiny_spm(int add_space_prefix)
{
	static const char *const pieces[] = { "\xe2\x96\x81", "h", "e", "l", "o", "he", "ll",
					      "hell", "hello", "\xe2\x96\x81hello", "<tag>" };
	static const float pscore[] = { -1, -2, -2, -2, -2, -3, -3, -4, -5, -1, 0 };
	const char *tok[3 + 256 + 11];
	char bytes[256][7];
	float score[3 + 256 + 11];
	int32_t type[3 + 256 + 11];
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	uint32_t n = 0;

	tok[n] = "<unk>", score[n] = 0, type[n++] = TOK_TYPE_UNKNOWN;
	tok[n] = "<s>", score[n] = 0, type[n++] = TOK_TYPE_CONTROL;
	tok[n] = "</s>", score[n] = 0, type[n++] = TOK_TYPE_CONTROL;
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
		tok[n] = bytes[b], score[n] = 0, type[n++] = TOK_TYPE_BYTE;
	}
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		tok[n] = pieces[i], score[n] = pscore[i];
		type[n++] = strcmp(pieces[i], "<tag>") == 0 ? TOK_TYPE_USER_DEFINED : TOK_TYPE_NORMAL;
	}
	sp.model = "llama";
	sp.n_tokens = n;
	sp.tokens = tok;
	sp.scores = score;
	sp.types = type;
	sp.add_space_prefix = add_space_prefix;
	if (tok_vocab_build(&sp, &v, &err) != 0)
		printf("  tiny_spm: %s\n", err.msg);
	return v;
}

static int ids_are(const struct tok_ids *ids, const int32_t *want, size_t n)
{
	return ids->n == n && (n == 0 || memcmp(ids->v, want, n * sizeof *want) == 0);
}

/* encode_str - ids of s with flags into a fresh list */
static struct tok_ids encode_str(const struct tok_vocab *v, const char *s, unsigned flags)
{
	struct tok_ids ids = TOK_IDS_INIT;
	struct dk_err err = DK_ERR_INIT;

	tok_encode(v, s, strlen(s), flags, &ids, &err);
	return ids;
}

static void spm_merges_by_score(void)
{
	struct tok_vocab *v = tiny_spm(1);
	struct tok_ids ids;
	struct dk_buf b = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	/* " hello" -> "▁hello" (268); add_special puts <s> (1) first */
	const int32_t w1[] = { 1, 268 };
	/* "hé": "▁" (259), "h" (260), then é's two bytes 0xC3 0xA9 as byte tokens */
	const int32_t w2[] = { 259, 260, 3 + 0xC3, 3 + 0xA9 };

	REQUIRE(v != NULL);
	ids = encode_str(v, "hello", TOK_ADD_SPECIAL);
	CHECK(ids_are(&ids, w1, 2));
	/* without BOS the prefix space goes; llama.cpp keeps it after a removed BOS */
	CHECK(tok_decode(v, ids.v + 1, 1, 0, &b, &err) == 0);
	CHECK(strcmp(b.buf, "hello") == 0);
	dk_buf_reset(&b);
	CHECK(tok_decode(v, ids.v, ids.n, TOK_REMOVE_SPECIAL, &b, &err) == 0);
	CHECK(strcmp(b.buf, " hello") == 0);
	tok_ids_release(&ids);
	ids = encode_str(v, "h\xc3\xa9", 0);
	CHECK(ids_are(&ids, w2, 4));
	dk_buf_reset(&b);
	CHECK(tok_decode(v, ids.v, ids.n, 0, &b, &err) == 0);
	CHECK(strcmp(b.buf, "h\xc3\xa9") == 0);
	tok_ids_release(&ids);
	ids = encode_str(v, "", TOK_ADD_SPECIAL);
	CHECK(ids.n == 1 && ids.v[0] == 1);
	tok_ids_release(&ids);
	dk_buf_release(&b);
	tok_vocab_free(v);
}

static void special_partition(void)
{
	struct tok_vocab *v = tiny_spm(0);
	struct tok_ids ids;
	/* "<tag>" is user-defined: split out even without parse_special */
	const int32_t w1[] = { 260, 269, 264 };	/* h <tag> he */
	const int32_t w2[] = { 1, 265 };	/* <s> ll */

	REQUIRE(v != NULL);
	ids = encode_str(v, "h<tag>he", 0);
	CHECK(ids_are(&ids, w1, 3));
	tok_ids_release(&ids);
	/* "<s>" is control: plain text unless parse_special */
	ids = encode_str(v, "<s>ll", TOK_PARSE_SPECIAL);
	CHECK(ids_are(&ids, w2, 2));
	tok_ids_release(&ids);
	ids = encode_str(v, "<s>ll", 0);
	CHECK(ids.n > 2 && ids.v[0] == 3 + '<');
	tok_ids_release(&ids);
	tok_vocab_free(v);
}

/* tiny_bpe - the 256-character byte alphabet plus merges for "hello" and " w" */
static struct tok_vocab *tiny_bpe(const char *pre)
{
	static const char *const extra[] = { "he", "ll", "hell", "hello", "\xc4\xa0w", "<|endoftext|>" };
	static const char *const merges[] = { "h e", "l l", "he ll", "hell o", "\xc4\xa0 w" };
	const char *tok[256 + 6];
	char alpha[256][5];
	int32_t type[256 + 6];
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	uint32_t n = 0;

	for (int b = 0; b < 256; b++) {
		size_t k = tok_utf8_put(tok_bpe_byte_cpt((uint8_t)b), alpha[b]);

		alpha[b][k] = 0;
		tok[n] = alpha[b], type[n++] = TOK_TYPE_NORMAL;
	}
	for (size_t i = 0; i < 6; i++)
		tok[n] = extra[i], type[n++] = i == 5 ? TOK_TYPE_CONTROL : TOK_TYPE_NORMAL;
	sp.model = "gpt2";
	sp.pre = pre;
	sp.n_tokens = n;
	sp.tokens = tok;
	sp.types = type;
	sp.n_merges = 5;
	sp.merges = merges;
	sp.eos = 261;
	if (tok_vocab_build(&sp, &v, &err) != 0)
		printf("  tiny_bpe: %s\n", err.msg);
	return v;
}

static void bpe_merges_by_rank(void)
{
	struct tok_vocab *v = tiny_bpe("gpt-2");
	struct tok_ids ids;
	struct dk_buf b = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	/* "hello" one token; " w" merged; "o", "r", "l", "d" single bytes */
	const int32_t want[] = { 259, 260, 'o', 'r', 'l', 'd' };

	REQUIRE(v != NULL);
	ids = encode_str(v, "hello world", 0);
	CHECK(ids_are(&ids, want, 6));
	CHECK(tok_decode(v, ids.v, ids.n, 0, &b, &err) == 0);
	CHECK(strcmp(b.buf, "hello world") == 0);
	CHECK(tok_is_eog(v, 261));
	tok_ids_release(&ids);
	/* llama_detokenize's clean-up for gpt-2: " ," and " 's" lose the space */
	ids = encode_str(v, "hello , it 's", 0);
	dk_buf_reset(&b);
	CHECK(tok_decode(v, ids.v, ids.n, 0, &b, &err) == 0);
	CHECK(strcmp(b.buf, "hello, it's") == 0);
	tok_ids_release(&ids);
	/* every byte value survives the byte-level round trip */
	{
		char all[255];
		struct tok_ids a;

		for (int i = 0; i < 255; i++)
			all[i] = (char)(i + 1);
		a = (struct tok_ids)TOK_IDS_INIT;
		CHECK(tok_encode(v, all, 255, 0, &a, &err) == 0);
		dk_buf_reset(&b);
		tok_piece(v, a.v[0], 0, &b);
		for (size_t i = 1; i < a.n; i++)
			tok_piece(v, a.v[i], 0, &b);
		CHECK(b.len >= 127 && memcmp(b.buf, all, 127) == 0);
		tok_ids_release(&a);
	}
	dk_buf_release(&b);
	tok_vocab_free(v);
}

/* words_are - the pre-tokenizer's words for s, joined by '|' */
static int words_are(enum tok_pre pre, const char *s, const char *want)
{
	struct tok_words w;
	char got[512];
	size_t off = 0, g = 0;
	int ok;

	if (tok_pretok_split(pre, s, strlen(s), &w) != 0)
		return 0;
	for (size_t k = 0; k < w.n && g + w.wlen[k] + 2 < sizeof got; k++) {
		if (k)
			got[g++] = '|';
		memcpy(got + g, w.text + off, w.wlen[k]);
		g += w.wlen[k];
		off += w.wlen[k];
	}
	got[g] = 0;
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("  pretok %d: '%s' gave '%s', want '%s'\n", (int)pre, s, got, want);
	tok_words_release(&w);
	return ok;
}

static void pretokenizers(void)
{
	CHECK(words_are(TOK_PRE_GPT2, "Hello world's 1234  x", "Hello| world|'s| 1234| | x"));
	CHECK(words_are(TOK_PRE_LLAMA3, "I'M 12345\n\n  ok!!", "I|'M| |123|45|\n\n| | ok|!!"));
	CHECK(words_are(TOK_PRE_QWEN2, "ab 123", "ab| |1|2|3"));
	CHECK(words_are(TOK_PRE_STARCODER, "x12", "x|1|2"));
	CHECK(words_are(TOK_PRE_FALCON, "a+=12345", "a|+=|123|45"));
	CHECK(words_are(TOK_PRE_DEEPSEEK_CODER, "if x:\n\t\u4e2d\u6587", "if| x|:|\n|\t|\u4e2d\u6587"));
	CHECK(words_are(TOK_PRE_DEFAULT, "a<=b 2024", "a|<=|b| |202|4"));
	/* invalid UTF-8 becomes U+FFFD, as in llama.cpp */
	CHECK(words_are(TOK_PRE_GPT2, "a\xff", "a|\xef\xbf\xbd"));
}

static void wpm_words(void)
{
	static const char *const tok[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]",
		"\xe2\x96\x81hello", "\xe2\x96\x81\x63\x61\x66\x65", "\xe2\x96\x81!", "\xe2\x96\x81un", "aff", "able" };
	static const int32_t type[] = { 3, 3, 3, 3, 1, 1, 1, 1, 1, 1 };
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	struct tok_ids ids;
	/* [CLS] hello cafe(é stripped) ! un aff able [UNK] [SEP] */
	const int32_t want[] = { 2, 4, 5, 6, 7, 8, 9, 1, 3 };

	sp.model = "bert";
	sp.n_tokens = 10;
	sp.tokens = tok;
	sp.types = type;
	sp.bos = 2, sp.sep = 3, sp.unk = 1, sp.pad = 0;
	REQUIRE(tok_vocab_build(&sp, &v, &err) == 0);
	ids = encode_str(v, "Hello CAF\xc3\x89! unaffable xyz", TOK_ADD_SPECIAL);
	CHECK(ids_are(&ids, want, 9));
	tok_ids_release(&ids);
	tok_vocab_free(v);
}

static void bad_specs(void)
{
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	const char *tok[] = { "a" };

	sp.model = "rwkv";
	sp.n_tokens = 1;
	sp.tokens = tok;
	CHECK(tok_vocab_build(&sp, &v, &err) == DK_EUNSUPPORTED && v == NULL);
	sp.model = "gpt2";
	CHECK(tok_vocab_build(&sp, &v, &err) == DK_EFORMAT);	/* no merges */
	sp.n_merges = 1;
	sp.merges = tok;
	sp.pre = "no-such-pre";
	CHECK(tok_vocab_build(&sp, &v, &err) == DK_EUNSUPPORTED);
	CHECK(strstr(err.msg, "no-such-pre") != NULL);
}

/* ---- vocabularies from hand-written GGUF bytes ---- */

struct gw {
	unsigned char b[8192];
	size_t n;
	uint64_t n_kv;
};

static void gw_raw(struct gw *w, const void *p, size_t n)
{
	if (w->n + n <= sizeof w->b)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void gw_u32(struct gw *w, uint32_t v) { gw_raw(w, &v, 4); }
static void gw_u64(struct gw *w, uint64_t v) { gw_raw(w, &v, 8); }

static void gw_str(struct gw *w, const char *s)
{
	gw_u64(w, strlen(s));
	gw_raw(w, s, strlen(s));
}

static void gw_kv_str(struct gw *w, const char *k, const char *v)
{
	gw_str(w, k);
	gw_u32(w, 8);
	gw_str(w, v);
	w->n_kv++;
}

static void gw_kv_strs(struct gw *w, const char *k, const char *const *v, size_t n)
{
	gw_str(w, k);
	gw_u32(w, 9);
	gw_u32(w, 8);
	gw_u64(w, n);
	for (size_t i = 0; i < n; i++)
		gw_str(w, v[i]);
	w->n_kv++;
}

static void gw_kv_f32s(struct gw *w, const char *k, const float *v, size_t n)
{
	gw_str(w, k);
	gw_u32(w, 9);
	gw_u32(w, 6);
	gw_u64(w, n);
	gw_raw(w, v, n * 4);
	w->n_kv++;
}

static void gw_kv_bool(struct gw *w, const char *k, int v)
{
	unsigned char c = (unsigned char)v;

	gw_str(w, k);
	gw_u32(w, 7);
	gw_raw(w, &c, 1);
	w->n_kv++;
}

/* gw_vocab - header + the kvs written so far, opened as a GGUF, then a vocab */
static int gw_vocab(struct gw *w, struct tok_vocab **v, struct dk_err *err)
{
	unsigned char *file = malloc(w->n + 24 + 64);
	struct gguf *g = NULL;
	uint32_t ver = 3;
	uint64_t zero = 0;
	int rc;

	memcpy(file, "GGUF", 4);
	memcpy(file + 4, &ver, 4);
	memcpy(file + 8, &zero, 8);
	memcpy(file + 16, &w->n_kv, 8);
	memcpy(file + 24, w->b, w->n);
	memset(file + 24 + w->n, 0, 64);
	rc = gguf_open_buffer(file, w->n + 24 + 64, &g, err);
	if (rc == 0)
		rc = tok_vocab_from_gguf(g, v, err);
	gguf_free(g);
	free(file);
	return rc;
}

static const char *const g_tok[] = { "<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "\xe2\x96\x81\x61" };
static const float g_score[] = { 0, 0, 0, -1, -2, -0.5f };

static void gguf_vocab_loads(void)
{
	struct gw w = { .n = 0, .n_kv = 0 };
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;
	struct tok_ids ids = TOK_IDS_INIT;

	gw_kv_str(&w, "general.name", "tiny");
	gw_kv_str(&w, "tokenizer.ggml.model", "llama");
	gw_kv_strs(&w, "tokenizer.ggml.tokens", g_tok, 6);
	gw_kv_f32s(&w, "tokenizer.ggml.scores", g_score, 6);
	gw_kv_bool(&w, "tokenizer.ggml.add_bos_token", 0);
	REQUIRE(gw_vocab(&w, &v, &err) == 0 || (printf("  %s\n", err.msg), 0));
	CHECK(tok_n_tokens(v) == 6 && tok_bos(v) == 1 && tok_eos(v) == 2 && !tok_add_bos(v));
	CHECK(tok_encode(v, "a", 1, TOK_ADD_SPECIAL, &ids, &err) == 0);
	CHECK(ids.n == 1 && ids.v[0] == 5);	/* no BOS: the file said so */
	tok_ids_release(&ids);
	tok_vocab_free(v);
}

static void gguf_vocab_refuses(void)
{
	struct gw w = { .n = 0, .n_kv = 0 };
	struct tok_vocab *v = NULL;
	struct dk_err err = DK_ERR_INIT;

	gw_kv_str(&w, "tokenizer.ggml.model", "llama");
	CHECK(gw_vocab(&w, &v, &err) == DK_EFORMAT && strstr(err.msg, "tokenizer.ggml.tokens"));
	w = (struct gw){ .n = 0, .n_kv = 0 };
	gw_kv_str(&w, "tokenizer.ggml.model", "gpt2");
	gw_kv_strs(&w, "tokenizer.ggml.tokens", g_tok, 6);
	CHECK(gw_vocab(&w, &v, &err) == DK_EFORMAT && strstr(err.msg, "merges"));
	w = (struct gw){ .n = 0, .n_kv = 0 };
	gw_kv_str(&w, "tokenizer.ggml.model", "rwkv");
	gw_kv_strs(&w, "tokenizer.ggml.tokens", g_tok, 6);
	CHECK(gw_vocab(&w, &v, &err) == DK_EUNSUPPORTED && strstr(err.msg, "rwkv"));
	w = (struct gw){ .n = 0, .n_kv = 0 };
	gw_kv_str(&w, "tokenizer.ggml.model", "llama");
	gw_kv_strs(&w, "tokenizer.ggml.tokens", g_tok, 6);
	gw_kv_f32s(&w, "tokenizer.ggml.scores", g_score, 5);
	CHECK(gw_vocab(&w, &v, &err) == DK_EFORMAT && strstr(err.msg, "scores"));
	w = (struct gw){ .n = 0, .n_kv = 0 };
	gw_kv_str(&w, "tokenizer.ggml.model", "llama");
	gw_kv_str(&w, "tokenizer.ggml.tokens", "not an array");
	CHECK(gw_vocab(&w, &v, &err) == DK_EFORMAT);
	CHECK(v == NULL);
}

static void vec_llama_spm(void) { run_vectors("llama-spm", 1, NULL); }
static void vec_phi_3(void) { run_vectors("phi-3", 1, NULL); }
static void vec_baichuan(void) { run_vectors("baichuan", 1, NULL); }
static void vec_gemma3(void) { run_vectors("gemma3", 1, NULL); }
static void vec_gpt_2(void) { run_vectors("gpt-2", 1, NULL); }
static void vec_llama_bpe(void) { run_vectors("llama-bpe", 1, NULL); }
/* chat text with special tokens parsed, as docket generate --chat feeds it */
static void qwen2_chat(const struct tok_vocab *v)
{
	static const char chat[] = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
	struct tok_ids ids = TOK_IDS_INIT;
	struct dk_err err = DK_ERR_INIT;

	CHECK(tok_encode(v, chat, sizeof chat - 1, TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL, &ids, &err) == 0);
	/* add_bos is false for qwen2: the first id is <|im_start|> itself */
	CHECKF(ids.n > 4 && ids.v[0] == 151644 && ids.v[ids.n - 3] == 151644,
	       "qwen2 chat: %zu ids, first %d", ids.n, ids.n ? ids.v[0] : -1);
	CHECK(tok_is_eog(v, 151645) && tok_is_eog(v, 151643) && !tok_is_eog(v, 151644));
	tok_ids_release(&ids);
	/* without parse_special the same text is plain text */
	CHECK(tok_encode(v, chat, sizeof chat - 1, 0, &ids, &err) == 0);
	for (size_t i = 0; i < ids.n; i++)
		CHECK(ids.v[i] < 151643);
	tok_ids_release(&ids);
}

static void vec_qwen2(void) { run_vectors("qwen2", 1, qwen2_chat); }
static void vec_deepseek_llm(void) { run_vectors("deepseek-llm", 1, NULL); }
static void vec_deepseek_coder(void) { run_vectors("deepseek-coder", 1, NULL); }
static void vec_falcon(void) { run_vectors("falcon", 1, NULL); }
static void vec_starcoder(void) { run_vectors("starcoder", 1, NULL); }
static void vec_refact(void) { run_vectors("refact", 1, NULL); }
static void vec_mpt(void) { run_vectors("mpt", 1, NULL); }
static void vec_gpt_neox(void) { run_vectors("gpt-neox", 1, NULL); }
static void vec_bert_bge(void) { run_vectors("bert-bge", 0, NULL); }

int main(void)
{
	RUN(spm_merges_by_score);
	RUN(special_partition);
	RUN(bpe_merges_by_rank);
	RUN(pretokenizers);
	RUN(wpm_words);
	RUN(bad_specs);
	RUN(gguf_vocab_loads);
	RUN(gguf_vocab_refuses);
	RUN(vec_llama_spm);
	RUN(vec_phi_3);
	RUN(vec_baichuan);
	RUN(vec_gemma3);
	RUN(vec_gpt_2);
	RUN(vec_llama_bpe);
	RUN(vec_qwen2);
	RUN(vec_deepseek_llm);
	RUN(vec_deepseek_coder);
	RUN(vec_falcon);
	RUN(vec_starcoder);
	RUN(vec_refact);
	RUN(vec_mpt);
	RUN(vec_gpt_neox);
	RUN(vec_bert_bge);
	return TEST_END();
}
