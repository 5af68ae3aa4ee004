/* rootcause.c - the stage: load once, run each analysis, write the files
 * rootcause.h lists. */
#include "rootcause.h"
#include "domain.h"
#include "drift.h"
#include "labelnoise.h"
#include "labelshift.h"
#include "leakage.h"
#include "points.h"
#include "quality_checks.h"
#include "rcdata.h"
#include "rcprobe.h"
#include "reliance.h"
#include "represent.h"
#include "slices.h"
#include "surrogate.h"
#include "timewin.h"
#include "../../pipeline/findings.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Bump when a rule or threshold changes, so stored results are not reused. */
#define ROOTCAUSE_RULES 6

void rootcause_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;metric=%s;seed=%llu;time=%s", ROOTCAUSE_RULES, cfg->metric,
		  (unsigned long long)cfg->seed, cfg->time ? cfg->time : "");
}

static int write_text(const struct stage_ctx *ctx, const char *name, const struct strbuf *sb)
{
	char *path = stage_output(ctx, name);
	int rc = file_write_atomic(path, sb->data ? sb->data : "", sb->len);
	free(path);
	return rc;
}

/* Keep one finding per id (the first after sorting, the most severe), and
 * none that repeats an earlier stage's: the ids are the join key of the report
 * and of `mlaudit diff`. */
static json_t *dedupe(json_t *findings, const json_t *earlier)
{
	json_t *out = json_array(), *seen = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(earlier, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (id)
			json_object_set_new(seen, id, json_true());
	}
	json_array_foreach(findings, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (!id || json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		json_array_append(out, f);
	}
	json_decref(seen);
	return out;
}

int rootcause_run(struct stage_ctx *ctx)
{
	const struct audit_config *cfg = ctx->cfg;
	char *schema = stage_input(ctx, "ingest/schema.json"), *ingest = stage_input(ctx, "ingest");
	char *f1 = stage_input(ctx, "ingest/findings.json"), *f2 = stage_input(ctx, "evaluate/findings.json");
	char *mpath = stage_input(ctx, "evaluate/metrics.json");
	const char *fpaths[] = {f1, f2, NULL};
	json_t *timings = json_object();
	double t0 = now_seconds(), t = t0;
	struct rc_data *d = rcdata_load(schema, ingest, fpaths, cfg);
	json_t *metrics = NULL;
	if (d && file_exists(mpath)) {
		json_error_t e;
		metrics = json_load_file(mpath, 0, &e);
		if (!metrics) {
			ERR_INTERNAL("%s:%d:%d: %s", mpath, e.line, e.column, e.text);
			rcdata_free(d);
			d = NULL;
		}
	}
	free(schema);
	free(ingest);
	free(f1);
	free(f2);
	free(mpath);
	if (!d) {
		json_decref(timings);
		return -1;
	}
#define LAP(name, frac)                                                        \
	do {                                                                   \
		double now_ = now_seconds();                                   \
		json_object_set_new(timings, name, json_real(now_ - t));       \
		t = now_;                                                      \
		stage_progress(ctx, frac);                                     \
	} while (0)
	LAP("load", 0.2);

	json_t *findings = json_array(), *analysis = json_object();
	struct strbuf drift_csv, slices_csv, time_csv;
	sb_init(&drift_csv);
	sb_init(&slices_csv);
	sb_init(&time_csv);
	size_t cells_n = d->nsplits * (d->ncols ? d->ncols : 1);
	uint8_t *unit = xcalloc(cells_n, 1);
	struct drift_cell *cells = xcalloc(cells_n, sizeof *cells);
	struct rc_probes probes;
	int rc = rcprobe_open(d, &probes);
	LAP("encode", 0.25);
	if (rc == 0)
		rc = quality_checks_run(d, findings, analysis, unit);
	LAP("quality", 0.3);
	if (rc == 0)
		rc = drift_run(d, unit, cells, findings, &drift_csv, analysis);
	LAP("drift", 0.45);
	if (rc == 0)
		rc = labelshift_run(d, findings, analysis);
	LAP("label_shift", 0.5);
	if (rc == 0) {
		char *oof = stage_input(ctx, "probes/oof.csv.gz"), *issues = stage_output(ctx, "label_issues.csv.gz");
		rc = labelnoise_run(d, oof, issues, findings, analysis);
		free(oof);
		free(issues);
	}
	LAP("label_noise", 0.55);
	if (rc == 0)
		rc = leakage_run(d, findings, analysis);
	/* the analyses below look at the evaluated splits only */
	rcdata_release_split(d, 0);
	LAP("leakage", 0.6);
	if (rc == 0)
		rc = domain_run(d, &probes, findings, analysis);
	LAP("domain", 0.62);
	/* the surrogate: importance, importance_shift, single points */
	struct strbuf importance_csv;
	sb_init(&importance_csv);
	struct surrogate sur;
	memset(&sur, 0, sizeof sur);
	if (rc == 0)
		rc = surrogate_run(d, &probes, findings, analysis, &importance_csv, &sur);
	if (rc == 0)
		rc = points_run(d, &probes, &sur, analysis);
	surrogate_free(&sur);
	LAP("importance", 0.65);
	if (rc == 0)
		rc = reliance_run(d, cells, unit, findings, analysis);
	LAP("reliance", 0.7);
	if (rc == 0)
		rc = slices_run(d, findings, &slices_csv, analysis);
	LAP("slices", 0.9);
	if (rc == 0)
		rc = represent_run(d, &probes, findings, analysis);
	LAP("represent", 0.92);
	int has_time = 0;
	if (rc == 0) {
		has_time = timewin_run(d, metrics, findings, &time_csv, analysis);
		rc = has_time < 0 ? -1 : 0;
	}
	LAP("time", 0.95);
#undef LAP

	findings_sort(findings);
	json_t *unique = dedupe(findings, d->earlier);
	json_object_set_new(analysis, "splits", json_array());
	for (size_t s = 0; s < d->nsplits; s++) {
		const struct rc_split *sp = &d->splits[s];
		json_t *e = json_object();
		json_object_set_new(e, "name", json_string(sp->name));
		json_object_set_new(e, "rows", json_integer((json_int_t)sp->nrows));
		json_object_set_new(e, "evaluated", json_integer((json_int_t)sp->n_eval));
		json_object_set_new(e, "errors", json_integer((json_int_t)sp->n_err));
		json_array_append_new(json_object_get(analysis, "splits"), e);
	}
	if (rc == 0) {
		json_t *fj = json_object();
		json_object_set_new(fj, "findings", json_incref(unique));
		rc = stage_write_json(ctx, "findings.json", fj);
		json_decref(fj);
	}
	if (rc == 0)
		rc = write_text(ctx, "slices.csv", &slices_csv);
	if (rc == 0)
		rc = write_text(ctx, "importance.csv", &importance_csv);
	if (rc == 0)
		rc = write_text(ctx, "drift.csv", &drift_csv);
	if (rc == 0 && has_time)
		rc = write_text(ctx, "time.csv", &time_csv);
	if (rc == 0)
		rc = stage_write_json(ctx, "analysis.json", analysis);
	json_object_set_new(timings, "write", json_real(now_seconds() - t));
	json_object_set_new(timings, "total", json_real(now_seconds() - t0));
	if (rc == 0)
		rc = stage_write_json(ctx, "timings.json", timings);
	sb_free(&drift_csv);
	sb_free(&slices_csv);
	sb_free(&importance_csv);
	sb_free(&time_csv);
	rcprobe_close(&probes);
	free(unit);
	free(cells);
	json_decref(unique);
	json_decref(findings);
	json_decref(analysis);
	json_decref(timings);
	json_decref(metrics);
	rcdata_free(d);
	return rc;
}
