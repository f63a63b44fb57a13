/* interp.c — the reference interpreter's driver (see interp.h): it checks the graph and
 * the tensors it is given, then evaluates the nodes that the outputs need in id order
 * (ids are a topological order), one fresh tensor per node, all kept until the end.
 * Sources, elementwise ops and reductions live here; movement, indexing and contraction
 * in interp_ops.c. Element access goes through tensor_get/tensor_set (runtime/tensor.c),
 * whose conversion rules are the IR's: a double rounded to the element's dtype. */
#include "interp/interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp_ops.h"
#include "philox.h"

/* Larger values are refused rather than risk overflowing the index arithmetic; the
 * oracle only ever runs small graphs. */
#define MAX_ELEMENTS (INT64_C(1) << 40)

/* "f32[2,3]" into buf. */
static char *type_str(DType t, const Shape *s, char *buf, size_t n) {
  char sh[128];
  snprintf(buf, n, "%s%s", dtype_name(t), shape_str(s, sh, sizeof sh));
  return buf;
}

static int too_large(const Shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->rank; k++)
    if (s->d[k] == 0) return 0;
  for (int k = 0; k < s->rank; k++) {
    if (n > MAX_ELEMENTS / s->d[k]) return 1;
    n *= s->d[k];
  }
  return 0;
}

/* ---- checks before anything runs ---- */

/* A node the loops below can trust: a primitive, earlier inputs, the op table's
 * attributes, and the dtype and shape that the shape rules give. Graphs from the builder
 * always pass; a graph damaged by a pass is reported instead of read out of bounds. */
static int check_node(const Graph *g, int id, Diag *d) {
  const Node *n = &g->nodes[id];
  char b1[160], b2[160];
  if ((unsigned)n->op >= OP_COUNT) {
    diag_error(d, n->loc, "node %%%d has an unknown op (%d); the graph is malformed", id, (int)n->op);
    return -1;
  }
  const OpInfo *info = op_info(n->op);
  if (!op_is_primitive(n->op)) {
    diag_error(d, n->loc, "%s: high-level op in node %%%d; run decompose first (the interpreter executes "
               "primitive ops only)", info->name, id);
    return -1;
  }
  if (n->nin < info->nin_min || (info->nin_max >= 0 && n->nin > info->nin_max)) {
    diag_error(d, n->loc, "%s: node %%%d has %d inputs; the graph is malformed", info->name, id, n->nin);
    return -1;
  }
  for (int k = 0; k < n->nin; k++)
    if (n->in[k] < 0 || n->in[k] >= id) {
      diag_error(d, n->loc, "%s: input %d of node %%%d refers to %%%d, which is not an earlier node; the graph "
                 "is malformed", info->name, k, id, n->in[k]);
      return -1;
    }
  int ok = n->nattr == info->nattr;
  for (int k = 0; ok && k < n->nattr; k++)
    ok = n->attr[k].key && !strcmp(n->attr[k].key, info->attr[k].name) && n->attr[k].kind == info->attr[k].kind;
  if (!ok) {
    diag_error(d, n->loc, "%s: node %%%d does not carry the op's attributes; the graph is malformed", info->name, id);
    return -1;
  }
  DType t;
  Shape s;
  if (ir_infer(g, n, &t, &s, d)) return -1;
  if (t != n->dtype || !shape_eq(&s, &n->shape)) {
    diag_error(d, n->loc, "%s: node %%%d is recorded as %s but its inputs give %s; the graph is malformed",
               info->name, id, type_str(n->dtype, &n->shape, b1, sizeof b1), type_str(t, &s, b2, sizeof b2));
    return -1;
  }
  if (too_large(&n->shape)) {
    diag_error(d, n->loc, "%s: node %%%d (%s) is too large to interpret", info->name, id,
               type_str(n->dtype, &n->shape, b1, sizeof b1));
    return -1;
  }
  return 0;
}

/* An input or weight node must find a tensor of exactly its dtype and shape. */
static int check_source(const Node *n, const TensorSet *inputs, const TensorSet *weights, Diag *d) {
  const char *kind = n->op == OP_INPUT ? "input" : "weight";
  const TensorSet *set = n->op == OP_INPUT ? inputs : weights;
  const Tensor *t = set ? tset_get(set, n->name) : NULL;
  char b1[160], b2[160];
  if (!t) {
    diag_error(d, n->loc, "missing %s '%s'", kind, n->name);
    return -1;
  }
  if (t->dtype != n->dtype || !shape_eq(&t->shape, &n->shape)) {
    diag_error(d, n->loc, "%s '%s': expected %s, got %s", kind, n->name, type_str(n->dtype, &n->shape, b1, sizeof b1),
               type_str(t->dtype, &t->shape, b2, sizeof b2));
    return -1;
  }
  return 0;
}

/* ---- sources ---- */

static void eval_source(const Node *n, const TensorSet *inputs, const TensorSet *weights, const Tensor *seed,
                        Tensor *out) {
  int64_t no = shape_numel(&out->shape), o[IR_MAX_RANK];
  switch (n->op) {
  case OP_INPUT:
  case OP_WEIGHT:
    /* checked: same dtype and shape, so the bytes are the value */
    memcpy(out->data, tset_get(n->op == OP_INPUT ? inputs : weights, n->name)->data, tensor_nbytes(out));
    break;
  case OP_CONST: {
    double v = ir_attr_f(n, "value");
    for (int64_t i = 0; i < no; i++) tensor_set(out, i, v);
    break;
  }
  case OP_IOTA: {
    int64_t axis = ir_attr_i(n, "axis");
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(&out->shape, i, o);
      tensor_set(out, i, (double)o[axis]);
    }
    break;
  }
  case OP_RANDOM: {
    /* key word 0 is the i32 seed's bit pattern, key word 1 the stream's low 32 bits */
    uint32_t s = (uint32_t)(int32_t)tensor_get(seed, 0);
    uint32_t stream = (uint32_t)ir_attr_i(n, "stream");
    for (int64_t i = 0; i < no; i++) tensor_set(out, i, philox_uniform(s, stream, (uint64_t)i));
    break;
  }
  default:
    break;
  }
}

/* ---- elementwise ---- */

/* NaN propagates through max and min (like torch.maximum), so a NaN is never hidden. */
static double max_nan(double a, double b) {
  if (isnan(a)) return a;
  if (isnan(b)) return b;
  return a > b ? a : b;
}

static double min_nan(double a, double b) {
  if (isnan(a)) return a;
  if (isnan(b)) return b;
  return a < b ? a : b;
}

static double unary_float(OpKind op, double x) {
  switch (op) {
  case OP_NEG: return -x;
  case OP_ABS: return fabs(x);
  case OP_EXP: return exp(x);
  case OP_LOG: return log(x);
  case OP_SQRT: return sqrt(x);
  case OP_RSQRT: return 1.0 / sqrt(x);
  case OP_TANH: return tanh(x);
  case OP_ERF: return erf(x);
  case OP_RECIP: return 1.0 / x;
  case OP_FLOOR: return floor(x);
  case OP_NOT: return x == 0;
  default: return x; /* cast: tensor_set converts to the output dtype */
  }
}

static void eval_unary(const Node *n, const Tensor *x, Tensor *out) {
  int64_t no = shape_numel(&out->shape);
  int ints = x->dtype == DT_I32 && (n->op == OP_NEG || n->op == OP_ABS);
  for (int64_t i = 0; i < no; i++) {
    double v = tensor_get(x, i);
    if (ints) {
      /* i32 in int64 so that -INT32_MIN wraps instead of overflowing */
      int64_t a = (int64_t)v;
      tensor_set(out, i, (double)interp_wrap32(n->op == OP_NEG || a < 0 ? -a : a));
    } else {
      tensor_set(out, i, unary_float(n->op, v));
    }
  }
}

/* f32, f64 and bool operands; comparisons give 0/1. */
static double binary_float(OpKind op, double a, double b) {
  switch (op) {
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  case OP_DIV: return a / b;
  case OP_MAX: return max_nan(a, b);
  case OP_MIN: return min_nan(a, b);
  case OP_POW: return pow(a, b);
  case OP_LT: return a < b;
  case OP_LE: return a <= b;
  case OP_EQ: return a == b;
  case OP_AND: return a != 0 && b != 0;
  case OP_OR: return a != 0 || b != 0;
  default: return 0;
  }
}

/* i32 operands, in int64 and wrapped to 32 bits; -1 on division by zero. */
static int binary_int(OpKind op, int64_t a, int64_t b, int64_t *r) {
  switch (op) {
  case OP_ADD: *r = interp_wrap32(a + b); break;
  case OP_SUB: *r = interp_wrap32(a - b); break;
  case OP_MUL: *r = interp_wrap32(a * b); break;
  case OP_DIV:
    if (b == 0) return -1;
    *r = interp_wrap32(a / b); /* C division truncates toward zero */
    break;
  case OP_MAX: *r = a > b ? a : b; break;
  case OP_MIN: *r = a < b ? a : b; break;
  case OP_LT: *r = a < b; break;
  case OP_LE: *r = a <= b; break;
  case OP_EQ: *r = a == b; break;
  default: *r = 0; break;
  }
  return 0;
}

static int eval_binary(const Node *n, const Tensor *a, const Tensor *b, Tensor *out, Diag *d) {
  int64_t no = shape_numel(&out->shape);
  for (int64_t i = 0; i < no; i++) {
    double x = tensor_get(a, i), y = tensor_get(b, i);
    if (a->dtype != DT_I32) {
      tensor_set(out, i, binary_float(n->op, x, y));
      continue;
    }
    int64_t r;
    if (binary_int(n->op, (int64_t)x, (int64_t)y, &r)) {
      char b1[160];
      Shape at = {.rank = out->shape.rank}; /* a multi-index, printed like a shape */
      interp_unravel(&out->shape, i, at.d);
      diag_error(d, n->loc, "div: integer division by zero at element %s (%lld / 0)",
                 shape_str(&at, b1, sizeof b1), (long long)x);
      return -1;
    }
    tensor_set(out, i, (double)r);
  }
  return 0;
}

static void eval_where(const Tensor *c, const Tensor *a, const Tensor *b, Tensor *out) {
  int64_t no = shape_numel(&out->shape);
  for (int64_t i = 0; i < no; i++) tensor_set(out, i, tensor_get(c, i) != 0 ? tensor_get(a, i) : tensor_get(b, i));
}

/* ---- reductions ---- */

/* Every input element is added into (or maxed with) its output element, found by
 * dropping the reduced axes (or setting them to 0 with keepdims). Floats accumulate in
 * double, i32 in int64 wrapped to 32 bits; each output is rounded once at the end. */
static void eval_reduce(const Node *n, const Tensor *x, Tensor *out) {
  int cnt, keep = (int)ir_attr_i(n, "keepdims"), is_max = n->op == OP_REDUCE_MAX, ints = x->dtype == DT_I32;
  const int64_t *axes = ir_attr_is(n, "axes", &cnt);
  int reduced[IR_MAX_RANK] = {0};
  for (int k = 0; k < cnt; k++) reduced[axes[k]] = 1;
  int64_t nx = shape_numel(&x->shape), no = shape_numel(&out->shape);
  size_t cells = (size_t)(no ? no : 1);
  double *facc = malloc(cells * sizeof *facc);
  int64_t *iacc = malloc(cells * sizeof *iacc);
  if (!facc || !iacc) abort();
  for (int64_t j = 0; j < no; j++) {
    facc[j] = is_max ? -INFINITY : 0.0;
    iacc[j] = is_max ? INT32_MIN : 0;
  }
  int64_t xi[IR_MAX_RANK], oi[IR_MAX_RANK];
  for (int64_t i = 0; i < nx; i++) {
    interp_unravel(&x->shape, i, xi);
    int r = 0;
    for (int k = 0; k < x->shape.rank; k++) {
      if (!reduced[k]) oi[r++] = xi[k];
      else if (keep) oi[r++] = 0;
    }
    int64_t j = interp_ravel(&out->shape, oi);
    double v = tensor_get(x, i);
    if (ints) {
      int64_t a = (int64_t)v;
      iacc[j] = is_max ? (a > iacc[j] ? a : iacc[j]) : interp_wrap32(iacc[j] + a);
    } else {
      facc[j] = is_max ? max_nan(facc[j], v) : facc[j] + v;
    }
  }
  for (int64_t j = 0; j < no; j++) tensor_set(out, j, ints ? (double)iacc[j] : facc[j]);
  free(facc);
  free(iacc);
}

/* ---- the driver ---- */

static int eval(const Node *n, Tensor *const *vals, const TensorSet *inputs, const TensorSet *weights,
                Tensor *out, Diag *d) {
  const Tensor **in = n->nin ? malloc(sizeof *in * (size_t)n->nin) : NULL;
  if (n->nin && !in) abort();
  for (int k = 0; k < n->nin; k++) in[k] = vals[n->in[k]];
  int rc = 0;
  switch (op_info(n->op)->cls) {
  case OPC_SOURCE:
  case OPC_RANDOM: eval_source(n, inputs, weights, n->nin ? in[0] : NULL, out); break;
  case OPC_UNARY: eval_unary(n, in[0], out); break;
  case OPC_BINARY: rc = eval_binary(n, in[0], in[1], out, d); break;
  case OPC_SELECT: eval_where(in[0], in[1], in[2], out); break;
  case OPC_REDUCE: eval_reduce(n, in[0], out); break;
  case OPC_MOVE: interp_move(n, in, n->nin, out); break;
  case OPC_INDEX: rc = interp_index(n, in, out, d); break;
  case OPC_CONTRACT: interp_contract(n, in[0], in[1], out); break;
  case OPC_HIGH: rc = -1; break; /* refused by check_node */
  }
  free(in);
  return rc;
}

int interp_run(const Graph *g, const TensorSet *inputs, const TensorSet *weights, TensorSet *outputs, Diag *d) {
  for (int i = 0; i < g->n; i++)
    if (check_node(g, i, d)) return -1;
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id < 0 || g->outs[k].id >= g->n) {
      diag_error(d, SRCLOC_NONE, "output '%s' refers to node %%%d, which does not exist", g->outs[k].name,
                 g->outs[k].id);
      return -1;
    }
  /* every input and weight must be given, used or not: they are the graph's interface */
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if ((n->op == OP_INPUT || n->op == OP_WEIGHT) && check_source(n, inputs, weights, d)) return -1;
  }

  /* Only what the outputs need runs, so a dead node cannot fail the run. Inputs come
   * before their users, so one backward sweep marks everything. */
  char *live = calloc((size_t)(g->n ? g->n : 1), 1);
  Tensor **vals = calloc((size_t)(g->n ? g->n : 1), sizeof *vals);
  if (!live || !vals) abort();
  for (int k = 0; k < g->nout; k++) live[g->outs[k].id] = 1;
  for (int i = g->n - 1; i >= 0; i--)
    if (live[i])
      for (int k = 0; k < g->nodes[i].nin; k++) live[g->nodes[i].in[k]] = 1;

  int rc = 0;
  for (int i = 0; i < g->n && !rc; i++) {
    if (!live[i]) continue;
    const Node *n = &g->nodes[i];
    vals[i] = tensor_new(n->dtype, n->shape);
    rc = eval(n, vals, inputs, weights, vals[i], d);
  }
  if (!rc)
    for (int k = 0; k < g->nout; k++) tset_put(outputs, g->outs[k].name, tensor_copy(vals[g->outs[k].id]));
  for (int i = 0; i < g->n; i++) tensor_free(vals[i]);
  free(vals);
  free(live);
  return rc;
}
