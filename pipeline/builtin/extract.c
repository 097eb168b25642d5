/*
 * NAME
 *	docket extract - print the stored text of one file
 * SUMMARY
 *	docket extract [--config F] [--set KEY=VALUE] FILE
 * DESCRIPTION
 *	Runs exactly what an extract worker runs (extract_file() with the
 *	extraction limits of the configuration: type from content, format
 *	extractor, normalize) and writes the resulting text to stdout byte for
 *	byte, with nothing added, so entity offsets can be checked against
 *	it. A file that fails prints one line
 *	"docket extract: cannot extract 'FILE': SLUG: message" on stderr,
 *	SLUG being the code a failed document's error.json carries.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "pipeline/config.h"
#include "stages/extract.h"

static const char extract_usage[] =
	"usage: docket extract [options] FILE\n\n"
	"Print the extracted, normalized text of FILE exactly as the pipeline\n"
	"stores it, with the configured extraction limits. The type is taken\n"
	"from the content, never from the name.\n\n";

/* run - extract path and write its text to stdout */
static int run(const char *path, const struct config *cfg)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	config_extract_limits(cfg, &lim);
	extract_result_init(&res, &lim);
	rc = extract_file(path, &lim, &res, &err);
	if (rc == 0 && (fwrite(res.text.buf, 1, res.text.len, stdout) != res.text.len ||
			fflush(stdout) != 0))
		rc = dk_err_setx(&err, DK_EIO, "io_error", "cannot write to standard output");
	if (rc != 0)
		fprintf(stderr, "docket extract: cannot extract '%s': %s: %s\n",
			path, err.slug, err.msg);
	extract_result_release(&res);
	return rc == 0 ? EX_OK : dk_err_sysexit(rc);
}

/* cmd_extract - the "extract" builtin */
int cmd_extract(int argc, char **argv)
{
	struct config cfg;
	int rc;

	if ((rc = cli_setup("extract", &argc, argv, &cfg)) != 0)
		return rc;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("%s%s", extract_usage, config_usage);
		rc = EX_OK;
	} else if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != 0)) {
		fprintf(stderr, "%s", extract_usage);
		rc = EX_USAGE;
	} else {
		rc = run(argv[1], &cfg);
	}
	config_release(&cfg);
	return rc;
}
