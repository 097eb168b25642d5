/*
 * test_attn - the attention-side kernel entries of the fastest table
 * (engine/kernels/avx512/attn_avx512.c) against the reference: F16 stores
 * bitwise (ties, subnormals, overflow, tails), SwiGLU within float
 * rounding, and attention (a run of tokens' query heads of one KV head)
 * against a double-precision evaluation of the same F16-rounded recipe,
 * over head dims with tails, group sizes beyond the kernel's row block,
 * runs across K/V blocks, sliding windows inside the run, softcap and
 * strided rows. Each row computed alone (one token, one head) must give
 * the same bits as within its call (the basis of determinism); so must
 * every row of runs that read shared cells in one call (note 12), also
 * against the run alone over a contiguous copy of its cells.
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

enum { MAXD = 256, MAXP = 160, MAXT = 40, MAXG = 7, MAXR = MAXT * MAXG };

/* attn_double - row (t, h) of struct eng_attn in double over F16-rounded q
 * and probabilities */
static void attn_double(const struct eng_attn *a, int t, int h, double *out)
{
	const float *q = a->q + (size_t)t * a->tok_stride + (size_t)h * (size_t)a->D;
	double s[MAXP], max = -INFINITY, sum = 0.0;
	int32_t lo = eng_attn_lo(a, t), hi = a->p + t;

	for (int32_t j = lo; j <= hi; j++) {
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
	for (int32_t j = lo; j <= hi; j++)
		sum += (s[j] = exp(s[j] - max));
	for (int64_t i = 0; i < a->D; i++)
		out[i] = 0.0;
	for (int32_t j = lo; j <= hi; j++) {
		double pj = ggml_fp16_to_fp32(ggml_fp32_to_fp16((float)(s[j] / sum)));
		for (int64_t i = 0; i < a->D; i++)
			out[i] += pj * ggml_fp16_to_fp32(a->v[(size_t)j * a->kv_stride + (size_t)i]);
	}
}

/* struct shape - one attention call: nt tokens from position p, nq heads */
struct shape {
	int64_t D;
	int nq, nt;
	int32_t j0, p, window;
	float softcap;
};

/* attn_case - one shape; 0 if the kernel strays from the double recipe or
 * a row computed alone (one token, one head) differs in any bit from the
 * same row within the call */
static int attn_case(const struct eng_kernels *fast, const struct shape *sh)
{
	static ggml_half k[MAXP * (2 * MAXD + 16)], v[MAXP * (2 * MAXD + 16)];
	static float q[MAXT * (MAXG + 1) * MAXD], att[MAXR * MAXP], qf[MAXR * MAXD];
	static float out[MAXT * (MAXG + 1) * MAXD], one[MAXD + 16];
	double want[MAXD];
	int64_t D = sh->D;
	size_t stride = (size_t)(2 * D + 16);		/* other heads' halves in between */
	size_t tok = (size_t)(sh->nq + 1) * (size_t)D;	/* another KV head's rows in between */
	int32_t last = sh->p + sh->nt - 1;

	for (size_t i = 0; i < (size_t)(last + 1) * stride; i++) {
		k[i] = ggml_fp32_to_fp16(rndf() * 2.0f);
		v[i] = ggml_fp32_to_fp16(rndf());
	}
	for (size_t i = 0; i < (size_t)sh->nt * tok; i++) {
		q[i] = rndf() * 2.0f;
		out[i] = 12345.0f;	/* rows of other heads must survive */
	}
	struct eng_attn a = {
		.D = D, .nq = sh->nq, .nt = sh->nt, .q = q, .tok_stride = tok, .k = k, .v = v,
		.kv_stride = stride, .j0 = sh->j0, .p = sh->p, .window = sh->window,
		.scale = 1.0f / sqrtf((float)D), .softcap = sh->softcap,
		.att = att, .att_stride = MAXP, .qf = qf, .out = out,
	};
	fast->attn(&a, 1);
	for (int t = 0; t < sh->nt; t++) {
		if (out[(size_t)t * tok + (size_t)sh->nq * (size_t)D] != 12345.0f) {
			printf("attn D=%lld nq=%d nt=%d: wrote past token %d's heads\n", (long long)D,
			       sh->nq, sh->nt, t);
			return 0;
		}
		for (int h = 0; h < sh->nq; h++) {
			struct eng_attn a1 = a;
			size_t off = (size_t)t * tok + (size_t)h * (size_t)D;
			a1.nq = a1.nt = 1;
			a1.q = q + off;
			a1.p = sh->p + t;
			a1.out = one;
			one[D] = 12345.0f;
			fast->attn(&a1, 1);
			attn_double(&a, t, h, want);
			for (int64_t i = 0; i < D; i++) {
				float o = out[off + (size_t)i];
				if (fabs(o - want[i]) > 2e-3 || memcmp(&o, &one[i], sizeof o) != 0 ||
				    one[D] != 12345.0f) {
					printf("attn D=%lld nq=%d nt=%d j0=%d p=%d window=%d softcap=%g: "
					       "token %d head %d out[%lld] %.9g, double %.9g, alone %.9g\n",
					       (long long)D, sh->nq, sh->nt, sh->j0, sh->p, sh->window,
					       sh->softcap, t, h, (long long)i, o, want[i], one[i]);
					return 0;
				}
			}
		}
	}
	return 1;
}

static int rnd_int(int n)
{
	rng = rng * 1664525u + 1013904223u;
	return (int)((rng >> 8) % (uint32_t)n);
}

/* test_attn - fixed edge shapes, then random ones: head dims with and
 * without tails, group sizes beyond the kernel's row block, runs of 1..40
 * tokens, windows that start or end inside the run, j0 > 0, softcap,
 * positions across several K/V blocks */
static void test_attn(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int64_t dims[] = { 8, 64, 72, 80, 128, 256 };
	static const int nqs[] = { 1, 2, 4, 7 };
	static const struct shape fixed[] = {
		{ 64, 1, 1, 0, 0, 0, 0.0f },		/* one position */
		{ 8, 7, 40, 0, 0, 0, 0.0f },		/* a prompt from position 0 */
		{ 80, 2, 33, 0, 100, 0, 1.5f },		/* a run across blocks */
		{ 256, 2, 40, 0, 110, 20, 0.0f },	/* window shorter than the run */
		{ 128, 4, 17, 30, 40, 64, 0.0f },	/* j0 above the window's start */
		{ 72, 7, 9, 5, 5, 3, 0.0f },		/* window of 3 from j0 */
	};
	int ok = 1;

	if (fast->attn == NULL)
		SKIP("table %s has no attention kernel", fast->name);
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		ok &= attn_case(fast, &fixed[i]);
	for (int i = 0; i < 60 && ok; i++) {
		struct shape sh = { dims[rnd_int(6)], nqs[rnd_int(4)], 1 + rnd_int(MAXT), 0, 0, 0, 0.0f };
		sh.p = rnd_int(MAXP - sh.nt + 1);
		if (rnd_int(2))
			sh.window = 1 + rnd_int(sh.p + sh.nt + 8);	/* may end before, inside or after the run */
		if (rnd_int(3) == 0)
			sh.j0 = rnd_int(sh.p + 1);
		if (rnd_int(3) == 0)
			sh.softcap = 1.5f;
		ok &= attn_case(fast, &sh);
	}
	CHECKF(ok, "%s attention strays from the double-precision recipe or from a row alone (see above)",
	       fast->name);
}

enum { NRUN = 6, RSTRIDE = MAXD + 8 };

/* cells - random F16 K and V rows for MAXP positions */
static void cells(ggml_half *k, ggml_half *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		k[i] = ggml_fp32_to_fp16(rndf() * 2.0f);
		v[i] = ggml_fp32_to_fp16(rndf());
	}
}

/* runs_case - NRUN runs in one call, reading a head's cells below hl, a
 * document's below dl[d] (d = run % 2) and then their own, as
 * eng_kv_share_prefix leaves them; run 0 is document 0's owner going on
 * (its own cells are what the others share), run 1 holds 3 tokens. Each
 * row must be bitwise what its run gives alone and what it gives alone
 * over one contiguous copy of the cells it reads (note 12) */
static int runs_case(const struct eng_kernels *fast, int64_t D, int nq, int32_t window, float softcap)
{
	static ggml_half hk[MAXP * RSTRIDE], hv[MAXP * RSTRIDE], dk[2][MAXP * RSTRIDE], dv[2][MAXP * RSTRIDE];
	static ggml_half ok[NRUN][MAXP * RSTRIDE], ov[NRUN][MAXP * RSTRIDE], ck[MAXP * RSTRIDE], cv[MAXP * RSTRIDE];
	static float q[MAXT * (MAXG + 1) * MAXD], att[MAXR * MAXP], qf[MAXR * MAXD];
	static float out[MAXT * (MAXG + 1) * MAXD], one[MAXT * (MAXG + 1) * MAXD];
	static float copy[4 * (MAXG + 1) * MAXD];
	const size_t n = (size_t)MAXP * RSTRIDE, tok = (size_t)(nq + 1) * (size_t)D;
	const int32_t hl = 70, dl[2] = { 100, 85 };
	struct eng_attn a[NRUN];
	struct eng_attn_seg seg[NRUN][2];
	size_t t0 = 0;

	cells(hk, hv, n);
	for (int d = 0; d < 2; d++)
		cells(dk[d], dv[d], n);
	for (int i = 0; i < NRUN; i++) {
		int d = i % 2, nt = i == 1 ? 3 : 1;
		cells(ok[i], ov[i], n);
		seg[i][0] = (struct eng_attn_seg){ hl, hk, hv };
		seg[i][1] = (struct eng_attn_seg){ dl[d], dk[d], dv[d] };
		a[i] = (struct eng_attn){
			.D = D, .nq = nq, .nt = nt, .q = q + t0 * tok, .tok_stride = tok,
			.k = i == 0 ? dk[0] : ok[i], .v = i == 0 ? dv[0] : ov[i], .kv_stride = RSTRIDE,
			.seg = seg[i], .n_seg = i == 0 ? 1 : 2, .j0 = 0,
			.p = i == 0 ? dl[0] + 6 : dl[d] + 1 + rnd_int(MAXP - dl[d] - nt - 1), .window = window,
			.scale = 1.0f / sqrtf((float)D), .softcap = softcap,
			.att = att + t0 * (size_t)nq * MAXP, .att_stride = MAXP,
			.qf = qf + t0 * (size_t)nq * (size_t)D, .out = out + t0 * tok,
		};
		t0 += (size_t)nt;
	}
	for (size_t i = 0; i < t0 * tok; i++) {
		q[i] = rndf() * 2.0f;
		out[i] = 12345.0f;
	}
	memcpy(one, out, t0 * tok * sizeof *out);
	fast->attn(a, NRUN);
	for (int i = 0; i < NRUN; i++) {
		struct eng_attn b = a[i], c = a[i];
		const ggml_half *k, *v;
		b.out = one + (a[i].out - out);
		fast->attn(&b, 1);
		for (int32_t j = 0; j <= a[i].p + a[i].nt - 1; j++) {	/* the copy */
			eng_attn_part(&a[i], j, &k, &v);
			memcpy(ck + (size_t)j * RSTRIDE, k + (size_t)j * RSTRIDE, RSTRIDE * sizeof *ck);
			memcpy(cv + (size_t)j * RSTRIDE, v + (size_t)j * RSTRIDE, RSTRIDE * sizeof *cv);
		}
		c.k = ck;
		c.v = cv;
		c.n_seg = 0;
		c.out = copy;
		memcpy(copy, b.out, (size_t)a[i].nt * tok * sizeof *copy);
		fast->attn(&c, 1);
		for (int t = 0; t < a[i].nt; t++)
			for (int h = 0; h <= nq; h++) {
				size_t off = (size_t)t * tok + (size_t)h * (size_t)D;
				const float *x = a[i].out + off;
				if (memcmp(x, b.out + off, (size_t)D * sizeof *x) != 0 ||
				    memcmp(x, c.out + off, (size_t)D * sizeof *x) != 0) {
					printf("attn runs D=%lld nq=%d window=%d softcap=%g: run %d token %d head %d "
					       "differs from its run alone or over a copy%s\n", (long long)D, nq,
					       window, softcap, i, t, h, h == nq ? " (wrote past the heads)" : "");
					return 0;
				}
			}
	}
	return 1;
}

/* test_attn_runs - runs sharing cells in one call (note 12) against each
 * run alone, over head dims with tails, group sizes, windows and softcap */
static void test_attn_runs(void)
{
	const struct eng_kernels *fast = eng_kernels_select(0);
	static const int64_t dims[] = { 8, 64, 72, 256 };
	static const int nqs[] = { 1, 2, 7 };
	int ok = 1;

	if (fast->attn == NULL)
		SKIP("table %s has no attention kernel", fast->name);
	for (int i = 0; i < 24 && ok; i++)
		ok &= runs_case(fast, dims[i % 4], nqs[i % 3], i % 4 == 1 ? 0 : 20 + rnd_int(90),
				i % 5 == 0 ? 1.5f : 0.0f);
	CHECKF(ok, "%s attention over shared cells differs from a run alone (see above)", fast->name);
}

int main(void)
{
	RUN(test_f32_to_f16);
	RUN(test_swiglu);
	RUN(test_attn);
	RUN(test_attn_runs);
	return TEST_END();
}
