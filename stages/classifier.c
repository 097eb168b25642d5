/*
 * NAME
 *	classifier - softmax regression over hashed n-grams
 * DESIGN NOTES
 *	1. Determinism: features are hashed, examples are visited in an order
 *	   drawn from a seeded xorshift generator, and all arithmetic is in a
 *	   fixed order, so the same data and options give the same file.
 *	2. Classes are balanced: each example's gradient is scaled by
 *	   n / (n_labels * count(label)), so a label with few examples is not
 *	   drowned out.
 *	3. Weight decay shrinks all of W every step, kept as one global factor
 *	   c (W = c U) so a step still costs only the example's features.
 *	4. Loading trusts nothing: sizes are checked against the file size
 *	   before anything is read, and a checksum covers the whole file.
 *	5. Language centering (classifier.h): mu(lang) is the mean over labels
 *	   of the per-label mean vector of that language's examples, so a
 *	   language with more letters of one class does not pull mu towards
 *	   that class. After training only shift(lang) = W^T mu(lang) is kept.
 *	6. Training never touches mu's support (tens of thousands of buckets)
 *	   per step. With W = c (U - sum_l mu_l B_l^T), the step for x - mu_l
 *	   changes U on x's support and B_l by one vector; the scores need
 *	   U^T mu_l (kept up to date through the dot products x_i . mu_l,
 *	   computed once) and mu_l . mu_l'. The result is the same SGD as
 *	   updating W on (x - mu) directly, at the cost of x alone.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/classifier.h"
#include "stages/textfeat.h"

static const char clf_magic[8] = { 'D', 'K', 'C', 'L', 'F', '0', '0', '1' };
#define CLF_VERSION 3u
#define CLF_MAX_LANGS 64
#define CLF_MAX_LABEL_LEN 256u

struct clf_model {
	int n_labels;
	char **labels;
	int n_langs;
	char (*langs)[12];
	float *shift;		/* (n_langs, n_labels): W^T mu(lang) */
	uint32_t *docs;		/* (n_langs): training documents in that language */
	float mix[2][2];	/* [seen][0]: weight of the cue words, [1]: of the model */
	float *bias;		/* (n_labels) */
	float *w;		/* (TEXTFEAT_DIM, n_labels) */
};

/* clf_free - release a model */
void clf_free(struct clf_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; m->labels && i < m->n_labels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->langs);
	free(m->shift);
	free(m->docs);
	free(m->bias);
	free(m->w);
	free(m);
}

static struct clf_model *model_alloc(int n_labels)
{
	struct clf_model *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->n_labels = n_labels;
	for (int s = 0; s < 2; s++)
		m->mix[s][0] = m->mix[s][1] = 1;	/* a plain product until calibrated */
	m->labels = calloc((size_t)n_labels, sizeof *m->labels);
	m->bias = calloc((size_t)n_labels, sizeof *m->bias);
	m->w = calloc((size_t)TEXTFEAT_DIM * (size_t)n_labels, sizeof *m->w);
	if (!m->labels || !m->bias || !m->w) {
		clf_free(m);
		return NULL;
	}
	return m;
}

int clf_n_labels(const struct clf_model *m)
{
	return m->n_labels;
}

const char *clf_label(const struct clf_model *m, int i)
{
	return i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}

/* lang_index - the model's index of a language, or -1 */
static int lang_index(const struct clf_model *m, const char *lang)
{
	for (int l = 0; lang && l < m->n_langs; l++)
		if (strcmp(m->langs[l], lang) == 0)
			return l;
	return -1;
}

unsigned clf_trained_docs(const struct clf_model *m, const char *lang)
{
	int l = lang_index(m, lang);

	return l < 0 ? 0 : m->docs[l];
}

void clf_set_mix(struct clf_model *m, int seen, double w_rules, double w_model)
{
	m->mix[seen != 0][0] = (float)w_rules;
	m->mix[seen != 0][1] = (float)w_model;
}

void clf_get_mix(const struct clf_model *m, int seen, double *w_rules, double *w_model)
{
	*w_rules = m->mix[seen != 0][0];
	*w_model = m->mix[seen != 0][1];
}

int clf_label_index(const struct clf_model *m, const char *name)
{
	for (int i = 0; i < m->n_labels; i++)
		if (strcmp(m->labels[i], name) == 0)
			return i;
	return -1;
}

/* center - mu(lang) during training, sparse */
struct center {
	char lang[12];
	struct textfeat mu;
};

/* softmax_scores - p = softmax(bias + W^T x - shift); shift optional */
static void softmax_scores(const struct clf_model *m, const struct textfeat *x,
			   const float *shift, double *p)
{
	double mx = -INFINITY, sum = 0;

	for (int k = 0; k < m->n_labels; k++)
		p[k] = m->bias[k] - (shift ? shift[k] : 0);
	for (size_t i = 0; i < x->n; i++) {
		const float *row = m->w + (size_t)x->idx[i] * (size_t)m->n_labels;

		for (int k = 0; k < m->n_labels; k++)
			p[k] += (double)row[k] * x->val[i];
	}
	for (int k = 0; k < m->n_labels; k++)
		mx = p[k] > mx ? p[k] : mx;
	for (int k = 0; k < m->n_labels; k++)
		sum += (p[k] = exp(p[k] - mx));
	for (int k = 0; k < m->n_labels; k++)
		p[k] /= sum;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* trainer - training state (DESIGN NOTE 6): W = c (U - sum_l mu_l B_l^T) */
struct trainer {
	struct clf_model *m;	/* m->w holds U while training */
	const struct center *c;
	int n_langs, k;
	double scale;		/* c: the global factor that weight decay shrinks */
	double *b;		/* (n_langs, k) */
	double *s;		/* (n_langs, k): U^T mu_l */
	double *mm;		/* (n_langs, n_langs): mu_l . mu_l' */
	double *px;		/* (n, n_langs): x_i . mu_l */
	int *lang_of;		/* (n): center of example i, or -1 */
};

/* dense_dot - dot product of a dense vector (TEXTFEAT_DIM) and a sparse one */
static double dense_dot(const float *dense, const struct textfeat *x)
{
	double d = 0;

	for (size_t i = 0; i < x->n; i++)
		d += (double)dense[x->idx[i]] * x->val[i];
	return d;
}

/* train_scores - softmax of bias + W^T (x_i - mu(lang of i)) into p */
static void train_scores(const struct trainer *t, const struct textfeat *x, size_t i, double *p)
{
	const struct clf_model *m = t->m;
	int l = t->lang_of[i];
	double mx = -INFINITY, sum = 0;

	for (int k = 0; k < t->k; k++)
		p[k] = 0;
	for (size_t j = 0; j < x->n; j++) {
		const float *row = m->w + (size_t)x->idx[j] * (size_t)t->k;

		for (int k = 0; k < t->k; k++)
			p[k] += (double)row[k] * x->val[j];
	}
	for (int k = 0; k < t->k; k++) {
		for (int q = 0; q < t->n_langs; q++)
			p[k] -= t->b[q * t->k + k] * (t->px[i * (size_t)t->n_langs + (size_t)q] -
						      (l >= 0 ? t->mm[l * t->n_langs + q] : 0));
		if (l >= 0)
			p[k] -= t->s[l * t->k + k];
		p[k] = m->bias[k] + t->scale * p[k];
		mx = p[k] > mx ? p[k] : mx;
	}
	for (int k = 0; k < t->k; k++)
		sum += (p[k] = exp(p[k] - mx));
	for (int k = 0; k < t->k; k++)
		p[k] /= sum;
}

/* rescale - fold the global factor into U, B and S before it underflows */
static void rescale(struct trainer *t)
{
	for (size_t j = 0; j < (size_t)TEXTFEAT_DIM * (size_t)t->k; j++)
		t->m->w[j] = (float)(t->m->w[j] * t->scale);
	for (int j = 0; j < t->n_langs * t->k; j++) {
		t->b[j] *= t->scale;
		t->s[j] *= t->scale;
	}
	t->scale = 1;
}

/* sgd_step - one example's update (DESIGN NOTES 2, 3, 6); p is scratch */
static void sgd_step(struct trainer *t, const struct textfeat *x, size_t i, int y,
		     double step, double l2, double *p)
{
	struct clf_model *m = t->m;
	int l = t->lang_of[i];

	train_scores(t, x, i, p);
	if ((t->scale *= 1.0 - l2) < 1e-3)
		rescale(t);
	for (int k = 0; k < t->k; k++) {
		m->bias[k] -= (float)((p[k] - (k == y)) * step);
		p[k] = (p[k] - (k == y)) * step / t->scale;	/* the step on U, B, S */
	}
	for (size_t j = 0; j < x->n; j++) {
		float *row = m->w + (size_t)x->idx[j] * (size_t)t->k;

		for (int k = 0; k < t->k; k++)
			row[k] = (float)(row[k] - p[k] * x->val[j]);
	}
	for (int q = 0; q < t->n_langs; q++)
		for (int k = 0; k < t->k; k++)
			t->s[q * t->k + k] -= p[k] * t->px[i * (size_t)t->n_langs + (size_t)q];
	for (int k = 0; l >= 0 && k < t->k; k++)
		t->b[l * t->k + k] -= p[k];
}

/* trainer_finish - W = c (U - sum_l mu_l B_l^T) into m->w */
static void trainer_finish(struct trainer *t)
{
	for (int l = 0; l < t->n_langs; l++)
		for (size_t j = 0; j < t->c[l].mu.n; j++) {
			float *row = t->m->w + (size_t)t->c[l].mu.idx[j] * (size_t)t->k;

			for (int k = 0; k < t->k; k++)
				row[k] = (float)(row[k] - t->c[l].mu.val[j] * t->b[l * t->k + k]);
		}
	rescale(t);
}

/* trainer_init - dot products of DESIGN NOTE 6; 0 or DK_ENOMEM */
static int trainer_init(struct trainer *t, struct clf_model *m, const struct center *c,
			int n_langs, const struct textfeat *feat, size_t n)
{
	float *dense;

	*t = (struct trainer){ .m = m, .c = c, .n_langs = n_langs, .k = m->n_labels, .scale = 1 };
	t->b = calloc((size_t)(n_langs ? n_langs : 1) * (size_t)t->k, sizeof *t->b);
	t->s = calloc((size_t)(n_langs ? n_langs : 1) * (size_t)t->k, sizeof *t->s);
	t->mm = calloc((size_t)(n_langs ? n_langs * n_langs : 1), sizeof *t->mm);
	t->px = calloc((n ? n : 1) * (size_t)(n_langs ? n_langs : 1), sizeof *t->px);
	if (!t->b || !t->s || !t->mm || !t->px)
		return DK_ENOMEM;
	if ((dense = calloc(TEXTFEAT_DIM, sizeof *dense)) == NULL)
		return DK_ENOMEM;
	for (int q = 0; q < n_langs; q++) {	/* mu_q scattered once, then looked up */
		for (size_t j = 0; j < c[q].mu.n; j++)
			dense[c[q].mu.idx[j]] = c[q].mu.val[j];
		for (int l = 0; l < n_langs; l++)
			t->mm[l * n_langs + q] = dense_dot(dense, &c[l].mu);
		for (size_t i = 0; i < n; i++)
			t->px[i * (size_t)n_langs + (size_t)q] = dense_dot(dense, &feat[i]);
		for (size_t j = 0; j < c[q].mu.n; j++)
			dense[c[q].mu.idx[j]] = 0;
	}
	free(dense);
	return 0;
}

static void trainer_release(struct trainer *t)
{
	free(t->b);
	free(t->s);
	free(t->mm);
	free(t->px);
}

/* fit - epochs of seeded SGD (DESIGN NOTES 1, 2) */
static int fit(struct trainer *t, const struct textfeat *feat, const struct clf_example *ex,
	       size_t n, const struct clf_train_opts *o, struct dk_err *err)
{
	int n_labels = t->k;
	double *count = calloc((size_t)n_labels, sizeof *count);
	double *p = calloc((size_t)n_labels, sizeof *p);
	size_t *order = malloc((n ? n : 1) * sizeof *order);
	uint64_t s = o->seed ? o->seed : 1;
	size_t step = 0;

	if (!count || !p || !order) {
		free(count);
		free(p);
		free(order);
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		count[ex[i].label] += ex[i].weight;
		order[i] = i;
	}
	for (int epoch = 0; epoch < o->epochs; epoch++) {
		for (size_t i = n; i > 1; i--) {	/* Fisher-Yates, seeded */
			size_t j = (size_t)(xorshift(&s) % i), tmp = order[i - 1];

			order[i - 1] = order[j];
			order[j] = tmp;
		}
		for (size_t i = 0; i < n; i++, step++) {
			const struct clf_example *e = &ex[order[i]];
			double scale = e->weight * (double)n / (n_labels * count[e->label]);

			sgd_step(t, &feat[order[i]], order[i], e->label,
				 scale * 4.0 / (1.0 + (double)step / (double)n), o->l2, p);
		}
	}
	trainer_finish(t);
	free(count);
	free(p);
	free(order);
	return 0;
}

static int find_lang(const struct center *c, int n, const char *lang)
{
	for (int i = 0; i < n; i++)
		if (strcmp(c[i].lang, lang) == 0)
			return i;
	return -1;
}

/* make_center - class-balanced mean of one language's vectors (DESIGN NOTE 5) */
static int make_center(struct center *c, const struct textfeat *feat,
		       const struct clf_example *ex, size_t n, int n_labels)
{
	double *sum = calloc(TEXTFEAT_DIM, sizeof *sum), *cnt = calloc((size_t)n_labels, sizeof *cnt);
	int present = 0, rc = DK_ENOMEM;
	size_t nz = 0;

	if (!sum || !cnt)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (ex[i].lang && strcmp(ex[i].lang, c->lang) == 0)
			cnt[ex[i].label] += 1;
	for (int k = 0; k < n_labels; k++)
		present += cnt[k] > 0;
	for (size_t i = 0; i < n; i++)
		if (ex[i].lang && strcmp(ex[i].lang, c->lang) == 0)
			for (size_t j = 0; j < feat[i].n; j++)
				sum[feat[i].idx[j]] += feat[i].val[j] / (cnt[ex[i].label] * present);
	for (uint32_t b = 0; b < TEXTFEAT_DIM; b++)
		nz += sum[b] != 0;
	c->mu.idx = malloc((nz ? nz : 1) * sizeof *c->mu.idx);
	c->mu.val = malloc((nz ? nz : 1) * sizeof *c->mu.val);
	if (!c->mu.idx || !c->mu.val)
		goto out;
	for (uint32_t b = 0; b < TEXTFEAT_DIM; b++)
		if (sum[b] != 0) {
			c->mu.idx[c->mu.n] = b;
			c->mu.val[c->mu.n++] = (float)sum[b];
		}
	rc = 0;
out:
	free(sum);
	free(cnt);
	return rc;
}

/* make_centers - one center per language seen; lang_of[i] for each example */
static int make_centers(struct center *c, int *n_centers, const struct textfeat *feat,
			const struct clf_example *ex, size_t n, int n_labels,
			int *lang_of, struct dk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int k;

		lang_of[i] = -1;
		if (ex[i].lang == NULL || strlen(ex[i].lang) >= sizeof c->lang)
			continue;
		if ((k = find_lang(c, *n_centers, ex[i].lang)) < 0) {
			if (*n_centers == CLF_MAX_LANGS)
				return dk_err_set(err, DK_EINVAL, "more than %d languages", CLF_MAX_LANGS);
			k = (*n_centers)++;
			snprintf(c[k].lang, sizeof c[k].lang, "%s", ex[i].lang);
			if (make_center(&c[k], feat, ex, n, n_labels) != 0)
				return dk_err_set(err, DK_ENOMEM, "out of memory");
		}
		lang_of[i] = k;
	}
	return 0;
}

/* keep_shifts - store W^T mu(lang) for every center in the model */
static int keep_shifts(struct clf_model *m, const struct center *c, int n_centers,
		       const struct clf_example *ex, size_t n)
{
	m->n_langs = n_centers;
	m->docs = calloc((size_t)(n_centers ? n_centers : 1), sizeof *m->docs);
	if (m->docs == NULL)
		return DK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int l = ex[i].lang && !ex[i].description ? find_lang(c, n_centers, ex[i].lang) : -1;

		if (l >= 0)
			m->docs[l]++;
	}
	m->langs = calloc((size_t)(n_centers ? n_centers : 1), sizeof *m->langs);
	m->shift = calloc((size_t)(n_centers ? n_centers : 1) * (size_t)m->n_labels, sizeof *m->shift);
	if (!m->langs || !m->shift)
		return DK_ENOMEM;
	for (int l = 0; l < n_centers; l++) {
		memcpy(m->langs[l], c[l].lang, sizeof m->langs[l]);
		for (size_t i = 0; i < c[l].mu.n; i++) {
			const float *row = m->w + (size_t)c[l].mu.idx[i] * (size_t)m->n_labels;

			for (int k = 0; k < m->n_labels; k++)
				m->shift[(size_t)l * (size_t)m->n_labels + (size_t)k] +=
					row[k] * c[l].mu.val[i];
		}
	}
	return 0;
}

/* train_centered - centers, then SGD on centered vectors, then the shifts */
static int train_centered(struct clf_model *m, const struct textfeat *feat,
			  const struct clf_example *ex, size_t n,
			  const struct clf_train_opts *o, struct dk_err *err)
{
	struct center *centers = calloc(CLF_MAX_LANGS, sizeof *centers);
	int *lang_of = calloc(n, sizeof *lang_of), n_centers = 0, rc = 0;
	struct trainer t = { 0 };

	if (!centers || !lang_of)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = make_centers(centers, &n_centers, feat, ex, n, m->n_labels, lang_of, err);
	if (rc == 0 && trainer_init(&t, m, centers, n_centers, feat, n) != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	t.lang_of = lang_of;
	if (rc == 0)
		rc = fit(&t, feat, ex, n, o, err);
	if (rc == 0 && keep_shifts(m, centers, n_centers, ex, n) != 0)
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	trainer_release(&t);
	for (int l = 0; centers && l < n_centers; l++)
		textfeat_release(&centers[l].mu);
	free(centers);
	free(lang_of);
	return rc;
}

/* clf_train - fit a model on examples */
int clf_train(const struct clf_example *ex, size_t n, const char *const *labels,
	      int n_labels, const struct clf_train_opts *opts,
	      struct clf_model **out, struct dk_err *err)
{
	struct textfeat *feat = calloc(n ? n : 1, sizeof *feat);
	int rc = feat ? 0 : dk_err_set(err, DK_ENOMEM, "out of memory");

	*out = NULL;
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((rc = textfeat_extract(ex[i].text, ex[i].len, &feat[i], err)) != 0)
			dk_err_set(err, rc, "example %zu: %s", i, err ? err->msg : "bad text");
	if (rc == 0)
		rc = clf_train_feats(feat, ex, n, labels, n_labels, opts, out, err);
	for (size_t i = 0; feat && i < n; i++)
		textfeat_release(&feat[i]);
	free(feat);
	return rc;
}

/* clf_train_feats - clf_train() on feature vectors already extracted */
int clf_train_feats(const struct textfeat *feat, const struct clf_example *ex, size_t n,
		    const char *const *labels, int n_labels, const struct clf_train_opts *opts,
		    struct clf_model **out, struct dk_err *err)
{
	struct clf_train_opts o = { CLF_EPOCHS, 1e-5, 1 };
	struct clf_model *m;
	int rc = 0;

	*out = NULL;
	if (opts)
		o = *opts;
	if (o.epochs <= 0)
		o.epochs = CLF_EPOCHS;
	if (n_labels < 2 || n_labels > CLF_MAX_LABELS || n == 0)
		return dk_err_set(err, DK_EINVAL, "need at least two labels and one example");
	for (size_t i = 0; i < n; i++)
		if (ex[i].label < 0 || ex[i].label >= n_labels || !(ex[i].weight > 0))
			return dk_err_set(err, DK_EINVAL, "example %zu has a bad label or weight", i);
	if ((m = model_alloc(n_labels)) == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (int k = 0; k < n_labels && rc == 0; k++)
		if ((m->labels[k] = strdup(labels[k])) == NULL)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = train_centered(m, feat, ex, n, &o, err);
	if (rc) {
		clf_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* clf_probabilities - best label and the whole distribution */
int clf_probabilities(const struct clf_model *m, const char *text, size_t len, const char *lang,
		      struct clf_prediction *out, double *p, struct dk_err *err)
{
	int l = lang_index(m, lang), rc;
	const float *shift = l < 0 ? NULL : m->shift + (size_t)l * (size_t)m->n_labels;
	struct textfeat x;
	if ((rc = textfeat_extract(text, len, &x, err)) != 0)
		return rc;
	softmax_scores(m, &x, shift, p);
	out->label = 0;
	out->second = 0;
	for (int k = 1; k < m->n_labels; k++)
		if (p[k] > p[out->label])
			out->label = k;
	for (int k = 0; k < m->n_labels; k++)
		if (k != out->label && p[k] > out->second)
			out->second = p[k];
	out->confidence = p[out->label];
	textfeat_release(&x);
	return 0;
}

/* clf_predict - best label for a text */
int clf_predict(const struct clf_model *m, const char *text, size_t len, const char *lang,
		struct clf_prediction *out, struct dk_err *err)
{
	double *p = calloc((size_t)m->n_labels, sizeof *p);
	int rc;

	if (p == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	rc = clf_probabilities(m, text, len, lang, out, p, err);
	free(p);
	return rc;
}

/* ---- file format (see classifier.h) ---- */

struct wfile {
	FILE *f;
	uint32_t sum;
	int failed;
};

static void put(struct wfile *w, const void *data, size_t n)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++) {
		w->sum ^= b[i];
		w->sum *= 16777619u;
	}
	if (fwrite(data, 1, n, w->f) != n)
		w->failed = 1;
}

static void put_u32(struct wfile *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	put(w, b, 4);
}

static void put_floats(struct wfile *w, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u;

		memcpy(&u, &v[i], 4);
		put_u32(w, u);
	}
}

/* clf_save - write the model to path atomically (temp file + rename) */
int clf_save(const struct clf_model *m, const char *path, struct dk_err *err)
{
	char tmp[4096];
	struct wfile w = { NULL, 2166136261u, 0 };

	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if ((w.f = fopen(tmp, "wb")) == NULL)
		return dk_err_set(err, DK_EIO, "cannot create '%s': %s", tmp, strerror(errno));
	put(&w, clf_magic, sizeof clf_magic);
	put_u32(&w, CLF_VERSION);
	put_u32(&w, (uint32_t)m->n_labels);
	put_u32(&w, TEXTFEAT_BITS);
	for (int k = 0; k < m->n_labels; k++) {
		put_u32(&w, (uint32_t)strlen(m->labels[k]));
		put(&w, m->labels[k], strlen(m->labels[k]));
	}
	put_u32(&w, (uint32_t)m->n_langs);
	for (int l = 0; l < m->n_langs; l++) {
		put_u32(&w, (uint32_t)strlen(m->langs[l]));
		put(&w, m->langs[l], strlen(m->langs[l]));
		put_floats(&w, m->shift + (size_t)l * (size_t)m->n_labels, (size_t)m->n_labels);
		put_u32(&w, m->docs[l]);
	}
	put_floats(&w, &m->mix[0][0], 4);
	put_floats(&w, m->bias, (size_t)m->n_labels);
	put_floats(&w, m->w, (size_t)TEXTFEAT_DIM * (size_t)m->n_labels);
	put_u32(&w, w.sum);
	if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
		w.failed = 1;
	if (fclose(w.f) != 0 || w.failed || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return dk_err_set(err, DK_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

struct rbuf {
	const unsigned char *p;
	size_t n, off;
};

static int get(struct rbuf *r, void *out, size_t n)
{
	if (n > r->n - r->off)
		return -1;
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

static int get_u32(struct rbuf *r, uint32_t *v)
{
	unsigned char b[4];

	if (get(r, b, 4))
		return -1;
	*v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int get_floats(struct rbuf *r, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u;

		if (get_u32(r, &u))
			return -1;
		memcpy(&v[i], &u, 4);
	}
	return 0;
}

static int parse_langs(struct rbuf *r, struct clf_model *m)
{
	uint32_t n;

	if (get_u32(r, &n) || n > CLF_MAX_LANGS)
		return -1;
	m->n_langs = (int)n;
	m->langs = calloc(n ? n : 1, sizeof *m->langs);
	m->shift = calloc((size_t)(n ? n : 1) * (size_t)m->n_labels, sizeof *m->shift);
	m->docs = calloc(n ? n : 1, sizeof *m->docs);
	if (!m->langs || !m->shift || !m->docs)
		return -1;
	for (uint32_t l = 0; l < n; l++) {
		uint32_t len;

		if (get_u32(r, &len) || len == 0 || len >= sizeof m->langs[l] ||
		    get(r, m->langs[l], len) ||
		    get_floats(r, m->shift + (size_t)l * (size_t)m->n_labels, (size_t)m->n_labels) ||
		    get_u32(r, &m->docs[l]))
			return -1;
	}
	if (get_floats(r, &m->mix[0][0], 4))
		return -1;
	for (int i = 0; i < 4; i++)
		if (!(m->mix[i / 2][i % 2] >= 0 && m->mix[i / 2][i % 2] <= 100))
			return -1;	/* also refuses NaN */
	return 0;
}

static int parse_model(struct rbuf *r, struct clf_model **out, const char *path,
		       struct dk_err *err)
{
	uint32_t version, n_labels, bits, sum = 2166136261u, stored;
	struct rbuf tail;
	char magic[8];
	struct clf_model *m;

	if (r->n < sizeof magic + 4)
		return dk_err_set(err, DK_EFORMAT, "'%s' is not a docket classifier model", path);
	for (size_t i = 0; i < r->n - 4; i++) {
		sum ^= r->p[i];
		sum *= 16777619u;
	}
	tail = (struct rbuf){ r->p, r->n, r->n - 4 };
	get_u32(&tail, &stored);
	if (get(r, magic, 8) || memcmp(magic, clf_magic, 8) != 0)
		return dk_err_set(err, DK_EFORMAT, "'%s' is not a docket classifier model", path);
	if (get_u32(r, &version) || version != CLF_VERSION || get_u32(r, &n_labels) ||
	    get_u32(r, &bits) || bits != TEXTFEAT_BITS || n_labels < 2 || n_labels > CLF_MAX_LABELS)
		return dk_err_set(err, DK_EFORMAT, "'%s': unsupported model version or shape", path);
	if (stored != sum)
		return dk_err_set(err, DK_EFORMAT, "'%s': checksum mismatch (corrupt model)", path);
	if ((m = model_alloc((int)n_labels)) == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (uint32_t k = 0; k < n_labels; k++) {
		uint32_t len;

		if (get_u32(r, &len) || len == 0 || len > CLF_MAX_LABEL_LEN ||
		    (m->labels[k] = calloc(1, len + 1)) == NULL || get(r, m->labels[k], len)) {
			clf_free(m);
			return dk_err_set(err, DK_EFORMAT, "'%s': bad label table", path);
		}
	}
	if (parse_langs(r, m) != 0) {
		clf_free(m);
		return dk_err_set(err, DK_EFORMAT, "'%s': bad language table", path);
	}
	if (get_floats(r, m->bias, n_labels) ||
	    get_floats(r, m->w, (size_t)TEXTFEAT_DIM * n_labels) || r->off + 4 != r->n) {
		clf_free(m);
		return dk_err_set(err, DK_EFORMAT, "'%s': truncated or oversized model", path);
	}
	*out = m;
	return 0;
}

/* clf_load - read a model file */
int clf_load(const char *path, struct clf_model **out, struct dk_err *err)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	long size;
	int rc;

	*out = NULL;
	if (f == NULL)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open '%s': %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (unsigned long)size > 64ul * 1024 * 1024 * 4) {
		fclose(f);
		return dk_err_set(err, DK_EFORMAT, "'%s': not a plausible model file", path);
	}
	if ((data = malloc(size ? (size_t)size : 1)) == NULL) {
		fclose(f);
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	if (fread(data, 1, (size_t)size, f) != (size_t)size) {
		free(data);
		fclose(f);
		return dk_err_set(err, DK_EIO, "cannot read '%s'", path);
	}
	fclose(f);
	rc = parse_model(&(struct rbuf){ data, (size_t)size, 0 }, out, path, err);
	free(data);
	return rc;
}
