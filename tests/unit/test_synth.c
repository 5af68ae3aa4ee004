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
			/* id, region, channel, x1..x8, income, day, label, pred, proba */
			ck_assert_uint_eq(t.ncols, 16 - (size_t)bug_current);
			const char *fixed[] = {"id", "region", "channel", "x1", "x2"};
			for (int c = 0; c < 5; c++)
				ck_assert_str_eq(t.header[c], fixed[c]);
			ck_assert_int_eq(table_col(&t, "x3") < 0, bug_current);
			const char *tail[] = {"x8", "income", "day", "label", "pred", "proba"};
			for (int c = 0; c < 6; c++)
				ck_assert_str_eq(t.header[t.ncols - 6 + (size_t)c], tail[c]);
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
	suite_add_tcase(s, tc);
	return s;
}
