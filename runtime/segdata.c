/* segdata.c — segmentation canvases composed from a classification set, and their
 * batches (see segdata.h). */
#include "segdata.h"

#include <stdlib.h>
#include <string.h>

#include "philox.h"

/* Philox streams of the batcher, apart from the canvases' (seg_stream) and from
 * dataset.c's, so that no two uses share random numbers */
#define STREAM_SHUFFLE 0x53475348u /* "SGSH" */
#define STREAM_FLIP 0x5347464Cu    /* "SGFL" */
#define STREAM_CANVAS 0x53474356u  /* "SGCV": mixed into seg_stream's value */

SegConfig seg_defaults(void) {
  return (SegConfig){.height = 28, .width = 28, .max_items = 3, .min_size = 14, .max_size = 14, .threshold = 0.1f};
}

uint32_t seg_stream(const char *split, int64_t offset) {
  /* FNV-1a over the split's name, then the offset's eight bytes */
  uint32_t h = 2166136261u;
  for (const char *p = split; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  for (int i = 0; i < 8; i++) h = (h ^ (uint32_t)(((uint64_t)offset >> (8 * i)) & 0xff)) * 16777619u;
  return h ^ STREAM_CANVAS;
}

/* A uniform integer in [0, n) from a 32-bit word: the top 32 bits of w * n (Lemire's
 * multiply-shift), unbiased enough for n far below 2^32 and never n itself. */
static int64_t below(uint32_t w, int64_t n) {
  return (int64_t)(((uint64_t)w * (uint64_t)n) >> 32);
}

/* The Philox block for (canvas i, slot k, kind): four words, one per decision, so any
 * canvas is generated alone and in any order. kind 0: item k; kind 1: the canvas's own. */
static void block(uint32_t seed, uint32_t stream, int64_t i, uint32_t k, uint32_t kind, uint32_t out[4]) {
  uint32_t ctr[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), k, kind};
  uint32_t key[2] = {seed, stream};
  philox_4x32_10(ctr, key, out);
}

void seg_downscale(const float *src, int sh, int sw, float *dst, int dh, int dw) {
  /* In units of 1/dh of a source row (= 1/sh of an output row) every boundary is an
   * integer: source row j spans [j*dh, (j+1)*dh), output row o spans [o*sh, (o+1)*sh).
   * The overlaps are exact integers, and an output pixel is the overlap-weighted sum over
   * its area sh*sw; likewise for columns. */
  for (int oy = 0; oy < dh; oy++)
    for (int ox = 0; ox < dw; ox++) {
      int64_t y0 = (int64_t)oy * sh, y1 = y0 + sh, x0 = (int64_t)ox * sw, x1 = x0 + sw;
      double sum = 0;
      for (int64_t jy = y0 / dh; jy * dh < y1; jy++) {
        int64_t a = jy * dh > y0 ? jy * dh : y0, b = (jy + 1) * dh < y1 ? (jy + 1) * dh : y1;
        double row = 0;
        for (int64_t jx = x0 / dw; jx * dw < x1; jx++) {
          int64_t c = jx * dw > x0 ? jx * dw : x0, e = (jx + 1) * dw < x1 ? (jx + 1) * dw : x1;
          row += (double)(e - c) * src[jy * sw + jx];
        }
        sum += (double)(b - a) * row;
      }
      dst[oy * dw + ox] = (float)(sum / ((double)sh * (double)sw));
    }
}

/* Canvas i into img [h*w] and lab [h*w] (both cleared here), its items into items[]. */
static void render(const Dataset *src, const SegConfig *c, uint32_t stream, int64_t i, float *img, int32_t *lab,
                   SegItem *items, int *nitems, float *scratch) {
  int64_t h = c->height, w = c->width, m = src->n;
  int sh = (int)src->images->shape.d[2], sw = (int)src->images->shape.d[3];
  const float *pix = src->images->data;
  const int32_t *cls = src->labels->data;
  memset(img, 0, sizeof *img * (size_t)(h * w));
  memset(lab, 0, sizeof *lab * (size_t)(h * w));
  uint32_t r[4];
  block(c->seed, stream, i, 0, 1, r);
  int n = SEG_MIN_ITEMS + (int)below(r[0], c->max_items - SEG_MIN_ITEMS + 1);
  for (int k = 0; k < n; k++) {
    block(c->seed, stream, i, (uint32_t)k, 0, r);
    SegItem *it = &items[k];
    it->src = below(r[0], m);
    it->cls = cls[it->src];
    it->size = c->min_size + (int)below(r[1], c->max_size - c->min_size + 1);
    it->y = (int)below(r[2], h - it->size + 1);
    it->x = (int)below(r[3], w - it->size + 1);
    seg_downscale(pix + it->src * sh * sw, sh, sw, scratch, it->size, it->size);
    /* later items on top, but only where they are foreground: elsewhere the canvas keeps
     * the brighter pixel, so a faint rim never covers (or relabels) an item below */
    for (int yy = 0; yy < it->size; yy++)
      for (int xx = 0; xx < it->size; xx++) {
        float v = scratch[yy * it->size + xx];
        int64_t p = (it->y + yy) * w + it->x + xx;
        if (v > c->threshold) {
          img[p] = v;
          lab[p] = it->cls + 1;
        } else if (v > img[p]) {
          img[p] = v;
        }
      }
  }
  *nitems = n;
}

/* Checks the config and the source; 0 or -1 (reported). */
static int check(const Dataset *src, int64_t n, const SegConfig *c, Diag *d) {
  const char *bad = NULL;
  if (c->height < 1 || c->width < 1) bad = "the canvas must be at least 1x1";
  else if (c->max_items < SEG_MIN_ITEMS) bad = "max_items must be at least 2";
  else if (c->min_size < 1 || c->min_size > c->max_size) bad = "item sizes must satisfy 1 <= min_size <= max_size";
  else if (c->max_size > c->height || c->max_size > c->width) bad = "max_size must fit the canvas";
  else if (n < 0) bad = "the number of canvases must not be negative";
  else if (!src->images || !src->labels || src->n < 1) bad = "the source set is empty";
  else if (src->images->dtype != DT_F32 || src->images->shape.rank != 4 || src->images->shape.d[1] != 1)
    bad = "the source images must be f32 [n, 1, h, w]";
  else if (src->labels->dtype != DT_I32 || shape_numel(&src->labels->shape) != src->n)
    bad = "the source labels must be i32 [n]";
  if (bad) {
    diag_error(d, SRCLOC_NONE, "segmentation set: %s", bad);
    return -1;
  }
  /* the threshold is an intensity: a normalised source would be cut in the wrong place */
  const float *x = src->images->data;
  for (int64_t i = 0; i < shape_numel(&src->images->shape); i++)
    if (!(x[i] >= 0.0f && x[i] <= 1.0f)) {
      diag_error(d, SRCLOC_NONE, "segmentation set: source pixel %lld is %g, not in [0, 1] (load it with std = 0)",
                 (long long)i, (double)x[i]);
      return -1;
    }
  const int32_t *y = src->labels->data;
  for (int64_t i = 0; i < src->n; i++)
    if (y[i] < 0 || y[i] >= SEG_CLASSES - 1) {
      diag_error(d, SRCLOC_NONE, "segmentation set: source label %lld is %d, not in [0, %d]", (long long)i, (int)y[i],
                 SEG_CLASSES - 2);
      return -1;
    }
  return 0;
}

int seg_build(SegSet *ss, const Dataset *src, int64_t n, const SegConfig *cfg, uint32_t stream, Diag *d) {
  memset(ss, 0, sizeof *ss);
  if (check(src, n, cfg, d)) return -1;
  int64_t h = cfg->height, w = cfg->width;
  ss->images = tensor_new(DT_F32, shape_of(4, (int64_t[]){n, 1, h, w}));
  ss->labels = tensor_new(DT_I32, shape_of(3, (int64_t[]){n, h, w}));
  ss->n = n;
  ss->max_items = cfg->max_items;
  ss->items = calloc((size_t)(n ? n : 1) * (size_t)cfg->max_items, sizeof *ss->items);
  ss->nitems = calloc((size_t)(n ? n : 1), sizeof *ss->nitems);
  float *scratch = malloc(sizeof *scratch * (size_t)cfg->max_size * (size_t)cfg->max_size);
  if (!ss->images || !ss->labels || !ss->items || !ss->nitems || !scratch) abort();
  float *img = ss->images->data;
  int32_t *lab = ss->labels->data;
  for (int64_t i = 0; i < n; i++)
    render(src, cfg, stream, i, img + i * h * w, lab + i * h * w, ss->items + i * cfg->max_items, &ss->nitems[i],
           scratch);
  free(scratch);
  if (cfg->std > 0) /* after composing: the foreground test reads intensities */
    for (int64_t i = 0; i < n * h * w; i++) img[i] = (float)((img[i] - cfg->mean) / cfg->std);
  return 0;
}

int seg_fashion(SegSet *ss, const char *split, int64_t offset, int64_t count, int64_t n, const SegConfig *cfg,
                Diag *d) {
  Dataset src;
  memset(ss, 0, sizeof *ss);
  if (data_fashion(&src, split, offset, count, 0, 0, d)) return -1;
  int rc = seg_build(ss, &src, n, cfg, seg_stream(split, offset), d);
  data_free(&src);
  return rc;
}

void seg_free(SegSet *ss) {
  tensor_free(ss->images);
  tensor_free(ss->labels);
  free(ss->items);
  free(ss->nitems);
  memset(ss, 0, sizeof *ss);
}

/* ---- batches ---- */

void seg_batcher_init(SegBatcher *b, const SegSet *ss, int64_t batch, uint32_t seed, int shuffle, int flip) {
  memset(b, 0, sizeof *b);
  b->ss = ss;
  b->batch = batch;
  b->seed = seed;
  b->shuffle = shuffle;
  b->flip = flip;
  b->perm = malloc(sizeof *b->perm * (size_t)(ss->n ? ss->n : 1));
  if (!b->perm) abort();
  b->epoch = -1;
}

void seg_batcher_free(SegBatcher *b) {
  free(b->perm);
  b->perm = NULL;
}

int64_t seg_batcher_steps_per_epoch(const SegBatcher *b) {
  return b->batch > 0 ? b->ss->n / b->batch : 0;
}

/* Fisher-Yates as dataset.c's Batcher does it: one Philox draw per swap, counted by
 * (swap, epoch), so the order is a function of (seed, epoch) alone. */
static void order(SegBatcher *b, int64_t epoch) {
  if (b->epoch == epoch) return;
  int64_t n = b->ss->n;
  for (int64_t i = 0; i < n; i++) b->perm[i] = i;
  if (b->shuffle)
    for (int64_t i = n - 1; i > 0; i--) {
      uint64_t ui = (uint64_t)i, ue = (uint64_t)epoch;
      uint32_t ctr[4] = {(uint32_t)ui, (uint32_t)(ui >> 32), (uint32_t)ue, (uint32_t)(ue >> 32)};
      uint32_t key[2] = {b->seed, STREAM_SHUFFLE}, out[4];
      philox_4x32_10(ctr, key, out);
      int64_t j = below(out[0], i + 1), t = b->perm[i];
      b->perm[i] = b->perm[j];
      b->perm[j] = t;
    }
  b->epoch = epoch;
}

void seg_batcher_get(SegBatcher *b, int64_t step, Tensor *images, Tensor *labels) {
  int64_t per = seg_batcher_steps_per_epoch(b);
  int64_t epoch = per ? step / per : 0, first = per ? (step % per) * b->batch : 0;
  order(b, epoch);
  int64_t h = b->ss->labels->shape.d[1], w = b->ss->labels->shape.d[2], plane = h * w;
  const float *si = b->ss->images->data;
  const int32_t *sl = b->ss->labels->data;
  float *oi = images->data;
  int32_t *ol = labels ? labels->data : NULL;
  for (int64_t k = 0; k < b->batch; k++) {
    int64_t pos = first + k, src = b->perm[pos];
    int flip = b->flip && philox_uniform(b->seed, STREAM_FLIP, ((uint64_t)epoch << 32) + (uint64_t)pos) < 0.5f;
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        int64_t from = src * plane + y * w + (flip ? w - 1 - x : x), to = k * plane + y * w + x;
        oi[to] = si[from];
        if (ol) ol[to] = sl[from];
      }
  }
}
