/* sched_pool.h — the kernel scheduler's thread pool: each kernel's range split across threads.
 *
 * A pool has n threads: the caller and n - 1 workers, created once (by sched_pool_new) and
 * reused for every kernel of every program run through it. sched_pool_run splits a kernel's
 * range [0, extent) into n contiguous pieces, thread t taking [extent*t/n,
 * extent*(t+1)/n), and returns when all are done. A kernel computes each index of its
 * range the same way whoever calls it and whatever the pieces (the kernel ABI's
 * contract, codegen.h), so results are bitwise identical for every thread count.
 *
 * Workers spin briefly for the next kernel, then sleep on a condition variable: kernels
 * follow each other within microseconds while a program runs, and an idle pool costs
 * nothing. */
#ifndef MIMIC_SCHED_POOL_H
#define MIMIC_SCHED_POOL_H
#include <stdint.h>

typedef struct SchedPool SchedPool;
typedef void (*SchedFn)(char *const *base, int64_t lo, int64_t hi);

/* A pool of n threads (n >= 1; 1 runs everything on the caller). NULL if threads
 * cannot be created. */
SchedPool *sched_pool_new(int n);
void sched_pool_free(SchedPool *s);
int sched_pool_threads(const SchedPool *s);
/* fn(base, lo, hi) over the pieces of [0, extent); s NULL: one call on the caller. */
void sched_pool_run(SchedPool *s, SchedFn fn, char *const *base, int64_t extent);
/* The cores this process may run on (its CPU affinity), at least 1. */
int sched_cores(void);

#endif
