/*
 * test_attn_step - a generation step over shared prefixes: sequences built
 * as the pipeline builds them (a head, documents sharing it through
 * eng_kv_share_prefix, stage streams sharing their document, each with
 * positions of its own) decode one step holding one token of every stream
 * beside the head's and a document's next tokens and a few-token chunk of
 * another document. The step's attention reads each shared range once for
 * all the tokens that see it (attn_avx512.c note 12); every logit must be
 * bitwise what the same token gives decoded alone over a chain built with
 * eng_kv_copy_prefix (no shared cells, no other rows), for 1, 2 and 3
 * threads, with the SIMD and the reference kernels. Models: llama with 2
 * query heads per KV head, llama with 4 query heads on 1 KV head (two
 * runs' rows in one row group; fewer KV heads than threads), llama with 8
 * on 1 (runs one by one within the call, attn_avx512.c note 12) and gemma3
 * with a sliding window short enough that tokens of one group start at
 * different positions, some inside the shared ranges.
 */
#include "engine/engine.h"
#include "engine/mkmodel.h"
#include "tests/test.h"
#include "tests/tinymodel.h"

#define NCTX 192
#define HEAD 70		/* seq 0: the head, across a 64-position K/V block */
#define NDOC 3		/* seqs 1..NDOC: documents sharing the head */
#define NSTREAM 2	/* per document: streams sharing the whole document */
#define NSEQ (1 + NDOC + NDOC * NSTREAM)
#define CHUNK 5		/* tokens of document 2 in the step */
#define NSTEP (2 + CHUNK + NDOC * NSTREAM)	/* entries of the step */

static const uint32_t doc_len[NDOC] = { 125, 140, 101 };
static const uint32_t own_len[NSTREAM] = { 3, 17 };	/* a stream's positions past its document */

/* tok - token i of sequence s */
static int32_t tok(uint32_t s, uint32_t i, uint32_t nv)
{
	return (int32_t)((s * 89 + i * 31 + 7) % nv);
}

static int32_t stream_seq(int d, int k)
{
	return 1 + NDOC + d * NSTREAM + k;
}

/* feed - sequence s from its length to upto in batches of at most 48 */
static int feed(struct eng_ctx *c, int32_t s, uint32_t upto, uint32_t nv)
{
	struct dk_err err = DK_ERR_INIT;
	int32_t bt[48], bp[48], bs[48];

	for (uint32_t next = eng_kv_seq_len(c, s); next < upto;) {
		uint32_t n = 0;
		for (; n < 48 && next < upto; n++, next++) {
			bt[n] = tok((uint32_t)s, next, nv);
			bp[n] = (int32_t)next;
			bs[n] = s;
		}
		struct eng_batch b = { n, bt, bp, bs, NULL };
		if (eng_decode(c, &b, &err) != 0) {
			printf("# decode: %s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

/* build - the head, the documents and their streams, forks shared or copied */
static int build(struct eng_ctx *c, int share, uint32_t nv)
{
	struct dk_err err = DK_ERR_INIT;
	int rc = feed(c, 0, HEAD, nv);

	for (int d = 0; d < NDOC && rc == 0; d++) {
		rc = share ? eng_kv_share_prefix(c, 0, 1 + d, HEAD, &err)
			   : eng_kv_copy_prefix(c, 0, 1 + d, HEAD, &err);
		if (rc == 0)
			rc = feed(c, 1 + d, doc_len[d], nv);
		for (int k = 0; k < NSTREAM && rc == 0; k++) {
			int32_t s = stream_seq(d, k);
			rc = share ? eng_kv_share_prefix(c, 1 + d, s, doc_len[d], &err)
				   : eng_kv_copy_prefix(c, 1 + d, s, doc_len[d], &err);
			if (rc == 0)
				rc = feed(c, s, doc_len[d] + own_len[k] + (uint32_t)d, nv);
		}
	}
	if (rc != 0)
		printf("# build: %s\n", err.msg);
	return rc;
}

/* step_batch - the step: the head's next token, document 0's next token (its
 * streams read its cells), CHUNK tokens of document 2, one token of every
 * stream, streams of different documents interleaved */
static void step_batch(const struct eng_ctx *c, uint32_t nv, int32_t *bt, int32_t *bp, int32_t *bs)
{
	int32_t order[NSTEP];
	uint32_t n = 0;

	order[n++] = 0;
	order[n++] = 1;
	for (int i = 0; i < CHUNK; i++)
		order[n++] = 3;
	for (int k = 0; k < NSTREAM; k++)
		for (int d = 0; d < NDOC; d++)
			order[n++] = stream_seq(d, k);
	for (uint32_t i = 0; i < NSTEP; i++) {
		uint32_t p = eng_kv_seq_len(c, order[i]);
		for (uint32_t e = 0; e < i; e++)
			p += bs[e] == order[i];
		bt[i] = tok((uint32_t)order[i], p, nv);
		bp[i] = (int32_t)p;
		bs[i] = order[i];
	}
}

/* run - logits (NSTEP, nv) of the step: in one batch over shared prefixes
 * (together) or each sequence's entries alone over copied ones */
static int run(struct eng_model *m, uint32_t threads, int ref, int together, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	uint32_t nv = eng_model_hparams(m)->n_vocab;
	struct eng_ctx_params cp = { NCTX, threads, NSEQ, 48 };
	int32_t bt[NSTEP], bp[NSTEP], bs[NSTEP];
	int8_t want[NSTEP];
	int rc;

	if (eng_ctx_new(m, &cp, &c, &err) != 0)
		return -1;
	eng_ctx_use_ref_kernels(c, ref);
	rc = build(c, together, nv);
	if (rc == 0)
		step_batch(c, nv, bt, bp, bs);
	memset(want, 1, sizeof want);
	for (uint32_t i = 0; i < NSTEP && rc == 0;) {
		uint32_t n = together ? NSTEP : 1;
		while (i + n < NSTEP && bs[i + n] == bs[i])	/* a sequence's entries alone */
			n++;
		struct eng_batch b = { n, bt + i, bp + i, bs + i, want + i };
		rc = eng_decode(c, &b, &err);
		for (uint32_t e = 0; e < n && rc == 0; e++)
			memcpy(out + (size_t)(i + e) * nv, eng_logits(c, e), nv * sizeof(float));
		i += n;
	}
	if (rc != 0)
		printf("# step: %s\n", err.msg);
	eng_ctx_free(c);
	return rc;
}

static void check_model(struct eng_model *m, const char *what)
{
	size_t nv = eng_model_hparams(m)->n_vocab, bytes = NSTEP * nv * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes);

	REQUIRE(a != NULL && b != NULL);
	for (int ref = 0; ref <= 1; ref++) {
		CHECKF(run(m, 1, ref, 0, a) == 0, "%s: decoding alone failed", what);
		for (uint32_t t = 1; t <= 3; t++) {
			memset(b, 0, bytes);
			CHECKF(run(m, t, ref, 1, b) == 0, "%s: the shared step failed", what);
			for (uint32_t i = 0; i < NSTEP; i++)
				CHECKF(memcmp(a + i * nv, b + i * nv, nv * sizeof(float)) == 0,
				       "%s: entry %u of the shared step differs from it alone (%u threads, %s kernels)",
				       what, i, t, ref ? "ref" : "simd");
		}
	}
	free(a);
	free(b);
}

/* llama - a tiny llama of n_head query heads on n_head_kv KV heads */
static struct eng_model *llama(uint32_t n_head, uint32_t n_head_kv, int k)
{
	char path[512];
	struct tiny_opts o = tiny_default;
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;

	o.n_head = n_head;
	o.n_head_kv = n_head_kv;
	o.n_ctx = NCTX;
	o.type = GGML_TYPE_F16;
	o.seed = 31 + (uint32_t)k;
	snprintf(path, sizeof path, "%s/step%d.gguf", test_tmpdir(), k);
	if (tiny_write(path, &o) != 0 || eng_model_load(path, &m, &err) != 0)
		printf("# %s\n", err.msg);
	return m;
}

static void test_llama(void)
{
	struct eng_model *m = llama(4, 2, 0);

	REQUIRE(m != NULL);
	check_model(m, "llama 4/2 heads");
	eng_model_free(m);
	m = llama(4, 1, 1);
	REQUIRE(m != NULL);
	check_model(m, "llama 4/1 heads");
	eng_model_free(m);
	m = llama(8, 1, 2);
	REQUIRE(m != NULL);
	check_model(m, "llama 8/1 heads");
	eng_model_free(m);
}

/* test_gemma3 - 6 layers, 5 of them local with a window of 48: the step's
 * tokens start at positions from 23 (the head's, inside the head) to 111 */
static void test_gemma3(void)
{
	char path[512];
	struct mkmodel_spec s;
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;

	memset(&s, 0, sizeof s);
	mkmodel_arch_defaults(MK_GEMMA3, &s.d);
	s.d.n_embd = 64;
	s.d.n_ff = 96;
	s.d.n_head = 4;
	s.d.n_head_kv = 2;
	s.d.head_dim = 32;
	s.d.n_ctx = NCTX;
	s.d.n_vocab = 320;
	s.d.sliding_window = 48;
	s.type = "F16";
	s.pure = true;
	s.seed = 5;
	s.threads = 1;
	snprintf(path, sizeof path, "%s/step-gemma3.gguf", test_tmpdir());
	REQUIRE(mkmodel_write(&s, path, &err) == 0);
	REQUIRE(eng_model_load(path, &m, &err) == 0);
	CHECK(eng_model_hparams(m)->n_swa == 48);
	check_model(m, "gemma3 window 48");
	eng_model_free(m);
}

int main(void)
{
	RUN(test_llama);
	RUN(test_gemma3);
	return TEST_END();
}
