/*
 * test_extract_html - the HTML extractor on small documents built here:
 * dropped elements, block structure, entities, charsets, caps, nesting.
 */
#include <stdlib.h>
#include <string.h>

#include "stages/extract.h"
#include "stages/extract_html.h"
#include "tests/test.h"
#include "util/dk_buf.h"

static struct extract_limits lim;
static struct extract_result res;
static struct dk_err err;

/* run - extract s (n bytes, or strlen) into the global res */
static int run(const char *s, size_t n)
{
	extract_result_release(&res);
	extract_result_init(&res, &lim);
	dk_err_clear(&err);
	return extract_html((const unsigned char *)s, n ? n : strlen(s), &lim, &res, &err);
}

static void test_drops_code_and_chrome(void)
{
	int rc = run("<html><head><title>The  Title</title><style>p{color:red}</style>"
		     "<script>var secret1 = 1;</script><meta name=author content='A. Clerk'></head>"
		     "<body><p>Visible one</p><script>alert('secret2')</script>"
		     "<iframe src='x'>secret3</iframe><noscript>secret4</noscript>"
		     "<template><p>secret5</p></template><object>secret6</object>"
		     "<p>Visible two</p></body></html>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "Visible one\n\nVisible two") == 0, "text '%s'", res.text.buf);
	CHECK(strstr(res.text.buf, "secret") == NULL);
	REQUIRE(res.title != NULL && res.author != NULL);
	CHECKF(strcmp(res.title, "The Title") == 0, "title '%s'", res.title);
	CHECK(strcmp(res.author, "A. Clerk") == 0);
}

static void test_blocks_tables_entities(void)
{
	int rc = run("<h1>Head</h1><div>line a<br>line b</div><ul><li>one</li><li>two</li></ul>"
		     "<table><tr><td>c1</td><td><p>c2</p></td></tr><tr><th>d1</th><td>d2</td></tr></table>"
		     "<p>M&uuml;ller &amp; S&ouml;hne &#8364;&nbsp;5 &lt;ok&gt;</p>"
		     "<p>in<b>line</b> <i>words</i></p>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "Head\n\nline a\nline b\n\none\n\ntwo\n\n"
		      "c1\tc2\nd1\td2\n\nM\xc3\xbcller & S\xc3\xb6hne \xe2\x82\xac\xc2\xa0" "5 <ok>\n\n"
		      "inline words") == 0, "text '%s'", res.text.buf);
}

static void test_pre_keeps_whitespace(void)
{
	int rc = run("<p>a   b</p><pre>x  y\n  z</pre><p>c</p>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "a b\n\nx  y\n  z\n\nc") == 0, "text '%s'", res.text.buf);
}

static void test_charsets(void)
{
	int rc = run("<html><head><meta charset=\"iso-8859-1\"></head><body><p>Stra\xdf" "e</p></body></html>", 0);

	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "Stra\xc3\x9f" "e") == 0, "latin-1 '%s'", res.text.buf);
	rc = extract_html_enc((const unsigned char *)"<p>Gr\xc3\xbc\xc3\x9f" "e</p>", 12, "UTF-8",
			      &lim, &res, &err);
	REQUIRE(rc == 0);
	CHECK(strstr(res.text.buf, "Gr\xc3\xbc\xc3\x9f" "e") != NULL);
	/* undeclared: valid UTF-8 stays UTF-8, other 8-bit text is Windows-1252 */
	REQUIRE(run("<p>Stra\xc3\x9f" "e \xe2\x82\xac</p>", 0) == 0);
	CHECKF(strcmp(res.text.buf, "Stra\xc3\x9f" "e \xe2\x82\xac") == 0, "undeclared utf-8 '%s'", res.text.buf);
	REQUIRE(run("<p>Stra\xdf" "e \x80</p>", 0) == 0);
	CHECKF(strcmp(res.text.buf, "Stra\xc3\x9f" "e \xe2\x82\xac") == 0, "undeclared 8-bit '%s'", res.text.buf);
	/* UTF-16LE with BOM: "<p>Hi</p>" */
	rc = run("\xff\xfe<\0p\0>\0H\0i\0<\0/\0p\0>\0", 20);
	REQUIRE(rc == 0);
	CHECKF(strcmp(res.text.buf, "Hi") == 0, "utf-16 '%s'", res.text.buf);
}

static void test_deep_nesting(void)
{
	const size_t depth = 100000;
	struct dk_buf b = DK_BUF_INIT;

	for (size_t i = 0; i < depth; i++)
		dk_buf_adds(&b, "<div><span>");
	dk_buf_adds(&b, "deep");
	REQUIRE(run(b.buf, b.len) == 0);
	CHECK(strstr(res.text.buf, "deep") != NULL || res.text.len == 0);
	dk_buf_release(&b);
}

static void test_text_cap(void)
{
	struct dk_buf b = DK_BUF_INIT;
	size_t saved = lim.max_text_bytes;

	for (int i = 0; i < 2000; i++)
		dk_buf_adds(&b, "<p>0123456789</p>");
	lim.max_text_bytes = 1000;
	CHECK(run(b.buf, b.len) != 0);
	CHECKF(strcmp(err.slug, "text_too_large") == 0, "slug '%s'", err.slug);
	lim.max_text_bytes = saved;
	dk_buf_release(&b);
}

static void test_garbage_and_empty(void)
{
	REQUIRE(run("\x01\x02<<<>>>&&&;;</p></div>", 0) == 0);
	CHECK(run("", 1) == 0 || strcmp(err.slug, "malformed_html") == 0);
}

int main(void)
{
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	RUN(test_drops_code_and_chrome);
	RUN(test_blocks_tables_entities);
	RUN(test_pre_keeps_whitespace);
	RUN(test_charsets);
	RUN(test_deep_nesting);
	RUN(test_text_cap);
	RUN(test_garbage_and_empty);
	extract_result_release(&res);
	return TEST_END();
}
