/* idx.h — the IDX format of (Fashion-)MNIST, gzip-compressed or plain: images as f32
 * [n, 1, rows, cols] scaled to [0, 1], labels as i32 [n]. */
#ifndef MIMIC_IDX_H
#define MIMIC_IDX_H
#include "tensor.h"

/* Where Debian's dataset-fashion-mnist puts the files; $MIMIC_DATA overrides. */
#define IDX_FASHION_DIR "/usr/share/datasets/fashion-mnist"
const char *idx_fashion_dir(void);

/* Read `count` items starting at `offset` (count < 0: all the rest). 0 or -1 (reported). */
int idx_read_images(const char *path, int64_t offset, int64_t count, Tensor **out, Diag *d);
int idx_read_labels(const char *path, int64_t offset, int64_t count, Tensor **out, Diag *d);

#endif
