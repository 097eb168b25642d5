/*
 * NAME
 *	threads - a fixed pool of worker threads with a static work split
 * SUMMARY
 *	thr_pool_run(pool, fn, arg) calls fn(arg, ith, nth) once for every
 *	ith in [0, nth) — the caller runs ith 0 — and returns when all are
 *	done. Callers split work by ith alone (thr_split()), never by who
 *	finishes first, so results never depend on scheduling.
 * OWNERSHIP
 *	thr_pool_free() joins and frees the workers.
 * THREADS
 *	One caller at a time per pool.
 * ERRORS
 *	thr_pool_new() returns DK_ENOMEM or DK_EIO (pthread_create failed).
 */
#ifndef THREADS_H
#define THREADS_H

#include <stdint.h>

#include "util/dk_err.h"

struct thr_pool;

typedef void (*thr_fn)(void *arg, int ith, int nth);

int thr_pool_new(int nth, struct thr_pool **out, struct dk_err *err);
void thr_pool_free(struct thr_pool *p);
int thr_pool_size(const struct thr_pool *p);
void thr_pool_run(struct thr_pool *p, thr_fn fn, void *arg);

/* thr_split - [*lo, *hi) of n items for thread ith of nth (contiguous, static) */
static inline void thr_split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi)
{
	*lo = n * ith / nth;
	*hi = n * (ith + 1) / nth;
}

#endif
