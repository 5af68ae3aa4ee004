/* runner.h - one audit run: lock the output folder, run the stage table into a
 * new run folder, publish it. */
#ifndef MLA_RUNNER_H
#define MLA_RUNNER_H

#include "config.h"

/** Take the output folder's lock (OUT/.lock, flock: the kernel drops it when
 * the process dies, even by SIGKILL, so no stale lock survives). Returns the
 * lock's file descriptor, or -1 with MLA_ELOCKED recorded naming the holder's
 * pid. */
int runner_lock(const char *out_dir);

/** Run every stage for cfg. On success returns 0 and sets *run_dir (the
 * published run folder; caller frees). On failure returns -1 with the error
 * recorded; nothing of this run is published. The caller holds the lock. */
int runner_run(const struct audit_config *cfg, char **run_dir);

/** 1 when the latest run in cfg->out finished with the same configuration and
 * the same data file contents (then *run_id, if given, is its id; caller
 * frees); 0 otherwise. */
int runner_unchanged(const struct audit_config *cfg, char **run_id);

#endif
