/* mitigate.c - the stage: gather every finding, plan, write mitigations.json. */
#include "mitigate.h"
#include "plan.h"

#include <jansson.h>
#include <stdlib.h>

/* Bump when a rule changes, so stored results are not reused. */
#define MITIGATE_RULES 1

void mitigate_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;metric=%s", MITIGATE_RULES, cfg->metric);
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
	int rc = failed ? -1 : 0;
	if (rc == 0) {
		json_t *train = json_array_get(json_object_get(schema, "splits"), 0);
		json_t *rows = json_object_get(train, "rows");
		struct plan_ctx pc = {.metric = ctx->cfg->metric,
				      .train_rows = json_is_integer(rows) ? (long long)json_integer_value(rows) : -1,
				      .quality = quality};
		json_t *out = plan_mitigations(all, &pc);
		char *path = stage_output(ctx, "mitigations.json");
		if (json_dump_file(out, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0)
			rc = ERR_INTERNAL("%s: cannot write", path);
		free(path);
		json_decref(out);
	}
	json_decref(quality);
	json_decref(schema);
	json_decref(all);
	return rc;
}
