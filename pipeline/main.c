/* main.c - the command line: run, demo, synth, --help, --version.
 * The only place that turns a recorded error into an exit status. */
#include "config.h"
#include "log.h"
#include "runner.h"
#include "synth.h"
#include "util.h"
#include "version.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"mlaudit %s - audit a classification model and write a debugging report\n\n"
		"usage:\n"
		"  mlaudit run AUDIT.ini [--key VALUE]...   audit with a config file (flags override it)\n"
		"  mlaudit run --train F --label COL [--key VALUE]...\n"
		"  mlaudit demo [--out DIR]                 audit the bundled demo data, print where the report is\n"
		"  mlaudit synth SCENARIO --out DIR [--rows N] [--seed S] [--features K] [--gzip]\n"
		"                                           write a dataset with a planted defect\n"
		"  mlaudit --help | --version\n\n"
		"config keys (INI [audit] section, or --key VALUE on the command line):\n",
		MLA_VERSION);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", k->key, k->arg ? " " : "", k->arg ? k->arg : "");
		fprintf(f, "  %-28s %s\n", left, k->help);
	}
	fprintf(f, "\nsynth scenarios:\n");
	for (const char *const *s = synth_scenarios; *s; s++)
		fprintf(f, "  %-14s %s\n", *s, synth_describe(*s));
	fprintf(f,
		"\nexit status: 0 no finding at or above fail_on; 1 findings at or above fail_on;\n"
		"2 usage, config or input error (nothing published); 3 internal error;\n"
		"75 another run holds the output folder's lock.\n");
}

/* Finish with the recorded error: one line on stderr, its status. */
static int fail_exit(void)
{
	int status = mla_error_status();
	if (status == MLA_OK)
		status = MLA_EINTERNAL;
	log_error("%s", mla_error_message()[0] ? mla_error_message() : "unknown error");
	return status;
}

/* Parse --key VALUE / --key=VALUE flags into cfg; positional arguments are
 * collected into `positional`. */
static int parse_flags(int argc, char **argv, struct audit_config *cfg, struct strlist *positional)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) || !a[2]) {
			strlist_add(positional, a);
			continue;
		}
		char *key = xstrdup(a + 2);
		char *eq = strchr(key, '=');
		const char *value;
		if (eq) {
			*eq = 0;
			value = eq + 1;
		} else if (config_is_switch(key)) {
			value = "";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			int known = 0;
			for (size_t k = 0; k < config_nkeys; k++)
				known |= !strcmp(config_keys[k].key, key);
			int rc = known ? ERR_INPUT("--%s needs a value", key)
				       : ERR_INPUT("unknown flag --%s (see mlaudit --help)", key);
			free(key);
			return rc;
		}
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';  /* --fail-on and --fail_on both work */
		char *where = xasprintf("--%s", key);
		int rc = config_set(cfg, key, value, where);
		if (rc != 0 && strstr(mla_error_message(), "unknown key")) {
			mla_error_clear();
			rc = ERR_INPUT("unknown flag --%s (see mlaudit --help)", key);
		}
		free(where);
		free(key);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Exit status of a finished run: 1 when a finding reaches fail_on. */
static int run_status(const struct audit_config *cfg, const char *run_dir)
{
	char *path = xasprintf("%s/report/summary.json", run_dir);
	json_error_t jerr;
	json_t *s = json_load_file(path, 0, &jerr);
	free(path);
	if (!s)
		return ERR_INTERNAL("%s/report/summary.json: %s", run_dir, jerr.text), -1;
	int status = MLA_OK;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(s, "findings"), i, f) {
		int sev = severity_parse(json_string_value(json_object_get(f, "severity")) ?: "info");
		if (sev >= (int)cfg->fail_on)
			status = MLA_FINDINGS;
	}
	if (!cfg->quiet)
		fprintf(stderr, "verdict: %s\n", json_string_value(json_object_get(s, "verdict")));
	json_decref(s);
	return status;
}

static int cmd_run(struct audit_config *cfg, const char *ini, int argc, char **argv)
{
	/* A first pass finds the positional config file; the file is read before
	 * the flags so that flags override it. */
	struct audit_config scratch;
	config_init(&scratch);
	struct strlist pos = {0};
	int rc = parse_flags(argc, argv, &scratch, &pos);
	config_free(&scratch);
	if (rc != 0) {
		strlist_free(&pos);
		return fail_exit();
	}
	size_t extra = pos.n;
	if (!ini && pos.n) {
		ini = pos.v[0];
		extra--;
	}
	if (extra > 0) {
		strlist_free(&pos);
		ERR_INPUT("one config file per run (auditing several models in one call is not built yet)");
		return fail_exit();
	}
	rc = ini ? config_load_ini(cfg, ini) : 0;
	strlist_free(&pos);
	if (rc == 0)
		rc = parse_flags(argc, argv, cfg, &pos);
	strlist_free(&pos);
	if (rc != 0)
		return fail_exit();
	log_init(cfg->quiet, cfg->verbose);
	if (config_validate(cfg) != 0)
		return fail_exit();
	int lock = runner_lock(cfg->out);
	if (lock < 0)
		return fail_exit();
	char *run_dir = NULL;
	rc = runner_run(cfg, &run_dir);
	int status = rc == 0 ? run_status(cfg, run_dir) : -1;
	close(lock);
	if (status < 0) {
		free(run_dir);
		return fail_exit();
	}
	if (!cfg->quiet)
		printf("%s/report/index.html\n", run_dir);
	free(run_dir);
	return status;
}

static int cmd_synth(int argc, char **argv)
{
	struct synth_options o = {.rows = 5000, .seed = 1, .features = 8};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--gzip")) {
			o.gzip = 1;
		} else if (!strncmp(a, "--", 2)) {
			if (!v) {
				ERR_INPUT("%s needs a value", a);
				return fail_exit();
			}
			char *end;
			unsigned long long n = strtoull(v, &end, 10);
			int numeric = *v && !*end && v[0] != '-';
			if (!strcmp(a, "--out"))
				o.out_dir = v;
			else if (!strcmp(a, "--rows") && numeric && n > 0)
				o.rows = (size_t)n;
			else if (!strcmp(a, "--seed") && numeric)
				o.seed = n;
			else if (!strcmp(a, "--features") && numeric && n > 0 && n <= 1000)
				o.features = (size_t)n;
			else {
				ERR_INPUT("synth: bad option %s %s (see mlaudit --help)", a, v);
				return fail_exit();
			}
			i++;
		} else if (!o.scenario) {
			o.scenario = a;
		} else {
			ERR_INPUT("synth: unexpected argument '%s'", a);
			return fail_exit();
		}
	}
	if (!o.scenario || !o.out_dir) {
		ERR_INPUT("usage: mlaudit synth SCENARIO --out DIR [--rows N] [--seed S] [--features K] [--gzip]");
		return fail_exit();
	}
	if (synth_run(&o) != 0)
		return fail_exit();
	return MLA_OK;
}

int main(int argc, char **argv)
{
	log_init(0, 0);
	if (argc < 2) {
		usage(stderr);
		return MLA_EINPUT;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return MLA_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("mlaudit %s\n", MLA_VERSION);
		return MLA_OK;
	}
	int status;
	struct audit_config cfg;
	config_init(&cfg);
	if (!strcmp(cmd, "run")) {
		status = cmd_run(&cfg, NULL, argc - 2, argv + 2);
	} else if (!strcmp(cmd, "demo")) {
		char *ini = xasprintf("%s/fixtures/demo/audit.ini", mla_home());
		int has_out = 0;
		for (int i = 2; i < argc; i++)
			has_out |= !strncmp(argv[i], "--out", 5);
		if (!has_out)
			config_set(&cfg, "out", "reports/demo", "demo");
		status = cmd_run(&cfg, ini, argc - 2, argv + 2);
		free(ini);
	} else if (!strcmp(cmd, "synth")) {
		status = cmd_synth(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "diff")) {
		ERR_INPUT("'mlaudit diff' is not built yet (see README, 'What is not built yet')");
		status = fail_exit();
	} else {
		ERR_INPUT("unknown command '%s' (see mlaudit --help)", cmd);
		status = fail_exit();
	}
	config_free(&cfg);
	/* a report nobody could read is a failure: check that stdout reached its file */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "mlaudit: error: writing to standard output failed\n");
		return MLA_EINTERNAL;
	}
	return status;
}
