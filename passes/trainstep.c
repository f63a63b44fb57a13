/* trainstep.c — builds the training step graph (see trainstep.h): prune the model to the
 * loss and the kept outputs, run the default pipeline (decompose, dce), differentiate
 * the loss with respect to every weight that is not frozen, and append the optimizer
 * update. */
#include "trainstep.h"

#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "pass.h"

int train_is_frozen(const TrainSpec *s, const char *name) {
  for (int i = 0; i < s->nfrozen; i++) {
    size_t n = strlen(s->frozen[i]);
    if (n && !strncmp(name, s->frozen[i], n) && (name[n] == 0 || name[n] == '.' || s->frozen[i][n - 1] == '.'))
      return 1;
  }
  return 0;
}

Graph *train_step(const Graph *model, const TrainSpec *s, Diag *d) {
  const char *want[TRAIN_MAX_NAMES + 1];
  want[0] = s->loss;
  for (int i = 0; i < s->nkeep; i++) want[i + 1] = s->keep[i];
  Graph *pruned = pass_prune(model, want, s->nkeep + 1, d);
  Graph *lowered = pruned ? pass_run(pruned, NULL, 0, d) : NULL;
  ir_graph_free(pruned);
  if (!lowered) return NULL;
  Graph *g = pass_copy(lowered, d);
  ir_graph_free(lowered);
  if (!g) return NULL;
  int loss = -1;
  for (int k = 0; k < g->nout; k++)
    if (!strcmp(g->outs[k].name, s->loss)) loss = g->outs[k].id;
  int *w = malloc(sizeof *w * (size_t)(g->n ? g->n : 1)), *gr = malloc(sizeof *gr * (size_t)(g->n ? g->n : 1));
  if (!w || !gr) abort();
  int nw = 0;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT && !train_is_frozen(s, g->nodes[i].name)) w[nw++] = i;
  int rc = -1, fwd = g->n;
  if (!nw) diag_error(d, SRCLOC_NONE, "nothing to train: every weight the loss '%s' needs is frozen", s->loss);
  else if (!ad_backward(g, loss, -1, w, nw, gr, d)) rc = optim_build(g, &s->opt, w, gr, nw, d);
  free(w);
  free(gr);
  if (rc) {
    ir_graph_free(g);
    return NULL;
  }
  if (s->no_remat) return g;
  Graph *r = pass_remat(g, fwd, d);
  ir_graph_free(g);
  return r;
}
