/* tensor.h — host tensors (dtype, shape, owned data) and named tensor sets: what the
 * runtime, the interpreter and the weight/tensor file readers pass around. */
#ifndef MIMIC_TENSOR_H
#define MIMIC_TENSOR_H
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct Tensor {
  DType dtype;
  Shape shape;
  void *data;    /* numel * dtype_size bytes, malloc'd, owned, 64-byte aligned */
} Tensor;

Tensor *tensor_new(DType t, Shape s);        /* zero-filled */
Tensor *tensor_copy(const Tensor *t);
/* Whether a and b are both there with the same dtype, shape and bytes (NaNs included). */
int tensor_same(const Tensor *a, const Tensor *b);
void tensor_free(Tensor *t);
size_t tensor_nbytes(const Tensor *t);
/* Element i as a double / store a double (rounded to the tensor's dtype). */
double tensor_get(const Tensor *t, int64_t i);
void tensor_set(Tensor *t, int64_t i, double v);
/* New tensor of dtype `to` with converted elements (bf16 <-> f32, i64 -> i32, ...). */
Tensor *tensor_convert(const Tensor *t, DType to);

/* A set of named tensors (weights, inputs, outputs). Names are owned by the set. */
typedef struct TensorSet {
  int n, cap;
  char **names;
  Tensor **t;
} TensorSet;

void tset_init(TensorSet *s);
void tset_free(TensorSet *s);                /* frees names and tensors */
/* Adds (taking ownership of t); replaces and frees an existing tensor of that name. */
void tset_put(TensorSet *s, const char *name, Tensor *t);
Tensor *tset_get(const TensorSet *s, const char *name);   /* NULL if absent */

#endif
