/* Unit tests for pipeline/llm_wire: a model result survives the trip engine -> writer. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pipeline/llm_wire.h"
#include "tests/test.h"

#define REQUIREF(cond, ...) do { CHECKF(cond, __VA_ARGS__); if (test_failed_now) return; } while (0)

static const char text[] = "Anna Schmidt, Hauptstra\xc3\x9f" "e 12, asks for a permit.";
static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* sample - a result as llm_run() makes them (strings owned as llm.h says) */
static void sample(struct llm_result *r)
{
	static const char *const stages[] = { "classify", "entities", "summarize" };

	memset(r, 0, sizeof *r);
	r->label = g_strdup("permit_application");
	r->confidence = 0.1 + 0.2;	/* not exact in decimal: must survive bit for bit */
	r->needs_review = 1;
	r->label_method = "classifier";
	r->entities = calloc(2, sizeof *r->entities);
	r->entities[0] = (struct llm_entity){ g_strdup("person"), g_strdup("Anna Schmidt"), 0, 12 };
	r->entities[1] = (struct llm_entity){ g_strdup("address"), g_strdup("Hauptstra\xc3\x9f" "e 12"), 14, 29 };
	r->n_entities = 2;
	r->n_not_found = 3;
	r->n_rule_overlap = 1;
	r->summary = g_strdup("Anna asks.");
	r->summary_flags = strdup("[\"Anna\"]");
	snprintf(r->summary_language, sizeof r->summary_language, "de");
	r->prefix_ms = 12.5;
	for (int i = 0; i < 3; i++) {
		struct llm_decision *d = &r->dec[i];

		snprintf(d->stage, sizeof d->stage, "%s", stages[i]);
		memset(d->prompt_sha256, 'a' + i, 64);
		memset(d->input_sha256, 'd', 64);
		d->params = g_strdup_printf("{\"stage\":\"%s\"}", stages[i]);
		d->output = strdup(i == 1 ? "{\"entities\":[]}" : "out\twith\ttabs");
		d->ms = 1.25 * (i + 1);
	}
	r->n_dec = 3;
}

static void test_roundtrip(void)
{
	struct llm_result a, b;
	struct ipc_msg m;
	struct ipc_view *v = malloc(sizeof *v);
	struct dk_err e = DK_ERR_INIT;
	char model[65];
	const struct ipc_field *f;

	sample(&a);
	ipc_msg_init(&m, 'Y', 0);
	REQUIRE(llm_wire_put(&m, 'l', &a, sha) == 0);
	REQUIRE(ipc_parse(m.b.buf + 4, m.b.len - 4, v, &e) == 0);
	f = ipc_get(v, 'l');
	REQUIRE(f != NULL);
	REQUIREF(llm_wire_get(f->data, f->len, text, strlen(text), &b, model, &e) == 0, "%.200s", e.msg);
	CHECK(strcmp(model, sha) == 0);
	CHECK(strcmp(b.label, a.label) == 0 && b.confidence == a.confidence && b.needs_review);
	CHECK(strcmp(b.label_method, "classifier") == 0);
	CHECK(b.n_entities == 2 && strcmp(b.entities[1].text, a.entities[1].text) == 0 &&
	      b.entities[1].start == 14 && b.entities[1].end == 29);
	CHECK(b.n_not_found == 3 && b.n_rule_overlap == 1 && b.prefix_ms == 12.5);
	CHECK(strcmp(b.summary, a.summary) == 0 && strcmp(b.summary_flags, a.summary_flags) == 0);
	CHECK(strcmp(b.summary_language, "de") == 0);
	CHECK(b.n_dec == 3);
	for (size_t i = 0; i < b.n_dec && i < 3; i++)
		CHECKF(strcmp(b.dec[i].stage, a.dec[i].stage) == 0 &&
		       strcmp(b.dec[i].params, a.dec[i].params) == 0 &&
		       strcmp(b.dec[i].output, a.dec[i].output) == 0 &&
		       strcmp(b.dec[i].prompt_sha256, a.dec[i].prompt_sha256) == 0 &&
		       b.dec[i].ms == a.dec[i].ms, "decision %zu", i);
	llm_result_release(&b);
	/* a span that cuts a character, or lies outside the text, is refused */
	REQUIRE(llm_wire_get(f->data, f->len, text, 20, &b, model, &e) == DK_EFORMAT);
	CHECK(b.label == NULL && b.n_dec == 0);
	ipc_msg_release(&m);
	a.entities[1].end = 24;
	ipc_msg_init(&m, 'Y', 0);
	REQUIRE(llm_wire_put(&m, 'l', &a, sha) == 0);
	REQUIRE(ipc_parse(m.b.buf + 4, m.b.len - 4, v, &e) == 0);
	f = ipc_get(v, 'l');
	CHECK(llm_wire_get(f->data, f->len, text, strlen(text), &b, model, &e) == DK_EFORMAT);
	ipc_msg_release(&m);
	llm_result_release(&a);
	free(v);
}

/* garbage and truncated payloads fail cleanly (no leak under ASan) */
static void test_malformed(void)
{
	struct llm_result a, b;
	struct ipc_msg m;
	struct dk_err e = DK_ERR_INIT;
	char model[65];

	sample(&a);
	ipc_msg_init(&m, 'Y', 0);
	REQUIRE(llm_wire_put(&m, 'l', &a, sha) == 0);
	/* the nested payload follows length prefix, type byte and its field header */
	for (size_t cut = 1; cut < m.b.len - 10; cut += 7)
		CHECKF(llm_wire_get(m.b.buf + 10, cut, text, strlen(text), &b, model, &e) != 0,
		       "cut at %zu accepted", cut);
	CHECK(llm_wire_get("x", 1, text, strlen(text), &b, model, &e) != 0);
	ipc_msg_release(&m);
	llm_result_release(&a);
}

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_malformed);
	return TEST_END();
}
