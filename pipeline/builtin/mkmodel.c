/*
 * NAME
 *	docket mkmodel - write random-weight GGUF models; convert llama2.c
 * SUMMARY
 *	docket mkmodel (--preset NAME | --arch A) [--dims K=V,...] [--type T]
 *		[--pure] [--vocab VOCAB.gguf] [--seed S] [--threads N]
 *		[--name NAME] -o OUT.gguf
 *	docket mkmodel --from-llama2c MODEL.bin --llama2c-vocab TOK.bin -o OUT.gguf
 *	docket mkmodel --list-presets
 * DESCRIPTION
 *	The front end of engine/mkmodel (fixture and benchmark models) and
 *	engine/llama2c (llama2.c checkpoints such as stories260K). All the
 *	work is in those modules; this file parses options and reports.
 *	Exit status: 0, EX_USAGE for bad options or values, EX_DATAERR for
 *	a bad input file, EX_IOERR / EX_CANTCREAT when writing fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "engine/llama2c.h"
#include "engine/mkmodel.h"
#include "pipeline/builtin.h"

static void usage(FILE *f)
{
	const char *const *p = mkmodel_preset_names();

	fprintf(f,
		"usage: docket mkmodel (--preset NAME | --arch A) [--dims K=V,...] [--type T]\n"
		"                      [--pure] [--vocab VOCAB.gguf] [--seed S] [--threads N]\n"
		"                      [--name NAME] -o OUT.gguf\n"
		"       docket mkmodel --from-llama2c MODEL.bin --llama2c-vocab TOK.bin -o OUT.gguf\n"
		"       docket mkmodel --list-presets\n\n"
		"Write a GGUF model with random weights that llama.cpp and docket load.\n"
		"  --preset NAME   real shapes:");
	for (; *p; p++)
		fprintf(f, " %s", *p);
	fprintf(f, "\n"
		"  --arch A        llama, qwen2, qwen3, gemma3 or phi3 with the oracle's tiny\n"
		"                  shape (n_embd 256, n_ff 768, 4 heads, 2 kv heads, ...)\n"
		"  --dims K=V,...  override: n_embd n_ff n_head n_head_kv head_dim n_layer\n"
		"                  n_ctx n_vocab rope_base rms_eps sliding_window\n"
		"                  rope_scale (linear factor) tied=0|1 rope_freqs=0|1\n"
		"  --type T        F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K\n"
		"                  Q6_K, or llama-quantize's mixtures Q3_K_S Q3_K_M Q3_K_L\n"
		"                  Q4_K_S Q4_K_M Q5_K_S Q5_K_M (default F16). File types\n"
		"                  get llama-quantize's per-tensor choices; Q3_K, Q4_K, Q5_K\n"
		"                  and --pure use one type for every matrix\n"
		"  --vocab F       copy the tokenizer.* keys of a vocab GGUF (n_vocab = its\n"
		"                  size); default: a built-in SentencePiece-style vocab\n"
		"  --seed S        weights are a function of seed, tensor name and row (1)\n"
		"  --threads N     worker threads (2); the output does not depend on it\n"
		"  --from-llama2c  convert a llama2.c checkpoint and tokenizer.bin to an\n"
		"                  F32 GGUF as llama.cpp's convert-llama2c-to-ggml does\n");
}

struct opts {
	const char *preset, *arch, *dims, *out, *l2c, *l2c_vocab;
	struct mkmodel_spec spec;
	int list;
};

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s == 0 || *s == '-')
		return -1;
	*v = strtoull(s, &end, 10);
	return *end == 0 ? 0 : -1;
}

/* parse - options into o; returns -1 after printing the problem */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "preset", required_argument, NULL, 'p' },
		{ "arch", required_argument, NULL, 'a' },
		{ "dims", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 't' },
		{ "pure", no_argument, NULL, 'P' },
		{ "vocab", required_argument, NULL, 'v' },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "from-llama2c", required_argument, NULL, 'L' },
		{ "llama2c-vocab", required_argument, NULL, 'V' },
		{ "list-presets", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->preset = optarg; break;
		case 'a': o->arch = optarg; break;
		case 'd': o->dims = optarg; break;
		case 't': o->spec.type = optarg; break;
		case 'P': o->spec.pure = true; break;
		case 'v': o->spec.vocab = optarg; break;
		case 'n': o->spec.name = optarg; break;
		case 'o': o->out = optarg; break;
		case 'L': o->l2c = optarg; break;
		case 'V': o->l2c_vocab = optarg; break;
		case 'l': o->list = 1; break;
		case 's':
			if (parse_u64(optarg, &o->spec.seed) != 0)
				goto bad;
			break;
		case 'j':
			if (parse_u64(optarg, &v) != 0 || v < 1 || v > 64)
				goto bad;
			o->spec.threads = (int)v;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "docket mkmodel: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "docket mkmodel: bad value '%s' for --%s\n", optarg,
		c == 's' ? "seed" : "threads");
	return -1;
}

/* shape - the dims from --preset or --arch, then --dims */
static int shape(struct opts *o, struct dk_err *err)
{
	int a;

	if ((o->preset == NULL) == (o->arch == NULL))
		return dk_err_set(err, DK_EINVAL, "give exactly one of --preset and --arch");
	if (o->preset != NULL) {
		int rc = mkmodel_preset(o->preset, &o->spec.d, err);

		if (rc != 0)
			return rc;
	} else {
		a = mkmodel_arch_parse(o->arch);
		if (a < 0)
			return dk_err_set(err, DK_EINVAL,
					  "unknown architecture '%s' (llama, qwen2, qwen3, gemma3, phi3)",
					  o->arch);
		mkmodel_arch_defaults((enum mkmodel_arch)a, &o->spec.d);
	}
	return o->dims ? mkmodel_set_dims(&o->spec.d, o->dims, err) : 0;
}

static int exit_code(int rc)
{
	return rc == DK_EINVAL ? EX_USAGE : rc == DK_EIO ? EX_CANTCREAT : dk_err_sysexit(rc);
}

static void report(const char *out, const char *what)
{
	struct stat st;

	if (stat(out, &st) == 0)
		printf("docket mkmodel: wrote '%s' (%s, %.1f MB)\n", out, what,
		       (double)st.st_size / 1e6);
}

/* cmd_mkmodel - the "mkmodel" builtin */
int cmd_mkmodel(int argc, char **argv)
{
	struct opts o = { 0 };
	struct dk_err err = DK_ERR_INIT;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EX_OK;
	}
	o.spec.type = "F16";
	o.spec.seed = 1;
	o.spec.threads = 2;
	if (parse(argc, argv, &o) != 0) {
		usage(stderr);
		return EX_USAGE;
	}
	if (o.list) {
		for (const char *const *p = mkmodel_preset_names(); *p; p++)
			printf("%s\n", *p);
		return EX_OK;
	}
	if (o.out == NULL) {
		fprintf(stderr, "docket mkmodel: no output file (-o OUT.gguf)\n");
		return EX_USAGE;
	}
	if (o.l2c != NULL || o.l2c_vocab != NULL) {
		if (o.l2c == NULL || o.l2c_vocab == NULL) {
			fprintf(stderr, "docket mkmodel: --from-llama2c needs --llama2c-vocab\n");
			return EX_USAGE;
		}
		rc = llama2c_convert(o.l2c, o.l2c_vocab, o.out, &err);
		if (rc == 0)
			report(o.out, "llama F32 from llama2.c");
	} else {
		rc = shape(&o, &err);
		if (rc == 0)
			rc = mkmodel_write(&o.spec, o.out, &err);
		if (rc == 0)
			report(o.out, o.spec.type);
	}
	if (rc != 0) {
		fprintf(stderr, "docket mkmodel: %s\n", err.msg);
		return exit_code(rc);
	}
	return EX_OK;
}
