/* test_optim.c — the optimizer graph (passes/optim.c): AdamW and SGD with momentum,
 * global-norm clipping, BEiT's weight-decay groups and layer-wise LR decay.
 *
 * Gradients are plain inputs ("grad.<name>"), so no autodiff is involved. Each model runs
 * 5 steps through the interpreter, feeding every new.* output back as the next step's
 * weight or state, against (a) a plain double-precision C implementation of torch's
 * AdamW / SGD / clip_grad_norm_ written below, on several configurations, and (b) numbers
 * produced once by torch itself (tests/torch/optim_ref.py) and pasted here. One model
 * also runs through the JIT. Agreement: |got - want| <= tol * (|want| + mean |want| of
 * the tensor), so an element that cancels to ~0 is judged against the tensor's size;
 * tol = 1e-12 in f64 and 1e-6 in f32. Also: the group rules, the interface the graph
 * gets (names, dtypes, locations), and the error cases. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "optim.h"

#define LOC ((SrcLoc){"t.yaml", __LINE__, 5})
#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define F64 DT_F64
#define F32 DT_F32
#define STEPS 5
#define NMAX 64

/* The schedule and the data, exact binary fractions (as in optim_ref.py), so that every
 * implementation starts from the same numbers in f32 and f64. AMP makes steps 1, 3, 5
 * exceed the clipping threshold 1.0 and steps 2, 4 stay below it. */
static const double LR[STEPS] = {0x1p-6, 0x1p-7, 3 * 0x1p-8, 0x1p-8, 0x1p-9};
static const double WD[STEPS] = {0.0625, 0.0625, 0.03125, 0.03125, 0.125};
static const double AMP[STEPS] = {3, 0.0625, 1.5, 0.03125, 4};

static double init_value(int idx) {
  return ((idx * 5) % 9 - 4) / 4.0;
}

static double grad_value(int idx, int t) {
  return AMP[t - 1] * ((((idx * 7 + t * 3) % 11) - 5) / 8.0);
}

/* Largest error seen per dtype, for the summary line. */
static double max_err[2];

/* ---- a test model: trained weights, their gradients as inputs ---------------------------- */

typedef struct P {
  const char *name;
  DType t;
  Shape s;
  int decays;   /* expected: weight decay applies */
  double scale; /* expected: layer-wise lr scale */
} P;

typedef struct Model {
  Graph *g;
  Diag d;
  const P *p;
  int np;
  int w[16], gr[16];
  TensorSet weights; /* weights and optimizer state, replaced by new.* after each step */
} Model;

/* Builds the model and the update; returns optim_build's result. */
static int model_build(Model *m, const P *p, int np, const OptSpec *s) {
  m->g = ir_graph_new("t");
  diag_init(&m->d);
  tset_init(&m->weights);
  m->p = p;
  m->np = np;
  for (int i = 0; i < np; i++) {
    char gname[128];
    snprintf(gname, sizeof gname, "grad.%s", p[i].name);
    m->w[i] = ir_weight(m->g, p[i].name, p[i].t, p[i].s, "zeros", NULL, 0, LOC, &m->d);
    m->gr[i] = ir_input(m->g, gname, p[i].t, p[i].s, LOC, &m->d);
  }
  CHECK_INT(m->d.nerr, 0);
  int rc = optim_build(m->g, s, m->w, m->gr, np, &m->d);
  if (!rc) {
    CHECK_INT(ir_verify(m->g, &m->d), 0);
    /* initial values: the model's weights from init_value, the state zeros */
    for (int i = 0; i < m->g->n; i++) {
      const Node *n = &m->g->nodes[i];
      if (n->op == OP_WEIGHT) tset_put(&m->weights, n->name, tensor_new(n->dtype, n->shape));
    }
    for (int i = 0, idx = 0; i < np; i++) {
      Tensor *x = tset_get(&m->weights, p[i].name);
      for (int64_t k = 0; k < shape_numel(&p[i].s); k++) tensor_set(x, k, init_value(idx++));
    }
  }
  return rc;
}

static void model_free(Model *m) {
  ir_graph_free(m->g);
  tset_free(&m->weights);
}

static Tensor *scalar32(double v) {
  Tensor *x = tensor_new(DT_F32, shape_scalar());
  tensor_set(x, 0, v);
  return x;
}

/* Step t (1-based) by the interpreter, or by the JIT program jp when given. The outputs
 * are left in *out (initialised here; the caller frees); every new.X becomes weight X. */
static int model_step(Model *m, int t, JitProgram *jp, TensorSet *out) {
  TensorSet in;
  tset_init(&in);
  tset_init(out);
  tset_put(&in, "opt.lr", scalar32(LR[t - 1]));
  tset_put(&in, "opt.wd", scalar32(WD[t - 1]));
  tset_put(&in, "opt.step", scalar32(t));
  for (int i = 0, idx = 0; i < m->np; i++) {
    Tensor *x = tensor_new(m->p[i].t, m->p[i].s);
    for (int64_t k = 0; k < shape_numel(&m->p[i].s); k++) tensor_set(x, k, grad_value(idx++, t));
    tset_put(&in, m->g->nodes[m->gr[i]].name, x);
  }
  int rc = jp ? jit_run(jp, &in, &m->weights, out, &m->d) : interp_run(m->g, &in, &m->weights, out, &m->d);
  CHECK_INT(rc, 0);
  tset_free(&in);
  for (int i = 0; i < out->n && !rc; i++)
    if (!strncmp(out->names[i], "new.", 4)) tset_put(&m->weights, out->names[i] + 4, tensor_copy(out->t[i]));
  return rc;
}

/* ---- the reference: torch's algorithms, element by element, in double --------------------- */

typedef struct Ref {
  int n;
  int owner[NMAX];               /* which P an element belongs to */
  double p[NMAX], m[NMAX], v[NMAX]; /* parameter, first moment (or momentum), second moment */
} Ref;

static void ref_init(Ref *r, const P *p, int np) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < np; i++)
    for (int64_t k = 0; k < shape_numel(&p[i].s); k++) {
      CHECK(r->n < NMAX);
      r->owner[r->n] = i;
      r->p[r->n] = init_value(r->n);
      r->n++;
    }
}

/* One step of torch.nn.utils.clip_grad_norm_ + torch.optim.AdamW / SGD with the param
 * groups given by p[].decays and p[].scale. Returns the norm before clipping. */
static double ref_step(Ref *r, const OptSpec *s, const P *p, int t) {
  double ss = 0, coef = 1;
  for (int i = 0; i < r->n; i++) ss += grad_value(i, t) * grad_value(i, t);
  double norm = sqrt(ss);
  if (s->clip > 0) coef = fmin(1.0, s->clip / (norm + 1e-6));
  for (int i = 0; i < r->n; i++) {
    const P *q = &p[r->owner[i]];
    double lr = LR[t - 1] * q->scale, wd = q->decays ? WD[t - 1] : 0, g = grad_value(i, t) * coef;
    if (s->kind == OPT_ADAMW) {
      r->p[i] *= 1 - lr * wd;
      r->m[i] = s->beta1 * r->m[i] + (1 - s->beta1) * g;
      r->v[i] = s->beta2 * r->v[i] + (1 - s->beta2) * g * g;
      double bc1 = 1 - pow(s->beta1, t), bc2 = 1 - pow(s->beta2, t);
      r->p[i] -= lr / bc1 * r->m[i] / (sqrt(r->v[i]) / sqrt(bc2) + s->eps);
    } else {
      double d = g + wd * r->p[i];
      r->m[i] = s->momentum * r->m[i] + d;
      r->p[i] -= lr * r->m[i];
    }
  }
  return norm;
}

/* Compares output `prefix``name` of a step with want[0..n), as the header describes. */
static void cmp_out(const TensorSet *out, const char *prefix, const char *name, DType t, const double *want,
                    int64_t n, const char *what, int step) {
  char key[160];
  snprintf(key, sizeof key, "%s%s", prefix, name);
  const Tensor *x = tset_get(out, key);
  CHECK(x != NULL);
  if (!x) return;
  CHECK_INT(x->dtype, t);
  CHECK_INT(shape_numel(&x->shape), n);
  double tol = t == F64 ? 1e-12 : 1e-6, mean = 0;
  for (int64_t k = 0; k < n; k++) mean += fabs(want[k]) / (double)n;
  for (int64_t k = 0; k < n && k < shape_numel(&x->shape); k++) {
    double got = tensor_get(x, k), err = fabs(got - want[k]) / (fabs(want[k]) + mean);
    if (err > max_err[t == F64]) max_err[t == F64] = err;
    if (!(err <= tol)) {
      fprintf(stderr, "%s: step %d, %s[%lld]: got %.17g, want %.17g\n", what, step, key, (long long)k, got, want[k]);
      check_failures++;
    }
  }
}

/* Runs p[] for STEPS steps under s and compares every output with the reference. */
static void against_ref(const P *p, int np, const OptSpec *s, const char *what) {
  Model m;
  Ref r;
  int rc = model_build(&m, p, np, s);
  CHECK_INT(rc, 0);
  ref_init(&r, p, np);
  for (int t = 1; t <= STEPS && !rc; t++) {
    TensorSet out;
    rc = model_step(&m, t, NULL, &out);
    double norm = ref_step(&r, s, p, t);
    DType nt = F32;
    for (int i = 0; i < np; i++)
      if (p[i].t == F64) nt = F64;
    cmp_out(&out, "", "grad_norm", nt, &norm, 1, what, t);
    for (int i = 0, base = 0; i < np; i++) {
      int64_t n = shape_numel(&p[i].s);
      cmp_out(&out, "new.", p[i].name, p[i].t, r.p + base, n, what, t);
      cmp_out(&out, s->kind == OPT_ADAMW ? "new.opt.m." : "new.opt.mom.", p[i].name, p[i].t, r.m + base, n, what, t);
      if (s->kind == OPT_ADAMW) cmp_out(&out, "new.opt.v.", p[i].name, p[i].t, r.v + base, n, what, t);
      base += (int)n;
    }
    tset_free(&out);
  }
  model_free(&m);
}

/* ---- the group rules ------------------------------------------------------------------------ */

static void test_defaults(void) {
  OptSpec s = optim_defaults();
  CHECK_INT(s.kind, OPT_ADAMW);
  CHECK(s.beta1 == 0.9 && s.beta2 == 0.999 && s.eps == 1e-8);
  CHECK(s.clip == 0 && s.layer_decay == 1);
  CHECK_INT(s.nno_decay, 2);
  CHECK_STR(s.no_decay[0], "cls_token");
  CHECK_STR(s.no_decay[1], "pos_embed");
}

static void test_decay_groups(void) {
  OptSpec s = optim_defaults();
  CHECK_INT(optim_decays(&s, "blocks.0.attn.qkv.weight", 2), 1);
  CHECK_INT(optim_decays(&s, "blocks.0.norm1.weight", 1), 0);  /* rank 1 */
  CHECK_INT(optim_decays(&s, "blocks.0.gamma_1", 1), 0);
  CHECK_INT(optim_decays(&s, "blocks.0.attn.q_bias", 1), 0);
  CHECK_INT(optim_decays(&s, "temperature", 0), 0);            /* rank 0 */
  CHECK_INT(optim_decays(&s, "odd.bias", 2), 0);               /* ".bias", whatever the rank */
  CHECK_INT(optim_decays(&s, "odd_bias", 2), 1);
  CHECK_INT(optim_decays(&s, "cls_token", 3), 0);              /* no_decay, whole name */
  CHECK_INT(optim_decays(&s, "pos_embed", 3), 0);
  CHECK_INT(optim_decays(&s, "encoder.pos_embed", 3), 0);      /* ... or last dotted component */
  CHECK_INT(optim_decays(&s, "encoderpos_embed", 3), 1);
  CHECK_INT(optim_decays(&s, "pos_embed.proj", 3), 1);
  CHECK_INT(optim_decays(&s, "mask_token", 3), 1);             /* decayed, as in BEiT */
  CHECK_INT(optim_decays(&s, "blocks.0.attn.relative_position_bias_table", 2), 1);
  /* BEiT's --disable_weight_decay_on_rel_pos_bias, and a dotted entry */
  s.no_decay[s.nno_decay++] = "relative_position_bias_table";
  s.no_decay[s.nno_decay++] = "rel_pos_bias.table";
  CHECK_INT(optim_decays(&s, "blocks.0.attn.relative_position_bias_table", 2), 0);
  CHECK_INT(optim_decays(&s, "encoder.rel_pos_bias.table", 2), 0);
  CHECK_INT(optim_decays(&s, "rel_pos_bias.table", 2), 0);
  CHECK_INT(optim_decays(&s, "my_rel_pos_bias.table", 2), 1);
  s.nno_decay = 0;
  CHECK_INT(optim_decays(&s, "cls_token", 3), 1);
}

static void test_layer_scales(void) {
  OptSpec s = optim_defaults();
  CHECK(optim_lr_scale(&s, "cls_token") == 1.0); /* off by default */
  s.num_layers = 12;
  CHECK(optim_lr_scale(&s, "blocks.0.attn.qkv.weight") == 1.0); /* layer_decay 1 */
  s.layer_decay = 0.75;
  /* values[id] = decay^(L + 1 - id), exactly as Python computes 0.75 ** (13 - id) */
  CHECK(optim_lr_scale(&s, "cls_token") == pow(0.75, 13));
  CHECK(optim_lr_scale(&s, "mask_token") == pow(0.75, 13));
  CHECK(optim_lr_scale(&s, "pos_embed") == pow(0.75, 13));
  CHECK(optim_lr_scale(&s, "patch_embed.proj.weight") == pow(0.75, 13));
  CHECK(optim_lr_scale(&s, "patch_embed.proj.bias") == pow(0.75, 13));
  CHECK(optim_lr_scale(&s, "blocks.0.norm1.weight") == pow(0.75, 12));
  CHECK(optim_lr_scale(&s, "blocks.3.attn.qkv.weight") == pow(0.75, 9));   /* id 4 */
  CHECK(optim_lr_scale(&s, "blocks.3.attn.relative_position_bias_table") == pow(0.75, 9));
  CHECK(optim_lr_scale(&s, "blocks.11.mlp.fc2.bias") == 0.75);            /* the top block: decay^1 */
  CHECK(optim_lr_scale(&s, "head.weight") == 1.0);                         /* id L + 1 */
  CHECK(optim_lr_scale(&s, "fc_norm.weight") == 1.0);
  CHECK(optim_lr_scale(&s, "rel_pos_bias.relative_position_bias_table") == 1.0);
  CHECK(optim_lr_scale(&s, "blocks.x.weight") == 1.0); /* not a block index */
  CHECK(optim_lr_scale(&s, "blocks3.weight") == 1.0);
  CHECK(optim_lr_scale(&s, "patch_embedding") == 1.0); /* a component matches whole */
  CHECK(optim_lr_scale(&s, "encoder.cls_token") == 1.0);
  CHECK(fabs(optim_lr_scale(&s, "cls_token") - 0.023757264018058777) < 1e-17);
  s.num_layers = 0;
  CHECK(optim_lr_scale(&s, "cls_token") == 1.0);
}

/* ---- against the C reference ------------------------------------------------------------------ */

/* A ViT-like weight set (L = 12, layer_decay 0.75), every group rule represented. */
#define BEIT_P(T)                                                                                   \
  {                                                                                                 \
    {"cls_token", T, SH(1, 1, 3), 0, 0.023757264018058777},                                 \
    {"mask_token", T, SH(1, 1, 3), 1, 0.023757264018058777},                                        \
    {"patch_embed.proj.weight", T, SH(3, 2), 1, 0.023757264018058777},                              \
    {"patch_embed.proj.bias", T, SH(3), 0, 0.023757264018058777},                                   \
    {"blocks.3.attn.qkv.weight", T, SH(4, 3), 1, 0.075084686279296875},                             \
    {"blocks.3.gamma_1", T, SH(3), 0, 0.075084686279296875},                                        \
    {"blocks.11.mlp.fc1.weight", T, SH(2, 3), 1, 0.75},                                             \
    {"head.weight", T, SH(2, 3), 1, 1.0},                                                           \
    {"head.bias", T, SH(2), 0, 1.0},                                                                \
    {"temperature", T, shape_scalar(), 0, 1.0},                                                     \
  }

static OptSpec beit_spec(OptKind kind, double clip) {
  OptSpec s = optim_defaults();
  s.kind = kind;
  s.clip = clip;
  s.num_layers = 12;
  s.layer_decay = 0.75;
  return s;
}

static void test_ref(void) {
  const P p64[] = BEIT_P(F64), p32[] = BEIT_P(F32);
  int np = (int)(sizeof p64 / sizeof p64[0]);
  /* the expected groups above are the ones optim_build uses */
  OptSpec s = beit_spec(OPT_ADAMW, 0);
  for (int i = 0; i < np; i++) {
    CHECK_INT(optim_decays(&s, p64[i].name, p64[i].s.rank), p64[i].decays);
    CHECK(fabs(optim_lr_scale(&s, p64[i].name) - p64[i].scale) <= 1e-16 * p64[i].scale);
  }
  const OptKind kinds[2] = {OPT_ADAMW, OPT_SGD};
  const double clips[2] = {0, 1.0};
  for (int k = 0; k < 2; k++)
    for (int c = 0; c < 2; c++)
      for (int f = 0; f < 2; f++) {
        char what[64];
        s = beit_spec(kinds[k], clips[c]);
        snprintf(what, sizeof what, "%s clip %g %s", kinds[k] == OPT_ADAMW ? "adamw" : "sgd", clips[c],
                 f ? "f32" : "f64");
        against_ref(f ? p32 : p64, np, &s, what);
      }
  /* other hyperparameters, and SGD without momentum */
  s = beit_spec(OPT_ADAMW, 0.5);
  s.beta1 = 0.8, s.beta2 = 0.95, s.eps = 1e-3;
  against_ref(p64, np, &s, "adamw betas");
  s = beit_spec(OPT_SGD, 0);
  s.momentum = 0;
  against_ref(p64, np, &s, "sgd no momentum");
}

/* f32 and f64 weights in one model: the norm (and grad_norm) is taken in f64. */
static void test_mixed_dtypes(void) {
  const P p[] = {
      {"a.weight", F32, SH(3, 4), 1, 1.0}, {"b.weight", F64, SH(5, 2), 1, 1.0}, {"b.bias", F32, SH(5), 0, 1.0}};
  OptSpec s = optim_defaults();
  s.clip = 1.0;
  against_ref(p, 3, &s, "mixed");
}

/* Clipping seen directly: with SGD, lr 1, no momentum and no decay, new.w = w - coef*g. */
static void test_clipping(void) {
  const P p[] = {{"a.weight", F64, SH(2, 3), 1, 1.0}, {"b.weight", F64, SH(4), 0, 1.0}};
  OptSpec s = optim_defaults();
  s.kind = OPT_SGD, s.momentum = 0, s.clip = 1.0;
  s.nno_decay = 0;
  Model m;
  CHECK_INT(model_build(&m, p, 2, &s), 0);
  int clipped = 0, unclipped = 0;
  for (int t = 1; t <= STEPS && !m.d.nerr; t++) {
    double ss = 0;
    for (int i = 0; i < 10; i++) ss += grad_value(i, t) * grad_value(i, t);
    double norm = sqrt(ss), coef = fmin(1.0, 1.0 / (norm + 1e-6));
    clipped += norm > 1, unclipped += norm < 1;
    /* lr = 1, wd = 0 through the step's inputs: run, then check w - new.w */
    Tensor *before = tensor_copy(tset_get(&m.weights, "a.weight"));
    TensorSet in, out;
    tset_init(&in);
    tset_init(&out);
    tset_put(&in, "opt.lr", scalar32(1));
    tset_put(&in, "opt.wd", scalar32(0));
    tset_put(&in, "opt.step", scalar32(t));
    for (int i = 0, idx = 0; i < 2; i++) {
      Tensor *x = tensor_new(F64, p[i].s);
      for (int64_t k = 0; k < shape_numel(&p[i].s); k++) tensor_set(x, k, grad_value(idx++, t));
      tset_put(&in, m.g->nodes[m.gr[i]].name, x);
    }
    CHECK_INT(interp_run(m.g, &in, &m.weights, &out, &m.d), 0);
    const Tensor *gn = tset_get(&out, "grad_norm"), *a = tset_get(&out, "new.a.weight");
    CHECK(gn && a);
    if (gn && a) {
      CHECK_NEAR(tensor_get(gn, 0), norm, 1e-15);
      for (int k = 0; k < 6; k++) CHECK_NEAR(tensor_get(before, k) - tensor_get(a, k), coef * grad_value(k, t), 1e-15);
    }
    tensor_free(before);
    tset_free(&in);
    tset_free(&out);
  }
  CHECK(clipped >= 2 && unclipped >= 2); /* both sides of the threshold were seen */
  model_free(&m);
}

/* ---- against torch -------------------------------------------------------------------------------
 * Produced once with `/usr/bin/python3 tests/torch/optim_ref.py` (torch 1.13, Debian's
 * python3-torch) and pasted unchanged; see that script for the set-up, which the model
 * below repeats: L = 1, layer_decay 0.65, clip 1.0, betas (0.9, 0.999), eps 1e-8,
 * momentum 0.9, and LR / WD / AMP / init_value / grad_value above. */
#include "torch/optim_torch.h"

/* optim_ref.py's parameters; scales 0.65^(L + 1 - id) with L = 1 */
#define TORCH_P(T)                                                                                  \
  {                                                                                                 \
    {"cls_token", T, SH(1, 1, 2), 0, 0.4225}, {"blocks.0.attn.qkv.weight", T, SH(2, 3), 1, 0.65},    \
    {"blocks.0.norm1.weight", T, SH(3), 0, 0.65}, {"head.weight", T, SH(2, 3), 1, 1.0},             \
    {"head.bias", T, SH(2), 0, 1.0},                                                                \
  }

static void against_torch(DType t, OptKind kind, const double *wp, const double *wm, const double *wv,
                          const double *wnorm, const char *what) {
  const P p64[] = TORCH_P(F64), p32[] = TORCH_P(F32);
  const P *p = t == F64 ? p64 : p32;
  OptSpec s = optim_defaults();
  s.kind = kind, s.clip = 1.0, s.num_layers = 1, s.layer_decay = 0.65;
  Model m;
  int rc = model_build(&m, p, 5, &s);
  CHECK_INT(rc, 0);
  TensorSet out;
  tset_init(&out);
  for (int step = 1; step <= STEPS && !rc; step++) {
    tset_free(&out);
    rc = model_step(&m, step, NULL, &out);
    cmp_out(&out, "", "grad_norm", t, wnorm + step - 1, 1, what, step);
  }
  for (int i = 0, base = 0; i < 5 && !rc; i++) {
    int64_t n = shape_numel(&p[i].s);
    cmp_out(&out, "new.", p[i].name, t, wp + base, n, what, STEPS);
    cmp_out(&out, kind == OPT_ADAMW ? "new.opt.m." : "new.opt.mom.", p[i].name, t, wm + base, n, what, STEPS);
    if (wv) cmp_out(&out, "new.opt.v.", p[i].name, t, wv + base, n, what, STEPS);
    base += (int)n;
  }
  tset_free(&out);
  model_free(&m);
}

static void test_torch(void) {
  double before[2] = {max_err[0], max_err[1]};
  max_err[0] = max_err[1] = 0;
  against_torch(F64, OPT_ADAMW, TORCH_ADAMW_F64_P, TORCH_ADAMW_F64_M, TORCH_ADAMW_F64_V, TORCH_ADAMW_F64_NORM,
                "torch adamw f64");
  against_torch(F32, OPT_ADAMW, TORCH_ADAMW_F32_P, TORCH_ADAMW_F32_M, TORCH_ADAMW_F32_V, TORCH_ADAMW_F32_NORM,
                "torch adamw f32");
  against_torch(F64, OPT_SGD, TORCH_SGD_F64_P, TORCH_SGD_F64_MOM, NULL, TORCH_SGD_F64_NORM, "torch sgd f64");
  against_torch(F32, OPT_SGD, TORCH_SGD_F32_P, TORCH_SGD_F32_MOM, NULL, TORCH_SGD_F32_NORM, "torch sgd f32");
  fprintf(stderr, "     vs torch: largest error f64 %.2g, f32 %.2g\n", max_err[1], max_err[0]);
  max_err[0] = fmax(max_err[0], before[0]), max_err[1] = fmax(max_err[1], before[1]);
}

/* ---- the JIT runs the same step -------------------------------------------------------------------- */

static void test_jit(void) {
  const P p[] = BEIT_P(F32);
  OptSpec s = beit_spec(OPT_ADAMW, 1.0);
  Model a, b; /* a by the interpreter, b by the JIT, each fed its own outputs */
  int rc = model_build(&a, p, 10, &s);
  rc |= model_build(&b, p, 10, &s);
  CHECK_INT(rc, 0);
  JitOptions o = {.no_cache = 1};
  JitProgram *jp = rc ? NULL : jit_compile(b.g, &o, &b.d);
  CHECK(jp != NULL);
  double worst = 0;
  int64_t ncompared = 0;
  for (int t = 1; t <= STEPS && jp && !rc; t++) {
    TensorSet oa, ob;
    rc = model_step(&a, t, NULL, &oa);
    rc |= model_step(&b, t, jp, &ob);
    CHECK_INT(oa.n, ob.n);
    for (int i = 0; i < oa.n; i++) {
      const Tensor *x = oa.t[i], *y = tset_get(&ob, oa.names[i]);
      CHECK(y && y->dtype == x->dtype && shape_eq(&x->shape, &y->shape));
      if (!y) continue;
      for (int64_t k = 0; k < shape_numel(&x->shape); k++) {
        double err = fabs(tensor_get(y, k) - tensor_get(x, k)) / fmax(fabs(tensor_get(x, k)), 1e-3);
        worst = fmax(worst, err);
        ncompared++;
        if (!(err <= 1e-6)) {
          fprintf(stderr, "jit: step %d, %s[%lld]: %.9g vs interp %.9g\n", t, oa.names[i], (long long)k,
                  tensor_get(y, k), tensor_get(x, k));
          check_failures++;
        }
      }
    }
    tset_free(&oa);
    tset_free(&ob);
  }
  CHECK_INT(ncompared, STEPS * (3 * 45 + 1)); /* p, m, v of 45 elements, and grad_norm */
  fprintf(stderr, "     jit vs interp: largest error %.2g\n", worst);
  jit_free(jp);
  model_free(&a);
  model_free(&b);
}

/* ---- the interface the graph gets --------------------------------------------------------------- */

static void test_interface(void) {
  const P p[] = {{"blocks.0.w", F32, SH(2, 3), 1, 1}, {"blocks.0.b", F64, SH(3), 0, 1}};
  for (int k = 0; k < 2; k++) {
    OptSpec s = optim_defaults();
    s.kind = k ? OPT_SGD : OPT_ADAMW;
    Model m;
    int n0 = 4; /* 2 weights + 2 gradient inputs */
    CHECK_INT(model_build(&m, p, 2, &s), 0);
    Graph *g = m.g;
    int ninputs = 0, nstate = 0;
    for (int i = n0; i < g->n; i++) {
      const Node *n = &g->nodes[i];
      CHECK(n->loc.file != NULL); /* every node says where it came from */
      if (n->op == OP_INPUT) {
        ninputs++;
        CHECK(!strcmp(n->name, "opt.lr") || !strcmp(n->name, "opt.wd") || !strcmp(n->name, "opt.step"));
        CHECK_INT(n->dtype, F32);
        CHECK_INT(n->shape.rank, 0);
      }
      if (n->op == OP_WEIGHT) {
        nstate++;
        CHECK_STR(ir_attr_s(n, "init"), "zeros");
        /* state has its weight's dtype, shape and location */
        int j = strstr(n->name, "blocks.0.w") ? 0 : 1;
        CHECK_INT(n->dtype, p[j].t);
        CHECK(shape_eq(&n->shape, &p[j].s));
        CHECK_INT(n->loc.line, g->nodes[m.w[j]].loc.line);
      }
    }
    CHECK_INT(ninputs, 3);
    CHECK_INT(nstate, k ? 2 : 4);
    const char *want[2][7] = {
        {"new.blocks.0.w", "new.opt.m.blocks.0.w", "new.opt.v.blocks.0.w", "new.blocks.0.b", "new.opt.m.blocks.0.b",
         "new.opt.v.blocks.0.b", "grad_norm"},
        {"new.blocks.0.w", "new.opt.mom.blocks.0.w", "new.blocks.0.b", "new.opt.mom.blocks.0.b", "grad_norm"}};
    int nout = k ? 5 : 7;
    CHECK_INT(g->nout, nout);
    for (int i = 0; i < nout && i < g->nout; i++) CHECK_STR(g->outs[i].name, want[k][i]);
    CHECK_INT(g->nodes[g->outs[nout - 1].id].dtype, F64); /* an f64 weight makes the norm f64 */
    /* the step's text form round-trips, "<optimizer>" locations included */
    char *text = ir_print_str(g);
    Graph *back = ir_parse(text, "step.mir", &m.d);
    char *again = back ? ir_print_str(back) : NULL;
    CHECK(again && !strcmp(text, again));
    CHECK(strstr(text, "@\"<optimizer>\":0:0") != NULL);
    free(text);
    free(again);
    ir_graph_free(back);
    model_free(&m);
  }
  /* weights of one group (scale, decay, dtype) share its scalars: a second weight adds
   * only its own part of the norm */
  const P one[] = {{"a.w", F32, SH(2, 3), 1, 1}}, two[] = {{"a.w", F32, SH(2, 3), 1, 1}, {"b.w", F32, SH(2, 3), 1, 1}};
  OptSpec s = optim_defaults();
  Model m1, m2;
  CHECK_INT(model_build(&m1, one, 1, &s), 0);
  CHECK_INT(model_build(&m2, two, 2, &s), 0);
  int scalars1 = 0, scalars2 = 0;
  for (int i = 0; i < m1.g->n; i++) scalars1 += m1.g->nodes[i].shape.rank == 0;
  for (int i = 0; i < m2.g->n; i++) scalars2 += m2.g->nodes[i].shape.rank == 0;
  CHECK_INT(scalars2 - scalars1, 3); /* b.w's sum of squares, its cast to f64, the add */
  model_free(&m1);
  model_free(&m2);
}

/* ---- errors ------------------------------------------------------------------------------------------ */

/* optim_build on g must fail with exactly one error `want` and leave g as it was. */
static void expect_error_(Graph *g, const OptSpec *s, const int *w, const int *gr, int n, const char *want, int line) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  int nodes = g->n, outs = g->nout;
  int rc = optim_build(g, s, w, gr, n, &d);
  if (rc != -1 || d.nerr != 1 || strcmp(d.last, want) || g->n != nodes || g->nout != outs) {
    fprintf(stderr, "%s:%d: want rc -1, one error, g unchanged and\n  want: %s\n", __FILE__, line, want);
    fprintf(stderr, "  got:  rc %d, %d errors, %d new nodes, %s\n", rc, d.nerr, g->n - nodes, d.last);
    check_failures++;
  }
}
#define EXPECT_ERROR(g, s, w, gr, n, want) expect_error_(g, s, w, gr, n, want, __LINE__)

static void test_errors(void) {
  Graph *g = ir_graph_new("t");
  Diag d;
  diag_init(&d);
  OptSpec s = optim_defaults();
  int w = ir_weight(g, "w", F32, SH(2, 3), "zeros", NULL, 0, (SrcLoc){"m.yaml", 3, 7}, &d);
  int g_ok = ir_input(g, "grad.w", F32, SH(2, 3), LOC, &d);
  int g_shape = ir_input(g, "grad.w2", F32, SH(3, 2), LOC, &d);
  int g_dtype = ir_input(g, "grad.w3", F64, SH(2, 3), LOC, &d);
  int i32 = ir_input(g, "labels", DT_I32, SH(2, 3), (SrcLoc){"m.yaml", 6, 7}, &d);
  int iw = ir_weight(g, "iw", F32, SH(2), "zeros", NULL, 0, (SrcLoc){"m.yaml", 4, 7}, &d);
  int ig = ir_input(g, "grad.iw", DT_I32, SH(2), LOC, &d);
  int blk = ir_weight(g, "blocks.12.w", F32, SH(2, 3), "zeros", NULL, 0, (SrcLoc){"m.yaml", 5, 7}, &d);
  CHECK_INT(d.nerr, 0);
  EXPECT_ERROR(g, &s, &w, &g_shape, 1,
               "m.yaml:3:7: error: optimizer: the gradient of weight 'w' is f32[3,2], but the weight is f32[2,3]");
  EXPECT_ERROR(g, &s, &w, &g_dtype, 1,
               "m.yaml:3:7: error: optimizer: the gradient of weight 'w' is f64[2,3], but the weight is f32[2,3]");
  char msg[128];
  snprintf(msg, sizeof msg, "m.yaml:6:7: error: optimizer: node %%%d (input) is not a weight", i32);
  EXPECT_ERROR(g, &s, &i32, &i32, 1, msg);
  /* the builder cannot make an i32 weight (the shape rules refuse it); forge one */
  g->nodes[iw].dtype = DT_I32;
  EXPECT_ERROR(g, &s, &iw, &ig, 1,
               "m.yaml:4:7: error: optimizer: weight 'iw' is i32; only f32 and f64 weights can be trained");
  g->nodes[iw].dtype = F32;
  int ws[2] = {w, w}, gs[2] = {g_ok, g_ok};
  EXPECT_ERROR(g, &s, ws, gs, 2, "m.yaml:3:7: error: optimizer: weight 'w' is listed twice");
  int bad_id = 999;
  EXPECT_ERROR(g, &s, &w, &bad_id, 1,
               "<optimizer>: error: optimizer: weight 0: node id 0 or gradient id 999 is not a node of the graph");
  EXPECT_ERROR(g, &s, &w, &g_ok, 0, "<optimizer>: error: optimizer: no weights to update");
  /* a block beyond num_layers has no layer scale (BEiT would index past its list) */
  OptSpec ld = s;
  ld.num_layers = 12, ld.layer_decay = 0.75;
  EXPECT_ERROR(g, &ld, &blk, &g_ok, 1,
               "m.yaml:5:7: error: optimizer: weight 'blocks.12.w' is in block 12, but num_layers is 12 "
               "(blocks 0..11)");
  /* bad hyperparameters */
  OptSpec b = s;
  b.beta2 = 1;
  EXPECT_ERROR(g, &b, &w, &g_ok, 1, "<optimizer>: error: optimizer: beta2 must be in [0, 1)");
  b = s, b.layer_decay = 0;
  EXPECT_ERROR(g, &b, &w, &g_ok, 1, "<optimizer>: error: optimizer: layer_decay must be finite and > 0 (1 = off)");
  b = s, b.clip = -1;
  EXPECT_ERROR(g, &b, &w, &g_ok, 1, "<optimizer>: error: optimizer: clip must be finite and >= 0 (0 = off)");
  b = s, b.kind = OPT_SGD, b.momentum = NAN;
  EXPECT_ERROR(g, &b, &w, &g_ok, 1, "<optimizer>: error: optimizer: momentum must be finite and >= 0");
  /* names taken: a state name, an output, and the whole optimizer built twice */
  Graph *g2 = ir_graph_new("t");
  int w2 = ir_weight(g2, "x", F32, SH(2), "zeros", NULL, 0, (SrcLoc){"m.yaml", 9, 1}, &d);
  int gx = ir_input(g2, "grad.x", F32, SH(2), LOC, &d);
  ir_weight(g2, "opt.v.x", F32, SH(2), "zeros", NULL, 0, LOC, &d);
  EXPECT_ERROR(g2, &s, &w2, &gx, 1,
               "m.yaml:9:1: error: optimizer: the name 'opt.v.x' is already used by an input or weight of the graph");
  OptSpec sgd = s;
  sgd.kind = OPT_SGD;
  ir_add_output(g2, "new.x", gx);
  EXPECT_ERROR(g2, &sgd, &w2, &gx, 1, "m.yaml:9:1: error: optimizer: the output name 'new.x' is already taken");
  g2->nout = 0;
  CHECK_INT(optim_build(g2, &sgd, &w2, &gx, 1, &d), 0); /* opt.v.x does not matter to SGD */
  EXPECT_ERROR(g2, &sgd, &w2, &gx, 1,
               "<optimizer>: error: optimizer: the name 'opt.lr' is already used by an input or weight of the graph");
  CHECK_INT(d.nerr, 0);
  ir_graph_free(g2);
  ir_graph_free(g);
}

int main(void) {
  RUN(test_defaults);
  RUN(test_decay_groups);
  RUN(test_layer_scales);
  RUN(test_ref);
  RUN(test_mixed_dtypes);
  RUN(test_clipping);
  RUN(test_torch);
  RUN(test_jit);
  RUN(test_interface);
  RUN(test_errors);
  fprintf(stderr, "     vs the C reference and torch: largest error f64 %.2g, f32 %.2g\n", max_err[1], max_err[0]);
  return CHECK_DONE();
}
