/*
 * NAME
 *	kernels - CPUID dispatch of the dot-product table
 * DESIGN NOTES
 *	1. The tables are built on first use under pthread_once and never
 *	   change afterwards: read-only shared state, no per-call checks.
 *	2. This file is compiled without ISA flags; only engine/kernels/avx2/
 *	   (-mavx2 -mfma -mf16c) and engine/kernels/avx512/ (plus AVX-512
 *	   F/BW/VL/DQ/VNNI/BF16) are, and they are called only after
 *	   __builtin_cpu_supports() said yes. The AVX-512 table is the AVX2
 *	   one plus the matrix tiles.
 */
#include "engine/kernels/kernels.h"

#include <cpuid.h>
#include <pthread.h>

#include "engine/ref/elem.h"

static struct eng_kernels ref_table, avx2_table, avx512_table;
static int have_avx2, have_avx512;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* has_f16c - CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports lacks "f16c") */
static int has_f16c(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static void build(void)
{
	ref_table.name = "ref";
	for (int t = 0; t < GGML_TYPE_COUNT; t++)
		ref_table.vec_dot[t] = ref_vec_dot((enum ggml_type)t);
	ref_table.axpy_f16 = ref_axpy_f16;
	ref_table.swiglu = ref_swiglu;
	ref_gelu_init();
	ref_table.geglu = ref_geglu;
	ref_table.rmsnorm = ref_rmsnorm;
	ref_table.f32_to_f16 = ref_f32_to_f16;
	avx2_table = ref_table;
	avx2_table.name = "avx2";
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
	if (have_avx2)
		eng_kernels_avx2_fill(&avx2_table);
	if (have_avx2)
		eng_kernels_q23_avx2_fill(&avx2_table);
	avx512_table = avx2_table;
	avx512_table.name = "avx512";
	have_avx512 = have_avx2 && __builtin_cpu_supports("avx512f") &&
		      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		      __builtin_cpu_supports("avx512vnni");
	if (have_avx512) {
		eng_kernels_mm_q8_0_fill(&avx512_table);
		eng_kernels_mm_k_fill(&avx512_table);
		eng_kernels_mm_f16_fill(&avx512_table);
		eng_kernels_mm_q23_fill(&avx512_table);
		eng_kernels_attn_avx512_fill(&avx512_table);
		eng_kernels_elem_avx512_fill(&avx512_table);
	}
}

/* eng_kernels_select - the fastest table this CPU runs, or the reference */
const struct eng_kernels *eng_kernels_select(int want_ref)
{
	pthread_once(&once, build);
	if (want_ref)
		return &ref_table;
	return have_avx512 ? &avx512_table : have_avx2 ? &avx2_table : &ref_table;
}
