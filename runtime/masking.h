/* masking.h — which patches of an image a masked-image-modelling step hides.
 *
 * MASK_BLOCK is BEiT's blockwise masking (microsoft/unilm beit/masking_generator.py, as
 * described in shared/BEIT.md section 1): rectangles of at least `min_block` patches with
 * a log-uniform aspect ratio are added one at a time until `count` patches are masked or
 * a placement fails ten times; the count never exceeds `count` and is often a little
 * below it. MASK_RANDOM hides exactly `count` patches chosen uniformly (the ablation).
 *
 * Masks are u8 0/1 arrays of height * width cells in row-major order, the order of the
 * patch tokens. All randomness is Philox (philox.h) keyed by the seed and counted by the
 * sample index, so a mask is a pure function of (seed, index) and a batch a pure function
 * of (seed, step, position), like the batches of dataset.h: a resumed run sees the masks
 * of an uninterrupted one. */
#ifndef MIMIC_MASKING_H
#define MIMIC_MASKING_H
#include <stdint.h>

#include "support/diag.h"
#include "tensor.h"

typedef enum MaskKind {
  MASK_BLOCK,  /* BEiT's blockwise masking */
  MASK_RANDOM, /* exactly `count` patches, uniformly without replacement */
} MaskKind;

typedef struct MaskGen {
  MaskKind kind;
  int height, width; /* the patch grid (image / patch size) */
  int count;         /* patches to mask: the target (block) or the exact number (random) */
  int min_block;     /* smallest block area drawn (block only) */
  int max_block;     /* largest block area; mask_init turns <= 0 into `count` */
  double min_aspect; /* block aspect ratios lie in [min_aspect, 1 / min_aspect] */
  uint32_t seed;
} MaskGen;

/* One placed block: rows [top, top + h), columns [left, left + w). */
typedef struct MaskBlock {
  int top, left, h, w;
} MaskBlock;

/* BEiT's pre-training values for a 14x14 grid: 75 patches, blocks of 16 or more, aspect
 * ratios in [0.3, 1/0.3]. */
#define MASK_BEIT_COUNT 75
#define MASK_BEIT_MIN_BLOCK 16
#define MASK_BEIT_MIN_ASPECT 0.3

/* Check the parameters and fill g. max_block <= 0 means `count`. Rejected (reported,
 * -1): a grid side < 1, count < 0 or above the cells, and for blocks min_block < 1,
 * min_block > count, max_block < min_block, min_aspect outside (0, 1], or a grid side
 * of 1 (blocks must be strictly narrower and lower than the grid, so none would fit). */
int mask_init(MaskGen *g, MaskKind kind, int height, int width, int count, int min_block, int max_block,
              double min_aspect, uint32_t seed, Diag *d);

/* Cells of a mask (height * width). */
int mask_cells(const MaskGen *g);

/* The mask of sample `index` into mask[height * width] (0/1). Returns the number of
 * masked cells. When blocks is not NULL it receives the placed blocks in order (at most
 * `count` of them, since each adds a cell) and *nblocks their number; random masks place
 * none. */
int mask_sample(const MaskGen *g, uint64_t index, uint8_t *mask, MaskBlock *blocks, int *nblocks);

/* The masks of batch `step` (samples step * batch ... + batch - 1) into
 * out[batch * height * width]. Returns the number of masked cells in the batch. */
int64_t mask_batch(const MaskGen *g, int64_t step, int64_t batch, uint8_t *out);

/* The same into a tensor of dtype f32, f64, i32 or bool whose first dimension is the
 * batch and whose other dimensions hold height * width cells ([batch, cells] or
 * [batch, height, width]). Returns the masked count, or -1 after reporting a tensor that
 * does not fit. */
int64_t mask_fill(const MaskGen *g, int64_t step, Tensor *out, Diag *d);

#endif
