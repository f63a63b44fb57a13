/* test_dvae.c — graphs/dvae.yaml, the dVAE tokenizer, at a small size (n_hid 8, vocab 16,
 * batch 2, synthetic pixels in [0, 1]):
 *   - interface: inputs, outputs and their types; the weight count against a formula
 *     written here from the architecture; DALL-E-style weight names;
 *   - forward semantics, with weights set by hand so the numbers are known: zero encoder
 *     logits give kl = 0 and every token 0 (the first code on ties); a bias that favours
 *     one code gives that token everywhere and the KL of softmax(bias) against uniform; a
 *     constant decoder output gives the logit-Laplace NLL and the reconstruction computed
 *     here from the pixels (and the MSE ones with likelihood=mse); loss = rec_loss +
 *     beta * grid^2 / pixels * kl; the Gumbel noise is a function of the seed alone;
 *   - gradients: the model promoted to f64 and differentiated with respect to every
 *     weight and the temperature, against central finite differences (h = 1e-6) for
 *     three elements of every weight tensor, with both likelihoods and two blocks per
 *     group, the Gumbel noise fixed by the seed;
 *   - the JIT against the interpreter: every forward output and every gradient within
 *     1e-4 of max|interp| (mimic compare's rule at cli.sh's tolerance), tokens exactly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "check.h"
#include "f64_harness.h"
#include "frontend/frontend.h"
#include "init.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "pass.h"

#define MODEL "../graphs/dvae.yaml"
#define BATCH 2
#define NHID 8
#define VOCAB 16
#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static Diag D;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

/* The model with n_hid 8, vocab 16, n_blk_per_group `blocks`, and the overrides in
 * `extra` ("name=value" separated by spaces, or NULL). */
static Graph *load(int blocks, const char *extra, int64_t batch) {
  static char buf[4][64];
  char bv[16];
  snprintf(bv, sizeof bv, "%d", blocks);
  FeDefine defs[7] = {{"n_hid", "8", {"<test>", 0, 0}},
                      {"vocab", "16", {"<test>", 0, 0}},
                      {"n_blk_per_group", bv, {"<test>", 0, 0}}};
  int n = 3;
  for (const char *p = extra; p && *p && n < 7; n++) {
    const char *sp = strchr(p, ' '), *end = sp ? sp : p + strlen(p);
    snprintf(buf[n - 3], sizeof buf[0], "%.*s", (int)(end - p), p);
    char *eq = strchr(buf[n - 3], '=');
    *eq = 0;
    defs[n] = (FeDefine){buf[n - 3], eq + 1, {"<test>", 0, 0}};
    p = sp ? sp + 1 : end;
  }
  FeOptions o = {.defines = defs, .ndefines = n, .batch = batch};
  Graph *g = fe_load_yaml(MODEL, &o, NULL, &D);
  if (!g) fprintf(stderr, "could not load %s: %s\n", MODEL, D.last);
  return g;
}

static const Node *find(const Graph *g, OpKind op, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == op && !strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

static int is_shape(const Node *n, Shape s) {
  return shape_eq(&n->shape, &s);
}

static const Node *output(const Graph *g, const char *name) {
  for (int k = 0; k < g->nout; k++)
    if (!strcmp(g->outs[k].name, name)) return &g->nodes[g->outs[k].id];
  return NULL;
}

/* Synthetic images in [0, 1]: a smooth blob plus noise, clamped, so that some pixels are
 * exactly 0 or 1 as in Fashion-MNIST. */
static Tensor *pixels(DType t, int64_t batch, int64_t image) {
  Tensor *x = tensor_new(t, SH(batch, 1, image, image));
  double c = (double)image / 2, r = (double)image * (double)image / 13;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = 0; i < image; i++)
      for (int64_t j = 0; j < image; j++) {
        double dy = (double)i - c, dx = (double)j - c + 2.0 - 3.0 * (double)b;
        double v = 1.3 * exp(-(dy * dy + dx * dx) / r) - 0.1 + 0.3 * urand();
        tensor_set(x, (b * image + i) * image + j, v < 0 ? 0 : v > 1 ? 1 : v);
      }
  return x;
}

static Tensor *scalar(DType t, double v) {
  Tensor *x = tensor_new(t, shape_scalar());
  tensor_set(x, 0, v);
  return x;
}

/* Inputs of a batch: pixels (image x image), temperature, seed. */
static void inputs(TensorSet *in, DType t, int64_t image, double tau, int seed) {
  tset_init(in);
  tset_put(in, "pixels", pixels(t, BATCH, image));
  tset_put(in, "temperature", scalar(t, tau));
  tset_put(in, "seed", scalar(DT_I32, seed));
}

/* The model's initial weights with every bias drawn in [-0.1, 0.1] instead of 0, so that
 * no relu sits exactly at its kink. */
static void weights(const Graph *g, TensorSet *w, uint64_t seed) {
  tset_init(w);
  CHECK_INT(init_weights(g, seed, w, &D), 0);
  for (int i = 0; i < w->n; i++) {
    size_t n = strlen(w->names[i]);
    if (n > 5 && !strcmp(w->names[i] + n - 5, ".bias"))
      for (int64_t k = 0; k < shape_numel(&w->t[i]->shape); k++) tensor_set(w->t[i], k, 0.2 * urand() - 0.1);
  }
}

static void fill(TensorSet *w, const char *name, double v) {
  Tensor *t = tset_get(w, name);
  CHECK(t != NULL);
  if (t)
    for (int64_t k = 0; k < shape_numel(&t->shape); k++) tensor_set(t, k, v);
}

/* Run the lowered model through the interpreter; 0 or -1. */
static int run(const Graph *lowered, const TensorSet *in, const TensorSet *w, TensorSet *out) {
  tset_init(out);
  int rc = interp_run(lowered, in, w, out, &D);
  if (rc) fprintf(stderr, "interp_run: %s\n", D.last);
  return rc;
}

static double out1(const TensorSet *out, const char *name) {
  const Tensor *t = tset_get(out, name);
  return t ? tensor_get(t, 0) : NAN;
}

/* ---- interface and size ---- */

/* Parameters of one residual block of width d (inner width d/4, kernels k1 and k4 at the
 * ends of the residual path, 3x3 in between). */
static int64_t block_params(int64_t d, int64_t k1, int64_t k4) {
  int64_t h = d / 4;
  return h * d * k1 * k1 + h + 2 * (h * h * 9 + h) + d * h * k4 * k4 + d;
}

/* The whole model: encoder (input 7x7, groups n, 2n, 4n with projections into groups 2
 * and 3, output 1x1 to the vocab) and decoder (codebook 1x1 vocab -> n_init, groups 4n,
 * 2n, n each with a projection, output 1x1 to `out` maps). */
static int64_t model_params(int64_t n, int64_t blocks, int64_t vocab, int64_t channels, int64_t out) {
  int64_t n_init = n / 2;
  int64_t enc = n * channels * 49 + n + (2 * n * n + 2 * n) + (4 * n * 2 * n + 4 * n) + (vocab * 4 * n + vocab) +
                blocks * (block_params(n, 3, 1) + block_params(2 * n, 3, 1) + block_params(4 * n, 3, 1));
  int64_t dec = (n_init * vocab + n_init) + (4 * n * n_init + 4 * n) + (2 * n * 4 * n + 2 * n) + (n * 2 * n + n) +
                (out * n + out) +
                blocks * (block_params(4 * n, 1, 3) + block_params(2 * n, 1, 3) + block_params(n, 1, 3));
  return enc + dec;
}

static int64_t count_weights(const Graph *g, int *ntensors) {
  int64_t total = 0;
  *ntensors = 0;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT) {
      total += shape_numel(&g->nodes[i].shape);
      ++*ntensors;
    }
  return total;
}

static void test_interface(void) {
  FeOptions o = {.batch = 3};
  FeInfo info;
  Graph *g = fe_load_yaml(MODEL, &o, &info, &D);
  CHECK(g != NULL);
  if (!g) return;
  int nt;
  /* defaults: n_hid 64, one block per group, vocab 128, logit-Laplace (2 output maps) */
  CHECK_INT(count_weights(g, &nt), model_params(64, 1, 128, 1, 2));
  CHECK_INT(count_weights(g, &nt), 756482);
  CHECK_INT(nt, 66);
  int seen = 0;
  for (int i = 0; i < info.nparams; i++)
    if (!strcmp(info.params[i].name, "grid") || !strcmp(info.params[i].name, "n_init")) {
      CHECK_INT(info.params[i].value, !strcmp(info.params[i].name, "grid") ? 7 : 32);
      seen++;
    }
  CHECK_INT(seen, 2);
  const Node *x = find(g, OP_INPUT, "pixels"), *t = find(g, OP_INPUT, "temperature"), *s = find(g, OP_INPUT, "seed");
  CHECK(x && x->dtype == DT_F32 && is_shape(x, SH(3, 1, 28, 28)));
  CHECK(t && t->dtype == DT_F32 && t->shape.rank == 0);
  CHECK(s && s->dtype == DT_I32 && s->shape.rank == 0);
  const char *scalars[] = {"loss", "rec_loss", "kl"};
  for (int k = 0; k < 3; k++) {
    const Node *n = output(g, scalars[k]);
    CHECK(n && n->dtype == DT_F32 && n->shape.rank == 0);
  }
  const Node *r = output(g, "recon"), *tk = output(g, "tokens");
  CHECK(r && r->dtype == DT_F32 && is_shape(r, SH(3, 1, 28, 28)));
  CHECK(tk && tk->dtype == DT_I32 && is_shape(tk, SH(3, 7, 7)));
  const char *names[] = {"encoder.input.weight", "encoder.group_1.blocks.0.conv1.weight",
                         "encoder.group_3.blocks.0.conv4.bias", "encoder.group_2.proj.weight",
                         "encoder.output.weight", "decoder.input.weight", "decoder.group_1.proj.weight",
                         "decoder.group_3.blocks.0.conv2.weight", "decoder.output.bias"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (!find(g, OP_WEIGHT, names[k])) {
      fprintf(stderr, "  no weight named %s\n", names[k]);
      check_failures++;
    }
  const Node *w = find(g, OP_WEIGHT, "encoder.group_3.blocks.0.conv1.weight");
  CHECK(w && is_shape(w, SH(64, 256, 3, 3)));
  w = find(g, OP_WEIGHT, "decoder.group_3.blocks.0.conv1.weight"); /* decoder blocks start with a 1x1 */
  CHECK(w && is_shape(w, SH(16, 64, 1, 1)));
  ir_graph_free(g);

  /* scaled: two blocks per group, mse (one output map) */
  g = load(2, "likelihood=mse", 2);
  CHECK(g != NULL);
  if (!g) return;
  CHECK_INT(count_weights(g, &nt), model_params(NHID, 2, VOCAB, 1, 1));
  CHECK_INT(nt, 6 * 2 * 8 + 8 + 10); /* 8 per block; encoder input, 2 proj, output; decoder input, 3 proj, output */
  CHECK(find(g, OP_WEIGHT, "decoder.group_2.blocks.1.conv4.weight") != NULL);
  w = find(g, OP_WEIGHT, "decoder.output.weight");
  CHECK(w && w->shape.d[0] == 1);
  ir_graph_free(g);
}

/* ---- forward semantics, numbers known in closed form ---- */

static void test_forward(void) {
  Graph *g = load(1, NULL, BATCH), *low = g ? pass_run(g, NULL, 0, &D) : NULL;
  CHECK(low != NULL);
  if (!low) {
    ir_graph_free(g);
    return;
  }
  TensorSet in, w, out;
  inputs(&in, DT_F32, 28, 0.7, 5);
  weights(g, &w, 1);
  const Tensor *px = tset_get(&in, "pixels");
  int64_t npix = shape_numel(&px->shape);
  const double kl_scale = 49.0 / 784.0; /* beta 1 * grid^2 / (channels * image^2) */

  /* zero logits: q uniform, kl 0, every token 0 */
  fill(&w, "encoder.output.weight", 0);
  fill(&w, "encoder.output.bias", 0);
  /* a constant decoder output: mu = 0.3, ln b = -1 everywhere */
  fill(&w, "decoder.output.weight", 0);
  Tensor *ob = tset_get(&w, "decoder.output.bias");
  tensor_set(ob, 0, 0.3);
  tensor_set(ob, 1, -1.0);
  if (!run(low, &in, &w, &out)) {
    CHECK(fabs(out1(&out, "kl")) < 1e-7);
    const Tensor *tk = tset_get(&out, "tokens");
    int zeros = 1;
    for (int64_t k = 0; k < BATCH * 49; k++) zeros &= tensor_get(tk, k) == 0;
    CHECK(zeros);
    double nll = 0;
    for (int64_t k = 0; k < npix; k++) {
      double x = 0.8 * tensor_get(px, k) + 0.1, lx = log(x), l1 = log(1 - x);
      nll += fabs(lx - l1 - 0.3) * exp(1.0) - 1.0 + log(2.0) + lx + l1;
    }
    CHECK_NEAR(out1(&out, "rec_loss"), nll / (double)npix, 1e-5);
    CHECK_NEAR(out1(&out, "loss"), out1(&out, "rec_loss") + kl_scale * out1(&out, "kl"), 1e-6);
    double want = (1 / (1 + exp(-0.3)) - 0.1) / 0.8;
    const Tensor *r = tset_get(&out, "recon");
    double worst = 0;
    for (int64_t k = 0; k < npix; k++) worst = fmax(worst, fabs(tensor_get(r, k) - want));
    CHECK(worst < 1e-6);
  }
  tset_free(&out);

  /* a bias favouring code 5: token 5 everywhere, kl of softmax(bias) */
  Tensor *eb = tset_get(&w, "encoder.output.bias");
  double bias[VOCAB], z = 0, kl = 0;
  for (int c = 0; c < VOCAB; c++) {
    bias[c] = c == 5 ? 2.0 : 0.5 * sin((double)c);
    tensor_set(eb, c, bias[c]);
    z += exp(bias[c]);
  }
  for (int c = 0; c < VOCAB; c++) {
    double q = exp(bias[c]) / z;
    kl += q * (log(q) + log((double)VOCAB));
  }
  if (!run(low, &in, &w, &out)) {
    CHECK_NEAR(out1(&out, "kl"), kl, 1e-5);
    CHECK(kl > 0.1);
    const Tensor *tk = tset_get(&out, "tokens");
    int fives = 1;
    for (int64_t k = 0; k < BATCH * 49; k++) fives &= tensor_get(tk, k) == 5;
    CHECK(fives);
    CHECK_NEAR(out1(&out, "loss"), out1(&out, "rec_loss") + kl_scale * out1(&out, "kl"), 1e-6);
  }
  tset_free(&out);
  tset_free(&w);

  /* random weights: the same seed gives the same loss, another seed or temperature another;
   * the reconstruction lies in [0, 1] and the tokens in [0, vocab) */
  weights(g, &w, 2);
  TensorSet o2, o3, o4;
  int ok = !run(low, &in, &w, &out) && !run(low, &in, &w, &o2);
  tset_put(&in, "seed", scalar(DT_I32, 6));
  ok &= !run(low, &in, &w, &o3);
  tset_put(&in, "seed", scalar(DT_I32, 5));
  tset_put(&in, "temperature", scalar(DT_F32, 0.3));
  ok &= !run(low, &in, &w, &o4);
  CHECK(ok);
  if (ok) {
    CHECK(out1(&out, "loss") == out1(&o2, "loss"));
    CHECK(out1(&out, "loss") != out1(&o3, "loss"));
    CHECK(out1(&out, "loss") != out1(&o4, "loss"));
    CHECK(out1(&out, "kl") == out1(&o3, "kl")); /* the KL does not see the noise */
    CHECK(isfinite(out1(&out, "loss")) && out1(&out, "kl") > 0 && out1(&out, "kl") < log((double)VOCAB));
    const Tensor *r = tset_get(&out, "recon"), *tk = tset_get(&out, "tokens");
    int in01 = 1, inv = 1;
    for (int64_t k = 0; k < npix; k++) in01 &= tensor_get(r, k) >= 0 && tensor_get(r, k) <= 1;
    for (int64_t k = 0; k < BATCH * 49; k++) inv &= tensor_get(tk, k) >= 0 && tensor_get(tk, k) < VOCAB;
    CHECK(in01);
    CHECK(inv);
  }
  tset_free(&out);
  tset_free(&o2);
  tset_free(&o3);
  tset_free(&o4);
  tset_free(&w);
  tset_free(&in);
  ir_graph_free(low);
  ir_graph_free(g);

  /* mse: a constant output c is the reconstruction, rec_loss = mean((c - x)^2); beta 0
   * leaves the reconstruction term alone */
  g = load(1, "likelihood=mse", BATCH);
  low = g ? pass_run(g, NULL, 0, &D) : NULL;
  CHECK(low != NULL);
  if (low) {
    inputs(&in, DT_F32, 28, 1.0, 3);
    weights(g, &w, 3);
    fill(&w, "decoder.output.weight", 0);
    fill(&w, "decoder.output.bias", 0.25);
    if (!run(low, &in, &w, &out)) {
      px = tset_get(&in, "pixels");
      double se = 0, worst = 0;
      for (int64_t k = 0; k < npix; k++) se += (0.25 - tensor_get(px, k)) * (0.25 - tensor_get(px, k));
      CHECK_NEAR(out1(&out, "rec_loss"), se / (double)npix, 1e-5);
      const Tensor *r = tset_get(&out, "recon");
      for (int64_t k = 0; k < npix; k++) worst = fmax(worst, fabs(tensor_get(r, k) - 0.25));
      CHECK(worst == 0);
      CHECK_NEAR(out1(&out, "loss"), out1(&out, "rec_loss") + kl_scale * out1(&out, "kl"), 1e-6);
    }
    tset_free(&out);
    tset_free(&w);
    tset_free(&in);
  }
  ir_graph_free(low);
  ir_graph_free(g);

  g = load(1, "beta=0", BATCH);
  low = g ? pass_run(g, NULL, 0, &D) : NULL;
  CHECK(low != NULL);
  if (low) {
    inputs(&in, DT_F32, 28, 1.0, 3);
    weights(g, &w, 3);
    if (!run(low, &in, &w, &out)) {
      CHECK(out1(&out, "loss") == out1(&out, "rec_loss"));
      CHECK(out1(&out, "kl") > 0);
    }
    tset_free(&out);
    tset_free(&w);
    tset_free(&in);
  }
  ir_graph_free(low);
  ir_graph_free(g);
}

/* ---- gradients against finite differences, in f64 ---- */

static Graph *to_f64(const Graph *g) {
  return graph_to_f64(g, &D);
}

/* d loss / d (every weight, temperature) by autodiff, against central differences for
 * `per` elements of each (the first and random others), at image 12 (a 3x3 grid). */
static void gradcheck(int blocks, const char *extra, int per) {
  char defs[64];
  snprintf(defs, sizeof defs, "image=12%s%s", extra ? " " : "", extra ? extra : "");
  Graph *g = load(blocks, defs, BATCH), *g64 = g ? to_f64(g) : NULL;
  const char *loss = "loss";
  Graph *pr = g64 ? pass_prune(g64, &loss, 1, &D) : NULL, *low = pr ? pass_run(pr, NULL, 0, &D) : NULL;
  CHECK(low != NULL);
  int checked = 0, expected = 0;
  if (!low) goto out0;
  /* every weight, and the temperature */
  int *wrt = malloc(sizeof(int) * (size_t)low->n), *gr = malloc(sizeof(int) * (size_t)low->n), nw = 0;
  for (int i = 0; i < low->n; i++)
    if (low->nodes[i].op == OP_WEIGHT || (low->nodes[i].op == OP_INPUT && !strcmp(low->nodes[i].name, "temperature")))
      wrt[nw++] = i;
  int lid = low->outs[0].id;
  CHECK_INT(ad_backward(low, lid, -1, wrt, nw, gr, &D), 0);
  CHECK_INT(ir_verify(low, &D), 0);
  low->nout = 1;
  for (int k = 0; k < nw; k++) {
    char name[160];
    snprintf(name, sizeof name, "g.%s", low->nodes[wrt[k]].name);
    ir_add_output(low, name, gr[k]);
  }
  TensorSet in, w, out;
  inputs(&in, DT_F64, 12, 0.7, 11);
  weights(low, &w, 4);
  if (run(low, &in, &w, &out)) goto out1;
  int nout = low->nout;
  low->nout = 1; /* the loss alone for the differences */
  double worst = 0, big = 0;
  for (int k = 0; k < nw; k++) {
    const Node *n = &low->nodes[wrt[k]];
    char name[160];
    snprintf(name, sizeof name, "g.%s", n->name);
    const Tensor *an = tset_get(&out, name);
    Tensor *x = tset_get(n->op == OP_WEIGHT ? &w : &in, n->name);
    int64_t cnt = shape_numel(&x->shape);
    expected += cnt < per ? (int)cnt : per;
    for (int s = 0; s < per && s < cnt; s++) {
      int64_t j = s == 0 ? 0 : (int64_t)(urand() * (double)cnt);
      double v = tensor_get(x, j), h = 1e-6;
      TensorSet op, om;
      tensor_set(x, j, v + h);
      int rc = run(low, &in, &w, &op);
      tensor_set(x, j, v - h);
      rc |= run(low, &in, &w, &om);
      tensor_set(x, j, v);
      double num = (out1(&op, "loss") - out1(&om, "loss")) / (2 * h), a = tensor_get(an, j);
      tset_free(&op);
      tset_free(&om);
      if (rc) break;
      double err = fabs(a - num) / (fabs(num) + 1e-4);
      worst = fmax(worst, err);
      big = fmax(big, fabs(num));
      checked++;
      if (!(fabs(a - num) <= 1e-5 * fabs(num) + 1e-9)) {
        fprintf(stderr, "  %s: d loss / d %s[%lld]: autodiff %.12g, finite differences %.12g\n",
                defs, n->name, (long long)j, a, num);
        check_failures++;
      }
    }
  }
  CHECK_INT(checked, expected);
  CHECK(big > 1e-2); /* the gradients checked are not all negligible */
  fprintf(stderr, "     %s, %d block(s): loss %.9g, %d gradient elements of %d tensors, largest relative error %.2g, "
          "largest %.2g\n", defs, blocks, out1(&out, "loss"), checked, nw, worst, big);
  low->nout = nout;
  tset_free(&out);
out1:
  tset_free(&in);
  tset_free(&w);
  free(wrt);
  free(gr);
out0:
  ir_graph_free(low);
  ir_graph_free(pr);
  ir_graph_free(g64);
  ir_graph_free(g);
}

static void test_gradients(void) {
  gradcheck(2, NULL, 3);
  gradcheck(1, "likelihood=mse", 2);
}

/* ---- the JIT against the interpreter ---- */

/* Every tensor of `ref` within tol * max|ref| in `got` (integers exactly). */
static void compare_sets(const TensorSet *got, const TensorSet *ref, double tol, const char *what) {
  CHECK_INT(got->n, ref->n);
  double worst = 0;
  for (int i = 0; i < ref->n; i++) {
    const Tensor *r = ref->t[i], *t = tset_get(got, ref->names[i]);
    if (!t || t->dtype != r->dtype || !shape_eq(&t->shape, &r->shape)) {
      fprintf(stderr, "  %s: %s is missing or of another type\n", what, ref->names[i]);
      check_failures++;
      continue;
    }
    int64_t n = shape_numel(&r->shape);
    double big = 0, err = 0;
    for (int64_t k = 0; k < n; k++) big = fmax(big, fabs(tensor_get(r, k)));
    for (int64_t k = 0; k < n; k++) err = fmax(err, fabs(tensor_get(t, k) - tensor_get(r, k)));
    double lim = dtype_is_float(r->dtype) ? tol * big : 0;
    if (big > 0) worst = fmax(worst, err / big);
    if (!(err <= lim)) {
      fprintf(stderr, "  %s: %s differs by %.3g (max|interp| %.3g)\n", what, ref->names[i], err, big);
      check_failures++;
    }
  }
  fprintf(stderr, "     %s: %d tensors, largest difference %.2g of max|interp|\n", what, ref->n, worst);
}

static void test_jit(void) {
  Graph *g = load(1, NULL, BATCH), *low = g ? pass_run(g, NULL, 0, &D) : NULL;
  CHECK(low != NULL);
  if (!low) {
    ir_graph_free(g);
    return;
  }
  TensorSet in, w, ref, got;
  inputs(&in, DT_F32, 28, 0.5, 9);
  weights(g, &w, 5);
  /* forward: every output, kernels called in pieces */
  JitOptions o = {.no_cache = 1, .chunks = 3};
  JitProgram *p = jit_compile(low, &o, &D);
  CHECK(p != NULL);
  if (p && !run(low, &in, &w, &ref)) {
    tset_init(&got);
    CHECK_INT(jit_run(p, &in, &w, &got, &D), 0);
    compare_sets(&got, &ref, 1e-4, "forward");
    tset_free(&got);
    tset_free(&ref);
  }
  jit_free(p);
  /* the gradient graph, as `mimic grad` builds it */
  const char *loss = "loss";
  Graph *pr = pass_prune(g, &loss, 1, &D), *pl = pr ? pass_run(pr, NULL, 0, &D) : NULL;
  Graph *gg = pl ? ad_grad_graph(pl, "loss", &D) : NULL;
  CHECK(gg != NULL);
  JitOptions o2 = {.no_cache = 1};
  p = gg ? jit_compile(gg, &o2, &D) : NULL;
  CHECK(p != NULL);
  if (p && !run(gg, &in, &w, &ref)) {
    tset_init(&got);
    CHECK_INT(jit_run(p, &in, &w, &got, &D), 0);
    CHECK_INT(ref.n, 1 + w.n);
    compare_sets(&got, &ref, 1e-4, "gradients");
    tset_free(&got);
    tset_free(&ref);
  }
  jit_free(p);
  ir_graph_free(gg);
  ir_graph_free(pl);
  ir_graph_free(pr);
  tset_free(&in);
  tset_free(&w);
  ir_graph_free(low);
  ir_graph_free(g);
}

int main(void) {
  diag_init(&D);
  RUN(test_interface);
  RUN(test_forward);
  RUN(test_gradients);
  RUN(test_jit);
  return CHECK_DONE();
}
