/* slicecond.h - one condition on a column ("x1 in [0.5, 1.2)", "region=west",
 * "x3 is missing"), as the error tree and the slice search build them; and
 * bitsets over rows, the representation both use to count a conjunction's rows
 * and errors without revisiting the data. */
#ifndef MLA_SLICECOND_H
#define MLA_SLICECOND_H

#include <stddef.h>
#include <stdint.h>

#include "rcdata.h"
#include "../../pipeline/util.h"

enum cond_kind {
	COND_RANGE,     /* lo <= x < hi (lo = -inf or hi = +inf for an open end) */
	COND_EQ,        /* x == lo (numeric columns with few values) */
	COND_LEVELS,    /* the level is in (or, negate, not in) levels[] */
	COND_MISSING    /* the value is missing */
};

struct slice_cond {
	size_t col;           /* index into rc_data.cols */
	enum cond_kind kind;
	double lo, hi;
	int32_t *levels;      /* COND_LEVELS: unified level ids, owned */
	size_t nlevels;
	int negate;           /* COND_LEVELS: the level is none of levels[] (missing excluded) */
	int or_missing;       /* missing values satisfy it too (a tree sends them to one side) */
};

/** Does row i of split s satisfy c? */
int slicecond_match(const struct rc_data *d, const struct slice_cond *c, size_t s, size_t i);

/** Append the condition as text ("x1 in [0.5, 1.2)", "x1 >= 2.03",
 * "region=west", "region in {west, east}", "x3 is missing"). */
void slicecond_text(const struct rc_data *d, const struct slice_cond *c, struct strbuf *out);

/** Read a slice's text as slicecond_text wrote it ("x1 in [0.5, 1.2) and
 * region=west", "x3 is missing", "seg in {a, b} (or missing)") back into
 * conditions on d's columns. Column and level names are matched against d's,
 * with backtracking, so names holding " and " or ", " still parse. 0 and
 * *conds (caller frees each with slicecond_free, then the array) and *n; -1
 * when the text does not parse (nothing allocated, no error recorded). */
int slicecond_parse(const struct rc_data *d, const char *text, struct slice_cond **conds, size_t *n);

/** Deep copy (levels duplicated). */
struct slice_cond slicecond_copy(const struct slice_cond *c);
void slicecond_free(struct slice_cond *c);

/** Rows of split s satisfying every one of the n conditions. */
size_t slicecond_count(const struct rc_data *d, const struct slice_cond *c, size_t n, size_t s);

/** x rounded to `digits` significant digits, so cut points read well and stay
 * the same from one night's data to the next (finding ids hash the text). */
double slicecond_round(double x, int digits);

/* ---- bitsets over the evaluated rows of a split ---- */

static inline size_t bits_words(size_t n)
{
	return (n + 63) / 64;
}

/** Popcount of a & b (b may be NULL: popcount of a) over w words. */
size_t bits_and_count(const uint64_t *a, const uint64_t *b, size_t w);
/** Popcounts of a & b and of a & b & e in one pass. */
void bits_and_count2(const uint64_t *a, const uint64_t *b, const uint64_t *e, size_t w, size_t *n_ab, size_t *n_abe);
/** out = a & b. */
void bits_and(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t w);

#endif
