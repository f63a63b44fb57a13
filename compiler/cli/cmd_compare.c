/* cmd_compare.c — `mimic compare`: do two tensor files agree? For checking one engine
 * against another (JIT, AOT object, interpreter) from scripts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"
#include "safetensors.h"

static const char *help =
    "usage: mimic compare A.npy B.npy [--tol T]\n"
    "       mimic compare A.safetensors B.safetensors [--tol T]\n"
    "Compare two arrays element by element: they agree when dtype and shape match and\n"
    "|a - b| <= T * max|B| everywhere, where max|B| is the largest magnitude in B, so the\n"
    "test does not depend on the arrays' scale (T = 1e-5 by default; NaN matches NaN;\n"
    "an all-zero B must be matched exactly).\n"
    "Two safetensors files agree when they hold the same names and every pair agrees.\n"
    "Prints the largest difference; exits 0 when they agree, 1 when not.\n";

static int has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && !strcmp(s + n - k, suf);
}

/* How far a is from b: the largest |a - b| relative to max|b|. Prints a line (prefixed
 * by `what`; with a prefix, only when they differ) and returns 1 when they agree within
 * tol, 0 when not (or when dtype or shape differ). */
static int compare_tensors(const char *what, const Tensor *a, const Tensor *b, double tol, double *worst_out) {
  char sa[128], sb[128];
  *worst_out = INFINITY;
  if (a->dtype != b->dtype || !shape_eq(&a->shape, &b->shape)) {
    printf("%sdiffer: %s%s vs %s%s\n", what, dtype_name(a->dtype), shape_str(&a->shape, sa, sizeof sa),
           dtype_name(b->dtype), shape_str(&b->shape, sb, sizeof sb));
    return 0;
  }
  int64_t n = shape_numel(&a->shape), worst = -1, bad = 0;
  double worst_rel = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    double y = fabs(tensor_get(b, i));
    if (y > scale && y <= INFINITY) scale = y;
  }
  for (int64_t i = 0; i < n; i++) {
    double x = tensor_get(a, i), y = tensor_get(b, i);
    if ((isnan(x) && isnan(y)) || x == y) continue;
    double rel = scale > 0 ? fabs(x - y) / scale : INFINITY;
    if (isnan(rel)) rel = INFINITY;
    if (rel > tol) bad++;
    if (worst < 0 || rel > worst_rel) {
      worst = i;
      worst_rel = rel;
    }
  }
  *worst_out = worst_rel;
  if (*what && !bad) return 1; /* in a set, only the tensors that differ are listed */
  if (worst >= 0)
    printf("%s%lld elements, largest difference %.3g (relative to max|B|) at element %lld: %.9g vs %.9g; %lld over %g\n",
           what, (long long)n, worst_rel, (long long)worst, tensor_get(a, worst), tensor_get(b, worst), (long long)bad, tol);
  else printf("%s%lld elements, all equal\n", what, (long long)n);
  return bad == 0;
}

static int compare_arrays(const char *const *path, double tol, Diag *d) {
  Tensor *a = NULL, *b = NULL;
  double w;
  int rc = EXIT_USER;
  if (!npy_read(path[0], &a, d) && !npy_read(path[1], &b, d)) rc = compare_tensors("", a, b, tol, &w) ? EXIT_OK : EXIT_USER;
  tensor_free(a);
  tensor_free(b);
  return rc;
}

/* Two safetensors files: the same tensor names, each pair agreeing. */
static int compare_sets(const char *const *path, double tol, Diag *d) {
  TensorSet a, b;
  tset_init(&a);
  tset_init(&b);
  int ok = 0;
  if (!st_read(path[0], &a, d) && !st_read(path[1], &b, d)) {
    ok = 1;
    double worst = 0, w;
    const char *wname = "";
    for (int i = 0; i < b.n; i++)
      if (!tset_get(&a, b.names[i])) {
        printf("%s: only in %s\n", b.names[i], path[1]);
        ok = 0;
      }
    for (int i = 0; i < a.n; i++) {
      const Tensor *t = tset_get(&b, a.names[i]);
      char what[300];
      snprintf(what, sizeof what, "%s: ", a.names[i]);
      if (!t) {
        printf("%sonly in %s\n", a.names[i], path[0]);
        ok = 0;
        continue;
      }
      int agree = compare_tensors(what, a.t[i], t, tol, &w);
      ok &= agree;
      if (w > worst || !agree) {
        worst = w > worst ? w : worst;
        wname = a.names[i];
      }
    }
    printf("%d tensors; the largest difference %.3g (%s)\n", a.n, worst, wname);
  }
  tset_free(&a);
  tset_free(&b);
  return ok ? EXIT_OK : EXIT_USER;
}

int cmd_compare(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  const char *path[2] = {NULL, NULL}, *v;
  double tol = 1e-5;
  int np = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("--tol", argc, argv, &i, &d))) {
      char *end;
      tol = strtod(v, &end);
      if (*end || !(tol >= 0)) diag_error(&d, SRCLOC_NONE, "--tol needs a number >= 0, got '%s'", v);
    } else if (argv[i][0] == '-' || np == 2) diag_error(&d, SRCLOC_NONE, "compare: unexpected argument '%s'", argv[i]);
    else path[np++] = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (np != 2) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  int st = has_suffix(path[0], ".safetensors") && has_suffix(path[1], ".safetensors");
  return st ? compare_sets(path, tol, &d) : compare_arrays(path, tol, &d);
}
