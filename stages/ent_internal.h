/*
 * NAME
 *	ent_internal - what the entity recognizers share (not a public API)
 * SUMMARY
 *	struct ent_ctx is one ent_extract() call: the text, the config, the
 *	output list and the claim map. Each recognizer (ent_date.c, ...)
 *	scans the text and calls ent_emit(); helpers here decode UTF-8 and
 *	classify characters so that every offset lands on a character
 *	boundary. ent_lex.c holds the ICU-derived word tables.
 * OWNERSHIP
 *	The context borrows text, config and list from ent_extract().
 * THREADS
 *	Per call; the lexicons are immutable after ent_lex_init().
 * ERRORS
 *	ent_emit() returns 0 or DK_ENOMEM; recognizers pass it up.
 */
#ifndef DK_ENT_INTERNAL_H
#define DK_ENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <unicode/utypes.h>

#include "stages/entities.h"

struct ent_ctx {
	const char *s;			/* the text, not NUL-terminated */
	size_t n;
	const struct ent_config *cfg;
	int lang;			/* index into ent_lex_langs or -1 */
	struct ent_list *out;
	size_t first;			/* out->v[first..] are this call's */
	unsigned char *claimed;		/* (n) nonzero where an entity lies */
};

/* ent_emit - record an entity over [start, end) and claim its bytes */
int ent_emit(struct ent_ctx *c, enum ent_type t, size_t start, size_t end,
	     const char *value, double confidence);

/* ent_emit_text - ent_emit with the text itself as value, blank runs as one space */
int ent_emit_text(struct ent_ctx *c, enum ent_type t, size_t start, size_t end,
		  double confidence);

/* ent_free_span - no byte of [start, end) is claimed yet */
bool ent_free_span(const struct ent_ctx *c, size_t start, size_t end);

/* ent_cp - the code point at i (U+FFFD for an invalid byte), *next after it */
int32_t ent_cp(const struct ent_ctx *c, size_t i, size_t *next);

/* ent_cp_before - the code point ending at i, or -1 at the start */
int32_t ent_cp_before(const struct ent_ctx *c, size_t i, size_t *prev);

/* ent_is_alnum_cp - letter or digit in any script */
bool ent_is_alnum_cp(int32_t cp);

/* ent_word_edge_before/after - no letter or digit touches position i */
bool ent_word_edge_before(const struct ent_ctx *c, size_t i);
bool ent_word_edge_after(const struct ent_ctx *c, size_t i);

/* ent_digits - number of ASCII digits starting at i */
size_t ent_digits(const struct ent_ctx *c, size_t i);

/* ent_space_len - length of one horizontal space character at i (ASCII, NBSP, thin), or 0 */
size_t ent_space_len(const struct ent_ctx *c, size_t i);

/* ent_gap_len - one blank gap at i: spaces with at most one line break (a
 * PDF line wrap inside an entity), or 0 */
size_t ent_gap_len(const struct ent_ctx *c, size_t i);

/* ent_skip_blanks - past spaces, tabs and line breaks (at most max bytes) */
size_t ent_skip_blanks(const struct ent_ctx *c, size_t i, size_t max);

/* ent_line_start/ent_line_end - bounds of the line holding i */
size_t ent_line_start(const struct ent_ctx *c, size_t i);
size_t ent_line_end(const struct ent_ctx *c, size_t i);

/* ent_word_end - end of the run of letters starting at i (i if none) */
size_t ent_word_end(const struct ent_ctx *c, size_t i);

/* ent_word_key - case-folded, accent-stripped UTF-8 key of text[a..b) */
bool ent_word_key(const struct ent_ctx *c, size_t a, size_t b, char *key, size_t cap);

/* ent_key_u16 - the same key for a UTF-16 word (also used to build the tables) */
bool ent_key_u16(const UChar *u, int32_t n, char *key, size_t cap);

/* ent_in - ch is one of the characters of set (never true for NUL) */
static inline bool ent_in(char ch, const char *set)
{
	return ch != 0 && strchr(set, ch) != NULL;
}

/* ent_ascii_ieq - text at i equals the ASCII word w, case-insensitively */
bool ent_ascii_ieq(const struct ent_ctx *c, size_t i, const char *w);

/* --- ICU-derived lexicons (ent_lex.c) --- */

#define ENT_N_LANGS 24
extern const char *const ent_lex_langs[ENT_N_LANGS];

/* ent_lex_init - build the month and currency tables once */
int ent_lex_init(void);

/* ent_lex_lang - index of an ISO 639-1 code in ent_lex_langs, or -1 */
int ent_lex_lang(const char *code);

/* ent_lex_month - month 1..12 for a folded key, preferring lang; 0 if none */
int ent_lex_month(const char *key, int lang);

/* ent_lex_month_stem - month whose name less its last two letters begins key (longest) */
int ent_lex_month_stem(const char *key);

/* ent_lex_currency_word - ISO code for a folded currency word (ICU names), or NULL */
const char *ent_lex_currency_word(const char *key, int lang);

/* ent_lex_currency_in - the word names a currency in language lang itself */
bool ent_lex_currency_in(const char *key, int lang);

/* ent_lex_currency_symbol - ISO code of the non-letter symbol at text[i..], its length in *len */
const char *ent_lex_currency_symbol(const char *s, size_t n, size_t *len);

/* ent_lex_is_currency_code - s[0..3) is an ISO 4217 code we know */
const char *ent_lex_currency_code(const char *s, size_t n);

/* --- recognizers, in the order ent_extract() runs them --- */
int ent_find_ibans(struct ent_ctx *c);
int ent_find_emails(struct ent_ctx *c);
int ent_find_dates(struct ent_ctx *c);
int ent_find_amounts(struct ent_ctx *c);
int ent_find_phones(struct ent_ctx *c);
int ent_find_postal_codes(struct ent_ctx *c);
int ent_find_references(struct ent_ctx *c, struct dk_err *err);

/* ent_date_valid - y-m-d is a real Gregorian calendar date */
bool ent_date_valid(int y, int m, int d);

/* ent_iban_check - compact IBAN passes mod-97 and its country's length */
bool ent_iban_check(const char *iban, size_t len);

#endif
