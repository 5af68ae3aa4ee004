/* probe_backend.c - what every probe backend shares (spec defaults, job checks,
 * parameter layout, initialisation, schedules, the row order) and the backend
 * table with the run-time choice auto|cpu|cuda. */
#include "stages/probes/probe_internal.h"

#include "pipeline/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- specs and jobs ---- */

void probe_spec_init(struct probe_spec *s)
{
	memset(s, 0, sizeof *s);
	s->act = PROBE_RELU;
	s->init = PROBE_INIT_XAVIER;
	s->optim = PROBE_ADAM;
	s->lr = 1e-3f;
	s->momentum = 0.9f;
	s->beta1 = 0.9f;
	s->beta2 = 0.999f;
	s->rho = 0.99f;           /* PyTorch's RMSprop default */
	s->eps = 1e-8f;
	s->sched = PROBE_LR_CONSTANT;
	s->lr_gamma = 0.5f;
	s->temperature = 1.0f;
	s->alpha = 0.5f;
	s->target = PROBE_TARGET_LABEL;
}

int probe_outputs(const struct probe_job *job, size_t p)
{
	return job->specs[p].target == PROBE_TARGET_BINARY ? 2 : job->data->n_classes;
}

long probe_steps_per_epoch(const struct probe_job *job)
{
	size_t b = job->batch_size;
	return (long)((job->data->n + b - 1) / b);
}

long probe_total_steps(const struct probe_job *job)
{
	return probe_steps_per_epoch(job) * job->epochs;
}

long probe_record_period(const struct probe_job *job)
{
	return job->record_every > 0 ? job->record_every : probe_steps_per_epoch(job);
}

size_t probe_max_records(const struct probe_job *job)
{
	/* one per K steps, plus the last step of the job */
	return (size_t)(probe_total_steps(job) / probe_record_period(job)) + 1;
}

static int finite_nonneg(float v) { return isfinite(v) && v >= 0; }

/* Validate one spec; the message names the probe index and the field. */
static int spec_check(const struct probe_job *job, size_t p)
{
	const struct probe_spec *s = &job->specs[p];
	const struct probe_data *d = job->data;

	if (s->n_hidden < 0 || s->n_hidden > PROBE_MAX_HIDDEN)
		return ERR_INPUT("probe %zu: n_hidden %d outside 0..%d", p, s->n_hidden, PROBE_MAX_HIDDEN);
	for (int l = 0; l < s->n_hidden; l++)
		if (s->hidden[l] < 1 || s->hidden[l] > PROBE_MAX_WIDTH)
			return ERR_INPUT("probe %zu: hidden[%d] = %d outside 1..%d", p, l, s->hidden[l],
					 PROBE_MAX_WIDTH);
	if (s->act != PROBE_RELU && s->act != PROBE_TANH)
		return ERR_INPUT("probe %zu: unknown activation %d", p, (int)s->act);
	if ((unsigned)s->init > PROBE_INIT_HE || !isfinite(s->init_value))
		return ERR_INPUT("probe %zu: bad initialisation", p);
	if ((unsigned)s->optim > PROBE_ADAM)
		return ERR_INPUT("probe %zu: unknown optimizer %d", p, (int)s->optim);
	if (!(s->lr > 0) || !isfinite(s->lr))
		return ERR_INPUT("probe %zu: lr must be > 0 (got %g)", p, (double)s->lr);
	if (!finite_nonneg(s->momentum) || !(s->beta1 >= 0 && s->beta1 < 1) || !(s->beta2 >= 0 && s->beta2 < 1) ||
	    !(s->rho >= 0 && s->rho < 1) || !(s->eps > 0))
		return ERR_INPUT("probe %zu: optimizer constants out of range (momentum >= 0, "
				 "betas and rho in [0, 1), eps > 0)", p);
	if ((unsigned)s->sched > PROBE_LR_COSINE || !(s->lr_gamma > 0) || s->lr_step < 0 || !finite_nonneg(s->lr_min))
		return ERR_INPUT("probe %zu: bad learning-rate schedule", p);
	if (!finite_nonneg(s->l1) || !finite_nonneg(s->l2))
		return ERR_INPUT("probe %zu: l1 and l2 must be >= 0", p);
	if (!(s->dropout >= 0 && s->dropout < 1))
		return ERR_INPUT("probe %zu: dropout %g outside [0, 1)", p, (double)s->dropout);
	if (s->patience < 0)
		return ERR_INPUT("probe %zu: patience must be >= 0", p);
	if (s->patience > 0 && !s->val_mask)
		return ERR_INPUT("probe %zu: early stopping (patience %d) needs validation rows (val_mask)", p,
				 s->patience);
	switch (s->target) {
	case PROBE_TARGET_LABEL:
		if (!d->y)
			return ERR_INPUT("probe %zu: label target but the job has no labels", p);
		break;
	case PROBE_TARGET_SOFT:
		if (!d->y || !d->teacher)
			return ERR_INPUT("probe %zu: soft targets need the job's labels and teacher probabilities", p);
		if (!(s->temperature > 0) || !isfinite(s->temperature) || !(s->alpha >= 0 && s->alpha <= 1))
			return ERR_INPUT("probe %zu: soft targets need temperature > 0 and alpha in [0, 1]", p);
		break;
	case PROBE_TARGET_BINARY:
		if (!s->binary_target)
			return ERR_INPUT("probe %zu: binary target without binary_target rows", p);
		break;
	default:
		return ERR_INPUT("probe %zu: unknown target kind %d", p, (int)s->target);
	}
	if (s->class_weight) {
		int c = probe_outputs(job, p);
		for (int k = 0; k < c; k++)
			if (!finite_nonneg(s->class_weight[k]))
				return ERR_INPUT("probe %zu: class_weight[%d] must be finite and >= 0", p, k);
	}
	if (s->row_weight)
		for (size_t i = 0; i < d->n; i++)
			if (!finite_nonneg(s->row_weight[i]))
				return ERR_INPUT("probe %zu: row_weight[%zu] must be finite and >= 0", p, i);
	return 0;
}

int probe_job_check(const struct probe_job *job)
{
	const struct probe_data *d = job->data;
	if (!d || !d->x || d->n == 0 || d->d == 0)
		return ERR_INPUT("probe job: no data (rows %zu, columns %zu)", d ? d->n : 0, d ? d->d : 0);
	if (d->n >= UINT32_MAX)
		return ERR_INPUT("probe job: %zu rows; at most %u", d->n, UINT32_MAX - 1);
	if (d->n_classes < 2 || d->n_classes > PROBE_MAX_CLASSES)
		return ERR_INPUT("probe job: %d classes outside 2..%d", d->n_classes, PROBE_MAX_CLASSES);
	if (job->n_probes == 0 || !job->specs)
		return ERR_INPUT("probe job: no probes");
	if (job->batch_size == 0 || job->batch_size > (1u << 24))
		return ERR_INPUT("probe job: batch_size %zu outside 1..%u", job->batch_size, 1u << 24);
	if (job->epochs < 1)
		return ERR_INPUT("probe job: epochs must be >= 1");
	if (job->record_every < 0 || job->threads < 0)
		return ERR_INPUT("probe job: record_every and threads must be >= 0");
	if (d->y)
		for (size_t i = 0; i < d->n; i++)
			if (d->y[i] >= d->n_classes)
				return ERR_INPUT("probe job: label %d of row %zu outside 0..%d", d->y[i], i,
						 d->n_classes - 1);
	for (size_t i = 0; i < d->n * d->d; i++)
		if (!isfinite(d->x[i]))
			return ERR_INPUT("probe job: feature matrix has a non-finite value at row %zu, column %zu",
					 i / d->d, i % d->d);
	for (size_t p = 0; p < job->n_probes; p++)
		if (spec_check(job, p) < 0)
			return -1;
	return 0;
}

/* ---- layout and initialisation ---- */

void probe_shape_of(const struct probe_job *job, size_t p, struct probe_shape *sh)
{
	const struct probe_spec *s = &job->specs[p];
	memset(sh, 0, sizeof *sh);
	sh->n_layers = s->n_hidden + 1;
	sh->dims[0] = (int)job->data->d;
	for (int l = 0; l < s->n_hidden; l++)
		sh->dims[l + 1] = s->hidden[l];
	sh->dims[sh->n_layers] = probe_outputs(job, p);
	size_t off = 0;
	for (int l = 0; l < sh->n_layers; l++) {
		sh->off[l] = off;
		off += (size_t)(sh->dims[l] + 1) * (size_t)sh->dims[l + 1];
	}
	sh->off[sh->n_layers] = off;
	sh->n_params = off;
}

void probe_init_params(const struct probe_spec *s, const struct probe_shape *sh, float *w)
{
	struct rng r;
	rng_seed(&r, s->seed);
	for (int l = 0; l < sh->n_layers; l++) {
		int fan_in = sh->dims[l], fan_out = sh->dims[l + 1];
		float *blk = w + sh->off[l];
		double a = 0;
		switch (s->init) {
		case PROBE_INIT_CONSTANT: a = s->init_value; break;
		case PROBE_INIT_UNIFORM: a = s->init_value != 0 ? fabs(s->init_value) : 0.01; break;
		case PROBE_INIT_XAVIER: a = sqrt(6.0 / (fan_in + fan_out)); break;
		case PROBE_INIT_HE: a = sqrt(2.0 / fan_in); break;
		}
		/* Draw every weight even for unused features, so a feature mask does not
		 * shift the random stream of the other weights. */
		for (int k = 0; k < fan_in; k++)
			for (int j = 0; j < fan_out; j++) {
				double v;
				switch (s->init) {
				case PROBE_INIT_CONSTANT: v = a; break;
				case PROBE_INIT_HE: v = a * rng_normal(&r); break;
				default: v = a * (2.0 * rng_uniform(&r) - 1.0); break;
				}
				int unused = l == 0 && s->feature_mask && !s->feature_mask[k];
				blk[(size_t)k * fan_out + j] = unused ? 0.0f : (float)v;
			}
		memset(blk + (size_t)fan_in * fan_out, 0, sizeof(float) * (size_t)fan_out);
	}
}

void probe_step_scalars(const struct probe_spec *s, long t, long total, long steps_per_epoch,
			struct probe_step_scalars *out)
{
	double lr = s->lr;
	double step = s->lr_step > 0 ? (double)s->lr_step : (double)steps_per_epoch;
	switch (s->sched) {
	case PROBE_LR_CONSTANT: break;
	case PROBE_LR_STEP: lr *= pow(s->lr_gamma, floor((double)t / step)); break;
	case PROBE_LR_EXP: lr *= pow(s->lr_gamma, (double)t / step); break;
	case PROBE_LR_COSINE:
		lr = s->lr_min + (lr - s->lr_min) * 0.5 * (1.0 + cos(M_PI * (double)t / (double)(total > 0 ? total : 1)));
		break;
	}
	out->lr = (float)lr;
	out->c1 = (float)(lr / (1.0 - pow(s->beta1, (double)(t + 1))));
	out->c2 = (float)(1.0 / sqrt(1.0 - pow(s->beta2, (double)(t + 1))));
}

void probe_epoch_order(uint64_t job_seed, int epoch, size_t n, uint32_t *perm)
{
	struct rng r;
	rng_seed(&r, job_seed ^ (0x5851F42D4C957F2DULL * (uint64_t)(epoch + 1)));
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		uint32_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* ---- results ---- */

struct probe_result *probe_result_new(const struct probe_job *job, const char *backend)
{
	struct probe_result *r = xcalloc(1, sizeof *r);
	r->n_probes = job->n_probes;
	r->probes = xcalloc(job->n_probes, sizeof *r->probes);
	snprintf(r->backend, sizeof r->backend, "%s", backend);
	size_t max_rec = probe_max_records(job);
	for (size_t p = 0; p < job->n_probes; p++) {
		struct probe_shape sh;
		probe_shape_of(job, p, &sh);
		struct probe_trained *t = &r->probes[p];
		t->n_layers = sh.n_layers;
		t->act = job->specs[p].act;
		memcpy(t->dims, sh.dims, sizeof t->dims);
		t->n_params = sh.n_params;
		t->params = xcalloc(sh.n_params, sizeof(float));
		t->records = xcalloc(max_rec, sizeof *t->records);
		t->best_step = -1;
		t->best_val_loss = NAN;
		if (sh.dims[sh.n_layers] > r->out_width)
			r->out_width = sh.dims[sh.n_layers];
	}
	return r;
}

void probe_result_free(struct probe_result *r)
{
	if (!r)
		return;
	for (size_t p = 0; p < r->n_probes; p++) {
		free(r->probes[p].params);
		free(r->probes[p].records);
	}
	free(r->probes);
	free(r);
}

float *probe_layer(const struct probe_trained *t, int layer)
{
	size_t off = 0;
	for (int l = 0; l < layer; l++)
		off += (size_t)(t->dims[l] + 1) * (size_t)t->dims[l + 1];
	return t->params + off;
}

/* ---- the backend table and the choice ---- */

const struct probe_backend *probe_backend_choose(const char *want, char *why, size_t why_size)
{
	if (!want || !strcmp(want, "cpu")) {
		snprintf(why, why_size, "cpu: requested (%s kernels)", probe_cpu_kernels());
		return probe_cpu_backend();
	}
	if (strcmp(want, "auto") && strcmp(want, "cuda"))
		return ERR_INPUT("backend: unknown value '%s' (expected auto, cpu or cuda)", want), NULL;
	char reason[256];
#ifdef MLA_HAVE_CUDA
	const struct probe_backend *cuda = probe_cuda_backend(reason, sizeof reason);
	if (cuda) {
		snprintf(why, why_size, "%s", reason);
		return cuda;
	}
#else
	snprintf(reason, sizeof reason, "this build has no CUDA backend (nvcc was not found at build time)");
#endif
	if (!strcmp(want, "cuda"))
		return ERR_INPUT("backend: cuda requested but %s", reason), NULL;
	snprintf(why, why_size, "cpu: auto, %s (%s kernels)", reason, probe_cpu_kernels());
	return probe_cpu_backend();
}
