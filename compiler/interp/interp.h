/* interp.h — the reference interpreter: executes a primitive graph one node at a time,
 * with plain loops over each output's row-major index, in double precision rounded to
 * each node's dtype. It is the oracle every optimized path (JIT, fusion, AOT) is tested
 * against, so it is written to be obviously correct, not fast.
 *
 * Semantics the op table leaves open, fixed here (optimized paths must agree, up to
 * rounding where noted):
 *   - floats: each element is computed in double and rounded once to the node's dtype
 *     (so f32 add/sub/mul/div/sqrt equal IEEE single-precision results exactly);
 *     reductions and contractions accumulate in double and round once at the end. The
 *     code generator accumulates in the node's dtype, in an order of its choosing (vector
 *     lanes), so its sums differ by rounding: relative to the summands' size, not to the
 *     result's when they cancel (docs/codegen.md).
 *   - i32: two's-complement integer arithmetic that wraps modulo 2^32; div truncates
 *     toward zero, division by zero is an error, INT32_MIN / -1 wraps to INT32_MIN.
 *   - conversion to i32 (cast, and the float `value` of const and pad): truncation toward
 *     zero, saturated to the i32 range, NaN -> 0 (LLVM's fptosi.sat); to bool: x != 0;
 *     bools read as 0/1. These are tensor_set's rules (runtime/tensor.c).
 *   - max, min, reduce_max: NaN propagates; reduce_max over an empty extent is -inf for
 *     floats and INT32_MIN for i32; reduce_sum over an empty extent is 0.
 *   - gather / scatter_add: an index outside [0, n) is an error (no negative wrapping).
 *   - one_hot: an index outside [0, depth) gives an all-zero row, not an error; masked
 *     losses rely on this (label -1 = ignored).
 *   - random: Philox-4x32-10, see runtime/philox.h. */
#ifndef MIMIC_INTERP_H
#define MIMIC_INTERP_H
#include "ir/ir.h"
#include "support/diag.h"
#include "tensor.h"

/* Execute primitive graph g. `inputs` holds a tensor for each input node by name,
 * `weights` one for each weight node by name (either may be NULL when the graph has
 * none; extra tensors are ignored). Fills `outputs` (initialised by the caller with
 * tset_init) with a copy of each graph output under its output name. Returns 0, or
 * reports one error at the offending node's location and returns -1, leaving `outputs`
 * untouched. Errors: a high-level op (run decompose first), a malformed graph, a missing
 * input or weight, a tensor whose dtype or shape differs from its node, a gather or
 * scatter_add index out of range, an i32 division by zero. Only the nodes the outputs
 * depend on are evaluated (a dead node cannot fail the run), but every input and weight
 * node must be supplied: they are the graph's interface. */
int interp_run(const Graph *g, const TensorSet *inputs, const TensorSet *weights, TensorSet *outputs, Diag *d);

#endif
