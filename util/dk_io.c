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
 *	4. The crash layer records changes as they succeed and forgets them
 *	   when an fsync makes them durable: a file's writes by fsync of the
 *	   file; a rename or creation by fsync of the directory it landed in
 *	   (the simplification ext4 users rely on). A write's path follows
 *	   its file through renames. Applying a crash first drops or tears
 *	   the data where the files are now, then undoes renames and
 *	   creations newest first, so each undo sees the state its change left.
 *	3. close() fails after really closing (Linux semantics: the
 *	   descriptor is gone whatever close returns), so no fd leaks in tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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


/* ---- crash layer (note 4) ---------------------------------------------- */

enum ev_kind { EV_WRITE, EV_RENAME, EV_CREATE };

struct crash_ev {
	enum ev_kind kind;
	char path[PATH_MAX];	/* file written / created / rename target */
	char from[PATH_MAX];	/* rename source */
	char dir[PATH_MAX];	/* directory whose fsync makes it durable */
	off_t off, len;		/* EV_WRITE: the bytes written */
	off_t synced_size;	/* EV_WRITE: size before the first unsynced write */
	dev_t dev;		/* EV_WRITE: the file (fsync finds it by inode, */
	ino_t ino;		/* whatever it is called by then) */
};

#define CRASH_MAX_EV 512
static struct crash_ev crash_ev[CRASH_MAX_EV];
static int crash_n, crash_on;

/* fd_path - the path behind a descriptor (or AT_FDCWD) */
static int fd_path(int fd, char out[PATH_MAX])
{
	char link[64];
	ssize_t n;

	if (fd == AT_FDCWD)
		return getcwd(out, PATH_MAX) ? 0 : -1;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, out, PATH_MAX - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

/* at_path - dir and full path of (dirfd, name) */
static int at_path(int dirfd, const char *name, char dir[PATH_MAX], char full[PATH_MAX])
{
	if (name[0] == '/') {
		const char *slash = strrchr(name, '/');

		snprintf(dir, PATH_MAX, "%.*s", (int)(slash - name), name);
		snprintf(full, PATH_MAX, "%s", name);
		return 0;
	}
	if (fd_path(dirfd, dir) != 0)
		return -1;
	if ((size_t)snprintf(full, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return -1;
	return 0;
}

static struct crash_ev *crash_add(enum ev_kind kind)
{
	if (!crash_on || crash_n == CRASH_MAX_EV)
		return NULL;
	memset(&crash_ev[crash_n], 0, sizeof crash_ev[crash_n]);
	crash_ev[crash_n].kind = kind;
	return &crash_ev[crash_n++];
}

/* crash_forget - fsync(fd) made these durable */
static void crash_forget(int fd)
{
	char p[PATH_MAX];
	struct stat st;
	int k = 0;

	if (!crash_on || fd_path(fd, p) != 0 || fstat(fd, &st) != 0)
		return;
	for (int i = 0; i < crash_n; i++) {
		const struct crash_ev *e = &crash_ev[i];
		int durable = e->kind == EV_WRITE ? e->dev == st.st_dev && e->ino == st.st_ino :
				strcmp(e->dir, p) == 0;

		if (!durable)
			crash_ev[k++] = *e;
	}
	crash_n = k;
}

static void note_write(int fd, off_t off, ssize_t n)
{
	struct crash_ev *e;
	struct stat st;

	if (!crash_on || n <= 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if ((e = crash_add(EV_WRITE)) == NULL || fd_path(fd, e->path) != 0) {
		if (e)
			crash_n--;
		return;
	}
	e->off = off;
	e->len = n;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	/* The synced size is the size before the first unsynced write. */
	e->synced_size = off;
	for (int i = 0; i < crash_n - 1; i++)
		if (crash_ev[i].kind == EV_WRITE && crash_ev[i].ino == e->ino &&
		    crash_ev[i].dev == e->dev)
			e->synced_size = crash_ev[i].synced_size;
}

/* crash_apply_one - undo (drop) or garble (tear) one remembered change */
static int crash_apply_one(const struct crash_ev *e, enum dk_io_crash_mode mode)
{
	char junk[512];

	switch (e->kind) {
	case EV_WRITE: {
		int fd = open(e->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		int rc = 0;

		memset(junk, 0xa5, sizeof junk);
		if (fd < 0)
			return errno == ENOENT ? 0 : -1;	/* dropped creation */
		if (mode == DK_IO_CRASH_DROP) {
			rc = ftruncate(fd, e->synced_size);
		} else {
			for (off_t at = e->off; rc == 0 && at < e->off + e->len; at += (off_t)sizeof junk) {
				off_t k = e->off + e->len - at;

				if (k > (off_t)sizeof junk)
					k = sizeof junk;
				rc = pwrite(fd, junk, (size_t)k, at) == k ? 0 : -1;
			}
		}
		close(fd);
		return rc;
	}
	case EV_RENAME:
		return mode == DK_IO_CRASH_DROP ? rename(e->path, e->from) : 0;
	case EV_CREATE:
		return mode == DK_IO_CRASH_DROP && unlink(e->path) != 0 && errno != ENOENT ? -1 : 0;
	}
	return 0;
}

/* dk_io_crash_arm - fail everything from call nth; remember unsynced changes */
void dk_io_crash_arm(long nth)
{
	crash_n = 0;
	crash_on = nth > 0;
	dk_io_fault_arm(nth, EIO, DK_IO_ALL, 1);
}

/*
 * dk_io_crash_apply - the power cut: data first (each write's path is
 * where its file is now), then names, newest change first
 */
int dk_io_crash_apply(enum dk_io_crash_mode mode)
{
	int rc = 0;

	dk_io_fault_arm(0, 0, 0, 0);
	for (int i = crash_n - 1; i >= 0; i--)
		if (crash_ev[i].kind == EV_WRITE && crash_apply_one(&crash_ev[i], mode) != 0)
			rc = -1;
	for (int i = crash_n - 1; i >= 0; i--)
		if (crash_ev[i].kind != EV_WRITE && crash_apply_one(&crash_ev[i], mode) != 0)
			rc = -1;
	crash_n = 0;
	crash_on = 0;
	return rc;
}

static int f_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct crash_ev *e;
	struct stat st;
	int existed, fd;

	if (fault_now(DK_IO_OPEN))
		return -1;
	existed = !(flags & O_CREAT) || fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	fd = sys_ops.openat(dirfd, path, flags, mode);
	if (fd >= 0 && !existed && (e = crash_add(EV_CREATE)) != NULL &&
	    at_path(dirfd, path, e->dir, e->path) != 0)
		crash_n--;
	return fd;
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
	off_t off;
	ssize_t k;

	if (fault_now(DK_IO_WRITE))
		return -1;
	off = lseek(fd, 0, SEEK_CUR);
	k = sys_ops.write(fd, buf, n);
	note_write(fd, off, k);
	return k;
}

static int f_fsync(int fd)
{
	if (fault_now(DK_IO_FSYNC) || sys_ops.fsync(fd) != 0)
		return -1;
	crash_forget(fd);
	return 0;
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
	char odir_path[PATH_MAX];
	struct crash_ev *e;

	if (fault_now(DK_IO_RENAME) || sys_ops.renameat2(odir, old, ndir, new, flags) != 0)
		return -1;
	if ((e = crash_add(EV_RENAME)) == NULL)
		return 0;
	if (at_path(ndir, new, e->dir, e->path) != 0 ||
	    at_path(odir, old, odir_path, e->from) != 0) {
		crash_n--;
		return 0;
	}
	/* Unsynced writes follow their file to its new name. */
	for (int i = 0; i < crash_n - 1; i++)
		if (crash_ev[i].kind == EV_WRITE && strcmp(crash_ev[i].path, e->from) == 0)
			memcpy(crash_ev[i].path, e->path, sizeof e->path);
	return 0;
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
