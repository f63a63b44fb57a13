/* call.c — function calls in expressions, and the argument helpers builtins.c shares.
 *
 * Any op of the op table can be called by its name: positional arguments fill the op's
 * tensor inputs in table order (required ones first; an optional input takes an argument
 * only when it is a tensor) and then its attributes in table order; keyword arguments
 * name attributes. A builtin (builtins.c) of the same name takes precedence; math ops
 * fold on a number. docs/models.md lists them all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

#define LOC(pos) fe_env_loc(e, pos)
#define ERR(pos, ...) fe_err(e->c, LOC(pos), __VA_ARGS__)

static Value tensor(int id) {
  return (Value){.k = V_TENSOR, .id = id};
}

static const Node *nd(Env *e, int id) {
  return &e->c->g->nodes[id];
}

/* An unbound bare name where a value is needed is an unknown name after all. */
int fe_resolve(Env *e, const Expr *x, Value *v) {
  return v->k == V_NAME ? fe_lookup(e, x, v) : 0;
}

static int eval_arg(Env *e, const Expr *x, Value *v) {
  return x->kind == EX_NAME ? fe_lookup_quiet(e, x, v) : fe_eval(e, x, v);
}

int fe_kw_find(const Args *a, const char *name) {
  for (int k = 0; k < a->x->nkw; k++)
    if (!strcmp(a->x->kw[k], name)) return k;
  return -1;
}

/* ---- argument helpers (shared with builtins.c) ---- */

int fe_arg_tensor(Env *e, Args *a, int i, int *id) {
  Value *v = &a->pos[i];
  if (fe_resolve(e, a->x->args[i], v)) return -1;
  if (v->k != V_TENSOR)
    return ERR(a->x->args[i]->pos, "argument %d of %s must be a tensor, got %s", i + 1, a->sig, fe_value_kind(v));
  *id = v->id;
  return 0;
}

/* Positional i, else keyword `name`; *x gets the expression (for locations). NULL v when
 * neither is given. */
Value *fe_arg_get(Args *a, int i, const char *name, const Expr **x) {
  if (i >= 0 && i < a->npos) {
    *x = a->x->args[i];
    return &a->pos[i];
  }
  int k = name ? fe_kw_find(a, name) : -1;
  if (k < 0) return NULL;
  *x = a->x->kwval[k];
  return &a->kw[k];
}

int fe_int_arg(Env *e, const Expr *x, Value *v, const char *what, int64_t *out) {
  if (fe_resolve(e, x, v)) return -1;
  return fe_as_int(e, v, x->pos, what, out);
}

/* A number or a list of integers. */
int fe_ints_arg(Env *e, const Expr *x, Value *v, const char *what, int64_t *out, int *n, int max) {
  if (fe_resolve(e, x, v)) return -1;
  if (v->k == V_NUM) {
    *n = 1;
    return fe_as_int(e, v, x->pos, what, out);
  }
  if (v->k != V_LIST) return ERR(x->pos, "%s must be an integer or a list of integers, got %s", what, fe_value_kind(v));
  if (v->n > max) return ERR(x->pos, "%s has %d entries, at most %d are allowed", what, v->n, max);
  for (int i = 0; i < v->n; i++) {
    const Expr *ix = x->kind == EX_LIST ? x->args[i] : x;
    if (fe_as_int(e, &v->items[i], ix->pos, what, &out[i])) return -1;
  }
  *n = v->n;
  return 0;
}

int fe_done(Value *out, int id) {
  if (id < 0) return -1;
  *out = tensor(id);
  return 0;
}

/* ---- generic op calls ---- */

static const char *signature(FeCtx *c, OpKind op) {
  const OpInfo *info = op_info(op);
  char buf[256];
  size_t at = (size_t)snprintf(buf, sizeof buf, "%s(", info->name);
  for (int i = 0; i < info->nin_names && at < sizeof buf; i++)
    at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s%s", i ? ", " : "", info->in_names[i],
                           info->nin_max < 0    ? ", ..."
                           : i >= info->nin_min ? "?"
                                                : "");
  for (int i = 0; i < info->nattr && at < sizeof buf; i++)
    at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s=%s", at > strlen(info->name) + 1 ? ", " : "",
                           info->attr[i].name, info->attr[i].dflt ? info->attr[i].dflt : "");
  if (at < sizeof buf) snprintf(buf + at, sizeof buf - at, ")");
  return arena_strdup(c->tmp, buf);
}

static const char *kind_text(AttrKind k) {
  static const char *const t[] = {
      "an integer", "a number", "an integer or a list of integers", "a number or a list of numbers",
      "a name",     "a dtype"};
  return t[k];
}

/* How many entries a single number stands for in a list attribute. */
static int repeat_count(OpKind op, int rank) {
  if (op == OP_CONV || op == OP_CONV2D || op == OP_MAX_POOL) return 2; /* both spatial axes */
  if (op == OP_SLICE || op == OP_PAD) return rank;                     /* every axis */
  return 1;
}

static int to_attr(Env *e, OpKind op, const AttrSpec *sp, const Expr *x, Value *v, int rank, Attr *out) {
  const char *what = arena_printf(e->c->tmp, "argument '%s' of %s", sp->name, op_info(op)->name);
  if (sp->kind != AK_STR && sp->kind != AK_DTYPE && fe_resolve(e, x, v)) return -1;
  switch (sp->kind) {
  case AK_INT: {
    int64_t i;
    if (fe_as_int(e, v, x->pos, what, &i)) return -1;
    *out = ATTR_I(sp->name, i);
    return 0;
  }
  case AK_FLOAT:
    if (v->k != V_NUM) break;
    *out = ATTR_F(sp->name, v->num);
    return 0;
  case AK_INTS: {
    int n = v->k == V_NUM ? repeat_count(op, rank) : v->k == V_LIST ? v->n : -1;
    if (n < 0) break;
    int64_t *is = arena_alloc(e->c->tmp, sizeof(int64_t) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
      const Value *item = v->k == V_NUM ? v : &v->items[i];
      const Expr *ix = v->k == V_LIST && x->kind == EX_LIST ? x->args[i] : x;
      if (fe_as_int(e, item, ix->pos, what, &is[i])) return -1;
    }
    *out = ATTR_IS(sp->name, is, n);
    return 0;
  }
  case AK_FLOATS: {
    int n = v->k == V_NUM ? 1 : v->k == V_LIST ? v->n : -1;
    if (n < 0) break;
    double *fs = arena_alloc(e->c->tmp, sizeof(double) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
      const Value *item = v->k == V_NUM ? v : &v->items[i];
      if (item->k != V_NUM) return ERR(x->pos, "%s must be a list of numbers", what);
      fs[i] = item->num;
    }
    *out = ATTR_FS(sp->name, fs, n);
    return 0;
  }
  case AK_STR:
    if (v->k != V_STR && v->k != V_NAME) break;
    *out = ATTR_S(sp->name, v->s);
    return 0;
  case AK_DTYPE: {
    DType t;
    if ((v->k != V_STR && v->k != V_NAME) || dtype_parse(v->s, &t) || !dtype_in_ir(t))
      return ERR(x->pos, "unknown dtype '%s' (expected f32, f64, i32 or bool)",
                 v->k == V_STR || v->k == V_NAME ? v->s : fe_value_kind(v));
    *out = ATTR_DT(sp->name, t);
    return 0;
  }
  }
  return ERR(x->pos, "%s must be %s, got %s", what, kind_text(sp->kind), fe_value_kind(v));
}

/* Negative axes count from the end; reduction axes are sorted. */
static int normalize_axes(Env *e, OpKind op, Attr *at, const Expr *x, int rank) {
  if (!strcmp(at->key, "axis") && at->kind == AK_INT) return fe_axis(e, at->v.i, rank, x->pos, (int64_t *)&at->v.i);
  if ((!strcmp(at->key, "axes") || !strcmp(at->key, "perm")) && at->kind == AK_INTS) {
    int64_t *is = (int64_t *)at->v.is;
    for (int i = 0; i < at->n; i++) {
      size_t pos = x->kind == EX_LIST && i < x->nargs ? x->args[i]->pos : x->pos;
      if (fe_axis(e, is[i], rank, pos, &is[i])) return -1;
      if (op == OP_PERMUTE) continue;
      for (int j = i; j > 0 && is[j - 1] >= is[j]; j--) {
        if (is[j - 1] == is[j]) return ERR(pos, "axis %lld is given twice", (long long)is[j]);
        int64_t t = is[j];
        is[j] = is[j - 1], is[j - 1] = t;
      }
    }
  }
  return 0;
}

static int call_op(Env *e, Args *a, OpKind op, Value *out) {
  const OpInfo *info = op_info(op);
  const Expr *x = a->x;
  a->sig = signature(e->c, op);
  if (info->cls == OPC_SOURCE)
    return ERR(x->pos,
               "'%s' cannot be called: declare graph inputs under 'inputs:' and weights under "
               "'weights:'; make constants with full() or iota()",
               info->name);
  int variadic = info->nin_max < 0, nin = 0;
  Value **ins = arena_alloc(e->c->tmp, sizeof(Value *) * (size_t)(a->npos + 1));
  const Expr **inx = arena_alloc(e->c->tmp, sizeof(Expr *) * (size_t)(a->npos + 1));
  Value *av[OP_MAX_ATTRS] = {0};
  const Expr *ax[OP_MAX_ATTRS] = {0};
  for (int i = 0; i < a->npos; i++) {
    Value *v = &a->pos[i];
    if (variadic || i < info->nin_min || (i < info->nin_max && v->k == V_TENSOR)) {
      ins[nin] = v, inx[nin++] = x->args[i];
      continue;
    }
    int k = i - nin;
    if (k >= info->nattr) return ERR(x->args[i]->pos, "too many arguments for %s (got %d)", a->sig, a->npos);
    av[k] = v, ax[k] = x->args[i];
  }
  for (int j = 0; j < x->nkw; j++) {
    int k = 0;
    while (k < info->nattr && strcmp(info->attr[k].name, x->kw[j])) k++;
    if (k == info->nattr) return ERR(x->kwpos[j], "%s has no argument '%s'", a->sig, x->kw[j]);
    if (av[k]) return ERR(x->kwpos[j], "argument '%s' of %s is given twice", x->kw[j], a->sig);
    av[k] = &a->kw[j], ax[k] = x->kwval[j];
  }
  if (nin < info->nin_min)
    return ERR(x->pos, "missing input '%s' of %s", info->in_names[nin < info->nin_names ? nin : 0], a->sig);
  /* inputs: numbers become scalar constants (elementwise ops: of the other operand's
     dtype; index-like inputs: i32; otherwise the first input's float dtype, else f32) */
  int elementwise = info->cls == OPC_BINARY || info->cls == OPC_SELECT;
  DType first = DT_F32;
  for (int i = 0; i < nin; i++) {
    if (fe_resolve(e, inx[i], ins[i])) return -1;
    if (ins[i]->k != V_TENSOR && ins[i]->k != V_NUM)
      return ERR(inx[i]->pos, "input '%s' of %s must be a tensor, got %s",
                 info->in_names[i < info->nin_names ? i : info->nin_names - 1], a->sig, fe_value_kind(ins[i]));
  }
  for (int i = nin - 1; i >= (info->cls == OPC_SELECT); i--) /* where: not the condition's dtype */
    if (ins[i]->k == V_TENSOR && (elementwise || i == 0)) first = nd(e, ins[i]->id)->dtype;
  if (info->cls == OPC_BINARY && nin == 2 && ins[0]->k == V_NUM && ins[1]->k == V_NUM)
    return ERR(x->pos, "%s needs at least one tensor; use an operator on numbers", a->sig);
  int *in = arena_alloc(e->c->tmp, sizeof(int) * (size_t)(nin + 1));
  for (int i = 0; i < nin; i++) {
    if (ins[i]->k == V_TENSOR) {
      in[i] = ins[i]->id;
      continue;
    }
    const char *nm = info->in_names[i < info->nin_names ? i : info->nin_names - 1];
    DType t = !elementwise && (!strcmp(nm, "seed") || !strcmp(nm, "idx") || !strcmp(nm, "labels")) ? DT_I32
              : elementwise || first == DT_F64                                                     ? first
                                                                                                   : DT_F32;
    if ((in[i] = fe_num_tensor(e, *ins[i], t, inx[i]->pos)) < 0) return -1;
  }
  int rank = nin ? nd(e, in[0])->shape.rank : 0;
  if (op == OP_SCATTER_ADD && nin == 2) rank = rank - nd(e, in[1])->shape.rank + 1;
  Attr at[OP_MAX_ATTRS];
  int nat = 0;
  for (int k = 0; k < info->nattr; k++) {
    if (!av[k]) {
      if (!info->attr[k].dflt) return ERR(x->pos, "missing argument '%s=' of %s", info->attr[k].name, a->sig);
      continue;
    }
    if (to_attr(e, op, &info->attr[k], ax[k], av[k], rank, &at[nat]) || normalize_axes(e, op, &at[nat], ax[k], rank))
      return -1;
    nat++;
  }
  Graph *g = e->c->g;
  SrcLoc loc = LOC(x->pos);
  if (info->cls == OPC_BINARY) return fe_done(out, ir_binary_bc(g, op, in[0], in[1], loc, e->c->d));
  if (info->cls == OPC_SELECT) return fe_done(out, ir_where(g, in[0], in[1], in[2], loc, e->c->d));
  return fe_done(out, ir_op(g, op, in, nin, at, nat, loc, e->c->d));
}

/* ---- dispatch ---- */

const char *const *fe_callables(FeCtx *c, int *n) {
  int nb = 0;
  while (fe_builtin_name(nb)) nb++;
  const char **v = arena_alloc(c->tmp, sizeof(char *) * (size_t)(nb + OP_COUNT + 1));
  int k = 0;
  for (int i = 0; i < nb; i++) v[k++] = fe_builtin_name(i);
  for (int op = 0; op < OP_COUNT; op++)
    if (op_info((OpKind)op)->cls != OPC_SOURCE) v[k++] = op_info((OpKind)op)->name;
  *n = k;
  return v;
}

int fe_call(Env *e, const Expr *x, Value *out) {
  const Builtin *cv = fe_builtin(x->name);
  OpKind op = OP_COUNT;
  if (!cv && op_lookup(x->name, &op)) {
    for (int i = 0; i < e->c->nmods; i++)
      if (!strcmp(e->c->mods[i].name, x->name))
        return ERR(x->pos, "'%s' is a module: instantiate it with a 'call:' statement", x->name);
    int n;
    const char *const *names = fe_callables(e->c, &n);
    return ERR(x->pos, "unknown op '%s'%s", x->name, fe_suggest(e->c, x->name, names, n));
  }
  Args a = {.x = x, .npos = x->nargs};
  a.pos = arena_alloc(e->c->tmp, sizeof(Value) * (size_t)(x->nargs + 1));
  a.kw = arena_alloc(e->c->tmp, sizeof(Value) * (size_t)(x->nkw + 1));
  for (int i = 0; i < x->nargs; i++)
    if (eval_arg(e, x->args[i], &a.pos[i])) return -1;
  for (int k = 0; k < x->nkw; k++)
    if (eval_arg(e, x->kwval[k], &a.kw[k])) return -1;
  if (!cv) {
    if (fe_math_op(x->name) && x->nargs == 1 && !x->nkw && a.pos[0].k == V_NUM) {
      a.sig = x->name;
      return fe_fold_math(e, &a, out);
    }
    return call_op(e, &a, op, out);
  }
  a.sig = cv->sig;
  if (x->nargs < cv->pmin)
    return ERR(x->pos, "%s needs %d positional argument%s, got %d", cv->sig, cv->pmin, cv->pmin == 1 ? "" : "s",
               x->nargs);
  if (cv->pmax >= 0 && x->nargs > cv->pmax)
    return ERR(x->args[cv->pmax]->pos, "too many arguments for %s (got %d)", cv->sig, x->nargs);
  for (int k = 0; k < x->nkw; k++) {
    int ok = 0;
    for (int j = 0; j < 4 && cv->kws[j]; j++) ok |= !strcmp(cv->kws[j], x->kw[k]);
    if (!ok) return ERR(x->kwpos[k], "%s has no argument '%s'", cv->sig, x->kw[k]);
  }
  return cv->fn(e, &a, out);
}
