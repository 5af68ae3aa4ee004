/* test_represent.c - underrepresented slices and their learning curves.
 *
 * - slice texts read back into conditions (ranges, sets, missing, names with
 *   " and " in them) and the row counts they give;
 * - the log-linear fit and the rows it says are needed, on exact points;
 * - frames built here, run through slices_run and represent_run:
 *   (a) a segment value 2% of train and 20% of test, with its own decision
 *       rule the model never learnt: an underrepresented_slice whose curve
 *       rises and whose rows_needed is finite;
 *   (b) a segment as common in train as in test with a high error rate: no
 *       underrepresented_slice;
 *   (c) a rare segment whose labels are coin flips: flagged, but the curve is
 *       flat and rows_needed is null;
 *   (d) a segment with too few train rows for fractions of them: its curve
 *       is test's rows added, rising. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/ingest/frame.h"
#include "stages/rootcause/rcdata.h"
#include "stages/rootcause/rcprobe.h"
#include "stages/rootcause/represent.h"
#include "stages/rootcause/slicecond.h"
#include "stages/rootcause/slices.h"
#include "tests/unit/testutil.h"

/* ---- frames ---- */

static const char *const yes_no[] = {"no", "yes"};
static const char *const segs[] = {"a", "b"};

enum rule_b {
	B_OWN_RULE,   /* in seg=b the label follows x2, not x1 */
	B_NOISE,      /* in seg=b the label is a coin flip */
	B_FLIPS       /* in seg=b the label follows x1, but the model's prediction is flipped 40% of the time */
};

/* Rows with seg (b with probability share_b), x1, x2 ~ U(-1, 1), a label and
 * the model's prediction. The label is x1 > 0 in seg=a, flipped 5% of the
 * time; the model predicts x1 > 0 everywhere (what it learnt from a train
 * where seg=b is rare), so it errs on the 5% of flips in seg=a and on what
 * rule_b plants in seg=b. */
static struct frame *frame_of(const char *split, size_t n, double share_b, enum rule_b rule, uint64_t seed)
{
	struct frame *f = tu_frame(split, n);
	tu_addcol(f, "seg", COL_CATEGORICAL, ROLE_SEGMENT, segs, 2);
	tu_addcol(f, "x1", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "x2", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, yes_no, 2);
	tu_addcol(f, "pred", COL_CATEGORICAL, ROLE_PREDICTION, yes_no, 2);
	tu_addcol(f, "proba", COL_NUMERIC, ROLE_PROBA, NULL, 0);
	struct frame_column *seg = &f->cols[0], *x1 = &f->cols[1], *x2 = &f->cols[2], *y = &f->cols[3];
	struct frame_column *pr = &f->cols[4], *pb = &f->cols[5];
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		int b = rng_uniform(&r) < share_b;
		seg->code[i] = b;
		x1->num[i] = 2 * rng_uniform(&r) - 1;
		x2->num[i] = 2 * rng_uniform(&r) - 1;
		int label = x1->num[i] > 0, pred = label;
		if (!b || rule == B_FLIPS)
			label ^= rng_uniform(&r) < 0.05;
		else if (rule == B_OWN_RULE)
			label = (x1->num[i] > 0) == (x2->num[i] > 0);
		else
			label = rng_uniform(&r) < 0.5;
		if (b && rule == B_FLIPS)
			pred ^= rng_uniform(&r) < 0.4;
		y->code[i] = label;
		pr->code[i] = pred;
		pb->num[i] = pred ? 0.9 : 0.1;
	}
	return f;
}

static struct audit_config *config_new(void)
{
	struct audit_config *c = xmalloc(sizeof *c);
	config_init(c);
	c->pred = xstrdup("pred");
	c->proba = xstrdup("proba");
	c->label = xstrdup("y");
	free(c->backend);   /* config_init set "auto" */
	c->backend = xstrdup("cpu");
	return c;
}

static void config_del(struct audit_config *c)
{
	config_free(c);
	free(c);
}

static struct rc_data *data_of(const struct audit_config *cfg, double train_b, double test_b, enum rule_b rule)
{
	struct frame **fr = xmalloc(2 * sizeof *fr);
	fr[0] = frame_of("train", 10000, train_b, rule, 21);
	fr[1] = frame_of("test", 5000, test_b, rule, 22);
	static const char *const cls[] = {"no", "yes"};
	struct rc_data *d = rcdata_from_frames(cfg, fr, 2, cls, 2, 1);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* slices_run then represent_run, as the stage runs them. */
static void run_both(struct rc_data *d, json_t *findings, json_t *analysis)
{
	struct rc_probes p;
	ck_assert_int_eq(rcprobe_open(d, &p), 0);
	struct strbuf csv;
	sb_init(&csv);
	ck_assert_int_eq(slices_run(d, findings, &csv, analysis), 0);
	ck_assert_msg(represent_run(d, &p, findings, analysis) == 0, "represent_run: %s", mla_error_message());
	sb_free(&csv);
	rcprobe_close(&p);
}

static json_t *finding_of(json_t *findings, const char *kind, const char *slice)
{
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const char *k = json_string_value(json_object_get(f, "kind"));
		const char *s = json_string_value(json_object_get(json_object_get(f, "subject"), "slice"));
		if (k && !strcmp(k, kind) && (!slice || (s && !strcmp(s, slice))))
			return f;
	}
	return NULL;
}

static json_t *entry_of(json_t *analysis, const char *slice)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(analysis, "underrepresented"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "slice")), slice))
			return e;
	return NULL;
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static double est(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(json_object_get(o, key), "value"));
}

/* ---- reading slice texts back ---- */

static const char *const odd_levels[] = {"r and d", "sales", "a, b", "a"};

START_TEST(slice_texts_read_back)
{
	struct audit_config *cfg = config_new();
	struct frame **fr = xmalloc(2 * sizeof *fr);
	for (int s = 0; s < 2; s++) {
		struct frame *f = frame_of(s ? "test" : "train", 400, 0.3, B_OWN_RULE, 5 + (uint64_t)s);
		/* a department column whose levels hold " and " and ", ", and missing x2 */
		tu_addcol(f, "dept", COL_CATEGORICAL, ROLE_FEATURE, odd_levels, 4);
		struct frame_column *dept = &f->cols[f->ncols - 1];
		for (size_t i = 0; i < f->nrows; i++) {
			dept->code[i] = (int32_t)(i % 5) - 1;   /* -1 = missing every fifth row */
			if (i % 7 == 0)
				f->cols[2].num[i] = NAN;
		}
		fr[s] = f;
	}
	static const char *const cls[] = {"no", "yes"};
	struct rc_data *d = rcdata_from_frames(cfg, fr, 2, cls, 2, 1);
	ck_assert_ptr_nonnull(d);
	static const char *const texts[] = {
		"x1 in [-0.5, 0.25) and seg=b",
		"x2 >= -0.25 and dept=r and d",
		"dept in {r and d, a, b} (or missing)",
		"dept not in {a, b, a}",
		"x2 is missing",
		"x1 < 0.5 (or missing) and x2 = 0.125",
		"seg=b and dept=a",
	};
	static const size_t nconds[] = {2, 2, 1, 1, 1, 2, 2};
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		struct slice_cond *c;
		size_t n;
		ck_assert_msg(slicecond_parse(d, texts[t], &c, &n) == 0, "'%s' did not parse", texts[t]);
		ck_assert_msg(n == nconds[t], "'%s': %zu conditions", texts[t], n);
		/* written again, it is the same text */
		struct strbuf sb;
		sb_init(&sb);
		for (size_t k = 0; k < n; k++) {
			if (k)
				sb_puts(&sb, " and ");
			slicecond_text(d, &c[k], &sb);
		}
		ck_assert_str_eq(sb.data, texts[t]);
		sb_free(&sb);
		for (size_t k = 0; k < n; k++)
			slicecond_free(&c[k]);
		free(c);
	}
	/* the rows it selects: "dept=r and d" is level 0, rows i % 5 == 1 */
	struct slice_cond *c;
	size_t n;
	ck_assert_int_eq(slicecond_parse(d, "dept=r and d", &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(slicecond_count(d, c, n, 0), 80);
	slicecond_free(&c[0]);
	free(c);
	/* texts that name no column, or a level that does not exist */
	ck_assert_int_eq(slicecond_parse(d, "region=west", &c, &n), -1);
	ck_assert_int_eq(slicecond_parse(d, "dept=marketing", &c, &n), -1);
	ck_assert_int_eq(slicecond_parse(d, "x1 in [0.5, 1.2", &c, &n), -1);
	ck_assert_int_eq(slicecond_parse(d, "seg=b and ", &c, &n), -1);
	rcdata_free(d);
	config_del(cfg);
}
END_TEST

/* ---- the fit ---- */

START_TEST(log_linear_fit_and_rows_needed)
{
	/* accuracy 0.5 + 0.05 log2(n): exact points */
	double rows[] = {25, 50, 100, 200, 300, 400}, acc[6], var[] = {1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4};
	for (int i = 0; i < 6; i++)
		acc[i] = 0.5 + 0.05 * log2(rows[i]);
	struct represent_fit f;
	ck_assert_int_eq(represent_fit_curve(rows, acc, var, 4, &f), 0);
	ck_assert(fabs(f.slope - 0.05) < 1e-12 && fabs(f.intercept - 0.5) < 1e-12);
	/* se = sqrt(1 / sum w (x - xbar)^2): x = 4.64..7.64, sum (x - xbar)^2 = 5 */
	ck_assert(fabs(f.slope_se - sqrt(1e-4 / 5)) < 1e-12);
	ck_assert(f.rising);
	enum represent_verdict v;
	/* the four train points, full = 3 (200 rows, 0.882); reaching means within
	 * REP_CLOSE of the target: one doubling on is 400 */
	double at200 = acc[3];
	ck_assert(fabs(represent_read_curve(rows, acc, var, 4, 3, at200 + 0.05 + REP_CLOSE, &f, &v) - 400) < 1e-6);
	ck_assert_int_eq(v, REP_RISING);
	/* the fit used the three largest points only: same line here */
	ck_assert(fabs(f.slope - 0.05) < 1e-12);
	/* already there: enough, at the full point's rows */
	ck_assert(represent_read_curve(rows, acc, var, 4, 3, at200 - 0.1, &f, &v) == 200);
	ck_assert_int_eq(v, REP_ENOUGH);
	ck_assert(represent_read_curve(rows, acc, var, 4, 3, at200 + 0.015, &f, &v) == 200);
	ck_assert_int_eq(v, REP_ENOUGH);
	/* seven doublings away: too far to extrapolate */
	ck_assert(isnan(represent_read_curve(rows, acc, var, 4, 3, at200 + 0.35 + REP_CLOSE, &f, &v)));
	ck_assert_int_eq(v, REP_RISING);
	/* reached between the extension points 300 and 400: interpolated on log2(rows) */
	double mid = 0.5 + 0.05 * log2(350.0);
	ck_assert(fabs(represent_read_curve(rows, acc, var, 6, 3, mid + REP_CLOSE, &f, &v) - 350) < 1);
	ck_assert_int_eq(v, REP_RISING);
	/* a flat curve: noise around 0.5 with wide intervals, never reaching 0.9 */
	double flat[] = {0.51, 0.49, 0.52, 0.50, 0.51, 0.50}, wide[] = {2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4};
	ck_assert(isnan(represent_read_curve(rows, flat, wide, 6, 3, 0.9, &f, &v)));
	ck_assert_int_eq(v, REP_FLAT);
	ck_assert(!f.rising);
	/* the same over a few dozen rows says too little */
	double few[] = {4, 8, 16, 32};
	ck_assert(isnan(represent_read_curve(few, flat, wide, 4, 3, 0.9, &f, &v)));
	ck_assert_int_eq(v, REP_INCONCLUSIVE);
	/* a first jump, then flat short of the target: it levels off where it
	 * comes within REP_CLOSE of its best, 0.78: 25 * 2^(0.28 / 0.30) rows */
	double jump[] = {0.50, 0.80, 0.80, 0.80};
	double lv = represent_read_curve(rows, jump, wide, 4, 3, 0.9, &f, &v);
	ck_assert_int_eq(v, REP_LEVELS);
	ck_assert(!f.rising);
	ck_assert_msg(fabs(lv - ceil(25 * exp2(0.28 / 0.30))) < 1e-9, "levels off at %g rows", lv);
	/* one row count only: no line */
	double same[] = {50, 50};
	ck_assert_int_eq(represent_fit_curve(same, flat, wide, 2, &f), -1);
	ck_assert(isnan(represent_read_curve(same, flat, wide, 2, 1, 0.9, &f, &v)));
	ck_assert_int_eq(v, REP_NOT_MEASURED);
}
END_TEST

/* ---- the analysis on planted frames ---- */

START_TEST(rare_segment_with_its_own_rule_rises)
{
	struct audit_config *cfg = config_new();
	struct rc_data *d = data_of(cfg, 0.005, 0.20, B_OWN_RULE);
	json_t *findings = json_array(), *analysis = json_object();
	run_both(d, findings, analysis);
	json_t *f = finding_of(findings, "underrepresented_slice", "seg=b");
	ck_assert_msg(f != NULL, "no underrepresented_slice for seg=b: %s",
		      json_dumps(json_object_get(analysis, "underrepresented_method"), 0));
	json_t *ev = json_object_get(f, "evidence");
	/* shares: about 0.5% of train, 20% of test */
	ck_assert_msg(est(ev, "train_share") > 0.0025 && est(ev, "train_share") < 0.0075, "train share %g",
		      est(ev, "train_share"));
	ck_assert_msg(num(ev, "split_share") > 0.17 && num(ev, "split_share") < 0.23, "split share %g",
		      num(ev, "split_share"));
	ck_assert(est(ev, "error_rate") > 0.4 && est(ev, "rest_error_rate") < 0.08);
	ck_assert(num(ev, "q_value") < 1e-10);
	/* the curve: four train points and three with test's rows added, rising from about the model's 50% */
	json_t *curve = json_object_get(ev, "curve");
	ck_assert_uint_eq(json_array_size(curve), 7);
	double first = est(json_array_get(curve, 0), "accuracy"), full = est(json_array_get(curve, 3), "accuracy");
	double last = est(json_array_get(curve, 6), "accuracy");
	long long r0 = json_integer_value(json_object_get(json_array_get(curve, 0), "train_rows"));
	long long r3 = json_integer_value(json_object_get(json_array_get(curve, 3), "train_rows"));
	long long r6 = json_integer_value(json_object_get(json_array_get(curve, 6), "train_rows"));
	ck_assert_msg(r3 >= 6 * r0 && r3 <= 10 * r0 && r3 >= REP_MIN_CURVE_ROWS, "curve rows %lld .. %lld", r0, r3);
	/* more rows of it, train's then test's, teach the probes its rule */
	ck_assert_msg(last > first + 0.2 && last >= full, "curve %g -> %g -> %g", first, full, last);
	json_t *ext = json_array_get(curve, 6);
	ck_assert_str_eq(json_string_value(json_object_get(ext, "added_from")), "test");
	ck_assert_int_eq(json_integer_value(json_object_get(ext, "from_train")) +
			 json_integer_value(json_object_get(ext, "added_rows")), r6);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "curve_verdict")), "rising");
	json_t *fit = json_object_get(ev, "curve_fit");
	ck_assert(num(fit, "slope_per_doubling") > 0);
	json_t *need = json_object_get(ev, "rows_needed");
	ck_assert_msg(json_is_integer(need), "rows_needed is not a number: %s",
		      json_string_value(json_object_get(f, "title")));
	/* more than train has, and within the extrapolation bound */
	ck_assert(json_integer_value(need) > r3 && json_integer_value(need) <= 64 * r6);
	ck_assert(json_integer_value(json_object_get(ev, "rows_more")) > 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "step")), 3);
	/* the analysis entry as contracts.md has it, pointing at the finding */
	json_t *e = entry_of(analysis, "seg=b");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "eval_split")), "test");
	ck_assert(num(e, "share_train") < 0.5 * num(e, "share_eval"));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rows_train")),
			 json_integer_value(json_object_get(ev, "train_rows")));
	ck_assert_uint_eq(json_array_size(json_object_get(e, "curve")), 7);
	ck_assert(json_equal(json_object_get(e, "rows_needed"), need));
	ck_assert_str_eq(json_string_value(json_object_get(e, "finding")), json_string_value(json_object_get(f, "id")));
	ck_assert(json_is_object(json_object_get(e, "error_rate")) &&
		  json_is_object(json_object_get(e, "error_rate_elsewhere")));
	/* seg=a is most of both splits: not a candidate that passes */
	ck_assert_ptr_null(entry_of(analysis, "seg=a"));
	/* error slices inside seg=b are listed within it, without findings of their own */
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(analysis, "underrepresented"), i, x) {
		const char *t = json_string_value(json_object_get(x, "slice"));
		if (strncmp(t, "seg=b and ", 10))
			continue;
		ck_assert_str_eq(json_string_value(json_object_get(x, "within")), "seg=b");
		ck_assert(json_is_null(json_object_get(x, "finding")));
		ck_assert_ptr_null(finding_of(findings, "underrepresented_slice", t));
	}
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	config_del(cfg);
}
END_TEST

START_TEST(equally_represented_segment_is_not_flagged)
{
	struct audit_config *cfg = config_new();
	struct rc_data *d = data_of(cfg, 0.20, 0.20, B_FLIPS);
	json_t *findings = json_array(), *analysis = json_object();
	run_both(d, findings, analysis);
	/* the model does err there: slices_run lists it ... */
	ck_assert_ptr_nonnull(finding_of(findings, "error_slice", "seg=b"));
	/* ... but train holds as much of it as test: not underrepresented */
	ck_assert_ptr_null(finding_of(findings, "underrepresented_slice", NULL));
	json_t *list = json_object_get(analysis, "underrepresented");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), 0);
	json_t *m = json_object_get(analysis, "underrepresented_method");
	ck_assert(json_integer_value(json_object_get(m, "candidates")) >= 2);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "flagged")), 0);
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	config_del(cfg);
}
END_TEST

START_TEST(rare_noisy_segment_has_a_flat_curve)
{
	struct audit_config *cfg = config_new();
	struct rc_data *d = data_of(cfg, 0.02, 0.20, B_NOISE);
	json_t *findings = json_array(), *analysis = json_object();
	run_both(d, findings, analysis);
	json_t *f = finding_of(findings, "underrepresented_slice", "seg=b");
	ck_assert_ptr_nonnull(f);
	json_t *ev = json_object_get(f, "evidence");
	ck_assert_uint_eq(json_array_size(json_object_get(ev, "curve")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "curve_verdict")), "flat");
	ck_assert(json_is_null(json_object_get(ev, "rows_needed")));
	/* every point near a coin's 50% */
	size_t i;
	json_t *pt;
	json_array_foreach(json_object_get(ev, "curve"), i, pt) {
		double a = est(pt, "accuracy");
		ck_assert_msg(a > 0.42 && a < 0.58, "point %zu: %g", i, a);
	}
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "low");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(f, "title")), "labels and features"));
	json_t *e = entry_of(analysis, "seg=b");
	ck_assert(json_is_null(json_object_get(e, "rows_needed")));
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	config_del(cfg);
}
END_TEST

START_TEST(segment_almost_absent_from_train_gets_a_curve_from_test)
{
	/* 0.2% of 10,000 train rows: too few for fractions, so the curve is the
	 * one point on them and test's rows added */
	struct audit_config *cfg = config_new();
	struct rc_data *d = data_of(cfg, 0.002, 0.20, B_OWN_RULE);
	json_t *findings = json_array(), *analysis = json_object();
	run_both(d, findings, analysis);
	json_t *f = finding_of(findings, "underrepresented_slice", "seg=b");
	ck_assert_ptr_nonnull(f);
	json_t *ev = json_object_get(f, "evidence"), *curve = json_object_get(ev, "curve");
	ck_assert(json_integer_value(json_object_get(ev, "train_rows")) < REP_MIN_CURVE_ROWS);
	ck_assert_uint_eq(json_array_size(curve), 1 + REP_EXT_POINTS);
	ck_assert(num(json_array_get(curve, 0), "fraction") == 1.0);
	ck_assert(json_integer_value(json_object_get(json_array_get(curve, 3), "added_rows")) >= 400);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "curve_verdict")), "rising");
	ck_assert(json_is_integer(json_object_get(ev, "rows_needed")));
	ck_assert(json_integer_value(json_object_get(ev, "rows_more")) > 0);
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	config_del(cfg);
}
END_TEST

Suite *represent_suite(void)
{
	Suite *s = suite_create("represent");
	TCase *tc = tcase_create("represent");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, slice_texts_read_back);
	tcase_add_test(tc, log_linear_fit_and_rows_needed);
	tcase_add_test(tc, rare_segment_with_its_own_rule_rises);
	tcase_add_test(tc, equally_represented_segment_is_not_flagged);
	tcase_add_test(tc, rare_noisy_segment_has_a_flat_curve);
	tcase_add_test(tc, segment_almost_absent_from_train_gets_a_curve_from_test);
	suite_add_tcase(s, tc);
	return s;
}
