/*
 * NAME
 *	docket train - build a classifier model from labeled texts
 * SUMMARY
 *	docket train --labels FILE.jsonl -o MODEL [--taxonomy FILE]
 *	             [--no-descriptions] [--epochs N] [--seed S]
 * DESCRIPTION
 *	Each line of FILE.jsonl is {"text": ..., "label": ...} or
 *	{"file": PATH, "label": ...} (the file's text extracted exactly as the
 *	pipeline would, default limits), with an optional "lang" (ISO 639-1;
 *	detected when absent). The labels of
 *	the taxonomy (default DATADIR/prompts/taxonomy.tsv) are always part of
 *	the model, and their descriptions in every language are added as
 *	lightly weighted examples, so a letter in a language without examples
 *	still has something to match. Labels found only in the data are added
 *	after the taxonomy's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <json-glib/json-glib.h>

#include "pipeline/builtin.h"
#include "stages/classifier.h"
#include "stages/extract.h"
#include "stages/langid.h"
#include "stages/taxonomy.h"

static const char train_usage[] =
	"usage: docket train --labels FILE.jsonl -o MODEL [--taxonomy FILE]\n"
	"                    [--no-descriptions] [--epochs N] [--seed S]\n";

#define DESCRIPTION_WEIGHT 6.0f

struct trainset {
	struct clf_example *ex;
	char **texts;		/* owned copies behind ex[i].text */
	char **langs;		/* owned copies behind ex[i].lang */
	struct langid *lid;
	size_t n;
	char **labels;
	int n_labels;
};

static int label_of(struct trainset *t, const char *label)
{
	for (int i = 0; i < t->n_labels; i++)
		if (strcmp(t->labels[i], label) == 0)
			return i;
	if (t->n_labels == CLF_MAX_LABELS)
		return -1;
	t->labels = realloc(t->labels, (size_t)(t->n_labels + 1) * sizeof *t->labels);
	t->labels[t->n_labels] = g_strdup(label);
	return t->n_labels++;
}

/* add_example - copy one example in; lang NULL means detect it */
static int add_example(struct trainset *t, const char *text, const char *label,
		       const char *lang, float w)
{
	struct langid_result res;
	int k = label_of(t, label);

	if (k < 0)
		return -1;
	if (lang == NULL && langid_detect(t->lid, text, strlen(text), &res, NULL) == 0 &&
	    strcmp(res.lang.code, "und") != 0)
		lang = res.lang.code;
	t->ex = realloc(t->ex, (t->n + 1) * sizeof *t->ex);
	t->texts = realloc(t->texts, (t->n + 1) * sizeof *t->texts);
	t->langs = realloc(t->langs, (t->n + 1) * sizeof *t->langs);
	t->texts[t->n] = g_strdup(text);
	t->langs[t->n] = g_strdup(lang);
	t->ex[t->n] = (struct clf_example){ t->texts[t->n], strlen(text), k, t->langs[t->n], w };
	t->n++;
	return 0;
}

/* extract_text - the stored text of a training document into doc */
static int extract_text(const char *file, const char *jsonl, int lineno,
			struct extract_result *doc)
{
	struct extract_limits lim;
	struct dk_err err = DK_ERR_INIT;

	extract_limits_default(&lim);
	extract_result_release(doc);
	extract_result_init(doc, &lim);
	if (extract_init(&err) == 0 && extract_file(file, &lim, doc, &err) == 0)
		return 0;
	fprintf(stderr, "docket train: '%s' line %d: cannot extract '%s': %s: %s\n",
		jsonl, lineno, file, err.slug, err.msg);
	return EX_DATAERR;
}

/* read_jsonl - one example per line; returns 0 or prints the bad line */
static int read_jsonl(struct trainset *t, const char *path)
{
	FILE *f = fopen(path, "r");
	JsonParser *parser = json_parser_new();
	struct extract_limits lim;
	struct extract_result doc;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		fprintf(stderr, "docket train: cannot open '%s'\n", path);
		g_object_unref(parser);
		return EX_NOINPUT;
	}
	extract_limits_default(&lim);
	extract_result_init(&doc, &lim);
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		JsonObject *o;
		const char *text, *label, *lang;

		lineno++;
		if (line[strspn(line, " \t\r\n")] == 0)
			continue;
		if (!json_parser_load_from_data(parser, line, -1, NULL) ||
		    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
			fprintf(stderr, "docket train: '%s' line %d: not a JSON object\n", path, lineno);
			rc = EX_DATAERR;
			break;
		}
		o = json_node_get_object(json_parser_get_root(parser));
		text = json_object_has_member(o, "text") ? json_object_get_string_member(o, "text") : NULL;
		if (text == NULL && json_object_has_member(o, "file")) {
			rc = extract_text(json_object_get_string_member(o, "file"), path, lineno, &doc);
			text = doc.text.buf;
		}
		label = json_object_has_member(o, "label") ? json_object_get_string_member(o, "label") : NULL;
		lang = json_object_has_member(o, "lang") ? json_object_get_string_member(o, "lang") : NULL;
		if (rc) {
			;	/* extract_text() said why */
		} else if (text == NULL || label == NULL || *label == 0) {
			fprintf(stderr, "docket train: '%s' line %d: want {\"text\" or \"file\": ..., "
				"\"label\": ...}\n", path, lineno);
			rc = EX_DATAERR;
		} else if (add_example(t, text, label, lang, 1.0f) != 0) {
			fprintf(stderr, "docket train: too many labels (at most %d)\n", CLF_MAX_LABELS);
			rc = EX_DATAERR;
		}
	}
	extract_result_release(&doc);
	free(line);
	fclose(f);
	g_object_unref(parser);
	return rc;
}

static void trainset_release(struct trainset *t)
{
	for (size_t i = 0; i < t->n; i++) {
		g_free(t->texts[i]);
		g_free(t->langs[i]);
	}
	free(t->langs);
	langid_free(t->lid);
	for (int i = 0; i < t->n_labels; i++)
		g_free(t->labels[i]);
	free(t->texts);
	free(t->ex);
	free(t->labels);
}

static int train_and_save(struct trainset *t, const char *out, int epochs, uint64_t seed)
{
	struct clf_train_opts opts = { epochs, 1e-5, seed };
	struct dk_err err = DK_ERR_INIT;
	struct clf_model *m = NULL;

	if (clf_train(t->ex, t->n, (const char *const *)t->labels, t->n_labels, &opts, &m, &err) != 0 ||
	    clf_save(m, out, &err) != 0) {
		fprintf(stderr, "docket train: %s\n", err.msg);
		clf_free(m);
		return dk_err_sysexit(err.code);
	}
	clf_free(m);
	fprintf(stderr, "docket train: %zu examples, %d labels, model written to '%s'\n",
		t->n, t->n_labels, out);
	return EX_OK;
}

int cmd_train(int argc, char **argv)
{
	const char *labels_path = NULL, *out = NULL, *tax_path = NULL;
	int descriptions = 1, epochs = 40, rc;
	uint64_t seed = 1;
	struct trainset t = { 0 };
	struct taxonomy tax;
	struct dk_err err = DK_ERR_INIT;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			fputs(train_usage, stdout);
			return EX_OK;
		} else if (strcmp(a, "--no-descriptions") == 0) {
			descriptions = 0;
		} else if (v && strcmp(a, "--labels") == 0) {
			labels_path = argv[++i];
		} else if (v && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
			out = argv[++i];
		} else if (v && strcmp(a, "--taxonomy") == 0) {
			tax_path = argv[++i];
		} else if (v && strcmp(a, "--epochs") == 0) {
			epochs = atoi(argv[++i]);
		} else if (v && strcmp(a, "--seed") == 0) {
			seed = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "docket train: unknown option '%s'\n%s", a, train_usage);
			return EX_USAGE;
		}
	}
	if (labels_path == NULL || out == NULL || epochs <= 0) {
		fputs(train_usage, stderr);
		return EX_USAGE;
	}
	if (langid_open(&t.lid, NULL, NULL, &err) != 0 || taxonomy_load(&tax, tax_path, &err) != 0) {
		langid_free(t.lid);
		fprintf(stderr, "docket train: %s\n", err.msg);
		return dk_err_sysexit(err.code);
	}
	for (size_t i = 0; i < tax.n_labels; i++)
		label_of(&t, tax.labels[i]);
	for (size_t i = 0; descriptions && i < tax.n_entries; i++)
		add_example(&t, tax.entries[i].description, tax.entries[i].label, tax.entries[i].lang,
			    DESCRIPTION_WEIGHT);
	taxonomy_release(&tax);
	rc = read_jsonl(&t, labels_path);
	if (rc == EX_OK)
		rc = train_and_save(&t, out, epochs, seed);
	trainset_release(&t);
	return rc;
}
