/* rcstats.c - two-sample statistics, distributions and radix sorts for the
 * rootcause stage. Formulas are stated in rcstats.h. */
#include "rcstats.h"
#include "../evaluate/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/util.h"

/* ---- sorting ---- */

uint64_t rcstats_double_key(double x)
{
	uint64_t u;
	x += 0.0;   /* -0.0 -> 0.0, so equal values get equal keys */
	memcpy(&u, &x, sizeof u);
	/* negatives: flip all bits (larger magnitude sorts first); positives: set the sign bit */
	return (u >> 63) ? ~u : u | (1ull << 63);
}

static double key_double(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & ~(1ull << 63) : ~k;
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6   /* 6 x 11 >= 64 */

/* LSD radix sort of keys (with an optional payload). One counting pass builds
 * all six histograms; a pass whose digit is the same for every key is skipped,
 * which is most of them for values of one sign and a narrow range. */
void rcstats_sort_u64(uint64_t *key, uint32_t *idx, size_t n)
{
	if (n < 2)
		return;
	if (n < 64) {   /* insertion sort: radix setup costs more than the sort */
		for (size_t i = 1; i < n; i++) {
			uint64_t k = key[i];
			uint32_t x = idx ? idx[i] : 0;
			size_t j = i;
			for (; j > 0 && key[j - 1] > k; j--) {
				key[j] = key[j - 1];
				if (idx)
					idx[j] = idx[j - 1];
			}
			key[j] = k;
			if (idx)
				idx[j] = x;
		}
		return;
	}
	size_t *hist = xcalloc((size_t)RADIX_PASSES * RADIX_SIZE, sizeof *hist);
	for (size_t i = 0; i < n; i++) {
		uint64_t k = key[i];
		for (int p = 0; p < RADIX_PASSES; p++)
			hist[(size_t)p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	}
	uint64_t *kbuf = xmalloc(n * sizeof *kbuf);
	uint32_t *ibuf = idx ? xmalloc(n * sizeof *ibuf) : NULL;
	uint64_t *src = key, *dst = kbuf;
	uint32_t *isrc = idx, *idst = ibuf;
	for (int p = 0; p < RADIX_PASSES; p++) {
		size_t *h = hist + (size_t)p * RADIX_SIZE;
		unsigned shift = (unsigned)(p * RADIX_BITS);
		if (h[(src[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		size_t sum = 0;
		for (size_t b = 0; b < RADIX_SIZE; b++) {
			size_t c = h[b];
			h[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t pos = h[(src[i] >> shift) & (RADIX_SIZE - 1)]++;
			dst[pos] = src[i];
			if (idx)
				idst[pos] = isrc[i];
		}
		uint64_t *t = src;
		src = dst;
		dst = t;
		uint32_t *it = isrc;
		isrc = idst;
		idst = it;
	}
	if (src != key) {
		memcpy(key, src, n * sizeof *key);
		if (idx)
			memcpy(idx, isrc, n * sizeof *idx);
	}
	free(kbuf);
	free(ibuf);
	free(hist);
}

void rcstats_sort_doubles(double *v, size_t n)
{
	uint64_t *k = xmalloc((n ? n : 1) * sizeof *k);
	for (size_t i = 0; i < n; i++)
		k[i] = rcstats_double_key(v[i]);
	rcstats_sort_u64(k, NULL, n);
	for (size_t i = 0; i < n; i++)
		v[i] = key_double(k[i]);
	free(k);
}

double rcstats_sd(const double *x, size_t n)
{
	if (n < 2)
		return NAN;
	double sum = 0, ss = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	double mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	return sqrt(ss / (double)(n - 1));
}

/* ---- distributions ---- */

double rcstats_kolmogorov_sf(double x)
{
	if (isnan(x))
		return NAN;
	if (x <= 0.0)
		return 1.0;
	if (x < 1.0) {
		/* the theta-function form converges fast for small x */
		if (x < 0.04)
			return 1.0;   /* cdf below 1e-300 */
		double s = 0, w = M_PI * M_PI / (8.0 * x * x);
		for (int k = 1; k < 50; k++) {
			double m = 2.0 * k - 1.0;
			double t = exp(-m * m * w);
			s += t;
			if (t < 1e-17 * s)
				break;
		}
		return 1.0 - sqrt(2.0 * M_PI) / x * s;
	}
	double s = 0;
	for (int k = 1; k < 100; k++) {
		double t = exp(-2.0 * k * k * x * x);
		s += (k & 1) ? t : -t;
		if (t < 1e-17)
			break;
	}
	s *= 2.0;
	return s < 0 ? 0 : s > 1 ? 1 : s;
}

double rcstats_gamma_q(double a, double x)
{
	if (isnan(a) || isnan(x) || a <= 0)
		return NAN;
	if (x <= 0)
		return 1.0;
	double lpre = -x + a * log(x) - lgamma(a);
	if (x < a + 1.0) {
		/* P(a, x) by its series, Q = 1 - P */
		double ap = a, sum = 1.0 / a, del = sum;
		for (int n = 0; n < 10000; n++) {
			ap += 1.0;
			del *= x / ap;
			sum += del;
			if (fabs(del) < fabs(sum) * 1e-16)
				break;
		}
		double pv = sum * exp(lpre);
		return pv >= 1 ? 0 : 1.0 - pv;
	}
	/* continued fraction for Q (modified Lentz) */
	const double tiny = 1e-300;
	double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
	for (int i = 1; i < 10000; i++) {
		double an = -i * (i - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-16)
			break;
	}
	return exp(lpre) * h;
}

double rcstats_chi2_sf(double x, double dof)
{
	if (isnan(x) || !(dof > 0))
		return NAN;
	return rcstats_gamma_q(dof / 2.0, x / 2.0);
}

/* ---- two samples ---- */

void rcstats_ks2(const double *a, size_t na, const double *b, size_t nb, double scale_b,
		 double *d, double *p)
{
	if (na == 0 || nb == 0) {
		*d = *p = NAN;
		return;
	}
	size_t i = 0, j = 0;
	double dmax = 0;
	while (i < na && j < nb) {
		double va = a[i], vb = b[j] * scale_b;
		double v = va < vb ? va : vb;
		while (i < na && a[i] == v)
			i++;
		while (j < nb && b[j] * scale_b == v)
			j++;
		double diff = fabs((double)i / (double)na - (double)j / (double)nb);
		if (diff > dmax)
			dmax = diff;
	}
	/* past the end of one sample the distance only shrinks toward 0 */
	double diff = fabs((double)i / (double)na - (double)j / (double)nb);
	if (diff > dmax)
		dmax = diff;
	double en = (double)na * (double)nb / ((double)na + (double)nb);
	*d = dmax;
	*p = rcstats_kolmogorov_sf(sqrt(en) * dmax);
}

double rcstats_wasserstein(const double *a, size_t na, const double *b, size_t nb)
{
	if (na == 0 || nb == 0)
		return NAN;
	/* walk the merged distinct values; between two of them |F_a - F_b| is flat */
	size_t i = 0, j = 0;
	double w = 0, prev = a[0] < b[0] ? a[0] : b[0];
	while (i < na || j < nb) {
		double v;
		if (j >= nb || (i < na && a[i] <= b[j]))
			v = a[i];
		else
			v = b[j];
		w += fabs((double)i / (double)na - (double)j / (double)nb) * (v - prev);
		while (i < na && a[i] == v)
			i++;
		while (j < nb && b[j] == v)
			j++;
		prev = v;
	}
	return w;
}

size_t rcstats_quantile_edges(const double *sorted, size_t n, size_t bins, double *edges)
{
	size_t m = 0;
	if (n == 0 || bins < 2)
		return 0;
	for (size_t j = 1; j < bins; j++) {
		double e = stats_quantile_sorted(sorted, n, (double)j / (double)bins);
		if (m == 0 || e > edges[m - 1])
			edges[m++] = e;
	}
	/* an edge at the minimum makes an empty first bin; drop it */
	if (m && edges[0] <= sorted[0]) {
		memmove(edges, edges + 1, (m - 1) * sizeof *edges);
		m--;
	}
	return m;
}

size_t rcstats_bin(const double *edges, size_t nedges, double x)
{
	/* branchless: the comparisons of a search over a few dozen edges are
	 * unpredictable, and this runs once per row and column */
	if (nedges == 0)
		return 0;
	const double *base = edges;
	size_t n = nedges;
	while (n > 1) {
		size_t half = n / 2;
		base = base[half - 1] <= x ? base + half : base;
		n -= half;
	}
	return (size_t)(base - edges) + (*base <= x);
}

void rcstats_bin_counts_sorted(const double *sorted, size_t n, const double *edges, size_t nedges,
			       double *counts)
{
	memset(counts, 0, (nedges + 1) * sizeof *counts);
	size_t b = 0;
	for (size_t i = 0; i < n; i++) {
		while (b < nedges && edges[b] <= sorted[i])
			b++;
		counts[b] += 1;
	}
}

double rcstats_psi(const double *expected, const double *actual, size_t k)
{
	double te = 0, ta = 0;
	for (size_t i = 0; i < k; i++) {
		te += expected[i];
		ta += actual[i];
	}
	if (te <= 0 || ta <= 0)
		return NAN;
	double psi = 0;
	for (size_t i = 0; i < k; i++) {
		double e = expected[i] / te, a = actual[i] / ta;
		if (e < RCSTATS_PSI_EPS)
			e = RCSTATS_PSI_EPS;
		if (a < RCSTATS_PSI_EPS)
			a = RCSTATS_PSI_EPS;
		psi += (a - e) * log(a / e);
	}
	return psi;
}

double rcstats_js_distance(const double *p, const double *q, size_t k)
{
	double tp = 0, tq = 0;
	for (size_t i = 0; i < k; i++) {
		tp += p[i];
		tq += q[i];
	}
	if (tp <= 0 || tq <= 0)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < k; i++) {
		double a = p[i] / tp, b = q[i] / tq, m = (a + b) / 2;
		if (a > 0)
			s += a * log2(a / m);
		if (b > 0)
			s += b * log2(b / m);
	}
	s /= 2;
	return s > 0 ? sqrt(s) : 0;
}

double rcstats_chi2_table(const double *table, size_t r, size_t c, double *dof, double *p)
{
	double *rs = xcalloc(r ? r : 1, sizeof *rs), *cs = xcalloc(c ? c : 1, sizeof *cs), tot = 0;
	for (size_t i = 0; i < r; i++)
		for (size_t j = 0; j < c; j++) {
			double v = table[i * c + j];
			rs[i] += v;
			cs[j] += v;
			tot += v;
		}
	size_t rr = 0, cc = 0;
	for (size_t i = 0; i < r; i++)
		rr += rs[i] > 0;
	for (size_t j = 0; j < c; j++)
		cc += cs[j] > 0;
	double stat = 0;
	if (rr >= 2 && cc >= 2) {
		for (size_t i = 0; i < r; i++) {
			if (rs[i] <= 0)
				continue;
			for (size_t j = 0; j < c; j++) {
				if (cs[j] <= 0)
					continue;
				double e = rs[i] * cs[j] / tot, dv = table[i * c + j] - e;
				stat += dv * dv / e;
			}
		}
		*dof = (double)((rr - 1) * (cc - 1));
		*p = rcstats_chi2_sf(stat, *dof);
	} else {
		*dof = 0;
		*p = 1;
	}
	free(rs);
	free(cs);
	return stat;
}

double rcstats_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg)
{
	if (npos == 0 || nneg == 0)
		return NAN;
	double u = 0;
	size_t i = 0, j = 0;
	while (i < npos) {
		double v = pos[i];
		while (j < nneg && neg[j] < v)
			j++;
		size_t j0 = j;   /* negatives strictly below v */
		while (j < nneg && neg[j] == v)
			j++;
		size_t cp = 0;
		while (i < npos && pos[i] == v) {
			i++;
			cp++;
		}
		u += (double)cp * ((double)j0 + 0.5 * (double)(j - j0));
	}
	return u / ((double)npos * (double)nneg);
}

struct group { double score, pos, neg; };

static int group_cmp(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	return a->score < b->score ? -1 : a->score > b->score;
}

double rcstats_auc_groups(const double *score, const double *pos, const double *neg, size_t k)
{
	struct group *g = xmalloc((k ? k : 1) * sizeof *g);
	double tp = 0, tn = 0;
	for (size_t i = 0; i < k; i++) {
		g[i] = (struct group){score[i], pos[i], neg[i]};
		tp += pos[i];
		tn += neg[i];
	}
	if (tp <= 0 || tn <= 0) {
		free(g);
		return NAN;
	}
	qsort(g, k, sizeof *g, group_cmp);
	double u = 0, below = 0;
	for (size_t i = 0; i < k;) {
		size_t j = i;
		double cp = 0, cn = 0;
		for (; j < k && g[j].score == g[i].score; j++) {
			cp += g[j].pos;
			cn += g[j].neg;
		}
		u += cp * (below + 0.5 * cn);
		below += cn;
		i = j;
	}
	free(g);
	return u / (tp * tn);
}

double rcstats_auc_se(double auc, size_t npos, size_t nneg)
{
	if (isnan(auc) || npos == 0 || nneg == 0)
		return NAN;
	double q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc);
	double v = (auc * (1 - auc) + ((double)npos - 1) * (q1 - auc * auc) + ((double)nneg - 1) * (q2 - auc * auc)) /
		   ((double)npos * (double)nneg);
	return v > 0 ? sqrt(v) : 0;
}

void rcstats_diff_ci(size_t k1, size_t n1, size_t k2, size_t n2, double *lo, double *hi)
{
	if (n1 == 0 || n2 == 0) {
		*lo = *hi = NAN;
		return;
	}
	double p1 = (double)k1 / (double)n1, p2 = (double)k2 / (double)n2;
	double l1, u1, l2, u2;
	stats_wilson(k1, n1, STATS_Z95, &l1, &u1);
	stats_wilson(k2, n2, STATS_Z95, &l2, &u2);
	double d = p1 - p2;
	*lo = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
	*hi = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
}
