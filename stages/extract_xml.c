/*
 * NAME
 *	extract_xml - text of a generic XML document
 * DESIGN NOTES
 *	1. Parsing is xmlwalk_parse(): no network, no DTD, no external
 *	   entities; an XXE declaration is parsed and its entity is left
 *	   unresolved (its reference contributes no text).
 *	2. Entity expansion policy: billion laughs fails while parsing, and
 *	   expansion past the walker's budget fails while walking, both with
 *	   slug entity_expansion (DK_ELIMIT). Internal entities within the
 *	   budget are expanded, since they are part of the document's text.
 *	3. One paragraph per element that directly holds text; its whole
 *	   content (mixed content such as <p>a <b>b</b></p> included) stays in
 *	   that one paragraph. Comments and processing instructions are not
 *	   text; neither are attributes, except on an empty leaf element
 *	   (<Date value="2025-03-04"/>), where they are the only data there
 *	   is: their values form one paragraph (xsi: and xml: ones excepted,
 *	   each value capped at ATTR_MAX bytes).
 *	4. XHTML (root element html, which libmagic calls text/xml) goes to
 *	   the HTML extractor instead: its scripts and styles are not text,
 *	   and its named entities (&nbsp;, &uuml;) live in a DTD we never
 *	   load, so the XML parser would drop them. An XML parse failure of a
 *	   document that names <html near its start takes the same route.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stages/extract.h"
#include "stages/extract_html.h"
#include "stages/tsink.h"
#include "stages/xmlwalk.h"

#define ATTR_MAX 1024

/* holds_text - el has a non-blank text, CDATA or entity child (note 3) */
static int holds_text(const xmlNode *el)
{
	for (const xmlNode *c = el->children; c != NULL; c = c->next) {
		if (c->type == XML_ENTITY_REF_NODE)
			return 1;
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
		    c->content != NULL && !xmlIsBlankNode(c))
			return 1;
	}
	return 0;
}

/* attr_values - the values of an empty leaf's attributes as one paragraph (note 3) */
static void attr_values(struct tsink *sink, xmlNode *el)
{
	static const char xsi[] = "http://www.w3.org/2001/XMLSchema-instance";

	tsink_sep(sink, TSINK_PARA);
	for (xmlAttr *a = el->properties; a != NULL; a = a->next) {
		char *v;

		if (a->ns != NULL && a->ns->href != NULL &&
		    (strcmp((const char *)a->ns->href, xsi) == 0 ||
		     xmlStrEqual(a->ns->href, XML_XML_NAMESPACE)))
			continue;
		v = xmlwalk_string((xmlNode *)a, ATTR_MAX);
		if (v != NULL) {
			tsink_sep(sink, TSINK_SPACE);
			tsink_text(sink, v, strlen(v));
			free(v);
		}
	}
	tsink_sep(sink, TSINK_PARA);
}

/* classify - a text-holding element is one flattened paragraph (note 3) */
static enum xmlwalk_action classify(struct xmlwalk *w, xmlNode *el)
{
	if (el->children == NULL && el->properties != NULL) {
		attr_values(w->sink, el);
		return XW_SKIP;
	}
	return holds_text(el) ? XW_FLAT : XW_PARA;
}

/* looks_html - "<html" among the first bytes (note 4) */
static int looks_html(const unsigned char *data, size_t len)
{
	size_t n = len < 4096 ? len : 4096;

	for (size_t i = 0; i + 5 <= n; i++)
		if (data[i] == '<' && g_ascii_strncasecmp((const char *)data + i + 1, "html", 4) == 0)
			return 1;
	return 0;
}

/* extract_xml - the format extractor (extract.h) */
int extract_xml(const unsigned char *data, size_t len, const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err)
{
	struct tsink sink;
	struct xmlwalk w;
	xmlDoc *doc;
	int rc;

	rc = xmlwalk_parse(data, len, "xml document", &doc, err);
	if (rc == DK_EFORMAT && looks_html(data, len))
		return extract_html(data, len, lim, res, err);
	if (rc != 0)
		return rc;
	if (xmlwalk_is(xmlDocGetRootElement(doc), "html")) {
		xmlFreeDoc(doc);
		return extract_html(data, len, lim, res, err);
	}
	tsink_init(&sink, &res->text);
	xmlwalk_init(&w, &sink, classify, NULL, 1, len);
	rc = xmlwalk_run(&w, xmlDocGetRootElement(doc), err);
	xmlFreeDoc(doc);
	return rc;
}
