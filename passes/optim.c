/* optim.c — the optimizer update as graph (see optim.h): AdamW or SGD with momentum,
 * global-norm gradient clipping, BEiT's weight-decay groups and layer-wise LR decay.
 *
 * Element-wise work is done in each weight's dtype. The few scalars (the learning rate of
 * a group, 1 - lr*wd, the bias corrections, the clipping factor) are computed in f64 and
 * rounded once to the weight's dtype, as torch computes them in Python floats; in f32,
 * 1 - 0.999^t alone would otherwise be off by ~1e-5 relative.
 *
 * Weights that share (lr scale, decay or not, dtype) form a group, as torch's param
 * groups: its scalars are built once and shared, so the step adds a few scalar nodes per
 * group, not per weight.
 *
 * Everything a caller can get wrong is checked before the first node is added, so such a
 * failure reports one error and leaves g unchanged. Calling optim_build twice on one
 * graph is such an error ("opt.lr" is taken): the update is built once, over every
 * trained weight, and the runtime scalars are never shared or duplicated. */
#include "optim.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc OPT_LOC = {"<optimizer>", 0, 0};

OptSpec optim_defaults(void) {
  return (OptSpec){.kind = OPT_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .momentum = 0.9,
                   .clip = 0, .layer_decay = 1, .num_layers = 0,
                   .no_decay = {"cls_token", "pos_embed"}, .nno_decay = 2};
}

/* ---- parameter groups ------------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* A no_decay entry matches the whole name or a dotted suffix of it ("pos_embed" matches
 * "encoder.pos_embed", "rel_pos_bias.table" matches "blocks.0.rel_pos_bias.table"). */
static int names_match(const char *name, const char *entry) {
  size_t n = strlen(name), k = strlen(entry);
  if (!k) return 0;
  return !strcmp(name, entry) || (n > k && name[n - k - 1] == '.' && !strcmp(name + n - k, entry));
}

int optim_decays(const OptSpec *s, const char *name, int rank) {
  if (rank <= 1 || ends_with(name, ".bias")) return 0;
  for (int i = 0; i < s->nno_decay && i < OPT_MAX_NO_DECAY; i++)
    if (s->no_decay[i] && names_match(name, s->no_decay[i])) return 0;
  return 1;
}

/* k for a name blocks.k.*, else -1 */
static long block_index(const char *name) {
  if (strncmp(name, "blocks.", 7) || !isdigit((unsigned char)name[7])) return -1;
  char *end;
  long k = strtol(name + 7, &end, 10);
  return (*end == '.' || !*end) && k < INT_MAX ? k : -1;
}

/* BEiT's get_num_layer_for_vit with L = num_layers: 0 for the embeddings, k + 1 for
 * blocks.k.*, L + 1 for everything else (head, fc_norm, a shared rel_pos_bias). The
 * reference tests prefixes ("patch_embed" also matches "patch_embedding"); here a
 * component must match whole. */
static long layer_id(const char *name, int L) {
  if (!strcmp(name, "cls_token") || !strcmp(name, "mask_token") || !strcmp(name, "pos_embed") ||
      !strcmp(name, "patch_embed") || !strncmp(name, "patch_embed.", 12))
    return 0;
  long k = block_index(name);
  return k >= 0 ? k + 1 : (long)L + 1;
}

static int layer_decay_on(const OptSpec *s) {
  return s->layer_decay != 1 && s->num_layers > 0;
}

double optim_lr_scale(const OptSpec *s, const char *name) {
  if (!layer_decay_on(s)) return 1.0;
  long id = layer_id(name, s->num_layers);
  return pow(s->layer_decay, (double)((long)s->num_layers + 1 - id));
}

/* ---- checks (before anything is built) --------------------------------------------------- */

static int check_spec(const OptSpec *s, Diag *d) {
  const char *bad = NULL;
  if (s->kind != OPT_ADAMW && s->kind != OPT_SGD) bad = "unknown optimizer kind";
  else if (s->kind == OPT_ADAMW && !(s->beta1 >= 0 && s->beta1 < 1)) bad = "beta1 must be in [0, 1)";
  else if (s->kind == OPT_ADAMW && !(s->beta2 >= 0 && s->beta2 < 1)) bad = "beta2 must be in [0, 1)";
  else if (s->kind == OPT_ADAMW && !(s->eps >= 0 && isfinite(s->eps))) bad = "eps must be finite and >= 0";
  else if (s->kind == OPT_SGD && !(s->momentum >= 0 && isfinite(s->momentum))) bad = "momentum must be finite and >= 0";
  else if (!(s->clip >= 0 && isfinite(s->clip))) bad = "clip must be finite and >= 0 (0 = off)";
  else if (!(s->layer_decay > 0 && isfinite(s->layer_decay))) bad = "layer_decay must be finite and > 0 (1 = off)";
  else if (s->num_layers < 0) bad = "num_layers must be >= 0";
  else if (s->nno_decay < 0 || s->nno_decay > OPT_MAX_NO_DECAY) bad = "nno_decay must be in [0, OPT_MAX_NO_DECAY]";
  if (bad) diag_error(d, OPT_LOC, "optimizer: %s", bad);
  return bad ? -1 : 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in use: inputs and weights (one namespace) and outputs, each sorted. */
typedef struct Taken {
  const char **nodes, **outs;
  int nnodes, nouts;
} Taken;

static void taken_init(Taken *t, const Graph *g) {
  t->nodes = malloc(sizeof(char *) * (size_t)(g->n + 1));
  t->outs = malloc(sizeof(char *) * (size_t)(g->nout + 1));
  if (!t->nodes || !t->outs) abort();
  t->nnodes = t->nouts = 0;
  for (int i = 0; i < g->n; i++)
    if ((g->nodes[i].op == OP_INPUT || g->nodes[i].op == OP_WEIGHT) && g->nodes[i].name)
      t->nodes[t->nnodes++] = g->nodes[i].name;
  for (int i = 0; i < g->nout; i++) t->outs[t->nouts++] = g->outs[i].name;
  qsort(t->nodes, (size_t)t->nnodes, sizeof(char *), cmp_name);
  qsort(t->outs, (size_t)t->nouts, sizeof(char *), cmp_name);
}

/* Whether the name a + b + c is in the sorted list. */
static int in_list(const char **list, int n, const char *a, const char *b, const char *c) {
  size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
  char *key = malloc(na + nb + nc + 1);
  if (!key) abort();
  memcpy(key, a, na);
  memcpy(key + na, b, nb);
  memcpy(key + na + nb, c, nc + 1);
  int found = bsearch(&key, list, (size_t)n, sizeof(char *), cmp_name) != NULL;
  free(key);
  return found;
}

/* Reports when the output new.<prefix><name> is already in g. */
static int check_out(const Taken *t, const char *prefix, const char *name, SrcLoc loc, Diag *d) {
  if (!in_list(t->outs, t->nouts, "new.", prefix, name)) return 0;
  diag_error(d, loc, "optimizer: the output name 'new.%s%s' is already taken", prefix, name);
  return -1;
}

/* Reports when the new input or weight <prefix><name> is already in g. */
static int check_node(const Taken *t, const char *prefix, const char *name, SrcLoc loc, Diag *d) {
  if (!in_list(t->nodes, t->nnodes, "", prefix, name)) return 0;
  diag_error(d, loc, "optimizer: the name '%s%s' is already used by an input or weight of the graph", prefix, name);
  return -1;
}

static const char *const STATE[2][2] = {{"opt.m.", "opt.v."}, {"opt.mom.", NULL}};

static int check_args(const Graph *g, const OptSpec *s, const int *w, const int *grad, int n, Diag *d) {
  if (n <= 0) {
    diag_error(d, OPT_LOC, "optimizer: no weights to update");
    return -1;
  }
  Taken t;
  taken_init(&t, g);
  int rc = -1;
  if (check_node(&t, "", "opt.lr", OPT_LOC, d) || check_node(&t, "", "opt.wd", OPT_LOC, d) ||
      check_node(&t, "", "opt.step", OPT_LOC, d))
    goto done;
  if (in_list(t.outs, t.nouts, "", "", "grad_norm")) {
    diag_error(d, OPT_LOC, "optimizer: the output name 'grad_norm' is already taken");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    if (w[i] < 0 || w[i] >= g->n || grad[i] < 0 || grad[i] >= g->n) {
      diag_error(d, OPT_LOC, "optimizer: weight %d: node id %d or gradient id %d is not a node of the graph", i, w[i],
                 grad[i]);
      goto done;
    }
    const Node *p = &g->nodes[w[i]], *gr = &g->nodes[grad[i]];
    char b1[128], b2[128];
    if (p->op != OP_WEIGHT) {
      diag_error(d, p->loc, "optimizer: node %%%d (%s) is not a weight", w[i], op_info(p->op)->name);
      goto done;
    }
    if (p->dtype != DT_F32 && p->dtype != DT_F64) {
      diag_error(d, p->loc, "optimizer: weight '%s' is %s; only f32 and f64 weights can be trained", p->name,
                 dtype_name(p->dtype));
      goto done;
    }
    if (gr->dtype != p->dtype || !shape_eq(&gr->shape, &p->shape)) {
      diag_error(d, p->loc, "optimizer: the gradient of weight '%s' is %s%s, but the weight is %s%s", p->name,
                 dtype_name(gr->dtype), shape_str(&gr->shape, b1, sizeof b1), dtype_name(p->dtype),
                 shape_str(&p->shape, b2, sizeof b2));
      goto done;
    }
    for (int j = 0; j < i; j++)
      if (w[j] == w[i]) {
        diag_error(d, p->loc, "optimizer: weight '%s' is listed twice", p->name);
        goto done;
      }
    if (layer_decay_on(s) && block_index(p->name) >= s->num_layers) {
      diag_error(d, p->loc, "optimizer: weight '%s' is in block %ld, but num_layers is %d (blocks 0..%d)", p->name,
                 block_index(p->name), s->num_layers, s->num_layers - 1);
      goto done;
    }
    if (check_out(&t, "", p->name, p->loc, d)) goto done;
    const char *const *st = STATE[s->kind == OPT_SGD];
    for (int k = 0; k < 2 && st[k]; k++) {
      if (check_node(&t, st[k], p->name, p->loc, d) || check_out(&t, st[k], p->name, p->loc, d)) goto done;
    }
  }
  rc = 0;
done:
  free(t.nodes);
  free(t.outs);
  return rc;
}

/* ---- building ---------------------------------------------------------------------------- */

typedef struct Group {
  double scale; /* layer-wise lr scale */
  int decays;   /* weight decay applies */
  DType t;      /* the weights' dtype; every scalar below is a t[] node */
  int lr;       /* opt.lr * scale */
  int keep;     /* AdamW, decaying: 1 - lr * wd (decoupled decay multiplies p by it) */
  int wd;       /* SGD, decaying: opt.wd */
  int step;     /* AdamW: lr / (1 - beta1^t) */
  int bc2;      /* AdamW: sqrt(1 - beta2^t) */
  int coef;     /* clipping: min(1, clip / (grad_norm + 1e-6)); -1 without clipping */
} Group;

typedef struct Cx {
  Graph *g;
  const OptSpec *s;
  Diag *d;
  SrcLoc loc;         /* given to the nodes being built */
  int lr, wd;         /* opt.lr, opt.wd as f64[] */
  int bc1, bc2;       /* AdamW: 1 - beta1^t and sqrt(1 - beta2^t), f64[] */
  int coef;           /* clipping factor, f64[], or -1 without clipping */
  Group *groups;      /* one per (scale, decays, dtype) met so far */
  int ngroups;
} Cx;

static int k64(Cx *c, double v) {
  return ir_const(c->g, DT_F64, shape_scalar(), v, c->loc, c->d);
}

/* a op b, a scalar operand broadcast to the other's shape */
static int bin(Cx *c, OpKind op, int a, int b) {
  return ir_binary_bc(c->g, op, a, b, c->loc, c->d);
}

/* x op v, v a constant of x's dtype and shape */
static int binc(Cx *c, OpKind op, int x, double v) {
  if (x < 0) return -1;
  return bin(c, op, x, ir_const(c->g, c->g->nodes[x].dtype, c->g->nodes[x].shape, v, c->loc, c->d));
}

static int un(Cx *c, OpKind op, int x) {
  return ir_unary(c->g, op, x, c->loc, c->d);
}

static int cast(Cx *c, int x, DType t) {
  return ir_cast(c->g, x, t, c->loc, c->d);
}

/* The group of a weight: found, or its scalars built (at the optimizer's location). */
static const Group *group_of(Cx *c, double scale, int decays, DType t) {
  for (int i = 0; i < c->ngroups; i++) {
    const Group *q = &c->groups[i];
    if (q->scale == scale && q->decays == decays && q->t == t) return q;
  }
  SrcLoc saved = c->loc;
  c->loc = OPT_LOC;
  Group *q = &c->groups[c->ngroups++];
  *q = (Group){.scale = scale, .decays = decays, .t = t, .keep = -1, .wd = -1, .step = -1, .bc2 = -1, .coef = -1};
  int lr = scale == 1 ? c->lr : bin(c, OP_MUL, c->lr, k64(c, scale));
  q->lr = cast(c, lr, t);
  if (c->s->kind == OPT_ADAMW) {
    if (decays) q->keep = cast(c, bin(c, OP_SUB, k64(c, 1), bin(c, OP_MUL, lr, c->wd)), t);
    q->step = cast(c, bin(c, OP_DIV, lr, c->bc1), t);
    q->bc2 = cast(c, c->bc2, t);
  } else if (decays) {
    q->wd = cast(c, c->wd, t);
  }
  if (c->coef >= 0) q->coef = cast(c, c->coef, t);
  c->loc = saved;
  return q;
}

/* grad_norm = sqrt of the sum of squares of every gradient (each weight's part summed in
 * its dtype, the parts in f64), and from it c->coef. Returns the norm for the output: f64
 * if any weight is f64, else f32. */
static int grad_norm(Cx *c, const int *grad, int n) {
  int total = -1, wide = 0;
  for (int i = 0; i < n; i++) {
    const Node *gr = &c->g->nodes[grad[i]];
    int64_t axes[IR_MAX_RANK];
    int rank = gr->shape.rank;
    wide |= gr->dtype == DT_F64;
    for (int k = 0; k < rank; k++) axes[k] = k;
    int sq = bin(c, OP_MUL, grad[i], grad[i]);
    if (rank) sq = ir_reduce(c->g, OP_REDUCE_SUM, sq, axes, rank, 0, c->loc, c->d);
    sq = cast(c, sq, DT_F64);
    total = i ? bin(c, OP_ADD, total, sq) : sq;
  }
  int norm = un(c, OP_SQRT, total);
  if (c->s->clip > 0)
    c->coef = bin(c, OP_MIN, k64(c, 1), bin(c, OP_DIV, k64(c, c->s->clip), bin(c, OP_ADD, norm, k64(c, 1e-6))));
  return cast(c, norm, wide ? DT_F64 : DT_F32);
}

static int state(Cx *c, const char *prefix, const char *name, DType t, Shape s) {
  return ir_weight(c->g, arena_printf(c->g->arena, "%s%s", prefix, name), t, s, "zeros", NULL, 0, c->loc, c->d);
}

static int output(Cx *c, const char *name, int id) {
  if (id < 0) return -1;
  return ir_add_output(c->g, arena_printf(c->g->arena, "new.%s", name), id);
}

/* The update of weight p with gradient gr; returns 0 or -1. */
static int update(Cx *c, int p, int gr) {
  const char *name = c->g->nodes[p].name;
  DType t = c->g->nodes[p].dtype;
  Shape shape = c->g->nodes[p].shape;
  const OptSpec *s = c->s;
  const Group *q = group_of(c, optim_lr_scale(s, name), optim_decays(s, name, shape.rank), t);
  if (q->coef >= 0) gr = bin(c, OP_MUL, gr, q->coef);
  if (s->kind == OPT_ADAMW) {
    int m = state(c, "opt.m.", name, t, shape), v = state(c, "opt.v.", name, t, shape);
    int p1 = q->keep >= 0 ? bin(c, OP_MUL, p, q->keep) : p;
    int m1 = bin(c, OP_ADD, binc(c, OP_MUL, m, s->beta1), binc(c, OP_MUL, gr, 1 - s->beta1));
    int v1 = bin(c, OP_ADD, binc(c, OP_MUL, v, s->beta2), binc(c, OP_MUL, bin(c, OP_MUL, gr, gr), 1 - s->beta2));
    int denom = binc(c, OP_ADD, bin(c, OP_DIV, un(c, OP_SQRT, v1), q->bc2), s->eps);
    int p2 = bin(c, OP_SUB, p1, bin(c, OP_MUL, q->step, bin(c, OP_DIV, m1, denom)));
    if (output(c, name, p2) || output(c, c->g->nodes[m].name, m1) || output(c, c->g->nodes[v].name, v1)) return -1;
  } else {
    int mom = state(c, "opt.mom.", name, t, shape);
    int dp = q->wd >= 0 ? bin(c, OP_ADD, gr, bin(c, OP_MUL, q->wd, p)) : gr;
    int mom1 = bin(c, OP_ADD, binc(c, OP_MUL, mom, s->momentum), dp);
    int p1 = bin(c, OP_SUB, p, bin(c, OP_MUL, q->lr, mom1));
    if (output(c, name, p1) || output(c, c->g->nodes[mom].name, mom1)) return -1;
  }
  return 0;
}

int optim_build(Graph *g, const OptSpec *s, const int *w, const int *grad, int n, Diag *d) {
  if (check_spec(s, d) || check_args(g, s, w, grad, n, d)) return -1;
  Cx c = {.g = g, .s = s, .d = d, .loc = OPT_LOC, .bc1 = -1, .bc2 = -1, .coef = -1};
  c.groups = malloc(sizeof(Group) * (size_t)n);
  if (!c.groups) abort();
  int lr = ir_input(g, "opt.lr", DT_F32, shape_scalar(), OPT_LOC, d);
  int wd = ir_input(g, "opt.wd", DT_F32, shape_scalar(), OPT_LOC, d);
  int step = ir_input(g, "opt.step", DT_F32, shape_scalar(), OPT_LOC, d);
  c.lr = cast(&c, lr, DT_F64);
  c.wd = cast(&c, wd, DT_F64);
  if (s->kind == OPT_ADAMW) {
    int t = cast(&c, step, DT_F64);
    c.bc1 = bin(&c, OP_SUB, k64(&c, 1), bin(&c, OP_POW, k64(&c, s->beta1), t));
    c.bc2 = un(&c, OP_SQRT, bin(&c, OP_SUB, k64(&c, 1), bin(&c, OP_POW, k64(&c, s->beta2), t)));
  }
  int norm = grad_norm(&c, grad, n);
  int rc = norm < 0 ? -1 : 0;
  for (int i = 0; i < n && !rc; i++) {
    c.loc = g->nodes[w[i]].loc.file ? g->nodes[w[i]].loc : OPT_LOC;
    rc = update(&c, w[i], grad[i]);
  }
  if (!rc) rc = ir_add_output(g, "grad_norm", norm);
  free(c.groups);
  return rc;
}
