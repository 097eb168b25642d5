/*
 * NAME
 *	extract_pdf - PDF text per page with poppler-glib, from memory
 * DESIGN NOTES
 *	1. The bytes are handed to poppler without a copy
 *	   (poppler_document_new_from_bytes over a static GBytes); they
 *	   outlive the document because both end inside extract_pdf().
 *	2. A PDF whose last EOF_WINDOW bytes hold no "%%EOF" marker is
 *	   truncated: poppler would often rebuild a partial xref and return
 *	   some pages, which would be recorded as a (wrong) success. It fails
 *	   corrupt_pdf instead. The window is the one PDF readers accept.
 *	3. Encryption that needs a password fails encrypted_pdf; a PDF that
 *	   opens with the empty user password is extracted as any other.
 *	4. poppler_page_get_text() gives each page in reading order. Pages
 *	   past lim->max_pages are not read; pages counts those read.
 *	5. poppler's page text glues side-by-side blocks (a form's label and
 *	   its value, table cells) together without any space:
 *	   "Dane do kontaktutel. 698". The text layout gives one rectangle
 *	   per character of that text, so where two adjacent non-blank
 *	   characters sit far apart (more than a line height) or on different
 *	   lines, a line break is put between them, and a space where the gap
 *	   is a word gap (GAP_SPACE line heights); glyphs stacked in one
 *	   column (vertical text) get nothing. If the layout does not match
 *	   the text, the text is taken as it is.
 *	6. poppler ends every line with one newline, so paragraphs vanish.
 *	   Lines set solid touch (the gap between one line's glyph boxes and
 *	   the next is near zero); where the next line starts more than
 *	   PARA_GAP line heights lower, a blank line marks a paragraph. A gap
 *	   of many lines is a jump back up (a new column), not a paragraph.
 */
#include <math.h>
#include <string.h>

#include <poppler.h>

#include "stages/extract.h"

#define EOF_WINDOW 1024
#define GAP_SPACE 0.25		/* note 5: a word gap, in line heights */
#define GAP_BREAK 1.0		/* note 5: a block gap, in line heights */
#define PARA_GAP 0.5		/* note 6: white space between paragraphs, in line heights */

/* has_eof_marker - note 2 */
static int has_eof_marker(const unsigned char *d, size_t len)
{
	size_t from = len > EOF_WINDOW ? len - EOF_WINDOW : 0;

	return memmem(d + from, len - from, "%%EOF", 5) != NULL;
}

/* open_doc - the poppler document, or an error with its slug (note 3) */
static int open_doc(GBytes *bytes, PopplerDocument **doc, struct dk_err *err)
{
	GError *gerr = NULL;
	int rc = 0;

	*doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	if (*doc == NULL && g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
		rc = dk_err_setx(err, DK_EUNSUPPORTED, "encrypted_pdf",
				 "the pdf is encrypted and needs a password");
	else if (*doc == NULL)
		rc = dk_err_setx(err, DK_EFORMAT, "corrupt_pdf", "cannot read the pdf: %s",
				 gerr ? gerr->message : "unknown error");
	g_clear_error(&gerr);
	return rc;
}

/* dup_meta - a metadata string poppler gave us, as malloc'ed UTF-8 or NULL */
static int dup_meta(char *g, char **out)
{
	int rc = 0;

	if (g && *g) {
		*out = strdup(g);
		rc = *out ? 0 : DK_ENOMEM;
	}
	g_free(g);
	return rc;
}

/* separator - what goes between two adjacent non-blank glyphs (note 5) */
static const char *separator(const PopplerRectangle *a, const PopplerRectangle *b)
{
	double h = a->y2 - a->y1, gap = b->x1 - a->x2;

	if (h <= 0)
		return "";
	if (fabs(b->x1 - a->x1) < h / 2 && fabs(b->y1 - a->y1) < 2 * h)
		return "";	/* vertical text: one glyph under the other */
	if (b->y1 - a->y1 > h / 2 || a->y1 - b->y1 > h / 2 || gap > GAP_BREAK * h ||
	    b->x2 < a->x1)
		return "\n";
	return gap > GAP_SPACE * h ? " " : "";
}

/* paragraph_gap - the line below b starts after a gap of more than PARA_GAP lines (note 6) */
static int paragraph_gap(const PopplerRectangle *a, const PopplerRectangle *b)
{
	double h = a->y2 - a->y1;

	return h > 0 && b->y1 - a->y2 > PARA_GAP * h && b->y1 - a->y2 < 20 * h;
}

/* add_page_text - one page's text, with block gaps and paragraphs restored (notes 5, 6) */
static int add_page_text(PopplerPage *page, const char *text, struct dk_buf *out)
{
	PopplerRectangle *r = NULL;
	guint n = 0, i = 0;
	const char *s = text;
	gunichar prev = ' ';
	int rc = 0;

	if (!poppler_page_get_text_layout(page, &r, &n) || (glong)n != g_utf8_strlen(text, -1)) {
		g_free(r);
		return dk_buf_adds(out, text);
	}
	for (; *s && rc == 0; i++) {
		const char *next = g_utf8_next_char(s);
		gunichar c = g_utf8_get_char(s);

		if (i > 0 && !g_unichar_isspace(c) && !g_unichar_isspace(prev))
			rc = dk_buf_adds(out, separator(&r[i - 1], &r[i]));
		else if (c == '\n' && i > 0 && i + 1 < n && !g_unichar_isspace(prev) &&
			 paragraph_gap(&r[i - 1], &r[i + 1]))
			rc = dk_buf_addch(out, '\n');
		if (rc == 0)
			rc = dk_buf_add(out, s, (size_t)(next - s));
		prev = c;
		s = next;
	}
	g_free(r);
	return rc;
}

/* add_pages - note 4 */
static int add_pages(PopplerDocument *doc, int n, struct extract_result *res,
		     struct dk_err *err)
{
	for (int i = 0; i < n; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		char *text = page ? poppler_page_get_text(page) : NULL;
		int rc = 0;

		if (text && add_page_text(page, text, &res->text) != 0)
			rc = dk_err_setx(err, DK_ENOMEM, "text_too_large",
					 "the text of the pdf exceeds the text size limit");
		g_free(text);
		if (page)
			g_object_unref(page);
		if (rc == 0 && extract_page_break(res) != 0)
			rc = dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory");
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* extract_pdf - the format extractor for PDF */
int extract_pdf(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err)
{
	GBytes *bytes;
	PopplerDocument *doc;
	int n, rc;

	if (!has_eof_marker(data, len))
		return dk_err_setx(err, DK_EFORMAT, "corrupt_pdf",
				   "the pdf is truncated (no end-of-file marker)");
	bytes = g_bytes_new_static(data, len);
	rc = open_doc(bytes, &doc, err);
	g_bytes_unref(bytes);
	if (rc != 0)
		return rc;
	n = poppler_document_get_n_pages(doc);
	if (n <= 0)
		rc = dk_err_setx(err, DK_EFORMAT, "corrupt_pdf", "the pdf has no pages");
	else
		rc = add_pages(doc, n < lim->max_pages ? n : lim->max_pages, res, err);
	if (rc == 0 && (dup_meta(poppler_document_get_title(doc), &res->title) != 0 ||
			dup_meta(poppler_document_get_author(doc), &res->author) != 0))
		rc = dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory");
	g_object_unref(doc);
	return rc;
}
