/* drift.c - per-column data drift between train and the later splits.
 * Tests and the flagging rule are stated in drift.h. */
#include "drift.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ROWS 20   /* fewer values in either sample: not tested */

void drift_numeric(const double *a, size_t na, const double *b, size_t nb, struct drift_cell *out)
{
	memset(out, 0, sizeof *out);
	out->q = out->js = NAN;
	rcstats_ks2(a, na, b, nb, 1.0, &out->stat, &out->p);
	double sd = rcstats_sd(a, na);
	double w = rcstats_wasserstein(a, na, b, nb);
	out->wasserstein_sd = sd > 0 ? w / sd : NAN;
	double edges[DRIFT_PSI_BINS], ca[DRIFT_PSI_BINS + 1], cb[DRIFT_PSI_BINS + 1];
	size_t ne = rcstats_quantile_edges(a, na, DRIFT_PSI_BINS, edges);
	rcstats_bin_counts_sorted(a, na, edges, ne, ca);
	rcstats_bin_counts_sorted(b, nb, edges, ne, cb);
	out->psi = rcstats_psi(ca, cb, ne + 1);
	out->tested = 1;
}

void drift_categorical(const double *ca, const double *cb, size_t k, struct drift_cell *out)
{
	memset(out, 0, sizeof *out);
	out->q = out->wasserstein_sd = NAN;
	double *t = xmalloc((2 * k + 1) * sizeof *t);
	memcpy(t, ca, k * sizeof *t);
	memcpy(t + k, cb, k * sizeof *t);
	double dof;
	out->stat = rcstats_chi2_table(t, 2, k, &dof, &out->p);
	free(t);
	out->psi = rcstats_psi(ca, cb, k);
	out->js = rcstats_js_distance(ca, cb, k);
	out->tested = 1;
}

struct level_count { double total; size_t level; };

static int lc_cmp(const void *x, const void *y)
{
	const struct level_count *a = x, *b = y;
	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return a->level < b->level ? -1 : a->level > b->level;
}

/* Level counts of train and split s over the most frequent levels, the rest
 * pooled in a last "other" bin. *k receives the bins; *names the level of each
 * bin (-1 for other). Caller frees the three arrays. */
static void categorical_counts(const struct rc_data *d, const struct rc_column *c, size_t s, double **ca,
			       double **cb, long **names, size_t *k)
{
	size_t nl = c->nlevels;
	double *a = xcalloc(nl + 1, sizeof *a), *b = xcalloc(nl + 1, sizeof *b);
	for (size_t i = 0; i < d->splits[0].nrows; i++) {
		int32_t l = rcdata_level(d, c, 0, i);
		if (l >= 0)
			a[l]++;
	}
	for (size_t i = 0; i < d->splits[s].nrows; i++) {
		int32_t l = rcdata_level(d, c, s, i);
		if (l >= 0)
			b[l]++;
	}
	struct level_count *lc = xmalloc((nl + 1) * sizeof *lc);
	size_t m = 0;
	for (size_t l = 0; l < nl; l++)
		if (a[l] + b[l] > 0)
			lc[m++] = (struct level_count){a[l] + b[l], l};
	qsort(lc, m, sizeof *lc, lc_cmp);
	size_t keep = m > DRIFT_MAX_LEVELS ? DRIFT_MAX_LEVELS : m;
	*ca = xcalloc(keep + 1, sizeof **ca);
	*cb = xcalloc(keep + 1, sizeof **cb);
	*names = xmalloc((keep + 1) * sizeof **names);
	for (size_t i = 0; i < m; i++) {
		size_t bin = i < keep ? i : keep;
		(*ca)[bin] += a[lc[i].level];
		(*cb)[bin] += b[lc[i].level];
		if (i < keep)
			(*names)[i] = (long)lc[i].level;
	}
	(*names)[keep] = -1;
	*k = m > keep ? keep + 1 : keep;
	free(lc);
	free(a);
	free(b);
}

static void csv_row(struct strbuf *csv, const char *split, const char *col, const char *type, const char *test,
		    const struct drift_cell *c)
{
	rc_csv_str(csv, split);
	sb_putc(csv, ',');
	rc_csv_str(csv, col);
	sb_printf(csv, ",%s,%s,", type, test);
	rc_csv_num(csv, c->stat);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->p);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->q);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->wasserstein_sd);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->psi);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->js);
	sb_printf(csv, ",%d\n", c->flagged);
}

static enum severity psi_severity(double psi)
{
	return psi >= 0.25 ? SEV_HIGH : psi >= 0.1 ? SEV_MEDIUM : SEV_LOW;
}

/* The most moved level of a categorical column, for the title. */
static void top_move(const double *ca, const double *cb, const long *names, size_t k, const struct rc_column *c,
		     char *buf, size_t size)
{
	double ta = 0, tb = 0, best = -1;
	size_t bi = 0;
	for (size_t i = 0; i < k; i++) {
		ta += ca[i];
		tb += cb[i];
	}
	for (size_t i = 0; i < k; i++) {
		double diff = fabs(cb[i] / tb - ca[i] / ta);
		if (diff > best) {
			best = diff;
			bi = i;
		}
	}
	const char *name = names[bi] >= 0 ? c->levels[names[bi]] : "(other levels)";
	snprintf(buf, size, "%s is %.1f%% of train and %.1f%% of", name, 100 * ca[bi] / ta, 100 * cb[bi] / tb);
}

int drift_run(struct rc_data *d, const uint8_t *unit, struct drift_cell *cells, json_t *findings,
	      struct strbuf *csv, json_t *analysis)
{
	size_t ns = d->nsplits, nc = d->ncols;
	sb_puts(csv, "split,feature,type,test,statistic,p,q,wasserstein_sd,psi,js,flagged\n");
	for (size_t i = 0; i < ns * nc; i++) {
		memset(&cells[i], 0, sizeof cells[i]);
		cells[i].p = cells[i].q = cells[i].psi = cells[i].js = cells[i].wasserstein_sd = cells[i].stat = NAN;
	}
	json_t *skipped = json_array();
	/* pass 1: every test, so BH sees the whole family */
	for (size_t s = 1; s < ns; s++)
		for (size_t j = 0; j < nc; j++) {
			struct rc_column *c = &d->cols[j];
			struct drift_cell *cell = &cells[s * nc + j];
			if (c->fidx[0] < 0 || c->fidx[s] < 0 || rcdata_earlier_change(d, d->splits[s].name, c->name)) {
				json_t *e = json_object();
				json_object_set_new(e, "split", json_string(d->splits[s].name));
				json_object_set_new(e, "feature", json_string(c->name));
				json_object_set_new(e, "reason", json_string(
					"ingest reported the column missing or retyped in this split"));
				json_array_append_new(skipped, e);
				continue;
			}
			if (c->numeric) {
				size_t na, nb;
				const double *a = rcdata_sorted(d, j, 0, &na), *b = rcdata_sorted(d, j, s, &nb);
				if (na >= MIN_ROWS && nb >= MIN_ROWS)
					drift_numeric(a, na, b, nb, cell);
			} else {
				double *ca, *cb;
				long *names;
				size_t k;
				categorical_counts(d, c, s, &ca, &cb, &names, &k);
				double ta = 0, tb = 0;
				for (size_t i = 0; i < k; i++) {
					ta += ca[i];
					tb += cb[i];
				}
				if (ta >= MIN_ROWS && tb >= MIN_ROWS)
					drift_categorical(ca, cb, k, cell);
				free(ca);
				free(cb);
				free(names);
			}
		}
	size_t m = 0;
	double *p = xmalloc((ns * nc + 1) * sizeof *p), *q = xmalloc((ns * nc + 1) * sizeof *q);
	for (size_t i = 0; i < ns * nc; i++)
		if (cells[i].tested)
			p[m++] = cells[i].p;
	stats_bh(p, m, q);
	m = 0;
	for (size_t i = 0; i < ns * nc; i++)
		if (cells[i].tested)
			cells[i].q = q[m++];
	free(p);
	free(q);

	/* pass 2: flags, findings, table */
	json_t *table = json_array();
	for (size_t s = 1; s < ns; s++)
		for (size_t j = 0; j < nc; j++) {
			struct rc_column *c = &d->cols[j];
			struct drift_cell *cell = &cells[s * nc + j];
			if (!cell->tested)
				continue;
			const char *split = d->splits[s].name;
			int effect = c->numeric ? (cell->stat >= DRIFT_MIN_D || cell->psi >= DRIFT_MIN_PSI)
						: (cell->psi >= DRIFT_MIN_PSI || cell->js >= DRIFT_MIN_JS);
			cell->flagged = cell->q < DRIFT_Q && effect;
			const char *type = c->numeric ? "numeric" : "categorical";
			const char *test = c->numeric ? "ks" : "chi2";
			csv_row(csv, split, c->name, type, test, cell);
			json_t *row = json_object();
			json_object_set_new(row, "split", json_string(split));
			json_object_set_new(row, "feature", json_string(c->name));
			json_object_set_new(row, "flagged", json_boolean(cell->flagged));
			json_object_set_new(row, "psi", json_num_or_null(cell->psi));
			json_array_append_new(table, row);
			if (!cell->flagged)
				continue;
			int explained = unit && unit[s * nc + j];
			enum severity sev = explained ? SEV_LOW : psi_severity(cell->psi);
			json_t *ev = json_object();
			json_object_set_new(ev, "test", json_string(c->numeric ? "two-sample Kolmogorov-Smirnov (asymptotic p)"
									       : "chi-square test of homogeneity"));
			json_object_set_new(ev, c->numeric ? "ks_d" : "chi2", json_num_or_null(cell->stat));
			json_object_set_new(ev, "p_value", json_num_or_null(cell->p));
			json_object_set_new(ev, "q_value", json_num_or_null(cell->q));
			json_object_set_new(ev, "psi", json_num_or_null(cell->psi));
			if (c->numeric)
				json_object_set_new(ev, "wasserstein_sd", isfinite(cell->wasserstein_sd)
					? json_num_or_null(cell->wasserstein_sd) : json_null());
			else
				json_object_set_new(ev, "js_distance", json_num_or_null(cell->js));
			char detail[256] = "";
			size_t na = 0, nb = 0;
			if (c->numeric) {
				const double *a = rcdata_sorted(d, j, 0, &na), *b = rcdata_sorted(d, j, s, &nb);
				double ma = stats_quantile_sorted(a, na, 0.5), mb = stats_quantile_sorted(b, nb, 0.5);
				json_object_set_new(ev, "median_train", json_num_or_null(ma));
				json_object_set_new(ev, "median", json_num_or_null(mb));
				char fa[48], fb[48];
				snprintf(detail, sizeof detail, "median %s in train, %s in %s", rc_fmt(fa, sizeof fa, ma),
					 rc_fmt(fb, sizeof fb, mb), split);
			} else {
				double *ca, *cb;
				long *names;
				size_t k;
				categorical_counts(d, c, s, &ca, &cb, &names, &k);
				for (size_t i = 0; i < k; i++) {
					na += (size_t)ca[i];
					nb += (size_t)cb[i];
				}
				char mv[200];
				top_move(ca, cb, names, k, c, mv, sizeof mv);
				snprintf(detail, sizeof detail, "%s %s", mv, split);
				free(ca);
				free(cb);
				free(names);
			}
			json_object_set_new(ev, "n_train", json_integer((json_int_t)na));
			json_object_set_new(ev, "n", json_integer((json_int_t)nb));
			json_object_set_new(ev, "tests_in_family", json_integer((json_int_t)m));
			json_object_set_new(ev, "rule", json_string(
				"flagged when BH q < 0.05 and (KS D >= 0.1 or PSI >= 0.1; categorical: PSI >= 0.1 or JS >= 0.1); "
				"severity by PSI: >= 0.25 high, >= 0.1 medium, else low"));
			if (explained)
				json_object_set_new(ev, "explained_by", json_string("unit change (pipeline_change finding)"));
			char *title;
			if (c->numeric)
				title = xasprintf("%s %s has drifted in %s: KS D = %.2f, PSI = %.2f, Wasserstein distance %.2f train sd (%s)%s.",
						  c->role == ROLE_SEGMENT ? "Segment" : "Feature", c->name, split, cell->stat,
						  cell->psi, cell->wasserstein_sd, detail,
						  explained ? "; a unit change explains it" : "");
			else
				title = xasprintf("%s %s has drifted in %s: PSI = %.2f, Jensen-Shannon distance %.2f (%s).",
						  c->role == ROLE_SEGMENT ? "Segment" : "Feature", c->name, split, cell->psi,
						  cell->js, detail);
			json_array_append_new(findings, finding_new("data_drift", 3, sev, title,
				subject_new(split, c->name, NULL, NULL, (long long)nb), ev));
			free(title);
		}
	json_t *o = json_object();
	json_object_set_new(o, "tests", json_integer((json_int_t)m));
	json_object_set_new(o, "columns", table);
	json_object_set_new(o, "skipped", skipped);
	json_object_set_new(o, "method", json_string(
		"numeric: two-sample Kolmogorov-Smirnov, exact D by sorting, p from the asymptotic Kolmogorov distribution "
		"with n = n1 n2 / (n1 + n2); Wasserstein-1 / train sd; PSI over 10 train-quantile bins, empty-bin "
		"proportions floored at 1e-4. categorical: chi-square test of homogeneity without continuity correction, "
		"Jensen-Shannon distance base 2 and PSI over the 50 most frequent levels (the rest pooled). Missing values "
		"left out. Benjamini-Hochberg across all drift tests of the run."));
	json_object_set_new(analysis, "drift", o);
	return 0;
}
