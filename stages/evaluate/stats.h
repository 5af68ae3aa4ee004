/* stats.h - the small statistics the evaluate stage needs: normal distribution,
 * binomial confidence intervals, z tests, false discovery rate control, means
 * with standard errors, quantiles and the seeded samplers behind the bootstraps.
 *
 * Pure computation: no I/O, no global state. The samplers take a struct rng
 * (util.h) so that the same seed gives the same draws on every machine. Each
 * formula is written beside its function in stats.c as well as here. */
#ifndef MLA_STATS_H
#define MLA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "../../pipeline/util.h"  /* struct rng for the samplers */

/* The two-sided 95% normal quantile, Phi^-1(0.975); every interval in the
 * evaluate stage is a 95% interval. */
#define STATS_Z95 1.959963984540054

/* ---- Normal distribution ---- */

/** Standard normal cdf, Phi(z) = erfc(-z / sqrt 2) / 2 (erfc keeps the far
 * tails accurate where 1 - erf would cancel). NAN for NAN. */
double stats_norm_cdf(double z);

/** Standard normal quantile Phi^-1(p): Acklam's rational approximation
 * (relative error 1.15e-9) polished by one Halley step on erfc, which brings it
 * to about machine precision. -INFINITY at 0, INFINITY at 1, NAN outside [0, 1]. */
double stats_norm_quantile(double p);

/* ---- Proportions and z tests ---- */

/** Wilson score interval for k successes in n trials at normal quantile z
 * (STATS_Z95 for 95%):
 *   center = (p + z^2/2n) / (1 + z^2/n),
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2),   p = k/n.
 * Unlike the Wald interval it stays inside [0, 1] and is not empty at k = 0 or
 * k = n. Sets *lo = *hi = NAN when n = 0. */
void stats_wilson(size_t k, size_t n, double z, double *lo, double *hi);

/** Two-sided p-value of the difference of two independent estimates a and b
 * with standard errors se_a, se_b:  z = (a - b) / sqrt(se_a^2 + se_b^2),
 * p = 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2). When both standard errors are 0
 * the difference is exact: 1 if a == b, else 0. NAN if any input is NAN. */
double stats_diff_pvalue(double a, double se_a, double b, double se_b);

/** Two-sided p-value of the pooled two-proportion z test of k1/n1 against
 * k2/n2:  p = (k1 + k2) / (n1 + n2),  se = sqrt(p (1-p) (1/n1 + 1/n2)),
 * z = (k1/n1 - k2/n2) / se. NAN when n1 or n2 is 0; 1 when se is 0 (both
 * samples all successes or all failures, so identical). */
double stats_two_prop_pvalue(size_t k1, size_t n1, size_t k2, size_t n2);

/* ---- Multiple testing ---- */

/** Benjamini-Hochberg adjusted p-values (q-values) of m p-values:
 * with p_(1) <= ... <= p_(m) sorted,  q_(i) = min_{j >= i} min(1, m p_(j) / j),
 * written back in the input order (monotone in p, capped at 1; the same as
 * statsmodels' fdr_bh and scipy's false_discovery_control). NAN p-values get
 * NAN q-values and are not counted in m. p and q may be the same array. */
void stats_bh(const double *p, size_t m, double *q);

/** BH at level alpha: reject[i] = 1 where q_i <= alpha, else 0 (NAN never
 * rejects). Returns the number of rejections. q may be NULL when the caller
 * does not need the q-values. */
size_t stats_bh_reject(const double *p, size_t m, double alpha, double *q, int *reject);

/* ---- Means ---- */

/** Mean of x[0..n) and its standard error sd / sqrt(n), with the sample
 * standard deviation (divisor n - 1). Mean NAN when n = 0; se NAN when n < 2
 * (one observation says nothing about spread). Either output may be NULL. */
void stats_mean_se(const double *x, size_t n, double *mean, double *se);

/* Running mean and variance (Welford), for means over rows that are never
 * stored in an array. Zero-initialise, then add. */
struct stats_acc {
	size_t n;
	double mean;
	double m2;   /* sum of squared deviations from the running mean */
};
void stats_acc_add(struct stats_acc *a, double x);
/** Mean and standard error as stats_mean_se() defines them. */
void stats_acc_result(const struct stats_acc *a, double *mean, double *se);

/** Quantile q in [0, 1] of sorted[0..n), interpolating linearly between order
 * statistics at position q (n - 1) (numpy's default, Hyndman-Fan type 7).
 * NAN when n = 0. */
double stats_quantile_sorted(const double *sorted, size_t n, double q);

/* ---- Seeded samplers ---- */

/** A Binomial(n, p) draw, exact (no normal approximation):
 * - n min(p, 1-p) < 20: inversion, walking the pmf up from 0 (expected O(np)
 *   steps), using p <-> 1-p symmetry so the walk is always over the small tail;
 * - larger: Knuth's order-statistic split (TAOCP 3.4.1): the a-th smallest of n
 *   uniforms, a = 1 + n/2, is X ~ Beta(a, n + 1 - a); the count below p is then
 *   Binomial(a - 1, p/X) if X >= p, else a + Binomial(n - a, (p - X)/(1 - X)).
 *   Each step halves n, so a draw costs O(log n) Beta variates (two
 *   Marsaglia-Tsang gammas each) plus one short inversion. */
uint64_t stats_binomial(struct rng *r, uint64_t n, double p);

/** A Multinomial(n, prob[0..k)) draw into out[0..k), by sequential binomials:
 * out[i] ~ Binomial(n - sum out[<i], prob[i] / sum prob[>=i]). prob need not
 * sum to 1 (it is normalised); zero entries get zero counts. */
void stats_multinomial(struct rng *r, uint64_t n, const double *prob, size_t k, uint64_t *out);

#endif
