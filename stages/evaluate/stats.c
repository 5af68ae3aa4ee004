/* stats.c - normal distribution, intervals, tests, FDR control and samplers.
 * The formulas are stated again in stats.h; comments here say why. */
#include <math.h>
#include <stdlib.h>

#include "stats.h"

/* ---- Normal distribution ---------------------------------------------- */

double stats_norm_cdf(double z)
{
	/* Phi(z) = erfc(-z / sqrt 2) / 2: erfc is accurate in both tails, where
	 * (1 + erf) / 2 would lose everything to cancellation below z ~ -8. */
	return 0.5 * erfc(-z * M_SQRT1_2);
}

double stats_norm_quantile(double p)
{
	/* Acklam's algorithm: rational approximations in the centre and tails. */
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
				   -2.759285104469687e+02, 1.383577518672690e+02,
				   -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
				   -1.556989798598866e+02, 6.680131188771972e+01,
				   -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
				   -2.400758277161838e+00, -2.549732539343734e+00,
				   4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00, 3.754408661907416e+00};
	const double plow = 0.02425;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;

	double x;
	if (p < plow) {
		double q = sqrt(-2.0 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	} else if (p <= 1.0 - plow) {
		double q = p - 0.5, r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
	} else {
		double q = sqrt(-2.0 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
	}
	/* One Halley step on f(x) = Phi(x) - p takes the 1e-9 approximation to
	 * full double precision (the step is cubically convergent). */
	double e = stats_norm_cdf(x) - p;
	double u = e * sqrt(2.0 * M_PI) * exp(0.5 * x * x);
	return x - u / (1.0 + 0.5 * x * u);
}

/* ---- Proportions and z tests ------------------------------------------ */

void stats_wilson(size_t k, size_t n, double z, double *lo, double *hi)
{
	if (n == 0 || k > n) {
		*lo = *hi = NAN;
		return;
	}
	double nn = (double)n, p = (double)k / nn, z2 = z * z;
	double denom = 1.0 + z2 / nn;
	double center = (p + z2 / (2.0 * nn)) / denom;
	double half = z / denom * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
	*lo = center - half;
	*hi = center + half;
	/* At k = 0 or k = n one bound equals p exactly in theory; rounding must
	 * not push it outside [0, 1] or across p. */
	if (*lo < 0.0 || k == 0)
		*lo = 0.0;
	if (*hi > 1.0 || k == n)
		*hi = 1.0;
}

/* The two-sided normal tail 2 (1 - Phi(|z|)), written with erfc so that a
 * large |z| gives a tiny p rather than 0 from 1 - 0.999... */
static double two_sided(double z)
{
	return erfc(fabs(z) * M_SQRT1_2);
}

double stats_diff_pvalue(double a, double se_a, double b, double se_b)
{
	if (isnan(a) || isnan(b) || isnan(se_a) || isnan(se_b))
		return NAN;
	double se = sqrt(se_a * se_a + se_b * se_b);
	if (se == 0.0)
		return a == b ? 1.0 : 0.0;
	return two_sided((a - b) / se);
}

double stats_two_prop_pvalue(size_t k1, size_t n1, size_t k2, size_t n2)
{
	if (n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2)
		return NAN;
	double p1 = (double)k1 / (double)n1, p2 = (double)k2 / (double)n2;
	/* Pooled: under the null hypothesis both samples share one proportion. */
	double p = (double)(k1 + k2) / (double)(n1 + n2);
	double se = sqrt(p * (1.0 - p) * (1.0 / (double)n1 + 1.0 / (double)n2));
	if (se == 0.0)
		return 1.0;
	return two_sided((p1 - p2) / se);
}

/* ---- Multiple testing ------------------------------------------------- */

struct pidx {
	double p;
	size_t i;
};

static int pidx_cmp(const void *x, const void *y)
{
	const struct pidx *a = x, *b = y;
	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	/* Ties get the same q anyway; ordering by index just keeps qsort's
	 * arbitrary tie order out of the picture. */
	return (a->i > b->i) - (a->i < b->i);
}

void stats_bh(const double *p, size_t m, double *q)
{
	struct pidx *s = xmalloc((m ? m : 1) * sizeof *s);
	size_t k = 0;
	/* Copy first: p and q may be the same array. */
	for (size_t i = 0; i < m; i++)
		if (!isnan(p[i]))
			s[k++] = (struct pidx){p[i], i};
	for (size_t i = 0; i < m; i++)
		if (isnan(p[i]))
			q[i] = NAN;
	qsort(s, k, sizeof *s, pidx_cmp);
	/* Walk down from the largest p keeping the running minimum: that is the
	 * min over j >= i which makes q monotone in p. */
	double run = 1.0;
	for (size_t j = k; j-- > 0;) {
		double v = s[j].p * (double)k / (double)(j + 1);
		if (v < run)
			run = v;
		q[s[j].i] = run;
	}
	free(s);
}

size_t stats_bh_reject(const double *p, size_t m, double alpha, double *q, int *reject)
{
	double *qq = q ? q : xmalloc((m ? m : 1) * sizeof *qq);
	size_t nrej = 0;
	stats_bh(p, m, qq);
	for (size_t i = 0; i < m; i++) {
		reject[i] = qq[i] <= alpha; /* false for NAN */
		nrej += (size_t)reject[i];
	}
	if (!q)
		free(qq);
	return nrej;
}

/* ---- Means and quantiles ---------------------------------------------- */

void stats_acc_add(struct stats_acc *a, double x)
{
	/* Welford: numerically stable where sum x^2 - n mean^2 would cancel. */
	a->n++;
	double d = x - a->mean;
	a->mean += d / (double)a->n;
	a->m2 += d * (x - a->mean);
}

void stats_acc_result(const struct stats_acc *a, double *mean, double *se)
{
	if (mean)
		*mean = a->n ? a->mean : NAN;
	if (se)
		*se = a->n >= 2 ? sqrt(a->m2 / (double)(a->n - 1) / (double)a->n) : NAN;
}

void stats_mean_se(const double *x, size_t n, double *mean, double *se)
{
	struct stats_acc a = {0, 0.0, 0.0};
	for (size_t i = 0; i < n; i++)
		stats_acc_add(&a, x[i]);
	stats_acc_result(&a, mean, se);
}

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	if (n == 0 || isnan(q))
		return NAN;
	if (q <= 0.0)
		return sorted[0];
	if (q >= 1.0)
		return sorted[n - 1];
	double h = q * (double)(n - 1);
	size_t lo = (size_t)h;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* ---- Samplers --------------------------------------------------------- */

/* Gamma(shape, 1) for shape >= 1 by Marsaglia & Tsang (2000): a squeeze
 * rejection from a transformed normal, about 1.03 normals per draw. */
static double gamma_draw(struct rng *r, double shape)
{
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x = rng_normal(r), v = 1.0 + c * x;
		if (v <= 0.0)
			continue;
		v = v * v * v;
		double u = rng_uniform(r);
		if (u < 1.0 - 0.0331 * x * x * x * x)
			return d * v;
		if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

/* Binomial(n, p) by inversion for p <= 0.5 and n p small (< ~20): walk the
 * pmf from 0, f(k) = f(k-1) (n-k+1)/k p/q. Expected steps n p + 1. */
static uint64_t binomial_inversion(struct rng *r, uint64_t n, double p)
{
	double q = 1.0 - p, s = p / q, mean = (double)n * p;
	/* f(0) = q^n >= e^-28 for n p < 20, p <= 0.5: no underflow. */
	double f0 = exp((double)n * log1p(-p));
	for (;;) {
		double u = rng_uniform(r), f = f0;
		uint64_t k = 0;
		int ok = 1;
		while (u > f) {
			u -= f;
			if (k == n) {
				ok = 0;
				break;
			}
			k++;
			f *= s * (double)(n - k + 1) / (double)k;
			/* Past the mode the pmf has vanished and u is left over from
			 * rounding in the subtractions: draw again rather than walk on. */
			if (f < 1e-300 && (double)k > mean) {
				ok = 0;
				break;
			}
		}
		if (ok)
			return k;
	}
}

uint64_t stats_binomial(struct rng *r, uint64_t n, double p)
{
	if (n == 0 || !(p > 0.0))
		return 0;
	if (p >= 1.0)
		return n;
	uint64_t base = 0;
	/* Knuth's split: each round replaces n by about n/2 until the tail
	 * expected count is small enough for inversion. */
	while ((double)n * (p < 0.5 ? p : 1.0 - p) >= 20.0) {
		uint64_t a = 1 + n / 2, b = n + 1 - a;
		double ga = gamma_draw(r, (double)a), gb = gamma_draw(r, (double)b);
		double x = ga / (ga + gb); /* Beta(a, b): the a-th of n sorted uniforms */
		if (x >= p) {
			n = a - 1;
			p = p / x;
		} else {
			base += a;
			n = b - 1;
			p = (p - x) / (1.0 - x);
		}
		if (n == 0 || !(p > 0.0))
			return base;
		if (p >= 1.0)
			return base + n;
	}
	if (p > 0.5)
		return base + n - binomial_inversion(r, n, 1.0 - p);
	return base + binomial_inversion(r, n, p);
}

void stats_multinomial(struct rng *r, uint64_t n, const double *prob, size_t k, uint64_t *out)
{
	double mass = 0.0;
	size_t last = k;
	for (size_t i = 0; i < k; i++) {
		out[i] = 0;
		if (prob[i] > 0.0) {
			mass += prob[i];
			last = i;
		}
	}
	if (last == k)
		return;
	uint64_t left = n;
	for (size_t i = 0; i < last && left > 0; i++) {
		if (!(prob[i] > 0.0))
			continue;
		double pi = prob[i] / mass;
		out[i] = stats_binomial(r, left, pi > 1.0 ? 1.0 : pi);
		left -= out[i];
		mass -= prob[i];
		if (mass <= 0.0)
			break; /* rounding ate the rest; the last cell takes what is left */
	}
	/* The last positive cell takes the remainder exactly, so counts always
	 * sum to n whatever rounding did to the running mass. */
	out[last] += left;
}
