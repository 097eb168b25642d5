/*
 * NAME
 *	classifier - trained document classifier (multinomial logistic regression)
 * SUMMARY
 *	clf_train() fits softmax regression over textfeat vectors with
 *	deterministic SGD; clf_predict() returns the best label and its
 *	probability; clf_save()/clf_load() keep a model in a versioned file.
 *
 *	Language centering: every example is trained as x - mu(lang), where
 *	mu(lang) is the class-balanced mean feature vector of that language's
 *	examples. Without it, a letter's nearest neighbours are the letters in
 *	its own language, whatever their class. The model keeps, per language,
 *	only W^T mu(lang) (one number per label); clf_predict() subtracts it
 *	for the document's language, or nothing for a language never seen.
 *
 *	Mixing weights: the pipeline combines the model with the taxonomy's
 *	cue words (stages/classify_rules.h) log-linearly; the model carries
 *	the weights, one pair for languages it has training documents in and
 *	one for all others, because a model is worth much less on a language
 *	it never saw (clf_fit.h calibrates them by cross-validation).
 *
 *	File format (little-endian): "DKCLF001", u32 format version (3),
 *	u32 n_labels, u32 feature bits, then per label u32 length + UTF-8 name,
 *	u32 n_langs, per language u32 length + code + f32 shift[n_labels] +
 *	u32 training documents, f32 mix[2][2] ([other, seen][rules, model]),
 *	f32 bias[n_labels], f32 weight[2^bits][n_labels] (feature-major: one
 *	feature's weights for all labels are adjacent, which is what a sparse
 *	dot product reads), u32 FNV-1a checksum of everything before it.
 * OWNERSHIP
 *	struct clf_model is owned by whoever got it from clf_train/clf_load and
 *	freed with clf_free(). clf_label() returns a string owned by the model.
 * THREADS
 *	A loaded model is read-only: clf_predict() is safe from many threads.
 * ERRORS
 *	DK_EINVAL (bad arguments or text), DK_ENOMEM, DK_EIO (file),
 *	DK_EFORMAT (not a model file, wrong version, corrupt).
 */
#ifndef DK_CLASSIFIER_H
#define DK_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

#define CLF_MAX_LABELS 256
/*
 * Ten passes: on ../shared/eval/dev (two-fold, model alone) 10 epochs did as
 * well as 40 (41 vs 40 of 50) at a quarter of the cost, which calibration pays
 * a dozen times over.
 */
#define CLF_EPOCHS 10

struct clf_model;

struct clf_example {
	const char *text;
	size_t len;
	int label;		/* index into the labels given to clf_train() */
	const char *lang;	/* ISO 639-1 of the text, or NULL if unknown */
	float weight;		/* 1.0 for a document; descriptions have their own */
	int description;	/* 1: a taxonomy description, not a document */
};

struct clf_train_opts {
	int epochs;		/* default CLF_EPOCHS */
	double l2;		/* weight decay per step, default 1e-5 */
	uint64_t seed;		/* shuffling; default 1 */
};

struct clf_prediction {
	int label;
	double confidence;	/* softmax probability of label */
	double second;		/* probability of the runner-up */
};

int clf_train(const struct clf_example *ex, size_t n, const char *const *labels,
	      int n_labels, const struct clf_train_opts *opts,
	      struct clf_model **out, struct dk_err *err);
struct textfeat;
/* clf_train_feats - the same, with feat[i] the textfeat vector of ex[i] (borrowed) */
int clf_train_feats(const struct textfeat *feat, const struct clf_example *ex, size_t n,
		    const char *const *labels, int n_labels, const struct clf_train_opts *opts,
		    struct clf_model **out, struct dk_err *err);
/* clf_predict - lang is the text's ISO 639-1 code or NULL */
int clf_predict(const struct clf_model *m, const char *text, size_t len, const char *lang,
		struct clf_prediction *out, struct dk_err *err);
/* clf_probabilities - like clf_predict, and prob[n_labels] for every label */
int clf_probabilities(const struct clf_model *m, const char *text, size_t len, const char *lang,
		      struct clf_prediction *out, double *prob, struct dk_err *err);
int clf_save(const struct clf_model *m, const char *path, struct dk_err *err);
int clf_load(const char *path, struct clf_model **out, struct dk_err *err);
void clf_free(struct clf_model *m);

int clf_n_labels(const struct clf_model *m);
const char *clf_label(const struct clf_model *m, int i);
/* clf_label_index - index of a label name, or -1 */
int clf_label_index(const struct clf_model *m, const char *name);
/* clf_trained_docs - how many training documents were in lang (NULL: 0) */
unsigned clf_trained_docs(const struct clf_model *m, const char *lang);
/* clf_get_mix - weights of cue words and model for seen (1) or other (0) languages */
void clf_get_mix(const struct clf_model *m, int seen, double *w_rules, double *w_model);
/* clf_set_mix - set the pair for seen (1) or other (0) languages */
void clf_set_mix(struct clf_model *m, int seen, double w_rules, double w_model);

#endif
