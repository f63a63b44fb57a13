/* test_mim_jit.c — the JIT against the interpreter on the BEiT model files: mim.yaml
 * and vit_seg.yaml, their outputs and their gradients, with whole kernel ranges and with
 * ranges cut in pieces. */
#include "autodiff.h"
#include "jit/jit.h"
#include "mim_harness.h"

/* ---- JIT against the interpreter ---- */

/* |jit - interp| <= tol (|interp| + mean |interp|) elementwise (the mean so that a sum
 * that cancels to ~0 is judged against the size of what was summed). */
static int agree(const Tensor *a, const Tensor *b, double tol, const char *what, const char *name) {
  if (!a || !b || a->dtype != b->dtype || !shape_eq(&a->shape, &b->shape)) {
    fprintf(stderr, "  %s: output %s missing or of another type\n", what, name);
    return 0;
  }
  int64_t n = shape_numel(&b->shape);
  double scale = 0;
  for (int64_t i = 0; i < n; i++) scale += fabs(tensor_get(b, i)) / (double)n;
  for (int64_t i = 0; i < n; i++) {
    double x = tensor_get(a, i), y = tensor_get(b, i);
    if (!(fabs(x - y) <= tol * (fabs(y) + scale))) {
      fprintf(stderr, "  %s: %s[%lld]: jit %.9g, interpreter %.9g\n", what, name, (long long)i, x, y);
      return 0;
    }
  }
  return 1;
}

/* Run g (lowered) by both engines on the same inputs and weights, the JIT once whole and
 * once with every kernel's range cut into 3 pieces run last first; compare every output. */
static void jit_vs_interp(const Graph *g, const TensorSet *in, const TensorSet *w, double tol, const char *what) {
  TensorSet ref;
  CHECK_INT(run(g, in, w, &ref), 0);
  for (int chunks = 1; chunks <= 3; chunks += 2) {
    JitOptions o = {.no_cache = 1, .chunks = chunks};
    JitProgram *p = jit_compile(g, &o, &D);
    CHECK(p != NULL);
    TensorSet got;
    tset_init(&got);
    if (p) CHECK_INT(jit_run(p, in, w, &got, &D), 0);
    int ok = 0;
    for (int k = 0; k < g->nout; k++)
      ok += agree(tset_get(&got, g->outs[k].name), tset_get(&ref, g->outs[k].name), tol, what, g->outs[k].name);
    if (ok != g->nout) fprintf(stderr, "  (%s, JIT with %d chunk%s)\n", what, chunks, chunks > 1 ? "s" : "");
    CHECK_INT(ok, g->nout);
    jit_free(p);
    tset_free(&got);
  }
  tset_free(&ref);
}

/* The forward graph (every output) and the gradient graph of `loss`, by both engines. */
static void both_engines(const Graph *g, const TensorSet *in, const TensorSet *w, const char *what) {
  Graph *fwd = lower(g, NULL), *pl = lower(g, "loss"), *gg = pl ? ad_grad_graph(pl, "loss", &D) : NULL;
  CHECK(fwd && gg);
  char name[64];
  if (fwd) {
    snprintf(name, sizeof name, "%s forward", what);
    jit_vs_interp(fwd, in, w, 1e-5, name);
  }
  if (gg) {
    snprintf(name, sizeof name, "%s gradients", what);
    jit_vs_interp(gg, in, w, 1e-4, name);
  }
  ir_graph_free(fwd);
  ir_graph_free(pl);
  ir_graph_free(gg);
}

static void test_jit(void) {
  const int64_t B = 3;
  const char *dm[] = {"depth=2", "dim=24", "heads=2", "vocab=32", NULL};
  Graph *g = load("mim.yaml", dm, B);
  CHECK(g != NULL);
  if (g) {
    TensorSet in, w;
    random_weights(g, &w);
    mim_inputs(&in, DT_F32, B, 1, 28, 49, 32, 0.4);
    both_engines(g, &in, &w, "mim.yaml");
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  const char *ds[] = {"depth=2", "dim=24", "heads=2", NULL};
  g = load("vit_seg.yaml", ds, B);
  CHECK(g != NULL);
  if (g) {
    TensorSet in, w;
    random_weights(g, &w);
    tset_init(&in);
    Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){B, 1, 28, 28})), *y = tensor_new(DT_I32, shape_of(3, (int64_t[]){B, 28, 28}));
    for (int64_t i = 0; i < B * 784; i++) tensor_set(x, i, urand()), tensor_set(y, i, floor(11 * urand()));
    tset_put(&in, "pixels", x);
    tset_put(&in, "labels", y);
    both_engines(g, &in, &w, "vit_seg.yaml");
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
}

int main(void) {
  diag_init(&D);
  RUN(test_jit);
  return CHECK_DONE();
}
