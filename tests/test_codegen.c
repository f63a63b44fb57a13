/* test_codegen.c — the code generator against the reference interpreter: every primitive
 * on random inputs, at shapes chosen to break vector code (sizes that are not multiples
 * of the vector width, size-1 axes, empty axes, rank 0), each graph run by the JIT once
 * whole and once with every kernel's range cut into pieces run last-first (the kernel
 * ABI's promise that ranges are independent). Also: the layout (reshape aliases, dead
 * nodes, outputs), the kernels' documented departures from the interpreter (division by
 * zero, out-of-range indices), and the emitted machine code (zmm registers on AVX-512,
 * no scalar libm calls for exp/log/tanh/erf). f32 agreement is 1e-5 relative to
 * |ref| + the mean |ref| of the output (so that a sum that cancels to ~0 is judged
 * against the size of what was summed); f64 1e-12; integers and bools exactly. */
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"

#define LOC ((SrcLoc){"t.yaml", __LINE__, 5})
#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define AX(...) (const int64_t[]){__VA_ARGS__}

/* ---- harness: a graph, its inputs, a deterministic generator ---- */

static Graph *G;
static TensorSet IN, W;
static Diag D;
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int ncases;

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

/* An input of dtype t and shape s with values uniform in [lo, hi) (integers: floored). */
static int inp(DType t, Shape s, double lo, double hi) {
  char name[16];
  snprintf(name, sizeof name, "x%d", G->n);
  int id = ir_input(G, name, t, s, LOC, &D);
  Tensor *x = tensor_new(t, s);
  for (int64_t i = 0; i < shape_numel(&s); i++) {
    double v = lo + (hi - lo) * urand();
    tensor_set(x, i, t == DT_F32 || t == DT_F64 ? v : floor(v));
  }
  tset_put(&IN, G->nodes[id].name, x);
  return id;
}

static void out(int id) {
  char name[16];
  snprintf(name, sizeof name, "y%d", G->nout);
  ir_add_output(G, ir_intern(G, name), id);
}

static int agree(const Tensor *a, const Tensor *b, const char *what, int chunks) {
  int64_t n = shape_numel(&b->shape);
  double scale = 0;
  for (int64_t i = 0; i < n; i++) scale += fabs(tensor_get(b, i)) / (double)n;
  double tol = b->dtype == DT_F32 ? 1e-5 : b->dtype == DT_F64 ? 1e-12 : 0;
  for (int64_t i = 0; i < n; i++) {
    double x = tensor_get(a, i), y = tensor_get(b, i);
    if (isnan(x) && isnan(y)) continue;
    if (x == y) continue;
    if (!(fabs(x - y) <= tol * (fabs(y) + scale))) {
      fprintf(stderr, "  %s (chunks %d): element %lld: jit %.9g, interpreter %.9g\n", what, chunks, (long long)i, x, y);
      return 0;
    }
  }
  return 1;
}

/* Run G by the interpreter and by the JIT (whole, then in pieces); compare every output. */
static void finish(const char *what) {
  ncases++;
  CHECK_INT(D.nerr, 0);
  CHECK_INT(ir_verify(G, &D), 0);
  TensorSet ref;
  tset_init(&ref);
  int rc = interp_run(G, &IN, &W, &ref, &D);
  CHECK_INT(rc, 0);
  for (int chunks = 1; chunks <= 3 && !rc; chunks += 2) {
    JitOptions o = {.no_cache = 1, .chunks = chunks};
    JitProgram *p = jit_compile(G, &o, &D);
    CHECK(p != NULL);
    if (!p) break;
    TensorSet got;
    tset_init(&got);
    CHECK_INT(jit_run(p, &IN, &W, &got, &D), 0);
    for (int k = 0; k < G->nout; k++) {
      const Tensor *a = tset_get(&got, G->outs[k].name), *b = tset_get(&ref, G->outs[k].name);
      CHECK(a && b);
      if (!a || !b) continue;
      CHECK_INT(a->dtype, b->dtype);
      CHECK(shape_eq(&a->shape, &b->shape));
      if (!agree(a, b, what, chunks)) {
        fprintf(stderr, "  in case '%s', output %s\n", what, G->outs[k].name);
        check_failures++;
      }
    }
    tset_free(&got);
    jit_free(p);
  }
  tset_free(&ref);
  ir_graph_free(G);
  tset_free(&IN);
  tset_free(&W);
}

/* Shapes every elementwise op is tried at. */
static Shape shapes[8];
static void init_shapes(void) {
  shapes[0] = SH(1);
  shapes[1] = SH(37);             /* not a multiple of 16 */
  shapes[2] = SH(3, 17);
  shapes[3] = SH(2, 1, 33);
  shapes[4] = SH(0, 5);           /* empty */
  shapes[5] = shape_scalar();
  shapes[6] = SH(129);            /* one past a vector multiple */
  shapes[7] = SH(4, 64);
}

/* ---- elementwise ---- */

static void test_unary(void) {
  struct { OpKind op; double lo, hi; } u[] = {
      {OP_NEG, -3, 3}, {OP_ABS, -3, 3},      {OP_EXP, -20, 20},  {OP_LOG, 1e-3, 50},  {OP_SQRT, 0, 9},
      {OP_RSQRT, 0.01, 9}, {OP_TANH, -6, 6}, {OP_ERF, -4, 4},    {OP_RECIP, 0.1, 5}, {OP_FLOOR, -5, 5}};
  for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
    for (int s = 0; s < 8; s++)
      for (int f64 = 0; f64 < 2; f64++) {
        begin();
        out(ir_unary(G, u[k].op, inp(f64 ? DT_F64 : DT_F32, shapes[s], u[k].lo, u[k].hi), LOC, &D));
        finish(op_info(u[k].op)->name);
      }
  /* integer neg/abs wrap at INT32_MIN */
  for (int s = 0; s < 8; s++) {
    begin();
    int x = inp(DT_I32, shapes[s], -100, 100);
    out(ir_unary(G, OP_NEG, x, LOC, &D));
    out(ir_unary(G, OP_ABS, x, LOC, &D));
    finish("neg/abs i32");
  }
  begin();
  int x = inp(DT_I32, SH(3), 0, 1);
  Tensor *t = tset_get(&IN, G->nodes[x].name);
  tensor_set(t, 0, INT32_MIN);
  tensor_set(t, 1, INT32_MAX);
  out(ir_unary(G, OP_NEG, x, LOC, &D));
  out(ir_unary(G, OP_ABS, x, LOC, &D));
  finish("neg/abs at the i32 limits");
  for (int s = 0; s < 8; s++) {
    begin();
    out(ir_unary(G, OP_NOT, inp(DT_BOOL, shapes[s], 0, 2), LOC, &D));
    finish("not");
  }
}

/* Every cast between the IR's dtypes, with values that exercise saturation and NaN. */
static void test_cast(void) {
  DType ts[4] = {DT_F32, DT_F64, DT_I32, DT_BOOL};
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      begin();
      int x = inp(ts[a], SH(41), -50, 50);
      out(ir_cast(G, x, ts[b], LOC, &D));
      if (dtype_is_float(ts[a])) {
        Tensor *t = tset_get(&IN, G->nodes[x].name);
        tensor_set(t, 0, NAN);
        tensor_set(t, 1, 3e9);
        tensor_set(t, 2, -3e9);
        tensor_set(t, 3, -0.0);
        tensor_set(t, 4, INFINITY);
        tensor_set(t, 5, -2.9);
      }
      finish("cast");
    }
}

static void test_binary(void) {
  OpKind ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_POW, OP_LT, OP_LE, OP_EQ};
  DType ts[3] = {DT_F32, DT_F64, DT_I32};
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
    for (int ti = 0; ti < 3; ti++)
      for (int s = 0; s < 8; s++) {
        OpKind op = ops[k];
        DType t = ts[ti];
        if (op == OP_POW && t == DT_I32) continue;
        begin();
        int a = op == OP_POW ? inp(t, shapes[s], 0.1, 4) : inp(t, shapes[s], -20, 20);
        /* an i32 divisor is never 0 here (the interpreter refuses it): 1..20 */
        int b = op == OP_DIV && t == DT_I32 ? inp(t, shapes[s], 1, 21) : op == OP_POW ? inp(t, shapes[s], -3, 3)
                                                                              : inp(t, shapes[s], -20, 20);
        out(ir_binary(G, op, a, b, LOC, &D));
        finish(op_info(op)->name);
      }
  for (int s = 0; s < 8; s++) {
    begin();
    int a = inp(DT_BOOL, shapes[s], 0, 2), b = inp(DT_BOOL, shapes[s], 0, 2);
    out(ir_binary(G, OP_AND, a, b, LOC, &D));
    out(ir_binary(G, OP_OR, a, b, LOC, &D));
    out(ir_binary(G, OP_EQ, a, b, LOC, &D));
    finish("and/or/eq bool");
  }
  /* NaN wins max and min; comparisons with NaN are false; i32 arithmetic wraps */
  begin();
  int a = inp(DT_F32, SH(4), 0, 1), b = inp(DT_F32, SH(4), 0, 1);
  tensor_set(tset_get(&IN, "x0"), 0, NAN);
  tensor_set(tset_get(&IN, "x1"), 1, NAN);
  OpKind nanops[] = {OP_MAX, OP_MIN, OP_LT, OP_LE, OP_EQ};
  for (int k = 0; k < 5; k++) out(ir_binary(G, nanops[k], a, b, LOC, &D));
  finish("NaN in max/min/compare");
  begin();
  a = inp(DT_I32, SH(3), 0, 1);
  b = inp(DT_I32, SH(3), 0, 1);
  double av[3] = {INT32_MAX, INT32_MIN, INT32_MIN}, bv[3] = {1, -1, 3};
  for (int i = 0; i < 3; i++) {
    tensor_set(tset_get(&IN, "x0"), i, av[i]);
    tensor_set(tset_get(&IN, "x1"), i, bv[i]);
  }
  OpKind iops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
  for (int k = 0; k < 4; k++) out(ir_binary(G, iops[k], a, b, LOC, &D));
  finish("i32 wrap-around and INT32_MIN / -1");
}

static void test_where_sources(void) {
  for (int s = 0; s < 8; s++) {
    begin();
    int c = inp(DT_BOOL, shapes[s], 0, 2);
    out(ir_where(G, c, inp(DT_F32, shapes[s], -1, 1), inp(DT_F32, shapes[s], -1, 1), LOC, &D));
    out(ir_where(G, c, inp(DT_I32, shapes[s], -9, 9), inp(DT_I32, shapes[s], -9, 9), LOC, &D));
    finish("where");
  }
  DType ts[4] = {DT_F32, DT_F64, DT_I32, DT_BOOL};
  for (int k = 0; k < 4; k++) {
    begin();
    out(ir_const(G, ts[k], SH(3, 19), -2.75, LOC, &D));
    out(ir_const(G, ts[k], shape_scalar(), 1.5, LOC, &D));
    if (ts[k] != DT_BOOL) {
      out(ir_iota(G, ts[k], SH(3, 19, 2), 1, LOC, &D));
      out(ir_iota(G, ts[k], SH(5, 0), 0, LOC, &D));
    }
    finish("const/iota");
  }
  /* a weight read straight from the weights region, and an output that is an input */
  begin();
  int w = ir_weight(G, "w", DT_F32, SH(7), "zeros", NULL, 0, LOC, &D);
  Tensor *wt = tensor_new(DT_F32, SH(7));
  for (int i = 0; i < 7; i++) tensor_set(wt, i, i * 0.5);
  tset_put(&W, "w", wt);
  int x = inp(DT_F32, SH(7), -1, 1);
  out(ir_binary(G, OP_MUL, w, x, LOC, &D));
  out(x);
  out(w);
  finish("weights; an input and a weight as outputs");
}

/* ---- reductions ---- */

static void test_reduce(void) {
  struct { Shape s; int64_t axes[4]; int n; } c[] = {
      {SH(37), {0}, 1},          {SH(3, 17), {1}, 1},       {SH(3, 17), {0}, 1},     {SH(3, 17), {0, 1}, 2},
      {SH(4, 5, 33), {1}, 1},    {SH(4, 5, 33), {0, 2}, 2}, {SH(2, 1, 9), {1}, 1},    {SH(2, 1, 9), {0, 2}, 2},
      {SH(0, 5), {0}, 1},        {SH(5, 0), {1}, 1},        {SH(5, 0), {0}, 1},      {SH(1, 1), {0, 1}, 2},
      {SH(6, 130), {1}, 1},      {SH(2, 3, 4, 5), {1, 3}, 2}, {SH(2, 3, 4, 5), {0, 1, 2, 3}, 4}};
  DType ts[3] = {DT_F32, DT_F64, DT_I32};
  for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
    for (int ti = 0; ti < 3; ti++)
      for (int keep = 0; keep < 2; keep++) {
        begin();
        int x = inp(ts[ti], c[k].s, -10, 10);
        out(ir_reduce(G, OP_REDUCE_SUM, x, c[k].axes, c[k].n, keep, LOC, &D));
        out(ir_reduce(G, OP_REDUCE_MAX, x, c[k].axes, c[k].n, keep, LOC, &D));
        finish("reduce");
      }
  /* a reduction over no axes is a copy; NaN wins a max */
  begin();
  int x = inp(DT_F32, SH(3, 5), -1, 1);
  tensor_set(tset_get(&IN, "x0"), 7, NAN);
  out(ir_reduce(G, OP_REDUCE_SUM, x, NULL, 0, 0, LOC, &D));
  out(ir_reduce(G, OP_REDUCE_MAX, x, AX(1), 1, 0, LOC, &D));
  out(ir_reduce(G, OP_REDUCE_MAX, x, AX(0), 1, 1, LOC, &D));
  finish("reduce over no axes; NaN in max");
  /* inputs that fusion inlines with broadcasts and permutes take their multi-index from
   * the reduction's loops (a group of several axes split where its loop starts): an outer
   * group of two axes, a group on either side of a kept one, an extent-1 axis between */
  begin();
  x = inp(DT_F32, SH(4, 5, 33), -1, 1);
  int y = ir_broadcast(G, inp(DT_F32, SH(4, 5, 1), -1, 1), SH(4, 5, 33), LOC, &D);
  int z = ir_broadcast(G, inp(DT_F32, SH(1, 5, 1), -1, 1), SH(4, 5, 33), LOC, &D);
  int w = ir_permute(G, inp(DT_F32, SH(33, 5, 4), -1, 1), (int64_t[]){2, 1, 0}, 3, LOC, &D);
  out(ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_MUL, x, y, LOC, &D), AX(0, 1), 2, 1, LOC, &D));
  out(ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_SUB, x, z, LOC, &D), AX(0, 2), 2, 0, LOC, &D));
  out(ir_reduce(G, OP_REDUCE_MAX, ir_binary(G, OP_ADD, w, y, LOC, &D), AX(1), 1, 1, LOC, &D));
  int v = inp(DT_F32, SH(3, 1, 7), -1, 1);
  int u = ir_broadcast(G, inp(DT_F32, SH(3, 1, 1), -1, 1), SH(3, 1, 7), LOC, &D);
  out(ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_MUL, v, u, LOC, &D), AX(0), 1, 0, LOC, &D));
  finish("reduce of inlined broadcasts and permutes");
}

/* ---- movement ---- */

static void test_move(void) {
  DType ts[4] = {DT_F32, DT_F64, DT_I32, DT_BOOL};
  for (int ti = 0; ti < 4; ti++) {
    DType t = ts[ti];
    begin();
    int x = inp(t, SH(3, 5, 7), -9, 9);
    out(ir_reshape(G, x, SH(15, 7), LOC, &D)); /* an output reshape: a copy */
    int r = ir_reshape(G, x, SH(105), LOC, &D); /* an alias */
    out(ir_slice(G, r, AX(4), AX(100), AX(3), LOC, &D));
    out(ir_permute(G, x, AX(2, 0, 1), 3, LOC, &D));
    out(ir_permute(G, x, AX(1, 0, 2), 3, LOC, &D));
    out(ir_broadcast(G, ir_reshape(G, x, SH(3, 1, 5, 7), LOC, &D), SH(2, 3, 4, 5, 7), LOC, &D));
    out(ir_slice(G, x, AX(1, 0, 6), AX(3, 5, 6), AX(1, 2, 1), LOC, &D)); /* empty last axis */
    out(ir_slice(G, x, AX(0, 1, 2), AX(3, 4, 7), AX(2, 1, 3), LOC, &D));
    out(ir_pad(G, x, AX(1, 0, 2), AX(0, 3, 1), 1.0, LOC, &D));
    int parts[3] = {x, ir_slice(G, x, AX(0, 0, 0), AX(3, 5, 2), AX(1, 1, 1), LOC, &D), x};
    out(ir_concat(G, parts, 3, 2, LOC, &D));
    int rows[2] = {x, ir_slice(G, x, AX(1, 0, 0), AX(2, 5, 7), AX(1, 1, 1), LOC, &D)};
    out(ir_concat(G, rows, 2, 0, LOC, &D));
    finish("movement");
  }
  begin();
  int s = inp(DT_F32, shape_scalar(), -1, 1);
  out(ir_broadcast(G, s, SH(4, 17), LOC, &D));
  out(ir_reshape(G, s, SH(1, 1), LOC, &D));
  int e = inp(DT_F32, SH(0, 3), -1, 1);
  out(ir_pad(G, e, AX(1, 1), AX(1, 0), 2.5, LOC, &D));
  out(ir_permute(G, e, AX(1, 0), 2, LOC, &D));
  int one = inp(DT_F32, SH(1, 6), -1, 1);
  out(ir_broadcast(G, one, SH(5, 6), LOC, &D));
  out(ir_pad(G, one, AX(0, 0), AX(0, 0), 0, LOC, &D));
  finish("movement: scalars, empty and size-1 axes");
}

/* ---- indexing ---- */

static void test_index(void) {
  for (int axis = 0; axis < 3; axis++) {
    begin();
    int x = inp(DT_F32, SH(4, 6, 5), -1, 1);
    int64_t dim = G->nodes[x].shape.d[axis];
    int idx = inp(DT_I32, SH(2, 3), 0, (double)dim);
    out(ir_gather(G, x, idx, axis, LOC, &D));
    int upd = ir_gather(G, x, idx, axis, LOC, &D);
    out(ir_scatter_add(G, upd, idx, axis, dim, LOC, &D));
    out(ir_scatter_add(G, upd, idx, axis, dim + 3, LOC, &D));
    finish("gather/scatter_add");
  }
  begin();
  int idx = inp(DT_I32, SH(37), 0, 10);
  int x = inp(DT_I32, SH(10, 3), -50, 50);
  out(ir_gather(G, x, idx, 0, LOC, &D));
  out(ir_scatter_add(G, ir_gather(G, x, idx, 0, LOC, &D), idx, 0, 10, LOC, &D)); /* repeated indices add */
  out(ir_gather(G, inp(DT_F32, SH(5), -1, 1), inp(DT_I32, shape_scalar(), 0, 5), 0, LOC, &D));
  out(ir_gather(G, inp(DT_F32, SH(5, 2), -1, 1), inp(DT_I32, SH(0), 0, 5), 0, LOC, &D));
  finish("gather/scatter_add: i32, repeated, scalar and empty indices");
  DType ts[4] = {DT_F32, DT_F64, DT_I32, DT_BOOL};
  for (int ti = 0; ti < 4; ti++) {
    begin();
    int i = inp(DT_I32, SH(3, 7), -2, 12); /* some outside [0, depth): zero rows */
    out(ir_one_hot(G, i, 10, ts[ti], LOC, &D));
    out(ir_one_hot(G, inp(DT_I32, shape_scalar(), 0, 3), 3, ts[ti], LOC, &D));
    finish("one_hot");
  }
}

/* ---- contraction ---- */

static void test_matmul(void) {
  /* in f32 (any transposition), N of 8 and more takes emit_matmul.c's packed panels: a
   * last panel narrower than 32 (19, 16, 6 past 64, 8 past 32, 1 past 32, 18 past 32,
   * masked), a partial row group, one-wide k, chunks of row groups, and k in several
   * blocks of KC (256), the last partial, so that a narrow panel's C is read back; the
   * packing of whole 16 x 16 blocks of Bᵀ by vector transposes, rows in several chunks, and
   * both orders of panels and k blocks (K > N: k blocks outside), with a narrow last panel;
   * the rows past the last tile of 8 in tiles of 4, 2 and 1 (M of 63: 7 left) */
  int64_t dims[][3] = {{1, 1, 1},    {3, 5, 7},   {17, 33, 19},  {4, 0, 6},     {2, 64, 16},  {1, 129, 3},
                       {50, 37, 70}, {5, 1, 32},  {130, 64, 96}, {70, 600, 40}, {9, 257, 33}, {20, 300, 50}, {600, 40, 72}, {40, 300, 310}, {63, 20, 40}};
  DType ts[2] = {DT_F32, DT_F64};
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int ti = 0; ti < 2; ti++) {
          int64_t M = dims[k][0], K = dims[k][1], N = dims[k][2];
          begin();
          Shape as = ta ? SH(2, K, M) : SH(2, M, K), bs = tb ? SH(2, N, K) : SH(2, K, N);
          out(ir_matmul(G, inp(ts[ti], as, -2, 2), inp(ts[ti], bs, -2, 2), ta, tb, LOC, &D));
          Shape a2 = ta ? SH(K, M) : SH(M, K), b2 = tb ? SH(N, K) : SH(K, N);
          out(ir_matmul(G, inp(ts[ti], a2, -2, 2), inp(ts[ti], b2, -2, 2), ta, tb, LOC, &D));
          finish("matmul");
        }
}

/* The packed path with what fusion brings to it: a fused epilogue (bias, tanh) and a
 * weight read through a view (a slice of a larger stored tensor). */
static void test_matmul_packed(void) {
  int64_t M = 66, K = 48, N = 80;
  begin();
  int a = inp(DT_F32, SH(M, K), -1, 1), big = inp(DT_F32, SH(N + 5, K + 2), -1, 1);
  int w = ir_slice(G, big, (int64_t[]){3, 1}, (int64_t[]){N + 3, K + 1}, (int64_t[]){1, 1}, LOC, &D);
  int mm = ir_matmul(G, a, w, 0, 1, LOC, &D);
  int y = ir_unary(G, OP_TANH, ir_binary_bc(G, OP_ADD, mm, inp(DT_F32, SH(N), -1, 1), LOC, &D), LOC, &D);
  out(y);
  finish("matmul, packed, epilogue and view");
}

static void test_conv(void) {
  struct { int64_t n, c, h, w, o, kh, kw, sy, sx, py, px; } cs[] = {
      {1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1}, {2, 3, 7, 9, 4, 3, 3, 1, 1, 0, 0}, {2, 3, 8, 8, 5, 4, 4, 2, 2, 1, 1},
      {1, 2, 6, 5, 3, 1, 1, 1, 1, 0, 0}, {2, 2, 7, 7, 2, 3, 2, 2, 3, 2, 1}, {1, 4, 28, 28, 8, 3, 3, 1, 1, 1, 1},
      {1, 1, 3, 3, 2, 5, 5, 1, 1, 2, 2}};
  for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++)
    for (int f64 = 0; f64 < 2; f64++) {
      begin();
      DType t = f64 ? DT_F64 : DT_F32;
      int x = inp(t, SH(cs[k].n, cs[k].c, cs[k].h, cs[k].w), -1, 1);
      int w = inp(t, SH(cs[k].o, cs[k].c, cs[k].kh, cs[k].kw), -1, 1);
      out(ir_conv(G, x, w, AX(cs[k].sy, cs[k].sx), AX(cs[k].py, cs[k].px), LOC, &D));
      finish("conv");
    }
}

static void test_random(void) {
  Shape ss[4] = {SH(1000), SH(3, 17), shape_scalar(), SH(0)};
  for (int k = 0; k < 4; k++) {
    begin();
    int seed = inp(DT_I32, shape_scalar(), -1000000, 1000000);
    out(ir_random(G, seed, 7, ss[k], LOC, &D));
    out(ir_random(G, seed, 0x1234567890LL, ss[k], LOC, &D));
    finish("random");
  }
}

/* ---- fusion on the patterns models are made of ---- */

/* Lower G's high-level ops (decompose, dce) in place, then compare as finish does. */
static void finish_high(const char *what) {
  Graph *low = pass_run(G, NULL, 0, &D);
  CHECK(low != NULL);
  if (!low) return;
  ir_graph_free(G);
  G = low;
  finish(what);
}

static void test_fused_patterns(void) {
  begin();
  int x = inp(DT_F32, SH(6, 37), -2, 2);
  out(ir_op(G, OP_LAYER_NORM, (int[]){x, inp(DT_F32, SH(37), -1, 1), inp(DT_F32, SH(37), -1, 1)}, 3, NULL, 0, LOC, &D));
  out(ir_op(G, OP_SOFTMAX, &x, 1, NULL, 0, LOC, &D));
  out(ir_op(G, OP_LOG_SOFTMAX, &x, 1, NULL, 0, LOC, &D));
  out(ir_op(G, OP_GELU, &x, 1, NULL, 0, LOC, &D));
  finish_high("layer_norm, softmax, log_softmax, gelu");
  begin();
  int q = inp(DT_F32, SH(2, 5, 12), -1, 1), k = inp(DT_F32, SH(2, 5, 12), -1, 1), v = inp(DT_F32, SH(2, 5, 12), -1, 1);
  Attr heads = ATTR_I("heads", 3);
  out(ir_op(G, OP_ATTENTION, (int[]){q, k, v}, 3, &heads, 1, LOC, &D));
  finish_high("attention");
  begin();
  int lg = inp(DT_F32, SH(7, 10), -3, 3), lb = inp(DT_I32, SH(7), 0, 10), mk = inp(DT_BOOL, SH(7), 0, 2);
  tensor_set(tset_get(&IN, G->nodes[mk].name), 0, 1);
  Attr sm = ATTR_F("smoothing", 0.1);
  out(ir_op(G, OP_CROSS_ENTROPY, (int[]){lg, lb, mk}, 3, &sm, 1, LOC, &D));
  finish_high("cross_entropy");
  begin();
  Attr cv[2] = {ATTR_IS("stride", AX(2, 2), 2), ATTR_IS("pad", AX(1, 1), 2)};
  int img = inp(DT_F32, SH(2, 3, 9, 9), -1, 1);
  int c = ir_op(G, OP_CONV2D, (int[]){img, inp(DT_F32, SH(4, 3, 3, 3), -1, 1), inp(DT_F32, SH(4), -1, 1)}, 3, cv, 2, LOC, &D);
  Attr mp = ATTR_IS("kernel", AX(2, 2), 2), up = ATTR_I("scale", 2), pt = ATTR_I("patch", 3);
  out(ir_op(G, OP_UPSAMPLE, (int[]){ir_op(G, OP_MAX_POOL, &c, 1, &mp, 1, LOC, &D)}, 1, &up, 1, LOC, &D));
  out(ir_op(G, OP_PATCHIFY, &img, 1, &pt, 1, LOC, &D));
  finish_high("conv2d, max_pool, upsample, patchify");
  /* chains with fan-out: a value read by two kernels, broadcasts on both sides, a pad and
   * a slice of computed values, a reduction of a fused product */
  begin();
  int a = inp(DT_F32, SH(4, 1, 9), -1, 1), b = inp(DT_F32, SH(3, 9), -1, 1);
  int s1 = ir_unary(G, OP_TANH, ir_binary_bc(G, OP_ADD, a, b, LOC, &D), LOC, &D); /* [4,3,9] */
  int e = ir_unary(G, OP_EXP, s1, LOC, &D);                                        /* two readers */
  out(ir_reduce(G, OP_REDUCE_SUM, ir_binary(G, OP_MUL, e, s1, LOC, &D), AX(2), 1, 1, LOC, &D));
  out(ir_pad(G, ir_slice(G, e, AX(1, 0, 2), AX(4, 3, 9), AX(1, 2, 3), LOC, &D), AX(0, 1, 0), AX(2, 0, 1), -1, LOC, &D));
  out(ir_permute(G, ir_binary_bc(G, OP_MAX, e, ir_const(G, DT_F32, SH(9), 1.5, LOC, &D), LOC, &D), AX(2, 0, 1), 3, LOC, &D));
  finish("fan-out, broadcasts, pad and slice of computed values");
}

/* ---- layout and kernels ---- */

static void test_layout(void) {
  begin();
  int x = inp(DT_F32, SH(4, 8), -1, 1);
  int r = ir_reshape(G, x, SH(32), LOC, &D);      /* alias of x */
  int e = ir_unary(G, OP_EXP, r, LOC, &D);         /* activation */
  int dead = ir_unary(G, OP_LOG, x, LOC, &D);      /* nothing needs it */
  int y = ir_reshape(G, e, SH(2, 16), LOC, &D);    /* output reshape: own slot, a copy */
  out(y);
  CgLayout l;
  CHECK_INT(cg_layout_ex(G, CG_PLAN, &l, &D), 0); /* unfused: one kernel per computed node */
  CHECK_INT(l.inl[r], 1);                       /* a reshape is read through, never stored */
  CHECK_INT(l.slot[r].bytes, -1);
  CHECK_INT(l.slot[x].region, CG_IO);
  CHECK_INT(l.slot[e].region, CG_ACT);
  CHECK_INT(l.slot[y].region, CG_IO);
  CHECK_INT(l.slot[dead].bytes, -1);
  CHECK_INT(l.slot[y].offset % CG_ALIGN, 0);
  CHECK_INT(l.size[CG_IO], 256);
  CgKernel *ks;
  int nk;
  CHECK_INT(cg_kernels(G, &l, "p_", &ks, &nk, &D), 0);
  CHECK_INT(nk, 2); /* exp and the output copy */
  CHECK_STR(ks[0].name, "p_k2");
  CHECK_INT(ks[0].extent, 1); /* rows of the last axis: [32] is one row */
  free(ks);
  cg_layout_free(&l);
  CHECK_INT(cg_layout(G, &l, &D), 0); /* fused: exp is computed by the output's kernel */
  CHECK_INT(l.inl[e], 1);
  CHECK_INT(l.slot[e].bytes, -1);
  CHECK_INT(l.size[CG_ACT], 0);
  CHECK_INT(cg_kernels(G, &l, "p_", &ks, &nk, &D), 0);
  CHECK_INT(nk, 1);
  CHECK_STR(ks[0].name, "p_k4");
  int nl, *lv = cg_leaves(G, l.inl, y, &nl);
  CHECK_INT(nl, 1);
  CHECK_INT(lv[0], x);
  free(lv);
  free(ks);
  cg_layout_free(&l);
  finish("layout");
}

/* ---- departures from the interpreter, and the machine code ---- */

/* Build, optimise and JIT-free check: the kernels' documented behaviour where the
 * interpreter stops with an error. */
static void test_departures(void) {
  begin();
  int a = inp(DT_I32, SH(3), 5, 6), b = inp(DT_I32, SH(3), 0, 1); /* b = 0 */
  out(ir_binary(G, OP_DIV, a, b, LOC, &D));
  int x = inp(DT_F32, SH(4), 1, 2), idx = inp(DT_I32, SH(2), 0, 1);
  tensor_set(tset_get(&IN, G->nodes[idx].name), 0, -5);
  tensor_set(tset_get(&IN, G->nodes[idx].name), 1, 99);
  out(ir_gather(G, x, idx, 0, LOC, &D));
  JitOptions o = {.no_cache = 1};
  JitProgram *p = jit_compile(G, &o, &D);
  TensorSet got;
  tset_init(&got);
  CHECK(p && jit_run(p, &IN, &W, &got, &D) == 0);
  const Tensor *q = tset_get(&got, "y0"), *gt = tset_get(&got, "y1");
  CHECK(q && gt);
  if (q && gt) {
    for (int i = 0; i < 3; i++) CHECK_INT(tensor_get(q, i), 0);
    CHECK(tensor_get(gt, 0) == tensor_get(tset_get(&IN, G->nodes[x].name), 0)); /* clamped to 0 */
    CHECK(tensor_get(gt, 1) == tensor_get(tset_get(&IN, G->nodes[x].name), 3)); /* clamped to 3 */
  }
  tset_free(&got);
  jit_free(p);
  ir_graph_free(G);
  tset_free(&IN);
  tset_free(&W);
}

/* The optimised kernels of g as assembly text (malloc'd). */
static char *assembly(const Graph *g) {
  CgLayout l;
  CgModule m;
  CgTarget t;
  char *text = NULL;
  if (cg_layout(g, &l, &D)) return NULL;
  if (cg_target_init(&t, NULL, NULL, &D) == 0) {
    if (cg_emit(g, &l, "a_", &m, &D) == 0) {
      if (cg_optimize(&m, &t, &D) == 0) {
        LLVMMemoryBufferRef buf = NULL;
        char *err = NULL;
        if (!LLVMTargetMachineEmitToMemoryBuffer(t.tm, m.mod, LLVMAssemblyFile, &err, &buf)) {
          size_t n = LLVMGetBufferSize(buf);
          text = malloc(n + 1);
          memcpy(text, LLVMGetBufferStart(buf), n);
          text[n] = 0;
          LLVMDisposeMemoryBuffer(buf);
        }
        LLVMDisposeMessage(err);
      }
      cg_module_free(&m);
    }
    cg_target_free(&t);
  }
  cg_layout_free(&l);
  return text;
}

static void test_machine_code(void) {
  char *feat = LLVMGetHostCPUFeatures();
  int avx512 = feat && strstr(feat, "+avx512f") != NULL;
  LLVMDisposeMessage(feat);
  begin();
  int x = inp(DT_F32, SH(1000), -1, 1), y = inp(DT_F32, SH(1000), -1, 1);
  out(ir_binary(G, OP_ADD, x, y, LOC, &D));
  OpKind fns[4] = {OP_EXP, OP_LOG, OP_TANH, OP_ERF};
  for (int k = 0; k < 4; k++) out(ir_unary(G, fns[k], x, LOC, &D));
  out(ir_reduce(G, OP_REDUCE_SUM, ir_reshape(G, x, SH(10, 100), LOC, &D), AX(1), 1, 0, LOC, &D));
  char *s = assembly(G);
  CHECK(s != NULL);
  if (s) {
    if (avx512) CHECK(strstr(s, "zmm") != NULL);
    else CHECK(strstr(s, "xmm") != NULL || strstr(s, "ymm") != NULL || strstr(s, "v0") != NULL);
    const char *libm[] = {"expf", "logf", "tanhf", "erff"};
    for (int k = 0; k < 4; k++) {
      char call[32];
      snprintf(call, sizeof call, "call\t%s", libm[k]);
      if (strstr(s, call)) fprintf(stderr, "  scalar libm call found: %s\n", libm[k]);
      CHECK(strstr(s, call) == NULL);
    }
    fprintf(stderr, "  assembly: %zu bytes, zmm %s (host avx512f: %s)\n", strlen(s), strstr(s, "zmm") ? "yes" : "no",
            avx512 ? "yes" : "no");
  }
  free(s);
  ir_graph_free(G);
  tset_free(&IN);
  tset_free(&W);
}

int main(void) {
  init_shapes();
  RUN(test_unary);
  RUN(test_cast);
  RUN(test_binary);
  RUN(test_where_sources);
  RUN(test_reduce);
  RUN(test_move);
  RUN(test_index);
  RUN(test_matmul);
  RUN(test_matmul_packed);
  RUN(test_conv);
  RUN(test_random);
  RUN(test_fused_patterns);
  RUN(test_layout);
  RUN(test_departures);
  RUN(test_machine_code);
  fprintf(stderr, "%d graphs compared\n", ncases);
  return CHECK_DONE();
}
