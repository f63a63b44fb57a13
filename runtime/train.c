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
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"
#include "philox.h"
#include "safetensors.h"
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
} Engine;

static int engine_init(Engine *e, const Graph *g, const TrainConfig *c, double *compile_s, Diag *d) {
  e->g = g;
  e->jit = NULL;
  if (c->interp) return 0;
  JitOptions o = {.no_cache = c->no_cache, .no_fuse = c->no_fuse, .no_plan = c->no_plan};
  e->jit = jit_compile(g, &o, d);
  if (!e->jit) return -1;
  *compile_s += jit_stats(e->jit)->compile_s;
  return 0;
}

static int engine_run(Engine *e, const TensorSet *in, const TensorSet *w, TensorSet *out, Diag *d) {
  return e->jit ? jit_run(e->jit, in, w, out, d) : interp_run(e->g, in, w, out, d);
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

static int has_input(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) return 1;
  return 0;
}

/* The inputs of step `s` for graph g: the batch, the scheduled scalars, the seed. */
static void step_inputs(const TrainConfig *c, const Graph *g, int64_t s, const Tensor *images, const Tensor *labels,
                        TensorSet *in) {
  if (has_input(g, c->images_input)) tset_put(in, c->images_input, tensor_copy(images));
  if (c->labels_input && has_input(g, c->labels_input)) tset_put(in, c->labels_input, tensor_copy(labels));
  int64_t k = s < c->steps ? s : c->steps - 1;
  put_scalar(g, in, "opt.lr", c->lr[k]);
  put_scalar(g, in, "opt.wd", c->wd[k]);
  put_scalar(g, in, "opt.step", (double)(s + 1));
  for (int i = 0; i < c->nscalars; i++) put_scalar(g, in, c->scalars[i].input, c->scalars[i].value[k]);
  if (c->seed_input) /* a fresh i32 seed per step, from (seed, step) */
    put_scalar(g, in, c->seed_input, (double)(int32_t)(philox_uniform(c->seed, 0x5EED5EEDu, (uint64_t)s) * 2147483647.0f));
}

/* ---- weights, optimizer state, checkpoints ---- */

/* Model weights (from c->init or the initialisers) and zero optimizer state for every
 * weight node of the step graph. */
static int start_weights(const TrainConfig *c, const Graph *step, TensorSet *w, Diag *d) {
  if (c->init) {
    for (int i = 0; i < c->model->n; i++) {
      const Node *n = &c->model->nodes[i];
      if (n->op != OP_WEIGHT) continue;
      const Tensor *t = tset_get(c->init, n->name);
      if (!t) {
        diag_error(d, n->loc, "the starting weights have no '%s'", n->name);
        return -1;
      }
      if (!shape_eq(&t->shape, &n->shape)) {
        char b1[128], b2[128];
        diag_error(d, n->loc, "starting weight '%s' is %s, the model needs %s", n->name,
                   shape_str(&t->shape, b1, sizeof b1), shape_str(&n->shape, b2, sizeof b2));
        return -1;
      }
      tset_put(w, n->name, tensor_convert(t, n->dtype));
    }
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

/* Mean loss and, when the model has logits and labels, accuracy over the whole of val
 * (its full batches). */
static int evaluate(const TrainConfig *c, Engine *e, const TensorSet *w, int64_t step, double *loss, double *acc,
                    Diag *d) {
  Batcher b;
  batcher_init(&b, c->val, c->batch, c->seed, 0, 0, 0);
  int64_t n = batcher_steps_per_epoch(&b), hits = 0, seen = 0;
  const Tensor *ti = c->val->images;
  Tensor *images = tensor_new(DT_F32, shape_of(4, (int64_t[]){c->batch, ti->shape.d[1], ti->shape.d[2], ti->shape.d[3]}));
  Tensor *labels = tensor_new(DT_I32, shape_of(1, &c->batch));
  double sum = 0;
  int rc = 0;
  *loss = *acc = NAN;
  for (int64_t k = 0; k < n && !rc; k++) {
    batcher_get(&b, k, images, labels);
    TensorSet in, out;
    tset_init(&in);
    tset_init(&out);
    step_inputs(c, e->g, step, images, labels, &in);
    rc = engine_run(e, &in, w, &out, d);
    if (!rc) {
      sum += tensor_get(tset_get(&out, c->spec.loss), 0);
      const Tensor *lg = tset_get(&out, "logits");
      if (lg && lg->shape.rank == 2 && lg->shape.d[0] == c->batch)
        for (int64_t r = 0; r < c->batch; r++) {
          int64_t best = 0, k2 = lg->shape.d[1];
          for (int64_t j = 1; j < k2; j++)
            if (tensor_get(lg, r * k2 + j) > tensor_get(lg, r * k2 + best)) best = j;
          hits += best == (int64_t)tensor_get(labels, r);
          seen++;
        }
    }
    tset_free(&in);
    tset_free(&out);
  }
  if (!rc && n) {
    *loss = sum / (double)n;
    if (seen) *acc = (double)hits / (double)seen;
  }
  tensor_free(images);
  tensor_free(labels);
  batcher_free(&b);
  return rc;
}

/* ---- the loop ---- */

int train_run(const TrainConfig *c, TrainResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  r->val_loss = r->val_acc = NAN;
  int rc = -1;
  TensorSet w;
  tset_init(&w);
  Engine step = {0}, ev = {0};
  Graph *sg = NULL, *eg = NULL;
  Tensor *images = NULL, *labels = NULL;
  Batcher b = {0};
  TrainLog log = {0};
  int64_t done = 0;
  if (c->batch < 1 || c->steps < 1 || c->train->n < c->batch) {
    diag_error(d, SRCLOC_NONE, "training needs at least one full batch: batch %lld, %lld training images, %lld steps",
               (long long)c->batch, (long long)c->train->n, (long long)c->steps);
    return -1;
  }
  if (!(sg = train_step(c->model, &c->spec, d))) goto out;
  if (c->val && c->val->n >= c->batch) {
    const char *want[TRAIN_MAX_NAMES + 1] = {c->spec.loss};
    for (int i = 0; i < c->spec.nkeep; i++) want[i + 1] = c->spec.keep[i];
    Graph *p = pass_prune(c->model, want, c->spec.nkeep + 1, d);
    eg = p ? pass_run(p, NULL, 0, d) : NULL;
    ir_graph_free(p);
    if (!eg) goto out;
  }
  if (start_weights(c, sg, &w, d)) goto out;
  if (c->resume && load_checkpoint(c, &w, &done, d)) goto out;
  if (done > c->steps) {
    diag_error(d, (SrcLoc){c->ckpt_path, 0, 0}, "the checkpoint is at step %lld, past the %lld steps asked for",
               (long long)done, (long long)c->steps);
    goto out;
  }
  if (engine_init(&step, sg, c, &r->compile_s, d) || (eg && engine_init(&ev, eg, c, &r->compile_s, d))) goto out;
  const Tensor *ti = c->train->images;
  images = tensor_new(DT_F32, shape_of(4, (int64_t[]){c->batch, ti->shape.d[1], ti->shape.d[2], ti->shape.d[3]}));
  labels = tensor_new(DT_I32, shape_of(1, &c->batch));
  /* the data must fit the inputs it is bound to, before anything is written */
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
      goto out;
    }
  }
  batcher_init(&b, c->train, c->batch, c->seed, c->shuffle, c->crop_pad, c->flip);
  int64_t per_epoch = batcher_steps_per_epoch(&b);
  if (tlog_open(&log, c, done, d)) goto out;
  r->first_step = done;
  r->steps_done = done;
  r->first_loss = NAN;
  double t0 = now(), tstep = now();
  int64_t last = c->stop_after > 0 && done + c->stop_after < c->steps ? done + c->stop_after : c->steps;
  for (int64_t s = done; s < last; s++) {
    batcher_get(&b, s, images, labels);
    TensorSet in, out;
    tset_init(&in);
    tset_init(&out);
    step_inputs(c, sg, s, images, labels, &in);
    int bad = engine_run(&step, &in, &w, &out, d);
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
    double vl = NAN, va = NAN;
    if (eval_now) {
      if (evaluate(c, &ev, &w, s, &vl, &va, d)) goto out;
      r->val_loss = vl;
      r->val_acc = va;
    }
    tlog_step(&log, n, per_epoch ? (double)n / (double)per_epoch : 0, c->lr[s], loss, gn, t - tstep, vl, va);
    tstep = t;
    if (c->ckpt_path && ((c->ckpt_every > 0 && n % c->ckpt_every == 0) || n == last) && save_checkpoint(c, &w, n, d))
      goto out;
    r->steps_done = n;
  }
  r->run_s = now() - t0;
  if (tlog_finish(&log, &w, c->model, r->steps_done == c->steps, d)) goto out;
  rc = 0;
out:
  tlog_close(&log);
  batcher_free(&b);
  tensor_free(images);
  tensor_free(labels);
  jit_free(step.jit);
  jit_free(ev.jit);
  ir_graph_free(sg);
  ir_graph_free(eg);
  tset_free(&w);
  return rc;
}
