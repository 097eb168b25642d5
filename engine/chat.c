/*
 * NAME
 *	chat - the four built-in chat layouts
 * DESIGN NOTES
 *	1. Detection order is llama.cpp's: "<|im_start|>" (ChatML, or Phi-4
 *	   with "<|im_sep|>") first, then "<|assistant|>" with "<|end|>"
 *	   (Phi-3), "<start_of_turn>" (Gemma), "<|start_header_id|>" with
 *	   "<|end_header_id|>" (Llama 3). Other families (the Mistral/Llama 2
 *	   [INST] variants among them) are not built in: they are refused
 *	   instead of being rendered wrongly.
 *	2. Llama 3 and Gemma trim surrounding whitespace of each content, as
 *	   llama.cpp does; ChatML and Phi-3 keep content verbatim. Gemma has no
 *	   system role: the system texts (concatenated) open the next user turn.
 */
#include <ctype.h>
#include <string.h>

#include "engine/chat.h"
#include "engine/gguf.h"

/* chat_detect - note 1 */
int chat_detect(const char *t, const char *arch, enum chat_tmpl *out, struct dk_err *err)
{
	if (t && *t) {
		if (strstr(t, "<|im_start|>")) {
			*out = strstr(t, "<|im_sep|>") ? CHAT_PHI4 : CHAT_CHATML;
			return 0;
		}
		if (strstr(t, "<|assistant|>") && strstr(t, "<|end|>")) {
			*out = CHAT_PHI3;
			return 0;
		}
		if (strstr(t, "<start_of_turn>")) {
			*out = CHAT_GEMMA;
			return 0;
		}
		if (strstr(t, "<|start_header_id|>") && strstr(t, "<|end_header_id|>")) {
			*out = CHAT_LLAMA3;
			return 0;
		}
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "chat template of this model is not built in (chatml, llama3, gemma, phi3, phi4 are)");
	}
	if (arch && (strcmp(arch, "gemma3") == 0 || strcmp(arch, "gemma2") == 0 ||
		     strcmp(arch, "gemma") == 0)) {
		*out = CHAT_GEMMA;
		return 0;
	}
	if (arch && strcmp(arch, "phi3") == 0) {
		*out = CHAT_PHI3;
		return 0;
	}
	if (arch && strcmp(arch, "llama") == 0) {
		*out = CHAT_LLAMA3;
		return 0;
	}
	*out = CHAT_CHATML;	/* qwen2, qwen3 and anything else: llama.cpp's default */
	return 0;
}

/* key_str - a GGUF string key as a C string in buf, NULL if absent */
static const char *key_str(const struct gguf *g, const char *key, struct dk_buf *buf)
{
	struct gguf_str s;

	if (gguf_get_str(g, key, &s, NULL) != 0 || dk_buf_add(buf, s.s, s.len) != 0)
		return NULL;
	return buf->buf;
}

/* chat_from_gguf - see chat.h */
int chat_from_gguf(const struct gguf *g, enum chat_tmpl *out, struct dk_err *err)
{
	struct dk_buf t = DK_BUF_INIT, a = DK_BUF_INIT;
	int rc = chat_detect(key_str(g, "tokenizer.chat_template", &t),
			     key_str(g, "general.architecture", &a), out, err);

	dk_buf_release(&t);
	dk_buf_release(&a);
	return rc;
}

/* add_trimmed - content without leading and trailing whitespace (note 2) */
static int add_trimmed(struct dk_buf *out, const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return dk_buf_add(out, s, n);
}

static int render_gemma(const struct chat_msg *m, size_t n, int add, struct dk_buf *o)
{
	struct dk_buf sys = DK_BUF_INIT;	/* system texts wait for the next user turn */
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *role = strcmp(m[i].role, "assistant") == 0 ? "model" : m[i].role;

		if (strcmp(m[i].role, "system") == 0) {
			rc = add_trimmed(&sys, m[i].content);
			continue;
		}
		rc = dk_buf_addf(o, "<start_of_turn>%s\n", role);
		if (rc == 0 && sys.len && strcmp(role, "model") != 0) {
			rc = dk_buf_add(o, sys.buf, sys.len);
			if (rc == 0)
				rc = dk_buf_adds(o, "\n\n");
			dk_buf_reset(&sys);
		}
		if (rc == 0)
			rc = add_trimmed(o, m[i].content);
		if (rc == 0)
			rc = dk_buf_adds(o, "<end_of_turn>\n");
	}
	if (rc == 0 && add)
		rc = dk_buf_adds(o, "<start_of_turn>model\n");
	dk_buf_release(&sys);
	return rc;
}

/* chat_render - see chat.h */
int chat_render(enum chat_tmpl t, const struct chat_msg *m, size_t n, int add,
		struct dk_buf *o, struct dk_err *err)
{
	int rc = 0;

	switch (t) {
	case CHAT_CHATML:
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = dk_buf_addf(o, "<|im_start|>%s\n%s<|im_end|>\n", m[i].role, m[i].content);
		if (rc == 0 && add)
			rc = dk_buf_adds(o, "<|im_start|>assistant\n");
		break;
	case CHAT_LLAMA3:
		for (size_t i = 0; i < n && rc == 0; i++) {
			rc = dk_buf_addf(o, "<|start_header_id|>%s<|end_header_id|>\n\n", m[i].role);
			if (rc == 0)
				rc = add_trimmed(o, m[i].content);
			if (rc == 0)
				rc = dk_buf_adds(o, "<|eot_id|>");
		}
		if (rc == 0 && add)
			rc = dk_buf_adds(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
		break;
	case CHAT_GEMMA:
		rc = render_gemma(m, n, add, o);
		break;
	case CHAT_PHI4:
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = dk_buf_addf(o, "<|im_start|>%s<|im_sep|>%s<|im_end|>", m[i].role, m[i].content);
		if (rc == 0 && add)
			rc = dk_buf_adds(o, "<|im_start|>assistant<|im_sep|>");
		break;
	case CHAT_PHI3:
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = dk_buf_addf(o, "<|%s|>\n%s<|end|>\n", m[i].role, m[i].content);
		if (rc == 0 && add)
			rc = dk_buf_adds(o, "<|assistant|>\n");
		break;
	}
	return rc ? dk_err_set(err, DK_ENOMEM, "out of memory rendering the chat prompt") : 0;
}

/* chat_name - see chat.h */
const char *chat_name(enum chat_tmpl t)
{
	static const char *const names[] = { "chatml", "llama3", "gemma", "phi3", "phi4" };

	return names[t];
}
