/* dataset.h — image datasets in memory and the batches a training loop draws from them.
 *
 * A Dataset holds images (f32 [n, c, h, w]) and labels (i32 [n]). Fashion-MNIST comes
 * from the IDX files (idx.h), optionally normalised ((x - mean) / std) and split: the
 * training split's last `val` images can be held out for validation.
 *
 * A Batcher walks a dataset in epochs: each epoch a fresh permutation (when shuffling),
 * and per image a random crop after zero padding and a random horizontal flip (when
 * augmenting). All randomness is Philox (philox.h) keyed by the seed and counted by
 * (epoch, position), so a batch is a pure function of (seed, epoch, position): a run
 * resumed at the same step sees exactly the batches of an uninterrupted one, and the
 * checkpoint needs to store only the step. The last partial batch of an epoch is
 * dropped, so every step has the compiled batch size. */
#ifndef MIMIC_DATASET_H
#define MIMIC_DATASET_H
#include <stdint.h>

#include "support/diag.h"
#include "tensor.h"

typedef struct Dataset {
  Tensor *images;   /* f32 [n, c, h, w] */
  Tensor *labels;   /* i32 [n] */
  int64_t n;
} Dataset;

/* Fashion-MNIST's mean and standard deviation over the training images (in [0, 1]). */
#define DATA_FASHION_MEAN 0.2860
#define DATA_FASHION_STD 0.3530

/* Images [offset, offset + count) of a split ("train" or "test"; count < 0: the rest).
 * std > 0 normalises with mean/std; std == 0 keeps [0, 1]. 0 or -1 (reported). */
int data_fashion(Dataset *ds, const char *split, int64_t offset, int64_t count, double mean, double std, Diag *d);
void data_free(Dataset *ds);

typedef struct Batcher {
  const Dataset *ds;
  int64_t batch;        /* images per batch */
  uint32_t seed;
  int shuffle;          /* a new permutation every epoch */
  int crop_pad;         /* > 0: zero-pad by this much, then crop back at a random offset */
  int flip;             /* flip horizontally with probability 1/2 */
  int64_t *perm;        /* this epoch's order (malloc'd) */
  int64_t epoch;        /* the epoch perm belongs to; -1 before the first */
} Batcher;

void batcher_init(Batcher *b, const Dataset *ds, int64_t batch, uint32_t seed, int shuffle, int crop_pad, int flip);
void batcher_free(Batcher *b);
/* Full batches per epoch. */
int64_t batcher_steps_per_epoch(const Batcher *b);
/* Fill images (f32 [batch, c, h, w]) and labels (i32 [batch]) with batch number `step`
 * counted from the start of training (epoch = step / steps_per_epoch). */
void batcher_get(Batcher *b, int64_t step, Tensor *images, Tensor *labels);

#endif
