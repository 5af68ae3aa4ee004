/* quality_checks.c - data quality and pipeline changes between splits.
 *
 * Each later split is compared with train, column by column (features and
 * segments). Problems of one column in one split are gathered into a single
 * data_quality finding (the finding id is kind + split + column, so two
 * findings there would share an id); a unit change is its own pipeline_change
 * finding. Columns that ingest already reported as missing or retyped in a
 * split are skipped there: every check would restate that finding.
 *
 * Thresholds (stated in analysis.json "quality.rules" for the report):
 *   missing spike      rate up by >= 5 points and two-proportion p < 1e-3;
 *                      severity by the rise: >= 20 points high, >= 10 medium
 *   all missing        a column present with no value in a split of >= 30 rows: high
 *   constant           one distinct value in a split of >= 30 rows, several in train: medium
 *   new categories     the split's rows holding levels train never had exceed
 *                      the Good-Turing estimate of unseen mass (train rows whose
 *                      level occurs once) by >= 1 point, z >= 3, >= 5 rows;
 *                      excess >= 50 points high, >= 10 medium
 *   vanished           levels holding >= 1% of train, none in the split although
 *                      >= 10 rows were expected: low (medium when >= 10% of train)
 *   unit change        see quality_checks.h: high (pipeline_change)
 *   duplicates, conflicting labels, rows shared with train: only when some
 *                      numeric feature is near-continuous (distinct values >= 10% of
 *                      train rows), since discrete data repeat rows naturally. */
#include "quality_checks.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ROWS 30
#define MISSING_RISE 0.05
#define MISSING_P 1e-3
#define NEW_LEVEL_SHARE 0.01
#define VANISH_SHARE 0.01
#define VANISH_EXPECTED 10.0
#define DUP_SHARE 0.01
#define CONFLICT_SHARE 0.005
#define OVERLAP_SHARE 0.01

/* ---- unit change ---- */

int quality_checks_unit_change(const double *a, size_t na, const double *b, size_t nb, struct unit_change *u)
{
	memset(u, 0, sizeof *u);
	u->ratio = u->d_raw = u->d_rescaled = u->p_raw = NAN;
	if (na < 20 || nb < 20)
		return 0;
	double ma = stats_quantile_sorted(a, na, 0.5), mb = stats_quantile_sorted(b, nb, 0.5);
	u->median_train = ma;
	u->median_split = mb;
	double ia = stats_quantile_sorted(a, na, 0.75) - stats_quantile_sorted(a, na, 0.25);
	double ib = stats_quantile_sorted(b, nb, 0.75) - stats_quantile_sorted(b, nb, 0.25);
	double lr;   /* log10 of the scale ratio */
	int by_median = ma != 0 && mb != 0 && (ma > 0) == (mb > 0) && !(ia > 0 && fabs(ma) < 0.5 * ia);
	if (by_median) {
		u->ratio = mb / ma;
		lr = log10(u->ratio);
	} else if (ia > 0 && ib > 0) {
		/* a median near 0 (a centred feature) says nothing of scale; the spread does */
		u->ratio = ib / ia;
		lr = log10(u->ratio);
	} else {
		return 0;
	}
	double k = round(lr);
	if (k == 0 || fabs(lr - k) >= QC_UNIT_TOL)
		return 0;
	if (by_median && ia > 0 && ib > 0 && fabs(log10(ib / ia) - k) >= 2 * QC_UNIT_TOL)
		return 0;
	rcstats_ks2(a, na, b, nb, 1.0, &u->d_raw, &u->p_raw);
	double dd, pp;
	rcstats_ks2(a, na, b, nb, pow(10.0, -k), &dd, &pp);
	u->d_rescaled = dd;
	if (u->d_raw < QC_UNIT_D_RAW || dd > QC_UNIT_D_RESCALED || dd > u->d_raw / 2)
		return 0;
	u->k = (int)k;
	return 1;
}

/* ---- per column ---- */

static enum severity max_sev(enum severity a, enum severity b)
{
	return a > b ? a : b;
}

static void add_problem(json_t *problems, struct strbuf *title, const char *check, json_t *numbers, const char *text)
{
	json_object_set_new(numbers, "check", json_string(check));
	json_object_set_new(numbers, "text", json_string(text));
	json_array_append_new(problems, numbers);
	sb_printf(title, "%s%s", title->len ? "; " : "", text);
}

static size_t missing_in(const struct rc_data *d, const struct rc_column *c, size_t s)
{
	const struct frame_column *fc = &d->splits[s].frame->cols[c->fidx[s]];
	size_t n = d->splits[s].nrows, m = 0;
	if (c->numeric) {
		for (size_t i = 0; i < n; i++)
			m += isnan(fc->num[i]);
	} else {
		for (size_t i = 0; i < n; i++)
			m += fc->code[i] < 0;
	}
	return m;
}

/* Rows per unified level in split s (nlevels entries, caller frees). */
static size_t *level_counts(const struct rc_data *d, const struct rc_column *c, size_t s)
{
	size_t *cnt = xcalloc(c->nlevels ? c->nlevels : 1, sizeof *cnt);
	const struct frame_column *fc = &d->splits[s].frame->cols[c->fidx[s]];
	/* count by frame code first, then map: one lookup per level, not per row */
	size_t *byc = xcalloc(fc->nlevels ? fc->nlevels : 1, sizeof *byc);
	for (size_t i = 0; i < d->splits[s].nrows; i++)
		if (fc->code[i] >= 0)
			byc[fc->code[i]]++;
	for (size_t l = 0; l < fc->nlevels; l++)
		cnt[c->lmap[s][l]] += byc[l];
	free(byc);
	return cnt;
}

static char *pct(double share)
{
	return xasprintf("%.1f%%", 100 * share);
}

static void column_checks(struct rc_data *d, size_t j, size_t s, json_t *findings, json_t *qlist, uint8_t *unit)
{
	struct rc_column *c = &d->cols[j];
	const char *split = d->splits[s].name;
	size_t n0 = d->splits[0].nrows, n1 = d->splits[s].nrows;
	if (c->fidx[0] < 0 || c->fidx[s] < 0 || n1 < MIN_ROWS || n0 < MIN_ROWS)
		return;
	if (rcdata_earlier_change(d, split, c->name))
		return;
	json_t *problems = json_array();
	struct strbuf title;
	sb_init(&title);
	enum severity sev = SEV_INFO;

	/* missing values */
	size_t m0 = missing_in(d, c, 0), m1 = missing_in(d, c, s);
	double r0 = (double)m0 / (double)n0, r1 = (double)m1 / (double)n1;
	if (m1 == n1 && m0 < n0) {
		json_t *num = json_object();
		json_object_set_new(num, "rows", json_integer((json_int_t)n1));
		json_object_set_new(num, "train_missing_rate", json_num_or_null(r0));
		char *t = xasprintf("every value is missing in %s (%.1f%% in train)", split, 100 * r0);
		add_problem(problems, &title, "all_missing", num, t);
		free(t);
		sev = max_sev(sev, c->role == ROLE_FEATURE ? SEV_HIGH : SEV_MEDIUM);
	} else if (r1 - r0 >= MISSING_RISE) {
		double p = stats_two_prop_pvalue(m1, n1, m0, n0);
		if (p < MISSING_P) {
			double lo, hi;
			rcstats_diff_ci(m1, n1, m0, n0, &lo, &hi);
			json_t *num = json_object();
			json_object_set_new(num, "missing_rate", estimate_json(r1, NAN, NAN, (long long)n1, NULL));
			json_object_set_new(num, "train_missing_rate", estimate_json(r0, NAN, NAN, (long long)n0, NULL));
			json_object_set_new(num, "rise", estimate_json(r1 - r0, lo, hi, (long long)(n0 + n1), NULL));
			json_object_set_new(num, "p_value", json_num_or_null(p));
			char *a = pct(r0), *b = pct(r1);
			char *t = xasprintf("missing values rose from %s in train to %s", a, b);
			add_problem(problems, &title, "missing_spike", num, t);
			free(a);
			free(b);
			free(t);
			double rise = r1 - r0;
			sev = max_sev(sev, rise >= 0.20 ? SEV_HIGH : rise >= 0.10 ? SEV_MEDIUM : SEV_LOW);
		}
	}

	if (c->numeric) {
		size_t na, nb;
		const double *a = rcdata_sorted(d, j, 0, &na);
		const double *b = rcdata_sorted(d, j, s, &nb);
		if (nb >= MIN_ROWS && na >= 2 && b[0] == b[nb - 1] && a[0] != a[na - 1]) {
			json_t *num = json_object();
			json_object_set_new(num, "value", json_num_or_null(b[0]));
			json_object_set_new(num, "rows", json_integer((json_int_t)nb));
			json_object_set_new(num, "train_min", json_num_or_null(a[0]));
			json_object_set_new(num, "train_max", json_num_or_null(a[na - 1]));
			char *t = xasprintf("constant (%g) in %s but varies in train", b[0], split);
			add_problem(problems, &title, "constant", num, t);
			free(t);
			sev = max_sev(sev, SEV_MEDIUM);
		}
		struct unit_change u;
		if (quality_checks_unit_change(a, na, b, nb, &u)) {
			unit[s * d->ncols + j] = 1;
			double factor = pow(10.0, u.k);
			json_t *ev = json_object();
			json_object_set_new(ev, "change", json_string("unit change"));
			json_object_set_new(ev, "factor", json_num_or_null(factor));
			json_object_set_new(ev, "power_of_ten", json_integer(u.k));
			json_object_set_new(ev, "median_ratio", json_num_or_null(u.ratio));
			json_object_set_new(ev, "median_train", json_num_or_null(u.median_train));
			json_object_set_new(ev, "median_split", json_num_or_null(u.median_split));
			json_object_set_new(ev, "ks_d", json_num_or_null(u.d_raw));
			json_object_set_new(ev, "ks_p", json_num_or_null(u.p_raw));
			json_object_set_new(ev, "ks_d_rescaled", json_num_or_null(u.d_rescaled));
			json_object_set_new(ev, "n_train", json_integer((json_int_t)na));
			json_object_set_new(ev, "n", json_integer((json_int_t)nb));
			json_object_set_new(ev, "rule", json_string(
				"k = round(log10(median ratio)) != 0, within 0.15 of k; KS D >= 0.3 raw and <= 0.15 (and <= half the raw D) after dividing by 10^k"));
			char f1[48], f0[48], fb[48];
			char *t = xasprintf("Feature %s arrives in other units in %s: its values are about %sx those in train "
					    "(median %s vs %s; KS D %.2f, %.2f after dividing by %s).",
					    c->name, split, rc_fmt(fb, sizeof fb, factor), rc_fmt(f1, sizeof f1, u.median_split),
					    rc_fmt(f0, sizeof f0, u.median_train), u.d_raw, u.d_rescaled, fb);
			json_array_append_new(findings, finding_new("pipeline_change", 2, SEV_HIGH, t,
				subject_new(split, c->name, NULL, NULL, (long long)nb), ev));
			free(t);
		}
	} else {
		size_t *c0 = level_counts(d, c, 0), *c1 = level_counts(d, c, s);
		size_t new_rows = 0, nonmiss1 = n1 - m1, nonmiss0 = n0 - m0, dist0 = 0, dist1 = 0, once = 0;
		size_t top[3] = {0, 0, 0};
		int topl[3] = {-1, -1, -1};
		for (size_t l = 0; l < c->nlevels; l++) {
			dist0 += c0[l] > 0;
			once += c0[l] == 1;
			dist1 += c1[l] > 0;
			if (c0[l] == 0 && c1[l] > 0) {
				new_rows += c1[l];
				for (int t = 0; t < 3; t++)
					if (c1[l] > top[t]) {
						for (int u = 2; u > t; u--) {
							top[u] = top[u - 1];
							topl[u] = topl[u - 1];
						}
						top[t] = c1[l];
						topl[t] = (int)l;
						break;
					}
			}
		}
		double share = nonmiss1 ? (double)new_rows / (double)nonmiss1 : 0;
		/* A column with many rare levels (a zip code) meets unseen ones in any
		 * new sample. Good-Turing: the share of train rows whose level occurs
		 * once estimates the mass of levels train has not seen; only new
		 * levels beyond it are news. */
		double expected = nonmiss0 ? (double)once / (double)nonmiss0 : 0;
		double excess = share - expected;
		double z = expected > 0 && expected < 1
			? ((double)new_rows - expected * (double)nonmiss1) / sqrt(expected * (1 - expected) * (double)nonmiss1)
			: INFINITY;
		if (excess >= NEW_LEVEL_SHARE && new_rows >= 5 && z >= 3) {
			json_t *num = json_object(), *lv = json_array();
			struct strbuf names;
			sb_init(&names);
			for (int t = 0; t < 3 && topl[t] >= 0; t++) {
				json_t *e = json_object();
				json_object_set_new(e, "value", json_string(c->levels[topl[t]]));
				json_object_set_new(e, "rows", json_integer((json_int_t)top[t]));
				json_array_append_new(lv, e);
				sb_printf(&names, "%s'%s'", t ? ", " : "", c->levels[topl[t]]);
			}
			json_object_set_new(num, "rows", json_integer((json_int_t)new_rows));
			json_object_set_new(num, "share", json_num_or_null(share));
			json_object_set_new(num, "expected_share", json_num_or_null(expected));
			json_object_set_new(num, "top_new_levels", lv);
			char *a = pct(share);
			char *t = expected >= 0.005
				? xasprintf("%s of its rows in %s hold categories train never had (%s), where train's rare levels "
					    "predict %.1f%%", a, split, names.data, 100 * expected)
				: xasprintf("%s of its rows in %s hold categories train never had (%s)", a, split, names.data);
			add_problem(problems, &title, "new_categories", num, t);
			free(a);
			free(t);
			sb_free(&names);
			sev = max_sev(sev, excess >= 0.5 ? SEV_HIGH : excess >= 0.1 ? SEV_MEDIUM : SEV_LOW);
		}
		size_t vanished = 0, vanished_rows = 0;
		json_t *vl = json_array();
		for (size_t l = 0; l < c->nlevels && nonmiss0; l++) {
			double sh = (double)c0[l] / (double)nonmiss0;
			if (sh >= VANISH_SHARE && c1[l] == 0 && sh * (double)nonmiss1 >= VANISH_EXPECTED) {
				vanished++;
				vanished_rows += c0[l];
				if (json_array_size(vl) < 5)
					json_array_append_new(vl, json_string(c->levels[l]));
			}
		}
		if (vanished) {
			double sh = (double)vanished_rows / (double)nonmiss0;
			json_t *num = json_object();
			json_object_set_new(num, "levels", json_integer((json_int_t)vanished));
			json_object_set_new(num, "train_share", json_num_or_null(sh));
			json_object_set_new(num, "examples", vl);
			char *a = pct(sh);
			char *t = xasprintf("%zu categor%s holding %s of train never appear%s in %s", vanished,
					    vanished == 1 ? "y" : "ies", a, vanished == 1 ? "s" : "", split);
			add_problem(problems, &title, "vanished_categories", num, t);
			free(a);
			free(t);
			sev = max_sev(sev, sh >= 0.10 ? SEV_MEDIUM : SEV_LOW);
		} else {
			json_decref(vl);
		}
		if (nonmiss1 >= MIN_ROWS && dist1 == 1 && dist0 > 1) {
			json_t *num = json_object();
			json_object_set_new(num, "rows", json_integer((json_int_t)nonmiss1));
			json_object_set_new(num, "train_distinct", json_integer((json_int_t)dist0));
			char *t = xasprintf("a single category in %s but %zu in train", split, dist0);
			add_problem(problems, &title, "constant", num, t);
			free(t);
			sev = max_sev(sev, SEV_MEDIUM);
		}
		free(c0);
		free(c1);
	}

	json_t *entry = json_object();
	json_object_set_new(entry, "split", json_string(split));
	json_object_set_new(entry, "column", json_string(c->name));
	json_object_set_new(entry, "missing_rate", json_num_or_null(r1));
	json_object_set_new(entry, "train_missing_rate", json_num_or_null(r0));
	json_object_set_new(entry, "problems", json_deep_copy(problems));
	json_array_append_new(qlist, entry);
	if (json_array_size(problems)) {
		char *t = xasprintf("Column %s in %s: %s.", c->name, split, title.data);
		json_t *ev = json_object();
		json_object_set_new(ev, "problems", problems);
		json_object_set_new(ev, "n", json_integer((json_int_t)n1));
		json_object_set_new(ev, "n_train", json_integer((json_int_t)n0));
		json_array_append_new(findings, finding_new("data_quality", 2, sev, t,
			subject_new(split, c->name, NULL, NULL, (long long)n1), ev));
		free(t);
	} else {
		json_decref(problems);
	}
	sb_free(&title);
}

/* ---- rows: duplicates, conflicting labels, overlap with train ---- */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* Hash of every row's analysed columns (features and segments, by unified
 * level so equal text hashes equally in every split). Caller frees. */
static uint64_t *row_hashes(const struct rc_data *d, size_t s)
{
	size_t n = d->splits[s].nrows;
	uint64_t *h = xcalloc(n ? n : 1, sizeof *h);
	for (size_t j = 0; j < d->ncols; j++) {
		const struct rc_column *c = &d->cols[j];
		if (c->fidx[s] < 0) {
			for (size_t i = 0; i < n; i++)
				h[i] = mix(h[i], 0x5bd1e995ull + j);
			continue;
		}
		const struct frame_column *fc = &d->splits[s].frame->cols[c->fidx[s]];
		for (size_t i = 0; i < n; i++) {
			uint64_t v;
			if (c->numeric) {
				double x = fc->num[i];
				if (isnan(x))
					x = NAN;
				x += 0.0;
				memcpy(&v, &x, sizeof v);
			} else {
				int32_t code = fc->code[i];
				v = (uint64_t)(int64_t)(code < 0 ? -1 : c->lmap[s][code]);
			}
			h[i] = mix(h[i], v);
		}
	}
	return h;
}

/* Is some numeric feature near-continuous in train? */
static int continuous_data(struct rc_data *d)
{
	size_t n0 = d->splits[0].nrows;
	for (size_t j = 0; j < d->ncols; j++) {
		if (!d->cols[j].numeric)
			continue;
		size_t na;
		const double *a = rcdata_sorted(d, j, 0, &na);
		size_t distinct = na ? 1 : 0;
		for (size_t i = 1; i < na; i++)
			distinct += a[i] != a[i - 1];
		if (n0 && distinct * 10 >= n0)
			return 1;
	}
	return 0;
}

static void row_checks(struct rc_data *d, json_t *findings, json_t *rows_out)
{
	int cont = continuous_data(d);
	size_t ns = d->nsplits;
	uint64_t **sorted = xcalloc(ns, sizeof *sorted);
	for (size_t s = 0; s < ns; s++) {
		const struct rc_split *sp = &d->splits[s];
		size_t n = sp->nrows;
		uint64_t *h = row_hashes(d, s);
		uint32_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
		for (size_t i = 0; i < n; i++)
			idx[i] = (uint32_t)i;
		rcstats_sort_u64(h, idx, n);
		size_t dups = 0, conflict_rows = 0, conflict_groups = 0;
		for (size_t i = 0; i < n;) {
			size_t g = i + 1;
			int y0 = sp->y[idx[i]], mixed = 0;
			for (; g < n && h[g] == h[i]; g++)
				if (sp->y[idx[g]] >= 0 && y0 >= 0 && sp->y[idx[g]] != y0)
					mixed = 1;
				else if (y0 < 0)
					y0 = sp->y[idx[g]];
			dups += g - i - 1;
			if (mixed) {
				conflict_groups++;
				conflict_rows += g - i;
			}
			i = g;
		}
		free(idx);
		size_t overlap = 0;
		if (s > 0 && sorted[0]) {
			const uint64_t *t = sorted[0];
			size_t nt = d->splits[0].nrows, k = 0;
			for (size_t i = 0; i < n; i++) {
				while (k < nt && t[k] < h[i])
					k++;
				overlap += k < nt && t[k] == h[i];
			}
		}
		sorted[s] = h;
		json_t *e = json_object();
		json_object_set_new(e, "split", json_string(sp->name));
		json_object_set_new(e, "rows", json_integer((json_int_t)n));
		json_object_set_new(e, "duplicate_rows", json_integer((json_int_t)dups));
		json_object_set_new(e, "conflicting_label_rows", json_integer((json_int_t)conflict_rows));
		json_object_set_new(e, "conflicting_groups", json_integer((json_int_t)conflict_groups));
		if (s > 0)
			json_object_set_new(e, "rows_also_in_train", json_integer((json_int_t)overlap));
		json_object_set_new(e, "checked", json_boolean(cont));
		json_array_append_new(rows_out, e);
		if (!cont || n < MIN_ROWS)
			continue;
		double dsh = (double)dups / (double)n, csh = (double)conflict_rows / (double)n;
		if (dsh >= DUP_SHARE) {
			char *t = xasprintf("%.1f%% of %s rows (%zu) repeat another row's feature values exactly.", 100 * dsh,
					    sp->name, dups);
			json_t *ev = json_object();
			json_object_set_new(ev, "duplicate_rows", json_integer((json_int_t)dups));
			json_object_set_new(ev, "share", json_num_or_null(dsh));
			json_object_set_new(ev, "n", json_integer((json_int_t)n));
			json_array_append_new(findings, finding_new("data_quality", 2, dsh >= 0.10 ? SEV_MEDIUM : SEV_LOW, t,
				subject_new(sp->name, NULL, NULL, "duplicate rows", (long long)dups), ev));
			free(t);
		}
		if (csh >= CONFLICT_SHARE) {
			char *t = xasprintf("%zu %s rows (%.1f%%) share identical feature values with a row of another label.",
					    conflict_rows, sp->name, 100 * csh);
			json_t *ev = json_object();
			json_object_set_new(ev, "rows", json_integer((json_int_t)conflict_rows));
			json_object_set_new(ev, "groups", json_integer((json_int_t)conflict_groups));
			json_object_set_new(ev, "share", json_num_or_null(csh));
			json_object_set_new(ev, "n", json_integer((json_int_t)n));
			json_array_append_new(findings, finding_new("data_quality", 2, csh >= 0.02 ? SEV_MEDIUM : SEV_LOW, t,
				subject_new(sp->name, NULL, NULL, "conflicting labels", (long long)conflict_rows), ev));
			free(t);
		}
		double osh = (double)overlap / (double)n;
		if (s > 0 && osh >= OVERLAP_SHARE) {
			char *t = xasprintf("%.1f%% of %s rows (%zu) also appear in train with the same feature values: its metrics flatter the model.",
					    100 * osh, sp->name, overlap);
			json_t *ev = json_object();
			json_object_set_new(ev, "rows", json_integer((json_int_t)overlap));
			json_object_set_new(ev, "share", json_num_or_null(osh));
			json_object_set_new(ev, "n", json_integer((json_int_t)n));
			json_array_append_new(findings, finding_new("data_quality", 2, osh >= 0.10 ? SEV_HIGH : SEV_MEDIUM, t,
				subject_new(sp->name, NULL, NULL, "rows shared with train", (long long)overlap), ev));
			free(t);
		}
	}
	for (size_t s = 0; s < ns; s++)
		free(sorted[s]);
	free(sorted);
}

int quality_checks_run(struct rc_data *d, json_t *findings, json_t *analysis, uint8_t *unit)
{
	json_t *q = json_object(), *cols = json_array(), *rows = json_array();
	for (size_t s = 1; s < d->nsplits; s++)
		for (size_t j = 0; j < d->ncols; j++)
			column_checks(d, j, s, findings, cols, unit);
	row_checks(d, findings, rows);
	json_object_set_new(q, "columns", cols);
	json_object_set_new(q, "rows", rows);
	json_object_set_new(q, "rules", json_string(
		"missing spike: rate up >= 5 points, two-proportion p < 1e-3 (high >= 20 points, medium >= 10); "
		"all missing: high for a feature; constant in a split but not in train: medium; "
		"new categories: rows with levels unseen in train exceed the Good-Turing unseen mass (train rows whose level "
		"occurs once) by >= 1 point, z >= 3 (high >= 50 points, medium >= 10); vanished: levels with >= 1% of train absent; "
		"unit change: median ratio within 0.15 of a power of ten 10^k, k != 0, KS D >= 0.3 raw and <= 0.15 after "
		"dividing by 10^k; duplicates >= 1%, conflicting labels >= 0.5%, rows shared with train >= 1%, "
		"checked only when some numeric feature is near-continuous"));
	json_object_set_new(analysis, "quality", q);
	return 0;
}
