/* test_sched.c — the thread pool: every index of a range is run exactly once whatever
 * the thread count and extent, one pool serves many jobs in a row, and the ViT's
 * inference and whole training step give the same bits on 1, 2 and 3 threads. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frontend/frontend.h"
#include "init.h"
#include "jit/jit.h"
#include "pass.h"
#include "sched_pool.h"
#include "trainstep.h"

static Diag D;

/* base[0]: an array of atomic counters, one per index */
static void count(char *const *base, int64_t lo, int64_t hi) {
  atomic_int *c = (atomic_int *)(void *)base[0];
  for (int64_t i = lo; i < hi; i++) atomic_fetch_add(&c[i], 1);
}

static void test_pieces(void) {
  CHECK(sched_cores() >= 1);
  for (int n = 1; n <= 4; n++) {
    SchedPool *s = sched_pool_new(n);
    CHECK(s != NULL);
    if (!s) continue;
    CHECK_INT(sched_pool_threads(s), n);
    static const int64_t extents[] = {0, 1, 2, 3, 7, 64, 1001};
    for (size_t e = 0; e < sizeof extents / sizeof extents[0]; e++) {
      int64_t ext = extents[e];
      atomic_int *c = calloc((size_t)ext + 1, sizeof *c);
      char *base[1] = {(char *)c};
      sched_pool_run(s, count, base, ext);
      int ok = 1;
      for (int64_t i = 0; i < ext; i++) ok &= atomic_load(&c[i]) == 1;
      CHECK(ok);
      free(c);
    }
    /* many small jobs in a row: the pool is reused, nothing is lost or run twice */
    atomic_int *c = calloc(16, sizeof *c);
    char *base[1] = {(char *)c};
    for (int j = 0; j < 5000; j++) sched_pool_run(s, count, base, 16);
    int ok = 1;
    for (int i = 0; i < 16; i++) ok &= atomic_load(&c[i]) == 5000;
    CHECK(ok);
    free(c);
    sched_pool_free(s);
  }
  atomic_int one = 0;
  char *base[1] = {(char *)&one};
  sched_pool_run(NULL, count, base, 1); /* no pool: the caller alone */
  CHECK_INT(atomic_load(&one), 1);
}

static Graph *vit(void) {
  FeDefine defs[1] = {{"depth", "2", {"<test>", 0, 0}}};
  FeOptions o = {.defines = defs, .ndefines = 1, .batch = 5};
  return fe_load_yaml("../graphs/vit.yaml", &o, NULL, &D);
}

/* g run on 1, 2 and 3 threads: every output the same bits. */
static void same_bits(const Graph *g, const TensorSet *in, const TensorSet *w, const char *what) {
  TensorSet ref;
  tset_init(&ref);
  for (int n = 1; n <= 3; n++) {
    SchedPool *s = sched_pool_new(n);
    JitOptions o = {.no_cache = 1, .sched = s};
    JitProgram *p = jit_compile(g, &o, &D);
    TensorSet out;
    tset_init(&out);
    CHECK(p && s && !jit_run(p, in, w, &out, &D));
    for (int k = 0; k < out.n && n > 1; k++) {
      const Tensor *a = out.t[k], *b = tset_get(&ref, out.names[k]);
      int same = b && tensor_nbytes(a) == tensor_nbytes(b) && !memcmp(a->data, b->data, tensor_nbytes(a));
      if (!same) fprintf(stderr, "  %s: output %s differs on %d threads\n", what, out.names[k], n);
      CHECK(same);
    }
    if (n == 1) ref = out;
    else tset_free(&out);
    jit_free(p);
    sched_pool_free(s);
  }
  fprintf(stderr, "  %s: %d outputs, the same bits on 1, 2 and 3 threads\n", what, ref.n);
  tset_free(&ref);
}

static Tensor *scalar(double v) {
  Tensor *t = tensor_new(DT_F32, shape_scalar());
  tensor_set(t, 0, v);
  return t;
}

static void test_vit(void) {
  Graph *m = vit();
  CHECK(m != NULL);
  if (!m) return;
  const char *out = "logits";
  Graph *p = pass_prune(m, &out, 1, &D), *inf = p ? pass_run(p, NULL, 0, &D) : NULL;
  TrainSpec spec = {.loss = "loss", .opt = optim_defaults()};
  spec.opt.clip = 1.0;
  Graph *t = train_step(m, &spec, &D);
  CHECK(inf && t);
  TensorSet w, in;
  tset_init(&w);
  tset_init(&in);
  if (inf && t) {
    CHECK_INT(init_weights(t, 7, &w, &D), 0);
    Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){5, 1, 28, 28}));
    Tensor *y = tensor_new(DT_I32, shape_of(1, (int64_t[]){5}));
    for (int i = 0; i < 5 * 784; i++) tensor_set(x, i, (double)((i * 37) % 101) / 101.0 - 0.3);
    for (int i = 0; i < 5; i++) tensor_set(y, i, (double)(i * 3 % 10));
    tset_put(&in, "pixels", x);
    tset_put(&in, "labels", y);
    tset_put(&in, "opt.lr", scalar(1e-3));
    tset_put(&in, "opt.wd", scalar(0.05));
    tset_put(&in, "opt.step", scalar(1));
    same_bits(inf, &in, &w, "ViT depth 2 inference");
    same_bits(t, &in, &w, "ViT depth 2 training step");
  }
  tset_free(&w);
  tset_free(&in);
  ir_graph_free(m);
  ir_graph_free(p);
  ir_graph_free(inf);
  ir_graph_free(t);
}

int main(void) {
  diag_init(&D);
  RUN(test_pieces);
  RUN(test_vit);
  return CHECK_DONE();
}
