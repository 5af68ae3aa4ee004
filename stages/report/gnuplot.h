/* gnuplot.h - running the one gnuplot process of a report or of the history
 * page.
 *
 * The caller writes plots.gp and its tab-separated data files into one folder;
 * gnuplot runs there (so the script names only files beside it), with stdin
 * from /dev/null, output and errors to gnuplot.log in that folder, and is
 * killed when it runs past its time limit. */
#ifndef MLA_GNUPLOT_H
#define MLA_GNUPLOT_H

enum gp_result {
	GP_OK,       /* gnuplot ran the script and exited 0 */
	GP_MISSING,  /* no gnuplot program: $MLAUDIT_GNUPLOT, else gnuplot on PATH */
	GP_FAILED,   /* it could not start or exited with an error (see gnuplot.log) */
	GP_TIMEOUT   /* it ran past the limit and was killed */
};

/** Run `gnuplot -d plots.gp` in `dir`, waiting at most `timeout_s` seconds.
 * The program is $MLAUDIT_GNUPLOT when set, else `gnuplot` from PATH. Never
 * records an error: every outcome is a result the caller turns into a note. */
enum gp_result gnuplot_run(const char *dir, double timeout_s);

/** The axis name of a metric key ("roc_auc" -> "ROC-AUC"), from a fixed
 * table, "chosen metric" for a key it does not know: plot scripts take axis
 * names only from here, never the key itself, so nothing read from a file
 * reaches gnuplot's command text. Static storage. */
const char *gnuplot_axis_name(const char *metric);

#endif
