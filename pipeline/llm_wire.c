/*
 * NAME
 *	llm_wire - encode and decode a model result for the pipeline's ipc
 * DESIGN NOTES
 *	1. One decision is the run of fields from a W_STAGE field to the
 *	   next: the fields of decision i follow its stage, in any order.
 *	2. Numbers are %.17g text, so a confidence survives the trip bit for
 *	   bit (the stored record equals what llm_run() computed in-process).
 *	3. label_method is mapped back onto the two static strings llm.h
 *	   names; anything else is a malformed payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pipeline/llm_wire.h"

enum {
	W_TYPE = 'l',		/* payload type byte */
	W_MODEL = 'h',		/* model SHA-256 */
	W_LABEL = 'b',
	W_CONF = 'c',
	W_REVIEW = 'v',		/* "0" | "1" */
	W_METHOD = 'm',		/* "llm" | "classifier" */
	W_ENTITY = 'e',		/* "type<TAB>start<TAB>end", repeated */
	W_NOT_FOUND = 'n',
	W_OVERLAP = 'o',
	W_SUMMARY = 'u',
	W_FLAGS = 'f',
	W_SUM_LANG = 'g',	/* the summary's language code, may be empty */
	W_PREFIX_MS = 'p',
	W_STAGE = 'S',		/* opens a decision (note 1) */
	W_PROMPT = 'P',
	W_INPUT = 'I',
	W_PARAMS = 'A',
	W_OUTPUT = 'O',
	W_MS = 'T',
};

static int put_num(struct ipc_msg *m, unsigned char tag, double v)
{
	char b[40];

	snprintf(b, sizeof b, "%.17g", v);
	return ipc_put_str(m, tag, b);
}

static int put_entities(struct ipc_msg *m, const struct llm_result *r)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->n_entities; i++) {
		char *s = g_strdup_printf("%s\t%zu\t%zu", r->entities[i].type, r->entities[i].start,
					  r->entities[i].end);

		rc = ipc_put_str(m, W_ENTITY, s);
		g_free(s);
	}
	return rc;
}

static int put_decisions(struct ipc_msg *m, const struct llm_result *r)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->n_dec; i++) {
		const struct llm_decision *d = &r->dec[i];

		rc = ipc_put_str(m, W_STAGE, d->stage);
		if (rc == 0) rc = ipc_put_str(m, W_PROMPT, d->prompt_sha256);
		if (rc == 0) rc = ipc_put_str(m, W_INPUT, d->input_sha256);
		if (rc == 0) rc = ipc_put_str(m, W_PARAMS, d->params);
		if (rc == 0) rc = ipc_put_str(m, W_OUTPUT, d->output);
		if (rc == 0) rc = put_num(m, W_MS, d->ms);
	}
	return rc;
}

/* llm_wire_put - see llm_wire.h */
int llm_wire_put(struct ipc_msg *m, unsigned char tag, const struct llm_result *r,
		 const char *model_sha)
{
	struct ipc_msg sub;
	int rc;

	ipc_msg_init(&sub, W_TYPE, 0);
	rc = ipc_put_str(&sub, W_MODEL, model_sha);
	if (rc == 0) rc = ipc_put_str(&sub, W_LABEL, r->label);
	if (rc == 0) rc = put_num(&sub, W_CONF, r->confidence);
	if (rc == 0) rc = ipc_put_str(&sub, W_REVIEW, r->needs_review ? "1" : "0");
	if (rc == 0) rc = ipc_put_str(&sub, W_METHOD, r->label_method);
	if (rc == 0) rc = put_entities(&sub, r);
	if (rc == 0) rc = ipc_put_i64(&sub, W_NOT_FOUND, (int64_t)r->n_not_found);
	if (rc == 0) rc = ipc_put_i64(&sub, W_OVERLAP, (int64_t)r->n_rule_overlap);
	if (rc == 0) rc = ipc_put_str(&sub, W_SUMMARY, r->summary);
	if (rc == 0) rc = ipc_put_str(&sub, W_FLAGS, r->summary_flags);
	if (rc == 0) rc = ipc_put_str(&sub, W_SUM_LANG, r->summary_language);
	if (rc == 0) rc = put_num(&sub, W_PREFIX_MS, r->prefix_ms);
	if (rc == 0) rc = put_decisions(&sub, r);
	/* the nested payload is the frame minus its 4-byte length prefix */
	if (rc == 0) rc = ipc_put(m, tag, sub.b.buf + 4, sub.b.len - 4);
	ipc_msg_release(&sub);
	return rc;
}

static char *dup_field(const struct ipc_field *f)
{
	return g_strndup(f->data, f->len);
}

static double num_field(const struct ipc_field *f)
{
	char b[40];

	snprintf(b, sizeof b, "%.*s", (int)(f->len < 39 ? f->len : 39), f->data);
	return strtod(b, NULL);
}

/* get_entity - "type\tstart\tend" against the text */
static int get_entity(const struct ipc_field *f, const char *text, size_t len, struct llm_result *r)
{
	char *s = dup_field(f), *t1 = strchr(s, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *end;
	unsigned long long a = 0, b = 0;
	int ok = t1 && t2;
	struct llm_entity *e;

	if (ok) {
		*t1 = *t2 = 0;
		a = strtoull(t1 + 1, &end, 10);
		ok = *end == 0;
		b = strtoull(t2 + 1, &end, 10);
		ok = ok && *end == 0 && a <= b && b <= len &&
		     g_utf8_validate_len(text + a, (gsize)(b - a), NULL) &&
		     (b == len || (text[b] & 0xC0) != 0x80) && (a == len || (text[a] & 0xC0) != 0x80);
	}
	e = ok ? realloc(r->entities, (r->n_entities + 1) * sizeof *e) : NULL;
	if (e != NULL) {
		r->entities = e;
		e += r->n_entities++;
		e->type = g_strdup(s);
		e->text = g_strndup(text + a, (size_t)(b - a));
		e->start = (size_t)a;
		e->end = (size_t)b;
	}
	g_free(s);
	return ok ? (e ? 0 : DK_ENOMEM) : DK_EFORMAT;
}

/* mdup - a field as a malloc'd string: llm_result_release() frees these with free() */
static char *mdup(const struct ipc_field *f)
{
	char *s = malloc((size_t)f->len + 1);

	if (s != NULL) {
		memcpy(s, f->data, f->len);
		s[f->len] = 0;
	}
	return s;
}

/* get_decision_field - one field of the decision opened last (note 1) */
static int get_decision_field(const struct ipc_field *f, struct llm_result *r)
{
	struct llm_decision *d;

	if (f->tag == W_STAGE) {
		if (r->n_dec == sizeof r->dec / sizeof r->dec[0])
			return DK_EFORMAT;
		d = &r->dec[r->n_dec++];
		snprintf(d->stage, sizeof d->stage, "%.*s", (int)f->len, f->data);
		return 0;
	}
	if (r->n_dec == 0)
		return DK_EFORMAT;
	d = &r->dec[r->n_dec - 1];
	if (f->tag == W_PROMPT)
		snprintf(d->prompt_sha256, sizeof d->prompt_sha256, "%.*s", (int)f->len, f->data);
	else if (f->tag == W_INPUT)
		snprintf(d->input_sha256, sizeof d->input_sha256, "%.*s", (int)f->len, f->data);
	else if (f->tag == W_MS)
		d->ms = num_field(f);
	else if (f->tag == W_PARAMS && d->params == NULL)
		return (d->params = dup_field(f)) ? 0 : DK_ENOMEM;
	else if (f->tag == W_OUTPUT && d->output == NULL)
		return (d->output = mdup(f)) ? 0 : DK_ENOMEM;
	else
		return DK_EFORMAT;
	return 0;
}

/* get_method - note 3 */
static int get_method(const struct ipc_field *f, struct llm_result *r)
{
	static const char *const names[] = { "llm", "classifier" };

	for (size_t i = 0; i < 2; i++)
		if (f->len == strlen(names[i]) && memcmp(f->data, names[i], f->len) == 0) {
			r->label_method = names[i];
			return 0;
		}
	return DK_EFORMAT;
}

static int get_field(const struct ipc_field *f, const char *text, size_t len,
		     struct llm_result *r, char model_sha[65])
{
	switch (f->tag) {
	case W_MODEL:
		snprintf(model_sha, 65, "%.*s", (int)f->len, f->data);
		return 0;
	case W_LABEL:
		return r->label == NULL && (r->label = dup_field(f)) ? 0 : DK_EFORMAT;
	case W_CONF:
		r->confidence = num_field(f);
		return 0;
	case W_REVIEW:
		r->needs_review = f->len == 1 && f->data[0] == '1';
		return 0;
	case W_METHOD:
		return get_method(f, r);
	case W_ENTITY:
		return get_entity(f, text, len, r);
	case W_NOT_FOUND:
		r->n_not_found = (size_t)num_field(f);
		return 0;
	case W_OVERLAP:
		r->n_rule_overlap = (size_t)num_field(f);
		return 0;
	case W_SUMMARY:
		return r->summary == NULL && (r->summary = dup_field(f)) ? 0 : DK_EFORMAT;
	case W_FLAGS:
		return r->summary_flags == NULL && (r->summary_flags = mdup(f)) ? 0 : DK_EFORMAT;
	case W_SUM_LANG:
		if (f->len >= sizeof r->summary_language)
			return DK_EFORMAT;
		snprintf(r->summary_language, sizeof r->summary_language, "%.*s", (int)f->len, f->data);
		return 0;
	case W_PREFIX_MS:
		r->prefix_ms = num_field(f);
		return 0;
	default:
		return get_decision_field(f, r);
	}
}

/* llm_wire_get - see llm_wire.h */
int llm_wire_get(const char *data, size_t n, const char *text, size_t len,
		 struct llm_result *r, char model_sha[65], struct dk_err *err)
{
	struct ipc_view *v = malloc(sizeof *v);
	int rc;

	memset(r, 0, sizeof *r);
	model_sha[0] = 0;
	if (v == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	rc = ipc_parse(data, n, v, err);
	if (rc == 0 && v->type != W_TYPE)
		rc = dk_err_set(err, DK_EFORMAT, "model result payload of type %d", v->type);
	for (size_t i = 0; rc == 0 && i < v->n; i++)
		if ((rc = get_field(&v->f[i], text, len, r, model_sha)) != 0)
			rc = dk_err_set(err, rc, "malformed model result field '%c'", v->f[i].tag);
	if (rc == 0 && (r->label == NULL || r->label_method == NULL || r->summary == NULL ||
			r->summary_flags == NULL || strlen(model_sha) != 64 ||
			r->n_dec != sizeof r->dec / sizeof r->dec[0]))
		rc = dk_err_set(err, DK_EFORMAT, "model result incomplete");
	for (size_t i = 0; rc == 0 && i < r->n_dec; i++)
		if (r->dec[i].params == NULL || r->dec[i].output == NULL)
			rc = dk_err_set(err, DK_EFORMAT, "model decision '%s' incomplete", r->dec[i].stage);
	if (rc != 0)
		llm_result_release(r);
	free(v);
	return rc;
}
