/* probe_internal.h - what the probe backends (CPU, CUDA) and their tests share:
 * the parameter layout, initialisation, schedules, the job's row order, the
 * dropout hash and the CPU's double-precision reference. Not for stage code:
 * that includes probe.h only.
 *
 * Both backends take these from here so that, for the same job, they start
 * from the same parameters, visit the same rows in the same order, drop the
 * same units and use the same per-step scalars; only the order of floating-point
 * sums differs, which is what the parity test's tolerance is for. */
#ifndef MLA_PROBE_INTERNAL_H
#define MLA_PROBE_INTERNAL_H

#include "stages/probes/probe.h"

#ifdef __CUDACC__
#define PROBE_HD __host__ __device__ __forceinline__
#else
#define PROBE_HD static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Where each layer's block starts in a probe's parameter array. */
struct probe_shape {
	int n_layers;
	int dims[PROBE_MAX_LAYERS + 1];
	size_t off[PROBE_MAX_LAYERS + 1];   /* off[n_layers] = n_params */
	size_t n_params;
};

/** The shape of probe p of a job. */
void probe_shape_of(const struct probe_job *job, size_t p, struct probe_shape *sh);

/** Draw probe p's initial parameters (sh->n_params floats) from its seed; rows of
 * unused features are 0, biases are 0. */
void probe_init_params(const struct probe_spec *s, const struct probe_shape *sh, float *w);

/* Per-step scalars of the update at step t (0-based): the learning rate, and
 * for Adam c1 = lr / (1 - beta1^(t+1)) and c2 = 1 / sqrt(1 - beta2^(t+1)).
 * Computed in double and rounded once, identically for every backend. */
struct probe_step_scalars {
	float lr, c1, c2;
};
void probe_step_scalars(const struct probe_spec *s, long t, long total, long steps_per_epoch,
			struct probe_step_scalars *out);

/** The job's row order for one epoch: a permutation of 0..n-1 (Fisher-Yates from
 * a generator seeded by the job seed and the epoch). */
void probe_epoch_order(uint64_t job_seed, int epoch, size_t n, uint32_t *perm);

/** A result with every probe's shape, zeroed parameters and room for the records
 * of the job. Caller frees with probe_result_free. */
struct probe_result *probe_result_new(const struct probe_job *job, const char *backend);
/** How many records a probe of the job can produce at most. */
size_t probe_max_records(const struct probe_job *job);
/** The record period K of a job (record_every, or steps per epoch when 0). */
long probe_record_period(const struct probe_job *job);

/* The row's target (class index, -1 = none) and training weight for a probe:
 * row weight x (not a validation row) x class weight. */
static inline int probe_row_target(const struct probe_spec *s, const struct probe_data *d, size_t row)
{
	if (s->target == PROBE_TARGET_BINARY)
		return s->binary_target[row] ? 1 : 0;
	return d->y ? d->y[row] : -1;
}

/* ---- dropout: a counter-based hash, so both backends drop the same units ---- */

PROBE_HD uint64_t probe_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Probability of dropping as a 24-bit threshold: a unit is kept when its hash's
 * top 24 bits are >= it. */
PROBE_HD uint32_t probe_drop_threshold(float dropout)
{
	return (uint32_t)((double)dropout * 16777216.0);
}

/* 1 when unit `unit` of hidden layer `layer` is kept for batch position `row`
 * at step `step` of the probe seeded `seed`. row < 2^32, unit < 2^16. */
PROBE_HD int probe_dropout_keep(uint64_t seed, long step, int layer, uint32_t row, uint32_t unit,
				uint32_t threshold)
{
	uint64_t h = probe_mix64(seed ^ ((uint64_t)step * 0x9E3779B97F4A7C15ULL));
	h = probe_mix64(h + (((uint64_t)layer << 48) | ((uint64_t)row << 16) | unit));
	return (uint32_t)(h >> 40) >= threshold;
}

/* ---- the CPU backend's internals that tests reach ---- */

/** Loss and gradient of one probe on R rows in double precision, through the
 * same forward/backward code as the fp32 backend (probe_cpu_core.inc) with the
 * plain loops. x is R x d; target[r] the class (or -1), weight[r] the training
 * weight, teacher R x outputs (soft targets) or NULL. Dropout uses `step` and
 * batch positions 0..R-1. grad gets the gradient of
 * sum_r weight[r] loss_r / sum_r weight[r] + penalties (feature mask ignored);
 * the return value is that objective. Used by the gradient check. */
double probe_ref_loss_grad(const struct probe_spec *s, const struct probe_shape *sh, const double *w,
			   size_t R, const double *x, const int32_t *target, const double *weight,
			   const double *teacher, long step, double *grad);

/* The CPU's kernel set: "simd" (AVX2+FMA kernels, chosen when the processor has
 * them) or "generic" (the plain loops). Results are bit-identical for a job
 * whatever the thread count, but differ between the two kernel sets (FMA rounds
 * once). MLA_PROBE_ISA=generic in the environment forces the plain loops. */
const char *probe_cpu_kernels(void);
/** Force the kernel set ("simd" or "generic") for tests; returns 0, or -1 when
 * the processor lacks it. */
int probe_cpu_force_kernels(const char *name);

#ifdef MLA_HAVE_CUDA
/** The CUDA backend when a device answers, else NULL with the reason in why. */
const struct probe_backend *probe_cuda_backend(char *why, size_t why_size);
#endif

#ifdef __cplusplus
}
#endif

#endif
