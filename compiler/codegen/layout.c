/* layout.c — where every node's value lives (cg_layout) and which nodes need a kernel
 * (cg_kernels). See codegen.h for the regions.
 *
 * Placement is a bump allocator per region, in node order, each slot rounded up to
 * CG_ALIGN: no reuse between values whose lifetimes do not overlap. That is the memory
 * planner's job (the fusion and memory-planning work); this layout is the plain, always
 * correct baseline it is measured against.
 *
 * Only nodes that an output needs are placed and computed (a dead node costs neither
 * memory nor time), except inputs and weights, which are the program's interface and
 * always have a slot. A node that is not placed has bytes = -1. */
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/emit.h"

static int64_t round_up(int64_t v) {
  return (v + CG_ALIGN - 1) / CG_ALIGN * CG_ALIGN;
}

char *cg_live(const Graph *g) {
  char *live = calloc((size_t)(g->n ? g->n : 1), 1);
  if (!live) abort();
  for (int k = 0; k < g->nout; k++) live[g->outs[k].id] = 1;
  for (int i = g->n - 1; i >= 0; i--)
    if (live[i])
      for (int k = 0; k < g->nodes[i].nin; k++) live[g->nodes[i].in[k]] = 1;
  return live;
}

int cg_is_output(const Graph *g, int id) {
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id == id) return 1;
  return 0;
}

int cg_is_alias(const Graph *g, int id) {
  return g->nodes[id].op == OP_RESHAPE && !cg_is_output(g, id);
}

int cg_layout(const Graph *g, CgLayout *l, Diag *d) {
  memset(l, 0, sizeof *l);
  for (int k = 0; k < g->nout; k++)
    if (g->outs[k].id < 0 || g->outs[k].id >= g->n) {
      diag_error(d, SRCLOC_NONE, "output '%s' refers to node %%%d, which does not exist", g->outs[k].name,
                 g->outs[k].id);
      return -1;
    }
  l->slot = calloc((size_t)(g->n ? g->n : 1), sizeof *l->slot);
  if (!l->slot) abort();
  char *live = cg_live(g);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    CgSlot *s = &l->slot[i];
    int source = n->op == OP_INPUT || n->op == OP_WEIGHT;
    if (!live[i] && !source) {
      s->bytes = -1;
      continue;
    }
    if (!op_is_primitive(n->op)) {
      diag_error(d, n->loc, "%s: high-level op in node %%%d; run decompose before code generation",
                 op_info(n->op)->name, i);
      free(live);
      cg_layout_free(l);
      return -1;
    }
    if (cg_is_alias(g, i)) { /* a reshape reads the same bytes in the same order */
      *s = l->slot[n->in[0]];
      continue;
    }
    s->region = n->op == OP_WEIGHT ? CG_WEIGHTS : n->op == OP_INPUT || cg_is_output(g, i) ? CG_IO : CG_ACT;
    s->bytes = shape_numel(&n->shape) * (int64_t)dtype_size(n->dtype);
    s->offset = l->size[s->region];
    l->size[s->region] += round_up(s->bytes);
  }
  free(live);
  return 0;
}

void cg_layout_free(CgLayout *l) {
  free(l->slot);
  memset(l, 0, sizeof *l);
}

int cg_kernels(const Graph *g, const CgLayout *l, const char *prefix, CgKernel **ks, int *n, Diag *d) {
  *ks = NULL;
  *n = 0;
  CgKernel *v = calloc((size_t)(g->n ? g->n : 1), sizeof *v);
  if (!v) abort();
  int cnt = 0;
  for (int i = 0; i < g->n; i++) {
    const Node *nd = &g->nodes[i];
    if (l->slot[i].bytes < 0 || nd->op == OP_INPUT || nd->op == OP_WEIGHT || cg_is_alias(g, i)) continue;
    CgKernel *k = &v[cnt++];
    k->node = i;
    k->extent = cg_extent(g, i);
    int w = snprintf(k->name, sizeof k->name, "%sk%d", prefix, i);
    if (w < 0 || (size_t)w >= sizeof k->name) {
      diag_error(d, nd->loc, "internal error: kernel name prefix '%s' is too long", prefix);
      free(v);
      return -1;
    }
  }
  *ks = v;
  *n = cnt;
  return 0;
}
