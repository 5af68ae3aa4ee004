/* synth.h - generate a dataset with one planted defect (`mlaudit synth`).
 *
 * Every scenario draws the same world: rows with segments (region, channel),
 * numeric features x1..xK, an income, a day index, a binary label from a known
 * logistic model, and the predictions of a simulated model that is a slightly
 * imperfect estimate of it. A scenario then plants exactly one defect, strong
 * enough to be found at the default row count, so the audit can be checked
 * against a known answer (trust tests, unit tests, benchmarks).
 *
 * Output folder: train.csv, test.csv, current.csv (or .csv.gz), audit.ini
 * pointing at them with relative paths (its comment line says what was
 * planted), and for label-noise train_flipped.csv (the ids whose labels were
 * flipped). leakage adds a column outcome_score to every split. Rows are streamed, so any row count
 * fits in memory; the same options give byte-identical files on every machine. */
#ifndef MLA_SYNTH_H
#define MLA_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_DEFAULT_ROWS 5000
#define SYNTH_DEFAULT_FEATURES 8
#define SYNTH_MIN_FEATURES 3       /* x1..x3 drive the label; pipeline-bug drops x3
				    * (concept-drift and unit-change use x4: they need 4) */
#define SYNTH_MAX_FEATURES 4096

struct synth_options {
	const char *scenario;     /* one of synth_scenarios */
	const char *out_dir;      /* created (mkdir -p) when missing */
	size_t rows;              /* train rows; test and current get rows/4 each, at least 50; 0 = default */
	uint64_t seed;
	int gzip;                 /* write .csv.gz instead of .csv */
	size_t features;          /* numeric features x1..xK (income comes on top); 0 = default */
};

/** Scenario names, NULL-terminated, in the order help text lists them. */
extern const char *const synth_scenarios[];

/** Fill o with the defaults (scenario "clean", rows 5000, seed 1, 8 features). */
void synth_options_init(struct synth_options *o);

/** One sentence: what the scenario plants and which finding it should produce.
 * Static string; NULL for an unknown scenario. */
const char *synth_describe(const char *scenario);

/** Number of rows written to the test and current splits for `rows` train rows. */
size_t synth_eval_rows(size_t rows);

/** Generate the dataset into o->out_dir. 0, or -1 with an error recorded:
 * ERR_INPUT for an unknown scenario (the message lists the known ones) or bad
 * options, ERR_INTERNAL for a failed write. Files are written under temporary
 * names and renamed into place, so a failed run leaves no half-written file
 * under a final name. */
int synth_run(const struct synth_options *o);

#endif
