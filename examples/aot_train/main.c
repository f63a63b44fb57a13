/* main.c — train a ViT on Fashion-MNIST with an AOT-compiled training step (vit_train.o,
 * vit_train.h from `mimic compile --train`): forward, loss, backward and the AdamW update
 * all run inside vit_train_run; this program only feeds batches and the learning rate.
 * Plain C11 with libc and libm: no mimic, no LLVM.
 *
 * usage: train [-n STEPS] [--lr LR] [--wd WD] [--data DIR] [--save W.safetensors]
 *   -n STEPS      optimizer steps (default 20); batch t holds training images
 *                 [t*B, (t+1)*B), in file order, pixels in [0, 1] (B = VIT_TRAIN_BATCH)
 *   --lr LR       the learning rate, constant (default 1e-3)
 *   --wd WD       the weight decay (default 0.05)
 *   --save F      write the model's weights (not the optimizer state) as safetensors
 *
 * Prints the loss of every step. The weights start from the ones built into the object
 * (`--embed-weights`), the optimizer state from zero. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/idx.h"
#include "vit_train.h"

#define AT_LEAST_1(n) ((n) > 0 ? (n) : 1)

static _Alignas(VIT_TRAIN_ALIGN) unsigned char weights[AT_LEAST_1(VIT_TRAIN_WEIGHTS_SIZE)];
static _Alignas(VIT_TRAIN_ALIGN) unsigned char act[AT_LEAST_1(VIT_TRAIN_ACT_SIZE)];
static _Alignas(VIT_TRAIN_ALIGN) unsigned char io[AT_LEAST_1(VIT_TRAIN_IO_SIZE)];

/* The model's weights as safetensors: a JSON header of names, dtypes, shapes and offsets
 * (from the header's weight table), then the data. */
static int save(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t cap = 1 << 16, len = 0;
  char *h = malloc(cap);
  long long at = 0;
  len += (size_t)snprintf(h + len, cap - len, "{");
  for (int i = 0; i < VIT_TRAIN_NWEIGHTS; i++) {
    if (!strncmp(vit_train_weights[i].name, "opt.", 4)) continue;
    if (cap - len < 512) h = realloc(h, cap *= 2);
    long long bytes = vit_train_weights[i].numel * 4;
    len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", at ? "," : "",
                            vit_train_weights[i].name);
    for (int k = 0; k < vit_train_weights[i].rank; k++)
      len += (size_t)snprintf(h + len, cap - len, "%s%lld", k ? "," : "", vit_train_weights[i].shape[k]);
    len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%lld,%lld]}", at, at + bytes);
    at += bytes;
  }
  len += (size_t)snprintf(h + len, cap - len, "}");
  while (len % 8) h[len++] = ' ';
  unsigned char n8[8];
  for (int k = 0; k < 8; k++) n8[k] = (unsigned char)((unsigned long long)len >> (8 * k));
  int ok = fwrite(n8, 1, 8, f) == 8 && fwrite(h, 1, len, f) == len;
  for (int i = 0; ok && i < VIT_TRAIN_NWEIGHTS; i++)
    if (strncmp(vit_train_weights[i].name, "opt.", 4))
      ok = fwrite(weights + vit_train_weights[i].offset, 4, (size_t)vit_train_weights[i].numel, f) ==
           (size_t)vit_train_weights[i].numel;
  free(h);
  return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv) {
  long steps = 20;
  double lr = 1e-3, wd = 0.05;
  const char *dir = DEFAULT_DATA, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-n") && v) steps = strtol(v, NULL, 10), i++;
    else if (!strcmp(a, "--lr") && v) lr = strtod(v, NULL), i++;
    else if (!strcmp(a, "--wd") && v) wd = strtod(v, NULL), i++;
    else if (!strcmp(a, "--data") && v) dir = v, i++;
    else if (!strcmp(a, "--save") && v) out = v, i++;
    else {
      fprintf(stderr, "usage: train [-n STEPS] [--lr LR] [--wd WD] [--data DIR] [--save W.safetensors]\n");
      return 2;
    }
  }
  const long B = VIT_TRAIN_BATCH, n = steps * B;
  if (steps < 1) {
    fprintf(stderr, "train: -n needs a positive count\n");
    return 2;
  }
  if (vit_train_init_embedded(weights)) {
    fprintf(stderr, "train: %s\n", vit_train_error());
    return 1;
  }
  char ipath[4200], lpath[4200];
  snprintf(ipath, sizeof ipath, "%s/train-images-idx3-ubyte.gz", dir);
  snprintf(lpath, sizeof lpath, "%s/train-labels-idx1-ubyte.gz", dir);
  long isize = 0, lsize = 0;
  unsigned char *px = read_idx("train", ipath, 0x803, n, &isize);
  unsigned char *lb = px ? read_idx("train", lpath, 0x801, n, &lsize) : NULL;
  if (!px || !lb || isize != VIT_TRAIN_IN_PIXELS_NUMEL / B) {
    if (px && lb) fprintf(stderr, "train: images of %ld pixels, the model takes %ld\n", isize, (long)(VIT_TRAIN_IN_PIXELS_NUMEL / B));
    return 1;
  }
  float *pixels = VIT_TRAIN_IN_PIXELS(io);
  int32_t *labels = VIT_TRAIN_IN_LABELS(io);
  for (long t = 0; t < steps; t++) {
    for (long k = 0; k < B * isize; k++) pixels[k] = (float)px[t * B * isize + k] / 255.0f;
    for (long k = 0; k < B; k++) labels[k] = lb[t * B + k];
    *VIT_TRAIN_IN_OPT_LR(io) = (float)lr;
    *VIT_TRAIN_IN_OPT_WD(io) = (float)wd;
    *VIT_TRAIN_IN_OPT_STEP(io) = (float)(t + 1);
    vit_train_run(weights, act, io);
    vit_train_commit(weights, io);
    printf("step %ld loss %.6f grad_norm %.4f\n", t + 1, *VIT_TRAIN_OUT_LOSS(io), *VIT_TRAIN_OUT_GRAD_NORM(io));
    if (!isfinite(*VIT_TRAIN_OUT_LOSS(io))) {
      fprintf(stderr, "train: the loss diverged\n");
      return 1;
    }
  }
  free(px);
  free(lb);
  if (out && save(out)) {
    fprintf(stderr, "train: cannot write %s\n", out);
    return 1;
  }
  return 0;
}
