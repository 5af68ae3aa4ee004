/* plan.c - the rules from findings to mitigations (plan.h). */
#include "plan.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pipeline/config.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

/* The order of actions among mitigations of equal severity and gain: repair
 * the data before judging the model, then the cheap model-side changes. */
static const char *const action_order[] = {
	"fix_pipeline", "remove_feature", "retrain_recent", "relabel", "change_metric_or_threshold",
	"collect_data", "regularize", "reweight", "tune_training", "increase_capacity", NULL};

static int action_rank(const char *a)
{
	for (int i = 0; action_order[i]; i++)
		if (!strcmp(action_order[i], a))
			return i;
	return 99;
}

/* ---- reading findings ---- */

static const char *fstr(const json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key));
}

static const char *subj(const json_t *f, const char *key)
{
	return json_string_value(json_object_get(json_object_get(f, "subject"), key));
}

static const json_t *ev(const json_t *f, const char *key)
{
	return json_object_get(json_object_get(f, "evidence"), key);
}

static double evnum(const json_t *f, const char *key)
{
	const json_t *v = ev(f, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* evidence.key.value of an estimate, or NAN */
static double evest(const json_t *f, const char *key)
{
	const json_t *v = json_object_get(ev(f, key), "value");
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *evstr(const json_t *f, const char *key)
{
	return json_string_value(ev(f, key));
}

static int is_kind(const json_t *f, const char *kind)
{
	const char *k = fstr(f, "kind");
	return k && !strcmp(k, kind);
}

/* ---- groups: one per mitigation ---- */

struct group {
	char *action;
	char *key;             /* the subject the id hashes: "feed:income", "split:current" */
	struct strbuf text;    /* the sentence */
	struct strbuf extra;   /* clauses added by later findings */
	json_t *addresses;
	enum severity sev;
	double gain;           /* NAN: none estimated */
	char *gain_basis;
	long long rows;        /* collect_data: rows to collect (-1 none) */
	char *rows_rule;
	json_t *items;         /* names gathered (drifted features) */
	char *split;           /* fix_pipeline of a feed: the split where it broke */
	char *slice;           /* retrain_recent: the split's worst error slice, to say where to start */
	long long slice_rank;
	json_t *parts;         /* tune_training "training": one sentence per training check, composed at the end */
	char *score;           /* a weak segment's "the model scores ..." clause, kept when a learning curve rewrites its advice */
	int curve;             /* the advice on a slice comes from a measured learning curve (underrepresented_slice) */
	double joint_auc;      /* a domain classifier's ROC-AUC telling the split from train (NAN: none) */
};

struct plan {
	struct group *g;
	size_t n;
	const struct plan_ctx *ctx;
};

static struct group *find_group(struct plan *p, const char *action, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->g[i].action, action) && !strcmp(p->g[i].key, key))
			return &p->g[i];
	return NULL;
}

/* The group for (action, key), created when new; *created says which. */
static struct group *group_get(struct plan *p, const char *action, const char *key, int *created)
{
	struct group *g = find_group(p, action, key);
	if (created)
		*created = !g;
	if (g)
		return g;
	p->g = xrealloc(p->g, (p->n + 1) * sizeof *p->g);
	g = &p->g[p->n++];
	memset(g, 0, sizeof *g);
	g->action = xstrdup(action);
	g->key = xstrdup(key);
	sb_init(&g->text);
	sb_init(&g->extra);
	g->addresses = json_array();
	g->items = json_array();
	g->parts = json_object();
	g->sev = SEV_INFO;
	g->gain = NAN;
	g->joint_auc = NAN;
	g->rows = -1;
	return g;
}

static void address(struct group *g, const json_t *f)
{
	const char *id = fstr(f, "id");
	if (id)
		json_array_append_new(g->addresses, json_string(id));
	enum severity s = finding_severity(f);
	if (s > g->sev)
		g->sev = s;
}

static void set_gain(struct group *g, double gain, const char *basis)
{
	if (isnan(gain) || (!isnan(g->gain) && g->gain >= gain))
		return;
	g->gain = gain;
	free(g->gain_basis);
	g->gain_basis = xstrdup(basis);
}

static int has_item(const struct group *g, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(g->items, i, v)
		if (!strcmp(json_string_value(v), name))
			return 1;
	return 0;
}

/* The domain classifier's data_drift names no feature but "(all features)":
 * not a name to list among the drifted features. */
#define ALL_FEATURES "(all features)"

static void add_item(struct group *g, const char *name)
{
	if (name && strcmp(name, ALL_FEATURES) && !has_item(g, name))
		json_array_append_new(g->items, json_string(name));
}

static void group_free(struct group *g)
{
	free(g->action);
	free(g->key);
	sb_free(&g->text);
	sb_free(&g->extra);
	json_decref(g->addresses);
	json_decref(g->items);
	json_decref(g->parts);
	free(g->gain_basis);
	free(g->rows_rule);
	free(g->slice);
	free(g->split);
	free(g->score);
}

/* ---- numbers in sentences ---- */

/* 1234567 -> "1,234,567" */
static void put_count(struct strbuf *sb, long long v)
{
	char digits[32];
	snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
	size_t n = strlen(digits);
	if (v < 0)
		sb_putc(sb, '-');
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			sb_putc(sb, ',');
		sb_putc(sb, digits[i]);
	}
}

/* Up to two significant digits: a target, not a count. */
static long long round_up2(double need)
{
	if (need < 1)
		return 0;
	double mag = need < 100 ? 1 : pow(10.0, floor(log10(need)) - 1);
	return (long long)(ceil(need / mag) * mag);
}

long long plan_rows_to_collect(long long train_rows, double split_share, long long train_total)
{
	double n = train_rows > 0 ? (double)train_rows : 0;
	double need = n;   /* doubling */
	if (split_share > 0 && split_share < 1 && train_total > 0) {
		/* (n + N) / (T + N) = share  =>  N = (share T - n) / (1 - share) */
		double to_share = (split_share * (double)train_total - n) / (1 - split_share);
		if (to_share > need)
			need = to_share;
	}
	if (need < 100)
		need = 100;
	return round_up2(need);
}

static const char *rows_rule =
	"the larger of doubling the slice's training rows and bringing its share of train up to its share of the "
	"split where it fails, rounded up to two significant digits (at least 100)";

/* Train rows of segment "col=value" from ingest's profile (its top levels), -1 unknown. */
static long long segment_train_rows(const json_t *quality, const char *segment)
{
	const char *eq = segment ? strchr(segment, '=') : NULL;
	if (!quality || !eq)
		return -1;
	size_t cl = (size_t)(eq - segment);
	json_t *cols = json_object_get(json_object_get(json_object_get(quality, "splits"), "train"), "columns");
	size_t i, k;
	json_t *c, *t;
	json_array_foreach(cols, i, c) {
		const char *name = fstr(c, "name");
		if (!name || strlen(name) != cl || strncmp(name, segment, cl))
			continue;
		json_array_foreach(json_object_get(c, "top"), k, t) {
			const char *v = fstr(t, "value");
			if (v && !strcmp(v, eq + 1))
				return (long long)json_integer_value(json_object_get(t, "count"));
		}
	}
	return -1;
}

/* A number for a sentence: "3,475,000" rather than "3.475e+06" (the same
 * rule as the rootcause stage's rc_fmt). */
static const char *num(char *buf, size_t size, double v)
{
	double a = fabs(v);
	if (!isfinite(v) || a < 1e4 || a >= 1e15) {
		snprintf(buf, size, "%.4g", v);
		return buf;
	}
	double mag = pow(10.0, floor(log10(a)) - 3);
	struct strbuf sb;
	sb_init(&sb);
	put_count(&sb, (long long)llround(round(v / mag) * mag));
	snprintf(buf, size, "%s", sb.data);
	sb_free(&sb);
	return buf;
}

/* ---- the rules, one function per family of findings ---- */

static void fix_feed(struct plan *p, const json_t *f)
{
	const char *feature = subj(f, "feature"), *split = subj(f, "split");
	if (!feature)
		return;
	char *key = xasprintf("feed:%s", feature);
	int created;
	struct group *g = group_get(p, "fix_pipeline", key, &created);
	free(key);
	address(g, f);
	if (!g->split && split && strcmp(split, "train"))
		g->split = xstrdup(split);
	const char *change = evstr(f, "change");
	const char *sp = split ? split : "the later data";
	struct strbuf s;
	sb_init(&s);
	if (is_kind(f, "pipeline_change") && change && !strcmp(change, "unit change")) {
		double factor = evnum(f, "factor"), mt = evnum(f, "median_train"), ms = evnum(f, "median_split");
		char a[48], b[48], c[48];
		if (factor >= 1)
			sb_printf(&s, "Fix the %s feed: values in %s are about %sx those in train (median %s vs %s), "
				      "a change of units; convert them back before scoring.", feature, sp,
				  num(a, sizeof a, factor), num(b, sizeof b, ms), num(c, sizeof c, mt));
		else
			sb_printf(&s, "Fix the %s feed: values in %s are about 1/%s of those in train (median %s vs %s), "
				      "a change of units; convert them back before scoring.", feature, sp,
				  num(a, sizeof a, 1 / factor), num(b, sizeof b, ms), num(c, sizeof c, mt));
	} else if (is_kind(f, "pipeline_change") && change && !strcmp(change, "column missing")) {
		sb_printf(&s, "Restore column %s in the %s feed: it is missing, so the model scores without it.", feature, sp);
	} else if (is_kind(f, "pipeline_change") && change && !strcmp(change, "type changed")) {
		const char *now = evstr(f, "type") ? evstr(f, "type") : "another type";
		const char *was = evstr(f, "train_type") ? evstr(f, "train_type") : "another type";
		if (strstr(now, "numbers") && !strstr(was, "numbers"))
			sb_printf(&s, "Fix the %s feed: it holds numeric codes in %s where train has named categories; map "
				      "the codes back to train's names.", feature, sp);
		else
			sb_printf(&s, "Fix the %s feed: its values are %s in %s but %s in train; restore train's format.",
				  feature, now, sp, was);
	} else if (is_kind(f, "pipeline_change")) {
		sb_printf(&s, "Check the %s feed in %s: %s", feature, sp, fstr(f, "title") ? fstr(f, "title") : "it changed.");
	} else {
		/* data_quality on a column: its problems, each a clause */
		sb_printf(&s, "Check the %s feed in %s: ", feature, sp);
		size_t i, k = 0;
		json_t *pr;
		json_array_foreach(ev(f, "problems"), i, pr) {
			const char *t = fstr(pr, "text");
			if (t)
				sb_printf(&s, "%s%s", k++ ? "; " : "", t);
		}
		if (!k)
			sb_puts(&s, fstr(f, "title") ? fstr(f, "title") : "its values changed");
		sb_putc(&s, '.');
	}
	/* the most serious problem of the feed speaks first */
	if (created || (is_kind(f, "pipeline_change") && !strstr(g->text.data, "Fix") && !strstr(g->text.data, "Restore"))) {
		sb_free(&g->text);
		g->text = s;
	} else {
		sb_free(&s);
	}
}

static void split_problem(struct plan *p, const json_t *f)
{
	const char *what = subj(f, "slice"), *split = subj(f, "split");
	if (!what || !split)
		return;
	long long rows = (long long)json_integer_value(json_object_get(json_object_get(f, "subject"), "rows"));
	char *key = xasprintf("%s:%s", what, split);
	struct strbuf s;
	sb_init(&s);
	struct group *g;
	if (!strcmp(what, "conflicting labels")) {
		g = group_get(p, "relabel", key, NULL);
		sb_printf(&s, "Review the ");
		put_count(&s, rows);
		sb_printf(&s, " %s rows whose features repeat with another label: keep one verified label per case.", split);
	} else if (!strcmp(what, "rows shared with train")) {
		g = group_get(p, "fix_pipeline", key, NULL);
		sb_printf(&s, "Remove the ");
		put_count(&s, rows);
		sb_printf(&s, " %s rows that also appear in train, or its metrics flatter the model.", split);
	} else if (!strcmp(what, "duplicate rows")) {
		g = group_get(p, "fix_pipeline", key, NULL);
		sb_printf(&s, "Deduplicate %s: ", split);
		put_count(&s, rows);
		sb_puts(&s, " rows repeat another row exactly; find where the extract copies them.");
	} else {
		free(key);
		sb_free(&s);
		return;
	}
	free(key);
	address(g, f);
	sb_free(&g->text);
	g->text = s;
}

/* The retrain (or reweight) group of a split, and what it already says. */
static struct group *retrain_group(struct plan *p, const char *split, int create)
{
	char *key = xasprintf("split:%s", split);
	struct group *g = find_group(p, "retrain_recent", key);
	if (!g && create)
		g = group_get(p, "retrain_recent", key, NULL);
	free(key);
	return g;
}

static void drop(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split");
	if (!split)
		return;
	struct group *g = retrain_group(p, split, 1);
	address(g, f);
	double gap = evest(f, "gap");
	const char *metric = evstr(f, "metric") ? evstr(f, "metric") : p->ctx->metric;
	double a = evest(f, split), b = evest(f, "test");
	sb_free(&g->text);
	sb_init(&g->text);
	sb_printf(&g->text, "Retrain with recent labelled data from %s: the model scores %.3f %s there against %.3f on test.",
		  split, a, metric ? metric : "", b);
	char *basis = xasprintf("at most the drop from test to %s", split);
	set_gain(g, gap, basis);
	free(basis);
}

/* Train and test differ: a question of how test was drawn, not of recency. */
static void sampling(struct plan *p, const json_t *f)
{
	int created;
	struct group *g = group_get(p, "fix_pipeline", "sampling:test", &created);
	address(g, f);
	if (created)
		sb_puts(&g->text, "Check how test was drawn: its data differ from train's, so its metrics do not show how "
				  "the model does on data like train's (a random, stratified split keeps them alike).");
	if (is_kind(f, "data_drift"))
		add_item(g, subj(f, "feature"));
}

static void recent_symptom(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split");
	if (!split)
		return;
	if (!strcmp(split, "test")) {
		sampling(p, f);
		return;
	}
	struct group *g = retrain_group(p, split, 1);
	address(g, f);
	if (!g->text.len)
		sb_printf(&g->text, "Retrain with recent labelled data from %s.", split);
	if (is_kind(f, "time_degradation") && evstr(f, "start") && subj(f, "feature")) {
		sb_printf(&g->extra, " Performance fell from %s %s onwards: weight the rows since then.", subj(f, "feature"),
			  evstr(f, "start"));
		double gap = evnum(f, "mean_gap");
		set_gain(g, gap, "at most the fall since the start of the degradation");
	}
	if (is_kind(f, "label_shift")) {
		const char *cls = evstr(f, "class");
		double shift = evest(f, "shift");
		if (cls && !isnan(shift))
			sb_printf(&g->extra, " The share of '%s' moved by %+.0f points: check the new prior is real and let "
					     "the retrained model see it.", cls, 100 * shift);
	}
}

static void drift(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split"), *feature = subj(f, "feature");
	if (!split || !feature)
		return;
	if (!strcmp(split, "test")) {
		sampling(p, f);
		return;
	}
	/* a drift a unit change explains belongs to the feed's fix */
	if (evstr(f, "explained_by")) {
		char *key = xasprintf("feed:%s", feature);
		struct group *fg = find_group(p, "fix_pipeline", key);
		free(key);
		if (fg) {
			address(fg, f);
			return;
		}
	}
	struct group *g = retrain_group(p, split, 0);
	if (!g) {
		char *key = xasprintf("split:%s", split);
		g = group_get(p, "reweight", key, NULL);
		free(key);
	}
	address(g, f);
	add_item(g, feature);
	if (!strcmp(feature, ALL_FEATURES))
		g->joint_auc = evest(f, "auc");
}

static void reliance(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split"), *feature = subj(f, "feature");
	if (!split || !feature)
		return;
	const json_t *drifted = ev(f, "drifted");
	if (json_is_true(drifted) && !strcmp(split, "test")) {
		sampling(p, f);
		return;
	}
	if (json_is_true(drifted)) {
		struct group *g = retrain_group(p, split, 0);
		if (!g) {
			char *key = xasprintf("split:%s", split);
			g = group_get(p, "reweight", key, NULL);
			free(key);
		}
		address(g, f);
		add_item(g, feature);
		return;
	}
	char *key = xasprintf("feature:%s", feature);
	int created;
	struct group *g = group_get(p, "regularize", key, &created);
	free(key);
	address(g, f);
	if (created) {
		const char *bin = evstr(f, "worst_bin");
		double wr = evest(f, "worst_bin_error_rate"), all = evnum(f, "error_rate");
		sb_printf(&g->text, "Check how the model uses %s: its errors concentrate where %s (%.0f%% against %.0f%%); "
				    "regularise, cap or bin the feature, or add data in that range.",
			  feature, bin ? bin : feature, 100 * wr, 100 * all);
	}
}

static int slice_mentions(const char *slice, const char *segment)
{
	/* "region=west and x1 < 2" mentions "region=west" as a whole condition */
	size_t n = strlen(segment);
	for (const char *s = strstr(slice, segment); s; s = strstr(s + 1, segment))
		if ((s == slice || !strncmp(s - 5, " and ", 5)) && (s[n] == 0 || !strncmp(s + n, " and ", 5)))
			return 1;
	return 0;
}

/* The actions advice on one slice or segment may take: collect rows of it,
 * or, when a learning curve says rows are not what it lacks, upweight the
 * ones train has or look at its labels and features. */
static int slice_action(const char *action)
{
	return !strcmp(action, "collect_data") || !strcmp(action, "reweight") || !strcmp(action, "relabel");
}

/* The advice already given on `slice` (a weak segment's "segment:S" or an
 * underrepresented slice's "slice:S"), whatever its action; NULL if none. */
static struct group *slice_group(struct plan *p, const char *slice)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *k = p->g[i].key;
		const char *rest = !strncmp(k, "segment:", 8) ? k + 8 : !strncmp(k, "slice:", 6) ? k + 6 : NULL;
		if (rest && slice_action(p->g[i].action) && !strcmp(rest, slice))
			return &p->g[i];
	}
	return NULL;
}

static void collect(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split"), *segment = subj(f, "segment"), *slice = subj(f, "slice");
	const char *what = segment ? segment : slice;
	if (!what)
		return;
	if (is_kind(f, "error_slice")) {
		/* a slice inside a weak segment is that segment's advice */
		for (size_t i = 0; i < p->n; i++)
			if (slice_action(p->g[i].action) && !strncmp(p->g[i].key, "segment:", 8) &&
			    slice_mentions(slice, p->g[i].key + 8)) {
				address(&p->g[i], f);
				return;
			}
		/* on a split that needs retraining, the slice says where first */
		struct group *rg = split ? retrain_group(p, split, 0) : NULL;
		if (rg) {
			address(rg, f);
			long long rank = json_is_integer(ev(f, "rank")) ? (long long)json_integer_value(ev(f, "rank")) : 1000;
			if (!rg->slice || rank < rg->slice_rank) {
				free(rg->slice);
				rg->slice = xasprintf("%s (%.0f%% errors)", slice, 100 * evest(f, "error_rate"));
				rg->slice_rank = rank;
			}
			return;
		}
		/* the same slice found underrepresented: its advice already */
		struct group *sg = slice_group(p, slice);
		if (sg) {
			address(sg, f);
			return;
		}
		if (finding_severity(f) < SEV_MEDIUM)
			return;
	}
	char *key = xasprintf("%s:%s", segment ? "segment" : "slice", what);
	int created;
	struct group *g = group_get(p, "collect_data", key, &created);
	free(key);
	address(g, f);
	if (!created)
		return;
	long long trows = segment ? segment_train_rows(p->ctx->quality, segment)
				  : (json_is_integer(ev(f, "train_rows")) ? (long long)json_integer_value(ev(f, "train_rows")) : -1);
	double share = evnum(f, "split_share");
	if (isnan(share)) {
		/* weak_segment: rows of the segment over the split's (segment + rest) */
		double seg_n = (double)json_integer_value(json_object_get(ev(f, "segment"), "n"));
		double rest_n = (double)json_integer_value(json_object_get(ev(f, "rest"), "n"));
		share = seg_n + rest_n > 0 ? seg_n / (seg_n + rest_n) : NAN;
	}
	long long n = plan_rows_to_collect(trows, isnan(share) ? 0 : share, p->ctx->train_rows);
	g->rows = n;
	g->rows_rule = xstrdup(rows_rule);
	sb_puts(&g->text, "Collect about ");
	put_count(&g->text, n);
	sb_printf(&g->text, " more labelled rows where %s", what);
	if (segment) {
		double a = evest(f, "segment"), b = evest(f, "rest"), gap = evnum(f, "gap");
		const char *metric = evstr(f, "metric");
		g->score = xasprintf("the model scores %.3f %s there against %.3f for the rest of %s", a, metric ? metric : "",
				     b, split ? split : "the split");
		sb_printf(&g->text, ": %s", g->score);
		if (!isnan(gap) && !isnan(share)) {
			char *basis = xasprintf("at most the segment's gap times its share of %s", split ? split : "the split");
			set_gain(g, gap * share, basis);
			free(basis);
		}
	} else {
		double rate = evest(f, "error_rate"), rest = evest(f, "rest_error_rate");
		sb_printf(&g->text, ": the model errs on %.0f%% of them in %s against %.0f%% elsewhere", 100 * rate,
			  split ? split : "the split", 100 * rest);
	}
	if (trows >= 0) {
		sb_puts(&g->text, " (train has ");
		put_count(&g->text, trows);
		sb_puts(&g->text, ")");
	}
	sb_putc(&g->text, '.');
}

static const char *rows_more_rule =
	"the underrepresented_slice finding's rows_more (where a probe's learning curve on the slice reaches the probe's "
	"accuracy on the rest of the split, less the slice's rows in train), rounded up to two significant digits";

/* An estimate's value in percent for a sentence, NAN when absent. */
static double pct(const json_t *estimate)
{
	const json_t *v = json_object_get(estimate, "value");
	return json_is_number(v) ? 100 * json_number_value(v) : NAN;
}

/* underrepresented_slice: the slice's learning curve decides the action. More
 * rows where the curve still rises (or levels off only beyond train's rows);
 * upweighting where train already holds enough of them; the labels and
 * features where more rows did not help. Without a curve (not measured,
 * inconclusive) the rows-to-collect rule sizes the advice, as for a weak
 * segment. A bare "col=value" slice is a segment value, so its advice is the
 * weak segment's when there is one: a measured curve rewrites it (it says
 * more than the rule of thumb), the segment's score stays as a second
 * sentence. */
static void underrepresented(struct plan *p, const json_t *f)
{
	const char *slice = subj(f, "slice"), *split = subj(f, "split");
	if (!slice)
		return;
	const char *verdict = evstr(f, "curve_verdict") ? evstr(f, "curve_verdict") : "not measured";
	int measured = strcmp(verdict, "not measured") && strcmp(verdict, "inconclusive");
	struct group *g = slice_group(p, slice);
	/* the first measured curve on a slice speaks for it; the others join */
	if (g && (g->curve || !measured)) {
		address(g, f);
		return;
	}
	const char *sp = split ? split : "the split";
	long long trows = json_is_integer(ev(f, "train_rows")) ? (long long)json_integer_value(ev(f, "train_rows")) : -1;
	const json_t *more = ev(f, "rows_more");
	long long rows_more = json_is_integer(more) ? (long long)json_integer_value(more) : -1;
	const char *action, *rule = NULL;
	long long n = -1;
	struct strbuf s;
	sb_init(&s);
	if (!strcmp(verdict, "enough")) {
		action = "reweight";
		sb_printf(&s, "Upweight rows where %s when retraining: train already has ", slice);
		put_count(&s, trows > 0 ? trows : 0);
		sb_puts(&s, " of them, enough for a probe to match the rest.");
	} else if (!strcmp(verdict, "flat") || (!strcmp(verdict, "levels off") && rows_more <= 0)) {
		/* levelling off within train's rows: rows stopped helping before train ran out of them */
		action = "relabel";
		sb_printf(&s, "%sore rows like %s did not help a probe: check the labels and the features there.",
			  strcmp(verdict, "flat") ? "Beyond the rows train has, m" : "M", slice);
	} else {
		action = "collect_data";
		if (measured && rows_more > 0) {
			n = round_up2((double)rows_more);
			rule = rows_more_rule;
		} else {
			long long total = p->ctx->train_rows >= 0 ? p->ctx->train_rows
					  : json_is_integer(ev(f, "train_total")) ? (long long)json_integer_value(ev(f, "train_total"))
										 : -1;
			double share = evnum(f, "split_share");
			n = plan_rows_to_collect(trows, isnan(share) ? 0 : share, total);
			rule = rows_rule;
		}
		sb_puts(&s, "Collect about ");
		put_count(&s, n);
		sb_printf(&s, " more labelled rows where %s", slice);
		if (trows >= 0) {
			sb_puts(&s, " (train has ");
			put_count(&s, trows);
			sb_putc(&s, ')');
		}
		const json_t *curve = ev(f, "curve");
		size_t np = json_array_size(curve);
		double a = np >= 2 ? pct(json_object_get(json_array_get(curve, 0), "accuracy")) : NAN;
		double b = np >= 2 ? pct(json_object_get(json_array_get(curve, np - 1), "accuracy")) : NAN;
		double c = pct(ev(f, "target_accuracy"));
		double er = pct(ev(f, "error_rate")), rest = pct(ev(f, "rest_error_rate"));
		if (measured && !isnan(a) && !isnan(b)) {
			sb_printf(&s, ": probes trained with more such rows go from %.0f%% to %.0f%% accuracy there", a, b);
			if (!isnan(c))
				sb_printf(&s, ", against %.0f%% on the rest of %s", c, sp);
		} else if (!isnan(er) && !isnan(rest)) {
			sb_printf(&s, ": the model errs on %.0f%% of them in %s against %.0f%% elsewhere", er, sp, rest);
		}
		sb_putc(&s, '.');
	}
	if (g) {
		/* rewrite the weak segment's (or an unmeasured slice's) advice: the
		 * action may change, and the id with it */
		if (strcmp(g->action, action)) {
			free(g->action);
			g->action = xstrdup(action);
		}
		if (g->score)
			sb_printf(&s, " %c%s.", toupper((unsigned char)g->score[0]), g->score + 1);
		sb_free(&g->text);
		g->text = s;
	} else {
		char *key = xasprintf("slice:%s", slice);
		g = group_get(p, action, key, NULL);
		free(key);
		sb_free(&g->text);
		g->text = s;
	}
	g->curve = measured;
	g->rows = n;
	free(g->rows_rule);
	g->rows_rule = rule ? xstrdup(rule) : NULL;
	address(g, f);
}

/* importance_shift: the model leans on a feature more or less on a later
 * split than in training, so what the feature says about the label changed
 * there: retraining on recent data, with the split's other symptoms. */
static void importance(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split"), *feature = subj(f, "feature");
	if (!split || !feature)
		return;
	if (!strcmp(split, "test")) {
		sampling(p, f);
		return;
	}
	struct group *g = retrain_group(p, split, 1);
	address(g, f);
	double diff = evest(f, "difference"), tr = evest(f, "importance_train"), now = evest(f, "importance");
	/* "much" as the finding's title says it: its severity is high from a difference of 0.10 */
	char *how = xasprintf("%s%s", finding_severity(f) == SEV_HIGH ? "much " : "", diff < 0 ? "less" : "more");
	char *nums = !isnan(tr) && !isnan(now) ? xasprintf(" (permuting it costs %.2f of accuracy in training, %.2f there)", tr, now)
					       : xstrdup("");
	if (!g->text.len)
		sb_printf(&g->text, "Feature %s matters %s on %s than in training%s: retrain on recent data, and check "
				    "whether %s's meaning or source changed.", feature, how, split, nums, feature);
	else
		sb_printf(&g->extra, " Feature %s matters %s on %s than in training%s: check whether its meaning or source "
				     "changed.", feature, how, split, nums);
	free(how);
	free(nums);
}

static void threshold(struct plan *p, const json_t *f)
{
	const json_t *best = ev(f, "best");
	const char *slice = subj(f, "slice");
	if (json_is_number(best)) {
		struct group *g = group_get(p, "change_metric_or_threshold", "threshold", NULL);
		address(g, f);
		double at = evnum(f, "at"), b = json_number_value(best), va = evnum(f, "value_at"), vb = evnum(f, "value_best");
		const char *metric = evstr(f, "metric") ? evstr(f, "metric") : p->ctx->metric;
		sb_free(&g->text);
		sb_init(&g->text);
		sb_printf(&g->text, "Move the decision threshold from %.2f to %.2f: %s on test rises from %.3f to %.3f "
				    "(the threshold was chosen on train).", at, b, metric ? metric : "", va, vb);
		set_gain(g, vb - va, "measured on test at the threshold chosen on train");
		return;
	}
	if (slice && !strcmp(slice, "label balance")) {
		struct group *g = group_get(p, "change_metric_or_threshold", "metric", NULL);
		address(g, f);
		const char *cls = evstr(f, "minority_class");
		double share = evnum(f, "minority_share");
		sb_free(&g->text);
		sb_init(&g->text);
		sb_printf(&g->text, "Judge the model by f1, recall or pr_auc rather than accuracy: class '%s' is only %.0f%% "
				    "of train, so accuracy rewards ignoring it.", cls ? cls : "?", 100 * share);
	}
}

static void relabel(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split");
	if (!split)
		return;
	if (strcmp(split, "train") && is_kind(f, "confident_errors")) {
		/* confidently wrong on new data: a symptom of what changed there */
		struct group *rg = retrain_group(p, split, 0);
		if (rg) {
			address(rg, f);
			return;
		}
		if (finding_severity(f) < SEV_MEDIUM)
			return;
	}
	char *key = xasprintf("labels:%s", split);
	int created;
	struct group *g = group_get(p, "relabel", key, &created);
	free(key);
	address(g, f);
	long long n = -1;
	if (is_kind(f, "label_noise") || is_kind(f, "confident_errors"))
		n = (long long)json_integer_value(json_object_get(json_object_get(f, "subject"), "rows"));
	if (n > 0 && (created || is_kind(f, "label_noise"))) {
		sb_free(&g->text);
		sb_init(&g->text);
		sb_puts(&g->text, "Review the ");
		put_count(&g->text, n);
		if (is_kind(f, "label_noise"))
			sb_printf(&g->text, " %s rows whose labels look wrong (Label review sheet) and correct them before retraining.",
				  split);
		else
			sb_printf(&g->text, " %s rows the model contradicts with at least 95%% confidence (Label review sheet): "
					    "correct the labels that are wrong.", split);
	} else if (created) {
		sb_printf(&g->text, "Audit the labels of %s: the model does worse on its own training data than on test, "
				    "which noisy training labels explain.", split);
	}
}

static void simple(struct plan *p, const json_t *f, const char *action, const char *key, const char *text)
{
	int created;
	struct group *g = group_get(p, action, key, &created);
	address(g, f);
	if (created)
		sb_puts(&g->text, text);
}

/* ---- the probes' training checks (sanity_check findings, capacity) ----
 *
 * The checks speak about networks trained on these data (the probes), not
 * about the audited model itself, and each sentence says so. How to train
 * (learning rate, optimizer and schedule, the search's setting, input
 * scaling) is one tune_training mitigation, "training", whose sentence is
 * composed at the end from one clause per check in a fixed order (the
 * search's measured setting leads, since it was trained on every budgeted
 * row), so a stakeholder reads one recipe instead of four competing ones.
 * Regularisation, capacity and distillation join the model's regularize
 * advice; unstable gradients get their own tune_training; a batch that
 * cannot be fitted points at the labels (relabel, fix_pipeline); wrong
 * gradients in the probe engine make the run's probe results void. */

/* "0.0061", "1e-03" -> a learning rate or penalty as people write it */
static const char *rate(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.2g", v);
	return buf;
}

static void part(struct group *g, const char *check, char *text)
{
	json_object_set_new(g->parts, check, json_string(text));
	free(text);
}

/* The regularize advice on the model: the overfitting finding's when there is
 * one; a probe check then adds its clause, else its sentence leads. */
static void regularize_clause(struct plan *p, const json_t *f, char *lead, char *clause)
{
	int created;
	struct group *g = group_get(p, "regularize", "model", &created);
	address(g, f);
	if (created)
		sb_puts(&g->text, lead);
	else
		sb_printf(&g->extra, " %s", clause);
	free(lead);
	free(clause);
}

static void probe_check(struct plan *p, const json_t *f)
{
	const char *check = evstr(f, "check") ? evstr(f, "check") : "";
	char a[32], b[32];
	if (is_kind(f, "capacity")) {
		const char *best = evstr(f, "best") ? evstr(f, "best") : "the best size", *from = evstr(f, "overfit_from");
		double bv = evnum(f, "best_val_loss"), ov = evnum(f, "overfit_val_loss");
		regularize_clause(p, f,
			xasprintf("Keep networks trained on these data small (about %s) or regularise them: a probe's "
				  "validation loss is lowest at %s (%.3f) and rises from %s on (%.3f) while its training "
				  "loss keeps falling.", best, best, bv, from, ov),
			xasprintf("The probes agree: networks larger than %s overfit these data (validation loss %.3f at "
				  "%s, %.3f from %s on).", best, bv, best, ov, from));
		return;
	}
	if (!strcmp(check, "overfit_batch")) {
		const char *cause = evstr(f, "cause");
		long long rows = json_is_integer(ev(f, "rows")) ? (long long)json_integer_value(ev(f, "rows")) : 0;
		double acc = evnum(f, "final_acc");
		if (cause && !strcmp(cause, "conflicting_duplicates")) {
			int created;
			struct group *g = group_get(p, "relabel", "conflicting labels:train", &created);
			address(g, f);
			char *t = xasprintf("Review the training rows whose features repeat with another label: a small "
					    "network fits only %.1f%% of a %lld-row training batch because %lld pairs of "
					    "identical rows disagree (at most %.0f%% of it can be fitted); keep one verified "
					    "label per case.", 100 * acc, rows,
					    (long long)json_integer_value(ev(f, "n_conflicts")), 100 * evnum(f, "max_reachable_acc"));
			if (created)
				sb_puts(&g->text, t);
			free(t);
		} else {
			int created;
			struct group *g = group_get(p, "fix_pipeline", "labels:join", &created);
			address(g, f);
			if (created)
				sb_printf(&g->text, "Check how the labels are joined to the features, and that the label "
						    "column is the right one, before tuning any model: a small network fits only "
						    "%.1f%% of a %lld-row training batch%s, so the labels look unrelated to the "
						    "features.", 100 * acc, rows,
					  json_is_false(ev(f, "held_out_learnable"))
					  ? " and no probe beats the majority class on held-out rows" : "");
		}
		return;
	}
	if (!strcmp(check, "gradient_check")) {
		int created;
		struct group *g = group_get(p, "fix_pipeline", "probe engine", &created);
		address(g, f);
		if (created)
			sb_printf(&g->text, "Do not act on this run's probe-based findings and report a bug in mlaudit: its "
					    "probe engine's gradients disagree with finite differences (relative error %.2g, "
					    "tolerance 1e-6).", evnum(f, "max_rel_err"));
		return;
	}
	if (!strcmp(check, "health")) {
		int created;
		struct group *g = group_get(p, "tune_training", "sanity:health", &created);
		address(g, f);
		if (!created)
			return;
		const char *state = evstr(f, "state") ? evstr(f, "state") : "";
		const char *where = evstr(f, "where") ? evstr(f, "where") : "the deepest probe";
		double ratio = evnum(f, "ratio"), lr = evnum(f, "lr"), sug = evnum(f, "suggested_lr");
		long long layer = json_integer_value(ev(f, "layer"));
		if (!strcmp(state, "exploding")) {
			sb_printf(&g->text, "Stabilise the training of deep networks on these data: in %s at Adam lr %s the "
					    "gradient of layer %lld reached %.3g times its weights' norm (exploding); "
					    "lower the learning rate", where, rate(a, sizeof a, lr), layer, ratio);
			if (isfinite(sug) && sug < lr)
				sb_printf(&g->text, " (the range test suggests about %s)", rate(b, sizeof b, sug));
			sb_puts(&g->text, ", clip gradients or use fewer layers.");
		} else {
			sb_printf(&g->text, "Keep gradients alive in deep networks on these data: in %s at Adam lr %s the "
					    "gradient of layer %lld fell to %.3g of its weights' norm (vanishing); use He "
					    "initialisation, normalised inputs or fewer layers.", where,
				  rate(a, sizeof a, lr), layer, ratio);
		}
		return;
	}
	if (!strcmp(check, "regularisation")) {
		const char *what = evstr(f, "best_text") ? evstr(f, "best_text") : evstr(f, "best");
		double v = evnum(f, "val_loss"), nv = evnum(f, "none_val_loss"), gap = evnum(f, "gap"), ng = evnum(f, "none_gap");
		regularize_clause(p, f,
			xasprintf("Regularise networks trained on these data: with %s a 128-unit probe's validation loss "
				  "is %.3f against %.3f without (the gap between validation and training loss %.3f against "
				  "%.3f).", what, v, nv, gap, ng),
			xasprintf("On the probes, %s lowered a 128-unit network's validation loss from %.3f to %.3f.", what,
				  nv, v));
		return;
	}
	if (!strcmp(check, "distill")) {
		const char *teacher = evstr(f, "teacher") ? evstr(f, "teacher") : "the model";
		double sa = evnum(f, "student_acc"), ta = evnum(f, "teacher_acc");
		long long n = json_integer_value(ev(f, "val_rows"));
		regularize_clause(p, f,
			xasprintf("Regularise or shrink %s: a small network (8 hidden units) distilled from it scores "
				  "accuracy %.3f on %lld held-out training rows against its %.3f, so it fits noise a "
				  "smaller model ignores.", teacher, sa, n, ta),
			xasprintf("A small network distilled from %s even beats it on %lld held-out training rows "
				  "(accuracy %.3f against %.3f).", teacher, n, sa, ta));
		return;
	}
	/* how to train: one recipe */
	int created;
	struct group *g = group_get(p, "tune_training", "sanity:training", &created);
	address(g, f);
	if (!strcmp(check, "hpo")) {
		char c[32];
		part(g, "hpo", xasprintf("with lr %s, L2 %s, %lld hidden units and dropout %.2f (the best of %lld "
					 "search trials): trained on %s rows until its training loss stopped improving (%lld "
					 "epochs), a probe with this setting reaches validation loss %.3f (accuracy %.1f%%) "
					 "against %.3f (%.1f%%) with the usual defaults (Adam lr 1e-3, L2 1e-4, 128 units).",
					 rate(a, sizeof a, evnum(f, "lr")), rate(b, sizeof b, evnum(f, "l2")),
					 (long long)json_integer_value(ev(f, "width")), evnum(f, "dropout"),
					 (long long)json_integer_value(ev(f, "trials")),
					 num(c, sizeof c, (double)json_integer_value(ev(f, "train_rows"))),
					 (long long)json_integer_value(ev(f, "epochs")), evnum(f, "val_loss"),
					 100 * evnum(f, "val_acc"), evnum(f, "default_val_loss"), 100 * evnum(f, "default_val_acc")));
		double gain = evnum(f, "val_acc") - evnum(f, "default_val_acc");
		if (p->ctx->metric && !strcmp(p->ctx->metric, "accuracy") && gain > 0)
			set_gain(g, gain, "validation accuracy of a probe trained with the setting over one trained with the "
					  "defaults (held-out train rows); for networks on these data, not the audited model");
	} else if (!strcmp(check, "lr_range")) {
		double lr = isfinite(evnum(f, "advised_lr")) ? evnum(f, "advised_lr") : evnum(f, "suggested_lr");
		double loss = isfinite(evnum(f, "train_loss_advised")) ? evnum(f, "train_loss_advised")
								       : evnum(f, "train_loss_suggested");
		part(g, "lr_range", xasprintf("Adam starting at a learning rate of about %s rather than the default 1e-3, "
					      "decayed over training: over the first %lld steps a probe's training loss "
					      "falls to %.3f against %.3f.", rate(a, sizeof a, lr),
					      (long long)json_integer_value(ev(f, "steps")), loss, evnum(f, "train_loss_default")));
	} else if (!strcmp(check, "optimizers")) {
		static const char *const names[][2] = {{"sgd", "plain SGD"}, {"momentum", "SGD with momentum"},
						      {"rmsprop", "RMSprop"}, {"adagrad", "AdaGrad"}, {"adam", "Adam"},
						      {"constant", "a constant rate"}, {"step", "step decay"},
						      {"exponential", "exponential decay"}, {"cosine", "cosine decay"}};
		const char *o = evstr(f, "optimizer") ? evstr(f, "optimizer") : "", *sc = evstr(f, "schedule") ? evstr(f, "schedule") : "";
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (!strcmp(o, names[i][0]))
				o = names[i][1];
			if (!strcmp(sc, names[i][0]))
				sc = names[i][1];
		}
		long long st = json_integer_value(ev(f, "steps_to_target")), rs = json_integer_value(ev(f, "reference_steps_to_target"));
		struct strbuf t;
		sb_init(&t);
		char *rival = evstr(f, "reference_text") ? xstrdup(evstr(f, "reference_text"))
							  : xasprintf("Adam at a constant %s", rate(b, sizeof b, evnum(f, "reference_lr")));
		sb_printf(&t, "%s at lr %s with %s: after %lld steps its validation loss is %.3f against %.3f for %s "
			      "(averaged over %lld new seeds)", o, rate(a, sizeof a, evnum(f, "lr")), sc,
			  (long long)json_integer_value(ev(f, "steps")), evnum(f, "confirmed_val_loss"),
			  evnum(f, "confirmed_reference_val_loss"), rival,
			  (long long)json_integer_value(json_object_get(ev(f, "confirmation"), "seeds")));
		free(rival);
		/* steps to the target were counted against Adam at its usual rate */
		double ul = isfinite(evnum(f, "usual_adam_lr")) ? evnum(f, "usual_adam_lr") : evnum(f, "reference_lr");
		if (st >= 0 && rs > st)
			sb_printf(&t, ", and it reached the target training loss in %.0f%% fewer steps than Adam at a "
				      "constant %s (%lld against %lld)", 100.0 * (double)(rs - st) / (double)rs, rate(b, sizeof b, ul), st, rs);
		else if (st >= 0 && rs < 0)
			sb_printf(&t, ", and it reached the target training loss in %lld steps where Adam at a constant %s "
				      "never did", st,
				  rate(b, sizeof b, ul));
		sb_putc(&t, '.');
		part(g, "optimizers", xstrdup(t.data));
		sb_free(&t);
	} else if (!strcmp(check, "init")) {
		part(g, "init", xasprintf("check the input scaling and for dead ReLU units: with %s init a network's "
					  "training loss is %.3f, no better than %.3f with all hidden units identical.",
					  evstr(f, "init") ? evstr(f, "init") : "He", evnum(f, "train_loss"),
					  evnum(f, "constant_train_loss")));
	} else {
		/* a check this plan does not know yet: its title */
		part(g, check, xasprintf("%s", fstr(f, "title") ? fstr(f, "title") : "see the probes' training checks."));
	}
}

/* The "training" recipe: the first known clause leads ("Train networks on
 * these data ..."), the others follow as their own sentences. */
static void compose_training(struct group *g)
{
	static const char *const order[] = {"hpo", "lr_range", "optimizers", "init", NULL};
	sb_free(&g->text);
	sb_init(&g->text);
	int lead = 1;
	for (int i = 0; order[i]; i++) {
		const char *t = json_string_value(json_object_get(g->parts, order[i]));
		if (!t)
			continue;
		if (!strcmp(order[i], "init"))
			sb_printf(&g->text, "%s%s%s", lead ? "" : " ", lead ? "Before training networks on these data, c" : "C",
				  t + 1);
		else if (lead)
			sb_printf(&g->text, "Train networks on these data %s%s", strcmp(order[i], "hpo") ? "with " : "", t);
		else if (!strcmp(order[i], "lr_range"))
			sb_printf(&g->text, " The learning-rate range test alone suggests %s", t);
		else if (!strcmp(order[i], "optimizers"))
			sb_printf(&g->text, " The optimizer comparison favours %s", t);
		else
			sb_printf(&g->text, " %s", t);
		lead = 0;
	}
	/* clauses of checks not in the order above */
	const char *k;
	json_t *v;
	json_object_foreach(g->parts, k, v) {
		int known = 0;
		for (int i = 0; order[i]; i++)
			known |= !strcmp(order[i], k);
		if (!known)
			sb_printf(&g->text, "%s%s", g->text.len ? " " : "", json_string_value(v));
	}
}

static void model_side(struct plan *p, const json_t *f)
{
	const char *split = subj(f, "split");
	char buf[512];
	if (is_kind(f, "overfitting")) {
		snprintf(buf, sizeof buf, "Regularise or simplify the model (stronger L2 or dropout, shallower trees, early "
			 "stopping): it scores %.3f on train but %.3f on test.", evest(f, "train"), evest(f, "test"));
		simple(p, f, "regularize", "model", buf);
		struct group *g = find_group(p, "regularize", "model");
		set_gain(g, evest(f, "gap"), "at most the train-test gap");
	} else if (is_kind(f, "leakage")) {
		const char *feature = subj(f, "feature");
		snprintf(buf, sizeof buf, "Remove %s unless it is known at prediction time: alone it predicts the label with "
			 "ROC-AUC %.3f, which real features rarely do.", feature ? feature : "the feature", evest(f, "auc"));
		char *key = xasprintf("feature:%s", feature ? feature : "");
		simple(p, f, "remove_feature", key, buf);
		free(key);
	} else if (is_kind(f, "miscalibration")) {
		snprintf(buf, sizeof buf, "Recalibrate the model's probabilities (Platt scaling or isotonic regression on recent "
			 "labelled data): expected calibration error %.3f on %s.", evest(f, "ece"), split ? split : "new data");
		simple(p, f, "tune_training", "calibration", buf);
	} else if (is_kind(f, "low_train_performance")) {
		if (ev(f, "majority_rate"))
			simple(p, f, "increase_capacity", "model", "Give the model more capacity or better features: on its own "
				"training data it does no better than predicting the most frequent class.");
		else
			relabel(p, f);
	} else if (is_kind(f, "capacity") && evstr(f, "overfit_from")) {
		probe_check(p, f);
	} else if (is_kind(f, "capacity") || is_kind(f, "below_reference")) {
		simple(p, f, "increase_capacity", "model", "Try a larger or different model: a probe trained on the same data "
			"does better, so the data hold more than the model captures.");
	} else if (is_kind(f, "sanity_check")) {
		probe_check(p, f);
	} else if (is_kind(f, "unlearnable_labels") && find_group(p, "fix_pipeline", "labels:join")) {
		/* the mini-batch check already blamed the labels' join */
		address(find_group(p, "fix_pipeline", "labels:join"), f);
	} else if (is_kind(f, "insufficient_data") || is_kind(f, "unlearnable_labels")) {
		simple(p, f, "collect_data", "more", is_kind(f, "insufficient_data")
			? "Collect more labelled data: the learning curve is still rising at the full training size."
			: "Add more informative features: the label cannot be learnt well from the ones given.");
	}
}

/* ---- order and output ---- */

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->sev != y->sev)
		return x->sev < y->sev ? 1 : -1;
	double gx = isnan(x->gain) ? -1 : x->gain, gy = isnan(y->gain) ? -1 : y->gain;
	if (gx != gy)
		return gx < gy ? 1 : -1;
	int ra = action_rank(x->action), rb = action_rank(y->action);
	if (ra != rb)
		return ra - rb;
	/* the advice that settles more findings first */
	size_t na = json_array_size(x->addresses), nb = json_array_size(y->addresses);
	if (na != nb)
		return na < nb ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void finish_text(struct group *g)
{
	if (!strcmp(g->key, "sanity:training"))
		compose_training(g);
	if (!strcmp(g->action, "retrain_recent") || !strcmp(g->action, "reweight")) {
		struct strbuf names;
		sb_init(&names);
		size_t i, k = 0;
		json_t *v;
		json_array_foreach(g->items, i, v)
			sb_printf(&names, "%s%s", k++ ? ", " : "", json_string_value(v));
		if (!strcmp(g->action, "reweight") && !g->text.len) {
			const char *split = strchr(g->key, ':') + 1;
			sb_printf(&g->text, "Reweight training rows toward %s's distribution of %s (importance weights), or "
					    "retrain once its labels arrive: %s moved but no loss of performance is measured yet.",
				  split, names.len ? names.data : "the drifted features", k == 1 ? "it" : "they");
		} else if (k) {
			sb_printf(&g->text, " %s drifted", names.data);
			if (!isnan(g->joint_auc))
				sb_printf(&g->text, " (a classifier tells %s's rows from train's with ROC-AUC %.2f)",
					  strchr(g->key, ':') + 1, g->joint_auc);
			sb_putc(&g->text, '.');
		} else if (!isnan(g->joint_auc)) {
			sb_printf(&g->text, " Its rows drifted as a whole: a classifier tells them from train's with ROC-AUC %.2f.",
				  g->joint_auc);
		}
		if (g->slice)
			sb_printf(&g->text, " It errs most where %s.", g->slice);
		sb_free(&names);
	}
	if (!strcmp(g->key, "sampling:test") && json_array_size(g->items)) {
		sb_puts(&g->text, " Features that differ: ");
		size_t i;
		json_t *v;
		json_array_foreach(g->items, i, v)
			sb_printf(&g->text, "%s%s", i ? ", " : "", json_string_value(v));
		sb_putc(&g->text, '.');
	}
	if (g->extra.len)
		sb_puts(&g->text, g->extra.data);
}

json_t *plan_mitigations(const json_t *findings, const struct plan_ctx *ctx)
{
	struct plan p = {.ctx = ctx};
	/* Passes in a fixed order, so that the finding that names a group's main
	 * problem creates it and the symptoms join it. */
	static const char *const passes[][6] = {
		{"pipeline_change", NULL},
		{"data_quality", NULL},
		{"leakage", NULL},
		{"performance_drop", NULL},
		{"time_degradation", "concept_drift", "label_shift", NULL},
		{"importance_shift", NULL},
		{"data_drift", NULL},
		{"feature_reliance", NULL},
		{"weak_segment", NULL},
		{"underrepresented_slice", NULL},
		{"error_slice", NULL},
		{"misaligned_metric", NULL},
		{"label_noise", "confident_errors", NULL},
		{"overfitting", "low_train_performance", "miscalibration", "capacity", "below_reference", NULL},
		{"sanity_check", NULL},
		{"insufficient_data", "unlearnable_labels", NULL},
	};
	for (size_t pass = 0; pass < sizeof passes / sizeof passes[0]; pass++) {
		size_t i;
		json_t *f;
		json_array_foreach(findings, i, f) {
			const char *kind = fstr(f, "kind");
			int in_pass = 0;
			for (int k = 0; kind && passes[pass][k]; k++)
				in_pass |= !strcmp(passes[pass][k], kind);
			if (!in_pass)
				continue;
			if (is_kind(f, "pipeline_change"))
				fix_feed(&p, f);
			else if (is_kind(f, "data_quality"))
				subj(f, "feature") ? fix_feed(&p, f) : split_problem(&p, f);
			else if (is_kind(f, "performance_drop"))
				drop(&p, f);
			else if (is_kind(f, "time_degradation") || is_kind(f, "concept_drift") || is_kind(f, "label_shift"))
				recent_symptom(&p, f);
			else if (is_kind(f, "importance_shift"))
				importance(&p, f);
			else if (is_kind(f, "data_drift"))
				drift(&p, f);
			else if (is_kind(f, "feature_reliance"))
				reliance(&p, f);
			else if (is_kind(f, "underrepresented_slice"))
				underrepresented(&p, f);
			else if (is_kind(f, "weak_segment") || is_kind(f, "error_slice"))
				collect(&p, f);
			else if (is_kind(f, "misaligned_metric"))
				threshold(&p, f);
			else if (is_kind(f, "label_noise") || is_kind(f, "confident_errors"))
				relabel(&p, f);
			else
				model_side(&p, f);
		}
	}
	/* A split whose feeds broke: repair them first, and retrain only if it
	 * still trails test afterwards (retraining on broken inputs would teach
	 * the model the bug). The drop becomes the repairs' upper bound. */
	for (size_t i = 0; i < p.n; i++) {
		struct group *rg = &p.g[i];
		if (strcmp(rg->action, "retrain_recent"))
			continue;
		const char *split = strchr(rg->key, ':') + 1;
		int broken = 0;
		for (size_t j = 0; j < p.n; j++) {
			struct group *fg = &p.g[j];
			if (strcmp(fg->action, "fix_pipeline") || !fg->split || strcmp(fg->split, split) || fg->sev < SEV_HIGH)
				continue;
			broken = 1;
			if (!isnan(rg->gain)) {
				char *basis = xasprintf("at most the drop from test to %s, shared by the repairs of its feeds", split);
				set_gain(fg, rg->gain, basis);
				free(basis);
			}
		}
		if (broken) {
			struct strbuf t;
			sb_init(&t);
			sb_printf(&t, "After the %s feeds are fixed, if %s still trails test: ", split, split);
			if (rg->text.len) {
				sb_putc(&t, (char)tolower((unsigned char)rg->text.data[0]));
				sb_puts(&t, rg->text.data + 1);
			}
			sb_free(&rg->text);
			rg->text = t;
			rg->gain = NAN;
			free(rg->gain_basis);
			rg->gain_basis = NULL;
		}
	}
	for (size_t i = 0; i < p.n; i++)
		finish_text(&p.g[i]);
	/* advice that addresses only informational findings is noise */
	size_t kept = 0;
	for (size_t i = 0; i < p.n; i++) {
		if (p.g[i].sev == SEV_INFO || !p.g[i].text.len)
			group_free(&p.g[i]);
		else
			p.g[kept++] = p.g[i];
	}
	p.n = kept;
	if (p.n)
		qsort(p.g, p.n, sizeof *p.g, group_cmp);

	json_t *out = json_object(), *list = json_array(), *by = json_object();
	for (size_t i = 0; i < p.n; i++) {
		struct group *g = &p.g[i];
		struct hash64 h;
		hash64_init(&h);
		hash64_update(&h, g->action, strlen(g->action) + 1);
		hash64_update(&h, g->key, strlen(g->key) + 1);
		char id[32];
		snprintf(id, sizeof id, "M-%08llx", (unsigned long long)(hash64_final(&h) & 0xffffffffull));
		json_t *m = json_object();
		json_object_set_new(m, "id", json_string(id));
		json_object_set_new(m, "action", json_string(g->action));
		json_object_set_new(m, "text", json_string(g->text.data));
		json_object_set_new(m, "addresses", json_incref(g->addresses));
		json_object_set_new(m, "severity", json_string(severity_name(g->sev)));
		json_object_set_new(m, "priority", json_integer((json_int_t)i + 1));
		if (!isnan(g->gain)) {
			json_t *e = json_object();
			json_object_set_new(e, "metric", json_string(ctx->metric ? ctx->metric : ""));
			json_object_set_new(e, "value", json_real(g->gain));
			json_object_set_new(e, "basis", json_string(g->gain_basis ? g->gain_basis : ""));
			json_object_set_new(m, "expected_gain", e);
		}
		if (g->rows >= 0) {
			json_t *s = json_object();
			json_object_set_new(s, "rows", json_integer(g->rows));
			json_object_set_new(s, "rule", json_string(g->rows_rule ? g->rows_rule : ""));
			json_object_set_new(m, "size", s);
		}
		json_array_append_new(list, m);
		size_t k;
		json_t *fid;
		json_array_foreach(g->addresses, k, fid) {
			const char *s = json_string_value(fid);
			json_t *arr = json_object_get(by, s);
			if (!arr) {
				arr = json_array();
				json_object_set_new(by, s, arr);
			}
			json_array_append_new(arr, json_string(id));
		}
		group_free(g);
	}
	free(p.g);
	json_object_set_new(out, "mitigations", list);
	json_object_set_new(out, "by_finding", by);
	json_object_set_new(out, "rules", json_string(
		"Each finding kind maps to one action; findings one action settles share a mitigation (a split's drop, "
		"drift, time degradation and importance shifts -> retrain on recent data; a feed's unit change, missing "
		"values and the drift they cause -> fix the feed; a slice inside a weak segment -> that segment's advice). "
		"An underrepresented slice follows its learning curve: still rising, or levelling off beyond train's rows "
		"-> collect its rows_more; enough rows in train -> reweight them; flat, or levelling off within train's "
		"rows -> check its labels and features (relabel); a segment value's curve rewrites that weak segment's "
		"advice. Ordered by the highest severity addressed, then expected gain (an upper bound from the evidence: "
		"the drop, the threshold gain measured on test, a segment's gap times its share), then fix the data before "
		"the model. Rows to collect without a learning curve: the larger of doubling the slice's training rows and "
		"bringing its share of train up to its share of the split where it fails. Advice addressing only "
		"informational findings is left out."));
	return out;
}
