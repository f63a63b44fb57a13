/* cmd_train.c — `mimic train RECIPE.yaml`: read the recipe (runtime/recipe.h), load the
 * model and the data it names, turn the schedules into per-step values and hand the rest
 * to the training loop (runtime/train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "recipe.h"
#include "safetensors.h"
#include "train.h"

static const char *help =
    "usage: mimic train RECIPE.yaml [--resume] [--engine=jit|interp] [--no-cache] [--quiet]\n"
    "                   [--stop-after N] [--no-fuse] [--no-plan]\n"
    "Train the model the recipe names (docs/training.md). Shows a progress line with the\n"
    "loss, rate and ETA; writes OUT/log.csv (one row per step), OUT/loss.svg (the curve)\n"
    "and OUT/weights.safetensors, and checkpoints when the recipe asks for them.\n"
    "  --resume        continue from the recipe's checkpoint; the losses that follow are\n"
    "                  those an uninterrupted run would have logged\n"
    "  --stop-after N  stop after N steps of this run (a checkpoint is written)\n"
    "  --no-fuse, --no-plan  compile the step without fusion / memory planning (to compare)\n";

/* Fashion-MNIST's split sizes */
static int64_t split_size(const char *split) {
  return !strcmp(split, "test") ? 10000 : 60000;
}

static int has_input(const Graph *g, const char *name, DType *t, int *rank) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) {
      if (t) *t = g->nodes[i].dtype;
      if (rank) *rank = g->nodes[i].shape.rank;
      return 1;
    }
  return 0;
}

static char *join(Arena *a, const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *s = arena_alloc(a, n);
  snprintf(s, n, "%s/%s", dir, file);
  return s;
}

int cmd_train(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  const char *path = NULL, *engine = "jit", *v;
  int resume = 0, no_cache = 0, quiet = 0, no_fuse = 0, no_plan = 0;
  int64_t stop_after = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if (!strcmp(argv[i], "--resume")) resume = 1;
    else if (!strcmp(argv[i], "--no-cache")) no_cache = 1;
    else if (!strcmp(argv[i], "--no-fuse")) no_fuse = 1;
    else if (!strcmp(argv[i], "--no-plan")) no_plan = 1;
    else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = 1;
    else if ((v = cli_opt("--engine", argc, argv, &i, &d))) engine = v;
    else if ((v = cli_opt("--stop-after", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &stop_after) || stop_after < 1)
        diag_error(&d, SRCLOC_NONE, "--stop-after needs a positive step count, got '%s'", v);
    } else if (argv[i][0] == '-' || path) diag_error(&d, SRCLOC_NONE, "train: unexpected argument '%s'", argv[i]);
    else path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!path) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  if (strcmp(engine, "interp") && strcmp(engine, "jit")) {
    diag_error(&d, SRCLOC_NONE, "unknown engine '%s' (available: jit, interp)", engine);
    return EXIT_USER;
  }
  int rc = EXIT_USER;
  Arena *a = arena_new();
  Recipe r;
  Graph *model = NULL;
  Dataset train = {0}, val = {0};
  TensorSet init;
  tset_init(&init);
  double *lr = NULL, *wd = NULL, *sv[RECIPE_MAX_SCHEDULES] = {0};
  if (recipe_load(path, a, &r, &d)) goto out;
  FeInfo info = {0};
  FeOptions fo = {.defines = r.params, .ndefines = r.nparams, .batch = r.batch};
  if (!(model = fe_load_yaml(r.model, &fo, &info, &d))) goto out;

  /* the data: the split's first `count` images, validation held out from its end */
  int64_t n = split_size(r.data.split), nval = r.data.val_count;
  int64_t ntrain = r.data.count > 0 ? r.data.count : n - nval;
  if (nval < 0 || ntrain < 1 || ntrain + nval > n) {
    diag_error(&d, (SrcLoc){r.file, 0, 0}, "data: %lld training and %lld validation images do not fit the %s split (%lld)",
               (long long)ntrain, (long long)nval, r.data.split, (long long)n);
    goto out;
  }
  double std = r.data.normalize ? DATA_FASHION_STD : 0;
  if (data_fashion(&train, r.data.split, 0, ntrain, DATA_FASHION_MEAN, std, &d)) goto out;
  if (nval && data_fashion(&val, r.data.split, n - nval, nval, DATA_FASHION_MEAN, std, &d)) goto out;

  TrainConfig c = {.model = model, .train = &train, .val = nval ? &val : NULL, .batch = r.batch, .seed = r.seed,
                   .shuffle = r.data.shuffle, .crop_pad = r.data.crop_pad, .flip = r.data.flip, .resume = resume,
                   .interp = !strcmp(engine, "interp"), .no_cache = no_cache, .quiet = quiet, .stop_after = stop_after,
                   .no_fuse = no_fuse, .no_plan = no_plan};
  c.spec.loss = r.loss;
  c.spec.opt = r.opt.spec;
  for (int i = 0; i < info.nparams; i++) /* layer-wise decay counts the ViT's blocks */
    if (!strcmp(info.params[i].name, "depth")) c.spec.opt.num_layers = (int)info.params[i].value;
  for (int i = 0; i < r.eval.noutputs && i < TRAIN_MAX_NAMES; i++) c.spec.keep[c.spec.nkeep++] = r.eval.outputs[i];
  for (int i = 0; i < r.nfreeze && i < TRAIN_MAX_NAMES; i++) c.spec.frozen[c.spec.nfrozen++] = r.freeze[i];
  /* what feeds the model: the recipe's bindings, or pixels/labels by name */
  c.images_input = has_input(model, "pixels", NULL, NULL) ? "pixels" : NULL;
  c.labels_input = has_input(model, "labels", NULL, NULL) ? "labels" : NULL;
  if (r.nbind) c.images_input = c.labels_input = NULL;
  for (int i = 0; i < r.nbind; i++) {
    if (!has_input(model, r.bind[i].input, NULL, NULL)) {
      diag_error(&d, r.bind[i].loc, "the model has no input '%s'", r.bind[i].input);
      goto out;
    }
    if (r.bind[i].field == RECIPE_IMAGES) c.images_input = r.bind[i].input;
    else c.labels_input = r.bind[i].input;
  }
  if (!c.images_input) {
    diag_error(&d, (SrcLoc){r.file, 0, 0}, "no model input takes the images: bind one (bind: {INPUT: images})");
    goto out;
  }
  DType st;
  int srank;
  if (has_input(model, "seed", &st, &srank) && st == DT_I32 && srank == 0) c.seed_input = "seed";

  /* per-step values of every schedule */
  int64_t per_epoch = r.batch > 0 ? ntrain / r.batch : 0;
  c.steps = recipe_total_steps(&r, per_epoch);
  if (c.steps < 1) {
    diag_error(&d, (SrcLoc){r.file, 0, 0}, "the recipe makes no steps: %lld images give %lld batches of %lld an epoch",
               (long long)ntrain, (long long)per_epoch, (long long)r.batch);
    goto out;
  }
  Sched slr, swd;
  recipe_schedules(&r, per_epoch, &slr, &swd);
  lr = malloc(sizeof *lr * (size_t)c.steps);
  wd = malloc(sizeof *wd * (size_t)c.steps);
  if (!lr || !wd) abort();
  sched_fill(&slr, c.steps, lr);
  sched_fill(&swd, c.steps, wd);
  c.lr = lr;
  c.wd = wd;
  for (int i = 0; i < r.nsched && i < TRAIN_MAX_SCALARS; i++) {
    if (!has_input(model, r.sched[i].input, NULL, NULL)) {
      diag_error(&d, r.sched[i].loc, "the model has no input '%s' to schedule", r.sched[i].input);
      goto out;
    }
    sv[i] = malloc(sizeof *sv[i] * (size_t)c.steps);
    if (!sv[i]) abort();
    sched_fill(&r.sched[i].s, c.steps, sv[i]);
    c.scalars[c.nscalars++] = (TrainScalar){r.sched[i].input, sv[i]};
  }
  c.eval_every = r.eval.every_steps ? r.eval.every_steps : r.eval.every_epochs * per_epoch;
  c.out_dir = r.out;
  if (r.checkpoint.dir) {
    c.ckpt_path = join(a, r.checkpoint.dir, "checkpoint.safetensors");
    c.ckpt_every = r.checkpoint.every_steps ? r.checkpoint.every_steps : r.checkpoint.every_epochs * per_epoch;
  } else if (resume || stop_after) {
    diag_error(&d, (SrcLoc){r.file, 0, 0}, "%s needs checkpoints: add checkpoint: {dir: DIR} to the recipe",
               resume ? "--resume" : "--stop-after");
    goto out;
  }
  if (r.init) {
    if (st_read(r.init, &init, &d)) goto out;
    c.init = &init;
  }
  if (!quiet)
    printf("%s: %lld training images%s, batch %lld, %lld steps (%lld an epoch), %s, engine %s\n", model->name,
           (long long)ntrain, nval ? " (+ validation)" : "", (long long)r.batch, (long long)c.steps,
           (long long)per_epoch, r.opt.spec.kind == OPT_SGD ? "SGD" : "AdamW", engine);
  fflush(stdout);
  TrainResult res;
  if (train_run(&c, &res, &d)) goto out;
  if (res.steps_done == res.first_step) {
    printf("nothing to train: the checkpoint is at step %lld of %lld\n", (long long)res.steps_done, (long long)c.steps);
    rc = EXIT_OK;
    goto out;
  }
  printf("trained steps %lld..%lld: loss %.4f -> %.4f", (long long)res.first_step + 1, (long long)res.steps_done,
         res.first_loss, res.last_loss);
  if (!isnan(res.val_acc)) printf(", validation accuracy %.4f", res.val_acc);
  else if (!isnan(res.val_loss)) printf(", validation loss %.4f", res.val_loss);
  printf("; compile %.1f s, train %.1f s\n", res.compile_s, res.run_s);
  printf("wrote %s/log.csv, %s/loss.svg, %s/weights.safetensors%s%s\n", r.out, r.out, r.out, c.ckpt_path ? ", " : "",
         c.ckpt_path ? c.ckpt_path : "");
  rc = EXIT_OK;
out:
  free(lr);
  free(wd);
  for (int i = 0; i < RECIPE_MAX_SCHEDULES; i++) free(sv[i]);
  tset_free(&init);
  data_free(&train);
  data_free(&val);
  ir_graph_free(model);
  arena_free(a);
  return rc;
}
