/*
 * NAME
 *	sbx - the sandbox a docket worker process enters before serving
 * SUMMARY
 *	sbx_enter() applies, in this order and irrevocably: resource limits
 *	(address space, CPU seconds, file size, descriptors, no core files),
 *	no_new_privs, a private network namespace when the kernel lets us
 *	create one, and a seccomp filter that refuses every socket family
 *	but AF_UNIX, and execve. Either network measure alone leaves the
 *	process without a network; where seccomp is unavailable the call
 *	fails rather than run unsandboxed.
 *	sbx_cpu_budget() gives the next document its own CPU allowance.
 * OWNERSHIP
 *	Nothing allocated.
 * LIFETIME
 *	Everything applied lasts for the life of the process (and its children).
 * THREADS
 *	Call from the single thread of a freshly forked worker.
 * ERRORS
 *	DK_EIO (a limit or the filter could not be applied; err says which).
 */
#ifndef DK_SBX_H
#define DK_SBX_H

#include <stddef.h>

#include "util/dk_err.h"

struct sbx_limits {
	size_t mem_bytes;	/* RLIMIT_AS; 0 = leave (sanitizer builds always leave it) */
	unsigned cpu_seconds;	/* RLIMIT_CPU hard limit over the process life; 0 = leave */
	size_t fsize_bytes;	/* RLIMIT_FSIZE with allow_files; 0 = leave */
	unsigned nofile;	/* RLIMIT_NOFILE; 0 = leave */
	int allow_files;	/* 0: extract workers (fsize 0 too); 1: the writer */
	int seccomp;		/* 1: install the seccomp filter */
};

/* sbx_enter - apply limits, namespace and seccomp; *netns tells whether a netns was made */
int sbx_enter(const struct sbx_limits *lim, int *netns, struct dk_err *err);

/* sbx_cpu_budget - soft RLIMIT_CPU = CPU used so far + seconds (SIGXCPU past it) */
int sbx_cpu_budget(unsigned seconds, struct dk_err *err);

#endif
