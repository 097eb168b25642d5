/*
 * NAME
 *	audit - "docket audit verify": check the audit hash chain
 * SUMMARY
 *	docket audit verify [--config F] [--db F]
 * DESCRIPTION
 *	Walks the whole chain (pipeline/audit.h). Intact: prints
 *	"audit chain intact: N records" and exits 0. Broken: prints one line
 *	naming the first broken record and why, exits EX_DATAERR (65).
 * DIAGNOSTICS
 *	One line on stderr; sysexits status.
 */
#include <string.h>
#include <sysexits.h>

#include "pipeline/audit.h"
#include "pipeline/builtin.h"
#include "pipeline/cli.h"

static const char audit_usage[] =
	"usage: docket audit verify [--config F] [--db F]\n"
	"  checks the audit log's hash chain; exit 0 if intact, 65 and the first\n"
	"  broken record if not\n";

static int verify(const struct config *cfg)
{
	struct audit_break brk;
	struct dk_err err = DK_ERR_INIT;
	struct store st;
	int rc = cli_open_store("audit", cfg, &st);

	if (rc)
		return rc;
	if (audit_verify(store_db(&st), &brk, &err) != 0)
		rc = cli_fail("audit", &err);
	else
		printf("audit chain intact: %lld record%s\n", (long long)brk.n_records,
		       brk.n_records == 1 ? "" : "s");
	store_close(&st);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	struct config cfg;
	int rc;

	if ((rc = cli_setup("audit", &argc, argv, &cfg)) != 0)
		return rc;
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		printf("%s%s", audit_usage, config_usage);
		rc = EX_OK;
	} else if (argc == 2 && strcmp(argv[1], "verify") == 0) {
		rc = verify(&cfg);
	} else if (argc == 3 && strcmp(argv[1], "verify") == 0 && strcmp(argv[2], "--help") == 0) {
		printf("%s%s", audit_usage, config_usage);
		rc = EX_OK;
	} else {
		fprintf(stderr, "docket audit: %s\n%s", argc < 2 ? "missing subcommand" :
			"unknown subcommand or option", audit_usage);
		rc = EX_USAGE;
	}
	config_release(&cfg);
	return rc;
}
