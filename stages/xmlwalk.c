/*
 * NAME
 *	xmlwalk - hardened libxml2 parsing and a tree walker that writes text
 * DESIGN NOTES
 *	1. Parsing never touches the network or the file system: XML_PARSE_NONET,
 *	   no XML_PARSE_NOENT (entities stay references in the tree), no
 *	   XML_PARSE_DTDLOAD / DTDVALID / XINCLUDE, and an external entity loader
 *	   that refuses every URL, so an XXE declaration pointing at a local file
 *	   is parsed but never read. libxml2 does not load external parsed
 *	   entities without NOENT or DTDVALID; the loader is the second wall.
 *	2. libxml2 (2.9) detects exponential expansion (billion laughs) while
 *	   parsing and fails with XML_ERR_ENTITY_LOOP; we report that as
 *	   entity_expansion. Linear-but-large expansion (one big entity
 *	   referenced many times, "quadratic blowup") parses fine because the
 *	   tree shares one copy; the walker expands internal entities itself and
 *	   charges every expanded byte to expand_left (1 MiB + 4 x input), and
 *	   fails with entity_expansion when it runs out. External entities are
 *	   never expanded (their content was never loaded anyway).
 *	3. The walk is iterative (climbing by parent pointers) because the HTML
 *	   parser imposes no depth limit; only entity expansion recurses, at
 *	   most ENTITY_DEPTH levels deep.
 *	4. XML without a BOM or encoding declaration must be UTF-8; legacy
 *	   exports that are not (Latin-1 data, no declaration) are parsed a
 *	   second time as Windows-1252 rather than rejected.
 *	5. Inside a table cell, paragraphs are separated by a line break and
 *	   end with nothing, so that a row of one-paragraph cells (the DOCX,
 *	   ODT and usual HTML shape) comes out as one tab-separated line.
 *	6. classify() is called on entering and again on leaving an element and
 *	   must answer the same both times; it may write to the sink itself
 *	   (ODT's text:s) and return XW_SKIP.
 */
#include "stages/xmlwalk.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#define ENTITY_DEPTH 8
#define ENTITY_BUDGET_BASE (1u << 20)

/* refuse_loader - external entity loader that loads nothing (note 1) */
static xmlParserInputPtr refuse_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/* xmlwalk_refuse_entities - install the refusing external entity loader */
void xmlwalk_refuse_entities(void)
{
	xmlSetExternalEntityLoader(refuse_loader);
}

/* parse_once - one parse with an optional imposed encoding; libxml2's error code in *code */
static xmlDoc *parse_once(const unsigned char *data, size_t len, const char *encoding,
			  int *code, int *line)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDoc *doc;

	if (ctxt == NULL) {
		*code = XML_ERR_NO_MEMORY;
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, (const char *)data, (int)len, NULL, encoding,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	*code = ctxt->lastError.code;
	*line = ctxt->lastError.line;
	if (doc != NULL && !ctxt->wellFormed) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc == NULL && *code == 0)
		*code = XML_ERR_DOCUMENT_EMPTY;
	return doc;
}

/* undeclared_8bit - not UTF-8, and neither a BOM nor an encoding declaration says what (note 4) */
static int undeclared_8bit(const unsigned char *data, size_t len)
{
	size_t head = len < 256 ? len : 256;

	if (g_utf8_validate((const char *)data, (gssize)len, NULL))
		return 0;
	if (len >= 2 && ((data[0] == 0xfe && data[1] == 0xff) || (data[0] == 0xff && data[1] == 0xfe)))
		return 0;
	return memmem(data, head, "encoding", 8) == NULL;
}

/* xmlwalk_parse - parse data safely */
int xmlwalk_parse(const unsigned char *data, size_t len, const char *what,
		  xmlDoc **out, struct dk_err *err)
{
	int code, line;

	*out = NULL;
	if (len > INT_MAX)
		return dk_err_setx(err, DK_ELIMIT, "too_large", "'%s' is larger than 2 GiB", what);
	xmlwalk_refuse_entities();
	*out = parse_once(data, len, NULL, &code, &line);
	if (*out == NULL && (code == XML_ERR_INVALID_CHAR || code == XML_ERR_INVALID_ENCODING) &&
	    undeclared_8bit(data, len))
		*out = parse_once(data, len, "WINDOWS-1252", &code, &line);
	if (*out != NULL)
		return 0;
	if (code == XML_ERR_ENTITY_LOOP)
		return dk_err_setx(err, DK_ELIMIT, "entity_expansion",
				   "refused entity expansion in '%s'", what);
	if (code == XML_ERR_NO_MEMORY)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory parsing '%s'", what);
	return dk_err_setx(err, DK_EFORMAT, "malformed_xml", "malformed xml in '%s' (line %d, error %d)",
			   what, line, code);
}

/* xmlwalk_init - walker writing into sink */
void xmlwalk_init(struct xmlwalk *w, struct tsink *sink, xmlwalk_classify_fn classify,
		  void *ctx, int text_anywhere, size_t len)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->classify = classify;
	w->ctx = ctx;
	w->text_anywhere = text_anywhere;
	w->expand_left = ENTITY_BUDGET_BASE + (len > (SIZE_MAX - ENTITY_BUDGET_BASE) / 4 ?
					       SIZE_MAX - ENTITY_BUDGET_BASE : 4 * len);
}

/* xmlwalk_is - n is an element with this local name */
int xmlwalk_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

/* action_of - what an element means; inside XW_FLAT everything is inline */
static enum xmlwalk_action action_of(struct xmlwalk *w, xmlNode *n)
{
	if (w->flat != NULL && w->flat != n)
		return XW_INLINE;
	return w->classify ? w->classify(w, n) : XW_INLINE;
}

static int walk(struct xmlwalk *w, xmlNode *root, int depth);

/* text - write a text node; expanded entity text is charged (note 2) */
static int text(struct xmlwalk *w, xmlNode *n, int depth)
{
	size_t len;

	if (n->content == NULL || !(w->text_anywhere || w->in_text))
		return 0;
	len = strlen((const char *)n->content);
	if (depth > 0) {
		if (len > w->expand_left)
			return w->fail = DK_ELIMIT;
		w->expand_left -= len;
	}
	return tsink_text(w->sink, (const char *)n->content, len);
}

/* entity - expand an internal general entity reference (notes 2, 3) */
static int entity(struct xmlwalk *w, xmlNode *ref, int depth)
{
	xmlEntity *ent = (xmlEntity *)ref->children;
	int rc = 0;

	if (ent == NULL || ent->type != XML_ENTITY_DECL ||
	    ent->etype != XML_INTERNAL_GENERAL_ENTITY)
		return 0;
	if (depth >= ENTITY_DEPTH)
		return w->fail = DK_ELIMIT;
	for (xmlNode *c = ent->children; c != NULL && rc == 0; c = c->next)
		rc = walk(w, c, depth + 1);
	return rc;
}

/* para_level - boundary around a paragraph; only between paragraphs in a cell (note 5) */
static int para_level(struct xmlwalk *w, int entering)
{
	if (w->in_cell == 0)
		return TSINK_PARA;
	return entering && w->sink->out->len > w->cell_mark ? TSINK_LINE : TSINK_NONE;
}

/* enter - boundary before n; *down says whether to visit its children */
static int enter(struct xmlwalk *w, xmlNode *n, int depth, int *down)
{
	*down = 0;
	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		return text(w, n, depth);
	case XML_ENTITY_REF_NODE:
		return entity(w, n, depth);
	case XML_ELEMENT_NODE:
		break;
	default:
		return 0;
	}
	switch (action_of(w, n)) {
	case XW_SKIP:
		return 0;
	case XW_LINE:
		tsink_sep(w->sink, TSINK_LINE);
		return 0;
	case XW_TAB:
		tsink_sep(w->sink, TSINK_CELL);
		return 0;
	case XW_PARA:
		tsink_sep(w->sink, para_level(w, 1));
		break;
	case XW_FLAT:
		tsink_sep(w->sink, para_level(w, 1));
		w->flat = n;
		break;
	case XW_PRE:
		tsink_sep(w->sink, para_level(w, 1));
		w->in_pre++;
		w->sink->preserve = 1;
		break;
	case XW_ROW:
		tsink_sep(w->sink, TSINK_LINE);
		break;
	case XW_CELL:
		tsink_sep(w->sink, TSINK_CELL);
		w->in_cell++;
		w->cell_mark = w->sink->out->len;
		break;
	case XW_TEXT:
		w->in_text++;
		break;
	case XW_INLINE:
		break;
	}
	*down = 1;
	return 0;
}

/* leave - boundary after an element that was descended into */
static void leave(struct xmlwalk *w, xmlNode *n)
{
	if (n->type != XML_ELEMENT_NODE)
		return;
	switch (action_of(w, n)) {
	case XW_FLAT:
		w->flat = NULL;
		tsink_sep(w->sink, para_level(w, 0));
		break;
	case XW_PRE:
		if (--w->in_pre == 0)
			w->sink->preserve = 0;
		tsink_sep(w->sink, para_level(w, 0));
		break;
	case XW_PARA:
		tsink_sep(w->sink, para_level(w, 0));
		break;
	case XW_CELL:
		w->in_cell--;
		break;
	case XW_ROW:
		tsink_sep(w->sink, TSINK_LINE);
		break;
	case XW_TEXT:
		w->in_text--;
		break;
	default:
		break;
	}
}

/* walk - root and everything below it, iteratively (note 3) */
static int walk(struct xmlwalk *w, xmlNode *root, int depth)
{
	xmlNode *n = root;
	int down, rc;

	for (;;) {
		rc = enter(w, n, depth, &down);
		if (rc != 0)
			return rc;
		if (down && n->children != NULL) {
			n = n->children;
			continue;
		}
		for (;;) {
			if (down || n->type != XML_ELEMENT_NODE)
				leave(w, n);
			if (n == root)
				return 0;
			if (n->next != NULL) {
				n = n->next;
				break;
			}
			n = n->parent;
			down = 1;
		}
	}
}

/* xmlwalk_run - write the text of first and its following siblings */
int xmlwalk_run(struct xmlwalk *w, xmlNode *first, struct dk_err *err)
{
	int rc = 0;

	for (xmlNode *n = first; n != NULL && rc == 0; n = n->next)
		rc = walk(w, n, 0);
	if (w->fail)
		return dk_err_setx(err, DK_ELIMIT, "entity_expansion",
				   "entity expansion exceeds its budget");
	return rc ? tsink_fail(w->sink, err) : 0;
}

/* xmlwalk_string - text below n, whitespace collapsed, at most max bytes */
char *xmlwalk_string(xmlNode *n, size_t max)
{
	struct dk_buf b;
	struct tsink s;
	struct xmlwalk w;

	dk_buf_init(&b, max);
	tsink_init(&s, &b);
	xmlwalk_init(&w, &s, NULL, NULL, 1, max);
	if (n->children != NULL)
		xmlwalk_run(&w, n->children, NULL);
	if (b.len == 0) {
		dk_buf_release(&b);
		return NULL;
	}
	return dk_buf_detach(&b, NULL);
}
