/* probe_cpu_simd.h - the CPU backend's AVX2+FMA kernels (probe_cpu_simd.c).
 *
 * Each one computes what a plain loop in probe_cpu_core.inc computes, in
 * register tiles; the gradient-check test compares the two. They are compiled
 * with __attribute__((target("avx2,fma"))) and called only after
 * probe_simd_available() said yes, so the shipped build needs no -march flag. */
#ifndef MLA_PROBE_CPU_SIMD_H
#define MLA_PROBE_CPU_SIMD_H

#include <stddef.h>

/* Layers with fewer outputs than this use the "narrow" kernels (output layers
 * of a few classes), where a 16-wide register tile would be mostly empty. */
#define PROBE_SIMD_NARROW 8

/** 1 when the processor runs AVX2 and FMA. */
int probe_simd_available(void);

/* What probe_simd_nn does to a result before storing it. */
enum probe_simd_epilogue {
	SIMD_PLAIN,         /* store */
	SIMD_RELU,          /* max(v, 0): a hidden layer's forward pass */
	SIMD_GATE_RELU,     /* v if gate > 0 else 0: backward through a ReLU whose output is gate */
	SIMD_GATE_TANH      /* v * (1 - gate^2): backward through a tanh whose output is gate */
};

/** out[r][j] = bias[j] + sum_k a[r][k] b[k][j] for r < R, j < N (bias NULL = 0),
 * then the epilogue (gate: R x N with row stride ldo, or NULL). Row strides lda,
 * ldb, ldo. */
void probe_simd_nn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *b, size_t ldb,
		   const float *bias, enum probe_simd_epilogue epi, const float *gate, float *out, size_t ldo);

/** g[k][j] += sum_r a[r][k] d[r][j] for k < K, and g[K][j] += sum_r d[r][j]
 * (g is (K + 1) x N, row stride N). */
void probe_simd_tn(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *d, size_t ldd, float *g);

/** out[r][k] = sum_c d[r][c] wt[c][k] for k < K, c < N < PROBE_SIMD_NARROW, then
 * the epilogue (gate R x K or NULL): the gradient through a narrow layer (wt is
 * N x (K + 1), the layer transposed). Row strides ldd, K (gate and out). */
void probe_simd_back_narrow(size_t R, size_t K, size_t N, const float *d, size_t ldd, const float *wt,
			    enum probe_simd_epilogue epi, const float *gate, float *out);

/** out[r][c] = wt[c][K] + sum_k a[r][k] wt[c][k] for c < N < PROBE_SIMD_NARROW
 * (wt is N x (K + 1), the layer transposed). */
void probe_simd_rowdot(size_t R, size_t K, size_t N, const float *a, size_t lda, const float *wt, float *out);

#endif
