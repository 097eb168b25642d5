/* Unit tests for stages/summary_extractive. */
#include <string.h>

#include "stages/summary_extractive.h"
#include "tests/test.h"

static const char letter[] =
	"Stadt Musterhausen\nBauamt\n\n"
	"Sehr geehrte Damen und Herren,\n\n"
	"hiermit beantrage ich die Baugenehmigung für einen Carport auf meinem "
	"Grundstück in der Lindenstraße 4.\n"
	"Der Carport soll aus Holz gebaut werden und zwei Stellplätze bieten. "
	"Das Wetter war gestern sehr schön und wir waren spazieren. "
	"Die Bauzeichnungen für den Carport und der Lageplan des Grundstücks liegen bei. "
	"Bitte teilen Sie mir mit, wann über die Baugenehmigung für den Carport entschieden wird.\n\n"
	"Mit freundlichen Grüßen\nAnna Beispiel\n";

static int summarize(const char *text, size_t max_chars, int max_sent, struct dk_buf *out)
{
	struct summary_opts o = { max_chars, max_sent, "de" };
	struct dk_err err = DK_ERR_INIT;

	return summary_extractive(text, strlen(text), &o, out, &err);
}

static void picks_central_sentences_in_order(void)
{
	struct dk_buf out = DK_BUF_INIT;
	const char *a, *b;

	REQUIRE(summarize(letter, 600, 2, &out) == 0);
	CHECK(strstr(out.buf, "spazieren") == NULL);	/* off-topic sentence */
	CHECK(strstr(out.buf, "Sehr geehrte") == NULL);	/* salutation */
	a = strstr(out.buf, "hiermit beantrage");
	b = strstr(out.buf, "Bitte teilen");
	CHECKF(a && b && a < b, "summary: %s", out.buf);
	dk_buf_release(&out);
}

static void respects_budgets(void)
{
	struct dk_buf out = DK_BUF_INIT;

	REQUIRE(summarize(letter, 120, 5, &out) == 0);
	CHECK(out.len > 0 && out.len <= 120);
	dk_buf_reset(&out);
	REQUIRE(summarize(letter, 2000, 1, &out) == 0);
	CHECK(strchr(out.buf, '.') == strrchr(out.buf, '.'));	/* one sentence */
	dk_buf_release(&out);
}

static void output_is_source_text(void)
{
	struct dk_buf out = DK_BUF_INIT;
	char *copy, *tok, *save;

	REQUIRE(summarize(letter, 600, 3, &out) == 0);
	copy = strdup(out.buf);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		CHECKF(strstr(letter, tok) != NULL, "word '%s' not in source", tok);
	free(copy);
	dk_buf_release(&out);
}

static void deterministic(void)
{
	struct dk_buf a = DK_BUF_INIT, b = DK_BUF_INIT;

	CHECK(summarize(letter, 300, 2, &a) == 0);
	CHECK(summarize(letter, 300, 2, &b) == 0);
	CHECK(strcmp(a.buf, b.buf) == 0);
	dk_buf_release(&a);
	dk_buf_release(&b);
}

static void abbreviations_do_not_split(void)
{
	struct dk_buf out = DK_BUF_INIT;
	const char *t = "Proszę o przesłanie decyzji na adres ul. Wielicka 44 w Krakowie do końca marca. "
		"Dziękuję.";

	REQUIRE(summarize(t, 600, 1, &out) == 0);
	CHECKF(strstr(out.buf, "ul. Wielicka 44 w Krakowie") != NULL, "summary: %s", out.buf);
	dk_buf_release(&out);
}

static void repeated_heading_once(void)
{
	struct dk_buf out = DK_BUF_INIT;
	const char *t = "Antrag auf Baugenehmigung für einen Carport\n\n"
		"Antrag auf Baugenehmigung für einen Carport\n\n"
		"Hiermit beantrage ich die Baugenehmigung für einen Carport aus Holz.";
	const char *first;

	REQUIRE(summarize(t, 600, 3, &out) == 0);
	first = strstr(out.buf, "Antrag auf");
	CHECKF(first && !strstr(first + 1, "Antrag auf"), "summary: %s", out.buf);
	CHECK(strstr(out.buf, "Hiermit beantrage") != NULL);
	dk_buf_release(&out);
}

static void empty_and_invalid(void)
{
	struct dk_buf out = DK_BUF_INIT;
	struct dk_err err = DK_ERR_INIT;

	CHECK(summarize("", 600, 3, &out) == 0 && out.len == 0);
	CHECK(summarize("Kurz.", 600, 3, &out) == 0 && out.len == 0);
	CHECK(summary_extractive("ab\xff", 3, NULL, &out, &err) == DK_EINVAL);
	dk_buf_release(&out);
}

int main(void)
{
	RUN(picks_central_sentences_in_order);
	RUN(respects_budgets);
	RUN(output_is_source_text);
	RUN(deterministic);
	RUN(abbreviations_do_not_split);
	RUN(repeated_heading_once);
	RUN(empty_and_invalid);
	return TEST_END();
}
