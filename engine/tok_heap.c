/*
 * NAME
 *	tok_heap - binary heap of merge candidates
 * DESIGN NOTES
 *	1. better(a, b): higher key, then lower left. Ties on both can only be
 *	   copies of the same pair (one of them stale), so the order between
 *	   them never changes a result.
 */
#include <stdlib.h>

#include "engine/tok_heap.h"
#include "util/dk_err.h"

static int better(const struct tok_bigram *a, const struct tok_bigram *b)
{
	return a->key > b->key || (a->key == b->key && a->left < b->left);
}

/* tok_heap_push - insert one candidate */
int tok_heap_push(struct tok_heap *h, struct tok_bigram b)
{
	size_t i;

	if (h->n == h->alloc) {
		size_t na = h->alloc ? h->alloc * 2 : 64;
		struct tok_bigram *n = realloc(h->a, na * sizeof *n);

		if (n == NULL)
			return DK_ENOMEM;
		h->a = n;
		h->alloc = na;
	}
	i = h->n++;
	while (i > 0 && better(&b, &h->a[(i - 1) / 2])) {
		h->a[i] = h->a[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->a[i] = b;
	return 0;
}

/* tok_heap_pop - take the best candidate */
int tok_heap_pop(struct tok_heap *h, struct tok_bigram *out)
{
	struct tok_bigram last;
	size_t i = 0;

	if (h->n == 0)
		return 0;
	*out = h->a[0];
	last = h->a[--h->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && better(&h->a[c + 1], &h->a[c]))
			c++;
		if (!better(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n > 0)
		h->a[i] = last;
	return 1;
}

/* tok_heap_release - free the array */
void tok_heap_release(struct tok_heap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->alloc = 0;
}
