/*
 * NAME
 *	extract - identify a file by its content and extract normalized text
 * SUMMARY
 *	extract_file() reads one file (never following a symlink), asks
 *	libmagic what it is, runs the matching format extractor and then
 *	normalize (stages/normalize.h). The result's text is exactly what the
 *	store keeps and what every later entity offset refers to.
 *
 *	Format extractors (stages/extract_<fmt>.c) share one signature:
 *	    int extract_<fmt>(const unsigned char *data, size_t len,
 *	                      const struct extract_limits *lim,
 *	                      struct extract_result *res, struct dk_err *err);
 *	They append raw UTF-8 text to res->text, call extract_page_break()
 *	after each page (paged formats only), separate paragraphs with a blank
 *	line ("\n\n"), fill metadata and, for containers (EML), children.
 *	Normalization happens after them, in extract_file()/extract_buffer().
 *	While an extractor runs, page_start[i] holds the END of page i (what
 *	extract_page_break() recorded); extract_buffer() turns the ends into
 *	starts when it normalizes. A raw text that outgrows the cap makes
 *	dk_buf return DK_ENOMEM: extractors report it as slug text_too_large.
 * OWNERSHIP
 *	struct extract_result is caller storage; extract_result_release() frees
 *	everything it points at. Child data buffers belong to the result.
 * LIFETIME
 *	Valid until extract_result_release().
 * THREADS
 *	One document per process is the design (workers are sandboxed
 *	processes); extract_init() must run once before the sandbox is entered
 *	because it loads the libmagic database.
 * ERRORS
 *	0 or a negative DK_E* code with err->slug set to one of:
 *	empty_file, too_large, unsupported_type, encrypted_pdf, corrupt_pdf,
 *	malformed_xml, entity_expansion (XML billion laughs or expansion past
 *	its budget), malformed_html, corrupt_zip, zip_bomb, encrypted_document
 *	(password-protected ODT), malformed_email,
 *	bad_encoding, no_text_layer, text_too_large, io_error, refused (symlink,
 *	not a regular file), out_of_memory.
 */
#ifndef DK_EXTRACT_H
#define DK_EXTRACT_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

struct extract_limits {
	size_t max_input_bytes;		/* larger files fail with too_large */
	size_t max_text_bytes;		/* extracted text cap (text_too_large) */
	size_t max_member_bytes;	/* one ZIP member, decompressed (zip_bomb) */
	size_t max_total_bytes;		/* all ZIP members together (zip_bomb) */
	int max_pages;			/* PDF pages processed at most */
	int max_children;		/* EML attachments kept at most */
};

/* extract_limits_default - the limits used when the config says nothing */
void extract_limits_default(struct extract_limits *lim);

struct extract_child {
	char *name;			/* attachment file name as sent, UTF-8 */
	unsigned char *data;		/* decoded bytes, owned by the result */
	size_t len;
};

struct extract_result {
	char mime[128];			/* libmagic's MIME type */
	const char *format;		/* "pdf", "html", "xml", "docx", "odt", "eml", "txt" */
	int pages;			/* page count, 0 for unpaged formats */
	struct dk_buf text;		/* UTF-8, NFC, normalized (see normalize.h) */
	size_t *page_start;		/* (pages) byte offset of each page in text */
	char *title;			/* metadata or NULL */
	char *author;			/* metadata or NULL */
	char *source_charset;		/* TXT/EML: charset converted from, or NULL */
	struct extract_child *children;	/* (n_children) EML attachments */
	size_t n_children;
	size_t page_alloc, child_alloc;	/* internal: allocation sizes */
};

/* extract_init - load the libmagic database; call before sandboxing */
int extract_init(struct dk_err *err);

/* extract_result_init - empty result whose text is capped at lim->max_text_bytes */
void extract_result_init(struct extract_result *res, const struct extract_limits *lim);
void extract_result_release(struct extract_result *res);

/* extract_file - open path (O_NOFOLLOW, regular file) and extract it */
int extract_file(const char *path, const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err);

/* extract_buffer - the same for bytes already in memory */
int extract_buffer(const unsigned char *data, size_t len,
		   const struct extract_limits *lim,
		   struct extract_result *res, struct dk_err *err);

/* extract_page_break - for extractors: the page that was just appended ends here */
int extract_page_break(struct extract_result *res);

/* extract_add_child - for extractors: keep a copy of an attachment */
int extract_add_child(struct extract_result *res, const char *name,
		      const unsigned char *data, size_t len);

/*
 * Format extractors, one per stages/extract_<fmt>.c, called by the
 * dispatch table in stages/extract.c only (see SUMMARY above).
 */
int extract_pdf(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err);
int extract_txt(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err);
int extract_html(const unsigned char *data, size_t len,
		 const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err);
int extract_xml(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err);
int extract_docx(const unsigned char *data, size_t len,
		 const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err);
int extract_odt(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err);
int extract_eml(const unsigned char *data, size_t len,
		const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err);

#endif
