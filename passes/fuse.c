/* fuse.c — the fusion decisions (see fuse.h for the rules). */
#include "fuse.h"

#include <stdlib.h>
#include <string.h>

static int is_output(const Graph *g, int id) {
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id == id) return 1;
  return 0;
}

static int elementwise(OpKind op) {
  OpClass c = op_info(op)->cls;
  return c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT;
}

/* ops that rule 4 may inline */
static int inlinable(const Node *nd) {
  return elementwise(nd->op) || nd->op == OP_BROADCAST || nd->op == OP_PERMUTE || nd->op == OP_SLICE ||
         nd->op == OP_PAD || nd->op == OP_CONST || nd->op == OP_IOTA ||
         (nd->op == OP_CONCAT && nd->nin <= FUSE_CONCAT_MAX);
}

/* Rule 6's price of computing one element of an elementwise op, in simple operations. */
static int op_cost(OpKind op) {
  switch (op) {
  case OP_EXP:
  case OP_LOG: return 8;
  case OP_ERF:
  case OP_TANH:
  case OP_POW: return 10;
  case OP_DIV:
  case OP_SQRT:
  case OP_RSQRT:
  case OP_RECIP: return 2;
  default: return 1;
  }
}

static int64_t last_dim(const Shape *s) {
  return s->rank ? s->d[s->rank - 1] : 1;
}

int fuse_row_reduction(const Graph *g, const Node *nd) {
  if (op_info(nd->op)->cls != OPC_REDUCE) return 0;
  const Shape *xs = &g->nodes[nd->in[0]].shape;
  int cnt;
  const int64_t *axes = ir_attr_is(nd, "axes", &cnt);
  return xs->rank >= 1 && cnt == 1 && axes[0] == xs->rank - 1 && shape_numel(xs) > 0;
}

/* ---- rule 3's views ---- */

static int view_op(OpKind op) {
  return op == OP_RESHAPE || op == OP_PERMUTE || op == OP_SLICE || op == OP_BROADCAST;
}

/* Strides of `to` viewing the same elements as (from, st), or 0 when a reshape merges
 * axes that are not contiguous with each other. Axes are matched in groups of equal
 * element count, size-1 axes aside, like the code generator's reshape. */
static int reshape_strides(const Shape *from, const int64_t *st, const Shape *to, int64_t *out) {
  int i = 0, j = 0;
  for (int k = 0; k < to->rank; k++) out[k] = 0;
  while (i < from->rank || j < to->rank) {
    if (i < from->rank && from->d[i] == 1) { i++; continue; }
    if (j < to->rank && to->d[j] == 1) { j++; continue; }
    if (i >= from->rank || j >= to->rank) return 0;
    int i2 = i + 1, j2 = j + 1;
    int64_t pi = from->d[i], pj = to->d[j];
    while (pi != pj) {
      if (pi < pj && i2 < from->rank) pi *= from->d[i2++];
      else if (pj < pi && j2 < to->rank) pj *= to->d[j2++];
      else return 0;
    }
    /* from[i..i2) must be one run of memory: each axis's stride = the next one's span */
    int64_t inner = 0;
    int have = 0;
    for (int k = i2 - 1; k >= i; k--) {
      if (from->d[k] == 1) continue;
      if (have && st[k] != inner) return 0;
      inner = st[k] * from->d[k];
      have = 1;
    }
    int64_t s0 = 0;
    for (int k = i2 - 1; k >= i; k--)
      if (from->d[k] != 1) { s0 = st[k]; break; }
    for (int k = j2 - 1; k >= j; k--) {
      out[k] = s0;
      s0 *= to->d[k];
    }
    i = i2;
    j = j2;
  }
  return 1;
}

int fuse_view(const Graph *g, const char *inl, int id, FuseView *v) {
  int chain[FUSE_MAX_VIEW], n = 0, x = id;
  while (view_op(g->nodes[x].op) && (x == id || (inl ? inl[x] != 0 : !is_output(g, x)))) {
    if (n == FUSE_MAX_VIEW) return 0;
    chain[n++] = x;
    x = g->nodes[x].in[0];
  }
  const Shape *bs = &g->nodes[x].shape;
  if (!n || shape_numel(bs) == 0) return 0;
  v->base = x;
  v->off = 0;
  int64_t st[IR_MAX_RANK], nst[IR_MAX_RANK];
  int64_t span = 1;
  for (int k = bs->rank - 1; k >= 0; k--) {
    st[k] = span;
    span *= bs->d[k];
  }
  for (int c = n - 1; c >= 0; c--) {
    const Node *nd = &g->nodes[chain[c]];
    const Shape *from = &g->nodes[nd->in[0]].shape, *to = &nd->shape;
    int cnt;
    switch (nd->op) {
    case OP_RESHAPE:
      if (!reshape_strides(from, st, to, nst)) return 0;
      break;
    case OP_PERMUTE: {
      const int64_t *perm = ir_attr_is(nd, "perm", &cnt);
      for (int k = 0; k < to->rank; k++) nst[k] = st[perm[k]];
      break;
    }
    case OP_SLICE: {
      const int64_t *start = ir_attr_is(nd, "start", &cnt), *step = ir_attr_is(nd, "step", &cnt);
      for (int k = 0; k < to->rank; k++) {
        v->off += start[k] * st[k];
        nst[k] = st[k] * step[k];
      }
      break;
    }
    default: { /* broadcast: new or widened axes read one element */
      int lead = to->rank - from->rank;
      for (int k = 0; k < to->rank; k++) nst[k] = k < lead || (from->d[k - lead] == 1 && to->d[k] != 1) ? 0 : st[k - lead];
    }
    }
    memcpy(st, nst, sizeof st);
  }
  memcpy(v->st, st, sizeof st);
  return 1;
}

/* ---- checking rule 5 in the kernels ---- */

typedef struct Walk {
  const Graph *g;
  char *inl;
  int *stamp;       /* per node: the kernel that last visited it */
  signed char *dep; /* per node, valid when stamp matches: a DEP_ value */
  int *reach;       /* per candidate: kernels that reach it */
  int *bad;         /* per candidate: a kernel reaches it where rule 5 does not hold */
  int *epi;         /* per kernel: its epilogue contraction (the last one seen), or -1 */
  int *mark;        /* per node: the kernel whose blame walk last visited it */
  int cur;          /* the kernel being walked */
} Walk;

enum { DEP_NONE, DEP_ROW, DEP_BAD };

/* Mark every candidate under node id (through inlined values) bad: the step above it
 * does not keep rows. Stamped with -2 - cur, apart from row_dep's memo. */
static void mark_bad(Walk *w, int id, int root) {
  if (!root && (!w->inl[id] || w->mark[id] == w->cur)) return;
  if (!root) w->mark[id] = w->cur;
  if (!root && (w->inl[id] == FUSE_ROW || w->inl[id] == FUSE_EPI)) w->bad[id] = 1;
  const Node *n = &w->g->nodes[id];
  for (int k = 0; k < n->nin; k++) mark_bad(w, n->in[k], 0);
}

/* A step that does not keep rows: the candidates in its inputs that depend on rows are
 * to blame (those behind an input already bad were blamed there). */
static int row_dep(Walk *w, int id, int64_t rows, int root);

static void blame(Walk *w, const Node *n, int64_t rows) {
  for (int k = 0; k < n->nin; k++)
    if (row_dep(w, n->in[k], rows, 0) == DEP_ROW) mark_bad(w, n->in[k], 0); /* memoised: no new walk */
}

static int aligned(const Shape *s, int64_t rows) {
  return shape_numel(s) == rows * last_dim(s);
}

/* Whether node id's value, inside the current kernel of `rows` rows, depends on a value
 * computed row by row (a rule 5 candidate), and if so whether every step from there to
 * the kernel keeps row r at row r. Marks the candidates reached. */
static int row_dep(Walk *w, int id, int64_t rows, int root) {
  const Graph *g = w->g;
  const Node *n = &g->nodes[id];
  if (!root && !w->inl[id]) return DEP_NONE;
  if (!root && w->stamp[id] == w->cur) return w->dep[id];
  int r;
  int c = w->inl[id];
  if (!root && (c == FUSE_ROW || c == FUSE_EPI)) {
    w->reach[id]++;
    if (c == FUSE_EPI) {
      r = aligned(&n->shape, rows) ? DEP_ROW : DEP_BAD;
      if (w->epi[w->cur] >= 0 && w->epi[w->cur] != id) w->bad[w->epi[w->cur]] = w->bad[id] = 1; /* one per kernel */
      w->epi[w->cur] = id;
    } else {
      int x = row_dep(w, n->in[0], rows, 0);
      r = x == DEP_BAD ? DEP_BAD : aligned(&g->nodes[n->in[0]].shape, rows) && aligned(&n->shape, rows) ? DEP_ROW : DEP_BAD;
      if (r == DEP_BAD && x != DEP_BAD) w->bad[id] = 1;
    }
    if (c == FUSE_EPI && r == DEP_BAD) w->bad[id] = 1;
  } else {
    int any = 0, bad = 0;
    for (int k = 0; k < n->nin; k++) {
      int x = row_dep(w, n->in[k], rows, 0);
      any |= x == DEP_ROW;
      bad |= x == DEP_BAD;
    }
    if (bad) r = DEP_BAD;
    else if (!any) r = DEP_NONE;
    else if (elementwise(n->op) || (n->op == OP_RESHAPE && aligned(&g->nodes[n->in[0]].shape, rows)))
      r = aligned(&n->shape, rows) ? DEP_ROW : DEP_BAD;
    else if (n->op == OP_BROADCAST) { /* along the last axis only */
      const Shape *xs = &g->nodes[n->in[0]].shape;
      int ok = xs->rank == n->shape.rank && aligned(&n->shape, rows);
      for (int k = 0; ok && k + 1 < xs->rank; k++) ok = xs->d[k] == n->shape.d[k];
      r = ok ? DEP_ROW : DEP_BAD;
    } else if (root && fuse_row_reduction(g, n)) /* a row-reduction kernel: rows = its elements */
      r = aligned(&g->nodes[n->in[0]].shape, rows) ? DEP_ROW : DEP_BAD;
    else r = DEP_BAD;
    if (r == DEP_BAD && !bad) blame(w, n, rows);
  }
  if (!root) {
    w->stamp[id] = w->cur;
    w->dep[id] = (signed char)r;
  }
  return r;
}

/* One round of rule 5's check over all kernels; un-inlines the candidates it fails.
 * Returns how many it un-inlined. */
static int check_rows(Walk *w, const char *live) {
  const Graph *g = w->g;
  int n = g->n;
  memset(w->reach, 0, sizeof *w->reach * (size_t)n);
  memset(w->bad, 0, sizeof *w->bad * (size_t)n);
  for (int i = 0; i < n; i++) w->stamp[i] = w->mark[i] = -1;
  for (int i = 0; i < n; i++) {
    const Node *nd = &g->nodes[i];
    if (w->inl[i] || !live[i] || nd->op == OP_INPUT || nd->op == OP_WEIGHT) continue;
    w->cur = i;
    w->epi[i] = -1;
    int host = elementwise(nd->op) || nd->op == OP_RESHAPE || nd->op == OP_BROADCAST || fuse_row_reduction(g, nd);
    int64_t rows = fuse_row_reduction(g, nd) ? shape_numel(&nd->shape) : shape_numel(&nd->shape) / (last_dim(&nd->shape) ? last_dim(&nd->shape) : 1);
    if (nd->op == OP_PERMUTE && w->inl[nd->in[0]] == FUSE_EPI && g->nodes[nd->in[0]].op == OP_MATMUL) {
      int cnt, m = nd->in[0]; /* a matmul storing its rows where the permute puts them */
      const int64_t *perm = ir_attr_is(nd, "perm", &cnt);
      w->reach[m]++;
      if (perm[cnt - 1] != cnt - 1 || g->nodes[m].dtype != nd->dtype) w->bad[m] = 1;
      continue;
    }
    if (!host || !shape_numel(&nd->shape)) { /* no row structure: nothing row-wise may enter */
      for (int k = 0; k < nd->nin; k++) mark_bad(w, nd->in[k], 0);
      continue;
    }
    row_dep(w, i, rows, 1);
    int e = w->epi[i];
    if (e >= 0) { /* the kernel becomes the contraction plus this epilogue */
      const Node *m = &g->nodes[e];
      if (fuse_row_reduction(g, nd) || m->dtype != nd->dtype || shape_numel(&m->shape) != shape_numel(&nd->shape))
        w->bad[e] = 1;
    }
  }
  int undone = 0;
  for (int i = 0; i < n; i++)
    if ((w->inl[i] == FUSE_ROW || w->inl[i] == FUSE_EPI) && (w->bad[i] || w->reach[i] != 1)) {
      w->inl[i] = 0;
      undone++;
    }
  return undone;
}

char *fuse_live(const Graph *g) {
  char *live = calloc((size_t)(g->n ? g->n : 1), 1);
  if (!live) abort();
  for (int k = 0; k < g->nout; k++) live[g->outs[k].id] = 1;
  for (int i = g->n - 1; i >= 0; i--)
    if (live[i])
      for (int k = 0; k < g->nodes[i].nin; k++) live[g->nodes[i].in[k]] = 1;
  return live;
}

/* ---- rule 7 ---- */

/* own[x]: the one kernel whose fused tree holds inlined node x, -2 for several, -1 none. */
static void owners(Walk *w, const char *live, int *own, int *seen) {
  const Graph *g = w->g;
  for (int i = 0; i < g->n; i++) own[i] = seen[i] = -1;
  int *stack = malloc(sizeof *stack * (size_t)(g->n ? g->n : 1));
  if (!stack) abort();
  for (int k = 0; k < g->n; k++) {
    const Node *nd = &g->nodes[k];
    if (w->inl[k] || !live[k] || nd->op == OP_INPUT || nd->op == OP_WEIGHT) continue;
    int top = 0;
    stack[top++] = k;
    while (top) {
      const Node *n = &g->nodes[stack[--top]];
      for (int j = 0; j < n->nin; j++) {
        int x = n->in[j];
        if (!w->inl[x] || seen[x] == k) continue;
        seen[x] = k;
        own[x] = own[x] == -1 || own[x] == k ? k : -2;
        if (w->inl[x] != FUSE_EPI) stack[top++] = x;
      }
    }
  }
  free(stack);
}

/* The price of one element of node id's inlined tree (rule 6's op_cost; row values and
 * epilogue contractions free), and whether it holds a rule 5 candidate. */
static int tree_cost(const Graph *g, const char *inl, int id, int root, int *cand) {
  if (!root && !inl[id]) return 0;
  if (!root && (inl[id] == FUSE_ROW || inl[id] == FUSE_EPI)) {
    *cand = 1;
    return 0;
  }
  const Node *n = &g->nodes[id];
  int c = elementwise(n->op) ? op_cost(n->op) : 0;
  for (int k = 0; k < n->nin && c <= FUSE_RECOMPUTE_COST; k++) c += tree_cost(g, inl, n->in[k], 0, cand);
  return c;
}

/* Rule 7: a stored elementwise value holding a candidate, all of whose readers are in one
 * kernel, moves into that kernel when rule 5 still holds there. */
static void absorb(Walk *w, const char *live, const char *stored_for_contraction, const int *readers) {
  const Graph *g = w->g;
  int n = g->n;
  int *own = malloc(sizeof *own * (size_t)n), *seen = malloc(sizeof *seen * (size_t)n);
  int *first = calloc((size_t)n + 1, sizeof *first), *who = malloc(sizeof *who * (size_t)(readers[n] + 1));
  char *snap = malloc((size_t)n);
  if (!own || !seen || !first || !who || !snap) abort();
  /* who reads each node: who[first[x] .. first[x+1]) */
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) first[g->nodes[i].in[k] + 1]++;
  for (int i = 0; i < n; i++) first[i + 1] += first[i];
  int *fill = calloc((size_t)n, sizeof *fill);
  if (!fill) abort();
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) {
      int x = g->nodes[i].in[k];
      who[first[x] + fill[x]++] = i;
    }
  free(fill);
  owners(w, live, own, seen);
  for (int x = 0; x < n; x++) {
    const Node *nd = &g->nodes[x];
    int cand = 0, nr = first[x + 1] - first[x];
    if (w->inl[x] || !live[x] || !elementwise(nd->op) || is_output(g, x) || stored_for_contraction[x] ||
        nr > FUSE_RECOMPUTE_READERS || tree_cost(g, w->inl, x, 1, &cand) > FUSE_RECOMPUTE_COST || !cand)
      continue;
    int k = -1;
    for (int j = first[x]; j < first[x + 1] && k != -2; j++) {
      int r = who[j], kr = w->inl[r] ? own[r] : r;
      k = kr < 0 ? -2 : k == -1 || k == kr ? kr : -2;
    }
    if (k < 0) continue;
    memcpy(snap, w->inl, (size_t)n);
    w->inl[x] = FUSE_INLINE;
    if (check_rows(w, live)) memcpy(w->inl, snap, (size_t)n); /* it would cost a candidate: keep it stored */
    else owners(w, live, own, seen);
  }
  free(own);
  free(seen);
  free(first);
  free(who);
  free(snap);
}

char *fuse_inline(const Graph *g, int fuse) {
  int n = g->n ? g->n : 1;
  char *inl = calloc((size_t)n, 1), *stored_for_contraction = calloc((size_t)n, 1);
  /* readers[x]: the ops that read x, a reshape (always inlined) counting as its own
   * readers; readers[n]: all reads */
  int *readers = calloc((size_t)n + 1, sizeof *readers), *cost = calloc((size_t)n, sizeof *cost);
  if (!inl || !stored_for_contraction || !readers || !cost) abort();
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *nd = &g->nodes[i];
    int through = nd->op == OP_RESHAPE && !is_output(g, i);
    for (int k = 0; k < nd->nin; k++) readers[nd->in[k]] += through ? readers[i] : 1;
    readers[g->n] += nd->nin;
  }
  /* rule 3, through reshapes: what a contraction reads must be stored, or be a strided
   * view of a stored value (for a matmul) */
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *nd = &g->nodes[i];
    FuseView v;
    for (int k = 0; k < nd->nin && (op_info(nd->op)->cls == OPC_CONTRACT || (nd->op == OP_RESHAPE && stored_for_contraction[i])); k++) {
      int x = nd->in[k];
      if (fuse && nd->op == OP_MATMUL && fuse_view(g, NULL, x, &v)) stored_for_contraction[v.base] = 1;
      else stored_for_contraction[x] = 1;
    }
  }
  /* rule 4's exception: a small value widened by a broadcast that several read is
   * stored small, so that the broadcast costs nothing where it is read (a layer norm's
   * 1/std per row, kept for the backward pass, instead of a copy per element) */
  char *feeds_shared_broadcast = calloc((size_t)n, 1);
  if (!feeds_shared_broadcast) abort();
  for (int i = 0; i < g->n && fuse; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->op == OP_BROADCAST && readers[i] > 1 && shape_numel(&nd->shape) > shape_numel(&g->nodes[nd->in[0]].shape))
      feeds_shared_broadcast[nd->in[0]] = 1;
  }
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    /* the cost of what this node's inputs compute in place */
    int in_cost = 0;
    for (int k = 0; k < nd->nin; k++)
      if (inl[nd->in[k]]) in_cost += cost[nd->in[k]];
    if (is_output(g, i)) continue; /* rule 1 */
    if (nd->op == OP_RESHAPE) {    /* rule 2 */
      inl[i] = 1;
      cost[i] = in_cost;
      continue;
    }
    if (!fuse || stored_for_contraction[i]) continue;
    OpKind op = nd->op;
    if (feeds_shared_broadcast[i] && op != OP_CONST && op != OP_IOTA) continue; /* rule 4's exception */
    if (fuse_row_reduction(g, nd)) { /* rule 5a: a candidate, checked below */
      inl[i] = FUSE_ROW;
      continue;
    }
    if (op_info(op)->cls == OPC_CONTRACT && readers[i] == 1 && dtype_is_float(nd->dtype)) { /* rule 5b */
      inl[i] = FUSE_EPI;
      cost[i] = FUSE_RECOMPUTE_COST + 1; /* rule 6 must not copy it into several kernels */
      continue;
    }
    if (!inlinable(nd)) continue;
    int cheap = op == OP_CONST || op == OP_IOTA;
    if (op == OP_BROADCAST || op == OP_PERMUTE || op == OP_SLICE || op == OP_PAD || op == OP_CAST) {
      int x = nd->in[0];
      const Node *in = &g->nodes[x];
      FuseView v;
      /* its input is stored (not inlined) or is itself cheap, or it is a strided view
       * of a stored value (index arithmetic only, however many movement ops) */
      cheap = !inl[x] || in->op == OP_CONST || in->op == OP_IOTA ||
              ((in->op == OP_BROADCAST || in->op == OP_RESHAPE) && (!inl[in->in[0]] || g->nodes[in->in[0]].op == OP_CONST)) ||
              (op != OP_PAD && op != OP_CAST && fuse_view(g, inl, i, &v) && !inl[v.base]);
    }
    int own = elementwise(op) ? op_cost(op) : op == OP_CONCAT ? 1 : 0;
    /* rule 6: an elementwise op cheap enough to compute again in each reader */
    int recompute = elementwise(op) && own + in_cost <= FUSE_RECOMPUTE_COST && readers[i] <= FUSE_RECOMPUTE_READERS;
    inl[i] = readers[i] <= 1 || cheap || recompute; /* rule 4 */
    if (inl[i]) cost[i] = own + in_cost;
  }
  if (fuse) { /* rule 5: drop the candidates their kernels cannot take, until none is left */
    char *live = fuse_live(g);
    Walk w = {.g = g, .inl = inl};
    w.stamp = malloc(sizeof *w.stamp * (size_t)n);
    w.dep = malloc((size_t)n);
    w.reach = malloc(sizeof *w.reach * (size_t)n);
    w.bad = malloc(sizeof *w.bad * (size_t)n);
    w.epi = malloc(sizeof *w.epi * (size_t)n);
    w.mark = malloc(sizeof *w.mark * (size_t)n);
    if (!w.stamp || !w.dep || !w.reach || !w.bad || !w.epi || !w.mark) abort();
    while (check_rows(&w, live)) {
    }
    absorb(&w, live, stored_for_contraction, readers);
    free(w.stamp);
    free(w.dep);
    free(w.reach);
    free(w.bad);
    free(w.epi);
    free(w.mark);
    free(live);
  }
  free(stored_for_contraction);
  free(feeds_shared_broadcast);
  free(cost);
  free(readers);
  return inl;
}
