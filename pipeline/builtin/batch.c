/*
 * NAME
 *	docket batch, docket watch - run the pipeline over the spool
 * SUMMARY
 *	docket batch [--config F] [--spool DIR] [--db F] [--model F]
 *	             [--workers N] [--threads N] [--set KEY=VALUE] [--quiet]
 *	docket watch [same options]
 * DESCRIPTION
 *	batch processes everything in SPOOL/inbox (and crash leftovers in
 *	SPOOL/work), then prints the run summary: counts by status and type,
 *	documents per minute, time per stage. watch runs the same pipeline
 *	until SIGTERM or SIGINT, finishing the documents in hand first;
 *	SIGHUP re-reads the configuration file.
 * DIAGNOSTICS
 *	Exit 0 when the run went well, whatever became of single documents
 *	(a bad document is a failed row, not a failed run). EX_USAGE for bad
 *	options, EX_CONFIG for bad settings, EX_IOERR/EX_CANTCREAT/... when
 *	the spool or the database cannot be used.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pipeline/builtin.h"
#include "pipeline/config.h"
#include "pipeline/store.h"
#include "pipeline/supervisor.h"
#include "stages/analyze.h"
#include "util/dk_log.h"

/*
 * The settings, kept for SIGHUP reloads (one run per process). The paths
 * are copied: a reload replaces cfg's strings, and the spool, database
 * and model of a running pipeline do not change.
 */
static struct config run_cfg;
static char *run_spool, *run_db, *run_model;

static void usage(FILE *f, const char *cmd)
{
	fprintf(f, "usage: docket %s [--config F] [--spool DIR] [--db F] [--model F]\n"
		"       [--workers N] [--threads N] [--set KEY=VALUE] [--quiet]\n\n%s",
		cmd, strcmp(cmd, "batch") == 0 ?
		"Process every file in SPOOL/inbox, print a summary, exit.\n" :
		"Process files as they arrive in SPOOL/inbox until SIGTERM.\n");
	fprintf(f, "\noptions:\n%s"
		"  --spool DIR       spool directory (inbox/ work/ done/ failed/)\n"
		"  --model F         GGUF model for the later stages\n"
		"  --workers N       extract worker processes\n"
		"  --threads N       engine threads\n"
		"  --quiet           no progress bar and no summary\n", config_usage);
}

/*
 * check_analysis - load the analysis data and classifier once here, so a
 * wrong "classifier" setting stops the run with one clear error instead
 * of failing every document in the workers' pre-init
 */
static int check_analysis(const struct pipeline_opts *o, struct dk_err *err)
{
	struct analyze_opts ao = { 0 };
	struct analyze *an;
	int rc;

	ao.expected_languages = o->expected_languages;
	ao.classifier_path = o->classifier;
	ao.review_threshold = o->review_threshold;
	rc = analyze_open(&an, &ao, err);
	analyze_close(an);
	return rc;
}

/* reload - SIGHUP: config_reload() and refresh the numeric settings */
static int reload(struct pipeline_opts *o, struct dk_err *err)
{
	int (*keep)(struct pipeline_opts *, struct dk_err *) = o->reload;
	int batch = o->batch, progress = o->progress;
	int rc = config_reload(&run_cfg, err);

	if (rc != 0)
		return rc;
	pipeline_opts_from_config(&run_cfg, o);
	o->spool = run_spool;
	o->db = run_db;
	o->config = NULL;
	o->model = run_model;
	o->reload = keep;
	o->batch = batch;
	o->progress = progress;
	/* a classifier the workers cannot load would fail every document: run without it */
	if (check_analysis(o, err) != 0) {
		log_warn("stage=supervisor classifier=disabled error=\"%s\"", err->msg);
		o->classifier = NULL;
		return err->code;
	}
	return 0;
}

static void print_summary(const struct supervisor_counts *c, const struct store_run_summary *sm)
{
	int64_t n = c->done + c->failed + c->duplicate;

	double per_min = c->seconds > 0 ? (double)n * 60.0 / c->seconds : 0.0;

	/* model runs can be slower than one document a minute: keep two decimals there */
	printf("docket: %lld documents in %.1f s (%.*f documents/minute)\n", (long long)n,
	       c->seconds, per_min < 10 ? 2 : 0, per_min);
	printf("  status: done %lld, failed %lld, duplicate %lld\n", (long long)c->done,
	       (long long)c->failed, (long long)c->duplicate);
	if (sm == NULL)
		return;
	if (sm->n_counts) {
		printf("  by type:");
		for (size_t i = 0; i < sm->n_counts; i++)
			printf("%s %s %s %lld", i ? "," : "", sm->counts[i].format,
			       sm->counts[i].status, (long long)sm->counts[i].n);
		printf("\n");
	}
	/* the total says where a run's time went; llm_* names are the longest */
	for (size_t i = 0; i < sm->n_stages; i++)
		printf("  stage %-13s %lld documents, %.1f s total, %.1f ms average, %.1f ms max\n",
		       sm->stages[i].stage, (long long)sm->stages[i].n, sm->stages[i].total_ms / 1e3,
		       sm->stages[i].n ? sm->stages[i].total_ms / (double)sm->stages[i].n : 0.0,
		       sm->stages[i].max_ms);
}

/*
 * check_model - check the model, templates and grammar once here, so a
 * mismatching model_sha256 or a broken file stops the run with one clear
 * error before any document is claimed. Only checked (llm_opts.check_only:
 * the file mapped and hashed, not loaded): the engine process loads it.
 */
static int check_model(const struct pipeline_opts *o, struct dk_err *err)
{
	struct llm_opts lo = o->llm;
	struct llm *l = NULL;
	int rc;

	if (o->llm.model == NULL || *o->llm.model == 0)
		return 0;
	lo.check_only = 1;
	rc = llm_open(&l, &lo, err);
	llm_close(l);
	return rc;
}

/* run_begin - create the database if needed and open a runs row */
static int run_begin(const char *db, const char *cmd, int64_t *run_id, struct dk_err *err)
{
	struct store st;
	int rc = store_open(&st, db, STORE_CREATE, err);

	if (rc != 0)
		return rc;
	rc = store_run_begin(&st, cmd, run_id, err);
	store_close(&st);
	return rc;
}

/* run_end - close the runs row; fills *sm (release it) */
static int run_end(const char *db, int64_t run_id, struct store_run_summary *sm,
		   struct dk_err *err)
{
	struct store st;
	int rc = store_open(&st, db, 0, err);

	if (rc != 0)
		return rc;
	rc = store_run_end(&st, run_id, sm, err);
	store_close(&st);
	return rc;
}

static int run(int argc, char **argv, int batch)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_counts counts = { 0 };
	struct store_run_summary sm;
	struct pipeline_opts o;
	struct dk_err err = DK_ERR_INIT;
	int quiet = 0, c, rc, have_sm = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return EX_OK;
		}
	if (config_setup(&run_cfg, &argc, argv, &err) != 0) {
		fprintf(stderr, "docket %s: %s\n", batch ? "batch" : "watch", err.msg);
		return dk_err_sysexit(err.code);
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'q') {
			quiet = 1;
			continue;
		}
		usage(stderr, argv[0]);
		config_release(&run_cfg);
		return EX_USAGE;
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		config_release(&run_cfg);
		return EX_USAGE;
	}
	run_spool = strdup(run_cfg.spool);
	run_db = strdup(run_cfg.db);
	run_model = strdup(run_cfg.model ? run_cfg.model : "");
	pipeline_opts_from_config(&run_cfg, &o);
	o.spool = run_spool;
	o.db = run_db;
	o.model = run_model;
	o.llm.model = run_model;
	o.batch = batch;
	o.progress = !quiet && isatty(2);
	o.reload = reload;
	rc = run_spool && run_db && run_model ? 0 : dk_err_set(&err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = check_analysis(&o, &err);
	if (rc == 0)
		rc = check_model(&o, &err);
	if (rc == 0)
		rc = run_begin(run_db, batch ? "batch" : "watch", &counts.run_id, &err);
	if (rc == 0) {
		log_info("stage=supervisor run=%lld spool=%s workers=%d", (long long)counts.run_id,
			 run_spool, o.workers);
		rc = supervisor_run(&o, &counts, &err);
	}
	if (counts.run_id) {
		struct dk_err e2 = DK_ERR_INIT;

		have_sm = run_end(run_db, counts.run_id, &sm, &e2) == 0;
		if (!have_sm)
			log_warn("stage=supervisor summary=unavailable error=\"%s\"", e2.msg);
	}
	if (!quiet && counts.run_id && (rc == 0 || counts.done + counts.failed + counts.duplicate))
		print_summary(&counts, have_sm ? &sm : NULL);
	if (have_sm)
		store_run_summary_release(&sm);
	if (rc != 0)
		fprintf(stderr, "docket %s: %s\n", batch ? "batch" : "watch", err.msg);
	free(run_spool);
	free(run_db);
	free(run_model);
	config_release(&run_cfg);
	return rc == 0 ? EX_OK : dk_err_sysexit(rc);
}

/* cmd_batch - the "batch" builtin */
int cmd_batch(int argc, char **argv)
{
	return run(argc, argv, 1);
}

/* cmd_watch - the "watch" builtin */
int cmd_watch(int argc, char **argv)
{
	return run(argc, argv, 0);
}
