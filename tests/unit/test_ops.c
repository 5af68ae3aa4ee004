/* test_ops.c - nightly operations: `mlaudit diff` and its rules, the history
 * page after three runs (a defect planted in the second, fixed in the third),
 * report/junit.xml, the report in headless Chromium (plots render, no external
 * URL) and the report's size at a million rows.
 *
 * history_write() and diff_main() are called directly; where the binary
 * (MLAUDIT_BIN) does the same work (OUT/index.html after a run, `mlaudit diff`)
 * its result is checked too, and that part says SKIP while the binary does not
 * do it yet. */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/config.h"
#include "pipeline/diff.h"
#include "pipeline/history.h"
#include "pipeline/stage.h"
#include "pipeline/util.h"
#include "tests/unit/testutil.h"
#include "stages/report/escape.h"
#include "stages/report/model.h"

/* ---- helpers ---- */

/* diff_main with stdout captured into *out. */
static int diff_capture(char **out, int argc, const char **argv)
{
	fflush(stdout);
	char path[] = "/tmp/mla-ops-diff-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	int saved = dup(1);
	dup2(fd, 1);
	mla_error_clear();
	int status = diff_main(argc, (char **)argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	*out = file_read_all(path, NULL);
	ck_assert_ptr_nonnull(*out);
	unlink(path);
	return status;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	return tu_write_file(dir, name, text, strlen(text));
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The text between `from` and the next `to` (or the end); a new string. */
static char *section(const char *text, const char *from, const char *to)
{
	const char *a = strstr(text, from);
	ck_assert_msg(a != NULL, "no '%s' in the page", from);
	const char *b = strstr(a + strlen(from), to);
	return xstrndup(a, b ? (size_t)(b - a) : strlen(a));
}

/* Published run folders in out, oldest first (run ids sort by time). */
static size_t list_runs(const char *out, char ***names)
{
	DIR *d = opendir(out);
	ck_assert_ptr_nonnull(d);
	struct strlist l = {0};
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			strlist_add(&l, e->d_name);
	closedir(d);
	for (size_t i = 1; i < l.n; i++)
		for (size_t j = i; j > 0 && strverscmp(l.v[j - 1], l.v[j]) > 0; j--) {
			char *t = l.v[j];
			l.v[j] = l.v[j - 1];
			l.v[j - 1] = t;
		}
	*names = l.v;
	return l.n;
}

/* ---- PNG checking (zlib only) ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct png {
	uint32_t w, h;
	int channels;           /* 8-bit samples per pixel; 0 when not 8-bit RGB(A)/grey */
	unsigned char *pixels;  /* w * h * channels, unfiltered (8-bit, non-interlaced only) */
};

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode a PNG fully: signature, IHDR with nonzero size, every IDAT inflated
 * to exactly the size the header implies, IEND present. Pixels are unfiltered
 * for 8-bit non-interlaced images (enough for gnuplot's and Chromium's).
 * Returns 0, or -1 with *why set. */
static int png_decode(const unsigned char *d, size_t len, struct png *out, const char **why)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	memset(out, 0, sizeof *out);
	*why = NULL;
	if (len < 8 + 25 || memcmp(d, sig, 8) || memcmp(d + 12, "IHDR", 4))
		return *why = "no PNG signature or IHDR", -1;
	out->w = be32(d + 16);
	out->h = be32(d + 20);
	int depth = d[24], ctype = d[25], interlace = d[28];
	if (!out->w || !out->h || out->w > 20000 || out->h > 20000)
		return *why = "bad IHDR size", -1;
	static const int chans[7] = {1, 0, 3, 1, 2, 0, 4};
	int ch = ctype <= 6 ? chans[ctype] : 0;
	if (!ch)
		return *why = "bad colour type", -1;
	size_t row = ((size_t)out->w * (size_t)ch * (size_t)depth + 7) / 8;
	size_t want = interlace ? 0 : out->h * (row + 1);
	struct strbuf idat;
	sb_init(&idat);
	int iend = 0;
	for (size_t at = 8; at + 12 <= len;) {
		uint32_t n = be32(d + at);
		if (at + 12 + n > len)
			break;
		if (!memcmp(d + at + 4, "IDAT", 4))
			sb_putn(&idat, (const char *)d + at + 8, n);
		if (!memcmp(d + at + 4, "IEND", 4))
			iend = 1;
		at += 12 + n;
	}
	if (!iend || !idat.len) {
		sb_free(&idat);
		return *why = "truncated: no IDAT or IEND", -1;
	}
	/* inflate everything; for an interlaced image only the stream's integrity is checked */
	size_t cap = want ? want + 1 : idat.len * 8 + 1024, got = 0;
	unsigned char *raw = xmalloc(cap);
	z_stream z;
	memset(&z, 0, sizeof z);
	inflateInit(&z);
	z.next_in = (unsigned char *)idat.data;
	z.avail_in = (uInt)idat.len;
	int zr;
	do {
		if (got == cap) {
			cap *= 2;
			raw = xrealloc(raw, cap);
		}
		z.next_out = raw + got;
		z.avail_out = (uInt)(cap - got);
		zr = inflate(&z, Z_NO_FLUSH);
		got = cap - z.avail_out;
	} while (zr == Z_OK);
	inflateEnd(&z);
	sb_free(&idat);
	if (zr != Z_STREAM_END || (want && got != want)) {
		free(raw);
		return *why = "image data does not inflate to the size of its header", -1;
	}
	if (depth == 8 && !interlace) {
		out->channels = ch;
		out->pixels = xmalloc((size_t)out->w * out->h * ch);
		for (uint32_t y = 0; y < out->h; y++) {
			const unsigned char *in = raw + y * (row + 1) + 1;
			unsigned char *o = out->pixels + (size_t)y * row, *up = y ? o - row : NULL;
			int f = in[-1];
			for (size_t x = 0; x < row; x++) {
				int a = x >= (size_t)ch ? o[x - ch] : 0, b = up ? up[x] : 0,
				    c = up && x >= (size_t)ch ? up[x - ch] : 0;
				int pred = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : f == 4 ? paeth(a, b, c) : 0;
				o[x] = (unsigned char)(in[x] + pred);
			}
		}
	}
	free(raw);
	return 0;
}

static int png_file(const char *path, struct png *p, const char **why)
{
	size_t len = 0;
	char *data = file_read_all(path, &len);
	mla_error_clear();
	if (!data) {
		*why = "no file";
		return -1;
	}
	int rc = png_decode((const unsigned char *)data, len, p, why);
	free(data);
	return rc;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 up to the first character that is not base64 (the closing
 * quote). NULL when it is malformed. */
static unsigned char *b64_decode(const char *s, size_t *len)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	if (n % 4)
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : b64val((unsigned char)s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
			free(out);
			return NULL;
		}
		unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		out[o++] = (unsigned char)(x >> 16);
		if (s[i + 2] != '=')
			out[o++] = (unsigned char)(x >> 8);
		if (s[i + 3] != '=')
			out[o++] = (unsigned char)x;
	}
	*len = o;
	return out;
}

/* The src of every <img> in html, in order (a new list). */
static void img_sources(const char *html, struct strlist *srcs)
{
	for (const char *p = html; (p = strstr(p, "<img ")); p++) {
		const char *end = strchr(p, '>');
		const char *s = strstr(p, " src=\"");
		ck_assert_msg(s && end && s < end, "an <img> without src");
		s += 6;
		const char *q = strchr(s, '"');
		ck_assert_ptr_nonnull(q);
		char *v = xstrndup(s, (size_t)(q - s));
		strlist_add(srcs, v);
		free(v);
	}
}

/* Every <img> of the page is an embedded PNG that decodes. Returns the count. */
static size_t check_images_decode(const char *html, const char *what)
{
	struct strlist srcs = {0};
	img_sources(html, &srcs);
	for (size_t i = 0; i < srcs.n; i++) {
		static const char prefix[] = "data:image/png;base64,";
		ck_assert_msg(!strncmp(srcs.v[i], prefix, sizeof prefix - 1), "%s: image %zu is not an embedded PNG", what, i);
		size_t len = 0;
		unsigned char *png = b64_decode(srcs.v[i] + sizeof prefix - 1, &len);
		ck_assert_msg(png != NULL, "%s: image %zu: bad base64", what, i);
		struct png p;
		const char *why;
		ck_assert_msg(png_decode(png, len, &p, &why) == 0, "%s: image %zu: %s", what, i, why);
		ck_assert_uint_gt(p.w, 100);
		ck_assert_uint_gt(p.h, 100);
		free(p.pixels);
		free(png);
	}
	size_t n = srcs.n;
	strlist_free(&srcs);
	return n;
}

/* The page fetches nothing: no script, frame, object, stylesheet link or CSS
 * url(); inside tags no "://" at all, and every src is a data:image/png and
 * every href an in-page anchor or (allow_relative) a relative path. Text
 * between tags may say anything (data strings are escaped there). */
static void check_self_contained(const char *html, int allow_relative, const char *what)
{
	static const char *const banned[] = {"<script", "<iframe", "<object", "<embed", "<link", "<base",
					     "<frame", "<audio", "<video", "<source"};
	for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
		ck_assert_msg(!strcasestr(html, banned[i]), "%s holds %s", what, banned[i]);
	/* the style sheet fetches nothing either */
	char *style = section(html, "<style>", "</style>");
	ck_assert_msg(!strcasestr(style, "url(") && !strcasestr(style, "@import") && !strstr(style, "//"),
		      "%s: the style sheet refers to another file", what);
	free(style);
	const char *p = html;
	while ((p = strchr(p, '<'))) {
		const char *end = strchr(p, '>');
		ck_assert_ptr_nonnull(end);
		char *tag = xstrndup(p, (size_t)(end - p));
		ck_assert_msg(!strstr(tag, "://"), "%s: a URL inside a tag: %.120s", what, tag);
		for (const char *a = tag; (a = strcasestr(a, "href=\"")); a++) {
			const char *v = a + 6;
			int ok = v[0] == '#' || (allow_relative && v[0] != '/' && strcspn(v, ":\"") >= strcspn(v, "/\""));
			ck_assert_msg(ok, "%s: href not in-page%s: %.80s", what, allow_relative ? " or relative" : "", v);
		}
		for (const char *a = tag; (a = strcasestr(a, "src=\"")); a++)
			ck_assert_msg(!strncmp(a + 5, "data:image/png;base64,", 22), "%s: src is not embedded: %.80s", what, a);
		free(tag);
		p = end;
	}
}

/* ---- chromium ---- */

static char *find_chromium(void)
{
	const char *env = getenv("MLAUDIT_CHROMIUM");
	if (env && *env)
		return access(env, X_OK) == 0 ? xstrdup(env) : NULL;
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
	const char *path = getenv("PATH");
	char *copy = xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			char *full = path_join(dir, names[i]);
			if (access(full, X_OK) == 0) {
				free(copy);
				return full;
			}
			free(full);
		}
	free(copy);
	return NULL;
}

/* Screenshot `page` (a file) at w x h into shot. 0 when chromium wrote a PNG. */
static int chromium_shot(const char *chromium, const char *profile, const char *page, const char *shot, int w, int h)
{
	char *arg_shot = xasprintf("--screenshot=%s", shot);
	char *arg_size = xasprintf("--window-size=%d,%d", w, h);
	char *arg_prof = xasprintf("--user-data-dir=%s", profile);
	char *url = xasprintf("file://%s", page);
	const char *argv[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			      "--no-first-run", "--disable-extensions", "--disable-background-networking",
			      arg_prof, arg_shot, arg_size, url, NULL};
	unlink(shot);
	char *log = NULL;
	int st = tu_run_argv(&log, NULL, argv, 120);
	int ok = st == 0 && file_exists(shot);
	if (!ok)
		fprintf(stderr, "chromium exited %d: %.2000s\n", st, log ? log : "");
	free(log);
	free(arg_shot);
	free(arg_size);
	free(arg_prof);
	free(url);
	return ok ? 0 : -1;
}

#define CELL_W 400
#define CELL_H 200

/* Share of magenta pixels in cell i of a screenshot of the probe page. */
static double magenta_share(const struct png *p, size_t cell)
{
	size_t magenta = 0, total = 0;
	for (uint32_t y = (uint32_t)(cell * CELL_H) + 4; y < (cell + 1) * CELL_H - 4 && y < p->h; y++)
		for (uint32_t x = 4; x < CELL_W - 4 && x < p->w; x++) {
			const unsigned char *px = p->pixels + ((size_t)y * p->w + x) * p->channels;
			magenta += px[0] > 230 && px[1] < 30 && px[2] > 230;
			total++;
		}
	return total ? (double)magenta / (double)total : 1.0;
}

/* Chromium renders the page (a screenshot of the right size comes out), and
 * every image of it draws: a probe page puts each image, stretched to a
 * CELL_W x CELL_H cell, on a magenta background, plus one deliberately broken
 * image last; in the screenshot the real images cover their cells and the
 * broken one leaves its cell magenta (so the check can fail). */
static void check_renders(const char *chromium, const char *dir, const char *page_path, const char *html,
			  const char *what)
{
	char *profile = path_join(dir, "chromium-profile");
	char *shot = path_join(dir, "page.png");
	ck_assert_msg(chromium_shot(chromium, profile, page_path, shot, 1100, 2400) == 0, "%s: no screenshot", what);
	struct png p;
	const char *why;
	ck_assert_msg(png_file(shot, &p, &why) == 0, "%s: screenshot: %s", what, why);
	ck_assert_uint_eq(p.w, 1100);
	ck_assert_uint_eq(p.h, 2400);
	free(p.pixels);

	struct strlist srcs = {0};
	img_sources(html, &srcs);
	ck_assert_uint_ge(srcs.n, 1);
	struct strbuf probe;
	sb_init(&probe);
	sb_puts(&probe, "<!DOCTYPE html><html><head><style>body{margin:0;background:#ff00ff}"
			"img{display:block;width:" "400px;height:200px;margin:0;border:0}</style></head><body>\n");
	for (size_t i = 0; i < srcs.n; i++)
		sb_printf(&probe, "<img alt=\"\" src=\"%s\">\n", srcs.v[i]);
	sb_puts(&probe, "<img alt=\"\" src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB\">\n</body></html>\n");
	char *probe_path = write_file(dir, "probe.html", probe.data);
	char *probe_shot = path_join(dir, "probe.png");
	int h = (int)(srcs.n + 1) * CELL_H;
	ck_assert_msg(chromium_shot(chromium, profile, probe_path, probe_shot, CELL_W, h) == 0, "%s: no probe shot", what);
	ck_assert_msg(png_file(probe_shot, &p, &why) == 0, "%s: probe screenshot: %s", what, why);
	ck_assert_msg(p.channels >= 3, "%s: screenshot is not 8-bit RGB(A)", what);
	ck_assert_uint_eq(p.h, (uint32_t)h);
	for (size_t i = 0; i < srcs.n; i++) {
		double m = magenta_share(&p, i);
		ck_assert_msg(m < 0.05, "%s: image %zu did not render (%.0f%% of its cell is background)", what, i, 100 * m);
	}
	double broken = magenta_share(&p, srcs.n);
	ck_assert_msg(broken > 0.5, "%s: the broken control image looks drawn (%.0f%% background)", what, 100 * broken);
	free(p.pixels);
	strlist_free(&srcs);
	sb_free(&probe);
	free(probe_path);
	free(probe_shot);
	free(shot);
	remove_tree(profile);
	free(profile);
}

/* ---- diff on hand-written summaries ---- */

#define EST(v, lo, hi) "{\"value\": " v ", \"ci_low\": " lo ", \"ci_high\": " hi ", \"n\": 500}"
#define FINDING(id, kind, sev, title, evidence)                                                         \
	"{\"id\": \"" id "\", \"step\": 1, \"kind\": \"" kind "\", \"severity\": \"" sev "\", \"title\": \"" \
	title "\", \"subject\": {\"split\": \"test\"}, \"evidence\": " evidence ", \"mitigations\": []}"
#define SUMMARY(run, metric, test_acc, findings)                                                           \
	"{\"tool\": \"mlaudit\", \"version\": \"0.1.0\", \"run_id\": \"" run "\", \"name\": \"credit\","      \
	" \"verdict\": \"warn\", \"task\": {\"type\": \"binary\", \"label\": \"y\", \"classes\": [\"0\", \"1\"]," \
	" \"metric\": \"" metric "\"}, \"metrics\": {\"test\": {\"accuracy\": " test_acc ", \"log_loss\": "     \
	EST("0.30", "0.28", "0.32") "}, \"current\": {\"accuracy\": " EST("0.80", "0.78", "0.82") "}},"     \
	" \"findings\": [" findings "], \"mitigations\": []}"

/* A: the older run. */
#define A_FINDINGS                                                                                            \
	FINDING("F-1", "weak_segment", "medium", "Segment west is weak.",                                      \
		"{\"segment\": " EST("0.55", "0.50", "0.60") ", \"rest\": " EST("0.82", "0.80", "0.845") ", \"gap\": 0.10}") "," \
	FINDING("F-2", "performance_drop", "medium", "Current drops.", "{\"gap\": " EST("0.05", "0.03", "0.07") "}") "," \
	FINDING("F-3", "data_quality", "low", "Column x has missing values.", "{\"missing_rate\": 0.2}") ","   \
	FINDING("F-4", "overfitting", "high", "Train beats test.", "{\"gap\": " EST("0.15", "0.12", "0.18") "}") "," \
	FINDING("F-5", "miscalibration", "medium", "Miscalibrated.", "{\"ece\": " EST("0.10", "0.08", "0.12") "}") "," \
	FINDING("F-7", "low_train_performance", "medium", "Train is low.", "{\"gap\": " EST("-0.10", "-0.12", "-0.08") "}")

static const char summary_a[] = SUMMARY("20261125T020000Z", "accuracy", EST("0.85", "0.83", "0.87"), A_FINDINGS);

/* B: F-1's gap grew beyond the intervals, F-2 went up a severity, F-3 is gone,
 * F-4 went down a severity, F-5 moved within its interval, F-6 is new (info),
 * F-7's negative gap shrank beyond the intervals; test accuracy fell beyond
 * the intervals. The title of F-6 is hostile. */
static const char summary_b[] = SUMMARY(
	"20261126T020000Z", "accuracy", EST("0.80", "0.78", "0.82"),
	FINDING("F-1", "weak_segment", "medium", "Segment west is weak.",
		"{\"segment\": " EST("0.35", "0.30", "0.40") ", \"rest\": " EST("0.82", "0.80", "0.845") ", \"gap\": 0.30}") ","
	FINDING("F-2", "performance_drop", "high", "Current drops.", "{\"gap\": " EST("0.06", "0.04", "0.08") "}") ","
	FINDING("F-4", "overfitting", "medium", "Train beats test.", "{\"gap\": " EST("0.14", "0.11", "0.17") "}") ","
	FINDING("F-5", "miscalibration", "medium", "Miscalibrated.", "{\"ece\": " EST("0.11", "0.09", "0.13") "}") ","
	FINDING("F-6", "confident_errors", "info", "<script>alert(1)</script>\\u001b[31m*x*\\nnext", "{\"wrong\": 3}") ","
	FINDING("F-7", "low_train_performance", "medium", "Train is low.", "{\"gap\": " EST("-0.05", "-0.07", "-0.03") "}"));

/* A plus one new info finding: nothing worsened. */
static const char summary_a_info[] = SUMMARY("20261126T020000Z", "accuracy", EST("0.85", "0.83", "0.87"),
	A_FINDINGS "," FINDING("F-8", "confident_errors", "info", "Three confident errors.", "{\"wrong\": 3}"));
/* A plus one new low finding: worsened. */
static const char summary_a_low[] = SUMMARY("20261126T020000Z", "accuracy", EST("0.85", "0.83", "0.87"),
	A_FINDINGS "," FINDING("F-9", "data_quality", "low", "Column z has missing values.", "{\"missing_rate\": 0.1}"));
/* A with test accuracy lower beyond the intervals and nothing else changed. */
static const char summary_a_drop[] = SUMMARY("20261126T020000Z", "accuracy", EST("0.75", "0.73", "0.77"), A_FINDINGS);
/* Chosen metric log_loss (lower is better): A's test log-loss is 0.30 [0.28, 0.32]. */
static const char summary_ll_a[] = SUMMARY("20261125T020000Z", "log_loss", EST("0.85", "0.83", "0.87"), "");
static const char summary_ll_b[] =
	"{\"tool\": \"mlaudit\", \"version\": \"0.1.0\", \"run_id\": \"20261126T020000Z\", \"verdict\": \"pass\","
	" \"task\": {\"type\": \"binary\", \"label\": \"y\", \"classes\": [\"0\", \"1\"], \"metric\": \"log_loss\"},"
	" \"metrics\": {\"test\": {\"accuracy\": " EST("0.85", "0.83", "0.87") ", \"log_loss\": " EST("0.20", "0.18", "0.22") "}},"
	" \"findings\": [], \"mitigations\": []}";

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "fixture: %d:%d: %s", e.line, e.column, e.text);
	return j;
}

static const struct diff_finding *change_of(const struct run_diff *d, const char *id)
{
	for (size_t i = 0; i < d->nfindings; i++) {
		const json_t *f = d->findings[i].b ? d->findings[i].b : d->findings[i].a;
		if (!strcmp(json_string_value(json_object_get(f, "id")), id))
			return &d->findings[i];
	}
	return NULL;
}

START_TEST(diff_classifies_each_change)
{
	json_t *a = parse(summary_a), *b = parse(summary_b);
	struct run_diff d;
	diff_runs(a, b, &d);
	static const struct {
		const char *id;
		enum diff_change change;
		const char *why;   /* substring of the reason, NULL: none */
	} want[] = {
		{"F-1", DIFF_WORSENED, "gap 0.100 [0.045, 0.155] -> 0.300 [0.245, 0.355], larger"},
		{"F-2", DIFF_WORSENED, "severity medium -> high"},
		{"F-3", DIFF_RESOLVED, NULL},
		{"F-4", DIFF_IMPROVED, "severity high -> medium"},
		{"F-5", DIFF_UNCHANGED, NULL},
		{"F-6", DIFF_NEW, NULL},
		{"F-7", DIFF_IMPROVED, "gap 0.100 [0.080, 0.120] -> 0.050 [0.030, 0.070], smaller"},
	};
	ck_assert_uint_eq(d.nfindings, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct diff_finding *x = change_of(&d, want[i].id);
		ck_assert_msg(x != NULL, "%s missing", want[i].id);
		ck_assert_msg(x->change == want[i].change, "%s: change %d, want %d", want[i].id, x->change, want[i].change);
		if (want[i].why)
			ck_assert_msg(x->why && strstr(x->why, want[i].why), "%s: why '%s'", want[i].id, x->why ? x->why : "");
		else
			ck_assert_ptr_null(x->why);
	}
	/* ordered by change, then severity */
	ck_assert_int_eq(d.findings[0].change, DIFF_NEW);
	ck_assert_str_eq(json_string_value(json_object_get(d.findings[1].b, "id")), "F-2");
	ck_assert_uint_eq(d.count[DIFF_WORSENED], 2);
	ck_assert_uint_eq(d.count[DIFF_IMPROVED], 2);

	/* metrics: test accuracy fell beyond the intervals; current did not move */
	int test_acc = 0, cur_acc = 0;
	for (size_t i = 0; i < d.nmetrics; i++) {
		if (!strcmp(d.metrics[i].split, "test") && !strcmp(d.metrics[i].metric, "accuracy"))
			test_acc = d.metrics[i].change == -1 ? 1 : -1;
		if (!strcmp(d.metrics[i].split, "current") && !strcmp(d.metrics[i].metric, "accuracy"))
			cur_acc = d.metrics[i].change == 0 ? 1 : -1;
	}
	ck_assert_int_eq(test_acc, 1);
	ck_assert_int_eq(cur_acc, 1);
	ck_assert_int_eq(d.worsened, 1);
	ck_assert_str_eq(d.worsened_why, "2 findings worsened; accuracy on test worse beyond the intervals");
	diff_free(&d);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Which pairs make `diff` exit 1. */
START_TEST(diff_exit_status_follows_the_rule)
{
	static const struct {
		const char *a, *b;
		int status;
		const char *why;
	} pairs[] = {
		{summary_a, summary_a, 0, NULL},
		{summary_a, summary_a_info, 0, NULL},        /* a new info finding is a note */
		{summary_a, summary_a_low, 1, "1 new finding at low or above"},
		{summary_a, summary_a_drop, 1, "accuracy on test worse beyond the intervals"},
		{summary_a_drop, summary_a, 0, NULL},         /* better is not worse */
		{summary_a, summary_b, 1, "2 findings worsened"},
		{summary_ll_a, summary_ll_b, 0, NULL},        /* log-loss went down: better */
		{summary_ll_b, summary_ll_a, 1, "log_loss on test worse"},
	};
	char *d = tu_tmpdir("ops");
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		char *pa = write_file(d, "a.json", pairs[i].a), *pb = write_file(d, "b.json", pairs[i].b);
		char *out = NULL;
		const char *argv[] = {pa, pb};
		int st = diff_capture(&out, 2, argv);
		ck_assert_msg(st == pairs[i].status, "pair %zu: status %d, want %d\n%s", i, st, pairs[i].status, out);
		if (pairs[i].why)
			ck_assert_msg(strstr(out, pairs[i].why), "pair %zu: no '%s' in\n%s", i, pairs[i].why, out);
		else
			ck_assert_ptr_nonnull(strstr(out, "Result: nothing worsened."));
		free(out);
		free(pa);
		free(pb);
	}
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(diff_formats_escape_and_agree)
{
	char *d = tu_tmpdir("ops");
	char *pa = write_file(d, "a.json", summary_a), *pb = write_file(d, "b.json", summary_b);
	char *text = NULL, *md = NULL, *js = NULL;
	const char *t_argv[] = {pa, pb}, *m_argv[] = {pa, pb, "--format", "md"}, *j_argv[] = {"--format=json", pa, pb};
	ck_assert_int_eq(diff_capture(&text, 2, t_argv), 1);
	ck_assert_int_eq(diff_capture(&md, 4, m_argv), 1);
	ck_assert_int_eq(diff_capture(&js, 3, j_argv), 1);

	/* text: one line per change, control characters of data flattened */
	ck_assert_ptr_nonnull(strstr(text, "  worsened  high   F-2 performance_drop: Current drops. (severity medium -> high)\n"));
	ck_assert_ptr_nonnull(strstr(text, "  resolved  low    F-3 data_quality: Column x has missing values.\n"));
	ck_assert_ptr_nonnull(strstr(text, "Findings: 1 new, 2 worsened, 1 resolved, 2 improved, 1 unchanged\n"));
	ck_assert_ptr_nonnull(strstr(text, "  test      accuracy  0.850 [0.830, 0.870]   -> 0.800 [0.780, 0.820]   -0.050, worse beyond the intervals\n"));
	ck_assert_ptr_null(strchr(text, '\x1b'));
	ck_assert_ptr_nonnull(strstr(text, "<script>alert(1)</script> [31m*x* next"));

	/* markdown: data escaped, sections per change */
	ck_assert_ptr_nonnull(strstr(md, "### mlaudit diff of credit: 20261125T020000Z → 20261126T020000Z\n"));
	ck_assert_ptr_nonnull(strstr(md, "**New**\n\n- **info** · confident\\_errors · \\<script\\>alert\\(1\\)\\<\\/script\\>"));
	ck_assert_ptr_null(strstr(md, "<script>"));
	ck_assert_ptr_nonnull(strstr(md, "**Worsened**\n\n- **high** · performance\\_drop"));
	ck_assert_ptr_nonnull(strstr(md, "| test | accuracy | 0.850 [0.830, 0.870] | 0.800 [0.780, 0.820] | -0.050, worse beyond the intervals |"));

	/* JSON: parses, and says the same */
	json_t *j = parse(js);
	ck_assert(json_is_true(json_object_get(j, "worsened")));
	json_t *f = json_object_get(j, "findings");
	ck_assert_uint_eq(json_array_size(json_object_get(f, "new")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(f, "worsened")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(f, "resolved")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(f, "improved")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(f, "unchanged")), 1);
	json_t *w = json_array_get(json_object_get(f, "worsened"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(w, "severity_a")), "medium");
	ck_assert_str_eq(json_string_value(json_object_get(w, "severity_b")), "high");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "a"), "run_id")), "20261125T020000Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(f, "new"), 0), "title")),
			 "<script>alert(1)</script>\x1b[31m*x*\nnext");
	json_decref(j);
	free(text);
	free(md);
	free(js);
	free(pa);
	free(pb);
	remove_tree(d);
	free(d);
}
END_TEST

START_TEST(diff_bad_arguments_exit_2_naming_the_path)
{
	char *d = tu_tmpdir("ops");
	char *good = write_file(d, "good.json", summary_a);
	char *bad = write_file(d, "bad.json", "{\"findings\": [1, 2,");
	char *other = write_file(d, "other.json", "{\"hello\": 1}");
	char *missing = path_join(d, "nope");
	char *empty_dir = path_join(d, "emptyrun");
	mkdir_p(empty_dir);
	struct {
		int argc;
		const char *argv[4];
		const char *message;
	} cases[] = {
		{1, {good}, "usage: mlaudit diff RUN_A RUN_B"},
		{3, {good, good, good}, "unexpected argument"},
		{4, {good, good, "--format", "xml"}, "--format xml: expected text, md or json"},
		{3, {good, good, "--format"}, "--format needs a value"},
		{3, {good, good, "--colour"}, "unknown option --colour"},
		{2, {good, missing}, missing},
		{2, {bad, good}, bad},
		{2, {good, other}, "not an mlaudit summary.json"},
		{2, {empty_dir, good}, "not a run folder"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = NULL;
		int st = diff_capture(&out, cases[i].argc, cases[i].argv);
		ck_assert_msg(st == 2, "case %zu: status %d", i, st);
		ck_assert_int_eq(mla_error_status(), MLA_EINPUT);
		ck_assert_msg(strstr(mla_error_message(), cases[i].message), "case %zu: message '%s' lacks '%s'", i,
			      mla_error_message(), cases[i].message);
		ck_assert_str_eq(out, "");  /* nothing on stdout */
		free(out);
	}
	/* the message of a malformed file says where */
	char *out = NULL;
	const char *argv[] = {bad, good};
	diff_capture(&out, 2, argv);
	char *where = xasprintf("%s:1:", bad);
	ck_assert_msg(!strncmp(mla_error_message(), where, strlen(where)), "%s", mla_error_message());
	free(where);
	free(out);
	free(good);
	free(bad);
	free(other);
	free(missing);
	free(empty_dir);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- junit.xml on a hand-made model ---- */

START_TEST(escape_xml_is_well_formed)
{
	struct strbuf sb;
	sb_init(&sb);
	escape_xml(&sb, "a<b>&\"c'\t\n\r\x01\x7f\xff\xef\xbf\xbe\xc3\xa9");
	ck_assert_str_eq(sb.data, "a&lt;b&gt;&amp;&quot;c&apos;&#9;&#10;&#13;  \xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
	sb_free(&sb);
}
END_TEST

static int have_program(const char *name)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", name);
	int ok = system(cmd) == 0;
	free(cmd);
	return ok;
}

/* The elements and attributes of the JUnit format as CI reporters read it
 * (the shape of Jenkins' junit-10.xsd, reduced to what mlaudit writes). */
static const char junit_xsd[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
	" <xs:element name=\"testsuites\"><xs:complexType>\n"
	"  <xs:sequence><xs:element ref=\"testsuite\" minOccurs=\"0\" maxOccurs=\"unbounded\"/></xs:sequence>\n"
	"  <xs:attribute name=\"name\" type=\"xs:string\"/><xs:attribute name=\"time\" type=\"xs:string\"/>\n"
	"  <xs:attribute name=\"tests\" type=\"xs:nonNegativeInteger\"/>\n"
	"  <xs:attribute name=\"failures\" type=\"xs:nonNegativeInteger\"/>\n"
	"  <xs:attribute name=\"errors\" type=\"xs:nonNegativeInteger\"/>\n"
	" </xs:complexType></xs:element>\n"
	" <xs:element name=\"testsuite\"><xs:complexType>\n"
	"  <xs:choice minOccurs=\"0\" maxOccurs=\"unbounded\">\n"
	"   <xs:element ref=\"properties\"/><xs:element ref=\"testcase\"/>\n"
	"   <xs:element name=\"system-out\" type=\"xs:string\"/><xs:element name=\"system-err\" type=\"xs:string\"/>\n"
	"  </xs:choice>\n"
	"  <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
	"  <xs:attribute name=\"tests\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
	"  <xs:attribute name=\"failures\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
	"  <xs:attribute name=\"errors\" type=\"xs:nonNegativeInteger\" use=\"required\"/>\n"
	"  <xs:attribute name=\"skipped\" type=\"xs:nonNegativeInteger\"/>\n"
	"  <xs:attribute name=\"timestamp\" type=\"xs:dateTime\"/>\n"
	"  <xs:attribute name=\"time\" type=\"xs:string\"/><xs:attribute name=\"hostname\" type=\"xs:string\"/>\n"
	" </xs:complexType></xs:element>\n"
	" <xs:element name=\"properties\"><xs:complexType><xs:sequence>\n"
	"  <xs:element name=\"property\" minOccurs=\"0\" maxOccurs=\"unbounded\"><xs:complexType>\n"
	"   <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
	"   <xs:attribute name=\"value\" type=\"xs:string\" use=\"required\"/>\n"
	"  </xs:complexType></xs:element>\n"
	" </xs:sequence></xs:complexType></xs:element>\n"
	" <xs:element name=\"testcase\"><xs:complexType>\n"
	"  <xs:choice minOccurs=\"0\" maxOccurs=\"unbounded\">\n"
	"   <xs:element name=\"skipped\"><xs:complexType mixed=\"true\">\n"
	"    <xs:attribute name=\"message\" type=\"xs:string\"/><xs:attribute name=\"type\" type=\"xs:string\"/>\n"
	"   </xs:complexType></xs:element>\n"
	"   <xs:element name=\"failure\"><xs:complexType mixed=\"true\">\n"
	"    <xs:attribute name=\"message\" type=\"xs:string\"/><xs:attribute name=\"type\" type=\"xs:string\"/>\n"
	"   </xs:complexType></xs:element>\n"
	"   <xs:element name=\"system-out\" type=\"xs:string\"/><xs:element name=\"system-err\" type=\"xs:string\"/>\n"
	"  </xs:choice>\n"
	"  <xs:attribute name=\"name\" type=\"xs:string\" use=\"required\"/>\n"
	"  <xs:attribute name=\"classname\" type=\"xs:string\"/><xs:attribute name=\"time\" type=\"xs:string\"/>\n"
	" </xs:complexType></xs:element>\n"
	"</xs:schema>\n";

/* Check a junit.xml: it validates against junit_xsd (with xmllint, when
 * installed), and by hand: one testsuites > testsuite whose counts match its
 * testcase, failure and skipped elements. Returns the file's text. */
static char *check_junit(const char *path, int tests, int failures)
{
	char *x = file_read_all(path, NULL);
	ck_assert_msg(x != NULL, "%s missing", path);
	if (have_program("xmllint")) {
		char *dir = tu_tmpdir("ops");
		char *xsd = write_file(dir, "junit.xsd", junit_xsd);
		char *cmd = xasprintf("xmllint --noout --schema '%s' '%s' 2>&1", xsd, path);
		FILE *p = popen(cmd, "r");
		char msg[2048] = "";
		size_t n = fread(msg, 1, sizeof msg - 1, p);
		msg[n] = 0;
		ck_assert_msg(pclose(p) == 0, "junit.xml does not validate:\n%s", msg);
		free(cmd);
		free(xsd);
		remove_tree(dir);
		free(dir);
	} else
		printf("NOTE: xmllint not installed; junit.xml checked by its shape only\n");
	ck_assert(!strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 50));
	ck_assert_uint_eq(count_of(x, "<testsuite "), 1);
	ck_assert_uint_eq(count_of(x, "</testsuite>"), 1);
	ck_assert_uint_eq(count_of(x, "</testsuites>"), 1);
	size_t ncase = count_of(x, "<testcase "), nfail = count_of(x, "<failure "), nskip = count_of(x, "<skipped ");
	ck_assert_uint_eq(ncase, (size_t)tests);
	ck_assert_uint_eq(nfail, (size_t)failures);
	char *outer = xasprintf("<testsuites name=\"mlaudit\" tests=\"%d\" failures=\"%d\" errors=\"0\">", tests, failures);
	char *inner = xasprintf("tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%zu\"", tests, failures, nskip);
	ck_assert_msg(strstr(x, outer), "no '%s'", outer);
	ck_assert_msg(count_of(x, inner) == 1, "testsuite counts are not '%s'", inner);
	free(outer);
	free(inner);
	return x;
}

START_TEST(junit_marks_failed_skipped_and_escapes)
{
	char *d = tu_tmpdir("ops");
	char *run_dir = path_join(d, "run"), *out_dir = path_join(d, "run/.report.tmp");
	mkdir_p(out_dir);
	static const char *const present[] = {"ingest", "evaluate"};  /* rootcause did not run */
	for (size_t i = 0; i < 2; i++) {
		char *p = path_join(run_dir, present[i]);
		mkdir_p(p);
		free(p);
	}
	struct stage_ctx ctx = {.run_dir = run_dir, .out_dir = out_dir, .run_id = "20261127T020000Z"};
	struct report_model m;
	memset(&m, 0, sizeof m);
	m.ctx = &ctx;
	m.name = "cr\"edit<&>\x01\xff";
	m.run_id = "20261127T020000Z";
	m.metric = "accuracy";
	m.mode = "model";
	m.verdict = "fail";
	m.fail_on = SEV_MEDIUM;
	m.metrics = parse("{\"split_order\": [\"train\", \"test\"], \"splits\": {\"train\": {\"metrics\": {}},"
			  " \"test\": {\"metrics\": {\"log_loss\": " EST("0.3", "0.2", "0.4") "}}},"
			  " \"segments\": [{\"split\": \"test\"}]}");
	m.schema = parse("{\"columns\": []}");
	m.findings = parse("[" FINDING("F-1", "weak_segment", "high", "Segment <b>&amp;</b> \\\"q\\\" is weak.", "{}") ","
			   FINDING("F-2", "weak_segment", "medium", "Second ]]> one.", "{}") ","
			   FINDING("F-3", "overfitting", "low", "A low one.", "{}") ","
			   FINDING("F-4", "brand_new_kind", "high", "From a newer stage.", "{}") "]");
	ck_assert_int_eq(junit_write(&m), 0);
	char *path = path_join(out_dir, "junit.xml");
	/* 24 kinds of the schema plus the unknown one; weak_segment and brand_new_kind fail */
	char *x = check_junit(path, 25, 2);
	ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"mlaudit.cr&quot;edit&lt;&amp;&gt; \xef\xbf\xbd\""));
	ck_assert_ptr_nonnull(strstr(x, "<failure type=\"high\" message=\"2 findings at or above medium: "
					"Segment &lt;b&gt;&amp;amp;&lt;/b&gt; &quot;q&quot; is weak. (and 1 more)\">"));
	ck_assert_ptr_nonnull(strstr(x, "Second ]]&gt; one."));
	/* a finding below fail_on: passed, listed in system-out */
	ck_assert_ptr_nonnull(strstr(x, "<testcase name=\"overfitting\" classname=\"mlaudit.cr&quot;edit&lt;&amp;&gt; \xef\xbf\xbd.step1\">\n"
					"      <system-out>low F-3: A low one.</system-out>"));
	/* no finding and its stage ran: passed, empty */
	ck_assert_ptr_nonnull(strstr(x, "<testcase name=\"miscalibration\" classname=\"mlaudit.cr&quot;edit&lt;&amp;&gt; \xef\xbf\xbd.step1\"/>"));
	/* skipped: stage absent, nothing builds it, input missing */
	ck_assert_ptr_nonnull(strstr(x, "name=\"leakage\" classname=\"mlaudit.cr&quot;edit&lt;&amp;&gt; \xef\xbf\xbd.step3\">\n"
					"      <skipped message=\"not checked: the rootcause stage did not run\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<skipped message=\"not checked: no analysis in mlaudit 0.1.0 finds this kind yet\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<skipped message=\"not checked: the run has no current data\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<testcase name=\"brand_new_kind\""));
	ck_assert_ptr_null(strstr(x, "<b>"));
	free(x);
	free(path);
	json_decref(m.metrics);
	json_decref(m.schema);
	json_decref(m.findings);
	free(run_dir);
	free(out_dir);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- history on hand-written run folders ---- */

static char *read_history(const char *out)
{
	char *p = path_join(out, "index.html");
	char *html = file_read_all(p, NULL);
	ck_assert_msg(html != NULL, "%s missing", p);
	free(p);
	return html;
}

static void fake_run(const char *out, const char *id, const char *summary)
{
	char *dir = xasprintf("%s/%s/report", out, id);
	ck_assert_int_eq(mkdir_p(dir), 0);
	free(write_file(dir, "summary.json", summary));
	free(dir);
}

START_TEST(history_orders_escapes_and_survives_without_gnuplot)
{
	char *d = tu_tmpdir("ops");
	char *out = path_join(d, "out");
	/* -10 is newer than -09 (a plain string sort would say otherwise); the
	 * hand-named folder sorts oldest */
	fake_run(out, "20261126T020000Z-10", summary_b);
	fake_run(out, "20261126T020000Z-09", summary_a);
	fake_run(out, "20261125T020000Z", summary_a);
	fake_run(out, "0 weird\"<b>(x)", summary_a);
	char *latest = path_join(out, "latest");
	ck_assert_int_eq(symlink("20261126T020000Z-10", latest), 0);
	free(write_file(out, "notes.txt", "not a run"));
	setenv("MLAUDIT_GNUPLOT", "/nonexistent/gnuplot", 1);
	ck_assert_int_eq(history_write(out), 0);
	unsetenv("MLAUDIT_GNUPLOT");
	char *html = read_history(out);

	ck_assert_uint_eq(count_of(html, "<tr>") - 1, 4);   /* latest is not a second row */
	const char *newer = strstr(html, ">20261126T020000Z-10</a></td>"), *older = strstr(html, ">20261126T020000Z-09</a></td>");
	ck_assert(newer && older && newer < older);
	ck_assert_ptr_nonnull(strstr(html, "<td>2026-11-26 02:00:00</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<a href=\"0%20weird%22%3Cb%3E%28x%29/report/index.html\">0 weird&quot;&lt;b&gt;(x)</a>"));
	ck_assert_ptr_null(strstr(html, "<b>"));
	ck_assert_ptr_nonnull(strstr(html, "credit · history of runs"));
	/* the newest run against the one before it: summary_a -> summary_b */
	char *fresh = section(html, "<h3>New (1)", "<h3>");
	ck_assert_ptr_nonnull(strstr(fresh, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	free(fresh);
	char *worse = section(html, "<h3>Worsened (2)", "<h3>");
	ck_assert_ptr_nonnull(strstr(worse, "performance_drop · Current drops. (F-2; severity medium -&gt; high)"));
	ck_assert_ptr_nonnull(strstr(worse, "weak_segment"));
	free(worse);
	char *gone = section(html, "<h3>Resolved (1)", "<h2>");
	ck_assert_ptr_nonnull(strstr(gone, "data_quality · Column x has missing values."));
	free(gone);
	ck_assert_ptr_nonnull(strstr(html, "<strong>Worse:</strong> 2 findings worsened; accuracy on test worse beyond the intervals."));
	/* per row against the run before it */
	ck_assert_ptr_nonnull(strstr(html, "<td>1 new · 2 worsened · 1 resolved · 2 improved</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>no change</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>oldest run kept</td>"));
	ck_assert_ptr_nonnull(strstr(html, "<td>0.800 [0.780, 0.820]</td>"));
	/* no gnuplot: a note, no image, and still a page */
	ck_assert_ptr_nonnull(strstr(html, "No trend plot: gnuplot was not found"));
	ck_assert_ptr_null(strstr(html, "<img"));
	check_self_contained(html, 1, "history");
	free(html);

	/* with gnuplot, the plot; the temporary folder is gone afterwards */
	ck_assert_int_eq(history_write(out), 0);
	html = read_history(out);
	if (have_program("gnuplot"))
		ck_assert_uint_eq(check_images_decode(html, "history"), 1);
	free(html);
	DIR *dir = opendir(out);
	struct dirent *e;
	while ((e = readdir(dir)))
		ck_assert_msg(!strstr(e->d_name, ".tmp"), "left behind: %s", e->d_name);
	closedir(dir);

	/* an empty folder still gets a page; a missing one is an error */
	char *empty = path_join(d, "empty");
	mkdir_p(empty);
	ck_assert_int_eq(history_write(empty), 0);
	html = read_history(empty);
	ck_assert_ptr_nonnull(strstr(html, "No run in this folder has a report/summary.json yet."));
	free(html);
	char *missing = path_join(d, "missing");
	mla_error_clear();
	ck_assert_int_eq(history_write(missing), -1);
	ck_assert_ptr_nonnull(strstr(mla_error_message(), missing));
	mla_error_clear();
	free(missing);
	free(empty);
	free(latest);
	free(out);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- three nightly runs ---- */

struct nights {
	char *dir, *out;
	char *clean_ini, *weak_ini;
	char **runs;     /* run folder names, oldest first */
	size_t nruns;
	int binary_writes_history;  /* did the binary write OUT/index.html itself? */
};

#define NAME "m<i>x</i>"

/* One night: run ini into out; then the history as the binary left it (when
 * it writes one) and as history_write writes it must both hold what `check`
 * wants. */
static void night(struct nights *n, const char *ini, void (*check)(const char *html, const struct nights *n))
{
	char *hist = path_join(n->out, "index.html");
	unlink(hist);
	char *log = NULL;
	int st = tu_mla(&log, NULL, "run", ini, "--out", n->out, "--name", NAME, "--quiet", NULL);
	ck_assert_msg(st == 0 || st == 1, "run %s: status %d: %s", ini, st, log);
	free(log);
	for (size_t i = 0; i < n->nruns; i++)
		free(n->runs[i]);
	free(n->runs);
	n->nruns = list_runs(n->out, &n->runs);
	n->binary_writes_history = file_exists(hist);
	if (n->binary_writes_history) {
		char *html = read_history(n->out);
		check(html, n);
		free(html);
	} else
		printf("SKIP: %s does not write OUT/index.html yet; checking history_write() alone\n", tu_bin());
	ck_assert_int_eq(history_write(n->out), 0);
	char *html = read_history(n->out);
	check(html, n);
	free(html);
	free(hist);
}

/* Common to every night: the title is escaped, every run is listed and linked,
 * the trend plot is an embedded PNG, the page is self-contained. */
static void check_page(const char *html, const struct nights *n)
{
	ck_assert_ptr_nonnull(strstr(html, "m&lt;i&gt;x&lt;/i&gt; · history of runs"));
	ck_assert_ptr_null(strstr(html, "<i>x</i>"));
	for (size_t i = 0; i < n->nruns; i++) {
		char *link = xasprintf("<a href=\"%s/report/index.html\">%s</a>", n->runs[i], n->runs[i]);
		ck_assert_msg(strstr(html, link), "no link %s", link);
		free(link);
	}
	ck_assert_uint_eq(count_of(html, "<tr>") - 1, n->nruns);   /* rows below the header */
	/* newest first: the newest run's row comes before the oldest's */
	char *newest = xasprintf(">%s</a></td>", n->runs[n->nruns - 1]), *oldest = xasprintf(">%s</a></td>", n->runs[0]);
	ck_assert(strstr(html, newest) <= strstr(html, oldest));
	free(newest);
	free(oldest);
	ck_assert_uint_eq(check_images_decode(html, "history"), 1);
	check_self_contained(html, 1, "history");
}

static void check_night1(const char *html, const struct nights *n)
{
	ck_assert_uint_eq(n->nruns, 1);
	check_page(html, n);
	ck_assert_ptr_nonnull(strstr(html, "This is the only run in this folder"));
}

static void check_night2(const char *html, const struct nights *n)
{
	ck_assert_uint_eq(n->nruns, 2);
	check_page(html, n);
	char *fresh = section(html, "<h3>New (", "<h3>");
	char *gone = section(html, "<h3>Resolved (", "<h2>");
	ck_assert_msg(strstr(fresh, "weak_segment · Segment region=west"), "weak_segment is not new:\n%s", fresh);
	ck_assert_ptr_null(strstr(gone, "weak_segment"));
	free(fresh);
	free(gone);
}

static void check_night3(const char *html, const struct nights *n)
{
	ck_assert_uint_eq(n->nruns, 3);
	check_page(html, n);
	char *fresh = section(html, "<h3>New (", "<h3>");
	char *gone = section(html, "<h3>Resolved (", "<h2>");
	ck_assert_msg(strstr(gone, "weak_segment · Segment region=west"), "weak_segment is not resolved:\n%s", gone);
	ck_assert_ptr_null(strstr(fresh, "weak_segment"));
	free(fresh);
	free(gone);
}

static void nights_setup(struct nights *n)
{
	memset(n, 0, sizeof *n);
	n->dir = tu_tmpdir("ops");
	n->out = path_join(n->dir, "out");
	char *clean = path_join(n->dir, "clean"), *weak = path_join(n->dir, "weak");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "clean", "--out", clean, "--rows", "3000", "--seed", "3", NULL), 0);
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "weak-segment", "--out", weak, "--rows", "3000", "--seed", "3", NULL), 0);
	n->clean_ini = path_join(clean, "audit.ini");
	n->weak_ini = path_join(weak, "audit.ini");
	free(clean);
	free(weak);
	night(n, n->clean_ini, check_night1);
	night(n, n->weak_ini, check_night2);
	night(n, n->clean_ini, check_night3);
}

static void nights_free(struct nights *n)
{
	for (size_t i = 0; i < n->nruns; i++)
		free(n->runs[i]);
	free(n->runs);
	remove_tree(n->dir);
	free(n->dir);
	free(n->out);
	free(n->clean_ini);
	free(n->weak_ini);
}

START_TEST(history_lists_a_defect_as_new_then_resolved)
{
	struct nights n;
	nights_setup(&n);   /* the checks run after each night */

	/* a run folder deleted by hand drops out; hidden and broken folders are ignored */
	char *middle = path_join(n.out, n.runs[1]);
	ck_assert_int_eq(remove_tree(middle), 0);
	char *hidden = xasprintf("%s/.20991231T000000Z.partial/report", n.out);
	char *broken = xasprintf("%s/20991231T000000Z/report", n.out);
	mkdir_p(hidden);
	mkdir_p(broken);
	free(write_file(hidden, "summary.json", summary_a));
	free(write_file(broken, "summary.json", "{not json"));
	ck_assert_int_eq(history_write(n.out), 0);
	char *html = read_history(n.out);
	ck_assert_uint_eq(count_of(html, "<tr>") - 1, 2);
	char *gone_link = xasprintf(">%s</a>", n.runs[1]);
	ck_assert_msg(!strstr(html, gone_link), "%s still listed", n.runs[1]);
	free(gone_link);
	ck_assert_ptr_null(strstr(html, "20261125T020000Z"));  /* the hidden folder's summary */
	ck_assert_ptr_nonnull(strstr(html, "Left out: 1 folder whose report/summary.json could not be read (20991231T000000Z)"));
	/* the first and last nights ran the same data: nothing changed between them */
	char *fresh = section(html, "<h3>New (", "<h3>");
	ck_assert_ptr_nonnull(strstr(fresh, "<h3>New (0)</h3>"));
	free(fresh);
	free(html);
	free(middle);
	free(hidden);
	free(broken);
	nights_free(&n);
}
END_TEST

/* diff on the nights' runs, in each format, through diff_main and (once it is
 * wired) the binary; and the JUnit file of the night with the defect. */
START_TEST(diff_and_junit_on_real_runs)
{
	struct nights n;
	nights_setup(&n);
	char *r[3];
	for (int i = 0; i < 3; i++)
		r[i] = path_join(n.out, n.runs[i]);
	static const char *const formats[] = {"text", "md", "json"};
	for (size_t f = 0; f < 3; f++) {
		/* night 1 -> night 2: weak_segment is new at high: exit 1 */
		char *out = NULL;
		const char *argv12[] = {r[0], r[1], "--format", formats[f]};
		ck_assert_int_eq(diff_capture(&out, 4, argv12), 1);
		const char *want = f == 0 ? "  new       high   F-" : f == 1 ? "**New**\n\n" : "\"new\": [";
		ck_assert_msg(strstr(out, want) && strstr(out, f == 1 ? "weak\\_segment" : "weak_segment"), "%s:\n%s",
			      formats[f], out);
		free(out);
		/* night 2 -> night 3: weak_segment resolved */
		const char *argv23[] = {r[1], r[2], "--format", formats[f]};
		int st = diff_capture(&out, 4, argv23);
		ck_assert_int_le(st, 1);
		if (f == 2) {
			json_t *j = parse(out);
			json_t *res = json_object_get(json_object_get(j, "findings"), "resolved");
			int found = 0;
			for (size_t i = 0; i < json_array_size(res); i++)
				found |= !strcmp(json_string_value(json_object_get(json_array_get(res, i), "kind")), "weak_segment");
			ck_assert(found);
			ck_assert_int_eq(st, json_is_true(json_object_get(j, "worsened")));
			json_decref(j);
		}
		free(out);
		/* night 1 -> night 3: the same data, the same findings: exit 0 */
		char *sum3 = path_join(r[2], "report/summary.json");
		const char *argv13[] = {r[0], sum3, "--format", formats[f]};
		ck_assert_int_eq(diff_capture(&out, 4, argv13), 0);
		free(out);
		free(sum3);

		/* the binary, once `mlaudit diff` is wired */
		char *bout = NULL;
		int bst = tu_mla(&bout, NULL, "diff", r[0], r[1], "--format", formats[f], NULL);
		if (bst == 2 && strstr(bout, "not built yet"))
			printf("SKIP: %s has no diff command yet\n", tu_bin());
		else {
			ck_assert_msg(bst == 1, "mlaudit diff: status %d: %s", bst, bout);
			char *mine = NULL;
			diff_capture(&mine, 4, argv12);
			ck_assert_str_eq(bout, mine);
			free(mine);
			ck_assert_int_eq(tu_mla(NULL, NULL, "diff", r[0], r[2], "--format", formats[f], NULL), 0);
		}
		free(bout);
	}
	char *bout = NULL;
	int bst = tu_mla(&bout, NULL, "diff", r[0], NULL);
	ck_assert_int_eq(bst, 2);
	free(bout);

	/* JUnit of night 2: weak_segment fails at fail_on = high */
	char *junit = path_join(r[1], "report/junit.xml");
	char *sum = path_join(r[1], "report/summary.json");
	char *sum_text = file_read_all(sum, NULL);
	ck_assert_ptr_nonnull(sum_text);
	json_t *s = parse(sum_text);
	free(sum_text);
	int kinds_failed = 0;
	size_t i;
	json_t *f;
	const char *seen[64];
	int nseen = 0;
	json_array_foreach(json_object_get(s, "findings"), i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));
		if (strcmp(json_string_value(json_object_get(f, "severity")), "high"))
			continue;
		int dup = 0;
		for (int k = 0; k < nseen; k++)
			dup |= !strcmp(seen[k], kind);
		if (!dup && nseen < 64) {
			seen[nseen++] = kind;
			kinds_failed++;
		}
	}
	char *x = check_junit(junit, (int)model_nkinds, kinds_failed);
	ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"mlaudit.m&lt;i&gt;x&lt;/i&gt;\""));
	char *ws = section(x, "<testcase name=\"weak_segment\"", "</testcase>");
	ck_assert_ptr_nonnull(strstr(ws, "<failure type=\"high\""));
	free(ws);
	free(x);

	/* summary.md stays short enough for a review comment: title with the
	 * verdict, the metric table, at most five findings, the link line */
	char *mdp = path_join(r[1], "report/summary.md");
	char *md = file_read_all(mdp, NULL);
	ck_assert_ptr_nonnull(md);
	ck_assert_msg(strlen(md) < 4096, "summary.md is %zu bytes", strlen(md));
	ck_assert_msg(!strncmp(md, "## m\\<i\\>x\\<\\/i\\> · run ", 23) && strstr(md, " · FAIL\n"), "%.80s", md);
	ck_assert_ptr_nonnull(strstr(md, "\n| | train | test | current |\n|---|---|---|---|\n"));
	ck_assert_ptr_nonnull(strstr(md, "\n5. **"));
	ck_assert_ptr_null(strstr(md, "\n6. "));
	const char *link = "Full report: report/index.html\n";
	ck_assert_str_eq(md + strlen(md) - strlen(link), link);
	free(md);
	free(mdp);
	json_decref(s);
	free(sum);
	free(junit);
	for (int k = 0; k < 3; k++)
		free(r[k]);
	nights_free(&n);
}
END_TEST

/* ---- the report in a browser ---- */

START_TEST(report_and_history_render_in_chromium)
{
	char *chromium = find_chromium();
	if (!chromium) {
		printf("SKIP: chromium not installed (Debian package chromium): report rendering not checked\n");
		return;
	}
	char *d = tu_tmpdir("ops");
	char *data = path_join(d, "data"), *out = path_join(d, "out");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "weak-segment", "--out", data, "--rows", "3000", NULL), 0);
	char *ini = path_join(data, "audit.ini");
	for (int k = 0; k < 2; k++) {   /* two runs, so the history has a trend */
		int st = tu_mla(NULL, NULL, "run", ini, "--out", out, "--quiet", NULL);
		ck_assert_msg(st == 0 || st == 1, "run: status %d", st);
	}
	ck_assert_int_eq(history_write(out), 0);

	char *report = path_join(out, "latest/report/index.html");
	char *html = file_read_all(report, NULL);
	ck_assert_ptr_nonnull(html);
	check_self_contained(html, 0, "report");
	ck_assert_uint_ge(check_images_decode(html, "report"), 3);
	/* a copy alone in a folder, as a mail attachment would be */
	char *alone = path_join(d, "attachment");
	mkdir_p(alone);
	char *copy = write_file(alone, "report.html", html);
	check_renders(chromium, d, copy, html, "report");

	char *hpath = path_join(out, "index.html");
	char *hist = file_read_all(hpath, NULL);
	ck_assert_ptr_nonnull(hist);
	check_self_contained(hist, 1, "history");
	check_renders(chromium, d, hpath, hist, "history");

	free(hist);
	free(hpath);
	free(copy);
	free(alone);
	free(html);
	free(report);
	free(ini);
	free(data);
	free(out);
	free(chromium);
	remove_tree(d);
	free(d);
}
END_TEST

/* ---- report size ----
 *
 * The report holds aggregates only (metrics per split and segment, findings
 * with at most a few example rows, plots of fixed pixel size), so its size does
 * not grow with the rows: on a 2-core box, 2026-11-27, weak-segment data gave
 * index.html 125,982 bytes at 3,000 rows and 128,156 bytes at 1,000,000 rows
 * (the difference is findings that reach significance with more rows, not rows
 * themselves). 10M rows would take minutes to generate and audit here, so the
 * test audits 1M rows (about 20 s in the release build) and bounds the report
 * at a quarter of the 2 MB budget, leaving room for what 10M rows would add. */
START_TEST(report_stays_small_at_a_million_rows)
{
	char *d = tu_tmpdir("ops");
	char *data = path_join(d, "data"), *out = path_join(d, "out");
	ck_assert_int_eq(tu_mla(NULL, NULL, "synth", "weak-segment", "--out", data, "--rows", "1000000", NULL), 0);
	char *ini = path_join(data, "audit.ini"), *log = NULL;
	int st = tu_mla(&log, NULL, "run", ini, "--out", out, "--quiet", "--probes", "quick", NULL);
	ck_assert_msg(st == 0 || st == 1, "run: status %d: %s", st, log);
	static const char *const files[] = {"index.html", "summary.json", "summary.md", "report.xlsx", "junit.xml"};
	off_t total = 0;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = xasprintf("%s/latest/report/%s", out, files[i]);
		struct stat sb;
		ck_assert_int_eq(stat(p, &sb), 0);
		printf("report size at 1M rows: %s %lld bytes\n", files[i], (long long)sb.st_size);
		total += sb.st_size;
		if (!strcmp(files[i], "index.html"))
			ck_assert_int_lt(sb.st_size, 512 * 1024);
		free(p);
	}
	ck_assert_int_lt(total, 2 * 1024 * 1024);
	free(log);
	free(ini);
	free(data);
	free(out);
	remove_tree(d);
	free(d);
}
END_TEST

Suite *ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *units = tcase_create("diff_junit_units");
	tcase_add_test(units, diff_classifies_each_change);
	tcase_add_test(units, diff_exit_status_follows_the_rule);
	tcase_add_test(units, diff_formats_escape_and_agree);
	tcase_add_test(units, diff_bad_arguments_exit_2_naming_the_path);
	tcase_add_test(units, escape_xml_is_well_formed);
	tcase_add_test(units, junit_marks_failed_skipped_and_escapes);
	tcase_add_test(units, history_orders_escapes_and_survives_without_gnuplot);
	suite_add_tcase(s, units);

	TCase *runs = tcase_create("history_diff_junit_runs");
	/* sanitizer builds are several times slower; chromium starts in seconds */
	tcase_set_timeout(runs, 300);
	tcase_add_test(runs, history_lists_a_defect_as_new_then_resolved);
	tcase_add_test(runs, diff_and_junit_on_real_runs);
	tcase_add_test(runs, report_and_history_render_in_chromium);
	suite_add_tcase(s, runs);

	TCase *big = tcase_create("report_size");
	tcase_set_timeout(big, 600);
	tcase_add_test(big, report_stays_small_at_a_million_rows);
	suite_add_tcase(s, big);
	return s;
}
