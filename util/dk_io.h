/*
 * NAME
 *	dk_io - the file-operation table all pipeline file I/O goes through
 * SUMMARY
 *	dk_io_openat(), dk_io_read(), ... call through one function table
 *	(dk_io_ops). In production the table holds the system calls. Tests
 *	switch on a fault layer (SQLite's test_vfs.c) that lets N-1 matching
 *	calls succeed and fails call N with a chosen errno (EIO, ENOSPC, ...),
 *	once or persistently, so a sweep over N reaches every failure point.
 *	A crash layer (SQLite's test6.c) goes further: dk_io_crash_arm(N)
 *	makes call N and every later call fail (the process is "dead") and
 *	remembers what was not yet made durable: file writes not followed by
 *	fsync of the file, renames and creations not followed by fsync of
 *	the directory. dk_io_crash_apply() then does to the disk what a power
 *	cut may do: drop those changes (renames undone, new files removed,
 *	files cut back to their synced size) or tear the unsynced bytes
 *	(overwritten with garbage).
 *	The *at() forms are used throughout: the spool works relative to open
 *	directory descriptors, which keeps odd names and renamed parents safe.
 * OWNERSHIP
 *	Descriptors and DIR streams returned belong to the caller.
 * LIFETIME
 *	The ops table is process-global and static.
 * THREADS
 *	The fault counters are process-global and unsynchronised: fault
 *	injection is for single-threaded tests. The production table is
 *	thread-safe (it is the system calls).
 * ERRORS
 *	As the system calls: -1 (or NULL) with errno set.
 */
#ifndef DK_IO_H
#define DK_IO_H

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

struct dk_io_ops {
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	ssize_t (*read)(int fd, void *buf, size_t n);
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*fstat)(int fd, struct stat *st);
	int (*fstatat)(int dirfd, const char *path, struct stat *st, int flags);
	int (*renameat2)(int odir, const char *old, int ndir, const char *new,
			 unsigned flags);
	int (*unlinkat)(int dirfd, const char *path, int flags);
	int (*mkdirat)(int dirfd, const char *path, mode_t mode);
	ssize_t (*readlinkat)(int dirfd, const char *path, char *buf, size_t n);
	DIR *(*fdopendir)(int fd);
};

/* Bits for dk_io_fault_arm()'s mask: which operations count and fail. */
enum {
	DK_IO_OPEN = 1 << 0, DK_IO_READ = 1 << 1, DK_IO_WRITE = 1 << 2,
	DK_IO_FSYNC = 1 << 3, DK_IO_CLOSE = 1 << 4, DK_IO_STAT = 1 << 5,
	DK_IO_RENAME = 1 << 6, DK_IO_UNLINK = 1 << 7, DK_IO_MKDIR = 1 << 8,
	DK_IO_READLINK = 1 << 9, DK_IO_OPENDIR = 1 << 10,
	DK_IO_ALL = (1 << 11) - 1,
};

int dk_io_openat(int dirfd, const char *path, int flags, mode_t mode);
ssize_t dk_io_read(int fd, void *buf, size_t n);
ssize_t dk_io_pread(int fd, void *buf, size_t n, off_t off);
ssize_t dk_io_write(int fd, const void *buf, size_t n);
int dk_io_fsync(int fd);
int dk_io_close(int fd);
int dk_io_fstat(int fd, struct stat *st);
int dk_io_fstatat(int dirfd, const char *path, struct stat *st, int flags);
/* dk_io_renameat2 - renameat2(2); flags 0 or RENAME_NOREPLACE */
int dk_io_renameat2(int odir, const char *old, int ndir, const char *new,
		    unsigned flags);
int dk_io_unlinkat(int dirfd, const char *path, int flags);
int dk_io_mkdirat(int dirfd, const char *path, mode_t mode);
ssize_t dk_io_readlinkat(int dirfd, const char *path, char *buf, size_t n);
/* dk_io_opendirat - a DIR stream on dirfd's directory; dirfd stays open */
DIR *dk_io_opendirat(int dirfd);

/* dk_io_write_all - write n bytes, retrying short writes and EINTR; 0 or -1 */
int dk_io_write_all(int fd, const void *buf, size_t n);

/* dk_io_set_ops - install a table (NULL: the system calls); returns the old one */
const struct dk_io_ops *dk_io_set_ops(const struct dk_io_ops *ops);

/*
 * dk_io_fault_arm - from now on, count calls whose bit is in mask; call
 * number nth (1-based) fails with errno err, and with persistent every
 * later matching call fails too. nth == 0 disarms the fault layer.
 */
void dk_io_fault_arm(long nth, int err, unsigned mask, int persistent);
/* dk_io_fault_calls - matching calls counted since the last arm */
long dk_io_fault_calls(void);
/* dk_io_fault_hits - calls that were made to fail since the last arm */
long dk_io_fault_hits(void);

/*
 * dk_io_crash_arm - from call nth on, every call fails with EIO; record
 * unsynced changes from now on (nth > 0). Single-threaded tests only.
 */
void dk_io_crash_arm(long nth);

enum dk_io_crash_mode {
	DK_IO_CRASH_DROP,	/* unsynced writes, renames and creations are lost */
	DK_IO_CRASH_TEAR,	/* unsynced bytes become garbage; names stay */
};

/* dk_io_crash_apply - simulate the power cut, then disarm; 0 or -1 */
int dk_io_crash_apply(enum dk_io_crash_mode mode);

#endif
