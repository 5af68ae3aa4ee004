/* labelshift.h - the label distribution of each later split against train.
 *
 * Chi-square test of homogeneity over the classes (no continuity
 * correction), Benjamini-Hochberg across the label tests of the run, and the
 * shift of the positive class's rate (binary) or of the class that moved most
 * (multiclass) with Newcombe's 95% interval. A `label_shift` finding when q <
 * LABELSHIFT_Q and the shift is at least LABELSHIFT_MIN (5 points); severity
 * high from 15 points, else medium. */
#ifndef MLA_LABELSHIFT_H
#define MLA_LABELSHIFT_H

#include <jansson.h>

#include "rcdata.h"

#define LABELSHIFT_Q 0.05
#define LABELSHIFT_MIN 0.05

/** Append label_shift findings and analysis "label_shift" (per split: class
 * counts, shares, chi-square, p, q, shift with interval). Returns 0. */
int labelshift_run(const struct rc_data *d, json_t *findings, json_t *analysis);

#endif
