/* evaluate.c - step 1 of the framework: how does the model perform on the data
 * that matters. Metrics per split and per segment value with 95% intervals
 * (metrics.c), and the step-1 findings:
 *
 *   overfitting            train above test on the chosen metric
 *   performance_drop       test above a current split
 *   low_train_performance  train below test, or train no better than the majority class
 *   weak_segment           a segment value below the rest of its split (BH across segments)
 *   misaligned_metric      accuracy on imbalanced labels; a threshold far from the best one
 *   miscalibration         expected calibration error on test/current
 *   confident_errors       wrong predictions made with >= 95% confidence, beyond calibration
 *   below_reference        the best reference probe (probes stage) above the model on test
 *
 * In data mode (no prediction or probability columns) the best reference probe
 * stands in for the model: its out-of-fold probabilities on train and its
 * predictions on the other splits (probes/oof.csv.gz, probes/pred_SPLIT.csv.gz)
 * are read as the model's probabilities, and metrics.json says so ("stand_in").
 *
 * The thresholds below are the ones the report's methods appendix states. */
#include "evaluate.h"
#include "metrics.h"
#include "stats.h"
#include "../ingest/frame.h"
#include "../probes/probes_stage.h"
#include "../../pipeline/findings.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_GAP 0.02            /* smallest gap between splits or segments worth a finding */
#define GAP_P 0.01              /* significance for split comparisons */
#define SEGMENT_Q 0.05          /* Benjamini-Hochberg level across all segment tests of a run */
#define SEGMENT_MIN_ROWS 30     /* smaller segments are reported but not tested */
#define SEGMENT_MAX_VALUES 50   /* per column, the largest values are evaluated */
#define CONFIDENT 0.95          /* a confident prediction */
#define CONFIDENT_ERRORS_LISTED 20
#define IMBALANCE_SHARE 0.20    /* minority share below which accuracy misleads */
#define THRESHOLD_GAIN 0.01     /* gain from moving the threshold worth a finding */

/* Bump when a rule or threshold changes, so stored results are not reused. */
#define EVALUATE_RULES 2

void evaluate_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;metric=%s;seed=%llu;gap=%g;p=%g;q=%g;min_rows=%d;conf=%g", EVALUATE_RULES, cfg->metric,
		  (unsigned long long)cfg->seed, MIN_GAP, GAP_P, SEGMENT_Q, SEGMENT_MIN_ROWS, CONFIDENT);
}

static enum severity gap_severity(double gap)
{
	return gap >= 0.10 ? SEV_HIGH : gap >= 0.05 ? SEV_MEDIUM : SEV_LOW;
}

/* ---- a split's model outputs as arrays ---- */

struct split_data {
	const char *name;
	struct frame *frame;
	size_t n;                 /* rows with a label and a model output */
	size_t n_skipped;         /* rows left out: no label, or no model output */
	int *y, *pred;
	double *proba;            /* n x K, or NULL */
	size_t *row;              /* frame row of each evaluated row */
	int id_col;               /* -1: rows are named by number */
	struct eval_metrics m;
	int has_metrics;
};

struct task {
	char **classes;
	int k, positive;
	const char *metric;
	int higher_better;
	int has_proba;
};

static int class_index(const struct task *t, const char *name)
{
	for (int k = 0; k < t->k; k++)
		if (!strcmp(t->classes[k], name))
			return k;
	return -1;
}

/* Map the label, prediction and probability columns of a frame to arrays over
 * classes 0..K-1. Rows without a label or without any model output are left
 * out (and counted). */
static int split_arrays(struct split_data *sd, const struct task *t, const struct audit_config *cfg,
			const double *standin)
{
	struct frame *f = sd->frame;
	int lab = -1, pred = -1, proba = -1;
	int *pcols = xmalloc((size_t)t->k * sizeof *pcols);
	for (int k = 0; k < t->k; k++)
		pcols[k] = -1;
	sd->id_col = -1;
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role == ROLE_LABEL)
			lab = (int)j;
		else if (c->role == ROLE_PREDICTION)
			pred = (int)j;
		else if (c->role == ROLE_ID)
			sd->id_col = (int)j;
		else if (c->role == ROLE_PROBA && cfg->proba && !strcmp(c->name, cfg->proba))
			proba = (int)j;
		else if (c->role == ROLE_PROBA && cfg->proba_prefix)
			for (int k = 0; k < t->k; k++) {
				size_t pl = strlen(cfg->proba_prefix);
				if (!strcmp(c->name + pl, t->classes[k]))
					pcols[k] = (int)j;
			}
	}
	if (lab < 0) {
		free(pcols);
		return ERR_INTERNAL("%s: no label column in the ingest frame", sd->name);
	}
	/* level -> class index maps, so the per-row work is a lookup */
	const struct frame_column *lc = &f->cols[lab];
	int *lab_map = xmalloc((lc->nlevels + 1) * sizeof *lab_map);
	for (size_t l = 0; l < lc->nlevels; l++)
		lab_map[l] = class_index(t, lc->levels[l]);
	int *pred_map = NULL;
	if (pred >= 0) {
		const struct frame_column *pc = &f->cols[pred];
		pred_map = xmalloc((pc->nlevels + 1) * sizeof *pred_map);
		for (size_t l = 0; l < pc->nlevels; l++)
			pred_map[l] = class_index(t, pc->levels[l]);
	}
	size_t n = f->nrows, kk = (size_t)t->k;
	sd->y = xmalloc(n * sizeof *sd->y);
	sd->pred = xmalloc(n * sizeof *sd->pred);
	sd->row = xmalloc(n * sizeof *sd->row);
	sd->proba = t->has_proba ? xmalloc(n * kk * sizeof *sd->proba) : NULL;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t code = lc->code[i];
		if (code < 0 || lab_map[code] < 0)
			continue;
		double *p = sd->proba ? sd->proba + m * kk : NULL;
		if (p) {
			int ok = 1;
			if (standin) {   /* data mode: the probe's probabilities for this frame row */
				for (int k = 0; k < t->k; k++) {
					p[k] = standin[i * kk + (size_t)k];
					ok &= !isnan(p[k]);
				}
			} else if (proba >= 0) {
				double pp = f->cols[proba].num[i];
				ok = !isnan(pp);
				p[t->positive] = pp;
				p[1 - t->positive] = 1 - pp;
			} else {
				double sum = 0;
				for (int k = 0; k < t->k; k++) {
					p[k] = f->cols[pcols[k]].num[i];
					ok &= !isnan(p[k]);
					sum += p[k];
				}
				/* rows that do not sum to 1 (rounding in a CSV) are renormalised */
				if (ok && sum > 0)
					for (int k = 0; k < t->k; k++)
						p[k] /= sum;
			}
			if (!ok)
				continue;
		}
		int pr = -1;
		if (pred >= 0) {
			int32_t pcode = f->cols[pred].code[i];
			pr = pcode >= 0 ? pred_map[pcode] : -1;
		} else if (p) {
			pr = 0;
			for (int k = 1; k < t->k; k++)
				if (p[k] > p[pr])
					pr = k;
		}
		if (pr < 0)
			continue;
		sd->y[m] = lab_map[code];
		sd->pred[m] = pr;
		sd->row[m] = i;
		m++;
	}
	sd->n = m;
	sd->n_skipped = n - m;
	free(lab_map);
	free(pred_map);
	free(pcols);
	return 0;
}

/* ---- JSON ---- */

static json_t *est(const struct estimate *e)
{
	return estimate_json(e->value, e->lo, e->hi, (long long)e->n, e->reason);
}

static const char *const metric_names[] = {
	"accuracy", "balanced_accuracy", "precision", "recall", "f1", "macro_precision", "macro_recall",
	"macro_f1", "roc_auc", "pr_auc", "log_loss", "brier", "ece", NULL};

static json_t *metrics_object(const struct eval_metrics *m)
{
	json_t *o = json_object();
	for (const char *const *name = metric_names; *name; name++)
		json_object_set_new(o, *name, est(metrics_get(m, *name)));
	return o;
}

static const char *row_name(const struct split_data *sd, size_t i, char *buf, size_t size)
{
	size_t row = sd->row[i];
	if (sd->id_col >= 0) {
		const char *v = frame_level(&sd->frame->cols[sd->id_col], row);
		if (v)
			return v;
	}
	snprintf(buf, size, "row %zu", row + 1);
	return buf;
}

static double confidence(const struct split_data *sd, const struct task *t, size_t i)
{
	return sd->proba[i * (size_t)t->k + (size_t)sd->pred[i]];
}

static int cmp_conf_desc(const void *a, const void *b)
{
	const double *x = a, *y = b;   /* pairs (confidence, index) */
	if (x[0] != y[0])
		return x[0] < y[0] ? 1 : -1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The confident errors of a split, their listing, and the finding when they
 * exceed what the model's own confidence predicts. */
static json_t *confident_errors(const struct split_data *sd, const struct task *t, json_t *findings)
{
	json_t *list = json_array();
	if (!sd->proba)
		return list;
	size_t m = 0, wrong = 0;
	double expected = 0, var = 0;
	double *pairs = xmalloc(2 * (sd->n ? sd->n : 1) * sizeof *pairs);
	size_t nw = 0;
	for (size_t i = 0; i < sd->n; i++) {
		double c = confidence(sd, t, i);
		if (c < CONFIDENT)
			continue;
		m++;
		expected += 1 - c;
		var += c * (1 - c);
		if (sd->pred[i] != sd->y[i]) {
			wrong++;
			pairs[2 * nw] = c;
			pairs[2 * nw + 1] = (double)i;
			nw++;
		}
	}
	qsort(pairs, nw, 2 * sizeof *pairs, cmp_conf_desc);
	for (size_t w = 0; w < nw && w < CONFIDENT_ERRORS_LISTED; w++) {
		size_t i = (size_t)pairs[2 * w + 1];
		char buf[32];
		json_t *e = json_object();
		json_object_set_new(e, "row", json_integer((json_int_t)sd->row[i] + 1));
		json_object_set_new(e, "id", json_string(row_name(sd, i, buf, sizeof buf)));
		json_object_set_new(e, "true", json_string(t->classes[sd->y[i]]));
		json_object_set_new(e, "predicted", json_string(t->classes[sd->pred[i]]));
		json_object_set_new(e, "confidence", json_real(pairs[2 * w]));
		json_array_append_new(list, e);
	}
	free(pairs);
	if (wrong == 0)
		return list;
	/* Under calibration the number of errors among confident rows is a sum of
	 * Bernoulli(1 - c): mean `expected`, variance `var` (Poisson-binomial). */
	double rate = (double)wrong / (double)m, exp_rate = expected / (double)m;
	double z = var > 0 ? ((double)wrong - expected) / sqrt(var) : 0;
	enum severity sev = SEV_INFO;
	if (m >= 20 && z > 3 && rate >= 2 * exp_rate + 0.02)
		sev = rate >= 0.05 ? SEV_HIGH : SEV_MEDIUM;
	char *title = xasprintf("%zu confident errors in %s: %.1f%% of the predictions made with at least %.0f%% confidence are wrong (%.1f%% if the model were calibrated).",
				wrong, sd->name, 100 * rate, 100 * CONFIDENT, 100 * exp_rate);
	json_t *ev = json_object();
	json_object_set_new(ev, "confident_rows", json_integer((json_int_t)m));
	json_object_set_new(ev, "wrong", json_integer((json_int_t)wrong));
	double lo, hi;
	stats_wilson(wrong, m, 1.959963984540054, &lo, &hi);
	json_object_set_new(ev, "error_rate", estimate_json(rate, lo, hi, (long long)m, NULL));
	json_object_set_new(ev, "expected_error_rate", json_real(exp_rate));
	json_object_set_new(ev, "z", json_real(z));
	json_object_set_new(ev, "threshold", json_real(CONFIDENT));
	json_object_set_new(ev, "rows", json_deep_copy(list));
	json_array_append_new(findings, finding_new("confident_errors", 1, sev, title,
		subject_new(sd->name, NULL, NULL, NULL, (long long)wrong), ev));
	free(title);
	return list;
}

static json_t *split_json(const struct split_data *sd, const struct task *t, json_t *findings)
{
	const struct eval_metrics *m = &sd->m;
	json_t *o = json_object();
	json_object_set_new(o, "rows", json_integer((json_int_t)sd->frame->nrows));
	json_object_set_new(o, "evaluated", json_integer((json_int_t)sd->n));
	json_object_set_new(o, "metrics", metrics_object(m));
	json_t *pc = json_array();
	for (int k = 0; k < t->k; k++) {
		json_t *c = json_object();
		json_object_set_new(c, "class", json_string(t->classes[k]));
		json_object_set_new(c, "support", json_integer((json_int_t)m->class_support[k]));
		json_object_set_new(c, "precision", est(&m->class_precision[k]));
		json_object_set_new(c, "recall", est(&m->class_recall[k]));
		json_object_set_new(c, "f1", est(&m->class_f1[k]));
		json_array_append_new(pc, c);
	}
	json_object_set_new(o, "per_class", pc);
	json_t *conf = json_object(), *cls = json_array(), *mat = json_array();
	for (int k = 0; k < t->k; k++) {
		json_array_append_new(cls, json_string(t->classes[k]));
		json_t *row = json_array();
		for (int l = 0; l < t->k; l++)
			json_array_append_new(row, json_integer((json_int_t)m->confusion[k * t->k + l]));
		json_array_append_new(mat, row);
	}
	json_object_set_new(conf, "classes", cls);
	json_object_set_new(conf, "matrix", mat);
	json_object_set_new(o, "confusion", conf);
	json_t *rel = json_array();
	if (sd->proba)
		for (int b = 0; b < METRICS_NBINS; b++) {
			const struct reliability_bin *bin = &m->bins[b];
			json_t *e = json_object();
			json_object_set_new(e, "lo", json_real(bin->lo));
			json_object_set_new(e, "hi", json_real(bin->hi));
			json_object_set_new(e, "n", json_integer((json_int_t)bin->n));
			json_object_set_new(e, "confidence", isnan(bin->confidence) ? json_null() : json_real(bin->confidence));
			json_object_set_new(e, "accuracy", isnan(bin->accuracy) ? json_null() : json_real(bin->accuracy));
			json_array_append_new(rel, e);
		}
	json_object_set_new(o, "reliability", rel);
	json_object_set_new(o, "confident_errors", confident_errors(sd, t, findings));
	return o;
}

/* ---- comparisons between splits ---- */

/* How much better a is than b on the chosen metric (negative: worse), with the
 * two-sided p-value of the difference. NAN when either is undefined. */
static double advantage(const struct task *t, const struct estimate *a, const struct estimate *b, double *p)
{
	*p = NAN;
	if (isnan(a->value) || isnan(b->value))
		return NAN;
	*p = stats_diff_pvalue(a->value, a->se, b->value, b->se);
	return t->higher_better ? a->value - b->value : b->value - a->value;
}

static json_t *gap_evidence(const struct task *t, const char *name_a, const struct estimate *a,
			    const char *name_b, const struct estimate *b, double gap, double p)
{
	json_t *ev = json_object();
	json_object_set_new(ev, "metric", json_string(t->metric));
	json_object_set_new(ev, name_a, est(a));
	json_object_set_new(ev, name_b, est(b));
	double se = sqrt(a->se * a->se + b->se * b->se);
	json_object_set_new(ev, "gap", estimate_json(gap, gap - 1.959963984540054 * se, gap + 1.959963984540054 * se,
						     (long long)(a->n + b->n), NULL));
	json_object_set_new(ev, "p_value", json_real(p));
	json_object_set_new(ev, "min_gap", json_real(MIN_GAP));
	return ev;
}

static void compare_splits(struct split_data *sd, size_t ns, const struct task *t, json_t *findings)
{
	const struct split_data *train = &sd[0], *test = &sd[1];
	const struct estimate *tr = metrics_get(&train->m, t->metric), *te = metrics_get(&test->m, t->metric);
	double p, gap = advantage(t, tr, te, &p);
	if (gap > MIN_GAP && p < GAP_P) {
		char *title = xasprintf("The model scores %.3f %s on train but %.3f on test: it fits its training data better than new data.",
					tr->value, t->metric, te->value);
		json_array_append_new(findings, finding_new("overfitting", 1, gap_severity(gap), title,
			subject_new("test", NULL, NULL, NULL, (long long)test->n),
			gap_evidence(t, "train", tr, "test", te, gap, p)));
		free(title);
	}
	gap = advantage(t, te, tr, &p);
	if (gap > MIN_GAP && p < GAP_P) {
		char *title = xasprintf("The model scores %.3f %s on train, below %.3f on test: train labels may be noisy, or train and test differ.",
					tr->value, t->metric, te->value);
		json_array_append_new(findings, finding_new("low_train_performance", 1, gap_severity(gap), title,
			subject_new("train", NULL, NULL, NULL, (long long)train->n),
			gap_evidence(t, "train", tr, "test", te, -gap, p)));
		free(title);
	}
	/* no better than always predicting the most frequent class */
	size_t major = 0;
	for (int k = 0; k < t->k; k++)
		if (train->m.class_support[k] > major)
			major = train->m.class_support[k];
	double base = train->n ? (double)major / (double)train->n : NAN;
	const struct estimate *acc = &train->m.accuracy;
	if (!isnan(acc->value) && acc->hi <= base + MIN_GAP) {
		char *title = xasprintf("On its own training data the model is no better than always predicting the most frequent class (accuracy %.3f vs %.3f).",
					acc->value, base);
		json_t *ev = json_object();
		json_object_set_new(ev, "accuracy", est(acc));
		json_object_set_new(ev, "majority_rate", json_real(base));
		json_array_append_new(findings, finding_new("low_train_performance", 1, SEV_HIGH, title,
			subject_new("train", NULL, NULL, "majority baseline", (long long)train->n), ev));
		free(title);
	}
	for (size_t s = 2; s < ns; s++) {
		const struct estimate *cu = metrics_get(&sd[s].m, t->metric);
		gap = advantage(t, te, cu, &p);
		if (gap > MIN_GAP && p < GAP_P) {
			char *title = xasprintf("On %s the model scores %.3f %s against %.3f on test (%+.3f).",
						sd[s].name, cu->value, t->metric, te->value, t->higher_better ? -gap : gap);
			json_array_append_new(findings, finding_new("performance_drop", 1, gap_severity(gap), title,
				subject_new(sd[s].name, NULL, NULL, NULL, (long long)sd[s].n),
				gap_evidence(t, "test", te, sd[s].name, cu, gap, p)));
			free(title);
		}
	}
}

/* ---- the reference probe ---- */

/* The best reference probe of the probes stage scored on the rows of test the
 * model was evaluated on, and compared on the chosen metric. Recorded in
 * metrics.json ("reference") in any case; a below_reference finding when the
 * probe is ahead by more than MIN_GAP with p < GAP_P (the two estimates'
 * standard errors combined as if independent: conservative, since both are
 * measured on the same rows). Severity as for the other gaps. */
static json_t *reference_check(const struct stage_ctx *ctx, const struct split_data *test, const struct task *t,
			       uint64_t seed, json_t *findings)
{
	double *pp = NULL;
	char *name = NULL;
	int got = probes_standin(ctx->run_dir, test->name, test->frame->nrows, t->k, &pp, &name);
	if (got <= 0) {
		mla_error_clear();   /* a reference that cannot be read leaves out the comparison, not the audit */
		return json_null();
	}
	size_t kk = (size_t)t->k, m = 0;
	int *y = xmalloc((test->n ? test->n : 1) * sizeof *y), *pred = xmalloc((test->n ? test->n : 1) * sizeof *pred);
	double *pr = xmalloc((test->n ? test->n : 1) * kk * sizeof *pr);
	for (size_t i = 0; i < test->n; i++) {
		const double *p = pp + test->row[i] * kk;
		int ok = 1, best = 0;
		for (int k = 0; k < t->k; k++) {
			ok &= !isnan(p[k]);
			if (p[k] > p[best])
				best = k;
		}
		if (!ok)
			continue;
		y[m] = test->y[i];
		pred[m] = best;
		memcpy(pr + m * kk, p, kk * sizeof *pr);
		m++;
	}
	struct eval_input in = {.n = m, .nclasses = t->k, .y = y, .pred = pred, .proba = pr, .positive = t->positive,
				.seed = seed};
	struct eval_metrics pm;
	json_t *out = json_null();
	if (metrics_compute(&in, &pm) == 0) {
		const struct estimate *pe = metrics_get(&pm, t->metric), *me = metrics_get(&test->m, t->metric);
		double p, gap = advantage(t, pe, me, &p);
		out = json_object();
		json_object_set_new(out, "probe", json_string(name));
		json_object_set_new(out, "split", json_string(test->name));
		json_object_set_new(out, "metric", json_string(t->metric));
		json_object_set_new(out, "probe_value", est(pe));
		json_object_set_new(out, "model_value", est(me));
		json_object_set_new(out, "probe_ahead_by", isnan(gap) ? json_null() : json_real(gap));
		if (gap > MIN_GAP && p < GAP_P) {
			char *title = xasprintf("A reference probe (%s) trained on the same features scores %.3f %s on %s against "
						"the model's %.3f: the model leaves performance that the data support on the table.",
						name, pe->value, t->metric, test->name, me->value);
			json_t *ev = gap_evidence(t, "probe", pe, "model", me, gap, p);
			json_object_set_new(ev, "probe_name", json_string(name));
			json_array_append_new(findings, finding_new("below_reference", 1, gap_severity(gap), title,
				subject_new(test->name, NULL, NULL, "reference probe", (long long)m), ev));
			free(title);
		}
		metrics_free(&pm);
	} else
		mla_error_clear();
	free(y);
	free(pred);
	free(pr);
	free(pp);
	free(name);
	return out;
}

/* ---- segments ---- */

struct segment_test {
	json_t *entry;            /* the metrics.json entry */
	double p, gap;
	size_t rows;
	int tested;
	const char *split;
	char *segment;            /* "column=value" */
};

static void subset(const struct split_data *sd, const struct task *t, const char *mask, char want,
		   struct eval_input *in, int **y, int **pred, double **proba)
{
	size_t m = 0, kk = (size_t)t->k;
	*y = xmalloc((sd->n ? sd->n : 1) * sizeof **y);
	*pred = xmalloc((sd->n ? sd->n : 1) * sizeof **pred);
	*proba = sd->proba ? xmalloc((sd->n ? sd->n : 1) * kk * sizeof **proba) : NULL;
	for (size_t i = 0; i < sd->n; i++) {
		if (mask[i] != want)
			continue;
		(*y)[m] = sd->y[i];
		(*pred)[m] = sd->pred[i];
		if (*proba)
			memcpy(*proba + m * kk, sd->proba + i * kk, kk * sizeof **proba);
		m++;
	}
	*in = (struct eval_input){.n = m, .nclasses = t->k, .y = *y, .pred = *pred, .proba = *proba,
				  .positive = t->positive};
}

static int eval_mask(const struct split_data *sd, const struct task *t, const char *mask, char want,
		     uint64_t seed, struct eval_metrics *out)
{
	struct eval_input in;
	int *y, *pred;
	double *proba;
	subset(sd, t, mask, want, &in, &y, &pred, &proba);
	in.seed = seed;
	int rc = metrics_compute(&in, out);
	free(y);
	free(pred);
	free(proba);
	return rc;
}

static int cmp_count_desc(const void *a, const void *b)
{
	const size_t *x = a, *y = b;   /* pairs (count, level) */
	if (x[0] != y[0])
		return x[0] < y[0] ? 1 : -1;
	return x[1] < y[1] ? -1 : 1;
}

static int segment_tests(const struct split_data *sd, const struct task *t, uint64_t seed,
			 struct segment_test **tests, size_t *ntests)
{
	const struct frame *f = sd->frame;
	char *mask = xmalloc(sd->n ? sd->n : 1);
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role != ROLE_SEGMENT)
			continue;
		size_t nlev = c->nlevels;
		size_t *counts = xcalloc(2 * (nlev + 1), sizeof *counts);
		for (size_t l = 0; l < nlev; l++)
			counts[2 * l + 1] = l;
		for (size_t i = 0; i < sd->n; i++) {
			int32_t code = c->code[sd->row[i]];
			if (code >= 0)
				counts[2 * (size_t)code]++;
		}
		qsort(counts, nlev, 2 * sizeof *counts, cmp_count_desc);
		for (size_t l = 0; l < nlev && l < SEGMENT_MAX_VALUES; l++) {
			size_t level = counts[2 * l + 1], rows = counts[2 * l];
			if (rows == 0)
				continue;
			for (size_t i = 0; i < sd->n; i++)
				mask[i] = c->code[sd->row[i]] == (int32_t)level;
			struct eval_metrics in_seg, rest;
			int rc = eval_mask(sd, t, mask, 1, seed + l, &in_seg);
			if (rc == 0 && rows < sd->n)
				rc = eval_mask(sd, t, mask, 0, seed + l + 7919, &rest);
			else if (rc == 0)
				memset(&rest, 0, sizeof rest);
			if (rc != 0) {
				free(counts);
				free(mask);
				return -1;
			}
			*tests = xrealloc(*tests, (*ntests + 1) * sizeof **tests);
			struct segment_test *st = &(*tests)[(*ntests)++];
			memset(st, 0, sizeof *st);
			st->split = sd->name;
			st->rows = rows;
			st->segment = xasprintf("%s=%s", c->name, c->levels[level]);
			json_t *e = json_object();
			json_object_set_new(e, "split", json_string(sd->name));
			json_object_set_new(e, "column", json_string(c->name));
			json_object_set_new(e, "value", json_string(c->levels[level]));
			json_object_set_new(e, "rows", json_integer((json_int_t)rows));
			json_t *mm = json_object();
			json_object_set_new(mm, t->metric, est(metrics_get(&in_seg, t->metric)));
			if (strcmp(t->metric, "accuracy"))
				json_object_set_new(mm, "accuracy", est(&in_seg.accuracy));
			json_object_set_new(e, "metrics", mm);
			json_t *rj = json_object();
			if (rows < sd->n) {
				const struct estimate *a = metrics_get(&in_seg, t->metric), *b = metrics_get(&rest, t->metric);
				json_object_set_new(rj, t->metric, est(b));
				double p;
				double gap = advantage(t, b, a, &p);   /* how much better the rest is */
				/* train segments are shown, not tested: a model's weak spots
				 * that matter are on data it has not seen */
				st->tested = rows >= SEGMENT_MIN_ROWS && rows < sd->n && !isnan(gap) &&
					     strcmp(sd->name, "train");
				st->p = st->tested ? p : NAN;
				st->gap = gap;
				if (!st->tested)
					json_object_set_new(e, "not_tested", json_string(
						isnan(gap) ? "metric undefined in the segment or the rest"
						: !strcmp(sd->name, "train") ? "train segments are not tested"
									      : "fewer rows than the minimum"));
			}
			json_object_set_new(e, "rest", rj);
			st->entry = e;
			metrics_free(&in_seg);
			metrics_free(&rest);
		}
		free(counts);
	}
	free(mask);
	return 0;
}

/* BH across every tested segment of the run; weak = worse than the rest,
 * significant, and by at least MIN_GAP. */
static void segment_findings(struct segment_test *tests, size_t n, const struct task *t,
			     json_t *segments, json_t *findings)
{
	double *p = xmalloc((n ? n : 1) * sizeof *p), *q = xmalloc((n ? n : 1) * sizeof *q);
	size_t *idx = xmalloc((n ? n : 1) * sizeof *idx), m = 0;
	for (size_t i = 0; i < n; i++)
		if (tests[i].tested) {
			idx[m] = i;
			p[m++] = tests[i].p;
		}
	if (m)
		stats_bh(p, m, q);
	for (size_t k = 0; k < m; k++) {
		struct segment_test *st = &tests[idx[k]];
		int weak = q[k] < SEGMENT_Q && st->gap > MIN_GAP;
		json_object_set_new(st->entry, "p_value", json_real(st->p));
		json_object_set_new(st->entry, "q_value", json_real(q[k]));
		json_object_set_new(st->entry, "weak", json_boolean(weak));
		if (!weak)
			continue;
		json_t *mm = json_object_get(st->entry, "metrics"), *rest = json_object_get(st->entry, "rest");
		double v = json_real_value(json_object_get(json_object_get(mm, t->metric), "value"));
		double r = json_real_value(json_object_get(json_object_get(rest, t->metric), "value"));
		char *title = xasprintf("Segment %s scores %.3f %s on %s against %.3f for the rest of %s.",
					st->segment, v, t->metric, st->split, r, st->split);
		json_t *ev = json_object();
		json_object_set_new(ev, "metric", json_string(t->metric));
		json_object_set_new(ev, "segment", json_deep_copy(json_object_get(mm, t->metric)));
		json_object_set_new(ev, "rest", json_deep_copy(json_object_get(rest, t->metric)));
		json_object_set_new(ev, "gap", json_real(st->gap));
		json_object_set_new(ev, "p_value", json_real(st->p));
		json_object_set_new(ev, "q_value", json_real(q[k]));
		json_object_set_new(ev, "tests_in_family", json_integer((json_int_t)m));
		json_array_append_new(findings, finding_new("weak_segment", 1, gap_severity(st->gap), title,
			subject_new(st->split, NULL, st->segment, NULL, (long long)st->rows), ev));
		free(title);
	}
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(segments, tests[i].entry);
		free(tests[i].segment);
	}
	free(p);
	free(q);
	free(idx);
}

/* ---- metric and threshold ---- */

static json_t *threshold_check(const struct split_data *train, const struct split_data *test,
			       const struct task *t, json_t *findings)
{
	if (t->positive < 0 || !test->proba || !train->proba || train->n == 0 || test->n == 0)
		return json_null();
	const char *m = t->metric;
	int substitute = 0;
	if (!strcmp(m, "precision") || !strcmp(m, "recall")) {
		m = "f1";   /* either alone is maximised by predicting nobody or everybody */
		substitute = 1;
	} else if (strcmp(m, "accuracy") && strcmp(m, "f1") && strcmp(m, "balanced_accuracy"))
		return json_null();   /* ranking and probability metrics do not depend on a threshold */
	/* The threshold is chosen on train and judged on test, so the gain shown is
	 * what a new threshold would bring on data it was not tuned on. */
	double *ptr = xmalloc(train->n * sizeof *ptr), *pte = xmalloc(test->n * sizeof *pte);
	for (size_t i = 0; i < train->n; i++)
		ptr[i] = train->proba[i * 2 + (size_t)t->positive];
	for (size_t i = 0; i < test->n; i++)
		pte[i] = test->proba[i * 2 + (size_t)t->positive];
	double best = 0.5, best_train, at_train, dummy_best, at_test, best_test, dummy;
	int rc = metrics_best_threshold(train->y, ptr, train->n, t->positive, m, 0.5, &best, &best_train, &at_train);
	if (rc == 0)
		rc = metrics_best_threshold(test->y, pte, test->n, t->positive, m, 0.5, &dummy, &dummy_best, &at_test);
	if (rc == 0)
		rc = metrics_best_threshold(test->y, pte, test->n, t->positive, m, best, &dummy, &dummy_best, &best_test);
	free(ptr);
	free(pte);
	if (rc != 0 || isnan(at_test) || isnan(best_test)) {
		mla_error_clear();
		return json_null();
	}
	json_t *o = json_object();
	json_object_set_new(o, "split", json_string("test"));
	json_object_set_new(o, "chosen_on", json_string("train"));
	json_object_set_new(o, "metric", json_string(m));
	json_object_set_new(o, "at", json_real(0.5));
	json_object_set_new(o, "best", json_real(best));
	json_object_set_new(o, "value_at", json_real(at_test));
	json_object_set_new(o, "value_best", json_real(best_test));
	double gain = best_test - at_test;
	if (gain >= THRESHOLD_GAIN) {
		char *title = xasprintf("A decision threshold of %.3f instead of 0.5 raises %s on test from %.3f to %.3f%s.",
					best, m, at_test, best_test,
					substitute ? " (searched on f1: precision or recall alone is maximised trivially)" : "");
		json_array_append_new(findings, finding_new("misaligned_metric", 1, gain >= 0.03 ? SEV_MEDIUM : SEV_LOW,
			title, subject_new("test", NULL, NULL, "decision threshold", (long long)test->n), json_deep_copy(o)));
		free(title);
	}
	return o;
}

static void imbalance_check(const struct split_data *train, const struct task *t, json_t *findings)
{
	if (strcmp(t->metric, "accuracy") || train->n == 0)
		return;
	size_t lo = SIZE_MAX, hi = 0;
	int klo = 0;
	for (int k = 0; k < t->k; k++) {
		size_t s = train->m.class_support[k];
		if (s < lo) {
			lo = s;
			klo = k;
		}
		if (s > hi)
			hi = s;
	}
	double share = (double)lo / (double)train->n;
	if (share >= IMBALANCE_SHARE || t->k > 2)
		return;
	char *title = xasprintf("Accuracy judges imbalanced labels: class '%s' is %.1f%% of train, so always predicting the majority already scores %.3f. Consider f1, recall or pr_auc.",
				t->classes[klo], 100 * share, (double)hi / (double)train->n);
	json_t *ev = json_object();
	json_object_set_new(ev, "minority_class", json_string(t->classes[klo]));
	json_object_set_new(ev, "minority_share", json_real(share));
	json_object_set_new(ev, "majority_accuracy", json_real((double)hi / (double)train->n));
	json_object_set_new(ev, "threshold_share", json_real(IMBALANCE_SHARE));
	json_array_append_new(findings, finding_new("misaligned_metric", 1, SEV_MEDIUM, title,
		subject_new("train", NULL, NULL, "label balance", (long long)train->n), ev));
	free(title);
}

static void calibration_check(const struct split_data *sd, json_t *findings)
{
	const struct estimate *e = &sd->m.ece;
	if (!sd->proba || isnan(e->value) || !(e->value >= 0.05 && e->lo > 0.02))
		return;
	char *title = xasprintf("The model's probabilities on %s are miscalibrated: expected calibration error %.3f (95%% CI %.3f to %.3f).",
				sd->name, e->value, e->lo, e->hi);
	json_t *ev = json_object();
	json_object_set_new(ev, "ece", est(e));
	json_object_set_new(ev, "bins", json_integer(METRICS_NBINS));
	json_object_set_new(ev, "brier", est(&sd->m.brier));
	json_array_append_new(findings, finding_new("miscalibration", 1, e->value >= 0.15 ? SEV_HIGH : SEV_MEDIUM,
		title, subject_new(sd->name, NULL, NULL, NULL, (long long)sd->n), ev));
	free(title);
}

/* ---- the stage ---- */

/* In data mode the stand-in probe's own outputs are not a model anyone
 * ships: its calibration, confident errors and threshold say how the probe
 * behaves, not what the user should fix, so those findings stay as
 * information (the data-driven ones, segments above all, keep their weight). */
static void standin_as_info(json_t *findings)
{
	static const char *const about_outputs[] = {"miscalibration", "confident_errors", "misaligned_metric"};
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));
		for (size_t k = 0; kind && k < sizeof about_outputs / sizeof about_outputs[0]; k++)
			if (!strcmp(kind, about_outputs[k]) && finding_severity(f) > SEV_INFO) {
				json_object_set_new(f, "severity", json_string(severity_name(SEV_INFO)));
				json_t *ev = json_object_get(f, "evidence");
				if (json_is_object(ev))
					json_object_set_new(ev, "note", json_string(
						"data mode: this describes the stand-in probe's outputs, not a model you ship"));
			}
	}
}

int evaluate_run(struct stage_ctx *ctx)
{
	const struct audit_config *cfg = ctx->cfg;
	char *schema_path = stage_input(ctx, "ingest/schema.json");
	json_error_t jerr;
	json_t *schema = json_load_file(schema_path, 0, &jerr);
	if (!schema) {
		ERR_INTERNAL("%s: %s", schema_path, jerr.text);
		free(schema_path);
		return -1;
	}
	free(schema_path);
	json_t *task_j = json_object_get(schema, "task");
	struct task t = {.metric = cfg->metric, .higher_better = metric_higher_is_better(cfg->metric)};
	json_t *cls = json_object_get(task_j, "classes");
	t.k = (int)json_array_size(cls);
	t.classes = xmalloc((size_t)t.k * sizeof *t.classes);
	for (int k = 0; k < t.k; k++)
		t.classes[k] = (char *)json_string_value(json_array_get(cls, (size_t)k));
	const char *pos = json_string_value(json_object_get(task_j, "positive"));
	t.positive = pos ? class_index(&t, pos) : -1;
	t.has_proba = cfg->proba || cfg->proba_prefix;
	int model_mode = cfg->pred || t.has_proba;
	/* data mode: the best probe, when the probes stage trained one, is the model */
	char *standin = model_mode ? NULL : probes_best_name(ctx->run_dir);
	if (standin) {
		model_mode = 1;
		t.has_proba = 1;
	}

	json_t *out = json_object(), *findings = json_array(), *splits = json_object(), *order = json_array();
	json_t *segments = json_array();
	json_object_set_new(out, "metric", json_string(cfg->metric));
	json_object_set_new(out, "mode", json_string(model_mode && !standin ? "model" : "data"));
	if (standin) {
		char *text = xasprintf("mode: data — the best probe (%s) stands in for the model", standin);
		json_object_set_new(out, "stand_in", json_pack("{s:s, s:s}", "probe", standin, "text", text));
		free(text);
	}
	json_t *jsplits = json_object_get(schema, "splits");
	size_t ns = json_array_size(jsplits);
	struct split_data *sd = xcalloc(ns, sizeof *sd);
	struct segment_test *tests = NULL;
	size_t ntests = 0;
	int rc = 0;
	for (size_t s = 0; rc == 0 && s < ns; s++) {
		json_t *js = json_array_get(jsplits, s);
		sd[s].name = json_string_value(json_object_get(js, "name"));
		char *rel = xasprintf("ingest/%s", json_string_value(json_object_get(js, "frame")));
		char *path = stage_input(ctx, rel);
		free(rel);
		sd[s].frame = frame_read(path);
		free(path);
		if (!sd[s].frame) {
			rc = -1;
			break;
		}
		if (!model_mode)
			continue;
		double *sp = NULL;
		if (standin) {
			char *name = NULL;
			int got = probes_standin(ctx->run_dir, sd[s].name, sd[s].frame->nrows, t.k, &sp, &name);
			free(name);
			if (got < 0) {
				rc = -1;
				break;
			}
			if (got == 0)
				continue;   /* no probe output for this split: nothing to measure */
		}
		rc = split_arrays(&sd[s], &t, cfg, sp);
		free(sp);
		if (rc == 0 && sd[s].n == 0)
			continue;   /* no row with a label and a model output: nothing to measure */
		struct eval_input in = {.n = sd[s].n, .nclasses = t.k, .y = sd[s].y, .pred = sd[s].pred,
					.proba = sd[s].proba, .positive = t.positive, .seed = cfg->seed + s};
		if (rc == 0)
			rc = metrics_compute(&in, &sd[s].m);
		if (rc == 0) {
			sd[s].has_metrics = 1;
			json_array_append_new(order, json_string(sd[s].name));
			json_object_set_new(splits, sd[s].name, split_json(&sd[s], &t, findings));
			rc = segment_tests(&sd[s], &t, cfg->seed * 1000003u + s, &tests, &ntests);
			if (s > 0)
				calibration_check(&sd[s], findings);
		}
		stage_progress(ctx, (double)(s + 1) / (double)(ns + 1));
	}
	json_t *threshold = json_null(), *reference = json_null();
	if (rc == 0 && model_mode && ns >= 2 && sd[0].has_metrics && sd[1].has_metrics) {
		compare_splits(sd, ns, &t, findings);
		imbalance_check(&sd[0], &t, findings);
		threshold = threshold_check(&sd[0], &sd[1], &t, findings);
	}
	/* the model against the reference probe (in data mode the probe is the model) */
	if (rc == 0 && model_mode && !standin && ns >= 2 && sd[1].has_metrics)
		reference = reference_check(ctx, &sd[1], &t, cfg->seed * 7919u + 1, findings);
	segment_findings(tests, ntests, &t, segments, findings);
	free(tests);
	json_object_set_new(out, "split_order", order);
	json_object_set_new(out, "splits", splits);
	json_object_set_new(out, "segments", segments);
	json_object_set_new(out, "threshold", threshold);
	json_object_set_new(out, "reference", reference);
	if (standin)
		json_object_set_new(out, "note", json_string(
			"data mode: no prediction or probability columns were given; the best reference probe of the probes "
			"stage stands in for the model (out-of-fold probabilities on train, trained on all of train for the "
			"other splits)"));
	else if (!model_mode)
		json_object_set_new(out, "note", json_string(
			"data mode: no prediction or probability columns were given, so there is no model to evaluate; "
			"the probes stage trained no probe that could stand in for it (see probes/probes.json)"));
	if (standin)
		standin_as_info(findings);
	if (rc == 0)
		rc = stage_write_json(ctx, "metrics.json", out);
	if (rc == 0) {
		json_t *fj = json_object();
		json_object_set_new(fj, "findings", json_incref(findings));
		rc = stage_write_json(ctx, "findings.json", fj);
		json_decref(fj);
	}
	for (size_t s = 0; s < ns; s++) {
		if (sd[s].frame)
			frame_free(sd[s].frame);
		free(sd[s].y);
		free(sd[s].pred);
		free(sd[s].proba);
		free(sd[s].row);
		metrics_free(&sd[s].m);
	}
	free(sd);
	free(t.classes);
	free(standin);
	json_decref(out);
	json_decref(findings);
	json_decref(schema);
	return rc;
}
