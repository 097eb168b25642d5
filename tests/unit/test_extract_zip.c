/*
 * test_extract_zip - the ZIP reader and the DOCX / ODT extractors on
 * containers written here with libarchive: text structure and metadata,
 * zip bombs (one member, many members), corrupt and truncated archives,
 * absurd member counts.
 */
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "stages/extract.h"
#include "stages/zip.h"
#include "tests/test.h"

static struct extract_limits lim;
static struct extract_result res;
static struct dk_err err;

/* a ZIP being written into memory */
struct zw {
	struct archive *a;
	unsigned char *buf;
	size_t size, used;
};

static void zw_open(struct zw *z, size_t size)
{
	z->size = size;
	z->used = 0;
	z->buf = malloc(size);
	z->a = archive_write_new();
	archive_write_set_format_zip(z->a);
	archive_write_open_memory(z->a, z->buf, z->size, &z->used);
}

/* zw_add - one member of n bytes (n 0: strlen) */
static void zw_add(struct zw *z, const char *name, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();

	if (n == 0)
		n = strlen(data);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_write_header(z->a, e);
	archive_write_data(z->a, data, n);
	archive_entry_free(e);
}

static void zw_close(struct zw *z)
{
	archive_write_close(z->a);
	archive_write_free(z->a);
}

typedef int (*extractor)(const unsigned char *, size_t, const struct extract_limits *,
			 struct extract_result *, struct dk_err *);

static int run(extractor fn, const unsigned char *data, size_t len)
{
	extract_result_release(&res);
	extract_result_init(&res, &lim);
	dk_err_clear(&err);
	return fn(data, len, &lim, &res, &err);
}

#define W "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\""

static const char docx_body[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
	"<w:document " W " xmlns:wp=\"urn:wp\" xmlns:mc=\"urn:mc\"><w:body>"
	"<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
	"<w:r><w:t>Antrag </w:t></w:r><w:r><w:t>auf Bau</w:t></w:r><w:r><w:t>genehmigung</w:t></w:r></w:p>"
	"<w:p><w:r><w:t>Name:</w:t><w:tab/><w:t>Jan Vo\xc3\x9f</w:t><w:br/><w:t>Zeile 2</w:t></w:r>"
	"<w:del><w:r><w:delText>GEL\xc3\x96SCHT</w:delText></w:r></w:del>"
	"<w:r><w:instrText>PAGE \\* MERGEFORMAT</w:instrText></w:r>"
	"<w:r><wp:posOffset>914400</wp:posOffset></w:r></w:p>"
	"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>A1</w:t></w:r></w:p></w:tc>"
	"<w:tc><w:p><w:r><w:t>B1</w:t></w:r></w:p><w:p><w:r><w:t>B1b</w:t></w:r></w:p></w:tc></w:tr>"
	"<w:tr><w:tc><w:p><w:r><w:t>A2</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>"
	"<mc:AlternateContent><mc:Choice><w:p><w:r><w:t>Box</w:t></w:r></w:p></mc:Choice>"
	"<mc:Fallback><w:p><w:r><w:t>Box copy</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent>"
	"<w:sectPr/></w:body></w:document>";

/* build_docx - a small DOCX, with body as word/document.xml */
static void build_docx(struct zw *z, const char *body)
{
	zw_open(z, 1 << 20);
	zw_add(z, "[Content_Types].xml", "<Types/>", 0);
	zw_add(z, "word/document.xml", body, 0);
	zw_add(z, "word/header1.xml", "<w:hdr " W "><w:p><w:r><w:t>Stadt Leipzig</w:t></w:r></w:p></w:hdr>", 0);
	zw_add(z, "word/footer1.xml", "<w:ftr " W "><w:p><w:r><w:t>Seite 1</w:t></w:r></w:p></w:ftr>", 0);
	zw_add(z, "docProps/core.xml",
	       "<cp:coreProperties xmlns:cp=\"urn:cp\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
	       "<dc:title>Bauantrag</dc:title><dc:creator>Jan Vo\xc3\x9f</dc:creator></cp:coreProperties>", 0);
	zw_close(z);
}

static void test_docx_text_and_metadata(void)
{
	struct zw z;

	build_docx(&z, docx_body);
	REQUIRE(run(extract_docx, z.buf, z.used) == 0);
	CHECKF(strcmp(res.text.buf, "Stadt Leipzig\n\nAntrag auf Baugenehmigung\n\n"
		      "Name:\tJan Vo\xc3\x9f\nZeile 2\n\nA1\tB1\nB1b\nA2\n\nBox\n\nSeite 1") == 0,
	       "text '%s'", res.text.buf);
	REQUIRE(res.title != NULL && res.author != NULL);
	CHECK(strcmp(res.title, "Bauantrag") == 0);
	CHECK(strcmp(res.author, "Jan Vo\xc3\x9f") == 0);
	free(z.buf);
}

static void test_docx_malformed_part(void)
{
	struct zw z;

	build_docx(&z, "<w:document " W "><w:body><w:p>");
	CHECK(run(extract_docx, z.buf, z.used) == DK_EFORMAT);
	CHECK(strcmp(err.slug, "malformed_xml") == 0);
	free(z.buf);
	zw_open(&z, 4096);
	zw_add(&z, "hello.txt", "not a docx", 0);
	zw_close(&z);
	CHECK(run(extract_docx, z.buf, z.used) == DK_EFORMAT);
	CHECK(strcmp(err.slug, "corrupt_zip") == 0);
	free(z.buf);
}

#define ODT_NS "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" " \
	"xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" " \
	"xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" " \
	"xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" " \
	"xmlns:number=\"urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0\" " \
	"xmlns:meta=\"urn:oasis:names:tc:opendocument:xmlns:meta:1.0\" " \
	"xmlns:dc=\"http://purl.org/dc/elements/1.1/\""

static void build_odt(struct zw *z)
{
	zw_open(z, 1 << 20);
	zw_add(z, "mimetype", "application/vnd.oasis.opendocument.text", 0);
	zw_add(z, "content.xml", "<office:document-content " ODT_NS ">"
	       "<office:automatic-styles><number:date-style><number:text>/</number:text>"
	       "</number:date-style></office:automatic-styles><office:body><office:text>"
	       "<text:sequence-decls><text:sequence-decl text:name=\"x\"/></text:sequence-decls>"
	       "<text:h>Betreff</text:h><text:p>Sehr<text:s text:c=\"3\"/>geehrte<text:tab/>Damen"
	       "<text:line-break/>und <text:span>Her</text:span>ren<text:note><text:note-citation>1"
	       "</text:note-citation><text:note-body><text:p>Fu\xc3\x9fnote</text:p></text:note-body>"
	       "</text:note></text:p><text:list><text:list-item><text:p>eins</text:p></text:list-item>"
	       "<text:list-item><text:p>zwei</text:p></text:list-item></text:list>"
	       "<table:table><table:table-row><table:table-cell><text:p>a</text:p></table:table-cell>"
	       "<table:table-cell><text:p>b</text:p></table:table-cell></table:table-row></table:table>"
	       "<text:tracked-changes><text:changed-region><text:deletion><text:p>WEG</text:p>"
	       "</text:deletion></text:changed-region></text:tracked-changes>"
	       "</office:text></office:body></office:document-content>", 0);
	zw_add(z, "styles.xml", "<office:document-styles " ODT_NS "><office:styles><number:number-style>"
	       "<number:text>%</number:text></number:number-style></office:styles><office:master-styles>"
	       "<style:master-page><style:header><text:p>Kopfzeile</text:p></style:header>"
	       "<style:footer><text:p>Fu\xc3\x9fzeile</text:p></style:footer></style:master-page>"
	       "</office:master-styles></office:document-styles>", 0);
	zw_add(z, "meta.xml", "<office:document-meta " ODT_NS "><office:meta><dc:title>Brief</dc:title>"
	       "<meta:initial-creator>Doreen Lindner</meta:initial-creator></office:meta>"
	       "</office:document-meta>", 0);
	zw_close(z);
}

static void test_odt_text_and_metadata(void)
{
	struct zw z;

	build_odt(&z);
	REQUIRE(run(extract_odt, z.buf, z.used) == 0);
	CHECKF(strcmp(res.text.buf, "Betreff\n\nSehr geehrte\tDamen\nund Herren\n\nFu\xc3\x9fnote\n\n"
		      "eins\n\nzwei\n\na\tb\n\nKopfzeile\n\nFu\xc3\x9fzeile") == 0,
	       "text '%s'", res.text.buf);
	REQUIRE(res.title != NULL && res.author != NULL);
	CHECK(strcmp(res.title, "Brief") == 0);
	CHECK(strcmp(res.author, "Doreen Lindner") == 0);
	free(z.buf);
}

static void test_odt_encrypted(void)
{
	struct zw z;

	zw_open(&z, 1 << 16);
	zw_add(&z, "mimetype", "application/vnd.oasis.opendocument.text", 0);
	zw_add(&z, "content.xml", "\x8f\x13\xa7 ciphertext", 0);
	zw_add(&z, "META-INF/manifest.xml", "<manifest:manifest xmlns:manifest=\"urn:m\">"
	       "<manifest:file-entry manifest:full-path=\"content.xml\"><manifest:encryption-data/>"
	       "</manifest:file-entry></manifest:manifest>", 0);
	zw_close(&z);
	CHECK(run(extract_odt, z.buf, z.used) == DK_EUNSUPPORTED);
	CHECKF(strcmp(err.slug, "encrypted_document") == 0, "slug '%s'", err.slug);
	free(z.buf);
}

/* test_zip_bomb_member - one highly compressible member past the member cap */
static void test_zip_bomb_member(void)
{
	size_t big = 8u << 20;
	char *zeros = calloc(1, big);
	struct zw z;

	REQUIRE(zeros != NULL);
	memcpy(zeros, "<w:document>", 12);
	zw_open(&z, 1 << 20);
	zw_add(&z, "word/document.xml", zeros, big);
	zw_close(&z);
	CHECK(z.used < big / 100);	/* it is a bomb: ratio above 100 */
	lim.max_member_bytes = 1u << 20;
	CHECK(run(extract_docx, z.buf, z.used) == DK_ELIMIT);
	CHECKF(strcmp(err.slug, "zip_bomb") == 0, "slug '%s'", err.slug);
	extract_limits_default(&lim);
	free(z.buf);
	free(zeros);
}

/* test_zip_bomb_ratio - under generous caps, the compression ratio alone refuses a bomb */
static void test_zip_bomb_ratio(void)
{
	size_t big = ZIP_RATIO_FLOOR + (1u << 20);
	char *zeros = calloc(1, big);
	struct zw z;

	REQUIRE(zeros != NULL);
	zw_open(&z, 1 << 20);
	zw_add(&z, "word/document.xml", zeros, big);
	zw_close(&z);
	lim.max_member_bytes = lim.max_total_bytes = (size_t)1 << 30;
	CHECK(run(extract_docx, z.buf, z.used) == DK_ELIMIT);
	CHECKF(strcmp(err.slug, "zip_bomb") == 0 && strstr(err.msg, "times its size") != NULL,
	       "slug '%s' (%.100s)", err.slug, err.msg);
	extract_limits_default(&lim);
	free(z.buf);
	free(zeros);
}

/* test_zip_bomb_total - members each under the member cap, together over the total */
static void test_zip_bomb_total(void)
{
	size_t part = 600u << 10;
	char *fill = malloc(part);
	struct zw z;

	REQUIRE(fill != NULL);
	memset(fill, ' ', part);
	zw_open(&z, 1 << 20);
	zw_add(&z, "word/document.xml", "<w:document " W "><w:body/></w:document>", 0);
	for (int i = 1; i <= 4; i++) {
		char name[64];
		snprintf(name, sizeof name, "word/header%d.xml", i);
		zw_add(&z, name, fill, part);
	}
	zw_close(&z);
	lim.max_member_bytes = 1u << 20;
	lim.max_total_bytes = 2u << 20;
	CHECK(run(extract_docx, z.buf, z.used) == DK_ELIMIT);
	CHECKF(strcmp(err.slug, "zip_bomb") == 0, "slug '%s'", err.slug);
	extract_limits_default(&lim);
	free(z.buf);
	free(fill);
}

/* want_prefix - zip_want_fn: names starting with the string ctx */
static int want_prefix(const char *name, void *ctx)
{
	return strncmp(name, ctx, strlen(ctx)) == 0;
}

/* test_unwanted_member_not_inflated - a bomb in a part we never read costs nothing */
static void test_unwanted_member_not_inflated(void)
{
	size_t big = 8u << 20;
	char *zeros = calloc(1, big);
	struct zip zr = ZIP_INIT;
	struct zw z;

	REQUIRE(zeros != NULL);
	zw_open(&z, 1 << 20);
	zw_add(&z, "word/media/huge.bin", zeros, big);
	zw_add(&z, "content.xml", "<x/>", 0);
	zw_close(&z);
	lim.max_member_bytes = lim.max_total_bytes = 1u << 20;
	CHECK(zip_read(&zr, z.buf, z.used, &lim, want_prefix, (void *)"content", &err) == 0);
	CHECK(zr.n == 1 && zip_find(&zr, "content.xml") != NULL && zr.total == 4);
	CHECK(zip_find(&zr, "word/media/huge.bin") == NULL);
	zip_release(&zr);
	extract_limits_default(&lim);
	free(z.buf);
	free(zeros);
}

static void test_corrupt_and_truncated(void)
{
	struct zw z;

	CHECK(run(extract_docx, (const unsigned char *)"PK\x03\x04garbage", 11) == DK_EFORMAT);
	CHECKF(strcmp(err.slug, "corrupt_zip") == 0, "slug '%s'", err.slug);
	CHECK(run(extract_odt, (const unsigned char *)"", 0) == DK_EFORMAT);
	CHECK(strcmp(err.slug, "corrupt_zip") == 0);
	build_docx(&z, docx_body);
	for (size_t cut = 10; cut < z.used; cut += z.used / 7) {
		int rc = run(extract_docx, z.buf, cut);
		CHECKF(rc == DK_EFORMAT && strcmp(err.slug, "corrupt_zip") == 0,
		       "cut at %zu: rc %d slug '%s'", cut, rc, err.slug);
	}
	/* flip bytes inside the compressed document part */
	for (size_t i = 200; i < 260 && i < z.used; i++)
		z.buf[i] ^= 0x5a;
	CHECK(run(extract_docx, z.buf, z.used) != 0);
	free(z.buf);
}

static void test_too_many_members(void)
{
	struct zip zr = ZIP_INIT;
	struct zw z;

	zw_open(&z, 4u << 20);
	for (int i = 0; i <= ZIP_MAX_MEMBERS; i++) {
		char name[32];
		snprintf(name, sizeof name, "m%d", i);
		zw_add(&z, name, "x", 1);
	}
	zw_close(&z);
	CHECK(zip_read(&zr, z.buf, z.used, &lim, want_prefix, (void *)"m", &err) == DK_ELIMIT);
	CHECK(strcmp(err.slug, "zip_bomb") == 0);
	zip_release(&zr);
	free(z.buf);
}

int main(void)
{
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	RUN(test_docx_text_and_metadata);
	RUN(test_docx_malformed_part);
	RUN(test_odt_text_and_metadata);
	RUN(test_odt_encrypted);
	RUN(test_zip_bomb_member);
	RUN(test_zip_bomb_ratio);
	RUN(test_zip_bomb_total);
	RUN(test_unwanted_member_not_inflated);
	RUN(test_corrupt_and_truncated);
	RUN(test_too_many_members);
	extract_result_release(&res);
	return TEST_END();
}
