/* emit_ops.c — kernel bodies for concat, indexing (gather, scatter_add, one_hot),
 * contraction (matmul, conv) and the Philox generator (the other movement ops are
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

static LLVMValueRef mul_add(Em *e, DType t, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  if (t == DT_I32) return LLVMBuildAdd(e->b, acc, LLVMBuildMul(e->b, a, b, ""), "");
  LLVMValueRef m = LLVMBuildFMul(e->b, a, b, "");
  LLVMValueRef s = LLVMBuildFAdd(e->b, acc, m, "");
  em_reassoc(m); /* contract: may become one fma */
  em_reassoc(s);
  return s;
}

/* The kernel's own node over rows [r0, r1) of the contraction just computed there
 * (fuse.h rule 5b). */
static void epilogue(Em *e, LLVMValueRef r0, LLVMValueRef r1) {
  const Node *mm = e->n;
  e->n = e->epik;
  em_rows(e, r0, r1);
  e->n = mm;
}

/* ---- matmul ----
 *
 * The range is over groups of MR rows of C (per batch entry). A full group of C = A Bᵀ
 * with both operands contiguous along k (the layout of every linear layer: weights are
 * [out, in]) goes through a register-tiled micro-kernel: MR x NR dot products at once,
 * VW lanes of k per step held in MR*NR vector accumulators, so each loaded vector feeds
 * four multiply-adds. Everything else — the group's columns past the last full tile,
 * groups of fewer rows, and the other transpose cases — takes the row path: without
 * tb, C's row accumulates a[m,k] * B's row k (contiguous in B and C); with tb, each
 * C[m,n] is a dot product along k. The packed, cache-blocked generator is the next step
 * (the performance work). */

#define MR EM_MATMUL_MR
#define NR 4

/* The stored value matmul operand k is read from (through reshapes, which keep the
 * linear index): its pointer. */
static LLVMValueRef operand_ptr(Em *e, int k) {
  int id = e->n->in[k];
  while (e->inl[id] && e->g->nodes[id].op == OP_RESHAPE) id = e->g->nodes[id].in[0];
  for (int j = 0; j < e->nleaf; j++)
    if (e->leaf[j] == id) return e->leafp[j];
  return NULL;
}

/* Row m of C (batch bat) for the columns [n0, N). */
static void matmul_row(Em *e, LLVMValueRef bat, LLVMValueRef m, LLVMValueRef n0) {
  const Node *n = e->n;
  const Shape *as = &e->g->nodes[n->in[0]].shape, *os = &n->shape;
  int r = os->rank, ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
  int64_t M = os->d[r - 2], N = os->d[r - 1], K = ta ? as->d[r - 2] : as->d[r - 1];
  DType t = n->dtype;
  Loop Lk, Ln;
  LLVMValueRef abase = em_mulc(e, bat, M * K), bbase = em_mulc(e, bat, K * N);
  LLVMValueRef cbase = em_mulc(e, em_add(e, em_mulc(e, bat, M), m), N);
  /* a[m, k] is at abase + m*K + k, or abase + k*M + m when ta */
  if (!tb) {
    LLVMValueRef z = loop_begin(e, &Ln, n0, em_i64(e, N));
    em_store(e, t, e->out, em_add(e, cbase, z), em_const(e, t, 0));
    loop_end(e, &Ln, NULL);
    LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
    LLVMValueRef ai = ta ? em_add(e, em_mulc(e, k, M), m) : em_add(e, em_mulc(e, m, K), k);
    LLVMValueRef av = em_in(e, 0, em_add(e, abase, ai));
    LLVMValueRef brow = em_add(e, bbase, em_mulc(e, k, N));
    LLVMValueRef j = loop_begin(e, &Ln, n0, em_i64(e, N));
    LLVMValueRef ci = em_add(e, cbase, j);
    LLVMValueRef c = mul_add(e, t, em_load(e, t, e->out, ci), av, em_in(e, 1, em_add(e, brow, j)));
    em_store(e, t, e->out, ci, c);
    loop_end(e, &Ln, NULL);
    loop_end(e, &Lk, NULL);
  } else {
    LLVMValueRef j = loop_begin(e, &Ln, n0, em_i64(e, N));
    LLVMValueRef brow = em_add(e, bbase, em_mulc(e, j, K));
    LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
    LLVMValueRef acc = loop_carry(e, &Lk, em_const(e, t, 0));
    LLVMValueRef ai = ta ? em_add(e, em_mulc(e, k, M), m) : em_add(e, em_mulc(e, m, K), k);
    LLVMValueRef next = mul_add(e, t, acc, em_in(e, 0, em_add(e, abase, ai)), em_in(e, 1, em_add(e, brow, k)));
    loop_end(e, &Lk, &next);
    em_store(e, t, e->out, em_add(e, cbase, j), acc);
    loop_end(e, &Ln, NULL);
  }
}

/* The MR x NR tiles of rows m0.. (a full group) of C = A Bᵀ, columns [0, N / NR * NR). */
static void matmul_tiles(Em *e, LLVMValueRef bat, LLVMValueRef m0, LLVMValueRef pa, LLVMValueRef pb) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank;
  int64_t M = os->d[r - 2], N = os->d[r - 1], K = e->g->nodes[n->in[0]].shape.d[r - 1];
  DType t = n->dtype;
  LLVMTypeRef ft = em_type(e, t);
  unsigned vw = t == DT_F64 ? 8 : 16;
  LLVMTypeRef vt = LLVMVectorType(ft, vw);
  int64_t kv = K / vw;
  LLVMValueRef abase = em_mulc(e, bat, M * K), bbase = em_mulc(e, bat, K * N);
  LLVMValueRef arow[MR], brow[NR];
  for (int i = 0; i < MR; i++) arow[i] = em_add(e, abase, em_mulc(e, em_add(e, m0, em_i64(e, i)), K));
  Loop Lb, Lv, Lk;
  LLVMValueRef nb = loop_begin(e, &Lb, em_i64(e, 0), em_i64(e, N / NR));
  for (int j = 0; j < NR; j++) brow[j] = em_add(e, bbase, em_mulc(e, em_add(e, em_mulc(e, nb, NR), em_i64(e, j)), K));
  /* vector steps along k */
  LLVMValueRef acc[MR * NR], sum[MR * NR], next[MR * NR];
  LLVMValueRef v = loop_begin(e, &Lv, em_i64(e, 0), em_i64(e, kv));
  for (int q = 0; q < MR * NR; q++) acc[q] = loop_carry(e, &Lv, LLVMConstNull(vt));
  LLVMValueRef kk = em_mulc(e, v, vw), av[MR], bv[NR];
  for (int i = 0; i < MR; i++) {
    LLVMValueRef ix = em_add(e, arow[i], kk);
    av[i] = LLVMBuildLoad2(e->b, vt, LLVMBuildInBoundsGEP2(e->b, ft, pa, &ix, 1, ""), "");
    LLVMSetAlignment(av[i], (unsigned)dtype_size(t));
  }
  for (int j = 0; j < NR; j++) {
    LLVMValueRef ix = em_add(e, brow[j], kk);
    bv[j] = LLVMBuildLoad2(e->b, vt, LLVMBuildInBoundsGEP2(e->b, ft, pb, &ix, 1, ""), "");
    LLVMSetAlignment(bv[j], (unsigned)dtype_size(t));
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      LLVMValueRef args[3] = {av[i], bv[j], acc[i * NR + j]};
      next[i * NR + j] = em_intrinsic(e, "llvm.fmuladd", vt, args, 3);
    }
  loop_end(e, &Lv, next);
  for (int q = 0; q < MR * NR; q++) {
    LLVMValueRef args[2] = {LLVMConstReal(ft, 0), acc[q]};
    sum[q] = em_intrinsic(e, "llvm.vector.reduce.fadd", vt, args, 2);
    em_reassoc(sum[q]);
  }
  /* the last K % vw steps, one lane at a time */
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, kv * vw), em_i64(e, K));
  LLVMValueRef s2[MR * NR], n2[MR * NR];
  for (int q = 0; q < MR * NR; q++) s2[q] = loop_carry(e, &Lk, sum[q]);
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      n2[i * NR + j] = mul_add(e, t, s2[i * NR + j], em_load(e, t, pa, em_add(e, arow[i], k)),
                               em_load(e, t, pb, em_add(e, brow[j], k)));
  loop_end(e, &Lk, n2);
  for (int i = 0; i < MR; i++) {
    LLVMValueRef crow = em_mulc(e, em_add(e, em_add(e, em_mulc(e, bat, M), m0), em_i64(e, i)), N);
    for (int j = 0; j < NR; j++)
      em_store(e, t, e->out, em_add(e, crow, em_add(e, em_mulc(e, nb, NR), em_i64(e, j))), s2[i * NR + j]);
  }
  loop_end(e, &Lb, NULL);
}

/* The MR x (2 VW) tiles of rows m0.. of C = op(A) B with B contiguous along n: per k,
 * MR broadcast elements of A times two vectors of B's row k into 2 MR vector
 * accumulators. Columns [0, N / (2 VW) * 2 VW). */
static void matmul_tiles_nn(Em *e, LLVMValueRef bat, LLVMValueRef m0, LLVMValueRef pa, LLVMValueRef pb, int ta) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank;
  int64_t M = os->d[r - 2], N = os->d[r - 1];
  int64_t K = ta ? e->g->nodes[n->in[0]].shape.d[r - 2] : e->g->nodes[n->in[0]].shape.d[r - 1];
  DType t = n->dtype;
  LLVMTypeRef ft = em_type(e, t);
  unsigned vw = t == DT_F64 ? 8 : 16;
  LLVMTypeRef vt = LLVMVectorType(ft, vw);
  LLVMValueRef abase = em_mulc(e, bat, M * K), bbase = em_mulc(e, bat, K * N);
  Loop Lb, Lk;
  LLVMValueRef nb = loop_begin(e, &Lb, em_i64(e, 0), em_i64(e, N / (2 * vw)));
  LLVMValueRef n0 = em_mulc(e, nb, 2 * vw);
  LLVMValueRef acc[MR * 2], next[MR * 2];
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
  for (int q = 0; q < MR * 2; q++) acc[q] = loop_carry(e, &Lk, LLVMConstNull(vt));
  LLVMValueRef bv[2];
  for (int j = 0; j < 2; j++) {
    LLVMValueRef ix = em_add(e, em_add(e, bbase, em_mulc(e, k, N)), em_add(e, n0, em_i64(e, j * vw)));
    bv[j] = LLVMBuildLoad2(e->b, vt, LLVMBuildInBoundsGEP2(e->b, ft, pb, &ix, 1, ""), "");
    LLVMSetAlignment(bv[j], (unsigned)dtype_size(t));
  }
  for (int i = 0; i < MR; i++) {
    LLVMValueRef m = em_add(e, m0, em_i64(e, i));
    LLVMValueRef ai = em_add(e, abase, ta ? em_add(e, em_mulc(e, k, M), m) : em_add(e, em_mulc(e, m, K), k));
    LLVMValueRef a = em_load(e, t, pa, ai);
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), a, em_i32(e, 0), "");
    LLVMValueRef splat = LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(e->i32, vw)), "");
    for (int j = 0; j < 2; j++) {
      LLVMValueRef args[3] = {splat, bv[j], acc[i * 2 + j]};
      next[i * 2 + j] = em_intrinsic(e, "llvm.fmuladd", vt, args, 3);
    }
  }
  loop_end(e, &Lk, next);
  for (int i = 0; i < MR; i++) {
    LLVMValueRef crow = em_mulc(e, em_add(e, em_add(e, em_mulc(e, bat, M), m0), em_i64(e, i)), N);
    for (int j = 0; j < 2; j++) {
      LLVMValueRef ix = em_add(e, crow, em_add(e, n0, em_i64(e, j * vw)));
      LLVMValueRef st = LLVMBuildStore(e->b, acc[i * 2 + j], LLVMBuildInBoundsGEP2(e->b, ft, e->out, &ix, 1, ""));
      LLVMSetAlignment(st, (unsigned)dtype_size(t));
    }
  }
  loop_end(e, &Lb, NULL);
}

static void matmul(Em *e) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank, ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
  int64_t M = os->d[r - 2], N = os->d[r - 1], G = (M + MR - 1) / MR;
  LLVMValueRef pa = operand_ptr(e, 0), pb = operand_ptr(e, 1);
  int64_t vw2 = n->dtype == DT_F64 ? 16 : 32; /* columns of an A·B tile */
  int tiles_t = tb && !ta && pa && pb && dtype_is_float(n->dtype) && N >= NR;   /* A·Bᵀ */
  int tiles_n = !tb && pa && pb && dtype_is_float(n->dtype) && N >= vw2;        /* op(A)·B */
  int tiles = tiles_t || tiles_n;
  int64_t tiled_cols = tiles_t ? N / NR * NR : tiles_n ? N / vw2 * vw2 : 0;
  Loop Lg, Lr;
  LLVMValueRef grp = loop_begin(e, &Lg, e->lo, e->hi);
  LLVMValueRef bat = LLVMBuildUDiv(e->b, grp, em_i64(e, G ? G : 1), "");
  LLVMValueRef m0 = em_mulc(e, LLVMBuildURem(e->b, grp, em_i64(e, G ? G : 1), ""), MR);
  LLVMValueRef rows = LLVMBuildSub(e->b, em_i64(e, M), m0, "");
  rows = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, rows, em_i64(e, MR), ""), rows, em_i64(e, MR), "");
  if (tiles) { /* a full group: tiles, then each row's remaining columns */
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "full"),
                      part = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "part"),
                      join = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "join");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, rows, em_i64(e, MR), ""), full, part);
    LLVMPositionBuilderAtEnd(e->b, full);
    if (tiles_t) matmul_tiles(e, bat, m0, pa, pb);
    else matmul_tiles_nn(e, bat, m0, pa, pb, ta);
    if (tiled_cols < N) {
      LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), em_i64(e, MR));
      matmul_row(e, bat, em_add(e, m0, i), em_i64(e, tiled_cols));
      loop_end(e, &Lr, NULL);
    }
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, part);
    LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), rows);
    matmul_row(e, bat, em_add(e, m0, i), em_i64(e, 0));
    loop_end(e, &Lr, NULL);
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, join);
  } else {
    LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), rows);
    matmul_row(e, bat, em_add(e, m0, i), em_i64(e, 0));
    loop_end(e, &Lr, NULL);
  }
  if (e->epik) { /* the fused epilogue over the rows just computed, while they are in cache */
    LLVMValueRef r0 = em_add(e, em_mulc(e, bat, M), m0);
    epilogue(e, r0, em_add(e, r0, rows));
  }
  loop_end(e, &Lg, NULL);
}

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
  LLVMValueRef v = mul_add(e, t, em_load(e, t, e->out, oi), em_in(e, 0, em_add(e, xrow, ix)), wv);
  em_store(e, t, e->out, oi, v);
  loop_end(e, &Lx, NULL);
  loop_end(e, &Ly, NULL);
  loop_end(e, &Lq, NULL);
  loop_end(e, &Lp, NULL);
  loop_end(e, &Lc, NULL);
  if (e->epik) { /* the fused epilogue over this output plane's rows */
    LLVMValueRef r0 = em_mulc(e, bo, OH);
    epilogue(e, r0, em_add(e, r0, em_i64(e, OH)));
  }
  loop_end(e, &Lt, NULL);
}

void em_contract(Em *e) {
  if (e->n->op == OP_MATMUL) matmul(e);
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
