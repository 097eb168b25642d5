/*
 * NAME
 *	fuzz_tokenizer - arbitrary bytes through the three tokenizers
 * SUMMARY
 *	The first input byte picks the algorithm and, for byte-level BPE, the
 *	pre-tokenizer; the rest is the text. Small vocabularies are built in
 *	(no files): an SPM vocab with every <0xNN> byte token and a few
 *	merges, a byte-level BPE vocab over the full 256-character alphabet,
 *	and a tiny WordPiece vocab. Checked: no crash or sanitizer report,
 *	ids in range, and decode(encode(text)) == text wherever the vocab is
 *	lossless (valid UTF-8 through BPE, and through SPM when it has no "▁").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tok_impl.h"
#include "engine/tokenizer.h"

static struct tok_vocab *spm, *bpe[6], *wpm;

static struct tok_vocab *build_spm(void)
{
	static const char *const pieces[] = { "\xe2\x96\x81", "a", "b", "ab", "\xe2\x96\x81\x61",
					      "ba", "aba", "<u>" };
	static char bytes[256][7];
	const char *tok[3 + 256 + 8];
	float score[3 + 256 + 8];
	int32_t type[3 + 256 + 8];
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	uint32_t n = 0;

	tok[n] = "<unk>", score[n] = 0, type[n++] = TOK_TYPE_UNKNOWN;
	tok[n] = "<s>", score[n] = 0, type[n++] = TOK_TYPE_CONTROL;
	tok[n] = "</s>", score[n] = 0, type[n++] = TOK_TYPE_CONTROL;
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
		tok[n] = bytes[b], score[n] = 0, type[n++] = TOK_TYPE_BYTE;
	}
	for (int i = 0; i < 8; i++)
		tok[n] = pieces[i], score[n] = (float)-i, type[n++] = i == 7 ? TOK_TYPE_USER_DEFINED
									      : TOK_TYPE_NORMAL;
	sp.model = "llama";
	sp.n_tokens = n;
	sp.tokens = tok;
	sp.scores = score;
	sp.types = type;
	sp.add_space_prefix = 0;
	tok_vocab_build(&sp, &v, NULL);
	return v;
}

static struct tok_vocab *build_bpe(const char *pre)
{
	static char alpha[256][5];
	static const char *const merges[] = { "a b", "ab c", "\xc4\xa0 a", "1 2" };
	const char *tok[256 + 4];
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;
	uint32_t n = 0;

	for (int b = 0; b < 256; b++) {
		size_t k = tok_utf8_put(tok_bpe_byte_cpt((uint8_t)b), alpha[b]);

		alpha[b][k] = 0;
		tok[n++] = alpha[b];
	}
	tok[n++] = "ab";
	tok[n++] = "abc";
	tok[n++] = "\xc4\xa0\x61";
	tok[n++] = "12";
	sp.model = "gpt2";
	sp.pre = pre;
	sp.n_tokens = n;
	sp.tokens = tok;
	sp.n_merges = 4;
	sp.merges = merges;
	tok_vocab_build(&sp, &v, NULL);
	return v;
}

static struct tok_vocab *build_wpm(void)
{
	static const char *const tok[] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "\xe2\x96\x81\x61",
					   "b", "\xe2\x96\x81\x61\x62", "\xe2\x96\x81!" };
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct tok_vocab *v = NULL;

	sp.model = "bert";
	sp.n_tokens = 8;
	sp.tokens = tok;
	sp.bos = 2, sp.sep = 3, sp.unk = 1, sp.pad = 0;
	tok_vocab_build(&sp, &v, NULL);
	return v;
}

/* valid_utf8 - decodes without U+FFFD and re-encodes to the same bytes (no overlongs) */
static int valid_utf8(const uint8_t *s, size_t n)
{
	struct tok_cpts c;
	size_t off = 0;
	int ok = 1;

	if (tok_cpts_decode((const char *)s, n, &c) != 0)
		return 0;
	for (size_t i = 0; i < c.n && ok; i++) {
		char u[4];
		size_t k = tok_utf8_put(c.cp[i], u);

		ok = c.cp[i] != 0xfffd && off + k <= n && memcmp(s + off, u, k) == 0;
		off += k;
	}
	tok_cpts_release(&c);
	return ok && off == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pres[6] = { "gpt-2", "llama-bpe", "qwen2", "deepseek-llm",
					     "deepseek-coder", "falcon" };
	struct tok_ids ids = TOK_IDS_INIT;
	struct dk_buf back = DK_BUF_INIT;
	struct tok_vocab *v;
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	unsigned sel;

	if (size == 0)
		return 0;
	if (spm == NULL) {
		spm = build_spm();
		wpm = build_wpm();
		for (int i = 0; i < 6; i++)
			bpe[i] = build_bpe(pres[i]);
	}
	sel = data[0] % 8;
	v = sel == 0 ? spm : sel == 1 ? wpm : bpe[sel - 2];
	if (v == NULL || tok_encode(v, text, len, data[0] & 0x80 ? TOK_PARSE_SPECIAL : 0, &ids, NULL))
		abort();
	for (size_t i = 0; i < ids.n; i++)
		if (ids.v[i] < 0 || (uint32_t)ids.v[i] >= tok_n_tokens(v))
			abort();
	for (size_t i = 0; i < ids.n; i++)
		tok_piece(v, ids.v[i], 1, &back);
	/* invalid UTF-8 can cut a "▁" across SPM symbols: lossless only when valid */
	if ((sel == 0 || sel >= 2) && valid_utf8((const uint8_t *)text, len) &&
	    (sel != 0 || memmem(text, len, "\xe2\x96\x81", 3) == NULL))
		if (back.len != len || memcmp(back.buf, text, len) != 0)
			abort();
	tok_ids_release(&ids);
	dk_buf_release(&back);
	return 0;
}
