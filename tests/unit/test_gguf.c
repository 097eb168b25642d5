/*
 * test_gguf - the GGUF reader on files built here: a valid v3 and v2 file,
 * then one malformation at a time (each must give one clean error).
 * With ../shared present, every oracle model and vocab file must open.
 */
#include <dirent.h>
#include <stdint.h>

#include <glib.h>


#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "tests/test.h"
#include "util/dk_buf.h"

/* a tiny GGUF writer: enough to build valid and broken files */
static void put(struct dk_buf *b, const void *p, size_t n) { dk_buf_add(b, p, n); }
static void put32(struct dk_buf *b, uint32_t v) { put(b, &v, 4); }
static void put64(struct dk_buf *b, uint64_t v) { put(b, &v, 8); }
static void putstr(struct dk_buf *b, const char *s) { put64(b, strlen(s)); put(b, s, strlen(s)); }

struct spec {
	uint32_t version;
	uint64_t n_tensors_claim;	/* 0 = true count */
	uint64_t n_kv_claim;
	uint32_t alignment;		/* 0 = no general.alignment key */
	uint32_t n_dims;		/* of tensor "b" */
	uint64_t ne0;			/* of tensor "b" */
	uint32_t type_b;
	uint64_t off_b;
	int dup_key;
	uint64_t str_len_claim;		/* 0 = true length of general.name */
};

static const struct spec good = { 3, 0, 0, 0, 2, 32, GGML_TYPE_Q8_0, 32, 0, 0 };

/* build - header with 4 keys (incl. a string array), tensors a (F32 [8]) and b */
static void build(struct dk_buf *b, const struct spec *s)
{
	uint64_t n_kv = 4 + (s->alignment != 0) + (s->dup_key != 0);
	uint32_t align = s->alignment ? s->alignment : 32;

	put(b, "GGUF", 4);
	put32(b, s->version);
	put64(b, s->n_tensors_claim ? s->n_tensors_claim : 2);
	put64(b, s->n_kv_claim ? s->n_kv_claim : n_kv);
	putstr(b, "general.architecture"); put32(b, GGUF_VT_STRING); putstr(b, "llama");
	putstr(b, "general.name"); put32(b, GGUF_VT_STRING);
	put64(b, s->str_len_claim ? s->str_len_claim : 4); put(b, "tiny", 4);
	putstr(b, "llama.block_count"); put32(b, GGUF_VT_U32); put32(b, 2);
	putstr(b, "tokenizer.ggml.tokens"); put32(b, GGUF_VT_ARRAY);
	put32(b, GGUF_VT_STRING); put64(b, 3);
	putstr(b, "<s>"); putstr(b, ""); putstr(b, "hello");
	if (s->alignment) {
		putstr(b, "general.alignment"); put32(b, GGUF_VT_U32); put32(b, s->alignment);
	}
	if (s->dup_key) {
		putstr(b, "llama.block_count"); put32(b, GGUF_VT_U32); put32(b, 3);
	}
	putstr(b, "a"); put32(b, 1); put64(b, 8); put32(b, GGML_TYPE_F32); put64(b, 0);
	putstr(b, "b"); put32(b, s->n_dims);
	for (uint32_t d = 0; d < s->n_dims && d < 8; d++)
		put64(b, d == 0 ? s->ne0 : 1);
	put32(b, s->type_b); put64(b, s->off_b);
	while (b->len % align)
		dk_buf_addch(b, 0);
	for (int i = 0; i < 8; i++) {
		float f = (float)i;
		put(b, &f, 4);
	}
	while (b->len % align)
		dk_buf_addch(b, 0);
	for (int i = 0; i < 34; i++)
		dk_buf_addch(b, i == 0 ? 0 : 0x3c);
}

static int open_spec(const struct spec *s, size_t cut, struct gguf **g, struct dk_err *err)
{
	struct dk_buf b = DK_BUF_INIT;
	int rc;

	build(&b, s);
	/* copy to an exact-size heap block so ASan sees any overread */
	size_t n = cut ? cut : b.len;
	char *mem = malloc(n);
	memcpy(mem, b.buf, n);
	dk_buf_release(&b);
	rc = gguf_open_buffer(mem, n, g, err);
	if (rc != 0)
		free(mem);
	return rc;
}

static void close_spec(struct gguf *g)
{
	void *mem = (void *)g->base;

	gguf_free(g);
	free(mem);
}

static void test_valid(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct gguf *g;
	struct gguf_str s;
	uint32_t u;
	const struct gguf_kv *arr;

	REQUIRE(open_spec(&good, 0, &g, &err) == 0);
	CHECK(g->version == 3 && g->n_kv == 4 && g->n_tensors == 2);
	CHECK(gguf_get_str(g, "general.architecture", &s, &err) == 0 && gguf_str_eq(s, "llama"));
	CHECK(gguf_get_u32(g, "llama.block_count", &u, &err) == 0 && u == 2);
	CHECK(gguf_get_u32(g, "no.such.key", &u, &err) == DK_ENOTFOUND);
	CHECK(gguf_get_u32(g, "general.name", &u, &err) == DK_EFORMAT);
	REQUIRE(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STRING, &arr, &err) == 0);
	CHECK(arr->n == 3 && gguf_str_eq(gguf_arr_str(arr, 2), "hello") &&
	      gguf_arr_str(arr, 1).len == 0);
	const struct gguf_tensor *a = gguf_find_tensor(g, "a"), *t = gguf_find_tensor(g, "b");
	REQUIRE(a != NULL && t != NULL);
	CHECK(a->nbytes == 32 && ((const float *)a->data)[7] == 7.0f);
	CHECK(t->ne[0] == 32 && t->ne[1] == 1 && t->nbytes == 34 && t->n_elem == 32);
	CHECK((const uint8_t *)t->data + t->nbytes == g->base + g->size);
	CHECK(gguf_find_tensor(g, "c") == NULL);
	close_spec(g);

	struct spec v2 = good;
	v2.version = 2;
	v2.alignment = 64;
	v2.off_b = 64;
	REQUIRE(open_spec(&v2, 0, &g, &err) == 0);
	CHECK(g->alignment == 64 && g->data_offset % 64 == 0);
	close_spec(g);
}

/* expect_fail - the spec must be refused with code and a message containing what */
static void expect_fail(const struct spec *s, size_t cut, int code, const char *what)
{
	struct dk_err err = DK_ERR_INIT;
	struct gguf *g = NULL;
	int rc = open_spec(s, cut, &g, &err);

	CHECKF(rc == code && g == NULL, "expected %d for '%s', got %d (%.200s)", code, what, rc, err.msg);
	CHECKF(strstr(err.msg, what) != NULL, "message '%.200s' lacks '%s'", err.msg, what);
	CHECKF(strchr(err.msg, '\n') == NULL, "multi-line message");
}

static void test_malformed(void)
{
	struct spec s;

	s = good; s.version = 1; expect_fail(&s, 0, DK_EUNSUPPORTED, "version 1");
	s = good; s.version = 0x03000000; expect_fail(&s, 0, DK_EUNSUPPORTED, "big-endian");
	s = good; s.n_kv_claim = (uint64_t)1 << 60; expect_fail(&s, 0, DK_EFORMAT, "cannot fit");
	s = good; s.n_tensors_claim = 1000; expect_fail(&s, 0, DK_EFORMAT, "cannot fit");
	s = good; s.n_tensors_claim = 3; expect_fail(&s, 0, DK_EFORMAT, "malformed");
	s = good; s.n_dims = 5; expect_fail(&s, 0, DK_EFORMAT, "dimensions");
	s = good; s.n_dims = 0; expect_fail(&s, 0, DK_EFORMAT, "dimensions");
	s = good; s.ne0 = (uint64_t)1 << 63; expect_fail(&s, 0, DK_EFORMAT, "negative");
	s = good; s.ne0 = (uint64_t)1 << 62; s.n_dims = 1; expect_fail(&s, 0, DK_EFORMAT, "beyond the end");
	s = good; s.ne0 = 33; expect_fail(&s, 0, DK_EFORMAT, "block size");
	s = good; s.type_b = 4; expect_fail(&s, 0, DK_EUNSUPPORTED, "unknown type 4");
	s = good; s.off_b = 16; expect_fail(&s, 0, DK_EFORMAT, "not aligned");
	s = good; s.off_b = 64; expect_fail(&s, 0, DK_EFORMAT, "beyond the end");
	s = good; s.alignment = 24; expect_fail(&s, 0, DK_EFORMAT, "power of two");
	s = good; s.dup_key = 1; expect_fail(&s, 0, DK_EFORMAT, "duplicate key");
	s = good; s.str_len_claim = (uint64_t)-1; expect_fail(&s, 0, DK_EFORMAT, "exceeds");
	expect_fail(&good, 3, DK_EFORMAT, "bad magic");
	expect_fail(&good, 40, DK_EFORMAT, "cannot fit");
	expect_fail(&good, 150, DK_EFORMAT, "exceeds the file size");
}

/* every prefix of a valid file is refused cleanly (ASan checks the reads) */
static void test_truncations(void)
{
	struct dk_buf b = DK_BUF_INIT;
	size_t full;

	build(&b, &good);
	full = b.len;
	dk_buf_release(&b);
	for (size_t cut = 1; cut < full; cut++) {
		struct dk_err err = DK_ERR_INIT;
		struct gguf *g = NULL;
		int rc = open_spec(&good, cut, &g, &err);
		CHECKF(rc != 0 && g == NULL, "prefix of %zu bytes accepted", cut);
		if (g != NULL)
			close_spec(g);
	}
}

static void test_file_errors(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct gguf *g;
	char path[512];
	FILE *f;

	CHECK(gguf_open("/nonexistent/x.gguf", &g, &err) == DK_ENOTFOUND && g == NULL);
	CHECK(gguf_open("/", &g, &err) == DK_EIO);
	snprintf(path, sizeof path, "%s/empty.gguf", test_tmpdir());
	f = fopen(path, "wb");
	REQUIRE(f != NULL);
	fclose(f);
	CHECK(gguf_open(path, &g, &err) == DK_EFORMAT && strstr(err.msg, "empty"));
}

/* write_file - b's bytes into a new file NAME of the test directory, left
 * open for more (NULL: failed); its path in path */
static FILE *write_file(char *path, size_t n, const char *name, const struct dk_buf *b)
{
	FILE *f;

	snprintf(path, n, "%s/%s", test_tmpdir(), name);
	f = fopen(path, "wb");
	if (f != NULL && fwrite(b->buf, 1, b->len, f) != b->len) {
		fclose(f);
		f = NULL;
	}
	return f;
}

/* the file is read into its own resident copy (engine/gguf.c note 6): on a
 * 2 MB boundary, byte for byte the file, read-only, parsed like a buffer */
static void test_resident_copy(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct dk_buf b = DK_BUF_INIT;
	struct gguf *g;
	char path[512];

	build(&b, &good);
	FILE *f = write_file(path, sizeof path, "resident.gguf", &b);
	REQUIRE(f != NULL && fclose(f) == 0);
	REQUIRE(gguf_open(path, &g, &err) == 0);
	CHECK((uintptr_t)g->base % ((uintptr_t)2 << 20) == 0);
	CHECK(g->size == b.len && memcmp(g->base, b.buf, b.len) == 0);
	CHECK(g->mapped >= g->size && g->mapped % ((size_t)2 << 20) == 0);
	const struct gguf_tensor *a = gguf_find_tensor(g, "a");
	CHECK(a != NULL && ((const float *)a->data)[7] == 7.0f);
	gguf_free(g);
	dk_buf_release(&b);
}

/* both opens hash the file's bytes as read (engine/gguf.c note 7): the
 * digest GLib's independent SHA-256 gives, across several 8 MB chunks and
 * a ragged tail; the mapped open is the file's pages, never writable */
static void test_sha256(void)
{
	struct dk_err err = DK_ERR_INIT;
	struct dk_buf b = DK_BUF_INIT;
	struct gguf *g, *m;
	char path[512];
	FILE *f;

	build(&b, &good);
	f = write_file(path, sizeof path, "hashed.gguf", &b);
	REQUIRE(f != NULL);
	/* bytes after the data section are part of the file, so of its hash */
	for (size_t i = 0; i < ((size_t)17 << 20) + 12345; i++)
		REQUIRE(fputc((int)(i * 2654435761u >> 24), f) != EOF);
	REQUIRE(fclose(f) == 0);
	gchar *want = NULL, *text = NULL;
	gsize len = 0;
	REQUIRE(g_file_get_contents(path, &text, &len, NULL));
	want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
	REQUIRE(gguf_open(path, &g, &err) == 0);
	REQUIRE(gguf_open_mapped(path, &m, &err) == 0);
	CHECKF(strcmp(gguf_sha256(g), want) == 0, "resident %s, want %s", gguf_sha256(g), want);
	CHECKF(strcmp(gguf_sha256(m), want) == 0, "mapped %s, want %s", gguf_sha256(m), want);
	CHECK(m->size == len && memcmp(m->base, text, len) == 0);
	CHECK(gguf_set_writable(m, 1) == -1 && gguf_set_writable(g, 1) == 0);
	gguf_free(g);
	gguf_free(m);
	REQUIRE(gguf_open_buffer(b.buf, b.len, &g, &err) == 0);
	CHECK(strcmp(gguf_sha256(g), "") == 0);
	gguf_free(g);
	g_free(want);
	g_free(text);
	dk_buf_release(&b);
}

/* open_dir - every *.gguf in dir must open; returns how many */
static int open_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[8192];
		struct dk_err err = DK_ERR_INIT;
		struct gguf *g;
		if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		CHECKF(gguf_open(path, &g, &err) == 0, "%.100s: %.200s", e->d_name, err.msg);
		gguf_free(g);
		n++;
	}
	closedir(d);
	return n;
}

static void test_oracle_files(void)
{
	const char *sh = test_shared_dir();
	char dir[8192];
	int n;

	if (sh == NULL)
		SKIP("../shared absent");
	snprintf(dir, sizeof dir, "%s/oracle/models", sh);
	n = open_dir(dir);
	snprintf(dir, sizeof dir, "%s/oracle/tokenizers", sh);
	n += open_dir(dir);
	CHECKF(n > 10, "only %d gguf files found", n);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_malformed);
	RUN(test_truncations);
	RUN(test_file_errors);
	RUN(test_resident_copy);
	RUN(test_sha256);
	RUN(test_oracle_files);
	return TEST_END();
}
