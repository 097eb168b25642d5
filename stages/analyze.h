/*
 * NAME
 *	analyze - the stages that need no model, run on a document's text
 * SUMMARY
 *	analyze_open() loads what the stages need (language models, the
 *	trained classifier if one is configured) once, before a worker enters
 *	its sandbox. analyze_text() then runs, on the stored text of one
 *	document: language detection, rule-based entities, classification
 *	(the taxonomy's cue words, stages/classify_rules.h, combined with the
 *	trained model when one is configured), and the extractive summary. The pipeline's
 *	worker and `docket eval` both call it, so what eval measures is what
 *	the pipeline stores.
 * OWNERSHIP
 *	struct analyze is owned by its opener (analyze_close()). struct
 *	analysis is caller storage; analysis_release() frees its contents.
 *	Options' strings are copied at open.
 * LIFETIME
 *	Entity offsets refer to the text given to analyze_text().
 * THREADS
 *	One struct analyze per thread.
 * ERRORS
 *	analyze_open(): langid_open()'s, taxonomy_load()'s and clf_load()'s
 *	codes, and DK_ECONFIG when the trained model's labels are not the
 *	taxonomy's.
 *	analyze_text(): DK_EINVAL (text not UTF-8), DK_ENOMEM, and the
 *	entity stage's DK_ECONFIG.
 */
#ifndef DK_ANALYZE_H
#define DK_ANALYZE_H

#include "stages/classifier.h"
#include "stages/entities.h"
#include "stages/langid.h"
#include "util/dk_buf.h"
#include "util/dk_err.h"

struct analyze_opts {
	const char *expected_languages;	/* NULL: the 24 EU languages */
	const char *classifier_path;	/* NULL: no trained classifier */
	const char *taxonomy_path;	/* NULL: DATADIR/prompts/taxonomy.tsv */
	double review_threshold;	/* confidence below this: needs_review */
	size_t summary_max_chars;	/* 0: default */
	int summary_max_sentences;	/* 0: default */
};

struct analyze;

enum analyze_stage { AN_LANGID, AN_ENTITIES, AN_CLASSIFY, AN_SUMMARY, AN_N_STAGES };

struct analysis {
	struct langid_result lang;
	struct ent_list entities;
	int classified;			/* 1 once a label was chosen */
	const char *method;		/* "rules" or "classifier" (static) */
	char label[64];
	double confidence;
	int needs_review;
	struct dk_buf summary;		/* extractive summary, may be empty */
	double ms[AN_N_STAGES];		/* wall-clock per stage */
};

int analyze_open(struct analyze **an, const struct analyze_opts *opts, struct dk_err *err);
void analyze_close(struct analyze *an);

/* analyze_text - run every stage on text[0..len) */
int analyze_text(struct analyze *an, const char *text, size_t len, struct analysis *out,
		 struct dk_err *err);
void analysis_release(struct analysis *a);

/* analyze_language - only language detection, with the analysis' settings */
int analyze_language(struct analyze *an, const char *text, size_t len,
		     struct langid_result *res, struct dk_err *err);

/*
 * analyze_classify - only the classification stage: fills classified,
 * method, label, confidence, needs_review of a (lang: ISO 639-1 or NULL)
 */
int analyze_classify(struct analyze *an, const char *text, size_t len, const char *lang,
		     struct analysis *a, struct dk_err *err);

/*
 * analyze_set_classifier - use model m from now on (NULL: none); takes m,
 * and frees the one before; DK_ECONFIG when m lacks a taxonomy label
 */
int analyze_set_classifier(struct analyze *an, struct clf_model *m, struct dk_err *err);
/* analyze_classifier - the trained model in use (borrowed), or NULL */
const struct clf_model *analyze_classifier(const struct analyze *an);

/* analyze_stage_name - "langid", "entities", "classify", "summary" */
const char *analyze_stage_name(enum analyze_stage s);

#endif
