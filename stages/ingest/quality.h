/* quality.h - the data profile of a frame (ingest/quality.json).
 *
 * Counts and distributions per column plus whole-table signals (duplicate
 * rows, constant columns) that the data_quality findings and the report's
 * data-profile appendix are built from. */
#ifndef MLA_QUALITY_H
#define MLA_QUALITY_H

#include <jansson.h>

#include "frame.h"

/** The profile of frame `f` as a new JSON object (caller decrefs):
 *   {"rows": N, "duplicate_rows": k, "constant_columns": [names],
 *    "columns": [{"name", "type", "role", "missing", "missing_rate",
 *                 "distinct", "bad_numeric",
 *                 numeric/boolean: "min", "max", "mean", "std",
 *                   "quantiles": {"p01","p05","p25","p50","p75","p95","p99"},
 *                 categorical: "top": [{"value", "count"}] (10 most frequent,
 *                   ties by value), and where bad_numeric > 0:
 *                 "first_bad_line", "first_bad_value"}]}
 * "missing" counts missing markers; "bad_numeric" the non-numbers of a numeric
 * column (also stored as missing). "distinct" counts distinct non-missing
 * values; a column is constant when it has at most one. "duplicate_rows" is
 * the number of rows equal to an earlier row in every column except the id.
 * Quantiles are exact (linear interpolation between order statistics, as
 * numpy's default); "std" is the sample standard deviation (n - 1). A value
 * that is not finite (or undefined, like the std of one value) is null. */
json_t *quality_profile(const struct frame *f);

#endif
