/* test_ingest.c - ingest_read (errors, types, roles, missing markers),
 * parse_number against strtod, the .frame file, and the quality profile. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/config.h"
#include "pipeline/util.h"
#include "stages/ingest/frame.h"
#include "stages/ingest/ingest.h"
#include "stages/ingest/quality.h"

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/mla_ingest_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	mla_error_clear();
}

static void teardown(void)
{
	remove_tree(tmpdir);
}

/* tmpdir/name; caller frees */
static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *write_file(const char *name, const char *data, size_t len, int gz)
{
	char *path = tmp_path(name);
	if (gz) {
		gzFile g = gzopen(path, "wb");
		ck_assert_ptr_nonnull(g);
		if (len)
			ck_assert_int_eq(gzwrite(g, data, (unsigned)len), (int)len);
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else {
		FILE *fp = fopen(path, "wb");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
		ck_assert_int_eq(fclose(fp), 0);
	}
	return path;
}

/* Options with the default missing markers and threshold, no roles. */
static struct ingest_options plain_options(void)
{
	struct ingest_options o = {0};
	o.max_bad_numeric = 0.01;
	return o;
}

static struct frame *read_text(const char *name, const char *text, const struct ingest_options *opt)
{
	mla_error_clear();
	char *path = write_file(name, text, strlen(text), 0);
	struct frame *f = ingest_read(path, "train", opt);
	ck_assert_msg(f != NULL, "ingest_read failed: %s", mla_error_message());
	free(path);
	return f;
}

static const struct frame_column *col(const struct frame *f, const char *name)
{
	int j = frame_find(f, name);
	ck_assert_msg(j >= 0, "no column '%s'", name);
	return &f->cols[j];
}

/* ---- errors ---- */

struct error_case {
	const char *what;
	const char *name;
	const char *input;
	size_t len;             /* 0: strlen */
	int gz;
	unsigned line, col;     /* expected position; line 0: the message has none */
	const char *words;      /* a substring of the message */
	const char *declared;   /* a column declared numeric, or NULL */
};

static const struct error_case error_cases[] = {
	{"too many fields", "e.csv", "a,b\n1,2\n3,4,5\n", 0, 0, 3, 5, "row has 3 fields, the header has 2", NULL},
	{"too few fields", "e.csv", "a,b,c\n1,2,3\n1,2\n", 0, 0, 3, 4, "row has 2 fields, the header has 3", NULL},
	{"ragged after a quoted newline", "e.csv", "a,b\n\"x\ny\",2\n3\n", 0, 0, 4, 2,
	 "row has 1 fields, the header has 2", NULL},
	{"unterminated quote", "e.csv", "a,b\n1,2\n3,\"xyz\n4,5\n", 0, 0, 3, 3, "unterminated quote", NULL},
	{"NUL byte", "e.csv", "a,b\n1,x\000y\n", 10, 0, 2, 4, "NUL byte", NULL},
	{"invalid UTF-8 in the header", "e.csv", "a,b\xff\n1,2\n", 0, 0, 1, 3, "not valid UTF-8", NULL},
	{"overlong UTF-8 in the header", "e.csv", "\xC0\xAF,b\n1,2\n", 0, 0, 1, 1, "not valid UTF-8", NULL},
	{"empty file", "e.csv", "", 0, 0, 1, 1, "empty file", NULL},
	{"only blank lines", "e.csv", "\n\r\n\n", 0, 0, 1, 1, "empty file", NULL},
	{"header only", "e.csv", "a,b\n", 0, 0, 2, 1, "no data rows", NULL},
	{"header only, gzip", "e.csv.gz", "a,b\n", 0, 1, 2, 1, "no data rows", NULL},
	{"duplicate column names", "e.csv", "a,b,a\n1,2,3\n", 0, 0, 1, 5, "duplicate column name 'a' (also column 1)",
	 NULL},
	{"declared numeric column with text", "e.csv", "id,x\n1,1\n2,abc\n3,3\n", 0, 0, 3, 3,
	 "column 'x' is declared numeric (config key numeric), but 1 of its 3 non-missing values", "x"},
};

START_TEST(test_ingest_errors)
{
	const struct error_case *c = &error_cases[_i];
	struct ingest_options opt = plain_options();
	struct strlist numeric = {0};
	if (c->declared) {
		strlist_add(&numeric, c->declared);
		opt.numeric = &numeric;
	}
	mla_error_clear();
	char *path = write_file(c->name, c->input, c->len ? c->len : strlen(c->input), c->gz);
	struct frame *f = ingest_read(path, "train", &opt);
	ck_assert_msg(f == NULL, "%s: expected an error", c->what);
	const char *msg = mla_error_message();
	char *prefix = xasprintf("%s:%u:%u: ", path, c->line, c->col);
	ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "%s: message '%s' should start with '%s'", c->what,
		      msg, prefix);
	ck_assert_msg(strstr(msg, c->words) != NULL, "%s: message '%s' should say '%s'", c->what, msg, c->words);
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	free(prefix);
	free(path);
	strlist_free(&numeric);
}
END_TEST

START_TEST(test_ingest_declared_numeric_message)
{
	struct ingest_options opt = plain_options();
	struct strlist numeric = {0};
	strlist_add(&numeric, "x");
	opt.numeric = &numeric;
	const char *text = "id,x\n1,1\n2,abc\n3,\n4,def\n";
	char *path = write_file("d.csv", text, strlen(text), 0);
	ck_assert_ptr_null(ingest_read(path, "train", &opt));
	const char *msg = mla_error_message();
	ck_assert_msg(strstr(msg, "2 of its 3 non-missing values (66.7%) are not numbers") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "max_bad_numeric (1%)") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "the first is 'abc'") != NULL, "%s", msg);

	/* under the threshold the same column reads, the bad cells as missing */
	mla_error_clear();
	opt.max_bad_numeric = 0.7;
	struct frame *f = ingest_read(path, "train", &opt);
	ck_assert_ptr_nonnull(f);
	const struct frame_column *x = col(f, "x");
	ck_assert_int_eq(x->type, COL_NUMERIC);
	ck_assert_uint_eq(x->n_bad, 2);
	ck_assert_uint_eq(x->n_missing, 1);
	ck_assert_uint_eq(x->first_bad_line, 3);
	ck_assert_str_eq(x->first_bad_value, "abc");
	ck_assert(isnan(x->num[1]) && isnan(x->num[2]) && isnan(x->num[3]));
	/* bad cells keep their own NaN, so a subset of rows still counts them */
	ck_assert(frame_is_bad(x->num[1]) && !frame_is_bad(x->num[2]) && frame_is_bad(x->num[3]));
	ck_assert_double_eq(x->num[0], 1);
	size_t rows[] = {2, 1, 0};
	struct frame *t = frame_take_rows(f, rows, 3, "test");
	const struct frame_column *tx = col(t, "x");
	ck_assert_uint_eq(tx->n_bad, 1);
	ck_assert_uint_eq(tx->n_missing, 1);
	ck_assert_str_eq(tx->first_bad_value, "abc");
	frame_free(t);
	t = frame_take_rows(f, rows + 2, 1, "test");
	ck_assert_uint_eq(col(t, "x")->n_bad, 0);
	ck_assert_ptr_null(col(t, "x")->first_bad_value);
	frame_free(t);
	frame_free(f);
	free(path);
	strlist_free(&numeric);
}
END_TEST

START_TEST(test_ingest_truncated_gzip)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "a,b\n");
	struct rng g;
	rng_seed(&g, 3);
	for (int i = 0; i < 20000; i++)
		sb_printf(&sb, "%llu,%d\n", (unsigned long long)rng_next(&g), i);
	char *path = write_file("g.csv.gz", sb.data, sb.len, 1);
	struct ingest_options opt = plain_options();
	struct frame *f = ingest_read(path, "train", &opt);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->nrows, 20000);
	frame_free(f);

	size_t n;
	char *gz = file_read_all(path, &n);
	ck_assert_ptr_nonnull(gz);
	char *cut = write_file("cut.csv.gz", gz, n * 2 / 3, 0);
	mla_error_clear();
	ck_assert_ptr_null(ingest_read(cut, "train", &opt));
	const char *msg = mla_error_message();
	ck_assert_msg(strncmp(msg, cut, strlen(cut)) == 0 && msg[strlen(cut)] == ':', "%s", msg);
	ck_assert_msg(strstr(msg, "truncated gzip stream") != NULL, "%s", msg);
	free(gz);
	free(cut);
	free(path);
	sb_free(&sb);
}
END_TEST

/* ---- types ---- */

START_TEST(test_ingest_numeric)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("n.csv", "x,z\n1,0\n2.5,1\n-3e2,1\n.5,0\n5.,1\n+3,0\n", &opt);
	ck_assert_uint_eq(f->nrows, 6);
	const struct frame_column *x = col(f, "x"), *z = col(f, "z");
	ck_assert_int_eq(x->type, COL_NUMERIC);
	double want[] = {1, 2.5, -300, 0.5, 5, 3};
	for (int i = 0; i < 6; i++)
		ck_assert_double_eq(x->num[i], want[i]);
	ck_assert_ptr_null(x->code);
	ck_assert_int_eq(z->type, COL_NUMERIC);  /* 0/1 numbers stay numeric */
	ck_assert_int_eq(x->role, ROLE_FEATURE);
	ck_assert_str_eq(f->split, "train");
	ck_assert_ptr_nonnull(strstr(f->source, "n.csv"));
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_boolean)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("b.csv", "b,c\ntrue,1\nFalse,2\nYES,3\nn,4\nNA,5\nT,6\nf,7\ny,8\nno,9\n", &opt);
	const struct frame_column *b = col(f, "b");
	ck_assert_int_eq(b->type, COL_BOOLEAN);
	double want[] = {1, 0, 1, 0, NAN, 1, 0, 1, 0};
	for (int i = 0; i < 9; i++)
		if (isnan(want[i]))
			ck_assert(isnan(b->num[i]));
		else
			ck_assert_double_eq(b->num[i], want[i]);
	ck_assert_uint_eq(b->n_missing, 1);
	ck_assert_uint_eq(b->n_bad, 0);
	ck_assert_ptr_null(b->code);
	frame_free(f);

	/* a boolean word among numbers is not a boolean column */
	f = read_text("b2.csv", "q\ntrue\n1\n", &opt);
	ck_assert_int_eq(col(f, "q")->type, COL_CATEGORICAL);
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_categorical)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("c.csv", "c\nred\nblue\nred\n\"gr,een\"\n", &opt);
	const struct frame_column *c = col(f, "c");
	ck_assert_int_eq(c->type, COL_CATEGORICAL);
	ck_assert_uint_eq(c->nlevels, 3);
	ck_assert_str_eq(c->levels[0], "red");
	ck_assert_str_eq(c->levels[1], "blue");
	ck_assert_str_eq(c->levels[2], "gr,een");
	int want[] = {0, 1, 0, 2};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(c->code[i], want[i]);
	ck_assert_str_eq(frame_level(c, 3), "gr,een");
	ck_assert_ptr_null(c->num);
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_declared_types)
{
	struct ingest_options opt = plain_options();
	struct strlist cat = {0}, num = {0};
	strlist_add(&cat, "zip");
	strlist_add(&num, "n");
	opt.categorical = &cat;
	opt.numeric = &num;
	struct frame *f = read_text("d.csv", "zip,n,b\n02134,1,true\n10001,2,false\n02134,,true\n", &opt);
	const struct frame_column *zip = col(f, "zip"), *n = col(f, "n");
	ck_assert_int_eq(zip->type, COL_CATEGORICAL);
	ck_assert_uint_eq(zip->nlevels, 2);
	ck_assert_str_eq(zip->levels[0], "02134");  /* the text, not the number */
	ck_assert_str_eq(zip->levels[1], "10001");
	ck_assert_int_eq(n->type, COL_NUMERIC);
	ck_assert(isnan(n->num[2]));
	ck_assert_uint_eq(n->n_missing, 1);
	ck_assert_int_eq(col(f, "b")->type, COL_BOOLEAN);
	frame_free(f);
	strlist_free(&cat);
	strlist_free(&num);
}
END_TEST

START_TEST(test_ingest_stragglers_within_threshold)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "v,w\n");
	for (int i = 0; i < 200; i++)
		sb_printf(&sb, "%s,%d\n", i == 100 ? "oops" : i % 7 == 0 ? "NA" : "1.25", i);
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("s.csv", sb.data, &opt);
	const struct frame_column *v = col(f, "v");
	ck_assert_int_eq(v->type, COL_NUMERIC);  /* 1 of 171 non-missing: 0.6% <= 1% */
	ck_assert_uint_eq(v->n_bad, 1);
	ck_assert_uint_eq(v->n_missing, 29);
	ck_assert_uint_eq(v->first_bad_line, 102);
	ck_assert_str_eq(v->first_bad_value, "oops");
	ck_assert(frame_is_bad(v->num[100]));
	ck_assert(isnan(v->num[0]) && !frame_is_bad(v->num[0]));
	ck_assert_double_eq(v->num[1], 1.25);
	ck_assert_double_eq(v->num[199], 1.25);
	ck_assert_ptr_null(v->code);
	frame_free(f);
	sb_free(&sb);
}
END_TEST

START_TEST(test_ingest_stragglers_past_threshold)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("p.csv", "m\n1\nx\n2.50\nNA\ny\n1\n1e3\n", &opt);
	const struct frame_column *m = col(f, "m");
	ck_assert_int_eq(m->type, COL_CATEGORICAL);
	/* numbers come back as %.15g text, levels in order of first appearance */
	const char *levels[] = {"1", "x", "2.5", "y", "1000"};
	ck_assert_uint_eq(m->nlevels, 5);
	for (int k = 0; k < 5; k++)
		ck_assert_str_eq(m->levels[k], levels[k]);
	int codes[] = {0, 1, 2, -1, 3, 0, 4};
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(m->code[i], codes[i]);
	ck_assert_uint_eq(m->n_missing, 1);
	ck_assert_uint_eq(m->n_bad, 0);
	ck_assert_ptr_null(m->num);
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_missing_markers)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("na.csv", "v,w\nNA,a\nN/A,b\nNaN,c\nnull,d\nNone,e\n,f\n1,g\n\"\",h\n", &opt);
	const struct frame_column *v = col(f, "v");
	ck_assert_int_eq(v->type, COL_NUMERIC);
	ck_assert_uint_eq(v->n_missing, 7);
	ck_assert_double_eq(v->num[6], 1);
	frame_free(f);

	/* markers match exactly: "na" is text */
	f = read_text("na2.csv", "v\n1\n2\nna\n", &opt);
	ck_assert_int_eq(col(f, "v")->type, COL_CATEGORICAL);
	ck_assert_uint_eq(col(f, "v")->n_missing, 0);
	frame_free(f);

	/* a list without None: a category literally named None */
	struct strlist na = {0};
	strlist_add(&na, "");
	strlist_add(&na, "NA");
	opt.na = &na;
	f = read_text("none.csv", "s,t\nNone,1\nx,\nNA,3\nNone,4\n", &opt);
	const struct frame_column *s = col(f, "s");
	ck_assert_int_eq(s->type, COL_CATEGORICAL);
	ck_assert_uint_eq(s->nlevels, 2);
	ck_assert_str_eq(s->levels[0], "None");
	ck_assert_int_eq(s->code[2], -1);
	ck_assert_int_eq(s->code[3], 0);
	ck_assert_uint_eq(s->n_missing, 1);
	ck_assert_uint_eq(col(f, "t")->n_missing, 1);  /* empty is always missing */
	frame_free(f);

	/* a numeric-looking marker is missing, not a number */
	strlist_add(&na, "-999");
	f = read_text("n999.csv", "x\n1\n-999\n2\n", &opt);
	ck_assert(isnan(col(f, "x")->num[1]));
	ck_assert_uint_eq(col(f, "x")->n_missing, 1);
	frame_free(f);
	strlist_free(&na);
}
END_TEST

START_TEST(test_ingest_all_missing_and_names)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("m.csv", ",b\n1,\n2,NA\n", &opt);
	ck_assert_str_eq(f->cols[0].name, "unnamed_1");  /* pandas' index column */
	const struct frame_column *b = col(f, "b");
	ck_assert_int_eq(b->type, COL_NUMERIC);
	ck_assert_uint_eq(b->n_missing, 2);
	ck_assert(isnan(b->num[0]) && isnan(b->num[1]));
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_invalid_utf8_level)
{
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("u.csv", "c\nab\xff\nok\nab\xff\n", &opt);
	const struct frame_column *c = col(f, "c");
	ck_assert_uint_eq(c->nlevels, 2);
	ck_assert_str_eq(c->levels[0], "ab\xEF\xBF\xBD");  /* repaired with U+FFFD */
	ck_assert_int_eq(c->code[2], 0);
	frame_free(f);
}
END_TEST

START_TEST(test_ingest_tsv_gzip_crlf)
{
	const char *text = "a\tb\r\n1\tx\r\n2\t\"y\tz\"\r\n";
	char *path = write_file("t.tsv.gz", text, strlen(text), 1);
	struct ingest_options opt = plain_options();
	struct frame *f = ingest_read(path, "test", &opt);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->nrows, 2);
	ck_assert_str_eq(frame_level(col(f, "b"), 1), "y\tz");
	ck_assert_double_eq(col(f, "a")->num[1], 2);
	frame_free(f);
	free(path);
}
END_TEST

/* ---- roles ---- */

START_TEST(test_ingest_roles)
{
	struct audit_config cfg;
	config_init(&cfg);
	cfg.label = xstrdup("y");
	cfg.id = xstrdup("id");
	cfg.time = xstrdup("t");
	cfg.pred = xstrdup("pred");
	cfg.proba_prefix = xstrdup("p_");
	cfg.weight = xstrdup("w");
	strlist_add(&cfg.segments, "seg");
	strlist_add(&cfg.ignore, "ign");
	struct ingest_options opt = plain_options();
	opt.cfg = &cfg;
	struct frame *f = read_text("r.csv",
				    "id,t,y,pred,p_0,p_1,seg,w,ign,f\n"
				    "7,1,0,0,0.8,0.2,1,1.5,q,3\n"
				    "8,2,1,1,0.1,0.9,2,1,r,4\n", &opt);
	struct { const char *name; enum col_role role; enum col_type type; } want[] = {
		{"id", ROLE_ID, COL_CATEGORICAL},        {"t", ROLE_TIME, COL_NUMERIC},
		{"y", ROLE_LABEL, COL_CATEGORICAL},      {"pred", ROLE_PREDICTION, COL_CATEGORICAL},
		{"p_0", ROLE_PROBA, COL_NUMERIC},        {"p_1", ROLE_PROBA, COL_NUMERIC},
		{"seg", ROLE_SEGMENT, COL_CATEGORICAL},  {"w", ROLE_WEIGHT, COL_NUMERIC},
		{"ign", ROLE_IGNORE, COL_CATEGORICAL},   {"f", ROLE_FEATURE, COL_NUMERIC}};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		const struct frame_column *c = col(f, want[k].name);
		ck_assert_msg(c->role == want[k].role, "%s: role %s", want[k].name, col_role_name(c->role));
		ck_assert_msg(c->type == want[k].type, "%s: type %s", want[k].name, col_type_name(c->type));
	}
	/* a 0/1 label is two classes named "0" and "1" */
	const struct frame_column *y = col(f, "y");
	ck_assert_uint_eq(y->nlevels, 2);
	ck_assert_str_eq(y->levels[0], "0");
	ck_assert_str_eq(y->levels[1], "1");
	ck_assert_int_eq(ingest_check_roles(f, &cfg, 1), 0);
	frame_free(f);

	/* a probability column must be numbers */
	free(cfg.proba_prefix);
	cfg.proba_prefix = NULL;
	cfg.proba = xstrdup("p");
	mla_error_clear();
	const char *text = "y,p\n0,0.5\n1,high\n";
	char *path = write_file("pr.csv", text, strlen(text), 0);
	ck_assert_ptr_null(ingest_read(path, "train", &opt));
	char *prefix = xasprintf("%s:3:3: column 'p' holds predicted probabilities", path);
	ck_assert_msg(strncmp(mla_error_message(), prefix, strlen(prefix)) == 0, "%s", mla_error_message());
	free(prefix);
	free(path);
	config_free(&cfg);
}
END_TEST

START_TEST(test_ingest_check_roles)
{
	struct audit_config cfg;
	config_init(&cfg);
	cfg.label = xstrdup("target");
	strlist_add(&cfg.segments, "Region");
	strlist_add(&cfg.ignore, "not_there");  /* ignoring an absent column is fine */
	struct ingest_options opt = plain_options();
	opt.cfg = &cfg;
	struct frame *f = read_text("cr.csv", "a,b,region\n1,2,x\n", &opt);

	mla_error_clear();
	ck_assert_int_eq(ingest_check_roles(f, &cfg, 0), 2);  /* not required: a count, no error */
	ck_assert_str_eq(mla_error_message(), "");

	ck_assert_int_eq(ingest_check_roles(f, &cfg, 1), -1);
	char *want = xasprintf("%s: config key 'label' names column 'target', which is not in the header "
			       "(columns: a, b, region)", f->source);
	ck_assert_str_eq(mla_error_message(), want);
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	free(want);

	mla_error_clear();
	free(cfg.label);
	cfg.label = xstrdup("a");
	ck_assert_int_eq(ingest_check_roles(f, &cfg, 1), -1);
	ck_assert_msg(strstr(mla_error_message(), "config key 'segments' names column 'Region'") &&
		      strstr(mla_error_message(), "did you mean 'region'?"), "%s", mla_error_message());

	mla_error_clear();
	cfg.proba_prefix = xstrdup("p_");
	strlist_free(&cfg.segments);
	ck_assert_int_eq(ingest_check_roles(f, &cfg, 1), -1);
	ck_assert_msg(strstr(mla_error_message(), "config key 'proba_prefix' is 'p_', but no column name starts with it"),
		      "%s", mla_error_message());
	frame_free(f);
	config_free(&cfg);
}
END_TEST

/* ---- parse_number ---- */

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* A random decimal string of the accepted grammar. */
static void random_number(struct rng *g, char *buf, size_t size)
{
	struct strbuf sb;
	sb_init(&sb);
	switch (rng_below(g, 8)) {
	case 0: sb_printf(&sb, "%.17g", (rng_uniform(g) - 0.5) * pow(10, (double)rng_below(g, 60) - 30)); break;
	case 1: sb_printf(&sb, "%.6g", rng_normal(g) * 100); break;
	case 2: {
		/* the raw bits of a random double: subnormals, huge and tiny values */
		uint64_t u = rng_next(g);
		double d;
		memcpy(&d, &u, 8);
		if (!isfinite(d))
			d = 1.5;
		sb_printf(&sb, "%.*g", (int)rng_below(g, 20) + 1, d);
		break;
	}
	default: {
		uint64_t r = rng_below(g, 3);
		if (r == 1)
			sb_putc(&sb, '-');
		else if (r == 2 && rng_below(g, 4) == 0)
			sb_putc(&sb, '+');
		size_t nint = rng_below(g, 4) == 0 ? rng_below(g, 26) : rng_below(g, 6);
		size_t nfrac = rng_below(g, 3) == 0 ? 0 : rng_below(g, 4) == 0 ? rng_below(g, 26) : rng_below(g, 8);
		if (nint + nfrac == 0)
			nint = 1;
		for (size_t i = 0; i < nint; i++)
			sb_putc(&sb, (char)('0' + (rng_below(g, 5) == 0 ? 0 : rng_below(g, 10))));
		if (nfrac || rng_below(g, 8) == 0)
			sb_putc(&sb, '.');
		for (size_t i = 0; i < nfrac; i++)
			sb_putc(&sb, (char)('0' + rng_below(g, 10)));
		if (rng_below(g, 3) == 0) {
			sb_putc(&sb, rng_below(g, 2) ? 'e' : 'E');
			uint64_t s = rng_below(g, 3);
			if (s)
				sb_putc(&sb, s == 1 ? '-' : '+');
			sb_printf(&sb, "%d", (int)(rng_below(g, 4) == 0 ? rng_below(g, 400) : rng_below(g, 40)));
		}
	}
	}
	snprintf(buf, size, "%s", sb.data);
	sb_free(&sb);
}

static const char *const edge_numbers[] = {
	"0", "-0", "+0", "0.0", "-0.0", "00", "007", ".5", "5.", "+3", "-1.5e-3", "1E5", "1e+5", "1e-5",
	"0.1", "0.2", "0.3", "1e22", "1e23", "9e22", "12e30", "123456789e22", "1e-22", "1e-23",
	"9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
	"18446744073709551615", "18446744073709551616", "1234567890123456789", "12345678901234567890",
	"0.30000000000000004", "1.7976931348623157e308", "1.7976931348623158e308",
	"1.7976931348623159e308", "1e309", "-1e400", "2.2250738585072011e-308", "2.2250738585072014e-308",
	"4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400",
	"0.000000000000000000000000000001", "100000000000000000000000", "3.14159265358979323846264338327950288",
	"1e0000000000000000000000000001", "0e999999999999", "1.00000000000000011102230246251565404236316680908203125",
	"1.00000000000000011102230246251565404236316680908203124", "7.2057594037927933e16", "8.98846567431158e307",
	"000000000000000000000000000000000001", "0.0000000000000000000000000000000000001e37",
};

static const char *const not_numbers[] = {
	"", "+", "-", ".", "+.", "-.e1", "e5", "E5", "1e", "1e+", "1e-", "1.2.3", "--1", "+-1", "1-", "1e5.5",
	"1d5", "0x10", "0X1p3", "1,5", "1_000", " 1", "1 ", "\t1", "inf", "-inf", "INF", "Infinity", "nan", "NaN",
	"-nan", "1f", "1.5L", "e", ".e1", "1ee5", "1e5e5", "\xD9\xA1",
};

START_TEST(test_parse_number_edges)
{
	for (size_t k = 0; k < sizeof edge_numbers / sizeof edge_numbers[0]; k++) {
		const char *s = edge_numbers[k];
		double got = 12345, want = strtod(s, NULL);
		ck_assert_msg(parse_number(s, strlen(s), &got) == 1, "'%s' should be a number", s);
		ck_assert_msg(same_bits(got, want), "'%s': got %a want %a", s, got, want);
	}
	for (size_t k = 0; k < sizeof not_numbers / sizeof not_numbers[0]; k++) {
		const char *s = not_numbers[k];
		double got;
		ck_assert_msg(parse_number(s, strlen(s), &got) == 0, "'%s' should not be a number", s);
	}
	/* only [s, s + len) is looked at */
	double v;
	ck_assert_int_eq(parse_number("12x", 2, &v), 1);
	ck_assert_double_eq(v, 12);
	ck_assert_int_eq(parse_number("1e5", 2, &v), 0);
}
END_TEST

START_TEST(test_parse_number_random)
{
	struct rng g;
	rng_seed(&g, 2024);
	char buf[128];
	for (int k = 0; k < 300000; k++) {
		random_number(&g, buf, sizeof buf);
		double got = 0, want = strtod(buf, NULL);
		ck_assert_msg(parse_number(buf, strlen(buf), &got) == 1, "'%s' should be a number", buf);
		ck_assert_msg(same_bits(got, want), "'%s': got %a want %a", buf, got, want);
	}
}
END_TEST

/* The ingest's own number path (which reads 8 bytes at a time from the CSV
 * buffer) agrees with strtod too, on the same kinds of strings. */
START_TEST(test_parse_number_in_csv)
{
	enum { N = 40000 };
	struct rng g;
	rng_seed(&g, 99);
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "x,y\n");
	double *want = xmalloc(N * sizeof *want);
	char buf[128];
	for (int i = 0; i < N; i++) {
		random_number(&g, buf, sizeof buf);
		want[i] = strtod(buf, NULL);
		sb_printf(&sb, "%s,%s\n", buf, i % 2 ? "a" : "b");
	}
	for (size_t k = 0; k < sizeof edge_numbers / sizeof edge_numbers[0]; k++)
		sb_printf(&sb, "%s,c\n", edge_numbers[k]);
	struct ingest_options opt = plain_options();
	struct frame *f = read_text("num.csv", sb.data, &opt);
	const struct frame_column *x = col(f, "x");
	ck_assert_int_eq(x->type, COL_NUMERIC);
	ck_assert_uint_eq(x->n_bad, 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(same_bits(x->num[i], want[i]), "row %d: got %a want %a", i, x->num[i], want[i]);
	for (size_t k = 0; k < sizeof edge_numbers / sizeof edge_numbers[0]; k++) {
		double w = strtod(edge_numbers[k], NULL);
		ck_assert_msg(same_bits(x->num[N + k], w), "'%s': got %a want %a", edge_numbers[k], x->num[N + k], w);
	}
	frame_free(f);
	free(want);
	sb_free(&sb);
}
END_TEST

/* ---- frame file ---- */

static const char *const mixed_csv =
	"id,x,c,k,b\n"
	"1,1,a,7,true\n"
	"2,2,b,7,false\n"
	"3,3,a,7,true\n"
	"4,4,,7,true\n"
	"5,NA,a,7,false\n"
	"6,1,a,7,true\n";

static struct frame *mixed_frame(struct audit_config *cfg)
{
	config_init(cfg);
	cfg->id = xstrdup("id");
	struct ingest_options opt = plain_options();
	opt.cfg = cfg;
	return read_text("mixed.csv", mixed_csv, &opt);
}

static void assert_frames_equal(const struct frame *a, const struct frame *b)
{
	ck_assert_str_eq(a->split, b->split);
	ck_assert_str_eq(a->source, b->source);
	ck_assert_uint_eq(a->nrows, b->nrows);
	ck_assert_uint_eq(a->ncols, b->ncols);
	for (size_t j = 0; j < a->ncols; j++) {
		const struct frame_column *x = &a->cols[j], *y = &b->cols[j];
		ck_assert_str_eq(x->name, y->name);
		ck_assert_int_eq(x->type, y->type);
		ck_assert_int_eq(x->role, y->role);
		ck_assert_uint_eq(x->n_missing, y->n_missing);
		ck_assert_uint_eq(x->n_bad, y->n_bad);
		ck_assert_uint_eq(x->first_bad_line, y->first_bad_line);
		ck_assert_int_eq(x->first_bad_value == NULL, y->first_bad_value == NULL);
		if (x->first_bad_value)
			ck_assert_str_eq(x->first_bad_value, y->first_bad_value);
		ck_assert_uint_eq(x->nlevels, y->nlevels);
		for (size_t l = 0; l < x->nlevels; l++)
			ck_assert_str_eq(x->levels[l], y->levels[l]);
		ck_assert_int_eq(x->code == NULL, y->code == NULL);
		if (x->code)
			ck_assert_mem_eq(x->code, y->code, a->nrows * sizeof *x->code);
		else
			ck_assert_mem_eq(x->num, y->num, a->nrows * sizeof *x->num);
	}
}

START_TEST(test_frame_round_trip)
{
	struct audit_config cfg;
	struct frame *f = mixed_frame(&cfg);
	/* a numeric column with a bad cell, for the counters */
	free(f->cols[3].first_bad_value);
	f->cols[3].n_bad = 1;
	f->cols[3].first_bad_line = 9;
	f->cols[3].first_bad_value = xstrdup("oops");
	char *path = tmp_path("mixed.frame");
	ck_assert_int_eq(frame_write(f, path), 0);
	struct frame *g = frame_read(path);
	ck_assert_msg(g != NULL, "%s", mla_error_message());
	assert_frames_equal(f, g);
	frame_free(g);

	/* every truncation and every flipped byte is an error naming the file */
	size_t n;
	char *bytes = file_read_all(path, &n);
	ck_assert_ptr_nonnull(bytes);
	char *bad = tmp_path("bad.frame");
	for (size_t cut = 0; cut < n; cut++) {
		FILE *fp = fopen(bad, "wb");
		fwrite(bytes, 1, cut, fp);
		fclose(fp);
		mla_error_clear();
		ck_assert_msg(frame_read(bad) == NULL, "cut at %zu of %zu read", cut, n);
		ck_assert_int_eq(mla_error_status(), MLA_EINTERNAL);
		ck_assert_msg(strncmp(mla_error_message(), bad, strlen(bad)) == 0, "%s", mla_error_message());
	}
	for (size_t i = 0; i < n; i++) {
		bytes[i] ^= 0x10;
		FILE *fp = fopen(bad, "wb");
		fwrite(bytes, 1, n, fp);
		fclose(fp);
		bytes[i] ^= 0x10;
		mla_error_clear();
		ck_assert_msg(frame_read(bad) == NULL, "flipped byte %zu of %zu read", i, n);
		ck_assert_msg(strstr(mla_error_message(), "corrupt or truncated frame file"), "%s", mla_error_message());
	}
	/* trailing bytes too */
	FILE *fp = fopen(bad, "wb");
	fwrite(bytes, 1, n, fp);
	fputc(0, fp);
	fclose(fp);
	mla_error_clear();
	ck_assert_ptr_null(frame_read(bad));
	free(bad);
	free(bytes);
	free(path);
	frame_free(f);
	config_free(&cfg);
}
END_TEST

START_TEST(test_frame_round_trip_big)
{
	/* columns larger than one compression chunk */
	enum { N = 300000 };
	struct frame *f = xcalloc(1, sizeof *f);
	f->split = xstrdup("current_1");
	f->source = xstrdup("/data/x.csv.gz");
	f->nrows = N;
	f->ncols = 2;
	f->cols = xcalloc(2, sizeof *f->cols);
	f->cols[0].name = xstrdup("x");
	f->cols[0].num = xmalloc(N * sizeof(double));
	f->cols[1].name = xstrdup("c");
	f->cols[1].type = COL_CATEGORICAL;
	f->cols[1].role = ROLE_SEGMENT;
	f->cols[1].code = xmalloc(N * sizeof(int32_t));
	f->cols[1].nlevels = 1000;
	f->cols[1].levels = xcalloc(1000, sizeof(char *));
	for (int l = 0; l < 1000; l++)
		f->cols[1].levels[l] = xasprintf("level %d", l);
	struct rng g;
	rng_seed(&g, 5);
	for (int i = 0; i < N; i++) {
		f->cols[0].num[i] = i % 10 == 0 ? NAN : rng_normal(&g);
		f->cols[1].code[i] = (int32_t)rng_below(&g, 1001) - 1;
	}
	char *path = tmp_path("big.frame");
	ck_assert_int_eq(frame_write(f, path), 0);
	struct frame *h = frame_read(path);
	ck_assert_msg(h != NULL, "%s", mla_error_message());
	assert_frames_equal(f, h);
	frame_free(h);
	frame_free(f);
	free(path);
}
END_TEST

START_TEST(test_frame_take_rows)
{
	struct audit_config cfg;
	struct frame *f = mixed_frame(&cfg);
	size_t rows[] = {5, 0, 4, 3};
	struct frame *t = frame_take_rows(f, rows, 4, "test");
	ck_assert_str_eq(t->split, "test");
	ck_assert_uint_eq(t->nrows, 4);
	ck_assert_uint_eq(t->ncols, f->ncols);
	const struct frame_column *x = col(t, "x"), *c = col(t, "c"), *id = col(t, "id");
	ck_assert_double_eq(x->num[0], 1);
	ck_assert_double_eq(x->num[1], 1);
	ck_assert(isnan(x->num[2]));
	ck_assert_double_eq(x->num[3], 4);
	ck_assert_uint_eq(x->n_missing, 1);
	ck_assert_str_eq(frame_level(c, 0), "a");
	ck_assert_ptr_null(frame_level(c, 3));
	ck_assert_uint_eq(c->n_missing, 1);
	ck_assert_str_eq(frame_level(id, 0), "6");
	ck_assert_int_eq(id->role, ROLE_ID);
	ck_assert_int_eq(col(t, "b")->type, COL_BOOLEAN);
	frame_free(t);
	frame_free(f);
	config_free(&cfg);
}
END_TEST

/* ---- quality ---- */

static double jget(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(v != NULL, "no key '%s'", key);
	ck_assert_msg(json_is_number(v), "'%s' is not a number", key);
	return json_number_value(v);
}

static const json_t *jcol(const json_t *q, const char *name)
{
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(q, "columns"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	ck_abort_msg("no column %s in the profile", name);
	return NULL;
}

START_TEST(test_quality_profile)
{
	struct audit_config cfg;
	struct frame *f = mixed_frame(&cfg);
	json_t *q = quality_profile(f);
	ck_assert_double_eq(jget(q, "rows"), 6);
	ck_assert_double_eq(jget(q, "duplicate_rows"), 1);  /* row 6 repeats row 1 but for its id */
	const json_t *cc = json_object_get(q, "constant_columns");
	ck_assert_uint_eq(json_array_size(cc), 1);
	ck_assert_str_eq(json_string_value(json_array_get(cc, 0)), "k");

	/* x = 1 2 3 4 NA 1: sorted 1 1 2 3 4 */
	const json_t *x = jcol(q, "x");
	ck_assert_str_eq(json_string_value(json_object_get(x, "type")), "numeric");
	ck_assert_str_eq(json_string_value(json_object_get(x, "role")), "feature");
	ck_assert_double_eq(jget(x, "missing"), 1);
	ck_assert_double_eq_tol(jget(x, "missing_rate"), 1.0 / 6, 1e-15);
	ck_assert_double_eq(jget(x, "distinct"), 4);
	ck_assert_double_eq(jget(x, "bad_numeric"), 0);
	ck_assert_double_eq(jget(x, "min"), 1);
	ck_assert_double_eq(jget(x, "max"), 4);
	ck_assert_double_eq_tol(jget(x, "mean"), 2.2, 1e-15);
	ck_assert_double_eq_tol(jget(x, "std"), sqrt(6.8 / 4), 1e-15);
	const json_t *qs = json_object_get(x, "quantiles");
	/* linear interpolation at h = (n - 1) p = 4p */
	ck_assert_double_eq_tol(jget(qs, "p01"), 1, 1e-15);
	ck_assert_double_eq_tol(jget(qs, "p25"), 1, 1e-15);
	ck_assert_double_eq_tol(jget(qs, "p50"), 2, 1e-15);
	ck_assert_double_eq_tol(jget(qs, "p75"), 3, 1e-15);
	ck_assert_double_eq_tol(jget(qs, "p95"), 3.8, 1e-15);
	ck_assert_double_eq_tol(jget(qs, "p99"), 3.96, 1e-15);

	/* c = a b a NA a a */
	const json_t *c = jcol(q, "c");
	ck_assert_double_eq(jget(c, "missing"), 1);
	ck_assert_double_eq(jget(c, "distinct"), 2);
	const json_t *top = json_object_get(c, "top");
	ck_assert_uint_eq(json_array_size(top), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(top, 0), "value")), "a");
	ck_assert_double_eq(jget(json_array_get(top, 0), "count"), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(top, 1), "value")), "b");
	ck_assert_ptr_null(json_object_get(c, "mean"));

	/* b: boolean 1 0 1 1 0 1 */
	const json_t *b = jcol(q, "b");
	ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "boolean");
	ck_assert_double_eq_tol(jget(b, "mean"), 4.0 / 6, 1e-15);
	ck_assert_double_eq(jget(b, "distinct"), 2);

	/* k: one value; its std is 0, quantiles 7 */
	const json_t *k = jcol(q, "k");
	ck_assert_double_eq(jget(k, "std"), 0);
	ck_assert_double_eq(jget(json_object_get(k, "quantiles"), "p05"), 7);

	/* id: 6 levels of one row each, ties by value */
	const json_t *id = jcol(q, "id");
	ck_assert_str_eq(json_string_value(json_object_get(id, "role")), "id");
	ck_assert_double_eq(jget(id, "distinct"), 6);
	top = json_object_get(id, "top");
	ck_assert_uint_eq(json_array_size(top), 6);
	for (size_t i = 0; i < 6; i++) {
		char want[4];
		snprintf(want, sizeof want, "%zu", i + 1);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(top, i), "value")), want);
	}
	json_decref(q);
	frame_free(f);
	config_free(&cfg);
}
END_TEST

START_TEST(test_quality_top_and_nonfinite)
{
	/* 12 levels with counts that need the top-10 cut and the tie rule, and
	 * a numeric column with an infinity and one value (std undefined) */
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "c,x,one,bad\n");
	const char *names[] = {"k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a", "z"};
	int counts[] = {1, 2, 2, 3, 3, 3, 4, 5, 6, 7, 7, 1};
	int row = 0;
	for (int l = 0; l < 12; l++)
		for (int r = 0; r < counts[l]; r++, row++)
			sb_printf(&sb, "%s,%s,%s,%s\n", names[l], row == 0 ? "1e999" : "1", row == 3 ? "5" : "",
				  row == 2 ? "\xff\xfe" : "1");
	struct ingest_options opt = plain_options();
	opt.max_bad_numeric = 0.5;
	struct frame *f = read_text("top.csv", sb.data, &opt);
	json_t *q = quality_profile(f);
	const json_t *top = json_object_get(jcol(q, "c"), "top");
	ck_assert_uint_eq(json_array_size(top), 10);
	const char *want[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
	for (int i = 0; i < 10; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(top, (size_t)i), "value")), want[i]);
	ck_assert_double_eq(jget(jcol(q, "c"), "distinct"), 12);

	const json_t *x = jcol(q, "x");
	ck_assert(json_is_null(json_object_get(x, "max")));   /* +inf */
	ck_assert(json_is_null(json_object_get(x, "mean")));
	ck_assert_double_eq(jget(x, "min"), 1);
	const json_t *one = jcol(q, "one");
	ck_assert(json_is_null(json_object_get(one, "std")));  /* a single value */
	ck_assert_double_eq(jget(one, "mean"), 5);
	const json_t *bad = jcol(q, "bad");
	ck_assert_double_eq(jget(bad, "bad_numeric"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(bad, "first_bad_value")), "??");
	ck_assert_double_eq(jget(bad, "first_bad_line"), 4);
	char *dump = json_dumps(q, 0);
	ck_assert_ptr_nonnull(dump);  /* valid JSON: no NaN or inf slipped in */
	free(dump);
	json_decref(q);
	frame_free(f);
	sb_free(&sb);
}
END_TEST

START_TEST(test_quality_sorting_big)
{
	/* the radix sort against a simple check: quantiles of a shuffled ramp */
	enum { N = 100001 };
	struct frame *f = xcalloc(1, sizeof *f);
	f->split = xstrdup("train");
	f->nrows = N;
	f->ncols = 1;
	f->cols = xcalloc(1, sizeof *f->cols);
	f->cols[0].name = xstrdup("r");
	f->cols[0].num = xmalloc(N * sizeof(double));
	for (int i = 0; i < N; i++)
		f->cols[0].num[i] = (double)i - 50000;  /* -50000 .. 50000, negatives included */
	struct rng g;
	rng_seed(&g, 1);
	for (int i = N - 1; i > 0; i--) {
		int j = (int)rng_below(&g, (uint64_t)i + 1);
		double t = f->cols[0].num[i];
		f->cols[0].num[i] = f->cols[0].num[j];
		f->cols[0].num[j] = t;
	}
	json_t *q = quality_profile(f);
	const json_t *r = jcol(q, "r"), *qs = json_object_get(r, "quantiles");
	ck_assert_double_eq(jget(r, "min"), -50000);
	ck_assert_double_eq(jget(r, "max"), 50000);
	ck_assert_double_eq(jget(r, "distinct"), N);
	ck_assert_double_eq_tol(jget(qs, "p01"), -49000, 1e-9);
	ck_assert_double_eq_tol(jget(qs, "p50"), 0, 1e-9);
	ck_assert_double_eq_tol(jget(qs, "p75"), 25000, 1e-9);
	ck_assert_double_eq_tol(jget(r, "mean"), 0, 1e-9);
	ck_assert_double_eq(jget(q, "duplicate_rows"), 0);
	json_decref(q);
	frame_free(f);
}
END_TEST

Suite *ingest_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("ingest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_ingest_errors, 0, (int)(sizeof error_cases / sizeof error_cases[0]));
	tcase_add_test(tc, test_ingest_declared_numeric_message);
	tcase_add_test(tc, test_ingest_truncated_gzip);
	tcase_add_test(tc, test_ingest_numeric);
	tcase_add_test(tc, test_ingest_boolean);
	tcase_add_test(tc, test_ingest_categorical);
	tcase_add_test(tc, test_ingest_declared_types);
	tcase_add_test(tc, test_ingest_stragglers_within_threshold);
	tcase_add_test(tc, test_ingest_stragglers_past_threshold);
	tcase_add_test(tc, test_ingest_missing_markers);
	tcase_add_test(tc, test_ingest_all_missing_and_names);
	tcase_add_test(tc, test_ingest_invalid_utf8_level);
	tcase_add_test(tc, test_ingest_tsv_gzip_crlf);
	tcase_add_test(tc, test_ingest_roles);
	tcase_add_test(tc, test_ingest_check_roles);
	tcase_add_test(tc, test_parse_number_edges);
	tcase_add_test(tc, test_parse_number_random);
	tcase_add_test(tc, test_parse_number_in_csv);
	tcase_add_test(tc, test_frame_round_trip);
	tcase_add_test(tc, test_frame_round_trip_big);
	tcase_add_test(tc, test_frame_take_rows);
	tcase_add_test(tc, test_quality_profile);
	tcase_add_test(tc, test_quality_top_and_nonfinite);
	tcase_add_test(tc, test_quality_sorting_big);
	suite_add_tcase(s, tc);
	return s;
}
