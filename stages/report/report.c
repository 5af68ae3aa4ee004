/* report.c - the report stage: load the run's artifacts into a model, decide
 * the verdict, and call the writers. */
#include "report.h"
#include "model.h"
#include "../../pipeline/findings.h"

#include "../ingest/csv.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- accessors ---- */

size_t model_nsplits(const struct report_model *m)
{
	return json_array_size(json_object_get(m->metrics, "split_order"));
}

const char *model_split_name(const struct report_model *m, size_t i)
{
	return json_string_value(json_array_get(json_object_get(m->metrics, "split_order"), i));
}

json_t *model_split(const struct report_model *m, const char *split)
{
	return json_object_get(json_object_get(m->metrics, "splits"), split);
}

json_t *model_estimate(const struct report_model *m, const char *split, const char *metric)
{
	return json_object_get(json_object_get(model_split(m, split), "metrics"), metric);
}

const char *model_current_split(const struct report_model *m)
{
	const char *last = NULL;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *s = model_split_name(m, i);
		if (!strcmp(s, "current"))
			return s;
		if (strcmp(s, "train") && strcmp(s, "test"))
			last = s;
	}
	return last;
}

static const char did_not_run[] = "rootcause/analysis.json holds no result for it";

const json_t *model_analysis(const struct report_model *m, const char *key, const char **why)
{
	const json_t *v = json_object_get(m->analysis, key);
	char skey[96];
	snprintf(skey, sizeof skey, "%s_skipped", key);
	const char *reason = json_string_value(json_object_get(m->analysis, skey));
	if (why)
		*why = v ? reason : reason && *reason ? reason : did_not_run;
	return v;
}

double model_error_rate(const struct report_model *m, const char *split)
{
	size_t i;
	const json_t *s;
	json_array_foreach(json_object_get(m->analysis, "splits"), i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const json_t *e = json_object_get(s, "errors"), *n = json_object_get(s, "evaluated");
		if (name && !strcmp(name, split) && json_is_number(e) && json_is_number(n) && json_number_value(n) > 0)
			return json_number_value(e) / json_number_value(n);
	}
	return NAN;
}

const char *model_finding_kind(const struct report_model *m, const char *id)
{
	size_t i;
	const json_t *f;
	json_array_foreach(m->findings, i, f) {
		const char *fid = json_string_value(json_object_get(f, "id"));
		if (id && fid && !strcmp(fid, id))
			return json_string_value(json_object_get(f, "kind"));
	}
	return NULL;
}

/* Every finding kind of summary.schema.json (these strings are an interface),
 * the report section it belongs to, and the stage whose analysis checks it in
 * this version. junit.xml reports a kind as checked when that stage's folder is
 * in the run, so a kind gets its stage here only once an analysis really
 * produces it; NULL: nothing checks it yet. Kinds whose analysis may be
 * skipped inside its stage also name their analysis.json key: without it
 * the kind was not checked. */
const struct model_kind model_kinds[] = {
	{"low_train_performance", 1, "evaluate", NULL}, {"overfitting", 1, "evaluate", NULL},
	{"performance_drop", 1, "evaluate", NULL}, {"weak_segment", 1, "evaluate", NULL},
	{"confident_errors", 1, "evaluate", NULL}, {"below_reference", 1, "probes", NULL},
	{"misaligned_metric", 1, "evaluate", NULL}, {"miscalibration", 1, "evaluate", NULL},
	{"error_slice", 2, "rootcause", "slices"}, {"time_degradation", 2, "rootcause", NULL},
	{"data_quality", 2, "ingest", NULL}, {"pipeline_change", 2, "ingest", NULL},
	{"underrepresented_slice", 3, "rootcause", "underrepresented"}, {"label_noise", 3, "rootcause", "label_noise"},
	{"data_drift", 3, "rootcause", NULL}, {"label_shift", 3, "rootcause", NULL},
	{"concept_drift", 3, "rootcause", "domain"}, {"leakage", 3, "rootcause", NULL},
	{"feature_reliance", 3, "rootcause", NULL}, {"importance_shift", 3, "rootcause", "importance"},
	{"insufficient_data", 3, NULL, NULL}, {"unlearnable_labels", 3, "probes", NULL}, {"capacity", 3, NULL, NULL},
	{"sanity_check", 0, NULL, NULL},
};
const size_t model_nkinds = sizeof model_kinds / sizeof model_kinds[0];

int model_finding_section(const json_t *finding)
{
	const char *kind = json_string_value(json_object_get(finding, "kind"));
	for (size_t i = 0; kind && i < model_nkinds; i++)
		if (!strcmp(kind, model_kinds[i].kind))
			return model_kinds[i].section;
	const json_t *step = json_object_get(finding, "step");
	if (json_is_integer(step) && json_integer_value(step) >= 1 && json_integer_value(step) <= 3)
		return (int)json_integer_value(step);
	return 0;
}

/* ---- loading ---- */

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Parse an artifact of an earlier stage. Artifacts are written by this tool,
 * so a missing or malformed one is an internal error, not bad input. */
static json_t *load_json(const struct stage_ctx *ctx, const char *rel)
{
	char *path = stage_input(ctx, rel);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		ERR_INTERNAL("%s:%d:%d: %s", path, err.line, err.column, err.text);
	else if (!json_is_object(j)) {
		ERR_INTERNAL("%s: not a JSON object", path);
		json_decref(j);
		j = NULL;
	}
	free(path);
	return j;
}

/* The fields summary.schema.json requires of a finding, so that a bad
 * artifact fails here with its file named rather than as an invalid summary. */
static int check_finding(const json_t *f, const char *rel, size_t i)
{
	static const char *const strings[] = {"id", "kind", "title"};
	if (!json_is_object(f))
		return ERR_INTERNAL("%s: finding %zu is not an object", rel, i);
	for (size_t k = 0; k < 3; k++)
		if (!json_is_string(json_object_get(f, strings[k])))
			return ERR_INTERNAL("%s: finding %zu: \"%s\" missing or not a string", rel, i, strings[k]);
	const char *sev = json_string_value(json_object_get(f, "severity"));
	if (!sev || severity_parse(sev) < 0)
		return ERR_INTERNAL("%s: finding %zu: severity must be info, low, medium or high", rel, i);
	const json_t *step = json_object_get(f, "step");
	int step_ok = (json_is_integer(step) && json_integer_value(step) >= 1 && json_integer_value(step) <= 3) ||
		      (json_is_string(step) && !strcmp(json_string_value(step), "probes"));
	if (!step_ok)
		return ERR_INTERNAL("%s: finding %zu: step must be 1, 2, 3 or \"probes\"", rel, i);
	if (!json_is_object(json_object_get(f, "subject")) || !json_is_object(json_object_get(f, "evidence")))
		return ERR_INTERNAL("%s: finding %zu: subject and evidence must be objects", rel, i);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every RUN/<stage>/findings.json, in stage-name order (readdir order is not
 * stable; findings_sort fixes the final order anyway). Hidden folders are the
 * runner's temporary ones, ours included. */
static int load_findings(struct report_model *m)
{
	const struct stage_ctx *ctx = m->ctx;
	DIR *d = opendir(ctx->run_dir);
	if (!d)
		return ERR_INTERNAL("%s: cannot open run folder", ctx->run_dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "report"))
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_str);

	int rc = 0;
	m->findings = json_array();
	for (size_t i = 0; i < n; i++) {
		char *rel = xasprintf("%s/findings.json", names[i]);
		char *path = stage_input(ctx, rel);
		int exists = file_exists(path);
		free(path);
		if (exists && rc == 0) {
			json_t *j = load_json(ctx, rel);
			json_t *arr = j ? json_object_get(j, "findings") : NULL;
			if (!j)
				rc = -1;
			else if (!json_is_array(arr))
				rc = ERR_INTERNAL("%s: \"findings\" missing or not an array", rel);
			for (size_t k = 0; rc == 0 && k < json_array_size(arr); k++) {
				json_t *f = json_array_get(arr, k);
				rc = check_finding(f, rel, k);
				if (rc == 0)
					json_array_append(m->findings, f);
			}
			json_decref(j);
		}
		free(rel);
		free(names[i]);
	}
	free(names);
	if (rc == 0)
		findings_sort(m->findings);
	return rc;
}

static int load_mitigations(struct report_model *m)
{
	m->mitigations = json_array();
	char *path = stage_input(m->ctx, "mitigate/mitigations.json");
	int exists = file_exists(path);
	free(path);
	if (!exists)
		return 0;
	json_t *j = load_json(m->ctx, "mitigate/mitigations.json");
	if (!j)
		return -1;
	json_t *arr = json_object_get(j, "mitigations");
	int rc = 0;
	if (!json_is_array(arr))
		rc = ERR_INTERNAL("mitigate/mitigations.json: \"mitigations\" missing or not an array");
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		json_t *mi = json_array_get(arr, i);
		if (!json_is_string(json_object_get(mi, "id")) || !json_is_string(json_object_get(mi, "action")) ||
		    !json_is_string(json_object_get(mi, "text")) || !json_is_array(json_object_get(mi, "addresses")))
			rc = ERR_INTERNAL("mitigate/mitigations.json: mitigation %zu needs id, action, text and addresses", i);
		else
			json_array_append(m->mitigations, mi);
	}
	json_decref(j);
	return rc;
}

/* Findings live in the files of the stages that found them; the mitigate
 * stage names the findings each action addresses. Join them here, so every
 * finding in the report and in summary.json lists its mitigations. */
static void link_mitigations(struct report_model *m)
{
	size_t i, j, k;
	json_t *mi, *fid, *f;
	json_array_foreach(m->mitigations, i, mi) {
		json_array_foreach(json_object_get(mi, "addresses"), j, fid) {
			json_array_foreach(m->findings, k, f) {
				if (!json_equal(json_object_get(f, "id"), fid))
					continue;
				json_t *list = json_object_get(f, "mitigations");
				if (!json_is_array(list)) {
					list = json_array();
					json_object_set_new(f, "mitigations", list);
				}
				json_array_append(list, json_object_get(mi, "id"));
			}
		}
	}
}

/* drift.csv's columns that hold numbers (the rest stay text); an empty
 * field is null, so a missing statistic is never read as 0 */
static int drift_numeric(const char *col)
{
	static const char *const cols[] = {"statistic", "p", "q", "wasserstein_sd", "psi", "js", "flagged"};
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		if (!strcmp(col, cols[i]))
			return 1;
	return 0;
}

/* rootcause/drift.csv as an array of objects keyed by its header. */
static int load_drift(struct report_model *m)
{
	char *path = stage_input(m->ctx, "rootcause/drift.csv");
	struct csv_reader *rd = file_exists(path) ? csv_open(path, ',') : NULL;
	if (!rd) {
		/* runs from before drift.csv, or an unreadable one: the section says so */
		mla_error_clear();
		free(path);
		return 0;
	}
	struct csv_row row;
	char **head = NULL;
	size_t nhead = 0;
	int got;
	m->drift = json_array();
	while ((got = csv_next(rd, &row)) > 0) {
		if (!head) {
			nhead = row.nfields;
			head = xcalloc(nhead, sizeof *head);
			for (size_t i = 0; i < nhead; i++)
				head[i] = xstrdup(row.field[i]);
			continue;
		}
		json_t *o = json_object();
		for (size_t i = 0; i < nhead && i < row.nfields; i++) {
			if (!drift_numeric(head[i])) {
				json_object_set_new(o, head[i], json_string(row.field[i]));
				continue;
			}
			char *end;
			double v = strtod(row.field[i], &end);
			json_object_set_new(o, head[i], end != row.field[i] && !*end && isfinite(v) ? json_real(v) : json_null());
		}
		json_array_append_new(m->drift, o);
	}
	for (size_t i = 0; i < nhead; i++)
		free(head[i]);
	free(head);
	csv_close(rd);
	int rc = 0;
	if (got < 0) {
		/* our own artifact is malformed: an internal error, not bad input */
		char *msg = xstrdup(mla_error_message());
		mla_error_clear();
		rc = ERR_INTERNAL("%s", msg);
		free(msg);
	}
	free(path);
	return rc;
}

static int load_rootcause(struct report_model *m)
{
	char *path = stage_input(m->ctx, "rootcause/analysis.json");
	int exists = file_exists(path);
	free(path);
	if (exists && !(m->analysis = load_json(m->ctx, "rootcause/analysis.json")))
		return -1;
	return load_drift(m);
}

static const char *string_or(const json_t *j, const char *fallback)
{
	const char *s = json_string_value(j);
	return s && *s ? s : fallback;
}

static int model_load(const struct stage_ctx *ctx, struct report_model *m)
{
	m->ctx = ctx;
	if (!(m->run = load_json(ctx, "run.json")) || !(m->schema = load_json(ctx, "ingest/schema.json")) ||
	    !(m->quality = load_json(ctx, "ingest/quality.json")) ||
	    !(m->metrics = load_json(ctx, "evaluate/metrics.json")))
		return -1;
	if (!json_is_object(json_object_get(m->schema, "task")))
		return ERR_INTERNAL("ingest/schema.json: \"task\" missing");
	if (!json_is_object(json_object_get(m->metrics, "splits")))
		return ERR_INTERNAL("evaluate/metrics.json: \"splits\" missing");
	json_t *order = json_object_get(m->metrics, "split_order");
	if (!json_is_array(order))
		return ERR_INTERNAL("evaluate/metrics.json: \"split_order\" missing");
	for (size_t i = 0; i < json_array_size(order); i++)
		if (!json_is_string(json_array_get(order, i)) ||
		    !json_is_object(model_split(m, json_string_value(json_array_get(order, i)))))
			return ERR_INTERNAL("evaluate/metrics.json: split_order[%zu] names no split", i);

	char *p;
	p = stage_input(ctx, "probes");
	m->has_probes = is_dir(p);
	free(p);
	p = stage_input(ctx, "rootcause");
	m->has_rootcause = is_dir(p);
	free(p);
	p = stage_input(ctx, "mitigate");
	m->has_mitigate = is_dir(p);
	free(p);

	if (m->has_probes) {
		char *pj = stage_input(ctx, "probes/probes.json");
		int exists = file_exists(pj);
		free(pj);
		if (exists && !(m->probes = load_json(ctx, "probes/probes.json")))
			return -1;
		/* runs from before the training checks have no sanity.json */
		char *sj = stage_input(ctx, "probes/sanity.json");
		exists = file_exists(sj);
		free(sj);
		if (exists && !(m->sanity = load_json(ctx, "probes/sanity.json")))
			return -1;
	}
	if (m->has_rootcause && load_rootcause(m) != 0)
		return -1;
	if (load_findings(m) != 0 || load_mitigations(m) != 0)
		return -1;
	link_mitigations(m);

	const json_t *rcfg = json_object_get(m->run, "config");
	m->name = ctx->cfg && ctx->cfg->name ? ctx->cfg->name : string_or(json_object_get(rcfg, "name"), "model");
	m->run_id = ctx->run_id ? ctx->run_id : string_or(json_object_get(m->run, "run_id"), "unknown");
	m->metric = string_or(json_object_get(m->metrics, "metric"),
			      ctx->cfg && ctx->cfg->metric ? ctx->cfg->metric : "accuracy");
	m->mode = string_or(json_object_get(m->schema, "mode"), string_or(json_object_get(m->metrics, "mode"), "model"));
	/* the probes stage's own record of its backend: run.json's is not updated
	 * when the stage is reused from an earlier run */
	m->backend = string_or(json_object_get(m->probes, "backend_note"),
			       string_or(json_object_get(m->run, "backend"), "cpu"));

	/* Verdict: fail at or above fail_on, warn for anything from low up. */
	enum severity fail_on = ctx->cfg ? ctx->cfg->fail_on : SEV_HIGH;
	m->fail_on = fail_on;
	int worst = -1;
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		int s = (int)finding_severity(json_array_get(m->findings, i));
		m->counts[s]++;
		if (s > worst)
			worst = s;
	}
	if (worst >= (int)fail_on)
		m->verdict = "fail";
	else if (worst >= SEV_LOW)
		m->verdict = "warn";
	else
		m->verdict = "pass";
	return 0;
}

static void model_free(struct report_model *m)
{
	json_decref(m->run);
	json_decref(m->schema);
	json_decref(m->quality);
	json_decref(m->metrics);
	json_decref(m->findings);
	json_decref(m->mitigations);
	json_decref(m->probes);
	json_decref(m->sanity);
	json_decref(m->analysis);
	json_decref(m->drift);
	for (int i = 0; i < PLOT_COUNT; i++)
		free(m->plot_png[i]);
	free(m->plot_note);
}

/* ---- the stage ---- */

int report_run(struct stage_ctx *ctx)
{
	struct report_model m;
	memset(&m, 0, sizeof m);
	int rc = model_load(ctx, &m);
	if (rc == 0) {
		stage_progress(ctx, 0.1);
		rc = plots_draw(&m);
	}
	if (rc == 0) {
		stage_progress(ctx, 0.5);
		rc = summary_write(&m);
	}
	if (rc == 0) {
		struct strbuf md;
		sb_init(&md);
		rc = markdown_build(&m, &md);
		if (rc == 0)
			rc = html_write(&m, md.data);
		sb_free(&md);
	}
	if (rc == 0) {
		stage_progress(ctx, 0.8);
		rc = xlsx_write(&m);
	}
	if (rc == 0)
		rc = junit_write(&m);
	if (rc == 0)
		stage_progress(ctx, 1.0);
	model_free(&m);
	return rc;
}

void report_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "name=%s\nmetric=%s\nfail_on=%s\n", cfg->name ? cfg->name : "",
		  cfg->metric ? cfg->metric : "", severity_name(cfg->fail_on));
}
