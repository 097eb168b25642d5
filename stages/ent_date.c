/*
 * NAME
 *	ent_date - dates, numeric and written, normalized to YYYY-MM-DD
 * DESIGN NOTES
 *	1. Numeric forms: d.m.yyyy, d/m/yyyy, d-m-yyyy (day first, as in every
 *	   EU language; a slash date that is only valid month first is read
 *	   month first), "1. 3. 2025" (Czech, Slovak), yyyy-mm-dd, yyyy.mm.dd.
 *	   Two-digit years only in the strict dd.mm.yy and dd/mm/yy shape
 *	   ("05.03.25", read 1950..2049); "5-3-25" is too often something else.
 *	2. Written forms need day, month name and a four-digit year, so that
 *	   abbreviations that are also words ("mar", "Jan") only count inside
 *	   a full date: "3 March 2025", "28. April 2025", "1er mars 2025",
 *	   "3 de marzo de 2025", "12th day of March 2025", "3 ta’ Marzu 2025",
 *	   "March 3, 2025",
 *	   "2025. március 3." (year first), "2025. gada 3. martā" (Latvian,
 *	   the month in the locative), "15 lutego 2025 r." (the Polish
 *	   "r." and Bulgarian "г." year marks belong to the date).
 *	3. A date is emitted only if it exists in the Gregorian calendar
 *	   (31.02.2025 is not a date) and its year is 1800..2199.
 *	4. A number glued to other digits by . , / - is part of something
 *	   else (an IBAN group, a file number) and never starts or ends a date.
 */
#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>

#include "stages/ent_internal.h"

bool ent_date_valid(int y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

static int num(const struct ent_ctx *c, size_t i, size_t k)
{
	int v = 0;

	for (size_t j = 0; j < k; j++)
		v = v * 10 + (c->s[i + j] - '0');
	return v;
}

static bool is_sep(char ch)
{
	return ch == '.' || ch == ',' || ch == '/' || ch == '-';
}

/* glued_before/after - note 4 */
static bool glued_before(const struct ent_ctx *c, size_t i)
{
	if (!ent_word_edge_before(c, i))
		return true;
	return i >= 2 && is_sep(c->s[i - 1]) && c->s[i - 2] >= '0' && c->s[i - 2] <= '9';
}

static bool glued_after(const struct ent_ctx *c, size_t i)
{
	if (!ent_word_edge_after(c, i))
		return true;
	return i + 1 < c->n && is_sep(c->s[i]) && c->s[i + 1] >= '0' && c->s[i + 1] <= '9';
}

static int emit_date(struct ent_ctx *c, size_t a, size_t b, int y, int m, int d, double conf)
{
	char v[40];

	if (!ent_date_valid(y, m, d) || !ent_free_span(c, a, b))
		return 0;
	snprintf(v, sizeof v, "%04d-%02d-%02d", y, m, d);
	return ent_emit(c, ENT_DATE, a, b, v, conf);
}

/* year_mark - " r." (Polish rok) or " г." (Bulgarian година) after the year */
static size_t year_mark(const struct ent_ctx *c, size_t i)
{
	size_t j = i, sp = ent_space_len(c, i);

	if (sp == 0)
		return i;
	j += sp;
	if (j + 2 <= c->n && c->s[j] == 'r' && c->s[j + 1] == '.')
		j += 2;
	else if (j + 3 <= c->n && memcmp(c->s + j, "\xd0\xb3.", 3) == 0)
		j += 3;
	else
		return i;
	return ent_word_edge_after(c, j) ? j : i;
}

/* numeric - note 1; returns the end of the date or 0 */
static int numeric(struct ent_ctx *c, size_t p, size_t *end)
{
	size_t d1 = ent_digits(c, p), i, d2, d3, sp = 0;
	char sep;
	int a, b, y;

	*end = 0;
	if (d1 < 1 || d1 > 4 || d1 == 3 || p + d1 >= c->n)
		return 0;
	sep = c->s[p + d1];
	if (sep != '.' && sep != '/' && sep != '-')
		return 0;
	i = p + d1 + 1;
	if (sep == '.' && d1 <= 2 && i < c->n && c->s[i] == ' ')
		sp = 1;
	i += sp;
	d2 = ent_digits(c, i);
	if (d2 < 1 || d2 > 2 || i + d2 + 1 + sp >= c->n || c->s[i + d2] != sep)
		return 0;
	if (sp && c->s[i + d2 + 1] != ' ')
		return 0;
	d3 = ent_digits(c, i + d2 + 1 + sp);
	a = num(c, p, d1);
	b = num(c, i, d2);
	i += d2 + 1 + sp;
	if (d1 == 4) {
		if (d3 < 1 || d3 > 2 || glued_after(c, i + d3))
			return 0;
		*end = i + d3;
		return emit_date(c, p, *end, a, b, num(c, i, d3), 0.95);
	}
	if (d3 == 2 && d1 == 2 && d2 == 2 && sep != '-' && !sp && !glued_after(c, i + 2)) {
		y = num(c, i, 2);
		*end = i + 2;
		return emit_date(c, p, *end, y < 50 ? 2000 + y : 1900 + y, b, a, 0.8);
	}
	if (d3 != 4 || glued_after(c, i + 4))
		return 0;
	y = num(c, i, 4);
	*end = year_mark(c, i + 4);
	if (sep == '/' && !ent_date_valid(y, b, a) && ent_date_valid(y, a, b))
		return emit_date(c, p, *end, y, a, b, 0.8);
	return emit_date(c, p, *end, y, b, a, 0.95);
}

/* month_at - month 1..12 of the word at i, *end past it (and a period) */
static int month_at(const struct ent_ctx *c, size_t i, size_t *end)
{
	size_t e = ent_word_end(c, i);
	char key[128];
	int m;

	if (e == i || !ent_word_key(c, i, e, key, sizeof key))
		return 0;
	m = ent_lex_month(key, c->lang);
	if (m && e < c->n && c->s[e] == '.')
		e++;
	*end = e;
	return m;
}

/* skip_word - past the ASCII word w and one space after it */
static size_t skip_word(const struct ent_ctx *c, size_t i, const char *w)
{
	size_t k = strlen(w), sp;

	if (!ent_ascii_ieq(c, i, w))
		return i;
	sp = ent_gap_len(c, i + k);
	return sp ? i + k + sp : i;
}

/* ordinal - "." "st" "nd" "rd" "th" "er" "e" "º" "°" "ª" after a day number */
static size_t ordinal(const struct ent_ctx *c, size_t i)
{
	static const char *const marks[] = {
		"st", "nd", "rd", "th", "er", "e", "\xc2\xba", "\xc2\xb0", "\xc2\xaa",
		".\xc2\xba", ".\xc2\xaa", ".",
	};

	for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
		size_t n = strlen(marks[k]);

		if (i + n <= c->n && memcmp(c->s + i, marks[k], n) == 0 &&
		    (marks[k][0] == '.' || (unsigned char)marks[k][0] > 0x7f ||
		     ent_word_edge_after(c, i + n)))
			return i + n;
	}
	return i;
}

/* year4 - a four-digit year standing alone at i */
static int year4(const struct ent_ctx *c, size_t i)
{
	if (ent_digits(c, i) != 4 || glued_after(c, i + 4))
		return -1;
	return num(c, i, 4);
}

/*
 * header_date - "Wed, 15 Jan 2025 14:03:51 +0100" is an e-mail's transport
 * metadata (RFC 5322), not a date the letter talks about
 */
static bool header_date(const struct ent_ctx *c, size_t end)
{
	size_t i = end;

	if (i + 15 > c->n || c->s[i] != ' ')
		return false;
	i++;
	if (ent_digits(c, i) != 2 || c->s[i + 2] != ':' || ent_digits(c, i + 3) != 2)
		return false;
	i += 5;
	if (c->s[i] == ':')
		i += 3;
	return i + 5 < c->n && c->s[i] == ' ' && ent_in(c->s[i + 1], "+-") &&
	       ent_digits(c, i + 2) == 4;
}

/* day_month_year - "3 March 2025" and its relatives (note 2) */
static int day_month_year(struct ent_ctx *c, size_t p)
{
	size_t d = ent_digits(c, p), i, e;
	int day, m, y;

	if (d < 1 || d > 2)
		return 0;
	day = num(c, p, d);
	i = ordinal(c, p + d);
	i = ent_skip_blanks(c, i, 3);
	if (i == p + d)
		return 0;
	i = skip_word(c, skip_word(c, i, "day"), "of");
	i = skip_word(c, skip_word(c, i, "de"), "ta\xe2\x80\x99");
	i = skip_word(c, i, "ta'");
	m = month_at(c, i, &e);
	if (m == 0)
		return 0;
	i = e;
	if (i < c->n && c->s[i] == ',')
		i++;
	i = ent_skip_blanks(c, i, 3);
	i = skip_word(c, skip_word(c, i, "de"), "del");
	y = year4(c, i);
	if (y < 0 || header_date(c, i + 4))
		return 0;
	return emit_date(c, p, year_mark(c, i + 4), y, m, day, 0.99);
}

/* year_month_day - "2025. március 3." and "2025 m. kovo 3 d." */
static int year_month_day(struct ent_ctx *c, size_t p)
{
	size_t i = p + 4, e, d;
	int y = year4(c, p), m, day;

	if (y < 0)
		return 0;
	if (i < c->n && c->s[i] == '.')
		i++;
	i = ent_skip_blanks(c, i, 3);
	i = skip_word(c, i, "m.");
	m = month_at(c, i, &e);
	if (m == 0 || ent_gap_len(c, e) == 0)
		return 0;
	i = e + ent_gap_len(c, e);
	d = ent_digits(c, i);
	if (d < 1 || d > 2 || glued_after(c, i + d))
		return 0;
	day = num(c, i, d);
	i += d;
	if (i < c->n && c->s[i] == '.')
		i++;
	else if (ent_space_len(c, i) == 1 && ent_ascii_ieq(c, i + 1, "d.") &&
		 ent_word_edge_after(c, i + 3))
		i += 3;
	return emit_date(c, p, i, y, m, day, 0.95);
}

/*
 * year_gada - Latvian "2025. gada 3. martā": the month stands in the
 * locative, which CLDR does not list, so here (and only after "gada") a
 * word that starts with a month name's stem counts
 */
static int year_gada(struct ent_ctx *c, size_t p)
{
	size_t i = p + 4, d, e;
	int y = year4(c, p), day, m;
	char key[128];

	if (y < 0 || i >= c->n || c->s[i] != '.')
		return 0;
	i = ent_skip_blanks(c, i + 1, 3);
	if (!ent_ascii_ieq(c, i, "gada") || ent_gap_len(c, i + 4) == 0)
		return 0;
	i += 4 + ent_gap_len(c, i + 4);
	d = ent_digits(c, i);
	if (d < 1 || d > 2 || i + d >= c->n || c->s[i + d] != '.')
		return 0;
	day = num(c, i, d);
	i = ent_skip_blanks(c, i + d + 1, 3);
	e = ent_word_end(c, i);
	if (e == i || !ent_word_key(c, i, e, key, sizeof key))
		return 0;
	m = ent_lex_month(key, c->lang);
	if (m == 0)
		m = ent_lex_month_stem(key);
	return m ? emit_date(c, p, e, y, m, day, 0.9) : 0;
}

/* month_day_year - "March 3, 2025" */
static int month_day_year(struct ent_ctx *c, size_t p)
{
	size_t i, e, d;
	int m = month_at(c, p, &e), day, y;

	if (m == 0 || ent_gap_len(c, e) == 0)
		return 0;
	i = e + ent_gap_len(c, e);
	d = ent_digits(c, i);
	if (d < 1 || d > 2)
		return 0;
	day = num(c, i, d);
	i = ordinal(c, i + d);
	if (i < c->n && c->s[i] == ',')
		i++;
	i = ent_skip_blanks(c, i, 3);
	y = year4(c, i);
	if (y < 0)
		return 0;
	return emit_date(c, p, i + 4, y, m, day, 0.95);
}

/* ent_find_dates - every written and numeric date */
int ent_find_dates(struct ent_ctx *c)
{
	size_t i = 0;

	while (i < c->n) {
		unsigned char ch = (unsigned char)c->s[i];
		size_t next = i + 1, before = c->out->n, end;
		int rc = 0;

		if (ch >= '0' && ch <= '9' && !glued_before(c, i)) {
			rc = day_month_year(c, i);
			if (rc == 0 && c->out->n == before)
				rc = year_month_day(c, i);
			if (rc == 0 && c->out->n == before)
				rc = year_gada(c, i);
			if (rc == 0 && c->out->n == before)
				rc = numeric(c, i, &end);
			next = i + ent_digits(c, i);
		} else if (ch >= 'A' && ent_word_edge_before(c, i)) {
			int32_t cp = ent_cp(c, i, &next);

			if (u_isalpha(cp))
				rc = month_day_year(c, i);
			next = ent_word_end(c, i);
			if (next == i)
				ent_cp(c, i, &next);
		}
		if (rc)
			return rc;
		if (c->out->n > before)
			next = c->out->v[c->out->n - 1].end;
		i = next;
	}
	return 0;
}
