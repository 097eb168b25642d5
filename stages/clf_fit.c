/*
 * NAME
 *	clf_fit - train the pipeline's classifier and calibrate its weight
 * DESIGN NOTES
 *	1. Labels: the taxonomy's, in its order, then labels found only in
 *	   documents, in order of first appearance.
 *	2. Calibration data: every document is held out once in each of two
 *	   schemes. K folds by position (document i in fold i mod K) give
 *	   pairs (cue-word probabilities, model probabilities) for languages
 *	   the fold's model has documents in; leaving one language out gives
 *	   them for languages it has not. Every fold's model is trained
 *	   exactly like the final one, without calibration.
 *	3. Choice per group (seen, other): on a fixed grid of (w_rules,
 *	   w_model), the most held-out documents right; among ties, the ratio
 *	   w_model / w_rules nearest to 1 (a few dozen held-out documents
 *	   rarely separate the weights, and then the plain product is the
 *	   prior: neither source is thrown away on no evidence); then the
 *	   highest mean log-probability of the gold label; then the first in
 *	   grid order.
 *	4. A group without held-out documents keeps the plain product (1, 1);
 *	   a document whose label is not the taxonomy's is never held out
 *	   (the cue words cannot name it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stages/classify_rules.h"
#include "stages/clf_fit.h"
#include "stages/textfeat.h"

#define CAL_FOLDS 5

/*
 * The cue words keep weight 1 (their temperature is fixed in classify_rules):
 * on a training set they classify perfectly, the log-likelihood would push
 * both weights up without bound and every confidence to 1.00, and the
 * review threshold would never fire. Only the model's weight is learned.
 */
static const double grid_rules[] = { 1 };
static const double grid_model[] = { 0, 0.125, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4 };

/* mix - prob[k] ~ p_rules[k]^wr * p_model[model_of[k]]^wm; the best k */
static int mix(double wr, double wm, const double *p_rules, const double *p_model,
	       const int *model_of, int n_rules, double *out)
{
	double mx = -INFINITY, sum = 0;
	int best = 0;

	for (int k = 0; k < n_rules; k++) {
		out[k] = wr * log(p_rules[k] + 1e-12) + wm * log(p_model[model_of[k]] + 1e-12);
		mx = out[k] > mx ? out[k] : mx;
	}
	for (int k = 0; k < n_rules; k++)
		sum += (out[k] = exp(out[k] - mx));
	for (int k = 0; k < n_rules; k++) {
		out[k] /= sum;
		if (out[k] > out[best])
			best = k;	/* ties: the earlier label */
	}
	return best;
}

/* clf_fit_combine - see clf_fit.h */
int clf_fit_combine(const struct clf_model *m, const char *lang, const double *p_rules,
		    const double *p_model, const int *model_of, int n_rules, double *out)
{
	double wr, wm;

	clf_get_mix(m, clf_trained_docs(m, lang) > 0, &wr, &wm);
	return mix(wr, wm, p_rules, p_model, model_of, n_rules, out);
}

/* label_list - the labels of note 1 */
struct label_list {
	const char **v;
	int n;
};

static int label_add(struct label_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return i;
	if (l->n == CLF_MAX_LABELS)
		return -1;
	l->v[l->n] = name;
	return l->n++;
}

/*
 * fitset - every example clf_fit() may train on, features extracted once:
 * the taxonomy's descriptions first, then the documents (note 1's labels)
 */
struct fitset {
	struct clf_example *ex;		/* (n_desc + n_docs) */
	struct textfeat *feat;		/* (n_desc + n_docs) */
	size_t n_desc, n_docs;
	struct label_list l;
};

static int fitset_init(struct fitset *f, const struct clf_doc *docs, size_t n,
		       const struct taxonomy *tax, const struct clf_fit_opts *o, struct dk_err *err)
{
	size_t k = 0;
	int rc = 0;

	f->n_desc = o->no_descriptions ? 0 : tax->n_entries;
	f->n_docs = n;
	f->ex = calloc(f->n_desc + n + 1, sizeof *f->ex);
	f->feat = calloc(f->n_desc + n + 1, sizeof *f->feat);
	f->l = (struct label_list){ calloc(CLF_MAX_LABELS, sizeof *f->l.v), 0 };
	if (!f->ex || !f->feat || !f->l.v)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (size_t i = 0; i < tax->n_labels; i++)
		label_add(&f->l, tax->labels[i]);
	for (size_t i = 0; i < f->n_desc; i++)
		f->ex[k++] = (struct clf_example){ tax->entries[i].description,
						   strlen(tax->entries[i].description),
						   label_add(&f->l, tax->entries[i].label),
						   tax->entries[i].lang, CLF_DESCRIPTION_WEIGHT, 1 };
	for (size_t i = 0; rc == 0 && i < n; i++) {
		f->ex[k] = (struct clf_example){ docs[i].text, docs[i].len,
						 label_add(&f->l, docs[i].label), docs[i].lang, 1.0f, 0 };
		if (f->ex[k++].label < 0)
			rc = dk_err_set(err, DK_EINVAL, "more than %d labels", CLF_MAX_LABELS);
	}
	for (size_t i = 0; rc == 0 && i < k; i++)
		if ((rc = textfeat_extract(f->ex[i].text, f->ex[i].len, &f->feat[i], err)) != 0)
			dk_err_set(err, rc, "example %zu: %s", i, err ? err->msg : "bad text");
	return rc;
}

static void fitset_release(struct fitset *f)
{
	for (size_t i = 0; f->feat && i < f->n_desc + f->n_docs; i++)
		textfeat_release(&f->feat[i]);
	free(f->feat);
	free(f->ex);
	free(f->l.v);
}

/* fit_some - a model on the descriptions and the documents with use[i] set */
static int fit_some(const struct fitset *f, const unsigned char *use,
		    const struct clf_fit_opts *o, struct clf_model **out, struct dk_err *err)
{
	struct clf_train_opts to = { o->epochs, 1e-5, o->seed ? o->seed : 1 };
	size_t total = f->n_desc + f->n_docs, k = 0;
	struct clf_example *ex = calloc(total + 1, sizeof *ex);
	struct textfeat *feat = calloc(total + 1, sizeof *feat);
	int rc;

	if (!ex || !feat) {
		free(ex);
		free(feat);
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < total; i++)
		if (i < f->n_desc || !use || use[i - f->n_desc]) {
			ex[k] = f->ex[i];
			feat[k++] = f->feat[i];	/* borrowed: not released here */
		}
	rc = clf_train_feats(feat, ex, k, f->l.v, f->l.n, &to, out, err);
	free(ex);
	free(feat);
	return rc;
}

/* heldout - one held-out document's two distributions (note 2) */
struct heldout {
	const double *pr;	/* (n_rules) cue words, owned by struct calib */
	double *pm;		/* (model labels) */
	int gold;		/* rules label index */
	int seen;
	const char *lang;
};

struct calib {
	const struct clf_doc *docs;
	size_t n;
	const struct taxonomy *tax;
	const struct clf_fit_opts *o;
	const struct fitset *set;
	int n_rules;
	double *pr;		/* (n, n_rules) */
	int *gold;		/* (n) rules label, or -1 */
	struct heldout *h;	/* (2 n) */
	size_t n_h;
	int *model_of;		/* (n_rules) identity: note 1 */
};

/* hold_out - train without the documents in out[], score them */
static int hold_out(struct calib *c, const unsigned char *out, struct dk_err *err)
{
	unsigned char *use = malloc(c->n);
	struct clf_model *m = NULL;
	struct clf_prediction p;
	int rc = use ? 0 : dk_err_set(err, DK_ENOMEM, "out of memory");

	for (size_t i = 0; rc == 0 && i < c->n; i++)
		use[i] = !out[i];
	if (rc == 0)
		rc = fit_some(c->set, use, c->o, &m, err);
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		struct heldout *h = &c->h[c->n_h];

		if (!out[i] || c->gold[i] < 0)
			continue;
		*h = (struct heldout){ c->pr + i * (size_t)c->n_rules,
				       calloc((size_t)clf_n_labels(m), sizeof *h->pm), c->gold[i],
				       clf_trained_docs(m, c->docs[i].lang) > 0, c->docs[i].lang };
		if (h->pm == NULL)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		else
			rc = clf_probabilities(m, c->docs[i].text, c->docs[i].len, h->lang, &p, h->pm,
					       err);
		c->n_h++;
	}
	clf_free(m);
	free(use);
	return rc;
}

/* collect - both schemes of note 2 */
static int collect(struct calib *c, struct dk_err *err)
{
	unsigned char *out = calloc(c->n ? c->n : 1, 1);
	int rc = out ? 0 : dk_err_set(err, DK_ENOMEM, "out of memory");

	for (size_t f = 0; rc == 0 && f < CAL_FOLDS && f < c->n; f++) {
		for (size_t i = 0; i < c->n; i++)
			out[i] = i % CAL_FOLDS == f;
		rc = hold_out(c, out, err);
	}
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		int first = 1, any = 0;

		if (c->docs[i].lang == NULL)
			continue;
		for (size_t j = 0; j < c->n; j++) {	/* i is that language's first document */
			int same = c->docs[j].lang && strcmp(c->docs[j].lang, c->docs[i].lang) == 0;

			first &= !(same && j < i);
			any |= !same;
			out[j] = same;
		}
		if (first && any)
			rc = hold_out(c, out, err);
	}
	free(out);
	return rc;
}

/* ratio_gap - how far w_model / w_rules is from 1, in octaves (note 3) */
static double ratio_gap(double wr, double wm)
{
	return fabs(log2((wm + 1e-3) / wr));
}

/* better - note 3's order: accuracy, then ratio gap, then log-likelihood */
static int better(double acc, double gap, double ll, double best_acc, double best_gap,
		  double best_ll)
{
	if (acc != best_acc)
		return acc > best_acc;
	if (fabs(gap - best_gap) > 1e-9)
		return gap < best_gap;
	return ll > best_ll + 1e-9;
}

/* choose - note 3 for one group; leaves (1, 1) when the group is empty */
static void choose(struct clf_model *m, const struct calib *c, int seen, double *combined)
{
	double best_acc = -1, best_ll = -INFINITY, wr = 1, wm = 1;
	size_t nr = sizeof grid_rules / sizeof *grid_rules, nm = sizeof grid_model / sizeof *grid_model;

	for (size_t a = 0; a < nr; a++)
		for (size_t b = 0; b < nm; b++) {
			double acc = 0, ll = 0;
			size_t used = 0;

			for (size_t i = 0; i < c->n_h; i++) {
				const struct heldout *h = &c->h[i];

				if (h->seen != seen)
					continue;
				used++;
				acc += mix(grid_rules[a], grid_model[b], h->pr, h->pm, c->model_of,
					   c->n_rules, combined) == h->gold;
				ll += log(combined[h->gold] + 1e-12);
			}
			if (used && better(acc, ratio_gap(grid_rules[a], grid_model[b]), ll,
					   best_acc, ratio_gap(wr, wm), best_ll)) {
				best_acc = acc;
				best_ll = ll;
				wr = grid_rules[a];
				wm = grid_model[b];
			}
		}
	clf_set_mix(m, seen, wr, wm);
}

/* calib_init - cue-word probabilities and gold labels of every document */
static int calib_init(struct calib *c, const struct rules_clf *r, struct dk_err *err)
{
	c->n_rules = rules_clf_n_labels(r);
	c->pr = calloc((c->n ? c->n : 1) * (size_t)c->n_rules, sizeof *c->pr);
	c->gold = calloc(c->n ? c->n : 1, sizeof *c->gold);
	c->h = calloc(2 * c->n + 1, sizeof *c->h);
	c->model_of = calloc((size_t)c->n_rules, sizeof *c->model_of);
	if (!c->pr || !c->gold || !c->h || !c->model_of)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (int k = 0; k < c->n_rules; k++)
		c->model_of[k] = k;
	for (size_t i = 0; i < c->n; i++) {
		int rc = rules_clf_predict(r, c->docs[i].text, c->docs[i].len,
					   c->pr + i * (size_t)c->n_rules, err);

		if (rc < 0)
			return rc;
		c->gold[i] = taxonomy_label_index(c->tax, c->docs[i].label);
	}
	return 0;
}

static void calib_release(struct calib *c)
{
	for (size_t i = 0; c->h && i < c->n_h; i++)
		free(c->h[i].pm);
	free(c->h);
	free(c->pr);
	free(c->gold);
	free(c->model_of);
}

/* calibrate - notes 2 to 4: set m's two pairs of mixing weights */
static int calibrate(struct clf_model *m, const struct fitset *set, const struct clf_doc *docs,
		     size_t n, const struct taxonomy *tax, const struct clf_fit_opts *o,
		     struct dk_err *err)
{
	struct calib c = { docs, n, tax, o, set, 0, NULL, NULL, NULL, 0, NULL };
	struct rules_clf *r = NULL;
	double *combined = NULL;
	int rc = rules_clf_build(tax, &r, err);

	if (rc == 0)
		rc = calib_init(&c, r, err);
	if (rc == 0)
		rc = collect(&c, err);
	if (rc == 0 && (combined = calloc((size_t)c.n_rules, sizeof *combined)) == NULL)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	for (int seen = 0; rc == 0 && seen < 2; seen++)
		choose(m, &c, seen, combined);
	free(combined);
	calib_release(&c);
	rules_clf_free(r);
	return rc;
}

/* clf_fit - train on everything; calibrate on held-out folds if asked */
int clf_fit(const struct clf_doc *docs, size_t n, const struct taxonomy *tax,
	    const struct clf_fit_opts *o, struct clf_model **out, struct dk_err *err)
{
	struct fitset set = { 0 };
	int rc = fitset_init(&set, docs, n, tax, o, err);

	*out = NULL;
	if (rc == 0)
		rc = fit_some(&set, NULL, o, out, err);
	if (rc == 0 && o->calibrate && (rc = calibrate(*out, &set, docs, n, tax, o, err)) != 0) {
		clf_free(*out);
		*out = NULL;
	}
	fitset_release(&set);
	return rc;
}
