/* test_e2e.c - the mlaudit binary end to end: synth scenarios and their
 * step-1 findings, every bad input, escaping in every output, stage reuse and
 * --force, the lock, a run killed mid-stage and rerun.
 * MLAUDIT_BIN names the binary (the Makefile sets it). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/stage.h"
#include "pipeline/util.h"
#include "tests/unit/testutil.h"

/* Published run folders (names starting with a digit) in out. */
static int count_runs(const char *out)
{
	DIR *d = opendir(out);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] >= '0' && e->d_name[0] <= '9';
	closedir(d);
	return n;
}

static int has_partial(const char *out)
{
	DIR *d = opendir(out);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".partial") != NULL;
	closedir(d);
	return n;
}

/* ---- synth scenarios ---- */

struct expectation {
	const char *scenario;
	const char *kind;        /* NULL: no finding at medium or above */
	const char *subject_key, *subject_value;
};

static const struct expectation expected[] = {
	{"clean", NULL, NULL, NULL},
	{"overfit", "overfitting", "split", "test"},
	{"weak-segment", "weak_segment", "segment", "region=west"},
	{"drift", "performance_drop", "split", "current"},
	{"label-noise", "confident_errors", "split", "train"},
	{"pipeline-bug", "pipeline_change", "feature", "x3"},
	{"pipeline-bug", "performance_drop", "split", "current"},
};

START_TEST(synth_scenario_gives_its_finding)
{
	const struct expectation *x = &expected[_i];
	char *d = tu_tmpdir("e2e");
	char *data = path_join(d, "data"), *out = path_join(d, "out");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", x->scenario, "--out", data, "--rows", "4000", "--seed", "3", NULL), 0);
	char *ini = path_join(data, "audit.ini");
	char *log = NULL;
	int status = tu_mla(&log, NULL, "run", ini, "--out", out, "--quiet", NULL);
	ck_assert_msg(status == 0 || status == 1, "%s: status %d: %s", x->scenario, status, log);
	char *sum = path_join(out, "latest/report/summary.json");
	json_t *s = tu_load_json(sum);
	json_t *findings = json_object_get(s, "findings"), *f;
	size_t i;
	int found = 0, medium_or_more = 0;
	json_array_foreach(findings, i, f) {
		const char *sev = json_string_value(json_object_get(f, "severity"));
		int serious = !strcmp(sev, "medium") || !strcmp(sev, "high");
		medium_or_more += serious;
		if (x->kind && serious && !strcmp(json_string_value(json_object_get(f, "kind")), x->kind)) {
			const char *v = json_string_value(json_object_get(json_object_get(f, "subject"), x->subject_key));
			found |= v && !strcmp(v, x->subject_value);
		}
	}
	if (x->kind)
		ck_assert_msg(found, "%s: no %s finding (medium or high) on %s=%s", x->scenario, x->kind,
			      x->subject_key, x->subject_value);
	else
		ck_assert_msg(medium_or_more == 0, "%s: %d findings at medium or above", x->scenario, medium_or_more);
	ck_assert_int_eq(status, x->kind && medium_or_more ? status : 0);
	json_decref(s);
	free(sum); free(log); free(ini); free(data); free(out);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- bad input ---- */

struct bad_input {
	const char *what;
	const char *file;        /* contents of data.csv (train) */
	size_t len;              /* 0: strlen */
	const char *extra;       /* one extra flag "--k=v", or NULL */
	const char *message;     /* substring the error must contain */
};

#define GOOD "a,b,y\n1,x,p\n2,y,q\n3,x,p\n4,y,q\n"
static const struct bad_input bad_inputs[] = {
	{"ragged row", "a,b,y\n1,2,p\n3,4\n5,6,q\n", 0, NULL, "data.csv:3:"},
	{"unterminated quote", "a,b,y\n1,2,p\n3,\"4,q\n5,6,q\n", 0, NULL, "data.csv:3:"},
	{"NUL byte", "a,b,y\n1,2,p\n3,\0004,q\n", 16, NULL, "data.csv:3:"},
	{"invalid UTF-8 in header", "a,b\xff,y\n1,2,p\n3,4,q\n", 0, NULL, "data.csv:1:"},
	{"empty file", "", 0, NULL, "data.csv"},
	{"header only", "a,b,y\n", 0, NULL, "data.csv"},
	{"duplicate column names", "a,a,y\n1,2,p\n3,4,q\n", 0, NULL, "data.csv:1:"},
	{"missing label column", GOOD, 0, "--label=nope", "'nope'"},
	{"label with a single class", "a,b,y\n1,x,p\n2,y,p\n", 0, NULL, "single class"},
	{"unknown flag", GOOD, 0, "--colour=red", "unknown flag --colour"},
	{"role naming a missing column", GOOD, 0, "--segments=nope", "'nope'"},
	{"declared numeric column with text", GOOD, 0, "--numeric=b", "data.csv:2:"},
};

START_TEST(bad_input_exits_2_and_publishes_nothing)
{
	const struct bad_input *b = &bad_inputs[_i];
	char *d = tu_tmpdir("e2e");
	char *data = tu_write_file(d, "data.csv", b->file, b->len ? b->len : strlen(b->file));
	char *out = path_join(d, "out");
	char *log = NULL;
	int status = b->extra ? tu_mla(&log, NULL, "run", "--train", data, "--label", "y", "--out", out, b->extra, NULL)
			      : tu_mla(&log, NULL, "run", "--train", data, "--label", "y", "--out", out, NULL);
	ck_assert_msg(status == 2, "%s: status %d, output: %s", b->what, status, log);
	ck_assert_msg(strstr(log, b->message), "%s: message lacks '%s': %s", b->what, b->message, log);
	ck_assert_msg(strstr(log, "mlaudit: error:"), "%s: %s", b->what, log);
	ck_assert_int_eq(count_runs(out), 0);
	ck_assert_int_eq(has_partial(out), 0);
	free(log); free(data); free(out);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(truncated_gzip_exits_2)
{
	char *d = tu_tmpdir("e2e");
	struct strbuf sb = {0};
	sb_puts(&sb, "a,b,y\n");
	for (int i = 0; i < 20000; i++)
		sb_printf(&sb, "%d,%d,%s\n", i, i * 7 % 13, i % 3 ? "p" : "q");
	char *full = path_join(d, "full.csv.gz");
	gzFile g = gzopen(full, "wb");
	gzwrite(g, sb.data, (unsigned)sb.len);
	gzclose(g);
	size_t len;
	char *bytes = file_read_all(full, &len);
	char *cut = tu_write_file(d, "cut.csv.gz", bytes, len / 2);
	char *out = path_join(d, "out"), *log = NULL;
	int status = tu_mla(&log, NULL, "run", "--train", cut, "--label", "y", "--out", out, NULL);
	ck_assert_msg(status == 2, "status %d: %s", status, log);
	ck_assert_ptr_nonnull(strstr(log, "cut.csv.gz"));
	ck_assert_int_eq(count_runs(out), 0);
	/* the intact file works */
	free(log);
	status = tu_mla(&log, NULL, "run", "--train", full, "--label", "y", "--out", out, "--quiet", NULL);
	ck_assert_msg(status == 0 || status == 1, "status %d: %s", status, log);
	free(log); free(out); free(cut); free(bytes); free(full); sb_free(&sb);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(unknown_ini_key_exits_2)
{
	char *d = tu_tmpdir("e2e");
	char *data = tu_write_file(d, "data.csv", GOOD, strlen(GOOD));
	char *ini = tu_write_file(d, "audit.ini", "train = data.csv\nlabel = y\ncolour = red\n", 40);
	char *out = path_join(d, "out"), *log = NULL;
	int status = tu_mla(&log, NULL, "run", ini, "--out", out, NULL);
	ck_assert_int_eq(status, 2);
	ck_assert_msg(strstr(log, "audit.ini:3:1: unknown key 'colour'"), "%s", log);
	free(log); free(out); free(ini); free(data);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- reuse, force, lock, kill ---- */

static const char *stage_status(const char *run_json, const char *stage)
{
	static char buf[32];
	json_t *j = tu_load_json(run_json);
	json_t *st;
	size_t i;
	buf[0] = 0;
	json_array_foreach(json_object_get(j, "stages"), i, st)
		if (!strcmp(json_string_value(json_object_get(st, "name")), stage))
			snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(st, "status")));
	json_decref(j);
	return buf;
}

static char *synth_clean(const char *d)
{
	char *data = path_join(d, "data");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "clean", "--out", data, "--rows", "1500", NULL), 0);
	char *ini = path_join(data, "audit.ini");
	free(data);
	return ini;
}

START_TEST(unchanged_stages_are_reused_unless_forced)
{
	char *d = tu_tmpdir("e2e");
	char *ini = synth_clean(d);
	char *out = path_join(d, "out"), *rj = path_join(out, "latest/run.json");
	ck_assert_int_eq(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", NULL), 0);
	ck_assert_str_eq(stage_status(rj, "ingest"), "ran");
	ck_assert_int_eq(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", NULL), 0);
	ck_assert_str_eq(stage_status(rj, "ingest"), "reused");
	ck_assert_str_eq(stage_status(rj, "evaluate"), "reused");
	ck_assert_str_eq(stage_status(rj, "report"), "ran");
	/* a changed parameter reruns the stages that depend on it */
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--metric", "f1", NULL), 1);
	ck_assert_str_eq(stage_status(rj, "ingest"), "reused");
	ck_assert_str_eq(stage_status(rj, "evaluate"), "ran");
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--force", NULL), 1);
	ck_assert_str_eq(stage_status(rj, "ingest"), "ran");
	ck_assert_str_eq(stage_status(rj, "evaluate"), "ran");
	ck_assert_int_eq(count_runs(out), 4);
	free(rj); free(out); free(ini);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(second_run_exits_75_while_locked)
{
	char *d = tu_tmpdir("e2e");
	char *ini = synth_clean(d);
	char *out = path_join(d, "out");
	mkdir_p(out);
	char *lock = path_join(out, ".lock");
	int fd = open(lock, O_RDWR | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "4242\n", 5), 5);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	char *log = NULL;
	ck_assert_int_eq(tu_mla(&log, NULL, "run", ini, "--out", out, NULL), 75);
	ck_assert_msg(strstr(log, "pid 4242"), "%s", log);
	close(fd);
	free(log);
	ck_assert_int_eq(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", NULL), 0);
	free(lock); free(out); free(ini);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(killed_run_leaves_nothing_published_and_rerun_completes)
{
	char *d = tu_tmpdir("e2e");
	char *ini = synth_clean(d);
	char *out = path_join(d, "out");
	int status = tu_mla(NULL, "MLAUDIT_FAULT_KILL_STAGE=evaluate", "run", ini, "--out", out, "--quiet", NULL);
	ck_assert_int_eq(status, 128 + SIGKILL);
	ck_assert_int_eq(count_runs(out), 0);
	ck_assert_int_eq(has_partial(out), 1);
	char *log = NULL;
	ck_assert_int_eq(tu_mla(&log, NULL, "run", ini, "--out", out, "--quiet", NULL), 0);
	char *rj = path_join(out, "latest/run.json");
	ck_assert_str_eq(stage_status(rj, "ingest"), "reused");
	ck_assert_str_eq(stage_status(rj, "evaluate"), "ran");
	ck_assert_int_eq(count_runs(out), 1);
	ck_assert_int_eq(has_partial(out), 0);
	char *half = path_join(out, "latest/evaluate/half-written");
	ck_assert(!file_exists(half));
	free(half); free(rj); free(log); free(out); free(ini);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(help_version_and_demo)
{
	char *log = NULL;
	ck_assert_int_eq(tu_mla(&log, NULL, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(log, "--proba_prefix"));
	ck_assert_ptr_nonnull(strstr(log, "pipeline-bug"));
	free(log);
	ck_assert_int_eq(tu_mla(&log, NULL, "--version", NULL), 0);
	ck_assert_ptr_nonnull(strstr(log, "mlaudit 0."));
	free(log);
	char *d = tu_tmpdir("e2e");
	char *out = path_join(d, "demo");
	int status = tu_mla(&log, NULL, "demo", "--out", out, NULL);
	ck_assert_msg(status == 0 || status == 1, "demo status %d: %s", status, log);
	ck_assert_ptr_nonnull(strstr(log, "/report/index.html"));
	free(log); free(out);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- escaping: hostile strings from the data in every output ---- */

START_TEST(data_strings_are_escaped_everywhere)
{
	char *d = tu_tmpdir("e2e");
	struct strbuf sb = {0};
	/* a feature column whose name holds a quote, a backquote and a newline */
	sb_puts(&sb, "seg,\"we\"\"ird`\nname\",x,y,pred,proba\n");
	struct rng r;
	rng_seed(&r, 5);
	for (int i = 0; i < 600; i++) {
		const char *seg = i % 3 == 0 ? "\"<script>alert(1)</script>\"" : i % 3 == 1 ? "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" : "plain";
		double x = rng_normal(&r);
		int y = x + 0.5 * rng_normal(&r) > 0;
		double p = 1 / (1 + exp(-2 * x));
		sb_printf(&sb, "%s,%d,%.4f,%s,%s,%.4f\n", seg, i % 7, x, y ? "yes" : "no", p >= 0.5 ? "yes" : "no", p);
	}
	char *data = tu_write_file(d, "data.csv", sb.data, sb.len);
	sb_free(&sb);
	char *out = path_join(d, "out"), *log = NULL;
	int status = tu_mla(&log, NULL, "run", "--train", data, "--label", "y", "--pred", "pred", "--proba", "proba",
			 "--segments", "seg", "--out", out, "--quiet", NULL);
	ck_assert_msg(status == 0 || status == 1, "status %d: %s", status, log);
	char *html_path = path_join(out, "latest/report/index.html");
	char *html = file_read_all(html_path, NULL);
	ck_assert_ptr_nonnull(html);
	ck_assert_msg(!strstr(html, "<script"), "raw <script in index.html");
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_null(strstr(html, "href=\"http"));
	ck_assert_ptr_null(strstr(html, "src=\"http"));
	char *md_path = path_join(out, "latest/report/summary.md");
	char *md = file_read_all(md_path, NULL);
	ck_assert_ptr_nonnull(md);
	ck_assert_msg(!strstr(md, "<script>"), "raw <script> in summary.md");
	/* the workbook holds the formula text as a string, and no formula at all */
	char *cmd = xasprintf("cd %s/latest/report && unzip -p report.xlsx 'xl/worksheets/*.xml' | grep -c '<f>' ; "
			      "unzip -p report.xlsx xl/sharedStrings.xml | grep -c 'HYPERLINK'", out);
	FILE *p = popen(cmd, "r");
	char line1[32] = "", line2[32] = "";
	ck_assert_ptr_nonnull(fgets(line1, sizeof line1, p));
	ck_assert_ptr_nonnull(fgets(line2, sizeof line2, p));
	pclose(p);
	ck_assert_int_eq(atoi(line1), 0);
	ck_assert_int_ge(atoi(line2), 1);
	/* the odd column name reaches no gnuplot command text */
	char *gp_cmd = xasprintf("cat %s/latest/report/plots/*.gp 2>/dev/null | grep -c 'ird`'", out);
	p = popen(gp_cmd, "r");
	char line3[32] = "0";
	if (!fgets(line3, sizeof line3, p))
		strcpy(line3, "0");
	pclose(p);
	ck_assert_int_eq(atoi(line3), 0);
	free(gp_cmd); free(cmd); free(md); free(md_path); free(html); free(html_path); free(log); free(out); free(data);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- nightly operations: fleets, retention, --log ---- */

static char *fleet_config(const char *d, const char *name, const char *scenario)
{
	char *data = xasprintf("%s/%s-data", d, name);
	if (scenario)
		ck_assert_int_eq(tu_mla(NULL, NULL, "synth", scenario, "--out", data, "--rows", "1200", NULL), 0);
	char *ini = xasprintf("%s/cfg/%s.ini", d, name);
	char *text = scenario
		? xasprintf("[audit]\nname = %s\ntrain = %s/train.csv\ntest = %s/test.csv\ncurrent = %s/current.csv\n"
			    "label = label\npred = pred\nproba = proba\nsegments = region\nout = %s/out/%s\n",
			    name, data, data, data, d, name)
		: xasprintf("[audit]\nname = %s\ntrain = %s/missing.csv\nlabel = label\nout = %s/out/%s\n", name, d, d, name);
	char *dir = xasprintf("%s/cfg", d);
	mkdir_p(dir);
	ck_assert_int_eq(file_write_atomic(ini, text, strlen(text)), 0);
	free(dir); free(text); free(data);
	return ini;
}

START_TEST(fleet_continues_past_a_failing_model_and_exits_with_the_worst)
{
	char *d = tu_tmpdir("e2e");
	char *a = fleet_config(d, "alpha", "clean"), *b = fleet_config(d, "beta", "weak-segment");
	char *c = fleet_config(d, "gamma", NULL);
	char *cfg = path_join(d, "cfg"), *log = NULL;
	int status = tu_mla(&log, NULL, "run", cfg, "--jobs", "2", "--quiet", NULL);
	ck_assert_msg(status == 2, "fleet status %d (the worst is gamma's input error): %s", status, log);
	char *ra = xasprintf("%s/out/alpha/latest/report/summary.json", d), *rb = xasprintf("%s/out/beta/latest/report/summary.json", d);
	ck_assert(file_exists(ra));
	ck_assert(file_exists(rb));
	char *page_path = xasprintf("%s/out/fleet.html", d);
	char *page = file_read_all(page_path, NULL);
	ck_assert_ptr_nonnull(page);
	ck_assert_ptr_nonnull(strstr(page, "alpha"));
	ck_assert_ptr_nonnull(strstr(page, "gamma"));
	ck_assert_ptr_nonnull(strstr(page, "failed (exit 2)"));
	free(page);
	/* unchanged models are skipped the second time, and the page says so */
	free(log);
	status = tu_mla(&log, NULL, "run", a, b, "--quiet", "--fleet-out", d, NULL);
	ck_assert_int_eq(status, 1);   /* beta's weak segment is high */
	char *page2_path = path_join(d, "fleet.html");
	page = file_read_all(page2_path, NULL);
	ck_assert_ptr_nonnull(page);
	ck_assert_ptr_nonnull(strstr(page, "skipped: inputs unchanged"));
	free(page);
	free(page2_path); free(page_path); free(ra); free(rb); free(log); free(cfg); free(a); free(b); free(c);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(retention_keeps_the_newest_runs)
{
	char *d = tu_tmpdir("e2e");
	char *ini = synth_clean(d);
	char *out = path_join(d, "out");
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--keep", "2", NULL), 0);
	ck_assert_int_eq(count_runs(out), 2);
	char *rj = path_join(out, "latest/run.json");
	ck_assert(file_exists(rj));
	char *log = NULL;
	ck_assert_int_eq(tu_mla(&log, NULL, "run", ini, "--out", out, "--keep", "0", NULL), 2);
	ck_assert_ptr_nonnull(strstr(log, "keep must be"));
	free(log); free(rj); free(out); free(ini);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(log_file_gets_one_line_per_stage_start_and_end)
{
	char *d = tu_tmpdir("e2e");
	char *ini = synth_clean(d);
	char *out = path_join(d, "out"), *logf = path_join(d, "audit.log"), *err = NULL;
	ck_assert_int_eq(tu_mla(&err, NULL, "run", ini, "--out", out, "--log", logf, NULL), 0);
	char *text = file_read_all(logf, NULL);
	ck_assert_ptr_nonnull(text);
	int lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, 2 * (int)pipeline_nstages);   /* start and end of every stage */
	ck_assert_ptr_nonnull(strstr(text, "stage evaluate: ran, "));
	ck_assert_int_eq(text[4], '-');   /* timestamped */
	/* without a terminal, stderr carries the same lines and nothing else */
	int err_lines = 0;
	for (char *p = err; *p; p++)
		err_lines += *p == '\n';
	ck_assert_int_eq(err_lines, 2 * (int)pipeline_nstages + 1);   /* plus the report path on stdout */
	free(text); free(err); free(logf); free(out); free(ini);
	remove_tree(d);
	free(d);
}
END_TEST

Suite *e2e_suite(void)
{
	Suite *s = suite_create("e2e");
	TCase *tc = tcase_create("e2e");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, synth_scenario_gives_its_finding, 0, (int)(sizeof expected / sizeof expected[0]));
	tcase_add_loop_test(tc, bad_input_exits_2_and_publishes_nothing, 0, (int)(sizeof bad_inputs / sizeof bad_inputs[0]));
	tcase_add_test(tc, truncated_gzip_exits_2);
	tcase_add_test(tc, unknown_ini_key_exits_2);
	tcase_add_test(tc, unchanged_stages_are_reused_unless_forced);
	tcase_add_test(tc, second_run_exits_75_while_locked);
	tcase_add_test(tc, killed_run_leaves_nothing_published_and_rerun_completes);
	tcase_add_test(tc, help_version_and_demo);
	tcase_add_test(tc, data_strings_are_escaped_everywhere);
	tcase_add_test(tc, fleet_continues_past_a_failing_model_and_exits_with_the_worst);
	tcase_add_test(tc, retention_keeps_the_newest_runs);
	tcase_add_test(tc, log_file_gets_one_line_per_stage_start_and_end);
	suite_add_tcase(s, tc);
	return s;
}
