/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/util.h"

const char *tu_bin(void)
{
	const char *b = getenv("MLAUDIT_BIN");
	ck_assert_msg(b && *b, "MLAUDIT_BIN is not set (run the tests with make test)");
	return b;
}

char *tu_tmpdir(const char *tag)
{
	char *tmpl = xasprintf("/tmp/mla-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return tmpl;
}

/* Wait for pid, killing it after limit_s seconds: a hung child must fail
 * the test, not stall the suite. */
static int wait_limited(pid_t pid, double limit_s)
{
	double start = now_seconds();
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (now_seconds() - start > limit_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int tu_run_argv(char **out, const char *env, const char *const *argv, double limit_s)
{
	char path[] = "/tmp/mla-out-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (env)
			putenv((char *)env);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status = wait_limited(pid, limit_s);
	close(fd);
	if (out)
		*out = file_read_all(path, NULL);
	unlink(path);
	return status;
}

int tu_mla(char **out, const char *env, ...)
{
	const char *argv[64];
	int argc = 0;
	argv[argc++] = tu_bin();
	va_list ap;
	va_start(ap, env);
	const char *a;
	while ((a = va_arg(ap, const char *)) && argc < 63)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return tu_run_argv(out, env, argv, 600);
}

int tu_mla_args(char **out, const char *const *args)
{
	const char *argv[64];
	int argc = 0;
	argv[argc++] = tu_bin();
	for (; *args && argc < 63; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	return tu_run_argv(out, NULL, argv, 600);
}

json_t *tu_load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	return j;
}

char *tu_write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char *p = path_join(dir, name);
	ck_assert_int_eq(file_write_atomic(p, text, len), 0);
	return p;
}

struct frame *tu_frame(const char *split, size_t n)
{
	struct frame *f = xcalloc(1, sizeof *f);
	f->split = xstrdup(split);
	f->source = xstrdup("memory");
	f->nrows = n;
	return f;
}

struct frame_column *tu_addcol(struct frame *f, const char *name, enum col_type t, enum col_role r,
			       const char *const *levels, size_t nlevels)
{
	f->cols = xrealloc(f->cols, (f->ncols + 1) * sizeof *f->cols);
	struct frame_column *c = &f->cols[f->ncols++];
	memset(c, 0, sizeof *c);
	c->name = xstrdup(name);
	c->type = t;
	c->role = r;
	if (t == COL_CATEGORICAL) {
		c->code = xcalloc(f->nrows ? f->nrows : 1, sizeof *c->code);
		c->levels = xmalloc((nlevels ? nlevels : 1) * sizeof *c->levels);
		for (size_t i = 0; i < nlevels; i++)
			c->levels[i] = xstrdup(levels[i]);
		c->nlevels = nlevels;
	} else {
		c->num = xcalloc(f->nrows ? f->nrows : 1, sizeof *c->num);
	}
	return c;
}
