/* log.c - progress bars on a terminal, timestamped lines elsewhere. */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_quiet, log_verbose, log_tty;
static char stage_name[32];
static int stage_index, stage_total;
static int last_percent = -1;

void log_init(int quiet, int verbose)
{
	log_quiet = quiet;
	log_verbose = verbose;
	log_tty = isatty(STDERR_FILENO);
}

static void stamp(void)
{
	char buf[32];
	utc_iso8601(buf, sizeof buf, (long long)time(NULL));
	fprintf(stderr, "%s ", buf);
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
	if (log_quiet)
		return;
	va_list ap;
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
