/* test_shapes.c — the builder's dtype and shape rules (shapes.c through ir_emit): for
 * every op at least one good case, checked for the inferred dtype and shape, and bad
 * cases, checked for the exact message and its location. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ir/ir.h"

/* One graph under test and its quiet diagnostics. */
typedef struct T {
  Graph *g;
  Diag d;
  int inputs; /* inputs made so far, for their names */
} T;

static const SrcLoc LOC = {"m.yaml", 5, 3};
#define AT_LOC "m.yaml:5:3: error: "

static T start(void) {
  T t = {.g = ir_graph_new("shapes")};
  diag_init(&t.d);
  t.d.quiet = 1;
  return t;
}

#define SH(...) shape_of(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})
#define IN(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__}
#define AT(...) (int)(sizeof((Attr[]){__VA_ARGS__}) / sizeof(Attr)), (Attr[]){__VA_ARGS__}
#define NOAT 0, NULL
#define INTS(k, ...) ATTR_IS(k, ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define NOINTS(k) ATTR_IS(k, NULL, 0)

/* A fresh graph input of this type. */
static int in(T *t, DType dt, Shape s) {
  char name[16];
  snprintf(name, sizeof name, "in%d", t->inputs++);
  return ir_input(t->g, name, dt, s, LOC, &t->d);
}

static int op(T *t, OpKind k, int nin, const int *ins, int nat, const Attr *at) {
  return ir_op(t->g, k, ins, nin, at, nat, LOC, &t->d);
}

static void ok_at(T *t, int line, int id, DType dt, Shape s) {
  char b1[64], b2[64];
  if (id < 0) {
    fprintf(stderr, "%s:%d: expected a node, got the error: %s\n", __FILE__, line, t->d.last);
    check_failures++;
    return;
  }
  const Node *n = &t->g->nodes[id];
  if (n->dtype != dt || !shape_eq(&n->shape, &s)) {
    fprintf(stderr, "%s:%d: got %s%s, want %s%s\n", __FILE__, line, dtype_name(n->dtype),
            shape_str(&n->shape, b1, sizeof b1), dtype_name(dt), shape_str(&s, b2, sizeof b2));
    check_failures++;
  }
}

static void bad_at(T *t, int line, int id, const char *msg) {
  char want[512];
  snprintf(want, sizeof want, AT_LOC "%s", msg);
  if (id != -1 || strcmp(t->d.last, want)) {
    fprintf(stderr, "%s:%d: bad case (id %d)\n  got:  %s\n  want: %s\n", __FILE__, line, id, t->d.last, want);
    check_failures++;
  }
  t->d.last[0] = 0;
}

#define OK(expr, dt, ...) ok_at(&t, __LINE__, (expr), dt, SH(__VA_ARGS__))
#define OK0(expr, dt) ok_at(&t, __LINE__, (expr), dt, shape_scalar())
#define BAD(expr, msg) bad_at(&t, __LINE__, (expr), msg)

static void finish(T *t) {
  /* every graph the builder made, bad cases and all, must still verify */
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  CHECK_INT(ir_verify(t->g, &d), 0);
  if (d.nerr) fprintf(stderr, "  %s\n", d.last);
  ir_graph_free(t->g);
}

static void test_sources(void) {
  T t = start();
  OK(in(&t, DT_F32, SH(2, 3)), DT_F32, 2, 3);
  OK0(in(&t, DT_BOOL, shape_scalar()), DT_BOOL);
  BAD(in(&t, DT_I64, SH(2)), "input: dtype i64 cannot appear in a graph");
  BAD(in(&t, DT_F32, SH(2, -1)), "input: negative extent in shape [2,-1]");
  BAD(ir_input(t.g, "", DT_F32, SH(2), LOC, &t.d), "input: needs a name");
  BAD(ir_input(t.g, NULL, DT_F32, SH(2), LOC, &t.d), "input: needs a name");
  OK(ir_weight(t.g, "w", DT_F64, SH(4), "ones", NULL, 0, LOC, &t.d), DT_F64, 4);
  BAD(ir_weight(t.g, "wi", DT_I32, SH(4), NULL, NULL, 0, LOC, &t.d), "weight 'wi': dtype must be f32 or f64");
  OK0(ir_const(t.g, DT_BOOL, shape_scalar(), 1, LOC, &t.d), DT_BOOL);
  OK(ir_const(t.g, DT_I32, SH(0, 3), 7, LOC, &t.d), DT_I32, 0, 3);
  BAD(ir_const(t.g, DT_BF16, SH(2), 0, LOC, &t.d), "const: dtype bf16 cannot appear in a graph");
  NodeSpec sp = {.op = OP_CONST, .dtype = DT_F32, .loc = LOC};
  BAD(ir_emit(t.g, &sp, &t.d), "const: missing attribute 'value'");
  OK(ir_iota(t.g, DT_I32, SH(2, 3), 1, LOC, &t.d), DT_I32, 2, 3);
  OK(ir_iota(t.g, DT_F32, SH(4), 0, LOC, &t.d), DT_F32, 4);
  BAD(ir_iota(t.g, DT_I32, SH(2, 3), 2, LOC, &t.d), "iota: axis 2 is out of range for shape [2,3]");
  BAD(ir_iota(t.g, DT_BOOL, SH(2), 0, LOC, &t.d), "iota: dtype bool is not allowed");
  finish(&t);
}

/* Attribute handling in ir_emit, common to all ops. */
static void test_builder(void) {
  T t = start();
  int x = in(&t, DT_F32, SH(2, 3));
  BAD(op(&t, OP_REDUCE_SUM, IN(x), AT(INTS("axis", 1))), "reduce_sum: unknown attribute 'axis'");
  BAD(op(&t, OP_REDUCE_SUM, IN(x), AT(ATTR_I("axes", 1))), "reduce_sum: attribute 'axes' must be an int list");
  BAD(op(&t, OP_CAST, IN(x), AT(ATTR_S("to", "f32"))), "cast: attribute 'to' must be a dtype");
  BAD(op(&t, OP_SOFTMAX, IN(x), AT(ATTR_F("axis", 1.0))), "softmax: attribute 'axis' must be an int");
  /* through ir_op a source gets the spec's zero type, f32[] */
  OK0(ir_op(t.g, OP_CONST, NULL, 0, (Attr[]){ATTR_F("value", 3)}, 1, LOC, &t.d), DT_F32);
  NodeSpec sp = {.op = OP_CONST, .attr = (Attr[]){ATTR_I("value", 3)}, .nattr = 1, .dtype = DT_F32, .loc = LOC};
  int k = ir_emit(t.g, &sp, &t.d);
  OK0(k, DT_F32); /* an int is taken where a float is expected */
  CHECK(k >= 0 && ir_attr(&t.g->nodes[k], "value")->kind == AK_FLOAT && ir_attr_f(&t.g->nodes[k], "value") == 3.0);
  int w = ir_weight(t.g, "w", DT_F32, SH(2), "u", NULL, 0, LOC, &t.d);
  (void)w;
  sp = (NodeSpec){.op = OP_WEIGHT, .attr = (Attr[]){INTS("init_args", 1, 2)}, .nattr = 1, .dtype = DT_F32,
                  .shape = &(Shape){0}, .name = "w2", .loc = LOC};
  k = ir_emit(t.g, &sp, &t.d);
  int cnt = 0;
  const double *fs = k >= 0 ? ir_attr_fs(&t.g->nodes[k], "init_args", &cnt) : NULL;
  CHECK(cnt == 2 && fs[0] == 1.0 && fs[1] == 2.0);
  /* defaults fill missing attributes, in table order */
  int r = op(&t, OP_ONE_HOT, IN(in(&t, DT_I32, SH(3))), AT(ATTR_I("depth", 4)));
  OK(r, DT_F32, 3, 4);
  CHECK(r >= 0 && t.g->nodes[r].nattr == 2 && !strcmp(t.g->nodes[r].attr[1].key, "dtype"));
  BAD(op(&t, OP_NEG, IN(x, x), NOAT), "neg: takes 1 input, got 2");
  BAD(op(&t, OP_LAYER_NORM, IN(x, x, x, x), NOAT), "layer_norm: takes 1 to 3 inputs, got 4");
  BAD(op(&t, OP_CONCAT, 0, NULL, AT(ATTR_I("axis", 0))), "concat: takes at least 1 input, got 0");
  BAD(op(&t, OP_NEG, IN(99), NOAT), "neg: input 0 refers to a node that does not exist yet");
  /* a failed input is not reported again */
  int before = t.d.nerr;
  CHECK_INT(ir_unary(t.g, OP_NEG, -1, LOC, &t.d), -1);
  CHECK_INT(ir_binary_bc(t.g, OP_ADD, x, -1, LOC, &t.d), -1);
  CHECK_INT(t.d.nerr, before);
  finish(&t);
}

static void test_unary(void) {
  T t = start();
  int f = in(&t, DT_F32, SH(2, 3)), d = in(&t, DT_F64, SH(4)), i = in(&t, DT_I32, SH(5)), b = in(&t, DT_BOOL, SH(2));
  const OpKind flt[] = {OP_EXP, OP_LOG, OP_SQRT, OP_RSQRT, OP_TANH, OP_ERF, OP_RECIP, OP_FLOOR};
  for (size_t k = 0; k < sizeof flt / sizeof *flt; k++) {
    OK(ir_unary(t.g, flt[k], f, LOC, &t.d), DT_F32, 2, 3);
    OK(ir_unary(t.g, flt[k], d, LOC, &t.d), DT_F64, 4);
    char want[64];
    snprintf(want, sizeof want, "%s: needs f32 or f64, got i32", op_info(flt[k])->name);
    BAD(ir_unary(t.g, flt[k], i, LOC, &t.d), want);
  }
  OK(ir_unary(t.g, OP_NEG, i, LOC, &t.d), DT_I32, 5);
  OK(ir_unary(t.g, OP_ABS, f, LOC, &t.d), DT_F32, 2, 3);
  BAD(ir_unary(t.g, OP_NEG, b, LOC, &t.d), "neg: needs a number type, got bool");
  BAD(ir_unary(t.g, OP_ABS, b, LOC, &t.d), "abs: needs a number type, got bool");
  OK(ir_unary(t.g, OP_NOT, b, LOC, &t.d), DT_BOOL, 2);
  BAD(ir_unary(t.g, OP_NOT, f, LOC, &t.d), "not: needs bool, got f32");
  OK(ir_cast(t.g, f, DT_I32, LOC, &t.d), DT_I32, 2, 3);
  OK(ir_cast(t.g, b, DT_F64, LOC, &t.d), DT_F64, 2);
  CHECK_INT(ir_cast(t.g, f, DT_F32, LOC, &t.d), f); /* no node for a no-op cast */
  BAD(ir_cast(t.g, f, DT_I64, LOC, &t.d), "cast: dtype i64 cannot appear in a graph");
  finish(&t);
}

static void test_binary(void) {
  T t = start();
  int f = in(&t, DT_F32, SH(2, 3)), f2 = in(&t, DT_F32, SH(3)), i = in(&t, DT_I32, SH(2, 3)), b = in(&t, DT_BOOL, SH(2, 3));
  const OpKind num[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN};
  for (size_t k = 0; k < sizeof num / sizeof *num; k++) {
    OK(ir_binary(t.g, num[k], f, f, LOC, &t.d), DT_F32, 2, 3);
    OK(ir_binary(t.g, num[k], i, i, LOC, &t.d), DT_I32, 2, 3);
    char want[64];
    snprintf(want, sizeof want, "%s: needs a number type, got bool", op_info(num[k])->name);
    BAD(ir_binary(t.g, num[k], b, b, LOC, &t.d), want);
  }
  BAD(ir_binary(t.g, OP_ADD, f, i, LOC, &t.d), "add: dtypes f32 and i32 differ");
  BAD(ir_binary(t.g, OP_MUL, f, f2, LOC, &t.d), "mul: shapes [2,3] and [3] differ");
  OK(ir_binary(t.g, OP_POW, f, f, LOC, &t.d), DT_F32, 2, 3);
  BAD(ir_binary(t.g, OP_POW, i, i, LOC, &t.d), "pow: needs f32 or f64, got i32");
  OK(ir_binary(t.g, OP_LT, f, f, LOC, &t.d), DT_BOOL, 2, 3);
  OK(ir_binary(t.g, OP_LE, i, i, LOC, &t.d), DT_BOOL, 2, 3);
  BAD(ir_binary(t.g, OP_LT, b, b, LOC, &t.d), "lt: needs a number type, got bool");
  BAD(ir_binary(t.g, OP_LE, b, b, LOC, &t.d), "le: needs a number type, got bool");
  OK(ir_binary(t.g, OP_EQ, b, b, LOC, &t.d), DT_BOOL, 2, 3);
  OK(ir_binary(t.g, OP_EQ, f, f, LOC, &t.d), DT_BOOL, 2, 3);
  BAD(ir_binary(t.g, OP_EQ, f, b, LOC, &t.d), "eq: dtypes f32 and bool differ");
  OK(ir_binary(t.g, OP_AND, b, b, LOC, &t.d), DT_BOOL, 2, 3);
  OK(ir_binary(t.g, OP_OR, b, b, LOC, &t.d), DT_BOOL, 2, 3);
  BAD(ir_binary(t.g, OP_AND, f, f, LOC, &t.d), "and: needs bool, got f32");
  BAD(ir_binary(t.g, OP_OR, i, i, LOC, &t.d), "or: needs bool, got i32");
  /* ir_binary_bc inserts the broadcasts */
  int n0 = t.g->n;
  int s = ir_binary_bc(t.g, OP_SUB, f2, f, LOC, &t.d);
  OK(s, DT_F32, 2, 3);
  CHECK_INT(t.g->n, n0 + 2);
  CHECK_INT(t.g->nodes[s].in[0], n0);
  CHECK(t.g->nodes[n0].op == OP_BROADCAST);
  BAD(ir_binary_bc(t.g, OP_ADD, f, in(&t, DT_F32, SH(2)), LOC, &t.d), "add: shapes [2,3] and [2] do not broadcast");
  /* where */
  OK(ir_where(t.g, b, f, f, LOC, &t.d), DT_F32, 2, 3);
  OK(ir_where(t.g, in(&t, DT_BOOL, SH(3)), f, in(&t, DT_F32, shape_scalar()), LOC, &t.d), DT_F32, 2, 3);
  BAD(ir_where(t.g, f, f, f, LOC, &t.d), "where: condition must be bool, got f32");
  BAD(ir_where(t.g, b, f, i, LOC, &t.d), "where: dtypes f32 and i32 differ");
  BAD(op(&t, OP_WHERE, IN(b, f, f2), NOAT), "where: shapes [2,3], [2,3] and [3] differ");
  BAD(ir_where(t.g, b, f, in(&t, DT_F32, SH(4)), LOC, &t.d), "where: shapes do not broadcast");
  finish(&t);
}

static void test_reduce(void) {
  T t = start();
  int x = in(&t, DT_F32, SH(2, 3, 4)), i = in(&t, DT_I32, SH(5)), b = in(&t, DT_BOOL, SH(5));
  OK(ir_reduce(t.g, OP_REDUCE_SUM, x, (int64_t[]){1}, 1, 0, LOC, &t.d), DT_F32, 2, 4);
  OK(ir_reduce(t.g, OP_REDUCE_SUM, x, (int64_t[]){-1, 0}, 2, 1, LOC, &t.d), DT_F32, 1, 3, 1);
  OK(ir_reduce(t.g, OP_REDUCE_SUM, x, NULL, 0, 0, LOC, &t.d), DT_F32, 2, 3, 4);
  OK0(ir_reduce(t.g, OP_REDUCE_MAX, i, (int64_t[]){0}, 1, 0, LOC, &t.d), DT_I32);
  OK0(ir_reduce(t.g, OP_REDUCE_MAX, x, (int64_t[]){0, 1, 2}, 3, 0, LOC, &t.d), DT_F32);
  BAD(ir_reduce(t.g, OP_REDUCE_SUM, x, (int64_t[]){3}, 1, 0, LOC, &t.d), "reduce_sum: axis 3 is out of range for shape [2,3,4]");
  BAD(ir_reduce(t.g, OP_REDUCE_SUM, x, (int64_t[]){1, 1}, 2, 0, LOC, &t.d), "reduce_sum: axes must be sorted and unique");
  BAD(op(&t, OP_REDUCE_MAX, IN(x), AT(INTS("axes", 2, 0))), "reduce_max: axes must be sorted and unique");
  BAD(op(&t, OP_REDUCE_MAX, IN(x), AT(INTS("axes", -1))), "reduce_max: axis -1 is out of range for shape [2,3,4]");
  BAD(ir_reduce(t.g, OP_REDUCE_MAX, b, (int64_t[]){0}, 1, 0, LOC, &t.d), "reduce_max: needs a number type, got bool");
  BAD(op(&t, OP_REDUCE_SUM, IN(x), NOAT), "reduce_sum: missing attribute 'axes'");
  finish(&t);
}

static void test_movement(void) {
  T t = start();
  int x = in(&t, DT_F32, SH(2, 3)), y = in(&t, DT_F32, SH(2, 3, 4)), v = in(&t, DT_I32, SH(3));
  OK(ir_reshape(t.g, x, SH(3, 2), LOC, &t.d), DT_F32, 3, 2);
  OK(ir_reshape(t.g, x, SH(6, 1, 1), LOC, &t.d), DT_F32, 6, 1, 1);
  CHECK_INT(ir_reshape(t.g, x, SH(2, 3), LOC, &t.d), x);
  BAD(ir_reshape(t.g, x, SH(4), LOC, &t.d), "reshape: cannot reshape [2,3] (6 elements) to [4] (4 elements)");
  BAD(ir_reshape(t.g, x, SH(-1, -6), LOC, &t.d), "reshape: negative extent in [-1,-6]");
  OK(ir_permute(t.g, y, (int64_t[]){2, 0, 1}, 3, LOC, &t.d), DT_F32, 4, 2, 3);
  BAD(ir_permute(t.g, y, (int64_t[]){1, 0}, 2, LOC, &t.d), "permute: perm has 2 entries for rank 3");
  BAD(ir_permute(t.g, y, (int64_t[]){0, 0, 1}, 3, LOC, &t.d), "permute: perm is not a permutation of 0..2");
  BAD(ir_permute(t.g, y, (int64_t[]){0, 1, 3}, 3, LOC, &t.d), "permute: perm is not a permutation of 0..2");
  OK(ir_broadcast(t.g, v, SH(2, 3), LOC, &t.d), DT_I32, 2, 3);
  OK(ir_broadcast(t.g, in(&t, DT_F32, SH(2, 1)), SH(4, 2, 5), LOC, &t.d), DT_F32, 4, 2, 5);
  CHECK_INT(ir_broadcast(t.g, x, SH(2, 3), LOC, &t.d), x);
  BAD(ir_broadcast(t.g, x, SH(2, 4), LOC, &t.d), "broadcast: cannot broadcast [2,3] to [2,4]");
  BAD(ir_broadcast(t.g, x, SH(3), LOC, &t.d), "broadcast: cannot broadcast [2,3] to lower rank [3]");
  BAD(ir_broadcast(t.g, v, SH(-1, 3), LOC, &t.d), "broadcast: negative extent in [-1,3]");
  OK(ir_slice(t.g, x, (int64_t[]){0, 1}, (int64_t[]){2, 3}, (int64_t[]){1, 2}, LOC, &t.d), DT_F32, 2, 1);
  OK(ir_slice(t.g, x, (int64_t[]){1, 0}, (int64_t[]){1, 3}, (int64_t[]){1, 2}, LOC, &t.d), DT_F32, 0, 2);
  BAD(ir_slice(t.g, x, (int64_t[]){0, 0}, (int64_t[]){2, 3}, (int64_t[]){1, 0}, LOC, &t.d), "slice: step 0 on axis 1 must be positive");
  BAD(ir_slice(t.g, x, (int64_t[]){0, 1}, (int64_t[]){2, 4}, (int64_t[]){1, 1}, LOC, &t.d), "slice: range 1:4 on axis 1 is outside 0:3");
  BAD(ir_slice(t.g, x, (int64_t[]){2, 0}, (int64_t[]){1, 3}, (int64_t[]){1, 1}, LOC, &t.d), "slice: range 2:1 on axis 0 is outside 0:2");
  BAD(op(&t, OP_SLICE, IN(x), AT(INTS("start", 0), INTS("end", 1), INTS("step", 1))), "slice: start, end and step need 2 entries each");
  OK(ir_pad(t.g, x, (int64_t[]){1, 0}, (int64_t[]){0, 2}, 0.5, LOC, &t.d), DT_F32, 3, 5);
  BAD(ir_pad(t.g, x, (int64_t[]){-1, 0}, (int64_t[]){0, 0}, 0, LOC, &t.d), "pad: padding on axis 0 must not be negative");
  BAD(op(&t, OP_PAD, IN(x), AT(INTS("lo", 0), INTS("hi", 0, 0))), "pad: lo and hi need 2 entries each");
  OK(ir_concat(t.g, (int[]){x, in(&t, DT_F32, SH(2, 1)), x}, 3, 1, LOC, &t.d), DT_F32, 2, 7);
  OK(ir_concat(t.g, (int[]){x}, 1, -2, LOC, &t.d), DT_F32, 2, 3);
  OK(ir_concat(t.g, (int[]){x, x}, 2, -2, LOC, &t.d), DT_F32, 4, 3);
  BAD(ir_concat(t.g, (int[]){x, in(&t, DT_F32, SH(3, 3))}, 2, 1, LOC, &t.d), "concat: shapes [2,3] and [3,3] differ outside axis 1");
  BAD(ir_concat(t.g, (int[]){x, y}, 2, 1, LOC, &t.d), "concat: shapes [2,3] and [2,3,4] differ outside axis 1");
  BAD(ir_concat(t.g, (int[]){x, in(&t, DT_I32, SH(2, 3))}, 2, 0, LOC, &t.d), "concat: dtypes f32 and i32 differ");
  BAD(ir_concat(t.g, (int[]){x}, 1, 2, LOC, &t.d), "concat: axis 2 is out of range for shape [2,3]");
  finish(&t);
}

static void test_index(void) {
  T t = start();
  int x = in(&t, DT_F32, SH(5, 4)), idx = in(&t, DT_I32, SH(2, 3)), fidx = in(&t, DT_F32, SH(2, 3));
  OK(ir_gather(t.g, x, idx, 0, LOC, &t.d), DT_F32, 2, 3, 4);
  OK(ir_gather(t.g, x, idx, 1, LOC, &t.d), DT_F32, 5, 2, 3);
  OK(ir_gather(t.g, x, in(&t, DT_I32, shape_scalar()), 1, LOC, &t.d), DT_F32, 5);
  BAD(ir_gather(t.g, x, fidx, 0, LOC, &t.d), "gather: indices must be i32, got f32");
  BAD(ir_gather(t.g, x, idx, 2, LOC, &t.d), "gather: axis 2 is out of range for shape [5,4]");
  BAD(ir_gather(t.g, in(&t, DT_F32, SH(1, 1, 1, 1, 1, 1, 1, 1)), in(&t, DT_I32, SH(2, 2)), 0, LOC, &t.d),
      "gather: result rank 9 is more than 8");
  int upd = in(&t, DT_F32, SH(2, 3, 4));
  OK(ir_scatter_add(t.g, upd, idx, 0, 5, LOC, &t.d), DT_F32, 5, 4);
  OK(ir_scatter_add(t.g, upd, in(&t, DT_I32, SH(3)), 1, 7, LOC, &t.d), DT_F32, 2, 7, 4);
  BAD(ir_scatter_add(t.g, upd, in(&t, DT_I32, SH(3, 2)), 0, 5, LOC, &t.d),
      "scatter_add: updates [2,3,4] do not match indices [3,2] at axis 0");
  BAD(ir_scatter_add(t.g, upd, idx, 0, -1, LOC, &t.d), "scatter_add: size must not be negative");
  BAD(ir_scatter_add(t.g, upd, fidx, 0, 5, LOC, &t.d), "scatter_add: indices must be i32, got f32");
  BAD(ir_scatter_add(t.g, upd, idx, 2, 5, LOC, &t.d), "scatter_add: axis 2 with indices [2,3] does not fit updates [2,3,4]");
  BAD(ir_scatter_add(t.g, in(&t, DT_BOOL, SH(2, 3)), idx, 0, 5, LOC, &t.d), "scatter_add: needs a number type, got bool");
  OK(ir_one_hot(t.g, idx, 10, DT_F32, LOC, &t.d), DT_F32, 2, 3, 10);
  OK(ir_one_hot(t.g, in(&t, DT_I32, shape_scalar()), 3, DT_BOOL, LOC, &t.d), DT_BOOL, 3);
  BAD(ir_one_hot(t.g, fidx, 10, DT_F32, LOC, &t.d), "one_hot: indices must be i32, got f32");
  BAD(ir_one_hot(t.g, idx, -1, DT_F32, LOC, &t.d), "one_hot: depth must not be negative");
  BAD(ir_one_hot(t.g, idx, 2, DT_I64, LOC, &t.d), "one_hot: dtype i64 cannot appear in a graph");
  BAD(ir_one_hot(t.g, in(&t, DT_I32, SH(1, 1, 1, 1, 1, 1, 1, 1)), 2, DT_F32, LOC, &t.d), "one_hot: result rank is more than 8");
  finish(&t);
}

static void test_contract(void) {
  T t = start();
  int a = in(&t, DT_F32, SH(2, 3, 4)), b = in(&t, DT_F32, SH(2, 4, 5)), m = in(&t, DT_F32, SH(3, 4));
  OK(ir_matmul(t.g, a, b, 0, 0, LOC, &t.d), DT_F32, 2, 3, 5);
  OK(ir_matmul(t.g, in(&t, DT_F64, SH(4, 3)), in(&t, DT_F64, SH(4, 5)), 1, 0, LOC, &t.d), DT_F64, 3, 5);
  OK(ir_matmul(t.g, m, in(&t, DT_F32, SH(5, 4)), 0, 1, LOC, &t.d), DT_F32, 3, 5);
  OK(ir_matmul(t.g, m, in(&t, DT_F32, SH(5, 3)), 1, 1, LOC, &t.d), DT_F32, 4, 5);
  OK(ir_matmul(t.g, m, m, 1, 0, LOC, &t.d), DT_F32, 4, 4);
  BAD(ir_matmul(t.g, m, in(&t, DT_F32, SH(5, 4)), 0, 0, LOC, &t.d), "matmul: inner dimensions differ: [3,4] x [5,4]");
  BAD(ir_matmul(t.g, m, in(&t, DT_F32, SH(4, 5)), 1, 0, LOC, &t.d), "matmul: inner dimensions differ: [3,4]^T x [4,5]");
  BAD(ir_matmul(t.g, m, m, 1, 1, LOC, &t.d), "matmul: inner dimensions differ: [3,4]^T x [3,4]^T");
  BAD(ir_matmul(t.g, a, in(&t, DT_F32, SH(3, 4, 5)), 0, 0, LOC, &t.d), "matmul: batch dimensions of [2,3,4] and [3,4,5] differ");
  BAD(ir_matmul(t.g, a, m, 0, 0, LOC, &t.d), "matmul: operands [2,3,4] and [3,4] need equal rank >= 2");
  BAD(ir_matmul(t.g, in(&t, DT_I32, SH(2, 2)), in(&t, DT_I32, SH(2, 2)), 0, 0, LOC, &t.d), "matmul: needs f32 or f64, got i32");
  BAD(ir_matmul(t.g, m, in(&t, DT_F64, SH(4, 4)), 0, 0, LOC, &t.d), "matmul: dtypes f32 and f64 differ");
  int x = in(&t, DT_F32, SH(1, 3, 8, 8)), w = in(&t, DT_F32, SH(4, 3, 3, 3));
  OK(ir_conv(t.g, x, w, (int64_t[]){1, 1}, (int64_t[]){0, 0}, LOC, &t.d), DT_F32, 1, 4, 6, 6);
  OK(ir_conv(t.g, x, w, (int64_t[]){2, 2}, (int64_t[]){1, 1}, LOC, &t.d), DT_F32, 1, 4, 4, 4);
  OK(ir_conv(t.g, x, w, (int64_t[]){1, 3}, (int64_t[]){0, 1}, LOC, &t.d), DT_F32, 1, 4, 6, 3);
  BAD(ir_conv(t.g, in(&t, DT_F32, SH(1, 2, 8, 8)), w, (int64_t[]){1, 1}, (int64_t[]){0, 0}, LOC, &t.d),
      "conv: input has 2 channels but the weight expects 3");
  BAD(ir_conv(t.g, in(&t, DT_F32, SH(1, 3, 2, 2)), w, (int64_t[]){1, 1}, (int64_t[]){0, 0}, LOC, &t.d),
      "conv: kernel 3x3 is larger than the padded input [1,3,2,2]");
  BAD(ir_conv(t.g, in(&t, DT_F32, SH(3, 8, 8)), w, (int64_t[]){1, 1}, (int64_t[]){0, 0}, LOC, &t.d),
      "conv: input [3,8,8] and weight [4,3,3,3] must both be 4-D (NCHW, OIHW)");
  BAD(ir_conv(t.g, x, w, (int64_t[]){0, 1}, (int64_t[]){0, 0}, LOC, &t.d), "conv: stride must be positive and pad not negative");
  BAD(op(&t, OP_CONV, IN(x, w), AT(INTS("stride", 1))), "conv: stride and pad need 2 entries each");
  int seed = in(&t, DT_I32, shape_scalar());
  OK(ir_random(t.g, seed, 3, SH(2, 3), LOC, &t.d), DT_F32, 2, 3);
  OK0(ir_random(t.g, seed, 0, shape_scalar(), LOC, &t.d), DT_F32);
  BAD(ir_random(t.g, in(&t, DT_F32, shape_scalar()), 0, SH(2), LOC, &t.d), "random: seed must be an i32 scalar");
  BAD(ir_random(t.g, in(&t, DT_I32, SH(1)), 0, SH(2), LOC, &t.d), "random: seed must be an i32 scalar");
  BAD(ir_random(t.g, seed, 0, SH(2, -2), LOC, &t.d), "random: negative extent in [2,-2]");
  finish(&t);
}

static void test_high(void) {
  T t = start();
  int x = in(&t, DT_F32, SH(2, 3, 4)), w = in(&t, DT_F32, SH(5, 4)), b = in(&t, DT_F32, SH(5));
  OK(op(&t, OP_LINEAR, IN(x, w, b), NOAT), DT_F32, 2, 3, 5);
  OK(op(&t, OP_LINEAR, IN(x, w), NOAT), DT_F32, 2, 3, 5);
  BAD(op(&t, OP_LINEAR, IN(x, in(&t, DT_F32, SH(5, 3))), NOAT), "linear: input [2,3,4] does not match weight [5,3] ([out, in])");
  BAD(op(&t, OP_LINEAR, IN(x, w, in(&t, DT_F32, SH(4))), NOAT), "linear: bias must be f32[5], got f32[4]");
  BAD(op(&t, OP_LINEAR, IN(x, in(&t, DT_F64, SH(5, 4))), NOAT), "linear: dtypes f32 and f64 differ");
  int g4 = in(&t, DT_F32, SH(4));
  OK(op(&t, OP_LAYER_NORM, IN(x), NOAT), DT_F32, 2, 3, 4);
  OK(op(&t, OP_LAYER_NORM, IN(x, g4, g4), AT(ATTR_F("eps", 1e-6))), DT_F32, 2, 3, 4);
  BAD(op(&t, OP_LAYER_NORM, IN(x, in(&t, DT_F32, SH(3))), NOAT), "layer_norm: weight must be f32[4], got f32[3]");
  BAD(op(&t, OP_LAYER_NORM, IN(x, g4, b), NOAT), "layer_norm: bias must be f32[4], got f32[5]");
  BAD(op(&t, OP_LAYER_NORM, IN(in(&t, DT_F32, shape_scalar())), NOAT), "layer_norm: input must have at least one axis");
  int xi = in(&t, DT_I32, SH(2, 4));
  BAD(op(&t, OP_LAYER_NORM, IN(xi), NOAT), "layer_norm: needs f32 or f64, got i32");
  OK(op(&t, OP_SOFTMAX, IN(x), NOAT), DT_F32, 2, 3, 4);
  OK(op(&t, OP_SOFTMAX, IN(x), AT(ATTR_I("axis", -3))), DT_F32, 2, 3, 4);
  BAD(op(&t, OP_SOFTMAX, IN(x), AT(ATTR_I("axis", 3))), "softmax: axis 3 is out of range for shape [2,3,4]");
  OK(op(&t, OP_LOG_SOFTMAX, IN(x), AT(ATTR_I("axis", 1))), DT_F32, 2, 3, 4);
  BAD(op(&t, OP_LOG_SOFTMAX, IN(x), AT(ATTR_I("axis", -4))), "log_softmax: axis -4 is out of range for shape [2,3,4]");
  BAD(op(&t, OP_LOG_SOFTMAX, IN(xi), NOAT), "log_softmax: needs f32 or f64, got i32");
  const OpKind act[] = {OP_GELU, OP_RELU, OP_SIGMOID};
  for (int k = 0; k < 3; k++) {
    OK(op(&t, act[k], IN(x), NOAT), DT_F32, 2, 3, 4);
    char want[64];
    snprintf(want, sizeof want, "%s: needs f32 or f64, got i32", op_info(act[k])->name);
    BAD(op(&t, act[k], IN(xi), NOAT), want);
  }
  OK(op(&t, OP_MEAN, IN(x), AT(INTS("axes", 0, 2))), DT_F32, 3);
  OK(op(&t, OP_MEAN, IN(x), AT(INTS("axes", 1), ATTR_I("keepdims", 1))), DT_F32, 2, 1, 4);
  BAD(op(&t, OP_MEAN, IN(xi), AT(INTS("axes", 1))), "mean: needs f32 or f64, got i32");
  BAD(op(&t, OP_MEAN, IN(x), AT(INTS("axes", 3))), "mean: axis 3 is out of range for shape [2,3,4]");
  int q = in(&t, DT_F32, SH(2, 5, 8)), k = in(&t, DT_F32, SH(2, 7, 8));
  OK(op(&t, OP_ATTENTION, IN(q, q, q), AT(ATTR_I("heads", 2))), DT_F32, 2, 5, 8);
  OK(op(&t, OP_ATTENTION, IN(q, k, k, in(&t, DT_F32, SH(2, 1, 5, 7))), AT(ATTR_I("heads", 4), ATTR_F("scale", 0.5))), DT_F32, 2, 5, 8);
  OK(op(&t, OP_ATTENTION, IN(q, k, k, in(&t, DT_F32, SH(7))), AT(ATTR_I("heads", 1))), DT_F32, 2, 5, 8);
  BAD(op(&t, OP_ATTENTION, IN(q, q, q), AT(ATTR_I("heads", 3))), "attention: 3 heads do not divide dim 8");
  BAD(op(&t, OP_ATTENTION, IN(q, q, q), NOAT), "attention: missing attribute 'heads'");
  BAD(op(&t, OP_ATTENTION, IN(q, k, q), AT(ATTR_I("heads", 2))), "attention: q [2,5,8], k [2,7,8] and v [2,5,8] do not agree");
  BAD(op(&t, OP_ATTENTION, IN(q, k, k, in(&t, DT_F32, SH(5, 5))), AT(ATTR_I("heads", 2))),
      "attention: bias f32[5,5] does not broadcast to [2,2,5,7]");
  BAD(op(&t, OP_ATTENTION, IN(x, x, in(&t, DT_F32, SH(2, 3))), AT(ATTR_I("heads", 2))),
      "attention: q [2,3,4], k [2,3,4] and v [2,3] must be [batch, tokens, dim]");
  int logits = in(&t, DT_F32, SH(4, 10)), labels = in(&t, DT_I32, SH(4));
  OK0(op(&t, OP_CROSS_ENTROPY, IN(logits, labels), NOAT), DT_F32);
  OK0(op(&t, OP_CROSS_ENTROPY, IN(logits, labels, in(&t, DT_BOOL, SH(4))), AT(ATTR_F("smoothing", 0.1))), DT_F32);
  OK0(op(&t, OP_CROSS_ENTROPY, IN(logits, labels, in(&t, DT_F32, SH(4))), NOAT), DT_F32);
  BAD(op(&t, OP_CROSS_ENTROPY, IN(logits, in(&t, DT_F32, SH(4))), NOAT), "cross_entropy: labels must be i32, got f32");
  BAD(op(&t, OP_CROSS_ENTROPY, IN(logits, in(&t, DT_I32, SH(3))), NOAT), "cross_entropy: labels [3] do not match logits [4,10]");
  BAD(op(&t, OP_CROSS_ENTROPY, IN(logits, labels, in(&t, DT_I32, SH(4))), NOAT),
      "cross_entropy: mask must be bool or f32 of shape [4], got i32[4]");
  BAD(op(&t, OP_CROSS_ENTROPY, IN(xi, labels), NOAT), "cross_entropy: logits need f32 or f64, got i32");
  int img = in(&t, DT_F32, SH(2, 3, 8, 8)), ker = in(&t, DT_F32, SH(4, 3, 3, 3));
  OK(op(&t, OP_CONV2D, IN(img, ker, in(&t, DT_F32, SH(4))), AT(INTS("pad", 1, 1))), DT_F32, 2, 4, 8, 8);
  OK(op(&t, OP_CONV2D, IN(img, ker), AT(INTS("stride", 2, 2))), DT_F32, 2, 4, 3, 3);
  BAD(op(&t, OP_CONV2D, IN(img, ker, in(&t, DT_F32, SH(3))), NOAT), "conv2d: bias must be f32[4], got f32[3]");
  BAD(op(&t, OP_CONV2D, IN(img, in(&t, DT_F32, SH(4, 2, 3, 3))), NOAT), "conv2d: input has 3 channels but the weight expects 2");
  OK(op(&t, OP_MAX_POOL, IN(img), AT(INTS("kernel", 2, 2))), DT_F32, 2, 3, 4, 4);
  OK(op(&t, OP_MAX_POOL, IN(img), AT(INTS("kernel", 3, 3), INTS("stride", 1, 2))), DT_F32, 2, 3, 6, 3);
  BAD(op(&t, OP_MAX_POOL, IN(img), AT(INTS("kernel", 3))), "max_pool: kernel needs 2 entries and stride 0 or 2");
  BAD(op(&t, OP_MAX_POOL, IN(img), AT(INTS("kernel", 9, 9))), "max_pool: kernel is larger than the input [2,3,8,8]");
  BAD(op(&t, OP_MAX_POOL, IN(img), AT(INTS("kernel", 0, 2))), "max_pool: kernel and stride must be positive");
  BAD(op(&t, OP_MAX_POOL, IN(x), AT(INTS("kernel", 2, 2))), "max_pool: input [2,3,4] must be 4-D (NCHW)");
  OK(op(&t, OP_UPSAMPLE, IN(img), AT(ATTR_I("scale", 2))), DT_F32, 2, 3, 16, 16);
  BAD(op(&t, OP_UPSAMPLE, IN(img), AT(ATTR_I("scale", 0))), "upsample: scale must be positive");
  BAD(op(&t, OP_UPSAMPLE, IN(x), AT(ATTR_I("scale", 2))), "upsample: input [2,3,4] must be 4-D (NCHW)");
  OK(op(&t, OP_PATCHIFY, IN(img), AT(ATTR_I("patch", 4))), DT_F32, 2, 4, 48);
  BAD(op(&t, OP_PATCHIFY, IN(img), AT(ATTR_I("patch", 3))), "patchify: patch 3 does not divide the image [2,3,8,8]");
  BAD(op(&t, OP_PATCHIFY, IN(x), AT(ATTR_I("patch", 2))), "patchify: input [2,3,4] must be 4-D (NCHW)");
  int tau = in(&t, DT_F32, shape_scalar()), seed = in(&t, DT_I32, shape_scalar());
  OK(op(&t, OP_GUMBEL_SOFTMAX, IN(logits, tau, seed), AT(ATTR_I("hard", 1))), DT_F32, 4, 10);
  BAD(op(&t, OP_GUMBEL_SOFTMAX, IN(logits, in(&t, DT_F32, SH(1)), seed), NOAT), "gumbel_softmax: temperature must be a f32 scalar");
  BAD(op(&t, OP_GUMBEL_SOFTMAX, IN(logits, tau, tau), NOAT), "gumbel_softmax: seed must be an i32 scalar");
  BAD(op(&t, OP_GUMBEL_SOFTMAX, IN(logits, tau, seed), AT(ATTR_I("axis", 2))), "gumbel_softmax: axis 2 is out of range for shape [4,10]");
  finish(&t);
}

static void test_shape_helpers(void) {
  char buf[64];
  Shape s = SH(2, 3), o;
  CHECK_STR(shape_str(&s, buf, sizeof buf), "[2,3]");
  CHECK_STR(shape_str(&(Shape){0}, buf, sizeof buf), "[]");
  CHECK_INT(shape_numel(&s), 6);
  CHECK_INT(shape_numel(&(Shape){0}), 1);
  CHECK_INT(shape_broadcast(&s, &(Shape){1, {3}}, &o), 0);
  CHECK(shape_eq(&o, &s));
  CHECK_INT(shape_broadcast(&(Shape){2, {4, 1}}, &(Shape){3, {2, 1, 5}}, &o), 0);
  Shape want = SH(2, 4, 5);
  CHECK(shape_eq(&o, &want));
  CHECK_INT(shape_broadcast(&s, &(Shape){1, {2}}, &o), -1);
}

int main(void) {
  RUN(test_shape_helpers);
  RUN(test_sources);
  RUN(test_builder);
  RUN(test_unary);
  RUN(test_binary);
  RUN(test_reduce);
  RUN(test_movement);
  RUN(test_index);
  RUN(test_contract);
  RUN(test_high);
  return CHECK_DONE();
}
