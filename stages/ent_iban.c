/*
 * NAME
 *	ent_iban - IBANs, checked by ISO 7064 mod-97 and per-country length
 * DESIGN NOTES
 *	1. Written compact ("DE86670505050038447120") or in groups of four
 *	   separated by one space ("DE86 6705 0505 0038 4471 20") or a line
 *	   break where the text wrapped; the last group may be shorter. The match ends exactly after the country's
 *	   length and must not run on into further letters or digits.
 *	2. Only the lengths of the SWIFT IBAN registry's countries are known;
 *	   an unknown country is not an IBAN. A checksum failure is not an
 *	   IBAN either: the digits are then left to the other recognizers.
 *	3. The value is the compact upper-case form.
 */
#include <string.h>

#include "stages/ent_internal.h"

/* SWIFT IBAN registry: country and total length */
static const struct { char cc[3]; unsigned char len; } iban_len[] = {
	{ "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 },
	{ "BA", 20 }, { "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BR", 29 },
	{ "BY", 28 }, { "CH", 21 }, { "CR", 22 }, { "CY", 28 }, { "CZ", 24 },
	{ "DE", 22 }, { "DK", 18 }, { "DO", 28 }, { "EE", 20 }, { "EG", 29 },
	{ "ES", 24 }, { "FI", 18 }, { "FO", 18 }, { "FR", 27 }, { "GB", 22 },
	{ "GE", 22 }, { "GI", 23 }, { "GL", 18 }, { "GR", 27 }, { "GT", 28 },
	{ "HR", 21 }, { "HU", 28 }, { "IE", 22 }, { "IL", 23 }, { "IQ", 23 },
	{ "IS", 26 }, { "IT", 27 }, { "JO", 30 }, { "KW", 30 }, { "KZ", 20 },
	{ "LB", 28 }, { "LC", 32 }, { "LI", 21 }, { "LT", 20 }, { "LU", 20 },
	{ "LV", 21 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 }, { "MK", 19 },
	{ "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NL", 18 }, { "NO", 15 },
	{ "PK", 24 }, { "PL", 28 }, { "PS", 29 }, { "PT", 25 }, { "QA", 29 },
	{ "RO", 24 }, { "RS", 22 }, { "SA", 24 }, { "SC", 31 }, { "SE", 24 },
	{ "SI", 19 }, { "SK", 24 }, { "SM", 27 }, { "ST", 25 }, { "SV", 28 },
	{ "TL", 23 }, { "TN", 24 }, { "TR", 26 }, { "UA", 29 }, { "VA", 22 },
	{ "VG", 24 }, { "XK", 20 },
};

static int country_len(const char *cc)
{
	for (size_t i = 0; i < sizeof iban_len / sizeof iban_len[0]; i++)
		if (cc[0] == iban_len[i].cc[0] && cc[1] == iban_len[i].cc[1])
			return iban_len[i].len;
	return 0;
}

static bool is_upper(char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* ent_iban_check - country length and mod-97 == 1 (note 2) */
bool ent_iban_check(const char *iban, size_t len)
{
	unsigned rem = 0;

	if (len < 15 || len > 34 || (int)len != country_len(iban))
		return false;
	for (size_t k = 0; k < len; k++) {
		char ch = iban[(k + 4) % len];

		if (is_digit(ch))
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (is_upper(ch))
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

/* iban_at - collect up to the country's length at p (note 1) */
static int iban_at(struct ent_ctx *c, size_t p, size_t *end)
{
	char v[35];
	size_t i = p, n = 0, group = 0, gap;
	int want = country_len(c->s + p);

	*end = 0;
	if (want == 0)
		return 0;
	while (i < c->n && n < (size_t)want) {
		char ch = c->s[i];

		if (is_digit(ch) || is_upper(ch)) {
			v[n++] = ch;
			group++;
			i++;
		} else if (group == 4 && (gap = ent_gap_len(c, i)) > 0 && i + gap < c->n &&
			   (is_digit(c->s[i + gap]) || is_upper(c->s[i + gap]))) {
			group = 0;
			i += gap;
		} else {
			break;
		}
	}
	if (n != (size_t)want || !ent_word_edge_after(c, i) || !ent_iban_check(v, n))
		return 0;
	v[n] = 0;
	*end = i;
	return ent_free_span(c, p, i) ? ent_emit(c, ENT_IBAN, p, i, v, 1.0) : 0;
}

/* ent_find_ibans - every IBAN that passes its checks */
int ent_find_ibans(struct ent_ctx *c)
{
	for (size_t i = 0; i + 15 <= c->n; i++) {
		size_t end;
		int rc;

		if (!is_upper(c->s[i]) || !is_upper(c->s[i + 1]) || !is_digit(c->s[i + 2]) ||
		    !is_digit(c->s[i + 3]) || !ent_word_edge_before(c, i))
			continue;
		rc = iban_at(c, i, &end);
		if (rc)
			return rc;
		if (end)
			i = end - 1;
	}
	return 0;
}
