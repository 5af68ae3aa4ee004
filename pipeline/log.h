/* log.h - progress and messages on stderr.
 *
 * On a terminal each stage gets a progress bar; otherwise (cron, CI) each stage
 * start and end is one timestamped line. --quiet leaves only errors. */
#ifndef MLA_LOG_H
#define MLA_LOG_H

void log_init(int quiet, int verbose);
/** A timestamped informational line (suppressed by --quiet). */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Only with --verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Always printed: "mlaudit: error: ...". */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_stage_start(const char *name, int index, int total);
void log_stage_progress(double fraction);
/** status: "ran", "reused", "failed". */
void log_stage_end(const char *name, const char *status, double seconds);

#endif
