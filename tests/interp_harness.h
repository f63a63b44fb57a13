/* interp_harness.h — what the interpreter's tests share: one graph with its input and
 * weight tensors (Ctx), builders for inputs with literal values, and EXPECT / EXPECT_ERROR,
 * which run the graph and compare an output with literal values or the one error. */
#ifndef MIMIC_TEST_INTERP_HARNESS_H
#define MIMIC_TEST_INTERP_HARNESS_H
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "interp/interp.h"

/* ---- a little harness: one graph, its input and weight tensors, and a runner ---- */

typedef struct Ctx {
  Graph *g;
  Diag d;
  TensorSet in, w;
} Ctx;

#define LOC ((SrcLoc){"t.yaml", __LINE__, 5})
#define SH(...) shape_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define AX(...) (const int64_t[]){__VA_ARGS__}
#define NVALS(...) (int64_t)(sizeof((double[]){__VA_ARGS__}) / sizeof(double))

/* Tolerances: EXACT for values every dtype holds exactly; F32 and F64 relative. */
#define EXACT 0.0
#define F32 1e-6
#define F64 1e-14

static inline void ctx_init(Ctx *c) {
  c->g = ir_graph_new("t");
  diag_init(&c->d);
  tset_init(&c->in);
  tset_init(&c->w);
}

static inline void ctx_free(Ctx *c) {
  ir_graph_free(c->g);
  tset_free(&c->in);
  tset_free(&c->w);
}

static inline Tensor *mk(DType t, Shape s, const double *v, int64_t nv) {
  Tensor *x = tensor_new(t, s);
  CHECK_INT(nv, shape_numel(&s));
  for (int64_t i = 0; i < nv && i < shape_numel(&s); i++) tensor_set(x, i, v[i]);
  return x;
}

/* An input node named `name` and the tensor that feeds it. */
static inline int input_v(Ctx *c, const char *name, DType t, Shape s, const double *v, int64_t nv) {
  tset_put(&c->in, name, mk(t, s, v, nv));
  int id = ir_input(c->g, name, t, s, LOC, &c->d);
  CHECK(id >= 0);
  return id;
}
#define IN(c, name, t, s, ...) input_v(c, name, t, s, (const double[]){__VA_ARGS__}, NVALS(__VA_ARGS__))
#define IN0(c, name, t, s) input_v(c, name, t, s, NULL, 0)

static inline int same(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  double m = fabs(want) > 1 ? fabs(want) : 1;
  return fabs(got - want) <= tol * m;
}

/* Runs c->g with node `id` as its only output "y" and compares y with t, s, want. */
static inline void expect_(Ctx *c, int id, DType t, Shape s, double tol, const double *want, int64_t nwant, int line) {
  char b1[128], b2[128];
  if (id < 0) {
    fprintf(stderr, "%s:%d: node was not built: %s\n", __FILE__, line, c->d.last);
    check_failures++;
    return;
  }
  c->g->nout = 0; /* each expectation replaces the previous output */
  ir_add_output(c->g, "y", id);
  TensorSet out;
  tset_init(&out);
  if (interp_run(c->g, &c->in, &c->w, &out, &c->d)) {
    fprintf(stderr, "%s:%d: interp_run failed: %s\n", __FILE__, line, c->d.last);
    check_failures++;
    tset_free(&out);
    return;
  }
  const Tensor *y = tset_get(&out, "y");
  if (!y || y->dtype != t || !shape_eq(&y->shape, &s) || shape_numel(&s) != nwant) {
    fprintf(stderr, "%s:%d: got %s%s, want %s%s with %lld values\n", __FILE__, line,
            y ? dtype_name(y->dtype) : "?", y ? shape_str(&y->shape, b1, sizeof b1) : "", dtype_name(t),
            shape_str(&s, b2, sizeof b2), (long long)nwant);
    check_failures++;
    tset_free(&out);
    return;
  }
  for (int64_t i = 0; i < nwant; i++) {
    double v = tensor_get(y, i);
    if (!same(v, want[i], tol)) {
      fprintf(stderr, "%s:%d: element %lld: got %.17g, want %.17g\n", __FILE__, line, (long long)i, v, want[i]);
      check_failures++;
    }
  }
  tset_free(&out);
}
#define EXPECT(c, id, t, s, tol, ...) \
  expect_(c, id, t, s, tol, (const double[]){__VA_ARGS__}, NVALS(__VA_ARGS__), __LINE__)
#define EXPECT_EMPTY(c, id, t, s) expect_(c, id, t, s, EXACT, NULL, 0, __LINE__)

/* Runs c->g (output "y" = id) expecting exactly one error whose text is `want`. */
static inline void expect_error_(Ctx *c, int id, const char *want, int line) {
  c->g->nout = 0;
  ir_add_output(c->g, "y", id);
  TensorSet out;
  tset_init(&out);
  c->d.quiet = 1;
  int before = c->d.nerr;
  int rc = interp_run(c->g, &c->in, &c->w, &out, &c->d);
  if (rc != -1 || c->d.nerr != before + 1 || strcmp(c->d.last, want) || out.n != 0) {
    fprintf(stderr, "%s:%d: want rc -1, one error, no outputs and\n  want: %s\n", __FILE__, line, want);
    fprintf(stderr, "  got:  rc %d, %d errors, %d outputs, %s\n", rc, c->d.nerr - before, out.n, c->d.last);
    check_failures++;
  }
  c->d.quiet = 0;
  tset_free(&out);
}
#define EXPECT_ERROR(c, id, want) expect_error_(c, id, want, __LINE__)

#endif
