/* peak.c — the machine's fp32 multiply-add roof, measured: each thread runs ACC
 * independent vector multiply-add chains (enough to hide the FMA latency) for a fixed
 * number of steps, and the program prints GFLOP/s over all threads. bench/sgemm.py
 * builds it with -O2 -march=native -ffp-contract=fast and reports GEMM speeds as a
 * fraction of it.
 *   usage: peak THREADS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define VW 16       /* floats per vector: 64 bytes (AVX-512; the compiler splits it on AVX2) */
#define ACC 12      /* independent chains */
#define STEPS 40000000L

typedef float vf __attribute__((vector_size(VW * sizeof(float))));

static void *run(void *arg) {
  static volatile float seed = 0.999999f; /* opaque: nothing folds */
  vf a, b;
  for (int i = 0; i < VW; i++) a[i] = 1.0f + 1e-7f * (float)i, b[i] = seed;
  /* ACC accumulators as separate variables so that they stay in registers */
  vf c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6;
  vf c6 = a * 7, c7 = a * 8, c8 = a * 9, c9 = a * 10, c10 = a * 11, c11 = a * 12;
  for (long s = 0; s < STEPS; s++) { /* one fma each (-ffp-contract=fast) */
    c0 = c0 * b + a, c1 = c1 * b + a, c2 = c2 * b + a, c3 = c3 * b + a, c4 = c4 * b + a, c5 = c5 * b + a;
    c6 = c6 * b + a, c7 = c7 * b + a, c8 = c8 * b + a, c9 = c9 * b + a, c10 = c10 * b + a, c11 = c11 * b + a;
  }
  vf sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  float total = 0;
  for (int i = 0; i < VW; i++) total += sum[i];
  *(float *)arg = total;
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  if (n < 1 || n > 256) n = 1;
  pthread_t t[256];
  float sink[256];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, run, &sink[i]);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  double flops = 2.0 * VW * ACC * (double)STEPS * n;
  printf("%.2f GFLOP/s (%d threads, %.3f s, checksum %g)\n", flops / s / 1e9, n, s, (double)sink[0]);
  return 0;
}
