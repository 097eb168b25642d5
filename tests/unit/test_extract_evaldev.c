/*
 * NAME
 *	test_extract_evaldev - labeled entity strings survive extraction
 * DESCRIPTION
 *	Over ../shared/eval/dev (DOCKET_SHARED), every document goes through
 *	extract_file() and every labeled entity string of a born-digital
 *	document must occur in the stored text, comparing with runs of
 *	whitespace collapsed to one space on both sides. At least 99% must be
 *	found. Every format docket reads is built now, so a document that
 *	fails unsupported_type fails the test (and is named); every other
 *	failure counts its entities as missed.
 *	Coverage per format is printed as "# fmt: found/total (docs)".
 *	Skips visibly when the shared data is absent.
 */
#include <dirent.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "stages/extract.h"
#include "tests/test.h"

struct tally {
	char fmt[16];
	int found, total, docs, failed, unsupported;
};

static struct tally tallies[16];
static int n_tallies;

static struct tally *tally_for(const char *fmt)
{
	for (int i = 0; i < n_tallies; i++)
		if (strcmp(tallies[i].fmt, fmt) == 0)
			return &tallies[i];
	if (n_tallies == 16)
		return &tallies[15];
	snprintf(tallies[n_tallies].fmt, sizeof tallies[0].fmt, "%s", fmt);
	return &tallies[n_tallies++];
}

/* collapse - s with every run of Unicode whitespace made one space; g_free() it */
static char *collapse(const char *s)
{
	GString *g = g_string_new(NULL);
	int space = 0;

	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char_validated(p, -1);

		if (c != (gunichar)-1 && c != (gunichar)-2 && g_unichar_isspace(c)) {
			space = 1;
			continue;
		}
		if (space && g->len)
			g_string_append_c(g, ' ');
		space = 0;
		g_string_append_len(g, p, g_utf8_next_char(p) - p);
	}
	return g_string_free(g, FALSE);
}

/* check_doc - extract one labeled document and count its entities */
static void check_doc(const char *dir, JsonObject *gold)
{
	const char *file = json_object_get_string_member(gold, "file");
	const char *dot = strrchr(file, '.');
	JsonArray *ents = json_object_get_array_member(gold, "entities");
	struct tally *t = tally_for(dot ? dot + 1 : "?");
	struct extract_limits lim;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	char *path = g_build_filename(dir, file, NULL), *text = NULL;
	int rc;

	if (json_object_has_member(gold, "scanned") && json_object_get_boolean_member(gold, "scanned"))
		return;	/* no text layer by design: not a born-digital document */
	extract_limits_default(&lim);
	extract_result_init(&res, &lim);
	rc = extract_file(path, &lim, &res, &err);
	if (rc != 0 && strcmp(err.slug, "unsupported_type") == 0) {
		t->unsupported++;
		printf("# %s: %s\n", file, err.msg);
	} else {
		t->docs++;
		t->failed += rc != 0;
		if (rc != 0)
			printf("# %s: %s: %s\n", file, err.slug, err.msg);
		text = rc == 0 ? collapse(res.text.buf) : NULL;
		for (guint i = 0; i < json_array_get_length(ents); i++) {
			JsonObject *e = json_array_get_object_element(ents, i);
			char *want = collapse(json_object_get_string_member(e, "text"));

			t->total++;
			if (text && strstr(text, want))
				t->found++;
			else
				printf("# %s: missing %s '%s'\n", file,
				       json_object_get_string_member(e, "type"), want);
			g_free(want);
		}
	}
	g_free(text);
	g_free(path);
	extract_result_release(&res);
}

static void entity_coverage(void)
{
	const char *shared = test_shared_dir();
	char *dir;
	struct dirent **names;
	int n, found = 0, total = 0;

	if (shared == NULL)
		SKIP("../shared is absent");
	dir = g_build_filename(shared, "eval", "dev", NULL);
	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		g_free(dir);
		SKIP("../shared/eval/dev is absent");
	}
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t l = strlen(nm);
		JsonParser *p;

		if (l > 10 && strcmp(nm + l - 10, ".gold.json") == 0) {
			char *path = g_build_filename(dir, nm, NULL);

			p = json_parser_new();
			if (json_parser_load_from_file(p, path, NULL))
				check_doc(dir, json_node_get_object(json_parser_get_root(p)));
			else
				CHECKF(0, "cannot parse %s", nm);
			g_object_unref(p);
			g_free(path);
		}
		free(names[i]);
	}
	free(names);
	g_free(dir);
	for (int i = 0; i < n_tallies; i++) {
		struct tally *t = &tallies[i];

		CHECKF(t->unsupported == 0, "%d %.15s documents fail unsupported_type",
		       t->unsupported, t->fmt);
		printf("# %s: %d/%d entities (%d documents, %d failed)\n",
		       t->fmt, t->found, t->total, t->docs, t->failed);
		found += t->found;
		total += t->total;
	}
	REQUIRE(total > 0);
	printf("# all: %d/%d = %.2f%%\n", found, total, 100.0 * found / total);
	CHECKF(found * 100 >= total * 99, "only %d of %d entity strings found", found, total);
}

int main(void)
{
	RUN(entity_coverage);
	return TEST_END();
}
