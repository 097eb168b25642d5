/*
 * test_oracle - every oracle model against llama.cpp's reference numbers
 * (../shared/oracle, README "Suggested tolerances"): for p1, p17, p200 at
 * every position the reference top-16 logits and the log-sum-exp agree
 * within the tolerance of the model's type, the argmax agrees wherever
 * the reference top-1/top-2 margin exceeds that tolerance, and the greedy
 * continuation of p17 matches up to the first step whose reference margin
 * is below the tolerance. Prints the max differences per model and prompt.
 * The production kernels (SIMD where the CPU has it) run every prompt; the
 * scalar reference kernels (engine/ref) run p1 and p17 ("ref" in the
 * output lines). Under the sanitizers (-O1, scalar code several times
 * slower) p200 and the reference runs cover a subset named in the output.
 */
#include <dirent.h>
#include <math.h>

#include "engine/engine.h"
#include "engine/ggml_types.h"
#include "tests/test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_BUILD 1
#else
#define SAN_BUILD 0
#endif

/* the sanitizer build's subset: every architecture once, SIMD-covered types */
static const char *const san_subset[] = {
	"stories260K-F32", "llama-F16", "llama-Q8_0", "llama-Q4_0", "llama-Q4_K_M", "gemma3-Q4_K_M", NULL,
};

static int in_subset(const char *name)
{
	if (!SAN_BUILD)
		return 1;
	for (int i = 0; san_subset[i] != NULL; i++)
		if (strcmp(name, san_subset[i]) == 0)
			return 1;
	return 0;
}

#define TOPN 16
#define MAXPOS 256

struct ref_row {
	double lse;
	int32_t id[TOPN];
	double logit[TOPN];
};

struct tol {
	double logit, lse;
	const char *what;
};

/* tolerance_for - README tolerances by the model's widest weight type */
static struct tol tolerance_for(const struct eng_model *m)
{
	const struct gguf *g = eng_model_gguf(m);
	int quant = 0, half = 0;

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		uint32_t t = g->tensors[i].type;
		if (t == GGML_TYPE_F16 || t == GGML_TYPE_BF16)
			half = 1;
		else if (t != GGML_TYPE_F32)
			quant = 1;
	}
	if (quant)
		return (struct tol){ 0.3, 0.05, "quantized" };
	if (half)
		return (struct tol){ 5e-2, 5e-2, "F16/BF16" };
	return (struct tol){ 2e-2, 2e-2, "F32" };
}

static const char *vocab_of(const char *model)
{
	if (strncmp(model, "phi3", 4) == 0)
		return "phi3";
	if (strncmp(model, "stories260K", 11) == 0)
		return "stories260K";
	if (strstr(model, "realvocab") != NULL)
		return "qwen2";
	return "llama-spm";
}

/* read_ids - whitespace-separated ids */
static int read_ids(const char *path, int32_t *ids, int max)
{
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (n < max && fscanf(f, "%d", &ids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

/* read_ref - "pos lse id logit ..." lines */
static int read_ref(const char *path, struct ref_row *rows, int max)
{
	FILE *f = fopen(path, "r");
	int n = 0, pos;

	if (f == NULL)
		return -1;
	while (n < max && fscanf(f, "%d %lf", &pos, &rows[n].lse) == 2) {
		for (int k = 0; k < TOPN; k++)
			if (fscanf(f, "%d %lf", &rows[n].id[k], &rows[n].logit[k]) != 2)
				return -1;
		if (pos != n)
			return -1;
		n++;
	}
	fclose(f);
	return n;
}

struct model_case {
	const char *dir;	/* oracle dir */
	const char *name;	/* model name without .gguf */
	struct eng_model *m;
	struct tol tol;
};

/* check_prompt - batched run of prompt p against reference/<model>/<p>.batched.txt */
static void check_prompt(struct model_case *mc, const char *p, int ref_kernels)
{
	char path[8192];
	static int32_t ids[MAXPOS], pos[MAXPOS];
	static int8_t want[MAXPOS];
	static struct ref_row ref[MAXPOS];
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c = NULL;
	int n, nr;

	snprintf(path, sizeof path, "%s/reference/prompts/%s.%s.txt", mc->dir, vocab_of(mc->name), p);
	n = read_ids(path, ids, MAXPOS);
	snprintf(path, sizeof path, "%s/reference/%s/%s.batched.txt", mc->dir, mc->name, p);
	nr = read_ref(path, ref, MAXPOS);
	CHECKF(n > 0 && nr == n, "%s %s: cannot read prompt/reference (%d, %d)", mc->name, p, n, nr);
	if (n <= 0 || nr != n)
		return;
	struct eng_ctx_params cp = { 512, 2, 1, (uint32_t)n };
	CHECKF(eng_ctx_new(mc->m, &cp, &c, &err) == 0, "%s: %.200s", mc->name, err.msg);
	if (c == NULL)
		return;
	eng_ctx_use_ref_kernels(c, ref_kernels);
	for (int i = 0; i < n; i++) {
		pos[i] = i;
		want[i] = 1;
	}
	struct eng_batch b = { (uint32_t)n, ids, pos, NULL, want };
	int rc = eng_decode(c, &b, &err);
	CHECKF(rc == 0, "%s: %.200s", mc->name, err.msg);
	uint32_t nv = eng_model_hparams(mc->m)->n_vocab;
	double maxd = 0, maxl = 0;
	int over = 0, arg_checked = 0, arg_bad = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const float *l = eng_logits(c, (uint32_t)i);
		double d = 0;
		for (int k = 0; k < TOPN; k++)
			d = fmax(d, fabs(l[ref[i].id[k]] - ref[i].logit[k]));
		double dl = fabs(eng_logsumexp(l, nv) - ref[i].lse);
		maxd = fmax(maxd, d);
		maxl = fmax(maxl, dl);
		if (d > mc->tol.logit || dl > mc->tol.lse)
			over++;
		if (ref[i].logit[0] - ref[i].logit[1] > mc->tol.logit) {
			int32_t top;
			eng_top_k(l, nv, 1, &top);
			arg_checked++;
			arg_bad += top != ref[i].id[0];
		}
	}
	printf("oracle %-16s %-4s %-4s n=%-3d max|dlogit| %.6f max|dlse| %.6f over-tol %d argmax %d/%d (%s tol %.2g/%.2g)\n",
	       mc->name, p, eng_ctx_kernels(c), n, maxd, maxl, over, arg_checked - arg_bad, arg_checked,
	       mc->tol.what, mc->tol.logit, mc->tol.lse);
	/* README: at p200 a few positions may exceed the tolerance, never by 2x */
	int allowed = strcmp(p, "p200") == 0 ? 3 : 0;
	CHECKF(over <= allowed && maxd <= 2 * mc->tol.logit && maxl <= 2 * mc->tol.lse,
	       "%s %s: %d positions over tolerance, max logit diff %g, max lse diff %g",
	       mc->name, p, over, maxd, maxl);
	CHECKF(arg_bad == 0, "%s %s: argmax differs at %d positions", mc->name, p, arg_bad);
	eng_ctx_free(c);
}

/* check_greedy - p17 then 24 greedy steps, one token per decode */
static void check_greedy(struct model_case *mc)
{
	char path[8192];
	int32_t ids[64], pos;
	struct dk_err err = DK_ERR_INIT;
	struct eng_ctx *c = NULL;
	FILE *f;
	int n;

	snprintf(path, sizeof path, "%s/reference/prompts/%s.p17.txt", mc->dir, vocab_of(mc->name));
	n = read_ids(path, ids, 64);
	snprintf(path, sizeof path, "%s/reference/%s/greedy.txt", mc->dir, mc->name);
	f = fopen(path, "r");
	CHECKF(n == 17 && f != NULL, "%s: cannot read greedy reference", mc->name);
	if (n != 17 || f == NULL) {
		if (f)
			fclose(f);
		return;
	}
	struct eng_ctx_params cp = { 512, 2, 1, 32 };
	CHECKF(eng_ctx_new(mc->m, &cp, &c, &err) == 0, "%s: %.200s", mc->name, err.msg);
	int32_t p[17];
	for (int i = 0; i < 17; i++)
		p[i] = i;
	struct eng_batch b = { 17, ids, p, NULL, NULL };
	int rc = c ? eng_decode(c, &b, &err) : -1;
	CHECKF(rc == 0, "%s: %.200s", mc->name, err.msg);
	int rpos, rtok, steps = 0, compared = 0;
	uint32_t last = 16;	/* batch entry holding the newest logits */
	double rlogit, rmargin, maxd = 0;
	uint32_t nv = eng_model_hparams(mc->m)->n_vocab;
	while (rc == 0 && fscanf(f, "%d %d %lf %lf", &rpos, &rtok, &rlogit, &rmargin) == 4) {
		const float *l = eng_logits(c, last);
		int32_t top;
		steps++;
		if (rmargin < mc->tol.logit)
			break;	/* README: compare up to the first fragile step */
		eng_top_k(l, nv, 1, &top);
		CHECKF(top == rtok, "%s greedy step at pos %d: token %d, reference %d", mc->name, rpos, top, rtok);
		maxd = fmax(maxd, fabs(l[rtok] - rlogit));
		compared++;
		if (top != rtok)
			break;
		pos = rpos;
		struct eng_batch one = { 1, &top, &pos, NULL, NULL };
		last = 0;
		rc = eng_decode(c, &one, &err);
		CHECKF(rc == 0, "%s: %.200s", mc->name, err.msg);
	}
	fclose(f);
	printf("oracle %-16s greedy %d/24 steps compared (stop at first margin < %.2g), max|dlogit| %.6f\n",
	       mc->name, compared, mc->tol.logit, maxd);
	CHECKF(maxd <= mc->tol.logit, "%s greedy: logit diff %g", mc->name, maxd);
	eng_ctx_free(c);
}

static void test_oracle_models(void)
{
	const char *sh = test_shared_dir();
	char dir[4200], mdir[8192], rdir[8192];
	struct dirent **ents;
	int n, models = 0;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(dir, sizeof dir, "%s/oracle", sh);
	snprintf(mdir, sizeof mdir, "%s/models", dir);
	n = scandir(mdir, &ents, NULL, alphasort);
	REQUIRE(n > 0);
	if (SAN_BUILD) {
		printf("oracle: sanitizer build: p200 and reference-kernel runs only for");
		for (int i = 0; san_subset[i] != NULL; i++)
			printf(" %s", san_subset[i]);
		printf(" (the optimised build runs them for every model)\n");
	}
	for (int i = 0; i < n; i++) {
		char name[256];
		size_t len = strlen(ents[i]->d_name);
		struct dk_err err = DK_ERR_INIT;
		if (len > 5 && len < sizeof name && strcmp(ents[i]->d_name + len - 5, ".gguf") == 0) {
			memcpy(name, ents[i]->d_name, len - 5);
			name[len - 5] = 0;
			snprintf(rdir, sizeof rdir, "%s/reference/%s", dir, name);
			if (access(rdir, R_OK) == 0) {
				struct model_case mc = { dir, name, NULL, { 0, 0, "" } };
				snprintf(mdir, sizeof mdir, "%s/models/%s", dir, ents[i]->d_name);
				CHECKF(eng_model_load(mdir, &mc.m, &err) == 0, "%s: %.200s", name, err.msg);
				if (mc.m != NULL) {
					mc.tol = tolerance_for(mc.m);
					check_prompt(&mc, "p1", 0);
					check_prompt(&mc, "p17", 0);
					if (in_subset(name)) {
						check_prompt(&mc, "p200", 0);
						check_prompt(&mc, "p1", 1);
						check_prompt(&mc, "p17", 1);
					}
					check_greedy(&mc);
					eng_model_free(mc.m);
					models++;
				}
			}
		}
		free(ents[i]);
	}
	free(ents);
	CHECKF(models >= 10, "only %d oracle models with reference data", models);
}

int main(void)
{
	RUN(test_oracle_models);
	return TEST_END();
}
