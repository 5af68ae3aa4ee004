/* drift.h - data drift per column between train and each later split.
 *
 * Numeric columns: the two-sample Kolmogorov-Smirnov test (exact statistic by
 * sorting, asymptotic p), the Wasserstein-1 distance in train standard
 * deviations, and PSI over 10 train-quantile bins. Categorical columns: the
 * chi-square test of homogeneity, the Jensen-Shannon distance (base 2) and PSI
 * over the levels (the 50 most frequent, the rest pooled). Missing values are
 * left out (the quality checks judge them). Benjamini-Hochberg runs across all
 * drift tests of the run as one family.
 *
 * A column drifted when q < DRIFT_Q and the effect is meaningful: KS D >=
 * DRIFT_MIN_D or PSI >= DRIFT_MIN_PSI (numeric), PSI >= DRIFT_MIN_PSI or JS >=
 * DRIFT_MIN_JS (categorical). Severity by PSI: >= 0.25 high, >= 0.1 medium,
 * else low; low as well when the quality checks found a unit change there
 * (the pipeline_change finding already says it). */
#ifndef MLA_DRIFT_H
#define MLA_DRIFT_H

#include <jansson.h>
#include <stdint.h>

#include "rcdata.h"
#include "../../pipeline/util.h"

#define DRIFT_Q 0.05
#define DRIFT_MIN_D 0.1
#define DRIFT_MIN_PSI 0.1
#define DRIFT_MIN_JS 0.1
#define DRIFT_PSI_BINS 10
#define DRIFT_MAX_LEVELS 50

/* One column in one split against train. */
struct drift_cell {
	int tested;
	int flagged;
	double stat;      /* KS D, or the chi-square statistic */
	double p, q;
	double psi, wasserstein_sd, js;   /* NAN where not applicable */
};

/** Numeric drift of sorted samples a (train) and b: fills stat (KS D), p,
 * psi and wasserstein_sd (NAN when train has no spread). q is left NAN. */
void drift_numeric(const double *a, size_t na, const double *b, size_t nb, struct drift_cell *out);

/** Categorical drift from level counts ca (train) and cb over k levels:
 * stat (chi-square), p, psi, js. */
void drift_categorical(const double *ca, const double *cb, size_t k, struct drift_cell *out);

/** Test every column of every later split. cells has nsplits x ncols entries
 * (row s = split s; row 0 unused), written here. `unit` marks unit changes
 * (quality_checks_run). Appends data_drift findings, rows of drift.csv (with
 * its header) and analysis "drift". Returns 0. */
int drift_run(struct rc_data *d, const uint8_t *unit, struct drift_cell *cells, json_t *findings,
	      struct strbuf *csv, json_t *analysis);

#endif
