/*
 * NAME
 *	entities - rule-based entities in extracted text (never hallucinate)
 * SUMMARY
 *	ent_extract() finds dates, e-mail addresses, phone numbers, IBANs,
 *	amounts, postal codes and references in UTF-8 text and returns them
 *	with exact UTF-8 byte offsets [start, end) into that text, a
 *	normalized value (DESIGN §4: date YYYY-MM-DD, amount "1250.00 EUR",
 *	iban compact upper case; the matched text itself for the other types)
 *	and a confidence. Month names and currency names come from ICU's CLDR
 *	data for the 24 official EU languages; nothing language-specific is
 *	typed in by hand except cue words and identifier formats.
 *
 *	The recognizers run in a fixed order (iban, email, date, amount,
 *	phone, postal_code, reference); a later one never takes bytes an
 *	earlier one took, so one span has one type. Entities come back sorted
 *	by start offset.
 * OWNERSHIP
 *	struct ent_list is caller storage; ent_list_release() frees the array
 *	and every value string. The config and its strings are borrowed for
 *	the duration of the call only.
 * LIFETIME
 *	Results stay valid until ent_list_release(); offsets refer to the text
 *	given to ent_extract().
 * THREADS
 *	Safe: the ICU-derived tables are built once (pthread_once) and read
 *	only afterwards; everything else is per call.
 * ERRORS
 *	0, DK_ENOMEM (allocation failed), DK_ELIMIT (text over 1 GiB),
 *	DK_ECONFIG (a reference pattern does not compile; err names it), or
 *	DK_EUNSUPPORTED (ICU data missing).
 */
#ifndef DK_ENTITIES_H
#define DK_ENTITIES_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

enum ent_type {
	ENT_DATE,
	ENT_EMAIL,
	ENT_PHONE,
	ENT_IBAN,
	ENT_AMOUNT,
	ENT_POSTAL_CODE,
	ENT_REFERENCE,
	ENT_N_TYPES
};

struct ent_entity {
	enum ent_type type;
	size_t start, end;	/* UTF-8 byte offsets, text = [start, end) */
	char *value;		/* normalized, NUL-terminated, owned by the list */
	double confidence;	/* 0..1 */
};

struct ent_list {
	struct ent_entity *v;	/* (n) sorted by start */
	size_t n, alloc;
};

#define ENT_LIST_INIT { NULL, 0, 0 }

struct ent_config {
	/* ISO 639-1 language of the document or NULL; breaks ties such as
	 * "listopad" (October in Croatian, November in Czech and Polish) */
	const char *lang;
	/* extra reference formats, ICU regular expressions; capture group 1
	 * (or the whole match without groups) is the reference */
	const char *const *ref_patterns;
	size_t n_ref_patterns;
	/* extra cue words after which an identifier is a reference */
	const char *const *ref_cues;
	size_t n_ref_cues;
};

/* ent_extract - append the entities of text[0..len) to out (which may hold older ones) */
int ent_extract(const char *text, size_t len, const struct ent_config *cfg,
		struct ent_list *out, struct dk_err *err);

void ent_list_release(struct ent_list *l);

/* ent_type_name - "date", "email", ..., as in the result record */
const char *ent_type_name(enum ent_type t);

/* ent_type_parse - the type called name, or -1 */
int ent_type_parse(const char *name);

/*
 * ent_to_json - append one entity as a JSON object: type, text, value,
 * start, end, method ("rules"), confidence
 */
int ent_to_json(const struct ent_entity *e, const char *text, struct dk_buf *out);

#endif
