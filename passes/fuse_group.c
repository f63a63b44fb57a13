/* fuse_group.c — horizontal fusion: independent kernels run as one (fuse.h rule 8). */
#include <stdlib.h>
#include <string.h>

#include "fuse.h"

static int is_elementwise(OpKind op) {
  OpClass c = op_info(op)->cls;
  return c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT;
}

/* Whether node id's inlined tree computes an element from its linear index alone:
 * elementwise ops, reshapes, constants and broadcasts of one element. */
static int flat_tree(const Graph *g, const char *inl, int id, int root) {
  if (!root && !inl[id]) return 1;
  if (!root && inl[id] != FUSE_INLINE) return 0;
  const Node *n = &g->nodes[id];
  if (n->op == OP_CONST) return 1;
  if (n->op == OP_BROADCAST && shape_numel(&g->nodes[n->in[0]].shape) != 1) return 0;
  if (n->op != OP_BROADCAST && n->op != OP_RESHAPE && !is_elementwise(n->op) && !(root && op_info(n->op)->cls == OPC_REDUCE))
    return 0;
  for (int k = 0; k < n->nin; k++)
    if (!flat_tree(g, inl, n->in[k], 0)) return 0;
  return 1;
}

enum { KIND_NONE, KIND_FLAT, KIND_TOTAL };

/* A reduction whose kernel is one step: its outermost axis of extent > 1 is reduced (a
 * sum to a scalar, a bias's gradient summed over the rows), over a non-empty input. */
static int one_step(const Graph *g, const Node *nd) {
  const Shape *xs = &g->nodes[nd->in[0]].shape;
  if (shape_numel(xs) <= 1) return 0;
  int cnt;
  const int64_t *axes = ir_attr_is(nd, "axes", &cnt);
  for (int k = 0; k < xs->rank; k++) {
    if (xs->d[k] == 1) continue;
    for (int j = 0; j < cnt; j++)
      if (axes[j] == k) return 1;
    return 0;
  }
  return 0;
}

/* Whether node id's inlined tree holds only values computed element by element (no row
 * values, no epilogue contraction). */
static int plain_tree(const Graph *g, const char *inl, int id, int root) {
  if (!root && !inl[id]) return 1;
  if (!root && inl[id] != FUSE_INLINE) return 0;
  const Node *n = &g->nodes[id];
  for (int k = 0; k < n->nin; k++)
    if (!plain_tree(g, inl, n->in[k], 0)) return 0;
  return 1;
}

/* The stored values kernel k reads (through inlined ones), each once, with whether
 * every step to it is elementwise (so it is read at the kernel's own linear index). */
static void reads(const Graph *g, const char *inl, int id, int root, int path_ok, int *out, char *ok, int *n) {
  const Node *nd = &g->nodes[id];
  if (!root && !inl[id]) {
    for (int j = 0; j < *n; j++)
      if (out[j] == id) {
        ok[j] &= (char)path_ok;
        return;
      }
    out[*n] = id;
    ok[(*n)++] = (char)path_ok;
    return;
  }
  int step_ok = path_ok && (root || is_elementwise(nd->op));
  if (!root && inl[id] == FUSE_EPI) step_ok = 0;
  for (int j = 0; j < nd->nin; j++) reads(g, inl, nd->in[j], 0, step_ok, out, ok, n);
}

/* ---- rule 8b: row groups ---- */

static int64_t rows_of(const Shape *s) {
  int64_t r = 1;
  for (int k = 0; k + 1 < s->rank; k++) r *= s->d[k];
  return r;
}

/* The epilogue contraction in node id's inlined tree, or -1. */
static int epi_of(const Graph *g, const char *inl, int id, int root) {
  if (!root && !inl[id]) return -1;
  if (!root && inl[id] == FUSE_EPI) return id;
  const Node *n = &g->nodes[id];
  for (int k = 0; k < n->nin; k++) {
    int x = epi_of(g, inl, n->in[k], 0);
    if (x >= 0) return x;
  }
  return -1;
}

/* The rows a kernel computes row by row, or -1 when it does not: an elementwise kernel
 * over the rows of its output, a last-axis reduction over those of its input; a matmul
 * (alone, or with an elementwise epilogue that keeps its rows) over the rows of its
 * product, in steps of several rows (*mm = 1). */
static int64_t kernel_rows(const Graph *g, const char *inl, int id, int *mm) {
  const Node *nd = &g->nodes[id];
  *mm = 0;
  if (shape_numel(&nd->shape) == 0) return -1;
  if (nd->op == OP_MATMUL) {
    *mm = 1;
    return rows_of(&nd->shape);
  }
  int epi = epi_of(g, inl, id, 1);
  if (epi >= 0 && is_elementwise(nd->op)) { /* rule 5 keeps the product's row r at row r */
    const Shape *ms = &g->nodes[epi].shape, *s = &nd->shape;
    if (g->nodes[epi].op != OP_MATMUL || rows_of(ms) != rows_of(s) || !s->rank || ms->d[ms->rank - 1] != s->d[s->rank - 1])
      return -1;
    *mm = 1;
    return rows_of(s);
  }
  if (epi >= 0) return -1;
  if (is_elementwise(nd->op)) return rows_of(&nd->shape);
  if (fuse_row_reduction(g, nd)) return rows_of(&g->nodes[nd->in[0]].shape);
  return -1;
}

/* Whether node id's inlined tree reads a member of open group t (tag[x] == t). */
static int touches(const Graph *g, const char *inl, const int *tag, int t, int id, int root) {
  if (!root && !inl[id]) return tag[id] == t;
  const Node *n = &g->nodes[id];
  for (int k = 0; k < n->nin; k++)
    if (touches(g, inl, tag, t, n->in[k], 0)) return 1;
  return 0;
}

/* Whether every path from node id down to a member of open group t keeps row r at row r
 * for a kernel of R rows: each step is elementwise, a reshape that keeps the rows, a
 * broadcast along the last axis or a last-axis reduction keeping the dimension, and the
 * member has R rows. */
static int rows_kept(const Graph *g, const char *inl, const int *tag, int t, int id, int root, int64_t R) {
  const Node *n = &g->nodes[id];
  if (!root && !inl[id]) return tag[id] != t || rows_of(&n->shape) == R;
  int keeps = rows_of(&n->shape) == R || (root && fuse_row_reduction(g, n));
  if (keeps && n->nin) {
    const Shape *s = &n->shape, *xs = &g->nodes[n->in[0]].shape;
    int same_lead = xs->rank == s->rank;
    for (int k = 0; same_lead && k + 1 < s->rank; k++) same_lead = xs->d[k] == s->d[k];
    if (is_elementwise(n->op)) keeps = 1;
    else if (n->op == OP_RESHAPE) keeps = rows_of(xs) == R && s->rank && xs->rank && s->d[s->rank - 1] == xs->d[xs->rank - 1];
    else if (n->op == OP_BROADCAST) keeps = same_lead && s->rank && xs->d[xs->rank - 1] == 1;
    else keeps = fuse_row_reduction(g, n) && rows_of(xs) == R;
  }
  for (int k = 0; k < n->nin; k++)
    if (keeps ? !rows_kept(g, inl, tag, t, n->in[k], 0, R) : touches(g, inl, tag, t, n->in[k], 0)) return 0;
  return 1;
}

#define ROWS_OPEN 4 /* row groups open at once */

typedef struct RowGroup {
  int tag;                 /* its members' tag (> 0) */
  int mem[FUSE_WIDE_MAX];
  int nm, has_mm;
  int64_t R;
} RowGroup;

/* Close open group o: its members become a group when it holds more than rule 8's flat
 * kernels (those rule 8 lays end to end instead). */
static void close_rows(RowGroup *o, const char *flat, int *tag, int *group, char *gkind) {
  int keep = 0;
  for (int q = 0; q < o->nm; q++) keep |= !flat[o->mem[q]];
  for (int q = 0; keep && o->nm > 1 && q < o->nm; q++) {
    group[o->mem[q]] = o->mem[o->nm - 1];
    gkind[o->mem[q]] = FUSE_GROUP_ROWS;
  }
  for (int q = 0; q < o->nm; q++) tag[o->mem[q]] = 0;
  o->nm = 0;
}

/* Whether kernel c (rc rows, a matmul when mm) may join open group o. */
static int rows_fit(const Graph *g, const char *inl, const int *tag, int *const *rd, const int *rd_n, const int *group,
                    const RowGroup *o, int c, int64_t rc, int mm) {
  if (!o->nm || o->nm == FUSE_WIDE_MAX || rc != o->R || (mm && o->has_mm) || !rows_kept(g, inl, tag, o->tag, c, 1, o->R))
    return 0;
  for (int q = 0; q < o->nm; q++) /* every member's readers outside the group run after c */
    for (int r = 0; r < rd_n[o->mem[q]]; r++) {
      int y = rd[o->mem[q]][r];
      if (y != c && tag[y] != o->tag && (group[y] >= 0 ? group[y] : y) < c) return 0; /* y runs at its group's place */
    }
  return 1;
}

/* Rule 8b: kernels of the same rows, each reading the others only at its own row (at
 * most one of them a matmul), run as one kernel, greedily in kernel order, when every
 * member's first reader outside the group comes after the candidate. Up to ROWS_OPEN
 * groups are open at once (the oldest closes for a new one); a candidate joins the open
 * group it reads from, else the newest it fits, else opens one: a weight's gradient
 * between a matmul and the elementwise kernel that reads its rows does not part them,
 * and of two matmuls of the same rows the one whose rows are read next keeps them. */
static void row_groups(const Graph *g, const char *inl, const char *kernel, const char *flat, int *const *rd,
                       const int *rd_n, int *group, char *gkind) {
  RowGroup open[ROWS_OPEN] = {{0}};
  int next = 1, *tag = calloc(g->n > 0 ? (size_t)g->n : 1, sizeof *tag);
  if (!tag) abort();
  for (int c = 0; c < g->n; c++) {
    int mm;
    int64_t rc = kernel[c] && group[c] < 0 ? kernel_rows(g, inl, c, &mm) : -1;
    if (rc < 0) continue;
    int best = -1, best_reads = 0;
    for (int k = 0; k < ROWS_OPEN; k++) {
      if (!rows_fit(g, inl, tag, rd, rd_n, group, &open[k], c, rc, mm)) continue;
      int reads = touches(g, inl, tag, open[k].tag, c, 1);
      if (best < 0 || reads > best_reads || (reads == best_reads && open[k].tag > open[best].tag)) {
        best = k;
        best_reads = reads;
      }
    }
    if (best < 0) { /* a new group in a free place, or in the oldest's */
      best = 0;
      for (int k = 1; k < ROWS_OPEN; k++)
        if (open[best].nm && (!open[k].nm || open[k].tag < open[best].tag)) best = k;
      close_rows(&open[best], flat, tag, group, gkind);
      open[best].tag = next++;
      open[best].R = rc;
      open[best].has_mm = 0;
    }
    RowGroup *o = &open[best];
    o->mem[o->nm++] = c;
    o->has_mm |= mm;
    tag[c] = o->tag;
  }
  for (int k = 0; k < ROWS_OPEN; k++) close_rows(&open[k], flat, tag, group, gkind);
  free(tag);
}

/* A group runs where its last member stands, so each member's inputs that die with it
 * (the last kernel to read them) live until then. Joining candidate c is refused when a
 * member holds more than FUSE_HOLD_BYTES so and the kernels between that member and c
 * store more than FUSE_HOLD_WRITTEN of activations meanwhile: grouping must not keep a
 * gradient of every block alive across the backward pass (the bias gradients' row sums
 * would otherwise wait for the last of them). On the default ViT's training step at
 * batch 64 (with pass_remat) this takes the arena from 540 to 437 MB for 6 more kernels;
 * a bound of 1 MB written instead costs 53 more kernels for 18 MB less. Hold: per kernel, the bytes of what dies
 * with it; written[i]: the activation bytes stored by the kernels before node i. */
typedef struct Hold {
  int64_t *hold, *written;
} Hold;

static void hold_init(Hold *h, const Graph *g, const char *kernel, int *const *lv, const int *nlv, int *const *rd,
                      const int *rd_n) {
  size_t n = g->n > 0 ? (size_t)g->n : 1;
  h->hold = calloc(n, sizeof *h->hold);
  h->written = calloc(n + 1, sizeof *h->written);
  if (!h->hold || !h->written) abort();
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    int out = 0;
    for (int k = 0; k < g->nout && !out; k++) out = g->outs[k].id == i;
    h->written[i + 1] = h->written[i] + (kernel[i] && !out ? shape_numel(&nd->shape) * (int64_t)dtype_size(nd->dtype) : 0);
    for (int j = 0; j < nlv[i]; j++) {
      int x = lv[i][j];
      const Node *xn = &g->nodes[x];
      if (kernel[x] && rd_n[x] && rd[x][rd_n[x] - 1] == i) h->hold[i] += shape_numel(&xn->shape) * (int64_t)dtype_size(xn->dtype);
    }
  }
}

static void hold_free(Hold *h) {
  free(h->hold);
  free(h->written);
}

/* Whether member q may wait for candidate c. */
static int may_wait(const Hold *h, int q, int c) {
  return h->hold[q] <= FUSE_HOLD_BYTES || h->written[c] - h->written[q + 1] <= FUSE_HOLD_WRITTEN;
}

/* Rule 8c: kernels left out of rule 8's and 8b's groups that read nothing of each other run as
 * one kernel, greedily in kernel order, when every member's first reader comes after the
 * candidate (the group runs where its last member stood). kernel[i]: i has a kernel. */
static void wide_groups(const Graph *g, const char *kernel, int *const *lv, const int *nlv, int *const *rd,
                        const int *rd_n, const Hold *h, int *group, char *gkind) {
  int nm = 0, mem[FUSE_WIDE_MAX];
  char *in = calloc(g->n > 0 ? (size_t)g->n : 1, 1);
  if (!in) abort();
  for (int c = 0; c <= g->n; c++) {
    int cand = c < g->n && kernel[c] && group[c] < 0 && shape_numel(&g->nodes[c].shape) > 0;
    if (c < g->n && !cand) continue;
    int fits = cand && nm > 0 && nm < FUSE_WIDE_MAX;
    for (int j = 0; fits && j < nlv[c]; j++) fits = !in[lv[c][j]];
    for (int q = 0; fits && q < nm; q++) fits = (!rd_n[mem[q]] || rd[mem[q]][0] > c) && may_wait(h, mem[q], c);
    if (!fits) { /* close the open group; c opens the next */
      for (int q = 0; nm > 1 && q < nm; q++) {
        group[mem[q]] = mem[nm - 1];
        gkind[mem[q]] = FUSE_GROUP_WIDE;
      }
      for (int q = 0; q < nm; q++) in[mem[q]] = 0;
      nm = 0;
    }
    if (cand) {
      mem[nm++] = c;
      in[c] = 1;
    }
  }
  free(in);
}

/* Rule 8 for the kernels of kind k that are in no group yet: greedy, in kernel order, one
 * open group; a candidate joins when every member's first reader outside the group comes
 * after it, and what it reads of the group it reads at its own index with the same shape
 * (the multi-output case). */
static void shared_groups(const Graph *g, const char *kind, int k, int *const *lv, const int *nlv, char *const *lok,
                          int *const *rd, const int *rd_n, const Hold *h, int *group) {
  size_t n = g->n > 0 ? (size_t)g->n : 1;
  int nm = 0, *mem = malloc(sizeof(int) * n);
  char *in_group = calloc(n, 1), *avail = malloc(n);
  if (!mem || !in_group || !avail) abort();
  for (int c = 0; c < g->n; c++) avail[c] = kind[c] == k && group[c] < 0;
  for (int c = 0; c <= g->n; c++) {
    if (c < g->n && !avail[c]) continue;
    int fits = c < g->n && nm > 0;
    for (int j = 0; fits && j < nlv[c]; j++) { /* its reads of members */
      int x = lv[c][j];
      if (!in_group[x]) continue;
      fits = k == KIND_FLAT && lok[c][j] && shape_eq(&g->nodes[x].shape, &g->nodes[c].shape);
    }
    for (int q = 0; fits && q < nm; q++) { /* every member's outside readers come after c */
      int x = mem[q];
      if (!(fits = may_wait(h, x, c))) break;
      for (int r = 0; r < rd_n[x]; r++) {
        int y = rd[x][r];
        if (y == c || in_group[y]) continue;
        fits = y > c;
        break;
      }
    }
    if (!fits) { /* close the open group; c opens the next */
      for (int q = 0; q < nm; q++) group[mem[q]] = nm > 1 ? mem[nm - 1] : -1;
      for (int q = 0; q < nm; q++) in_group[mem[q]] = 0;
      nm = 0;
    }
    if (c < g->n) {
      mem[nm++] = c;
      in_group[c] = 1;
    }
  }
  free(mem);
  free(in_group);
  free(avail);
}

int *fuse_groups(const Graph *g, const char *inl, char **kind_out) {
  int n = g->n ? g->n : 1;
  int *group = malloc(sizeof *group * (size_t)n);
  char *kind = calloc((size_t)n, 1), *live = fuse_live(g), *kernel = calloc((size_t)n, 1);
  char *gkind = calloc((size_t)n, 1);
  if (!group || !kind || !kernel || !gkind) abort();
  /* the kernels, what they read, and each stored value's readers (ascending kernel ids) */
  int *rd_n = calloc((size_t)n, sizeof *rd_n), **rd = calloc((size_t)n, sizeof *rd);
  int **lv = calloc((size_t)n, sizeof *lv), *nlv = calloc((size_t)n, sizeof *nlv);
  char **lok = calloc((size_t)n, sizeof *lok);
  int *buf = malloc(sizeof *buf * (size_t)n);
  char *okb = malloc((size_t)n);
  if (!rd_n || !rd || !lv || !nlv || !lok || !buf || !okb) abort();
  for (int i = 0; i < g->n; i++) {
    group[i] = -1;
    const Node *nd = &g->nodes[i];
    if (inl[i] || !live[i] || nd->op == OP_INPUT || nd->op == OP_WEIGHT) continue;
    kernel[i] = 1;
    int m = 0;
    reads(g, inl, i, 1, 1, buf, okb, &m);
    lv[i] = malloc(sizeof *lv[i] * (size_t)(m ? m : 1));
    lok[i] = malloc((size_t)(m ? m : 1));
    if (!lv[i] || !lok[i]) abort();
    memcpy(lv[i], buf, sizeof *buf * (size_t)m);
    memcpy(lok[i], okb, (size_t)m);
    nlv[i] = m;
    for (int j = 0; j < m; j++) rd_n[buf[j]]++;
    int64_t numel = shape_numel(&nd->shape);
    if (numel > 0 && is_elementwise(nd->op) && flat_tree(g, inl, i, 1)) kind[i] = KIND_FLAT;
    if (op_info(nd->op)->cls == OPC_REDUCE && one_step(g, nd) && plain_tree(g, inl, i, 1)) kind[i] = KIND_TOTAL;
  }
  for (int i = 0; i < g->n; i++) {
    rd[i] = malloc(sizeof *rd[i] * (size_t)(rd_n[i] ? rd_n[i] : 1));
    if (!rd[i]) abort();
    rd_n[i] = 0;
  }
  for (int i = 0; i < g->n; i++)
    for (int j = 0; j < nlv[i]; j++) rd[lv[i][j]][rd_n[lv[i][j]]++] = i; /* i ascending: sorted */
  /* rule 8's reductions, then 8b (its readers' places known), then rule 8's elementwise
   * kernels among those 8b leaves */
  Hold h;
  hold_init(&h, g, kernel, lv, nlv, rd, rd_n);
  shared_groups(g, kind, KIND_TOTAL, lv, nlv, lok, rd, rd_n, &h, group);
  char *flat = malloc((size_t)n);
  if (!flat) abort();
  for (int i = 0; i < g->n; i++) flat[i] = kind[i] == KIND_FLAT;
  for (int i = 0; i < g->n; i++)
    if (group[i] >= 0) gkind[i] = FUSE_GROUP_SHARED;
  row_groups(g, inl, kernel, flat, rd, rd_n, group, gkind);
  free(flat);
  shared_groups(g, kind, KIND_FLAT, lv, nlv, lok, rd, rd_n, &h, group);
  for (int i = 0; i < g->n; i++)
    if (group[i] >= 0 && !gkind[i]) gkind[i] = FUSE_GROUP_SHARED;
  wide_groups(g, kernel, lv, nlv, rd, rd_n, &h, group, gkind);
  hold_free(&h);
  for (int i = 0; i < g->n; i++) {
    free(rd[i]);
    free(lv[i]);
    free(lok[i]);
  }
  free(rd);
  free(rd_n);
  free(lv);
  free(nlv);
  free(lok);
  free(buf);
  free(okb);
  free(kind);
  free(kernel);
  free(live);
  *kind_out = gkind;
  return group;
}
