/*
 * NAME
 *	supervisor - claim, dispatch, commit, finish (Postfix master + qmgr)
 * DESCRIPTION
 *	One poll() loop over: inotify (scanner), the extract workers'
 *	sockets, the writer's socket and a signalfd (SIGCHLD, SIGTERM,
 *	SIGINT, SIGHUP). Failure policy: a bad document never stops the run;
 *	a worker that dies or overruns its time fails only its document; a
 *	writer that dies is restarted and sent again what it had not
 *	acknowledged. The run fails (returns an error) only when the spool or
 *	the database cannot be used at all.
 * DESIGN NOTES
 *	Document states (struct doc):
 *	    QUEUED --dispatch--> EXTRACTING --result--> WRITING --ack--> (finished)
 *	       |                     |  \--text, model--> MODELLING --answer--^
 *	       \--refused/unopenable--+-----------------------------------------^
 *	                    worker died/timeout
 *	1. A document is in work/ during all three states. It leaves work/
 *	   only by spool_finish() after the writer's acknowledgement, so at
 *	   any crash point the file is either still in inbox/ or work/ (and is
 *	   processed again) or its row is committed.
 *	2. Exactly once: the writer is idempotent per claim key (writer.c
 *	   note 1), and the document id is the SHA-256 of the bytes, so a
 *	   reprocessed leftover is a replay or a duplicate, never a second row.
 *	3. Messages to the writer are kept until acknowledged, in send order
 *	   (writing queue); a new writer gets them all again.
 *	4. Workers are persistent (fork-per-document would cost a libmagic
 *	   load each time); they retire after retire_after documents. An
 *	   abnormal exit throttles the respawn (exponential, up to 5 s); too
 *	   many setup failures in a row end the run (the environment is
 *	   unusable: msg_fatal in Postfix terms).
 *	5. Only the supervisor renames in the spool. Directory fsyncs are
 *	   batched (spool.c note 6) every SYNC_SECS and at the end.
 *	6. At most CLAIM_AHEAD documents per worker are claimed ahead: the
 *	   inbox stays the backlog, so a stop leaves little in work/. Likewise
 *	   extraction pauses while the engine holds more than engine_backlog()
 *	   documents: the model is the slow stage, and text waiting for it
 *	   would only pile up in memory.
 *	7. The engine process holds several documents at once. Each one's
 *	   request is kept until the answer arrives; when the engine dies,
 *	   every document it held is sent again to its successor, at most
 *	   MAX_ENGINE_TRIES times, and then goes to the writer with the
 *	   failure as its model error (stored with its rule and classifier
 *	   results): a poisonous document cannot stall the run, and nothing
 *	   in hand is lost.
 *	8. The loop sleeps in poll() until an event or the next thing due:
 *	   a scan (only when the ready list is empty: while it holds names,
 *	   the loop claims from it and does not scan, so a past next_scan is
 *	   not due) or a worker's deadline (until it is killed for it). The
 *	   200 ms tick covers the rest (retries, directory syncs). Counting a
 *	   past next_scan as due while names waited made the loop spin for a
 *	   whole batch larger than the claim-ahead, a core's worth of CPU
 *	   taken from the engine on a 2-core machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/scanner.h"
#include "pipeline/spool.h"
#include "pipeline/supervisor.h"
#include "pipeline/llm_record.h"
#include "util/dk_log.h"

#define CLAIM_AHEAD 4
#define SYNC_SECS 0.2
#define MAX_BACKOFF 5.0
#define MAX_SETUP_FAILS 8
#define MAX_WRITE_TRIES 5
#define MAX_ENGINE_TRIES 3

enum doc_state { QUEUED, EXTRACTING, MODELLING, WRITING };
enum proc_kind { P_EXTRACT, P_WRITER, P_ENGINE };
static const char *const kind_names[] = { "extract", "writer", "engine" };

struct doc {
	int64_t seq;
	enum doc_state state;
	struct spool_entry e;
	char received[32];
	struct dk_err why;	/* set when the document failed */
	char stage[16];		/* stage that failed */
	struct ipc_msg tow;	/* MSG_DOC for the writer (note 3) */
	int sent;		/* tow sent to the current writer */
	int tries;		/* writer error replies so far */
	double retry_at;
	struct ipc_msg toe;	/* MSG_LLM for the engine (note 7) */
	int e_sent;		/* toe sent to the current engine */
	int e_tries;		/* engines that died holding it */
};

struct proc {
	pid_t pid;		/* 0 = not running */
	int sock;
	struct ipc_reader rd;
	struct doc *doc;	/* extract worker: document in hand */
	double deadline;	/* monotonic seconds */
	int timed_out;		/* we killed it for overrunning */
	double respawn_at;
	double backoff;
	int setup_fails;
};

struct sup {
	struct pipeline_opts o;
	struct spool sp;
	struct scanner sc;
	struct proc *w;
	int nw;
	struct proc writer;
	struct proc engine;	/* pid 0 and never spawned without a model */
	int has_engine;
	GQueue modelling;	/* MODELLING docs (note 7) */
	int64_t run_id;
	GQueue queue;		/* QUEUED docs */
	GQueue writing;		/* WRITING docs, send order */
	int64_t next_seq;
	int sigfd;
	int stopping;
	int fatal;
	struct dk_err fatal_err;
	struct ipc_view *view;
	double next_scan, last_sync, last_progress, t0;
	GQueue ready;		/* inbox names found complete by the last scan */
	int scan_now, dirty, inbox_pending, claimed_since_scan;
	struct supervisor_counts *c;
	int64_t stuck;		/* committed but could not be moved out of work/ */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* pipeline_opts_from_config - map the settings table onto the pipeline's view */
void pipeline_opts_from_config(const struct config *cfg, struct pipeline_opts *o)
{
	o->config = cfg->config_file;
	o->spool = cfg->spool;
	o->db = cfg->db;
	o->model = cfg->model;
	o->workers = (int)cfg->workers;
	o->threads = (int)cfg->threads;
	o->stable_secs = cfg->stable_seconds;
	o->rescan_secs = cfg->rescan_seconds;
	o->timeout_secs = cfg->doc_timeout_seconds;
	o->cpu_secs = (unsigned)cfg->worker_cpu_seconds;
	o->mem_bytes = cfg->worker_memory_bytes;
	o->output_bytes = cfg->worker_output_bytes;
	o->retire_after = (unsigned)cfg->worker_max_docs;
	o->respawn_delay = cfg->respawn_delay_seconds;
	o->seccomp = cfg->seccomp;
	o->classifier = cfg->classifier;
	o->expected_languages = cfg->expected_languages;
	o->review_threshold = cfg->review_threshold;
	config_extract_limits(cfg, &o->lim);
	llm_opts_from_config(cfg, &o->llm);
}

/* pipeline_frame_cap - the configured result-message cap */
size_t pipeline_frame_cap(const struct pipeline_opts *o)
{
	return o->output_bytes;
}

static void fatal(struct sup *s, const struct dk_err *e)
{
	if (!s->fatal) {
		s->fatal = 1;
		s->fatal_err = *e;
		log_error("stage=supervisor fatal=\"%s\"", e->msg);
	}
	s->stopping = 1;
}

/* received_now - RFC 3339 UTC with milliseconds, the claim time */
static void received_now(char out[32])
{
	double now = wall();
	long ms = (long)((now - floor(now)) * 1000);
	char sec[32];

	spool_rfc3339((time_t)now, sec);
	snprintf(out, 32, "%.19s.%03ldZ", sec, ms);
}

static struct doc *doc_new(struct sup *s, const struct spool_entry *e)
{
	struct doc *d = g_new0(struct doc, 1);

	d->seq = ++s->next_seq;
	d->e = *e;
	received_now(d->received);
	ipc_msg_init(&d->tow, MSG_DOC, 0);
	ipc_msg_init(&d->toe, MSG_LLM, 0);
	return d;
}

static void doc_free(struct doc *d)
{
	ipc_msg_release(&d->tow);
	ipc_msg_release(&d->toe);
	g_free(d);
}

/* ---- writer --------------------------------------------------------- */

/* writer_send - send d->tow if the writer is up (note 3) */
static void writer_send(struct sup *s, struct doc *d)
{
	struct dk_err err = DK_ERR_INIT;

	if (s->writer.pid == 0 || d->sent || d->retry_at > mono())
		return;
	if (ipc_send(s->writer.sock, &d->tow, -1, &err) != 0) {
		log_warn("stage=writer seq=%lld error=\"%s\"", (long long)d->seq, err.msg);
		return;	/* the writer is dying; SIGCHLD brings a new one */
	}
	d->sent = 1;
}

/* to_writer - the document's result is complete: queue it for commit */
static void to_writer(struct sup *s, struct doc *d)
{
	int rc = ipc_put_i64(&d->tow, TAG_SEQ, d->seq);

	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_NAME, d->e.name);
	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_CLAIM, d->e.key);
	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_RECEIVED, d->received);
	if (rc != 0) {
		struct dk_err e = DK_ERR_INIT;

		dk_err_set(&e, DK_ENOMEM, "out of memory building a writer message");
		fatal(s, &e);
	}
	d->state = WRITING;
	g_queue_push_tail(&s->writing, d);
	writer_send(s, d);
}

/* fail_doc - the document failed before or during extraction; id from our own hash */
static void fail_doc(struct sup *s, struct doc *d, const struct dk_err *why, const char *stage)
{
	struct dk_err err = DK_ERR_INIT;
	char id[65] = "";
	int fd, rc;

	d->why = *why;
	snprintf(d->stage, sizeof d->stage, "%s", stage);
	ipc_msg_release(&d->tow);
	ipc_msg_init(&d->tow, MSG_DOC, 0);
	if (d->e.refused) {
		rc = spool_refused_id(&s->sp, &d->e, id, &err);
	} else if ((rc = spool_open_work(&s->sp, d->e.name, &fd, &err)) == 0) {
		rc = spool_sha256_fd(fd, id, &err);
		close(fd);
	} else if (rc == DK_EPERM) {
		rc = spool_refused_id(&s->sp, &d->e, id, &err);
	}
	if (rc != 0) {
		/* Cannot even read it: fall back to the claim key's hash. */
		gchar *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, d->e.key, -1);

		snprintf(id, sizeof id, "%s", h);
		g_free(h);
	}
	rc = ipc_put_str(&d->tow, TAG_ID, id);
	if (rc == 0) rc = ipc_put_i64(&d->tow, TAG_SIZE, S_ISREG(d->e.st.st_mode) ? d->e.st.st_size : -1);
	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_STATUS, "failed");
	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_SLUG, why->slug);
	if (rc == 0) rc = ipc_put_str(&d->tow, TAG_MSG, why->msg);
	if (rc == 0) ipc_put_str(&d->tow, TAG_STAGE, stage);
	log_info("stage=%s seq=%lld code=%s", stage, (long long)d->seq, why->slug);
	to_writer(s, d);
}

/* finish - the writer committed d: move it out of work/ (note 1) */
static void finish(struct sup *s, struct doc *d, int duplicate, int replay)
{
	struct dk_err err = DK_ERR_INIT;
	char final[NAME_MAX + 1];
	int failed = d->why.code != 0 && !duplicate;

	if (spool_finish(&s->sp, d->e.name, failed ? &d->why : NULL, d->stage, (time_t)wall(),
			 final, &err) != 0) {
		log_error("stage=spool seq=%lld error=\"%s\"", (long long)d->seq, err.msg);
		s->stuck++;
	}
	s->dirty = 1;
	if (duplicate)
		s->c->duplicate++;
	else if (failed)
		s->c->failed++;
	else
		s->c->done++;
	s->c->replayed += replay;
}

/*
 * recorded_status - a replay goes where its first commit put it
 * (writer.c note 3): done, duplicate (done/), or failed with that error
 */
static int recorded_status(struct doc *d, const struct ipc_view *v)
{
	char status[16];

	ipc_get_str(v, TAG_STATUS, status, sizeof status);
	if (strcmp(status, "duplicate") == 0)
		return 1;
	if (strcmp(status, "failed") == 0) {
		d->why.code = DK_EFORMAT;
		ipc_get_str(v, TAG_SLUG, d->why.slug, sizeof d->why.slug);
		ipc_get_str(v, TAG_MSG, d->why.msg, sizeof d->why.msg);
		ipc_get_str(v, TAG_STAGE, d->stage, sizeof d->stage);
	} else if (status[0]) {
		dk_err_clear(&d->why);
	}
	return 0;
}

/* on_ack - the writer's answer for one document */
static void on_ack(struct sup *s, const struct ipc_view *v)
{
	int64_t seq = ipc_get_i64(v, TAG_SEQ, -1);
	char outcome[16], slug[DK_ERR_SLUG_MAX], msg[DK_ERR_MSG_MAX];
	struct doc *d = NULL;
	int replay, dup;

	for (GList *l = s->writing.head; l; l = l->next)
		if (((struct doc *)l->data)->seq == seq) {
			d = l->data;
			break;
		}
	if (d == NULL) {
		log_warn("stage=writer seq=%lld ack=unknown", (long long)seq);
		return;
	}
	s->writer.backoff = 0;
	s->writer.setup_fails = 0;
	ipc_get_str(v, TAG_OUTCOME, outcome, sizeof outcome);
	if (outcome[0] == 0) {	/* the store refused: retry later (writer.c note 2) */
		struct dk_err e = DK_ERR_INIT;

		ipc_get_str(v, TAG_SLUG, slug, sizeof slug);
		ipc_get_str(v, TAG_MSG, msg, sizeof msg);
		log_warn("stage=writer seq=%lld code=%s error=\"%s\"", (long long)seq, slug, msg);
		d->sent = 0;
		d->retry_at = mono() + 1.0;
		if (++d->tries >= MAX_WRITE_TRIES) {
			dk_err_set(&e, DK_EIO, "cannot commit '%s': %s", d->e.name, msg);
			fatal(s, &e);
		}
		return;
	}
	replay = strcmp(outcome, "replay") == 0;
	dup = replay ? recorded_status(d, v) : strcmp(outcome, "duplicate") == 0;
	g_queue_remove(&s->writing, d);
	finish(s, d, dup, replay);
	doc_free(d);
}

/* ---- engine (note 7) --------------------------------------------------- */

/* engine_send - send d->toe if the engine is up */
static void engine_send(struct sup *s, struct doc *d)
{
	struct dk_err err = DK_ERR_INIT;

	if (s->engine.pid == 0 || d->e_sent)
		return;
	if (ipc_send(s->engine.sock, &d->toe, -1, &err) != 0) {
		log_warn("stage=engine seq=%lld error=\"%s\"", (long long)d->seq, err.msg);
		return;	/* the engine is dying; SIGCHLD brings a new one */
	}
	d->e_sent = 1;
}

/* engine_backlog - note 6: documents the engine may hold before extraction pauses */
static unsigned engine_backlog(const struct sup *s)
{
	return 2 * (s->o.llm.parallel ? s->o.llm.parallel : 1) + (unsigned)s->nw;
}

/* wants_model - an extracted document with text goes to the engine first */
static int wants_model(const struct sup *s, const struct ipc_view *v)
{
	const struct ipc_field *t = ipc_get(v, TAG_TEXT);
	char status[16];

	ipc_get_str(v, TAG_STATUS, status, sizeof status);
	return s->has_engine && t != NULL && t->len > 0 && strcmp(status, "done") == 0;
}

/* to_engine - the fields the model stages read, from the extraction result v */
static void to_engine(struct sup *s, struct doc *d, const struct ipc_view *v)
{
	static const unsigned char tags[] = { TAG_ID, TAG_TEXT, TAG_LANG, TAG_ENTITIES, TAG_CLASS };
	int rc = ipc_put_i64(&d->toe, TAG_SEQ, d->seq);

	for (size_t i = 0; rc == 0 && i < sizeof tags; i++) {
		const struct ipc_field *f = ipc_get(v, tags[i]);

		if (f != NULL)
			rc = ipc_put(&d->toe, f->tag, f->data, f->len);
	}
	if (rc != 0) {
		log_warn("stage=engine seq=%lld error=\"out of memory\"", (long long)d->seq);
		to_writer(s, d);
		return;
	}
	d->state = MODELLING;
	g_queue_push_tail(&s->modelling, d);
	engine_send(s, d);
}

static struct doc *find_seq(GQueue *q, int64_t seq)
{
	for (GList *l = q->head; l; l = l->next)
		if (((struct doc *)l->data)->seq == seq)
			return l->data;
	return NULL;
}

/* model_done - the document leaves the engine with f (TAG_LLM or TAG_LLM_ERROR) */
static void model_done(struct sup *s, struct doc *d, unsigned char tag, const char *data, size_t n)
{
	g_queue_remove(&s->modelling, d);
	ipc_msg_release(&d->toe);
	ipc_msg_init(&d->toe, MSG_LLM, 0);
	if (ipc_put(&d->tow, tag, data, n) != 0)
		log_warn("stage=engine seq=%lld error=\"model result too large to forward\"",
			 (long long)d->seq);
	to_writer(s, d);
}

/* on_llm - the engine's answer for one document */
static void on_llm(struct sup *s, const struct ipc_view *v)
{
	const struct ipc_field *f = ipc_get(v, TAG_LLM);
	struct doc *d = find_seq(&s->modelling, ipc_get_i64(v, TAG_SEQ, -1));

	if (f == NULL)
		f = ipc_get(v, TAG_LLM_ERROR);
	if (d == NULL || f == NULL || v->type != MSG_LLM_DONE) {
		log_warn("stage=engine pid=%d unexpected answer", (int)s->engine.pid);
		return;
	}
	s->engine.backoff = 0;
	s->engine.setup_fails = 0;
	model_done(s, d, f->tag, f->data, f->len);
}

/* engine_lost - note 7: the engine died holding the modelling documents */
static void engine_lost(struct sup *s, int status)
{
	GList *l = s->modelling.head;

	while (l) {
		struct doc *d = l->data;
		char why[160];

		l = l->next;
		if (!d->e_sent)
			continue;	/* sent to no engine yet: this death is not its doing */
		d->e_sent = 0;
		if (++d->e_tries < MAX_ENGINE_TRIES)
			continue;
		if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "engine_crashed\tengine process killed by signal %d "
				 "(%d attempts)", WTERMSIG(status), d->e_tries);
		else
			snprintf(why, sizeof why, "engine_crashed\tengine process exited with status %d "
				 "(%d attempts)", WEXITSTATUS(status), d->e_tries);
		log_warn("stage=engine seq=%lld code=engine_crashed attempts=%d", (long long)d->seq,
			 d->e_tries);
		model_done(s, d, TAG_LLM_ERROR, why, strlen(why));
	}
}

/* ---- processes -------------------------------------------------------- */

static int spawn(struct sup *s, struct proc *p, enum proc_kind k)
{
	struct worker_service svc;
	struct dk_err err = DK_ERR_INIT;
	void *ctx;

	if (k == P_WRITER)
		writer_service(&s->o, s->run_id, &svc, &ctx);
	else if (k == P_ENGINE)
		engine_service(&s->o, &svc, &ctx);
	else
		worker_extract_service(&s->o, &svc, &ctx);
	if (worker_spawn(&svc, ctx, &p->pid, &p->sock, &err) != 0) {
		log_error("stage=supervisor error=\"%s\"", err.msg);
		p->pid = 0;
		p->respawn_at = mono() + 1.0;
		return -1;
	}
	ipc_reader_init(&p->rd, k == P_WRITER ? 65536 : pipeline_frame_cap(&s->o));
	p->doc = NULL;
	p->timed_out = 0;
	if (k == P_WRITER)
		for (GList *l = s->writing.head; l; l = l->next)
			((struct doc *)l->data)->sent = 0;
	return 0;
}

/* on_result - an extract worker's reply: forward to the writer */
static void on_result(struct sup *s, struct proc *p, const struct ipc_view *v)
{
	struct doc *d = p->doc;
	char status[16];
	int rc = 0;

	if (d == NULL || ipc_get_i64(v, TAG_SEQ, -1) != d->seq) {
		log_warn("stage=extract pid=%d unexpected result", (int)p->pid);
		return;
	}
	p->doc = NULL;
	p->backoff = 0;
	p->setup_fails = 0;
	ipc_get_str(v, TAG_STATUS, status, sizeof status);
	if (ipc_get(v, TAG_ID) == NULL) {
		struct dk_err e = DK_ERR_INIT;

		dk_err_setx(&e, DK_EIO, "io_error", "extract worker could not read the document");
		fail_doc(s, d, &e, "extract");
		return;
	}
	if (strcmp(status, "done") != 0) {
		char slug[DK_ERR_SLUG_MAX];

		d->why.code = DK_EFORMAT;
		snprintf(d->why.slug, sizeof d->why.slug, "%s",
			 ipc_get_str(v, TAG_SLUG, slug, sizeof slug));
		ipc_get_str(v, TAG_MSG, d->why.msg, sizeof d->why.msg);
		ipc_get_str(v, TAG_STAGE, d->stage, sizeof d->stage);
		if (d->why.slug[0] == 0)
			snprintf(d->why.slug, sizeof d->why.slug, "error");
	}
	for (size_t i = 0; rc == 0 && i < v->n; i++)
		if (v->f[i].tag != TAG_SEQ)
			rc = ipc_put(&d->tow, v->f[i].tag, v->f[i].data, v->f[i].len);
	if (rc != 0) {
		struct dk_err e = DK_ERR_INIT;

		dk_err_setx(&e, DK_ENOMEM, "out_of_memory", "result too large to forward");
		fail_doc(s, d, &e, "extract");
		return;
	}
	if (wants_model(s, v))
		to_engine(s, d, v);
	else
		to_writer(s, d);
}

/* read_proc - drain a process's socket; 1 on EOF/error (it is going away) */
static int read_proc(struct sup *s, struct proc *p, enum proc_kind k)
{
	struct dk_err err = DK_ERR_INIT;
	const char *payload;
	size_t len;
	int rc;

	for (;;) {
		while ((rc = ipc_reader_next(&p->rd, &payload, &len, &err)) == 1) {
			if (ipc_parse(payload, len, s->view, &err) != 0) {
				log_error("stage=%s pid=%d error=\"%s\"", kind_names[k],
					  (int)p->pid, err.msg);
				kill(p->pid, SIGKILL);
				return 1;
			}
			if (k == P_WRITER)
				on_ack(s, s->view);
			else if (k == P_ENGINE)
				on_llm(s, s->view);
			else
				on_result(s, p, s->view);
		}
		if (rc < 0) {	/* oversized frame: the worker is broken or hostile */
			log_error("stage=%s pid=%d error=\"%s\"", kind_names[k], (int)p->pid, err.msg);
			kill(p->pid, SIGKILL);
			return 1;
		}
		rc = ipc_reader_fill(&p->rd, p->sock, &err);
		if (rc == DK_EAGAIN)
			return 0;
		if (rc != 0)
			return 1;
	}
}

/* died - a child exited: fail its document, schedule the respawn (note 4) */
static void died(struct sup *s, struct proc *p, int status, enum proc_kind k)
{
	double now = mono();
	int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	read_proc(s, p, k);	/* a retiring worker's last reply */
	close(p->sock);
	ipc_reader_release(&p->rd);
	p->pid = 0;
	if (k == P_ENGINE)
		engine_lost(s, status);
	if (p->doc) {
		struct doc *d = p->doc;
		struct dk_err e = DK_ERR_INIT;

		p->doc = NULL;
		if (p->timed_out)
			dk_err_setx(&e, DK_ETIMEOUT, "timeout",
				    "extraction took longer than %g s", s->o.timeout_secs);
		else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
			dk_err_setx(&e, DK_ETIMEOUT, "timeout",
				    "extraction used more than %u s of cpu", s->o.cpu_secs);
		else if (WIFSIGNALED(status))
			dk_err_setx(&e, DK_ECRASH, "worker_crashed",
				    "extract worker killed by signal %d", WTERMSIG(status));
		else
			dk_err_setx(&e, DK_ECRASH, "worker_crashed",
				    "extract worker exited with status %d", WEXITSTATUS(status));
		fail_doc(s, d, &e, "extract");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_SETUP &&
	    ++p->setup_fails >= MAX_SETUP_FAILS) {
		struct dk_err e = DK_ERR_INIT;

		dk_err_set(&e, DK_ECONFIG, "%s process cannot start (see the errors above)",
			   kind_names[k]);
		fatal(s, &e);
	}
	if (clean) {
		p->respawn_at = now;
	} else {
		p->backoff = p->backoff == 0 ? fmax(s->o.respawn_delay, 0.05) :
			     fmin(p->backoff * 2, MAX_BACKOFF);
		p->respawn_at = now + p->backoff;
		log_warn("stage=%s status=%d respawn_in=%.1fs", kind_names[k], status, p->backoff);
	}
}

/* reap - collect every exited child */
static void reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->writer.pid) {
			died(s, &s->writer, status, P_WRITER);
			continue;
		}
		if (pid == s->engine.pid) {
			died(s, &s->engine, status, P_ENGINE);
			continue;
		}
		for (int i = 0; i < s->nw; i++)
			if (s->w[i].pid == pid)
				died(s, &s->w[i], status, P_EXTRACT);
	}
}

/* ---- claiming and dispatch -------------------------------------------- */

static void enqueue_work(struct sup *s, const char *name)
{
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT;

	if (spool_examine(&s->sp, name, &e, &err) != 0) {
		log_warn("stage=spool error=\"%s\"", err.msg);
		return;
	}
	g_queue_push_tail(&s->queue, doc_new(s, &e));
}

static int in_flight(const struct sup *s)
{
	int n = (int)s->queue.length + (int)s->writing.length + (int)s->modelling.length;

	for (int i = 0; i < s->nw; i++)
		n += s->w[i].doc != NULL;
	return n;
}

/* on_ready - the scanner found a complete inbox entry: remember it */
static int on_ready(const char *name, void *arg)
{
	struct sup *s = arg;

	g_queue_push_tail(&s->ready, g_strdup(name));
	return 0;
}

/* scan - a fresh list of ready inbox names */
static void scan(struct sup *s)
{
	struct dk_err err = DK_ERR_INIT;
	int pending = 0;
	char *name;

	while ((name = g_queue_pop_head(&s->ready)) != NULL)
		g_free(name);
	if (scanner_scan(&s->sc, wall(), on_ready, s, &pending, &err) != 0)
		log_error("stage=scanner error=\"%s\"", err.msg);
	s->inbox_pending = pending;
	s->claimed_since_scan = 0;
	s->next_scan = mono() + (pending ? fmin(s->o.rescan_secs, 0.25) : s->o.rescan_secs);
	s->scan_now = 0;
}

/* claim_some - claim ready names while the queue has room (note 6) */
static void claim_some(struct sup *s)
{
	char *name;

	while (!s->stopping && (int)s->queue.length < CLAIM_AHEAD * s->nw &&
	       (name = g_queue_pop_head(&s->ready)) != NULL) {
		struct spool_entry e;
		struct dk_err err = DK_ERR_INIT;
		int rc = spool_claim(&s->sp, name, &e, &err);

		if (rc == DK_EIO) {
			/* The rename may have happened and the stat failed: look again. */
			log_warn("stage=spool error=\"%s\"", err.msg);
			rc = spool_examine(&s->sp, name, &e, &err);
		}
		if (rc == 0) {
			g_queue_push_tail(&s->queue, doc_new(s, &e));
			s->claimed_since_scan++;
		} else if (rc == DK_EAGAIN || rc == DK_EIO) {
			s->inbox_pending++;	/* try again at the next scan */
			s->next_scan = fmin(s->next_scan, mono() + 0.25);
		}
		g_free(name);
	}
	/* The ready list ran dry after claiming: there may be more (batch). */
	if (s->ready.length == 0 && s->claimed_since_scan > 0)
		s->scan_now = 1;
}

/* dispatch - give queued documents to idle workers */
static void dispatch(struct sup *s)
{
	for (int i = 0; i < s->nw && s->queue.length > 0 && !s->stopping &&
	     (!s->has_engine || s->modelling.length < engine_backlog(s)); i++) {
		struct proc *p = &s->w[i];
		struct dk_err err = DK_ERR_INIT;
		struct ipc_msg m;
		struct doc *d;
		int fd, rc;

		if (p->pid == 0 || p->doc != NULL)
			continue;
		d = g_queue_pop_head(&s->queue);
		if (d->e.refused) {
			dk_err_setx(&err, DK_EPERM, "refused", "'%s' is refused: %s", d->e.name, d->e.why);
			fail_doc(s, d, &err, "spool");
			i--;
			continue;
		}
		rc = spool_open_work(&s->sp, d->e.name, &fd, &err);
		if (rc == DK_ENOTFOUND) {
			log_warn("stage=spool seq=%lld error=\"%s\"", (long long)d->seq, err.msg);
			doc_free(d);
			i--;
			continue;
		}
		if (rc != 0) {
			fail_doc(s, d, &err, "spool");
			i--;
			continue;
		}
		ipc_msg_init(&m, MSG_EXTRACT, 0);
		rc = ipc_put_i64(&m, TAG_SEQ, d->seq);
		if (rc == 0)
			rc = ipc_send(p->sock, &m, fd, &err);
		ipc_msg_release(&m);
		close(fd);
		d->state = EXTRACTING;
		p->doc = d;
		p->deadline = mono() + s->o.timeout_secs;
		if (rc != 0)	/* the worker is going away; died() fails the document */
			kill(p->pid, SIGKILL);
	}
}

/* housekeeping - timeouts, respawns, retries, directory syncs */
static void housekeeping(struct sup *s)
{
	double now = mono();
	struct dk_err err = DK_ERR_INIT;

	for (int i = 0; i < s->nw; i++) {
		struct proc *p = &s->w[i];

		if (p->pid && p->doc && now > p->deadline && !p->timed_out) {
			log_warn("stage=extract seq=%lld timeout=%gs", (long long)p->doc->seq,
				 s->o.timeout_secs);
			p->timed_out = 1;
			kill(p->pid, SIGKILL);
		}
		if (p->pid == 0 && !s->stopping && now >= p->respawn_at)
			spawn(s, p, P_EXTRACT);
	}
	if (s->writer.pid == 0 && now >= s->writer.respawn_at && !s->fatal)
		spawn(s, &s->writer, P_WRITER);
	if (s->has_engine && s->engine.pid == 0 && now >= s->engine.respawn_at && !s->fatal)
		spawn(s, &s->engine, P_ENGINE);
	for (GList *l = s->writing.head; l; l = l->next)
		writer_send(s, l->data);
	for (GList *l = s->modelling.head; l; l = l->next)
		engine_send(s, l->data);
	if (s->dirty && now - s->last_sync >= SYNC_SECS) {
		if (spool_sync(&s->sp, &err) != 0)
			log_warn("stage=spool error=\"%s\"", err.msg);
		s->dirty = 0;
		s->last_sync = now;
	}
}

/* ---- signals, progress, loop -------------------------------------------- */

static void on_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGTERM:
		case SIGINT:
			if (!s->stopping)
				log_info("stage=supervisor signal=%d stopping=1 in_hand=%d",
					 (int)si.ssi_signo, in_flight(s) - (int)s->queue.length);
			s->stopping = 1;
			break;
		case SIGHUP:
			if (s->o.reload) {
				struct dk_err err = DK_ERR_INIT;

				if (s->o.reload(&s->o, &err) != 0)
					log_error("stage=supervisor reload=failed error=\"%s\"", err.msg);
				else
					log_info("stage=supervisor reload=ok");
				s->sc.stable_secs = s->o.stable_secs;
			}
			break;
		}
	}
}

static void progress(struct sup *s, int last)
{
	const struct supervisor_counts *c = s->c;
	int64_t fin = c->done + c->failed + c->duplicate;
	int64_t total = fin + in_flight(s) + s->inbox_pending + (int64_t)s->ready.length;
	double el = mono() - s->t0, now = mono();
	int width = 30, fill;

	if (!s->o.progress || (!last && now - s->last_progress < 0.2))
		return;
	s->last_progress = now;
	fill = total > 0 ? (int)(width * fin / total) : width;
	fprintf(stderr, "\r[%.*s%*s] %lld/%lld  done %lld  failed %lld  dup %lld  %.0f/min ",
		fill, "##############################", width - fill, "", (long long)fin,
		(long long)total, (long long)c->done, (long long)c->failed,
		(long long)c->duplicate, el > 0 ? fin * 60.0 / el : 0.0);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static int finished(struct sup *s)
{
	int busy = (int)s->writing.length + (int)s->modelling.length;

	for (int i = 0; i < s->nw; i++)
		busy += s->w[i].doc != NULL;
	if (s->stopping)
		return busy == 0 || (s->fatal && s->writer.pid == 0);
	return s->o.batch && busy == 0 && s->queue.length == 0 && s->ready.length == 0 &&
	       s->inbox_pending == 0 && s->claimed_since_scan == 0 && !s->scan_now;
}

/* next_wake - note 8: the earliest moment the loop has something to do
 * without an event; DBL_MAX: none */
static double next_wake(const struct sup *s)
{
	double next = s->ready.length == 0 && !s->stopping ? s->next_scan : DBL_MAX;

	for (int i = 0; i < s->nw; i++) {
		const struct proc *p = &s->w[i];

		if (p->pid && p->doc && !p->timed_out && p->deadline < next)
			next = p->deadline;
	}
	return next;
}

static int poll_once(struct sup *s)
{
	struct pollfd pf[4 + 64];
	int idx[4 + 64], n = 0, ms = 200;
	double now = mono(), next = next_wake(s);

	pf[n].fd = s->sigfd; pf[n].events = POLLIN; idx[n++] = -3;
	if (scanner_fd(&s->sc) >= 0) {
		pf[n].fd = scanner_fd(&s->sc); pf[n].events = POLLIN; idx[n++] = -2;
	}
	if (s->writer.pid) {
		pf[n].fd = s->writer.sock; pf[n].events = POLLIN; idx[n++] = -1;
	}
	if (s->engine.pid) {
		pf[n].fd = s->engine.sock; pf[n].events = POLLIN; idx[n++] = -4;
	}
	for (int i = 0; i < s->nw && n < (int)(sizeof pf / sizeof pf[0]); i++)
		if (s->w[i].pid) {
			pf[n].fd = s->w[i].sock; pf[n].events = POLLIN; idx[n++] = i;
		}
	if (next - now < 0.2)
		ms = next <= now ? 0 : (int)((next - now) * 1000) + 1;
	if (s->scan_now && s->ready.length == 0 && !s->stopping)
		ms = 0;
	if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
		return -1;
	for (int k = 0; k < n; k++) {
		if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (idx[k] == -3)
			on_signals(s);
		else if (idx[k] == -2)
			s->scan_now |= scanner_events(&s->sc);
		else if (idx[k] == -1 && s->writer.pid)
			read_proc(s, &s->writer, P_WRITER);
		else if (idx[k] == -4 && s->engine.pid)
			read_proc(s, &s->engine, P_ENGINE);
		else if (idx[k] >= 0 && s->w[idx[k]].pid)
			read_proc(s, &s->w[idx[k]], P_EXTRACT);
	}
	return 0;
}

static int requeue_leftover(const char *name, void *arg)
{
	enqueue_work(arg, name);
	return 0;
}

/* setup - spool, scanner, signals, leftovers, processes */
static int setup(struct sup *s, struct dk_err *err)
{
	sigset_t set;
	int rc;

	if ((rc = spool_open(&s->sp, s->o.spool, err)) != 0)
		return rc;
	if ((rc = spool_lock(&s->sp, err)) != 0)
		return rc;
	if ((rc = scanner_open(&s->sc, &s->sp, s->o.stable_secs, err)) != 0)
		return rc;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return dk_err_set(err, DK_EIO, "cannot create signalfd: %s", strerror(errno));
	/* Leftovers of a crash are processed first (note 1). */
	if ((rc = spool_list(&s->sp, SPOOL_WORK, requeue_leftover, s, err)) != 0)
		return rc;
	if (s->queue.length)
		log_info("stage=spool requeued=%u", s->queue.length);
	if (spawn(s, &s->writer, P_WRITER) != 0)
		return dk_err_set(err, DK_EIO, "cannot start the writer");
	if (s->has_engine && spawn(s, &s->engine, P_ENGINE) != 0)
		return dk_err_set(err, DK_EIO, "cannot start the engine");
	if (!s->has_engine)
		log_info("stage=llm skipped=no_model");
	for (int i = 0; i < s->nw; i++)
		spawn(s, &s->w[i], P_EXTRACT);
	return 0;
}

/* teardown - close sockets (EOF tells workers to exit), wait for them */
static void teardown(struct sup *s)
{
	struct dk_err err = DK_ERR_INIT;
	struct doc *d;
	char *name;

	for (int i = 0; s->w && i < s->nw; i++)
		if (s->w[i].pid) {
			close(s->w[i].sock);
			ipc_reader_release(&s->w[i].rd);
			if (s->w[i].doc)
				kill(s->w[i].pid, SIGKILL);
			waitpid(s->w[i].pid, NULL, 0);
		}
	if (s->engine.pid) {
		/* the engine exits at EOF, abandoning any document in hand (those stay in work/) */
		close(s->engine.sock);
		ipc_reader_release(&s->engine.rd);
		waitpid(s->engine.pid, NULL, 0);
	}
	if (s->writer.pid) {
		close(s->writer.sock);
		ipc_reader_release(&s->writer.rd);
		waitpid(s->writer.pid, NULL, 0);
	}
	if (s->sp.root && spool_sync(&s->sp, &err) != 0)
		log_warn("stage=spool error=\"%s\"", err.msg);
	while ((d = g_queue_pop_head(&s->queue)) != NULL)
		doc_free(d);
	while ((d = g_queue_pop_head(&s->writing)) != NULL)
		doc_free(d);
	while ((d = g_queue_pop_head(&s->modelling)) != NULL)
		doc_free(d);
	while ((name = g_queue_pop_head(&s->ready)) != NULL)
		g_free(name);
	for (int i = 0; s->w && i < s->nw; i++)
		if (s->w[i].doc)
			doc_free(s->w[i].doc);
	g_free(s->w);
	scanner_release(&s->sc);
	if (s->sp.root)
		spool_release(&s->sp);
	if (s->sigfd >= 0)
		close(s->sigfd);
	free(s->view);
}

/* supervisor_run - the loop */
int supervisor_run(const struct pipeline_opts *o, struct supervisor_counts *c,
		   struct dk_err *err)
{
	struct sup s = { .o = *o, .nw = o->workers > 0 ? o->workers : 1, .sigfd = -1,
			 .run_id = c->run_id, .c = c };
	sigset_t old;
	int rc;

	if (s.nw > 64)
		s.nw = 64;
	g_queue_init(&s.queue);
	g_queue_init(&s.writing);
	g_queue_init(&s.modelling);
	g_queue_init(&s.ready);
	s.has_engine = o->llm.model != NULL && *o->llm.model != 0;
	s.sc.ifd = -1;
	s.w = g_new0(struct proc, (size_t)s.nw);
	s.view = malloc(sizeof *s.view);
	sigprocmask(SIG_BLOCK, NULL, &old);
	s.t0 = mono();
	rc = s.view ? setup(&s, err) : dk_err_set(err, DK_ENOMEM, "out of memory");
	s.scan_now = 1;
	while (rc == 0) {
		if (!s.stopping && s.ready.length == 0 && (s.scan_now || mono() >= s.next_scan))
			scan(&s);
		claim_some(&s);
		dispatch(&s);
		housekeeping(&s);
		progress(&s, 0);
		if (finished(&s))
			break;
		if (poll_once(&s) != 0)
			rc = dk_err_set(err, DK_EIO, "poll failed: %s", strerror(errno));
	}
	progress(&s, 1);
	teardown(&s);
	sigprocmask(SIG_SETMASK, &old, NULL);
	c->seconds = mono() - s.t0;
	if (rc == 0 && s.fatal) {
		*err = s.fatal_err;
		rc = s.fatal_err.code ? s.fatal_err.code : DK_EIO;
	}
	if (rc == 0 && s.stuck)
		rc = dk_err_set(err, DK_EIO, "%lld committed files could not leave work/",
				(long long)s.stuck);
	return rc;
}
