/* markdown.c - the report page as GitHub-flavoured markdown, assembled from
 * templates/report.md: the fixed prose lives in the template, the parts below
 * generate the tables and lines that depend on the run.
 *
 * Every data-derived string goes through escape_md (via fmt_text); numbers and
 * our own wording are written directly. */
#include "model.h"
#include "escape.h"
#include "template.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/version.h"

#include <cmark-gfm.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#define SEGMENT_ROWS_MAX 60      /* segment table rows on the page; the workbook has all */
#define CONFIDENT_ROWS 10        /* confident errors listed per split */
#define CONFUSION_MAX 30         /* classes in a confusion table */
#define EVIDENCE_ITEMS 6         /* evidence numbers shown per finding */
#define MISSING_COLUMNS_MAX 15   /* columns in the missing-values table */
#define TOP_CATEGORIES 3
#define PER_CLASS_TRAIN_MAX 10   /* classes up to which the per-class table shows train too */

/* One line per stage whose folder is absent from the run (a run folder
 * written by an older version, or assembled by hand), shown where its results
 * would go: the report says what is missing instead of leaving a gap. */
#define MISSING(stage, what) "This run folder has no " stage " stage, so " what " are missing from this report."
static const char missing_step2[] = MISSING("rootcause", "the error slices, time windows and data-quality signals");
static const char missing_step3[] = MISSING("rootcause", "the root-cause analyses (representation, label noise, drift, "
					     "label shift, concept drift, importance, feature reliance)");
static const char missing_step4[] = MISSING("mitigate", "the mitigations");
static const char missing_probes[] = MISSING("probes", "the reference probes and their training checks");

/* Metrics in the order tables show them; keys not listed follow in file order. */
static const char *const metric_order[] = {
	"accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_precision", "macro_recall",
	"macro_f1", "roc_auc", "pr_auc", "log_loss", "brier", "ece",
};

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

void md_cell_text(struct strbuf *sb, const char *s)
{
	sb_putc(sb, ' ');
	escape_md(sb, s);
	sb_puts(sb, " |");
}

void md_cell_est(struct strbuf *sb, const json_t *est)
{
	sb_putc(sb, ' ');
	fmt_est(sb, est, 1);
	sb_puts(sb, " |");
}

void md_cell_count(struct strbuf *sb, const json_t *n)
{
	sb_putc(sb, ' ');
	if (json_is_integer(n))
		fmt_count(sb, (long long)json_integer_value(n));
	else
		sb_puts(sb, "n/a");
	sb_puts(sb, " |");
}

/* "| a | b |\n|---|---|\n" for a fixed header */
void md_table_head(struct strbuf *sb, const char *const *cols, size_t n)
{
	sb_putc(sb, '|');
	for (size_t i = 0; i < n; i++)
		sb_printf(sb, " %s |", cols[i]);
	sb_puts(sb, "\n|");
	for (size_t i = 0; i < n; i++)
		sb_puts(sb, "---|");
	sb_putc(sb, '\n');
}

void md_put_plot(const struct report_model *m, struct strbuf *sb, enum plot_id id, const char *alt)
{
	if (!m->plot_png[id])
		return;
	char *dir = stage_output(m->ctx, "plots");
	char *path = path_join(dir, m->plot_png[id]);
	size_t len = 0;
	char *png = file_read_all(path, &len);
	if (!png)
		mla_error_clear(); /* the page goes out without this one image */
	else {
		/* cmark's safe mode keeps data:image/png URLs and drops every other
		 * data: or script URL, so the page stays self-contained */
		sb_printf(sb, "![%s](data:image/png;base64,", alt);
		escape_base64(sb, (const unsigned char *)png, len);
		sb_puts(sb, ")\n\n");
	}
	free(png);
	free(path);
	free(dir);
}

/* ---- findings ---- */

static const json_t *first_of_kind(const struct report_model *m, const char *kind)
{
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		if (!strcmp(str_of(json_object_get(f, "kind")), kind))
			return f;
	}
	return NULL;
}

static size_t count_kind(const struct report_model *m, const char *kind)
{
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(m->findings); i++)
		n += !strcmp(str_of(json_object_get(json_array_get(m->findings, i), "kind")), kind);
	return n;
}

/* The findings of one section as a table; returns how many. */
static size_t findings_table(const struct report_model *m, struct strbuf *sb, int section)
{
	static const char *const cols[] = {"severity", "kind", "finding", "evidence"};
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		if (model_finding_section(f) != section)
			continue;
		if (n++ == 0)
			md_table_head(sb, cols, 4);
		enum severity sev = finding_severity(f);
		sb_printf(sb, "| %s%s%s |", sev >= SEV_MEDIUM ? "**" : "", severity_name(sev), sev >= SEV_MEDIUM ? "**" : "");
		md_cell_text(sb, str_of(json_object_get(f, "kind")));
		md_cell_text(sb, str_of(json_object_get(f, "title")));
		sb_putc(sb, ' ');
		fmt_evidence(sb, json_object_get(f, "evidence"), 1, EVIDENCE_ITEMS);
		sb_puts(sb, " |\n");
	}
	if (n)
		sb_putc(sb, '\n');
	return n;
}

/* ---- headline and context ---- */

static void md_headline(const struct report_model *m, struct strbuf *sb)
{
	sb_puts(sb, "> ");
	fmt_headline(m, sb, 1);
	char *items[3] = {0};
	size_t n = fmt_do_first(m, items, 3, 1);
	if (n) {
		sb_puts(sb, "\n>\n> **Do first:** ");
		for (size_t i = 0; i < n; i++) {
			sb_puts(sb, i ? " · " : "");
			sb_puts(sb, items[i]);
			free(items[i]);
		}
	}
	sb_putc(sb, '\n');
}

static void md_context(const struct report_model *m, struct strbuf *sb)
{
	sb_puts(sb, "Backend: ");
	escape_md(sb, m->backend);
	sb_puts(sb, ". Mode: ");
	const json_t *mc = json_object_get(m->schema, "model_columns");
	const char *standin = json_string_value(json_object_get(json_object_get(m->metrics, "stand_in"), "probe"));
	if (!strcmp(m->mode, "data") && standin) {
		sb_puts(sb, "data — the best probe (");
		escape_md(sb, standin);
		sb_puts(sb, ") stands in for the model: no prediction columns were given, so every metric below is the "
			    "probe's (out of fold on train).");
	} else if (!strcmp(m->mode, "data"))
		sb_puts(sb, "data (no prediction columns, and no probe could stand in for the model: see Appendix A).");
	else {
		sb_puts(sb, "model (the audited model's own outputs:");
		const char *pred = json_string_value(json_object_get(mc, "pred"));
		const char *proba = json_string_value(json_object_get(mc, "proba"));
		const char *prefix = json_string_value(json_object_get(mc, "proba_prefix"));
		if (pred) {
			sb_puts(sb, " predictions from column ");
			escape_md(sb, pred);
		}
		if (proba || prefix) {
			sb_puts(sb, pred ? ";" : "");
			sb_puts(sb, proba ? " probabilities from column " : " probabilities from the columns starting with ");
			escape_md(sb, proba ? proba : prefix);
		}
		sb_puts(sb, ").");
	}
	const json_t *task = json_object_get(m->schema, "task");
	const char *positive = json_string_value(json_object_get(task, "positive"));
	if (positive) {
		sb_puts(sb, " Positive class: ");
		escape_md(sb, positive);
		const char *rule = json_string_value(json_object_get(task, "positive_rule"));
		if (rule) {
			sb_puts(sb, " (");
			escape_md(sb, rule);
			sb_putc(sb, ')');
		}
		sb_putc(sb, '.');
	} else {
		const json_t *classes = json_object_get(task, "classes");
		sb_printf(sb, " Classes (%zu, multiclass: precision, recall, F1, ROC-AUC and PR-AUC are macro averages): ",
			  json_array_size(classes));
		for (size_t i = 0; i < json_array_size(classes) && i < 10; i++) {
			sb_puts(sb, i ? ", " : "");
			escape_md(sb, str_of(json_array_get(classes, i)));
		}
		sb_puts(sb, json_array_size(classes) > 10 ? ", ..." : ".");
	}
	sb_puts(sb, " Label: ");
	escape_md(sb, str_of(json_object_get(task, "label")));
	sb_putc(sb, '.');
	sb_putc(sb, '\n');
}

/* ---- step 1 ---- */

static void scenario(struct strbuf *sb, const char *name, const json_t *f)
{
	sb_printf(sb, "- **%s** — ", name);
	if (f) {
		sb_printf(sb, "**problem** (%s): ", severity_name(finding_severity(f)));
		escape_md(sb, str_of(json_object_get(f, "title")));
	}
}

static double est_value(const json_t *est)
{
	const json_t *v = json_object_get(est, "value");
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void md_scenarios(const struct report_model *m, struct strbuf *sb)
{
	const json_t *tr = model_estimate(m, "train", m->metric), *te = model_estimate(m, "test", m->metric);
	const char *cur = model_current_split(m);
	const json_t *cu = cur ? model_estimate(m, cur, m->metric) : NULL;

	const json_t *f = first_of_kind(m, "low_train_performance");
	if (!f)
		f = first_of_kind(m, "below_reference");
	scenario(sb, "Training performance", f);
	if (!f) {
		sb_puts(sb, isnan(est_value(tr)) ? "not measurable: " : "fine: ");
		fmt_metric(sb, m->metric, 1);
		sb_puts(sb, " on train ");
		fmt_est(sb, tr, 1);
		/* the best probe as the reference for what this data supports */
		const json_t *ref = json_object_get(m->metrics, "reference");
		const json_t *stand = json_object_get(m->metrics, "stand_in");
		if (json_is_object(ref)) {
			const json_t *pv = json_object_get(ref, "probe_value"), *mv = json_object_get(ref, "model_value");
			sb_puts(sb, "; the best probe (");
			escape_md(sb, str_of(json_object_get(ref, "probe")));
			sb_puts(sb, ") reaches ");
			fmt_est(sb, pv, 1);
			sb_puts(sb, " on ");
			escape_md(sb, str_of(json_object_get(ref, "split")));
			sb_puts(sb, " against the model's ");
			fmt_est(sb, mv, 1);
			sb_puts(sb, " — the model is not underfitting");
		} else if (json_is_object(stand)) {
			sb_puts(sb, " (out of fold): the best probe (");
			escape_md(sb, str_of(json_object_get(stand, "probe")));
			sb_puts(sb, ") stands in for the model, so it is its own reference");
		}
		sb_puts(sb, ".");
	}
	sb_putc(sb, '\n');

	f = first_of_kind(m, "overfitting");
	scenario(sb, "Train vs test", f);
	if (!f) {
		sb_puts(sb, "no overfitting finding: train ");
		fmt_est(sb, tr, 1);
		sb_puts(sb, ", test ");
		fmt_est(sb, te, 1);
		if (!isnan(est_value(tr)) && !isnan(est_value(te)))
			sb_printf(sb, " (gap %+.3f)", est_value(tr) - est_value(te));
		sb_putc(sb, '.');
	} else
		sb_puts(sb, " → see the evidence below.");
	sb_putc(sb, '\n');

	f = first_of_kind(m, "performance_drop");
	scenario(sb, "Test vs current", f);
	if (f)
		sb_puts(sb, " → steps 2 and 3.");
	else if (cur) {
		sb_puts(sb, "no drop finding: test ");
		fmt_est(sb, te, 1);
		sb_puts(sb, ", ");
		escape_md(sb, cur);
		sb_putc(sb, ' ');
		fmt_est(sb, cu, 1);
		if (!isnan(est_value(te)) && !isnan(est_value(cu)))
			sb_printf(sb, " (change %+.3f: below the evaluate stage's thresholds for a drop)", est_value(cu) - est_value(te));
		sb_putc(sb, '.');
	} else
		sb_puts(sb, "no current data was given (set `current` to compare newer data).");
	sb_putc(sb, '\n');

	f = first_of_kind(m, "weak_segment");
	scenario(sb, "Segments", f);
	size_t nseg = json_array_size(json_object_get(m->metrics, "segments"));
	if (f) {
		size_t k = count_kind(m, "weak_segment");
		if (k > 1)
			sb_printf(sb, " (and %zu more weak segment values)", k - 1);
	} else if (nseg)
		sb_printf(sb, "no weak segment among %zu segment values evaluated (Benjamini-Hochberg, q < 0.05).", nseg);
	else
		sb_puts(sb, "no segments configured (set `segments` to the columns that matter to the business).");
	sb_putc(sb, '\n');

	f = first_of_kind(m, "confident_errors");
	/* an info-level confident_errors finding is the plain count, not a problem */
	if (f && finding_severity(f) >= SEV_LOW) {
		scenario(sb, "Single points", f);
		sb_puts(sb, " The top 10 are listed below");
		sb_puts(sb, model_analysis(m, "points", NULL) ? "; the most confident are explained one by one in step 3."
							     : ".");
	} else {
		scenario(sb, "Single points", NULL);
		size_t n = 0;
		for (size_t i = 0; i < model_nsplits(m); i++) {
			const char *s = model_split_name(m, i);
			if (strcmp(s, "train"))
				n += json_array_size(json_object_get(model_split(m, s), "confident_errors"));
		}
		if (n)
			sb_printf(sb, "fine: %zu confident errors (wrong with at least 95%% confidence) listed, no more than calibration predicts; the top 10 are below.", n);
		else
			sb_puts(sb, "fine: no confident errors.");
	}
	sb_putc(sb, '\n');
}

/* metric keys present in any split: the known ones in table order, then the rest */
static size_t metric_keys(const struct report_model *m, const char **keys, size_t max)
{
	size_t n = 0;
	for (size_t k = 0; k < sizeof metric_order / sizeof metric_order[0] && n < max; k++)
		for (size_t i = 0; i < model_nsplits(m); i++)
			if (model_estimate(m, model_split_name(m, i), metric_order[k])) {
				keys[n++] = metric_order[k];
				break;
			}
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(model_split(m, model_split_name(m, i)), "metrics"), key, v) {
			int seen = 0;
			for (size_t k = 0; k < n && !seen; k++)
				seen = !strcmp(keys[k], key);
			if (!seen && n < max)
				keys[n++] = key;
		}
	}
	return n;
}

static void md_metric_table(const struct report_model *m, struct strbuf *sb)
{
	size_t ns = model_nsplits(m);
	sb_puts(sb, "| metric |");
	for (size_t i = 0; i < ns; i++)
		md_cell_text(sb, model_split_name(m, i));
	sb_puts(sb, "\n|---|");
	for (size_t i = 0; i < ns; i++)
		sb_puts(sb, "---|");
	sb_putc(sb, '\n');
	const char *keys[64];
	size_t nk = metric_keys(m, keys, 64);
	for (size_t k = 0; k < nk; k++) {
		int chosen = !strcmp(keys[k], m->metric);
		sb_puts(sb, chosen ? "| **" : "| ");
		fmt_metric(sb, keys[k], 1);
		sb_puts(sb, chosen ? "** (chosen) |" : " |");
		for (size_t i = 0; i < ns; i++)
			md_cell_est(sb, model_estimate(m, model_split_name(m, i), keys[k]));
		sb_putc(sb, '\n');
	}
	sb_puts(sb, "| rows |");
	for (size_t i = 0; i < ns; i++)
		md_cell_count(sb, json_object_get(model_split(m, model_split_name(m, i)), "rows"));
	sb_puts(sb, "\n\n");
}

static void md_per_class(const struct report_model *m, struct strbuf *sb)
{
	static const char *const cols[] = {"split", "class", "support", "precision", "recall", "F1"};
	int head = 0;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *split = model_split_name(m, i);
		const json_t *pc = json_object_get(model_split(m, split), "per_class");
		/* with many classes the train rows only lengthen the page: they are in summary.json */
		if (json_array_size(pc) > PER_CLASS_TRAIN_MAX && !strcmp(split, "train"))
			continue;
		for (size_t k = 0; k < json_array_size(pc); k++) {
			const json_t *c = json_array_get(pc, k);
			if (!head++) {
				sb_puts(sb, "### Per class\n\n");
				md_table_head(sb, cols, 6);
			}
			sb_putc(sb, '|');
			md_cell_text(sb, split);
			md_cell_text(sb, str_of(json_object_get(c, "class")));
			md_cell_count(sb, json_object_get(c, "support"));
			md_cell_est(sb, json_object_get(c, "precision"));
			md_cell_est(sb, json_object_get(c, "recall"));
			md_cell_est(sb, json_object_get(c, "f1"));
			sb_putc(sb, '\n');
		}
	}
	if (head)
		sb_putc(sb, '\n');
}

static void md_confusion(const struct report_model *m, struct strbuf *sb, const char *split)
{
	const json_t *conf = json_object_get(model_split(m, split), "confusion");
	const json_t *classes = json_object_get(conf, "classes"), *matrix = json_object_get(conf, "matrix");
	size_t k = json_array_size(classes);
	if (k < 2 || json_array_size(matrix) != k)
		return;
	sb_puts(sb, "### Confusion matrix on ");
	escape_md(sb, split);
	if (k > CONFUSION_MAX) {
		sb_printf(sb, "\n\n%zu classes: too many for a table here; see summary.json.\n\n", k);
		return;
	}
	sb_puts(sb, "\n\nRows: true class; columns: predicted class.\n\n| true \\\\ predicted |");
	for (size_t p = 0; p < k; p++)
		md_cell_text(sb, str_of(json_array_get(classes, p)));
	sb_puts(sb, "\n|---|");
	for (size_t p = 0; p < k; p++)
		sb_puts(sb, "---|");
	sb_putc(sb, '\n');
	for (size_t t = 0; t < k; t++) {
		sb_puts(sb, "| **");
		escape_md(sb, str_of(json_array_get(classes, t)));
		sb_puts(sb, "** |");
		const json_t *row = json_array_get(matrix, t);
		for (size_t p = 0; p < k; p++)
			md_cell_count(sb, json_array_get(row, p));
		sb_putc(sb, '\n');
	}
	sb_putc(sb, '\n');
}

static void md_segments(const struct report_model *m, struct strbuf *sb)
{
	const json_t *segs = json_object_get(m->metrics, "segments");
	size_t n = json_array_size(segs);
	sb_puts(sb, "### Segments\n\n");
	if (!n) {
		sb_puts(sb, "No segment columns were configured.\n\n");
		return;
	}
	sb_puts(sb, "Each segment value against the rest of its split; q is the Benjamini-Hochberg adjusted p-value.\n\n");
	sb_puts(sb, "| split | segment | rows | ");
	fmt_metric(sb, m->metric, 1);
	sb_puts(sb, " | rest of split | q-value | weak |\n|---|---|---|---|---|---|---|\n");
	/* weak values first when the table must be cut: they are the point */
	size_t shown = 0, weak = 0;
	for (size_t i = 0; i < n; i++)
		weak += json_is_true(json_object_get(json_array_get(segs, i), "weak"));
	size_t budget_other = weak >= SEGMENT_ROWS_MAX ? 0 : SEGMENT_ROWS_MAX - weak;
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(segs, i);
		int is_weak = json_is_true(json_object_get(s, "weak"));
		if (!is_weak) {
			if (budget_other == 0)
				continue;
			budget_other--;
		} else if (shown >= SEGMENT_ROWS_MAX)
			continue;
		shown++;
		sb_putc(sb, '|');
		md_cell_text(sb, str_of(json_object_get(s, "split")));
		sb_putc(sb, ' ');
		escape_md(sb, str_of(json_object_get(s, "column")));
		sb_puts(sb, "\\=");
		escape_md(sb, str_of(json_object_get(s, "value")));
		sb_puts(sb, " |");
		md_cell_count(sb, json_object_get(s, "rows"));
		md_cell_est(sb, json_object_get(json_object_get(s, "metrics"), m->metric));
		md_cell_est(sb, json_object_get(json_object_get(s, "rest"), m->metric));
		sb_putc(sb, ' ');
		const json_t *q = json_object_get(s, "q_value");
		if (json_is_number(q))
			fmt_p(sb, json_number_value(q));
		else
			sb_puts(sb, "not tested");
		sb_puts(sb, is_weak ? " | **weak** |\n" : " | |\n");
	}
	sb_putc(sb, '\n');
	if (shown < n)
		sb_printf(sb, "%zu more segment values are on the Segments sheet of report.xlsx.\n\n", n - shown);
}

static void md_confident_errors(const struct report_model *m, struct strbuf *sb)
{
	static const char *const cols[] = {"split", "row", "id", "true", "predicted", "confidence"};
	int head = 0;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *split = model_split_name(m, i);
		if (!strcmp(split, "train"))
			continue;
		const json_t *list = json_object_get(model_split(m, split), "confident_errors");
		for (size_t k = 0; k < json_array_size(list) && k < CONFIDENT_ROWS; k++) {
			const json_t *e = json_array_get(list, k);
			if (!head++) {
				sb_puts(sb, "### Confident errors\n\nWrong predictions made with the highest confidence (top 10 per split).\n\n");
				md_table_head(sb, cols, 6);
			}
			sb_putc(sb, '|');
			md_cell_text(sb, split);
			md_cell_count(sb, json_object_get(e, "row"));
			md_cell_text(sb, str_of(json_object_get(e, "id")));
			md_cell_text(sb, str_of(json_object_get(e, "true")));
			md_cell_text(sb, str_of(json_object_get(e, "predicted")));
			const json_t *c = json_object_get(e, "confidence");
			if (json_is_number(c))
				sb_printf(sb, " %.3f |\n", json_number_value(c));
			else
				sb_puts(sb, " n/a |\n");
		}
	}
	if (head)
		sb_putc(sb, '\n');
}

static void put_number_or_est(struct strbuf *sb, const json_t *v)
{
	if (json_is_object(v))
		fmt_est(sb, v, 1);
	else if (json_is_number(v))
		sb_printf(sb, "%.3f", json_number_value(v));
	else
		sb_puts(sb, "n/a");
}

static void md_threshold(const struct report_model *m, struct strbuf *sb)
{
	const json_t *t = json_object_get(m->metrics, "threshold");
	sb_puts(sb, "**Decision threshold:** ");
	if (!json_is_object(t)) {
		sb_puts(sb, "not analysed (it applies to a binary task with probabilities and a threshold-dependent metric).\n\n");
		return;
	}
	const json_t *at = json_object_get(t, "at"), *best = json_object_get(t, "best");
	sb_puts(sb, "at ");
	put_number_or_est(sb, at);
	sb_puts(sb, " the ");
	escape_md(sb, str_of(json_object_get(t, "split")));
	sb_putc(sb, ' ');
	fmt_metric(sb, str_of(json_object_get(t, "metric")), 1);
	sb_puts(sb, " is ");
	put_number_or_est(sb, json_object_get(t, "value_at"));
	sb_puts(sb, "; the best threshold");
	const char *on = json_string_value(json_object_get(t, "chosen_on"));
	if (on) {
		sb_puts(sb, " (chosen on ");
		escape_md(sb, on);
		sb_putc(sb, ')');
	}
	sb_puts(sb, ", ");
	put_number_or_est(sb, best);
	sb_puts(sb, ", gives ");
	put_number_or_est(sb, json_object_get(t, "value_best"));
	sb_puts(sb, ".\n\n");
}

static void md_step1(const struct report_model *m, struct strbuf *sb)
{
	if (m->plot_note) {
		sb_putc(sb, '*');
		escape_md(sb, m->plot_note);
		sb_puts(sb, "*\n\n");
	}
	md_put_plot(m, sb, PLOT_SPLITS, "chosen metric per split with 95% intervals");
	sb_puts(sb, "### Findings\n\n");
	if (!findings_table(m, sb, 1))
		sb_puts(sb, "No findings in this step.\n\n");
	sb_puts(sb, "### Metrics per split\n\n");
	md_metric_table(m, sb);
	md_per_class(m, sb);
	md_confusion(m, sb, "test");
	const char *cur = model_current_split(m);
	if (cur)
		md_confusion(m, sb, cur);
	md_put_plot(m, sb, PLOT_CONFUSION, "confusion matrix on test");
	md_segments(m, sb);
	md_put_plot(m, sb, PLOT_SEGMENTS, "chosen metric per segment value with 95% intervals");
	md_confident_errors(m, sb);
	sb_puts(sb, "### Calibration and threshold\n\n");
	md_put_plot(m, sb, PLOT_RELIABILITY, "reliability diagram");
	md_threshold(m, sb);
}

/* ---- step 2: findings, plus the missing-value signals of the profile ---- */

static double missing_rate(const json_t *quality_split, const char *column, int *found)
{
	const json_t *cols = json_object_get(quality_split, "columns");
	for (size_t i = 0; i < json_array_size(cols); i++) {
		const json_t *c = json_array_get(cols, i);
		if (!strcmp(str_of(json_object_get(c, "name")), column)) {
			*found = 1;
			const json_t *r = json_object_get(c, "missing_rate");
			return json_is_number(r) ? json_number_value(r) : NAN;
		}
	}
	*found = 0;
	return NAN;
}

/* quality.json's splits in metrics order, then any others */
static size_t quality_splits(const struct report_model *m, const char **names, size_t max)
{
	const json_t *qs = json_object_get(m->quality, "splits");
	size_t n = 0;
	for (size_t i = 0; i < model_nsplits(m) && n < max; i++)
		if (json_object_get(qs, model_split_name(m, i)))
			names[n++] = model_split_name(m, i);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)qs, key, v) {
		int seen = 0;
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(names[k], key);
		if (!seen && n < max)
			names[n++] = key;
	}
	return n;
}

static void md_missing_signals(const struct report_model *m, struct strbuf *sb)
{
	const char *splits[16];
	size_t ns = quality_splits(m, splits, 16);
	const json_t *qs = json_object_get(m->quality, "splits");
	if (!ns)
		return;
	/* columns with missing values anywhere, worst first */
	const json_t *cols = json_object_get(json_object_get(qs, splits[0]), "columns");
	size_t nc = json_array_size(cols);
	double *worst = xcalloc(nc ? nc : 1, sizeof *worst);
	size_t *order = xcalloc(nc ? nc : 1, sizeof *order);
	size_t nm = 0;
	for (size_t c = 0; c < nc; c++) {
		const char *name = str_of(json_object_get(json_array_get(cols, c), "name"));
		double w = 0;
		for (size_t s = 0; s < ns; s++) {
			int found;
			double r = missing_rate(json_object_get(qs, splits[s]), name, &found);
			if (found && r > w)
				w = r;
		}
		if (w > 0) {
			worst[c] = w;
			order[nm++] = c;
		}
	}
	for (size_t i = 1; i < nm; i++) /* insertion sort: a few dozen columns */
		for (size_t j = i; j > 0 && worst[order[j]] > worst[order[j - 1]]; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	sb_puts(sb, "### Data-quality signals\n\n");
	if (nm == 0)
		sb_puts(sb, "No missing values in any split.\n\n");
	else {
		sb_puts(sb, "Missing values per column and split (worst first):\n\n| column |");
		for (size_t s = 0; s < ns; s++)
			md_cell_text(sb, splits[s]);
		sb_puts(sb, "\n|---|");
		for (size_t s = 0; s < ns; s++)
			sb_puts(sb, "---|");
		sb_putc(sb, '\n');
		for (size_t i = 0; i < nm && i < MISSING_COLUMNS_MAX; i++) {
			const char *name = str_of(json_object_get(json_array_get(cols, order[i]), "name"));
			sb_putc(sb, '|');
			md_cell_text(sb, name);
			for (size_t s = 0; s < ns; s++) {
				int found;
				double r = missing_rate(json_object_get(qs, splits[s]), name, &found);
				if (found && !isnan(r))
					sb_printf(sb, " %.1f%% |", 100 * r);
				else
					sb_puts(sb, " absent |");
			}
			sb_putc(sb, '\n');
		}
		sb_putc(sb, '\n');
		if (nm > MISSING_COLUMNS_MAX)
			sb_printf(sb, "%zu more columns with missing values are in Appendix B.\n\n", nm - MISSING_COLUMNS_MAX);
	}
	sb_puts(sb, "Duplicate rows:");
	for (size_t s = 0; s < ns; s++) {
		sb_puts(sb, s ? ", " : " ");
		escape_md(sb, splits[s]);
		sb_putc(sb, ' ');
		const json_t *d = json_object_get(json_object_get(qs, splits[s]), "duplicate_rows");
		if (json_is_integer(d))
			fmt_count(sb, (long long)json_integer_value(d));
		else
			sb_puts(sb, "n/a");
	}
	sb_puts(sb, ".\n\n");
	free(worst);
	free(order);
}

static void md_step2(const struct report_model *m, struct strbuf *sb)
{
	size_t n = findings_table(m, sb, 2);
	if (m->has_rootcause)
		sections_slices(m, sb);
	md_missing_signals(m, sb);
	if (!m->has_rootcause)
		sb_printf(sb, "%s\n", missing_step2);
	else if (!n)
		sb_puts(sb, "No findings in this step.\n");
}

static void md_step3(const struct report_model *m, struct strbuf *sb)
{
	size_t n = findings_table(m, sb, 3);
	if (!m->has_rootcause) {
		sb_printf(sb, "%s\n", missing_step3);
		return;
	}
	if (!n)
		sb_puts(sb, "No root cause found among the causes tested.\n\n");
	sections_drift(m, sb);
	sections_labels(m, sb);
	sections_underrep(m, sb);
	sections_importance(m, sb);
	sections_points(m, sb);
}

/* "performance drop, error slice": the kinds of the findings a mitigation
 * addresses, each once, in its order (ids are in the workbook) */
static void addressed_kinds(const struct report_model *m, const json_t *addr, struct strbuf *sb)
{
	const char *seen[32];
	size_t ns = 0;
	for (size_t k = 0; k < json_array_size(addr); k++) {
		const char *id = str_of(json_array_get(addr, k));
		const char *kind = model_finding_kind(m, id);
		const char *show = kind ? kind : id;
		int dup = 0;
		for (size_t j = 0; j < ns && !dup; j++)
			dup = !strcmp(seen[j], show);
		if (dup)
			continue;
		if (ns < 32)
			seen[ns] = show;
		sb_puts(sb, ns++ ? ", " : "");
		char *words = xstrdup(show);
		for (char *c = words; kind && *c; c++)
			if (*c == '_')
				*c = ' ';
		escape_md(sb, words);
		free(words);
	}
}

static void md_step4(const struct report_model *m, struct strbuf *sb)
{
	size_t n = json_array_size(m->mitigations), measured = 0;
	if (n) {
		sb_puts(sb, "| # | action | what to do | addresses | measured on a probe |\n|---|---|---|---|---|\n");
		for (size_t i = 0; i < n; i++) {
			const json_t *mi = json_array_get(m->mitigations, i);
			sb_printf(sb, "| %zu |", i + 1);
			md_cell_text(sb, str_of(json_object_get(mi, "action")));
			md_cell_text(sb, str_of(json_object_get(mi, "text")));
			sb_putc(sb, ' ');
			addressed_kinds(m, json_object_get(mi, "addresses"), sb);
			sb_puts(sb, " | ");
			const json_t *eff = json_object_get(mi, "measured_effect");
			const json_t *gain = json_object_get(mi, "expected_gain");
			if (json_is_object(eff)) {
				fmt_effect(sb, eff, 1);
				const char *how = json_string_value(json_object_get(eff, "how"));
				if (how) {
					sb_puts(sb, " — ");
					escape_md(sb, how);
				}
				measured++;
			} else if (json_is_number(json_object_get(gain, "value"))) {
				sb_puts(sb, "not measured; estimate ");
				sb_printf(sb, "%+.3f ", json_number_value(json_object_get(gain, "value")));
				fmt_metric(sb, str_of(json_object_get(gain, "metric")), 1);
				const char *basis = json_string_value(json_object_get(gain, "basis"));
				if (basis) {
					sb_puts(sb, " (");
					escape_md(sb, basis);
					sb_putc(sb, ')');
				}
			} else
				sb_puts(sb, "not measured");
			sb_puts(sb, " |\n");
		}
		sb_putc(sb, '\n');
		if (measured)
			sb_puts(sb, "Measured: the chosen split's metric before and after, each with its 95% interval, and the "
				    "change with its own; how each was measured follows the dash. The finding ids each action "
				    "addresses are on the Mitigations sheet of report.xlsx.\n\n");
	}
	if (!m->has_mitigate)
		sb_printf(sb, "%s\n", missing_step4);
	else if (!n)
		sb_puts(sb, "No mitigation proposed.\n");
}

static const json_t *probe_metric(const json_t *probe, const char *split, const char *metric)
{
	return json_object_get(json_object_get(json_object_get(probe, "metrics"), split), metric);
}

static void md_encoding(const json_t *enc, struct strbuf *sb)
{
	long long w = json_integer_value(json_object_get(enc, "width"));
	sb_printf(sb, "**Encoding:** %lld input columns from %lld source columns: %lld numeric (standardised with the "
		  "train mean and standard deviation), %lld one-hot levels, %lld pooled '(other)' columns (rare and unseen "
		  "levels), %lld missing-value indicators. ",
		  w, (long long)json_integer_value(json_object_get(enc, "source_columns")),
		  (long long)json_integer_value(json_object_get(enc, "numeric")),
		  (long long)json_integer_value(json_object_get(enc, "levels")),
		  (long long)json_integer_value(json_object_get(enc, "pooled")),
		  (long long)json_integer_value(json_object_get(enc, "missing_indicators")));
	escape_md(sb, str_of(json_object_get(enc, "description")));
	sb_puts(sb, "\n\n");
}

static void md_probe_table(const struct report_model *m, const json_t *pj, struct strbuf *sb)
{
	const json_t *probes = json_object_get(pj, "probes");
	sb_puts(sb, "| probe | architecture | test ");
	fmt_metric(sb, m->metric, 1);
	sb_puts(sb, " | out-of-fold ");
	fmt_metric(sb, m->metric, 1);
	int acc_col = strcmp(m->metric, "accuracy") != 0;   /* accuracy beside another chosen metric */
	sb_puts(sb, acc_col ? " (train) | test accuracy | steps | stopped early |\n|---|---|---|---|---|---|---|\n"
			    : " (train) | steps | stopped early |\n|---|---|---|---|---|---|\n");
	const char *best = json_string_value(json_object_get(json_object_get(pj, "best"), "name"));
	for (size_t i = 0; i < json_array_size(probes); i++) {
		const json_t *p = json_array_get(probes, i);
		const char *name = str_of(json_object_get(p, "name"));
		int is_best = best && !strcmp(best, name);
		sb_puts(sb, is_best ? "| **" : "| ");
		escape_md(sb, name);
		sb_puts(sb, is_best ? "** (best) |" : " |");
		md_cell_text(sb, str_of(json_object_get(p, "architecture")));
		md_cell_est(sb, probe_metric(p, "test", m->metric));
		md_cell_est(sb, probe_metric(p, "train", m->metric));
		if (acc_col)
			md_cell_est(sb, probe_metric(p, "test", "accuracy"));
		md_cell_count(sb, json_object_get(p, "steps"));
		if (json_is_true(json_object_get(p, "stopped_early")))
			sb_printf(sb, " yes (best validation loss at step %lld) |\n",
				  (long long)json_integer_value(json_object_get(p, "best_step")));
		else
			sb_puts(sb, " no |\n");
	}
	sb_putc(sb, '\n');
}

static void md_baseline(const struct report_model *m, const json_t *pj, struct strbuf *sb)
{
	const json_t *base = json_object_get(pj, "baseline");
	const json_t *bm = json_object_get(base, "metrics");
	sb_puts(sb, "**Majority baseline:** always predicting '");
	escape_md(sb, str_of(json_object_get(base, "class")));
	sb_printf(sb, "' (%.1f%% of train) scores accuracy ", 100 * json_number_value(json_object_get(base, "train_share")));
	int first = 1;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)bm, key, v) {
		sb_puts(sb, first ? "" : ", ");
		fmt_est(sb, json_object_get(v, "accuracy"), 1);
		sb_puts(sb, " on ");
		escape_md(sb, key);
		first = 0;
	}
	if (strcmp(m->metric, "accuracy") && json_object_get(bm, "test")) {
		sb_puts(sb, "; ");
		fmt_metric(sb, m->metric, 1);
		sb_puts(sb, " on test ");
		fmt_est(sb, json_object_get(json_object_get(bm, "test"), m->metric), 1);
	}
	sb_puts(sb, ". ");
	const json_t *uc = json_object_get(pj, "unlearnable_check");
	if (json_is_object(uc)) {
		sb_puts(sb, json_is_true(json_object_get(uc, "any_beats"))
				    ? "At least one probe beats it beyond the 95% interval of the paired gain (in accuracy or log loss) on "
				    : "**No probe beats it** beyond the 95% interval of the paired gain (in accuracy or log loss) on ");
		escape_md(sb, str_of(json_object_get(uc, "split")));
		sb_puts(sb, ".");
	}
	sb_puts(sb, "\n\n");
}

/* ---- the seed's training checks (probes/sanity.json) ---- */

static double num_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "- **Check:** advice *Numbers.*": the check's own advice is the line to
 * act on (checks.c); a bad verdict leads in bold */
static void md_check_line(const struct check_line *c, void *arg)
{
	struct strbuf *sb = arg;
	sb_printf(sb, "- **%s:** ", c->name);
	if (c->alarm) {
		sb_puts(sb, "**");
		escape_md(sb, c->verdict.data);
		sb_puts(sb, "**. ");
	}
	escape_md(sb, c->advice.data);
	if (c->numbers.len) {
		/* in italics: measurements, set apart from what to do */
		sb_puts(sb, " *");
		escape_md(sb, c->numbers.data);
		if (c->numbers.data[c->numbers.len - 1] != '.')
			sb_puts(sb, "\\.");
		sb_putc(sb, '*');
	}
	sb_puts(sb, "\n");
}

/* The seed's last step of the search: its best and the default, each trained
 * on the full train rows until the training loss stopped improving, side by
 * side, then their paired difference on the held-out rows. */
static void md_hpo_final(const json_t *s, struct strbuf *sb)
{
	const json_t *f = checks_final(s);
	if (!f)
		return;
	sb_puts(sb, "**The search's best on the full train set.** It and the default each trained on ");
	fmt_count(sb, (long long)json_integer_value(json_object_get(f, "train_rows")));
	sb_printf(sb, " rows until its training loss (mean over an epoch) had not improved on its best by %.2g%% for "
		      "%lld epochs in a row, or for at most %lld epochs; scored on ", 100 * num_at(f, "min_rel_improvement"),
		  (long long)json_integer_value(json_object_get(f, "patience")),
		  (long long)json_integer_value(json_object_get(f, "max_epochs")));
	fmt_count(sb, (long long)json_integer_value(json_object_get(f, "val_rows")));
	sb_puts(sb, " held-out rows.\n\n");
	static const char *const cols[] = {"run", "setting", "epochs (steps)", "stopped by", "training loss",
					   "training accuracy", "validation loss", "validation accuracy",
					   "lowest validation loss (epoch)"};
	md_table_head(sb, cols, sizeof cols / sizeof cols[0]);
	static const char *const runs[][2] = {{"best", "search's best"}, {"default", "default"}};
	struct strbuf t;
	sb_init(&t);
	for (size_t i = 0; i < 2; i++) {
		const json_t *r = json_object_get(f, runs[i][0]), *fit = json_object_get(r, "fit");
		sb_printf(sb, "| %s |", runs[i][1]);
		t.len = 0;
		t.data[0] = 0;
		checks_setting(&t, r);
		md_cell_text(sb, t.data);
		sb_printf(sb, " %lld (", (long long)json_integer_value(json_object_get(r, "epochs")));
		fmt_count(sb, (long long)json_integer_value(json_object_get(r, "steps")));
		sb_puts(sb, ") |");
		t.len = 0;
		t.data[0] = 0;
		checks_stop(&t, f, r);
		md_cell_text(sb, t.data);
		sb_printf(sb, " %.3f | %.1f%% | %.3f | %.1f%% | %.3f (%lld) |\n", num_at(fit, "train_loss"),
			  100 * num_at(fit, "train_acc"), num_at(fit, "val_loss"), 100 * num_at(fit, "val_acc"),
			  num_at(r, "lowest_val_loss"), (long long)json_integer_value(json_object_get(r, "lowest_val_epoch")));
	}
	sb_free(&t);
	const json_t *d = json_object_get(f, "difference");
	double v = num_at(d, "value"), lo = num_at(d, "ci_low"), hi = num_at(d, "ci_high");
	sb_puts(sb, "\nValidation loss of the search's best minus the default's, paired by held-out row: ");
	if (isfinite(v) && isfinite(lo) && isfinite(hi))
		sb_printf(sb, "**%.3f** (95%% CI %.3f to %.3f, %lld rows): %s.\n\n", v, lo, hi,
			  (long long)json_integer_value(json_object_get(d, "n")),
			  hi < 0 ? "below 0, the search's best has the lower loss"
			  : lo > 0 ? "above 0, the default has the lower loss"
			  : "the interval includes 0, no difference is shown");
	else {
		fmt_est(sb, d, 1);
		sb_puts(sb, ".\n\n");
	}
}

static void md_sanity(const struct report_model *m, struct strbuf *sb)
{
	const json_t *s = m->sanity;
	if (!s) {
		sb_puts(sb, "\nThe seed's training checks did not run in this run (no probes/sanity.json).\n");
		return;
	}
	if (json_is_string(json_object_get(s, "skipped")))
		return;   /* said above: no probe was trained */
	sb_puts(sb, "### Training checks\n\n");
	sb_printf(sb, "The seed's checks for whether a model of this kind can learn these data, and how to train it "
		      "(`probes = %s`), on ", str_of(json_object_get(s, "level")));
	fmt_count(sb, (long long)json_integer_value(json_object_get(s, "rows")));
	sb_puts(sb, " encoded train rows");
	if (json_is_true(json_object_get(s, "subsampled"))) {
		sb_puts(sb, " (a seeded subsample of ");
		fmt_count(sb, (long long)json_integer_value(json_object_get(s, "train_rows")));
		sb_puts(sb, ")");
	}
	sb_printf(sb, ", 20%% of them held out for validation, batch %lld. Each line is the check's own advice; rules, "
		      "thresholds and every number are in probes/sanity.json.\n\n",
		  (long long)json_integer_value(json_object_get(s, "batch")));
	checks_each(s, md_check_line, sb);
	if (!json_object_get(s, "optimizers"))
		sb_puts(sb, "- Optimizers, regularisation, capacity, gradient health, hyper-parameter search and "
			    "distillation run at `probes = standard` and above.\n");
	sb_puts(sb, "\n");
	md_put_plot(m, sb, PLOT_LR, "learning-rate range test");
	md_put_plot(m, sb, PLOT_OPTIM, "steps to the target loss per optimizer and schedule");
	md_hpo_final(s, sb);
	md_put_plot(m, sb, PLOT_HPO, "best score so far against trials for grid, random and Bayesian search");
}

static void md_probes(const struct report_model *m, struct strbuf *sb)
{
	size_t n = findings_table(m, sb, 0);
	if (!m->has_probes) {
		sb_printf(sb, "%s\n", missing_probes);
		return;
	}
	const json_t *pj = m->probes;
	sb_puts(sb, "**Backend:** ");
	escape_md(sb, str_of(json_object_get(pj, "backend_note")));
	sb_puts(sb, ".\n\n");
	const char *skipped = json_string_value(json_object_get(pj, "skipped"));
	if (skipped) {
		sb_puts(sb, "No probe was trained: ");
		escape_md(sb, skipped);
		sb_puts(sb, ".\n");
		return;
	}
	const json_t *b = json_object_get(pj, "budget");
	sb_puts(sb, "**Budget:** `probes = ");
	escape_md(sb, str_of(json_object_get(b, "level")));
	sb_printf(sb, "`: %lld probes in one batched job (%lld folds of each reference probe, each blind to its fold, "
		      "plus each trained on all rows), on ",
		  (long long)json_integer_value(json_object_get(b, "probes_trained")),
		  (long long)json_integer_value(json_object_get(b, "folds")));
	fmt_count(sb, (long long)json_integer_value(json_object_get(b, "trained_rows")));
	sb_puts(sb, " train rows");
	if (json_is_true(json_object_get(b, "subsampled"))) {
		sb_puts(sb, " — **subsampled**: ");
		escape_md(sb, str_of(json_object_get(b, "note")));
	}
	sb_printf(sb, ". Adam, L2 1e-4, batch %lld, at most %lld epochs; the MLPs stop early on a 10%% validation share of "
		      "their training rows, softmax regression (convex) runs every step with a cosine learning-rate decay.\n\n",
		  (long long)json_integer_value(json_object_get(b, "batch_size")),
		  (long long)json_integer_value(json_object_get(b, "max_epochs")));
	md_encoding(json_object_get(pj, "encoding"), sb);
	sb_puts(sb, "### Reference probes\n\n");
	md_probe_table(m, pj, sb);
	sb_puts(sb, "The best probe is chosen on the out-of-fold ");
	fmt_metric(sb, m->metric, 1);
	sb_puts(sb, " on train; out-of-fold probabilities for every train row are in probes/oof.csv.gz.\n\n");
	md_baseline(m, pj, sb);
	md_put_plot(m, sb, PLOT_CURVES, "training and validation loss of each reference probe");
	if (!n)
		sb_puts(sb, "The curves (with gradient and weight norms) and numbers are in probes/probes.json.\n");
	md_sanity(m, sb);
}

/* ---- appendix B: data profile ---- */

static void profile_range(struct strbuf *sb, const json_t *c)
{
	const json_t *top = json_object_get(c, "top");
	if (json_is_array(top)) {
		for (size_t i = 0; i < json_array_size(top) && i < TOP_CATEGORIES; i++) {
			const json_t *t = json_array_get(top, i);
			sb_puts(sb, i ? ", " : "");
			escape_md(sb, str_of(json_object_get(t, "value")));
			sb_puts(sb, " (");
			const json_t *cnt = json_object_get(t, "count");
			fmt_count(sb, json_is_integer(cnt) ? (long long)json_integer_value(cnt) : 0);
			sb_putc(sb, ')');
		}
		return;
	}
	const json_t *mn = json_object_get(c, "min"), *mean = json_object_get(c, "mean"), *mx = json_object_get(c, "max");
	if (!json_is_number(mn) && !json_is_number(mx)) {
		sb_puts(sb, "n/a");
		return;
	}
	const json_t *v[3] = {mn, mean, mx};
	for (int i = 0; i < 3; i++) {
		sb_puts(sb, i ? " / " : "");
		if (json_is_number(v[i]))
			sb_printf(sb, "%.4g", json_number_value(v[i]));
		else
			sb_puts(sb, "n/a");
	}
}

static void md_profile(const struct report_model *m, struct strbuf *sb)
{
	static const char *const cols[] = {"column", "type", "role", "missing", "distinct",
					   "min / mean / max, or top values"};
	const char *splits[16];
	size_t ns = quality_splits(m, splits, 16);
	const json_t *qs = json_object_get(m->quality, "splits");
	for (size_t s = 0; s < ns; s++) {
		const json_t *q = json_object_get(qs, splits[s]);
		sb_puts(sb, "### ");
		escape_md(sb, splits[s]);
		sb_puts(sb, "\n\n");
		const json_t *rows = json_object_get(q, "rows");
		if (json_is_integer(rows)) {
			fmt_count(sb, (long long)json_integer_value(rows));
			sb_puts(sb, " rows");
		}
		const json_t *dup = json_object_get(q, "duplicate_rows");
		if (json_is_integer(dup)) {
			sb_puts(sb, ", ");
			fmt_count(sb, (long long)json_integer_value(dup));
			sb_puts(sb, " duplicate rows");
		}
		const json_t *constant = json_object_get(q, "constant_columns");
		if (json_array_size(constant)) {
			sb_puts(sb, "; constant columns: ");
			for (size_t i = 0; i < json_array_size(constant); i++) {
				sb_puts(sb, i ? ", " : "");
				escape_md(sb, str_of(json_array_get(constant, i)));
			}
		}
		sb_puts(sb, ".\n\n");
		const json_t *cl = json_object_get(q, "columns");
		if (!json_array_size(cl))
			continue;
		md_table_head(sb, cols, 6);
		for (size_t i = 0; i < json_array_size(cl); i++) {
			const json_t *c = json_array_get(cl, i);
			sb_putc(sb, '|');
			md_cell_text(sb, str_of(json_object_get(c, "name")));
			md_cell_text(sb, str_of(json_object_get(c, "type")));
			md_cell_text(sb, str_of(json_object_get(c, "role")));
			const json_t *mr = json_object_get(c, "missing_rate");
			if (json_is_number(mr))
				sb_printf(sb, " %.1f%% |", 100 * json_number_value(mr));
			else
				sb_puts(sb, " n/a |");
			md_cell_count(sb, json_object_get(c, "distinct"));
			sb_putc(sb, ' ');
			profile_range(sb, c);
			sb_puts(sb, " |\n");
		}
		sb_putc(sb, '\n');
	}
}

/* ---- appendix C: thresholds, versions, configuration ---- */

static int is_threshold_key(const char *key)
{
	return strstr(key, "threshold") || !strncmp(key, "min_", 4) || !strncmp(key, "max_", 4) ||
	       !strcmp(key, "alpha") || !strcmp(key, "tests_in_family");
}

static void md_thresholds(const struct report_model *m, struct strbuf *sb)
{
	sb_puts(sb, "### Thresholds the findings used\n\n");
	/* one line per kind: the thresholds are constants of the analysis */
	struct strbuf seen;
	sb_init(&seen);
	sb_putc(&seen, '\n');
	size_t lines = 0;
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		const char *kind = str_of(json_object_get(f, "kind"));
		struct strbuf line;
		sb_init(&line);
		const char *key;
		json_t *v;
		size_t items = 0;
		json_object_foreach(json_object_get(f, "evidence"), key, v) {
			if (!is_threshold_key(key) || !json_is_number(v))
				continue;
			sb_puts(&line, items++ ? " · " : "");
			char *label = xstrdup(key);
			for (char *c = label; *c; c++)
				if (*c == '_')
					*c = ' ';
			escape_md(&line, label);
			free(label);
			sb_printf(&line, " %g", json_number_value(v));
		}
		struct strbuf tag;
		sb_init(&tag);
		sb_printf(&tag, "\n%s\t%s\n", kind, line.data ? line.data : "");
		if (items && !strstr(seen.data, tag.data)) {
			sb_puts(&seen, tag.data + 1);
			sb_puts(sb, "- ");
			escape_md(sb, kind);
			sb_puts(sb, ": ");
			sb_puts(sb, line.data);
			sb_putc(sb, '\n');
			lines++;
		}
		sb_free(&tag);
		sb_free(&line);
	}
	sb_free(&seen);
	sb_puts(sb, lines ? "\n" : "No finding of this run reported a threshold in its evidence.\n\n");
}

static void config_value(struct strbuf *sb, const json_t *v)
{
	if (json_is_string(v))
		escape_md(sb, json_string_value(v));
	else if (json_is_integer(v))
		sb_printf(sb, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sb_printf(sb, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		sb_puts(sb, json_is_true(v) ? "yes" : "no");
	else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			sb_puts(sb, i ? ", " : "");
			config_value(sb, json_array_get(v, i));
		}
		if (!json_array_size(v))
			sb_puts(sb, "(none)");
	} else
		sb_puts(sb, "(not set)");
}

static void md_versions(const struct report_model *m, struct strbuf *sb)
{
	sb_puts(sb, "### Versions\n\n| item | version or value |\n|---|---|\n");
	sb_printf(sb, "| tool | mlaudit %s |\n| run | ", MLA_VERSION);
	escape_md(sb, m->run_id);
	const char *started = json_string_value(json_object_get(m->run, "started"));
	if (started) {
		sb_puts(sb, ", started ");
		escape_md(sb, started);
	}
	sb_puts(sb, " |\n| backend | ");
	escape_md(sb, m->backend);
	sb_printf(sb, " |\n| libraries | jansson %s, cmark-gfm %s, libxlsxwriter %s, gnuplot (system) |\n",
		  JANSSON_VERSION, cmark_version_string(), LXW_VERSION);
	const json_t *stages = json_object_get(m->run, "stages");
	if (json_array_size(stages)) {
		sb_puts(sb, "| stages before the report |");
		for (size_t i = 0; i < json_array_size(stages); i++) {
			const json_t *st = json_array_get(stages, i);
			sb_puts(sb, i ? "," : "");
			sb_putc(sb, ' ');
			escape_md(sb, str_of(json_object_get(st, "name")));
			const json_t *secs = json_object_get(st, "seconds");
			if (json_is_number(secs))
				sb_printf(sb, " %.2f s", json_number_value(secs));
			const char *status = json_string_value(json_object_get(st, "status"));
			if (status) {
				sb_puts(sb, " (");
				escape_md(sb, status);
				const char *from = json_string_value(json_object_get(st, "reused_from"));
				if (from) {
					sb_puts(sb, " from ");
					escape_md(sb, from);
				}
				sb_putc(sb, ')');
			}
		}
		sb_puts(sb, " |\n");
	}
	sb_putc(sb, '\n');

	const json_t *cfg = json_object_get(m->run, "config");
	if (json_object_size(cfg)) {
		sb_puts(sb, "### Configuration\n\n| key | value |\n|---|---|\n");
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)cfg, key, v) {
			sb_putc(sb, '|');
			md_cell_text(sb, key);
			sb_putc(sb, ' ');
			config_value(sb, v);
			sb_puts(sb, " |\n");
		}
		sb_putc(sb, '\n');
	}
}

/* ---- assembly ---- */

int markdown_build(const struct report_model *m, struct strbuf *out)
{
	enum { V_TITLE, V_HEADLINE, V_TABLE, V_CONTEXT, V_SCEN, V_S1, V_S2, V_S3, V_S4, V_PROBES, V_DATA, V_METHODS, V_N };
	struct strbuf parts[V_N];
	for (int i = 0; i < V_N; i++)
		sb_init(&parts[i]);
	fmt_title(m, &parts[V_TITLE], 1);
	md_headline(m, &parts[V_HEADLINE]);
	fmt_overview_table(m, &parts[V_TABLE]);
	md_context(m, &parts[V_CONTEXT]);
	md_scenarios(m, &parts[V_SCEN]);
	md_step1(m, &parts[V_S1]);
	md_step2(m, &parts[V_S2]);
	md_step3(m, &parts[V_S3]);
	md_step4(m, &parts[V_S4]);
	md_probes(m, &parts[V_PROBES]);
	md_profile(m, &parts[V_DATA]);
	md_thresholds(m, &parts[V_METHODS]);
	md_versions(m, &parts[V_METHODS]);

	const struct tmpl_var vars[] = {
		{"title", parts[V_TITLE].data}, {"headline", parts[V_HEADLINE].data},
		{"overview_table", parts[V_TABLE].data}, {"context", parts[V_CONTEXT].data},
		{"scenarios", parts[V_SCEN].data}, {"step1", parts[V_S1].data}, {"step2", parts[V_S2].data},
		{"step3", parts[V_S3].data}, {"step4", parts[V_S4].data},
		{"appendix_probes", parts[V_PROBES].data}, {"appendix_data", parts[V_DATA].data},
		{"appendix_methods", parts[V_METHODS].data},
	};
	char *tmpl = tmpl_load("report.md");
	int rc = tmpl ? tmpl_render("report.md", tmpl, vars, sizeof vars / sizeof vars[0], out) : -1;
	free(tmpl);
	for (int i = 0; i < V_N; i++)
		sb_free(&parts[i]);
	return rc;
}
