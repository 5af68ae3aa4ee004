/* sanity.c - the seed's training checks on probes (see sanity.h). The search
 * (grid, random, Gaussian-process Bayesian optimisation) is in sanity_hpo.c. */
#include "stages/probes/sanity.h"

#include "pipeline/util.h"
#include "stages/probes/probe_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---- */

static struct probe_job job_make(const struct probe_data *d, const struct probe_spec *s, size_t P, size_t batch,
				 int epochs, long record_every, uint64_t seed)
{
	return (struct probe_job){.data = d, .specs = s, .n_probes = P, .batch_size = batch, .epochs = epochs,
				  .record_every = record_every, .seed = seed, .threads = 0};
}

uint8_t *sanity_val_mask(const struct probe_data *d, double share, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed ^ 0x5a17e5a17eULL);
	uint8_t *m = xcalloc(d->n ? d->n : 1, 1);
	for (size_t i = 0; i < d->n; i++)
		m[i] = (!d->y || d->y[i] >= 0) && rng_uniform(&r) < share;
	return m;
}

/* Keep at most SANITY_MAX_CURVE records of t, evenly spaced, always the last. */
static void curve_of(const struct probe_trained *t, struct sanity_curve *c)
{
	size_t n = t->n_records, k = n < SANITY_MAX_CURVE ? n : SANITY_MAX_CURVE;
	c->n = k;
	for (size_t i = 0; i < k; i++) {
		size_t j = k > 1 ? i * (n - 1) / (k - 1) : n - 1;
		const struct probe_record *r = &t->records[j];
		c->step[i] = r->step;
		c->lr[i] = r->lr;
		c->train_loss[i] = r->train_loss;
		c->val_loss[i] = r->val_loss;
	}
}

/* Cross-entropy and accuracy of every probe of r on its train rows (labelled,
 * not validation, row weight > 0) and on the validation rows, from predict.
 * val_rows: NULL, or per probe an array that gets each labelled validation
 * row's cross-entropy in row order. */
static int fits_rows(const struct probe_backend *b, const struct probe_result *r, const struct probe_data *d,
		     const struct probe_spec *specs, const uint8_t *val, struct sanity_fit *out, double **val_rows)
{
	size_t P = r->n_probes, W = (size_t)r->out_width, n = d->n;
	float *pr = xmalloc(P * n * W * sizeof(float));
	if (b->predict(b, r, d->x, n, pr) != 0) {
		free(pr);
		return -1;
	}
	for (size_t p = 0; p < P; p++) {
		double loss[2] = {0, 0}, acc[2] = {0, 0}, cnt[2] = {0, 0};
		const float *rw = specs[p].row_weight;
		for (size_t i = 0; i < n; i++) {
			int y = d->y ? d->y[i] : -1;
			if (y < 0)
				continue;
			int v = val && val[i];
			if (!v && rw && !(rw[i] > 0))
				continue;
			const float *q = pr + (p * n + i) * W;
			int arg = 0;
			for (int c = 1; c < d->n_classes; c++)
				if (q[c] > q[arg])
					arg = c;
			if (v && val_rows && val_rows[p])
				val_rows[p][(size_t)cnt[1]] = -log(fmax(q[y], 1e-12));
			loss[v] -= log(fmax(q[y], 1e-12));
			acc[v] += arg == y;
			cnt[v] += 1;
		}
		out[p].train_loss = cnt[0] > 0 ? loss[0] / cnt[0] : NAN;
		out[p].train_acc = cnt[0] > 0 ? acc[0] / cnt[0] : NAN;
		out[p].val_loss = cnt[1] > 0 ? loss[1] / cnt[1] : NAN;
		out[p].val_acc = cnt[1] > 0 ? acc[1] / cnt[1] : NAN;
	}
	free(pr);
	return 0;
}

static int fits_of(const struct probe_backend *b, const struct probe_result *r, const struct probe_data *d,
		   const struct probe_spec *specs, const uint8_t *val, struct sanity_fit *out)
{
	return fits_rows(b, r, d, specs, val, out, NULL);
}

/* Train a job and measure every probe. The result is the caller's (free it). */
static struct probe_result *train_fit(const struct probe_backend *b, const struct probe_job *job,
				      const uint8_t *val, struct sanity_fit *fits)
{
	struct probe_result *r = b->train(b, job);
	if (!r)
		return NULL;
	if (fits && fits_of(b, r, job->data, job->specs, val, fits) != 0) {
		probe_result_free(r);
		return NULL;
	}
	return r;
}

static void mlp1(struct probe_spec *s, int width)
{
	s->n_hidden = width > 0 ? 1 : 0;
	s->hidden[0] = width;
}

/* ---- 1. overfit a mini-batch ---- */

struct rowkey {
	uint64_t h;
	int32_t y;
	size_t row;   /* in the batch */
};

static int rowkey_cmp(const void *a, const void *b)
{
	const struct rowkey *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	if (x->y != y->y)
		return x->y < y->y ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Identical rows with different labels in the batch (rows compared by hash,
 * then bytes): list pairs, and the best accuracy any model can reach. */
static void find_conflicts(const float *x, const int32_t *y, const size_t *rows_of, size_t R, size_t d,
			   struct sanity_overfit *out)
{
	struct rowkey *k = xmalloc(R * sizeof *k);
	for (size_t i = 0; i < R; i++)
		k[i] = (struct rowkey){hash64_bytes(x + i * d, d * sizeof(float)), y[i], i};
	qsort(k, R, sizeof *k, rowkey_cmp);
	size_t reachable = 0;
	for (size_t g = 0; g < R;) {
		/* one group of byte-identical rows (same hash, then compared) */
		size_t e = g + 1;
		while (e < R && k[e].h == k[g].h && !memcmp(x + k[e].row * d, x + k[g].row * d, d * sizeof(float)))
			e++;
		/* the majority label of the group; every other row conflicts with it */
		size_t best = 0, ibest = g;
		for (size_t i = g; i < e;) {
			size_t j = i;
			while (j < e && k[j].y == k[i].y)
				j++;
			if (j - i > best) {
				best = j - i;
				ibest = i;
			}
			i = j;
		}
		for (size_t m = g; m < e; m++) {
			if (k[m].y == k[ibest].y)
				continue;
			if (out->n_conflicts < SANITY_MAX_CONFLICTS) {
				out->conflicts[out->n_conflicts][0] = rows_of[k[ibest].row];
				out->conflicts[out->n_conflicts][1] = rows_of[k[m].row];
			}
			out->n_conflicts++;
		}
		reachable += best;
		g = e;
	}
	out->max_reachable_acc = R ? (double)reachable / (double)R : NAN;
	free(k);
}

int sanity_overfit_batch(const struct probe_data *d, const struct probe_backend *b, size_t rows, int width,
			 long max_steps, uint64_t seed, struct sanity_overfit *out)
{
	memset(out, 0, sizeof *out);
	if (!d->y)
		return ERR_INPUT("sanity: the mini-batch check needs labels");
	if (rows < 2 || width < 1 || width > PROBE_MAX_WIDTH || max_steps < 1 || max_steps > 100000)
		return ERR_INPUT("sanity: mini-batch check: bad rows %zu, width %d or steps %ld", rows, width,
				 max_steps);
	size_t nl = 0;
	size_t *idx = xmalloc((d->n ? d->n : 1) * sizeof(size_t));
	for (size_t i = 0; i < d->n; i++)
		if (d->y[i] >= 0)
			idx[nl++] = i;
	if (rows > nl)
		rows = nl;
	if (rows < 2) {
		free(idx);
		return ERR_INPUT("sanity: mini-batch check: fewer than 2 labelled rows");
	}
	/* a seeded sample of the labelled rows, then sorted for a stable batch */
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < rows; i++) {
		size_t j = i + (size_t)rng_below(&r, nl - i), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	float *x = xmalloc(rows * d->d * sizeof(float));
	int32_t *y = xmalloc(rows * sizeof(int32_t));
	for (size_t i = 0; i < rows; i++) {
		memcpy(x + i * d->d, d->x + idx[i] * d->d, d->d * sizeof(float));
		y[i] = d->y[idx[i]];
	}
	struct probe_data sub = {.n = rows, .d = d->d, .x = x, .y = y, .n_classes = d->n_classes};
	struct probe_spec s;
	probe_spec_init(&s);
	mlp1(&s, width);
	s.init = PROBE_INIT_HE;
	s.lr = 0.01f;
	s.seed = seed;
	/* full batch: one step per epoch, a record per step */
	struct probe_job job = job_make(&sub, &s, 1, rows, (int)max_steps, 1, seed);
	struct sanity_fit fit;
	struct probe_result *res = train_fit(b, &job, NULL, &fit);
	int rc = -1;
	if (res) {
		const struct probe_trained *t = &res->probes[0];
		out->rows = rows;
		out->width = width;
		out->max_steps = max_steps;
		out->steps = max_steps;
		out->final_acc = fit.train_acc;
		/* a record's accuracy is the batch's before that step's update */
		for (size_t i = 0; i < t->n_records; i++)
			if (t->records[i].train_acc >= 1.0f) {
				out->reached = 1;
				out->steps = t->records[i].step;
				break;
			}
		if (fit.train_acc >= 1.0 && !out->reached) {
			out->reached = 1;
			out->steps = max_steps;
		}
		find_conflicts(x, y, idx, rows, d->d, out);
		out->verdict = out->reached ? "ok" : out->n_conflicts ? "conflicting labels" : "no learnable signal";
		probe_result_free(res);
		rc = 0;
	}
	free(x);
	free(y);
	free(idx);
	return rc;
}

/* ---- 2. gradient check ---- */

struct gc_in {
	size_t R;
	double *x, *w, *teacher;
	int32_t *tgt;
};

/* Largest relative error per layer between a and b (see sanity.h). */
static void rel_err(const struct probe_shape *sh, const double *a, const double *b, double *per_layer,
		    double *worst)
{
	*worst = 0;
	for (int l = 0; l < sh->n_layers; l++) {
		double m = 0;
		for (size_t i = sh->off[l]; i < sh->off[l + 1]; i++) {
			double den = fabs(a[i]) + fabs(b[i]);
			double e = fabs(a[i] - b[i]) / (den > 1e-5 ? den : 1e-5);
			if (!(e <= m))
				m = e;   /* NaN sticks */
		}
		per_layer[l] = m;
		if (!(m <= *worst))
			*worst = m;
	}
}

int sanity_gradient_check(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *s0,
			  size_t rows, sanity_grad_tamper tamper, void *tamper_ctx, struct sanity_gradcheck *out)
{
	memset(out, 0, sizeof *out);
	for (int l = 0; l < PROBE_MAX_LAYERS; l++)
		out->fp32_rel_err[l] = NAN;
	out->fp32_max_rel_err = NAN;
	if (s0->target == PROBE_TARGET_SOFT && !d->teacher)
		return ERR_INPUT("sanity: gradient check: soft targets need teacher probabilities");
	struct probe_spec s = *s0;
	s.row_weight = NULL;
	s.val_mask = NULL;
	s.feature_mask = NULL;
	s.patience = 0;

	/* the first `rows` rows with a target */
	size_t R = 0, C = (size_t)d->n_classes, D = d->d;
	size_t *sel = xmalloc((rows ? rows : 1) * sizeof(size_t));
	for (size_t i = 0; i < d->n && R < rows; i++)
		if (probe_row_target(&s, d, i) >= 0)
			sel[R++] = i;
	if (R == 0) {
		free(sel);
		return ERR_INPUT("sanity: gradient check: no row with a target");
	}
	float *xf = xmalloc(R * D * sizeof(float));
	int32_t *yf = xmalloc(R * sizeof(int32_t));
	float *tf = d->teacher ? xmalloc(R * C * sizeof(float)) : NULL;
	uint8_t *bt = s.target == PROBE_TARGET_BINARY ? xmalloc(R) : NULL;
	struct gc_in in = {.R = R};
	in.x = xmalloc(R * D * sizeof(double));
	in.w = xmalloc(R * sizeof(double));
	in.tgt = xmalloc(R * sizeof(int32_t));
	in.teacher = s.target == PROBE_TARGET_SOFT ? xmalloc(R * C * sizeof(double)) : NULL;
	for (size_t r = 0; r < R; r++) {
		size_t i = sel[r];
		for (size_t k = 0; k < D; k++)
			in.x[r * D + k] = xf[r * D + k] = d->x[i * D + k];
		yf[r] = d->y ? d->y[i] : -1;
		if (tf)
			memcpy(tf + r * C, d->teacher + i * C, C * sizeof(float));
		if (in.teacher)
			for (size_t c = 0; c < C; c++)
				in.teacher[r * C + c] = d->teacher[i * C + c];
		if (bt)
			bt[r] = s0->binary_target[i];
		in.tgt[r] = probe_row_target(s0, d, i);
		in.w[r] = s.class_weight && in.tgt[r] >= 0 ? s.class_weight[in.tgt[r]] : 1.0;
	}
	if (bt)
		s.binary_target = bt;
	struct probe_data sub = {.n = R, .d = D, .x = xf, .y = d->y ? yf : NULL, .n_classes = d->n_classes,
				 .teacher = tf};
	struct probe_job job = job_make(&sub, &s, 1, R, 1, 0, 1);
	struct probe_shape sh;
	probe_shape_of(&job, 0, &sh);
	size_t np = sh.n_params;
	float *wf = xmalloc(np * sizeof(float));
	probe_init_params(&s, &sh, wf);
	double *w = xmalloc(np * sizeof(double)), *an = xmalloc(np * sizeof(double));
	/* nonzero biases, so the bias rows are checked too */
	for (size_t i = 0; i < np; i++)
		w[i] = wf[i] != 0 ? wf[i] : 0.1 * sin((double)i + 1.0);
	probe_ref_loss_grad(&s, &sh, w, R, in.x, in.tgt, in.w, in.teacher, 0, an);
	if (tamper)
		tamper(an, np, tamper_ctx);
	/* fourth-order central differences (step 1e-4: truncation ~1e-16, rounding ~1e-12) */
	double *num = xmalloc(np * sizeof(double));
	const double h = 1e-4, off[4] = {-2 * h, -h, h, 2 * h};
	for (size_t i = 0; i < np; i++) {
		double w0 = w[i], f[4];
		for (int k = 0; k < 4; k++) {
			w[i] = w0 + off[k];
			f[k] = probe_ref_loss_grad(&s, &sh, w, R, in.x, in.tgt, in.w, in.teacher, 0, NULL);
		}
		w[i] = w0;
		num[i] = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
	}
	out->n_layers = sh.n_layers;
	out->n_params = np;
	rel_err(&sh, an, num, out->rel_err, &out->max_rel_err);
	out->passed = out->max_rel_err < SANITY_GRADCHECK_TOL;

	int rc = 0;
	if (b) {
		/* the backend's fp32 gradient at its own initial parameters, no dropout
		 * (its mask follows the batch order, which the reference cannot see) */
		s.dropout = 0;
		float *g32 = xmalloc(np * sizeof(float));
		float loss32;
		if (b->gradients(b, &job, g32, &loss32) != 0) {
			rc = -1;
		} else {
			for (size_t i = 0; i < np; i++)
				w[i] = wf[i];
			probe_ref_loss_grad(&s, &sh, w, R, in.x, in.tgt, in.w, in.teacher, 0, an);
			for (size_t i = 0; i < np; i++)
				num[i] = g32[i];
			rel_err(&sh, an, num, out->fp32_rel_err, &out->fp32_max_rel_err);
		}
		free(g32);
	}
	free(num);
	free(w);
	free(an);
	free(wf);
	free(sel);
	free(xf);
	free(yf);
	free(tf);
	free(bt);
	free(in.x);
	free(in.w);
	free(in.tgt);
	free(in.teacher);
	return rc;
}

/* ---- 3. initialisation ---- */

int sanity_distinct_units(const struct probe_trained *t, double tol)
{
	if (t->n_layers < 2)
		return 0;
	int rowsn = t->dims[0] + 1, h = t->dims[1], reps[PROBE_MAX_WIDTH], nrep = 0;
	const float *w = t->params;   /* layer 0 starts the array */
	for (int j = 0; j < h; j++) {
		int same = 0;
		for (int q = 0; q < nrep && !same; q++) {
			same = 1;
			for (int k = 0; k < rowsn && same; k++) {
				double a = w[k * h + j], c = w[k * h + reps[q]];
				same = fabs(a - c) <= tol * fmax(1.0, fmax(fabs(a), fabs(c)));
			}
		}
		if (!same)
			reps[nrep++] = j;
	}
	return nrep;
}

int sanity_init(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask, int width,
		int epochs, size_t batch, uint64_t seed, struct sanity_init *out)
{
	memset(out, 0, sizeof *out);
	static const enum probe_init inits[4] = {PROBE_INIT_CONSTANT, PROBE_INIT_UNIFORM, PROBE_INIT_XAVIER,
						 PROBE_INIT_HE};
	struct probe_spec s[4];
	for (int i = 0; i < 4; i++) {
		probe_spec_init(&s[i]);
		mlp1(&s[i], width);
		s[i].init = inits[i];
		s[i].init_value = inits[i] == PROBE_INIT_CONSTANT ? 0.1f : 0.01f;
		s[i].lr = 0.01f;
		s[i].val_mask = val_mask;
		s[i].seed = seed + (uint64_t)i;
	}
	struct probe_job job = job_make(d, s, 4, batch, epochs, 0, seed);
	struct sanity_fit fit[4];
	struct probe_result *r = train_fit(b, &job, val_mask, fit);
	if (!r)
		return -1;
	out->width = width;
	for (int i = 0; i < 4; i++) {
		out->runs[i].init = inits[i];
		out->runs[i].fit = fit[i];
		curve_of(&r->probes[i], &out->runs[i].curve);
		out->runs[i].distinct_units = sanity_distinct_units(&r->probes[i], 1e-6);
		sanity_health(&r->probes[i], &out->runs[i].health);
	}
	probe_result_free(r);
	return 0;
}

/* ---- 4. learning-rate range test ---- */

static int labelled_train_rows(const struct probe_data *d)
{
	size_t c = 0;
	for (size_t i = 0; i < d->n; i++)
		c += d->y && d->y[i] >= 0;
	return c > 0;
}

int sanity_lr_range(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		    double lr_min, double lr_max, long steps, size_t batch, uint64_t seed,
		    struct sanity_lr_range *out)
{
	memset(out, 0, sizeof *out);
	if (!(lr_min > 0 && lr_max > lr_min) || steps < 10 || batch < 1 || !labelled_train_rows(d))
		return ERR_INPUT("sanity: learning-rate range: need 0 < lr_min < lr_max, steps >= 10, labels");
	struct probe_spec s = *base;
	s.val_mask = NULL;
	s.patience = 0;
	s.sched = PROBE_LR_EXP;
	s.lr = (float)lr_min;
	s.lr_step = 1;
	struct probe_job job = job_make(d, &s, 1, batch, 1, 1, seed);
	long spe = probe_steps_per_epoch(&job);
	job.epochs = (int)((steps + spe - 1) / spe);
	long T = probe_total_steps(&job);
	s.lr_gamma = (float)pow(lr_max / lr_min, 1.0 / (double)T);
	struct probe_result *r = b->train(b, &job);
	if (!r)
		return -1;
	const struct probe_trained *t = &r->probes[0];
	size_t nr = t->n_records;
	float *sm = xmalloc((nr ? nr : 1) * sizeof(float));
	double avg = 0, best = INFINITY, bpow = 1;
	size_t ibest = 0, stop = nr;
	out->stopped_at = -1;
	for (size_t i = 0; i < nr; i++) {
		double l = t->records[i].train_loss;
		if (!isfinite(l)) {
			stop = i;
			break;
		}
		avg = 0.9 * avg + 0.1 * l;
		bpow *= 0.9;
		sm[i] = (float)(avg / (1 - bpow));
		/* after a few steps of warm-up, so the debiased start does not count */
		if (i >= 5 && sm[i] > 4 * best) {
			stop = i + 1;
			break;
		}
		if (sm[i] < best) {
			best = sm[i];
			ibest = i;
		}
	}
	if (stop < nr)
		out->stopped_at = t->records[stop < nr ? stop : nr - 1].step;
	size_t k = stop < SANITY_MAX_CURVE ? stop : SANITY_MAX_CURVE;
	out->n = k;
	for (size_t i = 0; i < k; i++) {
		size_t j = k > 1 ? i * (stop - 1) / (k - 1) : 0;
		out->lr[i] = t->records[j].lr;
		out->loss[i] = t->records[j].train_loss;
		out->smooth[i] = sm[j];
	}
	out->lr_at_min = nr ? t->records[ibest].lr : lr_min;
	/* steepest descent: slope of the smoothed loss over +-5 records against log lr */
	out->lr_steepest = out->lr_at_min;
	double steep = 0;
	for (size_t i = 5; i + 5 <= ibest; i++) {
		double dl = log((double)t->records[i + 5].lr / (double)t->records[i - 5].lr);
		double sl = dl > 0 ? (sm[i + 5] - sm[i - 5]) / dl : 0;
		if (sl < steep) {
			steep = sl;
			out->lr_steepest = t->records[i].lr;
		}
	}
	out->suggested = out->lr_at_min / 3;   /* the rule: see sanity.h */
	free(sm);
	probe_result_free(r);

	/* too low, suggested, too high: fixed rates for the same number of steps */
	struct probe_spec f[3];
	const double mult[3] = {1.0 / 30, 1, 30};
	for (int i = 0; i < 3; i++) {
		f[i] = *base;
		f[i].val_mask = NULL;
		f[i].patience = 0;
		f[i].sched = PROBE_LR_CONSTANT;
		f[i].lr = (float)(out->suggested * mult[i]);
		out->runs_lr[i] = f[i].lr;
	}
	struct probe_job j3 = job_make(d, f, 3, batch, job.epochs, 0, seed);
	r = train_fit(b, &j3, NULL, out->runs_fit);
	if (!r)
		return -1;
	for (int i = 0; i < 3; i++)
		curve_of(&r->probes[i], &out->runs[i]);
	probe_result_free(r);
	return 0;
}

int sanity_lr_sweep(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		    const double *lrs, size_t n_lrs, int epochs, size_t batch, uint64_t seed, double *loss_out)
{
	if (n_lrs == 0)
		return ERR_INPUT("sanity: learning-rate sweep: no rates");
	struct probe_spec *s = xmalloc(n_lrs * sizeof *s);
	for (size_t i = 0; i < n_lrs; i++) {
		s[i] = *base;
		s[i].val_mask = NULL;
		s[i].patience = 0;
		s[i].sched = PROBE_LR_CONSTANT;
		s[i].lr = (float)lrs[i];
	}
	struct probe_job job = job_make(d, s, n_lrs, batch, epochs, 0, seed);
	struct sanity_fit *fit = xmalloc(n_lrs * sizeof *fit);
	struct probe_result *r = train_fit(b, &job, NULL, fit);
	int best = -1;
	if (r) {
		for (size_t i = 0; i < n_lrs; i++) {
			loss_out[i] = isfinite(fit[i].train_loss) ? fit[i].train_loss : INFINITY;
			if (best < 0 || loss_out[i] < loss_out[best])
				best = (int)i;
		}
		probe_result_free(r);
	}
	free(fit);
	free(s);
	return best;
}

/* ---- 5. optimizers and schedules ---- */

/* Base rates per optimizer: the usual defaults for standardised inputs (SGD and
 * AdaGrad take larger steps; Adam and RMSprop normalise theirs). */
static const float optim_lr[SANITY_N_OPTIM] = {0.1f, 0.03f, 0.003f, 0.1f, 0.003f};

void sanity_optim_spec(const struct probe_spec *base, enum probe_optim o, enum probe_sched c, long T,
		       struct probe_spec *out)
{
	*out = *base;
	out->optim = o;
	out->sched = c;
	out->lr = optim_lr[o];
	out->momentum = 0.9f;
	out->rho = 0.9f;
	/* step: halve every quarter; exp: end at 1/100; cosine: down to 0 */
	out->lr_gamma = c == PROBE_LR_STEP ? 0.5f : 0.01f;
	out->lr_step = c == PROBE_LR_STEP ? (T / 4 > 0 ? T / 4 : 1) : T;
	out->lr_min = 0;
}

int sanity_optimizers(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		      const uint8_t *val_mask, int epochs, size_t batch, double target_loss, uint64_t seed,
		      struct sanity_optimizers *out)
{
	memset(out, 0, sizeof *out);
	enum { P = SANITY_N_OPTIM * SANITY_N_SCHED };
	struct probe_spec s[P];
	struct probe_job job = job_make(d, s, P, batch, epochs, 0, seed);
	for (int i = 0; i < P; i++) {
		s[i] = *base;
		s[i].val_mask = val_mask;
		s[i].patience = 0;
	}
	long T = probe_total_steps(&job);
	job.record_every = T / 50 > 1 ? T / 50 : 1;
	for (int o = 0; o < SANITY_N_OPTIM; o++)
		for (int c = 0; c < SANITY_N_SCHED; c++) {
			struct probe_spec *p = &s[o * SANITY_N_SCHED + c];
			sanity_optim_spec(p, (enum probe_optim)o, (enum probe_sched)c, T, p);
		}
	struct sanity_fit fit[P];
	struct probe_result *r = train_fit(b, &job, val_mask, fit);
	if (!r)
		return -1;
	double best_final = INFINITY;
	for (int i = 0; i < P; i++) {
		const struct probe_trained *t = &r->probes[i];
		double l = t->n_records ? t->records[t->n_records - 1].train_loss : NAN;
		if (l < best_final)
			best_final = l;
	}
	out->target_loss = target_loss > 0 ? target_loss : 1.25 * best_final;
	out->best = 0;
	for (int i = 0; i < P; i++) {
		struct sanity_optim_run *u = &out->runs[i];
		const struct probe_trained *t = &r->probes[i];
		u->optim = s[i].optim;
		u->sched = s[i].sched;
		u->lr = s[i].lr;
		u->fit = fit[i];
		u->steps_to_target = -1;
		for (size_t k = 0; k < t->n_records; k++)
			if (t->records[k].train_loss <= out->target_loss) {
				u->steps_to_target = t->records[k].step;
				break;
			}
		curve_of(t, &u->curve);
		if (fit[i].val_loss < out->runs[out->best].fit.val_loss || !isfinite(out->runs[out->best].fit.val_loss))
			out->best = i;
	}
	probe_result_free(r);
	return 0;
}

/* ---- 6. regularisation ---- */

int sanity_regularisation(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
			  const uint8_t *val_mask, int epochs, size_t batch, uint64_t seed,
			  struct sanity_regularisation *out)
{
	memset(out, 0, sizeof *out);
	static const char *names[SANITY_N_REG] = {"none", "l1", "l2", "dropout", "early_stopping"};
	if (!val_mask)
		return ERR_INPUT("sanity: regularisation needs validation rows");
	struct probe_spec s[SANITY_N_REG];
	for (int i = 0; i < SANITY_N_REG; i++) {
		s[i] = *base;
		s[i].val_mask = val_mask;
		s[i].l1 = s[i].l2 = s[i].dropout = 0;
		s[i].patience = 0;
	}
	s[1].l1 = 1e-3f;
	s[2].l2 = 1e-2f;
	s[3].dropout = base->n_hidden > 0 ? 0.3f : 0;
	s[4].patience = 3;
	struct probe_job job = job_make(d, s, SANITY_N_REG, batch, epochs, 0, seed);
	struct sanity_fit fit[SANITY_N_REG];
	struct probe_result *r = train_fit(b, &job, val_mask, fit);
	if (!r)
		return -1;
	for (int i = 0; i < SANITY_N_REG; i++) {
		out->runs[i].name = names[i];
		out->runs[i].fit = fit[i];
		out->runs[i].gap = fit[i].val_loss - fit[i].train_loss;
		out->runs[i].steps = r->probes[i].steps;
		if (fit[i].val_loss < fit[out->best].val_loss)
			out->best = i;
	}
	probe_result_free(r);
	return 0;
}

/* ---- 7. gradual complexity increase ---- */

int sanity_capacity(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask,
		    int epochs, size_t batch, uint64_t seed, struct sanity_capacity *out)
{
	memset(out, 0, sizeof *out);
	if (!val_mask)
		return ERR_INPUT("sanity: capacity needs validation rows");
	static const int arch[SANITY_N_ARCH][4] = {{0, 0}, {1, 8}, {1, 32}, {1, 128}, {2, 32, 32},
						   {2, 128, 128}, {3, 128, 128, 128}};
	struct probe_spec s[SANITY_N_ARCH];
	for (int a = 0; a < SANITY_N_ARCH; a++) {
		probe_spec_init(&s[a]);
		s[a].init = PROBE_INIT_HE;
		s[a].lr = 0.003f;
		s[a].n_hidden = arch[a][0];
		for (int l = 0; l < arch[a][0]; l++)
			s[a].hidden[l] = arch[a][1 + l];
		s[a].val_mask = val_mask;
		s[a].seed = seed + (uint64_t)a;
		out->arch[a].n_hidden = arch[a][0];
		memcpy(out->arch[a].hidden, s[a].hidden, sizeof s[a].hidden);
	}
	struct probe_job job = job_make(d, s, SANITY_N_ARCH, batch, epochs, 0, seed);
	struct sanity_fit fit[SANITY_N_ARCH];
	struct probe_result *r = train_fit(b, &job, val_mask, fit);
	if (!r)
		return -1;
	for (int a = 0; a < SANITY_N_ARCH; a++) {
		out->arch[a].fit = fit[a];
		curve_of(&r->probes[a], &out->arch[a].curve);
		sanity_health(&r->probes[a], &out->arch[a].health);
		if (fit[a].val_loss < fit[out->best_arch].val_loss)
			out->best_arch = a;
	}
	probe_result_free(r);
	out->overfit_from = -1;
	for (int a = out->best_arch + 1; a < SANITY_N_ARCH; a++)
		if (fit[a].val_loss > fit[out->best_arch].val_loss && fit[a].train_loss < fit[out->best_arch].train_loss) {
			out->overfit_from = a;
			break;
		}

	/* learning curve: nested subsets of the train rows by a seeded key */
	size_t n = d->n, ntrain = 0;
	double *key = xmalloc((n ? n : 1) * sizeof(double));
	struct rng g;
	rng_seed(&g, seed ^ 0x1ea2c0e5ULL);
	for (size_t i = 0; i < n; i++) {
		key[i] = rng_uniform(&g);
		ntrain += d->y && d->y[i] >= 0 && !val_mask[i];
	}
	float *rw = xcalloc((n ? n : 1) * SANITY_N_SIZES, sizeof(float));
	struct probe_spec ls[SANITY_N_SIZES];
	for (int k = 0; k < SANITY_N_SIZES; k++) {
		double share = 1.0 / (double)(1 << (SANITY_N_SIZES - 1 - k));
		out->size_share[k] = share;
		for (size_t i = 0; i < n; i++)
			if (d->y && d->y[i] >= 0 && !val_mask[i] && key[i] < share) {
				rw[(size_t)k * n + i] = 1;
				out->size_rows[k]++;
			}
		ls[k] = s[2];
		ls[k].row_weight = rw + (size_t)k * n;
		ls[k].seed = seed + 100 + (uint64_t)k;
	}
	(void)ntrain;
	struct probe_job lj = job_make(d, ls, SANITY_N_SIZES, batch, epochs, 0, seed);
	r = train_fit(b, &lj, val_mask, out->size_fit);
	free(key);
	free(rw);
	if (!r)
		return -1;
	probe_result_free(r);
	out->still_rising = out->size_fit[SANITY_N_SIZES - 1].val_acc - out->size_fit[SANITY_N_SIZES - 2].val_acc > 0.01;
	return 0;
}

/* ---- 8. gradient and activation health ---- */

void sanity_health(const struct probe_trained *t, struct sanity_health *out)
{
	memset(out, 0, sizeof *out);
	out->n_layers = t->n_layers;
	if (t->n_records == 0)
		return;
	for (int l = 0; l < t->n_layers; l++) {
		out->ratio_min[l] = INFINITY;
		out->ratio_max[l] = 0;
		for (size_t i = 0; i < t->n_records; i++) {
			const struct probe_record *r = &t->records[i];
			double q = r->grad_norm[l] / fmax(r->weight_norm[l], 1e-30);
			if (!isfinite(q))
				q = INFINITY;
			if (i == 0)
				out->ratio_first[l] = q;
			out->ratio_last[l] = q;
			out->ratio_min[l] = fmin(out->ratio_min[l], q);
			out->ratio_max[l] = fmax(out->ratio_max[l], q);
		}
		out->exploding[l] = out->ratio_max[l] > SANITY_EXPLODE_RATIO;
	}
	/* vanishing needs a reference: the output layer's ratio, or a stalled loss */
	double top = out->ratio_last[t->n_layers - 1];
	double first_loss = t->records[0].train_loss, last_loss = t->records[t->n_records - 1].train_loss;
	int stalled = !(last_loss <= SANITY_STALL * first_loss);
	for (int l = 0; l < t->n_layers; l++) {
		out->vanishing[l] = out->ratio_last[l] < SANITY_VANISH_RATIO &&
				    (stalled || out->ratio_last[l] < SANITY_VANISH_SPREAD * top);
		out->any_flag |= out->vanishing[l] | out->exploding[l];
	}
	const struct probe_record *last = &t->records[t->n_records - 1];
	for (int l = 0; l + 1 < t->n_layers && l < PROBE_MAX_HIDDEN; l++) {
		out->dead_relu[l] = last->dead_relu[l];
		out->act_std[l] = last->act_std[l];
		out->dead_flag[l] = last->dead_relu[l] > SANITY_DEAD_SHARE;
		out->any_flag |= out->dead_flag[l];
	}
}

/* ---- paired comparisons ---- */

void sanity_paired_diff(const double *a, const double *b, size_t n, double *mean, double *lo, double *hi)
{
	double s = 0, s2 = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] - b[i];
	*mean = n ? s / (double)n : NAN;
	for (size_t i = 0; i < n; i++) {
		double e = a[i] - b[i] - *mean;
		s2 += e * e;
	}
	if (n < 2) {
		*lo = *hi = NAN;
		return;
	}
	double se = sqrt(s2 / (double)(n - 1) / (double)n);
	*lo = *mean - 1.959963984540054 * se;
	*hi = *mean + 1.959963984540054 * se;
}

int sanity_pair(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *s,
		const uint8_t *val, int seeds, int epochs, size_t batch, uint64_t seed, struct sanity_pair *out)
{
	memset(out, 0, sizeof *out);
	out->diff = out->ci_low = out->ci_high = NAN;
	if (!val || !d->y || seeds < 1 || seeds > SANITY_PAIR_MAX_SEEDS)
		return ERR_INPUT("sanity: a paired comparison needs labels, validation rows and 1..%d seeds",
				 SANITY_PAIR_MAX_SEEDS);
	size_t nv = 0, P = 2 * (size_t)seeds;
	for (size_t i = 0; i < d->n; i++)
		nv += val[i] && d->y[i] >= 0;
	/* probes side-major: s[0] seed 0..seeds-1, then s[1] */
	struct probe_spec sp[2 * SANITY_PAIR_MAX_SEEDS];
	double *rows[2 * SANITY_PAIR_MAX_SEEDS];
	for (size_t p = 0; p < P; p++) {
		sp[p] = s[p / (size_t)seeds];
		sp[p].val_mask = val;
		sp[p].seed += (uint64_t)(p % (size_t)seeds) * 104729;
		rows[p] = xmalloc((nv ? nv : 1) * sizeof(double));
	}
	struct sanity_fit fit[2 * SANITY_PAIR_MAX_SEEDS];
	struct probe_job job = job_make(d, sp, P, batch, epochs, 0, seed);
	struct probe_result *r = b->train(b, &job);
	int rc = r && fits_rows(b, r, d, sp, val, fit, rows) == 0 ? 0 : -1;
	if (rc == 0) {
		double *mean[2] = {xcalloc(nv ? nv : 1, sizeof(double)), xcalloc(nv ? nv : 1, sizeof(double))};
		for (size_t p = 0; p < P; p++) {
			int side = (int)(p / (size_t)seeds);
			for (size_t i = 0; i < nv; i++)
				mean[side][i] += rows[p][i] / seeds;
			struct sanity_fit *f = &out->fit[side];
			f->train_loss += fit[p].train_loss / seeds;
			f->train_acc += fit[p].train_acc / seeds;
			f->val_loss += fit[p].val_loss / seeds;
			f->val_acc += fit[p].val_acc / seeds;
		}
		for (int k = 0; k < seeds; k++)
			out->wins += fit[k].val_loss < fit[seeds + k].val_loss;
		out->seeds = seeds;
		out->n = nv;
		sanity_paired_diff(mean[0], mean[1], nv, &out->diff, &out->ci_low, &out->ci_high);
		free(mean[0]);
		free(mean[1]);
	}
	probe_result_free(r);
	for (size_t p = 0; p < P; p++)
		free(rows[p]);
	return rc;
}

/* ---- 9b. the best trial on the full train rows ---- */

long sanity_plateau(const float *loss, size_t n, double rel, int patience)
{
	double best = INFINITY;
	int bad = 0;
	if (patience < 1)
		patience = 1;
	for (size_t i = 0; i < n; i++) {
		double l = loss[i];
		if (!isfinite(l))
			return (long)i;
		/* a loss below the best but not by `rel` is no improvement, and
		 * does not move the bar: slow creep still adds up to one */
		if (l < best * (1 - rel)) {
			best = l;
			bad = 0;
		} else if (++bad >= patience) {
			return (long)i;
		}
	}
	return -1;
}

void sanity_final_free(struct sanity_final_run *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].val_row_loss);
		r[i].val_row_loss = NULL;
	}
}

int sanity_final(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *specs,
		 size_t n, const uint8_t *val, int max_epochs, int patience, size_t batch, uint64_t seed,
		 struct sanity_final_run *out)
{
	memset(out, 0, n * sizeof *out);
	if (!val || !d->y || n == 0 || max_epochs < 1 || batch < 1)
		return ERR_INPUT("sanity: final training needs labels, validation rows, specs and max_epochs >= 1");
	size_t n_val = 0;
	for (size_t i = 0; i < d->n; i++)
		n_val += val[i] && d->y[i] >= 0;
	struct probe_spec *s = xmalloc(n * sizeof *s);
	double **rows = xmalloc(n * sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		s[i] = specs[i];
		s[i].val_mask = val;
		s[i].patience = 0;
		/* constant rate: a shorter run then retraces the longer one */
		s[i].sched = PROBE_LR_CONSTANT;
		out[i].n_val = n_val;
		out[i].val_row_loss = xmalloc((n_val ? n_val : 1) * sizeof(double));
		rows[i] = out[i].val_row_loss;
	}
	struct probe_job job = job_make(d, s, n, batch, max_epochs, 0, seed);
	struct sanity_fit *fit = xmalloc(n * sizeof *fit);
	struct probe_result *r = b->train(b, &job);
	int rc = r && fits_rows(b, r, d, s, val, fit, rows) == 0 ? 0 : -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct probe_trained *t = &r->probes[i];
		size_t nr = t->n_records;
		float *tl = xmalloc((nr ? nr : 1) * sizeof(float));
		for (size_t k = 0; k < nr; k++)
			tl[k] = t->records[k].train_loss;
		long at = sanity_plateau(tl, nr, SANITY_PLATEAU_REL, patience);
		free(tl);
		curve_of(t, &out[i].curve);
		struct sanity_final_run *o = &out[i];
		o->stopped = at >= 0;
		size_t last = at >= 0 ? (size_t)at : nr - 1;
		o->epochs = nr ? t->records[last].epoch + 1 : 0;
		o->steps = nr ? t->records[last].step : 0;
		o->train_loss = nr ? t->records[last].train_loss : NAN;
		if (!o->stopped || last + 1 == nr) {
			o->fit = fit[i];
			continue;
		}
		/* stopped before the cap: train again for exactly its epochs */
		struct probe_job j1 = job_make(d, &s[i], 1, batch, o->epochs, 0, seed);
		struct probe_result *r1 = b->train(b, &j1);
		rc = r1 && fits_rows(b, r1, d, &s[i], val, &o->fit, &rows[i]) == 0 ? 0 : -1;
		if (rc == 0)
			o->steps = r1->probes[0].steps;
		probe_result_free(r1);
	}
	probe_result_free(r);
	free(fit);
	free(rows);
	free(s);
	if (rc != 0)
		sanity_final_free(out, n);
	return rc;
}

/* ---- 10. distillation ---- */

int sanity_distill(const struct probe_data *d, const struct probe_backend *b, const uint8_t *test_mask, int width,
		   double temperature, int epochs, size_t batch, uint64_t seed, struct sanity_distill *out)
{
	memset(out, 0, sizeof *out);
	if (!d->teacher || !d->y || !test_mask || !(temperature > 0))
		return ERR_INPUT("sanity: distillation needs teacher probabilities, labels, test rows and T > 0");
	struct probe_spec s;
	probe_spec_init(&s);
	mlp1(&s, width);
	s.init = PROBE_INIT_HE;
	s.lr = 0.01f;
	s.target = PROBE_TARGET_SOFT;
	s.temperature = (float)temperature;
	s.alpha = 0.7f;
	s.val_mask = test_mask;   /* never trained on */
	s.seed = seed;
	struct probe_job job = job_make(d, &s, 1, batch, epochs, 0, seed);
	struct probe_result *r = b->train(b, &job);
	if (!r)
		return -1;
	size_t n = d->n, W = (size_t)r->out_width, C = (size_t)d->n_classes;
	float *pr = xmalloc(n * W * sizeof(float));
	if (b->predict(b, r, d->x, n, pr) != 0) {
		free(pr);
		probe_result_free(r);
		return -1;
	}
	double cnt = 0, agree = 0, sacc = 0, tacc = 0, sl = 0, tl = 0;
	double *sc = xmalloc((n ? n : 1) * sizeof(double)), *tc = xmalloc((n ? n : 1) * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		if (!test_mask[i] || d->y[i] < 0)
			continue;
		const float *q = pr + i * W, *t = d->teacher + i * C;
		size_t as = 0, at = 0;
		for (size_t c = 1; c < C; c++) {
			if (q[c] > q[as])
				as = c;
			if (t[c] > t[at])
				at = c;
		}
		int y = d->y[i];
		sc[(size_t)cnt] = (int)as == y;
		tc[(size_t)cnt] = (int)at == y;
		cnt++;
		agree += as == at;
		sacc += (int)as == y;
		tacc += (int)at == y;
		sl -= log(fmax(q[y], 1e-12));
		tl -= log(fmax(t[y], 1e-12));
	}
	free(pr);
	probe_result_free(r);
	double mean;
	sanity_paired_diff(sc, tc, (size_t)cnt, &mean, &out->diff_low, &out->diff_high);
	free(sc);
	free(tc);
	out->n = (size_t)cnt;
	if (cnt == 0)
		return ERR_INPUT("sanity: distillation: no labelled test row");
	out->fidelity = agree / cnt;
	out->student_acc = sacc / cnt;
	out->teacher_acc = tacc / cnt;
	out->student_loss = sl / cnt;
	out->teacher_loss = tl / cnt;
	out->student_beats_teacher = out->student_acc > out->teacher_acc + 0.01 && out->diff_low > 0;
	out->reasons = out->student_beats_teacher
			       ? "the teacher likely overfits: the student may be regularised more effectively, its "
				 "simpler architecture may suit the task better, or its learning rate and optimizer "
				 "may converge better"
			       : "";
	return 0;
}
