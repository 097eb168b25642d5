/*
 * NAME
 *	spool - the inbox/work/done/failed directories and their protocol
 * SUMMARY
 *	SPOOL/inbox   clerks drop files here (any name; dotfiles and *.part,
 *	              *.tmp, *.crdownload are ignored until renamed)
 *	SPOOL/work    claimed: rename()d out of inbox, being processed
 *	SPOOL/done    committed to the store
 *	SPOOL/failed  committed to the store as failed; NAME.error.json beside
 *
 *	spool_claim() moves one inbox entry into work/ (rename is the claim;
 *	the caller decides *when*, see scanner.c). spool_open_work() opens a
 *	claimed file the safe_open.c way. spool_finish() moves it on, after
 *	the store has committed it. Entries left in work/ by a crash are found
 *	with spool_list(SPOOL_WORK) and processed again: their claim key (the
 *	inode identity after the claim rename) lets the store recognise a
 *	document it already committed.
 * OWNERSHIP
 *	struct spool is caller storage; spool_release() closes its descriptors.
 * LIFETIME
 *	Names passed in are borrowed for the call.
 * THREADS
 *	Per-object; one process owns the spool's renames (the supervisor).
 * ERRORS
 *	0 or: DK_EIO (system call failed, err says which and on what),
 *	DK_ENOTFOUND (entry vanished), DK_EAGAIN (work/NAME is still busy:
 *	claim again later), DK_EUNSUPPORTED (a directory: left alone),
 *	DK_EPERM with slug "refused" (symlink, not regular, several links).
 */
#ifndef DK_SPOOL_H
#define DK_SPOOL_H

#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#include "util/dk_err.h"

enum spool_dir { SPOOL_INBOX, SPOOL_WORK, SPOOL_DONE, SPOOL_FAILED, SPOOL_NDIR };

struct spool {
	char *root;
	int root_fd;
	int dir[SPOOL_NDIR];	/* O_DIRECTORY descriptors, by enum spool_dir */
	int lock_fd;		/* SPOOL/.lock while spool_lock() holds it, else -1 */
};

#define SPOOL_KEY_MAX 80

struct spool_entry {
	char name[NAME_MAX + 1];	/* name in work/, the name as dropped */
	struct stat st;			/* lstat of work/name */
	int refused;			/* symlink, special file or several links */
	char why[128];			/* refusal reason when refused */
	char key[SPOOL_KEY_MAX];	/* claim key "dev:ino:ctime" (see spool.c note 4) */
};

/* spool_open - open (creating as needed) the four directories under root */
int spool_open(struct spool *sp, const char *root, struct dk_err *err);
void spool_release(struct spool *sp);

/*
 * spool_lock - take the spool for this process (flock on SPOOL/.lock):
 * only one supervisor may rename in a spool. DK_EAGAIN if another holds
 * it. Released by spool_release() or when the process dies.
 */
int spool_lock(struct spool *sp, struct dk_err *err);

/* spool_ignored - 1 if an inbox name must not be claimed (dotfile, partial) */
int spool_ignored(const char *name);

/* spool_claim - rename inbox/name to work/name and describe it in *e */
int spool_claim(struct spool *sp, const char *name, struct spool_entry *e,
		struct dk_err *err);

/* spool_examine - describe work/name (a claim, or a crash leftover) */
int spool_examine(struct spool *sp, const char *name, struct spool_entry *e,
		  struct dk_err *err);

/* spool_open_work - open work/name read-only: no symlink, regular, one link, same inode */
int spool_open_work(struct spool *sp, const char *name, int *fd, struct dk_err *err);

/*
 * spool_finish - move work/name to done/ (why == NULL) or failed/ (why set;
 * then NAME.error.json is written first, durably). A name already taken
 * in the target gets "~N" before its extension. final receives the name
 * used. The directories are not fsynced here: call spool_sync().
 */
int spool_finish(struct spool *sp, const char *name, const struct dk_err *why,
		 const char *stage, time_t when, char final[NAME_MAX + 1],
		 struct dk_err *err);

/* spool_sync - fsync work/, done/ and failed/ (make finished renames durable) */
int spool_sync(struct spool *sp, struct dk_err *err);

/* spool_list - call fn for each entry of dir that is not ignored; stops on fn's nonzero */
int spool_list(struct spool *sp, enum spool_dir dir,
	       int (*fn)(const char *name, void *arg), void *arg,
	       struct dk_err *err);

/* spool_sha256_fd - hex SHA-256 of everything readable from fd */
int spool_sha256_fd(int fd, char hex[65], struct dk_err *err);

/*
 * spool_refused_id - the document id of a refused entry: SHA-256 of a
 * symlink's target text, or of the claim key for other kinds (the bytes
 * are never read: reading them is what we refuse)
 */
int spool_refused_id(struct spool *sp, const struct spool_entry *e, char hex[65],
		     struct dk_err *err);

/* spool_rfc3339 - "2026-11-21T10:00:00Z" for when */
void spool_rfc3339(time_t when, char out[32]);

#endif
