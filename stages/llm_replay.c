/*
 * NAME
 *	llm_replay - re-run one logged decision from its params
 * SUMMARY
 *	The params restore the call (note 6); the stage runs alone through
 *	the same scheduler and its output bytes are returned to compare.
 * DESIGN NOTES
 *	In stages/llm_impl.h ("note N").
 */
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "stages/llm_impl.h"

/* ------------------------------------------------------------ replay */

static int want_str(JsonObject *o, const char *key, const char *have, struct dk_err *err)
{
	const char *v = json_object_has_member(o, key) ? json_object_get_string_member(o, key) : NULL;

	if (v == NULL || strcmp(v, have) != 0)
		return dk_err_set(err, DK_EINVAL, "params '%s' is %s, now %s", key, v ? v : "missing", have);
	return 0;
}

static uint32_t get_u32(JsonObject *o, const char *key)
{
	return json_object_has_member(o, key) ? (uint32_t)json_object_get_int_member(o, key) : 0;
}

/* replay_call - restore the call of a decision and check what must not have changed */
static int replay_call(const struct llm *l, int st, JsonObject *o, struct call *k, struct dk_err *err)
{
	int rc = want_str(o, "model_sha256", l->model_sha, err);

	if (rc == 0)
		rc = want_str(o, "chat", chat_name(l->chat), err);
	if (rc == 0)
		rc = want_str(o, "prefix_sha256", l->prefix.sha, err);
	if (rc == 0)
		rc = want_str(o, "template_sha256", l->task[st].sha, err);
	if (rc == 0 && st == ST_ENTITIES)
		rc = want_str(o, "grammar_sha256", l->gram_sha, err);
	if (rc != 0)
		return rc;
	k->lang = json_object_has_member(o, "language") ? json_object_get_string_member(o, "language") : NULL;
	k->summary_lang = json_object_has_member(o, "summary_language") ?
		json_object_get_string_member(o, "summary_language") : NULL;
	k->n_ctx = get_u32(o, "n_ctx");
	k->entity_max_tokens = get_u32(o, "entity_max_tokens");
	k->summary_max_tokens = get_u32(o, "summary_max_tokens");
	k->max_words = get_u32(o, "max_words");
	if (k->n_ctx == 0 || k->n_ctx > eng_ctx_params(l->c)->n_ctx)
		return dk_err_set(err, DK_EINVAL, "params 'n_ctx' %u exceeds this context's %u",
				  k->n_ctx, eng_ctx_params(l->c)->n_ctx);
	return 0;
}

/* replay_job - the one stage of a decision as a job of its own (note 7) */
static struct job *replay_job(struct llm *l, int st, JsonObject *o, const char *text, size_t len,
			      struct dk_err *err)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL) {
		dk_err_set(err, DK_ENOMEM, "out of memory");
		return NULL;
	}
	j->slot = -1;
	j->wait_fix = -1;
	j->only = st;
	dk_buf_init(&j->d.filled, 0);
	j->text = g_strndup(text, len);
	j->len = len;
	if (replay_call(l, st, o, &j->k, err) != 0) {
		llm_job_free(j);
		return NULL;
	}
	/* params' strings live in the parsed JSON: the job keeps its own copy */
	j->lang = j->k.lang ? g_strdup(j->k.lang) : NULL;
	j->k.lang = j->lang;
	return j;
}

/* unlink_job - take j out of the submitted list (it may not be finished) */
static void unlink_job(struct llm *l, struct job *j)
{
	for (struct job **p = &l->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			if (l->jobs_tail == &j->next)
				l->jobs_tail = p;
			l->n_jobs--;
			return;
		}
}

/* llm_replay - see llm.h: the same scheduler as llm_run(), one stage only */
int llm_replay(struct llm *l, const char *stage, const char *params, const char *text,
	       size_t len, struct dk_buf *out, char prompt_sha256[65], struct dk_err *err)
{
	JsonParser *p = json_parser_new();
	GError *ge = NULL;
	struct job *j = NULL;
	int st, rc = 0;

	for (st = 0; st < ST_N && strcmp(stage, llm_stage_names[st]) != 0; st++)
		;
	if (st == ST_N)
		rc = dk_err_set(err, DK_EINVAL, "unknown stage '%s'", stage);
	else if (!json_parser_load_from_data(p, params, -1, &ge) ||
		 !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		rc = dk_err_set(err, DK_EINVAL, "params are not a JSON object");
	if (rc == 0 && (j = replay_job(l, st, json_node_get_object(json_parser_get_root(p)), text,
				       len, err)) == NULL)
		rc = err->code;
	if (j != NULL) {
		*l->jobs_tail = j;
		l->jobs_tail = &j->next;
		l->n_jobs++;
		while (!j->done)
			llm_step(l, err);
		unlink_job(l, j);
		rc = j->rc;
		if (rc != 0)
			*err = j->err;
		else if (dk_buf_add(out, j->s[st].out.buf, j->s[st].out.len) != 0)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		else
			g_strlcpy(prompt_sha256, g_checksum_get_string(j->s[st].ck), 65);
		llm_job_free(j);
	}
	if (ge)
		g_error_free(ge);
	g_object_unref(p);
	return rc;
}
