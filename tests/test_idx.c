/* test_idx.c — the IDX reader on files the test writes (plain and gzip, valid and broken)
 * and, where Debian's dataset-fashion-mnist is installed, on the real test set. */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "idx.h"

static char dir[] = "/tmp/mimic-idx-XXXXXX";

static void write_gz(const char *name, const unsigned char *b, size_t n, char *path) {
  sprintf(path, "%s/%s", dir, name);
  gzFile f = gzopen(path, "wb");
  gzwrite(f, b, (unsigned)n);
  gzclose(f);
}

static void test_small(void) {
  /* 3 images of 2x2 and 3 labels */
  unsigned char img[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};
  unsigned char lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
  char ip[256], lp[256];
  write_gz("img.gz", img, sizeof img, ip);
  write_gz("lab.gz", lab, sizeof lab, lp);
  Diag d;
  diag_init(&d);
  Tensor *x, *y;
  CHECK_INT(idx_read_images(ip, 0, -1, &x, &d), 0);
  CHECK_INT(x->shape.rank, 4);
  CHECK_INT(x->shape.d[0], 3);
  CHECK_INT(x->shape.d[1], 1);
  CHECK_INT(x->shape.d[2], 2);
  CHECK_NEAR(tensor_get(x, 1), 1.0, 1e-7);
  CHECK_NEAR(tensor_get(x, 2), 0.2, 1e-7);
  tensor_free(x);
  CHECK_INT(idx_read_images(ip, 1, 1, &x, &d), 0);
  CHECK_INT(x->shape.d[0], 1);
  CHECK_NEAR(tensor_get(x, 0), 1 / 255.0, 1e-7);
  tensor_free(x);
  CHECK_INT(idx_read_labels(lp, 1, 5, &y, &d), 0); /* count clipped to what is there */
  CHECK_INT(y->shape.d[0], 2);
  CHECK_INT(tensor_get(y, 0), 0);
  CHECK_INT(tensor_get(y, 1), 9);
  tensor_free(y);

  d.quiet = 1;
  CHECK_INT(idx_read_labels(ip, 0, -1, &y, &d), -1); /* images are not labels */
  CHECK(strstr(d.last, "not an IDX file of unsigned bytes with 1 dimension") != NULL);
  write_gz("short.gz", img, sizeof img - 3, ip);
  CHECK_INT(idx_read_images(ip, 0, -1, &x, &d), -1);
  CHECK(strstr(d.last, "truncated: the header promises 3 items") != NULL);
  CHECK_INT(idx_read_images(ip, 4, -1, &x, &d), -1);
  CHECK(strstr(d.last, "offset 4 is outside the 3 items") != NULL);
  sprintf(ip, "%s/none.gz", dir);
  CHECK_INT(idx_read_images(ip, 0, -1, &x, &d), -1);
  CHECK(strstr(d.last, "cannot open") != NULL);
}

static void test_fashion(void) {
  char ip[512], lp[512];
  snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", IDX_FASHION_DIR);
  snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", IDX_FASHION_DIR);
  if (access(lp, R_OK)) {
    fprintf(stderr, "skip: %s is not installed\n", lp);
    return;
  }
  Diag d;
  diag_init(&d);
  Tensor *x, *y;
  CHECK_INT(idx_read_labels(lp, 0, -1, &y, &d), 0);
  CHECK_INT(y->shape.d[0], 10000);
  int first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}; /* the test set's first labels */
  for (int i = 0; i < 10; i++) CHECK_INT(tensor_get(y, i), first[i]);
  tensor_free(y);
  CHECK_INT(idx_read_images(ip, 0, 2, &x, &d), 0);
  CHECK_INT(x->shape.d[2], 28);
  CHECK_INT(x->shape.d[3], 28);
  /* row 14 of image 0 starts 00 00 00 00 00 00 02 04 01 00 00 00 62 88 */
  CHECK_NEAR(tensor_get(x, 14 * 28 + 6), 2 / 255.0, 1e-7);
  CHECK_NEAR(tensor_get(x, 14 * 28 + 13), 0x88 / 255.0, 1e-7);
  tensor_free(x);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  RUN(test_small);
  RUN(test_fashion);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return CHECK_DONE();
}
