/*
 * Fault injection for pipeline/store (SQLite's test_malloc.c and
 * test_vfs.c approach): SQLite's allocator fails from call N on, or the
 * VFS fails every write, sync and truncate from call N on. For every N
 * the store must return a clean error and leave all of a document or
 * none of it, and a retry of the same claim must end with exactly one.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/audit.h"
#include "pipeline/store.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- malloc */

static sqlite3_mem_methods real_mem;
static long mem_countdown = -1;		/* -1: off; 0: every call fails */

static int mem_fails(void)
{
	if (mem_countdown < 0)
		return 0;
	if (mem_countdown == 0)
		return 1;
	mem_countdown--;
	return 0;
}

static void *f_malloc(int n)
{
	return mem_fails() ? NULL : real_mem.xMalloc(n);
}

static void *f_realloc(void *p, int n)
{
	return mem_fails() ? NULL : real_mem.xRealloc(p, n);
}

static int install_malloc(void)
{
	static sqlite3_mem_methods m;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return -1;
	m = real_mem;
	m.xMalloc = f_malloc;
	m.xRealloc = f_realloc;
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? 0 : -1;
}

/* ---------------------------------------------------------------- vfs */

struct ffile {
	sqlite3_file base;
	sqlite3_file *real;	/* follows this struct in the same allocation */
};

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs faulty_vfs;
static long io_countdown = -1;

static int io_fails(void)
{
	if (io_countdown < 0)
		return 0;
	if (io_countdown == 0)
		return 1;
	io_countdown--;
	return 0;
}

#define REAL(f) (((struct ffile *)(f))->real)
#define FWD(f, m, ...) REAL(f)->pMethods->m(REAL(f), ##__VA_ARGS__)

static int f_close(sqlite3_file *f) { return FWD(f, xClose); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return FWD(f, xRead, b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	return io_fails() ? SQLITE_IOERR_WRITE : FWD(f, xWrite, b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 n)
{
	return io_fails() ? SQLITE_IOERR_TRUNCATE : FWD(f, xTruncate, n);
}
/*
 * Syncs are counted and failed but not performed: this test is about
 * error paths, and a real fsync per commit would only add wall time.
 */
static int f_sync(sqlite3_file *f, int flags)
{
	(void)f;
	(void)flags;
	return io_fails() ? SQLITE_IOERR_FSYNC : SQLITE_OK;
}
static int f_size(sqlite3_file *f, sqlite3_int64 *n) { return FWD(f, xFileSize, n); }
static int f_lock(sqlite3_file *f, int l) { return FWD(f, xLock, l); }
static int f_unlock(sqlite3_file *f, int l) { return FWD(f, xUnlock, l); }
static int f_check(sqlite3_file *f, int *r) { return FWD(f, xCheckReservedLock, r); }
static int f_fcntl(sqlite3_file *f, int op, void *a) { return FWD(f, xFileControl, op, a); }
static int f_sector(sqlite3_file *f) { return FWD(f, xSectorSize); }
static int f_dev(sqlite3_file *f) { return FWD(f, xDeviceCharacteristics); }
static int f_shmmap(sqlite3_file *f, int i, int sz, int ext, void volatile **p)
{
	return FWD(f, xShmMap, i, sz, ext, p);
}
static int f_shmlock(sqlite3_file *f, int o, int n, int fl) { return FWD(f, xShmLock, o, n, fl); }
static void f_shmbarrier(sqlite3_file *f) { FWD(f, xShmBarrier); }
static int f_shmunmap(sqlite3_file *f, int del) { return FWD(f, xShmUnmap, del); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p) { return FWD(f, xFetch, o, n, p); }
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return FWD(f, xUnfetch, o, p); }

static const sqlite3_io_methods faulty_methods = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_check,
	f_fcntl, f_sector, f_dev, f_shmmap, f_shmlock, f_shmbarrier, f_shmunmap, f_fetch,
	f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct ffile *ff = (struct ffile *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = unix_vfs->xOpen(unix_vfs, name, ff->real, flags, out);
	ff->base.pMethods = ff->real->pMethods ? &faulty_methods : NULL;
	return rc;
}

static int install_vfs(void)
{
	unix_vfs = sqlite3_vfs_find(NULL);
	if (unix_vfs == NULL || unix_vfs->iVersion < 3)
		return -1;
	faulty_vfs = *unix_vfs;
	faulty_vfs.zName = "faulty";
	faulty_vfs.szOsFile = (int)sizeof(struct ffile) + unix_vfs->szOsFile;
	faulty_vfs.xOpen = f_open;
	return sqlite3_vfs_register(&faulty_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* ---------------------------------------------------------------- tests */

static const char *db_path(const char *name)
{
	static char p[512];
	char side[600];

	snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
	unlink(p);
	snprintf(side, sizeof side, "%s-wal", p);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", p);
	unlink(side);
	return p;
}

static int64_t count(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* parts - how many of the document's rows exist: 0 (none) or 7 (all) */
static int64_t parts(struct store *st)
{
	return count(st, "SELECT (SELECT count(*) FROM documents) + (SELECT count(*) FROM texts) "
		     "+ (SELECT count(*) FROM pages) + (SELECT count(*) FROM receipts) "
		     "+ (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM stage_timings)");
}

#define ALL_PARTS 7	/* 1 document, 1 text, 2 pages, 1 receipt, 1 audit, 1 timing */

static void sample(struct store_doc *d, char id[65])
{
	static const char text[] = "Antrag auf Baugenehmigung\n\nSeite 2";
	static const size_t starts[] = { 0, 27 };
	static const struct store_timing t[] = { { "extract", 3.0 } };

	store_sha256_hex("fault", 5, id);
	store_doc_init(d);
	d->id = id;
	d->claim = "claim-1";
	d->source_name = "antrag.pdf";
	d->format = "pdf";
	d->text = text;
	d->text_len = strlen(text);
	d->pages = 2;
	d->page_start = starts;
	d->timings = t;
	d->n_timings = 1;
}

static int clean_code(int rc)
{
	return rc == DK_ENOMEM || rc == DK_EIO || rc == DK_EAGAIN || rc == DK_ECORRUPT;
}

/* SQLite allocations fail from call N on: all or nothing, connection usable. */
static void malloc_sweep_put(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	char id[65];
	long n;
	int rc = -1;

	REQUIRE(store_open(&st, db_path("oom.db"), STORE_CREATE, &e) == 0);
	sample(&d, id);
	for (n = 0; n < 20000 && rc != 0; n++) {
		int64_t p;

		mem_countdown = n;
		rc = store_put_document(&st, &d, NULL, &e);
		mem_countdown = -1;
		p = parts(&st);
		CHECKF(rc == 0 || clean_code(rc), "n=%ld: unexpected code %d", n, rc);
		CHECKF(p == (rc == 0 ? ALL_PARTS : 0), "n=%ld: rc=%d but %lld rows", n, rc, (long long)p);
		CHECKF(sqlite3_get_autocommit(store_db(&st)), "n=%ld: transaction left open", n);
		if (test_failed_now)
			break;
	}
	CHECKF(rc == 0, "never succeeded (n=%ld)", n);
	CHECK(n > 5);	/* the sweep really failed some allocations */
	CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
	store_close(&st);
}

/* Writes, syncs and truncates fail from call N on, then the process "restarts". */
static void io_sweep_put(void)
{
	struct store st;
	struct store_doc d;
	struct dk_err e = DK_ERR_INIT;
	enum store_outcome o;
	const char *p = db_path("io.db");
	char id[65];
	long n;
	int rc = -1, partial_commits = 0;

	sample(&d, id);
	for (n = 0; n < 2000 && rc != 0; n++) {
		int64_t got;

		db_path("io.db");
		REQUIRE(store_open(&st, p, STORE_CREATE, &e) == 0);
		io_countdown = n;
		rc = store_put_document(&st, &d, NULL, &e);
		io_countdown = -1;
		store_close(&st);
		REQUIRE(store_open(&st, p, 0, &e) == 0);
		got = parts(&st);
		CHECKF(rc == 0 || clean_code(rc), "n=%ld: unexpected code %d", n, rc);
		/* a failed sync may still have committed: all or nothing either way */
		CHECKF(got == ALL_PARTS || (rc != 0 && got == 0), "n=%ld: rc=%d, %lld rows",
		       n, rc, (long long)got);
		partial_commits += rc != 0 && got == ALL_PARTS;
		/* the spool retries the same claim: exactly one document results */
		CHECKF(store_put_document(&st, &d, &o, &e) == 0, "n=%ld: retry: %.200s", n, e.msg);
		CHECK(parts(&st) == ALL_PARTS);
		CHECK(audit_verify(store_db(&st), NULL, &e) == 0);
		store_close(&st);
		if (test_failed_now)
			break;
	}
	CHECKF(rc == 0, "never succeeded (n=%ld)", n);
	CHECK(n > 3);
	printf("  io sweep: %ld failure points, %d committed although the call failed\n",
	       n, partial_commits);
}

/* Migrations on a fresh file under I/O failure: never half a schema. */
static void io_sweep_open(void)
{
	struct store st;
	struct dk_err e = DK_ERR_INIT;
	const char *p = db_path("mig.db");
	long n;
	int rc = -1;

	for (n = 0; n < 2000 && rc != 0; n++) {
		db_path("mig.db");
		io_countdown = n;
		rc = store_open(&st, p, STORE_CREATE, &e);
		io_countdown = -1;
		CHECKF(rc == 0 || clean_code(rc), "n=%ld: unexpected code %d: %.200s", n, rc, e.msg);
		if (rc == 0)
			store_close(&st);
		CHECKF(store_open(&st, p, STORE_CREATE, &e) == 0, "n=%ld: reopen: %.200s", n, e.msg);
		CHECK(count(&st, "PRAGMA user_version") == store_schema_version());
		CHECK(count(&st, "SELECT count(*) FROM sqlite_master WHERE name = 'result_records'") == 1);
		store_close(&st);
		if (test_failed_now)
			break;
	}
	CHECKF(rc == 0, "never succeeded (n=%ld)", n);
}

int main(void)
{
	if (install_malloc() != 0 || install_vfs() != 0) {
		printf("FAIL test_store_faults: cannot install the fault layers\n");
		return 1;
	}
	RUN(malloc_sweep_put);
	RUN(io_sweep_put);
	RUN(io_sweep_open);
	return TEST_END();
}
