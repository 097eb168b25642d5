/*
 * NAME
 *	chat - built-in chat templates (ChatML, Llama 3, Gemma, Phi-3, Phi-4)
 * SUMMARY
 *	chat_detect() picks a template family from the text of a GGUF's
 *	tokenizer.chat_template by the marker strings each family uses (as
 *	llama.cpp's llm_chat_detect_template does), falling back on the
 *	architecture when the file has no template. chat_render() writes the
 *	prompt text for a list of messages, optionally followed by the opening
 *	of the assistant's turn. No Jinja is run: the four layouts are fixed
 *	here, following llama.cpp's llm_chat_apply_template.
 *	The rendered text contains special-token text ("<|im_start|>"), so it
 *	must be tokenized with TOK_PARSE_SPECIAL; BOS is the tokenizer's job.
 * OWNERSHIP
 *	Messages are borrowed; output is appended to the caller's dk_buf.
 * LIFETIME
 *	Nothing is kept after a call returns.
 * THREADS
 *	Safe: no state.
 * ERRORS
 *	DK_EUNSUPPORTED (template family not recognised), DK_ENOMEM.
 */
#ifndef DK_CHAT_H
#define DK_CHAT_H

#include <stddef.h>

#include "util/dk_buf.h"
#include "util/dk_err.h"

struct gguf;

enum chat_tmpl {
	CHAT_CHATML,	/* Qwen2/2.5/3, SmolLM2 */
	CHAT_LLAMA3,
	CHAT_GEMMA,	/* Gemma 1/2/3 */
	CHAT_PHI3,	/* Phi-3, Phi-3.5, Phi-4-mini */
	CHAT_PHI4,	/* Phi-4: ChatML with <|im_sep|> */
};

struct chat_msg {
	const char *role;	/* "system", "user", "assistant" */
	const char *content;
};

/* chat_detect - family from template text (may be NULL) and architecture (may be NULL) */
int chat_detect(const char *tmpl, const char *arch, enum chat_tmpl *out, struct dk_err *err);

/* chat_from_gguf - chat_detect() on tokenizer.chat_template and general.architecture */
int chat_from_gguf(const struct gguf *g, enum chat_tmpl *out, struct dk_err *err);

/* chat_render - append the prompt for msgs[0..n); add_assistant opens the reply */
int chat_render(enum chat_tmpl t, const struct chat_msg *msgs, size_t n, int add_assistant,
		struct dk_buf *out, struct dk_err *err);

/* chat_name - "chatml", "llama3", "gemma", "phi3", "phi4" */
const char *chat_name(enum chat_tmpl t);

#endif
