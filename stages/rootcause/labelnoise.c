/* labelnoise.c - confident learning on the out-of-fold probabilities. The
 * method and the rule are stated in labelnoise.h. */
#include "labelnoise.h"
#include "rcstats.h"
#include "../evaluate/stats.h"
#include "../ingest/csv.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define Z95 1.959963984540054
#define SEG_MIN_SUSPECTS 5

/* ---- the core (no I/O) ---- */

struct ranked {
	double key;
	size_t i;
};

static int cmp_ranked_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_ranked_asc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void labelnoise_round_rows(const double *x, size_t r, size_t c, long long *out)
{
	struct ranked *frac = xmalloc((c ? c : 1) * sizeof *frac);
	for (size_t i = 0; i < r; i++) {
		const double *row = x + i * c;
		long long *o = out + i * c;
		double total = 0;
		long long isum = 0;
		/* nearbyint rounds half to even, as numpy's round */
		for (size_t j = 0; j < c; j++) {
			total += row[j];
			o[j] = (long long)nearbyint(row[j]);
			isum += o[j];
		}
		long long want = (long long)nearbyint(total), diff = want - isum;
		if (!diff)
			continue;
		/* move the cells whose rounding lost (or gained) the most */
		for (size_t j = 0; j < c; j++) {
			frac[j].key = row[j] - (double)o[j];
			frac[j].i = j;
		}
		qsort(frac, c, sizeof *frac, diff > 0 ? cmp_ranked_desc : cmp_ranked_asc);
		long long step = diff > 0 ? 1 : -1;
		for (size_t t = 0; diff && c; t = (t + 1) % c) {
			o[frac[t].i] += step;
			diff -= step;
		}
	}
	free(frac);
}

int labelnoise_confident_joint(const int32_t *y, const double *p, size_t n, int k, double *thresholds,
			       long long *raw, long long *cal)
{
	size_t kk = (size_t)k;
	double *sum = xcalloc(kk, sizeof *sum), *count = xcalloc(kk, sizeof *count);
	for (size_t i = 0; i < n; i++) {
		sum[y[i]] += p[i * kk + (size_t)y[i]];
		count[y[i]]++;
	}
	for (size_t j = 0; j < kk; j++)
		thresholds[j] = count[j] > 0 ? sum[j] / count[j] : 2.0;
	long long *cj = xcalloc(kk * kk, sizeof *cj);
	for (size_t i = 0; i < n; i++) {
		const double *pi = p + i * kk;
		int above = 0;
		size_t best_above = 0, best = 0;
		double v_above = -1;
		for (size_t j = 0; j < kk; j++) {
			if (pi[j] > pi[best])
				best = j;
			if (pi[j] >= thresholds[j] - 1e-6) {
				above++;
				if (pi[j] > v_above) {
					v_above = pi[j];
					best_above = j;
				}
			}
		}
		if (!above)
			continue;
		size_t guess = above > 1 ? best_above : best;
		cj[(size_t)y[i] * kk + guess]++;
	}
	/* at least one correctly labelled row represented per class */
	for (size_t j = 0; j < kk; j++)
		if (!cj[j * kk + j])
			cj[j * kk + j] = 1;
	if (raw)
		memcpy(raw, cj, kk * kk * sizeof *cj);
	/* each row to its label count, then the whole to n */
	double *c = xmalloc(kk * kk * sizeof *c), total = 0;
	for (size_t i = 0; i < kk; i++) {
		double rs = 0;
		for (size_t j = 0; j < kk; j++)
			rs += (double)cj[i * kk + j];
		rs = rs > 1e-10 ? rs : 1e-10;
		for (size_t j = 0; j < kk; j++) {
			c[i * kk + j] = (double)cj[i * kk + j] / rs * count[i];
			total += c[i * kk + j];
		}
	}
	total = total > 1e-10 ? total : 1e-10;
	for (size_t i = 0; i < kk * kk; i++)
		c[i] = c[i] / total * (double)n;
	labelnoise_round_rows(c, kk, kk, cal);
	free(c);
	free(cj);
	free(sum);
	free(count);
	return 0;
}

size_t labelnoise_prune(const int32_t *y, const double *p, size_t n, int k, const long long *cal, uint8_t *issue)
{
	size_t kk = (size_t)k;
	memset(issue, 0, n);
	/* cleanlab's _keep_at_least_n_per_class with n = 1, frac_noise = 1: raise an
	 * empty diagonal cell to 1, taking it evenly from the column's other nonzero
	 * cells (prune counts are the transposed joint: column = given class) */
	double *m = xmalloc(kk * kk * sizeof *m);
	for (size_t j = 0; j < kk; j++)
		for (size_t i = 0; i < kk; i++)
			m[j * kk + i] = (double)cal[i * kk + j]; /* m[true][given] */
	for (size_t g = 0; g < kk; g++) {
		double dg = m[g * kk + g];
		if (dg >= 1)
			continue;
		double nz = 0;
		for (size_t t = 0; t < kk; t++)
			nz += m[t * kk + g] != 0;
		nz = nz - 1 > 1 ? nz - 1 : 1;
		for (size_t t = 0; t < kk; t++) {
			m[t * kk + g] -= (1 - dg) / nz;
			if (m[t * kk + g] < 0)
				m[t * kk + g] = 0;
		}
		m[g * kk + g] = 1;
	}
	long long *prune = xmalloc(kk * kk * sizeof *prune);
	labelnoise_round_rows(m, kk, kk, prune);
	free(m);

	size_t *members = xmalloc((n ? n : 1) * sizeof *members);
	struct ranked *r = xmalloc((n ? n : 1) * sizeof *r);
	for (size_t g = 0; g < kk; g++) {
		size_t ng = 0;
		for (size_t i = 0; i < n; i++)
			if ((size_t)y[i] == g)
				members[ng++] = i;
		if (ng <= 1)
			continue;
		for (size_t t = 0; t < kk; t++) {
			long long want = prune[t * kk + g];
			if (t == g || want <= 0)
				continue;
			for (size_t a = 0; a < ng; a++) {
				size_t i = members[a];
				r[a].key = p[i * kk + t] - p[i * kk + g];
				r[a].i = i;
			}
			qsort(r, ng, sizeof *r, cmp_ranked_desc);
			size_t take = (size_t)want < ng ? (size_t)want : ng;
			for (size_t a = 0; a < take; a++)
				issue[r[a].i] = 1;
		}
	}
	free(r);
	free(members);
	free(prune);
	/* the probe agrees with the given label: not a suspect */
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		if (!issue[i])
			continue;
		const double *pi = p + i * kk;
		size_t best = 0;
		for (size_t j = 1; j < kk; j++)
			if (pi[j] > pi[best])
				best = j;
		if (best == (size_t)y[i])
			issue[i] = 0;
		else
			count++;
	}
	return count;
}

/* ---- reading the out-of-fold file ---- */

struct oof {
	size_t n, cap;
	char **id;
	size_t *row;        /* 0-based frame row of train, or SIZE_MAX when out of range */
	int32_t *y;
	double *p;
};

static void oof_free(struct oof *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->id[i]);
	free(o->id);
	free(o->row);
	free(o->y);
	free(o->p);
}

/* Rows with a known label and finite probabilities for every class; returns
 * 1 when the file has the class columns, 0 when no probe ran, -1 on error. */
static int oof_read(const struct rc_data *d, size_t split, const char *path, struct oof *o)
{
	size_t kk = (size_t)d->k;
	memset(o, 0, sizeof *o);
	struct csv_reader *rd = csv_open(path, ',');
	if (!rd)
		return -1;
	struct csv_row row;
	int got = csv_next(rd, &row);
	if (got <= 0) {
		csv_close(rd);
		return got < 0 ? -1 : 0;
	}
	long c_id = -1, c_row = -1, c_label = -1;
	long *c_p = xmalloc(kk * sizeof *c_p);
	size_t found = 0;
	for (size_t j = 0; j < kk; j++)
		c_p[j] = -1;
	for (size_t f = 0; f < row.nfields; f++) {
		const char *h = row.field[f];
		if (!strcmp(h, "id") && c_id < 0)
			c_id = (long)f;
		else if (!strcmp(h, "row") && c_row < 0)
			c_row = (long)f;
		else if (!strcmp(h, "label") && c_label < 0)
			c_label = (long)f;
		else if (!strncmp(h, "p_", 2))
			for (size_t j = 0; j < kk; j++)
				if (c_p[j] < 0 && !strcmp(h + 2, d->classes[j])) {
					c_p[j] = (long)f;
					found++;
					break;
				}
	}
	if (c_id < 0 || c_row < 0 || c_label < 0) {
		free(c_p);
		csv_close(rd);
		return ERR_INTERNAL("%s:1:1: expected the columns id, row and label", path);
	}
	if (found < kk) {
		free(c_p);
		csv_close(rd);
		return 0;
	}
	size_t nrows = d->splits[split].nrows;
	while ((got = csv_next(rd, &row)) > 0) {
		if (row.nfields <= (size_t)c_label)
			continue;
		const char *lab = row.field[c_label];
		int32_t y = -1;
		for (size_t j = 0; j < kk; j++)
			if (!strcmp(lab, d->classes[j])) {
				y = (int32_t)j;
				break;
			}
		if (y < 0)
			continue;
		if (o->n == o->cap) {
			o->cap = o->cap ? 2 * o->cap : 4096;
			o->id = xrealloc(o->id, o->cap * sizeof *o->id);
			o->row = xrealloc(o->row, o->cap * sizeof *o->row);
			o->y = xrealloc(o->y, o->cap * sizeof *o->y);
			o->p = xrealloc(o->p, o->cap * kk * sizeof *o->p);
		}
		double *pi = o->p + o->n * kk;
		int ok = 1;
		for (size_t j = 0; j < kk && ok; j++) {
			if ((size_t)c_p[j] >= row.nfields) {
				ok = 0;
				break;
			}
			char *end;
			errno = 0;
			pi[j] = strtod(row.field[c_p[j]], &end);
			ok = end != row.field[c_p[j]] && !*end && isfinite(pi[j]);
		}
		if (!ok)
			continue;
		char *end;
		unsigned long long r1 = strtoull(row.field[c_row], &end, 10);
		o->row[o->n] = (*end || r1 < 1 || r1 > nrows) ? SIZE_MAX : (size_t)(r1 - 1);
		o->id[o->n] = xstrdup(row.field[c_id]);
		o->y[o->n] = y;
		o->n++;
	}
	free(c_p);
	csv_close(rd);
	return got < 0 ? -1 : 1;
}

/* ---- where the suspects concentrate ---- */

/* The segment value with the largest lift among suspects, as an object, or
 * NULL when none has SEG_MIN_SUSPECTS suspects and a lift above 1. *tests
 * receives the number of values considered (for Bonferroni). */
static json_t *concentration(const struct rc_data *d, const struct oof *o, const uint8_t *issue, size_t ns,
			     size_t *tests, double *p_out)
{
	json_t *best = NULL;
	double best_lift = 1;
	*tests = 0;
	*p_out = NAN;
	for (size_t c = 0; c < d->ncols; c++) {
		const struct rc_column *col = &d->cols[c];
		if (col->role != ROLE_SEGMENT || col->numeric || col->fidx[0] < 0 || !col->nlevels)
			continue;
		size_t nl = col->nlevels, n = 0;
		size_t *all = xcalloc(nl, sizeof *all), *sus = xcalloc(nl, sizeof *sus);
		for (size_t i = 0; i < o->n; i++) {
			if (o->row[i] == SIZE_MAX)
				continue;
			int32_t l = rcdata_level(d, col, 0, o->row[i]);
			if (l < 0)
				continue;
			all[l]++;
			n++;
			if (issue[i])
				sus[l]++;
		}
		size_t nsus = 0;
		for (size_t l = 0; l < nl; l++)
			nsus += sus[l];
		for (size_t l = 0; l < nl && nsus && n > nsus; l++) {
			if (!all[l])
				continue;
			(*tests)++;
			if (sus[l] < SEG_MIN_SUSPECTS)
				continue;
			double share_s = (double)sus[l] / (double)nsus, share_t = (double)all[l] / (double)n;
			double lift = share_s / share_t;
			if (!(lift > best_lift))
				continue;
			best_lift = lift;
			double p = stats_two_prop_pvalue(sus[l], nsus, all[l] - sus[l], n - nsus);
			json_decref(best);
			best = json_object();
			json_object_set_new(best, "segment", json_string(col->name));
			json_object_set_new(best, "value", json_string(col->levels[l]));
			json_object_set_new(best, "suspects", json_integer((json_int_t)sus[l]));
			json_object_set_new(best, "rows", json_integer((json_int_t)all[l]));
			json_object_set_new(best, "share_of_suspects", json_num_or_null(share_s));
			json_object_set_new(best, "share_of_train", json_num_or_null(share_t));
			json_object_set_new(best, "suspect_rate", json_num_or_null((double)sus[l] / (double)all[l]));
			json_object_set_new(best, "suspect_rate_elsewhere",
					    json_num_or_null((double)(nsus - sus[l]) / (double)(n - all[l] ? n - all[l] : 1)));
			json_object_set_new(best, "lift", json_num_or_null(lift));
			json_object_set_new(best, "p_value", json_num_or_null(p));
			*p_out = p;
		}
		free(all);
		free(sus);
	}
	(void)ns;
	return best;
}

/* ---- the stage's part ---- */

static int write_gz(const char *path, const struct strbuf *sb)
{
	gzFile gz = gzopen(path, "wb6");
	if (!gz)
		return ERR_INTERNAL("%s: cannot write: %s", path, strerror(errno ? errno : EIO));
	int ok = !sb->len || gzwrite(gz, sb->data, (unsigned)sb->len) == (int)sb->len;
	if (gzclose(gz) != Z_OK || !ok)
		return ERR_INTERNAL("%s: write failed", path);
	return 0;
}

static int cmp_suspect(const void *a, const void *b)
{
	return cmp_ranked_asc(a, b);
}

/* The suspect rate on test by the same method, from the full probes'
 * predictions (pred_<test>.csv.gz beside oof_path): how many rows a probe
 * contradicts where nobody flipped labels. -1 when unavailable. */
static long long reference_suspects(const struct rc_data *d, const char *oof_path, size_t *n_out)
{
	*n_out = 0;
	if (d->nsplits < 2 || !oof_path)
		return -1;
	const char *slash = strrchr(oof_path, '/');
	char *dir = slash ? xstrndup(oof_path, (size_t)(slash - oof_path)) : xstrdup(".");
	char *name = xasprintf("pred_%s.csv.gz", d->splits[1].name);
	char *path = path_join(dir, name);
	free(dir);
	free(name);
	struct oof t;
	int got = file_exists(path) ? oof_read(d, 1, path, &t) : 0;
	free(path);
	if (got <= 0) {
		mla_error_clear();
		return -1;
	}
	long long ns = -1;
	if (t.n >= 50) {
		size_t kk = (size_t)d->k;
		double *thr = xmalloc(kk * sizeof *thr);
		long long *cal = xmalloc(kk * kk * sizeof *cal);
		uint8_t *issue = xmalloc(t.n);
		labelnoise_confident_joint(t.y, t.p, t.n, d->k, thr, NULL, cal);
		ns = (long long)labelnoise_prune(t.y, t.p, t.n, d->k, cal, issue);
		*n_out = t.n;
		free(thr);
		free(cal);
		free(issue);
	}
	oof_free(&t);
	return ns;
}

int labelnoise_run(const struct rc_data *d, const char *oof_path, const char *out_path, json_t *findings,
		   json_t *analysis)
{
	struct strbuf csv;
	sb_init(&csv);
	sb_puts(&csv, "id,given_label,suggested_label,self_confidence\n");
	json_t *an = json_object();
	json_object_set_new(analysis, "label_noise", an);
	struct oof o;
	int got = d->k >= 2 && oof_path && file_exists(oof_path) ? oof_read(d, 0, oof_path, &o) : 0;
	if (got < 0) {
		sb_free(&csv);
		return -1;
	}
	if (got == 0 || o.n == 0) {
		json_object_set_new(an, "skipped", json_string("no out-of-fold probabilities from the probes stage"));
		if (got)
			oof_free(&o);
		int rc = write_gz(out_path, &csv);
		sb_free(&csv);
		return rc;
	}
	size_t kk = (size_t)d->k, n = o.n;
	double *thr = xmalloc(kk * sizeof *thr);
	long long *raw = xmalloc(kk * kk * sizeof *raw), *cal = xmalloc(kk * kk * sizeof *cal);
	uint8_t *issue = xmalloc(n);
	labelnoise_confident_joint(o.y, o.p, n, d->k, thr, raw, cal);
	size_t ns = labelnoise_prune(o.y, o.p, n, d->k, cal, issue);

	/* the ranked file: self-confidence ascending */
	struct ranked *r = xmalloc((ns ? ns : 1) * sizeof *r);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (issue[i]) {
			r[m].key = o.p[i * kk + (size_t)o.y[i]];
			r[m].i = i;
			m++;
		}
	qsort(r, m, sizeof *r, cmp_suspect);
	for (size_t a = 0; a < m; a++) {
		size_t i = r[a].i, best = 0;
		for (size_t j = 1; j < kk; j++)
			if (o.p[i * kk + j] > o.p[i * kk + best])
				best = j;
		rc_csv_str(&csv, o.id[i]);
		sb_putc(&csv, ',');
		rc_csv_str(&csv, d->classes[o.y[i]]);
		sb_putc(&csv, ',');
		rc_csv_str(&csv, d->classes[best]);
		sb_putc(&csv, ',');
		rc_csv_num(&csv, r[a].key);
		sb_putc(&csv, '\n');
	}
	free(r);

	/* evidence: counts, thresholds, joint, noise matrix */
	double lo, hi, share = (double)ns / (double)n;
	stats_wilson(ns, n, Z95, &lo, &hi);
	json_t *classes = json_array(), *jthr = json_object(), *jcj = json_array(), *jnoise = json_array();
	for (size_t j = 0; j < kk; j++) {
		json_array_append_new(classes, json_string(d->classes[j]));
		json_object_set_new(jthr, d->classes[j], json_num_or_null(thr[j]));
	}
	for (size_t i = 0; i < kk; i++) {
		json_t *rowc = json_array(), *rown = json_array();
		for (size_t j = 0; j < kk; j++) {
			double col = 0;
			for (size_t t = 0; t < kk; t++)
				col += (double)cal[t * kk + j];
			json_array_append_new(rowc, json_integer(cal[i * kk + j]));
			json_array_append_new(rown, json_num_or_null(col > 0 ? (double)cal[i * kk + j] / col : NAN));
		}
		json_array_append_new(jcj, rowc);
		json_array_append_new(jnoise, rown);
	}
	size_t tests;
	double pseg;
	json_t *seg = concentration(d, &o, issue, ns, &tests, &pseg);
	int seg_sig = seg && tests && pseg < 0.05 / (double)tests;
	if (seg)
		json_object_set_new(seg, "significant", json_boolean(seg_sig));
	json_object_set_new(an, "method", json_string(
		"confident learning, cleanlab find_label_issues defaults (prune_by_noise_rate) on the best probe's "
		"out-of-fold probabilities"));
	json_object_set_new(an, "rows", json_integer((json_int_t)n));
	json_object_set_new(an, "suspects", json_integer((json_int_t)ns));
	json_object_set_new(an, "share", estimate_json(share, lo, hi, (long long)n, "no rows"));
	json_object_set_new(an, "classes", classes);
	json_object_set_new(an, "thresholds", jthr);
	json_object_set_new(an, "confident_joint", jcj);
	json_object_set_new(an, "noise_matrix", jnoise);
	json_object_set_new(an, "matrix_layout", json_string("rows: given label; columns: true label (estimated); "
							     "noise_matrix = P(given | true), columns sum to 1"));
	json_object_set_new(an, "concentration", seg ? seg : json_null());
	json_object_set_new(an, "file", json_string("label_issues.csv.gz"));

	/* Hard rows near the class boundary are suspects too; test's rate by the
	 * same method is what the probe contradicts without planted noise, so the
	 * rule looks at train's excess over it. */
	size_t n_ref = 0;
	long long ns_ref = reference_suspects(d, oof_path, &n_ref);
	double share_ref = ns_ref >= 0 && n_ref ? (double)ns_ref / (double)n_ref : NAN;
	double excess = isnan(share_ref) ? share : share - share_ref;
	double p_excess = isnan(share_ref) ? NAN : stats_two_prop_pvalue(ns, n, (size_t)ns_ref, n_ref);
	double elo = NAN, ehi = NAN;
	if (!isnan(share_ref))
		rcstats_diff_ci(ns, n, (size_t)ns_ref, n_ref, &elo, &ehi);
	json_t *ref = json_object();
	json_object_set_new(ref, "split", json_string(d->nsplits > 1 ? d->splits[1].name : ""));
	json_object_set_new(ref, "rows", json_integer((json_int_t)n_ref));
	json_object_set_new(ref, "suspects", ns_ref >= 0 ? json_integer(ns_ref) : json_null());
	json_object_set_new(ref, "share", json_num_or_null(share_ref));
	json_object_set_new(an, "reference", ref);
	json_object_set_new(an, "excess", estimate_json(isnan(share_ref) ? NAN : excess, elo, ehi, (long long)(n + n_ref),
							"no test predictions from the probes stage"));
	json_object_set_new(an, "excess_p_value", json_num_or_null(p_excess));
	double excess_rows = excess * (double)n;

	int fire = ns >= LABELNOISE_MIN_ROWS && excess >= LABELNOISE_MIN_SHARE && excess_rows >= LABELNOISE_MIN_ROWS &&
		   (isnan(share_ref) || p_excess < 0.05);
	if (fire) {
		enum severity sev = excess >= LABELNOISE_HIGH ? SEV_HIGH : excess >= LABELNOISE_MEDIUM ? SEV_MEDIUM : SEV_LOW;
		/* without a reference, hard rows cannot be told from wrong labels */
		if (isnan(share_ref))
			sev = SEV_LOW;
		char nbuf[48], where[512] = "", cmp[256] = "";
		if (seg_sig)
			snprintf(where, sizeof where, " They concentrate in %s=%s: %.1f%% of suspects against %.1f%% of train "
				 "(p = %.2g).", json_string_value(json_object_get(seg, "segment")),
				 json_string_value(json_object_get(seg, "value")),
				 100 * json_number_value(json_object_get(seg, "share_of_suspects")),
				 100 * json_number_value(json_object_get(seg, "share_of_train")), pseg);
		if (!isnan(share_ref))
			snprintf(cmp, sizeof cmp, " against %.1f%% of %s by the same method (%+.1f points)", 100 * share_ref,
				 d->splits[1].name, 100 * excess);
		char *title = xasprintf("%s train rows (%.1f%%, 95%% CI %.1f to %.1f%%) look mislabelled%s: a probe that "
					"never saw them confidently predicts another class.%s",
					rc_fmt(nbuf, sizeof nbuf, (double)ns), 100 * share, 100 * lo, 100 * hi, cmp, where);
		json_t *ev = json_deep_copy(an);
		json_object_set_new(ev, "rule", json_string(
			"suspects by confident learning (cleanlab find_label_issues defaults) on out-of-fold probabilities; "
			"finding when train's suspect share exceeds test's (same method, the full probe's predictions) by at "
			"least 1 point and 10 rows with two-proportion p < 0.05; high from 5 points, medium from 2, else low "
			"(low when test has no predictions); the most over-represented segment value is named when its "
			"two-proportion p < 0.05 / values tested"));
		json_array_append_new(findings, finding_new("label_noise", 3, sev, title,
			subject_new(d->splits[0].name, NULL, NULL, NULL, (long long)ns), ev));
		free(title);
	}
	free(thr);
	free(raw);
	free(cal);
	free(issue);
	oof_free(&o);
	int rc = write_gz(out_path, &csv);
	sb_free(&csv);
	return rc;
}
