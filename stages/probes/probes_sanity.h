/* probes_sanity.h - the seed's training checks (sanity.h) run by the probes
 * stage on a seeded subsample of the encoded train rows.
 *
 * Artifacts (RUN/probes/):
 *   sanity.json  the level, rows used, the seconds of each check, and per check
 *                its rule, numbers, verdict and one line of advice ("advice");
 *                hpo.final: the search's best and the default trained on every
 *                budgeted row until their training loss stops improving
 *   hpo.csv      method,trial,lr,l2,width,dropout,score,best_so_far (header only
 *                below the standard level)
 * Findings (step 0), each sanity_check with evidence.check naming its check and
 * the subject's slice "training check: ..." (so each keeps its own id):
 * defects (mini-batch not fitted, gradient check above 1e-6, exploding or
 * vanishing gradients, the audited model beaten by a student distilled from
 * it) and, at standard and above, training advice confirmed on new seeds
 * (learning rate far from Adam's default, another optimizer or schedule,
 * regularisation, hidden units that add nothing, the search's setting beating
 * the default on the full rows); capacity; insufficient_data. */
#ifndef MLA_PROBES_SANITY_H
#define MLA_PROBES_SANITY_H

#include "probe.h"
#include "../../pipeline/stage.h"

#include <jansson.h>

/** Run the checks of `level` (quick, standard, thorough) on `all` (labelled
 * rows; not changed). teacher: all->n x n_classes probabilities for the
 * distillation check, named teacher_name, or NULL to skip it. learnable: 1
 * when a reference probe beats the majority baseline on held-out rows, 0 when
 * none does, -1 when not judged (the mini-batch verdict uses it). Findings are
 * appended to `findings`. 0, or -1 with an error recorded. */
int probes_sanity(const struct stage_ctx *ctx, const struct probe_backend *be, const char *level,
		  const struct probe_data *all, const float *teacher, const char *teacher_name, int learnable,
		  uint64_t seed, json_t *findings);

#endif
