/* Unit tests for util/: dk_buf invariants and dk_err conventions. */
#include <string.h>
#include <sysexits.h>

#include "tests/test.h"
#include "util/dk_buf.h"
#include "util/dk_err.h"

static void buf_empty_is_printable(void)
{
	struct dk_buf b = DK_BUF_INIT;

	CHECK(b.buf != NULL && b.buf[0] == 0 && b.len == 0);
	dk_buf_release(&b);
	CHECK(b.buf != NULL);
}

static void buf_holds_nul_and_grows(void)
{
	struct dk_buf b = DK_BUF_INIT;

	for (int i = 0; i < 1000; i++)
		REQUIRE(dk_buf_add(&b, "a\0b", 3) == 0);
	CHECK(b.len == 3000);
	CHECK(b.buf[3000] == 0);
	CHECK(b.buf[1] == 0 && b.buf[2] == 'b');
	dk_buf_release(&b);
}

static void buf_cap_refuses_and_keeps(void)
{
	struct dk_buf b;

	dk_buf_init(&b, 10);
	CHECK(dk_buf_adds(&b, "0123456789") == 0);
	CHECK(dk_buf_addch(&b, 'x') == DK_ENOMEM);
	CHECK(b.len == 10 && strcmp(b.buf, "0123456789") == 0);
	dk_buf_release(&b);
}

static void buf_addf_and_detach(void)
{
	struct dk_buf b = DK_BUF_INIT;
	size_t n;
	char *s;

	CHECK(dk_buf_addf(&b, "%d-%s", 42, "x") == 0);
	s = dk_buf_detach(&b, &n);
	CHECK(n == 4 && strcmp(s, "42-x") == 0);
	CHECK(b.len == 0 && b.buf[0] == 0);
	free(s);
}

static void buf_json_escapes(void)
{
	struct dk_buf b = DK_BUF_INIT;

	CHECK(dk_buf_add_json_str(&b, "a\"\\\n\x01", 5) == 0);
	CHECK(strcmp(b.buf, "\"a\\\"\\\\\\n\\u0001\"") == 0);
	dk_buf_release(&b);
}

static void err_set_returns_code(void)
{
	struct dk_err e = DK_ERR_INIT;

	CHECK(dk_err_set(&e, DK_EIO, "cannot open '%s'", "x") == DK_EIO);
	CHECK(strcmp(e.slug, "io_error") == 0);
	CHECK(strcmp(e.msg, "cannot open 'x'") == 0);
	CHECK(dk_err_setx(&e, DK_EFORMAT, "encrypted_pdf", "pdf is encrypted") == DK_EFORMAT);
	CHECK(strcmp(e.slug, "encrypted_pdf") == 0);
	CHECK(dk_err_set(NULL, DK_ENOMEM, "x") == DK_ENOMEM);
	CHECK(dk_err_sysexit(DK_EINVAL) == EX_USAGE);
}

int main(void)
{
	RUN(buf_empty_is_printable);
	RUN(buf_holds_nul_and_grows);
	RUN(buf_cap_refuses_and_keeps);
	RUN(buf_addf_and_detach);
	RUN(buf_json_escapes);
	RUN(err_set_returns_code);
	return TEST_END();
}
