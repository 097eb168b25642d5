/*
 * NAME
 *	elem_avx512 - AVX-512 elementwise gates and RMS norm kept bitwise to the reference
 * DESIGN NOTES
 *	1. geglu() is ref_geglu() sixteen lanes at a time: vcvtps2ph rounds
 *	   to nearest even exactly as ggml_fp32_to_fp16, the F16 bits index
 *	   the reference's float table by a gather, and the clamps at -10 and
 *	   10 are ordered compares (a NaN input takes the table, as in the
 *	   reference). The product u * gelu is the same single rounding, so
 *	   every output is bitwise the reference's.
 *	2. A row's sum of squares is one chain of double adds in ascending
 *	   order (ref_rmsnorm, as ggml), so a row alone waits on the add's
 *	   latency: ~4 cycles an element, 10k a gemma3 residual row, ~2% of
 *	   prompt processing. rmsnorm() runs 8 rows at once, row r in lane r:
 *	   8 floats of each row are squared (the same float product), the
 *	   8x8 block transposed, and each column widened and added, so every
 *	   lane is its row's own chain, in its order. Rows past the last and
 *	   elements past n load as zero and add +0.0, which leaves a sum of
 *	   squares (>= +0, or NaN) as it was. Then each row's scale is the
 *	   reference's scalar code and x * scale * w the same two roundings.
 */
#include <immintrin.h>
#include <math.h>

#include "engine/kernels/kernels.h"
#include "engine/ref/elem.h"

static inline __mmask16 tail_mask(int64_t left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* geglu - out = u * gelu(g) (note 1) */
static void geglu(int64_t n, const float *g, const float *u, float *out)
{
	const float *table = ref_gelu_table();
	const __m512 lo = _mm512_set1_ps(-10.0f), hi = _mm512_set1_ps(10.0f);

	for (int64_t i = 0; i < n; i += 16) {
		__mmask16 m = tail_mask(n - i);
		__m512 x = _mm512_maskz_loadu_ps(m, g + i);
		__m256i h = _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		__m512 y = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_cvtepu16_epi32(h),
						    table, 4);
		y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, hi, _CMP_GE_OQ), x);
		y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_NLE_UQ), y);
		_mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, u + i), y));
	}
}

/* transpose8 - c[j] lane r = v[r] lane j */
static inline void transpose8(const __m256 v[8], __m256 c[8])
{
	__m256 t[8], u[8];

	for (int k = 0; k < 8; k += 2) {
		t[k] = _mm256_unpacklo_ps(v[k], v[k + 1]);
		t[k + 1] = _mm256_unpackhi_ps(v[k], v[k + 1]);
	}
	for (int k = 0; k < 8; k += 4) {
		u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
		u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xee);
		u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
		u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xee);
	}
	for (int k = 0; k < 4; k++) {
		c[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
		c[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
	}
}

/* sumsq8 - ss[r] for up to 8 rows, lane r row r's chain (note 2) */
static void sumsq8(int64_t n, int rows, const float *x, size_t xs, double ss[8])
{
	__m512d acc = _mm512_setzero_pd();

	for (int64_t i = 0; i < n; i += 8) {
		__mmask8 m = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1);
		__m256 v[8], c[8];
		for (int r = 0; r < 8; r++) {
			__m256 a = r < rows ? _mm256_maskz_loadu_ps(m, x + (size_t)r * xs + i) : _mm256_setzero_ps();
			v[r] = _mm256_mul_ps(a, a);
		}
		transpose8(v, c);
		for (int j = 0; j < 8; j++)
			acc = _mm512_add_pd(acc, _mm512_cvtps_pd(c[j]));
	}
	_mm512_storeu_pd(ss, acc);
}

/* rmsnorm - see kernels.h (note 2) */
static void rmsnorm(int64_t n, int rows, const float *x, size_t xs, const float *w, float *o, size_t os,
		    float eps)
{
	for (int r0 = 0; r0 < rows; r0 += 8) {
		double ss[8];
		int nr = rows - r0 < 8 ? rows - r0 : 8;

		sumsq8(n, nr, x + (size_t)r0 * xs, xs, ss);
		for (int r = 0; r < nr; r++) {
			const float *xr = x + (size_t)(r0 + r) * xs;
			float *out = o + (size_t)(r0 + r) * os;
			float mean = (float)(ss[r] / (double)n);
			__m512 s = _mm512_set1_ps(1.0f / sqrtf(mean + eps));
			for (int64_t i = 0; i < n; i += 16) {
				__mmask16 m = tail_mask(n - i);
				__m512 y = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + i), s);
				if (w != NULL)
					y = _mm512_mul_ps(y, _mm512_maskz_loadu_ps(m, w + i));
				_mm512_mask_storeu_ps(out + i, m, y);
			}
		}
	}
}

void eng_kernels_elem_avx512_fill(struct eng_kernels *k)
{
	k->geglu = geglu;
	k->rmsnorm = rmsnorm;
}
