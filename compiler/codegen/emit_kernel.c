/* emit_kernel.c — cg_emit: one LLVM function per kernel (the ABI's wrapper) and the
 * bodies it calls. A kernel's wrapper turns region bases and slot offsets into pointers
 * and calls its body over the range; a horizontal group of rule 8 has one body computing
 * its members together, while the members of row and wide groups (fuse.h rules 8b, 8c)
 * keep their own bodies, which the wrapper calls tile by tile or share by share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emit.h"
#include "fuse.h"

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
  e->outs = outs;
  e->nout = nout;
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
  e->outs = NULL;
  e->nout = 0;
  free(rowc);
  e->leafp = NULL;
  e->rowc = NULL;
  e->nrowc = 0;
  e->epi = -1;
  return body;
}

/* The stored values the members of a kernel read, less the members themselves (a group
 * passes those in registers), distinct, in first-use order. */
static int *kernel_leaves(const Graph *g, const char *inl, const int *mem, int nm, const int *inplace, int *n) {
  int cap = 16, cnt = 0, *out = malloc(sizeof *out * (size_t)cap);
  if (!out) abort();
  for (int q = 0; q < nm; q++) {
    int nl, *lv = cg_leaves(g, inl, mem[q], &nl);
    for (int j = 0; j < nl; j++) {
      int dup = 0;
      for (int p = 0; p < nm && !dup; p++) dup = lv[j] == inplace[p]; /* read from an output pointer */
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
                                int **leaf, int *nleaf, Bodies *bodies) {
  int last = mem[nm - 1], *inplace = malloc(sizeof *inplace * (size_t)nm);
  if (!inplace) abort();
  for (int q = 0; q < nm; q++) inplace[q] = l->inplace[mem[q]];
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
    char *key = body_key(e->g, l->inl, *leaf, *nleaf, inplace[0], last);
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
  e->inplace = NULL;
  free(inplace);
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
    fn[q] = apart ? kernel_body(e, l, k->name, 1, &mem[q], 1, &leaf[q], &nleaf[q], bodies)
                  : kernel_body(e, l, k->name, 0, mem, nm, &leaf[q], &nleaf[q], bodies);
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
    /* with a matmul, tiles of 256 rows: each call of its body packs all of op(B) again
     * (emit_matmul.c); at 64 rows the ViT training step took 4% longer */
    int64_t T = mq >= 0 ? 256 / EM_MATMUL_MR : row_tile(e->g, mem, nm, k->extent);
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
  e.inplace = NULL;
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
