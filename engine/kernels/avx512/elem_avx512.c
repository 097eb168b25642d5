/*
 * NAME
 *	elem_avx512 - AVX-512 elementwise gates kept bitwise to the reference
 * DESIGN NOTES
 *	1. geglu() is ref_geglu() sixteen lanes at a time: vcvtps2ph rounds
 *	   to nearest even exactly as ggml_fp32_to_fp16, the F16 bits index
 *	   the reference's float table by a gather, and the clamps at -10 and
 *	   10 are ordered compares (a NaN input takes the table, as in the
 *	   reference). The product u * gelu is the same single rounding, so
 *	   every output is bitwise the reference's.
 */
#include <immintrin.h>

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

void eng_kernels_elem_avx512_fill(struct eng_kernels *k)
{
	k->geglu = geglu;
}
