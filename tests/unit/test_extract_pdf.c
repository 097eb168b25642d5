/*
 * NAME
 *	test_extract_pdf - PDF extraction on PDFs that cairo writes here
 * DESCRIPTION
 *	The PDFs are produced in memory with cairo's PDF surface (real
 *	fonts, real ToUnicode maps), so the whole poppler path runs: text per
 *	page, page offsets, metadata, paragraphs from vertical gaps, the page
 *	cap, running heads and page numbers removed, words broken across
 *	lines joined. The hostile ones:
 *	a truncated PDF, a corrupt one, one with no text at all (an image-only
 *	scan), and an encrypted one built by hand (a Standard security
 *	handler whose /U entry cannot match the empty password, which is
 *	what poppler checks first; no cryptography is needed to make one).
 */
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <glib.h>

#include "stages/extract.h"
#include "tests/test.h"
#include "tests/pdfgen.h"

static cairo_status_t sink(void *closure, const unsigned char *data, unsigned int n)
{
	g_byte_array_append(closure, data, n);
	return CAIRO_STATUS_SUCCESS;
}

/* make_pdf - pages of lines: lines[p] is a NULL-terminated array, lines ends in NULL */
static GByteArray *make_pdf(const char *const *const *lines, const char *title)
{
	GByteArray *out = g_byte_array_new();
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink, out, 595, 842);
	cairo_t *cr = cairo_create(s);

	if (title) {
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, "Stadt Musterstadt");
	}
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 11);
	for (int p = 0; lines[p]; p++) {
		for (int i = 0; lines[p][i]; i++) {
			cairo_move_to(cr, 60, 60 + 16 * i);
			cairo_show_text(cr, lines[p][i]);
		}
		cairo_show_page(cr);
	}
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_surface_destroy(s);
	return out;
}

struct run {
	int rc, pages;
	char slug[48];
	char *text, *title, *author;
	size_t page_start[8];
};

static struct run extract(const unsigned char *d, size_t n, int max_pages)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	struct run r;

	memset(&r, 0, sizeof r);
	extract_limits_default(&lim);
	if (max_pages)
		lim.max_pages = max_pages;
	extract_result_init(&res, &lim);
	r.rc = extract_buffer(d, n, &lim, &res, &err);
	snprintf(r.slug, sizeof r.slug, "%s", r.rc ? err.slug : "ok");
	r.pages = res.pages;
	if (r.rc == 0) {
		r.text = g_strdup(res.text.buf);
		r.title = g_strdup(res.title);
		r.author = g_strdup(res.author);
		for (int i = 0; i < res.pages && i < 8; i++)
			r.page_start[i] = res.page_start[i];
	}
	extract_result_release(&res);
	return r;
}

static void run_free(struct run *r)
{
	g_free(r->text);
	g_free(r->title);
	g_free(r->author);
}

static const char *const p1[] = { "Antrag auf Baugenehmigung", "Grundstück: Lindenweg 4, 79100 Freiburg", NULL };
static const char *const p2[] = { "Bauherr: Jörg Weiß", "Datum: 12. März 2025", NULL };

static void text_pages_metadata(void)
{
	static const char *const *const doc[] = { p1, p2, NULL };
	GByteArray *pdf = make_pdf(doc, "Bauantrag 2025/17");
	struct run r = extract(pdf->data, pdf->len, 0);
	static const char want[] = "Antrag auf Baugenehmigung\nGrundstück: Lindenweg 4, 79100 Freiburg\n\n"
				   "Bauherr: Jörg Weiß\nDatum: 12. März 2025";

	CHECKF(r.rc == 0, "failed: %s", r.slug);
	if (r.rc == 0) {
		CHECKF(strcmp(r.text, want) == 0, "got [%s]", r.text);
		CHECK(r.pages == 2);
		CHECK(r.page_start[0] == 0);
		CHECKF(strncmp(r.text + r.page_start[1], "Bauherr", 7) == 0, "page 2 at %zu", r.page_start[1]);
		CHECK(r.title && strcmp(r.title, "Bauantrag 2025/17") == 0);
		CHECK(r.author && strcmp(r.author, "Stadt Musterstadt") == 0);
	}
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void paragraphs_from_gaps(void)
{
	static const char *const a[] = { "Sehr geehrte Damen und Herren,", "",
					 "hiermit beantrage ich", "die Genehmigung.", NULL };
	static const char *const *const doc[] = { a, NULL };
	GByteArray *pdf = make_pdf(doc, NULL);
	struct run r = extract(pdf->data, pdf->len, 0);
	static const char want[] = "Sehr geehrte Damen und Herren,\n\nhiermit beantrage ich\ndie Genehmigung.";

	CHECKF(r.rc == 0, "failed: %s", r.slug);
	if (r.rc == 0)
		CHECKF(strcmp(r.text, want) == 0, "got [%s]", r.text);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void page_cap(void)
{
	static const char *const *const doc[] = { p1, p2, p1, NULL };
	GByteArray *pdf = make_pdf(doc, NULL);
	struct run r = extract(pdf->data, pdf->len, 1);

	CHECKF(r.rc == 0, "failed: %s", r.slug);
	CHECK(r.pages == 1);
	CHECK(r.text && strstr(r.text, "Bauherr") == NULL);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void furniture_and_hyphens(void)
{
	static const char *const a[] = { "Landratsamt Musterkreis", "Der Antrag wurde von der Verwal-",
					 "tung geprüft.", "Seite 1 von 3", NULL };
	static const char *const b[] = { "Landratsamt Musterkreis", "Baden-", "Württemberg hat ent-",
					 "Seite 2 von 3", NULL };
	static const char *const c[] = { "Landratsamt Musterkreis", "schieden.", "Seite 3 von 3", NULL };
	static const char *const *const doc[] = { a, b, c, NULL };
	GByteArray *pdf = make_pdf(doc, NULL);
	struct run r = extract(pdf->data, pdf->len, 0);
	static const char want[] = "Landratsamt Musterkreis\nDer Antrag wurde von der Verwaltung\ngeprüft.\n\n"
				   "Baden-Württemberg\nhat entschieden.";

	CHECKF(r.rc == 0, "failed: %s", r.slug);
	if (r.rc == 0)
		CHECKF(strcmp(r.text, want) == 0, "got [%s]", r.text);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void truncated(void)
{
	static const char *const *const doc[] = { p1, p2, NULL };
	GByteArray *pdf = make_pdf(doc, NULL);
	struct run r = extract(pdf->data, pdf->len * 2 / 3, 0);

	CHECK(r.rc == DK_EFORMAT);
	CHECKF(strcmp(r.slug, "corrupt_pdf") == 0, "slug %s", r.slug);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void corrupt(void)
{
	static const char bad[] = "%PDF-1.7\n\xff\xfe garbage objects here\ntrailer <<>>\n%%EOF\n";
	struct run r = extract((const unsigned char *)bad, sizeof bad - 1, 0);

	CHECK(r.rc != 0);
	CHECKF(strcmp(r.slug, "corrupt_pdf") == 0, "slug %s", r.slug);
	run_free(&r);
}

static void image_only(void)
{
	GByteArray *out = g_byte_array_new();
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(sink, out, 595, 842);
	cairo_t *cr = cairo_create(s);
	struct run r;

	cairo_rectangle(cr, 50, 50, 300, 200);
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_surface_destroy(s);
	r = extract(out->data, out->len, 0);
	CHECK(r.rc != 0);
	CHECKF(strcmp(r.slug, "no_text_layer") == 0, "slug %s", r.slug);
	run_free(&r);
	g_byte_array_free(out, TRUE);
}

static void encrypted(void)
{
	GByteArray *pdf = test_encrypted_pdf();
	struct run r;

	r = extract(pdf->data, pdf->len, 0);
	CHECK(r.rc != 0);
	CHECKF(strcmp(r.slug, "encrypted_pdf") == 0, "slug %s", r.slug);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

static void three_hundred_pages(void)
{
	static const char *const *doc[301];
	GByteArray *pdf;
	struct run r;

	for (int i = 0; i < 300; i++)
		doc[i] = i % 2 ? p1 : p2;
	doc[300] = NULL;
	pdf = make_pdf((const char *const *const *)doc, NULL);
	r = extract(pdf->data, pdf->len, 0);
	CHECKF(r.rc == 0, "failed: %s", r.slug);
	CHECK(r.pages == 300);
	run_free(&r);
	g_byte_array_free(pdf, TRUE);
}

int main(void)
{
	RUN(text_pages_metadata);
	RUN(paragraphs_from_gaps);
	RUN(page_cap);
	RUN(furniture_and_hyphens);
	RUN(truncated);
	RUN(corrupt);
	RUN(image_only);
	RUN(encrypted);
	RUN(three_hundred_pages);
	/* cairo's font caches and fontconfig's configuration live until
	 * process exit; free them so LeakSanitizer sees only our own leaks */
	cairo_debug_reset_static_data();
	FcFini();
	return TEST_END();
}
