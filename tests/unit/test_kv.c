/*
 * test_kv - KV cache operations and batch rules: sequences in one batch
 * evaluate as if alone, a copied prefix continues exactly like a fresh
 * evaluation, truncation rewinds, refused batches leave the cache as it
 * was, and every bad batch gets DK_EINVAL with a message.
 */
#include "engine/engine.h"
#include "tests/test.h"
#include "tests/tinymodel.h"

static struct eng_model *model;
static uint32_t nv;

/* fresh - logits after evaluating tok[0..n) alone in a new context */
static void fresh(const int32_t *tok, uint32_t n, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	int32_t pos[64];

	struct eng_ctx_params cp = { 64, 1, 1, 64 };
	if (eng_ctx_new(model, &cp, &c, &err) != 0)
		return;
	for (uint32_t i = 0; i < n; i++)
		pos[i] = (int32_t)i;
	struct eng_batch b = { n, tok, pos, NULL, NULL };
	if (eng_decode(c, &b, &err) == 0)
		memcpy(out, eng_logits(c, n - 1), nv * sizeof(float));
	eng_ctx_free(c);
}

static void test_interleaved_sequences(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	int32_t A[5] = { 1, 5, 9, 13, 17 }, B[3] = { 2, 4, 8 };
	float fa[64], fb[64];

	fresh(A, 5, fa);
	fresh(B, 3, fb);
	struct eng_ctx_params cp = { 64, 2, 3, 64 };
	REQUIRE(eng_ctx_new(model, &cp, &c, &err) == 0);
	/* A on seq 2, B on seq 0, interleaved */
	int32_t tok[8] = { 1, 2, 5, 4, 9, 8, 13, 17 }, pos[8] = { 0, 0, 1, 1, 2, 2, 3, 4 };
	int32_t seq[8] = { 2, 0, 2, 0, 2, 0, 2, 2 };
	int8_t want[8] = { 0, 0, 0, 0, 0, 1, 0, 1 };
	struct eng_batch b = { 8, tok, pos, seq, want };
	REQUIRE(eng_decode(c, &b, &err) == 0);
	CHECK(memcmp(eng_logits(c, 7), fa, nv * sizeof(float)) == 0);
	CHECK(memcmp(eng_logits(c, 5), fb, nv * sizeof(float)) == 0);
	CHECK(eng_logits(c, 0) == NULL && eng_logits(c, 8) == NULL);
	CHECK(eng_kv_seq_len(c, 2) == 5 && eng_kv_seq_len(c, 0) == 3 && eng_kv_seq_len(c, 1) == 0);
	eng_ctx_free(c);
}

static void test_copy_prefix_and_truncate(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	int32_t A[10] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 }, AB[10] = { 3, 1, 4, 1, 5, 9, 20, 21, 22, 23 };
	int32_t pos[10];
	float want_ab[64];

	fresh(AB, 10, want_ab);
	for (int i = 0; i < 10; i++)
		pos[i] = i;
	struct eng_ctx_params cp = { 64, 2, 2, 64 };
	REQUIRE(eng_ctx_new(model, &cp, &c, &err) == 0);
	struct eng_batch a = { 10, A, pos, NULL, NULL };
	REQUIRE(eng_decode(c, &a, &err) == 0);
	/* fork the 6-token prefix into seq 1 and continue there */
	REQUIRE(eng_kv_copy_prefix(c, 0, 1, 6, &err) == 0);
	int32_t s1[4] = { 1, 1, 1, 1 };
	struct eng_batch b = { 4, AB + 6, pos + 6, s1, NULL };
	REQUIRE(eng_decode(c, &b, &err) == 0);
	CHECK(memcmp(eng_logits(c, 3), want_ab, nv * sizeof(float)) == 0);
	CHECK(eng_kv_seq_len(c, 0) == 10 && eng_kv_seq_len(c, 1) == 10);
	/* rewind seq 0 to 6 and continue the same way */
	REQUIRE(eng_kv_truncate(c, 0, 6, &err) == 0);
	struct eng_batch b0 = { 4, AB + 6, pos + 6, NULL, NULL };
	REQUIRE(eng_decode(c, &b0, &err) == 0);
	CHECK(memcmp(eng_logits(c, 3), want_ab, nv * sizeof(float)) == 0);
	CHECK(eng_kv_clear(c, -1, &err) == 0);
	CHECK(eng_kv_seq_len(c, 0) == 0 && eng_kv_seq_len(c, 1) == 0);
	CHECK(eng_kv_copy_prefix(c, 0, 1, 3, &err) == DK_EINVAL);
	CHECK(eng_kv_truncate(c, 5, 0, &err) == DK_EINVAL);
	eng_ctx_free(c);
}

/* bad - the batch is refused with DK_EINVAL and a message containing what */
static void bad(struct eng_ctx *c, const struct eng_batch *b, const char *what)
{
	struct dk_err err = DK_ERR_INIT;
	uint32_t before = eng_kv_seq_len(c, 0);

	CHECKF(eng_decode(c, b, &err) == DK_EINVAL && strstr(err.msg, what), "'%s': got '%.200s'", what, err.msg);
	CHECKF(eng_kv_seq_len(c, 0) == before, "'%s' changed the cache", what);
}

static void test_bad_batches(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	int32_t tok[4] = { 1, 2, 3, 4 }, pos[4] = { 0, 1, 2, 3 }, gap[2] = { 0, 2 };
	int32_t big[1] = { 64 }, neg[1] = { -1 }, seq9[1] = { 9 };

	struct eng_ctx_params cp = { 4, 1, 1, 3 };
	REQUIRE(eng_ctx_new(model, &cp, &c, &err) == 0);
	struct eng_batch b_gap = { 2, tok, gap, NULL, NULL };
	bad(c, &b_gap, "does not continue");
	struct eng_batch b_big = { 1, big, pos, NULL, NULL };
	bad(c, &b_big, "outside the vocabulary");
	struct eng_batch b_neg = { 1, neg, pos, NULL, NULL };
	bad(c, &b_neg, "outside the vocabulary");
	struct eng_batch b_seq = { 1, tok, pos, seq9, NULL };
	bad(c, &b_seq, "sequence 9");
	struct eng_batch b_long = { 4, tok, pos, NULL, NULL };
	bad(c, &b_long, "exceeds");
	struct eng_batch b_empty = { 0, tok, pos, NULL, NULL };
	bad(c, &b_empty, "empty");
	/* fill the context (4 positions), then one more is refused */
	struct eng_batch b3 = { 3, tok, pos, NULL, NULL };
	REQUIRE(eng_decode(c, &b3, &err) == 0);
	struct eng_batch b1 = { 1, tok + 3, pos + 3, NULL, NULL };
	REQUIRE(eng_decode(c, &b1, &err) == 0);
	struct eng_batch b_full = { 1, tok, (int32_t[]){ 4 }, NULL, NULL };
	bad(c, &b_full, "context full");
	/* a failed batch that would have written positions leaves them unwritten */
	REQUIRE(eng_kv_truncate(c, 0, 2, &err) == 0);
	struct eng_batch b_mix = { 2, tok, (int32_t[]){ 2, 4 }, NULL, NULL };
	bad(c, &b_mix, "does not continue");
	CHECK(eng_kv_seq_len(c, 0) == 2);
	eng_ctx_free(c);
}

int main(void)
{
	char path[512];
	struct dk_err err = DK_ERR_INIT;
	struct tiny_opts o = tiny_default;

	snprintf(path, sizeof path, "%s/kv.gguf", test_tmpdir());
	o.type = GGML_TYPE_Q8_0;
	if (tiny_write(path, &o) != 0 || eng_model_load(path, &model, &err) != 0) {
		printf("FAIL test_kv.c:setup: %s\n", err.msg);
		return 1;
	}
	nv = eng_model_hparams(model)->n_vocab;
	RUN(test_interleaved_sequences);
	RUN(test_copy_prefix_and_truncate);
	RUN(test_bad_batches);
	eng_model_free(model);
	return TEST_END();
}
