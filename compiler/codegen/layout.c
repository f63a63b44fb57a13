/* layout.c — where every node's value lives (cg_layout) and which nodes need a kernel
 * (cg_kernels). See codegen.h for the regions.
 *
 * Weights and I/O are laid out one after another in node order (they are the program's
 * interface and live throughout). Activations are memory-planned (passes/memplan.h): each
 * lives from its kernel to the last kernel that reads it (through reshape aliases), and
 * buffers that are never alive together share bytes. The plan is checked every time.
 * Without planning (cg_layout_ex without CG_PLAN, `--no-plan`) activations are laid out one
 * after another too: the baseline the plan is measured against.
 *
 * Values that fusion inlines (passes/fuse.h) have no slot and no kernel: their readers
 * compute them from their leaves, the stored values they come from. Kernels that fusion
 * groups run as one, where the last member stands; the order is checked every time too.
 *
 * Only nodes that an output needs are placed and computed (a dead node costs neither
 * memory nor time), except inputs and weights, which are the program's interface and
 * always have a slot. A node that is not placed has bytes = -1. */
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "fuse.h"
#include "memplan.h"

static int64_t round_up(int64_t v) {
  return (v + CG_ALIGN - 1) / CG_ALIGN * CG_ALIGN;
}

char *cg_live(const Graph *g) {
  return fuse_live(g);
}

int cg_is_output(const Graph *g, int id) {
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id == id) return 1;
  return 0;
}

int cg_is_kernel(const Graph *g, const CgLayout *l, int id) {
  const Node *n = &g->nodes[id];
  return l->slot[id].bytes >= 0 && !l->inl[id] && n->op != OP_INPUT && n->op != OP_WEIGHT &&
         (!l->group || l->group[id] < 0 || l->group[id] == id);
}

int *cg_members(const Graph *g, const CgLayout *l, int id, int *n) {
  int *m = malloc(sizeof *m * (size_t)(id + 1));
  if (!m) abort();
  *n = 0;
  if (!l->group || l->group[id] != id) m[(*n)++] = id;
  else
    for (int i = 0; i <= id && i < g->n; i++)
      if (l->group[i] == id) m[(*n)++] = i;
  return m;
}

static void leaves_of(const Graph *g, const char *inl, int id, int *out, int *n) {
  const Node *nd = &g->nodes[id];
  for (int k = 0; k < nd->nin; k++) {
    int x = nd->in[k];
    if (inl[x]) {
      leaves_of(g, inl, x, out, n);
      continue;
    }
    int seen = 0;
    for (int j = 0; j < *n && !seen; j++) seen = out[j] == x;
    if (!seen) out[(*n)++] = x;
  }
}

int *cg_leaves(const Graph *g, const char *inl, int id, int *n) {
  /* a node's leaves are distinct nodes with smaller ids: id of them at most */
  int *out = malloc(sizeof *out * (size_t)(id ? id : 1));
  if (!out) abort();
  *n = 0;
  leaves_of(g, inl, id, out, n);
  return out;
}

static void fused_walk(const Graph *g, const char *inl, int id, char *seen, int *rows, int *nrow, int *epi) {
  const Node *nd = &g->nodes[id];
  for (int k = 0; k < nd->nin; k++) {
    int x = nd->in[k];
    if (!inl[x] || seen[x]) continue;
    seen[x] = 1;
    if (inl[x] == FUSE_EPI) *epi = x; /* its operands are stored: nothing below it */
    else fused_walk(g, inl, x, seen, rows, nrow, epi);
    if (inl[x] == FUSE_ROW && rows) rows[(*nrow)++] = x;
  }
}

static int cmp_int(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

int cg_fused(const Graph *g, const char *inl, int id, int **rows, int *nrow) {
  char *seen = calloc((size_t)(id ? id : 1), 1);
  int *r = rows ? malloc(sizeof *r * (size_t)(id ? id : 1)) : NULL;
  if (!seen || (rows && !r)) abort();
  int n = 0, epi = -1;
  fused_walk(g, inl, id, seen, r, &n, &epi);
  free(seen);
  if (rows) {
    qsort(r, (size_t)n, sizeof *r, cmp_int);
    *rows = r;
    *nrow = n;
  }
  return epi;
}

/* Live ranges of the activation slots in kernel order, and their placement. A kernel
 * reads its leaves: the stored values its inlined inputs come from. */
/* An element-by-element kernel over its own elements (no row values, no epilogue). */
static int elementwise_kernel(const Graph *g, const CgLayout *l, int id) {
  OpClass c = op_info(g->nodes[id].op)->cls;
  if (c != OPC_UNARY && c != OPC_BINARY && c != OPC_SELECT) return 0;
  int *rows, nrow, epi = cg_fused(g, l->inl, id, &rows, &nrow);
  free(rows);
  return epi < 0 && nrow == 0;
}

/* bad[x] = 1 for each stored x that node id reads (through inlined values) along a path
 * that is not elementwise ops and reshapes only: it reads x at other indices than its own. */
static void same_index(const Graph *g, const char *inl, int id, int root, int ok, char *bad) {
  if (!root && !inl[id]) {
    if (!ok) bad[id] = 1;
    return;
  }
  const Node *n = &g->nodes[id];
  OpClass c = op_info(n->op)->cls;
  int step = ok && (root || c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT || n->op == OP_RESHAPE);
  for (int k = 0; k < n->nin; k++) same_index(g, inl, n->in[k], 0, step, bad);
}

static int plan_act(const Graph *g, CgLayout *l, int fuse, Diag *d) {
  int64_t *pos = malloc(sizeof *pos * (size_t)(g->n ? g->n : 1));
  int *buf = malloc(sizeof *buf * (size_t)(g->n ? g->n : 1));
  MemBuf *b = calloc((size_t)(g->n ? g->n : 1), sizeof *b);
  if (!pos || !buf || !b) abort();
  int64_t step = 0;
  int nb = 0;
  for (int i = 0; i < g->n; i++) buf[i] = -1;
  for (int i = 0; i < g->n; i++) {
    int kernel = cg_is_kernel(g, l, i);
    pos[i] = kernel ? step++ : -1;
    if (!kernel) continue;
    int nm, *mem = cg_members(g, l, i, &nm);
    for (int q = 0; q < nm; q++) { /* what the kernel writes is born here */
      int m = mem[q];
      if (l->slot[m].region != CG_ACT) continue;
      buf[m] = nb;
      b[nb++] = (MemBuf){.bytes = l->slot[m].bytes, .start = pos[i], .end = pos[i]};
    }
    for (int q = 0; q < nm; q++) {
      int nl, *lv = cg_leaves(g, l->inl, mem[q], &nl);
      for (int k = 0; k < nl; k++) { /* a read extends the life of what it reads */
        int r = buf[lv[k]];
        if (r >= 0 && pos[i] > b[r].end) b[r].end = pos[i];
      }
      free(lv);
    }
    free(mem);
  }
  /* in place: an elementwise kernel that is the last to read a buffer of its own size
   * and dtype, at its own index only, writes over it (the two become one buffer) */
  int *root = malloc(sizeof *root * (size_t)(nb ? nb : 1));
  if (!root) abort();
  for (int k = 0; k < nb; k++) root[k] = k;
  for (int i = 0; i < g->n && fuse; i++) {
    int own = buf[i], grouped = l->group && l->group[i] >= 0, wide = grouped && l->gkind[i] != FUSE_GROUP_SHARED;
    if (own < 0 || (grouped && !wide) || (!grouped && !cg_is_kernel(g, l, i)) || !elementwise_kernel(g, l, i)) continue;
    int64_t at = pos[grouped ? l->group[i] : i]; /* where its kernel runs */
    int nl, *lv = cg_leaves(g, l->inl, i, &nl);
    char *bad = calloc((size_t)(i ? i : 1), 1);
    if (!bad) abort();
    same_index(g, l->inl, i, 1, 1, bad);
    if (wide) /* another member of its group reads it: not to be overwritten */
      for (int q = 0; q < g->n; q++) {
        if (q == i || l->group[q] != l->group[i]) continue;
        int nq, *lq = cg_leaves(g, l->inl, q, &nq);
        for (int j = 0; j < nq; j++)
          if (lq[j] < i) bad[lq[j]] = 1;
        free(lq);
      }
    for (int k = 0; k < nl && l->inplace[i] < 0; k++) {
      int x = lv[k], r = buf[x] >= 0 ? root[buf[x]] : -1;
      if (r < 0 || bad[x] || b[r].end != at || b[r].bytes != b[own].bytes || g->nodes[x].dtype != g->nodes[i].dtype)
        continue;
      l->inplace[i] = x;
      root[own] = r;
      b[r].end = b[own].end;
      b[own].bytes = 0; /* it lives in r's bytes */
    }
    free(bad);
    free(lv);
  }
  int64_t arena = memplan_place(b, nb, CG_ALIGN);
  int rc = memplan_check(b, nb, arena, d);
  l->act_lower_bound = memplan_lower_bound(b, nb);
  l->live = calloc((size_t)(g->n ? g->n : 1) * 3, sizeof *l->live);
  if (!l->live) abort();
  for (int i = 0; i < g->n && !rc; i++)
    if (buf[i] >= 0) {
      const MemBuf *r = &b[root[buf[i]]];
      l->slot[i].offset = r->offset;
      l->live[3 * i] = root[buf[i]] == buf[i] ? r->bytes : 0;
      l->live[3 * i + 1] = r->start;
      l->live[3 * i + 2] = r->end;
    }
  free(root);
  l->size[CG_ACT] = arena;
  free(pos);
  free(buf);
  free(b);
  return rc;
}

int cg_state_of(const Graph *g, int k) {
  const char *name = g->outs[k].name;
  if (strncmp(name, "new.", 4)) return -1;
  const Node *o = &g->nodes[g->outs[k].id];
  for (int i = 0; i < g->n; i++) {
    const Node *w = &g->nodes[i];
    if (w->op == OP_WEIGHT && !strcmp(w->name, name + 4))
      return w->dtype == o->dtype && shape_eq(&w->shape, &o->shape) ? i : -1;
  }
  return -1;
}

/* CG_STATE: an output new.<w> takes <w>'s slot when its kernel is element by element,
 * reads <w> at its own index only, and every other kernel that reads <w> runs before it
 * (so no other member of its horizontal group reads <w>: a group computes its members
 * element by element, or each over its own range at the same time). Its kernel then
 * reads <w> from the bytes it writes, as any in-place kernel (l->inplace). The I/O
 * region is laid out again without the outputs that moved. */
static void state_in_place(const Graph *g, CgLayout *l) {
  size_t n = (size_t)(g->n ? g->n : 1);
  int64_t *pos = malloc(sizeof *pos * n), step = 0;
  int cap = 64, nr = 0, (*rd)[2] = malloc(sizeof *rd * (size_t)cap); /* (value read, reader) */
  if (!pos || !rd) abort();
  for (int i = 0; i < g->n; i++) pos[i] = -1;
  for (int i = 0; i < g->n; i++) {
    if (!cg_is_kernel(g, l, i)) continue;
    int nm, *mem = cg_members(g, l, i, &nm);
    for (int q = 0; q < nm; q++) {
      pos[mem[q]] = step;
      int nl, *lv = cg_leaves(g, l->inl, mem[q], &nl);
      for (int k = 0; k < nl; k++) {
        if (g->nodes[lv[k]].op != OP_WEIGHT) continue;
        if (nr == cap && !(rd = realloc(rd, sizeof *rd * (size_t)(cap *= 2)))) abort();
        rd[nr][0] = lv[k];
        rd[nr++][1] = mem[q];
      }
      free(lv);
    }
    free(mem);
    step++;
  }
  int moved = 0;
  for (int k = 0; k < g->nout; k++) {
    int i = g->outs[k].id, w = cg_state_of(g, k);
    if (w < 0 || pos[i] < 0 || l->slot[i].region != CG_IO || !elementwise_kernel(g, l, i)) continue;
    int ok = 0;
    for (int r = 0; r < nr; r++) {
      if (rd[r][0] != w) continue;
      if (rd[r][1] == i) ok = 1; /* it reads <w> itself */
      else if (pos[rd[r][1]] >= pos[i]) {
        ok = 0;
        break;
      }
    }
    char *bad = calloc((size_t)(i ? i : 1), 1);
    if (!bad) abort();
    same_index(g, l->inl, i, 1, 1, bad);
    if (ok && !bad[w]) {
      l->slot[i] = l->slot[w];
      l->inplace[i] = w;
      moved = 1;
    }
    free(bad);
  }
  if (moved) { /* the I/O region without them */
    l->size[CG_IO] = 0;
    for (int i = 0; i < g->n; i++)
      if (l->slot[i].bytes >= 0 && l->slot[i].region == CG_IO && !l->inl[i]) {
        l->slot[i].offset = l->size[CG_IO];
        l->size[CG_IO] += round_up(l->slot[i].bytes);
      }
  }
  free(rd);
  free(pos);
}

/* Every kernel reads only values computed before it runs (a group runs where its last
 * member stands) or, in a group whose members read each other (rule 8, 8b), by an earlier
 * member: the groups' order checked, as the plan is. 0, or -1 after an internal error. */
static int order_check(const Graph *g, const CgLayout *l, Diag *d) {
  int64_t *at = malloc(sizeof *at * (size_t)(g->n ? g->n : 1)), step = 0;
  if (!at) abort();
  for (int i = 0; i < g->n; i++) at[i] = -1;
  for (int i = 0; i < g->n; i++)
    if (cg_is_kernel(g, l, i)) {
      int nm, *mem = cg_members(g, l, i, &nm);
      for (int q = 0; q < nm; q++) at[mem[q]] = step;
      free(mem);
      step++;
    }
  int rc = 0;
  for (int i = 0; i < g->n && !rc; i++) {
    if (at[i] < 0) continue;
    int nl, *lv = cg_leaves(g, l->inl, i, &nl);
    for (int k = 0; k < nl && !rc; k++) {
      int x = lv[k], kind = l->gkind ? l->gkind[i] : 0;
      const Node *xn = &g->nodes[x];
      if (xn->op == OP_INPUT || xn->op == OP_WEIGHT || at[x] < at[i]) continue;
      if (at[x] == at[i] && x < i && (kind == FUSE_GROUP_SHARED || kind == FUSE_GROUP_ROWS)) continue;
      diag_error(d, g->nodes[i].loc, "internal error: the kernel of node %%%d reads node %%%d before it is computed", i, x);
      rc = -1;
    }
    free(lv);
  }
  free(at);
  return rc;
}

int cg_layout(const Graph *g, CgLayout *l, Diag *d) {
  return cg_layout_ex(g, CG_PLAN | CG_FUSE, l, d);
}

int cg_layout_ex(const Graph *g, unsigned flags, CgLayout *l, Diag *d) {
  int plan = !!(flags & CG_PLAN), fuse = !!(flags & CG_FUSE);
  memset(l, 0, sizeof *l);
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id < 0 || g->outs[k].id >= g->n) {
      diag_error(d, SRCLOC_NONE, "output '%s' refers to node %%%d, which does not exist", g->outs[k].name,
                 g->outs[k].id);
      return -1;
    }
  l->slot = calloc((size_t)(g->n ? g->n : 1), sizeof *l->slot);
  if (!l->slot) abort();
  l->inl = fuse_inline(g, fuse);
  l->inplace = malloc(sizeof *l->inplace * (size_t)(g->n ? g->n : 1));
  if (!l->inplace) abort();
  for (int i = 0; i < g->n; i++) l->inplace[i] = -1;
  char *live = cg_live(g);
  if (fuse) l->group = fuse_groups(g, l->inl, &l->gkind);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    CgSlot *s = &l->slot[i];
    int source = n->op == OP_INPUT || n->op == OP_WEIGHT;
    if (!live[i] && !source) {
      s->bytes = -1;
      continue;
    }
    if (!op_is_primitive(n->op)) {
      diag_error(d, n->loc, "%s: high-level op in node %%%d; run decompose before code generation",
                 op_info(n->op)->name, i);
      free(live);
      cg_layout_free(l);
      return -1;
    }
    if (l->inl[i]) { /* computed inside its readers: no storage */
      s->bytes = -1;
      continue;
    }
    s->region = n->op == OP_WEIGHT ? CG_WEIGHTS : n->op == OP_INPUT || cg_is_output(g, i) ? CG_IO : CG_ACT;
    s->bytes = shape_numel(&n->shape) * (int64_t)dtype_size(n->dtype);
    s->offset = l->size[s->region];
    l->size[s->region] += round_up(s->bytes);
  }
  free(live);
  l->unplanned_act = l->size[CG_ACT];
  if (order_check(g, l, d)) {
    cg_layout_free(l);
    return -1;
  }
  if (flags & CG_STATE) state_in_place(g, l);
  if (plan && plan_act(g, l, fuse, d)) {
    cg_layout_free(l);
    return -1;
  }
  return 0;
}

void cg_layout_free(CgLayout *l) {
  free(l->slot);
  free(l->inl);
  free(l->group);
  free(l->gkind);
  free(l->inplace);
  free(l->live);
  memset(l, 0, sizeof *l);
}

int cg_kernels(const Graph *g, const CgLayout *l, const char *prefix, CgKernel **ks, int *n, Diag *d) {
  *ks = NULL;
  *n = 0;
  CgKernel *v = calloc((size_t)(g->n ? g->n : 1), sizeof *v);
  if (!v) abort();
  int cnt = 0;
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (!cg_is_kernel(g, l, i)) continue;
    CgKernel *k = &v[cnt++];
    k->node = i;
    k->extent = cg_extent(g, l->inl, i);
    if (l->group && l->group[i] == i) { /* a horizontal group: one step per total, or every element */
      int nm, *mem = cg_members(g, l, i, &nm);
      k->extent = 0;
      for (int q = 0; q < nm; q++) {
        int64_t x = cg_extent(g, l->inl, mem[q]);
        if (l->gkind[i] == FUSE_GROUP_ROWS && cg_matmul_of(g, l->inl, mem[q]) >= 0) { /* its steps */
          k->extent = x;
          break;
        }
        if (l->gkind[i] != FUSE_GROUP_SHARED) k->extent = x > k->extent ? x : k->extent; /* the largest member's */
        else k->extent += op_info(nd->op)->cls == OPC_REDUCE ? 1 : shape_numel(&g->nodes[mem[q]].shape);
      }
      free(mem);
    }
    int w = snprintf(k->name, sizeof k->name, "%sk%d", prefix, i);
    if (w < 0 || (size_t)w >= sizeof k->name) {
      diag_error(d, nd->loc, "internal error: kernel name prefix '%s' is too long", prefix);
      free(v);
      return -1;
    }
  }
  *ks = v;
  *n = cnt;
  return 0;
}
