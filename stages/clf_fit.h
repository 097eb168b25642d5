/*
 * NAME
 *	clf_fit - fit the pipeline's classifier: taxonomy plus labeled documents
 * SUMMARY
 *	clf_fit() trains a struct clf_model the way `docket train` does: the
 *	taxonomy's labels first, its descriptions in every language as
 *	weighted examples, then the documents. With calibrate set it also
 *	learns how much the model should count beside the taxonomy's cue
 *	words (clf_mix() in classifier.h), by cross-validation on the
 *	documents themselves: k folds for languages the model has seen, and
 *	leave-one-language-out for languages it has not. `docket eval` calls
 *	the same function per fold, so what it measures is what train builds.
 *
 *	clf_fit_combine() is that combination, used by the pipeline and by
 *	the calibration alike: prob[k] ~ p_rules[k]^w_rules * p_model[k]^w_model.
 * OWNERSHIP
 *	*out belongs to the caller (clf_free()). Documents and taxonomy are
 *	only read during the call.
 * THREADS
 *	Safe; no shared state.
 * ERRORS
 *	clf_train()'s codes, rules_clf_build()'s, DK_EINVAL (bad text).
 */
#ifndef DK_CLF_FIT_H
#define DK_CLF_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "stages/classifier.h"
#include "stages/taxonomy.h"
#include "util/dk_err.h"

/* weight of one taxonomy description against one document */
#define CLF_DESCRIPTION_WEIGHT 6.0f

struct clf_doc {
	const char *text;
	size_t len;
	const char *label;
	const char *lang;	/* ISO 639-1, or NULL */
};

struct clf_fit_opts {
	int epochs;		/* 0: the classifier's default */
	uint64_t seed;		/* 0: 1 */
	int no_descriptions;	/* 1: documents only */
	int calibrate;		/* 1: learn the mixing weights (slower: ~12 fits) */
};

int clf_fit(const struct clf_doc *docs, size_t n, const struct taxonomy *tax,
	    const struct clf_fit_opts *o, struct clf_model **out, struct dk_err *err);

/*
 * clf_fit_combine - out[k] for the n_rules labels of the cue words;
 * p_model is indexed through model_of[k]; returns the best k
 */
int clf_fit_combine(const struct clf_model *m, const char *lang, const double *p_rules,
		    const double *p_model, const int *model_of, int n_rules, double *out);

#endif
