/*
 * NAME
 *	tok_bpe - byte-level BPE by merge rank (llm_tokenizer_bpe)
 * DESIGN NOTES
 *	1. The pre-tokenizer cuts the fragment into words; each word's bytes
 *	   are mapped to GPT-2's printable alphabet (bytes 33..126, 161..172,
 *	   174..255 stand for themselves, the other 68 become U+0100.. in
 *	   byte order). Merges and tokens are stored in that alphabet.
 *	2. Per word: with ignore_merges (llama3), a word that is a token is
 *	   emitted whole. Otherwise symbols start as single characters and the
 *	   adjacent pair of lowest merge rank (then leftmost) merges until no
 *	   pair has a rank. A candidate is stale when a side changed size.
 *	3. A final symbol that is not a token falls back to the tokens of its
 *	   single bytes, skipping bytes that have none (llama.cpp).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/tok_heap.h"
#include "engine/tok_impl.h"
#include "util/dk_err.h"

/* tok_bpe_byte_cpt - the alphabet character standing for byte b (note 1) */
uint32_t tok_bpe_byte_cpt(uint8_t b)
{
	uint32_t k = 0;

	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
		return b;
	for (uint32_t x = 0; x < b; x++)
		if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174))
			k++;
	return 256 + k;
}

/* tok_bpe_cpt_byte - the byte an alphabet character stands for, or -1 */
int tok_bpe_cpt_byte(uint32_t cp)
{
	uint32_t k = 0;

	if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
		return (int)cp;
	if (cp < 256 || cp >= 256 + 68)
		return -1;
	for (uint32_t x = 0; x < 256; x++) {
		if ((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)
			continue;
		if (256 + k == cp)
			return (int)x;
		k++;
	}
	return -1;
}

struct sym {
	int32_t prev, next;
	size_t off, n;
};

static int try_pair(const struct tok_vocab *v, const char *s, const struct sym *sy,
		    int32_t l, int32_t r, struct tok_heap *h)
{
	int32_t rank;

	if (l < 0 || r < 0)
		return 0;
	rank = tok_merge_rank(v, s + sy[l].off, sy[l].n, s + sy[r].off, sy[r].n);
	if (rank < 0)
		return 0;
	return tok_heap_push(h, (struct tok_bigram){ l, r, -(double)rank, sy[l].n + sy[r].n });
}

/* emit - note 3 */
static int emit(const struct tok_vocab *v, const char *s, size_t n, struct tok_ids *out)
{
	int32_t id = tok_vocab_lookup(v, s, n);

	if (id >= 0)
		return tok_ids_push(out, id);
	for (size_t k = 0; k < n; k++) {
		id = tok_vocab_lookup(v, s + k, 1);
		if (id >= 0 && tok_ids_push(out, id))
			return DK_ENOMEM;
	}
	return 0;
}

/* merge_word - note 2, over the alphabet-encoded word s[0..len) */
static int merge_word(const struct tok_vocab *v, const char *s, size_t len, struct sym *sy,
		      struct tok_heap *h, struct tok_ids *out)
{
	struct tok_bigram b;
	int32_t n = 0;
	int rc = 0;

	if (v->ignore_merges) {
		int32_t id = tok_vocab_lookup(v, s, len);

		if (id >= 0)
			return tok_ids_push(out, id);
	}
	for (size_t off = 0; off < len; n++) {
		size_t cl = tok_utf8_len((unsigned char)s[off]);

		sy[n].off = off;
		sy[n].n = cl < len - off ? cl : len - off;
		off += sy[n].n;
		sy[n].prev = n - 1;
		sy[n].next = off == len ? -1 : n + 1;
	}
	h->n = 0;
	for (int32_t i = 1; i < n && rc == 0; i++)
		rc = try_pair(v, s, sy, i - 1, i, h);
	while (rc == 0 && tok_heap_pop(h, &b)) {
		struct sym *l = &sy[b.left], *r = &sy[b.right];

		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sy[r->next].prev = b.left;
		rc = try_pair(v, s, sy, l->prev, b.left, h);
		if (rc == 0)
			rc = try_pair(v, s, sy, b.left, l->next, h);
	}
	for (int32_t i = n ? 0 : -1; i != -1 && rc == 0; i = sy[i].next)
		rc = emit(v, s + sy[i].off, sy[i].n, out);
	return rc;
}

/* tok_bpe_encode - append the ids of the raw fragment s[0..len) */
int tok_bpe_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out)
{
	struct tok_words w;
	struct tok_heap h = { NULL, 0, 0 };
	struct sym *sy = NULL;
	char *enc = NULL;
	size_t off = 0;
	int rc = tok_pretok_split(v->pre, s, len, &w);

	if (rc)
		return rc;
	/* each byte becomes at most 2 bytes of alphabet text */
	enc = malloc(w.len * 2 + 1);
	sy = malloc((w.len * 2 + 1) * sizeof *sy);
	if (enc == NULL || sy == NULL)
		rc = DK_ENOMEM;
	for (size_t k = 0; k < w.n && rc == 0; k++) {
		size_t el = 0;

		for (size_t i = 0; i < w.wlen[k]; i++) {
			char u[4];
			size_t ul = tok_utf8_put(tok_bpe_byte_cpt((uint8_t)w.text[off + i]), u);

			memcpy(enc + el, u, ul);
			el += ul;
		}
		off += w.wlen[k];
		rc = merge_word(v, enc, el, sy, &h, out);
	}
	tok_heap_release(&h);
	free(sy);
	free(enc);
	tok_words_release(&w);
	return rc;
}
