/* probe_inputs.c - see probe_inputs.h. */
#include "probe_inputs.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A frame whose columns are train's features and segments (segments are
 * inputs a model may use too), all with the feature role. Columns are shallow
 * copies of the ingest frame's, except those built here (owned[]). */
struct pframe {
	struct frame f;
	void **owned;
	size_t nowned;
};

static void *own(struct pframe *p, void *ptr)
{
	p->owned = xrealloc(p->owned, (p->nowned + 1) * sizeof *p->owned);
	p->owned[p->nowned++] = ptr;
	return ptr;
}

static void pframe_free(struct pframe *p)
{
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->f.cols);
	memset(p, 0, sizeof *p);
}

int inputs_is_input(const struct frame_column *c)
{
	return c->role == ROLE_FEATURE || c->role == ROLE_SEGMENT;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A numeric column read as categorical (train had text, this split numbers):
 * levels are the distinct values printed, so they match train's levels when
 * the text was the same number, and count as unseen otherwise. */
static void numeric_as_levels(struct pframe *p, struct frame_column *out, const struct frame_column *in, size_t n)
{
	double *v = xmalloc((n ? n : 1) * sizeof *v);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(in->num[i]))
			v[m++] = in->num[i];
	qsort(v, m, sizeof *v, cmp_double);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || v[i] != v[u - 1])
			v[u++] = v[i];
	out->levels = own(p, xmalloc((u ? u : 1) * sizeof *out->levels));
	for (size_t l = 0; l < u; l++)
		out->levels[l] = own(p, xasprintf("%.15g", v[l]));
	out->nlevels = u;
	out->code = own(p, xmalloc((n ? n : 1) * sizeof *out->code));
	for (size_t i = 0; i < n; i++) {
		out->code[i] = -1;
		if (isnan(in->num[i]))
			continue;
		double *hit = bsearch(&in->num[i], v, u, sizeof *v, cmp_double);
		out->code[i] = hit ? (int32_t)(hit - v) : -1;
	}
	out->num = NULL;
	free(v);
}

/* A categorical column read as numeric: each level parsed as a number, text
 * that is not one reads as missing. */
static void levels_as_numeric(struct pframe *p, struct frame_column *out, const struct frame_column *in, size_t n)
{
	double *lv = xmalloc((in->nlevels + 1) * sizeof *lv);
	for (size_t l = 0; l < in->nlevels; l++) {
		char *end;
		lv[l] = strtod(in->levels[l], &end);
		if (end == in->levels[l] || *end || !isfinite(lv[l]))
			lv[l] = NAN;
	}
	out->num = own(p, xmalloc((n ? n : 1) * sizeof *out->num));
	for (size_t i = 0; i < n; i++)
		out->num[i] = in->code[i] >= 0 ? lv[in->code[i]] : NAN;
	out->code = NULL;
	out->levels = NULL;
	out->nlevels = 0;
	free(lv);
}

static void pframe_of(struct pframe *p, const struct frame *f, const struct frame *train)
{
	memset(p, 0, sizeof *p);
	p->f.split = f->split;
	p->f.source = f->source;
	p->f.nrows = f->nrows;
	p->f.cols = xcalloc(train->ncols ? train->ncols : 1, sizeof *p->f.cols);
	size_t n = f->nrows;
	for (size_t j = 0; j < train->ncols; j++) {
		const struct frame_column *tc = &train->cols[j];
		if (!inputs_is_input(tc))
			continue;
		struct frame_column *c = &p->f.cols[p->f.ncols++];
		int k = f == train ? (int)j : frame_find(f, tc->name);
		int want_cat = tc->type == COL_CATEGORICAL;
		if (k < 0) {   /* absent from this split: every value missing */
			memset(c, 0, sizeof *c);
			c->name = tc->name;
			c->type = tc->type;
			if (want_cat) {
				c->code = own(p, xmalloc((n ? n : 1) * sizeof *c->code));
				for (size_t i = 0; i < n; i++)
					c->code[i] = -1;
			} else {
				c->num = own(p, xmalloc((n ? n : 1) * sizeof *c->num));
				for (size_t i = 0; i < n; i++)
					c->num[i] = NAN;
			}
			c->n_missing = n;
		} else {
			const struct frame_column *fc = &f->cols[k];
			*c = *fc;
			int is_cat = fc->type == COL_CATEGORICAL;
			if (want_cat && !is_cat)
				numeric_as_levels(p, c, fc, n);
			else if (!want_cat && is_cat)
				levels_as_numeric(p, c, fc, n);
			c->type = tc->type;
		}
		c->role = ROLE_FEATURE;
	}
}

struct feat_encoding *inputs_fit(const struct frame *train)
{
	struct pframe p;
	pframe_of(&p, train, train);
	struct feat_encoding *e = feat_fit(&p.f);
	pframe_free(&p);
	return e;
}

float *inputs_encode(const struct feat_encoding *e, const struct frame *f, const struct frame *train)
{
	struct pframe p;
	pframe_of(&p, f, train);
	float *x = feat_transform(e, &p.f);
	pframe_free(&p);
	return x;
}
