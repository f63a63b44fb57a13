/* header.c — NAME.h, the C header of an AOT object: region sizes, where each input,
 * output and weight lives, and the entry points, each with a comment. The text is built
 * in memory first, so that a clash of macro names is found before any file is written. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot/aot.h"

int aot_is_ident(const char *s) {
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
  size_t n = 0;
  for (; s[n]; n++)
    if (!(isalnum((unsigned char)s[n]) || s[n] == '_')) return 0;
  return n <= AOT_MAX_NAME;
}

void aot_macro_name(const char *s, char *out) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    /* bytes >= 0x80 are not letters for isalnum in the C locale: they become '_' too */
    *out++ = (char)(c < 0x80 && isalnum(c) ? toupper(c) : '_');
  }
  *out = 0;
}

/* Every macro the header defines for a tensor, with the tensor that owns it, so that two
 * tensors whose names differ only in what the transform folds are caught. */
typedef struct Macro {
  char *name;          /* malloc'd */
  const char *tensor;  /* the owner's name (borrowed from the graph) */
} Macro;

typedef struct Out {
  FILE *f;          /* an open_memstream */
  const Graph *g;
  const AotHeader *h;
  char up[AOT_MAX_NAME + 1]; /* the NAME in upper case */
  Macro *mac;
  int nmac, capmac;
  Diag *d;
} Out;

/* Register the macro NAME_<key> of tensor `node` (named `tensor`); -1 after reporting a
 * clash at the node. */
static int claim(Out *o, int node, const char *tensor, const char *key) {
  char full[1024];
  snprintf(full, sizeof full, "%s_%s", o->up, key);
  for (int i = 0; i < o->nmac; i++) {
    if (strcmp(o->mac[i].name, full)) continue;
    diag_error(o->d, o->g->nodes[node].loc,
               "tensor names '%s' and '%s' both give the macro %s in the header; rename one", o->mac[i].tensor,
               tensor, full);
    return -1;
  }
  if (o->nmac == o->capmac) {
    o->capmac = o->capmac ? 2 * o->capmac : 64;
    Macro *m = realloc(o->mac, (size_t)o->capmac * sizeof *m);
    if (!m) {
      diag_error(o->d, SRCLOC_NONE, "out of memory");
      return -1;
    }
    o->mac = m;
  }
  o->mac[o->nmac++] = (Macro){strdup(full), tensor};
  return 0;
}

/* #define NAME_<key> value, with an optional comment; node < 0: a macro of no tensor
 * (those cannot clash: every tensor macro has an IN_, OUT_ or W_ prefix). */
static int define(Out *o, int node, const char *tensor, const char *key, const char *value, const char *comment) {
  if (node >= 0 && claim(o, node, tensor, key)) return -1;
  int pad = 40 - (int)(strlen(o->up) + 1 + strlen(key));
  fprintf(o->f, "#define %s_%s%*s %s", o->up, key, pad > 0 ? pad : 0, "", value);
  if (comment) fprintf(o->f, " /* %s */", comment);
  fputc('\n', o->f);
  return 0;
}

static const char *ctype(DType t) {
  switch (t) {
  case DT_F32: return "float";
  case DT_F64: return "double";
  case DT_I32: return "int32_t";
  case DT_BOOL: return "uint8_t";
  default: return "unsigned char";
  }
}

/* The macros of one input or output (kind "IN"/"OUT") or weight ("W"). */
static int tensor(Out *o, const CgLayout *l, const char *kind, const char *name, int id) {
  const Node *n = &o->g->nodes[id];
  const CgSlot *s = &l->slot[id];
  CgRegion want = kind[0] == 'W' ? CG_WEIGHTS : CG_IO;
  if (s->region != want) {
    diag_error(o->d, n->loc, "internal error: tensor '%s' is not in the %s region", name,
               want == CG_IO ? "io" : "weights");
    return -1;
  }
  char key[1024], val[512], sh[256], mname[512];
  if (strlen(name) >= sizeof mname) {
    diag_error(o->d, n->loc, "tensor name '%.40s...' is too long for a C macro", name);
    return -1;
  }
  aot_macro_name(name, mname);
  shape_str(&n->shape, sh, sizeof sh);
  const char *what = kind[0] == 'W' ? "weight" : kind[0] == 'I' ? "input" : "output";
  fprintf(o->f, "/* %s %s: %s%s, %lld bytes */\n", what, name, dtype_name(n->dtype), sh, (long long)s->bytes);
#define DEF(suffix, comment, ...)                        \
  do {                                                   \
    snprintf(key, sizeof key, "%s_%s%s", kind, mname, suffix); \
    snprintf(val, sizeof val, __VA_ARGS__);              \
    if (define(o, id, name, key, val, comment)) return -1;     \
  } while (0)
  DEF("_OFFSET", NULL, "%lld", (long long)s->offset);
  DEF("_NUMEL", NULL, "%lld", (long long)shape_numel(&n->shape));
  if (kind[0] == 'W') {
    fputc('\n', o->f);
    return 0;
  }
  DEF("_DTYPE", NULL, "\"%s\"", dtype_name(n->dtype));
  DEF("_CTYPE", NULL, "%s", ctype(n->dtype));
  DEF("_RANK", NULL, "%d", n->shape.rank);
  if (n->shape.rank > 0) {
    char *p = val;
    p += sprintf(p, "{");
    for (int k = 0; k < n->shape.rank; k++) p += sprintf(p, k ? ", %lld" : "%lld", (long long)n->shape.d[k]);
    sprintf(p, "}");
    snprintf(key, sizeof key, "%s_%s_SHAPE", kind, mname);
    if (define(o, id, name, key, val, "row-major extents (an initializer)")) return -1;
  }
  /* the typed pointer into the io region, the usual way in and out */
  snprintf(key, sizeof key, "%s_%s", kind, mname);
  if (claim(o, id, name, key)) return -1;
  fprintf(o->f, "#define %s_%s(io) ((%s *)((char *)(io) + %s_%s_OFFSET))\n\n", o->up, key, ctype(n->dtype), o->up,
          key);
#undef DEF
  return 0;
}

int aot_header(const Graph *g, const CgLayout *l, const AotHeader *h, char **text, Diag *d) {
  char *buf = NULL;
  size_t len = 0;
  Out o = {.g = g, .h = h, .d = d};
  o.f = open_memstream(&buf, &len);
  if (!o.f) {
    diag_error(d, SRCLOC_NONE, "out of memory");
    return -1;
  }
  const char *nm = h->name, *U = o.up;
  for (size_t i = 0; nm[i] && i < AOT_MAX_NAME; i++) o.up[i] = (char)toupper((unsigned char)nm[i]);
  int rc = -1;
  fprintf(o.f, "/* The AOT-compiled model %s, written by `mimic compile` (mimic %s); do not edit.\n", nm,
          MIMIC_VERSION);
  fprintf(o.f, " * From %s\n", h->source);
  fprintf(o.f, " * (model '%s'), for target %s, CPU %s", g->name, h->triple, h->cpu);
  if (h->batch) fprintf(o.f, ", built for batch %lld", (long long)h->batch);
  fprintf(o.f, ".\n");
  char fill[2 * AOT_MAX_NAME + 64];
  if (h->embedded) snprintf(fill, sizeof fill, "%s_init_embedded or %s_init_file", nm, nm);
  else snprintf(fill, sizeof fill, "%s_init_file", nm);
  fprintf(o.f,
          " *\n"
          " * Memory: the caller owns three regions, each aligned to %s_ALIGN bytes:\n"
          " *   weights  %s_WEIGHTS_SIZE bytes; %s_run only reads it. Fill it with\n"
          " *            %s,\n"
          " *            or copy each weight to %s_W_<NAME>_OFFSET from a buffer of your own.\n"
          " *   act      %s_ACT_SIZE bytes of scratch, overwritten by every run.\n"
          " *   io       %s_IO_SIZE bytes: write the inputs at %s_IN_<NAME>_OFFSET, run, read\n"
          " *            the outputs at %s_OUT_<NAME>_OFFSET (or use the typed accessors).\n"
          " * Offsets are in bytes from the region's base.\n"
          " * Tensors are dense and row-major (C order). A tensor's macro name is its name with\n"
          " * ASCII letters in upper case and every other byte but digits and '_' turned into '_'\n"
          " * (blocks.0.attn.qkv.weight -> BLOCKS_0_ATTN_QKV_WEIGHT).\n"
          " *\n"
          " * The object needs only libc and libm: link it with `cc main.c OBJECT.o -lm -lpthread`. */\n",
          U, U, nm, fill, U, U, U, U, U);
  fprintf(o.f, "#ifndef MIMIC_%s_H\n#define MIMIC_%s_H\n#include <stdint.h>\n\n", U, U);
  char val[64];
  fprintf(o.f, "/* regions */\n");
  snprintf(val, sizeof val, "%d", CG_ALIGN);
  if (define(&o, -1, NULL, "ALIGN", val, "bytes: each region's base is a multiple")) goto out;
  const char *rname[CG_NREGIONS] = {"WEIGHTS_SIZE", "ACT_SIZE", "IO_SIZE"};
  for (int r = 0; r < CG_NREGIONS; r++) {
    snprintf(val, sizeof val, "%lld", (long long)l->size[r]);
    if (define(&o, -1, NULL, rname[r], val, "bytes")) goto out;
  }
  if (h->batch) {
    snprintf(val, sizeof val, "%lld", (long long)h->batch);
    if (define(&o, -1, NULL, "BATCH", val, "the batch the model was compiled for")) goto out;
  }
  if (h->embedded && define(&o, -1, NULL, "HAS_EMBEDDED_WEIGHTS", "1", "the object holds its weights")) goto out;
  fputc('\n', o.f);
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_INPUT && tensor(&o, l, "IN", g->nodes[i].name, i)) goto out;
  for (int k = 0; k < g->nout; k++)
    if (tensor(&o, l, "OUT", g->outs[k].name, g->outs[k].id)) goto out;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == OP_WEIGHT && tensor(&o, l, "W", g->nodes[i].name, i)) goto out;
  /* every weight, for programs that save or load them by name */
  int nw = 0;
  for (int i = 0; i < g->n; i++) nw += g->nodes[i].op == OP_WEIGHT;
  fprintf(o.f, "/* every weight: name, byte offset in the weights region, element count, dtype, rank,\n"
               " * shape */\n");
  fprintf(o.f, "#define %s_NWEIGHTS %d\n", U, nw);
  fprintf(o.f,
          "static const struct {\n  const char *name;\n  long long offset, numel;\n  const char *dtype;\n"
          "  int rank;\n  long long shape[8];\n} %s_weights[%d] = {\n",
          nm, nw ? nw : 1);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    fprintf(o.f, "  {\"%s\", %lld, %lld, \"%s\", %d, {", n->name, (long long)l->slot[i].offset,
            (long long)shape_numel(&n->shape), dtype_name(n->dtype), n->shape.rank);
    for (int k = 0; k < n->shape.rank; k++) fprintf(o.f, "%s%lld", k ? ", " : "", (long long)n->shape.d[k]);
    fprintf(o.f, "}},\n");
  }
  if (!nw) fprintf(o.f, "  {0, 0, 0, 0, 0, {0}},\n");
  fprintf(o.f, "};\n\n");
  fprintf(o.f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  fprintf(o.f,
          "/* Run the model once: read the inputs in io and the weights, write the outputs in io.\n"
          " * Single-threaded. Calls may run at the same time on distinct act and io regions;\n"
          " * they may share one weights region. */\n"
          "void %s_run(void *weights, void *act, void *io);\n\n",
          nm);
  if (h->embedded)
    fprintf(o.f,
            "/* Copy the weights built into the object into the weights region. 0, or -1 when\n"
            " * the region is NULL or misaligned (see %s_error). */\n"
            "int %s_init_embedded(void *weights);\n\n"
            "/* The weights built into the object: %s_WEIGHTS_SIZE bytes, %s_ALIGN-aligned, read-only.\n"
            " * Since %s_run only reads its weights, this may be passed to it directly (cast to\n"
            " * void *) instead of a copy. */\n"
            "const void *%s_embedded_weights(void);\n\n",
            nm, nm, U, U, nm, nm);
  fprintf(o.f,
          "/* Fill the weights region from a blob written by `mimic compile --weights-blob`:\n"
          " * \"MIMICWB1\", the region size and the FNV-1a-64 checksum of the data (u64,\n"
          " * little-endian), then the region's bytes. Checks all three. 0, or -1 with the reason\n"
          " * in %s_error (the region's contents are then unspecified). Uses fopen/fread/fclose. */\n"
          "int %s_init_file(void *weights, const char *path);\n\n"
          "/* The text of the last error of %s_init_*, \"\" before any: \"%s: weights file PATH:\n"
          " * bad magic (not a weights blob)\", ... One buffer for the whole process. */\n"
          "const char *%s_error(void);\n\n",
          nm, nm, nm, nm, nm);
  if (h->train)
    fprintf(o.f,
            "/* A training step: %s_run computes the loss, the gradients and the optimizer update\n"
            " * (inputs opt.lr, opt.wd, opt.step beside the model's; outputs new.<name>). This\n"
            " * copies every updated weight and optimizer state tensor from io into the weights\n"
            " * region; call it after each %s_run:\n"
            " *   for (t = 1; ...; t++) { fill the inputs; %s_run(w, act, io); %s_commit(w, io); } */\n"
            "void %s_commit(void *weights, const void *io);\n\n",
            nm, nm, nm, nm, nm);
  fprintf(o.f, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
  rc = 0;
out:
  for (int i = 0; i < o.nmac; i++) free(o.mac[i].name);
  free(o.mac);
  if (fclose(o.f) && !rc) {
    diag_error(d, SRCLOC_NONE, "out of memory");
    rc = -1;
  }
  if (rc) free(buf);
  else *text = buf;
  return rc;
}
