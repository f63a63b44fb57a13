/* test_interp_errors.c — the interpreter's refusals: each bad graph or bad tensor is one
 * error with the exact message, and no outputs. */
#include "interp_harness.h"

/* ---- errors ---- */

static void test_errors(void) {
  Ctx c;
  ctx_init(&c);
  Diag *d = &c.d;
  SrcLoc at = {"t.yaml", 3, 5};
  int px = ir_input(c.g, "pixels", DT_F32, SH(2, 1, 28, 28), at, d);
  int s = ir_reduce(c.g, OP_REDUCE_SUM, px, AX(0, 1, 2, 3), 4, 0, LOC, d);
  EXPECT_ERROR(&c, s, "t.yaml:3:5: error: missing input 'pixels'");
  tset_put(&c.in, "pixels", tensor_new(DT_F32, SH(3, 1, 28, 28)));
  EXPECT_ERROR(&c, s, "t.yaml:3:5: error: input 'pixels': expected f32[2,1,28,28], got f32[3,1,28,28]");
  tset_put(&c.in, "pixels", tensor_new(DT_F64, SH(2, 1, 28, 28)));
  EXPECT_ERROR(&c, s, "t.yaml:3:5: error: input 'pixels': expected f32[2,1,28,28], got f64[2,1,28,28]");
  tset_put(&c.in, "pixels", tensor_new(DT_F32, SH(2, 1, 28, 28)));
  EXPECT(&c, s, DT_F32, shape_scalar(), EXACT, 0);

  int hw = ir_weight(c.g, "head.weight", DT_F32, SH(2), "zeros", NULL, 0, (SrcLoc){"t.yaml", 9, 7}, d);
  EXPECT_ERROR(&c, hw, "t.yaml:9:7: error: missing weight 'head.weight'");
  tset_put(&c.w, "head.weight", tensor_new(DT_F32, SH(2)));
  EXPECT(&c, hw, DT_F32, SH(2), EXACT, 0, 0);

  /* a high-level op must be decomposed first */
  int relu = ir_op(c.g, OP_RELU, &hw, 1, NULL, 0, (SrcLoc){"t.yaml", 12, 9}, d);
  EXPECT_ERROR(&c, relu, "t.yaml:12:9: error: relu: high-level op in node %3; run decompose first (the "
                         "interpreter executes primitive ops only)");
  ctx_free(&c);

  ctx_init(&c);
  d = &c.d;
  int x = IN(&c, "x", DT_F32, SH(3, 2), 1, 2, 3, 4, 5, 6);
  int idx = IN(&c, "idx", DT_I32, SH(2, 2), 0, 2, 3, 1);
  int gth = ir_gather(c.g, x, idx, 0, (SrcLoc){"t.yaml", 20, 3}, d);
  EXPECT_ERROR(&c, gth, "t.yaml:20:3: error: gather: index 3 at position [1,0] of the indices is out of range "
                        "[0, 3) along axis 0 of f32[3,2]");
  int neg = IN(&c, "neg", DT_I32, SH(1), -1);
  int gth2 = ir_gather(c.g, x, neg, 1, (SrcLoc){"t.yaml", 21, 3}, d);
  EXPECT_ERROR(&c, gth2, "t.yaml:21:3: error: gather: index -1 at position [0] of the indices is out of range "
                         "[0, 2) along axis 1 of f32[3,2]");
  int upd = IN(&c, "upd", DT_F32, SH(2), 1, 1);
  int si = IN(&c, "si", DT_I32, SH(2), 0, 4);
  int sc = ir_scatter_add(c.g, upd, si, 0, 4, (SrcLoc){"t.yaml", 22, 3}, d);
  EXPECT_ERROR(&c, sc, "t.yaml:22:3: error: scatter_add: index 4 at position [1] of the indices is out of range "
                       "[0, 4) for size 4");
  int num = IN(&c, "num", DT_I32, SH(2, 2), 1, 2, 3, 4);
  int den = IN(&c, "den", DT_I32, SH(2, 2), 1, 1, 0, 1);
  int dv = ir_binary(c.g, OP_DIV, num, den, (SrcLoc){"t.yaml", 23, 3}, d);
  EXPECT_ERROR(&c, dv, "t.yaml:23:3: error: div: integer division by zero at element [1,0] (3 / 0)");
  /* float division by zero is IEEE, not an error */
  int fz = ir_binary(c.g, OP_DIV, upd, ir_const(c.g, DT_F32, SH(2), 0, LOC, d), LOC, d);
  EXPECT(&c, fz, DT_F32, SH(2), EXACT, INFINITY, INFINITY);
  ctx_free(&c);

  /* a graph a pass damaged: a node recorded with the wrong shape */
  ctx_init(&c);
  d = &c.d;
  int p = IN(&c, "p", DT_F32, SH(2), 1, 2);
  int q = ir_unary(c.g, OP_NEG, p, (SrcLoc){"t.yaml", 30, 1}, d);
  c.g->nodes[q].shape = SH(3);
  EXPECT_ERROR(&c, q, "t.yaml:30:1: error: neg: node %1 is recorded as f32[3] but its inputs give f32[2]; the "
                      "graph is malformed");
  ctx_free(&c);
}

int main(void) {
  RUN(test_errors);
  return CHECK_DONE();
}
