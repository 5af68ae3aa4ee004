/* represent.h - step 3's underrepresented slices: a slice where the audited
 * model errs more than elsewhere and which train holds far less of than the
 * split where it errs, and a learning curve that says whether more rows of
 * it would help and about how many.
 *
 * Candidates, per evaluated split after train (test, each current split):
 *  - the error slices slices_run listed for that split (analysis "slices",
 *    read back from their text with slicecond_parse and checked against
 *    the row count listed there), and
 *  - every value of every segment column (ROLE_SEGMENT; a numeric segment
 *    column with at most REP_SEGMENT_VALUES values, one candidate per value)
 *    with at least REP_MIN_ROWS evaluated rows in the split.
 * Two tests per candidate, both two-sided pooled two-proportion z tests: the
 * model's error rate in the slice against the rest of the split's evaluated
 * rows, and the slice's share of train rows against its share of the split's
 * rows. A candidate is underrepresented when its error rate is above the
 * rest's, its train share is below REP_SHARE_RATIO (half) of its share of the
 * split, and the larger of the two p-values (an intersection-union test of
 * "both hold") has a Benjamini-Hochberg q < REP_Q, with every candidate of the
 * run in one family (candidates that fail a direction enter with p = 1).
 *
 * Learning curves, for at most REP_CURVES distinct slices (the strongest by
 * excess errors: errors in the slice beyond what the rest's rate predicts;
 * a slice goes before a refinement of it on the same split when it holds at
 * least REP_WIDER of the refinement's excess errors),
 * with at least REP_MIN_CURVE_ROWS labelled train rows and sharing less than
 * REP_OVERLAP of the smaller's train rows with a slice already given one (a
 * refinement of it would repeat its curve). Probes: an MLP with one hidden
 * layer of REP_WIDTH ReLU units (softmax regression under REP_TINY training
 * rows), Adam at REP_LR with cosine decay for a fixed REP_ROW_VISITS (no
 * early stopping: there are no validation rows to stop on), every point of
 * every slice one probe of ONE batched job (row weights 0/1), a slice's
 * probes sharing their initialisation so their differences are the rows:
 *  - four points on train: the slice's labelled train rows (a seeded sample
 *    of at most REP_SLICE_CAP) subsampled to 1/8, 1/4, 1/2 and all of them
 *    (nested), every other row fixed (a seeded sample of train);
 *  - two points beyond train, when the slice has at least REP_MIN_EXT
 *    labelled rows in the evaluated split where it was flagged first: those
 *    rows in a seeded order, the first half (at most REP_SLICE_CAP) added to
 *    the full train point, half of them then all of them: "rows like these,
 *    collected". The other half is where every point of the curve is judged
 *    on that split. Without them a flat start (a rule a few dozen rows cannot
 *    teach yet) would read as "more rows do not help".
 * At most RCPROBE_MAX_ROWS training rows in all. Each point is judged on the
 * slice's labelled rows of the evaluated split not trained on (at most
 * RCPROBE_MAX_ROWS): accuracy with a 95% Wilson interval. Its rows are the
 * slice's train rows plus the added ones.
 *
 * Reading the curve (represent_read_curve). The target is the full
 * train-only probe's accuracy on the rest of the split (the same learner on
 * both sides: the probe is not the audited model and its absolute accuracy
 * differs; the model's accuracy on the rest is reported beside it); a point
 * reaches it when within REP_CLOSE (2 points). A log-linear fit,
 * accuracy = a + b log2(rows), on the points within two doublings of the
 * last (at least REP_FIT_POINTS; the slope where the curve is now: the first
 * rows of a slice teach the most), weighted by each point's inverse variance
 * (from its Wilson interval); se(b) = sqrt(1 / sum w (x - xbar)^2); the fit
 * rises when b >= REP_MIN_SLOPE and b - 1.645 se > 0. The curve gained when
 * its last point is above its first by a one-sided 99.9% z test, REP_GAIN_Z
 * (seven points on a coin's labels spread that much by chance too often at
 * 99%). Verdict and
 * rows_needed:
 *  - "enough": the full train-only point reaches the target (the rows train
 *    has would do; the model underuses them); its rows;
 *  - "rising": a later point reaches it: interpolated on log2(rows) between
 *    the two points around it; or the curve gained and the fit rises: from
 *    the last point along b, rows * 2^((target - acc) / b), null beyond
 *    REP_MAX_DOUBLINGS doublings (64x: too far beyond the points; a
 *    log-linear curve never levels off, so this is optimistic);
 *  - "levels off": the curve gained but the fit does not rise, short of the
 *    target: the rows where it comes within REP_CLOSE of its best point
 *    (rows help up to there; beyond, labels and features);
 *  - "flat": no gain: more rows of the slice do not help; look at its
 *    labels and features. rows_needed null;
 *  - "inconclusive": no gain, but the last point has fewer than REP_FEW_ROWS
 *    rows (a rule a hundred rows cannot teach yet looks like noise).
 * A curve on a sample of a large slice that is "rising" with no more rows
 * than train holds is "enough". rows_more: rows_needed less the slice's rows
 * in train, never below 0.
 *
 * Findings: underrepresented_slice (step 3, subject split + slice), at most
 * REP_FINDINGS per split, the strongest first; a refinement of another
 * flagged slice of the same split (all its conditions and more) is listed
 * with "within" and no finding: the wider slice is the unit rows are
 * collected in, and step 2's error_slice shows where inside it errors gather. Severity: high when the curve
 * is rising with a finite rows_needed and the error rate is >= REP_HIGH_GAP
 * (10 points) above the rest's; medium when it is rising otherwise, when it
 * is "enough", when it levels off after more rows than train holds, or when
 * no curve was measured (or it is inconclusive) and the gap is >= 10 points;
 * low otherwise (flat, levels off within train's rows, or no curve and a
 * smaller gap). */
#ifndef MLA_REPRESENT_H
#define MLA_REPRESENT_H

#include <jansson.h>
#include <stddef.h>

#include "rcdata.h"
#include "rcprobe.h"
#include "slicecond.h"

#define REP_Q 0.05
#define REP_SHARE_RATIO 0.5
#define REP_MIN_ROWS 30
#define REP_SEGMENT_VALUES 10
#define REP_CURVES 3
#define REP_OVERLAP 0.5                       /* train rows shared with a curve's slice that skip one */
#define REP_WIDER 0.9                         /* a wider slice with this share of a refinement's excess goes first */
#define REP_POINTS 4                          /* fractions 1/8, 1/4, 1/2, 1 of the slice's train rows */
#define REP_EXT_POINTS 3                      /* all of them plus a quarter, half, all of the added rows */
#define REP_MAX_POINTS (REP_POINTS + REP_EXT_POINTS)
#define REP_MIN_EXT 200                       /* slice rows of the evaluated split to extend the curve */
#define REP_FIT_POINTS 3                      /* at least three points are fitted */
#define REP_MIN_CURVE_ROWS 32                 /* so the 1/8 point has 4 rows */
#define REP_SLICE_CAP (RCPROBE_MAX_ROWS / 10) /* a slice's train rows in a curve, and its added rows */
#define REP_REST_ROWS (RCPROBE_MAX_ROWS / 4)  /* rows of the rest judged for the target */
#define REP_WIDTH 32
#define REP_TINY 2000
#define REP_ROW_VISITS 240000.0               /* per probe: 12 epochs of 20,000 rows */
#define REP_LR 1e-2f                          /* Adam, cosine decay to 1/100 of it */
#define REP_MIN_SLOPE 0.005                   /* half a point of accuracy per doubling */
#define REP_CLOSE 0.02                        /* within 2 points of the target counts as reaching it */
#define REP_GAIN_Z 3.090232306167813          /* one-sided 99.9%: the last point over the first */
#define REP_FEW_ROWS 100                      /* a flat curve ending below this many rows is inconclusive */
#define REP_MAX_DOUBLINGS 6
#define REP_FINDINGS 5
#define REP_HIGH_GAP 0.10


/* A fitted learning curve, accuracy = intercept + slope * log2(rows). */
struct represent_fit {
	double intercept;
	double slope;       /* accuracy gained per doubling of the slice's rows */
	double slope_se;
	int rising;         /* slope >= REP_MIN_SLOPE and its one-sided 95% lower bound > 0 */
};

/** Fit n points (rows[i] > 0, accuracy acc[i], variance var[i] > 0) as the
 * header says. 0, or -1 when fewer than two distinct row counts. */
int represent_fit_curve(const double *rows, const double *acc, const double *var, size_t n,
			struct represent_fit *out);

enum represent_verdict { REP_NOT_MEASURED, REP_ENOUGH, REP_RISING, REP_LEVELS, REP_FLAT, REP_INCONCLUSIVE };

/** Read a learning curve: n points (rows ascending, accuracy, variance),
 * rows[full] the largest train-only point, `target` the accuracy to reach
 * (a point within REP_CLOSE of it reaches it). Fits the points within two
 * doublings of the last (at least REP_FIT_POINTS) into *fit, sets *v as the
 * header says and returns rows_needed (NAN for null). */
double represent_read_curve(const double *rows, const double *acc, const double *var, size_t n, size_t full,
			   double target, struct represent_fit *fit, enum represent_verdict *v);

/** Run the analysis (after slices_run, whose analysis "slices" it reads).
 * Appends underrepresented_slice findings and sets analysis "underrepresented"
 * (contracts.md) and "underrepresented_method", or "underrepresented_skipped"
 * with the reason. p may have d == 0 (no inputs): then no curves. 0, or -1
 * with an error recorded (a probe job that failed). */
int represent_run(struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis);

#endif
