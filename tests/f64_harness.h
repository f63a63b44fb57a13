/* f64_harness.h — a model promoted from f32 to f64, for gradient checks by central
 * differences (test_mim.c, test_dvae.c): every f32 value becomes f64 (sources made f64,
 * casts and dtype attributes retargeted, every other node's type follows its inputs). */
#ifndef MIMIC_TEST_F64_HARNESS_H
#define MIMIC_TEST_F64_HARNESS_H
#include <stdio.h>

#include "ir/ir.h"

/* A copy of g in f64, or NULL after reporting through d. */
static inline Graph *graph_to_f64(const Graph *g, Diag *d) {
  Graph *h = ir_graph_new(g->name);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    Attr at[OP_MAX_ATTRS];
    if (n->nattr > OP_MAX_ATTRS) {
      fprintf(stderr, "graph_to_f64: node %d has too many attributes\n", i);
      ir_graph_free(h);
      return NULL;
    }
    for (int k = 0; k < n->nattr; k++) {
      at[k] = n->attr[k];
      if (at[k].kind == AK_DTYPE && at[k].v.dt == DT_F32) at[k].v.dt = DT_F64;
    }
    NodeSpec sp = {.op = n->op, .in = n->in, .nin = n->nin, .attr = at, .nattr = n->nattr,
                   .dtype = n->dtype == DT_F32 ? DT_F64 : n->dtype, .shape = &n->shape, .name = n->name,
                   .loc = n->loc};
    if (ir_emit(h, &sp, d) != i) { /* ids kept: inputs precede their readers */
      ir_graph_free(h);
      return NULL;
    }
  }
  for (int k = 0; k < g->nout; k++) ir_add_output(h, g->outs[k].name, g->outs[k].id);
  return h;
}

#endif
