/* points.h - single points: the audited model's most confident mistakes,
 * one by one, for the report's step 1 ("single points") and step 3.
 *
 * On the latest later split with evaluated rows (test when no current split
 * has labels), the POINTS_ROWS wrong rows with the highest confidence (the
 * model's probability of its predicted class; the surrogate's when the model
 * gives only predictions, and the json says so). For each:
 *  - the surrogate's gradient-times-input attribution of the log-odds of the
 *    model's predicted class (log p would saturate on confident rows), summed over each source column's encoded
 *    columns (the reference point is the encoded zero: train's mean for a
 *    numeric column, no level for a categorical one), the POINTS_TOP largest
 *    by absolute value with the row's raw value as text;
 *  - the POINTS_NEIGHBOURS nearest train rows (Euclidean distance in the
 *    encoded space, over the surrogate's seeded train sample), and over the
 *    POINTS_K nearest, the model's accuracy there (95% Wilson interval) and
 *    the share of neighbours whose label is the row's label.
 * No finding: the rows feed the report. */
#ifndef MLA_POINTS_H
#define MLA_POINTS_H

#include <jansson.h>
#include <stddef.h>

#include "rcdata.h"
#include "rcprobe.h"
#include "surrogate.h"

#define POINTS_ROWS 10
#define POINTS_TOP 5
#define POINTS_NEIGHBOURS 5
#define POINTS_K 50

/** Set analysis "points" (or "points_skipped" with the reason). Needs the
 * trained surrogate `s` (surrogate_run). Returns 0. */
int points_run(const struct rc_data *d, const struct rc_probes *p, const struct surrogate *s, json_t *analysis);

/** The k nearest of the n rows of x (n x dim, row-major) to q (dim values),
 * by Euclidean distance, ties by row: idx and dist (both room for k) receive
 * them nearest first. Returns min(k, n). */
size_t points_nearest(const float *x, size_t n, size_t dim, const float *q, size_t k, size_t *idx, double *dist);

#endif
