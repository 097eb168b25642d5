/*
 * NAME
 *	llm_impl - what the files of the model stages share (stages/llm*.c)
 * SUMMARY
 *	The model stages (llm.h) are one module in six files: llm.c opens
 *	the model and tables and writes decisions, llm_prompt.c renders and
 *	fits prompts, llm_sched.c runs the documents in flight one batched
 *	decode at a time, llm_draft.c guesses a stream's next tokens (note
 *	10), llm_output.c turns logits and output bytes into choices,
 *	entities and faithfulness flags, llm_replay.c re-runs a decision. The notes below are the module's; "note N" in those files
 *	refers to them. Nothing here is for use outside stages/llm*.c.
 * DESIGN NOTES
 *	1. Prompt layout. Every stage's prompt is one user turn of the model's
 *	   chat template: HEAD + prefix.txt(filled) + "\n\n" + <stage>.txt(filled)
 *	   + TAIL, where HEAD and TAIL are what chat_render() puts around a
 *	   message (found by rendering "X" and "Y" and diffing). The document
 *	   sits in the shared part, so its tokens are evaluated once, on the
 *	   document's prefix sequence, and each stage shares that KV prefix
 *	   (eng_kv_share_prefix: by reference, nothing copied) on a sequence
 *	   of its own. HEAD and TAIL are tokenized with special-token
 *	   parsing; the filled templates never are, so a letter that contains
 *	   "<|im_start|>" cannot forge a turn. Every template may use every
 *	   variable (fill_call).
 *	2. Sequences: each of the opts.parallel slots owns 4 sequences from
 *	   base = slot * 4: base + 0 summarize; base + 1 entities; base + 2
 *	   classify and its labels; base + 3 the prefix, which the three
 *	   stages read (note 1) and which therefore stays as evaluated until
 *	   the job ends: a summary's later windows start over on base + 0
 *	   alone. n_seq_max = parallel * 4 + N_FIXED. The KV cache is
 *	   allocated for all of them, but only the positions written are ever
 *	   touched: a stage's sequence writes only its own positions after the
 *	   prefix. The engine refuses to clear a sequence others read
 *	   (engine.h LIFETIME), so a slot is cleared stages first, at the
 *	   job's start and end; the end frees the head it read (note 8).
 *	3. Fitting: when prefix + the largest stage suffix + the largest
 *	   generation budget exceed n_ctx, the document is cut (at a line or
 *	   sentence end) for classify and entities; summarize maps over chunks
 *	   of that size and reduces the joined chunk summaries (repeatedly,
 *	   while they do not fit and each round shortens them; a round that
 *	   does not, as when the prompt leaves room for only a few bytes per
 *	   window, ends with the part that fits as the final window). Each
 *	   summary window generates at most summary_max_tokens tokens. The
 *	   room depends on every stage's prompt, so the summary's language is
 *	   in every stage's params: a classify replay cuts where the run did.
 *	4. Classification: score(label) = sum of the log-probabilities of the
 *	   label's tokens after the prompt (no length normalisation: this is
 *	   the probability of the whole answer); confidence = softmax over the
 *	   labels. Output bytes: {"label":...,"logprobs":[...]} in taxonomy
 *	   order, %.9g. Every label's first token is scored from the prompt's
 *	   logits; then all longer labels in one batched pass: each puts its
 *	   tokens but the last on a sequence of its own that shares the
 *	   classify sequence's prompt (eng_kv_share_prefix: nothing copied),
 *	   all of them in one step's batch. Those n_lab_seq sequences come
 *	   after the heads' and serve one document's pass at a time
 *	   (lab_slot; a document waits a step while another's pass holds
 *	   them), and are cleared as soon as the pass's logits are read (or
 *	   its job ends), before anything clears the classify sequence they
 *	   read. Sequences per document would not be free: the KV cache is
 *	   n_seq_max x n_ctx positions of address space. A label's score is
 *	   the same sum over the same logits as one label at a time.
 *	5. Entities: greedy over the tokens the grammar accepts: candidates in
 *	   descending logit order (top 32, then the whole vocabulary) are
 *	   probed on a copy of the gram_state; a token with no bytes or an
 *	   end-of-generation token is never chosen, generation ends when the
 *	   grammar is complete. When the token budget or the context runs out,
 *	   the value is closed byte by byte with the first byte of a fixed
 *	   order ('"', '}', ']', ',', letters, printable, continuation bytes)
 *	   that the grammar accepts, so the output is schema-valid whatever
 *	   the model. Each item is then searched verbatim in the whole text
 *	   (first occurrence; repeats of the same type and offset are merged).
 *	6. Determinism: the engine's logits do not depend on the thread count,
 *	   nor on which other sequences share a batch or how a sequence's
 *	   tokens are split into batches; ties in ordering go to the smaller
 *	   id, and every choice here is a pure function of one stream's own
 *	   logits, so a decision's bytes do not depend on the documents it was
 *	   batched with, and a replay (the same scheduler, one stage of one
 *	   document) gives the same bytes.
 *	7. Scheduling. A job (one document) waits for a free slot, then:
 *	       prefix tokens --all evaluated--> three streams, one per stage:
 *	       FEED (its prompt suffix) --last logits--> GEN (one token per
 *	       step; classify: LABELS, all longer labels in one step) --> DONE
 *	   llm_step() builds one batch from every slot, in priority order:
 *	   label scoring (one document's label pass, note 4), the next
 *	   token of each generating stream, prompt suffixes, prefixes; logits
 *	   only where a choice is made (no logits for prefixes, one per
 *	   prompt). One eng_decode() then advances all of them: one pass over
 *	   the weights serves every document in flight. The job ends when its
 *	   streams are done (or at its first error, which fails that document
 *	   only); its result is assembled in stage order. A step costs one
 *	   pass over the weights plus its tokens (gemma3-4b: ~80 ms + ~12 ms a
 *	   token), and a document needs ~120 steps of one summary token, so
 *	   more documents in flight mean fewer, fuller steps: 16 letters of
 *	   eval/dev took 589 steps at llm_parallel 4, 466 at 6, 349 at 8 for
 *	   the same tokens. The default is 8 (~13 tokens a generation step):
 *	   the packed Q6_K tile runs 4..15 tokens without repacking
 *	   (mm_k.c note 14), so 16 documents (~26 tokens a step) no longer
 *	   pay: 4.83 against 5.08 documents a minute on the 50 of eval/dev
 *	   (gemma3-4b, 2 cores, back to back), and the KV cache grows with
 *	   it.
 *	8. Shared head. The part of prefix.txt before {{document}} holds all
 *	   three tasks' instructions, the entity types and the taxonomy (one
 *	   description per label, English first: taxonomy_block), and no
 *	   per-document variable: the letter's language comes after the
 *	   letter and the summary's language in summarize.txt. It is
 *	   tokenized on its own, so its tokens are the same for every
 *	   document of a run and it is evaluated once per run, not once per
 *	   language. The first job with a head claims an entry of l->fix
 *	   (N_FIXED of them, for replays under another configuration; the
 *	   least recently used one nobody waits for goes) and the head is
 *	   evaluated there, on a sequence of its own, ahead of job prefixes;
 *	   every job with that head, the first included, waits for it
 *	   (wait_fix: its prefix stays out of the batches) and then shares it
 *	   (eng_kv_share_prefix), as does a summary window; the stages' shares
 *	   of the prefix reach the head's cells through it. An entry is
 *	   evicted only when no sequence reads it (eng_kv_shared_len; the
 *	   engine would refuse to clear it anyway). So the head is evaluated
 *	   once even when the first llm_parallel documents start together;
 *	   only with every entry busy does a job evaluate its head itself. The
 *	   shared cells are the very bits evaluation would write (same tokens,
 *	   same positions), and attention reads them in the same order as its
 *	   own, so the output bytes do not depend on the cache. A failed
 *	   decode drops the heads it held. The per-stage
 *	   suffixes are a few tokens each ("Task: class.").
 *	9. Accounting. llm_close() logs where the engine's work went: steps,
 *	   tokens evaluated per step and per document, heads evaluated,
 *	   tokens evaluated by kind (prefix and heads, shared heads, stage prompts,
 *	   labels, generated per stage), logit rows, and the wall time of the
 *	   decodes and of the choices made on their logits. Batched decoding
 *	   is compute bound from a few sequences on, so tokens evaluated per
 *	   document is what sets documents per minute.
 *	10. Drafts. Until a step holds about DRAFT_FILL tokens its cost is
 *	   the pass over the weights, not the tokens (a step of 8 costs ~2x
 *	   one of 1 on gemma3-4b), and the last documents of a batch, or a
 *	   lone document in docket watch, generate one token a step. So when
 *	   a batch holds fewer than DRAFT_FILL tokens, each generating stream
 *	   appends up to opts.draft draft tokens after its next one, all with
 *	   logits: what followed its last 3, 2 or 1 tokens where they last
 *	   occurred in its own output (a loop goes on as a loop) or else in
 *	   its prompt (a name copied from the letter; llm_draft_lookup).
 *	   After the choice from the next token's logits, a draft equal to
 *	   that choice counts as fed and its logits make the following
 *	   choice, and so on to the first choice that differs from its draft;
 *	   the stream's cells past its last accepted token are cut
 *	   (eng_kv_truncate) and that choice is fed in the next step, as
 *	   ever. The logits of a sequence do not depend on how its tokens are
 *	   split into batches (note 6), so an accepted draft's logits are the
 *	   bits the token gets in a step of its own: the output bytes are
 *	   those without drafts, and a replay gives them whatever its drafts.
 *	   Drafts are evaluated tokens; the accounting counts them and the
 *	   accepted ones.
 */
#ifndef DK_LLM_IMPL_H
#define DK_LLM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "engine/chat.h"
#include "engine/engine.h"
#include "engine/grammar.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "stages/llm.h"
#include "stages/taxonomy.h"
#include "util/dk_buf.h"
#include "util/dk_err.h"

enum { ST_CLASSIFY, ST_ENTITIES, ST_SUMMARIZE, ST_N };
enum { N_FIXED = 2 };	/* fixed prompt heads kept evaluated (note 8) */
enum { DRAFT_MAX = 16, DRAFT_FILL = 8 };	/* note 10 */
extern const char *const llm_stage_names[ST_N];	/* "classify", ... */

struct tmpl {
	char *text;		/* file contents, trailing white space removed */
	char id[32];		/* file name */
	char sha[65];		/* of the file's bytes */
};

struct llm {
	struct llm_opts o;
	struct eng_model *m;
	struct eng_ctx *c;
	struct tok_vocab *v;
	enum chat_tmpl chat;
	char model_sha[65];
	struct tmpl prefix, task[ST_N];
	struct taxonomy tax;
	struct tok_ids *lab;	/* (tax.n_labels) each label's tokens (note 4) */
	uint32_t n_lab_seq;	/* labels of more than one token: a sequence each (note 4) */
	uint32_t lab_tokens;	/* their tokens but the first, all in one label pass */
	int lab_slot;		/* the slot whose label pass holds those sequences, or -1 */
	struct gram_node *gram;
	char gram_sha[65];
	char *entity_types;	/* "person, organization, address" */
	struct dk_buf head, tail;	/* chat framing around one user message */
	uint32_t n_vocab;
	char *pieces;		/* bytes of every token, (piece_off[n_vocab]) */
	uint32_t *piece_off;	/* (n_vocab + 1) */
	struct job *jobs, **jobs_tail;	/* submitted, in order (llm_submit) */
	size_t n_jobs;
	/* the scheduler (note 7) */
	struct job **slot;	/* (o.parallel) the job holding each block of sequences */
	uint32_t seqs_per_slot;	/* 3 (note 2) */
	uint32_t b_cap, b_n;	/* entries the batch holds / has */
	int32_t *b_tok, *b_pos, *b_seq;	/* (b_cap) */
	int8_t *b_want;		/* (b_cap) */
	/* note 8: evaluated heads of the prefix, shared by every document */
	struct fixed_kv {
		struct tok_ids ids;	/* the head's tokens; n == 0: empty */
		size_t fed;		/* ids put in batches; < ids.n: being evaluated */
		uint32_t waiters;	/* jobs waiting for it (job.wait_fix) */
		int in_batch;		/* some of ids are in the batch being decoded */
		uint64_t used;		/* clock of the last use */
	} fix[N_FIXED];
	uint64_t clock;
	struct llm_stats {	/* note 9 */
		uint64_t steps, docs, heads;
		uint64_t tok_prefix, tok_fixed, tok_prompt, tok_label, tok_gen[ST_N], rows;
		uint64_t tok_draft, draft_ok;	/* note 10: drafts evaluated, accepted */
		double ms_decode, ms_choose[ST_N], ms_start, ms_fork;
	} st;
};

/* one stage call: what params record and replay restores */
struct call {
	const char *lang;		/* may be NULL */
	const char *summary_lang;	/* the summary's language code; NULL: the letter's own */
	uint32_t n_ctx;
	uint32_t entity_max_tokens;
	uint32_t summary_max_tokens;
	uint32_t max_words;
};

/* the evaluated shared prefix */
struct doc {
	const char *text;
	size_t len;		/* bytes of text in the prompt (note 3) */
	struct dk_buf filled;	/* prefix.txt filled */
	uint32_t n_prefix;	/* tokens on the slot's first sequence */
};

enum phase { PH_IDLE, PH_FEED, PH_GEN, PH_LABELS, PH_DONE };

/* one stage of one document, decoding on its own sequence (note 7) */
struct stream {
	enum phase ph;
	int32_t seq;
	struct tok_ids in;	/* PH_FEED: prompt tokens, in.v[fed..] still to evaluate */
	size_t fed;
	uint32_t pos;		/* next position of seq */
	int32_t next;		/* PH_GEN: the token chosen, evaluated in the next batch */
	int32_t at;		/* batch entry holding this stream's logits, or -1 */
	int32_t draft[DRAFT_MAX];	/* note 10: after next in the batch, from entry dat */
	uint32_t n_draft;
	int32_t dat;
	GChecksum *ck;		/* the stage's prompt text(s) */
	struct dk_buf out;	/* the output bytes */
	struct gram_state g;	/* entities */
	struct samp samp;	/* summarize, per window */
	int samp_on;
	struct tok_ids gen;	/* tokens chosen (summarize: in this window) */
	double t0, ms;		/* start; wall time from start to done (the stages overlap) */
	/* summarize map-reduce (note 3): window cur[off, off + win) */
	char *cur;
	size_t cur_len, off, win;
	GString *joined;	/* a map round's summaries so far; NULL: the final window */
	int chunks;
};

/* one submitted document: owned copies of the request, then its outcome */
struct job {
	uint64_t tag;
	char *text;
	size_t len;
	char *lang;
	struct llm_rule_span *rules;	/* (n_rules), types point into types */
	char *types;			/* the rule types, NUL-separated */
	size_t n_rules;
	char *clf;
	double clf_conf;
	int only;		/* replay: the one stage to run; -1: all three */
	int slot;		/* index into l->slot, -1: none (waiting or finished) */
	int started, forked, in_batch;
	struct call k;
	uint32_t room;		/* positions the stages need after the prefix */
	struct doc d;
	struct tok_ids pre;	/* the prefix tokens, pre.v[pre_fed..] still to evaluate */
	size_t pre_fed;
	size_t n_fixed;		/* note 8: tokens of pre before the document */
	int wait_fix;		/* the l->fix entry being evaluated for it, or -1 */
	double t_start, prefix_ms;
	struct stream s[ST_N];
	double *lp;		/* (n_labels) label log-likelihoods */
	size_t best;
	double conf;
	int done, rc;
	struct dk_err err;
	struct llm_result r;
	struct job *next;
};

/* llm.c */
double llm_now_ms(void);	/* CLOCK_MONOTONIC in ms */
void llm_sha_hex(const void *p, size_t n, char out[65]);
const char *llm_lang_code(const char *s);	/* s, or "" for NULL */
void llm_call_defaults(const struct llm *l, const char *lang, struct call *k);
void llm_finish(const struct llm *l, int st, const struct call *k, const char *text,
		size_t len, size_t doc_bytes, int chunks, double ms, GChecksum *ck,
		struct dk_buf *out, struct llm_decision *dec);
void llm_combine_labels(const struct llm *l, const char *clf, double clf_conf, struct llm_result *r);

/* llm_prompt.c (notes 1, 3, 8) */
int llm_prefix_ids(const struct llm *l, const char *text, size_t len, const struct call *k,
		   struct dk_buf *filled, struct tok_ids *ids, size_t *n_fixed, struct dk_err *err);
int llm_suffix_ids(const struct llm *l, int st, const struct call *k, const struct doc *d,
		   struct tok_ids *ids, GChecksum *ck, struct dk_err *err);
int llm_reserve(const struct llm *l, const struct call *k, uint32_t *out, struct dk_err *err);
int llm_fit(const struct llm *l, const char *text, size_t len, const struct call *k,
	    uint32_t room, size_t *out, struct dk_err *err);

/* llm_draft.c (note 10): up to max tokens into out, the continuation of
 * gen's last tokens in gen, else in src[0], src[1], ...; returns how many */
uint32_t llm_draft_lookup(const struct tok_ids *gen, const struct tok_ids *const *src, int n_src,
			  int32_t *out, uint32_t max);

/* llm_output.c (notes 4, 5) */
double llm_log_softmax_at(const float *lg, uint32_t n, int32_t id);
int32_t llm_pick(struct llm *l, const float *lg, const struct gram_state *g);
int llm_close_value(struct gram_state *g, struct dk_buf *out, struct dk_err *err);
int llm_locate(const char *json, const char *text, size_t len, const struct llm_rule_span *rules,
	       size_t n_rules, struct llm_result *r, struct dk_err *err);

/* llm_sched.c (notes 2, 7, 9) */
void llm_job_free(struct job *j);

#endif
