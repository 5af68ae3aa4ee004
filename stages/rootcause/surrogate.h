/* surrogate.h - a distilled copy of the audited model, and what it says about
 * the features the model relies on.
 *
 * Surrogate: an MLP probe (one hidden layer of SURROGATE_WIDTH ReLU units,
 * rcprobe_spec) trained on a seeded sample of at most RCPROBE_MAX_ROWS
 * evaluated train rows to match the audited model's class probabilities
 * (PROBE_TARGET_SOFT, alpha 1, T 1: pure distillation; a one-hot teacher
 * where the model gives only predictions). SURROGATE_VAL_SHARE of the sample
 * is held out for early stopping and train's fidelity. In data mode the best
 * reference probe stands in for the model (rcdata_load), and is distilled the
 * same way.
 *
 * Fidelity: the share of rows where the surrogate's most probable class is the
 * model's prediction, with a 95% Wilson interval, on train's held-out rows and
 * on a seeded sample of each later split. Below SURROGATE_MIN_FIDELITY on test
 * the importances are still reported, with a note, but give no finding.
 *
 * Permutation importance, per source column (a feature or segment; its
 * encoded columns permuted together, rows shuffled within the sample): the
 * surrogate's accuracy against the true labels minus its accuracy after the
 * permutation, on a seeded sample of at most IMPORTANCE_ROWS labelled rows of
 * each split, IMPORTANCE_REPEATS seeded permutations. Per row i,
 * d_i = correct_i - (permuted correct count_i) / repeats; the importance is
 * the mean of d_i and its 95% interval mean +- 1.96 sd(d) / sqrt(n) (rows are
 * the unit: the interval covers the choice of rows, the repeats average out
 * the permutation). Rank 1 is the largest importance of the split.
 *
 * importance_shift (step 3, subject: the later split and the feature): on a
 * split after test, importance differs from train's by >= IMPORTANCE_MIN_SHIFT,
 * the two intervals do not overlap, the z test of the difference (independent
 * samples) has BH q < IMPORTANCE_Q across features x later splits, the feature
 * ranks in the top IMPORTANCE_TOP of train or of the split, and where test was
 * measured, the split differs from test in the same direction by at least
 * half the margin (an audited model that overfits train inflates every train
 * importance: test shows that, current does not need to be blamed for it).
 * Needs fidelity >= SURROGATE_MIN_FIDELITY on test and on the split.
 * Severity by |difference|: >= IMPORTANCE_HIGH high, >= IMPORTANCE_MEDIUM
 * medium, else low. */
#ifndef MLA_SURROGATE_H
#define MLA_SURROGATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rcdata.h"
#include "rcprobe.h"
#include "../../pipeline/util.h"

#define SURROGATE_WIDTH 64
#define SURROGATE_VAL_SHARE 0.2
#define SURROGATE_ROW_VISITS 160000.0   /* ~10 epochs over a full sample */
#define SURROGATE_MIN_FIDELITY 0.8
#define SURROGATE_MIN_ROWS 100           /* fewer evaluated train rows: no surrogate */

#define IMPORTANCE_ROWS 8000
#define IMPORTANCE_REPEATS 3
#define IMPORTANCE_MIN_ROWS 100          /* fewer labelled rows: the split is not measured */
#define IMPORTANCE_TOP 5
#define IMPORTANCE_MIN_SHIFT 0.03
#define IMPORTANCE_Q 0.05
#define IMPORTANCE_MEDIUM 0.05
#define IMPORTANCE_HIGH 0.10

#define IMPORTANCE_CSV_HEADER "feature,split,importance,ci_low,ci_high,rank\n"

/* A trained surrogate and the train sample it was trained on (points.c reads
 * both: the sample is where single points find their neighbours). */
struct surrogate {
	int trained;                     /* 1 when net is usable */
	struct probe_result *res;        /* owned */
	const struct probe_trained *net; /* res->probes[0] */
	size_t n;                        /* rows in the train sample */
	size_t *rows;                    /* its frame rows in train, ascending; owned */
	size_t nsrc;                     /* source columns of the encoding */
	const char **src;                /* their names (owned by the encoding); array owned */
	size_t *src_of;                  /* encoded column -> source index, p->d entries; owned */
	double fidelity_test;            /* NAN when test had no rows with model outputs */
};

/** Train the surrogate, measure fidelity and permutation importance, append
 * importance_shift findings, set analysis "importance" (or
 * "importance_skipped") and fill importance_csv (header always, rows when
 * measured). `s` receives the surrogate (free with surrogate_free, also after
 * a failure). Returns 0, or -1 with an error recorded (a probe backend
 * failure). */
int surrogate_run(const struct rc_data *d, const struct rc_probes *p, json_t *findings, json_t *analysis,
		  struct strbuf *importance_csv, struct surrogate *s);

void surrogate_free(struct surrogate *s);

/** Forward pass of probe t on one encoded row x (t->dims[0] values): the
 * log-odds of class `cls`, log(p / (1 - p)), and into grad (dims[0] doubles,
 * may be NULL) its gradient with respect to x (backward through the layers,
 * ReLU's derivative 0 at 0). Computed in double from the float parameters. */
double surrogate_logodds_grad(const struct probe_trained *t, const float *x, int cls, double *grad);

/** Class probabilities of probe t for n rows of x (n x dims[0]): out gets
 * n x outputs. The CPU forward pass the importances use. */
void surrogate_predict(const struct probe_trained *t, const float *x, size_t n, float *out);

#endif
