/* timewin.h - the audited model's performance over time.
 *
 * When the configuration names a time column: the evaluated rows of every
 * split after train (test and the current splits), ordered by time, cut into
 * TIMEWIN_WINDOWS windows of about equal row counts (rows sharing a time stay
 * in one window; at least TIMEWIN_MIN_ROWS rows each). Each window gets the
 * chosen metric and accuracy with 95% intervals (metrics.c). A window is below
 * when it trails the test split's value (from evaluate/metrics.json) by more
 * than TIMEWIN_MIN_GAP with p < TIMEWIN_P (difference of two estimates). The
 * degradation starts at the change point: the cut between windows with the
 * largest z of (mean of the windows before - mean of those after), provided
 * that change has p < TIMEWIN_P and the windows after trail the test level by
 * more than TIMEWIN_MIN_GAP with p < TIMEWIN_P. A `time_degradation` finding,
 * severity by the mean gap from there on (>= 0.10 high, >= 0.05 medium, else
 * low); low whatever the gap when the fall starts exactly where a split with
 * a performance_drop begins (it then restates that drop).
 *
 * A time column is numeric, or text ordered as text (ISO dates sort right). */
#ifndef MLA_TIMEWIN_H
#define MLA_TIMEWIN_H

#include <jansson.h>

#include "rcdata.h"
#include "../../pipeline/util.h"

#define TIMEWIN_WINDOWS 10
#define TIMEWIN_MIN_ROWS 30
#define TIMEWIN_MIN_GAP 0.02
#define TIMEWIN_P 0.01

/** Compute the windows. `metrics` is evaluate's metrics.json (NULL: the test
 * split's level is computed here). Appends the finding, time.csv's header and
 * rows to csv, and analysis "time". Returns 1 when a time table was written,
 * 0 when there is none (no time column, data mode), -1 on an internal error. */
int timewin_run(struct rc_data *d, const json_t *metrics, json_t *findings, struct strbuf *csv, json_t *analysis);

#endif
