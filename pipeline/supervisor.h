/*
 * NAME
 *	supervisor - the resident process of docket batch / docket watch
 * SUMMARY
 *	supervisor_run() owns the spool: it claims complete inbox files,
 *	hands each to one of N sandboxed extract workers (the file travels
 *	as a descriptor, never as a path), passes the result to the single
 *	writer process, and only after the writer reports the commit moves
 *	the file to done/ or failed/. Batch mode returns when the inbox is
 *	empty and nothing is in flight; watch mode runs until SIGTERM/SIGINT
 *	(documents in hand are finished first). SIGHUP re-reads the config.
 *
 *	With a model configured, a document with text goes from its extract
 *	worker to the engine process (one per run, model loaded once, many
 *	documents in flight) and, with the model's result, on to the writer.
 *
 *	The pipeline protocol (ipc frames) is declared here because four
 *	processes speak it: supervisor, extract workers, engine, writer.
 * OWNERSHIP
 *	struct pipeline_opts strings are borrowed for the run.
 * LIFETIME
 *	One supervisor_run() per process; the counts are final when it returns.
 * THREADS
 *	Single-threaded; forks its workers.
 * ERRORS
 *	supervisor_run() returns 0 when the run itself went well (bad
 *	documents do not make a run fail), else DK_EIO/DK_ECONFIG/... with
 *	err set; the caller maps it to a sysexits status.
 */
#ifndef DK_SUPERVISOR_H
#define DK_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "pipeline/worker.h"
#include "stages/extract.h"
#include "stages/llm.h"
#include "util/dk_err.h"

struct pipeline_opts {
	const char *config;	/* config file to re-read on SIGHUP, or NULL */
	const char *spool;	/* spool root */
	const char *db;		/* SQLite file */
	const char *model;	/* model for later stages, or NULL */
	int workers;		/* extract worker processes */
	int threads;		/* threads for later stages (engine) */
	int batch;		/* 1: exit when the inbox is empty */
	int progress;		/* 1: progress bar on stderr */
	double stable_secs;	/* size+mtime stable this long = complete */
	double rescan_secs;	/* full inbox rescan period */
	double timeout_secs;	/* wall clock per document */
	unsigned cpu_secs;	/* CPU seconds per document (RLIMIT_CPU) */
	size_t mem_bytes;	/* address space per worker (RLIMIT_AS) */
	size_t output_bytes;	/* largest result message */
	unsigned retire_after;	/* documents per worker before it is replaced */
	double respawn_delay;	/* first pause before restarting a crashed worker */
	int seccomp;		/* 1: seccomp filter in workers */
	const char *classifier;	/* trained classifier model, NULL or "" = none */
	const char *expected_languages;	/* ISO 639-1 list, NULL or "" = the EU 24 */
	double review_threshold;	/* classifier confidence below this: needs_review */
	struct llm_opts llm;	/* model stages (writer side); llm.model "" = skipped */
	struct extract_limits lim;
	/* reload - SIGHUP: re-read the settings into o (spool and db stay); may be NULL */
	int (*reload)(struct pipeline_opts *o, struct dk_err *err);
};

/*
 * pipeline_opts_from_config - the settings the pipeline uses; string
 * fields are borrowed from cfg (the caller keeps cfg's spool/db alive)
 */
void pipeline_opts_from_config(const struct config *cfg, struct pipeline_opts *o);

/* pipeline_frame_cap - the largest result/doc frame accepted */
size_t pipeline_frame_cap(const struct pipeline_opts *o);

/* supervisor_run - run the pipeline; fills *summary counts */
struct supervisor_counts {
	int64_t done, failed, duplicate, replayed;
	double seconds;
	int64_t run_id;
};
int supervisor_run(const struct pipeline_opts *o, struct supervisor_counts *c,
		   struct dk_err *err);

/* Message types. */
enum {
	MSG_EXTRACT = 'R',	/* supervisor -> extract worker, file descriptor attached */
	MSG_RESULT = 'X',	/* extract worker -> supervisor */
	MSG_DOC = 'D',		/* supervisor -> writer: commit one document */
	MSG_ACK = 'A',		/* writer -> supervisor: committed (or why not) */
	MSG_LLM = 'Q',		/* supervisor -> engine: TAG_SEQ, TAG_TEXT, TAG_LANG,
				 * TAG_ENTITIES, TAG_CLASS of one document */
	MSG_LLM_DONE = 'Y',	/* engine -> supervisor: TAG_SEQ and TAG_LLM or TAG_LLM_ERROR */
};

/* Field tags. */
enum {
	TAG_SEQ = 's',		/* supervisor's sequence number of the document */
	TAG_NAME = 'n',		/* source name as dropped */
	TAG_CLAIM = 'k',	/* spool claim key */
	TAG_RECEIVED = 'r',	/* RFC 3339 time of the claim */
	TAG_ID = 'i',		/* SHA-256 hex of the bytes */
	TAG_SIZE = 'z',
	TAG_STATUS = 'S',	/* "done" | "failed" */
	TAG_SLUG = 'c',		/* error code */
	TAG_MSG = 'm',		/* error message */
	TAG_STAGE = 'g',	/* stage that failed */
	TAG_MIME = 'M',
	TAG_FORMAT = 'f',
	TAG_PAGES = 'p',
	TAG_PAGE_STARTS = 'P',	/* decimal offsets separated by spaces */
	TAG_TEXT = 't',
	TAG_TITLE = 'T',
	TAG_AUTHOR = 'a',
	TAG_CHARSET = 'C',
	TAG_TIMING = 'w',	/* "stage milliseconds", repeated */
	TAG_CHILD = 'h',	/* nested payload of a child document, repeated */
	TAG_OUTCOME = 'o',	/* ACK: "new" | "duplicate" | "replay" */
	/* Text analysis (stages/analyze.h), after the extraction fields. */
	TAG_LANG = 'L',		/* "code confidence" */
	TAG_ENTITIES = 'E',	/* lines "type<TAB>start<TAB>end<TAB>confidence<TAB>value" */
	TAG_CLASS = 'K',	/* "label<TAB>confidence<TAB>needs_review(0|1)<TAB>method" */
	TAG_SUMMARY = 'U',	/* extractive summary text */
	TAG_AN_ERROR = 'e',	/* analysis failed: "stage<TAB>slug<TAB>message" */
	/* Model stages (engine -> supervisor -> writer). */
	TAG_LLM = 'l',		/* the llm_result, nested (pipeline/llm_wire.h) */
	TAG_LLM_ERROR = 'x',	/* the model stages failed: "slug<TAB>message" */
};

/* Services (worker skeleton instances). */

/* worker_extract_service - sandboxed extraction: MSG_EXTRACT in, MSG_RESULT out */
void worker_extract_service(const struct pipeline_opts *o, struct worker_service *svc,
			    void **ctx);

/* engine_service - the model process: MSG_LLM in, MSG_LLM_DONE out, many in flight */
void engine_service(const struct pipeline_opts *o, struct worker_service *svc, void **ctx);

/* writer_service - the single SQLite writer: MSG_DOC in, MSG_ACK out */
void writer_service(const struct pipeline_opts *o, int64_t run_id,
		    struct worker_service *svc, void **ctx);

#endif
