/*
 * NAME
 *	tok_spm - SentencePiece-style merging by score (llm_tokenizer_spm)
 * DESIGN NOTES
 *	1. The input is one fragment with spaces already escaped to "▁".
 *	   It starts as one symbol per UTF-8 character (the lead byte gives
 *	   the length, cut at the end of the text). Every adjacent pair whose
 *	   concatenation is a token is a candidate, keyed by that token's
 *	   score; the best candidate is merged, and the pairs it forms with
 *	   its neighbours become candidates. A candidate is stale when either
 *	   side has changed size since it was pushed.
 *	2. A final symbol that is a token is emitted as such. Merges only
 *	   create tokens, so any other final symbol is one character missing
 *	   from the vocab: its bytes go out as <0xNN> byte tokens (llama.cpp's
 *	   resegment never finds a recorded merge for such a symbol).
 *	3. gemma3's vocab is SentencePiece BPE with scores -rank: the same
 *	   procedure gives BPE's result, which is why llama.cpp (and we) load
 *	   it as model "llama".
 */
#include <stdlib.h>

#include "engine/tok_heap.h"
#include "engine/tok_impl.h"
#include "util/dk_err.h"

struct sym {
	int32_t prev, next;
	size_t off, n;
};

static int try_pair(const struct tok_vocab *v, const char *s, const struct sym *sy,
		    int32_t l, int32_t r, struct tok_heap *h)
{
	size_t n;
	int32_t id;

	if (l < 0 || r < 0)
		return 0;
	n = sy[l].n + sy[r].n;
	id = tok_vocab_lookup(v, s + sy[l].off, n);
	if (id < 0)
		return 0;
	return tok_heap_push(h, (struct tok_bigram){ l, r, v->tok[id].score, n });
}

/* emit - note 2 */
static int emit(const struct tok_vocab *v, const char *s, const struct sym *y, struct tok_ids *out)
{
	int32_t id = tok_vocab_lookup(v, s + y->off, y->n);

	if (id >= 0)
		return tok_ids_push(out, id);
	for (size_t k = 0; k < y->n; k++) {
		int32_t b = v->byte_id[(unsigned char)s[y->off + k]];

		if (b < 0)
			b = v->unk;
		if (b >= 0 && tok_ids_push(out, b))
			return DK_ENOMEM;
	}
	return 0;
}

/* tok_spm_encode - append the ids of the escaped text s[0..len) */
int tok_spm_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out)
{
	struct sym *sy = malloc((len + 1) * sizeof *sy);
	struct tok_heap h = { NULL, 0, 0 };
	struct tok_bigram b;
	int32_t n = 0;
	int rc = 0;

	if (sy == NULL)
		return DK_ENOMEM;
	for (size_t off = 0; off < len; n++) {
		size_t cl = tok_utf8_len((unsigned char)s[off]);

		sy[n].off = off;
		sy[n].n = cl < len - off ? cl : len - off;
		off += sy[n].n;
		sy[n].prev = n - 1;
		sy[n].next = off == len ? -1 : n + 1;
	}
	for (int32_t i = 1; i < n && rc == 0; i++)
		rc = try_pair(v, s, sy, i - 1, i, &h);
	while (rc == 0 && tok_heap_pop(&h, &b)) {
		struct sym *l = &sy[b.left], *r = &sy[b.right];

		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sy[r->next].prev = b.left;
		rc = try_pair(v, s, sy, l->prev, b.left, &h);
		if (rc == 0)
			rc = try_pair(v, s, sy, b.left, l->next, &h);
	}
	for (int32_t i = n ? 0 : -1; i != -1 && rc == 0; i = sy[i].next)
		rc = emit(v, s, &sy[i], out);
	tok_heap_release(&h);
	free(sy);
	return rc;
}
