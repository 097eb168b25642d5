/*
 * NAME
 *	cli - shared plumbing of the store commands (export, list, show, audit)
 * SUMMARY
 *	cli_setup() reads the configuration and the common options (--config,
 *	--db, --set, ...; see config.h) out of argv. cli_open_store() opens
 *	the database named by the configuration, without creating it.
 *	cli_filter_option() recognises the record filters shared by export
 *	and list. cli_fail() prints one error line "docket CMD: message" and
 *	returns the sysexits status for it.
 * OWNERSHIP
 *	cfg and st are caller storage, released with config_release() and
 *	store_close(). Filter fields borrow argv strings.
 * THREADS
 *	Main thread of a command.
 * ERRORS
 *	Functions return 0 or a sysexits.h status (already reported on stderr).
 */
#ifndef DK_CLI_H
#define DK_CLI_H

#include <stdio.h>

#include "pipeline/config.h"
#include "pipeline/query.h"
#include "pipeline/store.h"

/* cli_fail - print "docket CMD: MSG" and map the code to an exit status */
int cli_fail(const char *cmd, const struct dk_err *err);

/* cli_setup - configuration and common options; argv keeps the rest */
int cli_setup(const char *cmd, int *argc, char **argv, struct config *cfg);

/* cli_open_store - open cfg->db, which must exist; migrations are applied */
int cli_open_store(const char *cmd, const struct config *cfg, struct store *st);

/*
 * cli_filter_option - if argv[*i] is --status/--since/--until/--language/
 * --type (with its value, or as --opt=value), store it in f, advance *i
 * past the value and return 1; 0 if not a filter; -1 if the value is missing.
 */
int cli_filter_option(int argc, char **argv, int *i, struct query_filter *f);

extern const char cli_filter_usage[];

/* cli_print_safe - print s with control characters shown as '?' */
void cli_print_safe(FILE *f, const char *s);

#endif
