/* findings.h - building findings and mitigations as JSON (jansson) objects,
 * in the shape summary.schema.json fixes. */
#ifndef MLA_FINDINGS_H
#define MLA_FINDINGS_H

#include <jansson.h>
#include "config.h"

/** A new finding. `step` is 1, 2, 3, or 0 for the probes appendix ("probes").
 * `subject` and `evidence` are stolen (may be NULL: an empty object is used).
 * The id is stable: the same kind and subject give the same id in every run. */
json_t *finding_new(const char *kind, int step, enum severity sev, const char *title,
		    json_t *subject, json_t *evidence);
/** Subject object with the given fields; NULL arguments are left out, rows < 0 too. */
json_t *subject_new(const char *split, const char *feature, const char *segment,
		    const char *slice, long long rows);
/** Severity of a finding object (SEV_INFO when absent). */
enum severity finding_severity(const json_t *finding);
/** An estimate object {value, ci_low, ci_high, n} (value NaN -> null + reason). */
json_t *estimate_json(double value, double lo, double hi, long long n, const char *reason);
/** A JSON number, or null when v is NaN or infinite (json_real refuses them). */
json_t *json_num_or_null(double v);
/** Sort an array of findings: severity descending, then causes before
 * symptoms (step 3 with pipeline_change and data_quality, the rest of step 2,
 * the probes' checks, step 1), then id. */
void findings_sort(json_t *findings);

#endif
