/* features.c - the probes' feature encoding (see features.h). */
#include "stages/probes/features.h"

#include "pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How one source column is encoded: where its outputs start and what they need. */
struct feat_source {
	char *name;
	int categorical;
	size_t first;         /* first output column */
	double mean, sd;      /* numeric */
	long missing_col;     /* output index of the missing indicator, or -1 */
	char **levels;        /* categorical: kept levels, most frequent first */
	size_t n_levels;      /* their outputs are first .. first + n_levels - 1 */
	long other_col;       /* output index of "(other)", or -1 */
};

struct feat_encoding {
	struct feat_source *src;
	size_t n_src;
	struct feat_column *cols;
	size_t n_cols, cap_cols;
};

const char *feat_kind_name(enum feat_kind k)
{
	static const char *const names[] = {"numeric", "missing", "level", "other"};
	return (unsigned)k <= FEAT_OTHER ? names[k] : "?";
}

static struct feat_column *add_column(struct feat_encoding *e, const char *source, enum feat_kind kind, char *name)
{
	if (e->n_cols == e->cap_cols) {
		e->cap_cols = e->cap_cols ? 2 * e->cap_cols : 16;
		e->cols = xrealloc(e->cols, e->cap_cols * sizeof *e->cols);
	}
	struct feat_column *c = &e->cols[e->n_cols++];
	memset(c, 0, sizeof *c);
	c->name = name;
	c->source = xstrdup(source);
	c->kind = kind;
	return c;
}

/* Level order: most frequent first, ties by text, so the encoding does not
 * depend on the order rows arrive in. */
struct level_count {
	const char *text;
	size_t count;
};

static int cmp_level(const void *a, const void *b)
{
	const struct level_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

static void fit_numeric(struct feat_encoding *e, struct feat_source *s, const struct frame_column *c, size_t n)
{
	double sum = 0, sq = 0;
	size_t present = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(c->num[i])) {
			sum += c->num[i];
			present++;
		}
	s->mean = present ? sum / (double)present : 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(c->num[i]))
			sq += (c->num[i] - s->mean) * (c->num[i] - s->mean);
	s->sd = present ? sqrt(sq / (double)present) : 1;
	if (!(s->sd > 1e-12) || !isfinite(s->sd))
		s->sd = 1;   /* a constant column encodes as 0 */
	struct feat_column *col = add_column(e, c->name, FEAT_NUMERIC, xstrdup(c->name));
	col->mean = s->mean;
	col->sd = s->sd;
	col->train_count = present;
	if (present < n) {
		s->missing_col = (long)e->n_cols;
		add_column(e, c->name, FEAT_MISSING, xasprintf("%s (missing)", c->name))->train_count = n - present;
	}
}

static void fit_categorical(struct feat_encoding *e, struct feat_source *s, const struct frame_column *c, size_t n)
{
	size_t *count = xcalloc(c->nlevels + 1, sizeof *count), missing = 0;
	for (size_t i = 0; i < n; i++) {
		if (c->code[i] < 0)
			missing++;
		else
			count[c->code[i]]++;
	}
	struct level_count *lv = xmalloc((c->nlevels + 1) * sizeof *lv);
	size_t nl = 0;
	for (size_t k = 0; k < c->nlevels; k++)
		if (count[k] > 0)
			lv[nl++] = (struct level_count){c->levels[k], count[k]};
	qsort(lv, nl, sizeof *lv, cmp_level);
	size_t pooled = 0;
	s->levels = xmalloc((nl + 1) * sizeof *s->levels);
	for (size_t k = 0; k < nl; k++) {
		if (s->n_levels < FEAT_MAX_LEVELS && (double)lv[k].count >= FEAT_MIN_SHARE * (double)n) {
			s->levels[s->n_levels++] = xstrdup(lv[k].text);
			struct feat_column *col =
				add_column(e, c->name, FEAT_LEVEL, xasprintf("%s=%s", c->name, lv[k].text));
			col->level = xstrdup(lv[k].text);
			col->train_count = lv[k].count;
		} else {
			pooled += lv[k].count;
		}
	}
	if (pooled > 0) {
		s->other_col = (long)e->n_cols;
		add_column(e, c->name, FEAT_OTHER, xasprintf("%s=(other)", c->name))->train_count = pooled;
	}
	if (missing > 0) {
		s->missing_col = (long)e->n_cols;
		add_column(e, c->name, FEAT_MISSING, xasprintf("%s (missing)", c->name))->train_count = missing;
	}
	free(lv);
	free(count);
}

struct feat_encoding *feat_fit(const struct frame *train)
{
	if (train->nrows == 0)
		return ERR_INPUT("%s: no rows to fit the probes' feature encoding on", train->source), NULL;
	struct feat_encoding *e = xcalloc(1, sizeof *e);
	e->src = xcalloc(train->ncols, sizeof *e->src);
	for (size_t j = 0; j < train->ncols; j++) {
		const struct frame_column *c = &train->cols[j];
		if (c->role != ROLE_FEATURE)
			continue;
		struct feat_source *s = &e->src[e->n_src++];
		s->name = xstrdup(c->name);
		s->categorical = c->type == COL_CATEGORICAL;
		s->first = e->n_cols;
		s->missing_col = s->other_col = -1;
		if (s->categorical)
			fit_categorical(e, s, c, train->nrows);
		else
			fit_numeric(e, s, c, train->nrows);
	}
	if (e->n_cols == 0) {
		feat_free(e);
		return ERR_INPUT("%s: no feature columns for the probes (every column has another role)",
				 train->source), NULL;
	}
	return e;
}

size_t feat_width(const struct feat_encoding *e) { return e->n_cols; }

const struct feat_column *feat_column_at(const struct feat_encoding *e, size_t i)
{
	return i < e->n_cols ? &e->cols[i] : NULL;
}

float *feat_transform(const struct feat_encoding *e, const struct frame *f)
{
	size_t n = f->nrows, W = e->n_cols;
	float *out = xcalloc(n * W > 0 ? n * W : 1, sizeof *out);
	for (size_t s_i = 0; s_i < e->n_src; s_i++) {
		const struct feat_source *s = &e->src[s_i];
		int j = frame_find(f, s->name);
		if (j < 0) {
			free(out);
			return ERR_INPUT("%s: column '%s' (a feature in train) is missing from split %s", f->source,
					 s->name, f->split), NULL;
		}
		const struct frame_column *c = &f->cols[j];
		if ((c->type == COL_CATEGORICAL) != s->categorical) {
			free(out);
			return ERR_INPUT("%s: column '%s' is %s in split %s but was %s in train", f->source, s->name,
					 col_type_name(c->type), f->split, s->categorical ? "categorical" : "numeric"),
			       NULL;
		}
		if (!s->categorical) {
			for (size_t i = 0; i < n; i++) {
				double v = c->num[i];
				float *row = out + i * W;
				if (isnan(v)) {
					row[s->first] = 0;   /* the train mean, standardised */
					if (s->missing_col >= 0)
						row[s->missing_col] = 1;
				} else {
					row[s->first] = (float)((v - s->mean) / s->sd);
				}
			}
			continue;
		}
		/* this frame's codes -> output column (-1: none) */
		long *map = xmalloc((c->nlevels + 1) * sizeof *map);
		for (size_t k = 0; k < c->nlevels; k++) {
			map[k] = s->other_col;
			for (size_t l = 0; l < s->n_levels; l++)
				if (!strcmp(c->levels[k], s->levels[l])) {
					map[k] = (long)(s->first + l);
					break;
				}
		}
		for (size_t i = 0; i < n; i++) {
			int32_t code = c->code[i];
			long col = code < 0 ? s->missing_col : map[code];
			if (col >= 0)
				out[i * W + (size_t)col] = 1;
		}
		free(map);
	}
	return out;
}

size_t feat_mask_without(const struct feat_encoding *e, const char *source, uint8_t *mask)
{
	size_t dropped = 0;
	for (size_t i = 0; i < e->n_cols; i++) {
		int drop = !strcmp(e->cols[i].source, source);
		mask[i] = !drop;
		dropped += (size_t)drop;
	}
	return dropped;
}

void feat_free(struct feat_encoding *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_src; i++) {
		free(e->src[i].name);
		for (size_t l = 0; l < e->src[i].n_levels; l++)
			free(e->src[i].levels[l]);
		free(e->src[i].levels);
	}
	for (size_t i = 0; i < e->n_cols; i++) {
		free(e->cols[i].name);
		free(e->cols[i].source);
		free(e->cols[i].level);
	}
	free(e->src);
	free(e->cols);
	free(e);
}
