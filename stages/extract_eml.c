/*
 * NAME
 *	extract_eml - text and attachments of an e-mail message (GMime 3)
 * DESIGN NOTES
 *	1. The text starts with one paragraph of headers (From, To, Cc, Date,
 *	   Subject, decoded), one per line, so the sender and the date are
 *	   in the stored text where entity offsets can point at them.
 *	   Subject becomes the title, From the author.
 *	2. Body: in multipart/alternative the text/plain alternative wins,
 *	   then text/html (through extract_html_enc, already UTF-8), then a
 *	   nested multipart (e.g. multipart/related around the HTML). Other
 *	   multiparts contribute every inline text part, in order.
 *	3. Text parts are converted to UTF-8 by GMime from their declared
 *	   charset; if what comes back is still not UTF-8 (no or wrong charset
 *	   on 8-bit text) it is read as Windows-1252, the commonest undeclared
 *	   charset, and as a last resort invalid bytes become U+FFFD. The
 *	   first body charset is kept in res->source_charset. Header fields use
 *	   the same fallback through the parser options.
 *	4. Parts with Content-Disposition attachment, named non-text parts,
 *	   and message/rfc822 parts (serialized back to bytes, named after
 *	   their subject) become children via extract_add_child(), at most
 *	   lim->max_children; the rest are dropped silently (counted in the
 *	   log line). Unnamed inline non-text parts (logos in
 *	   multipart/related) and S/MIME or PGP signatures (smime.p7s) are
 *	   not documents and are skipped.
 *	5. Header values and attachment names are made valid UTF-8 (invalid
 *	   bytes become U+FFFD): GMime passes undecodable raw bytes through.
 *	6. MIME nesting deeper than MAX_DEPTH is ignored, so our walk is
 *	   bounded whatever GMime accepted.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "stages/extract.h"
#include "stages/extract_html.h"
#include "stages/tsink.h"
#include "util/dk_log.h"

#define MAX_DEPTH 32
#define NAME_MAX_BYTES 200

struct eml {
	const struct extract_limits *lim;
	struct extract_result *res;
	struct tsink sink;
	struct dk_err *err;
	int n_attach, dropped;
};

/* header_line - "Name: value" as one line of the header paragraph (note 1) */
static void header_line(struct eml *e, const char *name, const char *value)
{
	if (value == NULL || value[0] == 0)
		return;
	tsink_sep(&e->sink, TSINK_LINE);
	tsink_text(&e->sink, name, strlen(name));
	tsink_text(&e->sink, ": ", 2);
	tsink_text(&e->sink, value, strlen(value));
}

/* clean - s as valid UTF-8 (GMime passes undecodable header bytes through), or NULL; g_free() it */
static char *clean(const char *s)
{
	return s != NULL && s[0] != 0 ? g_utf8_make_valid(s, -1) : NULL;
}

/* addresses - decoded address list as valid UTF-8, or NULL; g_free() it */
static char *addresses(InternetAddressList *list)
{
	char *raw, *out;

	if (list == NULL || internet_address_list_length(list) == 0)
		return NULL;
	raw = internet_address_list_to_string(list, NULL, FALSE);
	out = clean(raw);
	g_free(raw);
	return out;
}

/* headers - the header paragraph, title and author (note 1) */
static void headers(struct eml *e, GMimeMessage *msg)
{
	char *from = addresses(g_mime_message_get_from(msg));
	char *to = addresses(g_mime_message_get_to(msg));
	char *cc = addresses(g_mime_message_get_cc(msg));
	char *date = clean(g_mime_object_get_header(GMIME_OBJECT(msg), "Date"));
	char *subject = clean(g_mime_message_get_subject(msg));

	header_line(e, "From", from);
	header_line(e, "To", to);
	header_line(e, "Cc", cc);
	header_line(e, "Date", date);
	header_line(e, "Subject", subject);
	tsink_sep(&e->sink, TSINK_PARA);
	if (subject != NULL && e->res->title == NULL)
		e->res->title = strdup(subject);
	if (from != NULL && e->res->author == NULL)
		e->res->author = strdup(from);
	g_free(from);
	g_free(to);
	g_free(cc);
	g_free(date);
	g_free(subject);
}

/* utf8_text - the part's text as valid UTF-8 without CRs (note 3); g_free() it */
static char *utf8_text(GMimeTextPart *part)
{
	char *text = g_mime_text_part_get_text(part), *fixed;
	size_t i, j;

	if (text == NULL)
		return NULL;
	if (!g_utf8_validate(text, -1, NULL)) {
		fixed = g_convert(text, -1, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
		if (fixed == NULL)
			fixed = g_utf8_make_valid(text, -1);
		g_free(text);
		text = fixed;
	}
	for (i = j = 0; text[i] != 0; i++)
		if (text[i] != '\r')
			text[j++] = text[i];
	text[j] = 0;
	return text;
}

/* body_text - append one inline text part (notes 2, 3) */
static int body_text(struct eml *e, GMimeObject *obj, int html)
{
	char *text = utf8_text(GMIME_TEXT_PART(obj));
	const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
	int rc = 0;

	if (text == NULL || g_strstrip(text)[0] == 0) {
		g_free(text);
		return 0;
	}
	if (charset != NULL && e->res->source_charset == NULL)
		e->res->source_charset = strdup(charset);
	if (html) {
		rc = extract_html_enc((const unsigned char *)text, strlen(text), "UTF-8",
				      e->lim, e->res, e->err);
		tsink_init(&e->sink, &e->res->text);
	} else {
		tsink_sep(&e->sink, TSINK_PARA);
		e->sink.preserve = 1;
		tsink_text(&e->sink, text, strlen(text));
		e->sink.preserve = 0;
		tsink_sep(&e->sink, TSINK_PARA);
		rc = tsink_fail(&e->sink, e->err);
	}
	g_free(text);
	return rc;
}

/* add_child - keep bytes as an attachment, within max_children (note 4) */
static int add_child(struct eml *e, const char *name, const unsigned char *data, size_t len)
{
	char fallback[64], *valid = NULL;
	int rc = 0;

	e->n_attach++;
	if (e->res->n_children >= (size_t)(e->lim->max_children > 0 ? e->lim->max_children : 0)) {
		e->dropped++;
		return 0;
	}
	if (data == NULL)
		data = (const unsigned char *)"";	/* empty GByteArray: never memcpy from NULL */
	if (name == NULL || name[0] == 0 || strlen(name) > NAME_MAX_BYTES) {
		snprintf(fallback, sizeof fallback, "attachment-%d", e->n_attach);
		name = fallback;
	} else {
		name = valid = clean(name);
	}
	if (extract_add_child(e->res, name, data, len) != 0)
		rc = dk_err_setx(e->err, DK_ENOMEM, "out_of_memory", "cannot keep attachment '%s'", name);
	g_free(valid);
	return rc;
}

/* child_part - decoded content of a leaf part as a child */
static int child_part(struct eml *e, GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *out;
	GByteArray *bytes;
	int rc;

	if (dw == NULL)
		return 0;
	out = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, out);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	rc = add_child(e, g_mime_part_get_filename(part), bytes->data, bytes->len);
	g_object_unref(out);
	return rc;
}

/* child_message - a message/rfc822 part, serialized, as a child */
static int child_message(struct eml *e, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	const char *subject;
	GMimeStream *out;
	GByteArray *bytes;
	char name[NAME_MAX_BYTES + 8];
	int rc;

	if (inner == NULL)
		return 0;
	subject = g_mime_message_get_subject(inner);
	snprintf(name, sizeof name, "%.*s.eml", NAME_MAX_BYTES - 8,
		 subject && subject[0] ? subject : "message");
	out = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, out);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	rc = add_child(e, name, bytes->data, bytes->len);
	g_object_unref(out);
	return rc;
}

/* is_type - obj has this content type */
static int is_type(GMimeObject *obj, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/* best_alternative - the part of a multipart/alternative we read (note 2) */
static GMimeObject *best_alternative(GMimeMultipart *mp)
{
	GMimeObject *best = NULL;
	int best_score = 0;

	for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
		GMimeObject *p = g_mime_multipart_get_part(mp, i);
		int score = GMIME_IS_MULTIPART(p) ? 1 : 0;

		if (GMIME_IS_TEXT_PART(p) && !g_mime_part_is_attachment(GMIME_PART(p)))
			score = is_type(p, "text", "plain") ? 3 : is_type(p, "text", "html") ? 2 : 0;
		if (score > best_score) {
			best = p;
			best_score = score;
		}
	}
	return best;
}

static int walk(struct eml *e, GMimeObject *obj, int depth);

/* walk_multipart - every part, or the best alternative (note 2) */
static int walk_multipart(struct eml *e, GMimeMultipart *mp, int depth)
{
	int rc = 0;

	if (is_type(GMIME_OBJECT(mp), "multipart", "alternative")) {
		GMimeObject *best = best_alternative(mp);
		return best ? walk(e, best, depth + 1) : 0;
	}
	for (int i = 0; i < g_mime_multipart_get_count(mp) && rc == 0; i++)
		rc = walk(e, g_mime_multipart_get_part(mp, i), depth + 1);
	return rc;
}

/* is_signature - a detached S/MIME or PGP signature (note 4) */
static int is_signature(GMimeObject *obj)
{
	return is_type(obj, "application", "pkcs7-signature") ||
	       is_type(obj, "application", "x-pkcs7-signature") ||
	       is_type(obj, "application", "pgp-signature");
}

/* walk_leaf - a single part: body text, child, or nothing (notes 2, 4) */
static int walk_leaf(struct eml *e, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	int attached = g_mime_part_is_attachment(part);

	if (is_signature(obj))
		return 0;
	if (!attached && GMIME_IS_TEXT_PART(obj) && is_type(obj, "text", "plain"))
		return body_text(e, obj, 0);
	if (!attached && GMIME_IS_TEXT_PART(obj) && is_type(obj, "text", "html"))
		return body_text(e, obj, 1);
	if (attached || g_mime_part_get_filename(part) != NULL)
		return child_part(e, part);
	return 0;
}

/* walk - one MIME object, depth-capped (note 6) */
static int walk(struct eml *e, GMimeObject *obj, int depth)
{
	if (obj == NULL || depth > MAX_DEPTH)
		return 0;
	if (GMIME_IS_MESSAGE_PART(obj))
		return child_message(e, GMIME_MESSAGE_PART(obj));
	if (GMIME_IS_MULTIPART(obj))
		return walk_multipart(e, GMIME_MULTIPART(obj), depth);
	if (GMIME_IS_PART(obj))
		return walk_leaf(e, GMIME_PART(obj));
	return 0;
}

/* parse - the message in data, or NULL (note 3 for the fallback charsets) */
static GMimeMessage *parse(const unsigned char *data, size_t len)
{
	static const char *charsets[] = { "UTF-8", "WINDOWS-1252", NULL };
	GMimeParserOptions *opts = g_mime_parser_options_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;

	g_mime_parser_options_set_fallback_charsets(opts, charsets);
	msg = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(opts);
	return msg;
}

/* extract_eml - the format extractor (extract.h) */
int extract_eml(const unsigned char *data, size_t len, const struct extract_limits *lim,
		struct extract_result *res, struct dk_err *err)
{
	struct eml e = { lim, res, { 0 }, err, 0, 0 };
	GMimeMessage *msg;
	int rc;

	g_mime_init();
	msg = parse(data, len);
	if (msg == NULL)
		return dk_err_setx(err, DK_EFORMAT, "malformed_email", "not a parseable e-mail message");
	tsink_init(&e.sink, &res->text);
	headers(&e, msg);
	rc = tsink_fail(&e.sink, err);
	if (rc == 0)
		rc = walk(&e, g_mime_message_get_mime_part(msg), 0);
	if (e.dropped > 0)
		log_warn("stage=extract format=eml attachments=%d kept=%zu dropped=%d",
			 e.n_attach, res->n_children, e.dropped);
	g_object_unref(msg);
	return rc;
}
