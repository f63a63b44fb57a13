/* jit.c — compile a graph for the host and run it in process (see jit.h).
 *
 * Every path goes through an object file: codegen + LLVM produce one (or the cache hands
 * one back), ORC LLJIT links it into the process, and the kernels are looked up by name.
 * The same bytes are what `mimic compile` writes, so JIT and AOT run identical code. */
#include "jit/jit.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/codegen.h"
#include "jit/cache.h"

typedef void (*KernelFn)(char *const *base, int64_t lo, int64_t hi);

struct JitProgram {
  const Graph *g;        /* borrowed: must outlive the program */
  LLVMOrcLLJITRef jit;
  CgLayout layout;
  CgKernel *ks;
  KernelFn *fn;          /* one per kernel */
  int nk;
  char *region[CG_NREGIONS]; /* allocated on first use, reused */
  int resident;          /* JitOptions.resident */
  int *state;            /* resident: per output, the weight it updates, or -1 */
  int chunks;            /* JitOptions.chunks */
  SchedPool *sched;          /* JitOptions.sched */
  double *ktime;         /* with JitOptions.profile: seconds per kernel, summed over runs */
  JitStats st;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Report an LLVM error (consuming it) as an internal error. */
static int llvm_fail(LLVMErrorRef e, const char *what, Diag *d) {
  char *m = LLVMGetErrorMessage(e);
  diag_error(d, SRCLOC_NONE, "internal error: %s: %s", what, m);
  LLVMDisposeErrorMessage(m);
  return -1;
}

/* Codegen and LLVM: the object for g on target t. */
static int build_object(const Graph *g, const CgLayout *l, const CgTarget *t, void **obj, size_t *n, Diag *d) {
  CgModule m;
  if (cg_emit(g, l, "mimic_", &m, d)) return -1;
  int rc = cg_optimize(&m, t, d) || cg_object(&m, t, obj, n, d) ? -1 : 0;
  cg_module_free(&m);
  return rc;
}

static int load_object(JitProgram *p, const void *obj, size_t n, Diag *d) {
  LLVMOrcJITTargetMachineBuilderRef jtmb;
  LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
  if (e) return llvm_fail(e, "cannot describe the host to the JIT", d);
  LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, jtmb);
  if ((e = LLVMOrcCreateLLJIT(&p->jit, b))) return llvm_fail(e, "cannot create the JIT", d);
  /* kernels may call libm and libc (memset, f64 math): resolve them in this process */
  LLVMOrcDefinitionGeneratorRef gen;
  if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(p->jit), NULL,
                                                                NULL)))
    return llvm_fail(e, "cannot search the process for symbols", d);
  LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(p->jit);
  LLVMOrcJITDylibAddGenerator(main, gen);
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, n, "mimic-kernels");
  if ((e = LLVMOrcLLJITAddObjectFile(p->jit, main, buf))) return llvm_fail(e, "cannot add the object", d);
  for (int i = 0; i < p->nk; i++) {
    LLVMOrcExecutorAddress addr;
    if ((e = LLVMOrcLLJITLookup(p->jit, &addr, p->ks[i].name))) return llvm_fail(e, "kernel lookup failed", d);
    p->fn[i] = (KernelFn)(uintptr_t)addr;
  }
  return 0;
}

JitProgram *jit_compile(const Graph *g, const JitOptions *o, Diag *d) {
  double t0 = now();
  JitProgram *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->g = g;
  p->chunks = o ? o->chunks : 0;
  p->sched = o ? o->sched : NULL;
  CgTarget t = {0};
  void *obj = NULL;
  size_t n = 0;
  char *text = NULL;
  char dir[4096];
  p->resident = o && o->resident;
  unsigned flags = (o && o->no_plan ? 0u : CG_PLAN) | (o && o->no_fuse ? 0u : CG_FUSE) | (p->resident ? CG_STATE : 0u);
  if (cg_layout_ex(g, flags, &p->layout, d) || cg_kernels(g, &p->layout, "mimic_", &p->ks, &p->nk, d)) goto fail;
  p->state = malloc(sizeof *p->state * (size_t)(g->nout ? g->nout : 1));
  if (!p->state) abort();
  for (int k = 0; k < g->nout; k++) {
    p->state[k] = p->resident ? cg_state_of(g, k) : -1;
    if (p->state[k] < 0) continue;
    if (p->layout.slot[g->outs[k].id].region == CG_WEIGHTS) p->st.state_inplace++;
    else p->st.state_copied++;
  }
  p->fn = calloc((size_t)(p->nk ? p->nk : 1), sizeof *p->fn);
  if (o && o->profile) p->ktime = calloc((size_t)(p->nk ? p->nk : 1), sizeof *p->ktime);
  if (cg_target_init(&t, NULL, NULL, d)) goto fail;
  int use_cache = !(o && o->no_cache) && cache_dir(dir, sizeof dir, o ? o->cache_dir : NULL) == 0;
  CacheKey key;
  if (use_cache) {
    text = ir_print_str(g);
    char variant[32];
    snprintf(variant, sizeof variant, "%s,%s%s", o && o->no_plan ? "noplan" : "plan", o && o->no_fuse ? "nofuse" : "fuse",
             p->resident ? ",state" : "");
    cache_key(&key, text, &t, variant);
    p->st.cache_hit = cache_load(dir, &key, &obj, &n) == 1;
  }
  if (!p->st.cache_hit) {
    if (build_object(g, &p->layout, &t, &obj, &n, d)) goto fail;
    /* a cache that cannot be written only costs time next run: go on without it */
    Diag quiet;
    diag_init(&quiet);
    quiet.quiet = 1;
    if (use_cache) cache_store(dir, &key, obj, n, &quiet);
  }
  if (load_object(p, obj, n, d)) goto fail;
  free(obj);
  free(text);
  cg_target_free(&t);
  p->st.nkernels = p->nk;
  for (int r = 0; r < CG_NREGIONS; r++) p->st.region_bytes[r] = p->layout.size[r];
  p->st.act_unplanned = p->layout.unplanned_act;
  p->st.compile_s = now() - t0;
  return p;
fail:
  free(obj);
  free(text);
  if (t.tm) cg_target_free(&t);
  jit_free(p);
  return NULL;
}

const JitStats *jit_stats(const JitProgram *p) {
  return &p->st;
}

void jit_free(JitProgram *p) {
  if (!p) return;
  if (p->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(p->jit);
    if (e) LLVMConsumeError(e);
  }
  for (int r = 0; r < CG_NREGIONS; r++) free(p->region[r]);
  free(p->state);
  cg_layout_free(&p->layout);
  free(p->ks);
  free(p->fn);
  free(p->ktime);
  free(p);
}

/* Copy a named tensor into its slot after checking it against the node. */
static int bind(JitProgram *p, const Node *n, int id, const TensorSet *set, const char *kind, Diag *d) {
  const Tensor *t = set ? tset_get(set, n->name) : NULL;
  char b1[160], b2[160];
  if (!t) {
    diag_error(d, n->loc, "missing %s '%s'", kind, n->name);
    return -1;
  }
  if (t->dtype != n->dtype || !shape_eq(&t->shape, &n->shape)) {
    snprintf(b1, sizeof b1, "%s", dtype_name(n->dtype));
    shape_str(&n->shape, b1 + strlen(b1), sizeof b1 - strlen(b1));
    snprintf(b2, sizeof b2, "%s", dtype_name(t->dtype));
    shape_str(&t->shape, b2 + strlen(b2), sizeof b2 - strlen(b2));
    diag_error(d, n->loc, "%s '%s': expected %s, got %s", kind, n->name, b1, b2);
    return -1;
  }
  const CgSlot *s = &p->layout.slot[id];
  memcpy(p->region[s->region] + s->offset, t->data, tensor_nbytes(t));
  return 0;
}

static int alloc_regions(JitProgram *p, Diag *d) {
  for (int r = 0; r < CG_NREGIONS; r++) {
    if (p->region[r]) continue;
    size_t bytes = (size_t)(p->layout.size[r] > 0 ? p->layout.size[r] : CG_ALIGN);
    p->region[r] = aligned_alloc(CG_ALIGN, bytes);
    if (!p->region[r]) {
      diag_error(d, SRCLOC_NONE, "out of memory (%zu bytes for a region)", bytes);
      return -1;
    }
    memset(p->region[r], 0, bytes);
  }
  return 0;
}

int jit_load_weights(JitProgram *p, const TensorSet *weights, Diag *d) {
  if (alloc_regions(p, d)) return -1;
  for (int i = 0; i < p->g->n; i++)
    if (p->g->nodes[i].op == OP_WEIGHT && bind(p, &p->g->nodes[i], i, weights, "weight", d)) return -1;
  return 0;
}

void jit_read_weights(JitProgram *p, TensorSet *out) {
  Diag quiet;
  diag_init(&quiet);
  quiet.quiet = 1;
  if (alloc_regions(p, &quiet)) abort();
  for (int i = 0; i < p->g->n; i++) {
    const Node *n = &p->g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    Tensor *t = tensor_new(n->dtype, n->shape);
    memcpy(t->data, p->region[CG_WEIGHTS] + p->layout.slot[i].offset, tensor_nbytes(t));
    tset_put(out, n->name, t);
  }
}

int jit_run(JitProgram *p, const TensorSet *inputs, const TensorSet *weights, TensorSet *outputs, Diag *d) {
  const Graph *g = p->g;
  if (alloc_regions(p, d)) return -1;
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op == OP_INPUT && bind(p, n, i, inputs, "input", d)) return -1;
    if (weights && n->op == OP_WEIGHT && bind(p, n, i, weights, "weight", d)) return -1;
  }
  char *const *base = p->region;
  for (int i = 0; i < p->nk; i++) {
    int64_t ext = p->ks[i].extent;
    if (p->ktime) {
      double t0 = now();
      p->fn[i](base, 0, ext);
      p->ktime[i] += now() - t0;
      continue;
    }
    if (p->chunks <= 1) {
      sched_pool_run(p->sched, p->fn[i], base, ext);
      continue;
    }
    for (int c = p->chunks - 1; c >= 0; c--) /* pieces out of order: none may depend on another */
      p->fn[i](base, ext * c / p->chunks, ext * (c + 1) / p->chunks);
  }
  for (int k = 0; k < g->nout; k++) {
    const Node *n = &g->nodes[g->outs[k].id];
    const CgSlot *s = &p->layout.slot[g->outs[k].id];
    if (p->state[k] >= 0) { /* the next run's weight: already in place, or copied there */
      const CgSlot *w = &p->layout.slot[p->state[k]];
      if (s->region != CG_WEIGHTS) memcpy(p->region[CG_WEIGHTS] + w->offset, p->region[s->region] + s->offset, (size_t)w->bytes);
      continue;
    }
    Tensor *t = tensor_new(n->dtype, n->shape);
    memcpy(t->data, p->region[s->region] + s->offset, tensor_nbytes(t));
    tset_put(outputs, g->outs[k].name, t);
  }
  return 0;
}

void jit_profile(const JitProgram *p, int top, FILE *f) {
  if (!p->ktime) return;
  int *order = malloc(sizeof *order * (size_t)(p->nk ? p->nk : 1));
  if (!order) abort();
  double total = 0;
  for (int i = 0; i < p->nk; i++) {
    order[i] = i;
    total += p->ktime[i];
  }
  for (int i = 0; i < p->nk; i++) /* selection of the slowest `top` */
    for (int j = i + 1; j < p->nk && i < top; j++)
      if (p->ktime[order[j]] > p->ktime[order[i]]) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  fprintf(f, "kernel time %.4f s over %d kernels; the slowest:\n", total, p->nk);
  for (int i = 0; i < p->nk && i < top; i++) {
    const CgKernel *k = &p->ks[order[i]];
    const Node *n = &p->g->nodes[k->node];
    char sh[128];
    fprintf(f, "  %7.4f s %5.1f%%  %-12s %s%s  %s:%d\n", p->ktime[order[i]], total > 0 ? 100 * p->ktime[order[i]] / total : 0,
            op_info(n->op)->name, dtype_name(n->dtype), shape_str(&n->shape, sh, sizeof sh), n->loc.file ? n->loc.file : "?",
            n->loc.line);
  }
  /* and by op: where the time goes */
  double byop[OP_COUNT] = {0};
  int cnt[OP_COUNT] = {0};
  for (int i = 0; i < p->nk; i++) {
    OpKind op = p->g->nodes[p->ks[i].node].op;
    byop[op] += p->ktime[i];
    cnt[op]++;
  }
  fprintf(f, "by op:");
  for (int op = 0; op < OP_COUNT; op++)
    if (cnt[op]) fprintf(f, " %s %.4f s (%d)", op_info((OpKind)op)->name, byop[op], cnt[op]);
  fprintf(f, "\n");
  free(order);
}
