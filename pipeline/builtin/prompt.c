/*
 * NAME
 *	prompt - "docket prompt": the model prompt of one stage for a text
 * SUMMARY
 *	docket prompt --stage classify|entities|summarize [--lang LL]
 *	              [--max-tokens] [--model F] [--config F] [--set K=V] < text
 * DESCRIPTION
 *	Prints the prompt the configured model reads for that stage of the
 *	text on stdin (stages/llm.h llm_prompt: the chat framing, the filled
 *	templates, the document cut to llm_ctx as the pipeline cuts it), or
 *	with --max-tokens the stage's generation budget. Another engine given
 *	these bytes and budget does the same work as docket's stage, which is
 *	what tests/bench/llm.sh's naive llama.cpp pipeline needs.
 * DIAGNOSTICS
 *	One line on stderr; EX_USAGE for bad options, EX_CONFIG without a
 *	model or with a model that does not match model_sha256.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "pipeline/llm_record.h"
#include "stages/llm.h"

static const char prompt_usage[] =
	"usage: docket prompt --stage classify|entities|summarize [--lang LL] [--max-tokens]\n"
	"                     [--model F] < text\n"
	"  prints the stage's prompt for the text on stdin, as the model reads it;\n"
	"  --max-tokens prints the stage's generation budget instead\n";

static int render(const struct config *cfg, const char *stage, const char *lang, int budget)
{
	struct dk_buf text = DK_BUF_INIT, out = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	struct llm_opts o;
	struct llm *l = NULL;
	char chunk[65536];
	uint32_t max_tokens = 0;
	size_t n;
	int rc = 0;

	while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (dk_buf_add(&text, chunk, n) != 0)
			rc = dk_err_set(&err, DK_ENOMEM, "out of memory reading stdin");
	if (rc == 0 && ferror(stdin))
		rc = dk_err_set(&err, DK_EIO, "cannot read stdin");
	llm_opts_from_config(cfg, &o);
	if (rc == 0)
		rc = llm_open(&l, &o, &err);
	if (rc == 0)
		rc = llm_prompt(l, stage, text.buf, text.len, lang, &out, &max_tokens, &err);
	if (rc == 0 && budget)
		printf("%u\n", max_tokens);
	else if (rc == 0)
		fwrite(out.buf, 1, out.len, stdout);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		rc = dk_err_set(&err, DK_EIO, "cannot write the output");
	llm_close(l);
	dk_buf_release(&text);
	dk_buf_release(&out);
	return rc ? cli_fail("prompt", &err) : EX_OK;
}

int cmd_prompt(int argc, char **argv)
{
	struct config cfg;
	const char *stage = NULL, *lang = NULL;
	int rc, budget = 0;

	if ((rc = cli_setup("prompt", &argc, argv, &cfg)) != 0)
		return rc;
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s", prompt_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		} else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc) {
			stage = argv[++i];
		} else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) {
			lang = argv[++i];
		} else if (strcmp(argv[i], "--max-tokens") == 0) {
			budget = 1;
		} else {
			fprintf(stderr, "docket prompt: unexpected argument '%s'\n%s", argv[i], prompt_usage);
			rc = EX_USAGE;
		}
	}
	if (rc == 0 && stage == NULL) {
		fprintf(stderr, "docket prompt: no --stage given\n%s", prompt_usage);
		rc = EX_USAGE;
	}
	if (rc == 0 && (cfg.model == NULL || *cfg.model == 0)) {
		fprintf(stderr, "docket prompt: no model configured (set model or use --model)\n");
		rc = EX_CONFIG;
	}
	if (rc == 0)
		rc = render(&cfg, stage, lang, budget);
	config_release(&cfg);
	return rc;
}
