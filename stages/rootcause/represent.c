/* represent.c - underrepresented slices and their learning curves. The
 * rules are in represent.h. */
#include "represent.h"
#include "slicecond.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int fraction_den[REP_POINTS] = {8, 4, 2, 1};
static const size_t ext_num[REP_EXT_POINTS] = {1, 2, 4};   /* a quarter, half, all of the added rows */

/* ---- the learning curve's fit ---- */

int represent_fit_curve(const double *rows, const double *acc, const double *var, size_t n,
			struct represent_fit *out)
{
	memset(out, 0, sizeof *out);
	double sw = 0, sx = 0, sy = 0;
	for (size_t i = 0; i < n; i++) {
		double w = 1 / var[i];
		sw += w;
		sx += w * log2(rows[i]);
		sy += w * acc[i];
	}
	if (n < 2 || !(sw > 0))
		return -1;
	double xb = sx / sw, yb = sy / sw, sxx = 0, sxy = 0;
	for (size_t i = 0; i < n; i++) {
		double w = 1 / var[i], dx = log2(rows[i]) - xb;
		sxx += w * dx * dx;
		sxy += w * dx * (acc[i] - yb);
	}
	if (!(sxx > 0))
		return -1;
	out->slope = sxy / sxx;
	out->intercept = yb - out->slope * xb;
	out->slope_se = sqrt(1 / sxx);
	/* one-sided: the question is only whether more rows help */
	out->rising = out->slope >= REP_MIN_SLOPE && out->slope - 1.6448536269514722 * out->slope_se > 0;
	return 0;
}

/* Rows where the curve first reaches `level`: interpolated on log2(rows)
 * between the two points around it (linearly from a point without rows). */
static double rows_at(const double *rows, const double *acc, size_t from, size_t n, double level)
{
	for (size_t i = from; i < n; i++) {
		if (acc[i] < level)
			continue;
		if (i == from)
			return rows[i];
		double t = (level - acc[i - 1]) / (acc[i] - acc[i - 1]);
		if (rows[i - 1] <= 0)
			return ceil(t * rows[i] - 1e-6);
		return ceil(rows[i - 1] * exp2(t * log2(rows[i] / rows[i - 1])) - 1e-6);   /* 400.0000001 is 400 */
	}
	return NAN;
}

double represent_read_curve(const double *rows, const double *acc, const double *var, size_t n, size_t full,
			   double target, struct represent_fit *fit, enum represent_verdict *v)
{
	*v = REP_NOT_MEASURED;
	if (full >= n || n < 2)
		return NAN;
	/* the fitted points: those within two doublings of the last (at least
	 * REP_FIT_POINTS), none without rows (log2 0) */
	size_t k = n - 1;
	while (k > 0 && rows[k - 1] > 0 && (rows[k - 1] >= rows[n - 1] / 4 || n - k < REP_FIT_POINTS))
		k--;
	if (represent_fit_curve(rows + k, acc + k, var + k, n - k, fit) < 0)
		return NAN;
	target -= REP_CLOSE;
	if (acc[full] >= target) {
		*v = REP_ENOUGH;
		return rows[full];
	}
	/* reached inside the measured curve */
	double at = rows_at(rows, acc, full, n, target);
	if (!isnan(at)) {
		*v = REP_RISING;
		return at;
	}
	/* the whole curve's gain, last point over first, one-sided 99.9%: the
	 * points are several draws, and a coin's labels spread them by chance
	 * (at 99%, one noise slice in forty "gained") */
	double rise = acc[n - 1] - acc[0], se = sqrt(var[n - 1] + var[0]);
	int gained = se > 0 && rise / se > REP_GAIN_Z;
	if (gained && fit->rising) {
		/* still rising where it ends: along the slope, within reason */
		*v = REP_RISING;
		double doublings = (target - acc[n - 1]) / fit->slope;
		return doublings > REP_MAX_DOUBLINGS ? NAN : ceil(rows[n - 1] * exp2(doublings) - 1e-6);
	}
	if (gained) {
		/* rose, then levelled off short of the target: the rows where it
		 * comes within REP_CLOSE of its best */
		double best = acc[0];
		for (size_t i = 1; i < n; i++)
			best = acc[i] > best ? acc[i] : best;
		*v = REP_LEVELS;
		return rows_at(rows, acc, 0, n, best - REP_CLOSE);
	}
	/* no gain over a handful of rows says little: a rule a hundred rows
	 * cannot teach yet looks like noise */
	*v = rows[n - 1] < REP_FEW_ROWS ? REP_INCONCLUSIVE : REP_FLAT;
	return NAN;
}

/* ---- candidates ---- */

struct point {
	size_t rows;          /* the slice's train rows trained on */
	size_t added;         /* and its rows from the evaluated split (the extension) */
	size_t n, correct;    /* judged rows of the slice in the evaluated split */
};

struct cand {
	size_t s;                  /* evaluated split */
	char *text;
	struct slice_cond *conds;  /* owned */
	size_t nconds;
	int from_slice, from_segment;
	char *slice_finding;       /* the error_slice finding's id, or NULL */
	size_t n_train, n_split;   /* rows in the slice, all rows */
	size_t n_eval, n_err;      /* evaluated rows in the slice, errors among them */
	size_t rest_n, rest_err;
	double rate, rest, share_train, share_eval;
	double p_err, p_rep, p, q;
	int flagged;
	double excess;             /* errors beyond the rest's rate */
	int curve;                 /* index of its curve, -1 none */
	const char *no_curve;      /* why not, when flagged and curve < 0 */
	char why[256];             /* room for a no_curve that names another slice */
	/* the curve judged on this candidate's split */
	struct point pts[REP_MAX_POINTS];
	size_t npts, full;         /* points; the last one on train's rows alone */
	size_t rest_judged, rest_correct;
	struct represent_fit fit;
	enum represent_verdict verdict;
	double target;             /* the full train-only probe's accuracy on the rest of the split */
	double rows_needed;
	char id[40];
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

static struct cand *cand_push(struct cands *cs)
{
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 32;
		cs->v = xrealloc(cs->v, cs->cap * sizeof *cs->v);
	}
	struct cand *c = &cs->v[cs->n++];
	memset(c, 0, sizeof *c);
	c->curve = -1;
	c->rows_needed = NAN;
	c->verdict = REP_NOT_MEASURED;
	return c;
}

static struct cand *cand_find(struct cands *cs, size_t s, const char *text)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].s == s && !strcmp(cs->v[i].text, text))
			return &cs->v[i];
	return NULL;
}

static int in_slice(const struct rc_data *d, const struct slice_cond *c, size_t n, size_t s, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (!slicecond_match(d, &c[k], s, i))
			return 0;
	return 1;
}

/* Rows of the slice in split s: all, evaluated, erred. */
static void count_rows(const struct rc_data *d, const struct slice_cond *c, size_t nc, size_t s, size_t *all,
		       size_t *eval, size_t *err)
{
	const struct rc_split *sp = &d->splits[s];
	size_t a = 0, e = 0, r = 0;
	for (size_t i = 0; i < sp->nrows; i++) {
		if (!in_slice(d, c, nc, s, i))
			continue;
		a++;
		if (sp->err && sp->err[i] >= 0) {
			e++;
			r += (size_t)sp->err[i];
		}
	}
	*all = a;
	if (eval)
		*eval = e;
	if (err)
		*err = r;
}

static int evaluated(const struct rc_data *d, size_t s)
{
	return s > 0 && d->splits[s].err && d->splits[s].n_eval > 0;
}

/* The error slices slices_run listed; a text that does not read back, or
 * reads back to another row count, is noted and left out. */
static void slice_candidates(const struct rc_data *d, const json_t *analysis, struct cands *cs, json_t *notes)
{
	const json_t *listed = json_object_get(json_object_get(analysis, "slices"), "listed");
	size_t i;
	const json_t *e;
	json_array_foreach(listed, i, e) {
		const char *split = json_string_value(json_object_get(e, "split"));
		const char *text = json_string_value(json_object_get(e, "slice"));
		json_int_t rows = json_integer_value(json_object_get(e, "rows"));
		size_t s = 0;
		for (size_t k = 1; split && k < d->nsplits; k++)
			if (!strcmp(d->splits[k].name, split))
				s = k;
		if (!s || !text || !evaluated(d, s) || cand_find(cs, s, text))
			continue;
		struct slice_cond *conds;
		size_t nc, all, ev, er;
		if (slicecond_parse(d, text, &conds, &nc) < 0) {
			json_array_append_new(notes, json_sprintf("%s: slice '%s' could not be read back from its text", split, text));
			continue;
		}
		count_rows(d, conds, nc, s, &all, &ev, &er);
		if ((json_int_t)ev != rows) {
			json_array_append_new(notes, json_sprintf("%s: slice '%s' reads back to %zu rows, not the %lld listed",
								  split, text, ev, (long long)rows));
			for (size_t k = 0; k < nc; k++)
				slicecond_free(&conds[k]);
			free(conds);
			continue;
		}
		struct cand *c = cand_push(cs);
		c->s = s;
		c->text = xstrdup(text);
		c->conds = conds;
		c->nconds = nc;
		c->from_slice = 1;
		const char *fid = json_string_value(json_object_get(e, "finding"));
		c->slice_finding = fid ? xstrdup(fid) : NULL;
		c->n_split = all;
		c->n_eval = ev;
		c->n_err = er;
		size_t tr;
		count_rows(d, conds, nc, 0, &tr, NULL, NULL);
		c->n_train = tr;
	}
}

static void add_segment_cand(const struct rc_data *d, struct cands *cs, size_t s, struct slice_cond cond,
			     size_t n_train, size_t n_split, size_t n_eval, size_t n_err)
{
	struct strbuf sb;
	sb_init(&sb);
	slicecond_text(d, &cond, &sb);
	struct cand *old = cand_find(cs, s, sb.data);
	if (old) {
		old->from_segment = 1;
		sb_free(&sb);
		slicecond_free(&cond);
		return;
	}
	struct cand *c = cand_push(cs);
	c->s = s;
	c->text = sb_detach(&sb);
	c->conds = xmalloc(sizeof *c->conds);
	c->conds[0] = cond;
	c->nconds = 1;
	c->from_segment = 1;
	c->n_train = n_train;
	c->n_split = n_split;
	c->n_eval = n_eval;
	c->n_err = n_err;
}

/* Every value of every segment column, one pass per column and split. */
static void segment_candidates(const struct rc_data *d, struct cands *cs)
{
	for (size_t j = 0; j < d->ncols; j++) {
		const struct rc_column *col = &d->cols[j];
		if (col->role != ROLE_SEGMENT || col->fidx[0] < 0)
			continue;
		if (!col->numeric) {
			size_t L = col->nlevels;
			size_t *tr = xcalloc(L + 1, sizeof *tr), *all = xcalloc(L + 1, sizeof *all);
			size_t *ev = xcalloc(L + 1, sizeof *ev), *er = xcalloc(L + 1, sizeof *er);
			for (size_t i = 0; i < d->splits[0].nrows; i++) {
				int32_t l = rcdata_level(d, col, 0, i);
				if (l >= 0)
					tr[l]++;
			}
			for (size_t s = 1; s < d->nsplits; s++) {
				if (!evaluated(d, s) || col->fidx[s] < 0)
					continue;
				const struct rc_split *sp = &d->splits[s];
				memset(all, 0, L * sizeof *all);
				memset(ev, 0, L * sizeof *ev);
				memset(er, 0, L * sizeof *er);
				for (size_t i = 0; i < sp->nrows; i++) {
					int32_t l = rcdata_level(d, col, s, i);
					if (l < 0)
						continue;
					all[l]++;
					if (sp->err[i] >= 0) {
						ev[l]++;
						er[l] += (size_t)sp->err[i];
					}
				}
				for (size_t l = 0; l < L; l++) {
					if (ev[l] < REP_MIN_ROWS || ev[l] >= sp->n_eval)
						continue;
					struct slice_cond c = {.col = j, .kind = COND_LEVELS, .nlevels = 1};
					c.levels = xmalloc(sizeof *c.levels);
					c.levels[0] = (int32_t)l;
					add_segment_cand(d, cs, s, c, tr[l], all[l], ev[l], er[l]);
				}
			}
			free(tr);
			free(all);
			free(ev);
			free(er);
			continue;
		}
		/* numeric: a handful of values, one candidate each */
		for (size_t s = 1; s < d->nsplits; s++) {
			if (!evaluated(d, s) || col->fidx[s] < 0)
				continue;
			const struct rc_split *sp = &d->splits[s];
			double vals[REP_SEGMENT_VALUES + 1];
			size_t nv = 0;
			for (size_t i = 0; i < sp->nrows && nv <= REP_SEGMENT_VALUES; i++) {
				double x = rcdata_num(d, col, s, i);
				if (isnan(x))
					continue;
				size_t k = 0;
				while (k < nv && vals[k] != x)
					k++;
				if (k == nv)
					vals[nv++] = x;
			}
			if (nv > REP_SEGMENT_VALUES || nv < 2)
				continue;
			for (size_t k = 0; k < nv; k++) {
				struct slice_cond c = {.col = j, .kind = COND_EQ, .lo = vals[k], .hi = vals[k]};
				size_t all, ev, er, tr;
				count_rows(d, &c, 1, s, &all, &ev, &er);
				if (ev < REP_MIN_ROWS || ev >= sp->n_eval)
					continue;
				count_rows(d, &c, 1, 0, &tr, NULL, NULL);
				add_segment_cand(d, cs, s, c, tr, all, ev, er);
			}
		}
	}
}

/* Both tests, BH over the run's candidates, and the flag. Returns the family size. */
static size_t test_candidates(const struct rc_data *d, struct cands *cs)
{
	size_t ntrain = d->splits[0].nrows;
	double *p = xmalloc((cs->n ? cs->n : 1) * sizeof *p);
	for (size_t i = 0; i < cs->n; i++) {
		struct cand *c = &cs->v[i];
		const struct rc_split *sp = &d->splits[c->s];
		c->rest_n = sp->n_eval - c->n_eval;
		c->rest_err = sp->n_err - c->n_err;
		c->rate = c->n_eval ? (double)c->n_err / (double)c->n_eval : NAN;
		c->rest = c->rest_n ? (double)c->rest_err / (double)c->rest_n : NAN;
		c->share_train = ntrain ? (double)c->n_train / (double)ntrain : NAN;
		c->share_eval = sp->nrows ? (double)c->n_split / (double)sp->nrows : NAN;
		c->p_err = c->rest_n ? stats_two_prop_pvalue(c->n_err, c->n_eval, c->rest_err, c->rest_n) : NAN;
		c->p_rep = ntrain ? stats_two_prop_pvalue(c->n_train, ntrain, c->n_split, sp->nrows) : NAN;
		c->excess = (double)c->n_err - c->rest * (double)c->n_eval;
		int worse = c->rest_n && c->rate > c->rest;
		int rarer = c->share_train < REP_SHARE_RATIO * c->share_eval;
		/* intersection-union: both hold at level alpha when the larger p is below it */
		c->p = worse && rarer && !isnan(c->p_err) && !isnan(c->p_rep) ? fmax(c->p_err, c->p_rep) : 1.0;
		p[i] = c->p;
	}
	double *q = xmalloc((cs->n ? cs->n : 1) * sizeof *q);
	if (cs->n)
		stats_bh(p, cs->n, q);
	for (size_t i = 0; i < cs->n; i++) {
		struct cand *c = &cs->v[i];
		c->q = q[i];
		c->flagged = c->p < 1.0 && c->q < REP_Q;
	}
	free(p);
	free(q);
	return cs->n;
}

static int cand_order(const void *x, const void *y)
{
	const struct cand *a = *(const struct cand *const *)x, *b = *(const struct cand *const *)y;
	if (a->excess != b->excess)
		return a->excess < b->excess ? 1 : -1;
	if (a->s != b->s)
		return a->s < b->s ? -1 : 1;
	return strcmp(a->text, b->text);
}

static int cond_equal(const struct slice_cond *a, const struct slice_cond *b)
{
	if (a->col != b->col || a->kind != b->kind || a->negate != b->negate || a->or_missing != b->or_missing ||
	    a->nlevels != b->nlevels)
		return 0;
	if ((a->kind == COND_RANGE || a->kind == COND_EQ) && (a->lo != b->lo || a->hi != b->hi))
		return 0;
	for (size_t k = 0; k < a->nlevels; k++)
		if (a->levels[k] != b->levels[k])
			return 0;
	return 1;
}

/* Is a a refinement of b: every condition of b, and more? */
static int refines(const struct cand *a, const struct cand *b)
{
	if (a->nconds <= b->nconds)
		return 0;
	for (size_t i = 0; i < b->nconds; i++) {
		int found = 0;
		for (size_t j = 0; j < a->nconds && !found; j++)
			found = cond_equal(&a->conds[j], &b->conds[i]);
		if (!found)
			return 0;
	}
	return 1;
}

/* A wider slice holding nearly all the excess errors of a refinement of it
 * on the same split goes before it: "rows like region=west" is the unit data
 * are collected in, and the refinement's curve would repeat its. */
static void prefer_wider(struct cand **order, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			struct cand *c = order[i];
			if (order[j]->s == c->s && refines(order[j], c) && c->excess >= REP_WIDER * order[j]->excess) {
				memmove(order + j + 1, order + j, (i - j) * sizeof *order);
				order[j] = c;
				break;
			}
		}
}

/* ---- the curves: one batched probe job ---- */

struct curve {
	struct cand *c;          /* the first (strongest) candidate with the slice */
	size_t n_labelled;       /* its labelled train rows */
	size_t extra_n;
	size_t *extra;           /* a seeded sample of them, at most REP_SLICE_CAP */
	size_t *rows;            /* its rows in the job's train part (indices), in a seeded order */
	size_t nfull;            /* how many of them the full point trains on */
	size_t s_ext;            /* the split whose slice rows extend the curve (c's) */
	size_t *ev, nev;         /* labelled slice rows of s_ext, in a seeded order */
	size_t n_add;            /* the first n_add are added to training, the rest judged; 0: no extension */
	size_t x0;               /* job row of the first added row */
	size_t q0, np;           /* its probes in the job */
	size_t ntrain_pts;       /* REP_POINTS, or 1 (all its train rows) when it has too few for fractions */
	struct point pts[REP_MAX_POINTS];
};

/* Reservoir step: keep at most max of the rows seen so far. */
static void reservoir(struct rng *g, size_t *rows, size_t *m, size_t max, size_t *seen, size_t i)
{
	if (*m < max)
		rows[(*m)++] = i;
	else {
		size_t j = (size_t)(rng_uniform(g) * (double)(*seen + 1));
		if (j < max)
			rows[j] = i;
	}
	(*seen)++;
}

static int size_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return a < b ? -1 : a > b;
}

static void shuffle(struct rng *g, size_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(g, i), t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Judge probe q on labelled rows of split s: how many it gets right. */
static int judge(const struct rc_data *d, const struct rc_probes *p, const struct probe_result *r, size_t q, size_t s,
		 const size_t *rows, size_t n, size_t *correct)
{
	float *x = rcprobe_gather(p, s, rows, n), *out = xmalloc((n ? n : 1) * (size_t)d->k * sizeof *out);
	int rc = rcprobe_predict(p, r, q, x, n, d->k, out);
	size_t ok = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const float *o = out + i * (size_t)d->k;
		int best = 0;
		for (int k = 1; k < d->k; k++)
			if (o[k] > o[best])
				best = k;
		ok += best == d->splits[s].y[rows[i]];
	}
	free(x);
	free(out);
	*correct = ok;
	return rc;
}

struct job_info {
	int ran;
	const char *why;         /* why no curve at all */
	size_t train_rows;       /* rows of the job */
	size_t base_rows;        /* the seeded sample of train the other rows come from */
	size_t added_rows;       /* rows of evaluated splits that extend curves */
	size_t ext_split[REP_CURVES];  /* per curve: the split its added rows come from */
	int width;
	int epochs;
	size_t probes;
	char backend[16];
};

/* Pick the slices (the strongest distinct ones with enough labelled train
 * rows) and draw their rows. Returns how many. */
static size_t pick_curves(struct rc_data *d, struct cand **order, size_t nflag, uint64_t seed, struct curve *cv)
{
	const struct rc_split *tr = &d->splits[0];
	size_t ncv = 0;
	for (size_t i = 0; i < nflag && ncv < REP_CURVES; i++) {
		struct cand *c = order[i];
		int dup = 0;
		for (size_t k = 0; k < ncv; k++)
			dup |= !strcmp(cv[k].c->text, c->text);
		if (dup)
			continue;
		struct curve *u = &cv[ncv];
		memset(u, 0, sizeof *u);
		u->c = c;
		u->extra = xmalloc(REP_SLICE_CAP * sizeof *u->extra);
		struct rng g;
		rng_seed(&g, seed + 101 * ncv);
		size_t seen = 0, shared[REP_CURVES] = {0};
		for (size_t r = 0; r < tr->nrows; r++) {
			if (tr->y[r] < 0 || !in_slice(d, c->conds, c->nconds, 0, r))
				continue;
			reservoir(&g, u->extra, &u->extra_n, REP_SLICE_CAP, &seen, r);
			for (size_t k = 0; k < ncv; k++)
				shared[k] += (size_t)in_slice(d, cv[k].c->conds, cv[k].c->nconds, 0, r);
		}
		/* a slice that shares half its train rows with one that has a curve
		 * (a refinement of it, or a wider slice around it) would repeat that
		 * curve: the slot goes to the next slice */
		size_t like = ncv;
		for (size_t k = 0; k < ncv && like == ncv; k++) {
			size_t small = seen < cv[k].n_labelled ? seen : cv[k].n_labelled;
			if (small && (double)shared[k] >= REP_OVERLAP * (double)small)
				like = k;
		}
		if (like < ncv) {
			snprintf(c->why, sizeof c->why, "it shares most train rows with %s, whose curve was measured",
				 cv[like].c->text);
			c->no_curve = c->why;
			free(u->extra);
			continue;
		}
		u->n_labelled = seen;
		qsort(u->extra, u->extra_n, sizeof *u->extra, size_cmp);
		/* the slice's rows where the model fails: half extend the curve
		 * ("rows like these, collected"), half judge it */
		const struct rc_split *sp = &d->splits[c->s];
		u->s_ext = c->s;
		u->ev = xmalloc(RCPROBE_MAX_ROWS * sizeof *u->ev);
		seen = 0;
		for (size_t r = 0; r < sp->nrows; r++)
			if (sp->y[r] >= 0 && in_slice(d, c->conds, c->nconds, c->s, r))
				reservoir(&g, u->ev, &u->nev, RCPROBE_MAX_ROWS, &seen, r);
		shuffle(&g, u->ev, u->nev);
		if (u->nev >= REP_MIN_EXT)
			u->n_add = u->nev / 2 < REP_SLICE_CAP ? u->nev / 2 : REP_SLICE_CAP;
		/* too few train rows for fractions of them: one point on all of them
		 * (maybe none), and the curve is the added rows' */
		u->ntrain_pts = u->n_labelled >= REP_MIN_CURVE_ROWS ? REP_POINTS : 1;
		if (u->ntrain_pts == 1 && !u->n_add) {
			snprintf(c->why, sizeof c->why, "fewer than %d labelled rows of it in train and fewer than %d in %s",
				 REP_MIN_CURVE_ROWS, REP_MIN_EXT, sp->name);
			c->no_curve = c->why;
			free(u->extra);
			free(u->ev);
			continue;
		}
		c->curve = (int)ncv++;
	}
	/* later candidates of a slice (on another split) share its curve, or the
	 * reason it has none */
	for (size_t i = 0; i < nflag; i++) {
		for (size_t k = 0; k < ncv && order[i]->curve < 0; k++)
			if (!strcmp(cv[k].c->text, order[i]->text))
				order[i]->curve = (int)k;
		for (size_t j = 0; j < i && order[i]->curve < 0 && !order[i]->no_curve; j++)
			if (!strcmp(order[j]->text, order[i]->text))
				order[i]->no_curve = order[j]->no_curve;
	}
	return ncv;
}

/* The job's train part: a seeded sample of train for the other rows and each
 * slice's sample on top, sorted, without duplicates; is_base marks the rows
 * of the sample. Returns the count; *rows and *is_base are new. */
static size_t train_part(const struct rc_data *d, struct curve *cv, size_t ncv, size_t budget, uint64_t seed,
			 size_t **rows_out, uint8_t **base_out, size_t *nbase)
{
	size_t extras = 0;
	for (size_t k = 0; k < ncv; k++)
		extras += cv[k].extra_n;
	size_t base_max = budget > extras ? budget - extras : 0;
	size_t *rows = xmalloc((base_max + extras + 1) * sizeof *rows);
	size_t n = *nbase = rcprobe_sample(d, 0, base_max, 1, 0, seed, rows);
	for (size_t k = 0; k < ncv; k++) {
		memcpy(rows + n, cv[k].extra, cv[k].extra_n * sizeof *rows);
		n += cv[k].extra_n;
	}
	/* (row, from the sample?) pairs sorted by row; duplicates merged */
	size_t *tmp = xmalloc((n ? n : 1) * 2 * sizeof *tmp);
	for (size_t i = 0; i < n; i++) {
		tmp[2 * i] = rows[i];
		tmp[2 * i + 1] = i < *nbase;
	}
	qsort(tmp, n, 2 * sizeof *tmp, size_cmp);
	uint8_t *is_base = xcalloc(n ? n : 1, 1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && rows[m - 1] == tmp[2 * i]) {
			is_base[m - 1] |= (uint8_t)tmp[2 * i + 1];
			continue;
		}
		rows[m] = tmp[2 * i];
		is_base[m++] = (uint8_t)tmp[2 * i + 1];
	}
	free(tmp);
	*rows_out = rows;
	*base_out = is_base;
	return m;
}

/* Fill c's points, target and verdict from the job. */
static int judge_cand(struct rc_data *d, const struct rc_probes *p, const struct probe_result *res, struct cand *c,
		      const struct curve *u, uint64_t seed)
{
	const struct rc_split *sp = &d->splits[c->s];
	size_t *in = xmalloc(RCPROBE_MAX_ROWS * sizeof *in), *out = xmalloc(REP_REST_ROWS * sizeof *out);
	size_t nin = 0, nout = 0, sin = 0, sout = 0;
	struct rng g;
	rng_seed(&g, seed + 31 * c->s + 5);
	int own = c->s == u->s_ext && u->n_add;   /* judged on the half not added */
	if (own) {
		nin = u->nev - u->n_add;
		memcpy(in, u->ev + u->n_add, nin * sizeof *in);
	}
	for (size_t r = 0; r < sp->nrows; r++) {
		if (sp->y[r] < 0)
			continue;
		if (in_slice(d, c->conds, c->nconds, c->s, r)) {
			if (!own)
				reservoir(&g, in, &nin, RCPROBE_MAX_ROWS, &sin, r);
		} else {
			reservoir(&g, out, &nout, REP_REST_ROWS, &sout, r);
		}
	}
	int rc = 0;
	c->npts = u->np;
	for (size_t f = 0; rc == 0 && f < u->np; f++) {
		c->pts[f] = u->pts[f];
		c->pts[f].n = nin;
		rc = judge(d, p, res, u->q0 + f, c->s, in, nin, &c->pts[f].correct);
	}
	c->rest_judged = nout;
	if (rc == 0)   /* the target: the full train-only probe on the rest */
		rc = judge(d, p, res, u->q0 + u->ntrain_pts - 1, c->s, out, nout, &c->rest_correct);
	free(in);
	free(out);
	if (rc < 0)
		return -1;
	if (nin == 0 || nout == 0) {
		c->no_curve = "the slice or the rest has no labelled rows to judge on";
		return 0;
	}
	double xs[REP_MAX_POINTS], acc[REP_MAX_POINTS], var[REP_MAX_POINTS];
	for (size_t f = 0; f < c->npts; f++) {
		double lo, hi;
		stats_wilson(c->pts[f].correct, c->pts[f].n, STATS_Z95, &lo, &hi);
		double se = (hi - lo) / (2 * STATS_Z95);
		xs[f] = (double)(c->pts[f].rows + c->pts[f].added);
		acc[f] = (double)c->pts[f].correct / (double)c->pts[f].n;
		var[f] = se * se;
	}
	c->target = (double)c->rest_correct / (double)c->rest_judged;
	c->full = u->ntrain_pts - 1;
	c->rows_needed = represent_read_curve(xs, acc, var, c->npts, c->full, c->target, &c->fit, &c->verdict);
	if (c->verdict == REP_NOT_MEASURED)
		c->no_curve = "the curve's points share one row count";
	/* a curve on a sample of a large slice: train holds the rows it asks for */
	if (c->verdict == REP_RISING && c->rows_needed <= (double)c->n_train)
		c->verdict = REP_ENOUGH;
	return 0;
}

static int run_curves(struct rc_data *d, const struct rc_probes *p, struct cand **order, size_t nflag,
		      struct job_info *ji)
{
	memset(ji, 0, sizeof *ji);
	if (!p->d) {
		ji->why = "no feature or segment column to train probes on";
		return 0;
	}
	uint64_t seed = d->cfg->seed ^ 0x5265707265736e74ull;   /* "Represnt" */
	struct curve cv[REP_CURVES];
	size_t ncv = pick_curves(d, order, nflag, seed, cv);
	if (!ncv) {
		ji->why = "no underrepresented slice has enough labelled train rows for a curve";
		return 0;
	}
	size_t added = 0;
	for (size_t k = 0; k < ncv; k++)
		added += cv[k].n_add;
	size_t *rows, nbase;
	uint8_t *is_base;
	size_t ntr = train_part(d, cv, ncv, RCPROBE_MAX_ROWS - added, seed, &rows, &is_base, &nbase);
	size_t n = ntr + added;

	/* each slice's rows in the train part: its sampled rows and its own
	 * extra rows (not another slice's), in a seeded order, at most
	 * REP_SLICE_CAP; and its probes */
	uint8_t *member = xcalloc((ntr ? ntr : 1) * ncv, 1);
	size_t np = 0, x0 = ntr;
	for (size_t k = 0; k < ncv; k++) {
		struct curve *u = &cv[k];
		u->rows = xmalloc((ntr ? ntr : 1) * sizeof *u->rows);
		for (size_t i = 0; i < ntr; i++) {
			if (!in_slice(d, u->c->conds, u->c->nconds, 0, rows[i]))
				continue;
			member[k * ntr + i] = 1;
			if (is_base[i] || bsearch(&rows[i], u->extra, u->extra_n, sizeof *u->extra, size_cmp))
				u->rows[u->nfull++] = i;
		}
		struct rng g;
		rng_seed(&g, seed + 7 + k);
		shuffle(&g, u->rows, u->nfull);
		if (u->nfull > REP_SLICE_CAP)
			u->nfull = REP_SLICE_CAP;
		u->x0 = x0;
		x0 += u->n_add;
		u->q0 = np;
		u->np = u->ntrain_pts + (u->n_add ? REP_EXT_POINTS : 0);
		np += u->np;
	}

	/* the probes: per slice its fractions, then its extensions; a slice's
	 * probes share their initialisation, so their differences are the rows */
	ji->width = ntr < REP_TINY ? 0 : REP_WIDTH;
	struct probe_spec *specs = xcalloc(np, sizeof *specs);
	float *w = xcalloc(np * (n ? n : 1), sizeof *w);
	for (size_t k = 0; k < ncv; k++) {
		struct curve *u = &cv[k];
		for (size_t f = 0; f < u->np; f++) {
			size_t q = u->q0 + f;
			float *wq = w + q * n;
			for (size_t i = 0; i < ntr; i++)
				wq[i] = !member[k * ntr + i] && is_base[i] ? 1.0f : 0.0f;
			size_t take = u->nfull, add = 0;
			if (u->ntrain_pts == REP_POINTS && f < REP_POINTS) {
				take = (size_t)llround((double)u->nfull / fraction_den[f]);
				take = take < 1 ? 1 : take;
			} else if (f >= u->ntrain_pts) {
				add = u->n_add * ext_num[f - u->ntrain_pts] / ext_num[REP_EXT_POINTS - 1];
			}
			for (size_t i = 0; i < take; i++)
				wq[u->rows[i]] = 1.0f;
			for (size_t i = 0; i < add; i++)
				wq[u->x0 + i] = 1.0f;
			rcprobe_spec(&specs[q], ji->width, seed + 1000 + k);
			/* a fixed budget (no validation rows to stop on), so a rate that
			 * gets far in it: at 1e-3 a slice's rule of a few hundred rows is
			 * barely started when the budget ends */
			specs[q].patience = 0;
			specs[q].lr = REP_LR;
			specs[q].sched = PROBE_LR_COSINE;
			specs[q].lr_min = REP_LR / 100;
			specs[q].row_weight = wq;
			u->pts[f] = (struct point){.rows = take, .added = add};
		}
	}
	float *x = xmalloc((n ? n : 1) * p->d * sizeof *x);
	int32_t *y = xmalloc((n ? n : 1) * sizeof *y);
	float *xt = rcprobe_gather(p, 0, rows, ntr);
	memcpy(x, xt, ntr * p->d * sizeof *x);
	free(xt);
	for (size_t i = 0; i < ntr; i++)
		y[i] = d->splits[0].y[rows[i]];
	for (size_t k = 0; k < ncv; k++) {
		struct curve *u = &cv[k];
		if (!u->n_add)
			continue;
		float *xe = rcprobe_gather(p, u->s_ext, u->ev, u->n_add);
		memcpy(x + u->x0 * p->d, xe, u->n_add * p->d * sizeof *x);
		free(xe);
		for (size_t i = 0; i < u->n_add; i++)
			y[u->x0 + i] = d->splits[u->s_ext].y[u->ev[i]];
	}
	struct probe_data data = {.n = n, .d = p->d, .x = x, .y = y, .n_classes = d->k};
	struct probe_result *res = rcprobe_train(p, &data, specs, np, REP_ROW_VISITS, seed);
	free(x);
	free(y);
	free(w);
	free(specs);
	free(member);
	free(is_base);
	free(rows);
	int rc = res ? 0 : -1;
	ji->ran = res != NULL;
	ji->train_rows = n;
	ji->base_rows = nbase;
	ji->added_rows = added;
	ji->probes = np;
	if (res) {
		double ep = REP_ROW_VISITS / (double)(n ? n : 1);
		ji->epochs = ep < 3 ? 3 : ep > 40 ? 40 : (int)ep;
		snprintf(ji->backend, sizeof ji->backend, "%s", res->backend);
	}
	for (size_t k = 0; k < ncv; k++)
		ji->ext_split[k] = cv[k].s_ext;
	for (size_t i = 0; rc == 0 && i < nflag; i++)
		if (order[i]->curve >= 0)
			rc = judge_cand(d, p, res, order[i], &cv[order[i]->curve], seed);
	for (size_t k = 0; k < ncv; k++) {
		free(cv[k].rows);
		free(cv[k].extra);
		free(cv[k].ev);
	}
	probe_result_free(res);
	return rc;
}

/* ---- output ---- */

static const char *verdict(const struct cand *c)
{
	switch (c->verdict) {
	case REP_ENOUGH: return "enough";
	case REP_RISING: return "rising";
	case REP_FLAT: return "flat";
	case REP_LEVELS: return "levels off";
	case REP_INCONCLUSIVE: return "inconclusive";
	default: return "not measured";
	}
}

static int measured(const struct cand *c)
{
	return c->verdict != REP_NOT_MEASURED;
}

static enum severity cand_severity(const struct cand *c)
{
	double gap = c->rate - c->rest;
	if (c->verdict == REP_RISING)
		return gap >= REP_HIGH_GAP && !isnan(c->rows_needed) ? SEV_HIGH : SEV_MEDIUM;
	int unsure = !measured(c) || c->verdict == REP_INCONCLUSIVE;
	if (c->verdict == REP_ENOUGH || (unsure && gap >= REP_HIGH_GAP))
		return SEV_MEDIUM;
	if (c->verdict == REP_LEVELS && c->rows_needed > (double)c->n_train)
		return SEV_MEDIUM;   /* more rows help, though not all the way */
	return SEV_LOW;
}

static json_t *est_rate(size_t k, size_t n)
{
	double lo, hi;
	stats_wilson(k, n, STATS_Z95, &lo, &hi);
	return estimate_json(n ? (double)k / (double)n : NAN, lo, hi, (long long)n, n ? NULL : "no rows");
}

static json_t *curve_json(const struct rc_data *d, const struct cand *c, const struct job_info *ji)
{
	json_t *a = json_array();
	if (!measured(c))
		return a;
	for (size_t f = 0; f < c->npts; f++) {
		json_t *e = json_object();
		json_object_set_new(e, "train_rows", json_integer((json_int_t)(c->pts[f].rows + c->pts[f].added)));
		if (f <= c->full) {
			json_object_set_new(e, "fraction", json_real(c->full ? 1.0 / fraction_den[f] : 1.0));
		} else {
			json_object_set_new(e, "from_train", json_integer((json_int_t)c->pts[f].rows));
			json_object_set_new(e, "added_rows", json_integer((json_int_t)c->pts[f].added));
			json_object_set_new(e, "added_from", json_string(d->splits[ji->ext_split[c->curve]].name));
		}
		json_object_set_new(e, "accuracy", est_rate(c->pts[f].correct, c->pts[f].n));
		json_array_append_new(a, e);
	}
	return a;
}

static json_t *fit_json(const struct cand *c)
{
	if (!measured(c))
		return json_null();
	json_t *e = json_object();
	json_object_set_new(e, "model", json_string("accuracy = intercept + slope * log2(slice training rows), on the "
						    "points within two doublings of the last (at least 3)"));
	json_object_set_new(e, "intercept", json_num_or_null(c->fit.intercept));
	json_object_set_new(e, "slope_per_doubling", json_num_or_null(c->fit.slope));
	json_object_set_new(e, "slope_ci_low", json_num_or_null(c->fit.slope - STATS_Z95 * c->fit.slope_se));
	json_object_set_new(e, "slope_ci_high", json_num_or_null(c->fit.slope + STATS_Z95 * c->fit.slope_se));
	json_object_set_new(e, "rising", json_boolean(c->fit.rising));
	return e;
}

static json_t *rows_needed_json(const struct cand *c)
{
	return isnan(c->rows_needed) ? json_null() : json_integer((json_int_t)c->rows_needed);
}

static json_t *rows_more_json(const struct cand *c)
{
	if (isnan(c->rows_needed))
		return json_null();
	double more = c->rows_needed - (double)c->n_train;
	return json_integer((json_int_t)(more > 0 ? more : 0));
}

static const char *source_text(const struct cand *c)
{
	return c->from_slice && c->from_segment ? "error slice and segment value"
	       : c->from_slice                  ? "error slice"
						: "segment value";
}

static const char *no_curve_reason(const struct cand *c, const struct job_info *ji)
{
	return c->no_curve ? c->no_curve : ji->why ? ji->why : "only the 3 strongest slices get a curve";
}

static json_t *evidence(const struct rc_data *d, const struct cand *c, size_t family, const struct job_info *ji)
{
	const struct rc_split *sp = &d->splits[c->s];
	json_t *e = json_object();
	json_object_set_new(e, "source", json_string(source_text(c)));
	if (c->slice_finding)
		json_object_set_new(e, "error_slice", json_string(c->slice_finding));
	json_object_set_new(e, "train_rows", json_integer((json_int_t)c->n_train));
	json_object_set_new(e, "train_total", json_integer((json_int_t)d->splits[0].nrows));
	json_object_set_new(e, "train_share", est_rate(c->n_train, d->splits[0].nrows));
	json_object_set_new(e, "split_rows", json_integer((json_int_t)c->n_split));
	json_object_set_new(e, "split_total", json_integer((json_int_t)sp->nrows));
	json_object_set_new(e, "split_share", json_num_or_null(c->share_eval));
	json_object_set_new(e, "split_share_estimate", est_rate(c->n_split, sp->nrows));
	json_object_set_new(e, "share_ratio", json_num_or_null(c->share_train > 0 ? c->share_eval / c->share_train : NAN));
	json_object_set_new(e, "share_p_value", json_num_or_null(c->p_rep));
	json_object_set_new(e, "rows", json_integer((json_int_t)c->n_eval));
	json_object_set_new(e, "errors", json_integer((json_int_t)c->n_err));
	json_object_set_new(e, "error_rate", est_rate(c->n_err, c->n_eval));
	json_object_set_new(e, "rest_error_rate", est_rate(c->rest_err, c->rest_n));
	json_object_set_new(e, "error_gap", json_num_or_null(c->rate - c->rest));
	json_object_set_new(e, "error_p_value", json_num_or_null(c->p_err));
	json_object_set_new(e, "p_value", json_num_or_null(c->p));
	json_object_set_new(e, "q_value", json_num_or_null(c->q));
	json_object_set_new(e, "tests_in_family", json_integer((json_int_t)family));
	json_object_set_new(e, "curve_verdict", json_string(verdict(c)));
	json_object_set_new(e, "curve", curve_json(d, c, ji));
	json_object_set_new(e, "curve_fit", fit_json(c));
	if (measured(c)) {
		json_object_set_new(e, "target_accuracy", est_rate(c->rest_correct, c->rest_judged));
		json_object_set_new(e, "model_rest_accuracy", est_rate(c->rest_n - c->rest_err, c->rest_n));
		json_object_set_new(e, "curve_probe", json_sprintf("%s, %zu training rows (%zu a seeded sample of train, "
			"%zu of evaluated splits), %d epochs, %s backend", ji->width ? "MLP 1x32 ReLU" : "softmax regression",
			ji->train_rows, ji->base_rows, ji->added_rows, ji->epochs, ji->backend));
	} else {
		json_object_set_new(e, "no_curve", json_string(no_curve_reason(c, ji)));
	}
	json_object_set_new(e, "rows_needed", rows_needed_json(c));
	json_object_set_new(e, "rows_more", rows_more_json(c));
	return e;
}

static char *title(const struct rc_data *d, const struct cand *c, const struct job_info *ji)
{
	char a[48], b[48];
	struct strbuf t;
	sb_init(&t);
	sb_printf(&t, "In %s, %s is %.2g%% of rows but %.2g%% of train (%s rows), and the model errs on %.0f%% of it "
		      "against %.0f%% elsewhere",
		  d->splits[c->s].name, c->text, 100 * c->share_eval, 100 * c->share_train,
		  rc_fmt(a, sizeof a, (double)c->n_train), 100 * c->rate, 100 * c->rest);
	if (!measured(c)) {
		sb_printf(&t, "; no learning curve was measured (%s).", no_curve_reason(c, ji));
		return sb_detach(&t);
	}
	double pts = 100 * c->fit.slope;
	if (c->verdict == REP_INCONCLUSIVE) {
		sb_printf(&t, "; probes trained on the %s rows of it at hand do no better there yet, too few to tell "
			      "whether more would help.", rc_fmt(a, sizeof a, (double)(c->pts[c->npts - 1].rows +
										c->pts[c->npts - 1].added)));
		return sb_detach(&t);
	}
	if (c->verdict == REP_FLAT) {
		sb_printf(&t, "; probes trained on more of its rows do not do better there (%+.1f points per doubling), so "
			      "more rows alone will not fix it: look at its labels and features.", pts);
		return sb_detach(&t);
	}
	if (c->verdict == REP_LEVELS) {
		double best = 0;
		for (size_t f = 0; f < c->npts; f++) {
			double a_ = (double)c->pts[f].correct / (double)c->pts[f].n;
			best = a_ > best ? a_ : best;
		}
		sb_printf(&t, "; probes trained on more of its rows do better there, up to %.0f%% against %.0f%% on the "
			      "rest, then level off", 100 * best, 100 * c->target);
		if (c->rows_needed > (double)c->n_train)
			sb_printf(&t, ": about %s rows (%s more) get there; beyond, look at its labels and features.",
				  rc_fmt(a, sizeof a, c->rows_needed), rc_fmt(b, sizeof b, c->rows_needed - (double)c->n_train));
		else
			sb_puts(&t, " with the rows train has: look at its labels and features.");
		return sb_detach(&t);
	}
	if (c->verdict == REP_ENOUGH) {
		if (c->rows_needed > (double)c->pts[c->full].rows)
			sb_printf(&t, "; yet probes would match the rest with about %s of its rows, fewer than train holds, so "
				      "the rows are there and the model underuses them.", rc_fmt(a, sizeof a, c->rows_needed));
		else
			sb_puts(&t, "; yet probes trained on the rows of it that train holds do about as well there as on the "
				    "rest, so the rows are there and the model underuses them.");
		return sb_detach(&t);
	}
	sb_printf(&t, "; probes trained on more of its rows gain %.1f points of accuracy there per doubling", pts);
	if (isnan(c->rows_needed))
		sb_printf(&t, ", too slowly to match the rest within %dx its rows.", 1 << REP_MAX_DOUBLINGS);
	else
		sb_printf(&t, " and would match the rest at about %s rows (%s more).", rc_fmt(a, sizeof a, c->rows_needed),
			  rc_fmt(b, sizeof b, c->rows_needed - (double)c->n_train));
	return sb_detach(&t);
}

static const char *method_text =
	"Candidates: the error slices listed by the slice search and every segment value, per evaluated split, with "
	">= 30 evaluated rows. Underrepresented: error rate above the rest of the split and share of train below half "
	"the share of the split, both by two-sided two-proportion z tests, combined as the larger p-value "
	"(intersection-union), Benjamini-Hochberg q < 0.05 over every candidate of the run. Learning curves for the 3 "
	"strongest distinct slices (by errors beyond the rest's rate; a wider slice holding 90% of a refinement's "
	"goes first; a slice sharing half its train rows with one that has a curve is skipped): probes (MLP 1x32 ReLU, "
	"softmax under 2,000 rows; Adam 1e-2, cosine decay, a fixed budget) in one batched job, trained on train with "
	"the slice's labelled rows (at most 2,000) subsampled to 1/8, 1/4, 1/2 and all (all only, when under 32), the "
	"other rows a fixed seeded sample, then with a quarter, half and all of a seeded half of the slice's rows in "
	"the evaluated split added (at most 2,000; when it has >= 200), 20,000 rows in all; every point judged on the "
	"slice's other rows of the split, with 95% Wilson intervals. Target: the full train-only probe's accuracy on "
	"the rest of the split; a point within 2 points of it reaches it. Fit accuracy = a + b log2(rows) on the points "
	"within two doublings of the last (at least 3), weighted by inverse variance; it rises when b >= 0.005 and its "
	"one-sided 95% lower bound > 0; the curve gained when its last point beats its first (one-sided 99.9%). "
	"Verdict: enough when the full train-only point reaches the target; rising when a later point reaches it "
	"(rows_needed interpolated) or the curve gained and the fit rises (extrapolated along b from the last point, "
	"null beyond 64x; optimistic, as a log-linear curve never levels off); levels off when it gained but no longer "
	"rises (rows_needed: where it comes within 2 points of its best); else flat (null), or inconclusive when "
	"its largest point has under 100 rows. rows_more: rows_needed less "
	"the slice's rows in train. Severity: high when rising with a finite rows_needed and the error rate >= 10 points "
	"above the rest; medium when rising otherwise, enough, levelling off beyond train's rows, or no curve with a gap "
	">= 10 points; low otherwise.";

static void free_cands(struct cands *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct cand *c = &cs->v[i];
		for (size_t k = 0; k < c->nconds; k++)
			slicecond_free(&c->conds[k]);
		free(c->conds);
		free(c->text);
		free(c->slice_finding);
	}
	free(cs->v);
}

int represent_run(struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis)
{
	if (!d->model_mode) {
		json_object_set_new(analysis, "underrepresented_skipped",
				    json_string("data mode: no model outputs, so no slice where the model errs"));
		return 0;
	}
	int any = 0;
	for (size_t s = 1; s < d->nsplits; s++)
		any |= evaluated(d, s);
	if (!any) {
		json_object_set_new(analysis, "underrepresented_skipped",
				    json_string("no split after train has rows the model was evaluated on"));
		return 0;
	}
	json_t *notes = json_array();
	struct cands cs = {0};
	slice_candidates(d, analysis, &cs, notes);
	segment_candidates(d, &cs);
	size_t family = test_candidates(d, &cs);
	struct cand **order = xmalloc((cs.n ? cs.n : 1) * sizeof *order);
	size_t nflag = 0;
	for (size_t i = 0; i < cs.n; i++)
		if (cs.v[i].flagged)
			order[nflag++] = &cs.v[i];
	qsort(order, nflag, sizeof *order, cand_order);
	prefer_wider(order, nflag);
	struct job_info ji = {0};
	int rc = nflag ? run_curves(d, p, order, nflag, &ji) : 0;
	if (rc < 0) {
		free(order);
		free_cands(&cs);
		json_decref(notes);
		return -1;
	}

	json_t *list = json_array();
	size_t *per_split = xcalloc(d->nsplits, sizeof *per_split);
	for (size_t i = 0; i < nflag; i++) {
		struct cand *c = order[i];
		const char *split = d->splits[c->s].name;
		/* a refinement of a flagged slice of the same split is listed, not a
		 * finding: the wider slice is the unit rows are collected in, and
		 * step 2's error_slice already reports where inside it the errors are */
		const struct cand *wider = NULL;
		for (size_t j = 0; j < nflag && !wider; j++)
			if (order[j]->s == c->s && refines(c, order[j]))
				wider = order[j];
		if (!wider && per_split[c->s]++ < REP_FINDINGS) {
			char *t = title(d, c, &ji);
			json_t *f = finding_new("underrepresented_slice", 3, cand_severity(c), t,
						subject_new(split, NULL, NULL, c->text, (long long)c->n_eval),
						evidence(d, c, family, &ji));
			snprintf(c->id, sizeof c->id, "%s", json_string_value(json_object_get(f, "id")));
			json_array_append_new(findings, f);
			free(t);
		}
		json_t *e = json_object();
		json_object_set_new(e, "slice", json_string(c->text));
		json_object_set_new(e, "eval_split", json_string(split));
		json_object_set_new(e, "share_train", json_num_or_null(c->share_train));
		json_object_set_new(e, "share_eval", json_num_or_null(c->share_eval));
		json_object_set_new(e, "rows_train", json_integer((json_int_t)c->n_train));
		json_object_set_new(e, "error_rate", est_rate(c->n_err, c->n_eval));
		json_object_set_new(e, "error_rate_elsewhere", est_rate(c->rest_err, c->rest_n));
		json_object_set_new(e, "curve", curve_json(d, c, &ji));
		json_object_set_new(e, "rows_needed", rows_needed_json(c));
		json_object_set_new(e, "finding", c->id[0] ? json_string(c->id) : json_null());
		if (wider)
			json_object_set_new(e, "within", json_string(wider->text));
		/* beyond the contract: what a reader of the plot needs */
		json_object_set_new(e, "rows_more", rows_more_json(c));
		json_object_set_new(e, "curve_verdict", json_string(verdict(c)));
		json_object_set_new(e, "curve_fit", fit_json(c));
		if (measured(c))
			json_object_set_new(e, "target_accuracy", est_rate(c->rest_correct, c->rest_judged));
		json_object_set_new(e, "q_value", json_num_or_null(c->q));
		json_object_set_new(e, "source", json_string(source_text(c)));
		json_array_append_new(list, e);
	}
	json_object_set_new(analysis, "underrepresented", list);
	json_t *m = json_object();
	json_object_set_new(m, "method", json_string(method_text));
	json_object_set_new(m, "candidates", json_integer((json_int_t)cs.n));
	json_object_set_new(m, "flagged", json_integer((json_int_t)nflag));
	if (ji.ran) {
		json_t *job = json_object();
		json_object_set_new(job, "probes", json_integer((json_int_t)ji.probes));
		json_object_set_new(job, "architecture", json_string(ji.width ? "MLP 1x32 ReLU" : "softmax regression"));
		json_object_set_new(job, "training_rows", json_integer((json_int_t)ji.train_rows));
		json_object_set_new(job, "sampled_train_rows", json_integer((json_int_t)ji.base_rows));
		json_object_set_new(job, "train_total", json_integer((json_int_t)d->splits[0].nrows));
		json_object_set_new(job, "epochs", json_integer(ji.epochs));
		json_object_set_new(job, "backend", json_string(ji.backend));
		json_object_set_new(m, "curve_job", job);
	} else if (nflag) {
		json_object_set_new(m, "curve_job", json_string(ji.why ? ji.why : "not run"));
	}
	json_object_set_new(m, "notes", notes);
	json_object_set_new(analysis, "underrepresented_method", m);
	free(per_split);
	free(order);
	free_cands(&cs);
	return 0;
}
