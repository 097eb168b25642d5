/*
 * NAME
 *	worker - the worker process skeleton (Postfix single_server.c)
 * DESIGN NOTES
 *	1. The service function runs only after the sandbox is irrevocably
 *	   entered; only pre_init runs with the supervisor's rights (it needs
 *	   them: libmagic's database, the SQLite file).
 *	2. PR_SET_DEATHSIG plus a getppid() check closes the race where the
 *	   supervisor dies between fork() and prctl(): a worker never outlives
 *	   its supervisor, so kill -9 of the supervisor cannot leave a
 *	   half-finished writer transaction running alone.
 *	3. Descriptors other than 0-2 and the socket are closed in the child:
 *	   a worker must not hold other workers' sockets (EOF detection
 *	   depends on it) nor the spool directories.
 *	4. Workers ignore SIGINT/SIGTERM/SIGHUP: a Ctrl-C reaches the whole
 *	   process group, and the document in hand must still be finished.
 *	   The supervisor stops a worker by closing its socket (EOF).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pipeline/worker.h"
#include "util/dk_log.h"

#define WORKER_SOCK_FD 3

/* child_setup - notes 2, 3, 4; returns the socket descriptor or -1 */
static int child_setup(int sock, pid_t parent, const char *name)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return -1;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sock != WORKER_SOCK_FD) {
		if (dup2(sock, WORKER_SOCK_FD) < 0)
			return -1;
		close(sock);
	}
	close_range(WORKER_SOCK_FD + 1, ~0U, 0);
	prctl(PR_SET_NAME, name);
	return WORKER_SOCK_FD;
}

/* serve_loop - one request, one reply, until EOF or retirement */
static int serve_loop(const struct worker_service *svc, void *ctx, int sock)
{
	struct ipc_view *view = malloc(sizeof *view);
	struct ipc_reader rd;
	struct dk_err err = DK_ERR_INIT;
	int status = 0;

	if (view == NULL)
		return 1;
	ipc_reader_init(&rd, svc->frame_cap);
	for (unsigned uses = 0; svc->max_uses == 0 || uses < svc->max_uses; uses++) {
		struct ipc_msg reply;
		const char *payload;
		size_t len;
		int rc = ipc_recv(&rd, sock, &payload, &len, &err);

		if (rc == DK_ENOTFOUND)
			break;
		if (rc == 0)
			rc = ipc_parse(payload, len, view, &err);
		if (rc != 0) {
			log_error("stage=%s error=\"%s\"", svc->name, err.msg);
			status = 1;
			break;
		}
		ipc_msg_init(&reply, 0, svc->reply_cap);
		rc = svc->serve(ctx, view, ipc_reader_take_fd(&rd), &reply, &err);
		if (rc == 0)
			rc = ipc_send(sock, &reply, -1, &err);
		ipc_msg_release(&reply);
		if (rc != 0) {
			log_error("stage=%s error=\"%s\"", svc->name, err.msg);
			status = 1;
			break;
		}
	}
	ipc_reader_release(&rd);
	free(view);
	return status;
}

/* worker_run - the skeleton proper, in the child (note 1) */
static int worker_run(const struct worker_service *svc, void *ctx, int sock)
{
	struct dk_err err = DK_ERR_INIT;
	int netns = 0, status;

	if (svc->pre_init && svc->pre_init(ctx, &err) != 0) {
		log_error("stage=%s init=pre error=\"%s\"", svc->name, err.msg);
		return WORKER_EXIT_SETUP;
	}
	if (sbx_enter(&svc->limits, &netns, &err) != 0) {
		log_error("stage=%s init=sandbox error=\"%s\"", svc->name, err.msg);
		return WORKER_EXIT_SETUP;
	}
	if (svc->post_init && svc->post_init(ctx, &err) != 0) {
		log_error("stage=%s init=post error=\"%s\"", svc->name, err.msg);
		return WORKER_EXIT_SETUP;
	}
	log_debug("stage=%s pid=%d sandbox=on netns=%d", svc->name, (int)getpid(), netns);
	status = svc->loop ? svc->loop(ctx, sock, svc->frame_cap) : serve_loop(svc, ctx, sock);
	if (svc->fini)
		svc->fini(ctx);
	return status;
}

/* worker_spawn - socketpair + fork; the child never returns */
int worker_spawn(const struct worker_service *svc, void *ctx, pid_t *pid, int *sock,
		 struct dk_err *err)
{
	pid_t parent = getpid(), child;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return dk_err_set(err, DK_EIO, "cannot create socket pair: %s", strerror(errno));
	fflush(NULL);
	child = fork();
	if (child < 0) {
		close(sv[0]);
		close(sv[1]);
		return dk_err_set(err, DK_EIO, "cannot fork %s worker: %s", svc->name,
				  strerror(errno));
	}
	if (child == 0) {
		int fd;

		close(sv[0]);
		fd = child_setup(sv[1], parent, svc->name);
		_exit(fd < 0 ? WORKER_EXIT_SETUP : worker_run(svc, ctx, fd));
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	*pid = child;
	*sock = sv[0];
	return 0;
}
