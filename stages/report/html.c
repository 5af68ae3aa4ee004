/* html.c - index.html: the report's markdown rendered by cmark-gfm (with the
 * table extension) and wrapped in templates/page.html with the CSS inlined.
 *
 * Rendering uses CMARK_OPT_DEFAULT, which is cmark's safe mode: raw HTML in
 * the markdown is dropped and only data:image/png|gif|jpeg|webp URLs survive
 * among data: URLs, so even a string that slipped past escape_md could not
 * add a script or an external resource to the page. */
#include "model.h"
#include "escape.h"
#include "template.h"
#include "../../pipeline/version.h"

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>
#include <stdlib.h>
#include <string.h>

char *report_render_markdown(const char *markdown)
{
	cmark_gfm_core_extensions_ensure_registered();
	cmark_syntax_extension *table = cmark_find_syntax_extension("table");
	if (!table) {
		ERR_INTERNAL("cmark-gfm: the table extension is not available");
		return NULL;
	}
	cmark_parser *parser = cmark_parser_new(CMARK_OPT_DEFAULT);
	cmark_parser_attach_syntax_extension(parser, table);
	cmark_parser_feed(parser, markdown, strlen(markdown));
	cmark_node *doc = cmark_parser_finish(parser);
	char *html = doc ? cmark_render_html(doc, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(parser)) : NULL;
	if (doc)
		cmark_node_free(doc);
	cmark_parser_free(parser);
	if (!html)
		ERR_INTERNAL("cmark-gfm: rendering the report failed");
	return html;
}

int html_write(const struct report_model *m, const char *markdown)
{
	char *body = report_render_markdown(markdown);
	if (!body)
		return -1;
	char *page = tmpl_load("page.html");
	char *css = page ? tmpl_load("report.css") : NULL;
	int rc = -1;
	if (page && css) {
		struct strbuf title, run_id;
		sb_init(&title);
		sb_init(&run_id);
		struct strbuf plain;
		sb_init(&plain);
		fmt_title(m, &plain, 0);
		escape_html(&title, plain.data);
		escape_html(&run_id, m->run_id);
		sb_free(&plain);
		/* verdict is one of our three words, safe as a class name */
		const struct tmpl_var vars[] = {
			{"page_title", title.data}, {"css", css}, {"body", body},
			{"verdict", m->verdict}, {"version", MLA_VERSION}, {"run_id", run_id.data},
		};
		struct strbuf out;
		sb_init(&out);
		rc = tmpl_render("page.html", page, vars, sizeof vars / sizeof vars[0], &out);
		if (rc == 0) {
			char *path = stage_output(m->ctx, "index.html");
			rc = file_write_atomic(path, out.data, out.len);
			free(path);
		}
		sb_free(&out);
		sb_free(&title);
		sb_free(&run_id);
	}
	free(css);
	free(page);
	free(body);
	return rc;
}
