/* train.c — the training loop (see train.h). One program computes the whole step; this
 * file feeds it batches and runtime scalars, carries the "new.*" outputs back into the
 * weights, evaluates, logs and checkpoints. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afile.h"
#include "batches.h"
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"
#include "philox.h"
#include "safetensors.h"
#include "samples.h"
#include "trainlog.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- engines: the same contract for the JIT and the interpreter ---- */

typedef struct Engine {
  const Graph *g;
  JitProgram *jit;   /* NULL: interpreter */
  int resident;      /* the JIT keeps the weights (JitOptions.resident) */
} Engine;

static int engine_init(Engine *e, const Graph *g, const TrainConfig *c, int resident, double *compile_s, Diag *d) {
  e->g = g;
  e->jit = NULL;
  e->resident = 0;
  if (c->interp) return 0;
  JitOptions o = {.no_cache = c->no_cache, .no_fuse = c->no_fuse, .no_plan = c->no_plan, .sched = c->pool,
                  .resident = resident, .profile = resident && c->profile};
  e->jit = jit_compile(g, &o, d);
  if (!e->jit) return -1;
  e->resident = resident;
  *compile_s += jit_stats(e->jit)->compile_s;
  return 0;
}

static int engine_run(Engine *e, const TensorSet *in, const TensorSet *w, TensorSet *out, Diag *d) {
  if (!e->jit) return interp_run(e->g, in, w, out, d);
  return jit_run(e->jit, in, e->resident ? NULL : w, out, d);
}

/* The training state lives in the step program when it is resident: *w is emptied once
 * the program holds it (so that it is not kept twice) and filled again from the program
 * where it is needed (evaluation, checkpoints, the end). Without it, *w is the state. */
static int engine_keep(Engine *e, TensorSet *w, Diag *d) {
  if (!e->resident) return 0;
  if (jit_load_weights(e->jit, w, d)) return -1;
  tset_free(w);
  tset_init(w);
  return 0;
}

static void engine_state(Engine *e, TensorSet *w) {
  if (!e->resident || w->n) return;
  jit_read_weights(e->jit, w);
}

static void engine_drop(Engine *e, TensorSet *w) {
  if (!e->resident) return;
  tset_free(w);
  tset_init(w);
}

static Tensor *scalar(DType t, double v) {
  Tensor *x = tensor_new(t, shape_scalar());
  tensor_set(x, 0, v);
  return x;
}

/* A scalar input of g: put v with the input's dtype, if g has that input. */
static void put_scalar(const Graph *g, TensorSet *in, const char *name, double v) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) {
      tset_put(in, name, scalar(g->nodes[i].dtype, v));
      return;
    }
}

static const Node *input_node(const Graph *g, const char *name) {
  for (int i = 0; name && i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

static int has_input(const Graph *g, const char *name) {
  return input_node(g, name) != NULL;
}

/* The inputs of step `s` for graph g: the batch, the scheduled scalars, the seed, and
 * what the feeders make of the batch: the mask (batch `mstep` of generator mg) and the
 * tokenizer's output. *mask_out, when not NULL, receives a copy of the mask. */
static int step_inputs(const TrainConfig *c, const Graph *g, int64_t s, const MaskGen *mg, int64_t mstep,
                       const Tensor *images, const Tensor *labels, TensorSet *in, Tensor **mask_out, Diag *d) {
  if (has_input(g, c->images_input)) tset_put(in, c->images_input, tensor_copy(images));
  if (c->labels_input && has_input(g, c->labels_input)) tset_put(in, c->labels_input, tensor_copy(labels));
  int64_t k = s < c->steps ? s : c->steps - 1;
  put_scalar(g, in, "opt.lr", c->lr[k]);
  put_scalar(g, in, "opt.wd", c->wd[k]);
  put_scalar(g, in, "opt.step", (double)(s + 1));
  for (int i = 0; i < c->nscalars; i++) put_scalar(g, in, c->scalars[i].input, c->scalars[i].value[k]);
  if (c->seed_input) /* a fresh i32 seed per step, from (seed, step) */
    put_scalar(g, in, c->seed_input, (double)(int32_t)(philox_uniform(c->seed, 0x5EED5EEDu, (uint64_t)s) * 2147483647.0f));
  const Node *n = mg ? input_node(g, c->mask_input) : NULL;
  if (n) {
    Tensor *m = tensor_new(n->dtype, n->shape);
    if (mask_fill(mg, mstep, m, d) < 0) {
      tensor_free(m);
      return -1;
    }
    if (mask_out) *mask_out = tensor_copy(m);
    tset_put(in, n->name, m);
  }
  if (c->tokenizer && (n = input_node(g, c->tokens_input))) {
    Tensor *t = tensor_new(n->dtype, n->shape);
    tset_put(in, n->name, t);
    if (tok_run(c->tokenizer, images, t, d)) return -1;
  }
  return 0;
}

/* ---- weights, optimizer state, checkpoints ---- */

/* Model weights (from c->init or the initialisers) and zero optimizer state for every
 * weight node of the step graph. */
/* Model weights (from c->init by name, initfrom.h, or the initialisers) and zero
 * optimizer state for every weight node of the step graph. */
static int start_weights(const TrainConfig *c, const Graph *step, TensorSet *w, InitReport *rep, Diag *d) {
  if (c->init) {
    if (init_from(c->model, c->seed, c->init, c->init_file ? c->init_file : "the starting weights", c->init_loc, w,
                  rep, d))
      return -1;
  } else if (init_weights(c->model, c->seed, w, d)) {
    return -1;
  }
  for (int i = 0; i < step->n; i++) {
    const Node *n = &step->nodes[i];
    if (n->op == OP_WEIGHT && !tset_get(w, n->name)) tset_put(w, n->name, tensor_new(n->dtype, n->shape));
  }
  return 0;
}

static int save_checkpoint(const TrainConfig *c, const TensorSet *w, int64_t done, Diag *d) {
  const char *slash = strrchr(c->ckpt_path, '/');
  if (slash && slash != c->ckpt_path) { /* its folder, made on first use */
    char *dir = strndup(c->ckpt_path, (size_t)(slash - c->ckpt_path));
    int bad = afile_mkdirs(dir, d);
    free(dir);
    if (bad) return -1;
  }
  TensorSet ck;
  tset_init(&ck);
  for (int i = 0; i < w->n; i++) tset_put(&ck, w->names[i], tensor_copy(w->t[i]));
  tset_put(&ck, "train.step", scalar(DT_F64, (double)done));
  tset_put(&ck, "train.seed", scalar(DT_F64, (double)c->seed));
  int rc = st_write(c->ckpt_path, &ck, d);
  tset_free(&ck);
  return rc;
}

/* Load a checkpoint over w; *done receives its step. Every tensor must be one w has,
 * with the same dtype and shape, and the seed must match. */
static int load_checkpoint(const TrainConfig *c, TensorSet *w, int64_t *done, Diag *d) {
  TensorSet ck;
  tset_init(&ck);
  int rc = -1;
  SrcLoc at = {c->ckpt_path, 0, 0};
  if (st_read(c->ckpt_path, &ck, d)) goto out;
  const Tensor *st = tset_get(&ck, "train.step"), *sd = tset_get(&ck, "train.seed");
  if (!st || !sd || shape_numel(&st->shape) != 1 || shape_numel(&sd->shape) != 1) {
    diag_error(d, at, "not a mimic checkpoint (no train.step / train.seed)");
    goto out;
  }
  if ((uint32_t)tensor_get(sd, 0) != c->seed) {
    diag_error(d, at, "the checkpoint was made with seed %.0f, the recipe says %u", tensor_get(sd, 0), c->seed);
    goto out;
  }
  *done = (int64_t)tensor_get(st, 0);
  for (int i = 0; i < w->n; i++) {
    const Tensor *t = tset_get(&ck, w->names[i]);
    if (!t) {
      diag_error(d, at, "the checkpoint has no '%s'", w->names[i]);
      goto out;
    }
    if (t->dtype != w->t[i]->dtype || !shape_eq(&t->shape, &w->t[i]->shape)) {
      diag_error(d, at, "checkpoint tensor '%s' does not match the model", w->names[i]);
      goto out;
    }
    tset_put(w, w->names[i], tensor_copy(t));
  }
  rc = 0;
out:
  tset_free(&ck);
  return rc;
}

/* ---- evaluation ---- */

/* Mean loss and the metrics of m (evalmetrics.h) over the whole of val (its full
 * batches). */
static int evaluate(const TrainConfig *c, Engine *e, const TensorSet *w, int64_t step, EvalMetrics *m, double *loss,
                    Diag *d) {
  BatchSrc b;
  bsrc_init(&b, c->val, c->seg_val, c->batch, c->seed, 0, 0, 0);
  int64_t n = bsrc_steps_per_epoch(&b);
  Tensor *images, *labels;
  bsrc_tensors(&b, &images, &labels);
  double sum = 0;
  int rc = 0;
  *loss = NAN;
  evm_reset(m);
  for (int64_t k = 0; k < n && !rc; k++) {
    bsrc_get(&b, k, images, labels);
    TensorSet in, out;
    tset_init(&in);
    tset_init(&out);
    Tensor *mask = NULL;
    rc = step_inputs(c, e->g, step, c->val_mask, k, images, labels, &in, &mask, d) || engine_run(e, &in, w, &out, d);
    if (!rc) {
      sum += tensor_get(tset_get(&out, c->spec.loss), 0);
      rc = evm_add(m, &out, images, labels, mask, d);
    }
    tensor_free(mask);
    tset_free(&in);
    tset_free(&out);
  }
  if (!rc && n) *loss = sum / (double)n;
  tensor_free(images);
  tensor_free(labels);
  bsrc_free(&b);
  return rc;
}

/* ---- the loop ---- */

/* out/samples.png from the last evaluation's first batch, when there is something to see
 * (reconstructions or masks). */
static int write_samples(const TrainConfig *c, const EvalMetrics *m, Diag *d) {
  if (!m->snap_images || (!m->snap_recon && !m->snap_mask)) return 0;
  size_t n = strlen(c->out_dir) + 16;
  char *path = malloc(n);
  if (!path) abort();
  snprintf(path, n, "%s/samples.png", c->out_dir);
  int rc = samples_png(path, m->snap_images, m->snap_recon, m->snap_mask, c->data_mean, c->data_std, 8, d);
  free(path);
  return rc;
}

static void print_init(const TrainConfig *c, const InitReport *rep) {
  printf("init: loaded %d of %d weights from %s", rep->loaded, rep->total, c->init_file ? c->init_file : "init");
  if (rep->interpolated)
    printf(" (%d position embedding%s resized)", rep->interpolated, rep->interpolated > 1 ? "s" : "");
  if (rep->loaded < rep->total) printf("; %d initialised (%s)", rep->total - rep->loaded, rep->fresh);
  if (rep->unused) printf("; %d tensor%s of the file unused", rep->unused, rep->unused > 1 ? "s" : "");
  printf("\n");
  fflush(stdout);
}

/* Every step input the data and the feeders fill must take what they give. */
static int check_inputs(const TrainConfig *c, const Graph *sg, const Tensor *images, const Tensor *labels, Diag *d) {
  for (int i = 0; i < sg->n; i++) {
    const Node *n = &sg->nodes[i];
    const Tensor *t = n->op != OP_INPUT ? NULL
                      : !strcmp(n->name, c->images_input) ? images
                      : c->labels_input && !strcmp(n->name, c->labels_input) ? labels : NULL;
    if (t && (t->dtype != n->dtype || !shape_eq(&t->shape, &n->shape))) {
      char b1[128], b2[128];
      diag_error(d, n->loc, "input '%s' takes %s%s, but the data gives %s %s%s", n->name, dtype_name(n->dtype),
                 shape_str(&n->shape, b1, sizeof b1), t == images ? "images" : "labels", dtype_name(t->dtype),
                 shape_str(&t->shape, b2, sizeof b2));
      return -1;
    }
  }
  return 0;
}

int train_run(const TrainConfig *c, TrainResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  r->val_loss = r->val_acc = NAN;
  int rc = -1;
  TensorSet w;
  tset_init(&w);
  Engine step = {0}, ev = {0};
  Graph *sg = NULL, *eg = NULL;
  Tensor *images = NULL, *labels = NULL;
  BatchSrc b = {0};
  TrainLog log = {0};
  EvalMetrics em;
  int64_t done = 0, ntrain = bsrc_count(c->train, c->seg_train);
  const Tensor *tl = c->train ? c->train->labels : c->seg_train ? c->seg_train->labels : NULL;
  evm_init(&em, c->model, tl ? tl->shape.rank : 1, c->vocab, c->data_mean, c->data_std);
  if (c->batch < 1 || c->steps < 1 || ntrain < c->batch) {
    diag_error(d, SRCLOC_NONE, "training needs at least one full batch: batch %lld, %lld training images, %lld steps",
               (long long)c->batch, (long long)ntrain, (long long)c->steps);
    goto out;
  }
  if (!(sg = train_step(c->model, &c->spec, d))) goto out;
  if (bsrc_count(c->val, c->seg_val) >= c->batch) {
    const char *want[TRAIN_MAX_NAMES + EVM_MAX_OUTPUTS + 1] = {c->spec.loss};
    int nw = 1;
    for (int i = 0; i < c->spec.nkeep; i++) want[nw++] = c->spec.keep[i];
    const char *more[EVM_MAX_OUTPUTS];
    for (int i = 0, k = evm_outputs(&em, more); i < k; i++) {
      int dup = 0;
      for (int j = 0; j < nw; j++) dup |= !strcmp(want[j], more[i]);
      if (!dup) want[nw++] = more[i];
    }
    Graph *p = pass_prune(c->model, want, nw, d);
    eg = p ? pass_run(p, NULL, 0, d) : NULL;
    ir_graph_free(p);
    if (!eg) goto out;
  }
  if (start_weights(c, sg, &w, &r->init, d)) goto out;
  if (c->init) print_init(c, &r->init);
  if (c->resume && load_checkpoint(c, &w, &done, d)) goto out;
  if (done > c->steps) {
    diag_error(d, (SrcLoc){c->ckpt_path, 0, 0}, "the checkpoint is at step %lld, past the %lld steps asked for",
               (long long)done, (long long)c->steps);
    goto out;
  }
  if (engine_init(&step, sg, c, 1, &r->compile_s, d) || (eg && engine_init(&ev, eg, c, 0, &r->compile_s, d)) ||
      engine_keep(&step, &w, d))
    goto out;
  bsrc_init(&b, c->train, c->seg_train, c->batch, c->seed, c->shuffle, c->crop_pad, c->flip);
  bsrc_tensors(&b, &images, &labels);
  /* the data must fit the inputs it is bound to, before anything is written */
  if (check_inputs(c, sg, images, labels, d)) goto out;
  int64_t per_epoch = bsrc_steps_per_epoch(&b);
  r->nextra = eg ? evm_columns(&em, r->extra_names) : 0;
  if (tlog_open(&log, c, done, r->extra_names, r->nextra, d)) goto out;
  r->first_step = done;
  r->steps_done = done;
  r->first_loss = NAN;
  for (int i = 0; i < r->nextra; i++) r->extra[i] = NAN;
  double t0 = now(), tstep = now();
  int64_t last = c->stop_after > 0 && done + c->stop_after < c->steps ? done + c->stop_after : c->steps;
  for (int64_t s = done; s < last; s++) {
    bsrc_get(&b, s, images, labels);
    TensorSet in, out;
    tset_init(&in);
    tset_init(&out);
    int bad = step_inputs(c, sg, s, c->mask, s, images, labels, &in, NULL, d) || engine_run(&step, &in, &w, &out, d);
    double loss = bad ? NAN : tensor_get(tset_get(&out, c->spec.loss), 0);
    double gn = bad ? NAN : tensor_get(tset_get(&out, "grad_norm"), 0);
    for (int i = 0; !bad && i < out.n; i++)
      if (!strncmp(out.names[i], "new.", 4)) {
        tset_put(&w, out.names[i] + 4, out.t[i]);
        out.t[i] = NULL;
        free(out.names[i]);
        out.names[i] = NULL;
      }
    /* the moved entries are gone: keep the set consistent for tset_free */
    int keep = 0;
    for (int i = 0; i < out.n; i++)
      if (out.names[i]) {
        out.names[keep] = out.names[i];
        out.t[keep++] = out.t[i];
      }
    out.n = keep;
    tset_free(&in);
    tset_free(&out);
    if (bad) goto out;
    if (!isfinite(loss)) {
      diag_error(d, SRCLOC_NONE, "the loss is %g at step %lld: training diverged (lower the learning rate?)", loss,
                 (long long)s + 1);
      goto out;
    }
    if (isnan(r->first_loss)) r->first_loss = loss;
    r->last_loss = loss;
    double t = now();
    int64_t n = s + 1;
    int eval_now = ev.g && ((c->eval_every > 0 && n % c->eval_every == 0) || n == c->steps);
    double vl = NAN, va = NAN, extra[EVM_MAX_COLS];
    for (int i = 0; i < EVM_MAX_COLS; i++) extra[i] = NAN;
    int ckpt_now = c->ckpt_path && ((c->ckpt_every > 0 && n % c->ckpt_every == 0) || n == last);
    if (eval_now || ckpt_now || n == last) engine_state(&step, &w);
    if (eval_now) {
      if (evaluate(c, &ev, &w, s, &em, &vl, d)) goto out;
      va = evm_acc(&em);
      evm_values(&em, extra);
      r->val_loss = vl;
      r->val_acc = va;
      memcpy(r->extra, extra, sizeof r->extra);
      if (n == c->steps && write_samples(c, &em, d)) goto out;
    }
    tlog_step(&log, n, per_epoch ? (double)n / (double)per_epoch : 0, c->lr[s], loss, gn, t - tstep, vl, va,
              eval_now ? extra : NULL);
    tstep = t;
    if (ckpt_now && save_checkpoint(c, &w, n, d)) goto out;
    if (n != last) engine_drop(&step, &w);
    r->steps_done = n;
  }
  r->run_s = now() - t0;
  engine_state(&step, &w);
  if (c->profile && step.jit) jit_profile(step.jit, 15, stdout);
  if (tlog_finish(&log, &w, c->model, r->steps_done == c->steps, d)) goto out;
  rc = 0;
out:
  tlog_close(&log);
  bsrc_free(&b);
  evm_free(&em);
  tensor_free(images);
  tensor_free(labels);
  jit_free(step.jit);
  jit_free(ev.jit);
  ir_graph_free(sg);
  ir_graph_free(eg);
  tset_free(&w);
  return rc;
}
