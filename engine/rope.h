/*
 * NAME
 *	rope - rotary position embedding angles and rotation
 * SUMMARY
 *	rope_table() fills cs[2i], cs[2i+1] = cos, sin of the angle of pair i
 *	(i < n_rot/2) at position pos: theta_i = pos * base^(-2i/n_rot),
 *	divided by freq_factors[i] when given (Llama 3.1 rope_freqs), scaled
 *	by freq_scale (linear scaling: 1/factor), with YaRN's ramp between
 *	interpolation and extrapolation and its magnitude scale when
 *	hp->yarn_ext_factor != 0. rope_apply() rotates each head's pairs:
 *	NORM pairs (2i, 2i+1), NEOX pairs (i, i + n_rot/2); dimensions past
 *	n_rot are left alone.
 * THREADS
 *	Safe: pure functions.
 */
#ifndef ENGINE_ROPE_H
#define ENGINE_ROPE_H

#include <stdint.h>

#include "engine/engine.h"

void rope_table(const struct eng_hparams *hp, const float *freq_factors, float base,
		float freq_scale, int32_t pos, float *cs);
void rope_apply(const struct eng_hparams *hp, float *x, int n_heads, const float *cs);

#endif
