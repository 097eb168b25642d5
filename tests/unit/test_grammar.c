/* Unit tests for engine/grammar (the matcher) and stages/schema_grammar. */
#include <string.h>
#include <json-glib/json-glib.h>

#include "engine/grammar.h"
#include "stages/schema_grammar.h"
#include "tests/test.h"

static struct gram_node *entity_grammar(void)
{
	struct gram_node *g = NULL;
	struct dk_err err = DK_ERR_INIT;

	if (schema_grammar_load("../schemas/llm-entities.schema.json", &g, &err) != 0)
		printf("  load: %s\n", err.msg);
	return g;
}

static int accepts(const struct gram_node *g, const char *text, int *complete)
{
	struct gram_state s;
	int rc;

	gram_init(&s, g);
	rc = gram_feed(&s, text, strlen(text));
	if (complete)
		*complete = rc == 0 && gram_complete(&s);
	return rc == 0;
}

static void accepts_canonical_json(void)
{
	struct gram_node *g = entity_grammar();
	int done = 0;

	REQUIRE(g != NULL);
	CHECK(accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"Anna Müller\"}]}", &done) && done);
	CHECK(accepts(g, "{\"entities\":[]}", &done) && done);
	CHECK(accepts(g, "{\"entities\":[{\"type\":\"address\",\"text\":\"a \\\"b\\\" \\\\ c\"}", &done) && !done);
	CHECK(accepts(g, "{\"entities\":[{\"type\":\"org", &done) && !done);	/* prefix */
	gram_node_free(g);
}

static void rejects_everything_else(void)
{
	struct gram_node *g = entity_grammar();
	char longtext[400];

	REQUIRE(g != NULL);
	CHECK(!accepts(g, "{ \"entities\":[]}", NULL));			/* white space */
	CHECK(!accepts(g, "{\"entitie\":[]}", NULL));			/* key */
	CHECK(!accepts(g, "{\"entities\":[{\"text\":\"x\",", NULL));	/* order */
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"date\"", NULL));	/* enum */
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"\"", NULL)); /* minLength */
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\"}", NULL));	/* missing */
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"a\nb\"", NULL));
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"\\x\"", NULL));
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"\xc0\x80\"", NULL));
	CHECK(!accepts(g, "{\"entities\":[{\"type\":\"person\",\"text\":\"\xed\xa0\x80\"", NULL));
	CHECK(!accepts(g, "{\"entities\":[]}x", NULL));			/* after the end */
	memset(longtext, 'a', sizeof longtext);
	memcpy(longtext, "{\"entities\":[{\"type\":\"person\",\"text\":\"", 38);
	longtext[sizeof longtext - 1] = 0;	/* 361 'a's: over maxLength 200 */
	CHECK(!accepts(g, longtext, NULL));
	gram_node_free(g);
}

static void numbers_and_words(void)
{
	struct gram_node *i = gram_node_new(GRAM_INTEGER), *n = gram_node_new(GRAM_NUMBER);
	struct gram_node *b = gram_node_new(GRAM_BOOLEAN), *arr = gram_node_new(GRAM_ARRAY);
	int done;

	CHECK(accepts(i, "-120", &done) && done);
	CHECK(accepts(i, "0", &done) && done);
	CHECK(!accepts(i, "012", NULL));
	CHECK(accepts(i, "-", &done) && !done);
	CHECK(!accepts(i, "1.5", NULL));
	CHECK(accepts(n, "1.25", &done) && done);
	CHECK(accepts(n, "1.", &done) && !done);
	CHECK(accepts(b, "false", &done) && done);
	CHECK(!accepts(b, "fals e", NULL));
	arr->items = n;
	arr->max_items = 2;
	CHECK(accepts(arr, "[1,-2.5]", &done) && done);	/* number ended by ',' and ']' */
	CHECK(!accepts(arr, "[1,2,3]", NULL));
	gram_node_free(i);
	gram_node_free(b);
	gram_node_free(arr);
}

/* walk - random canonical JSON: at each step pick one of the bytes the state accepts */
static int walk(const struct gram_node *g, unsigned seed, char *out, size_t cap)
{
	struct gram_state s;
	size_t n = 0;

	gram_init(&s, g);
	while (!gram_complete(&s)) {
		unsigned char ok[256];
		int n_ok = 0;

		for (int c = 1; c < 256; c++) {
			struct gram_state t = s;
			char ch = (char)c;

			if (gram_feed(&t, &ch, 1) == 0)
				ok[n_ok++] = (unsigned char)c;
		}
		if (n_ok == 0 || n + 1 >= cap)
			return -1;	/* a dead end would trap the decoder */
		seed = seed * 1103515245u + 12345u;
		/* prefer closing bytes now and then, so walks end */
		out[n] = (char)ok[(seed >> 16) % (unsigned)n_ok];
		for (int k = 0; k < n_ok && (seed >> 8) % 4 == 0; k++)
			if (ok[k] == '"' || ok[k] == ']' || ok[k] == '}')
				out[n] = (char)ok[k];
		gram_feed(&s, &out[n++], 1);
	}
	out[n] = 0;
	return (int)n;
}

static void random_walks_are_valid_json_of_the_schema(void)
{
	struct gram_node *g = entity_grammar();
	static char buf[1 << 16];
	JsonParser *p = json_parser_new();
	guint items = 0;

	REQUIRE(g != NULL);
	for (unsigned seed = 1; seed <= 200; seed++) {
		JsonObject *o;
		JsonArray *a;

		CHECKF(walk(g, seed, buf, sizeof buf) > 0, "seed %u: dead end or runaway", seed);
		if (test_failed_now)
			break;
		CHECKF(json_parser_load_from_data(p, buf, -1, NULL), "seed %u: not JSON: %.200s", seed, buf);
		if (test_failed_now)
			break;
		o = json_node_get_object(json_parser_get_root(p));
		a = json_object_get_array_member(o, "entities");
		CHECK(json_object_get_size(o) == 1 && json_array_get_length(a) <= 40);
		items += json_array_get_length(a);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonObject *e = json_array_get_object_element(a, i);
			const char *type = json_object_get_string_member(e, "type");
			const char *text = json_object_get_string_member(e, "text");

			CHECK(strcmp(type, "person") == 0 || strcmp(type, "organization") == 0 ||
			      strcmp(type, "address") == 0);
			CHECK(g_utf8_validate(text, -1, NULL) && g_utf8_strlen(text, -1) >= 1 &&
			      g_utf8_strlen(text, -1) <= 200);
		}
	}
	CHECKF(items >= 100, "walks produced only %u entities", items);
	g_object_unref(p);
	gram_node_free(g);
}

static void unsupported_schemas_are_named(void)
{
	struct gram_node *g = NULL;
	struct dk_err err = DK_ERR_INIT;
	const char *s1 = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}";
	const char *s2 = "{\"type\":\"thing\"}";
	char deep[2048] = "";

	CHECK(schema_grammar_compile(s1, strlen(s1), &g, &err) == DK_EUNSUPPORTED && g == NULL);
	CHECK(strstr(err.msg, "'pattern'") && strstr(err.msg, "/properties/a"));
	CHECK(schema_grammar_compile(s2, strlen(s2), &g, &err) == DK_EUNSUPPORTED);
	CHECK(schema_grammar_compile("[1]", 3, &g, &err) == DK_EFORMAT);
	CHECK(schema_grammar_compile("{", 1, &g, &err) == DK_EFORMAT);
	for (int i = 0; i < 20; i++)
		strcat(deep, "{\"type\":\"array\",\"items\":");
	strcat(deep, "{\"type\":\"null\"}");
	for (int i = 0; i < 20; i++)
		strcat(deep, "}");
	CHECK(schema_grammar_compile(deep, strlen(deep), &g, &err) == DK_EUNSUPPORTED);
	CHECK(strstr(err.msg, "deeper") != NULL);
	CHECK(schema_grammar_load("/nonexistent.json", &g, &err) == DK_ENOTFOUND);
	/* found by the fuzzer: contradictory bounds would leave the decoder no choice */
	{
		const char *bad[] = {
			"{\"type\":\"array\",\"items\":{\"type\":\"null\"},\"minItems\":5,\"maxItems\":3}",
			"{\"type\":\"string\",\"minLength\":2,\"maxLength\":1}",
			"{\"enum\":[]}",
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			CHECKF(schema_grammar_compile(bad[i], strlen(bad[i]), &g, &err) == DK_EFORMAT,
			       "accepted %s", bad[i]);
	}
}

int main(void)
{
	RUN(accepts_canonical_json);
	RUN(rejects_everything_else);
	RUN(numbers_and_words);
	RUN(random_walks_are_valid_json_of_the_schema);
	RUN(unsupported_schemas_are_named);
	return TEST_END();
}
