/* probe_inputs.h - the columns probes learn from, as one encoded matrix per
 * split: train's features and segments (segments are inputs a model may use
 * too), matched by name in every later split. A later split that lacks a
 * column reads as all missing; one that holds it with another kind (text
 * where train had numbers, or the reverse) is converted to train's kind, so a
 * pipeline change shows up in the probes' inputs instead of stopping them. */
#ifndef MLA_PROBE_INPUTS_H
#define MLA_PROBE_INPUTS_H

#include "features.h"
#include "../ingest/frame.h"

/** 1 when column c is a probe input (a feature or a segment). */
int inputs_is_input(const struct frame_column *c);

/** Fit the encoding on train's probe inputs. NULL with an input error when
 * train has no rows or no input column. Caller frees with feat_free. */
struct feat_encoding *inputs_fit(const struct frame *train);

/** Encode split f (train itself, or a later split) with train's columns:
 * a new f->nrows x feat_width matrix the caller frees, or NULL with an error. */
float *inputs_encode(const struct feat_encoding *e, const struct frame *f, const struct frame *train);

#endif
