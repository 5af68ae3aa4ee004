/* main.c - the command line: run, demo, synth, --help, --version.
 * The only place that turns a recorded error into an exit status. */
#include "config.h"
#include "diff.h"
#include "fleet.h"
#include "history.h"
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
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void usage(FILE *f)
{
	fprintf(f,
		"mlaudit %s - audit a classification model and write a debugging report\n\n"
		"usage:\n"
		"  mlaudit run AUDIT.ini [--key VALUE]...   audit with a config file (flags override it)\n"
		"  mlaudit run --train F --label COL [--key VALUE]...\n"
		"  mlaudit demo [--out DIR]                 audit the bundled demo data, print where the report is\n"
		"  mlaudit run A.ini B.ini|DIR... [--jobs N] [--fleet-out DIR]\n"
		"                                           audit several models; DIR/fleet.html lists them\n"
		"  mlaudit diff RUN_A RUN_B [--format text|md|json]\n"
		"                                           findings new, resolved, worsened; exit 1 if worse\n"
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
	/* cron wants one line per stage and nothing else: the verdict is for people */
	if (!cfg->quiet && log_is_tty())
		fprintf(stderr, "verdict: %s\n", json_string_value(json_object_get(s, "verdict")));
	json_decref(s);
	return status;
}

/* Audit one model. `result_fd` >= 0 in a fleet: one line "ran ID", "skipped ID"
 * or "failed MESSAGE" goes there for the fleet page. */
static int run_one(struct audit_config *cfg, const char *ini, int argc, char **argv, int result_fd)
{
	struct strlist pos = {0};
	int rc = ini ? config_load_ini(cfg, ini) : 0;
	if (rc == 0)
		rc = parse_flags(argc, argv, cfg, &pos);
	strlist_free(&pos);
	if (rc == 0 && cfg->log)
		rc = log_open_file(cfg->log);
	if (rc == 0) {
		log_init(cfg->quiet, cfg->verbose);
		rc = config_validate(cfg);
	}
	if (rc == 0 && result_fd >= 0)
		log_set_prefix(cfg->name);
	int lock = rc == 0 ? runner_lock(cfg->out) : -1;
	char *run_dir = NULL, *skipped = NULL;
	int status = -1;
	if (lock >= 0) {
		/* a fleet skips a model whose inputs did not change since its last run */
		if (result_fd >= 0 && !cfg->force && runner_unchanged(cfg, &skipped)) {
			run_dir = path_join(cfg->out, skipped);
			log_info("unchanged since run %s: skipped (--force reruns it)", skipped);
			status = run_status(cfg, run_dir);
		} else if (runner_run(cfg, &run_dir) == 0 && history_write(cfg->out) == 0)
			status = run_status(cfg, run_dir);   /* the history page is written under the lock */
		close(lock);
	}
	if (result_fd >= 0) {
		char *line = status >= 0 ? xasprintf("%s %s\n", skipped ? "skipped" : "ran", strrchr(run_dir, '/') + 1)
					 : xasprintf("failed %s\n", mla_error_message());
		for (char *p = line; *p && p[1]; p++)
			if (*p == '\n')
				*p = ' ';   /* one line per model */
		if (write(result_fd, line, strlen(line)) < 0) {
			/* the fleet page then says "no result"; the exit status still counts */
		}
		free(line);
	}
	free(skipped);
	if (status < 0) {
		free(run_dir);
		status = fail_exit();
		log_close_file();
		return status;
	}
	if (!cfg->quiet)
		printf("%s/report/index.html\n", run_dir);
	free(run_dir);
	log_close_file();
	return status;
}

/* Worse statuses rank higher: an error beats a lock beats findings beats a pass. */
static int status_rank(int status)
{
	switch (status) {
	case MLA_OK: return 0;
	case MLA_FINDINGS: return 1;
	case MLA_ELOCKED: return 2;
	case MLA_EINPUT: return 3;
	default: return 4;
	}
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A folder argument stands for the *.ini files in it, in name order. */
static int expand_configs(const struct strlist *args, struct strlist *configs, int *any_folder)
{
	for (size_t i = 0; i < args->n; i++) {
		struct stat st;
		if (stat(args->v[i], &st) != 0)
			return ERR_INPUT("%s: no such config file or folder", args->v[i]);
		if (!S_ISDIR(st.st_mode)) {
			strlist_add(configs, args->v[i]);
			continue;
		}
		*any_folder = 1;
		DIR *d = opendir(args->v[i]);
		if (!d)
			return ERR_INPUT("%s: cannot open folder", args->v[i]);
		struct strlist found = {0};
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			if (n > 4 && !strcmp(e->d_name + n - 4, ".ini")) {
				char *p = path_join(args->v[i], e->d_name);
				strlist_add(&found, p);
				free(p);
			}
		}
		closedir(d);
		if (found.n == 0) {
			strlist_free(&found);
			return ERR_INPUT("%s: folder holds no .ini config files", args->v[i]);
		}
		qsort(found.v, found.n, sizeof *found.v, cmp_str);
		for (size_t k = 0; k < found.n; k++)
			strlist_add(configs, found.v[k]);
		strlist_free(&found);
	}
	return 0;
}

/* Audit several models, `jobs` at a time, each in its own process with its
 * own lock; a failing model does not stop the others. */
static int run_fleet(const struct strlist *configs, int argc, char **argv, int jobs, const char *fleet_out)
{
	size_t n = configs->n;
	struct fleet_entry *e = xcalloc(n, sizeof *e);
	pid_t *pids = xcalloc(n, sizeof *pids);
	int *fds = xcalloc(n, sizeof *fds);
	size_t next = 0, running = 0, done = 0;
	int worst = MLA_OK;
	while (done < n) {
		while (running < (size_t)jobs && next < n) {
			size_t i = next++;
			/* resolve name and output folder up front, for the fleet page */
			struct audit_config probe;
			config_init(&probe);
			struct strlist pos = {0};
			if (config_load_ini(&probe, configs->v[i]) == 0 && parse_flags(argc, argv, &probe, &pos) == 0 &&
			    config_validate(&probe) == 0) {
				e[i].name = xstrdup(probe.name);
				e[i].out = xstrdup(probe.out);
			}
			mla_error_clear();
			strlist_free(&pos);
			config_free(&probe);
			e[i].config = xstrdup(configs->v[i]);
			int p[2];
			if (pipe(p) != 0) {
				ERR_INTERNAL("pipe: %s", strerror(errno));
				return fail_exit();
			}
			fflush(NULL);
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				struct audit_config cfg;
				config_init(&cfg);
				int st = run_one(&cfg, configs->v[i], argc, argv, p[1]);
				fflush(NULL);
				_exit(st);
			}
			close(p[1]);
			pids[i] = pid;
			fds[i] = p[0];
			running++;
		}
		int st;
		pid_t pid = wait(&st);
		if (pid < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			e[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : MLA_EINTERNAL;
			char buf[4096];
			ssize_t len = read(fds[i], buf, sizeof buf - 1);
			buf[len > 0 ? len : 0] = 0;
			buf[strcspn(buf, "\n")] = 0;
			close(fds[i]);
			char *sp = strchr(buf, ' ');
			e[i].state = xstrndup(buf, sp ? (size_t)(sp - buf) : strlen(buf));
			e[i].detail = xstrdup(sp ? sp + 1 : "the audit process ended without a result");
			if (!e[i].state[0]) {
				free(e[i].state);
				e[i].state = xstrdup("failed");
			}
			if (status_rank(e[i].status) > status_rank(worst))
				worst = e[i].status;
			running--;
			done++;
		}
	}
	if (fleet_write(fleet_out, e, n) != 0) {
		log_error("%s", mla_error_message());
		if (status_rank(MLA_EINTERNAL) > status_rank(worst))
			worst = MLA_EINTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].out);
		free(e[i].config);
		free(e[i].state);
		free(e[i].detail);
	}
	free(e);
	free(pids);
	free(fds);
	return worst;
}

/* Flags of a fleet call that are not config keys: --jobs N, --fleet-out DIR.
 * They are taken out of argv (shifting it) so the rest is the config flags. */
static int take_fleet_flags(int *argc, char **argv, int *jobs, const char **fleet_out)
{
	int w = 0;
	for (int i = 0; i < *argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		int is_jobs = klen == 6 && !strncmp(a, "--jobs", 6), is_out = klen == 11 && !strncmp(a, "--fleet-out", 11);
		if (!is_jobs && !is_out) {
			argv[w++] = argv[i];
			continue;
		}
		const char *v = eq ? eq + 1 : i + 1 < *argc ? argv[++i] : NULL;
		if (!v)
			return ERR_INPUT("%.*s needs a value", (int)klen, a);
		if (is_jobs) {
			char *end;
			long j = strtol(v, &end, 10);
			if (*end || j < 1 || j > 256)
				return ERR_INPUT("--jobs must be a number from 1 to 256, got '%s'", v);
			*jobs = (int)j;
		} else
			*fleet_out = v;
	}
	*argc = w;
	return 0;
}

static int cmd_run(struct audit_config *cfg, const char *ini, int argc, char **argv)
{
	int jobs = 1;
	const char *fleet_out = NULL;
	if (take_fleet_flags(&argc, argv, &jobs, &fleet_out) != 0)
		return fail_exit();
	/* a first pass finds the positional config files; each file is read
	 * before the flags so that flags override it */
	struct audit_config scratch;
	config_init(&scratch);
	struct strlist pos = {0}, configs = {0};
	int rc = parse_flags(argc, argv, &scratch, &pos);
	config_free(&scratch);
	if (rc == 0 && ini)
		strlist_add(&configs, ini);
	int any_folder = 0;
	if (rc == 0)
		rc = expand_configs(&pos, &configs, &any_folder);
	strlist_free(&pos);
	if (rc != 0) {
		strlist_free(&configs);
		return fail_exit();
	}
	int status;
	if (configs.n > 1 || any_folder) {
		status = run_fleet(&configs, argc, argv, jobs, fleet_out);
	} else {
		status = run_one(cfg, configs.n ? configs.v[0] : NULL, argc, argv, -1);
	}
	strlist_free(&configs);
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
		status = diff_main(argc - 2, argv + 2);
		if (status >= MLA_EINPUT)
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
