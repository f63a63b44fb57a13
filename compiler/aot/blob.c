/* blob.c — the weights region image of an AOT object (every weight at its layout offset)
 * and the blob file that carries it (aot.h gives the format; NAME_init_file reads it). */
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "aot/aot.h"

int aot_weights_image(const Graph *g, const CgLayout *l, const TensorSet *ws, const char *wpath, void **image,
                      Diag *d) {
  size_t n = (size_t)l->size[CG_WEIGHTS];
  /* calloc: the gaps between weights are zeros, so the same weights give the same bytes */
  unsigned char *img = calloc(n ? n : 1, 1);
  if (!img) {
    diag_error(d, SRCLOC_NONE, "out of memory (%zu bytes for the weights image)", n);
    return -1;
  }
  SrcLoc at = {wpath, 0, 0};
  char want[128], got[128];
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (nd->op != OP_WEIGHT) continue;
    const CgSlot *s = &l->slot[i];
    const Tensor *t = tset_get(ws, nd->name);
    shape_str(&nd->shape, want, sizeof want);
    if (!t) {
      diag_error(d, at, "missing weight '%s' (%s%s)", nd->name, dtype_name(nd->dtype), want);
      goto fail;
    }
    shape_str(&t->shape, got, sizeof got);
    int convertible = t->dtype == DT_BF16 && nd->dtype == DT_F32;
    if (!shape_eq(&t->shape, &nd->shape) || (t->dtype != nd->dtype && !convertible)) {
      diag_error(d, at, "weight '%s' is %s%s but the model needs %s%s", nd->name, dtype_name(t->dtype), got,
                 dtype_name(nd->dtype), want);
      goto fail;
    }
    if (s->region != CG_WEIGHTS || s->offset < 0 || s->offset + s->bytes > l->size[CG_WEIGHTS]) {
      diag_error(d, nd->loc, "internal error: weight '%s' has no place in the weights region", nd->name);
      goto fail;
    }
    Tensor *c = t->dtype == nd->dtype ? NULL : tensor_convert(t, nd->dtype);
    memcpy(img + s->offset, (c ? c : t)->data, (size_t)s->bytes);
    tensor_free(c);
  }
  *image = img;
  return 0;
fail:
  free(img);
  return -1;
}

uint64_t aot_fnv1a64(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static void put_le64(unsigned char *p, uint64_t v) {
  for (int k = 0; k < 8; k++) p[k] = (unsigned char)(v >> (8 * k));
}

void aot_blob_put(AFile *a, const void *image, size_t n) {
  unsigned char hdr[AOT_BLOB_HEADER];
  memcpy(hdr, AOT_BLOB_MAGIC, 8);
  put_le64(hdr + 8, n);
  put_le64(hdr + 16, aot_fnv1a64(image, n));
  afile_write(a, hdr, sizeof hdr);
  afile_write(a, image, n);
}
