/* tensorio_harness.h — what the tensor-file tests share: writing and reading raw bytes
 * in the scratch directory (scratch.h), the last diagnostic's message, shapes, tensors
 * of every dtype with varied values, and counting temporary files left beside the
 * targets. */
#ifndef MIMIC_TEST_TENSORIO_HARNESS_H
#define MIMIC_TEST_TENSORIO_HARNESS_H
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "npy.h"
#include "safetensors.h"
#include "tensor.h"

static inline void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(p, 1, n, f) == n);
  fclose(f);
}

/* Whole file into a malloc'd buffer; *n its length. */
static inline unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  *n = 0;
  if (!f) return NULL;
  unsigned char *b = malloc(1 << 20);
  *n = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

/* The message of the last diagnostic, without "path: error: ". */
static inline const char *msg(const Diag *d) {
  const char *p = strstr(d->last, ": error: ");
  return p ? p + 9 : d->last;
}

static inline Shape shp(int rank, ...) {
  Shape s = {0};
  va_list ap;
  va_start(ap, rank);
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = va_arg(ap, int);
  va_end(ap);
  return s;
}

/* Temporary files left beside the targets ("NAME.tmp.XXXXXX"). */
static inline int count_tmp_files(void) {
  DIR *dd = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (dd && (e = readdir(dd)))
    if (strstr(e->d_name, ".tmp.")) n++;
  if (dd) closedir(dd);
  return n;
}

/* A tensor of each dtype filled with varied values. */
static inline Tensor *filled(DType dt, Shape s) {
  Tensor *t = tensor_new(dt, s);
  int64_t n = shape_numel(&s);
  for (int64_t i = 0; i < n; i++) tensor_set(t, i, dt == DT_BOOL ? (double)(i % 3 == 0) : (double)i * 1.25 - 7);
  return t;
}

/* ---- safetensors ------------------------------------------------------------------- */

#endif
