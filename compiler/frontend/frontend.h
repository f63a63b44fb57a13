/* frontend.h — YAML model files to graph IR (high-level ops, source locations).
 * The model language is described in docs/models.md. */
#ifndef MIMIC_FRONTEND_H
#define MIMIC_FRONTEND_H
#include "ir/ir.h"

typedef struct FeDefine {
  const char *name;   /* parameter to override */
  const char *value;  /* its new value, an expression text ("6", "dim*2", "1e-6") */
  SrcLoc loc;         /* where the override came from (e.g. {"<command line>",0,0}) */
} FeDefine;

typedef struct FeOptions {
  const FeDefine *defines; /* -D overrides, applied in order */
  int ndefines;
  int64_t batch;           /* value of the symbolic `batch`; <= 0 means 1 */
} FeOptions;

typedef struct FeParam {
  const char *name;
  double value;
  int is_int;              /* the value is an integer */
} FeParam;

typedef struct FeInfo {
  FeParam *params;         /* top-level parameters after overrides, in file order */
  int nparams;             /* (allocated in the returned graph's arena) */
} FeInfo;

/* Load a model file. On error reports once (file:line:col) and returns NULL.
 * info may be NULL. */
Graph *fe_load_yaml(const char *path, const FeOptions *opt, FeInfo *info, Diag *d);

#endif
