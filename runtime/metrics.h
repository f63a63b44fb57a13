/* metrics.h — evaluation metrics for classification and dense prediction.
 *
 * A Confusion accumulates (prediction, label) pairs for C classes over any number of
 * batches; from it come overall pixel accuracy, per-class IoU and mean IoU, with the
 * conventions of mmsegmentation:
 *   - pairs whose label is the ignore label are skipped (and do not count anywhere);
 *   - IoU(c) = TP / (TP + FP + FN), i.e. |pred = c and label = c| / |pred = c or label = c|;
 *   - a class absent from both predictions and labels has no IoU (NaN) and is excluded
 *     from the mean; a class predicted but never labelled (or the reverse) has IoU 0 and
 *     counts;
 *   - pixel accuracy = correct / counted pairs.
 * Besides: top-1 hits from logits [n, C], and the argmax over the class axis of logits
 * [n, C, ...] (e.g. [n, C, H, W]) into a label map [n, ...]. Ties go to the lower class. */
#ifndef MIMIC_METRICS_H
#define MIMIC_METRICS_H
#include <stdint.h>

#include "support/diag.h"
#include "tensor.h"

#define METRIC_NO_IGNORE (-1) /* an ignore label that never matches (labels are >= 0) */

typedef struct Confusion {
  int classes;      /* C */
  int32_t ignore;   /* label to skip, or METRIC_NO_IGNORE */
  int64_t *count;   /* [C, C], row = label, column = prediction (malloc'd) */
  int64_t invalid;  /* pairs skipped because the label or the prediction was outside [0, C) */
} Confusion;

void metric_conf_init(Confusion *m, int classes, int32_t ignore);
void metric_conf_free(Confusion *m);
void metric_conf_reset(Confusion *m);
/* Count n pairs (pred[i], label[i]). */
void metric_conf_add(Confusion *m, const int32_t *pred, const int32_t *label, int64_t n);
/* The same from i32 tensors of equal element count (shapes may differ, e.g. [n, H, W]
 * against [n*H*W]). 0 or -1 (reported). */
int metric_conf_add_tensors(Confusion *m, const Tensor *pred, const Tensor *label, Diag *d);

/* Counted pairs (the ignored and the invalid excluded). */
int64_t metric_conf_total(const Confusion *m);
/* Correct / counted; NaN when nothing was counted. */
double metric_pixel_accuracy(const Confusion *m);
/* IoU of class c; NaN when c occurs in neither predictions nor labels. */
double metric_iou(const Confusion *m, int c);
/* Mean of the IoUs that are not NaN; NaN when there are none. `present`, when not NULL,
 * receives how many classes were averaged. */
double metric_miou(const Confusion *m, int *present);

/* Rows of logits [n, C] (any float dtype) whose argmax equals labels [n] (i32) into
 * *hits. 0 or -1 (reported: shapes that do not fit). */
int metric_top1(const Tensor *logits, const Tensor *labels, int64_t *hits, Diag *d);
/* out (i32 [n, ...]) = argmax over axis 1 of logits [n, C, ...]. 0 or -1 (reported). */
int metric_argmax(const Tensor *logits, Tensor *out, Diag *d);

#endif
