/* frame.c - typed columns, row selection, and the private .frame cache file.
 *
 * File format (little-endian, all integers unsigned unless noted):
 *
 *   "MLAFRM01"                      magic and format version
 *   u64 nrows, u64 ncols
 *   str split, str source           str = u32 length + bytes (no NUL);
 *                                   length 0xFFFFFFFF stands for NULL
 *   per column:
 *     str name, u8 type, u8 role
 *     u64 n_missing, u64 n_bad, u64 first_bad_line, str first_bad_value
 *     u64 nlevels, then nlevels x str
 *     data block: u64 raw_size (nrows x 8 for doubles, x 4 for int32 codes),
 *       then the raw bytes in chunks of FRAME_CHUNK: u32 compressed size +
 *       zlib stream (compress2, level 1: the cache is read back within the
 *       same run, so speed beats ratio)
 *   "MLAFEND1"                      end marker: a cut file is noticed
 *   u32 CRC-32 of every byte before it
 *
 * Chunks keep memory bounded while writing and reading big columns. The CRC
 * catches a damaged byte anywhere (each chunk's zlib stream also carries an
 * Adler-32), and every count is checked against the file size before it is
 * used to allocate, so a corrupt file gives an error, never a crash. */
#include "frame.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../../pipeline/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "frame.c writes column data in host order and assumes a little-endian host"
#endif

#define FRAME_MAGIC "MLAFRM01"
#define FRAME_END "MLAFEND1"
#define FRAME_CHUNK ((size_t)1 << 20)
#define STR_NULL 0xFFFFFFFFu

static const char *const type_names[] = {"numeric", "categorical", "boolean"};
static const char *const role_names[] = {"feature", "label", "prediction", "proba", "segment",
					 "time", "id", "weight", "ignore"};
static_assert(sizeof type_names / sizeof type_names[0] == COL_BOOLEAN + 1, "type_names vs enum col_type");
static_assert(sizeof role_names / sizeof role_names[0] == ROLE_COUNT, "role_names vs enum col_role");

const char *col_type_name(enum col_type t)
{
	return (unsigned)t <= COL_BOOLEAN ? type_names[t] : "?";
}

const char *col_role_name(enum col_role r)
{
	return (unsigned)r < ROLE_COUNT ? role_names[r] : "?";
}

/* ---- in memory ---- */

static void column_free(struct frame_column *c)
{
	free(c->name);
	free(c->num);
	free(c->code);
	for (size_t j = 0; j < c->nlevels; j++)
		free(c->levels[j]);
	free(c->levels);
	free(c->first_bad_value);
}

void frame_free(struct frame *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ncols; i++)
		column_free(&f->cols[i]);
	free(f->cols);
	free(f->split);
	free(f->source);
	free(f);
}

int frame_find(const struct frame *f, const char *name)
{
	for (size_t i = 0; i < f->ncols; i++)
		if (strcmp(f->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *frame_level(const struct frame_column *c, size_t i)
{
	if (!c->code || c->code[i] < 0)
		return NULL;
	return c->levels[c->code[i]];
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct frame *frame_take_rows(const struct frame *f, const size_t *rows, size_t n, const char *split)
{
	struct frame *g = xcalloc(1, sizeof *g);
	g->split = xstrdup(split ? split : f->split ? f->split : "");
	g->source = dup_or_null(f->source);
	g->nrows = n;
	g->ncols = f->ncols;
	g->cols = xcalloc(f->ncols ? f->ncols : 1, sizeof *g->cols);
	for (size_t c = 0; c < f->ncols; c++) {
		const struct frame_column *a = &f->cols[c];
		struct frame_column *b = &g->cols[c];
		b->name = xstrdup(a->name);
		b->type = a->type;
		b->role = a->role;
		/* Counters are recounted for the subset. The note on the first bad
		 * cell stays that of the whole file (rows do not keep their line). */
		if (a->code) {
			b->code = xmalloc((n ? n : 1) * sizeof *b->code);
			for (size_t i = 0; i < n; i++) {
				assert(rows[i] < f->nrows);
				b->code[i] = a->code[rows[i]];
				b->n_missing += b->code[i] < 0;
			}
			b->nlevels = a->nlevels;
			b->levels = xmalloc((a->nlevels ? a->nlevels : 1) * sizeof *b->levels);
			for (size_t j = 0; j < a->nlevels; j++)
				b->levels[j] = xstrdup(a->levels[j]);
		} else {
			b->num = xmalloc((n ? n : 1) * sizeof *b->num);
			for (size_t i = 0; i < n; i++) {
				assert(rows[i] < f->nrows);
				b->num[i] = a->num[rows[i]];
				if (frame_is_bad(b->num[i]))
					b->n_bad++;
				else if (isnan(b->num[i]))
					b->n_missing++;
			}
			if (b->n_bad) {
				b->first_bad_line = a->first_bad_line;
				b->first_bad_value = dup_or_null(a->first_bad_value);
			}
		}
	}
	return g;
}

/* ---- writing ---- */

struct fw {
	FILE *fp;
	int err;      /* a write failed: errno saved in err_no */
	int err_no;
	uLong crc;    /* of everything written so far */
};

static void put(struct fw *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	w->crc = crc32(w->crc, p, (uInt)n);  /* n <= compressBound(FRAME_CHUNK) */
	if (fwrite(p, 1, n, w->fp) != n) {
		w->err = 1;
		w->err_no = errno;
	}
}

static void put_u8(struct fw *w, uint8_t v) { put(w, &v, 1); }
static void put_u32(struct fw *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct fw *w, uint64_t v) { put(w, &v, 8); }

static void put_str(struct fw *w, const char *s)
{
	if (!s) {
		put_u32(w, STR_NULL);
		return;
	}
	size_t n = strlen(s);
	if (n >= STR_NULL)  /* a 4 GiB string: nothing we write is that long */
		n = STR_NULL - 1;
	put_u32(w, (uint32_t)n);
	put(w, s, n);
}

static void put_block(struct fw *w, const void *data, size_t raw, unsigned char *tmp, size_t tmpcap)
{
	put_u64(w, raw);
	for (size_t off = 0; off < raw && !w->err; off += FRAME_CHUNK) {
		size_t n = raw - off < FRAME_CHUNK ? raw - off : FRAME_CHUNK;
		uLongf clen = tmpcap;
		if (compress2(tmp, &clen, (const Bytef *)data + off, n, 1) != Z_OK) {
			w->err = 1;
			w->err_no = ENOMEM;
			return;
		}
		put_u32(w, (uint32_t)clen);
		put(w, tmp, clen);
	}
}

int frame_write(const struct frame *f, const char *path)
{
	struct fw w = {fopen(path, "wb"), 0, 0, crc32(0, NULL, 0)};
	if (!w.fp)
		return ERR_INTERNAL("%s: cannot create: %s", path, strerror(errno));
	size_t tmpcap = compressBound(FRAME_CHUNK);
	unsigned char *tmp = xmalloc(tmpcap);

	put(&w, FRAME_MAGIC, 8);
	put_u64(&w, f->nrows);
	put_u64(&w, f->ncols);
	put_str(&w, f->split);
	put_str(&w, f->source);
	for (size_t c = 0; c < f->ncols; c++) {
		const struct frame_column *col = &f->cols[c];
		put_str(&w, col->name);
		put_u8(&w, (uint8_t)col->type);
		put_u8(&w, (uint8_t)col->role);
		put_u64(&w, col->n_missing);
		put_u64(&w, col->n_bad);
		put_u64(&w, col->first_bad_line);
		put_str(&w, col->first_bad_value);
		put_u64(&w, col->code ? col->nlevels : 0);
		if (col->code) {
			for (size_t j = 0; j < col->nlevels; j++)
				put_str(&w, col->levels[j]);
			put_block(&w, col->code, f->nrows * sizeof *col->code, tmp, tmpcap);
		} else {
			put_block(&w, col->num, f->nrows * sizeof *col->num, tmp, tmpcap);
		}
	}
	put(&w, FRAME_END, 8);
	put_u32(&w, (uint32_t)w.crc);
	free(tmp);

	if (!w.err && fflush(w.fp) != 0) {
		w.err = 1;
		w.err_no = errno;
	}
	if (fclose(w.fp) != 0 && !w.err) {
		w.err = 1;
		w.err_no = errno;
	}
	if (w.err)
		return ERR_INTERNAL("%s: cannot write: %s", path, strerror(w.err_no));
	return 0;
}

/* ---- reading ---- */

struct fr {
	FILE *fp;
	const char *path;
	uint64_t left;      /* bytes of the file not read yet */
	const char *what;   /* the first problem found, NULL while all is well */
	uLong crc;          /* of everything read so far */
};

static void get(struct fr *r, void *p, size_t n)
{
	if (r->what) {
		memset(p, 0, n);
		return;
	}
	if (n > r->left || fread(p, 1, n, r->fp) != n) {
		r->what = "unexpected end of file";
		memset(p, 0, n);
		return;
	}
	r->left -= n;
	r->crc = crc32(r->crc, p, (uInt)n);
}

static uint8_t get_u8(struct fr *r) { uint8_t v; get(r, &v, 1); return v; }
static uint32_t get_u32(struct fr *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(struct fr *r) { uint64_t v; get(r, &v, 8); return v; }

/* A string, NULL for the NULL marker (and on error: check r->what). */
static char *get_str(struct fr *r)
{
	uint32_t n = get_u32(r);
	if (r->what || n == STR_NULL)
		return NULL;
	if (n > r->left) {  /* checked before allocating: a corrupt length is not a malloc size */
		r->what = "string length past the end of file";
		return NULL;
	}
	char *s = xmalloc((size_t)n + 1);
	get(r, s, n);
	s[n] = 0;
	if (!r->what && memchr(s, 0, n))
		r->what = "NUL inside a string";
	return s;
}

static void get_block(struct fr *r, void *dst, size_t raw, unsigned char *tmp, size_t tmpcap)
{
	if (get_u64(r) != raw && !r->what)
		r->what = "data block size does not match the row count";
	for (size_t off = 0; off < raw && !r->what; off += FRAME_CHUNK) {
		size_t n = raw - off < FRAME_CHUNK ? raw - off : FRAME_CHUNK;
		uint32_t clen = get_u32(r);
		if (r->what)
			return;
		if (clen > tmpcap) {
			r->what = "compressed chunk larger than possible";
			return;
		}
		get(r, tmp, clen);
		if (r->what)
			return;
		uLongf out = n;
		if (uncompress((Bytef *)dst + off, &out, tmp, clen) != Z_OK || out != n)
			r->what = "compressed data is corrupt";
	}
}

struct frame *frame_read(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		ERR_INTERNAL("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(fp), &st) != 0) {
		ERR_INTERNAL("%s: cannot stat: %s", path, strerror(errno));
		fclose(fp);
		return NULL;
	}
	struct fr r = {fp, path, (uint64_t)st.st_size, NULL, crc32(0, NULL, 0)};
	size_t tmpcap = compressBound(FRAME_CHUNK);
	unsigned char *tmp = xmalloc(tmpcap);
	struct frame *f = xcalloc(1, sizeof *f);

	char magic[8];
	get(&r, magic, 8);
	if (!r.what && memcmp(magic, FRAME_MAGIC, 8) != 0)
		r.what = "not a frame file (bad magic or another format version)";
	uint64_t nrows = get_u64(&r), ncols = get_u64(&r);
	/* Bounds before any allocation: zlib inflates at most 1032 bytes per
	 * input byte, so a column of nrows x 4 bytes needs nrows / 258 bytes of
	 * file at least; a column header needs at least 40 bytes. */
	if (!r.what && (nrows / 258 > (uint64_t)st.st_size || ncols > (uint64_t)st.st_size / 40 ||
			nrows > SIZE_MAX / 8))
		r.what = "row or column count larger than the file can hold";
	if (!r.what) {
		f->nrows = (size_t)nrows;
		f->split = get_str(&r);
		f->source = get_str(&r);
		f->cols = xcalloc(ncols ? (size_t)ncols : 1, sizeof *f->cols);
	}
	for (uint64_t c = 0; c < ncols && !r.what; c++) {
		struct frame_column *col = &f->cols[c];
		f->ncols = (size_t)c + 1;  /* so that frame_free releases what was read */
		col->name = get_str(&r);
		uint8_t type = get_u8(&r), role = get_u8(&r);
		col->n_missing = get_u64(&r);
		col->n_bad = get_u64(&r);
		col->first_bad_line = get_u64(&r);
		col->first_bad_value = get_str(&r);
		uint64_t nlevels = get_u64(&r);
		if (r.what)
			break;
		if (!col->name || type > COL_BOOLEAN || role >= ROLE_COUNT) {
			r.what = "bad column name, type or role";
			break;
		}
		col->type = type;
		col->role = role;
		if (col->n_missing > nrows || col->n_bad > nrows) {
			r.what = "column counters exceed the row count";
			break;
		}
		if (type == COL_CATEGORICAL) {
			if (nlevels > r.left / 4 || nlevels > INT32_MAX) {
				r.what = "level count larger than the file can hold";
				break;
			}
			col->levels = xcalloc(nlevels ? (size_t)nlevels : 1, sizeof *col->levels);
			for (uint64_t j = 0; j < nlevels && !r.what; j++) {
				col->levels[j] = get_str(&r);
				col->nlevels = (size_t)j + 1;
				if (!col->levels[j] && !r.what)
					r.what = "NULL level";
			}
			col->code = xmalloc((nrows ? (size_t)nrows : 1) * sizeof *col->code);
			get_block(&r, col->code, (size_t)nrows * sizeof *col->code, tmp, tmpcap);
			for (size_t i = 0; i < f->nrows && !r.what; i++)
				if (col->code[i] < -1 || col->code[i] >= (int64_t)col->nlevels)
					r.what = "category code out of range";
		} else {
			if (nlevels != 0) {
				r.what = "levels in a numeric column";
				break;
			}
			col->num = xmalloc((nrows ? (size_t)nrows : 1) * sizeof *col->num);
			get_block(&r, col->num, (size_t)nrows * sizeof *col->num, tmp, tmpcap);
		}
	}
	char end[8];
	get(&r, end, 8);
	if (!r.what && memcmp(end, FRAME_END, 8) != 0)
		r.what = "missing end marker";
	uint32_t want = (uint32_t)r.crc, crc = get_u32(&r);
	if (!r.what && crc != want)
		r.what = "checksum mismatch";
	if (!r.what && r.left != 0)
		r.what = "trailing bytes after the end marker";
	if (!r.what && ferror(fp))
		r.what = "read error";
	free(tmp);
	fclose(fp);
	if (r.what) {
		ERR_INTERNAL("%s: corrupt or truncated frame file: %s", path, r.what);
		frame_free(f);
		return NULL;
	}
	return f;
}
