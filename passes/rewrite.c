/* rewrite.c — copy a graph node by node into a new graph, with an old -> new id map.
 *
 * Passes never edit a graph in place: they build the next one. Copying goes through
 * ir_emit, so every copied node has its dtype and shape inferred again; a pass that
 * breaks a shape rule is caught where it happens, at the node's source location. */
#include <stdlib.h>

#include "pass.h"

void pass_rw_init(Rewrite *rw, const Graph *src, Diag *d) {
  rw->src = src;
  rw->dst = ir_graph_new(src->name);
  rw->d = d;
  rw->map = malloc(sizeof(int) * (size_t)(src->n ? src->n : 1));
  if (!rw->map) {
    fprintf(stderr, "mimic: error: out of memory\n");
    exit(2);
  }
  for (int i = 0; i < src->n; i++) rw->map[i] = -1;
}

int pass_rw_copy(Rewrite *rw, int id) {
  const Node *n = &rw->src->nodes[id];
  int in[OP_MAX_INPUTS];
  /* variadic ops (concat) may have more inputs than the table's named ones */
  int *ins = n->nin <= OP_MAX_INPUTS ? in : malloc(sizeof(int) * (size_t)n->nin);
  if (!ins) exit(2);
  for (int k = 0; k < n->nin; k++) {
    ins[k] = rw->map[n->in[k]];
    if (ins[k] < 0) {
      diag_error(rw->d, n->loc, "internal error: %s node %d uses node %d, which was not copied",
                 op_info(n->op)->name, id, n->in[k]);
      if (ins != in) free(ins);
      return -1;
    }
  }
  NodeSpec sp = {.op = n->op, .in = ins, .nin = n->nin, .attr = n->attr, .nattr = n->nattr,
                 .dtype = n->dtype, .shape = &n->shape, .name = n->name, .loc = n->loc};
  int r = ir_emit(rw->dst, &sp, rw->d);
  if (ins != in) free(ins);
  rw->map[id] = r;
  return r;
}

int pass_rw_outputs(Rewrite *rw, int skip_unmapped) {
  for (int i = 0; i < rw->src->nout; i++) {
    const Output *o = &rw->src->outs[i];
    int id = rw->map[o->id];
    if (id < 0) {
      if (skip_unmapped) continue;
      diag_error(rw->d, rw->src->nodes[o->id].loc, "internal error: output '%s' was not copied", o->name);
      return -1;
    }
    ir_add_output(rw->dst, o->name, id);
  }
  return 0;
}

Graph *pass_rw_finish(Rewrite *rw) {
  Graph *g = rw->dst;
  free(rw->map);
  rw->map = NULL;
  rw->dst = NULL;
  return g;
}

void pass_rw_abort(Rewrite *rw) {
  ir_graph_free(pass_rw_finish(rw));
}

Graph *pass_copy(const Graph *g, Diag *d) {
  Rewrite rw;
  pass_rw_init(&rw, g, d);
  for (int i = 0; i < g->n; i++)
    if (pass_rw_copy(&rw, i) < 0) {
      pass_rw_abort(&rw);
      return NULL;
    }
  if (pass_rw_outputs(&rw, 0)) {
    pass_rw_abort(&rw);
    return NULL;
  }
  return pass_rw_finish(&rw);
}
