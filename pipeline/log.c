/* log.c - progress bars on a terminal, timestamped lines elsewhere. */
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_quiet, log_verbose, log_tty;
static FILE *log_file;      /* --log: the same lines, always timestamped */
static char log_prefix[80]; /* "[model] " in a fleet, else empty */

void log_set_prefix(const char *prefix)
{
	/* several models may share the terminal: bars would overwrite each other */
	if (prefix)
		log_tty = 0;
	snprintf(log_prefix, sizeof log_prefix, "%s%s%s", prefix ? "[" : "", prefix ? prefix : "", prefix ? "] " : "");
}
static char stage_name[32];
static int stage_index, stage_total;
static int last_percent = -1;

void log_init(int quiet, int verbose)
{
	log_quiet = quiet;
	log_verbose = verbose;
	log_tty = isatty(STDERR_FILENO);
}

int log_is_tty(void) { return log_tty; }

int log_open_file(const char *path)
{
	log_close_file();
	log_file = fopen(path, "a");
	if (!log_file)
		return ERR_INPUT("--log %s: cannot open for appending: %s", path, strerror(errno));
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void log_close_file(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static void stamp_to(FILE *f)
{
	char buf[32];
	utc_iso8601(buf, sizeof buf, (long long)time(NULL));
	fprintf(f, "%s %s", buf, log_prefix);
}

static void stamp(void) { stamp_to(stderr); }

/* The --log file gets every line a cron reader would want, terminal or not. */
static void file_line(const char *prefix, const char *fmt, va_list ap)
{
	if (!log_file)
		return;
	stamp_to(log_file);
	fputs(prefix, log_file);
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
}

static void file_linef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void file_linef(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	file_line("", fmt, ap);
	va_end(ap);
}

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	if (log_tty && last_percent >= 0) {
		fputc('\n', stderr);  /* do not write over a progress bar */
		last_percent = -1;
	}
	if (!log_tty)
		stamp();
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	file_line("", fmt, ap);
	va_end(ap);
	if (log_quiet)
		return;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	if (log_quiet || !log_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	file_line("mlaudit: error: ", fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	vline("mlaudit: error: ", fmt, ap);
	va_end(ap);
}

static void draw_bar(double fraction)
{
	int percent = (int)(fraction * 100 + 0.5);
	if (percent == last_percent)
		return;
	last_percent = percent;
	char bar[31];
	int filled = percent * 30 / 100;
	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "\r[%d/%d] %-10s %s %3d%%", stage_index, stage_total, stage_name, bar, percent);
	fflush(stderr);
}

void log_stage_start(const char *name, int index, int total)
{
	snprintf(stage_name, sizeof stage_name, "%s", name);
	stage_index = index;
	stage_total = total;
	file_linef("stage %s: start", name);
	if (log_quiet)
		return;
	if (log_tty)
		draw_bar(0);
	else {
		stamp();
		fprintf(stderr, "stage %s: start\n", name);
	}
}

void log_stage_progress(double fraction)
{
	if (log_quiet || !log_tty)
		return;
	draw_bar(fraction < 0 ? 0 : fraction > 1 ? 1 : fraction);
}

void log_stage_end(const char *name, const char *status, double seconds)
{
	file_linef("stage %s: %s, %.2fs", name, status, seconds);
	if (log_quiet)
		return;
	if (log_tty) {
		if (strcmp(status, "failed"))
			draw_bar(1);
		fprintf(stderr, "  %s %.2fs\n", status, seconds);
		last_percent = -1;
	} else {
		stamp();
		fprintf(stderr, "stage %s: %s, %.2fs\n", name, status, seconds);
	}
}
