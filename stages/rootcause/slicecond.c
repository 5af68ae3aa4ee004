/* slicecond.c - conditions on columns, their text, and row bitsets. */
#include "slicecond.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int slicecond_match(const struct rc_data *d, const struct slice_cond *c, size_t s, size_t i)
{
	const struct rc_column *col = &d->cols[c->col];
	if (col->numeric) {
		double x = rcdata_num(d, col, s, i);
		if (isnan(x))
			return c->kind == COND_MISSING || c->or_missing;
		switch (c->kind) {
		case COND_RANGE: return x >= c->lo && x < c->hi;
		case COND_EQ: return x == c->lo;
		default: return 0;
		}
	}
	int32_t l = rcdata_level(d, col, s, i);
	if (l < 0)
		return c->kind == COND_MISSING || c->or_missing;
	if (c->kind != COND_LEVELS)
		return 0;
	int in = 0;
	/* levels[] is short (a handful) and sorted; a linear scan is fastest */
	for (size_t k = 0; k < c->nlevels && !in; k++)
		in = c->levels[k] == l;
	return c->negate ? !in : in;
}

/* Four significant digits: enough to act on, short enough for a table cell.
 * Large whole numbers are written out ("income < 2300000", not 2.3e+06), with
 * no thousands separator: a comma inside "[a, b)" would be ambiguous. */
static void num_text(struct strbuf *out, double v)
{
	if (fabs(v) >= 1e4 && fabs(v) < 1e15 && v == floor(v))
		sb_printf(out, "%.0f", v);
	else
		sb_printf(out, "%.4g", v);
}

void slicecond_text(const struct rc_data *d, const struct slice_cond *c, struct strbuf *out)
{
	const struct rc_column *col = &d->cols[c->col];
	switch (c->kind) {
	case COND_MISSING:
		sb_printf(out, "%s is missing", col->name);
		return;
	case COND_EQ:
		sb_printf(out, "%s = ", col->name);
		num_text(out, c->lo);
		break;
	case COND_RANGE:
		if (isinf(c->lo) && isinf(c->hi)) {
			sb_printf(out, "%s is present", col->name);
		} else if (isinf(c->lo)) {
			sb_printf(out, "%s < ", col->name);
			num_text(out, c->hi);
		} else if (isinf(c->hi)) {
			sb_printf(out, "%s >= ", col->name);
			num_text(out, c->lo);
		} else {
			sb_printf(out, "%s in [", col->name);
			num_text(out, c->lo);
			sb_puts(out, ", ");
			num_text(out, c->hi);
			sb_putc(out, ')');
		}
		break;
	case COND_LEVELS:
		if (c->negate && c->nlevels == 0) {
			sb_printf(out, "%s is present", col->name);
		} else if (c->nlevels == 1 && !c->negate) {
			sb_printf(out, "%s=%s", col->name, col->levels[c->levels[0]]);
		} else {
			sb_printf(out, "%s %s {", col->name, c->negate ? "not in" : "in");
			for (size_t k = 0; k < c->nlevels; k++)
				sb_printf(out, "%s%s", k ? ", " : "", col->levels[c->levels[k]]);
			sb_putc(out, '}');
		}
		break;
	}
	if (c->or_missing)
		sb_puts(out, " (or missing)");
}

struct slice_cond slicecond_copy(const struct slice_cond *c)
{
	struct slice_cond r = *c;
	if (c->nlevels) {
		r.levels = xmalloc(c->nlevels * sizeof *r.levels);
		memcpy(r.levels, c->levels, c->nlevels * sizeof *r.levels);
	} else {
		r.levels = NULL;
	}
	return r;
}

void slicecond_free(struct slice_cond *c)
{
	free(c->levels);
	c->levels = NULL;
	c->nlevels = 0;
}

size_t slicecond_count(const struct rc_data *d, const struct slice_cond *c, size_t n, size_t s)
{
	size_t rows = 0;
	for (size_t i = 0; i < d->splits[s].nrows; i++) {
		size_t k = 0;
		while (k < n && slicecond_match(d, &c[k], s, i))
			k++;
		rows += k == n;
	}
	return rows;
}

double slicecond_round(double x, int digits)
{
	if (x == 0 || !isfinite(x))
		return x;
	double e = floor(log10(fabs(x))) - (digits - 1);
	double scale = pow(10.0, -e);
	double r = round(x * scale) / scale;
	/* the division can land a hair off the decimal; print-and-parse snaps it */
	char buf[40];
	snprintf(buf, sizeof buf, "%.*g", digits, r);
	return strtod(buf, NULL);
}

/* ---- bitsets ---- */

/* The hardware popcount where the CPU has one (chosen at load time), a
 * portable one elsewhere: without -mpopcnt GCC calls a table-driven helper,
 * several times slower on the slice search's inner loop. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define POPCNT_CLONES
#endif

POPCNT_CLONES
size_t bits_and_count(const uint64_t *a, const uint64_t *b, size_t w)
{
	size_t n = 0;
	if (b)
		for (size_t i = 0; i < w; i++)
			n += (size_t)__builtin_popcountll(a[i] & b[i]);
	else
		for (size_t i = 0; i < w; i++)
			n += (size_t)__builtin_popcountll(a[i]);
	return n;
}

POPCNT_CLONES
void bits_and_count2(const uint64_t *a, const uint64_t *b, const uint64_t *e, size_t w, size_t *n_ab, size_t *n_abe)
{
	size_t n = 0, m = 0;
	for (size_t i = 0; i < w; i++) {
		uint64_t x = a[i] & b[i];
		n += (size_t)__builtin_popcountll(x);
		m += (size_t)__builtin_popcountll(x & e[i]);
	}
	*n_ab = n;
	*n_abe = m;
}

void bits_and(uint64_t *out, const uint64_t *a, const uint64_t *b, size_t w)
{
	for (size_t i = 0; i < w; i++)
		out[i] = a[i] & b[i];
}

/* ---- reading a slice's text back (the inverse of slicecond_text) ---- */

struct pstate {
	const struct rc_data *d;
	struct slice_cond *v;
	size_t n, cap;
};

static int starts(const char *s, const char *pre)
{
	return !strncmp(s, pre, strlen(pre));
}

static int parse_conds(struct pstate *ps, const char *s);

static int parse_rest(struct pstate *ps, const char *s)
{
	if (!*s)
		return 1;
	return starts(s, " and ") && parse_conds(ps, s + 5);
}

/* Push c (taking its levels), read what may follow it; on failure pop it and
 * free its levels. */
static int parse_tail(struct pstate *ps, struct slice_cond c, const char *s)
{
	static const char om[] = " (or missing)";
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 4;
		ps->v = xrealloc(ps->v, ps->cap * sizeof *ps->v);
	}
	size_t at = ps->n++;
	ps->v[at] = c;
	if (starts(s, om)) {
		ps->v[at].or_missing = 1;
		if (parse_rest(ps, s + strlen(om)))
			return 1;
		ps->v[at].or_missing = 0;
	}
	if (parse_rest(ps, s))
		return 1;
	ps->n = at;
	slicecond_free(&ps->v[at]);
	return 0;
}

static int parse_number(const char *s, double *x, const char **end)
{
	char *e;
	*x = strtod(s, &e);
	if (e == s || !isfinite(*x))
		return 0;
	*end = e;
	return 1;
}

/* Levels of a set "{a, b}" from s (after the brace): every way the text can
 * be cut into known level names. */
static int parse_levels(struct pstate *ps, size_t j, const char *s, int32_t *acc, size_t nacc, int negate)
{
	const struct rc_column *c = &ps->d->cols[j];
	for (size_t l = 0; l < c->nlevels; l++) {
		size_t len = strlen(c->levels[l]);
		if (strncmp(s, c->levels[l], len))
			continue;
		const char *t = s + len;
		acc[nacc] = (int32_t)l;
		if (starts(t, ", ") && nacc + 1 < c->nlevels && parse_levels(ps, j, t + 2, acc, nacc + 1, negate))
			return 1;
		if (*t == '}') {
			struct slice_cond sc = {.col = j, .kind = COND_LEVELS, .negate = negate, .nlevels = nacc + 1};
			sc.levels = xmalloc((nacc + 1) * sizeof *sc.levels);
			memcpy(sc.levels, acc, (nacc + 1) * sizeof *sc.levels);
			if (parse_tail(ps, sc, t + 1))
				return 1;
		}
	}
	return 0;
}

static int parse_column(struct pstate *ps, size_t j, const char *s)
{
	const struct rc_column *c = &ps->d->cols[j];
	const char *e;
	double a, b;
	if (starts(s, " is missing") && parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_MISSING}, s + 11))
		return 1;
	if (c->numeric) {
		if (starts(s, " is present") &&
		    parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_RANGE, .lo = -INFINITY, .hi = INFINITY}, s + 11))
			return 1;
		if (starts(s, " = ") && parse_number(s + 3, &a, &e) &&
		    parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_EQ, .lo = a, .hi = a}, e))
			return 1;
		if (starts(s, " < ") && parse_number(s + 3, &a, &e) &&
		    parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_RANGE, .lo = -INFINITY, .hi = a}, e))
			return 1;
		if (starts(s, " >= ") && parse_number(s + 4, &a, &e) &&
		    parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_RANGE, .lo = a, .hi = INFINITY}, e))
			return 1;
		if (starts(s, " in [") && parse_number(s + 5, &a, &e) && starts(e, ", ") && parse_number(e + 2, &b, &e) &&
		    *e == ')' && parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_RANGE, .lo = a, .hi = b}, e + 1))
			return 1;
		return 0;
	}
	if (starts(s, " is present") &&
	    parse_tail(ps, (struct slice_cond){.col = j, .kind = COND_LEVELS, .negate = 1}, s + 11))
		return 1;
	if (*s == '=') {
		for (size_t l = 0; l < c->nlevels; l++) {
			size_t len = strlen(c->levels[l]);
			if (strncmp(s + 1, c->levels[l], len))
				continue;
			struct slice_cond sc = {.col = j, .kind = COND_LEVELS, .nlevels = 1};
			sc.levels = xmalloc(sizeof *sc.levels);
			sc.levels[0] = (int32_t)l;
			if (parse_tail(ps, sc, s + 1 + len))
				return 1;
		}
		return 0;
	}
	int negate = starts(s, " not in {");
	if (!negate && !starts(s, " in {"))
		return 0;
	if (!c->nlevels)
		return 0;
	int32_t *acc = xmalloc(c->nlevels * sizeof *acc);
	int ok = parse_levels(ps, j, s + (negate ? 9 : 5), acc, 0, negate);
	free(acc);
	return ok;
}

static int parse_conds(struct pstate *ps, const char *s)
{
	for (size_t j = 0; j < ps->d->ncols; j++) {
		const char *name = ps->d->cols[j].name;
		if (starts(s, name) && parse_column(ps, j, s + strlen(name)))
			return 1;
	}
	return 0;
}

int slicecond_parse(const struct rc_data *d, const char *text, struct slice_cond **conds, size_t *n)
{
	struct pstate ps = {.d = d};
	*conds = NULL;
	*n = 0;
	if (!text || !*text || !parse_conds(&ps, text)) {
		free(ps.v);
		return -1;
	}
	*conds = ps.v;
	*n = ps.n;
	return 0;
}
