/* history.h - OUT/index.html, the history of a model's runs.
 *
 * Built only from the runs' report/summary.json files, so a run folder deleted
 * by hand simply drops out: newest first, each run's date (from its run id),
 * verdict, the chosen metric on test and current with intervals, findings by
 * severity and a link to its report; a trend plot of the chosen metric over
 * the runs (one gnuplot process, data only through data files, embedded as a
 * data:image/png so the page needs no other file); and the findings new,
 * worsened and resolved since the previous run (diff.h's rules). */
#ifndef MLA_HISTORY_H
#define MLA_HISTORY_H

/** Rewrite OUT/index.html (atomically: temporary name, then rename) from the
 * run folders in out_dir. Folders whose name starts with '.', symbolic links
 * (OUT/latest) and folders without a readable report/summary.json are left
 * out; a summary.json that does not parse is left out with a note on the page.
 * A missing or failing gnuplot is a note on the page, not an error. The caller
 * holds the output folder's lock (it reads run folders retention may remove).
 * Returns 0, or -1 with an error recorded: a missing template (internal) or a
 * failed write. */
int history_write(const char *out_dir);

#endif
