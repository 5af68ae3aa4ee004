/* sanity_hpo.c - hyper-parameter search for the sanity checks: grid, random
 * and Bayesian optimisation (a Gaussian process with a Matern 5/2 kernel and
 * expected improvement) on the unit cube, and the probe search space that
 * maps the cube to learning rate, L2, width and dropout (see sanity.h). */
#include "stages/probes/sanity.h"

#include "pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sanity_search_result_free(struct sanity_search_result *r)
{
	if (!r)
		return;
	free(r->u);
	free(r->score);
	free(r->best_so_far);
	memset(r, 0, sizeof *r);
}

/* ---- the Gaussian process ---- */

static double matern52(const double *a, const double *b, size_t dims, double ls)
{
	double r2 = 0;
	for (size_t k = 0; k < dims; k++)
		r2 += (a[k] - b[k]) * (a[k] - b[k]);
	double r = sqrt(5 * r2) / ls;
	return (1 + r + r * r / 3) * exp(-r);
}

/* Cholesky of the n x n matrix a in place (lower). -1 when not positive definite. */
static int cholesky(double *a, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		double s = a[j * n + j];
		for (size_t k = 0; k < j; k++)
			s -= a[j * n + k] * a[j * n + k];
		if (!(s > 0))
			return -1;
		a[j * n + j] = sqrt(s);
		for (size_t i = j + 1; i < n; i++) {
			double t = a[i * n + j];
			for (size_t k = 0; k < j; k++)
				t -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = t / a[j * n + j];
		}
	}
	return 0;
}

/* Solve L z = b (forward) into z. */
static void lsolve(const double *L, size_t n, const double *b, double *z)
{
	for (size_t i = 0; i < n; i++) {
		double s = b[i];
		for (size_t k = 0; k < i; k++)
			s -= L[i * n + k] * z[k];
		z[i] = s / L[i * n + i];
	}
}

/* Solve L^T z = b (backward) in place. */
static void ltsolve(const double *L, size_t n, double *z)
{
	for (size_t i = n; i-- > 0;) {
		double s = z[i];
		for (size_t k = i + 1; k < n; k++)
			s -= L[k * n + i] * z[k];
		z[i] = s / L[i * n + i];
	}
}

struct gp {
	size_t n, dims;
	const double *x;   /* n x dims */
	double ls;
	double *L;         /* n x n Cholesky of K + noise I */
	double *alpha;     /* (K + noise I)^-1 y (standardised) */
	double *tmp;
};

#define GP_NOISE 1e-6

/* Fit with length scale ls on standardised y; returns the log marginal
 * likelihood (-inf when the matrix is not positive definite). */
static double gp_fit(struct gp *g, const double *ys, double ls)
{
	size_t n = g->n;
	g->ls = ls;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j <= i; j++) {
			double k = matern52(g->x + i * g->dims, g->x + j * g->dims, g->dims, ls);
			g->L[i * n + j] = g->L[j * n + i] = k + (i == j ? GP_NOISE : 0);
		}
	if (cholesky(g->L, n) != 0)
		return -INFINITY;
	lsolve(g->L, n, ys, g->alpha);
	double fit = 0, logdet = 0;
	for (size_t i = 0; i < n; i++) {
		fit += g->alpha[i] * g->alpha[i];
		logdet += log(g->L[i * n + i]);
	}
	ltsolve(g->L, n, g->alpha);
	return -0.5 * fit - logdet;
}

static void gp_predict(struct gp *g, const double *u, double *mu, double *sd)
{
	size_t n = g->n;
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		g->tmp[i] = matern52(u, g->x + i * g->dims, g->dims, g->ls);
		m += g->tmp[i] * g->alpha[i];
	}
	/* variance 1 - k^T (K + noise)^-1 k through v = L^-1 k */
	double *v = g->tmp + n;
	lsolve(g->L, n, g->tmp, v);
	double q = 0;
	for (size_t i = 0; i < n; i++)
		q += v[i] * v[i];
	*mu = m;
	*sd = sqrt(fmax(1 + GP_NOISE - q, 1e-12));
}

static double expected_improvement(double mu, double sd, double best)
{
	double z = (mu - best) / sd;
	double cdf = 0.5 * erfc(-z / sqrt(2)), pdf = exp(-0.5 * z * z) / sqrt(2 * M_PI);
	return (mu - best) * cdf + sd * pdf;
}

/* ---- the search ---- */

/* Inverse standard normal CDF by bisection on erfc (p in (0, 1)); only used on
 * a few dozen ranks, so plain and exact enough. */
static double normal_quantile(double p)
{
	double lo = -10, hi = 10;
	for (int i = 0; i < 100; i++) {
		double mid = 0.5 * (lo + hi);
		if (0.5 * erfc(-mid / sqrt(2)) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

static int evaluate(sanity_objective f, void *ctx, size_t dims, struct sanity_search_result *r, size_t from,
		    size_t count)
{
	if (count == 0)
		return 0;
	if (f(r->u + from * dims, count, dims, r->score + from, ctx) != 0)
		return -1;
	for (size_t i = from; i < from + count; i++) {
		if (!isfinite(r->score[i]))
			r->score[i] = -INFINITY;   /* a diverged trial is the worst */
		double prev = i ? r->best_so_far[i - 1] : -INFINITY;
		r->best_so_far[i] = r->score[i] > prev ? r->score[i] : prev;
		if (i == 0 || r->score[i] > r->score[r->best])
			r->best = i;
	}
	return 0;
}

/* Choose `count` new points at rows [n, n + count) of r->u by expected
 * improvement, the earlier chosen ones entering at their predicted mean. */
static void bayes_propose(struct sanity_search_result *r, size_t dims, size_t n, size_t count, struct rng *g)
{
	size_t m = n + count;
	double *ys = xmalloc(m * sizeof(double));
	struct gp gp = {.dims = dims, .x = r->u};
	gp.L = xmalloc(m * m * sizeof(double));
	gp.alpha = xmalloc(m * sizeof(double));
	gp.tmp = xmalloc(2 * m * sizeof(double));
	double *cand = xmalloc(dims * sizeof(double)), *bestc = xmalloc(dims * sizeof(double));
	/* Rank-warp the scores to normal quantiles before the GP sees them: a few
	 * very bad trials (a diverged learning rate, Branin's corners) would
	 * otherwise squash the good region flat after standardising. Ties and
	 * non-finite scores take the lowest ranks. */
	for (size_t i = 0; i < n; i++) {
		double below = 0, si = isfinite(r->score[i]) ? r->score[i] : -INFINITY;
		for (size_t j = 0; j < n; j++) {
			double sj = isfinite(r->score[j]) ? r->score[j] : -INFINITY;
			below += sj < si ? 1 : sj == si && j < i ? 1 : 0;
		}
		ys[i] = normal_quantile((below + 0.5) / (double)n);
	}
	static const double scales[] = {0.05, 0.1, 0.2, 0.4, 0.8, 1.6};
	for (size_t q = 0; q < count; q++) {
		size_t k = n + q;
		gp.n = k;
		double best_ll = -INFINITY, best_ls = 0.4;
		for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
			double ll = gp_fit(&gp, ys, scales[s] * sqrt((double)dims));
			if (ll > best_ll) {
				best_ll = ll;
				best_ls = scales[s] * sqrt((double)dims);
			}
		}
		gp_fit(&gp, ys, best_ls);
		double ybest = -INFINITY;
		size_t ib = 0;
		for (size_t i = 0; i < k; i++)
			if (ys[i] > ybest) {
				ybest = ys[i];
				ib = i;
			}
		double best_ei = -1;
		for (int c = 0; c < 2500; c++) {
			for (size_t j = 0; j < dims; j++) {
				double v = c < 2000 ? rng_uniform(g)
						    : r->u[ib * dims + j] + 0.05 * rng_normal(g);
				cand[j] = fmin(fmax(v, 0), 0.999999);
			}
			double mu, sd;
			gp_predict(&gp, cand, &mu, &sd);
			double ei = expected_improvement(mu, sd, ybest);
			if (ei > best_ei) {
				best_ei = ei;
				memcpy(bestc, cand, dims * sizeof(double));
			}
		}
		memcpy(r->u + k * dims, bestc, dims * sizeof(double));
		double mu, sd;
		gp_predict(&gp, bestc, &mu, &sd);
		ys[k] = mu;   /* kriging believer */
	}
	free(ys);
	free(gp.L);
	free(gp.alpha);
	free(gp.tmp);
	free(cand);
	free(bestc);
}

int sanity_search(enum sanity_search method, sanity_objective f, void *ctx, size_t dims, size_t budget,
		  size_t round, uint64_t seed, struct sanity_search_result *out)
{
	memset(out, 0, sizeof *out);
	if (dims < 1 || dims > 16 || budget < 1 || budget > 10000)
		return ERR_INPUT("sanity: search: dims %zu (1..16) or budget %zu (1..10000) out of range", dims,
				 budget);
	if (round < 1)
		round = budget;
	out->n = budget;
	out->u = xmalloc(budget * dims * sizeof(double));
	out->score = xmalloc(budget * sizeof(double));
	out->best_so_far = xmalloc(budget * sizeof(double));
	struct rng g;
	rng_seed(&g, seed);
	int rc = 0;
	if (method == SANITY_GRID || method == SANITY_RANDOM) {
		size_t filled = 0;
		if (method == SANITY_GRID) {
			/* at least two levels: one level is a single point, and the
			 * "grid" would be random search in disguise (12 trials in 4
			 * dimensions gave k = 1); a grid larger than the budget is cut
			 * in the seeded order below */
			size_t k = (size_t)floor(pow((double)budget, 1.0 / (double)dims) + 1e-9), total = 1;
			if (k < 2)
				k = budget >= 2 ? 2 : 1;
			for (size_t j = 0; j < dims; j++)
				total *= k;
			/* grid points in a seeded order, so a truncated round is not one corner */
			size_t *ord = xmalloc(total * sizeof(size_t));
			for (size_t i = 0; i < total; i++)
				ord[i] = i;
			for (size_t i = total; i > 1; i--) {
				size_t j = (size_t)rng_below(&g, i), t = ord[i - 1];
				ord[i - 1] = ord[j];
				ord[j] = t;
			}
			for (; filled < total && filled < budget; filled++) {
				size_t c = ord[filled];
				for (size_t j = 0; j < dims; j++) {
					out->u[filled * dims + j] = ((double)(c % k) + 0.5) / (double)k;
					c /= k;
				}
			}
			free(ord);
		}
		for (; filled < budget; filled++)
			for (size_t j = 0; j < dims; j++)
				out->u[filled * dims + j] = rng_uniform(&g);
		for (size_t i = 0; i < budget && rc == 0; i += round)
			rc = evaluate(f, ctx, dims, out, i, budget - i < round ? budget - i : round);
	} else {
		size_t n0 = dims + 1 > 4 ? dims + 1 : 4;
		if (n0 > budget)
			n0 = budget;
		for (size_t i = 0; i < n0 * dims; i++)
			out->u[i] = rng_uniform(&g);
		rc = evaluate(f, ctx, dims, out, 0, n0);
		for (size_t i = n0; i < budget && rc == 0;) {
			size_t c = budget - i < round ? budget - i : round;
			bayes_propose(out, dims, i, c, &g);
			rc = evaluate(f, ctx, dims, out, i, c);
			i += c;
		}
	}
	if (rc != 0) {
		sanity_search_result_free(out);
		return -1;
	}
	return 0;
}

int sanity_bayes_opt(sanity_objective f, void *ctx, size_t dims, size_t budget, uint64_t seed,
		     struct sanity_search_result *out)
{
	return sanity_search(SANITY_BAYES, f, ctx, dims, budget, 1, seed, out);
}

/* ---- the probe search space ---- */

void sanity_hpo_point(const double *u, struct sanity_hpo_trial *t)
{
	memset(t, 0, sizeof *t);
	t->lr = pow(10, -4 + 3 * u[0]);
	t->l2 = pow(10, -6 + 5 * u[1]);
	t->width = (int)lround(8 * pow(32, u[2]));   /* 8..256 */
	t->dropout = 0.5 * u[3];
}

struct hpo_ctx {
	const struct probe_data *d;
	const struct probe_backend *b;
	const uint8_t *val;
	int epochs;
	size_t batch;
	uint64_t seed;
	struct sanity_hpo_trial *log;   /* the method's trials, in order */
	size_t done;
};

/* One batched job per round: every point of the round is one probe. */
static int hpo_objective(const double *u, size_t n, size_t dims, double *scores, void *vctx)
{
	struct hpo_ctx *c = vctx;
	struct probe_spec *s = xmalloc(n * sizeof *s);
	for (size_t i = 0; i < n; i++) {
		struct sanity_hpo_trial *t = &c->log[c->done + i];
		sanity_hpo_point(u + i * dims, t);
		probe_spec_init(&s[i]);
		s[i].n_hidden = 1;
		s[i].hidden[0] = t->width;
		s[i].init = PROBE_INIT_HE;
		s[i].lr = (float)t->lr;
		s[i].l2 = (float)t->l2;
		s[i].dropout = (float)t->dropout;
		s[i].val_mask = c->val;
		s[i].seed = c->seed + c->done + i;
	}
	struct probe_job job = {.data = c->d, .specs = s, .n_probes = n, .batch_size = c->batch,
				.epochs = c->epochs, .seed = c->seed};
	struct probe_result *r = c->b->train(c->b, &job);
	if (!r) {
		free(s);
		return -1;
	}
	/* validation loss and accuracy from predict (no dropout) */
	size_t N = c->d->n, W = (size_t)r->out_width;
	float *pr = xmalloc(n * N * W * sizeof(float));
	int rc = c->b->predict(c->b, r, c->d->x, N, pr);
	for (size_t i = 0; i < n && rc == 0; i++) {
		double loss = 0, acc = 0, cnt = 0;
		for (size_t k = 0; k < N; k++) {
			int y = c->d->y[k];
			if (!c->val[k] || y < 0)
				continue;
			const float *q = pr + (i * N + k) * W;
			int arg = 0;
			for (int m = 1; m < c->d->n_classes; m++)
				if (q[m] > q[arg])
					arg = m;
			loss -= log(fmax(q[y], 1e-12));
			acc += arg == y;
			cnt++;
		}
		struct sanity_hpo_trial *t = &c->log[c->done + i];
		t->val_loss = cnt ? loss / cnt : NAN;
		t->val_acc = cnt ? acc / cnt : NAN;
		t->score = -t->val_loss;
		scores[i] = t->score;
	}
	free(pr);
	probe_result_free(r);
	free(s);
	if (rc != 0)
		return -1;
	c->done += n;
	return 0;
}

void sanity_hpo_free(struct sanity_hpo *h)
{
	if (!h)
		return;
	for (int m = 0; m < 3; m++)
		free(h->trials[m]);
	memset(h, 0, sizeof *h);
}

int sanity_hpo(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask, size_t budget,
	       size_t round, int epochs, size_t batch, uint64_t seed, struct sanity_hpo *out)
{
	memset(out, 0, sizeof *out);
	if (!val_mask || !d->y)
		return ERR_INPUT("sanity: hyper-parameter search needs labels and validation rows");
	out->budget = budget;
	double best = -INFINITY;
	for (int m = 0; m < 3; m++) {
		out->trials[m] = xcalloc(budget ? budget : 1, sizeof(struct sanity_hpo_trial));
		struct hpo_ctx c = {.d = d, .b = b, .val = val_mask, .epochs = epochs, .batch = batch,
				    .seed = seed, .log = out->trials[m]};
		struct sanity_search_result r;
		/* the same seed for every method: the same initial random points for
		 * random and Bayes, so the difference is the method */
		if (sanity_search((enum sanity_search)m, hpo_objective, &c, 4, budget, round, seed, &r) != 0) {
			sanity_hpo_free(out);
			return -1;
		}
		for (size_t i = 0; i < budget; i++)
			out->trials[m][i].best_so_far = r.best_so_far[i];
		if (r.best_so_far[budget - 1] > best) {
			best = r.best_so_far[budget - 1];
			out->best_method = m;
		}
		sanity_search_result_free(&r);
	}
	return 0;
}
