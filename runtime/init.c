/* init.c — weight initializers.
 *
 * Canonical arguments (the front end folds keyword forms and `scale=` into these):
 *   zeros []   ones []   fill [v]   normal [mean, std]
 *   trunc_normal [mean, std, a, b]   (a, b absolute bounds, as timm's trunc_normal_)
 *   uniform [lo, hi]   xavier_uniform [gain]   (fans as PyTorch: [out, in, k...])
 *
 * Randomness: a counter-based generator, splitmix64 over (seed, hash(name), counter), so a
 * weight's values are a pure function of the seed and its name. */
#include "init.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct InitKind {
  const char *name;
  int nargs;
} InitKind;

static const InitKind kinds[] = {
    {"zeros", 0}, {"ones", 0}, {"fill", 1}, {"normal", 2},
    {"trunc_normal", 4}, {"uniform", 2}, {"xavier_uniform", 1},
};

int init_check(const char *kind, int nargs, char *why, size_t whylen) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (strcmp(kinds[i].name, kind)) continue;
    if (kinds[i].nargs == nargs) return 0;
    snprintf(why, whylen, "%s takes %d argument%s, got %d", kind, kinds[i].nargs, kinds[i].nargs == 1 ? "" : "s",
             nargs);
    return -1;
  }
  snprintf(why, whylen, "unknown initializer '%s' (known: zeros, ones, fill, normal, trunc_normal, uniform, "
           "xavier_uniform)", kind);
  return -1;
}

/* ---- a counter-based stream ---- */

typedef struct Stream {
  uint64_t key;     /* from the seed and the weight name */
  uint64_t counter; /* next draw */
} Stream;

static uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
  return h;
}

/* uniform in (0, 1): 53 random bits, never exactly 0 */
static double next_uniform(Stream *s) {
  uint64_t r = mix64(s->key ^ mix64(s->counter++));
  return ((double)(r >> 11) + 0.5) * 0x1.0p-53;
}

static double next_normal(Stream *s) {
  /* Box-Muller; one value per pair keeps the stream position simple */
  double u1 = next_uniform(s), u2 = next_uniform(s);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void fans(const Shape *sh, double *fan_in, double *fan_out) {
  if (sh->rank < 2) {
    *fan_in = *fan_out = sh->rank ? (double)sh->d[0] : 1.0;
    return;
  }
  double rf = 1;
  for (int i = 2; i < sh->rank; i++) rf *= (double)sh->d[i];
  *fan_in = (double)sh->d[1] * rf;
  *fan_out = (double)sh->d[0] * rf;
}

static int fill_weight(const Node *n, uint64_t seed, Tensor *t, Diag *d) {
  const char *kind = ir_attr_s(n, "init");
  int na;
  const double *a = ir_attr_fs(n, "init_args", &na);
  char why[160];
  if (init_check(kind, na, why, sizeof why)) {
    diag_error(d, n->loc, "weight '%s': %s", n->name, why);
    return -1;
  }
  Stream s = {mix64(seed) ^ fnv1a(n->name), 0};
  int64_t count = shape_numel(&t->shape);
  if (!strcmp(kind, "trunc_normal") && !(a[2] < a[3] && a[2] <= a[0] + 6 * a[1] && a[3] >= a[0] - 6 * a[1])) {
    diag_error(d, n->loc, "weight '%s': trunc_normal bounds [%g, %g] leave no mass around mean %g (std %g)", n->name,
               a[2], a[3], a[0], a[1]);
    return -1;
  }
  if (!strcmp(kind, "uniform") && !(a[0] <= a[1])) {
    diag_error(d, n->loc, "weight '%s': uniform needs lo <= hi, got [%g, %g]", n->name, a[0], a[1]);
    return -1;
  }
  double fi, fo;
  fans(&t->shape, &fi, &fo);
  double bound = na && !strcmp(kind, "xavier_uniform") ? a[0] * sqrt(6.0 / (fi + fo > 0 ? fi + fo : 1)) : 0;
  for (int64_t i = 0; i < count; i++) {
    double v = 0;
    if (!strcmp(kind, "ones")) v = 1;
    else if (!strcmp(kind, "fill")) v = a[0];
    else if (!strcmp(kind, "normal")) v = a[0] + a[1] * next_normal(&s);
    else if (!strcmp(kind, "uniform")) v = a[0] + (a[1] - a[0]) * next_uniform(&s);
    else if (!strcmp(kind, "xavier_uniform")) v = -bound + 2 * bound * next_uniform(&s);
    else if (!strcmp(kind, "trunc_normal")) {
      /* rejection: exact for any bounds; the check above keeps the acceptance rate sane */
      do v = a[0] + a[1] * next_normal(&s);
      while (v < a[2] || v > a[3]);
    }
    tensor_set(t, i, v);
  }
  return 0;
}

int init_weights(const Graph *g, uint64_t seed, TensorSet *out, Diag *d) {
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    Tensor *t = tensor_new(n->dtype, n->shape);
    if (fill_weight(n, seed, t, d)) {
      tensor_free(t);
      return -1;
    }
    tset_put(out, n->name, t);
  }
  return 0;
}
