/* train.h — the training loop: one compiled training step (passes/trainstep.h) run over
 * batches of a classification or segmentation dataset (batches.h), with per-step runtime
 * scalars (learning rate, weight decay, any scheduled model input), inputs made from each
 * batch beside the step (a mask, masking.h; a frozen tokenizer's output, tokenizer.h),
 * starting weights by name (initfrom.h), evaluation with the metrics the model's outputs
 * allow (evalmetrics.h), checkpoints and logs.
 *
 * Determinism: a step's batch, augmentation, mask and random seed are functions of (seed,
 * step) only (dataset.h, masking.h), and a checkpoint holds the weights, the optimizer state and the
 * step, so resuming from a checkpoint reproduces the uninterrupted run's losses exactly
 * (same engine, same machine).
 *
 * Checkpoint file (safetensors, written atomically): every model weight under its name,
 * the optimizer state under its "opt.*" names, and two f64 scalars, "train.step" (steps
 * done) and "train.seed". */
#ifndef MIMIC_TRAIN_H
#define MIMIC_TRAIN_H
#include <stdint.h>

#include "dataset.h"
#include "evalmetrics.h"
#include "initfrom.h"
#include "ir/ir.h"
#include "masking.h"
#include "segdata.h"
#include "sched_pool.h"
#include "tensor.h"
#include "tokenizer.h"
#include "trainstep.h"

#define TRAIN_MAX_SCALARS 8

typedef struct TrainScalar {
  const char *input;     /* a model input, f32 or f64 scalar */
  const double *value;   /* its value at each step [steps] */
} TrainScalar;

typedef struct TrainConfig {
  const Graph *model;           /* as the front end builds it */
  TrainSpec spec;               /* loss, kept outputs, frozen weights, optimizer */
  const char *images_input;     /* the model input fed the batch's images */
  const char *labels_input;     /* the model input fed its labels, or NULL */
  const char *seed_input;       /* an i32 scalar model input given a fresh seed each step, or NULL */
  const Dataset *train, *val;   /* classification data (val may be NULL), or NULL and */
  const SegSet *seg_train, *seg_val; /* segmentation canvases (seg_val may be NULL) */
  Tokenizer *tokenizer;         /* a frozen model filling tokens_input from each batch, or NULL */
  const char *tokens_input;
  const MaskGen *mask;          /* fills mask_input: batch s of training gets mask_batch(s), */
  const MaskGen *val_mask;      /* validation batch k gets val_mask's batch k (the same each time) */
  const char *mask_input;
  int vocab;                    /* a tokenizer's codebook size, for codebook usage; 0: none */
  double data_mean, data_std;   /* how the images were normalised; std 0: not, in [0, 1] */
  const char *init_file;        /* where init came from, and the recipe's key, for messages */
  SrcLoc init_loc;
  int64_t batch, steps;         /* steps in all, counted from the start of training */
  uint32_t seed;
  int shuffle, crop_pad, flip;  /* batches (dataset.h) */
  const double *lr, *wd;        /* base learning rate and weight decay at each step [steps] */
  TrainScalar scalars[TRAIN_MAX_SCALARS];
  int nscalars;
  int64_t eval_every;           /* steps between evaluations on val; 0: at the end only */
  int64_t ckpt_every;           /* steps between checkpoints; 0: at the end only */
  const char *out_dir;          /* log.csv, loss.svg and weights.safetensors go here */
  const char *ckpt_path;        /* the checkpoint file; NULL: none */
  const TensorSet *init;        /* starting weights by name (initfrom.h: the others initialised,
                                   pos_embed resized); NULL: the model's initialisers */
  int resume;                   /* continue from ckpt_path */
  int interp;                   /* run the step with the interpreter instead of the JIT */
  int no_cache;
  int no_fuse, no_plan;         /* compile without fusion / memory planning (comparisons) */
  int profile;                  /* time the step's kernels; print the slowest at the end */
  SchedPool *pool;              /* the threads every kernel is split across; NULL: this one */
  int quiet;                    /* no progress output */
  int64_t stop_after;           /* > 0: stop after this many steps of this run, as if interrupted */
} TrainConfig;

typedef struct TrainResult {
  int64_t first_step, steps_done; /* this run's first step and the steps done in all */
  double first_loss, last_loss;   /* mean loss of this run's first and last logged interval */
  double val_loss, val_acc;       /* the last evaluation (NaN when none) */
  double compile_s, run_s;        /* seconds compiling, seconds stepping */
  int nextra;                     /* the evaluation's extra metrics (evalmetrics.h), last values */
  const char *extra_names[EVM_MAX_COLS];
  double extra[EVM_MAX_COLS];
  InitReport init;                /* with c->init: what was loaded */
} TrainResult;

/* Train as configured. 0, or -1 after reporting. */
int train_run(const TrainConfig *c, TrainResult *r, Diag *d);

#endif
