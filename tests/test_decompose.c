/* test_decompose.c — the decompose pass, checked op by op: no high-level op survives, the
 * result verifies, every new node keeps the high-level node's location, and the
 * interpreter's numbers match a direct C loop of the formula written here. (The pipeline,
 * dce and pruning are in test_passes.c.) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "interp/interp.h"
#include "pass.h"
#include "philox.h"
#include "tensor.h"

/* Sources are made at line 1, everything else at line 7: a lowered node must say 7. */
static const SrcLoc SRC = {"t.yaml", 1, 1};
static const SrcLoc LOC = {"t.yaml", 7, 3};

#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* ---- helpers ---------------------------------------------------------------------------- */

/* n deterministic values in [lo, hi), rounded to f32 so that a reference loop in double
 * sees exactly what the f32 tensor holds. */
static void values(double *v, int64_t n, uint32_t seed, double lo, double hi) {
  uint32_t s = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = (float)(lo + (hi - lo) * (double)(s >> 8) / 16777216.0);
  }
}

static void put(TensorSet *ts, const char *name, DType t, Shape s, const double *v) {
  Tensor *x = tensor_new(t, s);
  for (int64_t i = 0; i < shape_numel(&s); i++) tensor_set(x, i, v[i]);
  tset_put(ts, name, x);
}

static int input(Graph *g, const char *name, DType t, Shape s) {
  Diag d;
  diag_init(&d);
  return ir_input(g, name, t, s, SRC, &d);
}

static int op(Graph *g, OpKind k, const int *in, int nin, const Attr *at, int nat) {
  Diag d;
  diag_init(&d);
  int r = ir_op(g, k, in, nin, at, nat, LOC, &d);
  CHECK(r >= 0);
  return r;
}

static int has_high(const Graph *g) {
  for (int i = 0; i < g->n; i++)
    if (!op_is_primitive(g->nodes[i].op)) return 1;
  return 0;
}

/* Decompose g and check the result: no high-level op, verifies, locations kept, and g
 * itself untouched. */
static Graph *lowered(const Graph *g) {
  Diag d;
  diag_init(&d);
  int n0 = g->n;
  Graph *p = pass_decompose(g, &d);
  CHECK(p != NULL);
  CHECK_INT(g->n, n0);
  if (!p) return NULL;
  CHECK(!has_high(p));
  CHECK_INT(ir_verify(p, &d), 0);
  CHECK_INT(p->nout, g->nout);
  for (int i = 0; i < p->n; i++) {
    const Node *n = &p->nodes[i];
    if (n->op == OP_INPUT || n->op == OP_WEIGHT) continue;
    if (n->loc.line != 7 || n->loc.col != 3 || !n->loc.file || strcmp(n->loc.file, "t.yaml")) {
      fprintf(stderr, "  node %d (%s) lost its location\n", i, op_info(n->op)->name);
      CHECK(0);
      break;
    }
  }
  return p;
}

/* Decompose g and run it; `in` holds inputs and weights by name. Returns 0 on success. */
static int eval(const Graph *g, const TensorSet *in, TensorSet *out) {
  Diag d;
  diag_init(&d);
  tset_init(out);
  Graph *p = lowered(g);
  if (!p) return -1;
  int rc = interp_run(p, in, in, out, &d);
  CHECK_INT(rc, 0);
  ir_graph_free(p);
  return rc;
}

/* Compare output `name` with want[0..n), relative tolerance tol. */
static void near(const TensorSet *out, const char *name, Shape s, const double *want, double tol) {
  const Tensor *t = tset_get(out, name);
  if (!t) {
    fprintf(stderr, "  output '%s' is missing\n", name);
    CHECK(0);
    return;
  }
  CHECK(shape_eq(&t->shape, &s));
  if (!shape_eq(&t->shape, &s)) return;
  int bad = 0;
  for (int64_t i = 0; i < shape_numel(&s); i++) {
    double a = tensor_get(t, i), b = want[i];
    int ok = isnan(b) ? isnan(a) : isinf(b) ? a == b : fabs(a - b) <= tol * fmax(1.0, fabs(b));
    if (!ok && bad++ < 5) fprintf(stderr, "  %s[%lld]: got %.9g, want %.9g\n", name, (long long)i, a, b);
  }
  CHECK_INT(bad, 0);
}

/* ---- one test per high-level op -------------------------------------------------------- */

static void test_linear(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(2, 3, 4)), w = input(g, "w", DT_F32, SH(5, 4));
  int b = input(g, "b", DT_F32, SH(5)), v = input(g, "v", DT_F32, SH(4));
  ir_add_output(g, "y", op(g, OP_LINEAR, (int[]){x, w, b}, 3, NULL, 0));
  ir_add_output(g, "y1", op(g, OP_LINEAR, (int[]){v, w}, 2, NULL, 0));
  double xv[24], wv[20], bv[5], vv[4], want[30], want1[5];
  values(xv, 24, 1, -2, 2), values(wv, 20, 2, -1, 1), values(bv, 5, 3, -1, 1), values(vv, 4, 4, -2, 2);
  for (int i = 0; i < 6; i++)
    for (int o = 0; o < 5; o++) {
      double s = bv[o];
      for (int k = 0; k < 4; k++) s += xv[i * 4 + k] * wv[o * 4 + k];
      want[i * 5 + o] = s;
    }
  for (int o = 0; o < 5; o++) {
    double s = 0;
    for (int k = 0; k < 4; k++) s += vv[k] * wv[o * 4 + k];
    want1[o] = s;
  }
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(2, 3, 4), xv), put(&in, "w", DT_F32, SH(5, 4), wv);
  put(&in, "b", DT_F32, SH(5), bv), put(&in, "v", DT_F32, SH(4), vv);
  if (!eval(g, &in, &out)) {
    near(&out, "y", SH(2, 3, 5), want, 1e-5);
    near(&out, "y1", SH(5), want1, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void test_layer_norm(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(2, 5)), w = input(g, "w", DT_F32, SH(5)), b = input(g, "b", DT_F32, SH(5));
  ir_add_output(g, "y", op(g, OP_LAYER_NORM, (int[]){x, w, b}, 3, NULL, 0));
  ir_add_output(g, "y1", op(g, OP_LAYER_NORM, (int[]){x}, 1, (Attr[]){ATTR_F("eps", 1e-6)}, 1));
  double xv[10], wv[5], bv[5], want[10], want1[10];
  values(xv, 10, 5, -3, 3), values(wv, 5, 6, 0.5, 1.5), values(bv, 5, 7, -1, 1);
  for (int r = 0; r < 2; r++) {
    double m = 0, var = 0;
    for (int i = 0; i < 5; i++) m += xv[r * 5 + i] / 5;
    for (int i = 0; i < 5; i++) var += (xv[r * 5 + i] - m) * (xv[r * 5 + i] - m) / 5;
    for (int i = 0; i < 5; i++) {
      want[r * 5 + i] = (xv[r * 5 + i] - m) / sqrt(var + 1e-5) * wv[i] + bv[i];
      want1[r * 5 + i] = (xv[r * 5 + i] - m) / sqrt(var + 1e-6);
    }
  }
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(2, 5), xv), put(&in, "w", DT_F32, SH(5), wv), put(&in, "b", DT_F32, SH(5), bv);
  if (!eval(g, &in, &out)) {
    near(&out, "y", SH(2, 5), want, 1e-5);
    near(&out, "y1", SH(2, 5), want1, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* softmax and log_softmax along either axis of [3,4]; row 2 is large (1000) so that an
 * unstable form would overflow. */
static void test_softmax(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(3, 4));
  Attr ax0[1] = {ATTR_I("axis", 0)};
  ir_add_output(g, "s1", op(g, OP_SOFTMAX, &x, 1, NULL, 0));
  ir_add_output(g, "s0", op(g, OP_SOFTMAX, &x, 1, ax0, 1));
  ir_add_output(g, "l1", op(g, OP_LOG_SOFTMAX, &x, 1, NULL, 0));
  ir_add_output(g, "l0", op(g, OP_LOG_SOFTMAX, &x, 1, ax0, 1));
  double xv[12] = {0.5, -1, 2, 0.25, 3, 3, 3, 3, 1000, 1001, 999, 1000.5};
  double s1[12], s0[12], l1[12], l0[12];
  for (int r = 0; r < 3; r++) {
    double m = -INFINITY, z = 0;
    for (int i = 0; i < 4; i++) m = fmax(m, xv[r * 4 + i]);
    for (int i = 0; i < 4; i++) z += exp(xv[r * 4 + i] - m);
    for (int i = 0; i < 4; i++) {
      s1[r * 4 + i] = exp(xv[r * 4 + i] - m) / z;
      l1[r * 4 + i] = xv[r * 4 + i] - m - log(z);
    }
  }
  for (int col = 0; col < 4; col++) {
    double m = -INFINITY, z = 0;
    for (int r = 0; r < 3; r++) m = fmax(m, xv[r * 4 + col]);
    for (int r = 0; r < 3; r++) z += exp(xv[r * 4 + col] - m);
    for (int r = 0; r < 3; r++) {
      s0[r * 4 + col] = exp(xv[r * 4 + col] - m) / z;
      l0[r * 4 + col] = xv[r * 4 + col] - m - log(z);
    }
  }
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(3, 4), xv);
  if (!eval(g, &in, &out)) {
    near(&out, "s1", SH(3, 4), s1, 1e-6);
    near(&out, "s0", SH(3, 4), s0, 1e-6);
    near(&out, "l1", SH(3, 4), l1, 1e-6);
    near(&out, "l0", SH(3, 4), l0, 1e-6);
    const Tensor *t = tset_get(&out, "s1");
    for (int r = 0; t && r < 3; r++) {
      double sum = 0;
      for (int i = 0; i < 4; i++) sum += tensor_get(t, r * 4 + i);
      CHECK_NEAR(sum, 1.0, 1e-6);
    }
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void test_unary(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(9)), x64 = input(g, "x64", DT_F64, SH(9));
  ir_add_output(g, "gelu", op(g, OP_GELU, &x, 1, NULL, 0));
  ir_add_output(g, "relu", op(g, OP_RELU, &x, 1, NULL, 0));
  ir_add_output(g, "sigmoid", op(g, OP_SIGMOID, &x, 1, NULL, 0));
  ir_add_output(g, "gelu64", op(g, OP_GELU, &x64, 1, NULL, 0));
  ir_add_output(g, "sigmoid64", op(g, OP_SIGMOID, &x64, 1, NULL, 0));
  double xv[9] = {-100, -5, -1, -0.5, 0, 0.375, 1, 2, 5} /* exact in f32 */, ge[9], re[9], sg[9];
  for (int i = 0; i < 9; i++) {
    ge[i] = 0.5 * xv[i] * (1 + erf(xv[i] / sqrt(2.0)));
    re[i] = xv[i] > 0 ? xv[i] : 0;
    sg[i] = 1 / (1 + exp(-xv[i]));
  }
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(9), xv), put(&in, "x64", DT_F64, SH(9), xv);
  if (!eval(g, &in, &out)) {
    near(&out, "gelu", SH(9), ge, 1e-6);
    near(&out, "relu", SH(9), re, 0);
    near(&out, "sigmoid", SH(9), sg, 1e-6);
    near(&out, "gelu64", SH(9), ge, 1e-14);
    near(&out, "sigmoid64", SH(9), sg, 1e-14);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void test_mean(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(2, 3, 4));
  ir_add_output(g, "m02", op(g, OP_MEAN, &x, 1, (Attr[]){ATTR_IS("axes", ((int64_t[]){0, 2}), 2)}, 1));
  ir_add_output(g, "m1k",
                op(g, OP_MEAN, &x, 1, (Attr[]){ATTR_IS("axes", ((int64_t[]){1}), 1), ATTR_I("keepdims", 1)}, 2));
  double xv[24], m02[3] = {0}, m1k[8] = {0};
  values(xv, 24, 8, -2, 2);
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 4; c++) {
        m02[b] += xv[(a * 3 + b) * 4 + c] / 8;
        m1k[a * 4 + c] += xv[(a * 3 + b) * 4 + c] / 3;
      }
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(2, 3, 4), xv);
  if (!eval(g, &in, &out)) {
    near(&out, "m02", SH(3), m02, 1e-6);
    near(&out, "m1k", SH(2, 1, 4), m1k, 1e-6);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* Reference attention: q[B,T,D], k/v[B,S,D], bias[H,T,S] or NULL. */
static void attention_ref(const double *q, const double *k, const double *v, const double *bias, int B, int T, int S,
                          int D, int H, double scale, double *out) {
  int Dh = D / H;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        double s[16], m = -INFINITY, z = 0;
        for (int j = 0; j < S; j++) {
          double acc = 0;
          for (int e = 0; e < Dh; e++) acc += q[(b * T + t) * D + h * Dh + e] * k[(b * S + j) * D + h * Dh + e];
          s[j] = acc * scale + (bias ? bias[(h * T + t) * S + j] : 0);
          m = fmax(m, s[j]);
        }
        for (int j = 0; j < S; j++) z += exp(s[j] - m);
        for (int e = 0; e < Dh; e++) {
          double acc = 0;
          for (int j = 0; j < S; j++) acc += exp(s[j] - m) / z * v[(b * S + j) * D + h * Dh + e];
          out[(b * T + t) * D + h * Dh + e] = acc;
        }
      }
}

static void test_attention(void) {
  enum { B = 2, T = 3, S = 4, D = 4, H = 2 };
  Graph *g = ir_graph_new("t");
  int q = input(g, "q", DT_F32, SH(B, T, D)), k = input(g, "k", DT_F32, SH(B, S, D));
  int v = input(g, "v", DT_F32, SH(B, S, D)), bias = input(g, "bias", DT_F32, SH(H, T, S));
  ir_add_output(g, "y", op(g, OP_ATTENTION, (int[]){q, k, v, bias}, 4, (Attr[]){ATTR_I("heads", H)}, 1));
  ir_add_output(g, "y1",
                op(g, OP_ATTENTION, (int[]){q, k, v}, 3, (Attr[]){ATTR_I("heads", 1), ATTR_F("scale", 0.3)}, 2));
  double qv[B * T * D], kv[B * S * D], vv[B * S * D], bv[H * T * S], want[B * T * D], want1[B * T * D];
  values(qv, B * T * D, 9, -2, 2), values(kv, B * S * D, 10, -2, 2), values(vv, B * S * D, 11, -2, 2);
  values(bv, H * T * S, 12, -1, 1);
  attention_ref(qv, kv, vv, bv, B, T, S, D, H, 1 / sqrt(D / H), want);
  attention_ref(qv, kv, vv, NULL, B, T, S, D, 1, 0.3, want1);
  TensorSet in, out;
  tset_init(&in);
  put(&in, "q", DT_F32, SH(B, T, D), qv), put(&in, "k", DT_F32, SH(B, S, D), kv);
  put(&in, "v", DT_F32, SH(B, S, D), vv), put(&in, "bias", DT_F32, SH(H, T, S), bv);
  if (!eval(g, &in, &out)) {
    near(&out, "y", SH(B, T, D), want, 1e-5);
    near(&out, "y1", SH(B, T, D), want1, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* Reference cross-entropy over `rows` rows of C classes; w = row weights or NULL (mean). */
static double ce_ref(const double *x, const double *lab, const double *w, int rows, int C, double s) {
  double num = 0, den = 0;
  for (int r = 0; r < rows; r++) {
    double m = -INFINITY, z = 0, sum_ls = 0;
    for (int c = 0; c < C; c++) m = fmax(m, x[r * C + c]);
    for (int c = 0; c < C; c++) z += exp(x[r * C + c] - m);
    for (int c = 0; c < C; c++) sum_ls += x[r * C + c] - m - log(z);
    double nll = -(x[r * C + (int)lab[r]] - m - log(z));
    double loss = s ? (1 - s) * nll - s * sum_ls / C : nll, wr = w ? w[r] : 1;
    if (wr != 0) num += loss * wr; /* as selecting the rows: a masked-out row never counts */
    den += wr;
  }
  return num / den;
}

static void test_cross_entropy(void) {
  enum { R = 6, C = 5 };
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(2, 3, C)), lab = input(g, "lab", DT_I32, SH(2, 3));
  int m = input(g, "m", DT_BOOL, SH(2, 3)), mf = input(g, "mf", DT_F32, SH(2, 3)),
      mz = input(g, "mz", DT_BOOL, SH(2, 3));
  int x1 = input(g, "x1", DT_F32, SH(C)), lab1 = input(g, "lab1", DT_I32, shape_scalar());
  Attr s1[1] = {ATTR_F("smoothing", 0.1)}, s2[1] = {ATTR_F("smoothing", 0.2)};
  ir_add_output(g, "plain", op(g, OP_CROSS_ENTROPY, (int[]){x, lab}, 2, NULL, 0));
  ir_add_output(g, "smooth", op(g, OP_CROSS_ENTROPY, (int[]){x, lab}, 2, s1, 1));
  ir_add_output(g, "masked", op(g, OP_CROSS_ENTROPY, (int[]){x, lab, m}, 3, NULL, 0));
  ir_add_output(g, "weighted", op(g, OP_CROSS_ENTROPY, (int[]){x, lab, mf}, 3, s2, 1));
  ir_add_output(g, "empty", op(g, OP_CROSS_ENTROPY, (int[]){x, lab, mz}, 3, NULL, 0));
  ir_add_output(g, "one", op(g, OP_CROSS_ENTROPY, (int[]){x1, lab1}, 2, s1, 1));
  double xv[R * C], lv[R] = {0, 4, 2, 2, 1, 3}, mv[R] = {1, 0, 1, 1, 0, 0}, mfv[R] = {0.5, 0, 2, 1, 0.25, 1};
  double zero[R] = {0}, want[6];
  values(xv, R * C, 13, -3, 3);
  xv[1 * C + 0] = 40;        /* a row whose label is far from the max */
  xv[4 * C + 1] = -INFINITY; /* row 4 is masked out by m: its -inf label logit must not leak */
  xv[2 * C + 0] = -INFINITY; /* another class at -inf: the label's loss stays finite */
  want[0] = ce_ref(xv, lv, NULL, R, C, 0);
  want[1] = ce_ref(xv, lv, NULL, R, C, 0.1);
  want[2] = ce_ref(xv, lv, mv, R, C, 0);
  want[3] = ce_ref(xv, lv, mfv, R, C, 0.2);
  want[4] = NAN;
  want[5] = ce_ref(xv + 3 * C, lv + 3, NULL, 1, C, 0.1);
  CHECK(isinf(want[0]) && isfinite(want[2])); /* the data does exercise both cases */
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(2, 3, C), xv), put(&in, "lab", DT_I32, SH(2, 3), lv);
  put(&in, "m", DT_BOOL, SH(2, 3), mv), put(&in, "mf", DT_F32, SH(2, 3), mfv), put(&in, "mz", DT_BOOL, SH(2, 3), zero);
  put(&in, "x1", DT_F32, SH(C), xv + 3 * C), put(&in, "lab1", DT_I32, shape_scalar(), lv + 3);
  if (!eval(g, &in, &out)) {
    near(&out, "plain", shape_scalar(), want + 0, 1e-5);
    near(&out, "masked", shape_scalar(), want + 2, 1e-5);
    near(&out, "empty", shape_scalar(), want + 4, 0);
    near(&out, "one", shape_scalar(), want + 5, 1e-5);
  }
  tset_free(&out);
  /* smoothing and a float mask, on finite data (-inf with smoothing is inf, as in PyTorch) */
  xv[4 * C + 1] = 0.5, xv[2 * C + 0] = -1;
  want[1] = ce_ref(xv, lv, NULL, R, C, 0.1);
  want[3] = ce_ref(xv, lv, mfv, R, C, 0.2);
  put(&in, "x", DT_F32, SH(2, 3, C), xv);
  if (!eval(g, &in, &out)) {
    near(&out, "smooth", shape_scalar(), want + 1, 1e-5);
    near(&out, "weighted", shape_scalar(), want + 3, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void conv_ref(const double *x, const double *w, const double *b, int N, int Ci, int H, int W, int O, int K,
                     int st, int pad, double *out) {
  int oh = (H + 2 * pad - K) / st + 1, ow = (W + 2 * pad - K) / st + 1;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int y = 0; y < oh; y++)
        for (int xx = 0; xx < ow; xx++) {
          double s = b ? b[o] : 0;
          for (int c = 0; c < Ci; c++)
            for (int i = 0; i < K; i++)
              for (int j = 0; j < K; j++) {
                int iy = y * st - pad + i, ix = xx * st - pad + j;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                  s += x[((n * Ci + c) * H + iy) * W + ix] * w[((o * Ci + c) * K + i) * K + j];
              }
          out[((n * O + o) * oh + y) * ow + xx] = s;
        }
}

static void test_conv2d(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(2, 3, 5, 5)), w = input(g, "w", DT_F32, SH(4, 3, 3, 3));
  int b = input(g, "b", DT_F32, SH(4));
  Attr at[2] = {ATTR_IS("stride", ((int64_t[]){2, 2}), 2), ATTR_IS("pad", ((int64_t[]){1, 1}), 2)};
  ir_add_output(g, "y", op(g, OP_CONV2D, (int[]){x, w, b}, 3, at, 2));
  ir_add_output(g, "y1", op(g, OP_CONV2D, (int[]){x, w}, 2, NULL, 0));
  double xv[150], wv[108], bv[4], want[72], want1[72];
  values(xv, 150, 14, -1, 1), values(wv, 108, 15, -1, 1), values(bv, 4, 16, -1, 1);
  conv_ref(xv, wv, bv, 2, 3, 5, 5, 4, 3, 2, 1, want);
  conv_ref(xv, wv, NULL, 2, 3, 5, 5, 4, 3, 1, 0, want1);
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(2, 3, 5, 5), xv), put(&in, "w", DT_F32, SH(4, 3, 3, 3), wv),
      put(&in, "b", DT_F32, SH(4), bv);
  if (!eval(g, &in, &out)) {
    near(&out, "y", SH(2, 4, 3, 3), want, 1e-5);
    near(&out, "y1", SH(2, 4, 3, 3), want1, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void pool_ref(const double *x, int NC, int H, int W, int kh, int kw, int sh, int sw, double *out) {
  int oh = (H - kh) / sh + 1, ow = (W - kw) / sw + 1;
  for (int p = 0; p < NC; p++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++) {
        double m = -INFINITY;
        for (int i = 0; i < kh; i++)
          for (int j = 0; j < kw; j++) m = fmax(m, x[(p * H + y * sh + i) * W + xx * sw + j]);
        out[(p * oh + y) * ow + xx] = m;
      }
}

static void test_max_pool(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(1, 2, 4, 4)), x7 = input(g, "x7", DT_F32, SH(1, 2, 7, 7));
  ir_add_output(g, "p2", op(g, OP_MAX_POOL, &x, 1, (Attr[]){ATTR_IS("kernel", ((int64_t[]){2, 2}), 2)}, 1));
  ir_add_output(g, "p3",
                op(g, OP_MAX_POOL, &x7, 1,
                   (Attr[]){ATTR_IS("kernel", ((int64_t[]){3, 3}), 2), ATTR_IS("stride", ((int64_t[]){2, 2}), 2)}, 2));
  ir_add_output(g, "p23",
                op(g, OP_MAX_POOL, &x7, 1,
                   (Attr[]){ATTR_IS("kernel", ((int64_t[]){2, 3}), 2), ATTR_IS("stride", ((int64_t[]){1, 2}), 2)}, 2));
  double xv[32], x7v[98], p2[8], p3[18], p23[36];
  values(xv, 32, 17, -2, 2), values(x7v, 98, 18, -2, 2);
  pool_ref(xv, 2, 4, 4, 2, 2, 2, 2, p2);
  pool_ref(x7v, 2, 7, 7, 3, 3, 2, 2, p3);
  pool_ref(x7v, 2, 7, 7, 2, 3, 1, 2, p23);
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(1, 2, 4, 4), xv), put(&in, "x7", DT_F32, SH(1, 2, 7, 7), x7v);
  if (!eval(g, &in, &out)) {
    near(&out, "p2", SH(1, 2, 2, 2), p2, 0);
    near(&out, "p3", SH(1, 2, 3, 3), p3, 0);
    near(&out, "p23", SH(1, 2, 6, 3), p23, 0);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

static void test_upsample(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(1, 2, 2, 3));
  ir_add_output(g, "u2", op(g, OP_UPSAMPLE, &x, 1, (Attr[]){ATTR_I("scale", 2)}, 1));
  ir_add_output(g, "u1", op(g, OP_UPSAMPLE, &x, 1, (Attr[]){ATTR_I("scale", 1)}, 1));
  double xv[12], u2[48];
  values(xv, 12, 19, -2, 2);
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 6; j++) u2[(c * 4 + i) * 6 + j] = xv[(c * 2 + i / 2) * 3 + j / 2];
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(1, 2, 2, 3), xv);
  if (!eval(g, &in, &out)) {
    near(&out, "u2", SH(1, 2, 4, 6), u2, 0);
    near(&out, "u1", SH(1, 2, 2, 3), xv, 0);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* patchify against its index formula, and linear(patchify(x), w as [O, C*p*p]) + b
 * against conv2d(x, w, b, stride p) — the patch-embedding identity it exists for. */
static void test_patchify(void) {
  enum { N = 2, C = 3, H = 4, W = 6, P = 2, GH = H / P, GW = W / P, O = 4 };
  Graph *g = ir_graph_new("t");
  Diag d;
  diag_init(&d);
  int x = input(g, "x", DT_F32, SH(N, C, H, W)), w = input(g, "w", DT_F32, SH(O, C, P, P)),
      b = input(g, "b", DT_F32, SH(O));
  int p = op(g, OP_PATCHIFY, &x, 1, (Attr[]){ATTR_I("patch", P)}, 1);
  ir_add_output(g, "p", p);
  int wr = ir_reshape(g, w, SH(O, C * P * P), LOC, &d);
  ir_add_output(g, "lin", op(g, OP_LINEAR, (int[]){p, wr, b}, 3, NULL, 0));
  ir_add_output(g, "conv",
                op(g, OP_CONV2D, (int[]){x, w, b}, 3, (Attr[]){ATTR_IS("stride", ((int64_t[]){P, P}), 2)}, 1));
  double xv[N * C * H * W], wv[O * C * P * P], bv[O], want[N * C * H * W];
  values(xv, N * C * H * W, 20, -2, 2), values(wv, O * C * P * P, 21, -1, 1), values(bv, O, 22, -1, 1);
  for (int n = 0; n < N; n++)
    for (int gy = 0; gy < GH; gy++)
      for (int gx = 0; gx < GW; gx++)
        for (int c = 0; c < C; c++)
          for (int ky = 0; ky < P; ky++)
            for (int kx = 0; kx < P; kx++)
              want[(n * GH * GW + gy * GW + gx) * C * P * P + c * P * P + ky * P + kx] =
                  xv[((n * C + c) * H + gy * P + ky) * W + gx * P + kx];
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(N, C, H, W), xv), put(&in, "w", DT_F32, SH(O, C, P, P), wv),
      put(&in, "b", DT_F32, SH(O), bv);
  if (!eval(g, &in, &out)) {
    near(&out, "p", SH(N, GH * GW, C * P * P), want, 0);
    const Tensor *lin = tset_get(&out, "lin"), *conv = tset_get(&out, "conv");
    double cw[N * GH * GW * O];
    for (int n = 0; conv && n < N; n++)
      for (int o = 0; o < O; o++)
        for (int t = 0; t < GH * GW; t++) cw[(n * GH * GW + t) * O + o] = tensor_get(conv, (n * O + o) * GH * GW + t);
    if (lin && conv) near(&out, "lin", SH(N, GH * GW, O), cw, 1e-5);
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* gumbel_softmax against the formula with the same Philox numbers; rows sum to 1; one
 * seed gives one result and another seed another; hard = one-hot of the soft argmax. */
static void test_gumbel_softmax(void) {
  enum { R = 4, C = 6 };
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(R, C)), tau = input(g, "tau", DT_F32, shape_scalar());
  int seed = input(g, "seed", DT_I32, shape_scalar());
  int in3[3] = {x, tau, seed};
  ir_add_output(g, "y", op(g, OP_GUMBEL_SOFTMAX, in3, 3, (Attr[]){ATTR_I("stream", 3)}, 1));
  ir_add_output(g, "yh", op(g, OP_GUMBEL_SOFTMAX, in3, 3, (Attr[]){ATTR_I("stream", 3), ATTR_I("hard", 1)}, 2));
  ir_add_output(g, "y0", op(g, OP_GUMBEL_SOFTMAX, in3, 3, (Attr[]){ATTR_I("axis", 0), ATTR_I("stream", 5)}, 2));
  ir_add_output(
      g, "y0h",
      op(g, OP_GUMBEL_SOFTMAX, in3, 3, (Attr[]){ATTR_I("axis", 0), ATTR_I("stream", 5), ATTR_I("hard", 1)}, 3));
  double xv[R * C], tv = 0.5, sv = 1234, want[R * C], want0[R * C], z[R * C], z0[R * C];
  values(xv, R * C, 23, -2, 2);
  for (int i = 0; i < R * C; i++) {
    double u = fmax(philox_uniform(1234, 3, (uint64_t)i), 1e-10),
           u0 = fmax(philox_uniform(1234, 5, (uint64_t)i), 1e-10);
    z[i] = (xv[i] - log(-log(u))) / tv;
    z0[i] = (xv[i] - log(-log(u0))) / tv;
  }
  for (int r = 0; r < R; r++) {
    double m = -INFINITY, s = 0;
    for (int c = 0; c < C; c++) m = fmax(m, z[r * C + c]);
    for (int c = 0; c < C; c++) s += exp(z[r * C + c] - m);
    for (int c = 0; c < C; c++) want[r * C + c] = exp(z[r * C + c] - m) / s;
  }
  for (int c = 0; c < C; c++) {
    double m = -INFINITY, s = 0;
    for (int r = 0; r < R; r++) m = fmax(m, z0[r * C + c]);
    for (int r = 0; r < R; r++) s += exp(z0[r * C + c] - m);
    for (int r = 0; r < R; r++) want0[r * C + c] = exp(z0[r * C + c] - m) / s;
  }
  TensorSet in, out, again;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(R, C), xv), put(&in, "tau", DT_F32, shape_scalar(), &tv);
  put(&in, "seed", DT_I32, shape_scalar(), &sv);
  if (!eval(g, &in, &out)) {
    near(&out, "y", SH(R, C), want, 1e-4);
    near(&out, "y0", SH(R, C), want0, 1e-4);
    const Tensor *y = tset_get(&out, "y"), *yh = tset_get(&out, "yh"), *y0 = tset_get(&out, "y0"),
                 *y0h = tset_get(&out, "y0h");
    for (int r = 0; y && yh && r < R; r++) {
      double sum = 0;
      int best = 0;
      for (int c = 0; c < C; c++) {
        sum += tensor_get(y, r * C + c);
        if (tensor_get(y, r * C + c) > tensor_get(y, r * C + best)) best = c;
      }
      CHECK_NEAR(sum, 1.0, 1e-6);
      for (int c = 0; c < C; c++) CHECK_INT(tensor_get(yh, r * C + c), c == best);
    }
    for (int c = 0; y0 && y0h && c < C; c++) {
      int best = 0;
      for (int r = 0; r < R; r++)
        if (tensor_get(y0, r * C + c) > tensor_get(y0, best * C + c)) best = r;
      for (int r = 0; r < R; r++) CHECK_INT(tensor_get(y0h, r * C + c), r == best);
    }
    /* the same seed gives the same bits; another seed other numbers */
    if (!eval(g, &in, &again)) {
      const Tensor *y2 = tset_get(&again, "y");
      CHECK(y && y2 && !memcmp(y->data, y2->data, tensor_nbytes(y)));
      tset_free(&again);
    }
    double sv2 = 99;
    put(&in, "seed", DT_I32, shape_scalar(), &sv2);
    if (!eval(g, &in, &again)) {
      const Tensor *y2 = tset_get(&again, "y");
      CHECK(y && y2 && memcmp(y->data, y2->data, tensor_nbytes(y)));
      tset_free(&again);
    }
  }
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

/* A one-hot tie: two equal maxima; hard picks the first, as torch.argmax. */
static void test_gumbel_tie(void) {
  Graph *g = ir_graph_new("t");
  int x = input(g, "x", DT_F32, SH(1, 3)), tau = input(g, "tau", DT_F32, shape_scalar());
  int seed = input(g, "seed", DT_I32, shape_scalar());
  ir_add_output(g, "yh", op(g, OP_GUMBEL_SOFTMAX, (int[]){x, tau, seed}, 3, (Attr[]){ATTR_I("hard", 1)}, 1));
  /* tau huge: every noise term shrinks to nothing next to the 1e30 logits' tie */
  double xv[3] = {-1e30, 1e30, 1e30}, tv = 1e30, sv = 7, want[3] = {0, 1, 0};
  TensorSet in, out;
  tset_init(&in);
  put(&in, "x", DT_F32, SH(1, 3), xv), put(&in, "tau", DT_F32, shape_scalar(), &tv);
  put(&in, "seed", DT_I32, shape_scalar(), &sv);
  if (!eval(g, &in, &out)) near(&out, "yh", SH(1, 3), want, 0);
  tset_free(&in), tset_free(&out), ir_graph_free(g);
}

int main(void) {
  RUN(test_linear);
  RUN(test_layer_norm);
  RUN(test_softmax);
  RUN(test_unary);
  RUN(test_mean);
  RUN(test_attention);
  RUN(test_cross_entropy);
  RUN(test_conv2d);
  RUN(test_max_pool);
  RUN(test_upsample);
  RUN(test_patchify);
  RUN(test_gumbel_softmax);
  RUN(test_gumbel_tie);
  return CHECK_DONE();
}
