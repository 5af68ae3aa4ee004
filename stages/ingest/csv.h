/* csv.h - a streaming reader of delimited text (RFC 4180).
 *
 * Reads plain or gzip input (detected by the magic bytes, via zlib), CRLF or LF
 * line ends, a leading UTF-8 byte-order mark, quoted fields with doubled quotes
 * and embedded delimiters and newlines. Memory stays bounded by the longest row:
 * the file is never held as text.
 *
 * Leniencies, as in pandas: a blank line (empty, or a lone CR before LF) is
 * not a row; a quote inside an unquoted field is an ordinary character
 * (5'11" stays as written); text after a closing quote is appended to the
 * field ("ab"c reads abc). A quoted field keeps its CRLF as written. */
#ifndef MLA_CSV_H
#define MLA_CSV_H

#include <stddef.h>
#include <stdint.h>

struct csv_reader;

/* Bytes after each field's terminating NUL that may be read (their content
 * is unspecified): lets a number parser load 8 bytes at a time. */
#define CSV_PAD 16

/* One parsed row. The pointers stay valid until the next csv_next() call.
 * Each field is NUL-terminated (quotes removed, doubled quotes undone), and
 * CSV_PAD bytes after the NUL are readable. */
struct csv_row {
	size_t nfields;
	char **field;
	size_t *len;
	uint64_t line;        /* physical line (1-based) where the row starts */
	/* Where each field starts, for messages: its physical line and 1-based byte
	 * column (of the opening quote for a quoted field). A row spans several
	 * lines only when a quoted field holds a newline. */
	uint64_t *fline;
	size_t *fcol;
	uint64_t end_line;    /* where the row's last field ends (for "too few fields") */
	size_t end_col;
};

/** Open `path`; delimiter 0 means: tab when the path ends in .tsv or .tsv.gz,
 * else comma. NULL with an input error recorded. Caller closes. */
struct csv_reader *csv_open(const char *path, char delimiter);
/** Next row: 1 = a row, 0 = end of input, -1 = error recorded
 * ("PATH:LINE:COL: what"), e.g. an unterminated quote, a NUL byte or a
 * truncated gzip stream. */
int csv_next(struct csv_reader *r, struct csv_row *row);
/** Bytes of (uncompressed) input consumed so far, for progress. */
uint64_t csv_bytes_read(const struct csv_reader *r);
/** Estimated total uncompressed bytes: the file size, times the compression
 * ratio seen so far for gzip. 0 when unknown (a pipe). For sizing buffers and
 * progress only. */
uint64_t csv_size_estimate(const struct csv_reader *r);
void csv_close(struct csv_reader *r);

#endif
