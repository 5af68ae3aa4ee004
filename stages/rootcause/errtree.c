/* errtree.c - a depth-limited CART on binned columns, target "the model
 * erred". The method is described in errtree.h. */
#include "errtree.h"
#include "rcstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/util.h"

#define MAX_CODES (ERRTREE_BINS + 2)   /* bins or levels + other + missing */

/* A column as small codes per evaluated row. */
struct tcol {
	size_t col;
	int numeric;
	size_t nvalue;          /* codes 0..nvalue-1 are values (bins, or levels then "other"); nvalue is missing */
	double edges[ERRTREE_BINS];
	size_t nedges;          /* numeric: bin b is [edges[b-1], edges[b]) */
	int32_t lev[ERRTREE_LEVELS + 1];   /* categorical: code -> unified level, -1 for other */
	int has_other;
	uint8_t *code;
};

struct tctx {
	struct rc_data *d;
	size_t s, m, minleaf;
	int maxdepth;
	const uint8_t *err;
	struct tcol *cols;
	size_t ncols;
	struct errtree *out;
	int next_id;
	size_t words;
};

struct count_level { size_t rows; int32_t level; };

static int cl_desc(const void *x, const void *y)
{
	const struct count_level *a = x, *b = y;
	if (a->rows != b->rows)
		return a->rows < b->rows ? 1 : -1;
	return a->level - b->level;
}

static void encode(struct tctx *t, struct tcol *tc, const size_t *ridx)
{
	struct rc_data *d = t->d;
	const struct rc_column *c = &d->cols[tc->col];
	tc->code = xmalloc(t->m ? t->m : 1);
	if (c->numeric) {
		size_t n;
		const double *v = rcdata_sorted(d, tc->col, t->s, &n);
		size_t ne = rcstats_quantile_edges(v, n, ERRTREE_BINS, tc->edges);
		/* three significant digits: readable cut points; rounding may merge neighbours */
		tc->nedges = 0;
		for (size_t i = 0; i < ne; i++) {
			double e = slicecond_round(tc->edges[i], 3);
			if (e > v[0] && (tc->nedges == 0 || e > tc->edges[tc->nedges - 1]))
				tc->edges[tc->nedges++] = e;
		}
		tc->nvalue = tc->nedges + 1;
		for (size_t r = 0; r < t->m; r++) {
			double x = rcdata_num(d, c, t->s, ridx[r]);
			tc->code[r] = (uint8_t)(isnan(x) ? tc->nvalue : rcstats_bin(tc->edges, tc->nedges, x));
		}
		return;
	}
	/* the most frequent levels keep their own code */
	size_t *cnt = xcalloc(c->nlevels + 1, sizeof *cnt);
	for (size_t r = 0; r < t->m; r++) {
		int32_t l = rcdata_level(d, c, t->s, ridx[r]);
		if (l >= 0)
			cnt[l]++;
	}
	struct count_level *cl = xmalloc((c->nlevels + 1) * sizeof *cl);
	size_t k = 0;
	for (size_t l = 0; l < c->nlevels; l++)
		if (cnt[l])
			cl[k++] = (struct count_level){cnt[l], (int32_t)l};
	qsort(cl, k, sizeof *cl, cl_desc);
	size_t top = k < ERRTREE_LEVELS ? k : ERRTREE_LEVELS;
	int32_t *code_of = xmalloc((c->nlevels + 1) * sizeof *code_of);
	for (size_t l = 0; l < c->nlevels; l++)
		code_of[l] = (int32_t)top;   /* other */
	for (size_t i = 0; i < top; i++) {
		code_of[cl[i].level] = (int32_t)i;
		tc->lev[i] = cl[i].level;
	}
	tc->has_other = k > top;
	tc->lev[top] = -1;
	tc->nvalue = top + (size_t)tc->has_other;
	for (size_t r = 0; r < t->m; r++) {
		int32_t l = rcdata_level(d, c, t->s, ridx[r]);
		tc->code[r] = (uint8_t)(l < 0 ? tc->nvalue : (size_t)code_of[l]);
	}
	free(code_of);
	free(cl);
	free(cnt);
}

/* n times the Gini impurity of a node with e errors: 2 e (n - e) / n. */
static double gini(double n, double e)
{
	return n > 0 ? 2 * e * (n - e) / n : 0;
}

struct split {
	double gain;
	size_t tc;
	int numeric;
	size_t thr;                 /* numeric: left = bins < thr (thr = 0: left = missing only) */
	int missing_left;
	uint64_t left_codes;        /* categorical: bit per code on the left */
};

/* Best split of one column at a node from its code histogram. */
static void best_for_column(const struct tctx *t, size_t ci, const size_t *hr, const size_t *he, double n, double e,
			    struct split *best)
{
	const struct tcol *tc = &t->cols[ci];
	double parent = gini(n, e);
	double mr = (double)hr[tc->nvalue], me = (double)he[tc->nvalue];
	double minleaf = (double)t->minleaf;
	if (tc->numeric) {
		/* missing alone against the rest */
		if (mr >= minleaf && n - mr >= minleaf) {
			double g = parent - gini(mr, me) - gini(n - mr, e - me);
			if (g > best->gain)
				*best = (struct split){g, ci, 1, 0, 1, 0};
		}
		double lr = 0, le = 0;
		for (size_t b = 1; b < tc->nvalue; b++) {
			lr += (double)hr[b - 1];
			le += (double)he[b - 1];
			for (int ml = 0; ml < 2; ml++) {
				if (ml && mr == 0)
					break;
				double L = lr + (ml ? mr : 0), Le = le + (ml ? me : 0);
				if (L < minleaf || n - L < minleaf)
					continue;
				double g = parent - gini(L, Le) - gini(n - L, e - Le);
				if (g > best->gain)
					*best = (struct split){g, ci, 1, b, ml, 0};
			}
		}
		return;
	}
	/* categorical: codes ordered by error rate; the best split is a prefix */
	size_t order[MAX_CODES], k = 0;
	for (size_t c = 0; c <= tc->nvalue; c++)
		if (hr[c])
			order[k++] = c;
	for (size_t i = 1; i < k; i++) {   /* insertion sort by rate, k <= 34 */
		size_t x = order[i], j = i;
		double rx = (double)he[x] / (double)hr[x];
		while (j > 0 && (double)he[order[j - 1]] / (double)hr[order[j - 1]] > rx) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	double lr = 0, le = 0;
	uint64_t set = 0;
	for (size_t i = 0; i + 1 < k; i++) {
		lr += (double)hr[order[i]];
		le += (double)he[order[i]];
		set |= 1ull << order[i];
		if (lr < minleaf || n - lr < minleaf)
			continue;
		double g = parent - gini(lr, le) - gini(n - lr, e - le);
		if (g > best->gain)
			*best = (struct split){g, ci, 0, 0, 0, set};
	}
}

/* The condition for one side of a split. */
static struct slice_cond side_condition(const struct tctx *t, const struct split *sp, int left, int has_missing)
{
	const struct tcol *tc = &t->cols[sp->tc];
	struct slice_cond c = {.col = tc->col, .lo = -INFINITY, .hi = INFINITY};
	if (sp->numeric) {
		if (sp->thr == 0) {   /* missing vs present */
			c.kind = left ? COND_MISSING : COND_RANGE;
			return c;
		}
		c.kind = COND_RANGE;
		if (left)
			c.hi = tc->edges[sp->thr - 1];
		else
			c.lo = tc->edges[sp->thr - 1];
		c.or_missing = has_missing && (left ? sp->missing_left : !sp->missing_left);
		return c;
	}
	uint64_t set = left ? sp->left_codes : ~sp->left_codes;
	int miss = has_missing && (set >> tc->nvalue & 1);
	int other = tc->has_other && (set >> (tc->nvalue - 1) & 1);
	size_t ntop = tc->nvalue - (size_t)tc->has_other;
	c.kind = COND_LEVELS;
	c.levels = xmalloc((ntop + 1) * sizeof *c.levels);
	/* with "other" on this side, say which named levels are not: a complement reads better */
	c.negate = other;
	for (size_t code = 0; code < ntop; code++)
		if (((set >> code) & 1) != (uint64_t)other)
			c.levels[c.nlevels++] = tc->lev[code];
	if (!other && c.nlevels == 0) {
		free(c.levels);
		c.levels = NULL;
		c.kind = COND_MISSING;
		return c;
	}
	c.or_missing = miss;
	return c;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

static int has_level(const struct slice_cond *c, int32_t l)
{
	for (size_t k = 0; k < c->nlevels; k++)
		if (c->levels[k] == l)
			return 1;
	return 0;
}

/* Intersect b into a (same column), so a leaf's path names each column once. */
static void merge_into(struct slice_cond *a, const struct slice_cond *b)
{
	if (b->kind == COND_MISSING || a->kind == COND_MISSING) {
		/* a missing-only side intersected with anything allowing missing stays missing-only */
		if (a->kind != COND_MISSING) {
			slicecond_free(a);
			a->kind = COND_MISSING;
			a->or_missing = 0;
		}
		return;
	}
	a->or_missing = a->or_missing && b->or_missing;
	if (a->kind == COND_RANGE) {
		if (b->lo > a->lo)
			a->lo = b->lo;
		if (b->hi < a->hi)
			a->hi = b->hi;
		return;
	}
	if (!a->negate && !b->negate) {          /* in A and in B */
		size_t k = 0;
		for (size_t i = 0; i < a->nlevels; i++)
			if (has_level(b, a->levels[i]))
				a->levels[k++] = a->levels[i];
		a->nlevels = k;
	} else if (!a->negate && b->negate) {    /* in A, not in B */
		size_t k = 0;
		for (size_t i = 0; i < a->nlevels; i++)
			if (!has_level(b, a->levels[i]))
				a->levels[k++] = a->levels[i];
		a->nlevels = k;
	} else if (a->negate && !b->negate) {    /* in B, not in A */
		int32_t *lv = xmalloc((b->nlevels + 1) * sizeof *lv);
		size_t k = 0;
		for (size_t i = 0; i < b->nlevels; i++)
			if (!has_level(a, b->levels[i]))
				lv[k++] = b->levels[i];
		free(a->levels);
		a->levels = lv;
		a->nlevels = k;
		a->negate = 0;
	} else {                                 /* in neither */
		a->levels = xrealloc(a->levels, (a->nlevels + b->nlevels + 1) * sizeof *a->levels);
		for (size_t i = 0; i < b->nlevels; i++)
			if (!has_level(a, b->levels[i]))
				a->levels[a->nlevels++] = b->levels[i];
	}
	qsort(a->levels, a->nlevels, sizeof *a->levels, cmp_i32);
}

static void path_text(const struct rc_data *d, const struct slice_cond *p, size_t n, struct strbuf *sb)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(sb, " and ");
		slicecond_text(d, &p[i], sb);
	}
	if (n == 0)
		sb_puts(sb, "all rows");
}

static void grow(struct tctx *t, size_t *rows, size_t n, int depth, struct slice_cond *path, size_t npath,
		 int parent, const char *cond_text)
{
	size_t e = 0;
	for (size_t i = 0; i < n; i++)
		e += t->err[rows[i]];
	int id = t->next_id++;
	struct split best = {0};
	best.gain = 1e-9 * (double)n;   /* a split must lower impurity by more than rounding */
	int split_found = 0;
	if (depth < t->maxdepth && n >= 2 * t->minleaf && e > 0 && e < n) {
		size_t hr[MAX_CODES + 1], he[MAX_CODES + 1];
		for (size_t ci = 0; ci < t->ncols; ci++) {
			const struct tcol *tc = &t->cols[ci];
			memset(hr, 0, sizeof hr);
			memset(he, 0, sizeof he);
			for (size_t i = 0; i < n; i++) {
				uint8_t c = tc->code[rows[i]];
				hr[c]++;
				he[c] += t->err[rows[i]];
			}
			double before = best.gain;
			best_for_column(t, ci, hr, he, (double)n, (double)e, &best);
			split_found |= best.gain > before;
		}
	}
	json_t *node = json_object();
	json_object_set_new(node, "id", json_integer(id));
	json_object_set_new(node, "parent", parent < 0 ? json_null() : json_integer(parent));
	json_object_set_new(node, "depth", json_integer(depth));
	json_object_set_new(node, "condition", json_string(cond_text));
	json_object_set_new(node, "rows", json_integer((json_int_t)n));
	json_object_set_new(node, "errors", json_integer((json_int_t)e));
	json_object_set_new(node, "error_rate", json_num_or_null(n ? (double)e / (double)n : NAN));
	json_object_set_new(node, "leaf", json_boolean(!split_found));
	json_array_append_new(t->out->nodes, node);
	if (!split_found) {
		struct strbuf sb;
		sb_init(&sb);
		path_text(t->d, path, npath, &sb);
		json_object_set_new(node, "slice", json_string(sb.data));
		sb_free(&sb);
		struct errtree *o = t->out;
		o->leaves = xrealloc(o->leaves, (o->nleaves + 1) * sizeof *o->leaves);
		struct errtree_leaf *lf = &o->leaves[o->nleaves++];
		lf->nconds = npath;
		lf->conds = xmalloc((npath ? npath : 1) * sizeof *lf->conds);
		for (size_t i = 0; i < npath; i++)
			lf->conds[i] = slicecond_copy(&path[i]);
		lf->rows = n;
		lf->errs = e;
		lf->bits = xcalloc(t->words ? t->words : 1, sizeof *lf->bits);
		for (size_t i = 0; i < n; i++)
			lf->bits[rows[i] / 64] |= 1ull << (rows[i] % 64);
		return;
	}
	/* partition the rows in place: left first */
	const struct tcol *tc = &t->cols[best.tc];
	size_t nl = 0;
	int has_missing = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = tc->code[rows[i]];
		int is_missing = c == tc->nvalue;
		has_missing |= is_missing;
		int left;
		if (best.numeric)
			left = best.thr == 0 ? is_missing : is_missing ? best.missing_left : c < best.thr;
		else
			left = (int)(best.left_codes >> c & 1);
		if (left) {
			size_t tmp = rows[nl];
			rows[nl++] = rows[i];
			rows[i] = tmp;
		}
	}
	for (int side = 0; side < 2; side++) {
		struct slice_cond c = side_condition(t, &best, side == 0, has_missing);
		struct strbuf ct;
		sb_init(&ct);
		slicecond_text(t->d, &c, &ct);
		/* the child's path: the parent's, with this column merged or added */
		struct slice_cond *p = xmalloc((npath + 1) * sizeof *p);
		size_t np = 0;
		int merged = 0;
		for (size_t i = 0; i < npath; i++) {
			p[np] = slicecond_copy(&path[i]);
			if (p[np].col == c.col && !merged) {
				merge_into(&p[np], &c);
				merged = 1;
			}
			np++;
		}
		if (!merged)
			p[np++] = slicecond_copy(&c);
		if (side == 0)
			grow(t, rows, nl, depth + 1, p, np, id, ct.data);
		else
			grow(t, rows + nl, n - nl, depth + 1, p, np, id, ct.data);
		for (size_t i = 0; i < np; i++)
			slicecond_free(&p[i]);
		free(p);
		slicecond_free(&c);
		sb_free(&ct);
	}
}

int errtree_fit(struct rc_data *d, size_t s, const size_t *ridx, const uint8_t *err, size_t m, size_t minleaf,
		int maxdepth, struct errtree *out)
{
	memset(out, 0, sizeof *out);
	out->nodes = json_array();
	struct tctx t = {.d = d, .s = s, .m = m, .minleaf = minleaf ? minleaf : 1, .maxdepth = maxdepth,
			 .err = err, .out = out, .words = bits_words(m)};
	t.cols = xcalloc(d->ncols ? d->ncols : 1, sizeof *t.cols);
	for (size_t j = 0; j < d->ncols; j++) {
		if (d->cols[j].fidx[s] < 0)
			continue;
		struct tcol *tc = &t.cols[t.ncols++];
		tc->col = j;
		tc->numeric = d->cols[j].numeric;
		encode(&t, tc, ridx);
	}
	size_t *rows = xmalloc((m ? m : 1) * sizeof *rows);
	for (size_t r = 0; r < m; r++)
		rows[r] = r;
	grow(&t, rows, m, 0, NULL, 0, -1, "all rows");
	free(rows);
	for (size_t i = 0; i < t.ncols; i++)
		free(t.cols[i].code);
	free(t.cols);
	return 0;
}

void errtree_free(struct errtree *t)
{
	for (size_t i = 0; i < t->nleaves; i++) {
		for (size_t k = 0; k < t->leaves[i].nconds; k++)
			slicecond_free(&t->leaves[i].conds[k]);
		free(t->leaves[i].conds);
		free(t->leaves[i].bits);
	}
	free(t->leaves);
	json_decref(t->nodes);
	memset(t, 0, sizeof *t);
}
