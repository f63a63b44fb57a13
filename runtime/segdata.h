/* segdata.h — a segmentation dataset composed from a classification one, and its batches.
 *
 * Each sample is a canvas (28x28 by default, so the classifier's ViT with patch 4 applies
 * unchanged) holding 2..max_items items of the source Dataset, each downscaled by area
 * averaging to a random side in [min_size, max_size] and placed at a random position,
 * fully inside the canvas; items may overlap, later ones on top. The label map says, per
 * pixel, the class + 1 of the topmost item whose (downscaled, [0, 1]) pixel exceeds the
 * threshold, and 0 (background) where no item does: SEG_CLASSES = 11 for Fashion-MNIST.
 * Where an item is foreground its pixel replaces the canvas's; where it is not, the
 * canvas keeps the brighter of the two, so that (before normalisation) a pixel exceeds
 * the threshold exactly where its label is not background.
 *
 * Canvas i is a pure function of (source, config, stream, i): Philox (philox.h) keyed by
 * (seed, stream), one block per (canvas, item). The train, val and test sets are built
 * from the corresponding classification splits (seg_fashion), so test canvases hold test
 * images only.
 *
 * dataset.h's Batcher carries one label per image and crops/flips the image alone, so
 * the seg set has its own SegBatcher: shuffling and a horizontal flip applied to image
 * and label map together, a batch a pure function of (seed, epoch, position) as there. */
#ifndef MIMIC_SEGDATA_H
#define MIMIC_SEGDATA_H
#include <stdint.h>

#include "dataset.h"
#include "support/diag.h"
#include "tensor.h"

#define SEG_BACKGROUND 0 /* the label of pixels no item covers with foreground */
#define SEG_CLASSES 11   /* background + Fashion-MNIST's 10 classes */
#define SEG_MIN_ITEMS 2  /* every canvas holds at least this many items */

typedef struct SegConfig {
  int height, width;   /* canvas size */
  int max_items;       /* items per canvas: uniform in [SEG_MIN_ITEMS, max_items] */
  int min_size;        /* an item's side after downscaling: uniform in [min_size, max_size] */
  int max_size;        /* at most min(height, width) */
  float threshold;     /* an item pixel (in [0, 1]) above this is foreground */
  uint32_t seed;       /* Philox key word 0 */
  double mean, std;    /* std > 0: canvases become (x - mean) / std, as data_fashion does */
} SegConfig;

/* 28x28, 2..3 items of 14x14, threshold 0.1, seed 0, no normalisation. */
SegConfig seg_defaults(void);

/* One item placed on a canvas: what a test or a viewer needs to retrace the canvas. */
typedef struct SegItem {
  int64_t src;  /* index of the image in the source Dataset */
  int32_t cls;  /* its class; its foreground pixels are labelled cls + 1 */
  int size;     /* side after downscaling */
  int y, x;     /* top-left corner on the canvas */
} SegItem;

typedef struct SegSet {
  Tensor *images;  /* f32 [n, 1, height, width] */
  Tensor *labels;  /* i32 [n, height, width]: SEG_BACKGROUND or class + 1 */
  int64_t n;
  int max_items;   /* stride of items */
  SegItem *items;  /* canvas i's items at items[i * max_items], bottom first (malloc'd) */
  int *nitems;     /* items on each canvas (malloc'd) */
} SegSet;

/* The Philox stream for a set drawn from (split, offset), so that the sets of one seed
 * (train, val = the train split's tail, test) do not share their layouts. */
uint32_t seg_stream(const char *split, int64_t offset);

/* n canvases from `src` (images f32 [m, 1, h, w] in [0, 1], i.e. not normalised; labels
 * i32 [m]). 0 or -1 (reported: a bad config or source). */
int seg_build(SegSet *ss, const Dataset *src, int64_t n, const SegConfig *cfg, uint32_t stream, Diag *d);
/* n canvases from the Fashion-MNIST images [offset, offset + count) of `split` (see
 * data_fashion), keyed by seg_stream(split, offset). 0 or -1 (reported). */
int seg_fashion(SegSet *ss, const char *split, int64_t offset, int64_t count, int64_t n, const SegConfig *cfg,
                Diag *d);
void seg_free(SegSet *ss);

/* Area-average resampling of one plane src [sh, sw] to dst [dh, dw]: each output pixel
 * is the mean of the source area it covers, fractional pixels weighted by their share. */
void seg_downscale(const float *src, int sh, int sw, float *dst, int dh, int dw);

typedef struct SegBatcher {
  const SegSet *ss;
  int64_t batch;   /* canvases per batch */
  uint32_t seed;
  int shuffle;     /* a new permutation every epoch */
  int flip;        /* mirror image and label map together with probability 1/2 */
  int64_t *perm;   /* this epoch's order (malloc'd) */
  int64_t epoch;   /* the epoch perm belongs to; -1 before the first */
} SegBatcher;

void seg_batcher_init(SegBatcher *b, const SegSet *ss, int64_t batch, uint32_t seed, int shuffle, int flip);
void seg_batcher_free(SegBatcher *b);
/* Full batches per epoch (the last partial batch is dropped, as in Batcher). */
int64_t seg_batcher_steps_per_epoch(const SegBatcher *b);
/* Fill images (f32 [batch, 1, h, w]) and labels (i32 [batch, h, w]; may be NULL) with
 * batch number `step` counted from the start of training. */
void seg_batcher_get(SegBatcher *b, int64_t step, Tensor *images, Tensor *labels);

#endif
