/*
 * NAME
 *	extract_odt - text of an OpenDocument text document
 * DESIGN NOTES
 *	1. The container is read by zip_read() under the member and total
 *	   caps (zip_bomb); only content.xml, styles.xml, meta.xml and
 *	   META-INF/manifest.xml are inflated; the XML parts we walk go
 *	   through xmlwalk_parse().
 *	2. Only office:body of content.xml and office:master-styles of
 *	   styles.xml (page headers and footers) are walked: the style
 *	   sections hold number:text and similar nodes that are not text.
 *	3. text:p and text:h are paragraphs, table rows lines, cells
 *	   tab-separated; text:s, text:tab and text:line-break become a space,
 *	   a tab and a line break. Tracked changes (deleted text), annotations,
 *	   note citations and declarations are skipped.
 *	4. A password-protected document lists encryption-data for its parts
 *	   in META-INF/manifest.xml; its content.xml is ciphertext, so it fails
 *	   as encrypted_document (DK_EUNSUPPORTED) instead of malformed_xml.
 *	5. meta.xml gives title (dc:title) and author (meta:initial-creator,
 *	   else dc:creator).
 */
#include <string.h>

#include "stages/extract.h"
#include "stages/tsink.h"
#include "stages/xmlwalk.h"
#include "stages/zip.h"

#define META_MAX 1024

/* want - the parts we read (note 1) */
static int want(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "content.xml") == 0 || strcmp(name, "styles.xml") == 0 ||
	       strcmp(name, "meta.xml") == 0 || strcmp(name, "META-INF/manifest.xml") == 0;
}

static const char *const skip_tags[] = {
	"tracked-changes", "annotation", "annotation-end", "note-citation",
	"sequence-decls", "variable-decls", "user-field-decls", "binary-data",
	"forms", "script", "event-listeners", "covered-table-cell", NULL
};
static const char *const para_tags[] = {
	"p", "h", "table", "list-item", "section", "index-body", NULL
};

/* in_list - name is one of the NULL-terminated list */
static int in_list(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* classify - what an OpenDocument element means (note 3) */
static enum xmlwalk_action classify(struct xmlwalk *w, xmlNode *el)
{
	const char *name = (const char *)el->name;

	if (in_list(name, skip_tags))
		return XW_SKIP;
	if (in_list(name, para_tags))
		return XW_PARA;
	if (strcmp(name, "table-row") == 0)
		return XW_ROW;
	if (strcmp(name, "table-cell") == 0)
		return XW_CELL;
	if (strcmp(name, "tab") == 0)
		return XW_TAB;
	if (strcmp(name, "line-break") == 0)
		return XW_LINE;
	if (strcmp(name, "s") == 0) {
		tsink_text(w->sink, " ", 1);
		return XW_SKIP;
	}
	return XW_INLINE;
}

/* find - root's first child element called name, or NULL */
static xmlNode *find(xmlNode *root, const char *name)
{
	for (xmlNode *c = root ? root->children : NULL; c != NULL; c = c->next)
		if (xmlwalk_is(c, name))
			return c;
	return NULL;
}

/* walk_section - text below root's child element called section (note 2) */
static int walk_section(const struct zip_member *m, const char *section, struct tsink *sink,
			struct dk_err *err)
{
	struct xmlwalk w;
	xmlNode *sec;
	xmlDoc *doc;
	int rc = xmlwalk_parse(m->data, m->len, m->name, &doc, err);

	if (rc != 0)
		return rc;
	sec = find(xmlDocGetRootElement(doc), section);
	xmlwalk_init(&w, sink, classify, NULL, 1, m->len);
	tsink_sep(sink, TSINK_PARA);
	if (sec != NULL && sec->children != NULL)
		rc = xmlwalk_run(&w, sec->children, err);
	xmlFreeDoc(doc);
	return rc;
}

/* meta - title and author from meta.xml (note 5); errors ignored */
static void meta(const struct zip *z, struct extract_result *res)
{
	const struct zip_member *m = zip_find(z, "meta.xml");
	struct dk_err ignored = DK_ERR_INIT;
	xmlNode *info, *n;
	xmlDoc *doc;

	if (m == NULL || xmlwalk_parse(m->data, m->len, m->name, &doc, &ignored) != 0)
		return;
	info = find(xmlDocGetRootElement(doc), "meta");
	if (res->title == NULL && (n = find(info, "title")) != NULL)
		res->title = xmlwalk_string(n, META_MAX);
	if (res->author == NULL && (n = find(info, "initial-creator")) != NULL)
		res->author = xmlwalk_string(n, META_MAX);
	if (res->author == NULL && (n = find(info, "creator")) != NULL)
		res->author = xmlwalk_string(n, META_MAX);
	xmlFreeDoc(doc);
}

/* encrypted - the manifest declares encrypted parts (note 4) */
static int encrypted(const struct zip *z)
{
	const struct zip_member *m = zip_find(z, "META-INF/manifest.xml");

	return m != NULL && memmem(m->data, m->len, "encryption-data", 15) != NULL;
}

/* extract_odt - the format extractor (extract.h) */
int extract_odt(const unsigned char *data, size_t len, const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err)
{
	struct zip z = ZIP_INIT;
	const struct zip_member *content, *styles;
	struct tsink sink;
	int rc = zip_read(&z, data, len, lim, want, NULL, err);

	content = zip_find(&z, "content.xml");
	styles = zip_find(&z, "styles.xml");
	if (rc == 0 && encrypted(&z))
		rc = dk_err_setx(err, DK_EUNSUPPORTED, "encrypted_document", "odt is password-protected");
	if (rc == 0 && content == NULL)
		rc = dk_err_setx(err, DK_EFORMAT, "corrupt_zip", "odt has no 'content.xml'");
	if (rc == 0) {
		tsink_init(&sink, &res->text);
		rc = walk_section(content, "body", &sink, err);
		if (rc == 0 && styles != NULL)
			rc = walk_section(styles, "master-styles", &sink, err);
		meta(&z, res);
	}
	zip_release(&z);
	return rc;
}
