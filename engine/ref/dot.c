/*
 * NAME
 *	dot - activation quantization and weight-row dot products (reference)
 * DESIGN NOTES
 *	1. Activations are quantized the way ggml-cpu does before a matrix
 *	   product (Q8_0/Q8_1 with scale amax/127 and round-half-even, Q8_K
 *	   with scale max/-127, F16/BF16 rounding), so the numbers stay close
 *	   to llama.cpp's. Integer sums are exact; the float steps are one
 *	   multiply-add per block (per super-block for K-quants).
 *	2. A dot product is one sequential loop: given the same inputs it
 *	   gives the same bits whatever thread calls it, which is what makes
 *	   logits identical across thread counts (threads split rows, never a
 *	   single dot product).
 *	3. Integer accumulators cannot overflow: per super-block the largest
 *	   |sum| is 256 * 127 * 63 * 127 < 2^31.
 */
#include "engine/ref/quants.h"

#include <math.h>

/* amax_of - largest |x| over n values */
static float amax_of(const float *x, int n)
{
	float amax = 0.0f;

	for (int j = 0; j < n; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	return amax;
}

void ref_quantize_row_q8_0(const float *x, struct block_q8_0 *y, int64_t n)
{
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
		float amax = amax_of(x, QK8_0);
		float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		y[i].d = ggml_fp32_to_fp16(amax / 127.0f);
		for (int j = 0; j < QK8_0; j++)
			y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
	}
}

void ref_quantize_row_q8_1(const float *x, struct block_q8_1 *y, int64_t n)
{
	for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
		float amax = amax_of(x, QK8_1);
		float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
		int sum = 0;
		for (int j = 0; j < QK8_1; j++) {
			y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
			sum += y[i].qs[j];
		}
		y[i].d = ggml_fp32_to_fp16(d);
		y[i].s = ggml_fp32_to_fp16(d * (float)sum);
	}
}

void ref_quantize_row_q8_K(const float *x, struct block_q8_K *y, int64_t n)
{
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		float max = 0.0f, amax = 0.0f;
		for (int j = 0; j < QK_K; j++) {
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		/* the sign of the largest value maps to -127 (ggml's choice) */
		float iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++) {
			long v = lrintf(iscale * x[j]);
			y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
		}
		for (int j = 0; j < QK_K / 16; j++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += y[i].qs[16 * j + l];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1.0f / iscale;
	}
}

/* ref_quantize_act - activation row into layout vdt (note 1) */
void ref_quantize_act(enum ggml_type vdt, const float *x, void *dst, int64_t n)
{
	switch (vdt) {
	case GGML_TYPE_F16:
		for (int64_t i = 0; i < n; i++)
			((ggml_half *)dst)[i] = ggml_fp32_to_fp16(x[i]);
		break;
	case GGML_TYPE_BF16:
		for (int64_t i = 0; i < n; i++)
			((ggml_bf16 *)dst)[i] = ggml_fp32_to_bf16(x[i]);
		break;
	case GGML_TYPE_Q8_0: ref_quantize_row_q8_0(x, dst, n); break;
	case GGML_TYPE_Q8_1: ref_quantize_row_q8_1(x, dst, n); break;
	case GGML_TYPE_Q8_K: ref_quantize_row_q8_K(x, dst, n); break;
	default:
		memcpy(dst, x, (size_t)n * sizeof(float));
		break;
	}
}

/* 16-bit weight rows may sit at odd addresses inside the mapping: memcpy */
static inline ggml_half ld16(const void *p, int64_t i)
{
	ggml_half h;

	memcpy(&h, (const uint8_t *)p + 2 * i, 2);
	return h;
}

static float dot_f32(int64_t n, const void *w, const void *a)
{
	const float *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n; i++) {
		float x;
		memcpy(&x, (const uint8_t *)w + 4 * i, 4);
		sum += x * y[i];
	}
	return sum;
}

static float dot_f16(int64_t n, const void *w, const void *a)
{
	const ggml_half *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n; i++)
		sum += ggml_fp16_to_fp32(ld16(w, i)) * ggml_fp16_to_fp32(y[i]);
	return sum;
}

static float dot_bf16(int64_t n, const void *w, const void *a)
{
	const ggml_bf16 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n; i++)
		sum += ggml_bf16_to_fp32(ld16(w, i)) * ggml_bf16_to_fp32(y[i]);
	return sum;
}

static float dot_q4_0(int64_t n, const void *w, const void *a)
{
	const struct block_q4_0 *x = w;
	const struct block_q8_0 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK4_0; i++) {
		int sumi = 0;
		for (int j = 0; j < QK4_0 / 2; j++)
			sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] +
				((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0 / 2];
		sum += (float)sumi * (ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d));
	}
	return sum;
}

static float dot_q4_1(int64_t n, const void *w, const void *a)
{
	const struct block_q4_1 *x = w;
	const struct block_q8_1 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK4_1; i++) {
		int sumi = 0;
		for (int j = 0; j < QK4_1 / 2; j++)
			sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] +
				(x[i].qs[j] >> 4) * y[i].qs[j + QK4_1 / 2];
		sum += (float)sumi * (ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d)) +
			ggml_fp16_to_fp32(x[i].m) * ggml_fp16_to_fp32(y[i].s);
	}
	return sum;
}

static float dot_q5_0(int64_t n, const void *w, const void *a)
{
	const struct block_q5_0 *x = w;
	const struct block_q8_0 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK5_0; i++) {
		uint32_t qh;
		int sumi = 0;
		memcpy(&qh, x[i].qh, sizeof qh);
		for (int j = 0; j < QK5_0 / 2; j++) {
			int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
			sumi += (((x[i].qs[j] & 0xF) | h0) - 16) * y[i].qs[j] +
				(((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + QK5_0 / 2];
		}
		sum += (float)sumi * (ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d));
	}
	return sum;
}

static float dot_q5_1(int64_t n, const void *w, const void *a)
{
	const struct block_q5_1 *x = w;
	const struct block_q8_1 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK5_1; i++) {
		uint32_t qh;
		int sumi = 0;
		memcpy(&qh, x[i].qh, sizeof qh);
		for (int j = 0; j < QK5_1 / 2; j++) {
			int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
			sumi += ((x[i].qs[j] & 0xF) | h0) * y[i].qs[j] +
				((x[i].qs[j] >> 4) | h1) * y[i].qs[j + QK5_1 / 2];
		}
		sum += (float)sumi * (ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d)) +
			ggml_fp16_to_fp32(x[i].m) * ggml_fp16_to_fp32(y[i].s);
	}
	return sum;
}

static float dot_q8_0(int64_t n, const void *w, const void *a)
{
	const struct block_q8_0 *x = w;
	const struct block_q8_0 *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK8_0; i++) {
		int sumi = 0;
		for (int j = 0; j < QK8_0; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		sum += (float)sumi * (ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d));
	}
	return sum;
}

static float dot_q2_K(int64_t n, const void *w, const void *a)
{
	const struct block_q2_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
		const int8_t *q8 = y[i].qs;
		int summs = 0, isum = 0, is = 0;
		for (int j = 0; j < 16; j++)
			summs += y[i].bsums[j] * (sc[j] >> 4);
		for (int g = 0; g < QK_K / 128; g++, q2 += 32) {
			for (int shift = 0; shift < 8; shift += 2) {
				for (int half = 0; half < 2; half++, q8 += 16) {
					int s = 0;
					for (int l = 0; l < 16; l++)
						s += q8[l] * ((q2[l + 16 * half] >> shift) & 3);
					isum += (sc[is++] & 0xF) * s;
				}
			}
		}
		float dall = y[i].d * ggml_fp16_to_fp32(x[i].d);
		float dmin = y[i].d * ggml_fp16_to_fp32(x[i].dmin);
		sum += dall * (float)isum - dmin * (float)summs;
	}
	return sum;
}

static float dot_q3_K(int64_t n, const void *w, const void *a)
{
	const struct block_q3_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *q = x[i].qs, *hm = x[i].hmask;
		const int8_t *q8 = y[i].qs;
		int8_t sc[16];
		int isum = 0, is = 0;
		uint8_t m = 1;
		/* same bit layout as dq_q3_K; sc unpacked identically */
		for (int j = 0; j < 16; j++) {
			int lo = j < 8 ? (x[i].scales[j] & 0xF) : (x[i].scales[j - 8] >> 4);
			int hi = (x[i].scales[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
			sc[j] = (int8_t)((lo | (hi << 4)) - 32);
		}
		for (int g = 0; g < QK_K / 128; g++, q += 32) {
			for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
				for (int half = 0; half < 2; half++, q8 += 16) {
					int s = 0;
					for (int l = 0; l < 16; l++) {
						int k = l + 16 * half;
						s += q8[l] * (((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
					}
					isum += sc[is++] * s;
				}
			}
		}
		sum += y[i].d * ggml_fp16_to_fp32(x[i].d) * (float)isum;
	}
	return sum;
}

/* k_scales - the 8 scales and 8 mins of a Q4_K/Q5_K block (dequant.c note 3) */
static void k_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8])
{
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			sc[j] = q[j] & 63;
			mn[j] = q[j + 4] & 63;
		} else {
			sc[j] = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
			mn[j] = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
		}
	}
}

static float dot_q4_K(int64_t n, const void *w, const void *a)
{
	const struct block_q4_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8];
		const uint8_t *q = x[i].qs;
		const int8_t *q8 = y[i].qs;
		int isum = 0, imin = 0;
		k_scales(x[i].scales, sc, mn);
		for (int j = 0; j < 8; j++)
			imin += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		for (int j = 0; j < 8; j += 2, q += 32, q8 += 64) {
			int s0 = 0, s1 = 0;
			for (int l = 0; l < 32; l++) {
				s0 += q8[l] * (q[l] & 0xF);
				s1 += q8[l + 32] * (q[l] >> 4);
			}
			isum += sc[j] * s0 + sc[j + 1] * s1;
		}
		sum += y[i].d * ggml_fp16_to_fp32(x[i].d) * (float)isum -
			y[i].d * ggml_fp16_to_fp32(x[i].dmin) * (float)imin;
	}
	return sum;
}

static float dot_q5_K(int64_t n, const void *w, const void *a)
{
	const struct block_q5_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		uint8_t sc[8], mn[8], u1 = 1, u2 = 2;
		const uint8_t *ql = x[i].qs, *qh = x[i].qh;
		const int8_t *q8 = y[i].qs;
		int isum = 0, imin = 0;
		k_scales(x[i].scales, sc, mn);
		for (int j = 0; j < 8; j++)
			imin += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		for (int j = 0; j < 8; j += 2, ql += 32, q8 += 64, u1 <<= 2, u2 <<= 2) {
			int s0 = 0, s1 = 0;
			for (int l = 0; l < 32; l++) {
				s0 += q8[l] * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0));
				s1 += q8[l + 32] * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0));
			}
			isum += sc[j] * s0 + sc[j + 1] * s1;
		}
		sum += y[i].d * ggml_fp16_to_fp32(x[i].d) * (float)isum -
			y[i].d * ggml_fp16_to_fp32(x[i].dmin) * (float)imin;
	}
	return sum;
}

static float dot_q6_K(int64_t n, const void *w, const void *a)
{
	const struct block_q6_K *x = w;
	const struct block_q8_K *y = a;
	float sum = 0.0f;

	for (int64_t i = 0; i < n / QK_K; i++) {
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales, *q8 = y[i].qs;
		int isum = 0;
		for (int g = 0; g < QK_K / 128; g++, ql += 64, qh += 32, sc += 8, q8 += 128) {
			int s[8] = { 0 };
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				s[is] += q8[l] * (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
				s[is + 2] += q8[l + 32] * (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
				s[is + 4] += q8[l + 64] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
				s[is + 6] += q8[l + 96] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
			}
			for (int k = 0; k < 8; k++)
				isum += sc[k] * s[k];
		}
		sum += y[i].d * ggml_fp16_to_fp32(x[i].d) * (float)isum;
	}
	return sum;
}

/* ref_vec_dot - dot product of weight type type with its vec_dot_type */
ref_vec_dot_fn ref_vec_dot(enum ggml_type type)
{
	switch (type) {
	case GGML_TYPE_F32: return dot_f32;
	case GGML_TYPE_F16: return dot_f16;
	case GGML_TYPE_BF16: return dot_bf16;
	case GGML_TYPE_Q4_0: return dot_q4_0;
	case GGML_TYPE_Q4_1: return dot_q4_1;
	case GGML_TYPE_Q5_0: return dot_q5_0;
	case GGML_TYPE_Q5_1: return dot_q5_1;
	case GGML_TYPE_Q8_0: return dot_q8_0;
	case GGML_TYPE_Q2_K: return dot_q2_K;
	case GGML_TYPE_Q3_K: return dot_q3_K;
	case GGML_TYPE_Q4_K: return dot_q4_K;
	case GGML_TYPE_Q5_K: return dot_q5_K;
	case GGML_TYPE_Q6_K: return dot_q6_K;
	default: return NULL;
	}
}

/* ref_swiglu - the SwiGLU gate (silu as x / (1 + e^-x), as ggml writes it) */
void ref_swiglu(int64_t n, const float *g, const float *u, float *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void ref_f32_to_f16(int64_t n, const float *x, ggml_half *y)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = ggml_fp32_to_fp16(x[i]);
}

/* ref_axpy_f16 - y += x * w over n halves (attention's weighted sum of V rows) */
void ref_axpy_f16(int64_t n, float w, const ggml_half *x, float *y)
{
	for (int64_t i = 0; i < n; i++) {
		float p = ggml_fp16_to_fp32(x[i]) * w;
		y[i] += p;
	}
}
