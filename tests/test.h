/*
 * NAME
 *	test.h - the unit-test harness shared by every tests/unit/test_*.c
 * SUMMARY
 *	A test file defines static void functions and a main() that calls
 *	RUN(fn) for each, then returns TEST_END(). Each test prints one line:
 *	"PASS file:fn", "FAIL file:fn: why" or "SKIP file:fn: why", which
 *	tests/run.sh counts into the closing "N passed, N failed, N skipped".
 *	CHECK() records a failure and continues; REQUIRE() also leaves the test.
 *	SKIP() ends a test as skipped (for example, ../shared absent).
 *	Tests that need the shared reference data call test_shared_dir().
 */
#ifndef DK_TEST_H
#define DK_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int test_failed_now, test_skipped_now, test_n_pass, test_n_fail, test_n_skip;
static char test_why[512];

#define CHECK(cond) do { if (!(cond)) { \
	if (!test_failed_now) snprintf(test_why, sizeof test_why, "%s:%d: CHECK(%s)", \
		__FILE__, __LINE__, #cond); \
	test_failed_now = 1; } } while (0)

#define CHECKF(cond, ...) do { if (!(cond)) { \
	if (!test_failed_now) { int k_ = snprintf(test_why, sizeof test_why, "%s:%d: ", \
		__FILE__, __LINE__); \
		if (k_ > 0 && (size_t)k_ < sizeof test_why) \
			snprintf(test_why + k_, sizeof test_why - (size_t)k_, __VA_ARGS__); } \
	test_failed_now = 1; } } while (0)

#define REQUIRE(cond) do { CHECK(cond); if (test_failed_now) return; } while (0)

#define SKIP(...) do { snprintf(test_why, sizeof test_why, __VA_ARGS__); \
	test_skipped_now = 1; return; } while (0)

#define RUN(fn) do { test_failed_now = test_skipped_now = 0; test_why[0] = 0; \
	fn(); \
	if (test_failed_now) { printf("FAIL %s:%s: %s\n", __FILE__, #fn, test_why); test_n_fail++; } \
	else if (test_skipped_now) { printf("SKIP %s:%s: %s\n", __FILE__, #fn, test_why); test_n_skip++; } \
	else { printf("PASS %s:%s\n", __FILE__, #fn); test_n_pass++; } \
	fflush(stdout); } while (0)

#define TEST_END() (test_n_fail ? 1 : 0)

/* test_shared_dir - path of ../shared (DOCKET_SHARED overrides), or NULL if absent */
static inline const char *test_shared_dir(void)
{
	static char path[4096];
	const char *env = getenv("DOCKET_SHARED");

	snprintf(path, sizeof path, "%s", env ? env : "../shared");
	return access(path, R_OK | X_OK) == 0 ? path : NULL;
}

/* test_tmpdir - a fresh private directory for this test binary */
static inline const char *test_tmpdir(void)
{
	static char dir[256];

	if (dir[0] == 0) {
		const char *base = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/dktest.XXXXXX", base ? base : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return dir;
}

#endif
