/* surrogate.c - distil the audited model into a probe, then permutation
 * importance per source column on train and the later splits, and
 * importance_shift findings. Rules and thresholds in surrogate.h. */
#include "surrogate.h"
#include "../evaluate/stats.h"
#include "../../pipeline/findings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Seeds of the analysis's draws, each its own stream of cfg->seed. */
#define SEED_TRAIN 0x5375727201ULL   /* the surrogate's train sample */
#define SEED_FIT 0x5375727202ULL     /* validation rows, initialisation, batches */
#define SEED_FID 0x5375727203ULL     /* fidelity samples */
#define SEED_IMP 0x5375727204ULL     /* importance samples */
#define SEED_PERM 0x5375727205ULL    /* permutations */

static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t v[3] = {seed, a, b};
	return hash64_bytes(v, sizeof v);
}

void surrogate_free(struct surrogate *s)
{
	probe_result_free(s->res);
	free(s->rows);
	free(s->src);
	free(s->src_of);
	memset(s, 0, sizeof *s);
	s->fidelity_test = NAN;
}

/* ---- the probe's arithmetic on the CPU ---- */

/* The widest layer output of t (workspace size). */
static int widest(const struct probe_trained *t)
{
	int w = 1;
	for (int l = 1; l <= t->n_layers; l++)
		if (t->dims[l] > w)
			w = t->dims[l];
	return w;
}

static double act_f(enum probe_act a, double z)
{
	return a == PROBE_RELU ? (z > 0 ? z : 0) : tanh(z);
}

double surrogate_logodds_grad(const struct probe_trained *t, const float *x, int cls, double *grad)
{
	int L = t->n_layers, W = widest(t), d0 = t->dims[0];
	if (W < d0)
		W = d0;
	/* a[l]: the input of layer l (a[0] = x), kept for the backward pass;
	 * z[l]: layer l's pre-activation */
	double *a = xmalloc((size_t)(L + 1) * (size_t)W * sizeof *a);
	double *z = xmalloc((size_t)L * (size_t)W * sizeof *z);
	for (int j = 0; j < d0; j++)
		a[j] = x[j];
	for (int l = 0; l < L; l++) {
		int K = t->dims[l], N = t->dims[l + 1];
		const float *Wl = probe_layer(t, l);
		double *in = a + (size_t)l * (size_t)W, *zl = z + (size_t)l * (size_t)W;
		double *out = a + (size_t)(l + 1) * (size_t)W;
		for (int j = 0; j < N; j++)
			zl[j] = Wl[(size_t)K * (size_t)N + (size_t)j];
		for (int i = 0; i < K; i++) {
			double v = in[i];
			if (v == 0)
				continue;
			const float *row = Wl + (size_t)i * (size_t)N;
			for (int j = 0; j < N; j++)
				zl[j] += v * row[j];
		}
		for (int j = 0; j < N; j++)
			out[j] = l < L - 1 ? act_f(t->act, zl[j]) : zl[j];
	}
	/* the log-odds of class cls: logit[cls] - log sum over the other classes
	 * of exp(logit); unlike log p it does not saturate for confident rows,
	 * whose attributions would otherwise vanish (1e-117 on a row with p ~ 1) */
	int C = t->dims[L];
	const double *logit = z + (size_t)(L - 1) * (size_t)W;
	double m = -HUGE_VAL;
	for (int c = 0; c < C; c++)
		if (c != cls && logit[c] > m)
			m = logit[c];
	double se = 0;
	for (int c = 0; c < C; c++)
		if (c != cls)
			se += exp(logit[c] - m);
	double lse = m + log(se), logodds = logit[cls] - lse;
	if (grad) {
		/* delta = d logodds / d z[l], back through the layers */
		double *delta = xmalloc((size_t)W * sizeof *delta), *prev = xmalloc((size_t)W * sizeof *prev);
		for (int c = 0; c < C; c++)
			delta[c] = c == cls ? 1.0 : -exp(logit[c] - lse);
		for (int l = L - 1; l >= 0; l--) {
			int K = t->dims[l], N = t->dims[l + 1];
			const float *Wl = probe_layer(t, l);
			for (int i = 0; i < K; i++) {
				const float *row = Wl + (size_t)i * (size_t)N;
				double g = 0;
				for (int j = 0; j < N; j++)
					g += row[j] * delta[j];
				prev[i] = g;
			}
			if (l == 0)
				break;
			/* through the activation of layer l - 1 */
			const double *zp = z + (size_t)(l - 1) * (size_t)W, *ap = a + (size_t)l * (size_t)W;
			for (int i = 0; i < K; i++)
				delta[i] = prev[i] * (t->act == PROBE_RELU ? (zp[i] > 0 ? 1.0 : 0.0) : 1.0 - ap[i] * ap[i]);
		}
		for (int i = 0; i < d0; i++)
			grad[i] = prev[i];
		free(delta);
		free(prev);
	}
	free(a);
	free(z);
	return logodds;
}

/* Short fixed-size chunks over restrict pointers: gcc -O2 turns these into
 * vector code, the plain loops it leaves scalar. */
static void axpy(size_t n, float v, const float *restrict w, float *restrict o)
{
	size_t j = 0;
	for (; j + 8 <= n; j += 8)
		for (int k = 0; k < 8; k++)
			o[j + k] += v * w[j + k];
	for (; j < n; j++)
		o[j] += v * w[j];
}

static float dot(size_t n, const float *restrict a, const float *restrict b)
{
	float acc[8] = {0}, s = 0;
	size_t j = 0;
	for (; j + 8 <= n; j += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += a[j + k] * b[j + k];
	for (; j < n; j++)
		s += a[j] * b[j];
	for (int k = 0; k < 8; k++)
		s += acc[k];
	return s;
}

/* a = h - ci + cj: a pre-activation with one source's share swapped */
static void swap_share(size_t n, const float *restrict h, const float *restrict ci, const float *restrict cj,
		       float *restrict a)
{
	size_t j = 0;
	for (; j + 8 <= n; j += 8)
		for (int k = 0; k < 8; k++)
			a[j + k] = h[j + k] - ci[j + k] + cj[j + k];
	for (; j < n; j++)
		a[j] = h[j] - ci[j] + cj[j];
}

static void relu(size_t n, float *restrict a)
{
	size_t j = 0;
	for (; j + 8 <= n; j += 8)
		for (int k = 0; k < 8; k++)
			a[j + k] = a[j + k] > 0 ? a[j + k] : 0;
	for (; j < n; j++)
		a[j] = a[j] > 0 ? a[j] : 0;
}

/* Layer 0's pre-activation for n rows: h gets n x dims[1]. */
static void layer0(const struct probe_trained *t, const float *x, size_t n, float *h)
{
	size_t K = (size_t)t->dims[0], N = (size_t)t->dims[1];
	const float *W = probe_layer(t, 0);
	for (size_t r = 0; r < n; r++) {
		float *o = h + r * N;
		const float *xr = x + r * K;
		memcpy(o, W + K * N, N * sizeof *o);
		for (size_t i = 0; i < K; i++)
			if (xr[i] != 0)   /* one-hot columns are mostly zero */
				axpy(N, xr[i], W + i * N, o);
	}
}

/* The layers after the first, from layer 0's pre-activation. A ReLU net with
 * one hidden layer (the surrogate) takes a fast path with its output layer
 * transposed; others go layer by layer. */
struct tail {
	const struct probe_trained *t;
	size_t H;            /* layer 0's outputs */
	int C;               /* the net's outputs */
	float *wt;           /* fast path: the output layer transposed, C x H, then its C biases; else NULL */
	float *a, *work;     /* scratch: H, and 2 x the widest layer */
};

static void tail_init(struct tail *tl, const struct probe_trained *t)
{
	int W = widest(t);
	tl->t = t;
	tl->H = (size_t)t->dims[1];
	tl->C = t->dims[t->n_layers];
	tl->wt = NULL;
	tl->a = xmalloc(tl->H * sizeof *tl->a);
	tl->work = xmalloc(2 * (size_t)W * sizeof *tl->work);
	if (t->n_layers == 2 && t->act == PROBE_RELU) {
		size_t H = tl->H, C = (size_t)tl->C;
		const float *W1 = probe_layer(t, 1);
		tl->wt = xmalloc((C * H + C) * sizeof *tl->wt);
		for (size_t c = 0; c < C; c++) {
			for (size_t j = 0; j < H; j++)
				tl->wt[c * H + j] = W1[j * C + c];
			tl->wt[C * H + c] = W1[H * C + c];
		}
	}
}

static void tail_free(struct tail *tl)
{
	free(tl->wt);
	free(tl->a);
	free(tl->work);
}

/* The generic path: layers 1.. from layer 0's pre-activation h. */
static void tail_layers(const struct probe_trained *t, const float *h, float *work, float *out)
{
	int L = t->n_layers, W = widest(t);
	if (L == 1) {
		memcpy(out, h, (size_t)t->dims[1] * sizeof *out);
		return;
	}
	float *in = work, *nx = work + W;
	for (int j = 0; j < t->dims[1]; j++)
		in[j] = (float)act_f(t->act, h[j]);
	for (int l = 1; l < L; l++) {
		size_t K = (size_t)t->dims[l], N = (size_t)t->dims[l + 1];
		const float *Wl = probe_layer(t, l);
		float *o = l == L - 1 ? out : nx;
		memcpy(o, Wl + K * N, N * sizeof *o);
		for (size_t i = 0; i < K; i++)
			if (in[i] != 0)
				axpy(N, in[i], Wl + i * N, o);
		if (l < L - 1) {
			for (size_t j = 0; j < N; j++)
				o[j] = (float)act_f(t->act, o[j]);
			float *sw = in;
			in = nx;
			nx = sw;
		}
	}
}

/* Logits of a row whose layer-0 pre-activation is h, with ci swapped for cj
 * when ci is not NULL (a permuted source's share). */
static void tail_run(struct tail *tl, const float *h, const float *ci, const float *cj, float *out)
{
	size_t H = tl->H;
	if (ci)
		swap_share(H, h, ci, cj, tl->a);
	else
		memcpy(tl->a, h, H * sizeof *tl->a);
	if (!tl->wt) {
		tail_layers(tl->t, tl->a, tl->work, out);
		return;
	}
	relu(H, tl->a);
	for (int c = 0; c < tl->C; c++)
		out[c] = tl->wt[(size_t)tl->C * H + (size_t)c] + dot(H, tl->a, tl->wt + (size_t)c * H);
}

static int argmax_f(const float *v, int n)
{
	int b = 0;
	for (int c = 1; c < n; c++)
		if (v[c] > v[b])
			b = c;
	return b;
}

#define BLOCK 256   /* rows per layer-0 block */

/* Logits of n rows of x into out (n x C), block by block. */
static void logits(const struct probe_trained *t, const float *x, size_t n, float *out)
{
	struct tail tl;
	tail_init(&tl, t);
	size_t D = (size_t)t->dims[0], C = (size_t)tl.C;
	float *h = xmalloc(BLOCK * tl.H * sizeof *h);
	for (size_t at = 0; at < n; at += BLOCK) {
		size_t m = n - at < BLOCK ? n - at : BLOCK;
		layer0(t, x + at * D, m, h);
		for (size_t r = 0; r < m; r++)
			tail_run(&tl, h + r * tl.H, NULL, NULL, out + (at + r) * C);
	}
	free(h);
	tail_free(&tl);
}

void surrogate_predict(const struct probe_trained *t, const float *x, size_t n, float *out)
{
	int C = t->dims[t->n_layers];
	logits(t, x, n, out);
	for (size_t r = 0; r < n; r++) {
		float *o = out + r * (size_t)C;
		float m = o[argmax_f(o, C)], s = 0;
		for (int c = 0; c < C; c++)
			s += (o[c] = expf(o[c] - m));
		for (int c = 0; c < C; c++)
			o[c] /= s;
	}
}

/* The surrogate's class for each of n rows of x. */
static void predict_class(const struct probe_trained *t, const float *x, size_t n, int32_t *cls)
{
	int C = t->dims[t->n_layers];
	float *o = xmalloc((n ? n : 1) * (size_t)C * sizeof *o);
	logits(t, x, n, o);
	for (size_t r = 0; r < n; r++)
		cls[r] = argmax_f(o + r * (size_t)C, C);
	free(o);
}

/* ---- training ---- */

/* Train the surrogate on train's sample; fills s->rows, s->n, s->res, and
 * the held-out agreement (*agree of *nval). 1 trained, 0 skipped (why set),
 * -1 error. */
static int train_surrogate(const struct rc_data *d, const struct rc_probes *p, struct surrogate *s,
			   size_t *agree, size_t *nval, char *why, size_t whysize)
{
	const struct rc_split *tr = &d->splits[0];
	uint64_t seed = d->cfg->seed;
	size_t k = (size_t)d->k;
	s->rows = xmalloc(RCPROBE_MAX_ROWS * sizeof *s->rows);
	s->n = rcprobe_sample(d, 0, RCPROBE_MAX_ROWS, 1, 1, mix(seed, SEED_TRAIN, 0), s->rows);
	if (s->n < SURROGATE_MIN_ROWS) {
		snprintf(why, whysize, "train has %zu rows with a label and a model output; the surrogate needs %d",
			 s->n, SURROGATE_MIN_ROWS);
		return 0;
	}
	size_t n = s->n;
	float *x = rcprobe_gather(p, 0, s->rows, n);
	float *teacher = xmalloc(n * k * sizeof *teacher);
	int32_t *y = xmalloc(n * sizeof *y);
	uint8_t *val = xmalloc(n);
	struct rng g;
	rng_seed(&g, mix(seed, SEED_FIT, 0));
	size_t nv = 0;
	for (size_t i = 0; i < n; i++) {
		size_t row = s->rows[i];
		/* the label the loss reads is the model's own class: with alpha 1 it
		 * carries no weight, but the probe's recorded accuracy becomes
		 * agreement with the model */
		y[i] = tr->pred[row];
		float *q = teacher + i * k;
		const double *pr = tr->proba ? tr->proba + row * k : NULL;
		double sum = 0;
		for (size_t c = 0; c < k; c++) {
			double v = pr ? pr[c] : (int32_t)c == y[i];
			v = isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
			q[c] = (float)v;
			sum += v;
		}
		for (size_t c = 0; c < k; c++)
			q[c] = sum > 0 ? (float)(q[c] / sum) : (int32_t)c == y[i];
		val[i] = rng_uniform(&g) < SURROGATE_VAL_SHARE;
		nv += val[i];
	}
	/* both parts must be non-empty however small the sample */
	if (nv == 0) {
		val[0] = 1;
		nv = 1;
	}
	if (nv == n) {
		val[n - 1] = 0;
		nv--;
	}
	struct probe_spec spec;
	rcprobe_spec(&spec, SURROGATE_WIDTH, mix(seed, SEED_FIT, 1));
	spec.target = PROBE_TARGET_SOFT;
	spec.alpha = 1.0f;
	spec.temperature = 1.0f;
	spec.val_mask = val;
	struct probe_data data = {.n = n, .d = p->d, .x = x, .y = y, .n_classes = d->k, .teacher = teacher};
	s->res = rcprobe_train(p, &data, &spec, 1, SURROGATE_ROW_VISITS, mix(seed, SEED_FIT, 2));
	int rc = -1;
	if (s->res) {
		s->net = &s->res->probes[0];
		s->trained = 1;
		/* train's fidelity on the held-out rows */
		int32_t *cls = xmalloc(n * sizeof *cls);
		predict_class(s->net, x, n, cls);
		*agree = *nval = 0;
		for (size_t i = 0; i < n; i++)
			if (val[i]) {
				(*nval)++;
				*agree += cls[i] == y[i];
			}
		free(cls);
		rc = 1;
	}
	free(x);
	free(teacher);
	free(y);
	free(val);
	return rc;
}

/* Agreement of the surrogate with the model on a sample of split s's rows
 * with a model output. *n receives the rows compared. */
static size_t fidelity(const struct rc_data *d, const struct rc_probes *p, const struct surrogate *s, size_t si,
		       size_t *n)
{
	const struct rc_split *sp = &d->splits[si];
	*n = 0;
	if (!sp->pred || !sp->nrows)
		return 0;
	size_t *rows = xmalloc(RCPROBE_MAX_ROWS * sizeof *rows);
	size_t m = rcprobe_sample(d, si, RCPROBE_MAX_ROWS, 0, 0, mix(d->cfg->seed, SEED_FID, si), rows), u = 0;
	for (size_t i = 0; i < m; i++)
		if (sp->pred[rows[i]] >= 0)
			rows[u++] = rows[i];
	float *x = rcprobe_gather(p, si, rows, u);
	int32_t *cls = xmalloc((u ? u : 1) * sizeof *cls);
	predict_class(s->net, x, u, cls);
	size_t agree = 0;
	for (size_t i = 0; i < u; i++)
		agree += cls[i] == sp->pred[rows[i]];
	free(cls);
	free(x);
	free(rows);
	*n = u;
	return agree;
}

/* ---- permutation importance ---- */

struct imp {
	int measured;
	size_t n;
	double value, se, lo, hi;
	int rank;            /* 1 = largest of the split */
};

/* Importance of every source on split si (imp: nsrc entries). The rows'
 * layer-0 pre-activation is computed once; permuting a source's columns only
 * swaps that source's share of it, so a permuted row costs one subtraction,
 * one addition and the layers after the first. */
static void importance_split(const struct rc_data *d, const struct rc_probes *p, const struct surrogate *s,
			     size_t si, struct imp *imp)
{
	const struct rc_split *sp = &d->splits[si];
	const struct probe_trained *t = s->net;
	size_t *rows = xmalloc(IMPORTANCE_ROWS * sizeof *rows);
	size_t n = rcprobe_sample(d, si, IMPORTANCE_ROWS, 1, 0, mix(d->cfg->seed, SEED_IMP, si), rows);
	for (size_t g = 0; g < s->nsrc; g++)
		imp[g].measured = 0;
	if (n < IMPORTANCE_MIN_ROWS) {
		free(rows);
		return;
	}
	size_t D = p->d, H = (size_t)t->dims[1];
	int C = t->dims[t->n_layers];
	struct tail tl;
	tail_init(&tl, t);
	float *x = rcprobe_gather(p, si, rows, n);
	float *h = xmalloc(n * H * sizeof *h), *contrib = xmalloc(n * H * sizeof *contrib);
	float *o = xmalloc((size_t)C * sizeof *o);
	uint8_t *base = xmalloc(n);
	uint32_t *cnt = xmalloc(n * sizeof *cnt);
	size_t *perm = xmalloc(n * sizeof *perm), *cols = xmalloc(D * sizeof *cols);
	layer0(t, x, n, h);
	for (size_t i = 0; i < n; i++) {
		tail_run(&tl, h + i * H, NULL, NULL, o);
		base[i] = argmax_f(o, C) == sp->y[rows[i]];
	}
	const float *W0 = probe_layer(t, 0);
	for (size_t g = 0; g < s->nsrc; g++) {
		size_t nc = 0;
		for (size_t j = 0; j < D; j++)
			if (s->src_of[j] == g)
				cols[nc++] = j;
		/* the source's share of each row's pre-activation (bias excluded) */
		memset(contrib, 0, n * H * sizeof *contrib);
		for (size_t i = 0; i < n; i++)
			for (size_t c = 0; c < nc; c++) {
				float v = x[i * D + cols[c]];
				if (v != 0)
					axpy(H, v, W0 + cols[c] * H, contrib + i * H);
			}
		memset(cnt, 0, n * sizeof *cnt);
		struct rng r;
		rng_seed(&r, mix(d->cfg->seed, SEED_PERM, si * 65536 + g));
		for (int rep = 0; rep < IMPORTANCE_REPEATS; rep++) {
			for (size_t i = 0; i < n; i++)
				perm[i] = i;
			for (size_t i = n - 1; i > 0; i--) {
				size_t j = (size_t)rng_below(&r, i + 1), tmp = perm[i];
				perm[i] = perm[j];
				perm[j] = tmp;
			}
			for (size_t i = 0; i < n; i++) {
				tail_run(&tl, h + i * H, contrib + i * H, contrib + perm[i] * H, o);
				cnt[i] += argmax_f(o, C) == sp->y[rows[i]];
			}
		}
		struct stats_acc acc = {0};
		for (size_t i = 0; i < n; i++)
			stats_acc_add(&acc, (double)base[i] - (double)cnt[i] / IMPORTANCE_REPEATS);
		struct imp *e = &imp[g];
		stats_acc_result(&acc, &e->value, &e->se);
		if (!isfinite(e->se))
			e->se = 0;
		e->lo = e->value - STATS_Z95 * e->se;
		e->hi = e->value + STATS_Z95 * e->se;
		e->n = n;
		e->measured = 1;
	}
	/* ranks: largest importance first, ties by source order */
	for (size_t g = 0; g < s->nsrc; g++) {
		int r = 1;
		for (size_t h2 = 0; h2 < s->nsrc; h2++)
			if (imp[h2].value > imp[g].value || (imp[h2].value == imp[g].value && h2 < g))
				r++;
		imp[g].rank = r;
	}
	free(x);
	free(h);
	free(contrib);
	tail_free(&tl);
	free(o);
	free(base);
	free(cnt);
	free(perm);
	free(cols);
	free(rows);
}

/* ---- findings ---- */

static int overlap(const struct imp *a, const struct imp *b)
{
	return a->lo <= b->hi && b->lo <= a->hi;
}

static const char *src_kind(const struct rc_data *d, const char *name)
{
	for (size_t j = 0; j < d->ncols; j++)
		if (!strcmp(d->cols[j].name, name))
			return d->cols[j].role == ROLE_SEGMENT ? "Segment" : "Feature";
	return "Feature";
}

static json_t *imp_json(const struct imp *e)
{
	return estimate_json(e->value, e->lo, e->hi, (long long)e->n, NULL);
}

/* importance_shift findings on the splits after test. */
static void shift_findings(const struct rc_data *d, const struct surrogate *s, const struct imp *imp,
			   const double *fid, json_t *findings)
{
	size_t ns = d->nsplits, nsrc = s->nsrc;
	const struct imp *tr = imp, *te = ns > 1 && imp[nsrc].measured ? imp + nsrc : NULL;
	double *pv = xmalloc((ns * nsrc + 1) * sizeof *pv), *qv = xmalloc((ns * nsrc + 1) * sizeof *qv);
	size_t m = 0;
	for (size_t si = 2; si < ns; si++)
		for (size_t g = 0; g < nsrc; g++)
			if (imp[si * nsrc + g].measured && tr[g].measured)
				pv[m++] = stats_diff_pvalue(imp[si * nsrc + g].value, imp[si * nsrc + g].se, tr[g].value,
							    tr[g].se);
	stats_bh(pv, m, qv);
	size_t at = 0;
	for (size_t si = 2; si < ns; si++)
		for (size_t g = 0; g < nsrc; g++) {
			const struct imp *e = &imp[si * nsrc + g];
			if (!e->measured || !tr[g].measured)
				continue;
			double p = pv[at], q = qv[at];
			at++;
			double diff = e->value - tr[g].value;
			int top = tr[g].rank <= IMPORTANCE_TOP || e->rank <= IMPORTANCE_TOP;
			int test_agrees = !te || (te[g].measured && (e->value - te[g].value) * diff > 0 &&
						  fabs(e->value - te[g].value) >= IMPORTANCE_MIN_SHIFT / 2);
			/* NAN (not measured) fails the floor too */
			int faithful = fid[1] >= SURROGATE_MIN_FIDELITY && fid[si] >= SURROGATE_MIN_FIDELITY;
			if (!(q < IMPORTANCE_Q && fabs(diff) >= IMPORTANCE_MIN_SHIFT && !overlap(e, &tr[g]) && top &&
			      test_agrees && faithful))
				continue;
			double ad = fabs(diff);
			enum severity sev = ad >= IMPORTANCE_HIGH ? SEV_HIGH : ad >= IMPORTANCE_MEDIUM ? SEV_MEDIUM : SEV_LOW;
			const char *split = d->splits[si].name, *name = s->src[g];
			char *title = xasprintf("%s %s matters %s%s on %s than in training: accuracy drop %.2f -> %.2f when "
						"permuted.", src_kind(d, name), name, ad >= IMPORTANCE_HIGH ? "much " : "",
						diff < 0 ? "less" : "more", split, tr[g].value, e->value);
			json_t *ev = json_object();
			json_object_set_new(ev, "importance_train", imp_json(&tr[g]));
			json_object_set_new(ev, "importance", imp_json(e));
			if (te)
				json_object_set_new(ev, "importance_test", imp_json(&te[g]));
			double sed = sqrt(e->se * e->se + tr[g].se * tr[g].se);
			json_object_set_new(ev, "difference", estimate_json(diff, diff - STATS_Z95 * sed,
									     diff + STATS_Z95 * sed, (long long)e->n, NULL));
			json_object_set_new(ev, "rank_train", json_integer(tr[g].rank));
			json_object_set_new(ev, "rank", json_integer(e->rank));
			json_object_set_new(ev, "p_value", json_num_or_null(p));
			json_object_set_new(ev, "q_value", json_num_or_null(q));
			json_object_set_new(ev, "tests_in_family", json_integer((json_int_t)m));
			json_object_set_new(ev, "fidelity_test", json_num_or_null(fid[1]));
			json_object_set_new(ev, "fidelity", json_num_or_null(fid[si]));
			json_object_set_new(ev, "metric", json_string("drop in the surrogate's accuracy against the true "
								      "labels when the feature is permuted"));
			json_object_set_new(ev, "rule", json_string(
				"|importance - train's| >= 0.03, 95% intervals apart, z test q < 0.05 (BH across features x "
				"splits after test), top 5 in train or the split, the same direction against test by >= 0.015, "
				"surrogate fidelity >= 0.8 on test and the split; severity by |difference|: >= 0.10 high, >= 0.05 "
				"medium, else low"));
			json_array_append_new(findings, finding_new("importance_shift", 3, sev, title,
				subject_new(split, name, NULL, NULL, (long long)e->n), ev));
			free(title);
		}
	free(pv);
	free(qv);
}

/* ---- the analysis ---- */

static void sources(const struct rc_probes *p, struct surrogate *s)
{
	s->src = xmalloc(p->d * sizeof *s->src);
	s->src_of = xmalloc(p->d * sizeof *s->src_of);
	s->nsrc = 0;
	for (size_t j = 0; j < p->d; j++) {
		const char *name = feat_column_at(p->enc, j)->source;
		size_t g = 0;
		while (g < s->nsrc && strcmp(s->src[g], name))
			g++;
		if (g == s->nsrc)
			s->src[s->nsrc++] = name;
		s->src_of[j] = g;
	}
}

static void skip(json_t *analysis, const char *why)
{
	json_object_set_new(analysis, "importance_skipped", json_string(why));
}

int surrogate_run(const struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis,
		  struct strbuf *importance_csv, struct surrogate *s)
{
	memset(s, 0, sizeof *s);
	s->fidelity_test = NAN;
	sb_puts(importance_csv, IMPORTANCE_CSV_HEADER);
	if (!d->model_mode || !d->splits[0].pred) {
		skip(analysis, "Data mode without a stand-in probe: there are no model outputs to distil.");
		return 0;
	}
	if (!p->d) {
		skip(analysis, "No feature or segment column to learn from.");
		return 0;
	}
	char why[256];
	size_t agree_tr = 0, nval = 0;
	int got = train_surrogate(d, p, s, &agree_tr, &nval, why, sizeof why);
	if (got < 0)
		return -1;
	if (got == 0) {
		char *m = xasprintf("The surrogate was not trained: %s.", why);
		skip(analysis, m);
		free(m);
		return 0;
	}
	sources(p, s);
	size_t ns = d->nsplits, nsrc = s->nsrc;

	/* fidelity */
	double *fid = xmalloc(ns * sizeof *fid);
	json_t *fj = json_object();
	for (size_t si = 0; si < ns; si++) {
		size_t n = nval, k = agree_tr;   /* train: the held-out rows */
		if (si > 0)
			k = fidelity(d, p, s, si, &n);
		double lo, hi, v = n ? (double)k / (double)n : NAN;
		stats_wilson(k, n, STATS_Z95, &lo, &hi);
		fid[si] = v;
		json_object_set_new(fj, d->splits[si].name,
				    estimate_json(v, lo, hi, (long long)n, "no rows with a model output"));
	}
	s->fidelity_test = ns > 1 ? fid[1] : NAN;

	/* importance per split */
	struct imp *imp = xcalloc(ns * nsrc, sizeof *imp);
	for (size_t si = 0; si < ns; si++)
		importance_split(d, p, s, si, imp + si * nsrc);
	if (imp[0].measured)
		shift_findings(d, s, imp, fid, findings);

	json_t *out = json_object(), *sur = json_object(), *splits = json_array(), *feats = json_array();
	char arch[160];
	snprintf(arch, sizeof arch, "MLP, one hidden layer of %d ReLU units, distilled from the model's %s (%s backend)",
		 SURROGATE_WIDTH, d->splits[0].proba ? "class probabilities" : "predictions (one-hot)",
		 s->res->backend);
	json_object_set_new(sur, "architecture", json_string(arch));
	json_object_set_new(sur, "rows", json_integer((json_int_t)s->n));
	json_object_set_new(sur, "validation_rows", json_integer((json_int_t)nval));
	json_object_set_new(sur, "fidelity", fj);
	json_object_set_new(sur, "fidelity_floor", json_real(SURROGATE_MIN_FIDELITY));
	json_object_set_new(out, "surrogate", sur);
	for (size_t si = 0; si < ns; si++)
		if (imp[si * nsrc].measured)
			json_array_append_new(splits, json_string(d->splits[si].name));
	/* features in train's rank order (source order when train was not measured) */
	size_t *order = xmalloc((nsrc ? nsrc : 1) * sizeof *order);
	for (size_t g = 0; g < nsrc; g++)
		order[imp[0].measured ? (size_t)imp[g].rank - 1 : g] = g;
	for (size_t r = 0; r < nsrc; r++) {
		size_t g = order[r];
		json_t *e = json_object(), *by = json_object();
		json_object_set_new(e, "feature", json_string(s->src[g]));
		for (size_t si = 0; si < ns; si++) {
			const struct imp *x = &imp[si * nsrc + g];
			if (!x->measured)
				continue;
			json_t *c = json_object();
			json_object_set_new(c, "importance", imp_json(x));
			json_object_set_new(c, "rank", json_integer(x->rank));
			json_object_set_new(by, d->splits[si].name, c);
			rc_csv_str(importance_csv, s->src[g]);
			sb_putc(importance_csv, ',');
			rc_csv_str(importance_csv, d->splits[si].name);
			sb_putc(importance_csv, ',');
			rc_csv_num(importance_csv, x->value);
			sb_putc(importance_csv, ',');
			rc_csv_num(importance_csv, x->lo);
			sb_putc(importance_csv, ',');
			rc_csv_num(importance_csv, x->hi);
			sb_printf(importance_csv, ",%d\n", x->rank);
		}
		json_object_set_new(e, "by_split", by);
		json_array_append_new(feats, e);
	}
	free(order);
	json_object_set_new(out, "splits", splits);
	json_object_set_new(out, "features", feats);
	json_object_set_new(out, "metric", json_string("accuracy drop when the feature is permuted"));
	char *method = xasprintf(
		"The surrogate's accuracy against the true labels minus its accuracy with the feature's encoded columns "
		"shuffled together across rows, on a seeded sample of at most %d labelled rows per split, %d seeded "
		"shuffles; 95%% interval from the per-row paired differences (mean +- 1.96 sd / sqrt(n)). Train's "
		"fidelity is measured on the %zu rows held out from the surrogate's training, the other splits' on a "
		"seeded sample of at most %d rows with a model output.",
		IMPORTANCE_ROWS, IMPORTANCE_REPEATS, nval, RCPROBE_MAX_ROWS);
	json_object_set_new(out, "method", json_string(method));
	free(method);
	if (ns > 1 && !(fid[1] >= SURROGATE_MIN_FIDELITY)) {
		char b[48];
		char *note = isnan(fid[1])
			? xasprintf("The surrogate's fidelity on test could not be measured; importance shifts are not "
				    "reported as findings.")
			: xasprintf("The surrogate agrees with the model on only %s%% of test rows (floor %.0f%%): its "
				    "importances say little about the model, and no importance_shift finding is made.",
				    rc_fmt(b, sizeof b, 100 * fid[1]), 100 * SURROGATE_MIN_FIDELITY);
		json_object_set_new(out, "note", json_string(note));
		free(note);
	}
	json_object_set_new(analysis, "importance", out);
	free(imp);
	free(fid);
	return 0;
}
