/* mim_harness.h — what the tests of the BEiT model files share (test_mim.c,
 * test_mim_jit.c): loading graphs/<file> with parameter overrides, promoting a model to
 * f64, lowering it for some outputs, random weights, mim.yaml's inputs (pixels, a mask of
 * a given density, tokens), and running a graph by the interpreter. */
#ifndef MIMIC_TEST_MIM_HARNESS_H
#define MIMIC_TEST_MIM_HARNESS_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "f64_harness.h"
#include "frontend/frontend.h"
#include "interp/interp.h"
#include "pass.h"

static Diag D;
static uint64_t rng = 0x853C49E6748FEA9Bull;

static inline double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

/* Load graphs/<file> with "name=value" overrides (NULL-terminated) at batch `batch`. */
static inline Graph *load(const char *file, const char *const *defs, int64_t batch) {
  FeDefine fd[16];
  char names[16][32];
  int n = 0;
  for (; defs && defs[n]; n++) {
    const char *eq = strchr(defs[n], '=');
    snprintf(names[n], sizeof names[n], "%.*s", (int)(eq - defs[n]), defs[n]);
    fd[n] = (FeDefine){names[n], eq + 1, {"<test>", 0, 0}};
  }
  char path[128];
  snprintf(path, sizeof path, "../graphs/%s", file);
  FeOptions o = {fd, n, batch};
  Graph *g = fe_load_yaml(path, &o, NULL, &D);
  if (!g) fprintf(stderr, "cannot load %s: %s\n", path, D.last);
  return g;
}

/* g promoted to f64 (f64_harness.h) */
static inline Graph *to_f64(const Graph *g) {
  return graph_to_f64(g, &D);
}

/* The default pipeline, pruned to `out` first when not NULL. */
static inline Graph *lower(const Graph *g, const char *out) {
  Graph *p = out ? pass_prune(g, &out, 1, &D) : pass_copy(g, &D);
  Graph *l = p ? pass_run(p, NULL, 0, &D) : NULL;
  ir_graph_free(p);
  return l;
}

/* Every weight of g, uniform in [-a, a) with a = 0.5 for vectors and 0.3 otherwise
 * (large enough that every block, LayerScale included, shows in the outputs). */
static inline void random_weights(const Graph *g, TensorSet *w) {
  tset_init(w);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    Tensor *t = tensor_new(n->dtype, n->shape);
    double a = n->shape.rank > 1 ? 0.3 : 0.5;
    for (int64_t k = 0; k < shape_numel(&n->shape); k++) tensor_set(t, k, a * (2 * urand() - 1));
    tset_put(w, n->name, t);
  }
}

/* mim.yaml's inputs: pixels in [0, 1), a mask of about 40% (`density`) with at least one
 * masked and one unmasked patch when density is in (0, 1), tokens in [0, vocab). */
static inline void mim_inputs(TensorSet *in, DType ft, int64_t B, int64_t C, int64_t S, int64_t T, int64_t V, double density) {
  tset_init(in);
  Tensor *x = tensor_new(ft, shape_of(4, (int64_t[]){B, C, S, S}));
  Tensor *m = tensor_new(DT_BOOL, shape_of(2, (int64_t[]){B, T}));
  Tensor *tok = tensor_new(DT_I32, shape_of(2, (int64_t[]){B, T}));
  for (int64_t i = 0; i < B * C * S * S; i++) tensor_set(x, i, urand());
  for (int64_t i = 0; i < B * T; i++) {
    tensor_set(m, i, urand() < density);
    tensor_set(tok, i, floor(urand() * (double)V));
  }
  if (density > 0 && density < 1 && B * T > 1) {
    tensor_set(m, 0, 1);
    tensor_set(m, 1, 0);
  }
  tset_put(in, "pixels", x);
  tset_put(in, "mask", m);
  tset_put(in, "tokens", tok);
}

static inline int run(const Graph *g, const TensorSet *in, const TensorSet *w, TensorSet *out) {
  tset_init(out);
  int rc = interp_run(g, in, w, out, &D);
  if (rc) fprintf(stderr, "interp_run: %s\n", D.last);
  return rc;
}

static inline double scalar(const TensorSet *out, const char *name) {
  const Tensor *t = tset_get(out, name);
  return t ? tensor_get(t, 0) : NAN;
}

static inline int find_weight(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT && !strcmp(g->nodes[i].name, name)) return i;
  return -1;
}

#endif
