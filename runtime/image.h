/* image.h — 8-bit images in memory and as PNG files, to look at what a model sees and
 * makes: grayscale or RGB pixels, PNG output (grayscale, RGB, or indexed with an RGB
 * palette) through zlib, written atomically (afile.h) so a failed write leaves no partial
 * file and an existing one untouched.
 *
 * Helpers turn float images ([c, h, w], c = 1 or 3, a value range mapped to 0..255) into
 * Images, scale an Image by an integer factor (each pixel a square), and tile several
 * Images into a grid separated and surrounded by 1-pixel border lines: originals, masks
 * and reconstructions of a batch side by side in one file. */
#ifndef MIMIC_IMAGE_H
#define MIMIC_IMAGE_H
#include <stdint.h>

#include "support/diag.h"

typedef struct Image {
  int width, height;
  int channels; /* 1 (gray, or palette indices) or 3 (RGB) */
  uint8_t *px;  /* height rows of width * channels bytes, malloc'd, owned */
} Image;

/* A black image (NULL when a side is < 1, channels is not 1 or 3, or it is too big). */
Image *image_new(int width, int height, int channels);
void image_free(Image *img);

/* x is one image [channels, height, width] (planar, as tensors hold it); values are
 * mapped linearly from [lo, hi] to 0..255, rounded and clamped (NaN becomes 0). */
Image *image_from_f32(const float *x, int channels, int height, int width, float lo, float hi);

/* Each pixel becomes a factor x factor square (factor >= 1). */
Image *image_scale(const Image *img, int factor);

/* Tiles in rows of `cols` (row-major), each at the top left of a cell as large as the
 * largest tile, cells separated and surrounded by 1-pixel lines of gray level `border`;
 * a short last row is padded with border, not cells. The result is RGB when any tile is
 * (gray tiles are then expanded), else gray. NULL tiles leave their cell empty (black). */
Image *image_tile(const Image *const *tiles, int n, int cols, uint8_t border);

/* A batch x [n, channels, height, width] as a grid of `cols` columns, every image scaled
 * by `scale`: image_from_f32, image_scale and image_tile in one call. */
Image *image_grid_f32(const float *x, int n, int channels, int height, int width, int cols, float lo, float hi,
                      int scale, uint8_t border);

/* Write img as a PNG (gray: colour type 0, RGB: type 2; 8 bits, no interlace) to path,
 * atomically. 0, or -1 after reporting. */
int image_write_png(const Image *img, const char *path, Diag *d);

/* Write a 1-channel img whose pixels index `palette` (n RGB triples, 1 <= n <= 256) as
 * an indexed PNG (colour type 3). Pixels >= n are an error. 0, or -1 after reporting. */
int image_write_png_palette(const Image *img, const uint8_t *palette, int n, const char *path, Diag *d);

#endif
