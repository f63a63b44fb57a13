/* schedule.c — per-step schedules (warm-up, then constant, linear or cosine); see
 * schedule.h. */
#include "schedule.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {"constant", "linear", "cosine"};

int64_t sched_warmup_iters(int64_t warmup_epochs, int64_t iters_per_epoch, int64_t warmup_steps) {
  return warmup_steps > 0 ? warmup_steps : warmup_epochs * iters_per_epoch;
}

/* numpy.linspace(a, b, n)[i], endpoints included: i * step + a, the last one exactly b. */
static double linspace_at(double a, double b, int64_t n, int64_t i) {
  if (n == 1) return a;
  if (i == n - 1) return b;
  double step = (b - a) / (double)(n - 1);
  return (double)i * step + a;
}

double sched_at(const Sched *s, int64_t total, int64_t i) {
  if (i < 0) i = 0;
  int64_t w = s->warmup > 0 ? s->warmup : 0;
  if (i < w) return linspace_at(s->warmup_start, s->start, w, i);
  int64_t j = i - w, n = s->steps > 0 ? s->steps : total - w;
  if (s->kind == SCHED_CONSTANT) return s->start;
  if (j >= n) return s->end; /* n <= 0 too: nothing left to anneal over */
  if (s->kind == SCHED_LINEAR) return s->start + (s->end - s->start) * (double)j / (double)n;
  /* BEiT: final_value + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / len(iters))) */
  return s->end + 0.5 * (s->start - s->end) * (1 + cos(M_PI * (double)j / (double)n));
}

double sched_cosine(double base, double final, int64_t total, int64_t warmup, double warmup_start, int64_t i) {
  Sched s = {.kind = SCHED_COSINE, .start = base, .end = final, .warmup = warmup, .warmup_start = warmup_start};
  return sched_at(&s, total, i);
}

void sched_fill(const Sched *s, int64_t total, double *out) {
  for (int64_t i = 0; i < total; i++) out[i] = sched_at(s, total, i);
}

const char *sched_kind_name(SchedKind k) {
  return (unsigned)k < 3 ? kind_names[k] : "?";
}

int sched_kind_parse(const char *name, SchedKind *k) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(name, kind_names[i])) {
      *k = (SchedKind)i;
      return 0;
    }
  return -1;
}
