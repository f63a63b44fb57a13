/* schedule.h — per-step schedules of a training scalar: the learning rate, the weight
 * decay, and any scheduled model input (a Gumbel-softmax temperature, a KL weight).
 * A schedule is a small value (Sched) evaluated at step i of a run of `total` steps, so
 * that resuming at step i gives the same value as an uninterrupted run.
 *
 * Shape, for steps i = 0, 1, ...:
 *   warm-up  i < warmup: linear from warmup_start to start, built as numpy's
 *            linspace(warmup_start, start, warmup), endpoints included (BEiT's
 *            utils.cosine_scheduler: warmup_start 0, so the first step has lr 0 and the
 *            last warm-up step has the peak lr).
 *   anneal   j = i - warmup, N = steps (or total - warmup when steps is 0):
 *              constant  start
 *              linear    start + (end - start) * j / N
 *              cosine    end + 0.5 (start - end) (1 + cos(pi j / N))
 *            the cosine is BEiT's formula evaluated in the same order, so the values
 *            agree with numpy's bit for bit; it also runs upwards (start < end), as the
 *            DALL-E dVAE's KL weight does.
 *   after    j >= N: end (constant: start). BEiT never gets there (its schedule has
 *            exactly `total` entries and j < N); DALL-E's "over the first 5,000 updates"
 *            is steps: 5000 and the value holds afterwards. */
#ifndef MIMIC_SCHEDULE_H
#define MIMIC_SCHEDULE_H
#include <stdint.h>

typedef enum SchedKind { SCHED_CONSTANT, SCHED_LINEAR, SCHED_COSINE } SchedKind;

typedef struct Sched {
  SchedKind kind;
  double start;         /* the value when warm-up ends (the peak learning rate) */
  double end;           /* the value the anneal reaches (min_lr, final temperature) */
  int64_t warmup;       /* warm-up steps; 0: none */
  double warmup_start;  /* the first warm-up value (0 in BEiT) */
  int64_t steps;        /* anneal length after warm-up; 0: to the end of the run */
} Sched;

/* BEiT's utils.cosine_scheduler(base, final, ...)[i] for a run of `total` iterations
 * (epochs x iters per epoch) with `warmup` warm-up iterations starting at warmup_start. */
double sched_cosine(double base, double final, int64_t total, int64_t warmup, double warmup_start, int64_t i);
/* BEiT's warm-up length: warmup_steps when > 0, else warmup_epochs x iters_per_epoch. */
int64_t sched_warmup_iters(int64_t warmup_epochs, int64_t iters_per_epoch, int64_t warmup_steps);

/* s at step i (clamped to >= 0) of a run of `total` steps. */
double sched_at(const Sched *s, int64_t total, int64_t i);
/* out[i] = sched_at(s, total, i) for i in [0, total). */
void sched_fill(const Sched *s, int64_t total, double *out);

const char *sched_kind_name(SchedKind k); /* "constant", "linear", "cosine" */
/* 0 and *k set when `name` is one of those; -1 otherwise. */
int sched_kind_parse(const char *name, SchedKind *k);

#endif
