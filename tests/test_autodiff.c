/* test_autodiff.c — reverse-mode gradients against central finite differences, in f64
 * through the reference interpreter: every differentiable primitive and every high-level
 * op (decomposed first, as the pipeline does). Each case builds y = f(x...), the loss
 * sum(y * r) with a fixed random r (so every element of y matters, with its own weight),
 * differentiates with ad_backward, and compares each gradient element (all of them for
 * small inputs, 40 spread-out ones for larger) with (L(x + h) - L(x - h)) / 2h, h = 1e-6:
 * |analytic - numeric| <= 1e-6 * (|numeric| + 1e-3 * max |numeric|) plus 1e-8. Also: the
 * tie rules (max/min, reduce_max), gradients that must not flow (frozen weights, integer
 * paths), and errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "check.h"
#include "interp/interp.h"
#include "pass.h"

#define LOC ((SrcLoc){"t.yaml", __LINE__, 5})
#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define AX(...) (const int64_t[]){__VA_ARGS__}

static Graph *G;
static TensorSet IN, W;
static Diag D;
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static int nchecked;

static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static void begin(void) {
  G = ir_graph_new("t");
  diag_init(&D);
  tset_init(&IN);
  tset_init(&W);
}

static void end(void) {
  ir_graph_free(G);
  tset_free(&IN);
  tset_free(&W);
}

/* An input named x<id> with values in [lo, hi); float ones are differentiated. */
static int inp(DType t, Shape s, double lo, double hi) {
  char name[16];
  snprintf(name, sizeof name, "x%d", G->n);
  int id = ir_input(G, name, t, s, LOC, &D);
  Tensor *x = tensor_new(t, s);
  for (int64_t i = 0; i < shape_numel(&s); i++) {
    double v = lo + (hi - lo) * urand();
    tensor_set(x, i, dtype_is_float(t) ? v : floor(v));
  }
  tset_put(&IN, G->nodes[id].name, x);
  return id;
}

static int f64(Shape s) {
  return inp(DT_F64, s, -1, 1);
}

static double loss_of(Graph *g) {
  TensorSet out;
  tset_init(&out);
  double v = NAN;
  if (interp_run(g, &IN, &W, &out, &D) == 0) v = tensor_get(tset_get(&out, "loss"), 0);
  tset_free(&out);
  return v;
}

/* Differentiate sum(y * r) w.r.t. every f64 input and compare with finite differences. */
static void gradcheck(int y, const char *what) {
  CHECK_INT(D.nerr, 0);
  if (y < 0 || D.nerr) {
    fprintf(stderr, "  case '%s' did not build\n", what);
    end();
    return;
  }
  int r = inp(G->nodes[y].dtype, G->nodes[y].shape, -1, 1);
  int64_t all[IR_MAX_RANK];
  for (int k = 0; k < G->nodes[y].shape.rank; k++) all[k] = k;
  int l = ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_MUL, y, r, LOC, &D), all, G->nodes[y].shape.rank, 0, LOC, &D);
  ir_add_output(G, "loss", l);
  Graph *g = pass_decompose(G, &D);
  CHECK(g != NULL);
  if (!g) {
    end();
    return;
  }
  int wrt[16], grads[16], nw = 0, lid = g->outs[0].id;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && g->nodes[i].dtype == DT_F64 && strcmp(g->nodes[i].name, G->nodes[r].name))
      wrt[nw++] = i;
  CHECK_INT(ad_backward(g, lid, -1, wrt, nw, grads, &D), 0);
  CHECK_INT(ir_verify(g, &D), 0);
  for (int k = 0; k < nw; k++) {
    char name[32];
    snprintf(name, sizeof name, "g.%s", g->nodes[wrt[k]].name);
    ir_add_output(g, name, grads[k]);
  }
  TensorSet out;
  tset_init(&out);
  CHECK_INT(interp_run(g, &IN, &W, &out, &D), 0);
  int nout = g->nout;
  g->nout = 1; /* the loss alone for the finite differences */
  for (int k = 0; k < nw && D.nerr == 0; k++) {
    char name[32];
    snprintf(name, sizeof name, "g.%s", g->nodes[wrt[k]].name);
    const Tensor *an = tset_get(&out, name);
    Tensor *x = tset_get(&IN, g->nodes[wrt[k]].name);
    int64_t n = shape_numel(&x->shape), step = n <= 40 ? 1 : n / 40;
    double *num = malloc(sizeof *num * (size_t)(n ? n : 1)), big = 0;
    for (int64_t j = 0; j < n; j += step) {
      double v = tensor_get(x, j), h = 1e-6;
      tensor_set(x, j, v + h);
      double lp = loss_of(g);
      tensor_set(x, j, v - h);
      double lm = loss_of(g);
      tensor_set(x, j, v);
      num[j] = (lp - lm) / (2 * h);
      if (fabs(num[j]) > big) big = fabs(num[j]);
    }
    for (int64_t j = 0; j < n; j += step) {
      double a = tensor_get(an, j);
      nchecked++;
      if (!(fabs(a - num[j]) <= 1e-6 * (fabs(num[j]) + 1e-3 * big) + 1e-8)) {
        fprintf(stderr, "  %s: d loss / d %s[%lld]: autodiff %.12g, finite differences %.12g\n", what,
                g->nodes[wrt[k]].name, (long long)j, a, num[j]);
        check_failures++;
        break;
      }
    }
    free(num);
  }
  g->nout = nout;
  tset_free(&out);
  ir_graph_free(g);
  end();
}

/* ---- primitives ---- */

static void test_elementwise(void) {
  struct { OpKind op; double lo, hi; } u[] = {{OP_NEG, -1, 1}, {OP_ABS, -1, 1},   {OP_EXP, -2, 2},  {OP_LOG, 0.2, 3},
                                              {OP_SQRT, 0.2, 3}, {OP_RSQRT, 0.2, 3}, {OP_TANH, -2, 2}, {OP_ERF, -2, 2},
                                              {OP_RECIP, 0.3, 2}};
  for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
    begin();
    gradcheck(ir_unary(G, u[k].op, inp(DT_F64, SH(3, 5), u[k].lo, u[k].hi), LOC, &D), op_info(u[k].op)->name);
  }
  OpKind bs[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN};
  for (size_t k = 0; k < sizeof bs / sizeof bs[0]; k++) {
    begin();
    int a = f64(SH(4, 3)), b = bs[k] == OP_DIV ? inp(DT_F64, SH(4, 3), 0.5, 2) : f64(SH(4, 3));
    gradcheck(ir_binary(G, bs[k], a, b, LOC, &D), op_info(bs[k])->name);
  }
  begin();
  gradcheck(ir_binary(G, OP_POW, inp(DT_F64, SH(7), 0.3, 2), inp(DT_F64, SH(7), -2, 2), LOC, &D), "pow");
  begin();
  int x = f64(SH(2, 5));
  gradcheck(ir_binary(G, OP_MUL, x, x, LOC, &D), "x * x (two uses add up)");
  begin();
  int c = inp(DT_BOOL, SH(6), 0, 2);
  gradcheck(ir_where(G, c, f64(SH(6)), f64(SH(6)), LOC, &D), "where");
  /* through an f32 cast and back, the gradient passes rounded to f32: sum(cast(x) * r)
   * has gradient (double)(float)r */
  begin();
  x = f64(SH(5));
  int r = f64(SH(5));
  int y = ir_cast(G, ir_cast(G, x, DT_F32, LOC, &D), DT_F64, LOC, &D);
  int l = ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_MUL, y, r, LOC, &D), AX(0), 1, 0, LOC, &D);
  int gr;
  CHECK_INT(ad_backward(G, l, -1, &x, 1, &gr, &D), 0);
  ir_add_output(G, "g", gr);
  TensorSet out;
  tset_init(&out);
  CHECK_INT(interp_run(G, &IN, &W, &out, &D), 0);
  for (int i = 0; i < 5; i++)
    CHECK(tensor_get(tset_get(&out, "g"), i) == (double)(float)tensor_get(tset_get(&IN, G->nodes[r].name), i));
  tset_free(&out);
  end();
}

static void test_reduce(void) {
  struct { Shape s; int64_t axes[3]; int n; int keep; } c[] = {
      {SH(3, 4), {1}, 1, 0}, {SH(3, 4), {0}, 1, 1}, {SH(2, 3, 4), {0, 2}, 2, 0}, {SH(5), {0}, 1, 0}, {SH(2, 3), {0, 1}, 2, 1}};
  for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
    for (int op = 0; op < 2; op++) {
      begin();
      gradcheck(ir_reduce(G, op ? OP_REDUCE_MAX : OP_REDUCE_SUM, f64(c[k].s), c[k].axes, c[k].n, c[k].keep, LOC, &D),
                op ? "reduce_max" : "reduce_sum");
    }
}

static void test_move(void) {
  begin();
  gradcheck(ir_reshape(G, f64(SH(2, 6)), SH(3, 4), LOC, &D), "reshape");
  begin();
  gradcheck(ir_permute(G, f64(SH(2, 3, 4)), AX(2, 0, 1), 3, LOC, &D), "permute");
  begin();
  gradcheck(ir_broadcast(G, f64(SH(3, 1)), SH(2, 3, 4), LOC, &D), "broadcast");
  begin();
  gradcheck(ir_slice(G, f64(SH(5, 7)), AX(1, 2), AX(4, 7), AX(1, 2), LOC, &D), "slice (steps 1 and 2)");
  begin();
  gradcheck(ir_slice(G, f64(SH(9, 4)), AX(0, 1), AX(9, 3), AX(3, 1), LOC, &D), "slice (step 3)");
  begin();
  gradcheck(ir_pad(G, f64(SH(3, 4)), AX(1, 0), AX(2, 3), 0.5, LOC, &D), "pad");
  begin();
  int parts[3] = {f64(SH(2, 3)), f64(SH(2, 1)), f64(SH(2, 2))};
  gradcheck(ir_concat(G, parts, 3, 1, LOC, &D), "concat");
}

static void test_index(void) {
  for (int axis = 0; axis < 2; axis++) {
    begin();
    int x = f64(SH(4, 5));
    int idx = inp(DT_I32, SH(2, 3), 0, axis ? 5 : 4); /* repeats likely: contributions add */
    gradcheck(ir_gather(G, x, idx, axis, LOC, &D), "gather");
    begin();
    idx = inp(DT_I32, SH(6), 0, 3);
    gradcheck(ir_scatter_add(G, f64(axis ? SH(4, 6) : SH(6, 4)), idx, axis, 3, LOC, &D), "scatter_add");
  }
}

static void test_matmul(void) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      begin();
      int a = f64(ta ? SH(2, 4, 3) : SH(2, 3, 4)), b = f64(tb ? SH(2, 5, 4) : SH(2, 4, 5));
      gradcheck(ir_matmul(G, a, b, ta, tb, LOC, &D), "matmul");
    }
}

static void test_conv(void) {
  struct { int64_t n, c, h, w, o, kh, kw, sy, sx, py, px; } cs[] = {
      {2, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1}, {1, 2, 7, 6, 2, 3, 2, 2, 2, 0, 1}, {1, 1, 6, 6, 2, 4, 4, 2, 2, 1, 1},
      {2, 3, 4, 4, 2, 1, 1, 1, 1, 0, 0}, {1, 1, 3, 4, 1, 2, 2, 1, 1, 2, 2}, {1, 2, 8, 7, 2, 3, 3, 3, 2, 1, 0}};
  for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
    begin();
    int x = f64(SH(cs[k].n, cs[k].c, cs[k].h, cs[k].w)), w = f64(SH(cs[k].o, cs[k].c, cs[k].kh, cs[k].kw));
    gradcheck(ir_conv(G, x, w, AX(cs[k].sy, cs[k].sx), AX(cs[k].py, cs[k].px), LOC, &D), "conv");
  }
}

/* ---- high-level ops, through decompose ---- */

static void test_high(void) {
  begin();
  int x = f64(SH(3, 4)), w = f64(SH(5, 4)), b = f64(SH(5));
  gradcheck(ir_op(G, OP_LINEAR, (int[]){x, w, b}, 3, NULL, 0, LOC, &D), "linear");
  begin();
  x = f64(SH(3, 6));
  gradcheck(ir_op(G, OP_LAYER_NORM, (int[]){x, f64(SH(6)), f64(SH(6))}, 3, NULL, 0, LOC, &D), "layer_norm");
  OpKind acts[] = {OP_SOFTMAX, OP_LOG_SOFTMAX, OP_GELU, OP_SIGMOID};
  for (int k = 0; k < 4; k++) {
    begin();
    gradcheck(ir_op(G, acts[k], (int[]){inp(DT_F64, SH(3, 5), -2, 2)}, 1, NULL, 0, LOC, &D), op_info(acts[k])->name);
  }
  begin(); /* relu away from its kink */
  x = inp(DT_F64, SH(8), 0.1, 1);
  int neg = ir_unary(G, OP_NEG, inp(DT_F64, SH(8), 0.1, 1), LOC, &D);
  gradcheck(ir_binary(G, OP_ADD, ir_op(G, OP_RELU, &x, 1, NULL, 0, LOC, &D), ir_op(G, OP_RELU, &neg, 1, NULL, 0, LOC, &D),
                      LOC, &D),
            "relu");
  begin();
  Attr ax[2] = {ATTR_IS("axes", AX(0, 2), 2), ATTR_I("keepdims", 1)};
  gradcheck(ir_op(G, OP_MEAN, (int[]){f64(SH(2, 3, 4))}, 1, ax, 2, LOC, &D), "mean");
  begin();
  int q = f64(SH(2, 4, 6)), k = f64(SH(2, 4, 6)), v = f64(SH(2, 4, 6)), bias = f64(SH(1, 2, 4, 4));
  Attr heads = ATTR_I("heads", 2);
  gradcheck(ir_op(G, OP_ATTENTION, (int[]){q, k, v, bias}, 4, &heads, 1, LOC, &D), "attention");
  begin();
  int logits = inp(DT_F64, SH(5, 4), -2, 2), labels = inp(DT_I32, SH(5), 0, 4), mask = inp(DT_BOOL, SH(5), 0, 2);
  tensor_set(tset_get(&IN, G->nodes[mask].name), 0, 1); /* at least one row counts */
  Attr sm = ATTR_F("smoothing", 0.1);
  gradcheck(ir_op(G, OP_CROSS_ENTROPY, (int[]){logits, labels, mask}, 3, &sm, 1, LOC, &D), "cross_entropy (mask, smoothing)");
  begin();
  logits = inp(DT_F64, SH(3, 4), -2, 2);
  labels = inp(DT_I32, SH(3), 0, 4);
  gradcheck(ir_op(G, OP_CROSS_ENTROPY, (int[]){logits, labels}, 2, NULL, 0, LOC, &D), "cross_entropy");
  begin();
  Attr cv[2] = {ATTR_IS("stride", AX(2, 2), 2), ATTR_IS("pad", AX(1, 1), 2)};
  gradcheck(ir_op(G, OP_CONV2D, (int[]){f64(SH(2, 2, 6, 6)), f64(SH(3, 2, 4, 4)), f64(SH(3))}, 3, cv, 2, LOC, &D),
            "conv2d");
  begin();
  Attr mp = ATTR_IS("kernel", AX(2, 2), 2);
  gradcheck(ir_op(G, OP_MAX_POOL, (int[]){f64(SH(1, 2, 4, 6))}, 1, &mp, 1, LOC, &D), "max_pool");
  begin();
  Attr up = ATTR_I("scale", 2);
  gradcheck(ir_op(G, OP_UPSAMPLE, (int[]){f64(SH(1, 2, 3, 2))}, 1, &up, 1, LOC, &D), "upsample");
  begin();
  Attr pt = ATTR_I("patch", 2);
  gradcheck(ir_op(G, OP_PATCHIFY, (int[]){f64(SH(2, 3, 4, 4))}, 1, &pt, 1, LOC, &D), "patchify");
  begin();
  int lg = inp(DT_F64, SH(3, 5), -2, 2), tau = inp(DT_F64, shape_scalar(), 0.5, 1.5), seed = inp(DT_I32, shape_scalar(), 0, 100);
  gradcheck(ir_op(G, OP_GUMBEL_SOFTMAX, (int[]){lg, tau, seed}, 3, NULL, 0, LOC, &D), "gumbel_softmax (logits, tau)");
}

/* ---- exact rules and what must not flow ---- */

static void test_ties_and_flow(void) {
  /* max of equal values: half each; reduce_max: split among the tied maxima */
  begin();
  int a = f64(SH(3)), b = f64(SH(3)), x = f64(SH(4));
  double xv[4] = {2, 5, 5, 1};
  for (int i = 0; i < 4; i++) tensor_set(tset_get(&IN, G->nodes[x].name), i, xv[i]);
  for (int i = 0; i < 3; i++) tensor_set(tset_get(&IN, G->nodes[b].name), i, tensor_get(tset_get(&IN, G->nodes[a].name), i));
  int m = ir_binary(G, OP_MAX, a, b, LOC, &D);
  int r = ir_reduce(G, OP_REDUCE_MAX, x, AX(0), 1, 0, LOC, &D);
  int l = ir_binary(G, OP_ADD, ir_reduce(G, OP_REDUCE_SUM, m, AX(0), 1, 0, LOC, &D), r, LOC, &D);
  int wrt[3] = {a, b, x}, gr[3];
  CHECK_INT(ad_backward(G, l, -1, wrt, 3, gr, &D), 0);
  for (int k = 0; k < 3; k++) ir_add_output(G, k == 0 ? "ga" : k == 1 ? "gb" : "gx", gr[k]);
  TensorSet out;
  tset_init(&out);
  CHECK_INT(interp_run(G, &IN, &W, &out, &D), 0);
  for (int i = 0; i < 3; i++) {
    CHECK(tensor_get(tset_get(&out, "ga"), i) == 0.5);
    CHECK(tensor_get(tset_get(&out, "gb"), i) == 0.5);
  }
  double want[4] = {0, 0.5, 0.5, 0};
  for (int i = 0; i < 4; i++) CHECK(tensor_get(tset_get(&out, "gx"), i) == want[i]);
  tset_free(&out);
  end();

  /* a frozen weight: no gradient nodes are made for it; an unrelated wrt gets zeros */
  begin();
  int w = ir_weight(G, "w", DT_F64, SH(3), "zeros", NULL, 0, LOC, &D);
  int frozen = ir_weight(G, "frozen", DT_F64, SH(3), "zeros", NULL, 0, LOC, &D);
  int unused = ir_weight(G, "unused", DT_F64, SH(2), "zeros", NULL, 0, LOC, &D);
  int p = ir_binary(G, OP_MUL, w, ir_unary(G, OP_EXP, frozen, LOC, &D), LOC, &D);
  l = ir_reduce(G, OP_REDUCE_SUM, p, AX(0), 1, 0, LOC, &D);
  int before = G->n;
  int ws[2] = {w, unused};
  CHECK_INT(ad_backward(G, l, -1, ws, 2, gr, &D), 0);
  for (int i = before; i < G->n; i++) CHECK(G->nodes[i].op != OP_EXP); /* exp(frozen) is not differentiated */
  CHECK_INT(G->nodes[gr[1]].op, OP_CONST);
  end();

  /* an integer path carries nothing: floor and casts to i32 stop the gradient */
  begin();
  x = f64(SH(4));
  int t = ir_cast(G, ir_cast(G, x, DT_I32, LOC, &D), DT_F64, LOC, &D);
  l = ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_ADD, t, ir_unary(G, OP_FLOOR, x, LOC, &D), LOC, &D), AX(0), 1, 0, LOC, &D);
  CHECK_INT(ad_backward(G, l, -1, &x, 1, gr, &D), 0);
  CHECK_INT(G->nodes[gr[0]].op, OP_CONST);
  end();
}

static void test_errors(void) {
  begin();
  diag_init(&D);
  D.quiet = 1;
  int x = f64(SH(3)), gr[1];
  CHECK_INT(ad_backward(G, x, -1, &x, 1, gr, &D), -1); /* not a scalar */
  CHECK(strstr(D.last, "the loss must be a scalar to differentiate, got f64[3]") != NULL);
  int i = inp(DT_I32, shape_scalar(), 0, 3);
  CHECK_INT(ad_backward(G, i, -1, &x, 1, gr, &D), -1);
  CHECK(strstr(D.last, "the loss must be f32 or f64") != NULL);
  end();
  begin();
  D.quiet = 1;
  x = f64(SH(3));
  ir_add_output(G, "y", x);
  CHECK(ad_grad_graph(G, "nope", &D) == NULL);
  CHECK(strstr(D.last, "the model has no output named 'nope'") != NULL);
  end();
}

int main(void) {
  RUN(test_elementwise);
  RUN(test_reduce);
  RUN(test_move);
  RUN(test_index);
  RUN(test_matmul);
  RUN(test_conv);
  RUN(test_high);
  RUN(test_ties_and_flow);
  RUN(test_errors);
  fprintf(stderr, "%d gradient elements checked\n", nchecked);
  return CHECK_DONE();
}
