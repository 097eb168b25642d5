/*
 * test_extract_eml - the e-mail extractor on messages written here:
 * header paragraph, alternative choice, charsets, quoted-printable and
 * base64, HTML fallback, attachments and forwarded messages as children,
 * the children cap.
 */
#include <string.h>

#include "stages/extract.h"
#include "tests/test.h"

static struct extract_limits lim;
static struct extract_result res;
static struct dk_err err;

static int run(const char *s)
{
	extract_result_release(&res);
	extract_result_init(&res, &lim);
	dk_err_clear(&err);
	return extract_eml((const unsigned char *)s, strlen(s), &lim, &res, &err);
}

static const char mixed[] =
	"From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@example.de>\r\n"
	"To: Amt <amt@stadt.example>\r\n"
	"Date: Tue, 4 Mar 2025 10:00:00 +0100\r\n"
	"Subject: =?UTF-8?B?QW50cmFnIMOcYmVyc2ljaHQ=?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	"\r\n"
	"--alt\r\n"
	"Content-Type: text/plain; charset=windows-1252\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Sehr geehrte Damen und Herren,=0D=0Abitte =FCberweisen Sie 12,50 =80 an die=\r\n"
	" Stra=DFe.\r\n"
	"--alt\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>HTML-ALTERNATIVE</p>\r\n"
	"--alt--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"bescheid.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"bescheid.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQKJcOkw7w=\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: a@b.example\r\n"
	"Subject: Weitergeleitet\r\n"
	"\r\n"
	"inner body\r\n"
	"--outer\r\n"
	"Content-Type: image/png\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"iVBORw0KGgo=\r\n"
	"--outer--\r\n";

static void test_multipart_headers_and_body(void)
{
	REQUIRE(run(mixed) == 0);
	CHECKF(strcmp(res.text.buf,
		      "From: J\xc3\xbcrgen M\xc3\xbcller <jm@example.de>\n"
		      "To: Amt <amt@stadt.example>\n"
		      "Date: Tue, 4 Mar 2025 10:00:00 +0100\n"
		      "Subject: Antrag \xc3\x9c" "bersicht\n\n"
		      "Sehr geehrte Damen und Herren,\nbitte \xc3\xbc" "berweisen Sie 12,50 \xe2\x82\xac"
		      " an die Stra\xc3\x9f" "e.") == 0, "text '%s'", res.text.buf);
	REQUIRE(res.title != NULL && res.author != NULL);
	CHECK(strcmp(res.title, "Antrag \xc3\x9c" "bersicht") == 0);
	CHECK(strstr(res.author, "jm@example.de") != NULL);
	CHECK(res.source_charset != NULL && strcmp(res.source_charset, "windows-1252") == 0);
}

static void test_children(void)
{
	REQUIRE(run(mixed) == 0);
	REQUIRE(res.n_children == 2);
	CHECK(strcmp(res.children[0].name, "bescheid.pdf") == 0);
	CHECK(res.children[0].len == 14 && memcmp(res.children[0].data, "%PDF-1.4\n%\xc3\xa4\xc3\xbc", 14) == 0);
	CHECK(strcmp(res.children[1].name, "Weitergeleitet.eml") == 0);
	CHECK(memmem(res.children[1].data, res.children[1].len, "inner body", 10) != NULL);
	CHECK(strstr(res.text.buf, "inner body") == NULL);
	lim.max_children = 1;
	REQUIRE(run(mixed) == 0);
	CHECK(res.n_children == 1);
	lim.max_children = 0;
	REQUIRE(run(mixed) == 0);
	CHECK(res.n_children == 0);
	extract_limits_default(&lim);
}

static void test_html_only_and_base64(void)
{
	REQUIRE(run("From: x@y.example\nSubject: s\nMIME-Version: 1.0\n"
		    "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
		    /* <p>Gr&uuml;&szlig;e</p><script>bad()</script><p>Zwei</p> */
		    "PHA+R3ImdXVtbDsmc3psaWc7ZTwvcD48c2NyaXB0PmJhZCgpPC9zY3JpcHQ+PHA+WndlaTwvcD4=\n") == 0);
	CHECKF(strcmp(res.text.buf, "From: x@y.example\nSubject: s\n\nGr\xc3\xbc\xc3\x9f" "e\n\nZwei") == 0,
	       "text '%s'", res.text.buf);
}

static void test_signed_message(void)
{
	REQUIRE(run("From: x@y.example\nSubject: signed\nMIME-Version: 1.0\n"
		    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\n\n"
		    "--s\nContent-Type: text/plain\n\nsigned body\n"
		    "--s\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
		    "Content-Disposition: attachment; filename=smime.p7s\nContent-Transfer-Encoding: base64\n\n"
		    "MIAGCSqGSIb3DQEHAqCAMIACAQE=\n--s--\n") == 0);
	CHECK(strstr(res.text.buf, "signed body") != NULL);
	CHECKF(res.n_children == 0, "%zu children", res.n_children);
}

static void test_undeclared_8bit(void)
{
	REQUIRE(run("From: x@y.example\nSubject: Gr\xfc\xdf" "e\n\nStra\xdf" "e 5\n") == 0);
	CHECKF(strstr(res.text.buf, "Stra\xc3\x9f" "e 5") != NULL, "text '%s'", res.text.buf);
	CHECKF(strstr(res.text.buf, "Subject: Gr\xc3\xbc\xc3\x9f" "e") != NULL, "text '%s'", res.text.buf);
}

static void test_not_an_email(void)
{
	int rc = run("");

	CHECK(rc == 0 || strcmp(err.slug, "malformed_email") == 0);
	REQUIRE(run("just some words\n") == 0 || strcmp(err.slug, "malformed_email") == 0);
}

int main(void)
{
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	RUN(test_multipart_headers_and_body);
	RUN(test_children);
	RUN(test_html_only_and_base64);
	RUN(test_signed_message);
	RUN(test_undeclared_8bit);
	RUN(test_not_an_email);
	extract_result_release(&res);
	return TEST_END();
}
