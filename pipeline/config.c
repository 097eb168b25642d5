/*
 * NAME
 *	config - settings table, INI file and command-line overrides
 * DESIGN NOTES
 *	1. Defaults are written in file syntax and parsed by the same code as
 *	   the file and the command line, so there is one parser and a
 *	   default can never be out of its own range.
 *	2. Unknown keys and out-of-range values are errors, not warnings: a
 *	   mistyped limit silently ignored is a limit not enforced.
 *	3. config_reload() builds a complete new struct config and swaps it in
 *	   only when everything parsed, so a bad edit followed by SIGHUP
 *	   leaves the running daemon on its old settings.
 *	4. Command-line settings are kept as "key=value" strings so that a
 *	   reload re-applies them on top of the file, as at start-up.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/config.h"

#define OFF(f) offsetof(struct config, f)
#define MB (1024.0 * 1024.0)
#define GB (1024.0 * MB)

static const struct config_setting settings[] = {
	{ "spool", CONFIG_STR, "/var/spool/docket", OFF(spool), 0, 0,
	  "spool directory holding inbox/, work/, done/ and failed/" },
	{ "db", CONFIG_STR, "/var/lib/docket/docket.db", OFF(db), 0, 0,
	  "SQLite results database" },
	{ "model", CONFIG_STR, "", OFF(model), 0, 0,
	  "GGUF model file; empty: the model stages are skipped" },
	{ "model_sha256", CONFIG_STR, "", OFF(model_sha256), 0, 0,
	  "SHA-256 the model file must have (64 hex); a different file is refused" },
	{ "llm_ctx", CONFIG_INT, "4096", OFF(llm_ctx), 256, 131072,
	  "model context positions per sequence; longer documents are cut or summarized in chunks" },
	{ "llm_parallel", CONFIG_INT, "8", OFF(llm_parallel), 1, 64,
	  "documents the engine process decodes together (one pass over the weights per step; "
	  "each holds about one llm_ctx of KV cache, its stages sharing the document's prefix; "
	  "with gemma3-4b on 2 cores 16 gave 5% fewer documents a minute than 8, for 0.7 GB more)" },
	{ "llm_draft", CONFIG_INT, "4", OFF(llm_draft), 0, 16,
	  "most draft tokens each generating stage adds to a decode step of fewer than 8 tokens, "
	  "guessed from its own output and prompt and kept where the model chooses them "
	  "(the same output, in fewer steps); 0: none" },
	{ "summary_max_tokens", CONFIG_INT, "120", OFF(summary_max_tokens), 8, 4096,
	  "most tokens of a model summary" },
	{ "summary_language", CONFIG_STR, "", OFF(summary_language), 0, 0,
	  "language code model summaries are written in (e.g. de); empty: each document's own" },
	{ "llm_combine", CONFIG_STR, "llm", OFF(llm_combine), 0, 0,
	  "llm: the model's label wins; confident: agreeing labels keep the higher confidence, "
	  "disagreeing ones the more confident label, flagged for review" },
	{ "workers", CONFIG_INT, "2", OFF(workers), 1, 64,
	  "extract worker processes" },
	{ "threads", CONFIG_INT, "2", OFF(threads), 1, 256,
	  "engine threads" },
	{ "worker_max_docs", CONFIG_INT, "1000", OFF(worker_max_docs), 1, 1e9,
	  "documents after which a worker process retires and is replaced" },
	{ "respawn_delay_seconds", CONFIG_SECONDS, "1", OFF(respawn_delay_seconds), 0, 3600,
	  "pause before replacing a worker that crashed" },
	{ "stable_seconds", CONFIG_SECONDS, "2", OFF(stable_seconds), 0, 3600,
	  "a file whose size and mtime stay unchanged this long is complete" },
	{ "rescan_seconds", CONFIG_SECONDS, "10", OFF(rescan_seconds), 0.1, 86400,
	  "periodic inbox rescan, for filesystems without inotify" },
	{ "doc_timeout_seconds", CONFIG_SECONDS, "120", OFF(doc_timeout_seconds), 0.1, 86400,
	  "wall-clock limit for extracting one document" },
	{ "worker_cpu_seconds", CONFIG_INT, "120", OFF(worker_cpu_seconds), 1, 86400,
	  "CPU-time limit of an extract worker (RLIMIT_CPU)" },
	{ "worker_memory_bytes", CONFIG_SIZE, "2G", OFF(worker_memory_bytes), 64 * MB, 1024 * GB,
	  "address-space limit of an extract worker (RLIMIT_AS)" },
	{ "worker_output_bytes", CONFIG_SIZE, "256M", OFF(worker_output_bytes), 1 * MB, 64 * GB,
	  "largest file a worker may write and largest result it may send" },
	{ "seccomp", CONFIG_BOOL, "yes", OFF(seccomp), 0, 1,
	  "confine extract workers with a seccomp filter" },
	{ "max_input_bytes", CONFIG_SIZE, "256M", OFF(max_input_bytes), 1, 64 * GB,
	  "larger files fail with too_large" },
	{ "max_text_bytes", CONFIG_SIZE, "64M", OFF(max_text_bytes), 1024, 16 * GB,
	  "extracted text cap (text_too_large)" },
	{ "max_member_bytes", CONFIG_SIZE, "256M", OFF(max_member_bytes), 1024, 64 * GB,
	  "one ZIP member, decompressed (zip_bomb)" },
	{ "max_total_bytes", CONFIG_SIZE, "1G", OFF(max_total_bytes), 1024, 256 * GB,
	  "all ZIP members together, decompressed (zip_bomb)" },
	{ "max_pages", CONFIG_INT, "5000", OFF(max_pages), 1, 1e7,
	  "PDF pages processed at most" },
	{ "max_children", CONFIG_INT, "100", OFF(max_children), 0, 1e6,
	  "e-mail attachments kept at most" },
	{ "taxonomy", CONFIG_STR, "permit_application,complaint,information_request,"
	  "benefit_claim,invoice,address_change,appeal,court_notice,tax_matter,general_inquiry",
	  OFF(taxonomy), 0, 0, "classification labels, comma-separated" },
	{ "classifier", CONFIG_STR, "", OFF(classifier), 0, 0,
	  "trained classifier model (docket train), empty = none" },
	{ "review_threshold", CONFIG_REAL, "0.5", OFF(review_threshold), 0, 1,
	  "a classification below this confidence needs review" },
	{ "expected_languages", CONFIG_STR, "", OFF(expected_languages), 0, 0,
	  "ISO 639-1 codes, comma-separated; others only on strong evidence (empty = the 24 EU languages)" },
	{ "log_level", CONFIG_STR, "info", OFF(log_level), 0, 0,
	  "error, warning, info or debug" },
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

const char config_usage[] =
	"  --config F        settings file (default " CONFIG_DEFAULT_FILE " if present)\n"
	"  --db F            results database\n"
	"  --set KEY=VALUE   any setting of the configuration file\n";

/* options that are shorthands for --set KEY=VALUE */
static const char *const shorthands[] = { "db", "spool", "model", "workers", "threads",
					   "classifier" };

const struct config_setting *config_settings(size_t *n)
{
	*n = N_SETTINGS;
	return settings;
}

static const struct config_setting *find(const char *key)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

static void *field(struct config *cfg, const struct config_setting *s)
{
	return (char *)cfg + s->offset;
}

/* parse_number - decimal with an optional k/M/G (sizes) suffix */
static int parse_number(const struct config_setting *s, const char *value, double *out)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(value, &end);
	if (end == value || errno || !isfinite(v))
		return -1;
	if (s->type == CONFIG_SIZE && *end) {
		switch (*end++) {
		case 'k': case 'K': mul = 1024; break;
		case 'm': case 'M': mul = MB; break;
		case 'g': case 'G': mul = GB; break;
		default: return -1;
		}
		if (*end == 'B' || *end == 'b')
			end++;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end)
		return -1;
	v *= mul;
	if (s->type != CONFIG_SECONDS && s->type != CONFIG_REAL && v != floor(v))
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *value, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (g_ascii_strcasecmp(value, yes[i]) == 0)
			return *out = 1, 0;
		if (g_ascii_strcasecmp(value, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* config_set - parse and store one setting */
int config_set(struct config *cfg, const char *key, const char *value,
	       struct dk_err *err)
{
	const struct config_setting *s = find(key);
	double v;
	int b;

	if (s == NULL)
		return dk_err_set(err, DK_ECONFIG, "unknown setting '%s'", key);
	switch (s->type) {
	case CONFIG_STR:
		g_free(*(char **)field(cfg, s));
		*(char **)field(cfg, s) = g_strdup(value);
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(value, &b))
			return dk_err_set(err, DK_ECONFIG, "setting '%s' wants yes or no, not '%s'",
					  key, value);
		*(int *)field(cfg, s) = b;
		return 0;
	default:
		break;
	}
	if (parse_number(s, value, &v))
		return dk_err_set(err, DK_ECONFIG, "setting '%s' wants a %s, not '%s'", key,
				  s->type == CONFIG_SIZE ? "size such as 64M" :
				  s->type == CONFIG_SECONDS ? "number of seconds" :
				  s->type == CONFIG_REAL ? "number" : "whole number",
				  value);
	if (v < s->min || v > s->max)
		return dk_err_set(err, DK_ECONFIG, "setting '%s' = '%s' is outside %.15g..%.15g",
				  key, value, s->min, s->max);
	if (s->type == CONFIG_INT)
		*(long *)field(cfg, s) = (long)v;
	else if (s->type == CONFIG_SIZE)
		*(size_t *)field(cfg, s) = (size_t)v;
	else
		*(double *)field(cfg, s) = v;
	return 0;
}

/* config_init - all defaults */
void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < N_SETTINGS; i++) {
		int rc = config_set(cfg, settings[i].key, settings[i].def, NULL);

		/* invariant 1: the table's defaults parse and are in range */
		(void)rc;
		assert(rc == 0);
	}
}

/* config_release - free the strings and overrides */
void config_release(struct config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (settings[i].type == CONFIG_STR)
			g_free(*(char **)field(cfg, &settings[i]));
	for (size_t i = 0; i < cfg->n_overrides; i++)
		g_free(cfg->overrides[i]);
	g_free(cfg->overrides);
	g_free(cfg->config_file);
	memset(cfg, 0, sizeof *cfg);
}

/* apply_keyfile - every key of the [docket] group; name is for messages */
static int apply_keyfile(struct config *cfg, GKeyFile *kf, const char *name,
			 struct dk_err *err)
{
	gchar **list = g_key_file_get_groups(kf, NULL);
	int rc = 0;

	for (gchar **g = list; rc == 0 && *g; g++)
		if (strcmp(*g, CONFIG_GROUP) != 0)
			rc = dk_err_set(err, DK_ECONFIG, "unknown group '[%s]' in '%s'", *g, name);
	g_strfreev(list);
	if (rc)
		return rc;
	list = g_key_file_get_keys(kf, CONFIG_GROUP, NULL, NULL);
	for (gchar **k = list; rc == 0 && k && *k; k++) {
		gchar *v = g_key_file_get_string(kf, CONFIG_GROUP, *k, NULL);
		struct dk_err e = DK_ERR_INIT;

		if (config_set(cfg, *k, v ? v : "", &e))
			rc = dk_err_set(err, e.code, "%s in '%s'", e.msg, name);
		g_free(v);
	}
	g_strfreev(list);
	return rc;
}

/* config_load_data - the [docket] group of INI text in memory */
int config_load_data(struct config *cfg, const char *data, size_t len, const char *name,
		     struct dk_err *err)
{
	GKeyFile *kf = g_key_file_new();
	GError *gerr = NULL;
	int rc;

	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
		rc = dk_err_set(err, DK_ECONFIG, "cannot read '%s': %s", name, gerr->message);
		g_error_free(gerr);
	} else {
		rc = apply_keyfile(cfg, kf, name, err);
	}
	g_key_file_free(kf);
	return rc;
}

/* config_load_file - the [docket] group of an INI file */
int config_load_file(struct config *cfg, const char *path, struct dk_err *err)
{
	gchar *data = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int rc;

	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		rc = gerr->domain == G_FILE_ERROR && gerr->code == G_FILE_ERROR_NOENT
			? dk_err_set(err, DK_ENOTFOUND, "cannot read '%s': no such file", path)
			: dk_err_set(err, DK_ECONFIG, "cannot read '%s': %s", path, gerr->message);
		g_error_free(gerr);
		return rc;
	}
	rc = config_load_data(cfg, data, len, path, err);
	if (rc == 0) {
		g_free(cfg->config_file);
		cfg->config_file = g_strdup(path);
	}
	g_free(data);
	return rc;
}

/*
 * option - if argv[i] is a config option, its key (NULL for --config)
 * and value; *used is 1 or 2 (arguments consumed), 0 if not ours.
 */
static int option(int argc, char **argv, int i, char *key, size_t keysz,
		  const char **value, int *used, struct dk_err *err)
{
	const char *a = argv[i], *eq;
	size_t n;

	*used = 0;
	if (strncmp(a, "--", 2) != 0)
		return 0;
	a += 2;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	key[0] = 0;
	if (!(n == 6 && strncmp(a, "config", 6) == 0) && !(n == 3 && strncmp(a, "set", 3) == 0)) {
		size_t k;

		for (k = 0; k < sizeof shorthands / sizeof shorthands[0]; k++)
			if (strlen(shorthands[k]) == n && strncmp(a, shorthands[k], n) == 0)
				break;
		if (k == sizeof shorthands / sizeof shorthands[0])
			return 0;
		snprintf(key, keysz, "%s", shorthands[k]);
	} else if (n == 3) {
		snprintf(key, keysz, "set");
	}
	if (eq) {
		*value = eq + 1;
		*used = 1;
	} else if (i + 1 < argc) {
		*value = argv[i + 1];
		*used = 2;
	} else {
		return dk_err_set(err, DK_EINVAL, "option '%s' needs a value", argv[i]);
	}
	return 0;
}

/* add_override - keep "key=value" for apply_overrides() and config_reload() */
static void add_override(struct config *cfg, char *kv)
{
	cfg->overrides = g_renew(char *, cfg->overrides, cfg->n_overrides + 1);
	cfg->overrides[cfg->n_overrides++] = kv;
}

/* apply_overrides - the kept command-line settings, in order */
static int apply_overrides(struct config *cfg, struct dk_err *err)
{
	for (size_t i = 0; i < cfg->n_overrides; i++) {
		char *kv = g_strdup(cfg->overrides[i]), *eq = strchr(kv, '=');
		int rc;

		*eq = 0;
		rc = config_set(cfg, kv, eq + 1, err);
		g_free(kv);
		if (rc)
			return rc;
	}
	return 0;
}

/* collect - take config options out of argv; note the file and overrides */
static int collect(struct config *cfg, int *argc, char **argv, const char **file,
		   struct dk_err *err)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		char key[32];
		const char *value = NULL;
		int used, rc;

		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if ((rc = option(*argc, argv, i, key, sizeof key, &value, &used, err)) != 0)
			return rc;
		if (used == 0) {
			argv[out++] = argv[i];
			continue;
		}
		if (key[0] == 0) {
			*file = value;
		} else if (strcmp(key, "set") == 0) {
			const char *eq = strchr(value, '=');

			if (eq == NULL || eq == value)
				return dk_err_set(err, DK_EINVAL, "--set wants KEY=VALUE, not '%s'", value);
			add_override(cfg, g_strdup(value));
		} else {
			add_override(cfg, g_strdup_printf("%s=%s", key, value));
		}
		i += used - 1;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

/* config_setup - defaults, file, command line */
int config_setup(struct config *cfg, int *argc, char **argv, struct dk_err *err)
{
	const char *file = NULL;
	int rc;

	config_init(cfg);
	rc = collect(cfg, argc, argv, &file, err);
	if (rc == 0 && file)
		rc = config_load_file(cfg, file, err);
	else if (rc == 0 && access(CONFIG_DEFAULT_FILE, F_OK) == 0)
		rc = config_load_file(cfg, CONFIG_DEFAULT_FILE, err);
	if (rc == 0)
		rc = apply_overrides(cfg, err);
	if (rc)
		config_release(cfg);
	return rc;
}

/* config_reload - same file, same overrides; swap only on success */
int config_reload(struct config *cfg, struct dk_err *err)
{
	struct config fresh;
	int rc = 0;

	config_init(&fresh);
	for (size_t i = 0; i < cfg->n_overrides; i++)
		add_override(&fresh, g_strdup(cfg->overrides[i]));
	if (cfg->config_file)
		rc = config_load_file(&fresh, cfg->config_file, err);
	if (rc == 0)
		rc = apply_overrides(&fresh, err);
	if (rc) {
		config_release(&fresh);
		return rc;
	}
	config_release(cfg);
	*cfg = fresh;
	return 0;
}

/* config_extract_limits - the extraction limits */
void config_extract_limits(const struct config *cfg, struct extract_limits *lim)
{
	lim->max_input_bytes = cfg->max_input_bytes;
	lim->max_text_bytes = cfg->max_text_bytes;
	lim->max_member_bytes = cfg->max_member_bytes;
	lim->max_total_bytes = cfg->max_total_bytes;
	lim->max_pages = (int)cfg->max_pages;
	lim->max_children = (int)cfg->max_children;
}
