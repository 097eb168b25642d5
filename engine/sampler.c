/*
 * NAME
 *	sampler - penalties, truncation, temperature and a seeded draw
 * DESIGN NOTES
 *	1. Order of the chain as llama.cpp's common sampler: penalty, top-k,
 *	   top-p, min-p, temperature, draw. top-p and min-p look at the
 *	   probabilities before temperature, as there.
 *	2. Every order-dependent step uses the total order (logit desc, id
 *	   asc) so equal logits never make the result depend on qsort.
 *	3. The draw is one 53-bit uniform u in [0, 1) against the running sum
 *	   of the kept probabilities in that order; rounding can leave u above
 *	   the last partial sum, and then the last candidate is chosen.
 *	4. No allocation after samp_init() except growing the candidate
 *	   buffer the first time a larger vocabulary is seen.
 *	5. Greedy without a penalty is the first largest logit, read where
 *	   it lies: copying 262144 candidates first cost 0.5 ms a token, a
 *	   core's time the engine's other thread spent waiting.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampler.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* samp_rand - xoshiro256** */
uint64_t samp_rand(struct samp *s)
{
	uint64_t *r = s->rng;
	uint64_t out = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return out;
}

/* samp_init - check parameters, seed, allocate the history */
int samp_init(struct samp *s, const struct samp_params *p, struct dk_err *err)
{
	uint64_t x = p->seed;

	memset(s, 0, sizeof *s);
	if (!(p->temp == p->temp) || !(p->top_p >= 0) || !(p->min_p >= 0 && p->min_p <= 1) ||
	    !(p->repeat_penalty > 0) || p->repeat_last_n < 0)
		return dk_err_set(err, DK_EINVAL, "bad sampling parameters (temp %g, top-p %g, "
				  "min-p %g, repeat penalty %g)", p->temp, p->top_p, p->min_p,
				  p->repeat_penalty);
	s->par = *p;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
	if (p->repeat_last_n > 0) {
		s->hist = malloc((size_t)p->repeat_last_n * sizeof *s->hist);
		if (s->hist == NULL)
			return dk_err_set(err, DK_ENOMEM, "out of memory for the sampler");
	}
	return 0;
}

/* samp_release - free the buffers */
void samp_release(struct samp *s)
{
	free(s->cand);
	free(s->hist);
	memset(s, 0, sizeof *s);
}

/* samp_accept - remember id for the repetition penalty */
void samp_accept(struct samp *s, int32_t id)
{
	size_t cap = (size_t)s->par.repeat_last_n;

	if (cap == 0)
		return;
	s->hist[s->hist_pos] = id;
	s->hist_pos = (s->hist_pos + 1) % cap;
	if (s->hist_n < cap)
		s->hist_n++;
}

static int better(const struct samp_cand *a, const struct samp_cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand(const void *a, const void *b)
{
	return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* penalize - llama.cpp's repetition penalty, once per distinct recent id */
static void penalize(struct samp *s, size_t n)
{
	float pen = s->par.repeat_penalty;

	if (pen == 1.0f)
		return;
	for (size_t i = 0; i < s->hist_n; i++) {
		int32_t id = s->hist[i];
		int seen = 0;

		if (id < 0 || (size_t)id >= n)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = s->hist[j] == id;
		if (seen)
			continue;
		/* candidates are still in id order here */
		if (s->cand[id].logit > 0)
			s->cand[id].logit /= pen;
		else
			s->cand[id].logit *= pen;
	}
}

/* sift_down - min-heap on "better" reversed: the worst of the kept k at [0] */
static void sift_down(struct samp_cand *h, size_t k, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct samp_cand t;

		if (c >= k)
			return;
		if (c + 1 < k && better(&h[c], &h[c + 1]))
			c++;
		if (!better(&h[i], &h[c]))
			return;
		t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

/* top_k - keep the k best in sorted order; returns the count kept */
static size_t top_k(struct samp_cand *c, size_t n, size_t k)
{
	if (k == 0 || k >= n) {
		qsort(c, n, sizeof *c, cmp_cand);
		return n;
	}
	for (size_t i = k / 2; i-- > 0;)
		sift_down(c, k, i);
	for (size_t i = k; i < n; i++) {
		if (better(&c[i], &c[0])) {
			c[0] = c[i];
			sift_down(c, k, 0);
		}
	}
	qsort(c, k, sizeof *c, cmp_cand);
	return k;
}

/* softmax - p over c[0..n) (sorted, so c[0] has the max logit) at temperature t */
static void softmax(struct samp_cand *c, size_t n, double t)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].p = (float)exp(((double)c[i].logit - c[0].logit) / t);
		sum += c[i].p;
	}
	for (size_t i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

/* samp_sample - see sampler.h */
int32_t samp_sample(struct samp *s, const float *logits, size_t n_vocab)
{
	struct samp_cand *c;
	size_t n = n_vocab, best = 0;
	double u, acc = 0;

	if (n == 0)
		return -1;
	if (s->par.temp <= 0 && s->par.repeat_penalty == 1.0f) {	/* note 5 */
		for (size_t i = 1; i < n; i++)
			if (logits[i] > logits[best])
				best = i;
		return (int32_t)best;
	}
	if (s->cand_alloc < n) {
		c = realloc(s->cand, n * sizeof *c);
		if (c == NULL)
			return -1;
		s->cand = c;
		s->cand_alloc = n;
	}
	c = s->cand;
	for (size_t i = 0; i < n; i++)
		c[i] = (struct samp_cand){ (int32_t)i, logits[i], 0 };
	penalize(s, n);
	if (s->par.temp <= 0) {
		for (size_t i = 1; i < n; i++)
			if (better(&c[i], &c[best]))
				best = i;
		return c[best].id;
	}
	n = top_k(c, n, s->par.top_k > 0 ? (size_t)s->par.top_k : 0);
	if (s->par.top_p < 1.0f) {
		size_t keep = n;

		softmax(c, n, 1.0);
		for (size_t i = 0; i < n; i++) {
			acc += c[i].p;
			if (acc >= s->par.top_p) {
				keep = i + 1;
				break;
			}
		}
		n = keep;
	}
	if (s->par.min_p > 0.0f) {
		/* p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p) */
		double floor_logit = c[0].logit + log(s->par.min_p);
		size_t keep = 1;

		while (keep < n && c[keep].logit >= floor_logit)
			keep++;
		n = keep;
	}
	softmax(c, n, s->par.temp);
	u = (double)(samp_rand(s) >> 11) * 0x1.0p-53;
	acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += c[i].p;
		if (u < acc)
			return c[i].id;
	}
	return c[n - 1].id;
}
