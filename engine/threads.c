/*
 * NAME
 *	threads - worker pool for eng_decode()
 * DESIGN NOTES
 *	1. A run is a generation: the caller publishes (fn, arg) and bumps
 *	   gen; each worker runs its share once per generation and bumps
 *	   n_done; the caller waits until n_done == nth - 1.
 *	2. Workers never choose work: thread ith always gets the same slice
 *	   for the same n (thr_split), the basis of the bitwise determinism
 *	   across runs (and, since each output element is computed by one
 *	   fixed-order loop, across thread counts).
 *	3. Shutdown is a generation with fn == NULL.
 *	4. A generated token runs ~15 generations per layer of a few to a few
 *	   tens of microseconds each, so a sleep/wake handoff per generation
 *	   costs more than the work it splits (2 threads generated slower than
 *	   1). Both waits (workers on gen, the caller on n_done) therefore
 *	   poll with a pause loop and sleep on a futex only after a spin
 *	   budget, so an idle pool burns no CPU.
 *	5. The budget depends on whether the machine is overloaded, which each
 *	   waiting thread learns from its own involuntary context switches
 *	   (checked every SPIN_RECHECK waits): none since the last check, the
 *	   threads own their cores and a long spin (SPIN_LONG_NS) covers the
 *	   serial gaps between generations; some, the partner thread is often
 *	   preempted and polling only burns this process's share of the CPU,
 *	   so the budget drops to SPIN_SHORT_NS and the pool behaves as a
 *	   sleeping one (measured under load 8 on 2 cores: tg 10 t/s sleeping,
 *	   8.6 with a 10 us spin, 3.8 with 100 us; on quiet cores 30, 44, 49).
 *	6. Sleeping is a Dekker handshake on seq_cst atomics: a waiter raises
 *	   its sleepers count and re-reads the word; the waker changes the
 *	   word and then reads the count. One of the two sees the other, and
 *	   FUTEX_WAIT itself re-checks the word in the kernel, so no wake-up
 *	   is lost and no wake syscall is paid while everybody spins.
 *	7. gen/fn/arg, n_done and the sleeper counts sit on separate cache
 *	   lines, so the caller's polling does not bounce the line the
 *	   workers poll and vice versa.
 */
#include "engine/threads.h"

#include <errno.h>
#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LINE 64
#define SPIN_LONG_NS 200000	/* note 5 */
#define SPIN_SHORT_NS 2000
#define SPIN_RECHECK 32		/* waits between getrusage() calls */
#define SPIN_CHECK 32		/* polls between clock reads */

/* spin - one waiting thread's budget (note 5) */
struct spin {
	int64_t ns;
	unsigned waits;
	long nivcsw;
};

struct thr_pool {
	_Alignas(LINE) atomic_uint gen;	/* note 7 */
	thr_fn fn;
	void *arg;
	_Alignas(LINE) atomic_uint n_done;
	_Alignas(LINE) atomic_int gen_sleepers;
	atomic_int done_sleepers;
	struct spin caller_spin;
	int nth;
	pthread_t *tid;
};

struct worker_arg {
	struct thr_pool *p;
	int ith;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void futex_wait(atomic_uint *w, unsigned val)
{
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
	syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* spin_adapt - every SPIN_RECHECK waits, long budget unless preempted since (note 5) */
static void spin_adapt(struct spin *sp)
{
	struct rusage ru;

	if (sp->waits++ % SPIN_RECHECK != 0 || getrusage(RUSAGE_THREAD, &ru) != 0)
		return;
	sp->ns = ru.ru_nivcsw == sp->nivcsw ? SPIN_LONG_NS : SPIN_SHORT_NS;
	sp->nivcsw = ru.ru_nivcsw;
}

/* await_change - the first value of *w other than old: poll, then sleep (notes 4-6) */
static unsigned await_change(atomic_uint *w, unsigned old, atomic_int *sleepers, struct spin *sp)
{
	int64_t t0 = 0;
	unsigned v;

	spin_adapt(sp);
	for (unsigned i = 1;; i++) {
		if ((v = atomic_load_explicit(w, memory_order_acquire)) != old)
			return v;
		_mm_pause();
		if (i % SPIN_CHECK != 0)
			continue;
		int64_t t = now_ns();
		if (t0 == 0)
			t0 = t;
		else if (t - t0 > sp->ns)
			break;
	}
	atomic_fetch_add(sleepers, 1);
	while ((v = atomic_load(w)) == old)
		futex_wait(w, old);
	atomic_fetch_sub(sleepers, 1);
	return v;
}

/* bump - change *w and wake its sleepers, if any (note 6) */
static unsigned bump(atomic_uint *w, atomic_int *sleepers)
{
	unsigned v = atomic_fetch_add(w, 1) + 1;

	if (atomic_load(sleepers) > 0)
		futex_wake(w);
	return v;
}

static void *worker(void *a)
{
	struct thr_pool *p = ((struct worker_arg *)a)->p;
	int ith = ((struct worker_arg *)a)->ith;
	unsigned seen = 0;
	struct spin sp = { SPIN_SHORT_NS, 0, 0 };

	free(a);
	for (;;) {
		seen = await_change(&p->gen, seen, &p->gen_sleepers, &sp);
		thr_fn fn = p->fn;
		if (fn == NULL)
			return NULL;	/* note 3 */
		fn(p->arg, ith, p->nth);
		bump(&p->n_done, &p->done_sleepers);
	}
}

/* publish - start a generation running fn(arg) (note 1) */
static void publish(struct thr_pool *p, thr_fn fn, void *arg)
{
	p->fn = fn;
	p->arg = arg;
	atomic_store_explicit(&p->n_done, 0, memory_order_relaxed);
	bump(&p->gen, &p->gen_sleepers);
}

/* thr_pool_new - nth threads in all, nth - 1 of them workers */
int thr_pool_new(int nth, struct thr_pool **out, struct dk_err *err)
{
	struct thr_pool *p = aligned_alloc(LINE, (sizeof *p + LINE - 1) / LINE * LINE);

	*out = NULL;
	if (p != NULL)
		memset(p, 0, sizeof *p);
	if (p == NULL || (p->tid = calloc((size_t)(nth > 1 ? nth : 1), sizeof *p->tid)) == NULL) {
		free(p);
		return dk_err_set(err, DK_ENOMEM, "out of memory creating %d threads", nth);
	}
	atomic_init(&p->gen, 0);
	atomic_init(&p->n_done, 0);
	atomic_init(&p->gen_sleepers, 0);
	atomic_init(&p->done_sleepers, 0);
	p->caller_spin.ns = SPIN_SHORT_NS;
	p->nth = 1;
	for (int i = 1; i < nth; i++) {
		struct worker_arg *a = malloc(sizeof *a);
		int rc = a ? 0 : ENOMEM;
		if (a != NULL) {
			a->p = p;
			a->ith = i;
			rc = pthread_create(&p->tid[i], NULL, worker, a);
			if (rc != 0)
				free(a);
		}
		if (rc != 0) {
			thr_pool_free(p);
			return dk_err_set(err, DK_EIO, "cannot start thread %d: %s", i, strerror(rc));
		}
		p->nth = i + 1;
	}
	*out = p;
	return 0;
}

int thr_pool_size(const struct thr_pool *p)
{
	return p->nth;
}

/* thr_pool_run - one generation (note 1); the caller runs ith 0 */
void thr_pool_run(struct thr_pool *p, thr_fn fn, void *arg)
{
	unsigned want = (unsigned)p->nth - 1, done;

	if (want == 0) {
		fn(arg, 0, 1);
		return;
	}
	publish(p, fn, arg);
	fn(arg, 0, p->nth);
	done = atomic_load_explicit(&p->n_done, memory_order_acquire);
	while (done < want)
		done = await_change(&p->n_done, done, &p->done_sleepers, &p->caller_spin);
}

/* thr_pool_free - stop and join the workers; NULL is fine */
void thr_pool_free(struct thr_pool *p)
{
	if (p == NULL)
		return;
	if (p->nth > 1)
		publish(p, NULL, NULL);	/* note 3 */
	for (int i = 1; i < p->nth; i++)
		pthread_join(p->tid[i], NULL);
	free(p->tid);
	free(p);
}
