/* layout.c — where every node's value lives (cg_layout) and which nodes need a kernel
 * (cg_kernels). See codegen.h for the regions.
 *
 * Weights and I/O are laid out one after another in node order (they are the program's
 * interface and live throughout). Activations are memory-planned (passes/memplan.h): each
 * lives from its kernel to the last kernel that reads it (through reshape aliases), and
 * buffers that are never alive together share bytes. The plan is checked every time.
 * Without planning (cg_layout_ex(..., 0, ...), `--no-plan`) activations are laid out one
 * after another too: the baseline the plan is measured against.
 *
 * Only nodes that an output needs are placed and computed (a dead node costs neither
 * memory nor time), except inputs and weights, which are the program's interface and
 * always have a slot. A node that is not placed has bytes = -1. */
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "memplan.h"

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

/* Live ranges of the activation slots in kernel order, and their placement. */
static int plan_act(const Graph *g, CgLayout *l, Diag *d) {
  int64_t *pos = malloc(sizeof *pos * (size_t)(g->n ? g->n : 1));
  int *root = malloc(sizeof *root * (size_t)(g->n ? g->n : 1)), *buf = malloc(sizeof *buf * (size_t)(g->n ? g->n : 1));
  MemBuf *b = calloc((size_t)(g->n ? g->n : 1), sizeof *b);
  if (!pos || !root || !buf || !b) abort();
  int64_t step = 0;
  int nb = 0;
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    root[i] = cg_is_alias(g, i) ? root[n->in[0]] : i;
    int kernel = l->slot[i].bytes >= 0 && n->op != OP_INPUT && n->op != OP_WEIGHT && !cg_is_alias(g, i);
    pos[i] = kernel ? step++ : -1;
    buf[i] = -1;
    if (kernel && l->slot[i].region == CG_ACT) {
      buf[i] = nb;
      b[nb++] = (MemBuf){.bytes = l->slot[i].bytes, .start = pos[i], .end = pos[i]};
    }
    if (!kernel) continue;
    for (int k = 0; k < n->nin; k++) { /* a read extends the life of what it reads */
      int r = buf[root[n->in[k]]];
      if (r >= 0 && pos[i] > b[r].end) b[r].end = pos[i];
    }
  }
  int64_t arena = memplan_place(b, nb, CG_ALIGN);
  int rc = memplan_check(b, nb, arena, d);
  l->act_lower_bound = memplan_lower_bound(b, nb);
  for (int i = 0; i < g->n && !rc; i++)
    if (buf[root[i]] >= 0 && l->slot[i].bytes >= 0) l->slot[i].offset = b[buf[root[i]]].offset;
  l->size[CG_ACT] = arena;
  free(pos);
  free(root);
  free(buf);
  free(b);
  return rc;
}

int cg_layout(const Graph *g, CgLayout *l, Diag *d) {
  return cg_layout_ex(g, 1, l, d);
}

int cg_layout_ex(const Graph *g, int plan, CgLayout *l, Diag *d) {
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
  /* aliases copied their root's slot before it was final: planning rewrites both */
  l->unplanned_act = l->size[CG_ACT];
  if (plan && plan_act(g, l, d)) {
    cg_layout_free(l);
    return -1;
  }
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
