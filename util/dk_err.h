/*
 * NAME
 *	dk_err - one error convention for all of docket
 * SUMMARY
 *	Functions return int: 0 on success or a negative DK_E* code, and fill a
 *	caller-owned struct dk_err with the code, a short machine-readable slug
 *	(what a failed document's error.json calls "code") and one human line.
 * OWNERSHIP
 *	struct dk_err is plain storage owned by the caller; nothing to free.
 * THREADS
 *	Per-object.
 * ERRORS
 *	dk_err_set() returns the code it was given, so callers write
 *	"return dk_err_set(err, DK_EIO, "cannot open '%s': %s", p, strerror(errno));".
 *	A NULL err is accepted and ignored (the code is still returned).
 */
#ifndef DK_ERR_H
#define DK_ERR_H

#include <stddef.h>

enum {
	DK_OK = 0,
	DK_EINVAL = -1,		/* bad argument or usage */
	DK_EIO = -2,		/* system call failed */
	DK_ENOMEM = -3,		/* allocation or byte cap exceeded */
	DK_EFORMAT = -4,	/* malformed input data */
	DK_EUNSUPPORTED = -5,	/* valid input we do not handle */
	DK_ENOTFOUND = -6,	/* no such file, id, key */
	DK_ELIMIT = -7,		/* a configured limit was hit */
	DK_ETIMEOUT = -8,	/* wall clock or CPU limit */
	DK_ECRASH = -9,		/* a worker died */
	DK_ECONFIG = -10,	/* bad configuration */
	DK_ECORRUPT = -11,	/* our own stored data is inconsistent */
	DK_EPERM = -12,		/* refused for safety (symlink, ...) */
	DK_EAGAIN = -13,	/* try later */
};

#define DK_ERR_SLUG_MAX 48
#define DK_ERR_MSG_MAX 512

struct dk_err {
	int code;
	char slug[DK_ERR_SLUG_MAX];	/* e.g. "encrypted_pdf"; default from code */
	char msg[DK_ERR_MSG_MAX];	/* one line, lower case, no final period */
};

#define DK_ERR_INIT { 0, "", "" }

/* dk_err_set - record code and message; slug defaults to dk_err_slug(code) */
int dk_err_set(struct dk_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* dk_err_setx - like dk_err_set with an explicit slug such as "no_text_layer" */
int dk_err_setx(struct dk_err *err, int code, const char *slug,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* dk_err_clear - reset to success */
void dk_err_clear(struct dk_err *err);

/* dk_err_slug - default slug for a code ("io_error", "out_of_memory", ...) */
const char *dk_err_slug(int code);

/* dk_err_sysexit - map a code to a sysexits.h exit status */
int dk_err_sysexit(int code);

/*
 * DK_NEVER(cond) - "cannot happen, recover anyway" (SQLite's NEVER()):
 * asserts in debug builds, evaluates to cond in release builds.
 */
#ifdef NDEBUG
#define DK_NEVER(x) (x)
#else
#include <assert.h>
#define DK_NEVER(x) (assert(!(x)), (x))
#endif

#endif
