/*
 * NAME
 *	review - record a caseworker's decision on one document
 * SUMMARY
 *	docket review ID --class LABEL --by NAME [--note TEXT] [--db F] [--config F]
 * DESCRIPTION
 *	Stores the decision with store_put_review(): a reviews row and an
 *	audit record of kind "review" in one transaction, so `docket audit
 *	verify` detects a review row changed afterwards. The newest review of
 *	a document overrides the machine's classification in exports
 *	(method "review", confidence 1.0), in `docket show` and in the
 *	caseworker_documents view, and `docket train --from-reviews` turns
 *	reviews into training data. LABEL must be one of the configured
 *	taxonomy (setting "taxonomy"). ID may be an unambiguous prefix.
 *	--note alone (no --class) records a note.
 * DIAGNOSTICS
 *	One line on stderr; sysexits status (EX_USAGE: bad option or label
 *	outside the taxonomy, EX_NOINPUT: no such database or document).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"

static const char review_usage[] =
	"usage: docket review ID --class LABEL --by NAME [--note TEXT] [--db F] [--config F]\n"
	"  records a caseworker's classification (audit-logged); it overrides the\n"
	"  machine's label in exports and views and is training data for docket train\n"
	"  --class LABEL     one of the configured taxonomy\n"
	"  --by NAME         who decided (required)\n"
	"  --note TEXT       the reason, kept with the review (alone: a note only)\n";

/* in_taxonomy - 1 if label is one of the comma-separated labels of list */
static int in_taxonomy(const char *list, const char *label)
{
	size_t n = strlen(label);

	for (const char *p = list; p && *p; ) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && strncmp(p, label, n) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* opt - "--name VALUE" or "--name=VALUE" at argv[*i]; 1 and *val if it matches */
static int opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != 0 || *i + 1 >= argc)
		return 0;
	*val = argv[++*i];
	return 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("docket review: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", review_usage);
	return EX_USAGE;
}

/* parse - the arguments into want, label, by, note */
static int parse(int argc, char **argv, const char **want, const char **label, const char **by,
		 const char **note)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s", review_usage, config_usage);
			return -1;
		}
		if (opt(argc, argv, &i, "--class", label) || opt(argc, argv, &i, "--by", by) ||
		    opt(argc, argv, &i, "--note", note))
			continue;
		if (argv[i][0] != '-' && *want == NULL)
			*want = argv[i];
		else
			return usage_error("unexpected argument '%s'", argv[i]);
	}
	if (*want == NULL)
		return usage_error("no document id given%s", "");
	if (*by == NULL || **by == 0)
		return usage_error("who reviewed is required (--by NAME)%s", "");
	if (*label == NULL && *note == NULL)
		return usage_error("nothing to record: give --class LABEL or --note TEXT%s", "");
	return 0;
}

int cmd_review(int argc, char **argv)
{
	struct config cfg;
	struct store st;
	struct dk_err err = DK_ERR_INIT;
	const char *want = NULL, *label = NULL, *by = NULL, *note = NULL;
	char id[65];
	int64_t rid = 0;
	int rc;

	if ((rc = cli_setup("review", &argc, argv, &cfg)) != 0)
		return rc;
	rc = parse(argc, argv, &want, &label, &by, &note);
	if (rc < 0) {
		config_release(&cfg);
		return EX_OK;
	}
	if (rc == 0 && label && !in_taxonomy(cfg.taxonomy, label)) {
		fprintf(stderr, "docket review: label '%s' is not in the taxonomy (setting "
			"\"taxonomy\")\n", label);
		rc = EX_USAGE;
	}
	if (rc == 0 && (rc = cli_open_store("review", &cfg, &st)) == 0) {
		int e = query_resolve_id(&st, want, id, &err);

		if (e == 0)
			e = store_put_review(&st, id, label ? "classification" : "note",
					     label ? label : note, by, label ? note : NULL, &rid, &err);
		if (e == 0)
			printf("review %lld of %.12s: %s by %s\n", (long long)rid, id,
			       label ? label : "note", by);
		else
			rc = cli_fail("review", &err);
		store_close(&st);
	}
	config_release(&cfg);
	return rc;
}
