/*
 * NAME
 *	extract_txt - plain text in any charset to UTF-8
 * DESIGN NOTES
 *	1. A byte order mark decides (UTF-32 before UTF-16: FF FE 00 00 is
 *	   UTF-32LE, not UTF-16LE followed by U+0000).
 *	2. Without one, UTF-8 without NUL bytes is UTF-8 (ASCII is UTF-8),
 *	   also when a few sequences are broken (at most one in five
 *	   multi-byte sequences, at least four good ones): a stray byte in a
 *	   UTF-8 letter must cost one U+FFFD, not turn every umlaut into
 *	   mojibake under a single-byte charset. NUL bytes point to BOM-less
 *	   UTF-16/32, which is valid UTF-8 byte-wise but wrong.
 *	3. Everything else goes to ICU's detector (ucsdet) on the first
 *	   DETECT_BYTES bytes, and is converted by ucnv; bytes the charset
 *	   cannot map become U+FFFD rather than failing the document.
 *	4. source_charset records what the text was converted from.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucnv.h>
#include <unicode/ucsdet.h>
#include <unicode/utf8.h>

#include "stages/extract.h"

#define DETECT_BYTES 65536

struct bom {
	const char *bytes;
	size_t len;
	const char *charset;
};

/* note 1: longest first */
static const struct bom boms[] = {
	{ "\xFF\xFE\x00\x00", 4, "UTF-32LE" },
	{ "\x00\x00\xFE\xFF", 4, "UTF-32BE" },
	{ "\xEF\xBB\xBF", 3, "UTF-8" },
	{ "\xFF\xFE", 2, "UTF-16LE" },
	{ "\xFE\xFF", 2, "UTF-16BE" },
};

/* utf8_votes - which reading of d as UTF-8 holds: 1 valid, 0 not UTF-8 (note 2) */
static int utf8_votes(const unsigned char *d, size_t len)
{
	size_t i = 0, valid = 0, invalid = 0;

	while (i < len) {
		if (d[i] == 0)
			return 0;
		if (d[i] < 0x80) {
			i++;
		} else {
			int32_t k = 0, n = len - i > INT32_MAX ? INT32_MAX : (int32_t)(len - i);
			UChar32 c;

			U8_NEXT(d + i, k, n, c);
			valid += c >= 0;
			invalid += c < 0;
			i += (size_t)k;
		}
	}
	return invalid == 0 || (valid >= 4 && invalid * 4 <= valid);
}

/* detect - ICU's best guess for d (note 3), written to cs */
static int detect(const unsigned char *d, size_t len, char *cs, size_t size,
		  struct dk_err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	UCharsetDetector *det = ucsdet_open(&st);
	const UCharsetMatch *m;
	const char *name = NULL;

	if (U_FAILURE(st))
		return dk_err_set(err, DK_ENOMEM, "cannot open the charset detector: %s",
				  u_errorName(st));
	ucsdet_setText(det, (const char *)d, (int32_t)(len < DETECT_BYTES ? len : DETECT_BYTES), &st);
	m = ucsdet_detect(det, &st);
	if (m && U_SUCCESS(st))
		name = ucsdet_getName(m, &st);
	if (name && U_SUCCESS(st))
		snprintf(cs, size, "%s", name);
	ucsdet_close(det);
	if (name == NULL || U_FAILURE(st))
		return dk_err_setx(err, DK_EFORMAT, "bad_encoding",
				   "cannot tell the character set of the text");
	return 0;
}

/* convert - d[0..len) in charset cs, appended to res->text as UTF-8 */
static int convert(const unsigned char *d, size_t len, const char *cs,
		   struct extract_result *res, struct dk_err *err)
{
	UErrorCode st = U_ZERO_ERROR;
	size_t room = len * 3 + 4;	/* a byte or unit never makes more than 3 bytes */
	char *u8;
	int32_t got;
	int rc = 0;

	if (len > INT32_MAX / 3 || (res->text.cap && len / 4 > res->text.cap))
		return dk_err_setx(err, DK_ENOMEM, "text_too_large",
				   "the text exceeds the text size limit");
	if ((u8 = malloc(room)) == NULL)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory",
				   "cannot allocate %zu bytes to convert the text", room);
	got = ucnv_convert("UTF-8", cs, u8, (int32_t)room, (const char *)d, (int32_t)len, &st);
	if (U_FAILURE(st))
		rc = dk_err_setx(err, DK_EFORMAT, "bad_encoding",
				 "cannot convert the text from '%s': %s", cs, u_errorName(st));
	else if (dk_buf_add(&res->text, u8, (size_t)got) != 0)
		rc = dk_err_setx(err, DK_ENOMEM, "text_too_large",
				 "the converted text exceeds the text size limit");
	free(u8);
	return rc;
}

/* extract_txt - the format extractor for plain text */
int extract_txt(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err)
{
	const char *cs = NULL;
	char guess[64];
	size_t skip = 0;
	int rc;

	(void)lim;	/* the caps live in res->text */
	for (size_t i = 0; i < sizeof boms / sizeof boms[0] && cs == NULL; i++)
		if (len >= boms[i].len && memcmp(data, boms[i].bytes, boms[i].len) == 0) {
			cs = boms[i].charset;
			skip = boms[i].len;
		}
	if (cs == NULL && utf8_votes(data, len))
		cs = "UTF-8";
	if (cs == NULL) {
		if ((rc = detect(data, len, guess, sizeof guess, err)) != 0)
			return rc;
		cs = guess;
	}
	if ((res->source_charset = strdup(cs)) == NULL)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory");
	if (strcmp(cs, "UTF-8") == 0) {
		if (dk_buf_add(&res->text, data + skip, len - skip) != 0)
			return dk_err_setx(err, DK_ENOMEM, "text_too_large",
					   "the text exceeds the text size limit");
		return 0;
	}
	return convert(data + skip, len - skip, cs, res, err);
}
