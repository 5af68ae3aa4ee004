/* timewin.c - metric per time window and where it started to fall.
 * The rules are stated in timewin.h. */
#include "timewin.h"
#include "rcstats.h"
#include "../evaluate/metrics.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct window {
	size_t from, to;          /* [from, to) in the time order */
	struct estimate value, accuracy;
	double gap, p;
	int below;
	char t0[64], t1[64];      /* first and last time, as text */
	char splits[128];
};

struct named { const char *text; int32_t level; };

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	return strcmp(x->text, y->text);
}

/* A time value as text: numbers without trailing noise, text as is. */
static void time_text(const struct rc_data *d, size_t s, size_t i, char *buf, size_t size)
{
	const struct rc_column *t = d->time;
	if (t->numeric)
		snprintf(buf, size, "%.10g", rcdata_num(d, t, s, i));
	else {
		int32_t l = rcdata_level(d, t, s, i);
		snprintf(buf, size, "%s", l >= 0 ? t->levels[l] : "");
	}
}

/* The test split's level of the metric: evaluate's estimate when given. */
static int reference(const json_t *metrics, const char *metric, double *value, double *se, size_t *n)
{
	json_t *e = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(metrics, "splits"),
		"test"), "metrics"), metric), "value");
	json_t *est = json_object_get(json_object_get(json_object_get(json_object_get(metrics, "splits"), "test"),
		"metrics"), metric);
	if (!json_is_number(e))
		return 0;
	*value = json_number_value(e);
	double lo = json_number_value(json_object_get(est, "ci_low")), hi = json_number_value(json_object_get(est, "ci_high"));
	*se = json_is_number(json_object_get(est, "ci_low")) ? (hi - lo) / (2 * STATS_Z95) : 0;
	*n = (size_t)json_integer_value(json_object_get(est, "n"));
	return 1;
}

/* Average of the windows [from, to) and its standard error: the windows hold
 * about equal rows, so their plain mean stands for the pooled value. */
static void pooled(const struct window *w, size_t from, size_t to, double *value, double *se)
{
	double sum = 0, var = 0;
	size_t k = 0;
	for (size_t i = from; i < to; i++) {
		if (isnan(w[i].value.value))
			continue;
		sum += w[i].value.value;
		double s = isnan(w[i].value.se) ? 0 : w[i].value.se;
		var += s * s;
		k++;
	}
	*value = k ? sum / (double)k : NAN;
	*se = k ? sqrt(var) / (double)k : NAN;
}

int timewin_run(struct rc_data *d, const json_t *metrics, json_t *findings, struct strbuf *csv, json_t *analysis)
{
	json_t *out = json_object();
	json_object_set_new(analysis, "time", out);
	if (!d->time) {
		json_object_set_new(out, "note", json_string("no time column configured"));
		return 0;
	}
	if (!d->model_mode) {
		json_object_set_new(out, "note", json_string("data mode: no model outputs to follow over time"));
		return 0;
	}
	const struct rc_column *tc = d->time;
	/* categorical times: rank of each level in text order */
	int32_t *rank = NULL;
	if (!tc->numeric) {
		struct named *sorted = xmalloc((tc->nlevels + 1) * sizeof *sorted);
		for (size_t l = 0; l < tc->nlevels; l++)
			sorted[l] = (struct named){tc->levels[l], (int32_t)l};
		qsort(sorted, tc->nlevels, sizeof *sorted, cmp_named);
		rank = xmalloc((tc->nlevels + 1) * sizeof *rank);
		for (size_t r = 0; r < tc->nlevels; r++)
			rank[sorted[r].level] = (int32_t)r;
		free(sorted);
	}
	/* the rows, keyed by time */
	size_t total = 0;
	for (size_t s = 1; s < d->nsplits; s++)
		total += d->splits[s].err ? d->splits[s].n_eval : 0;
	uint64_t *key = xmalloc((total ? total : 1) * sizeof *key);
	uint32_t *idx = xmalloc((total ? total : 1) * sizeof *idx);
	uint32_t *split_of = xmalloc((total ? total : 1) * sizeof *split_of);
	size_t *row_of = xmalloc((total ? total : 1) * sizeof *row_of);
	size_t n = 0;
	for (size_t s = 1; s < d->nsplits; s++) {
		const struct rc_split *sp = &d->splits[s];
		if (!sp->err || tc->fidx[s] < 0)
			continue;
		for (size_t i = 0; i < sp->nrows; i++) {
			if (sp->err[i] < 0)
				continue;
			uint64_t k;
			if (tc->numeric) {
				double x = rcdata_num(d, tc, s, i);
				if (isnan(x))
					continue;
				k = rcstats_double_key(x);
			} else {
				int32_t l = rcdata_level(d, tc, s, i);
				if (l < 0)
					continue;
				k = (uint64_t)rank[l];
			}
			key[n] = k;
			idx[n] = (uint32_t)n;
			split_of[n] = (uint32_t)s;
			row_of[n] = i;
			n++;
		}
	}
	free(rank);
	rcstats_sort_u64(key, idx, n);

	size_t nw_target = n / TIMEWIN_MIN_ROWS < TIMEWIN_WINDOWS ? n / TIMEWIN_MIN_ROWS : TIMEWIN_WINDOWS;
	struct window *w = xcalloc(nw_target + 1, sizeof *w);
	size_t nw = 0, start = 0;
	for (size_t k = 1; k <= nw_target && start < n; k++) {
		size_t end = k == nw_target ? n : n * k / nw_target;
		if (end <= start)
			continue;
		while (end < n && key[end] == key[end - 1])   /* keep a time in one window */
			end++;
		w[nw].from = start;
		w[nw].to = end;
		nw++;
		start = end;
	}
	const char *metric = d->metric;
	double ref = NAN, ref_se = 0;
	size_t ref_n = 0;
	int have_ref = metrics && reference(metrics, metric, &ref, &ref_se, &ref_n);
	int higher = metric_higher_is_better(metric);
	size_t kk = (size_t)d->k;
	int *y = xmalloc((n ? n : 1) * sizeof *y), *pr = xmalloc((n ? n : 1) * sizeof *pr);
	double *pb = d->has_proba ? xmalloc((n ? n : 1) * kk * sizeof *pb) : NULL;
	int rc = 0;
	for (size_t k = 0; k < nw && rc == 0; k++) {
		struct window *wi = &w[k];
		size_t m = 0;
		unsigned seen = 0;
		int has_proba = pb != NULL;
		for (size_t r = wi->from; r < wi->to; r++) {
			size_t g = idx[r], s = split_of[g], i = row_of[g];
			const struct rc_split *sp = &d->splits[s];
			y[m] = sp->y[i];
			pr[m] = sp->pred[i];
			if (has_proba && sp->proba)
				memcpy(pb + m * kk, sp->proba + i * kk, kk * sizeof *pb);
			else
				has_proba = 0;
			if (s < 32)
				seen |= 1u << s;
			m++;
		}
		struct eval_input in = {.n = m, .nclasses = d->k, .y = y, .pred = pr, .proba = has_proba ? pb : NULL,
					.positive = d->positive, .seed = d->cfg->seed + k};
		struct eval_metrics em;
		if (metrics_compute(&in, &em) != 0) {
			rc = -1;
			break;
		}
		const struct estimate *e = metrics_get(&em, metric);
		wi->value = e ? *e : em.accuracy;
		wi->accuracy = em.accuracy;
		metrics_free(&em);
		time_text(d, split_of[idx[wi->from]], row_of[idx[wi->from]], wi->t0, sizeof wi->t0);
		time_text(d, split_of[idx[wi->to - 1]], row_of[idx[wi->to - 1]], wi->t1, sizeof wi->t1);
		size_t len = 0;
		wi->splits[0] = 0;
		for (size_t s = 1; s < d->nsplits && s < 32; s++)
			if (seen >> s & 1) {
				int wrote = snprintf(wi->splits + len, sizeof wi->splits - len, "%s%s", len ? "+" : "",
						     d->splits[s].name);
				if (wrote < 0 || (size_t)wrote >= sizeof wi->splits - len)
					break;
				len += (size_t)wrote;
			}
	}
	free(y);
	free(pr);
	free(pb);
	free(key);
	if (rc != 0) {
		free(idx);
		free(split_of);
		free(row_of);
		free(w);
		return -1;
	}
	if (!have_ref && nw) {
		/* no evaluate output to lean on: the first window is the level */
		ref = w[0].value.value;
		ref_se = w[0].value.se;
		ref_n = w[0].value.n;
	}
	for (size_t k = 0; k < nw; k++) {
		struct window *wi = &w[k];
		double v = wi->value.value;
		wi->gap = higher ? ref - v : v - ref;
		wi->p = stats_diff_pvalue(v, isnan(wi->value.se) ? 0 : wi->value.se, ref, ref_se);
		wi->below = !isnan(wi->gap) && wi->gap > TIMEWIN_MIN_GAP && wi->p < TIMEWIN_P;
	}
	/* The change point: the cut between windows that best separates the level
	 * before from the level after (z of the difference of the two averages);
	 * it counts when that difference is significant and the level after
	 * trails the reference as well. Pooling windows gives the test the power
	 * single windows of a few hundred rows lack. */
	long start_w = -1;
	double best_z = 0, after_p = NAN, change_p = NAN;
	for (size_t k = 1; k < nw; k++) {
		double vb, sb, va, sa;
		pooled(w, 0, k, &vb, &sb);
		pooled(w, k, nw, &va, &sa);
		double drop = higher ? vb - va : va - vb;
		double se = sqrt(sb * sb + sa * sa);
		double z = se > 0 ? drop / se : drop > 0 ? INFINITY : 0;
		double gap = higher ? ref - va : va - ref;
		double p_ref = stats_diff_pvalue(va, sa, ref, ref_se);
		double p_cut = stats_diff_pvalue(vb, sb, va, sa);
		if (z > best_z && gap > TIMEWIN_MIN_GAP && p_ref < TIMEWIN_P && p_cut < TIMEWIN_P) {
			best_z = z;
			start_w = (long)k;
			after_p = p_ref;
			change_p = p_cut;
		}
	}
	sb_puts(csv, "window,from,to,splits,rows,metric,value,ci_low,ci_high,accuracy,error_rate,gap,p,below,start\n");
	json_t *list = json_array();
	for (size_t k = 0; k < nw; k++) {
		const struct window *wi = &w[k];
		sb_printf(csv, "%zu,", k + 1);
		rc_csv_str(csv, wi->t0);
		sb_putc(csv, ',');
		rc_csv_str(csv, wi->t1);
		sb_putc(csv, ',');
		rc_csv_str(csv, wi->splits);
		sb_printf(csv, ",%zu,%s,", wi->to - wi->from, metric);
		rc_csv_num(csv, wi->value.value);
		sb_putc(csv, ',');
		rc_csv_num(csv, wi->value.lo);
		sb_putc(csv, ',');
		rc_csv_num(csv, wi->value.hi);
		sb_putc(csv, ',');
		rc_csv_num(csv, wi->accuracy.value);
		sb_putc(csv, ',');
		rc_csv_num(csv, 1 - wi->accuracy.value);
		sb_putc(csv, ',');
		rc_csv_num(csv, wi->gap);
		sb_putc(csv, ',');
		rc_csv_num(csv, wi->p);
		sb_printf(csv, ",%d,%d\n", wi->below, (long)k == start_w);
		json_t *e = json_object();
		json_object_set_new(e, "window", json_integer((json_int_t)k + 1));
		json_object_set_new(e, "from", json_string(wi->t0));
		json_object_set_new(e, "to", json_string(wi->t1));
		json_object_set_new(e, "splits", json_string(wi->splits));
		json_object_set_new(e, "rows", json_integer((json_int_t)(wi->to - wi->from)));
		json_object_set_new(e, "value", estimate_json(wi->value.value, wi->value.lo, wi->value.hi,
							     (long long)wi->value.n, wi->value.reason));
		json_object_set_new(e, "accuracy", estimate_json(wi->accuracy.value, wi->accuracy.lo, wi->accuracy.hi,
								(long long)wi->accuracy.n, wi->accuracy.reason));
		json_object_set_new(e, "below", json_boolean(wi->below));
		json_array_append_new(list, e);
	}
	json_object_set_new(out, "column", json_string(tc->name));
	json_object_set_new(out, "metric", json_string(metric));
	json_object_set_new(out, "reference", estimate_json(ref, ref - STATS_Z95 * ref_se, ref + STATS_Z95 * ref_se,
							    (long long)ref_n, "no reference level"));
	json_object_set_new(out, "reference_from", json_string(have_ref ? "test split (evaluate/metrics.json)" : "first window"));
	json_object_set_new(out, "windows", list);
	json_object_set_new(out, "start_window", start_w >= 0 ? json_integer(start_w + 1) : json_null());
	json_object_set_new(out, "method", json_string(
		"rows of the splits after train ordered by time, about 10 windows of equal row counts (ties kept together); "
		"a window is below when it trails the test level by > 0.02 with p < 0.01; the degradation starts at the cut "
		"between windows that best separates the mean before from the mean after (largest z), when that change has "
		"p < 0.01 and the windows after trail the test level by > 0.02 with p < 0.01"));
	if (start_w >= 0) {
		double sum = 0;
		size_t rows = 0, cnt = 0;
		for (size_t k = (size_t)start_w; k < nw; k++) {
			sum += w[k].gap;
			rows += w[k].to - w[k].from;
			cnt++;
		}
		double gap = sum / (double)cnt, after = higher ? ref - gap : ref + gap;
		const struct window *ws = &w[start_w];
		char *title = xasprintf("The model's %s falls from %.3f (%s) to %.3f on average from %s %s onwards (window %ld "
					"of %zu, %zu rows since).", metric, ref, have_ref ? "test" : "first window", after, tc->name,
					ws->t0, start_w + 1, nw, rows);
		json_t *ev = json_object();
		json_object_set_new(ev, "metric", json_string(metric));
		json_object_set_new(ev, "reference", estimate_json(ref, ref - STATS_Z95 * ref_se, ref + STATS_Z95 * ref_se,
								   (long long)ref_n, NULL));
		json_object_set_new(ev, "start", json_string(ws->t0));
		json_object_set_new(ev, "start_window", json_integer(start_w + 1));
		json_object_set_new(ev, "windows", json_integer((json_int_t)nw));
		json_object_set_new(ev, "start_value", estimate_json(ws->value.value, ws->value.lo, ws->value.hi,
								     (long long)ws->value.n, NULL));
		json_object_set_new(ev, "start_p_value", json_num_or_null(ws->p));
		json_object_set_new(ev, "after_vs_reference_p_value", json_num_or_null(after_p));
		json_object_set_new(ev, "change_p_value", json_num_or_null(change_p));
		json_object_set_new(ev, "change_z", json_num_or_null(best_z));
		json_object_set_new(ev, "mean_after", json_num_or_null(after));
		json_object_set_new(ev, "mean_gap", json_num_or_null(gap));
		json_object_set_new(ev, "rows_since", json_integer((json_int_t)rows));
		json_object_set_new(ev, "rule", json_string(
			"the cut between windows with the largest z of (mean before - mean after), when that difference has "
			"p < 0.01 and the windows after trail the test level by > 0.02 with p < 0.01; severity by their mean "
			"gap: >= 0.10 high, >= 0.05 medium; low when the fall starts exactly where a split with a "
			"performance_drop begins"));
		/* the subject leaves the start out: it moves from night to night, the id must not */
		const char *split = strchr(ws->splits, '+') ? NULL : ws->splits;
		enum severity sev = gap >= 0.10 ? SEV_HIGH : gap >= 0.05 ? SEV_MEDIUM : SEV_LOW;
		/* a fall that starts exactly where a split with a performance_drop
		 * begins says only "the drop began with that split": low, so the
		 * same drop does not fill the top findings twice */
		if (split && start_w > 0 && strcmp(w[start_w - 1].splits, split) &&
		    rcdata_earlier_kind(d, "performance_drop", split)) {
			sev = SEV_LOW;
			json_object_set_new(ev, "restates", json_string("performance_drop: the fall starts where the split begins"));
		}
		json_array_append_new(findings, finding_new("time_degradation", 2, sev, title,
			subject_new(split, tc->name, NULL, NULL, (long long)rows), ev));
		free(title);
	}
	free(idx);
	free(split_of);
	free(row_of);
	free(w);
	return 1;
}
