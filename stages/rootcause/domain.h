/* domain.h - multivariate data drift by a domain classifier, and the split of
 * a performance drop into the part covariate shift explains and the rest
 * (concept drift).
 *
 * Every probe here is an MLP with one hidden layer of DOMAIN_WIDTH ReLU units
 * (rcprobe_spec), early-stopped on validation rows it never trains on, fitted
 * on seeded samples so the cost does not grow with the splits' rows.
 *
 * 1. Data drift, each later split s (test, every current) against train. A
 *    balanced sample of m = min(n_train, n_s, RCPROBE_MAX_ROWS / 2) rows per
 *    side, each side cut at random into 55% training, 15% validation and 30%
 *    held out. The classifier learns which split a row comes from; its ROC-AUC
 *    on the held-out rows (Hanley-McNeil 95% interval) says how far apart the
 *    splits are (0.5: not at all). Drivers: for each source feature, all its
 *    encoded columns permuted together across the held-out rows
 *    (DOMAIN_PERM_REPEATS permutations); the drop of held-out AUC, with DeLong's
 *    95% interval of the paired difference (placement values averaged over the
 *    permutations). A `data_drift` finding (subject: the split, feature
 *    "(all features)") when the AUC's lower bound exceeds DOMAIN_AUC_FLAG;
 *    severity high from AUC >= DOMAIN_AUC_HIGH, medium from DOMAIN_AUC_MEDIUM,
 *    else low. Its title names the drivers whose drop is at least
 *    DOMAIN_DRIVER_MIN with an interval above 0; when a pipeline_change
 *    finding names each of them for this split, the severity is low (that
 *    finding already says it). Skipped without input columns or with fewer than
 *    DOMAIN_MIN_ROWS rows on a side.
 *
 * 2. Covariate shift, each current split whose rows the audited model was
 *    evaluated on, against test (the source: labelled, evaluated, never
 *    trained on). ACCURACY, whatever metric the audit judges by: it is the one
 *    metric that is a plain mean over rows, so reweighting rows estimates it.
 *    A second domain classifier, source vs current (balanced evaluated rows),
 *    cross-fitted in two folds so each row is scored by the classifier that
 *    did not train on it, gives p = P(current | x) and the density ratio
 *    r = p / (1 - p) * m_source / m_current of every row (r = 1 for every
 *    row when that classifier's AUC interval reaches 0.5: it found no shift,
 *    and its noisy ratios moved a clean split's estimate by 2 points, enough
 *    for a false concept_drift on synth clean seed 9). Rows with r >
 *    DOMAIN_SUPPORT lie outside the source's support: no source row says what
 *    the model should score there, and weights clipped there would leave the
 *    worst rows of a covariate shift out of the estimate and call the
 *    difference concept drift. So, with s the share of current rows outside,
 *      acc_iw      = (1 - s) * (sum w * correct / sum w over the source rows
 *                    inside, w = r) + s * (observed accuracy outside),
 *      explained   = acc_source - acc_iw   (what covariate shift predicts),
 *      unexplained = acc_iw - acc_observed = (1 - s) * (the reweighted source
 *                    minus the observed accuracy inside the support).
 *    Kish's effective sample size (sum w)^2 / sum w^2 of the source rows
 *    inside is reported. 95% percentile intervals from DOMAIN_BOOT bootstrap
 *    replicates resampling the source and the current rows (the weights stay
 *    fixed: the classifier is not refitted).
 *
 * 3. Disagreement, the same current splits. Labelled rows of train and of
 *    the split are kept only inside their common support (density ratio split
 *    / train from the classifier of part 1 within [1 / DOMAIN_OVERLAP,
 *    DOMAIN_OVERLAP]): outside it one side's probes extrapolate and would
 *    disagree with the other's whether or not P(y|x) changed. There, two probes
 *    trained on the split (cross-fitted: each of its rows is predicted by the
 *    fold probe that did not train on it) are compared with a probe A trained
 *    on train, and as the baseline A with a probe B trained on other train rows
 *    with another seed. A, B and each fold probe train on the same number of
 *    rows, so the baseline carries the same sampling noise. Reported: both
 *    disagreement rates on the split's rows (Wilson intervals) and their
 *    paired difference, the excess (normal interval of the per-row
 *    differences).
 *
 * `concept_drift` (step 3, subject: the current split) when the unexplained
 * drop is at least DOMAIN_CONCEPT_MIN (2 points) and its interval excludes 0:
 * high when it is at least DOMAIN_CONCEPT_HIGH (5 points) and its lower bound
 * exceeds DOMAIN_CONCEPT_MIN, else medium; or, when that rule does not fire, a
 * medium one when the disagreement excess is at least DOMAIN_EXCESS_MIN and at
 * least the baseline (train vs current disagree twice as often as train vs
 * train) and its interval excludes 0. The floor and the doubling stand in for
 * the probes' own variability, which the per-row interval does not see. */
#ifndef MLA_DOMAIN_H
#define MLA_DOMAIN_H

#include <jansson.h>

#include "rcdata.h"
#include "rcprobe.h"

#define DOMAIN_WIDTH 32
#define DOMAIN_MIN_ROWS 100          /* per side */
#define DOMAIN_HOLDOUT 0.30
#define DOMAIN_VALID 0.15
#define DOMAIN_ROW_VISITS 150000.0   /* per probe */
#define DOMAIN_AUC_FLAG 0.55         /* lower bound of the AUC's interval */
#define DOMAIN_AUC_MEDIUM 0.65
#define DOMAIN_AUC_HIGH 0.75
#define DOMAIN_DRIVERS 5
#define DOMAIN_PERM_REPEATS 3
#define DOMAIN_DRIVER_MIN 0.01       /* AUC drop for the title to name a driver */
#define DOMAIN_SUPPORT 20.0          /* density ratio current / source: part 2's support */
#define DOMAIN_BOOT 200
#define DOMAIN_OVERLAP 5.0           /* density ratio bounds of part 3's common support */
#define DOMAIN_CONCEPT_MIN 0.02
#define DOMAIN_CONCEPT_HIGH 0.05
#define DOMAIN_EXCESS_MIN 0.05

/** Run the three analyses above for every later split: appends data_drift
 * and concept_drift findings, and analysis "domain": an array with one object
 * per judged split, {split, against, rows: [n_against, n_split], auc,
 * drivers: [{feature, auc_drop}], covariate: {source, metric, source_value,
 * iw_estimate, observed, explained, unexplained, ess, ...}, disagreement:
 * {train_probe_vs_current_probe, baseline, excess, ...}} (estimates as
 * estimate_json makes them; covariate and disagreement only for evaluated
 * current splits, else covariate_skipped / disagreement_skipped say why).
 * "domain_skipped" (a sentence) names the splits left out, and stands alone
 * when none could be judged. Returns 0, or -1 with an error recorded when a probe fails to train. */
int domain_run(struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis);

/** DeLong's placement values of n scores with 0/1 targets t: for a row with
 * t = 1, the share of t = 0 rows scored below it (ties count 1/2); for a t = 0
 * row, the share of t = 1 rows scored above it. The mean over either class is
 * the ROC-AUC. v gets n values; all NAN when a class is absent. */
void domain_placements(const double *score, const uint8_t *t, size_t n, double *v);

#endif
