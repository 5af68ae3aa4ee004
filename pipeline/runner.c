/* runner.c - the stage runner: hashing, reuse, atomic publish, run.json.
 *
 * A run writes into OUT/.RUNID.partial and renames it to OUT/RUNID when every
 * stage succeeded, so readers (the history page, `diff`, people) never see a
 * half-written run. Each stage writes into RUN/.STAGE.tmp and is renamed to
 * RUN/STAGE when it succeeded.
 *
 * Skipping: a stage's key hashes its input files, its parameters and the tool
 * version. When an earlier run folder (published, or left partial by a killed
 * run) holds the same stage with the same key, its folder is hard-linked into
 * the new run instead of being computed again. --force disables this. */
#include "runner.h"
#include "log.h"
#include "stage.h"
#include "util.h"
#include "version.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- lock ---- */

int runner_lock(const char *out_dir)
{
	if (mkdir_p(out_dir) != 0)
		return -1;
	char *path = path_join(out_dir, ".lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		ERR_INTERNAL("%s: cannot open lock file: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		mla_fail(MLA_ELOCKED, "%s is locked by another mlaudit run (pid %s); try again when it has finished",
			 path, pid[0] ? pid : "unknown");
		close(fd);
		free(path);
		return -1;
	}
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		/* the pid is only for the message of a second run; the lock holds anyway */
	}
	free(path);
	return fd;
}

/* ---- previous runs ---- */

/* Names of earlier run folders in OUT, newest first: published RUNID folders and
 * .RUNID.partial folders left by killed runs. */
static void list_runs(const char *out_dir, struct strlist *runs)
{
	DIR *d = opendir(out_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		int partial = e->d_name[0] == '.' && n > 9 && !strcmp(e->d_name + n - 8, ".partial");
		if ((e->d_name[0] >= '0' && e->d_name[0] <= '9') || partial)
			strlist_add(runs, e->d_name);
	}
	closedir(d);
	/* sort by run id, newest first; ".ID.partial" sorts by ID */
	for (size_t i = 1; i < runs->n; i++)
		for (size_t j = i; j > 0; j--) {
			const char *a = runs->v[j - 1] + (runs->v[j - 1][0] == '.');
			const char *b = runs->v[j] + (runs->v[j][0] == '.');
			if (strcmp(a, b) >= 0)
				break;
			char *t = runs->v[j - 1];
			runs->v[j - 1] = runs->v[j];
			runs->v[j] = t;
		}
}

/* Copy a folder by hard links (the artifacts are never modified after publish,
 * so sharing inodes is safe), falling back to a byte copy across filesystems. */
static int link_tree(const char *from, const char *to)
{
	if (mkdir_p(to) != 0)
		return -1;
	DIR *d = opendir(from);
	if (!d)
		return ERR_INTERNAL("%s: cannot open: %s", from, strerror(errno));
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *src = path_join(from, e->d_name), *dst = path_join(to, e->d_name);
		struct stat st;
		if (stat(src, &st) != 0)
			rc = ERR_INTERNAL("%s: %s", src, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = link_tree(src, dst);
		else if (link(src, dst) != 0) {
			size_t len;
			char *data = file_read_all(src, &len);
			rc = data ? file_write_atomic(dst, data, len) : -1;
			free(data);
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}

/* ---- stage keys ---- */

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

static void data_files(const struct audit_config *cfg, struct strlist *files)
{
	strlist_add(files, cfg->train);
	if (cfg->test)
		strlist_add(files, cfg->test);
	for (size_t i = 0; i < cfg->current.n; i++)
		strlist_add(files, cfg->current.v[i]);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The files of a stage folder, sorted, without stage.json (whose timestamps
 * change when the same outputs are produced again). */
static void list_folder(const char *dir, struct strlist *files)
{
	struct strlist names = {0};
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && strcmp(e->d_name, "stage.json"))
				strlist_add(&names, e->d_name);
		closedir(d);
	}
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		char *p = path_join(dir, names.v[i]);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			strlist_add(files, p);
		free(p);
	}
	strlist_free(&names);
}

/* Hash the stage's inputs and parameters. Fills `inputs` (an array of
 * {path, hash}) and returns 0, or -1 when an input cannot be read. */
static int stage_key(const struct stage *st, const struct audit_config *cfg, const char *run_dir,
		     json_t *inputs, char **params_out, char key[17])
{
	struct hash64 h;
	hash64_init(&h);
	hash64_update(&h, MLA_VERSION, sizeof MLA_VERSION);
	hash64_update(&h, st->name, strlen(st->name) + 1);

	struct strlist files = {0};
	if (st->flags & STAGE_READS_DATA)
		data_files(cfg, &files);
	for (const char *const *in = st->inputs; in && *in; in++) {
		char *p = path_join(run_dir, *in);
		size_t n = strlen(*in);
		if (n && (*in)[n - 1] == '/')
			list_folder(p, &files);   /* a whole stage folder */
		else
			strlist_add(&files, p);
		free(p);
	}
	for (size_t i = 0; i < files.n; i++) {
		uint64_t fh;
		if (hash64_file(files.v[i], &fh) != 0) {
			strlist_free(&files);
			return -1;
		}
		char hx[17];
		hex64(hx, fh);
		hash64_update(&h, hx, 16);
		json_t *o = json_object();
		/* artifacts are named relative to the run folder so keys compare across runs */
		const char *shown = files.v[i];
		if (!strncmp(shown, run_dir, strlen(run_dir)) && shown[strlen(run_dir)] == '/')
			shown += strlen(run_dir) + 1;
		json_object_set_new(o, "path", json_string(shown));
		json_object_set_new(o, "hash", json_string(hx));
		json_array_append_new(inputs, o);
	}
	strlist_free(&files);

	struct strbuf params;
	sb_init(&params);
	if (st->params)
		st->params(cfg, &params);
	hash64_update(&h, params.data, params.len);
	hex64(key, hash64_final(&h));
	*params_out = sb_detach(&params);
	return 0;
}

/* Does an earlier run hold this stage with this key? Returns its folder (caller frees). */
static char *find_reusable(const char *out_dir, const struct strlist *runs, const char *stage, const char *key)
{
	for (size_t i = 0; i < runs->n; i++) {
		char *dir = xasprintf("%s/%s/%s", out_dir, runs->v[i], stage);
		char *sj = path_join(dir, "stage.json");
		json_t *j = json_load_file(sj, 0, NULL);
		free(sj);
		const char *k = json_string_value(json_object_get(j, "key"));
		int same = k && !strcmp(k, key);
		json_decref(j);
		if (same)
			return dir;
		free(dir);
	}
	return NULL;
}

/* ---- run.json ---- */

struct run_state {
	json_t *run;          /* the run.json object */
	char *path;           /* where it is written */
};

static json_t *config_json(const struct audit_config *cfg)
{
	json_t *c = json_object();
	struct { const char *k; const char *v; } strs[] = {
		{"name", cfg->name}, {"config", cfg->config_path}, {"train", cfg->train}, {"test", cfg->test},
		{"label", cfg->label}, {"positive", cfg->positive}, {"id", cfg->id}, {"pred", cfg->pred},
		{"proba", cfg->proba}, {"proba_prefix", cfg->proba_prefix}, {"time", cfg->time},
		{"weight", cfg->weight}, {"metric", cfg->metric}, {"fail_on", severity_name(cfg->fail_on)},
		{"out", cfg->out}, {"backend", cfg->backend}, {"probes", cfg->probes},
	};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		json_object_set_new(c, strs[i].k, strs[i].v ? json_string(strs[i].v) : json_null());
	struct { const char *k; const struct strlist *l; } lists[] = {
		{"current", &cfg->current}, {"segments", &cfg->segments}, {"ignore", &cfg->ignore},
		{"numeric", &cfg->numeric}, {"categorical", &cfg->categorical}, {"na", &cfg->na},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		json_t *a = json_array();
		for (size_t j = 0; j < lists[i].l->n; j++)
			json_array_append_new(a, json_string(lists[i].l->v[j]));
		json_object_set_new(c, lists[i].k, a);
	}
	json_object_set_new(c, "max_bad_numeric", json_real(cfg->max_bad_numeric));
	json_object_set_new(c, "test_size", json_real(cfg->test_size));
	json_object_set_new(c, "seed", json_integer((json_int_t)cfg->seed));
	json_object_set_new(c, "force", json_boolean(cfg->force));
	json_object_set_new(c, "keep", json_integer(cfg->keep));
	return c;
}

/* The key of a whole run: tool version, the configuration as resolved (less
 * the switches that do not change results) and the data files' contents. A
 * fleet skips a model whose key matches its latest run. */
static int run_key(const struct audit_config *cfg, char key[17])
{
	json_t *c = config_json(cfg);
	json_object_del(c, "force");
	char *text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(c);
	struct hash64 h;
	hash64_init(&h);
	hash64_update(&h, MLA_VERSION, sizeof MLA_VERSION);
	hash64_update(&h, text, strlen(text));
	free(text);
	struct strlist files = {0};
	data_files(cfg, &files);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		uint64_t fh;
		rc = hash64_file(files.v[i], &fh);
		hash64_update(&h, &fh, sizeof fh);
	}
	strlist_free(&files);
	hex64(key, hash64_final(&h));
	return rc;
}

int runner_unchanged(const struct audit_config *cfg, char **run_id)
{
	char key[17];
	if (run_key(cfg, key) != 0) {
		mla_error_clear();   /* unreadable inputs: let the run itself report them */
		return 0;
	}
	char *path = xasprintf("%s/latest/run.json", cfg->out);
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	const char *k = json_string_value(json_object_get(j, "run_key"));
	int same = k && !strcmp(k, key) && !strcmp(json_string_value(json_object_get(j, "status")) ?: "", "ok");
	if (same && run_id)
		*run_id = xstrdup(json_string_value(json_object_get(j, "run_id")) ?: "?");
	json_decref(j);
	return same;
}

/* Keep the newest `keep` published runs. Called after a good run, so the run
 * just published (the newest good one) is always among those kept. */
static void apply_retention(const char *out_dir, int keep, const char *just_published)
{
	struct strlist runs = {0};
	list_runs(out_dir, &runs);
	int kept = 0;
	for (size_t i = 0; i < runs.n; i++) {
		if (runs.v[i][0] == '.')
			continue;
		if (++kept <= keep || !strcmp(runs.v[i], just_published))
			continue;
		char *p = path_join(out_dir, runs.v[i]);
		if (remove_tree(p) != 0)
			mla_error_clear();   /* a folder we cannot remove is not worth failing the run */
		free(p);
	}
	strlist_free(&runs);
}

static int run_state_save(struct run_state *rs)
{
	char *text = json_dumps(rs->run, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	int rc = file_write_atomic(rs->path, text, strlen(text));
	free(text);
	return rc;
}

/* ---- the run ---- */

/* Run ids are UTC start times; runs started in the same second get -02, -03,
 * ... so that ids always sort in start order, even after retention removed
 * some of them (a reused id would sort before a newer one). */
static void make_run_id(const struct strlist *runs, char *id, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y%m%dT%H%M%SZ", &tm);
	size_t bl = strlen(base);
	int last = 0;
	for (size_t i = 0; i < runs->n; i++) {
		const char *name = runs->v[i] + (runs->v[i][0] == '.');
		if (strncmp(name, base, bl))
			continue;
		int k = 1;
		if (name[bl] == '-')
			k = atoi(name + bl + 1);
		if (k > last)
			last = k;
	}
	if (last == 0)
		snprintf(id, size, "%s", base);
	else
		snprintf(id, size, "%s-%02d", base, last + 1);
}

static int check_outputs(const struct stage *st, const char *dir, json_t *outputs)
{
	for (const char *const *o = st->outputs; o && *o; o++) {
		char *p = path_join(dir, *o);
		struct stat sb;
		if (stat(p, &sb) != 0) {
			free(p);
			return ERR_INTERNAL("stage %s did not write %s", st->name, *o);
		}
		uint64_t h = 0;
		if (hash64_file(p, &h) != 0) {
			free(p);
			return -1;
		}
		char hx[17];
		hex64(hx, h);
		json_t *e = json_object();
		json_object_set_new(e, "path", json_string(*o));
		json_object_set_new(e, "bytes", json_integer((json_int_t)sb.st_size));
		json_object_set_new(e, "hash", json_string(hx));
		json_array_append_new(outputs, e);
		free(p);
	}
	return 0;
}

static int run_one_stage(const struct stage *st, int index, const struct audit_config *cfg,
			 const char *out_dir, const struct strlist *runs, const char *run_dir,
			 const char *run_id, struct run_state *rs)
{
	log_stage_start(st->name, index + 1, (int)pipeline_nstages);
	double t0 = now_seconds();
	json_t *inputs = json_array();
	char *params = NULL;
	char key[17];
	int rc = stage_key(st, cfg, run_dir, inputs, &params, key);
	char *final_dir = path_join(run_dir, st->name);
	json_t *record = json_object();
	json_object_set_new(record, "name", json_string(st->name));

	char *reuse = NULL;
	if (rc == 0 && !cfg->force && !(st->flags & STAGE_NEVER_SKIP))
		reuse = find_reusable(out_dir, runs, st->name, key);
	if (rc == 0 && reuse) {
		rc = link_tree(reuse, final_dir);
		char *sj_path = path_join(reuse, "stage.json");
		json_t *sj = json_load_file(sj_path, 0, NULL);
		free(sj_path);
		const char *note = json_string_value(json_object_get(sj, "backend_note"));
		if (note)
			json_object_set_new(rs->run, "backend", json_string(note));
		json_decref(sj);
		const char *from = reuse + strlen(out_dir) + 1;
		char *from_id = xstrndup(from, strcspn(from, "/"));
		if (from_id[0] == '.') {   /* ".ID.partial" -> "ID" */
			memmove(from_id, from_id + 1, strlen(from_id));
			from_id[strcspn(from_id, ".")] = 0;
		}
		json_object_set_new(record, "status", json_string("reused"));
		json_object_set_new(record, "reused_from", json_string(from_id));
		free(from_id);
		free(reuse);
	} else if (rc == 0) {
		char *tmp_name = xasprintf(".%s.tmp", st->name);
		char *tmp = path_join(run_dir, tmp_name);
		free(tmp_name);
		remove_tree(tmp);
		rc = mkdir_p(tmp);
		struct stage_ctx ctx = {
			.cfg = cfg, .run_dir = run_dir, .out_dir = tmp, .run_id = run_id,
			.stage_name = st->name, .progress = NULL, .backend_note = NULL,
		};
		/* Fault injection for the tests of a killed run: die mid-stage, with
		 * the stage's temporary folder half-written, as `kill -9` would. */
		const char *fault = getenv("MLAUDIT_FAULT_KILL_STAGE");
		if (rc == 0 && fault && !strcmp(fault, st->name)) {
			char *junk = path_join(tmp, "half-written");
			file_write_atomic(junk, "x", 1);
			free(junk);
			raise(SIGKILL);
		}
		if (rc == 0)
			rc = st->run(&ctx);
		json_t *outputs = json_array();
		if (rc == 0)
			rc = check_outputs(st, tmp, outputs);
		if (rc == 0) {
			char done[32];
			utc_iso8601(done, sizeof done, (long long)time(NULL));
			json_t *sj = json_object();
			json_object_set_new(sj, "stage", json_string(st->name));
			json_object_set_new(sj, "tool_version", json_string(MLA_VERSION));
			json_object_set_new(sj, "key", json_string(key));
			json_object_set_new(sj, "inputs", json_incref(inputs));
			json_object_set_new(sj, "params", json_string(params));
			json_object_set_new(sj, "outputs", outputs);
			json_object_set_new(sj, "seconds", json_real(now_seconds() - t0));
			json_object_set_new(sj, "finished", json_string(done));
			if (ctx.backend_note)   /* so a reused stage can still say which backend made it */
				json_object_set_new(sj, "backend_note", json_string(ctx.backend_note));
			char *text = json_dumps(sj, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
			char *p = path_join(tmp, "stage.json");
			rc = file_write_atomic(p, text, strlen(text));
			free(p);
			free(text);
			json_decref(sj);
			/* the stage folder appears under its final name only when complete */
			if (rc == 0 && rename(tmp, final_dir) != 0)
				rc = ERR_INTERNAL("%s: cannot publish stage folder: %s", final_dir, strerror(errno));
		} else {
			json_decref(outputs);
			remove_tree(tmp);
		}
		if (ctx.backend_note) {
			json_object_set_new(rs->run, "backend", json_string(ctx.backend_note));
			free(ctx.backend_note);
		}
		json_object_set_new(record, "status", json_string(rc == 0 ? "ran" : "failed"));
		free(tmp);
	}
	double secs = now_seconds() - t0;
	json_object_set_new(record, "seconds", json_real(secs));
	json_array_append_new(json_object_get(rs->run, "stages"), record);
	log_stage_end(st->name, rc == 0 ? json_string_value(json_object_get(record, "status")) : "failed", secs);
	if (run_state_save(rs) != 0 && rc == 0)
		rc = -1;
	json_decref(inputs);
	free(params);
	free(final_dir);
	return rc;
}

int runner_run(const struct audit_config *cfg, char **run_dir_out)
{
	const char *out_dir = cfg->out;
	struct strlist runs = {0};
	list_runs(out_dir, &runs);

	char run_id[48];
	make_run_id(&runs, run_id, sizeof run_id);
	char *partial = xasprintf("%s/.%s.partial", out_dir, run_id);
	char *published = path_join(out_dir, run_id);
	if (mkdir_p(partial) != 0) {
		free(partial);
		free(published);
		strlist_free(&runs);
		return -1;
	}

	char started[32];
	utc_iso8601(started, sizeof started, (long long)time(NULL));
	struct run_state rs = {.run = json_object(), .path = path_join(partial, "run.json")};
	json_object_set_new(rs.run, "tool", json_string("mlaudit"));
	json_object_set_new(rs.run, "version", json_string(MLA_VERSION));
	json_object_set_new(rs.run, "run_id", json_string(run_id));
	json_object_set_new(rs.run, "started", json_string(started));
	json_object_set_new(rs.run, "status", json_string("running"));
	json_object_set_new(rs.run, "backend", json_string("none: no stage trained probes"));
	json_object_set_new(rs.run, "config", config_json(cfg));
	char key[17];
	if (run_key(cfg, key) == 0)
		json_object_set_new(rs.run, "run_key", json_string(key));
	mla_error_clear();
	json_object_set_new(rs.run, "stages", json_array());

	double t0 = now_seconds();
	int rc = run_state_save(&rs);
	for (size_t i = 0; rc == 0 && i < pipeline_nstages; i++)
		rc = run_one_stage(&pipeline_stages[i], (int)i, cfg, out_dir, &runs, partial, run_id, &rs);

	if (rc == 0) {
		char finished[32];
		utc_iso8601(finished, sizeof finished, (long long)time(NULL));
		json_object_set_new(rs.run, "status", json_string("ok"));
		json_object_set_new(rs.run, "finished", json_string(finished));
		json_object_set_new(rs.run, "seconds", json_real(now_seconds() - t0));
		rc = run_state_save(&rs);
	}
	if (rc == 0 && rename(partial, published) != 0)
		rc = ERR_INTERNAL("%s: cannot publish run folder: %s", published, strerror(errno));
	if (rc == 0) {
		/* stale partial folders of killed runs have served for reuse; drop them */
		for (size_t i = 0; i < runs.n; i++)
			if (runs.v[i][0] == '.') {
				char *p = path_join(out_dir, runs.v[i]);
				remove_tree(p);
				free(p);
			}
		/* OUT/latest points at the newest run, for people and scripts */
		char *latest = path_join(out_dir, "latest");
		char *tmp = path_join(out_dir, ".latest.tmp");
		unlink(tmp);
		if (symlink(run_id, tmp) == 0 && rename(tmp, latest) != 0)
			unlink(tmp);
		free(latest);
		free(tmp);
		apply_retention(out_dir, cfg->keep, run_id);
		*run_dir_out = xstrdup(published);
	} else {
		/* an error run publishes nothing: its partial folder goes (a killed run's
		 * stays, and the next run reuses what it finished) */
		int status = mla_error_status();
		char msg[2048];
		snprintf(msg, sizeof msg, "%s", mla_error_message());
		remove_tree(partial);
		mla_error_clear();
		mla_fail(status, "%s", msg);
	}
	json_decref(rs.run);
	free(rs.path);
	free(partial);
	free(published);
	strlist_free(&runs);
	return rc;
}

/* ---- helpers for stages ---- */

char *stage_input(const struct stage_ctx *ctx, const char *rel) { return path_join(ctx->run_dir, rel); }
char *stage_output(const struct stage_ctx *ctx, const char *name) { return path_join(ctx->out_dir, name); }
int stage_write_json(const struct stage_ctx *ctx, const char *name, json_t *j)
{
	char *path = stage_output(ctx, name);
	int rc = json_dump_file(j, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	if (rc != 0)
		ERR_INTERNAL("%s: cannot write", path);
	free(path);
	return rc ? -1 : 0;
}

void stage_progress(const struct stage_ctx *ctx, double fraction)
{
	(void)ctx;
	log_stage_progress(fraction);
}
