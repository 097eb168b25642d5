/*
 * NAME
 *	llm_draft - the tokens a stream's own context predicts it will choose next
 * SUMMARY
 *	llm_draft_lookup() proposes draft tokens by prompt lookup: what
 *	followed the stream's last few tokens where they occurred before.
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N"); drafts are note 10.
 */
#include <string.h>

#include "stages/llm_impl.h"

enum { KEY_MAX = 3 };	/* longest run of last tokens looked up */

/* found_at - the latest i < count with a[i .. i + n) == key, or -1; a
 * holds count + n - 1 ids at least */
static ptrdiff_t found_at(const int32_t *a, size_t count, const int32_t *key, size_t n)
{
	for (size_t i = count; i-- > 0;)
		if (memcmp(a + i, key, n * sizeof *key) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/*
 * in_gen - the continuation of the latest earlier occurrence of gen's last
 * n tokens in gen itself. Where it runs into the end of gen it goes on with
 * the draft's own tokens: a loop the stream is in continues as a loop.
 */
static uint32_t in_gen(const struct tok_ids *gen, size_t n, int32_t *out, uint32_t max)
{
	const int32_t *key = gen->v + gen->n - n;
	ptrdiff_t i = gen->n > n ? found_at(gen->v, gen->n - n, key, n) : -1;
	uint32_t k;

	if (i < 0)
		return 0;
	for (k = 0; k < max; k++) {
		size_t src = (size_t)i + n + k;

		out[k] = src < gen->n ? gen->v[src] : out[src - gen->n];
	}
	return k;
}

/* in_src - the continuation of the latest occurrence of gen's last n tokens in src */
static uint32_t in_src(const struct tok_ids *gen, size_t n, const struct tok_ids *src,
		       int32_t *out, uint32_t max)
{
	ptrdiff_t i = src->n >= n ? found_at(src->v, src->n - n + 1, gen->v + gen->n - n, n) : -1;
	uint32_t k = 0;

	while (i >= 0 && k < max && (size_t)i + n + k < src->n) {
		out[k] = src->v[(size_t)i + n + k];
		k++;
	}
	return k;
}

/* llm_draft_lookup - see llm_impl.h and note 10 */
uint32_t llm_draft_lookup(const struct tok_ids *gen, const struct tok_ids *const *src, int n_src,
			  int32_t *out, uint32_t max)
{
	for (size_t n = gen->n < KEY_MAX ? gen->n : KEY_MAX; n > 0 && max > 0; n--) {
		uint32_t k = in_gen(gen, n, out, max);

		for (int s = 0; k == 0 && s < n_src; s++)
			k = in_src(gen, n, src[s], out, max);
		if (k > 0)
			return k;
	}
	return 0;
}
