/* mitigate.c - the stage: gather every finding, plan, measure what a probe
 * can measure (whatif.c), order, write mitigations.json. */
#include "mitigate.h"
#include "plan.h"
#include "whatif.h"
#include "../rootcause/rcdata.h"
#include "../rootcause/rcprobe.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Bump when a rule changes, so stored results are not reused. */
#define MITIGATE_RULES 3

/* The what-if probe's width when the probes stage left no best probe, and
 * the most it may have: the what-if job trains up to nine probes in the
 * stage's time budget. */
#define MITIGATE_DEFAULT_WIDTH 64
#define MITIGATE_MAX_WIDTH 128

void mitigate_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;metric=%s;seed=%llu;backend=%s", MITIGATE_RULES, cfg->metric,
		  (unsigned long long)cfg->seed, cfg->backend ? cfg->backend : "auto");
}

/* Load a JSON file of an earlier stage; NULL (nothing recorded) when it does
 * not exist and `optional`, else NULL with an error recorded. */
static json_t *load(const struct stage_ctx *ctx, const char *rel, int optional, int *failed)
{
	char *path = stage_input(ctx, rel);
	json_t *j = NULL;
	if (file_exists(path)) {
		json_error_t e;
		j = json_load_file(path, 0, &e);
		if (!j) {
			ERR_INTERNAL("%s:%d:%d: %s", path, e.line, e.column, e.text);
			*failed = 1;
		}
	} else if (!optional) {
		ERR_INTERNAL("%s: missing", path);
		*failed = 1;
	}
	free(path);
	return j;
}

/* The what-if probe: the architecture of the probes stage's best probe
 * (probes.json "best"), its width capped; MITIGATE_DEFAULT_WIDTH without one.
 * Writes the probe's description into buf. */
static int probe_width(const json_t *probes, char *buf, size_t size)
{
	const json_t *best = json_object_get(probes, "best");
	const json_t *idx = json_object_get(best, "index");
	const json_t *pr = json_is_integer(idx) ? json_array_get(json_object_get(probes, "probes"),
								 (size_t)json_integer_value(idx)) : NULL;
	const json_t *hidden = json_object_get(json_object_get(pr, "spec"), "hidden");
	const char *name = json_string_value(json_object_get(pr, "name"));
	if (!pr || !json_is_array(hidden)) {
		snprintf(buf, size, "MLP, 1 hidden layer of %d ReLU units (Adam, early stopping on %.0f%% of its "
				    "training rows)", MITIGATE_DEFAULT_WIDTH, 100 * WHATIF_VAL_SHARE);
		return MITIGATE_DEFAULT_WIDTH;
	}
	int width = json_array_size(hidden) ? (int)json_integer_value(json_array_get(hidden, 0)) : 0;
	if (width <= 0) {
		snprintf(buf, size, "softmax regression (Adam, cosine decay): the probes stage's best probe");
		return 0;
	}
	int w = width > MITIGATE_MAX_WIDTH ? MITIGATE_MAX_WIDTH : width;
	snprintf(buf, size, "MLP, 1 hidden layer of %d ReLU units (Adam, early stopping on %.0f%% of its training rows)", w,
		 100 * WHATIF_VAL_SHARE);
	if (w < width)
		snprintf(buf + strlen(buf), size - strlen(buf), ": the probes stage's best probe (%s) narrowed to bound the time",
			 name ? name : "?");
	else
		snprintf(buf + strlen(buf), size - strlen(buf), ": the probes stage's best probe (%s)", name ? name : "?");
	return w;
}

/* Retrain probes with the testable actions applied: data and encoding as
 * the rootcause stage loads them. Only called when some action is testable. */
static int measure(const struct stage_ctx *ctx, const json_t *findings, const json_t *probes, json_t *plan)
{
	const struct audit_config *cfg = ctx->cfg;
	char *schema = stage_input(ctx, "ingest/schema.json"), *ingest = stage_input(ctx, "ingest");
	const char *fpaths[] = {NULL};
	struct rc_data *d = rcdata_load(schema, ingest, fpaths, cfg);
	free(schema);
	free(ingest);
	if (!d)
		return -1;
	stage_progress(ctx, 0.3);
	struct rc_probes p;
	int rc = rcprobe_open(d, &p);
	stage_progress(ctx, 0.4);
	if (rc == 0) {
		char desc[256];
		struct whatif_opts o = {.width = probe_width(probes, desc, sizeof desc), .probe = desc,
					.seed = cfg->seed, .max_rows = RCPROBE_MAX_ROWS, .replicates = WHATIF_REPLICATES};
		char *suspects = stage_input(ctx, "rootcause/label_issues.csv.gz");
		o.suspects_path = suspects;
		rc = whatif_measure(d, &p, findings, &o, plan);
		json_object_set_new(json_object_get(plan, "whatif"), "backend", json_string(p.be ? p.be->name : ""));
		free(suspects);
	}
	rcprobe_close(&p);
	rcdata_free(d);
	return rc;
}

int mitigate_run(struct stage_ctx *ctx)
{
	static const char *const sources[] = {"ingest/findings.json", "evaluate/findings.json",
					      "rootcause/findings.json", "probes/findings.json", NULL};
	int failed = 0;
	json_t *all = json_array();
	for (const char *const *s = sources; *s && !failed; s++) {
		/* probes/ is optional: the probe engine may not have run */
		json_t *j = load(ctx, *s, s[1] == NULL, &failed);
		if (j)
			json_array_extend(all, json_object_get(j, "findings"));
		json_decref(j);
	}
	json_t *quality = failed ? NULL : load(ctx, "ingest/quality.json", 1, &failed);
	json_t *schema = failed ? NULL : load(ctx, "ingest/schema.json", 0, &failed);
	json_t *probes = failed ? NULL : load(ctx, "probes/probes.json", 1, &failed);
	int rc = failed ? -1 : 0;
	if (rc == 0) {
		json_t *train = json_array_get(json_object_get(schema, "splits"), 0);
		json_t *rows = json_object_get(train, "rows");
		struct plan_ctx pc = {.metric = ctx->cfg->metric,
				      .train_rows = json_is_integer(rows) ? (long long)json_integer_value(rows) : -1,
				      .quality = quality};
		json_t *out = plan_mitigations(all, &pc);
		if (whatif_wanted(out, all))
			rc = measure(ctx, all, probes, out);
		whatif_order(out);
		/* the plan's rules, then how effects are measured and ordered */
		const char *rules = json_string_value(json_object_get(out, "rules"));
		struct strbuf sb;
		sb_init(&sb);
		if (rules)
			sb_puts(&sb, rules);
		sb_printf(&sb, "%s%s", sb.len ? " " : "", whatif_rules());
		json_object_set_new(out, "rules", json_string(sb.data));
		sb_free(&sb);
		char *path = stage_output(ctx, "mitigations.json");
		if (rc == 0 &&
		    json_dump_file(out, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0)
			rc = ERR_INTERNAL("%s: cannot write", path);
		free(path);
		json_decref(out);
	}
	json_decref(quality);
	json_decref(schema);
	json_decref(probes);
	json_decref(all);
	return rc;
}
