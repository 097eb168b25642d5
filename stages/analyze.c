/*
 * NAME
 *	analyze - language, entities, class and summary without a model
 * DESIGN NOTES
 *	1. Order matters: language first, because the entity stage uses it to
 *	   break ties between month names and the classifier uses it to set
 *	   aside what all letters in that language share.
 *	2. A stage that fails on this text (invalid UTF-8 cannot reach here:
 *	   extraction produced it) fails the analysis; the caller decides what
 *	   that means for the document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stages/analyze.h"
#include "stages/classifier.h"
#include "stages/summary_extractive.h"

struct analyze {
	struct langid *lid;
	struct clf_model *clf;
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

/* analyze_open - load language data and the classifier */
int analyze_open(struct analyze **out, const struct analyze_opts *opts, struct dk_err *err)
{
	struct analyze *an = calloc(1, sizeof *an);
	int rc;

	*out = NULL;
	if (an == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	an->review_threshold = opts ? opts->review_threshold : 0;
	an->sum.max_chars = opts ? opts->summary_max_chars : 0;
	an->sum.max_sentences = opts ? opts->summary_max_sentences : 0;
	rc = langid_open(&an->lid, opts ? opts->expected_languages : NULL, NULL, err);
	if (rc == 0 && opts && opts->classifier_path && *opts->classifier_path)
		rc = clf_load(opts->classifier_path, &an->clf, err);
	if (rc) {
		analyze_close(an);
		return rc;
	}
	*out = an;
	return 0;
}

void analyze_close(struct analyze *an)
{
	if (an == NULL)
		return;
	langid_free(an->lid);
	clf_free(an->clf);
	free(an);
}

static int classify(struct analyze *an, const char *text, size_t len, struct analysis *a,
		    struct dk_err *err)
{
	struct clf_prediction p;
	const char *lang = strcmp(a->lang.lang.code, "und") ? a->lang.lang.code : NULL;
	int rc;

	if (an->clf == NULL)
		return 0;
	if ((rc = clf_predict(an->clf, text, len, lang, &p, err)) != 0)
		return rc;
	a->classified = 1;
	snprintf(a->label, sizeof a->label, "%s", clf_label(an->clf, p.label));
	a->confidence = p.confidence;
	a->needs_review = p.confidence < an->review_threshold;
	return 0;
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
		rc = classify(an, text, len, a, err);
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
