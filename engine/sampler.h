/*
 * NAME
 *	sampler - choose the next token from logits, reproducibly
 * SUMMARY
 *	The chain of llama.cpp's default sampler, in its order: repetition
 *	penalty over the last repeat_last_n accepted tokens, top-k, top-p,
 *	min-p, temperature, then a draw from the remaining distribution with
 *	our own PRNG (xoshiro256**, seeded through splitmix64). temp <= 0
 *	means greedy: the highest logit after the penalty, ties to the
 *	smaller id. Same seed, same logits, same accepted tokens: same
 *	choice, on every machine (no hardware RNG, no time, fixed sort order:
 *	logit descending, then id ascending).
 * OWNERSHIP
 *	struct samp owns its scratch buffers; samp_release() frees them.
 * LIFETIME
 *	One struct samp per generated sequence.
 * THREADS
 *	Per-object.
 * ERRORS
 *	samp_init: DK_EINVAL (bad parameter), DK_ENOMEM.
 */
#ifndef DK_SAMPLER_H
#define DK_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "util/dk_err.h"

struct samp_params {
	float temp;		/* <= 0: greedy */
	int32_t top_k;		/* <= 0: all tokens */
	float top_p;		/* >= 1: off */
	float min_p;		/* <= 0: off */
	float repeat_penalty;	/* 1: off */
	int32_t repeat_last_n;	/* tokens of history the penalty looks at */
	uint64_t seed;
};

/* llama.cpp's defaults, and seed 0 unless the caller chooses one */
#define SAMP_PARAMS_INIT { 0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 0 }

struct samp_cand {
	int32_t id;
	float logit;
	float p;
};

struct samp {
	struct samp_params par;
	uint64_t rng[4];		/* xoshiro256** state */
	struct samp_cand *cand;		/* (n_vocab) scratch */
	size_t cand_alloc;
	int32_t *hist;			/* ring of the last repeat_last_n accepted ids */
	size_t hist_n, hist_pos;
};

int samp_init(struct samp *s, const struct samp_params *p, struct dk_err *err);
void samp_release(struct samp *s);

/* samp_sample - the next id from logits[0..n_vocab); -1 only on allocation failure */
int32_t samp_sample(struct samp *s, const float *logits, size_t n_vocab);

/* samp_accept - record a chosen (or prompt) token for the repetition penalty */
void samp_accept(struct samp *s, int32_t id);

/* samp_rand - next 64 random bits (exposed for tests) */
uint64_t samp_rand(struct samp *s);

#endif
