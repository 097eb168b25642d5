/*
 * NAME
 *	xmlwalk - hardened libxml2 parsing and a tree walker that writes text
 * SUMMARY
 *	xmlwalk_parse() reads one XML document from memory with no network,
 *	no DTD loading, no external entity resolution (an entity loader that
 *	refuses everything is installed for the whole process) and libxml2's
 *	default size and depth limits (no XML_PARSE_HUGE). Exponential entity
 *	expansion is refused by libxml2 itself (entity_expansion); quadratic
 *	expansion is capped by the walker's budget.
 *
 *	xmlwalk_run() walks a subtree without recursion (HTML may nest
 *	without limit) and writes its text into a tsink. A format supplies
 *	a classify callback that says what each element means: paragraph,
 *	table row or cell, line break, tab, text holder, skipped, flattened.
 *	The DOCX, ODT, XML and HTML extractors all use it.
 * OWNERSHIP
 *	xmlwalk_parse() hands the caller an xmlDoc to free with xmlFreeDoc().
 *	xmlwalk_string() returns a malloc'd string the caller frees.
 * LIFETIME
 *	The walker borrows the tree and the sink for the duration of the call.
 * THREADS
 *	Single-thread: libxml2's entity loader is process-global.
 * ERRORS
 *	xmlwalk_parse(): DK_EFORMAT malformed_xml, DK_ELIMIT entity_expansion,
 *	DK_ELIMIT too_large (over 2 GiB), DK_ENOMEM out_of_memory.
 *	xmlwalk_run(): DK_ELIMIT entity_expansion or whatever the sink failed
 *	with (text_too_large, out_of_memory).
 */
#ifndef DK_XMLWALK_H
#define DK_XMLWALK_H

#include <stddef.h>

#include <libxml/tree.h>

#include "stages/tsink.h"
#include "util/dk_err.h"

enum xmlwalk_action {
	XW_INLINE,	/* descend, no boundary (span, b, w:r) */
	XW_SKIP,	/* ignore the element and everything in it */
	XW_PARA,	/* paragraph boundary before and after, descend */
	XW_ROW,		/* table row: line boundary before and after, descend */
	XW_CELL,	/* table cell: cell boundary before, descend */
	XW_LINE,	/* line break (br), no descent */
	XW_TAB,		/* tab, no descent */
	XW_TEXT,	/* its text nodes count even when text_anywhere is 0 */
	XW_PRE,		/* paragraph whose whitespace is kept verbatim */
	XW_FLAT,	/* paragraph holding all text below, unclassified */
};

struct xmlwalk;
typedef enum xmlwalk_action (*xmlwalk_classify_fn)(struct xmlwalk *w, xmlNode *el);

struct xmlwalk {
	struct tsink *sink;
	xmlwalk_classify_fn classify;
	void *ctx;		/* for classify */
	int text_anywhere;	/* 1: every text node counts; 0: only inside XW_TEXT */
	size_t expand_left;	/* bytes internal entities may still add */
	/* internal state */
	int in_text, in_pre, in_cell;
	size_t cell_mark;	/* sink length when the innermost cell began */
	xmlNode *flat;		/* XW_FLAT element being walked, or NULL */
	int fail;		/* DK_ELIMIT once expand_left ran out */
};

/* xmlwalk_parse - parse data safely (see SUMMARY); what names the part in errors */
int xmlwalk_parse(const unsigned char *data, size_t len, const char *what,
		  xmlDoc **out, struct dk_err *err);

/* xmlwalk_init - walker writing into sink, with an entity budget for an input of len bytes */
void xmlwalk_init(struct xmlwalk *w, struct tsink *sink, xmlwalk_classify_fn classify,
		  void *ctx, int text_anywhere, size_t len);

/* xmlwalk_run - write the text of first and its following siblings */
int xmlwalk_run(struct xmlwalk *w, xmlNode *first, struct dk_err *err);

/* xmlwalk_string - text below n, whitespace collapsed, at most max bytes; NULL if blank */
char *xmlwalk_string(xmlNode *n, size_t max);

/* xmlwalk_is - n is an element with this local name (namespace ignored); NULL is not */
int xmlwalk_is(const xmlNode *n, const char *name);

/* xmlwalk_refuse_entities - install the refusing external entity loader */
void xmlwalk_refuse_entities(void);

#endif
