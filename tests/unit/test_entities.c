/*
 * test_entities - rule-based entities on the project's own multilingual
 * sentences: every type, exact byte offsets, normalized values, and the
 * traps (dates inside IBANs, phone against amount, bad checksums,
 * impossible dates). Runs without ../shared.
 */
#include <stdio.h>
#include <string.h>

#include "stages/entities.h"
#include "tests/test.h"

static struct ent_list got;
static const char *got_text;

/* run - extract from text with a language hint; REQUIREs success */
static int run(const char *text, const char *lang)
{
	struct ent_config cfg = { lang, NULL, 0, NULL, 0 };
	struct dk_err err = DK_ERR_INIT;

	ent_list_release(&got);
	got_text = text;
	return ent_extract(text, strlen(text), &cfg, &got, &err);
}

/* find - the entity of type t whose text is exactly s, or NULL */
static const struct ent_entity *find(enum ent_type t, const char *s)
{
	for (size_t i = 0; i < got.n; i++)
		if (got.v[i].type == t && got.v[i].end - got.v[i].start == strlen(s) &&
		    memcmp(got_text + got.v[i].start, s, strlen(s)) == 0)
			return &got.v[i];
	return NULL;
}

static size_t count(enum ent_type t)
{
	size_t k = 0;

	for (size_t i = 0; i < got.n; i++)
		k += got.v[i].type == t;
	return k;
}

/*
 * expect - text holds the entity s of type t at the byte offset where s
 * first occurs, with value v (NULL: the text itself)
 */
#define expect(t, s, v) do { \
	const struct ent_entity *e_ = find((t), (s)); \
	const char *at_ = strstr(got_text, (s)); \
	CHECKF(e_ != NULL, "no %s '%s' in '%s'", ent_type_name(t), (s), got_text); \
	if (e_ != NULL) { \
		CHECKF((size_t)(at_ - got_text) == e_->start, "'%s' at %zu, want %zu", \
		       (s), e_->start, (size_t)(at_ - got_text)); \
		CHECKF(strcmp(e_->value, (v) ? (v) : (s)) == 0, "'%s' value '%s', want '%s'", \
		       (s), e_->value, (v) ? (v) : (s)); \
	} } while (0)

#define reject(t, s) CHECKF(find((t), (s)) == NULL, "unexpected %s '%s'", ent_type_name(t), (s))

static void test_dates_written(void)
{
	static const struct { const char *lang, *text, *date, *value; } cases[] = {
		{ "de", "Der Termin ist am 12. März 2025 um 10 Uhr.", "12. März 2025", "2025-03-12" },
		{ "fr", "Paris, le 1er mars 2024.", "1er mars 2024", "2024-03-01" },
		{ "es", "Madrid, a 3 de julio de 2023.", "3 de julio de 2023", "2023-07-03" },
		{ "pt", "Lisboa, 15 de agosto de 2024", "15 de agosto de 2024", "2024-08-15" },
		{ "pl", "Warszawa, dnia 5 listopada 2024 r. w sprawie", "5 listopada 2024 r.", "2024-11-05" },
		{ "cs", "V Praze dne 7. října 2025 jsme obdrželi", "7. října 2025", "2025-10-07" },
		{ "hr", "Zagreb, 3. listopada 2025. godine", "3. listopada 2025", "2025-10-03" },
		{ "el", "Αθήνα, 14 Μαρτίου 2025", "14 Μαρτίου 2025", "2025-03-14" },
		{ "hu", "Budapest, 2025. március 3. napján", "2025. március 3.", "2025-03-03" },
		{ "fi", "Helsingissä 4. toukokuuta 2025", "4. toukokuuta 2025", "2025-05-04" },
		{ "sv", "Stockholm den 2 juni 2025", "2 juni 2025", "2025-06-02" },
		{ "ro", "București, 3 martie 2025", "3 martie 2025", "2025-03-03" },
		{ "lt", "Vilnius, 2025 m. kovo 3 d. gautas", "2025 m. kovo 3 d.", "2025-03-03" },
		{ "bg", "София, 3 март 2025 г. писмо", "3 март 2025 г.", "2025-03-03" },
		{ "sk", "Bratislava 1. februára 2025", "1. februára 2025", "2025-02-01" },
		{ "mt", "Il-Belt Valletta, 3 ta’ Marzu 2025", "3 ta’ Marzu 2025", "2025-03-03" },
		{ "nl", "Utrecht, 8 januari 2025", "8 januari 2025", "2025-01-08" },
		{ "it", "Roma, 7 marzo 2025", "7 marzo 2025", "2025-03-07" },
		{ "en", "Dated this 12th day of March 2025.", "12th day of March 2025", "2025-03-12" },
		{ "en", "Received March 3, 2025 by post", "March 3, 2025", "2025-03-03" },
		{ "da", "København, 2. juni 2025", "2. juni 2025", "2025-06-02" },
		{ "et", "Tallinn, 3. märts 2025", "3. märts 2025", "2025-03-03" },
		{ NULL, "ΑΘΗΝΑ 14 ΜΑΡΤΙΟΥ 2025", "14 ΜΑΡΤΙΟΥ 2025", "2025-03-14" },
		{ "lv", "Rīgā, 2025. gada 3. martā saņemts", "2025. gada 3. martā", "2025-03-03" },
		{ "pt", "Lisboa, 1.º de março de 2025", "1.º de março de 2025", "2025-03-01" },
		{ "sl", "Ljubljana, 3. marca 2025", "3. marca 2025", "2025-03-03" },
		{ "ga", "Baile Átha Cliath, 3 Márta 2025", "3 Márta 2025", "2025-03-03" },
		{ "en", "on March 3rd 2025 we", "March 3rd 2025", "2025-03-03" },
		{ NULL, "el pasado 22 de febrero de\n2025, mi hija", "22 de febrero de\n2025", "2025-02-22" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		REQUIRE(run(cases[i].text, cases[i].lang) == 0);
		expect(ENT_DATE, cases[i].date, cases[i].value);
	}
}

static void test_dates_numeric(void)
{
	REQUIRE(run("Bescheid vom 05.03.2025, Frist 2025-04-01, Geburt 27/11/1993, "
		    "V Brně 1. 3. 2025, termin 30.11.2025 r., geb. 14.08.86, Lieferung 05.03.25", NULL) == 0);
	expect(ENT_DATE, "05.03.2025", "2025-03-05");
	expect(ENT_DATE, "2025-04-01", "2025-04-01");
	expect(ENT_DATE, "27/11/1993", "1993-11-27");
	expect(ENT_DATE, "1. 3. 2025", "2025-03-01");
	expect(ENT_DATE, "30.11.2025 r.", "2025-11-30");
	expect(ENT_DATE, "14.08.86", "1986-08-14");
	expect(ENT_DATE, "05.03.25", "2025-03-05");
	CHECK(count(ENT_DATE) == 7);
}

static void test_dates_rejected(void)
{
	REQUIRE(run("am 31.02.2025 und am 30. Februar 2024, 29.02.2023, Version 1.2.3.2025 "
		    "und 12/2025, 04.76.42.90.00, 01.02.03.04.05, 12-03-25", "de") == 0);
	CHECKF(count(ENT_DATE) == 0, "%zu dates", count(ENT_DATE));
	REQUIRE(run("29.02.2024", NULL) == 0);
	expect(ENT_DATE, "29.02.2024", "2024-02-29");
	/* an e-mail's transport header is not a date the letter mentions */
	REQUIRE(run("Date: Wed, 15 Jan 2025 14:03:51 +0100\n\nam 15 Jan 2025 kam", "de") == 0);
	CHECK(count(ENT_DATE) == 1);
}

static void test_iban(void)
{
	REQUIRE(run("IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX, "
		    "compact GB82WEST12345698765432.", NULL) == 0);
	expect(ENT_IBAN, "DE89 3704 0044 0532 0130 00", "DE89370400440532013000");
	expect(ENT_IBAN, "GB82WEST12345698765432", "GB82WEST12345698765432");
	/* no date, phone or postal code out of the groups */
	CHECK(count(ENT_DATE) == 0 && count(ENT_PHONE) == 0 && count(ENT_POSTAL_CODE) == 0);
	CHECK(got.n == 2);
}

static void test_iban_rejected(void)
{
	/* one digit off: the checksum fails; a wrong length fails too */
	REQUIRE(run("IBAN DE89 3704 0044 0532 0130 01 und NL91 ABNA 0417 1643 0", NULL) == 0);
	CHECK(count(ENT_IBAN) == 0);
	REQUIRE(run("Konto: FR76 3000 6000 0112 3456 7890 189\nweiter", NULL) == 0);
	expect(ENT_IBAN, "FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189");
}

static void test_iban_wrapped(void)
{
	REQUIRE(run("our account IE29 AIBK\n9311 5212 3456 78 with", NULL) == 0);
	expect(ENT_IBAN, "IE29 AIBK\n9311 5212 3456 78", "IE29AIBK93115212345678");
}

static void test_email(void)
{
	REQUIRE(run("Schreiben Sie an max.mustermann@beispiel-amt.de. Oder an "
		    "<info@ville.fr>, Größe@x nicht.", NULL) == 0);
	expect(ENT_EMAIL, "max.mustermann@beispiel-amt.de", NULL);
	expect(ENT_EMAIL, "info@ville.fr", NULL);
	CHECK(count(ENT_EMAIL) == 2);
}

static void test_amounts(void)
{
	static const struct { const char *lang, *text, *amount, *value; } cases[] = {
		{ "de", "Betrag: 1.250,00 € fällig", "1.250,00 €", "1250.00 EUR" },
		{ "en", "a fee of € 1,250.00 is due", "€ 1,250.00", "1250.00 EUR" },
		{ "en", "capital of €6,500,000 in", "€6,500,000", "6500000.00 EUR" },
		{ "fr", "soit 1 250,00 EUR au total", "1 250,00 EUR", "1250.00 EUR" },
		{ "de", "Preis CHF 1'250.– netto", "CHF 1'250.–", "1250.00 CHF" },
		{ "fr", "une somme de 2 000 euros", "2 000 euros", "2000.00 EUR" },
		{ "pl", "kwota 8 460,00 zł brutto", "8 460,00 zł", "8460.00 PLN" },
		{ "cs", "poplatek 1 250,50 Kč splatný", "1 250,50 Kč", "1250.50 CZK" },
		{ "hu", "díj 15 000 Ft összegben", "15 000 Ft", "15000.00 HUF" },
		{ "da", "gebyr 1.500 kr. betales", "1.500 kr", "1500.00 DKK" },
		{ "en", "rent of £1,200 per month", "£1,200", "1200.00 GBP" },
		{ "de", "Kaution 42.000 € bezahlt", "42.000 €", "42000.00 EUR" },
		{ "el", "ποσό 1.250,00 ευρώ", "1.250,00 ευρώ", "1250.00 EUR" },
		{ "ro", "suma de 300 lei", "300 lei", "300.00 RON" },
		{ "da", "i alt kr. 1.250,00 inkl. moms", "kr. 1.250,00", "1250.00 DKK" },
		{ "cs", "celkem Kč 2 500,00", "Kč 2 500,00", "2500.00 CZK" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		REQUIRE(run(cases[i].text, cases[i].lang) == 0);
		expect(ENT_AMOUNT, cases[i].amount, cases[i].value);
	}
}

static void test_amounts_rejected(void)
{
	/* a length in feet, a percentage, a plain count, a postal code with "KR" */
	REQUIRE(run("a 12 ft wall, 19 % VAT, 300 pages, Merelplein 3, 8014 KR Zwolle", "en") == 0);
	CHECKF(count(ENT_AMOUNT) == 0, "%zu amounts", count(ENT_AMOUNT));
	/* spelled-out words end with the currency name, not a prefix */
	REQUIRE(run("Słownie: dwa tysiące złote 00/100", "pl") == 0);
	CHECK(count(ENT_AMOUNT) == 0);
}

static void test_structured_invoice(void)
{
	/* UBL style: currency once on its own line, bare sums on theirs */
	REQUIRE(run("INV-7\n\nEUR\n\n3070.00\n\n22\n\n0.41\n", NULL) == 0);
	expect(ENT_AMOUNT, "3070.00", "3070.00 EUR");
	expect(ENT_AMOUNT, "0.41", "0.41 EUR");
	CHECK(count(ENT_AMOUNT) == 2);
}

static void test_phones(void)
{
	REQUIRE(run("Tel. 0621 33 98 170 · Fax +49 (0)621 3398-171, mobil 0172 455 8931, "
		    "tél. 04 76 42 90 00, tel. 698 204 517, bel 06-29051877, "
		    "Telefon 0515 - 579 341, Tallinn tel 612 3456.", NULL) == 0);
	expect(ENT_PHONE, "0621 33 98 170", NULL);
	expect(ENT_PHONE, "+49 (0)621 3398-171", NULL);
	expect(ENT_PHONE, "0172 455 8931", NULL);
	expect(ENT_PHONE, "04 76 42 90 00", NULL);
	expect(ENT_PHONE, "698 204 517", NULL);
	expect(ENT_PHONE, "06-29051877", NULL);
	expect(ENT_PHONE, "0515 - 579 341", NULL);
	expect(ENT_PHONE, "612 3456", NULL);
	CHECK(count(ENT_PHONE) == 8);
}

static void test_phone_traps(void)
{
	/* amounts, dates, file numbers and bare numbers are no phones */
	REQUIRE(run("Betrag 1.250,00 € am 05.03.2025, Az. 24 123 45678, Seite 3 von 12, "
		    "Bestand 123 456 789 Stück, Telefon\n0621 33 98 170\n69469 Weinheim", "de") == 0);
	CHECKF(count(ENT_PHONE) == 1, "%zu phones", count(ENT_PHONE));
	expect(ENT_PHONE, "0621 33 98 170", NULL);
	expect(ENT_AMOUNT, "1.250,00 €", "1250.00 EUR");
	expect(ENT_REFERENCE, "24 123 45678", NULL);
}

static void test_postal_codes(void)
{
	REQUIRE(run("Hauptstraße 5, 10115 Berlin\nPostbus 90150\n5600 RB Eindhoven\n"
		    "ul. Polna 7, 00-950 Warszawa\nRua Augusta 10, 1000-001 Lisboa\n"
		    "6 rue des Prés, L-3345 Leudelange\nCo. Kilbrack A96 R8C4\n"
		    "Coupure Links 45, 9000 Gent\nVia Roma 1 40139 Bologna (BO)\n"
		    "Vodičkova 7, 110 00 Praha", NULL) == 0);
	expect(ENT_POSTAL_CODE, "10115", NULL);
	expect(ENT_POSTAL_CODE, "5600 RB", NULL);
	expect(ENT_POSTAL_CODE, "00-950", NULL);
	expect(ENT_POSTAL_CODE, "1000-001", NULL);
	expect(ENT_POSTAL_CODE, "L-3345", NULL);
	expect(ENT_POSTAL_CODE, "A96 R8C4", NULL);
	expect(ENT_POSTAL_CODE, "9000", NULL);
	expect(ENT_POSTAL_CODE, "40139", NULL);
	expect(ENT_POSTAL_CODE, "110 00", NULL);
	reject(ENT_POSTAL_CODE, "90150");
	CHECKF(count(ENT_POSTAL_CODE) == 9, "%zu codes", count(ENT_POSTAL_CODE));
}

static void test_postal_traps(void)
{
	/* numbers before capitalized nouns outside an address */
	REQUIRE(run("Es kamen 12000 Besucher.\n2025 Jan Jansen schrieb\nmit 50000 Einwohnern\n"
		    "Pos. Artikel\n5000 Blatt Papier\n10000 Schrauben", "de") == 0);
	CHECKF(count(ENT_POSTAL_CODE) == 0, "%zu codes", count(ENT_POSTAL_CODE));
	/* structured invoice: street, city, then the code on its own line */
	REQUIRE(run("Via dell'Industria 44\n\nPesaro\n\n61122\n\nIT\n", "it") == 0);
	expect(ENT_POSTAL_CODE, "61122", NULL);
}

static void test_references_cued(void)
{
	REQUIRE(run("Unser Zeichen: AB-2025-0042\nAz.: 3 K 123/24\n"
		    "Réf. : DOS/2024/118\nSygn. akt II C 1234/24\nKenmerk: 2025-004512\n"
		    "Expediente n.º 2024/000123\nProtocollo n. 12345/2025\n"
		    "Case No. CV-2025-0193\nOur ref: ABC/123/2025\nKvK 17248831 ·\n"
		    "Rahmenvertrag RV\n11/2023 gilt", NULL) == 0);
	expect(ENT_REFERENCE, "AB-2025-0042", NULL);
	expect(ENT_REFERENCE, "3 K 123/24", NULL);
	expect(ENT_REFERENCE, "DOS/2024/118", NULL);
	expect(ENT_REFERENCE, "II C 1234/24", NULL);
	expect(ENT_REFERENCE, "2025-004512", NULL);
	expect(ENT_REFERENCE, "2024/000123", NULL);
	expect(ENT_REFERENCE, "12345/2025", NULL);
	expect(ENT_REFERENCE, "CV-2025-0193", NULL);
	expect(ENT_REFERENCE, "ABC/123/2025", NULL);
	expect(ENT_REFERENCE, "17248831", NULL);
	expect(ENT_REFERENCE, "RV\n11/2023", "RV 11/2023");
	CHECKF(count(ENT_REFERENCE) == 11, "%zu references", count(ENT_REFERENCE));
	REQUIRE(run("Č. j.: MHMP 12345/2025\nИзх. № 12-34-567/2025\nΑρ. Πρωτ.: 98765", NULL) == 0);
	expect(ENT_REFERENCE, "MHMP 12345/2025", NULL);
	expect(ENT_REFERENCE, "12-34-567/2025", NULL);
	expect(ENT_REFERENCE, "98765", NULL);
}

static void test_references_self(void)
{
	REQUIRE(run("USt-IdNr. DE136695976, codice fiscale RSSMRA85T10A562S, DNI 12345678Z, "
		    "CIF B12345674 y NIE X1234567L; CIG Z4A3F08B21, HRB 714233, "
		    "pratica TPB-25-031877).", NULL) == 0);
	expect(ENT_REFERENCE, "DE136695976", NULL);
	expect(ENT_REFERENCE, "RSSMRA85T10A562S", NULL);
	expect(ENT_REFERENCE, "12345678Z", NULL);
	expect(ENT_REFERENCE, "B12345674", NULL);
	expect(ENT_REFERENCE, "X1234567L", NULL);
	expect(ENT_REFERENCE, "Z4A3F08B21", NULL);
	expect(ENT_REFERENCE, "HRB 714233", NULL);
	expect(ENT_REFERENCE, "TPB-25-031877", NULL);
}

static void test_references_rejected(void)
{
	/* a district, a house number, a rate, a law, a quarter, a bad DNI letter */
	REQUIRE(run("District No. 17, a la altura del número 120, Btw 21% €, "
		    "D.Lgs. 472/1997, Vorauszahlung II/2025, 12345678A, COVID-19, "
		    "Seite 1 von 3", NULL) == 0);
	CHECKF(count(ENT_REFERENCE) == 0, "%zu references, first '%.*s'", count(ENT_REFERENCE),
	       got.n ? (int)(got.v[0].end - got.v[0].start) : 0,
	       got.n ? got_text + got.v[0].start : "");
}

static void test_urls_claimed(void)
{
	REQUIRE(run("Siehe https://www.stadt.de/antrag-2025-0412/ABC-123456 oder "
		    "www.amt.de/f/AB-2025-0042/05.03.2025. Az. AB-2025-0043", "de") == 0);
	CHECKF(got.n == 1, "%zu entities", got.n);
	expect(ENT_REFERENCE, "AB-2025-0043", NULL);
}

static void test_config_patterns_and_cues(void)
{
	static const char *const pats[] = { "\\b(PRJ-\\d{4})\\b" };
	static const char *const cues[] = { "Vorgang" };
	struct ent_config cfg = { "de", pats, 1, cues, 1 };
	struct ent_list l = ENT_LIST_INIT;
	struct dk_err err = DK_ERR_INIT;
	const char *text = "Größe PRJ-0042 und Vorgang 88812 offen";
	const char *bad[] = { "([unclosed" };

	REQUIRE(ent_extract(text, strlen(text), &cfg, &l, &err) == 0);
	REQUIRE(l.n == 2);
	CHECK(l.v[0].type == ENT_REFERENCE && l.v[0].start == 8 && l.v[0].end == 16);
	CHECK(l.v[1].type == ENT_REFERENCE && strcmp(l.v[1].value, "88812") == 0);
	ent_list_release(&l);
	cfg.ref_patterns = bad;
	CHECK(ent_extract(text, strlen(text), &cfg, &l, &err) == DK_ECONFIG);
	CHECK(strstr(err.msg, "([unclosed") != NULL);
	ent_list_release(&l);
}

static void test_offsets_and_json(void)
{
	const char *text = "Größe: am 3. März 2025 zahlen Sie 12,50 € an ü@example.org";
	struct dk_buf b = DK_BUF_INIT;

	REQUIRE(run(text, "de") == 0);
	REQUIRE(got.n == 2);
	CHECK(got.v[0].start == strlen("Größe: am "));
	CHECK(got.v[0].end == got.v[0].start + strlen("3. März 2025"));
	for (size_t i = 0; i < got.n; i++)
		CHECK(got.v[i].start < got.v[i].end && got.v[i].end <= strlen(text));
	REQUIRE(ent_to_json(&got.v[0], text, &b) == 0);
	CHECKF(strcmp(b.buf, "{\"type\": \"date\", \"text\": \"3. März 2025\", \"value\": "
		      "\"2025-03-03\", \"start\": 12, \"end\": 25, \"method\": \"rules\", "
		      "\"confidence\": 0.99}") == 0, "json %s", b.buf);
	dk_buf_release(&b);
}

static void test_type_names(void)
{
	for (int t = 0; t < ENT_N_TYPES; t++)
		CHECK(ent_type_parse(ent_type_name((enum ent_type)t)) == t);
	CHECK(ent_type_parse("person") == -1);
}

int main(void)
{
	RUN(test_dates_written);
	RUN(test_dates_numeric);
	RUN(test_dates_rejected);
	RUN(test_iban);
	RUN(test_iban_rejected);
	RUN(test_iban_wrapped);
	RUN(test_email);
	RUN(test_amounts);
	RUN(test_amounts_rejected);
	RUN(test_structured_invoice);
	RUN(test_phones);
	RUN(test_phone_traps);
	RUN(test_postal_codes);
	RUN(test_postal_traps);
	RUN(test_references_cued);
	RUN(test_references_self);
	RUN(test_references_rejected);
	RUN(test_urls_claimed);
	RUN(test_config_patterns_and_cues);
	RUN(test_offsets_and_json);
	RUN(test_type_names);
	ent_list_release(&got);
	return TEST_END();
}
