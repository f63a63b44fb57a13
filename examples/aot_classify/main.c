/* main.c — classify Fashion-MNIST test images with an AOT-compiled ViT (vit.o, vit.h from
 * `mimic compile`): a plain C11 program that needs neither mimic nor LLVM.
 *
 * usage: classify [-n N] [--data DIR] [--blob W.bin] [--logits OUT.txt]
 *   -n N          how many test images, from the first (default 8)
 *   --data DIR    the folder of the IDX files (default: Debian's dataset-fashion-mnist)
 *   --blob W.bin  load the weights from a blob file (vit_init_file), not the embedded ones
 *   --logits F    write each image's logits to F, one line per image, as %.9g
 *
 * The IDX files are read with ../common/idx.h (gzip through popen: libc only). */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/idx.h"
#include "vit.h"
#define AT_LEAST_1(n) ((n) > 0 ? (n) : 1) /* a region may be empty; a C array may not */

/* The three regions, static and aligned: no allocation at all. vit_run only reads the
 * weights, so one weights region can serve any number of act/io pairs. */
static _Alignas(VIT_ALIGN) unsigned char weights[AT_LEAST_1(VIT_WEIGHTS_SIZE)];
static _Alignas(VIT_ALIGN) unsigned char act[AT_LEAST_1(VIT_ACT_SIZE)];
static _Alignas(VIT_ALIGN) unsigned char io[AT_LEAST_1(VIT_IO_SIZE)];

static const char *classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

int main(int argc, char **argv) {
  long n = 8;
  const char *dir = DEFAULT_DATA, *blob = NULL, *logits_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-n") && v) n = strtol(v, NULL, 10), i++;
    else if (!strcmp(a, "--data") && v) dir = v, i++;
    else if (!strcmp(a, "--blob") && v) blob = v, i++;
    else if (!strcmp(a, "--logits") && v) logits_path = v, i++;
    else {
      fprintf(stderr, "usage: classify [-n N] [--data DIR] [--blob W.bin] [--logits OUT.txt]\n");
      return 2;
    }
  }
  if (n < 1) {
    fprintf(stderr, "classify: -n needs a positive count\n");
    return 2;
  }

  /* 1. the weights: from a blob file, or the copy built into the object */
  if (blob) {
    if (vit_init_file(weights, blob)) {
      fprintf(stderr, "classify: %s\n", vit_error());
      return 1;
    }
  } else {
#ifdef VIT_HAS_EMBEDDED_WEIGHTS
    if (vit_init_embedded(weights)) {
      fprintf(stderr, "classify: %s\n", vit_error());
      return 1;
    }
#else
    fprintf(stderr, "classify: vit.o has no weights built in: give --blob W.bin\n");
    return 2;
#endif
  }

  /* 2. the data */
  char ipath[4096], lpath[4096];
  snprintf(ipath, sizeof ipath, "%s/t10k-images-idx3-ubyte.gz", dir);
  snprintf(lpath, sizeof lpath, "%s/t10k-labels-idx1-ubyte.gz", dir);
  long isize, lsize;
  unsigned char *px = read_idx("classify", ipath, 0x803, n, &isize);
  unsigned char *lb = px ? read_idx("classify", lpath, 0x801, n, &lsize) : NULL;
  if (!lb) {
    free(px);
    return 1;
  }
  const long batch = VIT_BATCH, per_image = VIT_IN_PIXELS_NUMEL / VIT_BATCH;
  const long ncls = VIT_OUT_LOGITS_NUMEL / VIT_BATCH;
  if (isize != per_image) {
    fprintf(stderr, "classify: images of %ld pixels, but the model takes %ld\n", isize, per_image);
    return 1;
  }
  FILE *lf = logits_path ? fopen(logits_path, "w") : NULL;
  if (logits_path && !lf) {
    fprintf(stderr, "classify: cannot write %s\n", logits_path);
    return 1;
  }

  /* 3. batches of VIT_BATCH images; the last one is padded with blank images */
  long correct = 0;
  for (long first = 0; first < n; first += batch) {
    long m = n - first < batch ? n - first : batch;
    float *pixels = VIT_IN_PIXELS(io);
    memset(pixels, 0, sizeof(float) * VIT_IN_PIXELS_NUMEL);
    for (long k = 0; k < m * per_image; k++) pixels[k] = px[first * per_image + k] / 255.0f;
#ifdef VIT_IN_LABELS_OFFSET /* the model also computes the loss */
    int32_t *labels = VIT_IN_LABELS(io);
    memset(labels, 0, sizeof(int32_t) * VIT_IN_LABELS_NUMEL);
    for (long k = 0; k < m; k++) labels[k] = lb[first + k];
#endif
    vit_run(weights, act, io);
    const float *logits = VIT_OUT_LOGITS(io);
    for (long k = 0; k < m; k++) {
      const float *row = logits + k * ncls;
      long best = 0;
      for (long c = 1; c < ncls; c++)
        if (row[c] > row[best]) best = c;
      correct += best == lb[first + k];
      printf("image %ld: predicted %ld (%s), label %d (%s)\n", first + k, best, best < 10 ? classes[best] : "?",
             lb[first + k], lb[first + k] < 10 ? classes[lb[first + k]] : "?");
      for (long c = 0; lf && c < ncls; c++) fprintf(lf, c ? " %.9g" : "%.9g", row[c]);
      if (lf) fputc('\n', lf);
    }
#ifdef VIT_OUT_LOSS_OFFSET
    if (m == batch) printf("  mean loss of images %ld..%ld: %.6f\n", first, first + m - 1, *VIT_OUT_LOSS(io));
#endif
  }
  printf("%ld of %ld correct\n", correct, n);
  free(px);
  free(lb);
  if (lf && fclose(lf)) {
    fprintf(stderr, "classify: cannot write %s\n", logits_path);
    return 1;
  }
  return 0;
}
