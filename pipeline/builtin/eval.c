/*
 * NAME
 *	docket eval - measure the stages without a model against gold labels
 * SUMMARY
 *	docket eval --gold DIR [--classifier MODEL | --folds K|loo|language]
 *	            [--verbose] [options]
 * DESCRIPTION
 *	Every document in DIR that has a DOC.gold.json beside it (the format of
 *	../shared/eval/dev) goes through what a pipeline worker runs on it:
 *	extract_file() with the configured limits, then analyze_text()
 *	(language, rule entities, trained classifier, summary). The report:
 *	language accuracy, classification accuracy with a confusion matrix,
 *	entity precision and recall per rule type (distinct type+text pairs,
 *	whitespace runs collapsed, as the gold files are written), and
 *	throughput. --verbose names every miss. Classification accuracy is
 *	also split into documents in languages the trained model has
 *	documents in and all others (the taxonomy's cue words alone must
 *	carry those), and given per language.
 *
 *	--folds cross-validates the trained classifier on DIR itself: K
 *	folds by position (document i in fold i mod K), one fold per
 *	document (loo), or one per language (language: every test document
 *	is in a language the model never saw). Each fold's model is built by
 *	clf_fit() exactly as `docket train` builds one, calibration included,
 *	from the other folds' documents and their detected languages.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "pipeline/config.h"
#include "stages/analyze.h"
#include "stages/clf_fit.h"
#include "stages/extract.h"

#define MAX_LABELS 64
#define MAX_LANGS 64
#define FOLDS_LOO (-1)
#define FOLDS_LANGUAGE (-2)

static const char eval_usage[] =
	"usage: docket eval --gold DIR [--classifier MODEL | --folds K|loo|language]\n"
	"                   [--verbose] [options]\n\n"
	"Run every DIR/DOC that has DOC.gold.json through extraction and the\n"
	"stages without a model; print accuracy, confusion and entity scores.\n"
	"--folds: cross-validate a classifier trained on DIR's own documents.\n\n";

/* kept - one document kept for cross-validation */
struct kept {
	char *name, *text, *cls, *lang;	/* lang: detected */
	size_t len;
};

struct tally {
	int docs, failed, lang_ok, classified, class_ok;
	const char *method;
	int tp[ENT_N_TYPES], fp[ENT_N_TYPES], fn[ENT_N_TYPES];
	char *labels[MAX_LABELS];
	int n_labels;
	int confusion[MAX_LABELS][MAX_LABELS];	/* [gold][predicted] */
	int seen, seen_ok;		/* in a language the model has documents in */
	char langs[MAX_LANGS][12];
	int n_langs, lang_n[MAX_LANGS], lang_right[MAX_LANGS];
	double seconds;
	int verbose;
	int folds;			/* 0, K, FOLDS_LOO or FOLDS_LANGUAGE */
	struct kept *kept;		/* (n_kept), --folds only */
	size_t n_kept;
};

/* fold - whitespace runs to one space, trimmed; caller frees */
static char *fold(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	int space = 0;

	for (size_t i = 0; out && i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = 0;
		*o++ = s[i];
	}
	if (out)
		*o = 0;
	return out;
}

static int label_index(struct tally *t, const char *label)
{
	for (int i = 0; i < t->n_labels; i++)
		if (strcmp(t->labels[i], label) == 0)
			return i;
	if (t->n_labels == MAX_LABELS)
		return -1;
	t->labels[t->n_labels] = g_strdup(label);
	return t->n_labels++;
}

/* key_type - the entity type of a "type<TAB>text" key */
static int key_type(const char *key)
{
	char type[32];
	size_t n = strcspn(key, "\t");

	if (n >= sizeof type)
		return -1;
	memcpy(type, key, n);
	type[n] = 0;
	return ent_type_parse(type);
}

/* score_entities - distinct (type, folded text) pairs, found against gold */
static void score_entities(struct tally *t, const char *file, JsonArray *gold,
			   const struct ent_list *found, const char *text)
{
	GHashTable *g = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer key;

	for (guint i = 0; gold && i < json_array_get_length(gold); i++) {
		JsonObject *o = json_array_get_object_element(gold, i);
		const char *type = json_object_get_string_member_with_default(o, "type", "");
		const char *txt = json_object_get_string_member_with_default(o, "text", "");
		char *ft = fold(txt, strlen(txt));

		if (ent_type_parse(type) >= 0)
			g_hash_table_add(g, g_strdup_printf("%s\t%s", type, ft));
		free(ft);
	}
	for (size_t i = 0; i < found->n; i++) {
		const struct ent_entity *e = &found->v[i];
		char *ft = fold(text + e->start, e->end - e->start);

		g_hash_table_add(f, g_strdup_printf("%s\t%s", ent_type_name(e->type), ft));
		free(ft);
	}
	g_hash_table_iter_init(&it, f);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		int type = key_type(key);
		int hit = g_hash_table_contains(g, key);

		if (hit)
			t->tp[type]++;
		else
			t->fp[type]++;
		if (!hit && t->verbose)
			printf("  %s: extra %s\n", file, (char *)key);
	}
	g_hash_table_iter_init(&it, g);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!g_hash_table_contains(f, key)) {
			t->fn[key_type(key)]++;
			if (t->verbose)
				printf("  %s: missed %s\n", file, (char *)key);
		}
	g_hash_table_destroy(g);
	g_hash_table_destroy(f);
}

/* lang_slot - the per-language counters of lang */
static int lang_slot(struct tally *t, const char *lang)
{
	for (int i = 0; i < t->n_langs; i++)
		if (strcmp(t->langs[i], lang) == 0)
			return i;
	if (t->n_langs == MAX_LANGS)
		return -1;
	snprintf(t->langs[t->n_langs], sizeof t->langs[0], "%s", lang);
	return t->n_langs++;
}

/* score_class - one classification against the gold class; m: the model used */
static void score_class(struct tally *t, const char *file, const char *cls, const char *lang,
			const struct analysis *a, const struct clf_model *m)
{
	int g = label_index(t, cls), p = label_index(t, a->label), l = lang_slot(t, lang);
	int seen = m && clf_trained_docs(m, lang) > 0;

	t->classified++;
	t->method = a->method;
	t->seen += seen;
	if (l >= 0)
		t->lang_n[l]++;
	if (g >= 0 && p >= 0)
		t->confusion[g][p]++;
	if (g == p) {
		t->class_ok++;
		t->seen_ok += seen;
		if (l >= 0)
			t->lang_right[l]++;
	} else if (t->verbose) {
		printf("  %s: class %s (%.2f), gold %s\n", file, a->label, a->confidence, cls);
	}
}

/* keep - a document for cross-validation */
static void keep(struct tally *t, const char *file, const char *cls, const char *lang,
		 const char *text, size_t len)
{
	struct kept *k;

	t->kept = g_realloc_n(t->kept, t->n_kept + 1, sizeof *t->kept);
	k = &t->kept[t->n_kept++];
	*k = (struct kept){ g_strdup(file), g_strndup(text, len), g_strdup(cls), g_strdup(lang), len };
}

/* score_doc - compare one document's analysis with its gold record */
static void score_doc(struct tally *t, const char *file, JsonObject *gold,
		      const struct analysis *a, const char *text, size_t len,
		      const struct clf_model *m)
{
	const char *lang = json_object_get_string_member_with_default(gold, "language", "");
	const char *cls = json_object_get_string_member_with_default(gold, "class", "");
	JsonArray *ents = json_object_has_member(gold, "entities") ?
		json_object_get_array_member(gold, "entities") : NULL;

	if (strcmp(lang, a->lang.lang.code) == 0)
		t->lang_ok++;
	else if (t->verbose)
		printf("  %s: language %s, gold %s\n", file, a->lang.lang.code, lang);
	if (a->classified && *cls && t->folds)
		keep(t, file, cls, a->lang.lang.code, text, len);
	else if (a->classified && *cls)
		score_class(t, file, cls, a->lang.lang.code, a, m);
	score_entities(t, file, ents, &a->entities, text);
}

/* eval_one - extract, analyze and score DIR/name against DIR/name.gold.json */
static void eval_one(struct tally *t, const char *dir, const char *name,
		     const struct extract_limits *lim, struct analyze *an)
{
	char *path = g_build_filename(dir, name, NULL), *gpath = g_strconcat(path, ".gold.json", NULL);
	JsonParser *parser = json_parser_new();
	struct extract_result res;
	struct analysis a;
	struct dk_err err = DK_ERR_INIT;

	extract_result_init(&res, lim);
	if (!json_parser_load_from_file(parser, gpath, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		fprintf(stderr, "docket eval: cannot read gold file '%s'\n", gpath);
	} else if (extract_file(path, lim, &res, &err) != 0 ||
		   analyze_text(an, res.text.buf, res.text.len, &a, &err) != 0) {
		t->docs++;
		t->failed++;
		printf("  %s: failed: %s: %s\n", name, err.slug, err.msg);
	} else {
		t->docs++;
		score_doc(t, name, json_node_get_object(json_parser_get_root(parser)), &a, res.text.buf,
			  res.text.len, analyze_classifier(an));
		analysis_release(&a);
	}
	extract_result_release(&res);
	g_object_unref(parser);
	g_free(path);
	g_free(gpath);
}

/* in_fold - is kept document i tested in fold f (the others train it) */
static int in_fold(const struct tally *t, size_t i, size_t f)
{
	if (t->folds == FOLDS_LOO)
		return i == f;
	if (t->folds == FOLDS_LANGUAGE)
		return strcmp(t->kept[i].lang, t->langs[f]) == 0;
	return i % (size_t)t->folds == f;
}

/* run_fold - train on the documents outside fold f, classify those in it */
static int run_fold(struct tally *t, struct analyze *an, const struct taxonomy *tax, size_t f,
		    struct clf_doc *docs, struct dk_err *err)
{
	struct clf_fit_opts fo = { .epochs = CLF_EPOCHS, .seed = 1, .calibrate = 1 };
	struct clf_model *m = NULL;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < t->n_kept; i++)
		if (!in_fold(t, i, f))
			docs[n++] = (struct clf_doc){ t->kept[i].text, t->kept[i].len, t->kept[i].cls,
						      t->kept[i].lang };
	if (n == t->n_kept)
		return 0;	/* an empty fold: fewer documents than folds */
	if ((rc = clf_fit(docs, n, tax, &fo, &m, err)) != 0 ||
	    (rc = analyze_set_classifier(an, m, err)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < t->n_kept; i++) {
		struct kept *k = &t->kept[i];
		struct analysis a;

		memset(&a, 0, sizeof a);
		if (in_fold(t, i, f) &&
		    (rc = analyze_classify(an, k->text, k->len, k->lang, &a, err)) == 0)
			score_class(t, k->name, k->cls, k->lang, &a, m);
	}
	return rc;
}

/* cross_validate - every fold of --folds in turn */
static int cross_validate(struct tally *t, struct analyze *an, struct dk_err *err)
{
	struct clf_doc *docs = g_new0(struct clf_doc, t->n_kept + 1);
	struct taxonomy tax;
	size_t n_folds;
	int rc;

	for (size_t i = 0; i < t->n_kept; i++)
		lang_slot(t, t->kept[i].lang);	/* the folds of FOLDS_LANGUAGE */
	n_folds = t->folds == FOLDS_LOO ? t->n_kept :
		  t->folds == FOLDS_LANGUAGE ? (size_t)t->n_langs : (size_t)t->folds;
	if ((rc = taxonomy_load(&tax, NULL, err)) == 0) {
		for (size_t f = 0; rc == 0 && f < n_folds; f++)
			rc = run_fold(t, an, &tax, f, docs, err);
		taxonomy_release(&tax);
	}
	g_free(docs);
	return rc ? rc : analyze_set_classifier(an, NULL, err);
}

static void report_split(const struct tally *t)
{
	if (strcmp(t->method, "classifier") == 0 && t->seen)
		printf("  in languages of the training set: %d/%d = %.3f\n", t->seen_ok, t->seen,
		       (double)t->seen_ok / t->seen);
	if (strcmp(t->method, "classifier") == 0 && t->classified > t->seen)
		printf("  in other languages: %d/%d = %.3f\n", t->class_ok - t->seen_ok,
		       t->classified - t->seen,
		       (double)(t->class_ok - t->seen_ok) / (t->classified - t->seen));
	printf("  by language:");
	for (int l = 0; l < t->n_langs; l++)
		if (t->lang_n[l])
			printf(" %s %d/%d", t->langs[l], t->lang_right[l], t->lang_n[l]);
	putchar('\n');
}

static void report_classes(const struct tally *t)
{
	static const char *const folds[] = { "", ", leave-one-out", ", leave-one-language-out" };

	if (t->classified == 0)
		return;
	printf("classification accuracy: %d/%d = %.3f (method %s", t->class_ok, t->classified,
	       (double)t->class_ok / t->classified, t->method);
	if (t->folds > 0)
		printf(", %d-fold cross-validation", t->folds);
	printf("%s)\n", t->folds < 0 ? folds[-t->folds] : "");
	report_split(t);
	printf("confusion (rows: gold, columns: predicted, numbered as the rows):\n");
	printf("  %-24s", "");
	for (int p = 0; p < t->n_labels; p++)
		printf(" %3d", p + 1);
	putchar('\n');
	for (int g = 0; g < t->n_labels; g++) {
		printf("  %2d %-21s", g + 1, t->labels[g]);
		for (int p = 0; p < t->n_labels; p++)
			printf(" %3d", t->confusion[g][p]);
		putchar('\n');
	}
}

static void report(const struct tally *t)
{
	printf("documents: %d (failed extraction or analysis: %d)\n", t->docs, t->failed);
	if (t->docs == 0)
		return;
	printf("language accuracy: %d/%d = %.3f\n", t->lang_ok, t->docs,
	       (double)t->lang_ok / t->docs);
	report_classes(t);
	printf("entities (rules): %-12s %5s %5s %5s %9s %7s\n", "type", "gold", "found", "tp",
	       "precision", "recall");
	for (int k = 0; k < ENT_N_TYPES; k++) {
		int gold = t->tp[k] + t->fn[k], found = t->tp[k] + t->fp[k];

		printf("  %-12s %5d %5d %5d %9.3f %7.3f\n", ent_type_name(k), gold,
		       found, t->tp[k], found ? (double)t->tp[k] / found : 1.0,
		       gold ? (double)t->tp[k] / gold : 1.0);
	}
	printf("throughput: %d documents in %.2f s = %.0f documents/minute\n", t->docs, t->seconds,
	       t->seconds > 0 ? t->docs * 60.0 / t->seconds : 0.0);
}

static int is_document(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && !(n > 10 && strcmp(name + n - 10, ".gold.json") == 0) &&
	       strcmp(name, "index.jsonl") != 0;
}

static void tally_release(struct tally *t)
{
	for (int i = 0; i < t->n_labels; i++)
		g_free(t->labels[i]);
	for (size_t i = 0; i < t->n_kept; i++) {
		g_free(t->kept[i].name);
		g_free(t->kept[i].text);
		g_free(t->kept[i].cls);
		g_free(t->kept[i].lang);
	}
	g_free(t->kept);
}

static int run_eval(const char *dir, const struct config *cfg, int verbose, int folds)
{
	struct analyze_opts ao = { .expected_languages = cfg->expected_languages,
				   .classifier_path = cfg->classifier,
				   .review_threshold = cfg->review_threshold };
	struct tally t = { .verbose = verbose, .folds = folds };
	struct extract_limits lim;
	struct analyze *an;
	struct dk_err err = DK_ERR_INIT;
	struct dirent **ents;
	struct timespec t0, t1;
	int n;

	if (extract_init(&err) != 0 || analyze_open(&an, &ao, &err) != 0)
		return cli_fail("eval", &err);
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		analyze_close(an);
		fprintf(stderr, "docket eval: cannot read directory '%s'\n", dir);
		return EX_NOINPUT;
	}
	config_extract_limits(cfg, &lim);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		char *gold = g_strconcat(dir, "/", ents[i]->d_name, ".gold.json", NULL);

		if (is_document(ents[i]->d_name) && g_file_test(gold, G_FILE_TEST_EXISTS))
			eval_one(&t, dir, ents[i]->d_name, &lim, an);
		g_free(gold);
		free(ents[i]);
	}
	free(ents);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t.seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = folds ? cross_validate(&t, an, &err) : 0;
	if (n == 0)
		report(&t);
	tally_release(&t);
	analyze_close(an);
	if (n != 0)
		return cli_fail("eval", &err);
	return t.docs ? EX_OK : EX_NOINPUT;
}

/* cmd_eval - the "eval" builtin */
int cmd_eval(int argc, char **argv)
{
	const char *dir = NULL;
	struct config cfg;
	int rc, verbose = 0, folds = 0;

	if ((rc = cli_setup("eval", &argc, argv, &cfg)) != 0)
		return rc;
	for (int i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("%s%s", eval_usage, config_usage);
			config_release(&cfg);
			return EX_OK;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			verbose = 1;
		} else if (i + 1 < argc && strcmp(argv[i], "--gold") == 0) {
			dir = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--folds") == 0) {
			const char *v = argv[++i];

			folds = strcmp(v, "loo") == 0 ? FOLDS_LOO :
				strcmp(v, "language") == 0 ? FOLDS_LANGUAGE : atoi(v);
			rc = folds == 0 || folds == 1 || folds > 1000 ? EX_USAGE : 0;
		} else {
			rc = EX_USAGE;
		}
	}
	if (rc == 0 && (dir == NULL || (folds && cfg.classifier && *cfg.classifier)))
		rc = EX_USAGE;
	if (rc)
		fputs(eval_usage, stderr);
	else
		rc = run_eval(dir, &cfg, verbose, folds);
	config_release(&cfg);
	return rc;
}
