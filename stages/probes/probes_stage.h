/* probes_stage.h - the probes stage: reference probes (softmax regression and
 * one-hidden-layer MLPs) trained on the audited data, their K-fold out-of-fold
 * probabilities for every train row, their predictions for test and current,
 * and the findings they support (unlearnable_labels).
 *
 * Artifacts (RUN/probes/):
 *   probes.json       backend and why, budget and subsampling, the encoding, each
 *                     probe's spec, curve and metrics, the majority baseline, the
 *                     best probe
 *   oof.csv.gz        one row per train row: id, row, label, fold, p_<class> of the
 *                     best probe (out of fold), then p_label_<probe>: each probe's
 *                     out-of-fold probability of the row's given label
 *   pred_<split>.csv.gz  per test/current row: id, row, label, p_<class> of the best
 *                     probe trained on all of train
 *   findings.json     unlearnable_labels
 * `row` is the 1-based row of the split's ingest frame; `id` the id column's
 * value, or the row number without one.
 *
 * In data mode (no prediction columns) the best probe stands in for the model:
 * probes_standin() is how the evaluate and rootcause stages read it. */
#ifndef MLA_PROBES_STAGE_H
#define MLA_PROBES_STAGE_H

#include "../../pipeline/stage.h"

void probes_params(const struct audit_config *cfg, struct strbuf *out);
int probes_run(struct stage_ctx *ctx);

/** The best probe's class probabilities for the rows of `split`, read from
 * RUN/probes/ (train: the out-of-fold ones of oof.csv.gz; other splits:
 * pred_<split>.csv.gz). On success *proba is a new nrows x k row-major array
 * indexed by frame row (NAN where a row has no prediction) and *name the probe's
 * name; the caller frees both. Returns 1 when loaded, 0 when the run has no
 * probe to stand in (no probes folder, the stage skipped its probes, or no file
 * for the split; nothing recorded), -1 with an internal error recorded when a
 * file is malformed or does not match (nrows, k). */
int probes_standin(const char *run_dir, const char *split, size_t nrows, int k, double **proba, char **name);

/** The name of the best reference probe of the run (caller frees), or NULL
 * when there is none (no probes folder, or the stage trained no probe). */
char *probes_best_name(const char *run_dir);

#endif
