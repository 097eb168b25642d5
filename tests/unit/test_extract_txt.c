/*
 * NAME
 *	test_extract_txt - plain text in UTF-8, UTF-16/32 with BOM, Latin-1
 * DESCRIPTION
 *	Every case goes through extract_buffer(), so libmagic, the TXT
 *	extractor and normalize all run as the pipeline runs them. Encoded
 *	inputs are produced with iconv from one UTF-8 letter, so each case is
 *	checked against the same expected text.
 */
#include <iconv.h>
#include <string.h>

#include "stages/extract.h"
#include "tests/test.h"

static const char letter[] =
	"Sehr geehrte Damen und Herren,\n"
	"hiermit beantrage ich die Erstattung der Gebühren für die Straßensperrung "
	"in der Müllerstraße 12, 79098 Freiburg. Die Überweisung bitte auf mein Konto.\n"
	"Mit freundlichen Grüßen\nJörg Weiß";

struct out {
	char *text;
	char *charset;
	char slug[48];
	int rc;
};

static struct out run(const char *data, size_t len)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	struct out o = { NULL, NULL, "", 0 };

	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	o.rc = extract_buffer((const unsigned char *)data, len, &lim, &res, &err);
	if (o.rc == 0) {
		o.text = strdup(res.text.buf);
		o.charset = strdup(res.source_charset ? res.source_charset : "");
	}
	snprintf(o.slug, sizeof o.slug, "%s", err.slug);
	extract_result_release(&res);
	return o;
}

static void out_free(struct out *o)
{
	free(o->text);
	free(o->charset);
}

/* encode - letter in charset cs, prefixed with bom[0..bomlen) */
static size_t encode(const char *cs, const char *bom, size_t bomlen, char *dst, size_t cap)
{
	iconv_t cd = iconv_open(cs, "UTF-8");
	char *in = (char *)letter, *outp = dst + bomlen;
	size_t inleft = strlen(letter), outleft = cap - bomlen;

	if (cd == (iconv_t)-1)
		return 0;
	memcpy(dst, bom, bomlen);
	if (iconv(cd, &in, &inleft, &outp, &outleft) == (size_t)-1)
		outp = dst;
	iconv_close(cd);
	return (size_t)(outp - dst);
}

static void check_encoded(const char *cs, const char *bom, size_t bomlen, const char *want_cs)
{
	char buf[4096];
	size_t n = encode(cs, bom, bomlen, buf, sizeof buf);
	struct out o;

	REQUIRE(n > 0);
	o = run(buf, n);
	CHECKF(o.rc == 0, "%s: failed with %s", cs, o.slug);
	if (o.rc == 0) {
		CHECKF(strcmp(o.text, letter) == 0, "%s: got [%s]", cs, o.text);
		CHECKF(strncmp(o.charset, want_cs, strlen(want_cs)) == 0,
		       "%s: charset %s, want %s", cs, o.charset, want_cs);
	}
	out_free(&o);
}

static void utf8_plain(void)
{
	check_encoded("UTF-8", "", 0, "UTF-8");
}

static void utf8_bom(void)
{
	check_encoded("UTF-8", "\xEF\xBB\xBF", 3, "UTF-8");
}

static void utf16le_bom(void)
{
	check_encoded("UTF-16LE", "\xFF\xFE", 2, "UTF-16LE");
}

static void utf16be_bom(void)
{
	check_encoded("UTF-16BE", "\xFE\xFF", 2, "UTF-16BE");
}

static void utf32le_bom(void)
{
	check_encoded("UTF-32LE", "\xFF\xFE\0\0", 4, "UTF-32LE");
}

static void utf16le_without_bom(void)
{
	check_encoded("UTF-16LE", "", 0, "UTF-16LE");
}

static void utf16be_without_bom(void)
{
	check_encoded("UTF-16BE", "", 0, "UTF-16BE");
}

static void latin1(void)
{
	/* ICU names it ISO-8859-1 or windows-1252; both decode this text alike */
	char buf[4096];
	size_t n = encode("ISO-8859-1", "", 0, buf, sizeof buf);
	struct out o = run(buf, n);

	CHECKF(o.rc == 0, "failed with %s", o.slug);
	if (o.rc == 0) {
		CHECKF(strcmp(o.text, letter) == 0, "got [%s]", o.text);
		CHECKF(strstr(o.charset, "8859-1") || strstr(o.charset, "1252"), "charset %s", o.charset);
	}
	out_free(&o);
}

static void utf8_with_a_stray_byte(void)
{
	static const char in[] = "Grüße aus Köln, Müllerstraße 5, Gebühr für März: 12\xFC EUR, "
				 "Überweisung an Jörg Weiß.";
	struct out o = run(in, sizeof in - 1);

	CHECKF(o.rc == 0, "failed with %s", o.slug);
	if (o.rc == 0) {
		CHECKF(strstr(o.text, "Müllerstraße") && strstr(o.text, "12\xEF\xBF\xBD EUR"),
		       "got [%s]", o.text);
		CHECKF(strcmp(o.charset, "UTF-8") == 0, "charset %s", o.charset);
	}
	out_free(&o);
}

static void crlf_and_decomposed(void)
{
	static const char in[] = "Gru\xCC\x88\xC3\x9F" "e\r\n\r\n\r\n\r\naus Ko\xCC\x88ln  \r\n";
	struct out o = run(in, sizeof in - 1);

	CHECKF(o.rc == 0, "failed with %s", o.slug);
	if (o.rc == 0)
		CHECKF(strcmp(o.text, "Grüße\n\naus Köln") == 0, "got [%s]", o.text);
	out_free(&o);
}

static void blank_text_is_no_text_layer(void)
{
	static const char in[] = " \n\n\t \r\n";
	struct out o = run(in, sizeof in - 1);

	CHECK(o.rc != 0);
	CHECKF(strcmp(o.slug, "no_text_layer") == 0, "slug %s", o.slug);
	out_free(&o);
}

static void text_cap(void)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	extract_limits_default(&lim);
	lim.max_text_bytes = 64;
	extract_result_init(&res, &lim);
	rc = extract_buffer((const unsigned char *)letter, strlen(letter), &lim, &res, &err);
	CHECK(rc == DK_ENOMEM);
	CHECKF(strcmp(err.slug, "text_too_large") == 0, "slug %s", err.slug);
	extract_result_release(&res);
}

int main(void)
{
	RUN(utf8_plain);
	RUN(utf8_bom);
	RUN(utf16le_bom);
	RUN(utf16be_bom);
	RUN(utf32le_bom);
	RUN(utf16le_without_bom);
	RUN(utf16be_without_bom);
	RUN(latin1);
	RUN(utf8_with_a_stray_byte);
	RUN(crlf_and_decomposed);
	RUN(blank_text_is_no_text_layer);
	RUN(text_cap);
	return TEST_END();
}
