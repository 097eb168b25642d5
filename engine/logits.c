/*
 * NAME
 *	logits - log-sum-exp and top-k over a logit row
 * DESIGN NOTES
 *	1. The order is the oracle's: larger logit first, equal logits by
 *	   smaller id. Scanning ids upward and inserting only on a strictly
 *	   larger value keeps that order without a sort.
 */
#include <math.h>

#include "engine/engine.h"

double eng_logsumexp(const float *logits, uint32_t n)
{
	double max = -INFINITY, sum = 0.0;

	for (uint32_t i = 0; i < n; i++)
		if (logits[i] > max)
			max = logits[i];
	for (uint32_t i = 0; i < n; i++)
		sum += exp((double)logits[i] - max);
	return max + log(sum);
}

/* eng_top_k - insertion into a sorted window of k (note 1) */
uint32_t eng_top_k(const float *logits, uint32_t n, uint32_t k, int32_t *ids)
{
	uint32_t have = 0;

	for (uint32_t i = 0; i < n; i++) {
		float v = logits[i];
		if (v != v || (have == k && !(v > logits[ids[have - 1]])))
			continue;
		uint32_t j = have < k ? have++ : k - 1;
		while (j > 0 && v > logits[ids[j - 1]]) {
			ids[j] = ids[j - 1];
			j--;
		}
		ids[j] = (int32_t)i;
	}
	return have;
}
