/* vmath.h — transcendental functions for kernels as inlinable LLVM IR: branch-free
 * polynomial code that the loop vectoriser turns into vector instructions (no scalar
 * libm calls in hot loops). f64 calls libm, where accuracy matters more than speed. */
#ifndef MIMIC_VMATH_H
#define MIMIC_VMATH_H
#include <llvm-c/Core.h>

typedef enum CgMathFn { CG_EXP, CG_LOG, CG_TANH, CG_ERF } CgMathFn;

/* Emit fn(x) at the builder's position; x is a float or double scalar. The f32 helper
 * functions are created in the module on first use (internal, alwaysinline). */
LLVMValueRef cg_vmath(LLVMModuleRef m, LLVMBuilderRef b, CgMathFn fn, LLVMValueRef x);

#endif
