/* cmd_data.c — `mimic data`: Fashion-MNIST (IDX) images and labels to .npy files. */
#include <string.h>

#include "cli.h"
#include "idx.h"
#include "npy.h"

static const char *help =
    "usage: mimic data --images X.npy [--labels Y.npy] [--split train|test] [--offset K] [--count N]\n"
    "Export Fashion-MNIST images (f32 [N,1,28,28] in [0,1]) and labels (i32 [N]) as .npy.\n"
    "The data comes from Debian's dataset-fashion-mnist; $MIMIC_DATA names another folder.\n";

int cmd_data(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  const char *images = NULL, *labels = NULL, *split = "test", *v;
  int64_t offset = 0, count = -1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("--images", argc, argv, &i, &d))) images = v;
    else if ((v = cli_opt("--labels", argc, argv, &i, &d))) labels = v;
    else if ((v = cli_opt("--split", argc, argv, &i, &d))) split = v;
    else if ((v = cli_opt("--offset", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &offset) || offset < 0) diag_error(&d, SRCLOC_NONE, "--offset needs an integer >= 0");
    } else if ((v = cli_opt("--count", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &count) || count < 1) diag_error(&d, SRCLOC_NONE, "--count needs an integer >= 1");
    } else diag_error(&d, SRCLOC_NONE, "data: unexpected argument '%s'", argv[i]);
    if (d.nerr) return EXIT_USER;
  }
  if (!images) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  if (strcmp(split, "train") && strcmp(split, "test")) {
    diag_error(&d, SRCLOC_NONE, "--split must be train or test, got '%s'", split);
    return EXIT_USER;
  }
  const char *stem = !strcmp(split, "train") ? "train" : "t10k";
  char ipath[4096], lpath[4096];
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", idx_fashion_dir(), stem);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", idx_fashion_dir(), stem);
  Tensor *x = NULL, *y = NULL;
  int rc = EXIT_USER;
  if (idx_read_images(ipath, offset, count, &x, &d)) goto out;
  if (labels && idx_read_labels(lpath, offset, count, &y, &d)) goto out;
  if (npy_write(images, x, &d)) goto out;
  if (labels && npy_write(labels, y, &d)) goto out;
  printf("wrote %lld %s images to %s%s%s\n", (long long)x->shape.d[0], split, images, labels ? " and labels to " : "",
         labels ? labels : "");
  rc = EXIT_OK;
out:
  tensor_free(x);
  tensor_free(y);
  return rc;
}
