/* test_fuzz.c — randomized differential testing: random well-typed primitive graphs run by
 * the interpreter and the JIT (whole ranges; on even seeds also in three pieces), compared
 * with test_codegen's rule (f32 1e-5 of |ref| + mean |ref|, f64 1e-12, integers and bools
 * exactly, NaN == NaN). A failing graph is shrunk and printed with its seed.
 *   MIMIC_FUZZ_COUNT=N  graphs, seeds 1..N (default 1000); MIMIC_FUZZ_SEED=S  seed S, verbose
 *
 * Fairness: the JIT computes f32 in f32, the interpreter in double rounded once, so each
 * value carries its possible drift: EXACT (bit-identical: IEEE-rounded arithmetic, movement,
 * casts, max/min, i32, bool), ERR64 (f64 libm, f64 sums) or ERR32 (f32 exp/log/tanh/erf/
 * rsqrt/pow, sums, contractions). Discontinuous ops (compares, floor, casts to i32/bool, and
 * through them conditions and indices) see only EXACT values; f64 values come only from
 * EXACT ones (1e-12). A magnitude bound per value sends big values through tanh before exp,
 * products and sums. Indices are in range by construction (the JIT clamps where the
 * interpreter refuses) and an i32 divisor is |b| + 1, never 0. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "interp/interp.h"
#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "fuse.h"
#include "jit/jit.h"

#define LOC ((SrcLoc){"fuzz", __LINE__, 1}) /* the generator's line, for its own bugs */
#define MAXN 512  /* nodes per generated graph, helpers included */
#define BIG 8192  /* most elements an op may produce */
#define NSHRINK 3 /* failures shrunk in one run; later ones only print their seed */

#include "fuzz_gen.h"

/* ---- running both engines ---- */

/* A graph, its inputs, and per node the slack its comparison allows beyond test_codegen's
 * rule: a value that may drift (an f32 sum that cancels, say) is judged against its
 * magnitude bound too, which is what its rounding errors scale with. */
typedef struct Case {
  Graph *g;
  TensorSet in;
  double *slack; /* per node id, malloc'd */
} Case;

static void case_free(Case *c) {
  ir_graph_free(c->g);
  tset_free(&c->in);
  free(c->slack);
}

static Diag quiet(FILE *log) {
  Diag d;
  diag_init(&d);
  d.quiet = log == NULL;
  return d;
}

static int agree(const Tensor *a, const Tensor *b, double slack, const char *name, int chunks, FILE *log) {
  int64_t n = shape_numel(&b->shape), i = 0;
  int ok = a->dtype == b->dtype && shape_eq(&a->shape, &b->shape);
  double scale = slack, tol = b->dtype == DT_F32 ? 1e-5 : b->dtype == DT_F64 ? 1e-12 : 0, x = 0, y = 0;
  for (int64_t k = 0; k < n; k++) scale += fabs(tensor_get(b, k)) / (double)n;
  for (; ok && i < n; i++) {
    x = tensor_get(a, i), y = tensor_get(b, i);
    ok = (isnan(x) && isnan(y)) || x == y || fabs(x - y) <= tol * (fabs(y) + scale);
  }
  if (!ok && log && !i) fprintf(log, "  output %s (chunks %d): dtype or shape differs\n", name, chunks);
  else if (!ok && log)
    fprintf(log, "  output %s (chunks %d): element %lld: jit %.9g, interpreter %.9g\n", name, chunks,
            (long long)i - 1, x, y);
  return ok;
}

/* Run c by the interpreter and by the JIT (mask bit 0: whole ranges, bit 1: three pieces).
 * Returns the mask of JIT runs that failed or disagreed, or -1 if the interpreter refused
 * the graph. Messages go to log (NULL: none). */
static int check(const Case *c, int mask, FILE *log, Stats *st) {
  const Graph *g = c->g;
  Diag d = quiet(log);
  TensorSet ref, got;
  tset_init(&ref);
  int bad = ir_verify(g, &d) || interp_run(g, &c->in, NULL, &ref, &d) ? -1 : 0;
  for (int k = 0; k < 2 && bad >= 0; k++) {
    if (!(mask >> k & 1)) continue;
    JitOptions o = {.no_cache = 1, .chunks = k ? 3 : 1};
    JitProgram *p = jit_compile(g, &o, &d);
    tset_init(&got);
    if (!p || jit_run(p, &c->in, NULL, &got, &d)) {
      if (log) fprintf(log, "  the JIT failed (chunks %d)\n", o.chunks);
      bad |= 1 << k;
    }
    if (st && p) st->compile_s += jit_stats(p)->compile_s, st->compiles++;
    for (int j = 0; j < g->nout && !(bad >> k & 1); j++) {
      const Output *y = &g->outs[j];
      const Tensor *a = tset_get(&got, y->name), *b = tset_get(&ref, y->name);
      if (!a || !b || !agree(a, b, c->slack[y->id], y->name, o.chunks, log)) bad |= 1 << k;
    }
    tset_free(&got);
    jit_free(p);
  }
  tset_free(&ref);
  return bad;
}

/* ---- shrinking ---- */

/* A copy of c with outputs `outs` (node ids), keeping only the nodes they need; node `cut`
 * (if >= 0) becomes a new input holding val. 0, or -1 if the builder refused. */
static int rebuild(const Case *c, const int *outs, int nout, int cut, const Tensor *val, Case *r) {
  const Graph *g = c->g;
  int *live = calloc((size_t)g->n, sizeof(int)), *id = calloc((size_t)g->n, sizeof(int)), bad = 0;
  Diag d = quiet(NULL);
  *r = (Case){ir_graph_new("fuzz"), {0}, calloc((size_t)g->n, sizeof(double))};
  tset_init(&r->in);
  for (int k = 0; k < nout; k++) live[outs[k]] = 1;
  for (int i = g->n - 1; i >= 0; i--)
    for (int j = 0; live[i] && i != cut && j < g->nodes[i].nin; j++) live[g->nodes[i].in[j]] = 1;
  for (int i = 0; i < g->n && !bad; i++) {
    const Node *n = &g->nodes[i];
    char name[16];
    int in[OP_MAX_INPUTS];
    if (!live[i]) continue;
    if (i == cut) {
      snprintf(name, sizeof name, "c%d", i);
      id[i] = ir_input(r->g, name, n->dtype, n->shape, SRCLOC_NONE, &d);
      tset_put(&r->in, name, tensor_copy(val));
    } else {
      for (int j = 0; j < n->nin && j < OP_MAX_INPUTS; j++) in[j] = id[n->in[j]];
      NodeSpec sp = {n->op, in, n->nin, n->attr, n->nattr, n->dtype, &n->shape, n->name, SRCLOC_NONE};
      id[i] = ir_emit(r->g, &sp, &d);
      if (n->op == OP_INPUT && id[i] >= 0) tset_put(&r->in, n->name, tensor_copy(tset_get(&c->in, n->name)));
    }
    if (!(bad = id[i] < 0)) r->slack[id[i]] = c->slack[i];
  }
  for (int k = 0; k < nout && !bad; k++) {
    char name[16];
    snprintf(name, sizeof name, "y%d", k);
    ir_add_output(r->g, name, id[outs[k]]);
  }
  free(live);
  free(id);
  if (bad) case_free(r);
  return bad ? -1 : 0;
}

/* The interpreter's value of node k of c (NULL if it cannot run). */
static Tensor *value_of(const Case *c, int k) {
  Case t;
  if (rebuild(c, &k, 1, -1, NULL, &t)) return NULL;
  TensorSet o;
  tset_init(&o);
  Diag d = quiet(NULL);
  Tensor *v = interp_run(t.g, &t.in, NULL, &o, &d) ? NULL : tensor_copy(tset_get(&o, "y0"));
  tset_free(&o);
  case_free(&t);
  return v;
}

/* What shrinking makes smaller: nodes, computed nodes counted twice, outputs. */
static int size(const Graph *g) {
  int s = g->n + g->nout;
  for (int i = 0; i < g->n; i++) s += g->nodes[i].op != OP_INPUT;
  return s;
}

/* Shrinking move i for c, into r: 1 if made, 0 if it does not apply, -1 past the last.
 * In order: drop an output; make node k the only output; replace node k by an input
 * holding the interpreter's value of it (so every value downstream stays the same). */
static int candidate(const Case *c, int i, Case *r) {
  const Graph *g = c->g;
  int outs[16], n = g->n, no = g->nout < 16 ? g->nout : 16;
  for (int k = 0; k < no; k++) outs[k] = g->outs[k].id;
  if (i < no) {
    outs[i] = outs[no - 1];
    return no > 1 && rebuild(c, outs, no - 1, -1, NULL, r) == 0;
  }
  if ((i -= no) < n) return !(no == 1 && outs[0] == i) && rebuild(c, &i, 1, -1, NULL, r) == 0;
  if ((i -= n) >= n) return -1;
  Tensor *v = g->nodes[i].op == OP_INPUT ? NULL : value_of(c, i);
  int ok = v && rebuild(c, outs, no, i, v, r) == 0;
  tensor_free(v);
  return ok;
}

/* Replace c by smaller cases that still fail (JIT runs in `mask`) until none is found. */
static void shrink(Case *c, int mask) {
  Case r;
  for (int i = 0, made; (made = candidate(c, i, &r)) >= 0; i++) {
    if (!made) continue;
    if (size(r.g) < size(c->g) && check(&r, mask, NULL, NULL) > 0) {
      case_free(c);
      *c = r;
      i = -1; /* start over on the smaller case */
    } else {
      case_free(&r);
    }
  }
}

/* ---- the test ---- */

static void report(Case *c, uint64_t seed, int bad, int shrink_it) {
  fprintf(stderr, "FAIL seed %llu (MIMIC_FUZZ_SEED=%llu): %s, %d nodes\n", (unsigned long long)seed,
          (unsigned long long)seed, bad < 0 ? "the interpreter refused it (generator bug)" : "the JIT disagrees", c->g->n);
  if (bad > 0 && shrink_it) {
    int mask = bad & 1 ? 1 : 2;
    shrink(c, mask);
    fprintf(stderr, "smallest failing graph (%d nodes, JIT chunks %d):\n", c->g->n, mask == 1 ? 1 : 3);
    check(c, mask, stderr, NULL);
  }
  if (bad < 0) check(c, 0, stderr, NULL); /* shows the interpreter's message */
  if (bad < 0 || shrink_it) ir_print(c->g, stderr);
  for (int i = 0; shrink_it && i < c->in.n; i++) {
    int64_t n = shape_numel(&c->in.t[i]->shape);
    fprintf(stderr, "  %s =", c->in.names[i]);
    for (int64_t k = 0; k < n && k < 32; k++) fprintf(stderr, " %.9g", tensor_get(c->in.t[i], k));
    fprintf(stderr, n > 32 ? " ...\n" : "\n");
  }
}

static int run_seed(uint64_t seed, int verbose, Stats *st) {
  Fuzz *F = malloc(sizeof *F);
  int bad = generate(F, seed);
  Case c = {F->g, F->in, calloc((size_t)F->g->n + 1, sizeof(double))};
  if (bad) {
    fprintf(stderr, "FAIL seed %llu: the generator built an invalid graph (above)\n", (unsigned long long)seed);
    ir_print(F->g, stderr);
  } else {
    for (int i = 0; i < c.g->n; i++) {
      const Node *n = &c.g->nodes[i];
      if (!F->known[i] && n->nin) F->err[i] = F->err[n->in[0]], F->mag[i] = F->mag[n->in[0]]; /* a broadcast */
      c.slack[i] = F->err[i] != EXACT && isfinite(F->mag[i]) ? F->mag[i] : 0;
      st->ops[n->op]++, st->dtypes[n->dtype]++;
    }
    st->graphs++, st->nodes += c.g->n;
    CgLayout l;
    Diag dl = quiet(NULL);
    if (!cg_layout(c.g, &l, &dl)) { /* which fusion rules the graph exercises */
      int *rd = calloc((size_t)c.g->n, sizeof *rd);
      if (!rd) abort();
      for (int i = 0; i < c.g->n; i++)
        for (int k = 0; k < c.g->nodes[i].nin; k++) rd[c.g->nodes[i].in[k]]++;
      for (int i = 0; i < c.g->n; i++) {
        OpClass cl = op_info(c.g->nodes[i].op)->cls;
        st->fused[(int)l.inl[i]]++;
        st->grouped += l.group && l.group[i] >= 0 && l.gkind[i] == FUSE_GROUP_SHARED;
        st->wide += l.group && l.group[i] >= 0 && l.gkind[i] == FUSE_GROUP_WIDE;
        st->rowgroup += l.group && l.group[i] >= 0 && l.gkind[i] == FUSE_GROUP_ROWS;
        st->rowmm += l.group && l.group[i] >= 0 && l.gkind[i] == FUSE_GROUP_ROWS && cg_matmul_of(c.g, l.inl, i) >= 0;
        st->inplace += l.inplace[i] >= 0;
        st->recomputed += l.inl[i] == FUSE_INLINE && rd[i] > 1 && (cl == OPC_UNARY || cl == OPC_BINARY || cl == OPC_SELECT);
        const Node *mm = &c.g->nodes[i];
        st->packed += mm->op == OP_MATMUL && mm->shape.rank == 2 && mm->dtype == DT_F32 &&
                      mm->shape.d[1] >= 32; /* emit_matmul.c's packed panels (when both operands are in memory) */
        for (int k = 0; k < c.g->nodes[i].nin && c.g->nodes[i].op == OP_MATMUL; k++) {
          const Node *x = &c.g->nodes[c.g->nodes[i].in[k]];
          st->views += l.inl[x - c.g->nodes] && x->op != OP_RESHAPE; /* read through a permute, slice or broadcast */
        }
      }
      free(rd);
      cg_layout_free(&l);
    }
    if (verbose) ir_print(c.g, stderr);
    /* compiling is nearly all the time: the pieces run on every other seed */
    if ((bad = check(&c, verbose || seed % 2 == 0 ? 3 : 1, verbose ? stderr : NULL, st)))
      report(&c, seed, bad, verbose || st->shrunk++ < NSHRINK);
  }
  case_free(&c);
  free(F);
  return bad != 0;
}

int main(void) {
  const char *one = getenv("MIMIC_FUZZ_SEED"), *cnt = getenv("MIMIC_FUZZ_COUNT");
  Stats st = {0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (one && *one) {
    check_failures += run_seed(strtoull(one, NULL, 10), 1, &st);
    fprintf(stderr, "seed %s: %s (%.3f s compiling)\n", one, check_failures ? "FAIL" : "ok", st.compile_s);
    return CHECK_DONE();
  }
  int count = cnt && *cnt ? atoi(cnt) : 1000;
  for (int s = 1; s <= count; s++) st.fails += run_seed((uint64_t)s, 0, &st);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  fprintf(stderr, "%d graphs (%d nodes, %.1f per graph), %d failed, %.1f s (%.1f s in %d compiles, %.1f ms each)\n",
          st.graphs, st.nodes, st.graphs ? (double)st.nodes / st.graphs : 0.0, st.fails, secs, st.compile_s,
          st.compiles, st.compiles ? 1e3 * st.compile_s / st.compiles : 0.0);
  fprintf(stderr, "op coverage:");
  for (int k = 0; k < OP_COUNT; k++)
    if (op_is_primitive((OpKind)k) && k != OP_WEIGHT) fprintf(stderr, " %s %ld", op_info((OpKind)k)->name, st.ops[k]);
  fprintf(stderr, "\ndtypes:");
  for (int t = DT_F32; t <= DT_BOOL; t++) fprintf(stderr, " %s %ld", dtype_name((DType)t), st.dtypes[t]);
  fprintf(stderr, "\nfusion: %ld stored, %ld inlined (%ld recomputed in several readers), %ld row values, %ld epilogue contractions, %ld matmul operands read through views, %ld kernels in horizontal groups, %ld in wide groups, %ld in row groups (%ld of them matmuls), %ld in place, %ld matmuls on packed panels\n",
          st.fused[FUSE_STORED], st.fused[FUSE_INLINE], st.recomputed, st.fused[FUSE_ROW], st.fused[FUSE_EPI], st.views, st.grouped, st.wide, st.rowgroup, st.rowmm, st.inplace, st.packed);
  /* the suite must reach every fusion rule, or passing it proves little about them */
  if (count >= 100) {
    CHECK(st.fused[FUSE_ROW] >= count / 50);
    CHECK(st.fused[FUSE_EPI] >= count / 50);
    CHECK(st.recomputed >= count / 50);
    CHECK(st.views >= count / 50);
    CHECK(st.grouped >= count / 50);
    CHECK(st.wide >= count / 50);
    CHECK(st.rowgroup >= count / 50);
    CHECK(st.rowmm >= count / 100);
    CHECK(st.inplace >= 1);
    CHECK(st.packed >= 1);
  }
  check_failures += st.fails;
  return CHECK_DONE();
}
