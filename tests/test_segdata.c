/* test_segdata.c — segmentation canvases and the metrics that score them.
 *
 * Canvases are checked against a reference composed here a different way (per pixel,
 * the topmost item that is foreground there, found by searching down from the top) on a
 * synthetic source and on Fashion-MNIST: >= 2 items each, labels in [0, 10], label > 0
 * exactly where some item's pixel exceeds the threshold, with the top item's class;
 * generation is a function of (seed, stream, index); test canvases come from the test
 * split. Batches keep image and label map together. Confusion/IoU on hand-made cases
 * with answers worked out in the comments. The Fashion-MNIST parts skip without it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "idx.h"
#include "metrics.h"
#include "segdata.h"

static Diag D;
static int have_data;

/* ---- a synthetic source: 12 images 28x28, a bright rectangle on a faint ground ---- */

static Dataset synth(void) {
  Dataset ds = {0};
  int64_t m = 12;
  ds.images = tensor_new(DT_F32, shape_of(4, (int64_t[]){m, 1, 28, 28}));
  ds.labels = tensor_new(DT_I32, shape_of(1, &m));
  ds.n = m;
  float *x = ds.images->data;
  for (int64_t j = 0; j < m; j++) {
    ((int32_t *)ds.labels->data)[j] = (int32_t)(j % 10);
    for (int y = 0; y < 28; y++)
      for (int c = 0; c < 28; c++) {
        int in = y >= 3 + (int)j && y < 20 + (int)j / 2 && c >= 2 + (int)j && c < 25 - (int)j / 3;
        /* a faint ground (below the threshold) so the "keep the brighter" rule matters */
        x[(j * 28 + y) * 28 + c] = in ? 0.3f + 0.05f * (float)j + 0.01f * (float)((y + c) % 5) : 0.02f * (float)(c % 3);
      }
  }
  return ds;
}

/* Per pixel: the topmost item whose downscaled pixel exceeds the threshold gives label
 * and value; where there is none, label 0 and the brightest covering value (0 if none).
 * Compared exactly with the canvas (before normalisation). Returns mismatching pixels. */
static int64_t reference_mismatches(const SegSet *ss, const Dataset *src, const SegConfig *c, int64_t i) {
  int64_t h = c->height, w = c->width, bad = 0;
  int sh = (int)src->images->shape.d[2], sw = (int)src->images->shape.d[3], n = ss->nitems[i];
  const SegItem *it = ss->items + i * ss->max_items;
  float *small[16];
  for (int k = 0; k < n; k++) {
    small[k] = malloc(sizeof(float) * (size_t)(it[k].size * it[k].size));
    seg_downscale((const float *)src->images->data + it[k].src * sh * sw, sh, sw, small[k], it[k].size, it[k].size);
  }
  const float *img = (const float *)ss->images->data + i * h * w;
  const int32_t *lab = (const int32_t *)ss->labels->data + i * h * w;
  for (int64_t y = 0; y < h; y++)
    for (int64_t x = 0; x < w; x++) {
      int32_t want = 0;
      float v = 0, dim = 0;
      for (int k = n - 1; k >= 0 && !want; k--) {
        int64_t yy = y - it[k].y, xx = x - it[k].x;
        if (yy < 0 || xx < 0 || yy >= it[k].size || xx >= it[k].size) continue;
        float p = small[k][yy * it[k].size + xx];
        if (p > c->threshold) {
          want = it[k].cls + 1;
          v = p;
        } else if (p > dim) {
          dim = p;
        }
      }
      if (!want) v = dim;
      bad += lab[y * w + x] != want || img[y * w + x] != v;
    }
  for (int k = 0; k < n; k++) free(small[k]);
  return bad;
}

/* Structure of every canvas: item count, items inside the canvas and from the source,
 * labels in range, and the reference composition. */
static void check_set(const SegSet *ss, const Dataset *src, const SegConfig *c) {
  int counts_ok = 1, items_ok = 1, range_ok = 1, fg_ok = 1;
  int64_t mismatches = 0, hw = (int64_t)c->height * c->width;
  for (int64_t i = 0; i < ss->n; i++) {
    int n = ss->nitems[i];
    counts_ok &= n >= 2 && n <= c->max_items;
    for (int k = 0; k < n; k++) {
      const SegItem *it = &ss->items[i * ss->max_items + k];
      items_ok &= it->src >= 0 && it->src < src->n && it->cls == ((int32_t *)src->labels->data)[it->src] &&
                  it->size >= c->min_size && it->size <= c->max_size && it->y >= 0 && it->x >= 0 &&
                  it->y + it->size <= c->height && it->x + it->size <= c->width;
    }
    for (int64_t p = 0; p < hw; p++) {
      int32_t l = ((int32_t *)ss->labels->data)[i * hw + p];
      float v = ((float *)ss->images->data)[i * hw + p];
      range_ok &= l >= 0 && l < SEG_CLASSES;
      fg_ok &= (l > 0) == (v > c->threshold);
    }
    mismatches += reference_mismatches(ss, src, c, i);
  }
  CHECK(counts_ok);
  CHECK(items_ok);
  CHECK(range_ok);
  CHECK(fg_ok);
  CHECK_INT(mismatches, 0);
}

/* ---- tests ---- */

static void test_downscale(void) {
  /* 4x4 -> 2x2: means of 2x2 blocks */
  float a[16], o[4];
  for (int i = 0; i < 16; i++) a[i] = (float)i;
  seg_downscale(a, 4, 4, o, 2, 2);
  CHECK_NEAR(o[0], (0 + 1 + 4 + 5) / 4.0, 1e-7);
  CHECK_NEAR(o[3], (10 + 11 + 14 + 15) / 4.0, 1e-7);
  /* 3x3 -> 2x2: an output pixel covers 1.5 x 1.5 source pixels, so out[0][0] weighs
   * a00 by 1, a01 and a10 by 1/2, a11 by 1/4, over 2.25:
   * (0 + 1/2 + 3/2 + 4/4) / 2.25 = 3 / 2.25 = 4/3 for a = 0..8 row-major */
  seg_downscale(a, 3, 3, o, 2, 2);
  CHECK_NEAR(o[0], 4.0 / 3.0, 1e-6);
  CHECK_NEAR(o[3], 8 - 4.0 / 3.0, 1e-6); /* by symmetry: a[8-i] = 8 - a[i] */
  /* to one pixel: the mean; to the same size: the identity */
  seg_downscale(a, 4, 4, o, 1, 1);
  CHECK_NEAR(o[0], 7.5, 1e-7);
  float b[16];
  seg_downscale(a, 4, 4, b, 4, 4);
  CHECK(!memcmp(a, b, sizeof a));
}

static void test_canvases(void) {
  Dataset src = synth();
  SegConfig c = seg_defaults();
  c.seed = 5;
  SegSet ss;
  CHECK_INT(seg_build(&ss, &src, 300, &c, 1, &D), 0);
  CHECK_INT(ss.images->shape.rank, 4);
  CHECK_INT(ss.images->shape.d[1], 1);
  CHECK_INT(ss.images->shape.d[2], 28);
  CHECK_INT(ss.labels->shape.rank, 3);
  CHECK_INT(ss.labels->shape.d[0], 300);
  check_set(&ss, &src, &c);
  /* over 300 canvases both 2 and 3 items occur, and items overlap (the reference check
   * above then covers occlusion) */
  int saw2 = 0, saw3 = 0, overlaps = 0;
  for (int64_t i = 0; i < ss.n; i++) {
    saw2 |= ss.nitems[i] == 2;
    saw3 |= ss.nitems[i] == 3;
    const SegItem *it = ss.items + i * ss.max_items;
    overlaps += it[0].y < it[1].y + it[1].size && it[1].y < it[0].y + it[0].size && it[0].x < it[1].x + it[1].size &&
                it[1].x < it[0].x + it[0].size;
  }
  CHECK(saw2 && saw3);
  CHECK(overlaps > 100);

  /* a bigger canvas, a random scale range, up to 5 items */
  SegConfig c2 = c;
  c2.height = c2.width = 56;
  c2.max_items = 5;
  c2.min_size = 10;
  c2.max_size = 28;
  SegSet s2;
  CHECK_INT(seg_build(&s2, &src, 200, &c2, 1, &D), 0);
  CHECK_INT(s2.images->shape.d[3], 56);
  check_set(&s2, &src, &c2);
  int sizes[29] = {0}, counts[6] = {0};
  for (int64_t i = 0; i < s2.n; i++) {
    counts[s2.nitems[i]]++;
    for (int k = 0; k < s2.nitems[i]; k++) sizes[s2.items[i * s2.max_items + k].size]++;
  }
  CHECK(sizes[10] > 0 && sizes[28] > 0 && sizes[19] > 0);
  CHECK(counts[2] > 0 && counts[5] > 0);

  /* normalised as data_fashion normalises, after composing */
  SegConfig c3 = c;
  c3.mean = DATA_FASHION_MEAN;
  c3.std = DATA_FASHION_STD;
  SegSet s3;
  CHECK_INT(seg_build(&s3, &src, 300, &c3, 1, &D), 0);
  int norm_ok = 1;
  for (int64_t i = 0; i < shape_numel(&ss.images->shape); i++) {
    float raw = ((float *)ss.images->data)[i];
    norm_ok &= ((float *)s3.images->data)[i] == (float)((raw - DATA_FASHION_MEAN) / DATA_FASHION_STD);
  }
  CHECK(norm_ok);
  CHECK(!memcmp(ss.labels->data, s3.labels->data, tensor_nbytes(ss.labels)));
  seg_free(&ss);
  seg_free(&s2);
  seg_free(&s3);
  data_free(&src);
}

static void test_determinism(void) {
  Dataset src = synth();
  SegConfig c = seg_defaults();
  c.seed = 11;
  SegSet a, b, e, f, g;
  CHECK_INT(seg_build(&a, &src, 50, &c, 7, &D), 0);
  CHECK_INT(seg_build(&b, &src, 50, &c, 7, &D), 0);
  CHECK(!memcmp(a.images->data, b.images->data, tensor_nbytes(a.images)));
  CHECK(!memcmp(a.labels->data, b.labels->data, tensor_nbytes(a.labels)));
  /* canvas i depends on i alone, not on how many are built */
  CHECK_INT(seg_build(&e, &src, 20, &c, 7, &D), 0);
  CHECK(!memcmp(a.labels->data, e.labels->data, tensor_nbytes(e.labels)));
  CHECK(!memcmp(a.images->data, e.images->data, tensor_nbytes(e.images)));
  /* another seed, another stream: other canvases */
  c.seed = 12;
  CHECK_INT(seg_build(&f, &src, 50, &c, 7, &D), 0);
  CHECK(memcmp(a.labels->data, f.labels->data, tensor_nbytes(a.labels)) != 0);
  c.seed = 11;
  CHECK_INT(seg_build(&g, &src, 50, &c, 8, &D), 0);
  CHECK(memcmp(a.labels->data, g.labels->data, tensor_nbytes(a.labels)) != 0);
  /* the sets of one seed get distinct streams */
  CHECK(seg_stream("train", 0) != seg_stream("train", 55000));
  CHECK(seg_stream("train", 0) != seg_stream("test", 0));
  CHECK_INT(seg_stream("test", 0), seg_stream("test", 0));
  seg_free(&a);
  seg_free(&b);
  seg_free(&e);
  seg_free(&f);
  seg_free(&g);
  data_free(&src);
}

static void test_errors(void) {
  Dataset src = synth();
  SegSet ss;
  SegConfig c = seg_defaults();
  D.quiet = 1;
  c.max_items = 1;
  CHECK_INT(seg_build(&ss, &src, 4, &c, 0, &D), -1);
  CHECK(strstr(D.last, "max_items must be at least 2") != NULL);
  c = seg_defaults();
  c.max_size = 29;
  CHECK_INT(seg_build(&ss, &src, 4, &c, 0, &D), -1);
  CHECK(strstr(D.last, "max_size must fit the canvas") != NULL);
  c = seg_defaults();
  ((float *)src.images->data)[100] = -0.8f; /* what a normalised source looks like */
  CHECK_INT(seg_build(&ss, &src, 4, &c, 0, &D), -1);
  CHECK(strstr(D.last, "not in [0, 1]") != NULL);
  ((float *)src.images->data)[100] = 0;
  ((int32_t *)src.labels->data)[3] = 10;
  CHECK_INT(seg_build(&ss, &src, 4, &c, 0, &D), -1);
  CHECK(strstr(D.last, "source label 3 is 10") != NULL);
  CHECK(ss.images == NULL);
  seg_free(&ss); /* harmless on a failed build */
  D.quiet = 0;
  data_free(&src);
}

static void test_batches(void) {
  Dataset src = synth();
  SegConfig c = seg_defaults();
  SegSet ss;
  CHECK_INT(seg_build(&ss, &src, 40, &c, 3, &D), 0);
  SegBatcher a, b;
  seg_batcher_init(&a, &ss, 8, 42, 1, 1);
  seg_batcher_init(&b, &ss, 8, 42, 1, 1);
  CHECK_INT(seg_batcher_steps_per_epoch(&a), 5);
  Tensor *xa = tensor_new(DT_F32, shape_of(4, (int64_t[]){8, 1, 28, 28})), *xb = tensor_copy(xa);
  Tensor *ya = tensor_new(DT_I32, shape_of(3, (int64_t[]){8, 28, 28})), *yb = tensor_copy(ya);
  /* a batch is a function of the step, whatever was asked before */
  seg_batcher_get(&a, 13, xa, ya);
  seg_batcher_get(&b, 2, xb, yb);
  seg_batcher_get(&b, 13, xb, yb);
  CHECK(!memcmp(xa->data, xb->data, tensor_nbytes(xa)) && !memcmp(ya->data, yb->data, tensor_nbytes(ya)));
  seg_batcher_get(&b, 13 + 5, xb, yb); /* another epoch, another order */
  CHECK(memcmp(ya->data, yb->data, tensor_nbytes(ya)) != 0);
  /* one epoch shows every canvas once, its label map with it, mirrored or not together */
  int seen[40] = {0}, pairs_ok = 1, flipped = 0, plain = 0;
  for (int s = 0; s < 5; s++) {
    seg_batcher_get(&a, 5 + s, xa, ya);
    for (int k = 0; k < 8; k++) {
      int found = 0;
      for (int i = 0; i < 40 && !found; i++)
        for (int fl = 0; fl < 2 && !found; fl++) {
          int same = 1;
          for (int p = 0; p < 784 && same; p++) {
            int y = p / 28, x = p % 28, q = i * 784 + y * 28 + (fl ? 27 - x : x);
            same = ((float *)xa->data)[k * 784 + p] == ((float *)ss.images->data)[q] &&
                   ((int32_t *)ya->data)[k * 784 + p] == ((int32_t *)ss.labels->data)[q];
          }
          if (same) {
            found = 1;
            seen[i]++;
            fl ? flipped++ : plain++;
          }
        }
      pairs_ok &= found;
    }
  }
  int once = 1;
  for (int i = 0; i < 40; i++) once &= seen[i] == 1;
  CHECK(pairs_ok);
  CHECK(once);
  CHECK(flipped > 0 && plain > 0);
  seg_batcher_get(&a, 0, xa, NULL); /* labels are optional */
  tensor_free(xa);
  tensor_free(xb);
  tensor_free(ya);
  tensor_free(yb);
  seg_batcher_free(&a);
  seg_batcher_free(&b);
  seg_free(&ss);
  data_free(&src);
}

/* The Fashion-MNIST sets: test canvases are made of test images (their pixels retrace
 * exactly to the test split's), and train, val and test canvases differ. */
static void test_fashion(void) {
  if (!have_data) return;
  SegConfig c = seg_defaults();
  c.seed = 1;
  SegSet te, tr, va;
  CHECK_INT(seg_fashion(&te, "test", 0, -1, 200, &c, &D), 0);
  CHECK_INT(seg_fashion(&tr, "train", 0, 1000, 200, &c, &D), 0);
  CHECK_INT(seg_fashion(&va, "train", 59000, 1000, 200, &c, &D), 0);
  Dataset test_src, train_src;
  CHECK_INT(data_fashion(&test_src, "test", 0, -1, 0, 0, &D), 0);
  CHECK_INT(data_fashion(&train_src, "train", 0, 1000, 0, 0, &D), 0);
  check_set(&te, &test_src, &c);
  check_set(&tr, &train_src, &c);
  /* and the check has teeth: the same layouts retraced to train images do not match */
  int64_t bad = 0;
  SegSet fake = te;
  fake.items = malloc(sizeof *fake.items * (size_t)(te.n * te.max_items));
  memcpy(fake.items, te.items, sizeof *fake.items * (size_t)(te.n * te.max_items));
  for (int64_t i = 0; i < te.n * te.max_items; i++) fake.items[i].src %= 1000;
  for (int64_t i = 0; i < te.n; i++) bad += reference_mismatches(&fake, &train_src, &c, i) > 0;
  CHECK(bad > te.n * 9 / 10);
  free(fake.items);
  /* every class appears, and the sets differ */
  int hist[SEG_CLASSES] = {0};
  for (int64_t p = 0; p < shape_numel(&te.labels->shape); p++) hist[((int32_t *)te.labels->data)[p]]++;
  int all = 1;
  for (int k = 0; k < SEG_CLASSES; k++) all &= hist[k] > 0;
  CHECK(all);
  CHECK(hist[0] > hist[1]); /* background dominates, as it should on 28x28 with 14x14 items */
  CHECK(memcmp(tr.labels->data, va.labels->data, tensor_nbytes(tr.labels)) != 0);
  CHECK(memcmp(tr.labels->data, te.labels->data, tensor_nbytes(tr.labels)) != 0);
  /* the ground truth scored against itself */
  Confusion m;
  metric_conf_init(&m, SEG_CLASSES, METRIC_NO_IGNORE);
  CHECK_INT(metric_conf_add_tensors(&m, te.labels, te.labels, &D), 0);
  CHECK_NEAR(metric_miou(&m, NULL), 1.0, 0);
  metric_conf_free(&m);
  data_free(&test_src);
  data_free(&train_src);
  seg_free(&te);
  seg_free(&tr);
  seg_free(&va);
}

/* ---- metrics ---- */

static void test_confusion(void) {
  Confusion m;
  int present;
  /* perfect: every IoU 1 */
  int32_t y[8] = {0, 0, 0, 1, 1, 2, 2, 2};
  metric_conf_init(&m, 3, METRIC_NO_IGNORE);
  metric_conf_add(&m, y, y, 8);
  CHECK_NEAR(metric_miou(&m, &present), 1.0, 0);
  CHECK_INT(present, 3);
  CHECK_NEAR(metric_pixel_accuracy(&m), 1.0, 0);
  metric_conf_free(&m);

  /* disjoint: labels all 0, predictions all 1; IoU(0) = 0 / 4, IoU(1) = 0 / 4, class 2
   * absent from both, so mIoU = 0 over 2 classes */
  int32_t z[4] = {0, 0, 0, 0}, o[4] = {1, 1, 1, 1};
  metric_conf_init(&m, 3, METRIC_NO_IGNORE);
  metric_conf_add(&m, o, z, 4);
  CHECK_NEAR(metric_miou(&m, &present), 0.0, 0);
  CHECK_INT(present, 2);
  CHECK(isnan(metric_iou(&m, 2)));
  CHECK_NEAR(metric_pixel_accuracy(&m), 0.0, 0);
  metric_conf_free(&m);

  /* a partial case with 4 classes, class 3 never seen:
   *   label 0 0 0 1 1 2 2 2
   *   pred  0 0 1 1 2 2 2 0
   * rows = label, columns = prediction:
   *         p0 p1 p2
   *   l0     2  1  0
   *   l1     0  1  1
   *   l2     1  0  2
   * IoU(0) = 2 / (3 labelled + 3 predicted - 2) = 2/4 = 1/2
   * IoU(1) = 1 / (2 + 2 - 1) = 1/3
   * IoU(2) = 2 / (3 + 3 - 2) = 2/4 = 1/2
   * mIoU = (1/2 + 1/3 + 1/2) / 3 = 4/9 (class 3 excluded, not counted as 0 or 1)
   * pixel accuracy = (2 + 1 + 2) / 8 = 5/8 */
  int32_t p[8] = {0, 0, 1, 1, 2, 2, 2, 0};
  metric_conf_init(&m, 4, METRIC_NO_IGNORE);
  metric_conf_add(&m, p, y, 8);
  CHECK_NEAR(metric_iou(&m, 0), 0.5, 1e-12);
  CHECK_NEAR(metric_iou(&m, 1), 1.0 / 3, 1e-12);
  CHECK_NEAR(metric_iou(&m, 2), 0.5, 1e-12);
  CHECK(isnan(metric_iou(&m, 3)));
  CHECK_NEAR(metric_miou(&m, &present), 4.0 / 9, 1e-12);
  CHECK_INT(present, 3);
  CHECK_NEAR(metric_pixel_accuracy(&m), 5.0 / 8, 1e-12);
  /* accumulating a second batch: the same pairs again change no ratio */
  metric_conf_add(&m, p, y, 8);
  CHECK_INT(metric_conf_total(&m), 16);
  CHECK_NEAR(metric_miou(&m, NULL), 4.0 / 9, 1e-12);
  /* a class predicted but never labelled counts with IoU 0: 3 predicted once more
   * against a label 0 makes IoU(3) = 0 and IoU(0) = 4 / (7 + 6 - 4) = 4/9, so
   * mIoU = (4/9 + 1/3 + 1/2 + 0) / 4 = 23/72 */
  int32_t p3 = 3, l0 = 0;
  metric_conf_add(&m, &p3, &l0, 1);
  CHECK_NEAR(metric_iou(&m, 3), 0.0, 0);
  CHECK_NEAR(metric_miou(&m, &present), 23.0 / 72, 1e-12);
  CHECK_INT(present, 4);
  /* reset starts over */
  metric_conf_reset(&m);
  CHECK_INT(metric_conf_total(&m), 0);
  CHECK(isnan(metric_miou(&m, &present)) && present == 0);
  CHECK(isnan(metric_pixel_accuracy(&m)));
  metric_conf_free(&m);
}

static void test_ignore(void) {
  Confusion m, ref;
  /* the partial case above with ignored pixels (label 255) mixed in, whatever their
   * prediction: nothing changes */
  int32_t y[12] = {0, 255, 0, 0, 1, 255, 1, 2, 2, 2, 255, 255}, p[12] = {0, 2, 0, 1, 1, 0, 2, 2, 2, 0, 1, 9};
  int32_t y0[8] = {0, 0, 0, 1, 1, 2, 2, 2}, p0[8] = {0, 0, 1, 1, 2, 2, 2, 0};
  metric_conf_init(&m, 3, 255);
  metric_conf_init(&ref, 3, METRIC_NO_IGNORE);
  metric_conf_add(&m, p, y, 12);
  metric_conf_add(&ref, p0, y0, 8);
  CHECK(!memcmp(m.count, ref.count, sizeof(int64_t) * 9));
  CHECK_INT(m.invalid, 0);
  CHECK_NEAR(metric_miou(&m, NULL), 4.0 / 9, 1e-12);
  /* without the ignore label those pixels are out of range: counted apart */
  metric_conf_free(&m);
  metric_conf_init(&m, 3, METRIC_NO_IGNORE);
  metric_conf_add(&m, p, y, 12);
  CHECK_INT(m.invalid, 4);
  CHECK_INT(metric_conf_total(&m), 8);
  /* ignoring a class in range (background, say) drops its row: with label 0 ignored,
   * IoU(1) = 1 / (2 + 1 - 1) = 1/2 (the column-1 hit from label 0 is gone),
   * IoU(2) = 2 / (3 + 3 - 2) = 1/2, IoU(0) = 0 / (0 + 1 - 0) = 0: mean 1/3 */
  metric_conf_free(&m);
  metric_conf_init(&m, 3, 0);
  metric_conf_add(&m, p0, y0, 8);
  CHECK_INT(metric_conf_total(&m), 5);
  CHECK_NEAR(metric_iou(&m, 1), 0.5, 1e-12);
  CHECK_NEAR(metric_iou(&m, 0), 0.0, 0);
  CHECK_NEAR(metric_miou(&m, NULL), 1.0 / 3, 1e-12);
  /* the tensor form checks its operands */
  Tensor *a = tensor_new(DT_I32, shape_of(3, (int64_t[]){2, 2, 2}));
  Tensor *b = tensor_new(DT_I32, shape_of(1, (int64_t[]){8}));
  Tensor *f = tensor_new(DT_F32, shape_of(1, (int64_t[]){8}));
  metric_conf_reset(&m);
  CHECK_INT(metric_conf_add_tensors(&m, a, b, &D), 0);
  CHECK_INT(metric_conf_total(&m), 0); /* all label 0, ignored */
  D.quiet = 1;
  CHECK_INT(metric_conf_add_tensors(&m, f, b, &D), -1);
  CHECK(strstr(D.last, "must be i32") != NULL);
  D.quiet = 0;
  tensor_free(a);
  tensor_free(b);
  tensor_free(f);
  metric_conf_free(&m);
  metric_conf_free(&ref);
}

static void test_argmax(void) {
  /* top-1: rows [0.1 0.7 0.2], [3 1 3] (a tie: the lower class, 0), [-1 -2 -0.5] */
  Tensor *lg = tensor_new(DT_F32, shape_of(2, (int64_t[]){3, 3}));
  Tensor *lab = tensor_new(DT_I32, shape_of(1, (int64_t[]){3}));
  float v[9] = {0.1f, 0.7f, 0.2f, 3, 1, 3, -1, -2, -0.5f};
  memcpy(lg->data, v, sizeof v);
  int32_t want[3] = {1, 2, 2};
  memcpy(lab->data, want, sizeof want);
  int64_t hits;
  CHECK_INT(metric_top1(lg, lab, &hits, &D), 0);
  CHECK_INT(hits, 2); /* row 1 says 0, not 2 */
  Tensor *l64 = tensor_convert(lg, DT_F64);
  CHECK_INT(metric_top1(l64, lab, &hits, &D), 0);
  CHECK_INT(hits, 2);
  /* argmax over C of [2, 3, 1, 2]: sample 0 pixels (c0, c1, c2) = (1, 5, 2) and (4, 0, 4),
   * sample 1 = (0, 0, 1) and (-3, -1, -2) */
  Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){2, 3, 1, 2}));
  Tensor *o = tensor_new(DT_I32, shape_of(3, (int64_t[]){2, 1, 2}));
  float xv[12] = {1, 4, 5, 0, 2, 4, /* sample 1 */ 0, -3, 0, -1, 1, -2};
  memcpy(x->data, xv, sizeof xv);
  CHECK_INT(metric_argmax(x, o, &D), 0);
  int32_t ow[4] = {1, 0, 2, 1};
  CHECK(!memcmp(o->data, ow, sizeof ow));
  Tensor *x64 = tensor_convert(x, DT_F64);
  memset(o->data, 0xff, tensor_nbytes(o));
  CHECK_INT(metric_argmax(x64, o, &D), 0);
  CHECK(!memcmp(o->data, ow, sizeof ow));
  /* shapes that do not fit */
  D.quiet = 1;
  Tensor *bad = tensor_new(DT_I32, shape_of(3, (int64_t[]){2, 2, 1}));
  CHECK_INT(metric_argmax(x, bad, &D), -1);
  CHECK(strstr(D.last, "argmax") != NULL);
  CHECK_INT(metric_top1(x, lab, &hits, &D), -1);
  D.quiet = 0;
  tensor_free(lg);
  tensor_free(lab);
  tensor_free(l64);
  tensor_free(x);
  tensor_free(x64);
  tensor_free(o);
  tensor_free(bad);
}

int main(void) {
  diag_init(&D);
  char lp[512];
  snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", idx_fashion_dir());
  have_data = access(lp, R_OK) == 0;
  if (!have_data) fprintf(stderr, "note: no Fashion-MNIST; the data parts are skipped\n");
  RUN(test_downscale);
  RUN(test_canvases);
  RUN(test_determinism);
  RUN(test_errors);
  RUN(test_batches);
  RUN(test_fashion);
  RUN(test_confusion);
  RUN(test_ignore);
  RUN(test_argmax);
  return CHECK_DONE();
}
