/* metrics.h - classification metrics with 95% confidence intervals.
 *
 * Pure computation over arrays the caller owns: no I/O, no JSON. A metric that
 * cannot be computed on the given rows is NAN with a reason, never 0, so a
 * report can say "no predicted positives" instead of showing a fake number.
 *
 * Definitions and intervals (all intervals are 95%):
 * - accuracy, and precision / recall of one class: the proportion with a
 *   Wilson score interval over rows, predicted positives and actual positives.
 * - F1 of a class = 2 TP / (2 TP + FP + FN); balanced accuracy = mean recall
 *   over the classes present in y; macro precision / recall / F1 = mean over
 *   the classes present in y, a class never predicted counting as precision 0
 *   (as sklearn's zero_division=0 does: a model that ignores a class gets no
 *   credit for it). Intervals: percentile bootstrap over the confusion matrix
 *   (B = 1000), see metrics.c.
 * - roc_auc: Mann-Whitney with midranks for ties; interval from the Hanley &
 *   McNeil (1982) standard error, clipped to [0, 1].
 * - pr_auc: average precision, the step sum over distinct score thresholds
 *   sum (R_i - R_{i-1}) P_i (sklearn's average_precision_score); logit
 *   interval of Boyd et al. (2013).
 * - log_loss = mean -log(max(p_true, 1e-15)); brier = mean sum_k (p_k - [y=k])^2
 *   over classes (binary: mean (p_pos - y)^2); intervals mean +- 1.96 sd/sqrt n.
 * - ece: 10 equal-width bins of the predicted class's probability,
 *   sum_b n_b/n |acc_b - conf_b|; interval by a bootstrap over bins.
 * - Binary (positive >= 0): precision, recall, f1, roc_auc, pr_auc are those
 *   of the positive class. Multiclass (positive = -1): they are macro averages,
 *   roc_auc and pr_auc one-vs-rest over the classes present in y. */
#ifndef MLA_METRICS_H
#define MLA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_NBINS 10       /* reliability bins for ece */
#define METRICS_BOOTSTRAP 1000 /* bootstrap replicates */

/* One number with its 95% interval. */
struct estimate {
	double value;        /* NAN when undefined; then `reason` says why */
	double lo, hi;       /* interval; NAN when value is NAN or no interval exists (n < 2 for means) */
	double se;           /* standard error (bootstrap: sd of the replicates) */
	size_t n;            /* rows the estimate rests on (e.g. predicted positives for precision) */
	const char *reason;  /* static string, NULL when value is defined */
};

struct eval_input {
	size_t n;
	int nclasses;            /* classes indexed 0..K-1 */
	const int *y;            /* true class, n entries */
	const int *pred;         /* predicted class, n entries (required) */
	const double *proba;     /* n x K row-major class probabilities, or NULL */
	int positive;            /* binary: index of the positive class; -1 for multiclass */
	uint64_t seed;           /* for the bootstraps */
};

struct reliability_bin {
	double lo, hi;           /* [lo, hi) of confidence; the last bin includes 1 */
	double confidence;       /* mean confidence in the bin, NAN when empty */
	double accuracy;         /* fraction of its rows predicted correctly, NAN when empty */
	size_t n;
};

struct eval_metrics {
	int nclasses;
	size_t n;
	/* binary: of the positive class; multiclass: macro */
	struct estimate accuracy, balanced_accuracy, precision, recall, f1,
		macro_precision, macro_recall, macro_f1, roc_auc, pr_auc, log_loss, brier, ece;
	struct estimate *class_precision, *class_recall, *class_f1; /* K each */
	size_t *class_support;   /* K: rows of each class in y */
	size_t *confusion;       /* K x K, [true * K + pred] */
	struct reliability_bin bins[METRICS_NBINS]; /* of the predicted class's probability */
};

/** Compute every metric of `in` into *out (overwritten; release it with
 * metrics_free). Returns 0, or -1 with an internal error recorded when the
 * input is malformed (a class index outside 0..K-1, K < 1, y or pred NULL); then
 * *out holds nothing to free. Deterministic for a fixed in->seed. */
int metrics_compute(const struct eval_input *in, struct eval_metrics *out);

/** Free the arrays inside m (not m itself) and zero it. Safe on a zeroed struct. */
void metrics_free(struct eval_metrics *m);

/** The estimate called `name` ("accuracy", "balanced_accuracy", "precision",
 * "recall", "f1", "macro_precision", "macro_recall", "macro_f1", "roc_auc",
 * "pr_auc", "log_loss", "brier", "ece"); points into m. NULL if unknown. */
const struct estimate *metrics_get(const struct eval_metrics *m, const char *name);

/** 1 when a larger value is better, 0 for log_loss, brier and ece (and for
 * unknown names). */
int metric_higher_is_better(const char *name);

/** 1 when metrics_get knows `name`. */
int metric_known(const char *name);

/** Threshold search on binary scores: predict positive when p_pos >= t, and
 * find the t maximising `metric` over all distinct thresholds of (y, p_pos)
 * in O(n log n). metric is "accuracy", "f1" or "balanced_accuracy";
 * "precision" and "recall" are searched as "f1" (maximising either alone is
 * trivial: predict nobody or everybody) and the caller should say so.
 * *best_thr is the midpoint between the lowest score predicted positive and
 * the next lower distinct score (the lowest score itself when everyone is
 * positive; just above the top score when nobody is); ties in value go to the
 * threshold nearest `at`. *val_at is the metric at threshold `at`.
 * Returns 0; with only one class in y the values are NAN and *best_thr = at.
 * Returns -1 (internal error recorded) for an unknown metric or NAN scores. */
int metrics_best_threshold(const int *y, const double *p_pos, size_t n, int positive,
			   const char *metric, double at, double *best_thr, double *best_val,
			   double *val_at);

#endif
