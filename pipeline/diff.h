/* diff.h - two runs compared through their report/summary.json files (the only
 * file `mlaudit diff` and the history page read): findings new, resolved,
 * worsened and improved, matched by their stable ids, and metric changes with
 * their intervals.
 *
 * A finding present in both runs worsened when its severity went up, or, at
 * the same severity, when its effect size moved beyond the intervals: each
 * run's estimate lies outside the other run's 95% interval (where only one run
 * has an interval, outside that one). The effect is the finding's
 * evidence.gap (an estimate, or a number whose interval comes from the
 * evidence's segment and rest estimates), else the first of evidence.shift,
 * effect, ece, error_rate, psi, auc; its size is the absolute value, so a
 * negative gap (train below test) grows as it moves away from zero. Improved
 * is the mirror image. A metric changed beyond its intervals by the same rule.
 *
 * Something worsened, and `mlaudit diff` exits 1, when B has a finding at low
 * or above that A lacks, a finding worsened and now stands at low or above, or
 * the chosen metric got worse beyond the intervals on a split both runs have.
 * Info findings are notes (the verdict ignores them too), so they alone never
 * make a diff fail. */
#ifndef MLA_DIFF_H
#define MLA_DIFF_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

enum diff_change { DIFF_NEW, DIFF_WORSENED, DIFF_RESOLVED, DIFF_IMPROVED, DIFF_UNCHANGED };

struct diff_finding {
	enum diff_change change;
	const json_t *a, *b;   /* the finding in run A and in run B, NULL where absent (borrowed) */
	char *why;             /* worsened/improved: what moved, plain text ("severity medium -> high");
				* NULL otherwise */
};

struct diff_metric {
	const char *split, *metric;  /* borrowed from the summaries */
	const json_t *a, *b;         /* the two estimates (borrowed), either may lack a value */
	int change;                  /* +1 better beyond the intervals, -1 worse beyond them, 0 neither */
};

struct run_diff {
	const json_t *a, *b;             /* the summaries compared (borrowed) */
	const char *metric;              /* the chosen metric (B's task.metric) */
	struct diff_finding *findings;   /* new, worsened, resolved, improved, unchanged; within each,
					  * severity descending, then id */
	size_t nfindings;
	size_t count[DIFF_UNCHANGED + 1];  /* findings per change */
	struct diff_metric *metrics;     /* per split both runs have (B's order): the chosen metric,
					  * accuracy, roc_auc (each once) */
	size_t nmetrics;
	int worsened;                    /* 1 when something worsened by the rule above */
	char *worsened_why;              /* plain text saying what, NULL when nothing worsened */
};

/** Read a run's summary: PATH is a run folder (PATH/report/summary.json), its
 * report folder, or a summary.json file. Returns the parsed object (caller
 * json_decref's), or NULL with an input error naming the path recorded. */
json_t *diff_load_summary(const char *path);

/** Compare run A (older) with run B (newer) into *d. *d borrows from a and b:
 * keep both alive until diff_free(d). */
void diff_runs(const json_t *a, const json_t *b, struct run_diff *d);
void diff_free(struct run_diff *d);

/** The split a summary compares against test: "current" when present, else the
 * last split other than train and test (a current window), NULL when none.
 * Borrowed from the summary. */
const char *diff_current_split(const json_t *summary);

/** Append an estimate as "0.819 [0.789, 0.845]", "0.819" without interval, or
 * "n/a" when absent or undefined. */
void diff_fmt_est(struct strbuf *out, const json_t *est);

/** Is a lower value of this metric better (log_loss, brier, ece)? */
int diff_lower_is_better(const char *metric);

/** The `mlaudit diff` command. argv holds the arguments after "diff":
 * RUN_A RUN_B [--format text|md|json] (also --format=FMT). Writes the report
 * to stdout. Returns the exit status: 0 nothing worsened, 1 something
 * worsened, 2 bad arguments or an unreadable summary (the message, naming the
 * path, is recorded for main to print). */
int diff_main(int argc, char **argv);

#endif
