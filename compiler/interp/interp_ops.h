/* interp_ops.h — internal to the interpreter: index arithmetic shared by its files and
 * the op families implemented in interp_ops.c (movement, indexing, contraction).
 * interp.c validates the graph first, so every function here may assume the node's
 * inputs, attributes, dtype and shape obey the rules in compiler/ir/shapes.c. */
#ifndef MIMIC_INTERP_OPS_H
#define MIMIC_INTERP_OPS_H
#include <stdint.h>

#include "ir/ir.h"
#include "support/diag.h"
#include "tensor.h"

/* Row-major multi-index of linear index i in shape s (last axis fastest). */
static inline void interp_unravel(const Shape *s, int64_t i, int64_t *idx) {
  for (int k = s->rank - 1; k >= 0; k--) {
    idx[k] = s->d[k] ? i % s->d[k] : 0;
    i = s->d[k] ? i / s->d[k] : 0;
  }
}

/* Linear index of multi-index idx in shape s. */
static inline int64_t interp_ravel(const Shape *s, const int64_t *idx) {
  int64_t i = 0;
  for (int k = 0; k < s->rank; k++) i = i * s->d[k] + idx[k];
  return i;
}

/* An integer result wrapped to 32 bits, two's complement. Done by hand because C leaves
 * the conversion of an out-of-range value to int32_t implementation-defined. */
static inline int64_t interp_wrap32(int64_t v) {
  uint32_t u = (uint32_t)v;
  return u <= INT32_MAX ? (int64_t)u : (int64_t)u - 4294967296LL;
}

/* reshape, permute, broadcast, slice, pad, concat. Cannot fail. */
void interp_move(const Node *n, const Tensor *const *in, int nin, Tensor *out);
/* gather, scatter_add, one_hot. Returns -1 after reporting a bad index at n->loc. */
int interp_index(const Node *n, const Tensor *const *in, Tensor *out, Diag *d);
/* matmul, conv. Cannot fail. */
void interp_contract(const Node *n, const Tensor *a, const Tensor *b, Tensor *out);

#endif
