/*
 * NAME
 *	extract_html - text of an HTML document (libxml2's HTML parser)
 * DESIGN NOTES
 *	1. The parser runs with HTML_PARSE_NONET (no fetching of anything),
 *	   RECOVER (real-world tag soup), NOERROR/NOWARNING (no output). It
 *	   decodes entities, and picks the charset from a BOM or a meta tag.
 *	   Without either, libxml2 would assume ISO-8859-1 and garble the
 *	   UTF-8 most such pages are written in: we pass UTF-8 when the bytes
 *	   are valid UTF-8, else Windows-1252 (ISO-8859-1 plus the euro sign
 *	   and typographic quotes, what undeclared 8-bit pages really use).
 *	2. Script, style, iframe, noscript, template, object, embed, the head
 *	   and media fallbacks are dropped with everything inside them: they
 *	   are code or chrome, never the clerk's document.
 *	3. Block elements become paragraphs, table rows lines, cells are
 *	   tab-separated, br a line break, pre keeps its whitespace (tsink).
 *	4. The title and author come from head, which the walk skips.
 */
#include "stages/extract_html.h"

#include <limits.h>
#include <string.h>

#include <glib.h>
#include <libxml/HTMLparser.h>

#include "stages/tsink.h"
#include "stages/xmlwalk.h"

#define META_MAX 1024
#define SNIFF_BYTES 16384

static const char *const skip_tags[] = {
	"script", "style", "iframe", "noscript", "template", "object", "embed",
	"head", "applet", "frame", "frameset", "svg", "canvas", "audio", "video",
	"select", "title", NULL
};
static const char *const para_tags[] = {
	"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt",
	"dd", "li", "blockquote", "section", "article", "header", "footer",
	"nav", "aside", "main", "form", "fieldset", "legend", "address",
	"figure", "figcaption", "table", "caption", "hr", "body", "html",
	"details", "summary", "center", "menu", "hgroup", "option", NULL
};

/* in_list - name is one of the NULL-terminated list */
static int in_list(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

/* classify - what an HTML element means for the text (notes 2, 3) */
static enum xmlwalk_action classify(struct xmlwalk *w, xmlNode *el)
{
	const char *name = (const char *)el->name;

	(void)w;
	if (name == NULL)
		return XW_INLINE;
	if (in_list(name, skip_tags))
		return XW_SKIP;
	if (in_list(name, para_tags))
		return XW_PARA;
	if (strcmp(name, "tr") == 0)
		return XW_ROW;
	if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		return XW_CELL;
	if (strcmp(name, "br") == 0)
		return XW_LINE;
	if (strcmp(name, "pre") == 0 || strcmp(name, "textarea") == 0 ||
	    strcmp(name, "listing") == 0 || strcmp(name, "xmp") == 0)
		return XW_PRE;
	return XW_INLINE;
}

/* meta_author - content of <meta name="author">, or NULL */
static char *meta_author(xmlNode *meta)
{
	xmlChar *name = xmlGetProp(meta, (const xmlChar *)"name");
	xmlChar *content = NULL;
	char *out = NULL;

	if (name != NULL && xmlStrcasecmp(name, (const xmlChar *)"author") == 0)
		content = xmlGetProp(meta, (const xmlChar *)"content");
	if (content != NULL && content[0] != 0 && strlen((const char *)content) < META_MAX)
		out = strdup((const char *)content);
	xmlFree(name);
	xmlFree(content);
	return out;
}

/* head_meta - title and author from the head (note 4) */
static void head_meta(xmlNode *root, struct extract_result *res)
{
	for (xmlNode *h = root ? root->children : NULL; h != NULL; h = h->next) {
		if (!xmlwalk_is(h, "head"))
			continue;
		for (xmlNode *c = h->children; c != NULL; c = c->next) {
			if (res->title == NULL && xmlwalk_is(c, "title"))
				res->title = xmlwalk_string(c, META_MAX);
			else if (res->author == NULL && xmlwalk_is(c, "meta"))
				res->author = meta_author(c);
		}
	}
}

/* declared - a BOM or the word charset near the start: libxml2 will know (note 1) */
static int declared(const unsigned char *d, size_t len)
{
	size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;

	if (n >= 2 && ((d[0] == 0xfe && d[1] == 0xff) || (d[0] == 0xff && d[1] == 0xfe) ||
		       (n >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf)))
		return 1;
	for (size_t i = 0; i + 7 <= n; i++)
		if ((d[i] | 0x20) == 'c' && g_ascii_strncasecmp((const char *)d + i, "charset", 7) == 0)
			return 1;
	return 0;
}

/* guess_encoding - what to impose on an undeclared page, or NULL (note 1) */
static const char *guess_encoding(const unsigned char *d, size_t len)
{
	if (declared(d, len))
		return NULL;
	return g_utf8_validate((const char *)d, (gssize)len, NULL) ? "UTF-8" : "WINDOWS-1252";
}

/* extract_html_enc - HTML text with an optional imposed encoding */
int extract_html_enc(const unsigned char *data, size_t len, const char *encoding,
		     const struct extract_limits *lim, struct extract_result *res,
		     struct dk_err *err)
{
	htmlParserCtxtPtr ctxt;
	htmlDocPtr doc;
	struct tsink sink;
	struct xmlwalk w;
	xmlNode *root;
	int rc;

	(void)lim;
	if (len > INT_MAX)
		return dk_err_setx(err, DK_ELIMIT, "too_large", "html document is larger than 2 GiB");
	xmlwalk_refuse_entities();
	ctxt = htmlNewParserCtxt();
	if (ctxt == NULL)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory", "cannot create html parser");
	if (encoding == NULL)
		encoding = guess_encoding(data, len);
	doc = htmlCtxtReadMemory(ctxt, (const char *)data, (int)len, NULL, encoding,
				 HTML_PARSE_NONET | HTML_PARSE_NOERROR |
				 HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER);
	htmlFreeParserCtxt(ctxt);
	if (doc == NULL)
		return dk_err_setx(err, DK_EFORMAT, "malformed_html", "html document cannot be parsed");
	root = xmlDocGetRootElement(doc);
	head_meta(root, res);
	tsink_init(&sink, &res->text);
	xmlwalk_init(&w, &sink, classify, NULL, 1, len);
	rc = root ? xmlwalk_run(&w, root, err) : 0;
	xmlFreeDoc(doc);
	return rc;
}

/* extract_html - the format extractor (extract.h) */
int extract_html(const unsigned char *data, size_t len, const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err)
{
	return extract_html_enc(data, len, NULL, lim, res, err);
}
