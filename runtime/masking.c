/* masking.c — BEiT's blockwise masks and uniform random masks (see masking.h).
 *
 * The block generator follows beit/masking_generator.py draw for draw: the same draws in
 * the same order, with Python's semantics for each (random.uniform, random.randint,
 * banker's rounding), so only the underlying bit source differs (Philox here, the
 * Mersenne Twister there; BEiT never seeds it, so bit-for-bit equality was never the
 * point, but the statistics in shared/BEIT.md must and do match). */
#include "masking.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "philox.h"

/* Philox streams, distinct from dataset.c's, so masks never share numbers with batches */
#define STREAM_BLOCK 0x4D41534Bu  /* "MASK" */
#define STREAM_RANDOM 0x4D524E44u /* "MRND" */

/* Python's masking_generator.py gives up placing a block after this many attempts. */
#define MAX_ATTEMPTS 10

/* The random words of one sample: Philox blocks keyed by (seed, stream), counter
 * (block number, 0, index low, index high). A sample needs an unbounded (in practice a
 * few hundred) number of words, so the sample index sits in the counter's upper half
 * and the lower half counts blocks; every sample owns 2^32 blocks of its own. */
typedef struct Rng {
  uint32_t key[2];
  uint64_t index;  /* the sample */
  uint32_t block;  /* Philox blocks consumed */
  uint32_t buf[4]; /* the current block's output */
  int left;        /* words of buf not yet handed out */
} Rng;

static void rng_init(Rng *r, uint32_t seed, uint32_t stream, uint64_t index) {
  memset(r, 0, sizeof *r);
  r->key[0] = seed;
  r->key[1] = stream;
  r->index = index;
}

static uint32_t next_word(Rng *r) {
  if (!r->left) {
    uint32_t ctr[4] = {r->block++, 0, (uint32_t)r->index, (uint32_t)(r->index >> 32)};
    philox_4x32_10(ctr, r->key, r->buf);
    r->left = 4;
  }
  return r->buf[4 - r->left--];
}

/* random.random(): 53 random bits in [0, 1), built from two words exactly as CPython's
 * genrand_res53 builds them (27 + 26 bits). philox_to_unit's 24 bits would make the
 * area and aspect draws visibly coarser than Python's. */
static double unit(Rng *r) {
  uint32_t a = next_word(r) >> 5, b = next_word(r) >> 6;
  return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* random.uniform(a, b) = a + (b - a) * random(): for b < a it falls in [b, a], which the
 * block generator relies on when the budget drops below the smallest block. */
static double uniform(Rng *r, double a, double b) {
  return a + (b - a) * unit(r);
}

/* A uniform integer in [0, n), n >= 1, without modulo bias (random.randint is unbiased):
 * words at or above the largest multiple of n are drawn again. */
static uint32_t below(Rng *r, uint32_t n) {
  uint32_t limit = (uint32_t)(-n % n); /* 2^32 mod n: the words to reject, at the bottom */
  for (;;) {
    uint32_t w = next_word(r);
    if (w >= limit) return w % n;
  }
}

/* random.randint(lo, hi): both ends included. */
static int randint(Rng *r, int lo, int hi) {
  return lo + (int)below(r, (uint32_t)(hi - lo + 1));
}

int mask_init(MaskGen *g, MaskKind kind, int height, int width, int count, int min_block, int max_block,
              double min_aspect, uint32_t seed, Diag *d) {
  memset(g, 0, sizeof *g);
  if (height < 1 || width < 1 || (int64_t)height * width > 1 << 24) {
    diag_error(d, SRCLOC_NONE, "masking: the patch grid %dx%d is not a positive size of at most 2^24 cells",
               height, width);
    return -1;
  }
  int cells = height * width;
  if (count < 0 || count > cells) {
    diag_error(d, SRCLOC_NONE, "masking: cannot mask %d patches of a %dx%d grid (0 to %d)", count, height, width,
               cells);
    return -1;
  }
  if (max_block <= 0) max_block = count; /* BEiT's None */
  if (kind == MASK_BLOCK) {
    if (min_block < 1 || min_block > count) {
      diag_error(d, SRCLOC_NONE, "masking: the smallest block (%d patches) must be 1 to the masked count (%d)",
                 min_block, count);
      return -1;
    }
    if (max_block < min_block) {
      diag_error(d, SRCLOC_NONE, "masking: the largest block (%d patches) is below the smallest (%d)", max_block,
                 min_block);
      return -1;
    }
    if (!(min_aspect > 0 && min_aspect <= 1)) {
      diag_error(d, SRCLOC_NONE, "masking: the smallest aspect ratio %g is not in (0, 1]", min_aspect);
      return -1;
    }
    /* A block must be strictly lower and narrower than the grid; with a side of 1 every
     * attempt fails and every mask would silently be empty. */
    if (count > 0 && (height < 2 || width < 2)) {
      diag_error(d, SRCLOC_NONE, "masking: no block fits a %dx%d grid (blocks must be smaller than the grid)",
                 height, width);
      return -1;
    }
  } else if (kind != MASK_RANDOM) {
    diag_error(d, SRCLOC_NONE, "masking: unknown kind %d", (int)kind);
    return -1;
  }
  g->kind = kind;
  g->height = height;
  g->width = width;
  g->count = count;
  g->min_block = min_block;
  g->max_block = max_block;
  g->min_aspect = min_aspect;
  g->seed = seed;
  return 0;
}

int mask_cells(const MaskGen *g) {
  return g->height * g->width;
}

/* BEiT's _mask: up to ten attempts to add one block that adds between 1 and `budget` new
 * cells. Returns the cells it added (0: every attempt failed). */
static int place_block(const MaskGen *g, Rng *r, uint8_t *mask, int budget, MaskBlock *placed) {
  double lo = log(g->min_aspect), hi = log(1.0 / g->min_aspect);
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    double area = uniform(r, g->min_block, budget);
    double aspect = exp(uniform(r, lo, hi));
    /* nearbyint rounds halves to even under the default rounding mode, as Python's round
     * does; C's round() would round them away from zero. Compared as doubles before the
     * conversion so that an extreme aspect ratio cannot overflow an int. */
    double hd = nearbyint(sqrt(area * aspect)), wd = nearbyint(sqrt(area / aspect));
    if (!(wd < g->width && hd < g->height)) continue; /* strict: never the full side */
    int h = (int)hd, w = (int)wd;
    int top = randint(r, 0, g->height - h), left = randint(r, 0, g->width - w);
    int already = 0;
    for (int y = top; y < top + h; y++)
      for (int x = left; x < left + w; x++) already += mask[y * g->width + x];
    int added = h * w - already;
    if (added <= 0 || added > budget) continue;
    for (int y = top; y < top + h; y++)
      for (int x = left; x < left + w; x++) mask[y * g->width + x] = 1;
    *placed = (MaskBlock){top, left, h, w};
    return added;
  }
  return 0;
}

static int block_mask(const MaskGen *g, uint64_t index, uint8_t *mask, MaskBlock *blocks, int *nblocks) {
  Rng r;
  rng_init(&r, g->seed, STREAM_BLOCK, index);
  int masked = 0, n = 0;
  while (masked < g->count) {
    int budget = g->count - masked < g->max_block ? g->count - masked : g->max_block;
    MaskBlock b;
    int added = place_block(g, &r, mask, budget, &b);
    if (!added) break; /* BEiT stops here, so a mask may fall short of the count */
    masked += added;
    if (blocks) blocks[n] = b;
    n++;
  }
  if (nblocks) *nblocks = n;
  return masked;
}

/* Partial Fisher-Yates: the first `count` places of a shuffled index list. */
static int random_mask(const MaskGen *g, uint64_t index, uint8_t *mask) {
  int cells = mask_cells(g);
  int *order = malloc(sizeof *order * (size_t)cells);
  if (!order) abort();
  for (int i = 0; i < cells; i++) order[i] = i;
  Rng r;
  rng_init(&r, g->seed, STREAM_RANDOM, index);
  for (int i = 0; i < g->count; i++) {
    int j = i + (int)below(&r, (uint32_t)(cells - i)), t = order[i];
    order[i] = order[j];
    order[j] = t;
    mask[order[i]] = 1;
  }
  free(order);
  return g->count;
}

int mask_sample(const MaskGen *g, uint64_t index, uint8_t *mask, MaskBlock *blocks, int *nblocks) {
  memset(mask, 0, (size_t)mask_cells(g));
  if (g->kind == MASK_BLOCK) return block_mask(g, index, mask, blocks, nblocks);
  if (nblocks) *nblocks = 0;
  return random_mask(g, index, mask);
}

/* Sample numbers run on across batches, so batch `step` is a pure function of the step
 * (and of the batch size, which a training run keeps fixed). */
static uint64_t sample_index(int64_t step, int64_t batch, int64_t k) {
  return (uint64_t)step * (uint64_t)batch + (uint64_t)k;
}

int64_t mask_batch(const MaskGen *g, int64_t step, int64_t batch, uint8_t *out) {
  int64_t total = 0, cells = mask_cells(g);
  for (int64_t k = 0; k < batch; k++)
    total += mask_sample(g, sample_index(step, batch, k), out + k * cells, NULL, NULL);
  return total;
}

int64_t mask_fill(const MaskGen *g, int64_t step, Tensor *out, Diag *d) {
  int64_t cells = mask_cells(g), numel = shape_numel(&out->shape);
  int64_t batch = out->shape.rank >= 1 ? out->shape.d[0] : -1;
  if (batch < 0 || numel != batch * cells) {
    diag_error(d, SRCLOC_NONE, "masking: a mask tensor must be [batch, %lld] (a %dx%d grid per sample)",
               (long long)cells, g->height, g->width);
    return -1;
  }
  if (out->dtype != DT_F32 && out->dtype != DT_F64 && out->dtype != DT_I32 && out->dtype != DT_BOOL) {
    diag_error(d, SRCLOC_NONE, "masking: a mask tensor must be f32, f64, i32 or bool, not %s",
               dtype_name(out->dtype));
    return -1;
  }
  if (out->dtype == DT_BOOL) return mask_batch(g, step, batch, out->data); /* bool is one byte, 0/1 */
  uint8_t *row = malloc((size_t)cells);
  if (!row) abort();
  int64_t total = 0;
  for (int64_t k = 0; k < batch; k++) {
    total += mask_sample(g, sample_index(step, batch, k), row, NULL, NULL);
    for (int64_t i = 0; i < cells; i++) tensor_set(out, k * cells + i, row[i]);
  }
  free(row);
  return total;
}
