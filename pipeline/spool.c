/*
 * NAME
 *	spool - claim, open and finish spool files (mail_queue.c, safe_open.c)
 * DESCRIPTION
 *	All file operations go through util/dk_io so tests can fail any one
 *	of them. A failed operation returns an error and leaves every file
 *	where it was or where the last successful rename put it: nothing is
 *	ever deleted, so a retry (or a restart) can always go on.
 * DESIGN NOTES
 *	1. A file is in exactly one of inbox/, work/, done/, failed/ at every
 *	   instant: it only ever moves by rename() within one file system.
 *	2. Claim: rename(inbox/N, work/N) with RENAME_NOREPLACE. If work/N is
 *	   taken (a same-named file is still being processed) the claim waits
 *	   (DK_EAGAIN) rather than renaming, so work/ names are always the
 *	   names as dropped and a crash leftover needs no bookkeeping.
 *	3. Nothing in the spool is followed: directories are opened
 *	   O_NOFOLLOW, entries are lstat()ed, files are opened O_NOFOLLOW and
 *	   the fstat() of the descriptor must match the lstat() of the name,
 *	   be a regular file and have one link. A symlink is moved to failed/
 *	   as itself (rename moves the link, never its target).
 *	4. Claim key = "dev:ino:ctime" of work/N after the claim. rename()
 *	   updates ctime (ext4, xfs, btrfs, tmpfs), so the key names this one
 *	   claim: the store keeps it with the receipt, and a leftover found in
 *	   work/ after a crash that the store already has is not committed twice.
 *	5. failed/N.error.json is written before N is moved beside it: tmp
 *	   file, fsync, rename, fsync(failed/). Every file in failed/ therefore
 *	   has its error.json. A crash between the two renames leaves an orphan
 *	   error.json and the file in work/; the retry picks a fresh name.
 *	6. Directory fsyncs for done/work renames are batched (spool_sync):
 *	   a rename lost in a crash leaves the file in work/, and note 4 makes
 *	   the retry idempotent, so per-file directory fsyncs buy nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/spool.h"
#include "util/dk_buf.h"
#include "util/dk_io.h"

static const char *const dir_names[SPOOL_NDIR] = { "inbox", "work", "done", "failed" };

#define JSON_SUFFIX ".error.json"

/* open_subdir - mkdir (if absent) and open root/name without following links */
static int open_subdir(int root_fd, const char *root, const char *name, struct dk_err *err)
{
	int fd;

	if (dk_io_mkdirat(root_fd, name, 0750) != 0 && errno != EEXIST)
		return dk_err_set(err, DK_EIO, "cannot create '%s/%s': %s", root, name,
				  strerror(errno));
	fd = dk_io_openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return dk_err_set(err, DK_EIO, "cannot open '%s/%s': %s", root, name,
				  strerror(errno));
	return fd;
}

/* spool_open - open the spool, creating its directories */
int spool_open(struct spool *sp, const char *root, struct dk_err *err)
{
	int fd;

	sp->root_fd = -1;
	sp->lock_fd = -1;
	for (int i = 0; i < SPOOL_NDIR; i++)
		sp->dir[i] = -1;
	sp->root = strdup(root);
	if (sp->root == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (dk_io_mkdirat(AT_FDCWD, root, 0750) != 0 && errno != EEXIST) {
		dk_err_set(err, DK_EIO, "cannot create '%s': %s", root, strerror(errno));
		goto fail;
	}
	/* The root itself may be an operator's symlink; what is inside may not. */
	sp->root_fd = dk_io_openat(AT_FDCWD, root, O_RDONLY | O_DIRECTORY, 0);
	if (sp->root_fd < 0) {
		dk_err_set(err, DK_EIO, "cannot open '%s': %s", root, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < SPOOL_NDIR; i++) {
		fd = open_subdir(sp->root_fd, root, dir_names[i], err);
		if (fd < 0)
			goto fail;
		sp->dir[i] = fd;
	}
	return 0;
fail:
	spool_release(sp);
	return err ? err->code : DK_EIO;
}

/* spool_release - close the directories */
void spool_release(struct spool *sp)
{
	for (int i = 0; i < SPOOL_NDIR; i++) {
		if (sp->dir[i] >= 0)
			dk_io_close(sp->dir[i]);
		sp->dir[i] = -1;
	}
	if (sp->root_fd >= 0)
		dk_io_close(sp->root_fd);
	sp->root_fd = -1;
	if (sp->lock_fd >= 0)
		dk_io_close(sp->lock_fd);
	sp->lock_fd = -1;
	free(sp->root);
	sp->root = NULL;
}

/* spool_lock - one supervisor per spool */
int spool_lock(struct spool *sp, struct dk_err *err)
{
	int fd = dk_io_openat(sp->root_fd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW, 0640);

	if (fd < 0)
		return dk_err_set(err, DK_EIO, "cannot open '%s/.lock': %s", sp->root, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		dk_io_close(fd);
		if (e == EWOULDBLOCK)
			return dk_err_set(err, DK_EAGAIN, "spool '%s' is in use by another docket process",
					  sp->root);
		return dk_err_set(err, DK_EIO, "cannot lock '%s/.lock': %s", sp->root, strerror(e));
	}
	sp->lock_fd = fd;
	return 0;
}

static int has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n >= k && strcasecmp(name + n - k, suffix) == 0;
}

/* spool_ignored - dotfiles and partial downloads are not ours (yet) */
int spool_ignored(const char *name)
{
	return name[0] == '.' || has_suffix(name, ".part") || has_suffix(name, ".tmp") ||
	       has_suffix(name, ".crdownload");
}

/* rename_noreplace - renameat2(NOREPLACE), emulated where the fs lacks it */
static int rename_noreplace(int odir, const char *old, int ndir, const char *new)
{
	struct stat st;

	if (dk_io_renameat2(odir, old, ndir, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	/* Only the supervisor renames in the spool, so check-then-rename is safe. */
	if (dk_io_fstatat(ndir, new, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT)
		return -1;
	return dk_io_renameat2(odir, old, ndir, new, 0);
}

/* spool_claim - rename inbox/name into work/ (note 2) and examine it */
int spool_claim(struct spool *sp, const char *name, struct spool_entry *e,
		struct dk_err *err)
{
	struct stat st;

	if (dk_io_fstatat(sp->dir[SPOOL_INBOX], name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return dk_err_set(err, DK_ENOTFOUND, "'%s' vanished from inbox", name);
		return dk_err_set(err, DK_EIO, "cannot stat 'inbox/%s': %s", name, strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return dk_err_set(err, DK_EUNSUPPORTED, "'inbox/%s' is a directory", name);
	if (rename_noreplace(sp->dir[SPOOL_INBOX], name, sp->dir[SPOOL_WORK], name) != 0) {
		if (errno == EEXIST)
			return dk_err_set(err, DK_EAGAIN, "'work/%s' is busy", name);
		if (errno == ENOENT)
			return dk_err_set(err, DK_ENOTFOUND, "'%s' vanished from inbox", name);
		return dk_err_set(err, DK_EIO, "cannot claim '%s': %s", name, strerror(errno));
	}
	return spool_examine(sp, name, e, err);
}

/* spool_examine - lstat work/name and decide whether it is refused (note 3) */
int spool_examine(struct spool *sp, const char *name, struct spool_entry *e,
		  struct dk_err *err)
{
	memset(e, 0, sizeof *e);
	if (strlen(name) > NAME_MAX)
		return dk_err_set(err, DK_EINVAL, "name too long");
	memcpy(e->name, name, strlen(name) + 1);
	if (dk_io_fstatat(sp->dir[SPOOL_WORK], name, &e->st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return dk_err_set(err, DK_ENOTFOUND, "'work/%s' vanished", name);
		return dk_err_set(err, DK_EIO, "cannot stat 'work/%s': %s", name, strerror(errno));
	}
	if (S_ISLNK(e->st.st_mode))
		snprintf(e->why, sizeof e->why, "symbolic link, not followed");
	else if (!S_ISREG(e->st.st_mode))
		snprintf(e->why, sizeof e->why, "not a regular file");
	else if (e->st.st_nlink != 1)
		snprintf(e->why, sizeof e->why, "file has %ju hard links",
			 (uintmax_t)e->st.st_nlink);
	e->refused = e->why[0] != 0;
	snprintf(e->key, sizeof e->key, "%ju:%ju:%jd.%09ld", (uintmax_t)e->st.st_dev,
		 (uintmax_t)e->st.st_ino, (intmax_t)e->st.st_ctim.tv_sec,
		 (long)e->st.st_ctim.tv_nsec);
	return 0;
}

/* spool_open_work - safe_open: the descriptor must be the regular file we lstat()ed */
int spool_open_work(struct spool *sp, const char *name, int *fdp, struct dk_err *err)
{
	struct stat fst, lst;
	int fd;

	*fdp = -1;
	fd = dk_io_openat(sp->dir[SPOOL_WORK], name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0) {
		if (errno == ELOOP)
			return dk_err_setx(err, DK_EPERM, "refused", "'%s' is a symbolic link", name);
		return dk_err_set(err, DK_EIO, "cannot open 'work/%s': %s", name, strerror(errno));
	}
	if (dk_io_fstat(fd, &fst) != 0 ||
	    dk_io_fstatat(sp->dir[SPOOL_WORK], name, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
		dk_err_set(err, DK_EIO, "cannot stat 'work/%s': %s", name, strerror(errno));
		dk_io_close(fd);
		return err ? err->code : DK_EIO;
	}
	if (!S_ISREG(fst.st_mode) || fst.st_nlink != 1 || fst.st_dev != lst.st_dev ||
	    fst.st_ino != lst.st_ino) {
		dk_io_close(fd);
		return dk_err_setx(err, DK_EPERM, "refused",
				   "'%s' is not a singly-linked regular file", name);
	}
	*fdp = fd;
	return 0;
}

/*
 * candidate - the n-th name to try in a target directory: "name" first,
 * then "stem~n.ext"; the stem is cut (bytewise) so the result plus
 * reserve bytes fits NAME_MAX.
 */
static void candidate(const char *name, unsigned n, size_t reserve, char out[NAME_MAX + 1])
{
	size_t len = strlen(name), limit = NAME_MAX - reserve;
	const char *dot = strrchr(name, '.');
	size_t ext = (dot && dot != name && len - (size_t)(dot - name) <= 16) ?
		     len - (size_t)(dot - name) : 0;
	char tag[16] = "";
	size_t stem;

	if (n > 0)
		snprintf(tag, sizeof tag, "~%u", n);
	if (n == 0 && len <= limit) {
		memcpy(out, name, len + 1);
		return;
	}
	if (n == 0)
		snprintf(tag, sizeof tag, "~0");
	stem = len - ext;
	if (stem + strlen(tag) + ext > limit)
		stem = limit - strlen(tag) - ext;
	snprintf(out, NAME_MAX + 1, "%.*s%s%s", (int)stem, name, tag, name + len - ext);
}

/* error_json - the body of NAME.error.json */
static int error_json(struct dk_buf *b, const char *name, const struct dk_err *why,
		      const char *stage, time_t when)
{
	char *valid = g_utf8_make_valid(name, -1);
	char ts[32];
	int rc;

	spool_rfc3339(when, ts);
	rc = dk_buf_adds(b, "{\"code\": ");
	if (rc == 0) rc = dk_buf_add_json_str(b, why->slug, strlen(why->slug));
	if (rc == 0) rc = dk_buf_adds(b, ", \"message\": ");
	if (rc == 0) rc = dk_buf_add_json_str(b, why->msg, strlen(why->msg));
	if (rc == 0) rc = dk_buf_adds(b, ", \"stage\": ");
	if (rc == 0) rc = dk_buf_add_json_str(b, stage, strlen(stage));
	if (rc == 0) rc = dk_buf_addf(b, ", \"time\": \"%s\", \"source_name\": ", ts);
	if (rc == 0) rc = dk_buf_add_json_str(b, valid, strlen(valid));
	if (rc == 0) rc = dk_buf_adds(b, "}\n");
	g_free(valid);
	return rc;
}

/* write_error_json - failed/<final>.error.json durably (note 5) */
static int write_error_json(struct spool *sp, const char *final, const char *name,
			    const struct dk_err *why, const char *stage, time_t when,
			    struct dk_err *err)
{
	int dfd = sp->dir[SPOOL_FAILED], fd, rc;
	char tmp[NAME_MAX + 1], dst[NAME_MAX + 1];
	struct dk_buf b = DK_BUF_INIT;

	snprintf(tmp, sizeof tmp, ".%s%s.tmp", final, JSON_SUFFIX);
	snprintf(dst, sizeof dst, "%s%s", final, JSON_SUFFIX);
	if (error_json(&b, name, why, stage, when) != 0) {
		dk_buf_release(&b);
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	}
	/* A tmp file left by a crash is ours and stale. */
	fd = dk_io_openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		rc = dk_err_set(err, DK_EIO, "cannot create 'failed/%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (dk_io_write_all(fd, b.buf, b.len) != 0 || dk_io_fsync(fd) != 0) {
		rc = dk_err_set(err, DK_EIO, "cannot write 'failed/%s': %s", tmp, strerror(errno));
		dk_io_close(fd);
		dk_io_unlinkat(dfd, tmp, 0);
		goto out;
	}
	if (dk_io_close(fd) != 0) {
		rc = dk_err_set(err, DK_EIO, "cannot write 'failed/%s': %s", tmp, strerror(errno));
		dk_io_unlinkat(dfd, tmp, 0);
		goto out;
	}
	if (rename_noreplace(dfd, tmp, dfd, dst) != 0) {
		rc = dk_err_set(err, DK_EIO, "cannot rename 'failed/%s': %s", tmp, strerror(errno));
		dk_io_unlinkat(dfd, tmp, 0);
		goto out;
	}
	if (dk_io_fsync(dfd) != 0) {
		rc = dk_err_set(err, DK_EIO, "cannot sync 'failed': %s", strerror(errno));
		dk_io_unlinkat(dfd, dst, 0);
		goto out;
	}
	rc = 0;
out:
	dk_buf_release(&b);
	return rc;
}

/* name_free - 1 if neither final nor (for failed/) final.error.json exists */
static int name_free(int dfd, const char *final, int with_json, struct dk_err *err)
{
	char js[NAME_MAX + 1];
	struct stat st;

	if (dk_io_fstatat(dfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return dk_err_set(err, DK_EIO, "cannot stat '%s': %s", final, strerror(errno));
	if (!with_json)
		return 1;
	snprintf(js, sizeof js, "%s%s", final, JSON_SUFFIX);
	if (dk_io_fstatat(dfd, js, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return dk_err_set(err, DK_EIO, "cannot stat '%s': %s", js, strerror(errno));
	return 1;
}

/* spool_finish - move work/name to done/ or failed/ without overwriting anything */
int spool_finish(struct spool *sp, const char *name, const struct dk_err *why,
		 const char *stage, time_t when, char final[NAME_MAX + 1],
		 struct dk_err *err)
{
	enum spool_dir to = why ? SPOOL_FAILED : SPOOL_DONE;
	/* failed/ also holds ".NAME.error.json.tmp": keep room for it. */
	size_t reserve = why ? strlen(JSON_SUFFIX) + 5 : 0;
	int dfd = sp->dir[to], rc;

	for (unsigned n = 0; n < 100000; n++) {
		candidate(name, n, reserve, final);
		rc = name_free(dfd, final, why != NULL, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (why && (rc = write_error_json(sp, final, name, why, stage, when, err)) != 0)
			return rc;
		if (rename_noreplace(sp->dir[SPOOL_WORK], name, dfd, final) == 0)
			return 0;
		rc = errno;
		if (why) {
			char js[NAME_MAX + 1];

			snprintf(js, sizeof js, "%s%s", final, JSON_SUFFIX);
			dk_io_unlinkat(dfd, js, 0);
		}
		if (rc == EEXIST)
			continue;
		if (rc == ENOENT)
			return dk_err_set(err, DK_ENOTFOUND, "'work/%s' vanished", name);
		return dk_err_set(err, DK_EIO, "cannot move '%s' to %s: %s", name,
				  dir_names[to], strerror(rc));
	}
	return dk_err_set(err, DK_EIO, "no free name for '%s' in %s", name, dir_names[to]);
}

/* spool_sync - fsync the directories renames went through (note 6) */
int spool_sync(struct spool *sp, struct dk_err *err)
{
	static const enum spool_dir dirs[] = { SPOOL_WORK, SPOOL_DONE, SPOOL_FAILED };

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (dk_io_fsync(sp->dir[dirs[i]]) != 0)
			return dk_err_set(err, DK_EIO, "cannot sync '%s/%s': %s", sp->root,
					  dir_names[dirs[i]], strerror(errno));
	return 0;
}

/* spool_list - visit the names in one directory */
int spool_list(struct spool *sp, enum spool_dir dir,
	       int (*fn)(const char *name, void *arg), void *arg, struct dk_err *err)
{
	DIR *d = dk_io_opendirat(sp->dir[dir]);
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return dk_err_set(err, DK_EIO, "cannot list '%s/%s': %s", sp->root,
				  dir_names[dir], strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (!spool_ignored(de->d_name))
			rc = fn(de->d_name, arg);
	closedir(d);
	return rc;
}

/* spool_sha256_fd - hash the file from its start */
int spool_sha256_fd(int fd, char hex[65], struct dk_err *err)
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	unsigned char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = dk_io_pread(fd, buf, sizeof buf, off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			g_checksum_free(ck);
			return dk_err_set(err, DK_EIO, "cannot read: %s", strerror(errno));
		}
		g_checksum_update(ck, buf, (gssize)n);
		off += n;
	}
	snprintf(hex, 65, "%s", g_checksum_get_string(ck));
	g_checksum_free(ck);
	return 0;
}

/* spool_refused_id - id of an entry whose bytes we will not read */
int spool_refused_id(struct spool *sp, const struct spool_entry *e, char hex[65],
		     struct dk_err *err)
{
	char target[PATH_MAX];
	const char *data = e->key;
	ssize_t n = (ssize_t)strlen(e->key);
	gchar *s;

	if (S_ISLNK(e->st.st_mode)) {
		n = dk_io_readlinkat(sp->dir[SPOOL_WORK], e->name, target, sizeof target);
		if (n < 0)
			return dk_err_set(err, DK_EIO, "cannot read link 'work/%s': %s",
					  e->name, strerror(errno));
		data = target;
	}
	s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, (gsize)n);
	snprintf(hex, 65, "%s", s);
	g_free(s);
	return 0;
}

/* spool_rfc3339 - UTC timestamp with seconds */
void spool_rfc3339(time_t when, char out[32])
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
