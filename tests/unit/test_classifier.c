/* Unit tests for stages/textfeat, stages/classifier and stages/taxonomy. */
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "stages/classifier.h"
#include "stages/classify_rules.h"
#include "stages/clf_fit.h"
#include "stages/taxonomy.h"
#include "stages/textfeat.h"
#include "tests/test.h"

static const char *const labels[] = { "invoice", "complaint", "address_change" };

static const struct clf_example train_set[] = {
	{ "Rechnung Nr. 2025-114: Betrag 1.250,00 EUR zzgl. MwSt, zahlbar innerhalb von 14 Tagen.", 0, 0, "de", 1, 0 },
	{ "Rechnung für Wartung der Heizung, Gesamtbetrag inklusive Mehrwertsteuer, IBAN DE89.", 0, 0, "de", 1, 0 },
	{ "Ich beschwere mich über den Lärm der Baustelle jede Nacht, das ist unerträglich.", 0, 1, "de", 1, 0 },
	{ "Beschwerde: der Müll wurde seit drei Wochen nicht abgeholt, es stinkt.", 0, 1, "de", 1, 0 },
	{ "Ich bin umgezogen, meine neue Anschrift lautet Hauptstraße 5, bitte ändern Sie die Adresse.", 0, 2, "de", 1, 0 },
	{ "Facture n° 88: montant total 300,00 EUR TVA comprise, à régler sous 30 jours.", 0, 0, "fr", 1, 0 },
	{ "Je me plains du bruit du chantier toutes les nuits, c'est insupportable.", 0, 1, "fr", 1, 0 },
	{ "J'ai déménagé, ma nouvelle adresse est 5 rue de la Paix, merci de changer l'adresse.", 0, 2, "fr", 1, 0 },
};
#define N_TRAIN (sizeof train_set / sizeof train_set[0])

static struct clf_model *train(uint64_t seed)
{
	struct clf_example ex[N_TRAIN];
	struct clf_train_opts o = { 30, 1e-5, seed };
	struct clf_model *m = NULL;
	struct dk_err err = DK_ERR_INIT;

	memcpy(ex, train_set, sizeof ex);
	for (size_t i = 0; i < N_TRAIN; i++)
		ex[i].len = strlen(ex[i].text);
	if (clf_train(ex, N_TRAIN, labels, 3, &o, &m, &err) != 0)
		printf("  train: %s\n", err.msg);
	return m;
}

static const char *predict(struct clf_model *m, const char *text, const char *lang, double *conf)
{
	struct clf_prediction p;
	struct dk_err err = DK_ERR_INIT;

	if (clf_predict(m, text, strlen(text), lang, &p, &err) != 0)
		return "error";
	if (conf)
		*conf = p.confidence;
	return clf_label(m, p.label);
}

static void features_are_normalised_and_sorted(void)
{
	struct textfeat f;
	struct dk_err err = DK_ERR_INIT;
	double norm = 0;

	REQUIRE(textfeat_extract("Die Rechnung, die Rechnung 2025!", 32, &f, &err) == 0);
	REQUIRE(f.n > 5);
	for (size_t i = 0; i < f.n; i++) {
		norm += (double)f.val[i] * f.val[i];
		if (i)
			CHECK(f.idx[i] > f.idx[i - 1]);
		CHECK(f.idx[i] < TEXTFEAT_DIM);
	}
	CHECK(norm > 0.999 && norm < 1.001);
	textfeat_release(&f);
	CHECK(textfeat_extract("\xc3", 1, &f, &err) == DK_EINVAL);
}

static void learns_the_classes(void)
{
	struct clf_model *m = train(1);
	double conf = 0;

	REQUIRE(m != NULL);
	CHECK(strcmp(predict(m, "Anbei unsere Rechnung über 99,00 EUR inkl. MwSt.", "de", &conf), "invoice") == 0);
	CHECK(conf > 0.4 && conf <= 1.0);
	CHECK(strcmp(predict(m, "Beschwerde wegen Lärm in der Nacht.", "de", NULL), "complaint") == 0);
	CHECK(strcmp(predict(m, "Nouvelle adresse suite à mon déménagement.", "fr", NULL), "address_change") == 0);
	/* a language the model never saw: no centering, still a valid label */
	CHECK(clf_label_index(m, predict(m, "Factuur voor onderhoud", "nl", NULL)) >= 0);
	clf_free(m);
}

static void save_load_round_trip(void)
{
	char path[512];
	struct clf_model *m = train(1), *m2 = NULL;
	struct dk_err err = DK_ERR_INIT;
	double c1 = 0, c2 = 0;
	const char *t = "Je me plains du bruit.";

	REQUIRE(m != NULL);
	snprintf(path, sizeof path, "%s/m.clf", test_tmpdir());
	REQUIRE(clf_save(m, path, &err) == 0);
	REQUIRE(clf_load(path, &m2, &err) == 0);
	CHECK(clf_n_labels(m2) == 3 && strcmp(clf_label(m2, 2), "address_change") == 0);
	CHECK(strcmp(predict(m, t, "fr", &c1), predict(m2, t, "fr", &c2)) == 0);
	CHECK(c1 == c2);
	clf_free(m);
	clf_free(m2);
}

static int file_bytes(const char *path, unsigned char **data, long *n)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	*n = ftell(f);
	rewind(f);
	*data = malloc((size_t)*n);
	if (fread(*data, 1, (size_t)*n, f) != (size_t)*n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static void training_is_deterministic(void)
{
	char a[512], b[512];
	struct clf_model *m1 = train(7), *m2 = train(7);
	struct dk_err err = DK_ERR_INIT;
	unsigned char *da = NULL, *db = NULL;
	long na = 0, nb = 0;

	REQUIRE(m1 && m2);
	snprintf(a, sizeof a, "%s/a.clf", test_tmpdir());
	snprintf(b, sizeof b, "%s/b.clf", test_tmpdir());
	CHECK(clf_save(m1, a, &err) == 0 && clf_save(m2, b, &err) == 0);
	REQUIRE(file_bytes(a, &da, &na) == 0 && file_bytes(b, &db, &nb) == 0);
	CHECK(na == nb && memcmp(da, db, (size_t)na) == 0);
	free(da);
	free(db);
	clf_free(m1);
	clf_free(m2);
}

static void corrupt_files_are_refused(void)
{
	char path[512];
	struct clf_model *m = train(1), *m2 = NULL;
	struct dk_err err = DK_ERR_INIT;
	unsigned char *d = NULL;
	long n = 0;
	FILE *f;

	REQUIRE(m != NULL);
	snprintf(path, sizeof path, "%s/c.clf", test_tmpdir());
	REQUIRE(clf_save(m, path, &err) == 0);
	REQUIRE(file_bytes(path, &d, &n) == 0);
	d[n / 2] ^= 0x40;	/* one flipped bit in the weights */
	f = fopen(path, "wb");
	fwrite(d, 1, (size_t)n, f);
	fclose(f);
	CHECK(clf_load(path, &m2, &err) == DK_EFORMAT && m2 == NULL);
	CHECK(strstr(err.msg, "checksum") != NULL);
	f = fopen(path, "wb");
	fwrite(d, 1, 20, f);	/* truncated */
	fclose(f);
	CHECK(clf_load(path, &m2, &err) == DK_EFORMAT);
	f = fopen(path, "wb");
	fputs("not a model at all", f);
	fclose(f);
	CHECK(clf_load(path, &m2, &err) == DK_EFORMAT);
	snprintf(path, sizeof path, "%s/missing.clf", test_tmpdir());
	CHECK(clf_load(path, &m2, &err) == DK_ENOTFOUND);
	free(d);
	clf_free(m);
}

static void bad_training_input(void)
{
	struct clf_example ex[1] = { { "x", 1, 5, NULL, 1, 0 } };
	struct clf_model *m = NULL;
	struct dk_err err = DK_ERR_INIT;

	CHECK(clf_train(ex, 1, labels, 3, NULL, &m, &err) == DK_EINVAL && m == NULL);
	CHECK(clf_train(ex, 1, labels, 1, NULL, &m, &err) == DK_EINVAL);
}

static void default_taxonomy_has_every_eu_language(void)
{
	struct taxonomy t;
	struct dk_err err = DK_ERR_INIT;
	const char *eu[] = { "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
			     "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv" };

	REQUIRE(taxonomy_load(&t, "../prompts/taxonomy.tsv", &err) == 0);
	CHECK(t.n_labels == 10);
	CHECK(taxonomy_label_index(&t, "court_notice") >= 0);
	/* a description and a vocabulary line per label and language */
	for (size_t l = 0; l < sizeof eu / sizeof eu[0]; l++)
		for (size_t k = 0; k < t.n_labels; k++) {
			int n = 0;

			for (size_t i = 0; i < t.n_entries; i++)
				n += strcmp(t.entries[i].lang, eu[l]) == 0 &&
				     strcmp(t.entries[i].label, t.labels[k]) == 0;
			CHECKF(n == 2, "%s has %d lines for %s", eu[l], n, t.labels[k]);
		}
	taxonomy_release(&t);
}

static const char *rules_label(struct rules_clf *r, const char *text, double *conf)
{
	double prob[RULES_MAX_LABELS], sum = 0;
	struct dk_err err = DK_ERR_INIT;
	int best = rules_clf_predict(r, text, strlen(text), prob, &err);

	if (best < 0)
		return "error";
	for (int k = 0; k < rules_clf_n_labels(r); k++)
		sum += prob[k];
	if (sum < 0.999 || sum > 1.001)
		return "bad-sum";
	if (conf)
		*conf = prob[best];
	return rules_clf_label(r, best);
}

/* the taxonomy's cue words classify letters in languages no model was trained on */
static void rules_from_the_taxonomy(void)
{
	struct taxonomy t;
	struct rules_clf *r = NULL;
	struct dk_err err = DK_ERR_INIT;
	double conf = 0;

	REQUIRE(taxonomy_load(&t, "../prompts/taxonomy.tsv", &err) == 0);
	REQUIRE(rules_clf_build(&t, &r, &err) == 0);
	taxonomy_release(&t);
	CHECK(strcmp(rules_label(r, "Faktura nr 12: kwota do zapłaty 300 zł, VAT 23%, termin płatności "
				    "14 dni.", &conf), "invoice") == 0);
	CHECK(conf > 0.5);
	/* accents and case folded; German compound matched by its head word */
	CHECK(strcmp(rules_label(r, "GEWERBESTEUERBESCHEID: Antrag auf Stundung der Vorauszahlung.", NULL),
		     "tax_matter") == 0);
	CHECK(strcmp(rules_label(r, "Hakemus: haen rakennuslupaa autotallin laajennukselle.", NULL),
		     "permit_application") == 0);
	CHECK(strcmp(rules_label(r, "Jag har flyttat. Min nya adress är Storgatan 5 från 1 maj.", NULL),
		     "address_change") == 0);
	CHECK(strcmp(rules_label(r, "Wezwanie na rozprawę przed sądem rejonowym, sygnatura akt I C 12/25.",
				 NULL), "court_notice") == 0);
	CHECK(strcmp(rules_label(r, "", &conf), rules_clf_label(r, 0)) == 0);	/* no cue: flat */
	CHECK(conf < 0.2);
	CHECK(rules_clf_predict(r, "\xff", 1, (double[RULES_MAX_LABELS]){ 0 }, &err) == DK_EINVAL);
	rules_clf_free(r);
}

/* a subject line outweighs the same cue words in the body; inflected cues meet */
static void rules_read_subject_lines_and_stems(void)
{
	const char *body = "ich habe eine Frage zu den Öffnungszeiten und wie kann ich Kontakt "
			   "aufnehmen.";
	struct taxonomy t;
	struct rules_clf *r = NULL;
	struct dk_err err = DK_ERR_INIT;
	char text[512];

	REQUIRE(taxonomy_load(&t, "../prompts/taxonomy.tsv", &err) == 0);
	REQUIRE(rules_clf_build(&t, &r, &err) == 0);
	taxonomy_release(&t);
	snprintf(text, sizeof text, "%s\nBeschwerde über Lärm", body);
	CHECK(strcmp(rules_label(r, text, NULL), "general_inquiry") == 0);
	snprintf(text, sizeof text, "Betreff: Beschwerde über Lärm\n%s", body);
	CHECK(strcmp(rules_label(r, text, NULL), "complaint") == 0);
	snprintf(text, sizeof text, "BESCHWERDE ÜBER LÄRM\n%s", body);
	CHECK(strcmp(rules_label(r, text, NULL), "complaint") == 0);
	/* the description says "zezwolenie", the letter "zezwolenia" */
	CHECK(strcmp(rules_label(r, "Wnoszę o wydanie zezwolenia na usunięcie drzewa.", NULL),
		     "permit_application") == 0);
	rules_clf_free(r);
}

static const char small_taxonomy[] =
	"invoice\tde\tRechnung Betrag MwSt zahlbar\n"
	"complaint\tde\tBeschwerde Lärm Müll unzufrieden\n"
	"address_change\tde\tumgezogen neue Anschrift Adresse\n"
	"invoice\tfr\tfacture montant TVA régler\n"
	"complaint\tfr\tplainte bruit ordures mécontent\n"
	"address_change\tfr\tdéménagé nouvelle adresse\n";

/* clf_fit calibrates both pairs of weights; the file keeps them and the counts */
static void fit_calibrates_and_saves_the_mix(void)
{
	struct clf_doc docs[N_TRAIN];
	struct clf_fit_opts o = { .epochs = 10, .seed = 1, .calibrate = 1 };
	char *tax_path = g_strdup_printf("%s/tax.tsv", test_tmpdir());
	char *model_path = g_strdup_printf("%s/mix.clf", test_tmpdir());
	struct clf_model *m = NULL, *back = NULL;
	struct dk_err err = DK_ERR_INIT;
	struct taxonomy t;
	double wr, wm, wr2, wm2, rules[3] = { 0.5, 0.3, 0.2 }, model[3] = { 0.1, 0.8, 0.1 }, out[3];
	const int ident[3] = { 0, 1, 2 };

	REQUIRE(g_file_set_contents(tax_path, small_taxonomy, -1, NULL));
	REQUIRE(taxonomy_load(&t, tax_path, &err) == 0);
	for (size_t i = 0; i < N_TRAIN; i++)
		docs[i] = (struct clf_doc){ train_set[i].text, strlen(train_set[i].text),
					    labels[train_set[i].label], train_set[i].lang };
	REQUIRE(clf_fit(docs, N_TRAIN, &t, &o, &m, &err) == 0);
	CHECK(clf_trained_docs(m, "de") == 5 && clf_trained_docs(m, "fr") == 3);
	CHECK(clf_trained_docs(m, "it") == 0 && clf_trained_docs(m, NULL) == 0);
	REQUIRE(clf_save(m, model_path, &err) == 0);
	REQUIRE(clf_load(model_path, &back, &err) == 0);
	for (int seen = 0; seen < 2; seen++) {
		clf_get_mix(m, seen, &wr, &wm);
		clf_get_mix(back, seen, &wr2, &wm2);
		CHECKF(wr > 0 && wm >= 0 && wr == wr2 && wm == wm2, "seen %d: %g %g", seen, wr, wm);
	}
	clf_set_mix(m, 1, 1, 0);	/* the model's weight 0: the cue words decide */
	CHECK(clf_fit_combine(m, "de", rules, model, ident, 3, out) == 0);
	clf_set_mix(m, 0, 1, 4);	/* a heavy model outvotes them */
	CHECK(clf_fit_combine(m, "it", rules, model, ident, 3, out) == 1);
	CHECK(out[0] + out[1] + out[2] > 0.999 && out[0] + out[1] + out[2] < 1.001);
	clf_free(m);
	clf_free(back);
	taxonomy_release(&t);
	g_free(tax_path);
	g_free(model_path);
}

int main(void)
{
	RUN(features_are_normalised_and_sorted);
	RUN(learns_the_classes);
	RUN(save_load_round_trip);
	RUN(training_is_deterministic);
	RUN(corrupt_files_are_refused);
	RUN(bad_training_input);
	RUN(default_taxonomy_has_every_eu_language);
	RUN(rules_from_the_taxonomy);
	RUN(rules_read_subject_lines_and_stems);
	RUN(fit_calibrates_and_saves_the_mix);
	return TEST_END();
}
