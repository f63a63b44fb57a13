/* ir.h — mimic's graph IR.
 *
 * A Graph is a list of SSA nodes in topological order; a node's id is its index and a
 * value is the single result of a node. Every node has an op (ops.def), a dtype, a static
 * shape, input ids, attributes and the source location of the YAML (or .mir) text that
 * made it. Graphs own an arena; everything hanging off a node lives there.
 *
 * Building: ir_emit (or the typed wrappers below) appends a node and infers its dtype and
 * shape with the rules in shapes.c; a rule violation is reported at the node's location
 * and the call returns -1. Every wrapper returns -1 at once, without a second message,
 * when one of its inputs is -1, so a failing expression is reported once.
 *
 * Also declared here: the op table (ops.c), shape rules (shapes.c), the text printer
 * (print.c), parser (parse.c) and verifier (verify.c). */
#ifndef MIMIC_IR_H
#define MIMIC_IR_H
#include <stdint.h>
#include <stdio.h>

#include "support/arena.h"
#include "support/diag.h"

/* ---- dtypes and shapes ------------------------------------------------------------ */

typedef enum DType {
  DT_F32, DT_F64, DT_I32, DT_BOOL, /* the IR's types */
  DT_I64, DT_BF16,                 /* storage-only types (files); never in a graph */
  DT_COUNT
} DType;

const char *dtype_name(DType t);               /* "f32", "f64", "i32", "bool", "i64", "bf16" */
int dtype_parse(const char *s, DType *out);    /* 0 on success */
size_t dtype_size(DType t);                    /* bytes per element */
int dtype_is_float(DType t);                   /* f32, f64, bf16 */
int dtype_in_ir(DType t);                      /* f32, f64, i32, bool */

#define IR_MAX_RANK 8
#define IR_MAX_EXTENT (INT64_C(1) << 40) /* largest extent of one axis */
#define IR_MAX_NUMEL (INT64_C(1) << 48)  /* most elements in one tensor */
typedef struct Shape {
  int rank;                /* 0 = scalar */
  int64_t d[IR_MAX_RANK];  /* extents, each >= 0 */
} Shape;

int64_t shape_numel(const Shape *s);
int shape_eq(const Shape *a, const Shape *b);
Shape shape_of(int rank, const int64_t *d);
Shape shape_scalar(void);
/* "[2,3,4]" into buf; returns buf */
char *shape_str(const Shape *s, char *buf, size_t n);
/* numpy broadcast of a and b; 0 on success, -1 when incompatible */
int shape_broadcast(const Shape *a, const Shape *b, Shape *out);

/* ---- the op table ------------------------------------------------------------------- */

typedef enum OpKind {
#define OP(id, name, cls, ins, attrs) OP_##id,
#include "ir/ops.def"
#undef OP
  OP_COUNT
} OpKind;

typedef enum OpClass {
  OPC_SOURCE, OPC_UNARY, OPC_BINARY, OPC_SELECT, OPC_REDUCE, OPC_MOVE, OPC_INDEX,
  OPC_CONTRACT, OPC_RANDOM, OPC_HIGH
} OpClass;

typedef enum AttrKind { AK_INT, AK_FLOAT, AK_INTS, AK_FLOATS, AK_STR, AK_DTYPE } AttrKind;

typedef struct AttrSpec {
  const char *name;
  AttrKind kind;
  const char *dflt; /* default in IR text syntax ("0", "1e-05", "[1,1]", "zeros"); NULL = required */
} AttrSpec;

#define OP_MAX_INPUTS 8
#define OP_MAX_ATTRS 6
typedef struct OpInfo {
  const char *name;     /* text name, e.g. "reduce_sum" */
  OpClass cls;
  int nin_min, nin_max; /* nin_max = -1 for variadic */
  int nin_names;
  const char *in_names[OP_MAX_INPUTS]; /* without the optional/variadic marks */
  int nattr;
  AttrSpec attr[OP_MAX_ATTRS];
} OpInfo;

const OpInfo *op_info(OpKind op);
int op_lookup(const char *name, OpKind *out);  /* 0 when found */
int op_is_primitive(OpKind op);               /* everything but OPC_HIGH */

/* ---- attributes ----------------------------------------------------------------------- */

typedef struct Attr {
  const char *key;
  AttrKind kind;
  int n;                   /* element count for AK_INTS / AK_FLOATS */
  union {
    int64_t i;             /* AK_INT */
    double f;              /* AK_FLOAT */
    const int64_t *is;     /* AK_INTS */
    const double *fs;      /* AK_FLOATS */
    const char *s;         /* AK_STR */
    DType dt;              /* AK_DTYPE */
  } v;
} Attr;

/* Compound-literal constructors for building attribute arrays. */
#define ATTR_I(k, x)     ((Attr){.key = (k), .kind = AK_INT, .v.i = (x)})
#define ATTR_F(k, x)     ((Attr){.key = (k), .kind = AK_FLOAT, .v.f = (x)})
#define ATTR_IS(k, p, c) ((Attr){.key = (k), .kind = AK_INTS, .n = (c), .v.is = (p)})
#define ATTR_FS(k, p, c) ((Attr){.key = (k), .kind = AK_FLOATS, .n = (c), .v.fs = (p)})
#define ATTR_S(k, x)     ((Attr){.key = (k), .kind = AK_STR, .v.s = (x)})
#define ATTR_DT(k, x)    ((Attr){.key = (k), .kind = AK_DTYPE, .v.dt = (x)})

/* ---- nodes and graphs ----------------------------------------------------------------- */

typedef struct Node {
  OpKind op;
  DType dtype;
  Shape shape;
  int nin;
  const int *in;     /* input node ids, each < this node's id */
  int nattr;
  const Attr *attr;  /* always the op's full attribute list, in table order (defaults filled) */
  const char *name;  /* input/weight name; NULL for other ops */
  SrcLoc loc;        /* where the node came from */
} Node;

typedef struct Output {
  const char *name;
  int id;            /* node id */
} Output;

typedef struct Graph {
  Arena *arena;      /* owns attrs, names, input lists, strings */
  const char *name;  /* model name */
  Node *nodes;       /* malloc'd; ids index it; may move when nodes are added */
  int n, cap;
  Output *outs;      /* malloc'd */
  int nout, outcap;
} Graph;

Graph *ir_graph_new(const char *name);
void ir_graph_free(Graph *g);
const char *ir_intern(Graph *g, const char *s); /* copy into the graph's arena */

/* Attribute access on a node; the op table guarantees every attribute is present. */
const Attr *ir_attr(const Node *n, const char *key);
int64_t ir_attr_i(const Node *n, const char *key);
double ir_attr_f(const Node *n, const char *key);
const int64_t *ir_attr_is(const Node *n, const char *key, int *count);
const double *ir_attr_fs(const Node *n, const char *key, int *count);
const char *ir_attr_s(const Node *n, const char *key);
DType ir_attr_dt(const Node *n, const char *key);

/* Everything needed to append one node. For sources, dtype and shape are taken from the
 * spec; for all other ops they are inferred and `dtype`/`shape` are ignored. Attributes
 * not given take the op's defaults; a required one missing, an unknown key or a wrong
 * kind is an error. */
typedef struct NodeSpec {
  OpKind op;
  const int *in;
  int nin;
  const Attr *attr;
  int nattr;
  DType dtype;          /* sources only */
  const Shape *shape;   /* sources only */
  const char *name;     /* input / weight name */
  SrcLoc loc;
} NodeSpec;

/* Append a node; returns its id, or -1 after reporting the error at spec->loc. */
int ir_emit(Graph *g, const NodeSpec *spec, Diag *d);
int ir_add_output(Graph *g, const char *name, int id);

/* Infer dtype and shape of node `n` (whose inputs already exist in g) per shapes.c.
 * Returns 0, or -1 after reporting at n->loc. Used by ir_emit and the verifier. */
int ir_infer(const Graph *g, const Node *n, DType *dtype, Shape *shape, Diag *d);

/* Typed wrappers over ir_emit. Each returns the new id or -1. */
int ir_input(Graph *g, const char *name, DType t, Shape s, SrcLoc loc, Diag *d);
int ir_weight(Graph *g, const char *name, DType t, Shape s, const char *init,
              const double *init_args, int nargs, SrcLoc loc, Diag *d);
int ir_const(Graph *g, DType t, Shape s, double value, SrcLoc loc, Diag *d);
int ir_iota(Graph *g, DType t, Shape s, int axis, SrcLoc loc, Diag *d);
int ir_unary(Graph *g, OpKind op, int x, SrcLoc loc, Diag *d);
int ir_cast(Graph *g, int x, DType to, SrcLoc loc, Diag *d);
int ir_binary(Graph *g, OpKind op, int a, int b, SrcLoc loc, Diag *d);   /* equal shapes */
int ir_binary_bc(Graph *g, OpKind op, int a, int b, SrcLoc loc, Diag *d);/* numpy broadcast, inserts broadcast nodes */
int ir_where(Graph *g, int c, int a, int b, SrcLoc loc, Diag *d);        /* broadcasts all three */
int ir_reduce(Graph *g, OpKind op, int x, const int64_t *axes, int naxes, int keepdims,
              SrcLoc loc, Diag *d);                                       /* negative axes allowed */
int ir_reshape(Graph *g, int x, Shape s, SrcLoc loc, Diag *d);
int ir_permute(Graph *g, int x, const int64_t *perm, int n, SrcLoc loc, Diag *d);
int ir_broadcast(Graph *g, int x, Shape s, SrcLoc loc, Diag *d);         /* no node when equal */
int ir_slice(Graph *g, int x, const int64_t *start, const int64_t *end, const int64_t *step,
             SrcLoc loc, Diag *d);
int ir_pad(Graph *g, int x, const int64_t *lo, const int64_t *hi, double value, SrcLoc loc, Diag *d);
int ir_concat(Graph *g, const int *xs, int n, int axis, SrcLoc loc, Diag *d);
int ir_gather(Graph *g, int x, int idx, int axis, SrcLoc loc, Diag *d);
int ir_scatter_add(Graph *g, int upd, int idx, int axis, int64_t size, SrcLoc loc, Diag *d);
int ir_one_hot(Graph *g, int idx, int64_t depth, DType t, SrcLoc loc, Diag *d);
int ir_matmul(Graph *g, int a, int b, int ta, int tb, SrcLoc loc, Diag *d);
int ir_conv(Graph *g, int x, int w, const int64_t stride[2], const int64_t pad[2], SrcLoc loc, Diag *d);
int ir_random(Graph *g, int seed, int64_t stream, Shape s, SrcLoc loc, Diag *d);
/* Any op with positional inputs and attributes (high-level ops, mostly). */
int ir_op(Graph *g, OpKind op, const int *in, int nin, const Attr *attr, int nattr,
          SrcLoc loc, Diag *d);

/* ---- text form (print.c / parse.c) and verifier (verify.c) ---------------------------- */

/* Print g in mimic's IR text form. print -> parse -> print gives identical text. */
void ir_print(const Graph *g, FILE *f);
char *ir_print_str(const Graph *g);   /* malloc'd, caller frees */
/* Parse IR text; `file` names it in diagnostics. Returns NULL after reporting. */
Graph *ir_parse(const char *text, const char *file, Diag *d);
Graph *ir_parse_file(const char *path, Diag *d);
/* Check ids, input counts, attributes, dtypes and shapes (re-inferred), outputs, order
 * (acyclic), dtypes legal for the IR. Returns 0 when valid. */
int ir_verify(const Graph *g, Diag *d);

#endif
