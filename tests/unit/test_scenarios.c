/* test_scenarios.c - trust in the audit as a whole: for every `mlaudit synth`
 * scenario and seeds 1..10, the planted defect is among the first three
 * findings of report/summary.json (its order: severity, then causes before
 * symptoms: step 3, 2, the probes' checks, 1), at high
 * severity, with the right subject; `clean` has no high finding at all.
 *
 * Each seed is a fresh dataset (3000 train rows, 750 test and current) run
 * through the binary (MLAUDIT_BIN) with `probes = quick`; two runs at a time,
 * since the box this must stay quick on has two cores. Every scenario prints
 * how many seeds passed, and for a failing seed where the planted finding was
 * (or that it was missing) and the first findings, so a failure says why.
 *
 * MLA_SCENARIO_SEEDS=N runs seeds 1..N only (1 to 10): a sanitizer build runs
 * the binary about 4x slower, and a few seeds there find memory errors as
 * well as ten. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/util.h"
#include "tests/unit/testutil.h"

#define SEEDS 10            /* the most; MLA_SCENARIO_SEEDS may ask for fewer */
#define ROWS "3000"
#define PARALLEL 2
#define TOP 3
#define JOB_LIMIT_S 300.0   /* one seed's synth + run; a hung run fails its seed */

struct scenario_case {
	const char *scenario;
	const char *kind;            /* the planted finding; NULL: no high finding at all */
	const char *subject_key;     /* split, feature or segment */
	const char *subject_value;
};

static const struct scenario_case cases[] = {
	{"clean", NULL, NULL, NULL},
	{"overfit", "overfitting", "split", "test"},
	{"weak-segment", "weak_segment", "segment", "region=west"},
	{"drift", "data_drift", "feature", "x1"},
	{"label-noise", "label_noise", "split", "train"},
	{"pipeline-bug", "pipeline_change", "split", "current"},
	{"label-shift", "label_shift", "split", "current"},
	{"concept-drift", "concept_drift", "split", "current"},
	{"leakage", "leakage", "feature", "outcome_score"},
	{"unit-change", "pipeline_change", "feature", "x4"},
	{"shuffled-labels", "unlearnable_labels", "split", "train"},
};

/* ---- one seed: synth then run, in a child process ---- */

/* Run argv and wait; the exit status, or 128 + signal. Used inside the
 * seed's child, where Check's assertions must not run. */
static int spawn_wait(const char *const *argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The child of one seed: 0 when both commands ran (the audit may exit 1,
 * which means it found something); synth's status when it failed, 100 + the
 * run's when that failed. */
static int seed_job(const char *bin, const char *scenario, int seed, const char *dir)
{
	char seed_s[16];
	snprintf(seed_s, sizeof seed_s, "%d", seed);
	char *data = path_join(dir, "data"), *out = path_join(dir, "out"), *ini = path_join(data, "audit.ini");
	const char *synth[] = {bin, "synth", scenario, "--out", data, "--rows", ROWS, "--seed", seed_s, NULL};
	int rc = spawn_wait(synth);
	if (rc == 0) {
		const char *run[] = {bin, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL};
		rc = spawn_wait(run);
		rc = rc == 1 ? 0 : rc == 0 ? 0 : 100 + rc;
	}
	free(data);
	free(out);
	free(ini);
	return rc;
}

struct job {
	int seed;
	char *dir;
	pid_t pid;
	double started;
	int status;     /* seed_job's result */
	int killed;     /* past JOB_LIMIT_S */
};

/* Run every seed's job, PARALLEL at a time. */
static void run_seeds(const char *scenario, struct job *jobs, int n)
{
	const char *bin = tu_bin();
	int next = 0, running = 0, done = 0;
	while (done < n) {
		while (running < PARALLEL && next < n) {
			struct job *j = &jobs[next++];
			j->started = now_seconds();
			j->pid = fork();
			ck_assert_int_ge(j->pid, 0);
			if (j->pid == 0) {
				setpgid(0, 0);   /* its own group, so a kill reaches the mlaudit it runs */
				_exit(seed_job(bin, scenario, j->seed, j->dir));
			}
			setpgid(j->pid, j->pid);
			running++;
		}
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			/* a seed past its limit is killed and counts as failed */
			for (int i = 0; i < next; i++)
				if (jobs[i].pid > 0 && !jobs[i].killed && now_seconds() - jobs[i].started > JOB_LIMIT_S) {
					kill(-jobs[i].pid, SIGKILL);
					jobs[i].killed = 1;
				}
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		for (int i = 0; i < next; i++)
			if (jobs[i].pid == pid) {
				jobs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 100 + 128 + WTERMSIG(st);
				jobs[i].pid = 0;
				running--;
				done++;
			}
	}
}

/* ---- judging one seed's summary.json ---- */

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int is_planted(const struct scenario_case *c, const json_t *f)
{
	const char *v = json_string_value(json_object_get(json_object_get(f, "subject"), c->subject_key));
	return !strcmp(str_of(f, "kind"), c->kind) && v && !strcmp(v, c->subject_value);
}

/* 1 when the seed passes; otherwise 0 with the reason and the first findings in *why. */
static int judge(const struct scenario_case *c, const json_t *summary, struct strbuf *why)
{
	const json_t *findings = json_object_get(summary, "findings");
	size_t n = json_array_size(findings);
	int ok;
	if (!c->kind) {
		size_t high = 0;
		for (size_t i = 0; i < n; i++)
			high += !strcmp(str_of(json_array_get(findings, i), "severity"), "high");
		ok = high == 0;
		if (!ok)
			sb_printf(why, "%zu high findings", high);
	} else {
		size_t at = n;
		for (size_t i = 0; i < n && at == n; i++)
			if (is_planted(c, json_array_get(findings, i)))
				at = i;
		const json_t *f = at < n ? json_array_get(findings, at) : NULL;
		ok = f && at < TOP && !strcmp(str_of(f, "severity"), "high");
		if (!f)
			sb_printf(why, "no %s finding with %s=%s", c->kind, c->subject_key, c->subject_value);
		else if (!ok)
			sb_printf(why, "%s with %s=%s is finding %zu, %s", c->kind, c->subject_key, c->subject_value,
				  at + 1, str_of(f, "severity"));
	}
	if (!ok) {
		sb_puts(why, "; first findings:");
		for (size_t i = 0; i < n && i < 6; i++) {
			const json_t *f = json_array_get(findings, i);
			char *subj = json_dumps(json_object_get(f, "subject"), JSON_COMPACT | JSON_SORT_KEYS);
			sb_printf(why, "\n      %zu %s %s %s", i + 1, str_of(f, "severity"), str_of(f, "kind"), subj ? subj : "");
			free(subj);
		}
	}
	return ok;
}

static int seed_count(void)
{
	const char *e = getenv("MLA_SCENARIO_SEEDS");
	int n = e && *e ? atoi(e) : SEEDS;
	return n < 1 ? 1 : n > SEEDS ? SEEDS : n;
}

START_TEST(planted_defect_is_a_top_high_finding)
{
	const struct scenario_case *c = &cases[_i];
	const int seeds = seed_count();
	char *root = tu_tmpdir("scen");
	struct job jobs[SEEDS];
	for (int s = 0; s < seeds; s++) {
		jobs[s] = (struct job){.seed = s + 1, .status = -1};
		char name[16];
		snprintf(name, sizeof name, "seed%d", s + 1);
		jobs[s].dir = path_join(root, name);
	}
	double t0 = now_seconds();
	run_seeds(c->scenario, jobs, seeds);
	int passed = 0;
	struct strbuf report;
	sb_init(&report);
	for (int s = 0; s < seeds; s++) {
		struct strbuf why;
		sb_init(&why);
		int ok = 0;
		if (jobs[s].status != 0) {
			if (jobs[s].killed)
				sb_printf(&why, "killed after %.0f s", JOB_LIMIT_S);
			else if (jobs[s].status >= 100)
				sb_printf(&why, "the run exited with status %d", jobs[s].status - 100);
			else
				sb_printf(&why, "synth exited with status %d", jobs[s].status);
		} else {
			char *sum = path_join(jobs[s].dir, "out/latest/report/summary.json");
			json_error_t e;
			json_t *j = json_load_file(sum, 0, &e);
			if (!j)
				sb_printf(&why, "%s: %s", sum, e.text);
			else
				ok = judge(c, j, &why);
			json_decref(j);
			free(sum);
		}
		passed += ok;
		if (!ok)
			sb_printf(&report, "  seed %d: %s\n", jobs[s].seed, why.data);
		sb_free(&why);
		free(jobs[s].dir);
	}
	printf("scenarios: %-16s %2d/%d seeds passed (%.0f s)%s%s\n", c->scenario, passed, seeds, now_seconds() - t0,
	       passed < seeds ? "\n" : "", report.data ? report.data : "");
	fflush(stdout);
	/* a process an audit left behind (gnuplot finishing a plot) can still
	 * be writing for a moment: try again before leaving the folder behind */
	for (int tries = 0; remove_tree(root) != 0 && tries < 20; tries++) {
		mla_error_clear();
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	mla_error_clear();
	free(root);
	sb_free(&report);
	ck_assert_msg(passed == seeds, "%s: the planted %s was a top-%d high finding in %d of %d seeds", c->scenario,
		      c->kind ? c->kind : "nothing (no high finding)", TOP, passed, seeds);
}
END_TEST

Suite *scenarios_suite(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tcase_create("scenarios");
	/* ten seeds of one scenario, two at a time: about 10 s on two idle cores
	 * (1.8 s of CPU a seed), a minute on a busy box or a sanitizer build */
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, planted_defect_is_a_top_high_finding, 0, (int)(sizeof cases / sizeof cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
