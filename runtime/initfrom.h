/* initfrom.h — a model's starting weights taken by name from a weights file, for
 * fine-tuning from a pre-trained model: every weight the file has (with the model's
 * shape) is loaded, every other one is initialised as the model says (init.h), tensors
 * the model does not have (a pre-training head, a mask token) are ignored. A shape that
 * differs is an error, except for a position embedding (a weight named `pos_embed` or
 * ending in `.pos_embed`, [1, 1 + g*g, D]) over another square patch grid: its grid part
 * is resized bicubically (torch's interpolate(mode='bicubic', align_corners=False), as
 * BEiT resizes it when fine-tuning at another resolution) and the CLS row kept. */
#ifndef MIMIC_INITFROM_H
#define MIMIC_INITFROM_H
#include <stdint.h>

#include "ir/ir.h"
#include "tensor.h"

#define INIT_MAX_GRID 256 /* the largest patch grid side a position embedding is resized to */

typedef struct InitReport {
  int total;        /* the model's weights */
  int loaded;       /* taken from the file (interpolated ones included) */
  int interpolated; /* position embeddings resized */
  int unused;       /* tensors of the file the model does not have */
  char fresh[160];  /* the first initialised weights' names, for the summary line */
} InitReport;

/* w receives one tensor per weight of `model`. `file` names the file and `at` the recipe
 * key, for messages. 0, or -1 after reporting. */
int init_from(const Graph *model, uint64_t seed, const TensorSet *tensors, const char *file, SrcLoc at,
              TensorSet *w, InitReport *rep, Diag *d);

/* The grid part of src [1, 1 + gi*gi, D] resized to go*go (bicubic), CLS row kept:
 * a new f32 tensor [1, 1 + go*go, D]. */
Tensor *init_resize_pos_embed(const Tensor *src, int64_t gi, int64_t go);

#endif
