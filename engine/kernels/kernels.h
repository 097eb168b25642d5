/*
 * NAME
 *	kernels - the dot-product table the forward pass uses, chosen once
 * SUMMARY
 *	eng_kernels_select(want_ref) returns the table for this CPU: the
 *	scalar reference (engine/ref) or, with AVX2+FMA+F16C, the AVX2 dots
 *	for the common weight types (others keep the reference), plus with
 *	AVX-512 F/BW/VL/VNNI the matrix tiles (struct eng_mm). Every entry
 *	takes the same activation layout as the reference (vec_dot_type), so
 *	the choice changes the summation order only. A kernel may differ from
 *	the reference within rounding, never between thread counts: each
 *	dot product is one fixed-order computation.
 * LIFETIME
 *	Tables are static.
 * THREADS
 *	Safe.
 */
#ifndef ENGINE_KERNELS_H
#define ENGINE_KERNELS_H

#include "engine/ggml_types.h"
#include "engine/ref/quants.h"

/* eng_vec_dot4_fn - out[j] = vec_dot(n, w, a + j * a_stride) for j < 4,
 * bitwise: one weight row decoded once for 4 activation rows */
typedef void (*eng_vec_dot4_fn)(int64_t n, const void *w, const void *a, size_t a_stride,
				float out[4]);

/* struct eng_mm - a weight type's matrix tile (engine/kernels/avx512):
 * activations in the kernel's own layout (act_bytes(n) per row, written by
 * quantize), then tile() sets out[t * out_stride + j] = W[j] . act(t)
 * (+ bias[j]) for rows j < nr <= 16 of w and tokens t < n_tok. Each output
 * is one fixed sequence of float operations whatever n_tok, nr and the
 * other rows of the tile: batching and threads never change a logit */
typedef void (*eng_tile_fn)(int64_t n, const uint8_t *w, size_t row_bytes, int nr, const void *act,
			    size_t act_stride, uint32_t n_tok, float *out, size_t out_stride,
			    const float *bias);

struct eng_mm {
	size_t (*act_bytes)(int64_t n);
	void (*quantize)(const float *x, void *dst, int64_t n);
	eng_tile_fn tile;
};

/* ENG_ATTN_TOKENS - most tokens, in all its runs, the forward pass gives
 * one attn call (engine/ctx.c sizes the att and qf scratch for it) */
#define ENG_ATTN_TOKENS 32

/* struct eng_attn - attention for nt tokens of one sequence at consecutive
 * positions p .. p + nt - 1, nq query heads each, that share a KV head.
 * Row r = t * nq + h (token t, head h) sees positions lo(t) <= j <= p + t
 * (eng_attn_lo) and gets out[r] = softmax(scale * q[r].K[j]) . V, with Q
 * and the probabilities rounded to F16 as llama.cpp does
 * (engine/ref/forward.c note 4). Row r's result does not depend on nt, nq
 * or the other rows. Positions below seg[n_seg - 1].end are another
 * sequence's cells (engine/ctx.c note 4): position j is read at seg[i].k
 * and seg[i].v + j * kv_stride for the first i with j < seg[i].end; the
 * rest at k and v. The result is the same bits as from one contiguous
 * copy: a row's operations run over the same values in the same order.
 * A call takes n such runs (up to ENG_ATTN_TOKENS tokens in all, one
 * layer's KV head: the same D, nq, kv_stride, window, scale, softcap and
 * att_stride; their own q, out, cells, scratch) so that runs reading the
 * same cells read them once for all (attn_avx512.c note 12); every row's
 * result is still what its run alone would give */
struct eng_attn_seg {
	int32_t end;			/* one past the last position of the range */
	const ggml_half *k, *v;		/* position 0 of the owner's cache rows */
};

struct eng_attn {
	int64_t D;			/* head_dim */
	int nq;				/* heads per token */
	int nt;				/* tokens */
	const float *q;			/* row (t, h) at q + t * tok_stride + h * D */
	size_t tok_stride;		/* floats between tokens in q and out */
	const ggml_half *k, *v;		/* position 0 of this KV head's cache rows */
	size_t kv_stride;		/* halves between positions */
	const struct eng_attn_seg *seg;	/* (n_seg) shared ranges, ascending ends */
	int n_seg;
	int32_t j0, p;			/* first position any row sees; token 0's position */
	int32_t window;			/* > 0: token t sees no more than its last window positions */
	float scale, softcap;		/* softcap 0: none */
	float *att;			/* scratch (nt * nq, att_stride), att_stride >= p + nt */
	size_t att_stride;
	float *qf;			/* scratch (nt * nq, D) */
	float *out;			/* row (t, h) at out + t * tok_stride + h * D */
};

/* eng_attn_lo - first position token t of a sees: max(j0, p + t - window + 1) */
static inline int32_t eng_attn_lo(const struct eng_attn *a, int t)
{
	int32_t lo = a->window > 0 ? a->p + t - a->window + 1 : a->j0;

	return lo > a->j0 ? lo : a->j0;
}

/* eng_attn_part - set *k, *v to the cells position j is read from;
 * returns one past the last position read from there */
static inline int32_t eng_attn_part(const struct eng_attn *a, int32_t j, const ggml_half **k,
				    const ggml_half **v)
{
	for (int i = 0; i < a->n_seg; i++)
		if (j < a->seg[i].end) {
			*k = a->seg[i].k;
			*v = a->seg[i].v;
			return a->seg[i].end;
		}
	*k = a->k;
	*v = a->v;
	return INT32_MAX;
}

struct eng_kernels {
	const char *name;	/* "ref", "avx2", "avx512" */
	ref_vec_dot_fn vec_dot[GGML_TYPE_COUNT];
	eng_vec_dot4_fn vec_dot4[GGML_TYPE_COUNT];	/* NULL: 4 vec_dot calls */
	struct eng_mm mm[GGML_TYPE_COUNT];	/* tile NULL: vec_dot per row */
	/* the type's tile for a full 16-row tile in the tile layout
	 * (engine/wpack.c), same activations as mm[type]; NULL: the type's
	 * weights stay as in the file */
	eng_tile_fn mm_packed[GGML_TYPE_COUNT];
	/* y[i] += x[i] * w, bitwise as ref_axpy_f16 */
	void (*axpy_f16)(int64_t n, float w, const ggml_half *x, float *y);
	/* out[i] = silu(g[i]) * u[i]; out may be u */
	void (*swiglu)(int64_t n, const float *g, const float *u, float *out);
	/* out[i] = u[i] * gelu(g[i]), bitwise as ref_geglu (engine/ref/elem.h); out may be u */
	void (*geglu)(int64_t n, const float *g, const float *u, float *out);
	/* rows of n values to x / rms(x) * w, bitwise as ref_rmsnorm (engine/ref/elem.h) */
	void (*rmsnorm)(int64_t n, int rows, const float *x, size_t xs, const float *w, float *o,
			size_t os, float eps);
	/* y[i] = x[i] in F16, bitwise as ggml_fp32_to_fp16 */
	void (*f32_to_f16)(int64_t n, const float *x, ggml_half *y);
	/* the heads of n runs of tokens that share a KV head (struct
	 * eng_attn a[0..n)), one fixed order of operations per row; NULL: the
	 * forward pass's own loop over vec_dot and axpy_f16 */
	void (*attn)(const struct eng_attn *a, int n);
};

const struct eng_kernels *eng_kernels_select(int want_ref);

/* eng_kernels_avx2_fill - engine/kernels/avx2: replace the entries it has */
void eng_kernels_avx2_fill(struct eng_kernels *k);
/* eng_kernels_q23_avx2_fill - engine/kernels/avx2: the Q2_K and Q3_K dots */
void eng_kernels_q23_avx2_fill(struct eng_kernels *k);

/* eng_kernels_mm_*_fill - engine/kernels/avx512 (F, BW, VL, VNNI): tiles */
void eng_kernels_mm_q8_0_fill(struct eng_kernels *k);
void eng_kernels_mm_k_fill(struct eng_kernels *k);
void eng_kernels_mm_f16_fill(struct eng_kernels *k);
void eng_kernels_mm_q23_fill(struct eng_kernels *k);

/* eng_kernels_attn_avx512_fill - engine/kernels/avx512 (F, BW, VL, F16C):
 * swiglu, f32_to_f16, attn */
void eng_kernels_attn_avx512_fill(struct eng_kernels *k);

/* eng_kernels_elem_avx512_fill - engine/kernels/avx512 (F, BW, VL, F16C): geglu, rmsnorm */
void eng_kernels_elem_avx512_fill(struct eng_kernels *k);

#endif
