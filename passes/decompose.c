/* decompose.c — lower every high-level op to primitives (the rules table at the end).
 *
 * Autodiff, fusion and codegen know primitives only, so each high-level op is written
 * here once, as the primitive graph that computes it with PyTorch's semantics. Every
 * node a rule makes carries the high-level node's source location, so an error found
 * later still points at the user's line. Rules build through the ir_* builder, which
 * re-infers every shape; the result is checked against the high-level node's dtype and
 * shape, so a wrong rule is an internal error at that node, never a silent change.
 *
 * Requires: a graph that verifies. Produces: a graph without high-level ops. Primitive
 * nodes are copied unchanged; dead nodes are left for dce. */
#include <math.h>
#include <stdlib.h>

#include "pass.h"

typedef struct Cx {
  Graph *g;   /* the graph being built */
  SrcLoc loc; /* the high-level node's location, given to every node it becomes */
  Diag *d;
} Cx;

/* ---- small builders (all propagate -1) -------------------------------------------------- */

static Shape shp(const Cx *c, int x) {
  return x >= 0 ? c->g->nodes[x].shape : shape_scalar();
}

static DType dty(const Cx *c, int x) {
  return x >= 0 ? c->g->nodes[x].dtype : DT_F32;
}

/* A constant of x's shape and dtype: one node, no broadcast needed. */
static int filled(Cx *c, int x, double v) {
  if (x < 0) return -1;
  return ir_const(c->g, dty(c, x), shp(c, x), v, c->loc, c->d);
}

static int un(Cx *c, OpKind op, int x) {
  return ir_unary(c->g, op, x, c->loc, c->d);
}

/* Binary op with numpy broadcasting (the builder inserts the broadcast nodes). */
static int bin(Cx *c, OpKind op, int a, int b) {
  return ir_binary_bc(c->g, op, a, b, c->loc, c->d);
}

/* x op v, v a constant */
static int binc(Cx *c, OpKind op, int x, double v) {
  return bin(c, op, x, filled(c, x, v));
}

static int red(Cx *c, OpKind op, int x, int64_t axis, int keep) {
  return ir_reduce(c->g, op, x, &axis, 1, keep, c->loc, c->d);
}

static int reshape(Cx *c, int x, int rank, const int64_t *d) {
  return ir_reshape(c->g, x, shape_of(rank, d), c->loc, c->d);
}

static int permute(Cx *c, int x, int rank, const int64_t *perm) {
  return ir_permute(c->g, x, perm, rank, c->loc, c->d);
}

/* mean over `axes` = reduce_sum / count (an empty extent gives 0/0 = NaN, as in PyTorch) */
static int mean_axes(Cx *c, int x, const int64_t *axes, int nax, int keep) {
  Shape s = shp(c, x);
  int64_t count = 1;
  for (int i = 0; i < nax; i++) count *= s.d[axes[i] < 0 ? axes[i] + s.rank : axes[i]];
  int sum = ir_reduce(c->g, OP_REDUCE_SUM, x, axes, nax, keep, c->loc, c->d);
  return binc(c, OP_DIV, sum, (double)count);
}

/* softmax / log_softmax along `ax`, stable: the row maximum is subtracted first */
static int softmax(Cx *c, int x, int64_t ax, int log) {
  int z = bin(c, OP_SUB, x, red(c, OP_REDUCE_MAX, x, ax, 1));
  int e = un(c, OP_EXP, z);
  int s = red(c, OP_REDUCE_SUM, e, ax, 1);
  return log ? bin(c, OP_SUB, z, un(c, OP_LOG, s)) : bin(c, OP_DIV, e, s);
}

static int64_t norm_axis(int64_t ax, int rank) {
  return ax < 0 ? ax + rank : ax;
}

/* ---- the rules ----------------------------------------------------------------------------
 * Each takes the high-level node (for attributes and its own shape) and the ids of its
 * inputs in the new graph, and returns the id of the value that replaces it. */

/* linear(x[...,in], w[out,in], b?) = reshape(reshape(x,[M,in]) @ w^T + b, [...,out]):
 * flattening the batch axes makes it one 2-D matmul whatever the rank of x. */
static int linear(Cx *c, const Node *n, const int *in) {
  Shape xs = shp(c, in[0]);
  int64_t k = xs.d[xs.rank - 1], m = 1;
  for (int i = 0; i < xs.rank - 1; i++) m *= xs.d[i];
  int y = ir_matmul(c->g, reshape(c, in[0], 2, (int64_t[]){m, k}), in[1], 0, 1, c->loc, c->d);
  if (n->nin > 2) y = bin(c, OP_ADD, y, in[2]);
  return ir_reshape(c->g, y, n->shape, c->loc, c->d);
}

/* layer_norm over the last axis: (x - mean) * rsqrt(var + eps) * w + b, var biased
 * (mean of squared deviations), as torch.nn.LayerNorm. */
static int layer_norm(Cx *c, const Node *n, const int *in) {
  int64_t last = -1;
  int xc = bin(c, OP_SUB, in[0], mean_axes(c, in[0], &last, 1, 1));
  int var = mean_axes(c, bin(c, OP_MUL, xc, xc), &last, 1, 1);
  int y = bin(c, OP_MUL, xc, un(c, OP_RSQRT, binc(c, OP_ADD, var, ir_attr_f(n, "eps"))));
  if (n->nin > 1) y = bin(c, OP_MUL, y, in[1]);
  if (n->nin > 2) y = bin(c, OP_ADD, y, in[2]);
  return y;
}

/* softmax(x, axis) = exp(x - max) / sum(exp(x - max)) */
static int softmax_rule(Cx *c, const Node *n, const int *in) {
  return softmax(c, in[0], norm_axis(ir_attr_i(n, "axis"), n->shape.rank), 0);
}

/* log_softmax(x, axis) = (x - max) - log(sum(exp(x - max))) */
static int log_softmax(Cx *c, const Node *n, const int *in) {
  return softmax(c, in[0], norm_axis(ir_attr_i(n, "axis"), n->shape.rank), 1);
}

/* gelu, exact: x * 0.5 * (1 + erf(x / sqrt(2))), the order of PyTorch's CPU kernel */
static int gelu(Cx *c, const Node *n, const int *in) {
  (void)n;
  int x = in[0];
  int phi = binc(c, OP_ADD, un(c, OP_ERF, binc(c, OP_MUL, x, 0.70710678118654752440)), 1.0);
  return bin(c, OP_MUL, binc(c, OP_MUL, x, 0.5), phi);
}

/* relu(x) = max(x, 0) */
static int relu(Cx *c, const Node *n, const int *in) {
  (void)n;
  return binc(c, OP_MAX, in[0], 0.0);
}

/* sigmoid(x) = 1 / (1 + exp(-x)); exp overflows to inf for x < -88 (f32), giving the
 * right limit 0, so this form is safe, only less precise than a two-branch one. */
static int sigmoid(Cx *c, const Node *n, const int *in) {
  (void)n;
  return un(c, OP_RECIP, binc(c, OP_ADD, un(c, OP_EXP, un(c, OP_NEG, in[0])), 1.0));
}

/* mean(x, axes, keepdims) = reduce_sum / count */
static int mean(Cx *c, const Node *n, const int *in) {
  int nax;
  const int64_t *axes = ir_attr_is(n, "axes", &nax);
  return mean_axes(c, in[0], axes, nax, (int)ir_attr_i(n, "keepdims"));
}

/* attention(q[B,T,D], k[B,S,D], v[B,S,D], bias?; heads H, scale):
 *   split heads: [B,L,D] -> [B,L,H,Dh] -> permute -> [B,H,L,Dh]
 *   p = softmax(q k^T * scale + bias) over keys, scale 0 meaning 1/sqrt(Dh)
 *   out = p v, heads merged back: [B,H,T,Dh] -> [B,T,H,Dh] -> [B,T,D]
 * (BEiT scales q before the product; the two differ only in rounding, and not at all
 * for a power-of-two scale such as 1/sqrt(64).) */
static int attention(Cx *c, const Node *n, const int *in) {
  Shape qs = shp(c, in[0]), ks = shp(c, in[1]);
  int64_t B = qs.d[0], T = qs.d[1], D = qs.d[2], S = ks.d[1], H = ir_attr_i(n, "heads"), Dh = D / H;
  static const int64_t swap12[4] = {0, 2, 1, 3};
  int q = permute(c, reshape(c, in[0], 4, (int64_t[]){B, T, H, Dh}), 4, swap12);
  int k = permute(c, reshape(c, in[1], 4, (int64_t[]){B, S, H, Dh}), 4, swap12);
  int v = permute(c, reshape(c, in[2], 4, (int64_t[]){B, S, H, Dh}), 4, swap12);
  double scale = ir_attr_f(n, "scale");
  if (scale == 0) scale = 1.0 / sqrt((double)Dh);
  int s = binc(c, OP_MUL, ir_matmul(c->g, q, k, 0, 1, c->loc, c->d), scale);
  if (n->nin > 3) s = bin(c, OP_ADD, s, in[3]); /* bias broadcasts to [B,H,T,S] */
  int o = ir_matmul(c->g, softmax(c, s, 3, 0), v, 0, 0, c->loc, c->d);
  return reshape(c, permute(c, o, 4, swap12), 3, (int64_t[]){B, T, D});
}

/* cross_entropy(logits[...,C], labels i32[...], mask?; smoothing s), torch.nn.CrossEntropyLoss
 * with label_smoothing = s:
 *   ls = log_softmax(logits); nll = -sum_c where(one_hot(label), ls, 0)
 *   row loss = (1 - s) * nll - (s / C) * sum_c ls
 *   no mask: mean over all rows; mask: sum(loss * mask) / sum(mask), a bool mask selecting
 *   rows with `where` (so a masked-out row cannot leak NaN or inf, as with PyTorch's
 *   gather of the masked rows) and a float mask weighting them. An all-zero mask gives
 *   0/0 = NaN, as PyTorch's mean over an empty selection does.
 * The label picks through a bool one_hot and where, not a multiply, so that a -inf logit
 * in another class gives the right loss instead of 0 * -inf = NaN. A label outside
 * [0, C) selects nothing (its nll is 0): use the mask to ignore rows, not a sentinel. */
static int cross_entropy(Cx *c, const Node *n, const int *in) {
  Shape xs = shp(c, in[0]);
  int R = xs.rank - 1;
  int64_t C = xs.d[R];
  double sm = ir_attr_f(n, "smoothing");
  int ls = softmax(c, in[0], R, 1);
  int pick = ir_where(c->g, ir_one_hot(c->g, in[1], C, DT_BOOL, c->loc, c->d), ls, filled(c, ls, 0.0), c->loc, c->d);
  int loss = un(c, OP_NEG, red(c, OP_REDUCE_SUM, pick, R, 0));
  if (sm != 0) {
    int uniform = binc(c, OP_MUL, red(c, OP_REDUCE_SUM, ls, R, 0), -sm / (double)C);
    loss = bin(c, OP_ADD, binc(c, OP_MUL, loss, 1.0 - sm), uniform);
  }
  int64_t rows[IR_MAX_RANK];
  for (int i = 0; i < R; i++) rows[i] = i;
  if (n->nin < 3) return R ? mean_axes(c, loss, rows, R, 0) : loss;
  int mask = in[2], w;
  if (dty(c, mask) == DT_BOOL) {
    loss = ir_where(c->g, mask, loss, filled(c, loss, 0.0), c->loc, c->d);
    w = ir_cast(c->g, mask, dty(c, loss), c->loc, c->d);
  } else {
    loss = bin(c, OP_MUL, loss, mask);
    w = mask;
  }
  if (R) {
    loss = ir_reduce(c->g, OP_REDUCE_SUM, loss, rows, R, 0, c->loc, c->d);
    w = ir_reduce(c->g, OP_REDUCE_SUM, w, rows, R, 0, c->loc, c->d);
  }
  return bin(c, OP_DIV, loss, w);
}

/* conv2d(x, w, b?) as one matmul (im2col), so the convolution and both of its gradients
 * run on the matmul code generator's packed panels: with P = OH*OW output positions,
 *   col [N*P, KH*KW*C]: row (n, oy, ox) holds the window x[n, :, oy*s + i - pad, ox*s + j
 *                       - pad] in (i, j, c) order: KH*KW strided slices of the padded
 *                       input in channels-last layout, concatenated along the last axis
 *                       (a 1x1 stride-1 conv needs none: col is the input, channels last;
 *                       non-overlapping patches, stride = kernel, are a reshape and permute);
 *   y   [N*P, O]       = col · w'ᵀ + b, w' = w in (o, i, j, c) order, [O, KH*KW*C];
 * then y back to [N, O, OH, OW]. Autodiff then differentiates slices, concat and matmul:
 * the kernel's gradient is colᵀ·dy, the input's the padded slices of dy·w' summed back
 * (col2im), both without a convolution rule. The cost is col's memory: KH*KW times the
 * input, stored for the backward pass. */
static int conv2d(Cx *c, const Node *n, const int *in) {
  const int64_t *st = ir_attr_is(n, "stride", NULL), *pd = ir_attr_is(n, "pad", NULL);
  Shape xs = shp(c, in[0]), ws = shp(c, in[1]);
  int64_t N = xs.d[0], C = xs.d[1], H = xs.d[2], W = xs.d[3], O = ws.d[0], KH = ws.d[2], KW = ws.d[3];
  int64_t OH = n->shape.d[2], OW = n->shape.d[3], P = OH * OW, K = KH * KW * C;
  int col;
  if (KH == st[0] && KW == st[1] && !pd[0] && !pd[1] && H == OH * KH && W == OW * KW) { /* patches */
    int x = reshape(c, in[0], 6, (int64_t[]){N, C, OH, KH, OW, KW});
    col = reshape(c, permute(c, x, 6, (int64_t[]){0, 2, 4, 3, 5, 1}), 2, (int64_t[]){N * P, K});
  } else {
    int x = in[0];
    if (pd[0] || pd[1]) x = ir_pad(c->g, x, (int64_t[]){0, 0, pd[0], pd[1]}, (int64_t[]){0, 0, pd[0], pd[1]}, 0.0, c->loc, c->d);
    x = permute(c, x, 4, (int64_t[]){0, 2, 3, 1}); /* [N, H', W', C] */
    int *parts = malloc(sizeof *parts * (size_t)(KH * KW > 0 ? KH * KW : 1));
    if (!parts) abort();
    for (int64_t i = 0; i < KH; i++)
      for (int64_t j = 0; j < KW; j++) {
        int64_t start[4] = {0, i, j, 0}, step[4] = {1, st[0], st[1], 1};
        int64_t end[4] = {N, i + (OH - 1) * st[0] + 1, j + (OW - 1) * st[1] + 1, C};
        parts[i * KW + j] = KH * KW == 1 && st[0] == 1 && st[1] == 1 ? x : ir_slice(c->g, x, start, end, step, c->loc, c->d);
      }
    col = KH * KW == 1 ? parts[0] : ir_concat(c->g, parts, (int)(KH * KW), 3, c->loc, c->d);
    free(parts);
    col = reshape(c, col, 2, (int64_t[]){N * P, K});
  }
  int w = reshape(c, permute(c, in[1], 4, (int64_t[]){0, 2, 3, 1}), 2, (int64_t[]){O, K});
  int y = ir_matmul(c->g, col, w, 0, 1, c->loc, c->d);
  if (n->nin > 2) y = bin(c, OP_ADD, y, in[2]);
  y = reshape(c, y, 4, (int64_t[]){N, OH, OW, O});
  return permute(c, y, 4, (int64_t[]){0, 3, 1, 2});
}

/* max_pool(kernel, stride), no padding: the max over kh*kw strided slices, slice (i,j)
 * holding x[..., i + sh*oy, j + sw*ox] for every output (oy, ox). Exact, made of
 * primitives autodiff already knows (slice, max), and fusion turns it back into one
 * loop; the cost is kh*kw reads of each window instead of one pass. */
static int max_pool(Cx *c, const Node *n, const int *in) {
  int nk, ns;
  const int64_t *k = ir_attr_is(n, "kernel", &nk), *st = ir_attr_is(n, "stride", &ns);
  if (!ns) st = k;
  Shape xs = shp(c, in[0]);
  int64_t oh = n->shape.d[2], ow = n->shape.d[3];
  int y = -1;
  for (int64_t i = 0; i < k[0]; i++)
    for (int64_t j = 0; j < k[1]; j++) {
      int64_t start[4] = {0, 0, i, j}, step[4] = {1, 1, st[0], st[1]};
      int64_t end[4] = {xs.d[0], xs.d[1], i + (oh - 1) * st[0] + 1, j + (ow - 1) * st[1] + 1};
      int s = ir_slice(c->g, in[0], start, end, step, c->loc, c->d);
      y = i == 0 && j == 0 ? s : ir_binary(c->g, OP_MAX, y, s, c->loc, c->d);
      if (y < 0) return -1;
    }
  return y;
}

/* upsample(scale s), nearest: [N,C,H,W] -> [N,C,H,1,W,1] -> broadcast [N,C,H,s,W,s]
 * -> [N,C,H*s,W*s] (row-major, so each pixel repeats s times along both axes) */
static int upsample(Cx *c, const Node *n, const int *in) {
  int64_t s = ir_attr_i(n, "scale");
  if (s == 1) return in[0];
  Shape xs = shp(c, in[0]);
  int64_t N = xs.d[0], C = xs.d[1], H = xs.d[2], W = xs.d[3];
  int x = reshape(c, in[0], 6, (int64_t[]){N, C, H, 1, W, 1});
  x = ir_broadcast(c->g, x, shape_of(6, (int64_t[]){N, C, H, s, W, s}), c->loc, c->d);
  return ir_reshape(c->g, x, n->shape, c->loc, c->d);
}

/* patchify(p): [N,C,H,W] -> [N,C,H/p,p,W/p,p] -> permute -> [N,H/p,W/p,C,p,p]
 * -> [N,(H/p)(W/p),C*p*p]: tokens row-major over the grid, features (c, kh, kw) like a
 * flattened conv weight [O,C,kh,kw], so linear(patchify(x), w.reshape(O,-1)) == conv. */
static int patchify(Cx *c, const Node *n, const int *in) {
  int64_t p = ir_attr_i(n, "patch");
  Shape xs = shp(c, in[0]);
  int64_t N = xs.d[0], C = xs.d[1], gh = xs.d[2] / p, gw = xs.d[3] / p;
  int x = reshape(c, in[0], 6, (int64_t[]){N, C, gh, p, gw, p});
  x = permute(c, x, 6, (int64_t[]){0, 2, 4, 1, 3, 5});
  return ir_reshape(c->g, x, n->shape, c->loc, c->d);
}

/* gumbel_softmax(logits, tau, seed; axis, stream, hard):
 *   u = max(random(seed, stream), 1e-10) (random is in [0, 1), at most 1 - 2^-24, so only
 *   the 0 end needs a clamp: log(0) would give g = -inf), g = -log(-log(u)),
 *   y = softmax((logits + g) / tau, axis).
 * hard = 1 gives one_hot(argmax y) along axis, the first index on ties (argmax as a max
 * over where(y == max, -index, -C), negated). PyTorch returns y_hard - y.detach() + y,
 * the same values with y's gradient; that straight-through estimator needs a
 * stop-gradient, which arrives with autodiff; until then hard = 1 is the one-hot alone. */
static int gumbel_softmax(Cx *c, const Node *n, const int *in) {
  int64_t ax = norm_axis(ir_attr_i(n, "axis"), n->shape.rank);
  int u = ir_random(c->g, in[2], ir_attr_i(n, "stream"), n->shape, c->loc, c->d);
  u = binc(c, OP_MAX, u, 1e-10);
  u = ir_cast(c->g, u, n->dtype, c->loc, c->d);
  int gum = un(c, OP_NEG, un(c, OP_LOG, un(c, OP_NEG, un(c, OP_LOG, u))));
  int y = softmax(c, bin(c, OP_DIV, bin(c, OP_ADD, in[0], gum), in[1]), ax, 0);
  if (!ir_attr_i(n, "hard")) return y;
  int is_max = bin(c, OP_EQ, y, red(c, OP_REDUCE_MAX, y, ax, 1));
  int neg_idx = un(c, OP_NEG, ir_iota(c->g, DT_I32, n->shape, (int)ax, c->loc, c->d));
  int cand = ir_where(c->g, is_max, neg_idx, filled(c, neg_idx, (double)-n->shape.d[ax]), c->loc, c->d);
  int first = red(c, OP_REDUCE_MAX, cand, ax, 1); /* = -(first index of the max) */
  return ir_cast(c->g, bin(c, OP_EQ, neg_idx, first), n->dtype, c->loc, c->d);
}

/* ---- the table and the pass --------------------------------------------------------------- */

typedef int (*Rule)(Cx *c, const Node *n, const int *in);

static const Rule rules[OP_COUNT] = {
    [OP_LINEAR] = linear,
    [OP_LAYER_NORM] = layer_norm,
    [OP_SOFTMAX] = softmax_rule,
    [OP_LOG_SOFTMAX] = log_softmax,
    [OP_GELU] = gelu,
    [OP_RELU] = relu,
    [OP_SIGMOID] = sigmoid,
    [OP_MEAN] = mean,
    [OP_ATTENTION] = attention,
    [OP_CROSS_ENTROPY] = cross_entropy,
    [OP_CONV2D] = conv2d,
    [OP_MAX_POOL] = max_pool,
    [OP_UPSAMPLE] = upsample,
    [OP_PATCHIFY] = patchify,
    [OP_GUMBEL_SOFTMAX] = gumbel_softmax,
};

/* Lower high-level node `id`; returns the id of its replacement or -1. */
static int lower(Rewrite *rw, int id) {
  const Node *n = &rw->src->nodes[id];
  const char *name = op_info(n->op)->name;
  if (!rules[n->op]) {
    diag_error(rw->d, n->loc, "internal error: no decomposition for op '%s'", name);
    return -1;
  }
  int in[OP_MAX_INPUTS];
  for (int k = 0; k < n->nin; k++) in[k] = rw->map[n->in[k]];
  Cx c = {rw->dst, n->loc, rw->d};
  int nerr = rw->d->nerr;
  int r = rules[n->op](&c, n, in);
  if (r < 0) {
    if (rw->d->nerr == nerr) diag_error(rw->d, n->loc, "internal error: decomposing '%s' failed", name);
    return -1;
  }
  const Node *o = &rw->dst->nodes[r];
  if (o->dtype != n->dtype || !shape_eq(&o->shape, &n->shape)) {
    char b1[128], b2[128];
    diag_error(rw->d, n->loc, "internal error: '%s' decomposed to %s%s instead of %s%s", name,
               dtype_name(o->dtype), shape_str(&o->shape, b1, sizeof b1), dtype_name(n->dtype),
               shape_str(&n->shape, b2, sizeof b2));
    return -1;
  }
  return r;
}

Graph *pass_decompose(const Graph *g, Diag *d) {
  Rewrite rw;
  pass_rw_init(&rw, g, d);
  for (int id = 0; id < g->n; id++) {
    int r = op_is_primitive(g->nodes[id].op) ? pass_rw_copy(&rw, id) : (rw.map[id] = lower(&rw, id));
    if (r < 0) {
      pass_rw_abort(&rw);
      return NULL;
    }
  }
  if (pass_rw_outputs(&rw, 0)) {
    pass_rw_abort(&rw);
    return NULL;
  }
  return pass_rw_finish(&rw);
}
