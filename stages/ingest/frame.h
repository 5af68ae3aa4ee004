/* frame.h - a split's data as typed columns, and its private binary cache file.
 *
 * A frame owns everything it points to; frame_free() releases it. Numeric and
 * boolean columns hold doubles (NaN = missing, booleans 0/1); categorical
 * columns hold int32 codes into `levels` (-1 = missing). */
#ifndef MLA_FRAME_H
#define MLA_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum col_type { COL_NUMERIC, COL_CATEGORICAL, COL_BOOLEAN };

/* What the audit uses a column for (DESIGN.md "Column roles"). */
enum col_role {
	ROLE_FEATURE,
	ROLE_LABEL,
	ROLE_PREDICTION,   /* the audited model's predicted class */
	ROLE_PROBA,        /* the audited model's probability (one column per class, or P(positive)) */
	ROLE_SEGMENT,
	ROLE_TIME,
	ROLE_ID,
	ROLE_WEIGHT,
	ROLE_IGNORE,
	ROLE_COUNT
};

/* A numeric cell that held text instead of a number reads as NaN like a
 * missing cell, but with its own NaN payload: isnan() is true for both, and a
 * subset of rows (frame_take_rows) can still tell them apart when counting. */
#define FRAME_BAD_BITS UINT64_C(0x7FF80000000BAD00)
static inline double frame_bad_nan(void)
{
	union { uint64_t u; double d; } x = {FRAME_BAD_BITS};
	return x.d;
}
static inline int frame_is_bad(double v)
{
	union { double d; uint64_t u; } x = {v};
	return x.u == FRAME_BAD_BITS;
}

const char *col_type_name(enum col_type t);   /* "numeric", "categorical", "boolean" */
const char *col_role_name(enum col_role r);   /* "feature", "label", ... */

struct frame_column {
	char *name;
	enum col_type type;
	enum col_role role;
	double *num;          /* numeric/boolean values; NULL for categorical */
	int32_t *code;        /* categorical codes; NULL for numeric/boolean */
	char **levels;        /* categorical dictionary, in order of first appearance */
	size_t nlevels;
	size_t n_missing;     /* cells that were a missing marker */
	size_t n_bad;         /* non-numeric cells in a numeric column, read as missing */
	uint64_t first_bad_line;  /* physical line of the first such cell (0 = none) */
	char *first_bad_value;    /* its text (truncated to 64 bytes), or NULL */
};

struct frame {
	char *split;          /* "train", "test", "current", ... */
	char *source;         /* the file it was read from */
	size_t nrows, ncols;
	struct frame_column *cols;
};

void frame_free(struct frame *f);
/** Index of the column named `name`, or -1. */
int frame_find(const struct frame *f, const char *name);
/** The value of row i of categorical column c as text (NULL when missing). */
const char *frame_level(const struct frame_column *c, size_t i);

/** Write the frame to `path` (zlib-compressed columns). 0 or -1 (internal error). */
int frame_write(const struct frame *f, const char *path);
/** Read a frame written by frame_write. NULL with an error recorded. Caller frees. */
struct frame *frame_read(const char *path);

/** A new frame holding the rows of `f` listed in `rows` (all columns copied,
 * dictionaries shared by copy). Caller frees. */
struct frame *frame_take_rows(const struct frame *f, const size_t *rows, size_t n, const char *split);

#endif
