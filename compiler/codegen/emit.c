/* emit.c — cg_emit: one LLVM function per kernel, built through the C API. This file
 * holds the kernel scaffolding (see emit.h), the loop and value helpers, the kernels
 * that compute their output element by element (elementwise, sources, movement) and
 * reductions, and each kernel's range (cg_extent); emit_kernel.c the kernels and their
 * bodies (cg_emit); emit_value.c the value of one element (every elementwise op's
 * arithmetic, fused producers); emit_ops.c concat, indexing, contraction and random.
 *
 * Semantics follow the interpreter (compiler/interp), with three documented departures
 * where the interpreter stops with an error and a kernel cannot: an i32 division by zero
 * gives 0, and gather/scatter_add indices outside their range are clamped to it. The
 * rest matches exactly in kind: i32 arithmetic wraps, INT32_MIN / -1 is INT32_MIN, float
 * to i32 truncates and saturates (NaN -> 0), max and min propagate NaN, comparisons with
 * NaN are false. f32 values are computed in f32, so results differ from the
 * interpreter's (which rounds a double result once per node) by rounding only; sums are
 * marked reassociable so the vectoriser may split them into lanes.
 *
 * Parallel ranges (cg_extent): elementwise ops and sources split their elements; a
 * reduction splits its outermost kept axis (or runs whole when the outermost axis is
 * reduced); movement ops split the output's first axis; gather its (prefix, index)
 * rows, scatter_add its prefix, matmul its (batch, row) pairs, conv its (image, output
 * channel) pairs. */
#include <stdlib.h>
#include <string.h>

#include "codegen/emit.h"

/* ---- small helpers ---- */

LLVMValueRef em_i64(Em *e, int64_t v) {
  return LLVMConstInt(e->i64, (unsigned long long)v, 1);
}

LLVMValueRef em_i32(Em *e, int32_t v) {
  return LLVMConstInt(e->i32, (unsigned long long)(int64_t)v, 1);
}

LLVMTypeRef em_type(Em *e, DType t) {
  switch (t) {
  case DT_F32: return e->f32;
  case DT_F64: return e->f64;
  case DT_I32: return e->i32;
  default: return e->i8;
  }
}

LLVMValueRef em_const(Em *e, DType t, double v) {
  switch (t) {
  case DT_F32: return LLVMConstReal(e->f32, (double)(float)v);
  case DT_F64: return LLVMConstReal(e->f64, v);
  case DT_I32: {
    /* the interpreter's conversion: truncate, saturate, NaN -> 0 */
    int64_t i = v != v ? 0 : v <= -2147483648.0 ? INT32_MIN : v >= 2147483647.0 ? INT32_MAX : (int64_t)v;
    return em_i32(e, (int32_t)i);
  }
  default: return LLVMConstInt(e->i1, v != 0, 0);
  }
}

LLVMValueRef em_load(Em *e, DType t, LLVMValueRef p, LLVMValueRef i) {
  LLVMTypeRef ty = em_type(e, t);
  LLVMValueRef a = LLVMBuildInBoundsGEP2(e->b, ty, p, &i, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(e->b, ty, a, "");
  LLVMSetAlignment(v, (unsigned)dtype_size(t));
  return t == DT_BOOL ? LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstInt(e->i8, 0, 0), "") : v;
}

void em_store(Em *e, DType t, LLVMValueRef p, LLVMValueRef i, LLVMValueRef v) {
  LLVMTypeRef ty = em_type(e, t);
  if (t == DT_BOOL) v = LLVMBuildZExt(e->b, v, e->i8, "");
  LLVMValueRef a = LLVMBuildInBoundsGEP2(e->b, ty, p, &i, 1, "");
  LLVMValueRef s = LLVMBuildStore(e->b, v, a);
  LLVMSetAlignment(s, (unsigned)dtype_size(t));
}

LLVMValueRef em_add(Em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWAdd(e->b, a, b, "");
}

LLVMValueRef em_mul(Em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWMul(e->b, a, b, "");
}

LLVMValueRef em_mulc(Em *e, LLVMValueRef a, int64_t c) {
  return c == 1 ? a : em_mul(e, a, em_i64(e, c));
}

LLVMValueRef em_intrinsic(Em *e, const char *name, LLVMTypeRef ty, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, &ty, 1);
  LLVMTypeRef fty = LLVMIntrinsicGetType(e->ctx, id, &ty, 1);
  return LLVMBuildCall2(e->b, fty, f, args, n, "");
}

void em_reassoc(LLVMValueRef inst) {
  if (LLVMIsAInstruction(inst) && LLVMCanValueUseFastMathFlags(inst))
    LLVMSetFastMathFlags(inst, LLVMFastMathAllowReassoc | LLVMFastMathAllowContract);
}

void em_strides(const Shape *s, int64_t *st) {
  int64_t v = 1;
  for (int k = s->rank - 1; k >= 0; k--) {
    st[k] = v;
    v *= s->d[k];
  }
}

/* ---- loops ---- */

LLVMValueRef loop_begin(Em *e, Loop *L, LLVMValueRef lo, LLVMValueRef hi) {
  memset(L, 0, sizeof *L);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
  L->head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "head");
  L->body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "body");
  L->exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "exit");
  LLVMBuildBr(e->b, L->head);
  LLVMPositionBuilderAtEnd(e->b, L->head);
  L->iv = LLVMBuildPhi(e->b, e->i64, "i");
  LLVMAddIncoming(L->iv, &lo, &pre, 1);
  LLVMValueRef c = LLVMBuildICmp(e->b, LLVMIntSLT, L->iv, hi, "");
  LLVMBuildCondBr(e->b, c, L->body, L->exit);
  LLVMPositionBuilderAtEnd(e->b, L->body);
  return L->iv;
}

LLVMValueRef loop_carry(Em *e, Loop *L, LLVMValueRef init) {
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
  LLVMBasicBlockRef pre = LLVMGetIncomingBlock(L->iv, 0);
  LLVMPositionBuilder(e->b, L->head, L->iv);
  /* after the iv, before the compare: phis must come first in the block */
  LLVMValueRef after = LLVMGetNextInstruction(L->iv);
  LLVMPositionBuilder(e->b, L->head, after);
  LLVMValueRef p = LLVMBuildPhi(e->b, LLVMTypeOf(init), "acc");
  LLVMAddIncoming(p, &init, &pre, 1);
  LLVMPositionBuilderAtEnd(e->b, cur);
  L->carry[L->ncarry++] = p;
  return p;
}

void loop_end(Em *e, Loop *L, const LLVMValueRef *next) {
  LLVMValueRef inc = LLVMBuildNSWAdd(e->b, L->iv, em_i64(e, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMBuildBr(e->b, L->head);
  LLVMAddIncoming(L->iv, &inc, &latch, 1);
  for (int k = 0; k < L->ncarry; k++) LLVMAddIncoming(L->carry[k], (LLVMValueRef *)&next[k], &latch, 1);
  LLVMPositionBuilderAtEnd(e->b, L->exit);
}

/* Elementwise ops, sources and movement ops (all but concat): out[x] = value(node, x).
 * The range is over rows (the output without its last axis, of C elements). When
 * nothing the kernel computes needs multi-indices, one flat loop runs over the
 * elements of the rows; otherwise a loop per row (its leading multi-index computed once
 * per row) around a loop along the last axis, so the inner loop has no division. */
void em_flat(Em *e) {
  const Node *n = e->n;
  const Shape *s = &n->shape;
  int id = (int)(n - e->g->nodes);
  int64_t C = s->rank ? s->d[s->rank - 1] : 1;
  if (!em_wants_multi(e, id) && !e->nrowc) {
    Loop L;
    LLVMValueRef i = loop_begin(e, &L, em_mulc(e, e->lo, C), em_mulc(e, e->hi, C));
    Ix x = ix_of_lin(s, i);
    em_store(e, n->dtype, e->out, i, em_value(e, id, &x));
    loop_end(e, &L, NULL);
    return;
  }
  em_rows(e, e->lo, e->hi);
}

/* ---- reductions ----
 *
 * The input's axes are merged into groups of neighbours that are all reduced or all
 * kept (axes of extent 1 dropped), so [B,T,D] summed over D is [BT | D] and summed over
 * T is [B | T | D]. The loop nest walks the groups in memory order. Outputs are set to
 * the identity first; the innermost group, when reduced, accumulates in a register
 * (a vectorisable reduction), otherwise each step updates the output in memory (a
 * vectorisable elementwise loop over the kept innermost group). */

typedef struct Groups {
  int m;                 /* number of groups */
  int64_t size[IR_MAX_RANK];
  int red[IR_MAX_RANK];  /* reduced? */
  int of[IR_MAX_RANK];   /* the group of each of the input's axes (-1: extent 1) */
} Groups;

static void reduce_groups(const Graph *g, const Node *n, Groups *G) {
  const Shape *xs = &g->nodes[n->in[0]].shape;
  int cnt, red[IR_MAX_RANK] = {0};
  const int64_t *axes = ir_attr_is(n, "axes", &cnt);
  for (int k = 0; k < cnt; k++) red[axes[k]] = 1;
  G->m = 0;
  for (int k = 0; k < xs->rank; k++) {
    G->of[k] = -1;
    if (xs->d[k] == 1) continue;
    if (G->m && G->red[G->m - 1] == red[k]) {
      G->size[G->m - 1] *= xs->d[k];
    } else {
      G->size[G->m] = xs->d[k];
      G->red[G->m++] = red[k];
    }
    G->of[k] = G->m - 1;
  }
}

/* x's axes of group g from the group's loop index iv (its first axis outermost). */
static void group_index(Em *e, const Shape *xs, const int *grp, int g, LLVMValueRef iv, Ix *x) {
  int first = -1;
  for (int k = 0; k < xs->rank && first < 0; k++)
    if (grp[k] == g) first = k;
  for (int k = xs->rank - 1; k >= 0; k--) {
    if (grp[k] != g) continue;
    if (k == first) {
      x->d[k] = iv;
      break;
    }
    x->d[k] = LLVMBuildURem(e->b, iv, em_i64(e, xs->d[k]), "");
    iv = LLVMBuildUDiv(e->b, iv, em_i64(e, xs->d[k]), "");
  }
}

static int64_t reduce_extent(const Graph *g, const Node *n) {
  Groups G;
  reduce_groups(g, n, &G);
  if (shape_numel(&g->nodes[n->in[0]].shape) == 0) return shape_numel(&n->shape); /* only the identity */
  return G.m && !G.red[0] ? G.size[0] : 1;
}

LLVMValueRef em_reduce_identity(Em *e, OpKind op, DType t) {
  if (op == OP_REDUCE_SUM) return em_const(e, t, 0);
  return t == DT_I32 ? em_i32(e, INT32_MIN) : LLVMConstReal(em_type(e, t), -1.0 / 0.0);
}

LLVMValueRef em_combine(Em *e, OpKind op, DType t, LLVMValueRef acc, LLVMValueRef x) {
  if (op == OP_REDUCE_MAX) {
    LLVMValueRef args[2] = {acc, x};
    return em_intrinsic(e, t == DT_I32 ? "llvm.smax" : "llvm.maximum", LLVMTypeOf(acc), args, 2);
  }
  if (t == DT_I32) return LLVMBuildAdd(e->b, acc, x, "");
  LLVMValueRef s = LLVMBuildFAdd(e->b, acc, x, "");
  em_reassoc(s);
  return s;
}

/* The reduction `id` (over its input's last axis) of row r: a loop along the row. */
/* An index over shape s whose leading axes are those of row r (the last axis is the
 * caller's to set). */
static Ix row_index(Em *e, const Shape *s, LLVMValueRef r) {
  Ix x = {.shape = *s, .multi = 1};
  if (s->rank > 1) {
    Shape lead = *s;
    lead.rank--;
    Ix rx = ix_of_lin(&lead, r);
    ix_multi(e, &rx);
    for (int k = 0; k < lead.rank; k++) x.d[k] = rx.d[k];
  }
  return x;
}

static LLVMValueRef row_reduce(Em *e, int id, LLVMValueRef r) {
  const Node *n = &e->g->nodes[id];
  int x = n->in[0];
  const Shape *xs = &e->g->nodes[x].shape;
  int64_t C = xs->d[xs->rank - 1];
  Ix ix = row_index(e, xs, r);
  Loop L;
  LLVMValueRef c = loop_begin(e, &L, em_i64(e, 0), em_i64(e, C));
  LLVMValueRef acc = loop_carry(e, &L, em_reduce_identity(e, n->op, n->dtype));
  ix.d[xs->rank - 1] = c;
  ix.lin = em_add(e, em_mulc(e, r, C), c);
  LLVMValueRef next = em_combine(e, n->op, n->dtype, acc, em_value(e, x, &ix));
  loop_end(e, &L, &next);
  return acc;
}

void em_rows(Em *e, LLVMValueRef rlo, LLVMValueRef rhi) {
  const Node *n = e->n;
  int id = (int)(n - e->g->nodes);
  Loop Lr, Lc;
  LLVMValueRef r = loop_begin(e, &Lr, rlo, rhi);
  for (int k = 0; k < e->nrowc; k++) e->regval[e->rowc[k]] = row_reduce(e, e->rowc[k], r);
  if (op_info(n->op)->cls == OPC_REDUCE) { /* a last-axis reduction kernel: one value per row */
    em_store(e, n->dtype, e->out, r, row_reduce(e, id, r));
  } else {
    const Shape *s = &n->shape;
    int64_t C = s->rank ? s->d[s->rank - 1] : 1;
    Ix x = row_index(e, s, r);
    LLVMValueRef c = loop_begin(e, &Lc, em_i64(e, 0), em_i64(e, C));
    if (s->rank) x.d[s->rank - 1] = c;
    x.lin = em_add(e, em_mulc(e, r, C), c);
    em_store(e, n->dtype, e->out, x.lin, em_value(e, id, &x));
    loop_end(e, &Lc, NULL);
  }
  for (int k = 0; k < e->nrowc; k++) e->regval[e->rowc[k]] = NULL; /* valid inside the row only */
  loop_end(e, &Lr, NULL);
}

void em_epilogue(Em *e, LLVMValueRef r0, LLVMValueRef r1) {
  const Node *contraction = e->n;
  e->n = e->epik;
  em_rows(e, r0, r1);
  e->n = contraction;
}

LLVMValueRef em_mul_add(Em *e, DType t, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  if (t == DT_I32) return LLVMBuildAdd(e->b, acc, LLVMBuildMul(e->b, a, b, ""), "");
  LLVMValueRef m = LLVMBuildFMul(e->b, a, b, "");
  LLVMValueRef s = LLVMBuildFAdd(e->b, acc, m, "");
  em_reassoc(m); /* contract: may become one fma */
  em_reassoc(s);
  return s;
}

void em_reduce(Em *e) {
  const Node *n = e->n;
  if (e->nrowc) { /* it reads values computed per row: it is a row reduction itself (fuse.h rule 5) */
    em_rows(e, e->lo, e->hi);
    return;
  }
  DType t = n->dtype;
  Groups G;
  reduce_groups(e->g, n, &G);
  LLVMValueRef id = em_reduce_identity(e, n->op, t);
  int64_t nout = shape_numel(&n->shape), nx = shape_numel(&e->g->nodes[n->in[0]].shape);
  int split = nx && G.m && !G.red[0]; /* the range runs over the first (kept) group */
  int64_t per = 1;                      /* outputs per index of the first group */
  for (int k = 1; k < G.m; k++)
    if (!G.red[k]) per *= G.size[k];
  /* 1. the identity into the outputs this range owns */
  LLVMValueRef olo = nx == 0 ? e->lo : split ? em_mulc(e, e->lo, per) : em_i64(e, 0);
  LLVMValueRef ohi = nx == 0 ? e->hi : split ? em_mulc(e, e->hi, per) : em_i64(e, nout);
  if (!split && nx) { /* one call does everything: only when its range is non-empty */
    LLVMValueRef some = LLVMBuildICmp(e->b, LLVMIntSLT, e->lo, e->hi, "");
    ohi = LLVMBuildSelect(e->b, some, ohi, em_i64(e, 0), "");
  }
  Loop L0;
  LLVMValueRef j = loop_begin(e, &L0, olo, ohi);
  em_store(e, t, e->out, j, id);
  loop_end(e, &L0, NULL);
  if (nx == 0) return;
  /* 2. the nest over the groups; out/in strides per group */
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], vi = 1, vo = 1;
  for (int k = G.m - 1; k >= 0; k--) {
    ist[k] = vi;
    vi *= G.size[k];
    ost[k] = G.red[k] ? 0 : vo;
    vo *= G.red[k] ? 1 : G.size[k];
  }
  Loop L[IR_MAX_RANK];
  LLVMValueRef iidx = em_i64(e, 0), oidx = em_i64(e, 0);
  /* an input that wants multi-indices (a broadcast, a permute inlined into it) gets them
   * from the loops, each group's axes split off its index where its loop starts: from
   * the linear index, each element would pay a division per axis and the inner loop
   * would not vectorise (a layer norm's weight gradient: 7 cycles per element) */
  const Shape *xs = &e->g->nodes[n->in[0]].shape;
  int multi = em_wants_multi(e, n->in[0]);
  Ix xi = {.shape = *xs, .multi = 1};
  for (int k = 0; k < xs->rank; k++)
    if (G.of[k] < 0) xi.d[k] = em_i64(e, 0);
  int inner_red = G.m && G.red[G.m - 1];
  int nest = inner_red ? G.m - 1 : G.m; /* groups walked by explicit loops around the body */
  Loop L1;
  if (!G.m) { /* every axis has extent 1: one element */
    LLVMValueRef any = loop_begin(e, &L1, e->lo, e->hi);
    (void)any;
    em_store(e, t, e->out, em_i64(e, 0), em_combine(e, n->op, t, id, em_in(e, 0, em_i64(e, 0))));
    loop_end(e, &L1, NULL);
    return;
  }
  for (int k = 0; k < nest; k++) {
    LLVMValueRef lo = k == 0 ? (split ? e->lo : em_i64(e, 0)) : em_i64(e, 0);
    LLVMValueRef hi = k == 0 ? (split ? e->hi : LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, e->lo, e->hi, ""),
                                                               em_i64(e, G.size[0]), em_i64(e, 0), ""))
                             : em_i64(e, G.size[k]);
    LLVMValueRef iv = loop_begin(e, &L[k], lo, hi);
    iidx = em_add(e, iidx, em_mulc(e, iv, ist[k]));
    if (ost[k]) oidx = em_add(e, oidx, em_mulc(e, iv, ost[k]));
    if (multi) group_index(e, xs, G.of, k, iv, &xi);
  }
  if (inner_red) {
    int k = G.m - 1;
    LLVMValueRef acc0 = em_load(e, t, e->out, oidx);
    LLVMValueRef hi = nest ? em_i64(e, G.size[k])
                           : LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, e->lo, e->hi, ""),
                                             em_i64(e, G.size[k]), em_i64(e, 0), "");
    LLVMValueRef iv = loop_begin(e, &L1, em_i64(e, 0), hi);
    LLVMValueRef acc = loop_carry(e, &L1, acc0);
    LLVMValueRef x;
    if (multi) {
      group_index(e, xs, G.of, k, iv, &xi);
      xi.lin = em_add(e, iidx, iv);
      x = em_value(e, n->in[0], &xi);
    } else {
      x = em_in(e, 0, em_add(e, iidx, iv));
    }
    LLVMValueRef nx2 = em_combine(e, n->op, t, acc, x);
    loop_end(e, &L1, &nx2);
    em_store(e, t, e->out, oidx, acc);
  } else {
    xi.lin = iidx;
    LLVMValueRef x = multi ? em_value(e, n->in[0], &xi) : em_in(e, 0, iidx);
    em_store(e, t, e->out, oidx, em_combine(e, n->op, t, em_load(e, t, e->out, oidx), x));
  }
  for (int k = nest - 1; k >= 0; k--) loop_end(e, &L[k], NULL);
}

/* ---- extents ---- */

/* em_flat's range: rows of the output's last axis (rank 0: one) */
static int64_t flat_rows(const Shape *s) {
  if (!s->rank) return 1;
  int64_t r = 1;
  for (int k = 0; k < s->rank - 1; k++) r *= s->d[k];
  return r;
}

int cg_matmul_of(const Graph *g, const char *inl, int id) {
  int x = g->nodes[id].op == OP_MATMUL ? id : cg_fused(g, inl, id, NULL, NULL);
  return x >= 0 && g->nodes[x].op == OP_MATMUL ? x : -1;
}

int64_t cg_extent(const Graph *g, const char *inl, int id) {
  int epi = inl ? cg_fused(g, inl, id, NULL, NULL) : -1;
  if (epi >= 0) return cg_extent(g, NULL, epi); /* the contraction's range; its epilogue follows each step */
  const Node *n = &g->nodes[id];
  const Shape *s = &n->shape;
  switch (op_info(n->op)->cls) {
  case OPC_REDUCE: return reduce_extent(g, n);
  case OPC_MOVE:
    if (n->op == OP_CONCAT) return s->rank ? s->d[0] : 1;
    return flat_rows(s);
  case OPC_INDEX: {
    const Shape *xs = &g->nodes[n->in[0]].shape, *is = &g->nodes[n->in[n->op == OP_ONE_HOT ? 0 : 1]].shape;
    int64_t pre = 1, axis = n->op == OP_ONE_HOT ? 0 : ir_attr_i(n, "axis");
    for (int k = 0; k < axis; k++) pre *= xs->d[k];
    if (n->op == OP_GATHER) return pre * shape_numel(is);
    if (n->op == OP_SCATTER_ADD) return pre;
    return shape_numel(xs); /* one_hot: one row per index */
  }
  case OPC_CONTRACT:
    if (n->op == OP_MATMUL) { /* groups of EM_MATMUL_MR rows per batch entry */
      int64_t b = 1;
      for (int k = 0; k < s->rank - 2; k++) b *= s->d[k];
      return b * ((s->d[s->rank - 2] + EM_MATMUL_MR - 1) / EM_MATMUL_MR);
    }
    return s->d[0] * s->d[1];
  case OPC_RANDOM: return shape_numel(s);
  default: return flat_rows(s);
  }
}
