/*
 * NAME
 *	entities - "docket entities": rule-based entities of text on stdin
 * SUMMARY
 *	docket entities [--lang LL] [--pattern REGEX]... [--cue WORD]...
 *	Reads all of stdin as UTF-8 text and prints one JSON array of
 *	entities, one object per line: type, text, value, start, end, method,
 *	confidence. start/end are UTF-8 byte offsets into the input exactly as
 *	read (no newline stripped), and text is exactly that slice.
 * DIAGNOSTICS
 *	Exit 0; EX_USAGE for bad options or a reference pattern that does not
 *	compile; EX_DATAERR for input over the size limit; EX_IOERR if stdin
 *	cannot be read; EX_SOFTWARE if ICU data is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "pipeline/builtin.h"
#include "stages/entities.h"
#include "stages/langid.h"
#include "util/dk_buf.h"
#include "util/dk_err.h"

#define ENTITIES_MAX_INPUT ((size_t)256 << 20)
#define ENTITIES_MAX_OPTS 64

static const char usage_text[] =
	"usage: docket entities [--lang LL] [--pattern REGEX]... [--cue WORD]...\n"
	"\n"
	"Reads UTF-8 text on stdin and prints its rule-based entities (date, email,\n"
	"phone, iban, amount, postal_code, reference) as one JSON array, one object\n"
	"per line, sorted by start:\n"
	"  {\"type\": \"date\", \"text\": \"12. März 2025\", \"value\": \"2025-03-12\",\n"
	"   \"start\": 120, \"end\": 134, \"method\": \"rules\", \"confidence\": 0.99}\n"
	"start/end are UTF-8 byte offsets into stdin; text is exactly that slice.\n"
	"Values: date YYYY-MM-DD, amount \"1250.00 EUR\", iban compact upper case,\n"
	"the text itself for the other types.\n"
	"\n"
	"  --lang LL        ISO 639-1 language of the text (default: detected);\n"
	"                   it breaks month-name ties and enables national ids\n"
	"  --pattern REGEX  extra reference format (ICU regex; group 1 or the match)\n"
	"  --cue WORD       extra cue word after which an identifier is a reference\n"
	"  --config F       accepted for uniformity; entities read nothing from it\n";

static int read_all(FILE *f, struct dk_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (dk_buf_add(b, chunk, n) != 0)
			return DK_ENOMEM;
	return ferror(f) ? DK_EIO : 0;
}

static int print_entities(const struct ent_list *l, const char *text)
{
	struct dk_buf out = DK_BUF_INIT;
	int rc = dk_buf_adds(&out, "[");

	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		rc = dk_buf_adds(&out, i ? ",\n " : "\n ");
		if (rc == 0)
			rc = ent_to_json(&l->v[i], text, &out);
	}
	if (rc == 0)
		rc = dk_buf_adds(&out, l->n ? "\n]\n" : "]\n");
	if (rc == 0 && (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
		rc = DK_EIO;
	dk_buf_release(&out);
	return rc;
}

/*
 * detect_lang - the text's language when --lang did not say; entities are
 * still found without one, so any failure here just leaves it unknown
 */
static void detect_lang(const struct dk_buf *text, char *code, size_t cap)
{
	struct langid *lid = NULL;
	struct langid_result res;
	struct dk_err err = DK_ERR_INIT;

	code[0] = 0;
	if (langid_open(&lid, NULL, NULL, &err) != 0)
		return;
	if (langid_detect(lid, text->buf, text->len, &res, &err) == 0 &&
	    strcmp(res.lang.code, "und") != 0)
		snprintf(code, cap, "%s", res.lang.code);
	langid_free(lid);
}

int cmd_entities(int argc, char **argv)
{
	char detected[12];
	const char *patterns[ENTITIES_MAX_OPTS], *cues[ENTITIES_MAX_OPTS];
	struct ent_config cfg = { NULL, patterns, 0, cues, 0 };
	struct dk_buf text;
	struct ent_list list = ENT_LIST_INIT;
	struct dk_err err = DK_ERR_INIT;
	int rc;

	for (int i = 1; i < argc; i += 2) {	/* every option takes a value */
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (v == NULL || (strcmp(a, "--lang") && strcmp(a, "--pattern") &&
				  strcmp(a, "--cue") && strcmp(a, "--config"))) {
			fprintf(stderr, "docket entities: bad option '%s'\n%s", a, usage_text);
			return EX_USAGE;
		}
		if ((strcmp(a, "--pattern") == 0 && cfg.n_ref_patterns == ENTITIES_MAX_OPTS) ||
		    (strcmp(a, "--cue") == 0 && cfg.n_ref_cues == ENTITIES_MAX_OPTS)) {
			fprintf(stderr, "docket entities: more than %d '%s' options\n",
				ENTITIES_MAX_OPTS, a);
			return EX_USAGE;
		}
		if (strcmp(a, "--lang") == 0)
			cfg.lang = v;
		else if (strcmp(a, "--pattern") == 0)
			patterns[cfg.n_ref_patterns++] = v;
		else if (strcmp(a, "--cue") == 0)
			cues[cfg.n_ref_cues++] = v;
	}
	dk_buf_init(&text, ENTITIES_MAX_INPUT);
	rc = read_all(stdin, &text);
	if (rc) {
		fprintf(stderr, "docket entities: %s\n", rc == DK_ENOMEM ?
			"input is over the 256 MiB limit" : "cannot read standard input");
		dk_buf_release(&text);
		return rc == DK_ENOMEM ? EX_DATAERR : EX_IOERR;
	}
	if (cfg.lang == NULL) {
		detect_lang(&text, detected, sizeof detected);
		cfg.lang = detected[0] ? detected : NULL;
	}
	rc = ent_extract(text.buf, text.len, &cfg, &list, &err);
	if (rc == 0)
		rc = print_entities(&list, text.buf);
	else
		fprintf(stderr, "docket entities: %s\n", err.msg);
	ent_list_release(&list);
	dk_buf_release(&text);
	if (rc == DK_ECONFIG)
		return EX_USAGE;
	if (rc == DK_EIO)
		return EX_IOERR;
	return rc ? EX_SOFTWARE : EX_OK;
}
