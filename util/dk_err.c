/*
 * NAME
 *	dk_err - error recording and mapping
 * DESCRIPTION
 *	Messages are formatted into fixed buffers and truncated, never
 *	allocated, so recording an out-of-memory error cannot itself fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "util/dk_err.h"

static void vset(struct dk_err *err, int code, const char *slug,
		 const char *fmt, va_list ap)
{
	err->code = code;
	snprintf(err->slug, sizeof err->slug, "%s", slug ? slug : dk_err_slug(code));
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

/* dk_err_set - record code and message */
int dk_err_set(struct dk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

/* dk_err_setx - record code, explicit slug and message */
int dk_err_setx(struct dk_err *err, int code, const char *slug,
		const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vset(err, code, slug, fmt, ap);
	va_end(ap);
	return code;
}

/* dk_err_clear - reset to success */
void dk_err_clear(struct dk_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->slug[0] = 0;
	err->msg[0] = 0;
}

/* dk_err_slug - default slug for a code */
const char *dk_err_slug(int code)
{
	switch (code) {
	case DK_OK: return "ok";
	case DK_EINVAL: return "invalid_argument";
	case DK_EIO: return "io_error";
	case DK_ENOMEM: return "out_of_memory";
	case DK_EFORMAT: return "malformed_input";
	case DK_EUNSUPPORTED: return "unsupported";
	case DK_ENOTFOUND: return "not_found";
	case DK_ELIMIT: return "limit_exceeded";
	case DK_ETIMEOUT: return "timeout";
	case DK_ECRASH: return "worker_crashed";
	case DK_ECONFIG: return "bad_config";
	case DK_ECORRUPT: return "corrupt_store";
	case DK_EPERM: return "refused";
	case DK_EAGAIN: return "try_again";
	}
	return "error";
}

/* dk_err_sysexit - map a code to a sysexits.h exit status */
int dk_err_sysexit(int code)
{
	switch (code) {
	case DK_OK: return EX_OK;
	case DK_EINVAL: return EX_USAGE;
	case DK_EFORMAT: return EX_DATAERR;
	case DK_ENOTFOUND: return EX_NOINPUT;
	case DK_ENOMEM: return EX_OSERR;
	case DK_ECONFIG: return EX_CONFIG;
	case DK_EPERM: return EX_NOPERM;
	case DK_EAGAIN: return EX_TEMPFAIL;
	case DK_EIO: return EX_IOERR;
	case DK_ECORRUPT: return EX_DATAERR;
	case DK_EUNSUPPORTED: return EX_UNAVAILABLE;
	}
	return EX_SOFTWARE;
}
