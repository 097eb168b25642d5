/*
 * NAME
 *	tok_gguf - build a tokenizer from a GGUF file's tokenizer.ggml.* keys
 * DESIGN NOTES
 *	1. The GGUF reader has validated every string and array, so this file
 *	   only checks what the tokenizer itself needs: the token list exists,
 *	   scores and types (when present) cover every token, integer ids.
 *	2. Keys absent from the file leave llama.cpp's defaults for the model
 *	   type in place (TOK_VOCAB_SPEC_INIT's -2 / -1), e.g. stories260K has
 *	   no add_bos key and still gets BOS because SPM adds it by default.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/tok_impl.h"
#include "engine/tokenizer.h"

/* str_dup - NUL-terminated copy of a GGUF string (NULL on failure) */
static char *str_dup(struct gguf_str s)
{
	char *p = malloc(s.len + 1);

	if (p) {
		memcpy(p, s.s, s.len);
		p[s.len] = 0;
	}
	return p;
}

/* opt_str - copy of an optional string key into *out (NULL if absent) */
static int opt_str(const struct gguf *g, const char *key, char **out, struct dk_err *err)
{
	struct gguf_str s;
	int rc = gguf_get_str(g, key, &s, err);

	*out = NULL;
	if (rc == DK_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*out = str_dup(s);
	return *out ? 0 : dk_err_set(err, DK_ENOMEM, "out of memory reading '%s'", key);
}

/* opt_id - an optional token id key; -2 when absent (note 2) */
static int opt_id(const struct gguf *g, const char *key, int32_t *out, struct dk_err *err)
{
	uint32_t v;
	int rc = gguf_get_u32(g, key, &v, err);

	*out = -2;
	if (rc == DK_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	*out = v > INT32_MAX ? -1 : (int32_t)v;
	return 0;
}

/* opt_bool - an optional flag; -1 when absent */
static int opt_bool(const struct gguf *g, const char *key, int *out, struct dk_err *err)
{
	int rc = gguf_get_bool(g, key, out, err);

	if (rc == DK_ENOTFOUND) {
		*out = -1;
		return 0;
	}
	return rc;
}

struct arrays {
	const char **tok;
	uint32_t *tlen;
	float *score;
	int32_t *type;
	const char **mer;
	uint32_t *mlen;
};

static void arrays_free(struct arrays *a)
{
	free(a->tok);
	free(a->tlen);
	free(a->score);
	free(a->type);
	free(a->mer);
	free(a->mlen);
}

/* read_scores - f32 or i32 scores, one per token (llama.cpp takes both) */
static int read_scores(const struct gguf *g, uint32_t n, struct arrays *a, struct dk_err *err)
{
	const struct gguf_kv *kv = gguf_find_key(g, "tokenizer.ggml.scores");

	if (kv == NULL)
		return 0;
	if (kv->type != GGUF_VT_ARRAY || (kv->arr_type != GGUF_VT_F32 && kv->arr_type != GGUF_VT_I32))
		return dk_err_set(err, DK_EFORMAT, "'tokenizer.ggml.scores' is not an f32 array");
	if (kv->n < n)
		return dk_err_set(err, DK_EFORMAT, "'tokenizer.ggml.scores' has %llu entries for %u tokens",
				  (unsigned long long)kv->n, n);
	a->score = malloc(n * sizeof *a->score);
	if (a->score == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory reading scores");
	for (uint32_t i = 0; i < n; i++)
		a->score[i] = kv->arr_type == GGUF_VT_F32 ? gguf_arr_f32(kv, i) : (float)gguf_arr_i32(kv, i);
	return 0;
}

/* read_types - integer token types, one per token */
static int read_types(const struct gguf *g, uint32_t n, struct arrays *a, struct dk_err *err)
{
	const struct gguf_kv *kv = gguf_find_key(g, "tokenizer.ggml.token_type");

	if (kv == NULL)
		return 0;
	if (kv->type != GGUF_VT_ARRAY || kv->arr_type == GGUF_VT_STRING ||
	    kv->arr_type == GGUF_VT_ARRAY || kv->arr_type == GGUF_VT_F32 ||
	    kv->arr_type == GGUF_VT_F64 || kv->arr_type == GGUF_VT_BOOL)
		return dk_err_set(err, DK_EFORMAT, "'tokenizer.ggml.token_type' is not an integer array");
	if (kv->n < n)
		return dk_err_set(err, DK_EFORMAT,
				  "'tokenizer.ggml.token_type' has %llu entries for %u tokens",
				  (unsigned long long)kv->n, n);
	a->type = malloc(n * sizeof *a->type);
	if (a->type == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory reading token types");
	for (uint32_t i = 0; i < n; i++) {
		int64_t t = gguf_arr_int(kv, i);

		a->type[i] = (t < 0 || t > 6) ? TOK_TYPE_UNDEFINED : (int32_t)t;
	}
	return 0;
}

/* read_strings - a string array as pointer/length pairs into the mapping */
static int read_strings(const struct gguf *g, const char *key, const char ***p, uint32_t **l,
			uint32_t *n, int required, struct dk_err *err)
{
	const struct gguf_kv *kv;
	int rc = gguf_get_arr(g, key, GGUF_VT_STRING, &kv, err);

	*n = 0;
	if (rc == DK_ENOTFOUND && !required)
		return 0;
	if (rc == DK_ENOTFOUND)
		return dk_err_set(err, DK_EFORMAT, "no '%s' in the model file", key);
	if (rc)
		return rc;
	if (kv->n > INT32_MAX)
		return dk_err_set(err, DK_EFORMAT, "'%s' has too many entries", key);
	*n = (uint32_t)kv->n;
	*p = malloc((*n + 1) * sizeof **p);
	*l = malloc((*n + 1) * sizeof **l);
	if (*p == NULL || *l == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory reading '%s'", key);
	for (uint32_t i = 0; i < *n; i++) {
		struct gguf_str s = gguf_arr_str(kv, i);

		if (s.len > UINT32_MAX / 2)
			return dk_err_set(err, DK_EFORMAT, "'%s' entry %u is too long", key, i);
		(*p)[i] = s.s;
		(*l)[i] = (uint32_t)s.len;
	}
	return 0;
}

/* tok_vocab_from_gguf - see tokenizer.h */
int tok_vocab_from_gguf(const struct gguf *g, struct tok_vocab **out, struct dk_err *err)
{
	struct tok_vocab_spec sp = TOK_VOCAB_SPEC_INIT;
	struct arrays a = { NULL, NULL, NULL, NULL, NULL, NULL };
	char *model = NULL, *pre = NULL, *name = NULL;
	uint32_t nt = 0, nm = 0;
	int rc;

	*out = NULL;
	rc = opt_str(g, "tokenizer.ggml.model", &model, err);
	if (rc == 0 && model == NULL)
		rc = dk_err_set(err, DK_EFORMAT, "no 'tokenizer.ggml.model' in the model file");
	if (rc == 0)
		rc = opt_str(g, "tokenizer.ggml.pre", &pre, err);
	if (rc == 0)
		rc = opt_str(g, "general.name", &name, err);
	if (rc == 0)
		rc = read_strings(g, "tokenizer.ggml.tokens", &a.tok, &a.tlen, &nt, 1, err);
	if (rc == 0)
		rc = read_scores(g, nt, &a, err);
	if (rc == 0)
		rc = read_types(g, nt, &a, err);
	if (rc == 0 && strcmp(model, "gpt2") == 0)
		rc = read_strings(g, "tokenizer.ggml.merges", &a.mer, &a.mlen, &nm, 1, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.bos_token_id", &sp.bos, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.eos_token_id", &sp.eos, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.unknown_token_id", &sp.unk, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.seperator_token_id", &sp.sep, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.padding_token_id", &sp.pad, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.eot_token_id", &sp.eot, err);
	if (rc == 0) rc = opt_id(g, "tokenizer.ggml.eom_token_id", &sp.eom, err);
	if (rc == 0) rc = opt_bool(g, "tokenizer.ggml.add_bos_token", &sp.add_bos, err);
	if (rc == 0) rc = opt_bool(g, "tokenizer.ggml.add_eos_token", &sp.add_eos, err);
	if (rc == 0) rc = opt_bool(g, "tokenizer.ggml.add_space_prefix", &sp.add_space_prefix, err);
	if (rc == 0) {
		sp.model = model;
		sp.pre = pre;
		sp.name = name;
		sp.n_tokens = nt;
		sp.tokens = a.tok;
		sp.token_lens = a.tlen;
		sp.scores = a.score;
		sp.types = a.type;
		sp.n_merges = nm;
		sp.merges = a.mer;
		sp.merge_lens = a.mlen;
		rc = tok_vocab_build(&sp, out, err);
	}
	arrays_free(&a);
	free(model);
	free(pre);
	free(name);
	return rc;
}
