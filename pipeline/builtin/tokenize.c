/*
 * NAME
 *	docket tokenize - text to token ids and back, with a model's tokenizer
 * SUMMARY
 *	docket tokenize --model F [--raw] [--decode]
 * DESCRIPTION
 *	Reads all of stdin as one text and prints its token ids on one line,
 *	separated by spaces. By default the model's BOS/EOS are added and
 *	special-token text such as "<s>" becomes the special token; --raw adds
 *	nothing and treats all text as plain text (the convention of the
 *	oracle's tokenizer test vectors).
 *	--decode reads whitespace-separated ids instead and prints their text
 *	(special tokens rendered as text unless --raw), as llama_detokenize
 *	does, without a final newline.
 * DIAGNOSTICS
 *	One line on stderr; exit status from sysexits.h (EX_DATAERR for an id
 *	that is not a number or not in the vocabulary).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "pipeline/builtin.h"
#include "util/dk_buf.h"

static const char tokenize_usage[] =
	"usage: docket tokenize --model F [--raw] [--decode]\n"
	"  reads all of stdin as one text and prints its token ids on one line\n"
	"  --raw     no BOS/EOS; special-token text is plain text\n"
	"  --decode  read ids on stdin and print their text\n";

/* read_all - all of stdin into b */
static int read_all(struct dk_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (dk_buf_add(b, chunk, n))
			return -1;
	return ferror(stdin) ? -1 : 0;
}

/* parse_ids - whitespace-separated decimal ids */
static int parse_ids(const char *s, struct tok_ids *ids)
{
	while (*s) {
		char *end;
		long v;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == 0)
			break;
		errno = 0;
		v = strtol(s, &end, 10);
		if (end == s || errno || v < 0 || v > INT32_MAX ||
		    (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')) {
			fprintf(stderr, "docket tokenize: '%.*s' is not a token id\n",
				(int)strcspn(s, " \t\r\n"), s);
			return EX_DATAERR;
		}
		if (tok_ids_push(ids, (int32_t)v))
			return EX_OSERR;
		s = end;
	}
	return 0;
}

static int run(const struct tok_vocab *v, const struct dk_buf *in, int raw, int decode)
{
	struct dk_err err = DK_ERR_INIT;
	struct tok_ids ids = TOK_IDS_INIT;
	struct dk_buf out = DK_BUF_INIT;
	int rc;

	if (decode) {
		rc = parse_ids(in->buf, &ids);
		if (rc == 0 && tok_decode(v, ids.v, ids.n, raw ? 0 : TOK_UNPARSE_SPECIAL, &out, &err)) {
			fprintf(stderr, "docket tokenize: %s\n", err.msg);
			rc = dk_err_sysexit(err.code);
		}
		if (rc == 0)
			fwrite(out.buf, 1, out.len, stdout);
	} else {
		rc = tok_encode(v, in->buf, in->len, raw ? 0 : TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL,
				&ids, &err);
		if (rc) {
			fprintf(stderr, "docket tokenize: %s\n", err.msg);
			rc = dk_err_sysexit(err.code);
		}
		for (size_t i = 0; rc == 0 && i < ids.n; i++)
			printf(i ? " %d" : "%d", ids.v[i]);
		if (rc == 0)
			putchar('\n');
	}
	tok_ids_release(&ids);
	dk_buf_release(&out);
	return rc;
}

int cmd_tokenize(int argc, char **argv)
{
	const char *model = NULL;
	int raw = 0, decode = 0, rc;
	struct dk_err err = DK_ERR_INIT;
	struct dk_buf in = DK_BUF_INIT;
	struct gguf *g = NULL;
	struct tok_vocab *v = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(tokenize_usage, stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--raw") == 0) {
			raw = 1;
		} else if (strcmp(argv[i], "--decode") == 0) {
			decode = 1;
		} else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
			model = argv[++i];
		} else {
			fprintf(stderr, "docket tokenize: unknown option '%s'\n%s", argv[i], tokenize_usage);
			return EX_USAGE;
		}
	}
	if (model == NULL) {
		fprintf(stderr, "docket tokenize: --model is required\n%s", tokenize_usage);
		return EX_USAGE;
	}
	if (gguf_open(model, &g, &err) || tok_vocab_from_gguf(g, &v, &err)) {
		fprintf(stderr, "docket tokenize: %s\n", err.msg);
		gguf_free(g);
		return dk_err_sysexit(err.code);
	}
	if (read_all(&in)) {
		fprintf(stderr, "docket tokenize: cannot read stdin: %s\n", strerror(errno));
		rc = EX_IOERR;
	} else {
		rc = run(v, &in, raw, decode);
	}
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "docket tokenize: cannot write stdout: %s\n", strerror(errno));
		rc = EX_IOERR;
	}
	dk_buf_release(&in);
	tok_vocab_free(v);
	gguf_free(g);
	return rc;
}
