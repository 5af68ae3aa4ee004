/* test_synth.c - the generator writes what audit.ini promises, reproducibly,
 * and each scenario's planted defect is there and measurable in the CSV. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pipeline/synth.h"
#include "pipeline/util.h"

/* ---- helpers: a temp folder and a tiny CSV reader (the generator never
 * quotes, so splitting on commas is exact) ---- */

/* Each test gets its own folder inside one folder for the test case. Check
 * forks each test and skips a checked teardown when the test fails, so the
 * case's folder is removed by an unchecked teardown, which runs in the parent
 * whatever happened. */
static char *case_dir, *tmp_dir;

static void case_setup(void)
{
	char tmpl[] = "/tmp/mla-synth-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	case_dir = xstrdup(d);
}

static void case_teardown(void)
{
	if (case_dir)
		remove_tree(case_dir);
	free(case_dir);
	case_dir = NULL;
}

static void tmp_setup(void)
{
	char *tmpl = xasprintf("%s/test-XXXXXX", case_dir);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmp_dir = tmpl;
}

static void tmp_teardown(void)
{
	if (tmp_dir)
		remove_tree(tmp_dir);
	free(tmp_dir);
	tmp_dir = NULL;
}

struct table {
	char *text;
	size_t ncols, nrows;
	char **header;    /* ncols */
	char **cells;     /* nrows * ncols, row-major */
};

static void table_free(struct table *t)
{
	free(t->text);
	free(t->header);
	free(t->cells);
}

static char *path2(const char *dir, const char *name)
{
	return path_join(dir, name);
}

/* Split one line in place on commas; returns the number of fields. */
static size_t split_line(char *line, char **out, size_t max)
{
	size_t n = 0;
	for (char *p = line;; ) {
		char *c = strchr(p, ',');
		if (n < max)
			out[n] = p;
		n++;
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	return n;
}

static void table_load(struct table *t, const char *dir, const char *name)
{
	char *path = path2(dir, name);
	size_t len;
	memset(t, 0, sizeof *t);
	t->text = file_read_all(path, &len);
	ck_assert_msg(t->text != NULL, "cannot read %s: %s", path, mla_error_message());
	ck_assert_msg(len > 0 && t->text[len - 1] == '\n', "%s does not end with a newline", path);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += t->text[i] == '\n';
	char *line = t->text;
	char *nl = strchr(line, '\n');
	*nl = 0;
	t->header = xcalloc(512, sizeof *t->header);
	t->ncols = split_line(line, t->header, 512);
	ck_assert_uint_le(t->ncols, 512);
	t->nrows = lines - 1;
	t->cells = xcalloc(t->nrows * t->ncols + 1, sizeof *t->cells);
	line = nl + 1;
	for (size_t r = 0; r < t->nrows; r++) {
		nl = strchr(line, '\n');
		*nl = 0;
		size_t n = split_line(line, t->cells + r * t->ncols, t->ncols);
		ck_assert_msg(n == t->ncols, "%s:%zu: %zu fields, header has %zu", path, r + 2, n, t->ncols);
		line = nl + 1;
	}
	free(path);
}

static int table_col(const struct table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (!strcmp(t->header[c], name))
			return (int)c;
	return -1;
}

static const char *cell(const struct table *t, size_t r, int c)
{
	return t->cells[r * t->ncols + (size_t)c];
}

static double num(const struct table *t, size_t r, int c)
{
	char *end;
	double v = strtod(cell(t, r, c), &end);
	ck_assert_msg(*end == 0 && end != cell(t, r, c), "not a number: '%s'", cell(t, r, c));
	return v;
}

static double column_mean(const struct table *t, const char *name)
{
	int c = table_col(t, name);
	ck_assert_int_ge(c, 0);
	double s = 0;
	for (size_t r = 0; r < t->nrows; r++)
		s += num(t, r, c);
	return s / (double)t->nrows;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double column_median(const struct table *t, const char *name)
{
	int c = table_col(t, name);
	ck_assert_int_ge(c, 0);
	double *v = xmalloc(t->nrows * sizeof *v);
	for (size_t r = 0; r < t->nrows; r++)
		v[r] = num(t, r, c);
	qsort(v, t->nrows, sizeof *v, cmp_double);
	double m = v[t->nrows / 2];
	free(v);
	return m;
}

/* Accuracy of pred vs label over rows where `seg_col` equals (want_eq=1) or
 * differs from (want_eq=0) seg_value; seg_col NULL = all rows. */
static double accuracy_where(const struct table *t, const char *seg_col, const char *seg_value, int want_eq)
{
	int cl = table_col(t, "label"), cp = table_col(t, "pred");
	int cs = seg_col ? table_col(t, seg_col) : -1;
	ck_assert_int_ge(cl, 0);
	ck_assert_int_ge(cp, 0);
	size_t n = 0, ok = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		if (cs >= 0 && (strcmp(cell(t, r, cs), seg_value) == 0) != want_eq)
			continue;
		n++;
		ok += strcmp(cell(t, r, cl), cell(t, r, cp)) == 0;
	}
	ck_assert_uint_gt(n, 0);
	return (double)ok / (double)n;
}

static double accuracy(const struct table *t)
{
	return accuracy_where(t, NULL, NULL, 1);
}

static void run_ok(const char *scenario, const char *dir, size_t rows, uint64_t seed, int gzip)
{
	struct synth_options o;
	synth_options_init(&o);
	o.scenario = scenario;
	o.out_dir = dir;
	o.rows = rows;
	o.seed = seed;
	o.gzip = gzip;
	mla_error_clear();
	ck_assert_msg(synth_run(&o) == 0, "synth %s: %s", scenario, mla_error_message());
}

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char *path = path2(dir, name);
	char *text = file_read_all(path, len);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	free(path);
	return text;
}

/* ---- tests ---- */

START_TEST(test_every_scenario_writes_its_files)
{
	const char *dir = tmp_dir;
	const size_t rows = 400;
	for (int s = 0; synth_scenarios[s]; s++) {
		char *sub = path2(dir, synth_scenarios[s]);
		run_ok(synth_scenarios[s], sub, rows, 7, 0);
		const char *splits[] = {"train.csv", "test.csv", "current.csv"};
		const size_t want_rows[] = {rows, rows / 4, rows / 4};
		for (int i = 0; i < 3; i++) {
			struct table t;
			table_load(&t, sub, splits[i]);
			ck_assert_uint_eq(t.nrows, want_rows[i]);
			int bug_current = !strcmp(synth_scenarios[s], "pipeline-bug") && i == 2;
			int leak = !strcmp(synth_scenarios[s], "leakage");
			/* id, region, channel, x1..x8, income, [outcome_score,] day, label, pred, proba */
			ck_assert_uint_eq(t.ncols, 16 - (size_t)bug_current + (size_t)leak);
			const char *fixed[] = {"id", "region", "channel", "x1", "x2"};
			for (int c = 0; c < 5; c++)
				ck_assert_str_eq(t.header[c], fixed[c]);
			ck_assert_int_eq(table_col(&t, "x3") < 0, bug_current);
			ck_assert_int_eq(table_col(&t, "outcome_score") >= 0, leak);
			const char *tail[] = {"day", "label", "pred", "proba"};
			for (int c = 0; c < 4; c++)
				ck_assert_str_eq(t.header[t.ncols - 4 + (size_t)c], tail[c]);
			ck_assert_str_eq(t.header[t.ncols - 6 - (size_t)leak], "x8");
			ck_assert_str_eq(t.header[t.ncols - 5 - (size_t)leak], "income");
			table_free(&t);
		}
		size_t len;
		char *ini = read_file(sub, "audit.ini", &len);
		const char *keys[] = {"[audit]\n", "\ntrain = train.csv\n", "\ntest = test.csv\n",
				      "\ncurrent = current.csv\n", "\nlabel = label\n", "\npositive = yes\n",
				      "\nid = id\n", "\npred = pred\n", "\nproba = proba\n",
				      "\nsegments = region,channel\n", "\ntime = day\n", "\nmetric = accuracy\n",
				      "\nname = synth-"};
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			ck_assert_msg(strstr(ini, keys[k]) != NULL, "%s: audit.ini lacks '%s'", synth_scenarios[s], keys[k]);
		free(ini);
		/* the ini's comment line names what was planted */
		char *planted = xasprintf("\n# planted: %s\n", synth_describe(synth_scenarios[s]));
		ini = read_file(sub, "audit.ini", &len);
		ck_assert_msg(strstr(ini, planted) != NULL, "%s: audit.ini lacks its planted line", synth_scenarios[s]);
		free(ini);
		free(planted);
		char *flipped = path2(sub, "train_flipped.csv");
		ck_assert_int_eq(file_exists(flipped), !strcmp(synth_scenarios[s], "label-noise"));
		free(flipped);
		free(sub);
	}
}
END_TEST

START_TEST(test_small_rows_get_50_eval_rows_and_ids_days_in_order)
{
	const char *dir = tmp_dir;
	run_ok("clean", dir, 120, 3, 0);
	ck_assert_uint_eq(synth_eval_rows(120), 50);
	ck_assert_uint_eq(synth_eval_rows(5000), 1250);
	const char *splits[] = {"train.csv", "test.csv", "current.csv"};
	const size_t want_rows[] = {120, 50, 50};
	const long day0[] = {1, 301, 331}, day1[] = {300, 330, 365};
	long next_id = 1;
	for (int i = 0; i < 3; i++) {
		struct table t;
		table_load(&t, dir, splits[i]);
		ck_assert_uint_eq(t.nrows, want_rows[i]);
		int cid = table_col(&t, "id"), cday = table_col(&t, "day");
		long prev_day = 0;
		for (size_t r = 0; r < t.nrows; r++) {
			/* ids run on across the splits, so every id is unique */
			char want[32];
			snprintf(want, sizeof want, "r%06ld", next_id++);
			ck_assert_str_eq(cell(&t, r, cid), want);
			long day = atol(cell(&t, r, cday));
			ck_assert_int_ge(day, day0[i]);
			ck_assert_int_le(day, day1[i]);
			ck_assert_int_ge(day, prev_day);
			prev_day = day;
		}
		ck_assert_int_eq(atol(cell(&t, 0, cday)), day0[i]);
		table_free(&t);
	}
}
END_TEST

START_TEST(test_same_seed_same_bytes_other_seed_differs)
{
	const char *dir = tmp_dir;
	char *a = path2(dir, "a"), *b = path2(dir, "b"), *c = path2(dir, "c");
	/* label-noise draws from all three of a split's streams */
	run_ok("label-noise", a, 2000, 42, 0);
	run_ok("label-noise", b, 2000, 42, 0);
	run_ok("label-noise", c, 2000, 43, 0);
	const char *files[] = {"train.csv", "test.csv", "current.csv", "train_flipped.csv", "audit.ini"};
	for (int i = 0; i < 5; i++) {
		size_t la, lb, lc;
		char *ta = read_file(a, files[i], &la), *tb = read_file(b, files[i], &lb);
		char *tc = read_file(c, files[i], &lc);
		ck_assert_msg(la == lb && memcmp(ta, tb, la) == 0, "%s differs for the same seed", files[i]);
		if (i < 4)
			ck_assert_msg(la != lc || memcmp(ta, tc, la) != 0, "%s is the same for another seed", files[i]);
		free(ta);
		free(tb);
		free(tc);
	}
	free(a);
	free(b);
	free(c);
}
END_TEST

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* The bytes for a fixed seed are pinned, so a change of output on another
 * machine or compiler shows up here. A deliberate change of the generator
 * updates these numbers (and says so in its commit). */
START_TEST(test_output_is_pinned_for_a_fixed_seed)
{
	const char *dir = tmp_dir;
	run_ok("label-noise", dir, 300, 1, 0);
	const char *files[] = {"train.csv", "test.csv", "current.csv"};
	const uint64_t want[] = {0x560ebdc076b49240ull, 0xb06f866f60119bcdull, 0x52072d96e184dc47ull};
	for (int i = 0; i < 3; i++) {
		size_t len;
		char *text = read_file(dir, files[i], &len);
		uint64_t h = fnv1a(text, len);
		ck_assert_msg(h == want[i], "%s: fnv1a 0x%016llx, pinned 0x%016llx", files[i], (unsigned long long)h,
			      (unsigned long long)want[i]);
		free(text);
	}
}
END_TEST

START_TEST(test_unknown_scenario_lists_the_known_ones)
{
	const char *dir = tmp_dir;
	struct synth_options o;
	synth_options_init(&o);
	o.scenario = "overfitting";
	o.out_dir = dir;
	mla_error_clear();
	ck_assert_int_eq(synth_run(&o), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	const char *msg = mla_error_message();
	ck_assert_ptr_nonnull(strstr(msg, "'overfitting'"));
	for (int s = 0; synth_scenarios[s]; s++)
		ck_assert_msg(strstr(msg, synth_scenarios[s]) != NULL, "message lacks %s: %s", synth_scenarios[s], msg);
	ck_assert_ptr_null(synth_describe("overfitting"));
	for (int s = 0; synth_scenarios[s]; s++)
		ck_assert_uint_gt(strlen(synth_describe(synth_scenarios[s])), 20);
	/* nothing was written */
	char *train = path2(dir, "train.csv");
	ck_assert_int_eq(file_exists(train), 0);
	free(train);

	o.scenario = "clean";
	o.features = 2;   /* x3 is required */
	mla_error_clear();
	ck_assert_int_eq(synth_run(&o), -1);
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "features"));
	mla_error_clear();
}
END_TEST

START_TEST(test_label_noise_flips_about_ten_percent_of_train_only)
{
	const char *dir = tmp_dir;
	char *noisy = path2(dir, "noisy"), *clean = path2(dir, "clean");
	const size_t rows = 5000;
	run_ok("label-noise", noisy, rows, 11, 0);
	run_ok("clean", clean, rows, 11, 0);

	struct table flips;
	table_load(&flips, noisy, "train_flipped.csv");
	ck_assert_str_eq(flips.header[0], "id");
	/* Binomial(5000, 0.1): mean 500, sd 21.2; 5 sd either side */
	ck_assert_uint_ge(flips.nrows, 394);
	ck_assert_uint_le(flips.nrows, 606);

	/* label-noise shares clean's world: train differs exactly in the flipped labels */
	struct table tn, tc;
	table_load(&tn, noisy, "train.csv");
	table_load(&tc, clean, "train.csv");
	ck_assert_uint_eq(tn.nrows, tc.nrows);
	int cl = table_col(&tn, "label"), cid = table_col(&tn, "id");
	size_t k = 0, differ = 0;
	for (size_t r = 0; r < tn.nrows; r++) {
		for (size_t c = 0; c < tn.ncols; c++) {
			int same = !strcmp(cell(&tn, r, (int)c), cell(&tc, r, (int)c));
			if ((int)c != cl)
				ck_assert_msg(same, "row %zu column %s differs", r, tn.header[c]);
		}
		if (strcmp(cell(&tn, r, cl), cell(&tc, r, cl))) {
			differ++;
			ck_assert_uint_lt(k, flips.nrows);
			ck_assert_str_eq(cell(&flips, k, 0), cell(&tn, r, cid));
			k++;
		}
	}
	ck_assert_uint_eq(differ, flips.nrows);
	/* the model now looks worse on train than on test (low_train_performance) */
	struct table test;
	table_load(&test, noisy, "test.csv");
	ck_assert_double_lt(accuracy(&tn), accuracy(&test) - 0.04);
	table_free(&test);

	/* test and current are untouched */
	const char *others[] = {"test.csv", "current.csv"};
	for (int i = 0; i < 2; i++) {
		size_t la, lb;
		char *a = read_file(noisy, others[i], &la), *b = read_file(clean, others[i], &lb);
		ck_assert(la == lb && memcmp(a, b, la) == 0);
		free(a);
		free(b);
	}
	table_free(&flips);
	table_free(&tn);
	table_free(&tc);
	free(noisy);
	free(clean);
}
END_TEST

START_TEST(test_drift_shifts_x1_on_current_only)
{
	const char *dir = tmp_dir;
	run_ok("drift", dir, 5000, 5, 0);
	struct table tr, te, cu;
	table_load(&tr, dir, "train.csv");
	table_load(&te, dir, "test.csv");
	table_load(&cu, dir, "current.csv");
	ck_assert_double_lt(fabs(column_mean(&tr, "x1")), 0.1);
	ck_assert_double_lt(fabs(column_mean(&te, "x1")), 0.15);
	double shift = column_mean(&cu, "x1") - column_mean(&tr, "x1");
	ck_assert_msg(shift > 1.3 && shift < 1.7, "x1 shift %g", shift);
	/* other features stay put */
	ck_assert_double_lt(fabs(column_mean(&cu, "x2") - column_mean(&tr, "x2")), 0.15);
	/* and the model is worse on current than on test (performance_drop) */
	ck_assert_double_lt(accuracy(&cu), accuracy(&te) - 0.04);
	table_free(&tr);
	table_free(&te);
	table_free(&cu);
}
END_TEST

START_TEST(test_pipeline_bug_current_lacks_x3_and_income_is_1000x)
{
	const char *dir = tmp_dir;
	run_ok("pipeline-bug", dir, 4000, 9, 0);
	struct table tr, te, cu;
	table_load(&tr, dir, "train.csv");
	table_load(&te, dir, "test.csv");
	table_load(&cu, dir, "current.csv");
	ck_assert_int_ge(table_col(&tr, "x3"), 0);
	ck_assert_int_ge(table_col(&te, "x3"), 0);
	ck_assert_int_lt(table_col(&cu, "x3"), 0);
	double ratio = column_median(&cu, "income") / column_median(&tr, "income");
	ck_assert_msg(ratio > 800 && ratio < 1250, "income median ratio %g", ratio);
	double ratio_test = column_median(&te, "income") / column_median(&tr, "income");
	ck_assert_msg(ratio_test > 0.8 && ratio_test < 1.25, "test income ratio %g", ratio_test);
	/* channel: words before, numbers in current */
	int ct = table_col(&tr, "channel"), cc = table_col(&cu, "channel");
	for (size_t r = 0; r < cu.nrows; r++) {
		const char *v = cell(&cu, r, cc);
		ck_assert_msg(strlen(v) == 1 && v[0] >= '1' && v[0] <= '3', "current channel '%s'", v);
	}
	for (size_t r = 0; r < tr.nrows; r++) {
		const char *v = cell(&tr, r, ct);
		ck_assert(!strcmp(v, "web") || !strcmp(v, "store") || !strcmp(v, "phone"));
	}
	ck_assert_double_lt(accuracy(&cu), accuracy(&te) - 0.08);
	table_free(&tr);
	table_free(&te);
	table_free(&cu);
}
END_TEST

START_TEST(test_overfit_train_accuracy_well_above_test)
{
	const char *dir = tmp_dir;
	run_ok("overfit", dir, 5000, 13, 0);
	struct table tr, te, cu;
	table_load(&tr, dir, "train.csv");
	table_load(&te, dir, "test.csv");
	table_load(&cu, dir, "current.csv");
	double a_tr = accuracy(&tr), a_te = accuracy(&te), a_cu = accuracy(&cu);
	ck_assert_msg(a_tr > a_te + 0.10, "train %g test %g", a_tr, a_te);
	ck_assert_msg(a_tr > a_cu + 0.10, "train %g current %g", a_tr, a_cu);
	ck_assert_double_gt(a_te, 0.7);   /* still a working model, just overfit */
	table_free(&tr);
	table_free(&te);
	table_free(&cu);
}
END_TEST

START_TEST(test_weak_segment_west_is_worse)
{
	const char *dir = tmp_dir;
	run_ok("weak-segment", dir, 5000, 17, 0);
	const char *splits[] = {"train.csv", "test.csv"};
	for (int i = 0; i < 2; i++) {
		struct table t;
		table_load(&t, dir, splits[i]);
		double west = accuracy_where(&t, "region", "west", 1);
		double rest = accuracy_where(&t, "region", "west", 0);
		ck_assert_msg(west < rest - 0.15, "%s: west %g rest %g", splits[i], west, rest);
		table_free(&t);
	}
}
END_TEST

START_TEST(test_clean_model_is_good_everywhere)
{
	const char *dir = tmp_dir;
	run_ok("clean", dir, 5000, 19, 0);
	const char *splits[] = {"train.csv", "test.csv", "current.csv"};
	double acc[3];
	for (int i = 0; i < 3; i++) {
		struct table t;
		table_load(&t, dir, splits[i]);
		acc[i] = accuracy(&t);
		ck_assert_msg(acc[i] > 0.78, "%s accuracy %g", splits[i], acc[i]);
		if (i == 0) {   /* region shares 0.4/0.3/0.2/0.1; sd of a share is under 0.007 */
			const char *names[] = {"north", "south", "east", "west"};
			const double share[] = {0.4, 0.3, 0.2, 0.1};
			int cr = table_col(&t, "region");
			for (int g = 0; g < 4; g++) {
				size_t n = 0;
				for (size_t r = 0; r < t.nrows; r++)
					n += !strcmp(cell(&t, r, cr), names[g]);
				ck_assert_double_lt(fabs((double)n / (double)t.nrows - share[g]), 0.035);
			}
		}
		table_free(&t);
	}
	ck_assert_double_lt(fabs(acc[0] - acc[1]), 0.04);
	ck_assert_double_lt(fabs(acc[1] - acc[2]), 0.05);
}
END_TEST

/* Every number is printed canonically: re-printing its value with as many
 * decimals as it has gives the same text (no "-0.0000", no lost zeros), and
 * pred agrees with proba >= 0.5. */
START_TEST(test_numbers_are_canonical_and_pred_matches_proba)
{
	const char *dir = tmp_dir;
	run_ok("pipeline-bug", dir, 1000, 23, 0);
	const char *splits[] = {"train.csv", "current.csv"};
	for (int i = 0; i < 2; i++) {
		struct table t;
		table_load(&t, dir, splits[i]);
		int cp = table_col(&t, "pred"), cpr = table_col(&t, "proba");
		for (size_t r = 0; r < t.nrows; r++) {
			for (size_t c = 3; c < t.ncols; c++) {
				const char *v = cell(&t, r, (int)c);
				if (!strcmp(v, "yes") || !strcmp(v, "no"))
					continue;
				const char *dot = strchr(v, '.');
				int dec = dot ? (int)strlen(dot + 1) : 0;
				char again[64];
				snprintf(again, sizeof again, "%.*f", dec, strtod(v, NULL));
				ck_assert_msg(!strcmp(again, v), "%s row %zu column %s: '%s' reprints as '%s'", splits[i],
					      r + 2, t.header[c], v, again);
			}
			double p = num(&t, r, cpr);
			ck_assert(p > 0 && p < 1);
			ck_assert_str_eq(cell(&t, r, cp), p >= 0.5 ? "yes" : "no");
			ck_assert_uint_eq(strlen(cell(&t, r, cpr)), 8);   /* 0.dddddd */
		}
		table_free(&t);
	}
}
END_TEST

START_TEST(test_gzip_output_is_gzip_of_the_plain_output)
{
	const char *dir = tmp_dir;
	char *plain = path2(dir, "plain"), *gz = path2(dir, "gz");
	run_ok("label-noise", plain, 3000, 29, 0);
	run_ok("label-noise", gz, 3000, 29, 1);
	const char *names[] = {"train.csv", "test.csv", "current.csv", "train_flipped.csv"};
	for (int i = 0; i < 4; i++) {
		char *gzname = xasprintf("%s.gz", names[i]);
		size_t lz, lp;
		char *z = read_file(gz, gzname, &lz);
		ck_assert_uint_gt(lz, 18);
		ck_assert_uint_eq((unsigned char)z[0], 0x1f);
		ck_assert_uint_eq((unsigned char)z[1], 0x8b);
		free(z);
		char *want = read_file(plain, names[i], &lp);
		char *gzpath = path2(gz, gzname);
		gzFile f = gzopen(gzpath, "rb");
		ck_assert_ptr_nonnull(f);
		char *got = xmalloc(lp + 16);
		int n = gzread(f, got, (unsigned)(lp + 16));
		ck_assert_int_eq(gzclose(f), Z_OK);
		ck_assert_int_eq(n, (int)lp);
		ck_assert(memcmp(got, want, lp) == 0);
		free(got);
		free(want);
		free(gzpath);
		free(gzname);
	}
	size_t len;
	char *ini = read_file(gz, "audit.ini", &len);
	ck_assert_ptr_nonnull(strstr(ini, "\ntrain = train.csv.gz\n"));
	ck_assert_ptr_nonnull(strstr(ini, "\ncurrent = current.csv.gz\n"));
	free(ini);
	free(plain);
	free(gz);
}
END_TEST

START_TEST(test_features_option_sets_the_width)
{
	const char *dir = tmp_dir;
	struct synth_options o;
	synth_options_init(&o);
	o.scenario = "clean";
	o.out_dir = dir;
	o.rows = 200;
	o.features = 32;
	ck_assert_int_eq(synth_run(&o), 0);
	struct table t;
	table_load(&t, dir, "train.csv");
	ck_assert_uint_eq(t.ncols, 32 + 8);
	ck_assert_str_eq(t.header[3 + 31], "x32");
	/* x5 is on another scale (about 50), x6 within [0, 1] */
	double m5 = column_mean(&t, "x5");
	ck_assert_msg(m5 > 45 && m5 < 55, "x5 mean %g", m5);
	int c6 = table_col(&t, "x6");
	for (size_t r = 0; r < t.nrows; r++)
		ck_assert(num(&t, r, c6) >= 0 && num(&t, r, c6) <= 1);
	table_free(&t);
}
END_TEST

/* ---- the scenarios that came with label shift, concept drift, leakage,
 * unit change and shuffled labels: each is compared with `clean` of the same
 * seed, with which it shares every draw except where it plants its defect ---- */

static double yes_share(const struct table *t)
{
	int cl = table_col(t, "label");
	ck_assert_int_ge(cl, 0);
	size_t yes = 0;
	for (size_t r = 0; r < t->nrows; r++)
		yes += !strcmp(cell(t, r, cl), "yes");
	return (double)yes / (double)t->nrows;
}

/* Mean of numeric column `name` over the rows whose label is `label`. */
static double mean_given_label(const struct table *t, const char *name, const char *label)
{
	int c = table_col(t, name), cl = table_col(t, "label");
	ck_assert_int_ge(c, 0);
	double s = 0;
	size_t n = 0;
	for (size_t r = 0; r < t->nrows; r++)
		if (!strcmp(cell(t, r, cl), label)) {
			s += num(t, r, c);
			n++;
		}
	ck_assert_uint_gt(n, 0);
	return s / (double)n;
}

static int listed(const char *name, const char *const *names)
{
	for (; names && *names; names++)
		if (!strcmp(name, *names))
			return 1;
	return 0;
}

/* a and b hold the same rows, cell for cell, in every column but those listed
 * (a column of a alone must be listed). */
static void assert_same_except(const struct table *a, const struct table *b, const char *const *except)
{
	ck_assert_uint_eq(a->nrows, b->nrows);
	for (size_t c = 0; c < a->ncols; c++) {
		if (listed(a->header[c], except))
			continue;
		int cb = table_col(b, a->header[c]);
		ck_assert_msg(cb >= 0, "column %s is missing", a->header[c]);
		for (size_t r = 0; r < a->nrows; r++)
			ck_assert_msg(!strcmp(cell(a, r, (int)c), cell(b, r, cb)), "row %zu column %s: '%s' vs '%s'", r + 2,
				      a->header[c], cell(a, r, (int)c), cell(b, r, cb));
	}
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *name)
{
	size_t la, lb;
	char *a = read_file(dir_a, name, &la), *b = read_file(dir_b, name, &lb);
	ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s differs from clean's", name);
	free(a);
	free(b);
}

START_TEST(test_new_scenarios_are_deterministic)
{
	const char *dir = tmp_dir;
	const char *scen[] = {"label-shift", "concept-drift", "leakage", "unit-change", "shuffled-labels"};
	const char *changed[] = {"current.csv", "current.csv", "train.csv", "current.csv", "train.csv"};
	for (int i = 0; i < 5; i++) {
		char *a = xasprintf("%s/%s-a", dir, scen[i]), *b = xasprintf("%s/%s-b", dir, scen[i]);
		char *c = xasprintf("%s/%s-c", dir, scen[i]);
		run_ok(scen[i], a, 1200, 42, 0);
		run_ok(scen[i], b, 1200, 42, 0);
		run_ok(scen[i], c, 1200, 43, 0);
		const char *files[] = {"train.csv", "test.csv", "current.csv", "audit.ini"};
		for (int f = 0; f < 4; f++)
			assert_same_file(a, b, files[f]);
		size_t la, lc;
		char *ta = read_file(a, changed[i], &la), *tc = read_file(c, changed[i], &lc);
		ck_assert_msg(la != lc || memcmp(ta, tc, la) != 0, "%s: %s is the same for another seed", scen[i], changed[i]);
		free(ta);
		free(tc);
		free(a);
		free(b);
		free(c);
	}
}
END_TEST

START_TEST(test_label_shift_moves_the_prior_and_keeps_p_x_given_y)
{
	const char *dir = tmp_dir;
	char *ls = path2(dir, "ls"), *clean = path2(dir, "clean");
	run_ok("label-shift", ls, 20000, 31, 0);
	run_ok("clean", clean, 20000, 31, 0);
	assert_same_file(ls, clean, "train.csv");
	assert_same_file(ls, clean, "test.csv");
	struct table tr, te, cu;
	table_load(&tr, ls, "train.csv");
	table_load(&te, ls, "test.csv");
	table_load(&cu, ls, "current.csv");
	/* p / (p + 0.4 (1 - p)) with p about 0.41: 0.63; current has 5000 rows, sd of a share under 0.007 */
	double p_tr = yes_share(&tr), p_te = yes_share(&te), p_cu = yes_share(&cu);
	ck_assert_msg(p_tr > 0.37 && p_tr < 0.45 && p_te > 0.37 && p_te < 0.45, "train %g test %g", p_tr, p_te);
	ck_assert_msg(p_cu > 0.59 && p_cu < 0.68, "current share of yes %g", p_cu);
	/* P(x | y) unchanged: within each class x1 and x2 keep train's mean (sd of
	 * x given the class under 1, so 0.08 is over 4 standard errors), while
	 * P(x) moves with the classes' mix */
	const char *feats[] = {"x1", "x2"};
	const char *labels[] = {"yes", "no"};
	for (int f = 0; f < 2; f++) {
		for (int l = 0; l < 2; l++) {
			double d = mean_given_label(&cu, feats[f], labels[l]) - mean_given_label(&tr, feats[f], labels[l]);
			ck_assert_msg(fabs(d) < 0.08, "%s given %s moved by %g", feats[f], labels[l], d);
		}
		double shift = column_mean(&cu, feats[f]) - column_mean(&tr, feats[f]);
		ck_assert_msg(shift > 0.12, "%s's mean moved by only %g", feats[f], shift);
	}
	table_free(&tr);
	table_free(&te);
	table_free(&cu);
	free(ls);
	free(clean);
}
END_TEST

START_TEST(test_concept_drift_flips_the_rule_where_x4_above_1)
{
	const char *dir = tmp_dir;
	char *cd = path2(dir, "cd"), *clean = path2(dir, "clean");
	run_ok("concept-drift", cd, 8000, 37, 0);
	run_ok("clean", clean, 8000, 37, 0);
	assert_same_file(cd, clean, "train.csv");
	assert_same_file(cd, clean, "test.csv");
	struct table a, b;
	table_load(&a, cd, "current.csv");
	table_load(&b, clean, "current.csv");
	/* P(x) and the model are untouched: only labels differ, and only where x4 > 1 */
	const char *except[] = {"label", NULL};
	assert_same_except(&a, &b, except);
	int c4 = table_col(&a, "x4"), cl = table_col(&a, "label"), cp = table_col(&a, "pred");
	size_t region = 0, right_in = 0, right_out = 0, changed = 0;
	for (size_t r = 0; r < a.nrows; r++) {
		int in = num(&a, r, c4) > 1.0;
		int same = !strcmp(cell(&a, r, cl), cell(&b, r, cl));
		int right = !strcmp(cell(&a, r, cl), cell(&a, r, cp));
		if (!in)
			ck_assert_msg(same, "row %zu: label changed outside x4 > 1", r + 2);
		region += (size_t)in;
		changed += (size_t)!same;
		right_in += (size_t)(in && right);
		right_out += (size_t)(!in && right);
	}
	/* x4 > 1: 15.9% of 2000 rows, sd 0.8 points */
	double share = (double)region / (double)a.nrows;
	ck_assert_msg(share > 0.12 && share < 0.20, "x4 > 1 holds %g of current", share);
	ck_assert_uint_gt(changed, region / 3);
	double acc_in = (double)right_in / (double)region, acc_out = (double)right_out / (double)(a.nrows - region);
	ck_assert_msg(acc_in < 0.35 && acc_out > 0.75, "model accuracy %g where x4 > 1, %g elsewhere", acc_in, acc_out);
	ck_assert_double_lt(accuracy(&a), accuracy(&b) - 0.06);
	table_free(&a);
	table_free(&b);
	free(cd);
	free(clean);
}
END_TEST

START_TEST(test_leakage_outcome_score_is_the_label_plus_noise)
{
	const char *dir = tmp_dir;
	char *lk = path2(dir, "lk"), *clean = path2(dir, "clean");
	run_ok("leakage", lk, 4000, 41, 0);
	run_ok("clean", clean, 4000, 41, 0);
	const char *splits[] = {"train.csv", "test.csv", "current.csv"};
	for (int i = 0; i < 3; i++) {
		struct table a, b;
		table_load(&a, lk, splits[i]);
		table_load(&b, clean, splits[i]);
		const char *except[] = {"outcome_score", "pred", "proba", NULL};
		assert_same_except(&a, &b, except);
		int cs = table_col(&a, "outcome_score"), cl = table_col(&a, "label");
		ck_assert_int_ge(cs, 0);
		double ss = 0;
		size_t right = 0;
		for (size_t r = 0; r < a.nrows; r++) {
			double y = !strcmp(cell(&a, r, cl), "yes"), e = num(&a, r, cs) - y;
			ss += e * e;
			right += (num(&a, r, cs) >= 0.5) == (y == 1);
		}
		/* noise sd 0.35; a cut at 0.5 is right with P(|z| < 1.43) = 0.85 */
		double sd = sqrt(ss / (double)a.nrows), acc_cut = (double)right / (double)a.nrows;
		ck_assert_msg(sd > 0.31 && sd < 0.39, "%s: noise sd %g", splits[i], sd);
		ck_assert_msg(acc_cut > 0.80, "%s: the score alone is right on %g", splits[i], acc_cut);
		double m_yes = mean_given_label(&a, "outcome_score", "yes"), m_no = mean_given_label(&a, "outcome_score", "no");
		ck_assert_msg(fabs(m_yes - 1) < 0.1 && fabs(m_no) < 0.1, "%s: means %g %g", splits[i], m_yes, m_no);
		/* and the model leans on it: better than clean's everywhere */
		ck_assert_msg(accuracy(&a) > accuracy(&b) + 0.04, "%s: model %g, clean's %g", splits[i], accuracy(&a),
			      accuracy(&b));
		table_free(&a);
		table_free(&b);
	}
	free(lk);
	free(clean);
}
END_TEST

START_TEST(test_unit_change_x4_is_100x_smaller_on_current_only)
{
	const char *dir = tmp_dir;
	char *uc = path2(dir, "uc"), *clean = path2(dir, "clean");
	run_ok("unit-change", uc, 4000, 43, 0);
	run_ok("clean", clean, 4000, 43, 0);
	assert_same_file(uc, clean, "train.csv");
	assert_same_file(uc, clean, "test.csv");
	struct table a, b;
	table_load(&a, uc, "current.csv");
	table_load(&b, clean, "current.csv");
	const char *except[] = {"x4", "pred", "proba", NULL};
	assert_same_except(&a, &b, except);
	int ca = table_col(&a, "x4"), cb = table_col(&b, "x4");
	for (size_t r = 0; r < a.nrows; r++) {
		/* exact: the same digits, two places further right */
		const char *v = cell(&a, r, ca), *dot = strchr(v, '.');
		ck_assert_msg(dot && strlen(dot + 1) == 6, "x4 '%s' lacks 6 decimals", v);
		ck_assert_msg(fabs(num(&a, r, ca) * 100 - num(&b, r, cb)) < 1e-9, "x4 '%s' vs clean's '%s'", v,
			      cell(&b, r, cb));
	}
	/* the model uses x4 as given and loses x4's part: a small drop, not a broken model */
	double acc_a = accuracy(&a), acc_b = accuracy(&b);
	ck_assert_msg(acc_a < acc_b && acc_a > acc_b - 0.06, "current accuracy %g, clean's %g", acc_a, acc_b);
	table_free(&a);
	table_free(&b);

	/* fewer than 4 features: there is no x4 to change */
	struct synth_options o;
	synth_options_init(&o);
	o.scenario = "unit-change";
	o.out_dir = uc;
	o.features = 3;
	mla_error_clear();
	ck_assert_int_eq(synth_run(&o), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "--features 4"));
	mla_error_clear();
	free(uc);
	free(clean);
}
END_TEST

START_TEST(test_shuffled_labels_permute_train_labels_only)
{
	const char *dir = tmp_dir;
	char *sh = path2(dir, "sh"), *clean = path2(dir, "clean");
	run_ok("shuffled-labels", sh, 5000, 47, 0);
	run_ok("clean", clean, 5000, 47, 0);
	struct table a, b;
	table_load(&a, sh, "train.csv");
	table_load(&b, clean, "train.csv");
	const char *except[] = {"label", "pred", "proba", NULL};
	assert_same_except(&a, &b, except);
	/* a permutation: the same number of each label, placed at random, so a
	 * row keeps its label with chance p^2 + (1 - p)^2, about 0.52 (sd 0.007) */
	ck_assert_double_eq(yes_share(&a), yes_share(&b));
	int cl = table_col(&a, "label");
	size_t same = 0;
	for (size_t r = 0; r < a.nrows; r++)
		same += !strcmp(cell(&a, r, cl), cell(&b, r, cl));
	double agree = (double)same / (double)a.nrows;
	ck_assert_msg(agree > 0.47 && agree < 0.57, "labels agree with clean's on %g of rows", agree);
	/* the model learnt nothing: about the training prior, no better than the majority */
	double p = yes_share(&a), major = p > 0.5 ? p : 1 - p;
	ck_assert_msg(accuracy(&a) < major + 0.01, "train accuracy %g, majority %g", accuracy(&a), major);
	ck_assert_msg(fabs(column_mean(&a, "proba") - p) < 0.03, "mean proba %g, prior %g", column_mean(&a, "proba"), p);
	table_free(&a);
	table_free(&b);
	/* test and current keep clean's labels */
	const char *others[] = {"test.csv", "current.csv"};
	for (int i = 0; i < 2; i++) {
		table_load(&a, sh, others[i]);
		table_load(&b, clean, others[i]);
		const char *model[] = {"pred", "proba", NULL};
		assert_same_except(&a, &b, model);
		ck_assert_double_lt(accuracy(&a), major + 0.02);
		table_free(&a);
		table_free(&b);
	}
	free(sh);
	free(clean);
}
END_TEST

Suite *synth_suite(void)
{
	Suite *s = suite_create("synth");
	TCase *tc = tcase_create("synth");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_every_scenario_writes_its_files);
	tcase_add_test(tc, test_small_rows_get_50_eval_rows_and_ids_days_in_order);
	tcase_add_test(tc, test_same_seed_same_bytes_other_seed_differs);
	tcase_add_test(tc, test_output_is_pinned_for_a_fixed_seed);
	tcase_add_test(tc, test_unknown_scenario_lists_the_known_ones);
	tcase_add_test(tc, test_label_noise_flips_about_ten_percent_of_train_only);
	tcase_add_test(tc, test_drift_shifts_x1_on_current_only);
	tcase_add_test(tc, test_pipeline_bug_current_lacks_x3_and_income_is_1000x);
	tcase_add_test(tc, test_overfit_train_accuracy_well_above_test);
	tcase_add_test(tc, test_weak_segment_west_is_worse);
	tcase_add_test(tc, test_clean_model_is_good_everywhere);
	tcase_add_test(tc, test_numbers_are_canonical_and_pred_matches_proba);
	tcase_add_test(tc, test_gzip_output_is_gzip_of_the_plain_output);
	tcase_add_test(tc, test_features_option_sets_the_width);
	tcase_add_test(tc, test_new_scenarios_are_deterministic);
	tcase_add_test(tc, test_label_shift_moves_the_prior_and_keeps_p_x_given_y);
	tcase_add_test(tc, test_concept_drift_flips_the_rule_where_x4_above_1);
	tcase_add_test(tc, test_leakage_outcome_score_is_the_label_plus_noise);
	tcase_add_test(tc, test_unit_change_x4_is_100x_smaller_on_current_only);
	tcase_add_test(tc, test_shuffled_labels_permute_train_labels_only);
	suite_add_tcase(s, tc);
	return s;
}
