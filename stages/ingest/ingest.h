/* ingest.h - reading one split's file into a typed frame.
 *
 * Streams the file once: each column is parsed as it arrives, its type is
 * inferred from its values (numeric, boolean, categorical) unless declared, and
 * its role comes from the configuration. */
#ifndef MLA_INGEST_H
#define MLA_INGEST_H

#include "frame.h"
#include "../../pipeline/config.h"

struct ingest_options {
	char delimiter;                  /* 0 = by extension */
	const struct strlist *na;        /* missing markers (exact match) */
	const struct strlist *numeric;   /* declared numeric columns */
	const struct strlist *categorical;
	double max_bad_numeric;          /* share of non-numeric cells that fails a declared-numeric column */
	/* roles: name -> role; columns not named are features */
	const struct audit_config *cfg;
};

/** Read `path` as split `split`. NULL with an error recorded
 * ("PATH:LINE:COL: ..."): ragged row, unterminated quote, NUL byte, invalid
 * UTF-8 in the header, empty or header-only file, duplicate column names,
 * truncated gzip, too many non-numeric cells in a declared numeric column.
 * Caller frees the frame. */
struct frame *ingest_read(const char *path, const char *split, const struct ingest_options *opt);

/** Parse a decimal number exactly like strtod (correctly rounded), fast for the
 * common short forms. Returns 1 and sets *out when the whole text [s, s+len) is
 * a number, else 0. */
int parse_number(const char *s, size_t len, double *out);

/** Check that the columns the configuration names (label, pred, proba, time,
 * id, weight, segments, numeric, categorical; at least one column for
 * proba_prefix) exist in frame `f`. `ignore` is not checked: ignoring an
 * absent column is harmless. With `required` (the train split), the first
 * absent one records "PATH: config key 'label' names column 'X', which is
 * not in the header (columns: ...)" and -1 is returned; without, nothing is
 * recorded and the number of absent columns is returned (0 = all present),
 * for the stage to report as a pipeline change. */
int ingest_check_roles(const struct frame *f, const struct audit_config *cfg, int required);

#endif
