/*
 * NAME
 *	zip - read chosen members of a ZIP container under decompression caps
 * SUMMARY
 *	zip_read() opens a ZIP held in memory with libarchive and decompresses
 *	the members for which want() says yes, counting the bytes as they come
 *	out: one member past lim->max_member_bytes, or all of them together
 *	past lim->max_total_bytes, fails with zip_bomb. Declared sizes are
 *	never trusted. Members not wanted are skipped without decompression.
 *	Independently of the caps, an archive whose read members inflate to
 *	more than ZIP_RATIO_FLOOR bytes and more than ZIP_MAX_RATIO times the
 *	whole archive's size is a zip_bomb: no office document compresses
 *	like that, and the configured caps may be generous.
 *	More than ZIP_MAX_MEMBERS entries fails with zip_bomb as well.
 *	zip_find() looks a member up by its exact name.
 * OWNERSHIP
 *	struct zip is caller storage; zip_release() frees every member name
 *	and data buffer. data passed to zip_read() is borrowed during the call.
 * LIFETIME
 *	Members stay valid until zip_release().
 * THREADS
 *	Per-object.
 * ERRORS
 *	DK_EFORMAT corrupt_zip (not a ZIP, truncated, bad data),
 *	DK_ELIMIT zip_bomb, DK_ENOMEM out_of_memory.
 */
#ifndef DK_ZIP_H
#define DK_ZIP_H

#include <stddef.h>

#include "stages/extract.h"
#include "util/dk_err.h"

#define ZIP_MAX_MEMBERS 10000
#define ZIP_MAX_RATIO 100
#define ZIP_RATIO_FLOOR ((size_t)16 << 20)

struct zip_member {
	char *name;		/* path inside the archive, as stored */
	unsigned char *data;	/* decompressed bytes, NUL-terminated */
	size_t len;
};

struct zip {
	struct zip_member *members;	/* (n) in archive order */
	size_t n, alloc;
	size_t total;			/* decompressed bytes of all members read */
	size_t in_len;			/* compressed size of the whole archive */
};

#define ZIP_INIT { NULL, 0, 0, 0, 0 }

/* zip_want_fn - nonzero when the member called name should be read */
typedef int (*zip_want_fn)(const char *name, void *ctx);

/* zip_read - read the wanted members of the ZIP in data[0..len) */
int zip_read(struct zip *z, const unsigned char *data, size_t len,
	     const struct extract_limits *lim, zip_want_fn want, void *ctx,
	     struct dk_err *err);

/* zip_find - the member with exactly this name, or NULL */
const struct zip_member *zip_find(const struct zip *z, const char *name);

/* zip_release - free all members */
void zip_release(struct zip *z);

#endif
