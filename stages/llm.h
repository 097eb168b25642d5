/*
 * NAME
 *	llm - classify, extract entities and summarize one document with a model
 * SUMMARY
 *	llm_open() loads a GGUF model once (its SHA-256 checked against the
 *	configured pin), its tokenizer and chat template, the prompt templates
 *	(DATADIR/prompts/prefix.txt, classify.txt, entities.txt,
 *	summarize.txt), the taxonomy and the entity JSON Schema. Each document
 *	(llm_submit/llm_step/llm_take, or llm_run for one) has its prefix
 *	evaluated once and its KV cache shared by the three stages, and the
 *	decode steps of up to opts.parallel documents run together, one engine
 *	decode per step:
 *	- classify: log-likelihood of every label's verbalisation (first
 *	  tokens all from the prompt's logits; the longer labels' other tokens
 *	  all in one batched pass over the cached prompt, each label on a
 *	  sequence sharing it); softmax over labels = confidence;
 *	- entities: greedy decoding constrained by the schema's grammar, then
 *	  each item searched verbatim in the text (first occurrence);
 *	- summarize: bounded greedy generation, map-reduce over chunks when
 *	  the document does not fit, and a faithfulness check.
 *	Each stage yields a struct llm_decision with what replay needs;
 *	llm_replay() re-runs one decision from its params and returns the
 *	output bytes for comparison.
 * OWNERSHIP
 *	struct llm owns the model, context and tables; llm_close() frees them.
 *	struct llm_result owns its strings; llm_result_release() frees them.
 *	Text and rule entities passed in are borrowed for the call.
 * LIFETIME
 *	Results stay valid until released, independent of the llm.
 * THREADS
 *	One thread per struct llm (the context is scratch state); the engine
 *	uses opts.n_threads workers inside each decode.
 * ERRORS
 *	DK_ENOTFOUND, DK_EIO (files), DK_ECONFIG (model SHA-256 differs from
 *	the pin, slug "model_sha256_mismatch"; summary_language is not a
 *	language code, slug "bad_summary_language"), DK_EFORMAT (bad model or
 *	template), DK_EINVAL (bad params on replay), DK_ENOMEM.
 */
#ifndef DK_LLM_H
#define DK_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

struct llm;

enum llm_combine {
	LLM_COMBINE_LLM,	/* the model's label, the classifier is ignored */
	LLM_COMBINE_CONFIDENT,	/* agree: max confidence; disagree: the more
				 * confident label, needs_review set */
};

struct llm_opts {
	const char *model;		/* GGUF path */
	const char *model_sha256;	/* 64 hex pin, NULL or "" = not pinned */
	const char *datadir;		/* prompts/ and schemas/ below; NULL: dk_datadir() */
	const char *taxonomy;		/* taxonomy TSV; NULL: DATADIR/prompts/taxonomy.tsv */
	uint32_t n_ctx;			/* positions per sequence; 0: 2048 */
	uint32_t n_threads;		/* 0: 1 */
	double review_threshold;	/* below: needs_review */
	uint32_t entity_max_tokens;	/* 0: 256 */
	uint32_t summary_max_tokens;	/* 0: 120 */
	uint32_t summary_max_words;	/* in the prompt; 0: 60 */
	const char *summary_language;	/* code the summary is written in (prompts'
					 * {{summary_language}}); NULL or "": the
					 * document's language */
	uint32_t parallel;		/* documents decoded together by llm_step(); 0: 1 */
	uint32_t draft;			/* most draft tokens a stream adds to a small
					 * step (llm_impl.h note 10); 0: none */
	enum llm_combine combine;
	int check_only;			/* llm_open only checks: the model mapped, not
					 * loaded (eng_model_inspect), no context; such
					 * an llm runs nothing, llm_close() it */
};

/* what replay needs for one stage; all strings owned */
struct llm_decision {
	char stage[16];			/* "classify", "entities", "summarize" */
	char prompt_sha256[65];		/* of the rendered prompt text */
	char input_sha256[65];		/* of the document text */
	char *params;			/* JSON: everything that shapes the output */
	char *output;			/* the model's output bytes (NUL-terminated) */
	double ms;
};

struct llm_entity {
	char *type;			/* person, organization, address */
	char *text;			/* exactly text[start, end) */
	size_t start, end;
};

/* a rule entity (stages/entities), borrowed: rules win on their types and spans */
struct llm_rule_span {
	const char *type;
	size_t start, end;
};

struct llm_result {
	char *label;
	double confidence;
	int needs_review;
	const char *label_method;	/* "llm" or "classifier" */
	struct llm_entity *entities;	/* (n_entities) */
	size_t n_entities;
	size_t n_not_found;		/* model items not found verbatim: dropped */
	size_t n_rule_overlap;		/* dropped: a rule entity holds the span or type */
	char *summary;
	char summary_language[16];	/* code the prompt asked for; "": unknown */
	char *summary_flags;		/* JSON array of summary words absent from the text,
					 * also in the summarize decision's params ("unfaithful") */
	struct llm_decision dec[3];
	size_t n_dec;
	double prefix_ms;		/* evaluating the shared document prefix */
};

int llm_open(struct llm **out, const struct llm_opts *opts, struct dk_err *err);
void llm_close(struct llm *l);

/* llm_model_sha256 - the loaded model's SHA-256 (64 hex) */
const char *llm_model_sha256(const struct llm *l);

/* llm_labels - the taxonomy's labels, in order */
const char *const *llm_labels(const struct llm *l, size_t *n);

/*
 * llm_run - the three stages over text[0..len) (valid UTF-8) in language
 * lang (ISO 639-1, may be NULL); rules (n_rules, may be 0) are the rule
 * entities; clf_label/clf_conf (NULL: none) the trained classifier's answer.
 */
int llm_run(struct llm *l, const char *text, size_t len, const char *lang,
	    const struct llm_rule_span *rules, size_t n_rules,
	    const char *clf_label, double clf_conf,
	    struct llm_result *out, struct dk_err *err);
void llm_result_release(struct llm_result *r);

/* one document for llm_submit(); everything borrowed for the call (copied) */
struct llm_doc {
	const char *text;		/* valid UTF-8 */
	size_t len;
	const char *lang;		/* ISO 639-1 or NULL */
	const struct llm_rule_span *rules;
	size_t n_rules;
	const char *clf_label;		/* NULL: no classifier answer */
	double clf_conf;
};

/*
 * llm_submit - queue a document under the caller's tag; llm_step() takes
 * up to opts.parallel queued documents at a time and advances all of them
 * by one engine decode per call. llm_take() hands back a finished one:
 * 1 with *tag and either *doc_rc == 0 and r filled (release it) or
 * *doc_rc < 0 and doc_err set; 0 when none is finished. llm_pending()
 * counts documents submitted and not yet taken. llm_run() is submit,
 * step until finished, take: call it with nothing pending. llm_drafts()
 * gives the draft tokens evaluated and accepted so far (opts.draft).
 */
int llm_submit(struct llm *l, uint64_t tag, const struct llm_doc *d, struct dk_err *err);
int llm_step(struct llm *l, struct dk_err *err);
int llm_take(struct llm *l, uint64_t *tag, int *doc_rc, struct llm_result *r,
	     struct dk_err *doc_err);
size_t llm_pending(const struct llm *l);
void llm_drafts(const struct llm *l, uint64_t *evaluated, uint64_t *accepted);

/*
 * llm_replay - re-run the decision of stage with params (as recorded) on
 * text; the output bytes are appended to out and the prompt hash written
 * to prompt_sha256. DK_EINVAL names a params field that no longer matches
 * (model, template or grammar changed).
 */
int llm_replay(struct llm *l, const char *stage, const char *params, const char *text,
	       size_t len, struct dk_buf *out, char prompt_sha256[65], struct dk_err *err);

/*
 * llm_faithfulness - the words of summary that the source text[0..len)
 * does not contain verbatim, as a JSON array (malloc'd, *out): every word
 * with a digit (numbers, dates, amounts) and every capitalised word not
 * opening a sentence (names). -1 on allocation failure.
 */
int llm_faithfulness(const char *summary, const char *text, size_t len, char **out);

/*
 * llm_prompt - append to out the prompt llm_run() gives stage for
 * text[0..len) in lang, as text (chat framing included, BOS not; the
 * document cut as llm_run() cuts it; a map-reduced summary's single pass
 * over that cut), and set *max_tokens to the stage's generation budget
 * (classify: the longest label in tokens). For comparisons with other
 * engines on the same prompts (tests/bench/llm.sh).
 */
int llm_prompt(struct llm *l, const char *stage, const char *text, size_t len, const char *lang,
	       struct dk_buf *out, uint32_t *max_tokens, struct dk_err *err);

/* llm_file_sha256 - SHA-256 of a file's bytes as 64 hex digits */
int llm_file_sha256(const char *path, char out[65], struct dk_err *err);

#endif
