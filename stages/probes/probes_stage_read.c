/* probes_stage_read.c - reading the best probe's probabilities back from
 * RUN/probes/ (probes_standin in probes_stage.h): the data-mode stand-in for the
 * evaluate and rootcause stages, and the reference for below_reference. */
#include "probes_stage.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The decompressed file (our own output, so no size limit beyond memory). */
static char *gz_slurp(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		ERR_INTERNAL("%s: cannot open", path);
		return NULL;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[1 << 16];
	int n;
	while ((n = gzread(gz, buf, sizeof buf)) > 0)
		sb_putn(&sb, buf, (size_t)n);
	int err = 0;
	const char *msg = gzerror(gz, &err);
	if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
		ERR_INTERNAL("%s: %s", path, msg);
		gzclose(gz);
		sb_free(&sb);
		return NULL;
	}
	gzclose(gz);
	*len = sb.len;
	if (!sb.data)
		sb_putc(&sb, 0);
	return sb_detach(&sb);
}

/* One CSV record starting at *pos (RFC 4180 quoting, as probes_stage.c writes
 * it): up to `max` fields copied (unquoted) into f[], NUL-terminated in place is
 * impossible with quotes, so fields are new strings. Returns the field count,
 * -1 at the end of the text. */
static int next_record(const char *text, size_t len, size_t *pos, char **f, int max)
{
	size_t i = *pos;
	if (i >= len)
		return -1;
	int nf = 0;
	struct strbuf cur;
	sb_init(&cur);
	for (;;) {
		int quoted = i < len && text[i] == '"';
		sb_putc(&cur, 0);   /* an empty field is "" */
		cur.len = 0;
		if (quoted) {
			i++;
			while (i < len) {
				if (text[i] == '"') {
					if (i + 1 < len && text[i + 1] == '"') {
						sb_putc(&cur, '"');
						i += 2;
						continue;
					}
					i++;
					break;
				}
				sb_putc(&cur, text[i++]);
			}
		}
		while (i < len && text[i] != ',' && text[i] != '\n')
			sb_putc(&cur, text[i++]);
		if (nf < max)
			f[nf] = xstrdup(cur.data ? cur.data : "");
		nf++;
		if (i >= len || text[i] == '\n') {
			i++;
			break;
		}
		i++;   /* the comma */
	}
	sb_free(&cur);
	*pos = i;
	return nf;
}

int probes_standin(const char *run_dir, const char *split, size_t nrows, int k, double **proba, char **name)
{
	*proba = NULL;
	*name = NULL;
	char *jpath = xasprintf("%s/probes/probes.json", run_dir);
	if (!file_exists(jpath)) {
		free(jpath);
		return 0;
	}
	json_error_t e;
	json_t *pj = json_load_file(jpath, 0, &e);
	if (!pj) {
		ERR_INTERNAL("%s:%d:%d: %s", jpath, e.line, e.column, e.text);
		free(jpath);
		return -1;
	}
	free(jpath);
	const char *best = json_string_value(json_object_get(json_object_get(pj, "best"), "name"));
	json_t *files = json_object_get(pj, "files");
	int is_train = !strcmp(split, "train");
	const char *file = is_train ? json_string_value(json_object_get(files, "oof"))
				    : json_string_value(json_object_get(json_object_get(files, "pred"), split));
	if (!best || !file) {
		json_decref(pj);
		return 0;
	}
	char *path = xasprintf("%s/probes/%s", run_dir, file);
	size_t len = 0;
	char *text = gz_slurp(path, &len);
	int rc = text ? 1 : -1;
	int first_p = is_train ? 4 : 3, want = first_p + k;
	char **f = xcalloc((size_t)want, sizeof *f);
	double *p = NULL;
	if (rc == 1) {
		p = xmalloc((nrows ? nrows : 1) * (size_t)k * sizeof *p);
		for (size_t i = 0; i < nrows * (size_t)k; i++)
			p[i] = NAN;
		size_t pos = 0;
		int nf = next_record(text, len, &pos, f, want);
		if (nf < want)
			rc = ERR_INTERNAL("%s: header has %d columns, expected at least %d", path, nf < 0 ? 0 : nf, want);
		for (int j = 0; j < want && j < nf; j++) {
			free(f[j]);
			f[j] = NULL;
		}
		size_t line = 1;
		while (rc == 1 && (nf = next_record(text, len, &pos, f, want)) >= 0) {
			line++;
			char *end;
			unsigned long long row = nf >= want ? strtoull(f[1], &end, 10) : 0;
			if (nf < want || *end || row < 1 || row > nrows)
				rc = ERR_INTERNAL("%s:%zu: malformed row (expected %d fields and a row number in 1..%zu)",
						  path, line, want, nrows);
			for (int c = 0; rc == 1 && c < k; c++) {
				const char *v = f[first_p + c];
				p[(row - 1) * (size_t)k + (size_t)c] = *v ? strtod(v, NULL) : NAN;
			}
			for (int j = 0; j < want && j < nf; j++) {
				free(f[j]);
				f[j] = NULL;
			}
		}
	}
	free(f);
	free(text);
	free(path);
	if (rc == 1) {
		*proba = p;
		*name = xstrdup(best);
	} else
		free(p);
	json_decref(pj);
	return rc;
}

char *probes_best_name(const char *run_dir)
{
	char *jpath = xasprintf("%s/probes/probes.json", run_dir);
	json_t *pj = file_exists(jpath) ? json_load_file(jpath, 0, NULL) : NULL;
	free(jpath);
	const char *best = json_string_value(json_object_get(json_object_get(pj, "best"), "name"));
	char *out = best ? xstrdup(best) : NULL;
	json_decref(pj);
	return out;
}
