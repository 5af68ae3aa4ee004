/* test_csv.c - the streaming CSV reader: RFC 4180 edge cases, positions,
 * errors, gzip, rows longer than the buffer, and a random round trip. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/util.h"
#include "stages/ingest/csv.h"

/* Each test runs in its own process (Check forks) with its own folder. */
static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/mla_csv_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	mla_error_clear();
}

static void teardown(void)
{
	remove_tree(tmpdir);
}

/* Write `len` bytes to tmpdir/name (gzip-compressed when gz); path is static. */
static const char *write_file(const char *name, const char *data, size_t len, int gz)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
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

/* The rows as one string: fields joined by '|', rows ended by '/', and
 * control characters shown as \n \r; or "ERROR: message". Caller frees. */
static char *render(const char *path, char delim)
{
	struct strbuf sb;
	sb_init(&sb);
	struct csv_reader *r = csv_open(path, delim);
	if (!r) {
		sb_printf(&sb, "ERROR: %s", mla_error_message());
		return sb_detach(&sb);
	}
	struct csv_row row;
	int rc;
	while ((rc = csv_next(r, &row)) > 0) {
		for (size_t i = 0; i < row.nfields; i++) {
			if (i)
				sb_putc(&sb, '|');
			ck_assert_uint_eq(strlen(row.field[i]), row.len[i]);  /* NUL-terminated */
			for (size_t k = 0; k < row.len[i]; k++) {
				char c = row.field[i][k];
				if (c == '\n')
					sb_puts(&sb, "\\n");
				else if (c == '\r')
					sb_puts(&sb, "\\r");
				else
					sb_putc(&sb, c);
			}
		}
		sb_putc(&sb, '/');
	}
	if (rc < 0)
		sb_printf(&sb, "ERROR: %s", mla_error_message());
	csv_close(r);
	return sb_detach(&sb);
}

struct csv_case {
	const char *what;
	const char *name;     /* file name: the extension picks the delimiter */
	const char *input;
	size_t len;           /* 0: strlen(input) */
	const char *expect;   /* render() output; for errors "ERROR: " + a substring */
};

static const struct csv_case cases[] = {
	{"plain LF", "a.csv", "a,b\n1,2\n", 0, "a|b/1|2/"},
	{"last line without newline", "a.csv", "a,b\n1,2", 0, "a|b/1|2/"},
	{"CRLF", "a.csv", "a,b\r\n1,2\r\n", 0, "a|b/1|2/"},
	{"CRLF, last line without newline", "a.csv", "a,b\r\n1,2", 0, "a|b/1|2/"},
	{"quoted delimiter", "a.csv", "a,b\n\"x,y\",2\n", 0, "a|b/x,y|2/"},
	{"doubled quotes", "a.csv", "a\n\"he said \"\"hi\"\"\"\n", 0, "a/he said \"hi\"/"},
	{"only a doubled quote", "a.csv", "a,b\n\"\"\"\",1\n", 0, "a|b/\"|1/"},
	{"LF inside quotes", "a.csv", "a,b\n\"l1\nl2\",2\n3,4\n", 0, "a|b/l1\\nl2|2/3|4/"},
	{"CRLF inside quotes is kept", "a.csv", "a,b\r\n\"l1\r\nl2\",2\r\n", 0, "a|b/l1\\r\\nl2|2/"},
	{"UTF-8 BOM", "a.csv", "\xEF\xBB\xBF" "a,b\n1,2\n", 0, "a|b/1|2/"},
	{"BOM then quoted header", "a.csv", "\xEF\xBB\xBF\"a\",b\n1,2\n", 0, "a|b/1|2/"},
	{"TSV by extension", "a.tsv", "a\tb\nx,y\t2\n", 0, "a|b/x,y|2/"},
	{"empty fields", "a.csv", "a,b,c\n,,\n,x,\n", 0, "a|b|c/||/|x|/"},
	{"quoted empty field", "a.csv", "a,b\n\"\",1\n", 0, "a|b/|1/"},
	{"trailing blank line", "a.csv", "a,b\n1,2\n\n", 0, "a|b/1|2/"},
	{"trailing blank CRLF lines", "a.csv", "a,b\r\n1,2\r\n\r\n\r\n", 0, "a|b/1|2/"},
	{"blank line inside", "a.csv", "a,b\n\n1,2\n", 0, "a|b/1|2/"},
	{"leading blank line", "a.csv", "\na,b\n1,2\n", 0, "a|b/1|2/"},
	{"quote inside an unquoted field is literal", "a.csv", "h,w\nx,5'11\"\nab\"c,d\n", 0,
	 "h|w/x|5'11\"/ab\"c|d/"},
	{"text after a closing quote is kept", "a.csv", "a,b\n\"ab\"c,d\n", 0, "a|b/abc|d/"},
	{"quoted last field at EOF", "a.csv", "a\n\"x\"", 0, "a/x/"},
	{"quoted last field, CRLF", "a.csv", "a,b\r\n1,\"x\"\r\n", 0, "a|b/1|x/"},
	{"CR inside an unquoted field is kept", "a.csv", "a\nx\ry\n", 0, "a/x\\ry/"},
	{"spaces are kept", "a.csv", "a,b\n 1 , x \n", 0, "a|b/ 1 | x /"},
	{"delimiter at the end", "a.csv", "a,b\n1,\n", 0, "a|b/1|/"},
	{"single column", "a.csv", "a\n1\n2\n", 0, "a/1/2/"},
	{"empty file", "a.csv", "", 0, ""},
	{"only a BOM", "a.csv", "\xEF\xBB\xBF", 0, ""},
	{"unterminated quote", "a.csv", "a,b\n1,\"xyz\n2,3\n", 0,
	 "ERROR: a.csv:2:3: unterminated quote"},
	{"unterminated quote on the header", "a.csv", "\"a,b\n", 0, "ERROR: a.csv:1:1: unterminated quote"},
	{"NUL byte", "a.csv", "a,b\n1,2\0003\n", 9, "ERROR: a.csv:2:4: NUL byte"},
	{"NUL byte in a quoted field", "a.csv", "a,b\n\"x\000\",2\n", 11, "ERROR: a.csv:2:3: NUL byte"},
};

START_TEST(test_csv_table)
{
	const struct csv_case *c = &cases[_i];
	mla_error_clear();
	const char *path = write_file(c->name, c->input, c->len ? c->len : strlen(c->input), 0);
	char *got = render(path, 0);
	if (strncmp(c->expect, "ERROR: ", 7) == 0) {
		ck_assert_msg(strncmp(got, "ERROR: ", 7) == 0 || strstr(got, "ERROR: "),
			      "%s: expected an error, got '%s'", c->what, got);
		ck_assert_msg(strstr(got, c->expect + 7) != NULL, "%s: expected '%s' in '%s'", c->what,
			      c->expect + 7, got);
		ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
	} else {
		ck_assert_msg(strcmp(got, c->expect) == 0, "%s: expected '%s', got '%s'", c->what, c->expect, got);
	}
	free(got);

	/* the same bytes gzip-compressed read the same (errors included) */
	mla_error_clear();
	char gzname[64];
	snprintf(gzname, sizeof gzname, "%s.gz", c->name);
	path = write_file(gzname, c->input, c->len ? c->len : strlen(c->input), 1);
	got = render(path, 0);
	if (strncmp(c->expect, "ERROR: ", 7) == 0)
		ck_assert_msg(strstr(got, c->expect + 7 + strlen(c->name)) != NULL, "%s (gz): expected '%s' in '%s'",
			      c->what, c->expect + 7, got);
	else
		ck_assert_msg(strcmp(got, c->expect) == 0, "%s (gz): expected '%s', got '%s'", c->what, c->expect, got);
	free(got);
}
END_TEST

START_TEST(test_csv_explicit_delimiter)
{
	const char *path = write_file("semi.csv", "a;b\n\"x;y\";2\n", 12, 0);
	char *got = render(path, ';');
	ck_assert_str_eq(got, "a|b/x;y|2/");
	free(got);
}
END_TEST

START_TEST(test_csv_positions)
{
	/* lines and columns of every field, across a quoted newline */
	const char *text = "a,bb,c\n1,\"x\ny\",zz\n\"q\",,w\r\n";
	const char *path = write_file("pos.csv", text, strlen(text), 0);
	struct csv_reader *r = csv_open(path, 0);
	ck_assert_ptr_nonnull(r);
	struct csv_row row;
	ck_assert_int_eq(csv_next(r, &row), 1);
	ck_assert_uint_eq(row.line, 1);
	ck_assert_uint_eq(row.fcol[0], 1);
	ck_assert_uint_eq(row.fcol[1], 3);
	ck_assert_uint_eq(row.fcol[2], 6);
	ck_assert_int_eq(csv_next(r, &row), 1);
	ck_assert_uint_eq(row.line, 2);
	ck_assert_uint_eq(row.fline[1], 2);
	ck_assert_uint_eq(row.fcol[1], 3);
	ck_assert_uint_eq(row.fline[2], 3);  /* after the quoted newline */
	ck_assert_uint_eq(row.fcol[2], 4);
	ck_assert_uint_eq(row.end_line, 3);
	ck_assert_uint_eq(row.end_col, 6);
	ck_assert_int_eq(csv_next(r, &row), 1);
	ck_assert_uint_eq(row.line, 4);
	ck_assert_uint_eq(row.nfields, 3);
	ck_assert_str_eq(row.field[0], "q");
	ck_assert_str_eq(row.field[1], "");
	ck_assert_str_eq(row.field[2], "w");
	ck_assert_uint_eq(row.fcol[2], 6);
	ck_assert_int_eq(csv_next(r, &row), 0);
	ck_assert_uint_eq(csv_bytes_read(r), strlen(text));
	csv_close(r);
}
END_TEST

START_TEST(test_csv_truncated_gzip)
{
	/* enough varied text that the compressed stream is long, then cut it */
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "id,x\n");
	struct rng g;
	rng_seed(&g, 7);
	for (int i = 0; i < 20000; i++)
		sb_printf(&sb, "%d,%llu\n", i, (unsigned long long)rng_next(&g));
	const char *path = write_file("t.csv.gz", sb.data, sb.len, 1);
	char *full = render(path, 0);
	ck_assert_ptr_null(strstr(full, "ERROR"));
	free(full);

	FILE *fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	char *gz = xmalloc(1 << 20);
	size_t n = fread(gz, 1, 1 << 20, fp);
	fclose(fp);
	ck_assert_uint_gt(n, 1000);
	size_t cuts[] = {n / 2, n - 4, 20};
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		mla_error_clear();
		char path2[300];
		snprintf(path2, sizeof path2, "%s/cut.csv.gz", tmpdir);
		fp = fopen(path2, "wb");
		fwrite(gz, 1, cuts[k], fp);
		fclose(fp);
		char *got = render(path2, 0);
		ck_assert_msg(strstr(got, "truncated gzip stream") != NULL, "cut at %zu: %s", cuts[k],
			      got + (strlen(got) > 200 ? strlen(got) - 200 : 0));
		ck_assert_msg(strstr(got, "cut.csv.gz:") != NULL, "message names the file");
		free(got);
	}
	free(gz);
	sb_free(&sb);
}
END_TEST

START_TEST(test_csv_long_rows)
{
	/* fields longer than the 1 MiB buffer, quoted and not, and a quoted
	 * field whose newlines span several refills */
	size_t big = 3u << 20;
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "a,b\n");
	for (size_t i = 0; i < big; i++)
		sb_putc(&sb, (char)('a' + i % 26));
	sb_puts(&sb, ",1\n\"");
	for (size_t i = 0; i < big; i++)
		sb_putc(&sb, i % 1000 == 999 ? '\n' : i % 5000 == 17 ? ',' : 'q');
	sb_puts(&sb, "\",2\nend,3\n");
	for (int gz = 0; gz < 2; gz++) {
		const char *path = write_file(gz ? "long.csv.gz" : "long.csv", sb.data, sb.len, gz);
		struct csv_reader *r = csv_open(path, 0);
		struct csv_row row;
		ck_assert_int_eq(csv_next(r, &row), 1);
		ck_assert_int_eq(csv_next(r, &row), 1);
		ck_assert_uint_eq(row.len[0], big);
		ck_assert_int_eq(row.field[0][big - 1], 'a' + (big - 1) % 26);
		ck_assert_str_eq(row.field[1], "1");
		ck_assert_int_eq(csv_next(r, &row), 1);
		ck_assert_uint_eq(row.nfields, 2);
		ck_assert_uint_eq(row.len[0], big);
		ck_assert_int_eq(row.field[0][17], ',');
		ck_assert_int_eq(row.field[0][999], '\n');
		ck_assert_str_eq(row.field[1], "2");
		ck_assert_uint_eq(row.line, 3);
		ck_assert_int_eq(csv_next(r, &row), 1);
		ck_assert_uint_eq(row.line, 3 + big / 1000 + 1);  /* every quoted newline counted */
		ck_assert_str_eq(row.field[0], "end");
		ck_assert_int_eq(csv_next(r, &row), 0);
		csv_close(r);
	}
	sb_free(&sb);
}
END_TEST

/* Random fields written the RFC 4180 way read back identically, through
 * many buffer refills, plain and gzip, LF and CRLF. */
START_TEST(test_csv_random_round_trip)
{
	enum { ROWS = 30000, COLS = 5 };
	struct rng g;
	rng_seed(&g, 11);
	static const char alphabet[] = "ab,\"\n\r x1.";
	char **cells = xcalloc(ROWS * COLS, sizeof *cells);
	for (int crlf = 0; crlf < 2; crlf++) {
		struct strbuf sb;
		sb_init(&sb);
		for (int i = 0; i < ROWS; i++) {
			for (int j = 0; j < COLS; j++) {
				size_t n = rng_below(&g, 12);
				char *cell = xmalloc(n + 1);
				for (size_t k = 0; k < n; k++)
					cell[k] = alphabet[rng_below(&g, sizeof alphabet - 1)];
				cell[n] = 0;
				free(cells[i * COLS + j]);
				cells[i * COLS + j] = cell;
				/* quoted when it must be, and sometimes when it need not */
				int quote = strpbrk(cell, ",\"\n\r") != NULL || rng_below(&g, 4) == 0;
				if (j)
					sb_putc(&sb, ',');
				if (quote) {
					sb_putc(&sb, '"');
					for (size_t k = 0; k < n; k++) {
						if (cell[k] == '"')
							sb_putc(&sb, '"');
						sb_putc(&sb, cell[k]);
					}
					sb_putc(&sb, '"');
				} else {
					sb_puts(&sb, cell);
				}
			}
			sb_puts(&sb, crlf ? "\r\n" : "\n");
		}
		for (int gz = 0; gz < 2; gz++) {
			const char *path = write_file(gz ? "rt.csv.gz" : "rt.csv", sb.data, sb.len, gz);
			struct csv_reader *r = csv_open(path, 0);
			struct csv_row row;
			for (int i = 0; i < ROWS; i++) {
				ck_assert_int_eq(csv_next(r, &row), 1);
				ck_assert_uint_eq(row.nfields, COLS);
				for (int j = 0; j < COLS; j++)
					ck_assert_msg(strcmp(row.field[j], cells[i * COLS + j]) == 0,
						      "row %d col %d: got '%s' want '%s'", i, j, row.field[j],
						      cells[i * COLS + j]);
			}
			ck_assert_int_eq(csv_next(r, &row), 0);
			ck_assert_uint_eq(csv_bytes_read(r), sb.len);
			csv_close(r);
		}
		sb_free(&sb);
	}
	for (int k = 0; k < ROWS * COLS; k++)
		free(cells[k]);
	free(cells);
}
END_TEST

START_TEST(test_csv_open_missing)
{
	char path[300];
	snprintf(path, sizeof path, "%s/nope.csv", tmpdir);
	ck_assert_ptr_null(csv_open(path, 0));
	ck_assert_ptr_nonnull(strstr(mla_error_message(), "nope.csv: cannot open"));
	ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
}
END_TEST

Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_csv_table, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_csv_explicit_delimiter);
	tcase_add_test(tc, test_csv_positions);
	tcase_add_test(tc, test_csv_truncated_gzip);
	tcase_add_test(tc, test_csv_long_rows);
	tcase_add_test(tc, test_csv_random_round_trip);
	tcase_add_test(tc, test_csv_open_missing);
	suite_add_tcase(s, tc);
	return s;
}
