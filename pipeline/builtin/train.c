/*
 * NAME
 *	docket train - build a classifier model from labeled texts
 * SUMMARY
 *	docket train [--labels FILE.jsonl] [--from-reviews] -o MODEL
 *	             [--taxonomy FILE] [--no-descriptions] [--epochs N] [--seed S]
 *	             [--db F] [--config F]
 * DESCRIPTION
 *	Each line of FILE.jsonl is {"text": ..., "label": ...},
 *	{"file": PATH, "label": ...} (the file's text extracted exactly as the
 *	pipeline would, default limits) or {"id": DOCUMENT_ID, "label": ...}
 *	(the document's stored text, read from the results database; an
 *	unambiguous id prefix will do), with an optional "lang" (ISO 639-1;
 *	for an id the stored language, else detected when absent).
 *	--from-reviews adds every document whose classification a caseworker
 *	reviewed (docket review), labeled with the newest review, so the
 *	next model learns from the corrections. The labels of
 *	the taxonomy (default DATADIR/prompts/taxonomy.tsv) are always part of
 *	the model, and their descriptions in every language are added as
 *	weighted examples, so a letter in a language without examples still
 *	has something to match. Labels found only in the data are added
 *	after the taxonomy's. Unless --no-calibrate, train also learns by
 *	cross-validation on the documents how much the model counts beside
 *	the taxonomy's cue words (stages/clf_fit.h), which costs about a dozen
 *	more fits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "pipeline/builtin.h"
#include "pipeline/cli.h"
#include "stages/classifier.h"
#include "stages/clf_fit.h"
#include "stages/extract.h"
#include "stages/langid.h"
#include "stages/taxonomy.h"

static const char train_usage[] =
	"usage: docket train [--labels FILE.jsonl] [--from-reviews] -o MODEL [--taxonomy FILE]\n"
	"                    [--no-descriptions] [--no-calibrate] [--epochs N] [--seed S]\n"
	"                    [--db F] [--config F]\n"
	"  --labels F        lines {\"text\"|\"file\"|\"id\": ..., \"label\": ...[, \"lang\": ...]}\n"
	"  --from-reviews    add the documents caseworkers classified (docket review)\n";

struct trainset {
	struct clf_doc *docs;
	char **texts;		/* owned copies behind docs[i].text */
	char **langs;		/* owned copies behind docs[i].lang */
	char **labels;		/* owned copies behind docs[i].label */
	struct langid *lid;
	size_t n;
	const struct config *cfg;	/* where the results database is */
	struct store st;		/* opened on first use (st.db != NULL) */
};

static void add_example(struct trainset *t, const char *text, const char *label,
			const char *lang);

/* open_db - the results database, opened once, for "id" lines and reviews */
static int open_db(struct trainset *t)
{
	if (t->st.db)
		return 0;
	return cli_open_store("train", t->cfg, &t->st);
}

/*
 * stored_text - the stored text and language of document id (a prefix)
 * into *text and *lang (g_free both); 0 or a sysexits status, said why
 */
static int stored_text(struct trainset *t, const char *want, char **text, char **lang)
{
	struct dk_err err = DK_ERR_INIT;
	sqlite3_stmt *q;
	char id[65];
	int rc = open_db(t);

	*text = *lang = NULL;
	if (rc)
		return rc;
	if (query_resolve_id(&t->st, want, id, &err) != 0)
		return cli_fail("train", &err);
	if (sqlite3_prepare_v2(store_db(&t->st), "SELECT t.text, l.code FROM texts t LEFT JOIN "
			       "languages l ON l.doc_id = t.doc_id WHERE t.doc_id = ?", -1, &q,
			       NULL) != SQLITE_OK) {
		fprintf(stderr, "docket train: cannot read the texts: %s\n",
			sqlite3_errmsg(store_db(&t->st)));
		return EX_IOERR;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*text = g_strdup((const char *)sqlite3_column_text(q, 0));
		*lang = g_strdup((const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	if (*text == NULL) {
		fprintf(stderr, "docket train: document %.12s has no stored text\n", id);
		return EX_DATAERR;
	}
	return 0;
}

/* from_reviews - every reviewed classification, with its document's text */
static int from_reviews(struct trainset *t, size_t *n)
{
	sqlite3_stmt *q;
	int rc = open_db(t), s;

	*n = 0;
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(store_db(&t->st), "SELECT t.text, r.value, l.code FROM "
			       "latest_reviews r JOIN texts t ON t.doc_id = r.doc_id LEFT JOIN "
			       "languages l ON l.doc_id = r.doc_id WHERE r.field = 'classification' "
			       "AND r.value IS NOT NULL ORDER BY r.doc_id", -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "docket train: cannot read the reviews: %s\n",
			sqlite3_errmsg(store_db(&t->st)));
		return EX_IOERR;
	}
	while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW) {
		add_example(t, (const char *)sqlite3_column_text(q, 0),
			    (const char *)sqlite3_column_text(q, 1),
			    (const char *)sqlite3_column_text(q, 2));
		(*n)++;
	}
	if (rc == 0 && s != SQLITE_DONE) {
		fprintf(stderr, "docket train: cannot read the reviews: %s\n",
			sqlite3_errmsg(store_db(&t->st)));
		rc = EX_IOERR;
	}
	sqlite3_finalize(q);
	return rc;
}

/* add_example - copy one document in; lang NULL means detect it */
static void add_example(struct trainset *t, const char *text, const char *label,
			const char *lang)
{
	struct langid_result res;

	if (lang == NULL && langid_detect(t->lid, text, strlen(text), &res, NULL) == 0 &&
	    strcmp(res.lang.code, "und") != 0)
		lang = res.lang.code;
	t->docs = g_realloc_n(t->docs, t->n + 1, sizeof *t->docs);
	t->texts = g_realloc_n(t->texts, t->n + 1, sizeof *t->texts);
	t->langs = g_realloc_n(t->langs, t->n + 1, sizeof *t->langs);
	t->labels = g_realloc_n(t->labels, t->n + 1, sizeof *t->labels);
	t->texts[t->n] = g_strdup(text);
	t->langs[t->n] = g_strdup(lang);
	t->labels[t->n] = g_strdup(label);
	t->docs[t->n] = (struct clf_doc){ t->texts[t->n], strlen(text), t->labels[t->n],
					  t->langs[t->n] };
	t->n++;
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
		char *stext = NULL, *slang = NULL;

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
		if (text == NULL && json_object_has_member(o, "id")) {
			const char *id = json_object_get_string_member(o, "id");

			if (id == NULL) {
				fprintf(stderr, "docket train: '%s' line %d: \"id\" is not a string\n",
					path, lineno);
				rc = EX_DATAERR;
			} else {
				rc = stored_text(t, id, &stext, &slang);
			}
			text = stext;
		}
		label = json_object_has_member(o, "label") ? json_object_get_string_member(o, "label") : NULL;
		lang = json_object_has_member(o, "lang") ? json_object_get_string_member(o, "lang") : slang;
		if (rc) {
			;	/* extract_text() said why */
		} else if (text == NULL || label == NULL || *label == 0) {
			fprintf(stderr, "docket train: '%s' line %d: want {\"text\", \"file\" or "
				"\"id\": ..., \"label\": ...}\n", path, lineno);
			rc = EX_DATAERR;
		} else {
			add_example(t, text, label, lang);
		}
		g_free(stext);
		g_free(slang);
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
		g_free(t->labels[i]);
	}
	langid_free(t->lid);
	store_close(&t->st);
	g_free(t->langs);
	g_free(t->texts);
	g_free(t->labels);
	g_free(t->docs);
}

static int train_and_save(struct trainset *t, const struct taxonomy *tax, const char *out,
			  const struct clf_fit_opts *fo)
{
	struct dk_err err = DK_ERR_INIT;
	struct clf_model *m = NULL;

	if (clf_fit(t->docs, t->n, tax, fo, &m, &err) != 0 || clf_save(m, out, &err) != 0) {
		fprintf(stderr, "docket train: %s\n", err.msg);
		clf_free(m);
		return dk_err_sysexit(err.code);
	}
	fprintf(stderr, "docket train: %zu documents, %d labels, model written to '%s'\n",
		t->n, clf_n_labels(m), out);
	for (int seen = 1; seen >= 0; seen--) {
		double wr, wm;

		clf_get_mix(m, seen, &wr, &wm);
		fprintf(stderr, "docket train: %s languages: cue words x%.3g, model x%.3g\n",
			seen ? "trained" : "other", wr, wm);
	}
	clf_free(m);
	return EX_OK;
}

/* parse - the options; -1: --help printed, else 0 or EX_USAGE */
static int parse(int argc, char **argv, const char **labels_path, const char **out,
		 const char **tax_path, int *reviews, struct clf_fit_opts *fo)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			printf("%s%s", train_usage, config_usage);
			return -1;
		} else if (strcmp(a, "--no-descriptions") == 0) {
			fo->no_descriptions = 1;
		} else if (strcmp(a, "--no-calibrate") == 0) {
			fo->calibrate = 0;
		} else if (strcmp(a, "--from-reviews") == 0) {
			*reviews = 1;
		} else if (v && strcmp(a, "--labels") == 0) {
			*labels_path = argv[++i];
		} else if (v && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)) {
			*out = argv[++i];
		} else if (v && strcmp(a, "--taxonomy") == 0) {
			*tax_path = argv[++i];
		} else if (v && strcmp(a, "--epochs") == 0) {
			fo->epochs = atoi(argv[++i]);
		} else if (v && strcmp(a, "--seed") == 0) {
			fo->seed = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "docket train: unknown option '%s'\n%s", a, train_usage);
			return EX_USAGE;
		}
	}
	if ((*labels_path == NULL && !*reviews) || *out == NULL || fo->epochs <= 0) {
		fputs(train_usage, stderr);
		return EX_USAGE;
	}
	return 0;
}

int cmd_train(int argc, char **argv)
{
	const char *labels_path = NULL, *out = NULL, *tax_path = NULL;
	struct clf_fit_opts fo = { .epochs = CLF_EPOCHS, .seed = 1, .calibrate = 1 };
	int reviews = 0, rc;
	struct trainset t = { 0 };
	struct taxonomy tax;
	struct config cfg;
	struct dk_err err = DK_ERR_INIT;
	size_t n_reviews = 0;

	if ((rc = cli_setup("train", &argc, argv, &cfg)) != 0)
		return rc;
	rc = parse(argc, argv, &labels_path, &out, &tax_path, &reviews, &fo);
	if (rc != 0) {
		config_release(&cfg);
		return rc < 0 ? EX_OK : rc;
	}
	t.cfg = &cfg;
	if (langid_open(&t.lid, NULL, NULL, &err) != 0 || taxonomy_load(&tax, tax_path, &err) != 0) {
		langid_free(t.lid);
		config_release(&cfg);
		fprintf(stderr, "docket train: %s\n", err.msg);
		return dk_err_sysexit(err.code);
	}
	rc = labels_path ? read_jsonl(&t, labels_path) : EX_OK;
	if (rc == EX_OK && reviews && (rc = from_reviews(&t, &n_reviews)) == EX_OK)
		fprintf(stderr, "docket train: %zu reviewed documents\n", n_reviews);
	if (rc == EX_OK)
		rc = train_and_save(&t, &tax, out, &fo);
	taxonomy_release(&tax);
	trainset_release(&t);
	config_release(&cfg);
	return rc;
}
