/* png.c - an RGB PNG to a 256-colour palette PNG (see png.h).
 *
 * Reader: the chunks of a non-interlaced 8-bit RGB image, IDAT inflated and
 * the five PNG row filters undone. Palette: the 256 most frequent colours
 * (ties by colour value, so the result is stable); an image with at most 256
 * colours keeps them all and is converted without loss. Writer: IHDR, PLTE,
 * one IDAT of filter-0 rows at zlib level 9, IEND. */
#include "png.h"
#include "../../pipeline/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_MAX_PIXELS (16u << 20)   /* a plot is about 0.3 Mpixel; larger is not ours */

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(struct strbuf *sb, uint32_t v)
{
	char b[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
	sb_putn(sb, b, 4);
}

static void put_chunk(struct strbuf *sb, const char *type, const unsigned char *data, size_t len)
{
	put_be32(sb, (uint32_t)len);
	size_t at = sb->len;
	sb_putn(sb, type, 4);
	if (len)
		sb_putn(sb, (const char *)data, len);
	uLong crc = crc32(0L, (const Bytef *)sb->data + at, (uInt)(len + 4));
	put_be32(sb, (uint32_t)crc);
}

static unsigned paeth(unsigned a, unsigned b, unsigned c)
{
	int p = (int)a + (int)b - (int)c;
	int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo the row filters of `raw` (h rows of 1 + stride bytes) into pix
 * (h x stride). 0, or -1 for an unknown filter type. */
static int unfilter(const unsigned char *raw, unsigned char *pix, size_t w, size_t h, size_t bpp)
{
	size_t stride = w * bpp;
	for (size_t y = 0; y < h; y++) {
		const unsigned char *in = raw + y * (stride + 1);
		unsigned char *out = pix + y * stride, *up = y ? out - stride : NULL;
		unsigned ft = in[0];
		in++;
		for (size_t x = 0; x < stride; x++) {
			unsigned a = x >= bpp ? out[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0;
			unsigned pred;
			switch (ft) {
			case 0: pred = 0; break;
			case 1: pred = a; break;
			case 2: pred = b; break;
			case 3: pred = (a + b) >> 1; break;
			case 4: pred = paeth(a, b, c); break;
			default: return -1;
			}
			out[x] = (unsigned char)(in[x] + pred);
		}
	}
	return 0;
}

/* ---- a colour -> count / palette index table (open addressing) ---- */

struct ctab {
	uint32_t *key;      /* colour + 1; 0 marks an empty slot */
	uint32_t *val;      /* count, later the palette index */
	size_t cap, n;
};

static size_t ctab_slot(const struct ctab *t, uint32_t key)
{
	size_t i = (size_t)(key * 2654435761u) & (t->cap - 1);
	while (t->key[i] && t->key[i] != key)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void ctab_grow(struct ctab *t)
{
	struct ctab g = {xcalloc(t->cap * 2, sizeof *g.key), xcalloc(t->cap * 2, sizeof *g.val), t->cap * 2, t->n};
	for (size_t i = 0; i < t->cap; i++)
		if (t->key[i]) {
			size_t s = ctab_slot(&g, t->key[i]);
			g.key[s] = t->key[i];
			g.val[s] = t->val[i];
		}
	free(t->key);
	free(t->val);
	*t = g;
}

static void ctab_count(struct ctab *t, uint32_t rgb)
{
	if (2 * (t->n + 1) > t->cap)
		ctab_grow(t);
	size_t s = ctab_slot(t, rgb + 1);
	if (!t->key[s]) {
		t->key[s] = rgb + 1;
		t->n++;
	}
	t->val[s]++;
}

struct centry {
	uint32_t rgb, count;
};

static int cmp_centry(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->rgb < y->rgb ? -1 : x->rgb > y->rgb;
}

static unsigned nearest(uint32_t rgb, const uint32_t *pal, unsigned npal)
{
	unsigned best = 0;
	long bestd = -1;
	for (unsigned i = 0; i < npal; i++) {
		long dr = (long)(rgb >> 16 & 255) - (long)(pal[i] >> 16 & 255);
		long dg = (long)(rgb >> 8 & 255) - (long)(pal[i] >> 8 & 255);
		long db = (long)(rgb & 255) - (long)(pal[i] & 255);
		long d = dr * dr + dg * dg + db * db;
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return best;
}

/* ---- the conversion ---- */

/* The converted file in *out, or 0 when `png` is not an image we convert. */
static int convert(const unsigned char *png, size_t len, struct strbuf *out)
{
	if (len < 8 + 25 || memcmp(png, png_sig, 8))
		return 0;
	size_t w = 0, h = 0, pos = 8;
	struct strbuf idat;
	sb_init(&idat);
	int ok = 0, seen_ihdr = 0;
	while (pos + 12 <= len) {
		uint32_t n = be32(png + pos);
		const unsigned char *type = png + pos + 4, *data = png + pos + 8;
		if (n > len - pos - 12)
			break;
		if (!memcmp(type, "IHDR", 4)) {
			/* the first chunk; 8-bit RGB, deflate, standard filters, not interlaced */
			if (pos != 8 || n != 13 || data[8] != 8 || data[9] != 2 || data[10] || data[11] || data[12])
				break;
			w = be32(data);
			h = be32(data + 4);
			seen_ihdr = 1;
		} else if (!memcmp(type, "IDAT", 4))
			sb_putn(&idat, (const char *)data, n);
		else if (!memcmp(type, "IEND", 4)) {
			ok = seen_ihdr;
			break;
		}
		pos += 12 + (size_t)n;
	}
	if (!ok || !w || !h || w > PNG_MAX_PIXELS / h) {
		sb_free(&idat);
		return 0;
	}
	size_t stride = 3 * w, rawlen = h * (stride + 1);
	unsigned char *raw = xmalloc(rawlen), *pix = xmalloc(h * stride);
	uLongf got = (uLongf)rawlen;
	int zr = uncompress(raw, &got, (const Bytef *)idat.data, (uLong)idat.len);
	sb_free(&idat);
	if (zr != Z_OK || got != rawlen || unfilter(raw, pix, w, h, 3) != 0) {
		free(raw);
		free(pix);
		return 0;
	}

	struct ctab t = {xcalloc(1024, sizeof(uint32_t)), xcalloc(1024, sizeof(uint32_t)), 1024, 0};
	size_t npx = w * h;
	for (size_t i = 0; i < npx; i++)
		ctab_count(&t, (uint32_t)pix[3 * i] << 16 | (uint32_t)pix[3 * i + 1] << 8 | pix[3 * i + 2]);
	struct centry *all = xmalloc(t.n * sizeof *all);
	size_t k = 0;
	for (size_t i = 0; i < t.cap; i++)
		if (t.key[i])
			all[k++] = (struct centry){t.key[i] - 1, t.val[i]};
	qsort(all, k, sizeof *all, cmp_centry);
	unsigned npal = k < 256 ? (unsigned)k : 256;
	uint32_t pal[256];
	unsigned char plte[3 * 256];
	for (unsigned i = 0; i < npal; i++) {
		pal[i] = all[i].rgb;
		plte[3 * i] = (unsigned char)(pal[i] >> 16);
		plte[3 * i + 1] = (unsigned char)(pal[i] >> 8);
		plte[3 * i + 2] = (unsigned char)pal[i];
	}
	free(all);
	/* each distinct colour once: its palette entry, or the nearest one */
	for (size_t i = 0; i < t.cap; i++)
		if (t.key[i])
			t.val[i] = nearest(t.key[i] - 1, pal, npal);
	/* filtered rows of palette indices, filter type 0, into raw */
	for (size_t y = 0; y < h; y++) {
		unsigned char *row = raw + y * (w + 1);
		row[0] = 0;
		for (size_t x = 0; x < w; x++) {
			const unsigned char *p = pix + y * stride + 3 * x;
			uint32_t rgb = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			row[1 + x] = (unsigned char)t.val[ctab_slot(&t, rgb + 1)];
		}
	}
	free(t.key);
	free(t.val);
	free(pix);
	uLongf zlen = compressBound((uLong)(h * (w + 1)));
	unsigned char *z = xmalloc(zlen);
	zr = compress2(z, &zlen, raw, (uLong)(h * (w + 1)), 9);
	free(raw);
	if (zr != Z_OK) {
		free(z);
		return 0;
	}
	unsigned char ihdr[13];
	for (int i = 0; i < 4; i++) {
		ihdr[i] = (unsigned char)(w >> (24 - 8 * i));
		ihdr[4 + i] = (unsigned char)(h >> (24 - 8 * i));
	}
	ihdr[8] = 8;
	ihdr[9] = 3;                 /* palette */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	sb_putn(out, (const char *)png_sig, 8);
	put_chunk(out, "IHDR", ihdr, 13);
	put_chunk(out, "PLTE", plte, 3 * (size_t)npal);
	put_chunk(out, "IDAT", z, zlen);
	put_chunk(out, "IEND", NULL, 0);
	free(z);
	return 1;
}

int png_palettize(const char *path)
{
	size_t len = 0;
	char *png = file_read_all(path, &len);
	if (!png) {
		mla_error_clear();   /* nothing to make smaller */
		return 0;
	}
	struct strbuf out;
	sb_init(&out);
	int rc = 0;
	if (convert((const unsigned char *)png, len, &out) && out.len < len)
		rc = file_write_atomic(path, out.data, out.len);
	sb_free(&out);
	free(png);
	return rc;
}
