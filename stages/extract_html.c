/*
 * NAME
 *	extract_html - text of an HTML document (libxml2's HTML parser)
 * DESIGN NOTES
 *	1. The parser runs with HTML_PARSE_NONET (no fetching of anything),
 *	   RECOVER (real-world tag soup), NOERROR/NOWARNING (no output). It
 *	   decodes entities, and picks the charset from a BOM or a meta tag;
 *	   undeclared non-UTF-8 input falls back to ISO-8859-1 inside libxml2.
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

#include <libxml/HTMLparser.h>

#include "stages/tsink.h"
#include "stages/xmlwalk.h"

#define META_MAX 1024

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
