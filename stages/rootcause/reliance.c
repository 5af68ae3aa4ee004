/* reliance.c - features the model leans on, that drift, or whose values go
 * with its errors. Rules in reliance.h. */
#include "reliance.h"
#include "leakage.h"
#include "rcstats.h"
#include "slicecond.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BINS (RELIANCE_LEVELS + 2)   /* >= RELIANCE_BINS + 1, levels + other + missing */

/* Errors by value bin of one column in one split. */
struct ebins {
	int tested;
	size_t nb;
	double rows[MAX_BINS], errs[MAX_BINS];
	char label[MAX_BINS][96];
	double chi2, p, q;
	size_t worst;         /* bin with the highest error rate among bins with >= 30 rows */
	double overall;
};

struct lrow { size_t rows; int32_t level; };

static int lrow_desc(const void *x, const void *y)
{
	const struct lrow *a = x, *b = y;
	if (a->rows != b->rows)
		return a->rows < b->rows ? 1 : -1;
	return a->level - b->level;
}

static void error_bins(struct rc_data *d, size_t j, size_t s, struct ebins *eb)
{
	const struct rc_column *c = &d->cols[j];
	const struct rc_split *sp = &d->splits[s];
	memset(eb, 0, sizeof *eb);
	if (c->fidx[s] < 0 || !sp->err || sp->n_eval < 60)
		return;
	size_t miss;   /* the missing bin's index */
	if (c->numeric) {
		size_t n;
		const double *v = rcdata_sorted(d, j, s, &n);
		double raw[RELIANCE_BINS], edges[RELIANCE_BINS];
		size_t ne = n ? rcstats_quantile_edges(v, n, RELIANCE_BINS, raw) : 0, k = 0;
		for (size_t i = 0; i < ne; i++) {
			double e = slicecond_round(raw[i], 2);
			if (e > v[0] && (k == 0 || e > edges[k - 1]))
				edges[k++] = e;
		}
		ne = k;
		for (size_t b = 0; b <= ne; b++) {
			/* the slices' wording, so a bin reads the same in both tables */
			struct slice_cond sc = {.col = j, .kind = COND_RANGE, .lo = b ? edges[b - 1] : -INFINITY,
						.hi = b < ne ? edges[b] : INFINITY};
			struct strbuf sb;
			sb_init(&sb);
			slicecond_text(d, &sc, &sb);
			snprintf(eb->label[b], sizeof eb->label[b], "%s", sb.data);
			sb_free(&sb);
		}
		miss = ne + 1;
		for (size_t i = 0; i < sp->nrows; i++) {
			if (sp->err[i] < 0)
				continue;
			double x = rcdata_num(d, c, s, i);
			size_t b = isnan(x) ? miss : rcstats_bin(edges, ne, x);
			eb->rows[b]++;
			eb->errs[b] += sp->err[i];
		}
	} else {
		size_t *cnt = xcalloc(c->nlevels + 1, sizeof *cnt);
		for (size_t i = 0; i < sp->nrows; i++) {
			int32_t l = sp->err[i] >= 0 ? rcdata_level(d, c, s, i) : -1;
			if (l >= 0)
				cnt[l]++;
		}
		struct lrow *lr = xmalloc((c->nlevels + 1) * sizeof *lr);
		size_t k = 0;
		for (size_t l = 0; l < c->nlevels; l++)
			if (cnt[l])
				lr[k++] = (struct lrow){cnt[l], (int32_t)l};
		qsort(lr, k, sizeof *lr, lrow_desc);
		size_t top = k < RELIANCE_LEVELS ? k : RELIANCE_LEVELS;
		int32_t *bin_of = xmalloc((c->nlevels + 1) * sizeof *bin_of);
		for (size_t l = 0; l < c->nlevels; l++)
			bin_of[l] = (int32_t)top;   /* other */
		for (size_t b = 0; b < top; b++) {
			bin_of[lr[b].level] = (int32_t)b;
			snprintf(eb->label[b], sizeof eb->label[b], "%s=%s", c->name, c->levels[lr[b].level]);
		}
		snprintf(eb->label[top], sizeof eb->label[top], "%s (other levels)", c->name);
		miss = top + 1;
		for (size_t i = 0; i < sp->nrows; i++) {
			if (sp->err[i] < 0)
				continue;
			int32_t l = rcdata_level(d, c, s, i);
			size_t b = l < 0 ? miss : (size_t)bin_of[l];
			eb->rows[b]++;
			eb->errs[b] += sp->err[i];
		}
		free(bin_of);
		free(lr);
		free(cnt);
	}
	snprintf(eb->label[miss], sizeof eb->label[miss], "%s is missing", c->name);
	eb->nb = miss + 1;
	double t[2 * MAX_BINS], dof;
	for (size_t b = 0; b < eb->nb; b++) {
		t[b] = eb->errs[b];
		t[eb->nb + b] = eb->rows[b] - eb->errs[b];
	}
	eb->chi2 = rcstats_chi2_table(t, 2, eb->nb, &dof, &eb->p);
	eb->tested = dof > 0;
	eb->overall = sp->n_eval ? (double)sp->n_err / (double)sp->n_eval : NAN;
	double best = -1;
	for (size_t b = 0; b < eb->nb; b++)
		if (eb->rows[b] >= 30 && eb->errs[b] / eb->rows[b] > best) {
			best = eb->errs[b] / eb->rows[b];
			eb->worst = b;
		}
	eb->q = NAN;
}

struct imp { double auc; int important; };

int reliance_run(struct rc_data *d, const struct drift_cell *cells, const uint8_t *unit, json_t *findings,
		 json_t *analysis)
{
	json_t *out = json_object();
	json_object_set_new(analysis, "reliance", out);
	if (!d->model_mode) {
		json_object_set_new(out, "note", json_string("data mode: no model outputs"));
		return 0;
	}
	size_t nc = d->ncols, ns = d->nsplits;
	/* 1. how much the model leans on each feature */
	struct imp *imp = xcalloc(nc ? nc : 1, sizeof *imp);
	int8_t *target = leakage_target(d, 0, 1);
	json_t *ij = json_array();
	if (target) {
		double top[3] = {-1, -1, -1};
		for (size_t j = 0; j < nc; j++) {
			size_t np, nn;
			double a = leakage_feature_auc(d, 0, j, target, &np, &nn);
			imp[j].auc = isnan(a) ? NAN : a < 0.5 ? 1 - a : a;
			if (!isnan(imp[j].auc))
				for (int t = 0; t < 3; t++)
					if (imp[j].auc > top[t]) {
						for (int u = 2; u > t; u--)
							top[u] = top[u - 1];
						top[t] = imp[j].auc;
						break;
					}
		}
		for (size_t j = 0; j < nc; j++) {
			double a = imp[j].auc;
			imp[j].important = !isnan(a) && (a >= RELIANCE_AUC || (a >= RELIANCE_AUC_MIN && a >= top[2]));
			json_t *e = json_object();
			json_object_set_new(e, "feature", json_string(d->cols[j].name));
			json_object_set_new(e, "auc_vs_prediction", json_num_or_null(a));
			json_object_set_new(e, "important", json_boolean(imp[j].important));
			json_array_append_new(ij, e);
		}
		free(target);
	} else {
		json_object_set_new(out, "importance_note", json_string(
			"the single-feature AUC against the model's predictions needs a binary task with predictions on train"));
	}
	json_object_set_new(out, "importance", ij);

	/* 2. errors by value */
	struct ebins *eb = xcalloc(ns * (nc ? nc : 1), sizeof *eb);
	double *p = xmalloc((ns * nc + 1) * sizeof *p), *q = xmalloc((ns * nc + 1) * sizeof *q);
	size_t m = 0;
	for (size_t s = 1; s < ns; s++)
		for (size_t j = 0; j < nc; j++) {
			error_bins(d, j, s, &eb[s * nc + j]);
			if (eb[s * nc + j].tested)
				p[m++] = eb[s * nc + j].p;
		}
	stats_bh(p, m, q);
	m = 0;
	for (size_t i = 0; i < ns * nc; i++)
		if (eb[i].tested)
			eb[i].q = q[m++];
	free(p);
	free(q);

	json_t *ebj = json_array();
	for (size_t s = 1; s < ns; s++)
		for (size_t j = 0; j < nc; j++) {
			const struct ebins *b = &eb[s * nc + j];
			if (!b->tested)
				continue;
			const struct rc_column *c = &d->cols[j];
			const char *split = d->splits[s].name;
			json_t *e = json_object(), *bins = json_array();
			for (size_t k = 0; k < b->nb; k++) {
				if (b->rows[k] == 0)
					continue;
				json_t *bj = json_object();
				json_object_set_new(bj, "bin", json_string(b->label[k]));
				json_object_set_new(bj, "rows", json_integer((json_int_t)b->rows[k]));
				json_object_set_new(bj, "errors", json_integer((json_int_t)b->errs[k]));
				json_object_set_new(bj, "error_rate", json_num_or_null(b->errs[k] / b->rows[k]));
				json_array_append_new(bins, bj);
			}
			json_object_set_new(e, "split", json_string(split));
			json_object_set_new(e, "feature", json_string(c->name));
			json_object_set_new(e, "bins", bins);
			json_object_set_new(e, "chi2", json_num_or_null(b->chi2));
			json_object_set_new(e, "p_value", json_num_or_null(b->p));
			json_object_set_new(e, "q_value", json_num_or_null(b->q));
			json_array_append_new(ebj, e);

			double wr = b->rows[b->worst] > 0 ? b->errs[b->worst] / b->rows[b->worst] : NAN;
			int concentrated = b->q < RELIANCE_Q && wr >= RELIANCE_RATIO * b->overall && wr - b->overall >= RELIANCE_RISE;
			const struct drift_cell *dc = cells ? &cells[s * nc + j] : NULL;
			int drifted = dc && dc->flagged;
			int explained = unit && unit[s * nc + j];
			int important = imp[j].important;
			if (!(important && drifted) && !concentrated)
				continue;
			enum severity sev = (important && drifted && !explained) || (important && concentrated) ? SEV_MEDIUM : SEV_LOW;
			struct strbuf t;
			sb_init(&t);
			if (important && drifted)
				sb_printf(&t, "The model leans on %s (alone it ranks the model's predictions with AUC %.2f) and %s "
					      "drifted in %s (PSI %.2f)", c->name, imp[j].auc, c->name, split, dc->psi);
			else if (important)
				sb_printf(&t, "The model leans on %s (AUC %.2f against its predictions)", c->name, imp[j].auc);
			if (concentrated && t.len)
				sb_printf(&t, "; in %s its errors concentrate where %s: %.1f%% against %.1f%% overall",
					  split, b->label[b->worst], 100 * wr, 100 * b->overall);
			else if (concentrated)
				sb_printf(&t, "In %s the model's errors concentrate where %s: %.1f%% against %.1f%% overall",
					  split, b->label[b->worst], 100 * wr, 100 * b->overall);
			sb_putc(&t, '.');
			json_t *ev = json_object();
			json_object_set_new(ev, "auc_vs_prediction", json_num_or_null(imp[j].auc));
			json_object_set_new(ev, "important", json_boolean(important));
			json_object_set_new(ev, "drifted", json_boolean(drifted));
			if (dc && dc->tested) {
				json_object_set_new(ev, "psi", json_num_or_null(dc->psi));
				json_object_set_new(ev, "drift_q_value", json_num_or_null(dc->q));
			}
			if (explained)
				json_object_set_new(ev, "explained_by", json_string("unit change (pipeline_change finding)"));
			json_object_set_new(ev, "worst_bin", json_string(b->label[b->worst]));
			double lo, hi;
			stats_wilson((size_t)b->errs[b->worst], (size_t)b->rows[b->worst], STATS_Z95, &lo, &hi);
			json_object_set_new(ev, "worst_bin_error_rate", estimate_json(wr, lo, hi, (long long)b->rows[b->worst], NULL));
			json_object_set_new(ev, "error_rate", json_num_or_null(b->overall));
			json_object_set_new(ev, "chi2", json_num_or_null(b->chi2));
			json_object_set_new(ev, "p_value", json_num_or_null(b->p));
			json_object_set_new(ev, "q_value", json_num_or_null(b->q));
			json_object_set_new(ev, "rule", json_string(
				"important-looking (AUC vs predictions >= 0.65, or top 3 and >= 0.55) and drifted: medium; errors "
				"concentrate in a bin (q < 0.05, >= 2x and +10 points over the split): low, medium when important"));
			json_array_append_new(findings, finding_new("feature_reliance", 3, sev, t.data,
				subject_new(split, c->name, NULL, NULL, (long long)d->splits[s].n_eval), ev));
			sb_free(&t);
		}
	json_object_set_new(out, "errors_by_value", ebj);
	json_object_set_new(out, "method", json_string(
		"importance: ROC-AUC of the feature alone against the model's predicted class on train (max(AUC, 1-AUC)); "
		"errors by value: error rate per bin (5 quantile bins / 10 levels + other, plus missing) on each split after "
		"train, chi-square across bins, Benjamini-Hochberg across these tests"));
	free(eb);
	free(imp);
	return 0;
}
