/* test_mim.c — the BEiT model files built on graphs/vit_backbone.yaml: mim.yaml
 * (masked image modeling pre-training), vit.yaml (classification) and vit_seg.yaml
 * (segmentation).
 *   - names: the backbone's weights have the same names, shapes and (fine-tuning)
 *     initializers in every model, so pre-trained weights load by name; mim.yaml adds
 *     mask_token, norm.* and lm_head.* and truncates its trunc-normals at one std.
 *   - gradients of mim.yaml's loss by central finite differences, in f64 through the
 *     interpreter (the model promoted from f32 to f64), at a tiny size.
 *   - the mask: with no masked patch the loss is 0 with zero gradients (not NaN); at
 *     depth 0 the logits, loss and hit count equal a computation by hand (a masked patch
 *     embeds to mask_token + pos_embed, an unmasked one to its conv patch embedding +
 *     pos_embed); at depth 2 the loss equals the masked mean of the per-token
 *     cross-entropy of the logits, and the pixels of masked patches change nothing.
 *   - vit_seg.yaml at depth 0 against a computation by hand (the pixel shuffle and the
 *     per-pixel cross-entropy).
 * test_mim_jit.c compares the JIT with the interpreter on the same models. */
#include "autodiff.h"
#include "jit/jit.h"
#include "mim_harness.h"

/* ---- names ---- */

static int is_extra(const char *name, const char *const *extra) {
  for (; *extra; extra++) {
    size_t n = strlen(*extra);
    if (!strncmp(name, *extra, n) && (name[n] == 0 || (*extra)[n - 1] == '.')) return 1;
  }
  return 0;
}

/* Every weight of `model` outside `extra` (names, or prefixes ending in '.') is a weight
 * of `backbone` with the same shape, and the other way round. */
static void same_backbone(const Graph *backbone, const Graph *model, const char *const *extra, int nextra_want) {
  int shared = 0, nextra = 0, nback = 0;
  char b1[64], b2[64];
  for (int i = 0; i < backbone->n; i++) nback += backbone->nodes[i].op == OP_WEIGHT;
  for (int i = 0; i < model->n; i++) {
    const Node *n = &model->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    if (is_extra(n->name, extra)) {
      nextra++;
      continue;
    }
    int j = find_weight(backbone, n->name);
    if (j < 0 || !shape_eq(&n->shape, &backbone->nodes[j].shape)) {
      fprintf(stderr, "  %s: weight %s %s is not the backbone's (%s)\n", model->name, n->name,
              shape_str(&n->shape, b1, sizeof b1), j < 0 ? "absent" : shape_str(&backbone->nodes[j].shape, b2, sizeof b2));
      check_failures++;
      continue;
    }
    shared++;
  }
  CHECK_INT(shared, nback);
  CHECK_INT(nextra, nextra_want);
}

static void check_init(const Graph *g, const char *w, const char *kind, int nargs, const double *args) {
  int id = find_weight(g, w);
  CHECK(id >= 0);
  if (id < 0) return;
  const Node *n = &g->nodes[id];
  CHECK_STR(ir_attr_s(n, "init"), kind);
  int cnt;
  const double *a = ir_attr_fs(n, "init_args", &cnt);
  CHECK_INT(cnt, nargs);
  for (int i = 0; i < cnt && i < nargs; i++) CHECK_NEAR(a[i], args[i], 1e-12);
}

static void test_names(void) {
  const char *d2[] = {"depth=2", NULL};
  Graph *bb = load("vit_backbone.yaml", d2, 2), *vit = load("vit.yaml", d2, 2), *mim = load("mim.yaml", d2, 2),
        *seg = load("vit_seg.yaml", d2, 2);
  CHECK(bb && vit && mim && seg);
  if (bb && vit && mim && seg) {
    same_backbone(bb, vit, (const char *const[]){"fc_norm.", "head.", NULL}, 4);
    same_backbone(bb, mim, (const char *const[]){"mask_token", "norm.", "lm_head.", NULL}, 5);
    same_backbone(bb, seg, (const char *const[]){"decode_head.", NULL}, 4);
    char buf[64];
    CHECK_STR(shape_str(&mim->nodes[find_weight(mim, "mask_token")].shape, buf, sizeof buf), "[1,1,192]");
    CHECK_STR(shape_str(&mim->nodes[find_weight(mim, "lm_head.weight")].shape, buf, sizeof buf), "[8192,192]");
    CHECK_STR(shape_str(&mim->nodes[find_weight(mim, "lm_head.bias")].shape, buf, sizeof buf), "[8192]");
    CHECK_STR(shape_str(&mim->nodes[find_weight(mim, "norm.weight")].shape, buf, sizeof buf), "[192]");
    CHECK_STR(shape_str(&seg->nodes[find_weight(seg, "decode_head.proj.weight")].shape, buf, sizeof buf), "[176,192]");
    /* inputs and outputs */
    const char *in[3] = {"pixels", "mask", "tokens"}, *ins[3] = {"[2,1,28,28]", "[2,49]", "[2,49]"};
    DType idt[3] = {DT_F32, DT_BOOL, DT_I32};
    for (int k = 0; k < 3; k++) {
      const Node *n = &mim->nodes[k];
      CHECK(n->op == OP_INPUT && !strcmp(n->name, in[k]) && n->dtype == idt[k]);
      CHECK_STR(shape_str(&n->shape, buf, sizeof buf), ins[k]);
    }
    CHECK_INT(mim->nout, 4);
    const char *outs[4] = {"loss", "logits", "correct", "masked"}, *oshape[4] = {"[]", "[2,49,8192]", "[]", "[]"};
    for (int k = 0; k < 4 && k < mim->nout; k++) {
      CHECK_STR(mim->outs[k].name, outs[k]);
      CHECK_STR(shape_str(&mim->nodes[mim->outs[k].id].shape, buf, sizeof buf), oshape[k]);
    }
    CHECK_STR(shape_str(&seg->nodes[seg->outs[0].id].shape, buf, sizeof buf), "[2,11,28,28]");
    CHECK_STR(shape_str(&seg->nodes[1].shape, buf, sizeof buf), "[2,28,28]"); /* labels */
    /* pre-training truncates at one std (the 1/sqrt(2 l) rescale scales the bounds too);
       fine-tuning keeps timm's absolute bounds of 2 */
    check_init(mim, "mask_token", "trunc_normal", 4, (double[]){0, 0.02, -0.02, 0.02});
    check_init(mim, "lm_head.weight", "trunc_normal", 4, (double[]){0, 0.02, -0.02, 0.02});
    check_init(mim, "lm_head.bias", "zeros", 0, NULL);
    check_init(mim, "norm.weight", "ones", 0, NULL);
    check_init(mim, "cls_token", "trunc_normal", 4, (double[]){0, 0.02, -0.02, 0.02});
    check_init(mim, "patch_embed.proj.weight", "trunc_normal", 4, (double[]){0, 0.02, -0.02, 0.02});
    check_init(mim, "blocks.1.mlp.fc2.weight", "trunc_normal", 4, (double[]){0, 0.01, -0.01, 0.01});
    check_init(vit, "blocks.1.mlp.fc2.weight", "trunc_normal", 4, (double[]){0, 0.01, -1, 1});
    check_init(vit, "pos_embed", "trunc_normal", 4, (double[]){0, 0.02, -2, 2});
    check_init(seg, "decode_head.proj.weight", "trunc_normal", 4, (double[]){0, 0.02, -2, 2});
    /* apart from the truncation, vit.yaml's and vit_seg.yaml's backbone initializers are
       the backbone file's */
    for (int i = 0; i < bb->n; i++) {
      const Node *n = &bb->nodes[i];
      if (n->op != OP_WEIGHT) continue;
      int cnt;
      const double *a = ir_attr_fs(n, "init_args", &cnt);
      check_init(vit, n->name, ir_attr_s(n, "init"), cnt, a);
      check_init(seg, n->name, ir_attr_s(n, "init"), cnt, a);
    }
  }
  ir_graph_free(bb);
  ir_graph_free(vit);
  ir_graph_free(mim);
  ir_graph_free(seg);
}

/* ---- gradients by finite differences ---- */

/* d loss / d weight for every weight of the f64 model m (ad_grad_graph, interpreter)
 * against central differences of the forward graph, on up to 12 spread-out elements of
 * each weight: |analytic - numeric| <= 1e-6 (|numeric| + 1e-3 max |numeric|) + 1e-8. */
static void gradcheck(const Graph *m, TensorSet *in, TensorSet *w, const char *what) {
  Graph *fwd = lower(m, "loss");
  Graph *gg = fwd ? ad_grad_graph(fwd, "loss", &D) : NULL;
  CHECK(gg != NULL);
  if (!gg) {
    ir_graph_free(fwd);
    return;
  }
  TensorSet out;
  CHECK_INT(run(gg, in, w, &out), 0);
  int nw = 0, nel = 0;
  for (int i = 0; i < m->n && !D.nerr; i++) {
    const Node *n = &m->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    char key[160];
    snprintf(key, sizeof key, "grad.%s", n->name);
    const Tensor *an = tset_get(&out, key);
    Tensor *x = tset_get(w, n->name);
    CHECK(an && x);
    if (!an || !x) continue;
    nw++;
    int64_t cnt = shape_numel(&x->shape), step = cnt <= 12 ? 1 : cnt / 12;
    double num[13], big = 0;
    int64_t at[13];
    int k = 0;
    for (int64_t j = 0; j < cnt && k < 13; j += step, k++) {
      double v = tensor_get(x, j), h = 1e-6;
      TensorSet o;
      tensor_set(x, j, v + h);
      run(fwd, in, w, &o);
      double lp = scalar(&o, "loss");
      tset_free(&o);
      tensor_set(x, j, v - h);
      run(fwd, in, w, &o);
      double lm = scalar(&o, "loss");
      tset_free(&o);
      tensor_set(x, j, v);
      at[k] = j;
      num[k] = (lp - lm) / (2 * h);
      if (fabs(num[k]) > big) big = fabs(num[k]);
    }
    for (int q = 0; q < k; q++) {
      double a = tensor_get(an, at[q]);
      nel++;
      if (!(fabs(a - num[q]) <= 1e-6 * (fabs(num[q]) + 1e-3 * big) + 1e-8)) {
        fprintf(stderr, "  %s: d loss / d %s[%lld]: autodiff %.12g, finite differences %.12g\n", what, n->name,
                (long long)at[q], a, num[q]);
        check_failures++;
        break;
      }
    }
    /* a weight the loss uses gets a gradient that is not all zero */
    double s = 0;
    for (int64_t j = 0; j < cnt; j++) s += fabs(tensor_get(an, j));
    if (!(s > 0)) {
      fprintf(stderr, "  %s: the gradient of %s is zero\n", what, n->name);
      check_failures++;
    }
  }
  fprintf(stderr, "  %s: %d weights, %d gradient elements checked\n", what, nw, nel);
  tset_free(&out);
  ir_graph_free(fwd);
  ir_graph_free(gg);
}

static const char *const tiny[] = {"depth=2", "dim=8", "heads=2", "image=8", "patch=4", "vocab=5", NULL};

static void test_gradients(void) {
  Graph *g = load("mim.yaml", tiny, 2), *m = g ? to_f64(g) : NULL;
  CHECK(m != NULL);
  if (m) {
    TensorSet in, w;
    random_weights(m, &w);
    mim_inputs(&in, DT_F64, 2, 1, 8, 4, 5, 0.4);
    gradcheck(m, &in, &w, "mim.yaml");
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  ir_graph_free(m);
  /* the segmentation model too: its head and per-pixel loss */
  const char *segd[] = {"depth=1", "dim=8", "heads=2", "image=8", "patch=4", "classes=3", NULL};
  g = load("vit_seg.yaml", segd, 2);
  m = g ? to_f64(g) : NULL;
  CHECK(m != NULL);
  if (m) {
    TensorSet in, w;
    random_weights(m, &w);
    tset_init(&in);
    Tensor *x = tensor_new(DT_F64, shape_of(4, (int64_t[]){2, 1, 8, 8})), *y = tensor_new(DT_I32, shape_of(3, (int64_t[]){2, 8, 8}));
    for (int i = 0; i < 128; i++) tensor_set(x, i, urand()), tensor_set(y, i, floor(3 * urand()));
    tset_put(&in, "pixels", x);
    tset_put(&in, "labels", y);
    gradcheck(m, &in, &w, "vit_seg.yaml");
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  ir_graph_free(m);
}

/* ---- the mask ---- */

/* No masked patch: every output finite, loss and counts 0, every gradient exactly 0. */
static void test_empty_mask(void) {
  Graph *g = load("mim.yaml", tiny, 3);
  Graph *fwd = g ? lower(g, NULL) : NULL, *pl = g ? lower(g, "loss") : NULL;
  Graph *gg = pl ? ad_grad_graph(pl, "loss", &D) : NULL;
  CHECK(gg != NULL);
  if (gg) {
    TensorSet in, w, out;
    random_weights(g, &w);
    mim_inputs(&in, DT_F32, 3, 1, 8, 4, 5, 0);
    CHECK_INT(run(fwd, &in, &w, &out), 0);
    CHECK(scalar(&out, "loss") == 0);
    CHECK(scalar(&out, "masked") == 0);
    CHECK(scalar(&out, "correct") == 0);
    tset_free(&out);
    CHECK_INT(run(gg, &in, &w, &out), 0);
    int bad = 0;
    for (int k = 0; k < out.n; k++)
      for (int64_t j = 0; j < shape_numel(&out.t[k]->shape); j++) bad += tensor_get(out.t[k], j) != 0;
    CHECK_INT(bad, 0);
    CHECK_INT(out.n, 1 + w.n); /* the loss and one gradient per weight */
    /* the JIT agrees, NaN-free */
    JitOptions o = {.no_cache = 1};
    JitProgram *p = jit_compile(gg, &o, &D);
    CHECK(p != NULL);
    TensorSet got;
    tset_init(&got);
    if (p) CHECK_INT(jit_run(p, &in, &w, &got, &D), 0);
    bad = 0;
    for (int k = 0; k < got.n; k++)
      for (int64_t j = 0; j < shape_numel(&got.t[k]->shape); j++) bad += tensor_get(got.t[k], j) != 0;
    CHECK_INT(bad, 0);
    CHECK_INT(got.n, out.n);
    jit_free(p);
    tset_free(&got);
    tset_free(&out);
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  ir_graph_free(fwd);
  ir_graph_free(pl);
  ir_graph_free(gg);
}

/* LayerNorm of x[0..n) in place, eps 1e-6, then * w + b. */
static void layer_norm(double *x, int64_t n, const Tensor *w, const Tensor *b) {
  double mu = 0, var = 0;
  for (int64_t i = 0; i < n; i++) mu += x[i] / (double)n;
  for (int64_t i = 0; i < n; i++) var += (x[i] - mu) * (x[i] - mu) / (double)n;
  for (int64_t i = 0; i < n; i++) x[i] = (x[i] - mu) / sqrt(var + 1e-6) * tensor_get(w, i) + tensor_get(b, i);
}

/* The token states before the blocks, by hand: e[b, t, :] for the patch tokens (the
 * CLS token left out), a masked patch (mask may be NULL) taking mask_token. */
static void embed_by_hand(const TensorSet *w, const Tensor *x, const Tensor *mask, int64_t B, int64_t C, int64_t S,
                          int64_t P, int64_t Dm, double *e) {
  const Tensor *pw = tset_get(w, "patch_embed.proj.weight"), *pb = tset_get(w, "patch_embed.proj.bias"),
               *pos = tset_get(w, "pos_embed"), *mt = mask ? tset_get(w, "mask_token") : NULL;
  int64_t G = S / P, T = G * G;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t d = 0; d < Dm; d++) {
        double v;
        if (mask && tensor_get(mask, b * T + t)) {
          v = tensor_get(mt, d);
        } else {
          v = tensor_get(pb, d);
          for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < P; i++)
              for (int64_t j = 0; j < P; j++)
                v += tensor_get(pw, ((d * C + c) * P + i) * P + j) *
                     tensor_get(x, ((b * C + c) * S + (t / G) * P + i) * S + (t % G) * P + j);
        }
        e[(b * T + t) * Dm + d] = v + tensor_get(pos, (1 + t) * Dm + d);
      }
}

/* The masked mean of the per-token cross-entropy of logits [B*T, V] (the reference's
 * mean over the gathered masked tokens), the masked count and the top-1 hits. */
static void masked_ce_by_hand(const Tensor *logits, const Tensor *mask, const Tensor *tok, int64_t BT, int64_t V,
                              double *loss, double *count, double *hits) {
  *loss = *count = *hits = 0;
  for (int64_t r = 0; r < BT; r++) {
    if (!tensor_get(mask, r)) continue;
    double mx = -INFINITY, s = 0;
    for (int64_t v = 0; v < V; v++) mx = fmax(mx, tensor_get(logits, r * V + v));
    for (int64_t v = 0; v < V; v++) s += exp(tensor_get(logits, r * V + v) - mx);
    double at = tensor_get(logits, r * V + (int64_t)tensor_get(tok, r));
    *loss += log(s) + mx - at;
    *count += 1;
    *hits += at >= mx;
  }
  *loss /= *count;
}

static void test_mask_by_hand(void) {
  /* depth 0: the blocks are skipped, logits = lm_head(norm(embedding)) by hand */
  enum { B = 3, C = 2, S = 8, P = 4, T = 4, Dm = 8, V = 5 };
  const char *d0[] = {"depth=0", "dim=8", "heads=2", "image=8", "patch=4", "channels=2", "vocab=5", NULL};
  Graph *g = load("mim.yaml", d0, B), *m = g ? to_f64(g) : NULL, *l = m ? lower(m, NULL) : NULL;
  CHECK(l != NULL);
  if (l) {
    TensorSet in, w, out;
    random_weights(m, &w);
    mim_inputs(&in, DT_F64, B, C, S, T, V, 0.4);
    CHECK_INT(run(l, &in, &w, &out), 0);
    const Tensor *mask = tset_get(&in, "mask"), *logits = tset_get(&out, "logits");
    double e[B * T * Dm], want[B * T * V];
    embed_by_hand(&w, tset_get(&in, "pixels"), mask, B, C, S, P, Dm, e);
    const Tensor *lw = tset_get(&w, "lm_head.weight"), *lb = tset_get(&w, "lm_head.bias");
    for (int64_t r = 0; r < B * T; r++) {
      layer_norm(e + r * Dm, Dm, tset_get(&w, "norm.weight"), tset_get(&w, "norm.bias"));
      for (int64_t v = 0; v < V; v++) {
        double s = tensor_get(lb, v);
        for (int64_t d = 0; d < Dm; d++) s += tensor_get(lw, v * Dm + d) * e[r * Dm + d];
        want[r * V + v] = s;
      }
    }
    CHECK(logits && shape_numel(&logits->shape) == B * T * V);
    int bad = 0;
    for (int64_t i = 0; logits && i < B * T * V; i++) bad += fabs(tensor_get(logits, i) - want[i]) > 1e-12;
    CHECK_INT(bad, 0);
    double loss, count, hits;
    masked_ce_by_hand(logits, mask, tset_get(&in, "tokens"), B * T, V, &loss, &count, &hits);
    CHECK(count >= 1 && count < B * T);
    CHECK_NEAR(scalar(&out, "loss"), loss, 1e-12);
    CHECK(scalar(&out, "masked") == count);
    CHECK(scalar(&out, "correct") == hits);
    tset_free(&out);
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  ir_graph_free(m);
  ir_graph_free(l);

  /* depth 2: the loss is the masked mean of the logits' per-token cross-entropy, and the
     pixels under masked patches change no output */
  const char *d2[] = {"depth=2", "dim=8", "heads=2", "image=8", "patch=4", "channels=2", "vocab=5", NULL};
  g = load("mim.yaml", d2, B);
  m = g ? to_f64(g) : NULL;
  l = m ? lower(m, NULL) : NULL;
  CHECK(l != NULL);
  if (l) {
    TensorSet in, w, out, out2;
    random_weights(m, &w);
    mim_inputs(&in, DT_F64, B, C, S, T, V, 0.5);
    CHECK_INT(run(l, &in, &w, &out), 0);
    const Tensor *mask = tset_get(&in, "mask");
    double loss, count, hits;
    masked_ce_by_hand(tset_get(&out, "logits"), mask, tset_get(&in, "tokens"), B * T, V, &loss, &count, &hits);
    CHECK_NEAR(scalar(&out, "loss"), loss, 1e-12);
    CHECK(scalar(&out, "masked") == count);
    CHECK(scalar(&out, "correct") == hits);
    Tensor *x = tset_get(&in, "pixels");
    int64_t G = S / P;
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = 0; t < T; t++)
        if (tensor_get(mask, b * T + t))
          for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < P; i++)
              for (int64_t j = 0; j < P; j++) tensor_set(x, ((b * C + c) * S + (t / G) * P + i) * S + (t % G) * P + j, 7 * urand() - 3);
    CHECK_INT(run(l, &in, &w, &out2), 0);
    const Tensor *a = tset_get(&out, "logits"), *b2 = tset_get(&out2, "logits");
    CHECK(a && b2 && !memcmp(a->data, b2->data, tensor_nbytes(a)));
    CHECK(scalar(&out, "loss") == scalar(&out2, "loss"));
    /* ...while a pixel of an unmasked patch does change the logits (patch 1 of image 0
       is unmasked, see mim_inputs) */
    tensor_set(x, 1 * P, tensor_get(x, 1 * P) + 0.5);
    TensorSet out3;
    CHECK_INT(run(l, &in, &w, &out3), 0);
    const Tensor *c3 = tset_get(&out3, "logits");
    CHECK(c3 && memcmp(a->data, c3->data, tensor_nbytes(a)) != 0);
    tset_free(&out3);
    tset_free(&out);
    tset_free(&out2);
    tset_free(&in);
    tset_free(&w);
  }
  ir_graph_free(g);
  ir_graph_free(m);
  ir_graph_free(l);
}

/* vit_seg.yaml at depth 0: logits[b, c, gy*p + i, gx*p + j] = proj(LN(token gy*g + gx))
 * at row c*p*p + i*p + j, and the loss the mean per-pixel cross-entropy. */
static void test_seg_by_hand(void) {
  enum { B = 2, C = 1, S = 8, P = 4, T = 4, Dm = 8, K = 3, G = S / P };
  const char *d0[] = {"depth=0", "dim=8", "heads=2", "image=8", "patch=4", "classes=3", NULL};
  Graph *g = load("vit_seg.yaml", d0, B), *m = g ? to_f64(g) : NULL, *l = m ? lower(m, NULL) : NULL;
  CHECK(l != NULL);
  if (!l) goto done;
  TensorSet in, w, out;
  random_weights(m, &w);
  tset_init(&in);
  Tensor *x = tensor_new(DT_F64, shape_of(4, (int64_t[]){B, C, S, S})), *y = tensor_new(DT_I32, shape_of(3, (int64_t[]){B, S, S}));
  for (int64_t i = 0; i < B * S * S; i++) tensor_set(x, i, urand()), tensor_set(y, i, floor(K * urand()));
  tset_put(&in, "pixels", x);
  tset_put(&in, "labels", y);
  CHECK_INT(run(l, &in, &w, &out), 0);
  const Tensor *logits = tset_get(&out, "logits");
  CHECK(logits && shape_numel(&logits->shape) == B * K * S * S);
  if (!logits) goto free;
  double e[B * T * Dm], loss = 0;
  embed_by_hand(&w, x, NULL, B, C, S, P, Dm, e);
  const Tensor *pw = tset_get(&w, "decode_head.proj.weight"), *pb = tset_get(&w, "decode_head.proj.bias");
  int bad = 0;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      double *h = e + (b * T + t) * Dm;
      layer_norm(h, Dm, tset_get(&w, "decode_head.norm.weight"), tset_get(&w, "decode_head.norm.bias"));
      for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j < P; j++) {
          int64_t py = (t / G) * P + i, px = (t % G) * P + j;
          double z[K], mx = -INFINITY, s = 0;
          for (int64_t c = 0; c < K; c++) {
            int64_t row = (c * P + i) * P + j;
            z[c] = tensor_get(pb, row);
            for (int64_t d = 0; d < Dm; d++) z[c] += tensor_get(pw, row * Dm + d) * h[d];
            bad += fabs(tensor_get(logits, ((b * K + c) * S + py) * S + px) - z[c]) > 1e-12;
            mx = fmax(mx, z[c]);
          }
          for (int64_t c = 0; c < K; c++) s += exp(z[c] - mx);
          loss += (log(s) + mx - z[(int64_t)tensor_get(y, (b * S + py) * S + px)]) / (double)(B * S * S);
        }
    }
  CHECK_INT(bad, 0);
  CHECK_NEAR(scalar(&out, "loss"), loss, 1e-12);
free:
  tset_free(&out);
  tset_free(&in);
  tset_free(&w);
done:
  ir_graph_free(g);
  ir_graph_free(m);
  ir_graph_free(l);
}

int main(void) {
  diag_init(&D);
  RUN(test_names);
  RUN(test_gradients);
  RUN(test_empty_mask);
  RUN(test_mask_by_hand);
  RUN(test_seg_by_hand);
  return CHECK_DONE();
}
