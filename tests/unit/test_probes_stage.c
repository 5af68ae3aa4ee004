/* test_probes_stage.c - the probes stage end to end through the binary
 * (MLAUDIT_BIN): the reference probe against a good model and against a
 * model whose outputs were moved to other rows (below_reference), labels shuffled
 * into noise, byte-identical oof.csv.gz for the same seed, data mode with the
 * probe standing in for the model, and the backend choice.
 * Runs use ~2000 rows and `--probes quick` to keep the suite fast. */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/util.h"
#include "tests/unit/testutil.h"
#include "stages/probes/probe.h"

static double est_value(const json_t *est)
{
	const json_t *v = json_object_get(est, "value");
	ck_assert_msg(json_is_number(v), "estimate without a value");
	return json_number_value(v);
}

/* synth clean into DIR/data; returns the audit.ini path */
static char *synth_clean(const char *d)
{
	char *data = path_join(d, "data");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "clean", "--out", data, "--rows", "2000", NULL), 0);
	char *ini = path_join(data, "audit.ini");
	free(data);
	return ini;
}

/* The folder of the newest run in out (OUT/latest resolved). */
static char *latest(const char *out)
{
	char *link = path_join(out, "latest");
	char target[256];
	ssize_t n = readlink(link, target, sizeof target - 1);
	ck_assert_int_gt(n, 0);
	target[n] = 0;
	free(link);
	return path_join(out, target);
}

static int has_finding(const char *path, const char *kind)
{
	json_t *j = tu_load_json(path);
	json_t *f;
	size_t i;
	int found = 0;
	json_array_foreach(json_object_get(j, "findings"), i, f)
		found |= !strcmp(json_string_value(json_object_get(f, "kind")), kind);
	json_decref(j);
	return found;
}

START_TEST(best_probe_is_close_to_a_good_model)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out");
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL), 1);
	char *run = latest(out);
	char *pp = path_join(run, "probes/probes.json"), *mp = path_join(run, "evaluate/metrics.json");
	json_t *pj = tu_load_json(pp), *mj = tu_load_json(mp);
	const char *best = json_string_value(json_object_get(json_object_get(pj, "best"), "name"));
	ck_assert_ptr_nonnull(best);
	double probe_acc = -1;
	json_t *p;
	size_t i;
	json_array_foreach(json_object_get(pj, "probes"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), best))
			probe_acc = est_value(json_object_get(json_object_get(json_object_get(p, "metrics"), "test"), "accuracy"));
	double model_acc = est_value(json_object_get(json_object_get(json_object_get(json_object_get(mj, "splits"), "test"),
								    "metrics"), "accuracy"));
	/* the clean synth's model is near the Bayes rate; a probe on the same
	 * features gets close, and no below_reference is raised */
	ck_assert_msg(probe_acc > model_acc - 0.06 && probe_acc < model_acc + 0.04, "probe %.3f, model %.3f", probe_acc, model_acc);
	double base = est_value(json_object_get(json_object_get(json_object_get(json_object_get(pj, "baseline"), "metrics"),
								"test"), "accuracy"));
	ck_assert_msg(probe_acc > base + 0.1, "probe %.3f vs majority %.3f", probe_acc, base);
	ck_assert(json_is_false(json_object_get(json_object_get(pj, "budget"), "subsampled")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(mj, "reference"), "probe")), best);
	char *ef = path_join(run, "evaluate/findings.json"), *pf = path_join(run, "probes/findings.json");
	ck_assert(!has_finding(ef, "below_reference"));
	ck_assert(!has_finding(pf, "unlearnable_labels"));
	/* quick: softmax and two widths, each with its curve */
	ck_assert_int_eq(json_array_size(json_object_get(pj, "probes")), 3);
	json_array_foreach(json_object_get(pj, "probes"), i, p)
		ck_assert_int_gt(json_array_size(json_object_get(p, "curve")), 2);
	/* the report's appendix has the reference table instead of the missing-stage line */
	char *md = path_join(run, "report/summary.md"), *html = path_join(run, "report/index.html");
	char *page = file_read_all(html, NULL);
	ck_assert_ptr_nonnull(strstr(page, "Reference probes"));
	ck_assert_ptr_null(strstr(page, "has no probes stage"));
	free(page);
	json_decref(pj);
	json_decref(mj);
	free(md);
	free(html);
	free(ef);
	free(pf);
	free(pp);
	free(mp);
	free(run);
	free(out);
	free(ini);
	free(d);
}
END_TEST

/* Shuffle one column of a synth CSV (no quoted fields there) in place. */
static void shuffle_column(const char *dir, const char *file, const char *column, uint64_t seed)
{
	char *path = path_join(dir, file);
	size_t len;
	char *text = file_read_all(path, &len);
	ck_assert_ptr_nonnull(text);
	char **lines = NULL;
	size_t n = 0;
	for (char *s = text, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = 0;
		lines = xrealloc(lines, (n + 1) * sizeof *lines);
		lines[n++] = s;
	}
	/* which field is the label */
	int col = -1, c = 0;
	char *hdr = xstrdup(lines[0]);
	for (char *tok = strtok(hdr, ","); tok; tok = strtok(NULL, ","), c++)
		if (!strcmp(tok, column))
			col = c;
	free(hdr);
	ck_assert_int_ge(col, 0);
	/* split every row into (before, label, after) and permute the labels */
	char **before = xcalloc(n, sizeof *before), **lab = xcalloc(n, sizeof *lab), **after = xcalloc(n, sizeof *after);
	for (size_t i = 1; i < n; i++) {
		char *s = lines[i], *start = s;
		for (int k = 0; k < col; k++)
			start = strchr(start, ',') + 1;
		char *end = strchr(start, ',');
		before[i] = xstrndup(s, (size_t)(start - s));
		lab[i] = end ? xstrndup(start, (size_t)(end - start)) : xstrdup(start);
		after[i] = xstrdup(end ? end : "");
	}
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = n - 1; i > 1; i--) {
		size_t j = 1 + (size_t)rng_below(&r, i);
		char *t = lab[i];
		lab[i] = lab[j];
		lab[j] = t;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, lines[0]);
	sb_putc(&sb, '\n');
	for (size_t i = 1; i < n; i++) {
		sb_printf(&sb, "%s%s%s\n", before[i], lab[i], after[i]);
		free(before[i]);
		free(lab[i]);
		free(after[i]);
	}
	ck_assert_int_eq(file_write_atomic(path, sb.data, sb.len), 0);
	sb_free(&sb);
	free(before);
	free(lab);
	free(after);
	free(lines);
	free(text);
	free(path);
}

START_TEST(shuffled_labels_are_unlearnable)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out"), *data = path_join(d, "data");
	shuffle_column(data, "train.csv", "label", 11);
	shuffle_column(data, "test.csv", "label", 12);
	shuffle_column(data, "current.csv", "label", 13);
	int rc = tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL);
	ck_assert_int_le(rc, 1);
	char *run = latest(out);
	char *pf = path_join(run, "probes/findings.json");
	ck_assert_msg(has_finding(pf, "unlearnable_labels"), "no unlearnable_labels finding on shuffled labels");
	json_t *j = tu_load_json(pf);
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	ck_assert(json_is_object(json_object_get(json_object_get(f, "evidence"), "accuracy_gain")));
	json_decref(j);
	/* the training checks: the mini-batch cannot be fitted, and the finding
	 * says why (no duplicates in synth, so no learnable signal) */
	ck_assert_msg(has_finding(pf, "sanity_check"), "no sanity_check finding on shuffled labels");
	j = tu_load_json(pf);
	int overfit = 0;
	size_t i;
	json_array_foreach(json_object_get(j, "findings"), i, f) {
		const json_t *ev = json_object_get(f, "evidence");
		if (strcmp(json_string_value(json_object_get(f, "kind")), "sanity_check") ||
		    strcmp(json_string_value(json_object_get(ev, "check")), "overfit_batch"))
			continue;
		overfit = 1;
		ck_assert_str_eq(json_string_value(json_object_get(ev, "cause")), "no_learnable_signal");
		ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
		ck_assert_str_eq(json_string_value(json_object_get(f, "step")), "probes");
		ck_assert(json_number_value(json_object_get(ev, "final_acc")) < 0.98);
	}
	ck_assert_msg(overfit, "no overfit_batch sanity_check");
	json_decref(j);
	free(pf);
	free(run);
	free(data);
	free(out);
	free(ini);
	free(d);
}
END_TEST

/* The training checks on clean synth: quick writes the four quick checks, all
 * passing (the data are learnable, the gradients right) and an hpo.csv with
 * only its header; standard adds the rest and a search table with every
 * method's trials. */
static size_t count_lines_with(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	for (const char *s = text; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		n += !strncmp(s, prefix, len);
	return n;
}

START_TEST(training_checks_run_on_clean)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out");
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL), 1);
	char *run = latest(out);
	char *sp = path_join(run, "probes/sanity.json"), *hp = path_join(run, "probes/hpo.csv");
	json_t *s = tu_load_json(sp);
	ck_assert_str_eq(json_string_value(json_object_get(s, "level")), "quick");
	ck_assert(json_is_true(json_object_get(json_object_get(s, "overfit_batch"), "passed")));
	const json_t *g = json_object_get(s, "gradient_check");
	ck_assert(json_is_true(json_object_get(g, "passed")));
	ck_assert(json_number_value(json_object_get(g, "max_rel_err")) < 1e-6);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(s, "init"), "runs")), 4);
	double lr = json_number_value(json_object_get(json_object_get(s, "lr_range"), "suggested"));
	ck_assert_msg(lr > 1e-5 && lr < 10, "suggested lr %g", lr);
	ck_assert_ptr_null(json_object_get(s, "hpo"));
	json_decref(s);
	char *csv = file_read_all(hp, NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_str_eq(csv, "method,trial,lr,l2,width,dropout,score,best_so_far\n");
	free(csv);
	char *pf = path_join(run, "probes/findings.json");
	ck_assert_msg(!has_finding(pf, "sanity_check"), "a sanity_check finding on clean data");
	free(pf);
	free(run);

	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "standard", "--force", NULL), 1);
	run = latest(out);
	free(sp);
	free(hp);
	sp = path_join(run, "probes/sanity.json");
	hp = path_join(run, "probes/hpo.csv");
	s = tu_load_json(sp);
	static const char *const keys[] = {"overfit_batch", "gradient_check", "init", "lr_range", "optimizers",
					   "regularisation", "capacity", "health", "hpo", "distill"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_msg(json_is_object(json_object_get(s, keys[i])), "sanity.json without %s", keys[i]);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(s, "optimizers"), "runs")), 20);
	json_decref(s);
	csv = file_read_all(hp, NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_uint_eq(count_lines_with(csv, "grid,"), 12);
	ck_assert_uint_eq(count_lines_with(csv, "random,"), 12);
	ck_assert_uint_eq(count_lines_with(csv, "bayes,"), 12);
	free(csv);
	/* the report's appendix gives advice, not the old "not run yet" line */
	char *md = path_join(run, "report/index.html");
	char *text = file_read_all(md, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "Learning-rate range test:</strong> For Adam on these features start at"));
	ck_assert_ptr_null(strstr(text, "Not run in mlaudit"));
	free(text);
	free(md);
	free(sp);
	free(hp);
	free(run);
	free(out);
	free(ini);
	free(d);
}
END_TEST

START_TEST(a_model_worse_than_the_probe_is_below_reference)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out"), *data = path_join(d, "data");
	/* the model's outputs on test moved to other rows (one permutation for
	 * both columns): its test accuracy falls to chance, the probe's does not */
	shuffle_column(data, "test.csv", "pred", 21);
	shuffle_column(data, "test.csv", "proba", 21);
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL), 1);
	char *run = latest(out);
	char *ef = path_join(run, "evaluate/findings.json");
	json_t *j = tu_load_json(ef);
	json_t *f, *hit = NULL;
	size_t i;
	json_array_foreach(json_object_get(j, "findings"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "kind")), "below_reference"))
			hit = f;
	ck_assert_msg(hit != NULL, "no below_reference finding");
	ck_assert_str_eq(json_string_value(json_object_get(hit, "severity")), "high");
	const json_t *gap = json_object_get(json_object_get(hit, "evidence"), "gap");
	ck_assert(est_value(gap) > 0.1);
	ck_assert(json_number_value(json_object_get(gap, "ci_low")) > 0);
	json_decref(j);
	free(ef);
	free(run);
	free(data);
	free(out);
	free(ini);
	free(d);
}
END_TEST

START_TEST(same_seed_gives_identical_oof_bytes)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out");
	char *bytes[2];
	size_t len[2];
	for (int k = 0; k < 2; k++) {
		ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", "--backend", "cpu",
				     "--force", NULL), 1);
		char *run = latest(out);
		char *p = path_join(run, "probes/oof.csv.gz");
		bytes[k] = file_read_all(p, &len[k]);
		ck_assert_ptr_nonnull(bytes[k]);
		free(p);
		free(run);
	}
	ck_assert_uint_gt(len[0], 100);
	ck_assert_uint_eq(len[0], len[1]);
	ck_assert_msg(!memcmp(bytes[0], bytes[1], len[0]), "oof.csv.gz differs between two runs with the same seed");
	/* another seed gives other folds and other probabilities */
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", "--backend", "cpu",
			     "--seed", "2", NULL), 1);
	char *run = latest(out);
	char *p = path_join(run, "probes/oof.csv.gz");
	size_t l3;
	char *b3 = file_read_all(p, &l3);
	ck_assert(l3 != len[0] || memcmp(b3, bytes[0], l3));
	free(b3);
	free(p);
	free(run);
	free(bytes[0]);
	free(bytes[1]);
	free(out);
	free(ini);
	free(d);
}
END_TEST

START_TEST(data_mode_runs_with_the_probe_standing_in)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out");
	/* the same data without the model's columns */
	size_t len;
	char *text = file_read_all(ini, &len);
	struct strbuf sb;
	sb_init(&sb);
	for (char *s = text, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		*nl = 0;
		if (strncmp(s, "pred", 4) && strncmp(s, "proba", 5))
			sb_printf(&sb, "%s\n", s);
	}
	sb_puts(&sb, "ignore = pred,proba\n");
	char *dm = path_join(d, "data/data_mode.ini");
	ck_assert_int_eq(file_write_atomic(dm, sb.data, sb.len), 0);
	sb_free(&sb);
	free(text);
	ck_assert_int_le(tu_mla(NULL, NULL, "run", dm, "--out", out, "--quiet", "--probes", "quick", NULL), 1);
	char *run = latest(out);
	char *mp = path_join(run, "evaluate/metrics.json");
	json_t *mj = tu_load_json(mp);
	ck_assert_str_eq(json_string_value(json_object_get(mj, "mode")), "data");
	const char *probe = json_string_value(json_object_get(json_object_get(mj, "stand_in"), "probe"));
	ck_assert_ptr_nonnull(probe);
	/* the probe's metrics fill every split, train out of fold */
	double acc = est_value(json_object_get(json_object_get(json_object_get(json_object_get(mj, "splits"), "test"),
							      "metrics"), "accuracy"));
	ck_assert_msg(acc > 0.7, "stand-in test accuracy %.3f", acc);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(mj, "splits"), "train"));
	char *md = path_join(run, "report/summary.md"), *html = path_join(run, "report/index.html");
	char *page = file_read_all(html, NULL), *summary = file_read_all(md, NULL);
	char *want = xasprintf("the best probe (%s) stands in for the model", probe);
	ck_assert_msg(strstr(page, want) != NULL, "index.html does not say %s", want);
	ck_assert_ptr_nonnull(strstr(summary, "stands in for the model"));
	char *sj = path_join(run, "report/summary.json");
	json_t *s = tu_load_json(sj);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "stand_in")), probe));
	/* rootcause saw the probe as the model: its slices rest on errors */
	char *ap = path_join(run, "rootcause/analysis.json");
	char *analysis = file_read_all(ap, NULL);
	ck_assert_ptr_null(strstr(analysis, "no model outputs"));
	free(analysis);
	free(ap);
	json_decref(s);
	free(sj);
	free(want);
	free(page);
	free(summary);
	free(md);
	free(html);
	json_decref(mj);
	free(mp);
	free(run);
	free(dm);
	free(out);
	free(ini);
	free(d);
}
END_TEST

START_TEST(backend_choice)
{
	char *d = tu_tmpdir("probes"), *ini = synth_clean(d), *out = path_join(d, "out");
	/* cpu always works and says so */
	ck_assert_int_le(tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", "--backend", "cpu", NULL), 1);
	char *run = latest(out);
	char *pp = path_join(run, "probes/probes.json"), *rj = path_join(run, "run.json");
	json_t *pj = tu_load_json(pp), *r = tu_load_json(rj);
	ck_assert_str_eq(json_string_value(json_object_get(pj, "backend")), "cpu");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "backend")), "cpu"));
	json_decref(pj);
	json_decref(r);
	free(pp);
	free(rj);
	free(run);
	/* cuda without a device is the user's error: exit 2 naming the key;
	 * this test binary has the same backends as the one it runs */
	char why[256];
	const struct probe_backend *cuda = probe_backend_choose("cuda", why, sizeof why);
	mla_error_clear();
	char *msg = NULL;
	int rc = tu_mla(&msg, NULL, "run", ini, "--out", out, "--probes", "quick", "--backend", "cuda", "--force", NULL);
	if (cuda)
		ck_assert_int_le(rc, 1);
	else {
		ck_assert_int_eq(rc, 2);
		ck_assert_msg(strstr(msg, "backend") && strstr(msg, "cuda"), "message: %s", msg);
	}
	free(msg);
	free(out);
	free(ini);
	free(d);
}
END_TEST

Suite *probes_stage_suite(void)
{
	Suite *s = suite_create("probes_stage");
	TCase *tc = tcase_create("probes_stage");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, best_probe_is_close_to_a_good_model);
	tcase_add_test(tc, shuffled_labels_are_unlearnable);
	tcase_add_test(tc, training_checks_run_on_clean);
	tcase_add_test(tc, a_model_worse_than_the_probe_is_below_reference);
	tcase_add_test(tc, same_seed_gives_identical_oof_bytes);
	tcase_add_test(tc, data_mode_runs_with_the_probe_standing_in);
	tcase_add_test(tc, backend_choice);
	suite_add_tcase(s, tc);
	return s;
}
