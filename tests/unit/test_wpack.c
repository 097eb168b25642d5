/*
 * test_wpack - K-quant weights packed at model load (engine/wpack.c):
 * on a CPU with packed tiles every Q4_K and Q6_K matrix of the oracle's
 * gemma3-Q4_K_M is packed (its tied output with tok_embd), its bytes
 * differ from the file's, and every row still reads back as the file's
 * row (eng_mat_row, eng_mat_dequant_row), tail rows included. Without
 * packed tiles nothing is packed. The forward pass over packed weights is
 * held to the oracle logits by test_oracle and test_determinism. A model
 * only inspected (eng_model_inspect: the file mapped) is never rewritten,
 * and both report the file's SHA-256.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/model.h"
#include "engine/wpack.h"
#include "tests/test.h"

/* check_mat - w against the same tensor of the file as read by g */
static int check_mat(const struct eng_mat *w, const struct gguf *g, const char *name, int want_packed)
{
	const struct gguf_tensor *t = gguf_find_tensor(g, name);
	uint8_t *buf = malloc(w->row_bytes);
	float *a = malloc((size_t)w->n_in * sizeof *a), *b = malloc((size_t)w->n_in * sizeof *b);
	int ok = 1;

	if (t == NULL || buf == NULL || a == NULL || b == NULL) {
		CHECKF(0, "%s: no such tensor, or out of memory", name);
		free(buf), free(a), free(b);
		return 0;
	}
	const uint8_t *file = t->data;
	CHECKF(w->packed == want_packed, "%s: packed %d, want %d", name, w->packed, want_packed);
	if (want_packed)
		CHECKF(memcmp(w->data, file, 16 * w->row_bytes) != 0, "%s: bytes as in the file", name);
	for (int64_t r = 0; r < w->n_out && ok; r += r < 64 ? 1 : 97) {
		ref_dequant_row(w->type, file + (size_t)r * w->row_bytes, a, w->n_in);
		eng_mat_dequant_row(w, r, b);
		ok = memcmp(eng_mat_row(w, r, buf), file + (size_t)r * w->row_bytes, w->row_bytes) == 0 &&
		     memcmp(a, b, (size_t)w->n_in * sizeof *a) == 0;
		CHECKF(ok, "%s: row %lld reads back differently", name, (long long)r);
	}
	free(buf), free(a), free(b);
	return ok;
}

static void test_packed_at_load(void)
{
	const char *sh = test_shared_dir();
	const struct eng_kernels *k = eng_kernels_select(0);
	char path[8192];
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m;
	struct gguf *g;
	int n = 0;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(path, sizeof path, "%s/oracle/models/gemma3-Q4_K_M.gguf", sh);
	REQUIRE(eng_model_load(path, &m, &err) == 0);
	REQUIRE(gguf_open(path, &g, &err) == 0);
	CHECK(m->hp.tied_output && m->output.data == m->tok_embd.data);
	CHECK(m->output.packed == m->tok_embd.packed);
	n += check_mat(&m->tok_embd, g, "token_embd.weight", k->mm_packed[m->tok_embd.type] != NULL);
	for (uint32_t il = 0; il < m->hp.n_layer; il++) {
		const struct eng_layer *L = &m->layers[il];
		const struct eng_mat *v[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
		static const char *const names[] = { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
						      "ffn_up", "ffn_down" };
		for (int i = 0; i < 7; i++) {
			char name[64];
			snprintf(name, sizeof name, "blk.%u.%s.weight", il, names[i]);
			n += check_mat(v[i], g, name, k->mm_packed[v[i]->type] != NULL && v[i]->n_out >= 16);
		}
	}
	printf("wpack: %s, %d matrices read back as the file's rows\n", k->name, n);
	gguf_free(g);
	eng_model_free(m);
}

/* inspect_not_packed - the mapped file's pages stay the file's (wpack.c) */
static void test_inspect_not_packed(void)
{
	const char *sh = test_shared_dir();
	char path[8192];
	struct dk_err err = DK_ERR_INIT;
	struct eng_model *m, *loaded;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(path, sizeof path, "%s/oracle/models/gemma3-Q4_K_M.gguf", sh);
	REQUIRE(eng_model_inspect(path, &m, &err) == 0);
	REQUIRE(eng_model_load(path, &loaded, &err) == 0);
	CHECK(!m->tok_embd.packed && !m->output.packed);
	for (uint32_t il = 0; il < m->hp.n_layer; il++)
		CHECKF(!m->layers[il].w_up.packed && !m->layers[il].w_down.packed, "layer %u packed", il);
	CHECK(strlen(eng_model_sha256(m)) == 64 && strcmp(eng_model_sha256(m), eng_model_sha256(loaded)) == 0);
	eng_model_free(loaded);
	eng_model_free(m);
}

int main(void)
{
	RUN(test_packed_at_load);
	RUN(test_inspect_not_packed);
	return TEST_END();
}
