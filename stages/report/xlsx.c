/* xlsx.c - report.xlsx for people who live in Excel, a sheet per step:
 * Summary, Metrics, Segments (with a native column chart), Findings, Slices
 * (error slices and the error tree, with a chart), Drift (per feature and
 * across features), Importance (per split, with a chart), Mitigations (with
 * their measured effects) when the mitigate stage ran, Label review when
 * rootcause found suspected label errors, Training checks (one row per check
 * of probes/sanity.json with its own advice, the final training of the
 * search's best, the hyper-parameter trials below) and Data profile.
 * A root-cause sheet whose analysis did not run says so in its first row.
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
	static const char *const cols[] = {"id", "action", "what to do", "addresses", "metric", "split", "before",
					   "before ci_low", "before ci_high", "after", "after ci_low", "after ci_high",
					   "change", "change ci_low", "change ci_high", "probe", "how measured",
					   "estimate (not measured)", "basis of the estimate"};
	enum { NCOLS = sizeof cols / sizeof cols[0] };
	if (!json_array_size(m->mitigations))
		return;
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Mitigations");
	worksheet_set_column(ws, 2, 2, 70, x->wrap);
	worksheet_set_column(ws, 16, 16, 50, x->wrap);
	worksheet_set_column(ws, 18, 18, 40, NULL);
	header(x, ws, 0, cols, NCOLS);
	worksheet_freeze_panes(ws, 1, 0);
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
			put_str(x, ws, r, 5, str_of(json_object_get(eff, "split")), NULL);
			static const char *const parts[] = {"before", "after", "delta"};
			for (int k = 0; k < 3; k++) {
				const json_t *est = json_object_get(eff, parts[k]);
				if (!est)
					continue;
				put_json_num(x, ws, r, (lxw_col_t)(6 + 3 * k), json_object_get(est, "value"), x->num);
				put_json_num(x, ws, r, (lxw_col_t)(7 + 3 * k), json_object_get(est, "ci_low"), x->num);
				put_json_num(x, ws, r, (lxw_col_t)(8 + 3 * k), json_object_get(est, "ci_high"), x->num);
			}
			put_str(x, ws, r, 15, str_of(json_object_get(eff, "probe")), NULL);
			put_str(x, ws, r, 16, str_of(json_object_get(eff, "how")), x->wrap);
		}
		const json_t *gain = json_object_get(mi, "expected_gain");
		if (!json_is_object(eff) && json_is_number(json_object_get(gain, "value"))) {
			put_str(x, ws, r, 4, str_of(json_object_get(gain, "metric")), NULL);
			put_json_num(x, ws, r, 17, json_object_get(gain, "value"), x->num);
			put_str(x, ws, r, 18, str_of(json_object_get(gain, "basis")), NULL);
		}
	}
}

/* ---- root-cause sheets ---- */

/* The first row under the header when the analysis did not run: "The X did
 * not run: reason". Returns 1 when it did not. */
static int not_run(struct xw *x, lxw_worksheet *ws, lxw_row_t r, const struct report_model *m, const char *key,
		   const char *what, const json_t **out)
{
	const char *why = NULL;
	*out = m->has_rootcause ? model_analysis(m, key, &why) : NULL;
	if (*out && !why)
		return 0;
	struct strbuf sb;
	sb_init(&sb);
	if (!m->has_rootcause)
		sb_printf(&sb, "%s did not run: the rootcause stage is not in this run.", what);
	else if (*out)
		sb_printf(&sb, "Not every split: %s", why);
	else
		sb_printf(&sb, "%s did not run: %s", what, why);
	put_str(x, ws, r, 0, sb.data, NULL);
	sb_free(&sb);
	return *out == NULL;
}

static void sheet_slices(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"split", "rank", "slice", "method", "conditions", "rows", "support",
					   "errors", "error rate", "ci_low", "ci_high", "rest error rate", "ratio",
					   "ratio lower bound", "share of errors", "p_value", "q_value",
					   "expected error rate", "train rows", "severity", "finding"};
	enum { NCOLS = sizeof cols / sizeof cols[0] };
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Slices");
	worksheet_set_column(ws, 2, 2, 50, NULL);
	worksheet_set_column(ws, 3, 3, 18, NULL);
	header(x, ws, 0, cols, NCOLS);
	worksheet_freeze_panes(ws, 1, 0);
	const json_t *a;
	lxw_row_t r = 1;
	if (not_run(x, ws, r, m, "slices", "The error-slice search", &a))
		return;
	if (!a)
		return;
	const json_t *listed = json_object_get(a, "listed");
	size_t i;
	const json_t *s;
	lxw_row_t first = r;
	json_array_foreach(listed, i, s) {
		put_str(x, ws, r, 0, str_of(json_object_get(s, "split")), NULL);
		put_json_num(x, ws, r, 1, json_object_get(s, "rank"), NULL);
		put_str(x, ws, r, 2, str_of(json_object_get(s, "slice")), NULL);
		put_str(x, ws, r, 3, str_of(json_object_get(s, "method")), NULL);
		put_json_num(x, ws, r, 4, json_object_get(s, "conditions"), NULL);
		put_json_num(x, ws, r, 5, json_object_get(s, "rows"), NULL);
		put_json_num(x, ws, r, 6, json_object_get(s, "support"), x->pct);
		put_json_num(x, ws, r, 7, json_object_get(s, "errors"), NULL);
		const json_t *er = json_object_get(s, "error_rate");
		put_json_num(x, ws, r, 8, json_object_get(er, "value"), x->num);
		put_json_num(x, ws, r, 9, json_object_get(er, "ci_low"), x->num);
		put_json_num(x, ws, r, 10, json_object_get(er, "ci_high"), x->num);
		put_json_num(x, ws, r, 11, json_object_get(json_object_get(s, "rest_error_rate"), "value"), x->num);
		put_json_num(x, ws, r, 12, json_object_get(s, "ratio"), x->num);
		put_json_num(x, ws, r, 13, json_object_get(s, "ratio_lower_bound"), x->num);
		put_json_num(x, ws, r, 14, json_object_get(s, "share_of_errors"), x->pct);
		put_json_num(x, ws, r, 15, json_object_get(s, "p_value"), NULL);
		put_json_num(x, ws, r, 16, json_object_get(s, "q_value"), NULL);
		put_json_num(x, ws, r, 17, json_object_get(s, "expected_error_rate"), x->num);
		put_json_num(x, ws, r, 18, json_object_get(s, "train_rows"), NULL);
		put_str(x, ws, r, 19, str_of(json_object_get(s, "severity")), NULL);
		put_str(x, ws, r, 20, str_of(json_object_get(s, "finding")), NULL);
		r++;
	}
	if (r == first)
		put_str(x, ws, r++, 0, "No slice errs significantly more than the rest of its split.", NULL);
	lxw_row_t last = r - 1;

	/* the error trees below, one row per node, the condition indented by depth */
	static const char *const tcols[] = {"split", "node", "parent", "depth", "condition", "rows", "errors",
					    "error rate", "share of the split's errors", "leaf", "slice"};
	r++;
	put_str(x, ws, r++, 0, "Error tree: one row per node, children below their parent", x->bold);
	header(x, ws, r++, tcols, sizeof tcols / sizeof tcols[0]);
	const char *split;
	const json_t *nodes;
	json_object_foreach(json_object_get(a, "trees"), split, nodes) {
		double total = json_number_value(json_object_get(json_array_get(nodes, 0), "errors"));
		const json_t *n;
		json_array_foreach(nodes, i, n) {
			put_str(x, ws, r, 0, split, NULL);
			put_json_num(x, ws, r, 1, json_object_get(n, "id"), NULL);
			if (json_is_number(json_object_get(n, "parent")))   /* the root has none: an empty cell */
				put_json_num(x, ws, r, 2, json_object_get(n, "parent"), NULL);
			long long depth = json_integer_value(json_object_get(n, "depth"));
			put_num(x, ws, r, 3, (double)depth, NULL);
			struct strbuf c;
			sb_init(&c);
			for (long long d = 0; d < depth && d < 8; d++)
				sb_puts(&c, "    ");
			sb_puts(&c, str_of(json_object_get(n, "condition")));
			put_str(x, ws, r, 4, c.data, NULL);
			sb_free(&c);
			put_json_num(x, ws, r, 5, json_object_get(n, "rows"), NULL);
			put_json_num(x, ws, r, 6, json_object_get(n, "errors"), NULL);
			put_json_num(x, ws, r, 7, json_object_get(n, "error_rate"), x->num);
			double e = json_number_value(json_object_get(n, "errors"));
			put_num(x, ws, r, 8, total > 0 ? e / total : NAN, x->pct);
			put_str(x, ws, r, 9, json_is_true(json_object_get(n, "leaf")) ? "leaf" : "", NULL);
			put_str(x, ws, r, 10, str_of(json_object_get(n, "slice")), NULL);
			r++;
		}
	}

	if (last < first)
		return;
	lxw_chart *chart = workbook_add_chart(x->wb, LXW_CHART_BAR);
	lxw_chart_series *series = chart_add_series(chart, NULL, NULL);
	chart_series_set_categories(series, "Slices", first, 2, last, 2);
	chart_series_set_values(series, "Slices", first, 8, last, 8);
	chart_series_set_name(series, "error rate");
	chart_title_set_name(chart, "Error rate of each listed slice");
	chart_legend_set_position(chart, LXW_CHART_LEGEND_NONE);
	chart_axis_set_reverse(chart->y_axis);
	lxw_chart_options opt = {.x_scale = 1.6, .y_scale = 1.2};
	note_err(x, worksheet_insert_chart_opt(ws, r + 2, 2, chart, &opt));
}

/* one "quantity" row of the multivariate block: an estimate or a number */
static void drift_quantity(struct xw *x, lxw_worksheet *ws, lxw_row_t r, const json_t *e, const char *what,
			   const json_t *val, const char *note)
{
	put_str(x, ws, r, 0, str_of(json_object_get(e, "split")), NULL);
	put_str(x, ws, r, 1, str_of(json_object_get(e, "against")), NULL);
	put_str(x, ws, r, 2, what, NULL);
	if (json_is_object(val))
		put_est(x, ws, r, 3, val);
	else
		put_json_num(x, ws, r, 3, val, x->num);
	if (note)
		put_str(x, ws, r, 8, note, NULL);
}

static void sheet_drift(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"split", "feature", "type", "test", "statistic", "p_value", "q_value",
					   "Wasserstein / train sd", "PSI", "Jensen-Shannon", "drifted", "note"};
	enum { NCOLS = sizeof cols / sizeof cols[0] };
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Drift");
	worksheet_set_column(ws, 1, 1, 20, NULL);
	worksheet_set_column(ws, 2, 2, 18, NULL);
	worksheet_set_column(ws, 11, 11, 50, NULL);
	header(x, ws, 0, cols, NCOLS);
	worksheet_freeze_panes(ws, 1, 0);
	lxw_row_t r = 1;
	if (!json_array_size(m->drift)) {
		const json_t *drift;
		if (!not_run(x, ws, r, m, "drift", "The drift analysis", &drift))
			put_str(x, ws, r, 0, "rootcause/drift.csv is missing: the per-feature numbers are in "
				"rootcause/analysis.json.", NULL);
		r++;
	}
	size_t i;
	const json_t *row;
	json_array_foreach(m->drift, i, row) {
		put_str(x, ws, r, 0, str_of(json_object_get(row, "split")), NULL);
		put_str(x, ws, r, 1, str_of(json_object_get(row, "feature")), NULL);
		put_str(x, ws, r, 2, str_of(json_object_get(row, "type")), NULL);
		put_str(x, ws, r, 3, str_of(json_object_get(row, "test")), NULL);
		put_json_num(x, ws, r, 4, json_object_get(row, "statistic"), NULL);
		put_json_num(x, ws, r, 5, json_object_get(row, "p"), NULL);
		put_json_num(x, ws, r, 6, json_object_get(row, "q"), NULL);
		put_json_num(x, ws, r, 7, json_object_get(row, "wasserstein_sd"), NULL);
		put_json_num(x, ws, r, 8, json_object_get(row, "psi"), NULL);
		put_json_num(x, ws, r, 9, json_object_get(row, "js"), NULL);
		put_str(x, ws, r, 10, json_number_value(json_object_get(row, "flagged")) > 0 ? "drifted" : "", NULL);
		r++;
	}
	/* features the drift analysis could not compare */
	json_array_foreach(json_object_get(model_analysis(m, "drift", NULL), "skipped"), i, row) {
		put_str(x, ws, r, 0, str_of(json_object_get(row, "split")), NULL);
		put_str(x, ws, r, 1, str_of(json_object_get(row, "feature")), NULL);
		put_str(x, ws, r, 3, "not compared", NULL);
		put_str(x, ws, r, 11, str_of(json_object_get(row, "reason")), NULL);
		r++;
	}

	static const char *const dcols[] = {"split", "against", "quantity", "value", "ci_low", "ci_high", "n",
					    "reason", "note"};
	r++;
	put_str(x, ws, r++, 0, "Multivariate drift: a domain classifier tells the split from train; the covariate-shift "
		"split of the drop; concept drift", x->bold);
	header(x, ws, r++, dcols, sizeof dcols / sizeof dcols[0]);
	const json_t *dom;
	if (not_run(x, ws, r, m, "domain", "The domain classifier", &dom) || !dom)
		return;
	const char *why = NULL;
	model_analysis(m, "domain", &why);
	if (why)
		r++;   /* not_run named the splits left out on this row */
	const json_t *e;
	json_array_foreach(dom, i, e) {
		drift_quantity(x, ws, r++, e, "domain ROC-AUC", json_object_get(e, "auc"),
			       "0.5 when the split looks like train, 1 when every row gives itself away");
		size_t k;
		const json_t *d;
		json_array_foreach(json_object_get(e, "drivers"), k, d) {
			struct strbuf t;
			sb_init(&t);
			sb_printf(&t, "AUC drop without %s", str_of(json_object_get(d, "feature")));
			drift_quantity(x, ws, r++, e, t.data, json_object_get(d, "auc_drop"), NULL);
			sb_free(&t);
		}
		const json_t *cov = json_object_get(e, "covariate");
		if (json_is_object(cov)) {
			struct strbuf t;
			sb_init(&t);
			sb_printf(&t, "%s on %s", str_of(json_object_get(cov, "metric")), str_of(json_object_get(cov, "source")));
			drift_quantity(x, ws, r++, e, t.data, json_object_get(cov, "source_value"), NULL);
			sb_free(&t);
			drift_quantity(x, ws, r++, e, "importance-weighted estimate", json_object_get(cov, "iw_estimate"),
				       "what covariate shift alone predicts");
			drift_quantity(x, ws, r++, e, "observed", json_object_get(cov, "observed"), NULL);
			drift_quantity(x, ws, r++, e, "explained by covariate shift", json_object_get(cov, "explained"), NULL);
			drift_quantity(x, ws, r++, e, "unexplained", json_object_get(cov, "unexplained"),
				       "above 0: concept drift or a change outside the features");
			drift_quantity(x, ws, r++, e, "effective sample size", json_object_get(cov, "ess"), NULL);
		}
		const json_t *dis = json_object_get(e, "disagreement");
		if (json_is_object(dis)) {
			drift_quantity(x, ws, r++, e, "disagreement: train probe vs current probes",
				       json_object_get(dis, "train_probe_vs_current_probe"), NULL);
			drift_quantity(x, ws, r++, e, "disagreement baseline: two train probes", json_object_get(dis, "baseline"),
				       NULL);
		}
	}
}

static void sheet_importance(struct xw *x, const struct report_model *m)
{
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Importance");
	worksheet_set_column(ws, 0, 0, 22, NULL);
	put_str(x, ws, 0, 0, "feature", x->bold);
	const json_t *a;
	if (not_run(x, ws, 1, m, "importance", "The importance analysis", &a) || !a)
		return;
	const json_t *splits = json_object_get(a, "splits");
	size_t ns = json_array_size(splits);
	/* wide: per split importance, ci_low, ci_high, rank */
	static const char *const sub[] = {"importance", "ci_low", "ci_high", "rank"};
	for (size_t s = 0; s < ns; s++)
		for (size_t k = 0; k < 4; k++) {
			struct strbuf t;
			sb_init(&t);
			sb_printf(&t, "%s %s", str_of(json_array_get(splits, s)), sub[k]);
			put_str(x, ws, 0, (lxw_col_t)(1 + 4 * s + k), t.data, x->bold);
			sb_free(&t);
		}
	worksheet_freeze_panes(ws, 1, 1);
	const char *why = NULL;
	model_analysis(m, "importance", &why);
	lxw_row_t r = why ? 2 : 1;
	lxw_row_t first = r;
	size_t nf = json_array_size(json_object_get(a, "features"));
	const json_t **order = xcalloc(nf ? nf : 1, sizeof *order);
	nf = sections_importance_order(a, order, nf);
	for (size_t i = 0; i < nf; i++, r++) {
		put_str(x, ws, r, 0, str_of(json_object_get(order[i], "feature")), NULL);
		for (size_t s = 0; s < ns; s++) {
			const json_t *b = json_object_get(json_object_get(order[i], "by_split"),
							  str_of(json_array_get(splits, s)));
			const json_t *est = json_object_get(b, "importance");
			put_json_num(x, ws, r, (lxw_col_t)(1 + 4 * s), json_object_get(est, "value"), x->num);
			put_json_num(x, ws, r, (lxw_col_t)(2 + 4 * s), json_object_get(est, "ci_low"), x->num);
			put_json_num(x, ws, r, (lxw_col_t)(3 + 4 * s), json_object_get(est, "ci_high"), x->num);
			put_json_num(x, ws, r, (lxw_col_t)(4 + 4 * s), json_object_get(b, "rank"), NULL);
		}
	}
	free(order);
	lxw_row_t last = r - 1;

	/* the surrogate below the table */
	const json_t *sur = json_object_get(a, "surrogate");
	r++;
	put_str(x, ws, r, 0, "Surrogate", x->bold);
	put_str(x, ws, r++, 1, str_of(json_object_get(sur, "architecture")), NULL);
	put_str(x, ws, r, 0, "Trained on rows", x->bold);
	put_json_num(x, ws, r++, 1, json_object_get(sur, "rows"), NULL);
	put_str(x, ws, r, 0, "Importance", x->bold);
	put_str(x, ws, r++, 1, str_of(json_object_get(a, "metric")), NULL);
	const char *key;
	const json_t *fe;
	json_object_foreach((json_t *)json_object_get(sur, "fidelity"), key, fe) {
		struct strbuf t;
		sb_init(&t);
		sb_printf(&t, "Fidelity on %s", key);
		put_str(x, ws, r, 0, t.data, x->bold);
		sb_free(&t);
		put_est(x, ws, r++, 1, fe);
	}
	if (last < first || !ns)
		return;
	lxw_chart *chart = workbook_add_chart(x->wb, LXW_CHART_COLUMN);
	for (size_t s = 0; s < ns && s < 4; s++) {
		lxw_chart_series *series = chart_add_series(chart, NULL, NULL);
		chart_series_set_categories(series, "Importance", first, 0, last, 0);
		chart_series_set_values(series, "Importance", first, (lxw_col_t)(1 + 4 * s), last, (lxw_col_t)(1 + 4 * s));
		/* the name is a cell reference: split names are data, and a
		 * literal name starting with '=' would be read as a formula */
		chart_series_set_name_range(series, "Importance", 0, (lxw_col_t)(1 + 4 * s));
	}
	chart_title_set_name(chart, "Permutation importance per split");
	lxw_chart_options opt = {.x_scale = 1.6, .y_scale = 1.3};
	note_err(x, worksheet_insert_chart_opt(ws, r + 2, 0, chart, &opt));
}

/* ---- the training checks (probes/sanity.json) ---- */

static double num_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

struct check_rows {
	struct xw *x;
	lxw_worksheet *ws;
	lxw_row_t r;
};

/* One row per check (checks.c): its verdict, the numbers its advice does not
 * state, and its own advice, the line to act on. */
static void check_row(const struct check_line *c, void *arg)
{
	struct check_rows *cr = arg;
	put_str(cr->x, cr->ws, cr->r, 0, c->name, NULL);
	put_str(cr->x, cr->ws, cr->r, 1, c->verdict.data, c->alarm ? cr->x->bold : NULL);
	put_str(cr->x, cr->ws, cr->r, 2, c->numbers.data, cr->x->wrap);
	put_str(cr->x, cr->ws, cr->r, 3, c->advice.data, cr->x->wrap);
	cr->r++;
}

/* hpo.final: the search's best and the default on the full train rows, then
 * their paired difference; numbers as numbers. Returns the next free row. */
static lxw_row_t final_rows(struct xw *x, lxw_worksheet *ws, const json_t *s, lxw_row_t r)
{
	const json_t *f = checks_final(s);
	if (!f)
		return r;
	struct strbuf t;
	sb_init(&t);
	sb_printf(&t, "The search's best on the full train set: each trained on %lld rows until its training loss stopped "
		      "improving or %lld epochs, scored on %lld held-out rows",
		  (long long)json_integer_value(json_object_get(f, "train_rows")),
		  (long long)json_integer_value(json_object_get(f, "max_epochs")),
		  (long long)json_integer_value(json_object_get(f, "val_rows")));
	put_str(x, ws, r++, 0, t.data, x->bold);
	static const char *const cols[] = {"run", "setting", "epochs", "steps", "stopped by", "training loss",
					   "training accuracy", "validation loss", "validation accuracy",
					   "lowest validation loss", "at epoch"};
	header(x, ws, r++, cols, sizeof cols / sizeof cols[0]);
	static const char *const runs[][2] = {{"best", "search's best"}, {"default", "default"}};
	for (size_t i = 0; i < 2; i++, r++) {
		const json_t *run = json_object_get(f, runs[i][0]), *fit = json_object_get(run, "fit");
		put_str(x, ws, r, 0, runs[i][1], NULL);
		t.len = 0;
		t.data[0] = 0;
		checks_setting(&t, run);
		put_str(x, ws, r, 1, t.data, NULL);
		put_json_num(x, ws, r, 2, json_object_get(run, "epochs"), NULL);
		put_json_num(x, ws, r, 3, json_object_get(run, "steps"), NULL);
		t.len = 0;
		t.data[0] = 0;
		checks_stop(&t, f, run);
		put_str(x, ws, r, 4, t.data, NULL);
		put_num(x, ws, r, 5, num_at(fit, "train_loss"), x->num);
		put_num(x, ws, r, 6, num_at(fit, "train_acc"), x->pct);
		put_num(x, ws, r, 7, num_at(fit, "val_loss"), x->num);
		put_num(x, ws, r, 8, num_at(fit, "val_acc"), x->pct);
		put_num(x, ws, r, 9, num_at(run, "lowest_val_loss"), x->num);
		put_json_num(x, ws, r, 10, json_object_get(run, "lowest_val_epoch"), NULL);
	}
	sb_free(&t);
	static const char *const dcols[] = {"validation loss, best - default", "paired difference", "95% CI low",
					    "95% CI high", "held-out rows"};
	header(x, ws, r++, dcols, sizeof dcols / sizeof dcols[0]);
	const json_t *d = json_object_get(f, "difference");
	put_str(x, ws, r, 0, "per held-out row", NULL);
	put_num(x, ws, r, 1, num_at(d, "value"), x->num);
	put_num(x, ws, r, 2, num_at(d, "ci_low"), x->num);
	put_num(x, ws, r, 3, num_at(d, "ci_high"), x->num);
	put_json_num(x, ws, r, 4, json_object_get(d, "n"), NULL);
	return r + 1;
}

/* probes/hpo.csv below the checks: its header, then numbers as numbers */
static void hpo_rows(struct xw *x, lxw_worksheet *ws, const struct report_model *m, lxw_row_t r)
{
	char *path = stage_input(m->ctx, "probes/hpo.csv");
	struct csv_reader *rd = file_exists(path) ? csv_open(path, ',') : NULL;
	free(path);
	if (!rd) {
		mla_error_clear();
		return;
	}
	put_str(x, ws, r++, 0, "Hyper-parameter trials (probes/hpo.csv): score is minus the validation loss", x->bold);
	struct csv_row row;
	int got, head = 1;
	while ((got = csv_next(rd, &row)) > 0) {
		for (size_t i = 0; i < row.nfields && i < 64; i++) {
			char *end;
			double v = strtod(row.field[i], &end);
			if (!head && end != row.field[i] && !*end)
				put_num(x, ws, r, (lxw_col_t)i, v, NULL);
			else
				put_str(x, ws, r, (lxw_col_t)i, row.field[i], head ? x->bold : NULL);
		}
		head = 0;
		r++;
	}
	if (got < 0)
		mla_error_clear();
	csv_close(rd);
}

static void sheet_checks(struct xw *x, const struct report_model *m)
{
	static const char *const cols[] = {"check", "verdict", "numbers", "advice"};
	lxw_worksheet *ws = workbook_add_worksheet(x->wb, "Training checks");
	worksheet_set_column(ws, 0, 0, 26, NULL);
	worksheet_set_column(ws, 1, 1, 30, NULL);
	worksheet_set_column(ws, 2, 2, 70, x->wrap);
	worksheet_set_column(ws, 3, 3, 60, x->wrap);
	header(x, ws, 0, cols, 4);
	worksheet_freeze_panes(ws, 1, 0);
	const char *skipped = json_string_value(json_object_get(m->sanity, "skipped"));
	if (!m->sanity || skipped) {
		struct strbuf t;
		sb_init(&t);
		sb_puts(&t, "The training checks did not run: ");
		sb_puts(&t, skipped ? skipped : m->has_probes ? "the probes stage wrote no probes/sanity.json"
							    : "the probes stage is not in this run");
		put_str(x, ws, 1, 0, t.data, NULL);
		sb_free(&t);
		return;
	}
	struct check_rows cr = {x, ws, 1};
	checks_each(m->sanity, check_row, &cr);
	lxw_row_t r = final_rows(x, ws, m->sanity, cr.r + 1);
	hpo_rows(x, ws, m, r + 1);
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

	/* in the order of the report: the steps, then the appendices */
	sheet_summary(&x, m);
	sheet_metrics(&x, m);
	sheet_segments(&x, m);
	sheet_findings(&x, m);
	sheet_slices(&x, m);
	sheet_drift(&x, m);
	sheet_importance(&x, m);
	sheet_mitigations(&x, m);
	sheet_label_review(&x, m);
	sheet_checks(&x, m);
	sheet_profile(&x, m);

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
