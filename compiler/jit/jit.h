/* jit.h — compile a primitive graph for this machine and run it in process: layout,
 * kernels, LLVM optimisation and object emission (or the compile cache), ORC LLJIT, and a
 * minimal runtime that calls the kernels in order. */
#ifndef MIMIC_JIT_H
#define MIMIC_JIT_H
#include "ir/ir.h"
#include "sched_pool.h"
#include "tensor.h"

typedef struct JitOptions {
  int no_cache;           /* bypass the compile cache */
  const char *cache_dir;  /* NULL: $XDG_CACHE_HOME/mimic, else $HOME/.cache/mimic */
  int no_plan;            /* lay activations out one after another (no memory planning) */
  int no_fuse;            /* one kernel per primitive (no fusion, passes/fuse.h) */
  int profile;            /* time every kernel (jit_profile prints the slowest) */
  int chunks;             /* > 1: call each kernel on this many pieces of its range, last
                           * piece first (exercises the kernel ABI's range contract) */
  SchedPool *sched;           /* the threads that run each kernel's range (the caller owns it,
                           * it must outlive the program); NULL: the calling thread alone */
  int resident;           /* the weights stay in the program between runs (a training step's
                           * state): jit_load_weights puts them there, jit_run(.., NULL, ..)
                           * uses them, and each output "new.<w>" becomes weight <w> for the
                           * next run instead of being returned: written over <w> where the
                           * layout allows (codegen.h, CG_STATE), else copied after the run */
} JitOptions;

typedef struct JitStats {
  double compile_s;       /* layout + codegen + LLVM (or cache read) + load */
  int cache_hit;          /* the object came from the cache */
  int nkernels;
  int64_t region_bytes[3];
  int64_t act_unplanned;  /* the activation region without memory planning */
  int state_inplace;      /* resident: "new.<w>" outputs written over their weight */
  int state_copied;       /* resident: those copied over it after each run */
} JitStats;

typedef struct JitProgram JitProgram;

JitProgram *jit_compile(const Graph *g, const JitOptions *o, Diag *d);
/* Same contract as interp_run: inputs and weights by name, outputs by output name.
 * weights NULL: those jit_load_weights put in the program, which stay there between runs
 * (with JitOptions.resident, updated by each run). */
int jit_run(JitProgram *p, const TensorSet *inputs, const TensorSet *weights, TensorSet *outputs, Diag *d);
/* Copy every weight of the graph from `weights` into the program (each must be there,
 * of its dtype and shape). */
int jit_load_weights(JitProgram *p, const TensorSet *weights, Diag *d);
/* The program's weights as they are now, copied into `out` by name (fresh tensors). */
void jit_read_weights(JitProgram *p, TensorSet *out);
const JitStats *jit_stats(const JitProgram *p);
void jit_free(JitProgram *p);
/* With JitOptions.profile: the `top` kernels that took longest over all runs so far,
 * with their node's op, type and source location. */
void jit_profile(const JitProgram *p, int top, FILE *f);

#endif
