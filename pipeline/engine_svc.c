/*
 * NAME
 *	engine_svc - the engine process: one model, many documents in flight
 * DESCRIPTION
 *	One per run (DESIGN §2). pre_init loads the model once (llm_open:
 *	hashed, mapped read-only, context and worker threads allocated);
 *	then the process enters the sandbox like an extract worker: no
 *	network, no exec, no file writes, no database (it never opens one
 *	and inherits no descriptor to it). Its loop accepts MSG_LLM requests
 *	whenever they arrive, hands them to llm_submit(), and between
 *	requests drives llm_step(): each step is one engine decode that
 *	advances every document in hand (stages/llm.h). Each finished
 *	document goes back as MSG_LLM_DONE with its seq.
 * SECURITY
 *	The request fields come from a sandboxed extract worker through the
 *	supervisor: text is treated as bytes (invalid UTF-8 is refused), rule
 *	spans outside the text are dropped, nothing is interpreted.
 * DESIGN NOTES
 *	1. The supervisor keeps every request until its answer arrives and
 *	   sends it again to a new engine when this one dies (supervisor.c
 *	   note 7), so the engine keeps no state worth saving: on EOF it
 *	   exits at once, abandoning whatever is in hand.
 *	2. The socket is read only when poll() says so, and one read() per
 *	   step: a flood of requests cannot starve the decoding, and a step
 *	   never waits for the supervisor.
 *	3. A request the engine cannot use (no text, bad UTF-8, unparsable)
 *	   is answered at once with TAG_LLM_ERROR; a document whose stages
 *	   fail gets its error the same way. Neither costs the document: the
 *	   writer stores it with its rule and classifier results.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pipeline/llm_wire.h"
#include "pipeline/supervisor.h"
#include "util/dk_log.h"

struct ectx {
	struct llm_opts lo;
	struct llm *llm;
	struct ipc_view *view;
};

static int e_pre_init(void *ctx, struct dk_err *err)
{
	struct ectx *e = ctx;

	e->view = malloc(sizeof *e->view);
	if (e->view == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	return llm_open(&e->llm, &e->lo, err);
}

static void e_fini(void *ctx)
{
	struct ectx *e = ctx;

	llm_close(e->llm);
	e->llm = NULL;
	free(e->view);
	e->view = NULL;
}

/* reply_error - note 3 */
static int reply_error(int sock, int64_t seq, const struct dk_err *why)
{
	struct ipc_msg m;
	struct dk_err err = DK_ERR_INIT;
	char *s = g_strdup_printf("%s\t%s", why->slug[0] ? why->slug : "error", why->msg);
	int rc;

	log_warn("stage=engine seq=%lld code=%s error=\"%s\"", (long long)seq, why->slug, why->msg);
	ipc_msg_init(&m, MSG_LLM_DONE, 0);
	rc = ipc_put_i64(&m, TAG_SEQ, seq);
	if (rc == 0) rc = ipc_put_str(&m, TAG_LLM_ERROR, s);
	if (rc == 0) rc = ipc_send(sock, &m, -1, &err);
	ipc_msg_release(&m);
	g_free(s);
	return rc;
}

static int reply_result(int sock, int64_t seq, const struct llm_result *r, const char *model)
{
	struct ipc_msg m;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	ipc_msg_init(&m, MSG_LLM_DONE, 0);
	rc = ipc_put_i64(&m, TAG_SEQ, seq);
	if (rc == 0) rc = llm_wire_put(&m, TAG_LLM, r, model);
	if (rc == 0) rc = ipc_send(sock, &m, -1, &err);
	ipc_msg_release(&m);
	return rc;
}

/* parse_rules - TAG_ENTITIES lines "type\tstart\tend\t..." inside the text; types point into buf */
static size_t parse_rules(char *buf, size_t len, struct llm_rule_span *out, size_t cap)
{
	size_t n = 0;

	for (char *line = buf, *next; line && *line && n < cap; line = next) {
		char *t1, *t2, *end;
		unsigned long long a, b;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		if ((t1 = strchr(line, '\t')) == NULL || (t2 = strchr(t1 + 1, '\t')) == NULL)
			continue;
		*t1 = 0;
		a = strtoull(t1 + 1, &end, 10);
		b = strtoull(t2 + 1, &end, 10);
		if (a > b || b > len)
			continue;
		out[n].type = line;
		out[n].start = (size_t)a;
		out[n].end = (size_t)b;
		n++;
	}
	return n;
}

/* submit - one MSG_LLM into the model's queue, or an error reply (note 3) */
static int submit(struct ectx *e, int sock, const struct ipc_view *v)
{
	const struct ipc_field *text = ipc_get(v, TAG_TEXT), *ents = ipc_get(v, TAG_ENTITIES);
	int64_t seq = ipc_get_i64(v, TAG_SEQ, -1);
	char lang[32], cls[128], *rules_buf = NULL, *sp;
	struct llm_rule_span *rules = NULL;
	struct llm_doc d = { 0 };
	struct dk_err err = DK_ERR_INIT;
	int rc = 0;

	if (v->type != MSG_LLM || text == NULL || text->len == 0 ||
	    !g_utf8_validate_len(text->data, text->len, NULL))
		rc = dk_err_setx(&err, DK_EFORMAT, "bad_request", "model request without valid text");
	if (rc == 0 && ents != NULL) {
		rules_buf = g_strndup(ents->data, ents->len);
		rules = calloc(ents->len / 4 + 1, sizeof *rules);
		if (rules == NULL)
			rc = dk_err_set(&err, DK_ENOMEM, "out of memory");
		else
			d.n_rules = parse_rules(rules_buf, text->len, rules, ents->len / 4 + 1);
	}
	if (rc == 0) {
		d.text = text->data;
		d.len = text->len;
		d.rules = rules;
		ipc_get_str(v, TAG_LANG, lang, sizeof lang);
		if ((sp = strchr(lang, ' ')) != NULL)
			*sp = 0;
		d.lang = lang[0] ? lang : NULL;
		ipc_get_str(v, TAG_CLASS, cls, sizeof cls);
		if ((sp = strchr(cls, '\t')) != NULL) {
			*sp++ = 0;
			d.clf_label = cls;
			d.clf_conf = strtod(sp, NULL);
		}
		rc = llm_submit(e->llm, (uint64_t)seq, &d, &err);
	}
	free(rules);
	g_free(rules_buf);
	return rc == 0 ? 0 : reply_error(sock, seq, &err);
}

/* drain - send every finished document back */
static int drain(struct ectx *e, int sock)
{
	uint64_t tag;
	int doc_rc, rc = 0;
	struct llm_result r;
	struct dk_err why = DK_ERR_INIT;

	while (rc == 0 && llm_take(e->llm, &tag, &doc_rc, &r, &why) == 1) {
		if (doc_rc == 0)
			rc = reply_result(sock, (int64_t)tag, &r, llm_model_sha256(e->llm));
		else
			rc = reply_error(sock, (int64_t)tag, &why);
		llm_result_release(&r);
	}
	return rc;
}

/* read_requests - note 2: one read(), then every complete frame; 1 on EOF */
static int read_requests(struct ectx *e, int sock, struct ipc_reader *rd)
{
	struct dk_err err = DK_ERR_INIT;
	const char *payload;
	size_t len;
	int rc = ipc_reader_fill(rd, sock, &err);

	if (rc == DK_ENOTFOUND)
		return 1;
	if (rc != 0 && rc != DK_EAGAIN)
		return -1;
	while ((rc = ipc_reader_next(rd, &payload, &len, &err)) == 1)
		if (ipc_parse(payload, len, e->view, &err) != 0 || submit(e, sock, e->view) != 0)
			return -1;
	return rc < 0 ? -1 : 0;
}

/* e_loop - accept requests, step the model, answer (notes 1, 2) */
static int e_loop(void *ctx, int sock, size_t frame_cap)
{
	struct ectx *e = ctx;
	struct ipc_reader rd;
	struct dk_err err = DK_ERR_INIT;
	int rc = 0;

	ipc_reader_init(&rd, frame_cap);
	while (rc == 0) {
		struct pollfd pf = { sock, POLLIN, 0 };
		int busy = llm_pending(e->llm) > 0;

		if (poll(&pf, 1, busy ? 0 : -1) < 0 && errno != EINTR)
			rc = -1;
		else if (pf.revents & (POLLIN | POLLHUP | POLLERR))
			rc = read_requests(e, sock, &rd);
		if (rc == 0 && busy && llm_step(e->llm, &err) != 0) {
			log_error("stage=engine error=\"%s\"", err.msg);
			rc = -1;
		}
		if (rc == 0)
			rc = drain(e, sock);
	}
	ipc_reader_release(&rd);
	return rc == 1 ? 0 : 1;
}

/* engine_service - describe the engine process for worker_spawn() */
void engine_service(const struct pipeline_opts *o, struct worker_service *svc, void **ctx)
{
	static struct ectx e;

	e.lo = o->llm;
	memset(svc, 0, sizeof *svc);
	svc->name = "engine";
	svc->pre_init = e_pre_init;
	svc->loop = e_loop;
	svc->fini = e_fini;
	svc->limits.seccomp = o->seccomp;
	svc->limits.nofile = 64;
	svc->limits.allow_files = 0;
	svc->frame_cap = pipeline_frame_cap(o);
	*ctx = &e;
}
