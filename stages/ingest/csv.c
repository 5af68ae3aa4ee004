/* csv.c - a streaming reader of delimited text (RFC 4180), plain or gzip.
 *
 * The input goes through zlib's gzread, which inflates gzip files and copies
 * plain ones (it looks at the magic bytes), into one buffer that holds at
 * least the row being parsed. A row is located first (its end is the first
 * newline outside quotes), then split in place: delimiters become NULs and a
 * quoted field is compacted where it lies, so a field costs no allocation and
 * the pointers handed out point into the buffer. When a row does not fit, the
 * unparsed tail moves to the front of the buffer, which doubles if needed:
 * memory stays bounded by the longest row, never the file. */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../../pipeline/util.h"

/* Bytes per read. A row longer than half of it makes the buffer grow. */
#define CSV_CHUNK ((size_t)1 << 20)

/* Readable bytes allocated past the buffer's data: the fast path loads 16
 * bytes at a time, and csv.h promises CSV_PAD bytes after every field. */
#define CSV_SLACK (CSV_PAD + 16)

struct csv_reader {
	gzFile gz;
	int fd;               /* gz reads it; gzclose closes it */
	char *path;
	char delim;
	char *buf;            /* buf[len] is always a NUL sentinel */
	size_t cap;           /* bytes for data (> len); CSV_SLACK more are allocated */
	size_t len;           /* valid bytes in buf */
	size_t pos;           /* start of the next row in buf */
	uint64_t base;        /* input bytes that were before buf[0] */
	uint64_t line;        /* physical line (1-based) at pos */
	int eof;              /* gzread reported the end of input */
	int started;          /* the byte-order mark was looked for */
	int failed;           /* an error was recorded: later calls return -1 */
	/* per-field arrays handed out in struct csv_row, grown together */
	size_t fcap;
	char **field;
	size_t *flen;
	uint64_t *fline;
	size_t *fcol;
	/* 1 for the bytes that end an unquoted field or need a look: the
	 * delimiter, CR, LF and NUL (which also is the end-of-data sentinel) */
	unsigned char stop[256];
};

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

struct csv_reader *csv_open(const char *path, char delimiter)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gzFile gz = fd < 0 ? NULL : gzdopen(fd, "rb");
	if (!gz) {
		ERR_INPUT("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* A big zlib buffer: fewer read() calls and longer inflate runs. It is
	 * a quarter of our reads, so that zlib reads a plain file straight into
	 * our buffer (it copies through its own for reads under twice its size). */
	gzbuffer(gz, CSV_CHUNK / 4);

	struct csv_reader *r = xcalloc(1, sizeof *r);
	r->gz = gz;
	r->fd = fd;
	r->path = xstrdup(path);
	if (delimiter)
		r->delim = delimiter;
	else
		r->delim = has_suffix(path, ".tsv") || has_suffix(path, ".tsv.gz") ? '\t' : ',';
	r->cap = CSV_CHUNK + 1;
	r->buf = xcalloc(1, r->cap + CSV_SLACK);
	r->line = 1;
	r->stop[(unsigned char)r->delim] = 1;
	r->stop['\r'] = 1;
	r->stop['\n'] = 1;
	r->stop[0] = 1;
	return r;
}

void csv_close(struct csv_reader *r)
{
	if (!r)
		return;
	gzclose(r->gz);
	free(r->path);
	free(r->buf);
	free(r->field);
	free(r->flen);
	free(r->fline);
	free(r->fcol);
	free(r);
}

uint64_t csv_bytes_read(const struct csv_reader *r)
{
	return r->base + r->pos;
}

uint64_t csv_size_estimate(const struct csv_reader *r)
{
	struct stat st;
	if (fstat(r->fd, &st) != 0 || st.st_size <= 0)
		return 0;
	z_off_t raw = gzoffset(r->gz);  /* compressed bytes zlib has read */
	uint64_t text = r->base + r->len;  /* text bytes they gave */
	if (gzdirect(r->gz) || raw <= 0 || text == 0)
		return (uint64_t)st.st_size;
	return (uint64_t)((double)st.st_size * ((double)text / (double)raw));
}

/* Line and column of buffer offset `at`, counting from the row start `s`
 * (which is at the start of line r->line). Used only for messages. */
static void position_of(const struct csv_reader *r, size_t s, size_t at, uint64_t *line, size_t *col)
{
	uint64_t l = r->line;
	size_t line_start = s;
	for (size_t i = s; i < at; i++)
		if (r->buf[i] == '\n') {
			l++;
			line_start = i + 1;
		}
	*line = l;
	*col = at - line_start + 1;
}

static int fail(struct csv_reader *r)
{
	r->failed = 1;
	return -1;
}

/* Read more input after the unparsed tail (moved to the front). 0 or -1. */
static int refill(struct csv_reader *r)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->cap - 1 - r->len < CSV_CHUNK / 2) {
		r->cap = 2 * r->cap - 1;
		r->buf = xrealloc(r->buf, r->cap + CSV_SLACK);
	}
	size_t want = r->cap - 1 - r->len;
	if (want > INT_MAX)
		want = INT_MAX;
	int n = gzread(r->gz, r->buf + r->len, (unsigned)want);
	int errnum = Z_OK;
	const char *msg = gzerror(r->gz, &errnum);
	if (n > 0) {
		r->len += (size_t)n;
		r->buf[r->len] = 0;
	}
	if (n < 0 || errnum != Z_OK) {
		uint64_t line;
		size_t col;
		position_of(r, 0, r->len, &line, &col);
		if (errnum == Z_BUF_ERROR)
			ERR_INPUT("%s:%llu:%zu: truncated gzip stream (the file ends in the middle of "
				  "compressed data; was the download or copy cut short?)",
				  r->path, (unsigned long long)line, col);
		else if (errnum == Z_ERRNO)
			ERR_INPUT("%s:%llu:%zu: read error: %s", r->path, (unsigned long long)line, col,
				  strerror(errno));
		else
			ERR_INPUT("%s:%llu:%zu: corrupt gzip data: %s", r->path, (unsigned long long)line,
				  col, msg ? msg : "unknown error");
		return fail(r);
	}
	if (n == 0)
		r->eof = 1;
	return 0;
}

/* Find the end of the row starting at s when it holds a quote: the first
 * newline outside a quoted field. A quote opens a quoted field only at the
 * start of a field; elsewhere it is an ordinary character. 1 with *e set (the
 * newline, or len at the end of input), 0 when more input is needed, -1 for
 * an unterminated quote (error recorded). */
static int scan_row(struct csv_reader *r, size_t s, size_t *e)
{
	const char *b = r->buf;
	size_t i = s, n = r->len;
	int field_start = 1;
	while (i < n) {
		char c = b[i];
		if (field_start && c == '"') {
			size_t open = i++;
			for (;;) {
				const char *q = memchr(b + i, '"', n - i);
				if (!q) {
					if (!r->eof)
						return 0;
					uint64_t line;
					size_t col;
					position_of(r, s, open, &line, &col);
					ERR_INPUT("%s:%llu:%zu: unterminated quote (the quoted field that opens here "
						  "never closes)", r->path, (unsigned long long)line, col);
					return fail(r);
				}
				i = (size_t)(q - b);
				if (i + 1 == n && !r->eof)
					return 0;  /* a quote at the end of the buffer may be the first of "" */
				if (i + 1 < n && b[i + 1] == '"') {
					i += 2;
					continue;
				}
				i++;
				break;
			}
			field_start = 0;
			continue;
		}
		field_start = c == r->delim;
		if (c == '\n') {
			*e = i;
			return 1;
		}
		i++;
	}
	if (!r->eof)
		return 0;
	*e = n;
	return 1;
}

static void grow_fields(struct csv_reader *r)
{
	r->fcap = r->fcap ? 2 * r->fcap : 64;
	r->field = xrealloc(r->field, r->fcap * sizeof *r->field);
	r->flen = xrealloc(r->flen, r->fcap * sizeof *r->flen);
	r->fline = xrealloc(r->fline, r->fcap * sizeof *r->fline);
	r->fcol = xrealloc(r->fcol, r->fcap * sizeof *r->fcol);
}

static int nul_error(struct csv_reader *r, uint64_t line, size_t col)
{
	ERR_INPUT("%s:%llu:%zu: NUL byte in the data (is this a binary, UTF-16 or corrupt file?)",
		  r->path, (unsigned long long)line, col);
	return fail(r);
}

/* Split the complete row [s, e) in place into r's field arrays. buf[e] is the
 * row's newline or the NUL sentinel at the end of input. Returns the number of
 * fields, or -1 for a NUL byte (error recorded). Advances r->line to the line
 * the row ends on. */
static long tokenize(struct csv_reader *r, size_t s, size_t e, struct csv_row *row)
{
	char *p = r->buf + s, *end = r->buf + e, *line_start = p;
	const unsigned char *stop = r->stop;
	const char delim = r->delim;
	uint64_t line = r->line;
	size_t nf = 0;
	for (;;) {
		if (nf == r->fcap)
			grow_fields(r);
		r->fline[nf] = line;
		r->fcol[nf] = (size_t)(p - line_start) + 1;
		char *content, *w;
		if (*p == '"') {
			/* Quoted: "" is one quote; the text is compacted toward the field
			 * start, so the write pointer never passes the read pointer. */
			char *q = p + 1;
			content = w = q;
			for (;;) {
				char c = *q;
				if (c == '"') {
					if (q + 1 < end && q[1] == '"') {
						*w++ = '"';
						q += 2;
						continue;
					}
					q++;
					break;
				}
				if (q >= end)  /* scan_row guarantees a closing quote */
					return nul_error(r, line, (size_t)(q - line_start) + 1);
				if (c == '\n') {
					line++;
					line_start = q + 1;
				} else if (c == 0) {
					return nul_error(r, line, (size_t)(q - line_start) + 1);
				}
				*w++ = c;
				q++;
			}
			/* Text between the closing quote and the delimiter ("ab"c) is not
			 * RFC 4180; like pandas we keep it, appended to the field. */
			while (q < end && *q != delim) {
				if (*q == '\r' && q + 1 == end)
					break;
				if (*q == 0)
					return nul_error(r, line, (size_t)(q - line_start) + 1);
				*w++ = *q++;
			}
			p = q;
		} else {
			/* Unquoted: runs to the delimiter or the row end. A quote inside
			 * is an ordinary character (tolerated, as most readers do: 5'11"
			 * is common in real data); a CR counts only right before LF. */
			char *q = p;
			for (;;) {
				while (!stop[(unsigned char)*q])
					q++;
				if (*q == '\r' && q + 1 < end) {
					q++;
					continue;
				}
				break;
			}
			if (*q == 0 && q < end)
				return nul_error(r, line, (size_t)(q - line_start) + 1);
			content = p;
			w = p = q;
		}
		/* p is at the delimiter, the CR before the row end, or the row end */
		int more = p < end && *p == delim;
		r->field[nf] = content;
		r->flen[nf] = (size_t)(w - content);
		*w = 0;  /* may overwrite the delimiter: `more` was read first */
		nf++;
		if (!more) {
			row->end_line = line;
			row->end_col = (size_t)(p - line_start) + 1;
			break;
		}
		p++;
	}
	row->line = r->line;
	row->nfields = nf;
	row->field = r->field;
	row->len = r->flen;
	row->fline = r->fline;
	row->fcol = r->fcol;
	r->line = line;  /* the caller adds the row's own newline */
	return (long)nf;
}

#ifdef __SSE2__
/* The fast path for a row without quotes or NUL bytes that ends in the
 * buffer: find the delimiters and the newline 16 bytes at a time. When the
 * row turns out not to qualify, the delimiters already replaced by NULs are
 * put back, so that the general path finds the row untouched. 1 with *e set
 * (the newline), or 0. */
static int split_fast(struct csv_reader *r, size_t s, struct csv_row *row, size_t *e)
{
	char *b = r->buf, *start = b + s, *q = start, *fstart = start;
	const __m128i vd = _mm_set1_epi8(r->delim), vn = _mm_set1_epi8('\n');
	const __m128i vq = _mm_set1_epi8('"'), vz = _mm_setzero_si128();
	size_t nf = 0;
	for (;; q += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
		unsigned md = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vd));
		unsigned ms = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, vn), _mm_cmpeq_epi8(v, vq)), _mm_cmpeq_epi8(v, vz)));
		/* Bits in string order. A NUL may be the sentinel at len (the row
		 * does not end in the buffer) or a real one: both are for the
		 * general path, as is a quote. Bytes past the sentinel are never
		 * looked at: its bit comes first. */
		for (unsigned m = md | ms; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			char *pos = q + i;
			int row_end = (ms >> i) & 1;
			if (row_end && *pos != '\n') {
				for (size_t k = 0; k < nf; k++)
					r->field[k][r->flen[k]] = r->delim;
				return 0;
			}
			char *fend = pos;
			if (row_end && fend > fstart && fend[-1] == '\r')
				fend--;  /* CRLF */
			if (row_end && nf == 0 && fend == start)
				return 0;  /* a blank CRLF line: the general path skips it */
			*fend = 0;  /* the delimiter, or the CR or LF at the row end */
			if (nf == r->fcap)
				grow_fields(r);
			r->field[nf] = fstart;
			r->flen[nf] = (size_t)(fend - fstart);
			r->fline[nf] = r->line;
			r->fcol[nf] = (size_t)(fstart - start) + 1;
			nf++;
			if (row_end) {
				row->line = r->line;
				row->nfields = nf;
				row->field = r->field;
				row->len = r->flen;
				row->fline = r->fline;
				row->fcol = r->fcol;
				row->end_line = r->line;
				row->end_col = (size_t)(fend - start) + 1;
				*e = (size_t)(pos - b);
				return 1;
			}
			fstart = pos + 1;
		}
	}
}
#endif

int csv_next(struct csv_reader *r, struct csv_row *row)
{
	if (r->failed)
		return -1;
	for (;;) {
		if (!r->started) {
			while (r->len - r->pos < 3 && !r->eof)
				if (refill(r) < 0)
					return -1;
			if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
				r->pos += 3;  /* UTF-8 byte-order mark (Excel writes one) */
			r->started = 1;
		}
		size_t s = r->pos, n = r->len;
		if (s == n) {
			if (r->eof)
				return 0;
			if (refill(r) < 0)
				return -1;
			continue;
		}
		/* Blank lines are not rows (as in pandas): a trailing empty line is
		 * common and a row of one empty field would be ragged anyway. */
		if (r->buf[s] == '\n') {
			r->pos++;
			r->line++;
			continue;
		}
		size_t e;
#ifdef __SSE2__
		if (split_fast(r, s, row, &e)) {
			r->pos = e + 1;
			r->line++;
			return 1;
		}
#endif
		const char *nl = memchr(r->buf + s, '\n', n - s);
		const char *quote = memchr(r->buf + s, '"', (nl ? (size_t)(nl - r->buf) : n) - s);
		if (!quote && nl) {
			e = (size_t)(nl - r->buf);  /* the common case: no quote in the row */
		} else if (!quote && r->eof) {
			e = n;  /* last line without a newline */
		} else {
			int st = quote ? scan_row(r, s, &e) : 0;
			if (st < 0)
				return -1;
			if (st == 0) {
				if (refill(r) < 0)
					return -1;
				continue;
			}
		}
		if (e - s == 1 && r->buf[s] == '\r') {  /* a blank CRLF line */
			r->pos = e < n ? e + 1 : e;
			r->line++;
			continue;
		}
		if (tokenize(r, s, e, row) < 0)
			return -1;
		r->pos = e < n ? e + 1 : e;
		if (e < n)
			r->line++;
		return 1;
	}
}
