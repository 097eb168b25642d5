/*
 * NAME
 *	entities - driver of the rule-based entity recognizers
 * DESIGN NOTES
 *	1. Every offset handed out lies on a UTF-8 character boundary of the
 *	   caller's bytes: recognizers only start and end matches at ASCII
 *	   characters or at characters decoded by ent_cp(), and an invalid
 *	   byte decodes as a one-byte U+FFFD that no recognizer accepts.
 *	2. The claim map makes types exclusive: a recognizer emits only over
 *	   unclaimed bytes, and the run order (iban before date before amount
 *	   before phone before postal_code before reference) is the order of
 *	   how much a match proves about itself. An IBAN's checksum beats the
 *	   date-looking digits inside it; a phone number never swallows an
 *	   amount. Web addresses are claimed first without becoming entities,
 *	   so nothing is found inside them.
 *	3. The text is not NUL-terminated; every read checks i < n.
 *	4. Offsets are int32_t inside ICU's UTF-8 macros, so texts are capped
 *	   at 1 GiB (DK_ELIMIT); extracted text caps are far below that.
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "stages/ent_internal.h"

#define ENT_MAX_TEXT ((size_t)1 << 30)

static const char *const type_names[ENT_N_TYPES] = {
	"date", "email", "phone", "iban", "amount", "postal_code", "reference",
};

/* ent_type_name - the result record's name of a type */
const char *ent_type_name(enum ent_type t)
{
	return (unsigned)t < ENT_N_TYPES ? type_names[t] : "unknown";
}

/* ent_type_parse - inverse of ent_type_name */
int ent_type_parse(const char *name)
{
	for (int i = 0; i < ENT_N_TYPES; i++)
		if (strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

/* ent_list_release - free the array and the value strings */
void ent_list_release(struct ent_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].value);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

/* ent_free_span - see ent_internal.h */
bool ent_free_span(const struct ent_ctx *c, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++)
		if (c->claimed[i])
			return false;
	return true;
}

/* ent_emit - append one entity and claim its bytes (note 2) */
int ent_emit(struct ent_ctx *c, enum ent_type t, size_t start, size_t end,
	     const char *value, double confidence)
{
	struct ent_list *l = c->out;
	struct ent_entity *e;

	if (DK_NEVER(start >= end || end > c->n))
		return 0;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? 2 * l->alloc : 32;
		struct ent_entity *nv = realloc(l->v, na * sizeof *nv);

		if (nv == NULL)
			return DK_ENOMEM;
		l->v = nv;
		l->alloc = na;
	}
	e = &l->v[l->n];
	e->value = strdup(value);
	if (e->value == NULL)
		return DK_ENOMEM;
	e->type = t;
	e->start = start;
	e->end = end;
	e->confidence = confidence;
	l->n++;
	memset(c->claimed + start, 1, end - start);
	return 0;
}

int ent_emit_text(struct ent_ctx *c, enum ent_type t, size_t start, size_t end,
		  double confidence)
{
	char *v = malloc(end - start + 1);
	size_t n = 0;
	int rc;

	if (v == NULL)
		return DK_ENOMEM;
	for (size_t i = start; i < end; i++) {
		bool blank = ent_in(c->s[i], " \t\r\n");

		if (!blank)
			v[n++] = c->s[i];
		else if (n && v[n - 1] != ' ')
			v[n++] = ' ';
	}
	v[n] = 0;
	rc = ent_emit(c, t, start, end, v, confidence);
	free(v);
	return rc;
}

/* ent_cp - decode one code point (note 1) */
int32_t ent_cp(const struct ent_ctx *c, size_t i, size_t *next)
{
	int32_t k = (int32_t)i, cp;

	U8_NEXT((const uint8_t *)c->s, k, (int32_t)c->n, cp);
	if (next)
		*next = (size_t)k;
	return cp < 0 ? 0xFFFD : cp;
}

/* ent_cp_before - decode the code point that ends at i */
int32_t ent_cp_before(const struct ent_ctx *c, size_t i, size_t *prev)
{
	int32_t k = (int32_t)i, cp;

	if (i == 0)
		return -1;
	U8_PREV((const uint8_t *)c->s, 0, k, cp);
	if (prev)
		*prev = (size_t)k;
	return cp < 0 ? 0xFFFD : cp;
}

/* ent_is_alnum_cp - letters and digits of every script */
bool ent_is_alnum_cp(int32_t cp)
{
	return cp >= 0 && cp != 0xFFFD && (u_isalnum(cp) || u_charType(cp) == U_NON_SPACING_MARK);
}

bool ent_word_edge_before(const struct ent_ctx *c, size_t i)
{
	return !ent_is_alnum_cp(ent_cp_before(c, i, NULL));
}

bool ent_word_edge_after(const struct ent_ctx *c, size_t i)
{
	return i >= c->n || !ent_is_alnum_cp(ent_cp(c, i, NULL));
}

size_t ent_digits(const struct ent_ctx *c, size_t i)
{
	size_t k = 0;

	while (i + k < c->n && c->s[i + k] >= '0' && c->s[i + k] <= '9')
		k++;
	return k;
}

/* ent_space_len - space, NBSP, narrow NBSP, thin space (number group separators) */
size_t ent_space_len(const struct ent_ctx *c, size_t i)
{
	size_t next;
	int32_t cp;

	if (i >= c->n)
		return 0;
	if (c->s[i] == ' ')
		return 1;
	if ((unsigned char)c->s[i] < 0x80)
		return 0;
	cp = ent_cp(c, i, &next);
	return cp == 0xA0 || cp == 0x202F || cp == 0x2009 || cp == 0x2007 ? next - i : 0;
}

size_t ent_gap_len(const struct ent_ctx *c, size_t i)
{
	size_t j = i;
	int lines = 0;

	while (j < c->n && j - i < 8) {
		size_t k = ent_space_len(c, j);

		if (k == 0 && (c->s[j] == '\t' || c->s[j] == '\r'))
			k = 1;
		if (k == 0 && c->s[j] == '\n' && lines++ == 0)
			k = 1;
		if (k == 0)
			break;
		j += k;
	}
	return j - i;
}

size_t ent_skip_blanks(const struct ent_ctx *c, size_t i, size_t max)
{
	size_t lim = i + max;

	while (i < c->n && i < lim) {
		size_t k = ent_space_len(c, i);

		if (k == 0 && (c->s[i] == '\t' || c->s[i] == '\n' || c->s[i] == '\r'))
			k = 1;
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

size_t ent_line_start(const struct ent_ctx *c, size_t i)
{
	while (i > 0 && c->s[i - 1] != '\n')
		i--;
	return i;
}

size_t ent_line_end(const struct ent_ctx *c, size_t i)
{
	while (i < c->n && c->s[i] != '\n')
		i++;
	return i;
}

size_t ent_word_end(const struct ent_ctx *c, size_t i)
{
	while (i < c->n) {
		size_t next;
		int32_t cp = ent_cp(c, i, &next);

		if (cp == 0xFFFD || !(u_isalpha(cp) || u_charType(cp) == U_NON_SPACING_MARK))
			break;
		i = next;
	}
	return i;
}

/*
 * ent_word_key - fold case and drop accents, so that "MARTIOY", "Μαρτίου"
 * and "μαρτιου" meet, and so do "février" and "fevrier"
 */
bool ent_word_key(const struct ent_ctx *c, size_t a, size_t b, char *key, size_t cap)
{
	UChar u[64];
	UErrorCode ec = U_ZERO_ERROR;
	int32_t nu = 0;

	if (b - a > 60)
		return false;
	u_strFromUTF8(u, 64, &nu, c->s + a, (int32_t)(b - a), &ec);
	return U_SUCCESS(ec) && nu < 64 && ent_key_u16(u, nu, key, cap);
}

bool ent_ascii_ieq(const struct ent_ctx *c, size_t i, const char *w)
{
	size_t k = strlen(w);

	if (i + k > c->n)
		return false;
	for (size_t j = 0; j < k; j++) {
		char a = c->s[i + j], b = w[j];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/* --- e-mail ---------------------------------------------------------- */

static bool email_local_ch(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ent_in(ch, "._%+-");
}

static bool email_domain_ch(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

/* email_at - the address around the '@' at position at, if it is one */
static int email_at(struct ent_ctx *c, size_t at, size_t *resume)
{
	size_t a = at, b = at + 1, dot = 0;

	while (a > 0 && email_local_ch(c->s[a - 1]))
		a--;
	while (a < at && (c->s[a] == '.' || c->s[a] == '-'))
		a++;
	while (b < c->n && email_domain_ch(c->s[b]))
		b++;
	while (b > at + 1 && (c->s[b - 1] == '.' || c->s[b - 1] == '-'))
		b--;
	*resume = b > at + 1 ? b : at + 1;
	for (size_t i = at + 1; i < b; i++)
		if (c->s[i] == '.')
			dot = i;
	if (a == at || dot == 0 || dot == at + 1 || b - dot < 3)
		return 0;
	for (size_t i = dot + 1; i < b; i++)
		if (!((c->s[i] >= 'a' && c->s[i] <= 'z') || (c->s[i] >= 'A' && c->s[i] <= 'Z')))
			return 0;
	if (!ent_word_edge_before(c, a) || !ent_free_span(c, a, b))
		return 0;
	return ent_emit_text(c, ENT_EMAIL, a, b, 0.99);
}

/* ent_find_emails - local@domain.tld, ASCII addresses */
int ent_find_emails(struct ent_ctx *c)
{
	size_t i = 0;

	while (i < c->n) {
		const char *p = memchr(c->s + i, '@', c->n - i);
		int rc;

		if (p == NULL)
			break;
		rc = email_at(c, (size_t)(p - c->s), &i);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- web addresses --------------------------------------------------- */

/*
 * claim_urls - web addresses are no entity, and the path segments inside
 * them ("/antrag-2025-0412/") must not become references or dates: claim
 * their bytes without emitting anything (note 2)
 */
static void claim_urls(struct ent_ctx *c)
{
	static const char *const starts[] = { "https://", "http://", "www." };

	for (size_t i = 0; i < c->n; i++) {
		size_t e;
		bool url = false;

		for (size_t k = 0; k < 3 && !url; k++)
			url = ent_ascii_ieq(c, i, starts[k]) && ent_word_edge_before(c, i);
		if (!url)
			continue;
		for (e = i; e < c->n && !ent_in(c->s[e], " \t\r\n<>\"'") ; e++)
			;
		while (e > i && ent_in(c->s[e - 1], ".,;:)]!?"))
			e--;
		memset(c->claimed + i, 1, e - i);
		i = e;
	}
}

/* --- driver ---------------------------------------------------------- */

static int by_start(const void *a, const void *b)
{
	const struct ent_entity *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* ent_extract - run every recognizer in claim order (note 2) */
int ent_extract(const char *text, size_t len, const struct ent_config *cfg,
		struct ent_list *out, struct dk_err *err)
{
	static const struct ent_config none;
	struct ent_ctx c;
	int rc;

	if (len > ENT_MAX_TEXT)
		return dk_err_set(err, DK_ELIMIT, "text of %zu bytes is over the entity limit", len);
	rc = ent_lex_init();
	if (rc)
		return dk_err_set(err, rc, "cannot load month and currency names from icu");
	memset(&c, 0, sizeof c);
	c.s = text;
	c.n = len;
	c.cfg = cfg ? cfg : &none;
	c.lang = ent_lex_lang(c.cfg->lang);
	c.out = out;
	c.first = out->n;
	c.claimed = calloc(len ? len : 1, 1);
	if (c.claimed == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory for entities");
	claim_urls(&c);
	rc = ent_find_ibans(&c);
	if (rc == 0)
		rc = ent_find_emails(&c);
	if (rc == 0)
		rc = ent_find_dates(&c);
	if (rc == 0)
		rc = ent_find_amounts(&c);
	if (rc == 0)
		rc = ent_find_phones(&c);
	if (rc == 0)
		rc = ent_find_postal_codes(&c);
	if (rc == 0)
		rc = ent_find_references(&c, err);
	free(c.claimed);
	if (rc == DK_ENOMEM)
		return dk_err_set(err, rc, "out of memory for entities");
	if (rc)
		return rc;
	if (out->n > c.first)
		qsort(out->v + c.first, out->n - c.first, sizeof *out->v, by_start);
	return 0;
}

/* ent_to_json - one entity as a JSON object (DESIGN §4) */
int ent_to_json(const struct ent_entity *e, const char *text, struct dk_buf *out)
{
	int rc = dk_buf_addf(out, "{\"type\": \"%s\", \"text\": ", ent_type_name(e->type));

	if (rc == 0)
		rc = dk_buf_add_json_str(out, text + e->start, e->end - e->start);
	if (rc == 0)
		rc = dk_buf_adds(out, ", \"value\": ");
	if (rc == 0)
		rc = dk_buf_add_json_str(out, e->value, strlen(e->value));
	if (rc == 0)
		rc = dk_buf_addf(out, ", \"start\": %zu, \"end\": %zu, \"method\": \"rules\", "
				 "\"confidence\": %.2f}", e->start, e->end, e->confidence);
	return rc;
}
