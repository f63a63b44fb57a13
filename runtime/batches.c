/* batches.c — classification or segmentation batches behind one interface (batches.h). */
#include "batches.h"

#include <string.h>

void bsrc_init(BatchSrc *s, const Dataset *ds, const SegSet *seg, int64_t batch, uint32_t seed, int shuffle,
               int crop_pad, int flip) {
  memset(s, 0, sizeof *s);
  s->ds = ds;
  s->seg = seg;
  s->batch = batch;
  if (ds) batcher_init(&s->b, ds, batch, seed, shuffle, crop_pad, flip);
  else seg_batcher_init(&s->sb, seg, batch, seed, shuffle, flip);
}

void bsrc_free(BatchSrc *s) {
  if (s->ds) batcher_free(&s->b);
  else if (s->seg) seg_batcher_free(&s->sb);
  s->ds = NULL;
  s->seg = NULL;
}

int64_t bsrc_count(const Dataset *ds, const SegSet *seg) {
  return ds ? ds->n : seg ? seg->n : 0;
}

int64_t bsrc_steps_per_epoch(const BatchSrc *s) {
  return s->ds ? batcher_steps_per_epoch(&s->b) : seg_batcher_steps_per_epoch(&s->sb);
}

void bsrc_tensors(const BatchSrc *s, Tensor **images, Tensor **labels) {
  const Tensor *ti = s->ds ? s->ds->images : s->seg->images;
  *images = tensor_new(DT_F32, shape_of(4, (int64_t[]){s->batch, ti->shape.d[1], ti->shape.d[2], ti->shape.d[3]}));
  if (s->ds) *labels = tensor_new(DT_I32, shape_of(1, &s->batch));
  else {
    const Tensor *tl = s->seg->labels;
    *labels = tensor_new(DT_I32, shape_of(3, (int64_t[]){s->batch, tl->shape.d[1], tl->shape.d[2]}));
  }
}

void bsrc_get(BatchSrc *s, int64_t step, Tensor *images, Tensor *labels) {
  if (s->ds) batcher_get(&s->b, step, images, labels);
  else seg_batcher_get(&s->sb, step, images, labels);
}
