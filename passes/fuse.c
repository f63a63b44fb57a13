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

/* A reduction over the last axis only, of a non-empty input (rule 5a's candidates). */
static int row_reduction(const Graph *g, const Node *nd) {
  if (op_info(nd->op)->cls != OPC_REDUCE) return 0;
  const Shape *xs = &g->nodes[nd->in[0]].shape;
  int cnt;
  const int64_t *axes = ir_attr_is(nd, "axes", &cnt);
  return xs->rank >= 1 && cnt == 1 && axes[0] == xs->rank - 1 && shape_numel(xs) > 0;
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
  int cur;          /* the kernel being walked */
} Walk;

enum { DEP_NONE, DEP_ROW, DEP_BAD };

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
      r = x != DEP_BAD && aligned(&g->nodes[n->in[0]].shape, rows) && aligned(&n->shape, rows) ? DEP_ROW : DEP_BAD;
    }
    if (r == DEP_BAD) w->bad[id] = 1;
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
    } else if (root && row_reduction(g, n)) /* a row-reduction kernel: rows = its elements */
      r = aligned(&g->nodes[n->in[0]].shape, rows) ? DEP_ROW : DEP_BAD;
    else r = DEP_BAD;
  }
  if (!root) {
    w->stamp[id] = w->cur;
    w->dep[id] = (signed char)r;
  }
  return r;
}

/* Mark every candidate under node id (through inlined values) bad: its kernel cannot
 * compute it row by row. */
static void mark_bad(Walk *w, int id, int root) {
  if (!root && (!w->inl[id] || w->stamp[id] == w->cur)) return;
  if (!root) w->stamp[id] = w->cur;
  if (!root && (w->inl[id] == FUSE_ROW || w->inl[id] == FUSE_EPI)) w->bad[id] = 1;
  const Node *n = &w->g->nodes[id];
  for (int k = 0; k < n->nin; k++) mark_bad(w, n->in[k], 0);
}

/* One round of rule 5's check over all kernels; un-inlines the candidates it fails.
 * Returns how many it un-inlined. */
static int check_rows(Walk *w, const char *live) {
  const Graph *g = w->g;
  int n = g->n;
  memset(w->reach, 0, sizeof *w->reach * (size_t)n);
  memset(w->bad, 0, sizeof *w->bad * (size_t)n);
  for (int i = 0; i < n; i++) w->stamp[i] = -1;
  for (int i = 0; i < n; i++) {
    const Node *nd = &g->nodes[i];
    if (w->inl[i] || !live[i] || nd->op == OP_INPUT || nd->op == OP_WEIGHT) continue;
    w->cur = i;
    w->epi[i] = -1;
    int host = elementwise(nd->op) || nd->op == OP_RESHAPE || nd->op == OP_BROADCAST || row_reduction(g, nd);
    int64_t rows = row_reduction(g, nd) ? shape_numel(&nd->shape) : shape_numel(&nd->shape) / (last_dim(&nd->shape) ? last_dim(&nd->shape) : 1);
    int r = host && shape_numel(&nd->shape) ? row_dep(w, i, rows, 1) : DEP_BAD;
    int e = w->epi[i];
    if (e >= 0) { /* the kernel becomes the contraction plus this epilogue */
      const Node *m = &g->nodes[e];
      if (row_reduction(g, nd) || m->dtype != nd->dtype || shape_numel(&m->shape) != shape_numel(&nd->shape))
        w->bad[e] = 1;
    }
    if (r == DEP_BAD) {
      w->cur = n + i; /* a fresh stamp for the marking walk */
      mark_bad(w, i, 1);
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

static char *live_nodes(const Graph *g) {
  char *live = calloc((size_t)(g->n ? g->n : 1), 1);
  if (!live) abort();
  for (int k = 0; k < g->nout; k++) live[g->outs[k].id] = 1;
  for (int i = g->n - 1; i >= 0; i--)
    if (live[i])
      for (int k = 0; k < g->nodes[i].nin; k++) live[g->nodes[i].in[k]] = 1;
  return live;
}

char *fuse_inline(const Graph *g, int fuse) {
  int n = g->n ? g->n : 1;
  char *inl = calloc((size_t)n, 1), *stored_for_contraction = calloc((size_t)n, 1), *shared = calloc((size_t)n, 1);
  int *readers = calloc((size_t)n, sizeof *readers), *cost = calloc((size_t)n, sizeof *cost);
  if (!inl || !stored_for_contraction || !shared || !readers || !cost) abort();
  for (int i = 0; i < g->n; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) readers[g->nodes[i].in[k]]++;
  /* rule 3, through reshapes: what a contraction reads must be stored */
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *nd = &g->nodes[i];
    if (op_info(nd->op)->cls == OPC_CONTRACT || (nd->op == OP_RESHAPE && stored_for_contraction[i]))
      for (int k = 0; k < nd->nin; k++) stored_for_contraction[nd->in[k]] = 1;
  }
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    /* cost and sharing of what this node's inputs compute in place */
    int in_cost = 0, in_shared = 0;
    for (int k = 0; k < nd->nin; k++) {
      int x = nd->in[k];
      if (!inl[x]) continue;
      in_cost += cost[x];
      in_shared |= shared[x];
    }
    if (is_output(g, i)) continue; /* rule 1 */
    if (nd->op == OP_RESHAPE) {    /* rule 2 */
      inl[i] = 1;
      cost[i] = in_cost;
      shared[i] = in_shared;
      continue;
    }
    if (!fuse || stored_for_contraction[i]) continue;
    OpKind op = nd->op;
    if (row_reduction(g, nd)) { /* rule 5a: a candidate, checked below */
      inl[i] = FUSE_ROW;
      continue;
    }
    if (op_info(op)->cls == OPC_CONTRACT && readers[i] == 1 && dtype_is_float(nd->dtype)) { /* rule 5b */
      inl[i] = FUSE_EPI;
      continue;
    }
    if (!inlinable(nd)) continue;
    int cheap = op == OP_CONST || op == OP_IOTA;
    if (op == OP_BROADCAST || op == OP_PERMUTE || op == OP_SLICE || op == OP_PAD || op == OP_CAST) {
      int x = nd->in[0];
      const Node *in = &g->nodes[x];
      /* its input is stored (not inlined) or is itself cheap */
      cheap = !inl[x] || in->op == OP_CONST || in->op == OP_IOTA ||
              ((in->op == OP_BROADCAST || in->op == OP_RESHAPE) && (!inl[in->in[0]] || g->nodes[in->in[0]].op == OP_CONST));
    }
    int own = elementwise(op) ? op_cost(op) : op == OP_CONCAT ? 1 : 0;
    /* rule 6: an elementwise op cheap enough to compute again in each reader */
    int recompute = elementwise(op) && !in_shared && own + in_cost <= FUSE_RECOMPUTE_COST &&
                    readers[i] <= FUSE_RECOMPUTE_READERS;
    inl[i] = readers[i] <= 1 || cheap || recompute; /* rule 4 */
    if (inl[i]) {
      cost[i] = own + in_cost;
      shared[i] = in_shared || (readers[i] > 1 && !cheap);
    }
  }
  if (fuse) { /* rule 5: drop the candidates their kernels cannot take, until none is left */
    char *live = live_nodes(g);
    Walk w = {.g = g, .inl = inl};
    w.stamp = malloc(sizeof *w.stamp * (size_t)n);
    w.dep = malloc((size_t)n);
    w.reach = malloc(sizeof *w.reach * (size_t)n);
    w.bad = malloc(sizeof *w.bad * (size_t)n);
    w.epi = malloc(sizeof *w.epi * (size_t)n);
    if (!w.stamp || !w.dep || !w.reach || !w.bad || !w.epi) abort();
    while (check_rows(&w, live)) {
    }
    free(w.stamp);
    free(w.dep);
    free(w.reach);
    free(w.bad);
    free(w.epi);
    free(live);
  }
  free(stored_for_contraction);
  free(shared);
  free(cost);
  free(readers);
  return inl;
}
