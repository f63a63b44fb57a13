/* lower.c — the model's inputs, weights, modules and body into graph IR.
 *
 * A scope is the top level or one module instance: its local values, its weights (by
 * local name) and its parameters. Instances are expanded inline: `call:` makes one with
 * the weight prefix `<as>.`, `repeat:` makes `times` of them with `<as>.<i>.`; prefixes
 * compose through nesting. A repeat re-evaluates its `args:` before each iteration and
 * binds `out:` after it, so `args: [x], out: [x]` chains the instances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

static const char *const module_keys[] = {"params", "inputs", "weights", "body", "outputs"};
static const char *const stmt_keys[] = {"module", "as", "times", "args", "out", "with"};
static const char *const weight_keys[] = {"shape", "init", "dtype"};
static const char *const input_keys[] = {"shape", "dtype"};

/* ---- tables ---- */

Binding *fe_table_find(Table *t, const char *name) {
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->b[i].name, name)) return &t->b[i];
  return NULL;
}

void fe_table_set(FeCtx *c, Table *t, const char *name, Value v) {
  Binding *b = fe_table_find(t, name);
  if (!b) {
    t->b = fe_grow(c, t->b, t->n, &t->cap, sizeof(Binding));
    b = &t->b[t->n++];
    b->name = name;
  }
  b->v = v;
}

/* ---- small checks ---- */

/* Every key of map m must be one of keys[0..n); `what` names the map in the message. */
static int check_keys(FeCtx *c, const YNode *m, const char *const *keys, int n, const char *what) {
  for (int i = 0; i < m->n; i++) {
    int ok = 0;
    for (int k = 0; k < n; k++) ok |= !strcmp(m->keys[i]->str, keys[k]);
    if (ok) continue;
    char list[256];
    size_t at = 0;
    for (int k = 0; k < n && at < sizeof list; k++)
      at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", k ? (k == n - 1 ? " or " : ", ") : "", keys[k]);
    return fe_err(c, fe_loc(m->keys[i]), "unknown key '%s' in %s (expected %s)", m->keys[i]->str, what, list);
  }
  return 0;
}

static int need_kind(FeCtx *c, const YNode *n, YKind k, const char *what) {
  static const char *const names[] = {"a scalar", "a sequence", "a mapping"};
  if (n->kind == k && !(k == YN_SCALAR && fe_is_null(n))) return 0;
  return fe_err(c, fe_loc(n), "%s must be %s, found %s", what, names[k], fe_kind_name(n));
}

static int need_ident(FeCtx *c, const YNode *n, const char *what) {
  if (need_kind(c, n, YN_SCALAR, what)) return -1;
  if (!fe_is_ident(n->str))
    return fe_err(c, fe_loc(n), "%s must be a name (letters, digits, '_' and '.'), got '%s'", what, n->str);
  return 0;
}

/* A sequence of names, or one name written as a scalar. */
static int name_list(FeCtx *c, const YNode *n, const char *what, const YNode ***items, int *count) {
  if (n->kind == YN_SCALAR) {
    *items = arena_alloc(c->tmp, sizeof(YNode *));
    (*items)[0] = n;
    *count = 1;
  } else if (n->kind == YN_SEQ) {
    *items = (const YNode **)n->items;
    *count = n->n;
  } else {
    return fe_err(c, fe_loc(n), "%s must be a list of names, found %s", what, fe_kind_name(n));
  }
  for (int i = 0; i < *count; i++) {
    if (need_ident(c, (*items)[i], what)) return -1;
    for (int j = 0; j < i; j++)
      if (!strcmp((*items)[i]->str, (*items)[j]->str))
        return fe_err(c, fe_loc((*items)[i]), "'%s' appears twice in %s", (*items)[i]->str, what);
  }
  return 0;
}

static Module *find_module(FeCtx *c, const char *name) {
  for (int i = 0; i < c->nmods; i++)
    if (!strcmp(c->mods[i].name, name)) return &c->mods[i];
  return NULL;
}

/* ---- statements ---- */

static int parse_stmt(FeCtx *c, const YNode *n, Stmt *st) {
  memset(st, 0, sizeof *st);
  st->node = n;
  if (n->kind == YN_SCALAR && !fe_is_null(n)) {
    st->kind = ST_ASSIGN;
    Src src = {n};
    return fe_parse_assign(c, &src, &st->target, &st->target_pos, &st->expr);
  }
  if (n->kind != YN_MAP || n->n != 1)
    return fe_err(c, fe_loc(n), "a body statement is 'name = expression', 'call: {...}' or 'repeat: {...}', found %s",
                  n->kind == YN_MAP ? "a mapping with several keys" : fe_kind_name(n));
  const char *k = n->keys[0]->str;
  st->node = n->keys[0];
  if (!strcmp(k, "call"))
    st->kind = ST_CALL;
  else if (!strcmp(k, "repeat"))
    st->kind = ST_REPEAT;
  else if (strchr(k, '='))
    return fe_err(c, fe_loc(n->keys[0]),
                  "YAML read this statement as a mapping because it contains ': ' (a colon "
                  "and a space): drop the space or quote the statement");
  else
    return fe_err(c, fe_loc(n->keys[0]), "unknown statement '%s' (expected call or repeat)", k);
  const YNode *m = n->items[0];
  if (need_kind(c, m, YN_MAP, k) || check_keys(c, m, stmt_keys, 6, k)) return -1;
  st->module = fe_map_get(m, "module");
  st->as = fe_map_get(m, "as");
  st->times = fe_map_get(m, "times");
  st->args = fe_map_get(m, "args");
  st->out = fe_map_get(m, "out");
  st->with = fe_map_get(m, "with");
  if (!st->module) return fe_err(c, fe_loc(st->node), "%s needs 'module:'", k);
  if (need_ident(c, st->module, "module")) return -1;
  if (st->as && need_ident(c, st->as, "as")) return -1;
  if (st->kind == ST_REPEAT && !st->as)
    return fe_err(c, fe_loc(st->node), "repeat needs 'as:' (the weight prefix, e.g. as: blocks)");
  if (st->kind == ST_REPEAT && !st->times) return fe_err(c, fe_loc(st->node), "repeat needs 'times:'");
  if (st->kind == ST_CALL && st->times)
    return fe_err(c, fe_loc(st->times), "'times:' belongs to repeat; a call makes one instance");
  if (st->with && need_kind(c, st->with, YN_MAP, "with")) return -1;
  return 0;
}

static int parse_body(FeCtx *c, const YNode *n, Stmt **out, int *count) {
  *out = NULL;
  *count = 0;
  if (!n || fe_is_null(n)) return 0;
  if (need_kind(c, n, YN_SEQ, "body")) return -1;
  *out = arena_alloc(c->tmp, sizeof(Stmt) * (size_t)(n->n + 1));
  for (int i = 0; i < n->n; i++)
    if (parse_stmt(c, n->items[i], &(*out)[i])) return -1;
  *count = n->n;
  return 0;
}

int fe_parse_module(FeCtx *c, const char *name, const YNode *def, Module *m) {
  memset(m, 0, sizeof *m);
  m->name = name;
  m->def = def;
  if (need_kind(c, def, YN_MAP, arena_printf(c->tmp, "module '%s'", name)) ||
      check_keys(c, def, module_keys, 5, arena_printf(c->tmp, "module '%s'", name)))
    return -1;
  const YNode *p = fe_map_get(def, "params"), *in = fe_map_get(def, "inputs"), *w = fe_map_get(def, "weights");
  if (p && !fe_is_null(p)) {
    if (name_list(c, p, "module params", &m->param_nodes, &m->nparams)) return -1;
    m->params = arena_alloc(c->tmp, sizeof(char *) * (size_t)(m->nparams + 1));
    for (int i = 0; i < m->nparams; i++) {
      m->params[i] = m->param_nodes[i]->str;
      if (!strcmp(m->params[i], "batch") || !strcmp(m->params[i], "index"))
        return fe_err(c, fe_loc(m->param_nodes[i]), "'%s' is reserved and cannot be a parameter", m->params[i]);
    }
  }
  if (in && !fe_is_null(in)) {
    if (name_list(c, in, "module inputs", &m->input_nodes, &m->ninputs)) return -1;
    m->inputs = arena_alloc(c->tmp, sizeof(char *) * (size_t)(m->ninputs + 1));
    for (int i = 0; i < m->ninputs; i++) m->inputs[i] = m->input_nodes[i]->str;
  }
  if (w && !fe_is_null(w)) {
    if (need_kind(c, w, YN_MAP, "weights")) return -1;
    m->weights = w;
  }
  const YNode *o = fe_map_get(def, "outputs");
  if (o && !fe_is_null(o) && name_list(c, o, "module outputs", &m->outputs, &m->noutputs)) return -1;
  return parse_body(c, fe_map_get(def, "body"), &m->body, &m->nbody);
}

/* ---- shapes, dtypes, initializers ---- */

static int eval_shape(Env *e, const YNode *n, Shape *s) {
  if (need_kind(e->c, n, YN_SEQ, "shape")) return -1;
  if (n->n > IR_MAX_RANK) return fe_err(e->c, fe_loc(n), "rank %d is more than %d", n->n, IR_MAX_RANK);
  s->rank = n->n;
  for (int i = 0; i < n->n; i++) {
    Value v;
    if (fe_eval_number(e, n->items[i], &v)) return -1;
    if (v.num < 0 || v.num != floor(v.num) || v.num > 1e15)
      return fe_err(e->c, fe_loc(n->items[i]), "shape extents must be non-negative integers, got %g", v.num);
    s->d[i] = (int64_t)v.num;
  }
  return 0;
}

static int parse_dtype(FeCtx *c, const YNode *n, DType *t) {
  if (need_kind(c, n, YN_SCALAR, "dtype")) return -1;
  if (dtype_parse(n->str, t) || !dtype_in_ir(*t))
    return fe_err(c, fe_loc(n), "unknown dtype '%s' (expected f32, f64, i32 or bool)", n->str);
  return 0;
}

typedef struct InitSpec {
  const char *name, *usage;
  int pmin, pmax;     /* positional arguments */
  const char *kws[4]; /* keywords besides scale */
} InitSpec;

static const InitSpec inits[] = {
    {"zeros", "zeros", 0, 0, {0}},
    {"ones", "ones", 0, 0, {0}},
    {"fill", "fill(value)", 1, 1, {0}},
    {"normal", "normal(std) or normal(mean, std)", 1, 2, {0}},
    {"trunc_normal", "trunc_normal(std, a=-2, b=2, mean=0)", 1, 1, {"a", "b", "mean"}},
    {"uniform", "uniform(lo, hi)", 2, 2, {0}},
    {"xavier_uniform", "xavier_uniform(gain=1)", 0, 1, {"gain"}},
};

/* `init:` into the IR's canonical (kind, args); `scale=` is folded into the args. */
static int parse_init(Env *e, const YNode *n, const char **kind, double *args, int *nargs) {
  FeCtx *c = e->c;
  if (need_kind(c, n, YN_SCALAR, "init")) return -1;
  Src src = {n};
  Env en = *e;
  en.src = &src;
  Expr *x = fe_parse_expr(c, &src);
  if (!x) return -1;
  if (x->kind != EX_NAME && x->kind != EX_CALL)
    return fe_err(c, fe_src_loc(&src, x->pos), "an initializer is a name or a call such as trunc_normal(0.02)");
  const InitSpec *sp = NULL;
  for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++)
    if (!strcmp(inits[i].name, x->name)) sp = &inits[i];
  if (!sp)
    return fe_err(c, fe_src_loc(&src, x->pos),
                  "unknown initializer '%s' (expected zeros, ones, fill, normal, trunc_normal, uniform or "
                  "xavier_uniform)",
                  x->name);
  if (x->nargs < sp->pmin || x->nargs > sp->pmax)
    return fe_err(c, fe_src_loc(&src, x->pos), "wrong number of arguments for initializer %s (got %d)", sp->usage,
                  x->nargs);
  double pos[2] = {0, 0}, scale = 1, kv[3] = {-2, 2, 0}; /* a, b, mean */
  double gain = 1;
  for (int i = 0; i < x->nargs; i++) {
    Value v;
    if (fe_eval(&en, x->args[i], &v)) return -1;
    if (v.k != V_NUM) return fe_err(c, fe_src_loc(&src, x->args[i]->pos), "initializer arguments must be numbers");
    pos[i] = v.num;
  }
  for (int k = 0; k < x->nkw; k++) {
    int slot = !strcmp(x->kw[k], "scale") ? 9 : -1;
    for (int j = 0; j < 4 && sp->kws[j] && slot < 0; j++)
      if (!strcmp(sp->kws[j], x->kw[k])) slot = j;
    if (slot < 0)
      return fe_err(c, fe_src_loc(&src, x->kwpos[k]), "initializer %s has no argument '%s'", sp->usage, x->kw[k]);
    Value v;
    if (fe_eval(&en, x->kwval[k], &v)) return -1;
    if (v.k != V_NUM) return fe_err(c, fe_src_loc(&src, x->kwval[k]->pos), "initializer arguments must be numbers");
    if (slot == 9)
      scale = v.num;
    else if (!strcmp(sp->name, "xavier_uniform"))
      gain = v.num;
    else
      kv[slot] = v.num;
  }
  double s = scale, as = s < 0 ? -s : s;
  *kind = sp->name;
  *nargs = 0;
  if (!strcmp(sp->name, "ones") && s != 1) { /* a scaled `ones` is a fill */
    *kind = "fill";
    args[(*nargs)++] = s;
  } else if (!strcmp(sp->name, "fill")) {
    args[(*nargs)++] = pos[0] * s;
  } else if (!strcmp(sp->name, "normal") || !strcmp(sp->name, "trunc_normal")) {
    double mean = x->nargs == 2 ? pos[0] : kv[2], std = x->nargs == 2 ? pos[1] : pos[0];
    if (std < 0) return fe_err(c, fe_src_loc(&src, x->pos), "%s: std must not be negative, got %g", sp->name, std);
    args[(*nargs)++] = mean * s;
    args[(*nargs)++] = std * as;
    if (sp->name[0] == 't') {
      if (kv[0] >= kv[1])
        return fe_err(c, fe_src_loc(&src, x->pos), "trunc_normal: needs a < b, got a=%g, b=%g", kv[0], kv[1]);
      args[(*nargs)++] = (s < 0 ? kv[1] : kv[0]) * s;
      args[(*nargs)++] = (s < 0 ? kv[0] : kv[1]) * s;
    }
  } else if (!strcmp(sp->name, "uniform")) {
    if (pos[0] > pos[1])
      return fe_err(c, fe_src_loc(&src, x->pos), "uniform: needs lo <= hi, got %g and %g", pos[0], pos[1]);
    args[(*nargs)++] = (s < 0 ? pos[1] : pos[0]) * s;
    args[(*nargs)++] = (s < 0 ? pos[0] : pos[1]) * s;
  } else if (!strcmp(sp->name, "xavier_uniform")) {
    args[(*nargs)++] = (x->nargs ? pos[0] : gain) * as;
  }
  return 0;
}

/* ---- weights and inputs ---- */

static int add_weight_record(FeCtx *c, const char *full, SrcLoc site) {
  for (int i = 0; i < c->nwrecs; i++)
    if (!strcmp(c->wrecs[i].name, full)) {
      const SrcLoc *f = &c->wrecs[i].loc;
      return fe_err(c, site, "weight '%s' is defined twice (first at %s:%d:%d)", full, f->file, f->line, f->col);
    }
  c->wrecs = fe_grow(c, c->wrecs, c->nwrecs, &c->capwrecs, sizeof(WeightRec));
  c->wrecs[c->nwrecs++] = (WeightRec){full, site};
  return 0;
}

/* Emit the weights of mapping `w` into scope s. `site` is where a duplicate full name is
 * reported: the key at the top level, the instantiating statement inside modules. */
static int emit_weights(FeCtx *c, Scope *s, const YNode *w, const SrcLoc *site) {
  Env e = {.c = c, .s = s, .numeric = 1};
  for (int i = 0; w && i < w->n; i++) {
    const YNode *key = w->keys[i], *spec = w->items[i];
    const char *local = key->str;
    if (need_ident(c, key, "a weight name")) return -1;
    if (fe_table_find(&s->vals, local))
      return fe_err(c, fe_loc(key), "'%s' is already an input; a weight needs another name", local);
    const YNode *shape = spec, *init = NULL, *dt = NULL;
    if (spec->kind == YN_MAP) {
      if (check_keys(c, spec, weight_keys, 3, arena_printf(c->tmp, "weight '%s'", local))) return -1;
      shape = fe_map_get(spec, "shape");
      init = fe_map_get(spec, "init");
      dt = fe_map_get(spec, "dtype");
      if (!shape) return fe_err(c, fe_loc(key), "weight '%s' needs 'shape:'", local);
    } else if (spec->kind != YN_SEQ) {
      return fe_err(c, fe_loc(spec), "weight '%s' must be {shape: [...], init: ...} or a shape list, found %s", local,
                    fe_kind_name(spec));
    }
    Shape sh;
    DType t = DT_F32;
    const char *kind = "zeros";
    double args[4];
    int nargs = 0;
    if (eval_shape(&e, shape, &sh) || (dt && parse_dtype(c, dt, &t))) return -1;
    if (t != DT_F32 && t != DT_F64) return fe_err(c, fe_loc(dt), "weights must be f32 or f64, got %s", dtype_name(t));
    if (init && !fe_is_null(init) && parse_init(&e, init, &kind, args, &nargs)) return -1;
    const char *full = arena_printf(c->tmp, "%s%s", s->prefix, local);
    if (add_weight_record(c, full, site ? *site : fe_loc(key))) return -1;
    int id = ir_weight(c->g, full, t, sh, kind, args, nargs, fe_loc(key), c->d);
    if (id < 0) return -1;
    fe_table_set(c, &s->weights, local, (Value){.k = V_TENSOR, .id = id});
  }
  return 0;
}

static int emit_inputs(FeCtx *c, Scope *s, const YNode *in) {
  Env e = {.c = c, .s = s, .numeric = 1};
  if (need_kind(c, in, YN_MAP, "inputs")) return -1;
  for (int i = 0; i < in->n; i++) {
    const YNode *key = in->keys[i], *spec = in->items[i];
    if (need_ident(c, key, "an input name")) return -1;
    const YNode *shape = spec, *dt = NULL;
    if (spec->kind == YN_MAP) {
      if (check_keys(c, spec, input_keys, 2, arena_printf(c->tmp, "input '%s'", key->str))) return -1;
      shape = fe_map_get(spec, "shape");
      dt = fe_map_get(spec, "dtype");
      if (!shape) return fe_err(c, fe_loc(key), "input '%s' needs 'shape:'", key->str);
    }
    Shape sh;
    DType t = DT_F32;
    if (eval_shape(&e, shape, &sh) || (dt && parse_dtype(c, dt, &t))) return -1;
    int id = ir_input(c->g, key->str, t, sh, fe_loc(key), c->d);
    if (id < 0) return -1;
    fe_table_set(c, &s->vals, key->str, (Value){.k = V_TENSOR, .id = id});
  }
  return 0;
}

/* ---- running a body ---- */

static int run_body(FeCtx *c, Scope *s, const Stmt *body, int n);

/* A statement may bind `name` unless it names a weight or a parameter of the scope. */
static int check_target(FeCtx *c, Scope *s, const char *name, SrcLoc at) {
  if (fe_table_find(&s->weights, name)) return fe_err(c, at, "cannot assign to '%s': it is a weight", name);
  int is_param = s->mod ? fe_table_find(&s->params, name) != NULL : 0;
  for (int i = 0; !s->mod && i < c->nparams; i++) is_param |= !strcmp(c->params[i].name, name);
  if (is_param) return fe_err(c, at, "cannot assign to '%s': it is a parameter", name);
  if (!strcmp(name, "batch") || !strcmp(name, "index"))
    return fe_err(c, at, "cannot assign to '%s': the name is reserved", name);
  return 0;
}

/* The caller's parameter `name` (a module parameter left out of `with:`). */
static int caller_param(FeCtx *c, Scope *caller, const char *name, Value *v) {
  if (caller->mod) {
    Binding *b = fe_table_find(&caller->params, name);
    if (b) *v = b->v;
    return b ? 0 : 1;
  }
  for (int i = 0; i < c->nparams; i++)
    if (!strcmp(c->params[i].name, name)) {
      if (fe_eval_param(c, &c->params[i])) return -1;
      *v = c->params[i].v;
      return 0;
    }
  return 1;
}

static int eval_args(FeCtx *c, Scope *caller, const Stmt *st, Value **vals, int *n) {
  const YNode *a = st->args;
  const YNode *one[1] = {a};
  const YNode *const *items = one;
  *n = 0;
  if (a && !fe_is_null(a)) {
    if (a->kind == YN_SEQ)
      items = (const YNode *const *)a->items, *n = a->n;
    else if (a->kind == YN_SCALAR)
      *n = 1;
    else
      return fe_err(c, fe_loc(a), "args must be a list of expressions, found %s", fe_kind_name(a));
  }
  *vals = arena_alloc(c->tmp, sizeof(Value) * (size_t)(*n + 1));
  for (int i = 0; i < *n; i++) {
    if (need_kind(c, items[i], YN_SCALAR, "an argument")) return -1;
    Src src = {items[i]};
    Env e = {.c = c, .s = caller, .src = &src};
    Expr *x = fe_parse_expr(c, &src);
    if (!x || fe_eval(&e, x, &(*vals)[i])) return -1;
  }
  return 0;
}

static int instantiate(FeCtx *c, Scope *caller, const Stmt *st, Module *m, const char *prefix, int has_index,
                       int64_t index, const Value *args, int nargs, Value *outs) {
  SrcLoc at = fe_loc(st->module);
  if (m->active) return fe_err(c, at, "module '%s' instantiates itself", m->name);
  if (nargs != m->ninputs)
    return fe_err(c, st->args ? fe_loc(st->args) : at, "module '%s' takes %d input%s, got %d", m->name, m->ninputs,
                  m->ninputs == 1 ? "" : "s", nargs);
  Scope s = {.mod = m, .prefix = prefix};
  /* parameters: with: first (evaluated in the caller, `index` bound), then the caller's */
  for (int i = 0; st->with && i < st->with->n; i++) {
    const YNode *k = st->with->keys[i];
    int known = 0;
    for (int j = 0; j < m->nparams; j++) known |= !strcmp(m->params[j], k->str);
    if (!known)
      return fe_err(c, fe_loc(k), "module '%s' has no parameter '%s'%s", m->name, k->str,
                    fe_suggest(c, k->str, m->params, m->nparams));
    Env e = {.c = c, .s = caller, .has_index = has_index, .index = index};
    Value v;
    if (fe_eval_number(&e, st->with->items[i], &v)) return -1;
    fe_table_set(c, &s.params, k->str, v);
  }
  for (int j = 0; j < m->nparams; j++) {
    if (fe_table_find(&s.params, m->params[j])) continue;
    Value v;
    int r = caller_param(c, caller, m->params[j], &v);
    if (r < 0) return -1;
    if (r)
      return fe_err(c, at, "parameter '%s' of module '%s' is not bound: give it in 'with:' or define it in the caller",
                    m->params[j], m->name);
    fe_table_set(c, &s.params, m->params[j], v);
  }
  for (int i = 0; i < nargs; i++) fe_table_set(c, &s.vals, m->inputs[i], args[i]);
  SrcLoc site = st->as ? fe_loc(st->as) : at;
  m->active = 1;
  int r = emit_weights(c, &s, m->weights, &site) || run_body(c, &s, m->body, m->nbody);
  m->active = 0;
  if (r) return -1;
  for (int i = 0; i < m->noutputs; i++) {
    const char *name = m->outputs[i]->str;
    Binding *b = fe_table_find(&s.vals, name);
    if (!b) b = fe_table_find(&s.weights, name);
    if (!b) return fe_err(c, fe_loc(m->outputs[i]), "output '%s' of module '%s' is not defined", name, m->name);
    outs[i] = b->v;
  }
  return 0;
}

static int run_instance(FeCtx *c, Scope *s, const Stmt *st) {
  Module *m = find_module(c, st->module->str);
  if (!m) {
    const char **names = arena_alloc(c->tmp, sizeof(char *) * (size_t)(c->nmods + 1));
    for (int i = 0; i < c->nmods; i++) names[i] = c->mods[i].name;
    return fe_err(c, fe_loc(st->module), "unknown module '%s'%s", st->module->str,
                  fe_suggest(c, st->module->str, names, c->nmods));
  }
  const YNode **outs = NULL;
  int nout = 0, mout = m->noutputs;
  if (st->out && !fe_is_null(st->out) && name_list(c, st->out, "out", &outs, &nout)) return -1;
  if (nout != mout) {
    if (!nout)
      return fe_err(c, fe_loc(st->node), "module '%s' returns %d value%s: name %s in 'out:'", m->name, mout,
                    mout == 1 ? "" : "s", mout == 1 ? "it" : "them");
    return fe_err(c, fe_loc(st->out), "module '%s' returns %d value%s but 'out:' names %d", m->name, mout,
                  mout == 1 ? "" : "s", nout);
  }
  for (int i = 0; i < nout; i++)
    if (check_target(c, s, outs[i]->str, fe_loc(outs[i]))) return -1;
  int64_t times = 1;
  if (st->kind == ST_REPEAT) {
    Env e = {.c = c, .s = s};
    Value v;
    if (fe_eval_number(&e, st->times, &v)) return -1;
    if (v.num < 0 || v.num != floor(v.num) || v.num > 1e9)
      return fe_err(c, fe_loc(st->times), "repeat 'times' must be a non-negative integer, got %g", v.num);
    times = (int64_t)v.num;
  }
  Value *res = arena_alloc(c->tmp, sizeof(Value) * (size_t)(mout + 1));
  for (int64_t i = 0; i < times; i++) {
    Value *args = NULL;
    int nargs = 0;
    if (eval_args(c, s, st, &args, &nargs)) return -1;
    const char *prefix = st->kind == ST_REPEAT
                             ? arena_printf(c->tmp, "%s%s.%lld.", s->prefix, st->as->str, (long long)i)
                         : st->as ? arena_printf(c->tmp, "%s%s.", s->prefix, st->as->str)
                                  : s->prefix;
    if (instantiate(c, s, st, m, prefix, st->kind == ST_REPEAT, i, args, nargs, res)) return -1;
    for (int k = 0; k < nout; k++) fe_table_set(c, &s->vals, outs[k]->str, res[k]);
  }
  return 0;
}

static int run_body(FeCtx *c, Scope *s, const Stmt *body, int n) {
  for (int i = 0; i < n; i++) {
    const Stmt *st = &body[i];
    if (st->kind != ST_ASSIGN) {
      if (run_instance(c, s, st)) return -1;
      continue;
    }
    Src src = {st->node};
    Env e = {.c = c, .s = s, .src = &src};
    Value v;
    if (check_target(c, s, st->target, fe_src_loc(&src, st->target_pos)) || fe_eval(&e, st->expr, &v)) return -1;
    fe_table_set(c, &s->vals, st->target, v);
  }
  return 0;
}

/* ---- the model ---- */

int fe_lower_model(FeCtx *c, const YNode *root) {
  Scope top = {.prefix = ""};
  const YNode *in = fe_map_get(root, "inputs"), *w = fe_map_get(root, "weights"), *outs = fe_map_get(root, "outputs");
  Stmt *body;
  int nbody;
  if (parse_body(c, fe_map_get(root, "body"), &body, &nbody)) return -1;
  if (in && !fe_is_null(in) && emit_inputs(c, &top, in)) return -1;
  if (w && !fe_is_null(w) && (need_kind(c, w, YN_MAP, "weights") || emit_weights(c, &top, w, NULL))) return -1;
  if (run_body(c, &top, body, nbody)) return -1;
  const YNode **names = NULL;
  int n = 0;
  if (outs && !fe_is_null(outs) && name_list(c, outs, "outputs", &names, &n)) return -1;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->str;
    Binding *b = fe_table_find(&top.vals, name);
    if (!b) b = fe_table_find(&top.weights, name);
    if (!b) {
      const char **cands = arena_alloc(c->tmp, sizeof(char *) * (size_t)(top.vals.n + 1));
      for (int k = 0; k < top.vals.n; k++) cands[k] = top.vals.b[k].name;
      return fe_err(c, fe_loc(names[i]), "output '%s' is not defined%s", name, fe_suggest(c, name, cands, top.vals.n));
    }
    if (b->v.k != V_TENSOR)
      return fe_err(c, fe_loc(names[i]), "output '%s' must be a tensor, got %s", name, fe_value_kind(&b->v));
    ir_add_output(c->g, name, b->v.id);
  }
  return 0;
}
