/* interp_ops.c — the interpreter's movement, indexing and contraction ops. Each one
 * walks its output (or, for scatter_add, its updates) in row-major order, turns the
 * linear index into a multi-index, and computes which input elements it reads: the
 * definition of the op written as a loop, with no cleverness to get wrong. */
#include <stdio.h>
#include <stdlib.h>

#include "interp/interp_ops.h"

/* ---- movement ---- */

void interp_move(const Node *n, const Tensor *const *in, int nin, Tensor *out) {
  const Tensor *x = in[0];
  const Shape *os = &out->shape, *xs = &x->shape;
  int64_t no = shape_numel(os), o[IR_MAX_RANK], xi[IR_MAX_RANK];
  int cnt;

  switch (n->op) {
  case OP_RESHAPE:
    /* row-major on both sides: element i stays element i */
    for (int64_t i = 0; i < no; i++) tensor_set(out, i, tensor_get(x, i));
    break;

  case OP_PERMUTE: {
    const int64_t *perm = ir_attr_is(n, "perm", &cnt);
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(os, i, o);
      for (int k = 0; k < os->rank; k++) xi[perm[k]] = o[k]; /* out.d[k] = x.d[perm[k]] */
      tensor_set(out, i, tensor_get(x, interp_ravel(xs, xi)));
    }
    break;
  }

  case OP_BROADCAST: {
    int off = os->rank - xs->rank; /* x's axes line up with the output's last ones */
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(os, i, o);
      for (int k = 0; k < xs->rank; k++) xi[k] = xs->d[k] == 1 ? 0 : o[k + off];
      tensor_set(out, i, tensor_get(x, interp_ravel(xs, xi)));
    }
    break;
  }

  case OP_SLICE: {
    const int64_t *start = ir_attr_is(n, "start", &cnt), *step = ir_attr_is(n, "step", &cnt);
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(os, i, o);
      for (int k = 0; k < xs->rank; k++) xi[k] = start[k] + o[k] * step[k];
      tensor_set(out, i, tensor_get(x, interp_ravel(xs, xi)));
    }
    break;
  }

  case OP_PAD: {
    const int64_t *lo = ir_attr_is(n, "lo", &cnt);
    double value = ir_attr_f(n, "value");
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(os, i, o);
      int inside = 1;
      for (int k = 0; k < xs->rank; k++) {
        xi[k] = o[k] - lo[k];
        if (xi[k] < 0 || xi[k] >= xs->d[k]) inside = 0;
      }
      tensor_set(out, i, inside ? tensor_get(x, interp_ravel(xs, xi)) : value);
    }
    break;
  }

  case OP_CONCAT: {
    int64_t axis = ir_attr_i(n, "axis");
    for (int64_t i = 0; i < no; i++) {
      interp_unravel(os, i, o);
      /* walk past the inputs that lie before this position along the axis */
      int j = 0;
      int64_t pos = o[axis];
      while (j < nin - 1 && pos >= in[j]->shape.d[axis]) pos -= in[j++]->shape.d[axis];
      for (int k = 0; k < os->rank; k++) xi[k] = k == axis ? pos : o[k];
      tensor_set(out, i, tensor_get(in[j], interp_ravel(&in[j]->shape, xi)));
    }
    break;
  }

  default:
    break;
  }
}

/* ---- indexing ---- */

/* Every index must lie in [0, limit); checked before any output is written. */
static int check_indices(const Node *n, const Tensor *idx, int64_t limit, const char *what, Diag *d) {
  int64_t ni = shape_numel(&idx->shape);
  for (int64_t j = 0; j < ni; j++) {
    int64_t v = (int64_t)tensor_get(idx, j);
    if (v < 0 || v >= limit) {
      char b1[160];
      Shape at = {.rank = idx->shape.rank}; /* a multi-index, printed like a shape */
      interp_unravel(&idx->shape, j, at.d);
      diag_error(d, n->loc, "%s: index %lld at position %s of the indices is out of range [0, %lld) %s",
                 op_info(n->op)->name, (long long)v, shape_str(&at, b1, sizeof b1), (long long)limit, what);
      return -1;
    }
  }
  return 0;
}

/* out[pre, j..., post] = x[pre, idx[j...], post] */
static void gather(const Node *n, const Tensor *x, const Tensor *idx, Tensor *out) {
  int axis = (int)ir_attr_i(n, "axis"), r = idx->shape.rank;
  int64_t no = shape_numel(&out->shape), o[IR_MAX_RANK], xi[IR_MAX_RANK];
  for (int64_t i = 0; i < no; i++) {
    interp_unravel(&out->shape, i, o);
    int64_t k = (int64_t)tensor_get(idx, interp_ravel(&idx->shape, o + axis));
    for (int a = 0; a < x->shape.rank; a++) xi[a] = a < axis ? o[a] : a == axis ? k : o[a - 1 + r];
    tensor_set(out, i, tensor_get(x, interp_ravel(&x->shape, xi)));
  }
}

/* out = 0; out[pre, idx[j...], post] += upd[pre, j..., post]. Repeated indices add up. */
static void scatter_add(const Node *n, const Tensor *upd, const Tensor *idx, Tensor *out) {
  int axis = (int)ir_attr_i(n, "axis"), r = idx->shape.rank, ints = upd->dtype == DT_I32;
  int64_t nu = shape_numel(&upd->shape), no = shape_numel(&out->shape), u[IR_MAX_RANK], oi[IR_MAX_RANK];
  size_t cells = (size_t)(no ? no : 1);
  double *facc = calloc(cells, sizeof *facc);
  int64_t *iacc = calloc(cells, sizeof *iacc);
  if (!facc || !iacc) abort();
  for (int64_t i = 0; i < nu; i++) {
    interp_unravel(&upd->shape, i, u);
    int64_t k = (int64_t)tensor_get(idx, interp_ravel(&idx->shape, u + axis));
    for (int a = 0; a < out->shape.rank; a++) oi[a] = a < axis ? u[a] : a == axis ? k : u[a - 1 + r];
    int64_t j = interp_ravel(&out->shape, oi);
    double v = tensor_get(upd, i);
    if (ints) iacc[j] = interp_wrap32(iacc[j] + (int64_t)v);
    else facc[j] += v;
  }
  for (int64_t j = 0; j < no; j++) tensor_set(out, j, ints ? (double)iacc[j] : facc[j]);
  free(facc);
  free(iacc);
}

/* out[j..., k] = idx[j...] == k; an index outside [0, depth) matches no k, so its row is
 * all zero (how masked losses ignore a row). */
static void one_hot(const Tensor *idx, Tensor *out) {
  int r = idx->shape.rank;
  int64_t no = shape_numel(&out->shape), o[IR_MAX_RANK];
  for (int64_t i = 0; i < no; i++) {
    interp_unravel(&out->shape, i, o);
    double v = tensor_get(idx, interp_ravel(&idx->shape, o));
    tensor_set(out, i, v == (double)o[r] ? 1.0 : 0.0);
  }
}

int interp_index(const Node *n, const Tensor *const *in, Tensor *out, Diag *d) {
  char what[200], b1[160];
  switch (n->op) {
  case OP_GATHER: {
    int64_t axis = ir_attr_i(n, "axis");
    snprintf(what, sizeof what, "along axis %lld of %s%s", (long long)axis, dtype_name(in[0]->dtype),
             shape_str(&in[0]->shape, b1, sizeof b1));
    if (check_indices(n, in[1], in[0]->shape.d[axis], what, d)) return -1;
    gather(n, in[0], in[1], out);
    return 0;
  }
  case OP_SCATTER_ADD:
    snprintf(what, sizeof what, "for size %lld", (long long)ir_attr_i(n, "size"));
    if (check_indices(n, in[1], ir_attr_i(n, "size"), what, d)) return -1;
    scatter_add(n, in[0], in[1], out);
    return 0;
  case OP_ONE_HOT:
    one_hot(in[0], out);
    return 0;
  default:
    return 0;
  }
}

/* ---- contraction ---- */

/* out[b..., m, n] = sum_k A[b..., m, k] * B[b..., k, n], where A is a (or a with its last
 * two axes swapped when ta) and B likewise. */
static void matmul(const Node *n, const Tensor *a, const Tensor *b, Tensor *out) {
  int ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb"), r = out->shape.rank;
  int64_t K = ta ? a->shape.d[r - 2] : a->shape.d[r - 1];
  int64_t no = shape_numel(&out->shape), o[IR_MAX_RANK], ai[IR_MAX_RANK], bi[IR_MAX_RANK];
  for (int64_t i = 0; i < no; i++) {
    interp_unravel(&out->shape, i, o);
    for (int k = 0; k < r - 2; k++) ai[k] = bi[k] = o[k];
    int64_t m = o[r - 2], nn = o[r - 1];
    double s = 0;
    for (int64_t k = 0; k < K; k++) {
      ai[r - 2] = ta ? k : m;
      ai[r - 1] = ta ? m : k;
      bi[r - 2] = tb ? nn : k;
      bi[r - 1] = tb ? k : nn;
      s += tensor_get(a, interp_ravel(&a->shape, ai)) * tensor_get(b, interp_ravel(&b->shape, bi));
    }
    tensor_set(out, i, s);
  }
}

/* out[b, o, y, x] = sum_{c,p,q} in[b, c, y*sy + p - py, x*sx + q - px] * w[o, c, p, q],
 * with zeros outside the input (symmetric padding). Cross-correlation, like PyTorch. */
static void conv(const Node *n, const Tensor *x, const Tensor *w, Tensor *out) {
  int cnt;
  const int64_t *st = ir_attr_is(n, "stride", &cnt), *pd = ir_attr_is(n, "pad", &cnt);
  const int64_t *xs = x->shape.d, *ws = w->shape.d;
  int64_t no = shape_numel(&out->shape), o[4];
  for (int64_t i = 0; i < no; i++) {
    interp_unravel(&out->shape, i, o);
    double s = 0;
    for (int64_t c = 0; c < ws[1]; c++)
      for (int64_t p = 0; p < ws[2]; p++)
        for (int64_t q = 0; q < ws[3]; q++) {
          int64_t y = o[2] * st[0] + p - pd[0], xx = o[3] * st[1] + q - pd[1];
          if (y < 0 || y >= xs[2] || xx < 0 || xx >= xs[3]) continue;
          int64_t xi[4] = {o[0], c, y, xx}, wi[4] = {o[1], c, p, q};
          s += tensor_get(x, interp_ravel(&x->shape, xi)) * tensor_get(w, interp_ravel(&w->shape, wi));
        }
    tensor_set(out, i, s);
  }
}

void interp_contract(const Node *n, const Tensor *a, const Tensor *b, Tensor *out) {
  if (n->op == OP_MATMUL) matmul(n, a, b, out);
  else conv(n, a, b, out);
}
