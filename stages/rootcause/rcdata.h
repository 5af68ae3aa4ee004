/* rcdata.h - what the rootcause analyses share: every split's frame, the
 * audited model's outputs and errors per row, and the analysed columns matched
 * by name across splits (categorical levels in one dictionary across splits,
 * numeric values sorted once per split on first use).
 *
 * Rows keep their frame index everywhere: per-row arrays have frame->nrows
 * entries, with -1 where a row has no label or no model output. */
#ifndef MLA_RCDATA_H
#define MLA_RCDATA_H

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "../../pipeline/config.h"
#include "../../pipeline/findings.h"
#include "../ingest/frame.h"

/* A feature or segment column, matched by name across splits. */
struct rc_column {
	const char *name;        /* owned by the train frame */
	enum col_type type;      /* train's type */
	int numeric;             /* numeric or boolean: values in frame num[] */
	enum col_role role;      /* ROLE_FEATURE, ROLE_SEGMENT (ROLE_TIME for rc_data.time) */
	int *fidx;               /* per split: index in that split's frame; -1 when the split lacks
				  * the column or holds it with another kind (ingest reports both) */
	/* categorical: levels unified across splits */
	size_t nlevels;
	const char **levels;     /* unified names, pointing into the frames' dictionaries */
	int32_t **lmap;          /* per split: frame code -> unified level (NULL when absent) */
	/* numeric: ascending non-missing values per split, built by rcdata_sorted */
	double **sorted;
	size_t *nsorted;
	int *has_sorted;
};

struct rc_split {
	const char *name;        /* owned by the frame */
	struct frame *frame;
	size_t nrows;
	int32_t *y;              /* class index per row, -1 without a label */
	int32_t *pred;           /* predicted class per row, -1 without a model output; NULL in data mode */
	double *proba;           /* nrows x k class probabilities, NULL without probability columns */
	int8_t *err;             /* 1 the model erred, 0 it was right, -1 not evaluated; NULL in data mode */
	size_t n_labelled, n_eval, n_err;
};

struct rc_data {
	const struct audit_config *cfg;
	int k;                   /* classes */
	char **classes;          /* owned */
	int positive;            /* binary: index of the positive class; -1 multiclass */
	int model_mode;          /* prediction or probability columns exist */
	int has_proba;
	const char *metric;
	size_t nsplits;          /* splits[0] is train, splits[1] test, then the current splits */
	struct rc_split *splits;
	size_t ncols;            /* analysed columns: features and segments of train */
	struct rc_column *cols;
	struct rc_column *time;  /* the time column (categorical or numeric), or NULL */
	json_t *earlier;         /* findings of the stages before (ingest, evaluate), an array; owned */
};

/** Build the shared data from frames (ownership of the frames and of the
 * array passes to the result; frames[0] must be train). `classes` is copied;
 * `positive` is the positive class's index or -1. Model outputs are read from
 * the columns with the prediction and probability roles the way the evaluate
 * stage reads them (cfg->proba for binary P(positive), cfg->proba_prefix for
 * one column per class). Returns NULL with an internal error recorded when the
 * train frame has no label column. Caller frees with rcdata_free. */
struct rc_data *rcdata_from_frames(const struct audit_config *cfg, struct frame **frames, size_t nframes,
				   const char *const *classes, int k, int positive);

/** Read ingest/schema.json and every split's frame from the run, plus the
 * findings of ingest and evaluate. In data mode (no prediction columns) the
 * best reference probe's probabilities (RUN/probes/, beside ingest_dir) stand in
 * for the model's outputs when the probes stage trained one; model_mode is then
 * 1. NULL with an error recorded. Caller frees. */
struct rc_data *rcdata_load(const char *schema_path, const char *ingest_dir, const char *const *findings_paths,
			    const struct audit_config *cfg);

void rcdata_free(struct rc_data *d);

/** Ascending non-missing values of numeric column `col` in split `s` (built
 * on the first call, kept until rcdata_release_sorted or rcdata_free); *n
 * receives the count. NULL (and *n = 0) when the split lacks the column. */
const double *rcdata_sorted(struct rc_data *d, size_t col, size_t s, size_t *n);
/** Free the sorted copies of one column. */
void rcdata_release_sorted(struct rc_data *d, size_t col);
/** Free the sorted copies of every column of split s (the stage drops
 * train's, the largest, once the analyses that compare with train are done). */
void rcdata_release_split(struct rc_data *d, size_t s);

/** Value of numeric column `col` at row i of split s (NAN when missing or absent). */
static inline double rcdata_num(const struct rc_data *d, const struct rc_column *c, size_t s, size_t i)
{
	int j = c->fidx[s];
	return j < 0 ? (double)NAN : d->splits[s].frame->cols[j].num[i];
}
/** Unified level of categorical column c at row i of split s (-1 when missing or absent). */
static inline int32_t rcdata_level(const struct rc_data *d, const struct rc_column *c, size_t s, size_t i)
{
	int j = c->fidx[s];
	if (j < 0)
		return -1;
	int32_t code = d->splits[s].frame->cols[j].code[i];
	return code < 0 ? -1 : c->lmap[s][code];
}

/** 1 when an earlier stage already reported a pipeline_change for this split
 * and column (a missing column, a changed type): later checks on it would only
 * repeat that finding in other words. */
int rcdata_earlier_change(const struct rc_data *d, const char *split, const char *column);

/** 1 when an earlier stage reported a finding of `kind` on `split` (any subject). */
int rcdata_earlier_kind(const struct rc_data *d, const char *kind, const char *split);


/** A number for a sentence: 4 significant digits, thousands separated when
 * it is a large one ("3,475,000", "3534", "0.02415", "1.2e-07"). Writes into
 * buf (>= 48 bytes) and returns it. */
const char *rc_fmt(char *buf, size_t size, double v);

/* ---- CSV cells for the stage's tables (RFC 4180) ---- */

struct strbuf;
/** Append s as one CSV field: quoted when it holds a comma, quote, CR or LF. */
void rc_csv_str(struct strbuf *sb, const char *s);
/** Append a number with up to 10 significant digits; empty for NAN/inf. */
void rc_csv_num(struct strbuf *sb, double v);

#endif
