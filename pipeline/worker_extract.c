/*
 * NAME
 *	worker_extract - the extract worker service (runs in the sandbox)
 * DESCRIPTION
 *	Receives a read-only descriptor of one claimed file, hashes its bytes
 *	(the document id), runs the per-document stage list and replies with
 *	the result: text, metadata, timings, and for e-mail the attachments
 *	as nested child results. A document the stages reject is a normal
 *	reply with status "failed"; only a broken channel ends the worker.
 * SECURITY
 *	The worker trusts nothing in the document. It never opens a path: the
 *	supervisor opened the file (O_NOFOLLOW, single link, regular) and
 *	passes the descriptor. By the time serve() runs, the worker has no
 *	network, cannot exec, cannot write files, and has memory and CPU
 *	limits (sbx.h); the supervisor adds a wall-clock timeout.
 * DESIGN NOTES
 *	1. The stage list is the place for later per-document stages
 *	   (language, entities, classification, summary): each entry reads
 *	   what earlier ones left in struct xdoc and appends its fields to the
 *	   reply. Each stage's wall-clock time is reported as TAG_TIMING.
 *	2. Children are hashed and extracted here, in the same sandbox,
 *	   but never recursively: an attachment's own attachments are not
 *	   unpacked (a mail bomb cannot multiply past max_children).
 *	3. Text analysis (stages/analyze.h: language, entities, classifier,
 *	   summary) runs on the text exactly as it will be stored, for the
 *	   document and for each child, and reports one timing per stage.
 *	   Its data files and the classifier model are loaded in pre_init,
 *	   before the sandbox closes. A failure of analysis never fails the
 *	   document: the text is stored (status done) without those results
 *	   and TAG_AN_ERROR carries the failing stage, code and message to
 *	   the writer, which logs them and records them in the document's
 *	   audit record. The same holds when the results do not fit the
 *	   reply's cap. The worker itself does not log: its RLIMIT_FSIZE is
 *	   0, and a stderr redirected to a regular file would kill it.
 *	4. Entities travel as offsets only; the writer cuts each entity's
 *	   text from the stored text, so text == stored[start, end) holds by
 *	   construction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/supervisor.h"
#include "pipeline/spool.h"
#include "stages/analyze.h"
#include "util/dk_io.h"

struct xctx {
	struct pipeline_opts o;
	struct analyze *an;	/* opened in pre_init (note 3) */
};

struct xdoc {
	const struct pipeline_opts *o;
	struct analyze *an;
	const unsigned char *data;
	size_t len;
	struct extract_result res;
	struct ipc_msg *out;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* put_page_starts - "0 1234 5678" */
static int put_page_starts(struct ipc_msg *m, const struct extract_result *res)
{
	struct dk_buf b = DK_BUF_INIT;
	int rc = 0;

	for (int i = 0; rc == 0 && i < res->pages && res->page_start; i++)
		rc = dk_buf_addf(&b, i ? " %zu" : "%zu", res->page_start[i]);
	if (rc == 0)
		rc = ipc_put(m, TAG_PAGE_STARTS, b.buf, b.len);
	dk_buf_release(&b);
	return rc;
}

/* put_result - the fields of a successful extraction */
static int put_result(struct ipc_msg *m, const struct extract_result *res)
{
	int rc = ipc_put_str(m, TAG_STATUS, "done");

	if (rc == 0) rc = ipc_put_str(m, TAG_MIME, res->mime);
	if (rc == 0 && res->format) rc = ipc_put_str(m, TAG_FORMAT, res->format);
	if (rc == 0) rc = ipc_put_i64(m, TAG_PAGES, res->pages);
	if (rc == 0) rc = put_page_starts(m, res);
	if (rc == 0) rc = ipc_put(m, TAG_TEXT, res->text.buf, res->text.len);
	if (rc == 0 && res->title) rc = ipc_put_str(m, TAG_TITLE, res->title);
	if (rc == 0 && res->author) rc = ipc_put_str(m, TAG_AUTHOR, res->author);
	if (rc == 0 && res->source_charset) rc = ipc_put_str(m, TAG_CHARSET, res->source_charset);
	return rc;
}

static int put_failure(struct ipc_msg *m, const struct dk_err *e, const char *stage,
		       const char *mime)
{
	int rc = ipc_put_str(m, TAG_STATUS, "failed");

	if (rc == 0) rc = ipc_put_str(m, TAG_SLUG, e->slug[0] ? e->slug : dk_err_slug(e->code));
	if (rc == 0) rc = ipc_put_str(m, TAG_MSG, e->msg);
	if (rc == 0) rc = ipc_put_str(m, TAG_STAGE, stage);
	if (rc == 0 && mime && mime[0]) rc = ipc_put_str(m, TAG_MIME, mime);
	return rc;
}

static int put_timing(struct ipc_msg *m, const char *stage, double ms)
{
	char t[64];

	snprintf(t, sizeof t, "%s %.3f", stage, ms);
	return ipc_put_str(m, TAG_TIMING, t);
}

/* put_entities - one field, a line per entity (note 4) */
static int put_entities(struct ipc_msg *m, const struct ent_list *l)
{
	struct dk_buf b = DK_BUF_INIT;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct ent_entity *e = &l->v[i];

		/* a value holding a line break would split its line: keep the span only */
		rc = dk_buf_addf(&b, "%s\t%zu\t%zu\t%.4f\t%s\n", ent_type_name(e->type), e->start,
				 e->end, e->confidence,
				 e->value && !strpbrk(e->value, "\r\n") ? e->value : "");
	}
	if (rc == 0)
		rc = ipc_put(m, TAG_ENTITIES, b.buf, b.len);
	dk_buf_release(&b);
	return rc;
}

/* put_analysis_fields - the results of a successful analysis */
static int put_analysis_fields(struct ipc_msg *m, const struct analysis *a)
{
	char t[128];
	int rc;

	snprintf(t, sizeof t, "%s %.4f", a->lang.lang.code, a->lang.lang.confidence);
	rc = ipc_put_str(m, TAG_LANG, t);
	if (rc == 0)
		rc = put_entities(m, &a->entities);
	if (rc == 0 && a->classified) {
		snprintf(t, sizeof t, "%s\t%.4f\t%d\t%s", a->label, a->confidence, a->needs_review,
			 a->method ? a->method : "classifier");
		rc = ipc_put_str(m, TAG_CLASS, t);
	}
	if (rc == 0 && a->summary.len)
		rc = ipc_put(m, TAG_SUMMARY, a->summary.buf, a->summary.len);
	return rc;
}

static int put_analysis_error(struct ipc_msg *m, const char *stage, const struct dk_err *e)
{
	struct dk_buf b = DK_BUF_INIT;
	int rc = dk_buf_addf(&b, "%s\t%s\t%s", stage, e->slug[0] ? e->slug : dk_err_slug(e->code),
			     e->msg);

	if (rc == 0)
		rc = ipc_put(m, TAG_AN_ERROR, b.buf, b.len);
	dk_buf_release(&b);
	return rc;
}

/*
 * analyse - note 3: the analysis of text[0..len) and its timings into m.
 * Only a message too full for even the error report fails.
 */
static int analyse(struct analyze *an, struct ipc_msg *m, const char *text, size_t len)
{
	struct analysis a;
	struct dk_err err = DK_ERR_INIT;
	size_t mark = m->b.len;
	int rc = analyze_text(an, text, len, &a, &err);

	if (rc != 0)
		return put_analysis_error(m, "analyze", &err);
	for (int s = 0; rc == 0 && s < AN_N_STAGES; s++)
		rc = put_timing(m, analyze_stage_name((enum analyze_stage)s), a.ms[s]);
	if (rc == 0 && put_analysis_fields(m, &a) != 0) {
		/* over the reply cap: the text is kept, the results are not */
		dk_buf_truncate(&m->b, mark);
		dk_err_setx(&err, DK_ELIMIT, "results_too_large",
			    "analysis results do not fit the message cap");
		rc = put_analysis_error(m, "analyze", &err);
	}
	analysis_release(&a);
	return rc;
}

/* put_child - one attachment as a nested payload (note 2), analysed (note 3) */
static int put_child(struct ipc_msg *m, const struct extract_child *ch,
		     const struct extract_limits *lim, struct analyze *an)
{
	struct ipc_msg sub;
	struct extract_result res;
	struct dk_err err = DK_ERR_INIT;
	char *id = g_compute_checksum_for_data(G_CHECKSUM_SHA256, ch->data, ch->len);
	double t0 = mono_ms();
	int rc;

	ipc_msg_init(&sub, MSG_RESULT, 0);
	extract_result_init(&res, lim);
	rc = ipc_put_str(&sub, TAG_ID, id);
	if (rc == 0) rc = ipc_put_str(&sub, TAG_NAME, ch->name ? ch->name : "attachment");
	if (rc == 0) rc = ipc_put_i64(&sub, TAG_SIZE, (int64_t)ch->len);
	if (rc == 0) {
		if (extract_buffer(ch->data, ch->len, lim, &res, &err) == 0) {
			rc = put_result(&sub, &res);
			if (rc == 0) rc = put_timing(&sub, "extract", mono_ms() - t0);
			if (rc == 0) rc = analyse(an, &sub, res.text.buf, res.text.len);
		} else {
			rc = put_failure(&sub, &err, "extract", res.mime);
			if (rc == 0) rc = put_timing(&sub, "extract", mono_ms() - t0);
		}
	}
	/* The nested payload is the frame minus its 4-byte length prefix. */
	if (rc == 0) rc = ipc_put(m, TAG_CHILD, sub.b.buf + 4, sub.b.len - 4);
	extract_result_release(&res);
	ipc_msg_release(&sub);
	g_free(id);
	return rc;
}

/* stage_extract - type from content, format extractor, normalization */
static int stage_extract(struct xdoc *d, struct dk_err *err)
{
	int rc = extract_buffer(d->data, d->len, &d->o->lim, &d->res, err);

	if (rc != 0)
		return rc;
	rc = put_result(d->out, &d->res);
	for (size_t i = 0; rc == 0 && i < d->res.n_children; i++)
		rc = put_child(d->out, &d->res.children[i], &d->o->lim, d->an);
	if (rc != 0)
		return dk_err_setx(err, DK_ENOMEM, "text_too_large",
				   "result does not fit the message cap");
	return 0;
}

/* stage_analyze - language, entities, class, summary (note 3); never fails the document */
static int stage_analyze(struct xdoc *d, struct dk_err *err)
{
	if (analyse(d->an, d->out, d->res.text.buf, d->res.text.len) != 0)
		return dk_err_setx(err, DK_ENOMEM, "text_too_large",
				   "result does not fit the message cap");
	return 0;
}

/* The per-document stages, in order (note 1); self_timed stages put their own timings. */
static const struct xstage {
	const char *name;
	int (*run)(struct xdoc *d, struct dk_err *err);
	int self_timed;
} xstages[] = {
	{ "extract", stage_extract, 0 },
	{ "analyze", stage_analyze, 1 },
};

/*
 * map_input - the bytes behind fd (NULL for an empty file). A file over
 * the input limit is not mapped (it would count against RLIMIT_AS): it is
 * hashed by reading and fails too_large.
 */
static int map_input(int fd, const struct extract_limits *lim, const unsigned char **data,
		     size_t *len, char id[65], struct dk_err *err)
{
	struct stat st;
	void *p;

	*data = NULL;
	*len = 0;
	id[0] = 0;
	if (dk_io_fstat(fd, &st) != 0)
		return dk_err_set(err, DK_EIO, "cannot stat document: %s", strerror(errno));
	*len = (size_t)st.st_size;
	if (st.st_size == 0)
		return 0;
	if ((size_t)st.st_size > lim->max_input_bytes) {
		int rc = spool_sha256_fd(fd, id, err);

		if (rc != 0)
			return rc;
		return dk_err_setx(err, DK_ELIMIT, "too_large",
				   "file of %jd bytes is over the limit of %zu bytes",
				   (intmax_t)st.st_size, lim->max_input_bytes);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return dk_err_setx(err, DK_EIO, "io_error", "cannot map document: %s",
				   strerror(errno));
	*data = p;
	return 0;
}

/* run_stages - hash, then each stage; a failing stage ends the document */
static int run_stages(struct xctx *x, int fd, struct ipc_msg *reply)
{
	struct xdoc d = { .o = &x->o, .an = x->an, .out = reply };
	struct dk_err err = DK_ERR_INIT;
	const char *failed_stage = NULL;
	char hex[65], *id;
	int rc;

	extract_result_init(&d.res, &x->o.lim);
	rc = map_input(fd, &x->o.lim, &d.data, &d.len, hex, &err);
	if (rc != 0) {
		rc = hex[0] ? ipc_put_str(reply, TAG_ID, hex) : 0;
		if (rc == 0) rc = ipc_put_i64(reply, TAG_SIZE, (int64_t)d.len);
		if (rc == 0) rc = put_failure(reply, &err, "extract", NULL);
		goto out;
	}
	id = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d.data ? d.data : (const guchar *)"",
					 d.len);
	rc = ipc_put_str(reply, TAG_ID, id);
	g_free(id);
	if (rc == 0) rc = ipc_put_i64(reply, TAG_SIZE, (int64_t)d.len);
	if (rc == 0 && sbx_cpu_budget(x->o.cpu_secs, &err) != 0)
		failed_stage = "sandbox";
	for (size_t i = 0; rc == 0 && !failed_stage && i < sizeof xstages / sizeof xstages[0]; i++) {
		double t0 = mono_ms();

		if (xstages[i].run(&d, &err) != 0)
			failed_stage = xstages[i].name;
		if (!xstages[i].self_timed || failed_stage)
			rc = put_timing(reply, xstages[i].name, mono_ms() - t0);
	}
	if (rc == 0 && failed_stage)
		rc = put_failure(reply, &err, failed_stage, d.res.mime);
out:
	if (d.data && d.len)
		munmap((void *)d.data, d.len);
	extract_result_release(&d.res);
	return rc;
}

/* x_pre_init - extraction libraries and the analysis data, before the sandbox (note 3) */
static int x_pre_init(void *ctx, struct dk_err *err)
{
	struct xctx *x = ctx;
	struct analyze_opts ao = { 0 };
	int rc = extract_init(err);

	ao.expected_languages = x->o.expected_languages;
	ao.classifier_path = x->o.classifier;
	ao.review_threshold = x->o.review_threshold;
	if (rc == 0 && x->an == NULL)
		rc = analyze_open(&x->an, &ao, err);
	return rc;
}

static void x_fini(void *ctx)
{
	struct xctx *x = ctx;

	analyze_close(x->an);
	x->an = NULL;
}

/* x_serve - one document */
static int x_serve(void *ctx, const struct ipc_view *req, int fd, struct ipc_msg *reply,
		   struct dk_err *err)
{
	struct xctx *x = ctx;
	int rc;

	ipc_msg_set_type(reply, MSG_RESULT);
	rc = ipc_put_i64(reply, TAG_SEQ, ipc_get_i64(req, TAG_SEQ, -1));
	if (rc == 0 && fd < 0) {
		struct dk_err e = DK_ERR_INIT;

		dk_err_setx(&e, DK_EIO, "io_error", "no document descriptor received");
		rc = put_failure(reply, &e, "extract", NULL);
	} else if (rc == 0) {
		rc = run_stages(x, fd, reply);
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return dk_err_set(err, DK_ENOMEM, "cannot build the result message");
	return 0;
}

/* worker_extract_service - describe the extract worker for worker_spawn() */
void worker_extract_service(const struct pipeline_opts *o, struct worker_service *svc,
			    void **ctx)
{
	static struct xctx x;

	x.o = *o;
	memset(svc, 0, sizeof *svc);
	svc->name = "extract";
	svc->pre_init = x_pre_init;
	svc->serve = x_serve;
	svc->fini = x_fini;
	svc->limits.mem_bytes = o->mem_bytes;
	svc->limits.cpu_seconds = o->cpu_secs * (o->retire_after + 1);
	svc->limits.seccomp = o->seccomp;
	svc->limits.nofile = 64;
	svc->limits.allow_files = 0;
	svc->max_uses = o->retire_after;
	svc->frame_cap = 4096;
	svc->reply_cap = pipeline_frame_cap(o);
	*ctx = &x;
}
