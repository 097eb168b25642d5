/*
 * NAME
 *	threads - worker pool for eng_decode()
 * DESIGN NOTES
 *	1. A run is a generation: the caller publishes (fn, arg), bumps gen
 *	   and wakes the workers; each worker runs its share once per
 *	   generation and counts itself done; the caller waits for the count.
 *	2. Workers never choose work: thread ith always gets the same slice
 *	   for the same n (thr_split), the basis of the bitwise determinism
 *	   across runs (and, since each output element is computed by one
 *	   fixed-order loop, across thread counts).
 *	3. Shutdown is a generation with fn == NULL.
 */
#include "engine/threads.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct thr_pool {
	int nth;
	pthread_t *tid;
	pthread_mutex_t mu;
	pthread_cond_t wake, done;
	uint64_t gen;
	int n_done;
	thr_fn fn;
	void *arg;
};

struct worker_arg {
	struct thr_pool *p;
	int ith;
};

static void *worker(void *a)
{
	struct thr_pool *p = ((struct worker_arg *)a)->p;
	int ith = ((struct worker_arg *)a)->ith;
	uint64_t seen = 0;

	free(a);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->gen == seen)
			pthread_cond_wait(&p->wake, &p->mu);
		seen = p->gen;
		thr_fn fn = p->fn;
		void *arg = p->arg;
		pthread_mutex_unlock(&p->mu);
		if (fn == NULL)
			return NULL;	/* note 3 */
		fn(arg, ith, p->nth);
		pthread_mutex_lock(&p->mu);
		if (++p->n_done == p->nth - 1)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

/* thr_pool_new - nth threads in all, nth - 1 of them workers */
int thr_pool_new(int nth, struct thr_pool **out, struct dk_err *err)
{
	struct thr_pool *p = calloc(1, sizeof *p);

	*out = NULL;
	if (p == NULL || (p->tid = calloc((size_t)(nth > 1 ? nth : 1), sizeof *p->tid)) == NULL) {
		free(p);
		return dk_err_set(err, DK_ENOMEM, "out of memory creating %d threads", nth);
	}
	p->nth = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
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

/* thr_pool_run - one generation (note 1) */
void thr_pool_run(struct thr_pool *p, thr_fn fn, void *arg)
{
	if (p->nth > 1) {
		pthread_mutex_lock(&p->mu);
		p->fn = fn;
		p->arg = arg;
		p->n_done = 0;
		p->gen++;
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
	}
	fn(arg, 0, p->nth);
	if (p->nth > 1) {
		pthread_mutex_lock(&p->mu);
		while (p->n_done < p->nth - 1)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

/* thr_pool_free - stop and join the workers; NULL is fine */
void thr_pool_free(struct thr_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->fn = NULL;
	p->gen++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->nth; i++)
		pthread_join(p->tid[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	free(p->tid);
	free(p);
}
