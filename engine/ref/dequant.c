/*
 * NAME
 *	dequant - expand ggml blocks to floats (scalar reference)
 * DESIGN NOTES
 *	1. Each function follows ggml's block definition element for element;
 *	   the comments in ggml_types.h give the formula of each layout.
 *	2. Multi-byte fields inside blocks are little-endian and may be
 *	   unaligned in the mapping, so 32-bit words are read with memcpy.
 *	3. The 12-byte K-quant scale field packs 8 six-bit scales and 8
 *	   six-bit mins (Q4_K, Q5_K) or 16 six-bit signed scales (Q3_K);
 *	   ref_k_scale_min() and unpack_q3_scales() are the one decoding each.
 */
#include "engine/ref/quants.h"

#include "util/dk_err.h"

/* ref_k_scale_min - scale and min of sub-block j of a Q4_K/Q5_K block (note 3) */
static inline void k_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
	}
}

/* unpack_q3_scales - 16 signed scales of a Q3_K block, already minus 32 */
static void unpack_q3_scales(const uint8_t packed[12], int8_t out[16])
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
		int hi = (packed[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
		out[j] = (int8_t)((lo | (hi << 4)) - 32);
	}
}

static void dq_q4_0(const struct block_q4_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK4_0) {
		float d = ggml_fp16_to_fp32(x[i].d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			y[j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
			y[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void dq_q4_1(const struct block_q4_1 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK4_1) {
		float d = ggml_fp16_to_fp32(x[i].d), m = ggml_fp16_to_fp32(x[i].m);
		for (int j = 0; j < QK4_1 / 2; j++) {
			y[j] = (float)(x[i].qs[j] & 0xF) * d + m;
			y[j + QK4_1 / 2] = (float)(x[i].qs[j] >> 4) * d + m;
		}
	}
}

static void dq_q5_0(const struct block_q5_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK5_0) {
		float d = ggml_fp16_to_fp32(x[i].d);
		uint32_t qh;
		memcpy(&qh, x[i].qh, sizeof qh);
		for (int j = 0; j < QK5_0 / 2; j++) {
			int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
			y[j] = (float)(((x[i].qs[j] & 0xF) | h0) - 16) * d;
			y[j + QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
		}
	}
}

static void dq_q5_1(const struct block_q5_1 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK5_1) {
		float d = ggml_fp16_to_fp32(x[i].d), m = ggml_fp16_to_fp32(x[i].m);
		uint32_t qh;
		memcpy(&qh, x[i].qh, sizeof qh);
		for (int j = 0; j < QK5_1 / 2; j++) {
			int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
			y[j] = (float)((x[i].qs[j] & 0xF) | h0) * d + m;
			y[j + QK5_1 / 2] = (float)((x[i].qs[j] >> 4) | h1) * d + m;
		}
	}
}

static void dq_q8_0(const struct block_q8_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK8_0) {
		float d = ggml_fp16_to_fp32(x[i].d);
		for (int j = 0; j < QK8_0; j++)
			y[j] = (float)x[i].qs[j] * d;
	}
}

/* Q2_K: 2-bit q; byte l of each 32-byte group holds 4 values, 32 apart */
static void dq_q2_K(const struct block_q2_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		float d = ggml_fp16_to_fp32(x[i].d), dmin = ggml_fp16_to_fp32(x[i].dmin);
		const uint8_t *q = x[i].qs;
		int is = 0;
		for (int n = 0; n < QK_K; n += 128, q += 32) {
			for (int shift = 0; shift < 8; shift += 2) {
				for (int half = 0; half < 2; half++) {
					uint8_t sc = x[i].scales[is++];
					float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
					for (int l = 0; l < 16; l++)
						*y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
				}
			}
		}
	}
}

/* Q3_K: 2 low bits as Q2_K, the third bit in hmask (set = no -4) */
static void dq_q3_K(const struct block_q3_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		float d = ggml_fp16_to_fp32(x[i].d);
		const uint8_t *q = x[i].qs, *hm = x[i].hmask;
		int8_t sc[16];
		uint8_t m = 1;
		int is = 0;
		unpack_q3_scales(x[i].scales, sc);
		for (int n = 0; n < QK_K; n += 128, q += 32) {
			for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
				for (int half = 0; half < 2; half++) {
					float dl = d * (float)sc[is++];
					for (int l = 16 * half; l < 16 * half + 16; l++)
						*y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
				}
			}
		}
	}
}

static void dq_q4_K(const struct block_q4_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		float d = ggml_fp16_to_fp32(x[i].d), dmin = ggml_fp16_to_fp32(x[i].dmin);
		const uint8_t *q = x[i].qs;
		for (int is = 0; is < 8; is += 2, q += 32) {
			uint8_t sc, m;
			k_scale_min(is, x[i].scales, &sc, &m);
			float d1 = d * sc, m1 = dmin * m;
			k_scale_min(is + 1, x[i].scales, &sc, &m);
			float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)(q[l] & 0xF) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)(q[l] >> 4) - m2;
		}
	}
}

static void dq_q5_K(const struct block_q5_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		float d = ggml_fp16_to_fp32(x[i].d), dmin = ggml_fp16_to_fp32(x[i].dmin);
		const uint8_t *ql = x[i].qs, *qh = x[i].qh;
		uint8_t u1 = 1, u2 = 2;
		for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
			uint8_t sc, m;
			k_scale_min(is, x[i].scales, &sc, &m);
			float d1 = d * sc, m1 = dmin * m;
			k_scale_min(is + 1, x[i].scales, &sc, &m);
			float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
		}
	}
}

/* Q6_K: 4 low bits in ql, 2 high bits in qh, each group of 128 in 4 runs of 32 */
static void dq_q6_K(const struct block_q6_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		float d = ggml_fp16_to_fp32(x[i].d);
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales;
		for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				y[l] = d * (float)sc[is] * (float)q1;
				y[l + 32] = d * (float)sc[is + 2] * (float)q2;
				y[l + 64] = d * (float)sc[is + 4] * (float)q3;
				y[l + 96] = d * (float)sc[is + 6] * (float)q4;
			}
		}
	}
}

static void dq_q8_K(const struct block_q8_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK_K)
		for (int j = 0; j < QK_K; j++)
			y[j] = x[i].d * (float)x[i].qs[j];
}

/* ref_dequant_row - n elements of type at src into dst */
int ref_dequant_row(enum ggml_type type, const void *src, float *dst, int64_t n)
{
	const uint8_t *b = src;

	switch (type) {
	case GGML_TYPE_F32:
		memcpy(dst, src, (size_t)n * sizeof(float));
		return 0;
	case GGML_TYPE_F16:
		for (int64_t i = 0; i < n; i++) {
			ggml_half h;
			memcpy(&h, b + 2 * i, 2);
			dst[i] = ggml_fp16_to_fp32(h);
		}
		return 0;
	case GGML_TYPE_BF16:
		for (int64_t i = 0; i < n; i++) {
			ggml_bf16 h;
			memcpy(&h, b + 2 * i, 2);
			dst[i] = ggml_bf16_to_fp32(h);
		}
		return 0;
	case GGML_TYPE_Q4_0: dq_q4_0(src, dst, n / QK4_0); return 0;
	case GGML_TYPE_Q4_1: dq_q4_1(src, dst, n / QK4_1); return 0;
	case GGML_TYPE_Q5_0: dq_q5_0(src, dst, n / QK5_0); return 0;
	case GGML_TYPE_Q5_1: dq_q5_1(src, dst, n / QK5_1); return 0;
	case GGML_TYPE_Q8_0: dq_q8_0(src, dst, n / QK8_0); return 0;
	case GGML_TYPE_Q2_K: dq_q2_K(src, dst, n / QK_K); return 0;
	case GGML_TYPE_Q3_K: dq_q3_K(src, dst, n / QK_K); return 0;
	case GGML_TYPE_Q4_K: dq_q4_K(src, dst, n / QK_K); return 0;
	case GGML_TYPE_Q5_K: dq_q5_K(src, dst, n / QK_K); return 0;
	case GGML_TYPE_Q6_K: dq_q6_K(src, dst, n / QK_K); return 0;
	case GGML_TYPE_Q8_K: dq_q8_K(src, dst, n / QK_K); return 0;
	default:
		return DK_EUNSUPPORTED;
	}
}
