/* evalmetrics.c — evaluation metrics chosen by the model's outputs (evalmetrics.h). */
#include "evalmetrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const Node *output(const Graph *g, const char *name) {
  for (int i = 0; i < g->nout; i++)
    if (!strcmp(g->outs[i].name, name)) return &g->nodes[g->outs[i].id];
  return NULL;
}

void evm_init(EvalMetrics *m, const Graph *model, int label_rank, int vocab, double mean, double std) {
  memset(m, 0, sizeof *m);
  m->mean = mean;
  m->std = std;
  const Node *lg = output(model, "logits");
  m->cls = lg && lg->shape.rank == 2 && label_rank == 1;
  m->seg = lg && lg->shape.rank == 4 && label_rank == 3;
  m->mim = output(model, "correct") && output(model, "masked");
  m->dvae = output(model, "recon") && output(model, "tokens") && vocab > 0;
  if (m->dvae) {
    m->vocab = vocab;
    m->used = calloc((size_t)vocab, 1);
    if (!m->used) abort();
  }
  if (m->seg) metric_conf_init(&m->conf, (int)lg->shape.d[1], METRIC_NO_IGNORE);
}

void evm_free(EvalMetrics *m) {
  free(m->used);
  if (m->seg) metric_conf_free(&m->conf);
  tensor_free(m->snap_images);
  tensor_free(m->snap_recon);
  tensor_free(m->snap_mask);
  memset(m, 0, sizeof *m);
}

int evm_columns(const EvalMetrics *m, const char **names) {
  int n = 0;
  if (m->mim) names[n++] = "mim_acc";
  if (m->dvae) names[n++] = "rec_mae", names[n++] = "codebook";
  if (m->seg) names[n++] = "pix_acc", names[n++] = "miou";
  return n;
}

int evm_outputs(const EvalMetrics *m, const char **names) {
  int n = 0;
  if (m->cls || m->seg) names[n++] = "logits";
  if (m->mim) names[n++] = "correct", names[n++] = "masked";
  if (m->dvae) names[n++] = "recon", names[n++] = "tokens";
  return n;
}

void evm_reset(EvalMetrics *m) {
  m->hits = m->seen = m->npix = 0;
  m->correct = m->masked = m->abs_err = 0;
  if (m->used) memset(m->used, 0, (size_t)m->vocab);
  if (m->seg) metric_conf_reset(&m->conf);
  tensor_free(m->snap_images);
  tensor_free(m->snap_recon);
  tensor_free(m->snap_mask);
  m->snap_images = m->snap_recon = m->snap_mask = NULL;
}

int evm_add(EvalMetrics *m, const TensorSet *out, const Tensor *images, const Tensor *labels, const Tensor *mask,
            Diag *d) {
  const Tensor *lg = tset_get(out, "logits");
  if (m->cls && lg) {
    int64_t hits = 0;
    if (metric_top1(lg, labels, &hits, d)) return -1;
    m->hits += hits;
    m->seen += labels->shape.d[0];
  }
  if (m->seg && lg) {
    Shape ps = labels->shape;
    Tensor *pred = tensor_new(DT_I32, ps);
    int bad = metric_argmax(lg, pred, d) || metric_conf_add_tensors(&m->conf, pred, labels, d);
    tensor_free(pred);
    if (bad) return -1;
  }
  if (m->mim) {
    m->correct += tensor_get(tset_get(out, "correct"), 0);
    m->masked += tensor_get(tset_get(out, "masked"), 0);
  }
  const Tensor *rc = tset_get(out, "recon"), *tk = tset_get(out, "tokens");
  if (m->dvae && rc && tk) {
    int64_t n = shape_numel(&rc->shape);
    if (n == shape_numel(&images->shape))
      for (int64_t i = 0; i < n; i++) {
        double x = tensor_get(images, i);
        if (m->std > 0) x = x * m->std + m->mean;
        m->abs_err += fabs(tensor_get(rc, i) - x);
      }
    m->npix += n;
    for (int64_t i = 0, k = shape_numel(&tk->shape); i < k; i++) {
      int64_t t = (int64_t)tensor_get(tk, i);
      if (t >= 0 && t < m->vocab) m->used[t] = 1;
    }
  }
  if (!m->snap_images) {
    m->snap_images = tensor_copy(images);
    if (rc) m->snap_recon = tensor_copy(rc);
    if (mask) m->snap_mask = tensor_copy(mask);
  }
  return 0;
}

double evm_acc(const EvalMetrics *m) {
  return m->cls && m->seen ? (double)m->hits / (double)m->seen : NAN;
}

void evm_values(const EvalMetrics *m, double *vals) {
  int n = 0;
  if (m->mim) vals[n++] = m->masked > 0 ? m->correct / m->masked : NAN;
  if (m->dvae) {
    int used = 0;
    for (int i = 0; i < m->vocab; i++) used += m->used[i];
    vals[n++] = m->npix ? m->abs_err / (double)m->npix : NAN;
    vals[n++] = (double)used / (double)m->vocab;
  }
  if (m->seg) {
    vals[n++] = metric_pixel_accuracy(&m->conf);
    vals[n++] = metric_miou(&m->conf, NULL);
  }
}
