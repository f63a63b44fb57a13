/* test_interp.c — the reference interpreter, op by op, against expected values worked out
 * by hand and written here literally (each case says how they were worked), plus Philox
 * against the published Random123 known-answer vectors (the error paths are
 * test_interp_errors.c's). */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "interp/interp.h"
#include "philox.h"

#include "interp_harness.h"

/* ---- Philox ---- */

/* Random123's kat_vectors for philox4x32_10 (the first three, as given in the brief and
 * in TensorFlow's stateful_random_ops test, which cites Random123-Boost), and single-bit
 * counters/keys from Random123 as reproduced by several independent implementations. */
static void test_philox_kat(void) {
  static const uint32_t kat[][10] = {
      /* counter[4], key[2], expected[4] */
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
       0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
       0x24126ea1},
      {1, 0, 0, 0, 0, 0, 0xf8e4cca4, 0x5cb200db, 0xb1a574eb, 0x097eff67},
      {0, 1, 0, 0, 0, 0, 0x6ad0c5ec, 0xea236249, 0x73a459f5, 0x074944b3},
      {0, 0, 1, 0, 0, 0, 0x844515e1, 0xf08d6eaa, 0x0f19c053, 0x83f875f0},
      {0, 0, 0, 0, 1, 0, 0xe3e80670, 0xe50a0ebc, 0x95f222c0, 0xb615aa27},
  };
  for (size_t k = 0; k < sizeof kat / sizeof kat[0]; k++) {
    uint32_t out[4];
    philox_4x32_10(kat[k], kat[k] + 4, out);
    for (int i = 0; i < 4; i++) CHECK_INT(out[i], kat[k][6 + i]);
  }
  /* the unit mapping: top 24 bits times 2^-24 */
  CHECK(philox_to_unit(0) == 0.0f);
  CHECK(philox_to_unit(0xffffffffu) == 1.0f - 0x1p-24f);
  CHECK(philox_to_unit(0x80000000u) == 0.5f);
  /* element index 2^32 is counter (0, 1, 0, 0): the index's high word is counter word 1 */
  CHECK(philox_uniform(0, 0, UINT64_C(1) << 32) == 0x6ad0c5 * 0x1p-24f);
}

/* ---- sources ---- */

static void test_sources(void) {
  Ctx c;
  ctx_init(&c);
  EXPECT(&c, ir_const(c.g, DT_F32, SH(2, 2), -1.5, LOC, &c.d), DT_F32, SH(2, 2), EXACT, -1.5, -1.5, -1.5, -1.5);
  EXPECT(&c, ir_const(c.g, DT_I32, shape_scalar(), 7, LOC, &c.d), DT_I32, shape_scalar(), EXACT, 7);
  EXPECT(&c, ir_const(c.g, DT_BOOL, SH(3), 1, LOC, &c.d), DT_BOOL, SH(3), EXACT, 1, 1, 1);
  /* 0.1 rounds to the nearest float, 13421773 * 2^-27 */
  EXPECT(&c, ir_const(c.g, DT_F32, SH(1), 0.1, LOC, &c.d), DT_F32, SH(1), EXACT, 13421773 * 0x1p-27);
  EXPECT(&c, ir_const(c.g, DT_F64, SH(1), 0.1, LOC, &c.d), DT_F64, SH(1), EXACT, 0.1);
  /* iota: element = its index along the axis */
  EXPECT(&c, ir_iota(c.g, DT_I32, SH(2, 3), 1, LOC, &c.d), DT_I32, SH(2, 3), EXACT, 0, 1, 2, 0, 1, 2);
  EXPECT(&c, ir_iota(c.g, DT_F32, SH(2, 3), 0, LOC, &c.d), DT_F32, SH(2, 3), EXACT, 0, 0, 0, 1, 1, 1);
  EXPECT(&c, ir_iota(c.g, DT_F64, SH(1, 2, 1, 2, 1), 3, LOC, &c.d), DT_F64, SH(1, 2, 1, 2, 1), EXACT, 0, 1, 0, 1);
  ctx_free(&c);
}

/* ---- elementwise ---- */

static void test_unary_float(void) {
  Ctx c;
  ctx_init(&c);
  int a = IN(&c, "a", DT_F32, SH(5), -2, -0.5, 0, 1, 4);
  EXPECT(&c, ir_unary(c.g, OP_NEG, a, LOC, &c.d), DT_F32, SH(5), EXACT, 2, 0.5, 0, -1, -4);
  EXPECT(&c, ir_unary(c.g, OP_ABS, a, LOC, &c.d), DT_F32, SH(5), EXACT, 2, 0.5, 0, 1, 4);
  int f = IN(&c, "f", DT_F32, SH(5), -2.5, -0.5, 0, 1.75, 3);
  EXPECT(&c, ir_unary(c.g, OP_FLOOR, f, LOC, &c.d), DT_F32, SH(5), EXACT, -3, -1, 0, 1, 3);
  /* e = 2.718281828..., 1/e = 0.367879441... */
  int e = IN(&c, "e", DT_F32, SH(3), 0, 1, -1);
  EXPECT(&c, ir_unary(c.g, OP_EXP, e, LOC, &c.d), DT_F32, SH(3), F32, 1, 2.718281828, 0.3678794412);
  /* ln 0.5 = -0.693147181, ln 4 = 2 ln 2 = 1.386294361, ln 0 = -inf */
  int l = IN(&c, "l", DT_F32, SH(4), 1, 0.5, 4, 0);
  EXPECT(&c, ir_unary(c.g, OP_LOG, l, LOC, &c.d), DT_F32, SH(4), F32, 0, -0.6931471806, 1.3862943611, -INFINITY);
  int s = IN(&c, "s", DT_F32, SH(4), 0, 4, 2, -1);
  EXPECT(&c, ir_unary(c.g, OP_SQRT, s, LOC, &c.d), DT_F32, SH(4), F32, 0, 2, 1.414213562, NAN);
  int r = IN(&c, "r", DT_F32, SH(4), 4, 0.25, 1, 0);
  EXPECT(&c, ir_unary(c.g, OP_RSQRT, r, LOC, &c.d), DT_F32, SH(4), EXACT, 0.5, 2, 1, INFINITY);
  /* tanh 1 = (e^2 - 1)/(e^2 + 1) = 0.761594156, tanh -2 = -0.964027580 */
  int t = IN(&c, "t", DT_F32, SH(3), 0, 1, -2);
  EXPECT(&c, ir_unary(c.g, OP_TANH, t, LOC, &c.d), DT_F32, SH(3), F32, 0, 0.761594156, -0.9640275801);
  /* erf 1 = 0.842700793, erf -0.5 = -0.520499878 (tables) */
  int er = IN(&c, "er", DT_F32, SH(3), 0, 1, -0.5);
  EXPECT(&c, ir_unary(c.g, OP_ERF, er, LOC, &c.d), DT_F32, SH(3), F32, 0, 0.8427007929, -0.5204998778);
  int rc = IN(&c, "rc", DT_F32, SH(4), 2, -4, 0.5, 0);
  EXPECT(&c, ir_unary(c.g, OP_RECIP, rc, LOC, &c.d), DT_F32, SH(4), EXACT, 0.5, -0.25, 2, INFINITY);
  ctx_free(&c);
}

static void test_cast(void) {
  Ctx c;
  ctx_init(&c);
  /* to i32: truncate toward zero, saturate, NaN -> 0 */
  int a = IN(&c, "a", DT_F32, SH(6), -2.75, 2.75, 0.5, 3e9, -3e9, NAN);
  EXPECT(&c, ir_cast(c.g, a, DT_I32, LOC, &c.d), DT_I32, SH(6), EXACT, -2, 2, 0, 2147483647, -2147483648.0, 0);
  /* to bool: x != 0; -0 is zero, NaN is not */
  int b = IN(&c, "b", DT_F32, SH(4), 0, -0.0, 2.5, NAN);
  EXPECT(&c, ir_cast(c.g, b, DT_BOOL, LOC, &c.d), DT_BOOL, SH(4), EXACT, 0, 0, 1, 1);
  /* 2^24 + 1 is the first integer a float cannot hold: ties to even gives 2^24 */
  int i = IN(&c, "i", DT_I32, SH(2), 16777217, -3);
  EXPECT(&c, ir_cast(c.g, i, DT_F32, LOC, &c.d), DT_F32, SH(2), EXACT, 16777216, -3);
  int t = IN(&c, "t", DT_BOOL, SH(2), 1, 0);
  EXPECT(&c, ir_cast(c.g, t, DT_F64, LOC, &c.d), DT_F64, SH(2), EXACT, 1, 0);
  EXPECT(&c, ir_cast(c.g, t, DT_I32, LOC, &c.d), DT_I32, SH(2), EXACT, 1, 0);
  /* f64 -> f32 rounds; beyond the float range it is infinite */
  int dd = IN(&c, "dd", DT_F64, SH(2), 0.1, 1e300);
  EXPECT(&c, ir_cast(c.g, dd, DT_F32, LOC, &c.d), DT_F32, SH(2), EXACT, 13421773 * 0x1p-27, INFINITY);
  ctx_free(&c);
}

static void test_int_arith(void) {
  Ctx c;
  ctx_init(&c);
  const double M = -2147483648.0; /* INT32_MIN */
  int a = IN(&c, "a", DT_I32, SH(8), 7, -7, 7, -7, 0, 2147483647, M, 3);
  int b = IN(&c, "b", DT_I32, SH(8), 2, 2, -2, -2, 5, 1, -1, 3);
  /* wraps modulo 2^32: INT32_MAX + 1 = INT32_MIN, INT32_MIN - 1 = INT32_MAX, -INT32_MIN = INT32_MIN */
  EXPECT(&c, ir_binary(c.g, OP_ADD, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 9, -5, 5, -9, 5, M, 2147483647, 6);
  EXPECT(&c, ir_binary(c.g, OP_SUB, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 5, -9, 9, -5, -5, 2147483646,
         -2147483647, 0);
  EXPECT(&c, ir_binary(c.g, OP_MUL, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 14, -14, -14, 14, 0, 2147483647, M, 9);
  /* truncation toward zero: 7/2 = 3, -7/2 = -3, 7/-2 = -3, -7/-2 = 3 */
  EXPECT(&c, ir_binary(c.g, OP_DIV, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 3, -3, -3, 3, 0, 2147483647, M, 1);
  EXPECT(&c, ir_binary(c.g, OP_MAX, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 7, 2, 7, -2, 5, 2147483647, -1, 3);
  EXPECT(&c, ir_binary(c.g, OP_MIN, a, b, LOC, &c.d), DT_I32, SH(8), EXACT, 2, -7, -2, -7, 0, 1, M, 3);
  EXPECT(&c, ir_binary(c.g, OP_LT, a, b, LOC, &c.d), DT_BOOL, SH(8), EXACT, 0, 1, 0, 1, 1, 0, 1, 0);
  EXPECT(&c, ir_binary(c.g, OP_LE, a, b, LOC, &c.d), DT_BOOL, SH(8), EXACT, 0, 1, 0, 1, 1, 0, 1, 1);
  EXPECT(&c, ir_binary(c.g, OP_EQ, a, b, LOC, &c.d), DT_BOOL, SH(8), EXACT, 0, 0, 0, 0, 0, 0, 0, 1);
  EXPECT(&c, ir_unary(c.g, OP_NEG, a, LOC, &c.d), DT_I32, SH(8), EXACT, -7, 7, -7, 7, 0, -2147483647, M, -3);
  EXPECT(&c, ir_unary(c.g, OP_ABS, a, LOC, &c.d), DT_I32, SH(8), EXACT, 7, 7, 7, 7, 0, 2147483647, M, 3);
  ctx_free(&c);
}

static void test_float_binary(void) {
  Ctx c;
  ctx_init(&c);
  int a = IN(&c, "a", DT_F32, SH(5), 1.5, -2, 0.25, 3, -1);
  int b = IN(&c, "b", DT_F32, SH(5), 0.5, 4, -0.75, -3, -1);
  EXPECT(&c, ir_binary(c.g, OP_ADD, a, b, LOC, &c.d), DT_F32, SH(5), EXACT, 2, 2, -0.5, 0, -2);
  EXPECT(&c, ir_binary(c.g, OP_SUB, a, b, LOC, &c.d), DT_F32, SH(5), EXACT, 1, -6, 1, 6, 0);
  EXPECT(&c, ir_binary(c.g, OP_MUL, a, b, LOC, &c.d), DT_F32, SH(5), EXACT, 0.75, -8, -0.1875, -9, 1);
  /* 0.25 / -0.75 = -1/3, rounded to float */
  EXPECT(&c, ir_binary(c.g, OP_DIV, a, b, LOC, &c.d), DT_F32, SH(5), F32, 3, -0.5, -0.3333333333, -1, 1);
  EXPECT(&c, ir_binary(c.g, OP_MAX, a, b, LOC, &c.d), DT_F32, SH(5), EXACT, 1.5, 4, 0.25, 3, -1);
  EXPECT(&c, ir_binary(c.g, OP_MIN, a, b, LOC, &c.d), DT_F32, SH(5), EXACT, 0.5, -2, -0.75, -3, -1);
  /* 1.5^0.5 = 1.224744871, (-2)^4 = 16, 0.25^-0.75 = 4^0.75 = 2^1.5 = 2.828427125, 3^-3 = 1/27 */
  EXPECT(&c, ir_binary(c.g, OP_POW, a, b, LOC, &c.d), DT_F32, SH(5), F32, 1.224744871, 16, 2.8284271247,
         0.0370370370, -1);
  EXPECT(&c, ir_binary(c.g, OP_LT, a, b, LOC, &c.d), DT_BOOL, SH(5), EXACT, 0, 1, 0, 0, 0);
  EXPECT(&c, ir_binary(c.g, OP_LE, a, b, LOC, &c.d), DT_BOOL, SH(5), EXACT, 0, 1, 0, 0, 1);
  EXPECT(&c, ir_binary(c.g, OP_EQ, a, b, LOC, &c.d), DT_BOOL, SH(5), EXACT, 0, 0, 0, 0, 1);
  /* NaN propagates through max and min from either side; comparisons with NaN are false */
  int n = IN(&c, "n", DT_F32, SH(2), NAN, 1);
  int m = IN(&c, "m", DT_F32, SH(2), 1, NAN);
  EXPECT(&c, ir_binary(c.g, OP_MAX, n, m, LOC, &c.d), DT_F32, SH(2), EXACT, NAN, NAN);
  EXPECT(&c, ir_binary(c.g, OP_MIN, n, m, LOC, &c.d), DT_F32, SH(2), EXACT, NAN, NAN);
  EXPECT(&c, ir_binary(c.g, OP_LE, n, m, LOC, &c.d), DT_BOOL, SH(2), EXACT, 0, 0);
  /* f32 rounds each result: 1 + 2^-30 is 1 in f32 */
  int one = IN(&c, "one", DT_F32, SH(1), 1);
  int tiny = IN(&c, "tiny", DT_F32, SH(1), 0x1p-30);
  EXPECT(&c, ir_binary(c.g, OP_ADD, one, tiny, LOC, &c.d), DT_F32, SH(1), EXACT, 1);
  ctx_free(&c);
}

/* The same sums in f64 keep what f32 loses. */
static void test_f64_graph(void) {
  Ctx c;
  ctx_init(&c);
  int a = IN(&c, "a", DT_F64, SH(3), 0.1, 1e200, 1);
  int b = IN(&c, "b", DT_F64, SH(3), 0.2, 1e200, 0x1p-30);
  /* 0.1 + 0.2 = 0.30000000000000004 in double; 2e200 overflows f32 but not f64 */
  int s = ir_binary(c.g, OP_ADD, a, b, LOC, &c.d);
  EXPECT(&c, s, DT_F64, SH(3), EXACT, 0.30000000000000004, 2e200, 1.000000000931322574615478515625);
  EXPECT(&c, ir_unary(c.g, OP_EXP, ir_const(c.g, DT_F64, SH(1), 1, LOC, &c.d), LOC, &c.d), DT_F64, SH(1), F64,
         2.718281828459045);
  /* [1 2; 3 4] x [0.5; 0.25] = [1; 2.5] */
  int m = IN(&c, "m", DT_F64, SH(2, 2), 1, 2, 3, 4);
  int v = IN(&c, "v", DT_F64, SH(2, 1), 0.5, 0.25);
  EXPECT(&c, ir_matmul(c.g, m, v, 0, 0, LOC, &c.d), DT_F64, SH(2, 1), EXACT, 1, 2.5);
  ctx_free(&c);
}

static void test_bool_where(void) {
  Ctx c;
  ctx_init(&c);
  int a = IN(&c, "a", DT_BOOL, SH(4), 0, 0, 1, 1);
  int b = IN(&c, "b", DT_BOOL, SH(4), 0, 1, 0, 1);
  EXPECT(&c, ir_binary(c.g, OP_AND, a, b, LOC, &c.d), DT_BOOL, SH(4), EXACT, 0, 0, 0, 1);
  EXPECT(&c, ir_binary(c.g, OP_OR, a, b, LOC, &c.d), DT_BOOL, SH(4), EXACT, 0, 1, 1, 1);
  EXPECT(&c, ir_binary(c.g, OP_EQ, a, b, LOC, &c.d), DT_BOOL, SH(4), EXACT, 1, 0, 0, 1);
  EXPECT(&c, ir_unary(c.g, OP_NOT, a, LOC, &c.d), DT_BOOL, SH(4), EXACT, 1, 1, 0, 0);
  int x = IN(&c, "x", DT_F32, SH(4), 1, 2, 3, 4);
  int y = IN(&c, "y", DT_F32, SH(4), -1, -2, -3, -4);
  EXPECT(&c, ir_where(c.g, b, x, y, LOC, &c.d), DT_F32, SH(4), EXACT, -1, 2, -3, 4);
  int i = IN(&c, "i", DT_I32, SH(4), 10, 20, 30, 40);
  int j = IN(&c, "j", DT_I32, SH(4), -10, -20, -30, -40);
  EXPECT(&c, ir_where(c.g, a, i, j, LOC, &c.d), DT_I32, SH(4), EXACT, -10, -20, 30, 40);
  /* where broadcasts a scalar branch: where(b, x, 0) */
  EXPECT(&c, ir_where(c.g, b, x, ir_const(c.g, DT_F32, shape_scalar(), 0, LOC, &c.d), LOC, &c.d), DT_F32, SH(4),
         EXACT, 0, 2, 0, 4);
  ctx_free(&c);
}

/* ---- movement ---- */

static void test_broadcast(void) {
  Ctx c;
  ctx_init(&c);
  /* [3,1] -> [2,3,4]: out[b,i,j] = x[i] */
  int x = IN(&c, "x", DT_F32, SH(3, 1), 1, 2, 3);
  EXPECT(&c, ir_broadcast(c.g, x, SH(2, 3, 4), LOC, &c.d), DT_F32, SH(2, 3, 4), EXACT, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,
         3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  /* rank 0 -> [2,2] */
  int s = IN(&c, "s", DT_F32, shape_scalar(), 5);
  EXPECT(&c, ir_broadcast(c.g, s, SH(2, 2), LOC, &c.d), DT_F32, SH(2, 2), EXACT, 5, 5, 5, 5);
  /* a size-1 middle axis: [2,1,2] -> [2,3,2] */
  int m = IN(&c, "m", DT_I32, SH(2, 1, 2), 1, 2, 3, 4);
  EXPECT(&c, ir_broadcast(c.g, m, SH(2, 3, 2), LOC, &c.d), DT_I32, SH(2, 3, 2), EXACT, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4,
         3, 4);
  /* to a zero-size shape */
  int one = IN(&c, "one", DT_F32, SH(1), 7);
  EXPECT_EMPTY(&c, ir_broadcast(c.g, one, SH(0, 3), LOC, &c.d), DT_F32, SH(0, 3));
  /* through the builder's numpy broadcasting: [2,3] + [3], [2,1] * [1,3] */
  int p = IN(&c, "p", DT_F32, SH(2, 3), 1, 2, 3, 4, 5, 6);
  int q = IN(&c, "q", DT_F32, SH(3), 10, 20, 30);
  EXPECT(&c, ir_binary_bc(c.g, OP_ADD, p, q, LOC, &c.d), DT_F32, SH(2, 3), EXACT, 11, 22, 33, 14, 25, 36);
  int col = IN(&c, "col", DT_F32, SH(2, 1), 1, 2);
  int row = IN(&c, "row", DT_F32, SH(1, 3), 1, 10, 100);
  EXPECT(&c, ir_binary_bc(c.g, OP_MUL, col, row, LOC, &c.d), DT_F32, SH(2, 3), EXACT, 1, 10, 100, 2, 20, 200);
  /* rank 5: [2,1,1,1,2] -> [2,1,2,1,2] */
  int r5 = IN(&c, "r5", DT_F64, SH(2, 1, 1, 1, 2), 1, 2, 3, 4);
  EXPECT(&c, ir_broadcast(c.g, r5, SH(2, 1, 2, 1, 2), LOC, &c.d), DT_F64, SH(2, 1, 2, 1, 2), EXACT, 1, 2, 1, 2, 3, 4,
         3, 4);
  ctx_free(&c);
}

static void test_reduce(void) {
  Ctx c;
  ctx_init(&c);
  /* x[i,j,k] = 12i + 4j + k over [2,3,4] */
  int x = IN(&c, "x", DT_F32, SH(2, 3, 4), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
             21, 22, 23);
  /* over j: sum_j (12i + 4j + k) = 36i + 12 + 3k */
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(1), 1, 0, LOC, &c.d), DT_F32, SH(2, 4), EXACT, 12, 15, 18, 21, 48,
         51, 54, 57);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(1), 1, 1, LOC, &c.d), DT_F32, SH(2, 1, 4), EXACT, 12, 15, 18, 21,
         48, 51, 54, 57);
  /* over i and k: 4*12*(0+1) + 8*4j + 2*(0+1+2+3) = 60 + 32j */
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(0, 2), 2, 0, LOC, &c.d), DT_F32, SH(3), EXACT, 60, 92, 124);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(0, 2), 2, 1, LOC, &c.d), DT_F32, SH(1, 3, 1), EXACT, 60, 92, 124);
  /* negative axes count from the end (the builder normalises them) */
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(-1, 0), 2, 0, LOC, &c.d), DT_F32, SH(3), EXACT, 60, 92, 124);
  /* every axis: 0 + 1 + ... + 23 = 23*24/2 = 276, a rank-0 result */
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, x, AX(0, 1, 2), 3, 0, LOC, &c.d), DT_F32, shape_scalar(), EXACT, 276);
  /* max of -x over i and k: the largest is -(4j), at i = k = 0 */
  int nx = ir_unary(c.g, OP_NEG, x, LOC, &c.d);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, nx, AX(0, 2), 2, 0, LOC, &c.d), DT_F32, SH(3), EXACT, 0, -4, -8);
  int y = IN(&c, "y", DT_F32, SH(2, 3), 3, -1, 2, -5, -7, -6);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, y, AX(1), 1, 0, LOC, &c.d), DT_F32, SH(2), EXACT, 3, -5);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, y, AX(0), 1, 1, LOC, &c.d), DT_F32, SH(1, 3), EXACT, 3, -1, 2);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, y, AX(1), 1, 1, LOC, &c.d), DT_F32, SH(2, 1), EXACT, 4, -18);
  /* rank 5, x[0,a,0,b,c] = 1 + 4a + 2b + c; over a and c: b=0: 1+2+5+6, b=1: 3+4+7+8 */
  int r5 = IN(&c, "r5", DT_F64, SH(1, 2, 1, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, r5, AX(1, 4), 2, 0, LOC, &c.d), DT_F64, SH(1, 1, 2), EXACT, 14, 22);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, r5, AX(1, 4), 2, 1, LOC, &c.d), DT_F64, SH(1, 1, 1, 2, 1), EXACT, 6, 8);
  /* i32 sums wrap like i32 adds; max of i32 */
  int i = IN(&c, "i", DT_I32, SH(2, 2), 2147483647, 1, -3, -4);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, i, AX(1), 1, 0, LOC, &c.d), DT_I32, SH(2), EXACT, -2147483648.0, -7);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, i, AX(1), 1, 0, LOC, &c.d), DT_I32, SH(2), EXACT, 2147483647, -3);
  /* a NaN wins a max */
  int n = IN(&c, "n", DT_F32, SH(3), 1, NAN, 2);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, n, AX(0), 1, 0, LOC, &c.d), DT_F32, shape_scalar(), EXACT, NAN);
  /* empty extents: sum 0, max -inf (floats) or INT32_MIN (i32) */
  int e = IN0(&c, "e", DT_F32, SH(2, 0));
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, e, AX(1), 1, 0, LOC, &c.d), DT_F32, SH(2), EXACT, 0, 0);
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, e, AX(1), 1, 1, LOC, &c.d), DT_F32, SH(2, 1), EXACT, -INFINITY, -INFINITY);
  EXPECT_EMPTY(&c, ir_reduce(c.g, OP_REDUCE_SUM, e, AX(0), 1, 0, LOC, &c.d), DT_F32, SH(0));
  int ei = IN0(&c, "ei", DT_I32, SH(0, 2));
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_MAX, ei, AX(0), 1, 0, LOC, &c.d), DT_I32, SH(2), EXACT, -2147483648.0,
         -2147483648.0);
  ctx_free(&c);
}

static void test_reshape_permute(void) {
  Ctx c;
  ctx_init(&c);
  int x = IN(&c, "x", DT_F32, SH(2, 3), 1, 2, 3, 4, 5, 6);
  EXPECT(&c, ir_reshape(c.g, x, SH(3, 2), LOC, &c.d), DT_F32, SH(3, 2), EXACT, 1, 2, 3, 4, 5, 6);
  EXPECT(&c, ir_reshape(c.g, x, SH(1, 2, 1, 3, 1), LOC, &c.d), DT_F32, SH(1, 2, 1, 3, 1), EXACT, 1, 2, 3, 4, 5, 6);
  int one = IN(&c, "one", DT_I32, SH(1, 1), 42);
  EXPECT(&c, ir_reshape(c.g, one, shape_scalar(), LOC, &c.d), DT_I32, shape_scalar(), EXACT, 42);
  /* a transpose */
  EXPECT(&c, ir_permute(c.g, x, AX(1, 0), 2, LOC, &c.d), DT_F32, SH(3, 2), EXACT, 1, 4, 2, 5, 3, 6);
  /* rank 4: y[i0,i1,0,i3] = 6 i0 + 2 i1 + i3 over [2,3,1,2]; perm (3,1,0,2) gives out shape
   * [2,3,2,1] and out[o0,o1,o2,0] = y[o2,o1,0,o0] = 6 o2 + 2 o1 + o0 */
  int y = IN(&c, "y", DT_F32, SH(2, 3, 1, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
  EXPECT(&c, ir_permute(c.g, y, AX(3, 1, 0, 2), 4, LOC, &c.d), DT_F32, SH(2, 3, 2, 1), EXACT, 0, 6, 2, 8, 4, 10, 1, 7,
         3, 9, 5, 11);
  ctx_free(&c);
}

static void test_slice_pad_concat(void) {
  Ctx c;
  ctx_init(&c);
  /* x[i,j] = 5i + j over [3,5] */
  int x = IN(&c, "x", DT_F32, SH(3, 5), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
  /* rows 0,2 and columns 1,3 */
  EXPECT(&c, ir_slice(c.g, x, AX(0, 1), AX(3, 5), AX(2, 2), LOC, &c.d), DT_F32, SH(2, 2), EXACT, 1, 3, 11, 13);
  /* rows 1,2 and columns 0,3 (step 3 over 0..4 takes ceil(5/3) = 2) */
  EXPECT(&c, ir_slice(c.g, x, AX(1, 0), AX(3, 5), AX(1, 3), LOC, &c.d), DT_F32, SH(2, 2), EXACT, 5, 8, 10, 13);
  EXPECT_EMPTY(&c, ir_slice(c.g, x, AX(1, 0), AX(1, 5), AX(1, 1), LOC, &c.d), DT_F32, SH(0, 5));

  /* pad [2,2] with one row on top and two columns on the right, value -1 */
  int p = IN(&c, "p", DT_F32, SH(2, 2), 1, 2, 3, 4);
  EXPECT(&c, ir_pad(c.g, p, AX(1, 0), AX(0, 2), -1, LOC, &c.d), DT_F32, SH(3, 4), EXACT, -1, -1, -1, -1, 1, 2, -1,
         -1, 3, 4, -1, -1);
  int q = IN(&c, "q", DT_I32, SH(3), 5, 6, 7);
  EXPECT(&c, ir_pad(c.g, q, AX(2), AX(1), 0, LOC, &c.d), DT_I32, SH(6), EXACT, 0, 0, 5, 6, 7, 0);

  /* concat of 3 along axis 1: [2,1] [2,2] [2,1] */
  int a = IN(&c, "a", DT_F32, SH(2, 1), 1, 2);
  int b = IN(&c, "b", DT_F32, SH(2, 2), 3, 4, 5, 6);
  int e = IN0(&c, "e", DT_F32, SH(2, 0));
  int d = IN(&c, "d", DT_F32, SH(2, 1), 7, 8);
  EXPECT(&c, ir_concat(c.g, (int[]){a, b, d}, 3, 1, LOC, &c.d), DT_F32, SH(2, 4), EXACT, 1, 3, 4, 7, 2, 5, 6, 8);
  /* an empty piece in the middle changes nothing */
  EXPECT(&c, ir_concat(c.g, (int[]){a, e, b, d}, 4, 1, LOC, &c.d), DT_F32, SH(2, 4), EXACT, 1, 3, 4, 7, 2, 5, 6, 8);
  /* along axis 0: [1,2] [2,2] [1,2] stack their rows */
  int r1 = IN(&c, "r1", DT_I32, SH(1, 2), 1, 2);
  int r2 = IN(&c, "r2", DT_I32, SH(2, 2), 3, 4, 5, 6);
  int r3 = IN(&c, "r3", DT_I32, SH(1, 2), 7, 8);
  EXPECT(&c, ir_concat(c.g, (int[]){r1, r2, r3}, 3, 0, LOC, &c.d), DT_I32, SH(4, 2), EXACT, 1, 2, 3, 4, 5, 6, 7, 8);
  ctx_free(&c);
}

/* ---- indexing ---- */

static void test_gather_scatter(void) {
  Ctx c;
  ctx_init(&c);
  int x = IN(&c, "x", DT_F32, SH(3, 2), 10, 11, 20, 21, 30, 31);
  /* 2-D index along axis 0: out[j0,j1,:] = x[idx[j0,j1],:] */
  int i2 = IN(&c, "i2", DT_I32, SH(2, 2), 2, 0, 1, 2);
  EXPECT(&c, ir_gather(c.g, x, i2, 0, LOC, &c.d), DT_F32, SH(2, 2, 2), EXACT, 30, 31, 10, 11, 20, 21, 30, 31);
  /* a rank-0 index drops the axis */
  int i0 = IN(&c, "i0", DT_I32, shape_scalar(), 1);
  EXPECT(&c, ir_gather(c.g, x, i0, 0, LOC, &c.d), DT_F32, SH(2), EXACT, 20, 21);
  /* along axis 1 of [2,3]: columns 2 and 0 */
  int y = IN(&c, "y", DT_F32, SH(2, 3), 1, 2, 3, 4, 5, 6);
  int i1 = IN(&c, "i1", DT_I32, SH(2), 2, 0);
  EXPECT(&c, ir_gather(c.g, y, i1, 1, LOC, &c.d), DT_F32, SH(2, 2), EXACT, 3, 1, 6, 4);

  /* scatter_add with repeated indices: rows 0, 2 and 3 of upd all land in row 1 */
  int u = IN(&c, "u", DT_F32, SH(4, 2), 1, 2, 3, 4, 5, 6, 7, 8);
  int iu = IN(&c, "iu", DT_I32, SH(4), 1, 0, 1, 1);
  EXPECT(&c, ir_scatter_add(c.g, u, iu, 0, 3, LOC, &c.d), DT_F32, SH(3, 2), EXACT, 3, 4, 1 + 5 + 7, 2 + 6 + 8, 0, 0);
  /* 2-D index along axis 1: upd[0,j0,j1] goes to out[0, idx[j0,j1]]: 1 -> 0, 2 -> 2, 3 -> 2, 4 -> 0 */
  int u2 = IN(&c, "u2", DT_I32, SH(1, 2, 2), 1, 2, 3, 4);
  int ix = IN(&c, "ix", DT_I32, SH(2, 2), 0, 2, 2, 0);
  EXPECT(&c, ir_scatter_add(c.g, u2, ix, 1, 3, LOC, &c.d), DT_I32, SH(1, 3), EXACT, 5, 0, 5);
  /* the adjoint of gather: scatter_add(gather(x)) counts how often each row was taken */
  EXPECT(&c, ir_scatter_add(c.g, ir_gather(c.g, x, i2, 0, LOC, &c.d), i2, 0, 3, LOC, &c.d), DT_F32, SH(3, 2), EXACT,
         10, 11, 20, 21, 60, 62);
  ctx_free(&c);
}

static void test_one_hot(void) {
  Ctx c;
  ctx_init(&c);
  /* -1 and 3 are outside [0,3): their rows are all zero */
  int i = IN(&c, "i", DT_I32, SH(4), 2, -1, 0, 3);
  EXPECT(&c, ir_one_hot(c.g, i, 3, DT_F32, LOC, &c.d), DT_F32, SH(4, 3), EXACT, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0);
  int j = IN(&c, "j", DT_I32, SH(2, 2), 1, 0, 0, 1);
  EXPECT(&c, ir_one_hot(c.g, j, 2, DT_BOOL, LOC, &c.d), DT_BOOL, SH(2, 2, 2), EXACT, 0, 1, 1, 0, 1, 0, 0, 1);
  int s = IN(&c, "s", DT_I32, shape_scalar(), 1);
  EXPECT(&c, ir_one_hot(c.g, s, 4, DT_I32, LOC, &c.d), DT_I32, SH(4), EXACT, 0, 1, 0, 0);
  ctx_free(&c);
}

/* ---- contraction ---- */

/* Batch 0: A = [1 2 3; 4 5 6], B = [7 8; 9 10; 11 12]:
 *   AB = [1*7+2*9+3*11, 1*8+2*10+3*12; 4*7+5*9+6*11, 4*8+5*10+6*12] = [58 64; 139 154].
 * Batch 1: A = [1 0 0; 0 1 0] picks the first two rows of B = [1 -1; 2 -2; 0 5].
 * Each transpose flag gets the same product from the transposed data. */
static void test_matmul(void) {
  Ctx c;
  ctx_init(&c);
  int a = IN(&c, "a", DT_F32, SH(2, 2, 3), 1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0);
  int at = IN(&c, "at", DT_F32, SH(2, 3, 2), 1, 4, 2, 5, 3, 6, 1, 0, 0, 1, 0, 0);
  int b = IN(&c, "b", DT_F32, SH(2, 3, 2), 7, 8, 9, 10, 11, 12, 1, -1, 2, -2, 0, 5);
  int bt = IN(&c, "bt", DT_F32, SH(2, 2, 3), 7, 9, 11, 8, 10, 12, 1, 2, 0, -1, -2, 5);
  EXPECT(&c, ir_matmul(c.g, a, b, 0, 0, LOC, &c.d), DT_F32, SH(2, 2, 2), EXACT, 58, 64, 139, 154, 1, -1, 2, -2);
  EXPECT(&c, ir_matmul(c.g, at, b, 1, 0, LOC, &c.d), DT_F32, SH(2, 2, 2), EXACT, 58, 64, 139, 154, 1, -1, 2, -2);
  EXPECT(&c, ir_matmul(c.g, a, bt, 0, 1, LOC, &c.d), DT_F32, SH(2, 2, 2), EXACT, 58, 64, 139, 154, 1, -1, 2, -2);
  EXPECT(&c, ir_matmul(c.g, at, bt, 1, 1, LOC, &c.d), DT_F32, SH(2, 2, 2), EXACT, 58, 64, 139, 154, 1, -1, 2, -2);
  /* A^T B^T = (BA)^T: [1 4; 2 5; 3 6] x [7 9 11; 8 10 12] = [39 49 59; 54 68 82; 69 87 105] */
  EXPECT(&c, ir_matmul(c.g, at, bt, 0, 0, LOC, &c.d), DT_F32, SH(2, 3, 3), EXACT, 39, 49, 59, 54, 68, 82, 69, 87, 105,
         1, 2, 0, -1, -2, 5, 0, 0, 0);
  /* no batch, rank 2; and an empty inner dimension gives zeros */
  int p = IN(&c, "p", DT_F32, SH(1, 2), 2, -3);
  int q = IN(&c, "q", DT_F32, SH(2, 1), 4, 5);
  EXPECT(&c, ir_matmul(c.g, p, q, 0, 0, LOC, &c.d), DT_F32, SH(1, 1), EXACT, -7);
  int e1 = IN0(&c, "e1", DT_F32, SH(2, 0));
  int e2 = IN0(&c, "e2", DT_F32, SH(0, 3));
  EXPECT(&c, ir_matmul(c.g, e1, e2, 0, 0, LOC, &c.d), DT_F32, SH(2, 3), EXACT, 0, 0, 0, 0, 0, 0);
  ctx_free(&c);
}

static void test_conv(void) {
  Ctx c;
  ctx_init(&c);
  /* x = 1..16 as a 4x4 image, w = [1 2 0; 0 1 0; -1 0 1], stride 2, pad 1: output 2x2,
   * out[i][j] = sum_{p,q} x[2i+p-1][2j+q-1] w[p][q] with x = 0 outside:
   *   [0][0]: x[0][0]*1 + x[1][1]*1                                = 1 + 6      = 7
   *   [0][1]: x[0][2]*1 + x[1][1]*-1 + x[1][3]*1                   = 3 - 6 + 8  = 5
   *   [1][0]: x[1][0]*2 + x[2][0]*1 + x[3][1]*1                    = 10 + 9 + 14 = 33
   *   [1][1]: x[1][1]*1 + x[1][2]*2 + x[2][2]*1 + x[3][1]*-1 + x[3][3]*1
   *                                                         = 6 + 14 + 11 - 14 + 16 = 33 */
  int x = IN(&c, "x", DT_F32, SH(1, 1, 4, 4), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  int w = IN(&c, "w", DT_F32, SH(1, 1, 3, 3), 1, 2, 0, 0, 1, 0, -1, 0, 1);
  EXPECT(&c, ir_conv(c.g, x, w, AX(2, 2), AX(1, 1), LOC, &c.d), DT_F32, SH(1, 1, 2, 2), EXACT, 7, 5, 33, 33);
  /* 1x1 conv mixes channels: o0 = c0 + c1, o1 = 2 c0 - c1 */
  int x2 = IN(&c, "x2", DT_F32, SH(1, 2, 2, 2), 1, 2, 3, 4, 10, 20, 30, 40);
  int w2 = IN(&c, "w2", DT_F32, SH(2, 2, 1, 1), 1, 1, 2, -1);
  EXPECT(&c, ir_conv(c.g, x2, w2, AX(1, 1), AX(0, 0), LOC, &c.d), DT_F32, SH(1, 2, 2, 2), EXACT, 11, 22, 33, 44, -8,
         -16, -24, -32);
  /* pad only along W, kernel [1 10]: out[i][j] = x[i][j-1] + 10 x[i][j], rows [1 2 3], [4 5 6] */
  int x3 = IN(&c, "x3", DT_F64, SH(1, 1, 2, 3), 1, 2, 3, 4, 5, 6);
  int w3 = IN(&c, "w3", DT_F64, SH(1, 1, 1, 2), 1, 10);
  EXPECT(&c, ir_conv(c.g, x3, w3, AX(1, 1), AX(0, 1), LOC, &c.d), DT_F64, SH(1, 1, 2, 4), EXACT, 10, 21, 32, 3, 40, 54,
         65, 6);
  /* a batch of two 1x1 images */
  int x4 = IN(&c, "x4", DT_F32, SH(2, 1, 1, 1), 3, -2);
  int w4 = IN(&c, "w4", DT_F32, SH(1, 1, 1, 1), 4);
  EXPECT(&c, ir_conv(c.g, x4, w4, AX(1, 1), AX(0, 0), LOC, &c.d), DT_F32, SH(2, 1, 1, 1), EXACT, 12, -8);
  ctx_free(&c);
}

/* ---- random ---- */

static Tensor *run_random(int32_t seed, int64_t stream, Shape s) {
  Ctx c;
  ctx_init(&c);
  int sd = IN(&c, "seed", DT_I32, shape_scalar(), seed);
  ir_add_output(c.g, "r", ir_random(c.g, sd, stream, s, LOC, &c.d));
  TensorSet out;
  tset_init(&out);
  CHECK_INT(interp_run(c.g, &c.in, NULL, &out, &c.d), 0);
  Tensor *r = tset_get(&out, "r") ? tensor_copy(tset_get(&out, "r")) : tensor_new(DT_F32, s);
  tset_free(&out);
  ctx_free(&c);
  return r;
}

static void test_random(void) {
  Shape s = SH(2, 3);
  Tensor *a = run_random(0, 0, s), *b = run_random(0, 0, s), *c = run_random(0, 1, s), *e = run_random(1, 0, s);
  CHECK(a->dtype == DT_F32 && shape_eq(&a->shape, &s));
  /* seed 0, stream 0: element i is the first word of Philox(counter (i,0,0,0), key (0,0)),
   * top 24 bits over 2^24 — the KAT words 6627e8d5, f8e4cca4, 04faa329, c990ef29 */
  CHECK(tensor_get(a, 0) == 0x6627e8 * 0x1p-24);
  CHECK(tensor_get(a, 1) == 0xf8e4cc * 0x1p-24);
  CHECK(tensor_get(a, 2) == 0x04faa3 * 0x1p-24);
  CHECK(tensor_get(a, 3) == 0xc990ef * 0x1p-24);
  /* seed 1 is key (1, 0): KAT word e3e80670 */
  CHECK(tensor_get(e, 0) == 0xe3e806 * 0x1p-24);
  int differ_stream = 0, differ_seed = 0;
  for (int64_t i = 0; i < 6; i++) {
    double v = tensor_get(a, i);
    CHECK(v >= 0 && v < 1);
    CHECK(v == tensor_get(b, i)); /* deterministic */
    differ_stream += v != tensor_get(c, i);
    differ_seed += v != tensor_get(e, i);
  }
  CHECK_INT(differ_stream, 6);
  CHECK_INT(differ_seed, 6);
  /* a negative seed is its bit pattern; a larger tensor stays in [0,1) with mean near 1/2 */
  Tensor *big = run_random(-1, 7, SH(100, 100));
  double sum = 0;
  int inside = 1;
  for (int64_t i = 0; i < 10000; i++) {
    double v = tensor_get(big, i);
    inside &= v >= 0 && v < 1;
    sum += v;
  }
  CHECK(inside);
  CHECK_NEAR(sum / 10000, 0.5, 0.01); /* standard error 0.0029 */
  CHECK(tensor_get(big, 0) == philox_uniform(0xffffffffu, 7, 0));
  tensor_free(a);
  tensor_free(b);
  tensor_free(c);
  tensor_free(e);
  tensor_free(big);
}

/* ---- odd shapes, outputs, weights ---- */

static void test_shapes_and_outputs(void) {
  Ctx c;
  ctx_init(&c);
  /* rank 0 arithmetic */
  int a = IN(&c, "a", DT_F32, shape_scalar(), 3);
  int b = IN(&c, "b", DT_F32, shape_scalar(), -4);
  EXPECT(&c, ir_binary(c.g, OP_MUL, a, b, LOC, &c.d), DT_F32, shape_scalar(), EXACT, -12);
  /* zero-size elementwise */
  int z = IN0(&c, "z", DT_F32, SH(0, 3));
  EXPECT_EMPTY(&c, ir_binary(c.g, OP_ADD, z, z, LOC, &c.d), DT_F32, SH(0, 3));
  EXPECT(&c, ir_reduce(c.g, OP_REDUCE_SUM, z, AX(0), 1, 0, LOC, &c.d), DT_F32, SH(3), EXACT, 0, 0, 0);
  /* rank 5 elementwise with size-1 axes */
  int r = IN(&c, "r", DT_F32, SH(1, 2, 1, 1, 2), 1, -2, 3, -4);
  EXPECT(&c, ir_unary(c.g, OP_ABS, r, LOC, &c.d), DT_F32, SH(1, 2, 1, 1, 2), EXACT, 1, 2, 3, 4);
  ctx_free(&c);

  /* a weight, two outputs (one node under two names), a dead node that would fail */
  ctx_init(&c);
  int x = IN(&c, "x", DT_F32, SH(1, 2), 1, 2);
  int w = ir_weight(c.g, "head.weight", DT_F32, SH(3, 2), "zeros", NULL, 0, LOC, &c.d);
  tset_put(&c.w, "head.weight", mk(DT_F32, SH(3, 2), (const double[]){1, 0, 0, 1, 1, 1}, 6));
  int y = ir_matmul(c.g, x, w, 0, 1, LOC, &c.d); /* x w^T = [1, 2, 3] */
  int bad = IN(&c, "bad", DT_I32, SH(1), 9);
  ir_gather(c.g, x, bad, 1, LOC, &c.d); /* out of range, but no output needs it */
  ir_add_output(c.g, "logits", y);
  ir_add_output(c.g, "again", y);
  ir_add_output(c.g, "x", x);
  TensorSet out;
  tset_init(&out);
  CHECK_INT(interp_run(c.g, &c.in, &c.w, &out, &c.d), 0);
  CHECK_INT(out.n, 3);
  const Tensor *l = tset_get(&out, "logits"), *g = tset_get(&out, "again"), *xo = tset_get(&out, "x");
  CHECK(l && g && xo && l != g);
  if (l && g && xo) {
    Shape s13 = SH(1, 3);
    CHECK(shape_eq(&l->shape, &s13));
    for (int i = 0; i < 3; i++) CHECK(tensor_get(l, i) == i + 1 && tensor_get(g, i) == i + 1);
    /* outputs are copies: changing the input tensor afterwards does not reach them */
    CHECK(xo != tset_get(&c.in, "x") && xo->data != tset_get(&c.in, "x")->data);
    tensor_set(tset_get(&c.in, "x"), 0, 99);
    CHECK(tensor_get(xo, 0) == 1);
  }
  tset_free(&out);
  ctx_free(&c);

  /* a graph without inputs or weights runs with NULL sets */
  ctx_init(&c);
  ir_add_output(c.g, "k", ir_const(c.g, DT_F32, SH(2), 2.5, LOC, &c.d));
  tset_init(&out);
  CHECK_INT(interp_run(c.g, NULL, NULL, &out, &c.d), 0);
  CHECK(tset_get(&out, "k") && tensor_get(tset_get(&out, "k"), 1) == 2.5);
  tset_free(&out);
  ctx_free(&c);
}

int main(void) {
  RUN(test_philox_kat);
  RUN(test_sources);
  RUN(test_unary_float);
  RUN(test_cast);
  RUN(test_int_arith);
  RUN(test_float_binary);
  RUN(test_f64_graph);
  RUN(test_bool_where);
  RUN(test_broadcast);
  RUN(test_reduce);
  RUN(test_reshape_permute);
  RUN(test_slice_pad_concat);
  RUN(test_gather_scatter);
  RUN(test_one_hot);
  RUN(test_matmul);
  RUN(test_conv);
  RUN(test_random);
  RUN(test_shapes_and_outputs);
  return CHECK_DONE();
}
