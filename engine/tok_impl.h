/*
 * NAME
 *	tok_impl - internals shared by the tokenizer's files
 * SUMMARY
 *	The vocab layout, the string->id hash, the Unicode helpers
 *	(tok_unicode.c), the pre-tokenizer splitters (tok_pretok.c) and the
 *	three algorithms (tok_spm.c, tok_bpe.c, tok_wpm.c). Not a public
 *	interface: only engine/tok_*.c and engine/tokenizer.c include it.
 * OWNERSHIP
 *	struct tok_vocab owns every array below. struct tok_cpts and struct
 *	tok_words are caller storage released with their _release function.
 * LIFETIME
 *	Token and merge texts live as long as the vocab.
 * THREADS
 *	The vocab is read-only after tok_vocab_build(); helpers keep no state.
 * ERRORS
 *	Helpers returning int give 0 or DK_ENOMEM.
 */
#ifndef DK_TOK_IMPL_H
#define DK_TOK_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tokenizer.h"

enum tok_kind { TOK_KIND_SPM, TOK_KIND_BPE, TOK_KIND_WPM };

/* pre-tokenizer families (llama.cpp's LLAMA_VOCAB_PRE_TYPE_*) */
enum tok_pre {
	TOK_PRE_DEFAULT,
	TOK_PRE_LLAMA3,
	TOK_PRE_DEEPSEEK_LLM,
	TOK_PRE_DEEPSEEK_CODER,
	TOK_PRE_FALCON,
	TOK_PRE_STARCODER,	/* also refact, command-r, smollm, codeshell, exaone, minerva */
	TOK_PRE_GPT2,		/* also mpt, olmo, jais, phi-2, ... */
	TOK_PRE_QWEN2,		/* also stablelm2, deepseek-r1-qwen, megrez */
	TOK_PRE_PORO,		/* also bloom, gpt3-finnish */
	TOK_PRE_CHATGLM4,
	TOK_PRE_VIKING,
};

/* token attributes (llama_token_attr bits) */
#define TOK_ATTR_UNDEFINED    0x000u
#define TOK_ATTR_UNKNOWN      0x001u
#define TOK_ATTR_UNUSED       0x002u
#define TOK_ATTR_NORMAL       0x004u
#define TOK_ATTR_CONTROL      0x008u
#define TOK_ATTR_USER_DEFINED 0x010u
#define TOK_ATTR_BYTE         0x020u
#define TOK_ATTR_LSTRIP       0x080u
#define TOK_ATTR_RSTRIP       0x100u

struct tok_entry {
	uint32_t off, len;	/* text in vocab->text */
	float score;
	uint32_t attr;
};

/* open-addressing hash of byte strings to 32-bit values */
struct tok_map {
	uint32_t *slot;		/* value + 1, 0 = empty; (mask + 1) slots */
	uint64_t mask;
};

struct tok_merge {
	uint32_t loff, llen, roff, rlen;	/* in vocab->mtext */
};

struct tok_vocab {
	enum tok_kind kind;
	enum tok_pre pre;
	char pre_name[48];
	uint32_t n;			/* tokens */
	struct tok_entry *tok;		/* (n) */
	char *text;			/* every token's text, each NUL-terminated */
	struct tok_map map;		/* text -> id */
	uint32_t n_merges;
	struct tok_merge *merge;	/* (n_merges), index = rank */
	char *mtext;
	struct tok_map mmap;		/* (left, right) -> rank */
	int32_t bos, eos, unk, sep, pad, eot, eom;
	int add_bos, add_eos, add_space_prefix;
	int ignore_merges, clean_spaces;
	int32_t byte_id[256];		/* byte fallback / byte-level token per byte, -1 none */
	int32_t *special;		/* ids split out before tokenizing, longest first */
	uint32_t n_special;
	int32_t *eog;			/* ids that end generation */
	uint32_t n_eog;
	uint32_t max_token_len;
};

/* tok_map */
uint64_t tok_hash(const void *p, size_t n, uint64_t seed);
int tok_map_init(struct tok_map *m, uint64_t n_items);
void tok_map_release(struct tok_map *m);
int32_t tok_vocab_lookup(const struct tok_vocab *v, const char *s, size_t n);
/* tok_merge_rank - rank of merging left+right, -1 if no such merge */
int32_t tok_merge_rank(const struct tok_vocab *v, const char *l, size_t ll,
		       const char *r, size_t rl);

/* tok_text_of - the NUL-terminated text of a valid id */
static inline const char *tok_text_of(const struct tok_vocab *v, int32_t id)
{
	return v->text + v->tok[id].off;
}

/* --- Unicode (tok_unicode.c) --- */
#define TOK_CF_UNDEF   0x001u
#define TOK_CF_NUMBER  0x002u
#define TOK_CF_LETTER  0x004u
#define TOK_CF_SEP     0x008u
#define TOK_CF_MARK    0x010u
#define TOK_CF_PUNCT   0x020u
#define TOK_CF_SYMBOL  0x040u
#define TOK_CF_CONTROL 0x080u
#define TOK_CF_SPACE   0x100u	/* \s: llama.cpp's whitespace set */

/* codepoints of a text; invalid UTF-8 bytes become U+FFFD one by one */
struct tok_cpts {
	uint32_t *cp;
	uint16_t *flags;	/* TOK_CF_* per codepoint */
	size_t n;
};
int tok_cpts_decode(const char *s, size_t len, struct tok_cpts *out);
void tok_cpts_release(struct tok_cpts *c);
unsigned tok_cpt_flags(uint32_t cp);
size_t tok_utf8_len(unsigned char lead);	/* 1..4 from the lead byte's high bits */
size_t tok_utf8_put(uint32_t cp, char out[4]);
uint32_t tok_cpt_lower(uint32_t cp);
uint32_t tok_cpt_nfd_first(uint32_t cp);

/* --- pre-tokenizer (tok_pretok.c) --- */
/* words: UTF-8 re-encoded text and the byte length of each word */
struct tok_words {
	char *text;
	size_t len;
	size_t *wlen;
	size_t n;
};
int tok_pretok_split(enum tok_pre pre, const char *s, size_t len, struct tok_words *out);
void tok_words_release(struct tok_words *w);

/* --- algorithms --- */
int tok_spm_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out);
int tok_bpe_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out);
int tok_wpm_encode(const struct tok_vocab *v, const char *s, size_t len, struct tok_ids *out);
/* byte-level BPE alphabet: byte -> codepoint and back (-1 if not in it) */
uint32_t tok_bpe_byte_cpt(uint8_t b);
int tok_bpe_cpt_byte(uint32_t cp);

#endif
