/*
 * NAME
 *	llm - open the model stages; the decisions they record (see llm.h)
 * SUMMARY
 *	llm_open() loads the model, its tokenizer and chat framing, the
 *	templates, taxonomy and entity grammar; llm_close() logs the
 *	accounting (note 9) and frees them. The rest of the module is in
 *	llm_prompt.c, llm_sched.c, llm_output.c and llm_replay.c.
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stages/llm_impl.h"
#include "stages/schema_grammar.h"
#include "util/dk_log.h"
#include "util/dk_path.h"

const char *const llm_stage_names[ST_N] = { "classify", "entities", "summarize" };

double llm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* llm_file_sha256 - see llm.h */
int llm_file_sha256(const char *path, char out[65], struct dk_err *err)
{
	FILE *f = fopen(path, "rb");
	GChecksum *ck;
	unsigned char *buf;
	size_t n;
	int rc = 0;

	if (f == NULL)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open '%s': %s", path, strerror(errno));
	ck = g_checksum_new(G_CHECKSUM_SHA256);
	buf = malloc(1 << 20);
	if (buf == NULL) {
		rc = dk_err_set(err, DK_ENOMEM, "out of memory hashing '%s'", path);
	} else {
		while ((n = fread(buf, 1, 1 << 20, f)) > 0)
			g_checksum_update(ck, buf, n);
		if (ferror(f))
			rc = dk_err_set(err, DK_EIO, "cannot read '%s'", path);
		else
			g_strlcpy(out, g_checksum_get_string(ck), 65);
	}
	free(buf);
	g_checksum_free(ck);
	fclose(f);
	return rc;
}

void llm_sha_hex(const void *p, size_t n, char out[65])
{
	gchar *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, p, n);

	g_strlcpy(out, s, 65);
	g_free(s);
}

/* llm_lang_code - s if it is a language code that params can record as is, else NULL */
const char *llm_lang_code(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n < 16 && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == n ? s : NULL;
}

/* load_tmpl - read DATADIR/prompts/name */
static int load_tmpl(const char *dir, const char *name, struct tmpl *t, struct dk_err *err)
{
	char path[4096];
	gchar *s;
	gsize n;
	GError *ge = NULL;

	snprintf(path, sizeof path, "%s/prompts/%s", dir, name);
	if (!g_file_get_contents(path, &s, &n, &ge)) {
		int rc = dk_err_set(err, DK_ENOTFOUND, "cannot read prompt template '%s': %s",
				    path, ge->message);
		g_error_free(ge);
		return rc;
	}
	llm_sha_hex(s, n, t->sha);
	g_strchomp(s);
	t->text = s;
	g_strlcpy(t->id, name, sizeof t->id);
	return 0;
}


/* framing - HEAD and TAIL around one user message (note 1) */
static int framing(struct llm *l, struct dk_err *err)
{
	struct dk_buf x = DK_BUF_INIT, y = DK_BUF_INIT;
	struct chat_msg mx = { "user", "X" }, my = { "user", "Y" };
	size_t h = 0;
	int rc;

	rc = chat_render(l->chat, &mx, 1, 1, &x, err);
	if (rc == 0)
		rc = chat_render(l->chat, &my, 1, 1, &y, err);
	if (rc == 0) {
		while (h < x.len && x.buf[h] == y.buf[h])
			h++;
		if (h == x.len || x.len != y.len || strcmp(x.buf + h + 1, y.buf + h + 1) != 0)
			rc = dk_err_set(err, DK_EFORMAT, "chat template '%s' has no single message slot",
					chat_name(l->chat));
	}
	if (rc == 0 && (dk_buf_add(&l->head, x.buf, h) || dk_buf_adds(&l->tail, x.buf + h + 1)))
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
	dk_buf_release(&x);
	dk_buf_release(&y);
	return rc;
}

/* entity_types - the values of the first enum in the grammar (the "type" field) */
static const struct gram_node *first_enum(const struct gram_node *n)
{
	const struct gram_node *r = NULL;

	if (n == NULL)
		return NULL;
	if (n->kind == GRAM_ENUM)
		return n;
	for (int i = 0; r == NULL && i < n->n_props; i++)
		r = first_enum(n->props[i]);
	return r ? r : first_enum(n->items);
}

static int load_grammar(struct llm *l, const char *dir, struct dk_err *err)
{
	char path[4096];
	const struct gram_node *en;
	GString *s;
	int rc;

	snprintf(path, sizeof path, "%s/schemas/llm-entities.schema.json", dir);
	rc = llm_file_sha256(path, l->gram_sha, err);
	if (rc == 0)
		rc = schema_grammar_load(path, &l->gram, err);
	if (rc != 0)
		return rc;
	en = first_enum(l->gram);
	if (en == NULL)
		return dk_err_set(err, DK_EFORMAT, "entity schema '%s' has no type enum", path);
	s = g_string_new(NULL);
	for (int i = 0; i < en->n_values; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", en->values[i]);
	l->entity_types = g_string_free(s, FALSE);
	return 0;
}

/* pieces - the bytes of every token, once, for grammar probing */
static int load_pieces(struct llm *l, struct dk_err *err)
{
	struct dk_buf b = DK_BUF_INIT;
	uint32_t n_tok = tok_n_tokens(l->v);

	l->piece_off = calloc(l->n_vocab + 1, sizeof *l->piece_off);
	if (l->piece_off == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory for the token table");
	for (uint32_t id = 0; id < l->n_vocab; id++) {
		if (id < n_tok && tok_piece(l->v, (int32_t)id, 0, &b) != 0) {
			dk_buf_release(&b);
			return dk_err_set(err, DK_ENOMEM, "out of memory for the token table");
		}
		l->piece_off[id + 1] = (uint32_t)b.len;
	}
	l->pieces = dk_buf_detach(&b, NULL);
	return 0;
}

static int open_model(struct llm *l, struct dk_err *err)
{
	int rc;

	/* the hash is of the bytes loaded (gguf.c note 7), checked before any use */
	rc = (l->o.check_only ? eng_model_inspect : eng_model_load)(l->o.model, &l->m, err);
	if (rc != 0)
		return rc;
	g_strlcpy(l->model_sha, eng_model_sha256(l->m), sizeof l->model_sha);
	if (l->o.model_sha256 && *l->o.model_sha256 &&
	    g_ascii_strcasecmp(l->o.model_sha256, l->model_sha) != 0)
		return dk_err_setx(err, DK_ECONFIG, "model_sha256_mismatch",
				   "model '%s' has sha256 %s, not the pinned model_sha256 %s",
				   l->o.model, l->model_sha, l->o.model_sha256);
	rc = tok_vocab_from_gguf(eng_model_gguf(l->m), &l->v, err);
	if (rc == 0)
		rc = chat_from_gguf(eng_model_gguf(l->m), &l->chat, err);
	if (rc == 0)
		l->n_vocab = eng_model_hparams(l->m)->n_vocab;
	return rc;
}

/* open_context - notes 2, 4: the slots' sequences, the heads', the labels' */
static int open_context(struct llm *l, struct dk_err *err)
{
	struct eng_ctx_params cp = { 0, 0, 0, 512 };
	int rc;

	cp.n_ctx = l->o.n_ctx;
	cp.n_threads = l->o.n_threads;
	l->seqs_per_slot = 4;
	cp.n_seq_max = l->o.parallel * l->seqs_per_slot + N_FIXED + l->n_lab_seq;
	rc = eng_ctx_new(l->m, &cp, &l->c, err);
	if (rc != 0)
		return rc;
	l->b_cap = eng_ctx_params(l->c)->n_batch;
	l->slot = calloc(l->o.parallel, sizeof *l->slot);
	l->b_tok = calloc(l->b_cap, sizeof *l->b_tok);
	l->b_pos = calloc(l->b_cap, sizeof *l->b_pos);
	l->b_seq = calloc(l->b_cap, sizeof *l->b_seq);
	l->b_want = calloc(l->b_cap, sizeof *l->b_want);
	if (!l->slot || !l->b_tok || !l->b_pos || !l->b_seq || !l->b_want)
		return dk_err_set(err, DK_ENOMEM, "out of memory for the scheduler");
	return 0;
}

/* label_tokens - note 4: every label's verbalisation, tokenized once */
static int label_tokens(struct llm *l, struct dk_err *err)
{
	int rc = 0;

	l->lab = calloc(l->tax.n_labels, sizeof *l->lab);
	if (l->lab == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < l->tax.n_labels; i++) {
		rc = tok_encode(l->v, l->tax.labels[i], strlen(l->tax.labels[i]), 0, &l->lab[i], err);
		if (rc == 0 && l->lab[i].n == 0)
			rc = dk_err_set(err, DK_EFORMAT, "label '%s' has no tokens", l->tax.labels[i]);
		if (rc == 0 && l->lab[i].n > 1) {
			l->n_lab_seq++;
			l->lab_tokens += (uint32_t)l->lab[i].n - 1;
		}
	}
	return rc;
}

/* llm_open - see llm.h */
int llm_open(struct llm **out, const struct llm_opts *opts, struct dk_err *err)
{
	struct llm *l = calloc(1, sizeof *l);
	char tax[4096];
	const char *dir;
	int rc;

	*out = NULL;
	if (l == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	l->o = *opts;
	if (l->o.n_ctx == 0)
		l->o.n_ctx = 2048;
	if (l->o.entity_max_tokens == 0)
		l->o.entity_max_tokens = 256;
	if (l->o.summary_max_tokens == 0)
		l->o.summary_max_tokens = 120;
	if (l->o.summary_max_words == 0)
		l->o.summary_max_words = 60;
	if (l->o.summary_language == NULL)
		l->o.summary_language = "";
	if (*l->o.summary_language && llm_lang_code(l->o.summary_language) == NULL) {
		free(l);
		return dk_err_setx(err, DK_ECONFIG, "bad_summary_language", "summary_language '%s' "
				   "is not a language code such as 'de'", opts->summary_language);
	}
	if (l->o.parallel == 0)
		l->o.parallel = 1;
	if (l->o.draft > DRAFT_MAX)
		l->o.draft = DRAFT_MAX;
	dk_buf_init(&l->head, 0);
	dk_buf_init(&l->tail, 0);
	l->jobs_tail = &l->jobs;
	l->lab_slot = -1;
	dir = opts->datadir ? opts->datadir : dk_datadir();
	snprintf(tax, sizeof tax, "%s/prompts/taxonomy.tsv", dir);
	rc = taxonomy_load(&l->tax, opts->taxonomy ? opts->taxonomy : tax, err);
	if (rc == 0 && l->tax.n_labels == 0)
		rc = dk_err_set(err, DK_EFORMAT, "the taxonomy has no labels");
	if (rc == 0)
		rc = load_tmpl(dir, "prefix.txt", &l->prefix, err);
	for (int s = 0; rc == 0 && s < ST_N; s++) {
		char name[32];

		snprintf(name, sizeof name, "%s.txt", llm_stage_names[s]);
		rc = load_tmpl(dir, name, &l->task[s], err);
	}
	if (rc == 0)
		rc = load_grammar(l, dir, err);
	if (rc == 0)
		rc = open_model(l, err);
	if (rc == 0)
		rc = framing(l, err);
	if (rc == 0)
		rc = load_pieces(l, err);
	if (rc == 0)
		rc = label_tokens(l, err);
	if (rc == 0 && !l->o.check_only)
		rc = open_context(l, err);
	if (rc != 0) {
		llm_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* log_stats - note 9: where the engine's time went */
static void log_stats(const struct llm *l)
{
	const struct llm_stats *s = &l->st;
	uint64_t evaluated = s->tok_prefix + s->tok_prompt + s->tok_label + s->tok_gen[ST_ENTITIES] +
			     s->tok_gen[ST_SUMMARIZE] + s->tok_draft;

	log_info("stage=engine docs=%llu steps=%llu tokens_per_step=%.1f tokens_per_doc=%.0f heads_evaluated=%llu decode_s=%.1f "
		 "prefix_tokens=%llu head_tokens_shared=%llu prompt_tokens=%llu label_tokens=%llu "
		 "gen_entities=%llu gen_summarize=%llu drafts=%llu drafts_accepted=%llu logit_rows=%llu "
		 "start_s=%.2f fork_s=%.2f "
		 "classify_s=%.2f entities_s=%.2f summarize_s=%.2f",
		 (unsigned long long)s->docs, (unsigned long long)s->steps,
		 (double)evaluated / (double)s->steps,
		 (double)evaluated / (double)(s->docs ? s->docs : 1), (unsigned long long)s->heads,
		 s->ms_decode / 1e3,
		 (unsigned long long)s->tok_prefix, (unsigned long long)s->tok_fixed,
		 (unsigned long long)s->tok_prompt, (unsigned long long)s->tok_label,
		 (unsigned long long)s->tok_gen[ST_ENTITIES], (unsigned long long)s->tok_gen[ST_SUMMARIZE],
		 (unsigned long long)s->tok_draft, (unsigned long long)s->draft_ok,
		 (unsigned long long)s->rows, s->ms_start / 1e3, s->ms_fork / 1e3,
		 s->ms_choose[ST_CLASSIFY] / 1e3, s->ms_choose[ST_ENTITIES] / 1e3,
		 s->ms_choose[ST_SUMMARIZE] / 1e3);
}

/* llm_close - see llm.h */
void llm_close(struct llm *l)
{
	if (l == NULL)
		return;
	if (l->st.steps > 0)
		log_stats(l);
	while (l->jobs) {
		struct job *j = l->jobs;

		l->jobs = j->next;
		llm_job_free(j);
	}
	eng_ctx_free(l->c);
	tok_vocab_free(l->v);
	eng_model_free(l->m);
	g_free(l->prefix.text);
	for (int s = 0; s < ST_N; s++)
		g_free(l->task[s].text);
	for (size_t i = 0; l->lab && i < l->tax.n_labels; i++)
		tok_ids_release(&l->lab[i]);
	free(l->lab);
	taxonomy_release(&l->tax);
	gram_node_free(l->gram);
	g_free(l->entity_types);
	dk_buf_release(&l->head);
	dk_buf_release(&l->tail);
	free(l->pieces);
	free(l->piece_off);
	for (int i = 0; i < N_FIXED; i++)
		tok_ids_release(&l->fix[i].ids);
	free(l->slot);
	free(l->b_tok);
	free(l->b_pos);
	free(l->b_seq);
	free(l->b_want);
	free(l);
}

const char *llm_model_sha256(const struct llm *l)
{
	return l->model_sha;
}

const char *const *llm_labels(const struct llm *l, size_t *n)
{
	*n = l->tax.n_labels;
	return (const char *const *)l->tax.labels;
}


/* ------------------------------------------------------------ decisions */

/* params - note 6: everything that shapes a stage's output bytes */
static char *params_json(const struct llm *l, int st, const struct call *k, size_t doc_bytes,
			 int chunks, double ms)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "{\"stage\":\"%s\",\"engine\":\"docket %s\",\"model_sha256\":\"%s\","
			       "\"chat\":\"%s\",\"prefix_template\":\"%s\",\"prefix_sha256\":\"%s\","
			       "\"template\":\"%s\",\"template_sha256\":\"%s\",",
			       llm_stage_names[st], DOCKET_VERSION, l->model_sha, chat_name(l->chat),
			       l->prefix.id, l->prefix.sha, l->task[st].id, l->task[st].sha);
	if (st == ST_ENTITIES)
		g_string_append_printf(s, "\"grammar_sha256\":\"%s\",", l->gram_sha);
	if (k->lang && strspn(k->lang, "abcdefghijklmnopqrstuvwxyz-") == strlen(k->lang))
		g_string_append_printf(s, "\"language\":\"%s\",", k->lang);
	/*
	 * llm_call_defaults() let only a code through; every stage records it: the
	 * summarize prompt's length sets where a long document is cut (note 3)
	 */
	if (k->summary_lang)
		g_string_append_printf(s, "\"summary_language\":\"%s\",", k->summary_lang);
	g_string_append_printf(s, "\"n_ctx\":%u,\"entity_max_tokens\":%u,\"summary_max_tokens\":%u,"
			       "\"max_words\":%u,\"sampler\":{\"temp\":0,\"top_k\":0,\"top_p\":1,"
			       "\"min_p\":0,\"repeat_penalty\":1,\"seed\":0},\"doc_bytes\":%zu,"
			       "\"chunks\":%d,\"ms\":%.1f}",
			       k->n_ctx, k->entity_max_tokens, k->summary_max_tokens, k->max_words,
			       doc_bytes, chunks, ms);
	return g_string_free(s, FALSE);
}

void llm_finish(const struct llm *l, int st, const struct call *k, const char *text,
		size_t len, size_t doc_bytes, int chunks, double ms, GChecksum *ck,
		struct dk_buf *out, struct llm_decision *dec)
{
	g_strlcpy(dec->stage, llm_stage_names[st], sizeof dec->stage);
	g_strlcpy(dec->prompt_sha256, g_checksum_get_string(ck), sizeof dec->prompt_sha256);
	llm_sha_hex(text, len, dec->input_sha256);
	dec->ms = ms;
	dec->params = params_json(l, st, k, doc_bytes, chunks, dec->ms);
	dec->output = dk_buf_detach(out, NULL);
}

/* llm_combine_labels - the configured rule between the model and the trained classifier */
void llm_combine_labels(const struct llm *l, const char *clf, double clf_conf, struct llm_result *r)
{
	r->label_method = "llm";
	if (l->o.combine != LLM_COMBINE_CONFIDENT || clf == NULL)
		return;
	if (strcmp(clf, r->label) == 0) {
		r->confidence = r->confidence > clf_conf ? r->confidence : clf_conf;
		r->needs_review = r->confidence < l->o.review_threshold;
		return;
	}
	r->needs_review = 1;
	if (clf_conf > r->confidence) {
		g_free(r->label);
		r->label = g_strdup(clf);
		r->confidence = clf_conf;
		r->label_method = "classifier";
	}
}

void llm_call_defaults(const struct llm *l, const char *lang, struct call *k)
{
	k->lang = lang;
	k->summary_lang = *l->o.summary_language ? l->o.summary_language : llm_lang_code(lang);
	k->n_ctx = l->o.n_ctx;
	k->entity_max_tokens = l->o.entity_max_tokens;
	k->summary_max_tokens = l->o.summary_max_tokens;
	k->max_words = l->o.summary_max_words;
}
