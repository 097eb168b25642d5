/*
 * NAME
 *	llm_record - store one document's model results and decisions
 * DESIGN NOTES
 *	1. Decisions go first, results after; inside the caller's
 *	   store_begin() group a crash leaves everything or nothing, and the
 *	   audit chain holds each decision before the results that use it.
 *	2. Entities replace the stored set, so the rule entities are passed
 *	   in and written again ahead of the model's; the model never emits a
 *	   rule type (the entity schema's enum) and llm_run() already dropped
 *	   its items that overlap a rule entity of the same type.
 *	3. Every done document with text gets one llm_stages row per model
 *	   stage: "done" here, "skipped" or "failed" from the writer, so a
 *	   document the model never saw is told apart in the store itself.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm_record.h"

static int put_decisions(struct store *st, const char *id, const char *model_sha256,
			 const struct llm_result *r, struct dk_err *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->n_dec; i++) {
		struct store_decision d = {
			r->dec[i].stage, model_sha256, r->dec[i].prompt_sha256,
			r->dec[i].params, r->dec[i].input_sha256, r->dec[i].output
		};

		rc = store_put_decision(st, id, &d, NULL, err);
	}
	return rc;
}

static int put_results(struct store *st, const char *id, const struct llm_result *r,
		       const struct store_entity *rules, size_t n_rules, struct dk_err *err)
{
	struct store_results res;
	struct store_llm_stage stages[3];
	struct store_entity *e = calloc(n_rules + r->n_entities + 1, sizeof *e);
	int rc;

	if (e == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (size_t i = 0; i < n_rules; i++)
		e[i] = rules[i];
	for (size_t i = 0; i < r->n_entities; i++) {
		struct store_entity *x = &e[n_rules + i];

		x->type = r->entities[i].type;
		x->text = r->entities[i].text;
		x->start = r->entities[i].start;
		x->end = r->entities[i].end;
		x->method = "llm";
		x->confidence = 1.0;
	}
	store_results_init(&res);
	res.label = r->label;
	res.label_confidence = r->confidence;
	res.label_method = r->label_method;
	res.needs_review = r->needs_review;
	res.set_entities = 1;
	res.entities = e;
	res.n_entities = n_rules + r->n_entities;
	res.summary = r->summary;
	/* the language the prompt asked for (DESIGN section 4: summary.language) */
	res.summary_language = *r->summary_language ? r->summary_language : NULL;
	res.summary_method = "llm";
	llm_stages_fill(stages, "done", NULL);
	res.llm_stages = stages;
	res.n_llm_stages = 3;
	rc = store_put_results(st, id, &res, err);
	free(e);
	return rc;
}

/* llm_stages_fill - see llm_record.h */
void llm_stages_fill(struct store_llm_stage out[3], const char *status, const char *reason)
{
	static const char *const names[3] = { "classify", "entities", "summarize" };

	for (int i = 0; i < 3; i++) {
		out[i].stage = names[i];
		out[i].status = status;
		out[i].reason = reason;
	}
}

/* llm_record - see llm_record.h */
int llm_record(struct store *st, const char *id, const char *model_sha256,
	       const struct llm_result *r, const struct store_entity *rules, size_t n_rules,
	       struct dk_err *err)
{
	int rc = put_decisions(st, id, model_sha256, r, err);

	if (rc == 0)
		rc = put_results(st, id, r, rules, n_rules, err);
	return rc;
}

/* llm_opts_from_config - see llm_record.h */
void llm_opts_from_config(const struct config *cfg, struct llm_opts *o)
{
	memset(o, 0, sizeof *o);
	o->model = cfg->model;
	o->model_sha256 = cfg->model_sha256;
	o->n_ctx = (uint32_t)cfg->llm_ctx;
	o->n_threads = (uint32_t)cfg->threads;
	o->review_threshold = cfg->review_threshold;
	o->summary_max_tokens = (uint32_t)cfg->summary_max_tokens;
	o->summary_language = cfg->summary_language;
	o->parallel = (uint32_t)cfg->llm_parallel;
	o->draft = (uint32_t)cfg->llm_draft;
	o->combine = strcmp(cfg->llm_combine, "confident") == 0 ? LLM_COMBINE_CONFIDENT : LLM_COMBINE_LLM;
}
