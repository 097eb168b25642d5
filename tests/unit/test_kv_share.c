/*
 * test_kv_share - prefixes shared by reference (eng_kv_share_prefix): a
 * chain head -> base -> stage -> label, each continuing past what it
 * shares, in mixed batches, gives bitwise the logits of the same chain
 * built with eng_kv_copy_prefix, for 1, 2 and 3 threads, with the SIMD
 * and the reference kernels, on self-made F32/F16/Q8_0 models and on the
 * oracle's gemma3 model (sliding window) when ../shared is present. The
 * chain crosses attention's K/V blocks (64 positions) inside shared
 * ranges. The lifetime rule: an owner cannot be cleared, truncated below
 * what others read or overwritten while read; readers first works; a
 * copy of a sharing sequence is whole; chains deeper than the engine
 * keeps are refused with DK_ELIMIT.
 */
#include "engine/engine.h"
#include "tests/test.h"
#include "tests/tinymodel.h"

#define NCTX 160
#define NHEAD 70	/* seq 0: the head */
#define NBASE 140	/* seq 1: shares NHEAD - 3 of seq 0, then its own */
#define NSTAGE 130	/* seq 2: shares NSTAGE of seq 1, then STAGE_TOK more */
#define STAGE_TOK 12
#define NLABEL 135	/* seq 3: shares NLABEL of seq 2, then LABEL_TOK more */
#define LABEL_TOK 4
#define NOUT (STAGE_TOK + LABEL_TOK + 2)	/* logit rows kept per run */

/* tok - token i of sequence s */
static int32_t tok(uint32_t s, uint32_t i, uint32_t nv)
{
	return (int32_t)((s * 89 + i * 31 + 3) % nv);
}

/* feed - sequences s[k] from their lengths to upto[k], all in batches of at
 * most 48 entries interleaved by position; logits of each one's last entry
 * appended to out (rows counted in *n_out) */
static int feed(struct eng_ctx *c, int ns, const int32_t *s, const uint32_t *upto, uint32_t nv,
		float *out, uint32_t *n_out)
{
	struct dk_err err = DK_ERR_INIT;
	int32_t bt[48], bp[48], bs[48];
	int8_t bw[48];
	uint32_t next[4];

	for (int k = 0; k < ns; k++)
		next[k] = eng_kv_seq_len(c, s[k]);
	for (;;) {
		uint32_t n = 0;
		for (int k = 0; k < ns; k++)
			for (uint32_t m = 0; m < 24 && next[k] < upto[k] && n < 48; m++, n++) {
				bt[n] = tok((uint32_t)s[k], next[k], nv);
				bp[n] = (int32_t)next[k]++;
				bs[n] = s[k];
				bw[n] = next[k] == upto[k];
			}
		if (n == 0)
			return 0;
		struct eng_batch b = { n, bt, bp, bs, bw };
		if (eng_decode(c, &b, &err) != 0) {
			printf("# decode: %s\n", err.msg);
			return -1;
		}
		for (uint32_t i = 0; i < n; i++)
			if (bw[i])
				memcpy(out + (size_t)(*n_out)++ * nv, eng_logits(c, i), nv * sizeof(float));
	}
}

/* fork - share or copy */
static int fork_(struct eng_ctx *c, int share, int32_t src, int32_t dst, uint32_t n)
{
	struct dk_err err = DK_ERR_INIT;
	int rc = share ? eng_kv_share_prefix(c, src, dst, n, &err) : eng_kv_copy_prefix(c, src, dst, n, &err);

	if (rc != 0)
		printf("# fork %d -> %d: %s\n", src, dst, err.msg);
	return rc;
}

/* chain - the head -> base -> stage -> label chain, forks shared or copied;
 * logits of the stage and label tokens (and of a copy of the label's
 * sequence continued by two tokens) into out */
static int chain(struct eng_model *m, uint32_t threads, int ref, int share, float *out)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c;
	uint32_t nv = eng_model_hparams(m)->n_vocab, n_out = 0;
	struct eng_ctx_params cp = { NCTX, threads, 5, 48 };
	int rc;

	if (eng_ctx_new(m, &cp, &c, &err) != 0)
		return -1;
	eng_ctx_use_ref_kernels(c, ref);
	rc = feed(c, 1, (int32_t[]){ 0 }, (uint32_t[]){ NHEAD }, nv, out, &n_out);
	if (rc == 0)
		rc = fork_(c, share, 0, 1, NHEAD - 3);
	if (rc == 0)	/* the base's own tokens beside more of the head's */
		rc = feed(c, 2, (int32_t[]){ 1, 0 }, (uint32_t[]){ NBASE, NHEAD + 9 }, nv, out, &n_out);
	if (rc == 0)
		rc = fork_(c, share, 1, 2, NSTAGE);
	if (rc == 0)	/* the stage one token at a time beside the base's next ones */
		for (uint32_t t = 1; rc == 0 && t <= STAGE_TOK; t++)
			rc = feed(c, 2, (int32_t[]){ 2, 1 }, (uint32_t[]){ NSTAGE + t, NBASE + t }, nv,
				  out, &n_out);
	if (rc == 0)
		rc = fork_(c, share, 2, 3, NLABEL);
	if (rc == 0)
		rc = feed(c, 1, (int32_t[]){ 3 }, (uint32_t[]){ NLABEL + LABEL_TOK }, nv, out, &n_out);
	/* a copy of a sequence that shares is whole (its ranges from their owners) */
	if (rc == 0)
		rc = eng_kv_copy_prefix(c, 3, 4, NLABEL + 2, &err);
	if (rc == 0)
		rc = feed(c, 1, (int32_t[]){ 4 }, (uint32_t[]){ NLABEL + 4 }, nv, out, &n_out);
	eng_ctx_free(c);
	/* rows: head 1, base 2, stage STAGE_TOK x 2, label 1, copy 1 */
	return rc == 0 && n_out == 3 + 2 * STAGE_TOK + 2 ? 0 : -1;
}

/* check_chains - shared == copied, bitwise, for every thread count and both kernel tables */
static void check_chains(struct eng_model *m, const char *what, int with_ref)
{
	size_t nv = eng_model_hparams(m)->n_vocab, bytes = (3 + 2 * STAGE_TOK + 2) * nv * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes);

	REQUIRE(a != NULL && b != NULL);
	for (int ref = 0; ref <= with_ref; ref++) {
		CHECKF(chain(m, 1, ref, 0, a) == 0, "%s: copied chain failed", what);
		for (uint32_t t = 1; t <= 3; t++) {
			memset(b, 0, bytes);
			CHECKF(chain(m, t, ref, 1, b) == 0, "%s: shared chain failed", what);
			CHECKF(memcmp(a, b, bytes) == 0, "%s: shared logits differ from copied (%u threads, %s kernels)",
			       what, t, ref ? "ref" : "simd");
		}
	}
	free(a);
	free(b);
}

static struct eng_model *tiny(enum ggml_type type, int k)
{
	char path[512];
	struct tiny_opts o = tiny_default;
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;

	o.type = type;
	o.seed = 11 + (uint32_t)k;
	snprintf(path, sizeof path, "%s/share%d.gguf", test_tmpdir(), k);
	if (tiny_write(path, &o) != 0 || eng_model_load(path, &m, &err) != 0)
		printf("# %s\n", err.msg);
	return m;
}

static void test_tiny_models(void)
{
	static const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 };

	for (int k = 0; k < 3; k++) {
		struct eng_model *m = tiny(types[k], k);
		REQUIRE(m != NULL);
		check_chains(m, ggml_type_name(types[k]), 1);
		eng_model_free(m);
	}
}

static void test_oracle_gemma3(void)
{
	const char *sh = test_shared_dir();
	char path[8192];
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(path, sizeof path, "%s/oracle/models/gemma3-Q4_K_M.gguf", sh);
	REQUIRE(eng_model_load(path, &m, &err) == 0);
	check_chains(m, "gemma3-Q4_K_M", 0);
	eng_model_free(m);
}

/* refused - rc is DK_EINVAL and the message names what */
static void refused(int rc, const struct dk_err *err, const char *what)
{
	CHECKF(rc == DK_EINVAL && strstr(err->msg, what), "want a refusal naming '%s': rc %d '%.200s'",
	       what, rc, err->msg);
}

static void test_lifetime(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = tiny(GGML_TYPE_F32, 0);
	struct eng_ctx *c;
	uint32_t nv, n_out = 0;
	float *sink;

	REQUIRE(m != NULL);
	nv = eng_model_hparams(m)->n_vocab;
	sink = malloc(8 * nv * sizeof(float));
	struct eng_ctx_params cp = { 32, 1, 8, 32 };
	REQUIRE(sink != NULL && eng_ctx_new(m, &cp, &c, &err) == 0);
	REQUIRE(feed(c, 1, (int32_t[]){ 0 }, (uint32_t[]){ 10 }, nv, sink, &n_out) == 0);
	REQUIRE(eng_kv_share_prefix(c, 0, 1, 8, &err) == 0);
	REQUIRE(feed(c, 1, (int32_t[]){ 1 }, (uint32_t[]){ 12 }, nv, sink, &n_out) == 0);
	REQUIRE(eng_kv_share_prefix(c, 1, 2, 11, &err) == 0);
	CHECK(eng_kv_shared_len(c, 0) == 8 && eng_kv_shared_len(c, 1) == 11 && eng_kv_shared_len(c, 2) == 0);
	CHECK(eng_kv_seq_len(c, 2) == 11);
	/* the owners stay as they are while read */
	refused(eng_kv_clear(c, 0, &err), &err, "sequence 0");
	refused(eng_kv_truncate(c, 0, 7, &err), &err, "reads its positions up to 8");
	refused(eng_kv_truncate(c, 1, 10, &err), &err, "sequence 2");
	refused(eng_kv_copy_prefix(c, 2, 1, 4, &err), &err, "overwrite sequence 1");
	refused(eng_kv_share_prefix(c, 2, 0, 4, &err), &err, "overwrite sequence 0");
	refused(eng_kv_share_prefix(c, 1, 1, 4, &err), &err, "truncate sequence 1");
	CHECK(eng_kv_seq_len(c, 0) == 10 && eng_kv_seq_len(c, 1) == 12);
	/* down to what is read is fine; beyond the length too */
	CHECK(eng_kv_truncate(c, 0, 8, &err) == 0 && eng_kv_truncate(c, 1, 11, &err) == 0);
	CHECK(eng_kv_truncate(c, 1, 30, &err) == 0 && eng_kv_seq_len(c, 1) == 11);
	CHECK(eng_kv_share_prefix(c, 0, 9, 4, &err) == DK_EINVAL);
	CHECK(eng_kv_share_prefix(c, 0, 3, 9, &err) == DK_EINVAL);	/* seq 0 holds 8 */
	/* a reader cut below a range stops reading it: seq 2 keeps 0's first 5 */
	REQUIRE(eng_kv_truncate(c, 2, 5, &err) == 0);
	CHECK(eng_kv_shared_len(c, 1) == 0 && eng_kv_shared_len(c, 0) == 8);
	REQUIRE(eng_kv_clear(c, 1, &err) == 0);
	CHECK(eng_kv_shared_len(c, 0) == 5);
	refused(eng_kv_clear(c, 0, &err), &err, "sequence 2");
	REQUIRE(eng_kv_clear(c, 2, &err) == 0);
	CHECK(eng_kv_shared_len(c, 0) == 0 && eng_kv_clear(c, 0, &err) == 0);
	/* a chain one sequence deeper each time, one token of its own each */
	REQUIRE(feed(c, 1, (int32_t[]){ 0 }, (uint32_t[]){ 2 }, nv, sink, &(uint32_t){ 0 }) == 0);
	int32_t s = 1;
	int rc = 0;
	for (; rc == 0 && s < 8; s++) {
		rc = eng_kv_share_prefix(c, s - 1, s, (uint32_t)s + 1, &err);
		if (rc == 0)
			rc = feed(c, 1, &s, (uint32_t[]){ (uint32_t)s + 2 }, nv, sink, &(uint32_t){ 0 });
	}
	CHECKF(rc == DK_ELIMIT && strstr(err.msg, "at most"), "deep chain: rc %d '%.200s'", rc, err.msg);
	CHECK(eng_kv_clear(c, -1, &err) == 0 && eng_kv_shared_len(c, 0) == 0);
	eng_ctx_free(c);
	eng_model_free(m);
	free(sink);
}

int main(void)
{
	RUN(test_tiny_models);
	RUN(test_oracle_gemma3);
	RUN(test_lifetime);
	return TEST_END();
}
