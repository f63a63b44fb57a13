/* emit_ops.c — kernel bodies for concat, indexing (gather, scatter_add, one_hot),
 * convolution (matmul: emit_matmul.c) and the Philox generator (the other movement ops are
 * computed element by element like elementwise ones: emit.c). Each is the interpreter's definition written as a loop nest whose
 * innermost loop runs along the output's last axis, so that LLVM's vectoriser finds
 * contiguous stores; index arithmetic is linear in the loop variables so that LICM and
 * strength reduction take it out of the inner loop. The parallel range of each kernel is
 * the one cg_extent (emit.c) reports. */
#include <stdlib.h>

#include "codegen/emit.h"
#include "philox.h"

/* a < b ? a : b and friends on i64 values */
static LLVMValueRef smin(Em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef smax(Em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* An i32 index read from memory, as i64 clamped to [0, limit - 1] (limit >= 1). */
static LLVMValueRef clamp_index(Em *e, LLVMValueRef v32, int64_t limit) {
  LLVMValueRef v = LLVMBuildSExt(e->b, v32, e->i64, "");
  return smin(e, smax(e, v, em_i64(e, 0)), em_i64(e, limit - 1));
}

/* ---- movement ---- */

static void close_nest(Em *e, Loop *L, int n) {
  for (int k = n - 1; k >= 0; k--) loop_end(e, &L[k], NULL);
}

/* Each input is copied into its block of the output; along axis 0 the block is cut to
 * the kernel's range. */
static void concat(Em *e) {
  const Node *n = e->n;
  int axis = (int)ir_attr_i(n, "axis");
  int64_t ost[IR_MAX_RANK], off = 0;
  em_strides(&n->shape, ost);
  for (int j = 0; j < n->nin; j++) {
    const Shape *s = &e->g->nodes[n->in[j]].shape;
    int64_t ist[IR_MAX_RANK];
    em_strides(s, ist);
    Loop L[IR_MAX_RANK];
    LLVMValueRef iv[IR_MAX_RANK];
    for (int k = 0; k < s->rank; k++) {
      LLVMValueRef lo = em_i64(e, 0), hi = em_i64(e, s->d[k]);
      if (k == 0 && axis == 0) { /* the range, in this input's coordinates */
        lo = smax(e, LLVMBuildNSWSub(e->b, e->lo, em_i64(e, off), ""), lo);
        hi = smin(e, LLVMBuildNSWSub(e->b, e->hi, em_i64(e, off), ""), hi);
      } else if (k == 0) {
        lo = e->lo;
        hi = e->hi;
      }
      iv[k] = loop_begin(e, &L[k], lo, hi);
    }
    LLVMValueRef oi = em_i64(e, axis < s->rank ? off * ost[axis] : 0), xi = em_i64(e, 0);
    for (int k = 0; k < s->rank; k++) {
      oi = em_add(e, oi, em_mulc(e, iv[k], ost[k]));
      xi = em_add(e, xi, em_mulc(e, iv[k], ist[k]));
    }
    em_store(e, n->dtype, e->out, oi, em_in(e, j, xi));
    close_nest(e, L, s->rank);
    off += s->d[axis];
  }
}

void em_move(Em *e) {
  concat(e); /* the other movement ops are em_flat's (emit.c) */
}

/* ---- indexing ---- */

static int64_t prod(const Shape *s, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++) p *= s->d[k];
  return p;
}

/* out[p, j, q] = x[p, idx[j], q] over the rows t = p * J + j of the range. */
static void gather(Em *e) {
  const Node *n = e->n;
  const Shape *xs = &e->g->nodes[n->in[0]].shape;
  int axis = (int)ir_attr_i(n, "axis");
  int64_t X = xs->d[axis], Q = prod(xs, axis + 1, xs->rank);
  int64_t J = shape_numel(&e->g->nodes[n->in[1]].shape);
  Loop Lt, Lq;
  LLVMValueRef t = loop_begin(e, &Lt, e->lo, e->hi);
  LLVMValueRef p = LLVMBuildSDiv(e->b, t, em_i64(e, J ? J : 1), "");
  LLVMValueRef j = LLVMBuildSRem(e->b, t, em_i64(e, J ? J : 1), "");
  LLVMValueRef q = loop_begin(e, &Lq, em_i64(e, 0), em_i64(e, Q));
  LLVMValueRef v = em_const(e, n->dtype, 0);
  if (X) {
    LLVMValueRef k = clamp_index(e, em_in(e, 1, j), X);
    LLVMValueRef xi = em_add(e, em_mulc(e, em_add(e, em_mulc(e, p, X), k), Q), q);
    v = em_in(e, 0, xi);
  }
  em_store(e, n->dtype, e->out, em_add(e, em_mulc(e, t, Q), q), v);
  loop_end(e, &Lq, NULL);
  loop_end(e, &Lt, NULL);
}

/* For each prefix p of the range: out[p] = 0, then out[p, idx[j], q] += upd[p, j, q] in
 * j order (repeated indices add up, in the interpreter's order). */
static void scatter_add(Em *e) {
  const Node *n = e->n;
  const Shape *us = &e->g->nodes[n->in[0]].shape;
  const Shape *is = &e->g->nodes[n->in[1]].shape;
  int axis = (int)ir_attr_i(n, "axis");
  int64_t S = ir_attr_i(n, "size"), J = shape_numel(is), Q = prod(us, axis + is->rank, us->rank);
  DType t = n->dtype;
  Loop Lp, Lz, Lj, Lq;
  LLVMValueRef p = loop_begin(e, &Lp, e->lo, e->hi);
  LLVMValueRef z = loop_begin(e, &Lz, em_i64(e, 0), em_i64(e, S * Q));
  em_store(e, t, e->out, em_add(e, em_mulc(e, p, S * Q), z), em_const(e, t, 0));
  loop_end(e, &Lz, NULL);
  if (S) {
    LLVMValueRef j = loop_begin(e, &Lj, em_i64(e, 0), em_i64(e, J));
    LLVMValueRef k = clamp_index(e, em_in(e, 1, j), S);
    LLVMValueRef orow = em_mulc(e, em_add(e, em_mulc(e, p, S), k), Q);
    LLVMValueRef urow = em_mulc(e, em_add(e, em_mulc(e, p, J), j), Q);
    LLVMValueRef q = loop_begin(e, &Lq, em_i64(e, 0), em_i64(e, Q));
    LLVMValueRef oi = em_add(e, orow, q);
    LLVMValueRef u = em_in(e, 0, em_add(e, urow, q)), o = em_load(e, t, e->out, oi);
    em_store(e, t, e->out, oi, t == DT_I32 ? LLVMBuildAdd(e->b, o, u, "") : LLVMBuildFAdd(e->b, o, u, ""));
    loop_end(e, &Lq, NULL);
    loop_end(e, &Lj, NULL);
  }
  loop_end(e, &Lp, NULL);
}

/* out[j, k] = idx[j] == k */
static void one_hot(Em *e) {
  const Node *n = e->n;
  int64_t D = ir_attr_i(n, "depth");
  Loop Lj, Lk;
  LLVMValueRef j = loop_begin(e, &Lj, e->lo, e->hi);
  LLVMValueRef v = LLVMBuildSExt(e->b, em_in(e, 0, j), e->i64, "");
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, D));
  LLVMValueRef hit = LLVMBuildICmp(e->b, LLVMIntEQ, v, k, "");
  em_store(e, n->dtype, e->out, em_add(e, em_mulc(e, j, D), k), em_cast(e, hit, DT_BOOL, n->dtype));
  loop_end(e, &Lk, NULL);
  loop_end(e, &Lj, NULL);
}

void em_index(Em *e) {
  switch (e->n->op) {
  case OP_GATHER: gather(e); break;
  case OP_SCATTER_ADD: scatter_add(e); break;
  default: one_hot(e); break;
  }
}

/* ---- contraction ---- */


/* The outputs o in [0, OUT) whose input coordinate o*s + a lies in [0, IN):
 * [ceil(-a / s), floor((IN - 1 - a) / s) + 1), clipped to [0, OUT). a is an i64 value. */
static void valid_range(Em *e, LLVMValueRef a, int64_t s, int64_t in, int64_t out, LLVMValueRef *lo,
                        LLVMValueRef *hi) {
  LLVMValueRef zero = em_i64(e, 0);
  LLVMValueRef na = smax(e, LLVMBuildNSWSub(e->b, zero, a, ""), zero); /* -a, at least 0 */
  *lo = LLVMBuildSDiv(e->b, em_add(e, na, em_i64(e, s - 1)), em_i64(e, s), "");
  LLVMValueRef c = LLVMBuildNSWSub(e->b, em_i64(e, in - 1), a, "");
  LLVMValueRef h = em_add(e, LLVMBuildSDiv(e->b, smax(e, c, zero), em_i64(e, s), ""), em_i64(e, 1));
  *hi = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, c, zero, ""), zero, smin(e, h, em_i64(e, out)), "");
}

/* For each (image b, output channel o) of the range, over c, p, q: the output plane
 * accumulates the weight w[o,c,p,q] times the input plane shifted by (p, q), each row
 * cut to the positions that read inside the input (no padding is materialised). */
static void conv(Em *e) {
  const Node *n = e->n;
  const Shape *xs = &e->g->nodes[n->in[0]].shape, *ws = &e->g->nodes[n->in[1]].shape, *os = &n->shape;
  int cnt;
  const int64_t *st = ir_attr_is(n, "stride", &cnt), *pd = ir_attr_is(n, "pad", &cnt);
  int64_t C = xs->d[1], H = xs->d[2], W = xs->d[3], O = ws->d[0], KH = ws->d[2], KW = ws->d[3];
  int64_t OH = os->d[2], OW = os->d[3];
  DType t = n->dtype;
  Loop Lt, Lz, Lc, Lp, Lq, Ly, Lx;
  LLVMValueRef bo = loop_begin(e, &Lt, e->lo, e->hi);
  LLVMValueRef b = LLVMBuildSDiv(e->b, bo, em_i64(e, O ? O : 1), "");
  LLVMValueRef o = LLVMBuildSRem(e->b, bo, em_i64(e, O ? O : 1), "");
  LLVMValueRef obase = em_mulc(e, bo, OH * OW);
  LLVMValueRef z = loop_begin(e, &Lz, em_i64(e, 0), em_i64(e, OH * OW));
  em_store(e, t, e->out, em_add(e, obase, z), em_const(e, t, 0));
  loop_end(e, &Lz, NULL);
  LLVMValueRef c = loop_begin(e, &Lc, em_i64(e, 0), em_i64(e, C));
  LLVMValueRef xbase = em_mulc(e, em_add(e, em_mulc(e, b, C), c), H * W);
  LLVMValueRef wbase = em_mulc(e, em_add(e, em_mulc(e, o, C), c), KH * KW);
  LLVMValueRef p = loop_begin(e, &Lp, em_i64(e, 0), em_i64(e, KH));
  LLVMValueRef ay = LLVMBuildNSWSub(e->b, p, em_i64(e, pd[0]), ""), ylo, yhi;
  valid_range(e, ay, st[0], H, OH, &ylo, &yhi);
  LLVMValueRef q = loop_begin(e, &Lq, em_i64(e, 0), em_i64(e, KW));
  LLVMValueRef ax = LLVMBuildNSWSub(e->b, q, em_i64(e, pd[1]), ""), xlo, xhi;
  valid_range(e, ax, st[1], W, OW, &xlo, &xhi);
  LLVMValueRef wv = em_in(e, 1, em_add(e, wbase, em_add(e, em_mulc(e, p, KW), q)));
  LLVMValueRef y = loop_begin(e, &Ly, ylo, yhi);
  LLVMValueRef iy = em_add(e, em_mulc(e, y, st[0]), ay);
  LLVMValueRef orow = em_add(e, obase, em_mulc(e, y, OW)), xrow = em_add(e, xbase, em_mulc(e, iy, W));
  LLVMValueRef x = loop_begin(e, &Lx, xlo, xhi);
  LLVMValueRef ix = em_add(e, em_mulc(e, x, st[1]), ax);
  LLVMValueRef oi = em_add(e, orow, x);
  LLVMValueRef v = em_mul_add(e, t, em_load(e, t, e->out, oi), em_in(e, 0, em_add(e, xrow, ix)), wv);
  em_store(e, t, e->out, oi, v);
  loop_end(e, &Lx, NULL);
  loop_end(e, &Ly, NULL);
  loop_end(e, &Lq, NULL);
  loop_end(e, &Lp, NULL);
  loop_end(e, &Lc, NULL);
  if (e->epik) { /* the fused epilogue over this output plane's rows */
    LLVMValueRef r0 = em_mulc(e, bo, OH);
    em_epilogue(e, r0, em_add(e, r0, em_i64(e, OH)));
  }
  loop_end(e, &Lt, NULL);
}

void em_contract(Em *e) {
  if (e->n->op == OP_MATMUL) em_matmul(e);
  else conv(e);
}

/* ---- random: Philox-4x32-10 per element, as runtime/philox.h ---- */

void em_random(Em *e) {
  LLVMValueRef seed = em_in(e, 0, em_i64(e, 0));
  uint32_t stream = (uint32_t)ir_attr_i(e->n, "stream");
  Loop L;
  LLVMValueRef i = loop_begin(e, &L, e->lo, e->hi);
  LLVMValueRef c[4] = {LLVMBuildTrunc(e->b, i, e->i32, ""),
                       LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, i, em_i64(e, 32), ""), e->i32, ""), em_i32(e, 0),
                       em_i32(e, 0)};
  LLVMValueRef k0 = seed;
  uint32_t k1 = stream;
  LLVMValueRef m0 = em_i64(e, PHILOX_M0), m1 = em_i64(e, PHILOX_M1), sh = em_i64(e, 32);
  for (int r = 0; r < 10; r++) {
    if (r) {
      k0 = LLVMBuildAdd(e->b, k0, em_i32(e, (int32_t)PHILOX_W0), "");
      k1 += PHILOX_W1;
    }
    LLVMValueRef p0 = LLVMBuildMul(e->b, LLVMBuildZExt(e->b, c[0], e->i64, ""), m0, "");
    LLVMValueRef p1 = LLVMBuildMul(e->b, LLVMBuildZExt(e->b, c[2], e->i64, ""), m1, "");
    LLVMValueRef hi0 = LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, p0, sh, ""), e->i32, "");
    LLVMValueRef lo0 = LLVMBuildTrunc(e->b, p0, e->i32, "");
    LLVMValueRef hi1 = LLVMBuildTrunc(e->b, LLVMBuildLShr(e->b, p1, sh, ""), e->i32, "");
    LLVMValueRef lo1 = LLVMBuildTrunc(e->b, p1, e->i32, "");
    LLVMValueRef n0 = LLVMBuildXor(e->b, LLVMBuildXor(e->b, hi1, c[1], ""), k0, "");
    LLVMValueRef n2 = LLVMBuildXor(e->b, LLVMBuildXor(e->b, hi0, c[3], ""), em_i32(e, (int32_t)k1), "");
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
  }
  LLVMValueRef top = LLVMBuildLShr(e->b, c[0], em_i32(e, 8), "");
  LLVMValueRef u = LLVMBuildFMul(e->b, LLVMBuildUIToFP(e->b, top, e->f32, ""), LLVMConstReal(e->f32, 1.0 / 16777216.0), "");
  em_store(e, DT_F32, e->out, i, u);
  loop_end(e, &L, NULL);
}
