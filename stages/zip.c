/*
 * NAME
 *	zip - read chosen members of a ZIP container under decompression caps
 * DESIGN NOTES
 *	1. Sizes are counted on the decompressed bytes as libarchive hands
 *	   them over, in chunks of at most CHUNK bytes; the member buffer grows
 *	   only after the count was checked against both caps, so a bomb costs
 *	   at most one cap's worth of memory before it is refused. The ratio
 *	   rule (zip.h) is checked at the same point.
 *	2. Unwanted members are skipped with archive_read_data_skip(), which in
 *	   libarchive's seekable ZIP reader moves past the compressed bytes
 *	   without inflating them: they cost nothing and count nothing.
 *	3. Encrypted members are skipped: we have no password, and an office
 *	   document's text part is never encrypted inside a plain ZIP.
 *	4. Only libarchive's seekable ZIP reader is enabled: it trusts the
 *	   central directory, as office suites do. A truncated archive (no
 *	   end-of-central-directory record) is corrupt_zip rather than read
 *	   half-way by the streaming reader from local headers.
 *	5. libarchive's own warnings (ARCHIVE_WARN) are accepted; anything
 *	   worse ends the read as corrupt_zip with libarchive's message.
 */
#include "stages/zip.h"

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/dk_buf.h"

#define CHUNK 65536

/* add_member - append a member taking ownership of name and data */
static int add_member(struct zip *z, const char *name, struct dk_buf *buf)
{
	struct zip_member *m;

	if (z->n == z->alloc) {
		size_t na = z->alloc ? 2 * z->alloc : 8;
		m = realloc(z->members, na * sizeof *m);
		if (m == NULL)
			return DK_ENOMEM;
		z->members = m;
		z->alloc = na;
	}
	m = &z->members[z->n];
	m->name = strdup(name);
	if (m->name == NULL)
		return DK_ENOMEM;
	m->data = (unsigned char *)dk_buf_detach(buf, &m->len);
	z->n++;
	return 0;
}

/* inflate_member - decompress the current member into buf, counting (note 1) */
static int inflate_member(struct zip *z, struct archive *a, const char *name,
			  const struct extract_limits *lim, struct dk_buf *buf,
			  struct dk_err *err)
{
	unsigned char chunk[CHUNK];
	la_ssize_t got;

	while ((got = archive_read_data(a, chunk, sizeof chunk)) > 0) {
		if ((size_t)got > lim->max_member_bytes - buf->len)
			return dk_err_setx(err, DK_ELIMIT, "zip_bomb",
					   "member '%s' inflates past %zu bytes", name,
					   lim->max_member_bytes);
		if ((size_t)got > lim->max_total_bytes - z->total)
			return dk_err_setx(err, DK_ELIMIT, "zip_bomb",
					   "archive inflates past %zu bytes", lim->max_total_bytes);
		z->total += (size_t)got;
		if (z->total > ZIP_RATIO_FLOOR && z->total / ZIP_MAX_RATIO > z->in_len)
			return dk_err_setx(err, DK_ELIMIT, "zip_bomb",
					   "archive of %zu bytes inflates past %d times its size",
					   z->in_len, ZIP_MAX_RATIO);
		if (dk_buf_add(buf, chunk, (size_t)got) != 0)
			return dk_err_setx(err, DK_ENOMEM, "out_of_memory",
					   "out of memory reading member '%s'", name);
	}
	if (got < 0)
		return dk_err_setx(err, DK_EFORMAT, "corrupt_zip", "cannot inflate member '%s': %s",
				   name, archive_error_string(a) ? archive_error_string(a) : "unknown error");
	return 0;
}

/* next_entry - the next header, or 1 at the end (note 4) */
static int next_entry(struct archive *a, struct archive_entry **ent, struct dk_err *err)
{
	int r = archive_read_next_header(a, ent);

	if (r == ARCHIVE_EOF)
		return 1;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 0;
	return dk_err_setx(err, DK_EFORMAT, "corrupt_zip", "cannot read zip directory: %s",
			   archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* read_all - walk the entries, reading the wanted ones */
static int read_all(struct zip *z, struct archive *a, const struct extract_limits *lim,
		    zip_want_fn want, void *ctx, struct dk_err *err)
{
	struct archive_entry *ent;
	struct dk_buf buf = DK_BUF_INIT;
	size_t count = 0;
	int rc;

	while ((rc = next_entry(a, &ent, err)) == 0) {
		const char *name = archive_entry_pathname(ent);

		if (++count > ZIP_MAX_MEMBERS)
			return dk_err_setx(err, DK_ELIMIT, "zip_bomb",
					   "archive holds more than %d members", ZIP_MAX_MEMBERS);
		if (name == NULL || archive_entry_is_encrypted(ent) || !want(name, ctx) ||
		    zip_find(z, name) != NULL)
			continue;	/* notes 2, 3 */
		rc = inflate_member(z, a, name, lim, &buf, err);
		if (rc == 0 && add_member(z, name, &buf) != 0)
			rc = dk_err_setx(err, DK_ENOMEM, "out_of_memory", "out of memory reading zip");
		dk_buf_release(&buf);
		if (rc != 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

/* zip_read - read the wanted members of the ZIP in data[0..len) */
int zip_read(struct zip *z, const unsigned char *data, size_t len,
	     const struct extract_limits *lim, zip_want_fn want, void *ctx,
	     struct dk_err *err)
{
	struct archive *a = archive_read_new();
	int rc;

	if (a == NULL)
		return dk_err_setx(err, DK_ENOMEM, "out_of_memory", "cannot create zip reader");
	z->in_len = len;
	if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		rc = dk_err_setx(err, DK_EFORMAT, "corrupt_zip", "not a readable zip archive: %s",
				 archive_error_string(a) ? archive_error_string(a) : "unknown error");
		archive_read_free(a);
		return rc;
	}
	rc = read_all(z, a, lim, want, ctx, err);
	archive_read_free(a);
	return rc;
}

/* zip_find - the member with exactly this name, or NULL */
const struct zip_member *zip_find(const struct zip *z, const char *name)
{
	for (size_t i = 0; i < z->n; i++)
		if (strcmp(z->members[i].name, name) == 0)
			return &z->members[i];
	return NULL;
}

/* zip_release - free all members */
void zip_release(struct zip *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->members[i].name);
		free(z->members[i].data);
	}
	free(z->members);
	z->members = NULL;
	z->n = z->alloc = z->total = z->in_len = 0;
}
