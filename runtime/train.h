/* train.h — the training loop: one compiled training step (passes/trainstep.h) run over
 * batches of a dataset, with per-step runtime scalars (learning rate, weight decay, any
 * scheduled model input), evaluation, checkpoints and logs.
 *
 * Determinism: a step's batch, augmentation and random seed are functions of (seed,
 * step) only (dataset.h), and a checkpoint holds the weights, the optimizer state and the
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
#include "ir/ir.h"
#include "tensor.h"
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
  const Dataset *train, *val;   /* val may be NULL */
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
  const TensorSet *init;        /* starting weights by name; NULL: the model's initialisers */
  int resume;                   /* continue from ckpt_path */
  int interp;                   /* run the step with the interpreter instead of the JIT */
  int no_cache;
  int no_fuse, no_plan;         /* compile without fusion / memory planning (comparisons) */
  int quiet;                    /* no progress output */
  int64_t stop_after;           /* > 0: stop after this many steps of this run, as if interrupted */
} TrainConfig;

typedef struct TrainResult {
  int64_t first_step, steps_done; /* this run's first step and the steps done in all */
  double first_loss, last_loss;   /* mean loss of this run's first and last logged interval */
  double val_loss, val_acc;       /* the last evaluation (NaN when none) */
  double compile_s, run_s;        /* seconds compiling, seconds stepping */
} TrainResult;

/* Train as configured. 0, or -1 after reporting. */
int train_run(const TrainConfig *c, TrainResult *r, Diag *d);

#endif
