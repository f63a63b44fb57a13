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
 * The rules (fuse_inline gives each node a FUSE_ value; 0 = stored):
 *   1. Graph outputs, inputs, weights, indexing ops and random are never inlined: they
 *      are kernels.
 *   2. A reshape that is not an output is always inlined: it reads the same element at
 *      the same linear index (without fusion it is an alias of its input's buffer).
 *   3. A value that a contraction (matmul, conv) reads, directly or through reshapes, is
 *      stored: a contraction reads each element many times (N times for an M x K
 *      operand), so recomputing it there multiplies its cost, and index arithmetic in
 *      the inner product's loop would stop vectorisation. A matmul operand that is a
 *      strided view of a stored value (reshapes, permutes, slices and broadcasts whose
 *      composition is an offset and one stride per axis: fuse_view) is not stored
 *      itself: the matmul reads the value beneath through the strides (attention's
 *      heads sliced and permuted out of the qkv projection cost no copy).
 *   4. Otherwise an elementwise op, a broadcast, permute, slice or pad, a concat of at
 *      most FUSE_CONCAT_MAX inputs, a const or an iota is inlined (FUSE_INLINE) when it
 *      has one reader (nothing is computed twice), or when it is cheap — a const, an
 *      iota, or a movement op or cast whose input is itself stored or cheap — so that
 *      re-reading it costs index arithmetic only; a strided view of a stored value
 *      (fuse_view) is cheap however many movement ops it composes. Exception: a value
 *      that a broadcast with several readers widens is stored, small, and the broadcast
 *      is then cheap (a layer norm's 1/std per row kept for the backward pass, instead
 *      of a copy per element).
 *   5. Row fusion. A kernel's elements are rows of its last axis; a value that is
 *      computed row by row can live in registers for the row instead of in memory:
 *      a. a reduction over the last axis only (a layer norm's mean and variance, a
 *         softmax's max and sum) becomes FUSE_ROW: the kernel that reads it computes
 *         it once per row, before the row's elements, in a loop over the row;
 *      b. a contraction with one reader becomes FUSE_EPI: its reader's kernel runs the
 *         contraction, writing its tile of rows into the kernel's own output, then
 *         computes its elements over those rows reading the contraction's value back
 *         from there (bias, scale, gelu, residual add, layer scale — and a softmax,
 *         whose row reductions see the finished rows): an epilogue.
 *      A matmul whose one reader is a permute that keeps the last axis (attention's
 *      heads put back side by side) is FUSE_EPI too: the permute's kernel runs the
 *      matmul and stores each row where the permute puts it.
 *      Both hold only where every step from the candidate to the kernel keeps row r at
 *      row r: elementwise ops, reshapes that keep the last axis's length, broadcasts
 *      along the last axis; the kernel is elementwise (or a reshape or broadcast), or
 *      itself a reduction over the last axis. Each candidate must be reached by exactly
 *      one kernel (so nothing is computed twice), a kernel holds at most one epilogue
 *      contraction, of its own dtype and element count. A candidate that fails is
 *      stored, and the check runs again until every remaining candidate holds.
 *   6. An elementwise op with several readers (at most FUSE_RECOMPUTE_READERS) is
 *      inlined into each of them when computing it again costs little: its price
 *      (op_cost: 1 for add or mul, 2 for a division, 8 for exp, 10 for erf, plus the
 *      price of what it inlines, counted once per use) is at most FUSE_RECOMPUTE_COST.
 *      That bound also bounds the nesting: a recomputed value inside a recomputed value
 *      is paid for in full each time, so no tree grows without limit. A recomputed
 *      subtraction is cheaper than a round trip through memory: the centred values of
 *      a layer norm and the exponentials of a softmax are computed where they are used.
 *      A value holding an epilogue candidate is never recomputed (that would copy the
 *      contraction into several kernels).
 *   7. Then a stored elementwise value that holds a rule 5 candidate (a softmax's scaled
 *      scores, the contraction in their tree), whose readers all sit in one kernel and
 *      whose price is within rule 6's bound, moves into that kernel when rule 5 still
 *      holds for every candidate there (a trial: otherwise it stays stored). This is
 *      how a matmul, its scaling and the softmax over its rows become one kernel.
 *   8. Horizontal fusion (fuse_groups): kernels that do not depend on each other run as
 *      one kernel, in kernel order, greedily: a kernel joins the open group of its kind
 *      when every member's first reader outside the group comes after it (the group
 *      runs where its last member stood, so nothing reads a member too early). Two
 *      kinds: elementwise kernels whose element depends on its linear index alone
 *      (no movement but broadcasts of one element) — their ranges laid end to end,
 *      and members that read each other at the same index, with the same shape and
 *      through elementwise ops only, computed together element by element (an
 *      optimizer's new weight, first and second moment in one pass); and reductions
 *      whose own kernel is a single step (the outermost axis reduced: a gradient norm's
 *      sums of squares, a bias's or a layer norm's gradient summed over the rows) — one
 *      member per step of the range. The optimizer's update of every parameter becomes a
 *      few kernels. A candidate is refused when a member would keep more than
 *      FUSE_HOLD_BYTES of inputs that die with it waiting while the kernels between them
 *      store more than FUSE_HOLD_WRITTEN (the bias gradients of every block would
 *      otherwise keep their inputs alive to the last; rule 8c likewise).
 *   8b. Row groups (formed after rule 8's reductions, before its elementwise kernels,
 *      which take what they leave): kernels that compute the same R rows row by row (an
 *      elementwise kernel over its output's rows, a last-axis reduction over its
 *      input's, a matmul over its product's), each reading the others only at its own row
 *      (through elementwise ops, reshapes and broadcasts that keep rows, last-axis
 *      reductions that keep the dimension), run as one kernel, greedily in kernel order
 *      when every reader outside the group runs after the candidate (where a reader in a
 *      group runs: its group's place); at most FUSE_WIDE_MAX members. Several groups are
 *      open at once: a candidate joins the one it reads from, else the newest it fits,
 *      so a weight's gradient between a matmul and the kernel that reads its rows does
 *      not part them (the gradient goes to 8c). A group of nothing
 *      but rule 8's flat elementwise kernels is left to rule 8, which lays every one of
 *      them end to end (the optimizer's update). Each member keeps
 *      its own body; the kernel runs them all over one tile of rows, then the next
 *      tile, so what one member stores is still in the first-level cache when the next
 *      reads it. The pieces a training step stores for its backward pass — a layer
 *      norm's centred values, 1/std and output, a softmax's max, sum and
 *      probabilities — are computed row by row together. One member may be a matmul
 *      (alone, or under an elementwise epilogue that keeps its rows): the range is then
 *      the matmul's steps, a tile is 256 rows of its product, and the others run over
 *      the rows each tile finished (a linear layer and the layer norm after it, the
 *      attention scores and their softmax, a gradient and the gelu derivative it meets).
 *   8c. Wide groups: the kernels left alone by 8 and 8b, when none reads another, run
 *      as one kernel too, greedily in kernel order under the same condition (at most
 *      FUSE_WIDE_MAX of them). Each member keeps its own body; the group's range is the
 *      largest member's, and every piece of it runs the proportional piece of each
 *      member's range, so threads share every member evenly. The backward pass's pairs
 *      of matmuls from one gradient (dX = dY·W and dW = dYᵀ·X) run together, and the
 *      bias and scale gradients beside them: one synchronisation point instead of
 *      several. Every element is still computed by its member's own code, so the bits
 *      do not depend on the grouping or on the thread count.
 * Every layout checks the groups' order (codegen/layout.c): each kernel reads only values
 * computed before it runs, or by an earlier member of its own rule 8 or 8b group.
 * Everything else is stored. Without fusion (`--no-fuse`) only rule 2 applies.
 *
 * Fusion never changes a value: an inlined element is computed by the same code, in the
 * same precision, as its own kernel would have computed it (sums, wherever they run, may
 * be split into vector lanes: see interp.h). */
#ifndef MIMIC_FUSE_H
#define MIMIC_FUSE_H
#include "ir/ir.h"

enum {
  FUSE_STORED = 0, /* has a slot; its kernel computes it */
  FUSE_INLINE = 1, /* computed element by element inside its readers (rules 2, 4, 6) */
  FUSE_ROW = 2,    /* a last-axis reduction computed per row by its reader (rule 5a) */
  FUSE_EPI = 3     /* a contraction run by its reader's kernel (rule 5b) */
};
#define FUSE_CONCAT_MAX 4
#define FUSE_RECOMPUTE_COST 10
#define FUSE_RECOMPUTE_READERS 4

/* A strided view: node elements x read base's element off + sum_k x_k st_k. */
#define FUSE_MAX_VIEW 16 /* movement ops a view may compose */
typedef struct FuseView {
  int base;                /* the stored node beneath */
  int64_t off;             /* element offset into it */
  int64_t st[IR_MAX_RANK]; /* element stride per axis of the viewed node (0: broadcast) */
} FuseView;

/* Whether node id, read through the reshapes, permutes, slices and broadcasts below it
 * (id itself, then those inl inlines; with inl NULL, all that are not outputs), is a
 * strided view of the node beneath: 1 with *v filled, or 0. */
int fuse_view(const Graph *g, const char *inl, int id, FuseView *v);

/* One FUSE_ value per node (calloc'd; the caller frees); nonzero = no slot of its own.
 * With fuse = 0, only non-output reshapes are inlined. */
char *fuse_inline(const Graph *g, int fuse);

/* Whether nd is a reduction over the last axis only, of a non-empty input (rule 5a's
 * candidates; rule 8b's row kernels). */
int fuse_row_reduction(const Graph *g, const Node *nd);

/* Per node, whether an output needs it (calloc'd flags; the caller frees). */
char *fuse_live(const Graph *g);

/* Rule 8 under the decisions inl (fuse_inline's): per node, the id of its group's last
 * member (where the group's one kernel runs), or -1 when it is not in a group of two or
 * more. *kind gets per node its group's kind (0 when none). Both malloc'd; the caller
 * frees. */
enum {
  FUSE_GROUP_SHARED = 1, /* rule 8: one body computes the members together */
  FUSE_GROUP_WIDE = 2,   /* rule 8c: each member's body over its share of the range */
  FUSE_GROUP_ROWS = 3    /* rule 8b: each member's body over the same rows, tile by tile */
};
#define FUSE_WIDE_MAX 16 /* members of a rule 8c or 8b group */
#define FUSE_HOLD_BYTES (1 << 20)      /* rules 8, 8c: see fuse_group.c's Hold */
#define FUSE_HOLD_WRITTEN (128 << 20)
int *fuse_groups(const Graph *g, const char *inl, char **kind);

#endif
