/*
 * Unit tests for pipeline/sbx.c and pipeline/worker.c, with real
 * processes: the sandbox refuses network sockets, exec and file writes;
 * the worker skeleton serves requests, retires after max_uses, reports a
 * failed pre_init with WORKER_EXIT_SETUP, and a worker dies with SIGXCPU
 * past its per-document CPU budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/sbx.h"
#include "pipeline/worker.h"
#include "tests/test.h"

/* in_sandbox - the child's checks; exit status = first failed check number */
static int in_sandbox(void)
{
	struct sbx_limits lim = { .nofile = 64, .seccomp = 1 };
	struct dk_err err = DK_ERR_INIT;
	char path[600];
	int netns, fd, sv[2];

	if (sbx_enter(&lim, &netns, &err) != 0)
		return 10;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 || errno != EACCES)
		return 11;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd >= 0 || errno != EACCES)
		return 12;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 13;
	execl("/bin/true", "true", (char *)NULL);
	if (errno != EACCES)
		return 14;
	signal(SIGXFSZ, SIG_IGN);
	snprintf(path, sizeof path, "%s/sbx-write", test_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0 && write(fd, "x", 1) == 1)
		return 15;
	return 0;
}

/* a worker's inherited stderr may be a log file: writing to it must work */
static void sandbox_can_log_to_a_file(void)
{
	char path[512];
	pid_t pid;
	int status, fd;
	FILE *f;
	char line[64] = "";

	snprintf(path, sizeof path, "%s/sbx-log", test_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "before\n", 7) == 7);	/* offset > 0, as a real log */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct sbx_limits lim = { 0 };
		struct dk_err err = DK_ERR_INIT;
		int netns;

		lim.seccomp = 1;
		dup2(fd, STDERR_FILENO);
		if (sbx_enter(&lim, &netns, &err) != 0)
			_exit(20);
		if (write(STDERR_FILENO, "logged\n", 7) != 7)
			_exit(21);
		if (open(path, O_WRONLY | O_APPEND) >= 0 || open(path, O_RDONLY) < 0)
			_exit(22);	/* no new write handle; reading still works */
		_exit(0);
	}
	close(fd);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	f = fopen(path, "r");
	REQUIRE(f != NULL);
	CHECK(fgets(line, sizeof line, f) && fgets(line, sizeof line, f) && strcmp(line, "logged\n") == 0);
	fclose(f);
}

static void sandbox_refuses_network_exec_writes(void)
{
	pid_t pid;
	int status;

	(void)test_tmpdir();	/* made here: the sandbox refuses mkdir */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(in_sandbox());
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sandbox check %d failed",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
}

static int echo_serve(void *ctx, const struct ipc_view *req, int fd, struct ipc_msg *reply,
		      struct dk_err *err)
{
	(void)ctx;
	(void)err;
	if (fd >= 0)
		close(fd);
	ipc_msg_set_type(reply, 'E');
	if (ipc_get_i64(req, 'b', 0)) {	/* burn CPU until SIGXCPU */
		struct dk_err e = DK_ERR_INIT;
		volatile unsigned long x = 0;

		sbx_cpu_budget(1, &e);
		for (;;)
			x++;
	}
	return ipc_put_i64(reply, 's', ipc_get_i64(req, 's', -1) * 2);
}

static int fail_init(void *ctx, struct dk_err *err)
{
	(void)ctx;
	return dk_err_set(err, DK_ECONFIG, "cannot load");
}

static void echo_service(struct worker_service *svc, unsigned uses)
{
	memset(svc, 0, sizeof *svc);
	svc->name = "echo";
	svc->serve = echo_serve;
	svc->limits.seccomp = 1;
	svc->max_uses = uses;
	svc->frame_cap = 1024;
}

static void worker_serves_then_retires(void)
{
	static struct ipc_view v;
	struct worker_service svc;
	struct dk_err err = DK_ERR_INIT;
	struct ipc_reader r;
	pid_t pid;
	int sock, status;

	echo_service(&svc, 3);
	REQUIRE(worker_spawn(&svc, NULL, &pid, &sock, &err) == 0);
	ipc_reader_init(&r, 1024);
	for (int i = 1; i <= 3; i++) {
		struct ipc_msg m;
		const char *p;
		size_t n;

		ipc_msg_init(&m, 'Q', 0);
		ipc_put_i64(&m, 's', i);
		CHECK(ipc_send(sock, &m, -1, &err) == 0);
		ipc_msg_release(&m);
		REQUIRE(ipc_recv(&r, sock, &p, &n, &err) == 0);
		REQUIRE(ipc_parse(p, n, &v, &err) == 0);
		CHECK(v.type == 'E' && ipc_get_i64(&v, 's', 0) == 2 * i);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_reader_release(&r);
	close(sock);
}

static void worker_setup_failure_status(void)
{
	struct worker_service svc;
	struct dk_err err = DK_ERR_INIT;
	pid_t pid;
	int sock, status;

	echo_service(&svc, 1);
	svc.pre_init = fail_init;
	REQUIRE(worker_spawn(&svc, NULL, &pid, &sock, &err) == 0);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_SETUP);
	close(sock);
}

static void worker_cpu_budget_kills(void)
{
	struct worker_service svc;
	struct dk_err err = DK_ERR_INIT;
	struct ipc_msg m;
	pid_t pid;
	int sock, status;

	echo_service(&svc, 0);
	REQUIRE(worker_spawn(&svc, NULL, &pid, &sock, &err) == 0);
	ipc_msg_init(&m, 'Q', 0);
	ipc_put_i64(&m, 'b', 1);
	CHECK(ipc_send(sock, &m, -1, &err) == 0);
	ipc_msg_release(&m);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU, "status %d", status);
	close(sock);
}

int main(void)
{
	RUN(sandbox_refuses_network_exec_writes);
	RUN(sandbox_can_log_to_a_file);
	RUN(worker_serves_then_retires);
	RUN(worker_setup_failure_status);
	RUN(worker_cpu_budget_kills);
	return TEST_END();
}
