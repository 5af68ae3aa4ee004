/* plots_rc.c - the data files of the root-cause plots: error slices, the
 * error tree, drift per feature, importance per split and the learning curves
 * of under-represented slices.
 *
 * Same rules as plots.c: gnuplot sees data only through these tab-separated
 * files; every label passes escape_gnuplot_field and sits in a column the
 * templates read with xticlabels/yticlabels, `with labels` or columnheader.
 * Numbers handed to the templates (image heights, axis ends) are computed
 * here from counts, never read from a file. */
#include "model.h"
#include "escape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLICE_LABEL_CHARS 48   /* horizontal bars leave room for long slice text */
#define SLICES_PLOT_MAX 20
#define TREE_COND_CHARS 34     /* one node box is about this wide at 1000 px and depth 3 */
#define TREE_NODES_MAX 63      /* depth <= 5 */
#define DRIFT_PLOT_MAX 15
#define IMPORTANCE_PLOT_MAX 15
#define UNDERREP_PLOT_MAX 6
#define LABEL_CHARS 28
#define PSI_FLOOR 1e-4         /* log axis: a PSI of 0 is drawn at the floor */

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static double num_of(const json_t *j)
{
	return json_is_number(j) ? json_number_value(j) : NAN;
}

static void put_double(struct strbuf *sb, double v)
{
	if (isfinite(v))
		sb_printf(sb, "%.6g", v);
	else
		sb_puts(sb, "NaN");
}

/* ---- error slices: one horizontal bar per listed slice ---- */

/* The first two splits among the listed slices, in listing order. */
static size_t slice_splits(const json_t *listed, const char *splits[2])
{
	size_t n = 0, i;
	const json_t *s;
	json_array_foreach(listed, i, s) {
		const char *sp = str_of(json_object_get(s, "split"));
		int seen = 0;
		for (size_t k = 0; k < n; k++)
			seen |= !strcmp(splits[k], sp);
		if (!seen && n < 2)
			splits[n++] = sp;
	}
	return n;
}

int plots_rc_slices(const struct report_model *m, const char *dir, int *drawn, int *has2)
{
	*drawn = *has2 = 0;
	const json_t *listed = json_object_get(model_analysis(m, "slices", NULL), "listed");
	const char *splits[2] = {NULL, NULL};
	size_t nsp = slice_splits(listed, splits);
	if (!nsp)
		return 0;
	struct strbuf labels, part[2];
	sb_init(&labels);
	sb_puts(&labels, "y\tslice\n");
	for (size_t k = 0; k < 2; k++) {
		sb_init(&part[k]);
		sb_puts(&part[k], "y\t");
		escape_gnuplot_field(&part[k], splits[k] ? splits[k] : "", LABEL_CHARS);
		sb_puts(&part[k], "\tlo\thi\twhole split\n");
	}
	size_t y = 0, rows[2] = {0, 0}, i;
	const json_t *s;
	json_array_foreach(listed, i, s) {
		const char *sp = str_of(json_object_get(s, "split"));
		size_t k = !strcmp(sp, splits[0]) ? 0 : nsp > 1 && !strcmp(sp, splits[1]) ? 1 : 2;
		const json_t *er = json_object_get(s, "error_rate");
		if (k == 2 || y >= SLICES_PLOT_MAX || !json_is_number(json_object_get(er, "value")))
			continue;
		sb_printf(&labels, "%zu\t", y);
		escape_gnuplot_field(&labels, str_of(json_object_get(s, "slice")), SLICE_LABEL_CHARS);
		sb_putc(&labels, '\n');
		sb_printf(&part[k], "%zu\t", y);
		plot_put_est(&part[k], er);
		sb_putc(&part[k], '\t');
		put_double(&part[k], model_error_rate(m, sp));
		sb_putc(&part[k], '\n');
		rows[k]++;
		y++;
	}
	int rc = 0;
	if (y) {
		/* the template plots slices_a.tsv always: it gets the split with rows */
		struct strbuf *a = rows[0] ? &part[0] : &part[1], *b = rows[0] && rows[1] ? &part[1] : NULL;
		rc = plot_write_data(dir, "slice_labels.tsv", &labels);
		if (rc == 0)
			rc = plot_write_data(dir, "slices_a.tsv", a);
		if (rc == 0 && b)
			rc = plot_write_data(dir, "slices_b.tsv", b);
		*drawn = rc == 0 ? (int)y : 0;
		*has2 = b != NULL;
	}
	sb_free(&labels);
	sb_free(&part[0]);
	sb_free(&part[1]);
	return rc;
}

/* ---- the error tree: boxes at computed coordinates ---- */

const char *plots_tree_split(const struct report_model *m)
{
	const json_t *trees = json_object_get(model_analysis(m, "slices", NULL), "trees");
	const char *cur = model_current_split(m);
	if (cur && json_array_size(json_object_get(trees, cur)))
		return cur;
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)trees, key, v)
		if (json_array_size(v))
			return key;
	return NULL;
}

/* The tree drawn sideways: depth along x, leaves one per row down y in the
 * order of the node list (pre-order, so a subtree's leaves are adjacent), each
 * inner node at the mean height of its children. tree.tsv: x, y, shade (error
 * rate over the tree's worst, 0..1), condition, numbers, parent x, parent y. */
int plots_rc_tree(const struct report_model *m, const char *dir, int *drawn, int *height, int *depth)
{
	*drawn = 0;
	*height = *depth = 0;
	const char *split = plots_tree_split(m);
	if (!split)
		return 0;
	const json_t *nodes = json_object_get(json_object_get(model_analysis(m, "slices", NULL), "trees"), split);
	size_t n = json_array_size(nodes);
	if (n > TREE_NODES_MAX)
		n = TREE_NODES_MAX;
	long long *id = xcalloc(n, sizeof *id);
	long *parent = xcalloc(n, sizeof *parent);  /* index into nodes, -1 for the root */
	double *ysum = xcalloc(n, sizeof *ysum), *y = xcalloc(n, sizeof *y);
	size_t *nchild = xcalloc(n, sizeof *nchild);
	for (size_t i = 0; i < n; i++)
		id[i] = json_integer_value(json_object_get(json_array_get(nodes, i), "id"));
	double leaves = 0, worst = 0, total_err = num_of(json_object_get(json_array_get(nodes, 0), "errors"));
	for (size_t i = 0; i < n; i++) {
		const json_t *nd = json_array_get(nodes, i);
		const json_t *p = json_object_get(nd, "parent");
		parent[i] = -1;
		for (size_t k = 0; json_is_integer(p) && k < i; k++)
			if (id[k] == json_integer_value(p))
				parent[i] = (long)k;
		double er = num_of(json_object_get(nd, "error_rate"));
		if (isfinite(er) && er > worst)
			worst = er;
	}
	/* leaves first, then inner nodes from the bottom up (children follow
	 * their parent in pre-order, so a reverse walk sees children first) */
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			nchild[i] += parent[k] == (long)i;
	for (size_t i = 0; i < n; i++)
		if (!nchild[i])
			y[i] = leaves++;
	for (size_t i = n; i-- > 0;) {
		if (nchild[i])
			y[i] = ysum[i] / (double)nchild[i];
		if (parent[i] >= 0)
			ysum[parent[i]] += y[i];
	}
	struct strbuf sb, t;
	sb_init(&sb);
	sb_init(&t);
	sb_puts(&sb, "x\ty\tshade\tcondition\tnumbers\tpx\tpy\n");
	for (size_t i = 0; i < n; i++) {
		const json_t *nd = json_array_get(nodes, i);
		double er = num_of(json_object_get(nd, "error_rate")), errs = num_of(json_object_get(nd, "errors"));
		long long d = json_integer_value(json_object_get(nd, "depth"));
		if (d > *depth)
			*depth = (int)d;
		sb_printf(&sb, "%lld\t%.3f\t", d, y[i]);
		put_double(&sb, worst > 0 && isfinite(er) ? er / worst : 0);
		sb_putc(&sb, '\t');
		escape_gnuplot_field(&sb, str_of(json_object_get(nd, "condition")), TREE_COND_CHARS);
		sb_putc(&sb, '\t');
		t.len = 0;
		t.data[0] = 0;
		fmt_count(&t, (long long)json_integer_value(json_object_get(nd, "rows")));
		sb_printf(&t, " rows · %.1f%% wrong · %.0f%% of errors", 100 * er,
			  total_err > 0 ? 100 * errs / total_err : 0.0);
		escape_gnuplot_field(&sb, t.data, 60);
		if (parent[i] >= 0) {
			long long pd = json_integer_value(json_object_get(json_array_get(nodes, (size_t)parent[i]), "depth"));
			sb_printf(&sb, "\t%lld\t%.3f\n", pd, y[parent[i]]);
		} else
			sb_puts(&sb, "\tNaN\tNaN\n");
	}
	int rc = plot_write_data(dir, "tree.tsv", &sb);
	sb_free(&sb);
	sb_free(&t);
	free(id);
	free(parent);
	free(ysum);
	free(y);
	free(nchild);
	*drawn = rc == 0;
	*height = 90 + 56 * (int)(leaves > 0 ? leaves : 1);
	return rc;
}

/* ---- drift: PSI per feature for up to two splits ---- */

static const json_t *drift_row(const struct report_model *m, const char *split, const char *feature)
{
	size_t i;
	const json_t *r;
	json_array_foreach(m->drift, i, r)
		if (!strcmp(str_of(json_object_get(r, "split")), split) &&
		    !strcmp(str_of(json_object_get(r, "feature")), feature))
			return r;
	return NULL;
}

int plots_rc_drift(const struct report_model *m, const char *dir, int *drawn, int *has2)
{
	*drawn = *has2 = 0;
	/* the splits in drift.csv, in the run's split order: test and the compared split */
	const char *splits[2] = {NULL, NULL};
	size_t nsp = 0;
	for (size_t i = 0; i < model_nsplits(m); i++) {
		const char *s = model_split_name(m, i);
		size_t k;
		const json_t *r;
		json_array_foreach(m->drift, k, r)
			if (!strcmp(str_of(json_object_get(r, "split")), s))
				break;
		if (k == json_array_size(m->drift))
			continue;
		if (nsp < 2)
			splits[nsp++] = s;
		else if (s == model_current_split(m))
			splits[1] = s;   /* several windows: test and the compared one */
	}
	if (!nsp)
		return 0;
	/* the distinct features, by their largest PSI over the two splits */
	size_t nr = json_array_size(m->drift), nf = 0;
	const char **feat = xcalloc(nr ? nr : 1, sizeof *feat);
	double *key = xcalloc(nr ? nr : 1, sizeof *key);
	for (size_t i = 0; i < nr; i++) {
		const json_t *r = json_array_get(m->drift, i);
		const char *sp = str_of(json_object_get(r, "split"));
		if (strcmp(sp, splits[0]) && (nsp < 2 || strcmp(sp, splits[1])))
			continue;
		const char *f = str_of(json_object_get(r, "feature"));
		double psi = num_of(json_object_get(r, "psi"));
		size_t k = 0;
		while (k < nf && strcmp(feat[k], f))
			k++;
		if (k == nf) {
			feat[nf] = f;
			key[nf++] = -1;
		}
		if (isfinite(psi) && psi > key[k])
			key[k] = psi;
	}
	for (size_t a = 1; a < nf; a++)   /* insertion sort: stable */
		for (size_t b = a; b > 0 && key[b] > key[b - 1]; b--) {
			double tk = key[b];
			key[b] = key[b - 1];
			key[b - 1] = tk;
			const char *tf = feat[b];
			feat[b] = feat[b - 1];
			feat[b - 1] = tf;
		}
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "x\tfeature\t");
	escape_gnuplot_field(&sb, splits[0], LABEL_CHARS);
	sb_puts(&sb, "\tdrifted\t");
	escape_gnuplot_field(&sb, nsp > 1 ? splits[1] : "(none)", LABEL_CHARS);
	sb_puts(&sb, "\tdrifted\n");
	size_t shown = nf < DRIFT_PLOT_MAX ? nf : DRIFT_PLOT_MAX;
	for (size_t i = 0; i < shown; i++) {
		sb_printf(&sb, "%zu\t", i);
		escape_gnuplot_field(&sb, feat[i], LABEL_CHARS);
		for (size_t s = 0; s < 2; s++) {
			const json_t *r = s < nsp ? drift_row(m, splits[s], feat[i]) : NULL;
			double psi = num_of(json_object_get(r, "psi"));
			sb_putc(&sb, '\t');
			put_double(&sb, isfinite(psi) ? (psi > PSI_FLOOR ? psi : PSI_FLOOR) : NAN);
			sb_printf(&sb, "\t%d", num_of(json_object_get(r, "flagged")) > 0);
		}
		sb_putc(&sb, '\n');
	}
	int rc = shown ? plot_write_data(dir, "drift.tsv", &sb) : 0;
	*drawn = rc == 0 && shown;
	*has2 = nsp > 1;
	sb_free(&sb);
	free(feat);
	free(key);
	return rc;
}

/* ---- importance: train against the last split measured ---- */

int plots_rc_importance(const struct report_model *m, const char *dir, int *drawn, int *has2)
{
	*drawn = *has2 = 0;
	const json_t *a = model_analysis(m, "importance", NULL);
	const json_t *splits = json_object_get(a, "splits");
	size_t ns = json_array_size(splits);
	if (!a || !ns)
		return 0;
	const char *s1 = json_string_value(json_array_get(splits, 0));
	const char *s2 = ns > 1 ? json_string_value(json_array_get(splits, ns - 1)) : NULL;
	const json_t *order[IMPORTANCE_PLOT_MAX];
	size_t n = sections_importance_order(a, order, IMPORTANCE_PLOT_MAX);
	if (!n || !s1)
		return 0;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "x\tfeature\t");
	escape_gnuplot_field(&sb, s1, LABEL_CHARS);
	sb_puts(&sb, "\tlo\thi\t");
	escape_gnuplot_field(&sb, s2 ? s2 : "(none)", LABEL_CHARS);
	sb_puts(&sb, "\tlo\thi\n");
	for (size_t i = 0; i < n; i++) {
		const json_t *by = json_object_get(order[i], "by_split");
		sb_printf(&sb, "%zu\t", i);
		escape_gnuplot_field(&sb, str_of(json_object_get(order[i], "feature")), LABEL_CHARS);
		sb_putc(&sb, '\t');
		plot_put_est(&sb, json_object_get(json_object_get(by, s1), "importance"));
		sb_putc(&sb, '\t');
		plot_put_est(&sb, s2 ? json_object_get(json_object_get(by, s2), "importance") : NULL);
		sb_putc(&sb, '\n');
	}
	int rc = plot_write_data(dir, "importance.tsv", &sb);
	sb_free(&sb);
	*drawn = rc == 0;
	*has2 = s2 != NULL;
	return rc;
}

/* ---- learning curves of under-represented slices: underrep_<i>.tsv ---- */

int plots_rc_underrep(const struct report_model *m, const char *dir, int *drawn, int *last)
{
	*drawn = 0;
	*last = -1;
	const json_t *a = model_analysis(m, "underrepresented", NULL);
	int rc = 0;
	size_t i, k = 0;
	const json_t *e;
	json_array_foreach(a, i, e) {
		const json_t *curve = json_object_get(e, "curve");
		if (rc != 0 || k >= UNDERREP_PLOT_MAX || json_array_size(curve) < 2)
			continue;
		struct strbuf sb;
		sb_init(&sb);
		sb_puts(&sb, "rows\t");
		escape_gnuplot_field(&sb, str_of(json_object_get(e, "slice")), LABEL_CHARS + 12);
		sb_puts(&sb, "\tlo\thi\n");
		size_t j;
		const json_t *pt;
		json_array_foreach(curve, j, pt) {
			plot_put_num(&sb, json_object_get(pt, "train_rows"));
			sb_putc(&sb, '\t');
			plot_put_est(&sb, json_object_get(pt, "accuracy"));
			sb_putc(&sb, '\n');
		}
		char name[32];
		snprintf(name, sizeof name, "underrep_%zu.tsv", k);
		rc = plot_write_data(dir, name, &sb);
		sb_free(&sb);
		*last = (int)k++;
	}
	*drawn = rc == 0 && *last >= 0;
	return rc;
}
