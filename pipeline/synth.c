/* synth.c - datasets with one planted defect, for trust tests and benchmarks.
 *
 * The world (same in every scenario):
 *   region  north/south/east/west (0.4/0.3/0.2/0.1), channel web/store/phone (0.5/0.3/0.2)
 *   x1..xK  numeric; x1..x4 standard normal, then a cycle of other shapes
 *           (N(50,10), U(0,1), a copy of x2 with noise, exponential)
 *   income  log-normal, median about 3500
 *   truth   logit t = -1 + h(x1) + 1.5 x2 - 1.2 x3 + 0.8 x2 x3 + 0.6 x4 + 0.8 z(income)
 *                     + region and channel effects,
 *           where h(x1) = 2 x1 up to x1 = 2 and falls steeply beyond it (rare in train)
 *   model   logit m = 0.9 * (t with h replaced by its straight line) + N(0, 0.3),
 *           income's part clipped to the training range as a tree model would.
 * So the model is good wherever the data look like train, and wrong where x1
 * moves beyond 2 (the drift scenario) or income leaves its range (pipeline-bug).
 * On 200k rows: about 41% positive, accuracy 0.83 and ROC-AUC 0.91 on every split of `clean`.
 *
 * Randomness: per split, three xoshiro streams seeded from the run's seed: one
 * for the data (features, label), one for the model's noise, one for the
 * defect. Each row draws the same number of values from each stream whatever
 * the scenario, so every scenario shares the clean world's rows except where
 * it plants its defect (label-noise's train differs from clean's train only in
 * the flipped labels). A fourth stream per split, seeded after the other nine
 * so that adding it changed no byte of the first six scenarios, serves what
 * only some scenarios draw: leakage's noise, shuffled-labels' permutation.
 * label-shift's current is the one split that is not row for row clean's: it
 * keeps a subset of a longer run of the same world.
 *
 * Numbers are rounded to a fixed number of decimals first and the rounded value
 * is the one the label and the model see, so the CSV holds exactly the values
 * that generated it. Formatting is hand-written from the rounded integer: it is
 * exact, the same everywhere, and over ten times faster than printf ("%.4f":
 * 250 ns a number on the 2-core dev box, put_fixed 20 ns). */
#include "pipeline/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/util.h"

/* ---- scenarios ---------------------------------------------------------- */

enum scenario {
	SC_CLEAN, SC_OVERFIT, SC_WEAK_SEGMENT, SC_DRIFT, SC_LABEL_NOISE, SC_PIPELINE_BUG,
	SC_LABEL_SHIFT, SC_CONCEPT_DRIFT, SC_LEAKAGE, SC_UNIT_CHANGE, SC_SHUFFLED_LABELS, SC_COUNT
};

const char *const synth_scenarios[] = {
	"clean", "overfit", "weak-segment", "drift", "label-noise", "pipeline-bug",
	"label-shift", "concept-drift", "leakage", "unit-change", "shuffled-labels", NULL,
};

static const char *const scenario_text[SC_COUNT] = {
	"Nothing planted: train, test and current share one distribution and the model is "
	"good on all of them, so no step-1 finding at medium or above is expected.",
	"The model is far more accurate and confident on train than on test and current "
	"(its train probabilities are pushed toward the true label): expect `overfitting`.",
	"In region=west (10% of rows) the model's predictions are near random on every split: "
	"expect `weak_segment` for region=west.",
	"On current, x1's mean shifts by +1.5 sd into a range where the true effect of x1 "
	"reverses and the model's straight-line fit does not: expect `performance_drop` "
	"(test -> current) and `data_drift` on x1.",
	"10% of train labels are flipped at random (ids in train_flipped.csv; test and current "
	"are clean), so the model looks wrong and confident on them: expect `confident_errors`, "
	"`low_train_performance` and `label_noise`.",
	"On current, income arrives x1000 (a unit change) and the model uses it as given, x3 is "
	"missing (the model imputes 0) and channel holds numbers instead of words: expect "
	"`pipeline_change` and `performance_drop`.",
	"On current, the class prior moves: rows are drawn from the same world but a negative "
	"row is kept with probability 0.4, so 'yes' rises from about 41% to about 64% while "
	"P(x | label) stays that of train: expect `label_shift` on current.",
	"On current, where x4 > 1 (16% of rows) the label rule flips: P(yes | x) becomes "
	"1 - P(yes | x); the features keep train's distribution and the model its old rule: "
	"expect `concept_drift` on current.",
	"Every split has a column outcome_score, the label (1 yes, 0 no) plus N(0, 0.35) noise, "
	"as if recorded after the outcome, and the model leans on it: expect `leakage` on "
	"outcome_score.",
	"On current, x4 arrives in other units (cm -> m: values 100x smaller) and the model uses "
	"it as given; nothing else changes: expect `pipeline_change` on x4.",
	"Train's labels are randomly permuted among its rows (test and current are clean), and "
	"the model, trained on them, learnt nothing: it predicts about the training prior: expect "
	"`unlearnable_labels` and a failing `sanity_check` (mini-batch overfit).",
};

_Static_assert(sizeof synth_scenarios / sizeof synth_scenarios[0] == SC_COUNT + 1,
	       "synth_scenarios must match enum scenario");

static int scenario_find(const char *name)
{
	for (int i = 0; name && i < SC_COUNT; i++)
		if (!strcmp(synth_scenarios[i], name))
			return i;
	return -1;
}

const char *synth_describe(const char *scenario)
{
	int s = scenario_find(scenario);
	return s < 0 ? NULL : scenario_text[s];
}

void synth_options_init(struct synth_options *o)
{
	memset(o, 0, sizeof *o);
	o->scenario = "clean";
	o->rows = SYNTH_DEFAULT_ROWS;
	o->seed = 1;
	o->features = SYNTH_DEFAULT_FEATURES;
}

size_t synth_eval_rows(size_t rows)
{
	return rows / 4 < 50 ? 50 : rows / 4;
}

/* ---- the world's constants ---------------------------------------------- */

static const char *const region_names[] = {"north", "south", "east", "west"};
static const double region_cum[] = {0.4, 0.7, 0.9};     /* cumulative weights */
static const double region_effect[] = {0.0, 0.2, -0.2, 0.3};
enum { REGION_WEST = 3 };

static const char *const channel_names[] = {"web", "store", "phone"};
static const char *const channel_codes[] = {"1", "2", "3"};   /* pipeline-bug's current */
static const double channel_cum[] = {0.5, 0.8};
static const double channel_effect[] = {0.3, 0.0, -0.3};

#define INTERCEPT (-1.0)
#define X1_SLOPE 2.0
/* x1's effect peaks at 2 and falls steeply beyond: 2.3% of train lies there,
 * too little for the model to notice (clean's confident errors stay within 1.4x
 * of what its own probabilities predict), while drift's current puts 31% there. */
#define X1_KINK 2.0
#define X1_SLOPE_AFTER (-6.0)
/* E[h(x1) - 2 x1] for x1 ~ N(0,1): the straight line's intercept correction,
 * (X1_SLOPE_AFTER - X1_SLOPE) * E[(x1 - 2)+] = -8 * 0.008491 */
#define X1_LINE_OFFSET (-0.0679)
#define INCOME_MU 8.16       /* log(3500) */
#define INCOME_SIGMA 0.5

#define MODEL_SHRINK 0.9
#define MODEL_NOISE 0.3

#define DRIFT_SHIFT 1.5
#define OVERFIT_TRAIN_SCALE 1.5
#define OVERFIT_TRAIN_PUSH 2.0
#define OVERFIT_EVAL_NOISE 1.2
#define WEAK_SIGNAL 0.15
#define WEAK_NOISE 1.0
#define FLIP_RATE 0.10
#define INCOME_BUG_FACTOR 1000
/* label-shift: a negative current row is kept with this probability, so the
 * share of 'yes' goes from p to p / (p + 0.4 (1 - p)): 41% -> 64% */
#define SHIFT_KEEP_NEGATIVE 0.4
/* concept-drift: where x4 > CONCEPT_X4_CUT (16% of rows) the label rule flips,
 * P(yes | x) becomes 1 - P(yes | x): the model, right on 83% of those rows
 * before, is right on 17% after, so current loses about 10 points */
#define CONCEPT_X4_CUT 1.0
/* leakage: outcome_score = label + N(0, LEAK_NOISE): ROC-AUC Phi(1 / (0.35 sqrt 2)) = 0.98;
 * the model adds LEAK_WEIGHT * (score - 1/2) to its logit */
#define LEAK_NOISE 0.35
#define LEAK_WEIGHT 4.0
/* unit-change: current's x4 (UNIT_FEATURE) is printed UNIT_SHIFT_DECIMALS more
 * decimals down, i.e. divided by 100 exactly (cm -> m) */
#define UNIT_FEATURE 4
#define UNIT_SHIFT_DECIMALS 2

/* Feature shapes: x1..x4 are standard normal (x1..x4 drive the label), then
 * the shapes below repeat so wide benchmarks get realistic variety. */
enum feature_kind { FK_NORMAL, FK_AGE, FK_UNIFORM, FK_COPY_X2, FK_EXP };

static enum feature_kind feature_kind(size_t j)   /* j is 1-based */
{
	static const enum feature_kind cycle[] = {FK_NORMAL, FK_AGE, FK_UNIFORM, FK_COPY_X2, FK_EXP};
	return j < 4 ? FK_NORMAL : cycle[(j - 4) % 5];
}

static int feature_decimals(enum feature_kind k)
{
	return k == FK_AGE ? 2 : 4;
}

/* ---- exact fixed-point formatting --------------------------------------- */

static const double pow10_table[] = {1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0, 1000000.0};

/* Round v to `dec` decimals; *q receives the scaled integer that put_fixed prints. */
static double quantize(double v, int dec, int64_t *q)
{
	double s = v * pow10_table[dec];
	/* no value of this world comes near the limit; clamp so the conversion stays defined */
	if (!(s > -9.0e15))
		s = -9.0e15;
	if (!(s < 9.0e15))
		s = 9.0e15;
	/* half away from zero, as llround, without the library call per value */
	*q = (int64_t)(s < 0 ? s - 0.5 : s + 0.5);
	return (double)*q / pow10_table[dec];
}

/* "00".."99": two digits per division halves the work of printing a number */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Write exactly n digits of u (the low ones, zero-padded) ending at end. */
static void digits_backward(char *end, uint64_t u, int n)
{
	if (u <= UINT32_MAX) {   /* nearly always: 32-bit division is cheaper */
		uint32_t v = (uint32_t)u;
		for (; n >= 2; n -= 2) {
			unsigned d = (v % 100) * 2;
			v /= 100;
			*--end = digit_pairs[d + 1];
			*--end = digit_pairs[d];
		}
		if (n)
			*--end = (char)('0' + v % 10);
		return;
	}
	for (; n >= 2; n -= 2) {
		unsigned d = (unsigned)(u % 100) * 2;
		u /= 100;
		*--end = digit_pairs[d + 1];
		*--end = digit_pairs[d];
	}
	if (n)
		*--end = (char)('0' + u % 10);
}

static int count_digits(uint64_t u)
{
	int n = 1;
	while (u >= 10000) {
		u /= 10000;
		n += 4;
	}
	return n + (u >= 10) + (u >= 100) + (u >= 1000);
}

/* Print u, zero-padded to at least `width` digits. */
static char *put_uint_width(char *p, uint64_t u, int width)
{
	int n = count_digits(u);
	if (n < width)
		n = width;
	digits_backward(p + n, u, n);
	return p + n;
}

static char *put_uint(char *p, uint64_t u)
{
	return put_uint_width(p, u, 1);
}

/* Print q / 10^dec with exactly dec decimals ("-0.0312", "3512.07"). The
 * divisions by constants in the switch compile to multiplications. */
static char *put_fixed(char *p, int64_t q, int dec)
{
	uint64_t u = q < 0 ? (uint64_t)0 - (uint64_t)q : (uint64_t)q;
	uint64_t ip, fp;
	if (q < 0)
		*p++ = '-';
	switch (dec) {
	case 2: ip = u / 100, fp = u % 100; break;
	case 4: ip = u / 10000, fp = u % 10000; break;
	case 6: ip = u / 1000000, fp = u % 1000000; break;
	default: {
		uint64_t scale = 1;
		for (int i = 0; i < dec; i++)
			scale *= 10;
		ip = u / scale, fp = u % scale;
	}
	}
	p = put_uint(p, ip);
	if (dec) {
		*p++ = '.';
		digits_backward(p + dec, fp, dec);
		p += dec;
	}
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* ---- output: a buffer that streams to a plain or gzip file --------------- */

#define SINK_BUFFER (1u << 20)

struct sink {
	char *path;      /* final name */
	char *tmp;       /* written here, renamed to path when the whole run succeeded */
	FILE *f;         /* plain output, or */
	gzFile gz;       /* gzip output */
	char *buf;
	size_t len;
	int open;
};

static int sink_open(struct sink *s, const char *dir, const char *name, int gzip)
{
	memset(s, 0, sizeof *s);
	char *file = xasprintf("%s%s", name, gzip ? ".gz" : "");
	s->path = path_join(dir, file);
	free(file);
	s->tmp = xasprintf("%s.tmp.%ld", s->path, (long)getpid());
	if (gzip) {
		/* level 1: several times faster than the default 6 and the data is synthetic */
		s->gz = gzopen(s->tmp, "wb1");
		if (s->gz)
			gzbuffer(s->gz, 256u << 10);
	} else {
		s->f = fopen(s->tmp, "wb");
	}
	if (!s->f && !s->gz)
		return ERR_INTERNAL("%s: cannot create: %s", s->tmp, strerror(errno));
	s->open = 1;
	s->buf = xmalloc(SINK_BUFFER);
	return 0;
}

static int sink_flush(struct sink *s)
{
	if (!s->len)
		return 0;
	if (s->gz) {
		if (gzwrite(s->gz, s->buf, (unsigned)s->len) != (int)s->len) {
			int zerr;
			const char *msg = gzerror(s->gz, &zerr);
			return ERR_INTERNAL("%s: write failed: %s", s->tmp, zerr == Z_ERRNO ? strerror(errno) : msg);
		}
	} else if (fwrite(s->buf, 1, s->len, s->f) != s->len) {
		return ERR_INTERNAL("%s: write failed: %s", s->tmp, strerror(errno));
	}
	s->len = 0;
	return 0;
}

/* Room for `need` more bytes in the buffer (need <= SINK_BUFFER). */
static int sink_reserve(struct sink *s, size_t need)
{
	return SINK_BUFFER - s->len < need ? sink_flush(s) : 0;
}

static int sink_puts(struct sink *s, const char *text)
{
	size_t n = strlen(text);
	for (size_t off = 0; off < n;) {
		if (sink_reserve(s, 1))
			return -1;
		size_t k = n - off < SINK_BUFFER - s->len ? n - off : SINK_BUFFER - s->len;
		memcpy(s->buf + s->len, text + off, k);
		s->len += k;
		off += k;
	}
	return 0;
}

/* Flush and close the temporary file (it stays under its temporary name). */
static int sink_finish(struct sink *s)
{
	int rc = sink_flush(s);
	if (s->gz) {
		int zrc = gzclose(s->gz);
		if (rc == 0 && zrc != Z_OK)
			rc = ERR_INTERNAL("%s: write failed (gzclose %d): %s", s->tmp, zrc, strerror(errno));
	} else if (s->f) {
		/* fclose reports a failed final flush (disk full) */
		if (fclose(s->f) != 0 && rc == 0)
			rc = ERR_INTERNAL("%s: write failed: %s", s->tmp, strerror(errno));
	}
	s->gz = NULL;
	s->f = NULL;
	free(s->buf);
	s->buf = NULL;
	return rc;
}

static int sink_publish(struct sink *s)
{
	if (rename(s->tmp, s->path) != 0)
		return ERR_INTERNAL("%s: cannot rename into place: %s", s->path, strerror(errno));
	s->open = 0;
	return 0;
}

/* Close if needed, delete the temporary file if it is still there, free names. */
static void sink_discard(struct sink *s)
{
	if (s->f || s->gz) {
		if (s->gz)
			gzclose(s->gz);
		if (s->f)
			fclose(s->f);
	}
	if (s->open && s->tmp)
		unlink(s->tmp);
	free(s->buf);
	free(s->path);
	free(s->tmp);
	memset(s, 0, sizeof *s);
}

/* ---- one split ---------------------------------------------------------- */

enum split { SPLIT_TRAIN, SPLIT_TEST, SPLIT_CURRENT, SPLIT_COUNT };
static const char *const split_names[SPLIT_COUNT] = {"train", "test", "current"};
static const int split_day0[SPLIT_COUNT] = {1, 301, 331};
static const int split_day1[SPLIT_COUNT] = {300, 330, 365};

struct gen {
	enum scenario sc;
	size_t k;             /* numeric features */
	int id_width;         /* digits after 'r' in ids */
	enum feature_kind *kind;  /* per feature, k of them */
	int *dec;             /* decimals per feature */
	int64_t *q;           /* one row's rounded features (scaled integers), k of them */
	double *x;            /* the same as doubles */
	double train_prior;   /* shuffled-labels: share of 'yes' in train (what its model learnt) */
};

/* A random stream with a normal generator that yields two values per log:
 * Marsaglia's polar method on rng_uniform. util's rng_normal (Box-Muller, one
 * value per log and cos) made normals a third of the run time on wide data. */
struct stream {
	struct rng rng;
	double spare;
	int has_spare;
};

static void stream_seed(struct stream *s, uint64_t seed)
{
	rng_seed(&s->rng, seed);
	s->has_spare = 0;
	s->spare = 0;
}

static double stream_uniform(struct stream *s)
{
	return rng_uniform(&s->rng);
}

static double stream_normal(struct stream *s)
{
	if (s->has_spare) {
		s->has_spare = 0;
		return s->spare;
	}
	double u, v, r2;
	do {
		u = 2.0 * rng_uniform(&s->rng) - 1.0;
		v = 2.0 * rng_uniform(&s->rng) - 1.0;
		r2 = u * u + v * v;
	} while (r2 >= 1.0 || r2 == 0.0);
	double f = sqrt(-2.0 * log(r2) / r2);
	s->spare = v * f;
	s->has_spare = 1;
	return u * f;
}

static double sigmoid(double z)
{
	return 1.0 / (1.0 + exp(-z));
}

static char *put_id(char *p, uint64_t id, int width)
{
	*p++ = 'r';
	return put_uint_width(p, id, width);
}

static int write_header(struct sink *s, const struct gen *g, int drop_x3)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "id,region,channel");
	for (size_t j = 1; j <= g->k; j++)
		if (!(drop_x3 && j == 3))
			sb_printf(&sb, ",x%zu", j);
	sb_puts(&sb, g->sc == SC_LEAKAGE ? ",income,outcome_score" : ",income");
	sb_puts(&sb, ",day,label,pred,proba\n");
	int rc = sink_puts(s, sb.data);
	sb_free(&sb);
	return rc;
}

/* A split's random streams: data (features, label), model noise, defect, and
 * a fourth (re) for what only the newer scenarios draw (leakage's noise,
 * shuffled-labels' permutation). It is seeded after the first three streams
 * of every split, so adding it changed no byte of the older scenarios. */
struct streams {
	struct stream rd, rm, rx, re;
};

static void streams_seed(struct streams *st, const uint64_t seeds[4])
{
	stream_seed(&st->rd, seeds[0]);
	stream_seed(&st->rm, seeds[1]);
	stream_seed(&st->rx, seeds[2]);
	stream_seed(&st->re, seeds[3]);
}

/* One row of the world before its defect; the features are in g->q / g->x. */
struct row {
	int region, channel;
	int64_t income_q;     /* income in cents */
	double income;
	double zinc;          /* standardised log income */
	double rest;          /* the part of the truth the model gets right */
	double t;             /* the true logit */
	double u_label;       /* the label's uniform: y = u_label < sigmoid(t) */
	int y;                /* the true label */
	double e1, e2;        /* model noise */
	double u_defect;      /* the defect stream's uniform */
};

/* Draw one row: the same number of values from the data, model and defect
 * streams whatever the scenario, so every scenario shares the clean world's
 * rows except where it plants its defect. */
static void draw_row(struct gen *g, struct streams *st, int drift, struct row *r)
{
	struct stream *rd = &st->rd;
	double u = stream_uniform(rd);
	r->region = u < region_cum[0] ? 0 : u < region_cum[1] ? 1 : u < region_cum[2] ? 2 : 3;
	u = stream_uniform(rd);
	r->channel = u < channel_cum[0] ? 0 : u < channel_cum[1] ? 1 : 2;
	for (size_t j = 1; j <= g->k; j++) {
		double v;
		switch (g->kind[j - 1]) {
		case FK_NORMAL: v = stream_normal(rd); break;
		case FK_AGE: v = 50.0 + 10.0 * stream_normal(rd); break;
		case FK_UNIFORM: v = stream_uniform(rd); break;
		case FK_COPY_X2: v = 0.6 * g->x[1] + 0.8 * stream_normal(rd); break;
		case FK_EXP: v = -2.0 * log1p(-stream_uniform(rd)); break;
		default: v = 0; break;
		}
		if (j == 1 && drift)
			v += DRIFT_SHIFT;
		g->x[j - 1] = quantize(v, g->dec[j - 1], &g->q[j - 1]);
	}
	r->income = quantize(exp(INCOME_MU + INCOME_SIGMA * stream_normal(rd)), 2, &r->income_q);
	r->u_label = stream_uniform(rd);
	r->e1 = stream_normal(&st->rm);
	r->e2 = stream_normal(&st->rm);
	r->u_defect = stream_uniform(&st->rx);

	const double x1 = g->x[0], x2 = g->x[1], x3 = g->x[2], x4 = g->k >= 4 ? g->x[3] : 0.0;
	r->zinc = (log(r->income) - INCOME_MU) / INCOME_SIGMA;
	double h = x1 <= X1_KINK ? X1_SLOPE * x1 : X1_SLOPE * X1_KINK + X1_SLOPE_AFTER * (x1 - X1_KINK);
	r->rest = INTERCEPT + 1.5 * x2 + 0.6 * x4 + region_effect[r->region] + channel_effect[r->channel];
	r->t = r->rest + h - 1.2 * x3 + 0.8 * x2 * x3 + 0.8 * r->zinc;
	r->y = r->u_label < sigmoid(r->t);
}

/* Share of 'yes' among n train rows: shuffled-labels permutes train's labels
 * in one streamed pass, so it needs their count first; this replays the data
 * stream (the rows are not kept). */
static double count_train_prior(struct gen *g, size_t n, const uint64_t seeds[4], size_t *positives)
{
	struct streams st;
	streams_seed(&st, seeds);
	struct row r;
	size_t p = 0;
	for (size_t i = 0; i < n; i++) {
		draw_row(g, &st, 0, &r);
		p += (size_t)r.y;
	}
	*positives = p;
	return n ? (double)p / (double)n : 0.5;
}

/* Write n rows of split `sp` with ids id0, id0+1, ...; `flipped` (label-noise's
 * train only) receives the ids whose label was flipped. */
static int gen_split(struct gen *g, enum split sp, size_t n, uint64_t id0, const uint64_t seeds[4],
		     struct sink *out, struct sink *flipped)
{
	struct streams st;
	const enum scenario sc = g->sc;
	const int is_train = sp == SPLIT_TRAIN, is_current = sp == SPLIT_CURRENT;
	const int drift = sc == SC_DRIFT && is_current;
	const int bug = sc == SC_PIPELINE_BUG && is_current;
	const int noisy_labels = sc == SC_LABEL_NOISE && is_train;
	const int label_shift = sc == SC_LABEL_SHIFT && is_current;
	const int concept = sc == SC_CONCEPT_DRIFT && is_current && g->k >= 4;
	const int leak = sc == SC_LEAKAGE;
	const int unit = sc == SC_UNIT_CHANGE && is_current && g->k >= UNIT_FEATURE;
	const int shuffle = sc == SC_SHUFFLED_LABELS && is_train;
	const uint64_t span = (uint64_t)(split_day1[sp] - split_day0[sp] + 1);
	/* id, 2 segments, k features of up to ~20 characters, income, score, day, label, pred, proba */
	const size_t row_max = 160 + g->k * 24;

	/* shuffled-labels: sequential sampling without replacement hands the
	 * train's count of 'yes' to a uniformly random set of its rows, which
	 * is a random permutation of the labels, streamed */
	size_t pos_left = 0;
	if (sc == SC_SHUFFLED_LABELS && is_train)
		g->train_prior = count_train_prior(g, n, seeds, &pos_left);
	streams_seed(&st, seeds);

	if (write_header(out, g, bug))
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct row r;
		/* -- draw the row; label-shift's current keeps a negative row with
		 * probability SHIFT_KEEP_NEGATIVE and draws again otherwise, which
		 * changes P(y) and leaves P(x | y) alone -- */
		do
			draw_row(g, &st, drift, &r);
		while (label_shift && !r.y && r.u_defect >= SHIFT_KEEP_NEGATIVE);

		const double x1 = g->x[0], x2 = g->x[1], x3 = g->x[2], x4 = g->k >= 4 ? g->x[3] : 0.0;
		int y = r.y;
		if (concept && x4 > CONCEPT_X4_CUT)   /* the row's own uniform against the flipped rule */
			y = r.u_label < sigmoid(-r.t);

		/* -- what the data say after the planted defect -- */
		int64_t income_shown = r.income_q;
		double zinc_model = r.zinc, x3_model = x3, x4_model = x4;
		if (bug) {
			/* the feed switched units; the model sees the big number, and a
			 * missing x3 is imputed with its training mean, 0 */
			income_shown = r.income_q * INCOME_BUG_FACTOR;
			zinc_model = (log(r.income * INCOME_BUG_FACTOR) - INCOME_MU) / INCOME_SIGMA;
			x3_model = 0.0;
		}
		if (unit)   /* the model sees the value as printed */
			x4_model = x4 / pow10_table[UNIT_SHIFT_DECIMALS];
		int y_shown = y;
		if (noisy_labels && r.u_defect < FLIP_RATE)
			y_shown = !y;
		if (shuffle) {
			y_shown = stream_uniform(&st.re) * (double)(n - i) < (double)pos_left;
			pos_left -= (size_t)y_shown;
		}
		int64_t score_q = 0;
		double score = 0;
		if (leak)
			score = quantize(y + LEAK_NOISE * stream_normal(&st.re), 4, &score_q);

		/* -- the model: a straight line in x1, income clipped to its train range -- */
		double zclip = zinc_model < -3.0 ? -3.0 : zinc_model > 3.0 ? 3.0 : zinc_model;
		double rest_model = r.rest + 0.6 * (x4_model - x4);
		double line = rest_model + X1_SLOPE * x1 + X1_LINE_OFFSET - 1.2 * x3_model + 0.8 * x2 * x3_model + 0.8 * zclip;
		double m = MODEL_SHRINK * line + MODEL_NOISE * r.e1;
		if (sc == SC_OVERFIT) {
			if (is_train)   /* memorised: confident and pulled toward the label it saw */
				m = OVERFIT_TRAIN_SCALE * m + OVERFIT_TRAIN_PUSH * (y_shown ? 1.0 : -1.0);
			else
				m = MODEL_SHRINK * line + OVERFIT_EVAL_NOISE * r.e1;
		}
		if (sc == SC_WEAK_SEGMENT && r.region == REGION_WEST)
			m = WEAK_SIGNAL * r.t + WEAK_NOISE * r.e2;
		if (leak)
			m += LEAK_WEIGHT * (score - 0.5);
		if (sc == SC_SHUFFLED_LABELS)   /* nothing to learn: the prior, and noise */
			m = log(g->train_prior / (1 - g->train_prior)) + MODEL_NOISE * r.e1;
		int64_t p6 = llround(sigmoid(m) * 1e6);
		/* a real model never prints exactly 0 or 1; keeps log-loss finite */
		if (p6 < 1)
			p6 = 1;
		if (p6 > 999999)
			p6 = 999999;

		/* -- write it -- */
		if (sink_reserve(out, row_max))
			return -1;
		char *p = out->buf + out->len;
		uint64_t id = id0 + i;
		p = put_id(p, id, g->id_width);
		*p++ = ',';
		p = put_str(p, region_names[r.region]);
		*p++ = ',';
		p = put_str(p, bug ? channel_codes[r.channel] : channel_names[r.channel]);
		for (size_t j = 1; j <= g->k; j++) {
			if (bug && j == 3)
				continue;
			*p++ = ',';
			p = put_fixed(p, g->q[j - 1], g->dec[j - 1] + (unit && j == UNIT_FEATURE ? UNIT_SHIFT_DECIMALS : 0));
		}
		*p++ = ',';
		p = put_fixed(p, income_shown, 2);
		if (leak) {
			*p++ = ',';
			p = put_fixed(p, score_q, 4);
		}
		*p++ = ',';
		p = put_uint(p, (uint64_t)split_day0[sp] + (uint64_t)i * span / n);
		*p++ = ',';
		p = put_str(p, y_shown ? "yes" : "no");
		*p++ = ',';
		p = put_str(p, p6 >= 500000 ? "yes" : "no");
		*p++ = ',';
		p = put_fixed(p, p6, 6);
		*p++ = '\n';
		out->len = (size_t)(p - out->buf);

		if (flipped && y_shown != y) {
			if (sink_reserve(flipped, 32))
				return -1;
			p = put_id(flipped->buf + flipped->len, id, g->id_width);
			*p++ = '\n';
			flipped->len = (size_t)(p - flipped->buf);
		}
	}
	return 0;
}

/* ---- the run ------------------------------------------------------------ */

static char *scenario_list(void)
{
	struct strbuf sb;
	sb_init(&sb);
	for (int i = 0; synth_scenarios[i]; i++)
		sb_printf(&sb, "%s%s", i ? ", " : "", synth_scenarios[i]);
	return sb_detach(&sb);
}

static int write_ini(const struct synth_options *o, size_t k, size_t rows, int gzip)
{
	const char *ext = gzip ? ".csv.gz" : ".csv";
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, "# mlaudit synth %s --rows %zu --seed %llu --features %zu%s\n", o->scenario, rows,
		  (unsigned long long)o->seed, k, gzip ? " --gzip" : "");
	sb_printf(&sb, "# planted: %s\n", synth_describe(o->scenario));
	sb_puts(&sb, "[audit]\n");
	sb_printf(&sb, "name = synth-%s\n", o->scenario);
	sb_printf(&sb, "train = train%s\ntest = test%s\ncurrent = current%s\n", ext, ext, ext);
	sb_puts(&sb, "label = label\npositive = yes\nid = id\npred = pred\nproba = proba\n"
		     "segments = region,channel\ntime = day\nmetric = accuracy\n");
	char *path = path_join(o->out_dir, "audit.ini");
	int rc = file_write_atomic(path, sb.data, sb.len);
	free(path);
	sb_free(&sb);
	return rc;
}

/* A train_flipped file from an earlier label-noise run in the same folder
 * would claim flips this dataset does not have. */
static void remove_stale(const char *dir, const char *name)
{
	char *path = path_join(dir, name);
	unlink(path);
	free(path);
}

int synth_run(const struct synth_options *o)
{
	int sc = scenario_find(o->scenario);
	if (sc < 0) {
		char *list = scenario_list();
		ERR_INPUT("unknown scenario '%s' (known: %s)", o->scenario ? o->scenario : "", list);
		free(list);
		return -1;
	}
	if (!o->out_dir || !*o->out_dir)
		return ERR_INPUT("synth: --out DIR is required");
	size_t rows = o->rows ? o->rows : SYNTH_DEFAULT_ROWS;
	size_t k = o->features ? o->features : SYNTH_DEFAULT_FEATURES;
	if (k < SYNTH_MIN_FEATURES || k > SYNTH_MAX_FEATURES)
		return ERR_INPUT("synth: --features must be between %d and %d (got %zu)", SYNTH_MIN_FEATURES,
				 SYNTH_MAX_FEATURES, k);
	if ((sc == SC_CONCEPT_DRIFT || sc == SC_UNIT_CHANGE) && k < 4)
		return ERR_INPUT("synth: scenario %s changes x4 and needs --features 4 or more (got %zu)",
				 o->scenario, k);
	size_t n_eval = synth_eval_rows(rows);
	if (rows > (size_t)1e12)
		return ERR_INPUT("synth: --rows %zu is too many (at most 1e12)", rows);
	if (mkdir_p(o->out_dir))
		return -1;

	struct gen g = {.sc = (enum scenario)sc, .k = k};
	uint64_t total = (uint64_t)rows + 2 * (uint64_t)n_eval;
	int digits = 1;
	for (uint64_t t = total; t >= 10; t /= 10)
		digits++;
	g.id_width = digits < 6 ? 6 : digits;
	g.q = xcalloc(k, sizeof *g.q);
	g.x = xcalloc(k, sizeof *g.x);
	g.kind = xcalloc(k, sizeof *g.kind);
	g.dec = xcalloc(k, sizeof *g.dec);
	for (size_t j = 1; j <= k; j++) {
		g.kind[j - 1] = feature_kind(j);
		g.dec[j - 1] = feature_decimals(g.kind[j - 1]);
	}

	/* one master stream hands each split its three seeds, in a fixed order */
	struct rng master;
	rng_seed(&master, o->seed);
	uint64_t seeds[SPLIT_COUNT][4];
	for (int s = 0; s < SPLIT_COUNT; s++)
		for (int j = 0; j < 3; j++)
			seeds[s][j] = rng_next(&master);
	/* the extra streams' seeds come after, so the first nine are unchanged */
	for (int s = 0; s < SPLIT_COUNT; s++)
		seeds[s][3] = rng_next(&master);

	struct sink outs[SPLIT_COUNT], flipped;
	memset(outs, 0, sizeof outs);
	memset(&flipped, 0, sizeof flipped);
	const int want_flipped = sc == SC_LABEL_NOISE;
	int rc = 0;
	uint64_t id0 = 1;
	for (int s = 0; s < SPLIT_COUNT && rc == 0; s++) {
		size_t n = s == SPLIT_TRAIN ? rows : n_eval;
		char *name = xasprintf("%s.csv", split_names[s]);
		rc = sink_open(&outs[s], o->out_dir, name, o->gzip);
		free(name);
		if (rc == 0 && s == SPLIT_TRAIN && want_flipped) {
			rc = sink_open(&flipped, o->out_dir, "train_flipped.csv", o->gzip);
			if (rc == 0)
				rc = sink_puts(&flipped, "id\n");
		}
		if (rc == 0)
			rc = gen_split(&g, (enum split)s, n, id0, seeds[s], &outs[s],
				       s == SPLIT_TRAIN && want_flipped ? &flipped : NULL);
		if (rc == 0)
			rc = sink_finish(&outs[s]);
		if (rc == 0 && s == SPLIT_TRAIN && want_flipped)
			rc = sink_finish(&flipped);
		id0 += n;
	}
	/* publish only when every file is complete */
	for (int s = 0; s < SPLIT_COUNT && rc == 0; s++)
		rc = sink_publish(&outs[s]);
	if (rc == 0 && want_flipped)
		rc = sink_publish(&flipped);
	if (rc == 0) {
		if (!want_flipped || o->gzip)
			remove_stale(o->out_dir, "train_flipped.csv");
		if (!want_flipped || !o->gzip)
			remove_stale(o->out_dir, "train_flipped.csv.gz");
		rc = write_ini(o, k, rows, o->gzip);
	}
	for (int s = 0; s < SPLIT_COUNT; s++)
		sink_discard(&outs[s]);
	sink_discard(&flipped);
	free(g.q);
	free(g.x);
	free(g.kind);
	free(g.dec);
	return rc;
}
