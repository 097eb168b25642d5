/*
 * NAME
 *	quantize - ggml's reference quantization algorithms, float to blocks
 * DESIGN NOTES
 *	1. Same results as ggml's quantize_row_*_ref: every rounding step is
 *	   the one ggml takes, because a different rounding changes block
 *	   bytes. Three roundings occur and are not interchangeable:
 *	   round_even() (ggml's nearest_int: round half to even, by the
 *	   1.5*2^23 trick), roundf() (half away from zero, Q8_0), and C's
 *	   truncating float-to-int conversion after adding 0.5 or 8.5
 *	   (Q4_0/Q4_1/Q5_0/Q5_1).
 *	2. Scales travel through fp16: d (and dmin) are rounded to fp16 first,
 *	   and the final integer levels are recomputed from the rounded value,
 *	   so dequantization sees the scale the levels were chosen for.
 *	3. The 32-element types: x = d*q (symmetric, d = max/-2^(b-1) taking
 *	   the signed value of largest magnitude) or x = d*q + m (min/max).
 *	   The K-quants split 256 elements into sub-blocks, fit each
 *	   sub-block's scale (and min) by a small search that minimises a
 *	   weighted error, then quantize those scales to 4, 6 or 8 bits
 *	   against one fp16 super-scale.
 *	4. Nothing here allocates; scratch arrays are on the stack (< 8 KB).
 *	5. The affine fit (ggml's make_qkx2_quants) is the cost of Q2_K, Q4_K
 *	   and Q5_K: 16 to 21 candidate scales, each a few passes over a
 *	   sub-block with running sums. One sub-block alone is a chain of
 *	   dependent float adds; fit_affine() runs all sub-blocks of a
 *	   super-block in lockstep, each keeping its own summation order, so
 *	   the results are bit-identical to the one-at-a-time algorithm and
 *	   2-4x faster.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "engine/quantize.h"
#include "util/dk_err.h"

#define ALL_ZERO_EPS 1e-15f	/* ggml's GROUP_MAX_EPS */

/*
 * INLINE_FIT: inlined into callers that pass constant sub-block counts and
 * lengths (note 5), so the compiler can unroll and vectorize across sub-blocks
 */
#define INLINE_FIT static inline __attribute__((always_inline))

/* round_even - nearest integer, ties to even; |v| < 2^22 (note 1) */
static inline int round_even(float v)
{
	float t = v + 12582912.f;	/* 1.5 * 2^23: the integer lands in the mantissa */
	int32_t bits;

	memcpy(&bits, &t, sizeof bits);
	return (bits & 0x007fffff) - 0x00400000;
}

static inline int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* signed_absmax - the element of largest magnitude (first one on ties), with its sign */
static float signed_absmax(const float *x, int n, float *amax_out)
{
	float amax = 0, max = 0;

	for (int i = 0; i < n; i++) {
		float a = fabsf(x[i]);

		if (a > amax) {
			amax = a;
			max = x[i];
		}
	}
	*amax_out = amax;
	return max;
}

void quant_row_f16(const float *x, ggml_half *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = ggml_fp32_to_fp16(x[i]);
}

void quant_row_bf16(const float *x, ggml_bf16 *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = ggml_fp32_to_bf16(x[i]);
}

/* quant_row_q4_0 - x = d*(q-8), d = signed absmax / -8 */
void quant_row_q4_0(const float *x, struct block_q4_0 *y, int64_t n)
{
	assert(n % QK4_0 == 0);
	for (int64_t b = 0; b < n / QK4_0; b++, x += QK4_0) {
		float amax, d = signed_absmax(x, QK4_0, &amax) / -8;
		float id = d != 0 ? 1.0f / d : 0.0f;

		y[b].d = ggml_fp32_to_fp16(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			int lo = (int8_t)(x[j] * id + 8.5f);
			int hi = (int8_t)(x[j + QK4_0 / 2] * id + 8.5f);

			y[b].qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
		}
	}
}

static void minmax(const float *x, int n, float *mn, float *mx)
{
	*mn = FLT_MAX;
	*mx = -FLT_MAX;
	for (int i = 0; i < n; i++) {
		if (x[i] < *mn)
			*mn = x[i];
		if (x[i] > *mx)
			*mx = x[i];
	}
}

/* quant_row_q4_1 - x = d*q + m over [min, max] */
void quant_row_q4_1(const float *x, struct block_q4_1 *y, int64_t n)
{
	assert(n % QK4_1 == 0);
	for (int64_t b = 0; b < n / QK4_1; b++, x += QK4_1) {
		float mn, mx, d, id;

		minmax(x, QK4_1, &mn, &mx);
		d = (mx - mn) / 15;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[b].d = ggml_fp32_to_fp16(d);
		y[b].m = ggml_fp32_to_fp16(mn);
		for (int j = 0; j < QK4_1 / 2; j++) {
			int lo = (int8_t)((x[j] - mn) * id + 0.5f);
			int hi = (int8_t)((x[j + QK4_1 / 2] - mn) * id + 0.5f);

			y[b].qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
		}
	}
}

/* pack5 - low nibbles into qs, bit 4 of q[j] into bit j of qh */
static void pack5(const int q[32], uint8_t qs[16], uint8_t qh_out[4])
{
	uint32_t qh = 0;

	for (int j = 0; j < 16; j++) {
		qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
		qh |= (uint32_t)((q[j] >> 4) & 1) << j;
		qh |= (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
	}
	memcpy(qh_out, &qh, sizeof qh);
}

/* quant_row_q5_0 - x = d*(q-16), d = signed absmax / -16 */
void quant_row_q5_0(const float *x, struct block_q5_0 *y, int64_t n)
{
	assert(n % QK5_0 == 0);
	for (int64_t b = 0; b < n / QK5_0; b++, x += QK5_0) {
		float amax, d = signed_absmax(x, QK5_0, &amax) / -16;
		float id = d != 0 ? 1.0f / d : 0.0f;
		int q[QK5_0];

		y[b].d = ggml_fp32_to_fp16(d);
		for (int j = 0; j < QK5_0; j++) {
			int v = (int8_t)(x[j] * id + 16.5f);

			q[j] = v < 31 ? v : 31;
		}
		pack5(q, y[b].qs, y[b].qh);
	}
}

/* quant_row_q5_1 - x = d*q + m over [min, max], 5-bit q */
void quant_row_q5_1(const float *x, struct block_q5_1 *y, int64_t n)
{
	assert(n % QK5_1 == 0);
	for (int64_t b = 0; b < n / QK5_1; b++, x += QK5_1) {
		float mn, mx, d, id;
		int q[QK5_1];

		minmax(x, QK5_1, &mn, &mx);
		d = (mx - mn) / 31;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[b].d = ggml_fp32_to_fp16(d);
		y[b].m = ggml_fp32_to_fp16(mn);
		for (int j = 0; j < QK5_1; j++)
			q[j] = (uint8_t)((x[j] - mn) * id + 0.5f);
		pack5(q, y[b].qs, y[b].qh);
	}
}

/* quant_row_q8_0 - x = d*q, d = absmax/127, q rounded half away from zero */
void quant_row_q8_0(const float *x, struct block_q8_0 *y, int64_t n)
{
	assert(n % QK8_0 == 0);
	for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
		float amax = 0, d, id;

		for (int j = 0; j < QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		d = amax / 127;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[b].d = ggml_fp32_to_fp16(d);
		for (int j = 0; j < QK8_0; j++)
			y[b].qs[j] = (int8_t)roundf(x[j] * id);
	}
}

/* sym_sums - x^2-weighted sums of the levels inverse scales is[] give (L stored biased) */
INLINE_FIT void sym_sums(int nmax, const float x[16][16], const float is[16],
			 int8_t L[16][16], float sumlx[16], float suml2[16])
{
	for (int j = 0; j < 16; j++)
		sumlx[j] = suml2[j] = 0;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			int l = round_even(is[j] * x[i][j]);
			float w = x[i][j] * x[i][j];

			l = l < -nmax ? -nmax : l;
			l = l > nmax - 1 ? nmax - 1 : l;
			L[i][j] = (int8_t)(l + nmax);
			sumlx[j] += w * x[i][j] * l;
			suml2[j] += w * l * l;
		}
}

/*
 * fit_symmetric - ggml's make_qx_quants with x^2 weights on the 16
 * sub-blocks of 16 of a super-block: choose per sub-block a scale s and
 * levels L in [-nmax, nmax-1] (stored biased by +nmax) minimising
 * sum x^2 (x - s*L)^2, trying 19 candidate inverse scales around nmax/max;
 * sub-blocks in lockstep as in fit_affine (note 5)
 */
static void fit_symmetric(int nmax, const float *x, int8_t *L, float *scales)
{
	float xt[16][16], max[16], is[16], sumlx[16], suml2[16], best[16];
	int8_t Lt[16][16], aux[16][16];
	bool zero[16];

	for (int j = 0; j < 16; j++) {
		float amax;

		max[j] = signed_absmax(x + 16 * j, 16, &amax);
		zero[j] = amax < ALL_ZERO_EPS;
		if (zero[j])
			max[j] = 1;	/* keeps the arithmetic finite; result unused */
		is[j] = -nmax / max[j];
		for (int i = 0; i < 16; i++)
			xt[i][j] = x[16 * j + i];
	}
	sym_sums(nmax, xt, is, Lt, sumlx, suml2);
	for (int j = 0; j < 16; j++) {
		scales[j] = suml2[j] != 0 ? sumlx[j] / suml2[j] : 0.0f;
		best[j] = scales[j] * sumlx[j];
	}
	for (int k = -9; k <= 9; k++) {
		if (k == 0)
			continue;
		for (int j = 0; j < 16; j++)
			is[j] = -(nmax + 0.1f * k) / max[j];
		sym_sums(nmax, xt, is, aux, sumlx, suml2);
		for (int j = 0; j < 16; j++) {
			if (!(suml2[j] > 0 && sumlx[j] * sumlx[j] > best[j] * suml2[j]))
				continue;
			for (int i = 0; i < 16; i++)
				Lt[i][j] = aux[i][j];
			scales[j] = sumlx[j] / suml2[j];
			best[j] = scales[j] * sumlx[j];
		}
	}
	for (int j = 0; j < 16; j++) {
		for (int i = 0; i < 16; i++)
			L[16 * j + i] = zero[j] ? 0 : Lt[i][j];
		if (zero[j])
			scales[j] = 0;
	}
}

/*
 * fit_q3 - ggml's make_q3_quants (rmse variant): start from nmax/max, then
 * up to 5 passes of moving single levels while the x^2-weighted fit improves;
 * L biased by +nmax
 */
static float fit_q3(int n, int nmax, const float *x, int8_t *L)
{
	float amax, max = signed_absmax(x, n, &amax);
	float iscale, sumlx = 0, suml2 = 0;

	if (amax < ALL_ZERO_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	iscale = -nmax / max;
	for (int i = 0; i < n; i++) {
		int l = clampi(round_even(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];

		L[i] = (int8_t)l;
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int pass = 0; pass < 5; pass++) {
		int changed = 0;

		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * L[i], sl2;
			int nl;

			if (slx <= 0)
				continue;
			sl2 = suml2 - w * L[i] * L[i];
			nl = clampi(round_even(x[i] * sl2 / slx), -nmax, nmax - 1);
			if (nl == L[i])
				continue;
			slx += w * x[i] * nl;
			sl2 += w * nl * nl;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)nl;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

struct affine_search {
	int nmax;		/* levels 0..nmax */
	float rmin, rdelta;	/* candidate inverse scales (rmin + rdelta*k + nmax)/range */
	int nstep;
	int use_mad;		/* weighted |error| instead of weighted error^2 */
};

static inline float err_term(float diff, int use_mad)
{
	return use_mad ? fabsf(diff) : diff * diff;
}

#define MAX_SUB 16	/* sub-blocks fitted together */
#define MAX_LEN 32	/* elements per sub-block */

/*
 * struct affine_fit - the state of ns sub-blocks fitted in lockstep, stored
 * [element][sub-block] so each sub-block's sums run in their own order while
 * the sub-blocks advance together (note 5)
 */
struct affine_fit {
	float x[MAX_LEN][MAX_SUB], w[MAX_LEN][MAX_SUB];
	uint8_t L[MAX_LEN][MAX_SUB];
	float aux[MAX_LEN][MAX_SUB];	/* candidate levels, as floats for the sums */
	float mn[MAX_SUB], mx[MAX_SUB], sum_w[MAX_SUB], sum_x[MAX_SUB];
	float scale[MAX_SUB], best[MAX_SUB];
	float flat_min[MAX_SUB];	/* min of a constant sub-block, before any step */
	bool flat[MAX_SUB];
};

/* affine_start - ranges, weight sums and the first fit (nmax/range) */
INLINE_FIT void affine_start(struct affine_fit *f, int ns, int n,
			     const struct affine_search *s)
{
	float is[MAX_SUB];

	for (int j = 0; j < ns; j++) {
		f->mn[j] = f->mx[j] = f->x[0][j];
		f->sum_w[j] = f->sum_x[j] = f->best[j] = 0;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < ns; j++) {
			float v = f->x[i][j];

			f->mn[j] = v < f->mn[j] ? v : f->mn[j];
			f->mx[j] = v > f->mx[j] ? v : f->mx[j];
			f->sum_w[j] += f->w[i][j];
			f->sum_x[j] += f->w[i][j] * v;
		}
	for (int j = 0; j < ns; j++) {
		if (f->mn[j] > 0)
			f->mn[j] = 0;
		f->flat[j] = f->mx[j] == f->mn[j];
		f->flat_min[j] = f->mn[j];
		if (f->flat[j])
			f->mx[j] = f->mn[j] + 1;	/* keeps the arithmetic finite; result unused */
		is[j] = s->nmax / (f->mx[j] - f->mn[j]);
		f->scale[j] = 1 / is[j];
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < ns; j++) {
			int l = clampi(round_even(is[j] * (f->x[i][j] - f->mn[j])), 0, s->nmax);

			f->L[i][j] = (uint8_t)l;
			f->best[j] += f->w[i][j] * err_term(f->scale[j] * l + f->mn[j] - f->x[i][j],
							     s->use_mad);
		}
}

/* affine_step - candidate k: least-squares (scale, min) per sub-block, keep if better */
INLINE_FIT void affine_step(struct affine_fit *f, int ns, int n,
			    const struct affine_search *s, int k)
{
	float is[MAX_SUB], sl[MAX_SUB], sl2[MAX_SUB], sxl[MAX_SUB], e[MAX_SUB];
	float ts[MAX_SUB], tm[MAX_SUB], D[MAX_SUB];
	const int nmax = s->nmax;

	for (int j = 0; j < ns; j++) {
		is[j] = (s->rmin + s->rdelta * k + s->nmax) / (f->mx[j] - f->mn[j]);
		sl[j] = sl2[j] = sxl[j] = e[j] = 0;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < ns; j++) {
			int l = round_even(is[j] * (f->x[i][j] - f->mn[j]));
			float w = f->w[i][j];

			l = l < 0 ? 0 : l;
			l = l > nmax ? nmax : l;

			f->aux[i][j] = (float)l;
			sl[j] += w * l;
			sl2[j] += w * l * l;
			sxl[j] += w * l * f->x[i][j];
		}
	for (int j = 0; j < ns; j++) {
		D[j] = f->sum_w[j] * sl2[j] - sl[j] * sl[j];
		ts[j] = (f->sum_w[j] * sxl[j] - f->sum_x[j] * sl[j]) / D[j];
		tm[j] = (sl2[j] * f->sum_x[j] - sl[j] * sxl[j]) / D[j];
		if (tm[j] > 0) {
			tm[j] = 0;
			ts[j] = sxl[j] / sl2[j];
		}
	}
	/* two loops rather than a test inside one: both vectorize across sub-blocks */
	if (s->use_mad) {
		for (int i = 0; i < n; i++)
			for (int j = 0; j < ns; j++)
				e[j] += f->w[i][j] * fabsf(ts[j] * f->aux[i][j] + tm[j] - f->x[i][j]);
	} else {
		for (int i = 0; i < n; i++)
			for (int j = 0; j < ns; j++) {
				float d = ts[j] * f->aux[i][j] + tm[j] - f->x[i][j];

				e[j] += f->w[i][j] * (d * d);
			}
	}
	for (int j = 0; j < ns; j++) {
		if (!(D[j] > 0 && e[j] < f->best[j]))
			continue;
		for (int i = 0; i < n; i++)
			f->L[i][j] = (uint8_t)f->aux[i][j];
		f->best[j] = e[j];
		f->scale[j] = ts[j];
		f->mn[j] = tm[j];
	}
}

/*
 * fit_affine - ggml's make_qkx2_quants on ns sub-blocks of n elements:
 * x ~ scale*L - min with L in [0, nmax], min >= 0; for each candidate
 * inverse scale, a weighted least squares solve for (scale, min); keeps the
 * fit of least weighted error. x, w and L are ns*n, sub-block after
 * sub-block; scales and mins (as positive offsets) get ns values.
 */
INLINE_FIT void fit_affine(int ns, int n, const struct affine_search *s, const float *x,
		       const float *w, uint8_t *L, float *scales, float *mins)
{
	struct affine_fit f;

	assert(ns <= MAX_SUB && n <= MAX_LEN);
	for (int j = 0; j < ns; j++)
		for (int i = 0; i < n; i++) {
			f.x[i][j] = x[j * n + i];
			f.w[i][j] = w[j * n + i];
		}
	affine_start(&f, ns, n, s);
	for (int k = 0; k <= s->nstep; k++)
		affine_step(&f, ns, n, s, k);
	for (int j = 0; j < ns; j++) {
		for (int i = 0; i < n; i++)
			L[j * n + i] = f.flat[j] ? 0 : f.L[i][j];
		scales[j] = f.flat[j] ? 0 : f.scale[j];
		mins[j] = -(f.flat[j] ? f.flat_min[j] : f.mn[j]);
	}
}

/* pack_2bit - 4 groups of 32 levels per 128 elements into 2-bit fields (Q2_K, Q3_K) */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 |
						  L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* quant_row_q2_K - 16 sub-blocks of 16: x = d*sc*q - dmin*m, 4-bit sc and m */
void quant_row_q2_K(const float *x, struct block_q2_K *y, int64_t n)
{
	static const struct affine_search s = { 3, -0.5f, 0.1f, 15, 1 };

	assert(n % QK_K == 0);
	for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
		uint8_t L[QK_K];
		float w[QK_K], scales[16], mins[16], max_scale = 0, max_min = 0;

		for (int j = 0; j < QK_K; j++)
			w[j] = fabsf(x[j]);
		fit_affine(16, 16, &s, x, w, L, scales, mins);
		for (int j = 0; j < 16; j++) {
			max_scale = scales[j] > max_scale ? scales[j] : max_scale;
			max_min = mins[j] > max_min ? mins[j] : max_min;
		}
		memset(y[b].scales, 0, sizeof y[b].scales);
		y[b].d = ggml_fp32_to_fp16(max_scale > 0 ? max_scale / 15 : 0.f);
		y[b].dmin = ggml_fp32_to_fp16(max_min > 0 ? max_min / 15 : 0.f);
		if (max_scale > 0) {
			float is = 15 / max_scale;

			for (int j = 0; j < 16; j++)
				y[b].scales[j] = (uint8_t)round_even(is * scales[j]);
		}
		if (max_min > 0) {
			float im = 15 / max_min;

			for (int j = 0; j < 16; j++)
				y[b].scales[j] |= (uint8_t)(round_even(im * mins[j]) << 4);
		}
		for (int j = 0; j < 16; j++) {
			float d = ggml_fp16_to_fp32(y[b].d) * (y[b].scales[j] & 0xf);
			float dm = ggml_fp16_to_fp32(y[b].dmin) * (y[b].scales[j] >> 4);

			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (uint8_t)clampi(round_even((x[16 * j + l] + dm) / d), 0, 3);
		}
		pack_2bit(L, y[b].qs);
	}
}

/* q3_scale - the 6-bit scale j of a Q3_K block, unbiased to [-32, 31] */
static int q3_scale(const uint8_t sc[12], int j)
{
	int lo = j < 8 ? sc[j] & 0xf : sc[j - 8] >> 4;
	int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;

	return (lo | hi << 4) - 32;
}

/* quant_row_q3_K - 16 sub-blocks of 16: x = d*sc*(q-4), 6-bit signed sc */
void quant_row_q3_K(const float *x, struct block_q3_K *y, int64_t n)
{
	assert(n % QK_K == 0);
	for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
		int8_t L[QK_K];
		uint8_t U[QK_K];
		float scales[16], amax = 0, max_scale = 0;

		for (int j = 0; j < 16; j++) {
			scales[j] = fit_q3(16, 4, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		memset(y[b].scales, 0, sizeof y[b].scales);
		if (max_scale != 0) {
			float is = -32.f / max_scale;

			for (int j = 0; j < 16; j++) {
				int l = clampi((int8_t)round_even(is * scales[j]), -32, 31) + 32;

				if (j < 8)
					y[b].scales[j] = (uint8_t)(l & 0xf);
				else
					y[b].scales[j - 8] |= (uint8_t)((l & 0xf) << 4);
				y[b].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
			}
			y[b].d = ggml_fp32_to_fp16(1 / is);
		} else {
			y[b].d = ggml_fp32_to_fp16(0.f);
		}
		for (int j = 0; j < 16; j++) {
			float d = ggml_fp16_to_fp32(y[b].d) * q3_scale(y[b].scales, j);

			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(round_even(x[16 * j + l] / d), -4, 3) + 4);
		}
		/* bit 2 of element j goes to hmask[j % 32], bit j / 32 */
		memset(y[b].hmask, 0, sizeof y[b].hmask);
		for (int j = 0; j < QK_K; j++) {
			U[j] = (uint8_t)L[j];
			if (U[j] > 3) {
				y[b].hmask[j % 32] |= (uint8_t)(1u << (j / 32));
				U[j] -= 4;
			}
		}
		pack_2bit(U, y[b].qs);
	}
}

/* put_k4_scales - pack 8 6-bit scales and mins into 12 bytes (Q4_K/Q5_K) */
static void put_k4_scales(uint8_t out[12], const uint8_t ls[8], const uint8_t lm[8])
{
	for (int j = 0; j < 4; j++) {
		out[j] = ls[j];
		out[j + 4] = lm[j];
	}
	for (int j = 4; j < 8; j++) {
		out[j + 4] = (uint8_t)((ls[j] & 0xf) | (lm[j] & 0xf) << 4);
		out[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
		out[j] |= (uint8_t)((lm[j] >> 4) << 6);
	}
}

static void get_k4_scale(const uint8_t q[12], int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xf) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

/*
 * fit_k4_block - shared front half of Q4_K and Q5_K: fit 8 sub-blocks of
 * 32, quantize their scales and mins to 6 bits, then recompute the levels
 * against the fp16 super-scales (note 2)
 */
static void fit_k4_block(const float *x, const struct affine_search *s, uint8_t L[QK_K],
			 ggml_half *d_out, ggml_half *dmin_out, uint8_t scales_out[12])
{
	float w[QK_K], scales[8], mins[8], max_scale = 0, max_min = 0, is, im;
	uint8_t ls[8], lm[8];

	for (int j = 0; j < 8; j++) {
		const float *xs = x + 32 * j;
		float sum2 = 0, av;

		for (int l = 0; l < 32; l++)
			sum2 += xs[l] * xs[l];
		av = sqrtf(sum2 / 32);
		for (int l = 0; l < 32; l++)
			w[32 * j + l] = av + fabsf(xs[l]);
	}
	fit_affine(8, 32, s, x, w, L, scales, mins);
	for (int j = 0; j < 8; j++) {
		max_scale = scales[j] > max_scale ? scales[j] : max_scale;
		max_min = mins[j] > max_min ? mins[j] : max_min;
	}
	is = max_scale > 0 ? 63.f / max_scale : 0.f;
	im = max_min > 0 ? 63.f / max_min : 0.f;
	for (int j = 0; j < 8; j++) {
		uint8_t a = (uint8_t)round_even(is * scales[j]);
		uint8_t c = (uint8_t)round_even(im * mins[j]);

		ls[j] = a < 63 ? a : 63;
		lm[j] = c < 63 ? c : 63;
	}
	put_k4_scales(scales_out, ls, lm);
	*d_out = ggml_fp32_to_fp16(max_scale / 63.f);
	*dmin_out = ggml_fp32_to_fp16(max_min / 63.f);
	for (int j = 0; j < 8; j++) {
		int sc, m;
		float d, dm;

		get_k4_scale(scales_out, j, &sc, &m);
		d = ggml_fp16_to_fp32(*d_out) * sc;
		if (d == 0)
			continue;
		dm = ggml_fp16_to_fp32(*dmin_out) * m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)clampi(round_even((x[32 * j + l] + dm) / d),
							0, s->nmax);
	}
}

/* quant_row_q4_K - 8 sub-blocks of 32: x = d*sc*q - dmin*m, 6-bit sc and m */
void quant_row_q4_K(const float *x, struct block_q4_K *y, int64_t n)
{
	static const struct affine_search s = { 15, -1.f, 0.1f, 20, 0 };

	assert(n % QK_K == 0);
	for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
		uint8_t L[QK_K];
		uint8_t *q = y[b].qs;

		fit_k4_block(x, &s, L, &y[b].d, &y[b].dmin, y[b].scales);
		for (int j = 0; j < QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++)
				q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
	}
}

/* quant_row_q5_K - Q4_K with 5-bit q: bit 4 of each level in qh */
void quant_row_q5_K(const float *x, struct block_q5_K *y, int64_t n)
{
	static const struct affine_search s = { 31, -0.5f, 0.1f, 15, 0 };

	assert(n % QK_K == 0);
	for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
		uint8_t L[QK_K], m1 = 1, m2 = 2;
		uint8_t *ql = y[b].qs;

		fit_k4_block(x, &s, L, &y[b].d, &y[b].dmin, y[b].scales);
		memset(y[b].qh, 0, sizeof y[b].qh);
		for (int j = 0; j < QK_K; j += 64, ql += 32) {
			for (int l = 0; l < 32; l++) {
				int a = L[j + l], c = L[j + l + 32];

				if (a > 15) {
					a -= 16;
					y[b].qh[l] |= m1;
				}
				if (c > 15) {
					c -= 16;
					y[b].qh[l] |= m2;
				}
				ql[l] = (uint8_t)(a | c << 4);
			}
			m1 = (uint8_t)(m1 << 2);
			m2 = (uint8_t)(m2 << 2);
		}
	}
}

/* quant_row_q6_K - 16 sub-blocks of 16: x = d*sc*(q-32), int8 sc */
void quant_row_q6_K(const float *x, struct block_q6_K *y, int64_t n)
{
	assert(n % QK_K == 0);
	for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
		int8_t L[QK_K];
		float scales[16], amax = 0, max_scale = 0, is;
		uint8_t *ql = y[b].ql, *qh = y[b].qh;

		fit_symmetric(32, x, L, scales);
		for (int j = 0; j < 16; j++) {
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (amax < ALL_ZERO_EPS) {
			memset(&y[b], 0, sizeof y[b]);
			continue;
		}
		is = -128.f / max_scale;
		y[b].d = ggml_fp32_to_fp16(1 / is);
		for (int j = 0; j < 16; j++) {
			int v = round_even(is * scales[j]);

			y[b].scales[j] = (int8_t)(v < 127 ? v : 127);
		}
		for (int j = 0; j < 16; j++) {
			float d = ggml_fp16_to_fp32(y[b].d) * y[b].scales[j];

			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(round_even(x[16 * j + l] / d), -32, 31) + 32);
		}
		for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
			for (int l = 0; l < 32; l++) {
				const uint8_t *u = (const uint8_t *)L + j + l;

				ql[l] = (uint8_t)((u[0] & 0xf) | (u[64] & 0xf) << 4);
				ql[l + 32] = (uint8_t)((u[32] & 0xf) | (u[96] & 0xf) << 4);
				qh[l] = (uint8_t)(u[0] >> 4 | (u[32] >> 4) << 2 |
						  (u[64] >> 4) << 4 | (u[96] >> 4) << 6);
			}
		}
	}
}

bool quant_supported(uint32_t type)
{
	switch (type) {
	case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16:
	case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0:
	case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0: case GGML_TYPE_Q2_K:
	case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K:
	case GGML_TYPE_Q6_K:
		return true;
	default:
		return false;
	}
}

/* quant_row - dispatch on type; n must be a block multiple */
int quant_row(enum ggml_type type, const float *x, void *dst, int64_t n)
{
	const struct ggml_type_traits *tt = ggml_type_traits(type);

	if (!quant_supported(type) || tt == NULL)
		return DK_EUNSUPPORTED;
	if (n < 0 || n % tt->blck_size != 0)
		return DK_EINVAL;
	switch (type) {
	case GGML_TYPE_F32: memcpy(dst, x, (size_t)n * sizeof *x); break;
	case GGML_TYPE_F16: quant_row_f16(x, dst, n); break;
	case GGML_TYPE_BF16: quant_row_bf16(x, dst, n); break;
	case GGML_TYPE_Q4_0: quant_row_q4_0(x, dst, n); break;
	case GGML_TYPE_Q4_1: quant_row_q4_1(x, dst, n); break;
	case GGML_TYPE_Q5_0: quant_row_q5_0(x, dst, n); break;
	case GGML_TYPE_Q5_1: quant_row_q5_1(x, dst, n); break;
	case GGML_TYPE_Q8_0: quant_row_q8_0(x, dst, n); break;
	case GGML_TYPE_Q2_K: quant_row_q2_K(x, dst, n); break;
	case GGML_TYPE_Q3_K: quant_row_q3_K(x, dst, n); break;
	case GGML_TYPE_Q4_K: quant_row_q4_K(x, dst, n); break;
	case GGML_TYPE_Q5_K: quant_row_q5_K(x, dst, n); break;
	case GGML_TYPE_Q6_K: quant_row_q6_K(x, dst, n); break;
	default: return DK_EUNSUPPORTED;
	}
	return 0;
}
