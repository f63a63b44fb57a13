/* batches.h — one interface over the two kinds of batches a training loop draws:
 * classification (dataset.h's Batcher: images and one label per image) and segmentation
 * (segdata.h's SegBatcher: images and a label map per image). The loop asks for the
 * tensors a batch needs, the number of full batches an epoch, and batch number `step`;
 * it need not know which kind it trains on. */
#ifndef MIMIC_BATCHES_H
#define MIMIC_BATCHES_H
#include <stdint.h>

#include "dataset.h"
#include "segdata.h"

typedef struct BatchSrc {
  const Dataset *ds;  /* classification set, or NULL */
  const SegSet *seg;  /* segmentation set, or NULL */
  Batcher b;          /* when ds */
  SegBatcher sb;      /* when seg */
  int64_t batch;
} BatchSrc;

/* Exactly one of ds and seg is not NULL. Augmentation: crop_pad and flip for
 * classification, flip (image and map together) for segmentation. */
void bsrc_init(BatchSrc *s, const Dataset *ds, const SegSet *seg, int64_t batch, uint32_t seed, int shuffle,
               int crop_pad, int flip);
void bsrc_free(BatchSrc *s);
/* Images in the set. */
int64_t bsrc_count(const Dataset *ds, const SegSet *seg);
int64_t bsrc_steps_per_epoch(const BatchSrc *s);
/* New zeroed tensors of one batch: images f32 [batch, c, h, w], labels i32 [batch] or
 * [batch, h, w]. */
void bsrc_tensors(const BatchSrc *s, Tensor **images, Tensor **labels);
/* Fill them with batch number `step` counted from the start of training. */
void bsrc_get(BatchSrc *s, int64_t step, Tensor *images, Tensor *labels);

#endif
