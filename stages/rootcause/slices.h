/* slices.h - step 2's error slices: where in a split does the audited model
 * err more than elsewhere.
 *
 * Per evaluated split after train (test, each current split), two searches
 * feed one ranked list:
 *  - the surrogate error tree (errtree.h), depth <= 3, leaves of at least
 *    max(30, 1% of the rows);
 *  - conjunctions of up to three conditions (SliceFinder / SliceLine in
 *    spirit): a condition is a quantile bin of a numeric column (5 bins of the
 *    split, cut points rounded to 2 significant digits; a column with at most
 *    6 values gets one condition per value), one of the 10 most frequent levels
 *    of a categorical column, or "is missing". Pairs are searched exhaustively
 *    over conditions of different columns; triples extend the best SLICES_BEAM
 *    pairs. A conjunction counts only if it errs more than each of its
 *    sub-conjunctions without it (the rest of the parent: two-proportion p <
 *    0.001 and at least 1.15x the parent's rate), so a slice is never a
 *    restatement of a wider one.
 * Every slice with its support and more errors than the rest of the split is
 * tested against the rest (two-sided two-proportion z test); Benjamini-
 * Hochberg runs over all slices of the run. Significant slices (q < 0.05)
 * with ratio >= SLICES_MIN_RATIO are ranked by the lower 95% Wilson bound of
 * their error rate over the rest's rate; a slice whose rows overlap a better
 * one's by half of the smaller is dropped; at most SLICES_LISTED remain.
 *
 * Rows and errors are counted with bitsets over the split's evaluated rows:
 * a conjunction costs a few AND + popcount passes, never a pass over the data. */
#ifndef MLA_SLICES_H
#define MLA_SLICES_H

#include <jansson.h>

#include "rcdata.h"
#include "../../pipeline/util.h"

#define SLICES_BINS 5
#define SLICES_LEVELS 10
#define SLICES_BEAM 32
#define SLICES_MIN_SHARE 0.01
#define SLICES_MIN_ROWS 30
#define SLICES_MIN_RATIO 1.25
#define SLICES_LISTED 10
#define SLICES_FINDINGS 5      /* per split, the best listed slices become findings */
#define SLICES_Q 0.05
#define SLICES_TREE_DEPTH 3

/** Run both searches on every evaluated split after train. Appends
 * error_slice findings, slices.csv (header and rows: every tree leaf, the
 * listed slices and the next best candidates) and analysis "slices" (the trees,
 * the listed slices, the method). Data mode (no model outputs): nothing but a
 * note. Returns 0. */
int slices_run(struct rc_data *d, json_t *findings, struct strbuf *csv, json_t *analysis);

#endif
