/* fleet.c - the fleet page, built from each model's latest summary.json. */
#include "fleet.h"
#include "util.h"
#include "version.h"
#include "../stages/report/escape.h"
#include "../stages/report/template.h"

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The deepest folder that holds every output folder ("." when none is shared). */
static char *common_parent(const struct fleet_entry *e, size_t n)
{
	char *common = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e[i].out)
			continue;
		const char *slash = strrchr(e[i].out, '/');
		char *parent = slash ? xstrndup(e[i].out, (size_t)(slash - e[i].out)) : xstrdup(".");
		if (!common) {
			common = parent;
			continue;
		}
		size_t k = 0;
		while (common[k] && common[k] == parent[k])
			k++;
		/* cut back to a whole folder name */
		if (!(common[k] == 0 && (parent[k] == 0 || parent[k] == '/')))
			while (k > 0 && common[k] != '/')
				k--;
		int absolute = common[0] == '/';
		common[k] = 0;
		free(parent);
		if (!common[0]) {
			free(common);
			common = xstrdup(absolute ? "/" : ".");
		}
	}
	return common ? common : xstrdup(".");
}

static void estimate_text(struct strbuf *md, const json_t *est)
{
	const json_t *v = json_object_get(est, "value");
	if (!json_is_number(v)) {
		sb_puts(md, "n/a");
		return;
	}
	double lo = json_number_value(json_object_get(est, "ci_low")), hi = json_number_value(json_object_get(est, "ci_high"));
	sb_printf(md, "%.3f ±%.3f", json_number_value(v), (hi - lo) / 2);
}

static void model_row(struct strbuf *md, const struct fleet_entry *e, const char *dir)
{
	char *sum_path = e->out ? xasprintf("%s/latest/report/summary.json", e->out) : NULL;
	json_t *s = sum_path ? json_load_file(sum_path, 0, NULL) : NULL;
	free(sum_path);
	sb_puts(md, "| ");
	escape_md(md, e->name ? e->name : e->config);
	sb_puts(md, " | ");
	const char *verdict = json_string_value(json_object_get(s, "verdict"));
	sb_printf(md, "**%s** | ", verdict ? verdict : "none");
	if (!strcmp(e->state, "ran"))
		sb_puts(md, "audited");
	else if (!strcmp(e->state, "skipped"))
		sb_puts(md, "skipped: inputs unchanged since that run");
	else {
		sb_printf(md, "failed (exit %d): ", e->status);
		escape_md(md, e->detail);
	}
	sb_puts(md, " | ");
	const char *metric = json_string_value(json_object_get(json_object_get(s, "task"), "metric"));
	json_t *metrics = json_object_get(s, "metrics");
	if (metric) {
		escape_md(md, metric);
		sb_puts(md, ": test ");
		estimate_text(md, json_object_get(json_object_get(metrics, "test"), metric));
		if (json_object_get(metrics, "current")) {
			sb_puts(md, ", current ");
			estimate_text(md, json_object_get(json_object_get(metrics, "current"), metric));
		}
	}
	sb_puts(md, " | ");
	size_t count[4] = {0};
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(s, "findings"), i, f) {
		const char *sev = json_string_value(json_object_get(f, "severity"));
		static const char *const names[] = {"info", "low", "medium", "high"};
		for (int k = 0; k < 4; k++)
			if (sev && !strcmp(sev, names[k]))
				count[k]++;
	}
	if (s)
		sb_printf(md, "%zu high, %zu medium, %zu low", count[3], count[2], count[1]);
	sb_puts(md, " | ");
	const char *run_id = json_string_value(json_object_get(s, "run_id"));
	if (run_id && e->out) {
		/* a link relative to the page when the model's folder is below it */
		size_t dl = strlen(dir);
		const char *rel = !strcmp(dir, ".") ? e->out
				  : !strncmp(e->out, dir, dl) && e->out[dl] == '/' ? e->out + dl + 1 : e->out;
		char *target = xasprintf("%s/%s/report/index.html", rel, run_id);
		sb_puts(md, "[");
		escape_md(md, run_id);
		sb_puts(md, "](<");
		for (const char *p = target; *p; p++)
			if (*p != '<' && *p != '>' && *p != '\n')
				sb_putc(md, *p);
		sb_puts(md, ">)");
		free(target);
	}
	sb_puts(md, " |\n");
	json_decref(s);
}

int fleet_write(const char *dir_arg, const struct fleet_entry *e, size_t n)
{
	char *dir = dir_arg ? xstrdup(dir_arg) : common_parent(e, n);
	if (mkdir_p(dir) != 0) {
		free(dir);
		return -1;
	}
	char when[32];
	utc_iso8601(when, sizeof when, (long long)time(NULL));
	struct strbuf md;
	sb_init(&md);
	sb_printf(&md, "## Fleet · %zu models · %s\n\n", n, when);
	sb_puts(&md, "| model | verdict | this call | chosen metric | findings | latest report |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++)
		model_row(&md, &e[i], dir);

	cmark_gfm_core_extensions_ensure_registered();
	cmark_parser *parser = cmark_parser_new(CMARK_OPT_DEFAULT);
	cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension("table"));
	cmark_parser_feed(parser, md.data, md.len);
	cmark_node *doc = cmark_parser_finish(parser);
	char *body = cmark_render_html(doc, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(parser));
	cmark_node_free(doc);
	cmark_parser_free(parser);

	int rc = -1;
	char *page = tmpl_load("page.html"), *css = page ? tmpl_load("report.css") : NULL;
	if (page && css) {
		const struct tmpl_var vars[] = {
			{"page_title", "mlaudit fleet"}, {"css", css}, {"body", body},
			{"verdict", "fleet"}, {"version", MLA_VERSION}, {"run_id", when},
		};
		struct strbuf out;
		sb_init(&out);
		rc = tmpl_render("page.html", page, vars, sizeof vars / sizeof vars[0], &out);
		if (rc == 0) {
			char *path = path_join(dir, "fleet.html");
			rc = file_write_atomic(path, out.data, out.len);
			free(path);
		}
		sb_free(&out);
	}
	free(page);
	free(css);
	free(body);
	sb_free(&md);
	free(dir);
	return rc;
}
