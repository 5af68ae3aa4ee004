/* whatif.c - retrain a probe with each testable mitigation applied (whatif.h). */
#include "whatif.h"
#include "../evaluate/metrics.h"
#include "../evaluate/stats.h"
#include "../ingest/csv.h"
#include "../probes/features.h"
#include "../rootcause/slicecond.h"
#include "../../pipeline/findings.h"
#include "../../pipeline/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== the metric on counted rows ==================================== */

enum wm {
	WM_ACC, WM_BALACC, WM_PREC, WM_REC, WM_F1, WM_MPREC, WM_MREC, WM_MF1,
	WM_AUC, WM_AP, WM_LOGLOSS, WM_BRIER, WM_ECE, WM_UNKNOWN
};

static enum wm wm_of(const char *name)
{
	static const char *const names[] = {"accuracy", "balanced_accuracy", "precision", "recall", "f1",
					    "macro_precision", "macro_recall", "macro_f1", "roc_auc", "pr_auc",
					    "log_loss", "brier", "ece"};
	for (int i = 0; name && i < WM_UNKNOWN; i++)
		if (!strcmp(names[i], name))
			return (enum wm)i;
	return WM_UNKNOWN;
}

static int argmax(const float *p, int k)
{
	int b = 0;
	for (int c = 1; c < k; c++)
		if (p[c] > p[b])
			b = c;
	return b;
}

/* The probabilities a sort of class c reads. */
struct by_class {
	const float *p;
	int k, c;
};

static int cmp_score(const void *a, const void *b, void *ctx)
{
	const struct by_class *bc = ctx;
	float x = bc->p[*(const size_t *)a * (size_t)bc->k + (size_t)bc->c];
	float y = bc->p[*(const size_t *)b * (size_t)bc->k + (size_t)bc->c];
	if (x != y)
		return x < y ? -1 : 1;
	/* ties by row, so the order is the same on every libc */
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return (i > j) - (i < j);
}

/* Rows sorted by ascending p[., c]: a new array. */
static size_t *sort_by_class(const float *p, size_t n, int k, int c)
{
	size_t *o = xmalloc((n ? n : 1) * sizeof *o);
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	struct by_class bc = {p, k, c};
	qsort_r(o, n, sizeof *o, cmp_score, &bc);   /* glibc's (_GNU_SOURCE): no shared state */
	return o;
}

/* Weighted Mann-Whitney AUC and average precision of class c against the
 * rest, walking the rows in ascending score with ties grouped (metrics.c's
 * rank_metrics with each row counted w times). */
static void rank_weighted(const int32_t *y, const float *p, int k, int c, const size_t *o, size_t n,
			  const uint32_t *count, double P, double N, double *auc, double *ap)
{
	double u = 0, neg_below = 0;
	for (size_t i = 0; i < n;) {
		float s = p[o[i] * (size_t)k + (size_t)c];
		double gp = 0, gn = 0;
		size_t j = i;
		for (; j < n && p[o[j] * (size_t)k + (size_t)c] == s; j++) {
			double w = count ? count[o[j]] : 1;
			if (y[o[j]] == c)
				gp += w;
			else
				gn += w;
		}
		u += gp * (neg_below + 0.5 * gn);
		neg_below += gn;
		i = j;
	}
	*auc = u / (P * N);
	double tp = 0, fp = 0, a = 0;
	for (size_t i = n; i > 0;) {
		float s = p[o[i - 1] * (size_t)k + (size_t)c];
		double gp = 0, g = 0;
		size_t j = i;
		for (; j > 0 && p[o[j - 1] * (size_t)k + (size_t)c] == s; j--) {
			double w = count ? count[o[j - 1]] : 1;
			g += w;
			if (y[o[j - 1]] == c)
				gp += w;
		}
		tp += gp;
		fp += g - gp;
		if (gp > 0)
			a += gp / P * (tp / (tp + fp));
		i = j;
	}
	*ap = a;
}

/* whatif_metric with the predictions given (the bootstrap calls it hundreds
 * of times on the same rows, so the argmax is taken once). */
static double metric_counted(enum wm m, const int32_t *y, const float *p, const int32_t *pred, size_t n, int k,
			     int positive, const uint32_t *count, size_t *const *order)
{
	if (m == WM_UNKNOWN || k < 2)
		return NAN;
	size_t K = (size_t)k;
	double *conf = xcalloc(K * K, sizeof *conf), *sup = xcalloc(K, sizeof *sup), *prd = xcalloc(K, sizeof *prd);
	double total = 0, ll = 0, br = 0, bn[METRICS_NBINS] = {0}, bc[METRICS_NBINS] = {0}, bk[METRICS_NBINS] = {0};
	/* the confusion matrix, in the tight loop every metric needs */
	for (size_t i = 0; i < n; i++)
		conf[(size_t)y[i] * K + (size_t)pred[i]] += count ? count[i] : 1;
	for (size_t t = 0; t < K; t++)
		for (size_t q = 0; q < K; q++) {
			sup[t] += conf[t * K + q];
			prd[q] += conf[t * K + q];
			total += conf[t * K + q];
		}
	for (size_t i = 0; (m == WM_LOGLOSS || m == WM_BRIER || m == WM_ECE) && i < n; i++) {
		double w = count ? count[i] : 1;
		if (w == 0)
			continue;
		const float *pi = p + i * K;
		int t = y[i], q = pred[i];
		if (m == WM_LOGLOSS) {
			double pt = pi[t];
			ll += w * -log(pt > 1e-15 ? pt : 1e-15);
		} else if (m == WM_BRIER) {
			double s = 0;
			if (positive >= 0) {
				double dd = pi[positive] - (t == positive);
				s = dd * dd;
			} else {
				for (size_t c = 0; c < K; c++) {
					double dd = pi[c] - ((size_t)t == c);
					s += dd * dd;
				}
			}
			br += w * s;
		} else {
			double cf = pi[q];
			int b = cf >= 1.0 ? METRICS_NBINS - 1 : cf > 0.0 ? (int)(cf * METRICS_NBINS) : 0;
			if (b >= METRICS_NBINS)
				b = METRICS_NBINS - 1;
			bn[b] += w;
			bc[b] += w * cf;
			bk[b] += w * (q == t);
		}
	}
	double v = NAN;
	int present = 0;
	double sr = 0, sp = 0, sf = 0;
	for (size_t c = 0; c < K; c++) {
		double tp = conf[c * K + c], fp = prd[c] - tp, fn = sup[c] - tp;
		if (sup[c] == 0)
			continue;
		present++;
		sr += tp / sup[c];
		sp += prd[c] > 0 ? tp / prd[c] : 0.0;
		sf += 2 * tp / (2 * tp + fp + fn);
	}
	if (total > 0) {
		double tp = positive >= 0 ? conf[(size_t)positive * K + (size_t)positive] : 0;
		switch (m) {
		case WM_ACC: {
			double c = 0;
			for (size_t j = 0; j < K; j++)
				c += conf[j * K + j];
			v = c / total;
			break;
		}
		case WM_PREC:
			if (positive < 0)
				v = sp / present;
			else
				v = prd[positive] > 0 ? tp / prd[positive] : NAN;
			break;
		case WM_REC:
			if (positive < 0)
				v = sr / present;
			else
				v = sup[positive] > 0 ? tp / sup[positive] : NAN;
			break;
		case WM_F1:
			if (positive < 0) {
				v = sf / present;
			} else {
				double d2 = 2 * tp + (prd[positive] - tp) + (sup[positive] - tp);
				v = d2 > 0 ? 2 * tp / d2 : NAN;
			}
			break;
		case WM_BALACC:
		case WM_MREC: v = sr / present; break;
		case WM_MPREC: v = sp / present; break;
		case WM_MF1: v = sf / present; break;
		case WM_LOGLOSS: v = ll / total; break;
		case WM_BRIER: v = br / total; break;
		case WM_ECE:
			v = 0;
			for (int b = 0; b < METRICS_NBINS; b++)
				if (bn[b] > 0)
					v += bn[b] / total * fabs(bk[b] / bn[b] - bc[b] / bn[b]);
			break;
		case WM_AUC:
		case WM_AP: {
			if (present < 2 || (positive >= 0 && (sup[positive] == 0 || sup[positive] == total)))
				break;
			double sa = 0, sap = 0;
			int scored = 0;
			for (int c = 0; c < k; c++) {
				if (positive >= 0 ? c != positive : sup[c] == 0)
					continue;
				size_t *o = order ? order[c] : sort_by_class(p, n, k, c);
				double a, ap;
				rank_weighted(y, p, k, c, o, n, count, sup[c], total - sup[c], &a, &ap);
				if (!order)
					free(o);
				sa += a;
				sap += ap;
				scored++;
			}
			v = (m == WM_AUC ? sa : sap) / scored;
			break;
		}
		default: break;
		}
	}
	free(conf);
	free(sup);
	free(prd);
	return v;
}

double whatif_metric(const char *metric, const int32_t *y, const float *p, size_t n, int k, int positive,
		     const uint32_t *count, size_t *const *order)
{
	int32_t *pred = xmalloc((n ? n : 1) * sizeof *pred);
	for (size_t i = 0; i < n; i++)
		pred[i] = argmax(p + i * (size_t)(k > 0 ? k : 1), k);
	double v = metric_counted(wm_of(metric), y, p, pred, n, k, positive, count, order);
	free(pred);
	return v;
}

/* ==== reading what a mitigation is about ============================== */

static const char *str_at(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *subject_of(const json_t *f, const char *key)
{
	return json_string_value(json_object_get(json_object_get(f, "subject"), key));
}

static int action_is(const json_t *m, const char *a)
{
	const char *s = str_at(m, "action");
	return s && !strcmp(s, a);
}

static int testable_action(const json_t *m)
{
	return action_is(m, "relabel") || action_is(m, "remove_feature") || action_is(m, "collect_data") ||
	       action_is(m, "reweight") || action_is(m, "retrain_recent");
}

/* The first finding m addresses that has subject key `key` (and, when kinds
 * is given, one of those kinds); NULL when none. */
static const json_t *addressed(const json_t *m, const json_t *byid, const char *key, const char *const *kinds)
{
	size_t i;
	json_t *id;
	json_array_foreach(json_object_get(m, "addresses"), i, id) {
		const json_t *f = json_object_get(byid, json_string_value(id) ? json_string_value(id) : "");
		if (!f || !subject_of(f, key))
			continue;
		if (!kinds)
			return f;
		const char *kind = str_at(f, "kind");
		for (int k = 0; kind && kinds[k]; k++)
			if (!strcmp(kinds[k], kind))
				return f;
	}
	return NULL;
}

static json_t *findings_by_id(const json_t *findings)
{
	json_t *byid = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f)
		if (str_at(f, "id"))
			json_object_set(byid, str_at(f, "id"), f);
	return byid;
}

static const char *const train_label_kinds[] = {"label_noise", "confident_errors", "low_train_performance", NULL};

/* What the findings alone say about m: 1 when it may be measured. */
static int maybe_testable(const json_t *m, const json_t *byid)
{
	if (action_is(m, "relabel")) {
		const json_t *f = addressed(m, byid, "split", train_label_kinds);
		return f && !strcmp(subject_of(f, "split"), "train");
	}
	if (action_is(m, "remove_feature"))
		return addressed(m, byid, "feature", NULL) != NULL;
	if (action_is(m, "collect_data") || action_is(m, "reweight"))
		return addressed(m, byid, "segment", NULL) || addressed(m, byid, "slice", NULL);
	if (action_is(m, "retrain_recent")) {
		size_t i;
		json_t *id;
		json_array_foreach(json_object_get(m, "addresses"), i, id) {
			const json_t *f = json_object_get(byid, json_string_value(id) ? json_string_value(id) : "");
			const char *s = f ? subject_of(f, "split") : NULL;
			if (s && strcmp(s, "train") && strcmp(s, "test"))
				return 1;
		}
	}
	return 0;
}

int whatif_wanted(const json_t *plan, const json_t *findings)
{
	json_t *byid = findings_by_id(findings);
	size_t i;
	json_t *m;
	int any = 0;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m)
		any |= maybe_testable(m, byid);
	json_decref(byid);
	return any;
}

/* ==== label suspects ================================================== */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The id column the probes stage writes ids from (probes_stage.c id_column):
 * the first categorical column with the id role; -1 = row numbers. */
static int id_column(const struct frame *f)
{
	for (size_t j = 0; j < f->ncols; j++)
		if (f->cols[j].role == ROLE_ID && f->cols[j].type == COL_CATEGORICAL)
			return (int)j;
	return -1;
}

long whatif_read_suspects(const struct rc_data *d, const char *path, uint8_t *mark)
{
	const struct rc_split *tr = &d->splits[0];
	struct csv_reader *rd = csv_open(path, ',');
	if (!rd)
		return -1;
	struct csv_row row;
	int got = csv_next(rd, &row);
	long c_id = -1, c_given = -1;
	for (size_t f = 0; got > 0 && f < row.nfields; f++) {
		if (!strcmp(row.field[f], "id") && c_id < 0)
			c_id = (long)f;
		else if (!strcmp(row.field[f], "given_label") && c_given < 0)
			c_given = (long)f;
	}
	if (got > 0 && (c_id < 0 || c_given < 0)) {
		csv_close(rd);
		return ERR_INTERNAL("%s:1:1: expected the columns id and given_label", path);
	}
	/* (id, given label) pairs, sorted by id */
	size_t n = 0, cap = 0;
	char **ids = NULL;
	while (got > 0 && (got = csv_next(rd, &row)) > 0) {
		if (row.nfields <= (size_t)(c_id > c_given ? c_id : c_given))
			continue;
		int32_t g = -1;
		for (int c = 0; c < d->k; c++)
			if (!strcmp(row.field[c_given], d->classes[c]))
				g = c;
		if (g < 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		/* the given label rides after the id's NUL, so one sort keeps both */
		size_t len = strlen(row.field[c_id]);
		ids[n] = xmalloc(len + 1 + sizeof(int32_t));
		memcpy(ids[n], row.field[c_id], len + 1);
		memcpy(ids[n] + len + 1, &g, sizeof g);
		n++;
	}
	csv_close(rd);
	long marked = 0;
	if (got == 0 && n) {
		qsort(ids, n, sizeof *ids, cmp_str);
		int ic = id_column(tr->frame);
		if (ic >= 0) {
			/* by level: each distinct id is looked up once, then rows read its answer */
			const struct frame_column *col = &tr->frame->cols[ic];
			int32_t *hit = xmalloc((col->nlevels ? col->nlevels : 1) * sizeof *hit);
			for (size_t l = 0; l < col->nlevels; l++) {
				const char *key = col->levels[l];
				char **f = bsearch(&key, ids, n, sizeof *ids, cmp_str);
				hit[l] = -1;
				if (f)
					memcpy(&hit[l], *f + strlen(*f) + 1, sizeof hit[l]);
			}
			for (size_t i = 0; i < tr->nrows; i++) {
				int32_t c = col->code[i];
				if (c >= 0 && hit[c] >= 0 && hit[c] == tr->y[i] && !mark[i]) {
					mark[i] = 1;
					marked++;
				}
			}
			free(hit);
		} else {
			for (size_t a = 0; a < n; a++) {
				char *end;
				unsigned long long r1 = strtoull(ids[a], &end, 10);
				int32_t g;
				memcpy(&g, ids[a] + strlen(ids[a]) + 1, sizeof g);
				if (*end || end == ids[a] || r1 < 1 || r1 > tr->nrows)
					continue;
				size_t i = (size_t)(r1 - 1);
				if (tr->y[i] == g && !mark[i]) {
					mark[i] = 1;
					marked++;
				}
			}
		}
	}
	for (size_t a = 0; a < n; a++)
		free(ids[a]);
	free(ids);
	return got < 0 ? -1 : marked;
}

/* ==== slices from their text ========================================== */

long whatif_slice_rows(const struct rc_data *d, const char *slice, size_t s, uint8_t *in)
{
	struct slice_cond *c = NULL;
	size_t nc = 0;
	if (s >= d->nsplits || slicecond_parse(d, slice, &c, &nc) < 0)
		return -1;
	long count = 0;
	for (size_t i = 0; i < d->splits[s].nrows; i++) {
		int ok = 1;
		for (size_t j = 0; j < nc && ok; j++)
			ok = slicecond_match(d, &c[j], s, i);
		in[i] = (uint8_t)ok;
		count += ok;
	}
	for (size_t j = 0; j < nc; j++)
		slicecond_free(&c[j]);
	free(c);
	return count;
}

/* ==== the experiment ================================================== */

enum vkind { V_RELABEL, V_REMOVE, V_UPWEIGHT, V_RECENT };

struct variant {
	json_t *m;               /* the mitigation (borrowed from plan) */
	enum vkind kind;
	const char *subject;     /* feature, slice text or split name (borrowed from findings) */
	size_t recent;           /* V_RECENT: index into the recent halves */
	size_t judge_split;      /* the split judged on: where the problem shows (else test); V_RECENT: its split */
	uint8_t *fmask;          /* V_REMOVE: the feature mask */
	size_t fdropped;         /* V_REMOVE: encoded columns dropped */
	uint8_t *rows_in;        /* V_RELABEL: train rows dropped; V_UPWEIGHT: train rows upweighted */
	size_t affected;         /* sampled train rows dropped or upweighted */
	float *w;                /* row weights over the job's rows */
	uint8_t *val;            /* validation rows over the job's rows (MLP) */
};

/* A split whose seeded labelled sample is cut in halves: the first half
 * joins training (for its variant only), the second judges. */
struct recent {
	size_t split;
	size_t *train_rows, n_train;
	size_t *judge_rows, n_judge;
	size_t at;               /* first row of its half in the job's matrix */
};

static void not_measured(json_t *why, const json_t *m, const char *reason)
{
	const char *id = str_at(m, "id");
	if (id)
		json_object_set_new(why, id, json_string(reason));
}

static long split_index(const struct rc_data *d, const char *name)
{
	for (size_t s = 2; name && s < d->nsplits; s++)
		if (!strcmp(d->splits[s].name, name))
			return (long)s;
	return -1;
}

/* A split other than train by name, with enough labelled rows to judge on. */
static long judge_split_of(const struct rc_data *d, const char *name)
{
	for (size_t s = 1; name && s < d->nsplits; s++)
		if (!strcmp(d->splits[s].name, name))
			return d->splits[s].n_labelled >= WHATIF_MIN_JUDGE ? (long)s : -1;
	return -1;
}

/* 1 when the plan repairs a feed of `split` (a high fix_pipeline on one of its
 * findings) before retraining on it: retraining on the broken feed would
 * teach the probe the bug, which is not what the mitigation advises. */
static int feeds_broken(const json_t *plan, const json_t *byid, const char *split)
{
	size_t i, k;
	json_t *m, *id;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m) {
		const char *sev = str_at(m, "severity");
		if (!action_is(m, "fix_pipeline") || !sev || strcmp(sev, "high"))
			continue;
		json_array_foreach(json_object_get(m, "addresses"), k, id) {
			const json_t *f = json_object_get(byid, json_string_value(id) ? json_string_value(id) : "");
			const char *fs = f ? subject_of(f, "split") : NULL;
			if (fs && !strcmp(fs, split))
				return 1;
		}
	}
	return 0;
}

static double gain_of(const char *metric, double delta)
{
	return metric_higher_is_better(metric) ? delta : -delta;
}

/* A probe's predictions on rows judged: probabilities (n x k) and their
 * orders per class, for the bootstrap. */
struct judged {
	float *p;
	int32_t *pred;           /* argmax per row */
	size_t **order;          /* k arrays or NULL entries */
};

static void judged_free(struct judged *j, int k)
{
	for (int c = 0; j->order && c < k; c++)
		free(j->order[c]);
	free(j->order);
	free(j->p);
	free(j->pred);
}

static void judged_pred(struct judged *j, size_t n, int k)
{
	j->pred = xmalloc((n ? n : 1) * sizeof *j->pred);
	for (size_t i = 0; i < n; i++)
		j->pred[i] = argmax(j->p + i * (size_t)k, k);
}

static int judge(const struct rc_probes *p, const struct probe_result *r, size_t q, const float *x, size_t n, int k,
		 int rank, struct judged *out)
{
	out->p = xmalloc((n ? n : 1) * (size_t)k * sizeof *out->p);
	out->order = NULL;
	out->pred = NULL;
	if (rcprobe_predict(p, r, q, x, n, k, out->p) < 0)
		return -1;
	judged_pred(out, n, k);
	if (rank) {
		out->order = xcalloc((size_t)k, sizeof *out->order);
		for (int c = 0; c < k; c++)
			out->order[c] = sort_by_class(out->p, n, k, c);
	}
	return 0;
}

/* metrics.h's estimate of `metric` for probabilities p on rows with labels y. */
static struct estimate point(const char *metric, const int32_t *y, const float *p, size_t n, int k, int positive,
			     uint64_t seed)
{
	int *yi = xmalloc((n ? n : 1) * sizeof *yi), *pi = xmalloc((n ? n : 1) * sizeof *pi);
	double *pd = xmalloc((n ? n : 1) * (size_t)k * sizeof *pd);
	for (size_t i = 0; i < n; i++) {
		yi[i] = y[i];
		pi[i] = argmax(p + i * (size_t)k, k);
		for (int c = 0; c < k; c++)
			pd[i * (size_t)k + (size_t)c] = p[i * (size_t)k + (size_t)c];
	}
	struct eval_input in = {.n = n, .nclasses = k, .y = yi, .pred = pi, .proba = pd, .positive = positive, .seed = seed};
	struct eval_metrics m;
	struct estimate e = {NAN, NAN, NAN, NAN, n, "no rows"};
	if (metrics_compute(&in, &m) == 0) {
		const struct estimate *g = metrics_get(&m, metric);
		if (g)
			e = *g;
		metrics_free(&m);
	}
	free(yi);
	free(pi);
	free(pd);
	return e;
}

static json_t *est_json(const struct estimate *e)
{
	return estimate_json(e->value, e->lo, e->hi, (long long)e->n, e->reason);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Paired percentile bootstrap of after - before over the n judged rows. */
static void paired_delta(const char *metric, const int32_t *y, const struct judged *before,
			 const struct judged *after, size_t n, int k, int positive, int B, uint64_t seed,
			 double value, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (n == 0 || B <= 0 || isnan(value))
		return;
	uint32_t *count = xmalloc(n * sizeof *count);
	double *rep = xmalloc((size_t)B * sizeof *rep);
	size_t kept = 0;
	struct rng r;
	rng_seed(&r, seed);
	for (int b = 0; b < B; b++) {
		memset(count, 0, n * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[rng_below(&r, n)]++;
		double vb = metric_counted(wm_of(metric), y, before->p, before->pred, n, k, positive, count, before->order);
		double va = metric_counted(wm_of(metric), y, after->p, after->pred, n, k, positive, count, after->order);
		if (!isnan(vb) && !isnan(va))
			rep[kept++] = va - vb;
	}
	if (kept) {
		qsort(rep, kept, sizeof *rep, cmp_double);
		*lo = stats_quantile_sorted(rep, kept, 0.025);
		*hi = stats_quantile_sorted(rep, kept, 0.975);
		/* as metrics.c: an interval never misses its own point estimate */
		if (*lo > value)
			*lo = value;
		if (*hi < value)
			*hi = value;
	}
	free(count);
	free(rep);
}

/* Rows a probe is judged on: a split's seeded labelled sample, or a recent
 * split's held-out half; the baseline's predictions on them, made once. */
struct jset {
	size_t split;
	int half;                /* 1 + the index of the recent half; 0 = the split's own sample */
	size_t *rows;            /* owned (a copy for halves too) */
	size_t n;
	float *x;
	int32_t *y;
	struct judged base;
	struct estimate base_est;
};

static int jset_open(const struct rc_data *d, const struct rc_probes *p, const struct probe_result *res, size_t split,
		     const struct recent *half, size_t maxr, uint64_t seed, const char *metric, int k, int positive,
		     int rank, struct jset *j)
{
	j->split = split;
	j->rows = xmalloc((maxr ? maxr : 1) * sizeof *j->rows);
	if (half) {
		j->n = half->n_judge;
		memcpy(j->rows, half->judge_rows, j->n * sizeof *j->rows);
		j->half = 1;
	} else {
		j->n = rcprobe_sample(d, split, maxr, 1, 0, seed ^ (0x77 + split), j->rows);
	}
	j->x = rcprobe_gather(p, split, j->rows, j->n);
	j->y = xmalloc((j->n ? j->n : 1) * sizeof *j->y);
	for (size_t i = 0; i < j->n; i++)
		j->y[i] = d->splits[split].y[j->rows[i]];
	if (judge(p, res, 0, j->x, j->n, k, rank, &j->base) < 0)
		return -1;
	j->base_est = point(metric, j->y, j->base.p, j->n, k, positive, seed ^ 0x88);
	return 0;
}

static void jset_close(struct jset *j, int k)
{
	judged_free(&j->base, k);
	free(j->rows);
	free(j->x);
	free(j->y);
}

struct effect {
	struct estimate before, after;
	double delta, lo, hi;
};

/* The metric before and after on n rows, and the paired interval of the
 * delta; `known` is the before estimate when already computed (or NULL). */
static void effect_of(const char *metric, const int32_t *y, const struct judged *before, const struct judged *after,
		      size_t n, int k, int positive, int B, uint64_t seed, const struct estimate *known, struct effect *ef)
{
	ef->before = known ? *known : point(metric, y, before->p, n, k, positive, seed ^ 0x88);
	ef->after = point(metric, y, after->p, n, k, positive, seed ^ 0x88);
	ef->delta = ef->after.value - ef->before.value;
	paired_delta(metric, y, before, after, n, k, positive, B, seed, ef->delta, &ef->lo, &ef->hi);
}

static void effect_json(const struct effect *ef, size_t n, json_t *e)
{
	json_object_set_new(e, "before", est_json(&ef->before));
	json_object_set_new(e, "after", est_json(&ef->after));
	json_object_set_new(e, "delta", estimate_json(ef->delta, ef->lo, ef->hi, (long long)n,
						      isnan(ef->delta) ? "the metric is undefined on the judged rows" : NULL));
}

/* The judged rows idx[0..m) of a prediction set, with their own orders. */
static void judged_subset(const struct judged *src, const size_t *idx, size_t m, int k, int rank, struct judged *out)
{
	out->p = xmalloc((m ? m : 1) * (size_t)k * sizeof *out->p);
	for (size_t i = 0; i < m; i++)
		memcpy(out->p + i * (size_t)k, src->p + idx[i] * (size_t)k, (size_t)k * sizeof *out->p);
	out->order = NULL;
	judged_pred(out, m, k);
	if (rank) {
		out->order = xcalloc((size_t)k, sizeof *out->order);
		for (int c = 0; c < k; c++)
			out->order[c] = sort_by_class(out->p, m, k, c);
	}
}

/* The effect on the judged rows inside the slice: {"rows", "before",
 * "after", "delta"}, or NULL when fewer than WHATIF_MIN_SLICE are. */
static json_t *on_slice(const struct rc_data *d, const char *slice, const struct jset *j, const struct judged *after,
			const char *metric, int k, int positive, int rank, int B, uint64_t seed)
{
	uint8_t *in = xcalloc(d->splits[j->split].nrows ? d->splits[j->split].nrows : 1, 1);
	size_t *idx = xmalloc((j->n ? j->n : 1) * sizeof *idx), m = 0;
	if (whatif_slice_rows(d, slice, j->split, in) > 0)
		for (size_t i = 0; i < j->n; i++)
			if (in[j->rows[i]])
				idx[m++] = i;
	free(in);
	json_t *out = NULL;
	if (m >= WHATIF_MIN_SLICE) {
		struct judged sb = {0}, sa = {0};
		judged_subset(&j->base, idx, m, k, rank, &sb);
		judged_subset(after, idx, m, k, rank, &sa);
		int32_t *ys = xmalloc(m * sizeof *ys);
		for (size_t i = 0; i < m; i++)
			ys[i] = j->y[idx[i]];
		struct effect ef;
		effect_of(metric, ys, &sb, &sa, m, k, positive, B, seed, NULL, &ef);
		out = json_object();
		json_object_set_new(out, "rows", json_integer((json_int_t)m));
		effect_json(&ef, m, out);
		judged_free(&sb, k);
		judged_free(&sa, k);
		free(ys);
	}
	free(idx);
	return out;
}

static const char *count_text(char *buf, size_t size, size_t v)
{
	return rc_fmt(buf, size, (double)v);
}

static void seeded_shuffle(size_t *a, size_t n, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Candidates: which mitigations a probe may test, and on what subject. */
static size_t candidates(const struct rc_data *d, const struct rc_probes *p, const json_t *plan,
			 const json_t *byid, struct variant *v, json_t *why)
{
	size_t nv = 0, i;
	json_t *m;
	json_array_foreach(json_object_get(plan, "mitigations"), i, m) {
		if (!testable_action(m))
			continue;
		if (nv == WHATIF_MAX_VARIANTS) {
			char *r = xasprintf("beyond the %d mitigations measured per run (taken in the plan's order)",
					    WHATIF_MAX_VARIANTS);
			not_measured(why, m, r);
			free(r);
			continue;
		}
		struct variant x = {.m = m, .judge_split = 1};
		if (action_is(m, "relabel")) {
			const json_t *f = addressed(m, byid, "split", train_label_kinds);
			if (!f || strcmp(subject_of(f, "split"), "train")) {
				not_measured(why, m, "it is not about train's labels, and only train's label suspects are listed");
				continue;
			}
			x.kind = V_RELABEL;
			x.subject = "train";
		} else if (action_is(m, "remove_feature")) {
			const json_t *f = addressed(m, byid, "feature", NULL);
			if (!f) {
				not_measured(why, m, "no finding it addresses names a feature");
				continue;
			}
			x.kind = V_REMOVE;
			x.subject = subject_of(f, "feature");
			x.fmask = xmalloc(p->d ? p->d : 1);
			x.fdropped = p->enc ? feat_mask_without(p->enc, x.subject, x.fmask) : 0;
			if (!x.fdropped) {
				free(x.fmask);
				not_measured(why, m, "the probe's inputs do not include the feature");
				continue;
			}
		} else if (action_is(m, "collect_data") || action_is(m, "reweight")) {
			const json_t *f = addressed(m, byid, "segment", NULL);
			x.subject = f ? subject_of(f, "segment") : NULL;
			if (!f) {
				f = addressed(m, byid, "slice", NULL);
				x.subject = f ? subject_of(f, "slice") : NULL;
			}
			if (!x.subject) {
				not_measured(why, m, "it names no segment or slice of train to weight");
				continue;
			}
			long js = judge_split_of(d, subject_of(f, "split"));
			x.judge_split = js > 0 ? (size_t)js : 1;
			x.kind = V_UPWEIGHT;
			x.rows_in = xcalloc(d->splits[0].nrows ? d->splits[0].nrows : 1, 1);
			if (whatif_slice_rows(d, x.subject, 0, x.rows_in) < 0) {
				free(x.rows_in);
				not_measured(why, m, "its slice's text does not name columns the probe can match");
				continue;
			}
		} else {
			/* retrain_recent: the split its findings are about */
			size_t k;
			json_t *id;
			long s = -1;
			json_array_foreach(json_object_get(m, "addresses"), k, id) {
				const json_t *f = json_object_get(byid, json_string_value(id) ? json_string_value(id) : "");
				if (f && (s = split_index(d, subject_of(f, "split"))) >= 0)
					break;
			}
			if (s < 0) {
				not_measured(why, m, "no finding it addresses names a later split of this run");
				continue;
			}
			if (d->splits[s].n_labelled < WHATIF_MIN_RECENT) {
				char *r = xasprintf("%s has %zu labelled rows; measuring needs at least %d (half to train on, "
						    "half to judge)", d->splits[s].name, d->splits[s].n_labelled,
						    WHATIF_MIN_RECENT);
				not_measured(why, m, r);
				free(r);
				continue;
			}
			if (feeds_broken(plan, byid, d->splits[s].name)) {
				char *r = xasprintf("the plan fixes %s's feeds first; retraining on them as they are would teach "
						    "the probe the bug", d->splits[s].name);
				not_measured(why, m, r);
				free(r);
				continue;
			}
			x.kind = V_RECENT;
			x.subject = d->splits[s].name;
			x.judge_split = (size_t)s;
		}
		v[nv++] = x;
	}
	return nv;
}

static void variant_free(struct variant *x)
{
	free(x->fmask);
	free(x->rows_in);
	free(x->w);
	free(x->val);
}

static const char *probe_text(const struct whatif_opts *o, char *buf, size_t size)
{
	if (o->probe)
		return o->probe;
	if (o->width > 0)
		snprintf(buf, size, "MLP, 1 hidden layer of %d ReLU units (Adam, early stopping on %.0f%% of its "
				    "training rows)", o->width, 100 * WHATIF_VAL_SHARE);
	else
		snprintf(buf, size, "softmax regression (Adam, cosine decay)");
	return buf;
}

int whatif_measure(const struct rc_data *d, const struct rc_probes *p, const json_t *findings,
		   const struct whatif_opts *o, json_t *plan)
{
	json_t *info = json_object(), *why = json_object();
	json_object_set_new(plan, "whatif", info);
	json_t *list = json_object_get(plan, "mitigations");
	size_t nm = json_array_size(list);
	json_t *byid = findings_by_id(findings);

	const char *metric = d->metric && metric_known(d->metric) ? d->metric : "accuracy";
	int metric_swapped = !d->metric || strcmp(metric, d->metric);
	enum wm wm = wm_of(metric);
	int rank = wm == WM_AUC || wm == WM_AP;
	int k = d->k, positive = d->positive;
	size_t maxr = o->max_rows ? o->max_rows : RCPROBE_MAX_ROWS;
	char pbuf[160], b1[48], b2[48], b3[48];
	const char *probe = probe_text(o, pbuf, sizeof pbuf);
	json_object_set_new(info, "probe", json_string(probe));
	json_object_set_new(info, "metric", json_string(metric));
	json_object_set_new(info, "replicates", json_integer(o->replicates));

	struct variant *v = xcalloc(nm ? nm : 1, sizeof *v);
	size_t nv = 0;
	const char *skip = NULL;
	if (!p->d)
		skip = "the data have no feature a probe can learn from";
	else if (d->nsplits < 2 || d->splits[1].n_labelled < WHATIF_MIN_JUDGE)
		skip = "test has too few labelled rows to judge on";
	else if (k < 2)
		skip = "the label has one class";
	if (skip) {
		size_t i;
		json_t *m;
		json_array_foreach(list, i, m)
			if (testable_action(m))
				not_measured(why, m, skip);
	} else {
		nv = candidates(d, p, plan, byid, v, why);
	}
	json_object_set_new(info, "not_measured", why);
	if (!nv) {
		free(v);
		json_decref(byid);
		return 0;
	}

	/* ---- rows: the train sample, then each recent split's first half ---- */
	int rc = 0;
	uint64_t seed = o->seed;
	size_t *trows = xmalloc(maxr * sizeof *trows);
	size_t nt = rcprobe_sample(d, 0, maxr, 1, 0, seed ^ 0x11, trows);
	struct recent *rec = xcalloc(nv, sizeof *rec);
	size_t nrec = 0, n = nt;
	for (size_t a = 0; a < nv; a++) {
		if (v[a].kind != V_RECENT)
			continue;
		size_t s = v[a].judge_split, *rows = xmalloc(maxr * sizeof *rows);
		size_t got = rcprobe_sample(d, s, maxr, 1, 0, seed ^ (0x22 + s), rows);
		seeded_shuffle(rows, got, seed ^ (0x33 + s));
		struct recent *r = &rec[nrec];
		r->split = s;
		r->n_train = got / 2;
		r->n_judge = got - r->n_train;
		r->train_rows = rows;
		r->judge_rows = rows + r->n_train;
		r->at = n;
		n += r->n_train;
		v[a].recent = nrec++;
	}
	float *x = xmalloc((n ? n : 1) * p->d * sizeof *x);
	int32_t *y = xmalloc((n ? n : 1) * sizeof *y);
	{
		float *t = rcprobe_gather(p, 0, trows, nt);
		memcpy(x, t, nt * p->d * sizeof *x);
		free(t);
		for (size_t i = 0; i < nt; i++)
			y[i] = d->splits[0].y[trows[i]];
		for (size_t r = 0; r < nrec; r++) {
			t = rcprobe_gather(p, rec[r].split, rec[r].train_rows, rec[r].n_train);
			memcpy(x + rec[r].at * p->d, t, rec[r].n_train * p->d * sizeof *x);
			free(t);
			for (size_t i = 0; i < rec[r].n_train; i++)
				y[rec[r].at + i] = d->splits[rec[r].split].y[rec[r].train_rows[i]];
		}
	}

	/* relabel: the suspects, marked over train's rows */
	for (size_t a = 0; a < nv; a++) {
		if (v[a].kind != V_RELABEL)
			continue;
		v[a].rows_in = xcalloc(d->splits[0].nrows ? d->splits[0].nrows : 1, 1);
		if (o->suspects_path && file_exists(o->suspects_path) &&
		    whatif_read_suspects(d, o->suspects_path, v[a].rows_in) < 0)
			rc = -1;
	}

	/* ---- weights and validation rows per probe: [0] is the baseline ---- */
	int early = o->width > 0;
	uint8_t *val0 = xcalloc(n ? n : 1, 1);
	uint8_t *recent_val = xcalloc(n ? n : 1, 1);   /* validation rows of the recent halves */
	if (early) {
		struct rng g;
		rng_seed(&g, seed ^ 0x44);
		for (size_t i = 0; i < n; i++) {
			int is_val = rng_uniform(&g) < WHATIF_VAL_SHARE;
			if (i < nt)
				val0[i] = (uint8_t)is_val;
			else
				recent_val[i] = (uint8_t)is_val;
		}
	}
	float *w0 = xcalloc(n ? n : 1, sizeof *w0);
	for (size_t i = 0; i < nt; i++)
		w0[i] = 1;
	for (size_t a = 0; a < nv; a++) {
		struct variant *q = &v[a];
		q->w = xmalloc((n ? n : 1) * sizeof *q->w);
		q->val = xmalloc(n ? n : 1);
		memcpy(q->w, w0, n * sizeof *q->w);
		memcpy(q->val, val0, n);
		if (q->kind == V_RELABEL || q->kind == V_UPWEIGHT) {
			for (size_t i = 0; i < nt; i++) {
				if (!q->rows_in[trows[i]])
					continue;
				q->affected++;
				if (q->kind == V_RELABEL) {
					q->w[i] = 0;
					q->val[i] = 0;   /* judge early stopping on the rows kept */
				} else {
					q->w[i] = (float)WHATIF_UPWEIGHT;
				}
			}
		} else if (q->kind == V_RECENT) {
			const struct recent *r = &rec[q->recent];
			/* as much total weight as the train rows, never less than 1 a row */
			double rw = r->n_train ? (double)nt / (double)r->n_train : 1;
			if (rw < 1)
				rw = 1;
			for (size_t i = r->at; i < r->at + r->n_train; i++) {
				q->w[i] = (float)rw;
				q->val[i] = recent_val[i];
			}
			q->affected = r->n_train;
		}
	}

	size_t kept = 0;
	for (size_t a = 0; a < nv; a++) {
		struct variant *q = &v[a];
		const char *reason = NULL;
		if (q->kind == V_RELABEL && !q->affected)
			reason = "no label suspect (rootcause/label_issues.csv.gz) among the sampled train rows";
		else if (q->kind == V_UPWEIGHT && q->affected < WHATIF_MIN_SLICE)
			reason = "fewer than 10 sampled train rows fall in its slice";
		else if (q->kind == V_RECENT && rec[q->recent].n_judge < WHATIF_MIN_RECENT / 2)
			reason = "too few labelled rows in the split";
		if (reason) {
			not_measured(why, q->m, reason);
			variant_free(q);
		} else {
			v[kept++] = *q;
		}
	}
	nv = kept;

	/* ---- one job: the baseline and every variant ---- */
	struct probe_result *res = NULL;
	if (rc == 0 && nv) {
		struct probe_spec *specs = xcalloc(nv + 1, sizeof *specs);
		for (size_t q = 0; q <= nv; q++) {
			/* one seed for all: the same initial weights, so only the action differs */
			rcprobe_spec(&specs[q], o->width, seed ^ 0x55);
			specs[q].row_weight = q ? v[q - 1].w : w0;
			specs[q].val_mask = early ? (q ? v[q - 1].val : val0) : NULL;
			specs[q].feature_mask = q && v[q - 1].kind == V_REMOVE ? v[q - 1].fmask : NULL;
		}
		struct probe_data data = {.n = n, .d = p->d, .x = x, .y = y, .n_classes = k};
		res = rcprobe_train(p, &data, specs, nv + 1, WHATIF_ROW_VISITS, seed ^ 0x66);
		free(specs);
		if (!res)
			rc = -1;
	}

	/* ---- judge: the split where the problem shows (test by default), the
	 * held-out half for retrain_recent ---- */
	struct jset *js = xcalloc(d->nsplits + nrec, sizeof *js);
	size_t njs = 0;
	json_t *jrows = json_object();
	json_object_set_new(jrows, "train", json_integer((json_int_t)nt));
	json_object_set_new(jrows, "train_labelled", json_integer((json_int_t)d->splits[0].n_labelled));
	json_object_set_new(info, "rows", jrows);
	for (size_t a = 0; rc == 0 && a < nv; a++) {
		struct variant *q = &v[a];
		int half = q->kind == V_RECENT ? (int)q->recent + 1 : 0;
		size_t split = q->judge_split;
		struct jset *j = NULL;
		for (size_t t = 0; t < njs && !j; t++)
			if (js[t].split == split && js[t].half == half)
				j = &js[t];
		if (!j) {
			j = &js[njs++];
			rc = jset_open(d, p, res, split, half ? &rec[half - 1] : NULL, maxr, seed, metric, k, positive, rank,
				       j);
			if (rc < 0)
				break;
			char *key = half ? xasprintf("%s (held-out half)", d->splits[split].name) : xstrdup(d->splits[split].name);
			json_object_set_new(jrows, key, json_integer((json_int_t)j->n));
			free(key);
		}
		struct judged after = {0};
		rc = judge(p, res, a + 1, j->x, j->n, k, rank, &after);
		if (rc < 0) {
			judged_free(&after, k);
			break;
		}
		struct effect ef;
		effect_of(metric, j->y, &j->base, &after, j->n, k, positive, o->replicates, seed ^ (0x99 + a), &j->base_est,
			  &ef);
		const char *split_name = d->splits[split].name;
		struct strbuf how, rows_of;
		sb_init(&how);
		sb_init(&rows_of);
		/* "4000 train rows", or "a seeded sample of 20,000 of the 1,000,000 labelled train rows" */
		if (nt < d->splits[0].n_labelled)
			sb_printf(&rows_of, "a seeded sample of %s of the %s labelled train rows", count_text(b2, sizeof b2, nt),
				  count_text(b3, sizeof b3, d->splits[0].n_labelled));
		else
			sb_printf(&rows_of, "%s train rows", count_text(b2, sizeof b2, nt));
		switch (q->kind) {
		case V_RELABEL:
			sb_printf(&how, "Retrained the probe on %s without the %s label suspects among them "
					"(rootcause/label_issues.csv.gz)", rows_of.data, count_text(b1, sizeof b1, q->affected));
			break;
		case V_REMOVE:
			sb_printf(&how, "Retrained the probe on %s without %s (%zu encoded column%s)", rows_of.data, q->subject,
				  q->fdropped, q->fdropped == 1 ? "" : "s");
			break;
		case V_UPWEIGHT:
			sb_printf(&how, "Proxy for more data like it: retrained the probe on %s with the %s of them where %s "
					"weighted x%g", rows_of.data, count_text(b1, sizeof b1, q->affected), q->subject,
				  WHATIF_UPWEIGHT);
			break;
		case V_RECENT: {
			const struct recent *r = &rec[q->recent];
			double rw = r->n_train ? (double)nt / (double)r->n_train : 1;
			size_t drawn = r->n_train + r->n_judge, avail = d->splits[split].n_labelled;
			sb_printf(&how, "Trained on %s plus a seeded half (%s rows) of ", rows_of.data,
				  count_text(b1, sizeof b1, r->n_train));
			if (drawn < avail)
				sb_printf(&how, "a sample of %s of %s's %s labelled rows", count_text(b2, sizeof b2, drawn),
					  split_name, count_text(b3, sizeof b3, avail));
			else
				sb_printf(&how, "%s's labelled rows", split_name);
			sb_printf(&how, ", each weighted x%.3g so they carry %s weight as train",
				  rw < 1 ? 1 : rw, rw <= 1 ? "at least as much" : "as much");
			break;
		}
		}
		if (q->kind == V_RECENT)
			sb_printf(&how, "; judged on the other half (%s rows) against the probe trained on train alone",
				  count_text(b3, sizeof b3, j->n));
		else if (j->n < d->splits[split].n_labelled)
			sb_printf(&how, "; judged on a seeded sample of %s of %s's %s labelled rows against the same probe "
					"trained without the change", count_text(b3, sizeof b3, j->n), split_name,
				  count_text(b2, sizeof b2, d->splits[split].n_labelled));
		else
			sb_printf(&how, "; judged on %s's %s labelled rows against the same probe trained without the change",
				  split_name, count_text(b3, sizeof b3, j->n));
		sb_printf(&how, " (same rows, minibatches and initialisation). Delta interval: paired bootstrap over "
				"the judged rows, %d replicates.", o->replicates);
		if (metric_swapped)
			sb_printf(&how, " The chosen metric %s is not one the evaluate stage computes, so accuracy stands in.",
				  d->metric ? d->metric : "(none)");
		sb_free(&rows_of);
		json_t *e = json_object();
		json_object_set_new(e, "metric", json_string(metric));
		effect_json(&ef, j->n, e);
		json_object_set_new(e, "split", json_string(split_name));
		json_object_set_new(e, "probe", json_string(probe));
		json_object_set_new(e, "how", json_string(how.data));
		sb_free(&how);
		/* a slice's rows are few among the judged: its own change says more */
		if (q->kind == V_UPWEIGHT) {
			json_t *os = on_slice(d, q->subject, j, &after, metric, k, positive, rank, o->replicates,
					      seed ^ (0xaa + a));
			if (os)
				json_object_set_new(e, "on_slice", os);
		}
		json_object_set_new(q->m, "measured_effect", e);
		judged_free(&after, k);
	}
	for (size_t t = 0; t < njs; t++)
		jset_close(&js[t], k);
	free(js);

	probe_result_free(res);
	for (size_t a = 0; a < nv; a++)
		variant_free(&v[a]);
	free(v);
	for (size_t r = 0; r < nrec; r++)
		free(rec[r].train_rows);
	free(rec);
	free(x);
	free(y);
	free(w0);
	free(val0);
	free(recent_val);
	free(trows);
	json_decref(byid);
	return rc;
}

/* ==== order ============================================================ */

static double measured_gain(const json_t *m)
{
	const json_t *e = json_object_get(m, "measured_effect");
	const json_t *dv = json_object_get(json_object_get(e, "delta"), "value");
	if (!json_is_number(dv))
		return -INFINITY;
	return gain_of(json_string_value(json_object_get(e, "metric")), json_number_value(dv));
}

/* 1 when the measurement rules a gain out: the upper end of the gain's
 * interval is at or below 0, on the slice's own rows where the action was
 * judged there (a slice's effect is diluted in the whole split). */
static int measured_no_gain(const json_t *m)
{
	const json_t *e = json_object_get(m, "measured_effect");
	const char *metric = json_string_value(json_object_get(e, "metric"));
	const json_t *delta = json_object_get(json_object_get(e, "on_slice"), "delta");
	if (!delta)
		delta = json_object_get(e, "delta");
	const json_t *lo = json_object_get(delta, "ci_low"), *hi = json_object_get(delta, "ci_high");
	if (!metric || !json_is_number(lo) || !json_is_number(hi))
		return 0;
	double best = metric_higher_is_better(metric) ? json_number_value(hi) : -json_number_value(lo);
	return best <= 0;
}

void whatif_order(json_t *plan)
{
	json_t *list = json_object_get(plan, "mitigations");
	size_t n = json_array_size(list);
	size_t *slot = xmalloc((n ? n : 1) * sizeof *slot);
	json_t **meas = xmalloc((n ? n : 1) * sizeof *meas);
	size_t nm = 0;
	for (size_t i = 0; i < n; i++)
		if (json_object_get(json_array_get(list, i), "measured_effect")) {
			slot[nm] = i;
			meas[nm++] = json_incref(json_array_get(list, i));
		}
	/* a stable insertion sort by gain, largest first: few items, and ties
	 * keep the plan's order */
	for (size_t i = 1; i < nm; i++) {
		json_t *t = meas[i];
		double g = measured_gain(t);
		size_t j = i;
		while (j > 0 && measured_gain(meas[j - 1]) < g) {
			meas[j] = meas[j - 1];
			j--;
		}
		meas[j] = t;
	}
	for (size_t i = 0; i < nm; i++)
		json_array_set_new(list, slot[i], meas[i]);
	/* an action a probe showed not to help goes last: "do first" must not be
	 * something measured to gain nothing */
	json_t *kept = json_array(), *last = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(list, i);
		json_array_append(json_object_get(m, "measured_effect") && measured_no_gain(m) ? last : kept, m);
	}
	json_array_extend(kept, last);
	json_array_clear(list);
	json_array_extend(list, kept);
	json_decref(kept);
	json_decref(last);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(json_array_get(list, i), "priority", json_integer((json_int_t)i + 1));
	free(slot);
	free(meas);
}

const char *whatif_rules(void)
{
	return "measured_effect: a probe retrained with the action applied (label suspects dropped, the feature "
	       "removed, the slice's train rows weighted x3 as a proxy for more data like them, or a seeded half of "
	       "the later split's labelled rows added), against the same probe without it, judged on test (a slice's "
	       "own split when labelled; the other half for retrain_recent) with a paired bootstrap interval of the "
	       "delta; retrain_recent is not measured while the plan repairs that split's feeds first. Mitigations "
	       "with a measured effect are re-ordered among the places they hold by measured gain, largest first; "
	       "the others keep their places; one whose measured gain has an interval at or below 0 (on the slice's "
	       "own rows for a slice) goes last.";
}
