/*
 * NAME
 *	docket - command-line entry point
 * SUMMARY
 *	docket [--version] [--help] COMMAND [ARGS]
 * DESCRIPTION
 *	A table of subcommands in the manner of git.c. Each command owns its
 *	option parsing; this file only finds the command and maps nothing but
 *	"unknown command" to an exit status itself.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "util/dk_log.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("docket %s\n", DOCKET_VERSION);
	return EX_OK;
}

struct cmd_struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

static const struct cmd_struct commands[] = {
	{ "version", cmd_version, "print the version" },

	/* pipeline */
	{ "batch", cmd_batch, "process everything in the inbox, then exit" },
	{ "watch", cmd_watch, "process files as they arrive, until SIGTERM" },
	{ "export", cmd_export, "print one result record per document (jsonl or csv)" },
	{ "list", cmd_list, "list documents, with filters" },
	{ "show", cmd_show, "show one document" },
	{ "audit", cmd_audit, "audit verify: check the audit hash chain" },
	{ "replay", cmd_replay, "re-run logged model decisions and compare byte for byte" },
	{ "review", cmd_review, "record a caseworker's classification of one document" },


	/* engine */
	{ "mkmodel", cmd_mkmodel, "write random-weight GGUF models; convert llama2.c" },
	{ "logits", cmd_logits, "top-K logits at every position of a token sequence" },
	{ "bench", cmd_bench, "prompt and generation tokens/s, bandwidth bound" },
	{ "generate", cmd_generate, "continue a prompt with a model" },
	{ "model", cmd_model, "model info F: architecture, shapes, tensor types, metadata, sha256" },
	{ "tokenize", cmd_tokenize, "text to token ids and back with a model's tokenizer" },

	/* stages */
	{ "extract", cmd_extract, "print the extracted, normalized text of one file" },
	{ "langid", cmd_langid, "language of each line on stdin" },
	{ "train", cmd_train, "build a classifier model from labeled texts" },
	{ "classify", cmd_classify, "classify one text with a trained model" },
	{ "eval", cmd_eval, "measure language, class and entity stages against gold files" },
	{ "entities", cmd_entities, "print the rule-based entities of text on stdin as JSON" },
	{ "prompt", cmd_prompt, "print a model stage's prompt for text on stdin" },

};

static void usage(FILE *f)
{
	fprintf(f, "usage: docket [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'docket COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	dk_log_init("docket", DK_LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "docket: '%s' is not a docket command; see 'docket --help'\n", argv[1]);
	return EX_USAGE;
}
