/* Unit tests for stages/langid: accuracy on our paragraph corpus, the
 * failure modes CLD2 has alone, expected-language policy, scripts. */
#include <string.h>

#include "stages/langid.h"
#include "tests/test.h"

static struct langid *lid;

static const char *detect(const char *text, struct langid_result *res)
{
	struct dk_err err = DK_ERR_INIT;

	if (langid_detect(lid, text, strlen(text), res, &err) != 0)
		return "error";
	return res->lang.code;
}

/* corpus_accuracy - tests/data/langid/paragraphs.tsv: 24 languages, >= 99% */
static void corpus_accuracy(void)
{
	FILE *f = fopen("data/langid/paragraphs.tsv", "r");
	char line[8192];
	int n = 0, ok = 0;

	REQUIRE(f != NULL);
	while (fgets(line, sizeof line, f)) {
		struct langid_result res;
		char *tab = strchr(line, '\t');

		if (line[0] == '#' || tab == NULL)
			continue;
		*tab = 0;
		tab[1 + strcspn(tab + 1, "\n")] = 0;
		n++;
		if (strcmp(detect(tab + 1, &res), line) == 0)
			ok++;
		else
			printf("  langid miss: want %s got %s: %.50s...\n", line, res.lang.code, tab + 1);
	}
	fclose(f);
	printf("  langid corpus: %d/%d correct\n", ok, n);
	CHECK(n >= 90);
	CHECKF(ok * 100 >= n * 99, "accuracy %d/%d below 99%%", ok, n);
}

static void danish_is_not_norwegian(void)
{
	struct langid_result res;

	/* CLD2 alone says "no" (98%) for this sentence */
	CHECK(strcmp(detect("Bilen blev parkeret lovligt, og jeg mener derfor ikke, "
			    "at bøden er berettiget.", &res), "da") == 0);
}

static void english_terms_do_not_win(void)
{
	struct langid_result res;

	/* CLD2 alone says "en" (99%) */
	CHECK(strcmp(detect("Nowy laptop z procesorem i dyskiem SSD, z Windows, Office, "
			    "Teams i cloud storage, został dostarczony do działu IT razem "
			    "z monitorem i docking station.", &res), "pl") == 0);
	CHECK(strcmp(detect("The application was filed yesterday and we are waiting "
			    "for the answer from the council about the new garage.", &res),
		     "en") == 0);
}

/* the alphabet settles a close pair; a capitalised name does not */
static void alphabet_settles_close_pairs(void)
{
	struct langid_result res;

	/* CLD2 and the fingerprints both say "sl"; Slovene has no "đ" */
	CHECK(strcmp(detect("Naša SaaS platforma nudi dashboard, API, webhookove i analitiku, "
			    "a uvođenje korisnika odvija se u aplikaciji.", &res), "hr") == 0);
	CHECK(strcmp(detect("Spoštovani, prosim za informacijo o uradnih urah upravne enote. "
			    "Pozdrav, Ivan Đurić", &res), "sl") == 0);
}

static void unexpected_language_needs_strong_evidence(void)
{
	struct langid_result res;

	CHECK(strcmp(detect("Здравствуйте, я хотел бы узнать, когда будет готово моё "
			    "разрешение на строительство гаража.", &res), "ru") == 0);
	CHECK(strcmp(res.script, "Cyrillic") == 0);
	CHECK(strcmp(detect("Bugün belediyeye yeni bir başvuru yaptım ve cevabını "
			    "bekliyorum. Lütfen bana en kısa sürede dönüş yapın.", &res),
		     "tr") == 0);
}

static void mixed_text_lists_others(void)
{
	struct langid_result res;
	int found = 0;

	detect("Sehr geehrte Damen und Herren, hiermit beantrage ich die Erteilung einer "
	       "Baugenehmigung für den Anbau eines Wintergartens an mein Wohnhaus. Die "
	       "Bauzeichnungen liegen diesem Schreiben bei. Madame, Monsieur, je me permets "
	       "de vous adresser une demande de permis de construire pour l'extension de ma "
	       "maison. Vous trouverez ci-joint les plans et la notice descriptive.", &res);
	CHECK(strcmp(res.lang.code, "de") == 0 || strcmp(res.lang.code, "fr") == 0);
	for (int i = 0; i < res.n_others; i++)
		found |= strcmp(res.others[i].code, "de") == 0 || strcmp(res.others[i].code, "fr") == 0;
	CHECK(found);
}

static void no_letters_is_undetermined(void)
{
	struct langid_result res;

	CHECK(strcmp(detect("12345 67890 --- !!", &res), "und") == 0);
	CHECK(res.lang.confidence == 0);
	CHECK(strcmp(detect("", &res), "und") == 0);
}

static void invalid_utf8_is_an_error(void)
{
	struct langid_result res;
	struct dk_err err = DK_ERR_INIT;

	CHECK(langid_detect(lid, "abc\xff\xfe def", 10, &res, &err) == DK_EINVAL);
	CHECK(strcmp(err.slug, "bad_encoding") == 0);
}

static void greek_script(void)
{
	struct langid_result res;

	CHECK(strcmp(detect("Σας ενημερώνουμε ότι η αίτησή σας για επίδομα στέγασης "
			    "εξετάστηκε και εγκρίθηκε.", &res), "el") == 0);
	CHECK(strcmp(res.script, "Greek") == 0);
	CHECK(res.lang.confidence > 0.5 && res.lang.confidence <= 1.0);
}

static void bad_expected_list_is_refused(void)
{
	struct langid *l2 = NULL;
	struct dk_err err = DK_ERR_INIT;

	CHECK(langid_open(&l2, "de,xx", NULL, &err) == DK_ECONFIG);
	CHECK(l2 == NULL);
	CHECK(strstr(err.msg, "'xx'") != NULL);
	CHECK(langid_open(&l2, "de,fr", "/nonexistent", &err) == DK_ENOTFOUND);
}

static void expected_list_restricts(void)
{
	struct langid *l2 = NULL;
	struct langid_result res;
	struct dk_err err = DK_ERR_INIT;
	const char *nl = "Wij laten u weten dat uw aanvraag voor huurtoeslag is goedgekeurd.";

	REQUIRE(langid_open(&l2, "nl,fr", NULL, &err) == 0);
	CHECK(langid_detect(l2, nl, strlen(nl), &res, &err) == 0);
	CHECK(strcmp(res.lang.code, "nl") == 0);
	langid_free(l2);
}

int main(void)
{
	struct dk_err err = DK_ERR_INIT;

	if (langid_open(&lid, NULL, NULL, &err) != 0) {
		printf("FAIL test_langid:open: %s\n", err.msg);
		return 1;
	}
	RUN(corpus_accuracy);
	RUN(danish_is_not_norwegian);
	RUN(english_terms_do_not_win);
	RUN(alphabet_settles_close_pairs);
	RUN(unexpected_language_needs_strong_evidence);
	RUN(mixed_text_lists_others);
	RUN(no_letters_is_undetermined);
	RUN(invalid_utf8_is_an_error);
	RUN(greek_script);
	RUN(bad_expected_list_is_refused);
	RUN(expected_list_restricts);
	langid_free(lid);
	return TEST_END();
}
