/* idx.c — IDX reader (magic 0x0803 for u8 images, 0x0801 for u8 labels), through zlib so
 * that both .gz and plain files work. Everything is validated against the header. */
#include "idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const char *idx_fashion_dir(void) {
  const char *e = getenv("MIMIC_DATA");
  return e && *e ? e : IDX_FASHION_DIR;
}

/* Read exactly n bytes; -1 on a short read. */
static int read_all(gzFile f, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0) return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens, checks the magic for `ndim` dimensions, returns the dims. */
static gzFile open_idx(const char *path, int ndim, uint32_t *dims, Diag *d) {
  SrcLoc loc = {path, 0, 0};
  gzFile f = gzopen(path, "rb");
  if (!f) {
    diag_error(d, loc, "cannot open: %s", strerror(errno));
    return NULL;
  }
  unsigned char hdr[16];
  if (read_all(f, hdr, 4 + 4 * (size_t)ndim)) {
    diag_error(d, loc, "truncated IDX header");
    gzclose(f);
    return NULL;
  }
  if (hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] != ndim) {
    diag_error(d, loc, "not an IDX file of unsigned bytes with %d dimension%s (magic %02x%02x%02x%02x)", ndim,
               ndim == 1 ? "" : "s", hdr[0], hdr[1], hdr[2], hdr[3]);
    gzclose(f);
    return NULL;
  }
  for (int i = 0; i < ndim; i++) dims[i] = be32(hdr + 4 + 4 * i);
  return f;
}

static int read_items(gzFile f, const char *path, uint32_t total, size_t item, int64_t offset, int64_t *count,
                      unsigned char **out, Diag *d) {
  SrcLoc loc = {path, 0, 0};
  if (offset < 0 || offset > total) {
    diag_error(d, loc, "offset %lld is outside the %u items", (long long)offset, total);
    return -1;
  }
  if (*count < 0 || *count > (int64_t)total - offset) *count = (int64_t)total - offset;
  size_t skip = (size_t)offset * item, n = (size_t)*count * item;
  unsigned char *buf = malloc(n ? n : 1);
  if (!buf) return -1;
  if (gzseek(f, (z_off_t)(skip + (size_t)gztell(f)), SEEK_SET) < 0 || read_all(f, buf, n)) {
    diag_error(d, loc, "truncated: the header promises %u items", total);
    free(buf);
    return -1;
  }
  *out = buf;
  return 0;
}

int idx_read_images(const char *path, int64_t offset, int64_t count, Tensor **out, Diag *d) {
  uint32_t dims[3];
  gzFile f = open_idx(path, 3, dims, d);
  if (!f) return -1;
  unsigned char *px;
  int rc = read_items(f, path, dims[0], (size_t)dims[1] * dims[2], offset, &count, &px, d);
  gzclose(f);
  if (rc) return -1;
  Tensor *t = tensor_new(DT_F32, shape_of(4, (int64_t[]){count, 1, dims[1], dims[2]}));
  float *p = t->data;
  for (size_t i = 0; i < (size_t)count * dims[1] * dims[2]; i++) p[i] = px[i] / 255.0f;
  free(px);
  *out = t;
  return 0;
}

int idx_read_labels(const char *path, int64_t offset, int64_t count, Tensor **out, Diag *d) {
  uint32_t dims[1];
  gzFile f = open_idx(path, 1, dims, d);
  if (!f) return -1;
  unsigned char *lb;
  int rc = read_items(f, path, dims[0], 1, offset, &count, &lb, d);
  gzclose(f);
  if (rc) return -1;
  Tensor *t = tensor_new(DT_I32, shape_of(1, (int64_t[]){count}));
  int32_t *p = t->data;
  for (int64_t i = 0; i < count; i++) p[i] = lb[i];
  free(lb);
  *out = t;
  return 0;
}
