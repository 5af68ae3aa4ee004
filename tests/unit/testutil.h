/* testutil.h - what the end-to-end tests share: the binary under test
 * (MLAUDIT_BIN, set by the Makefile), temporary folders, running it with its
 * output captured, and reading JSON. Every helper fails the calling test
 * (ck_assert) instead of returning an error. */
#ifndef MLA_TESTUTIL_H
#define MLA_TESTUTIL_H

#include <jansson.h>
#include <stddef.h>

#include "stages/ingest/frame.h"

/** The mlaudit binary under test. */
const char *tu_bin(void);

/** A new folder /tmp/mla-<tag>-XXXXXX; caller frees the path. */
char *tu_tmpdir(const char *tag);

/** Run argv[0] with stdout and stderr captured into *out (NULL: discarded),
 * with `env` ("NAME=VALUE", or NULL) added to its environment, killed after
 * limit_s seconds. Returns the exit status, or 128 + signal. */
int tu_run_argv(char **out, const char *env, const char *const *argv, double limit_s);

/** mlaudit with the arguments that follow (NULL-terminated), as tu_run_argv
 * with a 600 s limit. */
int tu_mla(char **out, const char *env, ...);

/** mlaudit with the arguments in args (NULL-terminated array). */
int tu_mla_args(char **out, const char *const *args);

/** Parse a JSON file (fails the test when it does not parse). */
json_t *tu_load_json(const char *path);

/** Write len bytes of text to dir/name; returns the path (caller frees). */
char *tu_write_file(const char *dir, const char *name, const char *text, size_t len);

/** An empty in-memory frame of n rows for split `split` (frame_free frees it). */
struct frame *tu_frame(const char *split, size_t n);

/** Add a zeroed column (codes or numbers for every row; categorical columns
 * get copies of `levels`). The pointer holds until the next tu_addcol: the
 * column array may move. */
struct frame_column *tu_addcol(struct frame *f, const char *name, enum col_type t, enum col_role r,
			       const char *const *levels, size_t nlevels);

#endif
