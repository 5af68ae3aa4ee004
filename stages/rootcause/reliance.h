/* reliance.h - feature reliance without probes.
 *
 * Two signals per feature:
 *  - how much the audited model leans on it: the ROC-AUC of the feature alone
 *    against the model's own predicted class on train (binary tasks; the
 *    leakage module's estimator with the prediction as target). A feature is
 *    important-looking when that AUC is >= RELIANCE_AUC, or it is among the
 *    three highest and >= RELIANCE_AUC_MIN;
 *  - whether its values go with the model's errors: on each evaluated split
 *    after train, the error rate per value bin (5 quantile bins, or the 10
 *    most frequent levels plus "other", plus missing), chi-square test of
 *    homogeneity of errors across bins, Benjamini-Hochberg across these tests.
 * `feature_reliance` finding (step 3): an important-looking feature that
 * drifted in the split (medium; low when a unit change explains the drift),
 * or errors that concentrate in a bin (q < 0.05, the bin's error rate >= 2x
 * the split's and >= 10 points above it: low, medium when important-looking). */
#ifndef MLA_RELIANCE_H
#define MLA_RELIANCE_H

#include <jansson.h>
#include <stdint.h>

#include "drift.h"
#include "rcdata.h"

#define RELIANCE_AUC 0.65
#define RELIANCE_AUC_MIN 0.55
#define RELIANCE_BINS 5
#define RELIANCE_LEVELS 10
#define RELIANCE_Q 0.05
#define RELIANCE_RATIO 2.0
#define RELIANCE_RISE 0.10

/** Append feature_reliance findings and analysis "reliance". `cells` and
 * `unit` are drift_run's and quality_checks_run's outputs. Returns 0. */
int reliance_run(struct rc_data *d, const struct drift_cell *cells, const uint8_t *unit, json_t *findings,
		 json_t *analysis);

#endif
