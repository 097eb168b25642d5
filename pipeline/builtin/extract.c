/*
 * NAME
 *	docket extract - print the stored text of one file
 * SUMMARY
 *	docket extract FILE
 * DESCRIPTION
 *	Runs exactly what an extract worker runs (extract_file() with the
 *	default limits: type from content, format extractor, normalize) and
 *	writes the resulting text to stdout byte for byte, with nothing added,
 *	so entity offsets can be checked against it. A file that fails prints
 *	one line "docket extract: cannot extract 'FILE': SLUG: message" on
 *	stderr, SLUG being the code a failed document's error.json carries.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "stages/extract.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: docket extract FILE\n\n"
		"Print the extracted, normalized text of FILE exactly as the pipeline\n"
		"stores it. The type is taken from the content, never from the name.\n");
}

/* cmd_extract - the "extract" builtin */
int cmd_extract(int argc, char **argv)
{
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EX_OK;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != 0)) {
		usage(stderr);
		return EX_USAGE;
	}
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	rc = extract_file(argv[1], &lim, &res, &err);
	if (rc == 0 && (fwrite(res.text.buf, 1, res.text.len, stdout) != res.text.len ||
			fflush(stdout) != 0))
		rc = dk_err_setx(&err, DK_EIO, "io_error", "cannot write to standard output");
	if (rc != 0)
		fprintf(stderr, "docket extract: cannot extract '%s': %s: %s\n",
			argv[1], err.slug, err.msg);
	extract_result_release(&res);
	return rc == 0 ? EX_OK : dk_err_sysexit(rc);
}
