/* metrics.c — confusion matrix, IoU, accuracy, argmax (see metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void metric_conf_init(Confusion *m, int classes, int32_t ignore) {
  memset(m, 0, sizeof *m);
  m->classes = classes > 0 ? classes : 0;
  m->ignore = ignore;
  m->count = calloc((size_t)(m->classes ? m->classes : 1) * (size_t)(m->classes ? m->classes : 1), sizeof *m->count);
  if (!m->count) abort();
}

void metric_conf_free(Confusion *m) {
  free(m->count);
  memset(m, 0, sizeof *m);
}

void metric_conf_reset(Confusion *m) {
  memset(m->count, 0, sizeof *m->count * (size_t)m->classes * (size_t)m->classes);
  m->invalid = 0;
}

void metric_conf_add(Confusion *m, const int32_t *pred, const int32_t *label, int64_t n) {
  int c = m->classes;
  for (int64_t i = 0; i < n; i++) {
    if (label[i] == m->ignore) continue;
    /* out of range is a bug upstream (a wrong class count, an unmapped ignore value):
     * counted apart so that a caller can notice, instead of silently shifting the IoUs */
    if (label[i] < 0 || label[i] >= c || pred[i] < 0 || pred[i] >= c) {
      m->invalid++;
      continue;
    }
    m->count[(int64_t)label[i] * c + pred[i]]++;
  }
}

int metric_conf_add_tensors(Confusion *m, const Tensor *pred, const Tensor *label, Diag *d) {
  int64_t np = shape_numel(&pred->shape), nl = shape_numel(&label->shape);
  if (pred->dtype != DT_I32 || label->dtype != DT_I32 || np != nl) {
    diag_error(d, SRCLOC_NONE, "confusion: predictions and labels must be i32 with as many elements (%lld vs %lld)",
               (long long)np, (long long)nl);
    return -1;
  }
  metric_conf_add(m, pred->data, label->data, np);
  return 0;
}

int64_t metric_conf_total(const Confusion *m) {
  int64_t t = 0;
  for (int64_t i = 0; i < (int64_t)m->classes * m->classes; i++) t += m->count[i];
  return t;
}

double metric_pixel_accuracy(const Confusion *m) {
  int64_t t = metric_conf_total(m), hit = 0;
  for (int c = 0; c < m->classes; c++) hit += m->count[(int64_t)c * m->classes + c];
  return t ? (double)hit / (double)t : NAN;
}

double metric_iou(const Confusion *m, int c) {
  if (c < 0 || c >= m->classes) return NAN;
  int64_t tp = m->count[(int64_t)c * m->classes + c], labelled = 0, predicted = 0;
  for (int k = 0; k < m->classes; k++) {
    labelled += m->count[(int64_t)c * m->classes + k];
    predicted += m->count[(int64_t)k * m->classes + c];
  }
  int64_t uni = labelled + predicted - tp;
  return uni ? (double)tp / (double)uni : NAN;
}

double metric_miou(const Confusion *m, int *present) {
  double sum = 0;
  int k = 0;
  for (int c = 0; c < m->classes; c++) {
    double v = metric_iou(m, c);
    if (!isnan(v)) {
      sum += v;
      k++;
    }
  }
  if (present) *present = k;
  return k ? sum / k : NAN;
}

/* Index of the largest of n values at base, base + stride, ...; the first on ties. */
static int64_t argmax_strided(const Tensor *t, int64_t base, int64_t stride, int64_t n) {
  int64_t best = 0;
  if (t->dtype == DT_F32) { /* the common case, without tensor_get's per-element switch */
    const float *x = (const float *)t->data + base;
    for (int64_t j = 1; j < n; j++)
      if (x[j * stride] > x[best * stride]) best = j;
    return best;
  }
  double bv = tensor_get(t, base);
  for (int64_t j = 1; j < n; j++) {
    double v = tensor_get(t, base + j * stride);
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}

int metric_top1(const Tensor *logits, const Tensor *labels, int64_t *hits, Diag *d) {
  *hits = 0;
  if (logits->shape.rank != 2 || labels->dtype != DT_I32 || shape_numel(&labels->shape) != logits->shape.d[0] ||
      logits->shape.d[1] < 1) {
    diag_error(d, SRCLOC_NONE, "top-1: logits must be [n, C] and labels i32 [n]");
    return -1;
  }
  int64_t n = logits->shape.d[0], c = logits->shape.d[1];
  const int32_t *y = labels->data;
  for (int64_t r = 0; r < n; r++) *hits += argmax_strided(logits, r * c, 1, c) == y[r];
  return 0;
}

int metric_argmax(const Tensor *logits, Tensor *out, Diag *d) {
  const Shape *s = &logits->shape;
  int ok = s->rank >= 2 && s->d[1] >= 1 && out->dtype == DT_I32 && out->shape.rank == s->rank - 1;
  for (int i = 0; ok && i < out->shape.rank; i++) ok = out->shape.d[i] == s->d[i ? i + 1 : 0];
  if (!ok) {
    diag_error(d, SRCLOC_NONE, "argmax: logits must be [n, C, ...] and the output i32 [n, ...]");
    return -1;
  }
  int64_t n = s->d[0], c = s->d[1], inner = 1;
  for (int i = 2; i < s->rank; i++) inner *= s->d[i];
  int32_t *o = out->data;
  for (int64_t b = 0; b < n; b++)
    for (int64_t p = 0; p < inner; p++) o[b * inner + p] = (int32_t)argmax_strided(logits, b * c * inner + p, inner, c);
  return 0;
}
