/*
 * NAME
 *	scanner - inotify plus rescans over inbox/
 * DESIGN NOTES
 *	1. Events only hint; the rescan decides. An event marks the name
 *	   "closed" with the size and mtime it has at that moment; a later
 *	   change of either clears the mark, so a writer that reopens the
 *	   file is waited for again.
 *	2. Stability is measured from the file's own mtime when first seen
 *	   (a file dropped long before a batch starts is ready at once), and
 *	   from our own observation after any change. Without inotify, a
 *	   writer that back-dates mtime while still writing (cp -p) could be
 *	   claimed early; size changes between rescans still catch it.
 *	3. The table is rebuilt on every scan, so names that left the inbox
 *	   are forgotten and the table never grows past the inbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/scanner.h"
#include "util/dk_io.h"
#include "util/dk_log.h"

struct seen {
	off_t size;
	struct timespec mtime;
	double since;		/* stable since (seconds, CLOCK_REALTIME) */
	int closed;		/* a close/move event saw exactly this size+mtime */
};

static int same(const struct seen *s, const struct stat *st)
{
	return s->size == st->st_size && s->mtime.tv_sec == st->st_mtim.tv_sec &&
	       s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int scanner_open(struct scanner *sc, struct spool *sp, double stable_secs, struct dk_err *err)
{
	char path[PATH_MAX];

	(void)err;
	sc->sp = sp;
	sc->stable_secs = stable_secs;
	sc->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	sc->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	snprintf(path, sizeof path, "%s/inbox", sp->root);
	if (sc->ifd >= 0 &&
	    inotify_add_watch(sc->ifd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
		log_warn("stage=scanner inotify=off reason=\"%s\"", strerror(errno));
		close(sc->ifd);
		sc->ifd = -1;
	}
	return 0;
}

void scanner_release(struct scanner *sc)
{
	if (sc->ifd >= 0)
		close(sc->ifd);
	sc->ifd = -1;
	if (sc->seen)
		g_hash_table_destroy(sc->seen);
	sc->seen = NULL;
}

int scanner_fd(const struct scanner *sc)
{
	return sc->ifd;
}

/* mark_closed - note 1: remember the state the writer left */
static void mark_closed(struct scanner *sc, const char *name)
{
	struct seen *s = g_hash_table_lookup(sc->seen, name);
	struct stat st;

	if (dk_io_fstatat(sc->sp->dir[SPOOL_INBOX], name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (s == NULL) {
		s = g_new0(struct seen, 1);
		g_hash_table_insert(sc->seen, g_strdup(name), s);
		s->since = (double)st.st_mtim.tv_sec;
	}
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->closed = 1;
}

int scanner_events(struct scanner *sc)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int any = 0;
	ssize_t n;

	if (sc->ifd < 0)
		return 0;
	while ((n = read(sc->ifd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len > 0 && !spool_ignored(ev->name))
				mark_closed(sc, ev->name);
			any = 1;
			p += sizeof *ev + ev->len;
		}
	}
	return any;
}

struct scan_state {
	struct scanner *sc;
	GHashTable *next;	/* note 3 */
	double now;
	int (*ready)(const char *, void *);
	void *arg;
	int pending, stopped;
};

/* visit - classify one inbox entry */
static int visit(const char *name, void *arg)
{
	struct scan_state *ss = arg;
	struct seen *s;
	struct stat st;
	int is_ready;

	if (dk_io_fstatat(ss->sc->sp->dir[SPOOL_INBOX], name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;	/* gone meanwhile, or unreadable: the next scan sees */
	if (S_ISDIR(st.st_mode))
		return 0;
	gpointer old_key = NULL, old_val = NULL;

	if (g_hash_table_steal_extended(ss->sc->seen, name, &old_key, &old_val)) {
		g_free(old_key);	/* the entry moves to the new table under a new key */
		s = old_val;
	} else {
		s = g_new0(struct seen, 1);
		s->size = st.st_size;
		s->mtime = st.st_mtim;
		/* note 2: trust mtime on first sight, unless it is in the future */
		s->since = (double)st.st_mtim.tv_sec < ss->now ? (double)st.st_mtim.tv_sec : ss->now;
	}
	if (!same(s, &st)) {
		s->size = st.st_size;
		s->mtime = st.st_mtim;
		s->since = ss->now;
		s->closed = 0;
	}
	g_hash_table_insert(ss->next, g_strdup(name), s);
	is_ready = !S_ISREG(st.st_mode) || s->closed || ss->now - s->since >= ss->sc->stable_secs;
	if (!is_ready || ss->stopped) {
		ss->pending++;
		return 0;
	}
	if (ss->ready(name, ss->arg) != 0)
		ss->stopped = 1;
	return 0;
}

int scanner_scan(struct scanner *sc, double now,
		 int (*ready)(const char *name, void *arg), void *arg,
		 int *pending, struct dk_err *err)
{
	struct scan_state ss = { sc, NULL, now, ready, arg, 0, 0 };
	int rc;

	ss.next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	rc = spool_list(sc->sp, SPOOL_INBOX, visit, &ss, err);
	g_hash_table_destroy(sc->seen);
	sc->seen = ss.next;
	*pending = ss.pending;
	return rc;
}
