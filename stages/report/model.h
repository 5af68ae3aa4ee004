/* model.h - what the report stage knows about a run, shared by its writers
 * (internal to stages/report/).
 *
 * The model is the parsed artifacts (jansson objects, as the earlier stages
 * wrote them) plus what the report derives once: the merged and sorted
 * findings, the verdict, counts, and the plots drawn. Writers only read it. */
#ifndef MLA_REPORT_MODEL_H
#define MLA_REPORT_MODEL_H

#include <jansson.h>
#include "../../pipeline/stage.h"

enum plot_id {
	PLOT_SPLITS, PLOT_SEGMENTS, PLOT_RELIABILITY, PLOT_CONFUSION, PLOT_CURVES,
	PLOT_LR, PLOT_OPTIM, PLOT_HPO,  /* the training checks (probes/sanity.json) */
	PLOT_SLICES, PLOT_TREE,         /* step 2: error slices and the error tree */
	PLOT_DRIFT, PLOT_IMPORTANCE, PLOT_UNDERREP,  /* step 3 */
	PLOT_COUNT
};

struct report_model {
	const struct stage_ctx *ctx;
	json_t *run;              /* run.json */
	json_t *schema;           /* ingest/schema.json */
	json_t *quality;          /* ingest/quality.json */
	json_t *metrics;          /* evaluate/metrics.json */
	json_t *findings;         /* every stage's findings, sorted by findings_sort */
	json_t *mitigations;      /* mitigate/mitigations.json's array; empty when absent */
	json_t *probes;           /* probes/probes.json, NULL when the run has no probes stage */
	json_t *sanity;           /* probes/sanity.json, NULL when absent */
	json_t *analysis;         /* rootcause/analysis.json, NULL when absent */
	json_t *drift;            /* rootcause/drift.csv as an array of objects (numbers parsed),
				   * NULL when absent */
	int has_probes, has_rootcause, has_mitigate;  /* does RUN/<stage>/ exist */
	const char *name;         /* model name for titles */
	const char *run_id;
	const char *metric;       /* the chosen metric's key in metrics.json */
	const char *mode;         /* "model" or "data" */
	const char *backend;      /* from run.json */
	const char *verdict;      /* "pass", "warn" or "fail" */
	enum severity fail_on;    /* the configuration's fail_on (high without a configuration) */
	int counts[4];            /* findings per severity, indexed by enum severity */
	char *plot_png[PLOT_COUNT]; /* file name under OUT/plots/, NULL when not drawn */
	char *plot_note;          /* why some plots are missing (plain text), NULL when none are */
};

/* ---- model accessors (report.c) ---- */

/** Number of splits in metrics.json's split order, and the i-th name. */
size_t model_nsplits(const struct report_model *m);
const char *model_split_name(const struct report_model *m, size_t i);
/** metrics.json's object for a split, NULL when absent. Borrowed. */
json_t *model_split(const struct report_model *m, const char *split);
/** The estimate of `metric` on `split`, NULL when absent. Borrowed. */
json_t *model_estimate(const struct report_model *m, const char *split, const char *metric);
/** The split compared against test: "current" when present, else the last
 * split after train and test (a current window), NULL when there is none. */
const char *model_current_split(const struct report_model *m);
/** The object or array analysis.json holds under `key`, NULL when absent
 * (borrowed). Then *why (when not NULL) gets a plain sentence saying why:
 * the analysis's own "<key>_skipped" reason, or that it did not run. When the
 * key is present but "<key>_skipped" is too (some splits left out), *why gets
 * that reason; otherwise NULL. */
const json_t *model_analysis(const struct report_model *m, const char *key, const char **why);
/** The error rate of a split's evaluated rows from analysis.json's "splits"
 * (errors / evaluated), NAN when unknown. */
double model_error_rate(const struct report_model *m, const char *split);
/** The kind of the finding with this id, NULL when there is none. */
const char *model_finding_kind(const struct report_model *m, const char *id);

/* The finding kinds of summary.schema.json, in its order. */
struct model_kind {
	const char *kind;
	int section;              /* report section: 1, 2, 3, or 0 for the probes appendix */
	const char *stage;        /* the stage folder whose analysis checks this kind; NULL: none yet */
	const char *analysis;     /* its key in rootcause/analysis.json: checked only when present; NULL: none */
};
extern const struct model_kind model_kinds[];
extern const size_t model_nkinds;

/** The section a finding belongs to: 1, 2, 3, or 0 for the probes appendix.
 * Known kinds go where DESIGN.md lists them (so ingest's data_quality and
 * pipeline_change land in step 2); unknown kinds follow their "step" field. */
int model_finding_section(const json_t *finding);

/* ---- text pieces shared by the writers (format.c) ----
 * `md` selects markdown (data escaped with escape_md, emphasis with **) or
 * plain text (for the workbook, which escapes at write time). */

/** "0.801 ±0.014", "0.801" without interval, "n/a (reason)" when undefined. */
void fmt_est(struct strbuf *out, const json_t *est, int md);
/** A metric's display name ("F1", "ROC-AUC"); an unknown key as (escaped) text. */
void fmt_metric(struct strbuf *out, const char *key, int md);
/** An integer with thousands separators: 31,117. */
void fmt_count(struct strbuf *out, long long n);
/** A p or q value: 3 significant digits, "<1e-300" style for tiny ones. */
void fmt_p(struct strbuf *out, double p);
/** Data text: escaped for markdown, or as is. */
void fmt_text(struct strbuf *out, const char *s, int md);
/** The key numbers of an evidence object, "gap 0.045 · n 1,000 · test 0.801 [0.787, 0.815]",
 * at most `max_items` of them. */
void fmt_evidence(struct strbuf *out, const json_t *evidence, int md, size_t max_items);
/** "NAME · run RUN_ID · FAIL". */
void fmt_title(const struct report_model *m, struct strbuf *out, int md);
/** "3 high, 2 medium findings" or "No findings". */
void fmt_counts(const struct report_model *m, struct strbuf *out);
/** The headline paragraph: counts, chosen metric on test and current with intervals, top finding. */
void fmt_headline(const struct report_model *m, struct strbuf *out, int md);
/** Up to `max` "do first" items (mitigations tied to the top findings, else
 * the top findings themselves); each a new string in items[]. Returns the count;
 * caller frees each item. */
size_t fmt_do_first(const struct report_model *m, char **items, size_t max, int md);
/** The overview metric table in GFM markdown: chosen metric, accuracy,
 * ROC-AUC and rows, one column per split. */
void fmt_overview_table(const struct report_model *m, struct strbuf *out);

/** A mitigation's measured effect: "accuracy on current 0.669 ±0.034 → 0.790
 * ±0.030 (+0.121 ±0.040)"; nothing when `eff` is not an object. */
void fmt_effect(struct strbuf *out, const json_t *eff, int md);

/* ---- markdown pieces (markdown.c), shared with sections.c ---- */

/** "| a | b |\n|---|---|\n" for a fixed header of our own words. */
void md_table_head(struct strbuf *sb, const char *const *cols, size_t n);
/** " text |", " 0.801 ±0.014 |", " 31,117 |": one table cell after a '|'. */
void md_cell_text(struct strbuf *sb, const char *s);
void md_cell_est(struct strbuf *sb, const json_t *est);
void md_cell_count(struct strbuf *sb, const json_t *n);
/** The plot embedded as a data: URL image, nothing when it was not drawn. */
void md_put_plot(const struct report_model *m, struct strbuf *sb, enum plot_id id, const char *alt);

/* ---- the root-cause sections of steps 2 and 3 (sections.c) ----
 * Each says in one line that its analysis did not run (with the analysis's
 * own reason when it gave one) when its key is absent from analysis.json. */

/** Step 2: the error slices (table and plot) and the error tree. */
void sections_slices(const struct report_model *m, struct strbuf *sb);
/** Step 3: per-feature drift, then multivariate drift with the covariate-shift
 * split of the drop and the concept-drift check. */
void sections_drift(const struct report_model *m, struct strbuf *sb);
/** Step 3: label noise and label shift, one paragraph each. */
void sections_labels(const struct report_model *m, struct strbuf *sb);
/** Step 3: under-represented slices and their learning curves. */
void sections_underrep(const struct report_model *m, struct strbuf *sb);
/** Step 3: the surrogate's feature importance per split and its shift. */
void sections_importance(const struct report_model *m, struct strbuf *sb);
/** The features of the importance analysis `imp`, largest importance over
 * its splits first (ties in file order), at most `max` of them into out[]
 * (borrowed). Returns how many. The table and the plot show the same ones. */
size_t sections_importance_order(const json_t *imp, const json_t **out, size_t max);
/** Step 3: the most confident errors one by one. */
void sections_points(const struct report_model *m, struct strbuf *sb);

/* ---- the training checks of probes/sanity.json (checks.c) ----
 * One line per check for the appendix and the workbook alike. The advice is
 * the check's own "advice" (the line a user acts on: it went through every
 * rule of the check, confirmation runs included); only runs from before the
 * checks wrote one get the report's old wording. Plain text: the writer
 * escapes it. */
struct check_line {
	const char *name;          /* our words: "Overfit a mini-batch" */
	struct strbuf verdict;     /* short: "passed", "advised 0.018", "flagged" */
	int alarm;                 /* the verdict is bad news (failed, flagged) */
	struct strbuf advice;      /* never empty */
	int own;                   /* advice is sanity.json's own */
	struct strbuf numbers;     /* measurements the advice does not state; may be empty */
};
/** Call put(line, arg) for each check present in `sanity`, in the seed's
 * order. The line and its buffers are valid only during the call. */
void checks_each(const json_t *sanity, void (*put)(const struct check_line *c, void *arg), void *arg);
/** sanity.json's hpo.final (the search's best and the default, each trained on
 * the full train rows until its training loss stops improving), NULL when the
 * run has none (older runs, levels without the search). Borrowed. */
const json_t *checks_final(const json_t *sanity);
/** "lr 0.0061, L2 1.9e-05, 36 units, dropout 0.13" of a final run. */
void checks_setting(struct strbuf *out, const json_t *run);
/** Why a final run stopped: "training loss stopped improving" or "the cap of 60 epochs". */
void checks_stop(struct strbuf *out, const json_t *final, const json_t *run);

/* ---- plot data of the root-cause analyses (plots_rc.c) ----
 * Each writes its tab-separated files into `dir` and sets *drawn when there
 * is something to draw (plots_rc_slices: to the number of bars, which sizes
 * the image); *has2: a second split is drawn beside the first. 0, or -1 for
 * a failed write. */
int plots_rc_slices(const struct report_model *m, const char *dir, int *drawn, int *has2);
int plots_rc_tree(const struct report_model *m, const char *dir, int *drawn, int *height, int *depth);
int plots_rc_drift(const struct report_model *m, const char *dir, int *drawn, int *has2);
int plots_rc_importance(const struct report_model *m, const char *dir, int *drawn, int *has2);
int plots_rc_underrep(const struct report_model *m, const char *dir, int *drawn, int *last);
/** The split whose error tree the report draws: the compared split when the
 * tree has it, else the first tree. NULL when there is no tree. */
const char *plots_tree_split(const struct report_model *m);
/* shared with plots.c: a number ("NaN" when not finite), an estimate's
 * value, low and high in three fields, and a file written atomically */
void plot_put_num(struct strbuf *sb, const json_t *v);
int plot_put_est(struct strbuf *sb, const json_t *est);
int plot_write_data(const char *dir, const char *name, const struct strbuf *sb);

/* ---- writers ---- */

/** Write summary.json (summary.schema.json) and summary.md. 0 or -1. */
int summary_write(const struct report_model *m);
/** Draw the plots into OUT/plots/ with one gnuplot process; sets m->plot_png
 * and m->plot_note. A missing or failing gnuplot is noted, not an error: -1
 * only for failed writes of our own files. */
int plots_draw(struct report_model *m);
/* Seconds gnuplot may run before it is killed (60; tests lower it). */
extern double plots_timeout_s;
/** Build the report's markdown from templates/report.md. 0 or -1. */
int markdown_build(const struct report_model *m, struct strbuf *out);
/** Render markdown to OUT/index.html through templates/page.html. 0 or -1. */
int html_write(const struct report_model *m, const char *markdown);
/** Write OUT/report.xlsx. 0 or -1. */
int xlsx_write(const struct report_model *m);
/** Write OUT/junit.xml: one test case per finding kind, failed where a
 * finding of that kind reaches fail_on, skipped where no analysis of the run
 * checks the kind. 0 or -1. */
int junit_write(const struct report_model *m);

#endif
