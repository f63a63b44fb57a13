/* cmd_train.c — `mimic train RECIPE.yaml`: read the recipe (runtime/recipe.h), load the
 * model and the data it names, turn the schedules into per-step values and hand the rest
 * to the training loop (runtime/train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "masking.h"
#include "recipe.h"
#include "safetensors.h"
#include "segdata.h"
#include "tokenizer.h"
#include "train.h"

static const char *help =
    "usage: mimic train RECIPE.yaml [--resume] [--engine=jit|interp] [--no-cache] [--quiet]\n"
    "                   [--stop-after N] [--no-fuse] [--no-plan] [--profile] [--threads N]\n"
    "Train the model the recipe names (docs/training.md). Shows a progress line with the\n"
    "loss, rate and ETA; writes OUT/log.csv (one row per step), OUT/loss.svg (the curve)\n"
    "and OUT/weights.safetensors, and checkpoints when the recipe asks for them.\n"
    "  --resume        continue from the recipe's checkpoint; the losses that follow are\n"
    "                  those an uninterrupted run would have logged\n"
    "  --stop-after N  stop after N steps of this run (a checkpoint is written)\n"
    "  --no-fuse, --no-plan  compile the step without fusion / memory planning (to compare)\n"
    "  --profile       time every kernel of the step (one thread at a time) and print the\n"
    "                  slowest, and the time by op, at the end\n"
    "  --threads N     split every kernel across N threads (default: the cores available);\n"
    "                  the run is the same bits for any N\n";

/* Fashion-MNIST's split sizes */
static int64_t split_size(const char *split) {
  return !strcmp(split, "test") ? 10000 : 60000;
}

static const Node *input_node(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

static int has_input(const Graph *g, const char *name, DType *t, int *rank) {
  const Node *n = input_node(g, name);
  if (n && t) *t = n->dtype;
  if (n && rank) *rank = n->shape.rank;
  return n != NULL;
}

/* The recipe's mask generator for the model's mask input (a bool [batch, cells] or
 * [batch, h, w] over a square grid), seeded for training and, apart, for validation. */
static int make_masks(const Recipe *r, const Graph *model, MaskGen *train, MaskGen *val, Diag *d) {
  const RecipeMask *m = &r->mask;
  const Node *n = input_node(model, m->input);
  if (!n) {
    diag_error(d, m->input_loc, "the model has no input '%s' to mask", m->input);
    return -1;
  }
  int64_t h = 0, w = 0;
  if (n->shape.rank == 3) h = n->shape.d[1], w = n->shape.d[2];
  else if (n->shape.rank == 2) h = w = (int64_t)llround(sqrt((double)n->shape.d[1]));
  if (h < 1 || n->shape.rank < 2 || h * w != shape_numel(&n->shape) / n->shape.d[0]) {
    char b[128];
    diag_error(d, m->input_loc, "mask input '%s' is %s: it must be [batch, cells] over a square grid, or [batch, h, w]",
               m->input, shape_str(&n->shape, b, sizeof b));
    return -1;
  }
  if (m->count > h * w) {
    diag_error(d, m->count_loc, "mask.count is %lld, more than the %lldx%lld patches of input '%s'",
               (long long)m->count, (long long)h, (long long)w, m->input);
    return -1;
  }
  /* the validation masks are the same at every evaluation, and differ from training's */
  return mask_init(train, (MaskKind)m->kind, (int)h, (int)w, (int)m->count, (int)m->min_block, (int)m->max_block,
                   m->min_aspect, r->seed, d) ||
         mask_init(val, (MaskKind)m->kind, (int)h, (int)w, (int)m->count, (int)m->min_block, (int)m->max_block,
                   m->min_aspect, r->seed ^ 0x76A1u, d);
}

/* The recipe's tokenizer, compiled, checked against the model input it fills. */
static int make_tokenizer(const Recipe *r, const Graph *model, const Tensor *images, double std, int interp,
                          int no_cache, SchedPool *pool, Tokenizer *t, Diag *d) {
  const int64_t *x = images->shape.d;
  const RecipeTokenizer *k = &r->tokenizer;
  const Node *n = input_node(model, k->input);
  if (!n) {
    diag_error(d, k->input_loc, "the model has no input '%s' for the tokenizer's '%s'", k->input, k->output);
    return -1;
  }
  TokSpec ts = {.model = k->model, .defines = k->params, .ndefines = k->nparams, .weights = k->weights,
                .pixels = k->pixels, .output = k->output, .batch = r->batch,
                .images = shape_of(4, (int64_t[]){r->batch, x[1], x[2], x[3]}), .mean = DATA_FASHION_MEAN, .std = std,
                .weights_loc = k->loc, .pixels_loc = k->pixels_loc, .output_loc = k->output_loc, .interp = interp,
                .no_cache = no_cache, .pool = pool};
  return tok_open(t, &ts, d) || tok_check_target(t, k->input, n->dtype, &n->shape, k->input_loc, d);
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
  int resume = 0, no_cache = 0, quiet = 0, no_fuse = 0, no_plan = 0, profile = 0;
  int64_t stop_after = 0, threads = sched_cores();
  SchedPool *pool = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if (!strcmp(argv[i], "--resume")) resume = 1;
    else if (!strcmp(argv[i], "--no-cache")) no_cache = 1;
    else if (!strcmp(argv[i], "--no-fuse")) no_fuse = 1;
    else if (!strcmp(argv[i], "--no-plan")) no_plan = 1;
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) quiet = 1;
    else if ((v = cli_opt("--engine", argc, argv, &i, &d))) engine = v;
    else if ((v = cli_opt("--threads", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &threads) || threads < 1 || threads > 256)
        diag_error(&d, SRCLOC_NONE, "--threads needs a whole number from 1 to 256, got '%s'", v);
    } else if ((v = cli_opt("--stop-after", argc, argv, &i, &d))) {
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
  SegSet segtrain = {0}, segval = {0};
  Tokenizer tok = {0};
  MaskGen mtrain, mval;
  TensorSet init;
  tset_init(&init);
  double *lr = NULL, *wd = NULL, *sv[RECIPE_MAX_SCHEDULES] = {0};
  if (recipe_load(path, a, &r, &d)) goto out;
  FeInfo info = {0};
  FeOptions fo = {.defines = r.params, .ndefines = r.nparams, .batch = r.batch};
  if (!(model = fe_load_yaml(r.model, &fo, &info, &d))) goto out;

  /* the data: the split's first `count` images, validation held out from its end */
  int64_t n = split_size(r.data.split), nval = r.data.val_count;
  const char *vsplit = r.data.val_split ? r.data.val_split : r.data.split;
  int64_t ntrain = r.data.count > 0 ? r.data.count : r.data.val_split ? n : n - nval;
  int64_t voff = r.data.val_split ? 0 : n - nval; /* validation: the split's tail, or the other's head */
  if (nval < 0 || ntrain < 1 || (!r.data.val_split && ntrain + nval > n)) {
    diag_error(&d, (SrcLoc){r.file, 0, 0}, "data: %lld training and %lld validation images do not fit the %s split (%lld)",
               (long long)ntrain, (long long)nval, r.data.split, (long long)n);
    goto out;
  }
  double std = r.data.normalize ? DATA_FASHION_STD : 0;
  int seg = r.data.kind == RECIPE_FASHION_SEG;
  if (seg) { /* canvases of the split's images: as many canvases as source images */
    SegConfig sc = seg_defaults();
    sc.seed = r.seed;
    sc.mean = DATA_FASHION_MEAN;
    sc.std = std;
    if (seg_fashion(&segtrain, r.data.split, 0, ntrain, ntrain, &sc, &d)) goto out;
    if (nval && seg_fashion(&segval, vsplit, voff, nval, nval, &sc, &d)) goto out;
  } else {
    if (data_fashion(&train, r.data.split, 0, ntrain, DATA_FASHION_MEAN, std, &d)) goto out;
    if (nval && data_fashion(&val, vsplit, voff, nval, DATA_FASHION_MEAN, std, &d)) goto out;
  }

  TrainConfig c = {.model = model, .train = seg ? NULL : &train, .val = nval && !seg ? &val : NULL,
                   .seg_train = seg ? &segtrain : NULL, .seg_val = nval && seg ? &segval : NULL,
                   .data_mean = std > 0 ? DATA_FASHION_MEAN : 0, .data_std = std, .batch = r.batch, .seed = r.seed,
                   .shuffle = r.data.shuffle, .crop_pad = r.data.crop_pad, .flip = r.data.flip, .resume = resume,
                   .interp = !strcmp(engine, "interp"), .no_cache = no_cache, .quiet = quiet, .stop_after = stop_after,
                   .no_fuse = no_fuse, .no_plan = no_plan, .profile = profile};
  if (!(pool = sched_pool_new((int)threads))) {
    diag_error(&d, SRCLOC_NONE, "train: cannot start %lld threads", (long long)threads);
    goto out;
  }
  c.pool = pool;
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
  for (int i = 0; i < info.nparams; i++) /* a tokenizer's codebook size, for codebook usage */
    if (!strcmp(info.params[i].name, "vocab")) c.vocab = (int)info.params[i].value;
  if (r.mask.input) {
    if (make_masks(&r, model, &mtrain, &mval, &d)) goto out;
    c.mask = &mtrain;
    c.val_mask = &mval;
    c.mask_input = r.mask.input;
  }
  if (r.tokenizer.model) {
    const Tensor *imgs = seg ? segtrain.images : train.images;
    if (make_tokenizer(&r, model, imgs, std, !strcmp(engine, "interp"), no_cache, pool, &tok, &d)) goto out;
    c.tokenizer = &tok;
    c.tokens_input = r.tokenizer.input;
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
    c.init_file = r.init;
    c.init_loc = r.init_loc;
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
  for (int i = 0; i < res.nextra; i++) printf(", %s %.4f", res.extra_names[i], res.extra[i]);
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
  seg_free(&segtrain);
  seg_free(&segval);
  tok_close(&tok);
  sched_pool_free(pool);
  ir_graph_free(model);
  arena_free(a);
  return rc;
}
