/*
 * NAME
 *	builtin.h - docket's subcommands, one file each (git's builtin/)
 * SUMMARY
 *	Each command is "int cmd_NAME(int argc, char **argv)" in
 *	pipeline/builtin/NAME.c. argv[0] is the command name. It returns a
 *	sysexits.h status and prints errors to stderr as one line each.
 *	To add one: write the file, declare it here, add a row to the
 *	commands[] table in pipeline/docket.c (in its owner's section).
 *	Two-word commands ("model info", "audit verify") are one builtin that
 *	dispatches on argv[1].
 */
#ifndef DK_BUILTIN_H
#define DK_BUILTIN_H

/* pipeline */
int cmd_batch(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_export(int argc, char **argv);	/* store: builtin/export.c */
int cmd_list(int argc, char **argv);	/* store: builtin/list.c */
int cmd_show(int argc, char **argv);	/* store: builtin/show.c */
int cmd_review(int argc, char **argv);	/* wiring: builtin/review.c */
int cmd_audit(int argc, char **argv);	/* store: builtin/audit.c */
int cmd_replay(int argc, char **argv);	/* llm: builtin/replay.c */

/* engine */
int cmd_mkmodel(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);

/* stages */
int cmd_extract(int argc, char **argv);
int cmd_langid(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_entities(int argc, char **argv);
int cmd_prompt(int argc, char **argv);	/* llm: builtin/prompt.c */

#endif
