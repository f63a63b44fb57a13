/* autodiff.c — reverse-mode differentiation over the primitive IR (see autodiff.h).
 *
 * The sweep: mark the nodes that depend on a wrt node (forward) and the nodes the loss
 * needs (backward); gradients flow only through nodes with both marks, and only through
 * floating-point values. Then, from the loss down to the lowest id, each marked node
 * with a gradient applies its rule (below), which appends nodes computing its inputs'
 * contributions; contributions to one node add up. Every node a rule makes carries the
 * forward node's source location, so an error in backward code points at the model line
 * it came from.
 *
 * Choices where the derivative is not unique, as PyTorch makes them: max/min of two
 * equal values give each half of the gradient; reduce_max spreads the gradient evenly
 * over tied maxima; abs has derivative 0 at 0; pow's derivative with respect to the
 * exponent is 0 where the base is not positive. Convolution's input gradient is a
 * convolution of the zero-dilated output gradient with the flipped, transposed kernel;
 * its kernel gradient a convolution of the padded input with the dilated output
 * gradient (batch as the contracted channel), each built from primitives. */
#include "autodiff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"

typedef struct Ad {
  Graph *g;
  Diag *d;
  SrcLoc loc;     /* the forward node being differentiated */
  int *grad;      /* forward node id -> its gradient so far, or -1 */
  char *active;   /* forward node id -> gradient flows through it */
  int nfwd;       /* number of forward nodes */
} Ad;

/* ---- builders (all propagate -1) ---- */

static const Node *nd(Ad *a, int id) {
  return &a->g->nodes[id];
}

static int cst(Ad *a, int like, double v) {
  if (like < 0) return -1;
  return ir_const(a->g, nd(a, like)->dtype, nd(a, like)->shape, v, a->loc, a->d);
}

static int un(Ad *a, OpKind op, int x) {
  return ir_unary(a->g, op, x, a->loc, a->d);
}

static int bin(Ad *a, OpKind op, int x, int y) {
  return ir_binary(a->g, op, x, y, a->loc, a->d);
}

static int binc(Ad *a, OpKind op, int x, double v) {
  return bin(a, op, x, cst(a, x, v));
}

static int cast_like(Ad *a, int x, int like) {
  if (x < 0 || like < 0) return -1;
  return ir_cast(a->g, x, nd(a, like)->dtype, a->loc, a->d);
}

static int reshape(Ad *a, int x, Shape s) {
  if (x < 0) return -1;
  if (shape_eq(&nd(a, x)->shape, &s)) return x;
  return ir_reshape(a->g, x, s, a->loc, a->d);
}

static int slice1(Ad *a, int x, int axis, int64_t start, int64_t end) {
  if (x < 0) return -1;
  const Shape s = nd(a, x)->shape;
  int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], sp[IR_MAX_RANK];
  for (int k = 0; k < s.rank; k++) {
    st[k] = k == axis ? start : 0;
    en[k] = k == axis ? end : s.d[k];
    sp[k] = 1;
  }
  return ir_slice(a->g, x, st, en, sp, a->loc, a->d);
}

/* Pad by lo/hi per axis, where a negative amount cuts that many elements instead. */
static int pad_signed(Ad *a, int x, const int64_t *lo, const int64_t *hi) {
  if (x < 0) return -1;
  Shape s = nd(a, x)->shape;
  int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], sp[IR_MAX_RANK], pl[IR_MAX_RANK], ph[IR_MAX_RANK];
  int cut = 0, grow = 0;
  for (int k = 0; k < s.rank; k++) {
    st[k] = lo[k] < 0 ? -lo[k] : 0;
    en[k] = s.d[k] - (hi[k] < 0 ? -hi[k] : 0);
    sp[k] = 1;
    pl[k] = lo[k] > 0 ? lo[k] : 0;
    ph[k] = hi[k] > 0 ? hi[k] : 0;
    cut |= lo[k] < 0 || hi[k] < 0;
    grow |= lo[k] > 0 || hi[k] > 0;
  }
  if (cut) x = ir_slice(a->g, x, st, en, sp, a->loc, a->d);
  if (grow) x = ir_pad(a->g, x, pl, ph, 0.0, a->loc, a->d);
  return x;
}

static int permute(Ad *a, int x, const int64_t *perm, int n) {
  return ir_permute(a->g, x, perm, n, a->loc, a->d);
}

/* An i32 vector [n] holding start + i * step. */
static int arange(Ad *a, int64_t n, int64_t start, int64_t step) {
  Shape s = shape_of(1, &n);
  int i = ir_iota(a->g, DT_I32, s, 0, a->loc, a->d);
  if (step != 1) i = bin(a, OP_MUL, i, ir_const(a->g, DT_I32, s, (double)step, a->loc, a->d));
  if (start) i = bin(a, OP_ADD, i, ir_const(a->g, DT_I32, s, (double)start, a->loc, a->d));
  return i;
}

/* x with zeros inserted between the elements of `axis`: n -> (n - 1) * s + 1. */
static int dilate(Ad *a, int x, int axis, int64_t s) {
  if (x < 0 || s == 1) return x;
  Shape sh = nd(a, x)->shape, t = {.rank = sh.rank + 1};
  int64_t n = sh.d[axis];
  for (int k = 0, j = 0; k < sh.rank; k++) {
    t.d[j++] = sh.d[k];
    if (k == axis) t.d[j++] = 1;
  }
  int y = reshape(a, x, t);
  int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0};
  hi[axis + 1] = s - 1;
  y = ir_pad(a->g, y, lo, hi, 0.0, a->loc, a->d);
  Shape m = sh;
  m.d[axis] = n * s;
  y = reshape(a, y, m);
  return slice1(a, y, axis, 0, n ? (n - 1) * s + 1 : 0);
}

/* x reversed along `axis`. */
static int flip(Ad *a, int x, int axis) {
  if (x < 0) return -1;
  int64_t n = nd(a, x)->shape.d[axis];
  if (n <= 1) return x;
  return ir_gather(a->g, x, arange(a, n, n - 1, -1), axis, a->loc, a->d);
}

/* ---- accumulation ---- */

static int acc(Ad *a, int node, int contrib) {
  if (contrib < 0) return -1;
  if (!a->active[node]) return 0;
  const Node *n = nd(a, node), *c = nd(a, contrib);
  if (c->dtype != n->dtype || !shape_eq(&c->shape, &n->shape)) {
    char b1[128], b2[128];
    diag_error(a->d, a->loc, "internal error: autodiff: gradient of %%%d (%s %s) is %s %s", node,
               dtype_name(n->dtype), shape_str(&n->shape, b1, sizeof b1), dtype_name(c->dtype),
               shape_str(&c->shape, b2, sizeof b2));
    return -1;
  }
  a->grad[node] = a->grad[node] < 0 ? contrib : bin(a, OP_ADD, a->grad[node], contrib);
  return a->grad[node] < 0 ? -1 : 0;
}

/* ---- rules ---- */

static int rule_unary(Ad *a, const Node *n, int y, int dy) {
  int x = n->in[0];
  switch (n->op) {
  case OP_NEG: return acc(a, x, un(a, OP_NEG, dy));
  case OP_ABS: { /* sign(x): 0 at 0 */
    int zero = cst(a, x, 0);
    int sgn = bin(a, OP_SUB, cast_like(a, bin(a, OP_LT, zero, x), x), cast_like(a, bin(a, OP_LT, x, zero), x));
    return acc(a, x, bin(a, OP_MUL, dy, sgn));
  }
  case OP_EXP: return acc(a, x, bin(a, OP_MUL, dy, y));
  case OP_LOG: return acc(a, x, bin(a, OP_DIV, dy, x));
  case OP_SQRT: return acc(a, x, bin(a, OP_DIV, binc(a, OP_MUL, dy, 0.5), y));
  case OP_RSQRT: /* d/dx x^-1/2 = -1/2 y^3 */
    return acc(a, x, bin(a, OP_MUL, dy, binc(a, OP_MUL, bin(a, OP_MUL, y, bin(a, OP_MUL, y, y)), -0.5)));
  case OP_TANH: return acc(a, x, bin(a, OP_MUL, dy, bin(a, OP_SUB, cst(a, y, 1), bin(a, OP_MUL, y, y))));
  case OP_ERF: { /* 2/sqrt(pi) exp(-x^2) */
    int e = un(a, OP_EXP, un(a, OP_NEG, bin(a, OP_MUL, x, x)));
    return acc(a, x, bin(a, OP_MUL, dy, binc(a, OP_MUL, e, 2.0 / sqrt(M_PI))));
  }
  case OP_RECIP: return acc(a, x, un(a, OP_NEG, bin(a, OP_MUL, dy, bin(a, OP_MUL, y, y))));
  case OP_CAST:
    if (dtype_is_float(nd(a, x)->dtype)) return acc(a, x, cast_like(a, dy, x));
    return 0;
  default: return 0; /* floor, not: no gradient */
  }
}

/* Where max (or min) of a and b picks a: 1, 1/2 on ties, else 0. */
static int pick_a(Ad *a, int x, int z, int is_max) {
  int wins = is_max ? bin(a, OP_LT, z, x) : bin(a, OP_LT, x, z);
  return ir_where(a->g, bin(a, OP_EQ, x, z), cst(a, x, 0.5), cast_like(a, wins, x), a->loc, a->d);
}

static int rule_binary(Ad *a, const Node *n, int y, int dy) {
  int x = n->in[0], z = n->in[1];
  switch (n->op) {
  case OP_ADD: return acc(a, x, dy) || acc(a, z, dy);
  case OP_SUB: return acc(a, x, dy) || acc(a, z, un(a, OP_NEG, dy));
  case OP_MUL: return acc(a, x, bin(a, OP_MUL, dy, z)) || acc(a, z, bin(a, OP_MUL, dy, x));
  case OP_DIV: /* d/db a/b = -y/b */
    return acc(a, x, bin(a, OP_DIV, dy, z)) || acc(a, z, un(a, OP_NEG, bin(a, OP_DIV, bin(a, OP_MUL, dy, y), z)));
  case OP_MAX:
  case OP_MIN: {
    int wa = pick_a(a, x, z, n->op == OP_MAX);
    return acc(a, x, bin(a, OP_MUL, dy, wa)) || acc(a, z, bin(a, OP_MUL, dy, bin(a, OP_SUB, cst(a, wa, 1), wa)));
  }
  case OP_POW: {
    int da = bin(a, OP_MUL, dy, bin(a, OP_MUL, z, bin(a, OP_POW, x, binc(a, OP_SUB, z, 1))));
    if (acc(a, x, da)) return -1;
    if (!a->active[z]) return 0;
    int pos = bin(a, OP_LT, cst(a, x, 0), x);
    int db = bin(a, OP_MUL, dy, bin(a, OP_MUL, un(a, OP_LOG, x), y));
    return acc(a, z, ir_where(a->g, pos, db, cst(a, x, 0), a->loc, a->d));
  }
  default: return 0; /* comparisons, and, or */
  }
}

/* The shape of x with the reduced axes kept as 1. */
static Shape kept(const Node *x, const Node *n) {
  int cnt;
  const int64_t *axes = ir_attr_is(n, "axes", &cnt);
  Shape s = x->shape;
  for (int k = 0; k < cnt; k++) s.d[axes[k]] = 1;
  return s;
}

static int rule_reduce(Ad *a, const Node *n, int y, int dy) {
  int x = n->in[0];
  Shape xs = nd(a, x)->shape, ks = kept(nd(a, x), n);
  int dk = reshape(a, dy, ks);
  if (n->op == OP_REDUCE_SUM) return acc(a, x, ir_broadcast(a->g, dk, xs, a->loc, a->d));
  /* max: the gradient goes to the maxima, shared evenly among ties */
  int cnt;
  const int64_t *axes = ir_attr_is(n, "axes", &cnt);
  int yb = ir_broadcast(a->g, reshape(a, y, ks), xs, a->loc, a->d);
  int mask = cast_like(a, bin(a, OP_EQ, x, yb), x);
  int count = ir_reduce(a->g, OP_REDUCE_SUM, mask, axes, cnt, 1, a->loc, a->d);
  int share = ir_broadcast(a->g, bin(a, OP_DIV, dk, count), xs, a->loc, a->d);
  return acc(a, x, bin(a, OP_MUL, mask, share));
}

static int rule_move(Ad *a, const Node *n, int dy) {
  int x = n->in[0], cnt;
  Shape xs = nd(a, x)->shape, os = n->shape;
  switch (n->op) {
  case OP_RESHAPE: return acc(a, x, reshape(a, dy, xs));
  case OP_PERMUTE: {
    const int64_t *perm = ir_attr_is(n, "perm", &cnt);
    int64_t inv[IR_MAX_RANK];
    for (int k = 0; k < cnt; k++) inv[perm[k]] = k;
    return acc(a, x, permute(a, dy, inv, cnt));
  }
  case OP_BROADCAST: {
    int64_t axes[IR_MAX_RANK];
    int na = 0, lead = os.rank - xs.rank;
    for (int k = 0; k < os.rank; k++)
      if (k < lead || (xs.d[k - lead] == 1 && os.d[k] != 1)) axes[na++] = k;
    int r = na ? ir_reduce(a->g, OP_REDUCE_SUM, dy, axes, na, 1, a->loc, a->d) : dy;
    return acc(a, x, reshape(a, r, xs));
  }
  case OP_SLICE: {
    const int64_t *start = ir_attr_is(n, "start", &cnt), *step = ir_attr_is(n, "step", &cnt);
    int cur = dy;
    int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK];
    for (int k = 0; k < xs.rank; k++) {
      lo[k] = hi[k] = 0;
      if (step[k] == 1) { /* contiguous: zeros around it */
        lo[k] = start[k];
        hi[k] = xs.d[k] - start[k] - os.d[k];
      } else { /* strided: scattered into place */
        cur = ir_scatter_add(a->g, cur, arange(a, os.d[k], start[k], step[k]), k, xs.d[k], a->loc, a->d);
      }
    }
    return acc(a, x, pad_signed(a, cur, lo, hi));
  }
  case OP_PAD: {
    const int64_t *lo = ir_attr_is(n, "lo", &cnt);
    int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], sp[IR_MAX_RANK];
    for (int k = 0; k < xs.rank; k++) {
      st[k] = lo[k];
      en[k] = lo[k] + xs.d[k];
      sp[k] = 1;
    }
    return acc(a, x, ir_slice(a->g, dy, st, en, sp, a->loc, a->d));
  }
  case OP_CONCAT: {
    int axis = (int)ir_attr_i(n, "axis");
    int64_t off = 0;
    for (int j = 0; j < n->nin; j++) {
      int64_t len = nd(a, n->in[j])->shape.d[axis];
      if (a->active[n->in[j]] && acc(a, n->in[j], slice1(a, dy, axis, off, off + len))) return -1;
      off += len;
    }
    return 0;
  }
  default: return 0;
  }
}

static int rule_index(Ad *a, const Node *n, int dy) {
  int axis = (int)ir_attr_i(n, "axis");
  if (n->op == OP_GATHER)
    return acc(a, n->in[0], ir_scatter_add(a->g, dy, n->in[1], axis, nd(a, n->in[0])->shape.d[axis], a->loc, a->d));
  if (n->op == OP_SCATTER_ADD) return acc(a, n->in[0], ir_gather(a->g, dy, n->in[1], axis, a->loc, a->d));
  return 0; /* one_hot */
}

/* C = opA(A) opB(B): dopA = dC opB(B)^T, dopB = opA(A)^T dC, transposed back where the
 * operand was stored transposed. */
static int rule_matmul(Ad *a, const Node *n, int dc) {
  int A = n->in[0], B = n->in[1], ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
  if (a->active[A]) {
    int dA = ta ? ir_matmul(a->g, B, dc, tb, 1, a->loc, a->d) : ir_matmul(a->g, dc, B, 0, !tb, a->loc, a->d);
    if (acc(a, A, dA)) return -1;
  }
  if (a->active[B]) {
    int dB = tb ? ir_matmul(a->g, dc, A, 1, ta, a->loc, a->d) : ir_matmul(a->g, A, dc, !ta, 0, a->loc, a->d);
    if (acc(a, B, dB)) return -1;
  }
  return 0;
}

static int rule_conv(Ad *a, const Node *n, int dc) {
  int x = n->in[0], w = n->in[1], cnt;
  const int64_t *st = ir_attr_is(n, "stride", &cnt), *pd = ir_attr_is(n, "pad", &cnt);
  Shape xs = nd(a, x)->shape, ws = nd(a, w)->shape, os = n->shape;
  if (shape_numel(&os) == 0) return acc(a, x, cst(a, x, 0)) || acc(a, w, cst(a, w, 0));
  static const int64_t swap01[4] = {1, 0, 2, 3};
  const int64_t one[2] = {1, 1}, none[2] = {0, 0};
  int dd = dilate(a, dilate(a, dc, 2, st[0]), 3, st[1]); /* [B, O, (OH-1)s+1, (OW-1)s+1] */
  int64_t r[2];
  for (int k = 0; k < 2; k++) r[k] = (xs.d[2 + k] + 2 * pd[k] - ws.d[2 + k]) % st[k]; /* rows the conv never read */
  if (a->active[x]) {
    int64_t lo[4] = {0, 0, ws.d[2] - 1 - pd[0], ws.d[3] - 1 - pd[1]};
    int64_t hi[4] = {0, 0, lo[2] + r[0], lo[3] + r[1]};
    int wf = flip(a, flip(a, permute(a, w, swap01, 4), 2), 3); /* [C, O, KH, KW], reversed */
    int dx = ir_conv(a->g, pad_signed(a, dd, lo, hi), wf, one, none, a->loc, a->d);
    if (acc(a, x, dx)) return -1;
  }
  if (a->active[w]) {
    int64_t lo[4] = {0, 0, pd[0], pd[1]};
    int xp = pad_signed(a, x, lo, lo);
    int res = ir_conv(a->g, permute(a, xp, swap01, 4), permute(a, dd, swap01, 4), one, none, a->loc, a->d);
    int64_t s0[4] = {0, 0, 0, 0}, e0[4] = {ws.d[1], ws.d[0], ws.d[2], ws.d[3]}, sp[4] = {1, 1, 1, 1};
    if (res >= 0 && !shape_eq(&nd(a, res)->shape, &(Shape){4, {e0[0], e0[1], e0[2], e0[3]}}))
      res = ir_slice(a->g, res, s0, e0, sp, a->loc, a->d);
    if (acc(a, w, permute(a, res, swap01, 4))) return -1;
  }
  return 0;
}

static int apply(Ad *a, int id) {
  Node n = a->g->nodes[id]; /* by value: the node array moves as nodes are appended */
  int dy = a->grad[id];
  a->loc = n.loc;
  switch (op_info(n.op)->cls) {
  case OPC_UNARY: return rule_unary(a, &n, id, dy);
  case OPC_BINARY: return rule_binary(a, &n, id, dy);
  case OPC_SELECT: {
    int zero = cst(a, dy, 0);
    return acc(a, n.in[1], ir_where(a->g, n.in[0], dy, zero, a->loc, a->d)) ||
           acc(a, n.in[2], ir_where(a->g, n.in[0], zero, dy, a->loc, a->d));
  }
  case OPC_REDUCE: return rule_reduce(a, &n, id, dy);
  case OPC_MOVE: return rule_move(a, &n, dy);
  case OPC_INDEX: return rule_index(a, &n, dy);
  case OPC_CONTRACT: return n.op == OP_MATMUL ? rule_matmul(a, &n, dy) : rule_conv(a, &n, dy);
  case OPC_HIGH:
    diag_error(a->d, n.loc, "%s: high-level op in node %%%d; run decompose before autodiff", op_info(n.op)->name, id);
    return -1;
  default: return 0; /* sources and random: leaves */
  }
}

int ad_backward(Graph *g, int loss, int seed, const int *wrt, int nwrt, int *grads, Diag *d) {
  if (loss < 0 || loss >= g->n) {
    diag_error(d, SRCLOC_NONE, "internal error: autodiff: loss node %%%d does not exist", loss);
    return -1;
  }
  const Node *L = &g->nodes[loss];
  if (!dtype_is_float(L->dtype)) {
    diag_error(d, L->loc, "the loss must be f32 or f64 to differentiate, got %s", dtype_name(L->dtype));
    return -1;
  }
  if (seed < 0 && L->shape.rank != 0) {
    char b[128];
    diag_error(d, L->loc, "the loss must be a scalar to differentiate, got %s%s", dtype_name(L->dtype),
               shape_str(&L->shape, b, sizeof b));
    return -1;
  }
  Ad a = {.g = g, .d = d, .nfwd = g->n};
  a.grad = malloc(sizeof *a.grad * (size_t)a.nfwd);
  a.active = calloc((size_t)a.nfwd, 1);
  char *need = calloc((size_t)a.nfwd, 1);
  if (!a.grad || !a.active || !need) abort();
  int rc = 0;
  for (int i = 0; i < nwrt; i++) {
    if (wrt[i] < 0 || wrt[i] >= a.nfwd || !dtype_is_float(g->nodes[wrt[i]].dtype)) {
      diag_error(d, wrt[i] >= 0 && wrt[i] < a.nfwd ? g->nodes[wrt[i]].loc : SRCLOC_NONE,
                 "autodiff: can only differentiate with respect to f32 or f64 values");
      rc = -1;
      goto out;
    }
    a.active[wrt[i]] = 1;
  }
  /* forward: depends on a wrt node through float values */
  for (int i = 0; i < a.nfwd; i++) {
    const Node *n = &g->nodes[i];
    if (a.active[i] || !dtype_is_float(n->dtype)) continue;
    for (int k = 0; k < n->nin; k++) a.active[i] |= a.active[n->in[k]];
  }
  /* backward: needed by the loss */
  need[loss] = 1;
  for (int i = loss; i >= 0; i--)
    if (need[i])
      for (int k = 0; k < g->nodes[i].nin; k++) need[g->nodes[i].in[k]] = 1;
  for (int i = 0; i < a.nfwd; i++) {
    a.active[i] &= need[i];
    a.grad[i] = -1;
  }
  a.loc = L->loc;
  a.grad[loss] = seed >= 0 ? seed : ir_const(g, L->dtype, L->shape, 1.0, L->loc, d);
  if (seed >= 0 && (g->nodes[seed].dtype != L->dtype || !shape_eq(&g->nodes[seed].shape, &L->shape))) {
    diag_error(d, L->loc, "internal error: autodiff: the seed's type differs from the loss's");
    rc = -1;
    goto out;
  }
  for (int i = loss; i >= 0 && !rc; i--)
    if (a.active[i] && a.grad[i] >= 0) rc = apply(&a, i);
  for (int i = 0; i < nwrt && !rc; i++) {
    const Node *w = &g->nodes[wrt[i]];
    grads[i] = a.grad[wrt[i]] >= 0 ? a.grad[wrt[i]] : ir_const(g, w->dtype, w->shape, 0.0, w->loc, d);
    if (grads[i] < 0) rc = -1;
  }
out:
  free(a.grad);
  free(a.active);
  free(need);
  return rc;
}

Graph *ad_grad_graph(const Graph *src, const char *loss, Diag *d) {
  int lid = -1;
  for (int k = 0; k < src->nout; k++)
    if (!strcmp(src->outs[k].name, loss)) lid = src->outs[k].id;
  if (lid < 0) {
    diag_error(d, SRCLOC_NONE, "the model has no output named '%s'", loss);
    return NULL;
  }
  Graph *g = pass_copy(src, d);
  if (!g) return NULL;
  int nw = 0;
  for (int i = 0; i < g->n; i++) nw += g->nodes[i].op == OP_WEIGHT;
  int *w = malloc(sizeof *w * (size_t)(nw ? nw : 1)), *gr = malloc(sizeof *gr * (size_t)(nw ? nw : 1));
  if (!w || !gr) abort();
  nw = 0;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT) w[nw++] = i;
  int rc = ad_backward(g, lid, -1, w, nw, gr, d);
  if (!rc) {
    g->nout = 0;
    ir_add_output(g, loss, lid);
    for (int i = 0; i < nw; i++) {
      size_t len = strlen(g->nodes[w[i]].name) + 6;
      char *name = malloc(len);
      if (!name) abort();
      snprintf(name, len, "grad.%s", g->nodes[w[i]].name);
      ir_add_output(g, name, gr[i]);
      free(name);
    }
  }
  free(w);
  free(gr);
  if (rc) {
    ir_graph_free(g);
    return NULL;
  }
  return g;
}
