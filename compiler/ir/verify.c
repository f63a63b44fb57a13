/* verify.c — checks that a graph obeys the IR's invariants (ir_verify).
 *
 * The builder keeps these invariants for graphs it makes; the verifier is for graphs that
 * a pass rewrote in place or that came from elsewhere. It trusts nothing: it checks the
 * structure (op, input ids, input count, the attribute list) before it re-runs the shape
 * rules, because the rules read inputs and attributes without checking them. Every
 * problem is one error at the node's location, naming the node: `verify: %3 (add): ...`. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef struct Verifier {
  const Graph *g;
  Diag *d;
  int id; /* node being checked */
} Verifier;

static void __attribute__((format(printf, 2, 3))) bad(Verifier *v, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Node *n = &v->g->nodes[v->id];
  const char *op = (unsigned)n->op < OP_COUNT ? op_info(n->op)->name : "?";
  diag_error(v->d, n->loc, "verify: %%%d (%s): %s", v->id, op, msg);
}

static const char *kind_name(AttrKind k) {
  static const char *const names[] = {"int", "float", "int list", "float list", "string", "dtype"};
  return (unsigned)k <= AK_DTYPE ? names[k] : "?";
}

static int shape_ok(const Shape *s) {
  if (s->rank < 0 || s->rank > IR_MAX_RANK) return 0;
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] < 0) return 0;
  return 1;
}

/* Inputs, input count and the attribute list; returns the number of problems. */
static int check_structure(Verifier *v, const Node *n) {
  const OpInfo *info = op_info(n->op);
  int nbad = 0;
  if (n->nin < info->nin_min || (info->nin_max >= 0 && n->nin > info->nin_max)) {
    if (info->nin_max < 0) bad(v, "has %d inputs but the op takes at least %d", n->nin, info->nin_min);
    else if (info->nin_min == info->nin_max) bad(v, "has %d inputs but the op takes %d", n->nin, info->nin_min);
    else bad(v, "has %d inputs but the op takes %d to %d", n->nin, info->nin_min, info->nin_max);
    nbad++;
  }
  if (n->nin > 0 && !n->in) {
    bad(v, "has %d inputs but no input list", n->nin);
    return nbad + 1;
  }
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] < 0 || n->in[i] >= v->id) {
      bad(v, "input %d is %%%d, which is not an earlier node", i, n->in[i]);
      nbad++;
    }
  if (n->nattr != info->nattr || (n->nattr && !n->attr)) {
    bad(v, "has %d attributes but the op has %d", n->nattr, info->nattr);
    return nbad + 1;
  }
  for (int i = 0; i < n->nattr; i++) {
    const Attr *a = &n->attr[i];
    const AttrSpec *s = &info->attr[i];
    if (!a->key || strcmp(a->key, s->name)) {
      bad(v, "attribute %d is '%s' but the op table says '%s'", i, a->key ? a->key : "(null)", s->name);
      nbad++;
    } else if (a->kind != s->kind) {
      bad(v, "attribute '%s' is a %s but must be a %s", s->name, kind_name(a->kind), kind_name(s->kind));
      nbad++;
    } else if (((a->kind == AK_INTS || a->kind == AK_FLOATS) && (a->n < 0 || (a->n && !a->v.is))) ||
               (a->kind == AK_STR && !a->v.s) || (a->kind == AK_DTYPE && (unsigned)a->v.dt >= DT_COUNT)) {
      bad(v, "attribute '%s' has a malformed value", s->name);
      nbad++;
    }
  }
  return nbad;
}

/* Re-runs the shape rule; its message, when it fails, is re-reported under `verify:`. */
static void check_type(Verifier *v, const Node *n) {
  Diag q;
  diag_init(&q);
  q.quiet = 1;
  Node copy = *n;
  copy.loc = SRCLOC_NONE; /* so that q.last is "mimic: error: MESSAGE" */
  DType t;
  Shape s;
  if (ir_infer(v->g, &copy, &t, &s, &q)) {
    const char *msg = q.last, *prefix = "mimic: error: ";
    if (!strncmp(msg, prefix, strlen(prefix))) msg += strlen(prefix);
    bad(v, "%s", msg);
    return;
  }
  if (t != n->dtype) bad(v, "stored dtype %s but the rule gives %s", dtype_name(n->dtype), dtype_name(t));
  if (!shape_eq(&s, &n->shape)) {
    char b1[IR_MAX_RANK * 21 + 3], b2[IR_MAX_RANK * 21 + 3];
    bad(v, "stored shape %s but the rule gives %s", shape_str(&n->shape, b1, sizeof b1), shape_str(&s, b2, sizeof b2));
  }
}

typedef struct Named {
  const char *name;
  int idx; /* node id or output index */
} Named;

static int by_name(const void *a, const void *b) {
  const Named *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sorts the list and returns it; equal names end up next to each other, earlier first. */
static Named *sorted(Named *list, int n) {
  if (n > 1) qsort(list, (size_t)n, sizeof *list, by_name);
  return list;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "mimic: error: out of memory\n");
    exit(2);
  }
  return p;
}

int ir_verify(const Graph *g, Diag *d) {
  int before = d->nerr;
  Verifier v = {.g = g, .d = d};
  Named *names = xmalloc(sizeof(Named) * (size_t)(g->n > g->nout ? g->n : g->nout));
  int nnamed = 0;

  for (v.id = 0; v.id < g->n; v.id++) {
    const Node *n = &g->nodes[v.id];
    if ((unsigned)n->op >= OP_COUNT) {
      diag_error(d, n->loc, "verify: %%%d: op %d is not in the op table", v.id, (int)n->op);
      continue;
    }
    int nbad = check_structure(&v, n);
    if (!dtype_in_ir(n->dtype)) {
      bad(&v, "stored dtype %s cannot appear in a graph", dtype_name(n->dtype));
      nbad++;
    }
    if (!shape_ok(&n->shape)) {
      bad(&v, "stored shape has rank %d or a negative extent", n->shape.rank);
      nbad++;
    }
    int named = n->op == OP_INPUT || n->op == OP_WEIGHT;
    if (!named && n->name) {
      bad(&v, "only input and weight nodes have a name, but this one is '%s'", n->name);
      nbad++;
    }
    if (named && n->name) names[nnamed++] = (Named){n->name, v.id};
    /* an input that failed leaves nothing sound to infer from */
    int inputs_ok = 1;
    for (int i = 0; i < n->nin && n->in; i++)
      inputs_ok &= n->in[i] >= 0 && n->in[i] < v.id && dtype_in_ir(g->nodes[n->in[i]].dtype) &&
                   shape_ok(&g->nodes[n->in[i]].shape);
    if (!nbad && inputs_ok) check_type(&v, n);
  }

  sorted(names, nnamed);
  for (int i = 1; i < nnamed; i++)
    if (!strcmp(names[i].name, names[i - 1].name)) {
      v.id = names[i].idx;
      bad(&v, "name '%s' is already used by %%%d", names[i].name, names[i - 1].idx);
    }

  nnamed = 0;
  for (int i = 0; i < g->nout; i++) {
    const Output *o = &g->outs[i];
    if (o->id < 0 || o->id >= g->n)
      diag_error(d, SRCLOC_NONE, "verify: output '%s' refers to %%%d, which does not exist", o->name ? o->name : "",
                 o->id);
    if (!o->name) diag_error(d, SRCLOC_NONE, "verify: output %d has no name", i);
    else names[nnamed++] = (Named){o->name, i};
  }
  sorted(names, nnamed);
  for (int i = 1; i < nnamed; i++)
    if (!strcmp(names[i].name, names[i - 1].name))
      diag_error(d, SRCLOC_NONE, "verify: output name '%s' is used twice (outputs %d and %d)", names[i].name,
                 names[i - 1].idx, names[i].idx);
  free(names);
  return d->nerr > before ? -1 : 0;
}
