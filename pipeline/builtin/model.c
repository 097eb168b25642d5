/*
 * NAME
 *	model - docket model info F: what a GGUF model file holds
 * SUMMARY
 *	docket model info [--tensors] FILE
 *	Prints file size and sha256, the GGUF header, the architecture and
 *	shapes as the engine reads them, tensor types with counts, and every
 *	metadata key (long arrays abbreviated). --tensors lists each tensor.
 * DIAGNOSTICS
 *	A malformed file gives one line on stderr and EX_DATAERR; a valid GGUF
 *	the engine cannot run (a vocabulary-only file, another architecture)
 *	is described, with "runnable: no (reason)", and exits 0.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "engine/engine.h"
#include "engine/ggml_types.h"
#include "pipeline/builtin.h"

static const char usage_text[] = "usage: docket model info [--tensors] FILE\n";

/* print_str - a counted string, control bytes escaped, at most max bytes */
static void print_str(struct gguf_str s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < s.len && i < max; i++) {
		unsigned char ch = (unsigned char)s.s[i];
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
	if (s.len > max)
		printf("...(%zu bytes)", s.len);
}

/* print_scalar - value of type t at p */
static void print_scalar(uint32_t t, const uint8_t *p)
{
	union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
		float f32; uint64_t u64; int64_t i64; double f64; } v;

	memcpy(&v, p, gguf_vtype_size(t));
	switch (t) {
	case GGUF_VT_U8: printf("%u", v.u8); break;
	case GGUF_VT_I8: printf("%d", v.i8); break;
	case GGUF_VT_U16: printf("%u", v.u16); break;
	case GGUF_VT_I16: printf("%d", v.i16); break;
	case GGUF_VT_U32: printf("%u", v.u32); break;
	case GGUF_VT_I32: printf("%d", v.i32); break;
	case GGUF_VT_F32: printf("%g", (double)v.f32); break;
	case GGUF_VT_BOOL: printf("%s", v.u8 ? "true" : "false"); break;
	case GGUF_VT_U64: printf("%llu", (unsigned long long)v.u64); break;
	case GGUF_VT_I64: printf("%lld", (long long)v.i64); break;
	case GGUF_VT_F64: printf("%g", v.f64); break;
	default: break;
	}
}

static void print_kv(const struct gguf_kv *kv)
{
	printf("  ");
	print_str(kv->key, 200);
	if (kv->type == GGUF_VT_STRING) {
		struct gguf_str s;
		uint64_t len;
		memcpy(&len, kv->val, 8);
		s.s = (const char *)kv->val + 8;
		s.len = (size_t)len;
		printf(" = ");
		print_str(s, 200);
	} else if (kv->type == GGUF_VT_ARRAY) {
		printf(" = [%s x %llu]", gguf_vtype_name(kv->arr_type), (unsigned long long)kv->n);
		for (uint64_t i = 0; i < kv->n && i < 8; i++) {
			putchar(' ');
			if (kv->arr_type == GGUF_VT_STRING)
				print_str(gguf_arr_str(kv, i), 40);
			else
				print_scalar(kv->arr_type, kv->val + i * gguf_vtype_size(kv->arr_type));
		}
		if (kv->n > 8)
			printf(" ...");
	} else {
		printf(" = ");
		print_scalar(kv->type, kv->val);
	}
	putchar('\n');
}

static void print_model(const struct eng_hparams *hp)
{
	static const char *const scaling[] = { "none", "linear", "yarn" };

	printf("architecture: %s\n", hp->arch_name);
	printf("  n_vocab %u, n_embd %u, n_layer %u, n_head %u, n_head_kv %u, head_dim %u, n_ff %u, n_ctx_train %u\n",
	       hp->n_vocab, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_ff,
	       hp->n_ctx_train);
	printf("  rms_eps %g, rope %s n_rot %u base %g (sliding layers %g), scaling %s factor %g%s\n",
	       (double)hp->rms_eps, hp->rope_neox ? "NEOX" : "NORM", hp->n_rot, (double)hp->rope_base,
	       (double)hp->rope_base_swa, scaling[hp->rope_scaling], (double)(1.0f / hp->rope_freq_scale),
	       hp->has_rope_freqs ? ", rope_freqs" : "");
	printf("  sliding window %u, attention softcap %g, final softcap %g, output %s\n", hp->n_swa,
	       (double)hp->attn_softcap, (double)hp->final_softcap,
	       hp->tied_output ? "tied to token_embd" : "separate");
}

static int info(const char *path, int tensors)
{
	struct dk_err err = DK_ERR_INIT;
	struct dk_err why = DK_ERR_INIT;
	const struct gguf *g;
	struct gguf *own = NULL;
	struct eng_model *m = NULL;
	uint64_t counts[GGML_TYPE_COUNT] = { 0 };
	int rc, grc;

	/* inspected, not loaded: the file's own pages, hashed once as mapped;
	 * a file that is no runnable model is opened as a plain GGUF */
	rc = eng_model_inspect(path, &m, &why);
	if (rc == 0) {
		g = eng_model_gguf(m);
	} else if ((grc = gguf_open_mapped(path, &own, &err)) == 0) {
		g = own;
	} else {
		fprintf(stderr, "docket model info: %s\n", err.msg);
		return dk_err_sysexit(grc);
	}
	printf("file: %s\nsize: %zu bytes\nsha256: %s\n", path, g->size, gguf_sha256(g));
	printf("gguf: version %u, %llu tensors, %llu keys, alignment %llu, data at %llu\n", g->version,
	       (unsigned long long)g->n_tensors, (unsigned long long)g->n_kv,
	       (unsigned long long)g->alignment, (unsigned long long)g->data_offset);
	if (rc == 0) {
		print_model(eng_model_hparams(m));
		printf("runnable: yes\n");
	} else {
		printf("runnable: no (%s)\n", why.msg);
	}
	uint64_t total = 0;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		counts[g->tensors[i].type]++;
		total += g->tensors[i].nbytes;
	}
	printf("tensor types:");
	for (int t = 0; t < GGML_TYPE_COUNT; t++)
		if (counts[t])
			printf(" %s x%llu", ggml_type_name((uint32_t)t), (unsigned long long)counts[t]);
	printf(" (%llu bytes of tensor data)\n", (unsigned long long)total);
	if (tensors)
		for (uint64_t i = 0; i < g->n_tensors; i++) {
			const struct gguf_tensor *t = &g->tensors[i];
			printf("  %-40.*s %-5s [%lld, %lld, %lld, %lld] %llu bytes\n", (int)t->name.len, t->name.s,
			       ggml_type_name(t->type), (long long)t->ne[0], (long long)t->ne[1],
			       (long long)t->ne[2], (long long)t->ne[3], (unsigned long long)t->nbytes);
		}
	printf("metadata:\n");
	for (uint64_t i = 0; i < g->n_kv; i++)
		print_kv(&g->kv[i]);
	eng_model_free(m);
	gguf_free(own);
	/* a valid GGUF whose model is malformed (bad shapes) is an error */
	return rc == DK_EFORMAT ? EX_DATAERR : EX_OK;
}

int cmd_model(int argc, char **argv)
{
	int tensors = 0;
	const char *path = NULL;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	if (argc < 3 || strcmp(argv[1], "info") != 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--tensors") == 0)
			tensors = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return EX_OK;
		} else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			goto usage;
	}
	if (path != NULL)
		return info(path, tensors);
usage:
	fputs(usage_text, stderr);
	return EX_USAGE;
}
