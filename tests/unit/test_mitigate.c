/* test_mitigate.c - the rules from findings to mitigations (plan.c) on
 * findings written here, the rows-to-collect rule, stable ids, and the
 * mitigate stage's output on a synth run (MLAUDIT_BIN). */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/util.h"
#include "stages/mitigate/plan.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%d: %s", e.line, e.text);
	return j;
}

/* A night of a model whose current feed broke: income in thousands, a drop on
 * current, income's drift (explained by the unit change), a weak segment, a
 * threshold that would help, overfitting, leakage, an informational finding. */
static const char *night =
	"["
	"{\"id\": \"F-unit\", \"step\": 2, \"kind\": \"pipeline_change\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"current\", \"feature\": \"income\", \"rows\": 1000},"
	" \"evidence\": {\"change\": \"unit change\", \"factor\": 1000, \"median_train\": 3500, \"median_split\": 3500000}},"
	"{\"id\": \"F-drop\", \"step\": 1, \"kind\": \"performance_drop\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"current\", \"rows\": 1000},"
	" \"evidence\": {\"metric\": \"accuracy\", \"test\": {\"value\": 0.83, \"n\": 1000},"
	"  \"current\": {\"value\": 0.63, \"n\": 1000}, \"gap\": {\"value\": 0.2, \"n\": 2000}}},"
	"{\"id\": \"F-drift\", \"step\": 3, \"kind\": \"data_drift\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"current\", \"feature\": \"income\", \"rows\": 1000},"
	" \"evidence\": {\"psi\": 8.3, \"explained_by\": \"unit change (pipeline_change finding)\"}},"
	"{\"id\": \"F-x1\", \"step\": 3, \"kind\": \"data_drift\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"current\", \"feature\": \"x1\", \"rows\": 1000}, \"evidence\": {\"psi\": 0.2}},"
	"{\"id\": \"F-west\", \"step\": 1, \"kind\": \"weak_segment\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"segment\": \"region=west\", \"rows\": 100},"
	" \"evidence\": {\"metric\": \"accuracy\", \"segment\": {\"value\": 0.6, \"n\": 100},"
	"  \"rest\": {\"value\": 0.83, \"n\": 900}, \"gap\": 0.23}},"
	"{\"id\": \"F-westslice\", \"step\": 2, \"kind\": \"error_slice\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"slice\": \"region=west and x5 < 40\", \"rows\": 40},"
	" \"evidence\": {\"error_rate\": {\"value\": 0.6}, \"rest_error_rate\": {\"value\": 0.17}, \"train_rows\": 150,"
	"  \"split_share\": 0.04}},"
	"{\"id\": \"F-thr\", \"step\": 1, \"kind\": \"misaligned_metric\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"slice\": \"decision threshold\", \"rows\": 1000},"
	" \"evidence\": {\"metric\": \"f1\", \"at\": 0.5, \"best\": 0.31, \"value_at\": 0.70, \"value_best\": 0.74}},"
	"{\"id\": \"F-over\", \"step\": 1, \"kind\": \"overfitting\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"rows\": 1000},"
	" \"evidence\": {\"train\": {\"value\": 0.95}, \"test\": {\"value\": 0.83}, \"gap\": {\"value\": 0.12}}},"
	"{\"id\": \"F-leak\", \"step\": 3, \"kind\": \"leakage\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"feature\": \"closed_date\", \"rows\": 4000},"
	" \"evidence\": {\"auc\": {\"value\": 0.99, \"n\": 4000}}},"
	"{\"id\": \"F-info\", \"step\": 1, \"kind\": \"confident_errors\", \"severity\": \"info\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"rows\": 3}, \"evidence\": {}}"
	"]";

static const char *quality =
	"{\"splits\": {\"train\": {\"rows\": 4000, \"columns\": [{\"name\": \"region\", \"top\": ["
	"{\"value\": \"north\", \"count\": 1600}, {\"value\": \"west\", \"count\": 400}]}]}}}";

static json_t *mitigation(json_t *plan, const char *action, size_t nth)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m)
		if (!strcmp(json_string_value(json_object_get(m, "action")), action) && nth-- == 0)
			return m;
	return NULL;
}

static int addresses(const json_t *m, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(m, "addresses"), i, v)
		if (!strcmp(json_string_value(v), id))
			return 1;
	return 0;
}

static const char *text(const json_t *m)
{
	return json_string_value(json_object_get(m, "text"));
}

START_TEST(rows_to_collect_rule)
{
	/* doubling wins: 400 train rows of a slice that is 10% of both */
	ck_assert_int_eq(plan_rows_to_collect(400, 0.10, 4000), 400);
	/* share wins: 100 rows (2.5% of train) but 10% of the split: (400 - 100) / 0.9 = 333.3 -> 340 */
	ck_assert_int_eq(plan_rows_to_collect(100, 0.10, 4000), 340);
	/* absent from train: N = share T / (1 - share) = 0.06 * 1e6 / 0.94 = 63829.8 -> 64000 */
	ck_assert_int_eq(plan_rows_to_collect(0, 0.06, 1000000), 64000);
	/* unknown train rows and share: the floor */
	ck_assert_int_eq(plan_rows_to_collect(-1, 0, -1), 100);
	/* 4,020 doubled rounds up to two significant digits */
	ck_assert_int_eq(plan_rows_to_collect(4020, 0.1, 40000), 4100);
}
END_TEST

START_TEST(findings_map_to_actions)
{
	json_t *f = parse(night), *q = parse(quality);
	struct plan_ctx ctx = {.metric = "accuracy", .train_rows = 4000, .quality = q};
	json_t *plan = plan_mitigations(f, &ctx);
	json_t *list = json_object_get(plan, "mitigations");

	/* the broken feed first; the drift it causes joins it; the drop is its upper bound */
	json_t *first = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "action")), "fix_pipeline");
	ck_assert_msg(strstr(text(first), "income") && strstr(text(first), "1000x"), "%s", text(first));
	ck_assert(addresses(first, "F-unit") && addresses(first, "F-drift"));
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(first, "expected_gain"), "value")), 0.2, 1e-12);

	/* retraining waits for the fix, and carries the drop and the other drift */
	json_t *rt = mitigation(plan, "retrain_recent", 0);
	ck_assert_ptr_nonnull(rt);
	ck_assert(addresses(rt, "F-drop") && addresses(rt, "F-x1") && !addresses(rt, "F-drift"));
	ck_assert_msg(strstr(text(rt), "After the current feeds are fixed") && strstr(text(rt), "x1 drifted"), "%s", text(rt));

	/* leakage: remove the feature */
	json_t *rm = mitigation(plan, "remove_feature", 0);
	ck_assert(rm && addresses(rm, "F-leak") && strstr(text(rm), "closed_date"));

	/* the weak segment: collect rows, sized by the rule; its slice joins it */
	json_t *cd = mitigation(plan, "collect_data", 0);
	ck_assert(cd && addresses(cd, "F-west") && addresses(cd, "F-westslice"));
	/* train has 400 west rows, 10% of test: doubling (400) beats (400 - 400) / 0.9 */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(cd, "size"), "rows")), 400);
	ck_assert_msg(strstr(text(cd), "Collect about 400 more labelled rows where region=west"), "%s", text(cd));
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(cd, "expected_gain"), "value")), 0.023, 1e-12);

	/* threshold: the sentence names both thresholds and the gain */
	json_t *th = mitigation(plan, "change_metric_or_threshold", 0);
	ck_assert(th && strstr(text(th), "0.50 to 0.31") && strstr(text(th), "0.700 to 0.740"));
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(th, "expected_gain"), "value")), 0.04, 1e-12);

	json_t *rg = mitigation(plan, "regularize", 0);
	ck_assert(rg && addresses(rg, "F-over") && strstr(text(rg), "0.950 on train but 0.830 on test"));

	/* informational findings get no advice */
	ck_assert_ptr_null(json_object_get(json_object_get(plan, "by_finding"), "F-info"));

	/* order: severity, then gain; priorities count up; by_finding inverts addresses */
	size_t i;
	json_t *m;
	int prev = 4;
	double prev_gain = INFINITY;
	json_array_foreach(list, i, m) {
		ck_assert_int_eq(json_integer_value(json_object_get(m, "priority")), (json_int_t)i + 1);
		const char *s = json_string_value(json_object_get(m, "severity"));
		int sev = !strcmp(s, "high") ? 3 : !strcmp(s, "medium") ? 2 : !strcmp(s, "low") ? 1 : 0;
		ck_assert_int_le(sev, prev);
		json_t *g = json_object_get(json_object_get(m, "expected_gain"), "value");
		double gain = g ? json_real_value(g) : -1;
		if (sev == prev)
			ck_assert(gain <= prev_gain);
		prev_gain = gain;
		prev = sev;
		size_t k;
		json_t *fid;
		json_array_foreach(json_object_get(m, "addresses"), k, fid) {
			json_t *back = json_object_get(json_object_get(plan, "by_finding"), json_string_value(fid));
			ck_assert_ptr_nonnull(back);
			int found = 0;
			size_t b;
			json_t *mid;
			json_array_foreach(back, b, mid)
				found |= !strcmp(json_string_value(mid), json_string_value(json_object_get(m, "id")));
			ck_assert(found);
		}
		ck_assert(strncmp(json_string_value(json_object_get(m, "id")), "M-", 2) == 0);
	}
	json_decref(plan);
	json_decref(f);
	json_decref(q);
}
END_TEST

START_TEST(ids_are_stable)
{
	json_t *f = parse(night);
	struct plan_ctx ctx = {.metric = "accuracy", .train_rows = 4000, .quality = NULL};
	json_t *a = plan_mitigations(f, &ctx);
	/* another night: other row counts and numbers, same subjects */
	json_t *fb = json_deep_copy(f);
	size_t i;
	json_t *x;
	json_array_foreach(fb, i, x)
		json_object_set_new(json_object_get(x, "subject"), "rows", json_integer(777));
	json_t *b = plan_mitigations(fb, &ctx);
	json_t *ma, *mb;
	size_t n = json_array_size(json_object_get(a, "mitigations"));
	ck_assert_uint_eq(n, json_array_size(json_object_get(b, "mitigations")));
	json_array_foreach(json_object_get(a, "mitigations"), i, ma) {
		int found = 0;
		size_t k;
		json_array_foreach(json_object_get(b, "mitigations"), k, mb)
			found |= !strcmp(json_string_value(json_object_get(ma, "id")), json_string_value(json_object_get(mb, "id")));
		ck_assert(found);
	}
	/* no findings, no mitigations */
	json_t *empty = json_array(), *c = plan_mitigations(empty, &ctx);
	ck_assert_uint_eq(json_array_size(json_object_get(c, "mitigations")), 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(f);
	json_decref(fb);
	json_decref(empty);
}
END_TEST

/* ---- the probes' training checks ---- */

/* What probes_sanity.c writes: a night where the checks advise a search
 * setting, a higher learning rate, another optimizer, warn of exploding
 * gradients, and find regularisation and a smaller size better, beside the
 * evaluate stage's overfitting finding. */
static const char *checks =
	"["
	"{\"id\": \"F-over\", \"step\": 1, \"kind\": \"overfitting\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"test\", \"rows\": 1000},"
	" \"evidence\": {\"train\": {\"value\": 0.95}, \"test\": {\"value\": 0.83}, \"gap\": {\"value\": 0.12}}},"
	"{\"id\": \"F-lr\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: learning rate\"},"
	" \"evidence\": {\"check\": \"lr_range\", \"optimizer\": \"adam\", \"advised_lr\": 0.0031, \"suggested_lr\": 0.0042,"
	"  \"default_lr\": 0.001, \"steps\": 252, \"train_loss_advised\": 0.34, \"train_loss_default\": 0.444}},"
	"{\"id\": \"F-opt\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: optimizer and schedule\"},"
	" \"evidence\": {\"check\": \"optimizers\", \"optimizer\": \"momentum\", \"schedule\": \"cosine\", \"lr\": 0.03,"
	"  \"steps_to_target\": 120, \"reference_lr\": 0.0031, \"usual_adam_lr\": 0.003, \"reference_steps_to_target\": 200,"
	"  \"reference_text\": \"Adam with cosine decay at 0.0031, the learning-rate check's rate\","
	"  \"steps\": 300,"
	"  \"confirmed_val_loss\": 0.301, \"confirmed_reference_val_loss\": 0.334,"
	"  \"confirmation\": {\"seeds\": 3, \"wins\": 3}}},"
	"{\"id\": \"F-hpo\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: hyper-parameter search\"},"
	" \"evidence\": {\"check\": \"hpo\", \"trials\": 36, \"lr\": 0.0061, \"l2\": 1.9e-05, \"width\": 36, \"dropout\": 0.13,"
	"  \"train_rows\": 90000, \"epochs\": 12, \"val_loss\": 0.312, \"val_acc\": 0.881, \"default_val_loss\": 0.35,"
	"  \"default_val_acc\": 0.86}},"
	"{\"id\": \"F-health\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: gradient health\"},"
	" \"evidence\": {\"check\": \"health\", \"where\": \"mlp128x128x128\", \"state\": \"exploding\", \"layer\": 1,"
	"  \"ratio\": 3.2, \"lr\": 0.003, \"suggested_lr\": 0.001}},"
	"{\"id\": \"F-reg\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: regularisation\"},"
	" \"evidence\": {\"check\": \"regularisation\", \"best\": \"l2\", \"best_text\": \"L2 1e-2\", \"val_loss\": 0.41,"
	"  \"none_val_loss\": 0.52, \"gap\": 0.05, \"none_gap\": 0.3}},"
	"{\"id\": \"F-cap\", \"step\": \"probes\", \"kind\": \"capacity\", \"severity\": \"low\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\"},"
	" \"evidence\": {\"best\": \"mlp32\", \"overfit_from\": \"mlp128x128\", \"best_val_loss\": 0.3, \"overfit_val_loss\": 0.35}}"
	"]";

static json_t *find_addressing(json_t *plan, const char *fid)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m)
		if (addresses(m, fid))
			return m;
	return NULL;
}

START_TEST(training_checks_map_to_mitigations)
{
	json_t *f = parse(checks);
	struct plan_ctx ctx = {.metric = "accuracy", .train_rows = 100000, .quality = NULL};
	json_t *plan = plan_mitigations(f, &ctx);

	/* how to train: one recipe, the search's setting first, each check a clause with its numbers */
	json_t *tt = find_addressing(plan, "F-hpo");
	ck_assert_ptr_nonnull(tt);
	ck_assert_str_eq(json_string_value(json_object_get(tt, "action")), "tune_training");
	ck_assert(addresses(tt, "F-lr") && addresses(tt, "F-opt") && !addresses(tt, "F-health"));
	const char *t = text(tt);
	ck_assert_msg(!strncmp(t, "Train networks on these data with lr 0.0061, L2 1.9e-05, 36 hidden units and dropout "
				  "0.13 (the best of 36 search trials): trained on 90,000 rows until its training loss "
				  "stopped improving (12 epochs)", strlen("Train networks on these data with lr 0.0061, L2 "
				  "1.9e-05, 36 hidden units and dropout 0.13 (the best of 36 search trials): trained on "
				  "90,000 rows until its training loss stopped improving (12 epochs)")), "%s", t);
	ck_assert_msg(strstr(t, "validation loss 0.312 (accuracy 88.1%) against 0.350 (86.0%)"), "%s", t);
	ck_assert_msg(strstr(t, "The learning-rate range test alone suggests Adam starting at a learning rate of about "
				"0.0031 rather than the default 1e-3, decayed over training: over the first 252 steps a "
				"probe's training loss falls to 0.340 against 0.444."), "%s", t);
	ck_assert_msg(strstr(t, "The optimizer comparison favours SGD with momentum at lr 0.03 with cosine decay: after "
				"300 steps its validation loss is 0.301 against 0.334 for Adam with cosine decay at 0.0031, "
				"the learning-rate check's rate (averaged over 3 new seeds), and it reached the target "
				"training loss in 40% fewer steps than Adam at a constant 0.003 (120 against 200)."), "%s", t);
	/* its gain: the probe's validation accuracy over the defaults, said to be about probes */
	json_t *g = json_object_get(tt, "expected_gain");
	ck_assert_double_eq_tol(json_real_value(json_object_get(g, "value")), 0.021, 1e-12);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(g, "basis")), "not the audited model"));

	/* unstable gradients: their own advice, with the range test's lower rate */
	json_t *h = find_addressing(plan, "F-health");
	ck_assert(h && h != tt);
	ck_assert_str_eq(json_string_value(json_object_get(h, "action")), "tune_training");
	ck_assert_str_eq(json_string_value(json_object_get(h, "severity")), "medium");
	ck_assert_msg(strstr(text(h), "in mlp128x128x128 at Adam lr 0.003 the gradient of layer 1 reached 3.2 times its "
				      "weights' norm (exploding); lower the learning rate (the range test suggests "
				      "about 0.001)"), "%s", text(h));

	/* regularisation and over-capacity join the model's regularize advice */
	json_t *rg = find_addressing(plan, "F-over");
	ck_assert_str_eq(json_string_value(json_object_get(rg, "action")), "regularize");
	ck_assert(addresses(rg, "F-reg") && addresses(rg, "F-cap"));
	ck_assert_msg(strstr(text(rg), "0.950 on train but 0.830 on test") &&
		      strstr(text(rg), "On the probes, L2 1e-2 lowered a 128-unit network's validation loss from 0.520 "
				       "to 0.410.") &&
		      strstr(text(rg), "networks larger than mlp32 overfit these data"), "%s", text(rg));
	ck_assert_ptr_null(mitigation(plan, "increase_capacity", 0));
	json_decref(plan);

	/* alone, the learning rate leads the recipe; the regularisation check leads its own advice */
	json_t *lr = json_array();
	json_array_append(lr, json_array_get(f, 1));
	json_array_append(lr, json_array_get(f, 5));
	plan = plan_mitigations(lr, &ctx);
	ck_assert_str_eq(text(find_addressing(plan, "F-lr")),
			 "Train networks on these data with Adam starting at a learning rate of about 0.0031 rather than the "
			 "default 1e-3, decayed over training: over the first 252 steps a probe's training loss falls to "
			 "0.340 against 0.444.");
	ck_assert_ptr_null(json_object_get(find_addressing(plan, "F-lr"), "expected_gain"));
	ck_assert_msg(!strncmp(text(find_addressing(plan, "F-reg")), "Regularise networks trained on these data: with L2 "
			       "1e-2 a 128-unit probe's validation loss is 0.410 against 0.520 without", 90), "%s",
		      text(find_addressing(plan, "F-reg")));
	json_decref(plan);
	json_decref(lr);
	json_decref(f);
}
END_TEST

/* A batch the small network cannot fit points at the labels, not the training. */
static const char *unfit =
	"["
	"{\"id\": \"F-conf\", \"step\": 2, \"kind\": \"data_quality\", \"severity\": \"medium\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"conflicting labels\", \"rows\": 40}, \"evidence\": {}},"
	"{\"id\": \"F-batch\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: overfit a mini-batch\"},"
	" \"evidence\": {\"check\": \"overfit_batch\", \"cause\": \"conflicting_duplicates\", \"rows\": 256,"
	"  \"final_acc\": 0.9, \"n_conflicts\": 20, \"max_reachable_acc\": 0.92}},"
	"{\"id\": \"F-grad\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: gradient check\"},"
	" \"evidence\": {\"check\": \"gradient_check\", \"max_rel_err\": 0.02}}"
	"]";

static const char *shuffled =
	"["
	"{\"id\": \"F-unl\", \"step\": 3, \"kind\": \"unlearnable_labels\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\"}, \"evidence\": {}},"
	"{\"id\": \"F-batch\", \"step\": \"probes\", \"kind\": \"sanity_check\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"train\", \"slice\": \"training check: overfit a mini-batch\"},"
	" \"evidence\": {\"check\": \"overfit_batch\", \"cause\": \"no_learnable_signal\", \"rows\": 256,"
	"  \"final_acc\": 0.74, \"n_conflicts\": 0, \"held_out_learnable\": false}}"
	"]";

START_TEST(unfittable_batch_points_at_labels)
{
	struct plan_ctx ctx = {.metric = "accuracy", .train_rows = 4000, .quality = NULL};
	json_t *f = parse(unfit), *plan = plan_mitigations(f, &ctx);
	/* conflicting duplicates: the same relabel advice as the data-quality finding */
	json_t *rl = find_addressing(plan, "F-batch");
	ck_assert_str_eq(json_string_value(json_object_get(rl, "action")), "relabel");
	ck_assert(addresses(rl, "F-conf"));
	/* wrong gradients void the probe results */
	json_t *pe = find_addressing(plan, "F-grad");
	ck_assert_str_eq(json_string_value(json_object_get(pe, "action")), "fix_pipeline");
	ck_assert_msg(strstr(text(pe), "relative error 0.02"), "%s", text(pe));
	json_decref(plan);
	json_decref(f);

	/* no signal: check the join; the unlearnable-labels finding joins it instead of "add features" */
	f = parse(shuffled);
	plan = plan_mitigations(f, &ctx);
	ck_assert_uint_eq(json_array_size(json_object_get(plan, "mitigations")), 1);
	json_t *fx = find_addressing(plan, "F-batch");
	ck_assert_str_eq(json_string_value(json_object_get(fx, "action")), "fix_pipeline");
	ck_assert(addresses(fx, "F-unl"));
	ck_assert_msg(strstr(text(fx), "fits only 74.0% of a 256-row training batch and no probe beats the majority class"),
		      "%s", text(fx));
	json_decref(plan);
	json_decref(f);
}
END_TEST

/* ---- underrepresented slices and importance shifts (step 3) ---- */

/* An underrepresented_slice finding as represent.c writes it: verdict,
 * rows_more (<0: null), train rows, the first and last curve points' accuracy
 * (<0: no curve) and the probe's accuracy on the rest. */
static json_t *underrep(const char *id, const char *split, const char *slice, const char *verdict, long long rows_more,
			long long train_rows, double first, double last, double target)
{
	char more[32], tgt[64] = "";
	snprintf(more, sizeof more, "%lld", rows_more);
	if (target >= 0)
		snprintf(tgt, sizeof tgt, "\"target_accuracy\": {\"value\": %g, \"n\": 2000},", target);
	char *curve = first < 0 ? xstrdup("[]")
				: xasprintf("[{\"train_rows\": 20, \"accuracy\": {\"value\": %g, \"n\": 300}},"
					    " {\"train_rows\": 40, \"accuracy\": {\"value\": 0.65, \"n\": 300}},"
					    " {\"train_rows\": 160, \"accuracy\": {\"value\": %g, \"n\": 300}}]", first, last);
	char *text = xasprintf(
		"{\"id\": \"%s\", \"step\": 3, \"kind\": \"underrepresented_slice\", \"severity\": \"medium\", \"title\": \"t\","
		" \"subject\": {\"split\": \"%s\", \"slice\": \"%s\", \"rows\": 300},"
		" \"evidence\": {\"train_rows\": %lld, \"train_total\": 4000, \"split_share\": 0.1,"
		"  \"error_rate\": {\"value\": 0.5, \"n\": 300}, \"rest_error_rate\": {\"value\": 0.2, \"n\": 2700},"
		"  \"curve_verdict\": \"%s\", \"curve\": %s, %s \"rows_needed\": null, \"rows_more\": %s}}",
		id, split, slice, train_rows, verdict, curve,
		tgt, rows_more < 0 ? "null" : more);
	json_t *f = parse(text);
	free(curve);
	free(text);
	return f;
}

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static json_t *plan_of(json_t *findings, json_t *q)
{
	struct plan_ctx ctx = {.metric = "accuracy", .train_rows = 4000, .quality = q};
	json_t *plan = plan_mitigations(findings, &ctx);
	json_decref(findings);
	return plan;
}

static json_t *one(json_t *f)
{
	json_t *a = json_array();
	json_array_append_new(a, f);
	return a;
}

START_TEST(underrepresented_follows_its_curve)
{
	/* rising: rows_more (1,234 -> 1,300) and the curve's first and last points */
	json_t *plan = plan_of(one(underrep("F-r", "current", "x1 >= 3", "rising", 1234, 150, 0.55, 0.78, 0.86)), NULL);
	json_t *m = find_addressing(plan, "F-r");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "collect_data");
	ck_assert_str_eq(text(m), "Collect about 1,300 more labelled rows where x1 >= 3 (train has 150): probes trained "
				  "with more such rows go from 55% to 78% accuracy there, against 86% on the rest of current.");
	json_t *size = json_object_get(m, "size");
	ck_assert_int_eq(json_integer_value(json_object_get(size, "rows")), 1300);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(size, "rule")), "rows_more"));
	/* the stale note on measured effects is gone */
	ck_assert_ptr_null(strstr(json_string_value(json_object_get(plan, "rules")), "probe engine"));
	json_decref(plan);

	/* levels off beyond train's rows: collect too; without a target the "against" clause goes */
	plan = plan_of(one(underrep("F-l", "current", "x1 >= 3", "levels off", 300, 150, 0.55, 0.70, -1)), NULL);
	ck_assert_str_eq(text(find_addressing(plan, "F-l")), "Collect about 300 more labelled rows where x1 >= 3 (train "
							     "has 150): probes trained with more such rows go from 55% to "
							     "70% accuracy there.");
	json_decref(plan);

	/* enough: upweight the rows train has; no size */
	plan = plan_of(one(underrep("F-e", "test", "channel=phone", "enough", 0, 2400, 0.80, 0.85, 0.86)), NULL);
	m = find_addressing(plan, "F-e");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "reweight");
	ck_assert_str_eq(text(m), "Upweight rows where channel=phone when retraining: train already has 2,400 of them, "
				  "enough for a probe to match the rest.");
	ck_assert_ptr_null(json_object_get(m, "size"));
	json_decref(plan);

	/* flat: no rows to collect; the labels and features */
	plan = plan_of(one(underrep("F-f", "test", "x2 < -1", "flat", -1, 300, 0.60, 0.61, 0.86)), NULL);
	m = find_addressing(plan, "F-f");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "relabel");
	ck_assert_str_eq(text(m), "More rows like x2 < -1 did not help a probe: check the labels and the features there.");
	ck_assert_ptr_null(mitigation(plan, "collect_data", 0));
	json_decref(plan);

	/* levels off within train's rows: the same advice */
	plan = plan_of(one(underrep("F-w", "test", "x4 < 0", "levels off", 0, 900, 0.60, 0.70, 0.86)), NULL);
	ck_assert_str_eq(text(find_addressing(plan, "F-w")), "Beyond the rows train has, more rows like x4 < 0 did not "
							     "help a probe: check the labels and the features there.");
	json_decref(plan);

	/* no curve: the rows-to-collect rule, (400 - 100) / 0.9 = 333.3 -> 340, and the model's error rates */
	plan = plan_of(one(underrep("F-n", "current", "x3 >= 2", "not measured", -1, 100, -1, -1, -1)), NULL);
	m = find_addressing(plan, "F-n");
	ck_assert_str_eq(text(m), "Collect about 340 more labelled rows where x3 >= 2 (train has 100): the model errs on "
				  "50% of them in current against 20% elsewhere.");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "size"), "rows")), 340);
	json_decref(plan);

	/* rising but rows_more null (beyond 64x): the rule sizes it, the curve still speaks */
	plan = plan_of(one(underrep("F-x", "current", "x3 >= 2", "rising", -1, 100, 0.50, 0.58, 0.86)), NULL);
	ck_assert_msg(starts(text(find_addressing(plan, "F-x")), "Collect about 340 more labelled rows where x3 >= 2 "
			     "(train has 100): probes trained with more such rows go from 50% to 58%"), "%s",
		      text(find_addressing(plan, "F-x")));
	json_decref(plan);
}
END_TEST

/* The weak segment region=west (400 train rows) with its slice, and the same
 * segment value found underrepresented on current, listed first. */
static json_t *west_night(const char *verdict, long long rows_more)
{
	json_t *f = json_array();
	json_array_append_new(f, underrep("F-westrep", "current", "region=west", verdict, rows_more, 400, 0.60, 0.74, 0.85));
	json_t *night_f = parse(night);
	json_array_append(f, json_array_get(night_f, 4)); /* F-west */
	json_array_append(f, json_array_get(night_f, 5)); /* F-westslice */
	json_decref(night_f);
	return f;
}

static size_t count_mentioning(json_t *plan, const char *what)
{
	size_t i, n = 0;
	json_t *m;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m)
		n += strstr(text(m), what) != NULL;
	return n;
}

START_TEST(underrepresented_segment_joins_weak_segment)
{
	json_t *q = parse(quality);
	/* a rising curve rewrites the segment's advice: rows_more, the curve, then the segment's score */
	json_t *plan = plan_of(west_night("rising", 560), q);
	ck_assert_uint_eq(count_mentioning(plan, "region=west"), 1);
	json_t *m = find_addressing(plan, "F-westrep");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "collect_data");
	ck_assert(addresses(m, "F-west") && addresses(m, "F-westslice"));
	ck_assert_str_eq(text(m), "Collect about 560 more labelled rows where region=west (train has 400): probes trained "
				  "with more such rows go from 60% to 74% accuracy there, against 85% on the rest of current. "
				  "The model scores 0.600 accuracy there against 0.830 for the rest of test.");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "size"), "rows")), 560);
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(m, "expected_gain"), "value")), 0.023, 1e-12);
	json_decref(plan);

	/* no curve: the segment's advice stands and addresses both */
	plan = plan_of(west_night("not measured", -1), q);
	ck_assert_uint_eq(count_mentioning(plan, "region=west"), 1);
	m = find_addressing(plan, "F-westrep");
	ck_assert(addresses(m, "F-west") && addresses(m, "F-westslice"));
	ck_assert_msg(starts(text(m), "Collect about 400 more labelled rows where region=west: the model scores 0.600"),
		      "%s", text(m));
	json_decref(plan);

	/* enough rows in train: the segment's advice becomes reweight, under another id */
	json_t *f = json_array(), *night_f = parse(night);
	json_array_append(f, json_array_get(night_f, 4));
	json_decref(night_f);
	json_t *collect_plan = plan_of(f, q);
	const char *collect_id = json_string_value(json_object_get(find_addressing(collect_plan, "F-west"), "id"));
	plan = plan_of(west_night("enough", 0), q);
	ck_assert_uint_eq(count_mentioning(plan, "region=west"), 1);
	ck_assert_ptr_null(mitigation(plan, "collect_data", 0));
	m = find_addressing(plan, "F-west");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "reweight");
	ck_assert(addresses(m, "F-westrep") && addresses(m, "F-westslice"));
	ck_assert_ptr_null(json_object_get(m, "size"));
	ck_assert_str_ne(json_string_value(json_object_get(m, "id")), collect_id);
	ck_assert_str_eq(text(m), "Upweight rows where region=west when retraining: train already has 400 of them, enough "
				  "for a probe to match the rest. The model scores 0.600 accuracy there against 0.830 for "
				  "the rest of test.");
	json_decref(plan);
	json_decref(collect_plan);
	json_decref(q);
}
END_TEST

static const char *shift_x1 =
	"{\"id\": \"F-imp1\", \"step\": 3, \"kind\": \"importance_shift\", \"severity\": \"high\", \"title\": \"t\","
	" \"subject\": {\"split\": \"current\", \"feature\": \"x1\", \"rows\": 750},"
	" \"evidence\": {\"importance_train\": {\"value\": 0.182, \"n\": 2000}, \"importance\": {\"value\": 0.06, \"n\": 750},"
	"  \"difference\": {\"value\": -0.122, \"n\": 750}}}";

START_TEST(importance_shift_retrains)
{
	/* alone: it leads the split's retraining advice */
	json_t *plan = plan_of(one(parse(shift_x1)), NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(plan, "mitigations")), 1);
	json_t *m = find_addressing(plan, "F-imp1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "action")), "retrain_recent");
	ck_assert_str_eq(text(m), "Feature x1 matters much less on current than in training (permuting it costs 0.18 of "
				  "accuracy in training, 0.06 there): retrain on recent data, and check whether x1's meaning "
				  "or source changed.");
	json_decref(plan);

	/* with the split's drop and a smaller rise of x2: one retraining, each shift a sentence */
	json_t *f = parse(night), *all = json_array();
	json_array_append(all, json_array_get(f, 1)); /* F-drop on current */
	json_array_append_new(all, parse(shift_x1));
	json_array_append_new(all, parse(
		"{\"id\": \"F-imp2\", \"step\": 3, \"kind\": \"importance_shift\", \"severity\": \"medium\", \"title\": \"t\","
		" \"subject\": {\"split\": \"current\", \"feature\": \"x2\", \"rows\": 750},"
		" \"evidence\": {\"importance_train\": {\"value\": 0.02}, \"importance\": {\"value\": 0.08},"
		"  \"difference\": {\"value\": 0.06}}}"));
	/* the domain classifier's drift names no feature: said as a whole, not listed as "(all features)" */
	json_array_append_new(all, parse(
		"{\"id\": \"F-dom\", \"step\": 3, \"kind\": \"data_drift\", \"severity\": \"high\", \"title\": \"t\","
		" \"subject\": {\"split\": \"current\", \"feature\": \"(all features)\", \"rows\": 750},"
		" \"evidence\": {\"auc\": {\"value\": 0.84, \"n\": 600}}}"));
	plan = plan_of(all, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(plan, "mitigations")), 1);
	m = mitigation(plan, "retrain_recent", 0);
	ck_assert(addresses(m, "F-drop") && addresses(m, "F-imp1") && addresses(m, "F-imp2") && addresses(m, "F-dom"));
	ck_assert_str_eq(text(m), "Retrain with recent labelled data from current: the model scores 0.630 accuracy there "
				  "against 0.830 on test. Its rows drifted as a whole: a classifier tells them from train's "
				  "with ROC-AUC 0.84. Feature x1 matters much less on current than in training (permuting "
				  "it costs 0.18 of accuracy in training, 0.06 there): check whether its meaning or source "
				  "changed. Feature x2 matters more on current than in training (permuting it costs 0.02 of "
				  "accuracy in training, 0.08 there): check whether its meaning or source changed.");
	json_decref(plan);

	/* a broken feed on the split comes first; the shift's advice waits for it */
	all = json_array();
	json_array_append(all, json_array_get(f, 0)); /* F-unit: income on current */
	json_array_append_new(all, parse(shift_x1));
	plan = plan_of(all, NULL);
	ck_assert_msg(starts(text(find_addressing(plan, "F-imp1")), "After the current feeds are fixed, if current still "
			     "trails test: feature x1 matters much less"), "%s", text(find_addressing(plan, "F-imp1")));
	json_decref(plan);
	json_decref(f);
}
END_TEST

/* ---- the stage on a synth run ---- */

static int run_bin(const char *const *args)
{
	const char *b = getenv("MLAUDIT_BIN");
	ck_assert_msg(b && *b, "MLAUDIT_BIN is not set (run the tests with make test)");
	const char *argv[16];
	int argc = 0;
	argv[argc++] = b;
	for (; *args && argc < 15; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(stage_writes_schema_shaped_mitigations)
{
	char tmpl[] = "/tmp/mla-mit-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(dir);
	char *data = path_join(dir, "data"), *out = path_join(dir, "out"), *ini = path_join(data, "audit.ini");
	const char *synth[] = {"synth", "weak-segment", "--out", data, "--rows", "4000", "--seed", "2", NULL};
	ck_assert_int_eq(run_bin(synth), 0);
	const char *audit[] = {"run", ini, "--out", out, "--quiet", NULL};
	int st = run_bin(audit);
	ck_assert(st == 0 || st == 1);
	char *mp = path_join(out, "latest/mitigate/mitigations.json");
	json_error_t e;
	json_t *m = json_load_file(mp, 0, &e);
	ck_assert_msg(m != NULL, "%s: %s", mp, e.text);
	json_t *list = json_object_get(m, "mitigations");
	ck_assert(json_array_size(list) >= 1);
	static const char *const actions[] = {"collect_data", "relabel", "retrain_recent", "reweight", "remove_feature",
					      "regularize", "increase_capacity", "change_metric_or_threshold",
					      "fix_pipeline", "tune_training", NULL};
	size_t i;
	json_t *x;
	int west = 0;
	json_array_foreach(list, i, x) {
		/* $defs.mitigation: id, action (enum), text, addresses */
		ck_assert(json_is_string(json_object_get(x, "id")) && json_is_string(json_object_get(x, "text")));
		ck_assert(json_array_size(json_object_get(x, "addresses")) >= 1);
		const char *a = json_string_value(json_object_get(x, "action"));
		int known = 0;
		for (int k = 0; actions[k]; k++)
			known |= !strcmp(actions[k], a);
		ck_assert_msg(known, "action %s", a);
		west |= !strcmp(a, "collect_data") && strstr(json_string_value(json_object_get(x, "text")), "region=west");
	}
	ck_assert_msg(west, "no collect_data for region=west");
	json_decref(m);
	free(mp);
	free(data);
	free(out);
	free(ini);
	remove_tree(dir);
}
END_TEST

Suite *mitigate_suite(void)
{
	Suite *s = suite_create("mitigate");
	TCase *tc = tcase_create("mitigate");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rows_to_collect_rule);
	tcase_add_test(tc, findings_map_to_actions);
	tcase_add_test(tc, ids_are_stable);
	tcase_add_test(tc, training_checks_map_to_mitigations);
	tcase_add_test(tc, unfittable_batch_points_at_labels);
	tcase_add_test(tc, underrepresented_follows_its_curve);
	tcase_add_test(tc, underrepresented_segment_joins_weak_segment);
	tcase_add_test(tc, importance_shift_retrains);
	tcase_add_test(tc, stage_writes_schema_shaped_mitigations);
	suite_add_tcase(s, tc);
	return s;
}
