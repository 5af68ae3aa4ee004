/* test_rootcause.c - the rootcause stage.
 *
 * - statistics against scipy 1.10 / sklearn 1.2 on fixed inputs (computed
 *   once with /usr/bin/python3 and written here as literals; the test needs no
 *   Python): KS statistic and p, the Kolmogorov distribution, Wasserstein-1,
 *   chi-square tables and survival function, regularised gamma, Jensen-Shannon
 *   distance, PSI, AUC;
 * - the radix sort against qsort;
 * - the unit-change detector: x1000 and x0.001 flagged, x1.05 and x1 not;
 * - the error tree and the slice search find a slice planted in frames built
 *   here; quality checks, drift, leakage and time windows on planted defects;
 * - the binary end to end on synth scenarios and seeds (MLAUDIT_BIN). */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/ingest/frame.h"
#include "stages/rootcause/drift.h"
#include "stages/rootcause/errtree.h"
#include "stages/rootcause/leakage.h"
#include "stages/rootcause/quality_checks.h"
#include "stages/rootcause/rcdata.h"
#include "stages/rootcause/rcstats.h"
#include "stages/rootcause/slices.h"
#include "stages/rootcause/timewin.h"
#include "tests/unit/testutil.h"

static void near(double got, double want, double tol, const char *what)
{
	ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s: got %.17g, want %.17g", what, got, want);
}

/* ---- statistics against scipy ---- */

static const double ka[] = {0.1, 0.4, 0.7, 1.2, 1.5, 2.0, 2.2, 3.1};
static const double kb[] = {0.3, 0.5, 1.1, 1.9, 2.5, 2.9, 3.3, 3.8, 4.1, 5.0};

START_TEST(ks_and_wasserstein_match_scipy)
{
	double d, p;
	/* scipy.stats.ks_2samp(a, b).statistic; p: kstwobign.sf(sqrt(n1 n2/(n1+n2)) D) */
	rcstats_ks2(ka, 8, kb, 10, 1.0, &d, &p);
	near(d, 0.475, 1e-12, "ks small D");
	near(p, 0.2685148591228448, 1e-9, "ks small p");
	near(rcstats_wasserstein(ka, 8, kb, 10), 1.14, 1e-12, "wasserstein small");
	/* ties across samples */
	static const double ta[] = {1, 1, 2, 2, 3}, tb[] = {1, 2, 2, 3, 3, 3, 4};
	rcstats_ks2(ta, 5, tb, 7, 1.0, &d, &p);
	near(d, 0.37142857142857144, 1e-12, "ks ties D");
	near(rcstats_wasserstein(ta, 5, tb, 7), 0.7714285714285716, 1e-12, "wasserstein ties");
	/* A_i = 3 sin(i), i < 200; B_j = 3 cos(1.3 j) + 0.5, j < 150 */
	double A[200], B[150];
	for (int i = 0; i < 200; i++)
		A[i] = sin(i) * 3;
	for (int j = 0; j < 150; j++)
		B[j] = cos(j * 1.3) * 3 + 0.5;
	rcstats_sort_doubles(A, 200);
	rcstats_sort_doubles(B, 150);
	rcstats_ks2(A, 200, B, 150, 1.0, &d, &p);
	near(d, 0.185, 1e-12, "ks big D");
	near(p, 0.005661900310165306, 1e-9, "ks big p (asymptotic)");
	/* scipy's own default here is exact, 0.004991452951795344: the asymptotic
	 * p stays within 1e-3 of it at these sizes */
	ck_assert(fabs(p - 0.004991452951795344) < 1e-3);
	near(rcstats_wasserstein(A, 200, B, 150), 0.48954060333941174, 1e-9, "wasserstein big");
	/* scaling b by 1 is the identity; by 2 changes D */
	double d2, p2;
	rcstats_ks2(A, 200, A, 200, 1.0, &d2, &p2);
	near(d2, 0, 0, "ks identical");
	near(p2, 1, 0, "ks identical p");
}
END_TEST

START_TEST(kolmogorov_chi2_gamma_match_scipy)
{
	static const double x[] = {0.3, 0.5, 1.0, 1.36, 2.0, 3.0};
	static const double sf[] = {0.9999906941986655, 0.9639452436648751, 0.26999967167735456,
				    0.049485876755377876, 0.0006709252557796953, 3.045995948942526e-08};
	for (int i = 0; i < 6; i++)
		near(rcstats_kolmogorov_sf(x[i]), sf[i], 1e-9, "kstwobign.sf");
	static const double cx[] = {3.84, 100, 0.5, 25, 1e-3, 40}, ck[] = {1, 10, 3, 30, 2, 4};
	static const double csf[] = {0.05004352124870519, 5.4497019829205215e-17, 0.9188914116546758,
				     0.7250318841806004, 0.9995001249791693, 4.328422607120966e-08};
	for (int i = 0; i < 6; i++)
		near(rcstats_chi2_sf(cx[i], ck[i]), csf[i], 1e-9, "chi2.sf");
	/* scipy.stats.gamma.sf(x, a) = Q(a, x) */
	near(rcstats_gamma_q(3.5, 2.5), 0.6599632296942824, 1e-10, "Q(3.5, 2.5)");
	near(rcstats_gamma_q(0.5, 0.2), 0.5270892568655381, 1e-10, "Q(0.5, 0.2)");
	near(rcstats_gamma_q(40, 50), 0.064570368921133, 1e-9, "Q(40, 50)");
	/* scipy.stats.chi2_contingency(t, correction=False) */
	static const double t1[] = {10, 20, 30, 15, 15, 40};
	double dof, p;
	near(rcstats_chi2_table(t1, 2, 3, &dof, &p), 2.3877551020408165, 1e-12, "chi2 table");
	near(p, 0.30304391468510006, 1e-9, "chi2 table p");
	near(dof, 2, 0, "chi2 dof");
	/* an empty column is left out of the statistic and the degrees of freedom */
	static const double t2[] = {50, 30, 0, 20, 45, 40, 0, 15};
	near(rcstats_chi2_table(t2, 2, 4, &dof, &p), 2.406015037593985, 1e-12, "chi2 table with empty column");
	near(p, 0.3002897254700883, 1e-9, "its p");
	near(dof, 2, 0, "its dof");
}
END_TEST

START_TEST(js_psi_auc_match_scipy)
{
	static const double P[] = {10, 20, 30, 40}, Q[] = {25, 25, 25, 25};
	near(rcstats_js_distance(P, Q, 4), 0.2005033225314282, 1e-12, "jensenshannon base 2");
	static const double P2[] = {5, 0, 5}, Q2[] = {0, 5, 5};
	near(rcstats_js_distance(P2, Q2, 3), 0.7071067811865476, 1e-12, "jensenshannon disjoint parts");
	/* PSI = sum (a - e) ln(a / e), proportions floored at 1e-4 (numpy, same formula) */
	near(rcstats_psi(P, Q, 4), 0.22821740957339184, 1e-12, "psi");
	static const double E3[] = {30, 30, 40, 0}, A3[] = {10, 10, 10, 70};
	near(rcstats_psi(E3, A3, 4), 7.052013656886622, 1e-12, "psi with an empty expected bin");
	/* deciles of A (numpy.quantile, searchsorted side=right): counts and PSI */
	double A[200], B[150];
	for (int i = 0; i < 200; i++)
		A[i] = sin(i) * 3;
	for (int j = 0; j < 150; j++)
		B[j] = cos(j * 1.3) * 3 + 0.5;
	rcstats_sort_doubles(A, 200);
	rcstats_sort_doubles(B, 150);
	double edges[10], ca[11], cb[11];
	size_t ne = rcstats_quantile_edges(A, 200, 10, edges);
	ck_assert_uint_eq(ne, 9);
	rcstats_bin_counts_sorted(A, 200, edges, ne, ca);
	rcstats_bin_counts_sorted(B, 150, edges, ne, cb);
	static const double want_b[] = {0, 10, 21, 21, 19, 11, 11, 11, 10, 36};
	for (int i = 0; i < 10; i++) {
		near(ca[i], 20, 0, "train decile count");
		near(cb[i], want_b[i], 0, "current decile count");
	}
	near(rcstats_psi(ca, cb, 10), 0.8977152567494562, 1e-12, "psi over train deciles");
	/* sklearn.metrics.roc_auc_score with ties */
	static const int y[] = {0, 0, 1, 1, 0, 1, 1, 0, 1, 1};
	static const double s[] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.4, 0.2, 0.7, 0.1};
	double pos[10], neg[10];
	size_t np = 0, nn = 0;
	for (int i = 0; i < 10; i++) {
		if (y[i])
			pos[np++] = s[i];
		else
			neg[nn++] = s[i];
	}
	rcstats_sort_doubles(pos, np);
	rcstats_sort_doubles(neg, nn);
	near(rcstats_auc_sorted(pos, np, neg, nn), 0.7291666666666667, 1e-12, "auc");
	/* the same as groups of tied scores */
	static const double gs[] = {0.1, 0.2, 0.35, 0.4, 0.7, 0.8, 0.9};
	static const double gp[] = {1, 0, 1, 1, 1, 1, 1}, gn[] = {1, 1, 0, 2, 0, 0, 0};
	near(rcstats_auc_groups(gs, gp, gn, 7), 0.7291666666666667, 1e-12, "auc by groups");
	/* Newcombe's interval holds the difference */
	double lo, hi;
	rcstats_diff_ci(30, 100, 20, 100, &lo, &hi);
	ck_assert(lo < 0.1 && 0.1 < hi && lo > -0.05 && hi < 0.25);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

START_TEST(radix_sort_matches_qsort)
{
	struct rng r;
	rng_seed(&r, 7);
	size_t n = 100000;
	double *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
	for (size_t i = 0; i < n; i++) {
		double v = rng_normal(&r) * pow(10, (double)(rng_below(&r, 12)) - 6);
		if (i % 1000 == 0)
			v = -0.0;
		if (i % 777 == 0)
			v = 0.0;
		if (i % 5 == 0)
			v = round(v);   /* ties */
		a[i] = b[i] = v;
	}
	rcstats_sort_doubles(a, n);
	qsort(b, n, sizeof *b, cmp_double);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(a[i] == b[i], "row %zu: %g vs %g", i, a[i], b[i]);
	/* bins: the number of edges <= x, for every edge count and around every edge */
	double edges[33];
	for (size_t ne = 0; ne <= 33; ne++) {
		for (size_t k = 0; k < ne; k++)
			edges[k] = (double)k * 0.5;
		for (double x = -1; x <= 17.5; x += 0.25) {
			size_t want = 0;
			for (size_t k = 0; k < ne; k++)
				want += edges[k] <= x;
			ck_assert_uint_eq(rcstats_bin(edges, ne, x), want);
		}
	}
	/* numbers for sentences */
	char buf[48];
	ck_assert_str_eq(rc_fmt(buf, sizeof buf, 3475123), "3,475,000");
	ck_assert_str_eq(rc_fmt(buf, sizeof buf, 3534), "3534");
	ck_assert_str_eq(rc_fmt(buf, sizeof buf, -12345.6), "-12,350");
	ck_assert_str_eq(rc_fmt(buf, sizeof buf, 0.02415), "0.02415");
	uint64_t keys[5] = {5, 3, 5, 1, 3};
	uint32_t idx[5] = {0, 1, 2, 3, 4};
	rcstats_sort_u64(keys, idx, 5);
	/* stable: equal keys keep their order */
	ck_assert(idx[0] == 3 && idx[1] == 1 && idx[2] == 4 && idx[3] == 0 && idx[4] == 2);
	free(a);
	free(b);
}
END_TEST

/* ---- the unit-change detector ---- */

static double *sample(uint64_t seed, size_t n, double scale, int centred)
{
	struct rng r;
	rng_seed(&r, seed);
	double *v = xmalloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = scale * (centred ? rng_normal(&r) : exp(8.16 + 0.5 * rng_normal(&r)));
	rcstats_sort_doubles(v, n);
	return v;
}

START_TEST(unit_change_flags_powers_of_ten_only)
{
	size_t n = 5000;
	double *train = sample(1, n, 1, 0);
	struct unit_change u;
	double *x1000 = sample(2, n, 1000, 0);
	ck_assert_int_eq(quality_checks_unit_change(train, n, x1000, n, &u), 1);
	ck_assert_int_eq(u.k, 3);
	ck_assert(u.d_raw > 0.99 && u.d_rescaled < 0.05);
	double *milli = sample(3, n, 0.001, 0);
	ck_assert_int_eq(quality_checks_unit_change(train, n, milli, n, &u), 1);
	ck_assert_int_eq(u.k, -3);
	double *x105 = sample(4, n, 1.05, 0);
	ck_assert_int_eq(quality_checks_unit_change(train, n, x105, n, &u), 0);
	ck_assert_int_eq(u.k, 0);
	double *same = sample(5, n, 1, 0);
	ck_assert_int_eq(quality_checks_unit_change(train, n, same, n, &u), 0);
	/* a centred feature: the median says nothing, the spread does */
	double *c0 = sample(6, n, 1, 1), *c100 = sample(7, n, 100, 1), *c1 = sample(8, n, 1, 1);
	ck_assert_int_eq(quality_checks_unit_change(c0, n, c100, n, &u), 1);
	ck_assert_int_eq(u.k, 2);
	ck_assert_int_eq(quality_checks_unit_change(c0, n, c1, n, &u), 0);
	/* x10 of a shifted copy is not a unit change: after rescaling it still differs */
	double *shift = xmalloc(n * sizeof *shift);
	for (size_t i = 0; i < n; i++)
		shift[i] = 10 * (train[i] + 2000);
	ck_assert_int_eq(quality_checks_unit_change(train, n, shift, n, &u), 0);
	free(train); free(x1000); free(milli); free(x105); free(same); free(c0); free(c100); free(c1); free(shift);
}
END_TEST

/* ---- frames built here ---- */

static const char *const yes_no[] = {"no", "yes"};
static const char *const segs[] = {"a", "b", "c", "d"};

/* Rows with seg in a..d, x ~ U(0,1), z ~ N(0,1), a label, a prediction and
 * P(yes). The model errs with probability 0.10, and 0.6 where seg=c and
 * x >= 0.625 (the planted slice), with the same confidence everywhere, so the
 * slice is worse than the model believes. time = row index. */
static struct frame *planted(const char *split, size_t n, uint64_t seed)
{
	struct frame *f = tu_frame(split, n);
	/* every column first: addcol may move the array */
	tu_addcol(f, "seg", COL_CATEGORICAL, ROLE_SEGMENT, segs, 4);
	tu_addcol(f, "x", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "z", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	tu_addcol(f, "y", COL_CATEGORICAL, ROLE_LABEL, yes_no, 2);
	tu_addcol(f, "pred", COL_CATEGORICAL, ROLE_PREDICTION, yes_no, 2);
	tu_addcol(f, "proba", COL_NUMERIC, ROLE_PROBA, NULL, 0);
	tu_addcol(f, "t", COL_NUMERIC, ROLE_TIME, NULL, 0);
	struct frame_column *seg = &f->cols[0], *x = &f->cols[1], *z = &f->cols[2], *y = &f->cols[3];
	struct frame_column *pr = &f->cols[4], *pb = &f->cols[5], *t = &f->cols[6];
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		seg->code[i] = (int32_t)rng_below(&r, 4);
		x->num[i] = rng_uniform(&r);
		z->num[i] = rng_normal(&r);
		int label = rng_uniform(&r) < 0.4;
		int bad = seg->code[i] == 2 && x->num[i] >= 0.625;
		int wrong = rng_uniform(&r) < (bad ? 0.6 : 0.1);
		int p = wrong ? !label : label;
		y->code[i] = label;
		pr->code[i] = p;
		pb->num[i] = p ? 0.9 : 0.1;
		t->num[i] = (double)i;
	}
	return f;
}

static struct audit_config *model_config(void)
{
	struct audit_config *c = xmalloc(sizeof *c);
	config_init(c);
	c->pred = xstrdup("pred");
	c->proba = xstrdup("proba");
	c->label = xstrdup("y");
	c->time = xstrdup("t");
	return c;
}

static struct rc_data *planted_data(struct audit_config *cfg, size_t n)
{
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = planted("train", n, 11);
	fr[1] = planted("test", n / 2, 12);
	fr[2] = planted("current", n / 2, 13);
	static const char *const cls[] = {"no", "yes"};
	struct rc_data *d = rcdata_from_frames(cfg, fr, 3, cls, 2, 1);
	ck_assert_ptr_nonnull(d);
	return d;
}

static void free_config(struct audit_config *c)
{
	config_free(c);
	free(c);
}

/* The lower bound the slice text puts on x ("x >= 0.625", "x in [0.6, 0.8)"), or NAN. */
static double x_lower_bound(const char *text)
{
	const char *p = strstr(text, "x >= ");
	if (p && (p == text || p[-1] == ' '))
		return strtod(p + 5, NULL);
	p = strstr(text, "x in [");
	if (p && (p == text || p[-1] == ' '))
		return strtod(p + 6, NULL);
	return NAN;
}

START_TEST(error_tree_finds_planted_slice)
{
	struct audit_config *cfg = model_config();
	struct rc_data *d = planted_data(cfg, 20000);
	const struct rc_split *sp = &d->splits[1];
	ck_assert_uint_eq(sp->n_eval, 10000);
	size_t *ridx = xmalloc(sp->n_eval * sizeof *ridx);
	uint8_t *err = xmalloc(sp->n_eval);
	size_t m = 0;
	for (size_t i = 0; i < sp->nrows; i++)
		if (sp->err[i] >= 0) {
			ridx[m] = i;
			err[m++] = (uint8_t)sp->err[i];
		}
	struct errtree t;
	/* the planted slice starts at x = 0.625, one of the 32 quantile cut points of U(0, 1) */
	errtree_fit(d, 1, ridx, err, m, 100, 3, &t);
	ck_assert_uint_ge(t.nleaves, 2);
	/* the worst leaf is the planted slice: seg=c and x >= about 0.6 */
	size_t worst = 0;
	for (size_t i = 1; i < t.nleaves; i++)
		if ((double)t.leaves[i].errs / (double)t.leaves[i].rows >
		    (double)t.leaves[worst].errs / (double)t.leaves[worst].rows)
			worst = i;
	const struct errtree_leaf *lf = &t.leaves[worst];
	double rate = (double)lf->errs / (double)lf->rows;
	ck_assert_msg(rate > 0.5, "worst leaf error rate %g", rate);
	struct strbuf sb;
	sb_init(&sb);
	for (size_t k = 0; k < lf->nconds; k++) {
		if (k)
			sb_puts(&sb, " and ");
		slicecond_text(d, &lf->conds[k], &sb);
	}
	double lb = x_lower_bound(sb.data);
	ck_assert_msg(strstr(sb.data, "seg=c") && lb >= 0.55 && lb <= 0.65, "worst leaf: %s", sb.data);
	/* its rows: about a quarter of the 40% with x >= 0.6 */
	ck_assert_msg(lf->rows > 400 && lf->rows < 1200, "rows %zu", lf->rows);
	ck_assert_uint_eq(bits_and_count(lf->bits, NULL, bits_words(m)), lf->rows);
	ck_assert(json_array_size(t.nodes) >= 3);
	sb_free(&sb);
	errtree_free(&t);
	free(ridx);
	free(err);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

static json_t *find_kind(json_t *findings, const char *kind, const char *split, size_t nth)
{
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const char *k = json_string_value(json_object_get(f, "kind"));
		const char *s = json_string_value(json_object_get(json_object_get(f, "subject"), "split"));
		if (k && !strcmp(k, kind) && (!split || (s && !strcmp(s, split))) && nth-- == 0)
			return f;
	}
	return NULL;
}

START_TEST(slice_search_lists_planted_slice_first)
{
	struct audit_config *cfg = model_config();
	struct rc_data *d = planted_data(cfg, 20000);
	json_t *findings = json_array(), *analysis = json_object();
	struct strbuf csv;
	sb_init(&csv);
	ck_assert_int_eq(slices_run(d, findings, &csv, analysis), 0);
	json_t *listed = json_object_get(json_object_get(analysis, "slices"), "listed");
	ck_assert(json_array_size(listed) >= 1);
	for (const char *split = "test"; split; split = strcmp(split, "test") ? NULL : "current") {
		json_t *first = NULL, *e;
		size_t i;
		json_array_foreach(listed, i, e)
			if (!strcmp(json_string_value(json_object_get(e, "split")), split) &&
			    json_integer_value(json_object_get(e, "rank")) == 1)
				first = e;
		ck_assert_ptr_nonnull(first);
		const char *text = json_string_value(json_object_get(first, "slice"));
		double lb = x_lower_bound(text);
		ck_assert_msg(strstr(text, "seg=c") && lb >= 0.55 && lb <= 0.85, "%s rank 1: %s", split, text);
		/* evidence a reader needs: rates with intervals, ratio, share, p, q */
		json_t *rate = json_object_get(first, "error_rate");
		ck_assert(json_real_value(json_object_get(rate, "value")) > 0.5);
		ck_assert(json_real_value(json_object_get(rate, "ci_low")) < json_real_value(json_object_get(rate, "value")));
		ck_assert(json_real_value(json_object_get(first, "ratio")) > 4);
		ck_assert(json_real_value(json_object_get(first, "q_value")) < 1e-10);
		long long tr = json_integer_value(json_object_get(first, "train_rows"));
		ck_assert_msg(tr > 500, "%s: %lld train rows in %s", split, tr, text);
		/* the slice is the high error_slice finding of the split */
		json_t *f = find_kind(findings, "error_slice", split, 0);
		ck_assert_ptr_nonnull(f);
		ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	}
	/* no listed slice of a split shares half its rows with another */
	size_t n = json_array_size(listed);
	ck_assert(n <= 2 * SLICES_LISTED);
	ck_assert(strstr(csv.data, "split,rank,method,slice,rows,") == csv.data);
	sb_free(&csv);
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

START_TEST(time_windows_find_the_fall)
{
	struct audit_config *cfg = model_config();
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = planted("train", 4000, 21);
	fr[1] = planted("test", 4000, 22);
	fr[2] = planted("current", 4000, 23);
	/* current: time after test's; from its middle on the model errs on 40% of rows */
	struct frame *cur = fr[2];
	int t = frame_find(cur, "t"), pr = frame_find(cur, "pred"), y = frame_find(cur, "y");
	struct rng r;
	rng_seed(&r, 5);
	for (size_t i = 0; i < cur->nrows; i++) {
		cur->cols[t].num[i] = 4000.0 + (double)i;
		if (i >= 2000 && rng_uniform(&r) < 0.35)
			cur->cols[pr].code[i] = !cur->cols[y].code[i];
	}
	static const char *const cls[] = {"no", "yes"};
	struct rc_data *d = rcdata_from_frames(cfg, fr, 3, cls, 2, 1);
	json_t *findings = json_array(), *analysis = json_object();
	struct strbuf csv;
	sb_init(&csv);
	ck_assert_int_eq(timewin_run(d, NULL, findings, &csv, analysis), 1);
	json_t *f = find_kind(findings, "time_degradation", NULL, 0);
	ck_assert_ptr_nonnull(f);
	/* 8000 rows in 10 windows of 800: the fall starts at t = 6000, in window 8 (rows 5600..6399) */
	json_t *ev = json_object_get(f, "evidence");
	long long w = json_integer_value(json_object_get(ev, "start_window"));
	ck_assert_msg(w == 8 || w == 9, "start window %lld", w);
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	ck_assert(strstr(csv.data, "window,from,to,") == csv.data);
	sb_free(&csv);
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

START_TEST(quality_drift_leakage_on_planted_defects)
{
	struct audit_config *cfg = model_config();
	struct frame **fr = xmalloc(3 * sizeof *fr);
	fr[0] = planted("train", 6000, 31);
	fr[1] = planted("test", 3000, 32);
	fr[2] = planted("current", 3000, 33);
	/* train: a leak (the label plus a little noise); current: z shifted by 1 sd,
	 * x missing in 30% of rows, seg holding a new level "e" in 20% */
	struct frame_column *leak = tu_addcol(fr[0], "leak", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
	struct rng r;
	rng_seed(&r, 9);
	for (size_t i = 0; i < fr[0]->nrows; i++)
		leak->num[i] = fr[0]->cols[frame_find(fr[0], "y")].code[i] + 0.1 * rng_normal(&r);
	for (int s = 1; s < 3; s++) {
		struct frame_column *l2 = tu_addcol(fr[s], "leak", COL_NUMERIC, ROLE_FEATURE, NULL, 0);
		for (size_t i = 0; i < fr[s]->nrows; i++)
			l2->num[i] = fr[s]->cols[frame_find(fr[s], "y")].code[i] + 0.1 * rng_normal(&r);
	}
	struct frame *cur = fr[2];
	struct frame_column *seg = &cur->cols[frame_find(cur, "seg")];
	seg->levels = xrealloc(seg->levels, 5 * sizeof *seg->levels);
	seg->levels[4] = xstrdup("e");
	seg->nlevels = 5;
	for (size_t i = 0; i < cur->nrows; i++) {
		cur->cols[frame_find(cur, "z")].num[i] += 1.0;
		if (i % 10 < 3)
			cur->cols[frame_find(cur, "x")].num[i] = NAN;
		if (i % 5 == 0)
			seg->code[i] = 4;
	}
	static const char *const cls[] = {"no", "yes"};
	struct rc_data *d = rcdata_from_frames(cfg, fr, 3, cls, 2, 1);
	json_t *findings = json_array(), *analysis = json_object();
	size_t cells_n = d->nsplits * d->ncols;
	uint8_t *unit = xcalloc(cells_n, 1);
	struct drift_cell *cells = xcalloc(cells_n, sizeof *cells);
	struct strbuf csv;
	sb_init(&csv);
	ck_assert_int_eq(quality_checks_run(d, findings, analysis, unit), 0);
	ck_assert_int_eq(drift_run(d, unit, cells, findings, &csv, analysis), 0);
	ck_assert_int_eq(leakage_run(d, findings, analysis), 0);
	/* x: a missing spike; seg: new categories; both data_quality on current */
	int saw_x = 0, saw_seg = 0, saw_z = 0, saw_leak = 0, false_drift = 0;
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));
		const char *feat = json_string_value(json_object_get(json_object_get(f, "subject"), "feature"));
		const char *split = json_string_value(json_object_get(json_object_get(f, "subject"), "split"));
		const char *title = json_string_value(json_object_get(f, "title"));
		if (!strcmp(kind, "data_quality") && feat && !strcmp(feat, "x"))
			saw_x = strstr(title, "missing values rose") != NULL;
		if (!strcmp(kind, "data_quality") && feat && !strcmp(feat, "seg"))
			saw_seg = strstr(title, "categories train never had") != NULL;
		if (!strcmp(kind, "data_drift") && feat && !strcmp(feat, "z") && !strcmp(split, "current"))
			saw_z = !strcmp(json_string_value(json_object_get(f, "severity")), "high");
		else if (!strcmp(kind, "data_drift") && (!strcmp(split, "test") || strcmp(feat, "seg")))
			false_drift++;
		if (!strcmp(kind, "leakage") && feat && !strcmp(feat, "leak"))
			saw_leak = !strcmp(json_string_value(json_object_get(f, "severity")), "high");
	}
	ck_assert_msg(saw_x, "no missing spike on x");
	ck_assert_msg(saw_seg, "no new-category finding on seg");
	ck_assert_msg(saw_z, "no high drift on z");
	ck_assert_msg(saw_leak, "no high leakage on leak");
	ck_assert_int_eq(false_drift, 0);
	ck_assert(strstr(csv.data, "split,feature,type,test,statistic,p,q,wasserstein_sd,psi,js,flagged\n") == csv.data);
	/* the drift of z: a 1 sd shift gives D about 0.38 and PSI about 1 */
	size_t jz = 0;
	for (size_t j = 0; j < d->ncols; j++)
		if (!strcmp(d->cols[j].name, "z"))
			jz = j;
	const struct drift_cell *cz = &cells[2 * d->ncols + jz];
	ck_assert(cz->flagged && cz->stat > 0.3 && cz->stat < 0.45 && cz->psi > 0.6);
	near(cz->wasserstein_sd, 1.0, 0.1, "wasserstein of a 1 sd shift");
	sb_free(&csv);
	free(unit);
	free(cells);
	json_decref(findings);
	json_decref(analysis);
	rcdata_free(d);
	free_config(cfg);
}
END_TEST

/* ---- the binary end to end ---- */

static const char *bin(void)
{
	const char *b = getenv("MLAUDIT_BIN");
	ck_assert_msg(b && *b, "MLAUDIT_BIN is not set (run the tests with make test)");
	return b;
}

static int run(const char *first, ...)
{
	const char *argv[32];
	int argc = 0;
	argv[argc++] = bin();
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", 1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run a scenario; returns rootcause's findings (caller frees). */
static json_t *scenario(const char *name, const char *seed, char **dir_out)
{
	char tmpl[] = "/tmp/mla-rc-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(dir);
	char *data = path_join(dir, "data"), *out = path_join(dir, "out"), *ini = path_join(data, "audit.ini");
	ck_assert_int_eq(run("synth", name, "--out", data, "--rows", "4000", "--seed", seed, NULL), 0);
	int st = run("run", ini, "--out", out, "--quiet", NULL);
	ck_assert_msg(st == 0 || st == 1, "%s seed %s: exit %d", name, seed, st);
	char *fp = path_join(out, "latest/rootcause/findings.json");
	json_error_t e;
	json_t *j = json_load_file(fp, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", fp, e.text);
	json_t *findings = json_incref(json_object_get(j, "findings"));
	json_decref(j);
	free(fp);
	free(data);
	free(ini);
	free(out);
	*dir_out = xstrdup(dir);
	return findings;
}

static int has(json_t *findings, const char *kind, const char *key, const char *value, int min_sev, int substring)
{
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		if (strcmp(json_string_value(json_object_get(f, "kind")), kind))
			continue;
		if (severity_parse(json_string_value(json_object_get(f, "severity"))) < min_sev)
			continue;
		const char *v = json_string_value(json_object_get(json_object_get(f, "subject"), key));
		if (v && (substring ? strstr(v, value) != NULL : !strcmp(v, value)))
			return 1;
	}
	return 0;
}

static const char *const seeds[] = {"1", "2", "3"};

START_TEST(e2e_scenarios_give_their_root_causes)
{
	const char *seed = seeds[_i];
	char *dir;
	json_t *f = scenario("drift", seed, &dir);
	ck_assert_msg(has(f, "data_drift", "feature", "x1", SEV_MEDIUM, 0), "drift seed %s: no data_drift on x1", seed);
	/* the fall starts where current begins: it restates performance_drop, so low */
	ck_assert_msg(has(f, "time_degradation", "feature", "day", SEV_LOW, 0), "drift seed %s: no time_degradation", seed);
	json_decref(f);
	remove_tree(dir);
	free(dir);

	f = scenario("pipeline-bug", seed, &dir);
	ck_assert_msg(has(f, "pipeline_change", "feature", "income", SEV_HIGH, 0), "pipeline-bug seed %s: income", seed);
	/* and the plan puts that fix first */
	char *mp = path_join(dir, "out/latest/mitigate/mitigations.json");
	json_error_t e;
	json_t *m = json_load_file(mp, 0, &e);
	ck_assert_msg(m != NULL, "%s: %s", mp, e.text);
	json_t *first = json_array_get(json_object_get(m, "mitigations"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "action")), "fix_pipeline");
	json_decref(m);
	free(mp);
	json_decref(f);
	remove_tree(dir);
	free(dir);

	f = scenario("weak-segment", seed, &dir);
	ck_assert_msg(has(f, "error_slice", "slice", "region=west", SEV_LOW, 1), "weak-segment seed %s: no slice with region=west",
		      seed);
	json_decref(f);
	remove_tree(dir);
	free(dir);

	f = scenario("clean", seed, &dir);
	ck_assert_msg(!has(f, "error_slice", "split", "", SEV_HIGH, 1), "clean seed %s: a high error slice", seed);
	size_t i;
	json_t *x;
	json_array_foreach(f, i, x)
		ck_assert_msg(severity_parse(json_string_value(json_object_get(x, "severity"))) < SEV_HIGH,
			      "clean seed %s: high finding: %s", seed, json_string_value(json_object_get(x, "title")));
	json_decref(f);
	remove_tree(dir);
	free(dir);
}
END_TEST

Suite *rootcause_suite(void)
{
	Suite *s = suite_create("rootcause");
	TCase *tc = tcase_create("rootcause");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, ks_and_wasserstein_match_scipy);
	tcase_add_test(tc, kolmogorov_chi2_gamma_match_scipy);
	tcase_add_test(tc, js_psi_auc_match_scipy);
	tcase_add_test(tc, radix_sort_matches_qsort);
	tcase_add_test(tc, unit_change_flags_powers_of_ten_only);
	tcase_add_test(tc, error_tree_finds_planted_slice);
	tcase_add_test(tc, slice_search_lists_planted_slice_first);
	tcase_add_test(tc, time_windows_find_the_fall);
	tcase_add_test(tc, quality_drift_leakage_on_planted_defects);
	tcase_add_loop_test(tc, e2e_scenarios_give_their_root_causes, 0, (int)(sizeof seeds / sizeof seeds[0]));
	suite_add_tcase(s, tc);
	return s;
}
