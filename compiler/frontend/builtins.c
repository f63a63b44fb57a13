/* builtins.c — the PyTorch-style conveniences that lower to ops: reshape with -1,
 * permute/transpose/flatten/unsqueeze/squeeze, zeros/ones/full/iota/arange, sum/mean and
 * max/min over axes (or elementwise), matmul with broadcast batch dimensions, concat of
 * a list, and math that folds on numbers. Generic op calls are in call.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

#define LOC(pos) fe_env_loc(e, pos)
#define ERR(pos, ...) fe_err(e->c, LOC(pos), __VA_ARGS__)

static Value tensor(int id) {
  return (Value){.k = V_TENSOR, .id = id};
}

static Value num(double v, int is_int) {
  return (Value){.k = V_NUM, .num = v, .is_int = is_int};
}

static const Node *nd(Env *e, int id) {
  return &e->c->g->nodes[id];
}

static int shape_of_value(Env *e, const Expr *x, Value *v, Shape *s) {
  int n;
  if (fe_ints_arg(e, x, v, "a shape", s->d, &n, IR_MAX_RANK)) return -1;
  s->rank = n;
  for (int i = 0; i < n; i++)
    if (s->d[i] < 0) return ERR(x->pos, "shape extents must not be negative, got %lld", (long long)s->d[i]);
  return 0;
}

static int dtype_of(Env *e, Args *a, DType dflt, DType *t) {
  *t = dflt;
  int k = fe_kw_find(a, "dtype");
  if (k < 0) return 0;
  Value *v = &a->kw[k];
  if ((v->k != V_NAME && v->k != V_STR) || dtype_parse(v->s, t) || !dtype_in_ir(*t))
    return ERR(a->x->kwval[k]->pos, "unknown dtype '%s' (expected f32, f64, i32 or bool)",
               v->k == V_NAME || v->k == V_STR ? v->s : fe_value_kind(v));
  return 0;
}

/* Axes from `axis=`/`axes=` (or positional 1): normalised, sorted, unique. None: all. */
static int axes_of(Env *e, Args *a, int rank, int64_t *ax, int *n) {
  const Expr *x = NULL;
  Value *v = fe_arg_get(a, 1, "axis", &x);
  if (!v) v = fe_arg_get(a, -1, "axes", &x);
  if (!v) {
    for (int i = 0; i < rank; i++) ax[i] = i;
    *n = rank;
    return 0;
  }
  int64_t raw[IR_MAX_RANK];
  if (fe_ints_arg(e, x, v, "axis", raw, n, IR_MAX_RANK)) return -1;
  for (int i = 0; i < *n; i++) {
    int64_t a2;
    size_t at = x->kind == EX_LIST && i < x->nargs ? x->args[i]->pos : x->pos;
    if (fe_axis(e, raw[i], rank, at, &a2)) return -1;
    int k = i;
    for (int j = 0; j < i; j++)
      if (ax[j] == a2) return ERR(at, "axis %lld is given twice", (long long)raw[i]);
    while (k > 0 && ax[k - 1] > a2) ax[k] = ax[k - 1], k--;
    ax[k] = a2;
  }
  return 0;
}

static int keepdims_of(Env *e, Args *a, int64_t *keep) {
  const Expr *x = NULL;
  Value *v = fe_arg_get(a, -1, "keepdims", &x);
  *keep = 0;
  return v ? fe_int_arg(e, x, v, "keepdims", keep) : 0;
}

/* Positional arguments 1.. as one list, as if written [a, b, c] (NULL after an error). */
static Value *varargs(Env *e, Args *a, Value *list, const Expr **x) {
  Expr *lx = arena_alloc(e->c->tmp, sizeof *lx);
  *lx = (Expr){.kind = EX_LIST, .pos = a->x->args[1]->pos, .args = a->x->args + 1, .nargs = a->npos - 1};
  for (int i = 1; i < a->npos; i++)
    if (fe_resolve(e, a->x->args[i], &a->pos[i])) return NULL;
  *list = (Value){.k = V_LIST, .items = a->pos + 1, .n = a->npos - 1};
  *x = lx;
  return list;
}

static int c_reshape(Env *e, Args *a, Value *out) {
  int x;
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  const Expr *sx = NULL;
  Value *v = fe_arg_get(a, a->npos == 2 ? 1 : -1, "shape", &sx), list;
  if (!v && a->npos > 2 && !(v = varargs(e, a, &list, &sx))) return -1; /* reshape(x, a, b, c) */
  if (!v) return ERR(a->x->pos, "missing argument 'shape' of %s", a->sig);
  int64_t d[IR_MAX_RANK];
  int n, infer = -1;
  if (fe_ints_arg(e, sx, v, "a shape", d, &n, IR_MAX_RANK)) return -1;
  int64_t known = 1, numel = shape_numel(&nd(e, x)->shape);
  for (int i = 0; i < n; i++) {
    if (d[i] == -1 && infer < 0)
      infer = i;
    else if (d[i] == -1)
      return ERR(sx->pos, "only one extent of a shape can be -1");
    else if (d[i] < 0)
      return ERR(sx->pos, "shape extents must be non-negative or -1, got %lld", (long long)d[i]);
    else
      known *= d[i];
  }
  if (infer >= 0) {
    char b[128];
    if (known == 0 || numel % known)
      return ERR(a->x->pos, "cannot reshape %s (%lld elements) into a shape with -1 and %lld other elements",
                 shape_str(&nd(e, x)->shape, b, sizeof b), (long long)numel, (long long)known);
    d[infer] = numel / known;
  }
  return fe_done(out, ir_reshape(e->c->g, x, shape_of(n, d), LOC(a->x->pos), e->c->d));
}

static int c_permute(Env *e, Args *a, Value *out) {
  int x;
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  const Expr *px = NULL;
  Value *v = fe_arg_get(a, a->npos == 2 ? 1 : -1, "perm", &px), list;
  if (!v && a->npos > 2 && !(v = varargs(e, a, &list, &px))) return -1; /* permute(x, 2, 0, 1) */
  if (!v) return ERR(a->x->pos, "missing argument 'perm' of %s", a->sig);
  int64_t p[IR_MAX_RANK];
  int n, r = nd(e, x)->shape.rank;
  if (fe_ints_arg(e, px, v, "perm", p, &n, IR_MAX_RANK)) return -1;
  for (int i = 0; i < n; i++)
    if (fe_axis(e, p[i], r, px->pos, &p[i])) return -1;
  return fe_done(out, ir_permute(e->c->g, x, p, n, LOC(a->x->pos), e->c->d));
}

static int c_transpose(Env *e, Args *a, Value *out) {
  int x;
  int64_t i0, i1, p[IR_MAX_RANK];
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  int r = nd(e, x)->shape.rank;
  if (fe_int_arg(e, a->x->args[1], &a->pos[1], "an axis", &i0) || fe_axis(e, i0, r, a->x->args[1]->pos, &i0) ||
      fe_int_arg(e, a->x->args[2], &a->pos[2], "an axis", &i1) || fe_axis(e, i1, r, a->x->args[2]->pos, &i1))
    return -1;
  for (int i = 0; i < r; i++) p[i] = i;
  p[i0] = i1;
  p[i1] = i0;
  if (i0 == i1) return fe_done(out, x);
  return fe_done(out, ir_permute(e->c->g, x, p, r, LOC(a->x->pos), e->c->d));
}

static int c_flatten(Env *e, Args *a, Value *out) {
  int x;
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  Shape s = nd(e, x)->shape;
  int64_t st = 0, en = -1;
  const Expr *sx = NULL, *ex = NULL;
  Value *sv = fe_arg_get(a, 1, "start", &sx), *ev = fe_arg_get(a, 2, "end", &ex);
  if (s.rank == 0) return fe_done(out, ir_reshape(e->c->g, x, shape_of(1, (int64_t[]){1}), LOC(a->x->pos), e->c->d));
  if ((sv && (fe_int_arg(e, sx, sv, "start", &st) || fe_axis(e, st, s.rank, sx->pos, &st))) ||
      (ev && (fe_int_arg(e, ex, ev, "end", &en) || fe_axis(e, en, s.rank, ex->pos, &en))))
    return -1;
  if (!ev) en = s.rank - 1;
  if (st > en)
    return ERR(a->x->pos, "flatten: start axis %lld comes after end axis %lld", (long long)st, (long long)en);
  Shape o = {0};
  for (int i = 0; i < s.rank; i++) {
    if (i > st && i <= en)
      o.d[o.rank - 1] *= s.d[i];
    else
      o.d[o.rank++] = s.d[i];
  }
  return fe_done(out, ir_reshape(e->c->g, x, o, LOC(a->x->pos), e->c->d));
}

static int c_squeeze(Env *e, Args *a, Value *out, int insert) {
  int x;
  int64_t ax;
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  Shape s = nd(e, x)->shape, o = {0};
  if (fe_int_arg(e, a->x->args[1], &a->pos[1], "an axis", &ax) ||
      fe_axis(e, ax, s.rank + insert, a->x->args[1]->pos, &ax))
    return -1;
  if (!insert && s.d[ax] != 1)
    return ERR(a->x->args[1]->pos, "cannot squeeze axis %lld of size %lld", (long long)ax, (long long)s.d[ax]);
  if (insert && s.rank == IR_MAX_RANK) return ERR(a->x->pos, "rank would exceed %d", IR_MAX_RANK);
  for (int i = 0; i <= s.rank; i++) {
    if (i == ax && insert) o.d[o.rank++] = 1;
    if (i < s.rank && (insert || i != ax)) o.d[o.rank++] = s.d[i];
  }
  return fe_done(out, ir_reshape(e->c->g, x, o, LOC(a->x->pos), e->c->d));
}

static int c_unsqueeze(Env *e, Args *a, Value *out) {
  return c_squeeze(e, a, out, 1);
}

static int c_squeeze0(Env *e, Args *a, Value *out) {
  return c_squeeze(e, a, out, 0);
}

static int fill(Env *e, Args *a, Value *out, double value) {
  Shape s;
  DType t;
  if (shape_of_value(e, a->x->args[0], &a->pos[0], &s) || dtype_of(e, a, DT_F32, &t)) return -1;
  return fe_done(out, ir_const(e->c->g, t, s, value, LOC(a->x->pos), e->c->d));
}

static int c_zeros(Env *e, Args *a, Value *out) {
  return fill(e, a, out, 0);
}

static int c_ones(Env *e, Args *a, Value *out) {
  return fill(e, a, out, 1);
}

static int c_full(Env *e, Args *a, Value *out) {
  Value *v = &a->pos[1];
  if (fe_resolve(e, a->x->args[1], v)) return -1;
  if (v->k != V_NUM) return ERR(a->x->args[1]->pos, "the fill value must be a number, got %s", fe_value_kind(v));
  return fill(e, a, out, v->num);
}

static int c_iota(Env *e, Args *a, Value *out) {
  Shape s;
  DType t;
  int64_t ax = 0;
  const Expr *ax_x = NULL;
  Value *av = fe_arg_get(a, 1, "axis", &ax_x);
  if (shape_of_value(e, a->x->args[0], &a->pos[0], &s) || dtype_of(e, a, DT_I32, &t)) return -1;
  if (!av && s.rank != 1) return ERR(a->x->pos, "missing argument 'axis' of %s", a->sig);
  if (av && (fe_int_arg(e, ax_x, av, "axis", &ax) || fe_axis(e, ax, s.rank, ax_x->pos, &ax))) return -1;
  return fe_done(out, ir_iota(e->c->g, t, s, (int)ax, LOC(a->x->pos), e->c->d));
}

static int c_arange(Env *e, Args *a, Value *out) {
  int64_t n;
  DType t;
  if (fe_int_arg(e, a->x->args[0], &a->pos[0], "the length", &n) || dtype_of(e, a, DT_I32, &t)) return -1;
  if (n < 0) return ERR(a->x->args[0]->pos, "the length must not be negative, got %lld", (long long)n);
  return fe_done(out, ir_iota(e->c->g, t, shape_of(1, &n), 0, LOC(a->x->pos), e->c->d));
}

/* sum / max / min / mean over axes; min is -max(-x). */
static int reduce(Env *e, Args *a, Value *out, OpKind op, int negate) {
  int x;
  int64_t ax[IR_MAX_RANK], keep;
  int n;
  if (fe_arg_tensor(e, a, 0, &x)) return -1;
  if (axes_of(e, a, nd(e, x)->shape.rank, ax, &n) || keepdims_of(e, a, &keep)) return -1;
  Graph *g = e->c->g;
  SrcLoc loc = LOC(a->x->pos);
  if (op == OP_MEAN) {
    Attr at[2] = {ATTR_IS("axes", ax, n), ATTR_I("keepdims", keep)};
    return fe_done(out, ir_op(g, OP_MEAN, &x, 1, at, 2, loc, e->c->d));
  }
  if (negate) x = ir_unary(g, OP_NEG, x, loc, e->c->d);
  int r = ir_reduce(g, op, x, ax, n, (int)keep, loc, e->c->d);
  return fe_done(out, negate ? ir_unary(g, OP_NEG, r, loc, e->c->d) : r);
}

static int c_sum(Env *e, Args *a, Value *out) {
  return reduce(e, a, out, OP_REDUCE_SUM, 0);
}

static int c_mean(Env *e, Args *a, Value *out) {
  return reduce(e, a, out, OP_MEAN, 0);
}

/* max(x, axis=...) reduces; max(a, b, ...) is elementwise (numbers fold). */
static int extremum(Env *e, Args *a, Value *out, int is_max) {
  int by_axis = fe_kw_find(a, "axis") >= 0 || fe_kw_find(a, "axes") >= 0 || fe_kw_find(a, "keepdims") >= 0;
  if (a->npos == 1 && !by_axis && a->pos[0].k == V_LIST) { /* max([a, b]) on numbers */
    a->x = a->x->args[0];
    a->npos = a->pos[0].n;
    a->pos = a->pos[0].items;
  }
  for (int i = 0; i < a->npos; i++)
    if (fe_resolve(e, a->x->args[i], &a->pos[i])) return -1;
  if (by_axis || (a->npos == 1 && a->pos[0].k == V_TENSOR)) {
    if (a->npos > 1) return ERR(a->x->args[1]->pos, "%s with an axis takes one tensor", a->sig);
    return reduce(e, a, out, OP_REDUCE_MAX, !is_max);
  }
  Value acc = a->pos[0];
  for (int i = 0; i < a->npos; i++) {
    Value v = a->pos[i];
    if (v.k != V_NUM && v.k != V_TENSOR)
      return ERR(a->x->args[i]->pos, "argument %d of %s must be a number or a tensor, got %s", i + 1, a->sig,
                 fe_value_kind(&v));
    if (!i) continue;
    if (acc.k == V_NUM && v.k == V_NUM) {
      acc = num(is_max ? fmax(acc.num, v.num) : fmin(acc.num, v.num), acc.is_int && v.is_int);
      continue;
    }
    DType t = nd(e, acc.k == V_TENSOR ? acc.id : v.id)->dtype;
    int p = acc.k == V_TENSOR ? acc.id : fe_num_tensor(e, acc, t, a->x->pos);
    int q = v.k == V_TENSOR ? v.id : fe_num_tensor(e, v, t, a->x->args[i]->pos);
    int r = ir_binary_bc(e->c->g, is_max ? OP_MAX : OP_MIN, p, q, LOC(a->x->pos), e->c->d);
    if (r < 0) return -1;
    acc = tensor(r);
  }
  *out = acc;
  return 0;
}

static int c_max(Env *e, Args *a, Value *out) {
  return extremum(e, a, out, 1);
}

static int c_min(Env *e, Args *a, Value *out) {
  return extremum(e, a, out, 0);
}

/* matmul with numpy semantics: 1-D operands gain and lose a unit axis, batch
 * dimensions broadcast. The IR's matmul wants equal batch dimensions. */
static int c_matmul(Env *e, Args *a, Value *out) {
  int x, y;
  int64_t ta = 0, tb = 0;
  const Expr *tx = NULL;
  Value *tv;
  if (fe_arg_tensor(e, a, 0, &x) || fe_arg_tensor(e, a, 1, &y)) return -1;
  if ((tv = fe_arg_get(a, -1, "ta", &tx)) && fe_int_arg(e, tx, tv, "ta", &ta)) return -1;
  if ((tv = fe_arg_get(a, -1, "tb", &tx)) && fe_int_arg(e, tx, tv, "tb", &tb)) return -1;
  Graph *g = e->c->g;
  Diag *d = e->c->d;
  SrcLoc loc = LOC(a->x->pos);
  Shape sa = nd(e, x)->shape, sb = nd(e, y)->shape;
  if (sa.rank == 0 || sb.rank == 0) return ERR(a->x->pos, "matmul: operands must have at least one axis");
  int vec_a = sa.rank == 1, vec_b = sb.rank == 1;
  if (vec_a) x = ir_reshape(g, x, sa = shape_of(2, (int64_t[]){1, sa.d[0]}), loc, d);
  if (vec_b) y = ir_reshape(g, y, sb = shape_of(2, (int64_t[]){sb.d[0], 1}), loc, d);
  Shape ba = shape_of(sa.rank - 2, sa.d), bb = shape_of(sb.rank - 2, sb.d), bt;
  if (shape_broadcast(&ba, &bb, &bt)) {
    char b1[128], b2[128];
    return ERR(a->x->pos, "matmul: batch dimensions %s and %s do not broadcast", shape_str(&ba, b1, sizeof b1),
               shape_str(&bb, b2, sizeof b2));
  }
  if (bt.rank + 2 > IR_MAX_RANK) return ERR(a->x->pos, "matmul: rank would exceed %d", IR_MAX_RANK);
  Shape fa = bt, fb = bt;
  fa.d[fa.rank++] = sa.d[sa.rank - 2], fa.d[fa.rank++] = sa.d[sa.rank - 1];
  fb.d[fb.rank++] = sb.d[sb.rank - 2], fb.d[fb.rank++] = sb.d[sb.rank - 1];
  x = ir_broadcast(g, x, fa, loc, d);
  y = ir_broadcast(g, y, fb, loc, d);
  int r = ir_matmul(g, x, y, (int)ta, (int)tb, loc, d);
  if (r < 0 || (!vec_a && !vec_b)) return fe_done(out, r);
  Shape s = g->nodes[r].shape, o = {0};
  for (int i = 0; i < s.rank; i++)
    if (!((vec_a && i == s.rank - 2) || (vec_b && i == s.rank - 1))) o.d[o.rank++] = s.d[i];
  return fe_done(out, ir_reshape(g, r, o, loc, d));
}

/* concat(a, b, ..., axis=0) or concat([a, b], axis=0) */
static int c_concat(Env *e, Args *a, Value *out) {
  int cap = 0, n = 0, *xs = NULL;
  for (int i = 0; i < a->npos; i++) {
    Value *v = &a->pos[i];
    if (fe_resolve(e, a->x->args[i], v)) return -1;
    int k = v->k == V_LIST ? v->n : 1;
    for (int j = 0; j < k; j++) {
      const Value *item = v->k == V_LIST ? &v->items[j] : v;
      if (item->k != V_TENSOR) return ERR(a->x->args[i]->pos, "concat takes tensors, got %s", fe_value_kind(item));
      xs = fe_grow(e->c, xs, n, &cap, sizeof(int));
      xs[n++] = item->id;
    }
  }
  if (!n) return ERR(a->x->pos, "concat needs at least one tensor");
  int64_t ax = 0;
  const Expr *ax_x = NULL;
  Value *av = fe_arg_get(a, -1, "axis", &ax_x);
  if (av && (fe_int_arg(e, ax_x, av, "axis", &ax) || fe_axis(e, ax, nd(e, xs[0])->shape.rank, ax_x->pos, &ax)))
    return -1;
  return fe_done(out, ir_concat(e->c->g, xs, n, (int)ax, LOC(a->x->pos), e->c->d));
}

/* Math on numbers. The ones that are also ops (sqrt, exp, ...) take tensors too. */
int fe_fold_math(Env *e, Args *a, Value *out) {
  const char *f = a->x->name;
  Value *v = &a->pos[0];
  if (fe_resolve(e, a->x->args[0], v)) return -1;
  if (v->k != V_NUM) return ERR(a->x->args[0]->pos, "%s takes a number, got %s", a->sig, fe_value_kind(v));
  double x = v->num, r;
  if (!strcmp(f, "ceil"))
    *out = num(ceil(x), 1);
  else if (!strcmp(f, "int"))
    *out = num(trunc(x), 1);
  else if (!strcmp(f, "float"))
    *out = num(x, 0);
  else if (!strcmp(f, "round"))
    *out = num(nearbyint(x), 1); /* half to even, as Python */
  else if (!strcmp(f, "floor"))
    *out = num(floor(x), 1);
  else if (!strcmp(f, "abs"))
    *out = num(fabs(x), v->is_int);
  else if (!strcmp(f, "neg"))
    *out = num(-x, v->is_int);
  else {
    if ((!strcmp(f, "sqrt") || !strcmp(f, "rsqrt")) && x < 0) return ERR(a->x->pos, "%s of a negative number", f);
    if (!strcmp(f, "log") && x <= 0) return ERR(a->x->pos, "log of a number that is not positive");
    if ((!strcmp(f, "recip") || !strcmp(f, "rsqrt")) && x == 0) return ERR(a->x->pos, "division by zero");
    r = !strcmp(f, "sqrt")    ? sqrt(x)
        : !strcmp(f, "rsqrt") ? 1 / sqrt(x)
        : !strcmp(f, "exp")   ? exp(x)
        : !strcmp(f, "log")   ? log(x)
        : !strcmp(f, "tanh")  ? tanh(x)
        : !strcmp(f, "erf")   ? erf(x)
                              : 1 / x;
    *out = num(r, 0);
  }
  if (!isfinite(out->num)) return ERR(a->x->pos, "%s gives a number that is not finite", f);
  return 0;
}

static const Builtin builtins[] = {
    {"reshape", "reshape(x, shape)", 1, -1, {"shape"}, c_reshape},
    {"permute", "permute(x, perm)", 1, -1, {"perm"}, c_permute},
    {"transpose", "transpose(x, a, b)", 3, 3, {0}, c_transpose},
    {"flatten", "flatten(x, start=0, end=-1)", 1, 3, {"start", "end"}, c_flatten},
    {"unsqueeze", "unsqueeze(x, axis)", 2, 2, {0}, c_unsqueeze},
    {"squeeze", "squeeze(x, axis)", 2, 2, {0}, c_squeeze0},
    {"zeros", "zeros(shape, dtype=f32)", 1, 1, {"dtype"}, c_zeros},
    {"ones", "ones(shape, dtype=f32)", 1, 1, {"dtype"}, c_ones},
    {"full", "full(shape, value, dtype=f32)", 2, 2, {"dtype"}, c_full},
    {"iota", "iota(shape, axis, dtype=i32)", 1, 2, {"axis", "dtype"}, c_iota},
    {"arange", "arange(n, dtype=i32)", 1, 1, {"dtype"}, c_arange},
    {"sum", "sum(x, axis=all, keepdims=0)", 1, 2, {"axis", "axes", "keepdims"}, c_sum},
    {"mean", "mean(x, axis=all, keepdims=0)", 1, 2, {"axis", "axes", "keepdims"}, c_mean},
    {"max", "max(x, axis=all, keepdims=0) or max(a, b, ...)", 1, -1, {"axis", "axes", "keepdims"}, c_max},
    {"min", "min(x, axis=all, keepdims=0) or min(a, b, ...)", 1, -1, {"axis", "axes", "keepdims"}, c_min},
    {"matmul", "matmul(a, b, ta=0, tb=0)", 2, 2, {"ta", "tb"}, c_matmul},
    {"concat", "concat(x, ..., axis=0)", 1, -1, {"axis"}, c_concat},
    {"ceil", "ceil(number)", 1, 1, {0}, fe_fold_math},
    {"int", "int(number)", 1, 1, {0}, fe_fold_math},
    {"float", "float(number)", 1, 1, {0}, fe_fold_math},
    {"round", "round(number)", 1, 1, {0}, fe_fold_math},
};

/* ops that also fold on a number argument */
static const char *const math_ops[] = {"sqrt", "rsqrt", "exp", "log", "tanh", "erf", "recip", "floor", "abs", "neg"};

const Builtin *fe_builtin(const char *name) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (!strcmp(builtins[i].name, name)) return &builtins[i];
  return NULL;
}

const char *fe_builtin_name(int i) {
  return i < (int)(sizeof builtins / sizeof builtins[0]) ? builtins[i].name : NULL;
}

int fe_math_op(const char *name) {
  for (size_t i = 0; i < sizeof math_ops / sizeof math_ops[0]; i++)
    if (!strcmp(math_ops[i], name)) return 1;
  return 0;
}
