/* errtree.h - the surrogate error tree: a shallow CART fitted to whether the
 * audited model erred, on the features and segments of one split.
 *
 * Numeric columns are cut into ERRTREE_BINS quantile bins of the split (a
 * split point is a bin edge, so a node costs one histogram pass over its rows
 * per column); categorical columns keep their ERRTREE_LEVELS most frequent
 * levels, the rest pooled as "other", and split by the optimal ordering of
 * levels by error rate (exact for a binary target). Missing values form their
 * own bin and go to whichever side is better. Splits minimise Gini impurity;
 * each child needs `minleaf` rows. */
#ifndef MLA_ERRTREE_H
#define MLA_ERRTREE_H

#include <jansson.h>
#include <stdint.h>

#include "rcdata.h"
#include "slicecond.h"

#define ERRTREE_BINS 32
#define ERRTREE_LEVELS 31

struct errtree_leaf {
	struct slice_cond *conds;   /* the path, one condition per column (ranges and sets merged) */
	size_t nconds;
	size_t rows, errs;
	uint64_t *bits;             /* the leaf's rows among the split's evaluated rows */
};

struct errtree {
	json_t *nodes;              /* every node, for the report: id, parent, depth, condition, rows, errors */
	struct errtree_leaf *leaves;
	size_t nleaves;
};

/** Fit the tree on split s: ridx[0..m) are the evaluated rows (frame
 * indices) and err[r] whether the model erred on ridx[r]. Depth at most
 * maxdepth. Fills *out (free with errtree_free). Returns 0. */
int errtree_fit(struct rc_data *d, size_t s, const size_t *ridx, const uint8_t *err, size_t m, size_t minleaf,
		int maxdepth, struct errtree *out);

void errtree_free(struct errtree *t);

#endif
