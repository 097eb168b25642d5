/*
 * NAME
 *	tok_wpm - WordPiece for BERT vocabularies (llm_tokenizer_wpm)
 * DESIGN NOTES
 *	1. Normalisation as BERT's: every codepoint is replaced by the first
 *	   codepoint of its NFD decomposition, combining marks are dropped
 *	   (strip_accents), the rest is lower-cased. Whitespace ends a word;
 *	   NUL, U+FFFD and control characters vanish; punctuation, ASCII
 *	   symbols and CJK ideographs are words of their own.
 *	2. Each word, prefixed with "▁" (the GGUF spelling of a word start),
 *	   is covered greedily by the longest token at each byte position; if
 *	   some position has no token, the whole word becomes [UNK].
 */
#include <stdlib.h>
#include <string.h>

#include "engine/tok_impl.h"
#include "util/dk_err.h"

static int is_cjk(uint32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
	       (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* word - cover "▁" + w[0..n) greedily (note 2) */
static int word(const struct tok_vocab *v, const char *w, size_t n, struct tok_ids *out)
{
	size_t len = n + 3, before = out->n;
	char *s = malloc(len);

	if (s == NULL)
		return DK_ENOMEM;
	memcpy(s, "\xe2\x96\x81", 3);
	memcpy(s + 3, w, n);
	for (size_t i = 0; i < len; i++) {
		size_t j = i + v->max_token_len + 1 < len ? i + v->max_token_len + 1 : len;
		int32_t id = -1;

		for (; j > i; j--)
			if ((id = tok_vocab_lookup(v, s + i, j - i)) >= 0)
				break;
		if (id < 0) {
			out->n = before;
			break;
		}
		if (tok_ids_push(out, id)) {
			free(s);
			return DK_ENOMEM;
		}
		i = j - 1;
	}
	free(s);
	if (out->n == before)
		return tok_ids_push(out, v->unk);
	return 0;
}

/* tok_wpm_encode - append the ids of the raw fragment s[0..len) */
int tok_wpm_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out)
{
	struct tok_cpts c;
	char *buf;
	size_t n = 0;
	int rc = tok_cpts_decode(s, len, &c);

	if (rc)
		return rc;
	buf = malloc(c.n * 4 + 1);
	if (buf == NULL) {
		tok_cpts_release(&c);
		return DK_ENOMEM;
	}
	for (size_t i = 0; i < c.n && rc == 0; i++) {
		uint32_t cp = tok_cpt_nfd_first(c.cp[i]);
		unsigned f = tok_cpt_flags(cp);
		char u[4];
		size_t ul;

		if (f & TOK_CF_SPACE) {
			if (n > 0)
				rc = word(v, buf, n, out);
			n = 0;
			continue;
		}
		if (cp == 0 || cp == 0xfffd || (f & (TOK_CF_CONTROL | TOK_CF_MARK)))
			continue;
		ul = tok_utf8_put(tok_cpt_lower(cp), u);
		if ((f & TOK_CF_PUNCT) || (cp < 0x7f && (f & TOK_CF_SYMBOL)) || is_cjk(cp)) {
			if (n > 0)
				rc = word(v, buf, n, out);
			if (rc == 0)
				rc = word(v, u, ul, out);
			n = 0;
			continue;
		}
		memcpy(buf + n, u, ul);
		n += ul;
	}
	if (rc == 0 && n > 0)
		rc = word(v, buf, n, out);
	free(buf);
	tok_cpts_release(&c);
	return rc;
}
