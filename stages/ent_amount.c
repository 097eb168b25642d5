/*
 * NAME
 *	ent_amount - sums of money, normalized to "1250.00 EUR"
 * DESIGN NOTES
 *	1. An amount is a number with a currency right before or after it,
 *	   at most one space apart (a sign may also end the line before its
 *	   number; a sign on the next line belongs to the next cell): "1.250,00 €", "€ 1,250.00", "€6,500,000",
 *	   "1 250,00 EUR", "CHF 1'250.–", "2 000 euros", "8 460,00 zł". The
 *	   currency is a symbol, an ISO code or a name, all from ICU (ent_lex).
 *	2. Separators: a separator followed by exactly three digits groups
 *	   thousands ('.', ',', space, no-break space, apostrophe); '.' or ','
 *	   followed by one or two digits is the decimal mark; ".–" and ",-"
 *	   mean no cents. Groups must use one separator throughout, and the
 *	   decimal mark must differ from it.
 *	3. Structured invoices (UBL, CII) state the currency once on a line of
 *	   its own and the sums as bare "3070.00" lines: when a line holds
 *	   only a known ISO code, lines holding only a number with two decimals
 *	   are amounts in that currency.
 *	4. A short currency word in lower case ASCII ("ft", "kr") counts only
 *	   in a document of a language that uses it: "12 ft" is a length in
 *	   English.
 */
#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>

#include "stages/ent_internal.h"

struct money {
	size_t end;		/* just past the number */
	char digits[40];	/* integer part without separators */
	char frac[3];		/* two decimals */
};

static bool dig(const struct ent_ctx *c, size_t i)
{
	return i < c->n && c->s[i] >= '0' && c->s[i] <= '9';
}

/* group_sep_len - length of a thousands separator at i, or 0 */
static size_t group_sep_len(const struct ent_ctx *c, size_t i)
{
	if (i >= c->n)
		return 0;
	if (c->s[i] == '.' || c->s[i] == ',' || c->s[i] == '\'')
		return 1;
	if (i + 3 <= c->n && memcmp(c->s + i, "\xe2\x80\x99", 3) == 0)
		return 3;
	return ent_space_len(c, i);
}

/* dash_len - "-" or "–" standing for zero cents */
static size_t dash_len(const struct ent_ctx *c, size_t i)
{
	if (i < c->n && c->s[i] == '-')
		return 1;
	return i + 3 <= c->n && memcmp(c->s + i, "\xe2\x80\x93", 3) == 0 ? 3 : 0;
}

static bool add_digits(struct money *m, size_t *nd, const char *s, size_t k)
{
	if (*nd + k >= sizeof m->digits)
		return false;
	memcpy(m->digits + *nd, s, k);
	*nd += k;
	m->digits[*nd] = 0;
	return true;
}

/* parse_money - the number at p (note 2) */
static bool parse_money(const struct ent_ctx *c, size_t p, struct money *m)
{
	size_t g = ent_digits(c, p), i = p + g, nd = 0;
	char gsep[4] = "";
	size_t gsep_len = 0;

	if (g == 0 || !add_digits(m, &nd, c->s + p, g))
		return false;
	memcpy(m->frac, "00", 3);
	for (;;) {
		size_t k = group_sep_len(c, i), d = k ? ent_digits(c, i + k) : 0;

		if (k && d == 3 && !dig(c, i + k + 3) && g <= 3 && !(gsep_len &&
		    (k != gsep_len || memcmp(gsep, c->s + i, k) != 0))) {
			memcpy(gsep, c->s + i, k);
			gsep_len = k;
			add_digits(m, &nd, c->s + i + k, 3);
			i += k + 3;
			g = 3;
			continue;
		}
		break;
	}
	if (i < c->n && (c->s[i] == ',' || c->s[i] == '.') &&
	    !(gsep_len == 1 && gsep[0] == c->s[i])) {
		size_t d = ent_digits(c, i + 1), dl = dash_len(c, i + 1);

		if ((d == 1 || d == 2) && ent_word_edge_after(c, i + 1 + d)) {
			m->frac[0] = c->s[i + 1];
			m->frac[1] = d == 2 ? c->s[i + 2] : '0';
			i += 1 + d;
		} else if (dl) {
			i += 1 + dl;
		}
	}
	if (dig(c, i) || (i + 1 < c->n && (c->s[i] == ',' || c->s[i] == '.') && dig(c, i + 1)))
		return false;
	m->end = i;
	return ent_word_edge_after(c, i);
}

/* short_word_ok - note 4 */
static bool short_word_ok(const struct ent_ctx *c, size_t a, size_t b, const char *key)
{
	bool ascii = true, upper = true;

	if (b - a > 2)
		return true;
	for (size_t i = a; i < b; i++) {
		ascii = ascii && (unsigned char)c->s[i] < 0x80;
		upper = upper && c->s[i] >= 'A' && c->s[i] <= 'Z';
	}
	if (!ascii)
		return true;
	return !upper && ent_lex_currency_in(key, c->lang);
}

/* abbreviation - a currency word of at most three letters in lower or mixed case ("kr", "Kč") */
static bool abbreviation(const struct ent_ctx *c, size_t a, size_t b)
{
	int letters = 0;
	bool lower = false;

	for (size_t i = a; i < b; letters++) {
		size_t next;
		int32_t cp = ent_cp(c, i, &next);

		lower = lower || u_islower(cp);
		i = next;
	}
	return letters <= 3 && lower;
}

/*
 * currency_at - ISO code of a currency sign or word at i, *end past it;
 * before a number only a sign, an ISO code or an abbreviation counts ("EUR
 * 100", "€ 100", "kr. 1.250,00"): a full name there is the end of
 * spelled-out words ("zwei złote 00/100")
 */
static const char *currency_at(const struct ent_ctx *c, size_t i, size_t *end, bool prefix)
{
	size_t len = 0, e;
	const char *code = ent_lex_currency_symbol(c->s + i, c->n - i, &len);
	char key[128];

	if (code) {
		*end = i + len;
		return code;
	}
	e = ent_word_end(c, i);
	if (e == i || !ent_word_key(c, i, e, key, sizeof key))
		return NULL;
	if (prefix && !(e - i == 3 && ent_lex_currency_code(c->s + i, 3)) && !abbreviation(c, i, e))
		return NULL;
	code = ent_lex_currency_word(key, c->lang);
	if (code == NULL || !short_word_ok(c, i, e, key))
		return NULL;
	*end = e;
	return code;
}

static int emit_money(struct ent_ctx *c, size_t a, size_t b, const struct money *m,
		      const char *code)
{
	char v[64];
	const char *d = m->digits;

	if (!ent_free_span(c, a, b))
		return 0;
	while (d[0] == '0' && d[1] != 0)
		d++;
	snprintf(v, sizeof v, "%s.%s %s", d, m->frac, code);
	return ent_emit(c, ENT_AMOUNT, a, b, v, 0.95);
}

static bool glued_number(const struct ent_ctx *c, size_t p)
{
	if (!ent_word_edge_before(c, p))
		return true;
	return p >= 2 && (c->s[p - 1] == '.' || c->s[p - 1] == ',') && dig(c, p - 2);
}

/* amount_at - currency then number, or number then currency (note 1) */
static int amount_at(struct ent_ctx *c, size_t i, size_t *next)
{
	struct money m;
	size_t ce, p;
	const char *code;

	*next = i + 1;
	if (ent_word_edge_before(c, i) && (code = currency_at(c, i, &ce, true)) != NULL) {
		if (ce < c->n && c->s[ce] == '.' && u_isalpha(ent_cp(c, i, NULL)))
			ce++;
		p = ce + ent_gap_len(c, ce);
		if (dig(c, p) &&
		    parse_money(c, p, &m)) {
			*next = m.end;
			return emit_money(c, i, m.end, &m, code);
		}
	}
	if (!dig(c, i) || glued_number(c, i))
		return 0;
	if (!parse_money(c, i, &m)) {
		*next = i + ent_digits(c, i);
		return 0;
	}
	*next = m.end;
	p = m.end + ent_space_len(c, m.end);
	code = p < c->n ? currency_at(c, p, &ce, false) : NULL;
	if (code == NULL)
		return 0;
	*next = ce;
	return emit_money(c, i, ce, &m, code);
}

/* line_only - trimmed bounds of the line at i */
static void line_trim(const struct ent_ctx *c, size_t i, size_t *a, size_t *b)
{
	*a = i;
	*b = ent_line_end(c, i);
	while (*a < *b && (c->s[*a] == ' ' || c->s[*a] == '\t' || c->s[*a] == '\r'))
		(*a)++;
	while (*b > *a && (c->s[*b - 1] == ' ' || c->s[*b - 1] == '\t' || c->s[*b - 1] == '\r'))
		(*b)--;
}

/* document_currency - the ISO code standing alone on a line (note 3) */
static const char *document_currency(const struct ent_ctx *c)
{
	for (size_t i = 0; i < c->n; i = ent_line_end(c, i) + 1) {
		size_t a, b;

		line_trim(c, i, &a, &b);
		if (b - a == 3 && ent_lex_currency_code(c->s + a, 3))
			return ent_lex_currency_code(c->s + a, 3);
	}
	return NULL;
}

static int bare_amounts(struct ent_ctx *c, const char *code)
{
	for (size_t i = 0; i < c->n; i = ent_line_end(c, i) + 1) {
		size_t a, b, d;
		struct money m;
		int rc;

		line_trim(c, i, &a, &b);
		d = ent_digits(c, a);
		if (d == 0 || d > 12 || b != a + d + 3 || c->s[a + d] != '.' ||
		    ent_digits(c, a + d + 1) != 2)
			continue;
		memcpy(m.digits, c->s + a, d);
		m.digits[d] = 0;
		m.frac[0] = c->s[a + d + 1];
		m.frac[1] = c->s[a + d + 2];
		m.frac[2] = 0;
		rc = emit_money(c, a, b, &m, code);
		if (rc)
			return rc;
	}
	return 0;
}

/* ent_find_amounts - every amount with a currency */
int ent_find_amounts(struct ent_ctx *c)
{
	const char *doc_cur = document_currency(c);
	size_t i = 0;

	while (i < c->n) {
		size_t next;
		int rc = amount_at(c, i, &next);

		if (rc)
			return rc;
		if (next <= i)
			next = i + 1;
		while (next < c->n && ((unsigned char)c->s[next] & 0xC0) == 0x80)
			next++;
		i = next;
	}
	return doc_cur ? bare_amounts(c, doc_cur) : 0;
}
