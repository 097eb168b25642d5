/*
 * NAME
 *	extract - type detection, dispatch to a format extractor, normalize
 * DESIGN NOTES
 *	1. The type comes from the bytes (libmagic), never from the name: a
 *	   JPEG called x.pdf is unsupported_type. Two refinements of
 *	   libmagic's answer, both from content: a ZIP whose members name an
 *	   OOXML or ODF document is that document (some writers put
 *	   [Content_Types].xml late and libmagic only sees application/zip),
 *	   text/plain that opens with an RFC 5322 header block naming
 *	   From/To/Subject/Date is an e-mail, text/plain that is markup from
 *	   its first to its last character is HTML (when it closes an HTML
 *	   block element) or XML (libmagic wants "<html" or "<?xml" at the
 *	   start, which fragments and declaration-less XML lack), and
 *	   "data" whose bytes are
 *	   zero at every other position is UTF-16 text without a byte order
 *	   mark (libmagic only knows UTF-16 with one; ICU's detector in the
 *	   TXT extractor then names the byte order).
 *	2. The dispatch table is the one place that knows which formats
 *	   exist. HTML and XML rows come before the "text/" catch-all, so
 *	   markup is never read as plain text (scripts and all).
 *	3. extract_file() never follows a symlink (O_NOFOLLOW) and only reads
 *	   regular files: a FIFO or device in the inbox cannot block or feed
 *	   a worker forever. The size is checked on the descriptor (fstat),
 *	   so a file swapped after a name check cannot slip past the cap.
 *	4. While an extractor runs, page_start[] holds page ENDS
 *	   (extract_page_break); finish() turns them into starts for
 *	   normalize_text(), which writes the final starts back.
 *	5. A document whose normalized text is empty fails no_text_layer: an
 *	   image-only scan is never an empty success.
 *	6. The libmagic cookie is process state, loaded once before the
 *	   sandbox (extract_init); extract_buffer() loads it on first use for
 *	   the command line and the tests, where no sandbox is in the way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <magic.h>

#include "stages/extract.h"
#include "stages/normalize.h"

typedef int (*extract_fn)(const unsigned char *, size_t,
			  const struct extract_limits *,
			  struct extract_result *, struct dk_err *);

struct format {
	const char *mime;	/* exact type, or a prefix ending in '/' */
	const char *name;
	extract_fn fn;
	unsigned norm_flags;
};

/*
 * ---- DISPATCH TABLE (note 2): one row per MIME type --------------------
 * A new format is one row here and one extract_<fmt> in extract.h.
 * First match wins; "text/" (any other text) stays last.
 */
static const struct format formats[] = {
	{ "application/pdf", "pdf", extract_pdf, NORMALIZE_PDF },
	{ "text/html", "html", extract_html, 0 },
	{ "application/xhtml+xml", "html", extract_html, 0 },
	{ "text/xml", "xml", extract_xml, 0 },
	{ "application/xml", "xml", extract_xml, 0 },
	{ "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
	  extract_docx, 0 },
	{ "application/vnd.oasis.opendocument.text", "odt", extract_odt, 0 },
	{ "message/rfc822", "eml", extract_eml, 0 },
	{ "message/news", "eml", extract_eml, 0 },
	{ "text/plain", "txt", extract_txt, 0 },
	{ "text/", "txt", extract_txt, 0 },
};
/* ---- end of dispatch table ----------------------------------------------- */

static magic_t magic_cookie;

/* extract_limits_default - the limits used when the config says nothing (pipeline/config.c's defaults) */
void extract_limits_default(struct extract_limits *lim)
{
	lim->max_input_bytes = (size_t)256 << 20;
	lim->max_text_bytes = (size_t)64 << 20;
	lim->max_member_bytes = (size_t)256 << 20;
	lim->max_total_bytes = (size_t)1 << 30;
	lim->max_pages = 5000;
	lim->max_children = 100;
}

/* extract_init - load the libmagic database (note 6) */
int extract_init(struct dk_err *err)
{
	if (magic_cookie)
		return 0;
	magic_cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
	if (magic_cookie == NULL)
		return dk_err_set(err, DK_ENOMEM, "cannot start libmagic: %s", strerror(errno));
	if (magic_load(magic_cookie, NULL) != 0) {
		int rc = dk_err_set(err, DK_ECONFIG, "cannot load the libmagic database: %s",
				    magic_error(magic_cookie));
		magic_close(magic_cookie);
		magic_cookie = NULL;
		return rc;
	}
	return 0;
}

/* extract_result_init - empty result whose text is capped at lim->max_text_bytes */
void extract_result_init(struct extract_result *res, const struct extract_limits *lim)
{
	memset(res, 0, sizeof *res);
	dk_buf_init(&res->text, lim->max_text_bytes);
}

/* extract_result_release - free everything, leave an empty result with the same cap */
void extract_result_release(struct extract_result *res)
{
	size_t cap = res->text.cap;

	dk_buf_release(&res->text);
	free(res->page_start);
	free(res->title);
	free(res->author);
	free(res->source_charset);
	for (size_t i = 0; i < res->n_children; i++) {
		free(res->children[i].name);
		free(res->children[i].data);
	}
	free(res->children);
	memset(res, 0, sizeof *res);
	dk_buf_init(&res->text, cap);
}

/* extract_page_break - record the end of the page just appended (note 4) */
int extract_page_break(struct extract_result *res)
{
	if ((size_t)res->pages == res->page_alloc) {
		size_t na = res->page_alloc ? res->page_alloc * 2 : 16;
		size_t *np = realloc(res->page_start, na * sizeof *np);

		if (np == NULL)
			return DK_ENOMEM;
		res->page_start = np;
		res->page_alloc = na;
	}
	res->page_start[res->pages++] = res->text.len;
	return 0;
}

/* extract_add_child - keep a copy of an attachment */
int extract_add_child(struct extract_result *res, const char *name,
		      const unsigned char *data, size_t len)
{
	struct extract_child *c;

	if (res->n_children == res->child_alloc) {
		size_t na = res->child_alloc ? res->child_alloc * 2 : 4;
		struct extract_child *nc = realloc(res->children, na * sizeof *nc);

		if (nc == NULL)
			return DK_ENOMEM;
		res->children = nc;
		res->child_alloc = na;
	}
	c = &res->children[res->n_children];
	c->name = strdup(name ? name : "");
	c->data = malloc(len ? len : 1);
	c->len = len;
	if (c->name == NULL || c->data == NULL) {
		free(c->name);
		free(c->data);
		return DK_ENOMEM;
	}
	memcpy(c->data, data, len);
	res->n_children++;
	return 0;
}

/* zip_kind - the document type a ZIP's members name, or NULL (note 1) */
static const char *zip_kind(const unsigned char *d, size_t len)
{
	static const char odt[] = "application/vnd.oasis.opendocument.text";
	size_t head = len < 65536 ? len : 65536, name, data;

	if (len < 30 || memcmp(d, "PK\3\4", 4) != 0)
		return NULL;
	/* ODF: a first member "mimetype", stored, naming the type */
	name = (size_t)d[26] | (size_t)d[27] << 8;
	data = 30 + name + ((size_t)d[28] | (size_t)d[29] << 8);
	if (name == 8 && memcmp(d + 30, "mimetype", 8) == 0 && data + sizeof odt - 1 <= len &&
	    memcmp(d + data, odt, sizeof odt - 1) == 0)
		return odt;
	if (memmem(d, head, "word/document.xml", 17))
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
	return NULL;
}

/* header_name - length of an RFC 5322 field name ending in ':' at s, or 0 */
static size_t header_name(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 76 && s[i] > ' ' && s[i] < 127 && s[i] != ':')
		i++;
	return i > 0 && i < n && s[i] == ':' ? i : 0;
}

/* looks_like_mail - a header block up to the first blank line, with mail fields */
static int looks_like_mail(const unsigned char *d, size_t len)
{
	static const char *const key[] = { "from", "to", "subject", "date", "message-id" };
	size_t i = 0, n = len < 65536 ? len : 65536;
	int fields = 0, keys = 0;

	while (i < n && d[i] != '\n' && d[i] != '\r') {
		const unsigned char *nl;
		size_t h = header_name(d + i, n - i);

		if (h == 0 && d[i] != ' ' && d[i] != '\t')
			return 0;	/* neither a field nor a folded continuation */
		for (size_t k = 0; h && k < sizeof key / sizeof key[0]; k++)
			keys += strlen(key[k]) == h && strncasecmp((const char *)d + i, key[k], h) == 0;
		fields += h > 0;
		nl = memchr(d + i, '\n', n - i);
		if (nl == NULL)
			return 0;
		i = (size_t)(nl - d) + 1;
	}
	return fields >= 3 && keys >= 2;
}

/* bom_less_utf16 - zero bytes at one parity only, as mostly-Latin UTF-16 has (note 1) */
static int bom_less_utf16(const unsigned char *d, size_t len)
{
	size_t n = (len < 4096 ? len : 4096) & ~(size_t)1, zero[2] = { 0, 0 };

	if (n < 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		zero[i & 1] += d[i] == 0;
	return (zero[0] * 10 >= n * 3 && zero[1] == 0) || (zero[1] * 10 >= n * 3 && zero[0] == 0);
}

/* markup_kind - HTML or XML for text that is markup end to end, or NULL (note 1) */
static const char *markup_kind(const unsigned char *d, size_t len)
{
	static const char *const html[] = { "</p>", "</div>", "</td>", "</li>", "<br", "</a>",
					     "</span>", "</h1>", "</table>", "</body>" };
	size_t a = 0, b = len, head = len < 4096 ? len : 4096;
	char low[4097];

	if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
		a = 3;
	while (a < len && strchr(" \t\r\n", d[a]))
		a++;
	while (b > a && strchr(" \t\r\n", d[b - 1]))
		b--;
	if (b - a < 7 || d[a] != '<' || d[b - 1] != '>' || !(g_ascii_isalpha(d[a + 1]) || d[a + 1] == '!'))
		return NULL;
	for (size_t i = 0; i < head; i++)
		low[i] = d[i] ? g_ascii_tolower((char)d[i]) : ' ';
	low[head] = 0;
	for (size_t i = 0; i < sizeof html / sizeof html[0]; i++)
		if (strstr(low, html[i]))
			return "text/html";
	return "application/xml";
}

/* sniff - the MIME type of data (note 1) */
static int sniff(const unsigned char *data, size_t len, char *mime, size_t size,
		 struct dk_err *err)
{
	const char *m;
	int rc;

	if ((rc = extract_init(err)) != 0)
		return rc;
	m = magic_buffer(magic_cookie, data, len);
	if (m == NULL)
		return dk_err_set(err, DK_EIO, "cannot identify the file type: %s",
				  magic_error(magic_cookie));
	if (strcmp(m, "application/zip") == 0 || strcmp(m, "application/octet-stream") == 0) {
		const char *z = zip_kind(data, len);

		if (z)
			m = z;
		else if (strcmp(m, "application/octet-stream") == 0 && bom_less_utf16(data, len))
			m = "text/plain";
	} else if (strcmp(m, "text/plain") == 0) {
		const char *k = looks_like_mail(data, len) ? "message/rfc822" : markup_kind(data, len);

		m = k ? k : m;
	}
	snprintf(mime, size, "%s", m);
	return 0;
}

/* find_format - the dispatch row for a MIME type, or NULL */
static const struct format *find_format(const char *mime)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		size_t n = strlen(formats[i].mime);

		if (formats[i].mime[n - 1] == '/' ? strncmp(mime, formats[i].mime, n) == 0
						   : strcmp(mime, formats[i].mime) == 0)
			return &formats[i];
	}
	return NULL;
}

/* finish - normalize the raw text in place (notes 4 and 5) */
static int finish(struct extract_result *res, unsigned flags, struct dk_err *err)
{
	struct dk_buf raw = res->text;
	int rc;

	for (int p = res->pages - 1; p >= 0; p--)
		res->page_start[p] = p ? res->page_start[p - 1] : 0;
	dk_buf_init(&res->text, raw.cap);
	rc = normalize_text(raw.buf, raw.len, res->page_start, res->pages, flags,
			    &res->text, res->page_start, err);
	dk_buf_release(&raw);
	if (rc == 0 && res->text.len == 0)
		rc = dk_err_setx(err, DK_EFORMAT, "no_text_layer",
				 "the %s document has no text layer", res->format);
	return rc;
}

/* extract_buffer - identify, extract and normalize bytes already in memory */
int extract_buffer(const unsigned char *data, size_t len,
		   const struct extract_limits *lim,
		   struct extract_result *res, struct dk_err *err)
{
	const struct format *f;
	int rc;

	if (len == 0)
		return dk_err_setx(err, DK_EFORMAT, "empty_file", "the file is empty");
	if (len > lim->max_input_bytes)
		return dk_err_setx(err, DK_ELIMIT, "too_large",
				   "the file has %zu bytes, more than the limit of %zu",
				   len, lim->max_input_bytes);
	if ((rc = sniff(data, len, res->mime, sizeof res->mime, err)) != 0)
		return rc;
	if ((f = find_format(res->mime)) == NULL)
		return dk_err_setx(err, DK_EUNSUPPORTED, "unsupported_type",
				   "unsupported file type '%s'", res->mime);
	res->format = f->name;
	if ((rc = f->fn(data, len, lim, res, err)) != 0)
		return rc;
	return finish(res, f->norm_flags, err);
}

/* read_all - the whole of fd, whose size fstat gave as size */
static int read_all(int fd, const char *path, size_t size, unsigned char **out,
		    struct dk_err *err)
{
	unsigned char *data = malloc(size + 1);
	size_t got = 0;

	if (data == NULL)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory",
				   "cannot allocate %zu bytes for '%s'", size, path);
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(data);
			return dk_err_setx(err, DK_EIO, "io_error", "cannot read '%s': %s", path,
					   n < 0 ? strerror(errno) : "file shrank while reading");
		}
		got += (size_t)n;
	}
	*out = data;
	return 0;
}

/* extract_file - open path safely (note 3) and extract it */
int extract_file(const char *path, const struct extract_limits *lim,
		 struct extract_result *res, struct dk_err *err)
{
	unsigned char *data = NULL;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return dk_err_setx(err, DK_EPERM, "refused", "refusing to follow the symlink '%s'", path);
	if (fd < 0)
		return dk_err_setx(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO, "io_error",
				   "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = dk_err_setx(err, DK_EIO, "io_error", "cannot stat '%s': %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = dk_err_setx(err, DK_EPERM, "refused", "'%s' is not a regular file", path);
	} else if (st.st_size == 0) {
		rc = dk_err_setx(err, DK_EFORMAT, "empty_file", "'%s' is empty", path);
	} else if ((unsigned long long)st.st_size > lim->max_input_bytes) {
		rc = dk_err_setx(err, DK_ELIMIT, "too_large",
				 "'%s' has %lld bytes, more than the limit of %zu",
				 path, (long long)st.st_size, lim->max_input_bytes);
	} else {
		rc = read_all(fd, path, (size_t)st.st_size, &data, err);
	}
	close(fd);
	if (rc == 0)
		rc = extract_buffer(data, (size_t)st.st_size, lim, res, err);
	free(data);
	return rc;
}
