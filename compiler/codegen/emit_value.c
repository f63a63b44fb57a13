/* emit_value.c — the value of one element of a node inside a kernel: the arithmetic of
 * every elementwise op (with the interpreter's semantics, see emit.c), and the walk
 * through values that fusion inlined (passes/fuse.h) down to the stored ones, mapping
 * the element's index through movement ops on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emit.h"
#include "codegen/vmath.h"
#include "fuse.h"

/* A value as held in registers: bool is i1 there. */
static LLVMTypeRef reg_type(Em *e, DType t) {
  return t == DT_BOOL ? e->i1 : em_type(e, t);
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

/* ---- values: loaded, or computed where fusion inlined them ----
 *
 * An element is named by an Ix over the shape of the node it belongs to: its linear
 * index, its multi-index, or both. Elementwise ops pass the Ix through; movement ops
 * map the multi-index (a broadcast drops axes, a permute reorders them, a slice scales
 * and shifts them, a pad shifts and tests them) and reshapes the linear index. Each form
 * is computed from the other only when asked for, so a kernel that walks its output
 * with one loop per axis never divides in its inner loop. */

static LLVMValueRef ix_lin(Em *e, Ix *x) {
  if (!x->lin) {
    int64_t st[IR_MAX_RANK];
    em_strides(&x->shape, st);
    x->lin = em_i64(e, 0);
    for (int k = 0; k < x->shape.rank; k++)
      if (x->shape.d[k] != 1) x->lin = em_add(e, x->lin, em_mulc(e, x->d[k], st[k]));
  }
  return x->lin;
}

void ix_multi(Em *e, Ix *x) {
  if (x->multi) return;
  int64_t st[IR_MAX_RANK];
  em_strides(&x->shape, st);
  for (int k = 0; k < x->shape.rank; k++) {
    if (x->shape.d[k] == 1) {
      x->d[k] = em_i64(e, 0);
      continue;
    }
    LLVMValueRef o = st[k] == 1 ? x->lin : LLVMBuildUDiv(e->b, x->lin, em_i64(e, st[k]), "");
    x->d[k] = k > 0 ? LLVMBuildURem(e->b, o, em_i64(e, x->shape.d[k]), "") : o;
  }
  x->multi = 1;
}

Ix ix_of_lin(const Shape *s, LLVMValueRef lin) {
  Ix x = {.lin = lin, .shape = *s};
  return x;
}

/* The Ix of input 0 of movement node n for element x of n. */
static Ix moved(Em *e, const Node *n, Ix *x, LLVMValueRef *inside) {
  const Shape *xs = &e->g->nodes[n->in[0]].shape;
  Ix y = {.shape = *xs, .multi = 1};
  int cnt;
  ix_multi(e, x);
  switch (n->op) {
  case OP_PERMUTE: {
    const int64_t *perm = ir_attr_is(n, "perm", &cnt);
    for (int k = 0; k < n->shape.rank; k++) y.d[perm[k]] = x->d[k];
    break;
  }
  case OP_BROADCAST: {
    int lead = n->shape.rank - xs->rank;
    for (int k = 0; k < xs->rank; k++) y.d[k] = xs->d[k] == 1 ? em_i64(e, 0) : x->d[k + lead];
    break;
  }
  case OP_SLICE: {
    const int64_t *start = ir_attr_is(n, "start", &cnt), *step = ir_attr_is(n, "step", &cnt);
    for (int k = 0; k < xs->rank; k++) y.d[k] = em_add(e, em_mulc(e, x->d[k], step[k]), em_i64(e, start[k]));
    break;
  }
  default: { /* pad: shifted, tested, clamped so that the read is always inside */
    const int64_t *lo = ir_attr_is(n, "lo", &cnt);
    *inside = LLVMConstInt(e->i1, 1, 0);
    for (int k = 0; k < xs->rank; k++) {
      LLVMValueRef p = LLVMBuildNSWSub(e->b, x->d[k], em_i64(e, lo[k]), "");
      *inside = LLVMBuildAnd(e->b, *inside, LLVMBuildICmp(e->b, LLVMIntULT, p, em_i64(e, xs->d[k]), ""), "");
      LLVMValueRef c = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, p, em_i64(e, 0), ""), em_i64(e, 0), p, "");
      y.d[k] = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, c, em_i64(e, xs->d[k] - 1), ""),
                               em_i64(e, xs->d[k] - 1), c, "");
    }
  }
  }
  return y;
}

/* The Ix over shape `to` of element x of a reshape of `to`. Axes are matched in groups
 * of equal element count; a group whose input side is one axis (axes merged) takes the
 * output's multi-index without dividing, a group the other way round (an axis split)
 * divides once. Without a multi-index, the linear index serves. */
static Ix reshaped(Em *e, Ix *x, const Shape *to) {
  if (!x->multi) return ix_of_lin(to, ix_lin(e, x));
  Ix y = {.shape = *to, .multi = 1};
  const Shape *from = &x->shape;
  int i = 0, j = 0;
  while (i < from->rank || j < to->rank) {
    /* the next group: from[i..i2) and to[j..j2) with equal products (size-1 axes join) */
    int i2 = i, j2 = j;
    int64_t pi = 1, pj = 1;
    if (i2 < from->rank) pi *= from->d[i2++];
    if (j2 < to->rank) pj *= to->d[j2++];
    while (pi != pj || (i2 < from->rank && from->d[i2] == 1) || (j2 < to->rank && to->d[j2] == 1)) {
      if ((pi < pj || j2 >= to->rank) && i2 < from->rank) pi *= from->d[i2++];
      else if (j2 < to->rank) pj *= to->d[j2++];
      else break;
    }
    /* the group's linear index from the output side, then the input side's axes */
    LLVMValueRef g = em_i64(e, 0);
    for (int k = i; k < i2; k++) g = k == i ? x->d[k] : em_add(e, em_mulc(e, g, from->d[k]), x->d[k]);
    int64_t inner = 1;
    for (int k = j2 - 1; k >= j; k--) {
      LLVMValueRef q = inner == 1 ? g : LLVMBuildUDiv(e->b, g, em_i64(e, inner), "");
      y.d[k] = k > j ? LLVMBuildURem(e->b, q, em_i64(e, to->d[k]), "") : q;
      if (to->d[k] == 1) y.d[k] = em_i64(e, 0);
      inner *= to->d[k];
    }
    if (i2 == i && j2 == j) break;
    i = i2;
    j = j2;
  }
  if (x->lin) y.lin = x->lin;
  return y;
}

LLVMValueRef em_value(Em *e, int id, Ix *x) {
  if (e->regval[id]) return e->regval[id];
  for (int q = 0; e->inplace && q < e->nout; q++)
    if (id == e->inplace[q]) /* its bytes are the output's: read before the element is written */
      return em_load(e, e->g->nodes[id].dtype, e->outs[q], ix_lin(e, x));
  for (int k = 0; k < e->nleaf; k++)
    if (e->leaf[k] == id) return em_load(e, e->g->nodes[id].dtype, e->leafp[k], ix_lin(e, x));
  const Node *n = &e->g->nodes[id];
  if (e->inl[id] == FUSE_ROW) { /* computed for this row before its elements (em_rows) */
    fprintf(stderr, "mimic: internal error: row value %%%d used outside its row\n", id);
    abort();
  }
  if (e->inl[id] == FUSE_EPI) /* the epilogue's contraction: already in the output, same element */
    return em_load(e, n->dtype, e->out, ix_lin(e, x));
  DType t0 = n->nin ? e->g->nodes[n->in[0]].dtype : n->dtype;
  switch (n->op) {
  case OP_RESHAPE: {
    Ix y = reshaped(e, x, &e->g->nodes[n->in[0]].shape);
    return em_value(e, n->in[0], &y);
  }
  case OP_CONST: return em_const(e, n->dtype, ir_attr_f(n, "value"));
  case OP_IOTA: {
    ix_multi(e, x);
    LLVMValueRef v = x->d[ir_attr_i(n, "axis")];
    return dtype_is_float(n->dtype) ? LLVMBuildSIToFP(e->b, v, em_type(e, n->dtype), "") : LLVMBuildTrunc(e->b, v, e->i32, "");
  }
  case OP_BROADCAST:
    if (shape_numel(&e->g->nodes[n->in[0]].shape) == 1) { /* one element: no index to map */
      Ix y = ix_of_lin(&e->g->nodes[n->in[0]].shape, em_i64(e, 0));
      return em_value(e, n->in[0], &y);
    }
    /* fall through */
  case OP_PERMUTE:
  case OP_SLICE: {
    Ix y = moved(e, n, x, NULL);
    return em_value(e, n->in[0], &y);
  }
  case OP_PAD: {
    LLVMValueRef value = em_const(e, n->dtype, ir_attr_f(n, "value")), inside;
    if (!shape_numel(&e->g->nodes[n->in[0]].shape)) return value;
    Ix y = moved(e, n, x, &inside);
    return LLVMBuildSelect(e->b, inside, em_value(e, n->in[0], &y), value, "");
  }
  case OP_CONCAT: { /* each input read at an index clamped into it, the right one selected */
    int axis = (int)ir_attr_i(n, "axis");
    ix_multi(e, x);
    LLVMValueRef v = NULL;
    int64_t off = 0;
    for (int k = 0; k < n->nin; k++) {
      const Shape *ks = &e->g->nodes[n->in[k]].shape;
      int64_t len = ks->d[axis];
      if (!len) continue;
      Ix y = {.shape = *ks, .multi = 1};
      for (int j = 0; j < ks->rank; j++) y.d[j] = x->d[j];
      LLVMValueRef p = LLVMBuildNSWSub(e->b, x->d[axis], em_i64(e, off), "");
      LLVMValueRef lo = LLVMBuildICmp(e->b, LLVMIntSLT, p, em_i64(e, 0), "");
      LLVMValueRef hi = LLVMBuildICmp(e->b, LLVMIntSGT, p, em_i64(e, len - 1), "");
      y.d[axis] = LLVMBuildSelect(e->b, lo, em_i64(e, 0), LLVMBuildSelect(e->b, hi, em_i64(e, len - 1), p, ""), "");
      LLVMValueRef here = em_value(e, n->in[k], &y);
      v = v ? LLVMBuildSelect(e->b, lo, v, here, "") : here; /* below this input: an earlier one */
      off += len;
    }
    return v ? v : em_const(e, n->dtype, 0);
  }
  case OP_WHERE:
    return LLVMBuildSelect(e->b, em_value(e, n->in[0], x), em_value(e, n->in[1], x), em_value(e, n->in[2], x), "");
  case OP_CAST: return em_cast(e, em_value(e, n->in[0], x), t0, n->dtype);
  default:
    if (op_info(n->op)->cls == OPC_UNARY) return unary(e, n->op, t0, em_value(e, n->in[0], x));
    if (op_info(n->op)->cls == OPC_BINARY) return binary(e, n->op, t0, em_value(e, n->in[0], x), em_value(e, n->in[1], x));
    /* fuse.c never inlines anything else: a stored value missing from the leaves */
    fprintf(stderr, "mimic: internal error: node %%%d (%s) is neither stored nor computable in place\n", id,
            op_info(n->op)->name);
    abort();
  }
}

LLVMValueRef em_in(Em *e, int k, LLVMValueRef lin) {
  Ix x = ix_of_lin(&e->g->nodes[e->n->in[k]].shape, lin);
  return em_value(e, e->n->in[k], &x);
}

static int wants_multi(Em *e, int id, int root) {
  if (!root)
    for (int k = 0; k < e->nleaf; k++)
      if (e->leaf[k] == id) return 0;
  const Node *n = &e->g->nodes[id];
  if (n->op == OP_BROADCAST || n->op == OP_PERMUTE || n->op == OP_SLICE || n->op == OP_PAD || n->op == OP_IOTA ||
      n->op == OP_CONCAT)
    return 1;
  if (!root && e->inl[id] == FUSE_EPI) return 0; /* read back at the same linear index */
  for (int k = 0; k < n->nin; k++)
    if (wants_multi(e, n->in[k], 0)) return 1;
  return 0;
}

int em_wants_multi(Em *e, int id) {
  return wants_multi(e, id, 1);
}
