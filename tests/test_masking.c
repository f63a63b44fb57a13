/* test_masking.c — BEiT's blockwise masks and the random ones (runtime/masking.h): the
 * statistics of shared/BEIT.md section 1, the shape of every placed block, determinism
 * by (seed, index), the exact count of random masks, the 7x7 grid of Fashion-MNIST, and
 * the rejection of bad parameters. */
#include <stdlib.h>

#include "check.h"
#include "masking.h"

#define SAMPLES 20000

/* Mask and block list agree: every block is a rectangle inside the grid, strictly lower
 * and narrower than it, of at least one cell, and the blocks' union is the mask. */
static int blocks_ok(const MaskGen *g, const uint8_t *mask, const MaskBlock *b, int nb) {
  int cells = mask_cells(g);
  uint8_t *cover = calloc((size_t)cells, 1);
  int ok = 1;
  for (int i = 0; i < nb; i++) {
    if (b[i].h < 1 || b[i].w < 1 || b[i].h >= g->height || b[i].w >= g->width || b[i].top < 0 || b[i].left < 0 ||
        b[i].top + b[i].h > g->height || b[i].left + b[i].w > g->width) {
      ok = 0;
      break;
    }
    for (int y = b[i].top; y < b[i].top + b[i].h; y++)
      for (int x = b[i].left; x < b[i].left + b[i].w; x++) cover[y * g->width + x] = 1;
  }
  if (ok) ok = !memcmp(cover, mask, (size_t)cells);
  free(cover);
  return ok;
}

static int popcount(const uint8_t *m, int n) {
  int c = 0;
  for (int i = 0; i < n; i++) c += m[i];
  return c;
}

/* BEIT.md, from 20,000 samples of the reference loop (seed 0): exactly 75 in 66.6%, 74
 * in 23%, 73 in 5%, 72 in 3.5%; mean 74.47, minimum 64; blocks mostly 3-5 (1-12).
 * Measured here (seed 0, samples 0..19999): exactly 75 in 66.8%, 74 in 23.1%, 73 in
 * 4.9%, 72 in 3.5%; mean 74.477, minimum 62, maximum 75; blocks per image 1: 1.2%,
 * 2: 12.2%, 3: 22.0%, 4: 26.9%, 5: 20.7%, 6: 11.1%, 7: 4.3%, 8+: 1.6% (3-5: 69.6%,
 * mean 4.13, range 1-11). Seeds 1-5 give 66.1-66.9% at 75 and means 74.462-74.477. A
 * restatement in Python with its own `random` (seed 0) gave 66.6%, 23.3%, 4.9%, 3.5%,
 * mean 74.473 and blocks 1.1/12.4/22.5/26.7/20.4/11.2/4.0/1.3%: the same distribution.
 * The bounds below allow about four standard errors of sampling noise or more. */
static void test_beit_statistics(void) {
  Diag d;
  diag_init(&d);
  MaskGen g;
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, MASK_BEIT_COUNT, MASK_BEIT_MIN_BLOCK, 0, MASK_BEIT_MIN_ASPECT, 0, &d), 0);
  CHECK_INT(g.max_block, 75);
  uint8_t mask[196];
  MaskBlock blocks[75];
  int hist[76] = {0}, bhist[76] = {0}, bad = 0, lo = 75, hi = 0, minb = 75, maxb = 0;
  double sum = 0, bsum = 0;
  for (int s = 0; s < SAMPLES; s++) {
    int nb = -1, n = mask_sample(&g, (uint64_t)s, mask, blocks, &nb);
    if (n < 0 || n > 75 || n != popcount(mask, 196) || nb < 1 || !blocks_ok(&g, mask, blocks, nb)) {
      bad++;
      continue;
    }
    hist[n]++;
    bhist[nb]++;
    sum += n;
    bsum += nb;
    lo = n < lo ? n : lo;
    hi = n > hi ? n : hi;
    minb = nb < minb ? nb : minb;
    maxb = nb > maxb ? nb : maxb;
  }
  CHECK_INT(bad, 0);
  double f75 = hist[75] / (double)SAMPLES, f74 = hist[74] / (double)SAMPLES, f73 = hist[73] / (double)SAMPLES,
         f72 = hist[72] / (double)SAMPLES, mean = sum / SAMPLES;
  double f35 = (bhist[3] + bhist[4] + bhist[5]) / (double)SAMPLES;
  fprintf(stderr,
          "  14x14/75/16: =75 %.1f%%, 74 %.1f%%, 73 %.1f%%, 72 %.1f%%, mean %.3f, min %d, max %d; "
          "blocks 3-5 %.1f%%, mean %.2f, range %d-%d\n",
          100 * f75, 100 * f74, 100 * f73, 100 * f72, mean, lo, hi, 100 * f35, bsum / SAMPLES, minb, maxb);
  CHECK(f75 > 0.64 && f75 < 0.69);
  CHECK(f74 > 0.21 && f74 < 0.25);
  CHECK(f73 > 0.04 && f73 < 0.06);
  CHECK(f72 > 0.025 && f72 < 0.045);
  CHECK(mean > 74.40 && mean < 74.55);
  CHECK_INT(hi, 75);
  CHECK(lo >= 50);
  CHECK(f35 > 0.67 && f35 < 0.72);
  CHECK(bsum / SAMPLES > 4.05 && bsum / SAMPLES < 4.21);
  CHECK(minb >= 1 && maxb <= 14);
}

static void test_determinism(void) {
  Diag d;
  diag_init(&d);
  MaskGen a, b, c;
  CHECK_INT(mask_init(&a, MASK_BLOCK, 14, 14, 75, 16, 0, 0.3, 7, &d), 0);
  CHECK_INT(mask_init(&b, MASK_BLOCK, 14, 14, 75, 16, 0, 0.3, 7, &d), 0);
  CHECK_INT(mask_init(&c, MASK_BLOCK, 14, 14, 75, 16, 0, 0.3, 8, &d), 0);
  enum { B = 16 };
  uint8_t ma[B * 196], mb[B * 196], mc[B * 196], one[196];
  int64_t ta = mask_batch(&a, 3, B, ma), tb = mask_batch(&b, 3, B, mb);
  CHECK_INT(ta, tb);
  CHECK(!memcmp(ma, mb, sizeof ma)); /* same seed: same masks */
  mask_batch(&c, 3, B, mc);
  CHECK(memcmp(ma, mc, sizeof ma) != 0); /* another seed: others */
  int same = 0;
  for (int k = 0; k < B; k++) same += !memcmp(ma + k * 196, mc + k * 196, 196);
  CHECK(same <= 1);
  mask_batch(&a, 4, B, mb);
  CHECK(memcmp(ma, mb, sizeof ma) != 0); /* another step: others */
  /* batch `step` holds samples step * batch + k, and a sample does not depend on what
   * was drawn before it */
  int64_t total = 0;
  for (int k = B - 1; k >= 0; k--) {
    total += mask_sample(&a, 3 * B + (uint64_t)k, one, NULL, NULL);
    CHECK(!memcmp(one, ma + k * 196, 196));
  }
  CHECK_INT(total, ta);

  /* the same masks as tensors: f32 [batch, cells], bool [batch, 14, 14] */
  Tensor *f = tensor_new(DT_F32, (Shape){2, {B, 196}});
  Tensor *t = tensor_new(DT_BOOL, (Shape){3, {B, 14, 14}});
  CHECK_INT(mask_fill(&a, 3, f, &d), ta);
  CHECK_INT(mask_fill(&a, 3, t, &d), ta);
  int diff = 0;
  for (int i = 0; i < B * 196; i++) diff += tensor_get(f, i) != ma[i] || tensor_get(t, i) != ma[i];
  CHECK_INT(diff, 0);
  tensor_free(f);
  tensor_free(t);
  d.quiet = 1;
  Tensor *w = tensor_new(DT_F32, (Shape){2, {B, 195}});
  CHECK_INT(mask_fill(&a, 0, w, &d), -1);
  CHECK(strstr(d.last, "must be [batch, 196]") != NULL);
  tensor_free(w);
  Tensor *l = tensor_new(DT_I64, (Shape){2, {B, 196}});
  CHECK_INT(mask_fill(&a, 0, l, &d), -1);
  CHECK(strstr(d.last, "not i64") != NULL);
  tensor_free(l);
}

static void test_random(void) {
  Diag d;
  diag_init(&d);
  MaskGen g;
  CHECK_INT(mask_init(&g, MASK_RANDOM, 14, 14, 75, 0, 0, 0, 5, &d), 0);
  uint8_t mask[196], again[196];
  static int freq[196];
  int bad = 0;
  for (int s = 0; s < SAMPLES; s++) {
    int nb = -1;
    int n = mask_sample(&g, (uint64_t)s, mask, NULL, &nb);
    bad += n != 75 || popcount(mask, 196) != 75 || nb != 0; /* 0/1 cells: 75 distinct ones */
    for (int i = 0; i < 196; i++) freq[i] += mask[i];
  }
  CHECK_INT(bad, 0);
  /* every cell is masked with probability 75/196; binomial sd over 20,000 is 0.0034 */
  double worst = 0;
  for (int i = 0; i < 196; i++) {
    double e = fabs(freq[i] / (double)SAMPLES - 75.0 / 196);
    worst = e > worst ? e : worst;
  }
  fprintf(stderr, "  random 14x14/75: largest deviation of a cell's frequency from 75/196: %.4f\n", worst);
  CHECK(worst < 0.017);
  mask_sample(&g, 11, mask, NULL, NULL);
  mask_sample(&g, 11, again, NULL, NULL);
  CHECK(!memcmp(mask, again, 196));
  /* the ends: none and all */
  CHECK_INT(mask_init(&g, MASK_RANDOM, 7, 7, 0, 0, 0, 0, 5, &d), 0);
  CHECK_INT(mask_sample(&g, 0, mask, NULL, NULL), 0);
  CHECK_INT(popcount(mask, 49), 0);
  CHECK_INT(mask_init(&g, MASK_RANDOM, 7, 7, 49, 0, 0, 0, 5, &d), 0);
  CHECK_INT(mask_sample(&g, 0, mask, NULL, NULL), 49);
  CHECK_INT(popcount(mask, 49), 49);
}

/* Fashion-MNIST: 28x28 images in 4x4 patches make a 7x7 grid; 0.4 * 49 = 19.6, so 20
 * masked in blocks of 4 or more. Measured (seed 1, 20,000 samples): exactly 20 in 97.1%,
 * mean 19.970, minimum 18; blocks mean 3.56, range 1-9 (the Python restatement: 97.2%,
 * mean 19.971, minimum 18). */
static void test_fashion_grid(void) {
  Diag d;
  diag_init(&d);
  MaskGen g;
  CHECK_INT(mask_init(&g, MASK_BLOCK, 7, 7, 20, 4, 0, 0.3, 1, &d), 0);
  uint8_t mask[49];
  MaskBlock blocks[20];
  int bad = 0, full = 0, lo = 20, minb = 20, maxb = 0;
  double sum = 0, bsum = 0;
  for (int s = 0; s < SAMPLES; s++) {
    int nb, n = mask_sample(&g, (uint64_t)s, mask, blocks, &nb);
    bad += n > 20 || n != popcount(mask, 49) || !blocks_ok(&g, mask, blocks, nb);
    full += n == 20;
    sum += n;
    bsum += nb;
    lo = n < lo ? n : lo;
    minb = nb < minb ? nb : minb;
    maxb = nb > maxb ? nb : maxb;
  }
  fprintf(stderr, "  7x7/20/4: =20 %.1f%%, mean %.3f, min %d; blocks mean %.2f, range %d-%d\n",
          100.0 * full / SAMPLES, sum / SAMPLES, lo, bsum / SAMPLES, minb, maxb);
  CHECK_INT(bad, 0);
  CHECK(full > SAMPLES * 0.95);
  CHECK(sum / SAMPLES > 19.9);
  CHECK(lo >= 4);
  /* a cap on the block size makes more, smaller blocks */
  CHECK_INT(mask_init(&g, MASK_BLOCK, 7, 7, 20, 4, 6, 0.3, 1, &d), 0);
  int nb, n = mask_sample(&g, 0, mask, blocks, &nb);
  CHECK(n <= 20 && blocks_ok(&g, mask, blocks, nb));
  CHECK(nb * 6 >= n); /* each block adds at most 6 cells (it may overlap others) */
  /* a tiny grid with everything masked that fits: still terminates */
  CHECK_INT(mask_init(&g, MASK_BLOCK, 2, 2, 4, 1, 0, 0.3, 1, &d), 0);
  n = mask_sample(&g, 0, mask, blocks, &nb);
  CHECK(n >= 1 && n <= 4 && blocks_ok(&g, mask, blocks, nb));
}

static void test_bad_parameters(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  MaskGen g;
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, 197, 16, 0, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "cannot mask 197 patches of a 14x14 grid (0 to 196)") != NULL);
  CHECK_INT(mask_init(&g, MASK_RANDOM, 7, 7, 50, 0, 0, 0, 0, &d), -1);
  CHECK(strstr(d.last, "cannot mask 50 patches") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, 10, 16, 0, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "smallest block (16 patches) must be 1 to the masked count (10)") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 0, 14, 10, 4, 0, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "patch grid 0x14 is not a positive size") != NULL);
  CHECK_INT(mask_init(&g, MASK_RANDOM, 7, -7, 10, 4, 0, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "patch grid 7x-7") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, 75, 16, 8, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "largest block (8 patches) is below the smallest (16)") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, 75, 16, 0, 0.0, 0, &d), -1);
  CHECK(strstr(d.last, "smallest aspect ratio 0 is not in (0, 1]") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, 75, 16, 0, 2.0, 0, &d), -1);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 1, 14, 5, 2, 0, 0.3, 0, &d), -1);
  CHECK(strstr(d.last, "no block fits a 1x14 grid") != NULL);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 14, 14, -1, 16, 0, 0.3, 0, &d), -1);
  CHECK_INT(mask_init(&g, MASK_BLOCK, 100000, 100000, 5, 2, 0, 0.3, 0, &d), -1);
  CHECK_INT(d.nerr, 11);
  /* a random mask has no blocks, so their parameters do not matter */
  CHECK_INT(mask_init(&g, MASK_RANDOM, 1, 14, 5, 0, 0, 0, 0, &d), 0);
}

int main(void) {
  RUN(test_beit_statistics);
  RUN(test_determinism);
  RUN(test_random);
  RUN(test_fashion_grid);
  RUN(test_bad_parameters);
  return CHECK_DONE();
}
