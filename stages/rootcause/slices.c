/* slices.c - error slices from the error tree and a conjunction search.
 * The method is described in slices.h. */
#include "slices.h"
#include "errtree.h"
#include "rcstats.h"
#include "slicecond.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PARENT_P 0.001
#define PARENT_LIFT 1.15
#define OVERLAP 0.5
#define CSV_EXTRA 40      /* candidates written to slices.csv beyond the listed ones */

enum method { M_SEARCH, M_TREE };

struct cand {
	size_t sc;           /* index of its split context */
	enum method method;
	int nc;
	int c[3];            /* search: condition indices, ascending */
	size_t leaf;         /* tree: leaf index */
	size_t rows, errs;
	double rate, rest, ratio, score, p, q;
};

/* One evaluated split's rows, conditions and their bitsets. */
struct split_ctx {
	size_t s;
	size_t m;             /* evaluated rows */
	size_t *ridx;         /* their frame rows */
	uint8_t *err;
	size_t words;
	uint64_t *ebits;      /* rows where the model erred */
	size_t nerr;
	size_t minsup;
	struct slice_cond *conds;
	size_t nconds;
	uint64_t **cbits;
	size_t *crows, *cerrs;
	struct errtree tree;
};

struct cands {
	struct cand *v;
	size_t n, cap;
	size_t tested;       /* slices compared with their rest, candidates or not: the BH family */
};

static void cands_push(struct cands *cs, const struct cand *c)
{
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 256;
		cs->v = xrealloc(cs->v, cs->cap * sizeof *cs->v);
	}
	cs->v[cs->n++] = *c;
}

/* Fill the slice-vs-rest numbers; 1 when the slice is a candidate (enough
 * rows, a non-empty rest, more errors than the rest). */
static int score(const struct split_ctx *sc, size_t rows, size_t errs, struct cand *c, struct cands *all)
{
	if (rows < sc->minsup || rows >= sc->m)
		return 0;
	all->tested++;
	c->rows = rows;
	c->errs = errs;
	c->rate = (double)errs / (double)rows;
	size_t rr = sc->m - rows, re = sc->nerr - errs;
	c->rest = (double)re / (double)rr;
	if (!(c->rate > c->rest))
		return 0;
	c->ratio = c->rest > 0 ? c->rate / c->rest : INFINITY;
	double lo, hi;
	stats_wilson(errs, rows, STATS_Z95, &lo, &hi);
	/* a rest without errors: rank as if it had half of one */
	double rest = c->rest > 0 ? c->rest : 0.5 / (double)rr;
	c->score = lo / rest;
	c->p = stats_two_prop_pvalue(errs, rows, re, rr);
	c->q = NAN;
	return 1;
}

/* Does the child (rows, errs) err clearly more than the rest of its parent? */
static int adds_to(size_t rows, size_t errs, size_t prow, size_t perr)
{
	if (prow <= rows)
		return 0;
	size_t orow = prow - rows, oerr = perr - errs;
	double rc = (double)errs / (double)rows, ro = (double)oerr / (double)orow, rp = (double)perr / (double)prow;
	return rc > ro && rc >= PARENT_LIFT * rp && stats_two_prop_pvalue(errs, rows, oerr, orow) < PARENT_P;
}

/* ---- conditions of a split ---- */

static void add_cond(struct split_ctx *sc, const struct slice_cond *c)
{
	sc->conds = xrealloc(sc->conds, (sc->nconds + 1) * sizeof *sc->conds);
	sc->cbits = xrealloc(sc->cbits, (sc->nconds + 1) * sizeof *sc->cbits);
	sc->conds[sc->nconds] = *c;
	sc->cbits[sc->nconds] = xcalloc(sc->words ? sc->words : 1, sizeof **sc->cbits);
	sc->nconds++;
}

static inline void set_bit(uint64_t *b, size_t r)
{
	b[r / 64] |= 1ull << (r % 64);
}

struct lcount { size_t rows; int32_t level; };

static int lcount_desc(const void *x, const void *y)
{
	const struct lcount *a = x, *b = y;
	if (a->rows != b->rows)
		return a->rows < b->rows ? 1 : -1;
	return a->level - b->level;
}

static void column_conditions(struct rc_data *d, struct split_ctx *sc, size_t j)
{
	const struct rc_column *c = &d->cols[j];
	size_t s = sc->s, first = sc->nconds;
	size_t nmiss = 0;
	if (c->numeric) {
		size_t n;
		const double *v = rcdata_sorted(d, j, s, &n);
		if (n == 0)
			return;
		/* few distinct values: one condition per value */
		double vals[7];
		size_t nv = 0;
		for (size_t i = 0; i < n && nv <= 6; i++)
			if (nv == 0 || v[i] != vals[nv - 1])
				vals[nv++] = v[i];
		if (nv <= 6) {
			for (size_t k = 0; k < nv; k++)
				add_cond(sc, &(struct slice_cond){.col = j, .kind = COND_EQ, .lo = vals[k], .hi = vals[k]});
			for (size_t r = 0; r < sc->m; r++) {
				double x = rcdata_num(d, c, s, sc->ridx[r]);
				if (isnan(x)) {
					nmiss++;
					continue;
				}
				for (size_t k = 0; k < nv; k++)
					if (x == vals[k]) {
						set_bit(sc->cbits[first + k], r);
						break;
					}
			}
		} else {
			double raw[SLICES_BINS], edges[SLICES_BINS];
			size_t ne = rcstats_quantile_edges(v, n, SLICES_BINS, raw), k = 0;
			for (size_t i = 0; i < ne; i++) {
				double e = slicecond_round(raw[i], 2);
				if (e > v[0] && e <= v[n - 1] && (k == 0 || e > edges[k - 1]))
					edges[k++] = e;
			}
			ne = k;
			for (size_t b = 0; b <= ne; b++)
				add_cond(sc, &(struct slice_cond){.col = j, .kind = COND_RANGE,
					.lo = b ? edges[b - 1] : -INFINITY, .hi = b < ne ? edges[b] : INFINITY});
			for (size_t r = 0; r < sc->m; r++) {
				double x = rcdata_num(d, c, s, sc->ridx[r]);
				if (isnan(x))
					nmiss++;
				else
					set_bit(sc->cbits[first + rcstats_bin(edges, ne, x)], r);
			}
		}
	} else {
		size_t *cnt = xcalloc(c->nlevels + 1, sizeof *cnt);
		for (size_t r = 0; r < sc->m; r++) {
			int32_t l = rcdata_level(d, c, s, sc->ridx[r]);
			if (l >= 0)
				cnt[l]++;
			else
				nmiss++;
		}
		struct lcount *lc = xmalloc((c->nlevels + 1) * sizeof *lc);
		size_t k = 0;
		for (size_t l = 0; l < c->nlevels; l++)
			if (cnt[l] >= sc->minsup)
				lc[k++] = (struct lcount){cnt[l], (int32_t)l};
		qsort(lc, k, sizeof *lc, lcount_desc);
		if (k > SLICES_LEVELS)
			k = SLICES_LEVELS;
		/* a single level holding every row says nothing */
		if (!(k == 1 && lc[0].rows == sc->m)) {
			int32_t *cond_of = xmalloc((c->nlevels + 1) * sizeof *cond_of);
			for (size_t l = 0; l < c->nlevels; l++)
				cond_of[l] = -1;
			for (size_t i = 0; i < k; i++) {
				struct slice_cond sc1 = {.col = j, .kind = COND_LEVELS, .nlevels = 1};
				sc1.levels = xmalloc(sizeof *sc1.levels);
				sc1.levels[0] = lc[i].level;
				cond_of[lc[i].level] = (int32_t)(sc->nconds);
				add_cond(sc, &sc1);
			}
			for (size_t r = 0; r < sc->m; r++) {
				int32_t l = rcdata_level(d, c, s, sc->ridx[r]);
				if (l >= 0 && cond_of[l] >= 0)
					set_bit(sc->cbits[cond_of[l]], r);
			}
			free(cond_of);
		}
		free(lc);
		free(cnt);
	}
	if (nmiss >= sc->minsup && nmiss < sc->m) {
		add_cond(sc, &(struct slice_cond){.col = j, .kind = COND_MISSING});
		uint64_t *b = sc->cbits[sc->nconds - 1];
		for (size_t r = 0; r < sc->m; r++) {
			int miss = c->numeric ? isnan(rcdata_num(d, c, s, sc->ridx[r])) : rcdata_level(d, c, s, sc->ridx[r]) < 0;
			if (miss)
				set_bit(b, r);
		}
	}
}

/* ---- the search ---- */

static int cand_score_desc(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	if (a->nc != b->nc)   /* simpler first */
		return a->nc - b->nc;
	if (a->rows != b->rows)
		return a->rows < b->rows ? 1 : -1;
	return memcmp(a->c, b->c, sizeof a->c);
}

/* A small open-addressing set of condition triples already tried. */
struct tripleset {
	uint64_t *key;
	size_t cap;
};

static int tripleset_add(struct tripleset *t, uint64_t k)
{
	size_t i = (size_t)(k * 0x9e3779b97f4a7c15ull >> 20) & (t->cap - 1);
	while (t->key[i]) {
		if (t->key[i] == k)
			return 0;
		i = (i + 1) & (t->cap - 1);
	}
	t->key[i] = k;
	return 1;
}

static void sort3(int *c)
{
	for (int i = 1; i < 3; i++)
		for (int j = i; j > 0 && c[j - 1] > c[j]; j--) {
			int t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
}

static void search(struct split_ctx *sc, size_t sci, struct cands *all)
{
	size_t nc = sc->nconds, w = sc->words;
	sc->crows = xmalloc((nc ? nc : 1) * sizeof *sc->crows);
	sc->cerrs = xmalloc((nc ? nc : 1) * sizeof *sc->cerrs);
	for (size_t a = 0; a < nc; a++) {
		sc->crows[a] = bits_and_count(sc->cbits[a], NULL, w);
		sc->cerrs[a] = bits_and_count(sc->cbits[a], sc->ebits, w);
		struct cand c = {.sc = sci, .method = M_SEARCH, .nc = 1, .c = {(int)a, -1, -1}};
		if (score(sc, sc->crows[a], sc->cerrs[a], &c, all))
			cands_push(all, &c);
	}
	/* pairs: every two conditions on different columns with support */
	struct cands pairs = {0};
	for (size_t a = 0; a < nc; a++) {
		if (sc->crows[a] < sc->minsup)
			continue;
		for (size_t b = a + 1; b < nc; b++) {
			if (sc->crows[b] < sc->minsup || sc->conds[a].col == sc->conds[b].col)
				continue;
			size_t rows, errs;
			bits_and_count2(sc->cbits[a], sc->cbits[b], sc->ebits, w, &rows, &errs);
			if (rows < sc->minsup || rows >= sc->m)
				continue;
			/* a slice with support counts in the family whether or not it goes on */
			all->tested++;
			if (!adds_to(rows, errs, sc->crows[a], sc->cerrs[a]) || !adds_to(rows, errs, sc->crows[b], sc->cerrs[b]))
				continue;
			struct cand c = {.sc = sci, .method = M_SEARCH, .nc = 2, .c = {(int)a, (int)b, -1}};
			all->tested--;   /* score() counts it */
			if (score(sc, rows, errs, &c, all)) {
				cands_push(all, &c);
				cands_push(&pairs, &c);
			}
		}
	}
	/* triples: extend the best pairs by a condition on a third column */
	if (pairs.n)
		qsort(pairs.v, pairs.n, sizeof *pairs.v, cand_score_desc);
	size_t beam = pairs.n < SLICES_BEAM ? pairs.n : SLICES_BEAM;
	struct tripleset seen = {.cap = 1};
	while (seen.cap < 4 * beam * (nc + 1))
		seen.cap *= 2;
	seen.key = xcalloc(seen.cap, sizeof *seen.key);
	uint64_t *ab = xmalloc((w ? w : 1) * sizeof *ab);
	for (size_t i = 0; i < beam; i++) {
		const struct cand *pc = &pairs.v[i];
		int a = pc->c[0], b = pc->c[1];
		bits_and(ab, sc->cbits[a], sc->cbits[b], w);
		for (size_t x = 0; x < nc; x++) {
			if (sc->crows[x] < sc->minsup || sc->conds[x].col == sc->conds[a].col ||
			    sc->conds[x].col == sc->conds[b].col)
				continue;
			int t[3] = {a, b, (int)x};
			sort3(t);
			uint64_t key = ((uint64_t)(t[0] + 1) << 42) | ((uint64_t)(t[1] + 1) << 21) | (uint64_t)(t[2] + 1);
			if (!tripleset_add(&seen, key))
				continue;
			size_t rows, errs;
			bits_and_count2(ab, sc->cbits[x], sc->ebits, w, &rows, &errs);
			if (rows < sc->minsup || rows >= sc->m)
				continue;
			all->tested++;
			if (!adds_to(rows, errs, pc->rows, pc->errs))
				continue;
			size_t r2, e2;
			bits_and_count2(sc->cbits[a], sc->cbits[x], sc->ebits, w, &r2, &e2);
			if (!adds_to(rows, errs, r2, e2))
				continue;
			bits_and_count2(sc->cbits[b], sc->cbits[x], sc->ebits, w, &r2, &e2);
			if (!adds_to(rows, errs, r2, e2))
				continue;
			struct cand c = {.sc = sci, .method = M_SEARCH, .nc = 3, .c = {t[0], t[1], t[2]}};
			all->tested--;   /* score() counts it */
			if (score(sc, rows, errs, &c, all))
				cands_push(all, &c);
		}
	}
	free(ab);
	free(seen.key);
	free(pairs.v);
}

/* A tree leaf is held to the search's rule: leaving out any one of its
 * conditions must lower the error rate clearly (the tree picks each cut to
 * separate errors, so a cut that only chases noise in a small node fails). */
static int leaf_conditions_matter(const struct rc_data *d, const struct split_ctx *sc, const struct errtree_leaf *lf)
{
	if (lf->nconds < 2)
		return 1;
	size_t w = sc->words, n = lf->nconds;
	uint64_t **cb = xmalloc(n * sizeof *cb);
	for (size_t k = 0; k < n; k++) {
		cb[k] = xcalloc(w ? w : 1, sizeof **cb);
		for (size_t r = 0; r < sc->m; r++)
			if (slicecond_match(d, &lf->conds[k], sc->s, sc->ridx[r]))
				set_bit(cb[k], r);
	}
	uint64_t *parent = xmalloc((w ? w : 1) * sizeof *parent);
	int ok = 1;
	for (size_t drop = 0; drop < n && ok; drop++) {
		for (size_t i = 0; i < w; i++)
			parent[i] = ~0ull;
		for (size_t k = 0; k < n; k++)
			if (k != drop)
				bits_and(parent, parent, cb[k], w);
		size_t prow, perr;
		bits_and_count2(parent, parent, sc->ebits, w, &prow, &perr);
		ok = adds_to(lf->rows, lf->errs, prow, perr);
	}
	free(parent);
	for (size_t k = 0; k < n; k++)
		free(cb[k]);
	free(cb);
	return ok;
}

/* ---- a candidate's rows, conditions and text ---- */

static void cand_bits(const struct split_ctx *sc, const struct cand *c, uint64_t *out)
{
	if (c->method == M_TREE) {
		memcpy(out, sc->tree.leaves[c->leaf].bits, sc->words * sizeof *out);
		return;
	}
	memcpy(out, sc->cbits[c->c[0]], sc->words * sizeof *out);
	for (int k = 1; k < c->nc; k++)
		bits_and(out, out, sc->cbits[c->c[k]], sc->words);
}

static size_t cand_conds(const struct split_ctx *sc, const struct cand *c, const struct slice_cond **out)
{
	if (c->method == M_TREE) {
		for (size_t k = 0; k < sc->tree.leaves[c->leaf].nconds; k++)
			out[k] = &sc->tree.leaves[c->leaf].conds[k];
		return sc->tree.leaves[c->leaf].nconds;
	}
	for (int k = 0; k < c->nc; k++)
		out[k] = &sc->conds[c->c[k]];
	return (size_t)c->nc;
}

/* Conditions ordered by column so the same slice always reads the same. */
static char *cand_text(const struct rc_data *d, const struct split_ctx *sc, const struct cand *c)
{
	const struct slice_cond *p[64];
	size_t n = cand_conds(sc, c, p);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && p[j - 1]->col > p[j]->col; j--) {
			const struct slice_cond *t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
	struct strbuf sb;
	sb_init(&sb);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(&sb, " and ");
		slicecond_text(d, p[i], &sb);
	}
	if (!n)
		sb_puts(&sb, "all rows");
	return sb_detach(&sb);
}

/* Rows of train inside the slice (for "collect more rows like this"). */
static size_t train_rows(const struct rc_data *d, const struct split_ctx *sc, const struct cand *c)
{
	const struct slice_cond *p[64];
	size_t n = cand_conds(sc, c, p);
	struct slice_cond conds[64];
	for (size_t i = 0; i < n; i++)
		conds[i] = *p[i];
	return slicecond_count(d, conds, n, 0);
}

/* ---- the run ---- */

struct listed {
	struct cand c;
	char *text;
	double expected;     /* errors the model's own confidence predicts in the slice (NAN without probabilities) */
	double expected_var; /* their variance: a sum of Bernoulli(1 - confidence), Poisson-binomial */
	double share;        /* of the split's errors */
	size_t train_rows;
	char id[32];
};

static double expected_errors(const struct rc_data *d, const struct split_ctx *sc, const uint64_t *bits, double *var)
{
	const struct rc_split *sp = &d->splits[sc->s];
	*var = NAN;
	if (!sp->proba)
		return NAN;
	double e = 0, v = 0;
	size_t k = (size_t)d->k;
	for (size_t wi = 0; wi < sc->words; wi++)
		for (uint64_t x = bits[wi]; x; x &= x - 1) {
			size_t r = wi * 64 + (size_t)__builtin_ctzll(x), i = sc->ridx[r];
			double pe = 1 - sp->proba[i * k + (size_t)sp->pred[i]];
			e += pe;
			v += pe * (1 - pe);
		}
	*var = v;
	return e;
}

/* Severity: how much worse than the rest (the lower 95% bound of the ratio,
 * so a small slice needs a larger effect), and with probabilities how much
 * worse than the model itself expects there: a slice the model knows is hard
 * (rows near its decision boundary) errs about as often as its confidence
 * says; a slice where it is confidently wrong does not. The z bars are high
 * because the slice was chosen as the worst of thousands: on data without a
 * defect the best slice's z reaches 3 to 4 by selection alone. High also
 * needs the slice to hold 5% of the split's errors. */
static enum severity slice_severity(const struct listed *l)
{
	double lo_ratio = l->c.score;
	if (!isnan(l->expected) && l->expected > 0) {
		double over = (double)l->c.errs / l->expected;
		double z = l->expected_var > 0 ? ((double)l->c.errs - l->expected) / sqrt(l->expected_var) : 0;
		if (lo_ratio >= 2 && over >= 2 && z >= 6 && l->share >= 0.05)
			return SEV_HIGH;
		if (lo_ratio >= 1.5 && over >= 1.5 && z >= 4.5)
			return SEV_MEDIUM;
		return SEV_LOW;
	}
	double z = stats_norm_quantile(1 - l->c.p / 2);
	if (lo_ratio >= 3 && z >= 6 && l->share >= 0.05)
		return SEV_HIGH;
	return lo_ratio >= 2 && z >= 4.5 ? SEV_MEDIUM : SEV_LOW;
}

static void csv_row(struct strbuf *csv, const struct rc_data *d, const struct split_ctx *sc, const struct cand *c,
		    const char *text, int rank, double expected, long long trows, const char *id)
{
	double lo, hi;
	stats_wilson(c->errs, c->rows, STATS_Z95, &lo, &hi);
	rc_csv_str(csv, d->splits[sc->s].name);
	sb_putc(csv, ',');
	if (rank > 0)
		sb_printf(csv, "%d", rank);
	sb_printf(csv, ",%s,", c->method == M_TREE ? "tree" : "search");
	rc_csv_str(csv, text);
	sb_printf(csv, ",%zu,", c->rows);
	rc_csv_num(csv, (double)c->rows / (double)sc->m);
	sb_printf(csv, ",%zu,", c->errs);
	rc_csv_num(csv, c->rate);
	sb_putc(csv, ',');
	rc_csv_num(csv, lo);
	sb_putc(csv, ',');
	rc_csv_num(csv, hi);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->rest);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->ratio);
	sb_putc(csv, ',');
	rc_csv_num(csv, sc->nerr ? (double)c->errs / (double)sc->nerr : NAN);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->p);
	sb_putc(csv, ',');
	rc_csv_num(csv, c->q);
	sb_putc(csv, ',');
	rc_csv_num(csv, expected / (double)c->rows);
	sb_putc(csv, ',');
	if (trows >= 0)
		sb_printf(csv, "%lld", trows);
	sb_printf(csv, ",%d,%s\n", rank > 0, id ? id : "");
}

static json_t *listed_json(const struct rc_data *d, const struct split_ctx *sc, const struct listed *l, int rank,
			   enum severity sev)
{
	const struct cand *c = &l->c;
	double lo, hi, rlo, rhi;
	stats_wilson(c->errs, c->rows, STATS_Z95, &lo, &hi);
	stats_wilson(sc->nerr - c->errs, sc->m - c->rows, STATS_Z95, &rlo, &rhi);
	size_t ntrain = d->splits[0].nrows;
	json_t *e = json_object();
	json_object_set_new(e, "rank", json_integer(rank));
	json_object_set_new(e, "split", json_string(d->splits[sc->s].name));
	json_object_set_new(e, "slice", json_string(l->text));
	json_object_set_new(e, "method", json_string(c->method == M_TREE ? "error tree leaf" : "conjunction search"));
	json_object_set_new(e, "conditions", json_integer(c->method == M_TREE ? (json_int_t)sc->tree.leaves[c->leaf].nconds
									       : c->nc));
	json_object_set_new(e, "rows", json_integer((json_int_t)c->rows));
	json_object_set_new(e, "support", json_num_or_null((double)c->rows / (double)sc->m));
	json_object_set_new(e, "errors", json_integer((json_int_t)c->errs));
	json_object_set_new(e, "error_rate", estimate_json(c->rate, lo, hi, (long long)c->rows, NULL));
	json_object_set_new(e, "rest_error_rate", estimate_json(c->rest, rlo, rhi, (long long)(sc->m - c->rows), NULL));
	json_object_set_new(e, "ratio", json_num_or_null(c->ratio));
	json_object_set_new(e, "ratio_lower_bound", json_num_or_null(c->score));
	json_object_set_new(e, "share_of_errors", json_num_or_null(sc->nerr ? (double)c->errs / (double)sc->nerr : NAN));
	json_object_set_new(e, "p_value", json_num_or_null(c->p));
	json_object_set_new(e, "q_value", json_num_or_null(c->q));
	if (!isnan(l->expected)) {
		json_object_set_new(e, "expected_error_rate", json_num_or_null(l->expected / (double)c->rows));
		json_object_set_new(e, "errors_over_expected", json_num_or_null(l->expected > 0 ? (double)c->errs / l->expected : NAN));
		json_object_set_new(e, "errors_over_expected_z", json_num_or_null(l->expected_var > 0
			? ((double)c->errs - l->expected) / sqrt(l->expected_var) : NAN));
	}
	json_object_set_new(e, "train_rows", json_integer((json_int_t)l->train_rows));
	json_object_set_new(e, "train_share", json_num_or_null(ntrain ? (double)l->train_rows / (double)ntrain : NAN));
	json_object_set_new(e, "split_rows", json_integer((json_int_t)sc->m));
	json_object_set_new(e, "split_share", json_num_or_null((double)c->rows / (double)sc->m));
	json_object_set_new(e, "severity", json_string(severity_name(sev)));
	return e;
}

static void split_free(struct split_ctx *sc)
{
	for (size_t i = 0; i < sc->nconds; i++) {
		slicecond_free(&sc->conds[i]);
		free(sc->cbits[i]);
	}
	free(sc->conds);
	free(sc->cbits);
	free(sc->crows);
	free(sc->cerrs);
	free(sc->ridx);
	free(sc->err);
	free(sc->ebits);
	errtree_free(&sc->tree);
}

int slices_run(struct rc_data *d, json_t *findings, struct strbuf *csv, json_t *analysis)
{
	json_t *out = json_object();
	sb_puts(csv, "split,rank,method,slice,rows,support,errors,error_rate,ci_low,ci_high,rest_error_rate,ratio,"
		     "share_of_errors,p,q,expected_error_rate,train_rows,listed,finding_id\n");
	json_object_set_new(out, "method", json_string(
		"error tree: CART (Gini) on whether the model erred, depth <= 3, leaves >= max(30, 1% of rows), numeric "
		"columns in 32 quantile bins, categorical in their 31 most frequent levels. search: conjunctions of up to 3 "
		"conditions (5 quantile bins per numeric column, the 10 most frequent levels, missing), pairs exhaustive, "
		"triples from the best 32 pairs; each condition must raise the error rate over the rest of its parent "
		"(p < 0.001, >= 1.15x). Each slice against the rest of its split: two-proportion z test, Benjamini-Hochberg "
		"over every slice of the run; listed: q < 0.05, ratio >= 1.25, ranked by the lower 95% Wilson bound of the "
		"slice's error rate over the rest's rate, dropping slices that share half their rows with a better one; "
		"at most 10 per split, the best 5 as findings. Severity with probabilities: high when the ratio's lower 95% "
		"bound is >= 2 and errors are >= 2x what the model's confidence predicts (Poisson-binomial z >= 6) and the slice "
		"holds >= 5% of the errors; medium when >= 1.5 and >= 1.5x (z >= 4.5). Without probabilities: lower bound >= 3, "
		"z of the slice-vs-rest test >= 6 and 5% of errors high; >= 2 and z >= 4.5 medium."));
	if (!d->model_mode) {
		json_object_set_new(out, "note", json_string("data mode: no model outputs, so no errors to slice"));
		json_object_set_new(analysis, "slices", out);
		return 0;
	}
	size_t nsc = 0;
	struct split_ctx *scs = xcalloc(d->nsplits, sizeof *scs);
	struct cands all = {0};
	json_t *trees = json_object();
	for (size_t s = 1; s < d->nsplits; s++) {
		const struct rc_split *sp = &d->splits[s];
		if (!sp->err || sp->n_eval < 2 * SLICES_MIN_ROWS || sp->n_err == 0)
			continue;
		struct split_ctx *sc = &scs[nsc];
		sc->s = s;
		sc->m = sp->n_eval;
		sc->ridx = xmalloc(sc->m * sizeof *sc->ridx);
		sc->err = xmalloc(sc->m);
		sc->words = bits_words(sc->m);
		sc->ebits = xcalloc(sc->words, sizeof *sc->ebits);
		size_t r = 0;
		for (size_t i = 0; i < sp->nrows; i++)
			if (sp->err[i] >= 0) {
				sc->ridx[r] = i;
				sc->err[r] = (uint8_t)sp->err[i];
				if (sp->err[i])
					set_bit(sc->ebits, r);
				r++;
			}
		sc->nerr = sp->n_err;
		sc->minsup = (size_t)ceil(SLICES_MIN_SHARE * (double)sc->m);
		if (sc->minsup < SLICES_MIN_ROWS)
			sc->minsup = SLICES_MIN_ROWS;
		/* the tree */
		errtree_fit(d, s, sc->ridx, sc->err, sc->m, sc->minsup, SLICES_TREE_DEPTH, &sc->tree);
		json_object_set_new(trees, sp->name, json_incref(sc->tree.nodes));
		for (size_t l = 0; l < sc->tree.nleaves; l++) {
			struct cand c = {.sc = nsc, .method = M_TREE, .leaf = l, .nc = 0, .c = {-1, -1, -1}};
			const struct errtree_leaf *lf = &sc->tree.leaves[l];
			if (lf->nconds && leaf_conditions_matter(d, sc, lf) && score(sc, lf->rows, lf->errs, &c, &all))
				cands_push(&all, &c);
		}
		/* the search */
		for (size_t j = 0; j < d->ncols; j++)
			if (d->cols[j].fidx[s] >= 0)
				column_conditions(d, sc, j);
		search(sc, nsc, &all);
		nsc++;
	}
	/* One family: every slice compared with its rest in the run. Slices that
	 * did not become candidates enter with p = 1, which can only raise the
	 * others' q-values (their true p-values would rank no later). */
	size_t fam = all.tested > all.n ? all.tested : all.n;
	double *p = xmalloc((fam ? fam : 1) * sizeof *p), *q = xmalloc((fam ? fam : 1) * sizeof *q);
	for (size_t i = 0; i < fam; i++)
		p[i] = i < all.n ? all.v[i].p : 1.0;
	stats_bh(p, fam, q);
	for (size_t i = 0; i < all.n; i++)
		all.v[i].q = q[i];
	free(p);
	free(q);
	if (all.n)
		qsort(all.v, all.n, sizeof *all.v, cand_score_desc);

	json_t *listed_out = json_array();
	for (size_t k = 0; k < nsc; k++) {
		struct split_ctx *sc = &scs[k];
		const char *split = d->splits[sc->s].name;
		struct listed list[SLICES_LISTED];
		uint64_t *kept_bits[SLICES_LISTED];
		size_t nl = 0, extra = 0;
		uint64_t *bits = xmalloc(sc->words * sizeof *bits);
		for (size_t i = 0; i < all.n && nl < SLICES_LISTED; i++) {
			const struct cand *c = &all.v[i];
			if (c->sc != k || !(c->q < SLICES_Q) || c->ratio < SLICES_MIN_RATIO)
				continue;
			cand_bits(sc, c, bits);
			int overlaps = 0;
			for (size_t j = 0; j < nl && !overlaps; j++) {
				size_t inter = bits_and_count(bits, kept_bits[j], sc->words);
				size_t small = c->rows < list[j].c.rows ? c->rows : list[j].c.rows;
				overlaps = (double)inter >= OVERLAP * (double)small;
			}
			if (overlaps) {
				/* a near-duplicate of a listed slice: still worth a line in the table */
				if (extra < CSV_EXTRA) {
					char *t = cand_text(d, sc, c);
					csv_row(csv, d, sc, c, t, 0, NAN, -1, NULL);
					free(t);
					extra++;
				}
				continue;
			}
			struct listed *l = &list[nl];
			l->c = *c;
			l->text = cand_text(d, sc, c);
			l->expected = expected_errors(d, sc, bits, &l->expected_var);
			l->share = sc->nerr ? (double)c->errs / (double)sc->nerr : 0;
			l->train_rows = train_rows(d, sc, c);
			kept_bits[nl] = bits;
			bits = xmalloc(sc->words * sizeof *bits);
			nl++;
		}
		free(bits);
		for (size_t i = 0; i < nl; i++) {
			struct listed *l = &list[i];
			enum severity sev = slice_severity(l);
			json_t *e = listed_json(d, sc, l, (int)i + 1, sev);
			l->id[0] = 0;
			if (i < SLICES_FINDINGS) {
				double share = sc->nerr ? (double)l->c.errs / (double)sc->nerr : 0;
				char *title = xasprintf("In %s the model errs on %.1f%% of rows where %s (%zu rows), %.1fx the "
							"%.1f%% of the rest; the slice holds %.0f%% of the split's errors.",
							split, 100 * l->c.rate, l->text, l->c.rows, l->c.ratio, 100 * l->c.rest,
							100 * share);
				json_t *ev = json_deep_copy(e);
				json_object_del(ev, "severity");
				json_object_del(ev, "slice");
				json_object_del(ev, "split");
				json_object_set_new(ev, "tests_in_family", json_integer((json_int_t)fam));
				json_t *f = finding_new("error_slice", 2, sev, title,
							subject_new(split, NULL, NULL, l->text, (long long)l->c.rows), ev);
				snprintf(l->id, sizeof l->id, "%s", json_string_value(json_object_get(f, "id")));
				json_object_set_new(e, "finding", json_string(l->id));
				json_array_append_new(findings, f);
				free(title);
			}
			json_array_append_new(listed_out, e);
			csv_row(csv, d, sc, &l->c, l->text, (int)i + 1, l->expected, (long long)l->train_rows,
				l->id[0] ? l->id : NULL);
			free(l->text);
			free(kept_bits[i]);
		}
		/* every other tree leaf, so the table shows the whole tree's outcome */
		for (size_t i = 0; i < sc->tree.nleaves; i++) {
			const struct errtree_leaf *lf = &sc->tree.leaves[i];
			int is_listed = 0;
			for (size_t j = 0; j < nl; j++)
				is_listed |= list[j].c.method == M_TREE && list[j].c.leaf == i;
			if (is_listed)
				continue;
			struct cand c = {.sc = k, .method = M_TREE, .leaf = i, .rows = lf->rows, .errs = lf->errs};
			c.rate = lf->rows ? (double)lf->errs / (double)lf->rows : NAN;
			c.rest = sc->m > lf->rows ? (double)(sc->nerr - lf->errs) / (double)(sc->m - lf->rows) : NAN;
			c.ratio = c.rest > 0 ? c.rate / c.rest : NAN;
			c.p = c.q = NAN;
			for (size_t j = 0; j < all.n; j++)
				if (all.v[j].sc == k && all.v[j].method == M_TREE && all.v[j].leaf == i) {
					c.p = all.v[j].p;
					c.q = all.v[j].q;
				}
			char *t = cand_text(d, sc, &c);
			csv_row(csv, d, sc, &c, t, 0, NAN, -1, NULL);
			free(t);
		}
	}
	json_object_set_new(out, "tests", json_integer((json_int_t)fam));
	json_object_set_new(out, "listed", listed_out);
	json_object_set_new(out, "trees", trees);
	json_object_set_new(analysis, "slices", out);
	for (size_t k = 0; k < nsc; k++)
		split_free(&scs[k]);
	free(scs);
	free(all.v);
	return 0;
}
