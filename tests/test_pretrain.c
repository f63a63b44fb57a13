/* test_pretrain.c — what the trainer adds for BEiT's pre-training and fine-tuning:
 * starting weights by name (loaded, initialised, unused, a shape mismatch reported) with
 * the position embedding resized bicubically (against torch 1.13's interpolate, values
 * pasted), the recipe keys `tokenizer` and `mask` (defaults, and each error with its
 * message and location), and the evaluation metrics chosen by a model's outputs (MIM
 * accuracy, codebook usage and reconstruction error, pixel accuracy and mIoU). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "evalmetrics.h"
#include "fe_harness.h"
#include "recipe_harness.h"
#include "frontend/frontend.h"
#include "initfrom.h"
#include "recipe.h"

static Tensor *filled(Shape s, const double *v) {
  Tensor *t = tensor_new(DT_F32, s);
  for (int64_t i = 0; i < shape_numel(&s); i++) tensor_set(t, i, v[i]);
  return t;
}

/* ---- position embeddings ---- */

/* torch.nn.functional.interpolate(grid [1, 2, 3, 3], size=(5, 5), mode='bicubic',
 * align_corners=False), grid[i, c] = ((7 i + 3 c) % 11) * 0.1 - 0.4, in float64. */
static const double grid3[18] = {-0.4, -0.1, 0.3, 0.6, -0.1, 0.2, 0.6, -0.2, 0.2,
                                 0.5,  -0.2, 0.1, 0.5, -0.3, 0.1, 0.4, -0.3, 0.0};
static const double torch5[50] = {
    -0.5733376, -0.1576,    -0.1546272, 0.21,    0.3096,  0.6096,  0.1228032, 0.4152,  -0.1288, 0.1712,
    -0.0310272, -0.1988,    0.1300016,  0.1688,  0.2684,  0.5684,  0.0432704, 0.374,   -0.17,   0.13,
    0.6384,     -0.2672,    0.4736,     0.1004,  0.2,     0.5,     -0.0736,   0.3056,  -0.2384, 0.0616,
    0.6568032,  -0.3356,    0.4536704,  0.032,   0.1316,  0.4316,  -0.1477024, 0.2372, -0.3068, -0.0068,
    0.5288,     -0.3768,    0.364,      -0.0092, 0.0904,  0.3904,  -0.1832,   0.196,   -0.348,  -0.048};

static void test_resize_pos_embed(void) {
  double v[20] = {9, 8};
  memcpy(v + 2, grid3, sizeof grid3);
  Tensor *src = filled(shape_of(3, (int64_t[]){1, 10, 2}), v);
  Tensor *up = init_resize_pos_embed(src, 3, 5);
  CHECK_INT(up->shape.d[1], 26);
  CHECK(tensor_get(up, 0) == 9 && tensor_get(up, 1) == 8); /* CLS kept */
  double err = 0;
  for (int i = 0; i < 50; i++) err = fmax(err, fabs(tensor_get(up, 2 + i) - torch5[i]));
  CHECK(err < 1e-6);
  /* down: arange(16) [4, 4] -> [2, 2] gives torch's 2.03125, 4.21875, 10.78125, 12.96875 */
  double a[17] = {0};
  for (int i = 0; i < 16; i++) a[1 + i] = i;
  Tensor *s4 = filled(shape_of(3, (int64_t[]){1, 17, 1}), a);
  Tensor *dn = init_resize_pos_embed(s4, 4, 2);
  CHECK_NEAR(tensor_get(dn, 1), 2.03125, 1e-6);
  CHECK_NEAR(tensor_get(dn, 2), 4.21875, 1e-6);
  CHECK_NEAR(tensor_get(dn, 3), 10.78125, 1e-6);
  CHECK_NEAR(tensor_get(dn, 4), 12.96875, 1e-6);
  /* the same grid: unchanged */
  Tensor *same = init_resize_pos_embed(src, 3, 3);
  for (int i = 0; i < 20; i++) CHECK_NEAR(tensor_get(same, i), v[i], 1e-7);
  tensor_free(src);
  tensor_free(up);
  tensor_free(s4);
  tensor_free(dn);
  tensor_free(same);
}

/* ---- starting weights by name ---- */

static const char *const tiny_model =
    "name: tiny\n"
    "params: {grid: 2}\n"
    "inputs:\n"
    "  x: {shape: [batch, 1 + grid * grid, 2]}\n"
    "weights:\n"
    "  pos_embed: {shape: [1, 1 + grid * grid, 2], init: ones}\n"
    "  blocks.0.w: {shape: [2, 2], init: ones}\n"
    "  head.weight: {shape: [3, 2], init: fill(7)}\n"
    "body:\n"
    "  - y = matmul(x + pos_embed, blocks.0.w)\n"
    "  - loss = sum(matmul(y, transpose(head.weight, 0, 1)))\n"
    "outputs: [loss]\n";

static void test_init_from(void) {
  put("tiny.yaml", tiny_model);
  Diag d;
  diag_init(&d);
  FeOptions o = {0};
  Graph *g = fe_load_yaml(path_of("tiny.yaml"), &o, NULL, &d);
  CHECK(g != NULL);
  if (!g) return;
  TensorSet file, w;
  tset_init(&file);
  double v[20] = {9, 8};
  memcpy(v + 2, grid3, sizeof grid3);
  tset_put(&file, "pos_embed", filled(shape_of(3, (int64_t[]){1, 10, 2}), v)); /* a 3x3 grid: resized */
  tset_put(&file, "blocks.0.w", filled(shape_of(2, (int64_t[]){2, 2}), (double[]){1, 2, 3, 4}));
  tset_put(&file, "mask_token", filled(shape_of(1, (int64_t[]){2}), (double[]){0, 0})); /* unused */
  tset_put(&file, "lm_head.bias", filled(shape_of(1, (int64_t[]){2}), (double[]){0, 0}));
  tset_init(&w);
  InitReport rep;
  CHECK_INT(init_from(g, 0, &file, "pre.safetensors", SRCLOC_NONE, &w, &rep, &d), 0);
  CHECK_INT(rep.total, 3);
  CHECK_INT(rep.loaded, 2);
  CHECK_INT(rep.interpolated, 1);
  CHECK_INT(rep.unused, 2);
  CHECK_STR(rep.fresh, "head.weight");
  CHECK(tensor_get(tset_get(&w, "blocks.0.w"), 3) == 4);
  CHECK(tensor_get(tset_get(&w, "head.weight"), 0) == 7); /* initialised as the model says */
  const Tensor *pe = tset_get(&w, "pos_embed");
  CHECK_INT(pe->shape.d[1], 5);
  CHECK(tensor_get(pe, 0) == 9 && tensor_get(pe, 1) == 8);
  tset_free(&w);
  /* a shape that differs (not a position embedding) is reported */
  tset_put(&file, "head.weight", filled(shape_of(2, (int64_t[]){4, 2}), (double[]){0, 0, 0, 0, 0, 0, 0, 0}));
  tset_init(&w);
  d.quiet = 1;
  CHECK_INT(init_from(g, 0, &file, "pre.safetensors", (SrcLoc){"r.yaml", 3, 7}, &w, &rep, &d), -1);
  CHECK_STR(d.last, "r.yaml:3:7: error: init: 'head.weight' is [4,2] in pre.safetensors, the model needs [3,2]");
  tset_free(&w);
  tset_free(&file);
  ir_graph_free(g);
}

/* ---- recipe keys ---- */

#define HEAD "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: 8\nsteps: 4\noptimizer: {lr: 0.001}\n"

static void test_recipe_keys(void) {
  put("m.yaml", "name: m\n");
  put("w.safetensors", "");
  Arena *a = arena_new();
  Diag d;
  diag_init(&d);
  Recipe r;
  const char *text = HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, params: {vocab: 64}}\n"
                          "mask: {count: 20}\n";
  CHECK_INT(recipe_parse(path_of("ok.yaml"), text, strlen(text), a, &r, &d), 0);
  CHECK_STR(r.tokenizer.output, "tokens");
  CHECK_STR(r.tokenizer.input, "tokens");
  CHECK_STR(r.tokenizer.pixels, "pixels");
  CHECK_INT(r.tokenizer.nparams, 1);
  CHECK_STR(r.tokenizer.params[0].value, "64");
  CHECK_STR(r.mask.input, "mask");
  CHECK_INT(r.mask.kind, 0);
  CHECK_INT(r.mask.count, 20);
  CHECK_INT(r.mask.min_block, 4);
  CHECK_INT(r.mask.max_block, 0);
  CHECK_NEAR(r.mask.min_aspect, 0.3, 0);
  const char *seg = "model: m.yaml\ndata: {dataset: fashion-seg}\nbatch: 8\nsteps: 4\noptimizer: {lr: 0.001}\n"
                    "mask: {input: m2, kind: random, count: 5}\n";
  CHECK_INT(recipe_parse(path_of("seg.yaml"), seg, strlen(seg), a, &r, &d), 0);
  CHECK_INT(r.data.kind, RECIPE_FASHION_SEG);
  CHECK_INT(r.mask.kind, 1);
  CHECK(r.tokenizer.model == NULL);
  CHECK(r.data.val_split == NULL);
  const char *vs = "model: m.yaml\ndata: {dataset: fashion-mnist, count: 60000, val_count: 10000, val_split: test}\n"
                   "batch: 8\nsteps: 4\noptimizer: {lr: 0.001}\n";
  CHECK_INT(recipe_parse(path_of("vs.yaml"), vs, strlen(vs), a, &r, &d), 0);
  CHECK_STR(r.data.val_split, "test"); /* the whole train split trains, the test split validates */
  arena_free(a);
}

static void test_recipe_errors(void) {
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, val_count: 10001, val_split: test}\n",
      "bad.yaml:2:43: error: data.val_count is 10001, more than the 10000 images of fashion-mnist's test split");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, val_split: val}\n",
      "bad.yaml:2:43: error: unknown split 'val' (expected train or test)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-seg, augment: {crop_pad: 2}}\n",
      "bad.yaml:2:50: error: data.augment.crop_pad applies to fashion-mnist only (fashion-seg canvases are flipped, "
      "not cropped)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-segs}\n",
      "bad.yaml:2:17: error: unknown dataset 'fashion-segs' (did you mean 'fashion-seg'?)");
  recipe_bad(__LINE__, HEAD "tokenizer: {weights: w.safetensors}\n", "bad.yaml:6:1: error: missing key 'model' in tokenizer");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml}\n", "bad.yaml:6:1: error: missing key 'weights' in tokenizer");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: none.safetensors}\n",
      "bad.yaml:6:37: error: cannot read tokenizer.weights 'none.safetensors': No such file or directory");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, output: [a]}\n",
      "bad.yaml:6:60: error: tokenizer.output must be a name, found a sequence");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, bind: {pixels: labels}}\n",
      "bad.yaml:6:58: error: tokenizer.bind must map one tokenizer input to images, as {pixels: images}");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, params: {vocab: [1]}}\n",
      "bad.yaml:6:68: error: tokenizer.params.vocab must be a number or an expression, found a sequence");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, temperature: 1}\n",
      "bad.yaml:6:52: error: unknown key 'temperature' in tokenizer (expected model, weights, params, output, "
      "input, bind)");
  recipe_bad(__LINE__, HEAD "bind: {tokens: labels}\ntokenizer: {model: m.yaml, weights: w.safetensors}\n",
      "bad.yaml:7:1: error: tokenizer: input 'tokens' is already bound to data (bind)");
  recipe_bad(__LINE__, HEAD "mask: {kind: block}\n", "bad.yaml:6:1: error: missing key 'count' in mask");
  recipe_bad(__LINE__, HEAD "mask: {kind: blocks, count: 4}\n",
      "bad.yaml:6:14: error: unknown mask kind 'blocks' (did you mean 'block'?)");
  recipe_bad(__LINE__, HEAD "mask: {kind: grid, count: 4}\n",
      "bad.yaml:6:14: error: unknown mask kind 'grid' (expected block or random)");
  recipe_bad(__LINE__, HEAD "mask: {count: -3}\n", "bad.yaml:6:15: error: mask.count must be an integer >= 0, found -3");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, min_block: 0}\n",
      "bad.yaml:6:30: error: mask.min_block must be a positive integer, found 0");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, min_block: 30}\n",
      "bad.yaml:6:30: error: mask.min_block (30) is larger than mask.count (20)");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, max_block: 2}\n",
      "bad.yaml:6:30: error: mask.max_block (2) is below mask.min_block (4)");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, min_aspect: 0}\n",
      "bad.yaml:6:31: error: mask.min_aspect must be a number > 0, found 0");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, min_aspect: 2}\n",
      "bad.yaml:6:31: error: mask.min_aspect must be in (0, 1], found 2");
  recipe_bad(__LINE__, HEAD "mask: {count: 20, ratio: 0.4}\n",
      "bad.yaml:6:19: error: unknown key 'ratio' in mask (expected input, kind, count, min_block, max_block, "
      "min_aspect)");
  recipe_bad(__LINE__, HEAD "bind: {mask: images}\nmask: {count: 20}\n",
      "bad.yaml:7:1: error: mask: input 'mask' is already bound to data (bind)");
  recipe_bad(__LINE__, HEAD "tokenizer: {model: m.yaml, weights: w.safetensors, input: mask}\nmask: {count: 20}\n",
      "bad.yaml:7:1: error: mask: input 'mask' is already filled by the tokenizer");
}

/* ---- evaluation metrics ---- */

static void test_metrics(void) {
  put("seg.yaml", "name: seg\ninputs:\n  x: {shape: [batch, 2, 2, 2]}\n"
                  "body:\n  - logits = x * 1\n  - correct = sum(x)\n  - masked = sum(x)\n"
                  "outputs: [logits, correct, masked]\n");
  Diag d;
  diag_init(&d);
  FeOptions o = {.batch = 1};
  Graph *g = fe_load_yaml(path_of("seg.yaml"), &o, NULL, &d);
  CHECK(g != NULL);
  if (!g) return;
  EvalMetrics m;
  evm_init(&m, g, 3, 0, 0, 0);
  CHECK(m.seg && m.mim && !m.cls && !m.dvae);
  const char *cols[EVM_MAX_COLS], *outs[EVM_MAX_OUTPUTS];
  CHECK_INT(evm_columns(&m, cols), 3);
  CHECK_STR(cols[0], "mim_acc");
  CHECK_STR(cols[2], "miou");
  CHECK_INT(evm_outputs(&m, outs), 3);
  evm_reset(&m);
  /* logits [1, 2, 2, 2]: class 1 wins at pixels 0 and 1, class 0 at 2 and 3 */
  TensorSet out;
  tset_init(&out);
  tset_put(&out, "logits", filled(shape_of(4, (int64_t[]){1, 2, 2, 2}), (double[]){0, 0, 1, 1, 1, 1, 0, 0}));
  tset_put(&out, "correct", filled(shape_scalar(), (double[]){3}));
  tset_put(&out, "masked", filled(shape_scalar(), (double[]){4}));
  Tensor *labels = tensor_new(DT_I32, shape_of(3, (int64_t[]){1, 2, 2}));
  tensor_set(labels, 0, 1);
  tensor_set(labels, 1, 0); /* wrong */
  Tensor *images = tensor_new(DT_F32, shape_of(4, (int64_t[]){1, 1, 2, 2}));
  CHECK_INT(evm_add(&m, &out, images, labels, NULL, &d), 0);
  CHECK_INT(evm_add(&m, &out, images, labels, NULL, &d), 0); /* sums, then divides */
  double v[EVM_MAX_COLS];
  evm_values(&m, v);
  CHECK_NEAR(v[0], 0.75, 1e-12);
  CHECK_NEAR(v[1], 0.75, 1e-12);
  CHECK_NEAR(v[2], (2.0 / 3 + 1.0 / 2) / 2, 1e-12); /* IoU(0) = 4/6, IoU(1) = 2/4 */
  CHECK(isnan(evm_acc(&m)));
  CHECK(m.snap_images != NULL);
  evm_free(&m);
  tensor_free(labels);
  tensor_free(images);
  tset_free(&out);
  ir_graph_free(g);
}

int main(void) {
  if (scratch_begin()) return 1;
  RUN(test_resize_pos_embed);
  RUN(test_init_from);
  RUN(test_recipe_keys);
  RUN(test_recipe_errors);
  RUN(test_metrics);
  scratch_end();
  return CHECK_DONE();
}
