/*
 * NAME
 *	worker - one skeleton for every docket worker process (single_server)
 * SUMMARY
 *	worker_spawn() forks a process that runs the skeleton:
 *	    1. process setup: die with the supervisor, ignore the operator's
 *	       SIGINT/SIGTERM/SIGHUP (the supervisor decides when we stop: it
 *	       closes our socket), keep only stdin/out/err and our socket;
 *	    2. svc->pre_init   (before the sandbox: load libmagic, open the db);
 *	    3. sbx_enter(svc->limits): rlimits, no network, seccomp;
 *	    4. svc->post_init  (after it; may be NULL);
 *	    5. serve loop: one request frame in, svc->serve(), one reply out;
 *	       exit 0 on EOF or after svc->max_uses requests (retirement).
 *	Any setup failure exits with status WORKER_EXIT_SETUP; the supervisor
 *	treats that like a crash (throttled respawn).
 * OWNERSHIP
 *	svc and ctx are inherited by the child (fork): the parent's copies
 *	stay the parent's. The socket returned is the caller's.
 * LIFETIME
 *	A worker lives until its socket reaches EOF, max_uses requests are
 *	served, or its supervisor dies (PR_SET_PDEATHSIG).
 * THREADS
 *	Call worker_spawn() from a single-threaded supervisor.
 * ERRORS
 *	DK_EIO (socketpair or fork failed).
 */
#ifndef DK_WORKER_H
#define DK_WORKER_H

#include <sys/types.h>

#include "pipeline/ipc.h"
#include "pipeline/sbx.h"
#include "util/dk_err.h"

#define WORKER_EXIT_SETUP 78	/* EX_CONFIG: pre_init, sandbox or post_init failed */

struct worker_service {
	const char *name;	/* "extract", "writer": log prefix and process title */
	int (*pre_init)(void *ctx, struct dk_err *err);
	int (*post_init)(void *ctx, struct dk_err *err);
	/*
	 * serve - answer one request into reply (initialised empty; serve
	 * sets its type with ipc_msg_set_type); fd is a passed
	 * descriptor or -1 and belongs to serve. Nonzero = the worker cannot
	 * go on (it exits after sending nothing).
	 */
	int (*serve)(void *ctx, const struct ipc_view *req, int fd,
		     struct ipc_msg *reply, struct dk_err *err);
	void (*fini)(void *ctx);	/* at exit; may be NULL */
	/*
	 * loop - replaces the one-request-one-reply serve loop for a service
	 * that keeps several requests in hand (the engine): reads frames of
	 * at most frame_cap bytes from sock and replies as it pleases until
	 * EOF; returns the exit status. NULL: serve is used.
	 */
	int (*loop)(void *ctx, int sock, size_t frame_cap);
	struct sbx_limits limits;
	unsigned max_uses;	/* retire after this many requests, 0 = never */
	size_t frame_cap;	/* largest request accepted */
	size_t reply_cap;	/* largest reply built */
};

/* worker_spawn - fork a worker; *sock is the supervisor's end (non-blocking, cloexec) */
int worker_spawn(const struct worker_service *svc, void *ctx, pid_t *pid, int *sock,
		 struct dk_err *err);

#endif
