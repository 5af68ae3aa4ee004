/* bench_ingest.c - time ingest_read and quality_profile on one file.
 *
 *   bench_ingest FILE [TEXT_BYTES] [--json]
 *   bench_ingest --gen ROWS OUT.csv      (writes the benchmark table)
 *
 * Prints one line of key=value pairs: wall and CPU seconds of each step, MB/s
 * of uncompressed text (TEXT_BYTES, default the file size: pass the plain
 * size for a .gz) by wall time and per core (by CPU time, which other load on
 * the machine disturbs less), the process's peak RSS and the size of the
 * parsed columns (the frame's arrays and levels), whose ratio the memory
 * target is about. --json also prints the quality profile. Used by
 * bench_ingest.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "pipeline/util.h"
#include "stages/ingest/ingest.h"
#include "stages/ingest/quality.h"

static double frame_bytes(const struct frame *f)
{
	double b = 0;
	for (size_t j = 0; j < f->ncols; j++) {
		const struct frame_column *c = &f->cols[j];
		b += (double)f->nrows * (c->code ? sizeof *c->code : sizeof *c->num);
		for (size_t l = 0; l < c->nlevels; l++)
			b += (double)strlen(c->levels[l]) + 1 + sizeof(char *);
	}
	return b;
}

/* The benchmark table: ROWS rows of 32 numeric columns (decimals with 6
 * significant digits, every fourth column small integers, 1% empty cells) and
 * 2 categorical ones (20 and 300 levels), seeded so every run gets the same
 * bytes. Used until `mlaudit synth` can write this workload. */
static int generate(long rows, const char *out)
{
	FILE *fp = fopen(out, "w");
	if (!fp) {
		perror(out);
		return 2;
	}
	struct rng r;
	rng_seed(&r, 42);
	for (int j = 0; j < 32; j++)
		fprintf(fp, "f%d,", j);
	fputs("segment,city\n", fp);
	for (long i = 0; i < rows; i++) {
		for (int j = 0; j < 32; j++) {
			if (rng_below(&r, 100) == 0)
				fputc(',', fp);
			else if (j % 4 == 3)
				fprintf(fp, "%d,", (int)rng_below(&r, 1000));
			else
				fprintf(fp, "%.6g,", rng_normal(&r) * (j + 1));
		}
		fprintf(fp, "seg_%02d,city_%03d\n", (int)rng_below(&r, 20), (int)rng_below(&r, 300));
	}
	if (fclose(fp) != 0) {
		perror(out);
		return 2;
	}
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--gen") == 0)
		return generate(atol(argv[2]), argv[3]);
	if (argc < 2) {
		fprintf(stderr, "usage: bench_ingest FILE [TEXT_BYTES] [--json]\n"
				"       bench_ingest --gen ROWS OUT.csv\n");
		return 2;
	}
	const char *path = argv[1];
	int want_json = 0;
	double text_bytes = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			want_json = 1;
		else
			text_bytes = atof(argv[i]);
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return 2;
	}
	if (text_bytes <= 0)
		text_bytes = (double)st.st_size;

	double c0 = cpu_seconds(), t0 = now_seconds();
	struct frame *f = ingest_read(path, "bench", NULL);
	double c1 = cpu_seconds(), t1 = now_seconds();
	if (!f) {
		fprintf(stderr, "%s\n", mla_error_message());
		return 1;
	}
	json_t *q = quality_profile(f);
	double c2 = cpu_seconds(), t2 = now_seconds();

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double rss = (double)ru.ru_maxrss * 1024.0, cols = frame_bytes(f), mb = text_bytes / 1e6;
	printf("rows=%zu cols=%zu ingest_s=%.3f ingest_cpu_s=%.3f quality_s=%.3f quality_cpu_s=%.3f "
	       "ingest_MBps=%.1f ingest_MBps_core=%.1f total_MBps_core=%.1f "
	       "peak_rss_MB=%.1f columns_MB=%.1f rss_over_columns=%.2f\n",
	       f->nrows, f->ncols, t1 - t0, c1 - c0, t2 - t1, c2 - c1, mb / (t1 - t0), mb / (c1 - c0),
	       mb / (c2 - c0), rss / 1e6, cols / 1e6, rss / cols);
	if (want_json) {
		char *s = json_dumps(q, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
		puts(s);
		free(s);
	}
	json_decref(q);
	frame_free(f);
	return 0;
}
