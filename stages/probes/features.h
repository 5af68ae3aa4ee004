/* features.h - encode ingest frames into the dense float matrix the probes read.
 *
 * One encoding, fitted on the train split and applied unchanged to every split
 * (test, current), so all probes and all splits see the same columns:
 *  - numeric and boolean features: standardised with the train mean and standard
 *    deviation (a constant column keeps sd 1); a missing value becomes the train
 *    mean (0 after standardising);
 *  - a feature with any missing value in train also gets a 0/1 indicator column
 *    "NAME (missing)";
 *  - categorical features: one 0/1 column per level "NAME=LEVEL" for the at most
 *    30 most frequent train levels that cover at least 1% of the train rows;
 *    rarer levels, and levels first seen after train, share "NAME=(other)" (a
 *    column that exists when train had a pooled level; without it an unseen
 *    level encodes as all zeros).
 * Only ROLE_FEATURE columns are encoded. */
#ifndef MLA_FEATURES_H
#define MLA_FEATURES_H

#include "stages/ingest/frame.h"

#include <stddef.h>
#include <stdint.h>

#define FEAT_MAX_LEVELS 30
#define FEAT_MIN_SHARE 0.01

enum feat_kind {
	FEAT_NUMERIC,   /* standardised value */
	FEAT_MISSING,   /* 1 when the source value is missing */
	FEAT_LEVEL,     /* 1 when the source value is `level` */
	FEAT_OTHER      /* 1 when the source value is a pooled or unseen level */
};

/* One output column, for the report's description of the encoding. */
struct feat_column {
	char *name;         /* "age", "age (missing)", "colour=red", "colour=(other)" */
	char *source;       /* the frame column it comes from */
	enum feat_kind kind;
	double mean, sd;    /* FEAT_NUMERIC: the train statistics used */
	char *level;        /* FEAT_LEVEL: the level; NULL otherwise */
	size_t train_count; /* train rows where the column is nonzero (FEAT_MISSING, FEAT_LEVEL,
			       FEAT_OTHER) or present (FEAT_NUMERIC) */
};

struct feat_encoding;

/** Fit the encoding on a train frame. NULL with an input error when the frame
 * has no rows or no feature column. Caller frees with feat_free. */
struct feat_encoding *feat_fit(const struct frame *train);

/** Number of output columns. */
size_t feat_width(const struct feat_encoding *e);

/** Output column i (< feat_width); owned by the encoding. */
const struct feat_column *feat_column_at(const struct feat_encoding *e, size_t i);

/** "numeric", "missing", "level", "other". */
const char *feat_kind_name(enum feat_kind k);

/** Encode frame f into a new f->nrows x feat_width row-major matrix (caller
 * frees). f must hold every source column, found by name, numeric/boolean where
 * train's was numeric/boolean and categorical where it was categorical. NULL with
 * an input error naming the split and column otherwise. */
float *feat_transform(const struct feat_encoding *e, const struct frame *f);

/** A probe feature mask (feat_width bytes) that drops every output column of the
 * source column `source` (1 = kept). Returns the number of columns dropped
 * (0 when no such source). */
size_t feat_mask_without(const struct feat_encoding *e, const char *source, uint8_t *mask);

void feat_free(struct feat_encoding *e);

#endif
