/* fuzz_gen.h — tests/test_fuzz.c's generator of random, well-typed primitive graphs:
 * random inputs, one builder per kind of op (elementwise, comparisons and where, casts,
 * reductions, movement chains, indexing, contractions, random), and what is known about
 * every value (how far the JIT may stray from the interpreter on it, a bound on its
 * magnitude), so that the test compares fairly. Included once, by test_fuzz.c, after
 * its includes and LOC, MAXN and BIG. */
#ifndef MIMIC_TEST_FUZZ_GEN_H
#define MIMIC_TEST_FUZZ_GEN_H

enum { EXACT, ERR64, ERR32 }; /* how far the JIT may stray from the interpreter */

typedef struct Fuzz {
  uint64_t rng;          /* splitmix64 state */
  Graph *g;
  TensorSet in;          /* a random tensor for each input node */
  Diag d;
  int err[MAXN];         /* EXACT, ERR64 or ERR32, for the nodes in pool */
  double mag[MAXN];      /* bound on |element| (inf after a max over an empty axis) */
  char known[MAXN];      /* err and mag are set (not for the broadcasts ir_* inserts) */
  int pool[MAXN], npool; /* nodes operands are drawn from (not the helpers ir_* inserts) */
} Fuzz;

typedef struct Stats {
  int graphs, nodes, fails, shrunk, compiles;
  double compile_s;      /* jit_compile, summed */
  long ops[OP_COUNT];    /* nodes of each op over all generated graphs */
  long dtypes[DT_COUNT]; /* nodes of each dtype */
  long fused[4];         /* nodes per passes/fuse.h FUSE_ value, fused layout */
  long recomputed;       /* FUSE_INLINE elementwise nodes with several readers (rule 6) */
  long views;            /* matmul operands read through inlined permutes, slices, broadcasts */
  long grouped;          /* kernels run inside a horizontal group (rule 8) */
  long wide;             /* kernels run inside a wide group (rule 8c) */
  long rowgroup;         /* kernels run inside a row group (rule 8b) */
  long rowmm;            /* matmuls run inside a row group, step by step */
  long inplace;          /* kernels writing over their dying input (CgLayout.inplace) */
  long packed;           /* 2-D f32 A·Bᵀ matmuls at least a panel wide */
} Stats;

/* ---- random numbers, nodes and what is known about them ---- */

static uint64_t next(Fuzz *F) {
  uint64_t z = (F->rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static int rnd(Fuzz *F, int n) { return n > 0 ? (int)(next(F) % (uint64_t)n) : 0; }
static double unif(Fuzz *F) { return (double)(next(F) >> 11) * (1.0 / 9007199254740992.0); }
static int chance(Fuzz *F, double p) { return unif(F) < p; }

static const Node *nd(Fuzz *F, int id) { return &F->g->nodes[id]; }
static int isflt(DType t) { return t == DT_F32 || t == DT_F64; }
static int inexact(DType t) { return t == DT_F64 ? ERR64 : ERR32; }
static int worse(int a, int b) { return a > b ? a : b; }
static double dmax(double a, double b) { return a > b ? a : b; }
static int64_t numel(Fuzz *F, int id) { return shape_numel(&nd(F, id)->shape); }

/* Record a new node's drift and magnitude and offer it as an operand. */
static int reg(Fuzz *F, int id, int err, double mag) {
  if (id < 0 || id >= MAXN) return -1;
  if (nd(F, id)->dtype == DT_BOOL) mag = 1;
  if (nd(F, id)->dtype == DT_I32 && mag > 2147483648.0) mag = 2147483648.0; /* wraps */
  F->err[id] = err, F->mag[id] = mag, F->known[id] = 1;
  F->pool[F->npool++] = id;
  return id;
}

static Shape rshape(Fuzz *F, int maxrank) {
  Shape s = {0};
  s.rank = rnd(F, maxrank + 1);
  for (int i = 0; i < s.rank; i++) s.d[i] = chance(F, 0.02) ? 0 : chance(F, 0.25) ? 1 : 1 + rnd(F, 9);
  return s;
}

/* An input of dtype t and shape s, uniform in [lo, hi) (integers floored). */
static int input(Fuzz *F, DType t, Shape s, double lo, double hi) {
  char name[16];
  snprintf(name, sizeof name, "x%d", F->g->n);
  int id = ir_input(F->g, name, t, s, LOC, &F->d);
  if (id < 0) return -1;
  Tensor *x = tensor_new(t, s);
  for (int64_t i = 0; i < shape_numel(&s); i++) {
    double v = lo + (hi - lo) * unif(F);
    tensor_set(x, i, isflt(t) ? v : floor(v));
  }
  tset_put(&F->in, name, x);
  return reg(F, id, EXACT, dmax(fabs(lo), fabs(hi)));
}

static int cnst(Fuzz *F, DType t, Shape s, double v) {
  return reg(F, ir_const(F->g, t, s, v, LOC, &F->d), EXACT, fabs(v));
}

static int unary(Fuzz *F, OpKind op, int x) {
  if (x < 0) return -1;
  DType t = nd(F, x)->dtype;
  double m = F->mag[x];
  int e = F->err[x];
  switch (op) {
  case OP_EXP: e = inexact(t), m = exp(m); break;
  case OP_LOG: e = inexact(t), m = dmax(0.7, log(m + 1)); break;
  case OP_TANH: case OP_ERF: e = inexact(t), m = 1; break;
  case OP_RSQRT: e = t == DT_F64 ? e : ERR32, m = 1.5; break; /* f32: sqrt and divide round twice */
  case OP_SQRT: m = sqrt(m) + 1; break;
  case OP_RECIP: m = 2; break;
  case OP_FLOOR: m = m + 1; break;
  default: break;
  }
  return reg(F, ir_unary(F->g, op, x, LOC, &F->d), e, m);
}

static int binary(Fuzz *F, OpKind op, int a, int b) {
  if (a < 0 || b < 0) return -1;
  double ma = F->mag[a], mb = F->mag[b], m = dmax(ma, mb);
  int e = worse(F->err[a], F->err[b]);
  if (op == OP_ADD || op == OP_SUB) m = ma + mb;
  if (op == OP_MUL) m = ma * mb;
  if (op == OP_DIV) m = isflt(nd(F, a)->dtype) ? 2 * ma : ma;
  if (op == OP_POW) m = pow(ma + 1, dmax(mb, 1)), e = inexact(nd(F, a)->dtype);
  return reg(F, ir_binary_bc(F->g, op, a, b, LOC, &F->d), e, m);
}

static int cast(Fuzz *F, int x, DType to) {
  if (x < 0) return -1;
  int e = nd(F, x)->dtype == DT_F64 && to == DT_F32 && F->err[x] != EXACT ? ERR32 : F->err[x];
  return reg(F, ir_cast(F->g, x, to, LOC, &F->d), e, F->mag[x]);
}

static int reduce(Fuzz *F, OpKind op, int x, const int64_t *axes, int n, int keep) {
  if (x < 0) return -1;
  double cnt = 1, m = F->mag[x];
  for (int i = 0; i < n; i++) cnt *= (double)nd(F, x)->shape.d[axes[i]];
  int e = op == OP_REDUCE_SUM && isflt(nd(F, x)->dtype) ? inexact(nd(F, x)->dtype) : F->err[x];
  m = op == OP_REDUCE_SUM ? m * cnt : cnt == 0 ? INFINITY : m;
  return reg(F, ir_reduce(F->g, op, x, axes, n, keep, LOC, &F->d), e, m);
}

/* x, or tanh(x) when x is big enough that an inexact product or sum would amplify it. */
static int bound(Fuzz *F, int x) {
  if (x < 0 || !isflt(nd(F, x)->dtype) || F->mag[x] <= (F->err[x] == EXACT ? 64 : 8)) return x;
  return unary(F, OP_TANH, x);
}

/* |x| + 0.5 (floats) or |x| + 1 (i32): a positive divisor or log argument. */
static int positive(Fuzz *F, int x) {
  if (x < 0) return -1;
  DType t = nd(F, x)->dtype;
  return binary(F, OP_ADD, unary(F, OP_ABS, bound(F, x)), cnst(F, t, shape_scalar(), t == DT_I32 ? 1 : 0.5));
}

static int reshape(Fuzz *F, int x, Shape s) {
  return x < 0 ? -1 : reg(F, ir_reshape(F->g, x, s, LOC, &F->d), F->err[x], F->mag[x]);
}

static int slice(Fuzz *F, int x, const int64_t *st, const int64_t *en, const int64_t *sp) {
  return x < 0 ? -1 : reg(F, ir_slice(F->g, x, st, en, sp, LOC, &F->d), F->err[x], F->mag[x]);
}

/* x with shape s exactly: leading axes beyond s's rank reduced away or merged, missing
 * ones added as 1s, every axis sliced (random step) or padded to its extent, broadcast. */
static int fit(Fuzz *F, int x, Shape s) {
  if (x < 0) return -1;
  Shape xs = nd(F, x)->shape;
  int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], sp[IR_MAX_RANK], lo[IR_MAX_RANK], hi[IR_MAX_RANK];
  if (xs.rank > s.rank) {
    int k = xs.rank - s.rank;
    for (int i = 0; i < k; i++) st[i] = i, xs.d[k] *= xs.d[i];
    if (nd(F, x)->dtype != DT_BOOL && (!s.rank || chance(F, 0.5)))
      x = reduce(F, chance(F, 0.5) ? OP_REDUCE_MAX : OP_REDUCE_SUM, x, st, k, 0);
    else if (!s.rank) return input(F, DT_BOOL, s, 0, 2);
    else x = reshape(F, x, shape_of(s.rank, xs.d + k));
    if (x < 0) return -1;
    xs = nd(F, x)->shape;
  }
  if (xs.rank < s.rank) {
    Shape r = {0};
    r.rank = s.rank;
    for (int i = 0; i < s.rank; i++) r.d[i] = i < s.rank - xs.rank ? 1 : xs.d[i - (s.rank - xs.rank)];
    x = reshape(F, x, xs = r);
  }
  int cut = 0, pad = 0;
  for (int i = 0; i < s.rank; i++) {
    int64_t e = xs.d[i], want = s.d[i];
    st[i] = 0, en[i] = e, sp[i] = 1, lo[i] = hi[i] = 0;
    if (e > want) { /* any step that still gives `want` elements, any start that fits */
      int maxstep = want > 1 ? (int)((e - 1) / (want - 1)) : 3;
      sp[i] = 1 + rnd(F, maxstep < 3 ? maxstep : 3);
      int64_t span = want ? (want - 1) * sp[i] + 1 : 0;
      st[i] = rnd(F, (int)(e - span + 1));
      int64_t room = e - st[i] - span;
      en[i] = st[i] + span + (want ? rnd(F, (int)(room < sp[i] - 1 ? room : sp[i] - 1) + 1) : 0);
      cut = 1;
    } else if (e < want && e != 1) {
      lo[i] = rnd(F, (int)(want - e + 1)), hi[i] = want - e - lo[i];
      pad = 1;
    }
  }
  if (cut) x = slice(F, x, st, en, sp);
  if (pad && x >= 0) x = reg(F, ir_pad(F->g, x, lo, hi, rnd(F, 5) - 2, LOC, &F->d), F->err[x], dmax(F->mag[x], 2));
  if (x < 0 || shape_eq(&nd(F, x)->shape, &s)) return x;
  return reg(F, ir_broadcast(F->g, x, s, LOC, &F->d), F->err[x], F->mag[x]);
}

/* x fitted to a shape that broadcasts to s: a trailing part of s with some axes 1. */
static int fitbc(Fuzz *F, int x, Shape s) {
  Shape r = {0};
  r.rank = chance(F, 0.7) ? s.rank : rnd(F, s.rank + 1);
  for (int i = 0; i < r.rank; i++) r.d[i] = chance(F, 0.25) ? 1 : s.d[s.rank - r.rank + i];
  return fit(F, x, r);
}

static int get(Fuzz *F, DType t, int maxerr);

/* i32 indices of shape s, all in [0, n): an input, an iota, a clamped i32 value or a const. */
static int indices(Fuzz *F, int64_t n, Shape s) {
  int way = rnd(F, 4), ax = -1;
  for (int i = 0; i < s.rank; i++)
    if (s.d[i] <= n && (ax < 0 || chance(F, 0.5))) ax = i;
  if (way == 1 && ax >= 0) return reg(F, ir_iota(F->g, DT_I32, s, ax, LOC, &F->d), EXACT, (double)n);
  if (way == 2) {
    int x = binary(F, OP_MAX, fit(F, get(F, DT_I32, EXACT), s), cnst(F, DT_I32, shape_scalar(), 0));
    return binary(F, OP_MIN, x, cnst(F, DT_I32, shape_scalar(), (double)(n - 1)));
  }
  if (way == 3) return cnst(F, DT_I32, s, (double)rnd(F, (int)n));
  return input(F, DT_I32, s, 0, (double)n);
}

/* An operand of dtype t and drift at most maxerr: a pool node (often a recent one), or a
 * new one (an input, a const, an iota, a cast, a compare). */
static int get(Fuzz *F, DType t, int maxerr) {
  int cand[MAXN], n = 0, x;
  for (int i = 0; i < F->npool; i++)
    if (nd(F, F->pool[i])->dtype == t && F->err[F->pool[i]] <= maxerr) cand[n++] = F->pool[i];
  if (n && !chance(F, 0.08)) return chance(F, 0.5) ? cand[n - 1 - rnd(F, n < 3 ? n : 3)] : cand[rnd(F, n)];
  Shape s = rshape(F, 4);
  switch (t) {
  case DT_F64: return cast(F, get(F, DT_F32, EXACT), DT_F64);
  case DT_BOOL:
    if (chance(F, 0.5) || (x = get(F, DT_F32, EXACT)) < 0) return input(F, t, s, 0, 2);
    return binary(F, OP_LT, x, fitbc(F, get(F, DT_F32, EXACT), nd(F, x)->shape));
  case DT_I32:
    if (chance(F, 0.25)) return cast(F, unary(F, OP_FLOOR, get(F, DT_F32, EXACT)), DT_I32);
    if (chance(F, 0.3) && s.rank) return reg(F, ir_iota(F->g, t, s, rnd(F, s.rank), LOC, &F->d), EXACT, 9);
    return input(F, t, s, -4, 5);
  default:
    if (chance(F, 0.1)) return cnst(F, t, s, (double)(rnd(F, 7) - 3) / 2);
    if (chance(F, 0.05) && s.rank) return reg(F, ir_iota(F->g, t, s, rnd(F, s.rank), LOC, &F->d), EXACT, 9);
    return input(F, t, s, -3, 3);
  }
}

/* ---- one builder per kind of op; each returns the new node (or an operand) or -1 ---- */

static DType numtype(Fuzz *F) { return chance(F, 0.75) ? DT_F32 : chance(F, 0.6) ? DT_I32 : DT_F64; }

static int b_unary(Fuzz *F) {
  static const OpKind ops[] = {OP_NEG, OP_ABS, OP_EXP, OP_LOG, OP_SQRT, OP_RSQRT, OP_TANH, OP_ERF, OP_RECIP, OP_FLOOR};
  OpKind op = ops[rnd(F, 10)];
  DType t = chance(F, 0.85) ? DT_F32 : DT_F64;
  if ((op == OP_NEG || op == OP_ABS) && chance(F, 0.3)) t = DT_I32;
  int x = get(F, t, op == OP_FLOOR ? EXACT : ERR32);
  if (op == OP_LOG || op == OP_SQRT || op == OP_RSQRT || op == OP_RECIP) x = positive(F, x);
  else if (op == OP_EXP && x >= 0 && F->mag[x] > 8) x = unary(F, OP_TANH, x);
  return unary(F, op, x);
}

static int b_binary(Fuzz *F) {
  static const OpKind ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_POW};
  DType t = numtype(F);
  OpKind op = ops[rnd(F, t == DT_I32 ? 6 : 7)];
  int a = bound(F, get(F, t, ERR32));
  if (op == OP_POW) a = positive(F, a);
  if (a < 0) return -1;
  int b = fitbc(F, bound(F, get(F, t, ERR32)), nd(F, a)->shape);
  if (op == OP_DIV) b = positive(F, b);
  if (op == OP_POW) b = chance(F, 0.5) ? cnst(F, t, shape_scalar(), (double)(rnd(F, 7) - 2) / 2) : unary(F, OP_TANH, b);
  int swap = op != OP_DIV && op != OP_POW && chance(F, 0.5);
  return binary(F, op, swap ? b : a, swap ? a : b);
}

static int b_compare(Fuzz *F) {
  static const OpKind ops[] = {OP_LT, OP_LE, OP_EQ};
  DType t = chance(F, 0.7) ? DT_F32 : chance(F, 0.7) ? DT_I32 : DT_BOOL;
  OpKind op = t == DT_BOOL ? OP_EQ : ops[rnd(F, 3)];
  int a = get(F, t, EXACT);
  if (a < 0) return -1;
  int b = chance(F, 0.3) && t != DT_BOOL ? cnst(F, t, shape_scalar(), rnd(F, 3) - 1)
                                         : fitbc(F, get(F, t, EXACT), nd(F, a)->shape);
  return chance(F, 0.5) ? binary(F, op, a, b) : binary(F, op, b, a);
}

static int b_logic(Fuzz *F) {
  int a = get(F, DT_BOOL, EXACT);
  if (a < 0 || chance(F, 0.3)) return unary(F, OP_NOT, a);
  return binary(F, chance(F, 0.5) ? OP_AND : OP_OR, a, fitbc(F, get(F, DT_BOOL, EXACT), nd(F, a)->shape));
}

static int b_where(Fuzz *F) {
  DType t = chance(F, 0.7) ? DT_F32 : chance(F, 0.7) ? DT_I32 : DT_BOOL;
  int a = get(F, t, ERR32);
  if (a < 0) return -1;
  Shape s = nd(F, a)->shape;
  int c = fitbc(F, get(F, DT_BOOL, EXACT), s), b = fitbc(F, get(F, t, ERR32), s), swap = chance(F, 0.5);
  if (c < 0 || b < 0) return -1;
  int id = ir_where(F->g, c, swap ? b : a, swap ? a : b, LOC, &F->d);
  return reg(F, id, worse(F->err[a], F->err[b]), dmax(F->mag[a], F->mag[b]));
}

static int b_cast(Fuzz *F) {
  static const DType from[] = {DT_F32, DT_F32, DT_F32, DT_I32, DT_BOOL, DT_F64};
  DType t = from[rnd(F, 6)], to;
  do to = (DType)rnd(F, 4); while (to == t);
  return cast(F, get(F, t, EXACT), to); /* no bound(): its tanh would make x inexact */
}

static int b_reduce(Fuzz *F) {
  int x = bound(F, get(F, numtype(F), ERR32));
  if (x < 0) return -1;
  int64_t ax[IR_MAX_RANK];
  int n = 0, r = nd(F, x)->shape.rank;
  for (int i = 0; i < r; i++)
    if (chance(F, 0.5)) ax[n++] = i;
  if (!n && r && chance(F, 0.8)) ax[n++] = rnd(F, r);
  return reduce(F, chance(F, 0.5) ? OP_REDUCE_SUM : OP_REDUCE_MAX, x, ax, n, chance(F, 0.4));
}

/* A random shape of n elements (n == 0: some axis 0). */
static Shape factor(Fuzz *F, int64_t n) {
  Shape s = {0};
  s.rank = n == 1 ? rnd(F, 3) : 1 + rnd(F, 4);
  int64_t left = n ? n : 1, ds[64];
  for (int i = 0, k = 0; i < s.rank - 1; i++, k = 0) {
    for (int64_t v = 1; v <= left && k < 64; v++)
      if (left % v == 0) ds[k++] = v;
    left /= (s.d[i] = ds[rnd(F, k)]);
  }
  if (s.rank) s.d[s.rank - 1] = left;
  if (!n) s.d[rnd(F, s.rank)] = 0;
  return s;
}

/* reshape, permute, broadcast, slice, pad or concat of one operand */
static int b_move(Fuzz *F) {
  static const DType ts[] = {DT_F32, DT_F32, DT_F32, DT_F32, DT_I32, DT_BOOL};
  int x = get(F, ts[rnd(F, 6)], ERR32), kind = rnd(F, 6);
  if (x < 0) return -1;
  Shape s = nd(F, x)->shape, o = s;
  int e = F->err[x];
  double m = F->mag[x];
  int64_t a[IR_MAX_RANK], b[IR_MAX_RANK], c[IR_MAX_RANK];
  if (kind == 1 && s.rank >= 2) {
    for (int i = 0; i < s.rank; i++) a[i] = i;
    for (int i = s.rank - 1, j; i > 0; i--) j = rnd(F, i + 1), b[0] = a[i], a[i] = a[j], a[j] = b[0];
    return reg(F, ir_permute(F->g, x, a, s.rank, LOC, &F->d), e, m);
  }
  if (kind == 2 && s.rank <= 4) { /* up to two new leading axes; size-1 axes grow */
    int extra = rnd(F, 3);
    o.rank = s.rank + extra;
    for (int i = 0; i < o.rank; i++) o.d[i] = i < extra || s.d[i - extra] == 1 ? 1 + rnd(F, 4) : s.d[i - extra];
    return shape_numel(&o) > BIG ? x : reg(F, ir_broadcast(F->g, x, o, LOC, &F->d), e, m);
  }
  if (kind == 3 && s.rank) {
    for (int i = 0; i < s.rank; i++) {
      a[i] = s.d[i] ? rnd(F, (int)s.d[i]) : 0;
      b[i] = s.d[i] ? a[i] + 1 + rnd(F, (int)(s.d[i] - a[i])) : 0;
      c[i] = 1 + rnd(F, 3);
    }
    return slice(F, x, a, b, c);
  }
  if (kind == 4 && s.rank) {
    for (int i = 0; i < s.rank; i++) a[i] = rnd(F, 3), b[i] = rnd(F, 3), o.d[i] += a[i] + b[i];
    if (shape_numel(&o) > BIG) return x;
    return reg(F, ir_pad(F->g, x, a, b, (double)(rnd(F, 7) - 3) / 2, LOC, &F->d), e, dmax(m, 1.5));
  }
  if (kind == 5 && s.rank) { /* x with itself (fan-out) or with others fitted to it */
    int xs[3] = {x, x, x}, n = 2 + rnd(F, 2), ax = rnd(F, s.rank);
    for (int k = 1; k < n; k++) {
      if (chance(F, 0.4)) continue;
      o.d[ax] = rnd(F, 5);
      if ((xs[k] = fit(F, get(F, nd(F, x)->dtype, ERR32), o)) < 0) return -1;
      e = worse(e, F->err[xs[k]]), m = dmax(m, F->mag[xs[k]]);
    }
    return reg(F, ir_concat(F->g, xs, n, ax, LOC, &F->d), e, m);
  }
  return reshape(F, x, factor(F, shape_numel(&s)));
}

static int b_gather(Fuzz *F) {
  static const DType ts[] = {DT_F32, DT_F32, DT_I32, DT_BOOL};
  int x = get(F, ts[rnd(F, 4)], ERR32);
  if (x >= 0 && nd(F, x)->shape.rank == 0) x = reshape(F, x, shape_of(1, (int64_t[]){1}));
  if (x >= 0 && numel(F, x) == 0) x = input(F, DT_F32, shape_of(1, (int64_t[]){1 + rnd(F, 6)}), -3, 3);
  if (x < 0) return -1;
  Shape s = nd(F, x)->shape, is = rshape(F, 2);
  int ax = rnd(F, s.rank);
  if (numel(F, x) / s.d[ax] * shape_numel(&is) > BIG) is = shape_scalar();
  int idx = indices(F, s.d[ax], is);
  return idx < 0 ? -1 : reg(F, ir_gather(F->g, x, idx, ax, LOC, &F->d), F->err[x], F->mag[x]);
}

static int b_scatter(Fuzz *F) {
  DType t = chance(F, 0.75) ? DT_F32 : DT_I32;
  int u = bound(F, get(F, t, ERR32));
  if (u < 0) return -1;
  Shape s = nd(F, u)->shape, is = {0};
  int ax = rnd(F, s.rank + 1), size = 1 + rnd(F, 6);
  is.rank = rnd(F, (s.rank - ax < 2 ? s.rank - ax : 2) + 1);
  for (int i = 0; i < is.rank; i++) is.d[i] = s.d[ax + i];
  int64_t ni = shape_numel(&is);
  if (numel(F, u) / (ni ? ni : 1) * size > BIG) return u;
  int idx = indices(F, size, is);
  if (idx < 0) return -1;
  int id = ir_scatter_add(F->g, u, idx, ax, size, LOC, &F->d);
  return reg(F, id, t == DT_I32 ? EXACT : ERR32, F->mag[u] * (double)ni); /* f32: the order of adds */
}

static int b_one_hot(Fuzz *F) {
  static const DType ts[] = {DT_F32, DT_I32, DT_BOOL};
  int idx = get(F, DT_I32, EXACT), depth = rnd(F, 7); /* indices outside [0, depth) give zero rows */
  if (idx < 0 || nd(F, idx)->shape.rank >= 6 || numel(F, idx) * depth > BIG) return idx;
  return reg(F, ir_one_hot(F->g, idx, depth, ts[rnd(F, 3)], LOC, &F->d), EXACT, 1);
}

static int b_matmul(Fuzz *F) {
  DType t = chance(F, 0.85) ? DT_F32 : DT_F64;
  int a = bound(F, get(F, t, ERR32));
  if (a < 0) return -1;
  Shape s = nd(F, a)->shape;
  if (s.rank < 2 || s.rank > 4) a = reshape(F, a, s = factor(F, shape_numel(&s)));
  if (s.rank < 2) a = reshape(F, a, s = shape_of(2, (int64_t[]){1, shape_numel(&s)}));
  int ta = rnd(F, 2), tb = rnd(F, 2), r = s.rank;
  /* mostly narrow; sometimes past a 32-column panel, with a remainder (the packed path) */
  int64_t k = ta ? s.d[r - 2] : s.d[r - 1], n = chance(F, 0.25) ? 32 + rnd(F, 40) : 1 + rnd(F, 6);
  Shape bs = s;
  bs.d[r - 2] = tb ? n : k, bs.d[r - 1] = tb ? k : n;
  int b = fit(F, bound(F, get(F, t, ERR32)), bs), swap = chance(F, 0.5);
  if (b < 0 || a < 0) return -1;
  /* (a b)^T = b^T a^T */
  int id = swap ? ir_matmul(F->g, b, a, !tb, !ta, LOC, &F->d) : ir_matmul(F->g, a, b, ta, tb, LOC, &F->d);
  id = reg(F, id, inexact(t), F->mag[a] * F->mag[b] * (double)k);
  if (id >= 0 && chance(F, 0.5)) { /* a linear layer's epilogue: a bias along the rows, an activation */
    const Shape *os = &nd(F, id)->shape;
    id = binary(F, OP_ADD, id, input(F, t, shape_of(1, &os->d[os->rank - 1]), -1, 1));
    if (chance(F, 0.5)) id = unary(F, OP_TANH, id);
  }
  return id;
}

static int b_conv(Fuzz *F) {
  int64_t n = 1 + rnd(F, 2), c = 1 + rnd(F, 3), h = 1 + rnd(F, 7), w = 1 + rnd(F, 7), o = 1 + rnd(F, 3);
  int64_t st[2] = {1 + rnd(F, 2), 1 + rnd(F, 2)}, pd[2] = {rnd(F, 2), rnd(F, 2)};
  int64_t kh = 1 + rnd(F, (int)(h + 2 * pd[0] < 3 ? h + 2 * pd[0] : 3));
  int64_t kw = 1 + rnd(F, (int)(w + 2 * pd[1] < 3 ? w + 2 * pd[1] : 3));
  int x = fit(F, bound(F, get(F, DT_F32, ERR32)), shape_of(4, (int64_t[]){n, c, h, w}));
  int k = fit(F, bound(F, get(F, DT_F32, ERR32)), shape_of(4, (int64_t[]){o, c, kh, kw}));
  if (x < 0 || k < 0) return -1;
  return reg(F, ir_conv(F->g, x, k, st, pd, LOC, &F->d), ERR32, F->mag[x] * F->mag[k] * (double)(c * kh * kw));
}

static int b_random(Fuzz *F) {
  int seed = chance(F, 0.5) ? input(F, DT_I32, shape_scalar(), -1e6, 1e6) : get(F, DT_I32, EXACT);
  int64_t ax[IR_MAX_RANK], stream = chance(F, 0.5) ? rnd(F, 10) : (int64_t)(next(F) >> 24);
  for (int i = 0; seed >= 0 && i < nd(F, seed)->shape.rank; i++) ax[i] = i;
  if (seed >= 0 && nd(F, seed)->shape.rank) seed = reduce(F, OP_REDUCE_SUM, seed, ax, nd(F, seed)->shape.rank, 0);
  return seed < 0 ? -1 : reg(F, ir_random(F->g, seed, stream, rshape(F, 3), LOC, &F->d), EXACT, 1);
}

/* A row-wise pattern (a layer norm's centring, a softmax's shift): x combined with a
 * reduction of its own rows over the last axis, kept as [..., 1] and broadcast back —
 * what fusion computes per row inside the reader's kernel (passes/fuse.h rule 5a). */
static int b_rowwise(Fuzz *F) {
  static const OpKind ops[] = {OP_SUB, OP_MUL, OP_ADD, OP_MAX};
  int x = bound(F, get(F, numtype(F), ERR32));
  if (x >= 0 && !nd(F, x)->shape.rank) x = reshape(F, x, (Shape){.rank = 1, .d = {1}});
  if (x < 0) return -1;
  int64_t ax = nd(F, x)->shape.rank - 1;
  int r = reduce(F, chance(F, 0.5) ? OP_REDUCE_SUM : OP_REDUCE_MAX, x, &ax, 1, 1);
  if (r >= 0 && chance(F, 0.5) && isflt(nd(F, r)->dtype)) r = binary(F, OP_DIV, r, cnst(F, nd(F, r)->dtype, shape_scalar(), 3.0));
  return binary(F, ops[rnd(F, 4)], x, bound(F, r));
}

/* One value read four ways, in this order: summed over its first axis, transposed, row
 * by row, maxed over its first axis (the two whole-tensor reductions rule 8 groups, so
 * the sum runs late, at the max; the transpose runs in its place): the readers of one value spread over groups and plain
 * kernels, which the groups' order must respect (codegen/layout.c checks it). */
static int b_fanout(Fuzz *F) {
  int x = get(F, DT_F32, ERR32);
  if (x >= 0 && nd(F, x)->shape.rank < 2) x = reshape(F, x, (Shape){.rank = 2, .d = {1, numel(F, x)}});
  if (x < 0) return -1;
  int r = nd(F, x)->shape.rank;
  int64_t a0 = 0, perm[IR_MAX_RANK];
  for (int i = 0; i < r; i++) perm[i] = i;
  perm[r - 2] = r - 1, perm[r - 1] = r - 2;
  reduce(F, OP_REDUCE_SUM, bound(F, x), &a0, 1, 0);
  reg(F, ir_permute(F->g, x, perm, r, LOC, &F->d), F->err[x], F->mag[x]);
  int y = unary(F, OP_TANH, x);
  reduce(F, OP_REDUCE_MAX, x, &a0, 1, 0); /* after the row reader: the sums' group runs here */
  return y;
}

typedef int (*Builder)(Fuzz *);
static const struct { Builder fn; int weight; } builders[] = {
    {b_unary, 14}, {b_binary, 18}, {b_compare, 5}, {b_logic, 3},   {b_where, 6},  {b_cast, 6},  {b_reduce, 8},
    {b_move, 16},  {b_gather, 5},  {b_scatter, 4}, {b_one_hot, 3}, {b_matmul, 5}, {b_conv, 3}, {b_random, 3},
    {b_rowwise, 6}, {b_fanout, 4}};
#define NBUILDERS ((int)(sizeof builders / sizeof builders[0]))

/* A random graph for this seed, inputs in F->in. 0, or -1 after the builder refused
 * something (a generator bug, reported through F->d). */
static int generate(Fuzz *F, uint64_t seed) {
  memset(F, 0, sizeof *F);
  F->rng = seed * 0x2545F4914F6CDD1Dull;
  F->g = ir_graph_new("fuzz");
  tset_init(&F->in);
  diag_init(&F->d);
  int total = 0, target = 3 + rnd(F, 23);
  for (int i = 0; i < NBUILDERS; i++) total += builders[i].weight;
  for (int i = 1 + rnd(F, 2); i > 0; i--) {
    DType t = chance(F, 0.8) ? DT_F32 : chance(F, 0.7) ? DT_I32 : DT_BOOL;
    input(F, t, rshape(F, 4), t == DT_F32 ? -3 : t == DT_I32 ? -4 : 0, t == DT_F32 ? 3 : t == DT_I32 ? 5 : 2);
  }
  for (int it = 0; F->g->n < target && it < 100 && F->g->n < MAXN / 2; it++) {
    int w = rnd(F, total), k = 0;
    while (w >= builders[k].weight) w -= builders[k++].weight;
    if (builders[k].fn(F) < 0 || F->d.nerr) return -1;
  }
  for (int k = 0, nout = 1 + (chance(F, 0.5) ? 1 + rnd(F, 2) : 0); k < nout; k++) {
    char name[16];
    snprintf(name, sizeof name, "y%d", k);
    ir_add_output(F->g, name, k ? F->pool[rnd(F, F->npool)] : F->pool[F->npool - 1]);
  }
  return F->d.nerr ? -1 : 0;
}

#endif
