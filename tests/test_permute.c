/* test_permute.c — permutes carried through elementwise ops, pads and slices and
 * cancelled (passes/permute.c): a round trip around a ReLU, a pad with a constant and a
 * slice leaves no permute; permutes that do not meet stay, and so does every output's
 * layout; a reduction reads its input as it was; the dVAE's loss takes fewer kernels, and
 * the pass never changes a result's bits (interpreter before and after). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "init.h"
#include "interp/interp.h"
#include "pass.h"
#include "trainstep.h"

static Diag D;

static int permutes(const Graph *g) {
  int n = 0;
  for (int i = 0; i < g->n; i++) n += g->nodes[i].op == OP_PERMUTE;
  return n;
}

/* g before and after the pass, by the interpreter on the same inputs: same outputs. The
 * number of permutes after it. */
static int after(const Graph *g) {
  Graph *r = pass_permute(g, &D);
  CHECK(r != NULL);
  if (!r) return -1;
  CHECK_INT(ir_verify(r, &D), 0);
  TensorSet in, w, o1, o2;
  tset_init(&in);
  tset_init(&w);
  tset_init(&o1);
  tset_init(&o2);
  CHECK_INT(init_weights(g, 1, &w, &D), 0);
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->op != OP_INPUT) continue;
    Tensor *t = tensor_new(nd->dtype, nd->shape);
    for (int64_t k = 0; k < shape_numel(&nd->shape); k++) tensor_set(t, k, (double)((k * 5 + i) % 13) / 13.0 - 0.45);
    tset_put(&in, nd->name, t);
  }
  CHECK_INT(interp_run(g, &in, &w, &o1, &D), 0);
  CHECK_INT(interp_run(r, &in, &w, &o2, &D), 0);
  CHECK_INT(o1.n, o2.n);
  for (int i = 0; i < o1.n; i++) CHECK(tensor_same(o1.t[i], tset_get(&o2, o1.names[i])));
  int n = permutes(r);
  tset_free(&in);
  tset_free(&w);
  tset_free(&o1);
  tset_free(&o2);
  ir_graph_free(r);
  return n;
}

static int after_text(const char *text) {
  Graph *g = ir_parse(text, "permute", &D);
  CHECK(g != NULL);
  if (!g) return -1;
  int n = after(g);
  ir_graph_free(g);
  return n;
}

#define NHWC "  %0 = input \"y\" : f32[2,5,6,3]\n  %1 = permute(%0) {perm=[0,3,1,2]} : f32[2,3,5,6]\n"

static void test_cancel(void) {
  /* relu, a scale by a broadcast scalar, a residual add of two values in the same
   * layout, a pad and a strided slice between the two permutes: none left */
  CHECK_INT(after_text("graph \"round\" {\n" NHWC
                       "  %2 = const {value=0.0} : f32[2,3,5,6]\n"
                       "  %3 = max(%1, %2) : f32[2,3,5,6]\n"
                       "  %4 = input \"s\" : f32[]\n"
                       "  %5 = broadcast(%4) {shape=[2,3,5,6]} : f32[2,3,5,6]\n"
                       "  %6 = mul(%3, %5) : f32[2,3,5,6]\n"
                       "  %7 = add(%6, %1) : f32[2,3,5,6]\n"
                       "  %8 = pad(%7) {lo=[0,0,1,2], hi=[0,0,1,0], value=0.0} : f32[2,3,7,8]\n"
                       "  %9 = slice(%8) {start=[0,0,1,0], end=[2,3,7,8], step=[1,1,2,3]} : f32[2,3,3,3]\n"
                       "  %10 = permute(%9) {perm=[0,2,3,1]} : f32[2,3,3,3]\n"
                       "  output \"z\" = %10\n"
                       "}\n"),
            0);
  /* an output in the carried layout is put back as it was: one permute */
  CHECK_INT(after_text("graph \"out\" {\n" NHWC
                       "  %2 = tanh(%1) : f32[2,3,5,6]\n"
                       "  output \"t\" = %2\n"
                       "}\n"),
            1);
  /* two values carried with different perms meet in an add: both put back */
  CHECK_INT(after_text("graph \"differ\" {\n" NHWC
                       "  %2 = input \"u\" : f32[2,6,3,5]\n"
                       "  %3 = permute(%2) {perm=[0,2,3,1]} : f32[2,3,5,6]\n"
                       "  %4 = add(%1, %3) : f32[2,3,5,6]\n"
                       "  %5 = permute(%4) {perm=[0,2,3,1]} : f32[2,5,6,3]\n"
                       "  output \"w\" = %5\n"
                       "}\n"),
            3);
  /* a reduction reads its input as it was, then the second permute composes with
   * nothing: two */
  CHECK_INT(after_text("graph \"reduce\" {\n" NHWC
                       "  %2 = exp(%1) : f32[2,3,5,6]\n"
                       "  %3 = reduce_sum(%2) {axes=[3], keepdims=1} : f32[2,3,5,1]\n"
                       "  %4 = permute(%3) {perm=[0,2,3,1]} : f32[2,5,1,3]\n"
                       "  output \"r\" = %4\n"
                       "}\n"),
            2);
}

static int kernels(const Graph *g) {
  CgLayout l;
  CgKernel *ks = NULL;
  int n = -1;
  CHECK_INT(cg_layout(g, &l, &D), 0);
  CHECK_INT(cg_kernels(g, &l, "", &ks, &n, &D), 0);
  free(ks);
  cg_layout_free(&l);
  return n;
}

/* The dVAE's loss (n_hid 4, batch 2): fewer kernels once fused with the pass than
 * without, and the same bits (interpreter). */
static void test_dvae(void) {
  FeDefine defs[] = {{"n_hid", "4", {"<test>", 0, 0}}, {"vocab", "8", {"<test>", 0, 0}}};
  FeOptions fo = {.defines = defs, .ndefines = 2, .batch = 2};
  Graph *m = fe_load_yaml("../graphs/dvae.yaml", &fo, NULL, &D);
  CHECK(m != NULL);
  if (!m) return;
  const char *want = "loss";
  Graph *p = pass_prune(m, &want, 1, &D), *a = p ? pass_run_list(p, "decompose,dce", 0, &D) : NULL;
  Graph *b = p ? pass_run_list(p, "decompose,permute,dce", 0, &D) : NULL;
  CHECK(a && b);
  if (a && b) {
    int ka = kernels(a), kb = kernels(b);
    fprintf(stderr, "     dVAE loss: %d kernels without the pass, %d with it\n", ka, kb);
    CHECK(kb < ka);
    CHECK(after(a) >= 0);
  }
  ir_graph_free(a);
  ir_graph_free(b);
  ir_graph_free(p);
  ir_graph_free(m);
}

int main(void) {
  diag_init(&D);
  RUN(test_cancel);
  RUN(test_dvae);
  return CHECK_DONE();
}
