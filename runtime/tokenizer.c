/* tokenizer.c — a frozen model computing a step input from each batch (tokenizer.h). */
#include "tokenizer.h"

#include <string.h>

#include "interp/interp.h"
#include "pass.h"
#include "safetensors.h"

static const Node *find_input(const Graph *g, const char *name) {
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && !strcmp(g->nodes[i].name, name)) return &g->nodes[i];
  return NULL;
}

int tok_open(Tokenizer *t, const TokSpec *s, Diag *d) {
  memset(t, 0, sizeof *t);
  tset_init(&t->w);
  t->pixels = s->pixels;
  t->output = s->output;
  t->mean = s->mean;
  t->std = s->std;
  FeOptions fo = {.defines = s->defines, .ndefines = s->ndefines, .batch = s->batch};
  Graph *model = fe_load_yaml(s->model, &fo, NULL, d);
  if (!model) return -1;
  int rc = -1, found = 0;
  for (int i = 0; i < model->nout; i++) found |= !strcmp(model->outs[i].name, s->output);
  if (!found) {
    diag_error(d, s->output_loc, "the tokenizer %s has no output '%s'", s->model, s->output);
    goto out;
  }
  const char *want[1] = {s->output};
  Graph *p = pass_prune(model, want, 1, d);
  t->g = p ? pass_run(p, NULL, 0, d) : NULL;
  ir_graph_free(p);
  if (!t->g) goto out;
  const Node *px = find_input(t->g, s->pixels);
  if (!px) {
    diag_error(d, s->pixels_loc, "the tokenizer's output '%s' does not read an input '%s'", s->output, s->pixels);
    goto out;
  }
  t->in_shape = px->shape;
  if (px->dtype != DT_F32 || !shape_eq(&px->shape, &s->images)) {
    char b1[128], b2[128];
    diag_error(d, s->pixels_loc, "the tokenizer's input '%s' takes %s%s, the images are f32%s", s->pixels,
               dtype_name(px->dtype), shape_str(&px->shape, b1, sizeof b1), shape_str(&s->images, b2, sizeof b2));
    goto out;
  }
  for (int i = 0; i < t->g->n; i++) {
    const Node *n = &t->g->nodes[i];
    if (n->op == OP_INPUT && n != px) {
      diag_error(d, s->output_loc, "the tokenizer's output '%s' also needs input '%s': only '%s' is fed",
                 s->output, n->name, s->pixels);
      goto out;
    }
  }
  t->out_shape = t->g->nodes[t->g->outs[0].id].shape;
  t->out_dtype = t->g->nodes[t->g->outs[0].id].dtype;
  /* its weights by name, the file's others ignored (a whole dVAE: the decoder too) */
  TensorSet file;
  tset_init(&file);
  if (st_read(s->weights, &file, d)) {
    tset_free(&file);
    goto out;
  }
  for (int i = 0; i < t->g->n; i++) {
    const Node *n = &t->g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    const Tensor *x = tset_get(&file, n->name);
    char b1[128], b2[128];
    if (!x || !shape_eq(&x->shape, &n->shape)) {
      if (!x) diag_error(d, s->weights_loc, "the tokenizer weights %s have no '%s'", s->weights, n->name);
      else
        diag_error(d, s->weights_loc, "tokenizer weight '%s' is %s in %s, the tokenizer needs %s (its params?)",
                   n->name, shape_str(&x->shape, b1, sizeof b1), s->weights, shape_str(&n->shape, b2, sizeof b2));
      tset_free(&file);
      goto out;
    }
    tset_put(&t->w, n->name, tensor_convert(x, n->dtype));
  }
  tset_free(&file);
  if (!s->interp) {
    JitOptions o = {.no_cache = s->no_cache, .sched = s->pool};
    if (!(t->jit = jit_compile(t->g, &o, d))) goto out;
    t->compile_s = jit_stats(t->jit)->compile_s;
  }
  rc = 0;
out:
  ir_graph_free(model);
  return rc;
}

int tok_check_target(const Tokenizer *t, const char *input, DType dtype, const Shape *shape, SrcLoc at, Diag *d) {
  if (shape_numel(shape) == shape_numel(&t->out_shape) && (dtype == DT_I32 || dtype == DT_F32 || dtype == DT_F64))
    return 0;
  char b1[128], b2[128];
  diag_error(d, at, "the tokenizer's '%s' is %s%s (%lld values), the model's input '%s' takes %s%s", t->output,
             dtype_name(t->out_dtype), shape_str(&t->out_shape, b1, sizeof b1), (long long)shape_numel(&t->out_shape),
             input, dtype_name(dtype), shape_str(shape, b2, sizeof b2));
  return -1;
}

int tok_run(Tokenizer *t, const Tensor *images, Tensor *out, Diag *d) {
  if (!shape_eq(&images->shape, &t->in_shape)) {
    char b1[128], b2[128];
    diag_error(d, SRCLOC_NONE, "the tokenizer's '%s' takes %s, the batch is %s", t->pixels,
               shape_str(&t->in_shape, b1, sizeof b1), shape_str(&images->shape, b2, sizeof b2));
    return -1;
  }
  TensorSet in, res;
  tset_init(&in);
  tset_init(&res);
  Tensor *px = tensor_copy(images);
  if (t->std > 0) {
    float *p = px->data;
    for (int64_t i = 0, n = shape_numel(&px->shape); i < n; i++) p[i] = (float)(p[i] * t->std + t->mean);
  }
  tset_put(&in, t->pixels, px);
  int rc = t->jit ? jit_run(t->jit, &in, &t->w, &res, d) : interp_run(t->g, &in, &t->w, &res, d);
  if (!rc) {
    const Tensor *y = tset_get(&res, t->output);
    for (int64_t i = 0, n = shape_numel(&out->shape); i < n; i++) tensor_set(out, i, tensor_get(y, i));
  }
  tset_free(&in);
  tset_free(&res);
  return rc;
}

void tok_close(Tokenizer *t) {
  jit_free(t->jit);
  ir_graph_free(t->g);
  tset_free(&t->w);
  memset(t, 0, sizeof *t);
}
