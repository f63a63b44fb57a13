/* test_irtext.c — the IR's text form and the verifier: exact printed text, print ->
 * parse -> print round trips on graphs that use every op and odd floats and strings,
 * the parser's error messages (exact text and position), and the verifier's on graphs
 * corrupted in memory. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ir/ir.h"

static SrcLoc L(int line, int col) {
  return (SrcLoc){"graphs/t.yaml", line, col};
}

static Diag quiet(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  return d;
}

#define SH(...) shape_of(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})

/* print -> parse -> print must give the same bytes, and both graphs must verify. */
static Graph *roundtrip(const Graph *g) {
  Diag d = quiet();
  CHECK_INT(ir_verify(g, &d), 0);
  char *t1 = ir_print_str(g);
  Graph *g2 = ir_parse(t1, "rt.mir", &d);
  if (!g2) {
    fprintf(stderr, "parse failed: %s\n%s", d.last, t1);
    check_failures++;
    free(t1);
    return NULL;
  }
  char *t2 = ir_print_str(g2);
  CHECK_STR(t2, t1);
  CHECK_INT(ir_verify(g2, &d), 0);
  CHECK_INT(d.nerr, 0);
  CHECK_INT(g2->n, g->n);
  CHECK_INT(g2->nout, g->nout);
  free(t1);
  free(t2);
  return g2;
}

static void test_exact_text(void) {
  Diag d = quiet();
  Graph *g = ir_graph_new("vit");
  double args[4] = {0.0, 0.02, -0.02, 0.02};
  int x = ir_input(g, "pixels", DT_F32, SH(2, 1, 28, 28), (SrcLoc){"graphs/vit.yaml", 9, 3}, &d);
  int w = ir_weight(g, "cls_token", DT_F32, SH(1, 1, 192), "trunc_normal", args, 4, (SrcLoc){"graphs/vit.yaml", 20, 5}, &d);
  int c = ir_const(g, DT_F32, SH(2, 1, 28, 28), 1.0, SRCLOC_NONE, &d);
  int a = ir_binary(g, OP_ADD, x, c, (SrcLoc){"graphs/vit.yaml", 30, 7}, &d);
  int r = ir_reduce(g, OP_REDUCE_SUM, a, (int64_t[]){1}, 1, 0, SRCLOC_NONE, &d);
  int k = ir_cast(g, r, DT_F64, SRCLOC_NONE, &d);
  ir_add_output(g, "logits", r);
  ir_add_output(g, "other", k);
  CHECK_INT(d.nerr, 0);
  CHECK_INT(w, 1);
  char *s = ir_print_str(g);
  CHECK_STR(s, "graph \"vit\" {\n"
               "  %0 = input \"pixels\" : f32[2,1,28,28] @\"graphs/vit.yaml\":9:3\n"
               "  %1 = weight \"cls_token\" {init=\"trunc_normal\", init_args=[0.0, 0.02, -0.02, 0.02]} : f32[1,1,192] @\"graphs/vit.yaml\":20:5\n"
               "  %2 = const {value=1.0} : f32[2,1,28,28]\n"
               "  %3 = add(%0, %2) : f32[2,1,28,28] @\"graphs/vit.yaml\":30:7\n"
               "  %4 = reduce_sum(%3) {axes=[1], keepdims=0} : f32[2,28,28]\n"
               "  %5 = cast(%4) {to=f64} : f64[2,28,28]\n"
               "  output \"logits\" = %4\n"
               "  output \"other\" = %5\n"
               "}\n");
  Graph *g2 = roundtrip(g);
  if (g2) {
    CHECK_STR(g2->name, "vit");
    CHECK_STR(g2->nodes[1].name, "cls_token");
    CHECK_STR(g2->nodes[3].loc.file, "graphs/vit.yaml");
    CHECK_INT(g2->nodes[3].loc.line, 30);
    CHECK_INT(g2->nodes[3].loc.col, 7);
    CHECK(g2->nodes[2].loc.file == NULL);
  }
  /* ir_print writes the same text */
  FILE *f = tmpfile();
  ir_print(g, f);
  rewind(f);
  char buf[2048] = {0};
  CHECK_INT(fread(buf, 1, sizeof buf - 1, f), strlen(s));
  CHECK_STR(buf, s);
  fclose(f);
  free(s);
  ir_graph_free(g);
  ir_graph_free(g2);

  g = ir_graph_new("empty");
  s = ir_print_str(g);
  CHECK_STR(s, "graph \"empty\" {\n}\n");
  free(s);
  ir_graph_free(roundtrip(g));
  ir_graph_free(g);
}

/* Every op at least once, with and without locations, optional inputs present and absent. */
static Graph *every_op_graph(void) {
  Diag d = quiet();
  Graph *g = ir_graph_new("all ops");
  double args[2] = {-1.5, 1e-06};
  int x = ir_input(g, "x", DT_F32, SH(2, 3, 4), L(1, 1), &d);
  int w = ir_weight(g, "w", DT_F32, SH(5, 4), "trunc_normal", args, 2, L(2, 1), &d);
  int bias = ir_weight(g, "b", DT_F32, SH(5), NULL, NULL, 0, SRCLOC_NONE, &d);
  int idx = ir_input(g, "idx", DT_I32, SH(5), L(3, 1), &d);
  int seed = ir_input(g, "seed", DT_I32, SH(), L(4, 1), &d);
  ir_const(g, DT_F64, SH(3), 0.1, L(5, 1), &d);
  ir_iota(g, DT_I32, SH(2, 3), 1, L(6, 1), &d);
  const OpKind unary[] = {OP_NEG, OP_ABS, OP_EXP, OP_LOG, OP_SQRT, OP_RSQRT, OP_TANH, OP_ERF, OP_RECIP, OP_FLOOR};
  for (size_t i = 0; i < sizeof unary / sizeof *unary; i++) ir_unary(g, unary[i], x, L(7, (int)i + 1), &d);
  ir_cast(g, x, DT_F64, SRCLOC_NONE, &d);
  const OpKind binary[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_POW, OP_LT, OP_LE};
  for (size_t i = 0; i < sizeof binary / sizeof *binary; i++) ir_binary(g, binary[i], x, x, L(8, (int)i + 1), &d);
  int eq = ir_binary(g, OP_EQ, x, x, L(9, 1), &d);
  int nt = ir_unary(g, OP_NOT, eq, L(9, 2), &d);
  ir_binary(g, OP_AND, eq, nt, L(9, 3), &d);
  int cond = ir_binary(g, OP_OR, eq, nt, L(9, 4), &d);
  ir_where(g, cond, x, x, L(10, 1), &d);
  ir_reduce(g, OP_REDUCE_SUM, x, (int64_t[]){1}, 1, 0, L(11, 1), &d);
  ir_reduce(g, OP_REDUCE_MAX, x, (int64_t[]){-1, 0}, 2, 1, L(11, 2), &d);
  ir_reshape(g, x, SH(6, 4), L(12, 1), &d);
  ir_permute(g, x, (int64_t[]){2, 0, 1}, 3, L(12, 2), &d);
  ir_broadcast(g, x, SH(3, 2, 3, 4), L(12, 3), &d);
  ir_slice(g, x, (int64_t[]){0, 1, 0}, (int64_t[]){2, 3, 4}, (int64_t[]){1, 1, 2}, L(12, 4), &d);
  ir_pad(g, x, (int64_t[]){0, 1, 0}, (int64_t[]){1, 0, 2}, -0.0, L(12, 5), &d);
  ir_concat(g, (int[]){x, x, x}, 3, -2, L(12, 6), &d);
  int gat = ir_gather(g, x, idx, 1, L(13, 1), &d);
  ir_scatter_add(g, gat, idx, 1, 3, L(13, 2), &d);
  ir_one_hot(g, idx, 7, DT_F64, L(13, 3), &d);
  int y = ir_input(g, "y", DT_F32, SH(2, 4, 6), L(14, 1), &d);
  ir_matmul(g, x, y, 0, 0, L(14, 2), &d);
  ir_matmul(g, y, x, 1, 1, L(14, 3), &d);
  int img = ir_input(g, "img", DT_F32, SH(1, 3, 8, 8), L(15, 1), &d);
  int ker = ir_weight(g, "k", DT_F32, SH(4, 3, 3, 3), "kaiming", NULL, 0, L(15, 2), &d);
  ir_conv(g, img, ker, (int64_t[]){2, 2}, (int64_t[]){1, 1}, L(15, 3), &d);
  ir_random(g, seed, 7, SH(3, 4), L(16, 1), &d);
  /* high-level ops */
  ir_op(g, OP_LINEAR, (int[]){x, w, bias}, 3, NULL, 0, L(17, 1), &d);
  ir_op(g, OP_LINEAR, (int[]){x, w}, 2, NULL, 0, L(17, 2), &d);
  int g4 = ir_weight(g, "ln.w", DT_F32, SH(4), "ones", NULL, 0, L(18, 1), &d);
  ir_op(g, OP_LAYER_NORM, &x, 1, NULL, 0, L(18, 2), &d);
  ir_op(g, OP_LAYER_NORM, (int[]){x, g4, g4}, 3, (Attr[]){ATTR_F("eps", 1e-6)}, 1, L(18, 3), &d);
  ir_op(g, OP_SOFTMAX, &x, 1, NULL, 0, L(19, 1), &d);
  ir_op(g, OP_LOG_SOFTMAX, &x, 1, (Attr[]){ATTR_I("axis", 1)}, 1, L(19, 2), &d);
  ir_op(g, OP_GELU, &x, 1, NULL, 0, L(19, 3), &d);
  ir_op(g, OP_RELU, &x, 1, NULL, 0, L(19, 4), &d);
  ir_op(g, OP_SIGMOID, &x, 1, NULL, 0, L(19, 5), &d);
  ir_op(g, OP_MEAN, &x, 1, (Attr[]){ATTR_IS("axes", (int64_t[]){2}, 1)}, 1, L(19, 6), &d);
  int ab = ir_input(g, "attn_bias", DT_F32, SH(2, 1, 3, 3), L(20, 1), &d);
  ir_op(g, OP_ATTENTION, (int[]){x, x, x}, 3, (Attr[]){ATTR_I("heads", 2)}, 1, L(20, 2), &d);
  ir_op(g, OP_ATTENTION, (int[]){x, x, x, ab}, 4, (Attr[]){ATTR_I("heads", 4), ATTR_F("scale", 0.125)}, 2, L(20, 3), &d);
  int logits = ir_input(g, "logits", DT_F32, SH(6, 10), L(21, 1), &d);
  int labels = ir_input(g, "labels", DT_I32, SH(6), L(21, 2), &d);
  int mask = ir_input(g, "mask", DT_BOOL, SH(6), L(21, 3), &d);
  ir_op(g, OP_CROSS_ENTROPY, (int[]){logits, labels}, 2, NULL, 0, L(21, 4), &d);
  int ce = ir_op(g, OP_CROSS_ENTROPY, (int[]){logits, labels, mask}, 3, (Attr[]){ATTR_F("smoothing", 0.1)}, 1,
                 L(21, 5), &d);
  int kb = ir_weight(g, "kb", DT_F32, SH(4), NULL, NULL, 0, L(22, 1), &d);
  ir_op(g, OP_CONV2D, (int[]){img, ker, kb}, 3, (Attr[]){ATTR_IS("pad", ((int64_t[]){1, 1}), 2)}, 1, L(22, 2), &d);
  ir_op(g, OP_MAX_POOL, &img, 1, (Attr[]){ATTR_IS("kernel", ((int64_t[]){2, 2}), 2)}, 1, L(23, 1), &d);
  ir_op(g, OP_UPSAMPLE, &img, 1, (Attr[]){ATTR_I("scale", 2)}, 1, L(23, 2), &d);
  int pt = ir_op(g, OP_PATCHIFY, &img, 1, (Attr[]){ATTR_I("patch", 4)}, 1, L(23, 3), &d);
  int tau = ir_const(g, DT_F32, SH(), 0.5, L(24, 1), &d);
  int gs = ir_op(g, OP_GUMBEL_SOFTMAX, (int[]){logits, tau, seed}, 3, (Attr[]){ATTR_I("hard", 1)}, 1, L(24, 2), &d);
  ir_add_output(g, "loss", ce);
  ir_add_output(g, "patches", pt);
  ir_add_output(g, "sample", gs);
  ir_add_output(g, "x again", x);
  CHECK_INT(d.nerr, 0);
  if (d.nerr) fprintf(stderr, "  %s\n", d.last);
  return g;
}

static void test_every_op(void) {
  Graph *g = every_op_graph();
  int seen[OP_COUNT] = {0};
  for (int i = 0; i < g->n; i++) seen[g->nodes[i].op] = 1;
  for (int op = 0; op < OP_COUNT; op++)
    if (!seen[op]) {
      fprintf(stderr, "op %s is not in the graph\n", op_info((OpKind)op)->name);
      check_failures++;
    }
  Graph *g2 = roundtrip(g);
  /* the parsed graph carries the same types, inputs and attributes */
  for (int i = 0; g2 && i < g->n; i++) {
    const Node *a = &g->nodes[i], *b = &g2->nodes[i];
    CHECK(a->op == b->op && a->dtype == b->dtype && shape_eq(&a->shape, &b->shape) && a->nin == b->nin);
    CHECK_INT(a->loc.line, b->loc.line);
    CHECK_INT(a->loc.col, b->loc.col);
  }
  ir_graph_free(g2);
  ir_graph_free(g);
}

static uint64_t bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static void test_odd_floats(void) {
  Diag d = quiet();
  const double vals[] = {-0.0, 0.0, 1e-06, 1e-05, INFINITY, -INFINITY, 0.1, 0.1 + 0.2, 1.0 / 3, -2.0 / 3, DBL_MAX,
                         -DBL_MAX, DBL_MIN, 5e-324, 2.2250738585072009e-308, 1e300, 1e15, 1e16, 1e17, 123456789.0,
                         9007199254740993.0, 100.0, 0.5, 1e21, 1.5e-300, 3.14159265358979311600};
  const int nv = (int)(sizeof vals / sizeof *vals);
  Graph *g = ir_graph_new("floats");
  for (int i = 0; i < nv; i++) ir_const(g, DT_F64, SH(1), vals[i], SRCLOC_NONE, &d);
  int n = ir_const(g, DT_F32, SH(), NAN, SRCLOC_NONE, &d);
  ir_const(g, DT_F32, SH(), -NAN, SRCLOC_NONE, &d);
  ir_weight(g, "w", DT_F64, SH(2), "uniform", vals, nv, SRCLOC_NONE, &d);
  int x = ir_input(g, "x", DT_F32, SH(2, 2), SRCLOC_NONE, &d);
  ir_pad(g, x, (int64_t[]){0, 0}, (int64_t[]){1, 1}, -INFINITY, SRCLOC_NONE, &d);
  ir_op(g, OP_LAYER_NORM, &x, 1, (Attr[]){ATTR_F("eps", 1e-12)}, 1, SRCLOC_NONE, &d);
  CHECK_INT(d.nerr, 0);
  char *s = ir_print_str(g);
  CHECK(strstr(s, "{value=-0.0}"));
  CHECK(strstr(s, "{value=1e-06}"));
  CHECK(strstr(s, "{value=inf}"));
  CHECK(strstr(s, "{value=-inf}"));
  CHECK(strstr(s, "{value=0.30000000000000004}"));
  CHECK(strstr(s, "{value=1e+16}"));
  CHECK(strstr(s, "{value=100.0}"));
  CHECK(strstr(s, "{value=123456789.0}"));
  CHECK(strstr(s, "{value=4.94065645841247e-324}")); /* %.15g already reads back */
  CHECK(strstr(s, "%26 = const {value=nan} : f32[]\n  %27 = const {value=nan} : f32[]"));
  CHECK(strstr(s, "init_args=[-0.0, 0.0, 1e-06, 1e-05, inf, -inf, 0.1, "));
  CHECK(strstr(s, "value=-inf} : f32[3,3]"));
  free(s);
  Graph *g2 = roundtrip(g);
  if (g2) {
    for (int i = 0; i < nv; i++) CHECK(bits(ir_attr_f(&g2->nodes[i], "value")) == bits(vals[i]));
    CHECK(isnan(ir_attr_f(&g2->nodes[n], "value")));
    int cnt;
    const double *fs = ir_attr_fs(&g2->nodes[n + 2], "init_args", &cnt);
    CHECK_INT(cnt, nv);
    for (int i = 0; i < nv && i < cnt; i++) CHECK(bits(fs[i]) == bits(vals[i]));
  }
  ir_graph_free(g2);
  ir_graph_free(g);
}

static void test_strings(void) {
  Diag d = quiet();
  const char *odd = "a\"b\\c\nd\te\x01\x1f\x7f \xc3\xa9#%{}";
  Graph *g = ir_graph_new("na\"me\n");
  int x = ir_input(g, odd, DT_F32, SH(2), (SrcLoc){"dir with \"quote\"/m.yaml", 3, 4}, &d);
  ir_weight(g, "w", DT_F32, SH(2), "fill\\x", NULL, 0, (SrcLoc){"", 0, 0}, &d);
  ir_add_output(g, odd, x);
  ir_add_output(g, "", x);
  CHECK_INT(d.nerr, 0);
  char *s = ir_print_str(g);
  CHECK_STR(s, "graph \"na\\\"me\\n\" {\n"
               "  %0 = input \"a\\\"b\\\\c\\nd\\te\\x01\\x1f\\x7f \xc3\xa9#%{}\" : f32[2] @\"dir with \\\"quote\\\"/m.yaml\":3:4\n"
               "  %1 = weight \"w\" {init=\"fill\\\\x\", init_args=[]} : f32[2] @\"\":0:0\n"
               "  output \"a\\\"b\\\\c\\nd\\te\\x01\\x1f\\x7f \xc3\xa9#%{}\" = %0\n"
               "  output \"\" = %0\n"
               "}\n");
  Graph *g2 = roundtrip(g);
  if (g2) {
    CHECK_STR(g2->name, "na\"me\n");
    CHECK_STR(g2->nodes[0].name, odd);
    CHECK_STR(g2->outs[0].name, odd);
    CHECK_STR(ir_attr_s(&g2->nodes[1], "init"), "fill\\x");
    CHECK_STR(g2->nodes[0].loc.file, "dir with \"quote\"/m.yaml");
  }
  free(s);
  ir_graph_free(g2);
  ir_graph_free(g);
}

/* The parser's leniency: comments, blank lines, spacing, any attribute order, defaults. */
static void test_lenient_input(void) {
  Diag d = quiet();
  const char *text = "# a hand-written graph\n"
                     "\n"
                     "graph\t\"h\"{   # the header\n"
                     "\r\n"
                     "%0=input \"x\":f32[ 2 , 3 ]@\"m.yaml\":1:2\n"
                     "   %1   =   reduce_sum ( %0 )   { keepdims = 1 , axes = [ 1 ] }  :  f32 [2,1]  # sum\n"
                     "  %2 = weight \"w\" : f64[3]\n"
                     "  %3 = reduce_max(%0) {axes=[0,1]} : f32[]\n"
                     "  %4 = pad(%0) {lo=[0,0], hi=[1,+2], value=1} : f32[3,5]\n"
                     "  %5 = weight \"v\" {init_args=[1, 2.5]} : f32[2]\n"
                     "  %6 = one_hot(%7) {depth=3} : f32[3]\n";
  /* %6 refers to an undefined value: the message names the token */
  Graph *g = ir_parse(text, "h.mir", &d);
  CHECK(!g);
  CHECK_STR(d.last, "h.mir:11:16: error: undefined value %7");
  d = quiet();
  char fixed[2048];
  snprintf(fixed, sizeof fixed, "%s", text);
  *strstr(fixed, "  %6") = 0;
  strcat(fixed, "  output \"s\"=%1   \n\n}  # done\n\n# trailing comment\n");
  g = ir_parse(fixed, "h.mir", &d);
  CHECK(g != NULL);
  if (d.nerr) fprintf(stderr, "  %s\n", d.last);
  if (g) {
    char *s = ir_print_str(g);
    CHECK_STR(s, "graph \"h\" {\n"
                 "  %0 = input \"x\" : f32[2,3] @\"m.yaml\":1:2\n"
                 "  %1 = reduce_sum(%0) {axes=[1], keepdims=1} : f32[2,1]\n"
                 "  %2 = weight \"w\" {init=\"zeros\", init_args=[]} : f64[3]\n"
                 "  %3 = reduce_max(%0) {axes=[0,1], keepdims=0} : f32[]\n"
                 "  %4 = pad(%0) {lo=[0,0], hi=[1,2], value=1.0} : f32[3,5]\n"
                 "  %5 = weight \"v\" {init=\"zeros\", init_args=[1.0, 2.5]} : f32[2]\n"
                 "  output \"s\" = %1\n"
                 "}\n");
    CHECK_INT(ir_verify(g, &d), 0);
    free(s);
  }
  ir_graph_free(g);
}

#define HDR "graph \"g\" {\n  %0 = input \"x\" : f32[2,3]\n"

/* One parse error: exactly one message, with this text. */
static void parse_err_at(int line, const char *text, const char *want) {
  Diag d = quiet();
  Graph *g = ir_parse(text, "t.mir", &d);
  if (g || d.nerr != 1 || strcmp(d.last, want)) {
    fprintf(stderr, "%s:%d: parse error case failed (%d errors)\n  got:  %s\n  want: %s\n", __FILE__, line, d.nerr,
            d.last, want);
    check_failures++;
  }
  ir_graph_free(g);
}
#define PARSE_ERR(text, want) parse_err_at(__LINE__, text, want)

static void test_parse_errors(void) {
  PARSE_ERR("", "t.mir:1:1: error: expected 'graph' at the start of the IR text, got end of file");
  PARSE_ERR("grph \"g\" {\n}\n", "t.mir:1:1: error: expected 'graph' at the start of the IR text, got 'grph'");
  PARSE_ERR("graph g {\n}\n", "t.mir:1:7: error: expected the graph's name as a quoted string, got 'g'");
  PARSE_ERR("graph \"g\"\n}\n", "t.mir:1:10: error: expected '{' after the graph's name, got end of line");
  PARSE_ERR("graph \"g\" { %0\n}\n", "t.mir:1:13: error: unexpected '%0' after '{'");
  PARSE_ERR(HDR, "t.mir:3:1: error: missing '}' at the end of the graph");
  PARSE_ERR(HDR "}\n}\n", "t.mir:4:1: error: unexpected '}' after the end of the graph");
  PARSE_ERR(HDR "} x\n", "t.mir:3:3: error: unexpected 'x' after '}'");
  PARSE_ERR(HDR "  foo\n}\n", "t.mir:3:3: error: expected a node (%id = ...), an output or '}', got 'foo'");
  PARSE_ERR(HDR "  %1 = fooo(%0) : f32[2,3]\n}\n", "t.mir:3:8: error: unknown op 'fooo'");
  PARSE_ERR(HDR "  %2 = neg(%0) : f32[2,3]\n}\n", "t.mir:3:3: error: expected node %1 here, got %2 (ids count up from %0)");
  PARSE_ERR(HDR "  %1 neg(%0) : f32[2,3]\n}\n", "t.mir:3:6: error: expected '=' after the node id, got 'neg'");
  PARSE_ERR(HDR "  %1 = neg(%1) : f32[2,3]\n}\n", "t.mir:3:12: error: undefined value %1");
  PARSE_ERR(HDR "  %1 = neg(%0 %0) : f32[2,3]\n}\n", "t.mir:3:15: error: expected ')' after the inputs, got '%0'");
  PARSE_ERR(HDR "  %1 = neg(x) : f32[2,3]\n}\n", "t.mir:3:12: error: expected an input (%id), got 'x'");
  PARSE_ERR(HDR "  %1 = neg() : f32[2,3]\n}\n", "t.mir:3:12: error: expected an input (%id), got ')'");
  PARSE_ERR(HDR "  %1 = neg(%0, %0) : f32[2,3]\n}\n", "t.mir:3:8: error: neg: takes 1 input, got 2");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,2]\n}\n", "t.mir:3:18: error: %1: written type f32[2,2] but neg gives f32[2,3]");
  PARSE_ERR(HDR "  %1 = lt(%0, %0) : f32[2,3]\n}\n", "t.mir:3:21: error: %1: written type f32[2,3] but lt gives bool[2,3]");
  PARSE_ERR(HDR "  %1 = reshape(%0) {shape=[4]} : f32[4]\n}\n",
            "t.mir:3:8: error: reshape: cannot reshape [2,3] (6 elements) to [4] (4 elements)");
  PARSE_ERR(HDR "  %1 = neg(%0) : f16[2,3]\n}\n", "t.mir:3:18: error: unknown dtype 'f16'");
  PARSE_ERR(HDR "  %1 = neg(%0) : i64[2,3]\n}\n", "t.mir:3:18: error: dtype i64 cannot appear in a graph");
  PARSE_ERR(HDR "  %1 = neg(%0) f32[2,3]\n}\n", "t.mir:3:16: error: expected ':' and the node's type, got 'f32'");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32\n}\n", "t.mir:3:21: error: expected '[' after the dtype, got end of line");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2;3]\n}\n", "t.mir:3:23: error: unexpected character ';'");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,-3]\n}\n", "t.mir:3:24: error: dimension -3 is negative");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3.0]\n}\n", "t.mir:3:24: error: expected a dimension, got '3.0'");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[1,1,1,1,1,1,1,1,1]\n}\n", "t.mir:3:38: error: a shape has at most 8 dimensions");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3] junk\n}\n", "t.mir:3:27: error: unexpected 'junk' after the node");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3] @\"f.yaml\":1\n}\n",
            "t.mir:3:38: error: expected ':' after the line number, got end of line");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3] @f.yaml:1:2\n}\n",
            "t.mir:3:28: error: expected a quoted file name after '@', got 'f'");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3] @\"f.yaml\":-1:2\n}\n",
            "t.mir:3:37: error: expected a line number, got -1");
  /* attributes */
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) : f32[2]\n}\n", "t.mir:3:8: error: reduce_sum: missing attribute 'axes'");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axis=[1]} : f32[2]\n}\n", "t.mir:3:24: error: reduce_sum: unknown attribute 'axis'");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=1} : f32[2]\n}\n",
            "t.mir:3:29: error: reduce_sum: attribute 'axes' must be an int list");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[1.0]} : f32[2]\n}\n",
            "t.mir:3:30: error: reduce_sum: attribute 'axes' must be an int list");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[1], keepdims=1.0} : f32[2]\n}\n",
            "t.mir:3:43: error: reduce_sum: attribute 'keepdims' must be an int");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[1], axes=[1]} : f32[2]\n}\n",
            "t.mir:3:34: error: reduce_sum: attribute 'axes' is given twice");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[1] keepdims=0} : f32[2]\n}\n",
            "t.mir:3:33: error: expected ',' or '}' after an attribute, got 'keepdims'");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[1 2]} : f32[2]\n}\n",
            "t.mir:3:32: error: expected ',' or ']' in a list, got '2'");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes [1]} : f32[2]\n}\n",
            "t.mir:3:29: error: expected '=' after the attribute name, got '['");
  PARSE_ERR(HDR "  %1 = reduce_sum(%0) {axes=[99999999999999999999]} : f32[2]\n}\n",
            "t.mir:3:30: error: integer 99999999999999999999 is out of range");
  PARSE_ERR(HDR "  %1 = cast(%0) {to=f16} : f32[2,3]\n}\n", "t.mir:3:21: error: unknown dtype 'f16'");
  PARSE_ERR(HDR "  %1 = cast(%0) {to=\"f32\"} : f32[2,3]\n}\n", "t.mir:3:21: error: cast: attribute 'to' must be a dtype");
  PARSE_ERR(HDR "  %1 = cast(%0) {to=i64} : i32[2,3]\n}\n", "t.mir:3:8: error: cast: dtype i64 cannot appear in a graph");
  PARSE_ERR(HDR "  %1 = const {value=1e999} : f32[]\n}\n", "t.mir:3:21: error: float 1e999 is out of range");
  PARSE_ERR(HDR "  %1 = const {value=1.2.3} : f32[]\n}\n", "t.mir:3:21: error: expected a number, got '1.2.3'");
  PARSE_ERR(HDR "  %1 = const {value=x} : f32[]\n}\n", "t.mir:3:21: error: const: attribute 'value' must be a float");
  PARSE_ERR(HDR "  %1 = weight \"w\" {init=zeros} : f32[2]\n}\n",
            "t.mir:3:25: error: weight: attribute 'init' must be a string");
  PARSE_ERR(HDR "  %1 = weight \"w\" {init_args=[\"a\"]} : f32[2]\n}\n", "t.mir:3:31: error: expected a number, got a string");
  /* names */
  PARSE_ERR(HDR "  %1 = input : f32[2]\n}\n",
            "t.mir:3:14: error: input: expected the input's name as a quoted string, got ':'");
  PARSE_ERR(HDR "  %1 = const \"c\" {value=0.0} : f32[2]\n}\n", "t.mir:3:14: error: const: only input and weight nodes have a name");
  PARSE_ERR(HDR "  %1 = weight \"x\" : f32[2]\n}\n", "t.mir:3:15: error: weight name 'x' is already used by %0");
  PARSE_ERR(HDR "  %1 = input \"\" : f32[2]\n}\n", "t.mir:3:8: error: input: needs a name");
  PARSE_ERR(HDR "  %1 = weight \"w\" : i32[2]\n}\n", "t.mir:3:8: error: weight 'w': dtype must be f32 or f64");
  /* strings and lexing */
  PARSE_ERR(HDR "  %1 = input \"abc : f32[2]\n}\n", "t.mir:3:14: error: unterminated string");
  PARSE_ERR(HDR "  %1 = input \"ab\\", "t.mir:3:14: error: unterminated string");
  PARSE_ERR(HDR "  %1 = input \"a\\qb\" : f32[2]\n}\n", "t.mir:3:16: error: unknown escape '\\q' in a string");
  PARSE_ERR(HDR "  %1 = input \"a\\x4\" : f32[2]\n}\n", "t.mir:3:16: error: \\x in a string needs two hex digits");
  PARSE_ERR(HDR "  %1 = input \"a\\x00\" : f32[2]\n}\n", "t.mir:3:16: error: a string cannot contain a NUL byte (\\x00)");
  PARSE_ERR(HDR "  %x = neg(%0) : f32[2,3]\n}\n", "t.mir:3:3: error: expected a node id (digits) after '%'");
  PARSE_ERR(HDR "  %99999999999 = neg(%0) : f32[2,3]\n}\n", "t.mir:3:3: error: node id is too large");
  PARSE_ERR(HDR "  %1 = neg(%0) : f32[2,3] \x01\n}\n", "t.mir:3:27: error: unexpected byte 0x01");
  /* outputs */
  PARSE_ERR(HDR "  output \"y\" = %1\n}\n", "t.mir:3:16: error: undefined value %1");
  PARSE_ERR(HDR "  output \"y\" = %0\n  output \"y\" = %0\n}\n", "t.mir:4:10: error: duplicate output 'y'");
  PARSE_ERR(HDR "  output y = %0\n}\n", "t.mir:3:10: error: expected the output's name as a quoted string, got 'y'");
  PARSE_ERR(HDR "  output \"y\" %0\n}\n", "t.mir:3:14: error: expected '=' after the output's name, got '%0'");
  PARSE_ERR(HDR "  output \"y\" = 0\n}\n", "t.mir:3:16: error: expected a node id (%id), got '0'");
  PARSE_ERR(HDR "  output \"y\" = %0 %0\n}\n", "t.mir:3:19: error: unexpected '%0' after the output");
  PARSE_ERR(HDR "  output \"y\" = %0\n  %1 = neg(%0) : f32[2,3]\n}\n", "t.mir:4:3: error: nodes must come before the outputs");
  /* a NULL file name still gives a located message */
  Diag d = quiet();
  CHECK(!ir_parse("graph", NULL, &d));
  CHECK_STR(d.last, "<ir>:1:6: error: expected the graph's name as a quoted string, got end of file");
}

static void test_parse_file(void) {
  char path[] = "/tmp/mimic_irtext_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  const char *text = "graph \"f\" {\n  %0 = input \"x\" : bool[]\n  %1 = not(%0) : bool[]\n  output \"y\" = %1\n}\n";
  CHECK_INT(write(fd, text, strlen(text)), strlen(text));
  close(fd);
  Diag d = quiet();
  Graph *g = ir_parse_file(path, &d);
  CHECK(g != NULL);
  if (g) {
    char *s = ir_print_str(g);
    CHECK_STR(s, text);
    free(s);
  }
  ir_graph_free(g);
  /* NUL bytes are refused rather than silently cutting the text short */
  FILE *f = fopen(path, "wb");
  fwrite("graph \"f\" {\n}\n\0x", 1, 16, f);
  fclose(f);
  CHECK(!ir_parse_file(path, &d));
  char want[128];
  snprintf(want, sizeof want, "%s: error: the file contains a NUL byte", path);
  CHECK_STR(d.last, want);
  unlink(path);
  CHECK(!ir_parse_file("/nonexistent/x.mir", &d));
  CHECK_STR(d.last, "/nonexistent/x.mir: error: cannot open: No such file or directory");
}

/* ---- the verifier, on graphs corrupted in memory ---- */

/* %0 x f32[2,2], %1 w f32[2,2], %2 add, %3 reduce_sum, %4 cast; outputs "y" and "z". */
static Graph *small(void) {
  Diag d = quiet();
  Graph *g = ir_graph_new("v");
  int x = ir_input(g, "x", DT_F32, SH(2, 2), L(1, 1), &d);
  int w = ir_weight(g, "w", DT_F32, SH(2, 2), NULL, NULL, 0, L(2, 1), &d);
  int a = ir_binary(g, OP_ADD, x, w, L(30, 7), &d);
  int r = ir_reduce(g, OP_REDUCE_SUM, a, (int64_t[]){1}, 1, 0, L(31, 1), &d);
  ir_cast(g, r, DT_I32, SRCLOC_NONE, &d);
  ir_add_output(g, "y", a);
  ir_add_output(g, "z", 4);
  CHECK_INT(d.nerr, 0);
  return g;
}

/* Verifies g, expecting `nerr` messages, the last one `want`; frees g. */
static void verify_err_at(int line, Graph *g, int nerr, const char *want) {
  Diag d = quiet();
  int rc = ir_verify(g, &d);
  if (rc != -1 || d.nerr != nerr || strcmp(d.last, want)) {
    fprintf(stderr, "%s:%d: verify case failed (rc %d, %d errors)\n  got:  %s\n  want: %s\n", __FILE__, line, rc,
            d.nerr, d.last, want);
    check_failures++;
  }
  ir_graph_free(g);
}
#define VERIFY_ERR(g, nerr, want) verify_err_at(__LINE__, g, nerr, want)

static void test_verify(void) {
  Diag d = quiet();
  Graph *g = small();
  CHECK_INT(ir_verify(g, &d), 0);
  CHECK_INT(d.nerr, 0);
  ir_graph_free(g);

  g = small();
  g->nodes[2].shape = SH(2, 3);
  VERIFY_ERR(g, 1, "graphs/t.yaml:30:7: error: verify: %2 (add): stored shape [2,3] but the rule gives [2,2]");
  g = small();
  g->nodes[2].dtype = DT_F64;
  /* each node is checked against its inputs' stored types, so %3 objects too */
  VERIFY_ERR(g, 2, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): stored dtype f32 but the rule gives f64");
  g = small();
  g->nodes[4].dtype = DT_I64;
  VERIFY_ERR(g, 1, "mimic: error: verify: %4 (cast): stored dtype i64 cannot appear in a graph");
  g = small();
  g->nodes[1].dtype = DT_BF16;
  VERIFY_ERR(g, 1, "graphs/t.yaml:2:1: error: verify: %1 (weight): stored dtype bf16 cannot appear in a graph");
  g = small();
  g->nodes[0].shape.d[1] = -2;
  VERIFY_ERR(g, 1, "graphs/t.yaml:1:1: error: verify: %0 (input): stored shape has rank 2 or a negative extent");
  g = small();
  g->nodes[2].in = (const int[]){0, 2};
  VERIFY_ERR(g, 1, "graphs/t.yaml:30:7: error: verify: %2 (add): input 1 is %2, which is not an earlier node");
  g = small();
  g->nodes[2].in = (const int[]){-1, 7};
  VERIFY_ERR(g, 2, "graphs/t.yaml:30:7: error: verify: %2 (add): input 1 is %7, which is not an earlier node");
  g = small();
  g->nodes[2].nin = 1;
  VERIFY_ERR(g, 1, "graphs/t.yaml:30:7: error: verify: %2 (add): has 1 inputs but the op takes 2");
  g = small();
  g->nodes[0].nin = 1;
  g->nodes[0].in = (const int[]){0};
  VERIFY_ERR(g, 2, "graphs/t.yaml:1:1: error: verify: %0 (input): input 0 is %0, which is not an earlier node");
  g = small();
  g->nodes[3].nattr = 1;
  VERIFY_ERR(g, 1, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): has 1 attributes but the op has 2");
  /* attributes: key, order, kind, and values the rule rejects */
  Attr swapped[2] = {ATTR_I("keepdims", 0), ATTR_IS("axes", (int64_t[]){1}, 1)};
  g = small();
  g->nodes[3].attr = swapped;
  VERIFY_ERR(g, 2, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): attribute 1 is 'axes' but the op table says 'keepdims'");
  Attr kind[2] = {ATTR_IS("axes", (int64_t[]){1}, 1), ATTR_F("keepdims", 0)};
  g = small();
  g->nodes[3].attr = kind;
  VERIFY_ERR(g, 1, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): attribute 'keepdims' is a float but must be a int");
  Attr axis5[2] = {ATTR_IS("axes", (int64_t[]){5}, 1), ATTR_I("keepdims", 0)};
  g = small();
  g->nodes[3].attr = axis5;
  VERIFY_ERR(g, 1, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): reduce_sum: axis 5 is out of range for shape [2,2]");
  Attr keep[2] = {ATTR_IS("axes", (int64_t[]){1}, 1), ATTR_I("keepdims", 1)};
  g = small();
  g->nodes[3].attr = keep;
  VERIFY_ERR(g, 1, "graphs/t.yaml:31:1: error: verify: %3 (reduce_sum): stored shape [2] but the rule gives [2,1]");
  Attr to[1] = {ATTR_DT("to", DT_I64)};
  g = small();
  g->nodes[4].attr = to;
  VERIFY_ERR(g, 1, "mimic: error: verify: %4 (cast): cast: dtype i64 cannot appear in a graph");
  Attr nul[1] = {{.key = "to", .kind = AK_DTYPE, .v.dt = (DType)99}};
  g = small();
  g->nodes[4].attr = nul;
  VERIFY_ERR(g, 1, "mimic: error: verify: %4 (cast): attribute 'to' has a malformed value");
  /* names and outputs */
  g = small();
  g->nodes[1].name = "x";
  VERIFY_ERR(g, 1, "graphs/t.yaml:2:1: error: verify: %1 (weight): name 'x' is already used by %0");
  g = small();
  g->nodes[2].name = "sum";
  VERIFY_ERR(g, 1, "graphs/t.yaml:30:7: error: verify: %2 (add): only input and weight nodes have a name, but this one is 'sum'");
  g = small();
  g->nodes[0].name = NULL;
  VERIFY_ERR(g, 1, "graphs/t.yaml:1:1: error: verify: %0 (input): input: needs a name");
  g = small();
  g->outs[1].id = 5;
  VERIFY_ERR(g, 1, "mimic: error: verify: output 'z' refers to %5, which does not exist");
  g = small();
  g->outs[1].name = "y";
  VERIFY_ERR(g, 1, "mimic: error: verify: output name 'y' is used twice (outputs 0 and 1)");
  g = small();
  g->nodes[2].op = (OpKind)200;
  VERIFY_ERR(g, 1, "graphs/t.yaml:30:7: error: verify: %2: op 200 is not in the op table");
  /* several problems, one message each */
  g = small();
  g->nodes[2].shape = SH(7);
  g->nodes[3].dtype = DT_BOOL;
  g->outs[0].id = -1;
  VERIFY_ERR(g, 3, "mimic: error: verify: output 'y' refers to %-1, which does not exist");
}

/* Damaged text never crashes the parser and gives exactly one error: every prefix of a
 * printed graph, and the text with each byte deleted in turn. What still parses verifies. */
static void test_damaged_text(void) {
  Graph *g = every_op_graph();
  char *text = ir_print_str(g);
  size_t len = strlen(text);
  char *buf = malloc(len + 1);
  int bad = 0;
  for (size_t cut = 0; cut < 2 * len; cut++) {
    size_t k = cut % len;
    if (cut < len) {
      memcpy(buf, text, k); /* prefix */
      buf[k] = 0;
    } else {
      memcpy(buf, text, k); /* deletion of byte k */
      memcpy(buf + k, text + k + 1, len - k);
    }
    Diag d = quiet();
    Graph *p = ir_parse(buf, "cut.mir", &d);
    if (p ? d.nerr != 0 || ir_verify(p, &d) : d.nerr != 1) bad++;
    ir_graph_free(p);
  }
  CHECK_INT(bad, 0);
  free(buf);
  free(text);
  ir_graph_free(g);
}

int main(void) {
  RUN(test_exact_text);
  RUN(test_every_op);
  RUN(test_odd_floats);
  RUN(test_strings);
  RUN(test_lenient_input);
  RUN(test_parse_errors);
  RUN(test_parse_file);
  RUN(test_damaged_text);
  RUN(test_verify);
  return CHECK_DONE();
}
