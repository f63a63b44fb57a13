/* aot.h — ahead-of-time compilation: what `mimic compile` adds to the kernels of a
 * CgModule so that the object stands alone, the C header that describes it, and the
 * weights region image (embedded in the object or written as a blob file).
 *
 * Every symbol of the object starts with NAME_ (a C identifier chosen by the user):
 *   NAME_run, NAME_init_file, NAME_error, and with embedded weights NAME_init_embedded
 *   and NAME_embedded_weights; the kernels NAME_k<id> are hidden. Macros in the header
 *   start with NAME in upper case (docs/aot.md).
 *
 * The weights blob (NAME_init_file reads it, aot_blob_put writes it), little-endian:
 *   "MIMICWB1" | u64 region size | u64 FNV-1a-64 of the data | the data
 * The data is the weights region image: every weight at its layout offset, zeros between. */
#ifndef MIMIC_AOT_H
#define MIMIC_AOT_H
#include <stddef.h>
#include <stdint.h>

#include "afile.h"
#include "codegen/codegen.h"
#include "tensor.h"

#define AOT_MAX_NAME 40          /* longest NAME: kernel names must fit CgKernel.name */
#define AOT_BLOB_MAGIC "MIMICWB1"
#define AOT_BLOB_HEADER 24       /* magic, size, checksum */

/* ---- aot.c: the entry points, as LLVM IR -------------------------------------------- */

/* One copy NAME_commit makes: an output of a training step ("new.<w>", in io) onto the
 * weight or optimizer state it replaces (in weights). */
typedef struct AotCommit {
  int64_t from, to, bytes; /* io offset, weights offset, size */
} AotCommit;

typedef struct AotSpec {
  const char *name;    /* symbol prefix without the '_' (a C identifier) */
  const void *image;   /* weights region image to embed (l->size[CG_WEIGHTS] bytes), or NULL */
  const AotCommit *commit; /* a training step: NAME_commit(weights, io) makes these copies */
  int ncommit;
} AotSpec;

/* Add NAME_run, NAME_init_file, NAME_error (and NAME_init_embedded, NAME_embedded_weights
 * with an image) to m, whose kernels cg_emit made with the prefix "NAME_". The kernels
 * become hidden. t gives the width of size_t for the libc calls. 0 or -1 (reported). */
int aot_emit(CgModule *m, const CgLayout *l, const CgTarget *t, const AotSpec *s, Diag *d);

/* ---- header.c: NAME.h ----------------------------------------------------------------- */

typedef struct AotHeader {
  const char *name;      /* as AotSpec.name */
  const char *source;    /* the model file, named in the header's comment */
  const char *triple;    /* target the object was built for */
  const char *cpu;
  int64_t batch;         /* the batch the model was built at; 0: none (IR text) */
  int embedded;          /* declare NAME_init_embedded and NAME_embedded_weights */
  int train;             /* a training step: declare NAME_commit */
} AotHeader;

/* Whether s is a C identifier (and not longer than AOT_MAX_NAME). */
int aot_is_ident(const char *s);
/* The macro form of a tensor name: ASCII letters upper-cased, digits and '_' kept, every
 * other byte (dots, dashes) becomes '_'. out must hold strlen(s) + 1 bytes. */
void aot_macro_name(const char *s, char *out);
/* The header's text (malloc'd in *text). Two tensors of one kind (input, output, weight)
 * whose names have the same macro form are an error at the second one's location. */
int aot_header(const Graph *g, const CgLayout *l, const AotHeader *h, char **text, Diag *d);

/* ---- blob.c: the weights region image and the blob file ------------------------------- */

/* The weights region of g filled from ws (malloc'd, l->size[CG_WEIGHTS] bytes, at least 1).
 * Every weight of g must be in ws with its shape; f32 weights may come as bf16. Errors are
 * reported at {wpath,0,0}. Tensors of ws that g does not use are ignored. */
int aot_weights_image(const Graph *g, const CgLayout *l, const TensorSet *ws, const char *wpath, void **image,
                      Diag *d);
uint64_t aot_fnv1a64(const void *p, size_t n);
/* Write the blob of a weights region image to a (the caller commits it: several outputs
 * of one command are committed together). */
void aot_blob_put(AFile *a, const void *image, size_t n);

#endif
