/*
 * NAME
 *	scanner - decide when an inbox file is complete and may be claimed
 * SUMMARY
 *	inotify on inbox/ (IN_CLOSE_WRITE, IN_MOVED_TO: a writer finished or
 *	a file was renamed in) plus a full rescan whenever the supervisor
 *	asks (periodically: network file systems give no events). A regular
 *	file is ready when a close/move event was seen and it has not changed
 *	since, or when its size and mtime have been stable for stable_secs.
 *	Symlinks and other non-regular entries are ready at once (they are
 *	claimed only to be refused). Directories and ignored names
 *	(spool_ignored) are never ready and never pending.
 * OWNERSHIP
 *	struct scanner is caller storage; scanner_release() frees its table
 *	and closes the inotify descriptor. The spool is borrowed.
 * LIFETIME
 *	Names passed to the ready callback are valid during the call only.
 * THREADS
 *	Per-object.
 * ERRORS
 *	DK_EIO from the listing; inotify being unavailable is not an error
 *	(scanner_fd() returns -1 and rescans carry the load).
 */
#ifndef DK_SCANNER_H
#define DK_SCANNER_H

#include "pipeline/spool.h"
#include "util/dk_err.h"

struct scanner {
	struct spool *sp;
	int ifd;		/* inotify descriptor or -1 */
	void *seen;		/* GHashTable: name -> struct seen (scanner.c) */
	double stable_secs;
};

int scanner_open(struct scanner *sc, struct spool *sp, double stable_secs, struct dk_err *err);
void scanner_release(struct scanner *sc);

/* scanner_fd - descriptor to poll for events, or -1 */
int scanner_fd(const struct scanner *sc);

/* scanner_events - drain inotify; 1 if something arrived (rescan now) */
int scanner_events(struct scanner *sc);

/*
 * scanner_scan - list inbox/, call ready(name) for each complete entry
 * (ready returns 0 to go on, nonzero to stop the scan early) and store
 * in *pending how many entries are waiting to become complete (or were
 * not offered because the scan stopped). now is CLOCK_REALTIME seconds.
 */
int scanner_scan(struct scanner *sc, double now,
		 int (*ready)(const char *name, void *arg), void *arg,
		 int *pending, struct dk_err *err);

#endif
