/*
 * NAME
 *	langid - language detection from CLD2, n-gram fingerprints and ICU
 * DESIGN NOTES
 *	1. CLD2 is the first opinion: it separates close pairs (sk/cs, hr/sl,
 *	   pt/es) better than rank-order n-gram statistics.
 *	2. CLD2 scores a paragraph full of English product names as English
 *	   even when every grammatical word is Polish or Dutch. So when CLD2
 *	   says "en" and the fingerprints (restricted to expected languages)
 *	   name another language, the function words decide: they are not
 *	   borrowed with the nouns. The function-word lists are the whole-word
 *	   entries ("_do_", "_het_") of libexttextcat's own n-gram models, so
 *	   no word list is typed by hand.
 *	3. A language outside the expected list wins only when CLD2 is reliable
 *	   and near-certain AND the fingerprints' overall first choice is the
 *	   same language. CLD2 calls some Danish "no" at 98%; the fingerprints
 *	   say "da", so Danish stays Danish.
 *	4. Orthography settles close pairs both detectors can miss on a short
 *	   paragraph (hr read as sl, sk as cs): when the pick's alphabet lacks
 *	   a non-ASCII letter of the text ("đ" is not Slovene) and another
 *	   candidate of CLD2 or the fingerprints has every one of them, that
 *	   candidate wins. Alphabets are CLDR's exemplar sets through ICU, not
 *	   typed lists; only expected languages get one. English is never
 *	   overruled: its texts carry foreign names and loanwords ("café")
 *	   with letters its alphabet lacks.
 *	5. Confidence is a monotone blend of CLD2's share of the text and the
 *	   two detectors' agreement; it is a ranking aid, not a probability.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libexttextcat/fingerprint.h>
#include <unicode/uchar.h>
#include <unicode/ulocdata.h>
#include <unicode/uset.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include "stages/langid.h"
#include "stages/langid_cld2.h"

#define FP_NGRAMS 400
#define MAX_FW 32		/* function words kept per language */
#define FW_LEN 24

static const char eu_languages[] =
	"bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv";

struct lang_model {
	char code[12];
	void *fp;			/* libexttextcat fingerprint */
	int expected;
	int n_fw;
	char fw[MAX_FW][FW_LEN];	/* whole words from the model, UTF-8 */
	USet *alphabet;			/* CLDR exemplars, any case; NULL: unknown */
};

struct langid {
	struct lang_model *models;
	int n_models;
	char expected[LANGID_MAX_EXPECTED][12];
	int n_expected;
};

struct ranked {
	int model;
	int dist;
};

static int is_expected(const struct langid *lid, const char *code)
{
	for (int i = 0; i < lid->n_expected; i++)
		if (strcmp(lid->expected[i], code) == 0)
			return 1;
	return 0;
}

static int parse_expected(struct langid *lid, const char *list, struct dk_err *err)
{
	const char *p = list && *list ? list : eu_languages;

	while (*p) {
		size_t n = strcspn(p, ", \t");

		if (n > 0) {
			if (lid->n_expected == LANGID_MAX_EXPECTED || n >= 12)
				return dk_err_set(err, DK_ECONFIG,
						  "too many or too long expected languages in '%s'", p);
			memcpy(lid->expected[lid->n_expected], p, n);
			lid->expected[lid->n_expected][n] = 0;
			lid->n_expected++;
		}
		p += n;
		p += strspn(p, ", \t");
	}
	return 0;
}

/* word_byte - ASCII letter or part of a multi-byte UTF-8 character */
static int word_byte(char ch)
{
	return isalpha((unsigned char)ch) || (ch & 0x80);
}

/* read_function_words - the "_word_" entries of a .lm file */
static void read_function_words(struct lang_model *m, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];

	if (f == NULL)
		return;
	while (m->n_fw < MAX_FW && fgets(line, sizeof line, f)) {
		size_t n = strcspn(line, " \t\n");

		if (n >= 3 && n - 2 < FW_LEN && line[0] == '_' && line[n - 1] == '_' &&
		    memchr(line + 1, '_', n - 2) == NULL && word_byte(line[1])) {
			memcpy(m->fw[m->n_fw], line + 1, n - 2);
			m->fw[m->n_fw][n - 2] = 0;
			m->n_fw++;
		}
	}
	fclose(f);
}

/* alphabet_of - CLDR's standard exemplar letters of code, or NULL (note 4) */
static USet *alphabet_of(const char *code)
{
	UErrorCode ec = U_ZERO_ERROR;
	ULocaleData *ld = ulocdata_open(code, &ec);
	USet *set = NULL;

	if (U_SUCCESS(ec) && ec != U_USING_DEFAULT_WARNING)
		set = ulocdata_getExemplarSet(ld, NULL, USET_CASE_INSENSITIVE, ULOCDATA_ES_STANDARD,
					      &ec);
	ulocdata_close(ld);
	if (set && (U_FAILURE(ec) || ec == U_USING_DEFAULT_WARNING || uset_isEmpty(set))) {
		uset_close(set);
		set = NULL;
	}
	return set;
}

static int load_model(struct langid *lid, const char *dir, const char *file,
		      const char *code, struct dk_err *err)
{
	struct lang_model *m;
	char path[1024];
	void *grown;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	grown = realloc(lid->models, (size_t)(lid->n_models + 1) * sizeof *lid->models);
	if (grown == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory loading language models");
	lid->models = grown;
	m = &lid->models[lid->n_models];
	memset(m, 0, sizeof *m);
	snprintf(m->code, sizeof m->code, "%s", code);
	m->fp = fp_Init(code);
	if (m->fp == NULL || fp_Read(m->fp, path, FP_NGRAMS) == 0) {
		if (m->fp)
			fp_Done(m->fp);
		return dk_err_set(err, DK_ENOTFOUND, "cannot read language model '%s'", path);
	}
	m->expected = is_expected(lid, code);
	m->alphabet = m->expected ? alphabet_of(code) : NULL;
	read_function_words(m, path);
	lid->n_models++;
	return 0;
}

/* load_models - every model listed in fpdb.conf, keyed by its bare language code */
static int load_models(struct langid *lid, const char *dir, struct dk_err *err)
{
	char path[1024], line[512], file[256], tag[64], code[12];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof path, "%s/fpdb.conf", dir);
	if ((f = fopen(path, "r")) == NULL)
		return dk_err_set(err, DK_ENOTFOUND, "cannot open '%s'", path);
	while (rc == 0 && fgets(line, sizeof line, f)) {
		size_t n;

		if (line[0] == '#' || sscanf(line, "%255s %63s", file, tag) != 2)
			continue;
		n = strcspn(tag, "-");
		if (n == 0 || n >= sizeof code)
			continue;
		memcpy(code, tag, n);
		code[n] = 0;
		rc = load_model(lid, dir, file, code, err);
	}
	fclose(f);
	for (int i = 0; rc == 0 && i < lid->n_expected; i++) {
		int found = 0;

		for (int j = 0; j < lid->n_models; j++)
			found |= strcmp(lid->models[j].code, lid->expected[i]) == 0;
		if (!found)
			rc = dk_err_set(err, DK_ECONFIG, "no language model for expected language '%s'",
					lid->expected[i]);
	}
	return rc;
}

/* langid_open - load detector data */
int langid_open(struct langid **out, const char *expected, const char *datadir,
		struct dk_err *err)
{
	struct langid *lid = calloc(1, sizeof *lid);
	int rc;

	*out = NULL;
	if (lid == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	rc = parse_expected(lid, expected, err);
	if (rc == 0)
		rc = load_models(lid, datadir ? datadir : "/usr/share/libexttextcat", err);
	if (rc) {
		langid_free(lid);
		return rc;
	}
	*out = lid;
	return 0;
}

/* langid_free - release everything langid_open() loaded */
void langid_free(struct langid *lid)
{
	if (lid == NULL)
		return;
	for (int i = 0; i < lid->n_models; i++) {
		fp_Done(lid->models[i].fp);
		if (lid->models[i].alphabet)
			uset_close(lid->models[i].alphabet);
	}
	free(lid->models);
	free(lid);
}

/* dominant_script - ICU script with the most letters; returns the letter count */
static size_t dominant_script(const char *text, size_t len, char *name, size_t size)
{
	size_t counts[USCRIPT_CODE_LIMIT] = { 0 }, letters = 0;
	int best = USCRIPT_COMMON;
	int32_t i = 0, n = len > INT32_MAX ? INT32_MAX : (int32_t)len;

	while (i < n) {
		UChar32 c;
		UErrorCode ec = U_ZERO_ERROR;
		UScriptCode sc;

		U8_NEXT(text, i, n, c);
		if (c < 0 || !u_isalpha(c))
			continue;
		sc = uscript_getScript(c, &ec);
		if (U_FAILURE(ec) || sc < 0 || sc >= USCRIPT_CODE_LIMIT)
			continue;
		counts[sc]++;
		letters++;
		if (counts[sc] > counts[best] || best == USCRIPT_COMMON)
			best = sc;
	}
	snprintf(name, size, "%s", letters ? uscript_getName((UScriptCode)best) : "Unknown");
	return letters;
}

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->dist != y->dist ? (x->dist < y->dist ? -1 : 1) : x->model - y->model;
}

/* rank_fingerprints - all models by n-gram distance to the text, nearest first */
static int rank_fingerprints(struct langid *lid, const char *text, size_t len,
			     struct ranked *out)
{
	void *unknown = fp_Init("unknown");
	size_t n = len > 1u << 20 ? 1u << 20 : len;	/* a MiB of text decides */

	if (unknown == NULL)
		return DK_ENOMEM;
	if (fp_Create(unknown, text, (uint4)n, FP_NGRAMS) == 0) {
		fp_Done(unknown);
		return DK_EINVAL;
	}
	for (int i = 0; i < lid->n_models; i++) {
		out[i].model = i;
		out[i].dist = fp_Compare(lid->models[i].fp, unknown, INT_MAX);
	}
	fp_Done(unknown);
	qsort(out, (size_t)lid->n_models, sizeof *out, cmp_ranked);
	return 0;
}

static const struct lang_model *model_of(const struct langid *lid, const char *code)
{
	for (int i = 0; i < lid->n_models; i++)
		if (strcmp(lid->models[i].code, code) == 0)
			return &lid->models[i];
	return NULL;
}

/* function_word_hits - how many words of the text are function words of code */
static int function_word_hits(const struct langid *lid, const char *code,
			      const char *text, size_t len)
{
	const struct lang_model *m = model_of(lid, code);
	char word[FW_LEN];
	size_t i = 0;
	int hits = 0;

	if (m == NULL)
		return 0;
	while (i < len) {
		size_t start, wlen;
		int32_t j, n;
		UChar32 c;

		while (i < len && !word_byte(text[i]))
			i++;
		start = i;
		while (i < len && word_byte(text[i]))
			i++;
		wlen = 0;
		n = (int32_t)(i - start);
		for (j = 0; j < n && wlen + 4 < sizeof word;) {
			int32_t k = 0;
			uint8_t buf[4];
			UBool bad = 0;

			U8_NEXT(text + start, j, n, c);
			if (c < 0)
				break;
			U8_APPEND(buf, k, 4, u_tolower(c), bad);
			if (bad)
				break;
			memcpy(word + wlen, buf, (size_t)k);
			wlen += (size_t)k;
		}
		if (wlen == 0 || j < n)
			continue;
		word[wlen] = 0;
		for (int w = 0; w < m->n_fw; w++)
			hits += strcmp(m->fw[w], word) == 0;
	}
	return hits;
}

/*
 * foreign_letters - non-ASCII letters outside code's alphabet in words that
 * start in lower case (a capital may start a quoted name: "Đurić" in a
 * Slovene letter); -1: unknown
 */
static int foreign_letters(const struct langid *lid, const char *code, const char *text,
			   size_t len)
{
	const struct lang_model *m = model_of(lid, code);
	int32_t i = 0, n = len > INT32_MAX ? INT32_MAX : (int32_t)len;
	int foreign = 0, in_word = 0, common = 0;

	if (m == NULL || m->alphabet == NULL)
		return -1;
	while (i < n) {
		UChar32 c;

		U8_NEXT(text, i, n, c);
		if (c < 0 || !u_isalpha(c)) {
			in_word = 0;
			continue;
		}
		if (!in_word)
			common = u_islower(c);
		in_word = 1;
		foreign += common && c > 0x7f && !uset_contains(m->alphabet, c);
	}
	return foreign;
}

/* by_alphabet - note 4: a candidate whose alphabet has all the letters */
static const char *by_alphabet(const struct langid *lid, const struct langid_cld2_out *c,
			       const struct ranked *rank, const char *pick, const char *text,
			       size_t len)
{
	const char *cand[6];
	int n = 0;

	if (strcmp(pick, "en") == 0 || foreign_letters(lid, pick, text, len) <= 0)
		return pick;
	for (int i = 0; i < 3; i++)
		if (c->top[i].percent > 0)
			cand[n++] = c->top[i].code;
	for (int i = 0, k = 0; i < lid->n_models && k < 3; i++)
		if (lid->models[rank[i].model].expected) {
			cand[n++] = lid->models[rank[i].model].code;
			k++;
		}
	for (int i = 0; i < n; i++)
		if (is_expected(lid, cand[i]) && strcmp(cand[i], pick) != 0 &&
		    foreign_letters(lid, cand[i], text, len) == 0)
			return cand[i];
	return pick;
}

static void set_guess(struct langid_guess *g, const char *code, double conf)
{
	snprintf(g->code, sizeof g->code, "%s", code);
	g->confidence = conf < 0 ? 0 : conf > 1 ? 1 : conf;
}

/* choose - the decision of DESIGN NOTES 1-3; NULL when nothing can be said */
static const char *choose(struct langid *lid, const struct langid_cld2_out *c,
			  const struct ranked *rank, const char *text, size_t len)
{
	const char *tc_expected = NULL, *pick = NULL;

	for (int i = 0; i < lid->n_models && tc_expected == NULL; i++)
		if (lid->models[rank[i].model].expected)
			tc_expected = lid->models[rank[i].model].code;
	if (strcmp(c->top[0].code, "un") != 0 && !is_expected(lid, c->top[0].code)) {
		if (c->reliable && c->top[0].percent >= 95 &&
		    strcmp(lid->models[rank[0].model].code, c->top[0].code) == 0)
			return c->top[0].code;
	}
	for (int i = 0; i < 3 && pick == NULL; i++)
		if (c->top[i].percent > 0 && is_expected(lid, c->top[i].code))
			pick = c->top[i].code;
	if (pick == NULL)
		return tc_expected;
	if (strcmp(pick, "en") == 0 && tc_expected && strcmp(tc_expected, "en") != 0 &&
	    function_word_hits(lid, tc_expected, text, len) >
	    function_word_hits(lid, "en", text, len))
		return tc_expected;
	return pick;
}

static int cld2_percent(const struct langid_cld2_out *c, const char *code)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(c->top[i].code, code) == 0)
			return c->top[i].percent;
	return 0;
}

/* langid_detect - detect the language of text[0..len) */
int langid_detect(struct langid *lid, const char *text, size_t len,
		  struct langid_result *res, struct dk_err *err)
{
	struct langid_cld2_out c;
	struct ranked *rank;
	const char *pick;
	size_t letters;
	double base, conf;
	int agree, rc;

	memset(res, 0, sizeof *res);
	set_guess(&res->lang, "und", 0);
	if (len > INT_MAX)
		len = INT_MAX;
	if (langid_cld2_detect(text, (int)len, &c) != 0)
		return dk_err_setx(err, DK_EINVAL, "bad_encoding",
				   "text is not valid UTF-8 at byte %d", c.valid_prefix);
	letters = dominant_script(text, len, res->script, sizeof res->script);
	if (letters < 3)
		return 0;
	if ((rank = calloc((size_t)lid->n_models, sizeof *rank)) == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	rc = rank_fingerprints(lid, text, len, rank);
	pick = rc == 0 ? choose(lid, &c, rank, text, len) : NULL;
	if (pick && is_expected(lid, pick))
		pick = by_alphabet(lid, &c, rank, pick, text, len);
	if (pick == NULL) {
		free(rank);
		return rc == DK_ENOMEM ? dk_err_set(err, rc, "out of memory") : 0;
	}
	agree = 0;
	for (int i = 0; i < lid->n_models && !agree; i++)
		if (lid->models[rank[i].model].expected || !is_expected(lid, pick)) {
			agree = strcmp(lid->models[rank[i].model].code, pick) == 0;
			break;
		}
	free(rank);
	base = cld2_percent(&c, pick) / 100.0;
	conf = agree ? 0.6 + 0.4 * base : 0.3 + 0.4 * base;
	if (!c.reliable)
		conf *= 0.8;
	if (letters < 40)
		conf *= 0.8;
	set_guess(&res->lang, pick, conf);
	for (int i = 0; i < 3 && res->n_others < LANGID_MAX_OTHERS; i++)
		if (c.top[i].percent >= 10 && strcmp(c.top[i].code, pick) != 0 &&
		    is_expected(lid, c.top[i].code))
			set_guess(&res->others[res->n_others++], c.top[i].code,
				  c.top[i].percent / 100.0);
	return 0;
}
