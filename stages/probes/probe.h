/* probe.h - the probe engine: batched training of small classifiers (softmax
 * regression and MLPs) on a dense float matrix, behind one backend table.
 *
 * A job trains P probes at once. All probes of a job see the same minibatches
 * in the same row order (a seeded shuffle per epoch, shared by the job), so a
 * backend can read each batch once for all of them; the probes differ in
 * architecture, hyper-parameters, row weights/masks, feature masks and seeds.
 *
 * Parameters are fp32. Layer l of a probe maps dims[l] inputs to dims[l+1]
 * outputs and is stored as a (dims[l] + 1) x dims[l+1] row-major block whose
 * last row is the bias, so [a, 1] . W is the layer's pre-activation. The layers
 * follow each other in one array per probe.
 *
 * Backends: "cpu" (always built; the readable reference and the oracle, threaded
 * across cores, bit-identical for the same job whatever the thread count) and
 * "cuda" (built under MLA_HAVE_CUDA, available when a device answers).
 *
 * This header needs only libc; the compute core (probe_backend.c, probe_cpu.c,
 * probe_cpu_simd.c, cuda/probe_cuda.cu) needs libc, libm, pthread and the CUDA
 * runtime, so the GPU checks build where the pipeline's other libraries are
 * missing. */
#ifndef MLA_PROBE_H
#define MLA_PROBE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {   /* the CUDA backend is compiled as C++ */
#endif

#define PROBE_MAX_HIDDEN 3
#define PROBE_MAX_LAYERS (PROBE_MAX_HIDDEN + 1)
#define PROBE_MAX_WIDTH 1024
#define PROBE_MAX_CLASSES 256

enum probe_act { PROBE_RELU, PROBE_TANH };

enum probe_init {
	PROBE_INIT_CONSTANT,  /* every weight = init_value (biases 0): the symmetric "bad init" */
	PROBE_INIT_UNIFORM,   /* U(-init_value, init_value); init_value 0 means 0.01 */
	PROBE_INIT_XAVIER,    /* Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
	PROBE_INIT_HE         /* Kaiming normal: N(0, 2 / fan_in) */
};

enum probe_optim { PROBE_SGD, PROBE_MOMENTUM, PROBE_RMSPROP, PROBE_ADAGRAD, PROBE_ADAM };

/* Learning rate at step t (0-based) of T planned steps, s = lr_step (0 means
 * one epoch of steps): */
enum probe_sched {
	PROBE_LR_CONSTANT,    /* lr */
	PROBE_LR_STEP,        /* lr * gamma^floor(t / s) */
	PROBE_LR_EXP,         /* lr * gamma^(t / s) */
	PROBE_LR_COSINE       /* lr_min + (lr - lr_min) * (1 + cos(pi t / T)) / 2 */
};

enum probe_target {
	PROBE_TARGET_LABEL,   /* the job's labels: cross-entropy */
	PROBE_TARGET_SOFT,    /* distillation: alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(label) */
	PROBE_TARGET_BINARY   /* the probe's own 0/1 target (a domain classifier, say): 2 outputs */
};

/* One probe. Pointers are borrowed: they must stay valid while the job trains. */
struct probe_spec {
	int n_hidden;                     /* 0 = softmax regression, else 1..3 hidden layers */
	int hidden[PROBE_MAX_HIDDEN];     /* widths, 1..PROBE_MAX_WIDTH */
	enum probe_act act;
	enum probe_init init;
	float init_value;                 /* see enum probe_init */

	enum probe_optim optim;
	float lr;
	float momentum;                   /* PROBE_MOMENTUM: v = momentum v + g; w -= lr v */
	float beta1, beta2;               /* PROBE_ADAM */
	float rho;                        /* PROBE_RMSPROP: s = rho s + (1 - rho) g^2 */
	float eps;                        /* RMSprop, AdaGrad, Adam denominators */
	enum probe_sched sched;
	float lr_gamma;                   /* STEP and EXP decay factor */
	long lr_step;                     /* steps per decay; 0 = steps per epoch */
	float lr_min;                     /* COSINE floor */

	float l1, l2;                     /* penalties on weights (not biases): l1 |w| + l2/2 w^2 */
	float dropout;                    /* drop probability of hidden units, [0, 1) */
	int patience;                     /* early stopping: records without a better validation
					     loss before stopping; 0 = never stop. Needs val_mask. */
	const float *class_weight;        /* one per output class, or NULL (all 1) */

	enum probe_target target;
	float temperature;                /* PROBE_TARGET_SOFT: T > 0 */
	float alpha;                      /* PROBE_TARGET_SOFT: weight of the teacher term, [0, 1] */
	const uint8_t *binary_target;     /* PROBE_TARGET_BINARY: n rows of 0/1 */

	const float *row_weight;          /* n rows, >= 0 (0 = not trained on: folds, bootstraps,
					     subsets); NULL = all 1 */
	const uint8_t *val_mask;          /* n rows, 1 = validation row (never trained on); NULL = none */
	const uint8_t *feature_mask;      /* d columns, 1 = used; NULL = all. Unused columns keep
					     zero weights. */
	uint64_t seed;                    /* initialisation and dropout */
};

/* The data every probe of a job reads. Borrowed. */
struct probe_data {
	size_t n, d;
	const float *x;                   /* n x d, row-major, finite (features.h makes one) */
	const int32_t *y;                 /* n labels in [0, n_classes); < 0 = no label (row unused
					     by label and soft targets); may be NULL when every probe
					     has a binary target */
	int n_classes;                    /* 2..PROBE_MAX_CLASSES */
	const float *teacher;             /* n x n_classes probabilities for soft targets, or NULL */
};

struct probe_job {
	const struct probe_data *data;
	const struct probe_spec *specs;
	size_t n_probes;
	size_t batch_size;                /* rows per step; the last step of an epoch may have fewer */
	int epochs;
	long record_every;                /* K: record every K steps (and at the last step); 0 = once
					     per epoch. Validation and early stopping run at records. */
	uint64_t seed;                    /* the shared row order */
	int threads;                      /* CPU threads; 0 = one per online core */
};

/* One point of a probe's training curve. Losses are the data term only (no
 * penalty), weighted like the objective: row weight x class weight, divided by
 * the weights' sum. Validation rows are weighted by class weight only. */
struct probe_record {
	long step;                        /* steps done */
	int epoch;                        /* epoch of the last step done (0-based) */
	float lr;                         /* learning rate of the last step */
	float train_loss, train_acc;      /* over the steps since the previous record */
	float val_loss, val_acc;          /* NaN without validation rows */
	float grad_norm[PROBE_MAX_LAYERS];     /* L2 norm of the last step's gradient (weights and bias) */
	float weight_norm[PROBE_MAX_LAYERS];   /* L2 norm of the layer's parameters after the step */
	float update_ratio[PROBE_MAX_LAYERS];  /* ||last update|| / ||parameters|| */
	float act_mean[PROBE_MAX_HIDDEN];      /* hidden activations on the last batch (before dropout) */
	float act_std[PROBE_MAX_HIDDEN];
	float dead_relu[PROBE_MAX_HIDDEN];     /* share of units that were 0 on every row of the last
						  batch (ReLU; 0 for tanh) */
};

/* A trained probe. Owned by its struct probe_result. */
struct probe_trained {
	int n_layers;                     /* n_hidden + 1 */
	int dims[PROBE_MAX_LAYERS + 1];   /* dims[0] = d ... dims[n_layers] = outputs */
	enum probe_act act;               /* of the hidden layers */
	size_t n_params;
	float *params;                    /* the layers one after another, see the top of this file */
	struct probe_record *records;
	size_t n_records;
	long steps;                       /* steps trained (fewer than planned when stopped early) */
	int stopped_early;
	long best_step;                   /* record with the lowest validation loss (-1 = none); with
					     patience > 0 the parameters are restored from it */
	float best_val_loss;
};

struct probe_result {
	size_t n_probes;
	struct probe_trained *probes;
	int out_width;                    /* max outputs over the probes: predict's row stride */
	char backend[16];                 /* the backend that trained it */
};

/** Free a result and everything it owns (NULL is fine). */
void probe_result_free(struct probe_result *r);

/** Pointer to layer `layer`'s (dims[layer] + 1) x dims[layer + 1] block in t->params. */
float *probe_layer(const struct probe_trained *t, int layer);

/** Fill s with defaults: softmax regression, Xavier, Adam (lr 1e-3, betas 0.9/0.999,
 * eps 1e-8), constant schedule, no penalty, label target, T = 1, alpha = 0.5. */
void probe_spec_init(struct probe_spec *s);

/** Outputs of probe p: 2 for a binary target, else the job's classes. */
int probe_outputs(const struct probe_job *job, size_t p);

/** Check a job before training. 0, or -1 with an input error naming the probe and field. */
int probe_job_check(const struct probe_job *job);

/** Steps per epoch and planned steps of a job. */
long probe_steps_per_epoch(const struct probe_job *job);
long probe_total_steps(const struct probe_job *job);

/* ---- backends ---- */

struct probe_backend {
	const char *name;                 /* "cpu", "cuda" */
	/** Train every probe of the job. A new result (caller frees with
	 * probe_result_free), or NULL with an error recorded. */
	struct probe_result *(*train)(const struct probe_backend *b, const struct probe_job *job);
	/** Class probabilities of every probe for n rows of x (n x d, d = dims[0]):
	 * out is P x n x r->out_width, row-major; columns past a probe's outputs are 0.
	 * 0, or -1 with an error recorded. */
	int (*predict)(const struct probe_backend *b, const struct probe_result *r,
		       const float *x, size_t n, float *out);
	/** The gradient each probe's optimizer would see at step 0 (initial
	 * parameters, first minibatch; penalties included), concatenated probe after
	 * probe in the parameter layout, and each probe's data loss on that batch.
	 * For gradient checks and CPU/GPU parity. 0, or -1 with an error recorded. */
	int (*gradients)(const struct probe_backend *b, const struct probe_job *job,
			 float *grad, float *loss);
	void *ctx;                        /* backend state */
};

/** The CPU backend (always there; static, do not free). */
const struct probe_backend *probe_cpu_backend(void);

/** Choose a backend: `want` is "auto", "cpu" or "cuda". Writes why into `why`
 * (for run.json and the report: "cuda: NVIDIA H100 (device 0)", "cpu: auto, no CUDA
 * device (cudaGetDeviceCount: ...)"). Returns a static backend, or NULL with an
 * input error when "cuda" was asked for and none answers, or `want` is unknown. */
const struct probe_backend *probe_backend_choose(const char *want, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
