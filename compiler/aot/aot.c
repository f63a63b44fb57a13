/* aot.c — the entry points of an AOT object, built with the LLVM C API beside the kernels
 * that cg_emit made: NAME_run (the kernels in order), NAME_init_embedded and
 * NAME_embedded_weights (a weights image inside the object), NAME_init_file (a blob file
 * read with fopen/fread/fclose) and NAME_error (the last error's text).
 *
 * The object must need nothing but libc: the error text is assembled by a small IR string
 * append instead of snprintf, the blob's integers are decoded byte by byte (so a
 * big-endian target reads the little-endian file too), and the checksum is an IR loop. */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot/aot.h"

#define ERRBUF 512 /* bytes of the error text buffer, the terminating NUL included */

typedef struct Ctx {
  LLVMContextRef c;
  LLVMModuleRef m;
  LLVMBuilderRef b;
  LLVMTypeRef i8, i32, i64, ptr, size, vd; /* size: the target's size_t */
  const char *name;
  char upper[AOT_MAX_NAME + 1];  /* name in upper case, as the header's macros spell it */
  int64_t wsize;                 /* bytes of the weights region */
  LLVMValueRef errbuf;           /* char NAME_errbuf[ERRBUF] */
  LLVMTypeRef append_ty, seterr_ty;
  LLVMValueRef append, seterr;   /* internal helpers, see add_error_helpers */
} Ctx;

static const char *sym(const Ctx *x, const char *suffix, char *buf, size_t n) {
  snprintf(buf, n, "%s_%s", x->name, suffix);
  return buf;
}

/* A private, NUL-terminated string constant. */
static LLVMValueRef cstr(Ctx *x, const char *s) {
  unsigned n = (unsigned)strlen(s);
  LLVMValueRef g = LLVMAddGlobal(x->m, LLVMArrayType2(x->i8, n + 1), ".str");
  LLVMSetInitializer(g, LLVMConstStringInContext(x->c, s, n, 0));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef i64c(Ctx *x, int64_t v) {
  return LLVMConstInt(x->i64, (unsigned long long)v, 1);
}

static LLVMValueRef sizec(Ctx *x, int64_t v) {
  return LLVMConstInt(x->size, (unsigned long long)v, 0);
}

static LLVMValueRef add_fn(Ctx *x, const char *name, LLVMTypeRef ty, int internal) {
  LLVMValueRef f = LLVMAddFunction(x->m, name, ty);
  if (internal) LLVMSetLinkage(f, LLVMInternalLinkage);
  unsigned k = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(x->c, k, 0));
  return f;
}

static LLVMBasicBlockRef block(Ctx *x, LLVMValueRef f, const char *name) {
  return LLVMAppendBasicBlockInContext(x->c, f, name);
}

static LLVMValueRef call(Ctx *x, LLVMTypeRef ty, LLVMValueRef f, LLVMValueRef *args, unsigned n) {
  return LLVMBuildCall2(x->b, ty, f, args, n, "");
}

/* A libc function, declared once. */
static LLVMValueRef libc(Ctx *x, const char *name, LLVMTypeRef ty) {
  LLVMValueRef f = LLVMGetNamedFunction(x->m, name);
  return f ? f : LLVMAddFunction(x->m, name, ty);
}

/* NAME_errbuf, NAME_error() and two internal helpers:
 *   i64 append(i64 pos, ptr s): copy s to errbuf+pos while it fits, NUL-terminate, return
 *     the new end;
 *   void seterr(ptr a, ptr b, ptr c): errbuf = a b c. */
static void add_error_helpers(Ctx *x) {
  char nb[128];
  LLVMTypeRef bufty = LLVMArrayType2(x->i8, ERRBUF);
  x->errbuf = LLVMAddGlobal(x->m, bufty, sym(x, "errbuf", nb, sizeof nb));
  LLVMSetInitializer(x->errbuf, LLVMConstNull(bufty));
  LLVMSetLinkage(x->errbuf, LLVMInternalLinkage);

  LLVMValueRef f = add_fn(x, sym(x, "error", nb, sizeof nb), LLVMFunctionType(x->ptr, NULL, 0, 0), 0);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  LLVMBuildRet(x->b, x->errbuf);

  LLVMTypeRef ap[2] = {x->i64, x->ptr};
  x->append_ty = LLVMFunctionType(x->i64, ap, 2, 0);
  x->append = f = add_fn(x, sym(x, "err_append", nb, sizeof nb), x->append_ty, 1);
  LLVMBasicBlockRef entry = block(x, f, "entry"), loop = block(x, f, "loop"), body = block(x, f, "body"),
                    done = block(x, f, "done");
  LLVMPositionBuilderAtEnd(x->b, entry);
  LLVMBuildBr(x->b, loop);
  LLVMPositionBuilderAtEnd(x->b, loop);
  LLVMValueRef pos = LLVMBuildPhi(x->b, x->i64, "pos"), s = LLVMBuildPhi(x->b, x->ptr, "s");
  LLVMValueRef ch = LLVMBuildLoad2(x->b, x->i8, s, "ch");
  LLVMValueRef full = LLVMBuildICmp(x->b, LLVMIntUGE, pos, i64c(x, ERRBUF - 1), "");
  LLVMValueRef nul = LLVMBuildICmp(x->b, LLVMIntEQ, ch, LLVMConstInt(x->i8, 0, 0), "");
  LLVMBuildCondBr(x->b, LLVMBuildOr(x->b, full, nul, ""), done, body);
  LLVMPositionBuilderAtEnd(x->b, body);
  LLVMValueRef idx[2] = {i64c(x, 0), pos};
  LLVMBuildStore(x->b, ch, LLVMBuildInBoundsGEP2(x->b, bufty, x->errbuf, idx, 2, ""));
  LLVMValueRef pos1 = LLVMBuildAdd(x->b, pos, i64c(x, 1), "");
  LLVMValueRef one = i64c(x, 1);
  LLVMValueRef s1 = LLVMBuildInBoundsGEP2(x->b, x->i8, s, &one, 1, "");
  LLVMBuildBr(x->b, loop);
  LLVMValueRef pv[2] = {LLVMGetParam(f, 0), pos1}, sv[2] = {LLVMGetParam(f, 1), s1};
  LLVMBasicBlockRef pb[2] = {entry, body};
  LLVMAddIncoming(pos, pv, pb, 2);
  LLVMAddIncoming(s, sv, pb, 2);
  LLVMPositionBuilderAtEnd(x->b, done);
  LLVMBuildStore(x->b, LLVMConstInt(x->i8, 0, 0), LLVMBuildInBoundsGEP2(x->b, bufty, x->errbuf, idx, 2, ""));
  LLVMBuildRet(x->b, pos);

  LLVMTypeRef sp[3] = {x->ptr, x->ptr, x->ptr};
  x->seterr_ty = LLVMFunctionType(x->vd, sp, 3, 0);
  x->seterr = f = add_fn(x, sym(x, "err_set", nb, sizeof nb), x->seterr_ty, 1);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  LLVMValueRef at = i64c(x, 0);
  for (unsigned k = 0; k < 3; k++) {
    LLVMValueRef args[2] = {at, LLVMGetParam(f, k)};
    at = call(x, x->append_ty, x->append, args, 2);
  }
  LLVMBuildRetVoid(x->b);
}

static void set_error(Ctx *x, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[3] = {a, b, c};
  call(x, x->seterr_ty, x->seterr, args, 3);
}

/* In f, at the builder: when the weights region w is NULL or misaligned, record the error
 * and return -1; otherwise continue in a new block. */
static void check_region(Ctx *x, LLVMValueRef f, LLVMValueRef w) {
  char msg[160];
  LLVMBasicBlockRef null_b = block(x, f, "null"), align_b = block(x, f, "align"), misal = block(x, f, "misaligned"),
                    ok = block(x, f, "region_ok");
  LLVMValueRef isnull = LLVMBuildICmp(x->b, LLVMIntEQ, w, LLVMConstNull(x->ptr), "");
  LLVMBuildCondBr(x->b, isnull, null_b, align_b);
  LLVMPositionBuilderAtEnd(x->b, null_b);
  snprintf(msg, sizeof msg, "%s: ", x->name);
  LLVMValueRef pre = cstr(x, msg), empty = cstr(x, "");
  set_error(x, pre, cstr(x, "the weights region is NULL"), empty);
  LLVMBuildRet(x->b, LLVMConstInt(x->i32, (unsigned long long)-1, 1));
  LLVMPositionBuilderAtEnd(x->b, align_b);
  LLVMValueRef low = LLVMBuildAnd(x->b, LLVMBuildPtrToInt(x->b, w, x->i64, ""), i64c(x, CG_ALIGN - 1), "");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntNE, low, i64c(x, 0), ""), misal, ok);
  LLVMPositionBuilderAtEnd(x->b, misal);
  snprintf(msg, sizeof msg, "the weights region is not aligned to %s_ALIGN (%d bytes)", x->upper, CG_ALIGN);
  set_error(x, pre, cstr(x, msg), empty);
  LLVMBuildRet(x->b, LLVMConstInt(x->i32, (unsigned long long)-1, 1));
  LLVMPositionBuilderAtEnd(x->b, ok);
}

/* void NAME_run(void *weights, void *act, void *io): every kernel over its whole range,
 * in order, from a constant table {kernel, extent} — the shape a threaded runner will
 * share, splitting each range into chunks. */
static int add_run(Ctx *x, const CgModule *cm, Diag *d) {
  char nb[128];
  LLVMTypeRef kp[3] = {x->ptr, x->i64, x->i64};
  LLVMTypeRef kty = LLVMFunctionType(x->vd, kp, 3, 0);
  LLVMTypeRef ent[2] = {x->ptr, x->i64};
  LLVMTypeRef entty = LLVMStructTypeInContext(x->c, ent, 2, 0);
  int nk = cm->nkernels;
  LLVMValueRef *rows = calloc((size_t)(nk ? nk : 1), sizeof *rows);
  if (!rows) {
    diag_error(d, SRCLOC_NONE, "out of memory");
    return -1;
  }
  for (int i = 0; i < nk; i++) {
    LLVMValueRef k = LLVMGetNamedFunction(x->m, cm->kernels[i].name);
    if (!k) {
      diag_error(d, SRCLOC_NONE, "internal error: kernel '%s' is not in the module", cm->kernels[i].name);
      free(rows);
      return -1;
    }
    /* callers see only the entry points; hidden keeps the kernels out of a shared
     * library's exports should the object end up in one */
    LLVMSetVisibility(k, LLVMHiddenVisibility);
    LLVMValueRef f[2] = {k, i64c(x, cm->kernels[i].extent)};
    rows[i] = LLVMConstStructInContext(x->c, f, 2, 0);
  }
  LLVMTypeRef tabty = LLVMArrayType2(entty, (uint64_t)nk);
  LLVMValueRef tab = LLVMAddGlobal(x->m, tabty, sym(x, "plan", nb, sizeof nb));
  LLVMSetInitializer(tab, LLVMConstArray2(entty, rows, (uint64_t)nk));
  LLVMSetGlobalConstant(tab, 1);
  LLVMSetLinkage(tab, LLVMPrivateLinkage);
  free(rows);

  LLVMTypeRef rp[3] = {x->ptr, x->ptr, x->ptr};
  LLVMValueRef f = add_fn(x, sym(x, "run", nb, sizeof nb), LLVMFunctionType(x->vd, rp, 3, 0), 0);
  LLVMBasicBlockRef entry = block(x, f, "entry");
  LLVMPositionBuilderAtEnd(x->b, entry);
  LLVMTypeRef basety = LLVMArrayType2(x->ptr, CG_NREGIONS);
  LLVMValueRef base = LLVMBuildAlloca(x->b, basety, "base");
  for (int r = 0; r < CG_NREGIONS; r++) {
    LLVMValueRef idx[2] = {i64c(x, 0), i64c(x, r)};
    LLVMBuildStore(x->b, LLVMGetParam(f, (unsigned)r), LLVMBuildInBoundsGEP2(x->b, basety, base, idx, 2, ""));
  }
  if (!nk) {
    LLVMBuildRetVoid(x->b);
    return 0;
  }
  LLVMBasicBlockRef loop = block(x, f, "loop"), done = block(x, f, "done");
  LLVMBuildBr(x->b, loop);
  LLVMPositionBuilderAtEnd(x->b, loop);
  LLVMValueRef i = LLVMBuildPhi(x->b, x->i64, "i");
  LLVMValueRef idx[2] = {i64c(x, 0), i};
  LLVMValueRef row = LLVMBuildInBoundsGEP2(x->b, tabty, tab, idx, 2, "");
  LLVMValueRef kfn = LLVMBuildLoad2(x->b, x->ptr, LLVMBuildStructGEP2(x->b, entty, row, 0, ""), "k");
  LLVMValueRef ext = LLVMBuildLoad2(x->b, x->i64, LLVMBuildStructGEP2(x->b, entty, row, 1, ""), "extent");
  LLVMValueRef args[3] = {base, i64c(x, 0), ext};
  call(x, kty, kfn, args, 3);
  LLVMValueRef i1 = LLVMBuildAdd(x->b, i, i64c(x, 1), "");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntULT, i1, i64c(x, nk), ""), loop, done);
  LLVMValueRef iv[2] = {i64c(x, 0), i1};
  LLVMBasicBlockRef ib[2] = {entry, loop};
  LLVMAddIncoming(i, iv, ib, 2);
  LLVMPositionBuilderAtEnd(x->b, done);
  LLVMBuildRetVoid(x->b);
  return 0;
}

/* The image as a 64-byte aligned constant, NAME_embedded_weights() returning it and
 * NAME_init_embedded(w) copying it into the caller's region. */
static void add_embedded(Ctx *x, const void *image) {
  char nb[128];
  /* an empty region still gets one byte: a global of size zero may share its address */
  size_t n = (size_t)(x->wsize ? x->wsize : 1);
  LLVMValueRef img = LLVMAddGlobal(x->m, LLVMArrayType2(x->i8, n), sym(x, "weights_image", nb, sizeof nb));
  LLVMSetInitializer(img, LLVMConstStringInContext2(x->c, (const char *)image, n, 1));
  LLVMSetGlobalConstant(img, 1);
  LLVMSetLinkage(img, LLVMPrivateLinkage);
  LLVMSetAlignment(img, CG_ALIGN);

  LLVMValueRef f = add_fn(x, sym(x, "embedded_weights", nb, sizeof nb), LLVMFunctionType(x->ptr, NULL, 0, 0), 0);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  LLVMBuildRet(x->b, img);

  f = add_fn(x, sym(x, "init_embedded", nb, sizeof nb), LLVMFunctionType(x->i32, &x->ptr, 1, 0), 0);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  check_region(x, f, LLVMGetParam(f, 0));
  if (x->wsize) LLVMBuildMemCpy(x->b, LLVMGetParam(f, 0), CG_ALIGN, img, CG_ALIGN, sizec(x, x->wsize));
  LLVMBuildRet(x->b, LLVMConstInt(x->i32, 0, 0));
}

/* The u64 stored little-endian at p + off. */
static LLVMValueRef load_le64(Ctx *x, LLVMValueRef p, int off) {
  LLVMValueRef v = i64c(x, 0);
  for (int k = 0; k < 8; k++) {
    LLVMValueRef at = i64c(x, off + k);
    LLVMValueRef byte = LLVMBuildLoad2(x->b, x->i8, LLVMBuildInBoundsGEP2(x->b, x->i8, p, &at, 1, ""), "");
    LLVMValueRef w = LLVMBuildShl(x->b, LLVMBuildZExt(x->b, byte, x->i64, ""), i64c(x, 8 * k), "");
    v = LLVMBuildOr(x->b, v, w, "");
  }
  return v;
}

/* A failure after fopen: branch to the block that closes the file and records msg. */
typedef struct Fails {
  LLVMValueRef msg[8];
  LLVMBasicBlockRef from[8];
  int n;
} Fails;

static void check(Ctx *x, LLVMValueRef f, Fails *fl, LLVMBasicBlockRef fail, LLVMValueRef bad, const char *msg) {
  LLVMBasicBlockRef next = block(x, f, "next");
  fl->msg[fl->n] = cstr(x, msg);
  fl->from[fl->n++] = LLVMGetInsertBlock(x->b);
  LLVMBuildCondBr(x->b, bad, fail, next);
  LLVMPositionBuilderAtEnd(x->b, next);
}

/* int NAME_init_file(void *weights, const char *path): read a blob into the region. */
static void add_init_file(Ctx *x) {
  char nb[128], msg[200];
  LLVMTypeRef pp[2] = {x->ptr, x->ptr};
  LLVMTypeRef fopen_ty = LLVMFunctionType(x->ptr, pp, 2, 0);
  LLVMTypeRef fread_p[4] = {x->ptr, x->size, x->size, x->ptr};
  LLVMTypeRef fread_ty = LLVMFunctionType(x->size, fread_p, 4, 0);
  LLVMTypeRef fclose_ty = LLVMFunctionType(x->i32, &x->ptr, 1, 0);
  LLVMValueRef fopen_f = libc(x, "fopen", fopen_ty), fread_f = libc(x, "fread", fread_ty);
  LLVMValueRef fclose_f = libc(x, "fclose", fclose_ty);
  LLVMValueRef minus1 = LLVMConstInt(x->i32, (unsigned long long)-1, 1);

  LLVMValueRef f = add_fn(x, sym(x, "init_file", nb, sizeof nb), LLVMFunctionType(x->i32, pp, 2, 0), 0);
  LLVMValueRef w = LLVMGetParam(f, 0), path = LLVMGetParam(f, 1);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  LLVMTypeRef hdrty = LLVMArrayType2(x->i8, AOT_BLOB_HEADER);
  LLVMValueRef hdr = LLVMBuildAlloca(x->b, hdrty, "hdr"), extra = LLVMBuildAlloca(x->b, x->i8, "extra");
  check_region(x, f, w);
  snprintf(msg, sizeof msg, "%s: weights file ", x->name);
  LLVMValueRef pre = cstr(x, msg);

  LLVMBasicBlockRef nopath = block(x, f, "nopath"), open = block(x, f, "open");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntEQ, path, LLVMConstNull(x->ptr), ""), nopath, open);
  LLVMPositionBuilderAtEnd(x->b, nopath);
  set_error(x, pre, cstr(x, "(null)"), cstr(x, ": no path given"));
  LLVMBuildRet(x->b, minus1);

  LLVMPositionBuilderAtEnd(x->b, open);
  LLVMValueRef oa[2] = {path, cstr(x, "rb")};
  LLVMValueRef file = call(x, fopen_ty, fopen_f, oa, 2);
  LLVMBasicBlockRef cant = block(x, f, "cannot_open"), opened = block(x, f, "opened");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntEQ, file, LLVMConstNull(x->ptr), ""), cant, opened);
  LLVMPositionBuilderAtEnd(x->b, cant);
  set_error(x, pre, path, cstr(x, ": cannot open"));
  LLVMBuildRet(x->b, minus1);

  LLVMPositionBuilderAtEnd(x->b, opened);
  LLVMBasicBlockRef fail = block(x, f, "fail_close");
  Fails fl = {.n = 0};
  LLVMValueRef ra[4] = {hdr, sizec(x, 1), sizec(x, AOT_BLOB_HEADER), file};
  LLVMValueRef got = call(x, fread_ty, fread_f, ra, 4);
  check(x, f, &fl, fail, LLVMBuildICmp(x->b, LLVMIntNE, got, sizec(x, AOT_BLOB_HEADER), ""),
        ": truncated header (not a weights blob?)");
  LLVMValueRef magic = LLVMAddGlobal(x->m, LLVMArrayType2(x->i8, 8), ".magic");
  LLVMSetInitializer(magic, LLVMConstStringInContext(x->c, AOT_BLOB_MAGIC, 8, 1));
  LLVMSetGlobalConstant(magic, 1);
  LLVMSetLinkage(magic, LLVMPrivateLinkage);
  /* both sides loaded the same way, so the comparison does not depend on endianness */
  LLVMValueRef m1 = LLVMBuildLoad2(x->b, x->i64, hdr, ""), m2 = LLVMBuildLoad2(x->b, x->i64, magic, "");
  LLVMSetAlignment(m1, 1);
  LLVMSetAlignment(m2, 1);
  check(x, f, &fl, fail, LLVMBuildICmp(x->b, LLVMIntNE, m1, m2, ""), ": bad magic (not a weights blob)");
  snprintf(msg, sizeof msg, ": region size differs from %s_WEIGHTS_SIZE (a blob for another model?)", x->upper);
  check(x, f, &fl, fail, LLVMBuildICmp(x->b, LLVMIntNE, load_le64(x, hdr, 8), i64c(x, x->wsize), ""), msg);
  LLVMValueRef da[4] = {w, sizec(x, 1), sizec(x, x->wsize), file};
  got = call(x, fread_ty, fread_f, da, 4);
  check(x, f, &fl, fail, LLVMBuildICmp(x->b, LLVMIntNE, got, sizec(x, x->wsize), ""), ": truncated data");
  LLVMValueRef ea[4] = {extra, sizec(x, 1), sizec(x, 1), file};
  got = call(x, fread_ty, fread_f, ea, 4);
  check(x, f, &fl, fail, LLVMBuildICmp(x->b, LLVMIntNE, got, sizec(x, 0), ""), ": trailing data after the region");
  call(x, fclose_ty, fclose_f, &file, 1);

  /* FNV-1a-64 of the region as read */
  LLVMValueRef h = LLVMConstInt(x->i64, 0xcbf29ce484222325ULL, 0);
  if (x->wsize) {
    LLVMBasicBlockRef pre_b = LLVMGetInsertBlock(x->b), loop = block(x, f, "fnv"), after = block(x, f, "fnv_done");
    LLVMBuildBr(x->b, loop);
    LLVMPositionBuilderAtEnd(x->b, loop);
    LLVMValueRef i = LLVMBuildPhi(x->b, x->i64, "i"), hp = LLVMBuildPhi(x->b, x->i64, "h");
    LLVMValueRef byte = LLVMBuildLoad2(x->b, x->i8, LLVMBuildInBoundsGEP2(x->b, x->i8, w, &i, 1, ""), "");
    LLVMValueRef hx = LLVMBuildXor(x->b, hp, LLVMBuildZExt(x->b, byte, x->i64, ""), "");
    LLVMValueRef hm = LLVMBuildMul(x->b, hx, LLVMConstInt(x->i64, 0x100000001b3ULL, 0), "");
    LLVMValueRef i1 = LLVMBuildAdd(x->b, i, i64c(x, 1), "");
    LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntULT, i1, i64c(x, x->wsize), ""), loop, after);
    LLVMValueRef iv[2] = {i64c(x, 0), i1}, hv[2] = {h, hm};
    LLVMBasicBlockRef ib[2] = {pre_b, loop};
    LLVMAddIncoming(i, iv, ib, 2);
    LLVMAddIncoming(hp, hv, ib, 2);
    LLVMPositionBuilderAtEnd(x->b, after);
    h = hm;
  }
  LLVMBasicBlockRef badsum = block(x, f, "bad_checksum"), good = block(x, f, "good");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntNE, h, load_le64(x, hdr, 16), ""), badsum, good);
  LLVMPositionBuilderAtEnd(x->b, badsum);
  set_error(x, pre, path, cstr(x, ": checksum mismatch (the file is corrupt)"));
  LLVMBuildRet(x->b, minus1);
  LLVMPositionBuilderAtEnd(x->b, good);
  LLVMBuildRet(x->b, LLVMConstInt(x->i32, 0, 0));

  LLVMPositionBuilderAtEnd(x->b, fail);
  LLVMValueRef why = LLVMBuildPhi(x->b, x->ptr, "why");
  LLVMAddIncoming(why, fl.msg, fl.from, (unsigned)fl.n);
  call(x, fclose_ty, fclose_f, &file, 1);
  set_error(x, pre, path, why);
  LLVMBuildRet(x->b, minus1);
}

/* void NAME_commit(void *weights, const void *io): a training step's updated weights and
 * optimizer state, copied from its outputs over the tensors they replace. */
static void add_commit(Ctx *x, const AotCommit *c, int n) {
  char nb[128];
  LLVMTypeRef p[2] = {x->ptr, x->ptr};
  LLVMValueRef f = add_fn(x, sym(x, "commit", nb, sizeof nb), LLVMFunctionType(x->vd, p, 2, 0), 0);
  LLVMPositionBuilderAtEnd(x->b, block(x, f, "entry"));
  for (int i = 0; i < n; i++) {
    if (!c[i].bytes) continue;
    LLVMValueRef to = i64c(x, c[i].to), from = i64c(x, c[i].from);
    LLVMValueRef dst = LLVMBuildInBoundsGEP2(x->b, x->i8, LLVMGetParam(f, 0), &to, 1, "");
    LLVMValueRef src = LLVMBuildInBoundsGEP2(x->b, x->i8, LLVMGetParam(f, 1), &from, 1, "");
    LLVMBuildMemCpy(x->b, dst, CG_ALIGN, src, CG_ALIGN, sizec(x, c[i].bytes));
  }
  LLVMBuildRetVoid(x->b);
}

int aot_emit(CgModule *m, const CgLayout *l, const CgTarget *t, const AotSpec *s, Diag *d) {
  if (!aot_is_ident(s->name)) {
    diag_error(d, SRCLOC_NONE, "internal error: AOT name '%s' is not a C identifier", s->name);
    return -1;
  }
  Ctx x = {.c = m->ctx, .m = m->mod, .name = s->name, .wsize = l->size[CG_WEIGHTS]};
  for (size_t i = 0; s->name[i]; i++) x.upper[i] = (char)toupper((unsigned char)s->name[i]);
  x.b = LLVMCreateBuilderInContext(x.c);
  x.i8 = LLVMInt8TypeInContext(x.c);
  x.i32 = LLVMInt32TypeInContext(x.c);
  x.i64 = LLVMInt64TypeInContext(x.c);
  x.ptr = LLVMPointerTypeInContext(x.c, 0);
  x.vd = LLVMVoidTypeInContext(x.c);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(t->tm);
  x.size = LLVMIntPtrTypeInContext(x.c, td);
  LLVMDisposeTargetData(td);
  add_error_helpers(&x);
  int rc = add_run(&x, m, d);
  if (!rc && s->image) add_embedded(&x, s->image);
  if (!rc) add_init_file(&x);
  if (!rc && s->ncommit) add_commit(&x, s->commit, s->ncommit);
  LLVMDisposeBuilder(x.b);
  return rc;
}
