/* points.c - the model's most confident mistakes explained one by one.
 * What is computed is stated in points.h. */
#include "points.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t points_nearest(const float *x, size_t n, size_t dim, const float *q, size_t k, size_t *idx, double *dist)
{
	size_t m = 0;   /* kept so far, nearest first */
	for (size_t i = 0; i < n; i++) {
		const float *r = x + i * dim;
		double s = 0;
		for (size_t j = 0; j < dim; j++) {
			double v = (double)r[j] - (double)q[j];
			s += v * v;
		}
		/* rows arrive in ascending order, so an equal distance never
		 * displaces a kept row: ties go to the lower row */
		if (m == k && !(s < dist[m - 1]))
			continue;
		size_t at = m < k ? m++ : m - 1;
		while (at > 0 && dist[at - 1] > s) {
			dist[at] = dist[at - 1];
			idx[at] = idx[at - 1];
			at--;
		}
		dist[at] = s;
		idx[at] = i;
	}
	for (size_t i = 0; i < m; i++)
		dist[i] = sqrt(dist[i]);
	return m;
}

/* The id column of a frame, or -1. */
static int id_column(const struct frame *f)
{
	for (size_t j = 0; j < f->ncols; j++)
		if (f->cols[j].role == ROLE_ID)
			return (int)j;
	return -1;
}

/* Row i's id as JSON: the id column's text, or null. */
static json_t *id_json(const struct frame *f, int col, size_t i)
{
	if (col < 0)
		return json_null();
	const struct frame_column *c = &f->cols[col];
	if (c->type == COL_CATEGORICAL) {
		const char *v = frame_level(c, i);
		return v ? json_string(v) : json_null();
	}
	if (isnan(c->num[i]))
		return json_null();
	char b[48];
	snprintf(b, sizeof b, "%.15g", c->num[i]);
	return json_string(b);
}

/* Column `name`'s raw value at row i of frame f, as text. */
static json_t *raw_value(const struct frame *f, const char *name, size_t i)
{
	int j = frame_find(f, name);
	if (j < 0)
		return json_string("(column absent)");
	const struct frame_column *c = &f->cols[j];
	if (c->type == COL_CATEGORICAL) {
		const char *v = frame_level(c, i);
		return json_string(v ? v : "(missing)");
	}
	double v = c->num[i];
	if (isnan(v))
		return json_string("(missing)");
	if (c->type == COL_BOOLEAN)
		return json_string(v != 0 ? "true" : "false");
	char b[48];
	snprintf(b, sizeof b, "%.10g", v);
	return json_string(b);
}

#define CONF_BLOCK 4096   /* wrong rows scored at once */

struct cand { double conf; size_t row; };
struct contrib { double v; size_t src; };

static int contrib_cmp(const void *a, const void *b)
{
	const struct contrib *x = a, *y = b;
	double ax = fabs(x->v), ay = fabs(y->v);
	if (ax != ay)
		return ax < ay ? 1 : -1;
	return x->src < y->src ? -1 : x->src > y->src;
}

/* The latest split after train with evaluated rows, preferring the current
 * splits over test; 0 when none. */
static size_t pick_split(const struct rc_data *d)
{
	for (size_t s = d->nsplits; s-- > 2;)
		if (d->splits[s].err && d->splits[s].n_err)
			return s;
	return d->nsplits > 1 && d->splits[1].err && d->splits[1].n_err ? 1 : 0;
}

int points_run(const struct rc_data *d, const struct rc_probes *p, const struct surrogate *s, json_t *analysis)
{
	if (!s->trained) {
		json_object_set_new(analysis, "points_skipped",
				    json_string("No surrogate of the model was trained (see importance_skipped)."));
		return 0;
	}
	size_t si = pick_split(d);
	if (!si) {
		json_object_set_new(analysis, "points_skipped",
				    json_string("No split after train has a labelled row the model got wrong."));
		return 0;
	}
	const struct rc_split *sp = &d->splits[si];
	const struct probe_trained *net = s->net;
	size_t D = p->d, k = (size_t)d->k;
	int from_model = sp->proba != NULL;

	/* 1. the most confident wrong rows; without the model's probabilities
	 * the surrogate's, computed in blocks of wrong rows */
	struct cand top[POINTS_ROWS];
	size_t nt = 0, nblk = 0;
	size_t *brow = xmalloc(CONF_BLOCK * sizeof *brow);
	float *prob = from_model ? NULL : xmalloc(CONF_BLOCK * k * sizeof *prob);
	for (size_t i = 0; i <= sp->nrows; i++) {
		if (i < sp->nrows && sp->err[i] == 1)
			brow[nblk++] = i;
		if (nblk < CONF_BLOCK && !(i == sp->nrows && nblk))
			continue;
		if (!from_model) {
			float *x = rcprobe_gather(p, si, brow, nblk);
			surrogate_predict(net, x, nblk, prob);
			free(x);
		}
		for (size_t b = 0; b < nblk; b++) {
			size_t r = brow[b];
			double c = from_model ? sp->proba[r * k + (size_t)sp->pred[r]] : prob[b * k + (size_t)sp->pred[r]];
			if (!isfinite(c) || (nt == POINTS_ROWS && !(c > top[nt - 1].conf)))
				continue;
			size_t at = nt < POINTS_ROWS ? nt++ : nt - 1;
			while (at > 0 && top[at - 1].conf < c) {
				top[at] = top[at - 1];
				at--;
			}
			top[at] = (struct cand){c, r};
		}
		nblk = 0;
	}
	free(brow);
	free(prob);

	/* 2. each one explained */
	const struct frame *tf = d->splits[0].frame, *f = sp->frame;
	int tid = id_column(tf), fid = id_column(f);
	float *tx = rcprobe_gather(p, 0, s->rows, s->n);
	size_t K = s->n < POINTS_K ? s->n : POINTS_K;
	size_t *nidx = xmalloc((K ? K : 1) * sizeof *nidx);
	double *ndist = xmalloc((K ? K : 1) * sizeof *ndist), *grad = xmalloc(D * sizeof *grad);
	struct contrib *cb = xmalloc((s->nsrc ? s->nsrc : 1) * sizeof *cb);
	json_t *rows = json_array();
	for (size_t t = 0; t < nt; t++) {
		size_t i = top[t].row;
		const float *x = p->x[si] + i * D;
		json_t *e = json_object();
		json_object_set_new(e, "row", json_integer((json_int_t)(i + 1)));
		json_object_set_new(e, "id", id_json(f, fid, i));
		json_object_set_new(e, "label", json_string(d->classes[sp->y[i]]));
		json_object_set_new(e, "predicted", json_string(d->classes[sp->pred[i]]));
		json_object_set_new(e, "confidence", json_num_or_null(top[t].conf));

		surrogate_logodds_grad(net, x, sp->pred[i], grad);
		for (size_t g = 0; g < s->nsrc; g++)
			cb[g] = (struct contrib){0, g};
		for (size_t j = 0; j < D; j++)
			cb[s->src_of[j]].v += grad[j] * x[j];
		qsort(cb, s->nsrc, sizeof *cb, contrib_cmp);
		json_t *attr = json_array();
		for (size_t g = 0; g < s->nsrc && g < POINTS_TOP; g++) {
			json_t *a = json_object();
			json_object_set_new(a, "feature", json_string(s->src[cb[g].src]));
			json_object_set_new(a, "value", raw_value(f, s->src[cb[g].src], i));
			json_object_set_new(a, "contribution", json_num_or_null(cb[g].v));
			json_array_append_new(attr, a);
		}
		json_object_set_new(e, "attribution", attr);

		size_t m = points_nearest(tx, s->n, D, x, K, nidx, ndist);
		json_t *nb = json_array();
		size_t right = 0, same = 0;
		for (size_t r = 0; r < m; r++) {
			size_t row = s->rows[nidx[r]];
			right += d->splits[0].err[row] == 0;
			same += d->splits[0].y[row] == sp->y[i];
			if (r >= POINTS_NEIGHBOURS)
				continue;
			json_t *a = json_object();
			json_object_set_new(a, "row", json_integer((json_int_t)(row + 1)));
			json_object_set_new(a, "id", id_json(tf, tid, row));
			json_object_set_new(a, "label", json_string(d->classes[d->splits[0].y[row]]));
			json_object_set_new(a, "distance", json_num_or_null(ndist[r]));
			json_array_append_new(nb, a);
		}
		json_object_set_new(e, "neighbours", nb);
		json_t *hood = json_object();
		double lo, hi;
		stats_wilson(right, m, STATS_Z95, &lo, &hi);
		json_object_set_new(hood, "k", json_integer((json_int_t)m));
		json_object_set_new(hood, "model_accuracy",
				    estimate_json(m ? (double)right / (double)m : NAN, lo, hi, (long long)m, "no neighbours"));
		json_object_set_new(hood, "same_label_share", json_num_or_null(m ? (double)same / (double)m : NAN));
		json_object_set_new(e, "neighbourhood", hood);
		json_array_append_new(rows, e);
	}
	free(tx);
	free(nidx);
	free(ndist);
	free(grad);
	free(cb);

	json_t *out = json_object();
	json_object_set_new(out, "split", json_string(sp->name));
	json_object_set_new(out, "rows", rows);
	json_object_set_new(out, "confidence_from", json_string(from_model
		? "the model's probability of its predicted class"
		: "the surrogate's probability of the model's predicted class (the model gives no probabilities)"));
	char *method = xasprintf(
		"The %d wrong rows with the highest confidence; row is the 1-based data row of the split. Attribution: "
		"the surrogate's gradient of the log-odds of the predicted class times the encoded input, summed per source column "
		"(reference: the encoded zero, train's mean or no level), the %d largest by absolute value. Neighbours: "
		"Euclidean distance in the encoded space over the surrogate's seeded sample of %zu train rows; over the "
		"%zu nearest, the model's accuracy (95%% Wilson interval) and the share with the row's label.",
		POINTS_ROWS, POINTS_TOP, s->n, K);
	json_object_set_new(out, "method", json_string(method));
	free(method);
	json_object_set_new(analysis, "points", out);
	return 0;
}
