/* test_train.c — the training step and loop: batches are deterministic functions of
 * (seed, step); a JIT training step equals an interpreter training step (weights after 5
 * AdamW steps of a depth-2 ViT agree to 1e-4 relative); frozen weights stay put; and a
 * run interrupted and resumed from its checkpoint logs exactly the losses of an
 * uninterrupted one. Needs Fashion-MNIST (skips those parts without it). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frontend/frontend.h"
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"
#include "safetensors.h"
#include "train.h"
#include "trainstep.h"

static Diag D;
static int have_data;

static Graph *vit(int depth, int dim, int64_t batch) {
  char dv[16], mv[16];
  snprintf(dv, sizeof dv, "%d", depth);
  snprintf(mv, sizeof mv, "%d", dim);
  FeDefine defs[2] = {{"depth", dv, {"<test>", 0, 0}}, {"dim", mv, {"<test>", 0, 0}}};
  FeOptions o = {.defines = defs, .ndefines = 2, .batch = batch};
  return fe_load_yaml("../graphs/vit.yaml", &o, NULL, &D);
}

/* ---- batches ---- */

static void test_batches(void) {
  if (!have_data) return;
  Dataset ds;
  CHECK_INT(data_fashion(&ds, "train", 0, 100, 0, 0, &D), 0);
  Batcher a, b;
  batcher_init(&a, &ds, 8, 42, 1, 2, 1);
  batcher_init(&b, &ds, 8, 42, 1, 2, 1);
  CHECK_INT(batcher_steps_per_epoch(&a), 12);
  Tensor *xa = tensor_new(DT_F32, shape_of(4, (int64_t[]){8, 1, 28, 28})), *xb = tensor_copy(xa);
  Tensor *ya = tensor_new(DT_I32, shape_of(1, (int64_t[]){8})), *yb = tensor_copy(ya);
  /* the same step gives the same batch, whatever was asked before */
  batcher_get(&a, 30, xa, ya);
  batcher_get(&b, 5, xb, yb);
  batcher_get(&b, 30, xb, yb);
  CHECK(!memcmp(xa->data, xb->data, tensor_nbytes(xa)) && !memcmp(ya->data, yb->data, tensor_nbytes(ya)));
  /* another epoch, another order */
  batcher_get(&b, 30 + 12, xb, yb);
  CHECK(memcmp(xa->data, xb->data, tensor_nbytes(xa)) != 0);
  /* without augmentation, one epoch shows every image exactly once */
  Batcher c;
  batcher_init(&c, &ds, 10, 7, 1, 0, 0);
  int seen[100] = {0}, labels_ok = 1;
  Tensor *xc = tensor_new(DT_F32, shape_of(4, (int64_t[]){10, 1, 28, 28})), *yc = tensor_new(DT_I32, shape_of(1, (int64_t[]){10}));
  for (int s = 0; s < 10; s++) {
    batcher_get(&c, s, xc, yc);
    for (int k = 0; k < 10; k++)
      for (int i = 0; i < 100; i++)
        if (!memcmp((float *)xc->data + k * 784, (float *)ds.images->data + i * 784, 784 * sizeof(float))) {
          seen[i]++;
          labels_ok &= tensor_get(yc, k) == tensor_get(ds.labels, i);
          break;
        }
  }
  int once = 1;
  for (int i = 0; i < 100; i++) once &= seen[i] == 1;
  CHECK(once);
  CHECK(labels_ok);
  tensor_free(xa);
  tensor_free(xb);
  tensor_free(ya);
  tensor_free(yb);
  tensor_free(xc);
  tensor_free(yc);
  batcher_free(&a);
  batcher_free(&b);
  batcher_free(&c);
  data_free(&ds);
}

/* ---- one step, two engines ---- */

static TrainSpec adamw_spec(void) {
  TrainSpec s = {.loss = "loss", .opt = optim_defaults()};
  s.opt.clip = 3.0;
  return s;
}

/* Five AdamW steps on the same batch-sized random data by the interpreter and by the JIT. */
static void test_step_engines(void) {
  Graph *m = vit(2, 192, 2);
  CHECK(m != NULL);
  if (!m) return;
  TrainSpec s = adamw_spec();
  Graph *g = train_step(m, &s, &D);
  CHECK(g != NULL);
  if (!g) {
    ir_graph_free(m);
    return;
  }
  CHECK_INT(ir_verify(g, &D), 0);
  TensorSet w[2], in;
  tset_init(&in);
  Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){2, 1, 28, 28})), *y = tensor_new(DT_I32, shape_of(1, (int64_t[]){2}));
  for (int i = 0; i < 2 * 784; i++) tensor_set(x, i, (double)((i * 7919) % 1000) / 1000.0);
  tensor_set(y, 0, 3);
  tensor_set(y, 1, 8);
  tset_put(&in, "pixels", x);
  tset_put(&in, "labels", y);
  for (int e = 0; e < 2; e++) {
    tset_init(&w[e]);
    CHECK_INT(init_weights(m, 1, &w[e], &D), 0);
    for (int i = 0; i < g->n; i++)
      if (g->nodes[i].op == OP_WEIGHT && !tset_get(&w[e], g->nodes[i].name))
        tset_put(&w[e], g->nodes[i].name, tensor_new(g->nodes[i].dtype, g->nodes[i].shape));
  }
  JitOptions o = {.no_cache = 1};
  JitProgram *p = jit_compile(g, &o, &D);
  CHECK(p != NULL);
  double loss[2][5];
  for (int t = 0; t < 5 && p; t++) {
    Tensor *lr = tensor_new(DT_F32, shape_scalar()), *wd = tensor_new(DT_F32, shape_scalar()),
           *st = tensor_new(DT_F32, shape_scalar());
    tensor_set(lr, 0, 1e-3);
    tensor_set(wd, 0, 0.05);
    tensor_set(st, 0, t + 1);
    tset_put(&in, "opt.lr", lr);
    tset_put(&in, "opt.wd", wd);
    tset_put(&in, "opt.step", st);
    for (int e = 0; e < 2; e++) {
      TensorSet out;
      tset_init(&out);
      CHECK_INT(e ? jit_run(p, &in, &w[e], &out, &D) : interp_run(g, &in, &w[e], &out, &D), 0);
      loss[e][t] = tensor_get(tset_get(&out, "loss"), 0);
      for (int i = 0; i < out.n; i++)
        if (!strncmp(out.names[i], "new.", 4)) tset_put(&w[e], out.names[i] + 4, tensor_copy(out.t[i]));
      tset_free(&out);
    }
  }
  /* every weight and state tensor after 5 steps: 1e-4 of its largest element */
  double worst = 0;
  const char *wname = "";
  for (int i = 0; i < w[0].n; i++) {
    const Tensor *a = w[0].t[i], *b = tset_get(&w[1], w[0].names[i]);
    double big = 0, diff = 0;
    for (int64_t k = 0; k < shape_numel(&a->shape); k++) {
      big = fmax(big, fabs(tensor_get(a, k)));
      diff = fmax(diff, fabs(tensor_get(a, k) - tensor_get(b, k)));
    }
    double rel = big > 0 ? diff / big : diff;
    if (rel > worst) {
      worst = rel;
      wname = w[0].names[i];
    }
  }
  fprintf(stderr, "  5 AdamW steps: losses %.6f .. %.6f (interp) %.6f .. %.6f (jit); worst relative difference %.2e (%s)\n",
          loss[0][0], loss[0][4], loss[1][0], loss[1][4], worst, wname);
  CHECK(worst <= 1e-4);
  CHECK(loss[0][4] < loss[0][0]); /* five steps on one batch lower its loss */
  for (int t = 0; t < 5; t++) CHECK(fabs(loss[0][t] - loss[1][t]) <= 1e-4 * fabs(loss[0][t]));
  jit_free(p);
  tset_free(&in);
  tset_free(&w[0]);
  tset_free(&w[1]);
  ir_graph_free(g);
  ir_graph_free(m);
}

/* Frozen weights get no gradient, no state and no update. */
static void test_frozen(void) {
  Graph *m = vit(1, 48, 2);
  TrainSpec s = adamw_spec();
  s.frozen[s.nfrozen++] = "blocks";
  s.frozen[s.nfrozen++] = "patch_embed.";
  Graph *g = m ? train_step(m, &s, &D) : NULL;
  CHECK(g != NULL);
  int outs_frozen = 0, states_frozen = 0, trained = 0;
  for (int k = 0; g && k < g->nout; k++) {
    outs_frozen += !strncmp(g->outs[k].name, "new.blocks.", 11) || !strncmp(g->outs[k].name, "new.patch_embed.", 16);
    trained += !strcmp(g->outs[k].name, "new.head.weight");
  }
  for (int i = 0; g && i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT) states_frozen += !strncmp(g->nodes[i].name, "opt.m.blocks.", 13);
  CHECK_INT(outs_frozen, 0);
  CHECK_INT(states_frozen, 0);
  CHECK_INT(trained, 1);
  CHECK(train_is_frozen(&s, "blocks.0.attn.qkv.weight"));
  CHECK(!train_is_frozen(&s, "blocksX.weight"));
  ir_graph_free(g);
  ir_graph_free(m);
}

/* ---- the loop: resume equals uninterrupted ---- */

static int read_losses(const char *path, double *v, int max) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[1024];
  int n = 0;
  if (!fgets(line, sizeof line, f)) n = -1;
  while (n >= 0 && n < max && fgets(line, sizeof line, f)) {
    /* step,epoch,lr,loss,... */
    char *p = line;
    for (int c = 0; c < 3 && p; c++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    v[n++] = p ? strtod(p, NULL) : NAN;
  }
  fclose(f);
  return n;
}

static void test_resume(void) {
  if (!have_data) return;
  Graph *m = vit(1, 48, 8);
  Dataset ds;
  CHECK_INT(data_fashion(&ds, "train", 0, 64, DATA_FASHION_MEAN, DATA_FASHION_STD, &D), 0);
  double lr[12], wd[12];
  for (int i = 0; i < 12; i++) {
    lr[i] = 1e-3 * (i + 1) / 12.0;
    wd[i] = 0.05;
  }
  char dir[] = "/tmp/mimic-train-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char a[300], b[300], ck[300], la[320], lb[320];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  snprintf(ck, sizeof ck, "%s/b/ckpt.safetensors", dir);
  snprintf(la, sizeof la, "%s/log.csv", a);
  snprintf(lb, sizeof lb, "%s/log.csv", b);
  TrainConfig c = {.model = m, .spec = adamw_spec(), .images_input = "pixels", .labels_input = "labels", .train = &ds,
                   .batch = 8, .steps = 12, .seed = 5, .shuffle = 1, .crop_pad = 2, .flip = 1, .lr = lr, .wd = wd,
                   .out_dir = a, .quiet = 1};
  TrainResult r;
  CHECK_INT(train_run(&c, &r, &D), 0);
  /* the same run, stopped after 5 steps and resumed */
  c.out_dir = b;
  c.ckpt_path = ck;
  c.stop_after = 5;
  CHECK_INT(train_run(&c, &r, &D), 0);
  CHECK_INT(r.steps_done, 5);
  c.resume = 1;
  c.stop_after = 0;
  CHECK_INT(train_run(&c, &r, &D), 0);
  CHECK_INT(r.first_step, 5);
  CHECK_INT(r.steps_done, 12);
  double va[16], vb[16];
  int na = read_losses(la, va, 16), nb = read_losses(lb, vb, 16);
  CHECK_INT(na, 12);
  CHECK_INT(nb, 12);
  for (int i = 0; i < 12 && na == 12 && nb == 12; i++) CHECK(va[i] == vb[i]);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_INT(system(cmd), 0);
  data_free(&ds);
  ir_graph_free(m);
}

int main(void) {
  diag_init(&D);
  have_data = access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0;
  if (!have_data) fprintf(stderr, "note: no Fashion-MNIST; the data parts are skipped\n");
  RUN(test_batches);
  RUN(test_frozen);
  RUN(test_step_engines);
  RUN(test_resume);
  return CHECK_DONE();
}
