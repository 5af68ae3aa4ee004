/* format.c - text pieces the report's outputs share: estimates, counts, the
 * title, the headline and the "do first" list. Each comes in two forms, markdown
 * (data escaped) and plain text (for the workbook), from the same code so the
 * page, summary.md and the Summary sheet say the same thing. */
#include "model.h"
#include "escape.h"
#include "../../pipeline/findings.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double clean_zero(double v)
{
	/* "-0.000" would read as a sign that is not there */
	return fabs(v) < 5e-4 ? 0.0 : v;
}

void fmt_text(struct strbuf *out, const char *s, int md)
{
	if (md)
		escape_md(out, s);
	else if (s)
		sb_puts(out, s);
}

void fmt_est(struct strbuf *out, const json_t *est, int md)
{
	const json_t *v = json_object_get(est, "value");
	if (!json_is_number(v)) {
		/* undefined is never shown as a number: 0 would read as a result */
		sb_puts(out, "n/a (");
		const char *reason = json_string_value(json_object_get(est, "reason"));
		fmt_text(out, reason ? reason : json_is_object(est) ? "undefined" : "not computed", md);
		sb_putc(out, ')');
		return;
	}
	sb_printf(out, "%.3f", clean_zero(json_number_value(v)));
	const json_t *lo = json_object_get(est, "ci_low"), *hi = json_object_get(est, "ci_high");
	if (json_is_number(lo) && json_is_number(hi))
		sb_printf(out, " ±%.3f", fabs(json_number_value(hi) - json_number_value(lo)) / 2);
}

static const struct {
	const char *key, *name;
} metric_names[] = {
	{"accuracy", "accuracy"}, {"balanced_accuracy", "balanced accuracy"},
	{"precision", "precision"}, {"recall", "recall"}, {"f1", "F1"},
	{"macro_precision", "macro precision"}, {"macro_recall", "macro recall"},
	{"macro_f1", "macro F1"}, {"roc_auc", "ROC-AUC"}, {"pr_auc", "PR-AUC"},
	{"log_loss", "log-loss"}, {"brier", "Brier score"}, {"ece", "ECE"},
};

void fmt_metric(struct strbuf *out, const char *key, int md)
{
	for (size_t i = 0; key && i < sizeof metric_names / sizeof metric_names[0]; i++)
		if (!strcmp(key, metric_names[i].key)) {
			sb_puts(out, metric_names[i].name);
			return;
		}
	fmt_text(out, key ? key : "metric", md);
}

void fmt_count(struct strbuf *out, long long n)
{
	char digits[32];
	snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
	size_t len = strlen(digits);
	if (n < 0)
		sb_putc(out, '-');
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			sb_putc(out, ',');
		sb_putc(out, digits[i]);
	}
}

void fmt_p(struct strbuf *out, double p)
{
	if (!isfinite(p))
		sb_puts(out, "n/a");
	else if (p == 0)
		sb_puts(out, "0");
	else
		sb_printf(out, "%.2g", p);
}

/* One evidence value: numbers, booleans, strings and estimates; other
 * shapes (lists, nested tables) are in summary.json and the workbook. */
static int fmt_evidence_value(struct strbuf *out, const json_t *v, int md)
{
	if (json_is_integer(v))
		fmt_count(out, (long long)json_integer_value(v));
	else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (fabs(d) >= 1e-3 && fabs(d) < 1e6)
			sb_printf(out, "%.3g", d);
		else
			fmt_p(out, d);
	} else if (json_is_boolean(v))
		sb_puts(out, json_is_true(v) ? "yes" : "no");
	else if (json_is_string(v))
		fmt_text(out, json_string_value(v), md);
	else if (json_is_object(v) && json_object_get(v, "value"))
		fmt_est(out, v, md);
	else
		return 0;
	return 1;
}

void fmt_evidence(struct strbuf *out, const json_t *evidence, int md, size_t max_items)
{
	const char *key;
	const json_t *v;
	size_t shown = 0;
	json_object_foreach((json_t *)evidence, key, v) {
		if (shown == max_items)
			break;
		struct strbuf item;
		sb_init(&item);
		/* keys are identifiers like "p_value": read better with spaces */
		char *label = xstrdup(key);
		for (char *c = label; *c; c++)
			if (*c == '_')
				*c = ' ';
		fmt_text(&item, label, md);
		free(label);
		sb_putc(&item, ' ');
		if (fmt_evidence_value(&item, v, md)) {
			if (shown++)
				sb_puts(out, " · ");
			sb_puts(out, item.data);
		}
		sb_free(&item);
	}
}

void fmt_title(const struct report_model *m, struct strbuf *out, int md)
{
	fmt_text(out, m->name, md);
	sb_puts(out, " · run ");
	fmt_text(out, m->run_id, md);
	sb_puts(out, " · ");
	for (const char *c = m->verdict; *c; c++)
		sb_putc(out, (char)toupper((unsigned char)*c));
}

void fmt_counts(const struct report_model *m, struct strbuf *out)
{
	int total = 0, parts = 0;
	for (int s = SEV_HIGH; s >= SEV_INFO; s--) {
		if (!m->counts[s])
			continue;
		sb_printf(out, "%s%d %s", parts++ ? ", " : "", m->counts[s], severity_name((enum severity)s));
		total += m->counts[s];
	}
	if (total == 0)
		sb_puts(out, "No findings");
	else
		sb_puts(out, total == 1 ? " finding" : " findings");
}

static void fmt_interval(struct strbuf *out, const json_t *est)
{
	const json_t *lo = json_object_get(est, "ci_low"), *hi = json_object_get(est, "ci_high");
	if (json_is_number(lo) && json_is_number(hi))
		sb_printf(out, " (95%% CI %.3f–%.3f)", clean_zero(json_number_value(lo)),
			  clean_zero(json_number_value(hi)));
}

static void fmt_rows_of(const struct report_model *m, struct strbuf *out, const char *split)
{
	const json_t *rows = json_object_get(model_split(m, split), "rows");
	if (json_is_integer(rows)) {
		fmt_count(out, (long long)json_integer_value(rows));
		sb_puts(out, " rows");
	}
}

/* "Current data (18,204 rows) scores **0.712 F1** (95% CI ...)" or its n/a form. */
static void fmt_scores(const struct report_model *m, struct strbuf *out, int md, const char *split)
{
	const json_t *est = model_estimate(m, split, m->metric);
	sb_putc(out, (char)toupper((unsigned char)split[0]));
	fmt_text(out, split + 1, md);
	sb_puts(out, " data (");
	fmt_rows_of(m, out, split);
	sb_puts(out, ") ");
	if (!json_is_number(json_object_get(est, "value"))) {
		sb_puts(out, "has no ");
		fmt_metric(out, m->metric, md);
		sb_puts(out, ": ");
		fmt_est(out, est, md);
		return;
	}
	sb_puts(out, "scores ");
	if (md)
		sb_puts(out, "**");
	sb_printf(out, "%.3f ", clean_zero(json_number_value(json_object_get(est, "value"))));
	fmt_metric(out, m->metric, md);
	if (md)
		sb_puts(out, "**");
	fmt_interval(out, est);
}

/* The "gap" estimate of the performance_drop finding on `split`, if any. */
static const json_t *drop_gap(const struct report_model *m, const char *split)
{
	for (size_t i = 0; i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		const char *kind = json_string_value(json_object_get(f, "kind"));
		const char *s = json_string_value(json_object_get(json_object_get(f, "subject"), "split"));
		const json_t *gap = json_object_get(json_object_get(f, "evidence"), "gap");
		if (kind && s && !strcmp(kind, "performance_drop") && !strcmp(s, split) &&
		    json_is_number(json_object_get(gap, "value")))
			return gap;
	}
	return NULL;
}

void fmt_headline(const struct report_model *m, struct strbuf *out, int md)
{
	if (md)
		sb_puts(out, "**");
	fmt_counts(m, out);
	sb_putc(out, '.');
	if (md)
		sb_puts(out, "**");
	const char *ref = model_split(m, "test") ? "test" : model_nsplits(m) ? model_split_name(m, 0) : NULL;
	const char *cur = model_current_split(m);
	if (ref && cur) {
		sb_putc(out, ' ');
		fmt_scores(m, out, md, cur);
		const json_t *r = model_estimate(m, ref, m->metric);
		const json_t *c = model_estimate(m, cur, m->metric);
		const json_t *rv = json_object_get(r, "value"), *cv = json_object_get(c, "value");
		if (json_is_number(rv)) {
			sb_printf(out, " against %.3f", clean_zero(json_number_value(rv)));
			fmt_interval(out, r);
			sb_puts(out, " on ");
			fmt_text(out, ref, md);
			const json_t *gap = drop_gap(m, cur);
			if (gap) {
				/* evaluate's gap is "how much worse", whichever way the metric points */
				sb_printf(out, ", a drop of %.3f", clean_zero(json_number_value(json_object_get(gap, "value"))));
				fmt_interval(out, gap);
			} else if (json_is_number(cv))
				sb_printf(out, ", a change of %+.3f", clean_zero(json_number_value(cv) - json_number_value(rv)));
		}
		sb_putc(out, '.');
	} else if (ref) {
		sb_putc(out, ' ');
		fmt_scores(m, out, md, ref);
		const json_t *t = json_object_get(model_estimate(m, "train", m->metric), "value");
		if (strcmp(ref, "train") && json_is_number(t))
			sb_printf(out, "; train scores %.3f", clean_zero(json_number_value(t)));
		sb_puts(out, ". No current data was given.");
	}
	const json_t *top = json_array_get(m->findings, 0);
	if (top && finding_severity(top) >= SEV_LOW) {
		sb_printf(out, " Top finding (%s): ", severity_name(finding_severity(top)));
		fmt_text(out, json_string_value(json_object_get(top, "title")), md);
		size_t len = out->len;
		if (len && out->data[len - 1] != '.')
			sb_putc(out, '.');
	}
}

static double value_of(const json_t *est)
{
	const json_t *v = json_object_get(est, "value");
	return json_is_number(v) ? json_number_value(v) : NAN;
}

void fmt_effect(struct strbuf *out, const json_t *eff, int md)
{
	if (!json_is_object(eff))
		return;
	fmt_metric(out, json_string_value(json_object_get(eff, "metric")), md);
	const char *split = json_string_value(json_object_get(eff, "split"));
	if (split) {
		sb_puts(out, " on ");
		fmt_text(out, split, md);
	}
	sb_putc(out, ' ');
	fmt_est(out, json_object_get(eff, "before"), md);
	sb_puts(out, " → ");
	fmt_est(out, json_object_get(eff, "after"), md);
	const json_t *delta = json_object_get(eff, "delta");
	double d = json_is_object(delta) ? value_of(delta) : value_of(json_object_get(eff, "after")) -
							      value_of(json_object_get(eff, "before"));
	if (isfinite(d)) {
		sb_printf(out, " (%+.3f", clean_zero(d));
		const json_t *lo = json_object_get(delta, "ci_low"), *hi = json_object_get(delta, "ci_high");
		if (json_is_number(lo) && json_is_number(hi))
			sb_printf(out, " ±%.3f", fabs(json_number_value(hi) - json_number_value(lo)) / 2);
		sb_putc(out, ')');
	}
}

/* ", measured on a probe: accuracy 0.669 → 0.790" for a "do first" item */
static void fmt_effect_short(struct strbuf *out, const json_t *eff, int md)
{
	if (!json_is_object(eff))
		return;
	double b = value_of(json_object_get(eff, "before")), a = value_of(json_object_get(eff, "after"));
	if (!isfinite(a) || !isfinite(b))
		return;
	sb_puts(out, " (measured on a probe: ");
	fmt_metric(out, json_string_value(json_object_get(eff, "metric")), md);
	sb_printf(out, " %.3f → %.3f)", clean_zero(b), clean_zero(a));
}

static const json_t *find_finding(const struct report_model *m, const char *id)
{
	for (size_t i = 0; id && i < json_array_size(m->findings); i++) {
		const json_t *f = json_array_get(m->findings, i);
		const char *fid = json_string_value(json_object_get(f, "id"));
		if (fid && !strcmp(fid, id))
			return f;
	}
	return NULL;
}

static int already(char **items, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(items[i], s))
			return 1;
	return 0;
}

static size_t add_item(char **items, size_t n, size_t max, const char *text, const json_t *effect, int md)
{
	if (n == max)
		return n;
	struct strbuf sb;
	sb_init(&sb);
	fmt_text(&sb, text, md);
	struct strbuf eff;
	sb_init(&eff);
	fmt_effect_short(&eff, effect, md);
	if (eff.len) {
		/* "...before scoring (measured on a probe: ...)." : the effect goes inside the sentence */
		if (md && sb.len >= 2 && !strcmp(sb.data + sb.len - 2, "\\."))
			sb.len -= 2;
		else if (!md && sb.len >= 1 && sb.data[sb.len - 1] == '.')
			sb.len -= 1;
		sb.data[sb.len] = 0;
		sb_puts(&sb, eff.data);
		sb_puts(&sb, md ? "\\." : ".");
	}
	sb_free(&eff);
	if (already(items, n, sb.data)) {
		sb_free(&sb);
		return n;
	}
	items[n] = sb_detach(&sb);
	return n + 1;
}

size_t fmt_do_first(const struct report_model *m, char **items, size_t max, int md)
{
	size_t n = 0;
	/* the mitigate stage's order (severity, the data's feeds before the model,
	 * measured gains first, actions measured to gain nothing last), keeping
	 * those that address a finding at low or above */
	for (size_t i = 0; i < json_array_size(m->mitigations) && n < max; i++) {
		const json_t *mi = json_array_get(m->mitigations, i);
		const json_t *ids = json_object_get(mi, "addresses");
		int worth = 0;
		for (size_t k = 0; !worth && k < json_array_size(ids); k++) {
			const json_t *f = find_finding(m, json_string_value(json_array_get(ids, k)));
			worth = f && finding_severity(f) >= SEV_LOW;
		}
		if (worth)
			n = add_item(items, n, max, json_string_value(json_object_get(mi, "text")),
				     json_object_get(mi, "measured_effect"), md);
	}
	/* mitigations that name no finding still beat none */
	int unlinked = n == 0;
	for (size_t i = 0; unlinked && i < json_array_size(m->mitigations) && n < max; i++)
		n = add_item(items, n, max, json_string_value(json_object_get(json_array_get(m->mitigations, i), "text")),
			     json_object_get(json_array_get(m->mitigations, i), "measured_effect"), md);
	/* no mitigation stage yet: the top findings are what to look at */
	int from_findings = n == 0;
	for (size_t i = 0; from_findings && i < json_array_size(m->findings) && n < max; i++) {
		const json_t *f = json_array_get(m->findings, i);
		if (finding_severity(f) < SEV_LOW)
			break;
		/* the title is data (escaped); the wording around it is ours */
		struct strbuf item;
		sb_init(&item);
		sb_puts(&item, "look into: ");
		fmt_text(&item, json_string_value(json_object_get(f, "title")), md);
		/* "...of test. (step 1)" reads badly: drop the title's own full stop */
		if (md && item.len >= 2 && !strcmp(item.data + item.len - 2, "\\."))
			item.len -= 2;
		else if (!md && item.len >= 1 && item.data[item.len - 1] == '.')
			item.len -= 1;
		item.data[item.len] = 0;
		if (model_finding_section(f))
			sb_printf(&item, " (step %d)", model_finding_section(f));
		else
			sb_puts(&item, " (probes appendix)");
		items[n++] = sb_detach(&item);
	}
	return n;
}

void fmt_overview_table(const struct report_model *m, struct strbuf *out)
{
	size_t ns = model_nsplits(m);
	sb_puts(out, "| |");
	for (size_t i = 0; i < ns; i++) {
		sb_putc(out, ' ');
		escape_md(out, model_split_name(m, i));
		sb_puts(out, " |");
	}
	sb_puts(out, "\n|---|");
	for (size_t i = 0; i < ns; i++)
		sb_puts(out, "---|");
	sb_putc(out, '\n');

	const char *rows[3] = {m->metric, "accuracy", "roc_auc"};
	for (size_t r = 0; r < 3; r++) {
		if (r > 0 && !strcmp(rows[r], m->metric))
			continue;
		sb_puts(out, "| ");
		fmt_metric(out, rows[r], 1);
		if (r == 0)
			sb_puts(out, " (chosen metric)");
		sb_puts(out, " |");
		for (size_t i = 0; i < ns; i++) {
			sb_putc(out, ' ');
			fmt_est(out, model_estimate(m, model_split_name(m, i), rows[r]), 1);
			sb_puts(out, " |");
		}
		sb_putc(out, '\n');
	}
	sb_puts(out, "| rows |");
	for (size_t i = 0; i < ns; i++) {
		sb_putc(out, ' ');
		const json_t *rows_n = json_object_get(model_split(m, model_split_name(m, i)), "rows");
		if (json_is_integer(rows_n))
			fmt_count(out, (long long)json_integer_value(rows_n));
		else
			sb_puts(out, "n/a");
		sb_puts(out, " |");
	}
	sb_putc(out, '\n');
}
