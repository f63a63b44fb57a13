/* safetensors.h — read and write the safetensors weight format (Hugging Face): an 8-byte
 * little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and
 * byte range, then the data. Reads F32, F64, I32, I64, BOOL and BF16; writes the same.
 * Reading is strict: any malformed header, bad range, gap, overlap, duplicate or wrong
 * size is one error at {path,0,0} and a non-zero return. */
#ifndef MIMIC_SAFETENSORS_H
#define MIMIC_SAFETENSORS_H
#include "support/diag.h"
#include "tensor.h"

/* Add the file's tensors to `out` (initialised by the caller; a tensor of the same name
 * is replaced), in the header's order. 0 ok; on error `out` is left unchanged. */
int st_read(const char *path, TensorSet *out, Diag *d);
/* Write `ts` atomically (see afile.h). Tensors are laid out as the reference writer does:
 * by element size, largest first, then by name, so each one is aligned to its element
 * size. 0 ok; on error no file is left behind and an existing one is untouched. */
int st_write(const char *path, const TensorSet *ts, Diag *d);

#endif
