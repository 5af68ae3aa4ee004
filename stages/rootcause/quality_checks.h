/* quality_checks.h - step 2's data-quality and pipeline checks between
 * splits: missing-rate spikes, all-missing and constant columns, new and
 * vanished categories, duplicate rows, identical rows with conflicting labels,
 * rows shared between train and a later split, and values off by a power of
 * ten (a unit change). */
#ifndef MLA_QUALITY_CHECKS_H
#define MLA_QUALITY_CHECKS_H

#include <jansson.h>
#include <stdint.h>

#include "rcdata.h"

/* Unit-change rule: k = round(log10(median ratio)) != 0, |log10 ratio - k| <
 * QC_UNIT_TOL (and the interquartile-range ratio within 2 x QC_UNIT_TOL of
 * 10^k when both ranges are positive), KS D of the raw values >= QC_UNIT_D_RAW
 * and KS D after dividing the split's values by 10^k <= QC_UNIT_D_RESCALED
 * and at most half the raw D (rescaling must explain the difference).
 * When train's median is near 0 (below half its interquartile range, a
 * centred feature) the interquartile-range ratio stands in for the medians'. */
#define QC_UNIT_TOL 0.15
#define QC_UNIT_D_RAW 0.3
#define QC_UNIT_D_RESCALED 0.15

struct unit_change {
	int k;            /* power of ten (0: none) */
	double ratio;     /* median ratio split / train */
	double d_raw, d_rescaled, p_raw;
	double median_train, median_split;
};

/** Detect a unit change of one numeric column between sorted train values a
 * and sorted split values b. Returns 1 and fills *u when the rule above holds,
 * else 0 (*u still receives the numbers, k = 0). Needs >= 20 values each. */
int quality_checks_unit_change(const double *a, size_t na, const double *b, size_t nb, struct unit_change *u);

/** Run every check for every later split against train. Appends findings
 * (data_quality, pipeline_change) to `findings`, the per-check numbers to
 * `analysis` (an object: it gets "quality"), and sets unit[s * ncols + j] = 1
 * where column j of split s changed units (unit has nsplits x ncols entries,
 * zeroed by the caller). Returns 0. */
int quality_checks_run(struct rc_data *d, json_t *findings, json_t *analysis, uint8_t *unit);

#endif
