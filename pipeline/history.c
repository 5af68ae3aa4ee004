/* history.c - OUT/index.html from the runs' report/summary.json files (see
 * history.h).
 *
 * The page is markdown from templates/history.md rendered by cmark-gfm in safe
 * mode inside templates/history.html, like the run report: every string read
 * from a summary (model name, run ids, finding titles) passes through
 * escape_md, and a run id in a link destination is percent-encoded. The trend
 * plot follows the report's gnuplot rules (templates/history_trend.gp is fixed
 * text; data only through tab-separated files; one process, with a timeout),
 * drawn in a temporary folder that is removed afterwards. */
#include "history.h"
#include "config.h"
#include "diff.h"
#include "util.h"
#include "version.h"
#include "../stages/report/escape.h"
#include "../stages/report/gnuplot.h"
#include "../stages/report/report.h"
#include "../stages/report/template.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HISTORY_PLOT_RUNS 90     /* the newest runs drawn on the trend plot: beyond that it is unreadable */
#define HISTORY_PLOT_LABELS 15   /* x tick labels at most; the others are left blank */
#define HISTORY_LIST_MAX 25      /* findings listed per kind of change; the rest are counted */
#define HISTORY_NOTE_NAMES 5     /* names of skipped folders quoted in the note */
#define HISTORY_GNUPLOT_TIMEOUT 60.0

struct run {
	char *id;          /* the run folder's name */
	json_t *summary;   /* its report/summary.json */
};

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

/* ---- collecting runs ---- */

/* A run's summary.json, or NULL when it does not parse or is not a summary
 * (the caller notes it; nothing is recorded as an error). */
static json_t *load_summary(const char *path)
{
	json_t *s = json_load_file(path, 0, NULL);
	if (s && (!json_is_object(s) || !json_is_array(json_object_get(s, "findings")) ||
		  !json_is_object(json_object_get(s, "metrics")))) {
		json_decref(s);
		s = NULL;
	}
	return s;
}

/* Newest first. Run ids are UTC times, and runs started in the same second
 * get -02, -03, ...: a version sort orders both the times and the suffixes
 * (and any folder renamed by hand still gets a stable place). */
static int cmp_runs(const void *pa, const void *pb)
{
	const struct run *a = pa, *b = pb;
	return strverscmp(b->id, a->id);
}

/* Fills runs (newest first) and the names of folders left out because their
 * summary.json did not parse. -1 when out_dir cannot be read. */
static int collect_runs(const char *out_dir, struct run **runs, size_t *nruns, struct strlist *bad)
{
	*runs = NULL;
	*nruns = 0;
	DIR *d = opendir(out_dir);
	if (!d)
		return ERR_INPUT("%s: cannot open output folder: %s", out_dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;   /* ., .., .lock, partial runs and temporary folders */
		char *dir = path_join(out_dir, e->d_name);
		struct stat st;
		/* lstat: OUT/latest is a link to a run already listed */
		int is_dir = lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
		char *file = is_dir ? path_join(dir, "report/summary.json") : NULL;
		if (file && file_exists(file)) {
			json_t *s = load_summary(file);
			if (s) {
				*runs = xrealloc(*runs, (*nruns + 1) * sizeof **runs);
				(*runs)[(*nruns)++] = (struct run){xstrdup(e->d_name), s};
			} else
				strlist_add(bad, e->d_name);
		}
		free(file);
		free(dir);
	}
	closedir(d);
	if (*nruns > 1)
		qsort(*runs, *nruns, sizeof **runs, cmp_runs);
	return 0;
}

/* ---- small pieces ---- */

/* Does `id` look like a run id, 20261127T211138Z with an optional -N? */
static int is_run_id(const char *id)
{
	static const char shape[] = "DDDDDDDDTDDDDDDZ";
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		char c = id[i];
		if (shape[i] == 'D' ? !(c >= '0' && c <= '9') : c != shape[i])
			return 0;
	}
	return 1;
}

/* The run's start as "2026-11-27 21:11:38" (full) or "11-27 21:11" (short,
 * for plot labels); the id itself when it is not a run id. */
static void run_date(struct strbuf *sb, const char *id, int full)
{
	if (!is_run_id(id))
		sb_puts(sb, id);
	else if (full)
		sb_printf(sb, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", id, id + 4, id + 6, id + 9, id + 11, id + 13);
	else
		sb_printf(sb, "%.2s-%.2s %.2s:%.2s", id + 4, id + 6, id + 9, id + 11);
}

/* A link to the run's report. The destination is the folder name
 * percent-encoded byte by byte (so no name can form a scheme, a query or leave
 * the link), the text is escaped markdown. */
static void run_link(struct strbuf *sb, const char *id, const char *text)
{
	sb_putc(sb, '[');
	escape_md(sb, text);
	sb_puts(sb, "](");
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~')
			sb_putc(sb, (char)*p);
		else
			sb_printf(sb, "%%%02X", *p);
	}
	sb_puts(sb, "/report/index.html)");
}

/* The verdict in capitals, for our three words; anything else escaped as is. */
static void put_verdict(struct strbuf *sb, const char *v)
{
	if (!strcmp(v, "pass") || !strcmp(v, "warn") || !strcmp(v, "fail")) {
		sb_puts(sb, "**");
		for (const char *p = v; *p; p++)
			sb_putc(sb, (char)(*p - 'a' + 'A'));
		sb_puts(sb, "**");
	} else
		escape_md(sb, *v ? v : "?");
}

static const json_t *estimate(const json_t *summary, const char *split, const char *metric)
{
	if (!split)
		return NULL;
	return json_object_get(json_object_get(json_object_get(summary, "metrics"), split), metric);
}

/* An estimate as escaped markdown: "0.819 \[0.789, 0.845\]". */
static void put_est_md(struct strbuf *sb, const json_t *est)
{
	struct strbuf t;
	sb_init(&t);
	diff_fmt_est(&t, est);
	escape_md(sb, t.data);
	sb_free(&t);
}

static void severity_counts(const json_t *summary, int counts[4])
{
	memset(counts, 0, 4 * sizeof *counts);
	const json_t *f = json_object_get(summary, "findings");
	for (size_t i = 0; i < json_array_size(f); i++) {
		int s = severity_parse(str_of(json_object_get(json_array_get(f, i), "severity")));
		counts[s < 0 ? SEV_INFO : s]++;
	}
}

/* The metric's display name: a fixed name for known keys, else the key escaped. */
static void put_metric_md(struct strbuf *sb, const char *metric)
{
	const char *name = gnuplot_axis_name(metric);
	if (strcmp(name, "chosen metric"))
		sb_puts(sb, name);
	else
		escape_md(sb, metric);
}

/* "2 new · 1 worsened · 3 resolved" against the previous run, "no change". */
static void put_change_counts(struct strbuf *sb, const struct run_diff *d)
{
	static const enum diff_change shown[] = {DIFF_NEW, DIFF_WORSENED, DIFF_RESOLVED, DIFF_IMPROVED};
	static const char *const words[] = {"new", "worsened", "resolved", "improved"};
	size_t at = sb->len;
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		if (d->count[shown[i]])
			sb_printf(sb, "%s%zu %s", sb->len > at ? " · " : "", d->count[shown[i]], words[i]);
	if (sb->len == at)
		sb_puts(sb, "no change");
}

/* ---- the trend plot ---- */

static void put_num(struct strbuf *sb, double v)
{
	if (isfinite(v))
		sb_printf(sb, "%.6g", v);
	else
		sb_puts(sb, "NaN");
}

/* value, lo, hi of an estimate (lo/hi fall back to the value, so a point
 * without an interval still draws); returns whether the value is defined */
static int put_est_tsv(struct strbuf *sb, const json_t *est)
{
	const json_t *v = json_object_get(est, "value"), *lo = json_object_get(est, "ci_low"),
		     *hi = json_object_get(est, "ci_high");
	double x = json_is_number(v) ? json_number_value(v) : NAN;
	sb_putc(sb, '\t');
	put_num(sb, x);
	sb_putc(sb, '\t');
	put_num(sb, json_is_number(lo) ? json_number_value(lo) : x);
	sb_putc(sb, '\t');
	put_num(sb, json_is_number(hi) ? json_number_value(hi) : x);
	return isfinite(x);
}

static int write_in(const char *dir, const char *name, const char *data, size_t len)
{
	char *p = path_join(dir, name);
	int rc = file_write_atomic(p, data, len);
	free(p);
	return rc;
}

/* Write the script beside the data files in `dir`, run gnuplot there, and
 * append the image to `md` (or a note saying why there is none to `notes`).
 * -1 only for a missing template or a failed write. */
static int trend_draw(const char *dir, const char *metric, const char *series, struct strbuf *md,
		      struct strbuf *notes)
{
	char *setup = tmpl_load("plots_setup.gp");
	char *text = setup ? tmpl_load("history_trend.gp") : NULL;
	int rc = text ? 0 : -1;
	if (rc == 0) {
		/* only fixed words and our own file names go into the script */
		const struct tmpl_var vars[] = {
			{"setup", setup}, {"png", "trend.png"}, {"data", "trend.tsv"}, {"labels", "trend_labels.tsv"},
			{"ylabel", gnuplot_axis_name(metric)}, {"series", series},
		};
		struct strbuf script;
		sb_init(&script);
		rc = tmpl_render("history_trend.gp", text, vars, sizeof vars / sizeof vars[0], &script);
		if (rc == 0)
			rc = write_in(dir, "plots.gp", script.data, script.len);
		sb_free(&script);
	}
	free(setup);
	free(text);
	if (rc != 0)
		return -1;

	enum gp_result r = gnuplot_run(dir, HISTORY_GNUPLOT_TIMEOUT);
	char *png_path = path_join(dir, "trend.png");
	struct stat st;
	size_t len = 0;
	int drawn = r == GP_OK && stat(png_path, &st) == 0 && st.st_size > 0;
	char *png = drawn ? file_read_all(png_path, &len) : NULL;
	if (drawn && !png) {
		mla_error_clear();   /* file_read_all recorded it; the page goes out without the plot */
		sb_puts(notes, "- No trend plot: gnuplot's image could not be read.\n");
	} else if (png) {
		sb_puts(md, "![");
		put_metric_md(md, metric);
		/* cmark's safe mode keeps data:image/png URLs: the page needs no other file */
		sb_puts(md, " over runs](data:image/png;base64,");
		escape_base64(md, (const unsigned char *)png, len);
		sb_puts(md, ")\n");
		free(png);
	} else if (r == GP_MISSING)
		sb_puts(notes, "- No trend plot: gnuplot was not found (install gnuplot to get it).\n");
	else if (r == GP_TIMEOUT)
		sb_printf(notes, "- No trend plot: gnuplot did not finish within %.0f s and was stopped.\n",
			  HISTORY_GNUPLOT_TIMEOUT);
	else
		sb_puts(notes, "- No trend plot: gnuplot failed to draw it.\n");
	free(png_path);
	return 0;
}

/* The trend of `metric` over the newest HISTORY_PLOT_RUNS runs, appended to
 * `md` as an embedded image, or a note in `notes` saying why there is none.
 * Drawn in a hidden temporary folder of out_dir (the history and the runner
 * ignore names starting with '.'), removed afterwards. -1 only for a missing
 * template or a failed write. */
static int trend_plot(const char *out_dir, const struct run *runs, size_t nruns, const char *metric,
		      struct strbuf *md, struct strbuf *notes)
{
	size_t n = nruns < HISTORY_PLOT_RUNS ? nruns : HISTORY_PLOT_RUNS;
	struct strbuf data, labels;
	sb_init(&data);
	sb_init(&labels);
	sb_puts(&data, "x\trun\ttest\tlo\thi\tcurrent\tlo\thi\n");
	sb_puts(&labels, "x\tlabel\n");
	size_t every = (n + HISTORY_PLOT_LABELS - 1) / HISTORY_PLOT_LABELS;
	int has_test = 0, has_cur = 0;
	for (size_t k = 0; k < n; k++) {
		const struct run *r = &runs[n - 1 - k];   /* oldest drawn run first */
		struct strbuf date;
		sb_init(&date);
		run_date(&date, r->id, 0);
		sb_printf(&data, "%zu\t", k);
		escape_gnuplot_field(&data, date.data, 24);
		has_test |= put_est_tsv(&data, estimate(r->summary, "test", metric));
		has_cur |= put_est_tsv(&data, estimate(r->summary, diff_current_split(r->summary), metric));
		sb_putc(&data, '\n');
		if ((n - 1 - k) % (every ? every : 1) == 0) {   /* counted from the newest, which is always labelled */
			sb_printf(&labels, "%zu\t", k);
			escape_gnuplot_field(&labels, date.data, 24);
			sb_putc(&labels, '\n');
		}
		sb_free(&date);
	}
	if (nruns > n)
		sb_printf(notes, "- The trend plot shows the newest %d of the %zu runs.\n", HISTORY_PLOT_RUNS, nruns);

	int rc = 0;
	if (!has_test && !has_cur)
		sb_puts(notes, "- No trend plot: no run has the chosen metric on test or current data.\n");
	else {
		char name[64];
		snprintf(name, sizeof name, ".history.%ld.tmp", (long)getpid());
		char *tmp = path_join(out_dir, name);
		remove_tree(tmp);
		if ((rc = mkdir_p(tmp)) == 0 && (rc = write_in(tmp, "trend.tsv", data.data, data.len)) == 0)
			rc = write_in(tmp, "trend_labels.tsv", labels.data, labels.len);
		/* a series without one defined point would make gnuplot give up on the whole plot */
		if (rc == 0)
			rc = trend_draw(tmp, metric, has_test && has_cur ? "3" : has_test ? "1" : "2", md, notes);
		remove_tree(tmp);
		free(tmp);
	}
	sb_free(&data);
	sb_free(&labels);
	return rc;
}

/* ---- the sections ---- */

static void put_finding_item(struct strbuf *sb, const struct diff_finding *x)
{
	const json_t *f = x->b ? x->b : x->a;
	int s = severity_parse(str_of(json_object_get(f, "severity")));
	sb_printf(sb, "- **%s** · ", severity_name(s < 0 ? SEV_INFO : (enum severity)s));
	escape_md(sb, str_of(json_object_get(f, "kind")));
	sb_puts(sb, " · ");
	escape_md(sb, str_of(json_object_get(f, "title")));
	sb_puts(sb, " (");
	escape_md(sb, str_of(json_object_get(f, "id")));
	if (x->why) {
		sb_puts(sb, "; ");
		escape_md(sb, x->why);
	}
	sb_puts(sb, ")\n");
}

static void changes_section(struct strbuf *sb, const struct run *runs, size_t nruns)
{
	if (nruns < 2) {
		sb_puts(sb, "This is the only run in this folder: there is nothing to compare it with yet.\n");
		return;
	}
	struct run_diff d;
	diff_runs(runs[1].summary, runs[0].summary, &d);
	sb_puts(sb, "Run ");
	run_link(sb, runs[0].id, runs[0].id);
	sb_puts(sb, " against the run before it, ");
	run_link(sb, runs[1].id, runs[1].id);
	sb_printf(sb, ": %zu new, %zu worsened, %zu resolved, %zu improved and %zu unchanged findings. ",
		  d.count[DIFF_NEW], d.count[DIFF_WORSENED], d.count[DIFF_RESOLVED], d.count[DIFF_IMPROVED],
		  d.count[DIFF_UNCHANGED]);
	if (d.worsened) {
		sb_puts(sb, "**Worse:** ");
		escape_md(sb, d.worsened_why);
		sb_puts(sb, ".\n");
	} else
		sb_puts(sb, "Nothing got worse.\n");

	static const enum diff_change lists[] = {DIFF_NEW, DIFF_WORSENED, DIFF_RESOLVED};
	static const char *const heads[] = {"New", "Worsened", "Resolved"};
	for (size_t l = 0; l < 3; l++) {
		sb_printf(sb, "\n### %s (%zu)\n\n", heads[l], d.count[lists[l]]);
		size_t shown = 0;
		for (size_t i = 0; i < d.nfindings; i++)
			if (d.findings[i].change == lists[l] && shown++ < HISTORY_LIST_MAX)
				put_finding_item(sb, &d.findings[i]);
		if (!shown)
			sb_puts(sb, "None.\n");
		else if (shown > HISTORY_LIST_MAX)
			sb_printf(sb, "\n%zu more in `mlaudit diff`.\n", shown - HISTORY_LIST_MAX);
	}
	diff_free(&d);
}

static void runs_table(struct strbuf *sb, const struct run *runs, size_t nruns, const char *metric)
{
	sb_puts(sb, "| date (UTC) | run | verdict | ");
	put_metric_md(sb, metric);
	sb_puts(sb, ", test | ");
	put_metric_md(sb, metric);
	sb_puts(sb, ", current | high | medium | low | info | since the previous run |\n");
	sb_puts(sb, "|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < nruns; i++) {
		const json_t *s = runs[i].summary;
		struct strbuf date;
		sb_init(&date);
		run_date(&date, runs[i].id, 1);
		sb_puts(sb, "| ");
		escape_md(sb, date.data);
		sb_free(&date);
		sb_puts(sb, " | ");
		run_link(sb, runs[i].id, runs[i].id);
		sb_puts(sb, " | ");
		put_verdict(sb, str_of(json_object_get(s, "verdict")));
		sb_puts(sb, " | ");
		put_est_md(sb, estimate(s, "test", metric));
		sb_puts(sb, " | ");
		const char *cur = diff_current_split(s);
		put_est_md(sb, estimate(s, cur, metric));
		if (cur && strcmp(cur, "current")) {
			sb_puts(sb, " (");
			escape_md(sb, cur);
			sb_putc(sb, ')');
		}
		int c[4];
		severity_counts(s, c);
		sb_printf(sb, " | %d | %d | %d | %d | ", c[SEV_HIGH], c[SEV_MEDIUM], c[SEV_LOW], c[SEV_INFO]);
		if (i + 1 < nruns) {
			struct run_diff d;
			diff_runs(runs[i + 1].summary, s, &d);
			put_change_counts(sb, &d);
			diff_free(&d);
		} else
			sb_puts(sb, "oldest run kept");
		sb_puts(sb, " |\n");
	}
}

static void headline(struct strbuf *sb, const struct run *runs, size_t nruns, const char *metric)
{
	if (!nruns) {
		sb_puts(sb, "No run in this folder has a report/summary.json yet.");
		return;
	}
	const json_t *s = runs[0].summary;
	put_verdict(sb, str_of(json_object_get(s, "verdict")));
	sb_puts(sb, " at the latest run, ");
	struct strbuf date;
	sb_init(&date);
	run_date(&date, runs[0].id, 1);
	run_link(sb, runs[0].id, date.data);
	sb_free(&date);
	int c[4];
	severity_counts(s, c);
	sb_printf(sb, ": %d high, %d medium, %d low and %d info findings; ", c[SEV_HIGH], c[SEV_MEDIUM], c[SEV_LOW],
		  c[SEV_INFO]);
	put_metric_md(sb, metric);
	sb_puts(sb, " ");
	put_est_md(sb, estimate(s, "test", metric));
	sb_puts(sb, " on test");
	const char *cur = diff_current_split(s);
	if (cur) {
		sb_puts(sb, " and ");
		put_est_md(sb, estimate(s, cur, metric));
		sb_puts(sb, " on ");
		escape_md(sb, cur);
	}
	sb_printf(sb, " (95%% intervals). %zu run%s in this folder.", nruns, nruns == 1 ? "" : "s");
}

/* ---- the page ---- */

static int write_page(const char *out_dir, const char *title_plain, const char *verdict, size_t nruns,
		      const char *markdown)
{
	char *body = report_render_markdown(markdown);
	char *page = body ? tmpl_load("history.html") : NULL;
	char *css = page ? tmpl_load("report.css") : NULL;
	int rc = -1;
	if (css) {
		struct strbuf title, runs, out;
		sb_init(&title);
		sb_init(&runs);
		sb_init(&out);
		escape_html(&title, title_plain);
		sb_printf(&runs, "%zu", nruns);
		/* the verdict becomes a class name: only our three words */
		const char *cls = !strcmp(verdict, "pass") || !strcmp(verdict, "warn") || !strcmp(verdict, "fail")
					  ? verdict : "none";
		const struct tmpl_var vars[] = {
			{"page_title", title.data}, {"css", css}, {"body", body}, {"verdict", cls},
			{"version", MLA_VERSION}, {"runs", runs.data},
		};
		rc = tmpl_render("history.html", page, vars, sizeof vars / sizeof vars[0], &out);
		if (rc == 0) {
			char *path = path_join(out_dir, "index.html");
			rc = file_write_atomic(path, out.data, out.len);
			free(path);
		}
		sb_free(&title);
		sb_free(&runs);
		sb_free(&out);
	}
	free(css);
	free(page);
	free(body);
	return rc;
}

int history_write(const char *out_dir)
{
	struct run *runs;
	size_t nruns;
	struct strlist bad = {0};
	if (collect_runs(out_dir, &runs, &nruns, &bad) != 0)
		return -1;

	/* the newest run's name and metric head the page and pick the plotted metric */
	const json_t *newest = nruns ? runs[0].summary : NULL;
	const char *metric = str_of(json_object_get(json_object_get(newest, "task"), "metric"));
	if (!*metric)
		metric = "accuracy";
	char *stem = NULL;
	const char *name = str_of(json_object_get(newest, "name"));
	if (!*name) {
		/* summaries of older versions lack the name: the folder is named after the model */
		const char *slash = strrchr(out_dir, '/');
		stem = xstrdup(slash && slash[1] ? slash + 1 : out_dir);
		name = stem;
	}

	struct strbuf title, head, trend, changes, table, notes;
	sb_init(&title);
	sb_init(&head);
	sb_init(&trend);
	sb_init(&changes);
	sb_init(&table);
	sb_init(&notes);
	sb_printf(&title, "%s · history of runs", name);
	headline(&head, runs, nruns, metric);
	int rc = nruns ? trend_plot(out_dir, runs, nruns, metric, &trend, &notes) : 0;
	changes_section(&changes, runs, nruns);
	runs_table(&table, runs, nruns, metric);

	size_t other_metric = 0;
	for (size_t i = 1; i < nruns; i++)
		other_metric += strcmp(str_of(json_object_get(json_object_get(runs[i].summary, "task"), "metric")), metric) != 0;
	if (other_metric) {
		sb_printf(&notes, "- %zu older run%s chose another metric; the table and the plot show ", other_metric,
			  other_metric == 1 ? "" : "s");
		put_metric_md(&notes, metric);
		sb_puts(&notes, " (the latest run's choice) for every run.\n");
	}
	if (bad.n) {
		sb_printf(&notes, "- Left out: %zu folder%s whose report/summary.json could not be read (", bad.n,
			  bad.n == 1 ? "" : "s");
		for (size_t i = 0; i < bad.n && i < HISTORY_NOTE_NAMES; i++) {
			sb_puts(&notes, i ? ", " : "");
			escape_md(&notes, bad.v[i]);
		}
		sb_puts(&notes, bad.n > HISTORY_NOTE_NAMES ? ", ...).\n" : ").\n");
	}

	if (notes.len) {
		struct strbuf t;
		sb_init(&t);
		sb_puts(&t, "Notes:\n\n");
		sb_putn(&t, notes.data, notes.len);
		sb_free(&notes);
		notes = t;
	}
	char *tmpl = rc == 0 ? tmpl_load("history.md") : NULL;
	if (rc == 0 && !tmpl)
		rc = -1;
	if (rc == 0) {
		struct strbuf title_md, md;
		sb_init(&title_md);
		sb_init(&md);
		escape_md(&title_md, name);
		sb_puts(&title_md, " · history of runs");
		const struct tmpl_var vars[] = {
			{"title", title_md.data}, {"headline", head.data}, {"trend", trend.data},
			{"changes", changes.data}, {"runs_table", table.data},
			{"notes", notes.data},
		};
		rc = tmpl_render("history.md", tmpl, vars, sizeof vars / sizeof vars[0], &md);
		if (rc == 0)
			rc = write_page(out_dir, title.data, str_of(json_object_get(newest, "verdict")), nruns, md.data);
		sb_free(&title_md);
		sb_free(&md);
	}
	free(tmpl);
	sb_free(&title);
	sb_free(&head);
	sb_free(&trend);
	sb_free(&changes);
	sb_free(&table);
	sb_free(&notes);
	free(stem);
	strlist_free(&bad);
	for (size_t i = 0; i < nruns; i++) {
		free(runs[i].id);
		json_decref(runs[i].summary);
	}
	free(runs);
	return rc;
}
