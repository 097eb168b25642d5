/*
 * NAME
 *	rope - RoPE angles the way ggml computes them
 * DESIGN NOTES
 *	1. The angle of pair i is built as ggml builds it: a running product
 *	   theta *= theta_scale in float, not powf per pair. The two differ in
 *	   the last bits, and matching ggml keeps long prompts in step with
 *	   llama.cpp.
 *	2. YaRN (ggml rope_yarn): dims below corr[0] keep the extrapolated
 *	   angle, dims above corr[1] the interpolated one (freq_scale *
 *	   theta), a linear ramp between; magnitudes are multiplied by
 *	   attn_factor * (1 + 0.1 ln(1/freq_scale)).
 */
#include "engine/rope.h"

#include <math.h>

/* yarn_corr_dim - the pair index whose wavelength fits n_rot turns in n_ctx_orig */
static float yarn_corr_dim(int n_dims, float n_ctx_orig, float n_rot, float base)
{
	return (float)n_dims * logf(n_ctx_orig / (n_rot * 2.0f * (float)M_PI)) / (2.0f * logf(base));
}

/* rope_table - (cos, sin) of every rotated pair at pos (notes 1, 2) */
void rope_table(const struct eng_hparams *hp, const float *freq_factors, float base,
		float freq_scale, int32_t pos, float *cs)
{
	int n_dims = (int)hp->n_rot;
	float theta_scale = powf(base, -2.0f / (float)n_dims);
	float theta = (float)pos;
	float ext = hp->yarn_ext_factor, corr[2] = { 0.0f, 0.0f };

	if (ext != 0.0f) {
		float lo = yarn_corr_dim(n_dims, (float)hp->rope_ctx_orig, hp->yarn_beta_fast, base);
		float hi = yarn_corr_dim(n_dims, (float)hp->rope_ctx_orig, hp->yarn_beta_slow, base);
		corr[0] = fmaxf(0.0f, floorf(lo));
		corr[1] = fminf((float)(n_dims - 1), ceilf(hi));
	}
	for (int i0 = 0; i0 < n_dims; i0 += 2) {
		float ff = freq_factors ? freq_factors[i0 / 2] : 1.0f;
		float th_extrap = theta / ff;
		float th = freq_scale * th_extrap;
		float mscale = hp->yarn_attn_factor;
		if (ext != 0.0f) {
			float y = ((float)(i0 / 2) - corr[0]) / fmaxf(0.001f, corr[1] - corr[0]);
			float ramp = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * ext;
			th = th * (1.0f - ramp) + th_extrap * ramp;
			mscale *= 1.0f + 0.1f * logf(1.0f / freq_scale);
		}
		cs[i0] = cosf(th) * mscale;
		cs[i0 + 1] = sinf(th) * mscale;
		theta *= theta_scale;
	}
}

/* rope_apply - rotate each of n_heads heads of x by the table cs */
void rope_apply(const struct eng_hparams *hp, float *x, int n_heads, const float *cs)
{
	int half = (int)hp->n_rot / 2;

	for (int h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * hp->head_dim;
		for (int i = 0; i < half; i++) {
			int a = hp->rope_neox ? i : 2 * i, b = hp->rope_neox ? i + half : 2 * i + 1;
			float c = cs[2 * i], s = cs[2 * i + 1], x0 = v[a], x1 = v[b];
			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}
