/* log.h - progress and messages on stderr.
 *
 * On a terminal each stage gets a progress bar; otherwise (cron, CI) each stage
 * start and end is one timestamped line. --quiet leaves only errors. */
#ifndef MLA_LOG_H
#define MLA_LOG_H

void log_init(int quiet, int verbose);
/** Also append every stage line and error, timestamped, to `path` (--log).
 * -1 with an input error when it cannot be opened. */
int log_open_file(const char *path);
void log_close_file(void);
/** Put "[prefix] " before every line (fleets: which model a line is about). */
void log_set_prefix(const char *prefix);
/** Is stderr a terminal? */
int log_is_tty(void);
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
