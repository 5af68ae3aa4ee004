/* mitigate.h - the mitigate stage: step 4 of the framework. It reads the
 * findings of every earlier stage (ingest, evaluate, rootcause, and probes
 * when that folder exists) and ingest's profile, and writes
 *
 *   mitigations.json  {"mitigations": [...], "by_finding": {finding id: [mitigation ids]},
 *                      "rules": text}
 *
 * The findings stay in their stages' files; "addresses" (and by_finding, its
 * inverse) is the join the report uses to fill each finding's "mitigations".
 * The rules live in plan.c. Where a probe can test an action, whatif.c
 * retrains one with the action applied (the data loaded as the rootcause
 * stage loads them) and adds "measured_effect" to the mitigation, then
 * orders the measured ones by measured gain; mitigations.json then also holds
 * "whatif" (the probe, rows used, why an action was not measured). */
#ifndef MLA_MITIGATE_H
#define MLA_MITIGATE_H

#include "../../pipeline/stage.h"

void mitigate_params(const struct audit_config *cfg, struct strbuf *out);
int mitigate_run(struct stage_ctx *ctx);

#endif
