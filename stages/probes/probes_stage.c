/* probes_stage.c - the probes stage (see probes_stage.h).
 *
 * What runs, in order:
 *  1. the splits' frames are cut down to the columns probes read (features and
 *     segments of train; a column missing from a later split, or whose type
 *     changed, is supplied as missing or converted, so the pipeline_change that
 *     ingest reports does not stop the probes) and encoded with features.h,
 *     fitted on train;
 *  2. train is subsampled to the budget's row cap (the `probes` key);
 *  3. ONE job trains, for the reference specs (softmax regression and MLPs with
 *     one hidden layer at two or three widths), K stratified folds (the held-out
 *     fold has row weight 0) plus the same specs on all the (subsampled) rows.
 *     Every probe stops early on a validation share of its own training rows;
 *  4. each fold's probes predict the train rows of their fold (every train row
 *     has a fold, also those outside the subsample, which no probe saw), the
 *     full probes predict test and current;
 *  5. metrics with intervals (metrics_compute), the majority baseline, the best
 *     probe (out-of-fold chosen metric), and the unlearnable_labels check.
 * The CPU backend is deterministic, so the same seed gives the same bytes in
 * every artifact (the tests check oof.csv.gz). */
#include "probes_stage.h"
#include "features.h"
#include "probe_inputs.h"
#include "probe.h"
#include "probes_sanity.h"
#include "../evaluate/metrics.h"
#include "../ingest/frame.h"
#include "../../pipeline/findings.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- budget and constants (the report's methods appendix states them) ---- */

struct budget {
	const char *level;
	size_t max_rows;          /* train rows trained on; beyond, a seeded subsample (0 = all) */
	int widths[3];            /* hidden widths of the MLP probes */
	int n_widths;
	int max_epochs;
	double row_visits;        /* per probe: epochs = row_visits / rows, within [MIN_EPOCHS, max_epochs] */
};

static const struct budget budgets[] = {
	{"quick", 20000, {32, 128, 0}, 2, 30, 4e5},
	{"standard", 100000, {32, 128, 512}, 3, 40, 3e6},
	{"thorough", 0, {32, 128, 512}, 3, 100, 1e7},
};

#define FOLDS 5
#define VAL_SHARE 0.10          /* of each probe's training rows, for early stopping */
#define PATIENCE 4              /* MLPs: records (two per epoch) without a better validation loss */
#define RECORDS_PER_EPOCH 2
#define MIN_EPOCHS 3
#define L2 1e-4f                /* on weights: l2/2 |w|^2 added to the mean loss */
#define LR_SOFTMAX 1e-2f
#define LR_MLP 1e-3f
#define MAX_SPECS 4
#define MIN_TRAIN_ROWS 50       /* fewer labelled train rows: no probes (folds would be tiny) */
#define MIN_REF_ROWS 30         /* test rows needed to judge unlearnable labels on test (else out-of-fold train) */
#define UNLEARNABLE_HIGH_ROWS 200
#define PREDICT_CHUNK 65536
#define Z95 1.959963984540054

/* Bump when a rule or threshold changes, so stored results are not reused. */
#define PROBES_RULES 2

void probes_params(const struct audit_config *cfg, struct strbuf *out)
{
	sb_printf(out, "rules=%d;seed=%llu;backend=%s;probes=%s;metric=%s;folds=%d;val=%g;patience=%d;l2=%g;lr=%g,%g",
		  PROBES_RULES, (unsigned long long)cfg->seed, cfg->backend ? cfg->backend : "auto",
		  cfg->probes ? cfg->probes : "standard", cfg->metric, FOLDS, VAL_SHARE, PATIENCE, (double)L2,
		  (double)LR_SOFTMAX, (double)LR_MLP);
}

static const struct budget *budget_of(const char *level)
{
	for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++)
		if (level && !strcmp(level, budgets[i].level))
			return &budgets[i];
	return &budgets[1];
}

/* ---- frames cut to the probes' columns ---- */

/* ---- labels ---- */

static int class_index(char **classes, int k, const char *name)
{
	for (int i = 0; i < k; i++)
		if (!strcmp(classes[i], name))
			return i;
	return -1;
}

/* Class index per frame row, -1 without a label. */
static int32_t *labels_of(const struct frame *f, char **classes, int k, size_t *labelled)
{
	int32_t *y = xmalloc((f->nrows ? f->nrows : 1) * sizeof *y);
	*labelled = 0;
	int lab = -1;
	for (size_t j = 0; j < f->ncols; j++)
		if (f->cols[j].role == ROLE_LABEL && f->cols[j].type == COL_CATEGORICAL)
			lab = (int)j;
	if (lab < 0) {
		for (size_t i = 0; i < f->nrows; i++)
			y[i] = -1;
		return y;
	}
	const struct frame_column *lc = &f->cols[lab];
	int *map = xmalloc((lc->nlevels + 1) * sizeof *map);
	for (size_t l = 0; l < lc->nlevels; l++)
		map[l] = class_index(classes, k, lc->levels[l]);
	for (size_t i = 0; i < f->nrows; i++) {
		y[i] = lc->code[i] >= 0 ? map[lc->code[i]] : -1;
		*labelled += y[i] >= 0;
	}
	free(map);
	return y;
}

/* ---- the reference specs ---- */

struct ref {
	char name[16];            /* "softmax", "mlp-128" */
	char arch[64];            /* for the report */
	int width;                /* 0 = softmax regression */
};

static size_t reference_specs(const struct budget *b, struct ref *refs)
{
	size_t n = 0;
	refs[n] = (struct ref){.width = 0};
	snprintf(refs[n].name, sizeof refs[n].name, "softmax");
	snprintf(refs[n].arch, sizeof refs[n].arch, "softmax regression");
	n++;
	for (int w = 0; w < b->n_widths; w++, n++) {
		refs[n] = (struct ref){.width = b->widths[w]};
		snprintf(refs[n].name, sizeof refs[n].name, "mlp-%d", b->widths[w]);
		snprintf(refs[n].arch, sizeof refs[n].arch, "1 hidden layer of %d ReLU units", b->widths[w]);
	}
	return n;
}

static void spec_of(const struct ref *r, uint64_t seed, struct probe_spec *s)
{
	probe_spec_init(s);
	if (r->width) {
		s->n_hidden = 1;
		s->hidden[0] = r->width;
		s->act = PROBE_RELU;
		s->init = PROBE_INIT_HE;
		s->lr = LR_MLP;
		s->patience = PATIENCE;
	} else {
		/* softmax regression is convex: its reference is the L2-regularised
		 * optimum (what scikit-learn's LogisticRegression finds), so it runs
		 * its planned steps with a cosine decay instead of stopping early */
		s->init = PROBE_INIT_XAVIER;
		s->lr = LR_SOFTMAX;
		s->sched = PROBE_LR_COSINE;
		s->lr_min = LR_SOFTMAX / 100;
		s->patience = 0;
	}
	s->optim = PROBE_ADAM;
	s->l2 = L2;
	s->seed = seed;
}

/* ---- prediction ---- */

/* Probabilities of probes [first, first + count) of r for the rows `rows` (or
 * 0..n-1 when NULL) of x: out[s] gets n x k floats. Rows go through in chunks
 * so the backend's output buffer stays small whatever the split's size. */
static int predict_rows(const struct probe_backend *be, const struct probe_result *r, size_t first, size_t count,
			const float *x, size_t d, const size_t *rows, size_t n, int k, float **out)
{
	struct probe_result view = *r;
	view.probes = r->probes + first;
	view.n_probes = count;
	size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
	size_t w = (size_t)r->out_width;
	float *buf = rows ? xmalloc((chunk ? chunk : 1) * d * sizeof *buf) : NULL;
	float *pr = xmalloc((chunk ? chunk : 1) * count * w * sizeof *pr);
	int rc = 0;
	for (size_t at = 0; rc == 0 && at < n; at += chunk) {
		size_t m = n - at < chunk ? n - at : chunk;
		const float *xs = x + at * d;
		if (rows) {
			for (size_t i = 0; i < m; i++)
				memcpy(buf + i * d, x + rows[at + i] * d, d * sizeof *buf);
			xs = buf;
		}
		rc = be->predict(be, &view, xs, m, pr);
		for (size_t s = 0; rc == 0 && s < count; s++)
			for (size_t i = 0; i < m; i++) {
				size_t dst = rows ? rows[at + i] : at + i;
				memcpy(out[s] + dst * (size_t)k, pr + (s * m + i) * w, (size_t)k * sizeof(float));
			}
	}
	free(buf);
	free(pr);
	return rc;
}

/* ---- metrics ---- */

static int argmax(const float *p, int k)
{
	int best = 0;
	for (int c = 1; c < k; c++)
		if (p[c] > p[best])
			best = c;
	return best;
}

/* Metrics of probabilities p (n x k) against y over the labelled rows. */
static int eval_probs(const int32_t *y, const float *p, size_t n, int k, int positive, uint64_t seed,
		      struct eval_metrics *m)
{
	int *yy = xmalloc((n ? n : 1) * sizeof *yy), *pred = xmalloc((n ? n : 1) * sizeof *pred);
	double *pp = xmalloc((n ? n : 1) * (size_t)k * sizeof *pp);
	size_t m_rows = 0;
	for (size_t i = 0; i < n; i++) {
		if (y[i] < 0)
			continue;
		yy[m_rows] = y[i];
		pred[m_rows] = argmax(p + i * (size_t)k, k);
		for (int c = 0; c < k; c++)
			pp[m_rows * (size_t)k + (size_t)c] = p[i * (size_t)k + (size_t)c];
		m_rows++;
	}
	struct eval_input in = {.n = m_rows, .nclasses = k, .y = yy, .pred = pred, .proba = pp,
				.positive = positive, .seed = seed};
	int rc = metrics_compute(&in, m);
	free(yy);
	free(pred);
	free(pp);
	return rc;
}

/* An estimate object with its standard error (the evaluate stage compares
 * with it). */
static json_t *est_json(const struct estimate *e)
{
	json_t *o = estimate_json(e->value, e->lo, e->hi, (long long)e->n, e->reason);
	if (isfinite(e->se))
		json_object_set_new(o, "se", json_real(e->se));
	return o;
}

static json_t *metrics_json(const struct eval_metrics *m, const char *chosen)
{
	json_t *o = json_object();
	const char *names[] = {"accuracy", chosen, "log_loss"};
	for (int i = 0; i < 3; i++)
		if (!json_object_get(o, names[i]))
			json_object_set_new(o, names[i], est_json(metrics_get(m, names[i])));
	return o;
}

/* better on the chosen metric: NAN loses against anything */
static int better(double a, double b, int higher)
{
	if (isnan(a))
		return 0;
	if (isnan(b))
		return 1;
	return higher ? a > b : a < b;
}

/* ---- CSV output (zlib gz*: no timestamp in the header, so bytes repeat) ---- */

static void csv_field(struct strbuf *sb, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		sb_puts(sb, s);
		return;
	}
	sb_putc(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			sb_putc(sb, '"');
		sb_putc(sb, *s);
	}
	sb_putc(sb, '"');
}

static void csv_prob(struct strbuf *sb, float v)
{
	if (isfinite(v))
		sb_printf(sb, ",%.6g", (double)v);
	else
		sb_putc(sb, ',');
}

struct gzout {
	gzFile gz;
	char *path;
	struct strbuf sb;
	int failed;
};

static int gzout_open(struct gzout *o, const char *path)
{
	memset(o, 0, sizeof *o);
	o->path = xstrdup(path);
	o->gz = gzopen(path, "wb6");
	sb_init(&o->sb);
	if (!o->gz) {
		free(o->path);
		return ERR_INTERNAL("%s: cannot open for writing", path);
	}
	gzbuffer(o->gz, 1 << 18);
	return 0;
}

static void gzout_flush(struct gzout *o, int force)
{
	if (o->failed || (!force && o->sb.len < (1u << 20)))
		return;
	if (o->sb.len && gzwrite(o->gz, o->sb.data, (unsigned)o->sb.len) != (int)o->sb.len)
		o->failed = 1;
	o->sb.len = 0;
	if (o->sb.data)
		o->sb.data[0] = 0;
}

static int gzout_close(struct gzout *o)
{
	gzout_flush(o, 1);
	int rc = gzclose(o->gz) == Z_OK && !o->failed ? 0 : ERR_INTERNAL("%s: write failed", o->path);
	sb_free(&o->sb);
	free(o->path);
	return rc;
}

static void row_prefix(struct strbuf *sb, const struct frame *f, int id_col, size_t i, const int32_t *y,
		       char **classes)
{
	const char *id = id_col >= 0 ? frame_level(&f->cols[id_col], i) : NULL;
	if (id)
		csv_field(sb, id);
	else
		sb_printf(sb, "%zu", i + 1);
	sb_printf(sb, ",%zu,", i + 1);
	if (y[i] >= 0)
		csv_field(sb, classes[y[i]]);
}

static void class_header(struct strbuf *sb, char **classes, int k)
{
	for (int c = 0; c < k; c++) {
		char *h = xasprintf("p_%s", classes[c]);
		sb_putc(sb, ',');
		csv_field(sb, h);
		free(h);
	}
}

static int id_column(const struct frame *f)
{
	for (size_t j = 0; j < f->ncols; j++)
		if (f->cols[j].role == ROLE_ID && f->cols[j].type == COL_CATEGORICAL)
			return (int)j;
	return -1;
}

/* ---- the stage ---- */

struct split {
	const char *name;
	struct frame *frame;
	int32_t *y;
	size_t labelled;
	float *x;                 /* nrows x d */
	float *p[MAX_SPECS];      /* nrows x k per reference probe (train: out of fold) */
	struct eval_metrics m[MAX_SPECS];
	struct eval_metrics base; /* the majority baseline */
	int has_metrics;
};

struct run {
	const struct audit_config *cfg;
	const struct stage_ctx *ctx;
	char **classes;
	int k, positive, higher;
	struct split *sp;
	size_t ns;
	struct feat_encoding *enc;
	size_t d;
	struct ref refs[MAX_SPECS];
	size_t nref;
	const struct budget *budget;
	size_t *sub;              /* train rows trained on (sorted), n_sub of them */
	size_t n_sub;
	int *fold;                /* per train row */
	struct probe_result *res;
	struct probe_job job;
	struct probe_data data;   /* the job's data (borrowed by the job while it trains) */
	int best;
	int majority;
	double *prior;            /* train class shares */
	char why[512];
	const char *backend_name;
};

/* The outputs of a stage that trained no probe, saying why: the stages after
 * it then see no stand-in and no reference. */
static int write_skipped(const struct stage_ctx *ctx, const char *why, const char *backend)
{
	json_t *o = json_object();
	json_object_set_new(o, "skipped", json_string(why));
	json_object_set_new(o, "backend", json_string(backend));
	json_object_set_new(o, "probes", json_array());
	json_object_set_new(o, "best", json_null());
	int rc = stage_write_json(ctx, "probes.json", o);
	json_decref(o);
	/* the training checks need probes too: say so in their files */
	json_t *s = json_object();
	json_object_set_new(s, "skipped", json_string(why));
	if (rc == 0)
		rc = stage_write_json(ctx, "sanity.json", s);
	json_decref(s);
	if (rc == 0) {
		char *hp = stage_output(ctx, "hpo.csv");
		static const char hdr[] = "method,trial,lr,l2,width,dropout,score,best_so_far\n";
		rc = file_write_atomic(hp, hdr, sizeof hdr - 1);
		free(hp);
	}
	json_t *f = json_object();
	json_object_set_new(f, "findings", json_array());
	if (rc == 0)
		rc = stage_write_json(ctx, "findings.json", f);
	json_decref(f);
	struct gzout g;
	char *path = stage_output(ctx, "oof.csv.gz");
	if (rc == 0 && (rc = gzout_open(&g, path)) == 0) {
		sb_puts(&g.sb, "id,row,label,fold\n");
		rc = gzout_close(&g);
	}
	free(path);
	return rc;
}

/* Stratified folds over the trained rows (each class dealt round the folds in
 * a seeded order, continuing where the previous class stopped, so fold sizes
 * differ by at most one); every other train row gets a seeded uniform fold. */
static void make_folds(struct run *r)
{
	const struct split *tr = &r->sp[0];
	size_t n = tr->frame->nrows;
	r->fold = xmalloc((n ? n : 1) * sizeof *r->fold);
	struct rng g;
	rng_seed(&g, r->cfg->seed * 0x9E3779B97F4A7C15ULL + 0xF01D);
	for (size_t i = 0; i < n; i++)
		r->fold[i] = (int)rng_below(&g, FOLDS);
	size_t *idx = xmalloc((r->n_sub ? r->n_sub : 1) * sizeof *idx);
	size_t next = 0;
	for (int c = 0; c < r->k; c++) {
		size_t m = 0;
		for (size_t j = 0; j < r->n_sub; j++)
			if (tr->y[r->sub[j]] == c)
				idx[m++] = r->sub[j];
		for (size_t j = m; j > 1; j--) {
			size_t t = (size_t)rng_below(&g, j), v = idx[j - 1];
			idx[j - 1] = idx[t];
			idx[t] = v;
		}
		for (size_t j = 0; j < m; j++)
			r->fold[idx[j]] = (int)((next + j) % FOLDS);
		next = (next + m) % FOLDS;
	}
	free(idx);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* The labelled train rows, or a seeded subsample of budget->max_rows of them. */
static void choose_rows(struct run *r)
{
	const struct split *tr = &r->sp[0];
	size_t n = tr->frame->nrows;
	r->sub = xmalloc((tr->labelled ? tr->labelled : 1) * sizeof *r->sub);
	r->n_sub = 0;
	for (size_t i = 0; i < n; i++)
		if (tr->y[i] >= 0)
			r->sub[r->n_sub++] = i;
	size_t cap = r->budget->max_rows;
	if (!cap || r->n_sub <= cap)
		return;
	/* a partial Fisher-Yates picks `cap` rows; sorting keeps frame order */
	struct rng g;
	rng_seed(&g, r->cfg->seed * 0xD1B54A32D192ED03ULL + 0x5AB);
	for (size_t j = 0; j < cap; j++) {
		size_t t = j + (size_t)rng_below(&g, r->n_sub - j), v = r->sub[j];
		r->sub[j] = r->sub[t];
		r->sub[t] = v;
	}
	r->n_sub = cap;
	qsort(r->sub, cap, sizeof *r->sub, cmp_size);
}

/* One job: FOLDS groups of the reference specs, each blind to its fold (row
 * weight 0), then a group trained on every chosen row. Probe g * nref + s is
 * spec s of group g; group FOLDS is the full one. */
static int train_probes(struct run *r, const struct probe_backend *be, float **xsub_out, int32_t **ysub_out)
{
	const struct split *tr = &r->sp[0];
	size_t n = r->n_sub, d = r->d, ng = FOLDS + 1, np = ng * r->nref;
	float *x = xmalloc((n ? n : 1) * d * sizeof *x);
	int32_t *y = xmalloc((n ? n : 1) * sizeof *y);
	for (size_t i = 0; i < n; i++) {
		memcpy(x + i * d, tr->x + r->sub[i] * d, d * sizeof *x);
		y[i] = tr->y[r->sub[i]];
	}
	*xsub_out = x;
	*ysub_out = y;

	/* one uniform per row decides the validation share, the same for every group */
	struct rng g;
	rng_seed(&g, r->cfg->seed * 0xA24BAED4963EE407ULL + 0x7A1);
	uint8_t *is_val = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		is_val[i] = rng_uniform(&g) < VAL_SHARE;
	float *weights = xmalloc((n ? n : 1) * FOLDS * sizeof *weights);
	uint8_t *val = xmalloc((n ? n : 1) * ng);
	for (size_t f = 0; f < ng; f++)
		for (size_t i = 0; i < n; i++) {
			int held = f < FOLDS && r->fold[r->sub[i]] == (int)f;
			if (f < FOLDS)
				weights[f * n + i] = held ? 0.0f : 1.0f;
			val[f * n + i] = is_val[i] && !held;
		}
	free(is_val);

	struct probe_spec *specs = xcalloc(np, sizeof *specs);
	for (size_t f = 0; f < ng; f++)
		for (size_t s = 0; s < r->nref; s++) {
			struct probe_spec *sp = &specs[f * r->nref + s];
			spec_of(&r->refs[s], r->cfg->seed * 1000003u + f * 101u + s, sp);
			sp->row_weight = f < FOLDS ? weights + f * n : NULL;
			sp->val_mask = val + f * n;
		}
	r->data = (struct probe_data){.n = n, .d = d, .x = x, .y = y, .n_classes = r->k};
	size_t batch = n >= 8192 ? 256 : n / 32 < 32 ? 32 : n / 32;
	double ep = r->budget->row_visits / (double)(n ? n : 1);
	int epochs = ep < MIN_EPOCHS ? MIN_EPOCHS : ep > r->budget->max_epochs ? r->budget->max_epochs : (int)ep;
	r->job = (struct probe_job){.data = &r->data, .specs = specs, .n_probes = np, .batch_size = batch,
				    .epochs = epochs, .seed = r->cfg->seed * 0x2545F4914F6CDD1DULL + 3, .threads = 0};
	long spe = probe_steps_per_epoch(&r->job);
	r->job.record_every = spe / RECORDS_PER_EPOCH > 0 ? spe / RECORDS_PER_EPOCH : 1;
	int rc = probe_job_check(&r->job);
	if (rc == 0) {
		r->res = be->train(be, &r->job);
		rc = r->res ? 0 : -1;
	}
	/* the job's pointers die here; keep only what the JSON needs */
	free(weights);
	free(val);
	free(specs);
	r->job.specs = NULL;
	r->job.data = NULL;
	return rc;
}

static int predict_all(struct run *r, const struct probe_backend *be)
{
	size_t kk = (size_t)r->k;
	for (size_t s = 0; s < r->ns; s++)
		for (size_t q = 0; q < r->nref; q++) {
			size_t n = r->sp[s].frame->nrows;
			r->sp[s].p[q] = xmalloc((n ? n : 1) * kk * sizeof(float));
			for (size_t i = 0; i < n * kk; i++)
				r->sp[s].p[q][i] = NAN;
		}
	/* train: each row by the probes of its fold, which never trained on it */
	struct split *tr = &r->sp[0];
	size_t n = tr->frame->nrows;
	size_t *rows = xmalloc((n ? n : 1) * sizeof *rows);
	int rc = 0;
	for (int f = 0; rc == 0 && f < FOLDS; f++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (r->fold[i] == f)
				rows[m++] = i;
		if (m)
			rc = predict_rows(be, r->res, (size_t)f * r->nref, r->nref, tr->x, r->d, rows, m, r->k, tr->p);
	}
	free(rows);
	for (size_t s = 1; rc == 0 && s < r->ns; s++)
		if (r->sp[s].frame->nrows)
			rc = predict_rows(be, r->res, FOLDS * r->nref, r->nref, r->sp[s].x, r->d, NULL,
					  r->sp[s].frame->nrows, r->k, r->sp[s].p);
	return rc;
}

static int compute_metrics(struct run *r)
{
	size_t kk = (size_t)r->k;
	for (size_t s = 0; s < r->ns; s++) {
		struct split *sp = &r->sp[s];
		if (!sp->labelled)
			continue;
		size_t n = sp->frame->nrows;
		for (size_t q = 0; q < r->nref; q++)
			if (eval_probs(sp->y, sp->p[q], n, r->k, r->positive, r->cfg->seed + 31 * s + q, &sp->m[q]) != 0)
				return -1;
		/* the majority baseline: the train class shares as probabilities, so
		 * its prediction is the majority class and its log loss the prior's */
		float *pb = xmalloc((n ? n : 1) * kk * sizeof *pb);
		for (size_t i = 0; i < n; i++)
			for (size_t c = 0; c < kk; c++)
				pb[i * kk + c] = (float)r->prior[c];
		int rc = eval_probs(sp->y, pb, n, r->k, r->positive, r->cfg->seed + 31 * s + 17, &sp->base);
		free(pb);
		if (rc != 0)
			return -1;
		sp->has_metrics = 1;
	}
	/* the best probe: out-of-fold chosen metric on train (every labelled train
	 * row, honest and the most rows); ties keep the simpler probe */
	r->best = 0;
	for (size_t q = 1; q < r->nref; q++)
		if (better(metrics_get(&r->sp[0].m[q], r->cfg->metric)->value,
			   metrics_get(&r->sp[0].m[r->best], r->cfg->metric)->value, r->higher))
			r->best = (int)q;
	return 0;
}

/* ---- unlearnable labels ----
 * A probe beats the majority baseline when, on the same rows, the lower end of
 * the 95% interval of the paired difference is above zero, in accuracy
 * (correct - majority correct) or in log loss (prior's loss - probe's loss: a
 * weak signal under class imbalance shows there first). No probe beating it
 * means the labels look unrelated to the features (a broken join, shuffled
 * rows). Severity: high with at least UNLEARNABLE_HIGH_ROWS rows judged,
 * medium below (a small split cannot rule out a weak signal).
 * Judged first on the out-of-fold train rows: there a held-out label is
 * independent of the probe that scores it when the labels carry nothing, so
 * the interval is an honest test. On test it is not: a probe fitted to
 * shuffled train labels has random weights that may happen to point along
 * the real signal of test's clean labels, and its gain is then consistent
 * across test rows (on synth shuffled-labels, softmax beat the prior on test
 * by 0.011 nats, 95% CI 0.006-0.016, in 2 seeds of 10). So train is judged
 * first; when its labels are learnable, test (with MIN_REF_ROWS labelled
 * rows) is judged for labels unrelated to what train teaches. */
struct paired {
	double mean, lo, hi;
	size_t n;
};

static struct paired paired_mean(const double *v, size_t n)
{
	struct paired p = {NAN, NAN, NAN, n};
	if (n < 2)
		return p;
	double s = 0, ss = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	p.mean = s / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - p.mean) * (v[i] - p.mean);
	double se = sqrt(ss / (double)(n - 1) / (double)n);
	p.lo = p.mean - Z95 * se;
	p.hi = p.mean + Z95 * se;
	return p;
}

static json_t *paired_json(const struct paired *p)
{
	return estimate_json(p->mean, p->lo, p->hi, (long long)p->n, isnan(p->mean) ? "fewer than 2 rows" : NULL);
}

/* Every reference probe against the majority baseline on split `ref`: the
 * check's JSON object; *any = some probe beats it; the best probe's index and
 * paired gains in *best_q, *best_acc, *best_ll. */
static json_t *judge_split(struct run *r, size_t ref, int *any, size_t *best_q, struct paired *best_acc,
			   struct paired *best_ll)
{
	const struct split *sp = &r->sp[ref];
	size_t n = sp->frame->nrows, kk = (size_t)r->k;
	double *dacc = xmalloc((n ? n : 1) * sizeof *dacc), *dll = xmalloc((n ? n : 1) * sizeof *dll);
	json_t *checks = json_array();
	*any = 0;
	*best_q = 0;
	*best_acc = (struct paired){NAN, NAN, NAN, 0};
	*best_ll = *best_acc;
	for (size_t q = 0; q < r->nref; q++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			int y = sp->y[i];
			if (y < 0)
				continue;
			const float *p = sp->p[q] + i * kk;
			dacc[m] = (double)(argmax(p, r->k) == y) - (double)(r->majority == y);
			double pp = p[y] > 1e-15f ? (double)p[y] : 1e-15;
			dll[m] = -log(r->prior[y] > 1e-15 ? r->prior[y] : 1e-15) + log(pp);
			m++;
		}
		struct paired a = paired_mean(dacc, m), l = paired_mean(dll, m);
		int beats = (a.lo > 0) || (l.lo > 0);
		*any |= beats;
		json_t *c = json_object();
		json_object_set_new(c, "probe", json_string(r->refs[q].name));
		json_object_set_new(c, "accuracy_gain", paired_json(&a));
		json_object_set_new(c, "log_loss_gain", paired_json(&l));
		json_object_set_new(c, "beats_baseline", json_boolean(beats));
		json_array_append_new(checks, c);
		double score = isnan(a.lo) ? -INFINITY : a.lo > l.lo || isnan(l.lo) ? a.lo : l.lo;
		double best_score = isnan(best_acc->lo) ? -INFINITY
				    : best_acc->lo > best_ll->lo || isnan(best_ll->lo) ? best_acc->lo : best_ll->lo;
		if (q == 0 || score > best_score) {
			*best_q = q;
			*best_acc = a;
			*best_ll = l;
		}
	}
	free(dacc);
	free(dll);
	json_t *o = json_object();
	json_object_set_new(o, "split", json_string(sp->name));
	json_object_set_new(o, "rows", json_string(ref == 0 ? "out of fold" : "held out (probes trained on train)"));
	json_object_set_new(o, "rule", json_string("a probe beats the majority baseline when the 95% interval of its paired gain in accuracy or in log loss lies above 0"));
	json_object_set_new(o, "probes", checks);
	json_object_set_new(o, "any_beats", json_boolean(*any));
	return o;
}

static json_t *unlearnable_check(struct run *r, json_t *findings)
{
	int any_train, any_test = 1;
	size_t q_train, q_test = 0;
	struct paired acc_train, ll_train, acc_test, ll_test;
	json_t *o = judge_split(r, 0, &any_train, &q_train, &acc_train, &ll_train), *other = NULL;
	size_t ref = 0, best_q = q_train;
	struct paired best_acc = acc_train, best_ll = ll_train;
	if (r->ns > 1 && r->sp[1].labelled >= MIN_REF_ROWS) {
		json_t *t = judge_split(r, 1, &any_test, &q_test, &acc_test, &ll_test);
		if (any_train) {   /* train's labels are learnable: the question is test's */
			other = o;
			o = t;
			ref = 1;
			best_q = q_test;
			best_acc = acc_test;
			best_ll = ll_test;
		} else {
			other = t;
		}
	}
	int any = ref == 0 ? any_train : any_test;
	json_object_set_new(o, "order", json_string("out-of-fold train first (an honest test when labels carry nothing); "
						    "test only when train's labels are learnable"));
	if (other)
		json_object_set_new(o, "other", other);
	const struct split *sp = &r->sp[ref];
	if (!any && sp->labelled >= 2) {
		const struct estimate *acc = &sp->m[best_q].accuracy, *base = &sp->base.accuracy;
		char *title = ref == 0
			? xasprintf("No probe beats always predicting '%s' on held-out train rows (out of fold; best: %s, "
				    "accuracy %.3f against %.3f): train's labels look unrelated to its features, as after a "
				    "broken join or shuffled rows.", r->classes[r->majority], r->refs[best_q].name,
				    acc->value, base->value)
			: xasprintf("No probe beats always predicting '%s' on %s (best: %s, accuracy %.3f against %.3f) "
				    "although they learn train's labels: %s's labels look unrelated to the features, as "
				    "after a broken join or shuffled rows.", r->classes[r->majority], sp->name,
				    r->refs[best_q].name, acc->value, base->value, sp->name);
		json_t *ev = json_object();
		json_object_set_new(ev, "split", json_string(sp->name));
		json_object_set_new(ev, "rows_judged", json_string(ref == 0 ? "out of fold" : "held out"));
		json_object_set_new(ev, "best_probe", json_string(r->refs[best_q].name));
		json_object_set_new(ev, "probe_accuracy", est_json(acc));
		json_object_set_new(ev, "majority_accuracy", est_json(base));
		json_object_set_new(ev, "accuracy_gain", paired_json(&best_acc));
		json_object_set_new(ev, "probe_log_loss", est_json(&sp->m[best_q].log_loss));
		json_object_set_new(ev, "prior_log_loss", est_json(&sp->base.log_loss));
		json_object_set_new(ev, "log_loss_gain", paired_json(&best_ll));
		json_object_set_new(ev, "probes_tested", json_integer((json_int_t)r->nref));
		json_object_set_new(ev, "min_rows_for_high", json_integer(UNLEARNABLE_HIGH_ROWS));
		enum severity sev = sp->labelled >= UNLEARNABLE_HIGH_ROWS ? SEV_HIGH : SEV_MEDIUM;
		json_array_append_new(findings, finding_new("unlearnable_labels", 3, sev, title,
			subject_new(sp->name, NULL, NULL, NULL, (long long)sp->labelled), ev));
		free(title);
	}
	return o;
}

/* ---- probes.json ---- */

static json_t *floats_json(const float *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_num_or_null((double)v[i]));
	return a;
}

static json_t *curve_json(const struct probe_trained *t)
{
	json_t *a = json_array();
	int nh = t->n_layers - 1;
	for (size_t i = 0; i < t->n_records; i++) {
		const struct probe_record *q = &t->records[i];
		json_t *o = json_object();
		json_object_set_new(o, "step", json_integer(q->step));
		json_object_set_new(o, "epoch", json_integer(q->epoch));
		json_object_set_new(o, "lr", json_num_or_null(q->lr));
		json_object_set_new(o, "train_loss", json_num_or_null(q->train_loss));
		json_object_set_new(o, "train_acc", json_num_or_null(q->train_acc));
		json_object_set_new(o, "val_loss", json_num_or_null(q->val_loss));
		json_object_set_new(o, "val_acc", json_num_or_null(q->val_acc));
		json_object_set_new(o, "grad_norm", floats_json(q->grad_norm, t->n_layers));
		json_object_set_new(o, "weight_norm", floats_json(q->weight_norm, t->n_layers));
		json_object_set_new(o, "update_ratio", floats_json(q->update_ratio, t->n_layers));
		json_object_set_new(o, "act_mean", floats_json(q->act_mean, nh));
		json_object_set_new(o, "act_std", floats_json(q->act_std, nh));
		json_object_set_new(o, "dead_relu", floats_json(q->dead_relu, nh));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *spec_json(const struct run *r, const struct ref *ref)
{
	struct probe_spec s;
	spec_of(ref, 0, &s);
	json_t *o = json_object();
	json_t *h = json_array();
	for (int l = 0; l < s.n_hidden; l++)
		json_array_append_new(h, json_integer(s.hidden[l]));
	json_object_set_new(o, "hidden", h);
	json_object_set_new(o, "activation", json_string(s.n_hidden ? "relu" : "none"));
	json_object_set_new(o, "init", json_string(s.init == PROBE_INIT_HE ? "he" : "xavier"));
	json_object_set_new(o, "optimizer", json_string("adam"));
	json_object_set_new(o, "lr", json_real(s.lr));
	json_object_set_new(o, "schedule", json_string(s.sched == PROBE_LR_COSINE ? "cosine" : "constant"));
	if (s.sched == PROBE_LR_COSINE)
		json_object_set_new(o, "lr_min", json_real(s.lr_min));
	json_object_set_new(o, "betas", json_pack("[f, f]", (double)s.beta1, (double)s.beta2));
	json_object_set_new(o, "l2", json_real(s.l2));
	json_object_set_new(o, "batch_size", json_integer((json_int_t)r->job.batch_size));
	json_object_set_new(o, "max_epochs", json_integer(r->job.epochs));
	json_object_set_new(o, "record_every", json_integer(r->job.record_every));
	json_object_set_new(o, "patience", json_integer(s.patience));
	json_object_set_new(o, "validation_share", json_real(VAL_SHARE));
	return o;
}

static json_t *encoding_json(const struct feat_encoding *e, const struct frame *train)
{
	json_t *o = json_object(), *cols = json_array();
	size_t counts[4] = {0}, sources = 0;
	for (size_t j = 0; j < train->ncols; j++)
		sources += inputs_is_input(&train->cols[j]);
	for (size_t i = 0; i < feat_width(e); i++) {
		const struct feat_column *c = feat_column_at(e, i);
		counts[c->kind]++;
		json_t *cj = json_object();
		json_object_set_new(cj, "name", json_string(c->name));
		json_object_set_new(cj, "source", json_string(c->source));
		json_object_set_new(cj, "kind", json_string(feat_kind_name(c->kind)));
		if (c->kind == FEAT_NUMERIC) {
			json_object_set_new(cj, "mean", json_num_or_null(c->mean));
			json_object_set_new(cj, "sd", json_num_or_null(c->sd));
		}
		if (c->level)
			json_object_set_new(cj, "level", json_string(c->level));
		json_object_set_new(cj, "train_count", json_integer((json_int_t)c->train_count));
		json_array_append_new(cols, cj);
	}
	json_object_set_new(o, "width", json_integer((json_int_t)feat_width(e)));
	json_object_set_new(o, "source_columns", json_integer((json_int_t)sources));
	json_object_set_new(o, "numeric", json_integer((json_int_t)counts[FEAT_NUMERIC]));
	json_object_set_new(o, "missing_indicators", json_integer((json_int_t)counts[FEAT_MISSING]));
	json_object_set_new(o, "levels", json_integer((json_int_t)counts[FEAT_LEVEL]));
	json_object_set_new(o, "pooled", json_integer((json_int_t)counts[FEAT_OTHER]));
	char *desc = xasprintf("Features and segment columns of train. Numeric and boolean columns standardised with the "
			       "train mean and standard deviation, a missing value imputed with the train mean and flagged "
			       "in a '(missing)' indicator column when train had missing values; categorical columns one-hot "
			       "over their at most %d most frequent train levels covering at least %.0f%% of the rows, rarer "
			       "and unseen levels pooled in '(other)'.", FEAT_MAX_LEVELS, 100 * FEAT_MIN_SHARE);
	json_object_set_new(o, "description", json_string(desc));
	free(desc);
	json_object_set_new(o, "columns", cols);
	return o;
}

static json_t *probes_json(struct run *r, json_t *unlearnable)
{
	json_t *o = json_object();
	json_object_set_new(o, "backend", json_string(r->backend_name));
	json_object_set_new(o, "backend_note", json_string(r->why));
	json_object_set_new(o, "metric", json_string(r->cfg->metric));
	const struct split *tr = &r->sp[0];
	json_t *b = json_object();
	json_object_set_new(b, "level", json_string(r->budget->level));
	json_object_set_new(b, "max_rows", r->budget->max_rows ? json_integer((json_int_t)r->budget->max_rows) : json_null());
	json_object_set_new(b, "folds", json_integer(FOLDS));
	json_object_set_new(b, "train_rows", json_integer((json_int_t)tr->frame->nrows));
	json_object_set_new(b, "labelled_rows", json_integer((json_int_t)tr->labelled));
	json_object_set_new(b, "trained_rows", json_integer((json_int_t)r->n_sub));
	int sub = r->n_sub < tr->labelled;
	json_object_set_new(b, "subsampled", json_boolean(sub));
	if (sub) {
		char *note = xasprintf("the probes trained on a seeded random %zu of the %zu labelled train rows (probes = %s); "
				       "every train row still has an out-of-fold probability, from the probes of its fold",
				       r->n_sub, tr->labelled, r->budget->level);
		json_object_set_new(b, "note", json_string(note));
		free(note);
	}
	json_object_set_new(b, "batch_size", json_integer((json_int_t)r->job.batch_size));
	json_object_set_new(b, "max_epochs", json_integer(r->job.epochs));
	json_object_set_new(b, "probes_trained", json_integer((json_int_t)r->res->n_probes));
	json_object_set_new(o, "budget", b);
	json_object_set_new(o, "encoding", encoding_json(r->enc, tr->frame));

	json_t *arr = json_array();
	for (size_t q = 0; q < r->nref; q++) {
		const struct probe_trained *full = &r->res->probes[FOLDS * r->nref + q];
		json_t *p = json_object();
		json_object_set_new(p, "name", json_string(r->refs[q].name));
		json_object_set_new(p, "architecture", json_string(r->refs[q].arch));
		json_object_set_new(p, "spec", spec_json(r, &r->refs[q]));
		json_object_set_new(p, "parameters", json_integer((json_int_t)full->n_params));
		json_object_set_new(p, "steps", json_integer(full->steps));
		json_object_set_new(p, "stopped_early", json_boolean(full->stopped_early));
		json_object_set_new(p, "best_step", json_integer(full->best_step));
		json_object_set_new(p, "best_val_loss", json_num_or_null(full->best_val_loss));
		json_t *folds = json_array();
		for (int f = 0; f < FOLDS; f++) {
			const struct probe_trained *t = &r->res->probes[(size_t)f * r->nref + q];
			json_array_append_new(folds, json_pack("{s:i, s:I, s:b, s:o}", "fold", f, "steps", (json_int_t)t->steps,
							       "stopped_early", t->stopped_early, "best_val_loss",
							       json_num_or_null(t->best_val_loss)));
		}
		json_object_set_new(p, "folds", folds);
		json_t *ms = json_object();
		for (size_t s = 0; s < r->ns; s++)
			if (r->sp[s].has_metrics)
				json_object_set_new(ms, r->sp[s].name, metrics_json(&r->sp[s].m[q], r->cfg->metric));
		json_object_set_new(p, "metrics", ms);
		json_object_set_new(p, "metrics_note", json_string("train: out of fold; other splits: the probe trained on all chosen train rows"));
		json_object_set_new(p, "curve", curve_json(full));
		json_array_append_new(arr, p);
	}
	json_object_set_new(o, "probes", arr);
	json_object_set_new(o, "best", json_pack("{s:s, s:i, s:s}", "name", r->refs[r->best].name, "index", r->best,
						 "chosen_on", "out-of-fold chosen metric on train"));
	json_t *base = json_object();
	json_object_set_new(base, "class", json_string(r->classes[r->majority]));
	json_object_set_new(base, "train_share", json_real(r->prior[r->majority]));
	json_t *bs = json_object();
	for (size_t s = 0; s < r->ns; s++)
		if (r->sp[s].has_metrics)
			json_object_set_new(bs, r->sp[s].name, metrics_json(&r->sp[s].base, r->cfg->metric));
	json_object_set_new(base, "metrics", bs);
	json_object_set_new(o, "baseline", base);
	json_object_set_new(o, "unlearnable_check", unlearnable);
	json_t *files = json_object();
	json_object_set_new(files, "oof", json_string("oof.csv.gz"));
	json_t *pf = json_object();
	for (size_t s = 1; s < r->ns; s++) {
		char *name = xasprintf("pred_%s.csv.gz", r->sp[s].name);
		json_object_set_new(pf, r->sp[s].name, json_string(name));
		free(name);
	}
	json_object_set_new(files, "pred", pf);
	json_object_set_new(o, "files", files);
	return o;
}

/* ---- CSV files ---- */

static int write_oof(struct run *r)
{
	const struct split *tr = &r->sp[0];
	char *path = stage_output(r->ctx, "oof.csv.gz");
	struct gzout g;
	int rc = gzout_open(&g, path);
	free(path);
	if (rc != 0)
		return -1;
	sb_puts(&g.sb, "id,row,label,fold");
	class_header(&g.sb, r->classes, r->k);
	for (size_t q = 0; q < r->nref; q++)
		sb_printf(&g.sb, ",p_label_%s", r->refs[q].name);
	sb_putc(&g.sb, '\n');
	int id_col = id_column(tr->frame);
	size_t kk = (size_t)r->k;
	for (size_t i = 0; i < tr->frame->nrows; i++) {
		row_prefix(&g.sb, tr->frame, id_col, i, tr->y, r->classes);
		sb_printf(&g.sb, ",%d", r->fold[i]);
		for (size_t c = 0; c < kk; c++)
			csv_prob(&g.sb, tr->p[r->best][i * kk + c]);
		for (size_t q = 0; q < r->nref; q++)
			csv_prob(&g.sb, tr->y[i] >= 0 ? tr->p[q][i * kk + (size_t)tr->y[i]] : NAN);
		sb_putc(&g.sb, '\n');
		gzout_flush(&g, 0);
	}
	return gzout_close(&g);
}

static int write_pred(struct run *r, const struct split *sp)
{
	char *name = xasprintf("pred_%s.csv.gz", sp->name);
	char *path = stage_output(r->ctx, name);
	free(name);
	struct gzout g;
	int rc = gzout_open(&g, path);
	free(path);
	if (rc != 0)
		return -1;
	sb_puts(&g.sb, "id,row,label");
	class_header(&g.sb, r->classes, r->k);
	sb_putc(&g.sb, '\n');
	int id_col = id_column(sp->frame);
	size_t kk = (size_t)r->k;
	for (size_t i = 0; i < sp->frame->nrows; i++) {
		row_prefix(&g.sb, sp->frame, id_col, i, sp->y, r->classes);
		for (size_t c = 0; c < kk; c++)
			csv_prob(&g.sb, sp->p[r->best][i * kk + c]);
		sb_putc(&g.sb, '\n');
		gzout_flush(&g, 0);
	}
	return gzout_close(&g);
}

/* ---- run ---- */

static void run_free(struct run *r)
{
	for (size_t s = 0; s < r->ns; s++) {
		struct split *sp = &r->sp[s];
		if (sp->frame)
			frame_free(sp->frame);
		free(sp->y);
		free(sp->x);
		for (size_t q = 0; q < MAX_SPECS; q++) {
			free(sp->p[q]);
			metrics_free(&sp->m[q]);
		}
		metrics_free(&sp->base);
	}
	free(r->sp);
	free(r->classes);
	feat_free(r->enc);
	free(r->sub);
	free(r->fold);
	free(r->prior);
	probe_result_free(r->res);
}

/* Read the schema and frames; fill classes, splits and labels. */
static int load_inputs(struct run *r, json_t **schema_out)
{
	char *schema_path = stage_input(r->ctx, "ingest/schema.json");
	json_error_t jerr;
	json_t *schema = json_load_file(schema_path, 0, &jerr);
	if (!schema) {
		ERR_INTERNAL("%s: %s", schema_path, jerr.text);
		free(schema_path);
		return -1;
	}
	free(schema_path);
	*schema_out = schema;
	json_t *task = json_object_get(schema, "task"), *cls = json_object_get(task, "classes");
	r->k = (int)json_array_size(cls);
	r->classes = xmalloc((size_t)(r->k ? r->k : 1) * sizeof *r->classes);
	for (int c = 0; c < r->k; c++)
		r->classes[c] = (char *)json_string_value(json_array_get(cls, (size_t)c));
	const char *pos = json_string_value(json_object_get(task, "positive"));
	r->positive = pos ? class_index(r->classes, r->k, pos) : -1;
	json_t *splits = json_object_get(schema, "splits");
	r->ns = json_array_size(splits);
	if (r->ns == 0)
		return ERR_INTERNAL("ingest/schema.json: no splits");
	r->sp = xcalloc(r->ns, sizeof *r->sp);
	for (size_t s = 0; s < r->ns; s++) {
		json_t *js = json_array_get(splits, s);
		r->sp[s].name = json_string_value(json_object_get(js, "name"));
		char *rel = xasprintf("ingest/%s", json_string_value(json_object_get(js, "frame")));
		char *path = stage_input(r->ctx, rel);
		free(rel);
		r->sp[s].frame = frame_read(path);
		free(path);
		if (!r->sp[s].frame)
			return -1;
		r->sp[s].y = labels_of(r->sp[s].frame, r->classes, r->k, &r->sp[s].labelled);
	}
	return 0;
}

static int encode(struct run *r)
{
	const struct frame *train = r->sp[0].frame;
	r->enc = inputs_fit(train);
	int rc = r->enc ? 0 : -1;
	if (rc == 0)
		r->d = feat_width(r->enc);
	for (size_t s = 0; rc == 0 && s < r->ns; s++) {
		r->sp[s].x = inputs_encode(r->enc, r->sp[s].frame, train);
		rc = r->sp[s].x ? 0 : -1;
	}
	return rc;
}

/* The distillation teacher for the trained rows: the audited model's
 * probabilities when the train frame has them for every trained row (model
 * mode), else the largest reference probe's out-of-fold ones. n_sub x k, the
 * caller frees; *name says which. */
static float *teacher_of(const struct run *r, const char **name)
{
	const struct frame *f = r->sp[0].frame;
	const struct audit_config *cfg = r->cfg;
	size_t kk = (size_t)r->k, n = r->n_sub;
	int *pcols = xmalloc(kk * sizeof *pcols), one = -1, have = 0;
	for (size_t c = 0; c < kk; c++)
		pcols[c] = -1;
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		if (c->role != ROLE_PROBA || !c->num)
			continue;
		if (cfg->proba && !strcmp(c->name, cfg->proba))
			one = (int)j;
		else if (cfg->proba_prefix && !strncmp(c->name, cfg->proba_prefix, strlen(cfg->proba_prefix))) {
			int q = class_index(r->classes, r->k, c->name + strlen(cfg->proba_prefix));
			if (q >= 0 && pcols[q] < 0) {
				pcols[q] = (int)j;
				have++;
			}
		}
	}
	float *t = xmalloc((n ? n : 1) * kk * sizeof *t);
	int ok = (one >= 0 && r->k == 2 && r->positive >= 0) || have == r->k;
	for (size_t i = 0; ok && i < n; i++) {
		size_t row = r->sub[i];
		double sum = 0;
		for (size_t c = 0; c < kk; c++) {
			double v = one >= 0 ? f->cols[one].num[row] : f->cols[pcols[c]].num[row];
			if (one >= 0 && (int)c != r->positive)
				v = 1 - v;
			if (!(v >= 0 && v <= 1)) {
				ok = 0;
				break;
			}
			t[i * kk + c] = (float)v;
			sum += v;
		}
		/* renormalise: models round their outputs */
		for (size_t c = 0; ok && c < kk; c++)
			t[i * kk + c] = sum > 0 ? (float)(t[i * kk + c] / sum) : 1.0f / (float)kk;
	}
	free(pcols);
	if (ok) {
		*name = "the audited model";
		return t;
	}
	const float *p = r->sp[0].p[r->nref - 1];
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < kk; c++) {
			float v = p[r->sub[i] * kk + c];
			t[i * kk + c] = isfinite(v) ? v : 1.0f / (float)kk;
		}
	*name = r->refs[r->nref - 1].name;
	return t;
}

int probes_run(struct stage_ctx *ctx)
{
	const struct audit_config *cfg = ctx->cfg;
	struct run r;
	memset(&r, 0, sizeof r);
	r.cfg = cfg;
	r.ctx = ctx;
	r.budget = budget_of(cfg->probes);
	r.higher = metric_higher_is_better(cfg->metric);
	r.nref = reference_specs(r.budget, r.refs);

	/* the backend first: `--backend cuda` without a device is the user's
	 * error, whatever the data */
	const struct probe_backend *be = probe_backend_choose(cfg->backend ? cfg->backend : "auto", r.why, sizeof r.why);
	if (!be)
		return -1;
	r.backend_name = be->name;
	ctx->backend_note = xstrdup(r.why);

	json_t *schema = NULL;
	int rc = load_inputs(&r, &schema);
	const char *skip = NULL;
	if (rc == 0) {
		size_t inputs = 0;
		for (size_t j = 0; j < r.sp[0].frame->ncols; j++)
			inputs += inputs_is_input(&r.sp[0].frame->cols[j]);
		if (!inputs)
			skip = "no feature columns to train probes on";
		else if (r.k > PROBE_MAX_CLASSES)
			skip = "more classes than the probe engine supports (256)";
		else if (r.sp[0].labelled < MIN_TRAIN_ROWS)
			skip = "fewer than 50 labelled train rows";
	}
	if (rc == 0 && skip) {
		rc = write_skipped(ctx, skip, r.why);
		run_free(&r);
		json_decref(schema);
		return rc;
	}
	if (rc == 0)
		rc = encode(&r);
	stage_progress(ctx, 0.1);

	float *xsub = NULL;
	int32_t *ysub = NULL;
	if (rc == 0) {
		/* class shares of labelled train rows: the majority baseline */
		r.prior = xcalloc((size_t)r.k, sizeof *r.prior);
		for (size_t i = 0; i < r.sp[0].frame->nrows; i++)
			if (r.sp[0].y[i] >= 0)
				r.prior[r.sp[0].y[i]] += 1.0 / (double)r.sp[0].labelled;
		r.majority = 0;
		for (int c = 1; c < r.k; c++)
			if (r.prior[c] > r.prior[r.majority])
				r.majority = c;
		choose_rows(&r);
		make_folds(&r);
		rc = train_probes(&r, be, &xsub, &ysub);
	}
	stage_progress(ctx, 0.6);
	if (rc == 0)
		rc = predict_all(&r, be);
	if (rc == 0)
		rc = compute_metrics(&r);
	stage_progress(ctx, 0.7);
	json_t *findings = json_array();
	int learnable = -1;
	if (rc == 0) {
		json_t *un = unlearnable_check(&r, findings);
		learnable = json_is_object(un) ? json_is_true(json_object_get(un, "any_beats")) : -1;
		json_t *pj = probes_json(&r, un);
		rc = stage_write_json(ctx, "probes.json", pj);
		json_decref(pj);
	}
	if (rc == 0) {
		/* the seed's training checks (findings after the
		 * probes' own), on the same encoded rows as the probes */
		const char *tname = NULL;
		float *teacher = teacher_of(&r, &tname);
		struct probe_data all = {.n = r.n_sub, .d = r.d, .x = xsub, .y = ysub, .n_classes = r.k};
		rc = probes_sanity(ctx, be, r.budget->level, &all, teacher, tname, learnable, cfg->seed, findings);
		free(teacher);
	}
	free(xsub);
	free(ysub);
	stage_progress(ctx, 0.9);
	if (rc == 0) {
		json_t *fj = json_object();
		json_object_set_new(fj, "findings", json_incref(findings));
		rc = stage_write_json(ctx, "findings.json", fj);
		json_decref(fj);
	}
	if (rc == 0)
		rc = write_oof(&r);
	for (size_t s = 1; rc == 0 && s < r.ns; s++)
		rc = write_pred(&r, &r.sp[s]);
	stage_progress(ctx, 1.0);
	json_decref(findings);
	run_free(&r);
	json_decref(schema);
	return rc;
}
