/* report.h - the report stage: turns the run's artifacts into index.html,
 * report.xlsx, summary.md, summary.json and plots/.
 *
 * It reads only files under the run folder (run.json, ingest/, evaluate/, and
 * probes/, rootcause/, mitigate/ when those stages exist) and writes only into
 * its own output folder. When a stage's folder is missing (a run folder from
 * an older version, or made by hand) the report says so in one line at the
 * place its results would go. */
#ifndef MLA_REPORT_H
#define MLA_REPORT_H

#include "../../pipeline/stage.h"

/** The stage's run function. 0, or -1 with an error recorded: a missing or
 * malformed artifact, a missing template or a failed write is an internal error
 * (exit 3). A missing gnuplot is not an error: the report says plots are
 * unavailable. */
int report_run(struct stage_ctx *ctx);

/** Append the canonical text of the configuration keys the report depends on
 * (name, metric, fail_on). */
void report_params(const struct audit_config *cfg, struct strbuf *out);

/** Render GFM markdown (with the table extension) to an HTML fragment in
 * cmark's safe mode: raw HTML is dropped and among data: URLs only images
 * survive. The report and the history page both render through it. NULL with
 * an internal error recorded; caller frees. */
char *report_render_markdown(const char *markdown);

#endif
