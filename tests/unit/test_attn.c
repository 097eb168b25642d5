/*
 * test_attn - the attention-side kernel entries of the fastest table
 * (engine/kernels/avx512/attn_avx512.c) against the reference: F16 stores
 * bitwise (ties, subnormals, overflow, tails), SwiGLU within float
 * rounding, and attention (the query heads of one KV head) against a
 * double-precision evaluation of the same F16-rounded recipe, over head
 * dims with tails, group sizes beyond the kernel's row block, sliding
 * windows, softcap and strided cache rows. Each head computed alone must
 * give the same bits as within its group (the basis of determinism).
 */
#include <math.h>

#include "engine/ggml_types.h"
#include "engine/kernels/kernels.h"
#include "tests/test.h"

static uint32_t rng = 7;

static float rndf(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((rng >> 8) % 20001) / 10000.0f - 1.0f;
}

static void test_f32_to_f16(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	static const float special[] = { 0.0f, -0.0f, 65504.0f, 65520.0f, -70000.0f, 1e-8f, -3e-6f,
					 1.0f + 0x1p-11f, 1.0f + 0x1p-11f + 0x1p-23f, 2049.0f, INFINITY,
					 -INFINITY, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f };
	float x[100];
	ggml_half a[100], b[100];

	for (int i = 0; i < 100; i++)
		x[i] = i < (int)(sizeof special / sizeof special[0]) ? special[i] : rndf() * 300.0f;
	for (int64_t n = 1; n <= 100; n += 11) {
		memset(a, 0xaa, sizeof a);
		memset(b, 0xaa, sizeof b);
		ref->f32_to_f16(n, x, a);
		fast->f32_to_f16(n, x, b);
		CHECKF(memcmp(a, b, sizeof a) == 0, "f32_to_f16 n=%lld: %s differs from ref (or wrote past n)",
		       (long long)n, fast->name);
	}
}

static void test_swiglu(void)
{
	const struct eng_kernels *ref = eng_kernels_select(1), *fast = eng_kernels_select(0);
	float g[67], u[67], a[67], b[67];

	for (int i = 0; i < 67; i++) {
		g[i] = i == 0 ? -120.0f : i == 1 ? 120.0f : i == 2 ? 0.0f : rndf() * 30.0f;
		u[i] = rndf() * 4.0f;
	}
	for (int64_t n = 1; n <= 67; n += 33) {
		ref->swiglu(n, g, u, a);
		memcpy(b, u, sizeof b);
		fast->swiglu(n, g, b, b);	/* in place: out == u */
		for (int64_t i = 0; i < n; i++)
			CHECKF(fabsf(a[i] - b[i]) <= 4e-7f * fabsf(a[i]) + 1e-30f,
			       "swiglu g=%g u=%g: ref %.9g, %s %.9g", g[i], u[i], a[i], fast->name, b[i]);
	}
}

enum { MAXD = 128, MAXP = 48, MAXQ = 11 };

/* attn_double - row r of struct eng_attn in double over F16-rounded q
 * and probabilities */
static void attn_double(const struct eng_attn *a, int r, double *out)
{
	const float *q = a->q + (size_t)r * a->D;
	double s[MAXP], max = -INFINITY, sum = 0.0;

	for (int32_t j = a->j0; j <= a->p; j++) {
		double d = 0.0;
		for (int64_t i = 0; i < a->D; i++)
			d += (double)ggml_fp16_to_fp32(ggml_fp32_to_fp16(q[i])) *
			     ggml_fp16_to_fp32(a->k[(size_t)j * a->kv_stride + (size_t)i]);
		d *= a->scale;
		if (a->softcap > 0.0f)
			d = a->softcap * tanh(d / a->softcap);
		s[j] = d;
		max = fmax(max, d);
	}
	for (int32_t j = a->j0; j <= a->p; j++)
		sum += (s[j] = exp(s[j] - max));
	for (int64_t i = 0; i < a->D; i++)
		out[i] = 0.0;
	for (int32_t j = a->j0; j <= a->p; j++) {
		double pj = ggml_fp16_to_fp32(ggml_fp32_to_fp16((float)(s[j] / sum)));
		for (int64_t i = 0; i < a->D; i++)
			out[i] += pj * ggml_fp16_to_fp32(a->v[(size_t)j * a->kv_stride + (size_t)i]);
	}
}

/* attn_case - one shape, nq heads; 0 if the kernel strays from the double
 * recipe or a head alone differs from the same head in the group */
static int attn_case(const struct eng_kernels *fast, int64_t D, int nq, int32_t j0, int32_t p,
		     float softcap)
{
	static ggml_half k[MAXP * (2 * MAXD + 16)], v[MAXP * (2 * MAXD + 16)];
	static float q[MAXQ * MAXD], att[MAXQ * MAXP], qf[MAXQ * MAXD], out[MAXQ * MAXD], one[MAXD];
	double want[MAXD];
	size_t stride = (size_t)(2 * D + 16);	/* other heads' halves in between */

	for (size_t i = 0; i < (size_t)(p + 1) * stride; i++) {
		k[i] = ggml_fp32_to_fp16(rndf() * 2.0f);
		v[i] = ggml_fp32_to_fp16(rndf());
	}
	for (int64_t i = 0; i < nq * D; i++)
		q[i] = rndf() * 2.0f;
	struct eng_attn a = { D, nq, q, k, v, stride, j0, p, 1.0f / sqrtf((float)D), softcap,
			      att, MAXP, qf, out };
	fast->attn(&a);
	for (int r = 0; r < nq; r++) {
		struct eng_attn a1 = a;
		a1.nq = 1;
		a1.q = q + (size_t)r * D;
		a1.out = one;
		fast->attn(&a1);
		attn_double(&a, r, want);
		for (int64_t i = 0; i < D; i++) {
			float o = out[(size_t)r * D + (size_t)i];
			if (fabs(o - want[i]) > 2e-3 || memcmp(&o, &one[i], sizeof o) != 0) {
				printf("attn D=%lld nq=%d j0=%d p=%d softcap=%g: head %d out[%lld] %.7g, "
				       "double %.7g, alone %.7g\n", (long long)D, nq, j0, p, softcap, r,
				       (long long)i, o, want[i], one[i]);
				return 0;
			}
		}
	}
	return 1;
}

static void test_attn(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int64_t dims[] = { 8, 64, 80, 128 };
	static const int nqs[] = { 1, 3, 7, 11 };
	static const int32_t ps[] = { 0, 1, 16, 17, 47 };
	int ok = 1;

	if (fast->attn == NULL)
		SKIP("table %s has no attention kernel", fast->name);
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
		for (size_t g = 0; g < sizeof nqs / sizeof nqs[0]; g++)
			for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
				ok &= attn_case(fast, dims[d], nqs[g], 0, ps[i], 0.0f);
				ok &= attn_case(fast, dims[d], nqs[g], ps[i] / 2, ps[i], 0.0f);	/* window */
				ok &= attn_case(fast, dims[d], nqs[g], 0, ps[i], 1.5f);
			}
	CHECKF(ok, "%s attention strays from the double-precision recipe (see above)", fast->name);
}

int main(void)
{
	RUN(test_f32_to_f16);
	RUN(test_swiglu);
	RUN(test_attn);
	return TEST_END();
}
