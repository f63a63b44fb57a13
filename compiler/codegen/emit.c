/* emit.c — cg_emit: one LLVM function per kernel, built through the C API. This file
 * holds the kernel scaffolding (see emit.h), the loop and value helpers, the sources
 * (const, iota), elementwise ops and reductions; emit_ops.c the rest.
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
#include "codegen/vmath.h"

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

/* A value as held in registers: bool is i1 there. */
static LLVMTypeRef reg_type(Em *e, DType t) {
  return t == DT_BOOL ? e->i1 : em_type(e, t);
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

/* ---- elementwise ---- */

static LLVMValueRef fcall(Em *e, const char *intr, LLVMValueRef x) {
  return em_intrinsic(e, intr, LLVMTypeOf(x), &x, 1);
}

static LLVMValueRef fcall2(Em *e, const char *intr, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef args[2] = {a, b};
  return em_intrinsic(e, intr, LLVMTypeOf(a), args, 2);
}

LLVMValueRef em_cast(Em *e, LLVMValueRef x, DType from, DType to) {
  LLVMTypeRef ty = reg_type(e, to);
  if (from == to) return x;
  int ff = dtype_is_float(from), tf = dtype_is_float(to);
  if (to == DT_BOOL)
    return ff ? LLVMBuildFCmp(e->b, LLVMRealUNE, x, LLVMConstReal(LLVMTypeOf(x), 0), "")
              : LLVMBuildICmp(e->b, LLVMIntNE, x, LLVMConstInt(LLVMTypeOf(x), 0, 0), "");
  if (from == DT_BOOL) return tf ? LLVMBuildUIToFP(e->b, x, ty, "") : LLVMBuildZExt(e->b, x, ty, "");
  if (ff && tf) return to == DT_F64 ? LLVMBuildFPExt(e->b, x, ty, "") : LLVMBuildFPTrunc(e->b, x, ty, "");
  if (tf) return LLVMBuildSIToFP(e->b, x, ty, "");
  /* float -> i32: llvm.fptosi.sat truncates, saturates, and maps NaN to 0 */
  unsigned id = LLVMLookupIntrinsicID("llvm.fptosi.sat", 15);
  LLVMTypeRef tys[2] = {e->i32, LLVMTypeOf(x)};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, tys, 2);
  return LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->ctx, id, tys, 2), f, &x, 1, "");
}

static LLVMValueRef unary(Em *e, OpKind op, DType t, LLVMValueRef x) {
  LLVMTypeRef ty = LLVMTypeOf(x);
  if (t == DT_I32) {
    LLVMValueRef neg = LLVMBuildSub(e->b, em_i32(e, 0), x, ""); /* wraps: -INT32_MIN = INT32_MIN */
    if (op == OP_NEG) return neg;
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, x, em_i32(e, 0), ""), neg, x, "");
  }
  switch (op) {
  case OP_NEG: return LLVMBuildFNeg(e->b, x, "");
  case OP_ABS: return fcall(e, "llvm.fabs", x);
  case OP_EXP: return cg_vmath(e->mod, e->b, CG_EXP, x);
  case OP_LOG: return cg_vmath(e->mod, e->b, CG_LOG, x);
  case OP_TANH: return cg_vmath(e->mod, e->b, CG_TANH, x);
  case OP_ERF: return cg_vmath(e->mod, e->b, CG_ERF, x);
  case OP_SQRT: return fcall(e, "llvm.sqrt", x);
  case OP_RSQRT: return LLVMBuildFDiv(e->b, LLVMConstReal(ty, 1), fcall(e, "llvm.sqrt", x), "");
  case OP_RECIP: return LLVMBuildFDiv(e->b, LLVMConstReal(ty, 1), x, "");
  case OP_FLOOR: return fcall(e, "llvm.floor", x);
  case OP_NOT: return LLVMBuildNot(e->b, x, "");
  default: return x;
  }
}

/* i32 a / b: truncating; b == 0 gives 0 and INT32_MIN / -1 wraps to INT32_MIN, both
 * without executing LLVM's undefined sdiv cases. */
static LLVMValueRef idiv(Em *e, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef zero = LLVMBuildICmp(e->b, LLVMIntEQ, b, em_i32(e, 0), "");
  LLVMValueRef ovf = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, a, em_i32(e, INT32_MIN), ""),
                                  LLVMBuildICmp(e->b, LLVMIntEQ, b, em_i32(e, -1), ""), "");
  LLVMValueRef safe = LLVMBuildSelect(e->b, LLVMBuildOr(e->b, zero, ovf, ""), em_i32(e, 1), b, "");
  LLVMValueRef q = LLVMBuildSDiv(e->b, a, safe, "");
  return LLVMBuildSelect(e->b, zero, em_i32(e, 0), q, "");
}

static LLVMValueRef binary(Em *e, OpKind op, DType t, LLVMValueRef a, LLVMValueRef b) {
  int fl = dtype_is_float(t);
  switch (op) {
  case OP_ADD: return fl ? LLVMBuildFAdd(e->b, a, b, "") : LLVMBuildAdd(e->b, a, b, "");
  case OP_SUB: return fl ? LLVMBuildFSub(e->b, a, b, "") : LLVMBuildSub(e->b, a, b, "");
  case OP_MUL: return fl ? LLVMBuildFMul(e->b, a, b, "") : LLVMBuildMul(e->b, a, b, "");
  case OP_DIV: return fl ? LLVMBuildFDiv(e->b, a, b, "") : idiv(e, a, b);
  case OP_MAX: return fl ? fcall2(e, "llvm.maximum", a, b) : fcall2(e, "llvm.smax", a, b);
  case OP_MIN: return fl ? fcall2(e, "llvm.minimum", a, b) : fcall2(e, "llvm.smin", a, b);
  case OP_POW: return fcall2(e, "llvm.pow", a, b);
  case OP_LT:
    return fl ? LLVMBuildFCmp(e->b, LLVMRealOLT, a, b, "") : LLVMBuildICmp(e->b, t == DT_BOOL ? LLVMIntULT : LLVMIntSLT, a, b, "");
  case OP_LE:
    return fl ? LLVMBuildFCmp(e->b, LLVMRealOLE, a, b, "") : LLVMBuildICmp(e->b, t == DT_BOOL ? LLVMIntULE : LLVMIntSLE, a, b, "");
  case OP_EQ: return fl ? LLVMBuildFCmp(e->b, LLVMRealOEQ, a, b, "") : LLVMBuildICmp(e->b, LLVMIntEQ, a, b, "");
  case OP_AND: return LLVMBuildAnd(e->b, a, b, "");
  case OP_OR: return LLVMBuildOr(e->b, a, b, "");
  default: return a;
  }
}

/* Sources and elementwise ops: one flat loop over the elements [lo, hi). */
static void em_flat(Em *e) {
  const Node *n = e->n;
  const Graph *g = e->g;
  Loop L;
  LLVMValueRef i = loop_begin(e, &L, e->lo, e->hi), v = NULL;
  DType t0 = n->nin ? g->nodes[n->in[0]].dtype : n->dtype;
  switch (op_info(n->op)->cls) {
  case OPC_SOURCE:
    if (n->op == OP_CONST) {
      v = em_const(e, n->dtype, ir_attr_f(n, "value"));
    } else { /* iota: the index along `axis` */
      int64_t st[IR_MAX_RANK], axis = ir_attr_i(n, "axis");
      em_strides(&n->shape, st);
      v = LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, i, em_i64(e, st[axis]), ""), em_i64(e, n->shape.d[axis]), "");
      v = dtype_is_float(n->dtype) ? LLVMBuildSIToFP(e->b, v, em_type(e, n->dtype), "")
                                   : LLVMBuildTrunc(e->b, v, e->i32, "");
    }
    break;
  case OPC_UNARY:
    v = em_load(e, t0, e->in[0], i);
    v = n->op == OP_CAST ? em_cast(e, v, t0, n->dtype) : unary(e, n->op, t0, v);
    break;
  case OPC_BINARY:
    v = binary(e, n->op, t0, em_load(e, t0, e->in[0], i), em_load(e, t0, e->in[1], i));
    break;
  case OPC_SELECT:
    v = LLVMBuildSelect(e->b, em_load(e, DT_BOOL, e->in[0], i), em_load(e, n->dtype, e->in[1], i),
                        em_load(e, n->dtype, e->in[2], i), "");
    break;
  default:
    break;
  }
  em_store(e, n->dtype, e->out, i, v);
  loop_end(e, &L, NULL);
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
} Groups;

static void reduce_groups(const Graph *g, const Node *n, Groups *G) {
  const Shape *xs = &g->nodes[n->in[0]].shape;
  int cnt, red[IR_MAX_RANK] = {0};
  const int64_t *axes = ir_attr_is(n, "axes", &cnt);
  for (int k = 0; k < cnt; k++) red[axes[k]] = 1;
  G->m = 0;
  for (int k = 0; k < xs->rank; k++) {
    if (xs->d[k] == 1) continue;
    if (G->m && G->red[G->m - 1] == red[k]) {
      G->size[G->m - 1] *= xs->d[k];
    } else {
      G->size[G->m] = xs->d[k];
      G->red[G->m++] = red[k];
    }
  }
}

static int64_t reduce_extent(const Graph *g, const Node *n) {
  Groups G;
  reduce_groups(g, n, &G);
  if (shape_numel(&g->nodes[n->in[0]].shape) == 0) return shape_numel(&n->shape); /* only the identity */
  return G.m && !G.red[0] ? G.size[0] : 1;
}

static LLVMValueRef reduce_identity(Em *e, OpKind op, DType t) {
  if (op == OP_REDUCE_SUM) return em_const(e, t, 0);
  return t == DT_I32 ? em_i32(e, INT32_MIN) : LLVMConstReal(em_type(e, t), -1.0 / 0.0);
}

static LLVMValueRef combine(Em *e, OpKind op, DType t, LLVMValueRef acc, LLVMValueRef x) {
  if (op == OP_REDUCE_MAX) return t == DT_I32 ? fcall2(e, "llvm.smax", acc, x) : fcall2(e, "llvm.maximum", acc, x);
  if (t == DT_I32) return LLVMBuildAdd(e->b, acc, x, "");
  LLVMValueRef s = LLVMBuildFAdd(e->b, acc, x, "");
  em_reassoc(s);
  return s;
}

static void em_reduce(Em *e) {
  const Node *n = e->n;
  DType t = n->dtype;
  Groups G;
  reduce_groups(e->g, n, &G);
  LLVMValueRef id = reduce_identity(e, n->op, t);
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
  int inner_red = G.m && G.red[G.m - 1];
  int nest = inner_red ? G.m - 1 : G.m; /* groups walked by explicit loops around the body */
  Loop L1;
  if (!G.m) { /* every axis has extent 1: one element */
    LLVMValueRef any = loop_begin(e, &L1, e->lo, e->hi);
    (void)any;
    em_store(e, t, e->out, em_i64(e, 0), combine(e, n->op, t, id, em_load(e, t, e->in[0], em_i64(e, 0))));
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
  }
  if (inner_red) {
    int k = G.m - 1;
    LLVMValueRef acc0 = em_load(e, t, e->out, oidx);
    LLVMValueRef hi = nest ? em_i64(e, G.size[k])
                           : LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, e->lo, e->hi, ""),
                                             em_i64(e, G.size[k]), em_i64(e, 0), "");
    LLVMValueRef iv = loop_begin(e, &L1, em_i64(e, 0), hi);
    LLVMValueRef acc = loop_carry(e, &L1, acc0);
    LLVMValueRef x = em_load(e, t, e->in[0], em_add(e, iidx, iv));
    LLVMValueRef nx2 = combine(e, n->op, t, acc, x);
    loop_end(e, &L1, &nx2);
    em_store(e, t, e->out, oidx, acc);
  } else {
    LLVMValueRef x = em_load(e, t, e->in[0], iidx);
    em_store(e, t, e->out, oidx, combine(e, n->op, t, em_load(e, t, e->out, oidx), x));
  }
  for (int k = nest - 1; k >= 0; k--) loop_end(e, &L[k], NULL);
}

/* ---- extents ---- */

int64_t cg_extent(const Graph *g, int id) {
  const Node *n = &g->nodes[id];
  const Shape *s = &n->shape;
  switch (op_info(n->op)->cls) {
  case OPC_REDUCE: return reduce_extent(g, n);
  case OPC_MOVE:
    if (n->op == OP_RESHAPE) return shape_numel(s);
    return s->rank ? s->d[0] : 1;
  case OPC_INDEX: {
    const Shape *xs = &g->nodes[n->in[0]].shape, *is = &g->nodes[n->in[n->op == OP_ONE_HOT ? 0 : 1]].shape;
    int64_t pre = 1, axis = n->op == OP_ONE_HOT ? 0 : ir_attr_i(n, "axis");
    for (int k = 0; k < axis; k++) pre *= xs->d[k];
    if (n->op == OP_GATHER) return pre * shape_numel(is);
    if (n->op == OP_SCATTER_ADD) return pre;
    return shape_numel(xs); /* one_hot: one row per index */
  }
  case OPC_CONTRACT:
    if (n->op == OP_MATMUL) { /* (batch, row) pairs */
      int64_t r = 1;
      for (int k = 0; k < s->rank - 1; k++) r *= s->d[k];
      return r;
    }
    return s->d[0] * s->d[1];
  default: return shape_numel(s);
  }
}

/* ---- kernels ---- */

static void add_attr(Em *e, LLVMValueRef f, unsigned idx, const char *name, uint64_t val) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(f, idx, LLVMCreateEnumAttribute(e->ctx, kind, val));
}

/* ---- kernels ----
 *
 * Kernels that compute the same thing on different buffers (the twelve blocks of a ViT)
 * share one body: the key below is everything a body depends on (op, attributes, dtypes
 * and shapes; not the slots, which only the wrapper knows). A shared body is kept out of
 * line so LLVM optimises and compiles it once; a body with one user is inlined into its
 * wrapper. Both keep the noalias facts: on the parameters, or as scopes after inlining. */

typedef struct Body {
  char *key;          /* malloc'd */
  LLVMValueRef fn;
  int users;
} Body;

typedef struct Bodies {
  Body *v;            /* open addressing, cap a power of two */
  int cap;
} Bodies;

static void put_shape(FILE *f, DType t, const Shape *s) {
  fprintf(f, "%s[", dtype_name(t));
  for (int k = 0; k < s->rank; k++) fprintf(f, "%s%lld", k ? "," : "", (long long)s->d[k]);
  fputc(']', f);
}

static char *body_key(const Graph *g, const Node *n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) abort();
  fprintf(f, "%s ", op_info(n->op)->name);
  put_shape(f, n->dtype, &n->shape);
  for (int i = 0; i < n->nin; i++) {
    fputc(' ', f);
    put_shape(f, g->nodes[n->in[i]].dtype, &g->nodes[n->in[i]].shape);
  }
  for (int a = 0; a < n->nattr; a++) {
    const Attr *at = &n->attr[a];
    fprintf(f, " %s=", at->key);
    switch (at->kind) {
    case AK_INT: fprintf(f, "%lld", (long long)at->v.i); break;
    case AK_FLOAT: fprintf(f, "%a", at->v.f); break;
    case AK_INTS:
      for (int k = 0; k < at->n; k++) fprintf(f, "%lld,", (long long)at->v.is[k]);
      break;
    case AK_FLOATS:
      for (int k = 0; k < at->n; k++) fprintf(f, "%a,", at->v.fs[k]);
      break;
    case AK_STR: fprintf(f, "%s", at->v.s ? at->v.s : ""); break;
    case AK_DTYPE: fprintf(f, "%s", dtype_name(at->v.dt)); break;
    }
  }
  fclose(f);
  return buf;
}

static Body *body_find(Bodies *t, const char *key) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  for (int i = (int)(h & (uint64_t)(t->cap - 1));; i = (i + 1) & (t->cap - 1))
    if (!t->v[i].key || !strcmp(t->v[i].key, key)) return &t->v[i];
}

/* The body (out, in..., lo, hi) of node n, pointers noalias and CG_ALIGN-aligned. */
static LLVMValueRef emit_body(Em *e, const Node *n, const char *name) {
  int nin = n->nin, np = nin + 3;
  LLVMTypeRef *pt = malloc(sizeof *pt * (size_t)np);
  e->in = malloc(sizeof *e->in * (size_t)(nin ? nin : 1));
  if (!pt || !e->in) abort();
  for (int i = 0; i < nin + 1; i++) pt[i] = e->ptr;
  pt[nin + 1] = pt[nin + 2] = e->i64;
  LLVMValueRef body = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->vd, pt, (unsigned)np, 0));
  free(pt);
  LLVMSetLinkage(body, LLVMInternalLinkage);
  add_attr(e, body, LLVMAttributeFunctionIndex, "nounwind", 0);
  for (int i = 0; i < nin + 1; i++) {
    add_attr(e, body, (unsigned)i + 1, "noalias", 0);
    add_attr(e, body, (unsigned)i + 1, "nocapture", 0);
    add_attr(e, body, (unsigned)i + 1, "align", CG_ALIGN);
    if (i) add_attr(e, body, (unsigned)i + 1, "readonly", 0);
  }
  e->n = n;
  e->fn = body;
  e->out = LLVMGetParam(body, 0);
  for (int i = 0; i < nin; i++) e->in[i] = LLVMGetParam(body, (unsigned)i + 1);
  e->lo = LLVMGetParam(body, (unsigned)nin + 1);
  e->hi = LLVMGetParam(body, (unsigned)nin + 2);
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, body, "entry"));
  switch (op_info(n->op)->cls) {
  case OPC_REDUCE: em_reduce(e); break;
  case OPC_MOVE: em_move(e); break;
  case OPC_INDEX: em_index(e); break;
  case OPC_CONTRACT: em_contract(e); break;
  case OPC_RANDOM: em_random(e); break;
  default: em_flat(e); break;
  }
  LLVMBuildRetVoid(e->b);
  free(e->in);
  e->in = NULL;
  return body;
}

/* The kernel of the ABI: region bases + slot offsets -> pointers, then the body. */
static void emit_kernel(Em *e, const CgLayout *l, const CgKernel *k, Bodies *bodies) {
  const Node *n = &e->g->nodes[k->node];
  int nin = n->nin, np = nin + 3;
  char *key = body_key(e->g, n);
  Body *bd = body_find(bodies, key);
  if (!bd->key) {
    char name[96];
    snprintf(name, sizeof name, "%s.body", k->name);
    bd->key = key;
    bd->fn = emit_body(e, n, name);
  } else {
    free(key);
  }
  bd->users++;
  LLVMValueRef *args = malloc(sizeof *args * (size_t)np);
  if (!args) abort();
  LLVMTypeRef kt[3] = {e->ptr, e->i64, e->i64};
  LLVMValueRef kf = LLVMAddFunction(e->mod, k->name, LLVMFunctionType(e->vd, kt, 3, 0));
  add_attr(e, kf, LLVMAttributeFunctionIndex, "nounwind", 0);
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, kf, "entry"));
  LLVMValueRef base = LLVMGetParam(kf, 0);
  for (int i = 0; i < nin + 1; i++) {
    const CgSlot *s = &l->slot[i ? n->in[i - 1] : k->node];
    LLVMValueRef r = em_i64(e, s->region);
    LLVMValueRef bp = LLVMBuildLoad2(e->b, e->ptr, LLVMBuildInBoundsGEP2(e->b, e->ptr, base, &r, 1, ""), "");
    LLVMValueRef off = em_i64(e, s->offset);
    args[i] = LLVMBuildInBoundsGEP2(e->b, e->i8, bp, &off, 1, "");
  }
  args[nin + 1] = LLVMGetParam(kf, 1);
  args[nin + 2] = LLVMGetParam(kf, 2);
  LLVMBuildCall2(e->b, LLVMGlobalGetValueType(bd->fn), bd->fn, args, (unsigned)np, "");
  LLVMBuildRetVoid(e->b);
  free(args);
}

int cg_emit(const Graph *g, const CgLayout *l, const char *prefix, CgModule *out, Diag *d) {
  memset(out, 0, sizeof *out);
  if (cg_kernels(g, l, prefix, &out->kernels, &out->nkernels, d)) return -1;
  Em e = {0};
  e.g = g;
  e.ctx = out->ctx = LLVMContextCreate();
  e.mod = out->mod = LLVMModuleCreateWithNameInContext(g->name ? g->name : "mimic", e.ctx);
  e.b = LLVMCreateBuilderInContext(e.ctx);
  e.i1 = LLVMInt1TypeInContext(e.ctx);
  e.i8 = LLVMInt8TypeInContext(e.ctx);
  e.i32 = LLVMInt32TypeInContext(e.ctx);
  e.i64 = LLVMInt64TypeInContext(e.ctx);
  e.f32 = LLVMFloatTypeInContext(e.ctx);
  e.f64 = LLVMDoubleTypeInContext(e.ctx);
  e.ptr = LLVMPointerTypeInContext(e.ctx, 0);
  e.vd = LLVMVoidTypeInContext(e.ctx);
  Bodies bodies = {.cap = 16};
  while (bodies.cap < 2 * out->nkernels) bodies.cap *= 2;
  bodies.v = calloc((size_t)bodies.cap, sizeof *bodies.v);
  if (!bodies.v) abort();
  for (int i = 0; i < out->nkernels; i++) emit_kernel(&e, l, &out->kernels[i], &bodies);
  for (int i = 0; i < bodies.cap; i++) {
    if (!bodies.v[i].key) continue;
    add_attr(&e, bodies.v[i].fn, LLVMAttributeFunctionIndex, bodies.v[i].users > 1 ? "noinline" : "alwaysinline", 0);
    free(bodies.v[i].key);
  }
  free(bodies.v);
  LLVMDisposeBuilder(e.b);
  return 0;
}

void cg_module_free(CgModule *m) {
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->ctx) LLVMContextDispose(m->ctx);
  free(m->kernels);
  memset(m, 0, sizeof *m);
}
