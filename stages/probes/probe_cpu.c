/* probe_cpu.c - the CPU probe backend: the readable reference, and the oracle
 * the CUDA backend is checked against.
 *
 * How a job runs: the probes are dealt to threads (largest first, to the least
 * loaded thread), once. Each epoch, the main thread draws the job's row order
 * and every thread trains its own probes through the whole epoch: for each
 * minibatch, for each block of 128 rows, it gathers the rows once and runs every
 * one of its probes forward and backward on them, accumulating each probe's
 * gradient; then each probe takes its optimizer step. A block's rows stay in L1
 * while all the probes of the thread read them, and each probe's weights and
 * gradient stay in L2, which is why 32 probes cost far less than 32 jobs.
 *
 * Determinism: a probe is trained by one thread, its blocks run in a fixed
 * order and every sum has a fixed order, so the result is bit-identical for the
 * same job whatever the thread count or the other probes of the job. It depends
 * on the kernel set (see probe_cpu_kernels()).
 *
 * Precision: fp32 parameters, activations and accumulation (as PyTorch's CPU
 * kernels); the per-batch loss and weight sums that scale the gradient are
 * accumulated in double. */
#include "stages/probes/probe_internal.h"
#include "stages/probes/probe_cpu_simd.h"

#include "pipeline/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ROW_BLOCK
#define ROW_BLOCK 128
#endif

/* The activation argument of layer_forward: ACT_NONE for the output layer. */
enum { ACT_NONE = -1, ACT_RELU = PROBE_RELU, ACT_TANH = PROBE_TANH };

/* What the forward and backward passes need to know about a probe. */
struct cpu_net {
	const struct probe_shape *sh;
	int act;
	int n_out;
	uint32_t drop_thr;          /* probe_drop_threshold(); 0 = no dropout */
	double drop_scale;          /* 1 / (1 - dropout), applied to kept units */
	uint64_t seed;
	enum probe_target target;
	double temperature, alpha;
	double l1, l2;
};

/* Weighted sums of a batch (or of validation rows). */
struct cpu_sums {
	double wsum, loss, acc;
};

/* Hidden-activation statistics over a batch, for the records. */
struct cpu_actstats {
	double s1[PROBE_MAX_HIDDEN], s2[PROBE_MAX_HIDDEN], count[PROBE_MAX_HIDDEN];
	uint8_t *alive[PROBE_MAX_HIDDEN];   /* per unit: positive on some row */
};

/* ---- kernel set ---- */

static int cpu_simd_on;
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

static void kernels_init(void)
{
	const char *e = getenv("MLA_PROBE_ISA");
	cpu_simd_on = probe_simd_available() && !(e && !strcmp(e, "generic"));
}

const char *probe_cpu_kernels(void)
{
	pthread_once(&kernels_once, kernels_init);
	return cpu_simd_on ? "simd" : "generic";
}

int probe_cpu_force_kernels(const char *name)
{
	pthread_once(&kernels_once, kernels_init);
	if (!strcmp(name, "generic")) {
		cpu_simd_on = 0;
		return 0;
	}
	if (!strcmp(name, "simd") && probe_simd_available()) {
		cpu_simd_on = 1;
		return 0;
	}
	return -1;
}

/* ---- the arithmetic, in float (the backend) and double (the reference) ---- */

#define real float
#define CORE(name) name##_f
#define R_EXP expf
#define R_LOG logf
#define R_TANH tanhf
#define CORE_SIMD 1
#include "stages/probes/probe_cpu_core.inc"
#undef real
#undef CORE
#undef R_EXP
#undef R_LOG
#undef R_TANH
#undef CORE_SIMD

#define real double
#define CORE(name) name##_d
#define R_EXP exp
#define R_LOG log
#define R_TANH tanh
#define CORE_SIMD 0
#include "stages/probes/probe_cpu_core.inc"
#undef real
#undef CORE
#undef R_EXP
#undef R_LOG
#undef R_TANH
#undef CORE_SIMD

static void net_init(struct cpu_net *net, const struct probe_spec *s, const struct probe_shape *sh)
{
	memset(net, 0, sizeof *net);
	net->sh = sh;
	net->act = s->act;
	net->n_out = sh->dims[sh->n_layers];
	net->drop_thr = sh->n_layers > 1 ? probe_drop_threshold(s->dropout) : 0;
	net->drop_scale = 1.0 / (1.0 - (double)s->dropout);
	net->seed = s->seed;
	net->target = s->target;
	net->temperature = s->temperature;
	net->alpha = s->alpha;
	net->l1 = s->l1;
	net->l2 = s->l2;
}

double probe_ref_loss_grad(const struct probe_spec *s, const struct probe_shape *sh, const double *w,
			   size_t R, const double *x, const int32_t *target, const double *weight,
			   const double *teacher, long step, double *grad)
{
	struct cpu_net net;
	net_init(&net, s, sh);
	int widths[PROBE_MAX_HIDDEN] = {0};
	for (int l = 0; l + 1 < sh->n_layers; l++)
		widths[l] = sh->dims[l + 1];
	struct ws_d ws;
	ws_init_d(&ws, R, widths, net.n_out, net.drop_thr != 0);
	struct cpu_sums sums = {0};
	forward_d(&net, w, NULL, R, x, 1, step, 0, &ws, NULL);
	loss_d(&net, R, target, weight, teacher, ws.out, grad != NULL, &sums);
	if (grad) {
		memset(grad, 0, sh->n_params * sizeof *grad);
		backward_d(&net, w, NULL, R, x, step, 0, &ws, grad);
		finish_grad_d(&net, NULL, w, grad, sums.wsum);
	}
	ws_free_d(&ws);
	return sums.loss / sums.wsum + penalty_d(&net, w);
}

/* ---- training state ---- */

enum cpu_mode { MODE_TRAIN, MODE_GRADIENTS };

struct cpu_probe {
	const struct probe_spec *spec;
	struct probe_shape sh;
	struct cpu_net net;
	struct probe_trained *out;   /* in the result: params, records */
	float *w;                    /* = out->params */
	float *g;                    /* this step's gradient */
	float *m, *v;                /* optimizer state (first and second moments), or NULL */
	float *wt;                   /* layers transposed, for the SIMD kernels, or NULL */
	float *best;                 /* parameters at the best validation loss (patience > 0) */
	int active;                  /* 0 once stopped early */
	int bad;                     /* records since the best validation loss */
	double run_w, run_loss, run_acc;   /* training sums since the last record */
	struct cpu_sums batch;       /* this step's sums */
	struct cpu_actstats st;
};

struct cpu_train;

struct cpu_thread {
	struct cpu_train *tr;
	size_t *ids;                 /* the probes this thread trains */
	size_t n_ids;
	struct ws_f ws;
	uint32_t *rows;              /* the block's row numbers */
	float *x;                    /* the block's features, ROW_BLOCK x d */
	float *teacher;              /* the block's teacher probabilities, or NULL */
	int32_t *tgt;                /* one probe's targets for the block */
	float *rw;                   /* one probe's training weights for the block */
};

struct cpu_train {
	const struct probe_job *job;
	enum cpu_mode mode;
	struct probe_result *res;
	struct cpu_probe *probes;
	struct cpu_thread *threads;
	int n_threads;
	uint32_t *perm;              /* this epoch's row order */
	int epoch;
	long spe, total, K;
	int need_teacher;
	float *grad_out, *loss_out;  /* MODE_GRADIENTS */
	size_t *grad_off;
};

static int online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* Transpose each layer into p->wt (N x (K + 1)): the SIMD kernels read it. */
static void refresh_wt(struct cpu_probe *p)
{
	for (int l = 0; l < p->sh.n_layers; l++) {
		size_t K = (size_t)p->sh.dims[l], N = (size_t)p->sh.dims[l + 1];
		const float *W = p->w + p->sh.off[l];
		float *Wt = p->wt + p->sh.off[l];
		for (size_t k = 0; k <= K; k++)
			for (size_t j = 0; j < N; j++)
				Wt[j * (K + 1) + k] = W[k * N + j];
	}
}

/* Gather the rows of a block: features and, when a probe distils, the teacher. */
static void gather_block(struct cpu_thread *th, const uint32_t *rows, size_t R)
{
	const struct probe_data *d = th->tr->job->data;
	size_t C = (size_t)d->n_classes;
	for (size_t i = 0; i < R; i++) {
		th->rows[i] = rows[i];
		memcpy(th->x + i * d->d, d->x + (size_t)rows[i] * d->d, d->d * sizeof(float));
		if (th->teacher)
			memcpy(th->teacher + i * C, d->teacher + (size_t)rows[i] * C, C * sizeof(float));
	}
}

/* A probe's targets and training weights for the gathered block. */
static void block_weights(struct cpu_thread *th, const struct cpu_probe *p, size_t R)
{
	const struct probe_spec *s = p->spec;
	const struct probe_data *d = th->tr->job->data;
	for (size_t i = 0; i < R; i++) {
		size_t row = th->rows[i];
		int t = probe_row_target(s, d, row);
		float w = 0;
		if (t >= 0 && !(s->val_mask && s->val_mask[row])) {
			w = s->row_weight ? s->row_weight[row] : 1.0f;
			if (s->class_weight)
				w *= s->class_weight[t];
		}
		th->tgt[i] = t;
		th->rw[i] = w;
	}
}

/* Loss and accuracy on the probe's validation rows (no dropout), weighted by
 * class weight. NaN when it has none. */
static void eval_validation(struct cpu_thread *th, struct cpu_probe *p, float *loss, float *acc)
{
	const struct probe_data *d = th->tr->job->data;
	const struct probe_spec *s = p->spec;
	struct cpu_sums sums = {0};
	uint32_t rows[ROW_BLOCK];
	size_t R = 0;
	for (size_t row = 0; row <= d->n; row++) {
		if (row < d->n) {
			if (!s->val_mask[row] || probe_row_target(s, d, row) < 0)
				continue;
			rows[R++] = (uint32_t)row;
			if (R < ROW_BLOCK)
				continue;
		}
		if (R == 0)
			break;
		gather_block(th, rows, R);
		for (size_t i = 0; i < R; i++) {
			int t = probe_row_target(s, d, rows[i]);
			th->tgt[i] = t;
			th->rw[i] = s->class_weight ? s->class_weight[t] : 1.0f;
		}
		forward_f(&p->net, p->w, p->wt, R, th->x, 0, 0, 0, &th->ws, NULL);
		loss_f(&p->net, R, th->tgt, th->rw, th->teacher, th->ws.out, 0, &sums);
		R = 0;
	}
	*loss = sums.wsum > 0 ? (float)(sums.loss / sums.wsum) : NAN;
	*acc = sums.wsum > 0 ? (float)(sums.acc / sums.wsum) : NAN;
}

/* The optimizer step. With `norms`, also the per-layer sums of squares of the
 * gradient, the new weights and the update (for the records). */
static void update(struct cpu_probe *p, const struct probe_step_scalars *sc, double norms[3][PROBE_MAX_LAYERS])
{
	const struct probe_spec *s = p->spec;
	float lr = sc->lr, c1 = sc->c1, c2 = sc->c2, eps = s->eps;
	for (int l = 0; l < p->sh.n_layers; l++)
		for (size_t i = p->sh.off[l]; i < p->sh.off[l + 1]; i++) {
			float g = p->g[i], w = p->w[i], nw = w;
			switch (s->optim) {
			case PROBE_SGD:
				nw = w - lr * g;
				break;
			case PROBE_MOMENTUM:
				p->m[i] = s->momentum * p->m[i] + g;
				nw = w - lr * p->m[i];
				break;
			case PROBE_RMSPROP:
				p->v[i] = s->rho * p->v[i] + (1.0f - s->rho) * g * g;
				nw = w - lr * g / (sqrtf(p->v[i]) + eps);
				break;
			case PROBE_ADAGRAD:
				p->v[i] = p->v[i] + g * g;
				nw = w - lr * g / (sqrtf(p->v[i]) + eps);
				break;
			case PROBE_ADAM:
				p->m[i] = s->beta1 * p->m[i] + (1.0f - s->beta1) * g;
				p->v[i] = s->beta2 * p->v[i] + (1.0f - s->beta2) * g * g;
				nw = w - c1 * p->m[i] / (sqrtf(p->v[i]) * c2 + eps);
				break;
			}
			if (norms) {
				double du = (double)nw - (double)w;
				norms[0][l] += (double)g * g;
				norms[1][l] += (double)nw * nw;
				norms[2][l] += du * du;
			}
			p->w[i] = nw;
		}
}

static void record(struct cpu_thread *th, struct cpu_probe *p, long step, const struct probe_step_scalars *sc,
		   double norms[3][PROBE_MAX_LAYERS])
{
	struct probe_trained *out = p->out;
	struct probe_record *rec = &out->records[out->n_records++];
	memset(rec, 0, sizeof *rec);
	rec->step = step + 1;
	rec->epoch = th->tr->epoch;
	rec->lr = sc->lr;
	rec->train_loss = p->run_w > 0 ? (float)(p->run_loss / p->run_w) : NAN;
	rec->train_acc = p->run_w > 0 ? (float)(p->run_acc / p->run_w) : NAN;
	p->run_w = p->run_loss = p->run_acc = 0;
	for (int l = 0; l < p->sh.n_layers; l++) {
		rec->grad_norm[l] = (float)sqrt(norms[0][l]);
		rec->weight_norm[l] = (float)sqrt(norms[1][l]);
		rec->update_ratio[l] = norms[1][l] > 0 ? (float)sqrt(norms[2][l] / norms[1][l]) : 0;
	}
	for (int l = 0; l + 1 < p->sh.n_layers; l++) {
		struct cpu_actstats *st = &p->st;
		double n = st->count[l] > 0 ? st->count[l] : 1, mean = st->s1[l] / n;
		double var = st->s2[l] / n - mean * mean;
		rec->act_mean[l] = (float)mean;
		rec->act_std[l] = (float)sqrt(var > 0 ? var : 0);
		if (p->net.act == PROBE_RELU) {
			int width = p->sh.dims[l + 1], dead = 0;
			for (int j = 0; j < width; j++)
				dead += !st->alive[l][j];
			rec->dead_relu[l] = (float)dead / (float)width;
		}
	}
	rec->val_loss = rec->val_acc = NAN;
	if (!p->spec->val_mask)
		return;
	eval_validation(th, p, &rec->val_loss, &rec->val_acc);
	/* early stopping: NaN (a diverged probe) never counts as better */
	if (isfinite(rec->val_loss) && (out->best_step < 0 || rec->val_loss < out->best_val_loss)) {
		out->best_val_loss = rec->val_loss;
		out->best_step = rec->step;
		p->bad = 0;
		if (p->best)
			memcpy(p->best, p->w, p->sh.n_params * sizeof(float));
	} else if (++p->bad >= p->spec->patience && p->spec->patience > 0) {
		p->active = 0;
		out->stopped_early = 1;
	}
}

/* After a step's blocks: the optimizer step and, when due, a record. */
static void finish_step(struct cpu_thread *th, struct cpu_probe *p, long step, int want_record)
{
	struct cpu_train *tr = th->tr;
	struct probe_step_scalars sc;
	probe_step_scalars(p->spec, step, tr->total, tr->spe, &sc);
	double norms[3][PROBE_MAX_LAYERS] = {{0}};
	/* a batch in which the probe has no weighted row leaves it unchanged */
	if (p->batch.wsum > 0) {
		finish_grad_f(&p->net, p->spec->feature_mask, p->w, p->g, p->batch.wsum);
		update(p, &sc, want_record ? norms : NULL);
		if (p->wt)
			refresh_wt(p);
	} else if (want_record) {
		for (int l = 0; l < p->sh.n_layers; l++)
			for (size_t i = p->sh.off[l]; i < p->sh.off[l + 1]; i++)
				norms[1][l] += (double)p->w[i] * p->w[i];
	}
	p->run_w += p->batch.wsum;
	p->run_loss += p->batch.loss;
	p->run_acc += p->batch.acc;
	p->out->steps = step + 1;
	if (want_record)
		record(th, p, step, &sc, norms);
}

/* One thread's share of an epoch (MODE_GRADIENTS: of the first step). */
static void *worker(void *arg)
{
	struct cpu_thread *th = arg;
	struct cpu_train *tr = th->tr;
	const struct probe_data *d = tr->job->data;
	size_t B = tr->job->batch_size;
	long steps = tr->mode == MODE_GRADIENTS ? 1 : tr->spe;
	for (long s = 0; s < steps; s++) {
		long step = (long)tr->epoch * tr->spe + s;
		size_t start = (size_t)s * B, rows = d->n - start < B ? d->n - start : B;
		int want_record = tr->mode == MODE_TRAIN && ((step + 1) % tr->K == 0 || step + 1 == tr->total);
		int any = 0;
		for (size_t i = 0; i < th->n_ids; i++) {
			struct cpu_probe *p = &tr->probes[th->ids[i]];
			if (!p->active)
				continue;
			any = 1;
			memset(p->g, 0, p->sh.n_params * sizeof(float));
			memset(&p->batch, 0, sizeof p->batch);
			if (want_record)
				for (int l = 0; l + 1 < p->sh.n_layers; l++) {
					p->st.s1[l] = p->st.s2[l] = p->st.count[l] = 0;
					memset(p->st.alive[l], 0, (size_t)p->sh.dims[l + 1]);
				}
		}
		if (!any)
			break;
		for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
			size_t R = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
			gather_block(th, tr->perm + start + r0, R);
			for (size_t i = 0; i < th->n_ids; i++) {
				struct cpu_probe *p = &tr->probes[th->ids[i]];
				if (!p->active)
					continue;
				block_weights(th, p, R);
				forward_f(&p->net, p->w, p->wt, R, th->x, 1, step, (uint32_t)r0, &th->ws,
					  want_record ? &p->st : NULL);
				loss_f(&p->net, R, th->tgt, th->rw, th->teacher, th->ws.out, 1, &p->batch);
				backward_f(&p->net, p->w, p->wt, R, th->x, step, (uint32_t)r0, &th->ws, p->g);
			}
		}
		for (size_t i = 0; i < th->n_ids; i++) {
			size_t id = th->ids[i];
			struct cpu_probe *p = &tr->probes[id];
			if (!p->active)
				continue;
			if (tr->mode == MODE_GRADIENTS) {
				finish_grad_f(&p->net, p->spec->feature_mask, p->w, p->g,
					      p->batch.wsum > 0 ? p->batch.wsum : 1.0);
				memcpy(tr->grad_out + tr->grad_off[id], p->g, p->sh.n_params * sizeof(float));
				tr->loss_out[id] = p->batch.wsum > 0 ? (float)(p->batch.loss / p->batch.wsum) : NAN;
			} else {
				finish_step(th, p, step, want_record);
			}
		}
	}
	return NULL;
}

/* Run worker() on every thread: the calling thread takes the first share. If a
 * thread cannot start, its share runs here afterwards (same results). */
static void run_threads(struct cpu_train *tr)
{
	pthread_t tid[tr->n_threads];
	int started[tr->n_threads];
	for (int t = 1; t < tr->n_threads; t++)
		started[t] = pthread_create(&tid[t], NULL, worker, &tr->threads[t]) == 0;
	worker(&tr->threads[0]);
	for (int t = 1; t < tr->n_threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			worker(&tr->threads[t]);
	}
}

static size_t probe_cost(const struct cpu_probe *p) { return p->sh.n_params + 1; }

static void train_free(struct cpu_train *tr)
{
	for (size_t i = 0; tr->probes && i < tr->job->n_probes; i++) {
		struct cpu_probe *p = &tr->probes[i];
		free(p->g);
		free(p->m);
		free(p->v);
		free(p->wt);
		free(p->best);
		for (int l = 0; l < PROBE_MAX_HIDDEN; l++)
			free(p->st.alive[l]);
	}
	for (int t = 0; tr->threads && t < tr->n_threads; t++) {
		struct cpu_thread *th = &tr->threads[t];
		free(th->ids);
		ws_free_f(&th->ws);
		free(th->rows);
		free(th->x);
		free(th->teacher);
		free(th->tgt);
		free(th->rw);
	}
	free(tr->threads);
	free(tr->probes);
	free(tr->perm);
	free(tr->grad_off);
}

/* Set up the probes, their state and the threads. The result holds the initial
 * parameters. */
static void train_setup(struct cpu_train *tr, const struct probe_job *job, enum cpu_mode mode)
{
	pthread_once(&kernels_once, kernels_init);
	memset(tr, 0, sizeof *tr);
	tr->job = job;
	tr->mode = mode;
	tr->res = probe_result_new(job, "cpu");
	tr->spe = probe_steps_per_epoch(job);
	tr->total = probe_total_steps(job);
	tr->K = probe_record_period(job);
	tr->perm = xmalloc(job->data->n * sizeof *tr->perm);
	size_t P = job->n_probes;
	tr->probes = xcalloc(P, sizeof *tr->probes);
	for (size_t i = 0; i < P; i++) {
		struct cpu_probe *p = &tr->probes[i];
		const struct probe_spec *s = &job->specs[i];
		p->spec = s;
		probe_shape_of(job, i, &p->sh);
		net_init(&p->net, s, &p->sh);
		p->out = &tr->res->probes[i];
		p->w = p->out->params;
		probe_init_params(s, &p->sh, p->w);
		size_t np = p->sh.n_params;
		p->g = xmalloc(np * sizeof(float));
		if (s->optim == PROBE_MOMENTUM || s->optim == PROBE_ADAM)
			p->m = xcalloc(np, sizeof(float));
		if (s->optim == PROBE_RMSPROP || s->optim == PROBE_ADAGRAD || s->optim == PROBE_ADAM)
			p->v = xcalloc(np, sizeof(float));
		if (cpu_simd_on) {
			p->wt = xmalloc(np * sizeof(float));
			refresh_wt(p);
		}
		if (s->patience > 0 && mode == MODE_TRAIN)
			p->best = xmalloc(np * sizeof(float));
		for (int l = 0; l + 1 < p->sh.n_layers; l++)
			p->st.alive[l] = xcalloc((size_t)p->sh.dims[l + 1], 1);
		p->active = 1;
		if (s->target == PROBE_TARGET_SOFT)
			tr->need_teacher = 1;
	}

	/* deal the probes to threads: largest first, each to the least loaded */
	int T = job->threads > 0 ? job->threads : online_cores();
	if ((size_t)T > P)
		T = (int)P;
	tr->n_threads = T;
	tr->threads = xcalloc((size_t)T, sizeof *tr->threads);
	size_t *order = xmalloc(P * sizeof *order), load[T];
	for (size_t i = 0; i < P; i++)
		order[i] = i;
	for (size_t i = 1; i < P; i++)   /* insertion sort: stable, P is small */
		for (size_t j = i; j > 0 && probe_cost(&tr->probes[order[j]]) > probe_cost(&tr->probes[order[j - 1]]); j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int t = 0; t < T; t++) {
		load[t] = 0;
		tr->threads[t].ids = xmalloc(P * sizeof(size_t));
		tr->threads[t].tr = tr;
	}
	for (size_t i = 0; i < P; i++) {
		int best = 0;
		for (int t = 1; t < T; t++)
			if (load[t] < load[best])
				best = t;
		struct cpu_thread *th = &tr->threads[best];
		th->ids[th->n_ids++] = order[i];
		load[best] += probe_cost(&tr->probes[order[i]]);
	}
	free(order);

	size_t d = job->data->d, C = (size_t)job->data->n_classes;
	for (int t = 0; t < T; t++) {
		struct cpu_thread *th = &tr->threads[t];
		int widths[PROBE_MAX_HIDDEN] = {0}, outputs = 2, dropout = 0;
		for (size_t i = 0; i < th->n_ids; i++) {
			const struct cpu_probe *p = &tr->probes[th->ids[i]];
			for (int l = 0; l + 1 < p->sh.n_layers; l++)
				if (p->sh.dims[l + 1] > widths[l])
					widths[l] = p->sh.dims[l + 1];
			if (p->net.n_out > outputs)
				outputs = p->net.n_out;
			dropout |= p->net.drop_thr != 0;
		}
		ws_init_f(&th->ws, ROW_BLOCK, widths, outputs, dropout);
		th->rows = xmalloc(ROW_BLOCK * sizeof *th->rows);
		th->x = xmalloc(ROW_BLOCK * d * sizeof(float));
		th->teacher = tr->need_teacher ? xmalloc(ROW_BLOCK * C * sizeof(float)) : NULL;
		th->tgt = xmalloc(ROW_BLOCK * sizeof *th->tgt);
		th->rw = xmalloc(ROW_BLOCK * sizeof *th->rw);
	}
}

static struct probe_result *cpu_train(const struct probe_backend *b, const struct probe_job *job)
{
	(void)b;
	if (probe_job_check(job) < 0)
		return NULL;
	struct cpu_train tr;
	train_setup(&tr, job, MODE_TRAIN);
	for (int e = 0; e < job->epochs; e++) {
		probe_epoch_order(job->seed, e, job->data->n, tr.perm);
		tr.epoch = e;
		run_threads(&tr);
		int any = 0;
		for (size_t i = 0; i < job->n_probes; i++)
			any |= tr.probes[i].active;
		if (!any)
			break;
	}
	for (size_t i = 0; i < job->n_probes; i++) {
		struct cpu_probe *p = &tr.probes[i];
		if (p->best && p->out->best_step >= 0)
			memcpy(p->w, p->best, p->sh.n_params * sizeof(float));
	}
	struct probe_result *res = tr.res;
	train_free(&tr);
	return res;
}

static int cpu_gradients(const struct probe_backend *b, const struct probe_job *job, float *grad, float *loss)
{
	(void)b;
	if (probe_job_check(job) < 0)
		return -1;
	struct cpu_train tr;
	train_setup(&tr, job, MODE_GRADIENTS);
	tr.grad_out = grad;
	tr.loss_out = loss;
	tr.grad_off = xmalloc(job->n_probes * sizeof *tr.grad_off);
	size_t off = 0;
	for (size_t i = 0; i < job->n_probes; i++) {
		tr.grad_off[i] = off;
		off += tr.probes[i].sh.n_params;
	}
	probe_epoch_order(job->seed, 0, job->data->n, tr.perm);
	run_threads(&tr);
	probe_result_free(tr.res);
	train_free(&tr);
	return 0;
}

/* ---- prediction ---- */

struct cpu_predict {
	const struct probe_result *r;
	const float *x;
	size_t n, d;
	float *out;
	struct probe_shape *sh;
	struct cpu_net *net;
	float **wt;
	int n_threads, id;
};

#define PREDICT_CHUNK 2048

static void *predict_worker(void *arg)
{
	const struct cpu_predict *pr = arg;
	const struct probe_result *r = pr->r;
	size_t chunks = (pr->n + PREDICT_CHUNK - 1) / PREDICT_CHUNK, W = (size_t)r->out_width;
	int widths[PROBE_MAX_HIDDEN] = {0};
	for (size_t p = 0; p < r->n_probes; p++)
		for (int l = 0; l + 1 < pr->sh[p].n_layers; l++)
			if (pr->sh[p].dims[l + 1] > widths[l])
				widths[l] = pr->sh[p].dims[l + 1];
	struct ws_f ws;
	ws_init_f(&ws, ROW_BLOCK, widths, r->out_width, 0);
	/* units (probe, chunk of rows) dealt round-robin: no sums cross units */
	for (size_t u = (size_t)pr->id; u < r->n_probes * chunks; u += (size_t)pr->n_threads) {
		size_t p = u / chunks, c0 = (u % chunks) * PREDICT_CHUNK;
		size_t c1 = c0 + PREDICT_CHUNK < pr->n ? c0 + PREDICT_CHUNK : pr->n;
		size_t C = (size_t)pr->net[p].n_out;
		for (size_t r0 = c0; r0 < c1; r0 += ROW_BLOCK) {
			size_t R = c1 - r0 < ROW_BLOCK ? c1 - r0 : ROW_BLOCK;
			forward_f(&pr->net[p], r->probes[p].params, pr->wt[p], R, pr->x + r0 * pr->d, 0, 0, 0, &ws, NULL);
			for (size_t i = 0; i < R; i++) {
				const float *z = ws.out + i * C;
				float *o = pr->out + (p * pr->n + r0 + i) * W, m = z[0], s = 0;
				for (size_t c = 1; c < C; c++)
					m = z[c] > m ? z[c] : m;
				for (size_t c = 0; c < C; c++)
					s += (o[c] = expf(z[c] - m));
				for (size_t c = 0; c < C; c++)
					o[c] /= s;
				for (size_t c = C; c < W; c++)
					o[c] = 0;
			}
		}
	}
	ws_free_f(&ws);
	return NULL;
}

static int cpu_predict(const struct probe_backend *b, const struct probe_result *r, const float *x, size_t n,
		       float *out)
{
	(void)b;
	pthread_once(&kernels_once, kernels_init);
	if (n == 0)
		return 0;
	size_t P = r->n_probes;
	struct probe_shape *sh = xcalloc(P, sizeof *sh);
	struct cpu_net *net = xcalloc(P, sizeof *net);
	float **wt = xcalloc(P, sizeof *wt);
	for (size_t p = 0; p < P; p++) {
		const struct probe_trained *t = &r->probes[p];
		sh[p].n_layers = t->n_layers;
		size_t off = 0;
		for (int l = 0; l <= t->n_layers; l++) {
			sh[p].dims[l] = t->dims[l];
			sh[p].off[l] = off;
			if (l < t->n_layers)
				off += (size_t)(t->dims[l] + 1) * (size_t)t->dims[l + 1];
		}
		sh[p].n_params = off;
		net[p].sh = &sh[p];
		net[p].act = t->act;
		net[p].n_out = t->dims[t->n_layers];
		if (cpu_simd_on) {
			struct cpu_probe tmp = {.sh = sh[p], .w = t->params};
			tmp.wt = wt[p] = xmalloc(off * sizeof(float));
			refresh_wt(&tmp);
		}
	}
	int T = online_cores();
	size_t units = P * ((n + PREDICT_CHUNK - 1) / PREDICT_CHUNK);
	if ((size_t)T > units)
		T = (int)units;
	struct cpu_predict pr[T];
	pthread_t tid[T];
	int started[T];
	for (int t = 0; t < T; t++) {
		pr[t] = (struct cpu_predict){r, x, n, sh[0].dims[0] ? (size_t)sh[0].dims[0] : 1, out, sh, net, wt, T, t};
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, predict_worker, &pr[t]) == 0;
	}
	predict_worker(&pr[0]);
	for (int t = 1; t < T; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			predict_worker(&pr[t]);
	}
	for (size_t p = 0; p < P; p++)
		free(wt[p]);
	free(wt);
	free(net);
	free(sh);
	return 0;
}

static const struct probe_backend cpu_backend = {
	.name = "cpu",
	.train = cpu_train,
	.predict = cpu_predict,
	.gradients = cpu_gradients,
	.ctx = NULL,
};

const struct probe_backend *probe_cpu_backend(void)
{
	return &cpu_backend;
}
