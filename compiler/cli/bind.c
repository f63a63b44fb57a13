/* bind.c — what the commands that run a model share: NAME=FILE arguments, the batch read
 * off the given inputs, and checking (and losslessly converting) inputs and weights
 * against the graph before anything runs. */
#include <string.h>

#include "cli.h"
#include "npy.h"

/* Split NAME=PATH; returns -1 when malformed. */
int cli_split_io(const char *arg, char *name, size_t n, const char **path) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) >= n) return -1;
  memcpy(name, arg, (size_t)(eq - arg));
  name[eq - arg] = 0;
  *path = eq + 1;
  return 0;
}

/* The batch implied by the given inputs (0: none of them follows the batch). */
int cli_infer_batch(const CliModel *m, const TensorSet *ins, int64_t *batch, Diag *d) {
  *batch = 0;
  Graph *g2 = cli_load(m, 2, NULL, d);
  Graph *g3 = g2 ? cli_load(m, 3, NULL, d) : NULL;
  int rc = g3 ? 0 : -1;
  for (int i = 0; !rc && g3 && i < g2->n; i++) {
    const Node *a = &g2->nodes[i], *b = &g3->nodes[i];
    const Tensor *t = a->op == OP_INPUT ? tset_get(ins, a->name) : NULL;
    if (!t || t->shape.rank != a->shape.rank) continue;
    for (int k = 0; k < a->shape.rank; k++) {
      int64_t slope = b->shape.d[k] - a->shape.d[k], c = a->shape.d[k] - 2 * slope;
      if (!slope) continue;
      int64_t v = t->shape.d[k] - c;
      if (v < 1 || v % slope || (*batch && *batch != v / slope)) {
        diag_error(d, a->loc, "input '%s': extent %lld on axis %d does not fit the batch%s", a->name,
                   (long long)t->shape.d[k], k, *batch ? " of the other inputs" : "");
        rc = -1;
        break;
      }
      *batch = v / slope;
    }
  }
  ir_graph_free(g2);
  ir_graph_free(g3);
  return rc;
}

/* Check the given inputs and weights against the graph; convert lossless dtype changes
 * (i64 -> i32 within range, bf16 -> f32). */
int cli_bind(const Graph *g, TensorSet *ins, TensorSet *ws, const char *wpath, Diag *d) {
  char want[128], got[128];
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_INPUT && n->op != OP_WEIGHT) continue;
    int is_w = n->op == OP_WEIGHT;
    TensorSet *set = is_w ? ws : ins;
    Tensor *t = tset_get(set, n->name);
    shape_str(&n->shape, want, sizeof want);
    if (!t) {
      if (is_w) diag_error(d, (SrcLoc){wpath, 0, 0}, "missing weight '%s' (%s%s)", n->name, dtype_name(n->dtype), want);
      else diag_error(d, SRCLOC_NONE, "missing input '%s' (%s): give --input %s=FILE.npy", n->name,
                      dtype_name(n->dtype), n->name);
      return -1;
    }
    shape_str(&t->shape, got, sizeof got);
    if (!shape_eq(&t->shape, &n->shape)) {
      if (is_w) diag_error(d, (SrcLoc){wpath, 0, 0}, "weight '%s' is %s%s but the model needs %s%s", n->name,
                           dtype_name(t->dtype), got, dtype_name(n->dtype), want);
      else diag_error(d, SRCLOC_NONE, "input '%s' is %s%s but the model needs %s%s", n->name, dtype_name(t->dtype), got,
                      dtype_name(n->dtype), want);
      return -1;
    }
    if (t->dtype == n->dtype) continue;
    int ok = (t->dtype == DT_BF16 && n->dtype == DT_F32) || (t->dtype == DT_I64 && n->dtype == DT_I32);
    for (int64_t k = 0; ok && t->dtype == DT_I64 && k < shape_numel(&t->shape); k++) {
      double v = tensor_get(t, k);
      ok = v >= -2147483648.0 && v <= 2147483647.0;
    }
    if (!ok) {
      int range = t->dtype == DT_I64 && n->dtype == DT_I32;
      diag_error(d, is_w ? (SrcLoc){wpath, 0, 0} : SRCLOC_NONE, "%s '%s' is %s%s but the model needs %s",
                 is_w ? "weight" : "input", n->name, dtype_name(t->dtype),
                 range ? " with values outside the i32 range" : "", dtype_name(n->dtype));
      return -1;
    }
    tset_put(set, n->name, tensor_convert(t, n->dtype));
  }
  return 0;
}


int cli_read_inputs(char names[][128], const char *const *paths, int n, TensorSet *ins, Diag *d) {
  for (int i = 0; i < n; i++) {
    Tensor *t;
    if (tset_get(ins, names[i])) {
      diag_error(d, SRCLOC_NONE, "input '%s' is given twice", names[i]);
      return -1;
    }
    if (npy_read(paths[i], &t, d)) return -1;
    tset_put(ins, names[i], t);
  }
  return 0;
}
