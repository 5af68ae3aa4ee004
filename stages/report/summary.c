/* summary.c - summary.json (the machine-readable contract, summary.schema.json)
 * and summary.md (short enough for a review comment). */
#include "model.h"
#include "escape.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/version.h"

#include <stdlib.h>
#include <string.h>

#define SUMMARY_TOP_FINDINGS 5
#define SUMMARY_DO_FIRST 3

static json_t *summary_task(const struct report_model *m)
{
	const json_t *t = json_object_get(m->schema, "task");
	json_t *task = json_object();
	const char *type = json_string_value(json_object_get(t, "type"));
	json_object_set_new(task, "type", json_string(type ? type : "binary"));
	const char *label = json_string_value(json_object_get(t, "label"));
	json_object_set_new(task, "label", json_string(label ? label : ""));
	const char *positive = json_string_value(json_object_get(t, "positive"));
	if (positive)
		json_object_set_new(task, "positive", json_string(positive));
	json_t *classes = json_array();
	const json_t *c = json_object_get(t, "classes");
	for (size_t i = 0; i < json_array_size(c); i++)
		if (json_is_string(json_array_get(c, i)))
			json_array_append(classes, json_array_get(c, i));
	json_object_set_new(task, "classes", classes);
	json_object_set_new(task, "metric", json_string(m->metric));
	return task;
}

static int summary_json(const struct report_model *m)
{
	json_t *s = json_object();
	json_object_set_new(s, "tool", json_string("mlaudit"));
	json_object_set_new(s, "version", json_string(MLA_VERSION));
	json_object_set_new(s, "run_id", json_string(m->run_id));
	/* the model's name, for the history page and `mlaudit diff` (which read
	 * only this file) */
	json_object_set_new(s, "name", json_string(m->name));
	json_object_set_new(s, "verdict", json_string(m->verdict));
	if (!strcmp(m->mode, "model") || !strcmp(m->mode, "data"))
		json_object_set_new(s, "mode", json_string(m->mode));
	/* data mode: which probe the metrics belong to (a field the schema allows adding) */
	const char *standin = json_string_value(json_object_get(json_object_get(m->metrics, "stand_in"), "text"));
	if (standin)
		json_object_set_new(s, "stand_in", json_string(standin));
	json_object_set_new(s, "backend", json_string(m->backend));
	json_object_set_new(s, "task", summary_task(m));
	json_t *metrics = json_object();
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *split = model_split_name(m, i);
		json_t *mm = json_object_get(model_split(m, split), "metrics");
		if (json_is_object(mm))
			json_object_set(metrics, split, mm);
		else
			json_object_set_new(metrics, split, json_object());
	}
	json_object_set_new(s, "metrics", metrics);
	json_object_set(s, "findings", m->findings);
	json_object_set(s, "mitigations", m->mitigations);

	char *text = json_dumps(s, JSON_INDENT(2));
	json_decref(s);
	if (!text)
		return ERR_INTERNAL("summary.json: cannot encode");
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len] = '\n';
	text[len + 1] = 0;
	char *path = stage_output(m->ctx, "summary.json");
	int rc = file_write_atomic(path, text, len + 1);
	free(path);
	free(text);
	return rc;
}

static const char *standin_text(const struct report_model *m)
{
	return json_string_value(json_object_get(json_object_get(m->metrics, "stand_in"), "text"));
}

static int summary_md(const struct report_model *m)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "## ");
	fmt_title(m, &sb, 1);
	sb_puts(&sb, "\n\n");
	fmt_headline(m, &sb, 1);
	sb_puts(&sb, "\n\n");
	if (standin_text(m)) {
		sb_puts(&sb, "*");
		fmt_text(&sb, standin_text(m), 1);
		sb_puts(&sb, ".*\n\n");
	}

	char *items[SUMMARY_DO_FIRST] = {0};
	size_t n = fmt_do_first(m, items, SUMMARY_DO_FIRST, 1);
	if (n) {
		sb_puts(&sb, "**Do first:** ");
		for (size_t i = 0; i < n; i++) {
			sb_puts(&sb, i ? " · " : "");
			sb_puts(&sb, items[i]);
			free(items[i]);
		}
		sb_puts(&sb, "\n\n");
	}

	fmt_overview_table(m, &sb);
	sb_putc(&sb, '\n');

	size_t nf = json_array_size(m->findings);
	if (nf) {
		sb_puts(&sb, "Top findings:\n\n");
		for (size_t i = 0; i < nf && i < SUMMARY_TOP_FINDINGS; i++) {
			const json_t *f = json_array_get(m->findings, i);
			sb_printf(&sb, "%zu. **%s** · ", i + 1, severity_name(finding_severity(f)));
			escape_md(&sb, json_string_value(json_object_get(f, "title")));
			sb_putc(&sb, '\n');
		}
		if (nf > SUMMARY_TOP_FINDINGS)
			sb_printf(&sb, "\n%zu more in the full report.\n", nf - SUMMARY_TOP_FINDINGS);
		sb_putc(&sb, '\n');
	}
	sb_puts(&sb, "Full report: report/index.html\n");

	char *path = stage_output(m->ctx, "summary.md");
	int rc = file_write_atomic(path, sb.data, sb.len);
	free(path);
	sb_free(&sb);
	return rc;
}

int summary_write(const struct report_model *m)
{
	if (summary_json(m) != 0)
		return -1;
	return summary_md(m);
}
