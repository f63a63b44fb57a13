/* fe.h — private to the front end: reading a model file's YAML (yaml.c, over the tree of
 * support/ytree.h), the expression AST (expr.c), values and evaluation (eval.c; calls in
 * call.c and builtins.c), and the lowering context shared by lower.c and frontend.c.
 * Nothing here is visible outside compiler/frontend. */
#ifndef MIMIC_FE_H
#define MIMIC_FE_H
#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"
#include "support/ytree.h"

typedef struct FeCtx FeCtx;

/* ---- yaml.c: the document as a small tree (support/ytree.h) ------------------------- */

/* Parse `text` (the whole file) into a tree allocated in c->tmp, with calls in flow
 * collections joined (YTREE_JOIN_CALLS). Reports a syntax error (or a duplicate key) and
 * returns NULL. An empty document yields an empty mapping. */
YNode *fe_yaml_parse(FeCtx *c, const char *file, const char *text, size_t len);
/* The front end's names for the tree's accessors (ytree.h says what each does). */
static inline SrcLoc fe_loc(const YNode *n) { return ytree_loc(n); }
static inline SrcLoc fe_loc_at(const YNode *n, size_t off) { return ytree_loc_at(n, off); }
static inline YNode *fe_map_get(const YNode *m, const char *k) { return ytree_map_get(m, k); }
static inline int fe_is_null(const YNode *n) { return ytree_is_null(n); }
static inline const char *fe_kind_name(const YNode *n) { return ytree_kind_name(n); }

/* ---- expr.c: expressions and statements --------------------------------------------- */

typedef enum ExKind {
  EX_NUM, EX_NAME, EX_STR, EX_CALL, EX_LIST, EX_BIN, EX_NEG, EX_INDEX, EX_SLICE, EX_ELLIPSIS
} ExKind;

/* Binary operators; the comparison ones give bool tensors. */
typedef enum BinOp {
  B_ADD, B_SUB, B_MUL, B_DIV, B_FLOORDIV, B_MOD, B_POW, B_LT, B_LE, B_GT, B_GE, B_EQ, B_NE
} BinOp;

typedef struct Expr {
  ExKind kind;
  size_t pos;              /* byte offset in the source text of the token that names this
                              node: the operator, the function name, the '[' */
  double num;              /* EX_NUM */
  int is_int;              /* EX_NUM written without '.' or exponent */
  const char *name;        /* EX_NAME, EX_CALL (function), EX_STR (text) */
  BinOp op;                /* EX_BIN */
  struct Expr **args;      /* EX_CALL positional, EX_LIST items, EX_BIN/EX_NEG operands,
                              EX_INDEX: args[0] is the indexed value, then subscripts;
                              EX_SLICE: lo, hi, step (each may be NULL) */
  int nargs;
  const char **kw;         /* EX_CALL keyword names */
  struct Expr **kwval;     /* their values */
  size_t *kwpos;           /* their positions */
  int nkw;
} Expr;

/* Text plus where it came from, so that an offset can be reported as file:line:col. */
typedef struct Src {
  const YNode *node;       /* the scalar holding the text */
} Src;

SrcLoc fe_src_loc(const Src *s, size_t pos);
/* Parse a whole expression. Returns NULL after reporting. */
Expr *fe_parse_expr(FeCtx *c, const Src *s);
/* Parse `name = expression`. */
int fe_parse_assign(FeCtx *c, const Src *s, const char **name, size_t *name_pos, Expr **e);
/* Whether s is a plain (possibly dotted) identifier. */
int fe_is_ident(const char *s);

/* ---- values ------------------------------------------------------------------------ */

/* V_NAME is a call argument that is a bare name bound to nothing: meaningful only where
 * a dtype or a string is expected (`dtype=i32`); anywhere else it is an unknown name. */
typedef enum VKind { V_NUM, V_TENSOR, V_LIST, V_STR, V_NAME } VKind;

typedef struct Value {
  VKind k;
  double num;              /* V_NUM */
  int is_int;              /* V_NUM holds an integer */
  int id;                  /* V_TENSOR: node id */
  struct Value *items;     /* V_LIST */
  int n;
  const char *s;           /* V_STR, V_NAME */
} Value;

/* ---- lowering context ------------------------------------------------------------- */

typedef struct Binding {
  const char *name;
  Value v;
} Binding;

typedef struct Table {     /* a small name -> value list, searched linearly */
  Binding *b;
  int n, cap;
} Table;

/* A top-level parameter: evaluated on first use so that the order in the file and
 * across includes does not matter (cycles are reported). */
typedef struct GParam {
  const char *name;
  const YNode *expr;       /* the default, or the -D override's text */
  const YNode *dflt;       /* the default: an override may refer to it by the name */
  int state;               /* 0 not yet evaluated, 1 being evaluated, 2 done */
  int dstate;              /* the same for the default of an overridden parameter */
  Value v;
} GParam;

typedef struct Stmt Stmt;

typedef struct Module {
  const char *name;
  const YNode *def;        /* its mapping (for locations) */
  const char **params;     /* declared parameter names */
  const YNode **param_nodes;
  int nparams;
  const char **inputs;
  const YNode **input_nodes;
  int ninputs;
  const YNode *weights;    /* mapping, or NULL */
  Stmt *body;
  int nbody;
  const YNode **outputs;   /* output names (scalars) */
  int noutputs;
  int active;              /* being instantiated (recursion check) */
} Module;

/* One body statement, parsed once. */
struct Stmt {
  enum { ST_ASSIGN, ST_CALL, ST_REPEAT } kind;
  const YNode *node;       /* the statement's node (assign: the scalar; else the key) */
  const char *target;      /* ST_ASSIGN */
  size_t target_pos;
  Expr *expr;
  const YNode *module;     /* ST_CALL / ST_REPEAT: scalar naming the module */
  const YNode *as;         /* scalar, or NULL */
  const YNode *times;      /* ST_REPEAT */
  const YNode *args;       /* sequence of expressions (or one scalar), or NULL */
  const YNode *out;        /* sequence of names (or one scalar), or NULL */
  const YNode *with;       /* mapping, or NULL */
};

/* A scope: the top level or one module instance. */
typedef struct Scope {
  const Module *mod;       /* NULL at the top level */
  const char *prefix;      /* weight-name prefix: "" or "blocks.3." */
  Table vals;              /* local values (inputs and assignments) */
  Table weights;           /* weights by local name */
  Table params;            /* module parameters (numbers); the top level uses c->params */
} Scope;

/* What an expression may see. */
typedef struct Env {
  FeCtx *c;
  Scope *s;
  const Src *src;
  int numeric;             /* only parameters (and batch/index) are visible */
  int has_index;           /* `index` is bound (a repeat's `with:`) */
  int64_t index;
} Env;

typedef struct WeightRec {
  const char *name;        /* full name */
  SrcLoc loc;
} WeightRec;

struct FeCtx {
  Graph *g;
  Diag *d;
  int nerr0;               /* d->nerr on entry: report at most one error per load */
  Arena *tmp;              /* dies with the load: YAML trees, ASTs, tables */
  const FeOptions *opt;
  int64_t batch;
  GParam *params;
  int nparams, capparams;
  Module *mods;
  int nmods, capmods;
  WeightRec *wrecs;
  int nwrecs, capwrecs;
  const char **files;      /* real paths of loaded files (include once) */
  int nfiles, capfiles;
  const char **stack;      /* real paths of files being loaded (cycle check) */
  const char **shown;      /* the same files as the user named them */
  int nstack, capstack;
  struct { const char *file, *text; } *defs; /* -D overrides: the file pointer of each
                                                 override's text, and "-D name=value" */
  int ndefs, capdefs;
};

/* Report an error unless one was already reported in this load; always returns -1. */
int fe_err(FeCtx *c, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fe_failed(const FeCtx *c);
void *fe_grow(FeCtx *c, void *p, int n, int *cap, size_t size);
/* ", did you mean 'x'?" for the closest of `cands` (NULL-terminated), or "". */
const char *fe_suggest(FeCtx *c, const char *name, const char *const *cands, int n);

/* table helpers (lower.c) */
Binding *fe_table_find(Table *t, const char *name);
void fe_table_set(FeCtx *c, Table *t, const char *name, Value v);

/* ---- eval.c ------------------------------------------------------------------------ */

int fe_eval(Env *e, const Expr *x, Value *out);
/* Evaluate a scalar node as a number (params, shapes, times, with:). */
int fe_eval_number(Env *e, const YNode *n, Value *out);
int fe_eval_param(FeCtx *c, GParam *p);
/* Look up a name as the expression `x` (at x->pos) would see it. */
int fe_lookup(Env *e, const Expr *x, Value *out);
/* The same without reporting an unbound name: it becomes a V_NAME. */
int fe_lookup_quiet(Env *e, const Expr *x, Value *out);
int fe_binary(Env *e, BinOp op, Value a, Value b, size_t pos, Value *out);
SrcLoc fe_env_loc(const Env *e, size_t pos);
/* A number as a scalar const node of dtype t (i32 checks that it is an integer). */
int fe_num_tensor(Env *e, Value v, DType t, size_t pos);
const char *fe_value_kind(const Value *v); /* "a number", "a tensor", ... */
int fe_as_int(Env *e, const Value *v, size_t pos, const char *what, int64_t *out);
/* Normalise axis a for rank r (negative counts from the end); error when out of range. */
int fe_axis(Env *e, int64_t a, int r, size_t pos, int64_t *out);

/* ---- call.c and builtins.c -------------------------------------------------------- */

/* A call's arguments, evaluated. A bare name bound to nothing stays a V_NAME until it is
 * known whether a name (a dtype) or a value is wanted. */
typedef struct Args {
  const Expr *x;           /* the call */
  Value *pos;              /* positional arguments */
  int npos;
  Value *kw;               /* keyword values, parallel to x->kw */
  const char *sig;         /* the callee's signature, for messages */
} Args;

typedef struct Builtin {
  const char *name, *sig;
  int pmin, pmax;          /* positional argument counts; pmax -1: any */
  const char *kws[4];      /* accepted keywords */
  int (*fn)(Env *e, Args *a, Value *out);
} Builtin;

int fe_call(Env *e, const Expr *x, Value *out);
/* Every callable name (for suggestions), in c->tmp. */
const char *const *fe_callables(FeCtx *c, int *n);
int fe_resolve(Env *e, const Expr *x, Value *v); /* a V_NAME is an unknown name now */
int fe_kw_find(const Args *a, const char *name);
int fe_arg_tensor(Env *e, Args *a, int i, int *id);
/* Positional i (i >= 0), else keyword `name`; NULL when neither is given. */
Value *fe_arg_get(Args *a, int i, const char *name, const Expr **x);
int fe_int_arg(Env *e, const Expr *x, Value *v, const char *what, int64_t *out);
/* A number or a list of at most `max` integers. */
int fe_ints_arg(Env *e, const Expr *x, Value *v, const char *what, int64_t *out, int *n, int max);
int fe_done(Value *out, int id); /* *out = tensor id; -1 when id < 0 */

const Builtin *fe_builtin(const char *name);
const char *fe_builtin_name(int i); /* NULL past the last */
int fe_math_op(const char *name);   /* an op that folds on a number (sqrt, exp, ...) */
int fe_fold_math(Env *e, Args *a, Value *out);

/* ---- lower.c ----------------------------------------------------------------------- */

int fe_parse_module(FeCtx *c, const char *name, const YNode *def, Module *m);
int fe_lower_model(FeCtx *c, const YNode *root);

#endif
