/* pass.h — mimic's passes and the pipeline that runs them.
 *
 * A pass maps a graph to a new graph (the input is never modified) or returns NULL after
 * reporting an error. Each pass lives in its own file under passes/ and has one entry
 * point; pipeline.c holds THE list of the default pipeline, so adding a pass touches that
 * list and nothing else. rewrite.c offers the one tool every pass is built on: copy a
 * graph node by node into a new one, keeping an old -> new id map. */
#ifndef MIMIC_PASS_H
#define MIMIC_PASS_H
#include "ir/ir.h"

typedef Graph *(*PassFn)(const Graph *g, Diag *d);

typedef struct Pass {
  const char *name;    /* as written in --after=NAME and --passes=A,B */
  const char *summary; /* one line for help texts */
  PassFn run;
} Pass;

/* ---- pipeline.c ---------------------------------------------------------------------- */

const Pass *pass_list(int *n);              /* the default pipeline, in order */
const Pass *pass_lookup(const char *name);  /* NULL when unknown */
/* Run the default pipeline, or only up to and including the pass `after` (NULL: all of
 * it; "frontend": none, a copy of the input). With verify_each, and always in builds
 * without NDEBUG, ir_verify runs on the input and after every pass, and a failure names
 * the pass. Returns a new graph or NULL. */
Graph *pass_run(const Graph *g, const char *after, int verify_each, Diag *d);
/* Parse a comma-separated pass list ("decompose, dce") and run exactly those, in order
 * (names resolved first; "frontend" is no work; an empty list gives a copy). */
Graph *pass_run_list(const Graph *g, const char *list, int verify_each, Diag *d);

/* ---- the passes ------------------------------------------------------------------------ */

/* decompose.c: every high-level op lowered to primitives; new nodes keep the high-level
 * node's source location. Primitive nodes are copied unchanged. */
Graph *pass_decompose(const Graph *g, Diag *d);
/* dce.c: drop the nodes no output needs (inputs and weights included). */
Graph *pass_dce(const Graph *g, Diag *d);
/* dce.c: keep only the named outputs (all when n == 0) and the nodes they need; inputs and
 * weights that are not needed disappear. An unknown output name is an error. */
Graph *pass_prune(const Graph *g, const char *const *outputs, int n, Diag *d);

/* permute.c: permutes carried through elementwise ops, pads and slices until they meet
 * another permute and cancel (a convolution's layout changes between convolutions). */
Graph *pass_permute(const Graph *g, Diag *d);
/* remat.c: in a training step whose nodes [0, fwd) are the forward pass, the backward
 * pass recomputes the cheap elementwise values it reads instead of keeping them from the
 * forward pass (the rules are in remat.c). Same results, bit for bit. */
Graph *pass_remat(const Graph *g, int fwd, Diag *d);

/* ---- rewrite.c: copying a graph node by node ------------------------------------------ */

typedef struct Rewrite {
  const Graph *src; /* the graph being rewritten; never modified */
  Graph *dst;       /* the new graph, built with ir_emit (shapes re-inferred) */
  int *map;         /* src id -> dst id; -1 while not copied (or dropped) */
  Diag *d;
} Rewrite;

/* Start a rewrite of src into a new, empty graph with src's name. */
void pass_rw_init(Rewrite *rw, const Graph *src, Diag *d);
/* Copy src node `id` with its inputs mapped through rw->map; records and returns the new
 * id, or -1 (an input not copied, or a rule violation, reported at the node). */
int pass_rw_copy(Rewrite *rw, int id);
/* Add every output of src to dst through the map; outputs whose node was not copied are
 * an error unless skip_unmapped. Returns 0 or -1. */
int pass_rw_outputs(Rewrite *rw, int skip_unmapped);
/* Release the map and hand back dst (finish) or free it too (abort). */
Graph *pass_rw_finish(Rewrite *rw);
void pass_rw_abort(Rewrite *rw);
/* A copy of g, node for node (ids unchanged); NULL after reporting. */
Graph *pass_copy(const Graph *g, Diag *d);

#endif
