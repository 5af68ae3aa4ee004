/* rcprobe.c - see rcprobe.h. */
#include "rcprobe.h"
#include "../probes/probe_inputs.h"
#include "../../pipeline/util.h"

#include <stdlib.h>
#include <string.h>

#define PREDICT_CHUNK 65536

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

void rcprobe_close(struct rc_probes *p)
{
	for (size_t s = 0; p->x && s < p->nsplits; s++)
		free(p->x[s]);
	free(p->x);
	feat_free(p->enc);
	memset(p, 0, sizeof *p);
}

int rcprobe_open(const struct rc_data *d, struct rc_probes *p)
{
	memset(p, 0, sizeof *p);
	const struct audit_config *cfg = d->cfg;
	p->be = probe_backend_choose(cfg->backend ? cfg->backend : "auto", p->why, sizeof p->why);
	if (!p->be)
		return -1;
	const struct frame *train = d->splits[0].frame;
	size_t inputs = 0;
	for (size_t j = 0; j < train->ncols; j++)
		inputs += inputs_is_input(&train->cols[j]);
	if (!inputs || !train->nrows)
		return 0;   /* nothing to learn from: p->d == 0 and the probe analyses skip */
	p->enc = inputs_fit(train);
	if (!p->enc)
		return -1;
	p->d = feat_width(p->enc);
	p->nsplits = d->nsplits;
	p->x = xcalloc(d->nsplits, sizeof *p->x);
	for (size_t s = 0; s < d->nsplits; s++) {
		p->x[s] = inputs_encode(p->enc, d->splits[s].frame, train);
		if (!p->x[s]) {
			rcprobe_close(p);
			return -1;
		}
	}
	return 0;
}

size_t rcprobe_sample(const struct rc_data *d, size_t s, size_t max, int need_label, int need_eval,
		      uint64_t seed, size_t *rows)
{
	const struct rc_split *sp = &d->splits[s];
	size_t seen = 0, m = 0;
	struct rng g;
	rng_seed(&g, seed);
	/* reservoir sampling (one pass whatever the split's size), then sorted */
	for (size_t i = 0; i < sp->nrows; i++) {
		if (need_label && sp->y[i] < 0)
			continue;
		if (need_eval && (!sp->err || sp->err[i] < 0))
			continue;
		if (m < max)
			rows[m++] = i;
		else {
			size_t j = (size_t)(rng_uniform(&g) * (double)(seen + 1));
			if (j < max)
				rows[j] = i;
		}
		seen++;
	}
	qsort(rows, m, sizeof *rows, cmp_size);
	return m;
}

float *rcprobe_gather(const struct rc_probes *p, size_t s, const size_t *rows, size_t n)
{
	float *x = xmalloc((n ? n : 1) * p->d * sizeof *x);
	for (size_t i = 0; i < n; i++)
		memcpy(x + i * p->d, p->x[s] + rows[i] * p->d, p->d * sizeof *x);
	return x;
}

void rcprobe_spec(struct probe_spec *s, int width, uint64_t seed)
{
	probe_spec_init(s);
	if (width > 0) {
		s->n_hidden = 1;
		s->hidden[0] = width;
		s->act = PROBE_RELU;
		s->init = PROBE_INIT_HE;
		s->lr = 1e-3f;
		s->patience = 4;
	} else {
		s->init = PROBE_INIT_XAVIER;
		s->lr = 1e-2f;
		s->sched = PROBE_LR_COSINE;
		s->lr_min = 1e-4f;
	}
	s->optim = PROBE_ADAM;
	s->l2 = 1e-4f;
	s->seed = seed;
}

struct probe_result *rcprobe_train(const struct rc_probes *p, const struct probe_data *data,
				   const struct probe_spec *specs, size_t nspecs, double row_visits, uint64_t seed)
{
	size_t n = data->n;
	size_t batch = n >= 8192 ? 256 : n / 32 < 32 ? 32 : n / 32;
	double ep = row_visits / (double)(n ? n : 1);
	int epochs = ep < 3 ? 3 : ep > 40 ? 40 : (int)ep;
	struct probe_job job = {.data = data, .specs = specs, .n_probes = nspecs, .batch_size = batch,
				.epochs = epochs, .seed = seed, .threads = 0};
	long spe = probe_steps_per_epoch(&job);
	job.record_every = spe / 2 > 0 ? spe / 2 : 1;   /* two records per epoch, as the probes stage */
	for (size_t q = 0; q < nspecs; q++)
		if (specs[q].patience > 0 && !specs[q].val_mask)
			return ERR_INTERNAL("rootcause probe %zu: early stopping without validation rows", q), NULL;
	if (probe_job_check(&job) < 0)
		return NULL;
	return p->be->train(p->be, &job);
}

int rcprobe_predict(const struct rc_probes *p, const struct probe_result *r, size_t q, const float *x, size_t n,
		    int k, float *out)
{
	struct probe_result view = *r;
	view.probes = r->probes + q;
	view.n_probes = 1;
	size_t w = (size_t)r->out_width, chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
	float *buf = xmalloc((chunk ? chunk : 1) * w * sizeof *buf);
	int rc = 0;
	for (size_t at = 0; rc == 0 && at < n; at += chunk) {
		size_t m = n - at < chunk ? n - at : chunk;
		rc = p->be->predict(p->be, &view, x + at * p->d, m, buf);
		for (size_t i = 0; rc == 0 && i < m; i++)
			memcpy(out + (at + i) * (size_t)k, buf + i * w, (size_t)k * sizeof *out);
	}
	free(buf);
	return rc;
}
