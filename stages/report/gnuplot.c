/* gnuplot.c - starting gnuplot in a folder, with a time limit. */
#include "gnuplot.h"
#include "../../pipeline/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Full path of an executable: `prog` itself when it has a slash, else the
 * first match on PATH. NULL when none. Caller frees. */
static char *find_program(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? xstrdup(prog) : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char *copy = xstrdup(path), *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full = path_join(*dir ? dir : ".", prog);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			free(copy);
			return full;
		}
		free(full);
	}
	free(copy);
	return NULL;
}

enum gp_result gnuplot_run(const char *dir, double timeout_s)
{
	const char *prog = getenv("MLAUDIT_GNUPLOT");
	char *exe = find_program(prog && *prog ? prog : "gnuplot");
	if (!exe)
		return GP_MISSING;
	char *log = path_join(dir, "gnuplot.log");
	/* everything the child needs is prepared before fork: after it, only
	 * async-signal-safe calls */
	pid_t pid = fork();
	if (pid < 0) {
		free(exe);
		free(log);
		return GP_FAILED;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || chdir(dir) != 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		/* -d: ignore the user's ~/.gnuplot, which could change the terminal */
		char *const argv[] = {"gnuplot", "-d", "plots.gp", NULL};
		execv(exe, argv);
		_exit(127);
	}
	free(exe);
	free(log);
	double start = now_seconds();
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? GP_OK : GP_FAILED;
		if (r < 0 && errno != EINTR)
			return GP_FAILED;
		if (now_seconds() - start > timeout_s) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return GP_TIMEOUT;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

const char *gnuplot_axis_name(const char *metric)
{
	static const char *const known[][2] = {
		{"accuracy", "accuracy"}, {"balanced_accuracy", "balanced accuracy"},
		{"precision", "precision"}, {"recall", "recall"}, {"f1", "F1"},
		{"macro_precision", "macro precision"}, {"macro_recall", "macro recall"},
		{"macro_f1", "macro F1"}, {"roc_auc", "ROC-AUC"}, {"pr_auc", "PR-AUC"},
		{"log_loss", "log-loss"}, {"brier", "Brier score"}, {"ece", "ECE"},
	};
	for (size_t i = 0; metric && i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(metric, known[i][0]))
			return known[i][1];
	return "chosen metric";
}
