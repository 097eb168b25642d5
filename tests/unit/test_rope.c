/*
 * test_rope - RoPE variants against their formulas (the oracle models
 * carry no scaling): plain, linear scaling, Llama 3.1 frequency factors,
 * YaRN, NORM vs NEOX pairing; and the metadata that selects them, read
 * from self-made GGUF models.
 */
#include <math.h>

#include "engine/engine.h"
#include "engine/rope.h"
#include "tests/test.h"
#include "tests/tinymodel.h"

static struct eng_hparams hp_plain(void)
{
	struct eng_hparams hp;

	memset(&hp, 0, sizeof hp);
	hp.n_rot = 64;
	hp.head_dim = 64;
	hp.rope_freq_scale = 1.0f;
	hp.yarn_attn_factor = 1.0f;
	hp.yarn_beta_fast = 32.0f;
	hp.yarn_beta_slow = 1.0f;
	hp.rope_ctx_orig = 4096;
	return hp;
}

/* angle_ok - cs holds cos/sin of the expected angle (double) and magnitude */
static int angle_ok(const float *cs, double angle, double mag)
{
	return fabs(cs[0] - mag * cos(angle)) < 2e-3 && fabs(cs[1] - mag * sin(angle)) < 2e-3;
}

static void test_plain_and_linear(void)
{
	struct eng_hparams hp = hp_plain();
	float cs[64];
	int pos = 300;

	rope_table(&hp, NULL, 10000.0f, 1.0f, pos, cs);
	for (int i = 0; i < 32; i++)
		CHECKF(angle_ok(cs + 2 * i, pos * pow(10000.0, -2.0 * i / 64), 1.0), "plain pair %d", i);
	/* linear scaling by 8: positions divided by 8 (gemma3 4B global layers) */
	rope_table(&hp, NULL, 1e6f, 1.0f / 8.0f, pos, cs);
	for (int i = 0; i < 32; i++)
		CHECKF(angle_ok(cs + 2 * i, pos / 8.0 * pow(1e6, -2.0 * i / 64), 1.0), "linear pair %d", i);
}

static void test_freq_factors(void)
{
	struct eng_hparams hp = hp_plain();
	float cs[64], ff[32];
	int pos = 1000;

	for (int i = 0; i < 32; i++)
		ff[i] = i < 10 ? 1.0f : i < 20 ? 3.5f : 8.0f;
	rope_table(&hp, ff, 500000.0f, 1.0f, pos, cs);
	for (int i = 0; i < 32; i++)
		CHECKF(angle_ok(cs + 2 * i, pos * pow(500000.0, -2.0 * i / 64) / ff[i], 1.0),
		       "rope_freqs pair %d", i);
}

static void test_yarn(void)
{
	struct eng_hparams hp = hp_plain();
	float cs[64];
	double base = 10000.0, s = 0.25, n = 64, orig = 4096;
	int pos = 5000;

	hp.yarn_ext_factor = 1.0f;
	rope_table(&hp, NULL, (float)base, (float)s, pos, cs);
	/* YaRN (Peng et al.): correction range from beta_fast 32 / beta_slow 1 */
	double lo = floor(n * log(orig / (32 * 2 * M_PI)) / (2 * log(base)));
	double hi = ceil(n * log(orig / (1 * 2 * M_PI)) / (2 * log(base)));
	double mag = 1.0 + 0.1 * log(1.0 / s);
	for (int i = 0; i < 32; i++) {
		double extrap = pos * pow(base, -2.0 * i / n), interp = s * extrap;
		double y = (i - lo) / fmax(0.001, hi - lo);
		double ramp = 1.0 - fmin(1.0, fmax(0.0, y));
		double want = interp * (1 - ramp) + extrap * ramp;
		CHECKF(angle_ok(cs + 2 * i, want, mag), "yarn pair %d", i);
	}
	/* low pairs extrapolate (unscaled), high pairs interpolate */
	CHECK(angle_ok(cs, pos, mag));
	CHECK(angle_ok(cs + 62, s * pos * pow(base, -62.0 / 64), mag));
}

static void test_pairing(void)
{
	struct eng_hparams hp = hp_plain();
	float cs[8] = { 0, 1, 0, 1, 0, 1, 0, 1 };	/* every pair: 90 degrees */
	float x[8];

	hp.n_rot = hp.head_dim = 8;
	for (int i = 0; i < 8; i++)
		x[i] = (float)(i + 1);
	rope_apply(&hp, x, 1, cs);	/* NORM: (x0,x1) -> (-x1, x0) */
	CHECK(x[0] == -2 && x[1] == 1 && x[2] == -4 && x[3] == 3);
	for (int i = 0; i < 8; i++)
		x[i] = (float)(i + 1);
	hp.rope_neox = 1;
	rope_apply(&hp, x, 1, cs);	/* NEOX: (x_i, x_{i+4}) -> (-x_{i+4}, x_i) */
	CHECK(x[0] == -5 && x[4] == 1 && x[3] == -8 && x[7] == 4);
	/* partial rotation: dims past n_rot untouched */
	hp.n_rot = 4;
	for (int i = 0; i < 8; i++)
		x[i] = (float)(i + 1);
	rope_apply(&hp, x, 1, cs);
	CHECK(x[0] == -3 && x[2] == 1 && x[4] == 5 && x[7] == 8);
}

/* load - write opts to a temp model and load it */
static int load(const struct tiny_opts *o, struct eng_model **m, struct dk_err *err)
{
	char path[512];

	snprintf(path, sizeof path, "%s/rope.gguf", test_tmpdir());
	if (tiny_write(path, o) != 0)
		return -100;
	return eng_model_load(path, m, err);
}

static void test_metadata(void)
{
	struct tiny_opts o = tiny_default;
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m;

	REQUIRE(load(&o, &m, &err) == 0);
	CHECK(eng_model_hparams(m)->rope_scaling == ENG_ROPE_NONE && !eng_model_hparams(m)->rope_neox);
	CHECK(eng_model_hparams(m)->rope_freq_scale == 1.0f && eng_model_hparams(m)->rope_base == 10000.0f);
	eng_model_free(m);

	o.rope_type = "linear";
	o.rope_factor = 8.0f;
	REQUIRE(load(&o, &m, &err) == 0);
	CHECK(eng_model_hparams(m)->rope_scaling == ENG_ROPE_LINEAR);
	CHECK(eng_model_hparams(m)->rope_freq_scale == 0.125f);
	CHECK(eng_model_hparams(m)->yarn_ext_factor == 0.0f);
	eng_model_free(m);

	o.rope_type = "yarn";
	o.rope_factor = 4.0f;
	o.rope_orig_ctx = 32;
	REQUIRE(load(&o, &m, &err) == 0);
	CHECK(eng_model_hparams(m)->rope_scaling == ENG_ROPE_YARN);
	CHECK(eng_model_hparams(m)->yarn_ext_factor == 1.0f && eng_model_hparams(m)->rope_ctx_orig == 32);
	eng_model_free(m);

	o.rope_type = NULL;
	o.rope_freqs = 1;
	REQUIRE(load(&o, &m, &err) == 0);
	CHECK(eng_model_hparams(m)->has_rope_freqs);
	eng_model_free(m);

	o.rope_freqs = 0;
	o.rope_type = "longrope";
	CHECK(load(&o, &m, &err) == DK_EUNSUPPORTED && strstr(err.msg, "linear, yarn") != NULL);
	o.rope_type = NULL;
	o.arch = "mamba";
	CHECK(load(&o, &m, &err) == DK_EUNSUPPORTED && strstr(err.msg, "gemma3") != NULL);
	o.arch = "qwen2";	/* qwen2 needs biases this model lacks */
	CHECK(load(&o, &m, &err) == DK_EFORMAT && strstr(err.msg, "attn_q.bias") != NULL);
}

/* scaled models still run end to end and differ from the plain one */
static void test_scaled_models_run(void)
{
	static const char *types[] = { NULL, "linear", "yarn" };
	float first[3];

	for (int k = 0; k < 3; k++) {
		struct tiny_opts o = tiny_default;
		struct dk_err err = DK_ERR_INIT;
		struct eng_model *m;
		struct eng_ctx *c;
		int32_t tok[12], pos[12];
		o.rope_type = types[k];
		o.rope_factor = 4.0f;
		o.rope_orig_ctx = 32;
		REQUIRE(load(&o, &m, &err) == 0);
		struct eng_ctx_params cp = { 64, 1, 1, 16 };
		REQUIRE(eng_ctx_new(m, &cp, &c, &err) == 0);
		for (int i = 0; i < 12; i++) {
			tok[i] = (i * 7) % 64;
			pos[i] = i;
		}
		struct eng_batch b = { 12, tok, pos, NULL, NULL };
		CHECK(eng_decode(c, &b, &err) == 0);
		const float *l = eng_logits(c, 11);
		CHECK(l != NULL && isfinite(l[0]));
		first[k] = l ? l[0] : 0;
		eng_ctx_free(c);
		eng_model_free(m);
	}
	CHECK(first[0] != first[1] && first[0] != first[2] && first[1] != first[2]);
}

int main(void)
{
	RUN(test_plain_and_linear);
	RUN(test_freq_factors);
	RUN(test_yarn);
	RUN(test_pairing);
	RUN(test_metadata);
	RUN(test_scaled_models_run);
	return TEST_END();
}
