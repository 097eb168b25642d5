/*
 * NAME
 *	normalize - raw extracted text to stored text
 * DESIGN NOTES
 *	The work runs in four passes over a line table, so that every rule
 *	sees whole lines and page offsets are computed once, at the end:
 *	  1. clean: per page, UTF-8 -> UTF-16 (invalid bytes -> U+FFFD),
 *	     character cleanup, NFC, back to UTF-8 into one buffer (clean);
 *	  2. split: the cleaned pages become lines {page, offset, length};
 *	  3. furniture: lines among the first and last FURN_ZONE non-blank
 *	     lines of a page are reduced to a form (the page number and the
 *	     page count -> '#'); forms found on most pages are running heads
 *	     or page numbers and go
 *	     (a one-page text loses only a worded page number such as
 *	     "Page 1 of 1": a bare number there may be anything);
 *	  4. dehyphenate: a line ending in letter + '-' followed (on the same
 *	     page without a blank line, or at the top of the next page) by a
 *	     line starting with a letter takes that line's first word.
 *	Invariants:
 *	  1. Pass 1 emits no space at a line's start or end, never two spaces
 *	     in a row and never more than two newlines in a row, so lines are
 *	     already trimmed when split.
 *	  2. Lines are never rewritten in place: a line is a slice of clean,
 *	     minus an optional final hyphen, plus an optional suffix slice
 *	     (the word pulled up by pass 4); a removed line is only marked.
 *	  3. Offsets in the line table fit in uint32_t: a page or clean is
 *	     refused beyond CLEAN_MAX bytes (text_too_large), which also keeps
 *	     every ICU length, after ligatures triple a page, within int32_t.
 *	  4. out_start[p] is where page p's first byte lands in out; a page
 *	     left without text starts where the next text would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "stages/normalize.h"

#define FURN_ZONE 3		/* head/foot lines per page examined */
#define CLEAN_MAX (UINT32_MAX / 8)	/* invariant 3, with room for UTF-16 x3 */

struct line {
	uint32_t off, len;	/* slice of clean */
	uint32_t sfx_off, sfx_len;	/* word pulled up from the next line */
	int32_t page;
	uint8_t blank, drop, unhyph;	/* unhyph: omit the final '-' */
};

struct norm {
	struct dk_buf clean;	/* all pages after pass 1, '\n' separated */
	struct line *lines;
	size_t n, alloc;
	int pages;
	struct dk_err *err;
};

/* nomem - record an allocation failure */
static int nomem(struct dk_err *err)
{
	return dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory while normalizing text");
}

/* too_large - record a text over its cap */
static int too_large(struct dk_err *err)
{
	return dk_err_setx(err, DK_ENOMEM, "text_too_large", "extracted text exceeds the text size limit");
}

/* ---- pass 1: characters -------------------------------------------- */

enum { C_KEEP, C_DROP, C_NL, C_PARA, C_SPACE, C_SHY, C_LIG };

/*
 * Latin ligatures (U+FB00..U+FB06) that PDF fonts map to one code point:
 * spelled out, so "Pflichtprüfung" set with an fl ligature matches the
 * word. The rest of NFKC is not applied: it would rewrite ² ½ ™ and
 * full-width forms that a document means as written.
 */
static const char *const ligatures[] = { "ff", "fi", "fl", "ffi", "ffl", "st", "st" };

/* classify - what pass 1 does with code point c */
static int classify(UChar32 c)
{
	switch (c) {
	case '\n': case '\f': case '\v': case 0x85: case 0x2028:
		return C_NL;
	case 0x2029:
		return C_PARA;
	case '\t': case ' ':
		return C_SPACE;
	case 0xAD:
		return C_SHY;
	case 0x200B: case 0x200E: case 0x200F: case 0x2060: case 0xFEFF:
		return C_DROP;	/* invisible: would split words for search */
	}
	if (c >= 0xFB00 && c <= 0xFB06)
		return C_LIG;
	if (U_IS_UNICODE_NONCHAR(c) || U_IS_SURROGATE(c))
		return C_DROP;
	switch (u_charType(c)) {
	case U_SPACE_SEPARATOR:
		return C_SPACE;
	case U_CONTROL_CHAR:
		return C_DROP;
	}
	return C_KEEP;
}

/* shy_ends_line - a soft hyphen followed only by spaces up to a line end */
static int shy_ends_line(const UChar *u, int32_t i, int32_t n)
{
	while (i < n) {
		UChar32 c;
		int k;

		U16_NEXT(u, i, n, c);
		if (c == '\r')
			return 1;
		k = classify(c);
		if (k == C_NL || k == C_PARA)
			return 1;
		if (k != C_SPACE)
			return 0;
	}
	return 1;
}

/* clean_units - the character rules of pass 1 (invariant 1); o holds n units plus 2 per ligature */
static int32_t clean_units(const UChar *u, int32_t n, UChar *o)
{
	int32_t i = 0, k = 0;
	int nl = 2, space = 0;	/* nl: newlines just emitted (2 = none wanted) */

	while (i < n) {
		UChar32 c;
		int cls;

		U16_NEXT(u, i, n, c);
		if (c == '\r') {
			if (i < n && u[i] == '\n')
				continue;
			c = '\n';
		}
		cls = classify(c);
		if (cls == C_SHY) {
			if (!shy_ends_line(u, i, n))
				continue;
			c = '-';
			cls = C_KEEP;
		}
		switch (cls) {
		case C_DROP:
			break;
		case C_LIG:
			if (space)
				o[k++] = ' ';
			for (const char *l = ligatures[c - 0xFB00]; *l; l++)
				o[k++] = (UChar)*l;
			space = 0;
			nl = 0;
			break;
		case C_SPACE:
			space = nl == 0;
			break;
		case C_NL:
		case C_PARA:
			space = 0;
			for (int rep = cls == C_PARA ? 2 : 1; rep > 0 && nl < 2; rep--, nl++)
				o[k++] = '\n';
			break;
		default:
			if (space)
				o[k++] = ' ';
			U16_APPEND_UNSAFE(o, k, c);
			space = 0;
			nl = 0;
		}
	}
	return k;
}

/* nfc_to_clean - NFC of u[0..n), appended to clean as UTF-8 */
static int nfc_to_clean(const UChar *u, int32_t n, struct norm *nm)
{
	const UNormalizer2 *nfc;
	UErrorCode st = U_ZERO_ERROR;
	int32_t cap = n + n / 4 + 16, got, u8len;
	UChar *v;
	int rc = 0;

	nfc = unorm2_getNFCInstance(&st);
	if (U_FAILURE(st))
		return dk_err_set(nm->err, DK_EIO, "cannot load unicode normalization data: %s", u_errorName(st));
	for (;;) {
		if ((v = malloc((size_t)cap * sizeof *v)) == NULL)
			return nomem(nm->err);
		st = U_ZERO_ERROR;
		got = unorm2_normalize(nfc, u, n, v, cap, &st);
		if (st != U_BUFFER_OVERFLOW_ERROR)
			break;
		free(v);
		cap = got + 1;
	}
	if (U_FAILURE(st)) {
		free(v);
		return dk_err_setx(nm->err, DK_EFORMAT, "bad_encoding", "cannot normalize the text: %s",
				   u_errorName(st));
	}
	st = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &u8len, v, got, &st);
	if (nm->clean.len + (size_t)u8len > CLEAN_MAX)
		rc = too_large(nm->err);
	else if (dk_buf_grow(&nm->clean, (size_t)u8len) != 0)
		rc = nomem(nm->err);
	if (rc == 0) {
		st = U_ZERO_ERROR;
		u_strToUTF8(nm->clean.buf + nm->clean.len, u8len + 1, NULL, v, got, &st);
		nm->clean.len += (size_t)u8len;
		nm->clean.buf[nm->clean.len] = 0;
	}
	free(v);
	return rc;
}

/* clean_page - pass 1 for one page of raw UTF-8 */
static int clean_page(const char *s, size_t n, struct norm *nm)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t ulen = 0, k;
	UChar *u, *o;
	size_t room;
	int rc;

	if (n > CLEAN_MAX)
		return too_large(nm->err);
	u_strFromUTF8WithSub(NULL, 0, &ulen, s, (int32_t)n, 0xFFFD, NULL, &st);
	/* clean_units writes at most 2 units per input unit (a paragraph
	 * break becomes 2 newlines, a space before a surrogate pair's 2 is
	 * paid by the space's own unit), a ligature up to 4 with its space */
	room = 2 * (size_t)ulen + 1;
	if ((u = malloc(((size_t)ulen + 1) * sizeof *u)) == NULL)
		return nomem(nm->err);
	st = U_ZERO_ERROR;
	u_strFromUTF8WithSub(u, ulen + 1, NULL, s, (int32_t)n, 0xFFFD, NULL, &st);
	for (int32_t i = 0; i < ulen; i++)
		room += u[i] >= 0xFB00 && u[i] <= 0xFB06 ? 2 : 0;	/* spelled out: up to 3 */
	if ((o = malloc(room * sizeof *o)) == NULL) {
		free(u);
		return nomem(nm->err);
	}
	k = clean_units(u, ulen, o);
	free(u);
	rc = nfc_to_clean(o, k, nm);
	free(o);
	return rc;
}

/* ---- pass 2: lines --------------------------------------------------- */

static int add_line(struct norm *nm, size_t off, size_t len, int page)
{
	struct line *l;

	if (nm->n == nm->alloc) {
		size_t na = nm->alloc ? nm->alloc * 2 : 256;
		struct line *nl = realloc(nm->lines, na * sizeof *nl);

		if (nl == NULL)
			return nomem(nm->err);
		nm->lines = nl;
		nm->alloc = na;
	}
	l = &nm->lines[nm->n++];
	memset(l, 0, sizeof *l);
	l->off = (uint32_t)off;
	l->len = (uint32_t)len;
	l->page = page;
	l->blank = len == 0;
	return 0;
}

/* split_page - pass 2 for clean[from..clean.len) */
static int split_page(struct norm *nm, size_t from, int page)
{
	const char *b = nm->clean.buf;
	size_t end = nm->clean.len, i = from;

	while (i < end) {
		const char *nl = memchr(b + i, '\n', end - i);
		size_t stop = nl ? (size_t)(nl - b) : end;
		int rc = add_line(nm, i, stop - i, page);

		if (rc != 0)
			return rc;
		i = stop + 1;
	}
	return 0;
}

/* ---- pass 3: furniture ------------------------------------------------ */

struct form {
	int count;		/* pages on which the form appears */
	int last_page;		/* counts each page once */
	int first_page;		/* where a running head is kept */
};

/*
 * line_form - the line with its page number (counted from the first page,
 * or from the second when a cover page goes unnumbered) and the page count
 * folded to '#'; g_free() it. Other numbers stay as written: a list whose last
 * line on every page is "Position 7 ... 12,00 EUR" is content, and only
 * the same line repeated, page numbers aside, is a running head.
 */
static char *line_form(const struct norm *nm, const struct line *l)
{
	const char *s = nm->clean.buf + l->off;
	GString *g = g_string_sized_new(l->len);

	for (uint32_t i = 0; i < l->len; i++) {
		uint32_t j = i;
		unsigned long v = 0;

		while (j < l->len && s[j] >= '0' && s[j] <= '9' && j - i < 9)
			v = v * 10 + (unsigned long)(s[j++] - '0');
		if (j > i && (j == l->len || s[j] < '0' || s[j] > '9') &&
		    (v == (unsigned long)l->page + 1 || v == (unsigned long)nm->pages ||
		     (v == (unsigned long)l->page && v > 0))) {
			g_string_append_c(g, '#');
			i = j - 1;
		} else {
			g_string_append_c(g, s[i]);
		}
	}
	return g_string_free(g, FALSE);
}

/*
 * is_page_number - a form made of one or two '#' (the page, the count),
 * punctuation and page words, and of nothing else
 */
static int is_page_number(const char *form)
{
	static const char *const words[] = {
		"seite", "page", "pagina", "página", "pág", "pag", "strona",
		"str", "blz", "blad", "s", "p", "pp", "von", "of", "de", "di",
		"van", "z", "sur", "su", "sivu", "sida", "side", "af", "av",
		"oldal", "stránka", "strana", "lehekülg", "σελίδα", "pagină",
		"din", "iš", "lapa", "från", "ze", "od", "из", "страница", NULL,
	};
	char *low = g_utf8_strdown(form, -1);
	int hashes = 0, ok = 1;
	char *tok, *save = NULL;

	for (tok = strtok_r(low, " -–—/|.:,()[]", &save); tok && ok;
	     tok = strtok_r(NULL, " -–—/|.:,()[]", &save)) {
		if (strcmp(tok, "#") == 0) {
			hashes++;
			continue;
		}
		ok = 0;
		for (int i = 0; words[i]; i++)
			if (strcmp(tok, words[i]) == 0)
				ok = 1;
	}
	g_free(low);
	return ok && hashes > 0 && hashes <= 2;
}

/* zone_lines - indices of the head and foot zone lines of page [a, b) */
static size_t zone_lines(const struct norm *nm, size_t a, size_t b, size_t *idx)
{
	size_t n = 0, seen = 0;

	for (size_t i = a; i < b && seen < FURN_ZONE; i++)
		if (!nm->lines[i].blank) {
			idx[n++] = i;
			seen++;
		}
	seen = 0;
	for (size_t i = b; i > a && seen < FURN_ZONE; i--) {
		size_t j = i - 1;
		int dup = 0;

		if (nm->lines[j].blank)
			continue;
		seen++;
		for (size_t k = 0; k < n; k++)
			dup |= idx[k] == j;
		if (!dup)
			idx[n++] = j;
	}
	return n;
}

/* count_key - count key once for page (keys: "f" + form, "r" + raw line) */
static void count_key(GHashTable *forms, char *key, int page)
{
	struct form *f = g_hash_table_lookup(forms, key);

	if (f == NULL) {
		f = g_new0(struct form, 1);
		f->last_page = f->first_page = -1;
		g_hash_table_insert(forms, g_strdup(key), f);
	}
	if (f->last_page != page) {
		f->count++;
		f->last_page = page;
		if (f->first_page < 0)
			f->first_page = page;
	}
}

/* common - the count for key if it is on most pages, else NULL */
static const struct form *common(const struct norm *nm, GHashTable *forms, const char *key)
{
	const struct form *f = g_hash_table_lookup(forms, key);

	return f && f->count >= 2 && 2 * f->count > nm->pages ? f : NULL;
}

/*
 * zone_line - count (apply 0) or judge (apply 1) one head/foot line. The
 * raw line counts as well as its form, so a content number that happens
 * to equal the page number cannot hide a repeated line.
 */
static void zone_line(struct norm *nm, GHashTable *forms, struct line *l, int apply)
{
	char *form = line_form(nm, l);
	char *fkey = g_strconcat("f", form, NULL);
	char *rkey = g_strdup_printf("r%.*s", (int)l->len, nm->clean.buf + l->off);
	const struct form *f, *r = NULL;

	if (!apply) {
		count_key(forms, fkey, l->page);
		count_key(forms, rkey, l->page);
	} else if ((f = common(nm, forms, fkey)) != NULL && is_page_number(form)) {
		l->drop = 1;
	} else if (f || (r = common(nm, forms, rkey)) != NULL) {
		l->drop = (f ? f : r)->first_page != l->page;
	}
	g_free(form);
	g_free(fkey);
	g_free(rkey);
}

/* furniture_walk - count forms (apply 0) or drop furniture lines (apply 1) */
static void furniture_walk(struct norm *nm, GHashTable *forms, int apply)
{
	size_t a = 0;

	while (a < nm->n) {
		size_t b = a, idx[2 * FURN_ZONE];
		int page = nm->lines[a].page;
		size_t nz;

		while (b < nm->n && nm->lines[b].page == page)
			b++;
		nz = zone_lines(nm, a, b, idx);
		for (size_t k = 0; k < nz; k++)
			zone_line(nm, forms, &nm->lines[idx[k]], apply);
		a = b;
	}
}

/* lone_page_number - pass 3 on a one-page text: "Seite 1 von 1", "- 1 -" go, a bare "1" stays */
static void lone_page_number(struct norm *nm)
{
	size_t idx[2 * FURN_ZONE], nz = zone_lines(nm, 0, nm->n, idx);

	for (size_t k = 0; k < nz; k++) {
		struct line *l = &nm->lines[idx[k]];
		char *form = line_form(nm, l);

		l->drop = strcmp(form, "#") != 0 && is_page_number(form);
		g_free(form);
	}
}

/* furniture - pass 3 */
static void furniture(struct norm *nm)
{
	GHashTable *forms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	furniture_walk(nm, forms, 0);
	furniture_walk(nm, forms, 1);
	g_hash_table_destroy(forms);
}

/* ---- pass 4: de-hyphenation ------------------------------------------- */

/* first_cp - first code point of line l's remaining text */
static UChar32 first_cp(const struct norm *nm, const struct line *l)
{
	const uint8_t *s = (const uint8_t *)nm->clean.buf + l->off;
	int32_t i = 0;
	UChar32 c;

	U8_NEXT(s, i, (int32_t)l->len, c);
	return c;
}

/* hyphen_end - line ends in a letter followed by '-' */
static int hyphen_end(const struct norm *nm, const struct line *l)
{
	const uint8_t *s = (const uint8_t *)nm->clean.buf + l->off;
	int32_t i = (int32_t)l->len - 1;
	UChar32 c;

	if (l->len < 2 || l->sfx_len || s[i] != '-')
		return 0;
	U8_PREV(s, 0, i, c);
	return c >= 0 && u_isalpha(c);
}

/* first_word_len - bytes up to the first space (or the whole line) */
static uint32_t first_word_len(const struct norm *nm, const struct line *l)
{
	const char *s = nm->clean.buf + l->off;
	const char *sp = memchr(s, ' ', l->len);

	return sp ? (uint32_t)(sp - s) : l->len;
}

/* is_conjunction - "Straßen- und Brückenbau": the hyphen is a real one */
static int is_conjunction(const struct norm *nm, const struct line *l, uint32_t wlen)
{
	static const char *const words[] = {
		"und", "oder", "bzw.", "sowie", "and", "or", "et", "ou", "en",
		"of", "e", "o", "y", "i", "ed", "lub", "oraz", "bzw", "as",
		"und/oder", "ou/et", NULL,
	};
	const char *s = nm->clean.buf + l->off;

	while (wlen > 0 && strchr(",;:", s[wlen - 1]))
		wlen--;
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == wlen && memcmp(words[i], s, wlen) == 0)
			return 1;
	return 0;
}

/* next_text_line - the line a hyphenated line i may join, or -1 */
static long next_text_line(const struct norm *nm, size_t i)
{
	int blank = 0;

	for (size_t j = i + 1; j < nm->n; j++) {
		const struct line *l = &nm->lines[j];

		if (l->drop)
			continue;
		if (l->blank) {
			blank = 1;
			continue;
		}
		if (l->page == nm->lines[i].page && blank)
			return -1;	/* a paragraph break: not a broken word */
		return (long)j;
	}
	return -1;
}

/* dehyphenate - pass 4 (invariant 2) */
static void dehyphenate(struct norm *nm)
{
	for (size_t i = 0; i < nm->n; i++) {
		struct line *l = &nm->lines[i], *m;
		long j;
		UChar32 c;
		uint32_t w;

		if (l->drop || !hyphen_end(nm, l) || (j = next_text_line(nm, i)) < 0)
			continue;
		m = &nm->lines[j];
		c = first_cp(nm, m);
		w = first_word_len(nm, m);
		if (c < 0 || !u_isalpha(c) || (u_islower(c) && is_conjunction(nm, m, w)))
			continue;
		l->unhyph = u_islower(c);
		l->sfx_off = m->off;
		l->sfx_len = w;
		w += w < m->len;	/* the single space after it (invariant 1) */
		m->off += w;
		m->len -= w;
		if (m->len == 0)
			m->drop = 1;
	}
}

/* ---- output ------------------------------------------------------------ */

static int out_add(struct dk_buf *out, const char *s, size_t n, struct dk_err *err)
{
	if (out->cap && out->len + n > out->cap)
		return too_large(err);
	if (dk_buf_add(out, s, n) != 0)
		return nomem(err);
	return 0;
}

/* emit_line - line l's text: its slice, minus an unhyphenated '-', plus its suffix */
static int emit_line(const struct norm *nm, const struct line *l, struct dk_buf *out,
		     struct dk_err *err)
{
	int rc = out_add(out, nm->clean.buf + l->off, l->len - l->unhyph, err);

	if (rc == 0 && l->sfx_len)
		rc = out_add(out, nm->clean.buf + l->sfx_off, l->sfx_len, err);
	return rc;
}

/* emit - join the kept lines: one blank line between paragraphs and pages (invariant 4) */
static int emit(const struct norm *nm, struct dk_buf *out, size_t *out_start, int slots)
{
	int page = 0, blank = 0, unset = 0;	/* unset: first page without a start yet */
	int rc = 0;

	for (size_t i = 0; i < nm->n && rc == 0; i++) {
		const struct line *l = &nm->lines[i];

		if (l->page != page) {
			page = l->page;
			blank = 1;
		}
		if (l->drop)
			continue;
		if (l->blank) {
			blank = 1;
			continue;
		}
		if (out->len)
			rc = out_add(out, "\n\n", blank ? 2 : 1, nm->err);
		while (rc == 0 && unset <= page && unset < slots)
			out_start[unset++] = out->len;
		if (rc == 0)
			rc = emit_line(nm, l, out, nm->err);
		blank = 0;
	}
	while (unset < slots)
		out_start[unset++] = out->len;
	return rc;
}

/* normalize_text - the four passes, then emit */
int normalize_text(const char *in, size_t len, const size_t *page_start,
		   int pages, unsigned flags, struct dk_buf *out,
		   size_t *out_start, struct dk_err *err)
{
	struct norm nm = { DK_BUF_INIT, NULL, 0, 0, pages > 0 ? pages : 1, err };
	size_t dummy_start;
	int rc = 0;

	if (out->len != 0 || pages < 0 || (pages > 0 && page_start == NULL))
		return dk_err_set(err, DK_EINVAL, "normalize_text needs an empty output and page offsets");
	for (int p = 0; p < nm.pages && rc == 0; p++) {
		size_t a = pages ? page_start[p] : 0;
		size_t b = pages && p + 1 < pages ? page_start[p + 1] : len;
		size_t from = nm.clean.len;

		if (DK_NEVER(a > b || b > len))
			return dk_err_set(err, DK_EINVAL, "page %d lies outside the text", p + 1);
		rc = clean_page(in + a, b - a, &nm);
		if (rc == 0)
			rc = split_page(&nm, from, p);
	}
	if (rc == 0 && (flags & NORMALIZE_FURNITURE))
		(nm.pages >= 2 ? furniture : lone_page_number)(&nm);
	if (rc == 0 && (flags & NORMALIZE_DEHYPHENATE))
		dehyphenate(&nm);
	if (rc == 0)
		rc = emit(&nm, out, pages ? out_start : &dummy_start, pages ? pages : 1);
	if (rc != 0)
		dk_buf_reset(out);
	dk_buf_release(&nm.clean);
	free(nm.lines);
	return rc;
}
