/* ingest.c - one split's file into a typed frame, in one streaming pass.
 *
 * Each column is built while the rows go by. A column whose type is declared
 * (or forced by its role) is parsed as that type. An inferred column starts
 * as numeric; at its first cell that is not a number it also starts a
 * categorical code vector (the "dual" state) and keeps both until the end,
 * where one representation wins and the other is freed:
 *   - no number at all and only boolean words (true/false, yes/no, t/f, y/n)
 *     -> boolean, stored as 0/1;
 *   - a share of non-numbers <= max_bad_numeric -> numeric, the stragglers
 *     read as missing and counted in n_bad;
 *   - otherwise categorical.
 * In the dual state the numbers are kept compactly (only the numeric cells,
 * in row order; their rows are marked in the code vector), so a column never
 * costs more than its code vector plus its numbers while it is undecided. */
#include "ingest.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "../../pipeline/util.h"
#include "csv.h"

/* ---- numbers ---- */

/* Powers of ten that are exact in a double: 10^k = 5^k * 2^k and 5^22 < 2^53. */
static const double exact_pow10[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t int_pow10[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

/* strtod follows LC_NUMERIC; data files use '.', whatever the user's locale. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static double slow_strtod(const char *s, size_t len)
{
	char small[128];
	char *tmp = len < sizeof small ? small : xmalloc(len + 1);
	memcpy(tmp, s, len);
	tmp[len] = 0;
	pthread_once(&c_locale_once, c_locale_init);
	double v = c_locale ? strtod_l(tmp, NULL, c_locale) : strtod(tmp, NULL);
	if (tmp != small)
		free(tmp);
	return v;
}

/* SWAR digit handling (8 ASCII bytes in a uint64_t, first char lowest):
 * the number of leading digits, and the value of the first k of them. */
static inline unsigned swar_digits(uint64_t w)
{
	uint64_t t = w ^ 0x3030303030303030ull;  /* digits become 0..9 */
	/* a byte is not a digit when its high nibble is set now, or after
	 * adding 6 (10..15 carry into it); a carry only runs into later bytes */
	uint64_t bad = (t | (t + 0x0606060606060606ull)) & 0xF0F0F0F0F0F0F0F0ull;
	return bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
}

static inline uint64_t swar_value(uint64_t w, unsigned k)  /* 1 <= k <= 8 */
{
	uint64_t t = (w ^ 0x3030303030303030ull) << (8 * (8 - k));  /* leading zeros */
	t = t * 10 + (t >> 8);  /* pairs of digits */
	return (((t & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
		(((t >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
}

/* Append the run of digits at *pp to *mant (wrapping past 19 digits: the
 * caller counts them). `padded`: 8 bytes may be read at any position up to
 * the end, and the byte at the end is not a digit (csv.h's promise). */
static inline size_t scan_digits(const char **pp, const char *end, uint64_t *mant, int padded)
{
	const char *p = *pp;
	uint64_t m = *mant;
	if (padded) {
		for (;;) {
			uint64_t w;
			memcpy(&w, p, 8);
			unsigned k = swar_digits(w);
			if (k == 0)
				break;
			m = m * int_pow10[k] + swar_value(w, k);
			p += k;
			if (k < 8)
				break;
		}
	} else {
		unsigned d;
		while (p < end && (d = (unsigned)(unsigned char)*p - '0') < 10) {
			m = m * 10 + d;
			p++;
		}
	}
	size_t n = (size_t)(p - *pp);
	*pp = p;
	*mant = m;
	return n;
}

static inline int parse_number_impl(const char *s, size_t len, double *out, int padded)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	if (p < end && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	/* The digits as mant x 10^exp10. mant is exact while there are at most
	 * 19 digits (leading zeros included: it keeps the loops free of tests);
	 * past that it wraps, and the slow path below does not use it. */
	uint64_t mant = 0;
	size_t ndigits = scan_digits(&p, end, &mant, padded), nfrac = 0;
	if (p < end && *p == '.') {
		p++;
		nfrac = scan_digits(&p, end, &mant, padded);
		ndigits += nfrac;
	}
	if (ndigits == 0)  /* "", "+", ".", "e5", words like inf and nan */
		return 0;
	int64_t exp10 = -(int64_t)nfrac;
	if (p < end) {
		if (*p != 'e' && *p != 'E')
			return 0;
		p++;
		int eneg = 0;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p == end)
			return 0;
		int64_t e = 0;
		unsigned d;
		while (p < end && (d = (unsigned)(unsigned char)*p - '0') < 10) {
			if (e < 100000000)  /* far past any double; keeps e from overflowing */
				e = e * 10 + d;
			p++;
		}
		if (p != end)
			return 0;
		exp10 += eneg ? -e : e;
	}

	/* Clinger's fast path: mant and 10^|exp10| are both exact doubles, so
	 * one IEEE multiplication or division rounds correctly. */
	if (ndigits <= 19 && mant <= (UINT64_C(1) << 53)) {
		double v;
		int fast = 1;
		if (mant == 0)
			v = 0.0;
		else if (exp10 >= -22 && exp10 <= 22)
			v = exp10 >= 0 ? (double)mant * exact_pow10[exp10] : (double)mant / exact_pow10[-exp10];
		else if (exp10 > 22 && exp10 <= 22 + 19 &&
			 mant <= (UINT64_C(1) << 53) / int_pow10[exp10 - 22])
			/* 12e30: move the excess power into the integer while it stays exact */
			v = (double)(mant * int_pow10[exp10 - 22]) * 1e22;
		else
			fast = 0;
		if (fast) {
			*out = neg ? -v : v;
			return 1;
		}
	}
	/* Everything else (long mantissas, huge or tiny exponents): the C
	 * library's correctly rounded conversion, on text we already validated. */
	*out = slow_strtod(s, len);
	return 1;
}

int parse_number(const char *s, size_t len, double *out)
{
	return parse_number_impl(s, len, out, 0);
}

/* parse_number for a field from csv_next, which may read past its end. */
static int parse_field_number(const char *s, size_t len, double *out)
{
	return parse_number_impl(s, len, out, 1);
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t k;
	unsigned min;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	unsigned cp = c & (0x7F >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

/* Offset of the first invalid byte, or n when s is valid UTF-8. */
static size_t utf8_check(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(u + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

/* A copy of s with each invalid byte replaced by U+FFFD; caller frees. */
static char *utf8_repair(const char *s, size_t n, size_t *outlen)
{
	struct strbuf sb;
	sb_init(&sb);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);
		if (k) {
			sb_putn(&sb, s + i, k);
			i += k;
		} else {
			sb_puts(&sb, "\xEF\xBF\xBD");
			i++;
		}
	}
	*outlen = sb.len;
	return sb_detach(&sb);
}

/* ---- a dictionary of texts (open addressing) ---- */

struct dict {
	char **levels;        /* in order of first appearance; handed to the frame */
	uint32_t *lens;
	size_t n, cap;
	uint64_t *slots;      /* 0 = empty, else (hash high 32 bits << 32) | (code + 1) */
	size_t mask;
};

static uint64_t hash_text(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0x94D049BB133111EBull;
		h ^= h >> 29;
	}
	h *= 0xD6E8FEB86659FD93ull;
	return h ^ (h >> 32);
}

static void dict_free(struct dict *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->levels[i]);
	free(d->levels);
	free(d->lens);
	free(d->slots);
	memset(d, 0, sizeof *d);
}

static void dict_rehash(struct dict *d, size_t nslots)
{
	free(d->slots);
	d->slots = xcalloc(nslots, sizeof *d->slots);
	d->mask = nslots - 1;
	for (size_t c = 0; c < d->n; c++) {
		uint64_t h = hash_text(d->levels[c], d->lens[c]);
		size_t i = (size_t)h & d->mask;
		while (d->slots[i])
			i = (i + 1) & d->mask;
		d->slots[i] = (h & 0xFFFFFFFF00000000ull) | (uint64_t)(c + 1);
	}
}

/* Find text s: its code, or -1 with *slot set to where it would go. */
static int32_t dict_find(struct dict *d, const char *s, size_t n, uint64_t h, size_t *slot)
{
	if (!d->slots)
		dict_rehash(d, 64);
	uint64_t tag = h & 0xFFFFFFFF00000000ull;
	size_t i = (size_t)h & d->mask;
	for (; d->slots[i]; i = (i + 1) & d->mask) {
		uint64_t e = d->slots[i];
		if ((e & 0xFFFFFFFF00000000ull) != tag)
			continue;
		size_t c = (size_t)(e & 0xFFFFFFFFu) - 1;
		if (d->lens[c] == n && memcmp(d->levels[c], s, n) == 0)
			return (int32_t)c;
	}
	*slot = i;
	return -1;
}

/* Add text s (not present) at the slot dict_find gave. Returns its code. */
static int32_t dict_add(struct dict *d, const char *s, size_t n, uint64_t h, size_t i)
{
	uint64_t tag = h & 0xFFFFFFFF00000000ull;
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->levels = xrealloc(d->levels, d->cap * sizeof *d->levels);
		d->lens = xrealloc(d->lens, d->cap * sizeof *d->lens);
	}
	size_t c = d->n++;
	d->levels[c] = xstrndup(s, n);
	d->lens[c] = (uint32_t)n;
	d->slots[i] = tag | (uint64_t)(c + 1);
	if (2 * d->n > d->mask + 1)  /* keep the load under 1/2: probes stay short */
		dict_rehash(d, 2 * (d->mask + 1));
	return (int32_t)c;
}

/* The code of text s, added when new. *added tells which (may be NULL). */
static int32_t dict_intern(struct dict *d, const char *s, size_t n, int *added)
{
	uint64_t h = hash_text(s, n);
	size_t slot = 0;
	int32_t c = dict_find(d, s, n, h, &slot);
	if (added)
		*added = c < 0;
	return c >= 0 ? c : dict_add(d, s, n, h, slot);
}

/* Like dict_intern, but a new text that is not valid UTF-8 is stored repaired
 * (U+FFFD for each bad byte): levels end up in JSON, HTML and XLSX, which all
 * need UTF-8, and a repaired category still groups its rows together. */
static int32_t dict_intern_utf8(struct dict *d, const char *s, size_t n)
{
	uint64_t h = hash_text(s, n);
	size_t slot = 0;
	int32_t c = dict_find(d, s, n, h, &slot);
	if (c >= 0)
		return c;
	if (utf8_check(s, n) == n)
		return dict_add(d, s, n, h, slot);
	size_t m;
	char *fixed = utf8_repair(s, n, &m);
	c = dict_intern(d, fixed, m, NULL);
	free(fixed);
	return c;
}

/* ---- missing markers and boolean words ---- */

static const char *const default_na[] = {"", "NA", "N/A", "NaN", "null", "None"};

struct na_set {
	const char *const *v;
	size_t n;
	size_t *lens;
	uint64_t lenbits;           /* bit min(len, 63) set for each marker */
	unsigned char first[256];   /* first bytes of the markers */
};

static void na_init(struct na_set *na, const struct strlist *list)
{
	memset(na, 0, sizeof *na);
	if (list) {
		na->v = (const char *const *)list->v;
		na->n = list->n;
	} else {
		na->v = default_na;
		na->n = sizeof default_na / sizeof default_na[0];
	}
	na->lens = xcalloc(na->n ? na->n : 1, sizeof *na->lens);
	for (size_t i = 0; i < na->n; i++) {
		na->lens[i] = strlen(na->v[i]);
		na->lenbits |= UINT64_C(1) << (na->lens[i] < 63 ? na->lens[i] : 63);
		na->first[(unsigned char)na->v[i][0]] = 1;
	}
}

/* Is the non-empty text a missing marker? Two table looks reject most cells. */
static inline int na_match(const struct na_set *na, const char *s, size_t n)
{
	if (!((na->lenbits >> (n < 63 ? n : 63)) & 1) || !na->first[(unsigned char)s[0]])
		return 0;
	for (size_t i = 0; i < na->n; i++)
		if (na->lens[i] == n && memcmp(na->v[i], s, n) == 0)
			return 1;
	return 0;
}

/* 1 and *val for true/false, yes/no, t/f, y/n in any case; else 0. */
static int bool_word(const char *s, size_t n, int *val)
{
	static const struct { const char *w; int v; } words[] = {
		{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0},
		{"t", 1},    {"f", 0},     {"y", 1},   {"n", 0}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].w) == n && strncasecmp(words[i].w, s, n) == 0) {
			*val = words[i].v;
			return 1;
		}
	return 0;
}

/* ---- columns under construction ---- */

enum mode {
	MODE_INFER,      /* numeric until proven otherwise */
	MODE_NUMERIC,    /* declared (or forced by role) numeric */
	MODE_CATEGORICAL /* declared (or forced by role) categorical */
};

/* In the dual state: the code of a cell that was a number (its value is in
 * the compact number vector). */
#define CODE_NUMBER (-2)

struct colb {
	char *name;
	enum mode mode;
	enum col_role role;
	const char *why_numeric;  /* for messages: why a MODE_NUMERIC column must be numeric */
	double *num;        /* by row; in the dual state: the numeric cells only */
	size_t num_cap;     /* capacity of num in the dual state */
	int32_t *code;      /* by row (categorical, or dual) */
	struct dict dict;
	size_t n_missing;
	size_t n_num;       /* cells that were numbers */
	size_t n_text;      /* non-missing cells that were not numbers */
	uint64_t bad_line;  /* the first such cell, for messages and n_bad */
	size_t bad_col;
	char *bad_value;
};

struct ingest {
	const char *path;
	struct na_set na;
	double max_bad;
	size_t ncols, nrows, cap;   /* cap: rows allocated in the by-row vectors */
	int estimated;              /* cap was set from the file size */
	struct colb *cols;
};

static void colb_free(struct colb *c)
{
	free(c->name);
	free(c->num);
	free(c->code);
	dict_free(&c->dict);
	free(c->bad_value);
	memset(c, 0, sizeof *c);
}

/* Copy of at most 64 bytes of s, cut at a character boundary. */
static char *excerpt(const char *s, size_t n)
{
	if (n > 64) {
		n = 64;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

/* Ask for transparent huge pages on a big array: a column is written one
 * cell per row, and with 4 KiB pages a million rows of 32 columns take 64K
 * page faults, which cost a good part of the parse time (more in a VM). */
static void want_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = (uintptr_t)2 << 20;
	if (bytes < 2 * huge)
		return;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + bytes) & ~(huge - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_HUGEPAGE);  /* a hint: failure is fine */
#else
	(void)p;
	(void)bytes;
#endif
}

/* Make room for more rows. The first growth sizes the vectors for the whole
 * file, estimated from the bytes per row so far: growing by doubling would
 * move every column several times (and touch its pages again). An estimate
 * that falls short is followed by doubling; the spare room is given back at
 * the end, and pages never written are never resident. */
static void grow_rows(struct ingest *g, const struct csv_reader *r)
{
	size_t cap = g->cap ? 2 * g->cap : 4096;
	if (g->cap && g->cap == g->nrows && !g->estimated) {
		g->estimated = 1;
		double per_row = (double)csv_bytes_read(r) / (double)g->nrows;
		double est = (double)csv_size_estimate(r) / per_row * 1.05 + 1024;
		if (est > (double)cap && est < 1e12)
			cap = (size_t)est;
	}
	for (size_t j = 0; j < g->ncols; j++) {
		struct colb *c = &g->cols[j];
		if (c->mode == MODE_CATEGORICAL || c->code) {
			c->code = xrealloc(c->code, cap * sizeof *c->code);
			want_huge_pages(c->code, cap * sizeof *c->code);
		} else {  /* by-row numbers; in the dual state they grow on their own */
			c->num = xrealloc(c->num, cap * sizeof *c->num);
			want_huge_pages(c->num, cap * sizeof *c->num);
		}
	}
	g->cap = cap;
}

/* The first non-number of an inferred column: start the code vector, mark the
 * earlier rows (missing or number) and compact the numbers in place. */
static void start_dual(struct ingest *g, struct colb *c, size_t row)
{
	c->code = xmalloc(g->cap * sizeof *c->code);
	size_t k = 0;
	for (size_t i = 0; i < row; i++) {
		if (isnan(c->num[i])) {  /* parse_number never yields NaN: this was missing */
			c->code[i] = -1;
		} else {
			c->code[i] = CODE_NUMBER;
			c->num[k++] = c->num[i];
		}
	}
	c->num_cap = g->cap;
}

static inline void cell(struct ingest *g, struct colb *c, size_t row, const char *s, size_t n,
			uint64_t line, size_t col)
{
	if (n == 0 || na_match(&g->na, s, n)) {
		c->n_missing++;
		if (c->code)
			c->code[row] = -1;
		else
			c->num[row] = NAN;
		return;
	}
	if (c->mode == MODE_CATEGORICAL) {
		c->code[row] = dict_intern_utf8(&c->dict, s, n);
		return;
	}
	double v;
	if (parse_field_number(s, n, &v)) {
		if (c->code) {  /* dual: numbers go to the compact vector */
			if (c->n_num == c->num_cap) {
				c->num_cap *= 2;
				c->num = xrealloc(c->num, c->num_cap * sizeof *c->num);
			}
			c->num[c->n_num] = v;
			c->code[row] = CODE_NUMBER;
		} else {
			c->num[row] = v;
		}
		c->n_num++;
		return;
	}
	if (c->n_text++ == 0) {
		c->bad_line = line;
		c->bad_col = col;
		c->bad_value = excerpt(s, n);
	}
	if (c->mode == MODE_NUMERIC) {
		c->num[row] = frame_bad_nan();
		return;
	}
	if (!c->code)
		start_dual(g, c, row);
	c->code[row] = dict_intern_utf8(&c->dict, s, n);
}

/* ---- roles ---- */

static int same(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

static enum col_role role_of(const char *name, const struct audit_config *cfg)
{
	if (!cfg)
		return ROLE_FEATURE;
	if (same(cfg->label, name))
		return ROLE_LABEL;
	if (same(cfg->pred, name))
		return ROLE_PREDICTION;
	if (same(cfg->proba, name) ||
	    (cfg->proba_prefix && cfg->proba_prefix[0] &&
	     strncmp(name, cfg->proba_prefix, strlen(cfg->proba_prefix)) == 0))
		return ROLE_PROBA;
	if (strlist_contains(&cfg->segments, name))
		return ROLE_SEGMENT;
	if (same(cfg->time, name))
		return ROLE_TIME;
	if (same(cfg->id, name))
		return ROLE_ID;
	if (same(cfg->weight, name))
		return ROLE_WEIGHT;
	if (strlist_contains(&cfg->ignore, name))
		return ROLE_IGNORE;
	return ROLE_FEATURE;
}

static int listed(const struct strlist *l, const char *name)
{
	return l && strlist_contains(l, name);
}

/* The column's parse mode: roles force a type (a label "0/1" is two classes,
 * a probability must be a number), then the declared lists, else inference. */
static void choose_mode(struct colb *c, const struct ingest_options *opt)
{
	switch (c->role) {
	case ROLE_LABEL:
	case ROLE_PREDICTION:
	case ROLE_SEGMENT:
	case ROLE_ID:
		c->mode = MODE_CATEGORICAL;
		return;
	case ROLE_PROBA:
		c->mode = MODE_NUMERIC;
		c->why_numeric = "holds predicted probabilities (config key proba/proba_prefix)";
		return;
	case ROLE_WEIGHT:
		c->mode = MODE_NUMERIC;
		c->why_numeric = "holds sample weights (config key weight)";
		return;
	default:
		break;
	}
	if (listed(opt->numeric, c->name)) {
		c->mode = MODE_NUMERIC;
		c->why_numeric = "is declared numeric (config key numeric)";
	} else if (listed(opt->categorical, c->name)) {
		c->mode = MODE_CATEGORICAL;
	} else {
		c->mode = MODE_INFER;
	}
}

/* ---- reading ---- */

static int read_header(struct ingest *g, struct csv_reader *r, const struct ingest_options *opt)
{
	struct csv_row row;
	int rc = csv_next(r, &row);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ERR_INPUT("%s:1:1: empty file (no header row)", g->path);
	g->ncols = row.nfields;
	g->cols = xcalloc(row.nfields, sizeof *g->cols);
	struct dict names = {0};
	for (size_t j = 0; j < row.nfields; j++) {
		const char *s = row.field[j];
		size_t n = row.len[j];
		size_t bad = utf8_check(s, n);
		if (bad < n) {
			ERR_INPUT("%s:%llu:%zu: column name %zu is not valid UTF-8 (byte 0x%02X at offset %zu); "
				  "save the file as UTF-8", g->path, (unsigned long long)row.fline[j],
				  row.fcol[j], j + 1, (unsigned char)s[bad], bad);
			dict_free(&names);
			return -1;
		}
		/* An empty name is what pandas writes for its index column: give it
		 * a name rather than refuse the file. */
		char *name = n ? xstrndup(s, n) : xasprintf("unnamed_%zu", j + 1);
		g->cols[j].name = name;
		int added;
		int32_t first = dict_intern(&names, name, strlen(name), &added);
		if (!added) {
			ERR_INPUT("%s:%llu:%zu: duplicate column name '%s' (also column %d)", g->path,
				  (unsigned long long)row.fline[j], row.fcol[j], name, first + 1);
			dict_free(&names);
			return -1;
		}
	}
	dict_free(&names);
	for (size_t j = 0; j < g->ncols; j++) {
		struct colb *c = &g->cols[j];
		c->role = role_of(c->name, opt->cfg);
		choose_mode(c, opt);
	}
	return 0;
}

static int read_rows(struct ingest *g, struct csv_reader *r)
{
	struct csv_row row;
	int rc;
	while ((rc = csv_next(r, &row)) > 0) {
		if (row.nfields != g->ncols) {
			if (row.nfields > g->ncols)
				return ERR_INPUT("%s:%llu:%zu: row has %zu fields, the header has %zu "
						 "(an unquoted delimiter inside a value?)", g->path,
						 (unsigned long long)row.fline[g->ncols], row.fcol[g->ncols],
						 row.nfields, g->ncols);
			return ERR_INPUT("%s:%llu:%zu: row has %zu fields, the header has %zu", g->path,
					 (unsigned long long)row.end_line, row.end_col, row.nfields, g->ncols);
		}
		if (g->nrows == g->cap)
			grow_rows(g, r);
		size_t i = g->nrows++;
		for (size_t j = 0; j < g->ncols; j++)
			cell(g, &g->cols[j], i, row.field[j], row.len[j], row.fline[j], row.fcol[j]);
	}
	return rc;
}

/* Text of a number for a column that turned out categorical. */
static int format_number(char *buf, size_t size, double v)
{
	return snprintf(buf, size, "%.15g", v);
}

/* Decide an inferred column that saw non-numbers, keep one representation. */
static void settle_dual(struct ingest *g, struct colb *c, struct frame_column *out)
{
	size_t n = g->nrows;
	int all_bool = c->n_num == 0;
	for (size_t k = 0; k < c->dict.n && all_bool; k++) {
		int v;
		all_bool = bool_word(c->dict.levels[k], c->dict.lens[k], &v);
	}
	if (all_bool) {
		double *val = xmalloc(n * sizeof *val);
		double lv[2] = {0, 1};
		for (size_t i = 0; i < n; i++) {
			int b = 0;
			if (c->code[i] >= 0)
				bool_word(c->dict.levels[c->code[i]], c->dict.lens[c->code[i]], &b);
			val[i] = c->code[i] < 0 ? NAN : lv[b];
		}
		out->type = COL_BOOLEAN;
		out->num = val;
		return;
	}
	if ((double)c->n_text <= g->max_bad * (double)(c->n_num + c->n_text)) {
		double *val = xmalloc(n * sizeof *val);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			val[i] = c->code[i] == CODE_NUMBER ? c->num[k++] : c->code[i] < 0 ? NAN : frame_bad_nan();
		out->type = COL_NUMERIC;
		out->num = val;
		out->n_bad = c->n_text;
		out->first_bad_line = c->bad_line;
		out->first_bad_value = c->bad_value;
		c->bad_value = NULL;
		return;
	}
	/* Categorical: rebuild the dictionary in row order so that levels keep
	 * their order of first appearance, numbers included (as %.15g text: the
	 * original spelling is gone, "1.50" comes back as "1.5"). */
	struct dict d = {0};
	size_t k = 0;
	char buf[40];
	for (size_t i = 0; i < n; i++) {
		int32_t code = c->code[i];
		if (code == CODE_NUMBER) {
			int len = format_number(buf, sizeof buf, c->num[k++]);
			c->code[i] = dict_intern(&d, buf, (size_t)len, NULL);
		} else if (code >= 0) {
			c->code[i] = dict_intern(&d, c->dict.levels[code], c->dict.lens[code], NULL);
		}
	}
	out->type = COL_CATEGORICAL;
	out->code = xrealloc(c->code, (n ? n : 1) * sizeof *c->code);
	c->code = NULL;
	out->levels = d.levels;
	out->nlevels = d.n;
	d.levels = NULL;
	d.n = 0;
	dict_free(&d);
}

/* Move column c into the frame column out. -1 when a column that must be
 * numeric has too many non-numbers. */
static int settle(struct ingest *g, struct colb *c, struct frame_column *out)
{
	size_t n = g->nrows;
	out->name = c->name;
	c->name = NULL;
	out->role = c->role;
	out->n_missing = c->n_missing;
	if (c->mode == MODE_NUMERIC) {
		size_t nonmissing = c->n_num + c->n_text;
		if ((double)c->n_text > g->max_bad * (double)nonmissing)
			return ERR_INPUT("%s:%llu:%zu: column '%s' %s, but %zu of its %zu non-missing values "
					 "(%.1f%%) are not numbers, more than max_bad_numeric (%g%%); the first "
					 "is '%s'", g->path, (unsigned long long)c->bad_line, c->bad_col,
					 out->name, c->why_numeric, c->n_text, nonmissing,
					 100.0 * (double)c->n_text / (double)nonmissing, 100.0 * g->max_bad,
					 c->bad_value);
	}
	if (c->mode == MODE_CATEGORICAL) {
		out->type = COL_CATEGORICAL;
		out->code = xrealloc(c->code, (n ? n : 1) * sizeof *c->code);
		c->code = NULL;
		out->levels = c->dict.levels;
		out->nlevels = c->dict.n;
		c->dict.levels = NULL;
		c->dict.n = 0;
		return 0;
	}
	if (c->code) {
		settle_dual(g, c, out);
		return 0;
	}
	out->type = COL_NUMERIC;
	out->num = xrealloc(c->num, (n ? n : 1) * sizeof *c->num);  /* give back the spare capacity */
	c->num = NULL;
	out->n_bad = c->n_text;
	out->first_bad_line = c->bad_line;
	out->first_bad_value = c->bad_value;
	c->bad_value = NULL;
	return 0;
}

struct frame *ingest_read(const char *path, const char *split, const struct ingest_options *opt)
{
	static const struct ingest_options defaults = {0, NULL, NULL, NULL, 0.01, NULL};
	if (!opt)
		opt = &defaults;
	struct ingest g = {0};
	g.path = path;
	g.max_bad = opt->max_bad_numeric;
	na_init(&g.na, opt->na);
	struct frame *f = NULL;

	struct csv_reader *r = csv_open(path, opt->delimiter);
	if (!r)
		goto out;
	if (read_header(&g, r, opt) < 0 || read_rows(&g, r) < 0)
		goto out;
	if (g.nrows == 0) {
		ERR_INPUT("%s:2:1: no data rows (the file has only a header)", path);
		goto out;
	}
	f = xcalloc(1, sizeof *f);
	f->split = xstrdup(split ? split : "");
	f->source = xstrdup(path);
	f->nrows = g.nrows;
	f->ncols = g.ncols;
	f->cols = xcalloc(g.ncols, sizeof *f->cols);
	for (size_t j = 0; j < g.ncols; j++) {
		/* settle and free column by column: the peak stays near the result */
		int rc = settle(&g, &g.cols[j], &f->cols[j]);
		colb_free(&g.cols[j]);
		if (rc < 0) {
			frame_free(f);
			f = NULL;
			goto out;
		}
	}
out:
	csv_close(r);
	for (size_t j = 0; j < g.ncols; j++)
		colb_free(&g.cols[j]);
	free(g.cols);
	free(g.na.lens);
	return f;
}

/* ---- role checks ---- */

/* "a, b, c" (the first 20 names) for messages; caller frees. */
static char *column_list(const struct frame *f)
{
	struct strbuf sb;
	sb_init(&sb);
	for (size_t j = 0; j < f->ncols && j < 20; j++)
		sb_printf(&sb, "%s%s", j ? ", " : "", f->cols[j].name);
	if (f->ncols > 20)
		sb_printf(&sb, ", ... (%zu more)", f->ncols - 20);
	return sb_detach(&sb);
}

static int report_missing(const struct frame *f, const char *key, const char *col, int required)
{
	if (!required)
		return 0;
	/* A near miss in case or surrounding spaces is the usual cause. */
	const char *hint = NULL;
	for (size_t j = 0; j < f->ncols && !hint; j++)
		if (strcasecmp(f->cols[j].name, col) == 0)
			hint = f->cols[j].name;
	char *cols = column_list(f);
	ERR_INPUT("%s: config key '%s' names column '%s', which is not in the header%s%s%s (columns: %s)",
		  f->source ? f->source : f->split, key, col, hint ? "; did you mean '" : "",
		  hint ? hint : "", hint ? "'?" : "", cols);
	free(cols);
	return -1;
}

int ingest_check_roles(const struct frame *f, const struct audit_config *cfg, int required)
{
	struct { const char *key; const char *col; } single[] = {
		{"label", cfg->label}, {"pred", cfg->pred}, {"proba", cfg->proba},
		{"time", cfg->time},   {"id", cfg->id},     {"weight", cfg->weight}};
	struct { const char *key; const struct strlist *l; } lists[] = {
		{"segments", &cfg->segments}, {"numeric", &cfg->numeric},
		{"categorical", &cfg->categorical}};
	int missing = 0;
	for (size_t k = 0; k < sizeof single / sizeof single[0]; k++)
		if (single[k].col && single[k].col[0] && frame_find(f, single[k].col) < 0) {
			if (report_missing(f, single[k].key, single[k].col, required) < 0)
				return -1;
			missing++;
		}
	for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
		for (size_t i = 0; i < lists[k].l->n; i++)
			if (frame_find(f, lists[k].l->v[i]) < 0) {
				if (report_missing(f, lists[k].key, lists[k].l->v[i], required) < 0)
					return -1;
				missing++;
			}
	if (cfg->proba_prefix && cfg->proba_prefix[0]) {
		int found = 0;
		for (size_t j = 0; j < f->ncols && !found; j++)
			found = strncmp(f->cols[j].name, cfg->proba_prefix, strlen(cfg->proba_prefix)) == 0;
		if (!found) {
			if (required) {
				char *cols = column_list(f);
				ERR_INPUT("%s: config key 'proba_prefix' is '%s', but no column name starts with it "
					  "(columns: %s)", f->source ? f->source : f->split, cfg->proba_prefix, cols);
				free(cols);
				return -1;
			}
			missing++;
		}
	}
	return missing;
}
