/* ingest_stage.h - the ingest stage: every split's file -> ingest/ artifacts
 * (schema.json, quality.json, findings.json, <split>.frame). */
#ifndef MLA_INGEST_STAGE_H
#define MLA_INGEST_STAGE_H

#include "../../pipeline/stage.h"

void ingest_params(const struct audit_config *cfg, struct strbuf *out);
int ingest_stage_run(struct stage_ctx *ctx);

#endif
