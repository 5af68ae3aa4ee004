/* labelshift.c - label distribution between train and the later splits.
 * The test and the rule are stated in labelshift.h. */
#include "labelshift.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- does P(x | label) hold? ----
 * Label shift means the class prior moved while each class's features stayed
 * as they were. When the features moved within the classes too (covariate
 * shift: x moved and the labels followed it, or concept drift), the change of
 * the label shares is a consequence rather than the cause, and a high
 * label_shift would send the reader to reweighting when retraining on the
 * moved data is what helps. So each numeric feature is compared between train
 * and the split within every class (two-sample KS, BH across the features and
 * classes of the split). */

struct within_test {
	size_t col;
	int cls;
	double d, p, q;
	size_t n0, n1;
};

static int within_d_desc(const void *x, const void *y)
{
	const struct within_test *a = x, *b = y;
	double da = isnan(a->d) ? -1 : a->d, db = isnan(b->d) ? -1 : b->d;
	if (da != db)
		return da < db ? 1 : -1;
	return a->col != b->col ? (a->col < b->col ? -1 : 1) : a->cls - b->cls;
}

/* Values of numeric column c in split s with label class `cls`, every step-th row, sorted. */
static double *class_values(const struct rc_data *d, const struct rc_column *c, size_t s, int cls, size_t *n)
{
	const struct rc_split *sp = &d->splits[s];
	size_t step = sp->nrows > LABELSHIFT_WITHIN_ROWS ? (sp->nrows + LABELSHIFT_WITHIN_ROWS - 1) / LABELSHIFT_WITHIN_ROWS : 1;
	double *v = xmalloc((sp->nrows / step + 1) * sizeof *v);
	size_t m = 0;
	for (size_t i = 0; i < sp->nrows; i += step) {
		if (sp->y[i] != cls)
			continue;
		double x = rcdata_num(d, c, s, i);
		if (!isnan(x))
			v[m++] = x;
	}
	rcstats_sort_doubles(v, m);
	*n = m;
	return v;
}

/* The within-class comparison of split s with train: analysis JSON, and
 * *moved = 1 when some feature moved within some class (q < LABELSHIFT_WITHIN_Q
 * and KS D >= LABELSHIFT_WITHIN_D), with the strongest such test in *top. */
static json_t *within_class(const struct rc_data *d, size_t s, int *moved, struct within_test *top)
{
	size_t cap = d->ncols * (size_t)d->k, m = 0;
	struct within_test *t = xmalloc((cap ? cap : 1) * sizeof *t);
	for (size_t j = 0; j < d->ncols; j++) {
		const struct rc_column *c = &d->cols[j];
		if (!c->numeric || c->role != ROLE_FEATURE || c->fidx[0] < 0 || c->fidx[s] < 0)
			continue;
		for (int cls = 0; cls < d->k; cls++) {
			size_t n0, n1;
			double *a = class_values(d, c, 0, cls, &n0), *b = class_values(d, c, s, cls, &n1);
			if (n0 >= LABELSHIFT_WITHIN_MIN && n1 >= LABELSHIFT_WITHIN_MIN) {
				struct within_test *w = &t[m++];
				w->col = j;
				w->cls = cls;
				w->n0 = n0;
				w->n1 = n1;
				rcstats_ks2(a, n0, b, n1, 1.0, &w->d, &w->p);
			}
			free(a);
			free(b);
		}
	}
	double *p = xmalloc((m ? m : 1) * sizeof *p), *q = xmalloc((m ? m : 1) * sizeof *q);
	for (size_t i = 0; i < m; i++)
		p[i] = isnan(t[i].p) ? 1.0 : t[i].p;
	stats_bh(p, m, q);
	for (size_t i = 0; i < m; i++)
		t[i].q = q[i];
	free(p);
	free(q);
	qsort(t, m, sizeof *t, within_d_desc);
	*moved = 0;
	json_t *o = json_object(), *list = json_array();
	for (size_t i = 0; i < m; i++) {
		int flag = t[i].q < LABELSHIFT_WITHIN_Q && t[i].d >= LABELSHIFT_WITHIN_D;
		if (flag && !*moved) {
			*moved = 1;
			*top = t[i];
		}
		if (i < 5) {
			json_t *e = json_object();
			json_object_set_new(e, "feature", json_string(d->cols[t[i].col].name));
			json_object_set_new(e, "class", json_string(d->classes[t[i].cls]));
			json_object_set_new(e, "ks_d", json_num_or_null(t[i].d));
			json_object_set_new(e, "p_value", json_num_or_null(t[i].p));
			json_object_set_new(e, "q_value", json_num_or_null(t[i].q));
			json_object_set_new(e, "n_train", json_integer((json_int_t)t[i].n0));
			json_object_set_new(e, "n", json_integer((json_int_t)t[i].n1));
			json_object_set_new(e, "moved", json_boolean(flag));
			json_array_append_new(list, e);
		}
	}
	json_object_set_new(o, "tests", json_integer((json_int_t)m));
	json_object_set_new(o, "largest", list);
	json_object_set_new(o, "features_moved_within_classes", json_boolean(*moved));
	json_object_set_new(o, "rule", json_string(
		"each numeric feature, train against the split within each class (every k-th row, at most 50,000 a split), "
		"two-sample KS, BH across the features and classes; moved when q < 0.001 and D >= 0.10"));
	free(t);
	return o;
}

int labelshift_run(const struct rc_data *d, json_t *findings, json_t *analysis)
{
	size_t ns = d->nsplits, k = (size_t)d->k;
	json_t *out = json_array();
	if (ns < 2 || k < 2) {
		json_object_set_new(analysis, "label_shift", out);
		return 0;
	}
	double *cnt = xcalloc(ns * k, sizeof *cnt);
	for (size_t s = 0; s < ns; s++)
		for (size_t i = 0; i < d->splits[s].nrows; i++)
			if (d->splits[s].y[i] >= 0)
				cnt[s * k + (size_t)d->splits[s].y[i]]++;
	double *p = xmalloc(ns * sizeof *p), *q = xmalloc(ns * sizeof *q), *chi = xmalloc(ns * sizeof *chi);
	size_t m = 0;
	for (size_t s = 1; s < ns; s++) {
		double t[2 * 64], dof;
		double *tab = k <= 64 ? t : xmalloc(2 * k * sizeof *tab);
		memcpy(tab, cnt, k * sizeof *tab);
		memcpy(tab + k, cnt + s * k, k * sizeof *tab);
		chi[s] = rcstats_chi2_table(tab, 2, k, &dof, &p[m]);
		if (tab != t)
			free(tab);
		m++;
	}
	stats_bh(p, m, q);
	size_t n0 = d->splits[0].n_labelled;
	for (size_t s = 1; s < ns; s++) {
		const char *split = d->splits[s].name;
		size_t n1 = d->splits[s].n_labelled;
		double ps = p[s - 1], qs = q[s - 1];
		/* the class whose share moved: the positive one, or the one that moved most */
		size_t c = d->positive >= 0 ? (size_t)d->positive : 0;
		if (d->positive < 0 && n0 && n1) {
			double best = -1;
			for (size_t j = 0; j < k; j++) {
				double diff = fabs(cnt[s * k + j] / (double)n1 - cnt[j] / (double)n0);
				if (diff > best) {
					best = diff;
					c = j;
				}
			}
		}
		size_t k0 = (size_t)cnt[c], k1 = (size_t)cnt[s * k + c];
		double r0 = n0 ? (double)k0 / (double)n0 : NAN, r1 = n1 ? (double)k1 / (double)n1 : NAN;
		double lo, hi;
		rcstats_diff_ci(k1, n1, k0, n0, &lo, &hi);
		json_t *e = json_object(), *shares = json_object();
		for (size_t j = 0; j < k; j++) {
			json_t *sj = json_object();
			json_object_set_new(sj, "train", json_num_or_null(n0 ? cnt[j] / (double)n0 : NAN));
			json_object_set_new(sj, split, json_num_or_null(n1 ? cnt[s * k + j] / (double)n1 : NAN));
			json_object_set_new(shares, d->classes[j], sj);
		}
		json_object_set_new(e, "split", json_string(split));
		json_object_set_new(e, "n_train", json_integer((json_int_t)n0));
		json_object_set_new(e, "n", json_integer((json_int_t)n1));
		json_object_set_new(e, "shares", shares);
		json_object_set_new(e, "chi2", json_num_or_null(chi[s]));
		json_object_set_new(e, "p_value", json_num_or_null(ps));
		json_object_set_new(e, "q_value", json_num_or_null(qs));
		json_object_set_new(e, "class", json_string(d->classes[c]));
		json_object_set_new(e, "shift", estimate_json(r1 - r0, lo, hi, (long long)(n0 + n1), "no labels"));
		json_array_append_new(out, e);
		double shift = r1 - r0;
		if (!(qs < LABELSHIFT_Q) || !(fabs(shift) >= LABELSHIFT_MIN))
			continue;
		/* only a shift worth a finding pays for the within-class tests */
		int moved = 0;
		struct within_test top;
		json_object_set_new(e, "within_class", within_class(d, s, &moved, &top));
		struct strbuf title;
		sb_init(&title);
		sb_printf(&title, "The share of label '%s' moved from %.1f%% in train to %.1f%% in %s "
			  "(%+.1f points, 95%% CI %+.1f to %+.1f)", d->classes[c], 100 * r0, 100 * r1, split,
			  100 * shift, 100 * lo, 100 * hi);
		if (moved)
			sb_printf(&title, ", but the features moved within the classes too (%s among '%s': KS D %.2f), so "
				  "covariate or concept drift may explain it", d->cols[top.col].name, d->classes[top.cls], top.d);
		sb_puts(&title, ".");
		json_t *ev = json_deep_copy(e);
		json_object_set_new(ev, "rule", json_string(
			"chi-square over the classes, BH across the label tests of the run; finding when q < 0.05 and the "
			"shift is at least 5 points; high from 15 points when each class's features kept train's "
			"distribution (P(x | label) unchanged), else medium"));
		enum severity sev = fabs(shift) >= 0.15 && !moved ? SEV_HIGH : SEV_MEDIUM;
		json_array_append_new(findings, finding_new("label_shift", 3, sev, title.data,
			subject_new(split, NULL, NULL, NULL, (long long)n1), ev));
		sb_free(&title);
	}
	free(cnt);
	free(p);
	free(q);
	free(chi);
	json_object_set_new(analysis, "label_shift", out);
	return 0;
}
