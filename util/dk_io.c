/*
 * NAME
 *	dk_io - file-operation table with a fault-injection layer
 * DESIGN NOTES
 *	1. Every dk_io_* call dispatches through io_ops. Production code never
 *	   calls the file system calls directly in pipeline/, so a test that
 *	   arms the fault layer reaches every file operation of the spool.
 *	2. The fault layer wraps the system table (test_vfs.c): a matching
 *	   call decrements the countdown; when it reaches the armed call it
 *	   fails without side effects (the real call is not made), so a
 *	   failure at call N leaves the file system exactly as after N-1
 *	   calls. That is what lets a sweep check "nothing is lost".
 *	3. close() fails after really closing (Linux semantics: the
 *	   descriptor is gone whatever close returns), so no fd leaks in tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "util/dk_io.h"

static int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat(dirfd, path, flags | O_CLOEXEC, mode);
}

static int sys_renameat2(int odir, const char *old, int ndir, const char *new,
			 unsigned flags)
{
	return renameat2(odir, old, ndir, new, flags);
}

static int sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return fstatat(dirfd, path, st, flags);
}

static const struct dk_io_ops sys_ops = {
	.openat = sys_openat,
	.read = read,
	.pread = pread,
	.write = write,
	.fsync = fsync,
	.close = close,
	.fstat = fstat,
	.fstatat = sys_fstatat,
	.renameat2 = sys_renameat2,
	.unlinkat = unlinkat,
	.mkdirat = mkdirat,
	.readlinkat = readlinkat,
	.fdopendir = fdopendir,
};

static const struct dk_io_ops *io_ops = &sys_ops;

/* Fault layer state (note 2). */
static long fault_nth, fault_calls, fault_hits;
static int fault_errno, fault_persistent;
static unsigned fault_mask;

/* fault_now - count one call of kind bit; 1 if it must fail (errno set) */
static int fault_now(unsigned bit)
{
	if (fault_nth == 0 || !(fault_mask & bit))
		return 0;
	fault_calls++;
	if (fault_calls == fault_nth || (fault_persistent && fault_calls > fault_nth)) {
		fault_hits++;
		errno = fault_errno;
		return 1;
	}
	return 0;
}

static int f_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return fault_now(DK_IO_OPEN) ? -1 : sys_ops.openat(dirfd, path, flags, mode);
}

static ssize_t f_read(int fd, void *buf, size_t n)
{
	return fault_now(DK_IO_READ) ? -1 : sys_ops.read(fd, buf, n);
}

static ssize_t f_pread(int fd, void *buf, size_t n, off_t off)
{
	return fault_now(DK_IO_READ) ? -1 : sys_ops.pread(fd, buf, n, off);
}

static ssize_t f_write(int fd, const void *buf, size_t n)
{
	return fault_now(DK_IO_WRITE) ? -1 : sys_ops.write(fd, buf, n);
}

static int f_fsync(int fd)
{
	return fault_now(DK_IO_FSYNC) ? -1 : sys_ops.fsync(fd);
}

static int f_close(int fd)
{
	int rc = sys_ops.close(fd);	/* note 3 */

	return fault_now(DK_IO_CLOSE) ? -1 : rc;
}

static int f_fstat(int fd, struct stat *st)
{
	return fault_now(DK_IO_STAT) ? -1 : sys_ops.fstat(fd, st);
}

static int f_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return fault_now(DK_IO_STAT) ? -1 : sys_ops.fstatat(dirfd, path, st, flags);
}

static int f_renameat2(int odir, const char *old, int ndir, const char *new,
		       unsigned flags)
{
	return fault_now(DK_IO_RENAME) ? -1 : sys_ops.renameat2(odir, old, ndir, new, flags);
}

static int f_unlinkat(int dirfd, const char *path, int flags)
{
	return fault_now(DK_IO_UNLINK) ? -1 : sys_ops.unlinkat(dirfd, path, flags);
}

static int f_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return fault_now(DK_IO_MKDIR) ? -1 : sys_ops.mkdirat(dirfd, path, mode);
}

static ssize_t f_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	return fault_now(DK_IO_READLINK) ? -1 : sys_ops.readlinkat(dirfd, path, buf, n);
}

static DIR *f_fdopendir(int fd)
{
	return fault_now(DK_IO_OPENDIR) ? NULL : sys_ops.fdopendir(fd);
}

static const struct dk_io_ops fault_ops = {
	.openat = f_openat,
	.read = f_read,
	.pread = f_pread,
	.write = f_write,
	.fsync = f_fsync,
	.close = f_close,
	.fstat = f_fstat,
	.fstatat = f_fstatat,
	.renameat2 = f_renameat2,
	.unlinkat = f_unlinkat,
	.mkdirat = f_mkdirat,
	.readlinkat = f_readlinkat,
	.fdopendir = f_fdopendir,
};

/* dk_io_set_ops - install a table, NULL for the system calls */
const struct dk_io_ops *dk_io_set_ops(const struct dk_io_ops *ops)
{
	const struct dk_io_ops *old = io_ops;

	io_ops = ops ? ops : &sys_ops;
	return old;
}

/* dk_io_fault_arm - fail matching call nth (and later ones if persistent) */
void dk_io_fault_arm(long nth, int err, unsigned mask, int persistent)
{
	fault_nth = nth;
	fault_errno = err;
	fault_mask = mask;
	fault_persistent = persistent;
	fault_calls = fault_hits = 0;
	io_ops = nth > 0 ? &fault_ops : &sys_ops;
}

/* dk_io_fault_calls - matching calls since arming */
long dk_io_fault_calls(void)
{
	return fault_calls;
}

/* dk_io_fault_hits - injected failures since arming */
long dk_io_fault_hits(void)
{
	return fault_hits;
}

int dk_io_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return io_ops->openat(dirfd, path, flags, mode);
}

ssize_t dk_io_read(int fd, void *buf, size_t n)
{
	return io_ops->read(fd, buf, n);
}

ssize_t dk_io_pread(int fd, void *buf, size_t n, off_t off)
{
	return io_ops->pread(fd, buf, n, off);
}

ssize_t dk_io_write(int fd, const void *buf, size_t n)
{
	return io_ops->write(fd, buf, n);
}

int dk_io_fsync(int fd)
{
	return io_ops->fsync(fd);
}

int dk_io_close(int fd)
{
	return io_ops->close(fd);
}

int dk_io_fstat(int fd, struct stat *st)
{
	return io_ops->fstat(fd, st);
}

int dk_io_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return io_ops->fstatat(dirfd, path, st, flags);
}

int dk_io_renameat2(int odir, const char *old, int ndir, const char *new,
		    unsigned flags)
{
	return io_ops->renameat2(odir, old, ndir, new, flags);
}

int dk_io_unlinkat(int dirfd, const char *path, int flags)
{
	return io_ops->unlinkat(dirfd, path, flags);
}

int dk_io_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return io_ops->mkdirat(dirfd, path, mode);
}

ssize_t dk_io_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	return io_ops->readlinkat(dirfd, path, buf, n);
}

/* dk_io_opendirat - DIR on a duplicate of dirfd, so closedir keeps dirfd */
DIR *dk_io_opendirat(int dirfd)
{
	int fd = io_ops->openat(dirfd, ".", O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = io_ops->fdopendir(fd);
	if (d == NULL) {
		int e = errno;

		sys_ops.close(fd);
		errno = e;
	}
	return d;
}

/* dk_io_write_all - write everything or fail */
int dk_io_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = io_ops->write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}
