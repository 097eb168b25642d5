/*
 * Unit tests for pipeline/spool.c and util/dk_io.c: the claim protocol,
 * ignore rules, symlink and hard-link refusal, odd names, collisions,
 * error.json, and a fault sweep that fails every file operation in turn
 * (EIO, ENOSPC; once and persistently) and checks that nothing is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "pipeline/scanner.h"
#include "pipeline/spool.h"
#include "tests/test.h"
#include "util/dk_io.h"

static const char *const dirs[] = { "inbox", "work", "done", "failed" };

/* fresh_spool - a new empty spool directory under the test tmpdir */
static const char *fresh_spool(struct spool *sp)
{
	static char root[512];
	static int seq;
	struct dk_err err = DK_ERR_INIT;

	snprintf(root, sizeof root, "%s/sp%d", test_tmpdir(), ++seq);
	if (spool_open(sp, root, &err) != 0) {
		printf("spool_open: %s\n", err.msg);
		return NULL;
	}
	return root;
}

static int put_file(const char *root, const char *dir, const char *name, const char *body)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(body, f);
	return fclose(f);
}

/* where - which spool directory holds name (lstat), -1 if none, -2 if several */
static int where(const char *root, const char *name)
{
	char path[1024];
	struct stat st;
	int found = -1;

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", root, dirs[i], name);
		if (lstat(path, &st) == 0)
			found = found == -1 ? i : -2;
	}
	return found;
}

static char *slurp(const char *root, const char *dir, const char *name)
{
	char path[1024];
	gchar *s = NULL;

	snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
	if (!g_file_get_contents(path, &s, NULL, NULL))
		return NULL;
	return s;
}

static void ignore_rules(void)
{
	CHECK(spool_ignored(".hidden"));
	CHECK(spool_ignored("scan.pdf.part"));
	CHECK(spool_ignored("scan.TMP"));
	CHECK(spool_ignored("x.crdownload"));
	CHECK(!spool_ignored("report.pdf"));
	CHECK(!spool_ignored("part"));
	CHECK(!spool_ignored("a tmp file.txt"));
}

static void claim_moves_and_keys(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char hex[65];
	int fd;

	REQUIRE(root != NULL);
	REQUIRE(put_file(root, "inbox", "a.txt", "abc") == 0);
	CHECK(spool_claim(&sp, "a.txt", &e, &err) == 0);
	CHECK(where(root, "a.txt") == 1);
	CHECK(!e.refused && e.key[0] != 0);
	REQUIRE(spool_open_work(&sp, "a.txt", &fd, &err) == 0);
	CHECK(spool_sha256_fd(fd, hex, &err) == 0);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	close(fd);
	/* The same claim examined again (a crash leftover) has the same key. */
	{
		struct spool_entry again;

		CHECK(spool_examine(&sp, "a.txt", &again, &err) == 0);
		CHECK(strcmp(again.key, e.key) == 0);
	}
	CHECK(spool_claim(&sp, "missing", &e, &err) == DK_ENOTFOUND);
	spool_release(&sp);
}

static void claim_waits_for_busy_name(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char *s;

	REQUIRE(root != NULL);
	REQUIRE(put_file(root, "work", "same.txt", "first") == 0);
	REQUIRE(put_file(root, "inbox", "same.txt", "second") == 0);
	CHECK(spool_claim(&sp, "same.txt", &e, &err) == DK_EAGAIN);
	s = slurp(root, "inbox", "same.txt");
	CHECK(s && strcmp(s, "second") == 0);
	g_free(s);
	s = slurp(root, "work", "same.txt");
	CHECK(s && strcmp(s, "first") == 0);
	g_free(s);
	spool_release(&sp);
}

static void symlink_is_failed_as_itself(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT, why = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char path[1024], target[1024], final[NAME_MAX + 1], hex[65];
	struct stat st;
	char *js;
	int fd;

	REQUIRE(root != NULL);
	snprintf(target, sizeof target, "%s/secret", root);
	REQUIRE(g_file_set_contents(target, "do not read", -1, NULL));
	snprintf(path, sizeof path, "%s/inbox/link.pdf", root);
	REQUIRE(symlink(target, path) == 0);
	CHECK(spool_claim(&sp, "link.pdf", &e, &err) == 0);
	CHECK(e.refused);
	CHECK(spool_open_work(&sp, "link.pdf", &fd, &err) == DK_EPERM);
	CHECK(strcmp(err.slug, "refused") == 0);
	CHECK(spool_refused_id(&sp, &e, hex, &err) == 0 && strlen(hex) == 64);
	dk_err_setx(&why, DK_EPERM, "refused", "'%s' is a %s", e.name, e.why);
	CHECK(spool_finish(&sp, "link.pdf", &why, "spool", 0, final, &err) == 0);
	snprintf(path, sizeof path, "%s/failed/link.pdf", root);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	js = slurp(root, "failed", "link.pdf.error.json");
	CHECK(js && strstr(js, "\"code\": \"refused\"") && strstr(js, "\"stage\": \"spool\"") &&
	      strstr(js, "\"time\": \"1970-01-01T00:00:00Z\""));
	g_free(js);
	js = slurp(root, "", "secret");
	CHECK(js && strcmp(js, "do not read") == 0);
	g_free(js);
	spool_release(&sp);
}

static void hardlink_is_refused(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char a[1024], b[1024];
	int fd;

	REQUIRE(root != NULL);
	REQUIRE(put_file(root, "inbox", "h.txt", "linked") == 0);
	snprintf(a, sizeof a, "%s/inbox/h.txt", root);
	snprintf(b, sizeof b, "%s/other", root);
	REQUIRE(link(a, b) == 0);
	CHECK(spool_claim(&sp, "h.txt", &e, &err) == 0);
	CHECK(e.refused && strstr(e.why, "hard links"));
	CHECK(spool_open_work(&sp, "h.txt", &fd, &err) == DK_EPERM);
	spool_release(&sp);
}

static void directory_left_alone(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char path[1024];

	REQUIRE(root != NULL);
	snprintf(path, sizeof path, "%s/inbox/sub", root);
	REQUIRE(mkdir(path, 0700) == 0);
	CHECK(spool_claim(&sp, "sub", &e, &err) == DK_EUNSUPPORTED);
	CHECK(where(root, "sub") == 0);
	spool_release(&sp);
}

static void odd_names_survive(void)
{
	static const char *const names[] = {
		"with space.txt", "Akte \xc3\x9c" "berpr\xc3\xbc" "fung.pdf", "new\nline.txt",
		"bad\xff\xfeutf8.txt", "-dash", "x'\"$(rm).txt",
	};
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT, why = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char final[NAME_MAX + 1], js[NAME_MAX + 1];

	REQUIRE(root != NULL);
	dk_err_setx(&why, DK_EFORMAT, "malformed_input", "cannot parse");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		REQUIRE(put_file(root, "inbox", names[i], names[i]) == 0);
		CHECKF(spool_claim(&sp, names[i], &e, &err) == 0, "%.200s", err.msg);
		CHECK(strcmp(e.name, names[i]) == 0);
		CHECK(spool_finish(&sp, names[i], i % 2 ? &why : NULL, "extract", 0, final,
				   &err) == 0);
		CHECK(strcmp(final, names[i]) == 0);
		CHECK(where(root, names[i]) == (i % 2 ? 3 : 2));
		if (i % 2) {
			char *s;

			snprintf(js, sizeof js, "%s.error.json", names[i]);
			s = slurp(root, "failed", js);
			CHECK(s && g_utf8_validate(s, -1, NULL));
			g_free(s);
		}
	}
	CHECK(spool_sync(&sp, &err) == 0);
	spool_release(&sp);
}

static void collisions_keep_both(void)
{
	struct spool sp;
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT, why = DK_ERR_INIT;
	const char *root = fresh_spool(&sp);
	char final[NAME_MAX + 1], longname[NAME_MAX + 1];
	char *s;

	REQUIRE(root != NULL);
	dk_err_setx(&why, DK_EFORMAT, "corrupt_pdf", "bad xref");
	for (int round = 0; round < 3; round++) {
		char body[16];

		snprintf(body, sizeof body, "v%d", round);
		REQUIRE(put_file(root, "inbox", "r.pdf", body) == 0);
		REQUIRE(spool_claim(&sp, "r.pdf", &e, &err) == 0);
		REQUIRE(spool_finish(&sp, "r.pdf", NULL, "", 0, final, &err) == 0);
		REQUIRE(put_file(root, "inbox", "r.pdf", body) == 0);
		REQUIRE(spool_claim(&sp, "r.pdf", &e, &err) == 0);
		REQUIRE(spool_finish(&sp, "r.pdf", &why, "extract", 0, final, &err) == 0);
	}
	s = slurp(root, "done", "r~2.pdf");
	CHECK(s && strcmp(s, "v2") == 0);
	g_free(s);
	s = slurp(root, "failed", "r~1.pdf.error.json");
	CHECK(s && strstr(s, "corrupt_pdf"));
	g_free(s);
	CHECK(where(root, "r.pdf") == -2);
	/* A maximal name still gets its error.json (the stem is shortened). */
	memset(longname, 'n', NAME_MAX);
	longname[NAME_MAX] = 0;
	REQUIRE(put_file(root, "inbox", longname, "long") == 0);
	REQUIRE(spool_claim(&sp, longname, &e, &err) == 0);
	CHECKF(spool_finish(&sp, longname, &why, "extract", 0, final, &err) == 0, "%.200s", err.msg);
	CHECK(strlen(final) < NAME_MAX && strstr(final, "~0"));
	spool_release(&sp);
}

/*
 * one_pass - claim, open, hash, finish, sync the file "doc.txt" from
 * wherever it is now; stops at the first error (like the supervisor,
 * which retries later).
 */
static int one_pass(struct spool *sp, const char *root, int failed)
{
	struct spool_entry e;
	struct dk_err err = DK_ERR_INIT, why = DK_ERR_INIT;
	char final[NAME_MAX + 1], hex[65];
	int fd, rc;

	dk_err_setx(&why, DK_EFORMAT, "malformed_input", "bad");
	if (where(root, "doc.txt") == 0 && (rc = spool_claim(sp, "doc.txt", &e, &err)) != 0)
		return rc;
	if ((rc = spool_examine(sp, "doc.txt", &e, &err)) != 0)
		return rc;
	if ((rc = spool_open_work(sp, "doc.txt", &fd, &err)) != 0)
		return rc;
	rc = spool_sha256_fd(fd, hex, &err);
	dk_io_close(fd);
	if (rc != 0)
		return rc;
	if ((rc = spool_finish(sp, "doc.txt", failed ? &why : NULL, "extract", 0, final, &err)) != 0)
		return rc;
	return spool_sync(sp, &err);
}

/*
 * locate - where the document is: doc.txt, or doc~N.txt when an orphan
 * error.json (note 5 of spool.c) took the name; -1 nowhere, -2 twice
 */
static int locate(const char *root, char name[32])
{
	int at = -1;

	for (int n = 0; n < 4; n++) {
		char cand[32];
		int w;

		snprintf(cand, sizeof cand, n ? "doc~%d.txt" : "doc.txt", n);
		w = where(root, cand);
		if (w == -2 || (w >= 0 && at != -1))
			return -2;
		if (w >= 0) {
			at = w;
			snprintf(name, 32, "%s", cand);
		}
	}
	return at;
}

/* intact - the document exists exactly once, with its bytes; in failed/ with its json */
static int intact(const char *root)
{
	char name[32], js[64];
	int at = locate(root, name);
	char *s;
	int ok;

	if (at < 0)
		return 0;
	s = slurp(root, dirs[at], name);
	ok = s && strcmp(s, "precious") == 0;
	g_free(s);
	if (ok && at == 3) {
		snprintf(js, sizeof js, "%s.error.json", name);
		s = slurp(root, "failed", js);
		ok = s != NULL;
		g_free(s);
	}
	return ok;
}

static void sweep(int errnum, int persistent, int failed)
{
	for (long n = 1; n < 200; n++) {
		struct spool sp;
		const char *root = fresh_spool(&sp);
		char name[32];
		long hits;
		int rc, at;

		REQUIRE(root != NULL);
		REQUIRE(put_file(root, "inbox", "doc.txt", "precious") == 0);
		dk_io_fault_arm(n, errnum, DK_IO_ALL, persistent);
		rc = one_pass(&sp, root, failed);
		hits = dk_io_fault_hits();
		dk_io_fault_arm(0, 0, 0, 0);
		CHECKF(intact(root), "lost at call %ld (errno %d, persistent %d)", n, errnum, persistent);
		if (hits == 0) {
			CHECK(rc == 0);
			spool_release(&sp);
			return;
		}
		CHECKF(rc != 0 || locate(root, name) >= 2,
		       "fault at call %ld reported success early", n);
		/* Retry without faults, as a restart would: it must end the job. */
		for (int tries = 0; tries < 3 && locate(root, name) < 2; tries++)
			one_pass(&sp, root, failed);
		at = locate(root, name);
		CHECKF(at == (failed ? 3 : 2) && intact(root),
		       "retry after fault at call %ld left it in %d", n, at);
		spool_release(&sp);
	}
	CHECK(!"sweep did not end");
}

static void fault_sweep_eio_done(void) { sweep(EIO, 0, 0); }
static void fault_sweep_enospc_failed(void) { sweep(ENOSPC, 0, 1); }
static void fault_sweep_persistent_failed(void) { sweep(EIO, 1, 1); }
static void fault_sweep_persistent_done(void) { sweep(ENOSPC, 1, 0); }

static void lock_is_exclusive(void)
{
	struct spool a, b;
	struct dk_err err = DK_ERR_INIT;
	const char *root = fresh_spool(&a);

	REQUIRE(root != NULL);
	CHECK(spool_lock(&a, &err) == 0);
	REQUIRE(spool_open(&b, root, &err) == 0);
	CHECK(spool_lock(&b, &err) == DK_EAGAIN && strstr(err.msg, "in use"));
	spool_release(&a);
	CHECK(spool_lock(&b, &err) == 0);
	spool_release(&b);
}

/* json_complete - every error.json in failed/ is whole (spool.c note 5) */
static int json_complete(const char *root)
{
	char dir[600];
	GDir *d;
	const char *n;
	int ok = 1;

	snprintf(dir, sizeof dir, "%s/failed", root);
	d = g_dir_open(dir, 0, NULL);
	if (d == NULL)
		return 0;
	while ((n = g_dir_read_name(d)) != NULL) {
		char *s;

		if (n[0] == '.' || !g_str_has_suffix(n, ".error.json"))
			continue;
		s = slurp(root, "failed", n);
		ok &= s && g_str_has_prefix(s, "{\"code\": \"malformed_input\"") &&
		      g_str_has_suffix(s, "}\n");
		g_free(s);
	}
	g_dir_close(d);
	return ok;
}

/*
 * crash_sweep - a power cut at every call N of one pass (test6.c): after
 * the unsynced changes are dropped or torn, the document is still there
 * exactly once, whole, any error.json present is whole, and a restart
 * (a fault-free pass) finishes the job.
 */
static void crash_sweep(enum dk_io_crash_mode mode, int failed)
{
	for (long n = 1; n < 200; n++) {
		struct spool sp;
		const char *root = fresh_spool(&sp);
		char name[32];
		long hits;
		int at;

		REQUIRE(root != NULL);
		REQUIRE(put_file(root, "inbox", "doc.txt", "precious") == 0);
		dk_io_crash_arm(n);
		one_pass(&sp, root, failed);
		hits = dk_io_fault_hits();
		spool_release(&sp);	/* the process is gone */
		CHECKF(dk_io_crash_apply(mode) == 0, "cannot apply crash at call %ld", n);
		CHECKF(intact(root) || (failed && locate(root, name) == 1),
		       "lost after crash at call %ld (mode %d)", n, (int)mode);
		CHECKF(json_complete(root), "torn error.json after crash at call %ld", n);
		REQUIRE(spool_open(&sp, root, NULL) == 0);
		for (int tries = 0; tries < 3 && locate(root, name) < 2; tries++)
			one_pass(&sp, root, failed);
		at = locate(root, name);
		CHECKF(at == (failed ? 3 : 2) && intact(root) && json_complete(root),
		       "restart after crash at call %ld left it in %d", n, at);
		spool_release(&sp);
		if (hits == 0)
			return;
	}
	CHECK(!"crash sweep did not end");
}

static void crash_drop_failed(void) { crash_sweep(DK_IO_CRASH_DROP, 1); }
static void crash_drop_done(void) { crash_sweep(DK_IO_CRASH_DROP, 0); }
static void crash_tear_failed(void) { crash_sweep(DK_IO_CRASH_TEAR, 1); }

struct seen_names {
	char names[16][64];
	int n;
};

static int collect(const char *name, void *arg)
{
	struct seen_names *s = arg;

	if (s->n < 16)
		snprintf(s->names[s->n++], 64, "%s", name);
	return 0;
}

static int offered(const struct seen_names *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 1;
	return 0;
}

static void age(const char *root, const char *name, double secs)
{
	char path[1024];
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= (time_t)secs;
	ts[1] = ts[0];
	snprintf(path, sizeof path, "%s/inbox/%s", root, name);
	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/*
 * scanner_readiness - a fresh file waits for stable_secs, an old one is
 * ready; a change restarts the wait; a close event makes it ready at once;
 * ignored names and directories are neither offered nor pending; symlinks
 * are offered at once (to be refused).
 */
static void scanner_readiness(void)
{
	struct spool sp;
	struct scanner sc;
	struct dk_err err = DK_ERR_INIT;
	struct seen_names got = { .n = 0 };
	const char *root = fresh_spool(&sp);
	char path[1024];
	double now = (double)time(NULL);
	int pending;

	REQUIRE(root != NULL);
	REQUIRE(scanner_open(&sc, &sp, 30, &err) == 0);
	snprintf(path, sizeof path, "%s/inbox/sub", root);
	REQUIRE(mkdir(path, 0700) == 0);
	snprintf(path, sizeof path, "%s/inbox/link", root);
	REQUIRE(symlink("/etc/passwd", path) == 0);
	REQUIRE(put_file(root, "inbox", "old.txt", "old") == 0);
	REQUIRE(put_file(root, "inbox", "fresh.txt", "fresh") == 0);
	REQUIRE(put_file(root, "inbox", ".dot", "x") == 0);
	REQUIRE(put_file(root, "inbox", "x.part", "x") == 0);
	age(root, "old.txt", 3600);
	scanner_events(&sc);	/* close events seen: forget them for this check */
	scanner_release(&sc);
	REQUIRE(scanner_open(&sc, &sp, 30, &err) == 0);
	CHECK(scanner_scan(&sc, now, collect, &got, &pending, &err) == 0);
	CHECK(got.n == 2 && offered(&got, "old.txt") && offered(&got, "link"));
	CHECK(pending == 1);	/* fresh.txt */
	got.n = 0;
	CHECK(scanner_scan(&sc, now + 31, collect, &got, &pending, &err) == 0);
	CHECK(offered(&got, "fresh.txt") && pending == 0);
	/* A change restarts the wait. */
	REQUIRE(put_file(root, "inbox", "fresh.txt", "fresh and longer") == 0);
	scanner_release(&sc);
	REQUIRE(scanner_open(&sc, &sp, 30, &err) == 0);
	got.n = 0;
	CHECK(scanner_scan(&sc, now, collect, &got, &pending, &err) == 0);
	CHECK(!offered(&got, "fresh.txt") && pending == 1);
	REQUIRE(put_file(root, "inbox", "fresh.txt", "changed again") == 0);
	got.n = 0;
	if (scanner_fd(&sc) >= 0) {	/* the writer closed it: ready now */
		CHECK(scanner_events(&sc) == 1);
		CHECK(scanner_scan(&sc, now, collect, &got, &pending, &err) == 0);
		CHECK(offered(&got, "fresh.txt") && pending == 0);
	}
	scanner_release(&sc);
	spool_release(&sp);
}

static void fault_layer_counts(void)
{
	struct stat st;

	dk_io_fault_arm(2, ENOSPC, DK_IO_STAT, 0);
	CHECK(dk_io_fstatat(AT_FDCWD, ".", &st, 0) == 0);
	CHECK(dk_io_fstatat(AT_FDCWD, ".", &st, 0) == -1 && errno == ENOSPC);
	CHECK(dk_io_fstatat(AT_FDCWD, ".", &st, 0) == 0);
	CHECK(dk_io_fault_calls() == 3 && dk_io_fault_hits() == 1);
	dk_io_fault_arm(0, 0, 0, 0);
	CHECK(dk_io_fstatat(AT_FDCWD, ".", &st, 0) == 0 && dk_io_fault_calls() == 0);
}

int main(void)
{
	RUN(ignore_rules);
	RUN(claim_moves_and_keys);
	RUN(claim_waits_for_busy_name);
	RUN(symlink_is_failed_as_itself);
	RUN(hardlink_is_refused);
	RUN(directory_left_alone);
	RUN(odd_names_survive);
	RUN(collisions_keep_both);
	RUN(lock_is_exclusive);
	RUN(scanner_readiness);
	RUN(fault_layer_counts);
	RUN(fault_sweep_eio_done);
	RUN(fault_sweep_enospc_failed);
	RUN(fault_sweep_persistent_failed);
	RUN(fault_sweep_persistent_done);
	RUN(crash_drop_failed);
	RUN(crash_drop_done);
	RUN(crash_tear_failed);
	return TEST_END();
}
