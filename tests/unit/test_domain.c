/* test_domain.c - the domain classifier, covariate shift and concept drift
 * (stages/rootcause/domain.c) on frames built here:
 *
 * - DeLong placement values against a brute-force count, and their mean
 *   against the rank AUC;
 * - one distribution everywhere: the AUC's interval covers 0.5, no finding;
 * - one numeric feature shifted in current and one categorical feature's
 *   shares moved in test: a data_drift finding on each, naming that feature
 *   first among the drivers (a categorical feature's one-hot columns permuted
 *   as one);
 * - covariate shift where the model's errors follow x: the importance-weighted
 *   estimate predicts the drop (unexplained near 0), no high concept_drift;
 * - labels flipped in a region of current with x unchanged: concept_drift,
 *   high, from both tests;
 * - a split too small to judge is skipped, saying why; three classes run every part.
 *
 * The world: c in {a, b, c} (a feature), x, z, w ~ N(0, 1); the label is 1
 * with probability sigmoid(3 z); the model predicts z > 0 and, where x > 1,
 * flips its prediction 40% of the time. Rows are few so the suite stays fast;
 * every sample, probe and bootstrap is seeded, so the numbers are fixed. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/ingest/frame.h"
#include "stages/rootcause/domain.h"
#include "stages/rootcause/rcdata.h"
#include "stages/rootcause/rcprobe.h"
#include "stages/rootcause/rcstats.h"
#include "tests/unit/testutil.h"

/* ---- placements ---- */

START_TEST(placements_match_brute_force)
{
	/* ties within and across the classes */
	static const double sc[] = {0.1, 0.4, 0.4, 0.35, 0.8, 0.7, 0.4, 0.2, 0.9, 0.1};
	static const uint8_t t[] = {0, 1, 0, 1, 1, 0, 1, 0, 1, 1};
	size_t n = sizeof sc / sizeof sc[0];
	double v[10];
	domain_placements(sc, t, n, v);
	double np = 0, nn = 0, sum_pos = 0, sum_neg = 0;
	for (size_t i = 0; i < n; i++)
		*(t[i] ? &np : &nn) += 1;
	for (size_t i = 0; i < n; i++) {
		double want = 0;
		for (size_t j = 0; j < n; j++) {
			if (t[j] == t[i])
				continue;
			double hi = t[i] ? sc[i] : sc[j], lo = t[i] ? sc[j] : sc[i];
			want += hi > lo ? 1 : hi == lo ? 0.5 : 0;
		}
		want /= t[i] ? nn : np;
		ck_assert_msg(fabs(v[i] - want) < 1e-12, "row %zu: %g, want %g", i, v[i], want);
		if (t[i])
			sum_pos += v[i];
		else
			sum_neg += v[i];
	}
	double pos[10], neg[10];
	size_t a = 0, b = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i])
			pos[a++] = sc[i];
		else
			neg[b++] = sc[i];
	}
	rcstats_sort_doubles(pos, a);
	rcstats_sort_doubles(neg, b);
	double auc = rcstats_auc_sorted(pos, a, neg, b);
	ck_assert(fabs(sum_pos / np - auc) < 1e-12);
	ck_assert(fabs(sum_neg / nn - auc) < 1e-12);
	/* one class only: undefined */
	static const uint8_t ones[] = {1, 1, 1};
	domain_placements(sc, ones, 3, v);
	ck_assert(isnan(v[0]) && isnan(v[2]));
}
END_TEST

/* ---- frames ---- */

static const char *const abc[] = {"a", "b", "c"};
static const char *const yes_no[] = {"no", "yes"};

struct world {
	double shift_x, shift_w;   /* added to x, w */
	double share_a;            /* P(c = a); b and c share the rest; 0 = 1/3 */
	int flip;                  /* labels flipped where z > 0.5: P(y|x) changed */
};

static struct frame *gen(const char *split, size_t n, uint64_t seed, const struct world *o)
{
	struct frame *f = tu_frame(split, n);
	tu_addcol(f, "c", COL_CATEGORICAL, ROLE_FEATURE, abc, 3);
	tu_addcol(f, "x", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "z", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "w", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, yes_no, 2);
	tu_addcol(f, "pred", COL_CATEGORICAL, ROLE_PREDICTION, yes_no, 2);
	tu_addcol(f, "proba", COL_NUMERIC, ROLE_PROBA, NULL, 0);
	struct frame_column *c = &f->cols[0], *x = &f->cols[1], *z = &f->cols[2], *w = &f->cols[3];
	struct frame_column *y = &f->cols[4], *pr = &f->cols[5], *pb = &f->cols[6];
	double a = o->share_a > 0 ? o->share_a : 1.0 / 3;
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double u = rng_uniform(&r);
		c->code[i] = u < a ? 0 : u < a + (1 - a) / 2 ? 1 : 2;
		x->num[i] = rng_normal(&r) + o->shift_x;
		z->num[i] = rng_normal(&r);
		w->num[i] = rng_normal(&r) + o->shift_w;
		int label = rng_uniform(&r) < 1 / (1 + exp(-3 * z->num[i]));
		if (o->flip && z->num[i] > 0.5)
			label = !label;
		int p = z->num[i] > 0;
		double u_model = rng_uniform(&r);   /* drawn on every row: the worlds share their rows */
		if (x->num[i] > 1 && u_model < 0.4)
			p = !p;
		y->code[i] = label;
		pr->code[i] = p;
		pb->num[i] = p ? 0.8 : 0.2;
	}
	return f;
}

static struct audit_config *config(void)
{
	struct audit_config *cfg = xmalloc(sizeof *cfg);
	config_init(cfg);
	cfg->pred = xstrdup("pred");
	cfg->proba = xstrdup("proba");
	cfg->label = xstrdup("y");
	free(cfg->backend);   /* config_init set "auto" */
	cfg->backend = xstrdup("cpu");
	return cfg;
}

struct run {
	struct audit_config *cfg;
	struct rc_data *d;
	struct rc_probes p;
	json_t *findings, *analysis;
};

/* Train, test and current from the given worlds; runs domain_run. */
static void run_domain(struct run *r, const struct world *wt, const struct world *ws, const struct world *wc,
		       size_t n_train, size_t n_eval)
{
	r->cfg = config();
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = gen("train", n_train, 101, wt);
	fr[1] = gen("test", n_eval, 202, ws);
	fr[2] = gen("current", n_eval, 303, wc);
	static const char *const cls[] = {"no", "yes"};
	r->d = rcdata_from_frames(r->cfg, fr, 3, cls, 2, 1);
	ck_assert_ptr_nonnull(r->d);
	ck_assert_int_eq(rcprobe_open(r->d, &r->p), 0);
	ck_assert_uint_gt(r->p.d, 0);
	r->findings = json_array();
	r->analysis = json_object();
	ck_assert_int_eq(domain_run(r->d, &r->p, r->findings, r->analysis), 0);
}

static void run_free(struct run *r)
{
	json_decref(r->findings);
	json_decref(r->analysis);
	rcprobe_close(&r->p);
	rcdata_free(r->d);
	config_free(r->cfg);
	free(r->cfg);
}

static json_t *entry_of(const struct run *r, const char *split)
{
	json_t *list = json_object_get(r->analysis, "domain"), *e;
	size_t i;
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "split")), split))
			return e;
	return NULL;
}

static json_t *finding_of(const struct run *r, const char *kind, const char *split)
{
	json_t *f;
	size_t i;
	json_array_foreach(r->findings, i, f) {
		const json_t *sub = json_object_get(f, "subject");
		if (!strcmp(json_string_value(json_object_get(f, "kind")), kind) &&
		    !strcmp(json_string_value(json_object_get(sub, "split")), split))
			return f;
	}
	return NULL;
}

static double num(const json_t *o, const char *key, const char *field)
{
	const json_t *e = json_object_get(o, key);
	ck_assert_msg(e != NULL, "no %s", key);
	const json_t *v = field ? json_object_get(e, field) : e;
	ck_assert_msg(json_is_number(v), "%s.%s is not a number", key, field ? field : "");
	return json_number_value(v);
}

static const char *driver(const json_t *entry, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(entry, "drivers"), i), "feature"));
}

/* ---- the analyses ---- */

START_TEST(same_distribution_no_finding)
{
	struct world same = {0};
	struct run r;
	run_domain(&r, &same, &same, &same, 4000, 2000);
	for (const char *split = "test"; split; split = strcmp(split, "test") ? NULL : "current") {
		json_t *e = entry_of(&r, split);
		ck_assert_ptr_nonnull(e);
		double lo = num(e, "auc", "ci_low"), hi = num(e, "auc", "ci_high");
		ck_assert_msg(lo <= 0.5 && hi >= 0.5, "%s: AUC interval %g-%g", split, lo, hi);
		ck_assert_uint_eq(json_integer_value(json_object_get(e, "held_out")), 1200);
		ck_assert_ptr_null(finding_of(&r, "data_drift", split));
		ck_assert_ptr_null(finding_of(&r, "concept_drift", split));
	}
	/* the covariate split: nothing moved, so nothing explained and nothing left */
	json_t *cov = json_object_get(entry_of(&r, "current"), "covariate");
	ck_assert_ptr_nonnull(cov);
	ck_assert_str_eq(json_string_value(json_object_get(cov, "metric")), "accuracy");
	ck_assert_str_eq(json_string_value(json_object_get(cov, "source")), "test");
	ck_assert(fabs(num(cov, "explained", "value")) < 0.02);
	ck_assert(num(cov, "unexplained", "ci_low") <= 0 && num(cov, "unexplained", "ci_high") >= 0);
	ck_assert(num(cov, "ess", NULL) > 1000);   /* weights near 1: ESS near the 2000 rows */
	json_t *dis = json_object_get(entry_of(&r, "current"), "disagreement");
	ck_assert_ptr_nonnull(dis);
	ck_assert(num(dis, "excess", "ci_low") <= 0);
	/* the test split gets no covariate or disagreement part */
	ck_assert_ptr_null(json_object_get(entry_of(&r, "test"), "covariate"));
	ck_assert_ptr_null(json_object_get(r.analysis, "domain_skipped"));
	run_free(&r);
}
END_TEST

START_TEST(shifted_feature_drives_data_drift)
{
	struct world same = {0}, w_moved = {.shift_w = 0.8}, c_moved = {.share_a = 0.6};
	struct run r;
	run_domain(&r, &same, &c_moved, &w_moved, 4000, 2000);
	/* current: w moved by 0.8 sd, AUC about 0.71 */
	json_t *e = entry_of(&r, "current");
	ck_assert_str_eq(driver(e, 0), "w");
	ck_assert(num(e, "auc", "value") > 0.65);
	json_t *first = json_array_get(json_object_get(e, "drivers"), 0);
	ck_assert(num(first, "auc_drop", "ci_low") > 0.1);
	json_t *second = json_array_get(json_object_get(e, "drivers"), 1);
	ck_assert(num(second, "auc_drop", "value") < 0.03);
	json_t *f = finding_of(&r, "data_drift", "current");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "subject"), "feature")), "(all features)");
	ck_assert_msg(strstr(json_string_value(json_object_get(f, "title")), "driven most by w"), "%s",
		      json_string_value(json_object_get(f, "title")));
	const char *sev = json_string_value(json_object_get(f, "severity"));
	ck_assert(!strcmp(sev, "medium") || !strcmp(sev, "high"));
	ck_assert(json_object_get(json_object_get(f, "evidence"), "rule"));
	/* test: c's share of "a" from 1/3 to 0.6: its one-hot columns, permuted as one, drive it */
	json_t *t = entry_of(&r, "test");
	ck_assert_str_eq(driver(t, 0), "c");
	ck_assert_ptr_nonnull(finding_of(&r, "data_drift", "test"));
	/* w did not move in test, c did not move in current */
	for (size_t i = 0; i < 5; i++) {
		const char *name = driver(t, i);
		if (name && !strcmp(name, "w"))
			ck_assert(num(json_array_get(json_object_get(t, "drivers"), i), "auc_drop", "value") < 0.03);
	}
	run_free(&r);
}
END_TEST

START_TEST(covariate_shift_explains_the_drop)
{
	struct world same = {0}, moved = {.shift_x = 1.5};
	struct run r;
	run_domain(&r, &same, &same, &moved, 4000, 4000);
	json_t *e = entry_of(&r, "current");
	ck_assert_str_eq(driver(e, 0), "x");
	json_t *cov = json_object_get(e, "covariate");
	ck_assert_ptr_nonnull(cov);
	/* the model errs where x > 1: its accuracy falls by about 18 points, all of it explained */
	double drop = num(cov, "source_value", "value") - num(cov, "observed", "value");
	ck_assert_msg(drop > 0.12, "drop %g", drop);
	double un = num(cov, "unexplained", "value");
	ck_assert_msg(fabs(un) < 0.04, "unexplained %g", un);
	ck_assert(num(cov, "explained", "value") > 0.7 * drop);
	ck_assert(num(cov, "ess", NULL) < 4000);
	json_t *f = finding_of(&r, "concept_drift", "current");
	ck_assert_msg(!f || strcmp(json_string_value(json_object_get(f, "severity")), "high"), "%s",
		      json_string_value(json_object_get(f, "title")));
	run_free(&r);
}
END_TEST

START_TEST(flipped_labels_are_concept_drift)
{
	struct world same = {0}, flipped = {.flip = 1};
	struct run r;
	run_domain(&r, &same, &same, &flipped, 4000, 4000);
	json_t *e = entry_of(&r, "current");
	/* x did not move: the domain classifier sees nothing */
	ck_assert(num(e, "auc", "ci_low") <= 0.55);
	ck_assert_ptr_null(finding_of(&r, "data_drift", "current"));
	json_t *cov = json_object_get(e, "covariate");
	/* a third of the rows (z > 0.5) flipped: about 23 points lost, none explained */
	ck_assert(fabs(num(cov, "explained", "value")) < 0.02);
	ck_assert_msg(num(cov, "unexplained", "ci_low") > 0.15, "unexplained from %g", num(cov, "unexplained", "ci_low"));
	json_t *dis = json_object_get(e, "disagreement");
	ck_assert(num(dis, "excess", "ci_low") > 0.1);
	ck_assert(num(dis, "train_probe_vs_current_probe", "value") > num(dis, "baseline", "ci_high"));
	json_t *f = finding_of(&r, "concept_drift", "current");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	json_t *ev = json_object_get(f, "evidence");
	ck_assert(json_object_get(json_object_get(ev, "covariate"), "unexplained"));
	ck_assert(json_object_get(json_object_get(ev, "disagreement"), "baseline"));
	ck_assert(json_integer_value(json_object_get(ev, "n")) > 0);
	run_free(&r);
}
END_TEST

START_TEST(tiny_split_is_skipped)
{
	struct world same = {0};
	struct run r;
	run_domain(&r, &same, &same, &same, 3000, 60);
	ck_assert_ptr_null(json_object_get(r.analysis, "domain"));
	const char *why = json_string_value(json_object_get(r.analysis, "domain_skipped"));
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, "test: 60 rows") && strstr(why, "current: 60 rows"), "%s", why);
	ck_assert_uint_eq(json_array_size(r.findings), 0);
	run_free(&r);
}
END_TEST

/* Three classes (z below -0.5, between, above 0.5, with 10% noise), the
 * model the thresholds themselves, wrong by one class 40% of the time where
 * x > 1; current moved in x. Every part runs, the numbers stay sane. */
static struct frame *gen3(const char *split, size_t n, uint64_t seed, double shift_x)
{
	static const char *const lmh[] = {"low", "mid", "high"};
	struct frame *f = tu_frame(split, n);
	tu_addcol(f, "x", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "z", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, lmh, 3);
	tu_addcol(f, "pred", COL_CATEGORICAL, ROLE_PREDICTION, lmh, 3);
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double x = rng_normal(&r) + shift_x, z = rng_normal(&r);
		int cls = z < -0.5 ? 0 : z < 0.5 ? 1 : 2, label = cls;
		if (rng_uniform(&r) < 0.1)
			label = (int)rng_below(&r, 3);
		int p = cls;
		if (x > 1 && rng_uniform(&r) < 0.4)
			p = (p + 1) % 3;
		f->cols[0].num[i] = x;
		f->cols[1].num[i] = z;
		f->cols[2].code[i] = label;
		f->cols[3].code[i] = p;
	}
	return f;
}

START_TEST(multiclass_runs_every_part)
{
	struct audit_config *cfg = config();
	free(cfg->proba);
	cfg->proba = NULL;
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = gen3("train", 3000, 11, 0);
	fr[1] = gen3("test", 1500, 12, 0);
	fr[2] = gen3("current", 1500, 13, 1.5);
	static const char *const cls[] = {"low", "mid", "high"};
	struct run r = {.cfg = cfg};
	r.d = rcdata_from_frames(cfg, fr, 3, cls, 3, -1);
	ck_assert_ptr_nonnull(r.d);
	ck_assert_int_eq(rcprobe_open(r.d, &r.p), 0);
	r.findings = json_array();
	r.analysis = json_object();
	ck_assert_int_eq(domain_run(r.d, &r.p, r.findings, r.analysis), 0);
	json_t *e = entry_of(&r, "current");
	ck_assert_str_eq(driver(e, 0), "x");
	json_t *cov = json_object_get(e, "covariate"), *dis = json_object_get(e, "disagreement");
	ck_assert_ptr_nonnull(cov);
	ck_assert_ptr_nonnull(dis);
	double drop = num(cov, "source_value", "value") - num(cov, "observed", "value");
	ck_assert_msg(drop > 0.1, "drop %g", drop);
	ck_assert_msg(fabs(num(cov, "unexplained", "value")) < 0.05, "unexplained %g", num(cov, "unexplained", "value"));
	double ab = num(dis, "baseline", "value");
	ck_assert(ab >= 0 && ab < 0.3);
	run_free(&r);
}
END_TEST

Suite *domain_suite(void)
{
	Suite *s = suite_create("domain");
	TCase *tc = tcase_create("domain");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, placements_match_brute_force);
	tcase_add_test(tc, same_distribution_no_finding);
	tcase_add_test(tc, shifted_feature_drives_data_drift);
	tcase_add_test(tc, covariate_shift_explains_the_drop);
	tcase_add_test(tc, flipped_labels_are_concept_drift);
	tcase_add_test(tc, tiny_split_is_skipped);
	tcase_add_test(tc, multiclass_runs_every_part);
	suite_add_tcase(s, tc);
	return s;
}
