/* memplan.h — memory planning: place buffers with known live ranges in one arena so that
 * buffers alive at the same time never overlap, and the arena is small.
 *
 * A buffer lives from the step that writes it to the last step that reads it, both
 * included (steps are kernel positions in execution order). memplan_place is "greedy by
 * size": buffers are taken largest first (ties: earlier start, then index), and each goes
 * to the lowest aligned offset where it overlaps no already placed buffer whose live
 * range meets its own. Why this one: the activations of a network are a few large
 * tensors with long lives (kept for the backward pass) among many small short-lived
 * ones; placing the large ones first packs the small ones into the gaps between them.
 * On the default ViT at batch 64 it meets the lower bound (the most bytes alive at any
 * one step) exactly, for inference and for the training step (tests/test_memplan.c
 * measures it on every run). Without fusion that is 41.8 MB of 2,892 MB unplanned
 * (inference) and 1,326 MB of 7,833 MB (training); with fusion 17.2 of 382 MB and 437
 * of 1,712 MB (`mimic stats`; the training step with passes/remat.c).
 *
 * In-place reuse is decided before placement, by the code generator's layout
 * (compiler/codegen/layout.c): an elementwise kernel that is the last reader of a buffer
 * of its own size and dtype, and reads it only at its own index, writes over it; the
 * two become one buffer whose life is the union of theirs, so the plan never sees them
 * as two.
 *
 * memplan_check is the proof: it reports the first pair of buffers that are alive at
 * the same step and share a byte. Code generation runs it on every plan. */
#ifndef MIMIC_MEMPLAN_H
#define MIMIC_MEMPLAN_H
#include <stdint.h>

#include "support/diag.h"

typedef struct MemBuf {
  int64_t bytes;        /* size; 0 takes no space */
  int64_t start, end;   /* live range [start, end] in steps, start <= end */
  int64_t offset;       /* the result: a multiple of the alignment */
} MemBuf;

/* Place every buffer; returns the arena size (a multiple of align, align a power of 2). */
int64_t memplan_place(MemBuf *b, int n, int64_t align);
/* 0 when no two buffers alive at one step overlap and all lie in [0, arena); else -1
 * after reporting the first offending pair (by index). */
int memplan_check(const MemBuf *b, int n, int64_t arena, Diag *d);
/* The most bytes alive at any one step: no placement can use less. */
int64_t memplan_lower_bound(const MemBuf *b, int n);

#endif
