/* test_sanity.c - the seed's training checks (stages/probes/sanity.c,
 * sanity_hpo.c) on small synthetic problems with the CPU backend. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/util.h"
#include "../../stages/probes/sanity.h"

/* n rows of d standard normal features, C classes by a fixed linear rule
 * (argmax x . R): a "clean" learnable problem; teacher = softmax(x . R). */
struct sdata {
	float *x, *teacher;
	int32_t *y;
	struct probe_data data;
};

static void sdata_make(struct sdata *t, size_t n, size_t d, int C, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	double rot[16 * 4];
	for (size_t i = 0; i < d * (size_t)C; i++)
		rot[i] = rng_normal(&r);
	t->x = xmalloc(n * d * sizeof(float));
	t->y = xmalloc(n * sizeof(int32_t));
	t->teacher = xmalloc(n * (size_t)C * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		double z[4], best = -1e300, s = 0;
		for (size_t k = 0; k < d; k++)
			t->x[i * d + k] = (float)rng_normal(&r);
		for (int c = 0; c < C; c++) {
			z[c] = 0;
			for (size_t k = 0; k < d; k++)
				z[c] += t->x[i * d + k] * rot[k * (size_t)C + (size_t)c];
			if (z[c] > best) {
				best = z[c];
				t->y[i] = c;
			}
		}
		for (int c = 0; c < C; c++)
			s += exp(z[c] - best);
		for (int c = 0; c < C; c++)
			t->teacher[i * (size_t)C + (size_t)c] = (float)(exp(z[c] - best) / s);
	}
	t->data = (struct probe_data){.n = n, .d = d, .x = t->x, .y = t->y, .n_classes = C, .teacher = t->teacher};
}

static void sdata_shuffle_labels(struct sdata *t, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = t->data.n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		int32_t v = t->y[i - 1];
		t->y[i - 1] = t->y[j];
		t->y[j] = v;
	}
}

static void sdata_free(struct sdata *t)
{
	free(t->x);
	free(t->y);
	free(t->teacher);
}

static int verbose(void)
{
	return getenv("SANITY_TEST_VERBOSE") != NULL;
}

/* ---- gradient check ---- */

START_TEST(test_gradcheck_correct)
{
	struct sdata t;
	sdata_make(&t, 40, 5, 3, 1);
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 2;
	s.hidden[0] = 6;
	s.hidden[1] = 4;
	s.act = PROBE_TANH;
	s.init = PROBE_INIT_HE;
	s.l2 = 1e-2f;
	s.seed = 3;
	struct sanity_gradcheck g;
	ck_assert_int_eq(sanity_gradient_check(&t.data, probe_cpu_backend(), &s, 24, NULL, NULL, &g), 0);
	if (verbose())
		fprintf(stderr, "gradcheck: max rel err %.3g, fp32 %.3g\n", g.max_rel_err, g.fp32_max_rel_err);
	ck_assert_int_eq(g.n_layers, 3);
	for (int l = 0; l < 3; l++)
		ck_assert_double_lt(g.rel_err[l], 1e-6);
	ck_assert_int_eq(g.passed, 1);
	/* the fp32 backend agrees with the double reference to fp32 precision */
	ck_assert(isfinite(g.fp32_max_rel_err));
	ck_assert_double_lt(g.fp32_max_rel_err, 1e-2);
	sdata_free(&t);
}
END_TEST

struct tamper_at {
	size_t index;
	double factor;
};

static void tamper_one(double *grad, size_t n, void *ctx)
{
	struct tamper_at *a = ctx;
	if (a->index < n)
		grad[a->index] *= a->factor;
}

START_TEST(test_gradcheck_catches_wrong)
{
	struct sdata t;
	sdata_make(&t, 40, 5, 3, 2);
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 6;
	s.init = PROBE_INIT_HE;
	s.seed = 4;
	/* 0.1% off on one weight of the first layer (rows of 6 weights: index 8) */
	struct tamper_at a = {8, 1.001};
	struct sanity_gradcheck g;
	ck_assert_int_eq(sanity_gradient_check(&t.data, NULL, &s, 24, tamper_one, &a, &g), 0);
	ck_assert_double_gt(g.rel_err[0], 1e-4);
	ck_assert_double_lt(g.rel_err[1], 1e-6);   /* the other layer is still right */
	ck_assert_int_eq(g.passed, 0);
	sdata_free(&t);
}
END_TEST

/* ---- initialisation ---- */

START_TEST(test_init_symmetry)
{
	struct sdata t;
	sdata_make(&t, 300, 4, 3, 5);
	uint8_t *val = sanity_val_mask(&t.data, 0.2, 5);
	struct sanity_init r;
	ck_assert_int_eq(sanity_init(&t.data, probe_cpu_backend(), val, 16, 5, 32, 5, &r), 0);
	if (verbose())
		for (int i = 0; i < 4; i++)
			fprintf(stderr, "init %d: distinct %d, train loss %.4f val %.4f\n", i, r.runs[i].distinct_units,
				r.runs[i].fit.train_loss, r.runs[i].fit.val_loss);
	ck_assert_int_eq(r.runs[0].distinct_units, 1);    /* constant: every unit the same */
	ck_assert_int_eq(r.runs[3].distinct_units, 16);   /* He: all different */
	ck_assert_int_ge(r.runs[2].distinct_units, 16);
	ck_assert_uint_gt(r.runs[3].curve.n, 1);
	/* the broken symmetry learns at least as well as one effective unit */
	ck_assert_double_le(r.runs[3].fit.val_loss, r.runs[0].fit.val_loss + 1e-9);
	free(val);
	sdata_free(&t);
}
END_TEST

/* ---- overfit a mini-batch ---- */

START_TEST(test_overfit_clean_passes_shuffled_fails)
{
	struct sdata t;
	sdata_make(&t, 400, 4, 2, 7);
	struct sanity_overfit o;
	ck_assert_int_eq(sanity_overfit_batch(&t.data, probe_cpu_backend(), 128, 16, 300, 9, &o), 0);
	if (verbose())
		fprintf(stderr, "overfit clean: reached %d at %ld, acc %.3f (%s)\n", o.reached, o.steps, o.final_acc,
			o.verdict);
	ck_assert_int_eq(o.reached, 1);
	ck_assert_str_eq(o.verdict, "ok");
	ck_assert_uint_eq(o.n_conflicts, 0);

	sdata_shuffle_labels(&t, 11);
	ck_assert_int_eq(sanity_overfit_batch(&t.data, probe_cpu_backend(), 128, 16, 300, 9, &o), 0);
	if (verbose())
		fprintf(stderr, "overfit shuffled: reached %d at %ld, acc %.3f (%s)\n", o.reached, o.steps,
			o.final_acc, o.verdict);
	ck_assert_int_eq(o.reached, 0);
	ck_assert_str_eq(o.verdict, "no learnable signal");
	ck_assert_double_lt(o.final_acc, 1.0);
	sdata_free(&t);
}
END_TEST

START_TEST(test_overfit_lists_conflicts)
{
	struct sdata t;
	sdata_make(&t, 64, 3, 2, 13);
	/* rows 1 and 2 copy row 0's features with the other label */
	memcpy(t.x + 3, t.x, 3 * sizeof(float));
	memcpy(t.x + 6, t.x, 3 * sizeof(float));
	t.y[1] = 1 - t.y[0];
	t.y[2] = t.y[0];
	struct sanity_overfit o;
	ck_assert_int_eq(sanity_overfit_batch(&t.data, probe_cpu_backend(), 64, 8, 100, 1, &o), 0);
	ck_assert_int_eq(o.reached, 0);
	ck_assert_uint_eq(o.n_conflicts, 1);
	ck_assert_str_eq(o.verdict, "conflicting labels");
	ck_assert_double_eq_tol(o.max_reachable_acc, 63.0 / 64.0, 1e-12);
	size_t a = o.conflicts[0][0], b = o.conflicts[0][1];
	ck_assert(a <= 2 && b <= 2 && t.y[a] != t.y[b]);
	sdata_free(&t);
}
END_TEST

/* ---- learning-rate range test ---- */

START_TEST(test_lr_suggestion_near_sweep_best)
{
	struct sdata t;
	sdata_make(&t, 512, 6, 3, 17);
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 32;
	s.init = PROBE_INIT_HE;
	s.optim = PROBE_SGD;
	s.seed = 2;
	struct sanity_lr_range lr;
	ck_assert_int_eq(sanity_lr_range(&t.data, probe_cpu_backend(), &s, 1e-4, 100, 200, 32, 3, &lr), 0);
	/* the sweep: fixed rates a factor ~1.78 apart, as many steps as the range test */
	double lrs[17], loss[17];
	for (int i = 0; i < 17; i++)
		lrs[i] = 1e-3 * pow(10, i / 4.0);
	int best = sanity_lr_sweep(&t.data, probe_cpu_backend(), &s, lrs, 17, 13, 32, 3, loss);
	ck_assert_int_ge(best, 0);
	if (verbose()) {
		fprintf(stderr, "lr range: steepest %.4g\n", lr.lr_steepest);
		fprintf(stderr, "lr range: min at %.4g, suggested %.4g, stopped %ld; sweep best %.4g\n", lr.lr_at_min,
			lr.suggested, lr.stopped_at, lrs[best]);
		for (int i = 0; i < 17; i++)
			fprintf(stderr, "  lr %.4g loss %.4f\n", lrs[i], loss[i]);
		for (int i = 0; i < 3; i++)
			fprintf(stderr, "  run lr %.4g train loss %.4f\n", lr.runs_lr[i], lr.runs_fit[i].train_loss);
	}
	ck_assert_double_lt(fabs(log(lr.suggested / lrs[best])), log(3.0));
	ck_assert_uint_gt(lr.n, 10);
	/* too low learns less than the suggestion */
	ck_assert_double_gt(lr.runs_fit[0].train_loss, lr.runs_fit[1].train_loss);
	sdata_free(&t);
}
END_TEST

/* ---- Bayesian optimisation on a test function ---- */

/* Branin on [-5, 10] x [0, 15], negated (maximised): optimum -0.397887. */
static int branin(const double *u, size_t n, size_t dims, double *scores, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		double x1 = -5 + 15 * u[i * dims], x2 = 15 * u[i * dims + 1];
		double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
		double v = x2 - b * x1 * x1 + c * x1 - 6;
		scores[i] = -(v * v + 10 * (1 - t) * cos(x1) + 10);
	}
	return 0;
}

START_TEST(test_bayes_beats_grid)
{
	struct sanity_search_result g, r, bo;
	ck_assert_int_eq(sanity_search(SANITY_GRID, branin, NULL, 2, 25, 25, 1, &g), 0);
	ck_assert_int_eq(sanity_search(SANITY_RANDOM, branin, NULL, 2, 25, 25, 1, &r), 0);
	ck_assert_int_eq(sanity_bayes_opt(branin, NULL, 2, 25, 1, &bo), 0);
	if (verbose())
		for (size_t i = 0; i < 25; i++)
			fprintf(stderr, "  bo %zu: (%.3f, %.3f) %.4f\n", i, bo.u[2 * i], bo.u[2 * i + 1], bo.score[i]);
	if (verbose())
		fprintf(stderr, "branin best: grid %.4f random %.4f bayes %.4f (optimum -0.3979)\n",
			g.best_so_far[24], r.best_so_far[24], bo.best_so_far[24]);
	ck_assert_uint_eq(bo.n, 25);
	ck_assert_double_gt(bo.best_so_far[24], g.best_so_far[24]);
	ck_assert_double_gt(bo.best_so_far[24], -0.5);   /* close to the known optimum */
	for (size_t i = 1; i < 25; i++)
		ck_assert_double_ge(bo.best_so_far[i], bo.best_so_far[i - 1]);
	sanity_search_result_free(&g);
	sanity_search_result_free(&r);
	sanity_search_result_free(&bo);
}
END_TEST

/* ---- the batched checks run and say something sensible ---- */

START_TEST(test_batched_checks_run)
{
	struct sdata t;
	sdata_make(&t, 400, 4, 3, 21);
	uint8_t *val = sanity_val_mask(&t.data, 0.25, 1);
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 16;
	s.init = PROBE_INIT_HE;
	s.lr = 0.01f;

	struct sanity_optimizers o;
	ck_assert_int_eq(sanity_optimizers(&t.data, b, &s, val, 4, 32, 0, 1, &o), 0);
	int reached = 0;
	for (int i = 0; i < SANITY_N_OPTIM * SANITY_N_SCHED; i++)
		reached += o.runs[i].steps_to_target >= 0;
	ck_assert_int_ge(reached, 1);
	ck_assert(isfinite(o.runs[o.best].fit.val_loss));

	struct sanity_regularisation g;
	ck_assert_int_eq(sanity_regularisation(&t.data, b, &s, val, 4, 32, 1, &g), 0);
	ck_assert_str_eq(g.runs[4].name, "early_stopping");
	for (int i = 0; i < SANITY_N_REG; i++)
		ck_assert(isfinite(g.runs[i].gap));

	struct sanity_capacity c;
	ck_assert_int_eq(sanity_capacity(&t.data, b, val, 4, 32, 1, &c), 0);
	if (verbose()) {
		for (int a = 0; a < SANITY_N_ARCH; a++)
			fprintf(stderr, "capacity arch %d: train %.4f val %.4f\n", a, c.arch[a].fit.train_loss,
				c.arch[a].fit.val_loss);
		for (int k = 0; k < SANITY_N_SIZES; k++)
			fprintf(stderr, "learning curve %zu rows: val acc %.3f\n", c.size_rows[k], c.size_fit[k].val_acc);
		fprintf(stderr, "best arch %d, overfit from %d, still rising %d\n", c.best_arch, c.overfit_from,
			c.still_rising);
		for (int i = 0; i < SANITY_N_REG; i++)
			fprintf(stderr, "reg %s: train %.4f val %.4f gap %.4f steps %ld\n", g.runs[i].name,
				g.runs[i].fit.train_loss, g.runs[i].fit.val_loss, g.runs[i].gap, g.runs[i].steps);
		for (int i = 0; i < SANITY_N_OPTIM * SANITY_N_SCHED; i++)
			fprintf(stderr, "optim %d sched %d lr %.3g: steps to %.4f: %ld, val %.4f\n", o.runs[i].optim,
				o.runs[i].sched, o.runs[i].lr, o.target_loss, o.runs[i].steps_to_target,
				o.runs[i].fit.val_loss);
	}
	ck_assert_uint_lt(c.size_rows[0], c.size_rows[4]);
	ck_assert_int_eq(c.arch[0].health.n_layers, 1);
	ck_assert_int_eq(c.arch[6].health.n_layers, 4);
	ck_assert(c.arch[6].health.ratio_last[0] > 0 && isfinite(c.arch[6].health.ratio_last[0]));
	ck_assert(isfinite(c.size_fit[4].val_acc));

	struct sanity_distill dd;
	ck_assert_int_eq(sanity_distill(&t.data, b, val, 8, 2.0, 20, 32, 1, &dd), 0);
	if (verbose())
		fprintf(stderr, "distill: fidelity %.3f student %.3f teacher %.3f\n", dd.fidelity, dd.student_acc,
			dd.teacher_acc);
	ck_assert_double_gt(dd.fidelity, 0.8);   /* the teacher is the true rule: learnable */
	ck_assert_double_eq_tol(dd.teacher_acc, 1.0, 1e-12);
	ck_assert_int_eq(dd.student_beats_teacher, 0);
	/* the paired interval brackets the accuracy difference */
	ck_assert_uint_gt(dd.n, 50);
	ck_assert(dd.diff_low <= dd.student_acc - dd.teacher_acc && dd.student_acc - dd.teacher_acc <= dd.diff_high);

	struct sanity_hpo h;
	ck_assert_int_eq(sanity_hpo(&t.data, b, val, 8, 4, 2, 32, 1, &h), 0);
	for (int m = 0; m < 3; m++) {
		if (verbose())
			fprintf(stderr, "hpo method %d: best %.4f\n", m, h.trials[m][7].best_so_far);
		ck_assert(isfinite(h.trials[m][7].best_so_far));
	}
	sanity_hpo_free(&h);
	free(val);
	sdata_free(&t);
}
END_TEST

/* ---- the best trial's final training: the plateau rule ---- */

START_TEST(test_plateau_rule)
{
	/* falling by 1% an epoch never stops */
	float fall[20];
	for (int i = 0; i < 20; i++)
		fall[i] = (float)pow(0.99, i);
	ck_assert_int_eq(sanity_plateau(fall, 20, 1e-3, 3), -1);
	/* flat from index 5 on: epochs 6, 7, 8 do not improve, it stops after 8 */
	float flat[12] = {1.0f, 0.8f, 0.7f, 0.65f, 0.62f, 0.6f, 0.6f, 0.5999f, 0.6001f, 0.59f, 0.58f, 0.57f};
	ck_assert_int_eq(sanity_plateau(flat, 12, 1e-3, 3), 8);
	/* a dip of 0.05% is no improvement, and does not move the bar... */
	float creep[8] = {1.0f, 0.9995f, 0.99905f, 0.9985f, 0.998f, 0.9975f, 0.997f, 0.9965f};
	ck_assert_int_eq(sanity_plateau(creep, 8, 1e-3, 2), 2);
	/* ...so a slow creep still counts once it adds up to 0.1% (patience 3) */
	ck_assert_int_eq(sanity_plateau(creep, 8, 1e-3, 3), -1);
	/* a diverged run stops at once */
	float nan[4] = {1.0f, 0.5f, NAN, 0.1f};
	ck_assert_int_eq(sanity_plateau(nan, 4, 1e-3, 3), 2);
}
END_TEST

START_TEST(test_paired_diff)
{
	double a[4] = {1, 2, 3, 4}, b[4] = {0.5, 1.5, 3.5, 3.0};
	double m, lo, hi;
	sanity_paired_diff(a, b, 4, &m, &lo, &hi);
	/* differences 0.5, 0.5, -0.5, 1.0: mean 0.375, sd 0.6292, se 0.3146 */
	ck_assert_double_eq_tol(m, 0.375, 1e-12);
	ck_assert_double_eq_tol(hi - m, 1.959963984540054 * sqrt(0.39583333333333333 / 4), 1e-9);
	ck_assert_double_eq_tol(m - lo, hi - m, 1e-12);
	sanity_paired_diff(a, b, 1, &m, &lo, &hi);
	ck_assert_double_eq_tol(m, 0.5, 1e-12);
	ck_assert(isnan(lo) && isnan(hi));
}
END_TEST

START_TEST(test_final_retraces_to_the_stop)
{
	struct sdata t;
	sdata_make(&t, 400, 4, 3, 31);
	uint8_t *val = sanity_val_mask(&t.data, 0.2, 31);
	const struct probe_backend *b = probe_cpu_backend();
	struct probe_spec s;
	probe_spec_init(&s);
	s.n_hidden = 1;
	s.hidden[0] = 16;
	s.init = PROBE_INIT_HE;
	s.lr = 0.02f;
	s.sched = PROBE_LR_COSINE;   /* replaced by a constant rate */
	s.seed = 5;
	struct sanity_final_run f;
	ck_assert_int_eq(sanity_final(&t.data, b, &s, 1, val, 60, 3, 32, 7, &f), 0);
	if (verbose())
		fprintf(stderr, "final: %d epochs, %ld steps, stopped %d, train %.4f, val %.4f\n", f.epochs, f.steps,
			f.stopped, f.fit.train_loss, f.fit.val_loss);
	ck_assert_int_eq(f.stopped, 1);
	ck_assert_int_lt(f.epochs, 60);
	ck_assert_int_eq(f.steps, (long)f.epochs * 13);   /* 400 rows, batch 32 */
	/* the run was trained again to the stop: its validation loss is the one
	 * the long run recorded at that epoch (the curve keeps every epoch) */
	ck_assert_uint_ge(f.curve.n, (size_t)f.epochs);
	ck_assert_double_eq_tol(f.fit.val_loss, f.curve.val_loss[f.epochs - 1], 1e-4);
	ck_assert_double_ne_tol(f.fit.val_loss, f.curve.val_loss[f.curve.n - 1], 1e-6);
	/* one loss per labelled validation row, averaging to the validation loss */
	double sum = 0;
	for (size_t i = 0; i < f.n_val; i++)
		sum += f.val_row_loss[i];
	ck_assert_uint_gt(f.n_val, 40);
	ck_assert_double_eq_tol(sum / (double)f.n_val, f.fit.val_loss, 1e-9);
	sanity_final_free(&f, 1);

	/* a cap too short for the rule: ran into it */
	ck_assert_int_eq(sanity_final(&t.data, b, &s, 1, val, 2, 3, 32, 7, &f), 0);
	ck_assert_int_eq(f.stopped, 0);
	ck_assert_int_eq(f.epochs, 2);
	sanity_final_free(&f, 1);
	free(val);
	sdata_free(&t);
}
END_TEST

START_TEST(test_pair_prefers_the_trained)
{
	struct sdata t;
	sdata_make(&t, 400, 4, 3, 41);
	uint8_t *val = sanity_val_mask(&t.data, 0.25, 41);
	struct probe_spec s[2];
	for (int i = 0; i < 2; i++) {
		probe_spec_init(&s[i]);
		s[i].n_hidden = 1;
		s[i].hidden[0] = 16;
		s[i].init = PROBE_INIT_HE;
		s[i].seed = 9;
	}
	s[0].lr = 0.01f;
	s[1].lr = 1e-6f;   /* barely moves from its start */
	struct sanity_pair p;
	ck_assert_int_eq(sanity_pair(&t.data, probe_cpu_backend(), s, val, 3, 4, 32, 3, &p), 0);
	if (verbose())
		fprintf(stderr, "pair: %.4f vs %.4f, diff %.4f [%.4f, %.4f], wins %d/%d\n", p.fit[0].val_loss,
			p.fit[1].val_loss, p.diff, p.ci_low, p.ci_high, p.wins, p.seeds);
	ck_assert_int_eq(p.seeds, 3);
	ck_assert_int_eq(p.wins, 3);
	ck_assert_double_lt(p.ci_high, 0);
	ck_assert_double_eq_tol(p.diff, p.fit[0].val_loss - p.fit[1].val_loss, 1e-9);
	/* the same spec on both sides: no winner by construction */
	s[1] = s[0];
	ck_assert_int_eq(sanity_pair(&t.data, probe_cpu_backend(), s, val, 2, 4, 32, 3, &p), 0);
	ck_assert_double_eq_tol(p.diff, 0, 1e-12);
	ck_assert_int_eq(p.wins, 0);
	free(val);
	sdata_free(&t);
}
END_TEST

/* ---- health ---- */

START_TEST(test_health_flags)
{
	struct probe_record rec[2];
	memset(rec, 0, sizeof rec);
	struct probe_trained t = {.n_layers = 2, .records = rec, .n_records = 2};
	for (int i = 0; i < 2; i++) {
		rec[i].weight_norm[0] = rec[i].weight_norm[1] = 1;
		rec[i].grad_norm[0] = 1e-7f;   /* vanishing */
		rec[i].grad_norm[1] = i ? 50.0f : 0.1f;   /* exploding at the end */
	}
	rec[1].dead_relu[0] = 0.75f;
	struct sanity_health h;
	sanity_health(&t, &h);
	ck_assert_int_eq(h.vanishing[0], 1);
	ck_assert_int_eq(h.exploding[0], 0);
	ck_assert_int_eq(h.vanishing[1], 0);
	ck_assert_int_eq(h.exploding[1], 1);
	ck_assert_int_eq(h.dead_flag[0], 1);
	ck_assert_int_eq(h.any_flag, 1);
	/* a ratio of 5 is fast early movement, not an explosion */
	rec[1].grad_norm[1] = 5.0f;
	sanity_health(&t, &h);
	ck_assert_int_eq(h.exploding[1], 0);
	rec[1].grad_norm[1] = INFINITY;
	sanity_health(&t, &h);
	ck_assert_int_eq(h.exploding[1], 1);

	/* tiny gradients in every layer of a network that fitted its rows are
	 * convergence; the same gradients with a loss that never fell are a stall */
	for (int i = 0; i < 2; i++) {
		rec[i].grad_norm[0] = rec[i].grad_norm[1] = 1e-7f;
		rec[i].dead_relu[0] = 0;
	}
	rec[0].train_loss = 1.0f;
	rec[1].train_loss = 0.01f;
	sanity_health(&t, &h);
	ck_assert_int_eq(h.vanishing[0] | h.vanishing[1], 0);
	ck_assert_int_eq(h.any_flag, 0);
	rec[1].train_loss = 0.95f;
	sanity_health(&t, &h);
	ck_assert_int_eq(h.vanishing[0] & h.vanishing[1], 1);
}
END_TEST

Suite *sanity_suite(void)
{
	Suite *s = suite_create("sanity");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gradcheck_correct);
	tcase_add_test(tc, test_gradcheck_catches_wrong);
	tcase_add_test(tc, test_init_symmetry);
	tcase_add_test(tc, test_overfit_clean_passes_shuffled_fails);
	tcase_add_test(tc, test_overfit_lists_conflicts);
	tcase_add_test(tc, test_lr_suggestion_near_sweep_best);
	tcase_add_test(tc, test_bayes_beats_grid);
	tcase_add_test(tc, test_batched_checks_run);
	tcase_add_test(tc, test_health_flags);
	tcase_add_test(tc, test_plateau_rule);
	tcase_add_test(tc, test_paired_diff);
	tcase_add_test(tc, test_final_retraces_to_the_stop);
	tcase_add_test(tc, test_pair_prefers_the_trained);
	suite_add_tcase(s, tc);
	return s;
}
