/*
 * Unit tests for pipeline/ipc.c: frames over a real socketpair, fields,
 * descriptor passing, the frame cap, malformed payloads, partial reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pipeline/ipc.h"
#include "tests/test.h"

static struct ipc_view view;

static void roundtrip_fields(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	struct dk_err err = DK_ERR_INIT;
	const char *p;
	size_t n;
	char s[64];
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ipc_msg_init(&m, 'X', 0);
	CHECK(ipc_put_str(&m, 'a', "hello") == 0);
	CHECK(ipc_put(&m, 'b', "x\0y", 3) == 0);
	CHECK(ipc_put_i64(&m, 'c', -42) == 0);
	CHECK(ipc_put_str(&m, 'a', "again") == 0);
	ipc_msg_set_type(&m, 'Y');
	CHECK(ipc_send(sv[0], &m, -1, &err) == 0);
	ipc_msg_release(&m);
	ipc_reader_init(&r, 1024);
	REQUIRE(ipc_recv(&r, sv[1], &p, &n, &err) == 0);
	REQUIRE(ipc_parse(p, n, &view, &err) == 0);
	CHECK(view.type == 'Y' && view.n == 4);
	CHECK(strcmp(ipc_get_str(&view, 'a', s, sizeof s), "hello") == 0);
	CHECK(ipc_get(&view, 'b')->len == 3 && memcmp(ipc_get(&view, 'b')->data, "x\0y", 3) == 0);
	CHECK(ipc_get_i64(&view, 'c', 0) == -42);
	CHECK(ipc_get_i64(&view, 'a', 7) == 7);	/* not a number: the default */
	CHECK(ipc_get(&view, 'z') == NULL);
	CHECK(strcmp(ipc_get_str(&view, 'a', s, 3), "he") == 0);	/* truncated copy */
	close(sv[0]);
	CHECK(ipc_recv(&r, sv[1], &p, &n, &err) == DK_ENOTFOUND);
	ipc_reader_release(&r);
	close(sv[1]);
}

static void passes_descriptor(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	struct dk_err err = DK_ERR_INIT;
	const char *p;
	char path[512], buf[16] = "";
	size_t n;
	int sv[2], fd, got;

	snprintf(path, sizeof path, "%s/passed", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0 && write(fd, "payload", 7) == 7);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ipc_msg_init(&m, 'R', 0);
	ipc_put_i64(&m, 's', 1);
	CHECK(ipc_send(sv[0], &m, fd, &err) == 0);
	ipc_msg_release(&m);
	close(fd);
	ipc_reader_init(&r, 64);
	REQUIRE(ipc_recv(&r, sv[1], &p, &n, &err) == 0);
	got = ipc_reader_take_fd(&r);
	REQUIRE(got >= 0);
	CHECK(pread(got, buf, sizeof buf - 1, 0) == 7 && strcmp(buf, "payload") == 0);
	CHECK(ipc_reader_take_fd(&r) == -1);
	close(got);
	ipc_reader_release(&r);
	close(sv[0]);
	close(sv[1]);
}

static void cap_refuses_big_frame(void)
{
	struct ipc_msg m;
	struct ipc_reader r;
	struct dk_err err = DK_ERR_INIT;
	char big[4096];
	const char *p;
	size_t n;
	int sv[2];

	memset(big, 'x', sizeof big);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ipc_msg_init(&m, 'X', 0);
	ipc_put(&m, 't', big, sizeof big);
	CHECK(ipc_send(sv[0], &m, -1, &err) == 0);
	ipc_msg_release(&m);
	ipc_reader_init(&r, 1000);
	CHECK(ipc_recv(&r, sv[1], &p, &n, &err) == DK_EFORMAT);
	CHECK(strstr(err.msg, "refused") != NULL);
	ipc_reader_release(&r);
	/* A message built with a cap refuses to grow past it. */
	ipc_msg_init(&m, 'X', 100);
	CHECK(ipc_put(&m, 't', big, 50) == 0);
	CHECK(ipc_put(&m, 't', big, 50) == DK_ENOMEM);
	ipc_msg_release(&m);
	close(sv[0]);
	close(sv[1]);
}

static void malformed_payloads(void)
{
	struct dk_err err = DK_ERR_INIT;
	/* type, tag, length 10 but only 2 bytes follow */
	static const char overrun[] = { 'X', 'a', 10, 0, 0, 0, 'h', 'i' };
	static const char short_head[] = { 'X', 'a', 1, 0 };
	static const char huge_len[] = { 'X', 'a', (char)0xff, (char)0xff, (char)0xff, (char)0xff };

	CHECK(ipc_parse("", 0, &view, &err) == DK_EFORMAT);
	CHECK(ipc_parse(overrun, sizeof overrun, &view, &err) == DK_EFORMAT);
	CHECK(ipc_parse(short_head, sizeof short_head, &view, &err) == DK_EFORMAT);
	CHECK(ipc_parse(huge_len, sizeof huge_len, &view, &err) == DK_EFORMAT);
	CHECK(ipc_parse("X", 1, &view, &err) == 0 && view.n == 0);
}

static void byte_by_byte(void)
{
	struct ipc_reader r;
	struct dk_err err = DK_ERR_INIT;
	const char *p;
	size_t n;
	int sv[2], got = 0;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	ipc_reader_init(&r, 1024);
	/* Frame the message by hand to dribble it one byte at a time. */
	{
		struct ipc_msg copy;

		ipc_msg_init(&copy, 'A', 0);
		ipc_put_str(&copy, 'o', "new");
		CHECK(ipc_send(sv[0], &copy, -1, &err) == 0);	/* whole frame, to learn its bytes */
		ipc_msg_release(&copy);
	}
	{
		char raw[64];
		ssize_t k = read(sv[1], raw, sizeof raw);

		REQUIRE(k > 5);
		for (ssize_t i = 0; i < k; i++) {
			CHECK(ipc_reader_next(&r, &p, &n, &err) == 0);
			REQUIRE(write(sv[0], raw + i, 1) == 1);
			while (ipc_reader_fill(&r, sv[1], &err) == 0)
				;
		}
		got = ipc_reader_next(&r, &p, &n, &err);
	}
	CHECK(got == 1 && ipc_parse(p, n, &view, &err) == 0 && view.type == 'A');
	CHECK(ipc_reader_next(&r, &p, &n, &err) == 0);
	CHECK(ipc_reader_fill(&r, sv[1], &err) == DK_EAGAIN);
	ipc_reader_release(&r);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	RUN(roundtrip_fields);
	RUN(passes_descriptor);
	RUN(cap_refuses_big_frame);
	RUN(malformed_payloads);
	RUN(byte_by_byte);
	return TEST_END();
}
