/* emit.c — cg_emit: one LLVM function per kernel, built through the C API. This file
 * holds the kernel scaffolding (see emit.h), the loop and value helpers, the kernels
 * that compute their output element by element (elementwise, sources, movement) and
 * reductions; emit_value.c the value of one element (every elementwise op's arithmetic,
 * fused producers); emit_ops.c concat, indexing, contraction and random.
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
#include "fuse.h"

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
static void em_flat(Em *e) {
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
  }
  if (inner_red) {
    int k = G.m - 1;
    LLVMValueRef acc0 = em_load(e, t, e->out, oidx);
    LLVMValueRef hi = nest ? em_i64(e, G.size[k])
                           : LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, e->lo, e->hi, ""),
                                             em_i64(e, G.size[k]), em_i64(e, 0), "");
    LLVMValueRef iv = loop_begin(e, &L1, em_i64(e, 0), hi);
    LLVMValueRef acc = loop_carry(e, &L1, acc0);
    LLVMValueRef x = em_in(e, 0, em_add(e, iidx, iv));
    LLVMValueRef nx2 = em_combine(e, n->op, t, acc, x);
    loop_end(e, &L1, &nx2);
    em_store(e, t, e->out, oidx, acc);
  } else {
    LLVMValueRef x = em_in(e, 0, iidx);
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

static void put_node(FILE *f, const Graph *g, const Node *n) {
  fprintf(f, "%s ", op_info(n->op)->name);
  put_shape(f, n->dtype, &n->shape);
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
  (void)g;
}

/* The node, then each input: a leaf by its position among the leaves (and type), an
 * inlined value by its own key in parentheses. */
static void put_key(FILE *f, const Graph *g, const char *inl, const int *leaf, int nleaf, int inplace, int id) {
  const Node *n = &g->nodes[id];
  put_node(f, g, n);
  for (int i = 0; i < n->nin; i++) {
    int x = n->in[i];
    if (inl[x]) {
      fputs(" (", f);
      put_key(f, g, inl, leaf, nleaf, inplace, x);
      fputc(')', f);
      continue;
    }
    if (x == inplace) fputs(" OUT:", f); /* read from the output's bytes */
    for (int k = 0; k < nleaf; k++)
      if (leaf[k] == x) fprintf(f, " L%d:", k);
    put_shape(f, g->nodes[x].dtype, &g->nodes[x].shape);
  }
}

static char *body_key(const Graph *g, const char *inl, const int *leaf, int nleaf, int inplace, int id) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) abort();
  put_key(f, g, inl, leaf, nleaf, inplace, id);
  fclose(f);
  return buf;
}

static Body *body_find(Bodies *t, const char *key) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  for (int i = (int)(h & (uint64_t)(t->cap - 1));; i = (i + 1) & (t->cap - 1))
    if (!t->v[i].key || !strcmp(t->v[i].key, key)) return &t->v[i];
}

/* The body (outs..., leaves..., lo, hi) of the kernel of node n (nout > 1: a horizontal
 * group, members[0..nout)), pointers noalias and CG_ALIGN-aligned. */
static LLVMValueRef emit_body(Em *e, const Node *n, const char *name, const int *members, int nout) {
  int np = nout + e->nleaf + 2;
  LLVMTypeRef *pt = malloc(sizeof *pt * (size_t)np);
  e->leafp = malloc(sizeof *e->leafp * (size_t)(e->nleaf ? e->nleaf : 1));
  LLVMValueRef *outs = malloc(sizeof *outs * (size_t)nout);
  if (!pt || !e->leafp || !outs) abort();
  for (int i = 0; i < nout + e->nleaf; i++) pt[i] = e->ptr;
  pt[np - 2] = pt[np - 1] = e->i64;
  LLVMValueRef body = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->vd, pt, (unsigned)np, 0));
  free(pt);
  LLVMSetLinkage(body, LLVMInternalLinkage);
  add_attr(e, body, LLVMAttributeFunctionIndex, "nounwind", 0);
  for (int i = 0; i < nout + e->nleaf; i++) {
    add_attr(e, body, (unsigned)i + 1, "noalias", 0);
    add_attr(e, body, (unsigned)i + 1, "nocapture", 0);
    add_attr(e, body, (unsigned)i + 1, "align", CG_ALIGN);
    if (i >= nout) add_attr(e, body, (unsigned)i + 1, "readonly", 0);
  }
  e->n = n;
  e->fn = body;
  for (int i = 0; i < nout; i++) outs[i] = LLVMGetParam(body, (unsigned)i);
  e->out = outs[0];
  for (int i = 0; i < e->nleaf; i++) e->leafp[i] = LLVMGetParam(body, (unsigned)(nout + i));
  e->lo = LLVMGetParam(body, (unsigned)np - 2);
  e->hi = LLVMGetParam(body, (unsigned)np - 1);
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, body, "entry"));
  int *rowc = NULL;
  e->epi = cg_fused(e->g, e->inl, (int)(n - e->g->nodes), &rowc, &e->nrowc);
  e->rowc = rowc;
  if (nout > 1) em_group(e, members, outs, nout);
  else if (e->epi >= 0) { /* the contraction, and after each of its steps this node over its rows */
    e->epik = n;
    e->n = &e->g->nodes[e->epi];
    em_contract(e);
    e->n = n;
    e->epik = NULL;
  } else switch (op_info(n->op)->cls) {
  case OPC_REDUCE: em_reduce(e); break;
  case OPC_MOVE:
    if (n->op == OP_CONCAT) em_move(e);
    else em_flat(e);
    break;
  case OPC_INDEX: em_index(e); break;
  case OPC_CONTRACT: em_contract(e); break;
  case OPC_RANDOM: em_random(e); break;
  default: em_flat(e); break;
  }
  LLVMBuildRetVoid(e->b);
  free(e->leafp);
  free(outs);
  free(rowc);
  e->leafp = NULL;
  e->rowc = NULL;
  e->nrowc = 0;
  e->epi = -1;
  return body;
}

/* The stored values the members of a kernel read, less the members themselves (a group
 * passes those in registers), distinct, in first-use order. */
static int *kernel_leaves(const Graph *g, const char *inl, const int *mem, int nm, int inplace, int *n) {
  int cap = 16, cnt = 0, *out = malloc(sizeof *out * (size_t)cap);
  if (!out) abort();
  for (int q = 0; q < nm; q++) {
    int nl, *lv = cg_leaves(g, inl, mem[q], &nl);
    for (int j = 0; j < nl; j++) {
      int dup = 0;
      dup = lv[j] == inplace; /* read from the output pointer */
      for (int p = 0; p < nm && !dup; p++) dup = nm > 1 && mem[p] == lv[j];
      for (int p = 0; p < cnt && !dup; p++) dup = out[p] == lv[j];
      if (dup) continue;
      if (cnt == cap && !(out = realloc(out, sizeof *out * (size_t)(cap *= 2)))) abort();
      out[cnt++] = lv[j];
    }
    free(lv);
  }
  *n = cnt;
  return out;
}

/* The body of the kernel whose members are mem[0..nm) (a shared one when nm is 1), its
 * leaves in *leaf. */
static LLVMValueRef kernel_body(Em *e, const CgLayout *l, const char *kname, int wide_member, const int *mem, int nm,
                                int inplace, int **leaf, int *nleaf, Bodies *bodies) {
  int last = mem[nm - 1];
  e->inplace = inplace;
  *leaf = kernel_leaves(e->g, l->inl, mem, nm, inplace, nleaf);
  e->leaf = *leaf;
  e->nleaf = *nleaf;
  char name[96];
  if (wide_member) snprintf(name, sizeof name, "%s.body.%d", kname, last);
  else snprintf(name, sizeof name, "%s.body", kname);
  LLVMValueRef fn;
  if (nm > 1) { /* a group's body is its own */
    fn = emit_body(e, &e->g->nodes[last], name, mem, nm);
    add_attr(e, fn, LLVMAttributeFunctionIndex, "alwaysinline", 0);
  } else {
    char *key = body_key(e->g, l->inl, *leaf, *nleaf, inplace, last);
    Body *bd = body_find(bodies, key);
    if (!bd->key) {
      bd->key = key;
      bd->fn = emit_body(e, &e->g->nodes[last], name, mem, 1);
    } else {
      free(key);
    }
    bd->users++;
    fn = bd->fn;
  }
  e->leaf = NULL;
  e->nleaf = 0;
  e->inplace = -1;
  return fn;
}

/* In the kernel's wrapper: fn(outs..., leaves..., lo, hi), pointers from region bases
 * and slot offsets. */
static void call_body(Em *e, const CgLayout *l, LLVMValueRef base, LLVMValueRef fn, const int *mem, int nm,
                      const int *leaf, int nleaf, LLVMValueRef lo, LLVMValueRef hi) {
  int np = nm + nleaf + 2;
  LLVMValueRef *args = malloc(sizeof *args * (size_t)np);
  if (!args) abort();
  for (int i = 0; i < nm + nleaf; i++) {
    const CgSlot *s = &l->slot[i < nm ? mem[i] : leaf[i - nm]];
    LLVMValueRef r = em_i64(e, s->region);
    LLVMValueRef bp = LLVMBuildLoad2(e->b, e->ptr, LLVMBuildInBoundsGEP2(e->b, e->ptr, base, &r, 1, ""), "");
    LLVMValueRef off = em_i64(e, s->offset);
    args[i] = LLVMBuildInBoundsGEP2(e->b, e->i8, bp, &off, 1, "");
  }
  args[np - 2] = lo;
  args[np - 1] = hi;
  LLVMBuildCall2(e->b, LLVMGlobalGetValueType(fn), fn, args, (unsigned)np, "");
  free(args);
}

/* A row group's tile: rows whose members' outputs take about EM_ROW_TILE_BYTES, so that
 * what one member writes is still in the first-level cache when the next reads it. */
#define EM_ROW_TILE_BYTES 16384
static int64_t row_tile(const Graph *g, const int *mem, int nm, int64_t rows) {
  int64_t bytes = 0;
  for (int q = 0; q < nm; q++) bytes += shape_numel(&g->nodes[mem[q]].shape) / rows * dtype_size(g->nodes[mem[q]].dtype);
  int64_t t = bytes ? EM_ROW_TILE_BYTES / bytes : rows;
  return t < 1 ? 1 : t;
}

/* The kernel of the ABI: region bases + slot offsets -> pointers, then the body. A wide
 * group (fuse.h rule 8c) calls each member's body over its proportional piece of the
 * range: [lo * n / extent, hi * n / extent) of a member with range [0, n). A row group
 * (rule 8b) calls every member's body over one tile of rows, tile after tile. */
static void emit_kernel(Em *e, const CgLayout *l, const CgKernel *k, Bodies *bodies) {
  int nm, *mem = cg_members(e->g, l, k->node, &nm);
  int kind = nm > 1 ? l->gkind[k->node] : 0, apart = kind == FUSE_GROUP_WIDE || kind == FUSE_GROUP_ROWS;
  int nb = apart ? nm : 1, *leaf[FUSE_WIDE_MAX], nleaf[FUSE_WIDE_MAX];
  LLVMValueRef fn[FUSE_WIDE_MAX];
  for (int q = 0; q < nb; q++)
    fn[q] = apart ? kernel_body(e, l, k->name, 1, &mem[q], 1, l->inplace[mem[q]], &leaf[q], &nleaf[q], bodies)
                  : kernel_body(e, l, k->name, 0, mem, nm, l->inplace[k->node], &leaf[q], &nleaf[q], bodies);
  LLVMTypeRef kt[3] = {e->ptr, e->i64, e->i64};
  LLVMValueRef kf = LLVMAddFunction(e->mod, k->name, LLVMFunctionType(e->vd, kt, 3, 0));
  add_attr(e, kf, LLVMAttributeFunctionIndex, "nounwind", 0);
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, kf, "entry"));
  LLVMValueRef base = LLVMGetParam(kf, 0), lo = LLVMGetParam(kf, 1), hi = LLVMGetParam(kf, 2);
  if (kind == FUSE_GROUP_ROWS) { /* the range in rows, or in the matmul member's steps */
    int mq = -1, mmn = -1;
    for (int q = 0; q < nm && mq < 0; q++)
      if ((mmn = cg_matmul_of(e->g, l->inl, mem[q])) >= 0) mq = q;
    const Shape *ms = mq >= 0 ? &e->g->nodes[mmn].shape : NULL;
    int64_t M = ms ? ms->d[ms->rank - 2] : 1, G = (M + EM_MATMUL_MR - 1) / EM_MATMUL_MR;
    int64_t rows = ms ? shape_numel(ms) / ms->d[ms->rank - 1] : k->extent;
    for (int q = 0; q < nm; q++) /* fuse.h rule 8b: the same rows */
      if (q != mq && cg_extent(e->g, l->inl, mem[q]) != rows) abort();
    int64_t T = mq >= 0 ? 64 / EM_MATMUL_MR : row_tile(e->g, mem, nm, k->extent);
    LLVMValueRef n = LLVMBuildUDiv(e->b, LLVMBuildAdd(e->b, LLVMBuildSub(e->b, hi, lo, ""), em_i64(e, T - 1), ""), em_i64(e, T), "");
    LLVMValueRef saved = e->fn;
    e->fn = kf; /* the tile loop is the wrapper's */
    Loop L;
    LLVMValueRef j = loop_begin(e, &L, em_i64(e, 0), n);
    LLVMValueRef a = LLVMBuildAdd(e->b, lo, em_mulc(e, j, T), "");
    LLVMValueRef b = LLVMBuildAdd(e->b, a, em_i64(e, T), "");
    b = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntULT, b, hi, ""), b, hi, "");
    LLVMValueRef ra = a, rb = b;
    if (mq >= 0) { /* step s: rows from (s / G) * M + min((s % G) * MR, M) */
      LLVMValueRef st[2] = {a, b}, rw[2];
      for (int t = 0; t < 2; t++) {
        LLVMValueRef in = em_mulc(e, LLVMBuildURem(e->b, st[t], em_i64(e, G), ""), EM_MATMUL_MR);
        in = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntULT, in, em_i64(e, M), ""), in, em_i64(e, M), "");
        rw[t] = LLVMBuildAdd(e->b, em_mulc(e, LLVMBuildUDiv(e->b, st[t], em_i64(e, G), ""), M), in, "");
      }
      ra = rw[0];
      rb = rw[1];
    }
    for (int q = 0; q < nm; q++) call_body(e, l, base, fn[q], &mem[q], 1, leaf[q], nleaf[q], q == mq ? a : ra, q == mq ? b : rb);
    loop_end(e, &L, NULL);
    e->fn = saved;
  }
  for (int q = 0; q < nb && kind != FUSE_GROUP_ROWS; q++) {
    if (!apart) {
      call_body(e, l, base, fn[q], mem, nm, leaf[q], nleaf[q], lo, hi);
      continue;
    }
    int64_t n = cg_extent(e->g, l->inl, mem[q]);
    LLVMValueRef a = lo, b = hi;
    if (n != k->extent) {
      a = LLVMBuildUDiv(e->b, LLVMBuildNUWMul(e->b, lo, em_i64(e, n), ""), em_i64(e, k->extent), "");
      b = LLVMBuildUDiv(e->b, LLVMBuildNUWMul(e->b, hi, em_i64(e, n), ""), em_i64(e, k->extent), "");
    }
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(e->ctx, kf, "member"),
                      next = LLVMAppendBasicBlockInContext(e->ctx, kf, "next");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntULT, a, b, ""), run, next);
    LLVMPositionBuilderAtEnd(e->b, run);
    call_body(e, l, base, fn[q], &mem[q], 1, leaf[q], nleaf[q], a, b);
    LLVMBuildBr(e->b, next);
    LLVMPositionBuilderAtEnd(e->b, next);
  }
  LLVMBuildRetVoid(e->b);
  for (int q = 0; q < nb; q++) free(leaf[q]);
  free(mem);
}

int cg_emit(const Graph *g, const CgLayout *l, const char *prefix, CgModule *out, Diag *d) {
  memset(out, 0, sizeof *out);
  if (cg_kernels(g, l, prefix, &out->kernels, &out->nkernels, d)) return -1;
  Em e = {0};
  e.g = g;
  e.inl = l->inl;
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
  e.epi = -1;
  e.inplace = -1;
  e.regval = calloc((size_t)(g->n ? g->n : 1), sizeof *e.regval);
  if (!e.regval) abort();
  Bodies bodies = {.cap = 16};
  while (bodies.cap < 2 * (g->n + 1)) bodies.cap *= 2; /* at most one body per node: a group member has its own */
  bodies.v = calloc((size_t)bodies.cap, sizeof *bodies.v);
  if (!bodies.v) abort();
  for (int i = 0; i < out->nkernels; i++) emit_kernel(&e, l, &out->kernels[i], &bodies);
  for (int i = 0; i < bodies.cap; i++) {
    if (!bodies.v[i].key) continue;
    add_attr(&e, bodies.v[i].fn, LLVMAttributeFunctionIndex, bodies.v[i].users > 1 ? "noinline" : "alwaysinline", 0);
    free(bodies.v[i].key);
  }
  free(bodies.v);
  free(e.regval);
  LLVMDisposeBuilder(e.b);
  return 0;
}

void cg_module_free(CgModule *m) {
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->ctx) LLVMContextDispose(m->ctx);
  free(m->kernels);
  memset(m, 0, sizeof *m);
}
