/*
 * NAME
 *	logits - docket logits: top-K logits and log-sum-exp at every position
 * SUMMARY
 *	docket logits --model F (--tokens "ID ID ..." | --tokens-file F)
 *		[--top K] [--threads N] [--ubatch N]
 *	Evaluates the tokens as one sequence and prints, for every position,
 *	"pos lse id logit id logit ..." with 6 decimals: the oracle's batched
 *	format (../shared/oracle/README.md). --ubatch N feeds the prompt in
 *	decode calls of N tokens (1 = one token per call, the oracle's
 *	sequential runs); the default is one call.
 * DIAGNOSTICS
 *	One line on stderr; exit status from sysexits.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "engine/engine.h"
#include "pipeline/builtin.h"
#include "util/dk_buf.h"

static const char usage_text[] =
	"usage: docket logits --model F (--tokens \"ID ID ...\" | --tokens-file F)\n"
	"                     [--top K] [--threads N] [--ubatch N]\n";

/* parse_ids - whitespace-separated decimal ids into a growing array */
static int parse_ids(const char *s, int32_t **ids, uint32_t *n)
{
	uint32_t cap = 0;

	*ids = NULL;
	*n = 0;
	for (;;) {
		char *end;
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == 0)
			return 0;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || errno != 0 || v < 0 || v > INT32_MAX)
			return -1;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			int32_t *g = realloc(*ids, cap * sizeof *g);
			if (g == NULL)
				return -1;
			*ids = g;
		}
		(*ids)[(*n)++] = (int32_t)v;
		s = end;
	}
}

/* read_file - the whole file as a string */
static int read_file(const char *path, struct dk_buf *b)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t k;

	if (f == NULL)
		return -1;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (dk_buf_add(b, chunk, k) != 0)
			break;
	int bad = ferror(f);
	fclose(f);
	return bad ? -1 : 0;
}

/* print_rows - one line per position of the last decode (entries lo..hi) */
static void print_rows(const struct eng_ctx *c, uint32_t n_vocab, uint32_t first_pos,
		       uint32_t n, uint32_t top, int32_t *ids)
{
	for (uint32_t i = 0; i < n; i++) {
		const float *l = eng_logits(c, i);
		uint32_t k = eng_top_k(l, n_vocab, top, ids);
		printf("%u %.6f", first_pos + i, eng_logsumexp(l, n_vocab));
		for (uint32_t j = 0; j < k; j++)
			printf(" %d %.6f", ids[j], (double)l[ids[j]]);
		putchar('\n');
	}
}

static int run(const char *model, const int32_t *tok, uint32_t n, uint32_t top,
	       uint32_t threads, uint32_t ubatch)
{
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	int32_t *pos = malloc(n * sizeof *pos), *ids = malloc(top * sizeof *ids);
	int8_t *want = malloc(n);
	int rc;

	if (pos == NULL || ids == NULL || want == NULL) {
		rc = dk_err_set(&err, DK_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = eng_model_load(model, &m, &err)) != 0)
		goto out;
	struct eng_ctx_params cp = { 0 };
	cp.n_ctx = n > eng_model_hparams(m)->n_ctx_train ? n : eng_model_hparams(m)->n_ctx_train;
	cp.n_threads = threads;
	cp.n_batch = ubatch;
	if ((rc = eng_ctx_new(m, &cp, &c, &err)) != 0)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		pos[i] = (int32_t)i;
		want[i] = 1;
	}
	for (uint32_t i0 = 0; i0 < n; i0 += ubatch) {
		struct eng_batch b = { n - i0 < ubatch ? n - i0 : ubatch, tok + i0, pos + i0, NULL, want };
		if ((rc = eng_decode(c, &b, &err)) != 0)
			goto out;
		print_rows(c, eng_model_hparams(m)->n_vocab, i0, b.n, top, ids);
	}
out:
	if (rc != 0)
		fprintf(stderr, "docket logits: %s\n", err.msg);
	eng_ctx_free(c);
	eng_model_free(m);
	free(pos);
	free(ids);
	free(want);
	return rc;
}

/* num_arg - a positive integer option value */
static int num_arg(const char *s, uint32_t *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (*s == 0 || *end != 0 || x < 1 || x > 1 << 20)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int cmd_logits(int argc, char **argv)
{
	const char *model = NULL, *tokens = NULL, *tokens_file = NULL;
	uint32_t top = 16, threads = 1, ubatch = 0, n = 0;
	struct dk_buf file = DK_BUF_INIT;
	int32_t *ids = NULL;
	int rc;

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (v == NULL)
			goto usage;
		if (strcmp(a, "--model") == 0 || strcmp(a, "-m") == 0)
			model = v;
		else if (strcmp(a, "--tokens") == 0)
			tokens = v;
		else if (strcmp(a, "--tokens-file") == 0)
			tokens_file = v;
		else if ((strcmp(a, "--top") != 0 || num_arg(v, &top) != 0) &&
			 ((strcmp(a, "--threads") != 0 && strcmp(a, "-t") != 0) || num_arg(v, &threads) != 0) &&
			 (strcmp(a, "--ubatch") != 0 || num_arg(v, &ubatch) != 0))
			goto usage;
	}
	if (model == NULL || (tokens == NULL) == (tokens_file == NULL))
		goto usage;
	if (tokens_file != NULL && read_file(tokens_file, &file) != 0) {
		fprintf(stderr, "docket logits: cannot read '%s': %s\n", tokens_file, strerror(errno));
		return EX_NOINPUT;
	}
	if (parse_ids(tokens ? tokens : file.buf, &ids, &n) != 0 || n == 0) {
		fprintf(stderr, "docket logits: bad token list: expected whitespace-separated ids\n");
		dk_buf_release(&file);
		free(ids);
		return EX_DATAERR;
	}
	dk_buf_release(&file);
	rc = run(model, ids, n, top, threads, ubatch ? ubatch : n);
	free(ids);
	return rc == 0 ? EX_OK : dk_err_sysexit(rc);
usage:
	fputs(usage_text, stderr);
	return EX_USAGE;
}
