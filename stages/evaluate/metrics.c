/* metrics.c - classification metrics with 95% intervals (definitions in metrics.h).
 *
 * Cost: O(n) to count the confusion matrix and the probability means, one
 * sort per scored class for roc_auc and pr_auc (radix, O(n); qsort under 512
 * rows), and bootstraps that never touch the rows again: O(B K^2) over the
 * confusion matrix and O(B * bins) for ece. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "stats.h"

/* Reasons a metric is undefined (static strings, shown in the report). */
static const char R_NOROWS[] = "no rows";
static const char R_NOPREDPOS[] = "no predicted positives";
static const char R_NOCLASSROWS[] = "no rows of this class";
static const char R_NOPOSROWS[] = "no rows of the positive class";
static const char R_ABSENT[] = "class absent from labels and predictions";
static const char R_ONECLASS[] = "only one class present";
static const char R_NOPROBA[] = "no probability column";
static const char R_NANPROBA[] = "missing probabilities";

static const double LOGLOSS_EPS = 1e-15; /* as sklearn clips, so one p = 0 is not an infinite loss */

static struct estimate undefined(size_t n, const char *why)
{
	return (struct estimate){NAN, NAN, NAN, NAN, n, why};
}

/* k out of n with its Wilson interval; se is the binomial sqrt(p(1-p)/n). */
static struct estimate proportion(size_t k, size_t n, const char *why_empty)
{
	if (n == 0)
		return undefined(0, why_empty);
	struct estimate e = {(double)k / (double)n, 0, 0, 0, n, NULL};
	stats_wilson(k, n, STATS_Z95, &e.lo, &e.hi);
	e.se = sqrt(e.value * (1.0 - e.value) / (double)n);
	return e;
}

/* mean +- 1.96 se, for the per-row means (log_loss, brier). */
static struct estimate mean_estimate(const struct stats_acc *a)
{
	struct estimate e = {0, NAN, NAN, NAN, a->n, NULL};
	stats_acc_result(a, &e.value, &e.se);
	if (!isnan(e.se)) {
		e.lo = e.value - STATS_Z95 * e.se;
		e.hi = e.value + STATS_Z95 * e.se;
		if (e.lo < 0.0)
			e.lo = 0.0; /* both are non-negative by construction */
	}
	return e;
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* Fill lo, hi, se of e from B bootstrap replicates (NANs are replicates where
 * the statistic was undefined, dropped). Percentile interval: the 2.5% and
 * 97.5% quantiles. Statistics like ece and F1 are biased in the bootstrap, so
 * a percentile interval can miss its own point estimate; it is widened to
 * include it, so a report never shows a value outside its interval. */
static void bootstrap_interval(struct estimate *e, double *rep, size_t B)
{
	size_t k = 0;
	for (size_t b = 0; b < B; b++)
		if (!isnan(rep[b]))
			rep[k++] = rep[b];
	if (isnan(e->value) || k == 0) {
		e->lo = e->hi = e->se = NAN;
		return;
	}
	qsort(rep, k, sizeof *rep, dbl_cmp);
	e->lo = stats_quantile_sorted(rep, k, 0.025);
	e->hi = stats_quantile_sorted(rep, k, 0.975);
	stats_mean_se(rep, k, NULL, &e->se);
	/* stats_mean_se gives sd/sqrt(k); the bootstrap se is the sd itself */
	e->se = k >= 2 ? e->se * sqrt((double)k) : NAN;
	if (e->lo > e->value)
		e->lo = e->value;
	if (e->hi < e->value)
		e->hi = e->value;
}

/* ---- Confusion-matrix statistics and their bootstrap ------------------ */

/* Statistics computed from one confusion matrix, in this order, then the F1
 * of each class: S = STAT_CLASS_F1 + K values per matrix. */
enum { STAT_BALACC, STAT_MACRO_P, STAT_MACRO_R, STAT_MACRO_F1, STAT_CLASS_F1 };

/* conf is K x K [true * K + pred]; sup and prd are K-sized scratch. */
static void confusion_stats(const uint64_t *conf, int K, uint64_t *sup, uint64_t *prd, double *out)
{
	for (int k = 0; k < K; k++)
		sup[k] = prd[k] = 0;
	for (int t = 0; t < K; t++)
		for (int p = 0; p < K; p++) {
			sup[t] += conf[t * K + p];
			prd[p] += conf[t * K + p];
		}
	int present = 0;
	double sr = 0, sp = 0, sf = 0;
	for (int k = 0; k < K; k++) {
		double tp = (double)conf[k * K + k];
		double fp = (double)prd[k] - tp, fn = (double)sup[k] - tp;
		double f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : NAN;
		out[STAT_CLASS_F1 + k] = f1;
		if (sup[k] == 0)
			continue; /* macro averages are over the classes present in y */
		present++;
		sr += tp / (double)sup[k];
		sp += prd[k] ? tp / (double)prd[k] : 0.0; /* never predicted: precision 0 */
		sf += f1;
	}
	out[STAT_BALACC] = present ? sr / present : NAN;
	out[STAT_MACRO_R] = out[STAT_BALACC]; /* the same quantity by definition */
	out[STAT_MACRO_P] = present ? sp / present : NAN;
	out[STAT_MACRO_F1] = present ? sf / present : NAN;
}

/* Percentile bootstrap of the confusion statistics. Resampling n rows with
 * replacement only changes how many rows fall in each (true, pred) cell, and
 * those counts are Multinomial(n, cell / n): drawing them directly gives the
 * same distribution as a row bootstrap at O(K^2) per replicate instead of O(n).
 * Each replicate applies the same definitions to its own matrix (macro over
 * the classes present in that replicate). rep[s * B + b] holds statistic s of
 * replicate b. */
static void confusion_bootstrap(const uint64_t *conf, int K, size_t n, uint64_t seed, size_t B,
				double *rep)
{
	size_t KK = (size_t)K * (size_t)K, S = STAT_CLASS_F1 + (size_t)K, nz = 0;
	size_t *cell = xmalloc(KK * sizeof *cell);
	double *prob = xmalloc(KK * sizeof *prob);
	uint64_t *draw = xmalloc(KK * sizeof *draw), *rc = xmalloc(KK * sizeof *rc);
	uint64_t *sup = xmalloc((size_t)K * sizeof *sup), *prd = xmalloc((size_t)K * sizeof *prd);
	double *st = xmalloc(S * sizeof *st);
	for (size_t c = 0; c < KK; c++)
		if (conf[c]) {
			cell[nz] = c;
			prob[nz++] = (double)conf[c] / (double)n;
		}
	struct rng r;
	rng_seed(&r, seed);
	for (size_t b = 0; b < B; b++) {
		stats_multinomial(&r, n, prob, nz, draw);
		memset(rc, 0, KK * sizeof *rc);
		for (size_t i = 0; i < nz; i++)
			rc[cell[i]] = draw[i];
		confusion_stats(rc, K, sup, prd, st);
		for (size_t s = 0; s < S; s++)
			rep[s * B + b] = st[s];
	}
	free(cell);
	free(prob);
	free(draw);
	free(rc);
	free(sup);
	free(prd);
	free(st);
}

/* ---- Ranking metrics: roc_auc and pr_auc ------------------------------ */

struct scored {
	double s;
	int pos; /* 1 when the row belongs to the class being scored */
};

static int scored_cmp(const void *x, const void *y)
{
	const struct scored *a = x, *b = y;
	return (a->s > b->s) - (a->s < b->s);
}

/* An unsigned key that orders like the double (no NANs here): flip all bits
 * of negatives, set the sign bit of the rest. Adding 0.0 turns -0 into +0 so
 * the two zeros share one key. */
static uint64_t score_key(double s)
{
	uint64_t u;
	s += 0.0;
	memcpy(&u, &s, sizeof u);
	return u >> 63 ? ~u : u | (1ULL << 63);
}

/* Sort by ascending score. A multiclass one-vs-rest needs one sort per class
 * of the same n rows, so this is the hot spot: an LSD radix sort on the key
 * in 6 passes of 11 bits, skipping the passes where every row has the same
 * digit (often the top one for probabilities). Several times faster than
 * qsort at 1M rows; small inputs go to qsort. */
enum { RADIX_BITS = 11, RADIX_PASSES = 6, RADIX_SIZE = 1 << RADIX_BITS };

static void scored_sort(struct scored *v, size_t n)
{
	if (n < 512) {
		qsort(v, n, sizeof *v, scored_cmp);
		return;
	}
	const uint64_t mask = RADIX_SIZE - 1;
	size_t (*cnt)[RADIX_SIZE] = xcalloc(RADIX_PASSES, sizeof *cnt);
	for (size_t i = 0; i < n; i++) {
		uint64_t k = score_key(v[i].s);
		for (int b = 0; b < RADIX_PASSES; b++)
			cnt[b][(k >> (RADIX_BITS * b)) & mask]++;
	}
	struct scored *tmp = xmalloc(n * sizeof *tmp), *src = v, *dst = tmp;
	uint64_t k0 = score_key(v[0].s);
	for (int b = 0; b < RADIX_PASSES; b++) {
		int shift = RADIX_BITS * b;
		if (cnt[b][(k0 >> shift) & mask] == n)
			continue;
		size_t pos = 0;
		for (size_t d = 0; d < RADIX_SIZE; d++) {
			size_t c = cnt[b][d];
			cnt[b][d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[b][(score_key(src[i].s) >> shift) & mask]++] = src[i];
		struct scored *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(tmp);
	free(cnt);
}

/* AUC and AP of one class against the rest, from rows sorted by ascending
 * score. Rows of equal score form one group, which is what makes both
 * handle ties: a tie between a positive and a negative counts 1/2 in the AUC,
 * and AP only has thresholds at distinct scores. npos, nneg > 0. */
static void rank_metrics(const struct scored *v, size_t n, size_t npos, size_t nneg,
			 struct estimate *auc, struct estimate *ap)
{
	/* Mann-Whitney U: each positive scores 1 per negative below it and 1/2
	 * per negative tied with it; AUC = U / (npos nneg). */
	double u = 0.0, neg_below = 0.0;
	for (size_t i = 0; i < n;) {
		size_t j = i, gp = 0;
		for (; j < n && v[j].s == v[i].s; j++)
			gp += (size_t)v[j].pos;
		double gn = (double)(j - i - gp);
		u += (double)gp * (neg_below + 0.5 * gn);
		neg_below += gn;
		i = j;
	}
	double P = (double)npos, N = (double)nneg, A = u / (P * N);
	/* Hanley & McNeil (1982): var = (A(1-A) + (P-1)(Q1-A^2) + (N-1)(Q2-A^2)) / (P N)
	 * with Q1 = A/(2-A), Q2 = 2A^2/(1+A). It treats the score distributions as
	 * exponential-like; it is 0 at A = 1, so a perfect ranking gets [1, 1]. */
	double q1 = A / (2.0 - A), q2 = 2.0 * A * A / (1.0 + A);
	double var = (A * (1.0 - A) + (P - 1.0) * (q1 - A * A) + (N - 1.0) * (q2 - A * A)) / (P * N);
	double se = sqrt(var > 0.0 ? var : 0.0);
	*auc = (struct estimate){A, A - STATS_Z95 * se, A + STATS_Z95 * se, se, n, NULL};
	if (auc->lo < 0.0)
		auc->lo = 0.0;
	if (auc->hi > 1.0)
		auc->hi = 1.0;

	/* Average precision, walking thresholds from the top score down:
	 * AP = sum over distinct thresholds of (R_i - R_{i-1}) P_i. */
	double tp = 0.0, fp = 0.0, a = 0.0;
	for (size_t i = n; i > 0;) {
		size_t j = i;
		double gp = 0.0, g = 0.0;
		for (; j > 0 && v[j - 1].s == v[i - 1].s; j--) {
			gp += v[j - 1].pos;
			g += 1.0;
		}
		tp += gp;
		fp += g - gp;
		a += gp / P * (tp / (tp + fp));
		i = j;
	}
	/* Boyd et al. (2013) logit interval: logit(AP) +- 1.96 / sqrt(npos AP (1-AP)).
	 * At AP = 1 the logit is infinite, so the width is computed with AP
	 * pulled to [1/2npos, 1 - 1/2npos] and the interval then made to contain AP. */
	double ac = a, lim = 0.5 / P;
	if (ac < lim)
		ac = lim;
	if (ac > 1.0 - lim)
		ac = 1.0 - lim;
	double eta = log(ac / (1.0 - ac)), tau = 1.0 / sqrt(P * ac * (1.0 - ac));
	*ap = (struct estimate){a, 1.0 / (1.0 + exp(-(eta - STATS_Z95 * tau))),
				1.0 / (1.0 + exp(-(eta + STATS_Z95 * tau))), sqrt(ac * (1.0 - ac) / P), n,
				NULL};
	if (ap->lo > a)
		ap->lo = a;
	if (ap->hi < a)
		ap->hi = a;
}

/* roc_auc and pr_auc: binary on P(positive); multiclass the macro of
 * one-vs-rest over the classes present in y. The macro interval is the mean
 * of the per-class bounds and its se the mean se: exact if the per-class
 * estimates moved together, wider than the truth otherwise (sd of a mean is at
 * most the mean sd), so it errs on the side of caution. */
static void ranking(const struct eval_input *in, const size_t *support, struct eval_metrics *m)
{
	size_t n = in->n;
	int K = in->nclasses, present = 0;
	for (int k = 0; k < K; k++)
		present += support[k] > 0;
	if (present < 2 || (in->positive >= 0 && (support[in->positive] == 0 || support[in->positive] == n))) {
		m->roc_auc = m->pr_auc = undefined(n, R_ONECLASS);
		return;
	}
	struct scored *v = xmalloc(n * sizeof *v);
	struct estimate sum_auc = {0, 0, 0, 0, n, NULL}, sum_ap = {0, 0, 0, 0, n, NULL};
	int nscored = 0;
	for (int k = 0; k < K; k++) {
		if (in->positive >= 0 ? k != in->positive : support[k] == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			v[i] = (struct scored){in->proba[i * (size_t)K + (size_t)k], in->y[i] == k};
		scored_sort(v, n);
		struct estimate auc, ap;
		rank_metrics(v, n, support[k], n - support[k], &auc, &ap);
		sum_auc.value += auc.value, sum_auc.lo += auc.lo, sum_auc.hi += auc.hi, sum_auc.se += auc.se;
		sum_ap.value += ap.value, sum_ap.lo += ap.lo, sum_ap.hi += ap.hi, sum_ap.se += ap.se;
		nscored++;
	}
	free(v);
	sum_auc.value /= nscored, sum_auc.lo /= nscored, sum_auc.hi /= nscored, sum_auc.se /= nscored;
	sum_ap.value /= nscored, sum_ap.lo /= nscored, sum_ap.hi /= nscored, sum_ap.se /= nscored;
	m->roc_auc = sum_auc;
	m->pr_auc = sum_ap;
}

/* ---- Probability metrics: log_loss, brier, ece ------------------------- */

/* Calibration of the stated predictions: the confidence of a row is the
 * probability the model gave to the class it predicted (pred, which need not
 * be the argmax when a threshold was applied), and it is right when pred == y. */
static void calibration(const struct eval_input *in, struct eval_metrics *m)
{
	size_t n = in->n, K = (size_t)in->nclasses;
	size_t correct[METRICS_NBINS] = {0};
	double conf_sum[METRICS_NBINS] = {0};
	for (size_t i = 0; i < n; i++) {
		double c = in->proba[i * K + (size_t)in->pred[i]];
		/* the last bin is closed: c = 1 falls in it */
		int b = c >= 1.0 ? METRICS_NBINS - 1 : c > 0.0 ? (int)(c * METRICS_NBINS) : 0;
		if (b >= METRICS_NBINS)
			b = METRICS_NBINS - 1;
		m->bins[b].n++;
		conf_sum[b] += c;
		correct[b] += in->pred[i] == in->y[i];
	}
	double ece = 0.0, prob[METRICS_NBINS];
	for (int b = 0; b < METRICS_NBINS; b++) {
		struct reliability_bin *rb = &m->bins[b];
		prob[b] = (double)rb->n;
		if (!rb->n)
			continue;
		rb->confidence = conf_sum[b] / (double)rb->n;
		rb->accuracy = (double)correct[b] / (double)rb->n;
		ece += (double)rb->n / (double)n * fabs(rb->accuracy - rb->confidence);
	}
	m->ece = (struct estimate){ece, NAN, NAN, NAN, n, NULL};

	/* Bootstrap over bins: a row bootstrap moves rows between bins in
	 * multinomial proportions and, within a bin, makes the correct count
	 * Binomial(n_b*, acc_b); the bin's mean confidence barely moves and is
	 * held fixed. O(B * bins) whatever n is. A separate stream from the
	 * confusion bootstrap so either can change without moving the other. */
	struct rng r;
	rng_seed(&r, in->seed ^ 0x9e3779b97f4a7c15ULL);
	double *rep = xmalloc(METRICS_BOOTSTRAP * sizeof *rep);
	uint64_t cnt[METRICS_NBINS];
	for (size_t b = 0; b < METRICS_BOOTSTRAP; b++) {
		stats_multinomial(&r, n, prob, METRICS_NBINS, cnt);
		double e = 0.0;
		for (int k = 0; k < METRICS_NBINS; k++) {
			if (!cnt[k])
				continue;
			uint64_t ck = stats_binomial(&r, cnt[k], m->bins[k].accuracy);
			e += (double)cnt[k] / (double)n * fabs((double)ck / (double)cnt[k] - m->bins[k].confidence);
		}
		rep[b] = e;
	}
	bootstrap_interval(&m->ece, rep, METRICS_BOOTSTRAP);
	free(rep);
}

static void probability_metrics(const struct eval_input *in, struct eval_metrics *m)
{
	size_t n = in->n, K = (size_t)in->nclasses;
	for (int b = 0; b < METRICS_NBINS; b++)
		m->bins[b] = (struct reliability_bin){(double)b / METRICS_NBINS,
						     (double)(b + 1) / METRICS_NBINS, NAN, NAN, 0};
	const char *why = n == 0 ? R_NOROWS : !in->proba ? R_NOPROBA : NULL;
	for (size_t i = 0; !why && i < n * K; i++)
		if (isnan(in->proba[i]))
			why = R_NANPROBA;
	if (why) {
		m->roc_auc = m->pr_auc = m->log_loss = m->brier = m->ece = undefined(n, why);
		return;
	}
	struct stats_acc ll = {0, 0, 0}, br = {0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		const double *p = in->proba + i * K;
		double pt = p[in->y[i]];
		stats_acc_add(&ll, -log(pt > LOGLOSS_EPS ? pt : LOGLOSS_EPS));
		double s = 0.0;
		if (in->positive >= 0) {
			double d = p[in->positive] - (in->y[i] == in->positive);
			s = d * d;
		} else {
			for (size_t k = 0; k < K; k++) {
				double d = p[k] - ((size_t)in->y[i] == k);
				s += d * d;
			}
		}
		stats_acc_add(&br, s);
	}
	m->log_loss = mean_estimate(&ll);
	m->brier = mean_estimate(&br);
	ranking(in, m->class_support, m);
	calibration(in, m);
}

/* ---- metrics_compute -------------------------------------------------- */

static int check_input(const struct eval_input *in)
{
	int K = in->nclasses;
	if (K < 1)
		return ERR_INTERNAL("metrics: %d classes", K);
	if (in->positive < -1 || in->positive >= K)
		return ERR_INTERNAL("metrics: positive class %d outside -1..%d", in->positive, K - 1);
	if (in->n && (!in->y || !in->pred))
		return ERR_INTERNAL("metrics: labels or predictions missing");
	for (size_t i = 0; i < in->n; i++) {
		if (in->y[i] < 0 || in->y[i] >= K)
			return ERR_INTERNAL("metrics: y[%zu] = %d outside 0..%d", i, in->y[i], K - 1);
		if (in->pred[i] < 0 || in->pred[i] >= K)
			return ERR_INTERNAL("metrics: pred[%zu] = %d outside 0..%d", i, in->pred[i], K - 1);
	}
	return 0;
}

int metrics_compute(const struct eval_input *in, struct eval_metrics *out)
{
	memset(out, 0, sizeof *out);
	if (check_input(in) < 0)
		return -1;
	int K = in->nclasses;
	size_t n = in->n, KK = (size_t)K * (size_t)K, S = STAT_CLASS_F1 + (size_t)K;
	out->nclasses = K;
	out->n = n;
	out->confusion = xcalloc(KK, sizeof *out->confusion);
	out->class_support = xcalloc((size_t)K, sizeof *out->class_support);
	out->class_precision = xcalloc((size_t)K, sizeof *out->class_precision);
	out->class_recall = xcalloc((size_t)K, sizeof *out->class_recall);
	out->class_f1 = xcalloc((size_t)K, sizeof *out->class_f1);

	size_t correct = 0;
	for (size_t i = 0; i < n; i++) {
		out->confusion[(size_t)in->y[i] * (size_t)K + (size_t)in->pred[i]]++;
		correct += in->y[i] == in->pred[i];
	}
	out->accuracy = proportion(correct, n, R_NOROWS);

	uint64_t *conf = xmalloc(KK * sizeof *conf), *sup = xmalloc((size_t)K * sizeof *sup),
		 *prd = xmalloc((size_t)K * sizeof *prd);
	for (size_t c = 0; c < KK; c++)
		conf[c] = out->confusion[c];
	double *point = xmalloc(S * sizeof *point);
	confusion_stats(conf, K, sup, prd, point);
	for (int k = 0; k < K; k++) {
		size_t tp = out->confusion[k * K + k];
		out->class_support[k] = (size_t)sup[k];
		out->class_precision[k] = proportion(tp, (size_t)prd[k], R_NOPREDPOS);
		out->class_recall[k] = proportion(tp, (size_t)sup[k], R_NOCLASSROWS);
		double f1 = point[STAT_CLASS_F1 + k];
		out->class_f1[k] = isnan(f1) ? undefined(n, R_ABSENT)
					     : (struct estimate){f1, NAN, NAN, NAN, n, NULL};
	}
	const char *why = n ? NULL : R_NOROWS;
	out->balanced_accuracy = why ? undefined(0, why) : (struct estimate){point[STAT_BALACC], NAN, NAN, NAN, n, NULL};
	out->macro_precision = why ? undefined(0, why) : (struct estimate){point[STAT_MACRO_P], NAN, NAN, NAN, n, NULL};
	out->macro_recall = why ? undefined(0, why) : (struct estimate){point[STAT_MACRO_R], NAN, NAN, NAN, n, NULL};
	out->macro_f1 = why ? undefined(0, why) : (struct estimate){point[STAT_MACRO_F1], NAN, NAN, NAN, n, NULL};

	if (n) {
		double *rep = xmalloc(S * METRICS_BOOTSTRAP * sizeof *rep);
		confusion_bootstrap(conf, K, n, in->seed, METRICS_BOOTSTRAP, rep);
		bootstrap_interval(&out->balanced_accuracy, rep + STAT_BALACC * METRICS_BOOTSTRAP, METRICS_BOOTSTRAP);
		bootstrap_interval(&out->macro_precision, rep + STAT_MACRO_P * METRICS_BOOTSTRAP, METRICS_BOOTSTRAP);
		bootstrap_interval(&out->macro_recall, rep + STAT_MACRO_R * METRICS_BOOTSTRAP, METRICS_BOOTSTRAP);
		bootstrap_interval(&out->macro_f1, rep + STAT_MACRO_F1 * METRICS_BOOTSTRAP, METRICS_BOOTSTRAP);
		for (int k = 0; k < K; k++)
			bootstrap_interval(&out->class_f1[k], rep + (STAT_CLASS_F1 + (size_t)k) * METRICS_BOOTSTRAP,
					   METRICS_BOOTSTRAP);
		free(rep);
	}
	free(conf);
	free(sup);
	free(prd);
	free(point);

	if (in->positive >= 0) {
		out->precision = out->class_precision[in->positive];
		out->recall = out->class_recall[in->positive];
		if (out->recall.reason == R_NOCLASSROWS)
			out->recall.reason = R_NOPOSROWS;
		out->f1 = out->class_f1[in->positive];
	} else {
		out->precision = out->macro_precision;
		out->recall = out->macro_recall;
		out->f1 = out->macro_f1;
	}
	probability_metrics(in, out);
	return 0;
}

void metrics_free(struct eval_metrics *m)
{
	free(m->class_precision);
	free(m->class_recall);
	free(m->class_f1);
	free(m->class_support);
	free(m->confusion);
	memset(m, 0, sizeof *m);
}

/* ---- Lookup by name --------------------------------------------------- */

static const struct {
	const char *name;
	size_t offset;
	int higher_is_better;
} metric_table[] = {
	{"accuracy", offsetof(struct eval_metrics, accuracy), 1},
	{"balanced_accuracy", offsetof(struct eval_metrics, balanced_accuracy), 1},
	{"precision", offsetof(struct eval_metrics, precision), 1},
	{"recall", offsetof(struct eval_metrics, recall), 1},
	{"f1", offsetof(struct eval_metrics, f1), 1},
	{"macro_precision", offsetof(struct eval_metrics, macro_precision), 1},
	{"macro_recall", offsetof(struct eval_metrics, macro_recall), 1},
	{"macro_f1", offsetof(struct eval_metrics, macro_f1), 1},
	{"roc_auc", offsetof(struct eval_metrics, roc_auc), 1},
	{"pr_auc", offsetof(struct eval_metrics, pr_auc), 1},
	{"log_loss", offsetof(struct eval_metrics, log_loss), 0},
	{"brier", offsetof(struct eval_metrics, brier), 0},
	{"ece", offsetof(struct eval_metrics, ece), 0},
};

static int metric_index(const char *name)
{
	for (size_t i = 0; name && i < sizeof metric_table / sizeof metric_table[0]; i++)
		if (!strcmp(metric_table[i].name, name))
			return (int)i;
	return -1;
}

const struct estimate *metrics_get(const struct eval_metrics *m, const char *name)
{
	int i = metric_index(name);
	return i < 0 ? NULL : (const struct estimate *)((const char *)m + metric_table[i].offset);
}

int metric_higher_is_better(const char *name)
{
	int i = metric_index(name);
	return i < 0 ? 0 : metric_table[i].higher_is_better;
}

int metric_known(const char *name)
{
	return metric_index(name) >= 0;
}

/* ---- Threshold search ------------------------------------------------- */

enum thr_metric { THR_ACCURACY, THR_F1, THR_BALACC };

/* The metric from the counts at one threshold; P, N > 0. */
static double thr_value(enum thr_metric w, double tp, double fp, double P, double N)
{
	switch (w) {
	case THR_ACCURACY:
		return (tp + N - fp) / (P + N);
	case THR_F1:
		return 2.0 * tp / (2.0 * tp + fp + (P - tp)); /* P > 0: never 0/0 */
	case THR_BALACC:
		return 0.5 * (tp / P + (N - fp) / N);
	}
	return NAN;
}

int metrics_best_threshold(const int *y, const double *p_pos, size_t n, int positive,
			   const char *metric, double at, double *best_thr, double *best_val,
			   double *val_at)
{
	enum thr_metric w;
	if (!metric)
		return ERR_INTERNAL("metrics: no metric for the threshold search");
	if (!strcmp(metric, "accuracy"))
		w = THR_ACCURACY;
	else if (!strcmp(metric, "f1") || !strcmp(metric, "precision") || !strcmp(metric, "recall"))
		w = THR_F1;
	else if (!strcmp(metric, "balanced_accuracy"))
		w = THR_BALACC;
	else
		return ERR_INTERNAL("metrics: no threshold search for metric '%s'", metric);

	size_t npos = 0, tp_at = 0, fp_at = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(p_pos[i]))
			return ERR_INTERNAL("metrics: score %zu is NaN in the threshold search", i);
		int pos = y[i] == positive;
		npos += (size_t)pos;
		if (p_pos[i] >= at) {
			tp_at += (size_t)pos;
			fp_at += (size_t)!pos;
		}
	}
	*best_thr = at;
	if (npos == 0 || npos == n) {
		*best_val = *val_at = NAN; /* nothing to separate */
		return 0;
	}
	double P = (double)npos, N = (double)(n - npos);
	*val_at = thr_value(w, (double)tp_at, (double)fp_at, P, N);

	struct scored *v = xmalloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = (struct scored){p_pos[i], y[i] == positive};
	scored_sort(v, n);

	/* Start with nobody positive (threshold just above the top score), then
	 * lower the threshold one distinct score at a time. */
	double tp = 0.0, fp = 0.0;
	*best_thr = nextafter(v[n - 1].s, INFINITY);
	*best_val = thr_value(w, tp, fp, P, N);
	for (size_t i = n; i > 0;) {
		size_t j = i;
		for (; j > 0 && v[j - 1].s == v[i - 1].s; j--) {
			tp += v[j - 1].pos;
			fp += !v[j - 1].pos;
		}
		double s = v[i - 1].s, thr = s;
		if (j > 0) {
			/* Midway to the next lower score reads better and generalises
			 * better than the score itself; adjacent doubles have no
			 * midpoint strictly between, then keep s. */
			double mid = 0.5 * (s + v[j - 1].s);
			if (mid > v[j - 1].s && mid < s)
				thr = mid;
		}
		double val = thr_value(w, tp, fp, P, N);
		if (val > *best_val || (val == *best_val && fabs(thr - at) < fabs(*best_thr - at))) {
			*best_val = val;
			*best_thr = thr;
		}
		i = j;
	}
	free(v);
	return 0;
}
