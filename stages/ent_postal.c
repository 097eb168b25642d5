/*
 * NAME
 *	ent_postal - postal codes, only where they sit in an address
 * DESIGN NOTES
 *	1. Shapes of EU postal codes: 5 digits (DE FR IT ES FI EE HR LT),
 *	   "1234 AB" (NL), "00-950" (PL), "1000-001" (PT), "123 45" (CZ SK SE
 *	   GR), 4 digits (BE AT DK LU HU SI BG CY LV), 6 digits (RO), "VLT 1117"
 *	   (MT), a country prefix "L-3345", "D-79098", "LV-1050", and the Irish
 *	   Eircode "A96 R8C4".
 *	2. Digits are everywhere, so a code counts only in address position:
 *	   followed on the same line by a capitalized place name, and preceded
 *	   by the start of the line, a comma or dash, or a house or PO box
 *	   number. After a comma the place name may wrap to the next line. A
 *	   code alone on its line counts when the line before is a place name
 *	   (structured invoices list street, city, code).
 *	   The Eircode's shape is distinctive enough to stand alone.
 *	3. Four-digit codes that read as years (1900..2099) at the start of a
 *	   line are left alone: "2025 Jan Jansen" is a date line, not Antwerp.
 *	   Bare digits that open a line count only under a line with a house
 *	   or box number, itself not opened by a long number: "5000 Blatt
 *	   Papier" and the rows under it in a table are quantities.
 */
#include <string.h>

#include <unicode/uchar.h>

#include "stages/ent_internal.h"

/* at - the byte at i, or 0 past the end (the text has no terminator) */
static char at(const struct ent_ctx *c, size_t i)
{
	return i < c->n ? c->s[i] : 0;
}

static bool dig(const struct ent_ctx *c, size_t i)
{
	return i < c->n && c->s[i] >= '0' && c->s[i] <= '9';
}

static bool up(const struct ent_ctx *c, size_t i)
{
	return i < c->n && c->s[i] >= 'A' && c->s[i] <= 'Z';
}

/* eircode_len - "A96 R8C4": routing key, space, unique identifier */
static size_t eircode_len(const struct ent_ctx *c, size_t p)
{
	static const char ok[] = "ACDEFHKNPRTVWXY0123456789";
	int letters = 0;

	if (!up(c, p) || !dig(c, p + 1) || !(dig(c, p + 2) || at(c, p + 2) == 'W') ||
	    p + 8 > c->n || at(c, p + 3) != ' ')
		return 0;
	for (size_t i = p + 4; i < p + 8; i++) {
		if (at(c, i) == 0 || strchr(ok, at(c, i)) == NULL)
			return 0;
		letters += up(c, i);
	}
	return letters > 0 && letters < 4 && ent_word_edge_after(c, p + 8) ? 8 : 0;
}

/* country_prefix - the letters before "-" in "L-3345" name an EU/EEA country */
static bool country_prefix(const char *s, size_t k)
{
	static const char *const cc[] = {
		"A", "B", "D", "F", "I", "L", "H", "S", "NL", "LV", "LT", "EE", "FI", "SE",
		"DK", "CH", "CZ", "SK", "PL", "PT", "ES", "IT", "FR", "DE", "AT", "BE", "LU",
		"SI", "HR", "HU", "BG", "RO", "GR", "CY", "MT", "IE", "NO", "IS", "LI",
	};

	for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++)
		if (strlen(cc[i]) == k && memcmp(cc[i], s, k) == 0)
			return true;
	return false;
}

/* code_len - length of a postal code shape at p (note 1), *four if 4 bare digits */
static size_t code_len(const struct ent_ctx *c, size_t p, bool *four)
{
	size_t d = ent_digits(c, p), k = 0;

	*four = false;
	if (up(c, p)) {
		while (up(c, p + k) && k < 3)
			k++;
		if (k == 3 && at(c, p + 3) == ' ' && ent_digits(c, p + 4) == 4)
			return 8;
		if (k > 2 || at(c, p + k) != '-' || !country_prefix(c->s + p, k))
			return 0;
		d = ent_digits(c, p + k + 1);
		return d == 4 || d == 5 ? k + 1 + d : 0;
	}
	if (d == 5 || d == 6)
		return d;
	if (d == 2 && at(c, p + 2) == '-' && ent_digits(c, p + 3) == 3)
		return 6;
	if (d == 3 && at(c, p + 3) == ' ' && ent_digits(c, p + 4) == 2)
		return 6;
	if (d != 4)
		return 0;
	if (at(c, p + 4) == '-' && ent_digits(c, p + 5) == 3)
		return 8;
	if (at(c, p + 4) == ' ' && up(c, p + 5) && up(c, p + 6) &&
	    ent_word_edge_after(c, p + 7))
		return 7;
	*four = true;
	return 4;
}

/* place_after - a capitalized word follows, on the same line unless wrap */
static bool place_after(const struct ent_ctx *c, size_t e, bool wrap)
{
	size_t sp = wrap ? ent_gap_len(c, e) : ent_space_len(c, e);
	int32_t cp;

	if (sp == 0)
		return false;
	e += sp;
	if (e < c->n && c->s[e] == '\'')
		e += 3;
	cp = e < c->n ? ent_cp(c, e, NULL) : -1;
	return cp > 0 && (u_isupper(cp) || u_istitle(cp)) && ent_word_end(c, e) > e + 1;
}

/* address_before - line start, comma, colon, dash, or a house number before p */
static bool address_before(const struct ent_ctx *c, size_t p, bool *line_start, bool *comma)
{
	size_t i = p;

	*line_start = false;
	*comma = false;
	while (i > 0 && (c->s[i - 1] == ' ' || c->s[i - 1] == '\t'))
		i--;
	if (i == 0 || c->s[i - 1] == '\n') {
		*line_start = true;
		return true;
	}
	*comma = c->s[i - 1] == ',';
	if (ent_in(c->s[i - 1], ",-|(:") || dig(c, i - 1))
		return i < p || *comma;
	return (i >= 3 && memcmp(c->s + i - 3, "\xe2\x80\x93", 3) == 0) ||
	       (i >= 2 && memcmp(c->s + i - 2, "\xc2\xb7", 2) == 0);
}

/* place_line_before - the previous non-blank line is a place name only (note 2) */
static bool place_line_before(const struct ent_ctx *c, size_t ls)
{
	size_t a, words = 0;

	while (ls >= 2 && c->s[ls - 2] == '\n')
		ls--;
	if (ls < 2)
		return false;
	a = ent_line_start(c, ls - 1);
	for (size_t i = a; i < ls - 1; i++) {
		if (dig(c, i) || c->s[i] == ',' || c->s[i] == ':')
			return false;
		if (i == a || c->s[i - 1] == ' ') {
			int32_t cp = ent_cp(c, i, NULL);

			if (cp != ' ' && words++ == 0 && !u_isupper(cp))
				return false;
		}
	}
	return words >= 1 && words <= 3;
}

/*
 * street_line_before - the previous non-blank line holds a digit (a house
 * or PO box number): a bare number that opens a line is a postal code only
 * under a street line, not in a table row ("5000 Blatt Papier")
 */
static bool street_line_before(const struct ent_ctx *c, size_t p)
{
	size_t ls = ent_line_start(c, p), a;

	while (ls >= 2 && c->s[ls - 2] == '\n')
		ls--;
	if (ls < 2)
		return false;
	a = ent_line_start(c, ls - 1);
	if (ent_digits(c, a) >= 4)
		return false;
	for (; a < ls - 1; a++)
		if (dig(c, a))
			return true;
	return false;
}

/* alone_on_line - nothing but blanks around [p, e) on its line */
static bool alone_on_line(const struct ent_ctx *c, size_t p, size_t e)
{
	size_t ls = ent_line_start(c, p), le = ent_line_end(c, e);

	for (size_t i = ls; i < p; i++)
		if (c->s[i] != ' ' && c->s[i] != '\t')
			return false;
	for (size_t i = e; i < le; i++)
		if (c->s[i] != ' ' && c->s[i] != '\t' && c->s[i] != '\r')
			return false;
	return place_line_before(c, ls);
}

static int emit_code(struct ent_ctx *c, size_t p, size_t e, double conf)
{
	if (!ent_free_span(c, p, e))
		return 0;
	return ent_emit_text(c, ENT_POSTAL_CODE, p, e, conf);
}

/* postal_at - a code at p in address position (notes 2, 3) */
static int postal_at(struct ent_ctx *c, size_t p, size_t *next)
{
	size_t k = eircode_len(c, p);
	bool four, line_start, comma;
	int y;

	*next = p + 1;
	if (k) {
		*next = p + k;
		return emit_code(c, p, p + k, 0.95);
	}
	k = code_len(c, p, &four);
	if (k == 0 || !ent_word_edge_after(c, p + k))
		return 0;
	*next = p + k;
	if (address_before(c, p, &line_start, &comma) && place_after(c, p + k, comma)) {
		y = four ? (c->s[p] - '0') * 1000 + (c->s[p + 1] - '0') * 100 : 0;
		if (four && line_start && (y == 1900 || y == 2000))
			return 0;
		if (line_start && (four || k == 5 || k == 6) && !street_line_before(c, p))
			return 0;
		return emit_code(c, p, p + k, 0.9);
	}
	if (!four && alone_on_line(c, p, p + k))
		return emit_code(c, p, p + k, 0.8);
	return 0;
}

/* ent_find_postal_codes - codes in address position */
int ent_find_postal_codes(struct ent_ctx *c)
{
	size_t i = 0;

	while (i < c->n) {
		size_t next = i + 1;

		if ((dig(c, i) || up(c, i)) && !c->claimed[i] && ent_word_edge_before(c, i) &&
		    !(i >= 2 && ent_in(c->s[i - 1], ".,/-") && dig(c, i - 2))) {
			int rc = postal_at(c, i, &next);

			if (rc)
				return rc;
		}
		while (next < c->n && ((unsigned char)c->s[next] & 0xC0) == 0x80)
			next++;
		i = next;
	}
	return 0;
}
