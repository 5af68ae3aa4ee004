/* labelnoise.h - suspected label errors in train by confident learning on the
 * best reference probe's out-of-fold probabilities (probes/oof.csv.gz).
 *
 * The defaults of cleanlab's find_label_issues (filter_by =
 * "prune_by_noise_rate", frac_noise = 1, min_examples_per_class = 1), so the
 * results can be compared with it:
 *  - per-class threshold t_j = mean p_j over the rows labelled j;
 *  - the confident joint C[i][j]: rows labelled i whose guessed true class is
 *    j, counted over rows with at least one p_c >= t_c - 1e-6; the guess is the
 *    argmax among the classes above their threshold when more than one is, else
 *    the plain argmax. An empty diagonal cell is set to 1, then each row is
 *    scaled to the count of its given label, the whole to n, and rounded
 *    keeping row totals;
 *  - for each given class i (with more than one row) and each j != i, the
 *    C[i][j] rows labelled i with the largest margin p_j - p_i are suspects;
 *  - a suspect whose given label is the probe's argmax is dropped.
 * The noise matrix is C normalised per column: P(given i | true j).
 *
 * The finding `label_noise` (step 3) when suspects are at least
 * LABELNOISE_MIN_SHARE of the judged train rows and at least LABELNOISE_MIN_ROWS:
 * high from LABELNOISE_HIGH, medium from LABELNOISE_MEDIUM, else low. The segment
 * value most over-represented among suspects (lift = share of suspects / share
 * of judged rows, at least 5 suspects) is reported with a pooled
 * two-proportion test of suspects against the other rows; the title names it
 * when p < 0.05 divided by the number of values tested (Bonferroni). */
#ifndef MLA_LABELNOISE_H
#define MLA_LABELNOISE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rcdata.h"

#define LABELNOISE_MIN_SHARE 0.01
#define LABELNOISE_MIN_ROWS 10
#define LABELNOISE_MEDIUM 0.02
#define LABELNOISE_HIGH 0.05

/** Confident joint of n rows with given class y[i] in [0, k) and class
 * probabilities p (n x k, row-major). Writes the thresholds (k entries, 2 for a
 * class without rows, as cleanlab), the raw joint before calibration (k x k,
 * may be NULL) and the calibrated joint (k x k) with rows indexed by the given
 * class and columns by the guessed true class. Returns 0. */
int labelnoise_confident_joint(const int32_t *y, const double *p, size_t n, int k, double *thresholds,
			       long long *raw, long long *cal);

/** Mark the suspects: issue[i] = 1 for rows found by prune-by-noise-rate
 * (see above), else 0. `cal` is the calibrated joint from
 * labelnoise_confident_joint. Returns the number of suspects. */
size_t labelnoise_prune(const int32_t *y, const double *p, size_t n, int k, const long long *cal, uint8_t *issue);

/** Round each of the r rows of x (r x c) to integers keeping its rounded
 * total (cleanlab's round_preserving_row_totals). Writes out (r x c). */
void labelnoise_round_rows(const double *x, size_t r, size_t c, long long *out);

/** Read `oof_path`, find the suspects among train's rows, write `out_path`
 * (gzip CSV: id,given_label,suggested_label,self_confidence, ranked by
 * self-confidence ascending; only the header when no probe ran), append the
 * finding and analysis "label_noise". Returns 0, or -1 with an error recorded. */
int labelnoise_run(const struct rc_data *d, const char *oof_path, const char *out_path, json_t *findings,
		   json_t *analysis);

#endif
