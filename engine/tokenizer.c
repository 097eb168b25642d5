/*
 * NAME
 *	tokenizer - vocab building, special-token partition, encode, decode
 * DESIGN NOTES
 *	1. The behaviour to match is llama.cpp's (llama-vocab.cpp): the
 *	   oracle's test vectors were produced by it. Where llama.cpp has an
 *	   arbitrary rule (defaults per model type, which tokens are forced to
 *	   CONTROL, the phi-3 RSTRIP attributes, the clean-up of spaces in
 *	   detokenize) the same rule is applied here, with its reason.
 *	2. Token text lookup is one open-addressing hash over the vocab's own
 *	   copy of every string; with duplicate texts the last id wins (as
 *	   llama.cpp's token_to_id[word] = i). Merges hash (left, right) to the
 *	   rank; with duplicate merges the first rank wins (emplace).
 *	3. Partition: the text is first cut into fragments, raw text or one
 *	   special token, trying special tokens longest first (ties: lower id
 *	   first; llama.cpp's sort is unstable there). User-defined tokens are
 *	   always split out; control and unknown ones only with
 *	   TOK_PARSE_SPECIAL. LSTRIP/RSTRIP drop the whitespace beside a match.
 *	4. Nothing here keeps state between calls: a built vocab is shared
 *	   read-only by every thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tok_impl.h"
#include "engine/tokenizer.h"

/* ---- hashing (note 2) ---- */

/* tok_hash - FNV-1a, 64 bit, continuing from seed */
uint64_t tok_hash(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = seed ? seed : 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* tok_map_init - empty table with room for n_items at load <= 1/2 */
int tok_map_init(struct tok_map *m, uint64_t n_items)
{
	uint64_t cap = 16;

	while (cap < n_items * 2)
		cap <<= 1;
	m->slot = calloc(cap, sizeof *m->slot);
	m->mask = cap - 1;
	return m->slot ? 0 : DK_ENOMEM;
}

/* tok_map_release - free the table */
void tok_map_release(struct tok_map *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
}

/* tok_vocab_lookup - id of the token whose text is s[0..n), or -1 */
int32_t tok_vocab_lookup(const struct tok_vocab *v, const char *s, size_t n)
{
	uint64_t i = tok_hash(s, n, 0) & v->map.mask;

	for (;; i = (i + 1) & v->map.mask) {
		uint32_t x = v->map.slot[i];
		const struct tok_entry *t;

		if (x == 0)
			return -1;
		t = &v->tok[x - 1];
		if (t->len == n && memcmp(v->text + t->off, s, n) == 0)
			return (int32_t)(x - 1);
	}
}

static uint64_t merge_hash(const char *l, size_t ll, const char *r, size_t rl)
{
	return tok_hash(r, rl, tok_hash(l, ll, 0) ^ 0x9e3779b97f4a7c15ull);
}

/* tok_merge_rank - rank of the merge (left, right), or -1 */
int32_t tok_merge_rank(const struct tok_vocab *v, const char *l, size_t ll,
		       const char *r, size_t rl)
{
	uint64_t i;

	if (v->n_merges == 0)
		return -1;
	i = merge_hash(l, ll, r, rl) & v->mmap.mask;
	for (;; i = (i + 1) & v->mmap.mask) {
		uint32_t x = v->mmap.slot[i];
		const struct tok_merge *m;

		if (x == 0)
			return -1;
		m = &v->merge[x - 1];
		if (m->llen == ll && m->rlen == rl && memcmp(v->mtext + m->loff, l, ll) == 0 &&
		    memcmp(v->mtext + m->roff, r, rl) == 0)
			return (int32_t)(x - 1);
	}
}

/* ---- building ---- */

/* set_kind - model type and its defaults (llama.cpp's llama_vocab::load) */
static int set_kind(struct tok_vocab *v, const char *model, struct dk_err *err)
{
	if (model && strcmp(model, "llama") == 0) {
		v->kind = TOK_KIND_SPM;
		v->bos = 1, v->eos = 2, v->unk = 0, v->sep = -1, v->pad = -1;
		v->add_space_prefix = 1, v->add_bos = 1, v->add_eos = 0, v->clean_spaces = 0;
	} else if (model && strcmp(model, "gpt2") == 0) {
		v->kind = TOK_KIND_BPE;
		v->bos = 11, v->eos = 11, v->unk = -1, v->sep = -1, v->pad = -1;
		v->add_space_prefix = 0, v->add_bos = 0, v->add_eos = 0, v->clean_spaces = 1;
	} else if (model && strcmp(model, "bert") == 0) {
		v->kind = TOK_KIND_WPM;
		v->bos = 101, v->eos = -1, v->unk = 100, v->sep = 102, v->pad = 0;
		v->add_space_prefix = 0, v->add_bos = 1, v->add_eos = 0, v->clean_spaces = 1;
	} else {
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported tokenizer model '%s' (supported: llama, gpt2, bert)",
				  model ? model : "(none)");
	}
	v->eot = v->eom = -1;
	return 0;
}

struct pre_name {
	const char *name;
	enum tok_pre pre;
	int clean_spaces;	/* -1: keep the BPE default */
	int llama3;		/* ignore_merges and add_bos, as llama.cpp sets them */
};

static const struct pre_name pre_names[] = {
	{ "default", TOK_PRE_DEFAULT, -1, 0 },
	{ "llama3", TOK_PRE_LLAMA3, -1, 1 },
	{ "llama-v3", TOK_PRE_LLAMA3, -1, 1 },
	{ "llama-bpe", TOK_PRE_LLAMA3, -1, 1 },
	{ "falcon3", TOK_PRE_LLAMA3, -1, 1 },
	{ "pixtral", TOK_PRE_LLAMA3, -1, 1 },
	{ "deepseek-llm", TOK_PRE_DEEPSEEK_LLM, 0, 0 },
	{ "deepseek-coder", TOK_PRE_DEEPSEEK_CODER, 0, 0 },
	{ "falcon", TOK_PRE_FALCON, -1, 0 },
	{ "mpt", TOK_PRE_GPT2, -1, 0 },
	{ "starcoder", TOK_PRE_STARCODER, -1, 0 },
	{ "gpt-2", TOK_PRE_GPT2, -1, 0 },
	{ "phi-2", TOK_PRE_GPT2, -1, 0 },
	{ "jina-es", TOK_PRE_GPT2, -1, 0 },
	{ "jina-de", TOK_PRE_GPT2, -1, 0 },
	{ "gigachat", TOK_PRE_GPT2, -1, 0 },
	{ "jina-v1-en", TOK_PRE_GPT2, -1, 0 },
	{ "jina-v2-es", TOK_PRE_GPT2, -1, 0 },
	{ "jina-v2-de", TOK_PRE_GPT2, -1, 0 },
	{ "jina-v2-code", TOK_PRE_GPT2, -1, 0 },
	{ "roberta-bpe", TOK_PRE_GPT2, -1, 0 },
	{ "refact", TOK_PRE_STARCODER, -1, 0 },
	{ "command-r", TOK_PRE_STARCODER, 0, 0 },
	{ "qwen2", TOK_PRE_QWEN2, 0, 0 },
	{ "deepseek-r1-qwen", TOK_PRE_QWEN2, 0, 0 },
	{ "stablelm2", TOK_PRE_QWEN2, -1, 0 },
	{ "megrez", TOK_PRE_QWEN2, -1, 0 },
	{ "olmo", TOK_PRE_GPT2, -1, 0 },
	{ "dbrx", TOK_PRE_LLAMA3, -1, 0 },
	{ "smaug-bpe", TOK_PRE_LLAMA3, -1, 0 },
	{ "poro-chat", TOK_PRE_PORO, 0, 0 },
	{ "glm4", TOK_PRE_CHATGLM4, -1, 0 },
	{ "chatglm-bpe", TOK_PRE_CHATGLM4, -1, 0 },
	{ "viking", TOK_PRE_VIKING, 0, 0 },
	{ "jais", TOK_PRE_GPT2, -1, 0 },
	{ "smollm", TOK_PRE_STARCODER, 0, 0 },
	{ "codeshell", TOK_PRE_STARCODER, -1, 0 },
	{ "bloom", TOK_PRE_PORO, -1, 0 },
	{ "gpt3-finnish", TOK_PRE_PORO, -1, 0 },
	{ "exaone", TOK_PRE_STARCODER, -1, 0 },
	{ "minerva-7b", TOK_PRE_STARCODER, -1, 0 },
	{ "trillion", TOK_PRE_GPT2, 0, 0 },
};

/* set_pre - the pre-tokenizer of a gpt2 vocab (absent: llama.cpp's "default") */
static int set_pre(struct tok_vocab *v, const char *pre, struct dk_err *err)
{
	snprintf(v->pre_name, sizeof v->pre_name, "%s", pre ? pre : "default");
	v->pre = TOK_PRE_DEFAULT;
	if (v->kind != TOK_KIND_BPE || pre == NULL)
		return 0;
	for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
		if (strcmp(pre, pre_names[i].name) != 0)
			continue;
		v->pre = pre_names[i].pre;
		if (pre_names[i].clean_spaces >= 0)
			v->clean_spaces = pre_names[i].clean_spaces;
		if (pre_names[i].llama3)
			v->ignore_merges = v->add_bos = 1;
		return 0;
	}
	return dk_err_set(err, DK_EUNSUPPORTED, "unsupported pre-tokenizer '%s'", pre);
}

/* copy_tokens - own copy of every token text, the hash, and the attributes */
static int copy_tokens(struct tok_vocab *v, const struct tok_vocab_spec *sp, struct dk_err *err)
{
	size_t total = 0, off = 0;

	v->n = sp->n_tokens;
	v->tok = calloc(v->n ? v->n : 1, sizeof *v->tok);
	if (v->tok == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory for %u tokens", v->n);
	for (uint32_t i = 0; i < v->n; i++)
		total += (sp->token_lens ? sp->token_lens[i] : strlen(sp->tokens[i])) + 1;
	v->text = malloc(total + 1);
	if (v->text == NULL || tok_map_init(&v->map, v->n))
		return dk_err_set(err, DK_ENOMEM, "out of memory for %u tokens", v->n);
	for (uint32_t i = 0; i < v->n; i++) {
		size_t len = sp->token_lens ? sp->token_lens[i] : strlen(sp->tokens[i]);
		struct tok_entry *t = &v->tok[i];
		uint64_t h;
		int32_t type = sp->types ? sp->types[i] : TOK_TYPE_NORMAL;

		memcpy(v->text + off, sp->tokens[i], len);
		v->text[off + len] = 0;
		t->off = (uint32_t)off;
		t->len = (uint32_t)len;
		t->score = sp->scores ? sp->scores[i] : 0.0f;
		off += len + 1;
		if (len > v->max_token_len)
			v->max_token_len = (uint32_t)len;
		switch (type) {
		case TOK_TYPE_UNKNOWN: t->attr = TOK_ATTR_UNKNOWN; break;
		case TOK_TYPE_UNUSED: t->attr = TOK_ATTR_UNUSED; break;
		case TOK_TYPE_NORMAL: t->attr = TOK_ATTR_NORMAL; break;
		case TOK_TYPE_CONTROL: t->attr = TOK_ATTR_CONTROL; break;
		case TOK_TYPE_USER_DEFINED: t->attr = TOK_ATTR_USER_DEFINED; break;
		case TOK_TYPE_BYTE: t->attr = TOK_ATTR_BYTE; break;
		default: t->attr = TOK_ATTR_UNDEFINED; break;
		}
		/* note 2: a later duplicate replaces the earlier one */
		for (h = tok_hash(v->text + t->off, len, 0) & v->map.mask;; h = (h + 1) & v->map.mask) {
			uint32_t x = v->map.slot[h];

			if (x == 0 || (v->tok[x - 1].len == len &&
				       memcmp(v->text + v->tok[x - 1].off, v->text + t->off, len) == 0)) {
				v->map.slot[h] = i + 1;
				break;
			}
		}
	}
	return 0;
}

/* copy_merges - "left right" strings to (left, right) -> rank */
static int copy_merges(struct tok_vocab *v, const struct tok_vocab_spec *sp, struct dk_err *err)
{
	size_t total = 0, off = 0;

	if (sp->n_merges == 0)
		return 0;
	for (uint32_t i = 0; i < sp->n_merges; i++)
		total += (sp->merge_lens ? sp->merge_lens[i] : strlen(sp->merges[i])) + 1;
	v->merge = calloc(sp->n_merges, sizeof *v->merge);
	v->mtext = malloc(total + 1);
	if (v->merge == NULL || v->mtext == NULL || tok_map_init(&v->mmap, sp->n_merges))
		return dk_err_set(err, DK_ENOMEM, "out of memory for %u merges", sp->n_merges);
	v->n_merges = sp->n_merges;
	for (uint32_t i = 0; i < sp->n_merges; i++) {
		size_t len = sp->merge_lens ? sp->merge_lens[i] : strlen(sp->merges[i]);
		const char *s = sp->merges[i];
		/* llama.cpp splits at the first space after the first byte */
		const char *sp1 = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
		struct tok_merge *m = &v->merge[i];
		uint64_t h;

		memcpy(v->mtext + off, s, len);
		v->mtext[off + len] = 0;
		if (sp1 == NULL) {
			off += len + 1;
			continue;	/* can never match two non-empty symbols */
		}
		m->loff = (uint32_t)off;
		m->llen = (uint32_t)(sp1 - s);
		m->roff = (uint32_t)(off + m->llen + 1);
		m->rlen = (uint32_t)(len - m->llen - 1);
		off += len + 1;
		if (tok_merge_rank(v, v->mtext + m->loff, m->llen, v->mtext + m->roff, m->rlen) >= 0)
			continue;	/* note 2: the first rank wins */
		h = merge_hash(v->mtext + m->loff, m->llen, v->mtext + m->roff, m->rlen) & v->mmap.mask;
		while (v->mmap.slot[h])
			h = (h + 1) & v->mmap.mask;
		v->mmap.slot[h] = i + 1;
	}
	return 0;
}

/* pick_id - a special id: the file's value if in range, else the default */
static int32_t pick_id(int32_t given, int32_t dflt, uint32_t n)
{
	if (dflt >= 0 && (uint32_t)dflt >= n)
		dflt = -1;
	if (given == -2)
		return dflt;
	if (given < 0)
		return -1;
	return (uint32_t)given < n ? given : dflt;
}

static int eog_push(struct tok_vocab *v, int32_t id)
{
	int32_t *n;

	if (id < 0)
		return 0;
	for (uint32_t i = 0; i < v->n_eog; i++)
		if (v->eog[i] == id)
			return 0;
	n = realloc(v->eog, (v->n_eog + 1) * sizeof *n);
	if (n == NULL)
		return DK_ENOMEM;
	v->eog = n;
	v->eog[v->n_eog++] = id;
	return 0;
}

/*
 * find_eog - the end-of-generation tokens. llama.cpp recognises them by
 * text and forces them to CONTROL even when the file says otherwise, which
 * also changes how the partition treats them (note 1).
 */
static int find_eog(struct tok_vocab *v)
{
	static const char *const eot_names[] = {
		"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<EOT>", "_<EOT>", "<\xef\xbd\x9c\x65nd\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
		NULL };
	static const char *const eog_names[] = {
		"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|eom_id|>", "<EOT>", "_<EOT>", NULL };
	int rc = 0;

	if (v->eot < 0)
		for (const char *const *n = eot_names; *n && v->eot < 0; n++)
			v->eot = tok_vocab_lookup(v, *n, strlen(*n));
	if (v->eom < 0)
		v->eom = tok_vocab_lookup(v, "<|eom_id|>", 10);
	for (const char *const *n = eog_names; *n; n++) {
		int32_t id = tok_vocab_lookup(v, *n, strlen(*n));

		if (id >= 0) {
			v->tok[id].attr |= TOK_ATTR_CONTROL;
			rc |= eog_push(v, id);
		}
	}
	if (v->eot >= 0)
		v->tok[v->eot].attr |= TOK_ATTR_CONTROL;
	rc |= eog_push(v, v->eos);
	rc |= eog_push(v, v->eot);
	rc |= eog_push(v, v->eom);
	return rc ? DK_ENOMEM : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* build_specials - ids split out before tokenizing, longest first (note 3) */
static int build_specials(struct tok_vocab *v, const char *name)
{
	char lname[128];
	int phi3;
	/* sort keys: (UINT32_MAX - length) above the id, so longest first, then lower id */
	uint64_t *key = malloc((v->n ? v->n : 1) * sizeof *key);

	v->special = malloc((v->n ? v->n : 1) * sizeof *v->special);
	if (v->special == NULL || key == NULL) {
		free(key);
		return DK_ENOMEM;
	}
	for (uint32_t i = 0; i < v->n; i++)
		if (v->tok[i].attr & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
			key[v->n_special++] = (uint64_t)(UINT32_MAX - v->tok[i].len) << 32 | i;
	qsort(key, v->n_special, sizeof *key, cmp_u64);
	for (uint32_t i = 0; i < v->n_special; i++)
		v->special[i] = (int32_t)(key[i] & 0xffffffffu);
	free(key);

	/* llama.cpp: phi-3 models strip the whitespace after special tokens */
	snprintf(lname, sizeof lname, "%s", name ? name : "");
	for (char *p = lname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	phi3 = strstr(lname, "phi-3") || strstr(lname, "phi3");
	if (phi3) {
		static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>", NULL };
		int32_t id;

		for (uint32_t i = 0; i < v->n_special; i++)
			v->tok[v->special[i]].attr |= TOK_ATTR_RSTRIP;
		if ((id = tok_vocab_lookup(v, "</s>", 4)) >= 0)
			v->tok[id].attr |= TOK_ATTR_RSTRIP;
		for (const char *const *k = keep; *k; k++)
			if ((id = tok_vocab_lookup(v, *k, strlen(*k))) >= 0)
				v->tok[id].attr &= ~TOK_ATTR_RSTRIP;
	}
	return 0;
}

/* build_bytes - the token of each byte for fallback and byte-level text */
static void build_bytes(struct tok_vocab *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int b = 0; b < 256; b++) {
		char buf[8];
		size_t n;

		v->byte_id[b] = -1;
		if (v->kind == TOK_KIND_SPM) {
			char one = (char)b;

			buf[0] = '<', buf[1] = '0', buf[2] = 'x', buf[3] = hex[b >> 4];
			buf[4] = hex[b & 15], buf[5] = '>';
			v->byte_id[b] = tok_vocab_lookup(v, buf, 6);
			if (v->byte_id[b] < 0)
				v->byte_id[b] = tok_vocab_lookup(v, &one, 1);
		} else if (v->kind == TOK_KIND_BPE) {
			n = tok_utf8_put(tok_bpe_byte_cpt((uint8_t)b), buf);
			v->byte_id[b] = tok_vocab_lookup(v, buf, n);
		}
	}
}

/* tok_vocab_build - see tokenizer.h */
int tok_vocab_build(const struct tok_vocab_spec *sp, struct tok_vocab **out, struct dk_err *err)
{
	struct tok_vocab *v = calloc(1, sizeof *v);
	int rc;

	*out = NULL;
	if (v == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory for a vocab");
	if (sp->n_tokens == 0) {
		rc = dk_err_set(err, DK_EFORMAT, "vocabulary has no tokens");
		goto fail;
	}
	if ((rc = set_kind(v, sp->model, err)) || (rc = set_pre(v, sp->pre, err)))
		goto fail;
	if (v->kind == TOK_KIND_BPE && sp->n_merges == 0) {
		rc = dk_err_set(err, DK_EFORMAT, "gpt2 vocabulary without merges");
		goto fail;
	}
	if ((rc = copy_tokens(v, sp, err)) || (rc = copy_merges(v, sp, err)))
		goto fail;
	if (sp->add_space_prefix >= 0)
		v->add_space_prefix = sp->add_space_prefix;
	v->bos = pick_id(sp->bos, v->bos, v->n);
	v->eos = pick_id(sp->eos, v->eos, v->n);
	v->unk = pick_id(sp->unk, v->unk, v->n);
	v->sep = pick_id(sp->sep, v->sep, v->n);
	v->pad = pick_id(sp->pad, v->pad, v->n);
	v->eot = pick_id(sp->eot, -1, v->n);
	v->eom = pick_id(sp->eom, -1, v->n);
	if (sp->add_bos >= 0)
		v->add_bos = sp->add_bos;
	if (sp->add_eos >= 0)
		v->add_eos = sp->add_eos;
	if ((v->add_bos && v->bos < 0) || (v->add_eos && v->eos < 0)) {
		rc = dk_err_set(err, DK_EFORMAT, "vocabulary asks for %s but has no such token",
				v->add_bos && v->bos < 0 ? "BOS" : "EOS");
		goto fail;
	}
	if (find_eog(v) || build_specials(v, sp->name)) {
		rc = dk_err_set(err, DK_ENOMEM, "out of memory building the vocab");
		goto fail;
	}
	build_bytes(v);
	*out = v;
	return 0;
fail:
	tok_vocab_free(v);
	return rc;
}

/* tok_vocab_free - see tokenizer.h */
void tok_vocab_free(struct tok_vocab *v)
{
	if (v == NULL)
		return;
	free(v->tok);
	free(v->text);
	tok_map_release(&v->map);
	free(v->merge);
	free(v->mtext);
	tok_map_release(&v->mmap);
	free(v->special);
	free(v->eog);
	free(v);
}

/* ---- ids ---- */

void tok_ids_release(struct tok_ids *ids)
{
	free(ids->v);
	ids->v = NULL;
	ids->n = ids->alloc = 0;
}

int tok_ids_push(struct tok_ids *ids, int32_t id)
{
	if (ids->n == ids->alloc) {
		size_t na = ids->alloc ? ids->alloc * 2 : 64;
		int32_t *nv = realloc(ids->v, na * sizeof *nv);

		if (nv == NULL)
			return DK_ENOMEM;
		ids->v = nv;
		ids->alloc = na;
	}
	ids->v[ids->n++] = id;
	return 0;
}

/* ---- partition (note 3) ---- */

struct frag {
	int32_t id;		/* -1: raw text s[off..off+len) */
	size_t off, len;
};

struct frags {
	struct frag *f;
	size_t n, alloc;
};

static int frag_push(struct frags *fs, int32_t id, size_t off, size_t len)
{
	if (fs->n == fs->alloc) {
		size_t na = fs->alloc ? fs->alloc * 2 : 16;
		struct frag *nf = realloc(fs->f, na * sizeof *nf);

		if (nf == NULL)
			return DK_ENOMEM;
		fs->f = nf;
		fs->alloc = na;
	}
	fs->f[fs->n++] = (struct frag){ id, off, len };
	return 0;
}

/* split_one - cut every raw fragment of in at each occurrence of token id */
static int split_one(const struct tok_vocab *v, int32_t id, const char *s,
		     const struct frags *in, struct frags *out)
{
	const char *t = tok_text_of(v, id);
	size_t tl = v->tok[id].len;
	uint32_t attr = v->tok[id].attr;

	out->n = 0;
	for (size_t k = 0; k < in->n; k++) {
		struct frag f = in->f[k];

		if (f.id >= 0) {
			if (frag_push(out, f.id, 0, 0))
				return DK_ENOMEM;
			continue;
		}
		while (f.len > 0) {
			const char *m = memmem(s + f.off, f.len, t, tl);
			size_t at, left, roff, rlen;

			if (m == NULL) {
				if (frag_push(out, -1, f.off, f.len))
					return DK_ENOMEM;
				break;
			}
			at = (size_t)(m - s);
			left = at - f.off;
			if (attr & TOK_ATTR_LSTRIP)
				while (left > 0 && isspace((unsigned char)s[f.off + left - 1]))
					left--;
			if ((left > 0 && frag_push(out, -1, f.off, left)) || frag_push(out, id, 0, 0))
				return DK_ENOMEM;
			roff = at + tl;
			rlen = f.off + f.len - roff;
			if (attr & TOK_ATTR_RSTRIP)
				while (rlen > 0 && isspace((unsigned char)s[roff]))
					roff++, rlen--;
			f.off = roff;
			f.len = rlen;
		}
	}
	return 0;
}

/* partition - fragments of s[0..len) after splitting out special tokens */
static int partition(const struct tok_vocab *v, const char *s, size_t len, int parse_special,
		     struct frags *out)
{
	struct frags tmp = { NULL, 0, 0 };
	/* byte pairs present in the text: most special tokens can be skipped
	 * without a search (gemma3 has over 6000 of them) */
	uint64_t *pairs;
	int rc = 0;

	out->n = 0;
	if (len == 0)
		return 0;
	pairs = calloc(65536 / 64, sizeof *pairs);
	if (pairs == NULL || frag_push(out, -1, 0, len)) {
		free(pairs);
		return DK_ENOMEM;
	}
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned k = (unsigned char)s[i] << 8 | (unsigned char)s[i + 1];

		pairs[k >> 6] |= 1ull << (k & 63);
	}
	for (uint32_t i = 0; i < v->n_special && rc == 0; i++) {
		int32_t id = v->special[i];
		const unsigned char *t = (const unsigned char *)tok_text_of(v, id);
		unsigned k = t[0] << 8 | t[1];
		struct frags x;

		if (v->tok[id].len == 0 ||
		    (v->tok[id].len >= 2 && !(pairs[k >> 6] & (1ull << (k & 63)))))
			continue;
		if (!parse_special && (v->tok[id].attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
			continue;
		rc = split_one(v, id, s, out, &tmp);
		x = *out;
		*out = tmp;
		tmp = x;
	}
	free(tmp.f);
	free(pairs);
	return rc;
}

/* spm_fragment - one raw fragment through SPM, with the space prefix rule */
static int spm_fragment(const struct tok_vocab *v, const char *s, size_t len, int prefix,
			struct tok_ids *out)
{
	size_t n = 0;
	char *buf = malloc(len * 3 + 4);
	int rc;

	if (buf == NULL)
		return DK_ENOMEM;
	/* ' ' becomes U+2581 "▁" (llama_escape_whitespace) */
	if (prefix) {
		memcpy(buf, "\xe2\x96\x81", 3);
		n = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ') {
			memcpy(buf + n, "\xe2\x96\x81", 3);
			n += 3;
		} else {
			buf[n++] = s[i];
		}
	}
	rc = tok_spm_encode(v, buf, n, out);
	free(buf);
	return rc;
}

/* tok_encode - see tokenizer.h */
int tok_encode(const struct tok_vocab *v, const char *text, size_t len, unsigned flags,
	       struct tok_ids *out, struct dk_err *err)
{
	struct frags fs = { NULL, 0, 0 };
	int add = (flags & TOK_ADD_SPECIAL) != 0, prev_special = 1;
	int rc = partition(v, text, len, (flags & TOK_PARSE_SPECIAL) != 0, &fs);

	if (rc == 0 && add && v->add_bos && v->kind != TOK_KIND_WPM)
		rc = tok_ids_push(out, v->bos);
	if (rc == 0 && add && v->kind == TOK_KIND_WPM && v->bos >= 0)
		rc = tok_ids_push(out, v->bos);
	for (size_t k = 0; k < fs.n && rc == 0; k++) {
		const struct frag *f = &fs.f[k];

		if (f->id >= 0) {
			rc = tok_ids_push(out, f->id);
			prev_special = 1;
			continue;
		}
		switch (v->kind) {
		case TOK_KIND_SPM:
			rc = spm_fragment(v, text + f->off, f->len,
					  v->add_space_prefix && prev_special, out);
			break;
		case TOK_KIND_BPE:
			rc = tok_bpe_encode(v, text + f->off, f->len, out);
			break;
		case TOK_KIND_WPM:
			rc = tok_wpm_encode(v, text + f->off, f->len, out);
			break;
		}
		prev_special = 0;
	}
	if (rc == 0 && add && v->add_eos && v->kind != TOK_KIND_WPM)
		rc = tok_ids_push(out, v->eos);
	if (rc == 0 && add && v->kind == TOK_KIND_WPM && v->sep >= 0)
		rc = tok_ids_push(out, v->sep);
	free(fs.f);
	if (rc)
		return dk_err_set(err, rc, "out of memory tokenizing %zu bytes", len);
	return 0;
}

/* ---- decode ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 0;
}

/* byte_of - the byte a "<0xNN>" token stands for */
static int byte_of(const struct tok_vocab *v, int32_t id)
{
	const char *t = tok_text_of(v, id);

	if (v->tok[id].len < 6)
		return 0;
	return hexval(t[3]) * 16 + hexval(t[4]);
}

/* add_unescaped - text with every "▁" turned back into a space */
static int add_unescaped(struct dk_buf *out, const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i + 2 < n && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
			if (dk_buf_addch(out, ' '))
				return DK_ENOMEM;
			i += 2;
		} else if (dk_buf_addch(out, t[i])) {
			return DK_ENOMEM;
		}
	}
	return 0;
}

/* add_byte_level - byte-level BPE text back to bytes (llama_decode_text) */
static int add_byte_level(struct dk_buf *out, const char *t, size_t n)
{
	struct tok_cpts c;
	int rc = tok_cpts_decode(t, n, &c);

	for (size_t i = 0; i < c.n && rc == 0; i++) {
		int b = tok_bpe_cpt_byte(c.cp[i]);
		char u[4];
		size_t k;

		if (b >= 0) {
			rc = dk_buf_addch(out, b);
			continue;
		}
		/* llama.cpp writes this marker for a character outside the alphabet */
		k = tok_utf8_put(c.cp[i], u);
		rc = dk_buf_adds(out, "[UNK_BYTE_0x");
		for (size_t j = 0; j < k && rc == 0; j++)
			rc = dk_buf_addf(out, "%02x", (unsigned char)u[j]);
		if (rc == 0)
			rc = dk_buf_add(out, t, n);
		if (rc == 0)
			rc = dk_buf_addch(out, ']');
	}
	tok_cpts_release(&c);
	return rc;
}

/* tok_piece - see tokenizer.h */
int tok_piece(const struct tok_vocab *v, int32_t id, int special, struct dk_buf *out)
{
	const struct tok_entry *t;
	const char *s;

	if (id < 0 || (uint32_t)id >= v->n)
		return DK_EINVAL;
	t = &v->tok[id];
	s = v->text + t->off;
	if (!special && (t->attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL)))
		return 0;
	if (t->attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED))
		return dk_buf_add(out, s, t->len);
	if (t->attr & TOK_ATTR_NORMAL)
		return v->kind == TOK_KIND_BPE ? add_byte_level(out, s, t->len)
					       : add_unescaped(out, s, t->len);
	if (t->attr & TOK_ATTR_BYTE)
		return dk_buf_addch(out, byte_of(v, id));
	return 0;	/* unused and undefined tokens render as nothing */
}

/* clean_spaces - llama_detokenize's three passes over the new bytes */
static void clean_spaces(char *t, size_t *np)
{
	size_t n = *np, k;

	/* " ?", " !", " .", " ," lose the space */
	k = n ? 1 : 0;
	for (size_t i = 1; i < n; i++) {
		char x = t[i];

		if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
			k--;
		t[k++] = x;
	}
	n = k;
	/* " ' " loses both spaces */
	k = n ? 1 : 0;
	for (size_t i = 1; i < n; i++) {
		char x = t[i];

		if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
			k--;
			t[++i] = 0;
		}
		t[k++] = x;
	}
	n = k;
	/* " 's", " 'm", " 're", " 've" lose the space */
	k = n ? 1 : 0;
	for (size_t i = 1; i < n; i++) {
		char x = t[i];

		if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
			char x1 = t[i + 1];

			if (x1 == 's' || x1 == 'm')
				k--;
			else if (i + 2 < n && ((x1 == 'r' && t[i + 2] == 'e') ||
					       (x1 == 'v' && t[i + 2] == 'e')))
				k--;
		}
		t[k++] = x;
	}
	*np = k;
}

/* tok_decode - see tokenizer.h */
int tok_decode(const struct tok_vocab *v, const int32_t *ids, size_t n, unsigned flags,
	       struct dk_buf *out, struct dk_err *err)
{
	int remove_space = v->add_space_prefix;
	int special = (flags & TOK_UNPARSE_SPECIAL) != 0;
	size_t start = out->len;

	if ((flags & TOK_REMOVE_SPECIAL) && v->add_bos && n > 0 && ids[0] == v->bos) {
		remove_space = 0;
		ids++;
		n--;
	}
	if ((flags & TOK_REMOVE_SPECIAL) && v->add_eos && n > 0 && ids[n - 1] == v->eos)
		n--;
	for (size_t i = 0; i < n; i++) {
		size_t before = out->len;
		int rc;

		if (ids[i] < 0 || (uint32_t)ids[i] >= v->n)
			return dk_err_set(err, DK_EINVAL, "token id %d out of range (vocab has %u)",
					  ids[i], v->n);
		rc = tok_piece(v, ids[i], special, out);
		if (rc)
			return dk_err_set(err, DK_ENOMEM, "out of memory decoding");
		/* the space the SPM prefix added is not part of the text */
		if (remove_space && out->len > before && out->buf[before] == ' ') {
			memmove(out->buf + before, out->buf + before + 1, out->len - before - 1);
			dk_buf_truncate(out, out->len - 1);
		}
		remove_space = 0;
	}
	if (v->clean_spaces) {
		size_t k = out->len - start;

		clean_spaces(out->buf + start, &k);
		dk_buf_truncate(out, start + k);
	}
	return 0;
}

/* ---- accessors ---- */

uint32_t tok_n_tokens(const struct tok_vocab *v) { return v->n; }
int32_t tok_bos(const struct tok_vocab *v) { return v->bos; }
int32_t tok_eos(const struct tok_vocab *v) { return v->eos; }
int32_t tok_eot(const struct tok_vocab *v) { return v->eot; }
int tok_add_bos(const struct tok_vocab *v) { return v->add_bos; }
int tok_add_eos(const struct tok_vocab *v) { return v->add_eos; }

int tok_is_eog(const struct tok_vocab *v, int32_t id)
{
	for (uint32_t i = 0; i < v->n_eog; i++)
		if (v->eog[i] == id)
			return 1;
	return 0;
}

const char *tok_token_text(const struct tok_vocab *v, int32_t id, size_t *len)
{
	if (id < 0 || (uint32_t)id >= v->n)
		return NULL;
	if (len)
		*len = v->tok[id].len;
	return tok_text_of(v, id);
}

int32_t tok_find(const struct tok_vocab *v, const char *s, size_t n)
{
	return tok_vocab_lookup(v, s, n);
}

const char *tok_model_name(const struct tok_vocab *v)
{
	return v->kind == TOK_KIND_SPM ? "llama" : v->kind == TOK_KIND_BPE ? "gpt2" : "bert";
}

const char *tok_pre_name(const struct tok_vocab *v)
{
	return v->pre_name;
}
