/*
 * test_attn - the attention-side kernel entries of the fastest table
 * (engine/kernels/avx512/attn_avx512.c) against the reference: F16 stores
 * bitwise (ties, subnormals, overflow, tails), SwiGLU within float
 * rounding, and one (token, head) of attention against a double-precision
 * evaluation of the same F16-rounded recipe, over head dims with tails,
 * sliding windows, softcap and strided cache rows; the same call into
 * other scratch must give the same bits (no hidden state).
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

enum { MAXD = 128, MAXP = 48 };

/* attn_double - the recipe of struct eng_attn in double over F16-rounded q
 * and probabilities */
static void attn_double(const struct eng_attn *a, double *out)
{
	double s[MAXP], max = -INFINITY, sum = 0.0;

	for (int32_t j = a->j0; j <= a->p; j++) {
		double d = 0.0;
		for (int64_t i = 0; i < a->D; i++)
			d += (double)ggml_fp16_to_fp32(ggml_fp32_to_fp16(a->q[i])) *
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

/* attn_case - one shape; 0 if the kernel strays or is not repeatable */
static int attn_case(const struct eng_kernels *fast, int64_t D, int32_t j0, int32_t p, float softcap)
{
	static ggml_half k[MAXP * (2 * MAXD + 16)], v[MAXP * (2 * MAXD + 16)], q16[MAXD];
	float q[MAXD], att[MAXP], out[MAXD], out2[MAXD];
	double want[MAXD];
	size_t stride = (size_t)(2 * D + 16);	/* other heads' halves in between */

	for (size_t i = 0; i < (size_t)(p + 1) * stride; i++) {
		k[i] = ggml_fp32_to_fp16(rndf() * 2.0f);
		v[i] = ggml_fp32_to_fp16(rndf());
	}
	for (int64_t i = 0; i < D; i++)
		q[i] = rndf() * 2.0f;
	struct eng_attn a = { D, q, k, v, stride, j0, p, 1.0f / sqrtf((float)D), softcap, att, q16, out };
	fast->attn(&a);
	attn_double(&a, want);
	a.out = out2;
	fast->attn(&a);
	for (int64_t i = 0; i < D; i++)
		if (fabs(out[i] - want[i]) > 2e-3 || memcmp(&out[i], &out2[i], sizeof(float)) != 0) {
			printf("attn D=%lld j0=%d p=%d softcap=%g: out[%lld] %.7g, double %.7g, again %.7g\n",
			       (long long)D, j0, p, softcap, (long long)i, out[i], want[i], out2[i]);
			return 0;
		}
	return 1;
}

static void test_attn(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int64_t dims[] = { 8, 64, 80, 96, 128 };
	static const int32_t ps[] = { 0, 1, 15, 16, 17, 47 };
	int ok = 1;

	if (fast->attn == NULL)
		SKIP("table %s has no attention kernel", fast->name);
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
		for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
			ok &= attn_case(fast, dims[d], 0, ps[i], 0.0f);
			ok &= attn_case(fast, dims[d], ps[i] / 2, ps[i], 0.0f);	/* sliding window */
			ok &= attn_case(fast, dims[d], 0, ps[i], 1.5f);
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
