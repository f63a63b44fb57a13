/* emit.h — internal to compiler/codegen: the emission context and the loop-building
 * helpers shared by emit.c (kernel functions, element-by-element kernels, reductions),
 * emit_value.c (element values, fused producers) and emit_ops.c (concat, indexing,
 * contraction, random).
 *
 * Every kernel is two functions: the external `NAMEk<id>(char *const *base, i64 lo,
 * i64 hi)` of the ABI, which turns region bases and slot offsets into tensor pointers,
 * and an internal, always-inlined body that receives those pointers as `noalias`
 * parameters. Once LLVM inlines the body, the noalias facts become alias scopes, so the
 * vectoriser knows the output never overlaps an input without runtime checks. */
#ifndef MIMIC_CG_EMIT_H
#define MIMIC_CG_EMIT_H
#include <llvm-c/Core.h>

#include "codegen/codegen.h"

typedef struct Em {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef i1, i8, i32, i64, f32, f64, ptr, vd;
  const Graph *g;
  /* the kernel being emitted */
  const Node *n;           /* its node */
  LLVMValueRef fn;         /* its body function */
  LLVMValueRef out;        /* pointer to the node's slot */
  const char *inl;         /* per node: computed inside its readers (CgLayout.inl) */
  const int *leaf;         /* the stored values the kernel reads (cg_leaves) */
  LLVMValueRef *leafp;     /* their pointers (body parameters) */
  int nleaf;
  LLVMValueRef lo, hi;     /* the parallel range */
  /* row fusion (passes/fuse.h rule 5) */
  const int *rowc;         /* the kernel's FUSE_ROW reductions, in node order */
  int nrowc;
  LLVMValueRef *regval;    /* per node: its value for the current row (FUSE_ROW) or element
                              (a member of a horizontal group) already in registers, or NULL */
  int epi;                 /* the kernel's FUSE_EPI contraction, or -1 */
  const Node *epik;        /* while the contraction is emitted: the kernel's own node */
  const int *inplace;      /* per output of the body: the stored value it overwrites (read
                              from that output's bytes), or -1; NULL: none */
  LLVMValueRef *outs;      /* the body's outputs (a group has several) */
  int nout;
} Em;

/* A counted loop [lo, hi) with step 1. Values carried around the loop (accumulators) are
 * phis made by loop_carry after loop_begin; loop_end takes their next values. After
 * loop_end the builder sits after the loop, where loop_carry's phis hold the final
 * values. */
typedef struct Loop {
  LLVMBasicBlockRef head, body, exit;
  LLVMValueRef iv;
  LLVMValueRef carry[32];
  int ncarry;
} Loop;

LLVMValueRef loop_begin(Em *e, Loop *L, LLVMValueRef lo, LLVMValueRef hi);
LLVMValueRef loop_carry(Em *e, Loop *L, LLVMValueRef init);
void loop_end(Em *e, Loop *L, const LLVMValueRef *next);

/* constants and types */
LLVMValueRef em_i64(Em *e, int64_t v);
LLVMValueRef em_i32(Em *e, int32_t v);
LLVMTypeRef em_type(Em *e, DType t);   /* bool is i8 in memory */
LLVMValueRef em_const(Em *e, DType t, double v);

/* An element of a node: its row-major linear index, its multi-index, or both (emit.c
 * derives the missing form when it is needed). */
typedef struct Ix {
  LLVMValueRef lin;               /* i64, or NULL until needed */
  LLVMValueRef d[IR_MAX_RANK];    /* i64 per axis, valid when multi */
  int multi;
  Shape shape;                    /* the shape the index is over */
} Ix;
Ix ix_of_lin(const Shape *s, LLVMValueRef lin);
void ix_multi(Em *e, Ix *x);   /* fill in the multi-index from the linear one */
/* Whether computing node id (through what it inlines) needs multi-indices. */
int em_wants_multi(Em *e, int id);

/* Element x of node id: loaded when it is stored, computed on the spot when fusion
 * inlined it. em_in: element `lin` of the kernel's input k. */
LLVMValueRef em_value(Em *e, int id, Ix *x);
LLVMValueRef em_in(Em *e, int k, LLVMValueRef lin);
/* x converted from dtype `from` to `to` (register forms: bool is i1), by the
 * interpreter's rules (float -> i32 truncates and saturates, NaN -> 0) */
LLVMValueRef em_cast(Em *e, LLVMValueRef x, DType from, DType to);
/* element i (an i64) of the tensor at p with dtype t: load and store, bool as i8 0/1 */
LLVMValueRef em_load(Em *e, DType t, LLVMValueRef p, LLVMValueRef i);
void em_store(Em *e, DType t, LLVMValueRef p, LLVMValueRef i, LLVMValueRef v);
/* integer arithmetic on i64 indices: nsw, since extents are bounded by IR_MAX_NUMEL */
LLVMValueRef em_add(Em *e, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef em_mul(Em *e, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef em_mulc(Em *e, LLVMValueRef a, int64_t c);
/* a call to an overloaded intrinsic such as "llvm.maximum" at the type of args[0] */
LLVMValueRef em_intrinsic(Em *e, const char *name, LLVMTypeRef ty, LLVMValueRef *args, unsigned n);
/* mark a floating-point instruction reassociable (lets the vectoriser split a sum) */
void em_reassoc(LLVMValueRef inst);
/* row-major strides of s, in elements */
void em_strides(const Shape *s, int64_t *st);

/* Rows of C per step of a matmul kernel's range (its micro-kernel's tile height). */
#define EM_MATMUL_MR 4
/* The matmul that kernel id runs (itself, or its epilogue contraction), or -1. */
int cg_matmul_of(const Graph *g, const char *inl, int id);

/* A reduction kernel's body over e->lo..e->hi (emit.c). */
void em_reduce(Em *e);
/* reductions: the identity of reduce_sum / reduce_max, and one combining step */
LLVMValueRef em_reduce_identity(Em *e, OpKind op, DType t);
LLVMValueRef em_combine(Em *e, OpKind op, DType t, LLVMValueRef acc, LLVMValueRef x);

/* emit_group.c: the body of a horizontal group (fuse.h rule 8): members[0..n) with
 * their output pointers outs[0..n) */
void em_group(Em *e, const int *members, const LLVMValueRef *outs, int n);

/* The kernel's parallel extent for node id (what CgKernel.extent says). */
int64_t cg_extent(const Graph *g, const char *inl, int id);
/* What fusion put into node id's kernel beside element-wise values: its FUSE_ROW
 * reductions (malloc'd, in node order, *nrow of them) and its FUSE_EPI contraction
 * (returned; -1 if none). rows may be NULL. */
int cg_fused(const Graph *g, const char *inl, int id, int **rows, int *nrow);
/* Nodes an output needs (calloc'd flags), whether a node is an output (layout.c). */
char *cg_live(const Graph *g);
int cg_is_output(const Graph *g, int id);
/* Whether node id has a kernel under layout l (a horizontal group's has its last member). */
int cg_is_kernel(const Graph *g, const CgLayout *l, int id);
/* The nodes kernel id computes and stores: itself, or its group's members in node order
 * (malloc'd, *n of them). */
int *cg_members(const Graph *g, const CgLayout *l, int id, int *n);
/* The stored values node id reads, through the inlined ones (malloc'd, *n of them,
 * distinct, in first-use order). */
int *cg_leaves(const Graph *g, const char *inl, int id, int *n);

/* Rows [rlo, rhi) of the kernel's node (its elements by rows of the last axis, or for a
 * last-axis reduction its values): per row first the row values fusion put there
 * (FUSE_ROW), then the row. em_flat's loop, and a contraction's epilogue per tile. */
void em_rows(Em *e, LLVMValueRef rlo, LLVMValueRef rhi);

/* The kernel's own node over rows [r0, r1) of the contraction just computed into its
 * output (fuse.h rule 5b): called by a contraction after each step when e->epik is set. */
void em_epilogue(Em *e, LLVMValueRef r0, LLVMValueRef r1);
/* acc + a * b (floats: reassociable, so that it may contract to an fma) */
LLVMValueRef em_mul_add(Em *e, DType t, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b);

/* emit_matmul.c: the body of a matmul kernel */
void em_matmul(Em *e);
/* An element-by-element kernel over its rows e->lo..e->hi (emit.c). */
void em_flat(Em *e);
/* emit_ops.c: the body of a movement, indexing, contraction or random kernel */
void em_move(Em *e);
void em_index(Em *e);
void em_contract(Em *e);
void em_random(Em *e);

#endif
