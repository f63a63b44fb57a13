/* dce.c — dead-code elimination and output pruning.
 *
 * Both are one walk: mark the nodes the kept outputs need (ids are in topological order,
 * so one sweep from the last id down marks everything), then copy the marked nodes in
 * order. Inputs and weights are nodes like any other: one that no kept output needs
 * disappears, so a pruned graph asks only for the data it reads.
 *
 * Requires: nothing (works on high-level and primitive graphs). Preserves: node order,
 * output order of the kept outputs, names and source locations. */
#include <stdlib.h>
#include <string.h>

#include "pass.h"

/* Copy the nodes that outputs `keep[0..nkeep)` (indices into g->outs) need, then those
 * outputs, in the order given. */
static Graph *keep_outputs(const Graph *g, const int *keep, int nkeep, Diag *d) {
  char *live = calloc((size_t)(g->n ? g->n : 1), 1);
  if (!live) exit(2);
  for (int i = 0; i < nkeep; i++) live[g->outs[keep[i]].id] = 1;
  for (int id = g->n - 1; id >= 0; id--)
    if (live[id])
      for (int k = 0; k < g->nodes[id].nin; k++) live[g->nodes[id].in[k]] = 1;

  Rewrite rw;
  pass_rw_init(&rw, g, d);
  int ok = 1;
  for (int id = 0; id < g->n && ok; id++)
    if (live[id]) ok = pass_rw_copy(&rw, id) >= 0;
  free(live);
  if (!ok) {
    pass_rw_abort(&rw);
    return NULL;
  }
  for (int i = 0; i < nkeep; i++) {
    const Output *o = &g->outs[keep[i]];
    ir_add_output(rw.dst, o->name, rw.map[o->id]);
  }
  return pass_rw_finish(&rw);
}

Graph *pass_dce(const Graph *g, Diag *d) {
  return pass_prune(g, NULL, 0, d);
}

Graph *pass_prune(const Graph *g, const char *const *outputs, int n, Diag *d) {
  int cap = n ? n : g->nout;
  int *keep = malloc(sizeof(int) * (size_t)(cap ? cap : 1));
  if (!keep) exit(2);
  int nkeep = 0;
  if (!n) {
    for (int i = 0; i < g->nout; i++) keep[nkeep++] = i;
  }
  for (int j = 0; j < n; j++) {
    int found = -1;
    for (int i = 0; i < g->nout && found < 0; i++)
      if (!strcmp(g->outs[i].name, outputs[j])) found = i;
    if (found < 0) {
      /* list what exists: the usual cause is a typo on the command line */
      char names[300] = "";
      size_t at = 0;
      for (int i = 0; i < g->nout && at < sizeof names; i++)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i ? ", " : "", g->outs[i].name);
      diag_error(d, SRCLOC_NONE, "unknown output '%s' (the graph's outputs: %s)", outputs[j],
                 g->nout ? names : "none");
      free(keep);
      return NULL;
    }
    int dup = 0;
    for (int i = 0; i < nkeep; i++) dup |= keep[i] == found;
    if (!dup) keep[nkeep++] = found;
  }
  Graph *r = keep_outputs(g, keep, nkeep, d);
  free(keep);
  return r;
}
