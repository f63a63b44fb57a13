/* emit_matmul.c — the matmul kernel body (em_matmul).
 *
 * The range is over groups of MR rows of C (per batch entry). An operand is read either
 * through a pointer and strides — when it is stored, or a strided view of a stored value
 * (passes/fuse.h rule 3: attention's heads sliced and permuted out of the qkv
 * projection) — or, when fusion inlined something that is not a view, element by element
 * through em_value at its row-major index (correct for anything, slow).
 *
 * A 2-D f32 product with both operands in memory (every linear layer, forward and
 * backward, and every convolution, which decompose lowers to one matmul) takes the packed
 * path (matmul_packed): per chunk of rows, per panel of PW columns and per block of KC
 * along k, op(B)'s block is copied into a panel on the stack in the order the
 * micro-kernel reads it, then TR x PW tiles of C accumulate from it in registers (a
 * block after the first starts from C's values). When N is not a multiple of PW, the
 * last panel is packed with zeros past N and its tiles store only C's columns (masked
 * stores): a convolution's weight gradient [C_out, C_in*k*k] is rarely a multiple. The
 * sum over k runs in the same order whatever the thread count. Products narrower than
 * PACKED_MIN_N, or with an operand fused element by element, take the paths below:
 * a full group of C = A Bᵀ with both operands unit-stride along k goes through a
 * register-tiled micro-kernel: MR x
 * NR dot products at once, VW lanes of k per step held in MR*NR vector accumulators, so
 * each loaded vector feeds four multiply-adds. C = op(A) B with B unit-stride along n
 * takes MR x 2VW tiles: per k, MR broadcast elements of A times two vectors of B's row.
 * Everything else — the group's columns past the last full tile, groups of fewer rows,
 * other strides — takes the row path: without tb, C's row accumulates a[m,k] * B's row
 * k; with tb, each C[m,n] is a dot product along k. After each group, a fused epilogue
 * (fuse.h rule 5b) runs over its rows. */
#include <stdlib.h>
#include <string.h>

#include "codegen/emit.h"
#include "fuse.h"

#define MR EM_MATMUL_MR
#define NR 4

/* Operand k: the tensor it reads, as a pointer with strides, or through em_value. */
typedef struct Opnd {
  int k;                     /* which input of the matmul */
  LLVMValueRef p;            /* the stored tensor's pointer; NULL: element by element */
  int64_t off;               /* element offset into it */
  int64_t st[IR_MAX_RANK];   /* element stride per axis of the operand (p only) */
  Shape shape;               /* the operand's shape */
  LLVMValueRef boff;         /* the current batch entry's offset (per group) */
} Opnd;

static void operand(Em *e, int k, Opnd *o) {
  int id = e->n->in[k], base = id;
  FuseView v = {.base = id};
  o->k = k;
  o->p = NULL;
  o->shape = e->g->nodes[id].shape;
  if (e->inl[id] && !fuse_view(e->g, e->inl, id, &v)) return;
  base = v.base;
  if (!e->inl[id]) em_strides(&o->shape, v.st);
  for (int j = 0; j < e->nleaf; j++)
    if (e->leaf[j] == base) o->p = e->leafp[j];
  o->off = v.off;
  for (int a = 0; a < o->shape.rank; a++) o->st[a] = v.st[a];
}

/* The offset of batch entry bat (row-major over C's leading axes) in operand o. */
static void batch_offset(Em *e, Opnd *o, const Shape *cs, LLVMValueRef bat) {
  int r = cs->rank;
  if (!o->p) { /* row-major over the operand's own shape */
    o->boff = em_mulc(e, bat, o->shape.d[r - 2] * o->shape.d[r - 1]);
    return;
  }
  LLVMValueRef off = em_i64(e, o->off), rest = bat;
  for (int a = r - 3; a >= 0; a--) { /* innermost batch axis first */
    LLVMValueRef i = a ? LLVMBuildURem(e->b, rest, em_i64(e, cs->d[a]), "") : rest;
    if (o->st[a]) off = em_add(e, off, em_mulc(e, i, o->st[a]));
    if (a) rest = LLVMBuildUDiv(e->b, rest, em_i64(e, cs->d[a]), "");
  }
  o->boff = off;
}

/* The index of element (i, j) of o's last two axes in the current batch entry. */
static LLVMValueRef at(Em *e, const Opnd *o, LLVMValueRef i, LLVMValueRef j) {
  int r = o->shape.rank;
  if (!o->p) return em_add(e, o->boff, em_add(e, em_mulc(e, i, o->shape.d[r - 1]), j));
  return em_add(e, o->boff, em_add(e, em_mulc(e, i, o->st[r - 2]), em_mulc(e, j, o->st[r - 1])));
}

static LLVMValueRef load(Em *e, const Opnd *o, LLVMValueRef i, LLVMValueRef j) {
  LLVMValueRef ix = at(e, o, i, j);
  return o->p ? em_load(e, e->n->dtype, o->p, ix) : em_in(e, o->k, ix);
}

/* A[m, k] and B[k, n] of C = op(A) op(B) */
static LLVMValueRef a_el(Em *e, const Opnd *a, int ta, LLVMValueRef m, LLVMValueRef k) {
  return ta ? load(e, a, k, m) : load(e, a, m, k);
}
static LLVMValueRef b_el(Em *e, const Opnd *b, int tb, LLVMValueRef k, LLVMValueRef n) {
  return tb ? load(e, b, n, k) : load(e, b, k, n);
}

/* Where row m of C (batch bat) starts in the output: row-major, or, when the kernel's
 * node is a permute of C that keeps the last axis (fuse.h rule 5b), at the permuted row. */
static LLVMValueRef c_row(Em *e, LLVMValueRef bat, LLVMValueRef m) {
  const Shape *os = &e->n->shape;
  int r = os->rank;
  int64_t M = os->d[r - 2], N = os->d[r - 1];
  if (!e->epik || e->epik->op != OP_PERMUTE) return em_mulc(e, em_add(e, em_mulc(e, bat, M), m), N);
  LLVMValueRef idx[IR_MAX_RANK], rest = bat, row = em_i64(e, 0);
  for (int a = r - 3; a >= 0; a--) {
    idx[a] = a ? LLVMBuildURem(e->b, rest, em_i64(e, os->d[a]), "") : rest;
    if (a) rest = LLVMBuildUDiv(e->b, rest, em_i64(e, os->d[a]), "");
  }
  idx[r - 2] = m;
  int cnt;
  const int64_t *perm = ir_attr_is(e->epik, "perm", &cnt);
  for (int k = 0; k < r - 1; k++) row = em_add(e, em_mulc(e, row, e->epik->shape.d[k]), idx[perm[k]]);
  return em_mulc(e, row, N);
}

static LLVMValueRef vload(Em *e, LLVMTypeRef vt, LLVMTypeRef ft, LLVMValueRef p, LLVMValueRef ix, DType t) {
  LLVMValueRef v = LLVMBuildLoad2(e->b, vt, LLVMBuildInBoundsGEP2(e->b, ft, p, &ix, 1, ""), "");
  LLVMSetAlignment(v, (unsigned)dtype_size(t));
  return v;
}

/* Row m of C (batch bat) for the columns [n0, N). */
static void matmul_row(Em *e, const Opnd *a, const Opnd *b, LLVMValueRef bat, LLVMValueRef m, LLVMValueRef n0) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank, ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
  int64_t N = os->d[r - 1], K = ta ? a->shape.d[r - 2] : a->shape.d[r - 1];
  DType t = n->dtype;
  Loop Lk, Ln;
  LLVMValueRef cbase = c_row(e, bat, m);
  if (!tb) {
    LLVMValueRef z = loop_begin(e, &Ln, n0, em_i64(e, N));
    em_store(e, t, e->out, em_add(e, cbase, z), em_const(e, t, 0));
    loop_end(e, &Ln, NULL);
    LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
    LLVMValueRef av = a_el(e, a, ta, m, k);
    LLVMValueRef j = loop_begin(e, &Ln, n0, em_i64(e, N));
    LLVMValueRef ci = em_add(e, cbase, j);
    em_store(e, t, e->out, ci, em_mul_add(e, t, em_load(e, t, e->out, ci), av, b_el(e, b, tb, k, j)));
    loop_end(e, &Ln, NULL);
    loop_end(e, &Lk, NULL);
  } else {
    LLVMValueRef j = loop_begin(e, &Ln, n0, em_i64(e, N));
    LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
    LLVMValueRef acc = loop_carry(e, &Lk, em_const(e, t, 0));
    LLVMValueRef next = em_mul_add(e, t, acc, a_el(e, a, ta, m, k), b_el(e, b, tb, k, j));
    loop_end(e, &Lk, &next);
    em_store(e, t, e->out, em_add(e, cbase, j), acc);
    loop_end(e, &Ln, NULL);
  }
}

/* The MR x NR tiles of rows m0.. (a full group) of C = A Bᵀ, columns [0, N / NR * NR);
 * both operands unit-stride along k. */
static void matmul_tiles(Em *e, const Opnd *a, const Opnd *b, LLVMValueRef bat, LLVMValueRef m0) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank;
  int64_t N = os->d[r - 1], K = a->shape.d[r - 1];
  DType t = n->dtype;
  LLVMTypeRef ft = em_type(e, t);
  unsigned vw = t == DT_F64 ? 8 : 16;
  LLVMTypeRef vt = LLVMVectorType(ft, vw);
  int64_t kv = K / vw;
  LLVMValueRef arow[MR], brow[NR];
  for (int i = 0; i < MR; i++) arow[i] = at(e, a, em_add(e, m0, em_i64(e, i)), em_i64(e, 0));
  Loop Lb, Lv, Lk;
  LLVMValueRef nb = loop_begin(e, &Lb, em_i64(e, 0), em_i64(e, N / NR));
  for (int j = 0; j < NR; j++) brow[j] = at(e, b, em_add(e, em_mulc(e, nb, NR), em_i64(e, j)), em_i64(e, 0));
  /* vector steps along k */
  LLVMValueRef acc[MR * NR], sum[MR * NR], next[MR * NR];
  LLVMValueRef v = loop_begin(e, &Lv, em_i64(e, 0), em_i64(e, kv));
  for (int q = 0; q < MR * NR; q++) acc[q] = loop_carry(e, &Lv, LLVMConstNull(vt));
  LLVMValueRef kk = em_mulc(e, v, vw), av[MR], bv[NR];
  for (int i = 0; i < MR; i++) av[i] = vload(e, vt, ft, a->p, em_add(e, arow[i], kk), t);
  for (int j = 0; j < NR; j++) bv[j] = vload(e, vt, ft, b->p, em_add(e, brow[j], kk), t);
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      LLVMValueRef args[3] = {av[i], bv[j], acc[i * NR + j]};
      next[i * NR + j] = em_intrinsic(e, "llvm.fmuladd", vt, args, 3);
    }
  loop_end(e, &Lv, next);
  for (int q = 0; q < MR * NR; q++) {
    LLVMValueRef args[2] = {LLVMConstReal(ft, 0), acc[q]};
    sum[q] = em_intrinsic(e, "llvm.vector.reduce.fadd", vt, args, 2);
    em_reassoc(sum[q]);
  }
  /* the last K % vw steps, one lane at a time */
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, kv * vw), em_i64(e, K));
  LLVMValueRef s2[MR * NR], n2[MR * NR];
  for (int q = 0; q < MR * NR; q++) s2[q] = loop_carry(e, &Lk, sum[q]);
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      n2[i * NR + j] = em_mul_add(e, t, s2[i * NR + j], em_load(e, t, a->p, em_add(e, arow[i], k)),
                                  em_load(e, t, b->p, em_add(e, brow[j], k)));
  loop_end(e, &Lk, n2);
  for (int i = 0; i < MR; i++) {
    LLVMValueRef crow = c_row(e, bat, em_add(e, m0, em_i64(e, i)));
    for (int j = 0; j < NR; j++)
      em_store(e, t, e->out, em_add(e, crow, em_add(e, em_mulc(e, nb, NR), em_i64(e, j))), s2[i * NR + j]);
  }
  loop_end(e, &Lb, NULL);
}

/* The MR x (2 VW) tiles of rows m0.. of C = op(A) B with B unit-stride along n: per k,
 * MR broadcast elements of A times two vectors of B's row k into 2 MR vector
 * accumulators. Columns [0, N / (2 VW) * 2 VW). */
static void matmul_tiles_nn(Em *e, const Opnd *a, const Opnd *b, LLVMValueRef bat, LLVMValueRef m0, int ta) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank;
  int64_t N = os->d[r - 1], K = ta ? a->shape.d[r - 2] : a->shape.d[r - 1];
  DType t = n->dtype;
  LLVMTypeRef ft = em_type(e, t);
  unsigned vw = t == DT_F64 ? 8 : 16;
  LLVMTypeRef vt = LLVMVectorType(ft, vw);
  Loop Lb, Lk;
  LLVMValueRef nb = loop_begin(e, &Lb, em_i64(e, 0), em_i64(e, N / (2 * vw)));
  LLVMValueRef n0 = em_mulc(e, nb, 2 * vw);
  LLVMValueRef acc[MR * 2], next[MR * 2];
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), em_i64(e, K));
  for (int q = 0; q < MR * 2; q++) acc[q] = loop_carry(e, &Lk, LLVMConstNull(vt));
  LLVMValueRef bv[2];
  for (int j = 0; j < 2; j++) bv[j] = vload(e, vt, ft, b->p, at(e, b, k, em_add(e, n0, em_i64(e, j * vw))), t);
  for (int i = 0; i < MR; i++) {
    LLVMValueRef a1 = a_el(e, a, ta, em_add(e, m0, em_i64(e, i)), k);
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), a1, em_i32(e, 0), "");
    LLVMValueRef splat = LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(e->i32, vw)), "");
    for (int j = 0; j < 2; j++) {
      LLVMValueRef args[3] = {splat, bv[j], acc[i * 2 + j]};
      next[i * 2 + j] = em_intrinsic(e, "llvm.fmuladd", vt, args, 3);
    }
  }
  loop_end(e, &Lk, next);
  for (int i = 0; i < MR; i++) {
    LLVMValueRef crow = c_row(e, bat, em_add(e, m0, em_i64(e, i)));
    for (int j = 0; j < 2; j++) {
      LLVMValueRef ix = em_add(e, crow, em_add(e, n0, em_i64(e, j * vw)));
      LLVMValueRef st = LLVMBuildStore(e->b, acc[i * 2 + j], LLVMBuildInBoundsGEP2(e->b, ft, e->out, &ix, 1, ""));
      LLVMSetAlignment(st, (unsigned)dtype_size(t));
    }
  }
  loop_end(e, &Lb, NULL);
}

/* ---- packed panels ----
 *
 * C = A Bᵀ of a 2-D matmul (a linear layer: B is the weight, [N, K]) with N >= PW: per
 * chunk of CH row groups of the range, per panel of PW columns, Bᵀ's panel is packed
 * k-major into a stack buffer (K x PW floats, contiguous), and the chunk's rows take
 * TR x PW tiles: per k, TR broadcast elements of A times PW/VW vectors of the panel,
 * no horizontal sums. Packing a panel of Bᵀ transposes whole 16 x 16 blocks in vector
 * registers. The chunk is large (512 rows) because each chunk packs all of op(B) again:
 * at 64 rows the scalar packing took a quarter of the time (3200x192x768: 70 GFLOP/s on
 * one Zen 4 core, 90 at 256 rows, 98 with 512 rows and the vector transposes; OpenBLAS
 * 85); the chunk's C (512 x N) still mostly sits in the second-level cache for its
 * epilogue. Tiles of 12 rows (24 accumulators) measured slower than 8. */

#define PW 32       /* panel width: two 16-lane vectors */
#define CH 128      /* row groups per chunk (512 rows): op(B)'s panels are packed once per chunk */
#define KC 256      /* the k block packed at once: a 32 KB panel, the first-level cache of a Zen 4 core */
#define TR 8         /* rows of a tile: 16 accumulators hide the multiply-add latency */
#define PACKED_MIN_N 8 /* narrower products take the row path: a panel would be mostly padding */

/* An intrinsic overloaded on two types (the masked loads and stores: vector, pointer). */
static LLVMValueRef intrinsic2(Em *e, const char *name, LLVMTypeRef t0, LLVMTypeRef t1, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef tys[2] = {t0, t1};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, tys, 2);
  return LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->ctx, id, tys, 2), f, args, n, "");
}

/* The mask of a panel's vector j of width columns: its lanes below width - 16 j. */
static LLVMValueRef lanes(Em *e, int width, int j) {
  LLVMValueRef bits[16];
  for (int l = 0; l < 16; l++) bits[l] = LLVMConstInt(e->i1, 16 * j + l < width, 0);
  return LLVMConstVector(bits, 16);
}

/* Vector j of C's row at ix (the panel's first column): loaded, or stored, whole when the
 * panel has its 16 columns there, else only those it has. */
static LLVMValueRef c_load(Em *e, LLVMValueRef ix, int width, int j) {
  LLVMTypeRef vt = LLVMVectorType(e->f32, 16);
  LLVMValueRef p = LLVMBuildInBoundsGEP2(e->b, e->f32, e->out, &ix, 1, "");
  if (16 * (j + 1) <= width) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, vt, p, "");
    LLVMSetAlignment(v, 4);
    return v;
  }
  LLVMValueRef args[4] = {p, em_i32(e, 4), lanes(e, width, j), LLVMConstNull(vt)};
  return intrinsic2(e, "llvm.masked.load", vt, e->ptr, args, 4);
}

static void c_store(Em *e, LLVMValueRef ix, int width, int j, LLVMValueRef v) {
  LLVMValueRef p = LLVMBuildInBoundsGEP2(e->b, e->f32, e->out, &ix, 1, "");
  if (16 * (j + 1) <= width) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 4);
    return;
  }
  LLVMValueRef args[4] = {v, p, em_i32(e, 4), lanes(e, width, j)};
  intrinsic2(e, "llvm.masked.store", LLVMTypeOf(v), e->ptr, args, 4);
}

/* Rows [m0, m0 + rows) of C, columns [n0, n0 + width) (width <= PW: a full panel, or the
 * last one), over k in [k0, k0 + kn) from the packed panel buf (buf[(k - k0)*PW + j] =
 * B[k, n0 + j], zero past width); acc starts at 0 (first) or at C's values (the K blocks
 * after the first). The panel's columns past width are computed and not stored. */
static void packed_tile(Em *e, const Opnd *a, int ta, LLVMValueRef buf, LLVMValueRef m0, int rows, LLVMValueRef n0,
                        int width, LLVMValueRef k0, LLVMValueRef kn, LLVMValueRef first, int64_t N) {
  LLVMTypeRef ft = e->f32, vt = LLVMVectorType(ft, 16);
  int nv = (width + 15) / 16;
  LLVMValueRef acc[TR * 2], next[TR * 2], init[TR * 2];
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < nv; j++) {
      LLVMValueRef ix = em_add(e, em_mulc(e, em_add(e, m0, em_i64(e, i)), N), em_add(e, n0, em_i64(e, 16 * j)));
      init[i * nv + j] = LLVMBuildSelect(e->b, first, LLVMConstNull(vt), c_load(e, ix, width, j), "");
    }
  Loop Lk;
  LLVMValueRef k = loop_begin(e, &Lk, em_i64(e, 0), kn);
  for (int q = 0; q < rows * nv; q++) acc[q] = loop_carry(e, &Lk, init[q]);
  LLVMValueRef bv[2];
  for (int j = 0; j < nv; j++) bv[j] = vload(e, vt, ft, buf, em_add(e, em_mulc(e, k, PW), em_i64(e, 16 * j)), DT_F32);
  for (int i = 0; i < rows; i++) {
    LLVMValueRef a1 = a_el(e, a, ta, em_add(e, m0, em_i64(e, i)), em_add(e, k0, k));
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), a1, em_i32(e, 0), "");
    LLVMValueRef splat = LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(e->i32, 16)), "");
    for (int j = 0; j < nv; j++) {
      LLVMValueRef args[3] = {splat, bv[j], acc[i * nv + j]};
      next[i * nv + j] = em_intrinsic(e, "llvm.fmuladd", vt, args, 3);
    }
  }
  loop_end(e, &Lk, next);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < nv; j++) {
      LLVMValueRef ix = em_add(e, em_mulc(e, em_add(e, m0, em_i64(e, i)), N), em_add(e, n0, em_i64(e, 16 * j)));
      c_store(e, ix, width, j, acc[i * nv + j]);
    }
}

/* A shuffle of two 16-lane vectors by a constant mask. */
static LLVMValueRef shuffle16(Em *e, LLVMValueRef x, LLVMValueRef y, const int *mask) {
  LLVMValueRef m[16];
  for (int l = 0; l < 16; l++) m[l] = em_i32(e, mask[l]);
  return LLVMBuildShuffleVector(e->b, x, y, LLVMConstVector(m, 16), "");
}

/* The panel's k in [0, kn16) (a multiple of 16) from Bᵀ stored [N, K] unit-stride along
 * k: per 16 k and per half of the panel, 16 rows of B loaded as vectors, transposed in
 * registers (four rounds of two-vector shuffles: round s swaps the s x s blocks off the
 * diagonal), stored as 16 rows of the panel. The scalar copy costs a load and a store
 * per element: a quarter of the tiles' time for a chunk of 64 rows. */
static void pack_transposed(Em *e, const Opnd *b, LLVMValueRef buf, LLVMValueRef n0, LLVMValueRef k0, LLVMValueRef kn16) {
  LLVMTypeRef vt = LLVMVectorType(e->f32, 16);
  Loop Lq;
  LLVMValueRef q = loop_begin(e, &Lq, em_i64(e, 0), LLVMBuildUDiv(e->b, kn16, em_i64(e, 16), ""));
  LLVMValueRef kq = em_mulc(e, q, 16);
  for (int h = 0; h < PW / 16; h++) {
    LLVMValueRef r[16];
    for (int i = 0; i < 16; i++)
      r[i] = vload(e, vt, e->f32, b->p, at(e, b, em_add(e, n0, em_i64(e, 16 * h + i)), em_add(e, k0, kq)), DT_F32);
    for (int s = 8; s >= 1; s /= 2) {
      int lo[16], hi[16];
      for (int l = 0; l < 16; l++) {
        lo[l] = (l & s) ? 16 + l - s : l;
        hi[l] = (l & s) ? 16 + l : l + s;
      }
      for (int i = 0; i < 16; i++) {
        if (i & s) continue;
        LLVMValueRef x = shuffle16(e, r[i], r[i + s], lo), y = shuffle16(e, r[i], r[i + s], hi);
        r[i] = x;
        r[i + s] = y;
      }
    }
    for (int c = 0; c < 16; c++) { /* r[c]: column k0 + kq + c of the half's 16 rows */
      LLVMValueRef ix = em_add(e, em_mulc(e, em_add(e, kq, em_i64(e, c)), PW), em_i64(e, 16 * h));
      LLVMValueRef st = LLVMBuildStore(e->b, r[c], LLVMBuildInBoundsGEP2(e->b, e->f32, buf, &ix, 1, ""));
      LLVMSetAlignment(st, 64);
    }
  }
  loop_end(e, &Lq, NULL);
}

/* One panel of C's columns [n0, n0 + width) for the chunk's rows [r0, r1), over the block
 * [k0, k0 + kn) along k: op(B)'s block packed into buf (read in the operand's memory
 * order, zeros past width), then `tiles` tiles of TR rows and tiles of 4, 2 and 1 rows
 * for the rest. */
static void panel(Em *e, const Opnd *a, const Opnd *b, int ta, int tb, LLVMValueRef buf, LLVMValueRef n0, int width,
                  LLVMValueRef r0, LLVMValueRef r1, LLVMValueRef tiles, LLVMValueRef k0, LLVMValueRef kn,
                  LLVMValueRef first, int64_t N) {
  Loop Lj, Lk, Lg;
  LLVMValueRef zero = em_i64(e, 0);
  /* pack op(B)[k0:k0+kn, n0:n0+width]: buf[k*PW + j] = op(B)[k0 + k, n0 + j], the loop
   * along the operand's contiguous axis innermost */
  LLVMValueRef j, k, kfrom = zero;
  if (tb && width == PW && b->st[1] == 1) { /* whole 16 x 16 blocks by vector transposes */
    kfrom = em_mulc(e, LLVMBuildUDiv(e->b, kn, em_i64(e, 16), ""), 16);
    pack_transposed(e, b, buf, n0, k0, kfrom);
  }
  if (tb) {
    j = loop_begin(e, &Lj, zero, em_i64(e, width));
    k = loop_begin(e, &Lk, kfrom, kn);
  } else {
    k = loop_begin(e, &Lk, zero, kn);
    j = loop_begin(e, &Lj, zero, em_i64(e, width));
  }
  LLVMValueRef v = b_el(e, b, tb, em_add(e, k0, k), em_add(e, n0, j));
  LLVMValueRef bi = em_add(e, em_mulc(e, k, PW), j);
  LLVMBuildStore(e->b, v, LLVMBuildInBoundsGEP2(e->b, e->f32, buf, &bi, 1, ""));
  if (tb) {
    loop_end(e, &Lk, NULL);
    loop_end(e, &Lj, NULL);
  } else {
    loop_end(e, &Lj, NULL);
    loop_end(e, &Lk, NULL);
  }
  int padded = (width + 15) / 16 * 16;
  if (width < padded) { /* the last vector's columns past width: zeros */
    k = loop_begin(e, &Lk, zero, kn);
    j = loop_begin(e, &Lj, em_i64(e, width), em_i64(e, padded));
    bi = em_add(e, em_mulc(e, k, PW), j);
    LLVMBuildStore(e->b, LLVMConstNull(e->f32), LLVMBuildInBoundsGEP2(e->b, e->f32, buf, &bi, 1, ""));
    loop_end(e, &Lj, NULL);
    loop_end(e, &Lk, NULL);
  }
  LLVMValueRef t = loop_begin(e, &Lg, zero, tiles);
  packed_tile(e, a, ta, buf, em_add(e, r0, em_mulc(e, t, TR)), TR, n0, width, k0, kn, first, N);
  loop_end(e, &Lg, NULL);
  /* the rows left (fewer than TR): a tile of 4, of 2, of 1 as their count's bits say (a
   * batch-1 ViT's 50 rows leave 2, which one row at a time ran at a quarter speed) */
  LLVMValueRef r = em_add(e, r0, em_mulc(e, tiles, TR)), left = LLVMBuildNSWSub(e->b, r1, r, "");
  for (int h = TR / 2; h >= 1; h /= 2) {
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "rows"),
                      next = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "next");
    LLVMValueRef bit = LLVMBuildAnd(e->b, left, em_i64(e, h), "");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntNE, bit, zero, ""), run, next);
    LLVMPositionBuilderAtEnd(e->b, run);
    packed_tile(e, a, ta, buf, r, h, n0, width, k0, kn, first, N);
    LLVMBuildBr(e->b, next);
    LLVMPositionBuilderAtEnd(e->b, next);
    r = em_add(e, r, bit);
  }
}

/* A 2-D f32 C = op(A) op(B), both operands through pointers: per chunk of CH row groups,
 * per panel of PW columns (the last one possibly narrower), per block of KC along k:
 * op(B)'s block packed into a panel on the stack (read in the operand's memory order),
 * then TR x PW register tiles over the chunk's rows; the epilogue runs per group after
 * all panels. */
static void matmul_packed(Em *e, const Opnd *a, const Opnd *b, int ta, int tb) {
  const Shape *os = &e->n->shape;
  int64_t M = os->d[0], N = os->d[1], K = ta ? a->shape.d[0] : a->shape.d[1], P = N / PW;
  /* the panel buffer: a static alloca in the entry block */
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b), entry = LLVMGetEntryBasicBlock(e->fn);
  LLVMValueRef first_inst = LLVMGetFirstInstruction(entry);
  if (first_inst) LLVMPositionBuilderBefore(e->b, first_inst);
  else LLVMPositionBuilderAtEnd(e->b, entry);
  LLVMValueRef buf = LLVMBuildAlloca(e->b, LLVMArrayType(e->f32, (unsigned)((K < KC ? K : KC) * PW)), "panel");
  LLVMSetAlignment(buf, 64);
  LLVMPositionBuilderAtEnd(e->b, cur);
  Loop Lc, L1, L2, Lg;
  LLVMValueRef zero = em_i64(e, 0);
  Opnd aa = *a, bb = *b;
  batch_offset(e, &aa, os, zero); /* no batch axes: the views' offsets */
  batch_offset(e, &bb, os, zero);
  /* chunks of CH groups: [g0, min(g0 + CH, hi)) */
  LLVMValueRef nchunks = LLVMBuildUDiv(e->b, em_add(e, LLVMBuildNSWSub(e->b, e->hi, e->lo, ""), em_i64(e, CH - 1)),
                                       em_i64(e, CH), "");
  LLVMValueRef ci = loop_begin(e, &Lc, zero, nchunks);
  LLVMValueRef g0 = em_add(e, e->lo, em_mulc(e, ci, CH));
  LLVMValueRef g1 = em_add(e, g0, em_i64(e, CH));
  g1 = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, g1, e->hi, ""), g1, e->hi, "");
  LLVMValueRef r0 = em_mulc(e, g0, MR), r1 = em_mulc(e, g1, MR);
  r1 = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, r1, em_i64(e, M), ""), r1, em_i64(e, M), "");
  LLVMValueRef tiles = LLVMBuildSDiv(e->b, LLVMBuildNSWSub(e->b, r1, r0, ""), em_i64(e, TR), "");
  /* The panels and the blocks of KC along k, in one of two orders. K > N (weight
   * gradients, K = batch x tokens): per block along k, every panel, so that the chunk's
   * block of A stays in the second-level cache while the panels pass; panel by panel,
   * such a k read all of A's chunk from memory once per panel (192x3200x768 at 2
   * threads: 97 GFLOP/s, 172 this way). Otherwise per panel, every block along k: the
   * panel's C stays in cache between blocks (2048^3: 100 GFLOP/s on one thread, 96 the
   * other way). */
  int kouter = K > N, np = (int)(P + (P * PW < N));
  LLVMValueRef nkb = em_i64(e, (K + KC - 1) / KC);
  LLVMValueRef i1 = loop_begin(e, &L1, zero, kouter ? nkb : em_i64(e, np));
  LLVMValueRef i2 = loop_begin(e, &L2, zero, kouter ? em_i64(e, np) : nkb);
  LLVMValueRef kb = kouter ? i1 : i2, p = kouter ? i2 : i1;
  LLVMValueRef k0 = em_mulc(e, kb, KC), kn = LLVMBuildNSWSub(e->b, em_i64(e, K), k0, "");
  kn = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, kn, em_i64(e, KC), ""), kn, em_i64(e, KC), "");
  LLVMValueRef first = LLVMBuildICmp(e->b, LLVMIntEQ, kb, zero, "");
  if (P == np) { /* full panels only */
    panel(e, &aa, &bb, ta, tb, buf, em_mulc(e, p, PW), PW, r0, r1, tiles, k0, kn, first, N);
  } else if (P == 0) { /* one narrow panel */
    panel(e, &aa, &bb, ta, tb, buf, zero, (int)N, r0, r1, tiles, k0, kn, first, N);
  } else { /* panel p: full, or the narrow last */
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "full"),
                      last = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "last"),
                      join = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "join");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, p, em_i64(e, P), ""), full, last);
    LLVMPositionBuilderAtEnd(e->b, full);
    panel(e, &aa, &bb, ta, tb, buf, em_mulc(e, p, PW), PW, r0, r1, tiles, k0, kn, first, N);
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, last);
    panel(e, &aa, &bb, ta, tb, buf, em_i64(e, P * PW), (int)(N - P * PW), r0, r1, tiles, k0, kn, first, N);
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, join);
  }
  loop_end(e, &L2, NULL);
  loop_end(e, &L1, NULL);
  /* the epilogue, per group */
  LLVMValueRef g2 = loop_begin(e, &Lg, g0, g1);
  LLVMValueRef m1 = em_mulc(e, g2, MR);
  LLVMValueRef rows2 = LLVMBuildSub(e->b, em_i64(e, M), m1, "");
  rows2 = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, rows2, em_i64(e, MR), ""), rows2, em_i64(e, MR), "");
  if (e->epik && e->epik->op != OP_PERMUTE) em_epilogue(e, m1, em_add(e, m1, rows2));
  loop_end(e, &Lg, NULL);
  loop_end(e, &Lc, NULL);
}

void em_matmul(Em *e) {
  const Node *n = e->n;
  const Shape *os = &n->shape;
  int r = os->rank, ta = (int)ir_attr_i(n, "ta"), tb = (int)ir_attr_i(n, "tb");
  int64_t M = os->d[r - 2], N = os->d[r - 1], G = (M + MR - 1) / MR;
  Opnd a, b;
  operand(e, 0, &a);
  operand(e, 1, &b);
  int64_t K0 = ta ? a.shape.d[r - 2] : a.shape.d[r - 1];
  if (r == 2 && n->dtype == DT_F32 && a.p && b.p && N >= PACKED_MIN_N && K0 > 0 && !(e->epik && e->epik->op == OP_PERMUTE)) {
    matmul_packed(e, &a, &b, ta, tb);
    return;
  }
  int64_t vw2 = n->dtype == DT_F64 ? 16 : 32; /* columns of an A·B tile */
  int flt = dtype_is_float(n->dtype) && a.p && b.p;
  int tiles_t = flt && tb && !ta && a.st[r - 1] == 1 && b.st[r - 1] == 1 && N >= NR; /* A·Bᵀ */
  int tiles_n = flt && !tb && b.st[r - 1] == 1 && N >= vw2;                          /* op(A)·B */
  int tiles = tiles_t || tiles_n;
  int64_t tiled_cols = tiles_t ? N / NR * NR : tiles_n ? N / vw2 * vw2 : 0;
  Loop Lg, Lr;
  LLVMValueRef grp = loop_begin(e, &Lg, e->lo, e->hi);
  LLVMValueRef bat = LLVMBuildUDiv(e->b, grp, em_i64(e, G ? G : 1), "");
  LLVMValueRef m0 = em_mulc(e, LLVMBuildURem(e->b, grp, em_i64(e, G ? G : 1), ""), MR);
  LLVMValueRef rows = LLVMBuildSub(e->b, em_i64(e, M), m0, "");
  rows = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, rows, em_i64(e, MR), ""), rows, em_i64(e, MR), "");
  batch_offset(e, &a, os, bat);
  batch_offset(e, &b, os, bat);
  if (tiles) { /* a full group: tiles, then each row's remaining columns */
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "full"),
                      part = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "part"),
                      join = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "join");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, rows, em_i64(e, MR), ""), full, part);
    LLVMPositionBuilderAtEnd(e->b, full);
    if (tiles_t) matmul_tiles(e, &a, &b, bat, m0);
    else matmul_tiles_nn(e, &a, &b, bat, m0, ta);
    if (tiled_cols < N) {
      LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), em_i64(e, MR));
      matmul_row(e, &a, &b, bat, em_add(e, m0, i), em_i64(e, tiled_cols));
      loop_end(e, &Lr, NULL);
    }
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, part);
    LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), rows);
    matmul_row(e, &a, &b, bat, em_add(e, m0, i), em_i64(e, 0));
    loop_end(e, &Lr, NULL);
    LLVMBuildBr(e->b, join);
    LLVMPositionBuilderAtEnd(e->b, join);
  } else {
    LLVMValueRef i = loop_begin(e, &Lr, em_i64(e, 0), rows);
    matmul_row(e, &a, &b, bat, em_add(e, m0, i), em_i64(e, 0));
    loop_end(e, &Lr, NULL);
  }
  if (e->epik && e->epik->op != OP_PERMUTE) { /* the fused epilogue over the rows just computed, while in cache */
    LLVMValueRef r0 = em_add(e, em_mulc(e, bat, M), m0);
    em_epilogue(e, r0, em_add(e, r0, rows));
  }
  loop_end(e, &Lg, NULL);
}
