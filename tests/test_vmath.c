/* test_vmath.c — the vmath functions (compiler/codegen/vmath.c), compiled for the host.
 *
 * One module holds loops `void f(T *out, const T *in, int64_t n)` over cg_vmath for each
 * function, f32 and f64; it goes through cg_optimize (default<O3>) and cg_object and runs
 * in an ORC LLJIT, as kernels do. Checked: the f32 ulp error against double libm rounded
 * to float over sweeps and edge values (max ulp per function on stderr), special values
 * and signed zeros, the f64 path giving libm's results bit for bit, and the assembly of
 * the f32 loops: vector code (zmm where the host has AVX-512) with no call in it. */
#include <float.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "codegen/codegen.h"
#include "codegen/vmath.h"

#define NFN 4

typedef void (*F32Loop)(float *out, const float *in, int64_t n);
typedef void (*F64Loop)(double *out, const double *in, int64_t n);

static const char *const fn_name[NFN] = {"exp", "log", "tanh", "erf"};
static double (*const ref_fn[NFN])(double) = {exp, log, tanh, erf};
/* error bounds: ulp against libm rounded to float, or absolute where the bound allows */
static const int64_t max_ulp[NFN] = {2, 2, 3, 3};
static const double max_abs[NFN] = {0, 0, 2e-7, 3e-7};

/* The compiled loops, built once by compile() and shared by the tests. */
static struct {
  LLVMOrcLLJITRef jit;
  F32Loop f32[NFN];
  F64Loop f64[NFN];
  char *asm_text;   /* the optimised module's assembly, NUL-terminated */
  const char *host_features;
} jitted;

/* for (i = 0; i < n; i++) out[i] = fn(in[i]); */
static void build_loop(LLVMModuleRef m, const char *name, LLVMTypeRef elt, CgMathFn fn) {
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef params[3] = {ptr, ptr, i64};
  LLVMValueRef f = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  LLVMAddAttributeAtIndex(f, 1, LLVMCreateEnumAttribute(ctx, noalias, 0));
  LLVMAddAttributeAtIndex(f, 2, LLVMCreateEnumAttribute(ctx, noalias, 0));
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, f, "entry");
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(ctx, f, "loop");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, f, "done");
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMValueRef out = LLVMGetParam(f, 0), in = LLVMGetParam(f, 1), n = LLVMGetParam(f, 2);
  LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), loop, done);
  LLVMPositionBuilderAtEnd(b, loop);
  LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
  LLVMValueRef x = LLVMBuildLoad2(b, elt, LLVMBuildGEP2(b, elt, in, &i, 1, ""), "x");
  LLVMValueRef y = cg_vmath(m, b, fn, x);
  LLVMBuildStore(b, y, LLVMBuildGEP2(b, elt, out, &i, 1, ""));
  LLVMValueRef next = LLVMBuildNSWAdd(b, i, LLVMConstInt(i64, 1, 0), "");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, next, n, ""), done, loop);
  LLVMValueRef inc[2] = {zero, next};
  LLVMBasicBlockRef from[2] = {entry, loop};
  LLVMAddIncoming(i, inc, from, 2);
  LLVMPositionBuilderAtEnd(b, done);
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
}

static int llvm_ok(LLVMErrorRef e, const char *what) {
  if (!e) return 1;
  char *msg = LLVMGetErrorMessage(e);
  fprintf(stderr, "%s: %s\n", what, msg);
  LLVMDisposeErrorMessage(msg);
  return 0;
}

static int load(const void *obj, size_t n) {
  LLVMOrcJITTargetMachineBuilderRef jtmb;
  if (!llvm_ok(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "detect host")) return 0;
  LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, jtmb);
  if (!llvm_ok(LLVMOrcCreateLLJIT(&jitted.jit, jb), "create LLJIT")) return 0;
  LLVMOrcDefinitionGeneratorRef gen; /* libm for the f64 loops */
  if (!llvm_ok(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(jitted.jit),
                                                                    NULL, NULL),
               "process symbols"))
    return 0;
  LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(jitted.jit);
  LLVMOrcJITDylibAddGenerator(main, gen);
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, n, "vmath-test");
  if (!llvm_ok(LLVMOrcLLJITAddObjectFile(jitted.jit, main, buf), "add object")) return 0;
  for (int k = 0; k < NFN; k++) {
    char name[16];
    LLVMOrcExecutorAddress a32, a64;
    snprintf(name, sizeof name, "v%s", fn_name[k]);
    if (!llvm_ok(LLVMOrcLLJITLookup(jitted.jit, &a32, name), name)) return 0;
    snprintf(name, sizeof name, "d%s", fn_name[k]);
    if (!llvm_ok(LLVMOrcLLJITLookup(jitted.jit, &a64, name), name)) return 0;
    jitted.f32[k] = (F32Loop)(uintptr_t)a32;
    jitted.f64[k] = (F64Loop)(uintptr_t)a64;
  }
  return 1;
}

/* Build, optimise, keep the assembly, JIT. */
static int compile(void) {
  Diag d;
  diag_init(&d);
  CgTarget t;
  if (cg_target_init(&t, NULL, NULL, &d)) return 0;
  CgModule cm = {0};
  cm.ctx = LLVMContextCreate();
  cm.mod = LLVMModuleCreateWithNameInContext("vmath_test", cm.ctx);
  for (int k = 0; k < NFN; k++) {
    char name[16];
    snprintf(name, sizeof name, "v%s", fn_name[k]);
    build_loop(cm.mod, name, LLVMFloatTypeInContext(cm.ctx), (CgMathFn)k);
    snprintf(name, sizeof name, "d%s", fn_name[k]);
    build_loop(cm.mod, name, LLVMDoubleTypeInContext(cm.ctx), (CgMathFn)k);
  }
  /* a second use reuses the helper */
  CHECK(LLVMGetNamedFunction(cm.mod, "mimic.vm.expf") != NULL);
  int ok = cg_optimize(&cm, &t, &d) == 0;
  LLVMMemoryBufferRef buf = NULL;
  char *err = NULL;
  if (ok && !LLVMTargetMachineEmitToMemoryBuffer(t.tm, cm.mod, LLVMAssemblyFile, &err, &buf)) {
    size_t n = LLVMGetBufferSize(buf);
    jitted.asm_text = malloc(n + 1);
    memcpy(jitted.asm_text, LLVMGetBufferStart(buf), n);
    jitted.asm_text[n] = 0;
    LLVMDisposeMemoryBuffer(buf);
  } else {
    ok = 0;
  }
  LLVMDisposeMessage(err);
  void *obj = NULL;
  size_t nobj = 0;
  ok = ok && cg_object(&cm, &t, &obj, &nobj, &d) == 0 && load(obj, nobj);
  free(obj);
  LLVMDisposeModule(cm.mod);
  LLVMContextDispose(cm.ctx);
  cg_target_free(&t);
  return ok;
}

/* float bits as integers that count ulps: adjacent floats differ by 1, -0 == +0 */
static int64_t ord(float f) {
  int32_t i;
  memcpy(&i, &f, 4);
  return i < 0 ? -(int64_t)(i & 0x7fffffff) : i;
}

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

typedef struct Err {
  int64_t ulp;    /* max ulp distance to libm rounded to float */
  double frac;    /* max |got - libm| / ulp(libm rounded to float), finer than ulp */
  double abs;     /* max |got - libm| */
  float ulp_x;    /* where the max ulp was seen */
  int bad;        /* results outside the bounds */
  float bad_x, bad_got;
} Err;

/* Compare got = fn(x) with libm and record the error. */
static void compare(int k, float x, float got, Err *e) {
  double r = ref_fn[k]((double)x);
  float rf = (float)r;
  int64_t u;
  double a = 0, f = 0;
  if (isnan(rf)) u = isnan(got) ? 0 : INT32_MAX;
  else if (isinf(rf) || isinf(got) || isnan(got)) u = got == rf ? 0 : INT32_MAX;
  else {
    u = llabs(ord(got) - ord(rf));
    a = fabs((double)got - r);
    f = a / ldexp(1, rf == 0 ? -149 : ilogbf(rf) < -126 ? -149 : ilogbf(rf) - 23);
  }
  if (u > e->ulp) e->ulp = u, e->ulp_x = x;
  if (a > e->abs) e->abs = a;
  if (f > e->frac) e->frac = f;
  if (u > max_ulp[k] && !(u < INT32_MAX && a <= max_abs[k])) {
    if (!e->bad) e->bad_x = x, e->bad_got = got;
    e->bad++;
  }
}

/* Run fn over xs and compare every result. */
static void sweep(int k, const float *xs, int64_t n, Err *e) {
  float *ys = malloc((size_t)n * sizeof *ys);
  jitted.f32[k](ys, xs, n);
  for (int64_t i = 0; i < n; i++) compare(k, xs[i], ys[i], e);
  free(ys);
}

static float call32(int k, float x) {
  float y;
  jitted.f32[k](&y, &x, 1);
  return y;
}

/* Every 997th bit pattern, 2M evenly spaced points over each function's interesting
 * range, and the edges. */
static void test_ulp(void) {
  static const float lo[NFN] = {-105, 0, -10, -4.5f}, hi[NFN] = {90, 4, 10, 4.5f};
  static const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MIN, -FLT_MIN,
                               0x1p-149f, -0x1p-149f, 1e-40f, FLT_MAX, -FLT_MAX, 1, -1, 0.5f, 2,
                               88.72283f, 88.722839f, 88.72284f, 88.7229f, 89, 100, -87.33654f,
                               -87.3366f, -100, -103.27893f, -103.972f, -103.97208f, -103.98f,
                               -104, -150, 0.625f, 0.62499994f, -0.625f, 0.6250001f, 0.99999994f,
                               1.0000001f, 3.9192f, 3.92f, 3.9200001f, 9, 9.1f, 10, 44, 45, 1e-3f,
                               1e-20f, 0x1.fffffep-127f, 0x1p-127f};
  int64_t nedge = sizeof edge / sizeof edge[0];
  int64_t nbits = ((int64_t)1 << 32) / 997 + 1, nlin = 2000000;
  float *xs = malloc((size_t)(nbits + nlin + nedge) * sizeof *xs);
  for (int k = 0; k < NFN; k++) {
    int64_t n = 0;
    for (int64_t u = 0; u < ((int64_t)1 << 32); u += 997) xs[n++] = from_bits((uint32_t)u);
    for (int64_t i = 0; i < nlin; i++) xs[n++] = lo[k] + (hi[k] - lo[k]) * (float)i / (float)nlin;
    for (int64_t i = 0; i < nedge; i++) xs[n++] = edge[i];
    Err e = {0};
    sweep(k, xs, n, &e);
    /* log: every positive subnormal exponent and the ends of the mantissa */
    if (k == CG_LOG) {
      int64_t m = 0;
      for (uint32_t u = 1; u < 0x800000; u = u * 2 + (u & 1)) xs[m++] = from_bits(u), xs[m++] = from_bits(u + 1);
      for (uint32_t u = 0x3f300000; u < 0x3fc00000; u += 61) xs[m++] = from_bits(u);
      sweep(k, xs, m, &e);
    }
    fprintf(stderr, "  %-4s max %lld ulp (at %.9g; %.3f ulp from the exact value)", fn_name[k], (long long)e.ulp,
            e.ulp_x, e.frac);
    if (max_abs[k] > 0) fprintf(stderr, ", max abs error %.3g", e.abs); /* exp and log span far beyond 1 */
    fprintf(stderr, ", %d over the bound\n", e.bad);
    if (e.bad) fprintf(stderr, "  first: %s(%.9g) = %.9g, libm %.9g\n", fn_name[k], e.bad_x, e.bad_got,
                       ref_fn[k](e.bad_x));
    CHECK_INT(e.bad, 0);
  }
  free(xs);
}

static int neg_zero(float f) {
  return f == 0 && signbit(f);
}

static void test_special(void) {
  CHECK(call32(CG_EXP, 0) == 1 && call32(CG_EXP, -0.0f) == 1);
  CHECK(call32(CG_EXP, INFINITY) == INFINITY);
  CHECK(call32(CG_EXP, -INFINITY) == 0 && !signbit(call32(CG_EXP, -INFINITY)));
  CHECK(isnan(call32(CG_EXP, NAN)));
  CHECK(isinf(call32(CG_EXP, 88.73f)) && isfinite(call32(CG_EXP, 88.72f)));
  CHECK(call32(CG_EXP, -104) == 0 && call32(CG_EXP, -103.9f) == 0x1p-149f);
  CHECK(call32(CG_LOG, 0) == -INFINITY && call32(CG_LOG, -0.0f) == -INFINITY);
  CHECK(isnan(call32(CG_LOG, -1)) && isnan(call32(CG_LOG, -INFINITY)) && isnan(call32(CG_LOG, NAN)));
  CHECK(isnan(call32(CG_LOG, -0x1p-149f)));
  CHECK(call32(CG_LOG, INFINITY) == INFINITY);
  CHECK(call32(CG_LOG, 1) == 0);
  CHECK(call32(CG_TANH, INFINITY) == 1 && call32(CG_TANH, -INFINITY) == -1);
  CHECK(call32(CG_TANH, 20) == 1 && call32(CG_TANH, -20) == -1);
  CHECK(isnan(call32(CG_TANH, NAN)) && neg_zero(call32(CG_TANH, -0.0f)));
  CHECK(call32(CG_ERF, INFINITY) == 1 && call32(CG_ERF, -INFINITY) == -1);
  CHECK(call32(CG_ERF, 5) == 1 && call32(CG_ERF, -5) == -1);
  CHECK(isnan(call32(CG_ERF, NAN)) && neg_zero(call32(CG_ERF, -0.0f)));
  /* odd symmetry, bit for bit */
  for (int k = CG_TANH; k <= CG_ERF; k++)
    for (float x = 1e-30f; x < 100; x *= 1.0137f) CHECK(call32(k, -x) == -call32(k, x));
}

/* The f64 loops call libm: its results, bit for bit. */
static void test_f64(void) {
  enum { N = 100000 };
  static double xs[N + 8], ys[N + 8];
  static const double edge[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 709.78, 710, -745.2};
  for (int k = 0; k < NFN; k++) {
    for (int i = 0; i < N; i++) xs[i] = -40 + 80.0 * i / N + (k == CG_LOG ? 40 : 0);
    memcpy(xs + N, edge, sizeof edge);
    jitted.f64[k](ys, xs, N + 8);
    int same = 1;
    for (int i = 0; i < N + 8; i++) {
      double r = ref_fn[k](xs[i]);
      if (!(isnan(r) ? isnan(ys[i]) : memcmp(&r, &ys[i], sizeof r) == 0)) same = 0;
    }
    CHECK(same);
  }
}

/* The text of function name in the assembly, up to its .Lfunc_end label. */
static char *asm_of(const char *name) {
  char label[32];
  snprintf(label, sizeof label, "\n%s:", name);
  const char *s = strstr(jitted.asm_text, label);
  const char *e = s ? strstr(s, ".Lfunc_end") : NULL;
  if (!e) return NULL;
  char *r = malloc((size_t)(e - s) + 1);
  memcpy(r, s, (size_t)(e - s));
  r[e - s] = 0;
  return r;
}

static void test_vectorised(void) {
  int avx512 = strstr(jitted.host_features, "+avx512f") != NULL;
  int avx = strstr(jitted.host_features, "+avx,") != NULL || avx512;
  for (int k = 0; k < NFN; k++) {
    char name[16];
    snprintf(name, sizeof name, "v%s", fn_name[k]);
    char *text = asm_of(name);
    CHECK(text != NULL);
    if (!text) continue;
    if (avx512) CHECK(strstr(text, "zmm") != NULL);
    else if (avx) CHECK(strstr(text, "ymm") != NULL);
    CHECK(strstr(text, "call") == NULL && strstr(text, "@PLT") == NULL);
    free(text);
  }
  fprintf(stderr, "  host %s AVX-512; f32 loops use zmm: %s\n", avx512 ? "has" : "lacks",
          strstr(jitted.asm_text, "zmm") ? "yes" : "no");
  /* no libm f32 calls anywhere, and the helpers were inlined away */
  static const char *const f32_calls[] = {"expf", "logf", "tanhf", "erff", "mimic.vm"};
  for (int i = 0; i < 5; i++) CHECK(strstr(jitted.asm_text, f32_calls[i]) == NULL);
}

/* Types other than float and double get no code. */
static void test_types(void) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = LLVMModuleCreateWithNameInContext("t", ctx);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  CHECK(cg_vmath(m, b, CG_EXP, LLVMConstInt(LLVMInt32TypeInContext(ctx), 1, 0)) == NULL);
  LLVMDisposeBuilder(b);
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
}

int main(void) {
  char *features = LLVMGetHostCPUFeatures();
  jitted.host_features = features;
  int ok = compile();
  CHECK(ok);
  if (ok) {
    RUN(test_ulp);
    RUN(test_special);
    RUN(test_f64);
    RUN(test_vectorised);
  }
  RUN(test_types);
  if (jitted.jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(jitted.jit);
    if (e) LLVMConsumeError(e);
  }
  free(jitted.asm_text);
  LLVMDisposeMessage(features);
  return CHECK_DONE();
}
