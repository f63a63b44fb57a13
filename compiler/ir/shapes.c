/* shapes.c — dtype and shape rules of every op (ir_infer), and shape helpers.
 * One switch over the op table: the builder calls it for each new node, the verifier
 * calls it again to check a graph that came from elsewhere (text, a pass). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

int64_t shape_numel(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    if (__builtin_mul_overflow(n, s->d[i], &n)) return INT64_MAX; /* only for shapes not yet checked */
  return n;
}

int shape_eq(const Shape *a, const Shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

Shape shape_of(int rank, const int64_t *d) {
  Shape s = {0};
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = d[i];
  return s;
}

Shape shape_scalar(void) {
  Shape s = {0};
  return s;
}

char *shape_str(const Shape *s, char *buf, size_t n) {
  size_t at = 0;
  at += (size_t)snprintf(buf + at, n - at, "[");
  for (int i = 0; i < s->rank && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, i ? ",%lld" : "%lld", (long long)s->d[i]);
  if (at < n) snprintf(buf + at, n - at, "]");
  return buf;
}

int shape_broadcast(const Shape *a, const Shape *b, Shape *out) {
  Shape r = {0};
  r.rank = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r.rank; i++) {
    int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
    int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
    if (da != db && da != 1 && db != 1) return -1;
    r.d[i] = da == 1 ? db : da;
  }
  *out = r;
  return 0;
}

/* ---- helpers for the rules ---- */

#define SHN(k, s) shape_str(&(s), sbuf[k], sizeof sbuf[k])
#define FAIL(...)                       \
  do {                                  \
    diag_error(d, n->loc, __VA_ARGS__); \
    return -1;                          \
  } while (0)

static int is_num(DType t) {
  return t == DT_F32 || t == DT_F64 || t == DT_I32;
}

static int is_flt(DType t) {
  return t == DT_F32 || t == DT_F64;
}

/* Output extent of a strided window: floor((in + 2*pad - k) / s) + 1, or -1. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t pad) {
  int64_t span = in + 2 * pad - k;
  if (span < 0 || s < 1) return -1;
  return span / s + 1;
}

int ir_infer(const Graph *g, const Node *n, DType *dtype, Shape *shape, Diag *d) {
  char sbuf[4][128];
  const OpInfo *info = op_info(n->op);
  const char *nm = info->name;
  const Node *x = n->nin > 0 ? &g->nodes[n->in[0]] : NULL;
  const Node *y = n->nin > 1 ? &g->nodes[n->in[1]] : NULL;
  Shape s = x ? x->shape : shape_scalar();
  DType t = x ? x->dtype : n->dtype;
  int cnt;

  switch (info->cls) {
  case OPC_SOURCE:
    t = n->dtype;
    s = n->shape;
    if (!dtype_in_ir(t)) FAIL("%s: dtype %s cannot appear in a graph", nm, dtype_name(t));
    if (s.rank < 0 || s.rank > IR_MAX_RANK) FAIL("%s: rank %d is out of range", nm, s.rank);
    for (int i = 0; i < s.rank; i++)
      if (s.d[i] < 0) FAIL("%s: negative extent in shape %s", nm, SHN(0, s));
    if ((n->op == OP_INPUT || n->op == OP_WEIGHT) && (!n->name || !*n->name))
      FAIL("%s: needs a name", nm);
    if (n->op == OP_WEIGHT && !is_flt(t)) FAIL("weight '%s': dtype must be f32 or f64", n->name);
    if (n->op == OP_IOTA) {
      int64_t ax = ir_attr_i(n, "axis");
      if (ax < 0 || ax >= s.rank) FAIL("iota: axis %lld is out of range for shape %s", (long long)ax, SHN(0, s));
      if (t == DT_BOOL) FAIL("iota: dtype bool is not allowed");
    }
    break;

  case OPC_UNARY:
    switch (n->op) {
    case OP_NOT:
      if (t != DT_BOOL) FAIL("not: needs bool, got %s", dtype_name(t));
      break;
    case OP_NEG:
    case OP_ABS:
      if (!is_num(t)) FAIL("%s: needs a number type, got %s", nm, dtype_name(t));
      break;
    case OP_CAST:
      t = ir_attr_dt(n, "to");
      if (!dtype_in_ir(t)) FAIL("cast: dtype %s cannot appear in a graph", dtype_name(t));
      break;
    default:
      if (!is_flt(t)) FAIL("%s: needs f32 or f64, got %s", nm, dtype_name(t));
    }
    break;

  case OPC_BINARY:
    if (x->dtype != y->dtype) FAIL("%s: dtypes %s and %s differ", nm, dtype_name(x->dtype), dtype_name(y->dtype));
    if (!shape_eq(&x->shape, &y->shape)) FAIL("%s: shapes %s and %s differ", nm, SHN(0, x->shape), SHN(1, y->shape));
    switch (n->op) {
    case OP_AND:
    case OP_OR:
      if (t != DT_BOOL) FAIL("%s: needs bool, got %s", nm, dtype_name(t));
      break;
    case OP_EQ:
      t = DT_BOOL;
      break;
    case OP_LT:
    case OP_LE:
      if (!is_num(t)) FAIL("%s: needs a number type, got %s", nm, dtype_name(t));
      t = DT_BOOL;
      break;
    case OP_POW:
      if (!is_flt(t)) FAIL("pow: needs f32 or f64, got %s", dtype_name(t));
      break;
    default:
      if (!is_num(t)) FAIL("%s: needs a number type, got %s", nm, dtype_name(t));
    }
    break;

  case OPC_SELECT: {
    const Node *z = &g->nodes[n->in[2]];
    if (x->dtype != DT_BOOL) FAIL("where: condition must be bool, got %s", dtype_name(x->dtype));
    if (y->dtype != z->dtype) FAIL("where: dtypes %s and %s differ", dtype_name(y->dtype), dtype_name(z->dtype));
    if (!shape_eq(&x->shape, &y->shape) || !shape_eq(&x->shape, &z->shape))
      FAIL("where: shapes %s, %s and %s differ", SHN(0, x->shape), SHN(1, y->shape), SHN(2, z->shape));
    t = y->dtype;
    break;
  }

  case OPC_REDUCE:
  case OPC_HIGH:
    if (info->cls == OPC_REDUCE || n->op == OP_MEAN) {
      const int64_t *ax = ir_attr_is(n, "axes", &cnt);
      int keep = (int)ir_attr_i(n, "keepdims");
      if (!is_num(t)) FAIL("%s: needs a number type, got %s", nm, dtype_name(t));
      if (n->op == OP_MEAN && !is_flt(t)) FAIL("mean: needs f32 or f64, got %s", dtype_name(t));
      Shape o = {0};
      int k = 0;
      for (int i = 0; i < cnt; i++) {
        if (ax[i] < 0 || ax[i] >= s.rank) FAIL("%s: axis %lld is out of range for shape %s", nm, (long long)ax[i], SHN(0, s));
        if (i && ax[i] <= ax[i - 1]) FAIL("%s: axes must be sorted and unique", nm);
      }
      for (int i = 0; i < s.rank; i++) {
        int reduced = 0;
        for (int j = 0; j < cnt; j++) reduced |= ax[j] == i;
        if (!reduced) o.d[k++] = s.d[i];
        else if (keep) o.d[k++] = 1;
      }
      o.rank = k;
      s = o;
      break;
    }
    goto high;

  case OPC_MOVE:
    switch (n->op) {
    case OP_RESHAPE: {
      const int64_t *sh = ir_attr_is(n, "shape", &cnt);
      if (cnt > IR_MAX_RANK) FAIL("reshape: rank %d is more than %d", cnt, IR_MAX_RANK);
      Shape o = shape_of(cnt, sh);
      for (int i = 0; i < cnt; i++)
        if (sh[i] < 0) FAIL("reshape: negative extent in %s", SHN(0, o));
      if (shape_numel(&o) != shape_numel(&s))
        FAIL("reshape: cannot reshape %s (%lld elements) to %s (%lld elements)", SHN(0, s),
             (long long)shape_numel(&s), SHN(1, o), (long long)shape_numel(&o));
      s = o;
      break;
    }
    case OP_PERMUTE: {
      const int64_t *p = ir_attr_is(n, "perm", &cnt);
      if (cnt != s.rank) FAIL("permute: perm has %d entries for rank %d", cnt, s.rank);
      int seen[IR_MAX_RANK] = {0};
      Shape o = {0};
      o.rank = cnt;
      for (int i = 0; i < cnt; i++) {
        if (p[i] < 0 || p[i] >= cnt || seen[p[i]]++) FAIL("permute: perm is not a permutation of 0..%d", cnt - 1);
        o.d[i] = s.d[p[i]];
      }
      s = o;
      break;
    }
    case OP_BROADCAST: {
      const int64_t *sh = ir_attr_is(n, "shape", &cnt);
      if (cnt > IR_MAX_RANK) FAIL("broadcast: rank %d is more than %d", cnt, IR_MAX_RANK);
      Shape o = shape_of(cnt, sh);
      if (cnt < s.rank) FAIL("broadcast: cannot broadcast %s to lower rank %s", SHN(0, s), SHN(1, o));
      for (int i = 0; i < s.rank; i++) {
        int64_t di = s.d[i], dout = o.d[cnt - s.rank + i];
        if (di != dout && di != 1) FAIL("broadcast: cannot broadcast %s to %s", SHN(0, s), SHN(1, o));
      }
      for (int i = 0; i < cnt; i++)
        if (o.d[i] < 0) FAIL("broadcast: negative extent in %s", SHN(0, o));
      s = o;
      break;
    }
    case OP_SLICE: {
      int c1, c2, c3;
      const int64_t *st = ir_attr_is(n, "start", &c1), *en = ir_attr_is(n, "end", &c2),
                    *sp = ir_attr_is(n, "step", &c3);
      if (c1 != s.rank || c2 != s.rank || c3 != s.rank)
        FAIL("slice: start, end and step need %d entries each", s.rank);
      for (int i = 0; i < s.rank; i++) {
        if (sp[i] < 1) FAIL("slice: step %lld on axis %d must be positive", (long long)sp[i], i);
        if (st[i] < 0 || st[i] > en[i] || en[i] > s.d[i])
          FAIL("slice: range %lld:%lld on axis %d is outside 0:%lld", (long long)st[i], (long long)en[i], i,
               (long long)s.d[i]);
        s.d[i] = en[i] > st[i] ? (en[i] - st[i] - 1) / sp[i] + 1 : 0;
      }
      break;
    }
    case OP_PAD: {
      int c1, c2;
      const int64_t *lo = ir_attr_is(n, "lo", &c1), *hi = ir_attr_is(n, "hi", &c2);
      if (c1 != s.rank || c2 != s.rank) FAIL("pad: lo and hi need %d entries each", s.rank);
      for (int i = 0; i < s.rank; i++) {
        if (lo[i] < 0 || hi[i] < 0) FAIL("pad: padding on axis %d must not be negative", i);
        if (lo[i] > IR_MAX_EXTENT || hi[i] > IR_MAX_EXTENT) FAIL("pad: padding on axis %d is too large", i);
        s.d[i] += lo[i] + hi[i];
      }
      break;
    }
    case OP_CONCAT: {
      int64_t ax = ir_attr_i(n, "axis");
      if (ax < 0 || ax >= s.rank) FAIL("concat: axis %lld is out of range for shape %s", (long long)ax, SHN(0, s));
      for (int k = 1; k < n->nin; k++) {
        const Node *o = &g->nodes[n->in[k]];
        if (o->dtype != t) FAIL("concat: dtypes %s and %s differ", dtype_name(t), dtype_name(o->dtype));
        int ok = o->shape.rank == s.rank;
        for (int i = 0; ok && i < s.rank; i++) ok = i == ax || o->shape.d[i] == s.d[i];
        if (!ok) FAIL("concat: shapes %s and %s differ outside axis %lld", SHN(0, x->shape), SHN(1, o->shape), (long long)ax);
        s.d[ax] += o->shape.d[ax];
      }
      break;
    }
    default:
      break;
    }
    break;

  case OPC_INDEX:
    switch (n->op) {
    case OP_GATHER: {
      int64_t ax = ir_attr_i(n, "axis");
      if (y->dtype != DT_I32) FAIL("gather: indices must be i32, got %s", dtype_name(y->dtype));
      if (ax < 0 || ax >= s.rank) FAIL("gather: axis %lld is out of range for shape %s", (long long)ax, SHN(0, s));
      int r = s.rank - 1 + y->shape.rank;
      if (r > IR_MAX_RANK) FAIL("gather: result rank %d is more than %d", r, IR_MAX_RANK);
      Shape o = {0};
      int k = 0;
      for (int i = 0; i < ax; i++) o.d[k++] = s.d[i];
      for (int i = 0; i < y->shape.rank; i++) o.d[k++] = y->shape.d[i];
      for (int i = (int)ax + 1; i < s.rank; i++) o.d[k++] = s.d[i];
      o.rank = k;
      s = o;
      break;
    }
    case OP_SCATTER_ADD: {
      int64_t ax = ir_attr_i(n, "axis"), size = ir_attr_i(n, "size");
      if (y->dtype != DT_I32) FAIL("scatter_add: indices must be i32, got %s", dtype_name(y->dtype));
      if (!is_num(t)) FAIL("scatter_add: needs a number type, got %s", dtype_name(t));
      if (size < 0) FAIL("scatter_add: size must not be negative");
      if (ax < 0 || ax + y->shape.rank > s.rank)
        FAIL("scatter_add: axis %lld with indices %s does not fit updates %s", (long long)ax, SHN(0, y->shape), SHN(1, s));
      for (int i = 0; i < y->shape.rank; i++)
        if (s.d[ax + i] != y->shape.d[i])
          FAIL("scatter_add: updates %s do not match indices %s at axis %lld", SHN(0, s), SHN(1, y->shape), (long long)ax);
      Shape o = {0};
      int k = 0;
      for (int i = 0; i < ax; i++) o.d[k++] = s.d[i];
      o.d[k++] = size;
      for (int i = (int)ax + y->shape.rank; i < s.rank; i++) o.d[k++] = s.d[i];
      o.rank = k;
      s = o;
      break;
    }
    case OP_ONE_HOT: {
      int64_t depth = ir_attr_i(n, "depth");
      if (t != DT_I32) FAIL("one_hot: indices must be i32, got %s", dtype_name(t));
      if (depth < 0) FAIL("one_hot: depth must not be negative");
      if (s.rank >= IR_MAX_RANK) FAIL("one_hot: result rank is more than %d", IR_MAX_RANK);
      t = ir_attr_dt(n, "dtype");
      if (!dtype_in_ir(t)) FAIL("one_hot: dtype %s cannot appear in a graph", dtype_name(t));
      s.d[s.rank++] = depth;
      break;
    }
    default:
      break;
    }
    break;

  case OPC_CONTRACT:
    if (x->dtype != y->dtype) FAIL("%s: dtypes %s and %s differ", nm, dtype_name(x->dtype), dtype_name(y->dtype));
    if (!is_flt(t)) FAIL("%s: needs f32 or f64, got %s", nm, dtype_name(t));
    if (n->op == OP_MATMUL) {
      const Shape *a = &x->shape, *b = &y->shape;
      int ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
      if (a->rank < 2 || a->rank != b->rank) FAIL("matmul: operands %s and %s need equal rank >= 2", SHN(0, *a), SHN(1, *b));
      int r = a->rank;
      for (int i = 0; i < r - 2; i++)
        if (a->d[i] != b->d[i]) FAIL("matmul: batch dimensions of %s and %s differ", SHN(0, *a), SHN(1, *b));
      int64_t m = ta ? a->d[r - 1] : a->d[r - 2], ka = ta ? a->d[r - 2] : a->d[r - 1];
      int64_t kb = tb ? b->d[r - 1] : b->d[r - 2], nn = tb ? b->d[r - 2] : b->d[r - 1];
      if (ka != kb)
        FAIL("matmul: inner dimensions differ: %s%s x %s%s", SHN(0, *a), ta ? "^T" : "", SHN(1, *b), tb ? "^T" : "");
      s.d[r - 2] = m;
      s.d[r - 1] = nn;
      break;
    }
    /* fallthrough: conv */
    goto conv;

  case OPC_RANDOM: {
    const int64_t *sh = ir_attr_is(n, "shape", &cnt);
    if (x->dtype != DT_I32 || x->shape.rank != 0) FAIL("random: seed must be an i32 scalar");
    if (cnt > IR_MAX_RANK) FAIL("random: rank %d is more than %d", cnt, IR_MAX_RANK);
    s = shape_of(cnt, sh);
    for (int i = 0; i < cnt; i++)
      if (s.d[i] < 0) FAIL("random: negative extent in %s", SHN(0, s));
    t = DT_F32;
    break;
  }
  }
  goto done;

conv: {
  /* conv (primitive) and conv2d (high-level, with an optional bias) */
  const Shape *a = &x->shape, *w = &y->shape;
  int c1, c2;
  const int64_t *st = ir_attr_is(n, "stride", &c1), *pd = ir_attr_is(n, "pad", &c2);
  if (x->dtype != y->dtype) FAIL("%s: dtypes %s and %s differ", nm, dtype_name(x->dtype), dtype_name(y->dtype));
  if (!is_flt(t)) FAIL("%s: needs f32 or f64, got %s", nm, dtype_name(t));
  if (a->rank != 4 || w->rank != 4) FAIL("%s: input %s and weight %s must both be 4-D (NCHW, OIHW)", nm, SHN(0, *a), SHN(1, *w));
  if (a->d[1] != w->d[1]) FAIL("%s: input has %lld channels but the weight expects %lld", nm, (long long)a->d[1], (long long)w->d[1]);
  if (c1 != 2 || c2 != 2) FAIL("%s: stride and pad need 2 entries each", nm);
  if (st[0] < 1 || st[1] < 1 || pd[0] < 0 || pd[1] < 0) FAIL("%s: stride must be positive and pad not negative", nm);
  if (pd[0] > IR_MAX_EXTENT || pd[1] > IR_MAX_EXTENT) FAIL("%s: padding is too large", nm);
  int64_t oh = window_out(a->d[2], w->d[2], st[0], pd[0]), ow = window_out(a->d[3], w->d[3], st[1], pd[1]);
  if (oh < 0 || ow < 0) FAIL("%s: kernel %lldx%lld is larger than the padded input %s", nm, (long long)w->d[2], (long long)w->d[3], SHN(0, *a));
  if (n->op == OP_CONV2D && n->nin > 2) {
    const Node *b = &g->nodes[n->in[2]];
    if (b->dtype != t || b->shape.rank != 1 || b->shape.d[0] != w->d[0])
      FAIL("conv2d: bias must be %s[%lld], got %s%s", dtype_name(t), (long long)w->d[0], dtype_name(b->dtype), SHN(0, b->shape));
  }
  s = shape_of(4, (int64_t[]){a->d[0], w->d[0], oh, ow});
  goto done;
}

high:
  switch (n->op) {
  case OP_LINEAR: {
    if (!is_flt(t)) FAIL("linear: needs f32 or f64, got %s", dtype_name(t));
    if (y->dtype != t) FAIL("linear: dtypes %s and %s differ", dtype_name(t), dtype_name(y->dtype));
    if (s.rank < 1 || y->shape.rank != 2 || y->shape.d[1] != s.d[s.rank - 1])
      FAIL("linear: input %s does not match weight %s ([out, in])", SHN(0, s), SHN(1, y->shape));
    if (n->nin > 2) {
      const Node *b = &g->nodes[n->in[2]];
      if (b->dtype != t || b->shape.rank != 1 || b->shape.d[0] != y->shape.d[0])
        FAIL("linear: bias must be %s[%lld], got %s%s", dtype_name(t), (long long)y->shape.d[0], dtype_name(b->dtype), SHN(0, b->shape));
    }
    s.d[s.rank - 1] = y->shape.d[0];
    break;
  }
  case OP_LAYER_NORM:
    if (!is_flt(t)) FAIL("layer_norm: needs f32 or f64, got %s", dtype_name(t));
    if (s.rank < 1) FAIL("layer_norm: input must have at least one axis");
    for (int k = 1; k < n->nin; k++) {
      const Node *p = &g->nodes[n->in[k]];
      if (p->dtype != t || p->shape.rank != 1 || p->shape.d[0] != s.d[s.rank - 1])
        FAIL("layer_norm: %s must be %s[%lld], got %s%s", k == 1 ? "weight" : "bias", dtype_name(t),
             (long long)s.d[s.rank - 1], dtype_name(p->dtype), SHN(0, p->shape));
    }
    break;
  case OP_SOFTMAX:
  case OP_LOG_SOFTMAX: {
    int64_t ax = ir_attr_i(n, "axis");
    if (!is_flt(t)) FAIL("%s: needs f32 or f64, got %s", nm, dtype_name(t));
    if (ax < -s.rank || ax >= s.rank) FAIL("%s: axis %lld is out of range for shape %s", nm, (long long)ax, SHN(0, s));
    break;
  }
  case OP_GELU:
  case OP_RELU:
  case OP_SIGMOID:
    if (!is_flt(t)) FAIL("%s: needs f32 or f64, got %s", nm, dtype_name(t));
    break;
  case OP_ATTENTION: {
    const Node *v = &g->nodes[n->in[2]];
    int64_t heads = ir_attr_i(n, "heads");
    if (!is_flt(t)) FAIL("attention: needs f32 or f64, got %s", dtype_name(t));
    if (y->dtype != t || v->dtype != t) FAIL("attention: q, k and v must have one dtype");
    if (s.rank != 3 || y->shape.rank != 3 || v->shape.rank != 3)
      FAIL("attention: q %s, k %s and v %s must be [batch, tokens, dim]", SHN(0, s), SHN(1, y->shape), SHN(2, v->shape));
    if (!shape_eq(&y->shape, &v->shape) || y->shape.d[0] != s.d[0] || y->shape.d[2] != s.d[2])
      FAIL("attention: q %s, k %s and v %s do not agree", SHN(0, s), SHN(1, y->shape), SHN(2, v->shape));
    if (heads < 1 || s.d[2] % heads) FAIL("attention: %lld heads do not divide dim %lld", (long long)heads, (long long)s.d[2]);
    if (n->nin > 3) {
      const Node *b = &g->nodes[n->in[3]];
      Shape full = shape_of(4, (int64_t[]){s.d[0], heads, s.d[1], y->shape.d[1]}), r;
      if (b->dtype != t || shape_broadcast(&b->shape, &full, &r) || !shape_eq(&r, &full))
        FAIL("attention: bias %s%s does not broadcast to %s", dtype_name(b->dtype), SHN(0, b->shape), SHN(1, full));
    }
    break;
  }
  case OP_CROSS_ENTROPY: {
    if (!is_flt(t)) FAIL("cross_entropy: logits need f32 or f64, got %s", dtype_name(t));
    if (y->dtype != DT_I32) FAIL("cross_entropy: labels must be i32, got %s", dtype_name(y->dtype));
    Shape rows = s;
    if (rows.rank < 1) FAIL("cross_entropy: logits need a class axis");
    rows.rank--;
    if (!shape_eq(&rows, &y->shape)) FAIL("cross_entropy: labels %s do not match logits %s", SHN(0, y->shape), SHN(1, s));
    if (n->nin > 2) {
      const Node *m = &g->nodes[n->in[2]];
      if (!shape_eq(&rows, &m->shape) || (m->dtype != DT_BOOL && m->dtype != t))
        FAIL("cross_entropy: mask must be bool or %s of shape %s, got %s%s", dtype_name(t), SHN(0, rows), dtype_name(m->dtype), SHN(1, m->shape));
    }
    s = shape_scalar();
    break;
  }
  case OP_CONV2D:
    goto conv;
  case OP_MAX_POOL: {
    int c1, c2;
    const int64_t *k = ir_attr_is(n, "kernel", &c1), *st = ir_attr_is(n, "stride", &c2);
    if (!is_num(t)) FAIL("max_pool: needs a number type, got %s", dtype_name(t));
    if (s.rank != 4) FAIL("max_pool: input %s must be 4-D (NCHW)", SHN(0, s));
    if (c1 != 2 || (c2 != 0 && c2 != 2)) FAIL("max_pool: kernel needs 2 entries and stride 0 or 2");
    if (!c2) st = k;
    if (k[0] < 1 || k[1] < 1 || st[0] < 1 || st[1] < 1) FAIL("max_pool: kernel and stride must be positive");
    int64_t oh = window_out(s.d[2], k[0], st[0], 0), ow = window_out(s.d[3], k[1], st[1], 0);
    if (oh < 0 || ow < 0) FAIL("max_pool: kernel is larger than the input %s", SHN(0, s));
    s.d[2] = oh;
    s.d[3] = ow;
    break;
  }
  case OP_UPSAMPLE: {
    int64_t sc = ir_attr_i(n, "scale");
    if (s.rank != 4) FAIL("upsample: input %s must be 4-D (NCHW)", SHN(0, s));
    if (sc < 1) FAIL("upsample: scale must be positive");
    if (__builtin_mul_overflow(s.d[2], sc, &s.d[2]) || __builtin_mul_overflow(s.d[3], sc, &s.d[3]))
      FAIL("upsample: scale %lld makes the result too large", (long long)sc);
    break;
  }
  case OP_PATCHIFY: {
    int64_t p = ir_attr_i(n, "patch");
    if (s.rank != 4) FAIL("patchify: input %s must be 4-D (NCHW)", SHN(0, s));
    if (p < 1 || s.d[2] % p || s.d[3] % p) FAIL("patchify: patch %lld does not divide the image %s", (long long)p, SHN(0, s));
    int64_t feat;
    if (__builtin_mul_overflow(s.d[1], p * p, &feat)) FAIL("patchify: patch %lld is too large", (long long)p);
    s = shape_of(3, (int64_t[]){s.d[0], (s.d[2] / p) * (s.d[3] / p), feat});
    break;
  }
  case OP_GUMBEL_SOFTMAX: {
    const Node *seed = &g->nodes[n->in[2]];
    int64_t ax = ir_attr_i(n, "axis");
    if (!is_flt(t)) FAIL("gumbel_softmax: needs f32 or f64, got %s", dtype_name(t));
    if (y->dtype != t || y->shape.rank != 0) FAIL("gumbel_softmax: temperature must be a %s scalar", dtype_name(t));
    if (seed->dtype != DT_I32 || seed->shape.rank != 0) FAIL("gumbel_softmax: seed must be an i32 scalar");
    if (ax < -s.rank || ax >= s.rank) FAIL("gumbel_softmax: axis %lld is out of range for shape %s", (long long)ax, SHN(0, s));
    break;
  }
  default:
    FAIL("internal error: no shape rule for op '%s'", nm);
  }

done:
  /* Bounding every extent and element count keeps all later index arithmetic (interpreter,
   * code generator, memory planner) far from int64 overflow. */
  for (int i = 0; i < s.rank; i++)
    if (s.d[i] > IR_MAX_EXTENT) FAIL("%s: extent %lld of the result is too large (the limit is 2^40)", nm, (long long)s.d[i]);
  if (shape_numel(&s) > IR_MAX_NUMEL) FAIL("%s: the result %s has too many elements (the limit is 2^48)", nm, SHN(0, s));
  *dtype = t;
  *shape = s;
  return 0;
}
