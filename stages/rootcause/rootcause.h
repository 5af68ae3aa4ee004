/* rootcause.h - the rootcause stage: steps 2 and 3 of the framework that need
 * no probe models. It reads ingest/ (schema, frames, findings) and evaluate/
 * (metrics, findings) and writes:
 *
 *   findings.json   error_slice, time_degradation, data_quality, pipeline_change (step 2);
 *                   data_drift, label_shift, leakage, feature_reliance (step 3)
 *   slices.csv      error slices per split (slices.h)
 *   drift.csv       every drift test (drift.h)
 *   time.csv        metric per time window, when a time column is configured (timewin.h)
 *   analysis.json   the numbers behind each analysis, for the report: "quality", "drift",
 *                   "label_shift", "leakage", "slices" (with the error trees), "time",
 *                   "reliance", each with a "method" or "rules" text for the appendix
 *   timings.json    seconds per analysis (tests/bench/bench_rootcause.sh prints them)
 *
 * Each analysis lives in its own file; this one loads the data once and wires
 * them in order (quality checks before drift, whose severity they temper;
 * drift before reliance, which uses its flags). */
#ifndef MLA_ROOTCAUSE_H
#define MLA_ROOTCAUSE_H

#include "../../pipeline/stage.h"

void rootcause_params(const struct audit_config *cfg, struct strbuf *out);
int rootcause_run(struct stage_ctx *ctx);

#endif
