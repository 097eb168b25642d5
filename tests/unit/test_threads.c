/*
 * test_threads - the worker pool: every share runs exactly once per
 * generation and its writes are visible to the caller when
 * thr_pool_run() returns, whether the workers were spinning or asleep;
 * pools stop cleanly in either state. The spin/sleep switch is timing
 * driven, so the tests force both states (back-to-back runs, and runs
 * after a pause far longer than any spin budget) rather than measure.
 */
#include <stdint.h>
#include <time.h>

#include "engine/threads.h"
#include "tests/test.h"

#define MAX_TH 4

struct job {
	uint64_t gen;
	uint64_t seen[MAX_TH];	/* gen as seen by each share */
	uint64_t count[MAX_TH];	/* calls per share */
	int nth_seen[MAX_TH];
};

static void job_fn(void *arg, int ith, int nth)
{
	struct job *j = arg;

	j->seen[ith] = j->gen;
	j->count[ith]++;
	j->nth_seen[ith] = nth;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* run_checked - one generation; every share saw it, once */
static int run_checked(struct thr_pool *p, struct job *j, int nth)
{
	j->gen++;
	thr_pool_run(p, job_fn, j);
	for (int i = 0; i < nth; i++)
		if (j->seen[i] != j->gen || j->count[i] != j->gen || j->nth_seen[i] != nth)
			return 0;
	return 1;
}

static void test_back_to_back(void)
{
	for (int nth = 1; nth <= MAX_TH; nth++) {
		struct thr_pool *p;
		struct dk_err err = { 0 };
		struct job j = { 0 };
		REQUIRE(thr_pool_new(nth, &p, &err) == 0);
		CHECK(thr_pool_size(p) == nth);
		int ok = 1;
		for (int g = 0; g < 3000 && ok; g++)
			ok = run_checked(p, &j, nth);
		CHECKF(ok, "nth %d: generation %llu incomplete", nth, (unsigned long long)j.gen);
		thr_pool_free(p);
	}
}

static void test_after_sleep(void)
{
	struct thr_pool *p;
	struct dk_err err = { 0 };
	struct job j = { 0 };
	int ok = 1;

	REQUIRE(thr_pool_new(3, &p, &err) == 0);
	for (int g = 0; g < 6 && ok; g++) {
		pause_ms(20);	/* workers and caller past any spin budget: asleep */
		ok = run_checked(p, &j, 3) && run_checked(p, &j, 3);
	}
	CHECKF(ok, "generation %llu incomplete", (unsigned long long)j.gen);
	thr_pool_free(p);
}

static void test_free_states(void)
{
	struct thr_pool *p;
	struct dk_err err = { 0 };

	REQUIRE(thr_pool_new(3, &p, &err) == 0);
	thr_pool_free(p);	/* workers possibly not yet waiting */
	REQUIRE(thr_pool_new(3, &p, &err) == 0);
	pause_ms(20);
	thr_pool_free(p);	/* workers asleep */
	thr_pool_free(NULL);
}

int main(void)
{
	RUN(test_back_to_back);
	RUN(test_after_sleep);
	RUN(test_free_states);
	return TEST_END();
}
