/*
 * test_determinism - logits are bitwise identical for 1, 2 and 3 threads,
 * for one batch vs the same tokens split into several decodes or fed one
 * at a time, and across repeated runs. Runs on self-made models (F32,
 * F16, Q8_0 matrices) and, when ../shared is present, on a K-quant oracle
 * model. Batched decoding: NSEQ sequences advancing together (a prompt
 * batch holding all of them, then one entry per sequence per step) give
 * bitwise the logits of each sequence decoded alone. A long prompt (beyond
 * the attention run, K/V block and sliding window) gives the same bits in
 * one batch and split at other places amid other sequences' tokens.
 */
#include "engine/engine.h"
#include "tests/test.h"
#include "tests/tinymodel.h"

#define NTOK 24

/* run - logits of every position for tokens fed in chunks of `chunk` */
static int run(struct eng_model *m, uint32_t threads, uint32_t chunk, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	uint32_t nv = eng_model_hparams(m)->n_vocab;
	int32_t tok[NTOK], pos[NTOK];
	int8_t want[NTOK];

	struct eng_ctx_params cp = { 64, threads, 1, NTOK };
	if (eng_ctx_new(m, &cp, &c, &err) != 0)
		return -1;
	for (int i = 0; i < NTOK; i++) {
		tok[i] = (int32_t)((i * 37 + 11) % nv);
		pos[i] = i;
		want[i] = 1;
	}
	for (uint32_t i0 = 0; i0 < NTOK; i0 += chunk) {
		uint32_t n = NTOK - i0 < chunk ? NTOK - i0 : chunk;
		struct eng_batch b = { n, tok + i0, pos + i0, NULL, want + i0 };
		if (eng_decode(c, &b, &err) != 0) {
			eng_ctx_free(c);
			return -1;
		}
		for (uint32_t i = 0; i < n; i++)
			memcpy(out + (size_t)(i0 + i) * nv, eng_logits(c, i), nv * sizeof(float));
	}
	eng_ctx_free(c);
	return 0;
}

static void check_model(struct eng_model *m, const char *what)
{
	size_t nv = eng_model_hparams(m)->n_vocab, bytes = NTOK * nv * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes);
	static const uint32_t th[] = { 1, 2, 3 }, chunks[] = { NTOK, 7, 1 };

	REQUIRE(a != NULL && b != NULL);
	REQUIRE(run(m, 1, NTOK, a) == 0);
	for (size_t t = 0; t < 3; t++)
		for (size_t k = 0; k < 3; k++) {
			CHECKF(run(m, th[t], chunks[k], b) == 0, "%s: decode failed", what);
			CHECKF(memcmp(a, b, bytes) == 0, "%s: %u threads, chunks of %u differ from 1 thread, one batch",
			       what, th[t], chunks[k]);
		}
	free(a);
	free(b);
}

#define NSEQ 5
#define NPROMPT 6
#define NSTEP 5

/* seq_tok - token i of sequence s */
static int32_t seq_tok(uint32_t s, uint32_t i, uint32_t nv)
{
	return (int32_t)((s * 101 + i * 37 + 5) % nv);
}

/* run_seqs - logits (NSEQ, NPROMPT + NSTEP, nv) with sequences [s0, s0 + ns)
 * decoded together in one context; alone when ns == 1 */
static int run_seqs(struct eng_model *m, uint32_t s0, uint32_t ns, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	uint32_t nv = eng_model_hparams(m)->n_vocab;
	int32_t tok[NSEQ * NPROMPT], pos[NSEQ * NPROMPT], seq[NSEQ * NPROMPT];
	int8_t want[NSEQ * NPROMPT];
	uint32_t n = 0;
	int rc = 0;

	struct eng_ctx_params cp = { 64, 2, ns, NSEQ * NPROMPT };
	if (eng_ctx_new(m, &cp, &c, &err) != 0)
		return -1;
	/* prompts interleaved: position-major, so every batch mixes sequences */
	for (uint32_t i = 0; i < NPROMPT; i++)
		for (uint32_t s = 0; s < ns; s++, n++) {
			tok[n] = seq_tok(s0 + s, i, nv);
			pos[n] = (int32_t)i;
			seq[n] = (int32_t)s;
			want[n] = 1;
		}
	for (uint32_t step = 0; step <= NSTEP && rc == 0; step++) {
		struct eng_batch b = { n, tok, pos, seq, want };
		rc = eng_decode(c, &b, &err);
		for (uint32_t e = 0; e < n && rc == 0; e++) {
			uint32_t s = s0 + (uint32_t)seq[e];
			memcpy(out + ((size_t)s * (NPROMPT + NSTEP) + (size_t)pos[e]) * nv,
			       eng_logits(c, e), nv * sizeof(float));
		}
		n = 0;
		for (uint32_t s = 0; s < ns && step < NSTEP; s++, n++) {
			tok[n] = seq_tok(s0 + s, NPROMPT + step, nv);
			pos[n] = (int32_t)(NPROMPT + step);
			seq[n] = (int32_t)s;
		}
	}
	eng_ctx_free(c);
	return rc;
}

static void check_batched(struct eng_model *m, const char *what)
{
	size_t nv = eng_model_hparams(m)->n_vocab, bytes = (size_t)NSEQ * (NPROMPT + NSTEP) * nv * sizeof(float);
	float *a = calloc(1, bytes), *b = calloc(1, bytes);

	REQUIRE(a != NULL && b != NULL);
	CHECKF(run_seqs(m, 0, NSEQ, a) == 0, "%s: batched decode failed", what);
	for (uint32_t s = 0; s < NSEQ; s++)
		CHECKF(run_seqs(m, s, 1, b) == 0, "%s: decode of sequence %u alone failed", what, s);
	CHECKF(memcmp(a, b, bytes) == 0, "%s: %d sequences together differ from each alone", what, NSEQ);
	free(a);
	free(b);
}

#define NLONG 100	/* beyond the attention run (32 tokens), K/V block and window (64) */
#define NOTHER 3

/* run_prefill - logits (NLONG, nv) of a long prompt in sequence 0 fed in
 * chunks of `chunk`; with mix, every batch also holds the next token of
 * sequences 1..NOTHER, placed amid the chunk so that it splits the
 * prompt's run of positions */
static int run_prefill(struct eng_model *m, uint32_t threads, uint32_t chunk, int mix, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	uint32_t nv = eng_model_hparams(m)->n_vocab, n_other = 0;
	int32_t tok[NLONG + NOTHER], pos[NLONG + NOTHER], seq[NLONG + NOTHER];
	int8_t want[NLONG + NOTHER];
	int rc = 0;

	struct eng_ctx_params cp = { 128, threads, 1 + NOTHER, NLONG + NOTHER };
	if (eng_ctx_new(m, &cp, &c, &err) != 0)
		return -1;
	for (uint32_t i0 = 0; i0 < NLONG && rc == 0; i0 += chunk, n_other++) {
		uint32_t k = NLONG - i0 < chunk ? NLONG - i0 : chunk, n = 0;
		for (uint32_t i = 0; i <= k; i++) {
			for (uint32_t s = 1; mix && i == k / 2 && s <= NOTHER; s++, n++) {
				tok[n] = seq_tok(s, n_other, nv);
				pos[n] = (int32_t)n_other;
				seq[n] = (int32_t)s;
				want[n] = 0;
			}
			if (i < k) {
				tok[n] = seq_tok(0, i0 + i, nv);
				pos[n] = (int32_t)(i0 + i);
				seq[n] = 0;
				want[n++] = 1;
			}
		}
		struct eng_batch b = { n, tok, pos, seq, want };
		rc = eng_decode(c, &b, &err);
		for (uint32_t e = 0; e < n && rc == 0; e++)
			if (want[e])
				memcpy(out + (size_t)pos[e] * nv, eng_logits(c, e), nv * sizeof(float));
	}
	eng_ctx_free(c);
	return rc;
}

/* check_prefill - the long prompt alone in one batch on one thread gives
 * the bits of it split at other places, mixed with other sequences'
 * tokens, on 2 and 3 threads */
static void check_prefill(struct eng_model *m, const char *what)
{
	size_t bytes = (size_t)NLONG * eng_model_hparams(m)->n_vocab * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes);
	static const struct { uint32_t threads, chunk; int mix; } v[] = {
		{ 2, NLONG, 1 }, { 3, 45, 1 }, { 2, 33, 0 }, { 2, 7, 1 },
	};

	REQUIRE(a != NULL && b != NULL);
	REQUIRE(run_prefill(m, 1, NLONG, 0, a) == 0);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		CHECKF(run_prefill(m, v[i].threads, v[i].chunk, v[i].mix, b) == 0, "%s: prefill failed", what);
		CHECKF(memcmp(a, b, bytes) == 0,
		       "%s: a %d-token prompt in chunks of %u%s on %u threads differs from one batch",
		       what, NLONG, v[i].chunk, v[i].mix ? " amid other sequences" : "", v[i].threads);
	}
	free(a);
	free(b);
}

static void test_tiny_models(void)
{
	static const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 };
	char path[512];

	for (int k = 0; k < 3; k++) {
		struct tiny_opts o = tiny_default;
		struct dk_err err = DK_ERR_INIT;
		struct eng_model *m;
		o.type = types[k];
		o.seed = 7 + (uint32_t)k;
		snprintf(path, sizeof path, "%s/det%d.gguf", test_tmpdir(), k);
		REQUIRE(tiny_write(path, &o) == 0);
		REQUIRE(eng_model_load(path, &m, &err) == 0);
		check_model(m, ggml_type_name(types[k]));
		check_batched(m, ggml_type_name(types[k]));
		check_prefill(m, ggml_type_name(types[k]));
		eng_model_free(m);
	}
}

/* check_oracle_model - the determinism checks on one of the oracle's models */
static void check_oracle_model(const char *name)
{
	const char *sh = test_shared_dir();
	char path[8192];
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(path, sizeof path, "%s/oracle/models/%s.gguf", sh, name);
	REQUIRE(eng_model_load(path, &m, &err) == 0);
	check_model(m, name);
	check_batched(m, name);
	check_prefill(m, name);
	eng_model_free(m);
}

static void test_oracle_kquant(void)
{
	check_oracle_model("gemma3-Q4_K_M");
}

/* Q2_K and Q3_K matrices (the oracle's llama-Q2_K holds both): the
 * one-token, 2..8-token and many-token tile paths meet in these runs */
static void test_oracle_q23(void)
{
	check_oracle_model("llama-Q2_K");
}

int main(void)
{
	RUN(test_tiny_models);
	RUN(test_oracle_kquant);
	RUN(test_oracle_q23);
	return TEST_END();
}
