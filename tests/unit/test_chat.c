/*
 * NAME
 *	test_chat - golden renderings of the built-in chat templates and
 *	template detection (the goldens follow the layouts of llama.cpp's
 *	llm_chat_apply_template, written out by hand)
 */
#include <string.h>

#include "engine/chat.h"
#include "tests/test.h"

static const struct chat_msg conv[] = {
	{ "system", "You are helpful." },
	{ "user", "Hello" },
	{ "assistant", "Hi there" },
	{ "user", " Who are you? " },
};

static int renders(enum chat_tmpl t, const char *want)
{
	struct dk_buf b = DK_BUF_INIT;
	int ok = chat_render(t, conv, 4, 1, &b, NULL) == 0 && strcmp(b.buf, want) == 0;

	if (!ok)
		printf("  %s rendered:\n%s\n", chat_name(t), b.buf);
	dk_buf_release(&b);
	return ok;
}

static void golden_chatml(void)
{
	CHECK(renders(CHAT_CHATML,
		      "<|im_start|>system\nYou are helpful.<|im_end|>\n"
		      "<|im_start|>user\nHello<|im_end|>\n"
		      "<|im_start|>assistant\nHi there<|im_end|>\n"
		      "<|im_start|>user\n Who are you? <|im_end|>\n"
		      "<|im_start|>assistant\n"));
}

static void golden_llama3(void)
{
	CHECK(renders(CHAT_LLAMA3,
		      "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
		      "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
		      "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
		      "<|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>"
		      "<|start_header_id|>assistant<|end_header_id|>\n\n"));
}

static void golden_gemma(void)
{
	CHECK(renders(CHAT_GEMMA,
		      "<start_of_turn>user\nYou are helpful.\n\nHello<end_of_turn>\n"
		      "<start_of_turn>model\nHi there<end_of_turn>\n"
		      "<start_of_turn>user\nWho are you?<end_of_turn>\n"
		      "<start_of_turn>model\n"));
}

static void golden_phi3(void)
{
	CHECK(renders(CHAT_PHI3,
		      "<|system|>\nYou are helpful.<|end|>\n"
		      "<|user|>\nHello<|end|>\n"
		      "<|assistant|>\nHi there<|end|>\n"
		      "<|user|>\n Who are you? <|end|>\n"
		      "<|assistant|>\n"));
}

static void golden_phi4(void)
{
	CHECK(renders(CHAT_PHI4,
		      "<|im_start|>system<|im_sep|>You are helpful.<|im_end|>"
		      "<|im_start|>user<|im_sep|>Hello<|im_end|>"
		      "<|im_start|>assistant<|im_sep|>Hi there<|im_end|>"
		      "<|im_start|>user<|im_sep|> Who are you? <|im_end|>"
		      "<|im_start|>assistant<|im_sep|>"));
}

static void detection(void)
{
	enum chat_tmpl t;

	CHECK(chat_detect("{% for m in messages %}<|im_start|>{{m.role}}", NULL, &t, NULL) == 0 &&
	      t == CHAT_CHATML);
	CHECK(chat_detect("{{'<|start_header_id|>' + role + '<|end_header_id|>'}}", NULL, &t, NULL) == 0 &&
	      t == CHAT_LLAMA3);
	CHECK(chat_detect("{{ '<start_of_turn>' + role }}", "llama", &t, NULL) == 0 && t == CHAT_GEMMA);
	CHECK(chat_detect("<|user|>...<|assistant|>...<|end|>", NULL, &t, NULL) == 0 && t == CHAT_PHI3);
	CHECK(chat_detect(NULL, "gemma3", &t, NULL) == 0 && t == CHAT_GEMMA);
	CHECK(chat_detect(NULL, "qwen2", &t, NULL) == 0 && t == CHAT_CHATML);
	CHECK(chat_detect("[INST] {{ content }} [/INST]", NULL, &t, NULL) == DK_EUNSUPPORTED);
	CHECK(chat_detect("<|im_start|><|im_sep|>", NULL, &t, NULL) == 0 && t == CHAT_PHI4);
}

int main(void)
{
	RUN(golden_chatml);
	RUN(golden_llama3);
	RUN(golden_gemma);
	RUN(golden_phi3);
	RUN(golden_phi4);
	RUN(detection);
	return TEST_END();
}
