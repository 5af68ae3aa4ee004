/* sanity.h - the seed's training checks (issue 5) run on probes: overfit a
 * mini-batch, gradient check, initialisation, learning-rate range test,
 * optimizers and schedules, regularisation, gradual complexity increase,
 * gradient/activation health, hyper-parameter search and distillation.
 *
 * Each check takes the probe data, a backend and a seed, trains what it needs as
 * one (or a few) batched probe jobs, and fills a plain result struct; nothing
 * here writes files or JSON (the probes stage serialises). Results with
 * allocated members have a *_free function; the others are plain values.
 *
 * Validation rows: checks that need them take a `val_mask` (n bytes, 1 =
 * validation row); NULL means "draw 20% of the labelled rows from the seed"
 * (sanity_val_mask). Losses are mean cross-entropy (natural log) and
 * accuracies are shares in [0, 1], both measured after training with the
 * backend's predict (no dropout), not read off the training records. */
#ifndef MLA_SANITY_H
#define MLA_SANITY_H

#include "stages/probes/probe.h"

#include <stddef.h>
#include <stdint.h>

#define SANITY_MAX_CURVE 64     /* points kept of a training curve */
#define SANITY_MAX_CONFLICTS 16 /* identical-row label conflicts listed */

/* A training curve, subsampled to at most SANITY_MAX_CURVE records. */
struct sanity_curve {
	size_t n;
	long step[SANITY_MAX_CURVE];
	float lr[SANITY_MAX_CURVE];
	float train_loss[SANITY_MAX_CURVE];
	float val_loss[SANITY_MAX_CURVE];   /* NaN without validation rows */
};

/* Loss and accuracy of one trained probe on the train and validation rows. */
struct sanity_fit {
	double train_loss, train_acc;
	double val_loss, val_acc;           /* NaN without validation rows */
};

/** A new n-byte validation mask: each labelled row (y >= 0) is a validation row
 * with probability `share`, drawn from `seed`. Caller frees. */
uint8_t *sanity_val_mask(const struct probe_data *d, double share, uint64_t seed);

/* ---- 8. gradient and activation health ---- */

/* Vanishing: a layer's gradient norm / weight norm below SANITY_VANISH_RATIO at
 * the end AND either far below the output layer's (SANITY_VANISH_SPREAD: the
 * gradient dies on its way down) or with the training loss not fallen (the
 * last record's loss above SANITY_STALL of the first's). Tiny gradients in
 * every layer of a network that fitted its rows are convergence, not
 * vanishing: on penguins every layer of a 3-hidden-layer net ends below 1e-6
 * at a training loss of 0.003. */
#define SANITY_VANISH_RATIO 1e-5
#define SANITY_VANISH_SPREAD 1e-3
#define SANITY_STALL 0.9
/* Exploding: the ratio above SANITY_EXPLODE_RATIO at any record, or
 * non-finite. The seed's "orders of magnitude more than the current weight
 * values": a ratio of 1-1.4 is common at the first record, while small
 * initial weights move fast (spam: softmax 1.07, the output layer of a
 * 128-unit net 1.38, both training smoothly). */
#define SANITY_EXPLODE_RATIO 10.0
#define SANITY_DEAD_SHARE 0.5      /* dead ReLU share above: flagged */
struct sanity_health {
	int n_layers;
	double ratio_first[PROBE_MAX_LAYERS];  /* grad norm / weight norm at the first record */
	double ratio_last[PROBE_MAX_LAYERS];   /* and at the last */
	double ratio_min[PROBE_MAX_LAYERS], ratio_max[PROBE_MAX_LAYERS];  /* over the records */
	int vanishing[PROBE_MAX_LAYERS];       /* see SANITY_VANISH_RATIO */
	int exploding[PROBE_MAX_LAYERS];       /* see SANITY_EXPLODE_RATIO */
	double dead_relu[PROBE_MAX_HIDDEN];    /* at the last record */
	double act_std[PROBE_MAX_HIDDEN];      /* at the last record */
	int dead_flag[PROBE_MAX_HIDDEN];
	int any_flag;
};

/** Read the health of one trained probe off its records (pure). */
void sanity_health(const struct probe_trained *t, struct sanity_health *out);

/* ---- 1. overfit a mini-batch ---- */

/* The rule: an MLP (one hidden ReLU layer of `width` units, He init, Adam at
 * lr 0.01, no penalty, full-batch steps) trained on `rows` rows drawn from the
 * seed must reach 100% training accuracy on those rows within `max_steps`
 * steps. Real structure is learned within such a budget; a small net with a
 * modest budget does not memorise random labels, so failing points at the data
 * (conflicting duplicates, or nothing to learn) or at the model code.
 * Measured (4 features, 2-3 classes, 12 seeds): with 128 rows, width 16 and
 * 300 steps, clean linear-rule data reached 100% in 48-178 steps every time
 * and shuffled labels never did (final 70-89%); with 64 rows shuffled labels
 * reached 100% once in 12 (93-98% otherwise), so 64 rows is too few to tell.
 * Memorising gets easier as the parameter count (~ d x width) grows against
 * the rows, so the caller should keep rows well above d x width. */
struct sanity_overfit {
	size_t rows;                        /* batch rows used (labelled rows only) */
	int width;
	long max_steps;
	int reached;                        /* 1 when 100% was reached within max_steps */
	long steps;                         /* first step with 100% (or max_steps) */
	double final_acc;                   /* on the batch, after max_steps (predict) */
	size_t n_conflicts;                 /* pairs of identical rows with different labels */
	size_t conflicts[SANITY_MAX_CONFLICTS][2];  /* first pairs, as rows of the full data */
	double max_reachable_acc;           /* the best any model can do on the batch (majority
					       label within each group of identical rows) */
	const char *verdict;                /* static text: "ok", "conflicting labels",
					       "no learnable signal" */
};

/** Run the mini-batch check. 0, or -1 with an error recorded (bad sizes, training failed). */
int sanity_overfit_batch(const struct probe_data *d, const struct probe_backend *b, size_t rows, int width,
			 long max_steps, uint64_t seed, struct sanity_overfit *out);

/* ---- 2. gradient check ---- */

/* Analytic gradient (the double-precision reference, probe_ref_loss_grad)
 * against fourth-order central differences of the same objective (step 1e-4),
 * at the spec's initial parameters on `rows` rows; per layer the largest
 * relative error |a - n| / max(|a| + |n|, 1e-5). Also the backend's fp32
 * gradient against the double analytic one (the same rows, one full batch,
 * no dropout then), which is what the probes actually train with. */
struct sanity_gradcheck {
	int n_layers;
	size_t n_params;
	double rel_err[PROBE_MAX_LAYERS];   /* analytic vs finite differences, per layer */
	double max_rel_err;
	double fp32_rel_err[PROBE_MAX_LAYERS];  /* backend fp32 vs double analytic (NaN when
						   not compared) */
	double fp32_max_rel_err;
	int passed;                         /* max_rel_err < SANITY_GRADCHECK_TOL */
};
#define SANITY_GRADCHECK_TOL 1e-6

/* A test hook: called on the analytic gradient before the comparison. */
typedef void (*sanity_grad_tamper)(double *grad, size_t n_params, void *ctx);

/** Gradient-check spec s (its architecture, activation, target, penalties) on the
 * first `rows` labelled rows of d (<= 64 is plenty). b may be NULL to skip the
 * fp32 comparison; tamper may be NULL. 0, or -1 with an error recorded. */
int sanity_gradient_check(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *s,
			  size_t rows, sanity_grad_tamper tamper, void *tamper_ctx, struct sanity_gradcheck *out);

/* ---- 3. initialisation ---- */

/* Constant (0.1), small uniform (0.01), Xavier and He on the same one-hidden-
 * layer ReLU MLP with Adam, no dropout (dropout would break the symmetry). */
struct sanity_init_run {
	enum probe_init init;
	struct sanity_curve curve;
	struct sanity_fit fit;
	int distinct_units;                 /* distinct first-layer columns (weights + bias) after
					       training, equal within 1e-6 x max(1, |w|) */
	struct sanity_health health;
};
struct sanity_init {
	int width;
	struct sanity_init_run runs[4];     /* constant, uniform, Xavier, He */
};

/** Count the distinct hidden units of layer 0 of a trained probe (see above). */
int sanity_distinct_units(const struct probe_trained *t, double tol);

/** Run the four initialisations as one job. 0, or -1 with an error recorded. */
int sanity_init(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask, int width,
		int epochs, size_t batch, uint64_t seed, struct sanity_init *out);

/* ---- 4. learning-rate range test ---- */

/* One probe of `base` (its optimizer, architecture) trained with PROBE_LR_EXP,
 * lr_gamma > 1 and lr_step 1: the learning rate grows from lr_min to lr_max
 * over `steps` steps, one record per step. Loss smoothed with a debiased
 * exponential moving average (beta 0.9); the sweep stops at divergence (a
 * non-finite loss or a smoothed loss above 4x its minimum).
 * Suggested rule: a third of the learning rate at the smoothed loss's
 * minimum. The minimum sits at the edge of stability; on 18 synthetic problems
 * (SGD, momentum, Adam; widths 32/64; 2-3 classes) the best fixed rate of a
 * sweep of the same length was 0.07x to 2.7x the minimum's rate, geometric
 * mean 0.39x, and min/3 landed within 3x of it in 15 of 18 (the fastai
 * "min/10" rule is more cautious and missed by 6x on the test problem). The
 * steepest-descent rate is reported too but is noisy (it missed by 1.1x to
 * 40000x there).
 * Then three fixed-rate runs of `steps` steps: suggested / 30 (too low),
 * suggested, suggested x 30 (too high). */
struct sanity_lr_range {
	size_t n;                           /* sweep points kept (subsampled to SANITY_MAX_CURVE) */
	float lr[SANITY_MAX_CURVE];
	float loss[SANITY_MAX_CURVE];       /* raw */
	float smooth[SANITY_MAX_CURVE];
	long stopped_at;                    /* step where divergence stopped the sweep (-1 = none) */
	double lr_at_min;                   /* learning rate at the smoothed minimum */
	double lr_steepest;                 /* at the steepest descent of the smoothed loss
					       against log lr (before the minimum) */
	double suggested;
	double runs_lr[3];                  /* too low, suggested, too high */
	struct sanity_curve runs[3];
	struct sanity_fit runs_fit[3];
};

/** Run the range test. base: the probe to sweep (lr fields ignored). 0, or -1. */
int sanity_lr_range(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		    double lr_min, double lr_max, long steps, size_t batch, uint64_t seed,
		    struct sanity_lr_range *out);

/** Fixed-rate sweep: one probe of `base` per learning rate in lrs (one job), each
 * trained `epochs` epochs; final training loss (predict, on the train rows) per
 * rate into loss_out. Returns the index of the lowest loss, or -1 with an error. */
int sanity_lr_sweep(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		    const double *lrs, size_t n_lrs, int epochs, size_t batch, uint64_t seed, double *loss_out);

/* ---- 5. optimizers and schedules ---- */

#define SANITY_N_OPTIM 5
#define SANITY_N_SCHED 4
struct sanity_optim_run {
	enum probe_optim optim;
	enum probe_sched sched;
	float lr;                           /* the base rate used (per optimizer, see sanity.c) */
	long steps_to_target;               /* first record with training loss <= target; -1 = never */
	struct sanity_fit fit;
	struct sanity_curve curve;
};
struct sanity_optimizers {
	double target_loss;                 /* given, or 1.25 x the best final training loss */
	struct sanity_optim_run runs[SANITY_N_OPTIM * SANITY_N_SCHED];  /* optimizer-major */
	int best;                           /* lowest validation loss */
};

/** The spec of combination (o, c) as sanity_optimizers trains it in a job of
 * T steps: `base` with the optimizer's base rate (SGD 0.1, momentum 0.03,
 * RMSprop 0.003, AdaGrad 0.1, Adam 0.003), momentum/rho 0.9, step decay halving
 * every quarter, exponential decay to 1/100, cosine to 0. out may be base. */
void sanity_optim_spec(const struct probe_spec *base, enum probe_optim o, enum probe_sched c, long T,
		       struct probe_spec *out);

/** The 20 combinations as one job on `base`'s architecture. target_loss <= 0:
 * chosen as above. 0, or -1 with an error recorded. */
int sanity_optimizers(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
		      const uint8_t *val_mask, int epochs, size_t batch, double target_loss, uint64_t seed,
		      struct sanity_optimizers *out);

/* ---- 6. regularisation ---- */

#define SANITY_N_REG 5
struct sanity_reg_run {
	const char *name;                   /* "none", "l1", "l2", "dropout", "early_stopping" */
	struct sanity_fit fit;
	double gap;                         /* validation loss - training loss */
	long steps;                         /* trained (early stopping may stop sooner) */
};
struct sanity_regularisation {
	struct sanity_reg_run runs[SANITY_N_REG];
	int best;                           /* lowest validation loss */
};

/** None, L1 1e-3, L2 1e-2, dropout 0.3, early stopping (patience 3) on `base`. */
int sanity_regularisation(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *base,
			  const uint8_t *val_mask, int epochs, size_t batch, uint64_t seed,
			  struct sanity_regularisation *out);

/* ---- 7. gradual complexity increase ---- */

#define SANITY_N_ARCH 7
#define SANITY_N_SIZES 5
struct sanity_capacity {
	struct {
		int n_hidden, hidden[PROBE_MAX_HIDDEN];
		struct sanity_fit fit;
		struct sanity_curve curve;
		struct sanity_health health;
	} arch[SANITY_N_ARCH];              /* softmax, 8, 32, 128, 32x32, 128x128, 128x128x128 */
	int best_arch;                      /* lowest validation loss */
	int overfit_from;                   /* first architecture past best_arch whose validation
					       loss is higher while its training loss is lower;
					       -1 = none */
	double size_share[SANITY_N_SIZES];  /* of the train rows: 1/16, 1/8, 1/4, 1/2, 1 */
	size_t size_rows[SANITY_N_SIZES];
	struct sanity_fit size_fit[SANITY_N_SIZES];
	int still_rising;                   /* the last doubling gained > 1 point of val accuracy */
};

/** Run both sweeps (two jobs; the learning curve uses architecture 32 through
 * nested row_weight subsets). 0, or -1 with an error recorded. */
int sanity_capacity(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask,
		    int epochs, size_t batch, uint64_t seed, struct sanity_capacity *out);

/* ---- 9. hyper-parameter search (sanity_hpo.c) ---- */

/* Objective for the search: scores (higher is better) of n points in the unit
 * cube [0,1)^dims (row-major n x dims). 0, or -1 to abort. */
typedef int (*sanity_objective)(const double *u, size_t n, size_t dims, double *scores, void *ctx);

enum sanity_search { SANITY_GRID, SANITY_RANDOM, SANITY_BAYES };

struct sanity_search_result {
	size_t n;                           /* evaluations done (= budget) */
	double *u;                          /* n x dims points */
	double *score;                      /* n */
	double *best_so_far;                /* n */
	size_t best;                        /* index of the best point */
};
void sanity_search_result_free(struct sanity_search_result *r);

/** Search the unit cube with `budget` evaluations, `round` points per call of f
 * (a round is one batched probe job). Grid: k = floor(budget^(1/dims)) levels
 * per dimension (at least 2) at cell centres, the grid points in a seeded order
 * (cut at the budget when k^dims exceeds it), then random points for what is
 * left of the budget. Random: uniform. Bayes: a Gaussian
 * process (Matern 5/2, length scale by marginal likelihood over a small grid,
 * scores standardised) after max(dims + 1, 4) random points, each next point
 * maximising expected improvement over 2000 random candidates plus 500
 * perturbations of the best; within a round, chosen points enter the model at
 * their predicted mean ("kriging believer"). 0, or -1 (f failed, bad sizes). */
int sanity_search(enum sanity_search method, sanity_objective f, void *ctx, size_t dims, size_t budget,
		  size_t round, uint64_t seed, struct sanity_search_result *out);

/** sanity_search(SANITY_BAYES, ...) one point per round. */
int sanity_bayes_opt(sanity_objective f, void *ctx, size_t dims, size_t budget, uint64_t seed,
		     struct sanity_search_result *out);

/* The probe search space: u in [0,1)^4 maps to lr 1e-4..1e-1 (log), L2
 * 1e-6..1e-1 (log), width 8..256 (log, rounded), dropout 0..0.5. Score: minus
 * the validation loss after `epochs` epochs of Adam. */
struct sanity_hpo_trial {
	double lr, l2, dropout;
	int width;
	double val_loss, val_acc, score, best_so_far;
};
struct sanity_hpo {
	size_t budget;
	struct sanity_hpo_trial *trials[3]; /* grid, random, bayes; budget each */
	int best_method;                    /* highest best score */
};
void sanity_hpo_point(const double *u, struct sanity_hpo_trial *t);
int sanity_hpo(const struct probe_data *d, const struct probe_backend *b, const uint8_t *val_mask, size_t budget,
	       size_t round, int epochs, size_t batch, uint64_t seed, struct sanity_hpo *out);
void sanity_hpo_free(struct sanity_hpo *h);

/* ---- paired comparisons (the findings' confirmation runs) ---- */

/* A check's "best" is picked among many runs on the same validation rows, so
 * its margin is optimistic, and one training run of a few epochs on a couple
 * of thousand rows varies a lot with its seed. Before a check advises a
 * change, the pair (the check's best, the usual default) is trained again
 * with `seeds` new seeds each and a new validation draw: per validation row
 * the cross-entropy is averaged over a side's seeds, and the two sides are
 * compared row by row; `wins` counts the seeds whose spec-0 run has the lower
 * mean validation loss than the spec-1 run of the same seed. */
#define SANITY_PAIR_MAX_SEEDS 8
struct sanity_pair {
	struct sanity_fit fit[2];           /* mean over the seeds of each side */
	int seeds, wins;
	size_t n;                           /* validation rows compared */
	double diff, ci_low, ci_high;       /* mean over validation rows of (loss of spec 0 - loss of
					       spec 1), 95% normal interval */
};

/** Mean of a[i] - b[i] over n pairs and its 95% normal interval (NaN
 * interval for n < 2). Pure. */
void sanity_paired_diff(const double *a, const double *b, size_t n, double *mean, double *lo, double *hi);

/** Train specs s[0] and s[1] (val_mask replaced by val, seed offset by 0..seeds-1)
 * as one job of 2 x seeds probes for `epochs` epochs and compare them as above.
 * seeds 1..SANITY_PAIR_MAX_SEEDS. 0, or -1 with an error recorded. */
int sanity_pair(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *s,
		const uint8_t *val, int seeds, int epochs, size_t batch, uint64_t seed, struct sanity_pair *out);

/* ---- 9b. the best trial on the full train rows ---- */

/* The seed: "figure out the best performing trial on the validation set,
 * continue training further on the entire training dataset until the
 * training loss no longer improves". The probes cannot stop on their training
 * loss, so each spec trains up to `max_epochs` epochs with one record per
 * epoch (its training loss is the mean over the epoch's steps: a smoothed
 * loss) and the stop is read off the records by sanity_plateau: the first
 * epoch after which `patience` epochs in a row did not lower the best epoch
 * loss by SANITY_PLATEAU_REL (0.1%) relative. A spec that stopped before the
 * cap is then trained again for exactly that many epochs (the same seeds and
 * row order reproduce the same trajectory with a constant learning rate), so
 * its parameters, and the validation rows' losses, are those at the stop. */
#define SANITY_PLATEAU_REL 1e-3

/** Index of the record at which the plateau rule above stops (the last epoch
 * trained), or -1 when it never does within n. Non-finite losses stop at once
 * (a diverged run does not improve). Pure. */
long sanity_plateau(const float *loss, size_t n, double rel, int patience);

struct sanity_final_run {
	int epochs;                         /* trained, up to the stop */
	long steps;
	int stopped;                        /* 1: by the plateau rule; 0: ran into max_epochs */
	double train_loss;                  /* the stop epoch's mean training loss (as trained, with
					       dropout when the spec has it) */
	struct sanity_fit fit;              /* after the stop, from predict (no dropout) */
	double *val_row_loss;               /* cross-entropy per validation row (n_val), for paired
					       comparisons; caller frees with sanity_final_free */
	size_t n_val;
	struct sanity_curve curve;          /* per epoch, up to the cap */
};

/** Train each of the n specs (their val_mask, patience and schedule are
 * replaced: val_mask = val, no early stopping on validation, constant rate) on
 * d's labelled rows outside `val` until the plateau rule stops it or
 * `max_epochs` pass; out[i] gets spec i's run. 0, or -1 with an error recorded. */
int sanity_final(const struct probe_data *d, const struct probe_backend *b, const struct probe_spec *specs,
		 size_t n, const uint8_t *val, int max_epochs, int patience, size_t batch, uint64_t seed,
		 struct sanity_final_run *out);
void sanity_final_free(struct sanity_final_run *r, size_t n);

/* ---- 10. distillation ---- */

/* A student (one hidden layer of `width` ReLU units; 0 = softmax regression)
 * trained with PROBE_TARGET_SOFT on d->teacher at `temperature`, alpha 0.7, on
 * the rows that are not test rows. Fidelity: share of test rows where the
 * student's argmax equals the teacher's. Accuracies against y on test rows.
 * Student beats teacher: its test accuracy is higher by more than 1 point and
 * the paired 95% interval of the difference lies above 0 (a point on a few
 * hundred rows is noise: on spam 0.933 against 0.920 on 389 rows was). */
struct sanity_distill {
	double fidelity;
	double student_acc, teacher_acc;
	double student_loss, teacher_loss;  /* test cross-entropy */
	size_t n;                           /* test rows */
	double diff_low, diff_high;         /* 95% interval of student_acc - teacher_acc, paired by row */
	int student_beats_teacher;          /* higher by more than 1 point, and diff_low > 0 */
	const char *reasons;                /* static: the seed's likely reasons when it does */
};
int sanity_distill(const struct probe_data *d, const struct probe_backend *b, const uint8_t *test_mask, int width,
		   double temperature, int epochs, size_t batch, uint64_t seed, struct sanity_distill *out);

#endif
