/* cmd_inspect.c — `mimic inspect`: list the tensors of a .safetensors or .npy file. */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "npy.h"
#include "safetensors.h"

static const char *help =
    "usage: mimic inspect FILE.safetensors|FILE.npy\n"
    "Validate the file and print each tensor's name, dtype, shape and value range.\n";

static void describe(const char *name, const Tensor *t) {
  char sh[128];
  int64_t n = shape_numel(&t->shape);
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = tensor_get(t, i);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  printf("  %-40s %-5s %-18s", name, dtype_name(t->dtype), shape_str(&t->shape, sh, sizeof sh));
  if (n) printf(" min %-12.6g max %-12.6g mean %.6g", lo, hi, sum / (double)n);
  printf("\n");
  if (n > 0 && n <= 16) {
    /* small tensors (labels, a loss, a few logits) are worth seeing whole */
    printf("  %-40s", "");
    for (int64_t i = 0; i < n; i++) printf(" %.6g", tensor_get(t, i));
    printf("\n");
  }
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

int cmd_inspect(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(help, stdout);
    return EXIT_OK;
  }
  if (argc != 2 || argv[1][0] == '-') {
    fputs(help, stderr);
    return EXIT_USER;
  }
  const char *path = argv[1];
  if (ends_with(path, ".npy")) {
    Tensor *t;
    if (npy_read(path, &t, &d)) return EXIT_USER;
    printf("%s: 1 tensor\n", path);
    describe("(array)", t);
    tensor_free(t);
    return EXIT_OK;
  }
  TensorSet ts;
  tset_init(&ts);
  if (st_read(path, &ts, &d)) return EXIT_USER;
  int64_t count = 0;
  for (int i = 0; i < ts.n; i++) count += shape_numel(&ts.t[i]->shape);
  printf("%s: %d tensors, %lld values\n", path, ts.n, (long long)count);
  for (int i = 0; i < ts.n; i++) describe(ts.names[i], ts.t[i]);
  tset_free(&ts);
  return EXIT_OK;
}
