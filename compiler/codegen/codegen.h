/* codegen.h — primitive graph IR to native kernels through the LLVM C API.
 *
 * Memory: a program runs in three regions, each a caller-supplied base pointer aligned to
 * CG_ALIGN bytes:
 *   CG_WEIGHTS  every weight node (kernels only read it, unless the layout keeps the
 *               training state there: CG_STATE below)
 *   CG_ACT      activations: every computed node that is not a graph output
 *   CG_IO       every input node and every graph output
 * cg_layout gives each node a slot (region, offset); a reshape shares its input's slot
 * unless it is an output. Activations whose lives do not overlap share bytes.
 *
 * Kernel ABI (one kernel per stored computed node; fused values are computed inside it):
 *   void k(char *const *base, int64_t lo, int64_t hi)
 * base[r] is region r's base. The kernel computes its node for the indices [lo, hi) of its
 * outermost parallel dimension, whose extent is CgKernel.extent; calls on disjoint ranges
 * may run at the same time, and [0, extent) computes the whole node. DESIGN.md speaks of
 * one flat arena pointer; three bases let an AOT user place read-only weights, scratch and
 * I/O separately (and statically), and the JIT simply points them into one allocation.
 *
 * Pipeline: cg_layout -> cg_kernels -> cg_emit (LLVM IR) -> cg_optimize (default<O3> for
 * the target) -> cg_object (object file bytes). The JIT loads those bytes (compiler/jit),
 * `mimic compile` writes them (compiler/aot). */
#ifndef MIMIC_CODEGEN_H
#define MIMIC_CODEGEN_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

#define CG_ALIGN 64

typedef enum CgRegion { CG_WEIGHTS, CG_ACT, CG_IO, CG_NREGIONS } CgRegion;

typedef struct CgSlot {
  CgRegion region;
  int64_t offset;   /* bytes from the region base, a multiple of CG_ALIGN */
  int64_t bytes;    /* numel * dtype size */
} CgSlot;

typedef struct CgLayout {
  CgSlot *slot;                 /* one per node id (malloc'd); sources too */
  int64_t size[CG_NREGIONS];    /* bytes of each region, multiples of CG_ALIGN */
  int64_t unplanned_act;        /* the activations laid out one after another */
  int64_t act_lower_bound;      /* the most activation bytes alive at one kernel (planned) */
  char *inl;                    /* per node: computed inside its readers (passes/fuse.h) */
  int *group;                   /* per node: the last member of its horizontal group, where
                                   the group's one kernel runs, or -1 (fuse.h rule 8) */
  char *gkind;                  /* per node: its group's FUSE_GROUP_ kind, 0 when none */
  int *inplace;                 /* per node: the stored value whose bytes its kernel writes
                                   over (the last reader, same size, same index), or -1 */
  int64_t *live;                /* with planning, per node 3 figures: the activation bytes it
                                   owns (0 when it lives in another's, or is no activation),
                                   and the first and last kernel steps they are alive */
} CgLayout;

/* cg_layout_ex's flags. CG_PLAN: memory-plan the activations (else one after another).
 * CG_FUSE: fusion (passes/fuse.h; else one kernel per primitive). CG_STATE: the training
 * state stays in place: an output "new.<w>" (the training step's update of weight <w>,
 * passes/trainstep.h) is written over <w> in CG_WEIGHTS, when its kernel reads <w> at
 * its own index only and every other reader of <w> has run before it (cg_state_of tells
 * which outputs are); the caller keeps the weights between runs. */
enum { CG_PLAN = 1, CG_FUSE = 2, CG_STATE = 4 };

/* Slots for every stored node: values fused into their readers get none; activations
 * are memory-planned (passes/memplan.h) and the plan checked. cg_layout = CG_PLAN |
 * CG_FUSE. */
int cg_layout(const Graph *g, CgLayout *l, Diag *d);
int cg_layout_ex(const Graph *g, unsigned flags, CgLayout *l, Diag *d);
/* The weight that output k updates (an output "new.<w>" of the same dtype and shape as
 * weight <w>), or -1. */
int cg_state_of(const Graph *g, int k);
void cg_layout_free(CgLayout *l);

typedef struct CgKernel {
  int node;          /* node id it computes (a horizontal group's last member) */
  char name[64];     /* function name: prefix + "k" + node id */
  int64_t extent;    /* its parallel range is [0, extent) */
} CgKernel;

/* The kernels of g in execution order, without building any LLVM IR (so that a cached
 * object can be used without codegen). *ks is malloc'd. Inputs, weights and aliased
 * reshapes need no kernel. */
int cg_kernels(const Graph *g, const CgLayout *l, const char *prefix, CgKernel **ks, int *n, Diag *d);

typedef struct CgModule {
  LLVMContextRef ctx;  /* owned */
  LLVMModuleRef mod;   /* owned */
  CgKernel *kernels;   /* as cg_kernels gives them (malloc'd) */
  int nkernels;
} CgModule;

/* Build the LLVM module holding one function per kernel (external linkage, names as in
 * CgKernel). Returns 0, or -1 after one error at the offending node's location. */
int cg_emit(const Graph *g, const CgLayout *l, const char *prefix, CgModule *out, Diag *d);
void cg_module_free(CgModule *m);

/* ---- target.c ---- */

typedef struct CgTarget {
  LLVMTargetMachineRef tm;
  char *triple, *cpu, *features; /* malloc'd */
} CgTarget;

/* triple/cpu NULL = the host (its CPU name and features). An unknown triple or CPU is an
 * error that names it. */
int cg_target_init(CgTarget *t, const char *triple, const char *cpu, Diag *d);
void cg_target_free(CgTarget *t);
/* Set the module's triple and data layout, verify it, run default<O3>. */
int cg_optimize(CgModule *m, const CgTarget *t, Diag *d);
/* Emit an object file into a malloc'd buffer. */
int cg_object(CgModule *m, const CgTarget *t, void **bytes, size_t *n, Diag *d);

#endif
