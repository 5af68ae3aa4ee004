/* config.h - the audit configuration: INI file and command-line flags.
 *
 * Every key can be given in the INI file (section [audit], or no section) and as
 * a flag --key VALUE; flags override the file. The key table in config.c is the
 * one list of keys: the parser, `--help`, the README and run.json all follow it. */
#ifndef MLA_CONFIG_H
#define MLA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH };
const char *severity_name(enum severity s);
/** Parse "info|low|medium|high"; -1 when unknown. */
int severity_parse(const char *s);

/* A list of strings (comma-separated in the file and on the command line). */
struct strlist {
	char **v;
	size_t n;
};
void strlist_add(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);
int strlist_contains(const struct strlist *l, const char *s);

struct audit_config {
	char *config_path;        /* the INI file, or NULL for the flag form */
	char *name;               /* model name for titles (default: INI stem or train stem) */

	/* data */
	char *train;
	char *test;               /* NULL: stratified hold-out of train (test_size) */
	struct strlist current;   /* zero or more files */
	char delimiter;           /* 0 = by extension */
	struct strlist na;        /* missing markers */

	/* roles */
	char *label;
	char *positive;           /* NULL: chosen by DESIGN's rule */
	char *id, *pred, *proba, *proba_prefix, *time, *weight;
	struct strlist segments, ignore;
	struct strlist numeric, categorical;  /* declared types */

	/* judgement */
	char *metric;             /* accuracy f1 recall precision roc_auc pr_auc log_loss */
	enum severity fail_on;
	double max_bad_numeric;   /* share of non-numeric cells that fails a numeric column */
	double test_size;
	uint64_t seed;

	/* running */
	char *out;                /* output folder (default reports/<name>) */
	char *log;                /* also append progress lines to this file */
	int keep;                 /* run folders kept in out (oldest removed after a good run) */
	char *backend;            /* auto cpu cuda */
	char *probes;             /* quick standard thorough: how much work the probes stage may do */
	int force, quiet, verbose;
};

/** Defaults for every key. */
void config_init(struct audit_config *c);
void config_free(struct audit_config *c);
/** Read an INI file into c. -1 with "PATH:LINE:COL: ..." recorded (exit 2). */
int config_load_ini(struct audit_config *c, const char *path);
/** Set one key from text. `where` names the origin for messages
 * ("--label" or "audit.ini:3"). -1 with an input error recorded. */
int config_set(struct audit_config *c, const char *key, const char *value, const char *where);
/** Check the finished configuration (required keys, values in range). */
int config_validate(struct audit_config *c);

/* The key table, for --help and the README. */
struct config_key {
	const char *key;
	const char *arg;          /* placeholder shown in help, NULL for switches */
	const char *help;
};
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/** Is `key` a switch (takes no value on the command line)? */
int config_is_switch(const char *key);

#endif
