/* image.c — images, their tiling and PNG output (see image.h).
 *
 * A PNG here is the minimum every viewer reads (PNG 1.2 / ISO 15948): the signature,
 * IHDR, PLTE for indexed images, the zlib stream of the scanlines split over IDAT chunks,
 * and IEND; every chunk carries the CRC-32 of its type and data. Every scanline uses
 * filter 0 (none): these images are small, and the simplicity is worth more than the
 * few percent the adaptive filters would save. */
#include "image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "afile.h"

/* Images stay far below what a PNG or an int could hold; this also keeps every size
 * product below in range. */
#define MAX_BYTES (1 << 30)

/* Compressed data goes out in IDAT chunks of at most this many bytes (a chunk may hold
 * 2^31 - 1; smaller ones keep readers' buffers small, and the split is free). */
#define IDAT_MAX (1 << 20)

Image *image_new(int width, int height, int channels) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3)) return NULL;
  if ((int64_t)width * height * channels > MAX_BYTES) return NULL;
  Image *img = malloc(sizeof *img);
  if (!img) abort();
  *img = (Image){width, height, channels, calloc((size_t)width * (size_t)height * (size_t)channels, 1)};
  if (!img->px) abort();
  return img;
}

void image_free(Image *img) {
  if (!img) return;
  free(img->px);
  free(img);
}

Image *image_from_f32(const float *x, int channels, int height, int width, float lo, float hi) {
  if (!(hi > lo)) return NULL;
  Image *img = image_new(width, height, channels);
  if (!img) return NULL;
  double k = 255.0 / ((double)hi - lo);
  size_t plane = (size_t)width * (size_t)height;
  for (int c = 0; c < channels; c++)
    for (size_t i = 0; i < plane; i++) {
      double v = nearbyint(((double)x[c * plane + i] - lo) * k);
      if (!(v > 0)) v = 0; /* also NaN */
      if (v > 255) v = 255;
      img->px[i * (size_t)channels + (size_t)c] = (uint8_t)v; /* planar in, interleaved out */
    }
  return img;
}

Image *image_scale(const Image *img, int factor) {
  if (!img || factor < 1 || (int64_t)img->width * factor > MAX_BYTES || (int64_t)img->height * factor > MAX_BYTES)
    return NULL;
  Image *out = image_new(img->width * factor, img->height * factor, img->channels);
  if (!out) return NULL;
  size_t ch = (size_t)img->channels;
  for (int y = 0; y < out->height; y++)
    for (int x = 0; x < out->width; x++)
      memcpy(out->px + ((size_t)y * (size_t)out->width + (size_t)x) * ch,
             img->px + ((size_t)(y / factor) * (size_t)img->width + (size_t)(x / factor)) * ch, ch);
  return out;
}

/* Copy tile t to (x0, y0) of out, expanding gray to RGB when out is RGB. */
static void blit(Image *out, const Image *t, int x0, int y0) {
  size_t oc = (size_t)out->channels, tc = (size_t)t->channels;
  for (int y = 0; y < t->height; y++)
    for (int x = 0; x < t->width; x++) {
      const uint8_t *s = t->px + ((size_t)y * (size_t)t->width + (size_t)x) * tc;
      uint8_t *o = out->px + ((size_t)(y0 + y) * (size_t)out->width + (size_t)(x0 + x)) * oc;
      for (size_t c = 0; c < oc; c++) o[c] = s[tc == oc ? c : 0];
    }
}

Image *image_tile(const Image *const *tiles, int n, int cols, uint8_t border) {
  if (n < 1 || cols < 1) return NULL;
  if (cols > n) cols = n;
  int rows = (n + cols - 1) / cols, cw = 0, ch = 0, channels = 1;
  for (int i = 0; i < n; i++) {
    if (!tiles[i]) continue;
    if (tiles[i]->width > cw) cw = tiles[i]->width;
    if (tiles[i]->height > ch) ch = tiles[i]->height;
    if (tiles[i]->channels == 3) channels = 3;
  }
  /* one line before every cell and one after the last */
  int64_t w = (int64_t)cols * (cw + 1) + 1, h = (int64_t)rows * (ch + 1) + 1;
  if (w > MAX_BYTES || h > MAX_BYTES) return NULL;
  Image *out = image_new((int)w, (int)h, channels);
  if (!out) return NULL;
  /* border everywhere, then each cell's inside back to black */
  memset(out->px, border, (size_t)out->width * (size_t)out->height * (size_t)channels);
  for (int i = 0; i < n; i++) {
    int x0 = (i % cols) * (cw + 1) + 1, y0 = (i / cols) * (ch + 1) + 1;
    for (int y = 0; y < ch; y++)
      memset(out->px + ((size_t)(y0 + y) * (size_t)out->width + (size_t)x0) * (size_t)channels, 0,
             (size_t)cw * (size_t)channels);
    if (tiles[i]) blit(out, tiles[i], x0, y0);
  }
  return out;
}

Image *image_grid_f32(const float *x, int n, int channels, int height, int width, int cols, float lo, float hi,
                      int scale, uint8_t border) {
  if (n < 1) return NULL;
  Image **tiles = calloc((size_t)n, sizeof *tiles);
  if (!tiles) abort();
  size_t each = (size_t)channels * (size_t)height * (size_t)width;
  Image *out = NULL;
  int ok = 1;
  for (int i = 0; i < n && ok; i++) {
    Image *small = image_from_f32(x + (size_t)i * each, channels, height, width, lo, hi);
    tiles[i] = image_scale(small, scale);
    image_free(small);
    ok = tiles[i] != NULL;
  }
  if (ok) out = image_tile((const Image *const *)tiles, n, cols, border);
  for (int i = 0; i < n; i++) image_free(tiles[i]);
  free(tiles);
  return out;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC-32 of type and data (not of the length). */
static void chunk(AFile *a, const char *type, const uint8_t *data, size_t n) {
  uint8_t head[8], tail[4];
  put32(head, (uint32_t)n);
  memcpy(head + 4, type, 4);
  uLong crc = crc32(0L, head + 4, 4);
  if (n) crc = crc32_z(crc, data, n);
  put32(tail, (uint32_t)crc);
  afile_write(a, head, 8);
  afile_write(a, data, n);
  afile_write(a, tail, 4);
}

/* The file for img with colour type `type` (0 gray, 2 RGB, 3 indexed with `palette`). */
static int write_png(const Image *img, int type, const uint8_t *palette, int npal, const char *path, Diag *d) {
  SrcLoc loc = {path, 0, 0};
  /* scanlines, each led by its filter byte (0: none) */
  size_t row = (size_t)img->width * (size_t)img->channels, rawn = (size_t)img->height * (row + 1);
  uint8_t *raw = malloc(rawn);
  uLongf zn = compressBound((uLong)rawn);
  uint8_t *z = malloc(zn);
  if (!raw || !z) abort();
  for (int y = 0; y < img->height; y++) {
    raw[(size_t)y * (row + 1)] = 0;
    memcpy(raw + (size_t)y * (row + 1) + 1, img->px + (size_t)y * row, row);
  }
  int zrc = compress2(z, &zn, raw, (uLong)rawn, Z_DEFAULT_COMPRESSION);
  free(raw);
  if (zrc != Z_OK) {
    diag_error(d, loc, "cannot write the PNG: zlib error %d", zrc);
    free(z);
    return -1;
  }
  AFile a;
  if (afile_open(&a, path, d)) {
    free(z);
    return -1;
  }
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  afile_write(&a, signature, 8);
  uint8_t ihdr[13];
  put32(ihdr, (uint32_t)img->width);
  put32(ihdr + 4, (uint32_t)img->height);
  ihdr[8] = 8;            /* bits per sample (or per palette index) */
  ihdr[9] = (uint8_t)type;
  ihdr[10] = 0;           /* compression: deflate */
  ihdr[11] = 0;           /* filter method: the five adaptive filters (we use none) */
  ihdr[12] = 0;           /* no interlace */
  chunk(&a, "IHDR", ihdr, sizeof ihdr);
  if (type == 3) chunk(&a, "PLTE", palette, (size_t)npal * 3);
  for (size_t at = 0; at < zn; at += IDAT_MAX) chunk(&a, "IDAT", z + at, zn - at < IDAT_MAX ? zn - at : IDAT_MAX);
  chunk(&a, "IEND", NULL, 0);
  free(z);
  return afile_commit(&a, d);
}

/* An image every function here could have made; a hand-built one may be anything. */
static int check_image(const Image *img, const char *path, Diag *d) {
  if (!img || !img->px || img->width < 1 || img->height < 1 || (img->channels != 1 && img->channels != 3) ||
      (int64_t)img->width * img->height * img->channels > MAX_BYTES) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write the PNG: not a valid image (%dx%d, %d channels)",
               img ? img->width : 0, img ? img->height : 0, img ? img->channels : 0);
    return -1;
  }
  return 0;
}

int image_write_png(const Image *img, const char *path, Diag *d) {
  if (check_image(img, path, d)) return -1;
  return write_png(img, img->channels == 1 ? 0 : 2, NULL, 0, path, d);
}

int image_write_png_palette(const Image *img, const uint8_t *palette, int n, const char *path, Diag *d) {
  SrcLoc loc = {path, 0, 0};
  if (check_image(img, path, d)) return -1;
  if (img->channels != 1 || !palette || n < 1 || n > 256) {
    diag_error(d, loc, "cannot write the PNG: an indexed image needs 1 channel and 1 to 256 colours (%d, %d)",
               img->channels, n);
    return -1;
  }
  size_t npx = (size_t)img->width * (size_t)img->height;
  for (size_t i = 0; i < npx; i++)
    if (img->px[i] >= n) {
      diag_error(d, loc, "cannot write the PNG: pixel %zu is colour %d of a %d-colour palette", i, img->px[i], n);
      return -1;
    }
  return write_png(img, 3, palette, n, path, d);
}
