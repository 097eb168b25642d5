/*
 * NAME
 *	replay - "docket replay ID|--all": re-run logged model decisions
 * SUMMARY
 *	docket replay ID|--all [--config F] [--db F] [--model F] [--threads N]
 * DESCRIPTION
 *	Loads the configured model (refused if model_sha256 pins another
 *	file), then re-runs every llm_decisions row of document ID (a full id
 *	or a unique prefix) or of all documents on the stored text, with the
 *	recorded params, and compares byte for byte: the output, the prompt
 *	hash and the input text's hash. Each decision gives one line,
 *	"same DOC STAGE" or "MISMATCH DOC STAGE: why"; the last line counts.
 *	The thread count does not change the bytes (the engine's reductions
 *	run in a fixed order), so any --threads must replay identically.
 * DIAGNOSTICS
 *	Exit 0 when every decision replays identically, EX_DATAERR (65) on any
 *	mismatch, EX_NOINPUT when ID has no decisions, other sysexits codes
 *	for a missing model or database.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <sqlite3.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "pipeline/llm_record.h"
#include "stages/llm.h"

static const char replay_usage[] =
	"usage: docket replay ID|--all [--model F] [--threads N]\n"
	"  re-runs the logged model decisions of document ID (or a unique id prefix)\n"
	"  or of every document and compares them byte for byte; exit 65 on any mismatch\n";

struct tally {
	long same, differ;
};

#define COL(i) ((const char *)sqlite3_column_text(q, (i)))

/* one - replay the decision in the current row of q */
static void one(struct llm *l, sqlite3_stmt *q, struct tally *t)
{
	const char *doc = COL(0), *stage = COL(1), *params = COL(2), *output = COL(3);
	const char *prompt = COL(4), *input = COL(5), *text = COL(6);
	size_t len = (size_t)sqlite3_column_bytes(q, 6);
	struct dk_buf out = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;
	char ph[65], ih[65];
	const char *why = NULL;

	if (text == NULL) {
		why = "the document's text is not stored";
	} else {
		store_sha256_hex(text, len, ih);
		if (strcmp(ih, input) != 0)
			why = "the stored text differs from the decision's input";
		else if (llm_replay(l, stage, params, text, len, &out, ph, &err) != 0)
			why = err.msg;
		else if (strcmp(ph, prompt) != 0)
			why = "the rendered prompt differs";
		else if (out.len != strlen(output) || memcmp(out.buf, output, out.len) != 0)
			why = "the output differs";
	}
	if (why) {
		printf("MISMATCH %.16s %s: %s\n", doc, stage, why);
		t->differ++;
	} else {
		printf("same %.16s %s\n", doc, stage);
		t->same++;
	}
	fflush(stdout);
	dk_buf_release(&out);
}

static int replay(const struct config *cfg, const char *id)
{
	struct dk_err err = DK_ERR_INIT;
	struct llm_opts o;
	struct llm *l = NULL;
	struct store st;
	struct tally t = { 0, 0 };
	sqlite3_stmt *q = NULL;
	int rc, s;

	if (cfg->model == NULL || *cfg->model == 0) {
		fprintf(stderr, "docket replay: no model configured (set model or use --model)\n");
		return EX_CONFIG;
	}
	if ((rc = cli_open_store("replay", cfg, &st)) != 0)
		return rc;
	llm_opts_from_config(cfg, &o);
	if (llm_open(&l, &o, &err) != 0) {
		store_close(&st);
		return cli_fail("replay", &err);
	}
	if (sqlite3_prepare_v2(store_db(&st), "SELECT l.doc_id, l.stage, l.params, l.output, "
			       "l.prompt_sha256, l.input_sha256, t.text FROM llm_decisions l "
			       "LEFT JOIN texts t ON t.doc_id = l.doc_id "
			       "WHERE ?1 IS NULL OR substr(l.doc_id, 1, length(?1)) = ?1 ORDER BY l.id",
			       -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "docket replay: cannot read decisions: %s\n", sqlite3_errmsg(store_db(&st)));
		rc = EX_SOFTWARE;
	} else {
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		while ((s = sqlite3_step(q)) == SQLITE_ROW)
			one(l, q, &t);
		if (s != SQLITE_DONE) {
			fprintf(stderr, "docket replay: cannot read decisions: %s\n",
				sqlite3_errmsg(store_db(&st)));
			rc = EX_SOFTWARE;
		}
	}
	sqlite3_finalize(q);
	if (rc == 0) {
		printf("replayed %ld decision%s: %ld identical, %ld mismatched\n", t.same + t.differ,
		       t.same + t.differ == 1 ? "" : "s", t.same, t.differ);
		rc = t.differ ? EX_DATAERR : (id && t.same == 0) ? EX_NOINPUT : EX_OK;
		if (rc == EX_NOINPUT)
			fprintf(stderr, "docket replay: no decisions for '%s'\n", id);
	}
	llm_close(l);
	store_close(&st);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	struct config cfg;
	int rc;

	if ((rc = cli_setup("replay", &argc, argv, &cfg)) != 0)
		return rc;
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("%s%s", replay_usage, config_usage);
		rc = EX_OK;
	} else if (argc == 2 && strcmp(argv[1], "--all") == 0) {
		rc = replay(&cfg, NULL);
	} else if (argc == 2 && argv[1][0] != '-' && strspn(argv[1], "0123456789abcdef") == strlen(argv[1])) {
		rc = replay(&cfg, argv[1]);
	} else {
		fprintf(stderr, "docket replay: expected a document id or --all\n%s", replay_usage);
		rc = EX_USAGE;
	}
	config_release(&cfg);
	return rc;
}
