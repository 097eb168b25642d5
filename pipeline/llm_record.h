/*
 * NAME
 *	llm_record - store one document's model results and decisions
 * SUMMARY
 *	llm_record() writes (call it inside the document's store_begin()
 *	group so that all of it is one transaction): the three decisions (store_put_decision, so each
 *	is an audit record replay can re-run), then the label, the summary
 *	and the entities, which are the rule entities passed in followed by
 *	the model's (method "llm", confidence 1: each was found verbatim).
 *	It marks the three stages "done" in llm_stages; llm_stages_fill()
 *	builds the rows a caller stores for stages skipped or failed.
 *	llm_opts_from_config() maps the configuration onto struct llm_opts.
 * OWNERSHIP
 *	Everything is borrowed for the call.
 * LIFETIME
 *	Nothing is kept after the call.
 * THREADS
 *	As struct store: one thread per store.
 * ERRORS
 *	Those of store_put_decision() and store_put_results().
 */
#ifndef DK_LLM_RECORD_H
#define DK_LLM_RECORD_H

#include <stddef.h>

#include "pipeline/config.h"
#include "pipeline/store.h"
#include "stages/llm.h"
#include "util/dk_err.h"

/* llm_opts_from_config - the model settings of cfg (strings borrowed from cfg) */
void llm_opts_from_config(const struct config *cfg, struct llm_opts *o);

/* llm_stages_fill - the three model stages with one status and reason (borrowed) */
void llm_stages_fill(struct store_llm_stage out[3], const char *status, const char *reason);

int llm_record(struct store *st, const char *id, const char *model_sha256,
	       const struct llm_result *r, const struct store_entity *rules, size_t n_rules,
	       struct dk_err *err);

#endif
