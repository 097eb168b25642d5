/*
 * NAME
 *	config - docket's settings: one table, an INI file, command-line overrides
 * SUMMARY
 *	Every setting is one row of a table {key, type, default, field, min,
 *	max} (Postfix's VAR_/DEF_ pairs) and one field of struct config.
 *	Precedence, lowest first: built-in default, the file ([docket] group
 *	of a GKeyFile INI: --config F, else /etc/docket/docket.conf if it
 *	exists), then command-line options in the order given.
 *
 *	A command calls config_setup() first: it reads --config, --db,
 *	--spool, --model, --workers, --threads and --set KEY=VALUE (also
 *	written --opt=value) out of argv, removes them, and leaves the
 *	command's own options in argv.
 *
 *	deploy/docket.conf lists every key with its default; a unit test keeps
 *	it in step with the table.
 * OWNERSHIP
 *	struct config is caller storage; its strings are owned by it and freed
 *	by config_release(). Callers read fields directly and must not free or
 *	keep pointers to its strings past config_release()/config_reload().
 * LIFETIME
 *	From config_init()/config_setup() to config_release(). config_reload()
 *	replaces the strings: pointers taken before it are invalid after it
 *	returns 0 (on error nothing changes).
 * THREADS
 *	Single thread; reload from the main loop, not from a signal handler
 *	(set a flag in the SIGHUP handler, reload in the loop).
 * ERRORS
 *	0 or DK_ECONFIG (unknown key, value not a number, out of range, bad
 *	file syntax), DK_ENOTFOUND (--config file absent), DK_EINVAL (an
 *	option without its value).
 */
#ifndef DK_CONFIG_H
#define DK_CONFIG_H

#include <stddef.h>

#include "stages/extract.h"
#include "util/dk_err.h"

#define CONFIG_DEFAULT_FILE "/etc/docket/docket.conf"
#define CONFIG_GROUP "docket"

struct config {
	char *config_file;		/* file read, NULL if none */

	/* paths */
	char *spool;			/* spool directory: inbox/ work/ done/ failed/ */
	char *db;			/* SQLite results database */
	char *model;			/* GGUF model file, "" = no model stages */
	char *model_sha256;		/* pin: 64 hex, "" = not pinned */
	long llm_ctx;			/* model context positions per sequence */
	long llm_parallel;		/* documents decoded together by the engine process */
	long llm_draft;			/* draft tokens a stage adds to a small step */
	long summary_max_tokens;	/* most tokens of a model summary */
	char *summary_language;		/* code of model summaries, "" = the document's */
	char *llm_combine;		/* "llm" or "confident" (stages/llm.h) */

	/* processes */
	long workers;			/* extract worker processes */
	long threads;			/* engine threads */
	long worker_max_docs;		/* a worker retires after this many documents */
	double respawn_delay_seconds;	/* pause before restarting a worker that crashed */

	/* scanner */
	double stable_seconds;		/* size+mtime unchanged this long = complete */
	double rescan_seconds;		/* periodic inbox rescan (no inotify on NFS) */

	/* sandbox, per extract worker */
	double doc_timeout_seconds;	/* wall clock per document */
	long worker_cpu_seconds;	/* RLIMIT_CPU */
	size_t worker_memory_bytes;	/* RLIMIT_AS */
	size_t worker_output_bytes;	/* RLIMIT_FSIZE and result-message cap */
	int seccomp;			/* 1: install the seccomp filter */

	/* extraction limits (struct extract_limits) */
	size_t max_input_bytes;
	size_t max_text_bytes;
	size_t max_member_bytes;
	size_t max_total_bytes;
	long max_pages;
	long max_children;

	/* later stages */
	char *taxonomy;			/* comma-separated classification labels */
	char *classifier;		/* trained model file, "" = none */
	double review_threshold;	/* below this confidence: needs_review */
	char *expected_languages;	/* ISO 639-1 list, "" = the EU 24 */
	char *log_level;		/* error, warning, info, debug */

	/* internal: command-line settings, re-applied by config_reload() */
	char **overrides;		/* (n_overrides) "key=value" */
	size_t n_overrides;
};

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_SIZE, CONFIG_SECONDS, CONFIG_BOOL, CONFIG_REAL };

struct config_setting {
	const char *key;
	enum config_type type;
	const char *def;		/* default, in file syntax */
	size_t offset;			/* of the field in struct config */
	double min, max;		/* numeric range, inclusive */
	const char *help;		/* one line for the example file */
};

/* config_settings - the table, *n rows */
const struct config_setting *config_settings(size_t *n);

/* config_init - every field at its default, no file read */
void config_init(struct config *cfg);

/* config_release - free everything; cfg may be config_init()ed again */
void config_release(struct config *cfg);

/*
 * config_set - parse value (file syntax: sizes take k/M/G suffixes,
 * booleans yes/no/true/false/1/0, seconds may be fractional) and store it.
 */
int config_set(struct config *cfg, const char *key, const char *value,
	       struct dk_err *err);

/* config_load_file - apply the [docket] group of an INI file */
int config_load_file(struct config *cfg, const char *path, struct dk_err *err);

/* config_load_data - the same for INI text in memory; name is used in messages */
int config_load_data(struct config *cfg, const char *data, size_t len, const char *name,
		     struct dk_err *err);

/*
 * config_setup - config_init(), then the file, then the command-line
 * settings found in argv[1..*argc). Consumed options are removed from
 * argv and *argc is reduced; argv[0] and the rest keep their order.
 * On error cfg is released.
 */
int config_setup(struct config *cfg, int *argc, char **argv, struct dk_err *err);

/*
 * config_reload - read the same file again and re-apply the command-line
 * settings. Only a fully valid result replaces cfg.
 */
int config_reload(struct config *cfg, struct dk_err *err);

/* config_extract_limits - the extraction limits as stages/extract.h wants them */
void config_extract_limits(const struct config *cfg, struct extract_limits *lim);

/* config_usage - the lines describing the common options, for --help */
extern const char config_usage[];

#endif
