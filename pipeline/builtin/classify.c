/*
 * NAME
 *	docket classify - classify one text with a trained model
 * SUMMARY
 *	docket classify [--classifier MODEL] [--threshold T] [--lang CODE]
 * DESCRIPTION
 *	Reads all of stdin as one document's text and prints
 *	"LABEL<TAB>CONFIDENCE", exactly as the pipeline's classification stage
 *	decides (stages/analyze.h): the taxonomy's cue words, combined with
 *	the trained model when one is given (--classifier or the config's
 *	classifier). A confidence below the threshold (--threshold or the
 *	config's review_threshold) adds a third field "needs_review". The
 *	text's language is detected unless --lang gives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "stages/analyze.h"
#include "util/dk_buf.h"

static const char classify_usage[] =
	"usage: docket classify [--classifier MODEL] [--threshold T] [--lang CODE] [options] < TEXT\n\n";

static int read_stdin(struct dk_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (dk_buf_add(b, chunk, n) != 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

static int classify_text(const struct config *cfg, double threshold, const char *lang,
			 const struct dk_buf *text)
{
	struct analyze_opts ao = { .expected_languages = cfg->expected_languages,
				   .classifier_path = cfg->classifier,
				   .review_threshold = threshold };
	struct dk_err err = DK_ERR_INIT;
	struct langid_result lres;
	struct analysis a;
	struct analyze *an;
	int rc;

	if ((rc = analyze_open(&an, &ao, &err)) != 0)
		return cli_fail("classify", &err);
	memset(&a, 0, sizeof a);
	if (lang == NULL && analyze_language(an, text->buf, text->len, &lres, &err) == 0 &&
	    strcmp(lres.lang.code, "und") != 0)
		lang = lres.lang.code;
	rc = analyze_classify(an, text->buf, text->len, lang, &a, &err);
	if (rc == 0)
		printf("%s\t%.2f%s\n", a.label, a.confidence, a.needs_review ? "\tneeds_review" : "");
	analyze_close(an);
	return rc ? cli_fail("classify", &err) : EX_OK;
}

int cmd_classify(int argc, char **argv)
{
	const char *lang = NULL;
	struct dk_buf text;
	struct config cfg;
	double threshold;
	int rc;

	if ((rc = cli_setup("classify", &argc, argv, &cfg)) != 0)
		return rc;
	threshold = cfg.review_threshold;
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s", classify_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		} else if (i + 1 < argc && strcmp(argv[i], "--lang") == 0) {
			lang = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--threshold") == 0) {
			threshold = atof(argv[++i]);
		} else {
			fprintf(stderr, "docket classify: unknown option '%s'\n%s", argv[i], classify_usage);
			rc = EX_USAGE;
		}
	}
	dk_buf_init(&text, 64u << 20);
	if (rc == 0 && read_stdin(&text) != 0) {
		fprintf(stderr, "docket classify: cannot read stdin (more than 64 MiB?)\n");
		rc = EX_IOERR;
	}
	if (rc == 0)
		rc = classify_text(&cfg, threshold, lang, &text);
	dk_buf_release(&text);
	config_release(&cfg);
	return rc;
}
