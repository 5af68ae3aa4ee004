/* test_report.c - the report stage on a hand-written run folder whose data
 * carries hostile strings: a category `<script>alert(1)</script>`, a category
 * `=HYPERLINK("http://x","y")`, and a column name with a quote, a backquote and
 * a newline. Plus the escaping and template units. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "pipeline/stage.h"
#include "pipeline/util.h"
#include "stages/report/escape.h"
#include "stages/report/model.h"
#include "stages/report/report.h"
#include "stages/report/template.h"

/* The hostile strings, as C text and as JSON string bodies. */
#define SCRIPT "<script>alert(1)</script>"
#define HYPER "=HYPERLINK(\"http://x\",\"y\")"
#define HYPER_J "=HYPERLINK(\\\"http://x\\\",\\\"y\\\")"
#define WEIRD "q\"b`c\nd"
#define WEIRD_J "q\\\"b`c\\nd"

/* ---- the run folder ---- */

static const char run_json[] =
	"{\"tool\": \"mlaudit\", \"version\": \"0.1.0\", \"run_id\": \"20261127T020000Z\","
	" \"started\": \"2026-11-27T02:00:00Z\", \"status\": \"running\", \"backend\": \"cpu\","
	" \"config\": {\"name\": \"credit\", \"label\": \"Status\", \"metric\": \"f1\", \"fail_on\": \"high\","
	"   \"segments\": [\"region\", \"" WEIRD_J "\"]},"
	" \"stages\": [{\"name\": \"ingest\", \"status\": \"ran\", \"seconds\": 0.42},"
	"              {\"name\": \"evaluate\", \"status\": \"ran\", \"seconds\": 1.1}]}";

static const char schema_json[] =
	"{\"task\": {\"type\": \"binary\", \"label\": \"Status\", \"classes\": [\"bad\", \"good\"],"
	"   \"positive\": \"bad\", \"positive_rule\": \"config key positive\"},"
	" \"mode\": \"model\", \"model_columns\": {\"pred\": \"pred\", \"proba\": \"proba\", \"proba_prefix\": null},"
	" \"splits\": [{\"name\": \"train\", \"rows\": 4000}, {\"name\": \"test\", \"rows\": 1000},"
	"              {\"name\": \"current\", \"rows\": 900}],"
	" \"columns\": [{\"name\": \"x1\", \"type\": \"numeric\", \"role\": \"feature\"},"
	"   {\"name\": \"region\", \"type\": \"categorical\", \"role\": \"segment\"},"
	"   {\"name\": \"" WEIRD_J "\", \"type\": \"categorical\", \"role\": \"segment\"}]}";

#define QUALITY_SPLIT(rows, miss) \
	"{\"rows\": " rows ", \"duplicate_rows\": 3, \"constant_columns\": [],"                        \
	" \"columns\": [{\"name\": \"x1\", \"type\": \"numeric\", \"role\": \"feature\", \"missing\": 4,"  \
	"   \"missing_rate\": " miss ", \"distinct\": 812, \"bad_numeric\": 1, \"min\": 0.5, \"max\": 98.25," \
	"   \"mean\": 41.5, \"std\": 12.25},"                                                             \
	"  {\"name\": \"region\", \"type\": \"categorical\", \"role\": \"segment\", \"missing\": 1,"     \
	"   \"missing_rate\": 0.001, \"distinct\": 3,"                                                    \
	"   \"top\": [{\"value\": \"west\", \"count\": 700}, {\"value\": \"" SCRIPT "\", \"count\": 200}]}," \
	"  {\"name\": \"" WEIRD_J "\", \"type\": \"categorical\", \"role\": \"segment\", \"missing\": 1,"  \
	"   \"missing_rate\": 0.002, \"distinct\": 2,"                                                    \
	"   \"top\": [{\"value\": \"" HYPER_J "\", \"count\": 300}]}]}"

static const char quality_json[] =
	"{\"splits\": {\"train\": " QUALITY_SPLIT("4000", "0.01") ", \"test\": " QUALITY_SPLIT("1000", "0.02")
	", \"current\": " QUALITY_SPLIT("900", "0.15") "}}";

#define EST(v, lo, hi, n) "{\"value\": " v ", \"ci_low\": " lo ", \"ci_high\": " hi ", \"n\": " n "}"
#define EST_NULL(n, why) "{\"value\": null, \"ci_low\": null, \"ci_high\": null, \"n\": " n ", \"reason\": \"" why "\"}"

#define SPLIT_METRICS(rows, acc, f1, precision)                                                          \
	"{\"rows\": " rows ", \"metrics\": {\"accuracy\": " acc ", \"precision\": " precision ","           \
	" \"recall\": " EST("0.71", "0.66", "0.76", "300") ", \"f1\": " f1 ","                               \
	" \"roc_auc\": " EST("0.881", "0.86", "0.902", "1000") ", \"log_loss\": " EST("0.412", "0.39", "0.434", "1000") "}," \
	" \"per_class\": [{\"class\": \"bad\", \"support\": 300, \"precision\": " precision ","             \
	"   \"recall\": " EST("0.71", "0.66", "0.76", "300") ", \"f1\": " f1 "},"                            \
	"  {\"class\": \"good\", \"support\": 700, \"precision\": " EST("0.87", "0.84", "0.9", "700") ","    \
	"   \"recall\": " EST("0.91", "0.89", "0.93", "700") ", \"f1\": " EST("0.89", "0.87", "0.91", "700") "}]," \
	" \"confusion\": {\"classes\": [\"bad\", \"good\"], \"matrix\": [[213, 87], [63, 637]]},"         \
	" \"reliability\": [{\"lo\": 0.5, \"hi\": 0.6, \"n\": 120, \"confidence\": 0.55, \"accuracy\": 0.52}," \
	"   {\"lo\": 0.6, \"hi\": 0.7, \"n\": 0, \"confidence\": null, \"accuracy\": null},"             \
	"   {\"lo\": 0.7, \"hi\": 0.8, \"n\": 300, \"confidence\": 0.75, \"accuracy\": 0.71},"            \
	"   {\"lo\": 0.9, \"hi\": 1.0, \"n\": 500, \"confidence\": 0.95, \"accuracy\": 0.93}],"           \
	" \"confident_errors\": [{\"row\": 17, \"id\": \"" SCRIPT "\", \"true\": \"bad\", \"predicted\": \"good\", \"confidence\": 0.991}]}"

#define SEGMENT(split, col, val, rows, f1, weak)                                                         \
	"{\"split\": \"" split "\", \"column\": \"" col "\", \"value\": \"" val "\", \"rows\": " rows ","   \
	" \"metrics\": {\"f1\": " f1 ", \"accuracy\": " EST("0.8", "0.75", "0.85", rows) "},"              \
	" \"rest\": {\"f1\": " EST("0.8", "0.77", "0.83", "800") "}, \"p_value\": 0.0001, \"q_value\": 0.0004," \
	" \"weak\": " weak "}"

static const char metrics_json[] =
	"{\"metric\": \"f1\", \"mode\": \"model\", \"split_order\": [\"train\", \"test\", \"current\"],"
	" \"splits\": {"
	"  \"train\": " SPLIT_METRICS("4000", EST("0.874", "0.864", "0.884", "4000"), EST("0.846", "0.84", "0.852", "1200"),
				      EST("0.79", "0.76", "0.82", "1100")) ","
	"  \"test\": " SPLIT_METRICS("1000", EST("0.842", "0.82", "0.864", "1000"), EST("0.801", "0.787", "0.815", "300"),
				     EST("0.78", "0.73", "0.83", "276")) ","
	"  \"current\": " SPLIT_METRICS("900", EST("0.781", "0.753", "0.809", "900"), EST("0.712", "0.701", "0.723", "280"),
					EST_NULL("0", "no predicted positives")) "},"
	" \"segments\": ["
	   SEGMENT("test", "region", "west", "240", EST("0.61", "0.55", "0.67", "240"), "true") ","
	   SEGMENT("test", "region", SCRIPT, "200", EST("0.82", "0.77", "0.87", "200"), "false") ","
	   SEGMENT("test", WEIRD_J, HYPER_J, "300", EST("0.79", "0.74", "0.84", "300"), "false") ","
	   SEGMENT("current", "region", "west", "220", EST("0.55", "0.49", "0.61", "220"), "true") ","
	   SEGMENT("current", WEIRD_J, HYPER_J, "280", EST("0.7", "0.64", "0.76", "280"), "false") "],"
	" \"threshold\": {\"split\": \"test\", \"chosen_on\": \"train\", \"metric\": \"f1\", \"at\": 0.5,"
	"   \"best\": 0.31, \"value_at\": 0.801, \"value_best\": 0.823}}";

#define FINDING(id, step, kind, sev, title, subject, evidence)                                          \
	"{\"id\": \"" id "\", \"step\": " step ", \"kind\": \"" kind "\", \"severity\": \"" sev "\","     \
	" \"title\": \"" title "\", \"subject\": " subject ", \"evidence\": " evidence ", \"mitigations\": []}"

static const char ingest_findings[] =
	"{\"findings\": [" FINDING("F-00000001", "2", "data_quality", "low",
		"Column " WEIRD_J " has 15% missing values in current against 1% in train.",
		"{\"split\": \"current\", \"feature\": \"" WEIRD_J "\"}",
		"{\"missing_rate\": 0.15, \"missing_rate_train\": 0.01, \"max_missing_rate\": 0.05}") "]}";

static const char evaluate_findings[] =
	"{\"findings\": ["
	FINDING("F-00000002", "1", "confident_errors", "info", "1 confident error in test.",
		"{\"split\": \"test\", \"rows\": 1}", "{\"wrong\": 1, \"threshold\": 0.95}") ","
	FINDING("F-00000003", "1", "weak_segment", "medium",
		"Segment region=" SCRIPT " scores 0.61 F1 against 0.80 for the rest of test.",
		"{\"split\": \"test\", \"segment\": \"region=west\", \"rows\": 240}",
		"{\"metric\": \"f1\", \"segment\": " EST("0.61", "0.55", "0.67", "240") ", \"gap\": 0.19,"
		" \"q_value\": 0.0004, \"min_gap\": 0.02}") ","
	FINDING("F-00000004", "1", "misaligned_metric", "low",
		"A decision threshold of 0.310 instead of 0.5 raises f1 on test from 0.801 to 0.823.",
		"{\"split\": \"test\", \"slice\": \"decision threshold\"}", "{\"at\": 0.5, \"best\": 0.31}") "]}";

static const char evaluate_findings_info_only[] =
	"{\"findings\": [" FINDING("F-00000002", "1", "confident_errors", "info", "1 confident error in test.",
				   "{\"split\": \"test\", \"rows\": 1}", "{\"wrong\": 1}") "]}";

static const char mitigations_json[] =
	"{\"mitigations\": [{\"id\": \"M-1\", \"action\": \"collect_data\","
	" \"text\": \"Collect about 500 more rows with region=west.\", \"addresses\": [\"F-00000003\"],"
	" \"measured_effect\": {\"metric\": \"f1\", \"before\": " EST("0.61", "0.55", "0.67", "240") ","
	"   \"after\": " EST("0.68", "0.62", "0.74", "240") "}}]}";

static const char mitigate_findings[] =
	"{\"findings\": [" FINDING("F-00000005", "3", "underrepresented_slice", "medium",
		"region=west is 6% of train and 24% of current.", "{\"segment\": \"region=west\"}",
		"{\"share_train\": 0.06}") "]}";

enum fixture { FIX_NORMAL, FIX_INFO_ONLY, FIX_WITH_MITIGATE };

struct fixture_run {
	char *root;      /* temp folder holding everything */
	char *run;       /* the run folder */
	char *out;       /* the report's output folder (RUN/.report.tmp) */
	struct audit_config cfg;
	struct stage_ctx ctx;
};

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	ck_assert_int_eq(mkdir_p(p), 0);
	*slash = '/';
	/* the fixture must be valid JSON, or the test tests the fixture */
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	ck_assert_msg(j != NULL, "%s: fixture JSON: %d:%d: %s", rel, err.line, err.column, err.text);
	json_decref(j);
	ck_assert_int_eq(file_write_atomic(p, text, strlen(text)), 0);
	free(p);
}

static void fixture_make(struct fixture_run *f, enum fixture kind, enum severity fail_on)
{
	char tmpl[] = "/tmp/mla-report-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	f->root = xstrdup(tmpl);
	f->run = path_join(f->root, "20261127T020000Z");
	put(f->run, "run.json", run_json);
	put(f->run, "ingest/schema.json", schema_json);
	put(f->run, "ingest/quality.json", quality_json);
	put(f->run, "evaluate/metrics.json", metrics_json);
	if (kind == FIX_INFO_ONLY)
		put(f->run, "evaluate/findings.json", evaluate_findings_info_only);
	else {
		put(f->run, "ingest/findings.json", ingest_findings);
		put(f->run, "evaluate/findings.json", evaluate_findings);
	}
	if (kind == FIX_WITH_MITIGATE) {
		put(f->run, "mitigate/mitigations.json", mitigations_json);
		put(f->run, "mitigate/findings.json", mitigate_findings);
	}
	f->out = path_join(f->run, ".report.tmp");
	ck_assert_int_eq(mkdir_p(f->out), 0);
	config_init(&f->cfg);
	f->cfg.name = xstrdup("credit");
	free(f->cfg.metric);
	f->cfg.metric = xstrdup("f1");
	f->cfg.fail_on = fail_on;
	memset(&f->ctx, 0, sizeof f->ctx);
	f->ctx.cfg = &f->cfg;
	f->ctx.run_dir = f->run;
	f->ctx.out_dir = f->out;
	f->ctx.run_id = "20261127T020000Z";
	f->ctx.stage_name = "report";
}

static void fixture_free(struct fixture_run *f)
{
	config_free(&f->cfg);
	remove_tree(f->root);
	free(f->root);
	free(f->run);
	free(f->out);
}

static char *read_out(const struct fixture_run *f, const char *name, size_t *len)
{
	char *p = path_join(f->out, name);
	char *s = file_read_all(p, len);
	ck_assert_msg(s != NULL, "%s not written", name);
	free(p);
	return s;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Does "0.000" occur as a whole number (not inside 0.0004 or 10.000)? */
static int has_zero_number(const char *s)
{
	for (const char *p = strstr(s, "0.000"); p; p = strstr(p + 1, "0.000"))
		if ((p == s || !(p[-1] >= '0' && p[-1] <= '9')) && !(p[5] >= '0' && p[5] <= '9'))
			return 1;
	return 0;
}

static int have_program(const char *prog)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", prog);
	int ok = system(cmd) == 0;
	free(cmd);
	return ok;
}

static void run_report(struct fixture_run *f)
{
	int rc = report_run(&f->ctx);
	ck_assert_msg(rc == 0, "report_run: %s", mla_error_message());
}

/* ---- escaping ---- */

START_TEST(escape_md_makes_text_literal)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_md(&sb, "<b>*x*</b> | `c` [l](u)\n#\t&amp;");
	ck_assert_str_eq(sb.data, "\\<b\\>\\*x\\*\\<\\/b\\> \\| \\`c\\` \\[l\\]\\(u\\) \\# \\&amp\\;");
	sb.len = 0;
	escape_md(&sb, "naïve 1.5");
	ck_assert_str_eq(sb.data, "naïve 1\\.5");
	sb_free(&sb);
}
END_TEST

START_TEST(escape_html_and_base64)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_html(&sb, "<a href=\"x\">'&'</a>");
	ck_assert_str_eq(sb.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		sb.len = 0;
		sb.data[0] = 0;
		escape_base64(&sb, (const unsigned char *)in[i], strlen(in[i]));
		ck_assert_str_eq(sb.data, want[i]);
	}
	sb_free(&sb);
}
END_TEST

START_TEST(escape_xlsx_cleans_controls_and_utf8)
{
	char *s = escape_xlsx("a\x01" "b\tc\nd\x7f" "e");
	ck_assert_str_eq(s, "a b\tc\nd e");
	free(s);
	s = escape_xlsx("bad \xff\xfe ok \xc3\xa9 \xed\xa0\x80");   /* invalid bytes, é, a surrogate */
	ck_assert_str_eq(s, "bad \xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	s = escape_xlsx(HYPER);
	ck_assert_str_eq(s, HYPER);   /* text stays text: write_string keeps it out of formulas */
	free(s);
	s = escape_xlsx(NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(escape_gnuplot_field_is_one_safe_field)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_gnuplot_field(&sb, WEIRD "\tx\r", 40);
	ck_assert_str_eq(sb.data, "q'b`c d x ");
	sb.len = 0;
	escape_gnuplot_field(&sb, "", 40);
	ck_assert_str_eq(sb.data, "(empty)");
	sb.len = 0;
	escape_gnuplot_field(&sb, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2);   /* cut by characters, not bytes */
	ck_assert_str_eq(sb.data, "\xc3\xa9\xc3\xa9...");
	sb_free(&sb);
}
END_TEST

/* ---- templates ---- */

START_TEST(template_substitutes_once_and_rejects_unknown)
{
	struct tmpl_var vars[] = {{"a", "{{b}}"}, {"b", "B"}};
	struct strbuf sb;
	sb_init(&sb);
	ck_assert_int_eq(tmpl_render("t", "x {{a}} y {{b}}{ }", vars, 2, &sb), 0);
	ck_assert_str_eq(sb.data, "x {{b}} y B{ }");   /* a value is never scanned again */
	sb.len = 0;
	mla_error_clear();
	ck_assert_int_eq(tmpl_render("t.md", "ok\n  {{nope}}", vars, 2, &sb), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "templates/t.md:2:3: unknown placeholder {{nope}}"));
	mla_error_clear();
	ck_assert_int_eq(tmpl_render("t.md", "{{a", vars, 2, &sb), -1);
	mla_error_clear();
	sb_free(&sb);
}
END_TEST

/* ---- the stage ---- */

START_TEST(html_is_escaped_and_self_contained)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	size_t len;
	char *html = read_out(&f, "index.html", &len);
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(html, "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)"));
	/* no external resource: every http:// is the escaped data text */
	ck_assert_ptr_null(strstr(html, "src=\"http"));
	ck_assert_ptr_null(strstr(html, "href=\"http"));
	ck_assert_ptr_null(strstr(html, "https://"));
	ck_assert_ptr_null(strstr(html, "<a "));
	for (const char *p = strstr(html, "http://"); p; p = strstr(p + 1, "http://"))
		ck_assert_msg(p - html >= 6 && !strncmp(p - 6, "&quot;", 6), "http:// outside escaped data");
	/* the column name with a newline stays one table cell */
	ck_assert_ptr_nonnull(strstr(html, "q&quot;b`c d"));
	/* title line, verdict: a medium finding with fail_on high is a warning */
	ck_assert_ptr_nonnull(strstr(html, "<h2>credit · run 20261127T020000Z · WARN</h2>"));
	ck_assert_ptr_nonnull(strstr(html, "class=\"verdict-warn\""));
	/* no mitigate stage: "do first" falls back to the top findings */
	ck_assert_ptr_nonnull(strstr(html, "<strong>Do first:</strong> look into: Segment region="
					   "&lt;script&gt;alert(1)&lt;/script&gt; scores 0.61 F1 against 0.80 for the "
					   "rest of test (step 1) · look into: A decision"));
	/* one "not built yet" line each for steps 2, 3, 4 and the probes appendix */
	ck_assert_uint_eq(count_of(html, "Not built yet in mlaudit 0.1.0"), 4);
	/* ingest's data_quality finding is in step 2, after the step-2 heading */
	const char *step2 = strstr(html, "<h2>2. Narrow the scope</h2>");
	const char *step3 = strstr(html, "<h2>3. Root cause</h2>");
	const char *dq = strstr(html, "<td>data_quality</td>");
	ck_assert(step2 && step3 && dq && dq > step2 && dq < step3);
	/* every image is an embedded PNG */
	for (const char *p = strstr(html, "<img "); p; p = strstr(p + 1, "<img "))
		ck_assert_msg(!strncmp(p, "<img src=\"data:image/png;base64,", 32), "image not embedded");
	if (have_program("gnuplot")) {
		ck_assert_uint_ge(count_of(html, "<img "), 4);
		static const char *const pngs[] = {"plots/splits.png", "plots/segments.png", "plots/reliability.png",
						   "plots/confusion.png"};
		for (int i = 0; i < 4; i++) {
			char *p = path_join(f.out, pngs[i]);
			struct stat st;
			ck_assert_msg(stat(p, &st) == 0 && st.st_size > 100, "%s missing", pngs[i]);
			free(p);
		}
	}
	free(html);
	fixture_free(&f);
}
END_TEST

START_TEST(undefined_metric_is_na_never_zero)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	/* the per-split table row of precision: current is undefined */
	const char *row = strstr(html, "<td>precision</td>");
	ck_assert_ptr_nonnull(row);
	const char *end = strstr(row, "</tr>");
	char *r = xstrndup(row, (size_t)(end - row));
	ck_assert_ptr_nonnull(strstr(r, "n/a (no predicted positives)"));
	ck_assert_ptr_null(strstr(r, "0.000"));
	ck_assert_ptr_nonnull(strstr(r, "0.780 ±0.050"));   /* the defined ones: value ± half-width */
	free(r);
	/* no undefined value anywhere was turned into a number (the fixture has
	 * no true zero among its three-decimal values) */
	ck_assert(!has_zero_number(html));
	free(html);
	char *md = read_out(&f, "summary.md", NULL);
	ck_assert(!has_zero_number(md));
	free(md);
	fixture_free(&f);
}
END_TEST

/* Required keys of summary.schema.json, checked in C so the test needs no
 * Python; the jsonschema check below runs when it can. */
static void check_summary_shape(const json_t *s)
{
	static const char *const req[] = {"tool", "version", "run_id", "verdict", "task", "metrics", "findings",
					  "mitigations"};
	for (int i = 0; i < 8; i++)
		ck_assert_msg(json_object_get(s, req[i]) != NULL, "summary.json lacks %s", req[i]);
	ck_assert_str_eq(json_string_value(json_object_get(s, "tool")), "mlaudit");
	ck_assert_str_eq(json_string_value(json_object_get(s, "version")), "0.1.0");
	const json_t *task = json_object_get(s, "task");
	static const char *const treq[] = {"type", "label", "classes", "metric"};
	for (int i = 0; i < 4; i++)
		ck_assert_msg(json_object_get(task, treq[i]) != NULL, "task lacks %s", treq[i]);
	const json_t *findings = json_object_get(s, "findings");
	ck_assert(json_is_array(findings));
	for (size_t i = 0; i < json_array_size(findings); i++) {
		static const char *const freq[] = {"id", "step", "kind", "severity", "title", "subject", "evidence"};
		for (int k = 0; k < 7; k++)
			ck_assert(json_object_get(json_array_get(findings, i), freq[k]) != NULL);
	}
	const char *split;
	json_t *mm;
	json_object_foreach((json_t *)json_object_get(s, "metrics"), split, mm) {
		const char *name;
		json_t *est;
		json_object_foreach(mm, name, est) {
			ck_assert(json_object_get(est, "value") != NULL);
			ck_assert(json_is_integer(json_object_get(est, "n")));
		}
	}
}

static char *schema_path(void)
{
	static const char *const rel[] = {"stages/report/summary.schema.json", "summary.schema.json", "../shared/summary.schema.json"};
	for (int i = 0; i < 3; i++) {
		char *p = path_join(mla_home(), rel[i]);
		if (file_exists(p))
			return p;
		free(p);
	}
	return NULL;
}

START_TEST(summary_json_matches_schema_and_verdict)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *p = path_join(f.out, "summary.json");
	json_error_t err;
	json_t *s = json_load_file(p, 0, &err);
	ck_assert_msg(s != NULL, "summary.json: %s", err.text);
	check_summary_shape(s);
	ck_assert_str_eq(json_string_value(json_object_get(s, "verdict")), "warn");
	ck_assert_str_eq(json_string_value(json_object_get(s, "run_id")), "20261127T020000Z");
	ck_assert_str_eq(json_string_value(json_object_get(s, "mode")), "model");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "task"), "positive")), "bad");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "task"), "metric")), "f1");
	/* every metric of metrics.json, undefined ones as null with a reason */
	const json_t *prec = json_object_get(json_object_get(json_object_get(s, "metrics"), "current"), "precision");
	ck_assert(json_is_null(json_object_get(prec, "value")));
	ck_assert_str_eq(json_string_value(json_object_get(prec, "reason")), "no predicted positives");
	ck_assert_uint_eq(json_object_size(json_object_get(json_object_get(s, "metrics"), "test")), 6);
	/* findings from both stages, sorted: medium first, then the lows by step, info last */
	const json_t *fs = json_object_get(s, "findings");
	ck_assert_uint_eq(json_array_size(fs), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 0), "kind")), "weak_segment");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 1), "kind")), "misaligned_metric");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 2), "kind")), "data_quality");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fs, 3), "kind")), "confident_errors");
	ck_assert_uint_eq(json_array_size(json_object_get(s, "mitigations")), 0);
	json_decref(s);

	char *schema = schema_path();
	if (schema && system("python3 -c 'import jsonschema' >/dev/null 2>&1") == 0) {
		char *cmd = xasprintf("python3 -c 'import json,sys,jsonschema; "
				      "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "
				      "'%s' '%s'", p, schema);
		ck_assert_msg(system(cmd) == 0, "summary.json does not validate against %s", schema);
		free(cmd);
	}
	free(schema);
	free(p);
	fixture_free(&f);
}
END_TEST

static const char *verdict_for(enum fixture kind, enum severity fail_on)
{
	struct fixture_run f;
	fixture_make(&f, kind, fail_on);
	run_report(&f);
	char *p = path_join(f.out, "summary.json");
	json_t *s = json_load_file(p, 0, NULL);
	ck_assert_ptr_nonnull(s);
	const char *v = json_string_value(json_object_get(s, "verdict"));
	static char buf[8];
	snprintf(buf, sizeof buf, "%s", v ? v : "");
	json_decref(s);
	free(p);
	fixture_free(&f);
	return buf;
}

START_TEST(verdict_follows_fail_on)
{
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);   /* plots are not the point here */
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_HIGH), "warn");    /* worst is medium */
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_MEDIUM), "fail");
	ck_assert_str_eq(verdict_for(FIX_NORMAL, SEV_LOW), "fail");
	ck_assert_str_eq(verdict_for(FIX_INFO_ONLY, SEV_HIGH), "pass");
	ck_assert_str_eq(verdict_for(FIX_INFO_ONLY, SEV_INFO), "fail");
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

START_TEST(summary_md_is_short)
{
	struct fixture_run f;
	fixture_make(&f, FIX_WITH_MITIGATE, SEV_HIGH);
	run_report(&f);
	char *md = read_out(&f, "summary.md", NULL);
	ck_assert_msg(!strncmp(md, "## credit · run 20261127T020000Z · WARN\n", 40), "title line: %.60s", md);
	size_t items = 0;
	for (const char *line = md; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (line[0] >= '1' && line[0] <= '9' && line[1] == '.' && line[2] == ' ')
			items++;
	}
	ck_assert_uint_ge(items, 1);
	ck_assert_uint_le(items, 5);
	ck_assert_ptr_nonnull(strstr(md, "| F1 (chosen metric) | 0.846 ±0.006 | 0.801 ±0.014 | 0.712 ±0.011 |"));
	ck_assert_ptr_nonnull(strstr(md, "**Do first:** Collect about 500 more rows with region\\=west\\."));
	ck_assert_ptr_nonnull(strstr(md, "\\<script\\>"));
	size_t len = strlen(md);
	ck_assert_str_eq(md + len - strlen("Full report: report/index.html\n"), "Full report: report/index.html\n");
	free(md);

	/* with a mitigate stage: its table and no "not built" line in step 4 */
	char *html = read_out(&f, "index.html", NULL);
	ck_assert_uint_eq(count_of(html, "Not built yet in mlaudit 0.1.0"), 3);
	ck_assert_ptr_nonnull(strstr(html, "<td>collect_data</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>underrepresented_slice</td>"));
	free(html);
	fixture_free(&f);
}
END_TEST

/* Run a command and return its stdout. */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	struct strbuf sb;
	sb_init(&sb);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		sb_putn(&sb, buf, n);
	pclose(p);
	return sb_detach(&sb);
}

START_TEST(xlsx_keeps_data_as_strings_and_is_deterministic)
{
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	size_t len1, len2;
	char *x1 = read_out(&f, "report.xlsx", &len1);
	ck_assert_uint_gt(len1, 1000);
	ck_assert(!memcmp(x1, "PK", 2));
	/* a second report of the same run, into a fresh folder: same bytes */
	char *out2 = path_join(f.run, ".report2.tmp");
	ck_assert_int_eq(mkdir_p(out2), 0);
	const char *out1 = f.ctx.out_dir;
	f.ctx.out_dir = out2;
	run_report(&f);
	f.ctx.out_dir = out1;
	char *p2 = path_join(out2, "report.xlsx");
	char *x2 = file_read_all(p2, &len2);
	ck_assert_ptr_nonnull(x2);
	ck_assert_uint_eq(len1, len2);
	ck_assert_msg(!memcmp(x1, x2, len1), "report.xlsx differs between two runs on the same input");

	if (have_program("unzip")) {
		char *xlsx = path_join(f.out, "report.xlsx");
		char *cmd = xasprintf("unzip -p '%s' xl/sharedStrings.xml", xlsx);
		char *sst = capture(cmd);
		free(cmd);
		ck_assert_msg(strstr(sst, "=HYPERLINK(") != NULL, "HYPERLINK text not a shared string");
		ck_assert_ptr_nonnull(strstr(sst, "&lt;script&gt;alert(1)&lt;/script&gt;"));
		free(sst);
		cmd = xasprintf("unzip -p '%s' 'xl/worksheets/*.xml'", xlsx);
		char *sheets = capture(cmd);
		free(cmd);
		ck_assert_uint_gt(strlen(sheets), 100);
		ck_assert_ptr_null(strstr(sheets, "<f>"));
		ck_assert_ptr_null(strstr(sheets, "<f "));
		free(sheets);
		cmd = xasprintf("unzip -Z1 '%s'", xlsx);
		char *names = capture(cmd);
		free(cmd);
		ck_assert_ptr_nonnull(strstr(names, "xl/charts/chart1.xml"));
		free(names);
		free(xlsx);
	}
	free(x1);
	free(x2);
	free(p2);
	free(out2);
	fixture_free(&f);
	unsetenv("MLAUDIT_GNUPLOT");
}
END_TEST

START_TEST(gnuplot_sees_data_only_through_files)
{
	if (!have_program("gnuplot"))
		return;
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	run_report(&f);
	char *gp = read_out(&f, "plots/plots.gp", NULL);
	ck_assert_ptr_null(strstr(gp, "q\"b"));
	ck_assert_ptr_null(strstr(gp, "b`c"));
	ck_assert_ptr_null(strstr(gp, "HYPERLINK"));
	ck_assert_ptr_null(strstr(gp, "<script"));
	ck_assert_ptr_null(strstr(gp, "alert"));
	ck_assert_ptr_null(strstr(gp, "west"));
	ck_assert_ptr_null(strstr(gp, f.out));   /* gnuplot runs in plots/: no paths either */
	free(gp);
	char *seg = read_out(&f, "plots/segments_a.tsv", NULL);
	/* labels cut to 28 characters, quotes turned to apostrophes, newline to space */
	ck_assert_ptr_nonnull(strstr(seg, "\tq'b`c d==HYPERLINK('http://x...\t"));
	ck_assert_ptr_nonnull(strstr(seg, "\tregion=<script>alert(1)</scr...\t"));
	free(seg);
	fixture_free(&f);
}
END_TEST

START_TEST(missing_or_hanging_gnuplot_is_not_fatal)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	run_report(&f);
	char *html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_nonnull(strstr(html, "Plots unavailable: gnuplot was not found"));
	ck_assert_ptr_null(strstr(html, "<img "));
	free(html);

	/* a gnuplot that never finishes is killed after the timeout */
	char *fake = path_join(f.root, "slowplot");
	const char *script = "#!/bin/sh\nexec sleep 30\n";
	ck_assert_int_eq(file_write_atomic(fake, script, strlen(script)), 0);
	ck_assert_int_eq(chmod(fake, 0755), 0);
	setenv("MLAUDIT_GNUPLOT", fake, 1);
	double saved = plots_timeout_s;
	plots_timeout_s = 0.3;
	double t0 = now_seconds();
	run_report(&f);
	ck_assert(now_seconds() - t0 < 10);
	plots_timeout_s = saved;
	html = read_out(&f, "index.html", NULL);
	ck_assert_ptr_nonnull(strstr(html, "gnuplot did not finish"));
	ck_assert_ptr_null(strstr(html, "<img "));
	free(html);
	unsetenv("MLAUDIT_GNUPLOT");
	free(fake);
	fixture_free(&f);
}
END_TEST

START_TEST(bad_artifact_is_internal_error)
{
	struct fixture_run f;
	fixture_make(&f, FIX_NORMAL, SEV_HIGH);
	char *p = path_join(f.run, "evaluate/findings.json");
	const char *bad = "{\"findings\": [{\"id\": \"F-1\", \"kind\": \"x\", \"title\": \"t\", \"severity\": \"huge\","
			  " \"step\": 1, \"subject\": {}, \"evidence\": {}}]}";
	ck_assert_int_eq(file_write_atomic(p, bad, strlen(bad)), 0);
	mla_error_clear();
	ck_assert_int_eq(report_run(&f.ctx), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "evaluate/findings.json: finding 0: severity"));
	mla_error_clear();
	free(p);
	fixture_free(&f);
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, escape_md_makes_text_literal);
	tcase_add_test(tc, escape_html_and_base64);
	tcase_add_test(tc, escape_xlsx_cleans_controls_and_utf8);
	tcase_add_test(tc, escape_gnuplot_field_is_one_safe_field);
	tcase_add_test(tc, template_substitutes_once_and_rejects_unknown);
	suite_add_tcase(s, tc);
	tc = tcase_create("stage");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, html_is_escaped_and_self_contained);
	tcase_add_test(tc, undefined_metric_is_na_never_zero);
	tcase_add_test(tc, summary_json_matches_schema_and_verdict);
	tcase_add_test(tc, verdict_follows_fail_on);
	tcase_add_test(tc, summary_md_is_short);
	tcase_add_test(tc, xlsx_keeps_data_as_strings_and_is_deterministic);
	tcase_add_test(tc, gnuplot_sees_data_only_through_files);
	tcase_add_test(tc, missing_or_hanging_gnuplot_is_not_fatal);
	tcase_add_test(tc, bad_artifact_is_internal_error);
	suite_add_tcase(s, tc);
	return s;
}
