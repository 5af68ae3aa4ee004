/* fleet.h - the fleet page: one line per model of a `mlaudit run a.ini b.ini`
 * call, with its latest verdict and a link to its report. */
#ifndef MLA_FLEET_H
#define MLA_FLEET_H

#include <stddef.h>

struct fleet_entry {
	char *config;     /* the model's INI file */
	char *name;       /* model name (NULL when its config could not be read) */
	char *out;        /* its output folder (NULL likewise) */
	char *state;      /* "ran", "skipped" or "failed" */
	char *detail;     /* run id, or the error message */
	int status;       /* the model's exit status */
};

/** Write DIR/fleet.html (DIR NULL: the deepest folder holding every model's
 * output folder). 0, or -1 with an error recorded. */
int fleet_write(const char *dir, const struct fleet_entry *e, size_t n);

#endif
