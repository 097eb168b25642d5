/* Unit tests for stages/textfeat, stages/classifier and stages/taxonomy. */
#include <stdio.h>
#include <string.h>

#include "stages/classifier.h"
#include "stages/classify_rules.h"
#include "stages/taxonomy.h"
#include "stages/textfeat.h"
#include "tests/test.h"

static const char *const labels[] = { "invoice", "complaint", "address_change" };

static const struct clf_example train_set[] = {
	{ "Rechnung Nr. 2025-114: Betrag 1.250,00 EUR zzgl. MwSt, zahlbar innerhalb von 14 Tagen.", 0, 0, "de", 1 },
	{ "Rechnung für Wartung der Heizung, Gesamtbetrag inklusive Mehrwertsteuer, IBAN DE89.", 0, 0, "de", 1 },
	{ "Ich beschwere mich über den Lärm der Baustelle jede Nacht, das ist unerträglich.", 0, 1, "de", 1 },
	{ "Beschwerde: der Müll wurde seit drei Wochen nicht abgeholt, es stinkt.", 0, 1, "de", 1 },
	{ "Ich bin umgezogen, meine neue Anschrift lautet Hauptstraße 5, bitte ändern Sie die Adresse.", 0, 2, "de", 1 },
	{ "Facture n° 88: montant total 300,00 EUR TVA comprise, à régler sous 30 jours.", 0, 0, "fr", 1 },
	{ "Je me plains du bruit du chantier toutes les nuits, c'est insupportable.", 0, 1, "fr", 1 },
	{ "J'ai déménagé, ma nouvelle adresse est 5 rue de la Paix, merci de changer l'adresse.", 0, 2, "fr", 1 },
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
	struct clf_example ex[1] = { { "x", 1, 5, NULL, 1 } };
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
	for (size_t l = 0; l < sizeof eu / sizeof eu[0]; l++) {
		int per_lang = 0;

		for (size_t i = 0; i < t.n_entries; i++)
			per_lang += strcmp(t.entries[i].lang, eu[l]) == 0;
		CHECKF(per_lang == 10, "%s has %d descriptions", eu[l], per_lang);
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
	return TEST_END();
}
