/* evalmetrics.h — what an evaluation reports besides the mean loss, chosen by the model's
 * outputs and the data's labels:
 *   classification  logits [batch, C], labels [batch]        val_acc (top-1)
 *   MIM             outputs `correct` and `masked`          mim_acc = sum correct / sum masked
 *   tokenizer       outputs `recon` and `tokens`            rec_mae (mean |recon - pixels|, pixels
 *                                                           in [0, 1]) and codebook (distinct
 *                                                           tokens used / vocab)
 *   segmentation    logits [batch, C, H, W], labels [batch, H, W]   pix_acc and miou (metrics.h)
 * Each is summed over the whole validation set, then divided (not a mean of batch means).
 * The first batch is kept (images, reconstructions, masks) for a picture of it. */
#ifndef MIMIC_EVALMETRICS_H
#define MIMIC_EVALMETRICS_H
#include <stdint.h>

#include "ir/ir.h"
#include "metrics.h"
#include "tensor.h"

#define EVM_MAX_COLS 5
#define EVM_MAX_OUTPUTS 4

typedef struct EvalMetrics {
  int cls, mim, dvae, seg;  /* which metrics apply */
  int vocab;                /* the tokenizer's codebook size (dvae) */
  double mean, std;         /* std > 0: images arrive as (x - mean) / std */
  int64_t hits, seen;       /* top-1 */
  double correct, masked;   /* MIM */
  double abs_err;           /* tokenizer: sum |recon - pixels| over npix values */
  int64_t npix;
  uint8_t *used;            /* tokenizer: [vocab] codes seen (malloc'd) */
  Confusion conf;           /* segmentation */
  Tensor *snap_images, *snap_recon, *snap_mask; /* the first batch (owned) */
} EvalMetrics;

/* Decide from the model's outputs and the labels' rank (1: a class per image, 3: a map). */
void evm_init(EvalMetrics *m, const Graph *model, int label_rank, int vocab, double mean, double std);
void evm_free(EvalMetrics *m);
/* Extra log columns ("mim_acc", ...) into names; returns their number. */
int evm_columns(const EvalMetrics *m, const char **names);
/* Model outputs the evaluation must compute ("logits", "correct", ...); returns their number. */
int evm_outputs(const EvalMetrics *m, const char **names);
void evm_reset(EvalMetrics *m);
/* One batch: the eval graph's outputs, the images and labels fed, the mask (or NULL). */
int evm_add(EvalMetrics *m, const TensorSet *out, const Tensor *images, const Tensor *labels, const Tensor *mask,
            Diag *d);
/* Top-1 accuracy (NaN when not classification) and the extra columns' values. */
double evm_acc(const EvalMetrics *m);
void evm_values(const EvalMetrics *m, double *vals);

#endif
