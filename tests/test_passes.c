/* test_passes.c — the pass infrastructure: the pipeline list and lookup, pass_run with
 * --after and --verify-each, pass_run_list, dead-code elimination, output pruning and the
 * graph copy every pass is built on. (Each decomposition rule: test_decompose.c.) */
#include <stdint.h>

#include "check.h"
#include "pass.h"

/* Sources are made at line 1, everything else at line 7. */
static const SrcLoc SRC = {"t.yaml", 1, 1};
static const SrcLoc LOC = {"t.yaml", 7, 3};

#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static int input(Graph *g, const char *name, DType t, Shape s) {
  Diag d;
  diag_init(&d);
  return ir_input(g, name, t, s, SRC, &d);
}

static int op(Graph *g, OpKind k, const int *in, int nin, const Attr *at, int nat) {
  Diag d;
  diag_init(&d);
  int r = ir_op(g, k, in, nin, at, nat, LOC, &d);
  CHECK(r >= 0);
  return r;
}

static int has_high(const Graph *g) {
  for (int i = 0; i < g->n; i++)
    if (!op_is_primitive(g->nodes[i].op)) return 1;
  return 0;
}

static int count_op(const Graph *g, OpKind k) {
  int c = 0;
  for (int i = 0; i < g->n; i++) c += g->nodes[i].op == k;
  return c;
}

static int has_input(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if ((g->nodes[i].op == OP_INPUT || g->nodes[i].op == OP_WEIGHT) && !strcmp(g->nodes[i].name, name)) return 1;
  return 0;
}

/* x, an unused input u, a weight w; y = relu(linear(x, w)); a dead exp(x). */
static Graph *small_model(void) {
  Graph *g = ir_graph_new("small");
  Diag d;
  diag_init(&d);
  int x = input(g, "x", DT_F32, SH(2, 4));
  input(g, "u", DT_F32, SH(3));
  int w = ir_weight(g, "w", DT_F32, SH(3, 4), "zeros", NULL, 0, SRC, &d);
  ir_unary(g, OP_EXP, x, LOC, &d);
  int y = op(g, OP_RELU, (int[]){op(g, OP_LINEAR, (int[]){x, w}, 2, NULL, 0)}, 1, NULL, 0);
  ir_add_output(g, "y", y);
  return g;
}

static void test_pipeline_list(void) {
  int n = 0;
  const Pass *ps = pass_list(&n);
  CHECK_INT(n, 3);
  CHECK_STR(ps[0].name, "decompose");
  CHECK_STR(ps[1].name, "permute");
  CHECK_STR(ps[2].name, "dce");
  for (int i = 0; i < n; i++) CHECK(ps[i].summary && ps[i].run && pass_lookup(ps[i].name) == &ps[i]);
  CHECK(pass_lookup("nope") == NULL);
  CHECK(pass_lookup("frontend") == NULL);
  CHECK(pass_lookup(NULL) == NULL);
}

static void test_pass_run(void) {
  Graph *g = small_model();
  Diag d;
  diag_init(&d);
  Graph *f = pass_run(g, "frontend", 1, &d);
  CHECK(f && f->n == g->n && has_high(f) && f->nout == 1);
  ir_graph_free(f);

  Graph *a = pass_run(g, "decompose", 1, &d);
  CHECK(a && !has_high(a) && has_input(a, "u") && count_op(a, OP_EXP) == 1);
  ir_graph_free(a);

  Graph *all = pass_run(g, NULL, 1, &d);
  CHECK(all && !has_high(all) && !has_input(all, "u") && has_input(all, "x") && has_input(all, "w"));
  CHECK(all && count_op(all, OP_EXP) == 0 && all->nout == 1 && !strcmp(all->outs[0].name, "y"));
  CHECK_INT(d.nerr, 0);

  Graph *l = pass_run_list(g, " decompose , dce ", 1, &d);
  CHECK(l && all && l->n == all->n);
  for (int i = 0; l && all && i < l->n && i < all->n; i++) CHECK_INT(l->nodes[i].op, all->nodes[i].op);
  ir_graph_free(l);
  ir_graph_free(all);

  Graph *only = pass_run_list(g, "dce", 0, &d); /* dce alone keeps the high-level ops */
  CHECK(only && has_high(only) && !has_input(only, "u") && count_op(only, OP_EXP) == 0);
  ir_graph_free(only);
  Graph *none = pass_run_list(g, "", 0, &d);
  CHECK(none && none->n == g->n);
  ir_graph_free(none);
  CHECK_INT(d.nerr, 0);

  d.quiet = 1;
  CHECK(pass_run(g, "fuse", 0, &d) == NULL);
  CHECK(strstr(d.last, "unknown pass 'fuse'") != NULL);
  const char *bad[] = {"decompose,,dce", "decompose,", ",dce", "dce,bogus"};
  for (int i = 0; i < 4; i++) {
    int before = d.nerr;
    CHECK(pass_run_list(g, bad[i], 0, &d) == NULL);
    CHECK(d.nerr > before);
  }
  CHECK(strstr(d.last, "unknown pass 'bogus'") != NULL);
  ir_graph_free(g);
}

/* verify_each names the stage whose output is broken: here the input itself. */
static void test_verify_each(void) {
  Graph *g = small_model();
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  g->nodes[g->outs[0].id].shape.d[0] = 99; /* corrupt the output's recorded shape */
  CHECK(pass_run(g, NULL, 1, &d) == NULL);
  CHECK(strstr(d.last, "frontend") != NULL);
  ir_graph_free(g);
}

/* dce keeps what the outputs need, in the original order, with names and locations;
 * an output may be an input itself; a graph without outputs becomes empty. */
static void test_dce(void) {
  Graph *g = ir_graph_new("d");
  Diag d;
  diag_init(&d);
  int x = input(g, "x", DT_F32, SH(4));
  input(g, "unused", DT_F32, SH(4));
  int c = ir_const(g, DT_F32, SH(4), 2.0, LOC, &d);
  ir_binary(g, OP_ADD, x, c, LOC, &d); /* dead */
  int e = ir_unary(g, OP_NEG, ir_unary(g, OP_EXP, x, LOC, &d), LOC, &d);
  ir_add_output(g, "e", e);
  ir_add_output(g, "x", x);
  Graph *p = pass_dce(g, &d);
  CHECK(p && p->n == 3 && p->nout == 2);
  if (p && p->n == 3) {
    CHECK(p->nodes[0].op == OP_INPUT && !strcmp(p->nodes[0].name, "x") && p->nodes[0].loc.line == 1);
    CHECK(p->nodes[1].op == OP_EXP && p->nodes[2].op == OP_NEG && p->nodes[2].loc.line == 7);
    CHECK(p->outs[0].id == 2 && !strcmp(p->outs[0].name, "e") && p->outs[1].id == 0);
    CHECK_INT(ir_verify(p, &d), 0);
  }
  ir_graph_free(p);
  g->nout = 0;
  p = pass_dce(g, &d);
  CHECK(p && p->n == 0 && p->nout == 0);
  ir_graph_free(p);
  CHECK_INT(d.nerr, 0);
  ir_graph_free(g);
}

static void test_prune(void) {
  Graph *g = ir_graph_new("p");
  Diag d;
  diag_init(&d);
  int a = input(g, "a", DT_F32, SH(3)), b = input(g, "b", DT_F32, SH(3));
  int w1 = ir_weight(g, "w1", DT_F32, SH(3), "zeros", NULL, 0, SRC, &d);
  int w2 = ir_weight(g, "w2", DT_F32, SH(3), "zeros", NULL, 0, SRC, &d);
  int y1 = ir_binary(g, OP_MUL, a, w1, LOC, &d), y2 = ir_binary(g, OP_ADD, b, w2, LOC, &d);
  ir_add_output(g, "y1", y1);
  ir_add_output(g, "y2", y2);
  ir_add_output(g, "y1again", y1);

  Graph *p = pass_prune(g, (const char *const[]){"y2"}, 1, &d);
  CHECK(p && p->n == 3 && p->nout == 1 && !strcmp(p->outs[0].name, "y2"));
  CHECK(p && has_input(p, "b") && has_input(p, "w2") && !has_input(p, "a") && !has_input(p, "w1"));
  CHECK(p && ir_verify(p, &d) == 0);
  ir_graph_free(p);

  p = pass_prune(g, (const char *const[]){"y2", "y1", "y2"}, 3, &d); /* requested order, once each */
  CHECK(p && p->n == 6 && p->nout == 2 && !strcmp(p->outs[0].name, "y2") && !strcmp(p->outs[1].name, "y1"));
  ir_graph_free(p);

  p = pass_prune(g, NULL, 0, &d); /* all outputs: nothing is dead */
  CHECK(p && p->n == 6 && p->nout == 3 && p->outs[0].id == p->outs[2].id);
  ir_graph_free(p);
  CHECK_INT(d.nerr, 0);

  d.quiet = 1;
  CHECK(pass_prune(g, (const char *const[]){"y3"}, 1, &d) == NULL);
  CHECK(strstr(d.last, "unknown output 'y3'") != NULL && strstr(d.last, "y1, y2") != NULL);
  ir_graph_free(g);
}

static void test_copy(void) {
  Graph *g = small_model();
  Diag d;
  diag_init(&d);
  Graph *c = pass_copy(g, &d);
  CHECK(c && c->n == g->n && c->nout == g->nout && !strcmp(c->name, "small"));
  for (int i = 0; c && i < c->n; i++) {
    CHECK_INT(c->nodes[i].op, g->nodes[i].op);
    CHECK(shape_eq(&c->nodes[i].shape, &g->nodes[i].shape));
    CHECK_INT(c->nodes[i].loc.line, g->nodes[i].loc.line);
  }
  ir_graph_free(c);
  ir_graph_free(g);
}

int main(void) {
  RUN(test_pipeline_list);
  RUN(test_pass_run);
  RUN(test_verify_each);
  RUN(test_dce);
  RUN(test_prune);
  RUN(test_copy);
  return CHECK_DONE();
}
