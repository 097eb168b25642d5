/*
 * NAME
 *	docket generate - continue a prompt with a model
 * SUMMARY
 *	docket generate --model F --prompt TEXT [-n N] [--temp T] [--seed S]
 *	    [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R]
 *	    [--repeat-last-n N] [--chat] [--ctx N] [-t THREADS]
 * DESCRIPTION
 *	Prints the prompt, then up to N generated tokens as they come, and a
 *	final newline; stops early at an end-of-generation token. The prompt
 *	is tokenized with the model's BOS and with special-token text parsed.
 *	--chat wraps the prompt as one user message in the model's chat
 *	template (detected from tokenizer.chat_template) and opens the
 *	assistant's turn; only the reply is printed then.
 *	The context holds prompt + N positions unless --ctx says otherwise; a
 *	context beyond the model's training context (context_length) is
 *	allowed with a warning, since some files understate it.
 *	Sampling is llama.cpp's default chain (sampler.h); --temp 0 is greedy.
 *	Same model, prompt, options and seed give the same bytes on any
 *	machine and any thread count.
 *	A summary line (token counts and speeds) goes to stderr.
 * DIAGNOSTICS
 *	One line on stderr; sysexits.h status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "engine/chat.h"
#include "engine/engine.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"
#include "pipeline/builtin.h"

static const char generate_usage[] =
	"usage: docket generate --model F --prompt TEXT [-n N] [--temp T] [--seed S]\n"
	"           [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R]\n"
	"           [--repeat-last-n N] [--chat] [--ctx N] [-t THREADS]\n"
	"  -n N               tokens to generate (default 128)\n"
	"  --temp T           temperature, 0 = greedy (default 0.8)\n"
	"  --seed S           random seed (default 0)\n"
	"  --top-k K          keep the K best tokens, 0 = all (default 40)\n"
	"  --top-p P          nucleus sampling, 1 = off (default 0.95)\n"
	"  --min-p P          drop tokens below P x the best, 0 = off (default 0.05)\n"
	"  --repeat-penalty R penalty on recent tokens, 1 = off (default 1)\n"
	"  --repeat-last-n N  tokens the penalty looks back (default 64)\n"
	"  --chat             use the model's chat template\n"
	"  --ctx N            context positions (default prompt + n)\n"
	"  -t THREADS         threads (default 1)\n";

struct gen_opts {
	const char *model, *prompt;
	long n, ctx, threads;
	int chat;
	struct samp_params sp;
};

/* num - parse a number option into *out; 0 or EX_USAGE */
static int num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *end || errno || !(*out >= lo && *out <= hi)) {
		fprintf(stderr, "docket generate: bad value '%s' for %s\n", s, opt);
		return EX_USAGE;
	}
	return 0;
}

static int parse(int argc, char **argv, struct gen_opts *o)
{
	static const struct samp_params dflt = SAMP_PARAMS_INIT;

	memset(o, 0, sizeof *o);
	o->n = 128;
	o->threads = 1;
	o->sp = dflt;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		double x = 0;
		int rc = 0, takes = 1;

		if (strcmp(a, "--help") == 0) {
			fputs(generate_usage, stdout);
			return -1;
		} else if (strcmp(a, "--chat") == 0) {
			o->chat = 1;
			takes = 0;
		} else if (v == NULL) {
			fprintf(stderr, "docket generate: option '%s' needs a value\n", a);
			rc = EX_USAGE;
		} else if (strcmp(a, "--model") == 0) {
			o->model = v;
		} else if (strcmp(a, "--prompt") == 0) {
			o->prompt = v;
		} else if (strcmp(a, "-n") == 0) {
			rc = num(a, v, 0, 1e7, &x), o->n = (long)x;
		} else if (strcmp(a, "--temp") == 0) {
			rc = num(a, v, 0, 100, &x), o->sp.temp = (float)x;
		} else if (strcmp(a, "--seed") == 0) {
			char *end;

			errno = 0;
			o->sp.seed = strtoull(v, &end, 10);
			if (end == v || *end || errno || v[0] == '-') {
				fprintf(stderr, "docket generate: bad value '%s' for %s\n", v, a);
				rc = EX_USAGE;
			}
		} else if (strcmp(a, "--top-k") == 0) {
			rc = num(a, v, 0, 1e9, &x), o->sp.top_k = (int32_t)x;
		} else if (strcmp(a, "--top-p") == 0) {
			rc = num(a, v, 0, 1, &x), o->sp.top_p = (float)x;
		} else if (strcmp(a, "--min-p") == 0) {
			rc = num(a, v, 0, 1, &x), o->sp.min_p = (float)x;
		} else if (strcmp(a, "--repeat-penalty") == 0) {
			rc = num(a, v, 1e-3, 100, &x), o->sp.repeat_penalty = (float)x;
		} else if (strcmp(a, "--repeat-last-n") == 0) {
			rc = num(a, v, 0, 1e6, &x), o->sp.repeat_last_n = (int32_t)x;
		} else if (strcmp(a, "--ctx") == 0) {
			rc = num(a, v, 1, 1e7, &x), o->ctx = (long)x;
		} else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
			rc = num(a, v, 1, 1024, &x), o->threads = (long)x;
		} else {
			fprintf(stderr, "docket generate: unknown option '%s'\n", a);
			rc = EX_USAGE;
		}
		if (rc) {
			fputs(generate_usage, stderr);
			return rc;
		}
		i += takes;
	}
	if (o->model == NULL || o->prompt == NULL) {
		fprintf(stderr, "docket generate: --model and --prompt are required\n%s", generate_usage);
		return EX_USAGE;
	}
	return 0;
}

/* prompt_ids - the tokens of the prompt (chat-wrapped with --chat) */
static int prompt_ids(const struct eng_model *m, const struct tok_vocab *v, const struct gen_opts *o,
		      struct tok_ids *ids, struct dk_err *err)
{
	struct dk_buf text = DK_BUF_INIT;
	int rc = 0;

	if (o->chat) {
		struct chat_msg msg = { "user", o->prompt };
		enum chat_tmpl t;

		rc = chat_from_gguf(eng_model_gguf(m), &t, err);
		if (rc == 0)
			rc = chat_render(t, &msg, 1, 1, &text, err);
	} else {
		rc = dk_buf_adds(&text, o->prompt) ? dk_err_set(err, DK_ENOMEM, "out of memory") : 0;
	}
	if (rc == 0)
		rc = tok_encode(v, text.buf, text.len, TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL, ids, err);
	dk_buf_release(&text);
	if (rc == 0 && ids->n == 0)
		rc = dk_err_set(err, DK_EINVAL, "the prompt gives no tokens");
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* decode_run - evaluate ids[0..n) at positions start.., logits for the last */
static int decode_run(struct eng_ctx *c, const int32_t *ids, uint32_t n, uint32_t start,
		      uint32_t n_batch, int32_t *pos, struct dk_err *err)
{
	for (uint32_t off = 0; off < n; off += n_batch) {
		uint32_t k = n - off < n_batch ? n - off : n_batch;
		struct eng_batch b = { k, ids + off, pos, NULL, NULL };
		int rc;

		for (uint32_t i = 0; i < k; i++)
			pos[i] = (int32_t)(start + off + i);
		rc = eng_decode(c, &b, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* generate - the loop: sample, print, feed back */
static int generate(struct eng_model *m, const struct tok_vocab *v, const struct gen_opts *o,
		    struct dk_err *err)
{
	const struct eng_hparams *hp = eng_model_hparams(m);
	struct tok_ids ids = TOK_IDS_INIT;
	struct dk_buf piece = DK_BUF_INIT;
	struct eng_ctx_params cp = { 0, 0, 1, 0 };
	struct eng_ctx *c = NULL;
	struct samp s;
	int32_t *pos = NULL;
	uint32_t n_prompt, n_gen = 0;
	double t0, t1, t2;
	int rc = prompt_ids(m, v, o, &ids, err);

	if (rc)
		return rc;
	n_prompt = (uint32_t)ids.n;
	cp.n_ctx = (uint32_t)(o->ctx ? o->ctx : (long)n_prompt + o->n);
	cp.n_threads = (uint32_t)o->threads;
	cp.n_batch = n_prompt < 512 ? n_prompt : 512;
	if (cp.n_ctx > hp->n_ctx_train)
		fprintf(stderr, "docket generate: warning: context of %u positions exceeds the model's "
			"context_length %u\n", cp.n_ctx, hp->n_ctx_train);
	if (n_prompt + (uint32_t)o->n > cp.n_ctx) {
		rc = dk_err_set(err, DK_EINVAL, "prompt (%u tokens) + %ld does not fit a context of %u",
				n_prompt, o->n, cp.n_ctx);
		goto out;
	}
	pos = malloc(cp.n_batch * sizeof *pos);
	if (pos == NULL) {
		rc = dk_err_set(err, DK_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = samp_init(&s, &o->sp, err)) != 0)
		goto out;
	if ((rc = eng_ctx_new(m, &cp, &c, err)) != 0)
		goto out_samp;
	for (size_t i = 0; i < ids.n; i++)
		samp_accept(&s, ids.v[i]);
	if (!o->chat)
		fputs(o->prompt, stdout);
	fflush(stdout);
	t0 = now();
	rc = decode_run(c, ids.v, n_prompt, 0, cp.n_batch, pos, err);
	t1 = now();
	while (rc == 0 && n_gen < (uint32_t)o->n) {
		const float *lg = eng_logits(c, (n_gen == 0 ? (n_prompt - 1) % cp.n_batch : 0));
		int32_t id = lg ? samp_sample(&s, lg, hp->n_vocab) : -1;

		if (id < 0) {
			rc = dk_err_set(err, DK_ENOMEM, "no logits to sample from");
			break;
		}
		if (tok_is_eog(v, id))
			break;
		samp_accept(&s, id);
		dk_buf_reset(&piece);
		tok_piece(v, id, 0, &piece);
		fwrite(piece.buf, 1, piece.len, stdout);
		fflush(stdout);
		n_gen++;
		if (n_gen < (uint32_t)o->n)
			rc = decode_run(c, &id, 1, n_prompt + n_gen - 1, 1, pos, err);
	}
	t2 = now();
	putchar('\n');
	if (rc == 0)
		fprintf(stderr, "docket generate: prompt %u tokens %.1f t/s, generated %u tokens %.1f t/s\n",
			n_prompt, n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9), n_gen,
			n_gen > 1 ? (n_gen - 1) / (t2 - t1 > 0 ? t2 - t1 : 1e-9) : 0.0);
	eng_ctx_free(c);
out_samp:
	samp_release(&s);
out:
	free(pos);
	dk_buf_release(&piece);
	tok_ids_release(&ids);
	return rc;
}

int cmd_generate(int argc, char **argv)
{
	struct gen_opts o;
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;
	struct tok_vocab *v = NULL;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	if (eng_model_load(o.model, &m, &err) || tok_vocab_from_gguf(eng_model_gguf(m), &v, &err) ||
	    generate(m, v, &o, &err)) {
		fprintf(stderr, "docket generate: %s\n", err.msg);
		tok_vocab_free(v);
		eng_model_free(m);
		return dk_err_sysexit(err.code);
	}
	tok_vocab_free(v);
	eng_model_free(m);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}
