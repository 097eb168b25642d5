/*
 * NAME
 *	test_extract_dispatch - type from content, safe open, specific slugs
 * DESCRIPTION
 *	Real files in a private temporary directory: a JPEG named .pdf, a
 *	zero-byte file, a symlink, a FIFO, a directory, a file over the size
 *	cap, an e-mail that libmagic calls text/plain, and a DOCX whose
 *	[Content_Types].xml is not the first member (written with
 *	libarchive). Each must end with its own slug, never a crash.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "stages/extract.h"
#include "tests/test.h"

static char path_buf[512];

/* put - write n bytes to TMP/name; returns the path (static) */
static const char *put(const char *name, const void *data, size_t n)
{
	FILE *f;

	snprintf(path_buf, sizeof path_buf, "%s/%s", test_tmpdir(), name);
	f = fopen(path_buf, "wb");
	if (f) {
		if (n)
			fwrite(data, 1, n, f);
		fclose(f);
	}
	return path_buf;
}

/* slug_of - run extract_file on path, return rc and copy the slug and mime */
static int slug_of(const char *path, size_t max_input, char *slug, char *mime)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	extract_limits_default(&lim);
	if (max_input)
		lim.max_input_bytes = max_input;
	extract_result_init(&res, &lim);
	rc = extract_file(path, &lim, &res, &err);
	snprintf(slug, 48, "%s", rc ? err.slug : "ok");
	if (mime)
		snprintf(mime, 128, "%s", res.mime);
	extract_result_release(&res);
	return rc;
}

static void jpeg_named_pdf(void)
{
	static const unsigned char jpeg[] = {
		0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01,
		0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43,
		0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05, 0x08, 0x07, 0x07, 0x07, 0x09,
	};
	char slug[48], mime[128];
	int rc = slug_of(put("scan.pdf", jpeg, sizeof jpeg), 0, slug, mime);

	CHECK(rc == DK_EUNSUPPORTED);
	CHECKF(strcmp(slug, "unsupported_type") == 0, "slug %s", slug);
	CHECKF(strcmp(mime, "image/jpeg") == 0, "mime %s", mime);
}

static void pdf_named_txt_is_pdf(void)
{
	static const char bad[] = "%PDF-1.4\n1 0 obj garbage\n%%EOF\n";
	char slug[48], mime[128];

	slug_of(put("letter.txt", bad, sizeof bad - 1), 0, slug, mime);
	CHECKF(strcmp(mime, "application/pdf") == 0, "mime %s", mime);
	CHECKF(strcmp(slug, "corrupt_pdf") == 0, "slug %s", slug);
}

static void zero_bytes(void)
{
	char slug[48];

	CHECK(slug_of(put("empty.pdf", "", 0), 0, slug, NULL) != 0);
	CHECKF(strcmp(slug, "empty_file") == 0, "slug %s", slug);
}

static void symlink_refused(void)
{
	char slug[48], link[600];
	const char *target = put("target.txt", "hello there", 11);

	snprintf(link, sizeof link, "%s/link.txt", test_tmpdir());
	REQUIRE(symlink(target, link) == 0);
	CHECK(slug_of(link, 0, slug, NULL) == DK_EPERM);
	CHECKF(strcmp(slug, "refused") == 0, "slug %s", slug);
}

static void fifo_and_directory_refused(void)
{
	char slug[48], p[600];

	snprintf(p, sizeof p, "%s/fifo", test_tmpdir());
	REQUIRE(mkfifo(p, 0600) == 0);
	CHECK(slug_of(p, 0, slug, NULL) == DK_EPERM);	/* O_NONBLOCK: no hang */
	CHECKF(strcmp(slug, "refused") == 0, "fifo slug %s", slug);
	CHECK(slug_of(test_tmpdir(), 0, slug, NULL) == DK_EPERM);
	CHECKF(strcmp(slug, "refused") == 0, "directory slug %s", slug);
}

static void missing_file(void)
{
	char slug[48];

	CHECK(slug_of("/nonexistent/docket/file.pdf", 0, slug, NULL) == DK_ENOTFOUND);
	CHECKF(strcmp(slug, "io_error") == 0, "slug %s", slug);
}

static void over_size_cap(void)
{
	char big[4096], slug[48];

	memset(big, 'a', sizeof big);
	CHECK(slug_of(put("big.txt", big, sizeof big), 1000, slug, NULL) == DK_ELIMIT);
	CHECKF(strcmp(slug, "too_large") == 0, "slug %s", slug);
}

static void mail_sniffed_from_text(void)
{
	static const char eml[] =
		"Content-Type: text/plain; charset=utf-8\n"
		"MIME-Version: 1.0\n"
		"Subject: Antrag auf Akteneinsicht\n"
		"From: anna@example.org\n"
		"To: poststelle@example.gov\n"
		"\n"
		"Sehr geehrte Damen und Herren,\n";
	char slug[48], mime[128];

	slug_of(put("mail.txt", eml, sizeof eml - 1), 0, slug, mime);
	CHECKF(strcmp(mime, "message/rfc822") == 0, "mime %s", mime);
}

/* zip_with - a ZIP of the given members (name, content pairs) in memory */
static size_t zip_with(const char *const *members, unsigned char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	archive_write_set_format_zip(a);
	archive_write_set_options(a, "zip:compression=store");	/* as ODF wants "mimetype" */
	archive_write_open_memory(a, buf, cap, &used);
	for (int i = 0; members[i]; i += 2) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, members[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(members[i + 1]));
		archive_write_header(a, e);
		archive_write_data(a, members[i + 1], strlen(members[i + 1]));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

static void docx_with_late_content_types(void)
{
	static const char *const members[] = {
		"word/document.xml", "<w:document/>",
		"[Content_Types].xml", "<Types/>",
		NULL,
	};
	unsigned char zip[8192];
	size_t n = zip_with(members, zip, sizeof zip);
	char slug[48], mime[128];

	REQUIRE(n > 0);
	slug_of(put("upload.bin", zip, n), 0, slug, mime);
	CHECKF(strcmp(mime, "application/vnd.openxmlformats-officedocument."
			    "wordprocessingml.document") == 0, "mime %s", mime);
}

static void odt_with_extra_field(void)
{
	/* libarchive writes extra fields: "mimetype" data is not at offset 38 */
	static const char *const members[] = {
		"mimetype", "application/vnd.oasis.opendocument.text",
		"content.xml", "<office:document-content/>",
		NULL,
	};
	unsigned char zip[8192];
	size_t n = zip_with(members, zip, sizeof zip);
	char slug[48], mime[128];

	REQUIRE(n > 0);
	slug_of(put("upload.odt.bin", zip, n), 0, slug, mime);
	CHECKF(strcmp(mime, "application/vnd.oasis.opendocument.text") == 0, "mime %s", mime);
}

static void plain_zip_unsupported(void)
{
	static const char *const members[] = { "photo.txt", "not a document", NULL };
	unsigned char zip[8192];
	size_t n = zip_with(members, zip, sizeof zip);
	char slug[48], mime[128];

	REQUIRE(n > 0);
	CHECK(slug_of(put("archive.docx", zip, n), 0, slug, mime) == DK_EUNSUPPORTED);
	CHECKF(strcmp(slug, "unsupported_type") == 0, "slug %s (%s)", slug, mime);
}

static void markup_without_prologue(void)
{
	static const char frag[] = "\n<div><p>Antrag auf Akteneinsicht</p><br>\n"
				   "<p>Az. 12-345</p></div>\n";
	static const char xml[] = "<antrag><az>12-345</az><text>Sehr geehrte Damen und Herren</text></antrag>";
	static const char text[] = "<Entwurf> Sehr geehrte Damen und Herren, anbei der Antrag.";
	char slug[48], mime[128];

	slug_of(put("fragment.txt", frag, sizeof frag - 1), 0, slug, mime);
	CHECKF(strcmp(mime, "text/html") == 0, "fragment: mime %s", mime);
	slug_of(put("antrag.txt", xml, sizeof xml - 1), 0, slug, mime);
	CHECKF(strcmp(mime, "application/xml") == 0 || strcmp(mime, "text/xml") == 0, "xml: mime %s", mime);
	slug_of(put("entwurf.txt", text, sizeof text - 1), 0, slug, mime);
	CHECKF(strcmp(mime, "text/plain") == 0, "text: mime %s", mime);
}

static void text_named_pdf_is_text(void)
{
	static const char t[] = "Bescheid vom 3. März 2025\nAz. 12-345";
	char slug[48], mime[128];

	CHECK(slug_of(put("bescheid.pdf", t, sizeof t - 1), 0, slug, mime) == 0);
	CHECKF(strcmp(mime, "text/plain") == 0, "mime %s", mime);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	RUN(jpeg_named_pdf);
	RUN(pdf_named_txt_is_pdf);
	RUN(zero_bytes);
	RUN(symlink_refused);
	RUN(fifo_and_directory_refused);
	RUN(missing_file);
	RUN(over_size_cap);
	RUN(mail_sniffed_from_text);
	RUN(docx_with_late_content_types);
	RUN(odt_with_extra_field);
	RUN(plain_zip_unsupported);
	RUN(markup_without_prologue);
	RUN(text_named_pdf_is_text);
	nftw(test_tmpdir(), rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return TEST_END();
}
