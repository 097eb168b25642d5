/*
 * NAME
 *	ent_reference - file numbers, case numbers, customer and tax ids
 * DESIGN NOTES
 *	1. Three sources, in this order (earlier ones claim first):
 *	   a. patterns from the configuration (ICU regular expressions, run on
 *	      UTF-16 with an index map back to UTF-8 bytes);
 *	   b. cue words ("Az.", "Aktenzeichen", "Réf.", "Dossier n°", "Case
 *	      No.", "Sygn. akt", "Kenmerk", "Protocollo n.", "Expediente", ...)
 *	      followed by an identifier; the cue is not part of the reference;
 *	   c. identifiers that announce themselves: letter-prefixed codes
 *	      ("INC-2025-004417", "V/2024/112563"), year-serial numbers
 *	      ("2025/0071345", "2213/2019"), EU VAT numbers, checksummed
 *	      national ids (Spanish DNI/NIE/CIF, Italian codice fiscale),
 *	      German register numbers ("HRB 714233") and mixed letter-digit
 *	      codes ("Z4A3F08B21").
 *	2. An identifier is one or more tokens joined by single spaces:
 *	   leading short upper-case tokens ("I C 2198/24", "PC 013 055 24
 *	   00187"), then a token with digits, then more digit groups, a one- or
 *	   two-letter register between numbers ("3 K 123/24", German courts)
 *	   or one short upper-case suffix ("UTR 24/4471 BESLU", "4821 LMT"). Inner
 *	   "-", "/", "." belong to a token; trailing punctuation does not.
 *	3. An identifier needs three digits after a cue word and four after a
 *	   bare number sign ("nr", "n°", "No.") or an ordinary noun ("order",
 *	   "dossier"), or two with a letter or
 *	   separator: "No. 17" after "District" is a district, "número 120" a
 *	   house, "Btw 21%" a rate. A year alone is never a reference, and a
 *	   word before another number is that number's label, not the tail of an
 *	   identifier ("NIP 6182047735 NIP 6180000784").
 *	4. Year-serial numbers stand alone only year first ("2025/0071345");
 *	   serial-year ("472/1997") is how laws are cited and needs a cue.
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uregex.h>
#include <unicode/ustring.h>

#include "stages/ent_internal.h"

/* cues: labels that announce an identifier (abbreviations, "-nummer" words) */
static const char *const cues[] = {
	/* de */ "az", "aktenzeichen", "geschaftszeichen", "gz", "kassenzeichen",
	"steuernummer", "steuer-nr", "st.-nr", "ust-idnr", "ust-id", "kundennummer",
	"kunden-nr", "rechnungsnummer", "rechnungs-nr", "vorgangsnummer", "vertragsnummer",
	"bestellnummer", "auftragsnummer", "personalausweis", "ausweisnummer",
	"mitgliedsnummer", "versicherungsnummer", "antragsnummer", "referenz", "fallnummer",
	"bescheidnummer", "buchungszeichen", "zahlungsreferenz", "verwendungszweck",
	/* en */ "ref", "reference", "references", "cro", "ppsn",
	/* fr be ch */ "siret", "siren", "tva", "rcs", "ondernemingsnummer", "kbo", "uid", "mwst",
	/* es pt */ "expediente", "expte", "exp", "referencia", "dni", "nie", "nif", "cif",
	"matricula", "catastral", "incidencia", "poliza",
	/* it */ "prot", "protocollo", "rif", "riferimento", "r.g", "rg", "fiscale", "c.f",
	"cf", "p.iva", "iva", "cig", "cup",
	/* nl */ "kenmerk", "zaaknummer", "dossiernummer", "aanslagnummer", "factuurnummer",
	"ordernummer", "uitkeringsnummer", "klantnummer", "kvk", "btw-nr", "btw-nummer",
	"btw", "referentie", "relatienummer", "polisnummer", "bsn", "contractnummer",
	"betalingskenmerk", "aanvraagnummer",
	/* pl */ "sygn", "sygnatura", "znak", "pesel", "nip", "regon", "krs", "obreb",
	/* cs sk */ "c.j", "c. j", "cj", "zn", "znacka", "ic", "ico", "dic",
	/* hu */ "ugyszam", "iktatoszam", "hivatkozasi", "adoszam",
	/* ro */ "cui", "cnp", "inregistrare",
	/* sv da fi et */ "diarienummer", "dnr", "referens", "organisationsnummer",
	"journalnummer", "j.nr", "sagsnummer", "sagsnr", "cvr", "diaarinumero", "dnro",
	"viitenumero", "viitenumber", "registrikood",
	/* lt lv sl hr bg el */ "klasa", "urbroj", "oib", "stevilka",
	"\xd0\xb8\xd0\xb7\xd1\x85", "\xd0\xb2\xd1\x85", "\xd1\x80\xd0\xb5\xd0\xb3",
	"\xd0\xb5\xd0\xb8\xd0\xba", "\xd0\xb1\xd1\x83\xd0\xbb\xd1\x81\xd1\x82\xd0\xb0\xd1\x82",
	"\xce\xb1\xcf\x81", "\xcf\x80\xcf\x81\xcf\x89\xcf\x84", "\xd1\x80\xd0\xb5\xd1\x84",
};

/*
 * nouns: ordinary words that often precede a file number ("Rechnung",
 * "contract", "dossier", "pratica") but also a count, so they ask for as
 * much evidence as a bare number sign (note 3)
 */
static const char *const nouns[] = {
	/* de */ "rechnung", "rahmenvertrag", "vertrag", "zeichen", "bescheid",
	/* en */ "case", "record", "file", "invoice", "policy", "order", "customer", "account",
	"id", "application", "permit", "licence", "license", "claim", "ticket", "contract",
	"agreement",
	/* fr */ "dossier", "affaire", "requete", "confirmation", "facture", "contrat", "arrete",
	"permis", "construire", "convention", "quittance", "avis",
	/* es pt */ "factura", "solicitud", "registro", "contrato", "processo", "fatura",
	"pedido", "recibo",
	/* it */ "pratica", "fascicolo", "verbale", "avviso", "fattura", "determina",
	"contratto", "ricevuta",
	/* nl */ "beschikking", "factuur",
	/* pl */ "sprawy", "faktura", "umowa", "umowy", "decyzja", "decyzji", "wniosek",
	/* cs sk hu ro sv fi lt lv sl */ "spis", "szamla", "dosar", "numarul", "arende", "viite",
	"bylos", "lietas", "zadeva", "\xd0\xb4\xd0\xbe\xd0\xba\xd0\xbb\xd0\xb0\xd0\xb4",
};

/* number signs: weaker cues (note 3), also skipped after a cue */
static const char *const signs[] = {
	"n", "no", "nr", "nro", "num", "number", "numero", "nummer", "numer", "numar", "cislo",
};

/* small words between a cue and its identifier ("Sygn. akt", "número de") */
static const char *const fillers[] = { "akt", "de", "du", "di", "of", "del", "van", "st" };

#define N_SIGNS (sizeof signs / sizeof signs[0])
#define N_FILLERS (sizeof fillers / sizeof fillers[0])

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_upper(char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_alnum(char ch) { return is_digit(ch) || is_upper(ch) || is_lower(ch); }

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

/* --- tokens ---------------------------------------------------------- */

struct tok {
	size_t a, b;		/* [a, b) */
	int digits, upper, lower, seps;
};

/* token_at - ASCII letters and digits with inner "-", "/", "." at i */
static bool token_at(const struct ent_ctx *c, size_t i, struct tok *t)
{
	memset(t, 0, sizeof *t);
	t->a = t->b = i;
	while (t->b < c->n && !c->claimed[t->b]) {
		char ch = c->s[t->b];

		if (is_alnum(ch)) {
			t->digits += is_digit(ch);
			t->upper += is_upper(ch);
			t->lower += is_lower(ch);
		} else if (ent_in(ch, "-/.") && t->b > t->a && t->b + 1 < c->n &&
			   is_alnum(c->s[t->b + 1]) && !c->claimed[t->b + 1]) {
			t->seps++;
		} else {
			break;
		}
		t->b++;
	}
	return t->b > t->a && ent_word_edge_after(c, t->b) && ent_word_edge_before(c, t->a) &&
	       !(t->b < c->n && c->s[t->b] == '%');
}

static bool caps_word(const struct tok *t, int max)
{
	return t->digits == 0 && t->lower == 0 && t->seps == 0 && t->upper >= 1 && t->upper <= max;
}

static bool all_digits(const struct tok *t)
{
	return t->digits > 0 && t->upper == 0 && t->lower == 0 && t->seps == 0;
}

/* next_tok - the token after one space (or a line wrap, if wrap) following t */
static bool next_tok(const struct ent_ctx *c, const struct tok *t, struct tok *n, bool wrap)
{
	size_t g = wrap ? ent_gap_len(c, t->b) : t->b < c->n && c->s[t->b] == ' ';

	return g && t->b + g < c->n && !c->claimed[t->b] && token_at(c, t->b + g, n);
}


static bool year_only(const struct ent_ctx *c, const struct tok *t)
{
	return all_digits(t) && t->b - t->a == 4 &&
	       (memcmp(c->s + t->a, "19", 2) == 0 || memcmp(c->s + t->a, "20", 2) == 0);
}

/* identifier - note 2; returns the end of the identifier or 0 */
static size_t identifier(const struct ent_ctx *c, size_t i, bool weak)
{
	struct tok t, n, first;
	int lead = 0, digits;
	bool mixed = false;
	size_t end;

	if (!token_at(c, i, &t))
		return 0;
	first = t;
	while (caps_word(&t, 4) && lead < 3 && next_tok(c, &t, &n, true)) {
		t = n;
		lead++;
	}
	if (t.digits == 0 || (lead && first.b - first.a > 4))
		return 0;
	digits = t.digits;
	end = t.b;
	while (next_tok(c, &t, &n, false)) {
		struct tok after;

		if (all_digits(&t) && all_digits(&n) && n.digits >= 2) {
			digits += n.digits;
		} else if (caps_word(&n, 2) && next_tok(c, &n, &after, false) && after.digits) {
			digits += after.digits;
			mixed = true;
			n = after;
		} else if (caps_word(&n, 7) && n.upper >= 2 &&
			   !(next_tok(c, &n, &after, false) &&
			     ((caps_word(&after, 30) && after.upper >= 2) || after.digits))) {
			end = n.b;
			break;
		} else {
			break;
		}
		t = n;
		end = t.b;
	}
	if (lead == 0 && end == first.b && year_only(c, &first))
		return 0;
	mixed = mixed || first.seps > 0 || first.upper > 0 || first.lower > 0 || lead > 0;
	if (digits < (mixed ? 2 : weak ? 4 : 3))
		return 0;
	return end;
}

/* --- cue words ------------------------------------------------------- */

/* cue_key - folded key of the cue-like word at i ("C.F." → "c.f"), *end after it */
static bool cue_key(const struct ent_ctx *c, size_t i, char *key, size_t cap, size_t *end)
{
	size_t e = ent_word_end(c, i), next;

	while (e + 1 < c->n && ent_in(c->s[e], ".-") && ent_word_end(c, e + 1) > e + 1)
		e = ent_word_end(c, e + 1);
	/* "č. j." (Czech číslo jednací): one-letter abbreviations spaced out */
	ent_cp(c, i, &next);
	while (next == e && e + 3 < c->n && c->s[e] == '.' && c->s[e + 1] == ' ' &&
	       ent_word_end(c, e + 2) > e + 2) {
		size_t w = ent_word_end(c, e + 2), n2;

		ent_cp(c, e + 2, &n2);
		if (n2 != w || w >= c->n || c->s[w] != '.')
			break;
		e = w;
		next = w;
	}
	if (e == i || e - i > 40 || !ent_word_key(c, i, e, key, cap))
		return false;
	*end = e;
	return true;
}

/*
 * skip_fillers - punctuation and number signs between a cue and its
 * identifier, at most a short distance: a label's value sits right after it
 */
static size_t skip_fillers(const struct ent_ctx *c, size_t i)
{
	char key[64];
	size_t start = i;

	for (int words = 0; words < 4 && i < c->n && i - start < 24;) {
		size_t e, k;

		if (ent_in(c->s[i], ".:#(\"'=-") || ent_space_len(c, i) ||
		    c->s[i] == '\n' || c->s[i] == '\t') {
			i += ent_space_len(c, i) ? ent_space_len(c, i) : 1;
			continue;
		}
		if (i + 3 <= c->n && memcmp(c->s + i, "\xe2\x84\x96", 3) == 0) {
			i += 3;		/* № */
			continue;
		}
		if (i + 2 <= c->n && (memcmp(c->s + i, "\xc2\xb0", 2) == 0 ||
				      memcmp(c->s + i, "\xc2\xba", 2) == 0 ||
				      memcmp(c->s + i, "\xc2\xab", 2) == 0)) {
			i += 2;
			continue;
		}
		if (i + 3 <= c->n && (memcmp(c->s + i, "\xe2\x80\x9c", 3) == 0 ||
				      memcmp(c->s + i, "\xe2\x80\x9e", 3) == 0 ||
				      memcmp(c->s + i, "\xe2\x80\x93", 3) == 0)) {
			i += 3;
			continue;
		}
		e = ent_word_end(c, i);
		if (e == i || !ent_word_key(c, i, e, key, sizeof key) ||
		    !(in_list(key, signs, N_SIGNS) || in_list(key, fillers, N_FILLERS)))
			break;
		for (k = e; k < c->n && c->s[k] == '.'; k++)
			;
		i = k;
		words++;
	}
	return i;
}

static bool user_cue(const struct ent_ctx *c, const char *key)
{
	for (size_t i = 0; i < c->cfg->n_ref_cues; i++) {
		UChar u[64];
		int32_t n = 0;
		UErrorCode ec = U_ZERO_ERROR;
		char k[128];

		u_strFromUTF8(u, 64, &n, c->cfg->ref_cues[i], -1, &ec);
		if (U_SUCCESS(ec) && n < 64 && ent_key_u16(u, n, k, sizeof k) && strcmp(k, key) == 0)
			return true;
	}
	return false;
}

static int emit_ref(struct ent_ctx *c, size_t a, size_t b, double conf)
{
	if (!ent_free_span(c, a, b))
		return 0;
	return ent_emit_text(c, ENT_REFERENCE, a, b, conf);
}

/* cue_at - a cue word at i and the identifier after it (note 1b) */
static int cue_at(struct ent_ctx *c, size_t i, size_t *next)
{
	char key[128];
	size_t e, p, end;
	bool strong;

	if (!cue_key(c, i, key, sizeof key, &e)) {
		*next = i + 1;
		return 0;
	}
	*next = e;
	strong = in_list(key, cues, sizeof cues / sizeof cues[0]) || user_cue(c, key);
	if (!strong && !in_list(key, signs, N_SIGNS) &&
	    !in_list(key, nouns, sizeof nouns / sizeof nouns[0]))
		return 0;
	p = skip_fillers(c, e);
	if (p == e || p >= c->n)
		return 0;
	end = identifier(c, p, !strong);
	if (end == 0)
		return 0;
	*next = end;
	return emit_ref(c, p, end, strong ? 0.85 : 0.75);
}

/* --- self-announcing identifiers (note 1c) --------------------------- */

/* non_year_digits - digits in groups that are not a 19xx/20xx year */
static int non_year_digits(const struct ent_ctx *c, const struct tok *t, bool *has_year)
{
	int total = 0;
	size_t g = t->a;

	*has_year = false;
	for (size_t i = t->a; i <= t->b; i++) {
		if (i < t->b && is_alnum(c->s[i]))
			continue;
		{
			int d = 0, len = (int)(i - g);

			for (size_t k = g; k < i; k++)
				d += is_digit(c->s[k]);
			if (d == 4 && len == 4 && (c->s[g] == '1' || c->s[g] == '2') &&
			    (c->s[g + 1] == '9' || c->s[g + 1] == '0'))
				*has_year = true;
			else
				total += d;
		}
		g = i + 1;
	}
	return total;
}

static int alternations(const struct ent_ctx *c, const struct tok *t)
{
	int n = 0;

	for (size_t i = t->a + 1; i < t->b; i++)
		if (is_digit(c->s[i]) != is_digit(c->s[i - 1]))
			n++;
	return n;
}

/* dni_ok - Spanish DNI/NIE control letter (mod 23) */
static bool dni_ok(const char *s)
{
	static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
	long v = 0;

	for (int i = 0; i < 8; i++) {
		char ch = s[i];

		if (i == 0 && ent_in(ch, "XYZ"))
			ch = (char)('0' + (ch - 'X'));
		if (!is_digit(ch))
			return false;
		v = v * 10 + (ch - '0');
	}
	return s[8] == letters[v % 23];
}

/* cif_ok - Spanish company tax id control character */
static bool cif_ok(const char *s)
{
	int even = 0, odd = 0, ctl;

	if (!ent_in(s[0], "ABCDEFGHJNPQRSUVW"))
		return false;
	for (int i = 1; i <= 7; i++) {
		int d = s[i] - '0';

		if (!is_digit(s[i]))
			return false;
		if (i % 2 == 0) {
			even += d;
		} else {
			d *= 2;
			odd += d / 10 + d % 10;
		}
	}
	ctl = (10 - (even + odd) % 10) % 10;
	return s[8] == '0' + ctl || s[8] == 'A' + ctl - 1 + (ctl == 0 ? 10 : 0);
}

/* cf_ok - Italian codice fiscale: shape and check letter */
static bool cf_ok(const char *s)
{
	static const int odd[36] = {
		1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
		2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
	};
	static const char shape[] = "LLLLLLDDLDDLDDDL";
	int sum = 0;

	for (int i = 0; i < 16; i++) {
		bool d = is_digit(s[i]);

		if (!(d || is_upper(s[i])) || (shape[i] == 'L' && d))
			return false;
	}
	for (int i = 0; i < 15; i++) {
		int v = is_digit(s[i]) ? s[i] - '0' : s[i] - 'A';
		int idx = is_digit(s[i]) ? s[i] - '0' : 10 + (s[i] - 'A');

		sum += i % 2 == 0 ? odd[idx] : v;
	}
	return s[15] == 'A' + sum % 26;
}

/* vat_ok - an EU VAT number: country prefix, then mostly digits */
static bool vat_ok(const struct ent_ctx *c, const struct tok *t)
{
	static const char cc[] = "ATBEBGCYCZDEDKEEELESFIFRHRHUIEITLTLULVMTNLPLPTROSESISK";
	size_t len = t->b - t->a;
	const char *s = c->s + t->a;
	bool known = false;

	if (t->seps || t->lower || len < 10 || len > 14 || !is_upper(s[0]) || !is_upper(s[1]))
		return false;
	for (size_t i = 0; i + 1 < sizeof cc; i += 2)
		if (s[0] == cc[i] && s[1] == cc[i + 1])
			known = true;
	return known && t->digits >= 7 && t->upper <= 4 &&
	       (is_digit(s[2]) || (s[0] == 'A' && s[2] == 'U') || s[0] == 'F' || s[0] == 'E');
}

/* pesel_ok - Polish personal number: weighted check digit and a birth date */
static bool pesel_ok(const char *s)
{
	static const int w[10] = { 1, 3, 7, 9, 1, 3, 7, 9, 1, 3 };
	int sum = 0, y, m, d;

	for (int i = 0; i < 10; i++)
		sum += w[i] * (s[i] - '0');
	if ((10 - sum % 10) % 10 != s[10] - '0')
		return false;
	y = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[2] - '0') * 10 + (s[3] - '0');
	d = (s[4] - '0') * 10 + (s[5] - '0');
	y += m > 80 ? 1800 : m > 60 ? 2200 : m > 40 ? 2100 : m > 20 ? 2000 : 1900;
	return ent_date_valid(y, m % 20, d);
}

/* nip_ok - Polish tax id: weighted mod-11 check digit */
static bool nip_ok(const char *s)
{
	static const int w[9] = { 6, 5, 7, 2, 3, 4, 5, 6, 7 };
	int sum = 0;

	for (int i = 0; i < 9; i++)
		sum += w[i] * (s[i] - '0');
	return sum % 11 == s[9] - '0';
}

/*
 * national_id - ids whose check digits make them self-evident: Spanish
 * DNI/NIE/CIF and Italian codice fiscale anywhere; the all-digit Polish
 * PESEL and NIP only in Polish text, where a random number passes the
 * check one time in ten
 */
static bool national_id(const struct ent_ctx *c, const struct tok *t)
{
	size_t len = t->b - t->a;
	char s[17];

	if (t->seps || t->lower || len < 9 || len > 16)
		return false;
	memcpy(s, c->s + t->a, len);
	s[len] = 0;
	if (all_digits(t) && c->lang == ent_lex_lang("pl"))
		return (len == 11 && pesel_ok(s)) || (len == 10 && nip_ok(s));
	return len == 9 ? dni_ok(s) || cif_ok(s) : len == 16 && cf_ok(s);
}

/* self_ref - how the token at t announces itself, or 0 */
static double self_ref(const struct ent_ctx *c, const struct tok *t)
{
	bool year;
	int other = non_year_digits(c, t, &year);
	char first = c->s[t->a];

	if (vat_ok(c, t) || national_id(c, t))
		return 0.95;
	if (t->seps && t->lower == 0 && t->upper > 0 && is_upper(first) &&
	    (other >= 3 || (other >= 2 && year)))
		return 0.8;
	if (t->seps && t->lower == 0 && t->upper > 0 && is_digit(first) && t->digits >= 4)
		return 0.8;
	if (t->seps == 1 && t->upper == 0 && t->lower == 0 && year && other >= 3 &&
	    ent_in(c->s[t->a + 4], "-/"))
		return 0.75;
	if (!t->seps && !t->lower && t->upper >= 2 && t->digits >= 2 && t->b - t->a >= 6 &&
	    alternations(c, t) >= 3)
		return 0.75;
	return 0;
}

/* register_ref - German commercial register "HRB 714233" */
static size_t register_ref(const struct ent_ctx *c, const struct tok *t)
{
	static const char *const kinds[] = { "HRA", "HRB", "GnR", "PR", "VR", "GsR" };
	struct tok n;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (t->b - t->a == strlen(kinds[k]) && memcmp(c->s + t->a, kinds[k], t->b - t->a) == 0 &&
		    next_tok(c, t, &n, false) && all_digits(&n) && n.digits >= 3)
			return n.b;
	return 0;
}

static int self_refs(struct ent_ctx *c)
{
	size_t i = 0;

	while (i < c->n) {
		struct tok t;
		size_t next = i + 1;

		if (is_alnum(c->s[i]) && !c->claimed[i] && ent_word_edge_before(c, i) &&
		    token_at(c, i, &t)) {
			size_t reg = register_ref(c, &t);
			double conf = reg ? 0.9 : self_ref(c, &t);
			int rc = conf > 0 ? emit_ref(c, t.a, reg ? reg : t.b, conf) : 0;

			if (rc)
				return rc;
			next = t.b > i ? t.b : i + 1;
		} else if (is_alnum(c->s[i])) {
			while (next < c->n && is_alnum(c->s[next]))
				next++;
		}
		while (next < c->n && ((unsigned char)c->s[next] & 0xC0) == 0x80)
			next++;
		i = next;
	}
	return 0;
}

/* --- configured patterns (note 1a) ----------------------------------- */

/* to_utf16 - the text in UTF-16 and, for each unit, its UTF-8 byte offset */
static int to_utf16(const struct ent_ctx *c, UChar **u, size_t **map, int32_t *nu)
{
	size_t i = 0;
	int32_t k = 0;

	*u = malloc((c->n + 1) * sizeof **u);
	*map = malloc((c->n + 1) * sizeof **map);
	if (*u == NULL || *map == NULL)
		return DK_ENOMEM;
	while (i < c->n) {
		size_t next;
		int32_t cp = ent_cp(c, i, &next);

		if (cp > 0xFFFF) {
			(*map)[k] = i;
			(*u)[k++] = U16_LEAD(cp);
			(*map)[k] = i;
			(*u)[k++] = U16_TRAIL(cp);
		} else {
			(*map)[k] = i;
			(*u)[k++] = (UChar)cp;
		}
		i = next;
	}
	(*map)[k] = c->n;
	*nu = k;
	return 0;
}

static int run_pattern(struct ent_ctx *c, const char *pat, const UChar *u, int32_t nu,
		       const size_t *map, struct dk_err *err)
{
	UErrorCode ec = U_ZERO_ERROR;
	UParseError pe;
	URegularExpression *re = uregex_openC(pat, 0, &pe, &ec);
	int rc = 0;

	if (U_FAILURE(ec))
		return dk_err_set(err, DK_ECONFIG, "cannot compile reference pattern '%s': %s",
				  pat, u_errorName(ec));
	uregex_setText(re, u, nu, &ec);
	while (rc == 0 && U_SUCCESS(ec) && uregex_findNext(re, &ec)) {
		int g = uregex_groupCount(re, &ec) > 0 ? 1 : 0;
		int32_t a = uregex_start(re, g, &ec), b = uregex_end(re, g, &ec);

		if (U_SUCCESS(ec) && a >= 0 && b > a && map[a] < map[b])
			rc = emit_ref(c, map[a], map[b], 0.9);
	}
	uregex_close(re);
	return rc;
}

static int user_patterns(struct ent_ctx *c, struct dk_err *err)
{
	UChar *u = NULL;
	size_t *map = NULL;
	int32_t nu = 0;
	int rc;

	if (c->cfg->n_ref_patterns == 0)
		return 0;
	rc = to_utf16(c, &u, &map, &nu);
	for (size_t i = 0; rc == 0 && i < c->cfg->n_ref_patterns; i++)
		rc = run_pattern(c, c->cfg->ref_patterns[i], u, nu, map, err);
	free(u);
	free(map);
	return rc;
}

/* ent_find_references - patterns, then cues, then self-announcing ids */
int ent_find_references(struct ent_ctx *c, struct dk_err *err)
{
	size_t i = 0;
	int rc = user_patterns(c, err);

	while (rc == 0 && i < c->n) {
		size_t next = i + 1;
		int32_t cp = ent_cp(c, i, &next);

		if (cp != 0xFFFD && ent_is_alnum_cp(cp) && !(c->s[i] >= '0' && c->s[i] <= '9') &&
		    ent_word_edge_before(c, i))
			rc = cue_at(c, i, &next);
		i = next > i ? next : i + 1;
		while (i < c->n && ((unsigned char)c->s[i] & 0xC0) == 0x80)
			i++;
	}
	return rc ? rc : self_refs(c);
}
