/* tensor.c — host tensors and named tensor sets; see tensor.h.
 *
 * Element conversion rules (tensor_set, tensor_convert):
 *   f32   nearest float (C's double -> float conversion, round to nearest even)
 *   f64   exact
 *   bf16  nearest f32 first, then round-to-nearest-even to the top 16 bits; NaN stays NaN
 *   i32, i64  truncation toward zero, saturated at the type's range, NaN -> 0 (a plain C
 *         cast of an out-of-range double is undefined behaviour, which we never want to
 *         depend on)
 *   bool  v != 0
 * Integer-to-integer conversions go through int64 so that i64 values above 2^53 are not
 * rounded on the way. */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENSOR_ALIGN 64

static void *xalloc_aligned(size_t n) {
  /* aligned_alloc wants a multiple of the alignment; an empty tensor still gets a block
   * so that data is never NULL. */
  size_t sz = n ? (n + TENSOR_ALIGN - 1) / TENSOR_ALIGN * TENSOR_ALIGN : TENSOR_ALIGN;
  void *p = sz >= n ? aligned_alloc(TENSOR_ALIGN, sz) : NULL;
  if (!p) {
    fprintf(stderr, "mimic: out of memory allocating a tensor of %zu bytes\n", n);
    abort();
  }
  return memset(p, 0, sz);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "mimic: out of memory\n");
    abort();
  }
  return q;
}

Tensor *tensor_new(DType t, Shape s) {
  Tensor *x = xrealloc(NULL, sizeof *x);
  x->dtype = t;
  x->shape = s;
  x->data = xalloc_aligned(tensor_nbytes(x));
  return x;
}

Tensor *tensor_copy(const Tensor *t) {
  Tensor *x = tensor_new(t->dtype, t->shape);
  memcpy(x->data, t->data, tensor_nbytes(t));
  return x;
}

int tensor_same(const Tensor *a, const Tensor *b) {
  return a && b && a->dtype == b->dtype && shape_eq(&a->shape, &b->shape) && !memcmp(a->data, b->data, tensor_nbytes(a));
}

void tensor_free(Tensor *t) {
  if (!t) return;
  free(t->data);
  free(t);
}

size_t tensor_nbytes(const Tensor *t) {
  return (size_t)shape_numel(&t->shape) * dtype_size(t->dtype);
}

/* ---- bf16 ---- */

static float bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
    return (uint16_t)((u >> 16) | 0x0040u); /* NaN: keep sign, force a quiet payload */
  u += 0x7fffu + ((u >> 16) & 1u);          /* round to nearest, ties to even */
  return (uint16_t)(u >> 16);
}

/* ---- element access ---- */

static int64_t sat_i64(double v, double lo, double hi, int64_t ilo, int64_t ihi) {
  if (v != v) return 0;
  if (v <= lo) return ilo;
  if (v >= hi) return ihi;
  return (int64_t)v;
}

double tensor_get(const Tensor *t, int64_t i) {
  const char *p = t->data;
  switch (t->dtype) {
    case DT_F32: return ((const float *)p)[i];
    case DT_F64: return ((const double *)p)[i];
    case DT_I32: return ((const int32_t *)p)[i];
    case DT_I64: return (double)((const int64_t *)p)[i];
    case DT_BOOL: return ((const uint8_t *)p)[i] != 0;
    case DT_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
    default: return 0;
  }
}

void tensor_set(Tensor *t, int64_t i, double v) {
  char *p = t->data;
  switch (t->dtype) {
    case DT_F32: ((float *)p)[i] = (float)v; break;
    case DT_F64: ((double *)p)[i] = v; break;
    case DT_I32:
      ((int32_t *)p)[i] = (int32_t)sat_i64(v, -2147483648.0, 2147483647.0, INT32_MIN, INT32_MAX);
      break;
    case DT_I64:
      /* 2^63 is the first double above INT64_MAX; -2^63 is exact */
      ((int64_t *)p)[i] = sat_i64(v, -9223372036854775808.0, 9223372036854775808.0, INT64_MIN,
                                  INT64_MAX);
      break;
    case DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case DT_BF16: ((uint16_t *)p)[i] = f32_to_bf16((float)v); break;
    default: break;
  }
}

static int is_int(DType t) {
  return t == DT_I32 || t == DT_I64 || t == DT_BOOL;
}

static int64_t get_int(const Tensor *t, int64_t i) {
  switch (t->dtype) {
    case DT_I32: return ((const int32_t *)t->data)[i];
    case DT_I64: return ((const int64_t *)t->data)[i];
    default: return ((const uint8_t *)t->data)[i] != 0;
  }
}

static void set_int(Tensor *t, int64_t i, int64_t v) {
  switch (t->dtype) {
    case DT_I32:
      ((int32_t *)t->data)[i] = v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
      break;
    case DT_I64: ((int64_t *)t->data)[i] = v; break;
    default: ((uint8_t *)t->data)[i] = v != 0; break;
  }
}

Tensor *tensor_convert(const Tensor *t, DType to) {
  if (t->dtype == to) return tensor_copy(t);
  Tensor *x = tensor_new(to, t->shape);
  int64_t n = shape_numel(&t->shape);
  if (is_int(t->dtype) && is_int(to)) {
    for (int64_t i = 0; i < n; i++) set_int(x, i, get_int(t, i));
  } else {
    for (int64_t i = 0; i < n; i++) tensor_set(x, i, tensor_get(t, i));
  }
  return x;
}

/* ---- tensor sets ---- */

void tset_init(TensorSet *s) {
  memset(s, 0, sizeof *s);
}

void tset_free(TensorSet *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->names[i]);
    tensor_free(s->t[i]);
  }
  free(s->names);
  free(s->t);
  tset_init(s);
}

static int find(const TensorSet *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->names[i], name)) return i;
  return -1;
}

void tset_put(TensorSet *s, const char *name, Tensor *t) {
  int i = find(s, name);
  if (i >= 0) {
    if (s->t[i] != t) tensor_free(s->t[i]);
    s->t[i] = t;
    return;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 8;
    s->names = xrealloc(s->names, (size_t)s->cap * sizeof *s->names);
    s->t = xrealloc(s->t, (size_t)s->cap * sizeof *s->t);
  }
  size_t len = strlen(name) + 1;
  s->names[s->n] = memcpy(xrealloc(NULL, len), name, len);
  s->t[s->n++] = t;
}

Tensor *tset_get(const TensorSet *s, const char *name) {
  int i = find(s, name);
  return i >= 0 ? s->t[i] : NULL;
}
