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
 *	struct acts walks the activation rows.
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

/* UNROLL - fully unroll the small fixed loops over tokens, columns and
 * row pairs, so their vectors live in registers (gcc left them in memory) */
#define UNROLL _Pragma("GCC unroll 16")

/* transpose8 - z[p] = [row p dwords 0..7 | row p+8 dwords 0..7] into
 * o[k] = [dword k of rows 0..7 | dword k of rows 8..15] */
static inline void transpose8(const __m512i z[8], __m512i *o)
{
	__m512i t[8], u[8];

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

#endif
