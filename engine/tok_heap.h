/*
 * NAME
 *	tok_heap - the bigram priority queue shared by SPM and BPE
 * SUMMARY
 *	A binary max-heap of candidate merges. "Best" is the higher key,
 *	then the lower left index: llama.cpp's comparators (SPM: score,
 *	BPE: minus the rank), which make the order total, so any correct
 *	heap pops the same sequence.
 * OWNERSHIP
 *	The heap owns its array; tok_heap_release() frees it.
 * LIFETIME
 *	One heap per word (BPE) or fragment (SPM); reset by setting n = 0.
 * THREADS
 *	Per-object.
 * ERRORS
 *	tok_heap_push returns DK_ENOMEM.
 */
#ifndef DK_TOK_HEAP_H
#define DK_TOK_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct tok_bigram {
	int32_t left, right;
	double key;		/* higher pops first */
	size_t size;		/* bytes of left + right when pushed */
};

struct tok_heap {
	struct tok_bigram *a;
	size_t n, alloc;
};

int tok_heap_push(struct tok_heap *h, struct tok_bigram b);
/* tok_heap_pop - remove the best entry into *out; 0 when empty */
int tok_heap_pop(struct tok_heap *h, struct tok_bigram *out);
void tok_heap_release(struct tok_heap *h);

#endif
