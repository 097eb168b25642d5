/*
 * NAME
 *	tok_unicode - the Unicode facts the tokenizers need
 * DESIGN NOTES
 *	1. UTF-8 decoding follows llama.cpp's unicode_cpts_from_utf8 exactly:
 *	   a lead byte announces the length, continuation bytes must be
 *	   10xxxxxx and present; otherwise that one byte becomes U+FFFD and
 *	   decoding resumes at the next byte. Overlong forms are accepted as
 *	   llama.cpp accepts them. Values above U+10FFFF (F5..F7 leads) become
 *	   U+FFFD, because they cannot be re-encoded.
 *	2. General categories come from ICU (u_charType; ICU 72 = Unicode 15,
 *	   the version llama.cpp's tables were generated from). "\s" is not a
 *	   category: it is llama.cpp's fixed whitespace set (Python's \s),
 *	   which leaves out U+001C..U+001F.
 *	3. Lower-casing is ICU's simple mapping; NFD keeps only the first
 *	   codepoint of the full decomposition, as llama.cpp's nfd table does.
 */
#include <stdlib.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "engine/tok_impl.h"
#include "util/dk_err.h"

/* tok_utf8_len - sequence length announced by a lead byte (llama.cpp's table) */
size_t tok_utf8_len(unsigned char lead)
{
	static const unsigned char len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };

	return len[lead >> 4];
}

/* decode_one - one codepoint at s[*i], advancing *i (note 1) */
static uint32_t decode_one(const unsigned char *s, size_t len, size_t *i)
{
	size_t k = *i, need;
	uint32_t cp;
	unsigned char c = s[k];

	if (c < 0x80) {
		*i = k + 1;
		return c;
	}
	if ((c & 0x40) == 0)
		goto bad;
	if ((c & 0x20) == 0) {
		need = 1;
		cp = c & 0x1f;
	} else if ((c & 0x10) == 0) {
		need = 2;
		cp = c & 0x0f;
	} else if ((c & 0x08) == 0) {
		need = 3;
		cp = c & 0x07;
	} else {
		goto bad;
	}
	if (k + need >= len)
		goto bad;
	for (size_t j = 1; j <= need; j++) {
		if ((s[k + j] & 0xc0) != 0x80)
			goto bad;
		cp = (cp << 6) | (s[k + j] & 0x3f);
	}
	*i = k + need + 1;
	return cp > 0x10ffff ? 0xfffd : cp;
bad:
	*i = k + 1;
	return 0xfffd;
}

/* is_space - llama.cpp's whitespace set (note 2) */
static int is_space(uint32_t cp)
{
	if ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	    cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return 1;
	return 0;
}

/* tok_cpt_flags - category bits plus TOK_CF_SPACE for one codepoint */
unsigned tok_cpt_flags(uint32_t cp)
{
	unsigned f = 0;

	if (cp > 0x10ffff)
		return TOK_CF_UNDEF;
	switch (u_charType((UChar32)cp)) {
	case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
	case U_MODIFIER_LETTER: case U_OTHER_LETTER:
		f = TOK_CF_LETTER; break;
	case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
		f = TOK_CF_NUMBER; break;
	case U_SPACE_SEPARATOR: case U_LINE_SEPARATOR: case U_PARAGRAPH_SEPARATOR:
		f = TOK_CF_SEP; break;
	case U_NON_SPACING_MARK: case U_ENCLOSING_MARK: case U_COMBINING_SPACING_MARK:
		f = TOK_CF_MARK; break;
	case U_DASH_PUNCTUATION: case U_START_PUNCTUATION: case U_END_PUNCTUATION:
	case U_CONNECTOR_PUNCTUATION: case U_OTHER_PUNCTUATION:
	case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
		f = TOK_CF_PUNCT; break;
	case U_MATH_SYMBOL: case U_CURRENCY_SYMBOL: case U_MODIFIER_SYMBOL:
	case U_OTHER_SYMBOL:
		f = TOK_CF_SYMBOL; break;
	case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_PRIVATE_USE_CHAR:
	case U_SURROGATE:
		f = TOK_CF_CONTROL; break;
	default:
		f = TOK_CF_UNDEF; break;
	}
	if (is_space(cp))
		f |= TOK_CF_SPACE;
	return f;
}

/* tok_cpts_decode - codepoints and flags of s[0..len) */
int tok_cpts_decode(const char *s, size_t len, struct tok_cpts *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0;

	out->cp = malloc((len + 1) * sizeof *out->cp);
	out->flags = malloc((len + 1) * sizeof *out->flags);
	out->n = 0;
	if (out->cp == NULL || out->flags == NULL) {
		tok_cpts_release(out);
		return DK_ENOMEM;
	}
	while (i < len) {
		uint32_t cp = decode_one(u, len, &i);

		out->cp[n] = cp;
		out->flags[n] = (uint16_t)tok_cpt_flags(cp);
		n++;
	}
	out->n = n;
	return 0;
}

/* tok_cpts_release - free the arrays */
void tok_cpts_release(struct tok_cpts *c)
{
	free(c->cp);
	free(c->flags);
	c->cp = NULL;
	c->flags = NULL;
	c->n = 0;
}

/* tok_utf8_put - encode cp (<= U+10FFFF) into out, return the byte count */
size_t tok_utf8_put(uint32_t cp, char out[4])
{
	if (cp <= 0x7f) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp <= 0x7ff) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp <= 0xffff) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* tok_cpt_lower - simple lower-case mapping (note 3) */
uint32_t tok_cpt_lower(uint32_t cp)
{
	return cp > 0x10ffff ? cp : (uint32_t)u_tolower((UChar32)cp);
}

/* tok_cpt_nfd_first - first codepoint of cp's canonical decomposition (note 3) */
uint32_t tok_cpt_nfd_first(uint32_t cp)
{
	UErrorCode ec = U_ZERO_ERROR;
	const UNormalizer2 *nfd = unorm2_getNFDInstance(&ec);
	UChar buf[32];
	int32_t n;
	UChar32 first;

	if (U_FAILURE(ec) || cp > 0x10ffff)
		return cp;
	n = unorm2_getDecomposition(nfd, (UChar32)cp, buf, 32, &ec);
	if (U_FAILURE(ec) || n <= 0)
		return cp;
	U16_GET(buf, 0, 0, n, first);
	return (uint32_t)first;
}
