/* vmath.c — exp, log, tanh and erf for kernels (see vmath.h).
 *
 * f32: each function is an internal, alwaysinline, memory(none) helper "mimic.vm.<fn>f"
 * built in the module on first use. Its body is straight-line IR: range reduction, a
 * polynomial by Horner's rule, exponent work on the integer bits, and selects (no
 * branches) for the special cases. Only intrinsics the loop vectoriser widens appear:
 * fmuladd, fabs, minnum, maxnum, copysign. So after inlining, default<O3> turns a loop
 * over cg_vmath into vector code (zmm on AVX-512 with prefer-vector-width=512) with no
 * call in it. Two deliberate choices keep that true on every x86 target, not just the
 * host: llvm.fmuladd rather than llvm.fma (an fma where the target has one, mul + add
 * where it has not, where llvm.fma would become calls to fmaf), and rounding by adding
 * 1.5 * 2^23 rather than llvm.rint (a call to rintf without SSE4.1). Every step below
 * that relies on an fma being exact stays correct, only less precise, without one.
 *
 *   exp   n = round(x log2 e), r = x - n ln2 (Cody-Waite, ln2 in two parts), e^r by the
 *         Cephes expf polynomial, times 2^n applied as two factors 2^(n>>1) 2^(n-(n>>1))
 *         so that subnormal results round once and stay correct. x is clamped to
 *         [-104, 89] first: above ~88.72 the product overflows to +inf, below ~-103.97 it
 *         rounds to 0. NaN passes through.
 *   log   x = 2^e m with m in [sqrt(1/2), sqrt(2)) by integer arithmetic on the bits
 *         (subnormals are scaled by 2^23 first), f = m - 1 exactly, and Cephes logf:
 *         f - f^2/2 + f^3 P(f) + e ln2 with ln2 in two parts. log(+-0) = -inf,
 *         log(x < 0) = NaN, log(+inf) = +inf, NaN -> NaN.
 *   tanh  |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf); otherwise 1 - 2/(e^2|x| + 1),
 *         which saturates to 1 by itself (e^2|x| -> inf); the sign is copied from x.
 *   erf   |x| < 1: x + x P(x^2); 1 <= |x| <= 3.92: 1 - e^(-x^2) Q(|x| - 2), where x^2
 *         is carried as hi + lo (an fma) so that e^(-x^2) keeps full precision; 1 beyond
 *         (erf rounds to 1.0f from 3.9192). P and Q are near-minimax fits made by
 *         tools/fit_vmath.py; the sign is copied from x.
 *
 * Accuracy, measured over all 2^32 inputs against double libm rounded to float (the
 * test checks a sweep and edge values against the bounds exp, log 2 ulp, tanh, erf 3):
 * every function is within 1 ulp of that, with FMA (AVX-512 host) and without (x86-64
 * baseline, SSE2). Distance from the exact value: exp 1.01 ulp, log 0.83, tanh 1.33,
 * erf 1.00 (1.32 without FMA); subnormal inputs and results included. Largest absolute
 * error: tanh 7.9e-8, erf 5.9e-8 (7.9e-8 without FMA).
 *
 * f64: a call to libm's exp, log, tanh or erf, declared in the module; there accuracy
 * matters more than speed. */
#include "codegen/vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Cephes expf: e^r = 1 + r + r^2 P(r) for |r| <= ln2/2 */
static const float exp_p[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                              4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
/* ln2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n * LN2_HI is exact */
#define LN2_HI 0.693359375
#define LN2_LO (-2.12194440e-4)

/* Cephes logf: log(1+f) = f - f^2/2 + f^3 P(f) for f in [sqrt(1/2)-1, sqrt(2)-1) */
static const float log_p[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                              -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                              2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};

/* Cephes tanhf: tanh(x) = x + x^3 P(x^2) for |x| < 0.625 */
static const float tanh_p[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                               1.33314422036e-1f, -3.33332819422e-1f};

/* tools/fit_vmath.py: erf(x) = x + x P(x^2) for |x| < 1 (0.93 ulp in float) */
static const float erf_small[] = {7.853822171e-05f,  -8.010182646e-04f, 5.188326351e-03f,
                                  -2.685381100e-02f, 1.128358543e-01f,  -3.761262596e-01f,
                                  1.283791661e-01f};
/* tools/fit_vmath.py: erfc(x) e^(x^2) = Q(x - 2) for 1 <= x < 3.92 (0.77 ulp of erf) */
static const float erf_big[] = {1.068456040e-04f,  -2.023073757e-04f, 5.034990609e-04f,
                                -1.857408322e-03f, 5.475543905e-03f,  -1.544300839e-02f,
                                4.180156812e-02f,  -1.067977846e-01f, 2.553955913e-01f};

#define ERF_ONE 3.92 /* erf(x) is 1.0f beyond (it rounds there from 3.9192) */

/* What the body builders need: the builder positioned in the helper, and types. */
typedef struct Fb {
  LLVMModuleRef m;
  LLVMContextRef ctx;
  LLVMBuilderRef b;
  LLVMTypeRef f32, i32;
} Fb;

static LLVMValueRef cf(Fb *c, double v) {
  return LLVMConstReal(c->f32, v);
}

static LLVMValueRef ci(Fb *c, long long v) {
  return LLVMConstInt(c->i32, (unsigned long long)v, 1);
}

/* A call to the f32 overload of an intrinsic (llvm.fabs, llvm.minnum, ...). */
static LLVMValueRef intr(Fb *c, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef ty = c->f32;
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->m, id, &ty, 1);
  return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &ty, 1), fn, args, n, "");
}

static LLVMValueRef intr1(Fb *c, const char *name, LLVMValueRef a) {
  return intr(c, name, &a, 1);
}

static LLVMValueRef intr2(Fb *c, const char *name, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef args[2] = {a, b};
  return intr(c, name, args, 2);
}

/* a * b + d, fused where the target has an fma (see the top) */
static LLVMValueRef fma3(Fb *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
  LLVMValueRef args[3] = {a, b, d};
  return intr(c, "llvm.fmuladd", args, 3);
}

static LLVMValueRef mul(Fb *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(c->b, a, b, "");
}

static LLVMValueRef add(Fb *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(c->b, a, b, "");
}

static LLVMValueRef fcmp(Fb *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(c->b, p, a, b, "");
}

static LLVMValueRef sel(Fb *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, cond, a, b, "");
}

/* Horner's rule; cs highest degree first. */
static LLVMValueRef poly(Fb *c, LLVMValueRef t, const float *cs, int n) {
  LLVMValueRef p = cf(c, cs[0]);
  for (int i = 1; i < n; i++) p = fma3(c, p, t, cf(c, cs[i]));
  return p;
}

/* 2^k as a float, for k in [-126, 127]: the exponent field built directly. */
static LLVMValueRef pow2i(Fb *c, LLVMValueRef k) {
  LLVMValueRef bits = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, k, ci(c, 127), ""), ci(c, 23), "");
  return LLVMBuildBitCast(c->b, bits, c->f32, "");
}

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static LLVMValueRef build_exp(Fb *c, LLVMValueRef x) {
  /* the clamp bounds n to [-150, 128] so the integer work cannot overflow; minnum and
   * maxnum turn NaN into a bound, so NaN is put back at the end */
  LLVMValueRef xc = intr2(c, "llvm.maxnum", intr2(c, "llvm.minnum", x, cf(c, 89.0)), cf(c, -104.0));
  /* round to nearest by adding 1.5 * 2^23: the integer lands in the low mantissa bits.
   * Plain arithmetic, where llvm.rint would be a call to rintf on x86 without SSE4.1. */
  LLVMValueRef t = add(c, mul(c, xc, cf(c, 1.44269504088896341)), cf(c, 0x1.8p23));
  LLVMValueRef n = LLVMBuildFSub(c->b, t, cf(c, 0x1.8p23), "");
  LLVMValueRef r = fma3(c, n, cf(c, -LN2_HI), xc); /* exact */
  r = fma3(c, n, cf(c, -LN2_LO), r);
  LLVMValueRef z = mul(c, r, r);
  LLVMValueRef p = add(c, fma3(c, poly(c, r, exp_p, NELEM(exp_p)), z, r), cf(c, 1.0));
  /* 2^n in two factors, each a normal float: p 2^k1 is exact and the second product
   * rounds once, also when the result is subnormal */
  LLVMValueRef k = LLVMBuildSub(c->b, LLVMBuildBitCast(c->b, t, c->i32, ""), ci(c, 0x4b400000), "");
  LLVMValueRef k1 = LLVMBuildAShr(c->b, k, ci(c, 1), "");
  LLVMValueRef k2 = LLVMBuildSub(c->b, k, k1, "");
  LLVMValueRef y = mul(c, mul(c, p, pow2i(c, k1)), pow2i(c, k2));
  return sel(c, fcmp(c, LLVMRealUNO, x, x), x, y);
}

static LLVMValueRef build_log(Fb *c, LLVMValueRef x) {
  LLVMValueRef sub = fcmp(c, LLVMRealOLT, x, cf(c, 0x1p-126));
  LLVMValueRef xs = sel(c, sub, mul(c, x, cf(c, 0x1p23)), x);
  /* adding bits(1.0f) - bits(sqrt(1/2)) carries into the exponent exactly when the
   * significand (in [1, 2)) is >= sqrt(2), so e counts that carry, and the low 23 bits
   * plus bits(sqrt(1/2)) give m in [sqrt(1/2), sqrt(2)) with x = 2^e m */
  LLVMValueRef ix = LLVMBuildAdd(c->b, LLVMBuildBitCast(c->b, xs, c->i32, ""), ci(c, 0x3f800000 - 0x3f3504f3), "");
  LLVMValueRef e = LLVMBuildSub(c->b, LLVMBuildAShr(c->b, ix, ci(c, 23), ""), ci(c, 127), "");
  e = LLVMBuildSub(c->b, e, LLVMBuildSelect(c->b, sub, ci(c, 23), ci(c, 0), ""), "");
  LLVMValueRef mb = LLVMBuildAdd(c->b, LLVMBuildAnd(c->b, ix, ci(c, 0x7fffff), ""), ci(c, 0x3f3504f3), "");
  LLVMValueRef f = LLVMBuildFSub(c->b, LLVMBuildBitCast(c->b, mb, c->f32, ""), cf(c, 1.0), ""); /* exact */
  LLVMValueRef z = mul(c, f, f);
  LLVMValueRef ef = LLVMBuildSIToFP(c->b, e, c->f32, "");
  /* Cephes' order: the small terms first, e ln2_hi (exact) last */
  LLVMValueRef y = mul(c, mul(c, z, poly(c, f, log_p, NELEM(log_p))), f);
  y = fma3(c, ef, cf(c, LN2_LO), y);
  y = fma3(c, cf(c, -0.5), z, y);
  LLVMValueRef r = fma3(c, ef, cf(c, LN2_HI), add(c, f, y));
  r = sel(c, fcmp(c, LLVMRealOEQ, x, cf(c, INFINITY)), x, r);
  r = sel(c, fcmp(c, LLVMRealOEQ, x, cf(c, 0.0)), cf(c, -INFINITY), r);
  return sel(c, fcmp(c, LLVMRealULT, x, cf(c, 0.0)), cf(c, NAN), r); /* x < 0 or NaN */
}

static LLVMValueRef build_tanh(Fb *c, LLVMValueRef x) {
  LLVMValueRef a = intr1(c, "llvm.fabs", x);
  LLVMValueRef z = mul(c, a, a);
  LLVMValueRef small = fma3(c, a, mul(c, poly(c, z, tanh_p, NELEM(tanh_p)), z), a);
  /* e^2a overflows to +inf from a ~ 44 and 2/inf = 0: saturation needs no select */
  LLVMValueRef e = build_exp(c, add(c, a, a));
  LLVMValueRef big = LLVMBuildFSub(c->b, cf(c, 1.0), LLVMBuildFDiv(c->b, cf(c, 2.0), add(c, e, cf(c, 1.0)), ""), "");
  LLVMValueRef r = sel(c, fcmp(c, LLVMRealOLT, a, cf(c, 0.625)), small, big); /* NaN: big is NaN */
  return intr2(c, "llvm.copysign", r, x);
}

static LLVMValueRef build_erf(Fb *c, LLVMValueRef x) {
  LLVMValueRef a = intr1(c, "llvm.fabs", x);
  LLVMValueRef z = mul(c, a, a);
  LLVMValueRef small = fma3(c, a, poly(c, z, erf_small, NELEM(erf_small)), a);
  /* x^2 = z + zlo exactly; e^-(z + zlo) = e^-z (1 - zlo) */
  LLVMValueRef zlo = fma3(c, a, a, LLVMBuildFNeg(c->b, z, ""));
  LLVMValueRef e = build_exp(c, LLVMBuildFNeg(c->b, z, ""));
  e = fma3(c, LLVMBuildFNeg(c->b, e, ""), zlo, e);
  LLVMValueRef q = poly(c, LLVMBuildFSub(c->b, a, cf(c, 2.0), ""), erf_big, NELEM(erf_big));
  LLVMValueRef big = fma3(c, LLVMBuildFNeg(c->b, e, ""), q, cf(c, 1.0));
  LLVMValueRef r = sel(c, fcmp(c, LLVMRealOLT, a, cf(c, 1.0)), small, big);
  /* big is NaN for a = inf (0 * inf); the select also covers that. NaN stays NaN. */
  r = sel(c, fcmp(c, LLVMRealOGT, a, cf(c, ERF_ONE)), cf(c, 1.0), r);
  return intr2(c, "llvm.copysign", r, x);
}

static const char *const f32_names[] = {"mimic.vm.expf", "mimic.vm.logf", "mimic.vm.tanhf", "mimic.vm.erff"};
static const char *const f64_names[] = {"exp", "log", "tanh", "erf"};

static void add_attr(LLVMContextRef ctx, LLVMValueRef f, const char *name, uint64_t val) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, val));
}

/* The f32 helper for fn, built on first use. */
static LLVMValueRef f32_helper(LLVMModuleRef m, CgMathFn fn, LLVMTypeRef *fty) {
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx);
  *fty = LLVMFunctionType(f32, &f32, 1, 0);
  LLVMValueRef f = LLVMGetNamedFunction(m, f32_names[fn]);
  if (f) return f;
  f = LLVMAddFunction(m, f32_names[fn], *fty);
  LLVMSetLinkage(f, LLVMInternalLinkage);
  add_attr(ctx, f, "alwaysinline", 0);
  add_attr(ctx, f, "nounwind", 0);
  add_attr(ctx, f, "willreturn", 0);
  add_attr(ctx, f, "memory", 0); /* memory(none): MemoryEffects with no location touched */
  Fb c = {m, ctx, LLVMCreateBuilderInContext(ctx), f32, LLVMInt32TypeInContext(ctx)};
  LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
  LLVMValueRef x = LLVMGetParam(f, 0), r = NULL;
  switch (fn) {
  case CG_EXP: r = build_exp(&c, x); break;
  case CG_LOG: r = build_log(&c, x); break;
  case CG_TANH: r = build_tanh(&c, x); break;
  case CG_ERF: r = build_erf(&c, x); break;
  }
  LLVMBuildRet(c.b, r);
  LLVMDisposeBuilder(c.b);
  return f;
}

LLVMValueRef cg_vmath(LLVMModuleRef m, LLVMBuilderRef b, CgMathFn fn, LLVMValueRef x) {
  if ((unsigned)fn > CG_ERF) return NULL;
  LLVMTypeRef ty = LLVMTypeOf(x), fty;
  LLVMTypeKind kind = LLVMGetTypeKind(ty);
  LLVMValueRef f;
  if (kind == LLVMFloatTypeKind) {
    f = f32_helper(m, fn, &fty);
  } else if (kind == LLVMDoubleTypeKind) {
    fty = LLVMFunctionType(ty, &ty, 1, 0);
    f = LLVMGetNamedFunction(m, f64_names[fn]);
    if (!f) {
      f = LLVMAddFunction(m, f64_names[fn], fty);
      add_attr(LLVMGetModuleContext(m), f, "nounwind", 0);
    }
  } else {
    return NULL; /* only float and double scalars */
  }
  return LLVMBuildCall2(b, fty, f, &x, 1, "");
}
