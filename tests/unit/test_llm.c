/* Unit tests for stages/llm: the three model stages on random-weight fixture models. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "engine/grammar.h"
#include "engine/mkmodel.h"
#include "pipeline/audit.h"
#include "pipeline/llm_record.h"
#include "pipeline/store.h"
#include "stages/llm.h"
#include "stages/schema_grammar.h"
#include "tests/test.h"

#define REQUIREF(cond, ...) do { CHECKF(cond, __VA_ARGS__); if (test_failed_now) return; } while (0)

static const char letter[] =
	"Dear Sir or Madam,\n\nI, Anna Schmidt of Hauptstraße 12, 10115 Berlin, apply for a "
	"building permit for a garage. The plans by Bauer Architekten GmbH are attached. "
	"Please reply by 12 March 2025.\n\nYours faithfully,\nAnna Schmidt\n";

static const char *top(void)
{
	const char *t = getenv("DOCKET_TOP");

	return t ? t : "..";
}

/* fixture - a tiny model of arch a, written once per (arch, seed) */
static const char *fixture(enum mkmodel_arch a, uint64_t seed)
{
	static char p[8][512];
	static int k;
	struct mkmodel_spec s;
	struct dk_err e;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof p[k], "%.200s/llm-%.200s-%llu.gguf", test_tmpdir(), mkmodel_arch_name(a),
		 (unsigned long long)seed);
	if (access(p[k], R_OK) == 0)
		return p[k];
	memset(&s, 0, sizeof s);
	mkmodel_arch_defaults(a, &s.d);
	s.d.n_embd = 64;
	s.d.n_ff = 96;
	s.d.n_head = 2;
	s.d.n_head_kv = 1;
	s.d.head_dim = 32;
	s.d.n_layer = 1;
	s.d.n_ctx = 4096;
	s.d.n_vocab = 320;
	s.type = "F32";
	s.pure = true;
	s.seed = seed;
	s.threads = 1;
	if (mkmodel_write(&s, p[k], &e) != 0)
		return NULL;
	return p[k];
}

/* short_taxonomy - three labels with short descriptions: short prompts, fast tests */
static const char *short_taxonomy(void)
{
	static char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%.200s/short.tsv", test_tmpdir());
	f = fopen(p, "w");
	if (f == NULL)
		return NULL;
	fputs("# test taxonomy\ncomplaint\ten\ta complaint\ninvoice\ten\ta bill to pay\n"
	      "permit_application\ten\tasks for a permit\npermit_application\tde\tBauantrag\n", f);
	fclose(f);
	return p;
}

static const char *taxonomy_file;
static uint32_t parallel;	/* opts.parallel of the next open_llm() */
static uint32_t draft = 4;	/* opts.draft of the next open_llm() */

static struct llm *open_llm(const char *model, uint32_t threads, uint32_t n_ctx, const char *pin,
			    struct dk_err *e)
{
	struct llm_opts o;
	struct llm *l = NULL;

	memset(&o, 0, sizeof o);
	o.model = model;
	o.model_sha256 = pin;
	o.datadir = top();
	o.taxonomy = taxonomy_file;
	o.n_ctx = n_ctx;
	o.n_threads = threads;
	o.review_threshold = 0.5;
	o.entity_max_tokens = 48;
	o.summary_max_tokens = 16;
	o.parallel = parallel;
	o.draft = draft;
	if (llm_open(&l, &o, e) != 0)
		return NULL;
	return l;
}

/* check_entities_output - schema-valid by an independent matcher and by JSON shape */
static void check_entities_output(const char *json)
{
	struct gram_node *g = NULL;
	struct gram_state st;
	struct dk_err e;
	char path[1024];
	JsonParser *p = json_parser_new();
	JsonObject *o;
	JsonArray *a;

	snprintf(path, sizeof path, "%.200s/schemas/llm-entities.schema.json", top());
	REQUIRE(schema_grammar_load(path, &g, &e) == 0);
	gram_init(&st, g);
	CHECKF(gram_feed(&st, json, strlen(json)) == 0 && gram_complete(&st), "not schema-valid: %.200s", json);
	gram_node_free(g);
	REQUIRE(json_parser_load_from_data(p, json, -1, NULL));
	o = json_node_get_object(json_parser_get_root(p));
	REQUIRE(o && json_object_has_member(o, "entities"));
	a = json_object_get_array_member(o, "entities");
	CHECK(json_array_get_length(a) <= 40);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *it = json_array_get_object_element(a, i);
		const char *t = json_object_get_string_member(it, "type");

		CHECK(strcmp(t, "person") == 0 || strcmp(t, "organization") == 0 ||
		      strcmp(t, "address") == 0);
		CHECK(g_utf8_strlen(json_object_get_string_member(it, "text"), -1) <= 200);
	}
	g_object_unref(p);
}

static void check_result(struct llm *l, const struct llm_result *r, const char *text, size_t len)
{
	size_t n, i;
	const char *const *labels = llm_labels(l, &n);

	for (i = 0; i < n && strcmp(labels[i], r->label) != 0; i++)
		;
	CHECKF(i < n, "label '%.200s' not in the taxonomy", r->label);
	CHECK(r->confidence > 0 && r->confidence <= 1);
	CHECK(r->needs_review == (r->confidence < 0.5));
	REQUIRE(r->n_dec == 3);
	check_entities_output(r->dec[1].output);
	for (i = 0; i < r->n_entities; i++) {
		CHECK(r->entities[i].end <= len);
		CHECK(memcmp(text + r->entities[i].start, r->entities[i].text,
			     r->entities[i].end - r->entities[i].start) == 0);
		CHECK(strlen(r->entities[i].text) == r->entities[i].end - r->entities[i].start);
	}
	CHECK(g_utf8_validate(r->summary, -1, NULL));
	CHECK(r->summary_flags[0] == '[');
	CHECK(strstr(r->dec[2].params, "\"unfaithful\":[") != NULL);
	for (i = 0; i < 3; i++) {
		JsonParser *p = json_parser_new();

		CHECKF(json_parser_load_from_data(p, r->dec[i].params, -1, NULL), "params: %.200s",
		       r->dec[i].params);
		CHECK(strlen(r->dec[i].prompt_sha256) == 64);
		CHECK(strstr(r->dec[i].params, llm_model_sha256(l)) != NULL);
		g_object_unref(p);
	}
}

/* replay_all - every decision of r replays to the same bytes on l */
static void replay_all(struct llm *l, const struct llm_result *r, const char *text, size_t len)
{
	for (size_t i = 0; i < r->n_dec; i++) {
		struct dk_buf out = DK_BUF_INIT;
		char ph[65];
		struct dk_err e;

		CHECKF(llm_replay(l, r->dec[i].stage, r->dec[i].params, text, len, &out, ph, &e) == 0,
		       "replay %.200s: %.200s", r->dec[i].stage, e.msg);
		CHECKF(strcmp(out.buf, r->dec[i].output) == 0, "%.200s: replay differs", r->dec[i].stage);
		CHECK(strcmp(ph, r->dec[i].prompt_sha256) == 0);
		dk_buf_release(&out);
	}
}

/* stages on every architecture and two seeds; replay with 1 and 2 threads */
static void test_archs(void)
{
	static const enum mkmodel_arch archs[] = { MK_LLAMA, MK_QWEN2, MK_QWEN3, MK_GEMMA3, MK_PHI3 };

	taxonomy_file = short_taxonomy();

	for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
		for (uint64_t seed = 1; seed <= 2; seed++) {
			const char *m = fixture(archs[a], seed);
			struct dk_err e;
			struct llm *l, *l2;
			struct llm_result r;
			struct llm_rule_span rule = { "date", 160, 173 };

			REQUIRE(m != NULL);
			l = open_llm(m, 1, 2048, NULL, &e);
			REQUIREF(l != NULL, "open %.200s: %.200s", m, e.msg);
			REQUIREF(llm_run(l, letter, strlen(letter), "en", &rule, 1, NULL, 0, &r, &e) == 0,
			       "%.200s: %.200s", m, e.msg);
			check_result(l, &r, letter, strlen(letter));
			replay_all(l, &r, letter, strlen(letter));
			l2 = open_llm(m, 2, 2048, llm_model_sha256(l), &e);
			REQUIREF(l2 != NULL, "open 2 threads: %.200s", e.msg);
			replay_all(l2, &r, letter, strlen(letter));
			llm_close(l2);
			llm_result_release(&r);
			llm_close(l);
		}
	}
	taxonomy_file = NULL;
}

/* a document longer than the context: cut for classify/entities, map-reduce summary */
static void test_long_document(void)
{
	GString *s = g_string_new(NULL);
	struct dk_err e;
	struct llm *l;
	struct llm_result r;

	for (int i = 0; i < 12; i++)
		g_string_append(s, letter);
	taxonomy_file = short_taxonomy();
	/*
	 * a context the shared head nearly fills: a few bytes of text per
	 * window, and where classify and entities cut the text depends on the
	 * summarize prompt's length, which replay must restore for them too
	 */
	l = open_llm(fixture(MK_QWEN2, 1), 1, 1024, NULL, &e);
	taxonomy_file = NULL;
	REQUIREF(l != NULL, "open: %.200s", e.msg);
	REQUIREF(llm_run(l, s->str, s->len, "en", NULL, 0, NULL, 0, &r, &e) == 0, "run: %.200s", e.msg);
	check_result(l, &r, s->str, s->len);
	CHECKF(strstr(r.dec[2].params, "\"chunks\":0") == NULL, "no map-reduce: %.200s", r.dec[2].params);
	replay_all(l, &r, s->str, s->len);
	llm_result_release(&r);
	llm_close(l);
	g_string_free(s, TRUE);
}

/*
 * several documents in flight, their decode steps batched together (more
 * documents than slots, one long enough for map-reduce): every decision
 * equals the same document run alone, and replays to the same bytes with
 * another thread count and no batching
 */
static void test_batched(void)
{
	GString *doc[4];
	struct llm_result r[4];
	struct dk_err e;
	struct llm *l1, *l2;
	size_t taken = 0;

	doc[0] = g_string_new(letter);
	doc[1] = g_string_new("Invoice 2025-17 from Bauer GmbH, Ringstrasse 4, 80331 Munich: "
			      "120.00 EUR due on 12 March 2025. Contact: Otto Weber.\n");
	doc[2] = g_string_new(NULL);
	for (int i = 0; i < 12; i++)
		g_string_append(doc[2], letter);
	doc[3] = g_string_new("Ich beantrage eine Baugenehmigung. Anna Schmidt, Berlin.\n");
	memset(r, 0, sizeof r);
	taxonomy_file = short_taxonomy();
	parallel = 3;
	l1 = open_llm(fixture(MK_QWEN2, 1), 1, 2048, NULL, &e);
	parallel = 0;
	l2 = open_llm(fixture(MK_QWEN2, 1), 2, 2048, NULL, &e);
	taxonomy_file = NULL;
	REQUIREF(l1 && l2, "open: %.200s", e.msg);
	for (uint64_t i = 0; i < 4; i++) {
		struct llm_doc d = { doc[i]->str, doc[i]->len, i == 3 ? "de" : "en", NULL, 0, NULL, 0 };

		REQUIRE(llm_submit(l1, i, &d, &e) == 0);
	}
	CHECK(llm_pending(l1) == 4);
	while (taken < 4 && llm_step(l1, &e) == 0) {
		uint64_t tag;
		int rc;
		struct llm_result x;

		while (llm_take(l1, &tag, &rc, &x, &e) == 1) {
			REQUIREF(rc == 0 && tag < 4, "document %llu: %.200s", (unsigned long long)tag, e.msg);
			r[tag] = x;
			taken++;
		}
	}
	REQUIRE(taken == 4 && llm_pending(l1) == 0);
	CHECKF(strstr(r[2].dec[2].params, "\"chunks\":0") == NULL, "no map-reduce: %.200s", r[2].dec[2].params);
	for (int i = 0; i < 4; i++) {
		struct llm_result alone;

		check_result(l1, &r[i], doc[i]->str, doc[i]->len);
		replay_all(l2, &r[i], doc[i]->str, doc[i]->len);
		REQUIRE(llm_run(l2, doc[i]->str, doc[i]->len, i == 3 ? "de" : "en", NULL, 0, NULL, 0,
				&alone, &e) == 0);
		for (int k = 0; k < 3; k++)
			CHECKF(strcmp(alone.dec[k].output, r[i].dec[k].output) == 0 &&
			       strcmp(alone.dec[k].prompt_sha256, r[i].dec[k].prompt_sha256) == 0,
			       "document %d stage %d differs alone", i, k);
		llm_result_release(&alone);
		llm_result_release(&r[i]);
		g_string_free(doc[i], TRUE);
	}
	llm_close(l1);
	llm_close(l2);
}

/* run_drafts - text's decisions on model m, with draft tokens or without */
static void run_drafts(const char *m, const char *text, uint32_t n_ctx, uint32_t with,
		       struct llm_result *r, uint64_t *evaluated, uint64_t *accepted)
{
	struct dk_err e;
	struct llm *l;

	draft = with;
	l = open_llm(m, 1, n_ctx, NULL, &e);
	draft = 4;
	REQUIREF(l != NULL, "open %.200s: %.200s", m, e.msg);
	REQUIREF(llm_run(l, text, strlen(text), "en", NULL, 0, NULL, 0, r, &e) == 0, "%.200s: %.200s",
		 m, e.msg);
	llm_drafts(l, evaluated, accepted);
	llm_close(l);
}

/*
 * llm_impl.h note 10: drafts change the steps, never the bytes. Every
 * architecture (gemma3's sliding window among them) and a map-reduce
 * summary, whose windows restart the stream with drafts in flight; some
 * drafts must be taken and some refused, or the test proves nothing
 */
static void test_drafts(void)
{
	static const enum mkmodel_arch archs[] = { MK_LLAMA, MK_QWEN2, MK_QWEN3, MK_GEMMA3, MK_PHI3 };
	GString *lng = g_string_new(NULL);
	uint64_t ev = 0, ok = 0;

	for (int i = 0; i < 12; i++)
		g_string_append(lng, letter);
	taxonomy_file = short_taxonomy();
	for (size_t a = 0; a <= sizeof archs / sizeof archs[0]; a++) {
		int is_long = a == sizeof archs / sizeof archs[0];
		const char *m = fixture(is_long ? MK_QWEN2 : archs[a], 1), *text = is_long ? lng->str : letter;
		struct llm_result plain, drafted;
		uint64_t e0, a0, e1, a1;

		REQUIRE(m != NULL);
		run_drafts(m, text, is_long ? 1024 : 2048, 0, &plain, &e0, &a0);
		run_drafts(m, text, is_long ? 1024 : 2048, 4, &drafted, &e1, &a1);
		CHECK(e0 == 0 && a0 == 0);
		for (int k = 0; k < 3; k++)
			CHECKF(strcmp(plain.dec[k].output, drafted.dec[k].output) == 0,
			       "%.200s stage %d: drafts changed the output", m, k);
		if (is_long)
			CHECKF(strstr(drafted.dec[2].params, "\"chunks\":0") == NULL, "no map-reduce: %.200s",
			       drafted.dec[2].params);
		ev += e1;
		ok += a1;
		llm_result_release(&plain);
		llm_result_release(&drafted);
	}
	taxonomy_file = NULL;
	CHECKF(ok > 0 && ok < ev, "drafts evaluated %llu, accepted %llu", (unsigned long long)ev,
	       (unsigned long long)ok);
	g_string_free(lng, TRUE);
}

/* a pinned sha256 that differs: refused with one clear error */
static void test_pin_mismatch(void)
{
	struct dk_err e;
	struct llm *l = open_llm(fixture(MK_LLAMA, 1), 1, 256,
				 "0000000000000000000000000000000000000000000000000000000000000000", &e);

	CHECK(l == NULL);
	CHECK(e.code == DK_ECONFIG);
	CHECKF(strcmp(e.slug, "model_sha256_mismatch") == 0, "slug %.200s", e.slug);
	llm_close(l);
}

/* the classifier's confident disagreement wins under LLM_COMBINE_CONFIDENT, flagged */
static void test_combine(void)
{
	struct llm_opts o;
	struct llm *l = NULL;
	struct llm_result r;
	struct dk_err e;

	memset(&o, 0, sizeof o);
	o.model = fixture(MK_LLAMA, 1);
	o.datadir = top();
	o.n_ctx = 4096;
	o.entity_max_tokens = 8;
	o.summary_max_tokens = 4;
	o.combine = LLM_COMBINE_CONFIDENT;
	REQUIREF(llm_open(&l, &o, &e) == 0, "open: %.200s", e.msg);
	REQUIRE(llm_run(l, letter, strlen(letter), "en", NULL, 0, "invoice", 1.0, &r, &e) == 0);
	CHECK(strcmp(r.label, "invoice") == 0);
	CHECK(strcmp(r.label_method, "classifier") == 0 || r.confidence >= 1.0);
	CHECK(r.needs_review || strcmp(r.label_method, "llm") == 0);
	llm_result_release(&r);
	llm_close(l);
}

static int64_t count_rows(struct store *st, const char *sql)
{
	sqlite3_stmt *q;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/*
 * summary_in - run letter as a German document with summary_language sl;
 * fills r. The summarize prompt names the language; classify's does not.
 */
static struct llm *summary_in(const char *sl, uint32_t max_tokens, struct llm_result *r,
			      struct dk_err *e)
{
	struct llm_opts o;
	struct llm *l = NULL;

	memset(&o, 0, sizeof o);
	o.model = fixture(MK_LLAMA, 2);
	o.datadir = top();
	o.taxonomy = short_taxonomy();
	o.n_ctx = 2048;
	o.entity_max_tokens = 24;
	o.summary_max_tokens = max_tokens;
	o.summary_language = sl;
	if (llm_open(&l, &o, e) != 0)
		return NULL;
	if (llm_run(l, letter, strlen(letter), "de", NULL, 0, NULL, 0, r, e) != 0) {
		llm_close(l);
		return NULL;
	}
	return l;
}

/* the summary is asked for in the document's language, or the configured one */
static void test_summary_language(void)
{
	struct llm_result own, fr;
	struct llm *a, *b;
	struct dk_err e;

	a = summary_in(NULL, 4, &own, &e);
	REQUIREF(a != NULL, "own: %.200s", e.msg);
	b = summary_in("fr", 4, &fr, &e);
	REQUIREF(b != NULL, "fr: %.200s", e.msg);
	CHECKF(strcmp(own.summary_language, "de") == 0, "got '%.20s'", own.summary_language);
	CHECKF(strcmp(fr.summary_language, "fr") == 0, "got '%.20s'", fr.summary_language);
	CHECK(strstr(fr.dec[2].params, "\"summary_language\":\"fr\"") != NULL);
	CHECK(strcmp(own.dec[0].prompt_sha256, fr.dec[0].prompt_sha256) == 0);
	CHECK(strcmp(own.dec[2].prompt_sha256, fr.dec[2].prompt_sha256) != 0);
	/* a replay on the other configuration restores the recorded language */
	replay_all(a, &fr, letter, strlen(letter));
	replay_all(b, &own, letter, strlen(letter));
	llm_result_release(&own);
	llm_result_release(&fr);
	llm_close(a);
	llm_close(b);
	CHECK(summary_in("German!", 4, &own, &e) == NULL);
	CHECKF(e.code == DK_ECONFIG && strcmp(e.slug, "bad_summary_language") == 0, "%.200s", e.msg);
}

/*
 * summary_max_tokens bounds the summary (not entity_max_tokens): greedy, so a
 * prefix. (llama seed 2 writes words; other fixtures end at once or write blanks.)
 */
static void test_summary_bound(void)
{
	struct llm_result one, many;
	struct llm *a, *b;
	struct dk_err e;

	a = summary_in(NULL, 1, &one, &e);
	REQUIREF(a != NULL, "1: %.200s", e.msg);
	b = summary_in(NULL, 12, &many, &e);
	REQUIREF(b != NULL, "12: %.200s", e.msg);
	CHECKF(strlen(one.summary) < strlen(many.summary) &&
	       strncmp(one.summary, many.summary, strlen(one.summary)) == 0,
	       "'%.100s' vs '%.100s'", one.summary, many.summary);
	llm_result_release(&one);
	llm_result_release(&many);
	llm_close(a);
	llm_close(b);
}

/* llm_prompt gives the very bytes each decision's prompt hash covers, and the budgets */
static void test_prompt_matches(void)
{
	static const enum mkmodel_arch archs[] = { MK_QWEN2, MK_GEMMA3 };

	taxonomy_file = short_taxonomy();
	for (size_t a = 0; a < 2; a++) {
		struct dk_err e;
		struct llm *l = open_llm(fixture(archs[a], 1), 1, 2048, NULL, &e);
		struct llm_result r;

		REQUIREF(l != NULL, "open: %.200s", e.msg);
		REQUIREF(llm_run(l, letter, strlen(letter), "de", NULL, 0, NULL, 0, &r, &e) == 0,
			 "run: %.200s", e.msg);
		for (size_t i = 0; i < r.n_dec; i++) {
			struct dk_buf p = DK_BUF_INIT;
			uint32_t max = 0;
			char h[65];

			REQUIREF(llm_prompt(l, r.dec[i].stage, letter, strlen(letter), "de", &p, &max,
					    &e) == 0, "prompt: %.200s", e.msg);
			store_sha256_hex(p.buf, p.len, h);
			CHECKF(strcmp(h, r.dec[i].prompt_sha256) == 0, "%.20s prompt differs", r.dec[i].stage);
			/* classify: the longest label, at least one token */
			CHECK(i == 0 ? max > 0 : max == (i == 1 ? 48u : 16u));
			dk_buf_release(&p);
		}
		llm_result_release(&r);
		llm_close(l);
	}
	taxonomy_file = NULL;
}

/* decisions land in the audit chain; editing a stored decision breaks it */
static void test_record_and_tamper(void)
{
	char db[512], id[65];
	struct store st;
	struct store_doc d;
	struct dk_err e;
	struct llm *l;
	struct llm_result r;
	struct audit_break brk;

	snprintf(db, sizeof db, "%.200s/llm.db", test_tmpdir());
	unlink(db);
	store_sha256_hex(letter, sizeof letter - 1, id);
	REQUIRE(store_open(&st, db, STORE_CREATE, &e) == 0);
	store_doc_init(&d);
	d.id = id;
	d.source_name = "letter.txt";
	d.mime = "text/plain";
	d.format = "txt";
	d.text = letter;
	d.text_len = strlen(letter);
	REQUIREF(store_put_document(&st, &d, NULL, &e) == 0, "put: %.200s", e.msg);
	l = open_llm(fixture(MK_LLAMA, 2), 1, 4096, NULL, &e);
	REQUIRE(l != NULL);
	REQUIRE(llm_run(l, letter, strlen(letter), "en", NULL, 0, NULL, 0, &r, &e) == 0);
	REQUIRE(store_begin(&st, &e) == 0);
	REQUIREF(llm_record(&st, id, llm_model_sha256(l), &r, NULL, 0, &e) == 0, "record: %.200s", e.msg);
	REQUIRE(store_commit(&st, &e) == 0);
	CHECK(audit_verify(store_db(&st), &brk, &e) == 0);
	CHECK(count_rows(&st, "SELECT count(*) FROM llm_stages WHERE status = 'done'") == 3);
	CHECK(count_rows(&st, "SELECT count(*) FROM summaries WHERE language = 'en' AND "
			 "method = 'llm'") == 1);
	/* the stages' status is part of the results hash */
	CHECK(sqlite3_exec(store_db(&st), "UPDATE llm_stages SET status = 'skipped' WHERE "
			   "stage = 'entities'", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &e) != 0);
	CHECK(sqlite3_exec(store_db(&st), "UPDATE llm_stages SET status = 'done'", NULL, NULL,
			   NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &e) == 0);
	CHECK(sqlite3_exec(store_db(&st), "UPDATE llm_decisions SET output = output || ' ' "
			   "WHERE stage = 'summarize'", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(audit_verify(store_db(&st), &brk, &e) != 0);
	llm_result_release(&r);
	llm_close(l);
	store_close(&st);
}

/* numbers and names absent from the source are flagged, a sentence's first word is not */
static void test_faithfulness(void)
{
	char *f = NULL;

	REQUIRE(llm_faithfulness("Anna Schmidt asks Otto Weber for 999 EUR by 12 March. Garage "
				 "plans, (Bauer).", letter, strlen(letter), &f) == 0);
	CHECKF(strcmp(f, "[\"Otto\",\"Weber\",\"999\",\"EUR\"]") == 0, "got %.200s", f);
	free(f);
	REQUIRE(llm_faithfulness("", letter, strlen(letter), &f) == 0);
	CHECK(strcmp(f, "[]") == 0);
	free(f);
}

int main(void)
{
	RUN(test_faithfulness);
	RUN(test_pin_mismatch);
	RUN(test_archs);
	RUN(test_long_document);
	RUN(test_batched);
	RUN(test_drafts);
	RUN(test_combine);
	RUN(test_record_and_tamper);
	RUN(test_summary_language);
	RUN(test_summary_bound);
	RUN(test_prompt_matches);
	return TEST_END();
}
