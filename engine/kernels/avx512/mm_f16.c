/*
 * NAME
 *	mm_f16 - AVX-512 matrix tiles for F16 and BF16 weights
 * DESIGN NOTES
 *	1. Activations are rounded through F16 (BF16) as the reference does
 *	   (ggml's dots take activations of the weight's type) but kept as
 *	   floats, so the inner loop converts only weights.
 *	2. One fixed chain per output (row r, token t): a 16-lane float
 *	   accumulator, acc = fma(w[i..i+16), a[i..i+16), acc) for i = 0, 16,
 *	   ... (a masked last step for a tail), then _mm512_reduce_add_ps and
 *	   + bias. A register tile of R rows x T tokens runs R x T such chains
 *	   side by side: each weight vector is converted once for T tokens,
 *	   each activation vector loaded once for R rows. Results do not
 *	   depend on R, T, n_tok or the thread (tests/unit/test_kernels.c).
 *	3. Fewer than 6 tokens go row by row (R = 1), each row once per
 *	   token: the matrix is then one sequential stream, which the hardware
 *	   prefetcher follows best (4 rows side by side made generation 1.8x
 *	   slower; 2 or 4 rows with software prefetch still lost up to 3072
 *	   elements a row). Rows of FEW_MIN_N elements or more, where the one
 *	   fma chain per row became the limit (n 4864: 17 GB/s from DRAM on
 *	   one core), go 4 at a time for all tokens at once with the next 4
 *	   rows prefetched (T1): 24 GB/s.
 *	4. OpenBLAS is measured against this tile case by case by make
 *	   bench-blas (tests/tools/blasbench.c, note 5 there): its sgemm
 *	   loses below 512 tokens (F16 weights), and its sums for one token differ from
 *	   those for many (gemv; sgemm in some shapes), which would break the
 *	   bitwise rule of kernels.h between generation and prompt
 *	   processing: not used.
 */
#include "engine/kernels/kernels.h"
#include "engine/kernels/avx512/tile16.h"

static size_t act_bytes(int64_t n)
{
	return (size_t)n * sizeof(float);
}

/* quantize_f16 - round to F16 and back (note 1): ggml_fp32_to_fp16 is
 * round to nearest even, as vcvtps2ph */
static void quantize_f16(const float *x, void *dst, int64_t n)
{
	float *y = dst;
	int64_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i),
									_MM_FROUND_TO_NEAREST_INT)));
	for (; i < n; i++)
		y[i] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(x[i]));
}

/* quantize_bf16 - round to BF16 and back with the reference's function
 * (vcvtneps2bf16 would flush denormals) */
static void quantize_bf16(const float *x, void *dst, int64_t n)
{
	float *y = dst;

	for (int64_t i = 0; i < n; i++)
		y[i] = ggml_bf16_to_fp32(ggml_fp32_to_bf16(x[i]));
}

/* load16 - 16 weights from p as floats (masked: m) */
static inline __m512 load16(const int BF, const uint8_t *p, __mmask16 m)
{
	__m256i h = _mm256_maskz_loadu_epi16(m, p);

	if (BF)
		return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	return _mm512_cvtph_ps(h);
}

/* run - R rows from w, T tokens from a: out[t * os + r] (note 2); PF:
 * prefetch the same bytes of the next R rows (note 3) */
static inline __attribute__((always_inline)) void
run(const int BF, const int PF, const int R, const int T, int64_t n, const uint8_t *w, size_t rb, const float *a,
    size_t as, float *out, size_t os, const float *bias)
{
	__m512 acc[4][6];
	int64_t i = 0;

	UNROLL for (int r = 0; r < R; r++)
		UNROLL for (int t = 0; t < T; t++)
			acc[r][t] = _mm512_setzero_ps();
	for (; i + 16 <= n; i += 16) {
		__m512 x[4];
		if (PF && !(i & 31))
			UNROLL for (int r = 0; r < R; r++)
				_mm_prefetch((const char *)w + (R + r) * rb + 2 * i, _MM_HINT_T1);
		UNROLL for (int r = 0; r < R; r++)
			x[r] = load16(BF, w + r * rb + 2 * i, 0xFFFF);
		UNROLL for (int t = 0; t < T; t++) {
			__m512 y = _mm512_loadu_ps(a + t * as + i);
			UNROLL for (int r = 0; r < R; r++)
				acc[r][t] = _mm512_fmadd_ps(x[r], y, acc[r][t]);
		}
	}
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		UNROLL for (int r = 0; r < R; r++) {
			__m512 x = load16(BF, w + r * rb + 2 * i, m);
			UNROLL for (int t = 0; t < T; t++)
				acc[r][t] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, a + t * as + i), acc[r][t]);
		}
	}
	UNROLL for (int r = 0; r < R; r++)
		UNROLL for (int t = 0; t < T; t++)
			out[t * os + r] = _mm512_reduce_add_ps(acc[r][t]) + (bias ? bias[r] : 0.0f);
}

/* rows of at least this many elements go 4 at a time below 6 tokens (note 3) */
#define FEW_MIN_N 4096

/* few - 4 rows, fewer than 6 tokens (generation, small batches): every
 * weight read once for all tokens, the next 4 rows prefetched (note 3) */
static inline void few(const int BF, int64_t n, const uint8_t *w, size_t rb, const float *a, size_t af,
		       uint32_t n_tok, float *out, size_t os, const float *bias)
{
	switch (n_tok) {
	case 1: run(BF, 1, 4, 1, n, w, rb, a, af, out, os, bias); break;
	case 2: run(BF, 1, 4, 2, n, w, rb, a, af, out, os, bias); break;
	case 3: run(BF, 1, 4, 3, n, w, rb, a, af, out, os, bias); break;
	case 4: run(BF, 1, 4, 4, n, w, rb, a, af, out, os, bias); break;
	default: run(BF, 1, 4, 5, n, w, rb, a, af, out, os, bias); break;
	}
}

static inline void tile(const int BF, int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
		     uint32_t n_tok, float *out, size_t os, const float *bias)
{
	const float *a = act;
	size_t af = as / sizeof(float);
	int r = 0;

	for (; r + 4 <= nr && n_tok >= 6; r += 4) {
		const float *b = bias ? bias + r : NULL;
		uint32_t t = 0;
		for (; t + 6 <= n_tok; t += 6)
			run(BF, 0, 4, 6, n, w + r * rb, rb, a + t * af, af, out + t * os + r, os, b);
		for (; t < n_tok; t++)
			run(BF, 0, 4, 1, n, w + r * rb, rb, a + t * af, af, out + t * os + r, os, b);
	}
	for (; r + 4 <= nr && n >= FEW_MIN_N; r += 4)
		few(BF, n, w + r * rb, rb, a, af, n_tok, out + r, os, bias ? bias + r : NULL);
	for (; r < nr; r++)
		for (uint32_t t = 0; t < n_tok; t++)
			run(BF, 0, 1, 1, n, w + r * rb, rb, a + t * af, af, out + t * os + r, os,
			    bias ? bias + r : NULL);
}

static void tile_f16(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
		     uint32_t n_tok, float *out, size_t os, const float *bias)
{
	tile(0, n, w, rb, nr, act, as, n_tok, out, os, bias);
}

static void tile_bf16(int64_t n, const uint8_t *w, size_t rb, int nr, const void *act, size_t as,
		      uint32_t n_tok, float *out, size_t os, const float *bias)
{
	tile(1, n, w, rb, nr, act, as, n_tok, out, os, bias);
}

/* eng_kernels_mm_f16_fill - the F16 and BF16 tiles */
void eng_kernels_mm_f16_fill(struct eng_kernels *k)
{
	k->mm[GGML_TYPE_F16] = (struct eng_mm){ act_bytes, quantize_f16, tile_f16 };
	k->mm[GGML_TYPE_BF16] = (struct eng_mm){ act_bytes, quantize_bf16, tile_bf16 };
}
