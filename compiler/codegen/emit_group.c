/* emit_group.c — the body of a horizontal group (passes/fuse.h rule 8).
 *
 * Reductions whose kernel is one step: step j of the range runs member j's (em_reduce).
 *
 * Elementwise members: members that read each other form a segment (same shape, read at
 * the same index); segments are laid end to end over the range, each member's element
 * i computed in node order, a member read by a later one passed in registers
 * (Em.regval) instead of through memory. */
#include <stdlib.h>

#include "codegen/emit.h"

/* The range [lo, hi) in a segment's coordinates: [clamp(lo - off), clamp(hi - off)). */
static void seg_range(Em *e, int64_t off, int64_t n, LLVMValueRef *lo, LLVMValueRef *hi) {
  LLVMValueRef zero = em_i64(e, 0), cap = em_i64(e, n);
  LLVMValueRef a = LLVMBuildNSWSub(e->b, e->lo, em_i64(e, off), "");
  LLVMValueRef b = LLVMBuildNSWSub(e->b, e->hi, em_i64(e, off), "");
  a = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, zero, ""), zero, a, "");
  b = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, b, cap, ""), cap, b, "");
  *lo = a;
  *hi = b;
}

static void totals(Em *e, const int *members, const LLVMValueRef *outs, int n) {
  const Node *kn = e->n;
  LLVMValueRef lo = e->lo, hi = e->hi, out = e->out;
  for (int q = 0; q < n; q++) { /* step q of the range: member q's whole reduction (one step) */
    LLVMValueRef a, b;
    seg_range(e, q, 1, &a, &b);
    Loop Lq;
    loop_begin(e, &Lq, a, b); /* at most one pass: whether the range holds step q */
    e->n = &e->g->nodes[members[q]];
    e->out = outs[q];
    e->lo = em_i64(e, 0);
    e->hi = em_i64(e, 1);
    em_reduce(e);
    e->n = kn;
    e->out = out;
    e->lo = lo;
    e->hi = hi;
    loop_end(e, &Lq, NULL);
  }
}

static int find(int *up, int i) {
  while (up[i] != i) i = up[i] = up[up[i]];
  return i;
}

static void flats(Em *e, const int *members, const LLVMValueRef *outs, int n) {
  int *up = malloc(sizeof *up * (size_t)n), *done = calloc((size_t)n, sizeof *done);
  if (!up || !done) abort();
  for (int q = 0; q < n; q++) up[q] = q;
  for (int q = 0; q < n; q++) { /* segments: members joined by what they read of each other */
    int nl, *lv = cg_leaves(e->g, e->inl, members[q], &nl);
    for (int j = 0; j < nl; j++)
      for (int p = 0; p < n; p++)
        if (lv[j] == members[p]) up[find(up, p)] = find(up, q);
    free(lv);
  }
  int64_t off = 0;
  for (int s = 0; s < n; s++) {
    if (done[s]) continue;
    int root = find(up, s);
    const Shape *sh = &e->g->nodes[members[s]].shape;
    int64_t cnt = shape_numel(sh);
    LLVMValueRef lo, hi;
    seg_range(e, off, cnt, &lo, &hi);
    Loop L;
    LLVMValueRef i = loop_begin(e, &L, lo, hi);
    for (int q = s; q < n; q++) { /* the segment's members, in node order */
      if (find(up, q) != root) continue;
      done[q] = 1;
      const Node *m = &e->g->nodes[members[q]];
      Ix x = ix_of_lin(sh, i);
      LLVMValueRef v = em_value(e, members[q], &x);
      em_store(e, m->dtype, outs[q], i, v);
      e->regval[members[q]] = v;
    }
    for (int q = s; q < n; q++)
      if (find(up, q) == root) e->regval[members[q]] = NULL;
    loop_end(e, &L, NULL);
    off += cnt;
  }
  free(up);
  free(done);
}

void em_group(Em *e, const int *members, const LLVMValueRef *outs, int n) {
  if (op_info(e->g->nodes[members[0]].op)->cls == OPC_REDUCE) totals(e, members, outs, n);
  else flats(e, members, outs, n);
}
