/*
 * NAME
 *	dk_log - stderr logging with journald priorities
 * DESIGN NOTES
 *	The line is formatted into a stack buffer and written with one
 *	write(2), so lines from concurrent processes sharing stderr never
 *	interleave mid-line (writes up to PIPE_BUF are atomic on pipes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/dk_log.h"

static const char *log_prog = "docket";
static enum dk_log_level log_max = DK_LOG_INFO;
static int log_journal = -1;	/* -1: not yet looked at */

/* dk_log_init - set program name and verbosity */
void dk_log_init(const char *progname, enum dk_log_level max_level)
{
	log_prog = progname;
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *level_name(enum dk_log_level level)
{
	switch (level) {
	case DK_LOG_ERROR: return "error";
	case DK_LOG_WARN: return "warning";
	case DK_LOG_INFO: return "info";
	case DK_LOG_DEBUG: return "debug";
	}
	return "info";
}

/* dk_log - print one line */
void dk_log(enum dk_log_level level, const char *fmt, ...)
{
	char line[1024];
	size_t n;
	int k;
	va_list ap;

	if (level > log_max)
		return;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (log_journal)
		k = snprintf(line, sizeof line, "<%d>%s: ", (int)level, level_name(level));
	else
		k = snprintf(line, sizeof line, "%s[%ld]: %s: ", log_prog,
			     (long)getpid(), level_name(level));
	n = k < 0 ? 0 : (size_t)k;
	va_start(ap, fmt);
	if (n < sizeof line)
		vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;	/* nowhere left to report a failed log write */
}
