/* test_metrics.c - metrics.h against sklearn 1.2 on fixed inputs (the
 * reference numbers were computed once and are written here as literals; the
 * test needs no Python), hand-computed ECE and threshold examples, every
 * undefined case, and the bootstrap's determinism. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../stages/evaluate/metrics.h"
#include "../../pipeline/util.h"

#define TOL 1e-12

static void assert_contains(const struct estimate *e, const char *what)
{
	ck_assert_msg(!isnan(e->lo) && !isnan(e->hi), "%s: interval missing", what);
	ck_assert_msg(e->lo <= e->value && e->value <= e->hi, "%s: %g outside [%g, %g]", what,
		      e->value, e->lo, e->hi);
}

static void assert_undefined(const struct estimate *e, const char *reason, const char *what)
{
	ck_assert_msg(isnan(e->value), "%s: %g, expected NAN", what, e->value);
	ck_assert_msg(e->reason && !strcmp(e->reason, reason), "%s: reason '%s', expected '%s'", what,
		      e->reason ? e->reason : "(null)", reason);
}

/* ---- A fixed 3-class example ----
 * confusion (sklearn.metrics.confusion_matrix):
 *   [[5 1 1]
 *    [2 4 0]
 *    [2 3 2]]  */
static const int y3[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0, 2, 1, 0};
static const int p3[] = {0, 0, 1, 0, 2, 1, 1, 0, 1, 2, 2, 1, 1, 1, 0, 1, 0, 0, 0, 0};
/* 20 x 3 probabilities, rows sum to 1 */
static const double P3[] = {
	0.34, 0.52, 0.14, 0.14, 0.43, 0.43, 0.32, 0.55, 0.13, 0.48, 0.02, 0.50, 0.42, 0.13, 0.45,
	0.51, 0.01, 0.48, 0.26, 0.46, 0.28, 0.61, 0.30, 0.09, 0.29, 0.57, 0.14, 0.07, 0.14, 0.79,
	0.52, 0.16, 0.32, 0.77, 0.19, 0.04, 0.46, 0.35, 0.19, 0.18, 0.37, 0.45, 0.25, 0.27, 0.48,
	0.62, 0.28, 0.10, 0.28, 0.52, 0.20, 0.22, 0.70, 0.08, 0.28, 0.19, 0.53, 0.37, 0.32, 0.31,
};

START_TEST(test_multiclass_vs_sklearn)
{
	struct eval_input in = {20, 3, y3, p3, P3, -1, 1};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	static const size_t want_conf[] = {5, 1, 1, 2, 4, 0, 2, 3, 2};
	for (int i = 0; i < 9; i++)
		ck_assert_uint_eq(m.confusion[i], want_conf[i]);
	ck_assert_uint_eq(m.class_support[0], 7);
	ck_assert_uint_eq(m.class_support[2], 7);

	ck_assert_double_eq_tol(m.accuracy.value, 0.55, TOL);
	ck_assert_uint_eq(m.accuracy.n, 20);
	/* precision_score / recall_score / f1_score, average=None */
	static const double prec[] = {0.55555555555555558, 0.5, 0.66666666666666663};
	static const double rec[] = {0.7142857142857143, 0.66666666666666663, 0.2857142857142857};
	static const double f1[] = {0.62500000000000011, 0.57142857142857151, 0.40000000000000002};
	for (int k = 0; k < 3; k++) {
		ck_assert_double_eq_tol(m.class_precision[k].value, prec[k], TOL);
		ck_assert_double_eq_tol(m.class_recall[k].value, rec[k], TOL);
		ck_assert_double_eq_tol(m.class_f1[k].value, f1[k], TOL);
		assert_contains(&m.class_precision[k], "class precision");
		assert_contains(&m.class_recall[k], "class recall");
		assert_contains(&m.class_f1[k], "class f1");
	}
	ck_assert_uint_eq(m.class_precision[0].n, 9); /* predicted 0 */
	ck_assert_uint_eq(m.class_recall[1].n, 6);    /* rows of class 1 */
	/* average='macro' and balanced_accuracy_score */
	ck_assert_double_eq_tol(m.macro_precision.value, 0.57407407407407407, TOL);
	ck_assert_double_eq_tol(m.macro_recall.value, 0.55555555555555547, TOL);
	ck_assert_double_eq_tol(m.macro_f1.value, 0.53214285714285714, TOL);
	ck_assert_double_eq_tol(m.balanced_accuracy.value, 0.55555555555555547, TOL);
	/* multiclass: the headline precision/recall/f1 are the macros */
	ck_assert_double_eq(m.precision.value, m.macro_precision.value);
	ck_assert_double_eq(m.f1.value, m.macro_f1.value);
	/* log_loss; brier = mean sum_k (p_k - y_k)^2 */
	ck_assert_double_eq_tol(m.log_loss.value, 1.4223750618740711, TOL);
	ck_assert_double_eq_tol(m.brier.value, 0.78715000000000002, TOL);
	/* roc_auc_score(multi_class='ovr', average='macro'); AP: mean over classes
	 * of average_precision_score(y == k, P[:, k]) */
	ck_assert_double_eq_tol(m.roc_auc.value, 0.48092185592185593, TOL);
	ck_assert_double_eq_tol(m.pr_auc.value, 0.38776859453551182, TOL);
	const char *names[] = {"accuracy", "balanced_accuracy", "precision", "recall", "f1",
			       "macro_f1", "roc_auc", "pr_auc", "log_loss", "brier", "ece"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct estimate *e = metrics_get(&m, names[i]);
		ck_assert_ptr_nonnull(e);
		ck_assert_ptr_null(e->reason);
		assert_contains(e, names[i]);
		ck_assert_uint_eq(e->n, 20);
	}
	metrics_free(&m);
	ck_assert_ptr_null(m.confusion);
}
END_TEST

/* ---- A binary example with tied scores ---- */
static const int yb[] = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1};
static const double sb[] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.35, 0.35, 0.7, 0.6};

static void binary_input(int *pred, double *P)
{
	for (int i = 0; i < 12; i++) {
		pred[i] = sb[i] >= 0.5;
		P[2 * i] = 1 - sb[i];
		P[2 * i + 1] = sb[i];
	}
}

START_TEST(test_binary_vs_sklearn)
{
	int pred[12];
	double P[24];
	binary_input(pred, P);
	struct eval_input in = {12, 2, yb, pred, P, 1, 7};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.accuracy.value, 0.66666666666666663, TOL);
	ck_assert_double_eq_tol(m.precision.value, 0.75, TOL);
	ck_assert_double_eq_tol(m.recall.value, 0.5, TOL);
	ck_assert_double_eq_tol(m.f1.value, 0.59999999999999998, TOL);
	ck_assert_uint_eq(m.precision.n, 4); /* predicted positives */
	ck_assert_uint_eq(m.recall.n, 6);    /* actual positives */
	/* roc_auc_score with ties (0.35 x3, 0.4 x3 across both classes) and the
	 * Hanley-McNeil interval, clipped at 1 */
	ck_assert_double_eq_tol(m.roc_auc.value, 0.72222222222222221, TOL);
	ck_assert_double_eq_tol(m.roc_auc.se, 0.15269147295570271, 1e-12);
	ck_assert_double_eq_tol(m.roc_auc.lo, 0.42295243448267322, 1e-12);
	ck_assert_double_eq(m.roc_auc.hi, 1.0);
	/* average_precision_score with the same ties; Boyd logit interval */
	ck_assert_double_eq_tol(m.pr_auc.value, 0.75357142857142856, TOL);
	ck_assert_double_eq_tol(m.pr_auc.lo, 0.32321265101219193, 1e-12);
	ck_assert_double_eq_tol(m.pr_auc.hi, 0.95141104283570954, 1e-12);
	/* log_loss and brier_score_loss, with se = sample sd / sqrt n */
	ck_assert_double_eq_tol(m.log_loss.value, 0.5700146422109954, TOL);
	ck_assert_double_eq_tol(m.log_loss.se, 0.11296895648336312, 1e-12);
	ck_assert_double_eq_tol(m.log_loss.lo, 0.5700146422109954 - 1.959963984540054 * 0.11296895648336312, 1e-12);
	ck_assert_double_eq_tol(m.brier.value, 0.1997916666666667, TOL);
	ck_assert_double_eq_tol(m.brier.se, 0.050969259092856621, 1e-12);
	/* Wilson interval on accuracy: 8 of 12 */
	ck_assert(m.accuracy.lo > 0.39 && m.accuracy.lo < 0.40);
	assert_contains(&m.f1, "f1");
	assert_contains(&m.balanced_accuracy, "balanced_accuracy");
	metrics_free(&m);

	/* The other class as positive: same AUC mirrored, recall of class 0. */
	in.positive = 0;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.roc_auc.value, 0.72222222222222221, TOL);
	ck_assert_double_eq_tol(m.recall.value, 5.0 / 6.0, TOL);
	metrics_free(&m);
}
END_TEST

START_TEST(test_accuracy_wilson)
{
	/* 8 correct of 10: Wilson [0.49016, 0.94332] */
	int y[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
	int pred[10] = {0, 1, 0, 1, 0, 1, 0, 1, 1, 0};
	struct eval_input in = {10, 2, y, pred, NULL, 1, 1};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.accuracy.value, 0.8, TOL);
	ck_assert_double_eq_tol(m.accuracy.lo, 0.49016247153664178, TOL);
	ck_assert_double_eq_tol(m.accuracy.hi, 0.94331784854562484, TOL);
	ck_assert_double_eq_tol(m.accuracy.se, sqrt(0.8 * 0.2 / 10), TOL);
	metrics_free(&m);
}
END_TEST

START_TEST(test_ece_hand)
{
	/* Binary, pred = argmax. Confidences and correctness:
	 *   bin [0.9, 1.0]: 0.92 0.98 0.95 0.95, 3 of 4 correct: conf 0.95, acc 0.75
	 *   bin [0.6, 0.7): 0.62 0.68 0.65 0.65, 2 of 4 correct: conf 0.65, acc 0.50
	 *   bin [0.5, 0.6): 0.55 0.55,           2 of 2 correct: conf 0.55, acc 1.00
	 * ECE = 0.4 * 0.20 + 0.4 * 0.15 + 0.2 * 0.45 = 0.23 */
	double conf[] = {0.92, 0.98, 0.95, 0.95, 0.62, 0.68, 0.65, 0.65, 0.55, 0.55};
	int pred[] = {1, 0, 1, 0, 1, 1, 0, 0, 1, 0};
	int ok[] = {1, 1, 1, 0, 1, 0, 1, 0, 1, 1};
	int y[10];
	double P[20];
	for (int i = 0; i < 10; i++) {
		y[i] = ok[i] ? pred[i] : 1 - pred[i];
		P[2 * i + pred[i]] = conf[i];
		P[2 * i + 1 - pred[i]] = 1 - conf[i];
	}
	struct eval_input in = {10, 2, y, pred, P, 1, 3};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.ece.value, 0.23, TOL);
	ck_assert_uint_eq(m.bins[9].n, 4);
	ck_assert_double_eq_tol(m.bins[9].confidence, 0.95, TOL);
	ck_assert_double_eq_tol(m.bins[9].accuracy, 0.75, TOL);
	ck_assert_uint_eq(m.bins[6].n, 4);
	ck_assert_double_eq_tol(m.bins[6].accuracy, 0.5, TOL);
	ck_assert_uint_eq(m.bins[5].n, 2);
	ck_assert_double_eq_tol(m.bins[5].lo, 0.5, TOL);
	ck_assert_double_eq_tol(m.bins[5].hi, 0.6, TOL);
	ck_assert_uint_eq(m.bins[0].n, 0);
	ck_assert(isnan(m.bins[0].confidence) && isnan(m.bins[0].accuracy));
	assert_contains(&m.ece, "ece");
	ck_assert(m.ece.hi > m.ece.lo);
	ck_assert_int_eq(metric_higher_is_better("ece"), 0);
	metrics_free(&m);
}
END_TEST

START_TEST(test_undefined_cases)
{
	struct eval_metrics m;
	/* one class present in y: ranking metrics undefined; never predicted
	 * positive: precision undefined; no positive rows: recall undefined */
	int y[6] = {0, 0, 0, 0, 0, 0};
	int pred[6] = {0, 0, 0, 0, 0, 0};
	double P[12];
	for (int i = 0; i < 6; i++)
		P[2 * i] = 0.8, P[2 * i + 1] = 0.2;
	struct eval_input in = {6, 2, y, pred, P, 1, 1};
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	assert_undefined(&m.roc_auc, "only one class present", "roc_auc");
	assert_undefined(&m.pr_auc, "only one class present", "pr_auc");
	assert_undefined(&m.precision, "no predicted positives", "precision");
	assert_undefined(&m.recall, "no rows of the positive class", "recall");
	assert_undefined(&m.class_f1[1], "class absent from labels and predictions", "f1");
	assert_undefined(&m.f1, "class absent from labels and predictions", "f1");
	ck_assert(isnan(m.roc_auc.lo) && isnan(m.roc_auc.hi));
	/* still defined: accuracy, log_loss, brier, ece */
	ck_assert_double_eq(m.accuracy.value, 1.0);
	ck_assert_double_eq_tol(m.log_loss.value, -log(0.8), TOL);
	ck_assert_double_eq_tol(m.brier.value, 0.04, TOL);
	metrics_free(&m);

	/* actual positives exist but none predicted: precision NAN, recall 0, f1 0 */
	int y2[6] = {0, 1, 0, 1, 0, 0};
	in.y = y2;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	assert_undefined(&m.precision, "no predicted positives", "precision");
	ck_assert_double_eq(m.recall.value, 0.0);
	ck_assert_double_eq(m.f1.value, 0.0);
	/* in the macro a never-predicted class counts as precision 0 */
	ck_assert_double_eq_tol(m.macro_precision.value, (4.0 / 6.0 + 0.0) / 2, TOL);
	metrics_free(&m);

	/* no probabilities */
	in.proba = NULL;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	const char *prob_metrics[] = {"roc_auc", "pr_auc", "log_loss", "brier", "ece"};
	for (int i = 0; i < 5; i++) {
		const struct estimate *e = metrics_get(&m, prob_metrics[i]);
		assert_undefined(e, "no probability column", prob_metrics[i]);
		ck_assert_uint_eq(e->n, 6);
	}
	metrics_free(&m);

	/* a missing probability */
	P[5] = NAN;
	in.proba = P;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	assert_undefined(&m.log_loss, "missing probabilities", "log_loss");
	metrics_free(&m);

	/* no rows at all */
	struct eval_input empty = {0, 2, NULL, NULL, NULL, 1, 1};
	ck_assert_int_eq(metrics_compute(&empty, &m), 0);
	assert_undefined(&m.accuracy, "no rows", "accuracy");
	assert_undefined(&m.balanced_accuracy, "no rows", "balanced_accuracy");
	assert_undefined(&m.macro_f1, "no rows", "macro_f1");
	assert_undefined(&m.ece, "no rows", "ece");
	metrics_free(&m);

	/* multiclass with a class absent from y: per-class recall undefined */
	int y3c[4] = {0, 1, 0, 1}, p3c[4] = {0, 2, 0, 1};
	struct eval_input mc = {4, 3, y3c, p3c, NULL, -1, 1};
	ck_assert_int_eq(metrics_compute(&mc, &m), 0);
	assert_undefined(&m.class_recall[2], "no rows of this class", "recall[2]");
	ck_assert_double_eq(m.class_precision[2].value, 0.0);
	/* macro over classes present in y (0 and 1) */
	ck_assert_double_eq_tol(m.macro_recall.value, (1.0 + 0.5) / 2, TOL);
	metrics_free(&m);
}
END_TEST

START_TEST(test_bad_input)
{
	struct eval_metrics m;
	int y[3] = {0, 1, 3}, pred[3] = {0, 1, 1};
	struct eval_input in = {3, 2, y, pred, NULL, 1, 1};
	mla_error_clear();
	ck_assert_int_eq(metrics_compute(&in, &m), -1);
	ck_assert(strstr(mla_error_message(), "y[2]") != NULL);
	ck_assert_ptr_null(m.confusion);
	metrics_free(&m);
	mla_error_clear();
	y[2] = 1;
	in.positive = 2;
	ck_assert_int_eq(metrics_compute(&in, &m), -1);
	mla_error_clear();
}
END_TEST

START_TEST(test_bootstrap_deterministic)
{
	struct eval_input in = {20, 3, y3, p3, P3, -1, 12345};
	struct eval_metrics a, b, c;
	ck_assert_int_eq(metrics_compute(&in, &a), 0);
	ck_assert_int_eq(metrics_compute(&in, &b), 0);
	in.seed = 999;
	ck_assert_int_eq(metrics_compute(&in, &c), 0);
	const char *boot[] = {"balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "ece"};
	int differs = 0;
	for (int i = 0; i < 5; i++) {
		const struct estimate *ea = metrics_get(&a, boot[i]), *eb = metrics_get(&b, boot[i]),
				      *ec = metrics_get(&c, boot[i]);
		ck_assert_msg(ea->lo == eb->lo && ea->hi == eb->hi && ea->se == eb->se,
			      "%s not deterministic", boot[i]);
		assert_contains(ea, boot[i]);
		ck_assert(ea->se > 0);
		differs |= ea->lo != ec->lo || ea->hi != ec->hi;
		ck_assert(ea->value == ec->value); /* the point estimate never depends on the seed */
	}
	ck_assert_msg(differs, "another seed gave identical intervals");
	for (int k = 0; k < 3; k++)
		ck_assert(a.class_f1[k].lo == b.class_f1[k].lo && a.class_f1[k].hi == b.class_f1[k].hi);
	metrics_free(&a);
	metrics_free(&b);
	metrics_free(&c);
}
END_TEST

START_TEST(test_bootstrap_width)
{
	/* The confusion-matrix bootstrap must be as wide as a row bootstrap:
	 * for balanced accuracy (r0 + r1) / 2 with recalls r0 = 0.8 of 600 and
	 * r1 = 0.6 of 400, the delta-method se is
	 * sqrt(0.8*0.2/600 + 0.6*0.4/400) / 2 = 0.01414. */
	enum { N = 1000 };
	int *y = xmalloc(N * sizeof *y), *pred = xmalloc(N * sizeof *pred);
	for (int i = 0; i < N; i++) {
		y[i] = i < 600 ? 0 : 1;
		pred[i] = i < 600 ? (i < 480 ? 0 : 1) : (i < 840 ? 1 : 0);
	}
	struct eval_input in = {N, 2, y, pred, NULL, 1, 5};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.balanced_accuracy.value, 0.7, TOL);
	double want = sqrt(0.8 * 0.2 / 600 + 0.6 * 0.4 / 400) / 2;
	ck_assert_msg(fabs(m.balanced_accuracy.se / want - 1) < 0.1, "bootstrap se %g, expected %g",
		      m.balanced_accuracy.se, want);
	ck_assert_msg(fabs((m.balanced_accuracy.hi - m.balanced_accuracy.lo) / (2 * 1.96 * want) - 1) < 0.12,
		      "interval [%g, %g]", m.balanced_accuracy.lo, m.balanced_accuracy.hi);
	metrics_free(&m);
	free(y);
	free(pred);
}
END_TEST

START_TEST(test_best_threshold)
{
	/* sorted by score: 0.9+ 0.7+ 0.5- 0.35+ 0.3- 0.1-; P = N = 3.
	 * accuracy by threshold: none 3/6, 4/6, 5/6 (t = 0.6), 4/6, 5/6 (t = 0.325), 4/6, 3/6;
	 * f1: 0, 1/2, 4/5, 2/3, 6/7 (t = 0.325), 3/4, 2/3 */
	int y[] = {0, 0, 1, 0, 1, 1};
	double p[] = {0.1, 0.3, 0.35, 0.5, 0.7, 0.9};
	double thr, best, at;
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "accuracy", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 5.0 / 6.0, TOL);
	ck_assert_double_eq_tol(thr, 0.6, TOL); /* of the two best, nearest to 0.5 */
	ck_assert_double_eq_tol(at, 4.0 / 6.0, TOL);
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "accuracy", 0.3, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(thr, 0.325, TOL);
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "f1", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 6.0 / 7.0, TOL);
	ck_assert_double_eq_tol(thr, 0.325, TOL);
	ck_assert_double_eq_tol(at, 2.0 / 3.0, TOL);
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "recall", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 6.0 / 7.0, TOL); /* searched as f1 */
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "balanced_accuracy", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 5.0 / 6.0, TOL);

	/* ties in score: a group moves together */
	int y2[] = {1, 0, 1, 0};
	double p2[] = {0.8, 0.8, 0.8, 0.2};
	ck_assert_int_eq(metrics_best_threshold(y2, p2, 4, 1, "accuracy", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 0.75, TOL);
	ck_assert_double_eq_tol(thr, 0.5, TOL);

	/* nobody positive is best: threshold above the top score */
	int y3b[] = {1, 0, 0, 0, 0};
	double p3b[] = {0.1, 0.9, 0.8, 0.7, 0.6};
	ck_assert_int_eq(metrics_best_threshold(y3b, p3b, 5, 1, "accuracy", 0.5, &thr, &best, &at), 0);
	ck_assert_double_eq_tol(best, 0.8, TOL);
	ck_assert(thr > 0.9);

	/* one class only: NAN values; unknown metric: error */
	int y4[] = {1, 1};
	double p4[] = {0.3, 0.6};
	ck_assert_int_eq(metrics_best_threshold(y4, p4, 2, 1, "f1", 0.5, &thr, &best, &at), 0);
	ck_assert(isnan(best) && isnan(at));
	ck_assert_double_eq(thr, 0.5);
	mla_error_clear();
	ck_assert_int_eq(metrics_best_threshold(y, p, 6, 1, "roc_auc", 0.5, &thr, &best, &at), -1);
	mla_error_clear();
}
END_TEST

/* accuracy (0), f1 (1) or balanced accuracy (2) when predicting s >= thr */
static double brute_threshold_value(int w, const int *y, const double *s, int n, double thr)
{
	double tp = 0, fp = 0, P = 0, N = 0;
	for (int j = 0; j < n; j++) {
		P += y[j];
		N += !y[j];
		if (s[j] >= thr) {
			tp += y[j];
			fp += !y[j];
		}
	}
	return w == 0 ? (tp + N - fp) / (P + N) : w == 1 ? 2 * tp / (tp + fp + P) : (tp / P + (N - fp) / N) / 2;
}

/* Above 512 rows the scores go through a radix sort: check AUC, AP and the
 * threshold search there against brute force O(n^2) definitions, on scores
 * with many ties, negative values and both zeros. */
START_TEST(test_sorted_paths_brute_force)
{
	enum { N = 1500 };
	int *y = xmalloc(N * sizeof *y), *pred = xmalloc(N * sizeof *pred);
	double *P = xmalloc(2 * N * sizeof *P), *s = xmalloc(N * sizeof *s);
	struct rng r;
	rng_seed(&r, 77);
	for (int i = 0; i < N; i++) {
		y[i] = rng_uniform(&r) < 0.4;
		double v = round((rng_uniform(&r) + 0.3 * y[i]) * 40) / 40; /* 53 distinct values */
		P[2 * i + 1] = v / 1.3;
		P[2 * i] = 1 - P[2 * i + 1];
		pred[i] = P[2 * i + 1] >= 0.5;
		s[i] = v - 0.5;
		if (s[i] == 0.0 && i % 2)
			s[i] = -0.0;
	}
	/* brute force: AUC = P(s+ > s-) + P(s+ = s-)/2; AP from its definition */
	double u = 0, npos = 0, nneg = 0;
	for (int i = 0; i < N; i++) {
		npos += y[i];
		nneg += !y[i];
		if (!y[i])
			continue;
		for (int j = 0; j < N; j++)
			if (!y[j])
				u += P[2 * i + 1] > P[2 * j + 1] ? 1.0 : P[2 * i + 1] == P[2 * j + 1] ? 0.5 : 0.0;
	}
	double ap = 0;
	for (int t = 0; t <= 60; t++) { /* every distinct score is some k/40/1.3 */
		double thr = t / 40.0 / 1.3, tp = 0, fp = 0, tpa = 0;
		int any = 0;
		for (int i = 0; i < N; i++) {
			if (P[2 * i + 1] >= thr) {
				tp += y[i];
				fp += !y[i];
			}
			if (P[2 * i + 1] == thr) {
				tpa += y[i];
				any = 1;
			}
		}
		if (any)
			ap += tpa / npos * tp / (tp + fp);
	}
	struct eval_input in = {N, 2, y, pred, P, 1, 1};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert_double_eq_tol(m.roc_auc.value, u / (npos * nneg), 1e-12);
	ck_assert_double_eq_tol(m.pr_auc.value, ap, 1e-12);
	metrics_free(&m);

	/* threshold search: the best value over thresholds at each distinct score
	 * (and "nobody positive"), and the returned threshold really gives it */
	const char *names[] = {"accuracy", "f1", "balanced_accuracy"};
	for (int w = 0; w < 3; w++) {
		double best_bf = brute_threshold_value(w, y, s, N, INFINITY), thr, best, at;
		for (int i = 0; i < N; i++) {
			double v = brute_threshold_value(w, y, s, N, s[i]);
			if (v > best_bf)
				best_bf = v;
		}
		ck_assert_int_eq(metrics_best_threshold(y, s, N, 1, names[w], 0.0, &thr, &best, &at), 0);
		ck_assert_double_eq_tol(best, best_bf, 1e-12);
		ck_assert_double_eq_tol(brute_threshold_value(w, y, s, N, thr), best, 1e-12);
		ck_assert_double_eq_tol(brute_threshold_value(w, y, s, N, 0.0), at, 1e-12);
	}
	free(y);
	free(pred);
	free(P);
	free(s);
}
END_TEST

START_TEST(test_names)
{
	ck_assert(metric_known("accuracy") && metric_known("pr_auc") && metric_known("macro_f1"));
	ck_assert(!metric_known("auc") && !metric_known(NULL));
	ck_assert_int_eq(metric_higher_is_better("roc_auc"), 1);
	ck_assert_int_eq(metric_higher_is_better("log_loss"), 0);
	ck_assert_int_eq(metric_higher_is_better("brier"), 0);
	struct eval_metrics m;
	memset(&m, 0, sizeof m);
	ck_assert_ptr_eq(metrics_get(&m, "brier"), &m.brier);
	ck_assert_ptr_null(metrics_get(&m, "nope"));
	metrics_free(&m); /* safe on a zeroed struct */
}
END_TEST

/* 1M rows, binary with probabilities, and 300k rows of 5 classes: makes sure
 * the sort-based paths finish (no O(n^2)); no timing assertion. */
START_TEST(test_large)
{
	enum { N = 1000000 };
	int *y = xmalloc(N * sizeof *y), *pred = xmalloc(N * sizeof *pred);
	double *P = xmalloc(5 * (size_t)N * sizeof *P);
	struct rng r;
	rng_seed(&r, 11);
	for (size_t i = 0; i < N; i++) {
		y[i] = rng_uniform(&r) < 0.3;
		/* a score that ranks positives higher, rounded to create many ties */
		double s = 1.0 / (1.0 + exp(-(rng_normal(&r) + (y[i] ? 1.0 : -1.0))));
		s = round(s * 1000) / 1000;
		P[2 * i] = 1 - s;
		P[2 * i + 1] = s;
		pred[i] = s >= 0.5;
	}
	struct eval_input in = {N, 2, y, pred, P, 1, 1};
	struct eval_metrics m;
	ck_assert_int_eq(metrics_compute(&in, &m), 0);
	ck_assert(m.roc_auc.value > 0.8 && m.roc_auc.value < 0.95);
	assert_contains(&m.roc_auc, "roc_auc");
	assert_contains(&m.f1, "f1");
	assert_contains(&m.ece, "ece");
	ck_assert(m.roc_auc.hi - m.roc_auc.lo < 0.01);
	double thr, best, at, *s = xmalloc(N * sizeof *s);
	for (size_t i = 0; i < N; i++)
		s[i] = P[2 * i + 1];
	ck_assert_int_eq(metrics_best_threshold(y, s, N, 1, "f1", 0.5, &thr, &best, &at), 0);
	ck_assert(best >= at);
	free(s);
	metrics_free(&m);

	enum { N5 = 300000 };
	for (size_t i = 0; i < N5; i++) {
		y[i] = (int)rng_below(&r, 5);
		double sum = 0;
		for (int k = 0; k < 5; k++)
			sum += P[i * 5 + k] = rng_uniform(&r) + (k == y[i]);
		int arg = 0;
		for (int k = 0; k < 5; k++) {
			P[i * 5 + k] /= sum;
			if (P[i * 5 + k] > P[i * 5 + arg])
				arg = k;
		}
		pred[i] = arg;
	}
	struct eval_input in5 = {N5, 5, y, pred, P, -1, 1};
	ck_assert_int_eq(metrics_compute(&in5, &m), 0);
	ck_assert(m.roc_auc.value > 0.6);
	assert_contains(&m.macro_f1, "macro_f1");
	metrics_free(&m);
	free(y);
	free(pred);
	free(P);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_multiclass_vs_sklearn);
	tcase_add_test(tc, test_binary_vs_sklearn);
	tcase_add_test(tc, test_accuracy_wilson);
	tcase_add_test(tc, test_ece_hand);
	tcase_add_test(tc, test_undefined_cases);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_bootstrap_deterministic);
	tcase_add_test(tc, test_bootstrap_width);
	tcase_add_test(tc, test_best_threshold);
	tcase_add_test(tc, test_sorted_paths_brute_force);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	TCase *big = tcase_create("large");
	tcase_set_timeout(big, 120); /* sanitizer builds are several times slower */
	tcase_add_test(big, test_large);
	suite_add_tcase(s, big);
	return s;
}
