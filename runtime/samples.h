/* samples.h — a picture of what a model saw and made on one validation batch: a PNG
 * (image.h) with one row of the first images, a row of the same images with their masked
 * patches painted gray (when there is a mask), and a row of the model's reconstructions
 * (when it makes them). Written next to the log by the tokenizer and pre-training runs. */
#ifndef MIMIC_SAMPLES_H
#define MIMIC_SAMPLES_H
#include "tensor.h"

/* images f32 [batch, c, h, w] (normalised when std > 0: x * std + mean gives [0, 1]);
 * recon the same shape in [0, 1], or NULL; mask [batch, cells] over a square patch grid,
 * or NULL. At most `n` columns. 0, or -1 after reporting. */
int samples_png(const char *path, const Tensor *images, const Tensor *recon, const Tensor *mask, double mean,
                double std, int n, Diag *d);

#endif
