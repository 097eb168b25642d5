/*
 * NAME
 *	tile16 - helpers shared by the AVX-512 matrix tiles: 16 weight rows
 *	side by side, one row per 32-bit lane
 * SUMMARY
 *	rows16() points at a tile's rows (a tail tile repeats its last row),
 *	prefetch_next() fetches the next tile's bytes at the same offset (16
 *	interleaved row streams are more than the hardware prefetcher
 *	follows), transpose8() turns row pairs into byte columns, reduce16()
 *	sums row pairs' partial dots into one lane per row (one-token paths),
 *	struct acts walks the activation rows, q8_K() quantizes 256 values
 *	to Q8_K for the K-quant tiles.
 * THREADS
 *	Safe: pure functions.
 */
#ifndef ENGINE_KERNELS_AVX512_TILE16_H
#define ENGINE_KERNELS_AVX512_TILE16_H

#include <immintrin.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/ggml_types.h"

/* UNROLL - fully unroll the small fixed loops over tokens, columns and
 * row pairs, so their vectors live in registers (gcc left them in memory) */
#define UNROLL _Pragma("GCC unroll 16")

/* unpack4x4 - the first two steps of a dword transpose: z[p] holds 8
 * dwords of row p in each 256-bit half; u[k] (k < 4) and u[k + 4] hold
 * dword k and k + 4 of rows 0..3 of each half, 4 dwords a 128-bit unit */
static inline __attribute__((always_inline)) void unpack4x4(const __m512i z[8], __m512i u[8])
{
	__m512i t[8];

	UNROLL for (int p = 0; p < 8; p += 2) {
		t[p] = _mm512_unpacklo_epi32(z[p], z[p + 1]);
		t[p + 1] = _mm512_unpackhi_epi32(z[p], z[p + 1]);
	}
	UNROLL for (int p = 0; p < 8; p += 4) {
		u[p] = _mm512_unpacklo_epi64(t[p], t[p + 2]);
		u[p + 1] = _mm512_unpackhi_epi64(t[p], t[p + 2]);
		u[p + 2] = _mm512_unpacklo_epi64(t[p + 1], t[p + 3]);
		u[p + 3] = _mm512_unpackhi_epi64(t[p + 1], t[p + 3]);
	}
}

/* transpose8 - z[p] = [row p dwords 0..7 | row p+8 dwords 0..7] into
 * o[k] = [dword k of rows 0..7 | dword k of rows 8..15] */
static inline void transpose8(const __m512i z[8], __m512i *o)
{
	__m512i u[8];

	unpack4x4(z, u);
	/* u[k] (rows 0..3) and u[k + 4] (rows 4..7) hold dwords k and k + 4
	 * in their 128-bit units 0/2 and 1/3 */
	const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
	const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
	UNROLL for (int k = 0; k < 4; k++) {
		o[k] = _mm512_permutex2var_epi64(u[k], lo, u[k + 4]);
		o[k + 4] = _mm512_permutex2var_epi64(u[k], hi, u[k + 4]);
	}
}

struct acts {
	const uint8_t *a;	/* row 0 */
	size_t stride;
	int64_t nb;
};

/* rows16 - the 16 rows of a tile and their byte offsets; rows past nr
 * repeat the last one, whose lanes the caller stores under a mask */
static inline __m512i rows16(const uint8_t *w, size_t rb, int nr, const uint8_t *r[16])
{
	alignas(64) int32_t off[16];

	for (int j = 0; j < 16; j++) {
		int jj = j < nr ? j : nr - 1;
		r[j] = w + (size_t)jj * rb;
		off[j] = (int32_t)((size_t)jj * rb);
	}
	return _mm512_load_si512(off);
}

/* prefetch_next - bytes at offset at of the next tile's 16 rows (harmless
 * past the end of the matrix: prefetches never fault) */
static inline void prefetch_next(const uint8_t *const r[16], size_t rb, size_t at)
{
	for (int j = 0; j < 16; j++)
		_mm_prefetch((const char *)r[j] + at + 16 * rb, _MM_HINT_T1);
}

/* reduce16 - acc[p] = 8 partial sums of rows p and p + 8 (halves) into
 * lane j = sum of row j: integer, so the order is free */
static inline __m512i reduce16(const __m512i acc[8])
{
	__m512i s[4], t[2];

	UNROLL for (int p = 0; p < 4; p++)
		s[p] = _mm512_add_epi32(_mm512_unpacklo_epi32(acc[2 * p], acc[2 * p + 1]),
					_mm512_unpackhi_epi32(acc[2 * p], acc[2 * p + 1]));
	UNROLL for (int p = 0; p < 2; p++)
		t[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(s[2 * p], s[2 * p + 1]),
					_mm512_unpackhi_epi64(s[2 * p], s[2 * p + 1]));
	/* t[0]: 128-bit units (rows 0-3 | 0-3 | 8-11 | 8-11) of rows 0..3 and 8..11 */
	const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
	const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
	return _mm512_add_epi32(_mm512_permutex2var_epi64(t[0], lo, t[1]),
				_mm512_permutex2var_epi64(t[0], hi, t[1]));
}

/* ld32, ldf - 4 activation bytes as they were stored (int32 or float) */
static inline int32_t ld32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static inline float ldf(const uint8_t *p)
{
	float v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* q8_K_act_bytes - a Q8_K activation row of n values in the K-quant tiles'
 * layout (mm_k.c, mm_q23.c): per super-block d, 16 block sums, 256 bytes */
static inline size_t q8_K_act_bytes(int64_t n)
{
	return (size_t)(n / QK_K) * (4 + 16 * 4) + (size_t)n;
}

/* q8_K - the reference Q8_K quantization of 256 values, vectorized and
 * bitwise equal (used by mm_k.c and mm_q23.c): max is the first value of largest magnitude, the products
 * x * (-127 / max) round to nearest even, clamped at 127 */
static inline float q8_K(const float *x, int8_t *qs, int16_t bsums[16])
{
	__m512 a = _mm512_setzero_ps();

	for (int j = 0; j < QK_K; j += 16)
		a = _mm512_max_ps(a, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
	float amax = _mm512_reduce_max_ps(a), max = 0.0f;
	if (amax == 0.0f) {
		memset(qs, 0, QK_K);
		memset(bsums, 0, 16 * sizeof *bsums);
		return 0.0f;
	}
	for (int j = 0; j < QK_K; j += 16) {
		__mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + j)),
						   _mm512_set1_ps(amax), _CMP_EQ_OQ);
		if (hit) {
			max = x[j + __builtin_ctz(hit)];
			break;
		}
	}
	float iscale = -127.0f / max;
	for (int j = 0; j < QK_K; j += 16) {
		__m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + j), _mm512_set1_ps(iscale)));
		q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
		bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(q);
		_mm_storeu_si128((__m128i *)(qs + j), _mm512_cvtepi32_epi8(q));
	}
	return 1.0f / iscale;
}

#endif
