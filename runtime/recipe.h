/* recipe.h — a training recipe: one YAML file naming the model, its parameters, the data
 * and how it feeds the model, the optimizer and its schedules, evaluation, checkpoints
 * and where the logs go. docs/training.md describes every key, with an example.
 *
 * recipe_load reads and checks the whole file: an unknown key (with a did-you-mean), a
 * value of the wrong type or out of range, a missing required key, epochs and steps
 * both given, an unknown optimizer, dataset or schedule kind, a model or init file that
 * cannot be read: each is reported once as file:line:col and gives -1. Paths in the
 * recipe (model, init, out, checkpoint.dir, tokenizer.model, tokenizer.weights) are
 * relative to the recipe's folder and are stored resolved. Everything the Recipe points
 * to lives in the arena. */
#ifndef MIMIC_RECIPE_H
#define MIMIC_RECIPE_H
#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "optim.h"
#include "schedule.h"
#include "support/arena.h"

#define RECIPE_MAX_NAMES 16    /* bindings, eval outputs (TRAIN_MAX_NAMES) */
#define RECIPE_MAX_SCHEDULES 8 /* scheduled inputs (TRAIN_MAX_SCALARS) */

typedef enum RecipeField { RECIPE_IMAGES, RECIPE_LABELS } RecipeField;
typedef enum RecipeDataset { RECIPE_FASHION, RECIPE_FASHION_SEG } RecipeDataset;

typedef struct RecipeBind {
  const char *input;     /* a model input */
  RecipeField field;     /* what the data feeds it */
  SrcLoc loc;            /* the binding's key */
} RecipeBind;

typedef struct RecipeSchedule {
  const char *input;     /* a scalar model input set every step (a Gumbel temperature) */
  Sched s;
  SrcLoc loc;
} RecipeSchedule;

/* A frozen model run beside the step on every batch (before it) to make one of the step's
 * inputs: BEiT's tokenizer, whose visual tokens are the MIM targets. */
typedef struct RecipeTokenizer {
  const char *model;     /* the model file (resolved); NULL: no tokenizer */
  const char *weights;   /* its trained weights (resolved) */
  FeDefine *params;      /* its parameter overrides, as -D */
  int nparams;
  const char *output;    /* the tokenizer output used ("tokens") */
  const char *input;     /* the step input it fills (default: the output's name) */
  const char *pixels;    /* the tokenizer input fed the batch's images ("pixels") */
  SrcLoc loc, model_loc, output_loc, input_loc, pixels_loc;
} RecipeTokenizer;

/* A masking generator (runtime/masking.h) filling a bool step input every batch. */
typedef struct RecipeMask {
  const char *input;     /* the step input ("mask"); NULL: no mask */
  int kind;              /* MaskKind: 0 block (BEiT's), 1 random */
  int64_t count;         /* patches to mask (block: the target; random: exactly) */
  int64_t min_block, max_block; /* block areas; max_block 0: count */
  double min_aspect;     /* block aspect ratios in [min_aspect, 1 / min_aspect] */
  SrcLoc loc, input_loc, count_loc;
} RecipeMask;

typedef struct RecipeOptim {
  OptSpec spec;          /* kind, betas, eps, momentum, clip, layer decay, no-decay names;
                            num_layers is left 0 for whoever knows the model's depth */
  double lr, min_lr;     /* peak learning rate (after warm-up) and the end of its decay */
  SchedKind schedule;    /* the decay's shape (cosine, as BEiT) */
  int64_t warmup_epochs, warmup_steps; /* at most one is non-zero */
  double weight_decay, weight_decay_end; /* cosine from one to the other, no warm-up */
} RecipeOptim;

typedef struct Recipe {
  const char *file;      /* the recipe as named */
  const char *dir;       /* its folder ("." for a bare name) */
  const char *model;     /* the model file (resolved) */
  SrcLoc model_loc;      /* where the recipe names it */
  FeDefine *params;      /* parameter overrides, as -D (each located at its value) */
  int nparams;
  struct {
    const char *dataset; /* "fashion-mnist" or "fashion-seg" (segdata.h canvases) */
    RecipeDataset kind;
    const char *split;   /* "train" or "test" */
    int64_t count;       /* train on the split's first `count` images; 0: all not held out */
    int64_t val_count;   /* images held out from the end of the split for validation */
    const char *val_split; /* NULL: as above; "test"/"train": validate on that split's first
                              val_count images instead (test accuracy) */
    int shuffle;         /* a new order every epoch (default); 0: file order */
    int normalize;       /* (x - mean) / std with the dataset's statistics (default); 0: [0, 1] */
    int crop_pad;        /* augment: zero-pad by this much and crop back at random; 0: off */
    int flip;            /* augment: random horizontal flips */
  } data;
  RecipeBind bind[RECIPE_MAX_NAMES]; /* empty: none given (the trainer's default) */
  int nbind;
  const char *loss;      /* the output minimised ("loss") */
  int64_t batch;
  int64_t epochs, steps; /* exactly one is > 0 */
  RecipeOptim opt;
  RecipeSchedule sched[RECIPE_MAX_SCHEDULES];
  int nsched;
  uint32_t seed;
  struct {
    int64_t every_epochs, every_steps; /* at most one > 0; both 0: at the end only */
    const char *outputs[RECIPE_MAX_NAMES]; /* outputs reported besides the loss */
    int noutputs;
  } eval;
  struct {
    const char *dir;     /* NULL: no checkpoints (the recipe has no checkpoint key) */
    int64_t every_epochs, every_steps; /* as for eval */
  } checkpoint;
  const char *out;       /* folder of log.csv and loss.svg (default <dir>/<name>.out) */
  const char *init;      /* weights to start from, or NULL */
  SrcLoc init_loc;
  const char *freeze[RECIPE_MAX_NAMES]; /* weight-name prefixes that are not trained */
  int nfreeze;
  RecipeTokenizer tokenizer;
  RecipeMask mask;
} Recipe;

/* Read and check the recipe at `path`. 0, or -1 after reporting. */
int recipe_load(const char *path, Arena *a, Recipe *r, Diag *d);
/* The same from text (the file's contents; `path` names it and locates its folder). */
int recipe_parse(const char *path, const char *text, size_t len, Arena *a, Recipe *r, Diag *d);

/* Steps of the whole run, with `steps_per_epoch` batches an epoch. */
int64_t recipe_total_steps(const Recipe *r, int64_t steps_per_epoch);
/* The learning-rate and weight-decay schedules, BEiT's way: lr warms up linearly from 0
 * over sched_warmup_iters(warmup_epochs, steps_per_epoch, warmup_steps) steps, then
 * decays (cosine) to min_lr; weight decay goes (cosine) from weight_decay to
 * weight_decay_end. Evaluate with sched_at(s, recipe_total_steps(...), i). */
void recipe_schedules(const Recipe *r, int64_t steps_per_epoch, Sched *lr, Sched *wd);

#endif
