/* stage.h - the stage table and the runner that does the shared work.
 *
 * A stage is one row: its name (also its folder in the run directory), the
 * artifacts of earlier stages it reads, the files it writes, flags, a function
 * that states its parameters, and its run function. The runner hashes inputs,
 * skips a stage whose stage.json records the same input hashes, parameters and
 * tool version, publishes the stage folder atomically (temporary name, then
 * rename), times it and reports progress. Stages never see each other except
 * through files. */
#ifndef MLA_STAGE_H
#define MLA_STAGE_H

#include "config.h"
#include "util.h"

struct progress;

struct stage_ctx {
	const struct audit_config *cfg;
	const char *run_dir;      /* the run's folder (its temporary name while running) */
	const char *out_dir;      /* this stage's temporary output folder: write only here */
	const char *run_id;
	const char *stage_name;
	struct progress *progress;
	char *backend_note;       /* a stage may set (xstrdup) a note for run.json, e.g. the backend chosen */
};

/** Path of an artifact of an earlier stage, "ingest/schema.json" -> RUN/ingest/schema.json. Caller frees. */
char *stage_input(const struct stage_ctx *ctx, const char *rel);
/** Path of a file in this stage's output folder. Caller frees. */
char *stage_output(const struct stage_ctx *ctx, const char *name);
/** Write a JSON artifact (jansson json_t) into this stage's output folder, in
 * the one layout every stage uses. 0, or -1 with an internal error recorded. */
struct json_t;
int stage_write_json(const struct stage_ctx *ctx, const char *name, struct json_t *j);
/** Report progress of the running stage, fraction in [0, 1]. */
void stage_progress(const struct stage_ctx *ctx, double fraction);

enum stage_flags {
	STAGE_READS_DATA = 1 << 0,   /* its inputs include the configuration's data files */
	STAGE_NEVER_SKIP = 1 << 1    /* its output depends on the run itself (run id, date) */
};

struct stage {
	const char *name;
	const char *const *inputs;   /* NULL-terminated, artifacts of earlier stages */
	const char *const *outputs;  /* NULL-terminated, files in its own folder */
	unsigned flags;
	/* Append the canonical text of the parameters the stage depends on. */
	void (*params)(const struct audit_config *cfg, struct strbuf *out);
	int (*run)(struct stage_ctx *ctx);
};

/* The table, in run order (pipeline/stages.c). */
extern const struct stage pipeline_stages[];
extern const size_t pipeline_nstages;

#endif
