/*
 * test_extract_xml - the XML extractor: paragraphs per text element, and
 * the hostile cases: billion laughs, quadratic blowup, XXE at a local file
 * (general and parameter entities, external DTD), malformed input.
 */
#include <stdio.h>
#include <string.h>

#include "stages/extract.h"
#include "tests/test.h"
#include "util/dk_buf.h"

static struct extract_limits lim;
static struct extract_result res;
static struct dk_err err;
static char secret_path[512];

#define SECRET "tops3cret-passwd-line"

static int run(const char *s, size_t n)
{
	extract_result_release(&res);
	extract_result_init(&res, &lim);
	dk_err_clear(&err);
	return extract_xml((const unsigned char *)s, n ? n : strlen(s), &lim, &res, &err);
}

static void test_paragraph_per_text_element(void)
{
	int rc = run("<?xml version='1.0'?><inv xmlns:c='urn:x'><c:id>FT-1</c:id>\n"
		     "  <party><name>ACME  GmbH</name><street>Hauptstr. 1</street></party>"
		     "<!-- a comment --><?pi data?><note>mixed <b>bold</b> tail</note>"
		     "<raw><![CDATA[a < b]]></raw><empty/><attr v='no'>x</attr><box k='no'><i/></box>"
		     "<Date xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:type='t' "
		     "value='2025-03-04' unit='day'/></inv>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "FT-1\n\nACME GmbH\n\nHauptstr. 1\n\nmixed bold tail\n\na < b\n\n"
		      "x\n\n2025-03-04 day") == 0,
	       "text '%s'", res.text.buf);
}

static void test_internal_entity_expanded(void)
{
	int rc = run("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY co \"ACME &amp; Co\">]>"
		     "<r><a>By &co; today</a></r>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "By ACME & Co today") == 0, "text '%s'", res.text.buf);
}

static void test_billion_laughs(void)
{
	struct dk_buf b = DK_BUF_INIT;

	dk_buf_adds(&b, "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
	for (int i = 1; i <= 9; i++) {
		dk_buf_addf(&b, "<!ENTITY lol%d \"", i);
		for (int j = 0; j < 10; j++)
			dk_buf_addf(&b, "&lol%.0d;", i - 1);
		dk_buf_adds(&b, "\">");
	}
	dk_buf_adds(&b, "]><lolz>&lol9;</lolz>");
	CHECK(run(b.buf, b.len) == DK_ELIMIT);
	CHECKF(strcmp(err.slug, "entity_expansion") == 0, "slug '%s' (%.100s)", err.slug, err.msg);
	dk_buf_release(&b);
}

static void test_quadratic_blowup(void)
{
	struct dk_buf b = DK_BUF_INIT;

	dk_buf_adds(&b, "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"");
	for (int i = 0; i < 20000; i++)
		dk_buf_addch(&b, 'A');
	dk_buf_adds(&b, "\">]><r>");
	for (int i = 0; i < 20000; i++)
		dk_buf_adds(&b, "&a;");
	dk_buf_adds(&b, "</r>");
	CHECK(run(b.buf, b.len) == DK_ELIMIT);
	CHECKF(strcmp(err.slug, "entity_expansion") == 0, "slug '%s' (%.100s)", err.slug, err.msg);
	dk_buf_release(&b);
}

/* xxe - the document built from fmt around secret_path must not leak SECRET */
static void xxe(const char *fmt)
{
	char doc[2048];
	int rc;

	snprintf(doc, sizeof doc, fmt, secret_path);
	rc = run(doc, 0);
	CHECKF(strstr(res.text.buf, SECRET) == NULL, "secret leaked: '%s'", res.text.buf);
	CHECKF(rc == 0 || strcmp(err.slug, "malformed_xml") == 0, "rc %d slug '%s'", rc, err.slug);
}

static void test_xxe_local_file(void)
{
	FILE *f;

	snprintf(secret_path, sizeof secret_path, "%s/secret.txt", test_tmpdir());
	f = fopen(secret_path, "w");
	REQUIRE(f != NULL);
	fputs(SECRET "\n", f);
	fclose(f);
	xxe("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://%s\">]>"
	    "<r><a>before &x; after</a></r>");
	CHECKF(strcmp(res.text.buf, "before after") == 0, "text '%s'", res.text.buf);
	xxe("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM \"%s\">]><r>&x;</r>");
	xxe("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY %% p SYSTEM \"file://%s\"> %%p;]><r>x</r>");
	xxe("<?xml version='1.0'?><!DOCTYPE r SYSTEM \"file://%s\"><r>x</r>");
	xxe("<?xml version='1.0'?><r xmlns:xi='http://www.w3.org/2001/XInclude'>"
	    "<xi:include href='file://%s' parse='text'/></r>");
	remove(secret_path);
}

static void test_malformed(void)
{
	CHECK(run("<a><b></a>", 0) == DK_EFORMAT);
	CHECK(strcmp(err.slug, "malformed_xml") == 0);
	CHECK(run("", 1) == DK_EFORMAT);
	CHECK(run("<?xml version='1.0' encoding='no-such-charset'?><a>x</a>", 0) != 0);
}

static void test_encodings(void)
{
	REQUIRE(run("<r><a>Stra\xdf" "e \x80</a></r>", 0) == 0);
	CHECKF(strcmp(res.text.buf, "Stra\xc3\x9f" "e \xe2\x82\xac") == 0, "undeclared '%s'", res.text.buf);
	REQUIRE(run("<?xml version='1.0' encoding='ISO-8859-15'?><r>\xa4</r>", 0) == 0);
	CHECKF(strcmp(res.text.buf, "\xe2\x82\xac") == 0, "latin-9 '%s'", res.text.buf);
	CHECK(run("<?xml version='1.0' encoding='UTF-8'?><r>\xdf</r>", 0) == DK_EFORMAT);
}

static void test_xhtml_goes_to_html(void)
{
	REQUIRE(run("<?xml version='1.0'?><!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
		    "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">"
		    "<html xmlns='http://www.w3.org/1999/xhtml'><head><title>T</title><script>var s;</script>"
		    "</head><body><p>Hello&nbsp;M&uuml;ller</p><p>two</p></body></html>", 0) == 0);
	CHECKF(strcmp(res.text.buf, "Hello\xc2\xa0M\xc3\xbcller\n\ntwo") == 0, "text '%s'", res.text.buf);
	CHECK(res.title != NULL && strcmp(res.title, "T") == 0);
}

static void test_text_cap(void)
{
	struct dk_buf b = DK_BUF_INIT;
	size_t saved = lim.max_text_bytes;

	dk_buf_adds(&b, "<r>");
	for (int i = 0; i < 1000; i++)
		dk_buf_adds(&b, "<v>0123456789</v>");
	dk_buf_adds(&b, "</r>");
	lim.max_text_bytes = 500;
	CHECK(run(b.buf, b.len) != 0);
	CHECKF(strcmp(err.slug, "text_too_large") == 0, "slug '%s'", err.slug);
	lim.max_text_bytes = saved;
	dk_buf_release(&b);
}

int main(void)
{
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	RUN(test_paragraph_per_text_element);
	RUN(test_internal_entity_expanded);
	RUN(test_billion_laughs);
	RUN(test_quadratic_blowup);
	RUN(test_xxe_local_file);
	RUN(test_malformed);
	RUN(test_encodings);
	RUN(test_xhtml_goes_to_html);
	RUN(test_text_cap);
	extract_result_release(&res);
	return TEST_END();
}
