/* test_stats.c - stats.h against values from scipy (norm.cdf / norm.ppf),
 * hand computations (Wilson, z tests, Benjamini-Hochberg) and the moments of
 * the samplers. Reference numbers were computed once with scipy 1.10 and are
 * written here as literals; the test needs no Python. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "../../stages/evaluate/stats.h"

#define TOL 1e-12

START_TEST(test_norm_cdf)
{
	/* scipy.stats.norm.cdf */
	ck_assert_double_eq_tol(stats_norm_cdf(0.0), 0.5, TOL);
	ck_assert_double_eq_tol(stats_norm_cdf(1.96), 0.97500210485177952, TOL);
	ck_assert_double_eq_tol(stats_norm_cdf(-3.0), 0.0013498980316300933, 1e-15);
	/* far tail keeps relative accuracy (erfc, not 1 - erf) */
	ck_assert_double_eq_tol(stats_norm_cdf(-10.0) / 7.6198530241604696e-24, 1.0, 1e-12);
	ck_assert(isnan(stats_norm_cdf(NAN)));
}
END_TEST

START_TEST(test_norm_quantile)
{
	/* scipy.stats.norm.ppf, over the centre and both tail regions */
	static const struct { double p, x; } ref[] = {
		{1e-10, -6.3613409024040557}, {0.001, -3.0902323061678132},
		{0.02, -2.053748910631823},   {0.3, -0.52440051270804089},
		{0.5, 0.0},                   {0.9, 1.2815515655446004},
		{0.975, 1.959963984540054},   {0.99, 2.3263478740408408},
		{0.999999, 4.7534243088170873},
	};
	for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
		ck_assert_double_eq_tol(stats_norm_quantile(ref[i].p), ref[i].x, 1e-9);
	ck_assert_double_eq_tol(stats_norm_quantile(0.975), STATS_Z95, 1e-14);
	ck_assert(isinf(stats_norm_quantile(0.0)) && stats_norm_quantile(0.0) < 0);
	ck_assert(isinf(stats_norm_quantile(1.0)) && stats_norm_quantile(1.0) > 0);
	ck_assert(isnan(stats_norm_quantile(1.5)));
	ck_assert(isnan(stats_norm_quantile(-0.1)));
	/* round trip */
	for (double p = 0.001; p < 1.0; p += 0.0137)
		ck_assert_double_eq_tol(stats_norm_cdf(stats_norm_quantile(p)), p, 1e-14);
}
END_TEST

START_TEST(test_wilson)
{
	double lo, hi;
	/* 8/10: the textbook example, [0.490, 0.943] */
	stats_wilson(8, 10, STATS_Z95, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.49016247153664178, TOL);
	ck_assert_double_eq_tol(hi, 0.94331784854562484, TOL);
	/* 0/5: not empty like Wald's [0, 0] */
	stats_wilson(0, 5, STATS_Z95, &lo, &hi);
	ck_assert_double_eq(lo, 0.0);
	ck_assert_double_eq_tol(hi, 0.43448246478317476, TOL);
	stats_wilson(5, 5, STATS_Z95, &lo, &hi);
	ck_assert_double_eq_tol(lo, 1.0 - 0.43448246478317476, TOL);
	ck_assert_double_eq(hi, 1.0);
	stats_wilson(0, 0, STATS_Z95, &lo, &hi);
	ck_assert(isnan(lo) && isnan(hi));
}
END_TEST

START_TEST(test_z_tests)
{
	/* 30/100 vs 45/100: pooled p = 0.375, z = -2.1909 */
	ck_assert_double_eq_tol(stats_two_prop_pvalue(30, 100, 45, 100), 0.028459736916310551, TOL);
	ck_assert_double_eq_tol(stats_two_prop_pvalue(45, 100, 30, 100), 0.028459736916310551, TOL);
	ck_assert_double_eq(stats_two_prop_pvalue(0, 10, 0, 20), 1.0);
	ck_assert_double_eq_tol(stats_two_prop_pvalue(7, 10, 7, 10), 1.0, TOL);
	ck_assert(isnan(stats_two_prop_pvalue(1, 0, 3, 10)));
	/* 0.80 (se 0.02) vs 0.75 (se 0.03): z = 0.05 / sqrt(0.0013) = 1.3868 */
	ck_assert_double_eq_tol(stats_diff_pvalue(0.80, 0.02, 0.75, 0.03), 0.16551785869746993, TOL);
	ck_assert_double_eq(stats_diff_pvalue(0.5, 0, 0.5, 0), 1.0);
	ck_assert_double_eq(stats_diff_pvalue(0.5, 0, 0.4, 0), 0.0);
	ck_assert(isnan(stats_diff_pvalue(NAN, 0.1, 0.4, 0.1)));
	/* a huge z gives a tiny positive p, not 0 */
	double p = stats_diff_pvalue(0.2, 0.01, 0.0, 0.01); /* z = 14.1, p = erfc(10) = 2.1e-45 */
	ck_assert(p > 0.0 && p < 1e-40);
}
END_TEST

START_TEST(test_bh)
{
	/* m = 5. Sorted: 0.005, 0.01, 0.03, 0.04, 0.2; m p / rank = 0.025, 0.025,
	 * 0.05, 0.05, 0.2; running minimum from the top changes nothing. */
	double p[] = {0.01, 0.04, 0.03, 0.005, 0.2};
	double want[] = {0.025, 0.05, 0.05, 0.025, 0.2};
	double q[5];
	int rej[5];
	stats_bh(p, 5, q);
	for (int i = 0; i < 5; i++)
		ck_assert_double_eq_tol(q[i], want[i], TOL);
	ck_assert_uint_eq(stats_bh_reject(p, 5, 0.05, NULL, rej), 4);
	ck_assert_int_eq(rej[4], 0);
	ck_assert_int_eq(rej[0] + rej[1] + rej[2] + rej[3], 4);
	ck_assert_uint_eq(stats_bh_reject(p, 5, 0.03, q, rej), 2);
	ck_assert(rej[0] && rej[3] && !rej[1] && !rej[2]);

	/* The running minimum matters: sorted 0.01 0.011 0.012 0.9 0.95 give
	 * m p / rank = 0.05, 0.0275, 0.02, 1.125, 0.95, which becomes
	 * 0.02, 0.02, 0.02, 0.95, 0.95 (monotone in p, and 1.125 never shows).
	 * A NAN is skipped and not counted in m. In place (p == q). */
	double p2[] = {0.95, 0.011, NAN, 0.01, 0.9, 0.012};
	stats_bh(p2, 6, p2);
	ck_assert_double_eq_tol(p2[0], 0.95, TOL);
	ck_assert_double_eq_tol(p2[1], 0.02, TOL);
	ck_assert(isnan(p2[2]));
	ck_assert_double_eq_tol(p2[3], 0.02, TOL);
	ck_assert_double_eq_tol(p2[4], 0.95, TOL);
	ck_assert_double_eq_tol(p2[5], 0.02, TOL);

	/* capped at 1 even for p-values above 1 from a sloppy caller */
	double p3[] = {1.5, 0.3};
	stats_bh(p3, 2, q);
	ck_assert_double_eq(q[0], 1.0);
	ck_assert_double_eq_tol(q[1], 0.6, TOL);
	stats_bh(NULL, 0, NULL); /* m = 0 is a no-op */
}
END_TEST

START_TEST(test_mean_se_quantile)
{
	double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
	double mean, se;
	stats_mean_se(x, 8, &mean, &se);
	ck_assert_double_eq_tol(mean, 5.0, TOL);
	/* sample sd = sqrt(32 / 7) */
	ck_assert_double_eq_tol(se, sqrt(32.0 / 7.0) / sqrt(8.0), TOL);
	stats_mean_se(x, 1, &mean, &se);
	ck_assert_double_eq(mean, 2.0);
	ck_assert(isnan(se));
	stats_mean_se(x, 0, &mean, &se);
	ck_assert(isnan(mean) && isnan(se));

	/* numpy.quantile (linear) of 2,4,4,4,5,5,7,9 */
	ck_assert_double_eq_tol(stats_quantile_sorted(x, 8, 0.5), 4.5, TOL);
	ck_assert_double_eq_tol(stats_quantile_sorted(x, 8, 0.025), 2.35, TOL);
	ck_assert_double_eq_tol(stats_quantile_sorted(x, 8, 0.975), 8.65, TOL);
	ck_assert_double_eq(stats_quantile_sorted(x, 8, 1.0), 9.0);
	ck_assert(isnan(stats_quantile_sorted(x, 0, 0.5)));
}
END_TEST

/* Mean and variance of `draws` Binomial(n, p) draws within 5 standard errors
 * of n p and n p (1-p). */
static void check_binomial(uint64_t n, double p, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	const int draws = 20000;
	double s = 0, s2 = 0;
	for (int i = 0; i < draws; i++) {
		uint64_t k = stats_binomial(&r, n, p);
		ck_assert_uint_le(k, n);
		s += (double)k;
		s2 += (double)k * (double)k;
	}
	double mean = s / draws, var = s2 / draws - mean * mean;
	double mu = (double)n * p, v = mu * (1 - p);
	ck_assert_msg(fabs(mean - mu) < 5 * sqrt(v / draws) + 1e-12,
		      "Binomial(%llu, %g): mean %g, expected %g", (unsigned long long)n, p, mean, mu);
	/* var of the sample variance ~ 2 v^2 / draws for near-normal counts */
	ck_assert_msg(fabs(var - v) < 5 * v * sqrt(2.0 / draws) + 0.05 * v + 1e-12,
		      "Binomial(%llu, %g): variance %g, expected %g", (unsigned long long)n, p, var, v);
}

START_TEST(test_binomial)
{
	check_binomial(10, 0.3, 1);           /* inversion */
	check_binomial(1000, 0.001, 2);       /* inversion, tiny p */
	check_binomial(100, 0.97, 3);         /* inversion through symmetry */
	check_binomial(1000, 0.5, 4);         /* one or two splits */
	check_binomial(1000000, 0.3, 5);      /* many splits */
	check_binomial(5000000, 0.999, 6);    /* splits then symmetric inversion */

	struct rng r;
	rng_seed(&r, 9);
	ck_assert_uint_eq(stats_binomial(&r, 0, 0.5), 0);
	ck_assert_uint_eq(stats_binomial(&r, 17, 0.0), 0);
	ck_assert_uint_eq(stats_binomial(&r, 17, 1.0), 17);
	ck_assert_uint_eq(stats_binomial(&r, 17, NAN), 0);

	/* deterministic for a fixed seed */
	struct rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(stats_binomial(&a, 123456, 0.37), stats_binomial(&b, 123456, 0.37));
}
END_TEST

START_TEST(test_multinomial)
{
	struct rng r;
	rng_seed(&r, 7);
	double prob[] = {0.5, 0.0, 0.2, 0.3}; /* unnormalised is fine too */
	double sum[4] = {0};
	uint64_t out[4];
	const int draws = 5000;
	for (int i = 0; i < draws; i++) {
		stats_multinomial(&r, 1000, prob, 4, out);
		ck_assert_uint_eq(out[0] + out[1] + out[2] + out[3], 1000);
		ck_assert_uint_eq(out[1], 0);
		for (int k = 0; k < 4; k++)
			sum[k] += (double)out[k];
	}
	for (int k = 0; k < 4; k++) {
		double mu = 1000 * prob[k], se = sqrt(1000 * prob[k] * (1 - prob[k]) / draws);
		ck_assert_msg(fabs(sum[k] / draws - mu) < 5 * se + 1e-9, "cell %d: %g vs %g", k,
			      sum[k] / draws, mu);
	}
	double w[] = {3, 1};
	stats_multinomial(&r, 40, w, 2, out);
	ck_assert_uint_eq(out[0] + out[1], 40);
	double zero[] = {0, 0};
	stats_multinomial(&r, 40, zero, 2, out);
	ck_assert_uint_eq(out[0] + out[1], 0);
}
END_TEST

START_TEST(test_acc)
{
	struct stats_acc a = {0, 0, 0};
	double mean, se;
	/* large offset: Welford keeps the variance where naive sums would not */
	for (int i = 0; i < 1000; i++)
		stats_acc_add(&a, 1e9 + (i % 2));
	stats_acc_result(&a, &mean, &se);
	ck_assert_double_eq_tol(mean, 1e9 + 0.5, 1e-6);
	/* sd = sqrt(0.25 * 1000 / 999) */
	ck_assert_double_eq_tol(se, sqrt(0.25 * 1000.0 / 999.0) / sqrt(1000.0), 1e-9);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_norm_cdf);
	tcase_add_test(tc, test_norm_quantile);
	tcase_add_test(tc, test_wilson);
	tcase_add_test(tc, test_z_tests);
	tcase_add_test(tc, test_bh);
	tcase_add_test(tc, test_mean_se_quantile);
	tcase_add_test(tc, test_binomial);
	tcase_add_test(tc, test_multinomial);
	tcase_add_test(tc, test_acc);
	suite_add_tcase(s, tc);
	return s;
}
