/* labelshift.h - the label distribution of each later split against train.
 *
 * Chi-square test of homogeneity over the classes (no continuity
 * correction), Benjamini-Hochberg across the label tests of the run, and the
 * shift of the positive class's rate (binary) or of the class that moved most
 * (multiclass) with Newcombe's 95% interval. A `label_shift` finding when q <
 * LABELSHIFT_Q and the shift is at least LABELSHIFT_MIN (5 points); severity
 * high from 15 points, else medium. Label shift means P(x | label) stayed as
 * in train, so for a shift worth a finding each numeric feature is compared
 * within every class (KS, BH across features and classes); when some feature
 * moved within a class (q < LABELSHIFT_WITHIN_Q and D >= LABELSHIFT_WITHIN_D)
 * the finding is medium at most and says so: covariate or concept drift may
 * have moved the labels. */
#ifndef MLA_LABELSHIFT_H
#define MLA_LABELSHIFT_H

#include <jansson.h>

#include "rcdata.h"

#define LABELSHIFT_Q 0.05
#define LABELSHIFT_MIN 0.05
#define LABELSHIFT_WITHIN_ROWS 50000   /* rows a split contributes to the within-class tests, at most */
#define LABELSHIFT_WITHIN_MIN 30       /* rows of a class in both samples for its test */
#define LABELSHIFT_WITHIN_Q 0.001
#define LABELSHIFT_WITHIN_D 0.10

/** Append label_shift findings and analysis "label_shift" (per split: class
 * counts, shares, chi-square, p, q, shift with interval). Returns 0. */
int labelshift_run(const struct rc_data *d, json_t *findings, json_t *analysis);

#endif
