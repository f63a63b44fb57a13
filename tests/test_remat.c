/* test_remat.c — recomputing forward values in the backward pass (passes/remat.c) and
 * the bound on what a group may keep waiting (fuse_group.c's Hold): a ViT training step
 * built with and without recomputation gives the same bits, and at the default size
 * (batch 64) takes at least a quarter less arena; a value
 * whose tree reads only what the backward pass reads anyway is copied for it, one whose
 * leaf nothing else keeps is not, nor one whose tree holds a contraction; reductions far
 * apart with big buffers between them are not grouped, the same graph small is. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"
#include "trainstep.h"

static Diag D;

static Tensor *scalar(DType t, double v) {
  Tensor *x = tensor_new(t, shape_scalar());
  tensor_set(x, 0, v);
  return x;
}

static Graph *vit_step(const char *depth, int64_t batch, int no_remat) {
  FeDefine defs[] = {{"depth", depth, {"<test>", 0, 0}}};
  FeOptions fo = {.defines = defs, .ndefines = 1, .batch = batch};
  Graph *m = fe_load_yaml("../graphs/vit.yaml", &fo, NULL, &D);
  TrainSpec s = {.loss = "loss", .opt = optim_defaults(), .no_remat = no_remat};
  Graph *g = m ? train_step(m, &s, &D) : NULL;
  ir_graph_free(m);
  CHECK(g != NULL);
  return g;
}

/* The default ViT's training step at batch 64 (laid out, not run): the arena at least
 * a quarter smaller when recomputing. */
static void test_vit_arena(void) {
  Graph *a = vit_step("12", 64, 0), *b = vit_step("12", 64, 1);
  if (a && b) {
    CgLayout la, lb;
    CHECK_INT(cg_layout(a, &la, &D), 0);
    CHECK_INT(cg_layout(b, &lb, &D), 0);
    fprintf(stderr, "     arena %.2f MB recomputing, %.2f MB keeping\n", la.size[CG_ACT] / 1e6, lb.size[CG_ACT] / 1e6);
    CHECK(la.size[CG_ACT] * 4 < lb.size[CG_ACT] * 3);
    cg_layout_free(&la);
    cg_layout_free(&lb);
  }
  ir_graph_free(a);
  ir_graph_free(b);
}

/* A ViT's training step (depth 3, batch 8) with and without recomputation: every
 * output the same bits (JIT). */
static void test_vit(void) {
  Graph *a = vit_step("3", 8, 0), *b = vit_step("3", 8, 1);
  if (!a || !b) goto out;
  CHECK(a->n > b->n); /* the copies */
  TensorSet w, in, oa, ob;
  tset_init(&w);
  tset_init(&in);
  tset_init(&oa);
  tset_init(&ob);
  CHECK_INT(init_weights(b, 9, &w, &D), 0);
  Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){8, 1, 28, 28}));
  for (int i = 0; i < 8 * 784; i++) tensor_set(x, i, (double)((i * 37) % 113) / 113.0 - 0.4);
  Tensor *y = tensor_new(DT_I32, shape_of(1, (int64_t[]){8}));
  for (int i = 0; i < 8; i++) tensor_set(y, i, (i * 3) % 10);
  tset_put(&in, "pixels", x);
  tset_put(&in, "labels", y);
  tset_put(&in, "opt.lr", scalar(DT_F32, 1e-3));
  tset_put(&in, "opt.wd", scalar(DT_F32, 0.05));
  tset_put(&in, "opt.step", scalar(DT_F32, 1));
  JitOptions o = {.no_cache = 1};
  JitProgram *pa = jit_compile(a, &o, &D), *pb = jit_compile(b, &o, &D);
  CHECK(pa && pb);
  if (pa && pb) {
    CHECK_INT(jit_run(pa, &in, &w, &oa, &D), 0);
    CHECK_INT(jit_run(pb, &in, &w, &ob, &D), 0);
    CHECK_INT(oa.n, ob.n);
    int differ = 0;
    for (int i = 0; i < ob.n; i++) differ += !tensor_same(ob.t[i], tset_get(&oa, ob.names[i]));
    CHECK_INT(differ, 0);
  }
  jit_free(pa);
  jit_free(pb);
  tset_free(&w);
  tset_free(&in);
  tset_free(&oa);
  tset_free(&ob);
out:
  ir_graph_free(a);
  ir_graph_free(b);
}

/* pass_remat on g (text; its first fwd nodes the forward pass): how many nodes it adds,
 * and the outputs by the interpreter before and after, the same bits. */
static int added(const char *text, int fwd) {
  Graph *g = ir_parse(text, "remat", &D);
  CHECK(g != NULL);
  if (!g) return -1;
  Graph *r = pass_remat(g, fwd, &D);
  CHECK(r != NULL);
  int n = r ? r->n - g->n : -1;
  TensorSet in, o1, o2;
  tset_init(&in);
  tset_init(&o1);
  tset_init(&o2);
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->op != OP_INPUT) continue;
    Tensor *t = tensor_new(nd->dtype, nd->shape);
    for (int64_t k = 0; k < shape_numel(&nd->shape); k++) tensor_set(t, k, (double)((k * 7 + i) % 11) / 11.0 - 0.5);
    tset_put(&in, nd->name, t);
  }
  if (r) {
    CHECK_INT(interp_run(g, &in, NULL, &o1, &D), 0);
    CHECK_INT(interp_run(r, &in, NULL, &o2, &D), 0);
    for (int i = 0; i < o1.n; i++) CHECK(tensor_same(o1.t[i], tset_get(&o2, o1.names[i])));
  }
  tset_free(&in);
  tset_free(&o1);
  tset_free(&o2);
  ir_graph_free(g);
  ir_graph_free(r);
  return n;
}

static void test_rules(void) {
  /* exp(tanh(x)) is stored for the forward matmul; the backward matmul (node 6) gets its
   * own copy, computed from the input x again: two nodes more */
  CHECK_INT(added("graph \"copy\" {\n"
                  "  %0 = input \"x\" : f32[64,32]\n"
                  "  %1 = input \"b\" : f32[32,48]\n"
                  "  %2 = input \"g\" : f32[64,48]\n"
                  "  %3 = tanh(%0) : f32[64,32]\n"
                  "  %4 = exp(%3) : f32[64,32]\n"
                  "  %5 = matmul(%4, %1) {ta=0, tb=0} : f32[64,48]\n"
                  "  %6 = matmul(%4, %2) {ta=1, tb=0} : f32[32,48]\n"
                  "  output \"y\" = %5\n"
                  "  output \"dw\" = %6\n"
                  "}\n",
                  6),
            2);
  /* the same, but what exp reads (x + x, stored for another forward matmul) is read by
   * nothing else of the backward pass: copying would keep it instead: nothing added */
  CHECK_INT(added("graph \"leaf\" {\n"
                  "  %0 = input \"x\" : f32[64,32]\n"
                  "  %1 = input \"b\" : f32[32,48]\n"
                  "  %2 = input \"g\" : f32[64,48]\n"
                  "  %3 = add(%0, %0) : f32[64,32]\n"
                  "  %4 = exp(%3) : f32[64,32]\n"
                  "  %5 = matmul(%4, %1) {ta=0, tb=0} : f32[64,48]\n"
                  "  %6 = matmul(%3, %1) {ta=0, tb=0} : f32[64,48]\n"
                  "  %7 = add(%5, %6) : f32[64,48]\n"
                  "  %8 = matmul(%4, %2) {ta=1, tb=0} : f32[32,48]\n"
                  "  output \"y\" = %7\n"
                  "  output \"dw\" = %8\n"
                  "}\n",
                  8),
            0);
  /* a matmul's output plus a bias, read by the backward pass: its tree holds the
   * contraction (run by its kernel): not recomputed */
  CHECK_INT(added("graph \"mm\" {\n"
                  "  %0 = input \"x\" : f32[64,32]\n"
                  "  %1 = input \"b\" : f32[32,48]\n"
                  "  %2 = input \"g\" : f32[64,48]\n"
                  "  %3 = matmul(%0, %1) {ta=0, tb=0} : f32[64,48]\n"
                  "  %4 = tanh(%3) : f32[64,48]\n"
                  "  %5 = matmul(%4, %2) {ta=1, tb=0} : f32[48,48]\n"
                  "  %6 = mul(%4, %2) : f32[64,48]\n"
                  "  output \"y\" = %5\n"
                  "  output \"z\" = %6\n"
                  "}\n",
                  6),
            0);
}

/* An im2col-like concat of n slices of t = erf(x / 2) (stored: several readers, costly),
 * read by a forward and a backward matmul: the concat is rebuilt for the backward pass
 * when t, which recomputing keeps alive, is at most a quarter of it. */
static int concat_added(int n) {
  char text[4096], *p = text;
  p += sprintf(p, "graph \"cols\" {\n  %%0 = input \"x\" : f32[64,32]\n  %%1 = input \"b\" : f32[%d,48]\n"
                  "  %%2 = input \"g\" : f32[64,48]\n  %%3 = const {value=0.5} : f32[64,32]\n"
                  "  %%4 = mul(%%0, %%3) : f32[64,32]\n  %%5 = erf(%%4) : f32[64,32]\n", 32 * n);
  for (int j = 0; j < n; j++) p += sprintf(p, "  %%%d = slice(%%5) {start=[0,0], end=[64,32], step=[1,1]} : f32[64,32]\n", 6 + j);
  p += sprintf(p, "  %%%d = concat(", 6 + n);
  for (int j = 0; j < n; j++) p += sprintf(p, "%s%%%d", j ? ", " : "", 6 + j);
  p += sprintf(p, ") {axis=1} : f32[64,%d]\n", 32 * n);
  p += sprintf(p, "  %%%d = matmul(%%%d, %%1) {ta=0, tb=0} : f32[64,48]\n", 7 + n, 6 + n);
  p += sprintf(p, "  %%%d = matmul(%%%d, %%2) {ta=1, tb=0} : f32[%d,48]\n", 8 + n, 6 + n, 32 * n);
  p += sprintf(p, "  output \"y\" = %%%d\n  output \"dw\" = %%%d\n}\n", 7 + n, 8 + n);
  return added(text, 8 + n);
}

static void test_concat(void) {
  CHECK_INT(concat_added(5), 6); /* the concat and its slices again */
  CHECK_INT(concat_added(3), 0); /* t would be a third of what it frees */
}

/* n matmul stages s_i (each [rows, 1024]) and each one's column sums r_i (a one-step
 * reduction, rule 8), r_i after s_(i+1): is r_0 grouped with r_(n-1)? */
static int far_grouped(int64_t rows, int n) {
  char *text = malloc(8192), *p = text;
  if (!text) abort();
  p += sprintf(p, "graph \"hold\" {\n  %%0 = input \"x\" : f32[%lld,1024]\n  %%1 = weight \"w\" : f32[1024,1024]\n",
               (long long)rows);
  int id = 2, s[16], r[16];
  for (int i = 0; i < n; i++) {
    p += sprintf(p, "  %%%d = matmul(%%%d, %%1) {ta=0, tb=0} : f32[%lld,1024]\n", id, i ? s[i - 1] : 0, (long long)rows);
    s[i] = id++;
    if (i) {
      p += sprintf(p, "  %%%d = reduce_sum(%%%d) {axes=[0], keepdims=0} : f32[1024]\n", id, s[i - 1]);
      r[i - 1] = id++;
    }
  }
  p += sprintf(p, "  %%%d = reduce_sum(%%%d) {axes=[0], keepdims=0} : f32[1024]\n", id, s[n - 1]);
  r[n - 1] = id++;
  for (int i = 0; i < n; i++) p += sprintf(p, "  output \"r%d\" = %%%d\n", i, r[i]);
  p += sprintf(p, "  output \"y\" = %%%d\n}\n", s[n - 1]);
  Graph *g = ir_parse(text, "hold", &D);
  free(text);
  CHECK(g != NULL);
  if (!g) return -1;
  CgLayout l;
  CHECK_INT(cg_layout(g, &l, &D), 0);
  int far = l.group[r[0]] >= 0 && l.group[r[0]] == l.group[r[n - 1]];
  cg_layout_free(&l);
  ir_graph_free(g);
  return far;
}

static void test_hold(void) {
  CHECK_INT(far_grouped(64, 8), 1);    /* 256 KB per stage: all wait for the last */
  CHECK_INT(far_grouped(16384, 8), 0); /* 64 MB per stage: they do not */
}

int main(void) {
  diag_init(&D);
  RUN(test_vit);
  RUN(test_vit_arena);
  RUN(test_rules);
  RUN(test_concat);
  RUN(test_hold);
  return CHECK_DONE();
}
