/*
 * NAME
 *	ent_lex - month and currency names from ICU's CLDR data
 * DESIGN NOTES
 *	1. Nothing here is a hand-typed word list: month names (format and
 *	   stand-alone, wide and abbreviated: Polish genitive "stycznia" and
 *	   nominative "styczeń", Greek "Μαρτίου" and "Μάρτιος") come from
 *	   udat_getSymbols(), currency symbols and names (singular and plural
 *	   forms: "euros", "złotych") from ucurr_getName()/ucurr_getPluralName(),
 *	   for every official EU language and a few regional variants that
 *	   spell months differently (de_AT "Jänner", en_GB "Sept").
 *	2. Keys are case-folded with accents removed (ent_key_u16), so upper
 *	   case headings and unaccented typing match too.
 *	3. One key may mean different things in different languages
 *	   ("listopad" is November in Czech and Polish, October in Croatian).
 *	   Each key keeps one slot per language; a lookup prefers the
 *	   document's language and otherwise takes the majority.
 *	4. Tables are built once under pthread_once and never change after;
 *	   a build failure is remembered and reported on every call.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <unicode/ucurr.h>
#include <unicode/udat.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "stages/ent_internal.h"

const char *const ent_lex_langs[ENT_N_LANGS] = {
	"bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
	"hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
};

/* regional variants whose month or currency spellings differ */
static const char *const extra_locales[][2] = {
	{ "de", "de_AT" }, { "en", "en_GB" }, { "en", "en_IE" }, { "pt", "pt_PT" },
	{ "nl", "nl_BE" }, { "fr", "fr_BE" }, { "fr", "fr_LU" }, { "de", "de_LU" },
	{ "sv", "sv_FI" }, { "el", "el_CY" },
};

/* currencies of EU member states and neighbours letters are paid in */
static const char *const currencies[] = {
	"EUR", "PLN", "CZK", "HUF", "RON", "BGN", "SEK", "DKK", "CHF", "GBP",
	"USD", "NOK", "ISK", "HRK",
};
#define N_CUR (sizeof currencies / sizeof currencies[0])

struct lex_val {
	unsigned char v[ENT_N_LANGS];	/* per language: month 1..12 or currency index + 1 */
};

struct lex_sym {
	char s[16];			/* a non-letter symbol such as "€" or "US$" */
	size_t len;
	int cur;			/* index into currencies[] */
};

static pthread_once_t lex_once = PTHREAD_ONCE_INIT;
static int lex_rc;
static GHashTable *months_tab, *cur_tab;	/* key → struct lex_val */
static struct lex_sym syms[256];
static size_t n_syms;

/* ent_key_u16 - fold case and drop combining marks (note 2) */
bool ent_key_u16(const UChar *u, int32_t n, char *key, size_t cap)
{
	UChar d[192], f[192];
	UErrorCode ec = U_ZERO_ERROR;
	const UNormalizer2 *nfd = unorm2_getNFDInstance(&ec);
	int32_t nd, nf = 0, nk = 0;

	if (U_FAILURE(ec) || n > 64)
		return false;
	nd = unorm2_normalize(nfd, u, n, d, 192, &ec);
	if (U_FAILURE(ec))
		return false;
	for (int32_t i = 0; i < nd; i++)
		if (u_charType(d[i]) != U_NON_SPACING_MARK)
			d[nf++] = d[i];
	nf = u_strFoldCase(f, 192, d, nf, U_FOLD_CASE_DEFAULT, &ec);
	if (U_FAILURE(ec) || nf == 0)
		return false;
	u_strToUTF8(key, (int32_t)cap, &nk, f, nf, &ec);
	return U_SUCCESS(ec) && nk < (int32_t)cap;
}

/* lex_put - record that key means val (1-based) in language lang */
static int lex_put(GHashTable *t, const UChar *u, int32_t n, int lang, int val)
{
	char key[128];
	struct lex_val *lv;

	if (!ent_key_u16(u, n, key, sizeof key))
		return 0;
	lv = g_hash_table_lookup(t, key);
	if (lv == NULL) {
		lv = g_new0(struct lex_val, 1);
		g_hash_table_insert(t, g_strdup(key), lv);
	}
	if (lv->v[lang] == 0)
		lv->v[lang] = (unsigned char)val;
	return 0;
}

/* strip_dot - "janv." and "лв." are looked up without their period */
static int32_t strip_dot(const UChar *u, int32_t n)
{
	while (n > 0 && (u[n - 1] == '.' || u[n - 1] == ' '))
		n--;
	return n;
}

static bool all_letters(const UChar *u, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		if (!u_isalpha(u[i]) && u_charType(u[i]) != U_NON_SPACING_MARK)
			return false;
	return n > 0;
}

/* add_months - every month spelling ICU knows for one locale */
static int add_months(const char *locale, int lang)
{
	static const UDateFormatSymbolType kinds[] = {
		UDAT_MONTHS, UDAT_SHORT_MONTHS, UDAT_STANDALONE_MONTHS,
		UDAT_STANDALONE_SHORT_MONTHS,
	};
	UErrorCode ec = U_ZERO_ERROR;
	UDateFormat *df = udat_open(UDAT_NONE, UDAT_LONG, locale, NULL, 0, NULL, 0, &ec);

	if (U_FAILURE(ec))
		return DK_EUNSUPPORTED;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (int32_t m = 0; m < 12 && m < udat_countSymbols(df, kinds[k]); m++) {
			UChar u[64];
			int32_t n;

			ec = U_ZERO_ERROR;
			n = udat_getSymbols(df, kinds[k], m, u, 64, &ec);
			if (U_FAILURE(ec) || n >= 64)
				continue;
			n = strip_dot(u, n);
			if (all_letters(u, n))
				lex_put(months_tab, u, n, lang, m + 1);
		}
	}
	udat_close(df);
	return 0;
}

/* add_symbol - a currency sign that is not a word ("€", "US$") */
static void add_symbol(const UChar *u, int32_t n, int cur)
{
	char s[16];
	int32_t ns = 0;
	UErrorCode ec = U_ZERO_ERROR;

	u_strToUTF8(s, sizeof s, &ns, u, n, &ec);
	if (U_FAILURE(ec) || ns == 0 || ns >= (int32_t)sizeof s)
		return;
	for (size_t i = 0; i < n_syms; i++)
		if (strcmp(syms[i].s, s) == 0)
			return;
	if (n_syms == sizeof syms / sizeof syms[0])
		return;
	memcpy(syms[n_syms].s, s, (size_t)ns + 1);
	syms[n_syms].len = (size_t)ns;
	syms[n_syms].cur = cur;
	n_syms++;
}

/*
 * add_currency_name - a name as ICU gives it: a letter word goes to the
 * word table; a multi-word name ("złotych polskich", "svenska kronor",
 * "dollar des États-Unis") contributes its first and last words of three
 * letters or more, one of which is the noun that follows an amount (the
 * middle words are particles such as "des"); anything else is a symbol
 */
static void add_currency_name(const UChar *u, int32_t n, int lang, int cur)
{
	int32_t a = 0;

	n = strip_dot(u, n);
	if (n == 0)
		return;
	if (all_letters(u, n)) {
		lex_put(cur_tab, u, n, lang, cur + 1);
		return;
	}
	if (u_memchr(u, ' ', n) == NULL && u_memchr(u, 0xA0, n) == NULL) {
		add_symbol(u, n, cur);
		return;
	}
	while (a < n) {
		int32_t b = a;

		while (b < n && u[b] != ' ' && u[b] != 0xA0)
			b++;
		if ((a == 0 || b == n) && b - a >= 3 && all_letters(u + a, b - a))
			lex_put(cur_tab, u + a, b - a, lang, cur + 1);
		a = b + 1;
	}
}

static void add_currencies(const char *locale, int lang)
{
	static const char *const counts[] = { "zero", "one", "two", "few", "many", "other" };

	for (size_t c = 0; c < N_CUR; c++) {
		UChar code[4];
		const UChar *name;
		UBool choice;
		int32_t n;
		UErrorCode ec = U_ZERO_ERROR;

		u_charsToUChars(currencies[c], code, 4);
		lex_put(cur_tab, code, 3, lang, (int)c + 1);
		for (int kind = UCURR_SYMBOL_NAME; kind <= UCURR_LONG_NAME; kind++) {
			ec = U_ZERO_ERROR;
			name = ucurr_getName(code, locale, (UCurrNameStyle)kind, &choice, &n, &ec);
			if (U_SUCCESS(ec) && n < 64)
				add_currency_name(name, n, lang, (int)c);
		}
		for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
			ec = U_ZERO_ERROR;
			name = ucurr_getPluralName(code, locale, &choice, counts[k], &n, &ec);
			if (U_SUCCESS(ec) && n < 64)
				add_currency_name(name, n, lang, (int)c);
		}
	}
}

static int sym_longer_first(const void *a, const void *b)
{
	const struct lex_sym *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static void lex_build(void)
{
	months_tab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	cur_tab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (int i = 0; i < ENT_N_LANGS && lex_rc == 0; i++) {
		lex_rc = add_months(ent_lex_langs[i], i);
		add_currencies(ent_lex_langs[i], i);
	}
	for (size_t i = 0; i < sizeof extra_locales / sizeof extra_locales[0] && lex_rc == 0; i++) {
		int lang = ent_lex_lang(extra_locales[i][0]);

		lex_rc = add_months(extra_locales[i][1], lang);
		add_currencies(extra_locales[i][1], lang);
	}
	qsort(syms, n_syms, sizeof syms[0], sym_longer_first);
	if (lex_rc == 0 && g_hash_table_size(months_tab) < 12 * ENT_N_LANGS)
		lex_rc = DK_EUNSUPPORTED;
}

/* ent_lex_init - build the tables once (note 4) */
int ent_lex_init(void)
{
	pthread_once(&lex_once, lex_build);
	return lex_rc;
}

int ent_lex_lang(const char *code)
{
	if (code == NULL)
		return -1;
	for (int i = 0; i < ENT_N_LANGS; i++)
		if (strncmp(code, ent_lex_langs[i], 2) == 0 &&
		    (code[2] == 0 || code[2] == '-' || code[2] == '_'))
			return i;
	return -1;
}

/* lex_pick - the document language's reading, else the majority (note 3) */
static int lex_pick(const struct lex_val *lv, int lang)
{
	int count[256] = { 0 }, best = 0;

	if (lv == NULL)
		return 0;
	if (lang >= 0 && lv->v[lang])
		return lv->v[lang];
	for (int i = 0; i < ENT_N_LANGS; i++)
		if (lv->v[i] && ++count[lv->v[i]] > count[best])
			best = lv->v[i];
	return best;
}

int ent_lex_month(const char *key, int lang)
{
	return lex_pick(g_hash_table_lookup(months_tab, key), lang);
}

/* stem_len - bytes of key without its last two characters */
static size_t stem_len(const char *key)
{
	size_t n = strlen(key);

	for (int k = 0; k < 2 && n > 0; k++)
		do
			n--;
		while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80);
	return n;
}

int ent_lex_month_stem(const char *key)
{
	GHashTableIter it;
	gpointer k, v;
	size_t best = 0;
	int month = 0;

	g_hash_table_iter_init(&it, months_tab);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		size_t n = stem_len(k);

		if (n >= 3 && n > best && strncmp(key, k, n) == 0) {
			best = n;
			month = lex_pick(v, -1);
		}
	}
	return month;
}

const char *ent_lex_currency_word(const char *key, int lang)
{
	int v = lex_pick(g_hash_table_lookup(cur_tab, key), lang);

	return v ? currencies[v - 1] : NULL;
}

bool ent_lex_currency_in(const char *key, int lang)
{
	const struct lex_val *lv = g_hash_table_lookup(cur_tab, key);

	return lv != NULL && lang >= 0 && lang < ENT_N_LANGS && lv->v[lang] != 0;
}

const char *ent_lex_currency_symbol(const char *s, size_t n, size_t *len)
{
	for (size_t i = 0; i < n_syms; i++)
		if (syms[i].len <= n && memcmp(s, syms[i].s, syms[i].len) == 0) {
			*len = syms[i].len;
			return currencies[syms[i].cur];
		}
	return NULL;
}

const char *ent_lex_currency_code(const char *s, size_t n)
{
	if (n < 3)
		return NULL;
	for (size_t i = 0; i < N_CUR; i++)
		if (memcmp(s, currencies[i], 3) == 0)
			return currencies[i];
	return NULL;
}
