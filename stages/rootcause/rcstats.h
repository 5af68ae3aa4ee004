/* rcstats.h - the statistics of the rootcause stage: two-sample tests and
 * distances between distributions, the chi-square and Kolmogorov
 * distributions, a rank AUC, and radix sorts that keep the stage linear-ish in
 * rows.
 *
 * Pure computation over arrays the caller owns: no I/O, no JSON, no global
 * state. The formulas are stated here; reference values from scipy 1.10 on
 * fixed inputs are in tests/unit/test_rootcause.c. The normal distribution,
 * Wilson intervals, z tests and Benjamini-Hochberg come from
 * stages/evaluate/stats.h. */
#ifndef MLA_RCSTATS_H
#define MLA_RCSTATS_H

#include <stddef.h>
#include <stdint.h>

/* ---- sorting ---- */

/** Sort n doubles ascending in place (LSD radix on the IEEE bits, 11-bit
 * digits, passes where every key shares the digit skipped). The input must
 * hold no NaN; -0.0 is written back as 0.0. */
void rcstats_sort_doubles(double *v, size_t n);

/** Sort n 64-bit keys ascending, carrying idx (may be NULL) along. Stable. */
void rcstats_sort_u64(uint64_t *key, uint32_t *idx, size_t n);

/** The order-preserving unsigned key of a double (no NaN): a < b iff key(a) < key(b). */
uint64_t rcstats_double_key(double x);

/** Sample standard deviation (divisor n - 1) by two passes, mean first: as
 * stable as Welford's update without its division per value. NAN for n < 2. */
double rcstats_sd(const double *x, size_t n);

/* ---- distributions ---- */

/** Survival function of the Kolmogorov distribution, P(K > x), the limit of
 * sqrt(n) D_n (scipy.stats.kstwobign.sf):
 *   x < 1:  1 - sqrt(2 pi)/x * sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 x^2))
 *   x >= 1: 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2). */
double rcstats_kolmogorov_sf(double x);

/** Regularised upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a): series
 * for x < a + 1, Lentz's continued fraction otherwise (Numerical Recipes 6.2).
 * 1 for x <= 0; NAN for a <= 0. */
double rcstats_gamma_q(double a, double x);

/** Chi-square survival function with dof degrees of freedom, Q(dof/2, x/2). */
double rcstats_chi2_sf(double x, double dof);

/* ---- two samples (a: reference, e.g. train; b: the other split) ---- */

/** Two-sample Kolmogorov-Smirnov on ascending-sorted samples: the exact
 * statistic D = sup |F_a - F_b| (ties handled: both samples step past a value
 * before the distance is read), and its two-sided p-value from the asymptotic
 * Kolmogorov distribution, p = kolmogorov_sf(sqrt(n_a n_b / (n_a + n_b)) D).
 * The asymptotic p differs from scipy's ks_2samp default (exact for n <= 10000,
 * else kstwo.sf(D, round(en))) by well under 1e-2 at the sample sizes the
 * stage tests (it refuses fewer than 20 rows). `scale_b` multiplies every
 * value of b (1 for none; > 0 keeps b sorted): the unit-change check compares
 * train with b / 10^k without a copy. NAN when a sample is empty. */
void rcstats_ks2(const double *a, size_t na, const double *b, size_t nb, double scale_b,
		 double *d, double *p);

/** Wasserstein-1 distance between the empirical distributions of two sorted
 * samples, the integral of |F_a - F_b| (scipy.stats.wasserstein_distance).
 * NAN when a sample is empty. */
double rcstats_wasserstein(const double *a, size_t na, const double *b, size_t nb);

/** Interior cut points of `bins` equal-frequency bins of a sorted sample:
 * the quantiles j/bins (j = 1..bins-1, numpy's linear interpolation), with
 * duplicates removed (a discrete sample gets fewer bins). Writes at most
 * bins - 1 edges; returns how many. */
size_t rcstats_quantile_edges(const double *sorted, size_t n, size_t bins, double *edges);

/** Bin of x given ascending edges: the number of edges <= x
 * (numpy.searchsorted(edges, x, side='right')), so bin b is [e_{b-1}, e_b). */
size_t rcstats_bin(const double *edges, size_t nedges, double x);

/** Counts of a sorted sample in the bins of rcstats_bin (counts has nedges + 1
 * entries, overwritten). Linear: one merge of the sample with the edges. */
void rcstats_bin_counts_sorted(const double *sorted, size_t n, const double *edges, size_t nedges,
			       double *counts);

/* PSI's floor for an empty bin's proportion (see rcstats_psi). */
#define RCSTATS_PSI_EPS 1e-4

/** Population stability index of `actual` against `expected` counts over k
 * bins: sum_i (a_i - e_i) ln(a_i / e_i) with a_i, e_i the proportions, each
 * floored at RCSTATS_PSI_EPS so an empty bin counts instead of dividing by 0
 * (no renormalisation after the floor). NAN when either total is 0. */
double rcstats_psi(const double *expected, const double *actual, size_t k);

/** Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors, each
 * normalised to sum 1: sqrt((KL(p||m) + KL(q||m)) / 2), m = (p + q) / 2
 * (scipy.spatial.distance.jensenshannon(p, q, base=2)). NAN when a total is 0. */
double rcstats_js_distance(const double *p, const double *q, size_t k);

/** Chi-square test of homogeneity of an r x c table of counts (row-major),
 * without continuity correction (scipy.stats.chi2_contingency(t,
 * correction=False)). Rows and columns whose total is 0 are left out of the
 * statistic and of the degrees of freedom (r' - 1)(c' - 1). Returns the
 * statistic; *dof and *p receive the rest (p = 1 and dof = 0 when fewer than
 * two rows or columns remain). */
double rcstats_chi2_table(const double *table, size_t r, size_t c, double *dof, double *p);

/** Area under the ROC curve of scores that rank positives above negatives,
 * from the two ascending-sorted samples: the Mann-Whitney U / (n_pos n_neg),
 * ties counting 1/2 (sklearn's roc_auc_score). NAN when a sample is empty. */
double rcstats_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg);

/** AUC from per-group counts: group g has pos[g] positives and neg[g]
 * negatives sharing the score score[g] (ties within a group count 1/2).
 * Sorts a copy of the groups by score. NAN when a class is absent. */
double rcstats_auc_groups(const double *score, const double *pos, const double *neg, size_t k);

/** Hanley & McNeil (1982) standard error of an AUC. */
double rcstats_auc_se(double auc, size_t npos, size_t nneg);

/** Newcombe's hybrid score interval (his method 10) for p1 - p2 from
 * k1/n1 and k2/n2, built from the two 95% Wilson intervals. */
void rcstats_diff_ci(size_t k1, size_t n1, size_t k2, size_t n2, double *lo, double *hi);

#endif
