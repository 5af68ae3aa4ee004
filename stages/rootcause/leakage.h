/* leakage.h - single columns that predict the label on their own.
 *
 * For a binary task, each feature's ROC-AUC against the label on train:
 * numeric columns by their raw value (no fitting, so in-sample is fair),
 * categorical ones by the per-level label rate, cross-fitted (the rate of a
 * level is learnt on the other half of train, split by row parity, smoothed
 * toward the overall rate with LEAKAGE_SMOOTH pseudo-rows) so that an id-like
 * column does not score 1 by memorising. The AUC reported is max(AUC, 1 - AUC):
 * a value can predict either way.
 *
 * A multiclass task bins numeric columns (LEAKAGE_BINS quantile bins) and
 * scores each class by the cross-fitted class rates of a row's bin or level;
 * its AUC is the mean of the one-vs-rest AUCs.
 *
 * `leakage` finding: AUC >= LEAKAGE_AUC (high), or AUC >= LEAKAGE_FAR_AUC and
 * at least LEAKAGE_FAR_GAP above every other column (medium). */
#ifndef MLA_LEAKAGE_H
#define MLA_LEAKAGE_H

#include <jansson.h>
#include <stdint.h>

#include "rcdata.h"

#define LEAKAGE_AUC 0.95
#define LEAKAGE_FAR_AUC 0.85
#define LEAKAGE_FAR_GAP 0.15
#define LEAKAGE_SMOOTH 10.0
#define LEAKAGE_BINS 20          /* multiclass: quantile bins of a numeric column */
/* Larger splits are sampled systematically (every k-th row) down to this:
 * an AUC's standard error at 200,000 rows is below 0.002, far inside the
 * margins of the rules, and the sorts behind it cost a fifth of a million-row
 * train's. */
#define LEAKAGE_MAX_ROWS 200000

/** AUC of column j of split s as a score for target[i] in {0, 1} (-1: row
 * left out), before folding (may be below 0.5), on every k-th row of the split
 * (at most LEAKAGE_MAX_ROWS). *npos and *nneg receive the
 * rows used (missing values of a numeric column left out; missing is a level
 * of a categorical one). NAN when a class is absent. */
double leakage_feature_auc(struct rc_data *d, size_t s, size_t j, const int8_t *target, size_t *npos,
			   size_t *nneg);

/** Per-row target "label is the positive class" (or "prediction is", with
 * use_pred) of split s: 1, 0, or -1 when unknown. NULL for a multiclass task
 * or when the split has no such column. Caller frees. */
int8_t *leakage_target(const struct rc_data *d, size_t s, int use_pred);

/** Append leakage findings and analysis "leakage" (every column's AUC with
 * its Hanley-McNeil interval, best first; for multiclass the interval takes
 * one class against the rest at an even split of the rows). Returns 0. */
int leakage_run(struct rc_data *d, json_t *findings, json_t *analysis);

#endif
