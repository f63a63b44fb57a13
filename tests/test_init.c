/* test_init.c — weight initialisers: argument checks, determinism per (seed, name),
 * distribution moments and bounds. */
#include <math.h>

#include "check.h"
#include "init.h"

static int add_w(Graph *g, const char *name, int64_t a, int64_t b, const char *kind, const double *args, int n) {
  Diag d;
  diag_init(&d);
  return ir_weight(g, name, DT_F32, shape_of(2, (int64_t[]){a, b}), kind, args, n, SRCLOC_NONE, &d);
}

static void moments(const Tensor *t, double *mean, double *sd, double *lo, double *hi) {
  int64_t n = shape_numel(&t->shape);
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    double v = tensor_get(t, i);
    s += v;
    s2 += v * v;
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
  }
  *mean = s / (double)n;
  *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_check(void) {
  char why[200];
  CHECK_INT(init_check("zeros", 0, why, sizeof why), 0);
  CHECK_INT(init_check("trunc_normal", 4, why, sizeof why), 0);
  CHECK_INT(init_check("normal", 3, why, sizeof why), -1);
  CHECK_STR(why, "normal takes 2 arguments, got 3");
  CHECK_INT(init_check("gaussian", 2, why, sizeof why), -1);
  CHECK(strstr(why, "unknown initializer 'gaussian'") == why);
}

static void test_values(void) {
  Graph *g = ir_graph_new("t");
  double fill[] = {0.25}, nrm[] = {1.0, 2.0}, tn[] = {0.0, 0.02, -0.02, 0.02}, un[] = {-3, 5}, xv[] = {1.0};
  add_w(g, "z", 3, 3, "zeros", NULL, 0);
  add_w(g, "o", 3, 3, "ones", NULL, 0);
  add_w(g, "f", 3, 3, "fill", fill, 1);
  add_w(g, "n", 300, 200, "normal", nrm, 2);
  add_w(g, "t", 300, 200, "trunc_normal", tn, 4);
  add_w(g, "u", 300, 200, "uniform", un, 2);
  add_w(g, "x", 30, 50, "xavier_uniform", xv, 1);
  Diag d;
  diag_init(&d);
  TensorSet ws;
  tset_init(&ws);
  CHECK_INT(init_weights(g, 7, &ws, &d), 0);
  CHECK_INT(ws.n, 7);
  double m, sd, lo, hi;
  moments(tset_get(&ws, "z"), &m, &sd, &lo, &hi);
  CHECK(lo == 0 && hi == 0);
  moments(tset_get(&ws, "o"), &m, &sd, &lo, &hi);
  CHECK(lo == 1 && hi == 1);
  moments(tset_get(&ws, "f"), &m, &sd, &lo, &hi);
  CHECK(lo == 0.25 && hi == 0.25);
  moments(tset_get(&ws, "n"), &m, &sd, &lo, &hi);
  CHECK_NEAR(m, 1.0, 0.02);  /* 60,000 draws: standard error of the mean is 0.008 */
  CHECK_NEAR(sd, 2.0, 0.02);
  moments(tset_get(&ws, "t"), &m, &sd, &lo, &hi);
  CHECK(lo >= -0.02f && hi <= 0.02f);
  /* a normal truncated at one sigma has std 0.5396 sigma (BEIT.md: "about 0.54 x 0.02") */
  CHECK_NEAR(sd / 0.02, 0.5396, 0.01);
  moments(tset_get(&ws, "u"), &m, &sd, &lo, &hi);
  CHECK(lo >= -3 && hi <= 5);
  CHECK_NEAR(m, 1.0, 0.03);
  CHECK_NEAR(sd, 8 / sqrt(12.0), 0.01);
  moments(tset_get(&ws, "x"), &m, &sd, &lo, &hi);
  double bound = sqrt(6.0 / (50 + 30));
  CHECK(lo >= -bound && hi <= bound && hi > 0.9 * bound);
  tset_free(&ws);
  ir_graph_free(g);
}

/* The same (seed, name) gives the same values whatever other weights exist. */
static void test_streams(void) {
  double nrm[] = {0, 1};
  Graph *a = ir_graph_new("a"), *b = ir_graph_new("b");
  add_w(a, "w", 4, 4, "normal", nrm, 2);
  add_w(b, "other", 8, 8, "normal", nrm, 2);
  add_w(b, "w", 4, 4, "normal", nrm, 2);
  Diag d;
  diag_init(&d);
  TensorSet sa, sb, sc;
  tset_init(&sa);
  tset_init(&sb);
  tset_init(&sc);
  CHECK_INT(init_weights(a, 1, &sa, &d), 0);
  CHECK_INT(init_weights(b, 1, &sb, &d), 0);
  CHECK_INT(init_weights(a, 2, &sc, &d), 0);
  const Tensor *wa = tset_get(&sa, "w"), *wb = tset_get(&sb, "w"), *wc = tset_get(&sc, "w");
  CHECK(memcmp(wa->data, wb->data, 16 * sizeof(float)) == 0);
  CHECK(memcmp(wa->data, wc->data, 16 * sizeof(float)) != 0);
  CHECK(memcmp(tset_get(&sb, "other")->data, wb->data, 16 * sizeof(float)) != 0);
  tset_free(&sa);
  tset_free(&sb);
  tset_free(&sc);
  ir_graph_free(a);
  ir_graph_free(b);
}

static void test_errors(void) {
  Graph *g = ir_graph_new("e");
  double tn[] = {0.0, 0.02, 1.0, 2.0};
  add_w(g, "bad", 2, 2, "trunc_normal", tn, 4);
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  TensorSet ws;
  tset_init(&ws);
  CHECK_INT(init_weights(g, 0, &ws, &d), -1);
  CHECK_STR(d.last, "mimic: error: weight 'bad': trunc_normal bounds [1, 2] leave no mass around mean 0 (std 0.02)");
  CHECK_INT(ws.n, 0);
  tset_free(&ws);
  ir_graph_free(g);
}

int main(void) {
  RUN(test_check);
  RUN(test_values);
  RUN(test_streams);
  RUN(test_errors);
  return CHECK_DONE();
}
