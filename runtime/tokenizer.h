/* tokenizer.h — a frozen model run beside the training step to make one of its inputs:
 * BEiT's tokenizer, whose visual tokens are the targets of masked image modelling.
 *
 * tok_open loads the model file, keeps only the named output and what it needs (for
 * dvae.yaml's `tokens`: the encoder and the argmax, no decoder, no noise), lowers and
 * compiles it once (JIT, compile cache) at the step's batch size, and loads its weights by
 * name. tok_run then maps each batch's images to the output and stores it, converted, in
 * the step input's tensor (any shape with as many elements: [batch, 7, 7] tokens fill a
 * [batch, 49] input row-major). Images the data has normalised are first mapped back to
 * [0, 1] (x * std + mean), the range a dVAE tokenizer is trained on. */
#ifndef MIMIC_TOKENIZER_H
#define MIMIC_TOKENIZER_H
#include <stdint.h>

#include "frontend/frontend.h"
#include "jit/jit.h"
#include "sched_pool.h"
#include "tensor.h"

typedef struct TokSpec {
  const char *model;         /* the model file */
  const FeDefine *defines;   /* its parameter overrides */
  int ndefines;
  const char *weights;       /* safetensors file with its weights by name */
  const char *pixels;        /* the tokenizer input fed the images */
  const char *output;        /* the tokenizer output used */
  int64_t batch;
  Shape images;              /* the batches' images, which the pixels input must take */
  double mean, std;          /* std > 0: images arrive as (x - mean) / std */
  SrcLoc weights_loc, pixels_loc, output_loc; /* where errors about these point */
  int interp, no_cache;      /* run by the interpreter; bypass the compile cache */
  SchedPool *pool;           /* the threads its kernels are split across; NULL: this one */
} TokSpec;

typedef struct Tokenizer {
  Graph *g;             /* the pruned, lowered graph */
  JitProgram *jit;      /* NULL: interpreter */
  TensorSet w;          /* its weights */
  const char *pixels, *output;
  double mean, std;
  Shape in_shape;       /* its pixels input */
  Shape out_shape;      /* its output */
  DType out_dtype;
  double compile_s;
} Tokenizer;

/* 0, or -1 after reporting (an unknown output, a pixels input that is not there or does
 * not take the images, a weight missing from the file or of another shape). */
int tok_open(Tokenizer *t, const TokSpec *s, Diag *d);
/* Whether the output fits a step input of `shape` (as many elements). Reports at `at`. */
int tok_check_target(const Tokenizer *t, const char *input, DType dtype, const Shape *shape, SrcLoc at, Diag *d);
/* out (the step input's tensor) = the output on `images` (f32 [batch, c, h, w]). */
int tok_run(Tokenizer *t, const Tensor *images, Tensor *out, Diag *d);
void tok_close(Tokenizer *t);

#endif
