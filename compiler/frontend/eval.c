/* eval.c — evaluating expressions: numbers fold, tensors become IR nodes.
 *
 * Names resolve to (in order) local values, the scope's weights, the scope's parameters,
 * `index` (inside a repeat's `with:`), `batch`, and true/false. Arithmetic follows
 * Python on numbers (`/` is true division, `//` floors, `%` takes the divisor's sign)
 * and numpy on tensors (broadcasting; a number next to a tensor becomes a scalar
 * constant of the tensor's dtype). Calls are in call.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

SrcLoc fe_env_loc(const Env *e, size_t pos) {
  return fe_src_loc(e->src, pos);
}

static Value num(double v, int is_int) {
  return (Value){.k = V_NUM, .num = v, .is_int = is_int};
}

static Value tensor(int id) {
  return (Value){.k = V_TENSOR, .id = id};
}

const char *fe_value_kind(const Value *v) {
  switch (v->k) {
  case V_NUM: return "a number";
  case V_TENSOR: return "a tensor";
  case V_LIST: return "a list";
  case V_STR: return "a string";
  default: return "an unbound name";
  }
}

static int integral(double v) {
  return isfinite(v) && v == floor(v) && fabs(v) < 9.0e15;
}

int fe_as_int(Env *e, const Value *v, size_t pos, const char *what, int64_t *out) {
  if (v->k != V_NUM) return fe_err(e->c, fe_env_loc(e, pos), "%s must be an integer, got %s", what, fe_value_kind(v));
  if (!integral(v->num)) return fe_err(e->c, fe_env_loc(e, pos), "%s must be an integer, got %g", what, v->num);
  *out = (int64_t)v->num;
  return 0;
}

int fe_axis(Env *e, int64_t a, int r, size_t pos, int64_t *out) {
  if (a < -r || a >= r)
    return fe_err(e->c, fe_env_loc(e, pos), "axis %lld is out of range for a tensor of rank %d", (long long)a, r);
  *out = a < 0 ? a + r : a;
  return 0;
}

int fe_num_tensor(Env *e, Value v, DType t, size_t pos) {
  if (t == DT_I32 && !integral(v.num))
    return fe_err(e->c, fe_env_loc(e, pos), "cannot combine an i32 tensor with the non-integer number %g", v.num);
  if (t == DT_BOOL && v.num != 0 && v.num != 1)
    return fe_err(e->c, fe_env_loc(e, pos), "cannot combine a bool tensor with the number %g", v.num);
  return ir_const(e->c->g, t, shape_scalar(), v.num, fe_env_loc(e, pos), e->c->d);
}

/* ---- names ---- */

static GParam *global_param(FeCtx *c, const char *name) {
  for (int i = 0; i < c->nparams; i++)
    if (!strcmp(c->params[i].name, name)) return &c->params[i];
  return NULL;
}

int fe_eval_param(FeCtx *c, GParam *p) {
  if (p->state == 2) return 0;
  p->state = 1;
  Env e = {.c = c, .numeric = 1};
  Value v;
  if (fe_eval_number(&e, p->expr, &v)) return -1;
  p->v = v;
  p->state = 2;
  return 0;
}

/* The names an expression could have meant, for "did you mean". */
static const char *const *visible(Env *e, int *n) {
  int cap = 0, k = 0;
  const char **v = NULL;
  Scope *s = e->s;
  Table *ts[3] = {s && !e->numeric ? &s->vals : NULL, s && !e->numeric ? &s->weights : NULL,
                  s && s->mod ? &s->params : NULL};
  for (int t = 0; t < 3; t++)
    for (int i = 0; ts[t] && i < ts[t]->n; i++) {
      v = fe_grow(e->c, v, k, &cap, sizeof *v);
      v[k++] = ts[t]->b[i].name;
    }
  if (!s || !s->mod)
    for (int i = 0; i < e->c->nparams; i++) {
      v = fe_grow(e->c, v, k, &cap, sizeof *v);
      v[k++] = e->c->params[i].name;
    }
  v = fe_grow(e->c, v, k, &cap, sizeof *v);
  v[k++] = "batch";
  *n = k;
  return v;
}

/* 0 and *out set when `name` is bound; 1 when it is not (nothing reported); -1 after an
 * error while evaluating a parameter it names. */
static int lookup(Env *e, const char *name, size_t pos, Value *out) {
  Scope *s = e->s;
  Binding *b;
  if (s && !e->numeric && ((b = fe_table_find(&s->vals, name)) || (b = fe_table_find(&s->weights, name)))) {
    *out = b->v;
    return 0;
  }
  if (s && s->mod) {
    if ((b = fe_table_find(&s->params, name))) {
      *out = b->v;
      return 0;
    }
  } else {
    GParam *p = global_param(e->c, name);
    if (p) {
      if (p->state == 1 && p->expr != p->dflt && p->dstate != 1) {
        /* `-D dim=dim*2`: inside its override a parameter is its default */
        Env e2 = {.c = e->c, .numeric = 1};
        p->dstate = 1;
        int r = fe_eval_number(&e2, p->dflt, out);
        p->dstate = 2;
        return r;
      }
      if (p->state == 1) return fe_err(e->c, fe_env_loc(e, pos), "parameter '%s' depends on itself", name);
      if (fe_eval_param(e->c, p)) return -1;
      *out = p->v;
      return 0;
    }
  }
  if (e->has_index && !strcmp(name, "index")) {
    *out = num((double)e->index, 1);
    return 0;
  }
  if (!strcmp(name, "batch")) {
    *out = num((double)e->c->batch, 1);
    return 0;
  }
  if (!strcmp(name, "true") || !strcmp(name, "True")) {
    *out = num(1, 1);
    return 0;
  }
  if (!strcmp(name, "false") || !strcmp(name, "False")) {
    *out = num(0, 1);
    return 0;
  }
  return 1;
}

int fe_lookup(Env *e, const Expr *x, Value *out) {
  int r = lookup(e, x->name, x->pos, out);
  if (r <= 0) return r;
  int n;
  const char *const *cands = visible(e, &n);
  const char *hint = fe_suggest(e->c, x->name, cands, n);
  if (e->numeric) return fe_err(e->c, fe_env_loc(e, x->pos), "undefined parameter '%s'%s", x->name, hint);
  return fe_err(e->c, fe_env_loc(e, x->pos), "unknown name '%s'%s", x->name, hint);
}

/* Quiet lookup for call arguments that may be bare names (dtypes, strings). */
int fe_lookup_quiet(Env *e, const Expr *x, Value *out) {
  int r = lookup(e, x->name, x->pos, out);
  if (r == 1) *out = (Value){.k = V_NAME, .s = x->name};
  return r < 0 ? -1 : 0;
}

/* ---- arithmetic ---- */

static const char *op_text(BinOp op) {
  static const char *const t[] = {"+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!="};
  return t[op];
}

static int fold(Env *e, BinOp op, Value a, Value b, size_t pos, Value *out) {
  double x = a.num, y = b.num;
  int ints = a.is_int && b.is_int;
  if ((op == B_DIV || op == B_FLOORDIV || op == B_MOD) && y == 0)
    return fe_err(e->c, fe_env_loc(e, pos), "division by zero");
  switch (op) {
  case B_ADD: *out = num(x + y, ints); break;
  case B_SUB: *out = num(x - y, ints); break;
  case B_MUL: *out = num(x * y, ints); break;
  case B_DIV: *out = num(x / y, 0); break;
  case B_FLOORDIV: *out = num(floor(x / y), ints); break;
  case B_MOD: *out = num(x - floor(x / y) * y, ints); break;
  case B_POW:
    if (x == 0 && y < 0) return fe_err(e->c, fe_env_loc(e, pos), "division by zero (0 to a negative power)");
    *out = num(pow(x, y), ints && y >= 0);
    break;
  case B_LT: *out = num(x < y, 1); break;
  case B_LE: *out = num(x <= y, 1); break;
  case B_GT: *out = num(x > y, 1); break;
  case B_GE: *out = num(x >= y, 1); break;
  case B_EQ: *out = num(x == y, 1); break;
  case B_NE: *out = num(x != y, 1); break;
  }
  if (out->k == V_NUM && !isfinite(out->num))
    return fe_err(e->c, fe_env_loc(e, pos), "'%s' gives a number that is not finite", op_text(op));
  return 0;
}

int fe_binary(Env *e, BinOp op, Value a, Value b, size_t pos, Value *out) {
  if (a.k == V_NUM && b.k == V_NUM) return fold(e, op, a, b, pos, out);
  const Value *bad = a.k != V_NUM && a.k != V_TENSOR ? &a : b.k != V_NUM && b.k != V_TENSOR ? &b : NULL;
  if (bad)
    return fe_err(e->c, fe_env_loc(e, pos), "operator '%s' needs numbers or tensors, got %s", op_text(op),
                  fe_value_kind(bad));
  Graph *g = e->c->g;
  Diag *d = e->c->d;
  SrcLoc loc = fe_env_loc(e, pos);
  DType t = g->nodes[a.k == V_TENSOR ? a.id : b.id].dtype;
  int x = a.k == V_TENSOR ? a.id : fe_num_tensor(e, a, t, pos);
  int y = b.k == V_TENSOR ? b.id : fe_num_tensor(e, b, t, pos);
  if (x < 0 || y < 0) return -1;
  int r;
  switch (op) {
  case B_ADD: r = ir_binary_bc(g, OP_ADD, x, y, loc, d); break;
  case B_SUB: r = ir_binary_bc(g, OP_SUB, x, y, loc, d); break;
  case B_MUL: r = ir_binary_bc(g, OP_MUL, x, y, loc, d); break;
  case B_DIV: r = ir_binary_bc(g, OP_DIV, x, y, loc, d); break;
  case B_POW: r = ir_binary_bc(g, OP_POW, x, y, loc, d); break;
  case B_LT: r = ir_binary_bc(g, OP_LT, x, y, loc, d); break;
  case B_LE: r = ir_binary_bc(g, OP_LE, x, y, loc, d); break;
  case B_GT: r = ir_binary_bc(g, OP_LT, y, x, loc, d); break;
  case B_GE: r = ir_binary_bc(g, OP_LE, y, x, loc, d); break;
  case B_EQ: r = ir_binary_bc(g, OP_EQ, x, y, loc, d); break;
  case B_NE: r = ir_unary(g, OP_NOT, ir_binary_bc(g, OP_EQ, x, y, loc, d), loc, d); break;
  case B_FLOORDIV:
  case B_MOD: {
    /* floor(x / y) and x - floor(x / y) * y: defined for floats only, since the IR's
       integer division truncates */
    if (t != DT_F32 && t != DT_F64)
      return fe_err(e->c, loc, "operator '%s' on tensors needs f32 or f64, got %s", op_text(op), dtype_name(t));
    int q = ir_unary(g, OP_FLOOR, ir_binary_bc(g, OP_DIV, x, y, loc, d), loc, d);
    r = op == B_FLOORDIV ? q : ir_binary_bc(g, OP_SUB, x, ir_binary_bc(g, OP_MUL, q, y, loc, d), loc, d);
    break;
  }
  default: r = -1;
  }
  if (r < 0) return -1;
  *out = tensor(r);
  return 0;
}

/* ---- indexing ---- */

static int sub_int(Env *e, const Expr *x, const char *what, int64_t *out) {
  Value v;
  if (fe_eval(e, x, &v)) return -1;
  if (v.k == V_TENSOR)
    return fe_err(e->c, fe_env_loc(e, x->pos), "indexing with a tensor is not supported; use gather(x, idx, axis=...)");
  return fe_as_int(e, &v, x->pos, what, out);
}

/* x[s0, s1, ...]: slices keep an axis, integers drop it, `...` stands for the axes not
 * named. Python semantics: negative positions count from the end, slice bounds clamp. */
static int subscript(Env *e, const Expr *x, Value *out) {
  Value base;
  if (fe_eval(e, x->args[0], &base)) return -1;
  if (base.k != V_TENSOR)
    return fe_err(e->c, fe_env_loc(e, x->pos), "only tensors can be indexed, got %s", fe_value_kind(&base));
  Graph *g = e->c->g;
  Shape s = g->nodes[base.id].shape;
  int r = s.rank, nsub = x->nargs - 1, nell = 0;
  for (int i = 1; i < x->nargs; i++) nell += x->args[i]->kind == EX_ELLIPSIS;
  if (nell > 1) return fe_err(e->c, fe_env_loc(e, x->pos), "an index can contain only one '...'");
  if (nsub - nell > r)
    return fe_err(e->c, fe_env_loc(e, x->pos), "too many indices (%d) for a tensor of rank %d", nsub - nell, r);
  int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], sp[IR_MAX_RANK];
  int drop[IR_MAX_RANK] = {0}, ident = 1, ax = 0;
  for (int i = 0; i < r; i++) st[i] = 0, en[i] = s.d[i], sp[i] = 1;
  for (int i = 1; i < x->nargs; i++) {
    const Expr *sub = x->args[i];
    if (sub->kind == EX_ELLIPSIS) {
      ax += r - (nsub - nell);
      continue;
    }
    int64_t dim = s.d[ax];
    if (sub->kind == EX_SLICE) {
      int64_t lo = 0, hi = dim, step = 1;
      if (sub->args[2] && sub_int(e, sub->args[2], "a slice step", &step)) return -1;
      if (step < 1)
        return fe_err(e->c, fe_env_loc(e, sub->args[2]->pos), "slice step must be positive, got %lld", (long long)step);
      if (sub->args[0] && sub_int(e, sub->args[0], "a slice start", &lo)) return -1;
      if (sub->args[1] && sub_int(e, sub->args[1], "a slice end", &hi)) return -1;
      if (lo < 0) lo += dim;
      if (hi < 0) hi += dim;
      lo = lo < 0 ? 0 : lo > dim ? dim : lo;
      hi = hi < lo ? lo : hi > dim ? dim : hi;
      st[ax] = lo, en[ax] = hi, sp[ax] = step;
    } else {
      int64_t k;
      if (sub_int(e, sub, "an index", &k)) return -1;
      if (k < -dim || k >= dim)
        return fe_err(e->c, fe_env_loc(e, sub->pos), "index %lld is out of range for axis %d of size %lld",
                      (long long)k, ax, (long long)dim);
      if (k < 0) k += dim;
      st[ax] = k, en[ax] = k + 1, drop[ax] = 1;
    }
    ident &= st[ax] == 0 && en[ax] == dim && sp[ax] == 1;
    ax++;
  }
  SrcLoc loc = fe_env_loc(e, x->pos);
  int id = base.id;
  if (!ident && (id = ir_slice(g, id, st, en, sp, loc, e->c->d)) < 0) return -1;
  Shape o = {0};
  for (int i = 0; i < r; i++)
    if (!drop[i]) o.d[o.rank++] = g->nodes[id].shape.d[i];
  if (o.rank != r && (id = ir_reshape(g, id, o, loc, e->c->d)) < 0) return -1;
  *out = tensor(id);
  return 0;
}

/* ---- expressions ---- */

int fe_eval(Env *e, const Expr *x, Value *out) {
  switch (x->kind) {
  case EX_NUM: *out = num(x->num, x->is_int); return 0;
  case EX_STR: *out = (Value){.k = V_STR, .s = x->name}; return 0;
  case EX_NAME: return fe_lookup(e, x, out);
  case EX_CALL: return fe_call(e, x, out);
  case EX_LIST: {
    Value *items = arena_alloc(e->c->tmp, sizeof(Value) * (size_t)(x->nargs + 1));
    for (int i = 0; i < x->nargs; i++)
      if (fe_eval(e, x->args[i], &items[i])) return -1;
    *out = (Value){.k = V_LIST, .items = items, .n = x->nargs};
    return 0;
  }
  case EX_NEG: {
    Value a;
    if (fe_eval(e, x->args[0], &a)) return -1;
    if (a.k == V_NUM) {
      *out = num(-a.num, a.is_int);
      return 0;
    }
    if (a.k != V_TENSOR) return fe_err(e->c, fe_env_loc(e, x->pos), "cannot negate %s", fe_value_kind(&a));
    int id = ir_unary(e->c->g, OP_NEG, a.id, fe_env_loc(e, x->pos), e->c->d);
    if (id < 0) return -1;
    *out = tensor(id);
    return 0;
  }
  case EX_BIN: {
    Value a, b;
    if (fe_eval(e, x->args[0], &a) || fe_eval(e, x->args[1], &b)) return -1;
    return fe_binary(e, x->op, a, b, x->pos, out);
  }
  case EX_INDEX: return subscript(e, x, out);
  default:
    return fe_err(e->c, fe_env_loc(e, x->pos), "'%s' can only appear inside [...]",
                  x->kind == EX_ELLIPSIS ? "..." : ":");
  }
}

int fe_eval_number(Env *e, const YNode *n, Value *out) {
  if (n->kind != YN_SCALAR || fe_is_null(n))
    return fe_err(e->c, fe_loc(n), "expected a number or an expression, found %s", fe_kind_name(n));
  Src src = {n};
  Env e2 = *e;
  e2.src = &src;
  Expr *x = fe_parse_expr(e->c, &src);
  if (!x || fe_eval(&e2, x, out)) return -1;
  if (out->k != V_NUM) return fe_err(e->c, fe_src_loc(&src, x->pos), "expected a number, got %s", fe_value_kind(out));
  return 0;
}
