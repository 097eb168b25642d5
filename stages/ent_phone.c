/*
 * NAME
 *	ent_phone - telephone numbers as written (value = the text)
 * DESIGN NOTES
 *	1. A number is digit groups joined by one separator each: space,
 *	   "-", " - ", ".", "/", " / ", or a parenthesized group "(0)" or
 *	   "(0621)". The value is the text itself: numbering plans differ too
 *	   much to normalize without losing what the writer meant.
 *	2. Three shapes are accepted:
 *	   - international: "+" or "00" and a country code, 9..15 digits;
 *	   - national with trunk prefix 0: 9..12 digits in at least two
 *	     groups ("0621 33 98 170", "06-29051877");
 *	   - anything else of 7..12 digits only right after a phone cue
 *	     ("tel.", "Telefon", "teléfono", "cell.", "τηλ.", ...): Spanish,
 *	     Italian and Polish numbers have no trunk prefix.
 *	   A lone run of digits without separators needs a cue as well.
 *	3. Dates, amounts and IBANs are claimed before phones run, so their
 *	   digits never become phone numbers; a number glued to letters or to
 *	   "," + digit is a decimal or an identifier, not a phone, and digits
 *	   right after "digit space" are the tail of a longer number.
 *	4. A line break may split a number where a PDF line wrapped; the
 *	   groups after it join only if the number was not complete before.
 */
#include <string.h>

#include "stages/ent_internal.h"

#define PHONE_MAX_DIGITS 15

#define PHONE_MAX_GROUPS 16

struct phone {
	size_t end;
	int digits, groups;
	char first[3];		/* first two digits after any "+" */
};

/* groups as parsed: where each ends, digits so far, reached across a line break */
struct phone_groups {
	size_t end[PHONE_MAX_GROUPS];
	int digits[PHONE_MAX_GROUPS];
	bool wrapped[PHONE_MAX_GROUPS];
	int n;
	char first[3];
};

static bool dig(const struct ent_ctx *c, size_t i)
{
	return i < c->n && c->s[i] >= '0' && c->s[i] <= '9';
}

/* sep_len - a separator at i that is followed by a digit or '(' */
static size_t sep_len(const struct ent_ctx *c, size_t i)
{
	static const char *const seps[] = { " - ", " / ", " (", "-", ".", "/", " ", "(" };

	for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
		size_t n = strlen(seps[k]);

		if (i + n <= c->n && memcmp(c->s + i, seps[k], n) == 0 &&
		    (dig(c, i + n) || (seps[k][n - 1] == '(' && dig(c, i + n + 1))))
			return seps[k][n - 1] == '(' ? n - 1 : n;
	}
	return 0;
}

/* group_at - digits at i, or "(digits)" with an optional space after */
static size_t group_at(const struct ent_ctx *c, size_t i, int *nd, size_t *end)
{
	size_t k;

	if (i < c->n && c->s[i] == '(') {
		k = ent_digits(c, i + 1);
		if (k == 0 || k > 5 || i + 1 + k >= c->n || c->s[i + 1 + k] != ')')
			return 0;
		*nd = (int)k;
		*end = i + 2 + k;
		if (*end < c->n && c->s[*end] == ' ' && dig(c, *end + 1))
			(*end)++;
		return 1;
	}
	k = ent_digits(c, i);
	*nd = (int)k;
	*end = i + k;
	return k > 0;
}

/* sep_gap - a separator, or a line break where the text wrapped (note 4) */
static size_t sep_gap(const struct ent_ctx *c, size_t i, bool *wrapped)
{
	size_t k = sep_len(c, i), g;

	*wrapped = false;
	if (k)
		return k;
	g = ent_gap_len(c, i);
	if (g && memchr(c->s + i, '\n', g) && dig(c, i + g)) {
		*wrapped = true;
		return g;
	}
	return 0;
}

/* parse_phone - the digit groups starting at p (note 1) */
static void parse_phone(const struct ent_ctx *c, size_t p, struct phone_groups *pg)
{
	size_t i = p, end;
	int nd, k = 0, total = 0;
	bool wrapped = false;

	memset(pg, 0, sizeof *pg);
	if (c->s[i] == '+')
		i++;
	while (i < c->n && pg->n < PHONE_MAX_GROUPS && group_at(c, i, &nd, &end)) {
		if (total + nd > PHONE_MAX_DIGITS)
			break;
		total += nd;
		pg->end[pg->n] = end;
		pg->digits[pg->n] = total;
		pg->wrapped[pg->n] = wrapped;
		pg->n++;
		i = end + sep_gap(c, end, &wrapped);
		if (i == end && !(c->s[end - 1] == ')' && dig(c, end)))
			break;
	}
	for (i = p; pg->n && i < pg->end[pg->n - 1] && k < 2; i++)
		if (dig(c, i))
			pg->first[k++] = c->s[i];
}

/* cue_before - a phone word, then nothing but punctuation, right before p */
static bool cue_before(const struct ent_ctx *c, size_t p)
{
	static const char *const cues[] = {
		"tel", "phone", "puh", "mobil", "cell", "gsm", "handy", "tlf", "fax", "talr", "kom",
		"\xcf\x84\xce\xb7\xce\xbb", "\xd1\x82\xd0\xb5\xd0\xbb",
	};
	size_t e = p, a;
	char key[128];

	while (e > 0 && p - e < 6 && !ent_is_alnum_cp(ent_cp_before(c, e, NULL)) &&
	       c->s[e - 1] != '\n')
		ent_cp_before(c, e, &e);
	a = e;
	while (a > 0 && e - a < 40 && ent_is_alnum_cp(ent_cp_before(c, a, NULL)))
		ent_cp_before(c, a, &a);
	if (a == e || !ent_word_key(c, a, e, key, sizeof key))
		return false;
	for (size_t k = 0; k < sizeof cues / sizeof cues[0]; k++)
		if (strncmp(key, cues[k], strlen(cues[k])) == 0)
			return true;
	return false;
}

/* plausible - note 2 */
static bool plausible(const struct ent_ctx *c, size_t p, const struct phone *ph)
{
	bool intl = c->s[p] == '+' || (ph->first[0] == '0' && ph->first[1] == '0');

	if (intl)
		return ph->digits >= 9 && ph->digits <= PHONE_MAX_DIGITS && ph->groups >= 2;
	if (ph->first[0] == '0' && ph->groups >= 2 && ph->digits >= 9 && ph->digits <= 12)
		return true;
	return ph->digits >= 7 && ph->digits <= 12 && (ph->groups >= 2 || ph->digits >= 9) &&
	       cue_before(c, p);
}

/* glued - note 3 */
static bool glued(const struct ent_ctx *c, size_t p, size_t end)
{
	if (!ent_word_edge_before(c, p) || !ent_word_edge_after(c, end))
		return true;
	if (p >= 2 && ent_in(c->s[p - 1], ".,/-") && dig(c, p - 2))
		return true;
	return end + 1 < c->n && ent_in(c->s[end], ",.") && dig(c, end + 1);
}

/*
 * best_prefix - the longest run of groups that is a plausible number; a
 * group after a line break joins only a number that was not yet complete
 */
static bool best_prefix(const struct ent_ctx *c, size_t p, const struct phone_groups *pg,
			struct phone *best)
{
	bool found = false;

	for (int k = 1; k <= pg->n; k++) {
		struct phone ph = { pg->end[k - 1], pg->digits[k - 1], k, { 0 } };

		if (pg->wrapped[k - 1] && found)
			break;
		memcpy(ph.first, pg->first, sizeof ph.first);
		if (!glued(c, p, ph.end) && plausible(c, p, &ph)) {
			*best = ph;
			found = true;
		}
	}
	return found;
}

/* ent_find_phones - every plausible telephone number */
int ent_find_phones(struct ent_ctx *c)
{
	size_t i = 0;

	while (i < c->n) {
		struct phone_groups pg;
		struct phone ph = { 0, 0, 0, { 0 } };
		bool start = dig(c, i) || (c->s[i] == '+' && dig(c, i + 1)) ||
			     (c->s[i] == '(' && dig(c, i + 1));

		if (!start || c->claimed[i] || (i > 0 && dig(c, i - 1)) ||
		    (i > 1 && c->s[i - 1] == ' ' && dig(c, i - 2))) {
			i++;
			continue;
		}
		parse_phone(c, i, &pg);
		if (best_prefix(c, i, &pg, &ph) && ent_free_span(c, i, ph.end)) {
			int rc = ent_emit_text(c, ENT_PHONE, i, ph.end, 0.9);

			if (rc)
				return rc;
			i = ph.end;
			continue;
		}
		i += dig(c, i) ? ent_digits(c, i) : 1;
	}
	return 0;
}
