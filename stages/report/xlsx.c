/* xlsx.c - report.xlsx for people who live in Excel: Summary, Metrics,
 * Segments (with a native column chart), Findings, Data profile, and
 * Mitigations when the mitigate stage ran, and Label review when rootcause
 * found suspected label errors.
 *
 * Every data-derived string is written with worksheet_write_string, never as
 * a formula, so `=HYPERLINK(...)` in a category stays text; escape_xlsx first
 * makes it valid UTF-8 without the control characters XML 1.0 cannot hold.
 * Numbers go through worksheet_write_number; an undefined value is the text
 * "n/a". The creation time is fixed (the run's start, parsed from its id), so
 * the same run gives the same bytes. */
#include "model.h"
#include "escape.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/version.h"
#include "../ingest/csv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xlsxwriter.h>

#define CHART_SEGMENTS_MAX 50

struct xw {
	lxw_workbook *wb;
	lxw_format *bold, *title, *num, *pct, *wrap;
	lxw_error err;             /* the first failed write, LXW_NO_ERROR when none */
};

static void note_err(struct xw *x, lxw_error e)
{
	if (e != LXW_NO_ERROR && x->err == LXW_NO_ERROR)
		x->err = e;
}

static void put_str(struct xw *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *f)
{
	char *clean = escape_xlsx(s);
	note_err(x, worksheet_write_string(ws, r, c, clean, f));
	free(clean);
}

static void put_num(struct xw *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, double v, lxw_format *f)
{
	if (isfinite(v))
		note_err(x, worksheet_write_number(ws, r, c, v, f));
	else
		note_err(x, worksheet_write_string(ws, r, c, "n/a", NULL));
}

/* a JSON number as a number cell, anything else as "n/a" */
static void put_json_num(struct xw *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const json_t *v, lxw_format *f)
{
	put_num(x, ws, r, c, json_is_number(v) ? json_number_value(v) : NAN, f);
}

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static void header(struct xw *x, lxw_worksheet *ws, lxw_row_t r, const char *const *cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_str(x, ws, r, (lxw_col_t)i, cols[i], x->bold);
}

/* value, ci_low, ci_high, n, reason of an estimate in five cells from column c */
static void put_est(struct xw *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const json_t *est)
{
	put_json_num(x, ws, r, c, json_object_get(est, "value"), x->num);
	put_json_num(x, ws, r, c + 1, json_object_get(est, "ci_low"), x->num);
	put_json_num(x, ws, r, c + 2, json_object_get(est, "ci_high"), x->num);
	put_json_num(x, ws, r, c + 3, json_object_get(est, "n"), NULL);
	const char *reason = json_string_value(json_object_get(est, "reason"));
	if (reason || !est)
		put_str(x, ws, r, c + 4, reason ? reason : "not computed", NULL);
}

/* ---- sheets ---- */

static void sheet_summary(struct xw *x, const struct report_model *m)
{
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Summary");
	worksheet_set_column(ws, 0, 0, 22, NULL);
	worksheet_set_column(ws, 1, 12, 16, NULL);
	struct strbuf sb;
	sb_init(&sb);
	fmt_title(m, &sb, 0);
	put_str(x, ws, 0, 0, sb.data, x->title);
	put_str(x, ws, 2, 0, "Verdict", x->bold);
	put_str(x, ws, 2, 1, m->verdict, x->bold);
	put_str(x, ws, 3, 0, "Headline", x->bold);
	sb.len = 0;
	sb.data[0] = 0;
	fmt_headline(m, &sb, 0);
	put_str(x, ws, 3, 1, sb.data, NULL);
	lxw_row_t r = 4;
	put_str(x, ws, r, 0, "Do first", x->bold);
	char *items[3] = {0};
	size_t n = fmt_do_first(m, items, 3, 0);
	if (!n)
		put_str(x, ws, r++, 1, "nothing: no finding at low severity or above", NULL);
	for (size_t i = 0; i < n; i++) {
		sb.len = 0;
		sb.data[0] = 0;
		sb_printf(&sb, "%zu. %s", i + 1, items[i]);
		put_str(x, ws, r++, 1, sb.data, NULL);
		free(items[i]);
	}
	r++;

	/* metric table: a value and a ± column per split */
	put_str(x, ws, r, 0, "metric", x->bold);
	size_t ns = model_nsplits(m);
	for (size_t i = 0; i < ns; i++) {
		put_str(x, ws, r, (lxw_col_t)(1 + 2 * i), model_split_name(m, i), x->bold);
		sb.len = 0;
		sb.data[0] = 0;
		sb_printf(&sb, "%s ±", model_split_name(m, i));
		put_str(x, ws, r, (lxw_col_t)(2 + 2 * i), sb.data, x->bold);
	}
	r++;
	const char *rows[3] = {m->metric, "accuracy", "roc_auc"};
	for (int k = 0; k < 3; k++) {
		if (k > 0 && !strcmp(rows[k], m->metric))
			continue;
		sb.len = 0;
		sb.data[0] = 0;
		fmt_metric(&sb, rows[k], 0);
		if (k == 0)
			sb_puts(&sb, " (chosen)");
		put_str(x, ws, r, 0, sb.data, k == 0 ? x->bold : NULL);
		for (size_t i = 0; i < ns; i++) {
			const json_t *est = model_estimate(m, model_split_name(m, i), rows[k]);
			const json_t *v = json_object_get(est, "value");
			if (!json_is_number(v)) {
				sb.len = 0;
				sb.data[0] = 0;
				fmt_est(&sb, est, 0);
				put_str(x, ws, r, (lxw_col_t)(1 + 2 * i), sb.data, NULL);
				continue;
			}
			put_num(x, ws, r, (lxw_col_t)(1 + 2 * i), json_number_value(v), x->num);
			const json_t *lo = json_object_get(est, "ci_low"), *hi = json_object_get(est, "ci_high");
			if (json_is_number(lo) && json_is_number(hi))
				put_num(x, ws, r, (lxw_col_t)(2 + 2 * i),
					fabs(json_number_value(hi) - json_number_value(lo)) / 2, x->num);
		}
		r++;
	}
	put_str(x, ws, r, 0, "rows", NULL);
	for (size_t i = 0; i < ns; i++)
		put_json_num(x, ws, r, (lxw_col_t)(1 + 2 * i),
			     json_object_get(model_split(m, model_split_name(m, i)), "rows"), NULL);
	r += 2;
	put_str(x, ws, r++, 0, "Backend", x->bold);
	put_str(x, ws, r - 1, 1, m->backend, NULL);
	put_str(x, ws, r++, 0, "Mode", x->bold);
	put_str(x, ws, r - 1, 1, m->mode, NULL);
	put_str(x, ws, r++, 0, "Tool", x->bold);
	put_str(x, ws, r - 1, 1, "mlaudit " MLA_VERSION, NULL);
	sb_free(&sb);
}

static void sheet_metrics(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"split", "metric", "value", "ci_low", "ci_high", "n", "reason"};
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Metrics");
	worksheet_set_column(ws, 0, 1, 18, NULL);
	worksheet_set_column(ws, 6, 6, 40, NULL);
	header(x, ws, 0, cols, 7);
	worksheet_freeze_panes(ws, 1, 0);
	lxw_row_t r = 1;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *split = model_split_name(m, i);
		const char *key;
		json_t *est;
		json_object_foreach(json_object_get(model_split(m, split), "metrics"), key, est) {
			put_str(x, ws, r, 0, split, NULL);
			put_str(x, ws, r, 1, key, NULL);
			put_est(x, ws, r, 2, est);
			r++;
		}
	}
}

static void sheet_segments(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"split", "column", "value", "rows", "metric", "metric value", "ci_low",
					   "ci_high", "n", "reason", "rest of split", "p_value", "q_value", "weak"};
	enum { NCOLS = 14, CHART_COL = NCOLS + 1 };
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Segments");
	worksheet_set_column(ws, 0, 2, 16, NULL);
	header(x, ws, 0, cols, NCOLS);
	worksheet_freeze_panes(ws, 1, 0);
	const json_t *segs = json_object_get(m->metrics, "segments");
	size_t n = json_array_size(segs);
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(segs, i);
		lxw_row_t r = (lxw_row_t)(i + 1);
		put_str(x, ws, r, 0, str_of(json_object_get(s, "split")), NULL);
		put_str(x, ws, r, 1, str_of(json_object_get(s, "column")), NULL);
		put_str(x, ws, r, 2, str_of(json_object_get(s, "value")), NULL);
		put_json_num(x, ws, r, 3, json_object_get(s, "rows"), NULL);
		put_str(x, ws, r, 4, m->metric, NULL);
		put_est(x, ws, r, 5, json_object_get(json_object_get(s, "metrics"), m->metric));
		put_json_num(x, ws, r, 10, json_object_get(json_object_get(json_object_get(s, "rest"), m->metric), "value"),
			     x->num);
		put_json_num(x, ws, r, 11, json_object_get(s, "p_value"), NULL);
		put_json_num(x, ws, r, 12, json_object_get(s, "q_value"), NULL);
		put_str(x, ws, r, 13, json_is_true(json_object_get(s, "weak")) ? "weak" : "", NULL);
	}

	/* The chart reads a contiguous block of the test split's values beside
	 * the table (the table itself mixes splits). */
	const char *ref = "test";
	lxw_row_t first = 1, last = 0;
	put_str(x, ws, 0, CHART_COL, "segment (test)", x->bold);
	put_str(x, ws, 0, CHART_COL + 1, "chart value", x->bold);
	size_t k = 0;
	for (size_t i = 0; i < n && k < CHART_SEGMENTS_MAX; i++) {
		const json_t *s = json_array_get(segs, i);
		const json_t *v = json_object_get(json_object_get(json_object_get(s, "metrics"), m->metric), "value");
		if (strcmp(str_of(json_object_get(s, "split")), ref) || !json_is_number(v))
			continue;
		struct strbuf label;
		sb_init(&label);
		sb_printf(&label, "%s=%s", str_of(json_object_get(s, "column")), str_of(json_object_get(s, "value")));
		last = (lxw_row_t)(first + k);
		put_str(x, ws, last, CHART_COL, label.data, NULL);
		put_num(x, ws, last, CHART_COL + 1, json_number_value(v), x->num);
		sb_free(&label);
		k++;
	}
	if (k == 0)
		return;
	lxw_chart *chart = workbook_add_chart(x->wb, LXW_CHART_COLUMN);
	lxw_chart_series *series = chart_add_series(chart, NULL, NULL);
	chart_series_set_categories(series, "Segments", first, CHART_COL, last, CHART_COL);
	chart_series_set_values(series, "Segments", first, CHART_COL + 1, last, CHART_COL + 1);
	chart_series_set_name(series, "test");
	/* titles are our own words: a leading '=' would make libxlsxwriter read a
	 * cell reference, and fmt_metric passes an unknown key through */
	struct strbuf t;
	sb_init(&t);
	fmt_metric(&t, m->metric, 0);
	sb_puts(&t, " per segment value on test");
	if (t.data[0] == '=')
		t.data[0] = ' ';
	chart_title_set_name(chart, t.data);
	sb_free(&t);
	chart_legend_set_position(chart, LXW_CHART_LEGEND_NONE);
	lxw_chart_options opt = {.x_scale = 1.6, .y_scale = 1.3};
	note_err(x, worksheet_insert_chart_opt(ws, (lxw_row_t)(n + 3), 0, chart, &opt));
}

static void sheet_findings(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"id", "step", "kind", "severity", "title", "split", "feature",
					   "segment", "slice", "rows", "mitigations", "evidence (JSON)"};
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Findings");
	worksheet_set_column(ws, 0, 0, 12, NULL);
	worksheet_set_column(ws, 4, 4, 70, x->wrap);
	worksheet_set_column(ws, 11, 11, 80, NULL);
	header(x, ws, 0, cols, 12);
	worksheet_freeze_panes(ws, 1, 0);
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		lxw_row_t r = (lxw_row_t)(i + 1);
		put_str(x, ws, r, 0, str_of(json_object_get(f, "id")), NULL);
		const json_t *step = json_object_get(f, "step");
		if (json_is_integer(step))
			put_num(x, ws, r, 1, (double)json_integer_value(step), NULL);
		else
			put_str(x, ws, r, 1, str_of(step), NULL);
		put_str(x, ws, r, 2, str_of(json_object_get(f, "kind")), NULL);
		put_str(x, ws, r, 3, str_of(json_object_get(f, "severity")), NULL);
		put_str(x, ws, r, 4, str_of(json_object_get(f, "title")), x->wrap);
		const json_t *subj = json_object_get(f, "subject");
		static const char *const fields[] = {"split", "feature", "segment", "slice"};
		for (int k = 0; k < 4; k++) {
			const char *v = json_string_value(json_object_get(subj, fields[k]));
			if (v)
				put_str(x, ws, r, (lxw_col_t)(5 + k), v, NULL);
		}
		if (json_is_integer(json_object_get(subj, "rows")))
			put_json_num(x, ws, r, 9, json_object_get(subj, "rows"), NULL);
		struct strbuf ids;
		sb_init(&ids);
		const json_t *mit = json_object_get(f, "mitigations");
		for (size_t k = 0; k < json_array_size(mit); k++)
			sb_printf(&ids, "%s%s", k ? ", " : "", str_of(json_array_get(mit, k)));
		put_str(x, ws, r, 10, ids.data, NULL);
		sb_free(&ids);
		char *ev = json_dumps(json_object_get(f, "evidence"), JSON_COMPACT);
		put_str(x, ws, r, 11, ev ? ev : "{}", NULL);
		free(ev);
	}
}

static void sheet_profile(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"split", "column", "type", "role", "missing", "missing rate", "distinct",
					   "bad numeric", "min", "mean", "max", "std", "top values"};
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Data profile");
	worksheet_set_column(ws, 0, 1, 16, NULL);
	worksheet_set_column(ws, 12, 12, 50, NULL);
	header(x, ws, 0, cols, 13);
	worksheet_freeze_panes(ws, 1, 0);
	lxw_row_t r = 1;
	const char *split;
	json_t *q;
	json_object_foreach(json_object_get(m->quality, "splits"), split, q) {
		const json_t *cl = json_object_get(q, "columns");
		for (size_t i = 0; i < json_array_size(cl); i++, r++) {
			const json_t *c = json_array_get(cl, i);
			put_str(x, ws, r, 0, split, NULL);
			put_str(x, ws, r, 1, str_of(json_object_get(c, "name")), NULL);
			put_str(x, ws, r, 2, str_of(json_object_get(c, "type")), NULL);
			put_str(x, ws, r, 3, str_of(json_object_get(c, "role")), NULL);
			put_json_num(x, ws, r, 4, json_object_get(c, "missing"), NULL);
			put_json_num(x, ws, r, 5, json_object_get(c, "missing_rate"), x->pct);
			put_json_num(x, ws, r, 6, json_object_get(c, "distinct"), NULL);
			put_json_num(x, ws, r, 7, json_object_get(c, "bad_numeric"), NULL);
			const json_t *top = json_object_get(c, "top");
			if (json_is_array(top)) {
				struct strbuf t;
				sb_init(&t);
				for (size_t k = 0; k < json_array_size(top); k++) {
					const json_t *e = json_array_get(top, k);
					sb_printf(&t, "%s%s (%lld)", k ? ", " : "", str_of(json_object_get(e, "value")),
						  (long long)json_integer_value(json_object_get(e, "count")));
				}
				put_str(x, ws, r, 12, t.data, NULL);
				sb_free(&t);
			} else {
				put_json_num(x, ws, r, 8, json_object_get(c, "min"), NULL);
				put_json_num(x, ws, r, 9, json_object_get(c, "mean"), NULL);
				put_json_num(x, ws, r, 10, json_object_get(c, "max"), NULL);
				put_json_num(x, ws, r, 11, json_object_get(c, "std"), NULL);
			}
		}
	}
}

static void sheet_mitigations(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"id", "action", "what to do", "addresses", "metric", "before", "after"};
	if (!json_array_size(m->mitigations))
		return;
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Mitigations");
	worksheet_set_column(ws, 2, 2, 70, x->wrap);
	header(x, ws, 0, cols, 7);
	for (size_t i = 0; i < json_array_size(m->mitigations); i++) {
		const json_t *mi = json_array_get(m->mitigations, i);
		lxw_row_t r = (lxw_row_t)(i + 1);
		put_str(x, ws, r, 0, str_of(json_object_get(mi, "id")), NULL);
		put_str(x, ws, r, 1, str_of(json_object_get(mi, "action")), NULL);
		put_str(x, ws, r, 2, str_of(json_object_get(mi, "text")), x->wrap);
		struct strbuf a;
		sb_init(&a);
		const json_t *addr = json_object_get(mi, "addresses");
		for (size_t k = 0; k < json_array_size(addr); k++)
			sb_printf(&a, "%s%s", k ? ", " : "", str_of(json_array_get(addr, k)));
		put_str(x, ws, r, 3, a.data, NULL);
		sb_free(&a);
		const json_t *eff = json_object_get(mi, "measured_effect");
		if (json_is_object(eff)) {
			put_str(x, ws, r, 4, str_of(json_object_get(eff, "metric")), NULL);
			put_json_num(x, ws, r, 5, json_object_get(json_object_get(eff, "before"), "value"), x->num);
			put_json_num(x, ws, r, 6, json_object_get(json_object_get(eff, "after"), "value"), x->num);
		}
	}
}

#define LABEL_REVIEW_MAX 5000

/* The suspects of rootcause/label_issues.csv.gz (already ranked, least
 * self-confident first) with empty columns for the people who check them. */
static void sheet_label_review(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"id", "given label", "suggested label", "self-confidence", "verified label",
					   "reviewer"};
	char *path = stage_input(m->ctx, "rootcause/label_issues.csv.gz");
	struct csv_reader *rd = file_exists(path) ? csv_open(path, ',') : NULL;
	free(path);
	if (!rd) {
		mla_error_clear();
		return;
	}
	struct csv_row row;
	lxw_worksheet *ws = NULL;
	size_t n = 0, total = 0;
	int got = csv_next(rd, &row); /* the header */
	while (got > 0 && (got = csv_next(rd, &row)) > 0) {
		if (row.nfields < 4)
			continue;
		total++;
		if (n >= LABEL_REVIEW_MAX)
			continue;
		if (!ws) {
			ws = workbook_add_worksheet(x->wb, "Label review");
			worksheet_set_column(ws, 0, 5, 16, NULL);
			header(x, ws, 0, cols, 6);
		}
		lxw_row_t r = (lxw_row_t)(n + 1);
		put_str(x, ws, r, 0, row.field[0], NULL);
		put_str(x, ws, r, 1, row.field[1], NULL);
		put_str(x, ws, r, 2, row.field[2], NULL);
		char *end;
		double v = strtod(row.field[3], &end);
		put_num(x, ws, r, 3, end != row.field[3] && !*end ? v : NAN, x->num);
		n++;
	}
	if (got < 0)
		mla_error_clear();
	csv_close(rd);
	if (ws && total > n) {
		char note[160];
		snprintf(note, sizeof note, "Showing the %zu least self-confident of %zu suspects; all are in "
			 "rootcause/label_issues.csv.gz.", n, total);
		put_str(x, ws, (lxw_row_t)(n + 2), 0, note, NULL);
	}
}

/* The run's start from its id (20261127T020000Z[-2]); 2000-01-01 when the id
 * has another shape. Either way the same run gives the same timestamp. */
static time_t created_time(const char *run_id)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = run_id ? strptime(run_id, "%Y%m%dT%H%M%SZ", &tm) : NULL;
	if (!end)
		return 946684800;
	time_t t = timegm(&tm);
	return t > 0 ? t : 946684800;
}

int xlsx_write(const struct report_model *m)
{
	char *path = stage_output(m->ctx, "report.xlsx");
	/* libxlsxwriter's temporary files go in our own folder too */
	lxw_workbook_options opts = {.constant_memory = 0, .tmpdir = (char *)m->ctx->out_dir, .use_zip64 = 0};
	struct xw x = {.wb = workbook_new_opt(path, &opts), .err = LXW_NO_ERROR};
	if (!x.wb) {
		ERR_INTERNAL("%s: cannot create the workbook", path);
		free(path);
		return -1;
	}
	char *title = escape_xlsx(m->name);
	lxw_doc_properties props = {.title = title, .author = "mlaudit", .comments = "mlaudit " MLA_VERSION,
				    .created = created_time(m->run_id)};
	note_err(&x, workbook_set_properties(x.wb, &props));
	x.bold = workbook_add_format(x.wb);
	format_set_bold(x.bold);
	x.title = workbook_add_format(x.wb);
	format_set_bold(x.title);
	format_set_font_size(x.title, 14);
	x.num = workbook_add_format(x.wb);
	format_set_num_format(x.num, "0.000");
	x.pct = workbook_add_format(x.wb);
	format_set_num_format(x.pct, "0.0%");
	x.wrap = workbook_add_format(x.wb);
	format_set_text_wrap(x.wrap);

	sheet_summary(&x, m);
	sheet_metrics(&x, m);
	sheet_segments(&x, m);
	sheet_findings(&x, m);
	sheet_profile(&x, m);
	sheet_mitigations(&x, m);
	sheet_label_review(&x, m);

	lxw_error e = workbook_close(x.wb);
	free(title);
	int rc = 0;
	if (x.err != LXW_NO_ERROR)
		rc = ERR_INTERNAL("%s: %s", path, lxw_strerror(x.err));
	else if (e != LXW_NO_ERROR)
		rc = ERR_INTERNAL("%s: %s", path, lxw_strerror(e));
	free(path);
	return rc;
}
