/*
 * NAME
 *	dk_log - one line per event on stderr
 * SUMMARY
 *	log_info/log_warn/log_error print "docket[PID]: LEVEL: text" with
 *	key=value pairs written by the caller. Under systemd (JOURNAL_STREAM
 *	set) each line starts with a journald priority prefix "<N>" instead.
 *	Never log document text: ids, stages and counts only.
 * THREADS
 *	Safe: each line is one write(2).
 */
#ifndef DK_LOG_H
#define DK_LOG_H

enum dk_log_level { DK_LOG_ERROR = 3, DK_LOG_WARN = 4, DK_LOG_INFO = 6, DK_LOG_DEBUG = 7 };

/* dk_log_init - program name for the prefix and the most verbose level shown */
void dk_log_init(const char *progname, enum dk_log_level max_level);
void dk_log(enum dk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) dk_log(DK_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) dk_log(DK_LOG_WARN, __VA_ARGS__)
#define log_info(...) dk_log(DK_LOG_INFO, __VA_ARGS__)
#define log_debug(...) dk_log(DK_LOG_DEBUG, __VA_ARGS__)

#endif
