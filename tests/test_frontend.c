/* test_frontend.c — the YAML front end: graphs/vit.yaml (shapes, weight names and
 * layouts, parameter count, -D overrides), parameters and expressions, modules and
 * repeat naming, includes, initializers and source locations (the errors are
 * test_frontend_errors.c's). Model texts are written to a scratch directory
 * (fe_harness.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fe_harness.h"
#include "frontend/frontend.h"

static int find_weight(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT && !strcmp(g->nodes[i].name, name)) return i;
  return -1;
}

static int find_op(const Graph *g, OpKind op, int nth) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == op && nth-- == 0) return i;
  return -1;
}

static int count_op(const Graph *g, OpKind op) {
  int n = 0;
  for (int i = 0; i < g->n; i++) n += g->nodes[i].op == op;
  return n;
}

static const char *shape_of_node(const Graph *g, int id) {
  static char buf[4][128];
  static int k;
  k = (k + 1) % 4;
  if (id < 0 || id >= g->n) return "(none)";
  return shape_str(&g->nodes[id].shape, buf[k], sizeof buf[k]);
}

static const char *out_shape(const Graph *g, const char *name) {
  for (int i = 0; i < g->nout; i++)
    if (!strcmp(g->outs[i].name, name)) return shape_of_node(g, g->outs[i].id);
  return "(none)";
}

static const Node *out_node(const Graph *g, const char *name) {
  for (int i = 0; i < g->nout; i++)
    if (!strcmp(g->outs[i].name, name)) return &g->nodes[g->outs[i].id];
  return NULL;
}

static const char *weight_shape(const Graph *g, const char *name) {
  return shape_of_node(g, find_weight(g, name));
}

static double param(const FeInfo *info, const char *name) {
  for (int i = 0; i < info->nparams; i++)
    if (!strcmp(info->params[i].name, name)) return info->params[i].value;
  return -12345;
}

static int64_t total_params(const Graph *g, int *ntensors) {
  int64_t n = 0;
  *ntensors = 0;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT) n += shape_numel(&g->nodes[i].shape), ++*ntensors;
  return n;
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

/* ---- graphs/vit.yaml ---- */

static void test_vit(void) {
  FeDefine defs[] = {{"depth", "2", {"<command line>", 0, 0}}};
  FeInfo info;
  Diag d;
  diag_init(&d);
  FeOptions opt = {defs, 1, 4};
  Graph *g = fe_load_yaml("../graphs/vit.yaml", &opt, &info, &d);
  CHECK(g != NULL);
  if (!g) return;
  CHECK_STR(g->name, "vit");
  CHECK_INT(param(&info, "depth"), 2);
  CHECK_INT(param(&info, "dim"), 192);
  CHECK_INT(param(&info, "tokens"), 49);
  CHECK_INT(param(&info, "hidden"), 768);
  CHECK_NEAR(param(&info, "init_values"), 0.1, 1e-12);
  CHECK_INT(g->nout, 2);
  CHECK_STR(g->outs[0].name, "logits");
  CHECK_STR(out_shape(g, "logits"), "[4,10]");
  CHECK_STR(out_shape(g, "loss"), "[]");
  CHECK_INT(g->nodes[find_op(g, OP_INPUT, 1)].dtype, DT_I32);
  CHECK_STR(shape_of_node(g, find_op(g, OP_INPUT, 0)), "[4,1,28,28]");
  /* layouts as the reference */
  CHECK_STR(weight_shape(g, "patch_embed.proj.weight"), "[192,1,4,4]");
  CHECK_STR(weight_shape(g, "patch_embed.proj.bias"), "[192]");
  CHECK_STR(weight_shape(g, "cls_token"), "[1,1,192]");
  CHECK_STR(weight_shape(g, "pos_embed"), "[1,50,192]");
  CHECK_STR(weight_shape(g, "blocks.0.norm1.weight"), "[192]");
  CHECK_STR(weight_shape(g, "blocks.1.attn.qkv.weight"), "[576,192]");
  CHECK_STR(weight_shape(g, "blocks.1.attn.q_bias"), "[192]");
  CHECK_STR(weight_shape(g, "blocks.1.attn.v_bias"), "[192]");
  CHECK(find_weight(g, "blocks.1.attn.k_bias") < 0 && find_weight(g, "blocks.1.attn.qkv.bias") < 0);
  CHECK_STR(weight_shape(g, "blocks.0.attn.proj.weight"), "[192,192]");
  CHECK_STR(weight_shape(g, "blocks.0.attn.proj.bias"), "[192]");
  CHECK_STR(weight_shape(g, "blocks.0.gamma_1"), "[192]");
  CHECK_STR(weight_shape(g, "blocks.0.norm2.bias"), "[192]");
  CHECK_STR(weight_shape(g, "blocks.1.mlp.fc1.weight"), "[768,192]");
  CHECK_STR(weight_shape(g, "blocks.1.mlp.fc1.bias"), "[768]");
  CHECK_STR(weight_shape(g, "blocks.1.mlp.fc2.weight"), "[192,768]");
  CHECK_STR(weight_shape(g, "blocks.1.gamma_2"), "[192]");
  CHECK_STR(weight_shape(g, "fc_norm.weight"), "[192]");
  CHECK_STR(weight_shape(g, "head.weight"), "[10,192]");
  CHECK_STR(weight_shape(g, "head.bias"), "[10]");
  CHECK(find_weight(g, "blocks.2.norm1.weight") < 0);
  /* parameter count by the formula: per block 12 D^2 + 14 D (qkv 3D^2, proj D^2 + D,
     fc1 4D^2 + 4D, fc2 4D^2 + D, two norms 4D, q/v bias 2D, gammas 2D) */
  int64_t D = 192, T = 49, P = 4, C = 1, K = 10, L = 2, nt;
  int ntensors;
  nt = total_params(g, &ntensors);
  CHECK_INT(nt, D * C * P * P + D + D + (T + 1) * D + L * (12 * D * D + 14 * D) + 2 * D + K * D + K);
  CHECK_INT(nt, 905482);
  CHECK_INT(ntensors, 8 + 15 * L);
  /* initializers: trunc normal 0.02 (timm bounds), 1/sqrt(2 l) on proj and fc2, head x0.001 */
  check_init(g, "blocks.0.attn.qkv.weight", "trunc_normal", 4, (double[]){0, 0.02, -2, 2});
  check_init(g, "blocks.0.attn.proj.weight", "trunc_normal", 4,
             (double[]){0, 0.02 / sqrt(2), -2 / sqrt(2), 2 / sqrt(2)});
  check_init(g, "blocks.1.mlp.fc2.weight", "trunc_normal", 4, (double[]){0, 0.01, -1, 1});
  check_init(g, "blocks.1.mlp.fc1.weight", "trunc_normal", 4, (double[]){0, 0.02, -2, 2});
  check_init(g, "head.weight", "trunc_normal", 4, (double[]){0, 2e-5, -0.002, 0.002});
  check_init(g, "blocks.1.gamma_2", "fill", 1, (double[]){0.1});
  check_init(g, "blocks.0.norm1.weight", "ones", 0, NULL);
  check_init(g, "blocks.0.attn.q_bias", "zeros", 0, NULL);
  /* structure */
  CHECK_INT(count_op(g, OP_ATTENTION), 2);
  const Node *att = &g->nodes[find_op(g, OP_ATTENTION, 0)];
  CHECK_INT(ir_attr_i(att, "heads"), 3);
  CHECK_NEAR(ir_attr_f(att, "scale"), 0.125, 1e-12);
  CHECK_STR(shape_of_node(g, att->in[0]), "[4,50,192]");
  CHECK_INT(count_op(g, OP_LAYER_NORM), 5);
  CHECK_NEAR(ir_attr_f(&g->nodes[find_op(g, OP_LAYER_NORM, 4)], "eps"), 1e-6, 1e-15);
  CHECK_INT(count_op(g, OP_GELU), 2);
  const Node *conv = &g->nodes[find_op(g, OP_CONV2D, 0)];
  int cnt;
  const int64_t *st = ir_attr_is(conv, "stride", &cnt);
  CHECK(cnt == 2 && st[0] == 4 && st[1] == 4);
  const Node *mean = &g->nodes[find_op(g, OP_MEAN, 0)];
  CHECK_STR(shape_of_node(g, mean->in[0]), "[4,49,192]"); /* patch tokens only */
  CHECK_INT(out_node(g, "loss")->op, OP_CROSS_ENTROPY);
  ir_graph_free(g);

  /* defaults: depth 12; overrides flow into the parameters that depend on them */
  diag_init(&d);
  g = fe_load_yaml("../graphs/vit.yaml", NULL, &info, &d);
  CHECK(g != NULL);
  if (g) {
    CHECK_INT(total_params(g, &ntensors), 5356042);
    CHECK_INT(ntensors, 188);
    CHECK_STR(out_shape(g, "logits"), "[1,10]");
    CHECK(find_weight(g, "blocks.11.mlp.fc2.weight") >= 0);
    check_init(g, "blocks.11.attn.proj.weight", "trunc_normal", 4,
               (double[]){0, 0.02 / sqrt(24), -2 / sqrt(24), 2 / sqrt(24)});
  }
  ir_graph_free(g);
  FeDefine small[] = {{"depth", "1", {"<command line>", 0, 0}},
                      {"dim", "96", {"<command line>", 0, 0}},
                      {"heads", "heads + 1", {"<command line>", 0, 0}},
                      {"image", "32", {"<command line>", 0, 0}},
                      {"classes", "100", {"<command line>", 0, 0}}};
  FeOptions o2 = {small, 5, 3};
  diag_init(&d);
  g = fe_load_yaml("../graphs/vit.yaml", &o2, &info, &d);
  CHECK(g != NULL);
  if (g) {
    CHECK_INT(param(&info, "heads"), 4);
    CHECK_INT(param(&info, "hidden"), 384);
    CHECK_INT(param(&info, "tokens"), 64);
    CHECK_STR(weight_shape(g, "pos_embed"), "[1,65,96]");
    CHECK_STR(weight_shape(g, "blocks.0.mlp.fc1.weight"), "[384,96]");
    CHECK_STR(out_shape(g, "logits"), "[3,100]");
    CHECK_NEAR(ir_attr_f(&g->nodes[find_op(g, OP_ATTENTION, 0)], "scale"), 1 / sqrt(24), 1e-12);
  }
  ir_graph_free(g);
}

/* ---- parameters ---- */

static void test_params(void) {
  FeInfo info;
  FeDefine defs[] = {{"b", "b * 10 + 0.5", {"<command line>", 0, 0}}, {"n", "3", {"<command line>", 0, 0}}};
  Graph *g = load("params:\n"
                  "  later: a + 1        # uses a parameter defined below\n"
                  "  a: 7\n"
                  "  b: 2\n"
                  "  n: 1\n"
                  "  div: a / 2\n"
                  "  fdiv: a // 2\n"
                  "  neg_fdiv: -a // 2\n"
                  "  mod: -7 % 3\n"
                  "  pw: 2 ** 10\n"
                  "  pw_neg: 2 ** -1\n"
                  "  unary: -(a - 10) * 2\n"
                  "  prec: 1 + 2 * 3 ** 2\n"
                  "  fns: sqrt(16) + min(3, 1, 2) + max(a, 9)\n"
                  "  flt: 1e-6\n"
                  "  bat: batch * 2\n"
                  "  cmp: (a > 3) + (a == 7)\n"
                  "  ints: n * 2\n"
                  "inputs:\n"
                  "  x: {shape: [batch, n, a // 2 + 1]}\n"
                  "outputs: [x]\n",
                  defs, 2, 5, &info);
  CHECK(g != NULL);
  if (!g) return;
  CHECK_INT(info.nparams, 17);
  CHECK_STR(info.params[0].name, "later"); /* file order */
  CHECK_NEAR(param(&info, "later"), 8, 0);
  CHECK_NEAR(param(&info, "b"), 20.5, 0);
  CHECK_NEAR(param(&info, "div"), 3.5, 0);
  CHECK_NEAR(param(&info, "fdiv"), 3, 0);
  CHECK_NEAR(param(&info, "neg_fdiv"), -4, 0);
  CHECK_NEAR(param(&info, "mod"), 2, 0);
  CHECK_NEAR(param(&info, "pw"), 1024, 0);
  CHECK_NEAR(param(&info, "pw_neg"), 0.5, 0);
  CHECK_NEAR(param(&info, "unary"), 6, 0);
  CHECK_NEAR(param(&info, "prec"), 19, 0);
  CHECK_NEAR(param(&info, "fns"), 4 + 1 + 9, 0);
  CHECK_NEAR(param(&info, "flt"), 1e-6, 1e-18);
  CHECK_NEAR(param(&info, "bat"), 10, 0);
  CHECK_NEAR(param(&info, "cmp"), 2, 0);
  CHECK_NEAR(param(&info, "ints"), 6, 0);
  for (int i = 0; i < info.nparams; i++) {
    const char *n = info.params[i].name;
    int want = strcmp(n, "b") && strcmp(n, "div") && strcmp(n, "pw_neg") && strcmp(n, "fns") && strcmp(n, "flt");
    if (info.params[i].is_int != want) fprintf(stderr, "is_int of %s\n", n);
    CHECK_INT(info.params[i].is_int, want);
  }
  CHECK_STR(out_shape(g, "x"), "[5,3,4]");
  ir_graph_free(g);
}

/* ---- expressions in bodies ---- */

static void test_expressions(void) {
  Graph *g = load("params: {dim: 6}\n"
                  "inputs:\n"
                  "  x: {shape: [2, 3, 4]}\n"
                  "  v: {shape: [4]}\n"
                  "  m: {shape: [4, 5]}\n"
                  "  lab: {shape: [2], dtype: i32}\n"
                  "weights:\n"
                  "  w: {shape: [dim, 4], init: normal(0.02)}\n"
                  "body:\n"
                  "  - s = dim ** -0.5             # a number\n"
                  "  - a = x * s + v               # broadcast [2,3,4] + [4]\n"
                  "  - b = 1 - x / 2\n"
                  "  - c = x > v                   # bool, lt with swapped operands\n"
                  "  - c2 = x != 0\n"
                  "  - d = x[:, 1:]\n"
                  "  - e = x[:, 0]\n"
                  "  - f = x[-1, ..., 0:2]\n"
                  "  - g = x[..., ::2]\n"
                  "  - h = x[0, -1, -1]\n"
                  "  - i = reshape(x, [2, -1])\n"
                  "  - j = reshape(x, -1)\n"
                  "  - k = transpose(x, -1, 0)\n"
                  "  - l = flatten(x, 1)\n"
                  "  - mm = matmul(x, m)           # [2,3,4] x [4,5]\n"
                  "  - mv = matmul(x, v)           # matrix-vector\n"
                  "  - lin = linear(x, w)          # any rank\n"
                  "  - sm = sum(x, axis=-1)\n"
                  "  - mx = max(x, axes=[0, 2], keepdims=1)\n"
                  "  - mn = min(x, axis=1)\n"
                  "  - me = mean(x, axis=[-1, 1])\n"
                  "  - all = sum(x)\n"
                  "  - el = max(x, 0)\n"
                  "  - z = zeros([2, dim], dtype=i32)\n"
                  "  - o = ones(3)\n"
                  "  - fu = full([2], 1.5)\n"
                  "  - cat = concat([x, x], axis=-2)\n"
                  "  - cat2 = concat(x, x, x, axis=0)\n"
                  "  - wh = where(c, x, 0)\n"
                  "  - ca = cast(x, i32)\n"
                  "  - ca2 = cast(x, to=f64)\n"
                  "  - oh = one_hot(lab, depth=dim)\n"
                  "  - so = softmax(x, axis=-2)\n"
                  "  - pe = permute(x, 2, 0, 1)\n"
                  "  - pe2 = permute(x, perm=[0, 2, 1])\n"
                  "  - us = unsqueeze(v, 0)\n"
                  "  - sq = squeeze(us, -2)\n"
                  "  - io = iota([3, 4], axis=1)\n"
                  "  - fd = x // 2\n"
                  "  - pw = x ** 2\n"
                  "  - ng = -x\n"
                  "  - bc = broadcast(v, [3, 4])\n"
                  "  - add = add(x, 1)\n"
                  "  - st = sqrt(x) + sqrt(4)\n"
                  "outputs: [a, b, c, c2, d, e, f, g, h, i, j, k, l, mm, mv, lin, sm, mx, mn, me, all, el, z, o, fu,\n"
                  "          cat, cat2, wh, ca, ca2, oh, so, pe, pe2, us, sq, io, fd, pw, ng, bc, add, st]\n",
                  NULL, 0, 1, NULL);
  CHECK(g != NULL);
  if (!g) return;
  static const char *const want[][2] = {
      {"a", "[2,3,4]"},   {"b", "[2,3,4]"},   {"c", "[2,3,4]"},  {"c2", "[2,3,4]"}, {"d", "[2,2,4]"},
      {"e", "[2,4]"},     {"f", "[3,2]"},     {"g", "[2,3,2]"},  {"h", "[]"},       {"i", "[2,12]"},
      {"j", "[24]"},      {"k", "[4,3,2]"},   {"l", "[2,12]"},   {"mm", "[2,3,5]"}, {"mv", "[2,3]"},
      {"lin", "[2,3,6]"}, {"sm", "[2,3]"},    {"mx", "[1,3,1]"}, {"mn", "[2,4]"},   {"me", "[2]"},
      {"all", "[]"},      {"el", "[2,3,4]"},  {"z", "[2,6]"},    {"o", "[3]"},      {"fu", "[2]"},
      {"cat", "[2,6,4]"}, {"cat2", "[6,3,4]"}, {"wh", "[2,3,4]"}, {"ca", "[2,3,4]"}, {"ca2", "[2,3,4]"},
      {"oh", "[2,6]"},    {"so", "[2,3,4]"},  {"pe", "[4,2,3]"}, {"pe2", "[2,4,3]"}, {"us", "[1,4]"},
      {"sq", "[4]"},      {"io", "[3,4]"},    {"fd", "[2,3,4]"}, {"pw", "[2,3,4]"}, {"ng", "[2,3,4]"},
      {"bc", "[3,4]"},    {"add", "[2,3,4]"}, {"st", "[2,3,4]"}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const char *got = out_shape(g, want[i][0]);
    if (strcmp(got, want[i][1])) fprintf(stderr, "output %s: %s, want %s\n", want[i][0], got, want[i][1]);
    CHECK_STR(got, want[i][1]);
  }
  CHECK_INT(out_node(g, "c")->dtype, DT_BOOL);
  CHECK_INT(out_node(g, "c")->op, OP_LT);
  CHECK_INT(out_node(g, "c2")->op, OP_NOT);
  CHECK_INT(out_node(g, "z")->dtype, DT_I32);
  CHECK_INT(out_node(g, "ca")->dtype, DT_I32);
  CHECK_INT(out_node(g, "ca2")->dtype, DT_F64);
  CHECK_INT(out_node(g, "io")->dtype, DT_I32);
  CHECK_INT(out_node(g, "oh")->dtype, DT_F32);
  CHECK_INT(out_node(g, "fd")->op, OP_FLOOR);
  CHECK_INT(out_node(g, "ng")->op, OP_NEG);
  CHECK_INT(out_node(g, "wh")->op, OP_WHERE);
  CHECK_INT(out_node(g, "el")->op, OP_MAX);
  CHECK_INT(out_node(g, "mn")->op, OP_NEG); /* -max(-x) */
  CHECK_INT(ir_attr_i(out_node(g, "so"), "axis"), 1);
  CHECK_INT(ir_attr_i(out_node(g, "cat"), "axis"), 1);
  int cnt;
  const int64_t *ax = ir_attr_is(out_node(g, "me"), "axes", &cnt);
  CHECK(cnt == 2 && ax[0] == 1 && ax[1] == 2);
  ax = ir_attr_is(out_node(g, "mx"), "axes", &cnt);
  CHECK(cnt == 2 && ax[0] == 0 && ax[1] == 2);
  /* the scalar 6**-0.5 became a const of x's dtype, broadcast */
  const Node *mul = &g->nodes[g->nodes[out_node(g, "a") - g->nodes].in[0]];
  CHECK_INT(mul->op, OP_MUL);
  /* x[:, 1:] is one slice; x[:, 0] is a slice and a reshape */
  const Node *dn = out_node(g, "d");
  CHECK_INT(dn->op, OP_SLICE);
  const int64_t *s0 = ir_attr_is(dn, "start", &cnt);
  CHECK(cnt == 3 && s0[0] == 0 && s0[1] == 1 && s0[2] == 0);
  CHECK_INT(out_node(g, "e")->op, OP_RESHAPE);
  /* matmul broadcast the [4,5] operand to [2,4,5] */
  const Node *mmn = out_node(g, "mm");
  CHECK_INT(mmn->op, OP_MATMUL);
  CHECK_STR(shape_of_node(g, mmn->in[1]), "[2,4,5]");
  ir_graph_free(g);
}

/* ---- modules, repeat naming, nesting ---- */

static void test_modules(void) {
  Graph *g = load("params: {dim: 4, scale: 3}\n"
                  "inputs:\n"
                  "  x: {shape: [2, dim]}\n"
                  "modules:\n"
                  "  inner:\n"
                  "    params: [dim, layer]\n"
                  "    inputs: [x]\n"
                  "    weights:\n"
                  "      fc.weight: {shape: [dim, dim], init: fill(layer)}\n"
                  "    body:\n"
                  "      - y = linear(x, fc.weight)\n"
                  "    outputs: [y]\n"
                  "  block:\n"
                  "    params: [dim, layer, scale]   # scale comes from the caller\n"
                  "    inputs: [x, bias]\n"
                  "    weights:\n"
                  "      g: {shape: [dim], init: fill(scale * 10 + layer)}\n"
                  "    body:\n"
                  "      - call: {module: inner, as: sub, args: [x], out: [h]}\n"
                  "      - call: {module: inner, args: [h], out: [h2], with: {layer: layer + 100}}\n"
                  "      - x = x + g * h2 + bias\n"
                  "    outputs: [x, h]\n"
                  "  noop:\n"
                  "    inputs: [x]\n"
                  "    outputs: [x]\n"
                  "body:\n"
                  "  - b = zeros([dim])\n"
                  "  - repeat: {module: block, times: 3, as: blocks, args: [x, b], out: [x, last],\n"
                  "             with: {layer: index + 1}}\n"
                  "  - repeat: {module: noop, times: 0, as: none, args: [x], out: [y]}\n"
                  "  - y = x\n"
                  "  - repeat: {module: noop, times: 0, as: none, args: [y], out: [y]}\n"
                  "outputs: [x, last, y]\n",
                  NULL, 0, 1, NULL);
  CHECK(g != NULL);
  if (!g) return;
  /* blocks.<i>.g, blocks.<i>.sub.fc.weight (nested prefix), blocks.<i>.fc.weight (no as:) */
  int nt;
  total_params(g, &nt);
  CHECK_INT(nt, 9);
  check_init(g, "blocks.0.g", "fill", 1, (double[]){31});
  check_init(g, "blocks.2.g", "fill", 1, (double[]){33});
  check_init(g, "blocks.1.sub.fc.weight", "fill", 1, (double[]){2});
  check_init(g, "blocks.2.fc.weight", "fill", 1, (double[]){103});
  CHECK_STR(weight_shape(g, "blocks.2.sub.fc.weight"), "[4,4]");
  /* the chain: block i's input is block i-1's output */
  const Node *x = out_node(g, "x");
  CHECK_INT(x->op, OP_ADD);
  CHECK_INT(out_node(g, "last")->op, OP_LINEAR);
  CHECK(out_node(g, "y") == x);
  int lin = 0;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_LINEAR && g->nodes[i].in[1] == find_weight(g, "blocks.1.sub.fc.weight")) lin = i;
  CHECK(lin > find_weight(g, "blocks.0.fc.weight"));
  ir_graph_free(g);
}

/* ---- includes ---- */

static void test_includes(void) {
  char sub[128];
  snprintf(sub, sizeof sub, "%s/lib", dir);
  mkdir(sub, 0700);
  put("lib/common.yaml", "params: {dim: 8, hidden: dim * 2, eps: 1e-6}\n"
                         "include: [act.yaml]\n"
                         "modules:\n"
                         "  mlp:\n"
                         "    params: [dim, hidden]\n"
                         "    inputs: [x]\n"
                         "    weights:\n"
                         "      fc1: {shape: [hidden, dim]}\n"
                         "    body:\n"
                         "      - y = linear(x, fc1)\n"
                         "      - call: {module: act, args: [y], out: [y]}\n"
                         "    outputs: [y]\n"
                         "  act:\n"
                         "    inputs: [x]\n"
                         "    outputs: [x]\n"
                         "inputs:                # ignored when included\n"
                         "  z: {shape: [1]}\n"
                         "body:\n"
                         "  - q = undefined_thing\n");
  put("lib/act.yaml", "modules:\n"
                      "  act:                  # loses to common.yaml's own act\n"
                      "    inputs: [x]\n"
                      "    body:\n"
                      "      - x = gelu(x)\n"
                      "    outputs: [x]\n"
                      "  extra:\n"
                      "    inputs: [x]\n"
                      "    body:\n"
                      "      - x = relu(x)\n"
                      "    outputs: [x]\n");
  put("other.yaml", "include: lib/common.yaml   # the same file twice is fine\n");
  FeInfo info;
  Graph *g = load("include: [lib/common.yaml, other.yaml]\n"
                  "params: {dim: 4}          # wins over common.yaml's dim\n"
                  "inputs:\n"
                  "  x: {shape: [2, dim]}\n"
                  "body:\n"
                  "  - call: {module: mlp, as: mlp, args: [x], out: [y]}\n"
                  "  - call: {module: extra, args: [y], out: [y]}\n"
                  "outputs: [y]\n",
                  NULL, 0, 1, &info);
  CHECK(g != NULL);
  if (!g) return;
  CHECK_INT(info.nparams, 3);
  CHECK_STR(info.params[0].name, "dim");
  CHECK_NEAR(param(&info, "dim"), 4, 0);
  CHECK_NEAR(param(&info, "hidden"), 8, 0); /* evaluated with the including file's dim */
  CHECK_STR(weight_shape(g, "mlp.fc1"), "[8,4]");
  CHECK_INT(count_op(g, OP_GELU), 0);
  CHECK_INT(out_node(g, "y")->op, OP_RELU);
  CHECK_INT(count_op(g, OP_INPUT), 1);
  ir_graph_free(g);
  FeDefine def[] = {{"hidden", "3", {"<command line>", 0, 0}}};
  g = load("include: lib/common.yaml\n"
           "inputs: {x: {shape: [2, dim]}}\n"
           "body: ['y = linear(x, zeros([hidden, dim]))']\n"
           "outputs: [y]\n",
           def, 1, 1, &info);
  CHECK(g != NULL);
  if (g) CHECK_STR(out_shape(g, "y"), "[2,3]");
  ir_graph_free(g);
  unlink(path_of("lib/common.yaml"));
  unlink(path_of("lib/act.yaml"));
  unlink(path_of("other.yaml"));
  rmdir(sub);
}

/* ---- initializers ---- */

static void test_inits(void) {
  CHECK_STR(error_of("weights: {h: {shape: [2], init: trunc_normal(std=0.02)}}\n", NULL, 0),
            "m.yaml:1:33: error: wrong number of arguments for initializer trunc_normal(std, a=-2, b=2, mean=0) "
            "(got 0)");
  Graph *g = load("params: {s: 0.5}\n"
           "weights:\n"
           "  a: {shape: [2]}\n"
           "  b: {shape: [2], init: ones}\n"
           "  c: {shape: [2], init: ones(scale=s)}\n"
           "  d: {shape: [2], init: fill(3, scale=2)}\n"
           "  e: {shape: [2], init: normal(0.1)}\n"
           "  f: {shape: [2], init: normal(1, 0.1, scale=-2)}\n"
           "  g: {shape: [2], init: trunc_normal(0.02, a=-0.02, b=0.04, scale=-1)}\n"
           "  i: {shape: [2], init: uniform(-1, 3, scale=s)}\n"
           "  j: {shape: [2], init: xavier_uniform}\n"
           "  k: {shape: [2], init: 'xavier_uniform(gain=2, scale=s)'}\n"
           "  l: {shape: [2], init: xavier_uniform(3)}\n"
           "  m: [2, 3]\n"
           "  n: {shape: [], init: trunc_normal(1, mean=1), dtype: f64}\n",
           NULL, 0, 1, NULL);
  CHECK(g != NULL);
  if (!g) return;
  check_init(g, "a", "zeros", 0, NULL);
  check_init(g, "b", "ones", 0, NULL);
  check_init(g, "c", "fill", 1, (double[]){0.5});
  check_init(g, "d", "fill", 1, (double[]){6});
  check_init(g, "e", "normal", 2, (double[]){0, 0.1});
  check_init(g, "f", "normal", 2, (double[]){-2, 0.2});
  check_init(g, "g", "trunc_normal", 4, (double[]){0, 0.02, -0.04, 0.02});
  check_init(g, "i", "uniform", 2, (double[]){-0.5, 1.5});
  check_init(g, "j", "xavier_uniform", 1, (double[]){1});
  check_init(g, "k", "xavier_uniform", 1, (double[]){1});
  check_init(g, "l", "xavier_uniform", 1, (double[]){3});
  check_init(g, "m", "zeros", 0, NULL);
  CHECK_STR(weight_shape(g, "m"), "[2,3]");
  check_init(g, "n", "trunc_normal", 4, (double[]){1, 1, -2, 2});
  CHECK_INT(g->nodes[find_weight(g, "n")].dtype, DT_F64);
  ir_graph_free(g);
}

/* ---- source locations ---- */

static void test_locations(void) {
  /* plain, quoted, folded over lines, literal block, flow mapping rejoined at commas */
  CHECK_STR(error_of("inputs: {x: {shape: [2]}}\n"
                     "body:\n"
                     "  - y = relu(x) +   nope\n",
                     NULL, 0),
            "m.yaml:3:21: error: unknown name 'nope'");
  CHECK_STR(error_of("inputs: {x: {shape: [2]}}\n"
                     "body:\n"
                     "  - \"y = relu(x) + nope\"\n",
                     NULL, 0),
            "m.yaml:3:20: error: unknown name 'nope'");
  CHECK_STR(error_of("inputs: {x: {shape: [2]}}\n"
                     "body:\n"
                     "  - y = relu(x) +\n"
                     "      relu(x) + nope\n",
                     NULL, 0),
            "m.yaml:4:17: error: unknown name 'nope'");
  CHECK_STR(error_of("inputs: {x: {shape: [2]}}\n"
                     "body:\n"
                     "  - |\n"
                     "    y = relu(x) +\n"
                     "        nope\n",
                     NULL, 0),
            "m.yaml:5:9: error: unknown name 'nope'");
  CHECK_STR(error_of("weights:\n"
                     "  w: {shape: [2], init: trunc_normal(0.02, a=-1, c=1)}\n",
                     NULL, 0),
            "m.yaml:2:50: error: initializer trunc_normal(std, a=-2, b=2, mean=0) has no argument 'c'");
  CHECK_STR(error_of("params: {d: 2}\n"
                     "inputs: {x: {shape: [2, max(d, oops)]}}\n",
                     NULL, 0),
            "m.yaml:2:32: error: undefined parameter 'oops'");
  /* nodes carry the position of their operator or function */
  Graph *g = load("inputs: {x: {shape: [2]}}\n"
                  "body:\n"
                  "  - y = relu(x) * 2\n"
                  "outputs: [y]\n",
                  NULL, 0, 1, NULL);
  CHECK(g != NULL);
  if (!g) return;
  const Node *y = out_node(g, "y");
  CHECK_INT(y->loc.line, 3);
  CHECK_INT(y->loc.col, 17);
  CHECK_INT(g->nodes[y->in[0]].loc.col, 9);
  CHECK_STR(g->nodes[0].loc.file, path_of("m.yaml"));
  CHECK_INT(g->nodes[0].loc.col, 10);
  ir_graph_free(g);
}

int main(void) {
  if (scratch_begin()) return 2;
  RUN(test_vit);
  RUN(test_params);
  RUN(test_expressions);
  RUN(test_modules);
  RUN(test_includes);
  RUN(test_inits);
  RUN(test_locations);
  scratch_end();
  return CHECK_DONE();
}
