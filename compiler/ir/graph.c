/* graph.c — graphs, nodes and the builder (ir_emit and its typed wrappers). */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "mimic: error: out of memory\n");
    exit(2);
  }
  return q;
}

Graph *ir_graph_new(const char *name) {
  Graph *g = calloc(1, sizeof *g);
  if (!g) exit(2);
  g->arena = arena_new();
  g->name = arena_strdup(g->arena, name ? name : "model");
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  free(g->nodes);
  free(g->outs);
  arena_free(g->arena);
  free(g);
}

const char *ir_intern(Graph *g, const char *s) {
  return arena_strdup(g->arena, s);
}

/* ---- attribute access ---- */

const Attr *ir_attr(const Node *n, const char *key) {
  for (int i = 0; i < n->nattr; i++)
    if (!strcmp(n->attr[i].key, key)) return &n->attr[i];
  return NULL;
}

static const Attr *need(const Node *n, const char *key, AttrKind k) {
  const Attr *a = ir_attr(n, key);
  if (!a || a->kind != k) {
    fprintf(stderr, "mimic: internal error: op '%s' has no %s attribute '%s'\n", op_info(n->op)->name,
            k == AK_INT ? "int" : k == AK_FLOAT ? "float" : "list/string", key);
    abort();
  }
  return a;
}

int64_t ir_attr_i(const Node *n, const char *key) {
  return need(n, key, AK_INT)->v.i;
}

double ir_attr_f(const Node *n, const char *key) {
  return need(n, key, AK_FLOAT)->v.f;
}

const int64_t *ir_attr_is(const Node *n, const char *key, int *count) {
  const Attr *a = need(n, key, AK_INTS);
  if (count) *count = a->n;
  return a->v.is;
}

const double *ir_attr_fs(const Node *n, const char *key, int *count) {
  const Attr *a = need(n, key, AK_FLOATS);
  if (count) *count = a->n;
  return a->v.fs;
}

const char *ir_attr_s(const Node *n, const char *key) {
  return need(n, key, AK_STR)->v.s;
}

DType ir_attr_dt(const Node *n, const char *key) {
  return need(n, key, AK_DTYPE)->v.dt;
}

/* ---- building ---- */

/* Parse an attribute default from ops.def ("0", "1e-05", "[1,1]", "zeros", "f32"). */
static Attr default_attr(Arena *ar, const AttrSpec *s) {
  Attr a = {.key = s->name, .kind = s->kind};
  const char *t = s->dflt;
  switch (s->kind) {
  case AK_INT: a.v.i = strtoll(t, NULL, 10); break;
  case AK_FLOAT: a.v.f = strtod(t, NULL); break;
  case AK_STR: a.v.s = t; break;
  case AK_DTYPE: dtype_parse(t, &a.v.dt); break;
  case AK_INTS:
  case AK_FLOATS: {
    int64_t is[IR_MAX_RANK];
    double fs[IR_MAX_RANK];
    const char *p = t + 1;
    while (*p && *p != ']') {
      char *end;
      if (s->kind == AK_INTS) is[a.n] = strtoll(p, &end, 10);
      else fs[a.n] = strtod(p, &end);
      a.n++;
      p = *end == ',' ? end + 1 : end;
    }
    if (s->kind == AK_INTS) a.v.is = arena_memdup(ar, is, sizeof(int64_t) * (size_t)a.n);
    else a.v.fs = arena_memdup(ar, fs, sizeof(double) * (size_t)a.n);
    break;
  }
  }
  return a;
}

static const char *kind_name(AttrKind k) {
  static const char *const names[] = {"an int", "a float", "an int list", "a float list", "a string", "a dtype"};
  return names[k];
}

/* Copy `given` into the op's full attribute list (table order, defaults filled). */
static int build_attrs(Graph *g, const NodeSpec *sp, Attr **out, Diag *d) {
  const OpInfo *info = op_info(sp->op);
  for (int j = 0; j < sp->nattr; j++) {
    for (int k = 0; k < j; k++)
      if (!strcmp(sp->attr[k].key, sp->attr[j].key)) {
        diag_error(d, sp->loc, "%s: attribute '%s' is given twice", info->name, sp->attr[j].key);
        return -1;
      }
    int found = 0;
    for (int i = 0; i < info->nattr; i++) found |= !strcmp(info->attr[i].name, sp->attr[j].key);
    if (!found) {
      diag_error(d, sp->loc, "%s: unknown attribute '%s'", info->name, sp->attr[j].key);
      return -1;
    }
  }
  Attr *as = info->nattr ? arena_alloc(g->arena, sizeof(Attr) * (size_t)info->nattr) : NULL;
  for (int i = 0; i < info->nattr; i++) {
    const AttrSpec *s = &info->attr[i];
    const Attr *given = NULL;
    for (int j = 0; j < sp->nattr; j++)
      if (!strcmp(s->name, sp->attr[j].key)) given = &sp->attr[j];
    if (!given) {
      if (!s->dflt) {
        diag_error(d, sp->loc, "%s: missing attribute '%s'", info->name, s->name);
        return -1;
      }
      as[i] = default_attr(g->arena, s);
      continue;
    }
    Attr a = *given;
    a.key = s->name;
    /* ints are accepted where floats are expected */
    if (s->kind == AK_FLOAT && a.kind == AK_INT) {
      a.kind = AK_FLOAT;
      a.v.f = (double)given->v.i;
    } else if (s->kind == AK_FLOATS && a.kind == AK_INTS) {
      double *fs = arena_alloc(g->arena, sizeof(double) * (size_t)(a.n ? a.n : 1));
      for (int k = 0; k < a.n; k++) fs[k] = (double)given->v.is[k];
      a.kind = AK_FLOATS;
      a.v.fs = fs;
    } else if (a.kind != s->kind) {
      diag_error(d, sp->loc, "%s: attribute '%s' must be %s", info->name, s->name, kind_name(s->kind));
      return -1;
    } else if (a.kind == AK_INTS) {
      a.v.is = arena_memdup(g->arena, a.v.is, sizeof(int64_t) * (size_t)a.n);
    } else if (a.kind == AK_FLOATS) {
      a.v.fs = arena_memdup(g->arena, a.v.fs, sizeof(double) * (size_t)a.n);
    } else if (a.kind == AK_STR) {
      a.v.s = arena_strdup(g->arena, a.v.s ? a.v.s : "");
    }
    as[i] = a;
  }
  *out = as;
  return 0;
}

int ir_emit(Graph *g, const NodeSpec *sp, Diag *d) {
  const OpInfo *info = op_info(sp->op);
  for (int i = 0; i < sp->nin; i++) {
    if (sp->in[i] < 0) return -1; /* an input already failed and was reported */
    if (sp->in[i] >= g->n) {
      diag_error(d, sp->loc, "%s: input %d refers to a node that does not exist yet", info->name, i);
      return -1;
    }
  }
  if (sp->nin < info->nin_min || (info->nin_max >= 0 && sp->nin > info->nin_max)) {
    if (info->nin_max < 0)
      diag_error(d, sp->loc, "%s: takes at least %d input%s, got %d", info->name, info->nin_min,
                 info->nin_min == 1 ? "" : "s", sp->nin);
    else if (info->nin_min == info->nin_max)
      diag_error(d, sp->loc, "%s: takes %d input%s, got %d", info->name, info->nin_min,
                 info->nin_min == 1 ? "" : "s", sp->nin);
    else
      diag_error(d, sp->loc, "%s: takes %d to %d inputs, got %d", info->name, info->nin_min, info->nin_max,
                 sp->nin);
    return -1;
  }
  Node n = {0};
  n.op = sp->op;
  n.nin = sp->nin;
  n.in = sp->nin ? arena_memdup(g->arena, sp->in, sizeof(int) * (size_t)sp->nin) : NULL;
  n.name = sp->name ? arena_strdup(g->arena, sp->name) : NULL;
  n.loc = sp->loc;
  if (n.loc.file) {
    /* nodes come in runs from one file: share the previous node's copy of the name */
    const char *prev = g->n ? g->nodes[g->n - 1].loc.file : NULL;
    n.loc.file = prev && !strcmp(prev, n.loc.file) ? prev : arena_strdup(g->arena, n.loc.file);
  }
  Attr *as;
  if (build_attrs(g, sp, &as, d)) return -1;
  n.attr = as;
  n.nattr = info->nattr;
  if (info->cls == OPC_SOURCE) {
    n.dtype = sp->dtype;
    n.shape = sp->shape ? *sp->shape : shape_scalar();
  }
  if (ir_infer(g, &n, &n.dtype, &n.shape, d)) return -1;
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 64;
    g->nodes = xrealloc(g->nodes, sizeof(Node) * (size_t)g->cap);
  }
  g->nodes[g->n] = n;
  return g->n++;
}

int ir_add_output(Graph *g, const char *name, int id) {
  if (id < 0 || id >= g->n) return -1;
  if (g->nout == g->outcap) {
    g->outcap = g->outcap ? 2 * g->outcap : 8;
    g->outs = xrealloc(g->outs, sizeof(Output) * (size_t)g->outcap);
  }
  g->outs[g->nout].name = arena_strdup(g->arena, name);
  g->outs[g->nout].id = id;
  g->nout++;
  return 0;
}

/* ---- typed wrappers ---- */

static int emit(Graph *g, OpKind op, const int *in, int nin, const Attr *at, int nat, SrcLoc loc, Diag *d) {
  NodeSpec sp = {.op = op, .in = in, .nin = nin, .attr = at, .nattr = nat, .loc = loc};
  return ir_emit(g, &sp, d);
}

static int source(Graph *g, OpKind op, const char *name, DType t, Shape s, const Attr *at, int nat, SrcLoc loc,
                  Diag *d) {
  NodeSpec sp = {.op = op, .attr = at, .nattr = nat, .dtype = t, .shape = &s, .name = name, .loc = loc};
  return ir_emit(g, &sp, d);
}

int ir_op(Graph *g, OpKind op, const int *in, int nin, const Attr *attr, int nattr, SrcLoc loc, Diag *d) {
  return emit(g, op, in, nin, attr, nattr, loc, d);
}

int ir_input(Graph *g, const char *name, DType t, Shape s, SrcLoc loc, Diag *d) {
  return source(g, OP_INPUT, name, t, s, NULL, 0, loc, d);
}

int ir_weight(Graph *g, const char *name, DType t, Shape s, const char *init, const double *args, int nargs,
              SrcLoc loc, Diag *d) {
  Attr at[2] = {ATTR_S("init", init ? init : "zeros"), ATTR_FS("init_args", args, nargs)};
  return source(g, OP_WEIGHT, name, t, s, at, 2, loc, d);
}

int ir_const(Graph *g, DType t, Shape s, double value, SrcLoc loc, Diag *d) {
  Attr at[1] = {ATTR_F("value", value)};
  return source(g, OP_CONST, NULL, t, s, at, 1, loc, d);
}

int ir_iota(Graph *g, DType t, Shape s, int axis, SrcLoc loc, Diag *d) {
  Attr at[1] = {ATTR_I("axis", axis)};
  return source(g, OP_IOTA, NULL, t, s, at, 1, loc, d);
}

int ir_unary(Graph *g, OpKind op, int x, SrcLoc loc, Diag *d) {
  return emit(g, op, &x, 1, NULL, 0, loc, d);
}

int ir_cast(Graph *g, int x, DType to, SrcLoc loc, Diag *d) {
  if (x >= 0 && g->nodes[x].dtype == to) return x;
  Attr at[1] = {ATTR_DT("to", to)};
  return emit(g, OP_CAST, &x, 1, at, 1, loc, d);
}

int ir_binary(Graph *g, OpKind op, int a, int b, SrcLoc loc, Diag *d) {
  int in[2] = {a, b};
  return emit(g, op, in, 2, NULL, 0, loc, d);
}

int ir_broadcast(Graph *g, int x, Shape s, SrcLoc loc, Diag *d) {
  if (x < 0) return -1;
  if (shape_eq(&g->nodes[x].shape, &s)) return x;
  Attr at[1] = {ATTR_IS("shape", s.d, s.rank)};
  return emit(g, OP_BROADCAST, &x, 1, at, 1, loc, d);
}

int ir_binary_bc(Graph *g, OpKind op, int a, int b, SrcLoc loc, Diag *d) {
  if (a < 0 || b < 0) return -1;
  Shape s;
  if (shape_broadcast(&g->nodes[a].shape, &g->nodes[b].shape, &s)) {
    char b1[128], b2[128];
    diag_error(d, loc, "%s: shapes %s and %s do not broadcast", op_info(op)->name,
               shape_str(&g->nodes[a].shape, b1, sizeof b1), shape_str(&g->nodes[b].shape, b2, sizeof b2));
    return -1;
  }
  a = ir_broadcast(g, a, s, loc, d);
  b = ir_broadcast(g, b, s, loc, d);
  return ir_binary(g, op, a, b, loc, d);
}

int ir_where(Graph *g, int c, int a, int b, SrcLoc loc, Diag *d) {
  if (c < 0 || a < 0 || b < 0) return -1;
  Shape s, s2;
  if (shape_broadcast(&g->nodes[c].shape, &g->nodes[a].shape, &s) || shape_broadcast(&s, &g->nodes[b].shape, &s2)) {
    diag_error(d, loc, "where: shapes do not broadcast");
    return -1;
  }
  int in[3] = {ir_broadcast(g, c, s2, loc, d), ir_broadcast(g, a, s2, loc, d), ir_broadcast(g, b, s2, loc, d)};
  return emit(g, OP_WHERE, in, 3, NULL, 0, loc, d);
}

int ir_reduce(Graph *g, OpKind op, int x, const int64_t *axes, int naxes, int keepdims, SrcLoc loc, Diag *d) {
  if (x < 0) return -1;
  int rank = g->nodes[x].shape.rank;
  int64_t ax[IR_MAX_RANK];
  int n = 0;
  /* normalise negative axes and sort; out-of-range ones are left for the shape rule */
  if (naxes > IR_MAX_RANK) {
    diag_error(d, loc, "%s: %d axes for a tensor of rank %d", op_info(op)->name, naxes, rank);
    return -1;
  }
  for (int i = 0; i < naxes; i++) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    int k = n++;
    while (k > 0 && ax[k - 1] > a) {
      ax[k] = ax[k - 1];
      k--;
    }
    ax[k] = a;
  }
  Attr at[2] = {ATTR_IS("axes", ax, n), ATTR_I("keepdims", keepdims)};
  return emit(g, op, &x, 1, at, 2, loc, d);
}

int ir_reshape(Graph *g, int x, Shape s, SrcLoc loc, Diag *d) {
  if (x >= 0 && shape_eq(&g->nodes[x].shape, &s)) return x;
  Attr at[1] = {ATTR_IS("shape", s.d, s.rank)};
  return emit(g, OP_RESHAPE, &x, 1, at, 1, loc, d);
}

int ir_permute(Graph *g, int x, const int64_t *perm, int n, SrcLoc loc, Diag *d) {
  Attr at[1] = {ATTR_IS("perm", perm, n)};
  return emit(g, OP_PERMUTE, &x, 1, at, 1, loc, d);
}

int ir_slice(Graph *g, int x, const int64_t *start, const int64_t *end, const int64_t *step, SrcLoc loc, Diag *d) {
  if (x < 0) return -1;
  int r = g->nodes[x].shape.rank;
  Attr at[3] = {ATTR_IS("start", start, r), ATTR_IS("end", end, r), ATTR_IS("step", step, r)};
  return emit(g, OP_SLICE, &x, 1, at, 3, loc, d);
}

int ir_pad(Graph *g, int x, const int64_t *lo, const int64_t *hi, double value, SrcLoc loc, Diag *d) {
  if (x < 0) return -1;
  int r = g->nodes[x].shape.rank;
  Attr at[3] = {ATTR_IS("lo", lo, r), ATTR_IS("hi", hi, r), ATTR_F("value", value)};
  return emit(g, OP_PAD, &x, 1, at, 3, loc, d);
}

int ir_concat(Graph *g, const int *xs, int n, int axis, SrcLoc loc, Diag *d) {
  if (n > 0 && xs[0] >= 0 && axis < 0) axis += g->nodes[xs[0]].shape.rank;
  Attr at[1] = {ATTR_I("axis", axis)};
  return emit(g, OP_CONCAT, xs, n, at, 1, loc, d);
}

int ir_gather(Graph *g, int x, int idx, int axis, SrcLoc loc, Diag *d) {
  int in[2] = {x, idx};
  Attr at[1] = {ATTR_I("axis", axis)};
  return emit(g, OP_GATHER, in, 2, at, 1, loc, d);
}

int ir_scatter_add(Graph *g, int upd, int idx, int axis, int64_t size, SrcLoc loc, Diag *d) {
  int in[2] = {upd, idx};
  Attr at[2] = {ATTR_I("axis", axis), ATTR_I("size", size)};
  return emit(g, OP_SCATTER_ADD, in, 2, at, 2, loc, d);
}

int ir_one_hot(Graph *g, int idx, int64_t depth, DType t, SrcLoc loc, Diag *d) {
  Attr at[2] = {ATTR_I("depth", depth), ATTR_DT("dtype", t)};
  return emit(g, OP_ONE_HOT, &idx, 1, at, 2, loc, d);
}

int ir_matmul(Graph *g, int a, int b, int ta, int tb, SrcLoc loc, Diag *d) {
  int in[2] = {a, b};
  Attr at[2] = {ATTR_I("ta", ta), ATTR_I("tb", tb)};
  return emit(g, OP_MATMUL, in, 2, at, 2, loc, d);
}

int ir_conv(Graph *g, int x, int w, const int64_t stride[2], const int64_t pad[2], SrcLoc loc, Diag *d) {
  int in[2] = {x, w};
  Attr at[2] = {ATTR_IS("stride", stride, 2), ATTR_IS("pad", pad, 2)};
  return emit(g, OP_CONV, in, 2, at, 2, loc, d);
}

int ir_random(Graph *g, int seed, int64_t stream, Shape s, SrcLoc loc, Diag *d) {
  Attr at[2] = {ATTR_I("stream", stream), ATTR_IS("shape", s.d, s.rank)};
  return emit(g, OP_RANDOM, &seed, 1, at, 2, loc, d);
}
