/* png.h - making the report's plot images smaller.
 *
 * gnuplot's pngcairo terminal writes 24-bit RGB images in which almost every
 * colour is a shade of anti-aliased text or lines. The report embeds each
 * image in index.html as base64, so their bytes are most of the page. Mapping
 * the image to a palette of its 256 most frequent colours (every other colour
 * to the nearest of them) looks the same on a plot and takes two to three
 * times fewer bytes. */
#ifndef MLA_PNG_H
#define MLA_PNG_H

/** Rewrite the PNG at `path` as an 8-bit palette image when that is smaller.
 * Only non-interlaced 8-bit RGB images are converted; anything else (another
 * colour type, a truncated or malformed file) is left as it is, which is not
 * an error. The result depends only on the input bytes. 0, or -1 with an
 * internal error recorded when the rewrite could not be written. */
int png_palettize(const char *path);

#endif
