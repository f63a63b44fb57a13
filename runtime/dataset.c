/* dataset.c — datasets and batches (see dataset.h). */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "philox.h"

/* Philox streams, so that shuffling and augmentation never share random numbers */
#define STREAM_SHUFFLE 0x53485546u /* "SHUF" */
#define STREAM_AUGMENT 0x41554721u /* "AUG!" */

int data_fashion(Dataset *ds, const char *split, int64_t offset, int64_t count, double mean, double std, Diag *d) {
  memset(ds, 0, sizeof *ds);
  const char *prefix = !strcmp(split, "train") ? "train" : !strcmp(split, "test") ? "t10k" : NULL;
  if (!prefix) {
    diag_error(d, SRCLOC_NONE, "unknown Fashion-MNIST split '%s' (train or test)", split);
    return -1;
  }
  char ip[4096], lp[4096];
  snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", idx_fashion_dir(), prefix);
  snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", idx_fashion_dir(), prefix);
  if (idx_read_images(ip, offset, count, &ds->images, d) || idx_read_labels(lp, offset, count, &ds->labels, d)) {
    data_free(ds);
    return -1;
  }
  ds->n = ds->images->shape.d[0];
  if (std > 0) {
    float *x = ds->images->data;
    for (int64_t i = 0; i < shape_numel(&ds->images->shape); i++) x[i] = (float)((x[i] - mean) / std);
  }
  return 0;
}

void data_free(Dataset *ds) {
  tensor_free(ds->images);
  tensor_free(ds->labels);
  memset(ds, 0, sizeof *ds);
}

void batcher_init(Batcher *b, const Dataset *ds, int64_t batch, uint32_t seed, int shuffle, int crop_pad, int flip) {
  memset(b, 0, sizeof *b);
  b->ds = ds;
  b->batch = batch;
  b->seed = seed;
  b->shuffle = shuffle;
  b->crop_pad = crop_pad;
  b->flip = flip;
  b->perm = malloc(sizeof *b->perm * (size_t)(ds->n ? ds->n : 1));
  if (!b->perm) abort();
  b->epoch = -1;
}

void batcher_free(Batcher *b) {
  free(b->perm);
  b->perm = NULL;
}

int64_t batcher_steps_per_epoch(const Batcher *b) {
  return b->batch > 0 ? b->ds->n / b->batch : 0;
}

/* A uniform integer in [0, n) from Philox(seed, stream) at counter `at`. */
static int64_t pick(uint32_t seed, uint32_t stream, uint64_t at, int64_t n) {
  int64_t v = (int64_t)(philox_uniform(seed, stream, at) * (float)n);
  return v < n ? v : n - 1;
}

static void order(Batcher *b, int64_t epoch) {
  if (b->epoch == epoch) return;
  int64_t n = b->ds->n;
  for (int64_t i = 0; i < n; i++) b->perm[i] = i;
  if (b->shuffle) /* Fisher-Yates, one Philox draw per swap; the epoch is part of the counter */
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = pick(b->seed, STREAM_SHUFFLE, ((uint64_t)epoch << 32) + (uint64_t)i, i + 1), t = b->perm[i];
      b->perm[i] = b->perm[j];
      b->perm[j] = t;
    }
  b->epoch = epoch;
}

/* Image `src` into slot `dst`, shifted by (dy, dx) with zeros where the shifted image
 * leaves the frame (a crop of the zero-padded image), mirrored when flip. */
static void place(const Tensor *from, int64_t src, Tensor *to, int64_t dst, int64_t dy, int64_t dx, int flip) {
  int64_t c = from->shape.d[1], h = from->shape.d[2], w = from->shape.d[3], plane = h * w;
  const float *s = (const float *)from->data + src * c * plane;
  float *o = (float *)to->data + dst * c * plane;
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        int64_t sy = y + dy, sx0 = x + dx, sx = flip ? w - 1 - sx0 : sx0;
        int inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
        o[ch * plane + y * w + x] = inside ? s[ch * plane + sy * w + sx] : 0.0f;
      }
}

void batcher_get(Batcher *b, int64_t step, Tensor *images, Tensor *labels) {
  int64_t per = batcher_steps_per_epoch(b);
  int64_t epoch = per ? step / per : 0, first = per ? (step % per) * b->batch : 0;
  order(b, epoch);
  const int32_t *lab = b->ds->labels->data;
  int32_t *lo = labels ? labels->data : NULL;
  for (int64_t k = 0; k < b->batch; k++) {
    int64_t pos = first + k, src = b->perm[pos];
    int64_t dy = 0, dx = 0;
    int flip = 0;
    uint64_t at = ((uint64_t)epoch << 32) + (uint64_t)pos * 4;
    if (b->crop_pad > 0) {
      dy = pick(b->seed, STREAM_AUGMENT, at, 2 * b->crop_pad + 1) - b->crop_pad;
      dx = pick(b->seed, STREAM_AUGMENT, at + 1, 2 * b->crop_pad + 1) - b->crop_pad;
    }
    if (b->flip) flip = philox_uniform(b->seed, STREAM_AUGMENT, at + 2) < 0.5f;
    place(b->ds->images, src, images, k, dy, dx, flip);
    if (lo) lo[k] = lab[src];
  }
}
