/* npy.h — read and write NumPy .npy files (format versions 1.0, 2.0 and 3.0 on read, 1.0
 * on write): C-order, little-endian <f4, <f8, <i4, <i8 and |b1, any rank up to 8
 * (including scalars and empty arrays). Reading is strict: a bad magic, header, dtype,
 * Fortran order, big-endian data, or data that is short or followed by extra bytes is
 * one error at {path,0,0} and a non-zero return. */
#ifndef MIMIC_NPY_H
#define MIMIC_NPY_H
#include "support/diag.h"
#include "tensor.h"

/* 0 and a new tensor in *out; on error -1 and *out = NULL. */
int npy_read(const char *path, Tensor **out, Diag *d);
/* Write atomically (see afile.h); bf16 has no .npy dtype and is an error. 0 ok. */
int npy_write(const char *path, const Tensor *t, Diag *d);

#endif
