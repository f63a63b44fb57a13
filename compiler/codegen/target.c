/* target.c — LLVM target machines, the optimisation pipeline and object emission. */
#include <errno.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"

/* LLVM's target registry is process-wide and must be filled once; this is the one place
 * that touches it. */
static pthread_once_t targets_once = PTHREAD_ONCE_INIT;

static void init_targets(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
}

static char *dup_llvm(char *s) {
  char *r = strdup(s ? s : "");
  LLVMDisposeMessage(s);
  return r;
}

/* LLVM's C API cannot ask whether a CPU name is valid: an unknown one is only reported as a
 * warning on stderr ("... is not a recognized processor for this target") when the target
 * machine builds its subtarget, and code generation for it may abort later. So create
 * the target machine with stderr redirected to a temporary file and look for that
 * warning; *known says whether it was absent. */
static LLVMTargetMachineRef create_tm(LLVMTargetRef target, const CgTarget *t, int *known) {
  *known = 1;
  fflush(stderr);
  FILE *tmp = tmpfile();
  int saved = tmp ? dup(2) : -1;
  if (saved >= 0) dup2(fileno(tmp), 2);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive,
                                                    LLVMRelocPIC, LLVMCodeModelDefault);
  if (saved >= 0) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[4096];
    rewind(tmp);
    size_t n = fread(text, 1, sizeof text - 1, tmp);
    text[n] = 0;
    *known = strstr(text, "is not a recognized processor") == NULL;
  }
  if (tmp) fclose(tmp);
  return tm;
}

int cg_target_init(CgTarget *t, const char *triple, const char *cpu, Diag *d) {
  memset(t, 0, sizeof *t);
  pthread_once(&targets_once, init_targets);
  int host = triple == NULL;
  char *norm = host ? LLVMGetDefaultTargetTriple() : LLVMNormalizeTargetTriple(triple);
  t->triple = dup_llvm(norm);
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    diag_error(d, SRCLOC_NONE, "unknown target '%s': %s", triple ? triple : t->triple, err ? err : "");
    LLVMDisposeMessage(err);
    cg_target_free(t);
    return -1;
  }
  if (cpu) t->cpu = strdup(cpu);
  else t->cpu = host ? dup_llvm(LLVMGetHostCPUName()) : strdup("generic");
  /* the host's features only describe the host's CPU */
  t->features = host && !cpu ? dup_llvm(LLVMGetHostCPUFeatures()) : strdup("");
  int known;
  t->tm = create_tm(target, t, &known);
  if (!t->tm) {
    diag_error(d, SRCLOC_NONE, "cannot create a target machine for '%s' (cpu '%s')", t->triple, t->cpu);
    cg_target_free(t);
    return -1;
  }
  if (!known) {
    diag_error(d, SRCLOC_NONE, "unknown CPU '%s' for target '%s'", cpu, t->triple);
    cg_target_free(t);
    return -1;
  }
  return 0;
}

void cg_target_free(CgTarget *t) {
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  free(t->triple);
  free(t->cpu);
  free(t->features);
  memset(t, 0, sizeof *t);
}

int cg_optimize(CgModule *m, const CgTarget *t, Diag *d) {
  LLVMSetTarget(m->mod, t->triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(t->tm);
  LLVMSetModuleDataLayout(m->mod, td);
  LLVMDisposeTargetData(td);
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    diag_error(d, SRCLOC_NONE, "internal error: the generated LLVM module does not verify: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return -1;
  }
  LLVMDisposeMessage(msg);
  /* Several x86 CPUs default to 256-bit vectors even with AVX-512; kernels are long,
   * regular loops where the wider registers pay, so ask for them. On x86 CPUs without
   * AVX-512 the attribute changes nothing. */
  int x86 = !strncmp(t->triple, "x86_64", 6);
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    LLVMContextRef ctx = LLVMGetModuleContext(m->mod);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, "target-cpu", 10, t->cpu, (unsigned)strlen(t->cpu)));
    if (*t->features)
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(ctx, "target-features", 15, t->features,
                                                        (unsigned)strlen(t->features)));
    if (x86)
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                              LLVMCreateStringAttribute(ctx, "prefer-vector-width", 19, "512", 3));
  }
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1);
  LLVMErrorRef e = LLVMRunPasses(m->mod, "default<O3>", t->tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    char *em = LLVMGetErrorMessage(e);
    diag_error(d, SRCLOC_NONE, "internal error: LLVM optimisation failed: %s", em);
    LLVMDisposeErrorMessage(em);
    return -1;
  }
  return 0;
}

int cg_object(CgModule *m, const CgTarget *t, void **bytes, size_t *n, Diag *d) {
  LLVMMemoryBufferRef buf = NULL;
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(t->tm, m->mod, LLVMObjectFile, &err, &buf)) {
    diag_error(d, SRCLOC_NONE, "internal error: object emission failed: %s", err ? err : "");
    LLVMDisposeMessage(err);
    return -1;
  }
  *n = LLVMGetBufferSize(buf);
  *bytes = malloc(*n ? *n : 1);
  if (!*bytes) {
    LLVMDisposeMemoryBuffer(buf);
    diag_error(d, SRCLOC_NONE, "out of memory");
    return -1;
  }
  memcpy(*bytes, LLVMGetBufferStart(buf), *n);
  LLVMDisposeMemoryBuffer(buf);
  return 0;
}
