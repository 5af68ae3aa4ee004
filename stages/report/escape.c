/* escape.c - escaping data-derived text for markdown, HTML, XLSX, XML and gnuplot data. */
#include "escape.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there
 * are not valid UTF-8 (overlong forms, surrogates and code points above
 * U+10FFFF count as invalid, as XML parsers treat them). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

static const char replacement_char[] = "\xEF\xBF\xBD"; /* U+FFFD */

static int is_ascii_punct(unsigned char c)
{
	return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
	       (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

void escape_md(struct strbuf *out, const char *s)
{
	if (!s)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7F)
			sb_putc(out, ' ');
		else if (is_ascii_punct(*p)) {
			sb_putc(out, '\\');
			sb_putc(out, (char)*p);
		} else
			sb_putc(out, (char)*p);
	}
}

void escape_html(struct strbuf *out, const char *s)
{
	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&': sb_puts(out, "&amp;"); break;
		case '<': sb_puts(out, "&lt;"); break;
		case '>': sb_puts(out, "&gt;"); break;
		case '"': sb_puts(out, "&quot;"); break;
		case '\'': sb_puts(out, "&#39;"); break;
		default: sb_putc(out, *p);
		}
	}
}

void escape_xml(struct strbuf *out, const char *s)
{
	if (!s)
		return;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			sb_puts(out, replacement_char);
			p++;
			continue;
		}
		if (n > 1) {
			/* U+FFFE and U+FFFF are valid UTF-8 but not XML characters */
			int nonchar = n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE;
			if (nonchar)
				sb_puts(out, replacement_char);
			else
				sb_putn(out, (const char *)p, n);
			p += n;
			continue;
		}
		switch (*p) {
		case '&': sb_puts(out, "&amp;"); break;
		case '<': sb_puts(out, "&lt;"); break;
		case '>': sb_puts(out, "&gt;"); break;
		case '"': sb_puts(out, "&quot;"); break;
		case '\'': sb_puts(out, "&apos;"); break;
		case '\t': sb_puts(out, "&#9;"); break;
		case '\n': sb_puts(out, "&#10;"); break;
		case '\r': sb_puts(out, "&#13;"); break;
		default:
			sb_putc(out, *p < 0x20 || *p == 0x7F ? ' ' : (char)*p);
		}
		p++;
	}
}

#define XLSX_MAX_CHARS 32767

char *escape_xlsx(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	if (!s)
		return sb_detach(&sb);
	size_t chars = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && chars < XLSX_MAX_CHARS) {
		size_t n = utf8_len(p);
		if (n == 0) {
			sb_puts(&sb, replacement_char);
			p++;
		} else if (n == 1 && ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7F)) {
			sb_putc(&sb, ' ');
			p++;
		} else {
			sb_putn(&sb, (const char *)p, n);
			p += n;
		}
		chars++;
	}
	return sb_detach(&sb);
}

void escape_gnuplot_field(struct strbuf *out, const char *s, size_t max_chars)
{
	if (!s || !*s) {
		sb_puts(out, "(empty)");
		return;
	}
	size_t chars = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (chars == max_chars) {
			sb_puts(out, "...");
			return;
		}
		size_t n = utf8_len(p);
		if (n == 0) {
			/* cairo rejects invalid UTF-8 in labels */
			sb_puts(out, replacement_char);
			p++;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7F)) {
			sb_putc(out, ' ');
			p++;
		} else if (n == 1 && *p == '"') {
			sb_putc(out, '\'');
			p++;
		} else {
			sb_putn(out, (const char *)p, n);
			p += n;
		}
		chars++;
	}
}

void escape_base64(struct strbuf *out, const unsigned char *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	char q[4];
	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		sb_putn(out, q, 4);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)data[i] << 16;
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = q[3] = '=';
		sb_putn(out, q, 4);
	} else if (len - i == 2) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = '=';
		sb_putn(out, q, 4);
	}
}
