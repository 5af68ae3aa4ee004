/* plots.c - the report's plots, drawn by one gnuplot process per report.
 *
 * Data goes to gnuplot only through tab-separated files in OUT/plots/: numeric
 * x positions, values, intervals, and labels in their own column read with
 * xticlabels(). The script is assembled from fixed templates (templates/plot_*.gp)
 * in which only our own file names, fixed axis names, 0/1 switches and
 * integers we compute from counts (image heights, the tree's depth) are
 * substituted, and gnuplot runs with OUT/plots/ as its working folder so not
 * even the output path appears in the script. Even a y range computed from
 * the data (the learning-rate plot's clipping) reaches gnuplot as a data
 * file it reads with `stats`. The root-cause plots' data files are written
 * by plots_rc.c. A column called
 * `x" ; system("rm -rf ~") ; "` is therefore a label, never a command.
 *
 * gnuplot is optional: when it is missing, fails or hangs (killed after
 * plots_timeout_s), the report says which plots are unavailable and goes on. */
#include "model.h"
#include "escape.h"
#include "template.h"
#include "gnuplot.h"
#include "png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

double plots_timeout_s = 60;

#define SEGMENTS_MAX 30     /* segment values on one plot: beyond that it is unreadable */
#define LABEL_CHARS 28      /* tick labels are cut to this many characters */
#define CONFUSION_MAX 30    /* classes on the heat map */
#define CONFUSION_LABELS 12 /* counts written into the cells up to this many classes */

static const char *const plot_files[PLOT_COUNT] = {"splits.png", "segments.png", "reliability.png", "confusion.png",
						   "curves.png", "lr_range.png", "optimizers.png", "hpo.png",
						   "slices.png", "tree.png", "drift.png", "importance.png", "underrep.png"};
static const char *const plot_names[PLOT_COUNT] = {"metric per split", "metric per segment",
						   "reliability diagram", "confusion matrix", "probe learning curves",
						   "learning-rate range test", "optimizers", "hyper-parameter search",
						   "error slices", "error tree", "drift per feature", "feature importance",
						   "learning curves of under-represented slices"};
_Static_assert(sizeof plot_files / sizeof plot_files[0] == PLOT_COUNT, "a file name per plot");
_Static_assert(sizeof plot_names / sizeof plot_names[0] == PLOT_COUNT, "a name per plot");

/* a JSON string's text, "" for anything else */
static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

void plot_put_num(struct strbuf *sb, const json_t *v)
{
	if (json_is_number(v) && isfinite(json_number_value(v)))
		sb_printf(sb, "%.6g", json_number_value(v));
	else
		sb_puts(sb, "NaN");
}

/* value, lo, hi of an estimate; lo/hi fall back to the value so that a point
 * without an interval still draws */
int plot_put_est(struct strbuf *sb, const json_t *est)
{
	const json_t *v = json_object_get(est, "value");
	const json_t *lo = json_object_get(est, "ci_low"), *hi = json_object_get(est, "ci_high");
	plot_put_num(sb, v);
	sb_putc(sb, '\t');
	plot_put_num(sb, json_is_number(lo) ? lo : v);
	sb_putc(sb, '\t');
	plot_put_num(sb, json_is_number(hi) ? hi : v);
	return json_is_number(v);
}

int plot_write_data(const char *dir, const char *name, const struct strbuf *sb)
{
	char *path = path_join(dir, name);
	int rc = file_write_atomic(path, sb->data, sb->len);
	free(path);
	return rc;
}

/* ---- data files ---- */

static int data_splits(const struct report_model *m, const char *dir, int *drawn)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "x\tsplit\tvalue\tlo\thi\n");
	int defined = 0;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *split = model_split_name(m, i);
		sb_printf(&sb, "%zu\t", i);
		escape_gnuplot_field(&sb, split, LABEL_CHARS);
		sb_putc(&sb, '\t');
		defined |= plot_put_est(&sb, model_estimate(m, split, m->metric));
		sb_putc(&sb, '\n');
	}
	*drawn = defined;
	int rc = defined ? plot_write_data(dir, "splits.tsv", &sb) : 0;
	sb_free(&sb);
	return rc;
}

static int segments_have(const json_t *segs, const char *split)
{
	for (size_t i = 0; i < json_array_size(segs); i++)
		if (!strcmp(str_of(json_object_get(json_array_get(segs, i), "split")), split))
			return 1;
	return 0;
}

static int same_segment(const json_t *a, const json_t *b)
{
	const char *ca = json_string_value(json_object_get(a, "column"));
	const char *cb = json_string_value(json_object_get(b, "column"));
	const char *va = json_string_value(json_object_get(a, "value"));
	const char *vb = json_string_value(json_object_get(b, "value"));
	return ca && cb && va && vb && !strcmp(ca, cb) && !strcmp(va, vb);
}

static void segment_label(struct strbuf *sb, const json_t *seg)
{
	struct strbuf raw;
	sb_init(&raw);
	sb_puts(&raw, str_of(json_object_get(seg, "column")));
	sb_putc(&raw, '=');
	sb_puts(&raw, str_of(json_object_get(seg, "value")));
	escape_gnuplot_field(sb, raw.data, LABEL_CHARS);
	sb_free(&raw);
}

static void segment_header(struct strbuf *sb, const char *split)
{
	sb_puts(sb, "x\tlabel\t");
	escape_gnuplot_field(sb, split, LABEL_CHARS);
	sb_puts(sb, "\tlo\thi\t");
	struct strbuf t;
	sb_init(&t);
	sb_printf(&t, "whole %s", split);
	escape_gnuplot_field(sb, t.data, LABEL_CHARS + 6);
	sb_free(&t);
	sb_putc(sb, '\n');
}

/* One row per segment value of `split` among the picked keys, at x (+ shift). */
static int segment_rows(const struct report_model *m, struct strbuf *sb, const char *split, const json_t *segs,
			const size_t *keys, const char *pick, size_t nkeys, double shift)
{
	const json_t *overall = json_object_get(model_estimate(m, split, m->metric), "value");
	size_t n = json_array_size(segs), x = 0;
	int rows = 0;
	segment_header(sb, split);
	for (size_t k = 0; k < nkeys; k++) {
		if (!pick[k])
			continue;
		const json_t *key = json_array_get(segs, keys[k]);
		for (size_t i = 0; i < n; i++) {
			const json_t *s = json_array_get(segs, i);
			if (strcmp(str_of(json_object_get(s, "split")), split) || !same_segment(s, key))
				continue;
			const json_t *est = json_object_get(json_object_get(s, "metrics"), m->metric);
			if (!json_is_number(json_object_get(est, "value")))
				break;
			sb_printf(sb, "%.2f\t", (double)x + shift);
			segment_label(sb, s);
			sb_putc(sb, '\t');
			plot_put_est(sb, est);
			sb_putc(sb, '\t');
			plot_put_num(sb, overall);
			sb_putc(sb, '\n');
			rows++;
			break;
		}
		x++;
	}
	return rows;
}

/* The segment plot: one x position per distinct column=value of the two splits
 * drawn (test, and the current split), so a value that exists only in current
 * (a new category) is drawn too. Labels come from their own file. When there
 * are more than SEGMENTS_MAX values, weak ones are kept first. */
static int data_segments(const struct report_model *m, const char *dir, int *drawn, int *has2)
{
	*drawn = *has2 = 0;
	const json_t *segs = json_object_get(m->metrics, "segments");
	const char *ref = segments_have(segs, "test") ? "test" : NULL;
	for (size_t i = 0; !ref && i < json_array_size(segs); i++)
		ref = json_string_value(json_object_get(json_array_get(segs, i), "split"));
	if (!ref)
		return 0;
	const char *cur = model_current_split(m);
	if (cur && (!strcmp(cur, ref) || !segments_have(segs, cur)))
		cur = NULL;

	size_t n = json_array_size(segs), nkeys = 0, npicked = 0;
	size_t *keys = xcalloc(n ? n : 1, sizeof *keys);    /* index of each distinct value's first entry */
	char *weak = xcalloc(n ? n : 1, 1), *pick = xcalloc(n ? n : 1, 1);
	const char *splits[2] = {ref, cur};
	for (int sp = 0; sp < 2 && splits[sp]; sp++)
		for (size_t i = 0; i < n; i++) {
			const json_t *s = json_array_get(segs, i);
			if (strcmp(str_of(json_object_get(s, "split")), splits[sp]))
				continue;
			size_t k = 0;
			while (k < nkeys && !same_segment(json_array_get(segs, keys[k]), s))
				k++;
			if (k == nkeys)
				keys[nkeys++] = i;
			weak[k] |= json_is_true(json_object_get(s, "weak"));
		}
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < nkeys && npicked < SEGMENTS_MAX; k++)
			if (!pick[k] && (pass == 1 || weak[k])) {
				pick[k] = 1;
				npicked++;
			}

	struct strbuf labels, a, b;
	sb_init(&labels);
	sb_init(&a);
	sb_init(&b);
	sb_puts(&labels, "x\tlabel\n");
	for (size_t k = 0, x = 0; k < nkeys; k++)
		if (pick[k]) {
			sb_printf(&labels, "%zu\t", x++);
			segment_label(&labels, json_array_get(segs, keys[k]));
			sb_putc(&labels, '\n');
		}
	int rows_a = segment_rows(m, &a, ref, segs, keys, pick, nkeys, 0.0);
	int rows_b = cur ? segment_rows(m, &b, cur, segs, keys, pick, nkeys, 0.2) : 0;
	free(keys);
	free(weak);
	free(pick);
	/* the template always plots the first file: it must have points */
	struct strbuf *first = rows_a ? &a : &b, *second = rows_a && rows_b ? &b : NULL;
	int rc = 0;
	if (rows_a || rows_b) {
		rc = plot_write_data(dir, "segment_labels.tsv", &labels);
		if (rc == 0)
			rc = plot_write_data(dir, "segments_a.tsv", first);
		if (rc == 0 && second)
			rc = plot_write_data(dir, "segments_b.tsv", second);
		*drawn = rc == 0;
		*has2 = second != NULL;
	}
	sb_free(&labels);
	sb_free(&a);
	sb_free(&b);
	return rc;
}

static int data_reliability_one(const struct report_model *m, const char *split, const char *dir,
				const char *file, int *defined)
{
	const json_t *bins = json_object_get(model_split(m, split), "reliability");
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "confidence\t");
	escape_gnuplot_field(&sb, split, LABEL_CHARS);
	sb_puts(&sb, "\tn\n");
	*defined = 0;
	for (size_t i = 0; i < json_array_size(bins); i++) {
		const json_t *bin = json_array_get(bins, i);
		const json_t *c = json_object_get(bin, "confidence"), *acc = json_object_get(bin, "accuracy");
		if (!json_is_number(c) || !json_is_number(acc) || json_integer_value(json_object_get(bin, "n")) <= 0)
			continue;
		plot_put_num(&sb, c);
		sb_putc(&sb, '\t');
		plot_put_num(&sb, acc);
		sb_printf(&sb, "\t%lld\n", (long long)json_integer_value(json_object_get(bin, "n")));
		*defined = 1;
	}
	int rc = *defined ? plot_write_data(dir, file, &sb) : 0;
	sb_free(&sb);
	return rc;
}

static int data_reliability(const struct report_model *m, const char *dir, int *drawn, int *has2)
{
	*drawn = *has2 = 0;
	const char *ref = model_split(m, "test") ? "test" : NULL;
	const char *cur = model_current_split(m);
	int a = 0, b = 0;
	if (ref && data_reliability_one(m, ref, dir, "reliability_a.tsv", &a) != 0)
		return -1;
	if (a && cur && data_reliability_one(m, cur, dir, "reliability_b.tsv", &b) != 0)
		return -1;
	*drawn = a;
	*has2 = a && b;
	return 0;
}

static int data_confusion(const struct report_model *m, const char *dir, int *drawn, int *labels)
{
	*drawn = *labels = 0;
	const json_t *conf = json_object_get(model_split(m, "test"), "confusion");
	const json_t *classes = json_object_get(conf, "classes"), *matrix = json_object_get(conf, "matrix");
	size_t k = json_array_size(classes);
	if (k < 2 || k > CONFUSION_MAX || json_array_size(matrix) != k)
		return 0;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "x\ty\tshare\tcount\tpredicted\ttrue\n");
	for (size_t t = 0; t < k; t++) {
		const json_t *row = json_array_get(matrix, t);
		double total = 0;
		for (size_t p = 0; p < k; p++)
			total += json_number_value(json_array_get(row, p));
		for (size_t p = 0; p < k; p++) {
			double c = json_number_value(json_array_get(row, p));
			sb_printf(&sb, "%zu\t%zu\t%.6g\t%.0f\t", p, t, total > 0 ? c / total : 0.0, c);
			escape_gnuplot_field(&sb, json_string_value(json_array_get(classes, p)), LABEL_CHARS);
			sb_putc(&sb, '\t');
			escape_gnuplot_field(&sb, json_string_value(json_array_get(classes, t)), LABEL_CHARS);
			sb_putc(&sb, '\n');
		}
	}
	int rc = plot_write_data(dir, "confusion.tsv", &sb);
	sb_free(&sb);
	*drawn = 1;
	*labels = k <= CONFUSION_LABELS;
	return rc;
}

/* One file per reference probe (curves_<i>.tsv): step, train loss, validation
 * loss. Probe names are our own ("mlp-128") but still go through the escaper. */
static int data_curves(const struct report_model *m, const char *dir, int *drawn, int *last)
{
	*drawn = 0;
	*last = -1;
	const json_t *probes = json_object_get(m->probes, "probes");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < json_array_size(probes); i++) {
		const json_t *p = json_array_get(probes, i), *curve = json_object_get(p, "curve");
		if (!json_array_size(curve))
			break;
		struct strbuf sb, t;
		sb_init(&sb);
		sb_init(&t);
		sb_puts(&sb, "step\t");
		sb_printf(&t, "%s train", str_of(json_object_get(p, "name")));
		escape_gnuplot_field(&sb, t.data, LABEL_CHARS);
		sb_putc(&sb, '\t');
		t.len = 0;
		sb_printf(&t, "%s validation", str_of(json_object_get(p, "name")));
		escape_gnuplot_field(&sb, t.data, LABEL_CHARS);
		sb_putc(&sb, '\n');
		for (size_t k = 0; k < json_array_size(curve); k++) {
			const json_t *r = json_array_get(curve, k);
			plot_put_num(&sb, json_object_get(r, "step"));
			sb_putc(&sb, '\t');
			plot_put_num(&sb, json_object_get(r, "train_loss"));
			sb_putc(&sb, '\t');
			plot_put_num(&sb, json_object_get(r, "val_loss"));
			sb_putc(&sb, '\n');
		}
		char name[32];
		snprintf(name, sizeof name, "curves_%zu.tsv", i);
		rc = plot_write_data(dir, name, &sb);
		sb_free(&sb);
		sb_free(&t);
		*last = (int)i;
	}
	*drawn = rc == 0 && *last >= 0;
	return rc;
}

/* ---- the training checks (probes/sanity.json) ---- */

/* Where the learning-rate range test diverges, the raw loss shoots up by
 * orders of magnitude (or to NaN) and an autoscaled axis flattens the part
 * that matters. The smoothed loss before divergence sets the y range: from
 * its minimum to the highest it was before that minimum (where training
 * started), with a margin. Diverged: after the minimum the smoothed loss
 * climbs past that starting level, or some loss is not finite. Returns 1 and
 * the range when it diverged, else 0 (the axis autoscales). */
static int lr_clip_range(const json_t *raw, const json_t *sm, double *ylo, double *yhi)
{
	size_t n = json_array_size(sm), imin = 0;
	double lo = INFINITY;
	int nonfinite = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(sm, i), *r = json_array_get(raw, i);
		if (!json_is_number(r) || !isfinite(json_number_value(r)))
			nonfinite = 1;
		if (json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) < lo) {
			lo = json_number_value(v);
			imin = i;
		}
	}
	if (!isfinite(lo))
		return 0;
	double start = lo;
	for (size_t i = 0; i <= imin; i++) {
		double v = json_number_value(json_array_get(sm, i));
		if (isfinite(v) && v > start)
			start = v;
	}
	int diverged = nonfinite;
	for (size_t i = imin + 1; i < n && !diverged; i++) {
		const json_t *v = json_array_get(sm, i);
		diverged = !json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) > start;
	}
	if (!diverged)
		return 0;
	double span = start - lo > 0 ? start - lo : (lo > 0 ? lo : 1);
	*ylo = lo - 0.5 * span > 0 ? lo - 0.5 * span : 0;
	*yhi = start + 0.5 * span;
	return 1;
}

/* lr_range.tsv: lr, raw loss, smoothed loss; lr_mark.tsv: the suggestion at
 * the smoothed loss nearest to it; lr_clip.tsv: the y range (low, high) when
 * the loss diverges (*clip set). */
static int data_lr(const struct report_model *m, const char *dir, int *drawn, int *clip)
{
	*drawn = *clip = 0;
	const json_t *lr = json_object_get(m->sanity, "lr_range");
	const json_t *x = json_object_get(lr, "lr"), *raw = json_object_get(lr, "loss"), *sm = json_object_get(lr, "smooth");
	const json_t *sug = json_object_get(lr, "suggested");
	if (json_array_size(x) < 2 || !json_is_number(sug))
		return 0;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "lr\tloss\tsmoothed loss\n");
	double s = json_number_value(sug), best = INFINITY, at = NAN;
	for (size_t i = 0; i < json_array_size(x); i++) {
		plot_put_num(&sb, json_array_get(x, i));
		sb_putc(&sb, '\t');
		plot_put_num(&sb, json_array_get(raw, i));
		sb_putc(&sb, '\t');
		plot_put_num(&sb, json_array_get(sm, i));
		sb_putc(&sb, '\n');
		double d = fabs(log(json_number_value(json_array_get(x, i)) / s));
		if (json_is_number(json_array_get(sm, i)) && d < best) {
			best = d;
			at = json_number_value(json_array_get(sm, i));
		}
	}
	int rc = plot_write_data(dir, "lr_range.tsv", &sb);
	sb.len = 0;
	sb_printf(&sb, "lr\tloss\n%.6g\t%.6g\n", s, at);
	if (rc == 0)
		rc = plot_write_data(dir, "lr_mark.tsv", &sb);
	double ylo, yhi;
	if (rc == 0 && lr_clip_range(raw, sm, &ylo, &yhi)) {
		sb.len = 0;
		sb_printf(&sb, "low\thigh\n%.6g\t%.6g\n", ylo, yhi);
		rc = plot_write_data(dir, "lr_clip.tsv", &sb);
		*clip = rc == 0;
	}
	sb_free(&sb);
	*drawn = rc == 0;
	return rc;
}

/* optimizers.tsv: x, steps to target (never reached: the planned steps are
 * unknown here, so NaN and no bar), "optimizer/schedule" label. */
static int data_optim(const struct report_model *m, const char *dir, int *drawn)
{
	*drawn = 0;
	const json_t *runs = json_object_get(json_object_get(m->sanity, "optimizers"), "runs");
	if (!json_array_size(runs))
		return 0;
	struct strbuf sb, t;
	sb_init(&sb);
	sb_init(&t);
	sb_puts(&sb, "x\tsteps\trun\n");
	for (size_t i = 0; i < json_array_size(runs); i++) {
		const json_t *r = json_array_get(runs, i);
		json_int_t st = json_integer_value(json_object_get(r, "steps_to_target"));
		sb_printf(&sb, "%zu\t", i);
		if (st >= 0)
			sb_printf(&sb, "%lld", (long long)st);
		else
			sb_puts(&sb, "NaN");
		sb_putc(&sb, '\t');
		t.len = 0;
		sb_printf(&t, "%s/%s", str_of(json_object_get(r, "optimizer")), str_of(json_object_get(r, "schedule")));
		escape_gnuplot_field(&sb, t.data, LABEL_CHARS);
		sb_putc(&sb, '\n');
	}
	int rc = plot_write_data(dir, "optimizers.tsv", &sb);
	sb_free(&sb);
	sb_free(&t);
	*drawn = rc == 0;
	return rc;
}

/* hpo_<grid|random|bayes>.tsv: trial, best score so far (- validation loss). */
static int data_hpo(const struct report_model *m, const char *dir, int *drawn)
{
	*drawn = 0;
	const json_t *methods = json_object_get(json_object_get(m->sanity, "hpo"), "methods");
	if (json_array_size(methods) != 3)
		return 0;
	static const char *const files[3] = {"hpo_grid.tsv", "hpo_random.tsv", "hpo_bayes.tsv"};
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < 3; k++) {
		const json_t *me = json_array_get(methods, k), *b = json_object_get(me, "best_so_far");
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, "trial\t");
		escape_gnuplot_field(&sb, str_of(json_object_get(me, "method")), LABEL_CHARS);
		sb_putc(&sb, '\n');
		for (size_t i = 0; i < json_array_size(b); i++) {
			sb_printf(&sb, "%zu\t", i + 1);
			plot_put_num(&sb, json_array_get(b, i));
			sb_putc(&sb, '\n');
		}
		if (!json_array_size(b))
			sb_puts(&sb, "1\tNaN\n");
		rc = plot_write_data(dir, files[k], &sb);
		sb_free(&sb);
	}
	*drawn = rc == 0;
	return rc;
}

static int append_plot(struct strbuf *script, const char *tmpl_name, const char *setup,
		       const struct tmpl_var *extra, size_t nextra)
{
	char *text = tmpl_load(tmpl_name);
	if (!text)
		return -1;
	struct tmpl_var vars[8];
	size_t n = 0;
	vars[n++] = (struct tmpl_var){"setup", setup};
	for (size_t i = 0; i < nextra && n < 8; i++)
		vars[n++] = extra[i];
	int rc = tmpl_render(tmpl_name, text, vars, n, script);
	free(text);
	return rc;
}

int plots_draw(struct report_model *m)
{
	char *dir = stage_output(m->ctx, "plots");
	int rc = mkdir_p(dir);
	int draw[PLOT_COUNT] = {0};
	int seg2 = 0, rel2 = 0, conf_labels = 0, curves_last = -1, lr_clip = 0;
	int slices2 = 0, tree_height = 0, tree_depth = 0, drift2 = 0, imp2 = 0, under_last = -1;
	if (rc == 0)
		rc = data_splits(m, dir, &draw[PLOT_SPLITS]);
	if (rc == 0)
		rc = data_segments(m, dir, &draw[PLOT_SEGMENTS], &seg2);
	if (rc == 0)
		rc = data_reliability(m, dir, &draw[PLOT_RELIABILITY], &rel2);
	if (rc == 0)
		rc = data_confusion(m, dir, &draw[PLOT_CONFUSION], &conf_labels);
	if (rc == 0)
		rc = data_curves(m, dir, &draw[PLOT_CURVES], &curves_last);
	if (rc == 0 && m->sanity)
		rc = data_lr(m, dir, &draw[PLOT_LR], &lr_clip);
	if (rc == 0 && m->sanity)
		rc = data_optim(m, dir, &draw[PLOT_OPTIM]);
	if (rc == 0 && m->sanity)
		rc = data_hpo(m, dir, &draw[PLOT_HPO]);
	if (rc == 0 && m->analysis)
		rc = plots_rc_slices(m, dir, &draw[PLOT_SLICES], &slices2);
	if (rc == 0 && m->analysis)
		rc = plots_rc_tree(m, dir, &draw[PLOT_TREE], &tree_height, &tree_depth);
	if (rc == 0 && m->drift)
		rc = plots_rc_drift(m, dir, &draw[PLOT_DRIFT], &drift2);
	if (rc == 0 && m->analysis)
		rc = plots_rc_importance(m, dir, &draw[PLOT_IMPORTANCE], &imp2);
	if (rc == 0 && m->analysis)
		rc = plots_rc_underrep(m, dir, &draw[PLOT_UNDERREP], &under_last);

	struct strbuf script;
	sb_init(&script);
	char *setup = rc == 0 ? tmpl_load("plots_setup.gp") : NULL;
	if (rc == 0 && !setup)
		rc = -1;
	const char *ylabel = gnuplot_axis_name(m->metric);
	if (rc == 0 && draw[PLOT_SPLITS]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_SPLITS]}, {"data", "splits.tsv"}, {"ylabel", ylabel}};
		rc = append_plot(&script, "plot_splits.gp", setup, v, 3);
	}
	if (rc == 0 && draw[PLOT_SEGMENTS]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_SEGMENTS]}, {"labels", "segment_labels.tsv"},
				       {"data", "segments_a.tsv"}, {"data2", "segments_b.tsv"},
				       {"has2", seg2 ? "1" : "0"}, {"ylabel", ylabel}};
		rc = append_plot(&script, "plot_segments.gp", setup, v, 6);
	}
	if (rc == 0 && draw[PLOT_RELIABILITY]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_RELIABILITY]}, {"data", "reliability_a.tsv"},
				       {"data2", "reliability_b.tsv"}, {"has2", rel2 ? "1" : "0"}};
		rc = append_plot(&script, "plot_reliability.gp", setup, v, 4);
	}
	if (rc == 0 && draw[PLOT_CONFUSION]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_CONFUSION]}, {"data", "confusion.tsv"},
				       {"labels", conf_labels ? "1" : "0"}};
		rc = append_plot(&script, "plot_confusion.gp", setup, v, 3);
	}
	if (rc == 0 && draw[PLOT_CURVES]) {
		char last[16];
		snprintf(last, sizeof last, "%d", curves_last);
		struct tmpl_var v[] = {{"png", plot_files[PLOT_CURVES]}, {"last", last}};
		rc = append_plot(&script, "plot_curves.gp", setup, v, 2);
	}
	if (rc == 0 && draw[PLOT_LR]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_LR]}, {"clip", lr_clip ? "1" : "0"}};
		rc = append_plot(&script, "plot_lr_range.gp", setup, v, 2);
	}
	if (rc == 0 && draw[PLOT_OPTIM]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_OPTIM]}};
		rc = append_plot(&script, "plot_optimizers.gp", setup, v, 1);
	}
	if (rc == 0 && draw[PLOT_HPO]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_HPO]}};
		rc = append_plot(&script, "plot_hpo.gp", setup, v, 1);
	}
	if (rc == 0 && draw[PLOT_SLICES]) {
		/* numbers of our own: image height from the count of bars */
		char height[16];
		snprintf(height, sizeof height, "%d", 150 + 32 * draw[PLOT_SLICES]);
		struct tmpl_var v[] = {{"png", plot_files[PLOT_SLICES]}, {"height", height}, {"labels", "slice_labels.tsv"},
				       {"data", "slices_a.tsv"}, {"data2", "slices_b.tsv"}, {"has2", slices2 ? "1" : "0"}};
		rc = append_plot(&script, "plot_slices.gp", setup, v, 6);
		draw[PLOT_SLICES] = 1;
	}
	if (rc == 0 && draw[PLOT_TREE]) {
		char height[16], xmax[16];
		snprintf(height, sizeof height, "%d", tree_height);
		snprintf(xmax, sizeof xmax, "%d.5", tree_depth);
		struct tmpl_var v[] = {{"png", plot_files[PLOT_TREE]}, {"height", height}, {"xmax", xmax}};
		rc = append_plot(&script, "plot_tree.gp", setup, v, 3);
	}
	if (rc == 0 && draw[PLOT_DRIFT]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_DRIFT]}, {"has2", drift2 ? "1" : "0"}};
		rc = append_plot(&script, "plot_drift.gp", setup, v, 2);
	}
	if (rc == 0 && draw[PLOT_IMPORTANCE]) {
		struct tmpl_var v[] = {{"png", plot_files[PLOT_IMPORTANCE]}, {"has2", imp2 ? "1" : "0"}};
		rc = append_plot(&script, "plot_importance.gp", setup, v, 2);
	}
	if (rc == 0 && draw[PLOT_UNDERREP]) {
		char last[16];
		snprintf(last, sizeof last, "%d", under_last);
		struct tmpl_var v[] = {{"png", plot_files[PLOT_UNDERREP]}, {"last", last}};
		rc = append_plot(&script, "plot_underrep.gp", setup, v, 2);
	}
	free(setup);
	if (rc == 0 && script.len) {
		char *path = path_join(dir, "plots.gp");
		rc = file_write_atomic(path, script.data, script.len);
		free(path);
	}
	sb_free(&script);
	if (rc != 0) {
		free(dir);
		return -1;
	}

	int any = 0;
	for (int i = 0; i < PLOT_COUNT; i++)
		any |= draw[i];
	if (!any) {
		free(dir);
		return 0;
	}
	enum gp_result r = gnuplot_run(dir, plots_timeout_s);
	struct strbuf note;
	sb_init(&note);
	if (r == GP_MISSING)
		sb_puts(&note, "Plots unavailable: gnuplot was not found (install gnuplot to get them).");
	else if (r == GP_TIMEOUT)
		sb_printf(&note, "Plots unavailable: gnuplot did not finish within %.0f s and was stopped.",
			  plots_timeout_s);
	else {
		/* keep whatever it drew, even when it failed part way */
		for (int i = 0; i < PLOT_COUNT; i++) {
			if (!draw[i])
				continue;
			char *png = path_join(dir, plot_files[i]);
			struct stat st;
			if (stat(png, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
				m->plot_png[i] = xstrdup(plot_files[i]);
				/* the page embeds every image: a palette halves its bytes */
				if (png_palettize(png) != 0) {
					free(png);
					free(dir);
					sb_free(&note);
					return -1;
				}
			} else {
				unlink(png);
				sb_printf(&note, "%s%s", note.len ? ", " : "Some plots could not be drawn (see plots/gnuplot.log): ",
					  plot_names[i]);
			}
			free(png);
		}
		if (note.len)
			sb_putc(&note, '.');
	}
	if (r == GP_TIMEOUT || r == GP_MISSING)
		for (int i = 0; i < PLOT_COUNT; i++) {
			/* a killed gnuplot may leave a truncated image behind */
			char *png = path_join(dir, plot_files[i]);
			unlink(png);
			free(png);
		}
	/* an empty log is noise in the published folder */
	char *log = path_join(dir, "gnuplot.log");
	struct stat lst;
	if (stat(log, &lst) == 0 && lst.st_size == 0)
		unlink(log);
	free(log);
	m->plot_note = note.len ? sb_detach(&note) : NULL;
	sb_free(&note);
	free(dir);
	return 0;
}
