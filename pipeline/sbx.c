/*
 * NAME
 *	sbx - rlimits, network namespace and seccomp for worker processes
 * DESIGN NOTES
 *	1. The filter is a deny list over a default-allow policy: parsers
 *	   (poppler, libxml2, ICU, GMime) make system calls we do not control,
 *	   and an allow list that misses one turns a good document into a
 *	   crash. What a hostile document must never get is the network (any
 *	   socket family but AF_UNIX) or another program (execve); those
 *	   calls fail with EACCES.
 *	2. unshare(CLONE_NEWNET) is attempted as well: as root, or where user
 *	   namespaces allow it, the worker then has only a down loopback
 *	   device. Failure there is not an error: seccomp already holds.
 *	3. RLIMIT_AS and AddressSanitizer do not mix (ASan reserves terabytes
 *	   of shadow address space), so sanitizer builds skip it; the
 *	   supervisor's wall-clock timeout still bounds a runaway document.
 *	5. Writing files: an extract worker must not create, change or remove
 *	   any file, but it must be able to write its log lines to the stderr
 *	   it inherited, which is often a regular file (docket batch 2>log).
 *	   RLIMIT_FSIZE cannot tell those apart (it killed the worker with
 *	   SIGXFSZ at its first log line), so the seccomp filter refuses
 *	   opening a file for writing, creating, truncating, renaming, linking
 *	   and removing instead. Only without seccomp is RLIMIT_FSIZE set to
 *	   0, and SIGXFSZ is ignored, so a log write fails rather than the
 *	   document.
 *	4. RLIMIT_CPU counts the whole life of a persistent worker. The hard
 *	   limit bounds the life (it retires after N documents anyway); the
 *	   soft limit is moved before each document (sbx_cpu_budget), so
 *	   SIGXCPU ends a document that burns more than its own allowance.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "pipeline/sbx.h"

#if defined(__SANITIZE_ADDRESS__)
#define SBX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SBX_ASAN 1
#endif
#endif
#ifndef SBX_ASAN
#define SBX_ASAN 0
#endif

static int set_limit(int res, rlim_t v, const char *what, struct dk_err *err)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) != 0)
		return dk_err_set(err, DK_EIO, "cannot limit %s: %s", what, strerror(errno));
	return 0;
}

/* apply_limits - note 3 and 4 */
static int apply_limits(const struct sbx_limits *lim, struct dk_err *err)
{
	int rc = set_limit(RLIMIT_CORE, 0, "core size", err);

	if (rc == 0 && lim->mem_bytes && !SBX_ASAN)
		rc = set_limit(RLIMIT_AS, lim->mem_bytes, "address space", err);
	if (rc == 0 && lim->cpu_seconds) {
		struct rlimit rl = { lim->cpu_seconds, lim->cpu_seconds };

		if (setrlimit(RLIMIT_CPU, &rl) != 0)
			rc = dk_err_set(err, DK_EIO, "cannot limit cpu time: %s", strerror(errno));
	}
	if (rc == 0 && !lim->allow_files && !lim->seccomp) {	/* note 5 */
		signal(SIGXFSZ, SIG_IGN);
		rc = set_limit(RLIMIT_FSIZE, 0, "file size", err);
	}
	else if (rc == 0 && lim->fsize_bytes)
		rc = set_limit(RLIMIT_FSIZE, lim->fsize_bytes, "file size", err);
	if (rc == 0 && lim->nofile)
		rc = set_limit(RLIMIT_NOFILE, lim->nofile, "open files", err);
	return rc;
}

/* deny_flag - refuse syscall nr when (arg[argi] & mask) == value */
static int deny_flag(scmp_filter_ctx ctx, int nr, unsigned argi, uint64_t mask, uint64_t value)
{
	const struct scmp_arg_cmp cmp = { .arg = argi, .op = SCMP_CMP_MASKED_EQ,
					  .datum_a = mask, .datum_b = value };

	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, &cmp);
}

/* deny_file_writes - note 5: no file is opened for writing, made or removed */
static int deny_file_writes(scmp_filter_ctx ctx)
{
	static const int always[] = {
		SCMP_SYS(creat), SCMP_SYS(openat2), SCMP_SYS(truncate),
		SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
		SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir),
		SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(mknod), SCMP_SYS(mknodat),
		SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink), SCMP_SYS(symlinkat),
	};
	static const struct { int nr; unsigned flags_arg; } opens[] = {
		{ SCMP_SYS(open), 1 }, { SCMP_SYS(openat), 2 },
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof always / sizeof always[0]; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), always[i], 0);
	for (size_t i = 0; rc == 0 && i < sizeof opens / sizeof opens[0]; i++) {
		unsigned a = opens[i].flags_arg;

		rc = deny_flag(ctx, opens[i].nr, a, O_ACCMODE, O_WRONLY);
		if (rc == 0)
			rc = deny_flag(ctx, opens[i].nr, a, O_ACCMODE, O_RDWR);
		if (rc == 0)
			rc = deny_flag(ctx, opens[i].nr, a, O_CREAT, O_CREAT);
		if (rc == 0)
			rc = deny_flag(ctx, opens[i].nr, a, O_TRUNC, O_TRUNC);
	}
	return rc;
}

/* apply_seccomp - notes 1 and 5 */
static int apply_seccomp(int allow_files, struct dk_err *err)
{
	/* socket(domain != AF_UNIX, ...); spelled out: SCMP_A0() trips clang's -Wextra */
	const struct scmp_arg_cmp not_unix = { .arg = 0, .op = SCMP_CMP_NE,
					       .datum_a = AF_UNIX, .datum_b = 0 };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (ctx == NULL)
		return dk_err_set(err, DK_EIO, "cannot create seccomp filter");
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, &not_unix);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(execve), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(execveat), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(ptrace), 0);
	if (rc == 0 && !allow_files)
		rc = deny_file_writes(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return dk_err_set(err, DK_EIO, "cannot load seccomp filter: %s", strerror(-rc));
	return 0;
}

/* sbx_enter - limits, no_new_privs, netns (note 2), seccomp */
int sbx_enter(const struct sbx_limits *lim, int *netns, struct dk_err *err)
{
	int rc = apply_limits(lim, err);

	if (rc != 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return dk_err_set(err, DK_EIO, "cannot set no_new_privs: %s", strerror(errno));
	*netns = unshare(CLONE_NEWNET) == 0;
	return lim->seccomp ? apply_seccomp(lim->allow_files, err) : 0;
}

/* sbx_cpu_budget - move the soft CPU limit (note 4) */
int sbx_cpu_budget(unsigned seconds, struct dk_err *err)
{
	struct rusage ru;
	struct rlimit rl;
	rlim_t used;

	if (getrusage(RUSAGE_SELF, &ru) != 0 || getrlimit(RLIMIT_CPU, &rl) != 0)
		return dk_err_set(err, DK_EIO, "cannot read cpu usage: %s", strerror(errno));
	used = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1;
	rl.rlim_cur = used + seconds;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_CPU, &rl) != 0)
		return dk_err_set(err, DK_EIO, "cannot limit cpu time: %s", strerror(errno));
	return 0;
}
