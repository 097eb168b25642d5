/*
 * NAME
 *	attn_avx512 - AVX-512 attention, SwiGLU gate and F16 stores
 * DESIGN NOTES
 *	1. attn() is one token's query heads of one KV head. Q is rounded to
 *	   F16 once (into qf) and widened back: F16 times F16 is exact in
 *	   float, so each score is
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
 *	5. The query heads sharing a KV head (GQA) go through together, up to
 *	   MAX_ROWS at a time: each K and V row is widened from F16 once for
 *	   all of them. Row r's chain of operations is the same whatever the
 *	   other rows, so grouping never changes a result.
 *	6. Each score is a chain of dependent FMAs over the head and each
 *	   output element one over the positions, so one chain at a time
 *	   waits on FMA latency. With few rows, several positions' score
 *	   chains (P) and several chunks' output chains (C) go side by side;
 *	   every chain keeps its own order of operations, so the results are
 *	   bitwise those of one chain at a time.
 */
#include <immintrin.h>
#include <math.h>

#include "engine/kernels/kernels.h"

#define MAX_ROWS 8	/* note 5: accumulators stay within the 32 registers */
#define UNROLL _Pragma("GCC unroll 16")	/* constant trip counts: arrays in registers */

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

/* chunk_mask - lanes of the 16-lane chunk at d of a head of D (none past D) */
static inline __mmask16 chunk_mask(int64_t D, int64_t d)
{
	return d >= D ? (__mmask16)0 : tail_mask(D - d);
}

/* score_pos - att[r][j..j+P) for NR rows from r0: each K row widened once
 * for all NR rows, P positions' chains interleaved (note 6) */
static inline __attribute__((always_inline)) void
score_pos(const struct eng_attn *a, int r0, const int NR, int32_t j, const int P, float *max)
{
	int64_t D = a->D;
	const float *qf = a->qf + (size_t)r0 * D;
	__m512 acc[2 * MAX_ROWS];

	UNROLL for (int i = 0; i < P * NR; i++)
		acc[i] = _mm512_setzero_ps();
	for (int64_t d = 0; d < D; d += 16) {
		__mmask16 m = tail_mask(D - d);
		__m512 kv[8];
		UNROLL for (int p = 0; p < P; p++)
			kv[p] = load_f16(m, a->k + (size_t)(j + p) * a->kv_stride + d);
		UNROLL for (int r = 0; r < NR; r++) {
			__m512 q = _mm512_maskz_loadu_ps(m, qf + (size_t)r * D + d);
			UNROLL for (int p = 0; p < P; p++)
				acc[r * P + p] = _mm512_fmadd_ps(q, kv[p], acc[r * P + p]);
		}
	}
	UNROLL for (int r = 0; r < NR; r++)
		UNROLL for (int p = 0; p < P; p++) {
			float sc = _mm512_reduce_add_ps(acc[r * P + p]) * a->scale;
			if (a->softcap > 0.0f)
				sc = a->softcap * tanhf(sc / a->softcap);
			a->att[(size_t)(r0 + r) * a->att_stride + (size_t)(j + p)] = sc;
			max[r] = sc > max[r] ? sc : max[r];
		}
}

/* scores - att[r][j] for NR rows from r0 over j0..p (notes 5, 6); always
 * inlined so that the accumulators live in registers */
static inline __attribute__((always_inline)) void
scores(const struct eng_attn *a, int r0, const int NR, float *max)
{
	const int P = NR <= 2 ? 8 : NR <= 4 ? 4 : 2;	/* P * NR <= 2 MAX_ROWS */
	int32_t j = a->j0;

	for (; j + P - 1 <= a->p; j += P)
		score_pos(a, r0, NR, j, P, max);
	for (; j <= a->p; j++)
		score_pos(a, r0, NR, j, 1, max);
}

/* vsum - out[r] = sum over j of att[r][j] V[j], each V row widened once
 * for all NR rows, C 16-lane chunks of every out row held in registers
 * across all positions (notes 2, 6) */
static inline __attribute__((always_inline)) void
vsum(const struct eng_attn *a, int r0, const int NR)
{
	int64_t D = a->D;
	const float *att = a->att + (size_t)r0 * a->att_stride;
	const int C = NR <= 2 ? 8 : NR <= 4 ? 4 : 2;	/* C * NR <= 2 MAX_ROWS */

	for (int64_t d = 0; d < D; d += 16 * C) {
		__mmask16 m[8];
		__m512 acc[2 * MAX_ROWS];
		UNROLL for (int c = 0; c < C; c++)
			m[c] = chunk_mask(D, d + 16 * c);
		UNROLL for (int i = 0; i < C * NR; i++)
			acc[i] = _mm512_setzero_ps();
		for (int32_t j = a->j0; j <= a->p; j++) {
			const ggml_half *v = a->v + (size_t)j * a->kv_stride + d;
			__m512 vv[8];
			UNROLL for (int c = 0; c < C; c++)
				vv[c] = load_f16(m[c], v + 16 * c);
			UNROLL for (int r = 0; r < NR; r++) {
				__m512 w = _mm512_set1_ps(att[(size_t)r * a->att_stride + (size_t)j]);
				UNROLL for (int c = 0; c < C; c++)
					acc[r * C + c] = _mm512_fmadd_ps(w, vv[c], acc[r * C + c]);
			}
		}
		UNROLL for (int r = 0; r < NR; r++)
			UNROLL for (int c = 0; c < C; c++)
				_mm512_mask_storeu_ps(a->out + (size_t)(r0 + r) * D + d + 16 * c, m[c],
						      acc[r * C + c]);
	}
}

static inline __attribute__((always_inline)) void rows(const struct eng_attn *a, int r0, const int NR)
{
	float max[MAX_ROWS];

	for (int r = 0; r < NR; r++)
		max[r] = -INFINITY;
	scores(a, r0, NR, max);
	for (int r = 0; r < NR; r++)
		softmax16(a->att + (size_t)(r0 + r) * a->att_stride, a->j0, a->p, max[r]);
	vsum(a, r0, NR);
}

/* attn - see struct eng_attn; rows in groups of up to MAX_ROWS (notes 1, 2, 5) */
static void attn(const struct eng_attn *a)
{
	int64_t D = a->D;

	for (int r = 0; r < a->nq; r++)
		for (int64_t d = 0; d < D; d += 16) {
			__mmask16 m = tail_mask(D - d);
			__m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, a->q + (size_t)r * D + d),
						    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
			_mm512_mask_storeu_ps(a->qf + (size_t)r * D + d, m, _mm512_cvtph_ps(h));
		}
	for (int r0 = 0; r0 < a->nq; r0 += MAX_ROWS) {
		switch (a->nq - r0 < MAX_ROWS ? a->nq - r0 : MAX_ROWS) {
		case 1: rows(a, r0, 1); break;
		case 2: rows(a, r0, 2); break;
		case 3: rows(a, r0, 3); break;
		case 4: rows(a, r0, 4); break;
		case 5: rows(a, r0, 5); break;
		case 6: rows(a, r0, 6); break;
		case 7: rows(a, r0, 7); break;
		default: rows(a, r0, 8); break;
		}
	}
}

void eng_kernels_attn_avx512_fill(struct eng_kernels *k)
{
	k->swiglu = swiglu;
	k->f32_to_f16 = f32_to_f16;
	k->attn = attn;
}
