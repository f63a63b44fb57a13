/* idx.h — reading Fashion-MNIST's IDX files from the examples, with nothing but libc.
 * The files are gzip-compressed; they are read through `gzip -dc` (popen) rather than
 * zlib so that a program links with exactly what an AOT object needs, libc and libm. A
 * file not ending in .gz is read as is. Define _POSIX_C_SOURCE 200809L (popen) before
 * including anything. */
#ifndef MIMIC_EXAMPLE_IDX_H
#define MIMIC_EXAMPLE_IDX_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* Open an IDX file, through gzip when it is compressed. *piped says how to close it. */
static FILE *open_idx(const char *path, int *piped) {
  size_t n = strlen(path);
  *piped = n > 3 && !strcmp(path + n - 3, ".gz");
  if (!*piped) return fopen(path, "rb");
  if (strchr(path, '\'')) return NULL; /* it is quoted for the shell below */
  char cmd[4200];
  if (snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path) >= (int)sizeof cmd) return NULL;
  return popen(cmd, "r");
}

static void close_idx(FILE *f, int piped) {
  if (piped) pclose(f); /* gzip may have been stopped early: its status does not matter */
  else fclose(f);
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The first n items of an IDX file: images (magic 0x803, 3 dims) or labels (0x801, 1
 * dim); *item is the bytes per item. Returns malloc'd bytes or NULL after a message. */
static unsigned char *read_idx(const char *prog, const char *path, uint32_t magic, long n, long *item) {
  int piped;
  FILE *f = open_idx(path, &piped);
  if (!f) {
    fprintf(stderr, "%s: cannot open %s\n", prog, path);
    return NULL;
  }
  int ndim = (int)(magic & 0xff);
  unsigned char hdr[16];
  unsigned char *data = NULL;
  if (fread(hdr, 4, (size_t)ndim + 1, f) != (size_t)ndim + 1 || be32(hdr) != magic) {
    fprintf(stderr, "%s: %s: not an IDX file of this kind\n", prog, path);
    goto out;
  }
  *item = 1;
  for (int k = 1; k < ndim; k++) *item *= (long)be32(hdr + 4 + 4 * k);
  if ((long)be32(hdr + 4) < n) {
    fprintf(stderr, "%s: %s has only %lu items\n", prog, path, (unsigned long)be32(hdr + 4));
    goto out;
  }
  data = malloc((size_t)(n * *item));
  if (!data || fread(data, (size_t)*item, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "%s: %s: cannot read %ld items\n", prog, path, n);
    free(data);
    data = NULL;
  }
out:
  close_idx(f, piped);
  return data;
}

#endif
