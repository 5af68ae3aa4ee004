/* plan.h - step 4: from findings to mitigations.
 *
 * Pure JSON in, JSON out (no files), so the rules can be tested on findings
 * written by hand. Each finding kind maps to one of DESIGN's actions; findings
 * that one action would settle share one mitigation (every symptom of a
 * drifted split goes to "retrain on recent data", every problem of one feed to
 * "fix the feed"). A mitigation is
 *   {"id": "M-xxxxxxxx", "action", "text": a sentence for a stakeholder,
 *    "addresses": [finding ids], "severity": the highest addressed,
 *    "priority": 1.., "expected_gain": {"metric", "value", "basis"} (where the
 *    evidence gives one), "size": {"rows", "rule"} (collect_data)}
 * and the list is ordered by severity, then expected gain, then a fixed order
 * of actions (fix the data before the model: fix_pipeline, remove_feature,
 * retrain_recent, relabel, change_metric_or_threshold, collect_data,
 * regularize, reweight, tune_training, increase_capacity). The id hashes the
 * action and its subject, so the same advice keeps its id from night to night.
 *
 * The probes' training checks (sanity_check findings, capacity) speak about
 * networks trained on these data: how to train them (the search's setting,
 * the learning rate, optimizer and schedule, input scaling) is one
 * tune_training mitigation ("training") whose sentence has a clause per check;
 * unstable gradients another; regularisation, over-capacity and a student
 * beating its teacher join the model's regularize advice; a mini-batch that
 * cannot be fitted goes to relabel (conflicting duplicates) or fix_pipeline
 * (labels unrelated to the features); wrong probe gradients to fix_pipeline.
 *
 * An underrepresented_slice follows its learning curve (evidence
 * curve_verdict): "rising", or "levels off" with rows_more > 0 ->
 * collect_data of rows_more rows (rounded up to two significant digits);
 * "enough" -> reweight the slice's train rows; "flat", or "levels off" within
 * train's rows -> relabel (check its labels and features); "not measured" and
 * "inconclusive" -> collect_data sized by plan_rows_to_collect. A bare
 * "col=value" slice is a segment value: it joins that weak_segment's advice,
 * which a measured curve rewrites (action and sentence). An importance_shift
 * joins its split's retrain_recent.
 *
 * mitigate.c adds measured_effect afterwards (whatif.h). */
#ifndef MLA_PLAN_H
#define MLA_PLAN_H

#include <jansson.h>
#include <stddef.h>

struct plan_ctx {
	const char *metric;        /* the chosen metric */
	long long train_rows;      /* rows of train (for "collect N rows"), -1 unknown */
	const json_t *quality;     /* ingest/quality.json or NULL: train counts of segment values */
};

/** Mitigations for `findings` (an array of finding objects from every stage).
 * Returns {"mitigations": [...], "by_finding": {finding id: [mitigation ids]},
 * "rules": text}. Caller owns (json_decref). */
json_t *plan_mitigations(const json_t *findings, const struct plan_ctx *ctx);

/** Rows to collect for a slice with `train_rows` rows in train, holding
 * `split_share` of the split where it fails, when train has `train_total`
 * rows: the larger of doubling its training rows and bringing its share of
 * train up to its share of the split, rounded up to two significant digits
 * (at least 100). The rule is the one the mitigation text states. */
long long plan_rows_to_collect(long long train_rows, double split_share, long long train_total);

#endif
