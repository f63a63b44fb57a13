/* cmd_compare.c — `mimic compare`: do two tensor files agree? For checking one engine
 * against another (JIT, AOT object, interpreter) from scripts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

static const char *help =
    "usage: mimic compare A.npy B.npy [--tol T]\n"
    "Compare two arrays element by element: they agree when dtype and shape match and\n"
    "|a - b| <= T * max|B| everywhere, where max|B| is the largest magnitude in B, so the\n"
    "test does not depend on the arrays' scale (T = 1e-5 by default; NaN matches NaN;\n"
    "an all-zero B must be matched exactly).\n"
    "Prints the largest difference; exits 0 when they agree, 1 when not.\n";

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
  Tensor *a = NULL, *b = NULL;
  int rc = EXIT_USER;
  if (npy_read(path[0], &a, &d) || npy_read(path[1], &b, &d)) goto out;
  char sa[128], sb[128];
  if (a->dtype != b->dtype || !shape_eq(&a->shape, &b->shape)) {
    printf("differ: %s%s vs %s%s\n", dtype_name(a->dtype), shape_str(&a->shape, sa, sizeof sa), dtype_name(b->dtype),
           shape_str(&b->shape, sb, sizeof sb));
    goto out;
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
  if (worst >= 0)
    printf("%lld elements, largest difference %.3g (relative to max|B|) at element %lld: %.9g vs %.9g; %lld over %g\n",
           (long long)n, worst_rel, (long long)worst, tensor_get(a, worst), tensor_get(b, worst), (long long)bad, tol);
  else printf("%lld elements, all equal\n", (long long)n);
  rc = bad ? EXIT_USER : EXIT_OK;
out:
  tensor_free(a);
  tensor_free(b);
  return rc;
}
