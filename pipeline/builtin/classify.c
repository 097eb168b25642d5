/*
 * NAME
 *	docket classify - classify one text with a trained model
 * SUMMARY
 *	docket classify --classifier MODEL [--threshold T] [--lang CODE]
 * DESCRIPTION
 *	Reads all of stdin as one document's text and prints
 *	"LABEL<TAB>CONFIDENCE". With --threshold, a confidence below T adds a
 *	third field "needs_review". The text's language (which the model
 *	uses to set aside what all letters in that language share) is
 *	detected unless --lang gives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "stages/classifier.h"
#include "stages/langid.h"
#include "util/dk_buf.h"

static const char classify_usage[] =
	"usage: docket classify --classifier MODEL [--threshold T] [--lang CODE] < TEXT\n";

static int read_stdin(struct dk_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (dk_buf_add(b, chunk, n) != 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

int cmd_classify(int argc, char **argv)
{
	const char *model_path = NULL, *lang = NULL;
	struct langid_result lres;
	struct langid *lid = NULL;
	double threshold = -1;
	struct dk_buf text;
	struct dk_err err = DK_ERR_INIT;
	struct clf_model *m;
	struct clf_prediction p;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(classify_usage, stdout);
			return EX_OK;
		} else if (i + 1 < argc && strcmp(argv[i], "--classifier") == 0) {
			model_path = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--lang") == 0) {
			lang = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--threshold") == 0) {
			threshold = atof(argv[++i]);
		} else {
			fprintf(stderr, "docket classify: unknown option '%s'\n%s", argv[i], classify_usage);
			return EX_USAGE;
		}
	}
	if (model_path == NULL) {
		fputs(classify_usage, stderr);
		return EX_USAGE;
	}
	if (clf_load(model_path, &m, &err) != 0) {
		fprintf(stderr, "docket classify: %s\n", err.msg);
		return dk_err_sysexit(err.code);
	}
	dk_buf_init(&text, 64u << 20);
	if (read_stdin(&text) != 0) {
		fprintf(stderr, "docket classify: cannot read stdin (more than 64 MiB?)\n");
		dk_buf_release(&text);
		clf_free(m);
		return EX_IOERR;
	}
	if (lang == NULL && langid_open(&lid, NULL, NULL, &err) == 0 &&
	    langid_detect(lid, text.buf, text.len, &lres, &err) == 0)
		lang = lres.lang.code;
	if (clf_predict(m, text.buf, text.len, lang, &p, &err) != 0) {
		langid_free(lid);
		fprintf(stderr, "docket classify: %s\n", err.msg);
		dk_buf_release(&text);
		clf_free(m);
		return dk_err_sysexit(err.code);
	}
	printf("%s\t%.2f%s\n", clf_label(m, p.label), p.confidence,
	       p.confidence < threshold ? "\tneeds_review" : "");
	langid_free(lid);
	dk_buf_release(&text);
	clf_free(m);
	return EX_OK;
}
