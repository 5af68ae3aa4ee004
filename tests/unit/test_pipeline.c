/* test_pipeline.c - config keys and INI errors, the stage table, hashing, the lock. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/config.h"
#include "pipeline/runner.h"
#include "pipeline/stage.h"
#include "pipeline/util.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/mla-pipe-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return xstrdup(d);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	ck_assert_int_eq(file_write_atomic(p, text, strlen(text)), 0);
	return p;
}

START_TEST(ini_reads_keys_and_resolves_paths)
{
	char *d = tmpdir();
	char *ini = write_file(d, "audit.ini",
		"# a comment\n[audit]\ntrain = train.csv\nlabel = y\nsegments = a, b ,c\n"
		"na = ,NA\nmetric = f1\nfail_on = medium\ncurrent = c1.csv, /abs/c2.csv\n");
	struct audit_config c;
	config_init(&c);
	ck_assert_int_eq(config_load_ini(&c, ini), 0);
	char *expect = path_join(d, "train.csv");
	ck_assert_str_eq(c.train, expect);
	ck_assert_str_eq(c.label, "y");
	ck_assert_uint_eq(c.segments.n, 3);
	ck_assert_str_eq(c.segments.v[1], "b");
	ck_assert_uint_eq(c.na.n, 2);
	ck_assert_str_eq(c.na.v[0], "");
	ck_assert_str_eq(c.metric, "f1");
	ck_assert_int_eq(c.fail_on, SEV_MEDIUM);
	ck_assert_str_eq(c.current.v[1], "/abs/c2.csv");
	ck_assert_int_eq(config_validate(&c), 0);
	ck_assert_str_eq(c.name, strrchr(d, '/') + 1);   /* audit.ini: the folder names the model */
	config_free(&c);
	free(expect); free(ini); remove_tree(d); free(d);
}
END_TEST

static void expect_ini_error(const char *text, const char *needle)
{
	char *d = tmpdir();
	char *ini = write_file(d, "bad.ini", text);
	struct audit_config c;
	config_init(&c);
	mla_error_clear();
	ck_assert_int_eq(config_load_ini(&c, ini), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	ck_assert_msg(strstr(mla_error_message(), needle), "message '%s' lacks '%s'", mla_error_message(), needle);
	ck_assert_msg(strstr(mla_error_message(), ini), "message '%s' does not name the file", mla_error_message());
	mla_error_clear();
	config_free(&c);
	free(ini); remove_tree(d); free(d);
}

START_TEST(ini_errors_name_line_and_column)
{
	expect_ini_error("train = a.csv\n  colour = red\n", "bad.ini:2:3: unknown key 'colour'");
	expect_ini_error("[other]\n", "bad.ini:1:1: unknown section");
	expect_ini_error("train a.csv\n", "bad.ini:1:1: expected 'key = value'");
	expect_ini_error("metric = auc\n", "bad.ini:1:1: metric must be one of");
	expect_ini_error("fail_on = severe\n", "fail_on must be");
	expect_ini_error("test_size = 2\n", "test_size must be a number");
	expect_ini_error("seed = -1\n", "seed must be");
}
END_TEST

START_TEST(validate_requires_train_and_label)
{
	struct audit_config c;
	config_init(&c);
	mla_error_clear();
	ck_assert_int_eq(config_validate(&c), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "'train' is required"));
	mla_error_clear();
	config_set(&c, "train", "x.csv", "--train");
	ck_assert_int_eq(config_validate(&c), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "'label' is required"));
	mla_error_clear();
	config_set(&c, "label", "y", "--label");
	ck_assert_int_eq(config_validate(&c), 0);
	ck_assert_str_eq(c.name, "x");
	ck_assert_str_eq(c.out, "reports/x");
	config_free(&c);
}
END_TEST

/* Every input of a stage is an artifact of an earlier stage, and names are unique. */
START_TEST(stage_table_inputs_come_from_earlier_stages)
{
	ck_assert_uint_ge(pipeline_nstages, 3);
	ck_assert_str_eq(pipeline_stages[0].name, "ingest");
	for (size_t i = 0; i < pipeline_nstages; i++) {
		const struct stage *st = &pipeline_stages[i];
		ck_assert_ptr_nonnull(st->run);
		ck_assert_ptr_nonnull(st->outputs);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(st->name, pipeline_stages[j].name);
		for (const char *const *in = st->inputs; in && *in; in++) {
			size_t len = strcspn(*in, "/");
			int found = 0;
			for (size_t j = 0; j < i; j++) {
				const struct stage *e = &pipeline_stages[j];
				if (strlen(e->name) != len || strncmp(e->name, *in, len))
					continue;
				if ((*in)[len + 1] == 0)
					found = 1;   /* the whole folder */
				for (const char *const *o = e->outputs; *o; o++)
					found |= !strcmp(*o, *in + len + 1);
			}
			ck_assert_msg(found, "stage %s reads %s, which no earlier stage writes", st->name, *in);
		}
	}
	ck_assert_str_eq(pipeline_stages[pipeline_nstages - 1].name, "report");
}
END_TEST

START_TEST(hash_streaming_matches_one_shot)
{
	char buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 3);
	uint64_t whole = hash64_bytes(buf, sizeof buf);
	struct hash64 h;
	hash64_init(&h);
	hash64_update(&h, buf, 3);
	hash64_update(&h, buf + 3, 500);
	hash64_update(&h, buf + 503, 497);
	ck_assert_uint_eq(hash64_final(&h), whole);
	buf[999] ^= 1;
	ck_assert_uint_ne(hash64_bytes(buf, sizeof buf), whole);
	ck_assert_uint_ne(hash64_bytes(buf, 999), hash64_bytes(buf, 998));
}
END_TEST

START_TEST(lock_is_exclusive_and_dies_with_its_holder)
{
	char *d = tmpdir();
	int fd = runner_lock(d);
	ck_assert_int_ge(fd, 0);
	mla_error_clear();
	ck_assert_int_eq(runner_lock(d), -1);
	ck_assert_int_eq(mla_error_status(), MLA_ELOCKED);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
	ck_assert_msg(strstr(mla_error_message(), pid), "'%s' does not name the holder", mla_error_message());
	mla_error_clear();
	close(fd);

	/* a holder killed with SIGKILL leaves no stale lock */
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		int cfd = runner_lock(d);
		char ok = cfd >= 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char ok = 0;
	ck_assert_int_eq(read(ready[0], &ok, 1), 1);
	ck_assert_int_eq(ok, 'y');
	ck_assert_int_eq(runner_lock(d), -1);
	mla_error_clear();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fd = runner_lock(d);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(ready[0]);
	close(ready[1]);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(path_stem_strips_data_extensions)
{
	char *s = path_stem("/a/b/train.csv.gz");
	ck_assert_str_eq(s, "train");
	free(s);
	s = path_stem("x.tsv");
	ck_assert_str_eq(s, "x");
	free(s);
}
END_TEST

Suite *pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, ini_reads_keys_and_resolves_paths);
	tcase_add_test(tc, ini_errors_name_line_and_column);
	tcase_add_test(tc, validate_requires_train_and_label);
	tcase_add_test(tc, stage_table_inputs_come_from_earlier_stages);
	tcase_add_test(tc, hash_streaming_matches_one_shot);
	tcase_add_test(tc, lock_is_exclusive_and_dies_with_its_holder);
	tcase_add_test(tc, path_stem_strips_data_extensions);
	suite_add_tcase(s, tc);
	return s;
}
