/* fuse.c — the fusion decisions (see fuse.h for the rules). */
#include "fuse.h"

#include <stdlib.h>

static int is_output(const Graph *g, int id) {
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id == id) return 1;
  return 0;
}

/* ops that rule 4 may inline */
static int inlinable(OpKind op) {
  OpClass c = op_info(op)->cls;
  return c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT || op == OP_BROADCAST || op == OP_PERMUTE ||
         op == OP_SLICE || op == OP_PAD || op == OP_CONST || op == OP_IOTA;
}

char *fuse_inline(const Graph *g, int fuse) {
  int n = g->n ? g->n : 1;
  char *inl = calloc((size_t)n, 1), *stored_for_contraction = calloc((size_t)n, 1);
  int *readers = calloc((size_t)n, sizeof *readers);
  if (!inl || !stored_for_contraction || !readers) abort();
  for (int i = 0; i < g->n; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) readers[g->nodes[i].in[k]]++;
  /* rule 3, through reshapes: what a contraction reads must be stored */
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *nd = &g->nodes[i];
    if (op_info(nd->op)->cls == OPC_CONTRACT || (nd->op == OP_RESHAPE && stored_for_contraction[i]))
      for (int k = 0; k < nd->nin; k++) stored_for_contraction[nd->in[k]] = 1;
  }
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (is_output(g, i)) continue; /* rule 1 */
    if (nd->op == OP_RESHAPE) { /* rule 2 */
      inl[i] = 1;
      continue;
    }
    if (!fuse || !inlinable(nd->op) || stored_for_contraction[i]) continue;
    int cheap = nd->op == OP_CONST || nd->op == OP_IOTA;
    if (nd->op == OP_BROADCAST || nd->op == OP_PERMUTE || nd->op == OP_SLICE || nd->op == OP_PAD || nd->op == OP_CAST) {
      int x = nd->in[0];
      const Node *in = &g->nodes[x];
      /* its input is stored (not inlined) or is itself cheap */
      cheap = !inl[x] || in->op == OP_CONST || in->op == OP_IOTA ||
              ((in->op == OP_BROADCAST || in->op == OP_RESHAPE) && (!inl[in->in[0]] || g->nodes[in->in[0]].op == OP_CONST));
    }
    inl[i] = readers[i] <= 1 || cheap; /* rule 4 */
  }
  free(stored_for_contraction);
  free(readers);
  return inl;
}
