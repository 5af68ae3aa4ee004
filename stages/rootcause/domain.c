/* domain.c - the domain classifier, covariate shift and concept drift.
 * Methods, thresholds and rules are stated in domain.h. */
#include "domain.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Seeds: one stream per split and purpose, all derived from the run's seed,
 * so a rerun gives the same samples, probes and bootstraps. */
enum {
	SEED_SAMPLE, SEED_ROLES, SEED_DOMAIN, SEED_PERM, SEED_COV_SAMPLE, SEED_COV_FOLDS, SEED_COV_PROBE,
	SEED_BOOT, SEED_LABEL_SAMPLE, SEED_LABEL_PROBE
};

static uint64_t dseed(const struct rc_data *d, size_t s, unsigned purpose)
{
	uint64_t k[4] = {d->cfg->seed, (uint64_t)s, purpose, 0x646f6d61696eULL /* "domain" */};
	return hash64_bytes(k, sizeof k);
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

static void shuffle(size_t *v, size_t n, struct rng *g)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(g, i);
		size_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* ---- probes ---- */

/* One probe on n rows of x: the 0/1 target t when given (a domain
 * classifier), else the labels y of k classes. val marks the rows it
 * early-stops on and never trains on. NULL with an error recorded. */
static struct probe_result *fit(const struct rc_probes *p, const float *x, size_t n, const uint8_t *t,
				const int32_t *y, int k, const uint8_t *val, uint64_t seed)
{
	struct probe_data data = {.n = n, .d = p->d, .x = x, .y = t ? NULL : y, .n_classes = t ? 2 : k};
	struct probe_spec spec;
	rcprobe_spec(&spec, DOMAIN_WIDTH, seed);
	if (t) {
		spec.target = PROBE_TARGET_BINARY;
		spec.binary_target = t;
	}
	spec.val_mask = val;
	return rcprobe_train(p, &data, &spec, 1, DOMAIN_ROW_VISITS, seed ^ 0x9e3779b97f4a7c15ULL);
}

/* P(class 1) of a domain classifier for n rows of x, as doubles; NULL on error. */
static double *predict_p1(const struct rc_probes *p, const struct probe_result *r, const float *x, size_t n)
{
	float *out = xmalloc((n ? n : 1) * 2 * sizeof *out);
	if (rcprobe_predict(p, r, 0, x, n, 2, out) < 0) {
		free(out);
		return NULL;
	}
	double *v = xmalloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = out[2 * i + 1];
	free(out);
	return v;
}

/* The predicted class of a label probe for n rows of x; NULL on error. */
static int32_t *predict_class(const struct rc_probes *p, const struct probe_result *r, const float *x, size_t n,
			      int k)
{
	float *out = xmalloc((n ? n : 1) * (size_t)k * sizeof *out);
	if (rcprobe_predict(p, r, 0, x, n, k, out) < 0) {
		free(out);
		return NULL;
	}
	int32_t *c = xmalloc((n ? n : 1) * sizeof *c);
	for (size_t i = 0; i < n; i++) {
		const float *o = out + i * (size_t)k;
		int best = 0;
		for (int j = 1; j < k; j++)
			if (o[j] > o[best])
				best = j;
		c[i] = best;
	}
	free(out);
	return c;
}

/* ---- AUC ---- */

static double auc_of(const double *score, const uint8_t *t, size_t n, size_t *npos, size_t *nneg)
{
	double *pos = xmalloc((n ? n : 1) * sizeof *pos), *neg = xmalloc((n ? n : 1) * sizeof *neg);
	size_t np = 0, nn = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i])
			pos[np++] = score[i];
		else
			neg[nn++] = score[i];
	}
	rcstats_sort_doubles(pos, np);
	rcstats_sort_doubles(neg, nn);
	double a = rcstats_auc_sorted(pos, np, neg, nn);
	free(pos);
	free(neg);
	*npos = np;
	*nneg = nn;
	return a;
}

/* Rows of sorted[0..n) below x, and at most x. */
static size_t count_below(const double *sorted, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t count_at_most(const double *sorted, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void domain_placements(const double *score, const uint8_t *t, size_t n, double *v)
{
	double *pos = xmalloc((n ? n : 1) * sizeof *pos), *neg = xmalloc((n ? n : 1) * sizeof *neg);
	size_t np = 0, nn = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i])
			pos[np++] = score[i];
		else
			neg[nn++] = score[i];
	}
	rcstats_sort_doubles(pos, np);
	rcstats_sort_doubles(neg, nn);
	for (size_t i = 0; i < n; i++) {
		if (!np || !nn) {
			v[i] = NAN;
			continue;
		}
		double s = score[i];
		if (t[i]) {
			size_t lo = count_below(neg, nn, s), hi = count_at_most(neg, nn, s);
			v[i] = ((double)lo + 0.5 * (double)(hi - lo)) / (double)nn;
		} else {
			size_t lo = count_below(pos, np, s), hi = count_at_most(pos, np, s);
			v[i] = ((double)(np - hi) + 0.5 * (double)(hi - lo)) / (double)np;
		}
	}
	free(pos);
	free(neg);
}

/* ---- 1. the domain classifier against train ---- */

struct driver {
	size_t group;
	double drop, lo, hi;
};

static int driver_cmp(const void *a, const void *b)
{
	const struct driver *x = a, *y = b;
	if (x->drop != y->drop)
		return x->drop < y->drop ? 1 : -1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/* The source feature of each encoded column: gid[c] indexes names (borrowed
 * from the encoding). Returns the number of sources. */
static size_t source_groups(const struct rc_probes *p, size_t *gid, const char ***names)
{
	const char **nm = xmalloc((p->d ? p->d : 1) * sizeof *nm);
	size_t ng = 0;
	for (size_t c = 0; c < p->d; c++) {
		const char *src = feat_column_at(p->enc, c)->source;
		size_t g = 0;
		while (g < ng && strcmp(nm[g], src))
			g++;
		if (g == ng)
			nm[ng++] = src;
		gid[c] = g;
	}
	*names = nm;
	return ng;
}

/* Most held-out rows x sources x permutations the importance predicts per
 * split; beyond, it uses an equal share of each side's held-out rows. */
#define PERM_BUDGET 1500000.0

/* Permutation importance of every source feature for the classifier r on
 * the nh held-out rows of h (side 0 then side 1, nh0 of side 0). Fills
 * drivers (one per source, sorted by drop, largest first). 0 or -1. */
static int importance(const struct rc_probes *p, const struct probe_result *r, float *h, size_t nh0, size_t nh1,
		      const size_t *gid, size_t ng, uint64_t seed, struct driver *drivers, size_t *n_used)
{
	size_t dd = p->d;
	/* a random share of each side when the budget is short (the rows are in random order) */
	double cap = PERM_BUDGET / ((double)ng * DOMAIN_PERM_REPEATS);
	size_t k0 = nh0, k1 = nh1;
	if ((double)(nh0 + nh1) > cap) {
		double f = cap / (double)(nh0 + nh1);
		k0 = (size_t)((double)nh0 * f);
		k1 = (size_t)((double)nh1 * f);
		if (k0 < DOMAIN_MIN_ROWS / 2)
			k0 = nh0 < DOMAIN_MIN_ROWS / 2 ? nh0 : DOMAIN_MIN_ROWS / 2;
		if (k1 < DOMAIN_MIN_ROWS / 2)
			k1 = nh1 < DOMAIN_MIN_ROWS / 2 ? nh1 : DOMAIN_MIN_ROWS / 2;
	}
	size_t n = k0 + k1;
	float *x = xmalloc((n ? n : 1) * dd * sizeof *x);
	memcpy(x, h, k0 * dd * sizeof *x);
	memcpy(x + k0 * dd, h + nh0 * dd, k1 * dd * sizeof *x);
	uint8_t *t = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		t[i] = i >= k0;
	*n_used = n;
	int rc = 0;
	double *base = predict_p1(p, r, x, n);
	double *vb = xmalloc((n ? n : 1) * sizeof *vb), *vr = xmalloc((n ? n : 1) * sizeof *vr);
	double *vsum = xmalloc((n ? n : 1) * sizeof *vsum), *dp = xmalloc((n ? n : 1) * sizeof *dp);
	double *dn = xmalloc((n ? n : 1) * sizeof *dn);
	size_t *perm = xmalloc((n ? n : 1) * sizeof *perm), *cols = xmalloc((dd ? dd : 1) * sizeof *cols);
	float *saved = xmalloc((n ? n : 1) * (dd ? dd : 1) * sizeof *saved);
	if (!base)
		rc = -1;
	else
		domain_placements(base, t, n, vb);
	struct rng g;
	rng_seed(&g, seed);
	for (size_t gi = 0; rc == 0 && gi < ng; gi++) {
		size_t nc = 0;
		for (size_t c = 0; c < dd; c++)
			if (gid[c] == gi)
				cols[nc++] = c;
		for (size_t i = 0; i < n; i++) {
			vsum[i] = 0;
			for (size_t j = 0; j < nc; j++)
				saved[i * nc + j] = x[i * dd + cols[j]];
		}
		for (int rep = 0; rc == 0 && rep < DOMAIN_PERM_REPEATS; rep++) {
			/* every column of the source moves with its row: a one-hot block stays one-hot */
			for (size_t i = 0; i < n; i++)
				perm[i] = i;
			shuffle(perm, n, &g);
			for (size_t i = 0; i < n; i++)
				for (size_t j = 0; j < nc; j++)
					x[i * dd + cols[j]] = saved[perm[i] * nc + j];
			double *sc = predict_p1(p, r, x, n);
			if (!sc) {
				rc = -1;
				break;
			}
			domain_placements(sc, t, n, vr);
			for (size_t i = 0; i < n; i++)
				vsum[i] += vr[i];
			free(sc);
		}
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < nc; j++)
				x[i * dd + cols[j]] = saved[i * nc + j];
		/* DeLong: the drop is the mean of the per-row placement differences over
		 * either class; its variance the sum of the two classes' mean variances */
		size_t np = 0, nn = 0;
		for (size_t i = 0; i < n; i++) {
			double delta = vb[i] - vsum[i] / DOMAIN_PERM_REPEATS;
			if (t[i])
				dp[np++] = delta;
			else
				dn[nn++] = delta;
		}
		double mp, sp, mn, sn;
		stats_mean_se(dp, np, &mp, &sp);
		stats_mean_se(dn, nn, &mn, &sn);
		double se = sqrt(sp * sp + sn * sn);
		drivers[gi] = (struct driver){gi, mp, mp - STATS_Z95 * se, mp + STATS_Z95 * se};
	}
	if (rc == 0)
		qsort(drivers, ng, sizeof *drivers, driver_cmp);
	free(base);
	free(vb);
	free(vr);
	free(vsum);
	free(dp);
	free(dn);
	free(perm);
	free(cols);
	free(saved);
	free(x);
	free(t);
	return rc;
}

/* The result of part 1 that later parts use. */
struct drift_fit {
	struct probe_result *clf;   /* train (0) vs the split (1) */
	double prior;               /* m_train / m_split: p / (1 - p) * prior is the density ratio */
};

/* 1 when a pipeline_change finding (an earlier stage's, or the quality
 * checks' unit changes among this stage's findings so far) names this split
 * and feature. */
static int pipeline_changed(const struct rc_data *d, const json_t *findings, const char *split, const char *feature)
{
	if (rcdata_earlier_change(d, split, feature))
		return 1;
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const json_t *sub = json_object_get(f, "subject");
		const char *k = json_string_value(json_object_get(f, "kind"));
		const char *fs = json_string_value(json_object_get(sub, "split"));
		const char *ff = json_string_value(json_object_get(sub, "feature"));
		if (k && fs && ff && !strcmp(k, "pipeline_change") && !strcmp(fs, split) && !strcmp(ff, feature))
			return 1;
	}
	return 0;
}

static enum severity auc_severity(double auc)
{
	return auc >= DOMAIN_AUC_HIGH ? SEV_HIGH : auc >= DOMAIN_AUC_MEDIUM ? SEV_MEDIUM : SEV_LOW;
}

/* Part 1 for split s: fills entry (split, against, rows, auc, drivers) and
 * appends the data_drift finding. 0 or -1. */
static int drift_split(const struct rc_data *d, const struct rc_probes *p, size_t s, size_t m, json_t *entry,
		       json_t *findings, struct drift_fit *fitted)
{
	const char *split = d->splits[s].name, *against = d->splits[0].name;
	size_t dd = p->d;
	size_t *rows[2] = {xmalloc(m * sizeof(size_t)), xmalloc(m * sizeof(size_t))};
	/* both splits hold at least m rows (the caller's min), so each sample is m */
	rcprobe_sample(d, 0, m, 0, 0, dseed(d, s, SEED_SAMPLE), rows[0]);
	rcprobe_sample(d, s, m, 0, 0, dseed(d, s, SEED_SAMPLE) + 1, rows[1]);
	size_t nh = (size_t)(DOMAIN_HOLDOUT * (double)m), nv = (size_t)(DOMAIN_VALID * (double)m);
	size_t nfit = m - nh;   /* training and validation rows per side */
	float *xf = xmalloc(2 * nfit * dd * sizeof *xf), *xh = xmalloc(2 * nh * dd * sizeof *xh);
	uint8_t *tf = xmalloc(2 * nfit), *vf = xmalloc(2 * nfit), *th = xmalloc(2 * nh);
	size_t *order = xmalloc(m * sizeof *order);
	struct rng g;
	rng_seed(&g, dseed(d, s, SEED_ROLES));
	for (size_t side = 0; side < 2; side++) {
		size_t ss = side ? s : 0;
		for (size_t i = 0; i < m; i++)
			order[i] = rows[side][i];
		shuffle(order, m, &g);
		/* the first nh of the shuffled rows are held out, the next nv validate */
		for (size_t i = 0; i < m; i++) {
			const float *src = p->x[ss] + order[i] * dd;
			if (i < nh) {
				size_t at = side * nh + i;
				memcpy(xh + at * dd, src, dd * sizeof *xh);
				th[at] = (uint8_t)side;
			} else {
				size_t at = side * nfit + (i - nh);
				memcpy(xf + at * dd, src, dd * sizeof *xf);
				tf[at] = (uint8_t)side;
				vf[at] = i - nh < nv;
			}
		}
	}
	free(order);
	free(rows[0]);
	free(rows[1]);
	int rc = 0;
	struct probe_result *clf = fit(p, xf, 2 * nfit, tf, NULL, 2, vf, dseed(d, s, SEED_DOMAIN));
	double *score = clf ? predict_p1(p, clf, xh, 2 * nh) : NULL;
	size_t *gid = xmalloc((dd ? dd : 1) * sizeof *gid);
	const char **gname = NULL;
	size_t ng = source_groups(p, gid, &gname);
	struct driver *drv = xmalloc((ng ? ng : 1) * sizeof *drv);
	size_t n_imp = 0;
	if (!score) {
		rc = -1;
	} else {
		rc = importance(p, clf, xh, nh, nh, gid, ng, dseed(d, s, SEED_PERM), drv, &n_imp);
	}
	if (rc == 0) {
		size_t npos, nneg;
		double auc = auc_of(score, th, 2 * nh, &npos, &nneg);
		double se = rcstats_auc_se(auc, npos, nneg);
		double lo = auc - STATS_Z95 * se, hi = auc + STATS_Z95 * se;
		lo = lo < 0 ? 0 : lo;
		hi = hi > 1 ? 1 : hi;
		json_object_set_new(entry, "split", json_string(split));
		json_object_set_new(entry, "against", json_string(against));
		json_t *r = json_array();
		json_array_append_new(r, json_integer((json_int_t)m));
		json_array_append_new(r, json_integer((json_int_t)m));
		json_object_set_new(entry, "rows", r);
		json_t *avail = json_array();
		json_array_append_new(avail, json_integer((json_int_t)d->splits[0].nrows));
		json_array_append_new(avail, json_integer((json_int_t)d->splits[s].nrows));
		json_object_set_new(entry, "rows_available", avail);
		json_object_set_new(entry, "held_out", json_integer((json_int_t)(2 * nh)));
		json_object_set_new(entry, "auc", estimate_json(auc, lo, hi, (long long)(2 * nh), "one side only"));
		json_t *dl = json_array();
		for (size_t i = 0; i < ng && i < DOMAIN_DRIVERS; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "feature", json_string(gname[drv[i].group]));
			json_object_set_new(e, "auc_drop", estimate_json(drv[i].drop, drv[i].lo, drv[i].hi,
									 (long long)n_imp, "one side only"));
			json_array_append_new(dl, e);
		}
		json_object_set_new(entry, "drivers", dl);
		if (lo > DOMAIN_AUC_FLAG) {
			/* the drivers whose removal costs the classifier something, for the title */
			struct strbuf names;
			sb_init(&names);
			size_t named = 0, changed = 0;
			for (size_t i = 0; i < ng && named < 3; i++) {
				/* a classifier leans a little on noise too: a driver must cost it a point */
				if (!(drv[i].lo > 0) || drv[i].drop < DOMAIN_DRIVER_MIN)
					break;
				sb_printf(&names, "%s%s", named ? ", then " : "", gname[drv[i].group]);
				named++;
				changed += (size_t)pipeline_changed(d, findings, split, gname[drv[i].group]);
			}
			/* drift that pipeline_change findings already explain is said there */
			int explained = named > 0 && changed == named;
			char *title;
			if (named)
				title = xasprintf("A classifier tells %s rows from %s rows with ROC-AUC %.2f (95%% CI %.2f-%.2f) on "
						  "held-out rows: the data have drifted, driven most by %s.",
						  split, against, auc, lo, hi, names.data);
			else
				title = xasprintf("A classifier tells %s rows from %s rows with ROC-AUC %.2f (95%% CI %.2f-%.2f) on "
						  "held-out rows: the data have drifted, with no single feature driving it.",
						  split, against, auc, lo, hi);
			sb_free(&names);
			json_t *ev = json_object();
			json_object_set_new(ev, "auc", estimate_json(auc, lo, hi, (long long)(2 * nh), NULL));
			json_object_set_new(ev, "n_train", json_integer((json_int_t)m));
			json_object_set_new(ev, "n", json_integer((json_int_t)m));
			json_object_set_new(ev, "held_out", json_integer((json_int_t)(2 * nh)));
			json_object_set_new(ev, "drivers", json_deep_copy(dl));
			json_object_set_new(ev, "classifier", json_string(
				"MLP, one hidden layer of 32 ReLU units, on a balanced sample of both splits (55% train, 15% "
				"validation for early stopping, 30% held out); AUC interval by Hanley-McNeil; drivers: held-out "
				"AUC drop when a feature's encoded columns are permuted together (3 permutations, DeLong interval)"));
			json_object_set_new(ev, "rule", json_string(
				"data_drift when the domain classifier's AUC lower bound > 0.55; severity by AUC: >= 0.75 high, "
				">= 0.65 medium, else low (low as well when pipeline_change findings name every named driver); the "
				"title names the drivers whose AUC drop is >= 0.01 with its interval above 0"));
			if (explained)
				json_object_set_new(ev, "explained_by", json_string(
					"pipeline_change findings on every named driver (severity lowered to low)"));
			json_array_append_new(findings, finding_new("data_drift", 3, explained ? SEV_LOW : auc_severity(auc), title,
				subject_new(split, "(all features)", NULL, NULL, (long long)d->splits[s].nrows), ev));
			free(title);
		}
		fitted->clf = clf;
		fitted->prior = 1.0;   /* balanced: m rows per side */
		clf = NULL;
	}
	probe_result_free(clf);
	free(score);
	free(gid);
	free(gname);
	free(drv);
	free(xf);
	free(xh);
	free(tf);
	free(vf);
	free(th);
	return rc;
}

/* ---- 2. covariate shift: source (test) vs current ---- */

enum {
	COV_SOURCE, COV_IW, COV_OBSERVED, COV_EXPLAINED, COV_UNEXPLAINED,   /* the contract's five */
	COV_OUTSIDE, COV_IW_INSIDE, COV_OBS_INSIDE, COV_OBS_OUTSIDE, COV_N
};

struct cov_out {
	int done;
	double v[COV_N], lo[COV_N], hi[COV_N];
	double ess, auc, auc_lo, auc_hi;
	size_t m, source_outside;
	int uniform;             /* the classifier found no shift: every weight 1 */
};

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The estimates of part 2 from the m source rows (weight w, inside the
 * support s_in, correct s_ok) and the m current rows (c_in, c_ok); with g,
 * from a bootstrap resample of each side instead. */
static void cov_estimates(size_t m, const double *w, const uint8_t *s_in, const uint8_t *s_ok, const uint8_t *c_in,
			  const uint8_t *c_ok, struct rng *g, double *v)
{
	double ks = 0, sw = 0, swc = 0, nin = 0, kin = 0, kout = 0;
	for (size_t i = 0; i < m; i++) {
		size_t j = g ? (size_t)rng_below(g, m) : i;
		ks += s_ok[j];
		if (s_in[j]) {
			sw += w[j];
			swc += w[j] * s_ok[j];
		}
	}
	for (size_t i = 0; i < m; i++) {
		size_t j = g ? (size_t)rng_below(g, m) : i;
		if (c_in[j]) {
			nin++;
			kin += c_ok[j];
		} else {
			kout += c_ok[j];
		}
	}
	double dm = (double)m, pi = (dm - nin) / dm;
	v[COV_SOURCE] = ks / dm;
	v[COV_OBSERVED] = (kin + kout) / dm;
	v[COV_OUTSIDE] = pi;
	v[COV_IW_INSIDE] = sw > 0 ? swc / sw : NAN;
	v[COV_OBS_INSIDE] = nin > 0 ? kin / nin : NAN;
	v[COV_OBS_OUTSIDE] = nin < dm ? kout / (dm - nin) : NAN;
	/* inside the support the reweighted source says what the model should
	 * score; outside it no source row can, so those rows count as observed */
	if (nin == 0)
		v[COV_IW] = v[COV_OBSERVED];
	else
		v[COV_IW] = (1 - pi) * v[COV_IW_INSIDE] + (pi > 0 ? pi * v[COV_OBS_OUTSIDE] : 0);
	v[COV_EXPLAINED] = v[COV_SOURCE] - v[COV_IW];
	v[COV_UNEXPLAINED] = v[COV_IW] - v[COV_OBSERVED];
}

/* Cross-fitted P(current | x) for the m source and m current rows of the
 * sample (src rows, then current rows, each side ascending). 0 or -1. */
static int crossfit_domain(const struct rc_data *d, const struct rc_probes *p, size_t s, size_t src,
			   size_t *const rows[2], size_t m, double *pr)
{
	size_t dd = p->d, sp[2] = {src, s};
	uint8_t *fold = xmalloc(2 * m);
	struct rng g;
	rng_seed(&g, dseed(d, s, SEED_COV_FOLDS));
	size_t *order = xmalloc(m * sizeof *order);
	for (size_t side = 0; side < 2; side++) {
		for (size_t i = 0; i < m; i++)
			order[i] = i;
		shuffle(order, m, &g);
		/* position in the shuffle: parity picks the fold; every 5th of a fold's
		 * rows validates the probe trained on that fold */
		for (size_t i = 0; i < m; i++)
			fold[side * m + order[i]] = (uint8_t)((i & 1) | (((i / 2) % 5 == 0) << 1));
	}
	free(order);
	float *x = xmalloc(2 * m * dd * sizeof *x), *xo = xmalloc(2 * m * dd * sizeof *xo);
	uint8_t *t = xmalloc(2 * m), *v = xmalloc(2 * m);
	size_t *back = xmalloc(2 * m * sizeof *back);
	int rc = 0;
	for (int f = 0; rc == 0 && f < 2; f++) {
		size_t nt = 0, no = 0;
		for (size_t side = 0; side < 2; side++)
			for (size_t i = 0; i < m; i++) {
				uint8_t fo = fold[side * m + i];
				const float *row = p->x[sp[side]] + rows[side][i] * dd;
				if ((fo & 1) != f) {   /* the other fold: trains the probe that scores fold f */
					memcpy(x + nt * dd, row, dd * sizeof *x);
					t[nt] = (uint8_t)side;
					v[nt++] = (fo >> 1) & 1;
				} else {
					memcpy(xo + no * dd, row, dd * sizeof *xo);
					back[no++] = side * m + i;
				}
			}
		struct probe_result *r = fit(p, x, nt, t, NULL, 2, v, dseed(d, s, SEED_COV_PROBE) + (uint64_t)f);
		double *q = r ? predict_p1(p, r, xo, no) : NULL;
		if (!q)
			rc = -1;
		for (size_t i = 0; q && i < no; i++)
			pr[back[i]] = q[i];
		free(q);
		probe_result_free(r);
	}
	free(fold);
	free(x);
	free(xo);
	free(t);
	free(v);
	free(back);
	return rc;
}

static int covariate_split(const struct rc_data *d, const struct rc_probes *p, size_t s, struct cov_out *o,
			   const char **why)
{
	memset(o, 0, sizeof *o);
	const size_t src = 1;
	const struct rc_split *ss = &d->splits[src], *cs = &d->splits[s];
	if (!ss->err || ss->n_eval == 0) {
		*why = "the source split (test) has no rows the model was evaluated on";
		return 0;
	}
	size_t m = min3(ss->n_eval, cs->n_eval, RCPROBE_MAX_ROWS / 2);
	if (m < DOMAIN_MIN_ROWS) {
		*why = "fewer than 100 evaluated rows in test or in this split";
		return 0;
	}
	size_t *rows[2] = {xmalloc(m * sizeof(size_t)), xmalloc(m * sizeof(size_t))};
	rcprobe_sample(d, src, m, 0, 1, dseed(d, s, SEED_COV_SAMPLE), rows[0]);
	rcprobe_sample(d, s, m, 0, 1, dseed(d, s, SEED_COV_SAMPLE) + 1, rows[1]);
	double *pr = xmalloc(2 * m * sizeof *pr);
	int rc = crossfit_domain(d, p, s, src, rows, m, pr);
	if (rc == 0) {
		uint8_t *side = xmalloc(2 * m);
		for (size_t i = 0; i < 2 * m; i++)
			side[i] = i >= m;
		size_t npos, nneg;
		o->auc = auc_of(pr, side, 2 * m, &npos, &nneg);
		double se = rcstats_auc_se(o->auc, npos, nneg);
		o->auc_lo = fmax(0, o->auc - STATS_Z95 * se);
		o->auc_hi = fmin(1, o->auc + STATS_Z95 * se);
		free(side);
		/* density ratios current / source of both sides' rows: the weights of
		 * the source rows, and who lies inside the support */
		double *w = xmalloc(m * sizeof *w);
		uint8_t *s_in = xmalloc(m), *s_ok = xmalloc(m), *c_in = xmalloc(m), *c_ok = xmalloc(m);
		double sw = 0, sw2 = 0;
		/* a classifier that cannot tell the splits apart (its AUC interval
		 * reaches 0.5) has found no covariate shift: its ratios are noise,
		 * and weighting by them moved a clean split's estimate by 2 points */
		o->uniform = !(o->auc_lo > 0.5);
		for (size_t i = 0; i < 2 * m; i++) {
			double q = pr[i] < 1e-9 ? 1e-9 : pr[i] > 1 - 1e-9 ? 1 - 1e-9 : pr[i];
			/* balanced sample: m_source / m_current = 1 */
			double ratio = o->uniform ? 1.0 : q / (1 - q);
			int in = ratio <= DOMAIN_SUPPORT;
			if (i < m) {
				w[i] = ratio;
				s_in[i] = (uint8_t)in;
				s_ok[i] = ss->err[rows[0][i]] == 0;
				o->source_outside += !in;
				if (in) {
					sw += ratio;
					sw2 += ratio * ratio;
				}
			} else {
				c_in[i - m] = (uint8_t)in;
				c_ok[i - m] = cs->err[rows[1][i - m]] == 0;
			}
		}
		o->ess = sw2 > 0 ? sw * sw / sw2 : 0;
		o->m = m;
		cov_estimates(m, w, s_in, s_ok, c_in, c_ok, NULL, o->v);
		/* bootstrap: both sides resampled, the weights and the support kept */
		double *bs = xmalloc((size_t)COV_N * DOMAIN_BOOT * sizeof *bs), v[COV_N];
		size_t nb[COV_N] = {0};
		struct rng g;
		rng_seed(&g, dseed(d, s, SEED_BOOT));
		for (int b = 0; b < DOMAIN_BOOT; b++) {
			cov_estimates(m, w, s_in, s_ok, c_in, c_ok, &g, v);
			for (int k = 0; k < COV_N; k++)
				if (isfinite(v[k]))
					bs[k * DOMAIN_BOOT + nb[k]++] = v[k];
		}
		for (int k = 0; k < COV_N; k++) {
			double *col = bs + k * DOMAIN_BOOT;
			qsort(col, nb[k], sizeof *col, dcmp);
			o->lo[k] = nb[k] ? stats_quantile_sorted(col, nb[k], 0.025) : NAN;
			o->hi[k] = nb[k] ? stats_quantile_sorted(col, nb[k], 0.975) : NAN;
		}
		o->done = 1;
		free(bs);
		free(w);
		free(s_in);
		free(s_ok);
		free(c_in);
		free(c_ok);
	}
	free(pr);
	free(rows[0]);
	free(rows[1]);
	return rc;
}

static json_t *covariate_json(const struct rc_data *d, const struct cov_out *o)
{
	json_t *c = json_object();
	long long n = (long long)o->m;
	json_object_set_new(c, "source", json_string(d->splits[1].name));
	json_object_set_new(c, "metric", json_string("accuracy"));
	json_object_set_new(c, "rows", json_integer(n));
	static const char *const keys[5] = {"source_value", "iw_estimate", "observed", "explained", "unexplained"};
	for (int k = 0; k < 5; k++)
		json_object_set_new(c, keys[k], estimate_json(o->v[k], o->lo[k], o->hi[k], n, "no row to estimate from"));
	json_object_set_new(c, "ess", json_num_or_null(o->ess));
	json_t *sup = json_object();
	json_object_set_new(sup, "ratio_max", json_real(DOMAIN_SUPPORT));
	json_object_set_new(sup, "current_share_outside", estimate_json(o->v[COV_OUTSIDE], o->lo[COV_OUTSIDE],
									  o->hi[COV_OUTSIDE], n, NULL));
	json_object_set_new(sup, "source_rows_outside", json_integer((json_int_t)o->source_outside));
	json_object_set_new(sup, "iw_inside", estimate_json(o->v[COV_IW_INSIDE], o->lo[COV_IW_INSIDE],
							    o->hi[COV_IW_INSIDE], n, "no source row inside the support"));
	json_object_set_new(sup, "observed_inside", estimate_json(o->v[COV_OBS_INSIDE], o->lo[COV_OBS_INSIDE],
								  o->hi[COV_OBS_INSIDE], n, "no current row inside the support"));
	json_object_set_new(sup, "observed_outside", estimate_json(o->v[COV_OBS_OUTSIDE], o->lo[COV_OBS_OUTSIDE],
								   o->hi[COV_OBS_OUTSIDE], n, "no current row outside the support"));
	json_object_set_new(c, "support", sup);
	json_object_set_new(c, "domain_auc", estimate_json(o->auc, o->auc_lo, o->auc_hi, 2 * n, "one side only"));
	json_object_set_new(c, "weights", json_string(o->uniform ? "uniform: the domain classifier's AUC interval reaches "
								  "0.5, so no covariate shift was found"
								: "density ratios of the domain classifier"));
	json_object_set_new(c, "method", json_string(
		"accuracy whatever the audit's metric (a mean over rows, so reweighting estimates it). Balanced samples "
		"of evaluated rows of the source and of this split; a domain classifier (MLP, 32 ReLU units) cross-fitted "
		"in 2 folds gives the density ratio r = p / (1 - p) x m_source / m_split for every row. The support: rows "
		"with r <= 20; every r = 1 when the classifier's AUC interval reaches 0.5 (no shift found). iw_estimate = (1 - s) x (sum w correct / sum w over source rows inside, w = r) + s x "
		"observed accuracy of the current rows outside, s their share: no source row says what the model should "
		"score where the source has no data, so that part of the drop counts as covariate shift. explained = "
		"source_value - iw_estimate; unexplained = iw_estimate - observed; ess = Kish's (sum w)^2 / sum w^2 over "
		"the source rows inside; 95% percentile intervals from 200 bootstrap replicates of both samples with the "
		"weights held fixed"));
	return c;
}

/* ---- 3. disagreement of probes trained on train and on the split ---- */

struct dis_out {
	int done;
	double ac, ac_lo, ac_hi, ab, ab_lo, ab_hi, ex, ex_lo, ex_hi;
	size_t n, n_total, per_probe;
};

/* A label probe on rows rows[0..n) of split s, every 5th validating. NULL on error. */
static struct probe_result *label_probe(const struct rc_data *d, const struct rc_probes *p, size_t s,
				       const size_t *rows, size_t n, uint64_t seed)
{
	size_t dd = p->d;
	float *x = rcprobe_gather(p, s, rows, n);
	int32_t *y = xmalloc((n ? n : 1) * sizeof *y);
	uint8_t *v = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		y[i] = d->splits[s].y[rows[i]];
		v[i] = i % 5 == 2;
	}
	(void)dd;
	struct probe_result *r = fit(p, x, n, NULL, y, d->k, v, seed);
	free(x);
	free(y);
	free(v);
	return r;
}

/* Keep the rows of split s (sampled: rows[0..n)) inside the common support:
 * density ratio split / train from the classifier of part 1 within
 * [1 / DOMAIN_OVERLAP, DOMAIN_OVERLAP]; then shuffle them. Returns the count
 * kept (at the front of rows), or (size_t)-1 on error. */
static size_t keep_overlap(const struct rc_probes *p, size_t s, const struct drift_fit *df,
			   size_t *rows, size_t n, uint64_t seed)
{
	float *x = rcprobe_gather(p, s, rows, n);
	double *q = predict_p1(p, df->clf, x, n);
	free(x);
	if (!q)
		return (size_t)-1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		double qi = q[i] < 1e-6 ? 1e-6 : q[i] > 1 - 1e-6 ? 1 - 1e-6 : q[i];
		double ratio = qi / (1 - qi) * df->prior;
		if (ratio <= DOMAIN_OVERLAP && ratio >= 1 / DOMAIN_OVERLAP)
			rows[k++] = rows[i];
	}
	free(q);
	struct rng g;
	rng_seed(&g, seed);
	shuffle(rows, k, &g);   /* the front h rows of any part are then a random draw, not the earliest */
	return k;
}

static int disagreement_split(const struct rc_data *d, const struct rc_probes *p, size_t s,
			      const struct drift_fit *df, struct dis_out *o, const char **why)
{
	memset(o, 0, sizeof *o);
	uint64_t seed = dseed(d, s, SEED_LABEL_SAMPLE);
	size_t *cr = xmalloc((RCPROBE_MAX_ROWS / 2) * sizeof *cr), *tr = xmalloc(RCPROBE_MAX_ROWS * sizeof *tr);
	size_t mc = rcprobe_sample(d, s, RCPROBE_MAX_ROWS / 2, 1, 0, seed, cr);
	size_t mt = rcprobe_sample(d, 0, RCPROBE_MAX_ROWS, 1, 0, seed + 1, tr);
	size_t nc = keep_overlap(p, s, df, cr, mc, seed + 2);
	size_t nt = nc == (size_t)-1 ? nc : keep_overlap(p, 0, df, tr, mt, seed + 3);
	if (nt == (size_t)-1) {
		free(cr);
		free(tr);
		return -1;
	}
	/* rows per probe: A, B (train) and the two current folds all get h */
	size_t h = nc / 2 < nt / 2 ? nc / 2 : nt / 2;
	o->n_total = mc;
	if (h < DOMAIN_MIN_ROWS) {
		*why = "fewer than 200 labelled rows of train or of this split inside their common support";
		free(cr);
		free(tr);
		return 0;
	}
	size_t nf = nc / 2;   /* fold 0: cr[0..nf), fold 1: cr[nf..nc) */
	uint64_t ps = dseed(d, s, SEED_LABEL_PROBE);
	struct probe_result *ra = label_probe(d, p, 0, tr, h, ps);
	struct probe_result *rb = ra ? label_probe(d, p, 0, tr + h, h, ps + 1) : NULL;
	struct probe_result *r0 = rb ? label_probe(d, p, s, cr, h, ps + 2) : NULL;
	struct probe_result *r1 = r0 ? label_probe(d, p, s, cr + nf, h, ps + 3) : NULL;
	float *xc = rcprobe_gather(p, s, cr, nc);
	int32_t *pa = r1 ? predict_class(p, ra, xc, nc, d->k) : NULL;
	int32_t *pb = pa ? predict_class(p, rb, xc, nc, d->k) : NULL;
	int32_t *p0 = pb ? predict_class(p, r0, xc, nc, d->k) : NULL;
	int32_t *p1 = p0 ? predict_class(p, r1, xc, nc, d->k) : NULL;
	int rc = p1 ? 0 : -1;
	if (rc == 0) {
		size_t kac = 0, kab = 0;
		double *e = xmalloc(nc * sizeof *e);
		for (size_t i = 0; i < nc; i++) {
			int32_t c = i < nf ? p1[i] : p0[i];   /* the fold probe that did not train on row i */
			int ac = pa[i] != c, ab = pa[i] != pb[i];
			kac += (size_t)ac;
			kab += (size_t)ab;
			e[i] = ac - ab;
		}
		o->n = nc;
		o->per_probe = h;
		o->ac = (double)kac / (double)nc;
		o->ab = (double)kab / (double)nc;
		stats_wilson(kac, nc, STATS_Z95, &o->ac_lo, &o->ac_hi);
		stats_wilson(kab, nc, STATS_Z95, &o->ab_lo, &o->ab_hi);
		double se;
		stats_mean_se(e, nc, &o->ex, &se);
		if (!(se > 0))
			se = 0;
		o->ex_lo = o->ex - STATS_Z95 * se;
		o->ex_hi = o->ex + STATS_Z95 * se;
		o->done = 1;
		free(e);
	}
	probe_result_free(ra);
	probe_result_free(rb);
	probe_result_free(r0);
	probe_result_free(r1);
	free(xc);
	free(pa);
	free(pb);
	free(p0);
	free(p1);
	free(cr);
	free(tr);
	return rc;
}

static json_t *disagreement_json(const struct dis_out *o)
{
	json_t *j = json_object();
	long long n = (long long)o->n;
	json_object_set_new(j, "train_probe_vs_current_probe", estimate_json(o->ac, o->ac_lo, o->ac_hi, n, NULL));
	json_object_set_new(j, "baseline", estimate_json(o->ab, o->ab_lo, o->ab_hi, n, NULL));
	json_object_set_new(j, "excess", estimate_json(o->ex, o->ex_lo, o->ex_hi, n, NULL));
	json_object_set_new(j, "rows", json_integer(n));
	json_object_set_new(j, "rows_sampled", json_integer((json_int_t)o->n_total));
	json_object_set_new(j, "rows_per_probe", json_integer((json_int_t)o->per_probe));
	json_object_set_new(j, "method", json_string(
		"share of this split's rows where a probe trained on train (A) and a probe trained on this split "
		"(2 folds, each row predicted by the fold probe that did not train on it) predict different classes; "
		"baseline: A against a probe trained on other train rows with another seed; every probe an MLP with 32 "
		"ReLU units on the same number of rows. Every probe trains, and is compared, only on rows inside the two "
		"splits' common support (density ratio split / train from the domain classifier within [1/5, 5]): "
		"outside it one side extrapolates. Intervals: Wilson for the rates, normal for the paired excess"));
	return j;
}

/* ---- the concept_drift finding ---- */

static void concept_finding(const struct rc_data *d, size_t s, const struct cov_out *c, const struct dis_out *g,
			    json_t *findings)
{
	const char *split = d->splits[s].name;
	int by_cov = c->done && c->v[COV_UNEXPLAINED] >= DOMAIN_CONCEPT_MIN && c->lo[COV_UNEXPLAINED] > 0;
	/* the excess's interval knows the rows' noise, not the probes' own (another
	 * seed or sample gives another baseline): hence the floor, and the
	 * doubling of the baseline */
	int by_dis = g->done && g->ex >= DOMAIN_EXCESS_MIN && g->ex >= g->ab && g->ex_lo > 0;
	if (!by_cov && !by_dis)
		return;
	enum severity sev = SEV_MEDIUM;
	if (by_cov && c->v[COV_UNEXPLAINED] >= DOMAIN_CONCEPT_HIGH && c->lo[COV_UNEXPLAINED] > DOMAIN_CONCEPT_MIN)
		sev = SEV_HIGH;
	char *title;
	if (by_cov)
		title = xasprintf("P(y|x) has changed in %s: the model's accuracy there (%.3f) is %.1f points below what "
				  "the shift of its inputs predicts from %s (%.3f, 95%% CI of the gap %.1f to %.1f points); "
				  "covariate shift accounts for %.1f points.",
				  split, c->v[COV_OBSERVED], 100 * c->v[COV_UNEXPLAINED], d->splits[1].name, c->v[COV_IW],
				  100 * c->lo[COV_UNEXPLAINED], 100 * c->hi[COV_UNEXPLAINED], 100 * c->v[COV_EXPLAINED]);
	else
		title = xasprintf("P(y|x) has changed in %s: probes trained on %s and on train disagree on %.1f%% of its "
				  "rows, %.1f points more than two probes trained on train (95%% CI %.1f to %.1f).",
				  split, split, 100 * g->ac, 100 * g->ex, 100 * g->ex_lo, 100 * g->ex_hi);
	json_t *ev = json_object();
	json_object_set_new(ev, "metric", json_string("accuracy"));
	if (c->done) {
		json_t *cj = covariate_json(d, c);
		json_object_del(cj, "method");
		json_object_set_new(ev, "covariate", cj);
	}
	if (g->done) {
		json_t *gj = disagreement_json(g);
		json_object_del(gj, "method");
		json_object_set_new(ev, "disagreement", gj);
	}
	json_object_set_new(ev, "n", json_integer((json_int_t)(c->done ? c->m : g->n)));
	json_object_set_new(ev, "rule", json_string(
		"concept_drift when the unexplained accuracy drop (importance-weighted estimate from test minus observed) "
		"is >= 2 points and its 95% interval excludes 0: high when >= 5 points and its lower bound > 2 points, "
		"else medium; or medium when probes trained on this split disagree with a train probe at least 5 points "
		"more than two train probes do, and at least twice as often, with the interval of the excess above 0 "
		"(both tests only inside the splits' common support)"));
	json_array_append_new(findings, finding_new("concept_drift", 3, sev, title,
		subject_new(split, NULL, NULL, NULL, (long long)d->splits[s].nrows), ev));
	free(title);
}

/* ---- the analysis ---- */

int domain_run(struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis)
{
	if (p->d == 0 || !p->x) {
		json_object_set_new(analysis, "domain_skipped", json_string(
			"no feature or segment column to train a domain classifier on"));
		return 0;
	}
	json_t *list = json_array();
	struct strbuf skipped;
	sb_init(&skipped);
	int rc = 0;
	for (size_t s = 1; rc == 0 && s < d->nsplits; s++) {
		const struct rc_split *sp = &d->splits[s];
		size_t m = min3(d->splits[0].nrows, sp->nrows, RCPROBE_MAX_ROWS / 2);
		if (m < DOMAIN_MIN_ROWS) {
			sb_printf(&skipped, "%s%s: %zu rows against %zu in %s, fewer than %d on a side", skipped.len ? "; " : "",
				  sp->name, sp->nrows, d->splits[0].nrows, d->splits[0].name, DOMAIN_MIN_ROWS);
			continue;
		}
		json_t *entry = json_object();
		struct drift_fit df = {0};
		rc = drift_split(d, p, s, m, entry, findings, &df);
		if (rc == 0 && s >= 2 && sp->err && sp->n_eval > 0) {
			struct cov_out co;
			struct dis_out dis;
			const char *why_c = NULL, *why_d = NULL;
			rc = covariate_split(d, p, s, &co, &why_c);
			if (rc == 0)
				rc = disagreement_split(d, p, s, &df, &dis, &why_d);
			if (rc == 0) {
				if (co.done)
					json_object_set_new(entry, "covariate", covariate_json(d, &co));
				else
					json_object_set_new(entry, "covariate_skipped", json_string(why_c));
				if (dis.done)
					json_object_set_new(entry, "disagreement", disagreement_json(&dis));
				else
					json_object_set_new(entry, "disagreement_skipped", json_string(why_d));
				concept_finding(d, s, &co, &dis, findings);
			}
		}
		probe_result_free(df.clf);
		if (rc == 0)
			json_array_append_new(list, entry);
		else
			json_decref(entry);
	}
	if (rc == 0) {
		if (json_array_size(list))
			json_object_set_new(analysis, "domain", json_incref(list));
		if (skipped.len)
			json_object_set_new(analysis, "domain_skipped", json_string(skipped.data));
		else if (!json_array_size(list))
			json_object_set_new(analysis, "domain_skipped", json_string("no split besides train to compare with it"));
	}
	json_decref(list);
	sb_free(&skipped);
	return rc;
}
