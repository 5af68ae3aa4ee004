/* test_surrogate.c - the surrogate, permutation importance, importance_shift
 * and single points, on frames built here.
 *
 * - a model whose output depends on feature a alone: a ranks first on every
 *   split, the other features are near 0, fidelity is high, no shift;
 * - the same model where current's labels no longer follow a: an
 *   importance_shift finding on (current, a) and on nothing else; the single
 *   points are wrong rows, most confident first, explained mostly by a;
 * - the input gradient of the surrogate's log-probability against central
 *   finite differences of the probe backend's own predictions, and of a
 *   hand-made deeper tanh net against the module's own forward pass;
 * - nearest neighbours against a brute-force sort, ties included;
 * - data mode without model outputs: skipped, importance.csv header only. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/ingest/frame.h"
#include "stages/rootcause/points.h"
#include "stages/rootcause/rcdata.h"
#include "stages/rootcause/rcprobe.h"
#include "stages/rootcause/surrogate.h"
#include "tests/unit/testutil.h"

/* ---- frames ---- */

static const char *const yes_no[] = {"no", "yes"};
static const char *const colours[] = {"red", "green", "blue"};

/* Features a, b, c ~ N(0, 1) and colour (3 levels), an id. The label is yes
 * when a + 0.5 noise > 0 (with `broken`, when b + 0.5 noise > 0: a no longer
 * says anything). The model looks at a alone: P(yes) = sigmoid(4a). With
 * `model` 0 there are no prediction or probability columns, with 2 only the
 * prediction. */
static struct frame *make(const char *split, size_t n, uint64_t seed, int broken, int model)
{
	struct frame *f = tu_frame(split, n);
	tu_addcol(f, "id", COL_CATEGORICAL, ROLE_ID, NULL, 0);
	tu_addcol(f, "a", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "b", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "c", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "colour", COL_CATEGORICAL, ROLE_FEATURE, colours, 3);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, yes_no, 2);
	if (model) {
		tu_addcol(f, "pred", COL_CATEGORICAL, ROLE_PREDICTION, yes_no, 2);
		if (model == 1)
			tu_addcol(f, "proba", COL_NUMERIC, ROLE_PROBA, NULL, 0);
	}
	struct frame_column *id = &f->cols[0];
	free(id->levels);
	id->levels = xmalloc(n * sizeof *id->levels);
	id->nlevels = n;
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		id->levels[i] = xasprintf("%s-%zu", split, i);
		id->code[i] = (int32_t)i;
		double a = rng_normal(&r), b = rng_normal(&r);
		f->cols[1].num[i] = a;
		f->cols[2].num[i] = b;
		f->cols[3].num[i] = rng_normal(&r);
		f->cols[4].code[i] = (int32_t)rng_below(&r, 3);
		f->cols[5].code[i] = (broken ? b : a) + 0.5 * rng_normal(&r) > 0;
		if (model) {
			double p = 1 / (1 + exp(-4 * a));
			f->cols[6].code[i] = p > 0.5;
			if (model == 1)
				f->cols[7].num[i] = p;
		}
	}
	return f;
}

struct world {
	struct audit_config cfg;
	struct rc_data *d;
	struct rc_probes p;
	json_t *findings, *analysis;
	struct strbuf csv;
	struct surrogate s;
};

static void world_open(struct world *w, int broken, int model)
{
	memset(w, 0, sizeof *w);
	config_init(&w->cfg);
	free(w->cfg.backend);
	w->cfg.backend = xstrdup("cpu");
	w->cfg.label = xstrdup("y");
	if (model) {
		w->cfg.pred = xstrdup("pred");
		if (model == 1)
			w->cfg.proba = xstrdup("proba");
	}
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = make("train", 3000, 1, 0, model);
	fr[1] = make("test", 1500, 2, 0, model);
	fr[2] = make("current", 1500, 3, broken, model);
	w->d = rcdata_from_frames(&w->cfg, fr, 3, yes_no, 2, 1);
	ck_assert_ptr_nonnull(w->d);
	ck_assert_int_eq(rcprobe_open(w->d, &w->p), 0);
	w->findings = json_array();
	w->analysis = json_object();
	sb_init(&w->csv);
	ck_assert_int_eq(surrogate_run(w->d, &w->p, w->findings, w->analysis, &w->csv, &w->s), 0);
}

static void world_close(struct world *w)
{
	surrogate_free(&w->s);
	sb_free(&w->csv);
	json_decref(w->findings);
	json_decref(w->analysis);
	rcprobe_close(&w->p);
	rcdata_free(w->d);
	config_free(&w->cfg);
}

/* importance of `feature` on `split` and its rank (from analysis.importance) */
static double importance(json_t *analysis, const char *feature, const char *split, int *rank)
{
	json_t *feats = json_object_get(json_object_get(analysis, "importance"), "features");
	size_t i;
	json_t *f;
	json_array_foreach(feats, i, f) {
		if (strcmp(json_string_value(json_object_get(f, "feature")), feature))
			continue;
		json_t *c = json_object_get(json_object_get(f, "by_split"), split);
		ck_assert_msg(c != NULL, "no importance of %s on %s", feature, split);
		if (rank)
			*rank = (int)json_integer_value(json_object_get(c, "rank"));
		return json_number_value(json_object_get(json_object_get(c, "importance"), "value"));
	}
	ck_abort_msg("feature %s not in the importance list", feature);
	return NAN;
}

static size_t count_kind(json_t *findings, const char *kind)
{
	size_t i, n = 0;
	json_t *f;
	json_array_foreach(findings, i, f)
		n += !strcmp(json_string_value(json_object_get(f, "kind")), kind);
	return n;
}

/* ---- (a) the model reads a alone ---- */

START_TEST(importance_ranks_the_only_feature_first)
{
	struct world w;
	world_open(&w, 0, 1);
	ck_assert_int_eq(w.s.trained, 1);
	json_t *imp = json_object_get(w.analysis, "importance");
	ck_assert_ptr_nonnull(imp);
	json_t *fid = json_object_get(json_object_get(imp, "surrogate"), "fidelity");
	const char *splits[] = {"train", "test", "current"};
	for (int s = 0; s < 3; s++) {
		double v = json_number_value(json_object_get(json_object_get(fid, splits[s]), "value"));
		ck_assert_msg(v >= 0.95, "fidelity on %s: %g", splits[s], v);
		int rank;
		double a = importance(w.analysis, "a", splits[s], &rank);
		ck_assert_msg(rank == 1 && a > 0.2, "a on %s: importance %g rank %d", splits[s], a, rank);
		const char *others[] = {"b", "c", "colour"};
		for (int o = 0; o < 3; o++) {
			double v2 = importance(w.analysis, others[o], splits[s], NULL);
			ck_assert_msg(fabs(v2) < 0.02, "%s on %s: importance %g", others[o], splits[s], v2);
		}
	}
	ck_assert_int_eq(json_array_size(json_object_get(imp, "splits")), 3);
	ck_assert_int_eq(count_kind(w.findings, "importance_shift"), 0);
	/* long format: header + 4 sources x 3 splits */
	size_t lines = 0;
	for (size_t i = 0; i < w.csv.len; i++)
		lines += w.csv.data[i] == '\n';
	ck_assert_uint_eq(lines, 1 + 4 * 3);
	ck_assert(!strncmp(w.csv.data, IMPORTANCE_CSV_HEADER, strlen(IMPORTANCE_CSV_HEADER)));
	ck_assert_ptr_nonnull(strstr(w.csv.data, "\na,train,"));
	world_close(&w);
}
END_TEST

/* ---- (b) current's labels no longer follow a ---- */

START_TEST(broken_relationship_gives_importance_shift)
{
	struct world w;
	world_open(&w, 1, 1);
	double tr = importance(w.analysis, "a", "train", NULL), cur = importance(w.analysis, "a", "current", NULL);
	ck_assert_msg(tr > 0.2 && fabs(cur) < 0.05, "a: train %g current %g", tr, cur);
	ck_assert_int_eq(count_kind(w.findings, "importance_shift"), 1);
	json_t *f = json_array_get(w.findings, 0);
	json_t *subj = json_object_get(f, "subject");
	ck_assert_str_eq(json_string_value(json_object_get(f, "kind")), "importance_shift");
	ck_assert_str_eq(json_string_value(json_object_get(subj, "split")), "current");
	ck_assert_str_eq(json_string_value(json_object_get(subj, "feature")), "a");
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(f, "title")), "matters much less on current"));

	/* single points: on current (the latest labelled split), wrong rows,
	 * most confident first, mostly explained by a */
	ck_assert_int_eq(points_run(w.d, &w.p, &w.s, w.analysis), 0);
	json_t *pts = json_object_get(w.analysis, "points");
	ck_assert_ptr_nonnull(pts);
	ck_assert_str_eq(json_string_value(json_object_get(pts, "split")), "current");
	json_t *rows = json_object_get(pts, "rows");
	ck_assert_uint_eq(json_array_size(rows), POINTS_ROWS);
	size_t i, by_a = 0;
	json_t *r;
	double prev = 2;
	const struct rc_split *cs = &w.d->splits[2];
	json_array_foreach(rows, i, r) {
		double c = json_number_value(json_object_get(r, "confidence"));
		ck_assert(c <= prev);
		prev = c;
		size_t row = (size_t)json_integer_value(json_object_get(r, "row")) - 1;
		ck_assert_int_eq(cs->err[row], 1);
		ck_assert(fabs(cs->proba[row * 2 + (size_t)cs->pred[row]] - c) < 1e-12);
		char want[32];
		snprintf(want, sizeof want, "current-%zu", row);
		ck_assert_str_eq(json_string_value(json_object_get(r, "id")), want);
		ck_assert_str_ne(json_string_value(json_object_get(r, "label")),
				 json_string_value(json_object_get(r, "predicted")));
		json_t *attr = json_object_get(r, "attribution");
		ck_assert_uint_eq(json_array_size(attr), 4);   /* only 4 sources */
		by_a += !strcmp(json_string_value(json_object_get(json_array_get(attr, 0), "feature")), "a");
		ck_assert_uint_eq(json_array_size(json_object_get(r, "neighbours")), POINTS_NEIGHBOURS);
		json_t *hood = json_object_get(r, "neighbourhood");
		ck_assert_int_eq(json_integer_value(json_object_get(hood, "k")), POINTS_K);
		double acc = json_number_value(json_object_get(json_object_get(hood, "model_accuracy"), "value"));
		ck_assert(acc >= 0 && acc <= 1);
	}
	ck_assert_msg(by_a >= 8, "a explains only %zu of the 10 points", by_a);
	world_close(&w);
}
END_TEST

/* ---- (c) the input gradient against finite differences ---- */

START_TEST(input_gradient_matches_finite_differences)
{
	struct world w;
	world_open(&w, 0, 1);
	const struct probe_trained *t = w.s.net;
	size_t D = w.p.d, H = (size_t)t->dims[1];
	const float *W0 = probe_layer(t, 0);
	const float h = 1e-2f;
	/* a test row with P(yes) away from 0 and 1 whose hidden units are all
	 * further than the step can move them from ReLU's kink */
	size_t pick = SIZE_MAX;
	for (size_t i = 0; i < w.d->splits[1].nrows && pick == SIZE_MAX; i++) {
		const float *x = w.p.x[1] + i * D;
		double lp = surrogate_logodds_grad(t, x, 1, NULL);
		if (lp < log(0.25) || lp > log(4.0))   /* p in [0.2, 0.8] */
			continue;
		int ok = 1;
		for (size_t j = 0; j < H && ok; j++) {
			double z = W0[D * H + j], reach = 0;
			for (size_t c = 0; c < D; c++) {
				z += (double)x[c] * W0[c * H + j];
				reach += fabs(W0[c * H + j]);
			}
			ok = fabs(z) > 4 * h * reach;
		}
		if (ok)
			pick = i;
	}
	ck_assert_msg(pick != SIZE_MAX, "no test row away from the kinks");
	float *x = xmalloc(D * sizeof *x), *prob = xmalloc(2 * sizeof *prob);
	memcpy(x, w.p.x[1] + pick * D, D * sizeof *x);
	double *g = xmalloc(D * sizeof *g);
	for (int cls = 0; cls < 2; cls++) {
		double lp = surrogate_logodds_grad(t, x, cls, g);
		/* the forward pass agrees with the backend's */
		ck_assert_int_eq(rcprobe_predict(&w.p, w.s.res, 0, x, 1, 2, prob), 0);
		ck_assert_msg(fabs(lp - log(prob[cls] / (1 - prob[cls]))) < 1e-5, "log-odds %g, backend %g", lp, log(prob[cls] / (1 - prob[cls])));
		double num = 0, den = 0;
		for (size_t j = 0; j < D; j++) {
			float keep = x[j];
			x[j] = keep + h;
			rcprobe_predict(&w.p, w.s.res, 0, x, 1, 2, prob);
			double up = log(prob[cls] / (1 - prob[cls]));
			x[j] = keep - h;
			rcprobe_predict(&w.p, w.s.res, 0, x, 1, 2, prob);
			double down = log(prob[cls] / (1 - prob[cls]));
			x[j] = keep;
			double fd = (up - down) / (2.0 * h);
			num += (fd - g[j]) * (fd - g[j]);
			den += g[j] * g[j];
		}
		ck_assert_msg(den > 1e-4, "gradient too small to test: %g", sqrt(den));
		ck_assert_msg(sqrt(num / den) < 1e-3, "class %d: relative error %g", cls, sqrt(num / den));
	}
	free(x);
	free(prob);
	free(g);
	world_close(&w);
}
END_TEST

/* The same check on a hand-made net that takes the generic path: two tanh
 * hidden layers, three classes, finite differences of surrogate_predict. */
START_TEST(input_gradient_of_a_deeper_tanh_net)
{
	struct probe_trained t;
	memset(&t, 0, sizeof t);
	t.n_layers = 3;
	int dims[] = {6, 9, 5, 3};
	memcpy(t.dims, dims, sizeof dims);
	t.act = PROBE_TANH;
	for (int l = 0; l < 3; l++)
		t.n_params += (size_t)(dims[l] + 1) * (size_t)dims[l + 1];
	t.params = xmalloc(t.n_params * sizeof *t.params);
	struct rng r;
	rng_seed(&r, 17);
	for (size_t i = 0; i < t.n_params; i++)
		t.params[i] = (float)(0.6 * rng_normal(&r));
	float x[6], prob[3];
	for (int j = 0; j < 6; j++)
		x[j] = (float)rng_normal(&r);
	double g[6];
	const float h = 1e-2f;
	for (int cls = 0; cls < 3; cls++) {
		double lp = surrogate_logodds_grad(&t, x, cls, g);
		surrogate_predict(&t, x, 1, prob);
		ck_assert_msg(fabs(lp - log(prob[cls] / (1 - prob[cls]))) < 1e-5, "log-odds %g, forward %g", lp, log(prob[cls] / (1 - prob[cls])));
		double num = 0, den = 0;
		for (int j = 0; j < 6; j++) {
			float keep = x[j];
			x[j] = keep + h;
			surrogate_predict(&t, x, 1, prob);
			double up = log(prob[cls] / (1 - prob[cls]));
			x[j] = keep - h;
			surrogate_predict(&t, x, 1, prob);
			double down = log(prob[cls] / (1 - prob[cls]));
			x[j] = keep;
			double fd = (up - down) / (2.0 * h);
			num += (fd - g[j]) * (fd - g[j]);
			den += g[j] * g[j];
		}
		ck_assert_msg(den > 1e-4, "gradient too small to test: %g", sqrt(den));
		ck_assert_msg(sqrt(num / den) < 1e-3, "class %d: relative error %g", cls, sqrt(num / den));
	}
	free(t.params);
}
END_TEST

/* ---- (d) nearest neighbours ---- */

struct ref { double d; size_t i; };

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

START_TEST(nearest_matches_brute_force)
{
	const size_t n = 700, dim = 7;
	float *x = xmalloc(n * dim * sizeof *x), q[7];
	struct rng r;
	rng_seed(&r, 5);
	for (size_t i = 0; i < n * dim; i++)
		x[i] = (float)rng_normal(&r);
	/* ties: copies of earlier rows, and small integer grids */
	for (size_t i = 600; i < n; i++)
		memcpy(x + i * dim, x + (i - 600) * dim, dim * sizeof *x);
	for (size_t i = 0; i < 100; i++)
		for (size_t j = 0; j < dim; j++)
			x[(200 + i) * dim + j] = (float)rng_below(&r, 3);
	for (int trial = 0; trial < 3; trial++) {
		for (size_t j = 0; j < dim; j++)
			q[j] = trial == 2 ? 1.0f : trial == 1 ? x[5 * dim + j] : (float)rng_normal(&r);
		struct ref *all = xmalloc(n * sizeof *all);
		for (size_t i = 0; i < n; i++) {
			double s = 0;
			for (size_t j = 0; j < dim; j++)
				s += ((double)x[i * dim + j] - q[j]) * ((double)x[i * dim + j] - q[j]);
			all[i] = (struct ref){sqrt(s), i};
		}
		qsort(all, n, sizeof *all, ref_cmp);
		size_t ks[] = {1, 5, 50, n + 10};
		for (size_t t = 0; t < 4; t++) {
			size_t k = ks[t], idx[800];
			double dist[800];
			size_t m = points_nearest(x, n, dim, q, k, idx, dist);
			ck_assert_uint_eq(m, k < n ? k : n);
			for (size_t i = 0; i < m; i++) {
				ck_assert_msg(idx[i] == all[i].i, "trial %d k %zu: position %zu row %zu, want %zu", trial, k, i,
					      idx[i], all[i].i);
				ck_assert(fabs(dist[i] - all[i].d) <= 1e-12 * (1 + all[i].d));
			}
		}
		free(all);
	}
	free(x);
}
END_TEST

/* ---- a model that gives only its predictions ---- */

START_TEST(predictions_only_use_one_hot_teacher)
{
	struct world w;
	world_open(&w, 1, 2);
	ck_assert_int_eq(w.s.trained, 1);
	ck_assert_ptr_null(w.d->splits[0].proba);
	int rank;
	double a = importance(w.analysis, "a", "train", &rank);
	ck_assert_msg(rank == 1 && a > 0.2, "a on train: importance %g rank %d", a, rank);
	ck_assert(w.s.fidelity_test >= 0.95);
	ck_assert_int_eq(points_run(w.d, &w.p, &w.s, w.analysis), 0);
	json_t *pts = json_object_get(w.analysis, "points");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(pts, "confidence_from")), "surrogate"));
	json_t *rows = json_object_get(pts, "rows");
	ck_assert_uint_eq(json_array_size(rows), POINTS_ROWS);
	/* the confidence is the surrogate's probability of the predicted class */
	size_t i;
	json_t *r;
	double prev = 2;
	float prob[2];
	json_array_foreach(rows, i, r) {
		double c = json_number_value(json_object_get(r, "confidence"));
		size_t row = (size_t)json_integer_value(json_object_get(r, "row")) - 1;
		surrogate_predict(w.s.net, w.p.x[2] + row * w.p.d, 1, prob);
		ck_assert(fabs(prob[w.d->splits[2].pred[row]] - c) < 1e-6);
		ck_assert(c <= prev && c > 0.5);
		prev = c;
	}
	world_close(&w);
}
END_TEST

/* ---- data mode without model outputs ---- */

START_TEST(data_mode_skips_with_header_only)
{
	struct world w;
	world_open(&w, 0, 0);
	ck_assert_int_eq(w.s.trained, 0);
	ck_assert_ptr_null(json_object_get(w.analysis, "importance"));
	ck_assert(json_is_string(json_object_get(w.analysis, "importance_skipped")));
	ck_assert_str_eq(w.csv.data, IMPORTANCE_CSV_HEADER);
	ck_assert_int_eq(points_run(w.d, &w.p, &w.s, w.analysis), 0);
	ck_assert(json_is_string(json_object_get(w.analysis, "points_skipped")));
	world_close(&w);
}
END_TEST

Suite *surrogate_suite(void)
{
	Suite *s = suite_create("surrogate");
	TCase *tc = tcase_create("surrogate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, importance_ranks_the_only_feature_first);
	tcase_add_test(tc, broken_relationship_gives_importance_shift);
	tcase_add_test(tc, input_gradient_matches_finite_differences);
	tcase_add_test(tc, input_gradient_of_a_deeper_tanh_net);
	tcase_add_test(tc, nearest_matches_brute_force);
	tcase_add_test(tc, predictions_only_use_one_hot_teacher);
	tcase_add_test(tc, data_mode_skips_with_header_only);
	suite_add_tcase(s, tc);
	return s;
}
