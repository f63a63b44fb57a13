/* test_resident.c — the training state kept in the compiled program (JitOptions.resident,
 * codegen.h CG_STATE): a ViT training step run resident gives the bits of the same step
 * run with the weights copied in and out, its updates written over the weights (no I/O
 * bytes for them); an update that another kernel reads the old weight after, or that a
 * group member beside it reads, is copied instead, and still right; updates inside one
 * horizontal group are each written over their own weight. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "trainstep.h"

static Diag D;

static Tensor *scalar(DType t, double v) {
  Tensor *x = tensor_new(t, shape_scalar());
  tensor_set(x, 0, v);
  return x;
}

/* Step t's inputs of the ViT training step (batch 2, 28x28). */
static void vit_inputs(TensorSet *in, const Graph *g, int t) {
  Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){2, 1, 28, 28}));
  for (int i = 0; i < 2 * 784; i++) tensor_set(x, i, (double)((i * 7 + t * 13) % 101) / 101.0 - 0.3);
  Tensor *y = tensor_new(DT_I32, shape_of(1, (int64_t[]){2}));
  tensor_set(y, 0, t % 10);
  tensor_set(y, 1, (3 * t + 1) % 10);
  tset_put(in, "pixels", x);
  tset_put(in, "labels", y);
  for (int i = 0; i < g->n; i++) { /* the optimizer's scalars, in their dtypes */
    const Node *n = &g->nodes[i];
    if (n->op != OP_INPUT || strncmp(n->name, "opt.", 4)) continue;
    double v = !strcmp(n->name, "opt.lr") ? 1e-3 : !strcmp(n->name, "opt.wd") ? 0.05 : t;
    tset_put(in, n->name, scalar(n->dtype, v));
  }
}

/* Three steps of a ViT (depth 2) by a program that copies the weights in and out and by
 * a resident one: the same losses and gradient norms, the same weights after. */
static void test_vit_step(void) {
  FeDefine defs[] = {{"depth", "2", {"<test>", 0, 0}}, {"dim", "24", {"<test>", 0, 0}}};
  FeOptions fo = {.defines = defs, .ndefines = 2, .batch = 2};
  Graph *m = fe_load_yaml("../graphs/vit.yaml", &fo, NULL, &D);
  TrainSpec s = {.loss = "loss", .opt = optim_defaults()};
  Graph *g = m ? train_step(m, &s, &D) : NULL;
  CHECK(g != NULL);
  if (!g) {
    ir_graph_free(m);
    return;
  }
  TensorSet w;
  tset_init(&w);
  CHECK_INT(init_weights(g, 5, &w, &D), 0);
  JitOptions oc = {.no_cache = 1}, orz = {.no_cache = 1, .resident = 1};
  JitProgram *pc = jit_compile(g, &oc, &D), *pr = jit_compile(g, &orz, &D);
  CHECK(pc && pr);
  if (pc && pr) {
    int nstate = 0;
    for (int k = 0; k < g->nout; k++) nstate += cg_state_of(g, k) >= 0;
    CHECK(nstate > 30); /* each trained weight, its m and its v */
    CHECK_INT(jit_stats(pr)->state_inplace, nstate);
    CHECK_INT(jit_stats(pr)->state_copied, 0);
    CHECK_INT(jit_stats(pc)->state_inplace, 0);
    CHECK(jit_stats(pr)->region_bytes[CG_IO] < jit_stats(pc)->region_bytes[CG_IO]);
    CHECK_INT(jit_load_weights(pr, &w, &D), 0);
    for (int t = 1; t <= 3; t++) {
      TensorSet in, oa, ob;
      tset_init(&in);
      tset_init(&oa);
      tset_init(&ob);
      vit_inputs(&in, g, t);
      CHECK_INT(jit_run(pc, &in, &w, &oa, &D), 0);
      CHECK_INT(jit_run(pr, &in, NULL, &ob, &D), 0);
      CHECK(tensor_same(tset_get(&oa, "loss"), tset_get(&ob, "loss")));
      CHECK(tensor_same(tset_get(&oa, "grad_norm"), tset_get(&ob, "grad_norm")));
      CHECK(tset_get(&ob, g->outs[g->nout - 1].name) == NULL || cg_state_of(g, g->nout - 1) < 0); /* not returned */
      for (int i = 0; i < oa.n; i++) /* feed the copying program its own updates */
        if (!strncmp(oa.names[i], "new.", 4)) tset_put(&w, oa.names[i] + 4, tensor_copy(oa.t[i]));
      tset_free(&in);
      tset_free(&oa);
      tset_free(&ob);
    }
    TensorSet r;
    tset_init(&r);
    jit_read_weights(pr, &r);
    CHECK_INT(r.n, w.n);
    int differ = 0;
    for (int i = 0; i < w.n; i++) differ += !tensor_same(w.t[i], tset_get(&r, w.names[i]));
    CHECK_INT(differ, 0);
    tset_free(&r);
  }
  jit_free(pc);
  jit_free(pr);
  tset_free(&w);
  ir_graph_free(g);
  ir_graph_free(m);
}

/* Runs g resident twice from weights u and v ([256] each) with input x, each time against
 * the interpreter fed back its own updates: the outputs that are returned and the
 * weights after must match. inplace and copied receive the program's counts. */
static void resident_vs_interp(const char *text, int *inplace, int *copied) {
  Graph *g = ir_parse(text, "resident", &D);
  CHECK(g != NULL);
  if (!g) return;
  TensorSet w, in;
  tset_init(&w);
  tset_init(&in);
  Tensor *u = tensor_new(DT_F32, shape_of(1, (int64_t[]){256})), *v = tensor_new(DT_F32, shape_of(1, (int64_t[]){256}));
  Tensor *x = tensor_new(DT_F32, shape_of(1, (int64_t[]){256}));
  for (int i = 0; i < 256; i++) {
    tensor_set(u, i, i / 64.0);
    tensor_set(v, i, 1 - i / 128.0);
    tensor_set(x, i, (i % 5 + 1) * 0.125);
  }
  tset_put(&w, "u", u);
  tset_put(&w, "v", v);
  tset_put(&in, "x", x);
  JitOptions o = {.no_cache = 1, .resident = 1};
  JitProgram *p = jit_compile(g, &o, &D);
  CHECK(p != NULL);
  if (p) {
    *inplace = jit_stats(p)->state_inplace;
    *copied = jit_stats(p)->state_copied;
    CHECK_INT(jit_load_weights(p, &w, &D), 0);
    for (int run = 0; run < 2; run++) {
      TensorSet oi, oj;
      tset_init(&oi);
      tset_init(&oj);
      CHECK_INT(interp_run(g, &in, &w, &oi, &D), 0);
      CHECK_INT(jit_run(p, &in, NULL, &oj, &D), 0);
      for (int i = 0; i < oi.n; i++) {
        if (!strncmp(oi.names[i], "new.", 4)) {
          CHECK(tset_get(&oj, oi.names[i]) == NULL);
          tset_put(&w, oi.names[i] + 4, tensor_copy(oi.t[i]));
        } else {
          CHECK(tensor_same(oi.t[i], tset_get(&oj, oi.names[i])));
        }
      }
      tset_free(&oi);
      tset_free(&oj);
    }
    TensorSet r;
    tset_init(&r);
    jit_read_weights(p, &r);
    CHECK(tensor_same(tset_get(&r, "u"), tset_get(&w, "u")));
    CHECK(tensor_same(tset_get(&r, "v"), tset_get(&w, "v")));
    tset_free(&r);
  }
  jit_free(p);
  tset_free(&w);
  tset_free(&in);
  ir_graph_free(g);
}

#define WEIGHTS                                 \
  "  %0 = input \"x\" : f32[256]\n"             \
  "  %1 = weight \"u\" : f32[256]\n"            \
  "  %2 = weight \"v\" : f32[256]\n"

static void test_refused(void) {
  int inplace = -1, copied = -1;
  /* "late" reads u after the update (a reduction: a kernel of its own, after it) */
  resident_vs_interp("graph \"late\" {\n" WEIGHTS
                     "  %3 = mul(%1, %0) : f32[256]\n"
                     "  %4 = sub(%1, %3) : f32[256]\n"
                     "  %5 = reduce_sum(%4) {axes=[0], keepdims=0} : f32[]\n"
                     "  %6 = add(%5, %5) : f32[]\n"
                     "  %7 = reduce_max(%1) {axes=[0], keepdims=0} : f32[]\n"
                     "  %8 = add(%7, %6) : f32[]\n"
                     "  output \"new.u\" = %4\n"
                     "  output \"late\" = %8\n"
                     "}\n",
                     &inplace, &copied);
  CHECK_INT(inplace, 0);
  CHECK_INT(copied, 1);
  /* a reshaped read of u at another index: not in place */
  resident_vs_interp("graph \"rev\" {\n" WEIGHTS
                     "  %3 = reshape(%1) {shape=[16,16]} : f32[16,16]\n"
                     "  %4 = permute(%3) {perm=[1,0]} : f32[16,16]\n"
                     "  %5 = reshape(%4) {shape=[256]} : f32[256]\n"
                     "  %6 = add(%5, %0) : f32[256]\n"
                     "  output \"new.u\" = %6\n"
                     "}\n",
                     &inplace, &copied);
  CHECK_INT(inplace, 0);
  CHECK_INT(copied, 1);
}

/* Two updates (each reads its own weight, one reads the other's update): both in place;
 * and two that read each other's weights: new.u is copied. */
static void test_groups(void) {
  int inplace = -1, copied = -1;
  resident_vs_interp("graph \"pair\" {\n" WEIGHTS
                     "  %3 = mul(%1, %0) : f32[256]\n"
                     "  %4 = add(%3, %0) : f32[256]\n"
                     "  %5 = mul(%2, %4) : f32[256]\n"
                     "  %6 = sub(%5, %0) : f32[256]\n"
                     "  output \"new.u\" = %4\n"
                     "  output \"new.v\" = %6\n"
                     "}\n",
                     &inplace, &copied);
  CHECK_INT(inplace, 2);
  CHECK_INT(copied, 0);
  resident_vs_interp("graph \"cross\" {\n" WEIGHTS
                     "  %3 = mul(%1, %0) : f32[256]\n"
                     "  %4 = add(%3, %2) : f32[256]\n"
                     "  %5 = mul(%2, %4) : f32[256]\n"
                     "  %6 = sub(%5, %1) : f32[256]\n"
                     "  output \"new.u\" = %4\n"
                     "  output \"new.v\" = %6\n"
                     "}\n",
                     &inplace, &copied);
  CHECK(inplace <= 1 && inplace + copied == 2); /* new.u never: %6 reads u after it, or beside it */
}

int main(void) {
  diag_init(&D);
  RUN(test_vit_step);
  RUN(test_refused);
  RUN(test_groups);
  return CHECK_DONE();
}
