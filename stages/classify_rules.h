/*
 * NAME
 *	classify_rules - classify by the taxonomy's own words, no training
 * SUMMARY
 *	Every word of four letters or more in a label's descriptions (all
 *	languages of prompts/taxonomy.tsv) is a cue for that label, weighted
 *	by how few labels share it (log(n_labels / labels with the word)). A
 *	document scores, per label, the sum of the weights of the cues its
 *	words match, each distinct document word once; a word longer than five
 *	letters also matches cues that are its prefixes of five letters or
 *	more, which catches compounds and inflections ("Rechnungsnummer",
 *	"odwołania"). Case and accents are ignored.
 *	The scores become probabilities by a softmax with a fixed temperature.
 * OWNERSHIP
 *	struct rules_clf is owned by its builder (rules_clf_free()). The
 *	taxonomy is only read during rules_clf_build().
 * THREADS
 *	Read-only after building: rules_clf_predict() is safe from any thread.
 * ERRORS
 *	DK_EINVAL (text not UTF-8, or more than RULES_MAX_LABELS labels),
 *	DK_ENOMEM, DK_EIO (ICU).
 */
#ifndef DK_CLASSIFY_RULES_H
#define DK_CLASSIFY_RULES_H

#include <stddef.h>

#include "stages/taxonomy.h"
#include "util/dk_err.h"

#define RULES_MAX_LABELS 64

struct rules_clf;

int rules_clf_build(const struct taxonomy *t, struct rules_clf **out, struct dk_err *err);
void rules_clf_free(struct rules_clf *r);

int rules_clf_n_labels(const struct rules_clf *r);
const char *rules_clf_label(const struct rules_clf *r, int i);

/* rules_clf_predict - prob[n_labels] (sums to 1); returns the best label's index or <0 */
int rules_clf_predict(const struct rules_clf *r, const char *text, size_t len, double *prob,
		      struct dk_err *err);

#endif
