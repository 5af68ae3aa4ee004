/* test_whatif.c - measured effects of mitigations (stages/mitigate/whatif.c)
 * on frames built here:
 *  - the metric on counted rows equals metrics.h's on every metric name;
 *  - slices parse from their text and match the rows counted by hand;
 *  - label suspects are matched to train rows by id, not when the label differs;
 *  - (a) 20% of train labels flipped (positives turned negative), the flipped
 *    rows given as suspects: relabel's delta is above 0 with its interval;
 *  - (b) a pure-noise feature removed: the delta's interval covers 0;
 *  - (c) current's labels follow another rule: retrain_recent's delta > 0;
 *  - the order: measured gains first among the measured, others in place. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/evaluate/metrics.h"
#include "stages/ingest/frame.h"
#include "stages/mitigate/whatif.h"
#include "stages/rootcause/rcdata.h"
#include "stages/rootcause/rcprobe.h"
#include "tests/unit/testutil.h"

/* ---- frames built here ---- */

static const char *const yes_no[] = {"no", "yes"};
static const char *const segs[] = {"a", "b", "c"};

enum rule { RULE_SUM, RULE_DIFF };

/* Rows with an id ("r<i>"), seg in a..c, x1, x2 ~ N(0, 1), noise ~ U(0, 1)
 * and y: yes with probability sigmoid(3 t), t = x1 + x2 (RULE_SUM) or
 * x1 - x2 (RULE_DIFF). */
static struct frame *world(const char *split, size_t n, uint64_t seed, enum rule rule)
{
	struct frame *f = tu_frame(split, n);
	char **ids = xmalloc(n * sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = xasprintf("r%zu", i);
	tu_addcol(f, "id", COL_CATEGORICAL, ROLE_ID, (const char *const *)ids, n);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	tu_addcol(f, "seg", COL_CATEGORICAL, ROLE_SEGMENT, segs, 3);
	tu_addcol(f, "x1", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "x2", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "noise", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, yes_no, 2);
	struct frame_column *id = &f->cols[0], *seg = &f->cols[1], *x1 = &f->cols[2], *x2 = &f->cols[3];
	struct frame_column *nz = &f->cols[4], *y = &f->cols[5];
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		id->code[i] = (int32_t)i;
		seg->code[i] = (int32_t)rng_below(&r, 3);
		x1->num[i] = rng_normal(&r);
		x2->num[i] = rng_normal(&r);
		nz->num[i] = rng_uniform(&r);
		double t = rule == RULE_SUM ? x1->num[i] + x2->num[i] : x1->num[i] - x2->num[i];
		y->code[i] = rng_uniform(&r) < 1 / (1 + exp(-3 * t));
	}
	return f;
}

static struct audit_config *config(void)
{
	struct audit_config *c = xmalloc(sizeof *c);
	config_init(c);
	c->label = xstrdup("y");
	c->id = xstrdup("id");
	free(c->backend);
	c->backend = xstrdup("cpu");
	return c;
}

static void free_config(struct audit_config *c)
{
	config_free(c);
	free(c);
}

static struct rc_data *data_of(struct audit_config *cfg, struct frame **fr, size_t nf)
{
	struct frame **a = xmalloc(nf * sizeof *a);
	memcpy(a, fr, nf * sizeof *a);
	struct rc_data *d = rcdata_from_frames(cfg, a, nf, yes_no, 2, 1);
	ck_assert_ptr_nonnull(d);
	return d;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%d: %s", e.line, e.text);
	return j;
}

static const json_t *effect(const json_t *plan, size_t i)
{
	const json_t *e = json_object_get(json_array_get(json_object_get(plan, "mitigations"), i), "measured_effect");
	ck_assert_msg(json_is_object(e), "no measured_effect: %s",
		      json_dumps(json_object_get(plan, "whatif"), JSON_COMPACT));
	return e;
}

static double est(const json_t *e, const char *key, const char *field)
{
	const json_t *v = json_object_get(json_object_get(e, key), field);
	ck_assert_msg(json_is_number(v), "%s.%s missing", key, field);
	return json_number_value(v);
}

static struct whatif_opts opts(int width, const char *suspects)
{
	return (struct whatif_opts){.width = width, .suspects_path = suspects, .seed = 7, .max_rows = RCPROBE_MAX_ROWS,
				    .replicates = WHATIF_REPLICATES};
}

/* ---- the metric ---- */

START_TEST(metric_matches_metrics_h)
{
	static const char *const names[] = {"accuracy", "balanced_accuracy", "precision", "recall", "f1",
					    "macro_precision", "macro_recall", "macro_f1", "roc_auc", "pr_auc",
					    "log_loss", "brier", "ece", NULL};
	struct rng r;
	rng_seed(&r, 3);
	for (int k = 2; k <= 3; k++) {
		size_t n = 700;
		int32_t *y = xmalloc(n * sizeof *y);
		int *yi = xmalloc(n * sizeof *yi), *pi = xmalloc(n * sizeof *pi);
		float *p = xmalloc(n * (size_t)k * sizeof *p);
		double *pd = xmalloc(n * (size_t)k * sizeof *pd);
		for (size_t i = 0; i < n; i++) {
			y[i] = (int32_t)rng_below(&r, (uint64_t)k);
			double s = 0;
			for (int c = 0; c < k; c++) {
				/* rounded to 0.05 so ties exercise the grouping */
				p[i * k + c] = (float)(round(20 * (rng_uniform(&r) + (c == y[i]) * 0.6)) / 20 + 0.01);
				s += p[i * k + c];
			}
			int b = 0;
			for (int c = 0; c < k; c++) {
				p[i * k + c] = (float)(p[i * k + c] / s);
				if (p[i * k + c] > p[i * k + b])
					b = c;
			}
			for (int c = 0; c < k; c++)
				pd[i * k + c] = p[i * k + c];
			yi[i] = y[i];
			pi[i] = b;
		}
		int positive = k == 2 ? 1 : -1;
		struct eval_input in = {.n = n, .nclasses = k, .y = yi, .pred = pi, .proba = pd, .positive = positive, .seed = 1};
		struct eval_metrics m;
		ck_assert_int_eq(metrics_compute(&in, &m), 0);
		for (int j = 0; names[j]; j++) {
			double want = metrics_get(&m, names[j])->value;
			double got = whatif_metric(names[j], y, p, n, k, positive, NULL, NULL);
			ck_assert_msg(fabs(got - want) < 1e-6, "k=%d %s: %.9g vs metrics.h %.9g", k, names[j], got, want);
		}
		/* counting a row twice is the same as listing it twice */
		uint32_t *count = xmalloc(n * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[i] = i < 100 ? 2 : 1;
		size_t n2 = n + 100;
		int32_t *y2 = xmalloc(n2 * sizeof *y2);
		float *p2 = xmalloc(n2 * (size_t)k * sizeof *p2);
		memcpy(y2, y, n * sizeof *y);
		memcpy(y2 + n, y, 100 * sizeof *y);
		memcpy(p2, p, n * (size_t)k * sizeof *p);
		memcpy(p2 + n * k, p, 100 * (size_t)k * sizeof *p);
		for (int j = 0; names[j]; j++) {
			double a = whatif_metric(names[j], y, p, n, k, positive, count, NULL);
			double b = whatif_metric(names[j], y2, p2, n2, k, positive, NULL, NULL);
			ck_assert_msg(fabs(a - b) < 1e-9, "k=%d %s counted: %.9g vs listed %.9g", k, names[j], a, b);
		}
		ck_assert(isnan(whatif_metric("no_such_metric", y, p, n, k, positive, NULL, NULL)));
		metrics_free(&m);
		free(count);
		free(y2);
		free(p2);
		free(y);
		free(yi);
		free(pi);
		free(p);
		free(pd);
	}
}
END_TEST

/* ---- slices ---- */

START_TEST(slices_parse_and_match)
{
	struct audit_config *cfg = config();
	struct frame *fr[2] = {world("train", 600, 1, RULE_SUM), world("test", 300, 2, RULE_SUM)};
	struct frame *tr = fr[0];
	tr->cols[2].num[5] = NAN;  /* one missing x1 */
	struct rc_data *d = data_of(cfg, fr, 2);
	uint8_t *in = xmalloc(600);
	size_t want[6] = {0};
	for (size_t i = 0; i < 600; i++) {
		int seg = tr->cols[1].code[i];
		double x1 = tr->cols[2].num[i];
		want[0] += seg == 2 && x1 >= 0.5;
		want[1] += x1 >= 0 && x1 < 1;
		want[2] += seg == 0 || seg == 1;
		want[3] += seg != 0;
		want[4] += x1 < 0 || isnan(x1);
		want[5] += isnan(x1) != 0;
	}
	static const char *const texts[] = {"seg=c and x1 >= 0.5", "x1 in [0, 1)", "seg in {a, b}", "seg not in {a}",
					    "x1 < 0 (or missing)", "x1 is missing"};
	for (int c = 0; c < 6; c++) {
		long got = whatif_slice_rows(d, texts[c], 0, in);
		ck_assert_msg(got == (long)want[c], "%s: %ld rows, want %zu", texts[c], got, want[c]);
	}
	/* a name no column has, a level no column has, a malformed range */
	ck_assert_int_eq(whatif_slice_rows(d, "region=west", 0, in), -1);
	ck_assert_int_eq(whatif_slice_rows(d, "seg=z", 0, in), -1);
	ck_assert_int_eq(whatif_slice_rows(d, "x1 in [0, 1", 0, in), -1);
	free(in);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

/* ---- label suspects ---- */

/* A label_issues.csv.gz naming train rows `rows` by id with label `given`. */
static char *write_issues(const char *dir, const struct frame *tr, const uint8_t *flip, size_t n, int wrong_label_at)
{
	char *path = xasprintf("%s/label_issues.csv.gz", dir);
	gzFile gz = gzopen(path, "wb");
	ck_assert_ptr_nonnull(gz);
	gzputs(gz, "id,given_label,suggested_label,self_confidence\n");
	int yc = frame_find(tr, "y");
	for (size_t i = 0; i < n; i++) {
		if (!flip[i])
			continue;
		int g = tr->cols[yc].code[i];
		if ((long)i == wrong_label_at)
			g = !g;
		gzprintf(gz, "r%zu,%s,%s,0.1\n", i, yes_no[g], yes_no[!g]);
	}
	gzclose(gz);
	return path;
}

/* Turn 20% of train's rows from yes to no (the first yes rows of a seeded
 * order): a noise that moves the probe's boundary, as a class-dependent
 * labelling error does. Marks them in flip. */
static size_t flip_positives(struct frame *tr, uint8_t *flip, uint64_t seed)
{
	int yc = frame_find(tr, "y");
	size_t n = tr->nrows, want = n / 5, done = 0;
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n && done < want; i++)
		if (tr->cols[yc].code[i] == 1 && rng_uniform(&r) < 0.5) {
			tr->cols[yc].code[i] = 0;
			flip[i] = 1;
			done++;
		}
	return done;
}

START_TEST(relabel_of_flipped_labels_gains)
{
	char tmpl[] = "/tmp/mla-whatif-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(dir);
	struct audit_config *cfg = config();
	size_t n = 4000;
	struct frame *fr[2] = {world("train", n, 11, RULE_SUM), world("test", 3000, 12, RULE_SUM)};
	uint8_t *flip = xcalloc(n, 1);
	size_t flipped = flip_positives(fr[0], flip, 5);
	ck_assert_uint_eq(flipped, n / 5);
	/* row 3's listed label is not its label: it must not be marked */
	long wrong = -1;
	for (size_t i = 0; i < n && wrong < 0; i++)
		if (flip[i])
			wrong = (long)i;
	char *issues = write_issues(dir, fr[0], flip, n, wrong);
	struct rc_data *d = data_of(cfg, fr, 2);

	uint8_t *mark = xcalloc(n, 1);
	ck_assert_int_eq(whatif_read_suspects(d, issues, mark), (long)flipped - 1);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(mark[i], flip[i] && (long)i != wrong);
	free(mark);

	struct rc_probes p;
	ck_assert_int_eq(rcprobe_open(d, &p), 0);
	json_t *findings = parse("[{\"id\": \"F-noise\", \"kind\": \"label_noise\", \"subject\": {\"split\": \"train\"}},"
				 " {\"id\": \"F-other\", \"kind\": \"capacity\", \"subject\": {\"split\": \"test\"}}]");
	json_t *plan = parse("{\"mitigations\": [{\"id\": \"M-cap\", \"action\": \"increase_capacity\", \"text\": \"t\","
			     " \"addresses\": [\"F-other\"]}, {\"id\": \"M-relabel\", \"action\": \"relabel\","
			     " \"text\": \"t\", \"addresses\": [\"F-noise\"]}]}");
	ck_assert(whatif_wanted(plan, findings));
	struct whatif_opts o = opts(0, issues);
	ck_assert_int_eq(whatif_measure(d, &p, findings, &o, plan), 0);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(plan, "mitigations"), 0), "measured_effect"));
	const json_t *e = effect(plan, 1);
	double delta = est(e, "delta", "value"), lo = est(e, "delta", "ci_low");
	ck_assert_str_eq(json_string_value(json_object_get(e, "metric")), "accuracy");
	ck_assert_str_eq(json_string_value(json_object_get(e, "split")), "test");
	ck_assert_msg(delta > 0 && lo > 0, "relabel delta %.4f [%.4f, %.4f]", delta, lo, est(e, "delta", "ci_high"));
	ck_assert(fabs(est(e, "after", "value") - est(e, "before", "value") - delta) < 1e-12);
	ck_assert(strstr(json_string_value(json_object_get(e, "how")), "799 label suspects"));
	whatif_order(plan);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(plan, "mitigations"), 1),
							    "priority")), 2);

	json_decref(plan);
	json_decref(findings);
	rcprobe_close(&p);
	rcdata_free(d);
	free_config(cfg);
	unlink(issues);
	free(issues);
	rmdir(dir);
	free(flip);
}
END_TEST

START_TEST(removing_a_noise_feature_changes_nothing_measurable)
{
	struct audit_config *cfg = config();
	struct frame *fr[2] = {world("train", 4000, 21, RULE_SUM), world("test", 3000, 22, RULE_SUM)};
	struct rc_data *d = data_of(cfg, fr, 2);
	struct rc_probes p;
	ck_assert_int_eq(rcprobe_open(d, &p), 0);
	json_t *findings = parse("[{\"id\": \"F-leak\", \"kind\": \"leakage\", \"subject\": {\"split\": \"train\","
				 " \"feature\": \"noise\"}}, {\"id\": \"F-missing\", \"kind\": \"leakage\","
				 " \"subject\": {\"feature\": \"nowhere\"}}]");
	json_t *plan = parse("{\"mitigations\": [{\"id\": \"M-rm\", \"action\": \"remove_feature\", \"text\": \"t\","
			     " \"addresses\": [\"F-leak\"]}, {\"id\": \"M-rm2\", \"action\": \"remove_feature\","
			     " \"text\": \"t\", \"addresses\": [\"F-missing\"]}]}");
	struct whatif_opts o = opts(16, NULL);
	ck_assert_int_eq(whatif_measure(d, &p, findings, &o, plan), 0);
	const json_t *e = effect(plan, 0);
	double lo = est(e, "delta", "ci_low"), hi = est(e, "delta", "ci_high");
	ck_assert_msg(lo <= 0 && hi >= 0, "noise removal delta %.4f [%.4f, %.4f]", est(e, "delta", "value"), lo, hi);
	ck_assert_msg(hi - lo < 0.05, "interval [%.4f, %.4f] too wide to say anything", lo, hi);
	ck_assert(strstr(json_string_value(json_object_get(e, "how")), "without noise"));
	/* a feature the probe does not read is not measured, and says why */
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(plan, "mitigations"), 1), "measured_effect"));
	ck_assert(json_is_string(json_object_get(json_object_get(json_object_get(plan, "whatif"), "not_measured"), "M-rm2")));
	json_decref(plan);
	json_decref(findings);
	rcprobe_close(&p);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

START_TEST(retrain_recent_learns_the_new_rule)
{
	struct audit_config *cfg = config();
	struct frame *fr[3] = {world("train", 3000, 31, RULE_SUM), world("test", 1500, 32, RULE_SUM),
			       world("current", 2000, 33, RULE_DIFF)};
	long seg_b = 0;
	for (size_t i = 0; i < fr[1]->nrows; i++)
		seg_b += fr[1]->cols[1].code[i] == 1;
	struct rc_data *d = data_of(cfg, fr, 3);
	struct rc_probes p;
	ck_assert_int_eq(rcprobe_open(d, &p), 0);
	json_t *findings = parse("[{\"id\": \"F-drop\", \"kind\": \"performance_drop\", \"subject\": {\"split\": \"current\"}},"
				 " {\"id\": \"F-seg\", \"kind\": \"weak_segment\", \"subject\": {\"split\": \"test\","
				 " \"segment\": \"seg=b\"}}]");
	json_t *plan = parse("{\"mitigations\": [{\"id\": \"M-seg\", \"action\": \"collect_data\", \"text\": \"t\","
			     " \"addresses\": [\"F-seg\"]}, {\"id\": \"M-recent\", \"action\": \"retrain_recent\","
			     " \"text\": \"t\", \"addresses\": [\"F-drop\"]}]}");
	struct whatif_opts o = opts(16, NULL);
	ck_assert_int_eq(whatif_measure(d, &p, findings, &o, plan), 0);
	const json_t *e = effect(plan, 1);
	double delta = est(e, "delta", "value"), lo = est(e, "delta", "ci_low");
	ck_assert_str_eq(json_string_value(json_object_get(e, "split")), "current");
	ck_assert_msg(delta > 0.1 && lo > 0, "retrain_recent delta %.4f [%.4f, %.4f]", delta, lo,
		      est(e, "delta", "ci_high"));
	ck_assert_int_eq((int)est(e, "delta", "n"), 1000);
	/* the segment's upweighting is measured too, on test, and says it is a proxy */
	const json_t *s = effect(plan, 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "split")), "test");
	ck_assert(strstr(json_string_value(json_object_get(s, "how")), "Proxy"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "on_slice"), "rows")), seg_b);
	/* the order: retrain_recent's larger gain first, priorities renumbered */
	whatif_order(plan);
	json_t *list = json_object_get(plan, "mitigations");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "M-recent");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "priority")), 1);
	json_decref(plan);
	json_decref(findings);

	/* while the plan repairs current's feed first, retraining on it is not measured */
	findings = parse("[{\"id\": \"F-drop\", \"kind\": \"performance_drop\", \"subject\": {\"split\": \"current\"}},"
			 " {\"id\": \"F-unit\", \"kind\": \"pipeline_change\", \"subject\": {\"split\": \"current\","
			 " \"feature\": \"x1\"}}]");
	plan = parse("{\"mitigations\": [{\"id\": \"M-fix\", \"action\": \"fix_pipeline\", \"severity\": \"high\","
		     " \"text\": \"t\", \"addresses\": [\"F-unit\"]}, {\"id\": \"M-recent\", \"action\": \"retrain_recent\","
		     " \"text\": \"t\", \"addresses\": [\"F-drop\"]}]}");
	ck_assert_int_eq(whatif_measure(d, &p, findings, &o, plan), 0);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(plan, "mitigations"), 1), "measured_effect"));
	const char *why = json_string_value(
		json_object_get(json_object_get(json_object_get(plan, "whatif"), "not_measured"), "M-recent"));
	ck_assert(why && strstr(why, "fixes current's feeds first"));
	json_decref(plan);
	json_decref(findings);
	rcprobe_close(&p);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

/* ---- the order ---- */

START_TEST(order_moves_only_measured)
{
	json_t *plan = parse(
		"{\"mitigations\": ["
		"{\"id\": \"A\", \"action\": \"fix_pipeline\"},"
		"{\"id\": \"B\", \"action\": \"relabel\", \"measured_effect\": {\"metric\": \"accuracy\", \"delta\": {\"value\": 0.01}}},"
		"{\"id\": \"C\", \"action\": \"regularize\"},"
		"{\"id\": \"D\", \"action\": \"remove_feature\", \"measured_effect\": {\"metric\": \"accuracy\", \"delta\": {\"value\": 0.05}}},"
		"{\"id\": \"E\", \"action\": \"collect_data\", \"measured_effect\": {\"metric\": \"log_loss\", \"delta\": {\"value\": -0.2}}},"
		"{\"id\": \"F\", \"action\": \"reweight\", \"measured_effect\": {\"metric\": \"accuracy\", \"delta\": {\"value\": null}}}"
		"]}");
	whatif_order(plan);
	static const char *const want[] = {"A", "E", "C", "D", "B", "F"};
	json_t *list = json_object_get(plan, "mitigations");
	for (size_t i = 0; i < 6; i++) {
		json_t *m = json_array_get(list, i);
		ck_assert_str_eq(json_string_value(json_object_get(m, "id")), want[i]);
		ck_assert_int_eq(json_integer_value(json_object_get(m, "priority")), (json_int_t)i + 1);
	}
	ck_assert(strstr(whatif_rules(), "paired bootstrap"));
	json_decref(plan);

	/* measured to gain nothing: last, whatever its place; a slice is judged
	 * on its own rows, and a fall of log_loss is a gain */
	plan = parse(
		"{\"mitigations\": ["
		"{\"id\": \"S\", \"action\": \"collect_data\", \"measured_effect\": {\"metric\": \"accuracy\","
		" \"delta\": {\"value\": 0.001, \"ci_low\": -0.002, \"ci_high\": 0.004},"
		" \"on_slice\": {\"delta\": {\"value\": -0.01, \"ci_low\": -0.03, \"ci_high\": 0.0}}}},"
		"{\"id\": \"A\", \"action\": \"fix_pipeline\"},"
		"{\"id\": \"L\", \"action\": \"relabel\", \"measured_effect\": {\"metric\": \"log_loss\","
		" \"delta\": {\"value\": -0.02, \"ci_low\": -0.04, \"ci_high\": -0.001}}},"
		"{\"id\": \"R\", \"action\": \"retrain_recent\", \"measured_effect\": {\"metric\": \"accuracy\","
		" \"delta\": {\"value\": -0.004, \"ci_low\": -0.009, \"ci_high\": 0.003}}}"
		"]}");
	whatif_order(plan);
	static const char *const want2[] = {"L", "A", "R", "S"};
	list = json_object_get(plan, "mitigations");
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, i), "id")), want2[i]);
	json_decref(plan);

	/* data are loaded only when some finding names what an action would change */
	json_t *findings = parse("[{\"id\": \"F-drift\", \"kind\": \"data_drift\", \"subject\": {\"split\": \"current\","
				 " \"feature\": \"x1\"}}, {\"id\": \"F-test\", \"kind\": \"confident_errors\","
				 " \"subject\": {\"split\": \"test\"}}]");
	plan = parse("{\"mitigations\": [{\"id\": \"A\", \"action\": \"reweight\", \"addresses\": [\"F-drift\"]},"
		     " {\"id\": \"B\", \"action\": \"relabel\", \"addresses\": [\"F-test\"]},"
		     " {\"id\": \"C\", \"action\": \"fix_pipeline\", \"addresses\": [\"F-drift\"]}]}");
	ck_assert(!whatif_wanted(plan, findings));
	json_decref(plan);
	plan = parse("{\"mitigations\": [{\"id\": \"A\", \"action\": \"retrain_recent\", \"addresses\": [\"F-drift\"]}]}");
	ck_assert(whatif_wanted(plan, findings));
	json_decref(plan);
	json_decref(findings);
}
END_TEST

Suite *whatif_suite(void)
{
	Suite *s = suite_create("whatif");
	TCase *tc = tcase_create("whatif");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metric_matches_metrics_h);
	tcase_add_test(tc, slices_parse_and_match);
	tcase_add_test(tc, relabel_of_flipped_labels_gains);
	tcase_add_test(tc, removing_a_noise_feature_changes_nothing_measurable);
	tcase_add_test(tc, retrain_recent_learns_the_new_rule);
	tcase_add_test(tc, order_moves_only_measured);
	suite_add_tcase(s, tc);
	return s;
}
