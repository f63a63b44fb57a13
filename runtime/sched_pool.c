/* sched_pool.c — the thread pool of sched_pool.h. */
#include "sched_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SPIN 20000 /* polls of the job counter before a worker sleeps */

struct SchedPool {
  int n;                      /* threads, the caller included */
  pthread_t *tid;             /* the n - 1 workers */
  pthread_mutex_t mu;
  pthread_cond_t wake;        /* a new job, or the end */
  /* the current job, published by the generation bump (release) */
  SchedFn fn;
  char *const *base;
  int64_t extent;
  atomic_ulong gen;           /* bumped per job */
  atomic_int pending;         /* workers still running the current job */
  atomic_int stop;
  struct Worker *w;
};

typedef struct Worker {
  SchedPool *s;
  int t;                      /* its piece: 1 .. n - 1 (the caller takes 0) */
} Worker;

static void piece(SchedPool *s, int t) {
  int64_t lo = s->extent * t / s->n, hi = s->extent * (t + 1) / s->n;
  if (lo < hi) s->fn(s->base, lo, hi);
}

static void *worker(void *arg) {
  Worker *w = arg;
  SchedPool *s = w->s;
  unsigned long seen = 0;
  for (;;) {
    unsigned long g;
    int spins = 0;
    while ((g = atomic_load_explicit(&s->gen, memory_order_acquire)) == seen && !atomic_load(&s->stop)) {
      if (++spins < SPIN) continue;
      pthread_mutex_lock(&s->mu);
      while (atomic_load(&s->gen) == seen && !atomic_load(&s->stop)) pthread_cond_wait(&s->wake, &s->mu);
      pthread_mutex_unlock(&s->mu);
    }
    if (atomic_load(&s->stop)) return NULL;
    seen = g;
    piece(s, w->t);
    atomic_fetch_sub_explicit(&s->pending, 1, memory_order_release);
  }
}

SchedPool *sched_pool_new(int n) {
  if (n < 1) n = 1;
  SchedPool *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->n = n;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->wake, NULL);
  s->tid = calloc((size_t)n, sizeof *s->tid);
  s->w = calloc((size_t)n, sizeof *s->w);
  if (!s->tid || !s->w) {
    sched_pool_free(s);
    return NULL;
  }
  for (int t = 1; t < n; t++) {
    s->w[t] = (Worker){s, t};
    if (pthread_create(&s->tid[t], NULL, worker, &s->w[t])) {
      s->n = t; /* the workers made so far are joined by sched_pool_free */
      sched_pool_free(s);
      return NULL;
    }
  }
  return s;
}

void sched_pool_free(SchedPool *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  atomic_store(&s->stop, 1);
  pthread_cond_broadcast(&s->wake);
  pthread_mutex_unlock(&s->mu);
  for (int t = 1; t < s->n && s->tid; t++) pthread_join(s->tid[t], NULL);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->wake);
  free(s->tid);
  free(s->w);
  free(s);
}

int sched_pool_threads(const SchedPool *s) {
  return s ? s->n : 1;
}

void sched_pool_run(SchedPool *s, SchedFn fn, char *const *base, int64_t extent) {
  if (!s || s->n == 1 || extent < 2) {
    fn(base, 0, extent);
    return;
  }
  s->fn = fn;
  s->base = base;
  s->extent = extent;
  atomic_store_explicit(&s->pending, s->n - 1, memory_order_relaxed);
  pthread_mutex_lock(&s->mu); /* a worker between its last poll and its wait sees this bump */
  atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
  pthread_cond_broadcast(&s->wake);
  pthread_mutex_unlock(&s->mu);
  piece(s, 0);
  while (atomic_load_explicit(&s->pending, memory_order_acquire) > 0) sched_yield();
}

int sched_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}
