/* escape.h - making data-derived text safe for each output of the report.
 *
 * Every string that comes from the user's data (column names, category values,
 * class names, file names) passes through exactly one of these before it
 * reaches an output: markdown (which cmark then HTML-escapes), HTML text, an
 * XLSX cell, XML (junit.xml), or a gnuplot data file. Nothing data-derived is ever written into
 * gnuplot command text or an XLSX formula. */
#ifndef MLA_ESCAPE_H
#define MLA_ESCAPE_H

#include <stddef.h>
#include "../../pipeline/util.h"

/** Append `s` to `out` as literal markdown inline text: every ASCII
 * punctuation character is backslash-escaped (so no emphasis, link, raw HTML,
 * entity, autolink or table pipe can start), and CR, LF, tab and other control
 * characters become spaces (so the text stays on its line and in its table
 * cell). NULL appends nothing. */
void escape_md(struct strbuf *out, const char *s);

/** Append `s` HTML-escaped (& < > " ') for text or a quoted attribute. */
void escape_html(struct strbuf *out, const char *s);

/** A copy of `s` an XLSX cell can hold: invalid UTF-8 bytes become U+FFFD,
 * control characters other than tab and newline (which XML 1.0 cannot hold)
 * become spaces, and the text is cut to Excel's 32,767 characters. NULL gives
 * "". Caller frees. */
char *escape_xlsx(const char *s);

/** Append `s` as one field of a tab-separated gnuplot data file: tab, CR, LF
 * and other control characters become spaces, '"' becomes '\'' (gnuplot
 * treats a field starting with '"' as a quoted string), an empty text becomes
 * "(empty)" (an empty field would read as missing data), and the text is cut
 * to `max_chars` characters with "..." appended. The field only ever reaches
 * gnuplot as data (xticlabels), never as command text. */
void escape_gnuplot_field(struct strbuf *out, const char *s, size_t max_chars);

/** Append `s` for XML 1.0 text or a quoted attribute (junit.xml): & < > " '
 * become entities, tab, CR and LF become character references (so an
 * attribute keeps them: a parser would fold a raw newline to a space), other
 * control characters (which XML 1.0 cannot hold at all) become spaces, and
 * invalid UTF-8 bytes become U+FFFD (a parser would reject the file). NULL
 * appends nothing. */
void escape_xml(struct strbuf *out, const char *s);

/** Append the standard base64 encoding (with padding) of data[0..len). */
void escape_base64(struct strbuf *out, const unsigned char *data, size_t len);

#endif
