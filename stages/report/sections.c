/* sections.c - the parts of steps 2 and 3 that show the root-cause analyses
 * themselves (rootcause/analysis.json and drift.csv), not only their findings:
 * error slices and the error tree, drift per feature and across features with
 * the covariate-shift split of a drop, label noise and label shift,
 * under-represented slices, feature importance and its shift, and the most
 * confident errors one by one.
 *
 * Each section is a few lines of our own words around a table, and a plot
 * where a reader would rather look than read. An analysis that did not run
 * says so in one line, with its own reason when it gave one. Every
 * data-derived string goes through escape_md (md_cell_text, fmt_text). */
#include "model.h"
#include "escape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLICES_PER_SPLIT 10     /* error slices listed per split */
#define DRIFT_ROWS_PER_SPLIT 5  /* features in the drift table per split, besides the drifted ones */
#define IMPORTANCE_ROWS 15      /* features in the importance table */
#define POINT_CONTRIBUTIONS 3   /* attributions shown per point */
#define TREE_TABLE_DEPTH 3

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static double num_of(const json_t *j)
{
	return json_is_number(j) ? json_number_value(j) : NAN;
}

static double est_value(const json_t *est)
{
	return num_of(json_object_get(est, "value"));
}

/* "### Title\n\n" then, when the analysis did not run, the one line that says so */
static const json_t *section_start(const struct report_model *m, struct strbuf *sb, const char *title,
				   const char *key, const char *what)
{
	const char *why = NULL;
	const json_t *a = model_analysis(m, key, &why);
	sb_printf(sb, "### %s\n\n", title);
	if (!a) {
		sb_printf(sb, "%s did not run: ", what);
		escape_md(sb, why);
		size_t n = sb->len;
		if (n && sb->data[n - 1] != '.')
			sb_putc(sb, '.');
		sb_puts(sb, "\n\n");
	} else if (why) {
		/* it ran for some splits and says which it left out */
		sb_puts(sb, "*Not every split: ");
		escape_md(sb, why);
		sb_puts(sb, "*\n\n");
	}
	return a;
}

static void pct(struct strbuf *sb, double x)
{
	if (!isfinite(x))
		sb_puts(sb, "n/a");
	else if (x > 0 && x < 0.001)
		sb_puts(sb, "<0.1%");
	else
		sb_printf(sb, "%.1f%%", 100 * x);
}

/* ---- step 2: error slices and the error tree ---- */

static void slices_table(const json_t *listed, struct strbuf *sb)
{
	static const char *const cols[] = {"split", "slice", "rows", "error rate", "vs rest", "share of errors",
					   "q-value"};
	md_table_head(sb, cols, 7);
	size_t i, per = 0;
	const json_t *s;
	const char *last = NULL;
	json_array_foreach(listed, i, s) {
		const char *split = str_of(json_object_get(s, "split"));
		per = last && !strcmp(last, split) ? per + 1 : 0;
		last = split;
		if (per >= SLICES_PER_SPLIT)
			continue;
		sb_putc(sb, '|');
		md_cell_text(sb, split);
		md_cell_text(sb, str_of(json_object_get(s, "slice")));
		md_cell_count(sb, json_object_get(s, "rows"));
		md_cell_est(sb, json_object_get(s, "error_rate"));
		double ratio = num_of(json_object_get(s, "ratio"));
		double rest = est_value(json_object_get(s, "rest_error_rate"));
		if (isfinite(ratio))
			sb_printf(sb, " ×%.1f", ratio);
		else
			sb_puts(sb, " n/a");
		if (isfinite(rest))
			sb_printf(sb, " (rest %.3f)", rest);
		sb_puts(sb, " | ");
		pct(sb, num_of(json_object_get(s, "share_of_errors")));
		sb_puts(sb, " | ");
		const json_t *q = json_object_get(s, "q_value");
		if (json_is_number(q))
			fmt_p(sb, json_number_value(q));
		else
			sb_puts(sb, "n/a");
		sb_puts(sb, " |\n");
	}
	sb_putc(sb, '\n');
}

/* The error tree as a nested table: one row per node, indented by depth. */
static void tree_table(const json_t *nodes, struct strbuf *sb, double total_errors)
{
	static const char *const cols[] = {"node", "rows", "error rate", "share of the split's errors"};
	md_table_head(sb, cols, 4);
	size_t i;
	const json_t *n;
	json_array_foreach(nodes, i, n) {
		long long depth = json_integer_value(json_object_get(n, "depth"));
		if (depth > TREE_TABLE_DEPTH)
			continue;
		sb_puts(sb, "| ");
		/* em spaces indent without markdown meaning; └ marks a child */
		for (long long d = 1; d < depth; d++)
			sb_puts(sb, "\u2003\u2003");
		if (depth > 0)
			sb_puts(sb, "└ ");
		escape_md(sb, str_of(json_object_get(n, "condition")));
		sb_puts(sb, " |");
		md_cell_count(sb, json_object_get(n, "rows"));
		double er = num_of(json_object_get(n, "error_rate")), errs = num_of(json_object_get(n, "errors"));
		sb_printf(sb, " %s%.3f%s | ", json_is_true(json_object_get(n, "leaf")) ? "**" : "", er,
			  json_is_true(json_object_get(n, "leaf")) ? "**" : "");
		pct(sb, total_errors > 0 ? errs / total_errors : NAN);
		sb_puts(sb, " |\n");
	}
	sb_putc(sb, '\n');
}

void sections_slices(const struct report_model *m, struct strbuf *sb)
{
	const json_t *a = section_start(m, sb, "Error slices", "slices", "The error-slice search");
	if (!a)
		return;
	const json_t *listed = json_object_get(a, "listed");
	const json_t *tests = json_object_get(a, "tests");
	if (!json_array_size(listed))
		sb_puts(sb, "No slice errs significantly more than the rest of its split");
	else
		sb_puts(sb, "Regions where the model errs more than on the rest of its split, each with its 95% interval, "
			    "ranked by effect size; overlapping slices are listed once");
	if (json_is_integer(tests)) {
		sb_puts(sb, " (");
		fmt_count(sb, (long long)json_integer_value(tests));
		sb_puts(sb, " slices tested, Benjamini-Hochberg)");
	}
	sb_puts(sb, ". The method is in rootcause/analysis.json; every slice tested is in rootcause/slices.csv.\n\n");
	if (json_array_size(listed)) {
		slices_table(listed, sb);
		md_put_plot(m, sb, PLOT_SLICES, "error rate of each slice with 95% intervals against its split's rate");
	}

	/* the error tree: drawn for one split, the other as a nested table */
	const json_t *trees = json_object_get(a, "trees");
	if (!json_object_size(trees))
		return;
	const char *drawn = m->plot_png[PLOT_TREE] ? plots_tree_split(m) : NULL;
	sb_puts(sb, "### Error tree\n\n");
	sb_puts(sb, "A shallow decision tree fitted to where the model errs: each node is a condition on one feature, "
		    "its rows, its error rate and its share of the split's errors; the leaves are the regions above.\n\n");
	const char *split;
	const json_t *nodes;
	json_object_foreach((json_t *)trees, split, nodes) {
		if (!json_array_size(nodes))
			continue;
		double total = num_of(json_object_get(json_array_get(nodes, 0), "errors"));
		if (drawn && !strcmp(split, drawn)) {
			sb_puts(sb, "On ");
			escape_md(sb, split);
			sb_puts(sb, " (darker: higher error rate):\n\n");
			md_put_plot(m, sb, PLOT_TREE, "error tree");
			continue;
		}
		sb_puts(sb, "On ");
		escape_md(sb, split);
		sb_puts(sb, " (leaves in bold):\n\n");
		tree_table(nodes, sb, total);
	}
}

/* ---- step 3: drift ---- */

static int cmp_psi_desc(const void *a, const void *b)
{
	double x = num_of(json_object_get(*(json_t *const *)a, "psi"));
	double y = num_of(json_object_get(*(json_t *const *)b, "psi"));
	if (isnan(x))
		x = -1;
	if (isnan(y))
		y = -1;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* drift.csv's rows of one split, largest PSI first; ties keep the file's
 * order (an insertion sort, stable, over a few dozen rows) */
static size_t drift_rows(const struct report_model *m, const char *split, json_t **out, size_t max)
{
	size_t n = 0, i;
	const json_t *r;
	json_array_foreach(m->drift, i, r)
		if (!strcmp(str_of(json_object_get(r, "split")), split) && n < max)
			out[n++] = (json_t *)r;
	for (size_t k = 1; k < n; k++)
		for (size_t j = k; j > 0 && cmp_psi_desc(&out[j], &out[j - 1]) < 0; j--) {
			json_t *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void drift_table(const struct report_model *m, struct strbuf *sb)
{
	static const char *const cols[] = {"split", "feature", "test", "statistic", "effect size", "PSI", "q-value",
					   "drifted"};
	md_table_head(sb, cols, 8);
	size_t cap = json_array_size(m->drift) + 1, more = 0;
	json_t **rows = xcalloc(cap, sizeof *rows);
	for (size_t s = 0; s < model_nsplits(m); s++) {
		const char *split = model_split_name(m, s);
		size_t n = drift_rows(m, split, rows, cap);
		for (size_t i = 0; i < n; i++) {
			const json_t *r = rows[i];
			int flagged = num_of(json_object_get(r, "flagged")) > 0;
			if (i >= DRIFT_ROWS_PER_SPLIT && !flagged) {
				more++;
				continue;
			}
			sb_putc(sb, '|');
			md_cell_text(sb, split);
			md_cell_text(sb, str_of(json_object_get(r, "feature")));
			const char *test = str_of(json_object_get(r, "test"));
			md_cell_text(sb, !strcmp(test, "ks") ? "KS" : !strcmp(test, "chi2") ? "chi-square" : test);
			double st = num_of(json_object_get(r, "statistic"));
			if (isfinite(st))
				sb_printf(sb, " %s %.3g |", !strcmp(test, "ks") ? "D" : "χ²", st);
			else
				sb_puts(sb, " n/a |");
			double w = num_of(json_object_get(r, "wasserstein_sd")), js = num_of(json_object_get(r, "js"));
			if (isfinite(w))
				sb_printf(sb, " W1 %.3g sd |", w);
			else if (isfinite(js))
				sb_printf(sb, " JS %.3g |", js);
			else
				sb_puts(sb, " n/a |");
			double psi = num_of(json_object_get(r, "psi"));
			if (isfinite(psi))
				sb_printf(sb, " %.3g |", psi);
			else
				sb_puts(sb, " n/a |");
			sb_putc(sb, ' ');
			fmt_p(sb, num_of(json_object_get(r, "q")));
			sb_puts(sb, flagged ? " | **yes** |\n" : " | |\n");
		}
	}
	free(rows);
	sb_putc(sb, '\n');
	if (more)
		sb_printf(sb, "%zu more feature comparisons, none drifted, are in the plot below, on the Drift sheet of "
			      "report.xlsx and in rootcause/drift.csv.\n\n", more);
}

/* "Not compared: channel in current, x3 in current (reason)." from the drift
 * analysis's "skipped" list */
static void drift_skipped(const json_t *drift, struct strbuf *sb)
{
	const json_t *sk = json_object_get(drift, "skipped");
	if (!json_array_size(sk))
		return;
	sb_puts(sb, "Not compared:");
	size_t i;
	const json_t *e;
	json_array_foreach(sk, i, e) {
		sb_puts(sb, i ? "; " : " ");
		escape_md(sb, str_of(json_object_get(e, "feature")));
		sb_puts(sb, " in ");
		escape_md(sb, str_of(json_object_get(e, "split")));
		const char *why = json_string_value(json_object_get(e, "reason"));
		if (why) {
			sb_puts(sb, " (");
			escape_md(sb, why);
			sb_putc(sb, ')');
		}
	}
	sb_puts(sb, ".\n\n");
}

/* does the estimate's interval lie above `x`? */
static int above(const json_t *est, double x)
{
	return num_of(json_object_get(est, "ci_low")) > x;
}

/* "**Concept drift, current:** not checked: reason." for a part of the
 * domain analysis that gave its reason for not running on a split */
static void part_skipped(struct strbuf *sb, const char *what, const char *split, const json_t *reason)
{
	if (!json_is_string(reason))
		return;
	sb_printf(sb, "**%s, ", what);
	escape_md(sb, split);
	sb_puts(sb, ":** not checked: ");
	escape_md(sb, json_string_value(reason));
	size_t n = sb->len;
	sb_puts(sb, n && sb->data[n - 1] == '.' ? "\n\n" : ".\n\n");
}

static void domain_covariate(const char *split, const json_t *cov, struct strbuf *sb)
{
	const char *metric = json_string_value(json_object_get(cov, "metric"));
	sb_puts(sb, "**Covariate shift, ");
	escape_md(sb, split);
	sb_puts(sb, ":** ");
	fmt_metric(sb, metric, 1);
	sb_puts(sb, " on ");
	escape_md(sb, str_of(json_object_get(cov, "source")));
	sb_putc(sb, ' ');
	fmt_est(sb, json_object_get(cov, "source_value"), 1);
	sb_puts(sb, "; reweighted to look like ");
	escape_md(sb, split);
	sb_puts(sb, " ");
	fmt_est(sb, json_object_get(cov, "iw_estimate"), 1);
	double ess = num_of(json_object_get(cov, "ess"));
	if (isfinite(ess))
		sb_printf(sb, " (importance weights, effective sample size %.0f)", ess);
	sb_puts(sb, "; observed ");
	fmt_est(sb, json_object_get(cov, "observed"), 1);
	sb_puts(sb, ". The change of the features' distribution explains **");
	fmt_est(sb, json_object_get(cov, "explained"), 1);
	sb_puts(sb, "** of the drop; **");
	const json_t *un = json_object_get(cov, "unexplained");
	fmt_est(sb, un, 1);
	sb_puts(sb, "** is unexplained");
	double lo = num_of(json_object_get(un, "ci_low")), hi = num_of(json_object_get(un, "ci_high"));
	/* rows of the split where the source has no data: there the drop is
	 * counted as covariate shift by construction, not measured */
	double outside = est_value(json_object_get(json_object_get(cov, "support"), "current_share_outside"));
	if (isfinite(outside) && outside >= 0.005) {
		sb_puts(sb, "; ");
		pct(sb, outside);
		sb_puts(sb, " of its rows lie where ");
		escape_md(sb, str_of(json_object_get(cov, "source")));
		sb_puts(sb, " has no data, and their part of the drop counts as covariate shift by construction");
		if (outside >= 0.5) {
			sb_puts(sb, " — **most of this split lies outside the data the model was tested on, so the split of "
				    "the drop is an assumption there, not a measurement**.\n\n");
			return;
		}
	}
	if (lo > 0)
		sb_puts(sb, ": more than covariate shift predicts, so the link between features and label changed "
			    "(concept drift) or something outside the features did.\n\n");
	else if (lo <= 0 && hi >= 0)
		sb_puts(sb, " (its interval includes 0: covariate shift accounts for the drop).\n\n");
	else
		sb_puts(sb, " (below 0: current does better than its features predict).\n\n");
}

static void domain_disagreement(const char *split, const json_t *dis, struct strbuf *sb)
{
	const json_t *d = json_object_get(dis, "train_probe_vs_current_probe");
	const json_t *b = json_object_get(dis, "baseline");
	const json_t *ex = json_object_get(dis, "excess");
	sb_puts(sb, "**Concept drift, ");
	escape_md(sb, split);
	sb_puts(sb, ":** a probe trained on train and probes trained on ");
	escape_md(sb, split);
	sb_puts(sb, " disagree on ");
	fmt_est(sb, d, 1);
	sb_puts(sb, " of its rows (inside train's range), two probes trained on train on ");
	fmt_est(sb, b, 1);
	sb_puts(sb, " (the baseline)");
	int more = json_is_object(ex) ? above(ex, 0) : num_of(json_object_get(d, "ci_low")) > num_of(json_object_get(b, "ci_high"));
	sb_puts(sb, more ? ": **more than the baseline** — the same features lead to other labels in this split.\n\n"
			 : ": within the baseline — no sign that the labelling rule changed.\n\n");
}

static void domain_section(const struct report_model *m, struct strbuf *sb)
{
	const json_t *a = section_start(m, sb, "Multivariate drift and concept drift", "domain",
					"The domain classifier");
	if (!a)
		return;
	sb_puts(sb, "A domain classifier (a small MLP probe) learns to tell each split's rows from train's on held-out "
		    "rows: ROC-AUC 0.5 means the splits look alike, 1 that every row gives itself away. Drivers: how much "
		    "the AUC drops when one feature is permuted.\n\n");
	static const char *const cols[] = {"split", "against", "rows", "domain ROC-AUC", "drivers (AUC drop)"};
	md_table_head(sb, cols, 5);
	size_t i;
	const json_t *e;
	json_array_foreach(a, i, e) {
		sb_putc(sb, '|');
		md_cell_text(sb, str_of(json_object_get(e, "split")));
		md_cell_text(sb, str_of(json_object_get(e, "against")));
		const json_t *rows = json_object_get(e, "rows");
		sb_putc(sb, ' ');
		fmt_count(sb, (long long)json_integer_value(json_array_get(rows, 0)));
		sb_puts(sb, " / ");
		fmt_count(sb, (long long)json_integer_value(json_array_get(rows, 1)));
		sb_puts(sb, " |");
		md_cell_est(sb, json_object_get(e, "auc"));
		sb_putc(sb, ' ');
		/* drivers whose drop is clear of 0; the permutation of the others
		 * changes nothing the interval can tell from noise */
		const json_t *dr = json_object_get(e, "drivers");
		size_t k, shown = 0;
		const json_t *d;
		json_array_foreach(dr, k, d) {
			if (!above(json_object_get(d, "auc_drop"), 0))
				continue;
			sb_puts(sb, shown++ ? ", " : "");
			escape_md(sb, str_of(json_object_get(d, "feature")));
			sb_putc(sb, ' ');
			fmt_est(sb, json_object_get(d, "auc_drop"), 1);
		}
		if (!shown && json_array_size(dr)) {
			d = json_array_get(dr, 0);
			sb_puts(sb, "none clear of 0 (largest: ");
			escape_md(sb, str_of(json_object_get(d, "feature")));
			sb_putc(sb, ' ');
			fmt_est(sb, json_object_get(d, "auc_drop"), 1);
			sb_putc(sb, ')');
		} else if (!shown)
			sb_puts(sb, "none");
		sb_puts(sb, " |\n");
	}
	sb_putc(sb, '\n');
	json_array_foreach(a, i, e) {
		const char *split = str_of(json_object_get(e, "split"));
		if (json_is_object(json_object_get(e, "covariate")))
			domain_covariate(split, json_object_get(e, "covariate"), sb);
		else
			part_skipped(sb, "Covariate shift", split, json_object_get(e, "covariate_skipped"));
		if (json_is_object(json_object_get(e, "disagreement")))
			domain_disagreement(split, json_object_get(e, "disagreement"), sb);
		else
			part_skipped(sb, "Concept drift", split, json_object_get(e, "disagreement_skipped"));
	}
}

void sections_drift(const struct report_model *m, struct strbuf *sb)
{
	const char *why = NULL;
	const json_t *a = model_analysis(m, "drift", &why);
	sb_puts(sb, "### Data drift\n\n");
	if (!a && !json_array_size(m->drift)) {
		sb_puts(sb, "The drift analysis did not run: ");
		escape_md(sb, why);
		sb_puts(sb, ".\n\n");
	} else {
		sb_puts(sb, "Each feature of each split against train: Kolmogorov-Smirnov (numeric) or chi-square "
			    "(categorical), Benjamini-Hochberg across the run's tests; effect size: the Wasserstein distance "
			    "in train standard deviations (numeric) or the Jensen-Shannon distance (categorical); PSI over ten "
			    "bins for both (above 0.1 moderate, above 0.25 large). Per split, every drifted feature and the "
			    "largest other shifts:\n\n");
		if (json_array_size(m->drift))
			drift_table(m, sb);
		else
			sb_puts(sb, "rootcause/drift.csv is missing: the per-feature numbers are in rootcause/analysis.json.\n\n");
		drift_skipped(a, sb);
		md_put_plot(m, sb, PLOT_DRIFT, "PSI per feature and split, drifted features marked");
	}
	domain_section(m, sb);
}

/* ---- step 3: label noise, label shift ---- */

void sections_labels(const struct report_model *m, struct strbuf *sb)
{
	const char *why = NULL;
	const json_t *ln = model_analysis(m, "label_noise", &why);
	sb_puts(sb, "### Labels\n\n**Label noise:** ");
	if (!ln) {
		sb_puts(sb, "did not run: ");
		escape_md(sb, why);
		sb_puts(sb, ".");
	} else {
		const json_t *sus = json_object_get(ln, "suspects");
		if (json_is_integer(sus))
			fmt_count(sb, (long long)json_integer_value(sus));
		else
			sb_puts(sb, "n/a");
		sb_puts(sb, " suspected mislabels in train (");
		fmt_est(sb, json_object_get(ln, "share"), 1);
		sb_puts(sb, " of its rows) by confident learning on the probes' out-of-fold probabilities");
		const json_t *ref = json_object_get(ln, "reference");
		if (json_is_object(ref)) {
			sb_puts(sb, "; the same method flags ");
			pct(sb, num_of(json_object_get(ref, "share")));
			sb_puts(sb, " of ");
			escape_md(sb, str_of(json_object_get(ref, "split")));
			sb_puts(sb, ", where the model's own labels are not the question");
		}
		const json_t *ex = json_object_get(ln, "excess");
		if (json_is_object(ex)) {
			sb_puts(sb, " (excess in train ");
			fmt_est(sb, ex, 1);
			sb_puts(sb, above(ex, 0) ? ": **more noise than the held-out baseline**)" : ": no more than that baseline)");
		}
		const json_t *c = json_object_get(ln, "concentration");
		if (json_is_object(c)) {
			sb_puts(sb, ". Most concentrated in ");
			escape_md(sb, str_of(json_object_get(c, "segment")));
			sb_puts(sb, "\\=");
			escape_md(sb, str_of(json_object_get(c, "value")));
			sb_puts(sb, " (");
			pct(sb, num_of(json_object_get(c, "share_of_suspects")));
			sb_puts(sb, " of the suspects, ");
			pct(sb, num_of(json_object_get(c, "share_of_train")));
			sb_puts(sb, json_is_true(json_object_get(c, "significant")) ? " of train: significant)" : " of train: not significant)");
		}
		sb_puts(sb, ". The suspects are on the Label review sheet of report.xlsx.");
	}
	sb_puts(sb, "\n\n**Label shift:** ");
	const json_t *ls = model_analysis(m, "label_shift", &why);
	if (!ls) {
		sb_puts(sb, "did not run: ");
		escape_md(sb, why);
		sb_puts(sb, ".\n\n");
		return;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(ls, i, e) {
		const char *split = str_of(json_object_get(e, "split"));
		const char *cls = str_of(json_object_get(e, "class"));
		const json_t *sh = json_object_get(json_object_get(e, "shares"), cls);
		if (i == 0) {
			sb_puts(sb, "share of ");
			escape_md(sb, cls);
			sb_puts(sb, " in train ");
			pct(sb, num_of(json_object_get(sh, "train")));
		}
		sb_puts(sb, "; in ");
		escape_md(sb, split);
		sb_putc(sb, ' ');
		pct(sb, num_of(json_object_get(sh, split)));
		sb_puts(sb, " (change ");
		fmt_est(sb, json_object_get(e, "shift"), 1);
		sb_puts(sb, ", q ");
		fmt_p(sb, num_of(json_object_get(e, "q_value")));
		sb_putc(sb, ')');
	}
	if (!json_array_size(ls))
		sb_puts(sb, "no split to compare with train");
	sb_puts(sb, ".\n\n");
}

/* ---- step 3: under-represented slices ---- */

/* "0.620 at 36 → 0.740 at 288 rows", then the analysis's verdict, or ours
 * from the last step when it gave none */
static void curve_summary(const json_t *curve, const char *verdict, struct strbuf *sb)
{
	size_t n = json_array_size(curve);
	if (n < 2) {
		sb_puts(sb, n ? "one point" : "none");
		return;
	}
	const json_t *a = json_array_get(curve, n - 2), *b = json_array_get(curve, n - 1);
	double va = est_value(json_object_get(a, "accuracy")), vb = est_value(json_object_get(b, "accuracy"));
	const json_t *first = json_array_get(curve, 0);
	sb_printf(sb, "%.3f at ", est_value(json_object_get(first, "accuracy")));
	fmt_count(sb, (long long)json_integer_value(json_object_get(first, "train_rows")));
	sb_printf(sb, " → %.3f at ", vb);
	fmt_count(sb, (long long)json_integer_value(json_object_get(b, "train_rows")));
	sb_puts(sb, " rows");
	if (verdict) {
		sb_puts(sb, ": ");
		escape_md(sb, verdict);
	} else if (isfinite(va) && isfinite(vb))
		sb_printf(sb, vb - va > 0.01 ? ": still rising (%+.3f on the last step)" : ": flat (%+.3f on the last step)",
			  vb - va);
}

void sections_underrep(const struct report_model *m, struct strbuf *sb)
{
	const json_t *a = section_start(m, sb, "Under-represented slices", "underrepresented",
					"The representation analysis");
	if (!a)
		return;
	if (!json_array_size(a)) {
		sb_puts(sb, "No slice is both rarer in train than in the evaluated data and harder for the model.\n\n");
		return;
	}
	sb_puts(sb, "Slices rarer in train than in the data the model is judged on, where it errs more. The learning "
		    "curve is the accuracy on the slice of a probe trained on growing numbers of the slice's train rows: "
		    "still rising means more rows of the slice should help.\n\n");
	static const char *const cols[] = {"slice", "share of train → evaluated", "train rows",
					   "error rate (elsewhere)", "learning curve", "rows to collect"};
	md_table_head(sb, cols, 6);
	size_t i;
	const json_t *e;
	json_array_foreach(a, i, e) {
		sb_putc(sb, '|');
		md_cell_text(sb, str_of(json_object_get(e, "slice")));
		sb_putc(sb, ' ');
		pct(sb, num_of(json_object_get(e, "share_train")));
		sb_puts(sb, " → ");
		pct(sb, num_of(json_object_get(e, "share_eval")));
		sb_puts(sb, " (");
		escape_md(sb, str_of(json_object_get(e, "eval_split")));
		sb_puts(sb, ") |");
		md_cell_count(sb, json_object_get(e, "rows_train"));
		sb_putc(sb, ' ');
		fmt_est(sb, json_object_get(e, "error_rate"), 1);
		sb_printf(sb, " (%.3f) | ", est_value(json_object_get(e, "error_rate_elsewhere")));
		curve_summary(json_object_get(e, "curve"), json_string_value(json_object_get(e, "verdict")), sb);
		sb_puts(sb, " |");
		const json_t *need = json_object_get(e, "rows_needed");
		if (json_is_integer(need)) {
			sb_puts(sb, " about ");
			fmt_count(sb, (long long)json_integer_value(need));
			sb_puts(sb, " |\n");
		} else
			sb_puts(sb, " not estimated |\n");
	}
	sb_putc(sb, '\n');
	md_put_plot(m, sb, PLOT_UNDERREP, "learning curves of the under-represented slices");
}

/* ---- step 3: importance ---- */

static const json_t *imp_of(const json_t *feature, const char *split)
{
	return json_object_get(json_object_get(json_object_get(feature, "by_split"), split), "importance");
}

static double imp_max(const json_t *feature, const json_t *splits)
{
	double best = -INFINITY;
	size_t i;
	const json_t *s;
	json_array_foreach(splits, i, s) {
		double v = est_value(imp_of(feature, json_string_value(s)));
		if (isfinite(v) && v > best)
			best = v;
	}
	return best;
}

size_t sections_importance_order(const json_t *imp, const json_t **out, size_t max)
{
	const json_t *features = json_object_get(imp, "features"), *splits = json_object_get(imp, "splits");
	size_t n = json_array_size(features);
	const json_t **all = xcalloc(n ? n : 1, sizeof *all);
	for (size_t i = 0; i < n; i++)
		all[i] = json_array_get(features, i);
	for (size_t k = 1; k < n; k++)   /* insertion sort: stable */
		for (size_t j = k; j > 0 && imp_max(all[j], splits) > imp_max(all[j - 1], splits); j--) {
			const json_t *t = all[j];
			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	size_t k = n < max ? n : max;
	memcpy(out, all, k * sizeof *all);
	free(all);
	return k;
}

void sections_importance(const struct report_model *m, struct strbuf *sb)
{
	const json_t *a = section_start(m, sb, "Feature importance and its shift", "importance",
					"The importance analysis");
	if (!a)
		return;
	const json_t *sur = json_object_get(a, "surrogate");
	const json_t *splits = json_object_get(a, "splits");
	sb_puts(sb, "What the model relies on, measured on a surrogate: ");
	escape_md(sb, str_of(json_object_get(sur, "architecture")));
	const json_t *rows = json_object_get(sur, "rows");
	if (json_is_integer(rows)) {
		sb_puts(sb, ", trained on ");
		fmt_count(sb, (long long)json_integer_value(rows));
		sb_puts(sb, " train rows to copy the model's outputs");
	}
	sb_puts(sb, ". It agrees with the model (fidelity) on");
	const char *key;
	const json_t *fe;
	double floor = num_of(json_object_get(sur, "fidelity_floor"));
	if (!isfinite(floor))
		floor = 0.8;
	struct strbuf low;
	sb_init(&low);
	int k = 0;
	json_object_foreach((json_t *)json_object_get(sur, "fidelity"), key, fe) {
		sb_puts(sb, k++ ? ", " : " ");
		fmt_est(sb, fe, 1);
		sb_puts(sb, " of ");
		escape_md(sb, key);
		if (est_value(fe) < floor) {
			sb_puts(&low, low.len ? " and " : "");
			escape_md(&low, key);
		}
	}
	if (!k)
		sb_puts(sb, " an unknown share of rows");
	if (low.len)
		sb_printf(sb, " — **below %.2g on %s: there the surrogate is not the model, read its importances with "
			      "care**. ", floor, low.data);
	else
		sb_puts(sb, ". ");
	sb_free(&low);
	sb_puts(sb, "Importance: ");
	escape_md(sb, str_of(json_object_get(a, "metric")));
	sb_puts(sb, ", with 95% intervals; a feature whose rank moves between splits is one the model leans on "
		    "differently in newer data.");
	const char *note = json_string_value(json_object_get(a, "note"));
	if (note) {
		sb_putc(sb, ' ');
		escape_md(sb, note);
	}
	sb_puts(sb, "\n\n");

	size_t ns = json_array_size(splits);
	sb_puts(sb, "| feature |");
	for (size_t i = 0; i < ns; i++) {
		md_cell_text(sb, json_string_value(json_array_get(splits, i)));
	}
	sb_puts(sb, " rank |\n|---|");
	for (size_t i = 0; i <= ns; i++)
		sb_puts(sb, "---|");
	sb_putc(sb, '\n');
	const json_t *order[IMPORTANCE_ROWS];
	size_t n = sections_importance_order(a, order, IMPORTANCE_ROWS);
	for (size_t i = 0; i < n; i++) {
		sb_putc(sb, '|');
		md_cell_text(sb, str_of(json_object_get(order[i], "feature")));
		for (size_t s = 0; s < ns; s++)
			md_cell_est(sb, imp_of(order[i], json_string_value(json_array_get(splits, s))));
		sb_putc(sb, ' ');
		for (size_t s = 0; s < ns; s++) {
			const json_t *r = json_object_get(json_object_get(json_object_get(order[i], "by_split"),
									 json_string_value(json_array_get(splits, s))), "rank");
			sb_puts(sb, s ? " → " : "");
			if (json_is_integer(r))
				sb_printf(sb, "%lld", (long long)json_integer_value(r));
			else
				sb_puts(sb, "n/a");
		}
		sb_puts(sb, " |\n");
	}
	sb_putc(sb, '\n');
	size_t total = json_array_size(json_object_get(a, "features"));
	if (total > n)
		sb_printf(sb, "%zu more features are on the Importance sheet of report.xlsx.\n\n", total - n);
	md_put_plot(m, sb, PLOT_IMPORTANCE, "permutation importance per feature, train against the later splits");
}

/* ---- step 3: single points ---- */

/* The share of a split's rows outside its source's support, from the
 * covariate-shift part of the domain analysis; NAN when unknown. */
static double outside_share(const struct report_model *m, const char *split)
{
	size_t i;
	const json_t *e;
	json_array_foreach(model_analysis(m, "domain", NULL), i, e)
		if (!strcmp(str_of(json_object_get(e, "split")), split))
			return est_value(json_object_get(json_object_get(json_object_get(e, "covariate"), "support"),
							 "current_share_outside"));
	return NAN;
}

void sections_points(const struct report_model *m, struct strbuf *sb)
{
	const json_t *a = section_start(m, sb, "Single points: the most confident errors", "points",
					"The single-point analysis");
	if (!a)
		return;
	const json_t *rows = json_object_get(a, "rows");
	if (!json_array_size(rows)) {
		sb_puts(sb, "No wrong prediction to explain on ");
		escape_md(sb, str_of(json_object_get(a, "split")));
		sb_puts(sb, ".\n\n");
		return;
	}
	sb_puts(sb, "On ");
	escape_md(sb, str_of(json_object_get(a, "split")));
	sb_puts(sb, ", the wrong predictions made with the highest confidence. *Why*: the surrogate's largest "
		    "contributions to the predicted class (gradient × input, feature = value); *nearest train rows*: "
		    "their labels, nearest first; *neighbourhood*: the model's accuracy on the nearest train rows and "
		    "the share of them that carry this row's label.\n\n");
	static const char *const cols[] = {"row (id)", "label → predicted", "why", "nearest train rows",
					   "neighbourhood"};
	md_table_head(sb, cols, 5);
	size_t i, unlike = 0;
	const json_t *p;
	json_array_foreach(rows, i, p) {
		sb_putc(sb, '|');
		sb_putc(sb, ' ');
		const json_t *row = json_object_get(p, "row");
		if (json_is_integer(row))
			fmt_count(sb, (long long)json_integer_value(row));
		const char *id = json_string_value(json_object_get(p, "id"));
		if (id) {
			sb_puts(sb, " (");
			escape_md(sb, id);
			sb_putc(sb, ')');
		}
		sb_puts(sb, " | ");
		escape_md(sb, str_of(json_object_get(p, "label")));
		sb_puts(sb, " → ");
		escape_md(sb, str_of(json_object_get(p, "predicted")));
		double c = num_of(json_object_get(p, "confidence"));
		if (isfinite(c))
			sb_printf(sb, " (%.3f)", c);
		sb_puts(sb, " | ");
		size_t k;
		const json_t *at;
		json_array_foreach(json_object_get(p, "attribution"), k, at) {
			if (k >= POINT_CONTRIBUTIONS)
				break;
			sb_puts(sb, k ? ", " : "");
			escape_md(sb, str_of(json_object_get(at, "feature")));
			sb_puts(sb, " \\= ");
			escape_md(sb, str_of(json_object_get(at, "value")));
			sb_printf(sb, " (%+.3g)", num_of(json_object_get(at, "contribution")));
		}
		sb_puts(sb, " | ");
		const json_t *nb = json_object_get(p, "neighbours");
		json_array_foreach(nb, k, at) {
			sb_puts(sb, k ? ", " : "");
			escape_md(sb, str_of(json_object_get(at, "label")));
		}
		if (json_array_size(nb))
			sb_printf(sb, " (distance %.3g–%.3g)", num_of(json_object_get(json_array_get(nb, 0), "distance")),
				  num_of(json_object_get(json_array_get(nb, json_array_size(nb) - 1), "distance")));
		sb_puts(sb, " | ");
		const json_t *hood = json_object_get(p, "neighbourhood");
		sb_puts(sb, "accuracy ");
		fmt_est(sb, json_object_get(hood, "model_accuracy"), 1);
		double same = num_of(json_object_get(hood, "same_label_share"));
		sb_puts(sb, ", same label ");
		pct(sb, same);
		if (json_is_integer(json_object_get(hood, "k")))
			sb_printf(sb, " (k %lld)", (long long)json_integer_value(json_object_get(hood, "k")));
		sb_puts(sb, " |\n");
		unlike += isfinite(same) && same < 0.5;
	}
	sb_putc(sb, '\n');
	size_t n = json_array_size(rows);
	if (outside_share(m, str_of(json_object_get(a, "split"))) >= 0.5) {
		sb_puts(sb, "Most rows of ");
		escape_md(sb, str_of(json_object_get(a, "split")));
		sb_puts(sb, " lie where train has no data (see multivariate drift): their nearest train rows are far away "
			    "and say little about them; fix the shift first.\n\n");
		return;
	}
	if (unlike == n)
		sb_printf(sb, "All %zu rows have train neighbours that mostly carry another label: suspected mislabels, "
			      "or classes that overlap there (see label noise above).\n\n", n);
	else if (unlike)
		sb_printf(sb, "%zu of these %zu rows have train neighbours that mostly carry another label: suspected "
			      "mislabels, or classes that overlap there (see label noise above); for the others train "
			      "agrees with the label: the contributions say which values led the model astray.\n\n", unlike, n);
	else
		sb_printf(sb, "For all %zu rows most train neighbours carry the row's own label: the model errs where "
			      "train agrees with the label; the contributions say which values led it astray.\n\n", n);
}
