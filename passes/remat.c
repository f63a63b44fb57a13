/* remat.c — recompute in the backward pass the cheap forward values it reads
 * (rematerialisation), instead of keeping them in memory from the forward pass.
 *
 * A training step keeps, from the forward pass to the backward pass, every value the
 * backward pass reads. Some of them are elementwise functions of values it keeps anyway:
 * a GELU's output and its 1 + erf(x/sqrt 2) are functions of the linear layer's output x,
 * which the GELU's derivative reads; a layer norm's output is a function of its centred
 * values and 1/std, which its gradient reads. Storing them costs their bytes for the
 * whole time between the two passes (two MLP-sized buffers per block in a ViT);
 * recomputing them costs a few operations per element where the backward pass reads
 * them.
 *
 * The fusion decisions of the step as built (passes/fuse.h) say what is stored. A
 * candidate is a stored elementwise value of the forward pass (not an output) that the
 * backward pass reads, directly or through values fused into its readers. It is
 * recomputed when what its fused tree reads (its leaves: the stored values below it) is
 * read by the backward pass anyway, other than through it (so kept for it, or recomputed
 * from what is), or is a weight or an input — all but at most a quarter of its bytes (a
 * row's 1/std beside a row; the padded input beside a convolution's im2col matrix, nine
 * times larger): so recomputing never keeps more alive than it frees. Its tree holds at
 * most REMAT_MAX_TREE nodes, elementwise ops and movement only (no row reduction, no
 * contraction). Candidates are stored elementwise or movement values (a concat of
 * slices: im2col).
 *
 * The backward pass then reads a copy of the candidate's whole fused tree (down to the
 * leaves, sharing constants), made just before its first backward reader; forward
 * values fused into backward readers that lead to a candidate are copied with it. The
 * forward pass keeps the originals, which now die there. The copies compute every
 * element with the same operations as the originals, so the step's results keep their
 * bits. */
#include <stdlib.h>
#include <string.h>

#include "fuse.h"
#include "pass.h"

#define REMAT_MAX_TREE 32

static int elementwise(const Node *n) {
  OpClass c = op_info(n->op)->cls;
  return c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT;
}

static int64_t bytes_of(const Node *n) {
  return shape_numel(&n->shape) * (int64_t)dtype_size(n->dtype);
}

static int shared(const Node *n) { /* copied by reference: no work to repeat */
  return n->op == OP_CONST || n->op == OP_IOTA;
}

/* What a tree may hold besides its leaves: elementwise ops and movement, fused element
 * by element (not a row reduction or a contraction run by the kernel). */
static int copyable(const Graph *g, const char *inl, int x) {
  const Node *n = &g->nodes[x];
  OpClass c = op_info(n->op)->cls;
  return (inl[x] == FUSE_STORED || inl[x] == FUSE_INLINE) && (elementwise(n) || c == OPC_MOVE);
}

/* The stored leaves of x's fused tree into leaf[] (each once); the tree's size (more than
 * REMAT_MAX_TREE when it holds something that is not to be copied). */
static int tree(const Graph *g, const char *inl, int x, int root, int *leaf, int *nleaf, char *seen) {
  const Node *n = &g->nodes[x];
  if (!root && (!inl[x] || n->op == OP_WEIGHT || n->op == OP_INPUT)) {
    if (!seen[x]) leaf[(*nleaf)++] = x;
    seen[x] = 1;
    return 0;
  }
  if (shared(n)) return 0;
  if (!copyable(g, inl, x)) return REMAT_MAX_TREE + 1;
  int size = 1;
  for (int k = 0; k < n->nin && size <= REMAT_MAX_TREE; k++) size += tree(g, inl, n->in[k], 0, leaf, nleaf, seen);
  return size;
}

typedef struct Remat {
  const Graph *g;
  const char *inl;
  int fwd;          /* nodes [0, fwd) are the forward pass */
  char *take;       /* per node: a recomputed candidate */
  signed char *lead;/* per node: copied for the backward pass (-1 unknown) */
  int *copy;        /* per node: its copy in the new graph, or -1 */
  Rewrite rw;
} Remat;

/* Whether forward node x is copied for the backward pass: a candidate taken, or a fused
 * value whose tree reaches one through what may be copied (a row reduction or a
 * contraction is not: the backward pass reads it, and what it reads, as before). */
static int leads(Remat *r, int x) {
  if (x >= r->fwd) return 0;
  if (r->lead[x] >= 0) return r->lead[x];
  const Node *n = &r->g->nodes[x];
  int v = r->take[x];
  if (!v && r->inl[x] && !shared(n) && copyable(r->g, r->inl, x))
    for (int k = 0; k < n->nin && !v; k++) v = leads(r, n->in[k]);
  return r->lead[x] = (signed char)v;
}

/* The copy of forward node x for the backward pass: its fused tree again, down to the
 * stored values that are not recomputed. */
static int copy_of(Remat *r, int x) {
  const Node *n = &r->g->nodes[x];
  if (r->copy[x] >= 0) return r->copy[x];
  if (shared(n) || n->op == OP_WEIGHT || n->op == OP_INPUT || (!r->inl[x] && !r->take[x])) return r->rw.map[x];
  int ins[OP_MAX_INPUTS], *in = n->nin <= OP_MAX_INPUTS ? ins : malloc(sizeof *in * (size_t)n->nin);
  if (!in) abort();
  for (int k = 0; k < n->nin; k++) in[k] = copy_of(r, n->in[k]);
  int id = -1, ok = 1;
  for (int k = 0; k < n->nin; k++) ok &= in[k] >= 0;
  if (ok) { /* the original's attributes and location: pass_rw_copy with its inputs mapped to the copies */
    int *saved = malloc(sizeof *saved * (size_t)(n->nin ? n->nin : 1));
    if (!saved) abort();
    for (int k = 0; k < n->nin; k++) {
      saved[k] = r->rw.map[n->in[k]];
      r->rw.map[n->in[k]] = in[k];
    }
    int orig = r->rw.map[x];
    id = pass_rw_copy(&r->rw, x);
    r->rw.map[x] = orig;
    for (int k = n->nin - 1; k >= 0; k--) r->rw.map[n->in[k]] = saved[k];
    free(saved);
  }
  if (in != ins) free(in);
  return r->copy[x] = id;
}

/* Which candidates to take (Remat.take); returns how many. */
static int choose(Remat *r) {
  const Graph *g = r->g;
  size_t n = (size_t)(g->n ? g->n : 1);
  char *bw = calloc(n, 1), *seen = calloc(n, 1);
  int *leaf = malloc(sizeof *leaf * n);
  if (!bw || !seen || !leaf) abort();
  /* bw[x]: the backward pass reads x, directly or through fused values it reads */
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *nd = &g->nodes[i];
    if (i < r->fwd && !(r->inl[i] && bw[i])) continue;
    for (int k = 0; k < nd->nin; k++) bw[nd->in[k]] = 1;
  }
  char *cand = calloc(n, 1);
  if (!cand) abort();
  for (int i = 0; i < r->fwd; i++) {
    const Node *nd = &g->nodes[i];
    int out = 0;
    for (int k = 0; k < g->nout && !out; k++) out = g->outs[k].id == i;
    cand[i] = bw[i] && !r->inl[i] && !out && (elementwise(nd) || (op_info(nd->op)->cls == OPC_MOVE && nd->op != OP_RESHAPE));
  }
  /* a leaf is kept anyway when the backward pass reads it other than through a
   * candidate's stored value (bw follows fused readers only: a stored one stops it);
   * if it is a candidate itself and recomputed, its own leaves are kept instead */
  int taken = 0;
  for (int i = 0; i < r->fwd; i++) {
    if (!cand[i]) continue;
    int nleaf = 0, size = tree(g, r->inl, i, 1, leaf, &nleaf, seen), ok = size <= REMAT_MAX_TREE;
    int64_t kept = 0; /* what recomputing keeps alive that nothing else would */
    for (int k = 0; k < nleaf; k++) {
      const Node *ln = &g->nodes[leaf[k]];
      if (ln->op != OP_WEIGHT && ln->op != OP_INPUT && !bw[leaf[k]]) kept += bytes_of(ln);
      seen[leaf[k]] = 0;
    }
    ok &= 4 * kept <= bytes_of(&g->nodes[i]);
    r->take[i] = (char)ok;
    taken += ok;
  }
  free(bw);
  free(seen);
  free(leaf);
  free(cand);
  return taken;
}

Graph *pass_remat(const Graph *g, int fwd, Diag *d) {
  Remat r = {.g = g, .fwd = fwd};
  size_t n = (size_t)(g->n ? g->n : 1);
  r.inl = fuse_inline(g, 1);
  r.take = calloc(n, 1);
  r.lead = malloc(n);
  r.copy = malloc(sizeof *r.copy * n);
  if (!r.take || !r.lead || !r.copy) abort();
  memset(r.lead, -1, n);
  for (int i = 0; i < g->n; i++) r.copy[i] = -1;
  int taken = choose(&r);
  pass_rw_init(&r.rw, g, d);
  int ok = 1;
  for (int i = 0; i < g->n && ok; i++) {
    const Node *nd = &g->nodes[i];
    int *saved = malloc(sizeof *saved * 2 * (size_t)(nd->nin ? nd->nin : 1)), nsaved = 0;
    if (!saved) abort();
    int *orig = saved + nd->nin;
    if (i >= fwd && taken) /* read the copies: make them first */
      for (int k = 0; k < nd->nin && ok; k++) {
        int x = nd->in[k];
        if (!leads(&r, x)) continue;
        ok = copy_of(&r, x) >= 0;
        saved[nsaved++] = x;
      }
    /* copy node i reading the copies, then give the originals back their forward ids */
    for (int k = 0; k < nsaved && ok; k++) {
      orig[k] = r.rw.map[saved[k]];
      r.rw.map[saved[k]] = r.copy[saved[k]];
    }
    if (ok) ok = pass_rw_copy(&r.rw, i) >= 0;
    for (int k = nsaved - 1; k >= 0 && ok; k--) r.rw.map[saved[k]] = orig[k];
    free(saved);
  }
  free((void *)r.inl);
  free(r.take);
  free(r.lead);
  free(r.copy);
  if (!ok || pass_rw_outputs(&r.rw, 0)) {
    pass_rw_abort(&r.rw);
    return NULL;
  }
  return pass_rw_finish(&r.rw);
}
