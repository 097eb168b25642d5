/*
 * test_gguf_write - the GGUF writer, read back with the engine's reader:
 * every metadata value type (scalars and arrays), tensor infos, alignment
 * padding (default and general.alignment), tensor bytes, the file size,
 * and the refusals (duplicates, short or long data, calls out of order)
 * that leave no file behind.
 */
#include <stdint.h>
#include <sys/stat.h>

#include "engine/ggml_types.h"
#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "tests/test.h"

static const char *tmp_path(const char *name)
{
	static char p[512];

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	return p;
}

static int scalar_eq(const struct gguf *g, const char *key, uint32_t type,
		     const void *v, size_t n)
{
	const struct gguf_kv *kv = gguf_find_key(g, key);

	return kv != NULL && kv->type == type && memcmp(kv->val, v, n) == 0;
}

/* write_all_types - one key of every scalar type, every array kind */
static int write_all_types(struct gguf_writer *w, struct dk_err *e)
{
	static const int16_t i16s[] = { -3, 0, 32767 };
	static const double f64s[] = { 1.5, -2.25 };
	static const uint8_t bools[] = { 1, 0, 1, 1 };
	static const char *const strs[] = { "a", "", "x\0y", "\xe2\x96\x81word" };
	static const size_t lens[] = { 1, 0, 3, 7 };
	int rc = 0;

	rc |= gguf_writer_set_u8(w, "t.u8", 200, e);
	rc |= gguf_writer_set_i8(w, "t.i8", -100, e);
	rc |= gguf_writer_set_u16(w, "t.u16", 65000, e);
	rc |= gguf_writer_set_i16(w, "t.i16", -30000, e);
	rc |= gguf_writer_set_u32(w, "t.u32", 4000000000u, e);
	rc |= gguf_writer_set_i32(w, "t.i32", -2000000000, e);
	rc |= gguf_writer_set_u64(w, "t.u64", UINT64_MAX - 1, e);
	rc |= gguf_writer_set_i64(w, "t.i64", INT64_MIN + 1, e);
	rc |= gguf_writer_set_f32(w, "t.f32", 0.125f, e);
	rc |= gguf_writer_set_f64(w, "t.f64", -1e300, e);
	rc |= gguf_writer_set_bool(w, "t.bool", true, e);
	rc |= gguf_writer_set_str(w, "t.str", "hi\0there", 8, e);
	rc |= gguf_writer_set_arr(w, "t.arr_i16", GGUF_VT_I16, i16s, 3, e);
	rc |= gguf_writer_set_arr(w, "t.arr_f64", GGUF_VT_F64, f64s, 2, e);
	rc |= gguf_writer_set_arr(w, "t.arr_bool", GGUF_VT_BOOL, bools, 4, e);
	rc |= gguf_writer_set_arr(w, "t.arr_empty", GGUF_VT_U32, NULL, 0, e);
	rc |= gguf_writer_set_arr_str(w, "t.arr_str", strs, lens, 4, e);
	return rc;
}

static void check_all_types(const struct gguf *g)
{
	uint8_t u8 = 200;
	int8_t i8 = -100;
	uint16_t u16 = 65000;
	int16_t i16 = -30000;
	uint32_t u32 = 4000000000u;
	int32_t i32 = -2000000000;
	uint64_t u64 = UINT64_MAX - 1;
	int64_t i64 = INT64_MIN + 1;
	float f32 = 0.125f;
	double f64 = -1e300;
	const struct gguf_kv *kv;
	struct gguf_str s;

	CHECK(scalar_eq(g, "t.u8", GGUF_VT_U8, &u8, 1));
	CHECK(scalar_eq(g, "t.i8", GGUF_VT_I8, &i8, 1));
	CHECK(scalar_eq(g, "t.u16", GGUF_VT_U16, &u16, 2));
	CHECK(scalar_eq(g, "t.i16", GGUF_VT_I16, &i16, 2));
	CHECK(scalar_eq(g, "t.u32", GGUF_VT_U32, &u32, 4));
	CHECK(scalar_eq(g, "t.i32", GGUF_VT_I32, &i32, 4));
	CHECK(scalar_eq(g, "t.u64", GGUF_VT_U64, &u64, 8));
	CHECK(scalar_eq(g, "t.i64", GGUF_VT_I64, &i64, 8));
	CHECK(scalar_eq(g, "t.f32", GGUF_VT_F32, &f32, 4));
	CHECK(scalar_eq(g, "t.f64", GGUF_VT_F64, &f64, 8));
	kv = gguf_find_key(g, "t.bool");
	CHECK(kv != NULL && kv->type == GGUF_VT_BOOL && kv->val[0] == 1);
	CHECK(gguf_get_str(g, "t.str", &s, NULL) == 0 && s.len == 8 &&
	      memcmp(s.s, "hi\0there", 8) == 0);
	CHECK(gguf_get_arr(g, "t.arr_i16", GGUF_VT_I16, &kv, NULL) == 0 && kv->n == 3 &&
	      gguf_arr_int(kv, 0) == -3 && gguf_arr_int(kv, 2) == 32767);
	CHECK(gguf_get_arr(g, "t.arr_f64", GGUF_VT_F64, &kv, NULL) == 0 && kv->n == 2 &&
	      memcmp(kv->val + 8, &(double){ -2.25 }, 8) == 0);
	CHECK(gguf_get_arr(g, "t.arr_bool", GGUF_VT_BOOL, &kv, NULL) == 0 && kv->n == 4 &&
	      kv->val[0] == 1 && kv->val[1] == 0 && kv->val[3] == 1);
	CHECK(gguf_get_arr(g, "t.arr_empty", GGUF_VT_U32, &kv, NULL) == 0 && kv->n == 0);
	REQUIRE(gguf_get_arr(g, "t.arr_str", GGUF_VT_STRING, &kv, NULL) == 0 && kv->n == 4);
	s = gguf_arr_str(kv, 1);
	CHECK(s.len == 0);
	s = gguf_arr_str(kv, 2);
	CHECK(s.len == 3 && memcmp(s.s, "x\0y", 3) == 0);
	CHECK(gguf_str_eq(gguf_arr_str(kv, 3), "\xe2\x96\x81word"));
}

/* three tensors whose sizes are not multiples of the alignment */
static const uint64_t ne_a[1] = { 3 };		/* F32: 12 bytes */
static const uint64_t ne_b[2] = { 32, 3 };	/* Q8_0: 3 blocks, 102 bytes */
static const uint64_t ne_c[2] = { 5, 7 };	/* F16: 70 bytes */

static int add_tensors(struct gguf_writer *w, struct dk_err *e)
{
	int rc = gguf_writer_add_tensor(w, "a", 1, ne_a, GGML_TYPE_F32, 12, e);

	if (rc == 0)
		rc = gguf_writer_add_tensor(w, "blk.0.b", 2, ne_b, GGML_TYPE_Q8_0, 102, e);
	if (rc == 0)
		rc = gguf_writer_add_tensor(w, "c", 2, ne_c, GGML_TYPE_F16, 70, e);
	return rc;
}

/* write_data - tensor bytes i*7+k, streamed in uneven pieces across tensor boundaries */
static int write_data(struct gguf_writer *w, struct dk_err *e)
{
	unsigned char all[12 + 102 + 70];
	size_t off = 0, piece = 1;
	int rc = 0;

	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)(i * 7 + 1);
	while (off < sizeof all && rc == 0) {
		size_t k = piece < sizeof all - off ? piece : sizeof all - off;

		rc = gguf_writer_write(w, all + off, k, e);
		off += k;
		piece = piece * 3 + 1;
	}
	return rc;
}

static void check_tensor(const struct gguf *g, const char *name, uint64_t off_in_stream,
			 uint64_t nbytes, uint32_t type)
{
	const struct gguf_tensor *t = gguf_find_tensor(g, name);
	const unsigned char *p;

	REQUIRE(t != NULL);
	CHECKF(t->type == type && t->nbytes == nbytes, "tensor %s type/size", name);
	CHECKF(t->offset % g->alignment == 0, "tensor %s offset %llu not aligned", name,
	       (unsigned long long)t->offset);
	p = t->data;
	for (uint64_t i = 0; i < nbytes; i++)
		if (p[i] != (unsigned char)((off_in_stream + i) * 7 + 1)) {
			CHECKF(0, "tensor %s byte %llu differs", name, (unsigned long long)i);
			break;
		}
}

static uint64_t up(uint64_t n, uint64_t a)
{
	return (n + a - 1) / a * a;
}

static void round_trip(uint32_t alignment)
{
	struct dk_err e = DK_ERR_INIT;
	struct gguf_writer *w = NULL;
	struct gguf *g = NULL;
	const char *path = tmp_path(alignment == 32 ? "rt32.gguf" : "rt64.gguf");
	struct stat st;
	uint64_t data_off;

	REQUIRE(gguf_writer_new(&w, alignment, &e) == 0);
	CHECKF(write_all_types(w, &e) == 0, "%.200s", e.msg);
	CHECKF(add_tensors(w, &e) == 0, "%.200s", e.msg);
	CHECKF(gguf_writer_begin(w, path, &e) == 0, "%.200s", e.msg);
	data_off = gguf_writer_data_offset(w);
	CHECKF(write_data(w, &e) == 0, "%.200s", e.msg);
	CHECKF(gguf_writer_commit(w, &e) == 0, "%.200s", e.msg);
	gguf_writer_free(w);
	REQUIRE(!test_failed_now);
	REQUIRE(gguf_open(path, &g, &e) == 0);
	CHECK(g->version == 3 && g->n_tensors == 3);
	CHECK(g->alignment == alignment && g->data_offset == data_off);
	CHECK(data_off % alignment == 0);
	CHECK((gguf_find_key(g, "general.alignment") != NULL) == (alignment != 32));
	check_all_types(g);
	check_tensor(g, "a", 0, 12, GGML_TYPE_F32);
	check_tensor(g, "blk.0.b", 12, 102, GGML_TYPE_Q8_0);
	check_tensor(g, "c", 114, 70, GGML_TYPE_F16);
	CHECK(gguf_find_tensor(g, "c")->ne[0] == 5 && gguf_find_tensor(g, "c")->ne[1] == 7);
	/* every tensor, the last included, is padded to the alignment */
	CHECK(stat(path, &st) == 0);
	CHECK((uint64_t)st.st_size == data_off + up(12, alignment) + up(102, alignment) +
	      up(70, alignment));
	gguf_free(g);
}

static void writes_every_type_default_alignment(void)
{
	round_trip(32);
}

static void writes_general_alignment(void)
{
	round_trip(64);
}

static int exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int tmp_exists(const char *path)
{
	char t[600];

	snprintf(t, sizeof t, "%s.tmp.%ld", path, (long)getpid());
	return exists(t);
}

static void refuses_duplicates_and_bad_shapes(void)
{
	struct dk_err e = DK_ERR_INIT;
	struct gguf_writer *w = NULL;
	uint64_t ne[2] = { 4, 0 };

	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_set_u32(w, "k", 1, &e) == 0);
	CHECK(gguf_writer_set_u32(w, "k", 2, &e) == DK_EINVAL);
	CHECK(strstr(e.msg, "duplicate") != NULL);
	/* a failed writer refuses everything after */
	CHECK(gguf_writer_set_u32(w, "other", 2, &e) == DK_EINVAL);
	gguf_writer_free(w);

	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_add_tensor(w, "t", 2, ne, GGML_TYPE_F32, 0, &e) == DK_EINVAL);
	gguf_writer_free(w);
	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_set_u32(w, "general.alignment", 64, &e) == DK_EINVAL);
	gguf_writer_free(w);
	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	ne[1] = 1;
	CHECK(gguf_writer_add_tensor(w, "t", 2, ne, GGML_TYPE_F32, 16, &e) == 0);
	CHECK(gguf_writer_add_tensor(w, "t", 1, ne, GGML_TYPE_F32, 16, &e) == DK_EINVAL);
	gguf_writer_free(w);
	CHECK(gguf_writer_new(&w, 48, &e) == DK_EINVAL && w == NULL);
}

static void short_data_leaves_no_file(void)
{
	struct dk_err e = DK_ERR_INIT;
	struct gguf_writer *w = NULL;
	const char *path = tmp_path("short.gguf");
	uint64_t ne[1] = { 4 };
	float x[4] = { 1, 2, 3, 4 };

	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_add_tensor(w, "t", 1, ne, GGML_TYPE_F32, 16, &e) == 0);
	CHECK(gguf_writer_begin(w, path, &e) == 0);
	CHECK(tmp_exists(path) && !exists(path));
	CHECK(gguf_writer_write(w, x, 8, &e) == 0);
	CHECK(gguf_writer_commit(w, &e) == DK_EINVAL);
	CHECK(strstr(e.msg, "short of data") != NULL);
	gguf_writer_free(w);
	CHECK(!tmp_exists(path) && !exists(path));

	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_add_tensor(w, "t", 1, ne, GGML_TYPE_F32, 16, &e) == 0);
	CHECK(gguf_writer_begin(w, path, &e) == 0);
	CHECK(gguf_writer_write(w, x, 16, &e) == 0);
	CHECK(gguf_writer_write(w, x, 1, &e) == DK_EINVAL);
	CHECK(gguf_writer_set_u32(w, "late", 1, &e) == DK_EINVAL);
	gguf_writer_free(w);
	CHECK(!tmp_exists(path) && !exists(path));
}

static void unwritable_directory_fails_cleanly(void)
{
	struct dk_err e = DK_ERR_INIT;
	struct gguf_writer *w = NULL;

	REQUIRE(gguf_writer_new(&w, 32, &e) == 0);
	CHECK(gguf_writer_begin(w, "/nonexistent-dir/x.gguf", &e) == DK_EIO);
	CHECK(strstr(e.msg, "cannot create") != NULL);
	gguf_writer_free(w);
}

int main(void)
{
	RUN(writes_every_type_default_alignment);
	RUN(writes_general_alignment);
	RUN(refuses_duplicates_and_bad_shapes);
	RUN(short_data_leaves_no_file);
	RUN(unwritable_directory_fails_cleanly);
	return TEST_END();
}
