/* rcprobe.h - the probes the root-cause analyses train themselves (a domain
 * classifier, a surrogate of the audited model, learning curves): every
 * split's rows encoded once with the probes stage's encoding (train's
 * features and segments, see probe_inputs.h), a backend, and one way to
 * train a job and read its probabilities.
 *
 * The analyses work on seeded row samples (rcprobe_sample) so their cost is
 * bounded whatever the split sizes: RCPROBE_MAX_ROWS per split and role. */
#ifndef MLA_RCPROBE_H
#define MLA_RCPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "rcdata.h"
#include "../probes/features.h"
#include "../probes/probe.h"

/* Rows a root-cause probe trains or is judged on per split; beyond, a seeded
 * sample (the report says so). */
#define RCPROBE_MAX_ROWS 20000

struct rc_probes {
	const struct probe_backend *be;
	char why[192];               /* the backend and why it was chosen */
	struct feat_encoding *enc;   /* fitted on train */
	size_t d;                    /* encoded width */
	size_t nsplits;
	float **x;                   /* per split: nrows x d, row i = frame row i */
};

/** Encode every split of d and choose the backend cfg->backend names. 0, or -1
 * with an error recorded (p is then empty; rcprobe_close is still safe).
 * Without any feature or segment column p->d stays 0: the analyses that
 * train probes then skip, saying why. */
int rcprobe_open(const struct rc_data *d, struct rc_probes *p);
void rcprobe_close(struct rc_probes *p);

/** A seeded sample of at most `max` rows of split s, ascending, into rows
 * (room for `max`); only rows with a label when need_label, only rows the
 * audited model was evaluated on (err >= 0) when need_eval. Returns the count. */
size_t rcprobe_sample(const struct rc_data *d, size_t s, size_t max, int need_label, int need_eval,
		      uint64_t seed, size_t *rows);

/** The encoded rows `rows` (n of them) of split s as a new n x d matrix. */
float *rcprobe_gather(const struct rc_probes *p, size_t s, const size_t *rows, size_t n);

/** A spec for the analyses' probes: an MLP with one hidden layer of `width`
 * ReLU units (0 = softmax regression), He/Xavier init, Adam at 1e-3 (1e-2 for
 * softmax, cosine decay), L2 1e-4, early stopping on val_mask when given. */
void rcprobe_spec(struct probe_spec *s, int width, uint64_t seed);

/** Train the probes `specs` on `data` for about `row_visits` row visits each
 * (epochs clamped to [3, 40]; batches as the probes stage chooses them).
 * A new result (probe_result_free), or NULL with an error recorded. */
struct probe_result *rcprobe_train(const struct rc_probes *p, const struct probe_data *data,
				   const struct probe_spec *specs, size_t nspecs, double row_visits, uint64_t seed);

/** Probabilities of probe q of r for n rows of x (n x d): out gets n x k. 0 or -1. */
int rcprobe_predict(const struct rc_probes *p, const struct probe_result *r, size_t q, const float *x, size_t n,
		    int k, float *out);

#endif
