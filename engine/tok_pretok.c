/*
 * NAME
 *	tok_pretok - byte-level BPE pre-tokenizers (llama.cpp's regex splits)
 * DESIGN NOTES
 *	1. llama.cpp splits text with a list of regexes applied in turn: each
 *	   regex splits every piece left by the previous one; inside a piece,
 *	   matches become words and the text between matches becomes words
 *	   too (std::regex_iterator semantics: leftmost match, first matching
 *	   alternative, greedy with backtracking). The two regexes llama.cpp
 *	   runs through hand-written code (gpt2's and llama3's) are
 *	   hand-written here the same way, including their small departures
 *	   from the regex (a lone non-matching character is its own word).
 *	2. Every other regex is a matcher: the length of the match starting at
 *	   position p of piece [s, e), or 0. Lookahead and "$" see only the
 *	   piece, as regex_iterator over a sub-range does.
 *	3. Matching is on codepoints. \p{L}, \p{N}, \p{P} are the Unicode
 *	   general categories and \s is llama.cpp's whitespace set: that is
 *	   what llama.cpp's "collapsed" std::regex path computes. For regexes
 *	   written with explicit non-ASCII classes (deepseek-llm), llama.cpp
 *	   runs std::wregex after replacing non-ASCII whitespace by U+000B;
 *	   class tests here see the same replaced codepoint (eff()).
 *	4. The words are the pieces re-encoded as UTF-8, so invalid input
 *	   bytes come out as U+FFFD, as in llama.cpp.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/tok_impl.h"
#include "util/dk_err.h"

struct pieces {
	size_t *len;	/* codepoints per piece */
	size_t n, alloc;
};

static int pieces_push(struct pieces *p, size_t len)
{
	if (len == 0)
		return 0;
	if (p->n == p->alloc) {
		size_t na = p->alloc ? p->alloc * 2 : 16;
		size_t *nl = realloc(p->len, na * sizeof *nl);

		if (nl == NULL)
			return DK_ENOMEM;
		p->len = nl;
		p->alloc = na;
	}
	p->len[p->n++] = len;
	return 0;
}

#define F(c, i) ((c)->flags[i])
#define IS_WS(c, i) (F(c, i) & TOK_CF_SPACE)
#define IS_L(c, i) (F(c, i) & TOK_CF_LETTER)
#define IS_N(c, i) (F(c, i) & TOK_CF_NUMBER)
#define IS_P(c, i) (F(c, i) & TOK_CF_PUNCT)

/* ---- the hand-written splitters (note 1) ---- */

/* split_gpt2 - 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
static int split_gpt2_piece(const struct tok_cpts *c, size_t s, size_t e, struct pieces *out)
{
	size_t pos = s;

	while (pos < e) {
		uint32_t cp = c->cp[pos];
		size_t start = pos, q, nws;

		if (cp == '\'' && pos + 1 < e) {
			uint32_t n1 = c->cp[pos + 1];
			uint32_t n2 = pos + 2 < e ? c->cp[pos + 2] : 0;

			if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
				pos += 2;
				goto emit;
			}
			if (pos + 2 < e && ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') ||
					    (n1 == 'l' && n2 == 'l'))) {
				pos += 3;
				goto emit;
			}
		}
		q = (cp == ' ') ? pos + 1 : pos;
		if (q < e && IS_L(c, q)) {
			while (q < e && IS_L(c, q))
				q++;
			pos = q;
			goto emit;
		}
		if (q < e && IS_N(c, q)) {
			while (q < e && IS_N(c, q))
				q++;
			pos = q;
			goto emit;
		}
		if (q < e && !(F(c, q) & (TOK_CF_SPACE | TOK_CF_LETTER | TOK_CF_NUMBER))) {
			while (q < e && !(F(c, q) & (TOK_CF_SPACE | TOK_CF_LETTER | TOK_CF_NUMBER)))
				q++;
			pos = q;
			goto emit;
		}
		nws = 0;
		while (pos + nws < e && IS_WS(c, pos + nws))
			nws++;
		if (nws > 1 && pos + nws < e)
			pos += nws - 1;		/* \s+(?!\S): leave one for the next word */
		else if (nws > 0)
			pos += nws;
		else
			pos++;
emit:
		if (pieces_push(out, pos - start))
			return DK_ENOMEM;
	}
	return 0;
}

/*
 * split_llama3 - (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}|
 *	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   with D = maxdig
 * (D = 3 for llama3; D = 1 is qwen2's regex, which llama.cpp runs through
 * std::regex with the same result)
 */
static int split_llama3_piece(const struct tok_cpts *c, size_t s, size_t e, size_t maxdig,
			      struct pieces *out)
{
	size_t pos = s;

	while (pos < e) {
		uint32_t cp = c->cp[pos];
		size_t start = pos, q, nws, last_nl;

		if (cp == '\'' && pos + 1 < e) {
			uint32_t n1 = tok_cpt_lower(c->cp[pos + 1]);
			uint32_t n2 = pos + 2 < e ? tok_cpt_lower(c->cp[pos + 2]) : 0;

			if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
				pos += 2;
				goto emit;
			}
			if (pos + 2 < e && ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') ||
					    (n1 == 'l' && n2 == 'l'))) {
				pos += 3;
				goto emit;
			}
		}
		if (!(cp == '\r' || cp == '\n' || IS_N(c, pos)) &&
		    (IS_L(c, pos) || (pos + 1 < e && IS_L(c, pos + 1)))) {
			pos++;
			while (pos < e && IS_L(c, pos))
				pos++;
			goto emit;
		}
		if (IS_N(c, pos)) {
			while (pos < e && IS_N(c, pos) && pos - start < maxdig)
				pos++;
			goto emit;
		}
		q = (cp == ' ') ? pos + 1 : pos;
		if (q < e ? !(F(c, q) & (TOK_CF_SPACE | TOK_CF_LETTER | TOK_CF_NUMBER)) : 1) {
			/* a space at the very end falls through to here too */
			pos = q;
			while (pos < e && !(F(c, pos) & (TOK_CF_SPACE | TOK_CF_LETTER | TOK_CF_NUMBER)))
				pos++;
			while (pos < e && (c->cp[pos] == '\r' || c->cp[pos] == '\n'))
				pos++;
			goto emit;
		}
		nws = 0;
		last_nl = 0;
		while (pos + nws < e && IS_WS(c, pos + nws)) {
			if (c->cp[pos + nws] == '\r' || c->cp[pos + nws] == '\n')
				last_nl = pos + nws + 1;
			nws++;
		}
		if (last_nl > 0)
			pos = last_nl;		/* \s*[\r\n]+ */
		else if (nws > 1 && pos + nws < e)
			pos += nws - 1;		/* \s+(?!\S) */
		else if (nws > 0)
			pos += nws;		/* \s+ */
		else
			pos++;
emit:
		if (pieces_push(out, pos - start))
			return DK_ENOMEM;
	}
	return 0;
}

/* ---- matchers (note 2) ---- */

typedef size_t (*match_fn)(const struct tok_cpts *c, size_t p, size_t s, size_t e);

/* eff - the codepoint std::wregex sees (note 3) */
static uint32_t eff(const struct tok_cpts *c, size_t i)
{
	return (c->cp[i] > 0x7f && IS_WS(c, i)) ? 0x0b : c->cp[i];
}

static int in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i][0] && cp <= r[i][1])
			return 1;
	return 0;
}

/* deepseek-llm's explicit letter class, as written in its tokenizer.json */
static const uint32_t dsl_letter[][2] = {
	{ 0x0041, 0x005A }, { 0x0061, 0x007A }, { 0x00B5, 0x00B5 }, { 0x00C0, 0x00D6 },
	{ 0x00D8, 0x00F6 }, { 0x00F8, 0x01BA }, { 0x01BC, 0x01BF }, { 0x01C4, 0x0293 },
	{ 0x0295, 0x02AF }, { 0x0370, 0x0373 }, { 0x0376, 0x0377 }, { 0x037B, 0x037D },
	{ 0x037F, 0x037F }, { 0x0386, 0x0386 }, { 0x0388, 0x038A }, { 0x038C, 0x038C },
	{ 0x038E, 0x03A1 }, { 0x03A3, 0x03F5 }, { 0x03F7, 0x0481 }, { 0x048A, 0x052F },
	{ 0x0531, 0x0556 }, { 0x10A0, 0x10C5 }, { 0x13A0, 0x13F5 }, { 0x13F8, 0x13FD },
	{ 0x1C90, 0x1CBA }, { 0x1CBD, 0x1CBF }, { 0x1D00, 0x1D2B }, { 0x1D6B, 0x1D77 },
	{ 0x1D79, 0x1D9A }, { 0x1E00, 0x1F15 }, { 0x1F18, 0x1F1D }, { 0x1F20, 0x1F45 },
	{ 0x1F48, 0x1F4D }, { 0x1F50, 0x1F57 }, { 0x1F59, 0x1F59 }, { 0x1F5B, 0x1F5B },
	{ 0x1F5D, 0x1F5D }, { 0x1F5F, 0x1F7D }, { 0x1F80, 0x1FB4 }, { 0x1FB6, 0x1FBC },
	{ 0x1FBE, 0x1FBE }, { 0x1FC2, 0x1FC4 }, { 0x1FC6, 0x1FCC }, { 0x1FD0, 0x1FD3 },
	{ 0x1FD6, 0x1FDB }, { 0x1FE0, 0x1FEC }, { 0x1FF2, 0x1FF4 }, { 0x1FF6, 0x1FFC },
	{ 0x2102, 0x2102 }, { 0x2107, 0x2107 }, { 0x210A, 0x2113 }, { 0x2115, 0x2115 },
	{ 0x2119, 0x211D }, { 0x2124, 0x2124 }, { 0x2126, 0x2126 }, { 0x2128, 0x2128 },
	{ 0x212A, 0x212D }, { 0x212F, 0x2134 }, { 0x2139, 0x2139 }, { 0x213C, 0x213F },
	{ 0x2145, 0x2149 }, { 0x214E, 0x214E }, { 0x2183, 0x2184 }, { 0x2C00, 0x2C7B },
	{ 0x2C7E, 0x2CE4 }, { 0x2CEB, 0x2CEE }, { 0x2CF2, 0x2CF3 }, { 0xA640, 0xA66D },
	{ 0xA680, 0xA69B }, { 0xA722, 0xA76F }, { 0xA771, 0xA787 }, { 0xA78B, 0xA78E },
	{ 0xAB70, 0xABBF }, { 0xFB00, 0xFB06 }, { 0xFB13, 0xFB17 }, { 0xFF21, 0xFF3A },
	{ 0xFF41, 0xFF5A }, { 0x10400, 0x1044F }, { 0x104B0, 0x104D3 }, { 0x104D8, 0x104FB },
	{ 0x10C80, 0x10CB2 }, { 0x10CC0, 0x10CF2 }, { 0x118A0, 0x118DF }, { 0x1E900, 0x1E943 },
};
static const uint32_t dsl_punct[][2] = {
	{ 0x0021, 0x002F }, { 0x003A, 0x007E }, { 0xFF01, 0xFF0F }, { 0xFF1A, 0xFF5E },
	{ 0x2018, 0x201F }, { 0x3000, 0x3002 },
};
/* [一-龥ࠀ-一가-퟿] */
static const uint32_t cjk[][2] = {
	{ 0x4E00, 0x9FA5 }, { 0x0800, 0x4E00 }, { 0xAC00, 0xD7FF },
};
#define NR(a) (sizeof a / sizeof a[0])

static int dsl_letter_at(const struct tok_cpts *c, size_t i)
{
	return in_ranges(eff(c, i), dsl_letter, NR(dsl_letter));
}

static int dsl_punct_at(const struct tok_cpts *c, size_t i)
{
	return in_ranges(eff(c, i), dsl_punct, NR(dsl_punct));
}

static int cjk_at(const struct tok_cpts *c, size_t i)
{
	return in_ranges(eff(c, i), cjk, NR(cjk));
}

static int l_at(const struct tok_cpts *c, size_t i) { return IS_L(c, i) != 0; }
static int p_at(const struct tok_cpts *c, size_t i) { return IS_P(c, i) != 0; }

/* [\p{P}\$\+<=>\^~\|]: the default pre-tokenizer's first class */
static int punct_sym_at(const struct tok_cpts *c, size_t i)
{
	uint32_t cp = c->cp[i];

	return IS_P(c, i) || (cp < 0x80 && cp && strchr("$+<=>^~|", (int)cp) != NULL);
}

/* the same plus the backquote: falcon's first class */
static int punct_sym_bq_at(const struct tok_cpts *c, size_t i)
{
	return punct_sym_at(c, i) || c->cp[i] == '`';
}

/* [^(\s|.,!?…。，、।۔،)] - poro/bloom/viking */
static int poro_word_at(const struct tok_cpts *c, size_t i)
{
	static const uint32_t stop[] = { '(', '|', '.', ',', '!', '?', 0x2026, 0x3002,
					 0xff0c, 0x3001, 0x0964, 0x06d4, 0x060c, ')' };
	uint32_t cp = eff(c, i);

	if (IS_WS(c, i))
		return 0;
	for (size_t k = 0; k < NR(stop); k++)
		if (cp == stop[k])
			return 0;
	return 1;
}

typedef int (*class_fn)(const struct tok_cpts *c, size_t i);

static size_t run_of(const struct tok_cpts *c, size_t p, size_t e, class_fn in)
{
	size_t q = p;

	while (q < e && in(c, q))
		q++;
	return q - p;
}

/* opt_ws_run - \s?[class]+ ; only_space: " ?[class]+" */
static size_t opt_ws_run(const struct tok_cpts *c, size_t p, size_t e, class_fn in, int only_space)
{
	int lead = only_space ? c->cp[p] == ' ' : IS_WS(c, p) != 0;

	if (lead && p + 1 < e && in(c, p + 1))
		return 1 + run_of(c, p + 1, e, in);
	return run_of(c, p, e, in);
}

static size_t m_punct_sym(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return run_of(c, p, e, punct_sym_at);
}

static size_t m_punct_sym_bq(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return run_of(c, p, e, punct_sym_bq_at);
}

static size_t m_three_digits(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	for (size_t k = 0; k < 3; k++)
		if (p + k >= e || c->cp[p + k] < '0' || c->cp[p + k] > '9')
			return 0;
	return 3;
}

static size_t m_num1(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	(void)e;
	return IS_N(c, p) ? 1 : 0;
}

static size_t m_nums(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	size_t q = p;

	(void)s;
	while (q < e && IS_N(c, q))
		q++;
	return q - p;
}

static size_t m_crlf(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	(void)e;
	return (c->cp[p] == '\r' || c->cp[p] == '\n') ? 1 : 0;
}

static size_t m_ws_letters(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return opt_ws_run(c, p, e, l_at, 0);
}

static size_t m_ws_puncts(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return opt_ws_run(c, p, e, p_at, 0);
}

static size_t m_dsl_letters(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return opt_ws_run(c, p, e, dsl_letter_at, 0);
}

static size_t m_dsl_puncts(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return opt_ws_run(c, p, e, dsl_punct_at, 0);
}

static size_t m_cjk(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return run_of(c, p, e, cjk_at);
}

static size_t m_poro(const struct tok_cpts *c, size_t p, size_t s, size_t e)
{
	(void)s;
	return opt_ws_run(c, p, e, poro_word_at, 1);
}

/* split_matcher - regex_iterator over each piece (note 1) */
static int split_matcher(const struct tok_cpts *c, const struct pieces *in, match_fn m,
			 struct pieces *out)
{
	size_t s = 0;

	for (size_t k = 0; k < in->n; k++) {
		size_t e = s + in->len[k], last = s, p = s;

		while (p < e) {
			size_t len = m(c, p, s, e);

			if (len == 0) {
				p++;
				continue;
			}
			if (pieces_push(out, p - last) || pieces_push(out, len))
				return DK_ENOMEM;
			p += len;
			last = p;
		}
		if (pieces_push(out, e - last))
			return DK_ENOMEM;
		s = e;
	}
	return 0;
}

/* split_trailing_ws - \s+$ : only the whitespace run that ends a piece matches */
static int split_trailing_ws(const struct tok_cpts *c, const struct pieces *in, struct pieces *out)
{
	size_t s = 0;

	for (size_t k = 0; k < in->n; k++) {
		size_t e = s + in->len[k], t = e;

		while (t > s && IS_WS(c, t - 1))
			t--;
		if (pieces_push(out, t - s) || pieces_push(out, e - t))
			return DK_ENOMEM;
		s = e;
	}
	return 0;
}

enum step { S_GPT2, S_LLAMA3, S_QWEN2, S_TRAILING_WS, S_MATCH };

struct rule {
	enum step step;
	match_fn m;
};

static int apply(const struct tok_cpts *c, const struct rule *r, const struct pieces *in,
		 struct pieces *out)
{
	size_t s = 0;
	int rc = 0;

	switch (r->step) {
	case S_MATCH:
		return split_matcher(c, in, r->m, out);
	case S_TRAILING_WS:
		return split_trailing_ws(c, in, out);
	default:
		break;
	}
	for (size_t k = 0; k < in->n && rc == 0; k++) {
		size_t e = s + in->len[k];

		if (r->step == S_GPT2)
			rc = split_gpt2_piece(c, s, e, out);
		else
			rc = split_llama3_piece(c, s, e, r->step == S_LLAMA3 ? 3 : 1, out);
		s = e;
	}
	return rc;
}

/* rules_for - llama.cpp's regex list for each pre-tokenizer family */
static size_t rules_for(enum tok_pre pre, struct rule r[6])
{
	switch (pre) {
	case TOK_PRE_LLAMA3:
	case TOK_PRE_CHATGLM4:
		r[0] = (struct rule){ S_LLAMA3, NULL };
		return 1;
	case TOK_PRE_QWEN2:
		r[0] = (struct rule){ S_QWEN2, NULL };
		return 1;
	case TOK_PRE_DEEPSEEK_LLM:
		r[0] = (struct rule){ S_MATCH, m_crlf };
		r[1] = (struct rule){ S_MATCH, m_dsl_letters };
		r[2] = (struct rule){ S_MATCH, m_dsl_puncts };
		r[3] = (struct rule){ S_TRAILING_WS, NULL };
		r[4] = (struct rule){ S_MATCH, m_cjk };
		r[5] = (struct rule){ S_MATCH, m_nums };
		return 6;
	case TOK_PRE_DEEPSEEK_CODER:
		r[0] = (struct rule){ S_MATCH, m_crlf };
		r[1] = (struct rule){ S_MATCH, m_ws_letters };
		r[2] = (struct rule){ S_MATCH, m_ws_puncts };
		r[3] = (struct rule){ S_MATCH, m_cjk };
		r[4] = (struct rule){ S_MATCH, m_num1 };
		return 5;
	case TOK_PRE_FALCON:
		r[0] = (struct rule){ S_MATCH, m_punct_sym_bq };
		r[1] = (struct rule){ S_GPT2, NULL };
		r[2] = (struct rule){ S_MATCH, m_three_digits };
		return 3;
	case TOK_PRE_STARCODER:
		r[0] = (struct rule){ S_MATCH, m_num1 };
		r[1] = (struct rule){ S_GPT2, NULL };
		return 2;
	case TOK_PRE_GPT2:
		r[0] = (struct rule){ S_GPT2, NULL };
		return 1;
	case TOK_PRE_PORO:
		r[0] = (struct rule){ S_MATCH, m_poro };
		return 1;
	case TOK_PRE_VIKING:
		r[0] = (struct rule){ S_MATCH, m_poro };
		r[1] = (struct rule){ S_MATCH, m_num1 };
		return 2;
	case TOK_PRE_DEFAULT:
	default:
		r[0] = (struct rule){ S_MATCH, m_punct_sym };
		r[1] = (struct rule){ S_GPT2, NULL };
		r[2] = (struct rule){ S_MATCH, m_nums };
		r[3] = (struct rule){ S_MATCH, m_three_digits };
		return 4;
	}
}

/* encode_words - re-encode the pieces as UTF-8 words (note 4) */
static int encode_words(const struct tok_cpts *c, const struct pieces *p, struct tok_words *out)
{
	size_t pos = 0;

	out->text = malloc(c->n * 4 + 1);
	out->wlen = malloc((p->n + 1) * sizeof *out->wlen);
	if (out->text == NULL || out->wlen == NULL)
		return DK_ENOMEM;
	out->len = 0;
	for (size_t k = 0; k < p->n; k++) {
		size_t start = out->len;

		for (size_t i = 0; i < p->len[k]; i++, pos++)
			out->len += tok_utf8_put(c->cp[pos], out->text + out->len);
		out->wlen[out->n++] = out->len - start;
	}
	out->text[out->len] = 0;
	return 0;
}

/* tok_pretok_split - split s[0..len) into words for byte-level BPE */
int tok_pretok_split(enum tok_pre pre, const char *s, size_t len, struct tok_words *out)
{
	struct tok_cpts c;
	struct pieces a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	struct rule rules[6];
	size_t nr = rules_for(pre, rules);
	int rc;

	memset(out, 0, sizeof *out);
	rc = tok_cpts_decode(s, len, &c);
	if (rc)
		return rc;
	rc = pieces_push(&a, c.n);
	for (size_t k = 0; k < nr && rc == 0; k++) {
		struct pieces t;

		b.n = 0;
		rc = apply(&c, &rules[k], &a, &b);
		t = a;
		a = b;
		b = t;
	}
	if (rc == 0)
		rc = encode_words(&c, &a, out);
	if (rc)
		tok_words_release(out);
	free(a.len);
	free(b.len);
	tok_cpts_release(&c);
	return rc;
}

/* tok_words_release - free the words */
void tok_words_release(struct tok_words *w)
{
	free(w->text);
	free(w->wlen);
	memset(w, 0, sizeof *w);
}
