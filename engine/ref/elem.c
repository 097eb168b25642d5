/*
 * NAME
 *	elem - the GELU lookup table, the reference GEGLU gate and RMS norm
 * DESIGN NOTES
 *	1. gemma3's GELU goes through binary16 in and out, as ggml's lookup
 *	   table does (engine/ref/forward.c note 4), so it takes only 65536
 *	   distinct inputs: one tanhf per bit pattern, once per process,
 *	   replaces one per element per layer. Each entry is exactly what
 *	   the per-element formula gives for that input, so the table changes
 *	   no result.
 *	2. The entries are stored widened to float (256 KB, within L2) so a
 *	   SIMD kernel can gather them directly.
 *	3. This file is compiled without ISA flags and without FMA
 *	   contraction, as the formula always was.
 */
#include "engine/ref/elem.h"

#include <math.h>
#include <pthread.h>

#include "engine/ggml_types.h"

static float gelu_table[1 << 16];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* gelu_tanh - GELU, tanh approximation, of a value already in F16 */
static float gelu_tanh(float v)
{
	return 0.5f * v * (1.0f + tanhf(0.79788456080286535587989211986876f * v *
					(1.0f + 0.044715f * v * v)));
}

static void build(void)
{
	for (uint32_t h = 0; h < (1u << 16); h++) {
		float g = gelu_tanh(ggml_fp16_to_fp32((ggml_half)h));
		gelu_table[h] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(g));
	}
}

/* ref_gelu_init - note 1 */
void ref_gelu_init(void)
{
	pthread_once(&once, build);
}

const float *ref_gelu_table(void)
{
	return gelu_table;
}

/* ref_geglu - out = u * gelu(g), ggml_vec_gelu_f32's clamps and table */
void ref_geglu(int64_t n, const float *g, const float *u, float *out)
{
	for (int64_t i = 0; i < n; i++) {
		float x = g[i];
		float y = x <= -10.0f ? 0.0f : x >= 10.0f ? x : gelu_table[ggml_fp32_to_fp16(x)];
		out[i] = u[i] * y;
	}
}

/* ref_rmsnorm - see elem.h: one chain of double adds per row */
void ref_rmsnorm(int64_t n, int rows, const float *x, size_t xs, const float *w, float *o, size_t os,
		 float eps)
{
	for (int r = 0; r < rows; r++, x += xs, o += os) {
		double ss = 0.0;

		for (int64_t i = 0; i < n; i++)
			ss += (double)(x[i] * x[i]);
		float mean = (float)(ss / (double)n);
		float scale = 1.0f / sqrtf(mean + eps);
		for (int64_t i = 0; i < n; i++)
			o[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
	}
}
