/* samples.c — originals, masks and reconstructions of a batch as one PNG (samples.h). */
#include "samples.h"

#include <math.h>
#include <stdlib.h>

#include "image.h"

int samples_png(const char *path, const Tensor *images, const Tensor *recon, const Tensor *mask, double mean,
                double std, int n, Diag *d) {
  const Shape *s = &images->shape;
  int64_t c = s->d[1], h = s->d[2], w = s->d[3], plane = c * h * w;
  if (n > s->d[0]) n = (int)s->d[0];
  int64_t cells = mask ? shape_numel(&mask->shape) / s->d[0] : 0, grid = (int64_t)llround(sqrt((double)cells));
  int use_mask = mask && grid > 0 && grid * grid == cells && h % grid == 0 && w % grid == 0;
  int use_recon = recon && shape_numel(&recon->shape) == shape_numel(&images->shape);
  int rows = 1 + use_mask + use_recon;
  float *px = malloc(sizeof *px * (size_t)(plane * n * rows));
  if (!px) abort();
  for (int k = 0; k < n; k++)
    for (int64_t i = 0; i < plane; i++) {
      double x = tensor_get(images, k * plane + i);
      if (std > 0) x = x * std + mean;
      px[k * plane + i] = (float)x;
      if (use_mask) { /* masked patches gray */
        int64_t y = (i % (h * w)) / w, xx = i % w, cell = (y / (h / grid)) * grid + xx / (w / grid);
        px[(n + k) * plane + i] = tensor_get(mask, k * cells + cell) != 0 ? 0.5f : (float)x;
      }
      if (use_recon) px[((1 + use_mask) * n + k) * plane + i] = (float)tensor_get(recon, k * plane + i);
    }
  Image *img = image_grid_f32(px, n * rows, (int)c, (int)h, (int)w, n, 0, 1, 3, 128);
  free(px);
  if (!img) {
    diag_error(d, SRCLOC_NONE, "%s: cannot make the sample picture", path);
    return -1;
  }
  int rc = image_write_png(img, path, d);
  image_free(img);
  return rc;
}
