/* memplan.c — greedy-by-size placement of buffers with live ranges, and its checker
 * (see memplan.h). */
#include "memplan.h"

#include <stdlib.h>

static int64_t round_up(int64_t v, int64_t align) {
  return (v + align - 1) & ~(align - 1);
}

static int meets(const MemBuf *a, const MemBuf *b) {
  return a->start <= b->end && b->start <= a->end;
}

/* qsort_r comparators; ctx is the buffer array */
static int by_size(const void *x, const void *y, void *ctx) {
  const MemBuf *base = ctx, *a = &base[*(const int *)x], *b = &base[*(const int *)y];
  if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return *(const int *)x - *(const int *)y;
}

static int by_offset(const void *x, const void *y, void *ctx) {
  const MemBuf *base = ctx, *a = &base[*(const int *)x], *b = &base[*(const int *)y];
  if (a->offset != b->offset) return a->offset < b->offset ? -1 : 1;
  return *(const int *)x - *(const int *)y;
}

int64_t memplan_place(MemBuf *b, int n, int64_t align) {
  int *order = malloc(sizeof *order * (size_t)(n ? n : 1));
  int *placed = malloc(sizeof *placed * (size_t)(n ? n : 1)); /* placed buffers, by offset */
  int *near = malloc(sizeof *near * (size_t)(n ? n : 1));
  if (!order || !placed || !near) abort();
  for (int i = 0; i < n; i++) order[i] = i;
  qsort_r(order, (size_t)n, sizeof *order, by_size, b);
  int np = 0;
  int64_t arena = 0;
  for (int k = 0; k < n; k++) {
    MemBuf *x = &b[order[k]];
    x->offset = 0;
    if (x->bytes == 0) continue;
    int64_t need = round_up(x->bytes, align);
    /* the placed buffers alive with x, in offset order: take the first gap that fits */
    int nn = 0;
    for (int j = 0; j < np; j++)
      if (meets(&b[placed[j]], x)) near[nn++] = placed[j];
    int64_t at = 0;
    for (int j = 0; j < nn; j++) {
      const MemBuf *y = &b[near[j]];
      if (y->offset >= at + need) break; /* the gap before y fits */
      int64_t end = round_up(y->offset + y->bytes, align);
      if (end > at) at = end;
    }
    x->offset = at;
    if (at + need > arena) arena = at + need;
    /* keep `placed` sorted by offset */
    int pos = np;
    while (pos > 0 && (b[placed[pos - 1]].offset > at || (b[placed[pos - 1]].offset == at && placed[pos - 1] > order[k])))
      pos--;
    for (int j = np; j > pos; j--) placed[j] = placed[j - 1];
    placed[pos] = order[k];
    np++;
  }
  free(order);
  free(placed);
  free(near);
  return arena;
}

int memplan_check(const MemBuf *b, int n, int64_t arena, Diag *d) {
  int *order = malloc(sizeof *order * (size_t)(n ? n : 1));
  if (!order) abort();
  int nz = 0;
  for (int i = 0; i < n; i++)
    if (b[i].bytes > 0) order[nz++] = i;
  qsort_r(order, (size_t)nz, sizeof *order, by_offset, (void *)b);
  int rc = 0;
  for (int k = 0; k < nz && !rc; k++) {
    const MemBuf *x = &b[order[k]];
    if (x->offset < 0 || x->offset + x->bytes > arena) {
      diag_error(d, SRCLOC_NONE, "internal error: memory plan: buffer %d [%lld, +%lld) lies outside the arena (%lld bytes)",
                 order[k], (long long)x->offset, (long long)x->bytes, (long long)arena);
      rc = -1;
    }
    /* every later buffer that starts inside x must not be alive with it */
    for (int j = k + 1; j < nz && !rc && b[order[j]].offset < x->offset + x->bytes; j++)
      if (meets(x, &b[order[j]])) {
        const MemBuf *y = &b[order[j]];
        diag_error(d, SRCLOC_NONE,
                   "internal error: memory plan: buffers %d (bytes [%lld, %lld), steps %lld..%lld) and %d (bytes "
                   "[%lld, %lld), steps %lld..%lld) are alive together and overlap",
                   order[k], (long long)x->offset, (long long)(x->offset + x->bytes), (long long)x->start,
                   (long long)x->end, order[j], (long long)y->offset, (long long)(y->offset + y->bytes),
                   (long long)y->start, (long long)y->end);
        rc = -1;
      }
  }
  free(order);
  return rc;
}

int64_t memplan_lower_bound(const MemBuf *b, int n) {
  int64_t steps = 0;
  for (int i = 0; i < n; i++)
    if (b[i].end + 1 > steps) steps = b[i].end + 1;
  int64_t *delta = calloc((size_t)(steps + 1), sizeof *delta), best = 0, cur = 0;
  if (!delta) abort();
  for (int i = 0; i < n; i++) {
    delta[b[i].start] += b[i].bytes;
    delta[b[i].end + 1] -= b[i].bytes;
  }
  for (int64_t s = 0; s < steps; s++) {
    cur += delta[s];
    if (cur > best) best = cur;
  }
  free(delta);
  return best;
}
