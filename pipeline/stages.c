/* stages.c - the stage table, in run order. Adding a stage is adding a row
 * here and a folder under stages/. */
#include "stage.h"
#include "../stages/ingest/ingest_stage.h"
#include "../stages/probes/probes_stage.h"
#include "../stages/evaluate/evaluate.h"
#include "../stages/rootcause/rootcause.h"
#include "../stages/mitigate/mitigate.h"
#include "../stages/report/report.h"

static const char *const ingest_outputs[] = {"schema.json", "quality.json", "findings.json", NULL};

static const char *const probes_inputs[] = {"ingest/", NULL};
static const char *const probes_outputs[] = {"probes.json", "oof.csv.gz", "findings.json", "sanity.json", "hpo.csv", NULL};

static const char *const evaluate_inputs[] = {"ingest/", "probes/", NULL};
static const char *const evaluate_outputs[] = {"metrics.json", "findings.json", NULL};

static const char *const rootcause_inputs[] = {"ingest/", "probes/", "evaluate/", NULL};
static const char *const rootcause_outputs[] = {"findings.json", "slices.csv", "drift.csv", "analysis.json",
							 "label_issues.csv.gz", "importance.csv", NULL};

static const char *const mitigate_inputs[] = {"ingest/", "probes/", "evaluate/", "rootcause/", NULL};
static const char *const mitigate_outputs[] = {"mitigations.json", NULL};

static const char *const report_inputs[] = {"ingest/", "probes/", "evaluate/", "rootcause/", "mitigate/", NULL};
static const char *const report_outputs[] = {"index.html", "report.xlsx", "summary.md", "summary.json", "junit.xml", NULL};

const struct stage pipeline_stages[] = {
	{"ingest", NULL, ingest_outputs, STAGE_READS_DATA, ingest_params, ingest_stage_run},
	/* reference probes, out-of-fold probabilities, the data-mode stand-in */
	{"probes", probes_inputs, probes_outputs, 0, probes_params, probes_run},
	{"evaluate", evaluate_inputs, evaluate_outputs, 0, evaluate_params, evaluate_run},
	{"rootcause", rootcause_inputs, rootcause_outputs, 0, rootcause_params, rootcause_run},
	{"mitigate", mitigate_inputs, mitigate_outputs, 0, mitigate_params, mitigate_run},
	/* the report carries the run id and date, so it is never reused */
	{"report", report_inputs, report_outputs, STAGE_NEVER_SKIP, report_params, report_run},
};
const size_t pipeline_nstages = sizeof pipeline_stages / sizeof pipeline_stages[0];
