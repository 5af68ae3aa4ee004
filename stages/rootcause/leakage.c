/* leakage.c - single-column AUCs against the label. Rules in leakage.h. */
#include "leakage.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int8_t *leakage_target(const struct rc_data *d, size_t s, int use_pred)
{
	if (d->positive < 0 || d->k != 2)
		return NULL;
	const struct rc_split *sp = &d->splits[s];
	const int32_t *v = use_pred ? sp->pred : sp->y;
	if (!v)
		return NULL;
	int8_t *t = xmalloc(sp->nrows ? sp->nrows : 1);
	for (size_t i = 0; i < sp->nrows; i++)
		t[i] = (int8_t)(v[i] < 0 ? -1 : v[i] == d->positive);
	return t;
}

/* Every step-th row: at most LEAKAGE_MAX_ROWS of them. */
static size_t sample_step(size_t n)
{
	return n > LEAKAGE_MAX_ROWS ? (n + LEAKAGE_MAX_ROWS - 1) / LEAKAGE_MAX_ROWS : 1;
}

static double numeric_auc(const struct rc_data *d, const struct rc_column *c, size_t s, const int8_t *target,
			  size_t *npos, size_t *nneg)
{
	size_t n = d->splits[s].nrows, np = 0, nn = 0, step = sample_step(n), m = n / step + 1;
	const double *x = d->splits[s].frame->cols[c->fidx[s]].num;
	double *pos = xmalloc(m * sizeof *pos), *neg = xmalloc(m * sizeof *neg);
	for (size_t i = 0; i < n; i += step) {
		if (target[i] < 0 || isnan(x[i]))
			continue;
		if (target[i])
			pos[np++] = x[i];
		else
			neg[nn++] = x[i];
	}
	rcstats_sort_doubles(pos, np);
	rcstats_sort_doubles(neg, nn);
	double auc = rcstats_auc_sorted(pos, np, neg, nn);
	free(pos);
	free(neg);
	*npos = np;
	*nneg = nn;
	return auc;
}

/* Cross-fitted level rates: rows of one parity are scored by the rates of the
 * other, so the AUC is out of sample. Missing is level L (= nlevels). */
static double categorical_auc(const struct rc_data *d, const struct rc_column *c, size_t s, const int8_t *target,
			      size_t *npos, size_t *nneg)
{
	size_t n = d->splits[s].nrows, L = c->nlevels + 1;
	double *pos = xcalloc(2 * L, sizeof *pos), *neg = xcalloc(2 * L, sizeof *neg);
	double fp[2] = {0, 0}, fn[2] = {0, 0};
	size_t step = sample_step(n);
	for (size_t i = 0; i < n; i += step) {
		if (target[i] < 0)
			continue;
		int32_t l = rcdata_level(d, c, s, i);
		size_t f = (i / step) & 1;   /* the fold: parity among the rows taken */
		size_t g = f * L + (size_t)(l < 0 ? (int32_t)c->nlevels : l);
		if (target[i]) {
			pos[g]++;
			fp[f]++;
		} else {
			neg[g]++;
			fn[f]++;
		}
	}
	double *score = xmalloc(2 * L * sizeof *score);
	for (size_t f = 0; f < 2; f++) {
		size_t o = 1 - f;
		double prior = fp[o] + fn[o] > 0 ? fp[o] / (fp[o] + fn[o]) : 0.5;
		for (size_t l = 0; l < L; l++) {
			double np = pos[o * L + l], nn = neg[o * L + l];
			score[f * L + l] = (np + LEAKAGE_SMOOTH * prior) / (np + nn + LEAKAGE_SMOOTH);
		}
	}
	double auc = rcstats_auc_groups(score, pos, neg, 2 * L);
	*npos = (size_t)(fp[0] + fp[1]);
	*nneg = (size_t)(fn[0] + fn[1]);
	free(pos);
	free(neg);
	free(score);
	return auc;
}

double leakage_feature_auc(struct rc_data *d, size_t s, size_t j, const int8_t *target, size_t *npos,
			   size_t *nneg)
{
	const struct rc_column *c = &d->cols[j];
	*npos = *nneg = 0;
	if (c->fidx[s] < 0 || !target)
		return NAN;
	return c->numeric ? numeric_auc(d, c, s, target, npos, nneg) : categorical_auc(d, c, s, target, npos, nneg);
}

/* Multiclass: the class rates of each value bin (LEAKAGE_BINS quantile bins
 * of a numeric column, the levels of a categorical one, missing as its own),
 * cross-fitted by row parity like categorical_auc, score each row for each
 * class; the AUC is the mean over classes of the one-vs-rest AUCs. */
static double multiclass_auc(struct rc_data *d, size_t s, size_t j, size_t *n_used)
{
	const struct rc_column *c = &d->cols[j];
	const struct rc_split *sp = &d->splits[s];
	size_t n = sp->nrows, K = (size_t)d->k, G;
	double edges[LEAKAGE_BINS];
	size_t ne = 0;
	if (c->numeric) {
		size_t nv;
		const double *v = rcdata_sorted(d, j, s, &nv);
		ne = rcstats_quantile_edges(v, nv, LEAKAGE_BINS, edges);
		G = ne + 2;
	} else {
		G = c->nlevels + 1;
	}
	double *cnt = xcalloc(2 * G * K, sizeof *cnt), *tot = xcalloc(2 * G, sizeof *tot);
	double *ftot = xcalloc(2 * K, sizeof *ftot);
	*n_used = 0;
	size_t step = sample_step(n);
	for (size_t i = 0; i < n; i += step) {
		int32_t y = sp->y[i];
		if (y < 0)
			continue;
		size_t g;
		if (c->numeric) {
			double x = rcdata_num(d, c, s, i);
			g = isnan(x) ? ne + 1 : rcstats_bin(edges, ne, x);
		} else {
			int32_t l = rcdata_level(d, c, s, i);
			g = l < 0 ? c->nlevels : (size_t)l;
		}
		size_t f = (i / step) & 1;
		cnt[(f * G + g) * K + (size_t)y]++;
		tot[f * G + g]++;
		ftot[f * K + (size_t)y]++;
		(*n_used)++;
	}
	double *score = xmalloc(2 * G * sizeof *score), *pos = xmalloc(2 * G * sizeof *pos), *neg = xmalloc(2 * G * sizeof *neg);
	double sum = 0;
	int classes = 0;
	for (size_t k = 0; k < K; k++) {
		for (size_t f = 0; f < 2; f++) {
			size_t o = 1 - f;
			double fo = 0;
			for (size_t kk = 0; kk < K; kk++)
				fo += ftot[o * K + kk];
			double prior = fo > 0 ? ftot[o * K + k] / fo : 0;
			for (size_t g = 0; g < G; g++) {
				score[f * G + g] = (cnt[(o * G + g) * K + k] + LEAKAGE_SMOOTH * prior) / (tot[o * G + g] + LEAKAGE_SMOOTH);
				pos[f * G + g] = cnt[(f * G + g) * K + k];
				neg[f * G + g] = tot[f * G + g] - pos[f * G + g];
			}
		}
		double a = rcstats_auc_groups(score, pos, neg, 2 * G);
		if (!isnan(a)) {
			sum += a;
			classes++;
		}
	}
	free(cnt);
	free(tot);
	free(ftot);
	free(score);
	free(pos);
	free(neg);
	return classes ? sum / classes : NAN;
}

struct col_auc {
	size_t col;
	double auc;      /* folded: max(auc, 1 - auc) */
	int higher;      /* larger values (or rates) go with the positive class */
	size_t npos, nneg;
};

static int auc_desc(const void *x, const void *y)
{
	const struct col_auc *a = x, *b = y;
	double va = isnan(a->auc) ? -1 : a->auc, vb = isnan(b->auc) ? -1 : b->auc;
	if (va != vb)
		return va < vb ? 1 : -1;
	return a->col < b->col ? -1 : a->col > b->col;
}

int leakage_run(struct rc_data *d, json_t *findings, json_t *analysis)
{
	json_t *out = json_object();
	int8_t *target = leakage_target(d, 0, 0);
	int multiclass = !target;
	struct col_auc *a = xmalloc((d->ncols ? d->ncols : 1) * sizeof *a);
	for (size_t j = 0; j < d->ncols; j++) {
		a[j].col = j;
		if (multiclass) {
			size_t used;
			a[j].auc = multiclass_auc(d, 0, j, &used);
			/* for the interval: one class against the rest, as even a split as the rows allow */
			a[j].npos = used / (size_t)(d->k > 0 ? d->k : 1);
			a[j].nneg = used - a[j].npos;
			a[j].higher = 1;
			continue;
		}
		double raw = leakage_feature_auc(d, 0, j, target, &a[j].npos, &a[j].nneg);
		a[j].higher = !(raw < 0.5);
		a[j].auc = isnan(raw) ? NAN : raw < 0.5 ? 1 - raw : raw;
	}
	free(target);
	qsort(a, d->ncols, sizeof *a, auc_desc);
	json_t *list = json_array();
	for (size_t r = 0; r < d->ncols; r++) {
		const struct rc_column *c = &d->cols[a[r].col];
		double se = rcstats_auc_se(a[r].auc, a[r].npos, a[r].nneg);
		json_t *e = json_object();
		json_object_set_new(e, "feature", json_string(c->name));
		json_object_set_new(e, "type", json_string(c->numeric ? "numeric" : "categorical"));
		json_object_set_new(e, "auc", estimate_json(a[r].auc, a[r].auc - STATS_Z95 * se, a[r].auc + STATS_Z95 * se,
							   (long long)(a[r].npos + a[r].nneg), "one class only"));
		if (!multiclass)
			json_object_set_new(e, "direction", json_string(a[r].higher ? "higher values go with the positive class"
											: "lower values go with the positive class"));
		json_array_append_new(list, e);
	}
	json_object_set_new(out, "split", json_string(d->splits[0].name));
	json_object_set_new(out, "columns", list);
	json_object_set_new(out, "method", json_string(multiclass
		? "multiclass (train, every k-th row, at most 200,000): for each column, the class rates of its values (20 quantile bins of a numeric column, the "
		  "levels of a categorical one) learnt on one half of train (row parity, smoothed with 10 pseudo-rows) score "
		  "the other half; the AUC is the mean one-vs-rest ROC-AUC over the classes. leakage: AUC >= 0.95 (high), or "
		  ">= 0.85 and 0.15 above every other column (medium)"
		: "ROC-AUC of each column alone against the label on train (every k-th row, at most 200,000), max(AUC, 1 - AUC): numeric by the raw value, "
		  "categorical by the per-level label rate learnt on the other half of train (row parity), smoothed with 10 "
		  "pseudo-rows; Hanley-McNeil intervals. leakage: AUC >= 0.95 (high), or >= 0.85 and 0.15 above every other "
		  "column (medium)"));
	json_object_set_new(analysis, "leakage", out);
	/* the best column when it stands far above the rest, and every column at the high bar */
	for (size_t r = 0; r < d->ncols; r++) {
		double v = a[r].auc;
		if (isnan(v))
			break;
		double next = r + 1 < d->ncols && !isnan(a[r + 1].auc) ? a[r + 1].auc : NAN;
		int high = v >= LEAKAGE_AUC;
		int far = r == 0 && d->ncols >= 3 && v >= LEAKAGE_FAR_AUC && !isnan(next) && v - next >= LEAKAGE_FAR_GAP;
		if (!high && !far)
			break;
		const struct rc_column *c = &d->cols[a[r].col];
		double se = rcstats_auc_se(v, a[r].npos, a[r].nneg);
		char *title;
		if (high)
			title = xasprintf("%s alone predicts the label with ROC-AUC %.3f on train: check that it is known at "
					  "prediction time and is not derived from the label.", c->name, v);
		else
			title = xasprintf("%s alone predicts the label with ROC-AUC %.3f on train, far above every other column "
					  "(next best %.3f): check that it is known at prediction time.", c->name, v, next);
		json_t *ev = json_object();
		json_object_set_new(ev, "auc", estimate_json(v, v - STATS_Z95 * se, v + STATS_Z95 * se,
							    (long long)(a[r].npos + a[r].nneg), NULL));
		json_object_set_new(ev, "next_best_auc", json_num_or_null(r + 1 < d->ncols ? a[r + 1].auc : NAN));
		json_object_set_new(ev, "n_pos", json_integer((json_int_t)a[r].npos));
		json_object_set_new(ev, "n_neg", json_integer((json_int_t)a[r].nneg));
		if (!multiclass)
			json_object_set_new(ev, "direction", json_string(a[r].higher ? "higher" : "lower"));
		else
			json_object_set_new(ev, "auc_kind", json_string("mean one-vs-rest over the classes, binned values"));
		json_object_set_new(ev, "rule", json_string("AUC >= 0.95: high; AUC >= 0.85 and 0.15 above every other column: medium"));
		json_array_append_new(findings, finding_new("leakage", 3, high ? SEV_HIGH : SEV_MEDIUM, title,
			subject_new(d->splits[0].name, c->name, NULL, NULL, (long long)(a[r].npos + a[r].nneg)), ev));
		free(title);
	}
	free(a);
	return 0;
}
