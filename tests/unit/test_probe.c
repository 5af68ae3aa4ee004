/* test_probe.c - the probe engine's CPU backend and the feature encoding.
 *
 * Gradient check: for every architecture (0..3 hidden layers), activation and
 * loss (labels, soft targets, binary target), with and without dropout,
 * penalties, class and row weights, the double-precision reference (the same
 * forward/backward code as the backend, compiled for double) agrees with central
 * finite differences to a relative error below 1e-6; the check catches a
 * gradient that is wrong (a corrupted element, a wrong temperature, a wrong
 * dropout mask); and the fp32 backend's gradients, with each kernel set, agree
 * with the reference to fp32 precision.
 *
 * Then: one optimizer step of each optimizer against its formula, bit-identical
 * results across thread counts and with or without other probes in the job,
 * learning (a linearly separable problem, XOR), masks, records, early stopping,
 * the backend choice, and the encoding of a small frame. Small shapes, so the
 * sanitizer build runs it quickly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/util.h"
#include "../../stages/probes/features.h"
#include "../../stages/probes/probe_internal.h"

/* ---- data ---- */

/* n rows of d standard normal features; labels from a fixed linear rule over
 * C classes (argmax of x . R), so problems are learnable. Caller frees. */
struct toy {
	size_t n, d;
	int C;
	float *x;
	int32_t *y;
	float *teacher;
	uint8_t *bin;
	struct probe_data data;
};

static void toy_make(struct toy *t, size_t n, size_t d, int C, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	t->n = n;
	t->d = d;
	t->C = C;
	t->x = xmalloc(n * d * sizeof(float));
	t->y = xmalloc(n * sizeof(int32_t));
	t->teacher = xmalloc(n * (size_t)C * sizeof(float));
	t->bin = xmalloc(n);
	double rot[64 * 8];
	for (size_t i = 0; i < d * (size_t)C; i++)
		rot[i] = rng_normal(&r);
	for (size_t i = 0; i < n; i++) {
		double best = -1e300, z[8], s = 0;
		for (int c = 0; c < C; c++) {
			z[c] = 0;
			for (size_t k = 0; k < d; k++) {
				if (c == 0)
					t->x[i * d + k] = (float)rng_normal(&r);
				z[c] += t->x[i * d + k] * rot[k * (size_t)C + (size_t)c];
			}
			if (z[c] > best) {
				best = z[c];
				t->y[i] = c;
			}
		}
		for (int c = 0; c < C; c++)
			s += exp(z[c] - best);
		for (int c = 0; c < C; c++)
			t->teacher[i * (size_t)C + (size_t)c] = (float)(exp(z[c] - best) / s);
		t->bin[i] = t->x[i * d] > 0.3f;
	}
	t->data = (struct probe_data){.n = n, .d = d, .x = t->x, .y = t->y, .n_classes = C, .teacher = t->teacher};
}

static void toy_free(struct toy *t)
{
	free(t->x);
	free(t->y);
	free(t->teacher);
	free(t->bin);
}

static struct probe_job job_of(const struct probe_data *d, const struct probe_spec *s, size_t P, size_t batch,
			       int epochs)
{
	return (struct probe_job){.data = d, .specs = s, .n_probes = P, .batch_size = batch, .epochs = epochs,
				  .record_every = 0, .seed = 99, .threads = 1};
}

/* ---- gradient check ---- */

/* One architecture x activation x loss x options case. */
struct gcase {
	int n_hidden, hidden[3];
	enum probe_act act;
	enum probe_target target;
	int extras;   /* dropout, penalties, class and row weights */
};

static void gcase_spec(const struct gcase *g, struct probe_spec *s, uint64_t seed)
{
	probe_spec_init(s);
	s->n_hidden = g->n_hidden;
	memcpy(s->hidden, g->hidden, sizeof s->hidden);
	s->act = g->act;
	s->init = PROBE_INIT_HE;
	s->target = g->target;
	s->temperature = 2.5f;
	s->alpha = 0.7f;
	s->seed = seed;
	if (g->extras) {
		s->dropout = 0.3f;
		s->l1 = 0.01f;
		s->l2 = 0.1f;
	}
}

/* Inputs of a reference evaluation: R rows in double. */
struct gin {
	size_t R, d;
	int C;
	double *x, *w, *teacher;
	int32_t *tgt;
};

static void gin_make(struct gin *in, const struct toy *t, const struct probe_spec *s, int extras, size_t R)
{
	static const float cw3[3] = {0.5f, 2.0f, 1.3f};
	int C = s->target == PROBE_TARGET_BINARY ? 2 : t->C;
	in->R = R;
	in->d = t->d;
	in->C = C;
	in->x = xmalloc(R * t->d * sizeof(double));
	in->w = xmalloc(R * sizeof(double));
	in->teacher = xmalloc(R * (size_t)C * sizeof(double));
	in->tgt = xmalloc(R * sizeof(int32_t));
	for (size_t i = 0; i < R; i++) {
		for (size_t k = 0; k < t->d; k++)
			in->x[i * t->d + k] = t->x[i * t->d + k];
		in->tgt[i] = s->target == PROBE_TARGET_BINARY ? t->bin[i] : t->y[i];
		in->w[i] = extras ? 0.5 + (double)(i % 3) * cw3[in->tgt[i] % 3] : 1.0;
		for (int c = 0; c < C; c++)
			in->teacher[i * (size_t)C + (size_t)c] = t->teacher[i * (size_t)t->C + (size_t)c];
	}
}

static void gin_free(struct gin *in)
{
	free(in->x);
	free(in->w);
	free(in->teacher);
	free(in->tgt);
}

static double ref(const struct probe_spec *s, const struct probe_shape *sh, const double *w, const struct gin *in,
		  long step, double *grad)
{
	return probe_ref_loss_grad(s, sh, w, in->R, in->x, in->tgt, in->w,
				   s->target == PROBE_TARGET_SOFT ? in->teacher : NULL, step, grad);
}

/* Largest relative error between `analytic` and fourth-order central
 * differences of the objective (step 1e-4: truncation error ~1e-16, rounding
 * ~1e-12): |a - n| / max(|a| + |n|, 1e-5), so gradients under 1e-5 are held to
 * an absolute 1e-11 rather than to a ratio of rounding noise. */
static double gradcheck(const struct probe_spec *s, const struct probe_shape *sh, double *w, const struct gin *in,
			const double *analytic)
{
	const double h = 1e-4;
	double worst = 0;
	for (size_t i = 0; i < sh->n_params; i++) {
		double w0 = w[i], f[4];
		const double off[4] = {-2 * h, -h, h, 2 * h};
		for (int k = 0; k < 4; k++) {
			w[i] = w0 + off[k];
			f[k] = ref(s, sh, w, in, 0, NULL);
		}
		w[i] = w0;
		double num = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
		double den = fabs(analytic[i]) + fabs(num);
		double err = fabs(analytic[i] - num) / (den > 1e-5 ? den : 1e-5);
		if (err > worst)
			worst = err;
	}
	return worst;
}

static const struct gcase gcases[] = {
	{0, {0}, PROBE_RELU, PROBE_TARGET_LABEL, 0},        {0, {0}, PROBE_RELU, PROBE_TARGET_SOFT, 1},
	{0, {0}, PROBE_TANH, PROBE_TARGET_BINARY, 1},       {1, {5}, PROBE_RELU, PROBE_TARGET_LABEL, 0},
	{1, {5}, PROBE_TANH, PROBE_TARGET_LABEL, 1},        {1, {6}, PROBE_RELU, PROBE_TARGET_SOFT, 0},
	{1, {6}, PROBE_TANH, PROBE_TARGET_SOFT, 1},         {1, {4}, PROBE_RELU, PROBE_TARGET_BINARY, 1},
	{2, {5, 3}, PROBE_RELU, PROBE_TARGET_LABEL, 1},     {2, {5, 3}, PROBE_TANH, PROBE_TARGET_SOFT, 0},
	{2, {4, 6}, PROBE_TANH, PROBE_TARGET_BINARY, 0},    {2, {4, 6}, PROBE_RELU, PROBE_TARGET_SOFT, 1},
	{3, {4, 3, 5}, PROBE_RELU, PROBE_TARGET_LABEL, 0},  {3, {4, 3, 5}, PROBE_TANH, PROBE_TARGET_LABEL, 1},
	{3, {5, 4, 3}, PROBE_RELU, PROBE_TARGET_BINARY, 1}, {3, {5, 4, 3}, PROBE_TANH, PROBE_TARGET_SOFT, 1},
	{3, {6, 5, 4}, PROBE_RELU, PROBE_TARGET_SOFT, 0},   {2, {3, 7}, PROBE_TANH, PROBE_TARGET_LABEL, 0},
};
#define N_GCASES (sizeof gcases / sizeof gcases[0])

/* Set up case g: toy data, spec, shape, initial parameters in double. */
static void gcase_setup(const struct gcase *g, struct toy *t, struct probe_spec *s, struct probe_shape *sh,
			struct probe_job *job, double **w)
{
	toy_make(t, 12, 4, 3, 5 + (uint64_t)g->n_hidden);
	gcase_spec(g, s, 42 + (uint64_t)(g - gcases));
	*job = job_of(&t->data, s, 1, 12, 1);
	if (g->target == PROBE_TARGET_BINARY)
		s->binary_target = t->bin;
	probe_shape_of(job, 0, sh);
	float *wf = xmalloc(sh->n_params * sizeof(float));
	probe_init_params(s, sh, wf);
	*w = xmalloc(sh->n_params * sizeof(double));
	for (size_t i = 0; i < sh->n_params; i++)   /* nonzero biases too, so they are tested */
		(*w)[i] = wf[i] != 0 ? wf[i] : 0.1 * sin((double)i + 1.0);
	free(wf);
}

START_TEST(test_gradcheck_reference)
{
	const struct gcase *g = &gcases[_i];
	struct toy t;
	struct probe_spec s;
	struct probe_shape sh;
	struct probe_job job;
	double *w;
	gcase_setup(g, &t, &s, &sh, &job, &w);
	struct gin in;
	gin_make(&in, &t, &s, g->extras, t.n);
	double *an = xmalloc(sh.n_params * sizeof(double));
	double obj = ref(&s, &sh, w, &in, 0, an);
	ck_assert(isfinite(obj) && obj > 0);
	double err = gradcheck(&s, &sh, w, &in, an);
	if (getenv("PROBE_TEST_VERBOSE"))
		fprintf(stderr, "gradcheck case %d: max relative error %.3g\n", _i, err);
	ck_assert_msg(err < 1e-6, "case %d: hidden %d, act %d, target %d, extras %d: relative error %.3g", _i,
		      g->n_hidden, g->act, g->target, g->extras, err);
	free(an);
	free(w);
	gin_free(&in);
	toy_free(&t);
}
END_TEST

/* The check can fail: it sees wrong gradients. */
START_TEST(test_gradcheck_catches_wrong_gradients)
{
	const struct gcase g = {2, {5, 3}, PROBE_TANH, PROBE_TARGET_SOFT, 1};
	struct toy t;
	struct probe_spec s;
	struct probe_shape sh;
	struct probe_job job;
	double *w;
	gcase_setup(&g, &t, &s, &sh, &job, &w);
	struct gin in;
	gin_make(&in, &t, &s, 1, t.n);
	double *an = xmalloc(sh.n_params * sizeof(double));

	/* one element off by 0.1% */
	ref(&s, &sh, w, &in, 0, an);
	an[sh.off[1] + 2] *= 1.001;
	ck_assert_double_gt(gradcheck(&s, &sh, w, &in, an), 1e-4);

	/* the gradient of a different temperature (a forgotten T factor looks like this) */
	struct probe_spec s2 = s;
	s2.temperature = 1.0f;
	ref(&s2, &sh, w, &in, 0, an);
	ck_assert_double_gt(gradcheck(&s, &sh, w, &in, an), 1e-3);

	/* the gradient through another dropout mask (step 1 instead of 0) */
	ref(&s, &sh, w, &in, 1, an);
	ck_assert_double_gt(gradcheck(&s, &sh, w, &in, an), 1e-3);

	/* the penalties left out */
	s2 = s;
	s2.l1 = s2.l2 = 0;
	ref(&s2, &sh, w, &in, 0, an);
	ck_assert_double_gt(gradcheck(&s, &sh, w, &in, an), 1e-3);

	free(an);
	free(w);
	gin_free(&in);
	toy_free(&t);
}
END_TEST

/* The fp32 backend (each kernel set) against the double reference, on a batch
 * of 300 rows: three row blocks, the last one partial. */
static void check_fp32_gradients(const char *kernels)
{
	if (probe_cpu_force_kernels(kernels) < 0)
		return;   /* this processor lacks the SIMD kernels */
	for (size_t ci = 0; ci < N_GCASES; ci++) {
		const struct gcase *g = &gcases[ci];
		struct toy t;
		toy_make(&t, 300, 7, 3, 11 + ci);
		struct probe_spec s;
		gcase_spec(g, &s, 7 + ci);
		s.hidden[0] = s.hidden[0] ? s.hidden[0] + 14 : 0;   /* widths past one 16-wide tile... */
		s.hidden[1] = s.hidden[1] ? s.hidden[1] + 6 : 0;    /* ...and a narrow one */
		static const float cw[3] = {0.5f, 2.0f, 1.3f};
		float *rw = xmalloc(t.n * sizeof(float));
		for (size_t i = 0; i < t.n; i++)
			rw[i] = (float)(i % 4) * 0.5f;
		if (g->extras) {
			s.class_weight = cw;
			s.row_weight = rw;
		}
		if (g->target == PROBE_TARGET_BINARY)
			s.binary_target = t.bin;
		struct probe_job job = job_of(&t.data, &s, 1, t.n, 1);
		struct probe_shape sh;
		probe_shape_of(&job, 0, &sh);
		float *g32 = xmalloc(sh.n_params * sizeof(float)), loss32;
		const struct probe_backend *b = probe_cpu_backend();
		ck_assert_int_eq(b->gradients(b, &job, g32, &loss32), 0);

		/* the same batch in double: rows in the job's order, the same weights */
		uint32_t *perm = xmalloc(t.n * sizeof *perm);
		probe_epoch_order(job.seed, 0, t.n, perm);
		struct gin in;
		gin_make(&in, &t, &s, 0, t.n);
		for (size_t i = 0; i < t.n; i++) {
			size_t row = perm[i];
			for (size_t k = 0; k < t.d; k++)
				in.x[i * t.d + k] = t.x[row * t.d + k];
			in.tgt[i] = probe_row_target(&s, &t.data, row);
			in.w[i] = (s.row_weight ? s.row_weight[row] : 1.0) * (s.class_weight ? s.class_weight[in.tgt[i]] : 1.0);
			for (int c = 0; c < in.C; c++)
				in.teacher[i * (size_t)in.C + (size_t)c] = t.teacher[row * (size_t)t.C + (size_t)c];
		}
		float *wf = xmalloc(sh.n_params * sizeof(float));
		double *w = xmalloc(sh.n_params * sizeof(double)), *g64 = xmalloc(sh.n_params * sizeof(double));
		probe_init_params(&s, &sh, wf);
		for (size_t i = 0; i < sh.n_params; i++)
			w[i] = wf[i];
		double obj = ref(&s, &sh, w, &in, 0, g64);
		struct probe_spec plain = s;   /* the data term alone, as the backend reports it */
		plain.l1 = plain.l2 = 0;
		double data_loss = ref(&plain, &sh, w, &in, 0, NULL);
		ck_assert(obj >= data_loss);
		double diff = 0, norm = 0;
		for (size_t i = 0; i < sh.n_params; i++) {
			diff += (g32[i] - g64[i]) * (g32[i] - g64[i]);
			norm += g64[i] * g64[i];
		}
		ck_assert_msg(sqrt(diff / norm) < 1e-5, "%s kernels, case %zu: fp32 vs double gradient %.3g", kernels, ci,
			      sqrt(diff / norm));
		ck_assert_msg(fabs(loss32 - data_loss) < 1e-5 * fabs(data_loss) + 1e-6, "%s, case %zu: loss %g vs %g",
			      kernels, ci, (double)loss32, data_loss);
		free(perm);
		free(rw);
		free(wf);
		free(w);
		free(g64);
		free(g32);
		gin_free(&in);
		toy_free(&t);
	}
}

START_TEST(test_fp32_gradients_generic) { check_fp32_gradients("generic"); }
END_TEST

START_TEST(test_fp32_gradients_simd) { check_fp32_gradients("simd"); }
END_TEST

/* ---- optimizers: one step against the formula ---- */

START_TEST(test_one_step_each_optimizer)
{
	struct toy t;
	toy_make(&t, 40, 5, 2, 3);
	for (int o = PROBE_SGD; o <= PROBE_ADAM; o++) {
		struct probe_spec s;
		probe_spec_init(&s);
		s.n_hidden = 1;
		s.hidden[0] = 9;
		s.optim = (enum probe_optim)o;
		s.lr = 0.05f;
		s.l2 = 0.01f;
		s.seed = 3;
		struct probe_job job = job_of(&t.data, &s, 1, t.n, 1);
		struct probe_shape sh;
		probe_shape_of(&job, 0, &sh);
		float *w0 = xmalloc(sh.n_params * sizeof(float)), *g = xmalloc(sh.n_params * sizeof(float)), loss;
		probe_init_params(&s, &sh, w0);
		const struct probe_backend *b = probe_cpu_backend();
		ck_assert_int_eq(b->gradients(b, &job, g, &loss), 0);
		struct probe_result *r = b->train(b, &job);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->probes[0].steps, 1);
		struct probe_step_scalars sc;
		probe_step_scalars(&s, 0, 1, 1, &sc);
		for (size_t i = 0; i < sh.n_params; i++) {
			float w = w0[i], gi = g[i], m, v, want = 0;
			switch (s.optim) {
			case PROBE_SGD: want = w - sc.lr * gi; break;
			case PROBE_MOMENTUM: m = gi; want = w - sc.lr * m; break;
			case PROBE_RMSPROP:
				v = (1.0f - s.rho) * gi * gi;
				want = w - sc.lr * gi / (sqrtf(v) + s.eps);
				break;
			case PROBE_ADAGRAD: v = gi * gi; want = w - sc.lr * gi / (sqrtf(v) + s.eps); break;
			case PROBE_ADAM:
				m = (1.0f - s.beta1) * gi;
				v = (1.0f - s.beta2) * gi * gi;
				want = w - sc.c1 * m / (sqrtf(v) * sc.c2 + s.eps);
				break;
			}
			ck_assert_msg(r->probes[0].params[i] == want, "optimizer %d, parameter %zu: %.9g vs %.9g", o, i,
				      (double)r->probes[0].params[i], (double)want);
		}
		probe_result_free(r);
		free(w0);
		free(g);
	}
	toy_free(&t);
}
END_TEST

START_TEST(test_schedules)
{
	struct probe_spec s;
	probe_spec_init(&s);
	s.lr = 0.1f;
	s.lr_gamma = 0.5f;
	s.lr_step = 10;
	struct probe_step_scalars sc;
	s.sched = PROBE_LR_STEP;
	probe_step_scalars(&s, 9, 100, 10, &sc);
	ck_assert_float_eq(sc.lr, 0.1f);
	probe_step_scalars(&s, 25, 100, 10, &sc);
	ck_assert_float_eq_tol(sc.lr, 0.025f, 1e-9f);
	s.sched = PROBE_LR_EXP;
	probe_step_scalars(&s, 5, 100, 10, &sc);
	ck_assert_float_eq_tol(sc.lr, (float)(0.1 * pow(0.5, 0.5)), 1e-8f);
	s.sched = PROBE_LR_COSINE;
	s.lr_min = 0.02f;
	probe_step_scalars(&s, 50, 100, 10, &sc);
	ck_assert_float_eq_tol(sc.lr, 0.06f, 1e-7f);
	probe_step_scalars(&s, 0, 100, 10, &sc);
	ck_assert_float_eq_tol(sc.lr, 0.1f, 1e-8f);
	/* Adam's bias corrections at the first step */
	s.sched = PROBE_LR_CONSTANT;
	probe_step_scalars(&s, 0, 100, 10, &sc);
	ck_assert_float_eq_tol(sc.c1, 0.1f / 0.1f, 1e-5f);
	ck_assert_float_eq_tol(sc.c2, (float)(1.0 / sqrt(0.001)), 1e-3f);
}
END_TEST

/* ---- determinism ---- */

/* Six different probes: every option that changes the arithmetic. */
static void mixed_specs(struct probe_spec *s, const struct toy *t, float *rw, uint8_t *val, uint8_t *fmask)
{
	for (size_t i = 0; i < t->n; i++) {
		rw[i] = i % 5 == 0 ? 0.0f : 1.0f + (float)(i % 3);
		val[i] = i % 7 == 0;
	}
	for (size_t k = 0; k < t->d; k++)
		fmask[k] = k != 2;
	for (int p = 0; p < 6; p++) {
		probe_spec_init(&s[p]);
		s[p].seed = 100 + (uint64_t)p;
	}
	s[0].lr = 0.02f;   /* softmax regression */
	s[1].n_hidden = 1;
	s[1].hidden[0] = 37;
	s[1].dropout = 0.25f;
	s[1].optim = PROBE_MOMENTUM;
	s[1].lr = 0.01f;
	s[1].sched = PROBE_LR_COSINE;
	s[2].n_hidden = 2;
	s[2].hidden[0] = 20;
	s[2].hidden[1] = 9;
	s[2].act = PROBE_TANH;
	s[2].optim = PROBE_RMSPROP;
	s[2].row_weight = rw;
	s[2].val_mask = val;
	s[2].patience = 3;
	s[3].n_hidden = 3;
	s[3].hidden[0] = 16;
	s[3].hidden[1] = 17;
	s[3].hidden[2] = 5;
	s[3].optim = PROBE_ADAGRAD;
	s[3].lr = 0.05f;
	s[3].target = PROBE_TARGET_SOFT;
	s[3].temperature = 2;
	s[3].feature_mask = fmask;
	s[3].l1 = 1e-3f;
	s[4].n_hidden = 1;
	s[4].hidden[0] = 64;
	s[4].target = PROBE_TARGET_BINARY;
	s[4].binary_target = t->bin;
	s[4].l2 = 1e-2f;
	s[4].sched = PROBE_LR_STEP;
	s[4].lr_step = 7;
	s[5].n_hidden = 1;
	s[5].hidden[0] = 3;
	s[5].optim = PROBE_SGD;
	s[5].lr = 0.1f;
	s[5].init = PROBE_INIT_UNIFORM;
	s[5].sched = PROBE_LR_EXP;
	s[5].val_mask = val;
}

static void assert_same_probe(const struct probe_trained *a, const struct probe_trained *b, const char *what)
{
	ck_assert_uint_eq(a->n_params, b->n_params);
	ck_assert_msg(!memcmp(a->params, b->params, a->n_params * sizeof(float)), "%s: parameters differ", what);
	ck_assert_uint_eq(a->n_records, b->n_records);
	ck_assert_msg(!memcmp(a->records, b->records, a->n_records * sizeof *a->records), "%s: records differ", what);
	ck_assert_int_eq(a->steps, b->steps);
	ck_assert_int_eq(a->stopped_early, b->stopped_early);
}

START_TEST(test_deterministic_across_threads)
{
	struct toy t;
	toy_make(&t, 333, 6, 3, 21);
	float *rw = xmalloc(t.n * sizeof(float));
	uint8_t *val = xmalloc(t.n), fmask[6];
	struct probe_spec s[6];
	mixed_specs(s, &t, rw, val, fmask);
	struct probe_job job = job_of(&t.data, s, 6, 50, 3);
	job.record_every = 4;
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *r[3];
	float *pred[3];
	for (int k = 0; k < 3; k++) {
		job.threads = k + 1;
		r[k] = b->train(b, &job);
		ck_assert_ptr_nonnull(r[k]);
		pred[k] = xmalloc(6 * t.n * (size_t)r[k]->out_width * sizeof(float));
		ck_assert_int_eq(b->predict(b, r[k], t.x, t.n, pred[k]), 0);
	}
	for (int k = 1; k < 3; k++) {
		for (size_t p = 0; p < 6; p++)
			assert_same_probe(&r[0]->probes[p], &r[k]->probes[p], "threads");
		ck_assert(!memcmp(pred[0], pred[k], 6 * t.n * (size_t)r[0]->out_width * sizeof(float)));
	}
	/* a probe trained alone is the same probe */
	for (size_t p = 0; p < 6; p++) {
		struct probe_job one = job;
		one.specs = &s[p];
		one.n_probes = 1;
		struct probe_result *ro = b->train(b, &one);
		ck_assert_ptr_nonnull(ro);
		assert_same_probe(&r[0]->probes[p], &ro->probes[0], "alone");
		probe_result_free(ro);
	}
	/* another job seed gives another row order, so other parameters */
	job.seed = 12345;
	struct probe_result *other = b->train(b, &job);
	ck_assert(memcmp(other->probes[0].params, r[0]->probes[0].params, r[0]->probes[0].n_params * sizeof(float)));
	probe_result_free(other);
	for (int k = 0; k < 3; k++) {
		probe_result_free(r[k]);
		free(pred[k]);
	}
	free(rw);
	free(val);
	toy_free(&t);
}
END_TEST

/* ---- learning ---- */

static double accuracy(const struct probe_backend *b, const struct probe_result *r, size_t p, const float *x,
		       const int32_t *y, size_t n)
{
	float *pr = xmalloc(r->n_probes * n * (size_t)r->out_width * sizeof(float));
	ck_assert_int_eq(b->predict(b, r, x, n, pr), 0);
	size_t ok = 0, W = (size_t)r->out_width;
	for (size_t i = 0; i < n; i++) {
		const float *q = pr + (p * n + i) * W;
		int best = 0;
		for (int c = 1; c < r->probes[p].dims[r->probes[p].n_layers]; c++)
			if (q[c] > q[best])
				best = c;
		ok += best == y[i];
		float s = 0;
		for (size_t c = 0; c < W; c++)
			s += q[c];
		ck_assert_float_eq_tol(s, 1.0f, 1e-5f);
	}
	free(pr);
	return (double)ok / (double)n;
}

START_TEST(test_learns_linearly_separable)
{
	struct toy t;
	toy_make(&t, 2000, 8, 3, 5);
	struct probe_spec s;
	probe_spec_init(&s);
	s.lr = 0.05f;
	struct probe_job job = job_of(&t.data, &s, 1, 64, 10);
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *r = b->train(b, &job);
	ck_assert_ptr_nonnull(r);
	double acc = accuracy(b, r, 0, t.x, t.y, t.n);
	ck_assert_msg(acc > 0.95, "softmax regression accuracy %.3f", acc);
	/* the curve goes down */
	const struct probe_trained *tr = &r->probes[0];
	ck_assert_uint_eq(tr->n_records, 10);
	ck_assert_float_lt(tr->records[9].train_loss, tr->records[0].train_loss);
	probe_result_free(r);
	toy_free(&t);
}
END_TEST

START_TEST(test_learns_xor)
{
	size_t n = 400;
	float *x = xmalloc(n * 2 * sizeof(float));
	int32_t *y = xmalloc(n * sizeof(int32_t));
	struct rng r;
	rng_seed(&r, 8);
	for (size_t i = 0; i < n; i++) {
		int a = (int)(i & 1), c = (int)((i >> 1) & 1);
		x[2 * i] = (float)(a * 2 - 1) + 0.1f * (float)rng_normal(&r);
		x[2 * i + 1] = (float)(c * 2 - 1) + 0.1f * (float)rng_normal(&r);
		y[i] = a ^ c;
	}
	struct probe_data d = {.n = n, .d = 2, .x = x, .y = y, .n_classes = 2};
	struct probe_spec s[2];
	for (int k = 0; k < 2; k++) {
		probe_spec_init(&s[k]);
		s[k].lr = 0.03f;
		s[k].seed = 1;
	}
	s[1].n_hidden = 1;
	s[1].hidden[0] = 8;
	s[1].act = PROBE_TANH;
	struct probe_job job = job_of(&d, s, 2, 16, 30);
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *res = b->train(b, &job);
	ck_assert_ptr_nonnull(res);
	double lin = accuracy(b, res, 0, x, y, n), mlp = accuracy(b, res, 1, x, y, n);
	ck_assert_msg(mlp > 0.95, "MLP on XOR: %.3f", mlp);
	ck_assert_msg(lin < 0.8, "softmax regression cannot learn XOR, got %.3f", lin);
	probe_result_free(res);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_soft_and_binary_targets_learn)
{
	struct toy t;
	toy_make(&t, 1500, 5, 3, 17);
	struct probe_spec s[2];
	probe_spec_init(&s[0]);
	s[0].target = PROBE_TARGET_SOFT;
	s[0].alpha = 1;            /* the teacher only */
	s[0].temperature = 3;
	s[0].lr = 0.03f;
	probe_spec_init(&s[1]);
	s[1].target = PROBE_TARGET_BINARY;
	s[1].binary_target = t.bin;
	s[1].lr = 0.03f;
	struct probe_job job = job_of(&t.data, s, 2, 50, 8);
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *r = b->train(b, &job);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->out_width, 3);
	ck_assert_double_gt(accuracy(b, r, 0, t.x, t.y, t.n), 0.9);
	int32_t *bin = xmalloc(t.n * sizeof(int32_t));
	for (size_t i = 0; i < t.n; i++)
		bin[i] = t.bin[i];
	ck_assert_double_gt(accuracy(b, r, 1, t.x, bin, t.n), 0.95);
	free(bin);
	probe_result_free(r);
	toy_free(&t);
}
END_TEST

/* ---- masks, records, early stopping ---- */

START_TEST(test_masks)
{
	struct toy t;
	toy_make(&t, 200, 6, 2, 4);
	uint8_t fmask[6] = {1, 0, 1, 1, 0, 1}, val[200];
	float rw[200];
	for (size_t i = 0; i < t.n; i++) {
		rw[i] = i < 50 ? 0.0f : 1.0f;
		val[i] = i >= 180;
	}
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 10;
	s.feature_mask = fmask;
	s.row_weight = rw;
	s.val_mask = val;
	s.lr = 0.05f;
	struct probe_job job = job_of(&t.data, &s, 1, 200, 1);
	const struct probe_backend *b = probe_cpu_backend();

	/* unused features keep zero weights through training */
	struct probe_job jt = job_of(&t.data, &s, 1, 32, 3);
	struct probe_result *r = b->train(b, &jt);
	ck_assert_ptr_nonnull(r);
	for (int k = 0; k < 6; k++)
		for (int j = 0; j < 10; j++) {
			float v = r->probes[0].params[k * 10 + j];
			ck_assert(fmask[k] ? v != 0 : v == 0);
		}
	probe_result_free(r);

	/* rows with weight 0 and validation rows do not reach the gradient: their
	 * labels can change without changing a bit of it */
	size_t np = (size_t)(6 + 1) * 10 + (10 + 1) * 2;
	float *g1 = xmalloc(np * sizeof(float)), *g2 = xmalloc(np * sizeof(float)), l1, l2;
	ck_assert_int_eq(b->gradients(b, &job, g1, &l1), 0);
	for (size_t i = 0; i < t.n; i++)
		if (i < 50 || i >= 180)
			t.y[i] = 1 - t.y[i];
	ck_assert_int_eq(b->gradients(b, &job, g2, &l2), 0);
	ck_assert(!memcmp(g1, g2, np * sizeof(float)));
	ck_assert_float_eq(l1, l2);
	/* ...while a trained row does change it */
	t.y[100] = 1 - t.y[100];
	ck_assert_int_eq(b->gradients(b, &job, g2, &l2), 0);
	ck_assert(memcmp(g1, g2, np * sizeof(float)));
	free(g1);
	free(g2);
	toy_free(&t);
}
END_TEST

START_TEST(test_records_and_dead_relus)
{
	struct toy t;
	toy_make(&t, 300, 4, 2, 6);
	for (size_t i = 0; i < t.n * t.d; i++)
		t.x[i] = fabsf(t.x[i]);   /* positive inputs... */
	struct probe_spec s[2];
	probe_spec_init(&s[0]);
	s[0].n_hidden = 2;
	s[0].hidden[0] = 8;
	s[0].hidden[1] = 4;
	s[0].init = PROBE_INIT_CONSTANT;
	s[0].init_value = -0.5f;   /* ...and negative weights: every ReLU of layer 1 is dead */
	s[0].optim = PROBE_SGD;
	s[0].lr = 1e-4f;
	probe_spec_init(&s[1]);
	s[1].n_hidden = 1;
	s[1].hidden[0] = 12;
	s[1].act = PROBE_TANH;
	s[1].init = PROBE_INIT_HE;
	struct probe_job job = job_of(&t.data, s, 2, 32, 2);
	job.record_every = 5;
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *r = b->train(b, &job);
	ck_assert_ptr_nonnull(r);
	long total = probe_total_steps(&job);
	ck_assert_int_eq(total, 20);
	for (int p = 0; p < 2; p++) {
		const struct probe_trained *tr = &r->probes[p];
		ck_assert_uint_eq(tr->n_records, 4);
		ck_assert_int_eq(tr->records[3].step, 20);
		ck_assert_int_eq(tr->records[1].epoch, 0);
		ck_assert_int_eq(tr->records[3].epoch, 1);
		for (size_t k = 0; k < tr->n_records; k++) {
			const struct probe_record *q = &tr->records[k];
			ck_assert(isnan(q->val_loss));
			ck_assert(q->train_loss > 0 && q->train_acc >= 0 && q->train_acc <= 1);
			ck_assert(q->weight_norm[0] > 0);
		}
	}
	const struct probe_record *q = &r->probes[0].records[3];
	ck_assert_float_eq(q->dead_relu[0], 1.0f);
	ck_assert_float_eq(q->act_mean[0], 0.0f);
	ck_assert_float_eq(q->grad_norm[0], 0.0f);   /* nothing flows back through dead units */
	ck_assert_float_eq(q->update_ratio[0], 0.0f);
	ck_assert(q->grad_norm[2] > 0 && q->update_ratio[2] > 0);
	q = &r->probes[1].records[3];
	ck_assert_float_eq(q->dead_relu[0], 0.0f);
	ck_assert(q->act_std[0] > 0.05f && fabsf(q->act_mean[0]) < 1);
	ck_assert(q->grad_norm[0] > 0 && q->grad_norm[1] > 0 && q->update_ratio[0] > 0);
	probe_result_free(r);
	toy_free(&t);
}
END_TEST

START_TEST(test_early_stopping)
{
	/* labels that have nothing to do with the features, a large MLP and a high
	 * learning rate: the validation loss rises while training loss falls */
	struct toy t;
	toy_make(&t, 240, 6, 2, 9);
	struct rng r;
	rng_seed(&r, 77);
	uint8_t val[240];
	for (size_t i = 0; i < t.n; i++) {
		t.y[i] = (int32_t)rng_below(&r, 2);
		val[i] = i % 3 == 0;
	}
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 2;
	s.hidden[0] = s.hidden[1] = 64;
	s.lr = 0.01f;
	s.val_mask = val;
	s.patience = 3;
	struct probe_job job = job_of(&t.data, &s, 1, 20, 60);
	job.record_every = 4;
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_result *res = b->train(b, &job);
	ck_assert_ptr_nonnull(res);
	const struct probe_trained *tr = &res->probes[0];
	ck_assert_int_eq(tr->stopped_early, 1);
	ck_assert_int_lt(tr->steps, probe_total_steps(&job));
	float best = INFINITY;
	long best_step = -1;
	for (size_t k = 0; k < tr->n_records; k++)
		if (tr->records[k].val_loss < best) {
			best = tr->records[k].val_loss;
			best_step = tr->records[k].step;
		}
	ck_assert_int_eq(tr->best_step, best_step);
	ck_assert_float_eq(tr->best_val_loss, best);
	/* stopped `patience` records after the best one */
	ck_assert_int_eq(tr->records[tr->n_records - 1].step, best_step + 3 * 4);
	/* the parameters are the best record's: their validation loss is the best */
	float *pr = xmalloc(t.n * 2 * sizeof(float));
	ck_assert_int_eq(b->predict(b, res, t.x, t.n, pr), 0);
	double loss = 0;
	size_t nv = 0;
	for (size_t i = 0; i < t.n; i++)
		if (val[i]) {
			loss -= log(pr[i * 2 + (size_t)t.y[i]]);
			nv++;
		}
	ck_assert_double_eq_tol(loss / (double)nv, best, 1e-4);
	free(pr);
	probe_result_free(res);
	toy_free(&t);
}
END_TEST

/* ---- the API's edges ---- */

START_TEST(test_job_check_and_backend_choice)
{
	struct toy t;
	toy_make(&t, 10, 3, 2, 1);
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 2000;
	struct probe_job job = job_of(&t.data, &s, 1, 4, 1);
	const struct probe_backend *b = probe_cpu_backend();
	mla_error_clear();
	ck_assert_ptr_null(b->train(b, &job));
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "probe 0: hidden[0] = 2000"));
	s.hidden[0] = 4;
	s.patience = 2;
	mla_error_clear();
	ck_assert_int_eq(probe_job_check(&job), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "val_mask"));
	s.patience = 0;
	s.target = PROBE_TARGET_SOFT;
	t.data.teacher = NULL;
	mla_error_clear();
	ck_assert_int_eq(probe_job_check(&job), -1);
	t.data.teacher = t.teacher;
	ck_assert_int_eq(probe_job_check(&job), 0);
	t.x[4] = NAN;
	mla_error_clear();
	ck_assert_int_eq(probe_job_check(&job), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "row 1, column 1"));

	char why[256];
	ck_assert_ptr_eq(probe_backend_choose("cpu", why, sizeof why), probe_cpu_backend());
	ck_assert_ptr_nonnull(strstr(why, "cpu"));
	const struct probe_backend *a = probe_backend_choose("auto", why, sizeof why);
	ck_assert_ptr_nonnull(a);
	ck_assert(strlen(why) > 10);
	mla_error_clear();
	ck_assert_ptr_null(probe_backend_choose("gpu", why, sizeof why));
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "unknown value 'gpu'"));
	mla_error_clear();
	const struct probe_backend *c = probe_backend_choose("cuda", why, sizeof why);
	if (c)   /* a machine with a GPU */
		ck_assert_str_eq(c->name, "cuda");
	else
		ck_assert_ptr_nonnull(strstr(mla_error_message(), "cuda requested but"));
	toy_free(&t);
}
END_TEST

START_TEST(test_dropout_hash)
{
	/* about the asked share is dropped, and masks differ across steps and units */
	uint32_t thr = probe_drop_threshold(0.3f);
	size_t kept = 0, same = 0;
	for (uint32_t r = 0; r < 200; r++)
		for (uint32_t u = 0; u < 100; u++) {
			int k0 = probe_dropout_keep(5, 0, 1, r, u, thr), k1 = probe_dropout_keep(5, 1, 1, r, u, thr);
			kept += (size_t)k0;
			same += (size_t)(k0 == k1);
		}
	ck_assert_double_eq_tol((double)kept / 20000.0, 0.7, 0.02);
	ck_assert_double_lt((double)same / 20000.0, 0.7);
	ck_assert_int_eq(probe_drop_threshold(0.0f), 0);
	ck_assert(probe_dropout_keep(1, 2, 0, 3, 4, 0));
}
END_TEST

/* ---- features ---- */

static struct frame *frame_new(const char *split, size_t nrows, size_t ncols)
{
	struct frame *f = xcalloc(1, sizeof *f);
	f->split = xstrdup(split);
	f->source = xasprintf("%s.csv", split);
	f->nrows = nrows;
	f->ncols = ncols;
	f->cols = xcalloc(ncols, sizeof *f->cols);
	return f;
}

static struct frame_column *col_num(struct frame *f, size_t j, const char *name, enum col_role role)
{
	struct frame_column *c = &f->cols[j];
	c->name = xstrdup(name);
	c->type = COL_NUMERIC;
	c->role = role;
	c->num = xcalloc(f->nrows, sizeof(double));
	return c;
}

static struct frame_column *col_cat(struct frame *f, size_t j, const char *name, const char *const *levels,
				    size_t nlevels)
{
	struct frame_column *c = &f->cols[j];
	c->name = xstrdup(name);
	c->type = COL_CATEGORICAL;
	c->role = ROLE_FEATURE;
	c->code = xcalloc(f->nrows, sizeof(int32_t));
	c->levels = xcalloc(nlevels, sizeof(char *));
	for (size_t k = 0; k < nlevels; k++)
		c->levels[k] = xstrdup(levels[k]);
	c->nlevels = nlevels;
	return c;
}

static long find_col(const struct feat_encoding *e, const char *name)
{
	for (size_t i = 0; i < feat_width(e); i++)
		if (!strcmp(feat_column_at(e, i)->name, name))
			return (long)i;
	return -1;
}

START_TEST(test_features_encoding)
{
	/* 200 train rows: age (numeric, 2 missing), colour (red 100, blue 96, green 2
	 * = 1% kept, pink 1 pooled, 1 missing), flag (boolean), a label and an id */
	struct frame *tr = frame_new("train", 200, 5);
	struct frame_column *age = col_num(tr, 0, "age", ROLE_FEATURE);
	static const char *const lv[] = {"blue", "red", "pink", "green"};
	struct frame_column *colour = col_cat(tr, 1, "colour", lv, 4);
	struct frame_column *flag = col_num(tr, 2, "flag", ROLE_FEATURE);
	flag->type = COL_BOOLEAN;
	col_num(tr, 3, "label", ROLE_LABEL);
	col_num(tr, 4, "id", ROLE_ID);
	for (size_t i = 0; i < 200; i++) {
		age->num[i] = i < 2 ? NAN : (double)(i % 10);
		colour->code[i] = i < 100 ? 1 : i < 196 ? 0 : i < 198 ? 3 : i < 199 ? 2 : -1;
		flag->num[i] = i % 4 == 0;
		tr->cols[3].num[i] = (double)(i % 2);
		tr->cols[4].num[i] = (double)i;
	}
	struct feat_encoding *e = feat_fit(tr);
	ck_assert_ptr_nonnull(e);
	/* age, age (missing), colour=red, colour=blue, colour=green, colour=(other), colour (missing), flag */
	ck_assert_uint_eq(feat_width(e), 8);
	static const char *const names[] = {"age", "age (missing)", "colour=red", "colour=blue", "colour=green",
					    "colour=(other)", "colour (missing)", "flag"};
	for (size_t i = 0; i < 8; i++)
		ck_assert_str_eq(feat_column_at(e, i)->name, names[i]);
	ck_assert_int_eq(feat_column_at(e, 0)->kind, FEAT_NUMERIC);
	ck_assert_int_eq(feat_column_at(e, 1)->kind, FEAT_MISSING);
	ck_assert_int_eq(feat_column_at(e, 4)->kind, FEAT_LEVEL);
	ck_assert_str_eq(feat_column_at(e, 4)->level, "green");
	ck_assert_int_eq(feat_column_at(e, 5)->kind, FEAT_OTHER);
	ck_assert_uint_eq(feat_column_at(e, 5)->train_count, 1);
	ck_assert_str_eq(feat_column_at(e, 6)->source, "colour");
	ck_assert_str_eq(feat_kind_name(FEAT_OTHER), "other");
	ck_assert_ptr_null(feat_column_at(e, 8));

	float *x = feat_transform(e, tr);
	ck_assert_ptr_nonnull(x);
	/* standardised with train statistics: mean 0 and sd 1 over the present rows */
	double s1 = 0, s2 = 0;
	for (size_t i = 2; i < 200; i++) {
		s1 += x[i * 8];
		s2 += (double)x[i * 8] * x[i * 8];
	}
	ck_assert_double_eq_tol(s1 / 198, 0, 1e-6);
	ck_assert_double_eq_tol(s2 / 198, 1, 1e-5);
	ck_assert_float_eq(x[0 * 8 + 0], 0.0f);   /* missing: the mean */
	ck_assert_float_eq(x[0 * 8 + 1], 1.0f);
	ck_assert_float_eq(x[5 * 8 + 1], 0.0f);
	ck_assert_float_eq(x[5 * 8 + 2], 1.0f);   /* row 5 is red */
	ck_assert_float_eq(x[5 * 8 + 3], 0.0f);
	ck_assert_float_eq(x[198 * 8 + 5], 1.0f);   /* pink: pooled */
	ck_assert_float_eq(x[199 * 8 + 6], 1.0f);   /* colour missing */
	for (size_t c = 2; c < 6; c++)
		ck_assert_float_eq(x[199 * 8 + c], 0.0f);
	free(x);

	/* a later split: its own dictionary order, an unseen level, a missing flag */
	struct frame *te = frame_new("test", 3, 3);
	static const char *const lv2[] = {"purple", "green", "red"};
	struct frame_column *c2 = col_cat(te, 0, "colour", lv2, 3);
	col_num(te, 1, "flag", ROLE_FEATURE)->type = COL_BOOLEAN;
	struct frame_column *a2 = col_num(te, 2, "age", ROLE_FEATURE);
	c2->code[0] = 0;
	c2->code[1] = 1;
	c2->code[2] = 2;
	te->cols[1].num[0] = NAN;
	a2->num[1] = age->num[7];
	float *y = feat_transform(e, te);
	ck_assert_ptr_nonnull(y);
	ck_assert_float_eq(y[0 * 8 + 5], 1.0f);   /* purple -> (other) */
	ck_assert_float_eq(y[1 * 8 + 4], 1.0f);   /* green */
	ck_assert_float_eq(y[2 * 8 + 2], 1.0f);   /* red */
	ck_assert_float_eq(y[0 * 8 + 7], 0.0f);   /* missing without an indicator: the mean */
	ck_assert_float_eq(y[1 * 8 + 0], (float)((7.0 - feat_column_at(e, 0)->mean) / feat_column_at(e, 0)->sd));
	free(y);

	uint8_t mask[8];
	ck_assert_uint_eq(feat_mask_without(e, "colour", mask), 5);
	ck_assert(mask[0] && mask[1] && !mask[2] && !mask[6] && mask[7]);

	/* errors: a missing column, a changed type */
	free(te->cols[0].name);
	te->cols[0].name = xstrdup("color");
	mla_error_clear();
	ck_assert_ptr_null(feat_transform(e, te));
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "column 'colour'"));
	free(te->cols[0].name);
	te->cols[0].name = xstrdup("colour");
	free(te->cols[2].name);
	te->cols[2].name = xstrdup("x");
	free(te->cols[1].name);
	te->cols[1].name = xstrdup("age");
	mla_error_clear();
	ck_assert_ptr_null(feat_transform(e, te));   /* age is boolean here: fine; flag is missing */
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "'flag'"));
	frame_free(te);
	feat_free(e);
	frame_free(tr);
}
END_TEST

START_TEST(test_features_many_levels)
{
	/* 40 levels of 5 rows each: every one is 2.5% of train, only 30 are kept */
	char *names[40];
	for (int k = 0; k < 40; k++)
		names[k] = xasprintf("L%02d", k);
	struct frame *tr = frame_new("train", 200, 2);
	struct frame_column *c = col_cat(tr, 0, "city", (const char *const *)names, 40);
	col_num(tr, 1, "y", ROLE_LABEL);
	for (size_t i = 0; i < 200; i++)
		c->code[i] = (int32_t)(i % 40);
	c->code[0] = 39;   /* L39 becomes the most frequent */
	struct feat_encoding *e = feat_fit(tr);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(feat_width(e), 31);
	ck_assert_str_eq(feat_column_at(e, 0)->name, "city=L39");
	ck_assert_str_eq(feat_column_at(e, 1)->name, "city=L01");   /* ties by text; L00 lost a row */
	ck_assert_str_eq(feat_column_at(e, 30)->name, "city=(other)");
	ck_assert_uint_eq(feat_column_at(e, 30)->train_count, 200 - 6 - 29 * 5);
	ck_assert_int_eq(find_col(e, "city=L31"), -1);
	feat_free(e);
	/* no feature at all */
	tr->cols[0].role = ROLE_SEGMENT;
	mla_error_clear();
	ck_assert_ptr_null(feat_fit(tr));
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "no feature columns"));
	frame_free(tr);
	for (int k = 0; k < 40; k++)
		free(names[k]);
}
END_TEST

Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("gradients");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_gradcheck_reference, 0, (int)N_GCASES);
	tcase_add_test(tc, test_gradcheck_catches_wrong_gradients);
	tcase_add_test(tc, test_fp32_gradients_generic);
	tcase_add_test(tc, test_fp32_gradients_simd);
	suite_add_tcase(s, tc);

	tc = tcase_create("training");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_one_step_each_optimizer);
	tcase_add_test(tc, test_schedules);
	tcase_add_test(tc, test_deterministic_across_threads);
	tcase_add_test(tc, test_learns_linearly_separable);
	tcase_add_test(tc, test_learns_xor);
	tcase_add_test(tc, test_soft_and_binary_targets_learn);
	tcase_add_test(tc, test_masks);
	tcase_add_test(tc, test_records_and_dead_relus);
	tcase_add_test(tc, test_early_stopping);
	tcase_add_test(tc, test_job_check_and_backend_choice);
	tcase_add_test(tc, test_dropout_hash);
	suite_add_tcase(s, tc);

	tc = tcase_create("features");
	tcase_add_test(tc, test_features_encoding);
	tcase_add_test(tc, test_features_many_levels);
	suite_add_tcase(s, tc);
	return s;
}
