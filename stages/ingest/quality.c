/* quality.c - the data profile of a frame.
 *
 * Exact statistics at ingest speed: the values of a numeric column are sorted
 * once with an LSD radix sort (linear time, a few ms per million values,
 * against about 100 ms for qsort), which gives min, max, distinct count and
 * every quantile; duplicate rows are found by hashing each row and sorting
 * the hashes the same way. */
#include "quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/util.h"
#include "../../pipeline/findings.h"

/* ---- radix sort of 64-bit keys ---- */

/* Sort keys[0..n) ascending; tmp has room for n keys. Six passes of 11 bits
 * (the counters of a pass fit in the L1 cache), all histograms counted in
 * one read; a pass where every key has the same digit is skipped (the
 * exponent bits of similar numbers, the high bits of small integers). */
static void radix_sort_u64(uint64_t *keys, uint64_t *tmp, size_t n)
{
	enum { BITS = 11, PASSES = 6, BUCKETS = 1 << BITS };
	const uint64_t mask = BUCKETS - 1;
	size_t (*hist)[BUCKETS] = xcalloc(PASSES, sizeof *hist);
	for (size_t i = 0; i < n; i++) {
		uint64_t k = keys[i];
		for (int b = 0; b < PASSES; b++)
			hist[b][(k >> (BITS * b)) & mask]++;
	}
	uint64_t *src = keys, *dst = tmp;
	for (int b = 0; b < PASSES; b++) {
		size_t *h = hist[b];
		unsigned shift = (unsigned)(BITS * b);
		if (n == 0 || h[(src[0] >> shift) & mask] == n)
			continue;
		size_t sum = 0;
		for (size_t v = 0; v < BUCKETS; v++) {
			size_t c = h[v];
			h[v] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[h[(src[i] >> shift) & mask]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof *keys);
	free(hist);
}

/* Doubles as keys whose unsigned order is the numeric order: flip all bits of
 * negatives, only the sign bit of the rest. */
static inline uint64_t key_of(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static inline double value_of(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
	double v;
	memcpy(&v, &u, 8);
	return v;
}

/* ---- JSON helpers ---- */

static json_t *jcount(size_t n)
{
	return json_integer((json_int_t)n);
}

/* Text as a JSON string. Frames hold UTF-8 (ingest repairs levels), but a
 * bad-cell excerpt is raw input: bytes that are not valid UTF-8 become '?'. */
static json_t *jtext(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}

/* ---- numeric columns ---- */

/* Quantile p of sorted x[0..n), linear between order statistics. */
static double quantile_sorted(const double *x, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n)
		return x[n - 1];
	double frac = h - (double)lo;
	return frac == 0 ? x[lo] : x[lo] + frac * (x[lo + 1] - x[lo]);
}

/* Scratch arrays of nrows keys, shared by every column: allocating them per
 * column would fault their pages in again each time. */
struct scratch {
	uint64_t *keys, *tmp;
};

/* Adds the numeric fields to col; returns the distinct count. */
static size_t profile_numeric(const struct frame_column *c, size_t nrows, json_t *col, struct scratch *sc)
{
	uint64_t *keys = sc->keys;
	size_t n = 0;
	for (size_t i = 0; i < nrows; i++)
		if (!isnan(c->num[i]))
			keys[n++] = key_of(c->num[i]);
	radix_sort_u64(keys, sc->tmp, n);
	/* decode in place: the same 8 bytes now hold the double */
	double *x = (double *)(void *)keys;
	for (size_t i = 0; i < n; i++) {
		double v = value_of(keys[i]);
		memcpy(&x[i], &v, 8);
	}

	size_t distinct = 0;
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || x[i] != x[i - 1];
	double mean = NAN, std = NAN;
	if (n > 0) {
		/* Neumaier's compensated sum: a million small values add up exactly
		 * enough that the mean does not depend on the row order */
		double sum = 0, comp = 0;
		for (size_t i = 0; i < n; i++) {
			double t = sum + x[i];
			comp += fabs(sum) >= fabs(x[i]) ? (sum - t) + x[i] : (x[i] - t) + sum;
			sum = t;
		}
		mean = (sum + comp) / (double)n;
	}
	if (n > 1) {
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (x[i] - mean) * (x[i] - mean);
		std = sqrt(ss / (double)(n - 1));
	}
	json_object_set_new(col, "min", n ? json_num_or_null(x[0]) : json_null());
	json_object_set_new(col, "max", n ? json_num_or_null(x[n - 1]) : json_null());
	json_object_set_new(col, "mean", json_num_or_null(mean));
	json_object_set_new(col, "std", json_num_or_null(std));
	static const struct { const char *key; double p; } qs[] = {
		{"p01", 0.01}, {"p05", 0.05}, {"p25", 0.25}, {"p50", 0.50},
		{"p75", 0.75}, {"p95", 0.95}, {"p99", 0.99}};
	json_t *q = json_object();
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++)
		json_object_set_new(q, qs[k].key, n ? json_num_or_null(quantile_sorted(x, n, qs[k].p)) : json_null());
	json_object_set_new(col, "quantiles", q);
	return distinct;
}

/* ---- categorical columns ---- */

/* Does level a rank before level b in the top list (more rows, then by text)? */
static int ranks_before(const struct frame_column *c, const size_t *count, size_t a, size_t b)
{
	if (count[a] != count[b])
		return count[a] > count[b];
	return strcmp(c->levels[a], c->levels[b]) < 0;
}

static size_t profile_categorical(const struct frame_column *c, size_t nrows, json_t *col)
{
	size_t *count = xcalloc(c->nlevels ? c->nlevels : 1, sizeof *count);
	for (size_t i = 0; i < nrows; i++)
		if (c->code[i] >= 0)
			count[c->code[i]]++;
	/* The 10 best by insertion into a short sorted list: an id column can
	 * have a million levels, and sorting them all would be wasted. */
	enum { TOP = 10 };
	size_t top[TOP], ntop = 0, distinct = 0;
	for (size_t l = 0; l < c->nlevels; l++) {
		if (!count[l])
			continue;
		distinct++;
		if (ntop == TOP && !ranks_before(c, count, l, top[TOP - 1]))
			continue;
		size_t pos = ntop < TOP ? ntop++ : TOP - 1;
		while (pos > 0 && ranks_before(c, count, l, top[pos - 1])) {
			top[pos] = top[pos - 1];
			pos--;
		}
		top[pos] = l;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < ntop; k++) {
		json_t *e = json_object();
		json_object_set_new(e, "value", jtext(c->levels[top[k]]));
		json_object_set_new(e, "count", jcount(count[top[k]]));
		json_array_append_new(arr, e);
	}
	json_object_set_new(col, "top", arr);
	free(count);
	return distinct;
}

/* ---- duplicate rows ---- */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 31);
}

/* Rows equal to an earlier row in every non-id column. Rows are compared by a
 * 64-bit hash of their cells: two different rows collide with probability
 * about n^2 / 2^65 (3e-8 for a million rows), negligible for a count. */
static size_t duplicate_rows(const struct frame *f, struct scratch *sc)
{
	size_t n = f->nrows, used = 0;
	if (n < 2)
		return 0;
	uint64_t *h = sc->keys;
	memset(h, 0, n * sizeof *h);
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role == ROLE_ID)
			continue;
		used++;
		for (size_t i = 0; i < n; i++) {
			uint64_t v;
			if (c->code) {
				v = (uint64_t)(int64_t)c->code[i];
			} else {
				double d = c->num[i];
				if (isnan(d))
					d = NAN;       /* one NaN pattern for every missing cell */
				else if (d == 0)
					d = 0;         /* -0 equals 0 */
				memcpy(&v, &d, 8);
			}
			h[i] = mix(h[i], v);
		}
	}
	size_t dups = 0;
	if (used) {
		radix_sort_u64(h, sc->tmp, n);
		for (size_t i = 1; i < n; i++)
			dups += h[i] == h[i - 1];
	}
	return dups;
}

/* ---- the profile ---- */

json_t *quality_profile(const struct frame *f)
{
	json_t *root = json_object();
	json_t *cols = json_array(), *constant = json_array();
	struct scratch sc = {xmalloc((f->nrows ? f->nrows : 1) * sizeof *sc.keys),
			     xmalloc((f->nrows ? f->nrows : 1) * sizeof *sc.tmp)};
	json_object_set_new(root, "rows", jcount(f->nrows));
	json_object_set_new(root, "duplicate_rows", jcount(duplicate_rows(f, &sc)));
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		json_t *col = json_object();
		json_object_set_new(col, "name", jtext(c->name));
		json_object_set_new(col, "type", json_string(col_type_name(c->type)));
		json_object_set_new(col, "role", json_string(col_role_name(c->role)));
		json_object_set_new(col, "missing", jcount(c->n_missing));
		json_object_set_new(col, "missing_rate",
				    f->nrows ? json_real((double)c->n_missing / (double)f->nrows) : json_null());
		json_object_set_new(col, "distinct", jcount(0));  /* set below; here for the key order */
		json_object_set_new(col, "bad_numeric", jcount(c->n_bad));
		if (c->n_bad) {
			json_object_set_new(col, "first_bad_line", json_integer((json_int_t)c->first_bad_line));
			json_object_set_new(col, "first_bad_value",
					    c->first_bad_value ? jtext(c->first_bad_value) : json_null());
		}
		size_t distinct = c->code ? profile_categorical(c, f->nrows, col)
					  : profile_numeric(c, f->nrows, col, &sc);
		json_object_set_new(col, "distinct", jcount(distinct));
		if (distinct <= 1)
			json_array_append_new(constant, jtext(c->name));
		json_array_append_new(cols, col);
	}
	json_object_set_new(root, "constant_columns", constant);
	json_object_set_new(root, "columns", cols);
	free(sc.keys);
	free(sc.tmp);
	return root;
}
