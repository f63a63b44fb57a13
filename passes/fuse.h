/* fuse.h — which values are computed inside the kernels that use them instead of being
 * stored (loop fusion by inlining producers into consumers).
 *
 * A kernel reads its inputs element by element at indices it computes. When an input is
 * an elementwise op, a movement op or a constant, the kernel can compute that element on
 * the spot from the input's own inputs instead of loading it: the producer's loop nest
 * disappears into the consumer's, with its buffer and its trip through memory. Chains of
 * such ops become one loop; a reduction absorbs the elementwise ops that feed it (the
 * square in a variance, the subtraction in a softmax), and an elementwise kernel absorbs
 * the broadcasts and reshapes around it (a bias add, a layer-norm's scale and shift).
 *
 * The rules (fuse_inline gives 1 to each node that is inlined):
 *   1. Graph outputs, inputs, weights, reductions, concat, indexing ops, contractions
 *      and random are never inlined: they are the kernels.
 *   2. A reshape that is not an output is always inlined: it reads the same element at
 *      the same linear index (without fusion it is an alias of its input's buffer).
 *   3. A value that a contraction (matmul, conv) reads, directly or through reshapes, is
 *      stored: a contraction reads each element many times (N times for an M x K
 *      operand), so recomputing it there multiplies its cost, and index arithmetic in
 *      the inner product's loop would stop vectorisation.
 *   4. Otherwise an elementwise op, a broadcast, permute, slice or pad, a const or an
 *      iota is inlined when it has one reader (nothing is computed twice), or when it is
 *      cheap — a const, an iota, or a movement op or cast whose input is itself stored or
 *      cheap — so that re-reading it costs index arithmetic only.
 * Everything else is stored. Without fusion (`--no-fuse`) only rule 2 applies.
 *
 * Fusion never changes a value: an inlined element is computed by the same code, in the
 * same precision, as its own kernel would have computed it. */
#ifndef MIMIC_FUSE_H
#define MIMIC_FUSE_H
#include "ir/ir.h"

/* One flag per node (calloc'd; the caller frees): 1 = computed inside its readers. With
 * fuse = 0, only non-output reshapes are. */
char *fuse_inline(const Graph *g, int fuse);

#endif
