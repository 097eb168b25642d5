/*
 * NAME
 *	extract_docx - text of a Word (OOXML) document
 * DESIGN NOTES
 *	1. The container is read by zip_read() under the member and total
 *	   caps (zip_bomb); only the parts below are ever inflated.
 *	2. Every XML part goes through xmlwalk_parse() (no network, no DTD, no
 *	   external entities). A part that is not well-formed fails the
 *	   document as malformed_xml: Word never writes one.
 *	3. Only w:t (and the a:t / m:t of drawings and equations) carry text;
 *	   every other text node is layout data (positions, field codes) and
 *	   is ignored. w:delText (deleted revisions), w:instrText (field codes)
 *	   and mc:Fallback (a second copy of mc:Choice content) are skipped.
 *	4. Output order: headers, body, footnotes and endnotes, footers, each
 *	   part in archive order. w:p is a paragraph, w:tr a line, w:tc a
 *	   tab-separated cell (xmlwalk note 5), w:tab a tab, w:br/w:cr a line.
 *	5. docProps/core.xml gives title (dc:title) and author (dc:creator).
 */
#include <string.h>

#include "stages/extract.h"
#include "stages/tsink.h"
#include "stages/xmlwalk.h"
#include "stages/zip.h"

#define META_MAX 1024

/* starts_ends - s begins with pre and ends with suf */
static int starts_ends(const char *s, const char *pre, const char *suf)
{
	size_t n = strlen(s), np = strlen(pre), ns = strlen(suf);

	return n >= np + ns && memcmp(s, pre, np) == 0 && strcmp(s + n - ns, suf) == 0;
}

/* is_header - word/header*.xml */
static int is_header(const char *name)
{
	return starts_ends(name, "word/header", ".xml");
}

/* is_footer - word/footer*.xml */
static int is_footer(const char *name)
{
	return starts_ends(name, "word/footer", ".xml");
}

/* is_notes - footnotes and endnotes */
static int is_notes(const char *name)
{
	return strcmp(name, "word/footnotes.xml") == 0 || strcmp(name, "word/endnotes.xml") == 0;
}

/* want - the parts we read (note 1) */
static int want(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "word/document.xml") == 0 || strcmp(name, "docProps/core.xml") == 0 ||
	       is_header(name) || is_footer(name) || is_notes(name);
}

static const char *const skip_tags[] = {
	"delText", "instrText", "Fallback", "pPr", "rPr", "sectPr", "tblPr", "trPr",
	"tcPr", "tblGrid", "fldData", NULL
};

/* classify - what a WordprocessingML element means (notes 3, 4) */
static enum xmlwalk_action classify(struct xmlwalk *w, xmlNode *el)
{
	const char *name = (const char *)el->name;

	for (const char *const *s = skip_tags; *s != NULL; s++)
		if (strcmp(name, *s) == 0)
			return XW_SKIP;
	if (strcmp(name, "t") == 0)
		return XW_TEXT;
	if (strcmp(name, "p") == 0 || strcmp(name, "tbl") == 0)
		return XW_PARA;
	if (strcmp(name, "tr") == 0)
		return XW_ROW;
	if (strcmp(name, "tc") == 0)
		return XW_CELL;
	if (strcmp(name, "tab") == 0 || strcmp(name, "ptab") == 0)
		return XW_TAB;
	if (strcmp(name, "br") == 0 || strcmp(name, "cr") == 0)
		return XW_LINE;
	if (strcmp(name, "noBreakHyphen") == 0) {
		tsink_text(w->sink, "-", 1);
		return XW_SKIP;
	}
	return XW_INLINE;
}

/* walk_part - append the text of one XML part (note 2) */
static int walk_part(const struct zip_member *m, struct tsink *sink, struct dk_err *err)
{
	struct xmlwalk w;
	xmlDoc *doc;
	int rc = xmlwalk_parse(m->data, m->len, m->name, &doc, err);

	if (rc != 0)
		return rc;
	xmlwalk_init(&w, sink, classify, NULL, 0, m->len);
	tsink_sep(sink, TSINK_PARA);
	rc = xmlwalk_run(&w, xmlDocGetRootElement(doc), err);
	xmlFreeDoc(doc);
	return rc;
}

/* walk_parts - every member accepted by pick, in archive order */
static int walk_parts(const struct zip *z, int (*pick)(const char *), struct tsink *sink,
		      struct dk_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < z->n && rc == 0; i++)
		if (pick(z->members[i].name))
			rc = walk_part(&z->members[i], sink, err);
	return rc;
}

/* is_body - the main document part */
static int is_body(const char *name)
{
	return strcmp(name, "word/document.xml") == 0;
}

/* child_text - text of root's first child element called name, or NULL */
static char *child_text(xmlNode *root, const char *name)
{
	for (xmlNode *c = root ? root->children : NULL; c != NULL; c = c->next)
		if (xmlwalk_is(c, name))
			return xmlwalk_string(c, META_MAX);
	return NULL;
}

/* core_meta - title and author from docProps/core.xml (note 5); errors ignored */
static void core_meta(const struct zip *z, struct extract_result *res)
{
	const struct zip_member *m = zip_find(z, "docProps/core.xml");
	struct dk_err ignored = DK_ERR_INIT;
	xmlDoc *doc;

	if (m == NULL || xmlwalk_parse(m->data, m->len, m->name, &doc, &ignored) != 0)
		return;
	if (res->title == NULL)
		res->title = child_text(xmlDocGetRootElement(doc), "title");
	if (res->author == NULL)
		res->author = child_text(xmlDocGetRootElement(doc), "creator");
	xmlFreeDoc(doc);
}

/* extract_docx - the format extractor (extract.h) */
int extract_docx(const unsigned char *data, size_t len, const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err)
{
	struct zip z = ZIP_INIT;
	struct tsink sink;
	int rc = zip_read(&z, data, len, lim, want, NULL, err);

	if (rc == 0 && zip_find(&z, "word/document.xml") == NULL)
		rc = dk_err_setx(err, DK_EFORMAT, "corrupt_zip", "docx has no 'word/document.xml'");
	if (rc == 0) {
		tsink_init(&sink, &res->text);
		rc = walk_parts(&z, is_header, &sink, err);
		if (rc == 0)
			rc = walk_parts(&z, is_body, &sink, err);
		if (rc == 0)
			rc = walk_parts(&z, is_notes, &sink, err);
		if (rc == 0)
			rc = walk_parts(&z, is_footer, &sink, err);
		core_meta(&z, res);
	}
	zip_release(&z);
	return rc;
}
