/*
 * NAME
 *	analyze - language, entities, class and summary without a model
 * DESIGN NOTES
 *	1. Order matters: language first, because the entity stage uses it to
 *	   break ties between month names and the classifier uses it to set
 *	   aside what all letters in that language share.
 *	2. Classification: the taxonomy's cue words (classify_rules) always
 *	   give probabilities; a trained model, when configured, is combined
 *	   with them log-linearly, with the weights the model carries for the
 *	   text's language (seen in training or not; stages/clf_fit.h).
 *	   The cue words carry what the training set lacks (languages and
 *	   phrasings it never saw); the model carries the agency's own
 *	   letters. Method is "classifier" when a model took part.
 *	3. A stage that fails on this text (invalid UTF-8 cannot reach here:
 *	   extraction produced it) fails the analysis; the caller decides what
 *	   that means for the document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stages/analyze.h"
#include "stages/classifier.h"
#include "stages/classify_rules.h"
#include "stages/clf_fit.h"
#include "stages/summary_extractive.h"
#include "stages/taxonomy.h"

struct analyze {
	struct langid *lid;
	struct clf_model *clf;
	struct rules_clf *rules;
	int *clf_of_rule;		/* (rules labels) index in clf, or -1 */
	double review_threshold;
	struct summary_opts sum;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *analyze_stage_name(enum analyze_stage s)
{
	static const char *const names[AN_N_STAGES] = { "langid", "entities", "classify", "summary" };

	return s < AN_N_STAGES ? names[s] : "unknown";
}

/* map_labels - the trained model must know the taxonomy's labels */
static int map_labels(struct analyze *an, struct dk_err *err)
{
	int n = rules_clf_n_labels(an->rules);

	an->clf_of_rule = calloc((size_t)n, sizeof *an->clf_of_rule);
	if (an->clf_of_rule == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (int k = 0; k < n; k++) {
		an->clf_of_rule[k] = clf_label_index(an->clf, rules_clf_label(an->rules, k));
		if (an->clf_of_rule[k] < 0)
			return dk_err_set(err, DK_ECONFIG,
					  "classifier model has no label '%s' of the taxonomy; retrain it",
					  rules_clf_label(an->rules, k));
	}
	return 0;
}

/* analyze_open - load language data, the taxonomy and the classifier */
int analyze_open(struct analyze **out, const struct analyze_opts *opts, struct dk_err *err)
{
	struct analyze *an = calloc(1, sizeof *an);
	struct taxonomy tax;
	int rc;

	*out = NULL;
	if (an == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	an->review_threshold = opts ? opts->review_threshold : 0;
	an->sum.max_chars = opts ? opts->summary_max_chars : 0;
	an->sum.max_sentences = opts ? opts->summary_max_sentences : 0;
	rc = langid_open(&an->lid, opts ? opts->expected_languages : NULL, NULL, err);
	if (rc == 0 && (rc = taxonomy_load(&tax, opts ? opts->taxonomy_path : NULL, err)) == 0) {
		rc = rules_clf_build(&tax, &an->rules, err);
		taxonomy_release(&tax);
	}
	if (rc == 0 && opts && opts->classifier_path && *opts->classifier_path &&
	    (rc = clf_load(opts->classifier_path, &an->clf, err)) == 0)
		rc = map_labels(an, err);
	if (rc) {
		analyze_close(an);
		return rc;
	}
	*out = an;
	return 0;
}

/* analyze_set_classifier - replace the trained model (takes m; NULL: none) */
int analyze_set_classifier(struct analyze *an, struct clf_model *m, struct dk_err *err)
{
	clf_free(an->clf);
	free(an->clf_of_rule);
	an->clf_of_rule = NULL;
	an->clf = m;
	return m ? map_labels(an, err) : 0;
}

const struct clf_model *analyze_classifier(const struct analyze *an)
{
	return an->clf;
}

void analyze_close(struct analyze *an)
{
	if (an == NULL)
		return;
	langid_free(an->lid);
	clf_free(an->clf);
	rules_clf_free(an->rules);
	free(an->clf_of_rule);
	free(an);
}

/* analyze_classify - DESIGN NOTE 2 */
int analyze_classify(struct analyze *an, const char *text, size_t len, const char *lang,
		     struct analysis *a, struct dk_err *err)
{
	int n = rules_clf_n_labels(an->rules), best, rc = 0;
	double prob[RULES_MAX_LABELS], rules[RULES_MAX_LABELS];
	struct clf_prediction p;

	if ((best = rules_clf_predict(an->rules, text, len, prob, err)) < 0)
		return best;
	a->method = "rules";
	if (an->clf) {
		double *cp = calloc((size_t)clf_n_labels(an->clf), sizeof *cp);

		if (cp == NULL)
			return dk_err_set(err, DK_ENOMEM, "out of memory");
		rc = clf_probabilities(an->clf, text, len, lang, &p, cp, err);
		memcpy(rules, prob, (size_t)n * sizeof *prob);
		if (rc == 0)
			best = clf_fit_combine(an->clf, lang, rules, cp, an->clf_of_rule, n, prob);
		free(cp);
		a->method = "classifier";
	}
	if (rc)
		return rc;
	a->classified = 1;
	snprintf(a->label, sizeof a->label, "%s", rules_clf_label(an->rules, best));
	a->confidence = prob[best];
	a->needs_review = prob[best] < an->review_threshold;
	return 0;
}

/* analyze_language - the first stage alone */
int analyze_language(struct analyze *an, const char *text, size_t len,
		     struct langid_result *res, struct dk_err *err)
{
	return langid_detect(an->lid, text, len, res, err);
}

/* analyze_text - every stage, in the order of DESIGN NOTE 1 */
int analyze_text(struct analyze *an, const char *text, size_t len, struct analysis *a,
		 struct dk_err *err)
{
	struct ent_config ecfg = { 0 };
	double t = now_ms(), t2;
	int rc;

	memset(a, 0, sizeof *a);
	dk_buf_init(&a->summary, 0);
	rc = langid_detect(an->lid, text, len, &a->lang, err);
	a->ms[AN_LANGID] = (t2 = now_ms()) - t;
	if (rc == 0) {
		ecfg.lang = strcmp(a->lang.lang.code, "und") ? a->lang.lang.code : NULL;
		rc = ent_extract(text, len, &ecfg, &a->entities, err);
		a->ms[AN_ENTITIES] = (t = now_ms()) - t2;
	}
	if (rc == 0) {
		rc = analyze_classify(an, text, len, ecfg.lang, a, err);
		a->ms[AN_CLASSIFY] = (t2 = now_ms()) - t;
	}
	if (rc == 0) {
		an->sum.language = ecfg.lang;
		rc = summary_extractive(text, len, &an->sum, &a->summary, err);
		a->ms[AN_SUMMARY] = now_ms() - t2;
	}
	if (rc)
		analysis_release(a);
	return rc;
}

void analysis_release(struct analysis *a)
{
	ent_list_release(&a->entities);
	dk_buf_release(&a->summary);
}
