/*
 * NAME
 *	test_normalize - normalize_text() on golden pairs and edge cases
 * DESCRIPTION
 *	Golden pairs live in tests/unit/normalize/NAME.in and NAME.ref, as
 *	Postfix's src/cleanup tests do. In a .in file a form feed starts a
 *	new page; files named pdf-*.in are normalized with NORMALIZE_PDF,
 *	others with no flags. The .ref holds the output with a form feed
 *	inserted at the start of every page after the first, so the page
 *	offsets are checked along with the text.
 */
#include <dirent.h>
#include <string.h>

#include <glib.h>

#include "stages/normalize.h"
#include "tests/test.h"

/* run_norm - normalize s split at form feeds; returns output with \f at page starts */
static char *run_norm(const char *s, size_t len, unsigned flags, int *rc)
{
	size_t starts[4096], out_start[4096];
	int pages = 1;
	struct dk_buf out = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	GString *g = g_string_new(NULL);
	GString *raw = g_string_new(NULL);

	starts[0] = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\f' && pages < 4096)
			starts[pages++] = raw->len;
		else
			g_string_append_c(raw, s[i]);
	}
	*rc = normalize_text(raw->str, raw->len, starts, pages, flags, &out, out_start, &err);
	for (size_t i = 0, p = 1; *rc == 0 && i <= out.len; i++) {
		while ((int)p < pages && out_start[p] == i) {
			g_string_append_c(g, '\f');
			p++;
		}
		if (i < out.len)
			g_string_append_c(g, out.buf[i]);
	}
	dk_buf_release(&out);
	g_string_free(raw, TRUE);
	return g_string_free(g, FALSE);
}

static char *norm_plain(const char *s, unsigned flags)
{
	struct dk_buf out = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	int rc = normalize_text(s, strlen(s), NULL, 0, flags, &out, NULL, &err);
	char *r = rc == 0 ? g_strdup(out.buf) : g_strdup_printf("<error %s>", err.slug);

	dk_buf_release(&out);
	return r;
}

static void golden(void)
{
	DIR *d = opendir("unit/normalize");
	struct dirent *e;
	int n = 0;

	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char *in = NULL, *ref = NULL, *got, path[512];
		gsize inlen = 0;
		int rc;

		if (l < 4 || strcmp(e->d_name + l - 3, ".in") != 0)
			continue;
		snprintf(path, sizeof path, "unit/normalize/%s", e->d_name);
		CHECKF(g_file_get_contents(path, &in, &inlen, NULL), "cannot read %.200s", path);
		snprintf(path, sizeof path, "unit/normalize/%.*s.ref", (int)(l - 3), e->d_name);
		CHECKF(g_file_get_contents(path, &ref, NULL, NULL), "cannot read %.200s", path);
		if (in && ref) {
			got = run_norm(in, inlen, strncmp(e->d_name, "pdf-", 4) == 0 ? NORMALIZE_PDF : 0, &rc);
			CHECKF(rc == 0 && strcmp(got, ref) == 0, "%s: got [%s]", e->d_name, got);
			g_free(got);
			n++;
		}
		g_free(in);
		g_free(ref);
	}
	closedir(d);
	CHECKF(n >= 5, "only %d golden pairs found", n);
}

static void nfc_and_controls(void)
{
	char *r = norm_plain("Mu\xCC\x88ller\x01 \x7f and\xC2\xA0\xE2\x80\x8BS\xC3\xB6hne\r\nx\ry", 0);

	CHECKF(strcmp(r, "Müller and Söhne\nx\ny") == 0, "got [%s]", r);
	g_free(r);
}

static void invalid_utf8_replaced(void)
{
	char *r = norm_plain("a\xFF" "b\xC3", 0);

	CHECKF(strcmp(r, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD") == 0, "got [%s]", r);
	g_free(r);
}

static void soft_hyphen(void)
{
	char *r = norm_plain("Ver\xC2\xAD" "waltung und Bau\xC2\xAD\nantrag", NORMALIZE_PDF);

	CHECKF(strcmp(r, "Verwaltung und Bauantrag") == 0, "got [%s]", r);
	g_free(r);
}

static void dehyphenate_only_pdf(void)
{
	char *r = norm_plain("Verwal-\ntung", 0);

	CHECKF(strcmp(r, "Verwal-\ntung") == 0, "got [%s]", r);
	g_free(r);
}

static void text_cap(void)
{
	struct dk_buf out;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	dk_buf_init(&out, 8);
	rc = normalize_text("0123456789abc", 13, NULL, 0, 0, &out, NULL, &err);
	CHECK(rc == DK_ENOMEM);
	CHECK(strcmp(err.slug, "text_too_large") == 0);
	CHECK(out.len == 0);
	dk_buf_release(&out);
}

static void only_blank(void)
{
	char *r = norm_plain(" \n\t\n\x0c \r\n ", 0);

	CHECKF(strcmp(r, "") == 0, "got [%s]", r);
	g_free(r);
}

int main(void)
{
	RUN(golden);
	RUN(nfc_and_controls);
	RUN(invalid_utf8_replaced);
	RUN(soft_hyphen);
	RUN(dehyphenate_only_pdf);
	RUN(text_cap);
	RUN(only_blank);
	return TEST_END();
}
