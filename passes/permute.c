/* permute.c — sink permutes through elementwise ops, pads and slices until they meet
 * another permute, and cancel them (transpose sinking).
 *
 * A convolution lowers to a matmul over channels-last rows (decompose.c) and permutes its
 * result back to [N, C, H, W]; the next convolution permutes its input to channels last
 * again. Between the two there are only elementwise ops (a ReLU, a residual add, a scale),
 * a pad or the slices of a pooling, all of which can run in either layout. This pass
 * carries each permute along lazily: a value v is recorded as permute(base, perm) without
 * emitting the permute; an elementwise op whose inputs all carry the same perm (constants
 * and broadcast scalars fit any) runs on the bases and carries the perm on; a pad or slice
 * runs on the base with its per-axis attributes permuted back; a permute composes with
 * the one carried (an identity vanishes). Anything else — and every output — takes the
 * permute materialised (once per value). The dVAE's chain conv -> relu -> conv then has no
 * permute between its matmuls at all, and its backward pass none either.
 *
 * Data movement only: every element is computed by the same op from the same operands,
 * so results keep their bits. */
#include <stdlib.h>
#include <string.h>

#include "pass.h"

typedef struct Sink {
  const Graph *g;
  Rewrite rw;
  int64_t (*perm)[IR_MAX_RANK]; /* per source node: the perm it carries over rw.map (its base) */
  char *carried;                /* per source node: a non-identity perm is carried */
  int *mat;                     /* per source node: its materialised value in dst, or -1 */
} Sink;

static int identity(const int64_t *p, int rank) {
  for (int i = 0; i < rank; i++)
    if (p[i] != i) return 0;
  return 1;
}

/* Source node x as a value of dst: its base, permuted when it carries a perm. */
static int materialise(Sink *s, int x) {
  if (!s->carried[x]) return s->rw.map[x];
  if (s->mat[x] < 0) {
    const Node *n = &s->g->nodes[x];
    s->mat[x] = ir_permute(s->rw.dst, s->rw.map[x], s->perm[x], n->shape.rank, n->loc, s->rw.d);
  }
  return s->mat[x];
}

/* Whether input x of an elementwise op fits any perm: a constant, or a broadcast of one
 * element. */
static int any_layout(const Graph *g, int x) {
  const Node *n = &g->nodes[x];
  return n->op == OP_CONST || (n->op == OP_BROADCAST && shape_numel(&g->nodes[n->in[0]].shape) == 1);
}

/* Node i is elementwise with a perm to carry: every input carries that same perm or fits
 * any. The perm (of the first that carries one) in *p, or 0. */
static int carry_through(Sink *s, int i, const int64_t **p) {
  const Node *n = &s->g->nodes[i];
  OpClass c = op_info(n->op)->cls;
  const int64_t *q = NULL;
  *p = NULL;
  if (c != OPC_UNARY && c != OPC_BINARY && c != OPC_SELECT) return 0;
  for (int k = 0; k < n->nin; k++) {
    int x = n->in[k];
    if (s->carried[x]) {
      if (!q) q = s->perm[x];
      else if (memcmp(q, s->perm[x], sizeof s->perm[x][0] * (size_t)n->shape.rank)) return 0;
    } else if (!any_layout(s->g, x)) {
      return 0;
    }
  }
  *p = q;
  return q != NULL;
}

/* The base shape of a value of shape sh carried with perm p: base.d[p[i]] = sh.d[i]. */
static Shape base_shape(const Shape *sh, const int64_t *p) {
  Shape b = *sh;
  for (int i = 0; i < sh->rank; i++) b.d[p[i]] = sh->d[i];
  return b;
}

/* Copy elementwise node i onto its inputs' bases; it carries p on. */
static int elementwise(Sink *s, int i, const int64_t *p) {
  const Node *n = &s->g->nodes[i];
  Shape bs = base_shape(&n->shape, p);
  int in[OP_MAX_INPUTS];
  for (int k = 0; k < n->nin; k++) {
    int x = n->in[k];
    const Node *xn = &s->g->nodes[x];
    if (s->carried[x]) in[k] = s->rw.map[x];
    else if (xn->op == OP_CONST) in[k] = ir_const(s->rw.dst, xn->dtype, bs, ir_attr_f(xn, "value"), xn->loc, s->rw.d);
    else in[k] = ir_broadcast(s->rw.dst, s->rw.map[xn->in[0]], bs, xn->loc, s->rw.d);
    if (in[k] < 0) return -1;
  }
  NodeSpec sp = {.op = n->op, .in = in, .nin = n->nin, .attr = n->attr, .nattr = n->nattr, .loc = n->loc};
  return ir_emit(s->rw.dst, &sp, s->rw.d);
}

/* A pad or slice of a value carrying p, on the base: attribute a of axis i goes to axis
 * p[i]. */
static int per_axis(Sink *s, int i, const int64_t *p) {
  const Node *n = &s->g->nodes[i];
  int r = n->shape.rank, b = s->rw.map[n->in[0]];
  int64_t a[3][IR_MAX_RANK];
  const char *keys[3] = {"lo", "hi", NULL};
  if (n->op == OP_SLICE) keys[0] = "start", keys[1] = "end", keys[2] = "step";
  for (int q = 0; q < 3 && keys[q]; q++) {
    const int64_t *v = ir_attr_is(n, keys[q], NULL);
    for (int k = 0; k < r; k++) a[q][p[k]] = v[k];
  }
  if (n->op == OP_PAD) return ir_pad(s->rw.dst, b, a[0], a[1], ir_attr_f(n, "value"), n->loc, s->rw.d);
  return ir_slice(s->rw.dst, b, a[0], a[1], a[2], n->loc, s->rw.d);
}

Graph *pass_permute(const Graph *g, Diag *d) {
  Sink s = {.g = g};
  size_t n = (size_t)(g->n ? g->n : 1);
  s.perm = malloc(sizeof *s.perm * n);
  s.carried = calloc(n, 1);
  s.mat = malloc(sizeof *s.mat * n);
  if (!s.perm || !s.carried || !s.mat) abort();
  pass_rw_init(&s.rw, g, d);
  int ok = 1;
  for (int i = 0; i < g->n && ok; i++) {
    const Node *nd = &g->nodes[i];
    s.mat[i] = -1;
    const int64_t *p = NULL;
    if (nd->op == OP_PERMUTE) { /* compose with what its input carries */
      int x = nd->in[0], r = nd->shape.rank;
      const int64_t *q = ir_attr_is(nd, "perm", NULL);
      for (int k = 0; k < r; k++) s.perm[i][k] = s.carried[x] ? s.perm[x][q[k]] : q[k];
      s.carried[i] = !identity(s.perm[i], r);
      s.rw.map[i] = s.rw.map[x];
      continue;
    }
    int id;
    if (carry_through(&s, i, &p)) id = elementwise(&s, i, p);
    else if ((nd->op == OP_PAD || nd->op == OP_SLICE) && s.carried[nd->in[0]]) id = per_axis(&s, i, p = s.perm[nd->in[0]]);
    else { /* as it is, reading its inputs materialised */
      int *saved = malloc(sizeof *saved * (size_t)(nd->nin ? nd->nin : 1));
      if (!saved) abort();
      for (int k = 0; k < nd->nin && ok; k++) {
        saved[k] = s.rw.map[nd->in[k]];
        ok = (s.rw.map[nd->in[k]] = materialise(&s, nd->in[k])) >= 0;
      }
      id = ok ? pass_rw_copy(&s.rw, i) : -1;
      for (int k = nd->nin - 1; k >= 0; k--) s.rw.map[nd->in[k]] = saved[k];
      free(saved);
    }
    ok = id >= 0;
    s.rw.map[i] = id;
    if (p) {
      memcpy(s.perm[i], p, sizeof s.perm[i][0] * (size_t)nd->shape.rank);
      s.carried[i] = 1;
    }
  }
  for (int k = 0; k < g->nout && ok; k++) { /* outputs as they are */
    int x = g->outs[k].id;
    ok = (s.rw.map[x] = materialise(&s, x)) >= 0;
    s.carried[x] = 0;
  }
  free(s.perm);
  free(s.carried);
  free(s.mat);
  if (!ok || pass_rw_outputs(&s.rw, 0)) {
    pass_rw_abort(&s.rw);
    return NULL;
  }
  return pass_rw_finish(&s.rw);
}
