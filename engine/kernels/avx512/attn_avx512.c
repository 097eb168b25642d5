/*
 * NAME
 *	attn_avx512 - AVX-512 attention, SwiGLU gate and F16 stores
 * DESIGN NOTES
 *	1. attn() is one (token, head). Q is rounded to F16 once (q16) and
 *	   widened back: F16 times F16 is exact in float, so each score is
 *	   the exact products summed in one fixed order (16 lanes per chunk of
 *	   the head, chunks in order, then the lane reduction). Probabilities
 *	   are rounded to F16 the same way before meeting V. Every output is
 *	   one fixed chain of operations over positions j0..p, whoever calls
 *	   and however the batch is split: threads never change a logit.
 *	2. The V sum keeps a 16-lane chunk of the output in a register over
 *	   all positions (position-major order per element, as the
 *	   reference's axpy loop), so out is written once per chunk instead of
 *	   once per position.
 *	3. v_exp is 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 in two
 *	   parts (|r| <= ln 2 / 2), e^r by its Taylor polynomial of degree 7
 *	   (truncation below 2^-26 relative) and scalef for 2^n, which also
 *	   gives inf above ~88.7 and 0 below ~-103.9. Within 2 ulp of expf:
 *	   the results stay inside the oracle tolerances, not bitwise ref.
 *	4. Head dims that are not a multiple of 16 run with masked tails.
 */
#include <immintrin.h>
#include <math.h>

#include "engine/kernels/kernels.h"

/* v_exp - e^x in 16 lanes (note 3) */
static inline __m512 v_exp(__m512 x)
{
	const __m512 ln2_hi = _mm512_set1_ps(0.693145751953125f);
	const __m512 ln2_lo = _mm512_set1_ps(1.42860682030941723212e-6f);

	x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-110.0f)), _mm512_set1_ps(100.0f));
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, ln2_lo, _mm512_fnmadd_ps(n, ln2_hi, x));
	__m512 y = _mm512_set1_ps(1.0f / 5040.0f);
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 720.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 120.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 24.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f / 6.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(0.5f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f));
	y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(y, n);
}

static inline __mmask16 tail_mask(int64_t left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* swiglu - out = silu(g) * u, g / (1 + e^-g) as the reference */
static void swiglu(int64_t n, const float *g, const float *u, float *out)
{
	const __m512 one = _mm512_set1_ps(1.0f);

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m512 x = _mm512_maskz_loadu_ps(m, g + i);
		__m512 e = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
		__m512 s = _mm512_div_ps(x, _mm512_add_ps(one, e));
		_mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
	}
}

/* f32_to_f16 - round to nearest even, as ggml_fp32_to_fp16 */
static void f32_to_f16(int64_t n, const float *x, ggml_half *y)
{
	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
					    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		_mm256_mask_storeu_epi16(y + i, m, h);
	}
}

static inline __m512 load_f16(__mmask16 m, const ggml_half *p)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* score - q16 . k (note 1) */
static inline float score(int64_t D, const ggml_half *q16, const ggml_half *k)
{
	__m512 acc = _mm512_setzero_ps();

	for (int64_t d = 0; d < D; d += 16) {
		__mmask16 m = tail_mask(D - d);
		acc = _mm512_fmadd_ps(load_f16(m, q16 + d), load_f16(m, k + d), acc);
	}
	return _mm512_reduce_add_ps(acc);
}

/* softmax16 - att[j0..p] = F16(e^(att - max) / sum), widened back; notes 1, 3 */
static void softmax16(float *att, int32_t j0, int32_t p, float max)
{
	__m512 vmax = _mm512_set1_ps(max), sum = _mm512_setzero_ps();
	int64_t n = (int64_t)p - j0 + 1;
	float *a = att + j0;

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m512 e = v_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), vmax));
		e = _mm512_maskz_mov_ps(m, e);
		sum = _mm512_add_ps(sum, e);
		_mm512_mask_storeu_ps(a + i, m, e);
	}
	__m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m256i h = _mm512_cvtps_ph(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), inv),
					    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		_mm512_mask_storeu_ps(a + i, m, _mm512_cvtph_ps(h));
	}
}

/* attn - see struct eng_attn (notes 1, 2) */
static void attn(const struct eng_attn *a)
{
	int64_t D = a->D;
	float max = -INFINITY;

	f32_to_f16(D, a->q, a->q16);
	for (int32_t j = a->j0; j <= a->p; j++) {
		float s = score(D, a->q16, a->k + (size_t)j * a->kv_stride) * a->scale;
		if (a->softcap > 0.0f)
			s = a->softcap * tanhf(s / a->softcap);
		a->att[j] = s;
		max = fmaxf(max, s);
	}
	softmax16(a->att, a->j0, a->p, max);
	for (int64_t d = 0; d < D; d += 16) {
		__mmask16 m = tail_mask(D - d);
		__m512 acc = _mm512_setzero_ps();
		for (int32_t j = a->j0; j <= a->p; j++)
			acc = _mm512_fmadd_ps(_mm512_set1_ps(a->att[j]),
					      load_f16(m, a->v + (size_t)j * a->kv_stride + d), acc);
		_mm512_mask_storeu_ps(a->out + d, m, acc);
	}
}

void eng_kernels_attn_avx512_fill(struct eng_kernels *k)
{
	k->swiglu = swiglu;
	k->f32_to_f16 = f32_to_f16;
	k->attn = attn;
}
