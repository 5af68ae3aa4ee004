/* diff.c - `mlaudit diff` and the comparison the history page shares with it.
 * The rules (what "worsened" means, which effect a finding is judged by) are
 * in diff.h. */
#include "diff.h"
#include "config.h"
#include "../stages/report/escape.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- reading ---- */

json_t *diff_load_summary(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		ERR_INPUT("%s: %s (expected a run folder or its report/summary.json)", path, strerror(errno));
		return NULL;
	}
	char *file = NULL;
	if (S_ISDIR(st.st_mode)) {
		/* a run folder, or the report folder inside one */
		char *a = path_join(path, "report/summary.json"), *b = path_join(path, "summary.json");
		if (file_exists(a)) {
			file = a;
			free(b);
		} else if (file_exists(b)) {
			file = b;
			free(a);
		} else {
			free(a);
			free(b);
			ERR_INPUT("%s: not a run folder: it has no report/summary.json", path);
			return NULL;
		}
	} else
		file = xstrdup(path);
	json_error_t err;
	json_t *s = json_load_file(file, 0, &err);
	if (!s)
		ERR_INPUT("%s:%d:%d: %s", file, err.line, err.column, err.text);
	else if (!json_is_object(s) || !json_is_array(json_object_get(s, "findings")) ||
		 !json_is_object(json_object_get(s, "metrics"))) {
		ERR_INPUT("%s: not an mlaudit summary.json (it needs a \"findings\" array and a \"metrics\" object)", file);
		json_decref(s);
		s = NULL;
	}
	free(file);
	return s;
}

static const char *str_of(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static int sev_of(const json_t *f)
{
	int s = severity_parse(str_of(json_object_get(f, "severity")));
	return s < 0 ? SEV_INFO : s;
}

const char *diff_current_split(const json_t *summary)
{
	const json_t *metrics = json_object_get(summary, "metrics");
	const char *last = NULL, *key;
	const json_t *v;
	/* jansson keeps the file's key order, which is the run's split order */
	json_object_foreach((json_t *)metrics, key, v) {
		if (!strcmp(key, "current"))
			return key;
		if (strcmp(key, "train") && strcmp(key, "test"))
			last = key;
	}
	return last;
}

int diff_lower_is_better(const char *metric)
{
	return metric && (!strcmp(metric, "log_loss") || !strcmp(metric, "brier") || !strcmp(metric, "ece"));
}

static double num_or_nan(const json_t *j)
{
	return json_is_number(j) ? json_number_value(j) : NAN;
}

void diff_fmt_est(struct strbuf *out, const json_t *est)
{
	double v = num_or_nan(json_object_get(est, "value"));
	if (!isfinite(v)) {
		sb_puts(out, "n/a");
		return;
	}
	sb_printf(out, "%.3f", fabs(v) < 5e-4 ? 0.0 : v);
	double lo = num_or_nan(json_object_get(est, "ci_low")), hi = num_or_nan(json_object_get(est, "ci_high"));
	if (isfinite(lo) && isfinite(hi))
		sb_printf(out, " [%.3f, %.3f]", lo, hi);
}

/* ---- effects ---- */

/* A finding's effect size: its magnitude and, when known, the interval of
 * that magnitude. */
struct effect {
	const char *key;   /* the evidence member it came from, NULL: none */
	double v, lo, hi;  /* lo/hi NAN without an interval */
};

static double half_width(const json_t *est)
{
	double lo = num_or_nan(json_object_get(est, "ci_low")), hi = num_or_nan(json_object_get(est, "ci_high"));
	return isfinite(lo) && isfinite(hi) ? fabs(hi - lo) / 2 : NAN;
}

static struct effect effect_of(const json_t *finding)
{
	static const char *const keys[] = {"gap", "shift", "effect", "ece", "error_rate", "psi", "auc"};
	const json_t *ev = json_object_get(finding, "evidence");
	struct effect e = {NULL, NAN, NAN, NAN};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const json_t *x = json_object_get(ev, keys[i]);
		double v = json_is_object(x) ? num_or_nan(json_object_get(x, "value")) : num_or_nan(x);
		if (!isfinite(v))
			continue;
		e.key = keys[i];
		e.v = fabs(v);
		if (json_is_object(x)) {
			double lo = num_or_nan(json_object_get(x, "ci_low")), hi = num_or_nan(json_object_get(x, "ci_high"));
			if (isfinite(lo) && isfinite(hi)) {
				/* the interval of |v|: mirrored for a negative estimate */
				e.lo = v >= 0 ? lo : -hi;
				e.hi = v >= 0 ? hi : -lo;
			}
		} else if (!strcmp(keys[i], "gap")) {
			/* a gap between a segment and the rest of its split: the two
			 * samples are independent, so the half-widths add in quadrature */
			double hs = half_width(json_object_get(ev, "segment")), hr = half_width(json_object_get(ev, "rest"));
			if (isfinite(hs) && isfinite(hr)) {
				double h = sqrt(hs * hs + hr * hr);
				e.lo = e.v - h;
				e.hi = e.v + h;
			}
		}
		return e;
	}
	return e;
}

/* +1 when x moved above y beyond the intervals, -1 below, 0 neither: each
 * estimate outside the other's interval (only the intervals that exist count;
 * without any, nothing moved). */
static int moved(double xa, double loa, double hia, double xb, double lob, double hib)
{
	int ia = isfinite(loa) && isfinite(hia), ib = isfinite(lob) && isfinite(hib);
	if (!isfinite(xa) || !isfinite(xb) || (!ia && !ib))
		return 0;
	if ((!ia || xb > hia) && (!ib || xa < lob))
		return +1;
	if ((!ia || xb < loa) && (!ib || xa > hib))
		return -1;
	return 0;
}

static void put_effect(struct strbuf *sb, const struct effect *e)
{
	sb_printf(sb, "%.3f", e->v);
	if (isfinite(e->lo))
		sb_printf(sb, " [%.3f, %.3f]", e->lo, e->hi);
}

/* Classify a finding present in both runs; sets *why for a change. */
static enum diff_change compare_finding(const json_t *fa, const json_t *fb, char **why)
{
	int sa = sev_of(fa), sb_ = sev_of(fb);
	*why = NULL;
	if (sa != sb_) {
		*why = xasprintf("severity %s -> %s", severity_name((enum severity)sa), severity_name((enum severity)sb_));
		return sb_ > sa ? DIFF_WORSENED : DIFF_IMPROVED;
	}
	struct effect ea = effect_of(fa), eb = effect_of(fb);
	if (!ea.key || !eb.key || strcmp(ea.key, eb.key))
		return DIFF_UNCHANGED;
	int m = moved(ea.v, ea.lo, ea.hi, eb.v, eb.lo, eb.hi);
	if (!m)
		return DIFF_UNCHANGED;
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s ", ea.key);
	put_effect(&sb, &ea);
	sb_puts(&sb, " -> ");
	put_effect(&sb, &eb);
	sb_puts(&sb, m > 0 ? ", larger beyond the intervals" : ", smaller beyond the intervals");
	*why = sb_detach(&sb);
	return m > 0 ? DIFF_WORSENED : DIFF_IMPROVED;
}

/* ---- the comparison ---- */

static const json_t *find_by_id(const json_t *findings, const char *id)
{
	for (size_t i = 0; i < json_array_size(findings); i++) {
		const json_t *f = json_array_get(findings, i);
		if (!strcmp(str_of(json_object_get(f, "id")), id))
			return f;
	}
	return NULL;
}

/* Is this the first finding with its id in the array? Duplicates (which a
 * correct run never has) are compared once. */
static int first_with_id(const json_t *findings, size_t i)
{
	const char *id = str_of(json_object_get(json_array_get(findings, i), "id"));
	if (!*id)
		return 0;
	for (size_t j = 0; j < i; j++)
		if (!strcmp(str_of(json_object_get(json_array_get(findings, j), "id")), id))
			return 0;
	return 1;
}

static int cmp_findings(const void *pa, const void *pb)
{
	const struct diff_finding *x = pa, *y = pb;
	if (x->change != y->change)
		return (int)x->change - (int)y->change;
	const json_t *fx = x->b ? x->b : x->a, *fy = y->b ? y->b : y->a;
	int sx = sev_of(fx), sy = sev_of(fy);
	if (sx != sy)
		return sy - sx;
	return strcmp(str_of(json_object_get(fx, "id")), str_of(json_object_get(fy, "id")));
}

static void add_metric(struct run_diff *d, const char *split, const char *metric)
{
	for (size_t i = 0; i < d->nmetrics; i++)
		if (!strcmp(d->metrics[i].split, split) && !strcmp(d->metrics[i].metric, metric))
			return;
	const json_t *ea = json_object_get(json_object_get(json_object_get(d->a, "metrics"), split), metric);
	const json_t *eb = json_object_get(json_object_get(json_object_get(d->b, "metrics"), split), metric);
	if (!ea && !eb)
		return;
	int m = moved(num_or_nan(json_object_get(ea, "value")), num_or_nan(json_object_get(ea, "ci_low")),
		      num_or_nan(json_object_get(ea, "ci_high")), num_or_nan(json_object_get(eb, "value")),
		      num_or_nan(json_object_get(eb, "ci_low")), num_or_nan(json_object_get(eb, "ci_high")));
	d->metrics = xrealloc(d->metrics, (d->nmetrics + 1) * sizeof *d->metrics);
	d->metrics[d->nmetrics++] = (struct diff_metric){split, metric, ea, eb,
							 diff_lower_is_better(metric) ? -m : m};
}

void diff_runs(const json_t *a, const json_t *b, struct run_diff *d)
{
	memset(d, 0, sizeof *d);
	d->a = a;
	d->b = b;
	const char *metric = json_string_value(json_object_get(json_object_get(b, "task"), "metric"));
	d->metric = metric && *metric ? metric : "accuracy";

	const json_t *fa = json_object_get(a, "findings"), *fb = json_object_get(b, "findings");
	size_t na = json_array_size(fa), nb = json_array_size(fb);
	d->findings = xcalloc(na + nb + 1, sizeof *d->findings);
	for (size_t i = 0; i < nb; i++) {
		if (!first_with_id(fb, i))
			continue;
		const json_t *f = json_array_get(fb, i);
		const json_t *old = find_by_id(fa, str_of(json_object_get(f, "id")));
		struct diff_finding *x = &d->findings[d->nfindings++];
		x->a = old;
		x->b = f;
		x->change = old ? compare_finding(old, f, &x->why) : DIFF_NEW;
	}
	for (size_t i = 0; i < na; i++) {
		const json_t *f = json_array_get(fa, i);
		if (first_with_id(fa, i) && !find_by_id(fb, str_of(json_object_get(f, "id"))))
			d->findings[d->nfindings++] = (struct diff_finding){DIFF_RESOLVED, f, NULL, NULL};
	}
	if (d->nfindings > 1)
		qsort(d->findings, d->nfindings, sizeof *d->findings, cmp_findings);

	/* metrics: B's splits in B's order, where A has the split too */
	const char *split;
	const json_t *v;
	json_object_foreach((json_t *)json_object_get(b, "metrics"), split, v) {
		if (!json_object_get(json_object_get(a, "metrics"), split))
			continue;
		add_metric(d, split, d->metric);
		add_metric(d, split, "accuracy");
		add_metric(d, split, "roc_auc");
	}

	/* the exit-1 rule of diff.h */
	struct strbuf why;
	sb_init(&why);
	size_t nnew = 0, nworse = 0;
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct diff_finding *x = &d->findings[i];
		d->count[x->change]++;
		if (x->change == DIFF_NEW && sev_of(x->b) >= SEV_LOW)
			nnew++;
		if (x->change == DIFF_WORSENED && sev_of(x->b) >= SEV_LOW)
			nworse++;
	}
	if (nnew)
		sb_printf(&why, "%zu new finding%s at low or above", nnew, nnew == 1 ? "" : "s");
	if (nworse)
		sb_printf(&why, "%s%zu finding%s worsened", why.len ? "; " : "", nworse, nworse == 1 ? "" : "s");
	for (size_t i = 0; i < d->nmetrics; i++)
		if (d->metrics[i].change < 0 && !strcmp(d->metrics[i].metric, d->metric))
			sb_printf(&why, "%s%s on %s worse beyond the intervals", why.len ? "; " : "", d->metric,
				  d->metrics[i].split);
	d->worsened = why.len > 0;
	d->worsened_why = why.len ? sb_detach(&why) : NULL;
	sb_free(&why);
}

void diff_free(struct run_diff *d)
{
	for (size_t i = 0; i < d->nfindings; i++)
		free(d->findings[i].why);
	free(d->findings);
	free(d->metrics);
	free(d->worsened_why);
	memset(d, 0, sizeof *d);
}

/* ---- output ---- */

static const char *const change_names[] = {"new", "worsened", "resolved", "improved", "unchanged"};

/* Data text for a terminal: control characters (newlines, escape sequences)
 * become spaces so a finding stays on its line and cannot drive the terminal. */
static void put_plain(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		sb_putc(sb, *p < 0x20 || *p == 0x7F ? ' ' : (char)*p);
}

static void put_delta(struct strbuf *sb, const struct diff_metric *m)
{
	double va = num_or_nan(json_object_get(m->a, "value")), vb = num_or_nan(json_object_get(m->b, "value"));
	if (isfinite(va) && isfinite(vb)) {
		double dv = vb - va;
		sb_printf(sb, "%+.3f", fabs(dv) < 5e-4 ? 0.0 : dv);
	} else
		sb_puts(sb, "n/a");
	if (m->change)
		sb_puts(sb, m->change > 0 ? ", better beyond the intervals" : ", worse beyond the intervals");
}

static const char *run_label(const json_t *s)
{
	const char *id = str_of(json_object_get(s, "run_id"));
	return *id ? id : "?";
}

static void format_text(const struct run_diff *d, struct strbuf *sb)
{
	sb_puts(sb, "mlaudit diff");
	const char *name = str_of(json_object_get(d->b, "name"));
	if (*name) {
		sb_puts(sb, " of ");
		put_plain(sb, name);
	}
	sb_puts(sb, "\n  A: ");
	put_plain(sb, run_label(d->a));
	sb_printf(sb, " (%s)\n  B: ", str_of(json_object_get(d->a, "verdict")));
	put_plain(sb, run_label(d->b));
	sb_printf(sb, " (%s)\n\nMetrics (95%% intervals):\n", str_of(json_object_get(d->b, "verdict")));
	if (!d->nmetrics)
		sb_puts(sb, "  no split in both runs\n");
	for (size_t i = 0; i < d->nmetrics; i++) {
		const struct diff_metric *m = &d->metrics[i];
		struct strbuf a, b;
		sb_init(&a);
		sb_init(&b);
		diff_fmt_est(&a, m->a);
		diff_fmt_est(&b, m->b);
		sb_puts(sb, "  ");
		size_t at = sb->len;
		put_plain(sb, m->split);
		sb_printf(sb, "%*s", (int)(at + 10 > sb->len ? at + 10 - sb->len : 1), "");
		at = sb->len;
		put_plain(sb, m->metric);
		sb_printf(sb, "%*s%-22s -> %-22s ", (int)(at + 10 > sb->len ? at + 10 - sb->len : 1), "", a.data, b.data);
		put_delta(sb, m);
		sb_putc(sb, '\n');
		sb_free(&a);
		sb_free(&b);
	}
	sb_printf(sb, "\nFindings: %zu new, %zu worsened, %zu resolved, %zu improved, %zu unchanged\n",
		  d->count[DIFF_NEW], d->count[DIFF_WORSENED], d->count[DIFF_RESOLVED], d->count[DIFF_IMPROVED],
		  d->count[DIFF_UNCHANGED]);
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct diff_finding *x = &d->findings[i];
		if (x->change == DIFF_UNCHANGED)
			continue;
		const json_t *f = x->b ? x->b : x->a;
		sb_printf(sb, "  %-9s %-6s %s ", change_names[x->change], severity_name((enum severity)sev_of(f)),
			  str_of(json_object_get(f, "id")));
		put_plain(sb, str_of(json_object_get(f, "kind")));
		sb_puts(sb, ": ");
		put_plain(sb, str_of(json_object_get(f, "title")));
		if (x->why)
			sb_printf(sb, " (%s)", x->why);
		sb_putc(sb, '\n');
	}
	if (d->worsened)
		sb_printf(sb, "\nResult: worsened: %s.\n", d->worsened_why);
	else
		sb_puts(sb, "\nResult: nothing worsened.\n");
}

static void format_md(const struct run_diff *d, struct strbuf *sb)
{
	sb_puts(sb, "### mlaudit diff");
	const char *name = str_of(json_object_get(d->b, "name"));
	if (*name) {
		sb_puts(sb, " of ");
		escape_md(sb, name);
	}
	sb_puts(sb, ": ");
	escape_md(sb, run_label(d->a));
	sb_puts(sb, " → ");
	escape_md(sb, run_label(d->b));
	sb_puts(sb, "\n\nVerdict **");
	escape_md(sb, str_of(json_object_get(d->a, "verdict")));
	sb_puts(sb, "** → **");
	escape_md(sb, str_of(json_object_get(d->b, "verdict")));
	sb_printf(sb, "**. Findings: %zu new, %zu worsened, %zu resolved, %zu improved, %zu unchanged.\n\n",
		  d->count[DIFF_NEW], d->count[DIFF_WORSENED], d->count[DIFF_RESOLVED], d->count[DIFF_IMPROVED],
		  d->count[DIFF_UNCHANGED]);
	if (d->worsened) {
		sb_puts(sb, "**Worsened:** ");
		escape_md(sb, d->worsened_why);
		sb_puts(sb, ".\n\n");
	} else
		sb_puts(sb, "Nothing worsened.\n\n");
	if (d->nmetrics) {
		sb_puts(sb, "| split | metric | A | B | change |\n|---|---|---|---|---|\n");
		for (size_t i = 0; i < d->nmetrics; i++) {
			const struct diff_metric *m = &d->metrics[i];
			sb_puts(sb, "| ");
			escape_md(sb, m->split);
			sb_puts(sb, " | ");
			escape_md(sb, m->metric);
			sb_puts(sb, " | ");
			diff_fmt_est(sb, m->a);
			sb_puts(sb, " | ");
			diff_fmt_est(sb, m->b);
			sb_puts(sb, " | ");
			put_delta(sb, m);
			sb_puts(sb, " |\n");
		}
		sb_putc(sb, '\n');
	}
	for (int c = DIFF_NEW; c < DIFF_UNCHANGED; c++) {
		if (!d->count[c])
			continue;
		sb_printf(sb, "**%c%s**\n\n", change_names[c][0] - 'a' + 'A', change_names[c] + 1);
		for (size_t i = 0; i < d->nfindings; i++) {
			const struct diff_finding *x = &d->findings[i];
			if ((int)x->change != c)
				continue;
			const json_t *f = x->b ? x->b : x->a;
			sb_printf(sb, "- **%s** · ", severity_name((enum severity)sev_of(f)));
			escape_md(sb, str_of(json_object_get(f, "kind")));
			sb_puts(sb, " · ");
			escape_md(sb, str_of(json_object_get(f, "title")));
			sb_puts(sb, " (");
			escape_md(sb, str_of(json_object_get(f, "id")));
			if (x->why) {
				sb_puts(sb, "; ");
				escape_md(sb, x->why);
			}
			sb_puts(sb, ")\n");
		}
		sb_putc(sb, '\n');
	}
}

static json_t *finding_brief(const json_t *f)
{
	json_t *o = json_object();
	static const char *const keys[] = {"id", "kind", "severity", "title", "subject"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(f, keys[i]))
			json_object_set(o, keys[i], json_object_get(f, keys[i]));
	return o;
}

static json_t *run_brief(const json_t *s)
{
	json_t *o = json_object();
	static const char *const keys[] = {"run_id", "name", "verdict"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(s, keys[i]))
			json_object_set(o, keys[i], json_object_get(s, keys[i]));
	return o;
}

/** The diff as a JSON object (caller json_decref's). */
static json_t *format_json(const struct run_diff *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "a", run_brief(d->a));
	json_object_set_new(o, "b", run_brief(d->b));
	json_object_set_new(o, "metric", json_string(d->metric));
	json_object_set_new(o, "worsened", json_boolean(d->worsened));
	if (d->worsened_why)
		json_object_set_new(o, "worsened_why", json_string(d->worsened_why));
	json_t *metrics = json_array();
	for (size_t i = 0; i < d->nmetrics; i++) {
		const struct diff_metric *m = &d->metrics[i];
		json_t *e = json_object();
		json_object_set_new(e, "split", json_string(m->split));
		json_object_set_new(e, "metric", json_string(m->metric));
		json_object_set_new(e, "a", m->a ? json_deep_copy(m->a) : json_null());
		json_object_set_new(e, "b", m->b ? json_deep_copy(m->b) : json_null());
		double va = num_or_nan(json_object_get(m->a, "value")), vb = num_or_nan(json_object_get(m->b, "value"));
		json_object_set_new(e, "delta", isfinite(va) && isfinite(vb) ? json_real(vb - va) : json_null());
		json_object_set_new(e, "change",
				    json_string(m->change > 0 ? "better" : m->change < 0 ? "worse" : "within_intervals"));
		json_array_append_new(metrics, e);
	}
	json_object_set_new(o, "metrics", metrics);
	json_t *findings = json_object();
	for (int c = DIFF_NEW; c <= DIFF_UNCHANGED; c++)
		json_object_set_new(findings, change_names[c], json_array());
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct diff_finding *x = &d->findings[i];
		json_t *e = finding_brief(x->b ? x->b : x->a);
		if (x->a && x->b) {
			json_object_set(e, "severity_a", json_object_get(x->a, "severity"));
			json_object_set(e, "severity_b", json_object_get(x->b, "severity"));
		}
		if (x->why)
			json_object_set_new(e, "why", json_string(x->why));
		json_array_append_new(json_object_get(findings, change_names[x->change]), e);
	}
	json_object_set_new(o, "findings", findings);
	return o;
}

int diff_main(int argc, char **argv)
{
	const char *runs[2] = {NULL, NULL}, *format = "text";
	size_t nruns = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--format")) {
			if (i + 1 >= argc)
				return ERR_INPUT("diff: --format needs a value (text, md or json)"), MLA_EINPUT;
			format = argv[++i];
		} else if (!strncmp(a, "--format=", 9))
			format = a + 9;
		else if (!strncmp(a, "--", 2) && a[2])
			return ERR_INPUT("diff: unknown option %s (usage: mlaudit diff RUN_A RUN_B [--format text|md|json])",
					 a), MLA_EINPUT;
		else if (nruns < 2)
			runs[nruns++] = a;
		else
			return ERR_INPUT("diff: unexpected argument '%s' (usage: mlaudit diff RUN_A RUN_B [--format text|md|json])",
					 a), MLA_EINPUT;
	}
	if (nruns != 2)
		return ERR_INPUT("usage: mlaudit diff RUN_A RUN_B [--format text|md|json]"), MLA_EINPUT;
	if (strcmp(format, "text") && strcmp(format, "md") && strcmp(format, "json"))
		return ERR_INPUT("diff: --format %s: expected text, md or json", format), MLA_EINPUT;

	json_t *a = diff_load_summary(runs[0]);
	json_t *b = a ? diff_load_summary(runs[1]) : NULL;
	if (!a || !b) {
		json_decref(a);
		return MLA_EINPUT;
	}
	struct run_diff d;
	diff_runs(a, b, &d);
	struct strbuf out;
	sb_init(&out);
	if (!strcmp(format, "json")) {
		json_t *j = format_json(&d);
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		json_decref(j);
		sb_puts(&out, text ? text : "{}");
		sb_putc(&out, '\n');
		free(text);
	} else if (!strcmp(format, "md"))
		format_md(&d, &out);
	else
		format_text(&d, &out);
	fwrite(out.data, 1, out.len, stdout);
	int status = d.worsened ? MLA_FINDINGS : MLA_OK;
	sb_free(&out);
	diff_free(&d);
	json_decref(a);
	json_decref(b);
	return status;
}
