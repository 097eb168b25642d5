/*
 * NAME
 *	writer - the single SQLite writer service
 * DESCRIPTION
 *	One process owns the database's write side (WAL; readers run
 *	beside it). Each MSG_DOC becomes one store transaction: the document
 *	with its receipt and audit record, and for an e-mail its attachments
 *	in the same transaction. The reply says whether the bytes were new,
 *	a duplicate, or a replay of a claim committed before a crash; only
 *	then does the supervisor move the file out of work/.
 * SECURITY
 *	The writer trusts the supervisor's framing but not the document
 *	fields (they come from a sandboxed worker): ids are validated by the
 *	store, text is stored as bytes, nothing is interpreted. It runs
 *	without network and cannot exec.
 * DESIGN NOTES
 *	1. Idempotence: the claim key names one claim of one file; the store
 *	   answers STORE_REPLAY for a claim it has, so the supervisor may
 *	   resend everything unacknowledged after a writer crash.
 *	2. An error reply (disk full, database busy) commits nothing; the
 *	   supervisor retries later and the file stays in work/.
 *	3. A replay is answered with what the first commit recorded (status
 *	   and error), not with this attempt's result: the first attempt may
 *	   have failed (its worker was killed) where this one succeeded, and
 *	   the file must go where its row says.
 *	4. Text analysis (TAG_LANG, TAG_ENTITIES, TAG_CLASS, TAG_SUMMARY) is
 *	   stored with the document in its transaction. Entity texts are cut
 *	   here from the stored text by their offsets; a span outside the
 *	   text or not on character boundaries is dropped (logged). Should the
 *	   store still refuse the results, the document is committed without
 *	   them, the refusal recorded as its analysis error: results never
 *	   cost a document.
 *	5. Model stages (stages/llm.h) run in the engine process
 *	   (engine_svc.c); their result arrives with the document as TAG_LLM
 *	   (pipeline/llm_wire.h). For a new document the decisions and
 *	   results are written in the document's transaction and the stage
 *	   times join its timings; a duplicate or replay ignores them. A
 *	   model failure (TAG_LLM_ERROR, or a result that does not decode
 *	   against the text) is logged and recorded as the document's
 *	   analysis error when it has none: it never costs a document, which
 *	   is stored with its rule/classifier results. Its llm_stages rows
 *	   say "failed" with the error; without a model (or text) they say
 *	   "skipped", and an attachment's say so too (the engine reads the
 *	   top-level document): the store, not only the log, tells which
 *	   documents the model never read.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/llm_record.h"
#include "pipeline/llm_wire.h"
#include "pipeline/spool.h"
#include "pipeline/store.h"
#include "pipeline/supervisor.h"
#include "util/dk_log.h"

#define WRITER_MAX_TIMINGS 16

struct wctx {
	char *db;
	int64_t run_id;
	struct store st;
	struct ipc_view *child;	/* scratch for nested payloads */
	int model;		/* a model is configured: the engine runs its stages */
};

/* field_dup - a field as a NUL-terminated copy (NULL if absent) */
static char *field_dup(const struct ipc_view *v, unsigned char tag)
{
	const struct ipc_field *f = ipc_get(v, tag);
	char *s;

	if (f == NULL)
		return NULL;
	s = malloc((size_t)f->len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, f->data, f->len);
	s[f->len] = 0;
	return s;
}

/* Owned copies of one document's string fields, freed by doc_strings_free. */
struct doc_strings {
	char *id, *name, *claim, *received, *slug, *msg, *stage, *mime, *format;
	char *title, *author, *charset, *pages;
	char *timing[WRITER_MAX_TIMINGS];
	size_t *page_start;
	struct store_timing t[WRITER_MAX_TIMINGS];
	/* text analysis (note 4) */
	char *lang, *cls, *summary, *an_err, *ents_raw;
	char llm_slug[DK_ERR_SLUG_MAX], llm_msg[DK_ERR_MSG_MAX];	/* note 5 */
	struct store_entity *ents;	/* (r.n_entities) texts owned, values point into ents_raw */
	struct store_results r;
};

static void doc_strings_free(struct doc_strings *s)
{
	char **all[] = { &s->id, &s->name, &s->claim, &s->received, &s->slug, &s->msg,
			 &s->stage, &s->mime, &s->format, &s->title, &s->author,
			 &s->charset, &s->pages };

	char **an[] = { &s->lang, &s->cls, &s->summary, &s->an_err, &s->ents_raw };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free(*all[i]);
	for (size_t i = 0; i < sizeof an / sizeof an[0]; i++)
		free(*an[i]);
	for (size_t i = 0; s->ents && i < s->r.n_entities; i++)
		free((char *)s->ents[i].text);
	free(s->ents);
	for (size_t i = 0; i < WRITER_MAX_TIMINGS; i++)
		free(s->timing[i]);
	free(s->page_start);
	memset(s, 0, sizeof *s);
}

/* parse_pages - page offsets "0 12 40" into an array of n */
static size_t *parse_pages(const char *text, int n)
{
	size_t *a;
	char *end;

	if (n <= 0 || text == NULL)
		return NULL;
	a = calloc((size_t)n, sizeof *a);
	for (int i = 0; a && i < n; i++) {
		a[i] = (size_t)strtoull(text, &end, 10);
		if (end == text) {
			free(a);
			return NULL;
		}
		text = end;
	}
	return a;
}

/* tab_split - cut s at the next tab; the rest after it, or NULL */
static char *tab_split(char *s)
{
	char *t = s ? strchr(s, '\t') : NULL;

	if (t)
		*t++ = 0;
	return t;
}

/* parse_entity - one line "type\tstart\tend\tconfidence\tvalue" against the text */
static int parse_entity(char *line, const char *text, size_t len, struct store_entity *e)
{
	char *f[5], *end;
	unsigned long long a, b;

	f[0] = line;
	for (int i = 1; i < 5; i++)
		if ((f[i] = tab_split(f[i - 1])) == NULL)
			return -1;
	a = strtoull(f[1], &end, 10);
	if (*end)
		return -1;
	b = strtoull(f[2], &end, 10);
	if (*end || a > b || b > len || !g_utf8_validate_len(text + a, (gsize)(b - a), NULL) ||
	    (b < len && (text[b] & 0xC0) == 0x80) || (text[a] & 0xC0) == 0x80)
		return -1;
	e->type = f[0];
	e->start = (size_t)a;
	e->end = (size_t)b;
	e->confidence = strtod(f[3], NULL);
	e->value = *f[4] ? f[4] : NULL;
	e->method = "rules";
	e->text = strndup(text + a, (size_t)(b - a));
	return e->text ? 0 : -1;
}

/* fill_entities - TAG_ENTITIES into s->ents (note 4) */
static void fill_entities(const struct ipc_view *v, struct doc_strings *s, const char *text,
			  size_t len, const char *id)
{
	size_t n = 0, cap = 0;
	char *line, *next;

	s->ents_raw = field_dup(v, TAG_ENTITIES);
	for (line = s->ents_raw; line && *line; line = next) {
		struct store_entity e = { 0 };

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		else
			next = line + strlen(line);
		if (n == cap) {
			struct store_entity *g = realloc(s->ents, (cap = cap ? 2 * cap : 16) * sizeof *g);

			if (g == NULL)
				break;
			s->ents = g;
		}
		if (parse_entity(line, text, len, &e) == 0)
			s->ents[n++] = e;
		else
			log_warn("doc=%.12s stage=writer entity=dropped reason=\"bad span\"", id ? id : "");
	}
	s->r.entities = s->ents;
	s->r.n_entities = n;
	s->r.set_entities = 1;
}

/* fill_results - the analysis fields of a done document (note 4) */
static void fill_results(const struct ipc_view *v, struct doc_strings *s, struct store_doc *d)
{
	char *f;

	store_results_init(&s->r);
	if ((s->an_err = field_dup(v, TAG_AN_ERROR)) != NULL) {
		s->r.error_stage = s->an_err;
		s->r.error_code = tab_split(s->an_err);
		s->r.error_message = tab_split((char *)s->r.error_code);
		/* logged here: the sandboxed worker cannot write a log file */
		log_warn("doc=%.12s stage=%s code=%s error=\"%s\"", d->id ? d->id : "",
			 s->r.error_stage, s->r.error_code ? s->r.error_code : "",
			 s->r.error_message ? s->r.error_message : "");
	}
	if ((s->lang = field_dup(v, TAG_LANG)) != NULL && (f = strchr(s->lang, ' ')) != NULL) {
		*f++ = 0;
		s->r.language = s->lang;
		s->r.language_confidence = strtod(f, NULL);
		s->r.language_method = "cld2+textcat";
	}
	if ((s->cls = field_dup(v, TAG_CLASS)) != NULL && (f = tab_split(s->cls)) != NULL) {
		s->r.label = s->cls;
		s->r.label_confidence = strtod(f, NULL);
		s->r.label_method = "classifier";
		f = tab_split(f);
		s->r.needs_review = f && *f == '1';
		/* the worker's method, from the schema's list only */
		if ((f = tab_split(f)) != NULL && strcmp(f, "rules") == 0)
			s->r.label_method = "rules";
	}
	if ((s->summary = field_dup(v, TAG_SUMMARY)) != NULL) {
		s->r.summary = s->summary;
		s->r.summary_language = s->r.language;
		s->r.summary_method = "extractive";
	}
	if (ipc_get(v, TAG_ENTITIES))
		fill_entities(v, s, d->text, d->text_len, d->id);
	d->results = &s->r;
}

/* fill_doc - store_doc from a MSG_DOC (or nested child) view */
static void fill_doc(const struct ipc_view *v, struct doc_strings *s, struct store_doc *d)
{
	const struct ipc_field *text = ipc_get(v, TAG_TEXT);
	size_t nt = 0;

	store_doc_init(d);
	s->id = field_dup(v, TAG_ID);
	s->name = field_dup(v, TAG_NAME);
	s->claim = field_dup(v, TAG_CLAIM);
	s->received = field_dup(v, TAG_RECEIVED);
	s->slug = field_dup(v, TAG_SLUG);
	s->msg = field_dup(v, TAG_MSG);
	s->stage = field_dup(v, TAG_STAGE);
	s->mime = field_dup(v, TAG_MIME);
	s->format = field_dup(v, TAG_FORMAT);
	s->title = field_dup(v, TAG_TITLE);
	s->author = field_dup(v, TAG_AUTHOR);
	s->charset = field_dup(v, TAG_CHARSET);
	s->pages = field_dup(v, TAG_PAGE_STARTS);
	for (size_t i = 0; i < v->n && nt < WRITER_MAX_TIMINGS; i++) {
		char *sp;

		if (v->f[i].tag != TAG_TIMING)
			continue;
		s->timing[nt] = strndup(v->f[i].data, v->f[i].len);
		if (s->timing[nt] == NULL || (sp = strchr(s->timing[nt], ' ')) == NULL)
			continue;
		*sp = 0;
		s->t[nt].stage = s->timing[nt];
		s->t[nt].ms = strtod(sp + 1, NULL);
		nt++;
	}
	d->id = s->id;
	d->claim = s->claim;
	d->source_name = s->name;
	d->received_at = s->received;
	d->size_bytes = ipc_get_i64(v, TAG_SIZE, -1);
	d->status = s->slug ? STORE_FAILED : STORE_DONE;
	d->error_code = s->slug;
	d->error_message = s->msg;
	d->error_stage = s->stage;
	d->mime = s->mime;
	d->format = s->format;
	d->title = s->title;
	d->author = s->author;
	d->source_charset = s->charset;
	d->timings = s->t;
	d->n_timings = nt;
	if (text && !s->slug) {
		d->text = text->data;
		d->text_len = text->len;
		d->pages = (int)ipc_get_i64(v, TAG_PAGES, 0);
		s->page_start = parse_pages(s->pages, d->pages);
		d->page_start = s->page_start;
		if (d->page_start == NULL)
			d->pages = 0;
		fill_results(v, s, d);
	}
}

/*
 * put_doc - store_put_document(); note 4: results the store refuses are
 * dropped and the refusal recorded, the document is stored all the same
 */
static int put_doc(struct store *st, struct store_doc *d, enum store_outcome *out,
		   struct dk_err *err)
{
	struct store_results bare;
	struct dk_err refused;
	int rc = store_put_document(st, d, out, err);

	if (rc != DK_EINVAL || d->results == NULL)
		return rc;
	refused = *err;
	log_warn("doc=%.12s stage=writer results=dropped error=\"%s\"", d->id, refused.msg);
	store_results_init(&bare);
	bare.error_stage = "store";
	bare.error_code = "invalid_results";
	bare.error_message = refused.msg;
	d->results = &bare;
	rc = store_put_document(st, d, out, err);
	d->results = NULL;
	return rc;
}

/* put_children - the attachments of the document just stored (same transaction) */
static int put_children(struct wctx *w, const struct ipc_view *v, const char *parent,
			const char *claim, int64_t run_id, struct dk_err *err)
{
	int k = 0;

	for (size_t i = 0; i < v->n; i++) {
		struct doc_strings s = { 0 };
		struct store_doc d;
		struct store_llm_stage rows[3];
		char ckey[SPOOL_KEY_MAX + 16];
		int rc;

		if (v->f[i].tag != TAG_CHILD)
			continue;
		rc = ipc_parse(v->f[i].data, v->f[i].len, w->child, err);
		if (rc != 0)
			return rc;
		fill_doc(w->child, &s, &d);
		/* note 5: the model reads the top-level document only */
		if (d.results) {
			llm_stages_fill(rows, "skipped", w->model ? "attachment" : "no_model");
			s.r.llm_stages = rows;
			s.r.n_llm_stages = 3;
		}
		snprintf(ckey, sizeof ckey, "%s#%d", claim ? claim : "", ++k);
		d.claim = claim ? ckey : NULL;
		d.parent = parent;
		d.run_id = run_id;
		rc = put_doc(&w->st, &d, NULL, err);
		doc_strings_free(&s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int has_children(const struct ipc_view *v)
{
	return ipc_get(v, TAG_CHILD) != NULL;
}

/* llm_failed - note 5: log the model's failure, keep it as the analysis error */
static void llm_failed(struct doc_strings *s, const char *id, const char *slug, const char *msg)
{
	log_warn("doc=%.12s stage=llm code=%s error=\"%s\"", id ? id : "", slug, msg);
	/* kept even when another analysis error wins: the llm_stages rows say it */
	snprintf(s->llm_slug, sizeof s->llm_slug, "%s", slug);
	snprintf(s->llm_msg, sizeof s->llm_msg, "%s", msg);
	if (s->r.error_stage != NULL)
		return;
	s->r.error_stage = "llm";
	s->r.error_code = s->llm_slug;
	s->r.error_message = s->llm_msg;
}

/* get_llm - note 5: the model result of d, timings appended; 0 when there is none */
static int get_llm(const struct ipc_view *v, struct doc_strings *s, struct store_doc *d,
		   struct llm_result *r, char model[65], struct store_timing *t, char names[3][24])
{
	const struct ipc_field *f = ipc_get(v, TAG_LLM), *e = ipc_get(v, TAG_LLM_ERROR);
	struct dk_err err = DK_ERR_INIT;

	if (e != NULL && d->results != NULL) {
		char *x = strndup(e->data, e->len), *m = tab_split(x);

		if (x != NULL)
			llm_failed(s, d->id, x, m ? m : "");
		free(x);
		return 0;
	}
	if (f == NULL || d->text == NULL || d->results == NULL)
		return 0;
	if (llm_wire_get(f->data, f->len, d->text, d->text_len, r, model, &err) != 0) {
		llm_failed(s, d->id, "bad_result", err.msg);
		return 0;
	}
	for (size_t i = 0; i < d->n_timings; i++)
		t[i] = d->timings[i];
	t[d->n_timings].stage = "llm_prefix";
	t[d->n_timings].ms = r->prefix_ms;
	/* "llm_" keeps them apart from the classifier's and summary's own timings */
	for (size_t i = 0; i < r->n_dec; i++) {
		snprintf(names[i], sizeof names[i], "llm_%s", r->dec[i].stage);
		t[d->n_timings + 1 + i].stage = names[i];
		t[d->n_timings + 1 + i].ms = r->dec[i].ms;
	}
	d->timings = t;
	d->n_timings += 1 + r->n_dec;
	log_info("doc=%.12s stage=llm label=%s confidence=%.3f entities=%zu not_found=%zu",
		 d->id, r->label, r->confidence, r->n_entities, r->n_not_found);
	return 1;
}

/*
 * mark_stages - note 5: a done document without a model result gets its
 * stages stored as skipped (no model, no text) or failed (the model's
 * error), in the document's own transaction
 */
static void mark_stages(const struct wctx *w, struct doc_strings *s, const struct store_doc *d,
			struct store_llm_stage rows[3])
{
	const char *reason = !w->model ? "no_model" : d->text_len == 0 ? "no_text" : NULL;

	if (d->results == NULL || (reason == NULL && *s->llm_slug == 0))
		return;
	llm_stages_fill(rows, reason ? "skipped" : "failed",
			reason ? reason : *s->llm_msg ? s->llm_msg : s->llm_slug);
	s->r.llm_stages = rows;
	s->r.n_llm_stages = 3;
}

/* commit - one document (and its children) in one transaction */
static int commit(struct wctx *w, const struct ipc_view *v, enum store_outcome *out,
		  struct dk_err *err)
{
	struct doc_strings s = { 0 };
	struct store_doc d;
	struct llm_result r = { 0 };
	struct store_timing t[WRITER_MAX_TIMINGS + 4];
	struct store_llm_stage rows[3];
	char names[3][24], model[65];
	int group = has_children(v), rc = 0, llm;

	fill_doc(v, &s, &d);
	d.run_id = w->run_id;
	llm = get_llm(v, &s, &d, &r, model, t, names);
	if (!llm)
		mark_stages(w, &s, &d, rows);
	if (group || llm)
		rc = store_begin(&w->st, err);
	if (rc == 0)
		rc = put_doc(&w->st, &d, out, err);
	if (rc == 0 && llm && *out == STORE_NEW)
		rc = llm_record(&w->st, d.id, model, &r, s.ents,
				s.ents ? s.r.n_entities : 0, err);
	/* A duplicate or replay already has its children stored. */
	if (rc == 0 && group && *out == STORE_NEW)
		rc = put_children(w, v, d.id, d.claim, w->run_id, err);
	if (group || llm) {
		if (rc == 0)
			rc = store_commit(&w->st, err);
		else
			store_rollback(&w->st);
	}
	llm_result_release(&r);
	doc_strings_free(&s);
	return rc;
}

/* put_recorded - note 3: the committed receipt's outcome and error, into the ACK */
static int put_recorded(struct wctx *w, const char *claim, struct ipc_msg *reply)
{
	static const char sql[] =
		"SELECT r.outcome, d.error_code, d.error_message, d.error_stage "
		"FROM receipts r JOIN documents d ON d.id = r.doc_id WHERE r.claim = ?";
	sqlite3_stmt *q = NULL;
	int rc = 0;

	if (claim == NULL || sqlite3_prepare_v2(store_db(&w->st), sql, -1, &q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(q, 1, claim, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *outcome = (const char *)sqlite3_column_text(q, 0);
		const char *code = (const char *)sqlite3_column_text(q, 1);

		if (outcome && strcmp(outcome, "duplicate") == 0)
			rc = ipc_put_str(reply, TAG_STATUS, "duplicate");
		else if (code) {
			rc = ipc_put_str(reply, TAG_STATUS, "failed");
			if (rc == 0) rc = ipc_put_str(reply, TAG_SLUG, code);
			if (rc == 0) rc = ipc_put_str(reply, TAG_MSG, (const char *)sqlite3_column_text(q, 2));
			if (rc == 0) rc = ipc_put_str(reply, TAG_STAGE, (const char *)sqlite3_column_text(q, 3));
		} else {
			rc = ipc_put_str(reply, TAG_STATUS, "done");
		}
	}
	sqlite3_finalize(q);
	return rc;
}

static int w_pre_init(void *ctx, struct dk_err *err)
{
	struct wctx *w = ctx;

	w->child = malloc(sizeof *w->child);
	if (w->child == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	return store_open(&w->st, w->db, STORE_CREATE, err);
}

/* w_serve - commit and acknowledge (note 1, 2) */
static int w_serve(void *ctx, const struct ipc_view *req, int fd, struct ipc_msg *reply,
		   struct dk_err *err)
{
	static const char *const outcome_names[] = { "new", "duplicate", "replay" };
	struct wctx *w = ctx;
	struct dk_err e = DK_ERR_INIT;
	enum store_outcome out = STORE_NEW;
	int rc;

	(void)err;
	if (fd >= 0)
		close(fd);
	ipc_msg_set_type(reply, MSG_ACK);
	rc = ipc_put_i64(reply, TAG_SEQ, ipc_get_i64(req, TAG_SEQ, -1));
	if (rc != 0)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (req->type != MSG_DOC)
		dk_err_set(&e, DK_EFORMAT, "unexpected message type %d", req->type);
	else
		commit(w, req, &out, &e);
	if (e.code != 0) {
		rc = ipc_put_str(reply, TAG_SLUG, e.slug);
		if (rc == 0) rc = ipc_put_str(reply, TAG_MSG, e.msg);
	} else {
		rc = ipc_put_str(reply, TAG_OUTCOME, outcome_names[out]);
		if (rc == 0 && out == STORE_REPLAY) {
			char claim[SPOOL_KEY_MAX];

			rc = put_recorded(w, ipc_get_str(req, TAG_CLAIM, claim, sizeof claim), reply);
		}
	}
	return rc ? dk_err_set(err, DK_ENOMEM, "out of memory") : 0;
}

static void w_fini(void *ctx)
{
	struct wctx *w = ctx;

	store_close(&w->st);
	free(w->child);
	w->child = NULL;
}

/* writer_service - describe the writer for worker_spawn() */
void writer_service(const struct pipeline_opts *o, int64_t run_id,
		    struct worker_service *svc, void **ctx)
{
	static struct wctx w;

	w.db = (char *)o->db;
	w.run_id = run_id;
	w.model = o->llm.model && *o->llm.model;
	memset(svc, 0, sizeof *svc);
	svc->name = "writer";
	svc->pre_init = w_pre_init;
	svc->serve = w_serve;
	svc->fini = w_fini;
	svc->limits.seccomp = o->seccomp;
	svc->limits.nofile = 256;
	svc->limits.allow_files = 1;
	svc->max_uses = 0;
	svc->frame_cap = pipeline_frame_cap(o);
	svc->reply_cap = 0;
	*ctx = &w;
}
