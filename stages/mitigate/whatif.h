/* whatif.h - step 4's measured effects: retrain a probe with a mitigation's
 * action applied and compare it with the same probe trained without it.
 *
 * What a probe can test, and how (one variant per mitigation):
 *  - relabel (of train's labels): the label suspects of
 *    rootcause/label_issues.csv.gz dropped from training;
 *  - remove_feature: the probe trained without the feature's encoded columns
 *    (feat_mask_without); the feature is the subject of a finding it addresses;
 *  - collect_data or reweight of a segment or slice: that slice's train rows
 *    weighted x WHATIF_UPWEIGHT, a proxy for more data like them (a segment or
 *    slice named by a finding it addresses, parsed from the slice's text),
 *    judged on the split of that finding when it has labels (else test), with
 *    the effect on the judged rows inside the slice beside it ("on_slice");
 *  - retrain_recent of a labelled split: train plus a seeded half of the
 *    split's labelled rows (weighted so that they carry as much weight as the
 *    train rows), judged on the other half, against train alone judged on the
 *    same half. Not measured when the plan first repairs that split's feeds
 *    (a high fix_pipeline on it): retraining on a broken feed teaches the bug.
 * Everything else (fix_pipeline, change_metric_or_threshold, tune_training,
 * regularize, increase_capacity, a reweight toward a split's distribution,
 * collect_data without a slice) is not measured; plan.c's expected_gain stays.
 *
 * One batched probe job trains the baseline and every variant on the same
 * rows (a seeded sample of at most max_rows labelled train rows, plus the
 * recent halves), the same minibatches and the same initialisation seed. Each
 * variant is judged on a seeded sample of at most max_rows labelled test rows
 * (a slice's split, or retrain_recent's held-out half, see above) with the
 * chosen metric computed from the probe's probabilities as the evaluate stage
 * defines it (metrics.h);
 * accuracy when the metric is not one metrics.h knows. The delta's interval
 * is a paired percentile bootstrap over the judged rows (the same resample
 * for both probes), seeded.
 *
 * measured_effect = {"metric", "before": estimate, "after": estimate,
 *                    "delta": estimate (after - before), "split": judged split,
 *                    "probe": text, "how": sentence,
 *                    "on_slice": {"rows", "before", "after", "delta"} (slices only)}
 * (estimates as findings.h's estimate_json writes them).
 *
 * Order (whatif_order): the mitigations with a measured effect are re-ordered
 * among the places they hold, by measured gain (largest first; a fall of
 * log_loss, brier or ece is a gain); the others keep their places, so the
 * plan's severity order and "fix the data before the model" still hold. A
 * mitigation whose measured gain is ruled out (the interval's upper end at or
 * below 0, on the slice's own rows for a slice) goes last. */
#ifndef MLA_WHATIF_H
#define MLA_WHATIF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../rootcause/rcdata.h"
#include "../rootcause/rcprobe.h"

#define WHATIF_REPLICATES 200    /* paired bootstrap replicates of the delta */
#define WHATIF_UPWEIGHT 3.0      /* weight of a slice's train rows: the "more data like it" proxy */
#define WHATIF_MAX_VARIANTS 8    /* variants per run beyond the baseline (in the plan's order) */
#define WHATIF_MIN_RECENT 100    /* labelled rows a split needs for retrain_recent (two halves) */
#define WHATIF_MIN_SLICE 10      /* train rows a slice needs to be upweighted (and judged rows to
				  * report its own effect) */
#define WHATIF_MIN_JUDGE 30      /* labelled rows a split needs to be judged on */
#define WHATIF_ROW_VISITS 400000 /* row visits per probe (epochs clamped to [3, 40]) */
#define WHATIF_VAL_SHARE 0.1     /* validation rows for early stopping (MLP probes) */

struct whatif_opts {
	int width;                 /* hidden ReLU units of the probe; 0 = softmax regression */
	const char *probe;         /* how the probe is described in measured_effect ("probe") */
	const char *suspects_path; /* rootcause/label_issues.csv.gz, or NULL (relabel is then not measured) */
	uint64_t seed;
	size_t max_rows;           /* rows per split and role (RCPROBE_MAX_ROWS) */
	int replicates;            /* WHATIF_REPLICATES */
};

/** 1 when some mitigation of `plan` ({"mitigations": [...]}) has an action a
 * probe may test and `findings` (every finding, an array) name what it would
 * change, so the caller loads the data only then. */
int whatif_wanted(const json_t *plan, const json_t *findings);

/** Measure the mitigations of `plan` a probe can test on the data d (encoded
 * as p) and add "measured_effect" to each; `findings` is every finding (an
 * array), to find a mitigation's feature, slice or split. Adds to plan a
 * "whatif" object: the probe, rows used, replicates, and "not_measured"
 * {mitigation id: reason} for the actions a probe could test but did not.
 * Returns 0, or -1 with an error recorded. */
int whatif_measure(const struct rc_data *d, const struct rc_probes *p, const json_t *findings,
		   const struct whatif_opts *o, json_t *plan);

/** Re-order plan's mitigations by the rule at the top of this file and
 * renumber their "priority" 1..n. */
void whatif_order(json_t *plan);

/** The rule whatif_order applies, and what is measured how, as a sentence
 * for mitigations.json's "rules". Static string. */
const char *whatif_rules(void);

/* ---- parts, public for the tests ---- */

/** Mark in `mark` (train's nrows bytes, zeroed by the caller) the train rows
 * listed in a label_issues.csv.gz file: its id column holds train's id
 * (an id column of the data) or else the 1-based row number; a row whose
 * label differs from the file's given_label is not marked. Returns the number
 * of rows marked, or -1 with an error recorded. */
long whatif_read_suspects(const struct rc_data *d, const char *path, uint8_t *mark);

/** Mark in `in` (split s's nrows bytes) the rows of split s inside `slice`,
 * a segment "col=value" or a slice's text as the rootcause stage writes it
 * (conditions joined by " and ": "x >= 2", "x in [1, 2)", "x < 3", "x = 1",
 * "seg=a", "seg in {a, b}", "seg not in {a}", "x is missing", "x is present",
 * each maybe followed by " (or missing)"). Returns the number of rows, or -1
 * (nothing recorded) when the text names no column or does not parse. */
long whatif_slice_rows(const struct rc_data *d, const char *slice, size_t s, uint8_t *in);

/** The chosen metric on n rows with class y[i] and probabilities p (n x k,
 * prediction = argmax), row i counted count[i] times (NULL: once each), with
 * the definitions of metrics.h. `positive` as in struct eval_input. NAN when
 * undefined. `order` may give, per scored class, the rows sorted by ascending
 * probability of that class (k arrays; NULL to sort here); used for roc_auc
 * and pr_auc. */
double whatif_metric(const char *metric, const int32_t *y, const float *p, size_t n, int k, int positive,
		     const uint32_t *count, size_t *const *order);

#endif
