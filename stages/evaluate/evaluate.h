/* evaluate.h - the evaluate stage: the audited model's metrics per split and
 * segment with intervals, and the step-1 findings that need no probes. */
#ifndef MLA_EVALUATE_H
#define MLA_EVALUATE_H

#include "../../pipeline/stage.h"

void evaluate_params(const struct audit_config *cfg, struct strbuf *out);
int evaluate_run(struct stage_ctx *ctx);

#endif
