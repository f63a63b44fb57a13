/* initfrom.c — starting weights by name, with position embeddings resized (initfrom.h). */
#include "initfrom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

/* torch's bicubic convolution kernel (A = -0.75), upsample_bicubic2d's weights for the
 * four taps around a fractional position t in [0, 1). */
static void cubic_weights(double t, double w[4]) {
  const double A = -0.75;
  double x;
  x = t + 1;
  w[0] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  x = t;
  w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  x = 1 - t;
  w[2] = ((A + 2) * x - (A + 3)) * x * x + 1;
  x = 2 - t;
  w[3] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/* One axis: for each output position, the four (clamped) source indices and weights. */
static void axis_taps(int64_t in, int64_t out, int64_t *idx, double *wt) {
  double scale = (double)in / (double)out;
  for (int64_t o = 0; o < out; o++) {
    double src = ((double)o + 0.5) * scale - 0.5; /* align_corners=False, not clamped (cubic) */
    double f = floor(src);
    cubic_weights(src - f, wt + 4 * o);
    for (int k = 0; k < 4; k++) {
      int64_t i = (int64_t)f - 1 + k;
      idx[4 * o + k] = i < 0 ? 0 : i >= in ? in - 1 : i;
    }
  }
}

Tensor *init_resize_pos_embed(const Tensor *src, int64_t gi, int64_t go) {
  int64_t dim = src->shape.d[2];
  Tensor *out = tensor_new(DT_F32, shape_of(3, (int64_t[]){1, 1 + go * go, dim}));
  int64_t idx[4 * INIT_MAX_GRID];
  double wt[4 * INIT_MAX_GRID];
  if (go > INIT_MAX_GRID) return out; /* not a patch grid; init_from never asks */
  axis_taps(gi, go, idx, wt);
  for (int64_t c = 0; c < dim; c++) tensor_set(out, c, tensor_get(src, c)); /* CLS */
  for (int64_t y = 0; y < go; y++)
    for (int64_t x = 0; x < go; x++)
      for (int64_t c = 0; c < dim; c++) {
        double v = 0;
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 4; b++) {
            int64_t sy = idx[4 * y + a], sx = idx[4 * x + b];
            v += wt[4 * y + a] * wt[4 * x + b] * tensor_get(src, (1 + sy * gi + sx) * dim + c);
          }
        tensor_set(out, (1 + y * go + x) * dim + c, v);
      }
  return out;
}

static int is_pos_embed(const char *name) {
  size_t n = strlen(name);
  return !strcmp(name, "pos_embed") || (n > 10 && !strcmp(name + n - 10, ".pos_embed"));
}

/* The side of a square grid of `cells` patches, or -1. */
static int64_t grid_side(int64_t cells) {
  int64_t g = (int64_t)llround(sqrt((double)cells));
  return g * g == cells ? g : -1;
}

int init_from(const Graph *model, uint64_t seed, const TensorSet *tensors, const char *file, SrcLoc at,
              TensorSet *w, InitReport *rep, Diag *d) {
  memset(rep, 0, sizeof *rep);
  if (init_weights(model, seed, w, d)) return -1;
  size_t used = 0;
  for (int i = 0; i < model->n; i++) {
    const Node *n = &model->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    rep->total++;
    const Tensor *t = tset_get(tensors, n->name);
    if (!t) {
      if (used < sizeof rep->fresh - 1)
        used += (size_t)snprintf(rep->fresh + used, sizeof rep->fresh - used, "%s%s", used ? ", " : "", n->name);
      continue;
    }
    if (shape_eq(&t->shape, &n->shape)) {
      tset_put(w, n->name, tensor_convert(t, n->dtype));
      rep->loaded++;
      continue;
    }
    const Shape *a = &t->shape, *b = &n->shape;
    int64_t gi = a->rank == 3 ? grid_side(a->d[1] - 1) : -1, go = b->rank == 3 ? grid_side(b->d[1] - 1) : -1;
    if (is_pos_embed(n->name) && gi > 0 && go > 0 && go <= INIT_MAX_GRID && a->d[0] == 1 && b->d[0] == 1 &&
        a->d[2] == b->d[2]) {
      Tensor *r = init_resize_pos_embed(t, gi, go);
      tset_put(w, n->name, tensor_convert(r, n->dtype));
      tensor_free(r);
      rep->loaded++;
      rep->interpolated++;
      continue;
    }
    char b1[128], b2[128];
    diag_error(d, at, "init: '%s' is %s in %s, the model needs %s", n->name, shape_str(a, b1, sizeof b1), file,
               shape_str(b, b2, sizeof b2));
    return -1;
  }
  for (int i = 0; i < tensors->n; i++) {
    int have = 0;
    for (int j = 0; j < model->n && !have; j++)
      have = model->nodes[j].op == OP_WEIGHT && !strcmp(model->nodes[j].name, tensors->names[i]);
    rep->unused += !have;
  }
  return 0;
}
